"""A drop-in replacement for wsgiref.simple_server, served by the fastwsgi core.

Programs written for wsgiref run unchanged after swapping the import:

    from fastwsgi.simple_server import make_server

    with make_server("", 8000, app) as httpd:
        httpd.serve_forever()

The names and behaviour follow wsgiref.simple_server: make_server, WSGIServer
(serve_forever, shutdown from another thread, handle_request, server_close,
server_address, server_port, socket, fileno, get_app/set_app, context manager)
and WSGIRequestHandler, whose log_message() writes one line per request to
stderr as wsgiref does (override it to silence or redirect the log). What
differs: connections are kept alive, and requests are answered by HTTP/1.1.
"""
import socket
import sys
import threading
import time

from fastwsgi import __version__
from fastwsgi.config import Config
from fastwsgi.demo import demo_app

__all__ = ["WSGIServer", "WSGIRequestHandler", "demo_app", "make_server"]

server_version = "fastwsgi/" + __version__
sys_version = "Python/" + sys.version.split()[0]
software_version = server_version + " " + sys_version


# http.server's rules for a log line: control characters as \xNN, '\' doubled,
# so a client cannot forge a line; month names in English whatever the locale.
_LOG_ESCAPES = {c: "\\x%02x" % c for c in (*range(0x20), *range(0x7f, 0xa0))}
_LOG_ESCAPES[ord("\\")] = "\\\\"
_MONTHS = (None, "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class WSGIRequestHandler:
    """Logs each request, with the hooks of http.server.BaseHTTPRequestHandler:
    the server makes one per finished request, sets client_address, server,
    requestline, command, path and request_version, and calls log_request()."""

    server_version = server_version
    sys_version = sys_version

    def log_request(self, code="-", size="-"):
        self.log_message('"%s" %s %s', self.requestline, str(code), str(size))

    def log_message(self, format, *args):
        message = (format % args).translate(_LOG_ESCAPES)
        sys.stderr.write("%s - - [%s] %s\n" % (self.address_string(), self.log_date_time_string(),
                                               message))

    def address_string(self):
        return self.client_address[0]

    def log_date_time_string(self):
        year, month, day, hour, minute, second = time.localtime()[:6]
        return "%02d/%s/%04d %02d:%02d:%02d" % (day, _MONTHS[month], year, hour, minute, second)


class WSGIServer:
    """The server object make_server() returns (wsgiref's WSGIServer API)."""

    address_family = socket.AF_INET
    socket_type = socket.SOCK_STREAM
    request_queue_size = 5
    allow_reuse_address = True
    timeout = None                 # seconds handle_request() waits, None for ever
    application = None

    def __init__(self, server_address, RequestHandlerClass=WSGIRequestHandler, bind_and_activate=True):
        self.server_address = server_address
        self.RequestHandlerClass = RequestHandlerClass
        self.socket = socket.socket(self.address_family, self.socket_type)
        self._core = None
        self._serving = threading.Event()
        self._stopped = threading.Event()
        self._stopped.set()
        self._shutdown_requested = False
        if bind_and_activate:
            try:
                self.server_bind()
                self.server_activate()
            except BaseException:
                self.server_close()
                raise

    # -- socketserver / wsgiref API --------------------------------------------

    def server_bind(self):
        if self.allow_reuse_address:
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(self.server_address)
        self.server_address = self.socket.getsockname()
        host, port = self.server_address[:2]
        self.server_name = socket.getfqdn(host)
        self.server_port = port
        self.setup_environ()

    def server_activate(self):
        self.socket.listen(self.request_queue_size)

    def setup_environ(self):
        self.base_environ = {
            "SERVER_NAME": self.server_name,
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PORT": str(self.server_port),
            "SERVER_SOFTWARE": software_version,
            "SCRIPT_NAME": "",
        }

    def get_app(self):
        return self.application

    def set_app(self, application):
        self.application = application
        if self._core is not None:
            self._core.app = application

    def fileno(self):
        return self.socket.fileno()

    def serve_forever(self, poll_interval=0.5):
        """Serve until shutdown() is called (poll_interval is accepted for
        compatibility; the loop wakes at once on shutdown)."""
        core = self._get_core()
        self._stopped.clear()
        self._serving.set()
        try:
            while not self._shutdown_requested:
                core.serve()
        finally:
            self._shutdown_requested = False
            self._serving.clear()
            self._stopped.set()

    def shutdown(self):
        """Stop serve_forever() and wait until it has returned. Call it from
        another thread, as with socketserver."""
        self._shutdown_requested = True
        if self._core is not None:
            self._core.stop()
        if self._serving.is_set():
            self._stopped.wait()

    def handle_request(self):
        """Serve until one request is answered, or self.timeout passes."""
        if not self._get_core().serve(timeout=self.timeout, max_requests=1):
            self.handle_timeout()

    def handle_timeout(self):
        pass

    def server_close(self):
        if self._core is not None:
            self._core.close()
            self._core = None
        self.socket.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.server_close()

    # -- glue ------------------------------------------------------------------

    def _get_core(self):
        if self._core is None:
            from fastwsgi._core import Server

            if self.application is None:
                raise RuntimeError("no application: call set_app() first")
            # wsgiref takes REMOTE_ADDR from the socket alone: so do we here.
            config = Config.from_sources({"forwarded_allow_ips": []}, environ={})
            self._core = Server(self.application, [self.socket], config, self.base_environ,
                                self._log_request)
        return self._core

    def _log_request(self, environ, status, size, seconds):
        handler = self.RequestHandlerClass.__new__(self.RequestHandlerClass)
        handler.server = self
        handler.client_address = (environ.get("REMOTE_ADDR", ""), int(environ.get("REMOTE_PORT") or 0))
        handler.command = environ.get("REQUEST_METHOD")
        handler.path = environ.get("RAW_URI")
        handler.request_version = environ.get("SERVER_PROTOCOL")
        handler.requestline = "%s %s %s" % (handler.command, handler.path, handler.request_version)
        handler.log_request(status, size)


def make_server(host, port, app, server_class=WSGIServer, handler_class=WSGIRequestHandler):
    """Create a new WSGI server listening on host and port for app."""
    server = server_class((host, port), handler_class)
    server.set_app(app)
    return server
