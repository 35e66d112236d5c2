"""Serve an app spec with wsgiref.simple_server (the reference implementation)."""
import sys
from wsgiref.simple_server import WSGIRequestHandler, make_server

from fastwsgi.loader import load_app


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


def main():
    app = load_app(sys.argv[1])
    with make_server("127.0.0.1", 0, app, handler_class=QuietHandler) as httpd:
        print("listening on http://127.0.0.1:%d" % httpd.server_port, flush=True)
        httpd.serve_forever()


if __name__ == "__main__":
    main()
