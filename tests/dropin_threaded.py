"""A wsgiref-style program: serve_forever() in a background thread, driven from
the main thread (the way test suites and GUI apps embed wsgiref).

usage: dropin_threaded.py SERVER_MODULE     (e.g. wsgiref.simple_server)

Commands on stdin, one a line, each acknowledged on stdout:
  start  serve_forever() in a new thread        -> "started"
  swap   set_app(goodbye_app) while serving      -> "swapped True"
  stop   shutdown(), then join the thread        -> "stopped True"
  quit   server_close() and exit 0               -> "closed"
"""
import importlib
import sys
import threading

simple_server = importlib.import_module(sys.argv[1])
make_server = simple_server.make_server
WSGIRequestHandler = simple_server.WSGIRequestHandler


def hello_app(environ, start_response):
    if environ["PATH_INFO"] == "/download":
        size = int(environ["QUERY_STRING"])          # streamed in 64 KiB pieces
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(size))])
        return (b"d" * min(65536, size - offset) for offset in range(0, size, 65536))
    body = ("hello %s" % environ["PATH_INFO"]).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def goodbye_app(environ, start_response):
    body = ("goodbye %s" % environ["PATH_INFO"]).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


def main():
    httpd = make_server("127.0.0.1", 0, hello_app, handler_class=QuietHandler)
    print("port", httpd.server_port, flush=True)
    print("app is hello_app", httpd.get_app() is hello_app, flush=True)
    thread = None
    for line in sys.stdin:
        command = line.strip()
        if command == "start":
            thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1})
            thread.start()
            print("started", flush=True)
        elif command == "swap":
            httpd.set_app(goodbye_app)
            print("swapped", httpd.get_app() is goodbye_app, flush=True)
        elif command == "stop":
            httpd.shutdown()
            thread.join(10)
            print("stopped", not thread.is_alive(), flush=True)
        elif command == "quit":
            break
    httpd.server_close()
    print("closed", flush=True)


if __name__ == "__main__":
    main()
