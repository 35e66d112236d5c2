"""A wsgiref-style program using WSGIServer.timeout: handle_request() gives up
after the timeout and calls handle_timeout(), which a subclass overrides.

usage: dropin_timeout.py SERVER_MODULE

Prints "timed out <handle_timeout calls> <seconds waited>", then "port N" and
serves one request without a timeout, then prints "served <handle_timeout calls>".
"""
import importlib
import sys
import time

simple_server = importlib.import_module(sys.argv[1])
make_server = simple_server.make_server
WSGIServer = simple_server.WSGIServer
WSGIRequestHandler = simple_server.WSGIRequestHandler


class CountingServer(WSGIServer):
    timeouts = 0

    def handle_timeout(self):
        self.timeouts += 1


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"after the timeout"]


def main():
    httpd = make_server("127.0.0.1", 0, app, server_class=CountingServer, handler_class=QuietHandler)
    httpd.timeout = 0.3
    start = time.monotonic()
    httpd.handle_request()                      # nobody connects
    print("timed out", httpd.timeouts, "%.3f" % (time.monotonic() - start), flush=True)
    httpd.timeout = None
    print("port", httpd.server_port, flush=True)
    httpd.handle_request()
    print("served", httpd.timeouts, flush=True)
    httpd.server_close()


if __name__ == "__main__":
    main()
