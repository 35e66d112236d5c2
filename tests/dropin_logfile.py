"""A wsgiref-style program whose handler class redirects the request log to a
file (and so keeps stderr quiet), using the attributes BaseHTTPRequestHandler
sets: command, path, request_version, client_address.

usage: dropin_logfile.py SERVER_MODULE LOGFILE N
"""
import importlib
import sys

simple_server = importlib.import_module(sys.argv[1])
make_server = simple_server.make_server
WSGIRequestHandler = simple_server.WSGIRequestHandler

LOGFILE = sys.argv[2]


class FileLogHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        with open(LOGFILE, "a") as f:
            f.write("%s|%s|%s|%s|%s\n" % (self.client_address[0], self.command, self.path,
                                          self.request_version, format % args))


def app(environ, start_response):
    if environ["PATH_INFO"] == "/gone":
        start_response("410 Gone", [("Content-Type", "text/plain"), ("Content-Length", "4")])
        return [b"gone"]
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "6")])
    return [b"logged"]


def main():
    count = int(sys.argv[3])
    with make_server("127.0.0.1", 0, app, handler_class=FileLogHandler) as httpd:
        print("port", httpd.server_port, flush=True)
        for _ in range(count):
            httpd.handle_request()
    print("done", flush=True)


if __name__ == "__main__":
    main()
