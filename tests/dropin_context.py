"""A wsgiref-style program: the server as a context manager on port 0, its
address and fileno(), and a selectors loop that calls handle_request() when the
listening socket is readable (socketserver objects are selectable).

usage: dropin_context.py SERVER_MODULE N

Prints one JSON line describing the server, serves N requests, leaves the
with-block (server_close) and prints one JSON line about the closed server.
"""
import importlib
import json
import os
import selectors
import socket
import sys

simple_server = importlib.import_module(sys.argv[1])
make_server = simple_server.make_server
WSGIRequestHandler = simple_server.WSGIRequestHandler


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


def app(environ, start_response):
    body = json.dumps({"SERVER_PORT": environ["SERVER_PORT"], "path": environ["PATH_INFO"]}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def main():
    count = int(sys.argv[2])
    with make_server("127.0.0.1", 0, app, handler_class=QuietHandler) as httpd:
        fd = httpd.fileno()
        probe = socket.socket(fileno=os.dup(fd))
        info = {
            "server_port": httpd.server_port,
            "server_address": list(httpd.server_address),
            "getsockname": list(httpd.socket.getsockname()),
            "fileno": fd,
            "socket_fileno": httpd.socket.fileno(),
            "fileno_port": probe.getsockname()[1],
            "fileno_type": probe.type == socket.SOCK_STREAM,
        }
        probe.close()
        print(json.dumps(info), flush=True)
        selector = selectors.DefaultSelector()
        selector.register(httpd, selectors.EVENT_READ)
        served = 0
        while served < count:
            for _key, _events in selector.select(timeout=30):
                httpd.handle_request()
                served += 1
                print("served", served, flush=True)
        selector.close()
    closed = {"socket_fileno": httpd.socket.fileno()}
    try:
        socket.create_connection(("127.0.0.1", info["server_port"]), timeout=5).close()
        closed["connect"] = "accepted"
    except ConnectionRefusedError:
        closed["connect"] = "refused"
    print(json.dumps(closed), flush=True)


if __name__ == "__main__":
    main()
