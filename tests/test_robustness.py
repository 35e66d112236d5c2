"""Bad clients must not crash, hang, leak or starve the server. Each test has a
time bound with a wide margin (this machine has 2 noisy cores)."""
import json
import socket
import threading
import time

import pytest

from http_client import get, read_reply, request
from processes import fd_count, peak_rss_kib, rss_kib, wait_for


def timed_get(srv, path="/status?body=ok"):
    started = time.monotonic()
    reply = request(srv, get(path), timeout=10)
    return reply, time.monotonic() - started


@pytest.fixture
def srv(server):
    return server("apps:app")


def test_slowloris_does_not_block_other_clients(srv):
    trickling = []
    stop = threading.Event()
    head = b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: " + b"a" * 10000

    for _ in range(200):
        sock = srv.connect()
        trickling.append(sock)

    def trickle():
        i = 0
        while not stop.is_set() and i < len(head):
            for sock in trickling:
                try:
                    sock.send(head[i:i + 1])
                except OSError:
                    pass
            i += 1
            time.sleep(0.05)

    thread = threading.Thread(target=trickle)
    thread.start()
    try:
        time.sleep(0.5)
        for _ in range(5):
            reply, took = timed_get(srv)
            assert reply.body == b"ok"
            assert took < 1.0, "a normal request took %.2f s behind 200 slow clients" % took
    finally:
        stop.set()
        thread.join()
        for sock in trickling:
            sock.close()


def test_a_thousand_idle_keep_alive_connections(srv):
    idle = []
    try:
        for i in range(1000):
            sock = srv.connect()
            idle.append(sock)
            if i % 100 == 0:
                sock.sendall(get("/status?body=k"))
                assert read_reply(sock).body == b"k"
        reply, took = timed_get(srv)
        assert reply.body == b"ok" and took < 1.0
        for sock in idle[::100]:                    # the idle ones still work too
            sock.sendall(get("/status?body=again"))
            assert read_reply(sock).body == b"again"
    finally:
        for sock in idle:
            sock.close()


def test_100_mib_response_read_slowly_keeps_memory_flat(srv):
    total = 100 * 1024 * 1024
    before = peak_rss_kib(srv)
    received = 0
    with srv.connect(timeout=30) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        sock.sendall(get("/big?size=%d" % total))
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(4096)
        received = len(head.split(b"\r\n\r\n", 1)[1])
        while received < total:
            chunk = sock.recv(65536)
            assert chunk, "the server closed early at %d bytes" % received
            received += len(chunk)
            time.sleep(0.001)                       # a reader slower than the server
    grown_mib = (peak_rss_kib(srv) - before) / 1024
    assert received == total
    assert grown_mib < 32, "peak RSS grew by %.1f MiB" % grown_mib


@pytest.mark.parametrize("how", ["mid-upload", "mid-chunked-upload", "mid-response", "mid-pipeline", "mid-head"])
def test_vanishing_clients_leak_no_descriptor(srv, how):
    request(srv, get("/status?body=warm"))
    baseline = fd_count(srv.pid)
    for i in range(20):
        sock = srv.connect()
        if how == "mid-upload":
            sock.sendall(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10000000\r\n\r\n" + b"x" * 100000)
        elif how == "mid-chunked-upload":
            sock.sendall(b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n100\r\n" + b"x" * 100)
        elif how == "mid-response":
            sock.sendall(get("/big?size=%d&tag=vanish%d" % (50 * 1024 * 1024, i)))
            sock.recv(1000)
        elif how == "mid-pipeline":
            sock.sendall(get("/stream?n=1000") * 5 + get("/big?size=10000000"))
            sock.recv(1000)
        else:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nX-")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()                                 # with a reset, as a vanished peer
    wait_for("the open fds to fall back to the %d before" % baseline,
             lambda: fd_count(srv.pid) <= baseline, timeout=10)
    assert request(srv, get("/status?body=alive")).body == b"alive"
    if how == "mid-response":
        wait_for("every cut response's iterable closed once",
                 lambda: all(json.loads(request(srv, get("/closes")).body).get("vanish%d" % i) == 1
                             for i in range(20)), timeout=10)


def test_100000_keep_alive_requests_keep_rss_and_fds_flat(server):
    srv = server("apps:hello")
    one = get("/")
    with srv.connect() as sock:
        sock.sendall(one)
        first = b""
        while not first.endswith(b"Hello, World!"):
            first += sock.recv(65536)
        reply_size = len(first)                      # Date has a fixed width: every reply is this long
        batch = 100

        def run(requests_count):
            for _ in range(requests_count // batch):
                sock.sendall(one * batch)
                need = reply_size * batch
                got = 0
                while got < need:
                    chunk = sock.recv(need - got)
                    assert chunk, "server closed the connection"
                    got += len(chunk)

        run(10000)                                   # warm up caches and buffers
        rss_before, fds_before = rss_kib(srv.pid), fd_count(srv.pid)
        run(90000)
        rss_after, fds_after = rss_kib(srv.pid), fd_count(srv.pid)
        sock.sendall(one)
        assert sock.recv(65536).endswith(b"Hello, World!")
    assert fds_after == fds_before
    assert rss_after - rss_before < 2048, "RSS grew by %d KiB over 90,000 requests" % (rss_after - rss_before)


def test_client_vanishing_mid_sendfile_does_not_hurt_the_server(srv):
    # file_wrapper responses go out with sendfile(2); a peer that resets the
    # connection half-way must only end that connection.
    for _ in range(5):
        sock = srv.connect()
        sock.sendall(get("/file?size=%d" % (20 * 1024 * 1024)))
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()
    assert request(srv, get("/status?body=alive")).body == b"alive"


def test_a_child_process_of_the_app_inherits_no_server_descriptor(srv):
    # The listener, the loop, the wake-up pipe and every connection are
    # close-on-exec: an app that runs a child without closing descriptors
    # (os.system, subprocess with close_fds=False) must not hand it a socket
    # that keeps connections or the port alive after the server is gone.
    idle = [srv.connect() for _ in range(3)]
    try:
        reply = request(srv, get("/child-fds"), timeout=30)
        assert reply.status == 200
        fds = json.loads(reply.body)["fds"]
        # 0, 1, 2, and the one listdir opened to read /dev/fd
        assert fds == [0, 1, 2, 3], "the child inherited descriptors %s" % fds[3:]
    finally:
        for sock in idle:
            sock.close()
