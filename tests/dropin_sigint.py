"""The usual wsgiref main: serve_forever() until Ctrl-C, then say goodbye.

usage: dropin_sigint.py SERVER_MODULE
"""
import importlib
import sys

simple_server = importlib.import_module(sys.argv[1])
make_server = simple_server.make_server


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "7")])
    return [b"running"]


if __name__ == "__main__":
    httpd = make_server("127.0.0.1", 0, app)
    print("Serving on port", httpd.server_port, flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        print("bye", flush=True)
    finally:
        httpd.server_close()
