"""A wsgiref-style program that answers exactly N requests with handle_request()
and exits, logging with the default WSGIRequestHandler (to stderr).

usage: dropin_handle_request.py SERVER_MODULE N [wait]

With "wait", the program reads one line from stdin before its first
handle_request() (so clients can line up first).
"""
import importlib
import sys

simple_server = importlib.import_module(sys.argv[1])
make_server = simple_server.make_server


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/missing":
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"no such page"]
    length = int(environ.get("CONTENT_LENGTH") or 0)       # wsgiref's input has no EOF
    body = environ["wsgi.input"].read(length)
    text = "%s %s?%s %d" % (environ["REQUEST_METHOD"], path, environ["QUERY_STRING"], len(body))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [text.encode()]


def main():
    count = int(sys.argv[2])
    httpd = make_server("127.0.0.1", 0, app)
    print("port", httpd.server_port, flush=True)
    if sys.argv[3:] == ["wait"]:
        sys.stdin.readline()
    for i in range(count):
        httpd.handle_request()
        print("handled", i + 1, flush=True)
    httpd.server_close()
    print("done", flush=True)


if __name__ == "__main__":
    main()
