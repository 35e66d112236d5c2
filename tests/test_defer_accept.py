"""--defer-accept (TCP_DEFER_ACCEPT, Linux): a new connection reaches the
server with its first bytes, is read and answered before it is registered with
the event loop, and a silent one is handed over after the deferral."""
import socket
import time

import pytest

from http_client import get, read_reply
from inprocess import make_server
from processes import LINUX

pytestmark = pytest.mark.skipif(not LINUX, reason="TCP_DEFER_ACCEPT is Linux's")

TIMEOUT = 20.0


def hello(environ, start_response):
    start_response("200 OK", [("Content-Length", "5")])
    return [b"hello"]


def test_deferred_accept_leaves_silent_connections_in_the_kernel(server):
    """A connection that has sent nothing is not taken, so it holds no slot:
    with room for one connection, a client with a request is served at once."""
    srv = server("apps:app", "--max-connections", "1", "--defer-accept", "30",
                 "--head-timeout", "60")
    with srv.connect() as silent:
        with srv.connect() as asking:
            asking.sendall(get("/status?body=served"))
            assert read_reply(asking).body == b"served"
        silent.sendall(get("/status?body=late"))      # its first bytes: now it is taken
        assert read_reply(silent).body == b"late"


def answered_past_a_silent_connection(srv):
    """With room for one connection, one opened first stays silent: is a client
    with a request answered meanwhile? False when the silent one was taken and
    holds the slot (the client is answered once it closes)."""
    silent = srv.connect()                          # first in the accept queue
    with srv.connect() as asking:
        asking.sendall(get("/status?body=served"))
        asking.settimeout(1)
        try:
            reply = read_reply(asking)
        except socket.timeout:
            reply = None
        silent.close()
        answered = reply is not None
        if not answered:
            asking.settimeout(10)
            reply = read_reply(asking)
        assert reply.body == b"served"
    return answered


def test_defer_accept_0_takes_silent_connections_at_once(server):
    srv = server("apps:app", "--max-connections", "1", "--defer-accept", "0",
                 "--head-timeout", "60")
    assert not answered_past_a_silent_connection(srv)


@pytest.mark.parametrize("given", [False, True])
def test_reuse_port_takes_silent_connections_at_once_unless_told(server, given):
    """A --reuse-port worker closes its own socket at each reload, which would
    reset connections still deferred there: by default it defers none. Given
    explicitly, the deferral applies."""
    srv = server("apps:app", "--reuse-port", "--max-connections", "1", "--head-timeout", "60",
                 *(["--defer-accept", "30"] if given else []))
    assert answered_past_a_silent_connection(srv) == given


def test_a_silent_connection_is_taken_after_the_deferral_and_timed_out(server):
    srv = server("apps:app", "--defer-accept", "1", "--head-timeout", "1")
    with srv.connect() as sock:
        started = time.monotonic()
        assert sock.recv(100) == b""                # closed, unanswered, by the head timeout
        waited = time.monotonic() - started
    # The kernel held it for the deferral (its SYN-ACK is resent at 1 s), and
    # only then did the 1 s head timeout start: about 2 s in all.
    assert 1.5 < waited < 20


def test_a_connection_handed_over_silent_is_watched_and_served_when_it_asks():
    """After the deferral the kernel hands the connection over with nothing to
    read: it is taken (and counted) before any byte comes, then its request,
    which arrives on a registered socket, is answered."""
    server, listener = make_server(hello, defer_accept=1, head_timeout=60)
    try:
        with socket.create_connection(listener.getsockname(), timeout=TIMEOUT) as sock:
            deadline = time.monotonic() + TIMEOUT   # the SYN-ACK is resent at 1 s: taken then
            while server.connection_count == 0 and time.monotonic() < deadline:
                server.serve(max_seconds=0.2)
            assert server.connection_count == 1     # taken with nothing sent
            sock.sendall(get("/"))
            server.serve(max_requests=1, timeout=TIMEOUT)
            assert read_reply(sock).body == b"hello"
    finally:
        server.close()
        listener.close()
