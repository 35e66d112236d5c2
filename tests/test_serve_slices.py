"""Server.serve(max_seconds=...) returns on time however busy the loop is, and a
drain begun by stop() goes on across serve() calls (Server.draining) until it
completes: what a process manager needs to send heartbeats between slices
(fastwsgi.gunicorn.Worker). The server runs in this process's main thread, a
client thread talks to it over a real socket."""
import socket
import threading
import time

from inprocess import make_server

TIMEOUT = 20.0
SLICE = 0.2


def size_app(environ, start_response):
    body = b"%d" % len(environ["wsgi.input"].read())
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]


class SlowUpload(threading.Thread):
    """POSTs `pieces` body bytes one every `gap` seconds, then reads the reply."""

    def __init__(self, port, pieces, gap, started=None):
        super().__init__(daemon=True)
        self.port, self.pieces, self.gap = port, pieces, gap
        self.started = started or threading.Event()
        self.reply = b""

    def run(self):
        with socket.create_connection(("127.0.0.1", self.port), timeout=TIMEOUT) as sock:
            sock.sendall(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % self.pieces)
            for _ in range(self.pieces):
                sock.sendall(b"x")
                self.started.set()
                time.sleep(self.gap)
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                self.reply += data
                if self.reply.endswith(b"\r\n\r\n%d" % self.pieces):
                    break


def serve_until(server, done, deadline=TIMEOUT):
    """Call serve(max_seconds=SLICE) until done(); returns how many calls and the longest."""
    calls, longest, responses = 0, 0.0, 0
    end = time.monotonic() + deadline
    while not done():
        assert time.monotonic() < end, "not done within %s s" % deadline
        start = time.monotonic()
        responses += server.serve(max_seconds=SLICE)
        longest = max(longest, time.monotonic() - start)
        calls += 1
    return calls, longest, responses


def test_serve_returns_after_max_seconds_while_a_client_keeps_it_busy():
    server, listener = make_server(size_app)
    try:
        client = SlowUpload(listener.getsockname()[1], pieces=40, gap=0.05)   # ~2 s of upload
        client.start()
        calls, longest, responses = serve_until(server, lambda: not client.is_alive())
        client.join(TIMEOUT)
        assert client.reply.startswith(b"HTTP/1.1 200 ")
        assert client.reply.endswith(b"\r\n\r\n40")
        assert responses == 1
        assert calls >= 6               # the upload alone lasts ten slices
        assert longest < 5 * SLICE      # each call ends near SLICE, not at the end of the work
    finally:
        server.close()
        listener.close()


def test_a_drain_goes_on_across_serve_calls_until_it_completes():
    server, listener = make_server(size_app)
    port = listener.getsockname()[1]
    try:
        assert server.draining is False
        started = threading.Event()
        client = SlowUpload(port, pieces=30, gap=0.05, started=started)
        client.start()
        serve_until(server, started.is_set)
        server.serve(max_seconds=SLICE)             # reads the head that came
        server.stop()
        assert server.draining is True
        calls, _, responses = serve_until(server, lambda: not server.draining)
        client.join(TIMEOUT)
        assert calls >= 2                           # the drain outlived one slice
        assert responses == 1
        assert client.reply.startswith(b"HTTP/1.1 200 ")
        assert b"\r\nConnection: close\r\n" in client.reply
        assert client.reply.endswith(b"\r\n\r\n30")

        # Once drained, the server accepts again: serving is resumable.
        again = SlowUpload(port, pieces=1, gap=0)
        again.start()
        serve_until(server, lambda: not again.is_alive())
        assert again.reply.endswith(b"\r\n\r\n1")
    finally:
        server.close()
        listener.close()


def test_max_requests_counts_requests_answered_as_they_are_accepted():
    """Requests already waiting when their connections are accepted (deferred
    accept reads them at once) still stop serve() at max_requests; the rest
    are answered by the next call."""
    server, listener = make_server(size_app)
    clients = []
    try:
        for _ in range(5):
            sock = socket.create_connection(listener.getsockname(), timeout=TIMEOUT)
            sock.sendall(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nab")
            clients.append(sock)
        assert server.serve(max_requests=1, timeout=TIMEOUT) == 1
        assert server.connection_count == 1       # the other four still wait in the kernel
        assert server.serve(max_requests=4, timeout=TIMEOUT) == 4
        for sock in clients:
            assert sock.recv(65536).endswith(b"\r\n\r\n2")
    finally:
        for sock in clients:
            sock.close()
        server.close()
        listener.close()
