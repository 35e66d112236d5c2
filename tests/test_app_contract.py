"""start_response, the response iterable and app failures (PEP 3333)."""
import json
import time

import pytest

from http_client import get, read_reply, recv_until_closed, request


@pytest.fixture
def srv(server):
    return server("apps:app")


def closes(srv):
    return json.loads(request(srv, get("/closes")).body)


def wait_for_close_count(srv, tag, expected, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        count = closes(srv).get(tag, 0)
        if count >= expected:
            return count
        time.sleep(0.05)
    return closes(srv).get(tag, 0)


def assert_still_serving(srv):
    assert request(srv, get("/status?body=alive")).body == b"alive"


@pytest.mark.parametrize("path", ["/raise", "/raise-after-start", "/no-start", "/start-twice",
                                  "/bad-status", "/bad-status?status=2000+OK", "/str-body",
                                  "/bad-header-caught"])
def test_app_bugs_answer_500_and_are_logged(srv, path):
    reply = request(srv, get(path))
    assert reply.status == 500
    assert reply.body == b"Internal Server Error\n"
    assert_still_serving(srv)
    deadline = time.monotonic() + 5
    while "Traceback" not in srv.stderr_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "Traceback" in srv.stderr_text()
    assert "error in the WSGI app while serving GET " + path.split("?")[0] in srv.stderr_text()


@pytest.mark.parametrize("value", ["a\r\nInjected: yes", "a\nInjected: yes", "a\rb", "a\x00b"])
def test_header_injection_never_reaches_the_wire(srv, value):
    from urllib.parse import quote
    with srv.connect() as sock:
        sock.sendall(get("/bad-header?value=" + quote(value)))
        reply = read_reply(sock)
    assert reply.status == 500
    assert all(b"injected" not in name for name, _ in reply.headers)
    assert b"Injected" not in reply.body


def test_500_keeps_the_connection_usable(srv):
    with srv.connect() as sock:
        sock.sendall(get("/raise"))
        assert read_reply(sock).status == 500
        sock.sendall(get("/status?body=next"))
        assert read_reply(sock).body == b"next"


def test_exception_mid_stream_closes_the_connection(srv):
    with srv.connect() as sock:
        sock.sendall(get("/raise-mid-stream?tag=mid"))
        raw = recv_until_closed(sock)
    assert raw.startswith(b"HTTP/1.1 200 OK")
    assert b"first\n" in raw
    assert not raw.endswith(b"0\r\n\r\n")          # never claims the body ended
    assert wait_for_close_count(srv, "mid", 1) == 1
    assert_still_serving(srv)


def test_exc_info_before_sending_replaces_the_status(srv):
    reply = request(srv, get("/exc-info"))
    assert reply.status == 503
    assert reply.body == b"replaced"


def test_exc_info_after_sending_reraises_and_closes(srv):
    with srv.connect() as sock:
        sock.sendall(get("/exc-info-after-send"))
        raw = recv_until_closed(sock)
    assert raw.startswith(b"HTTP/1.1 200 OK")
    assert b"sent already" in raw
    assert b"unreachable" not in raw
    assert "ValueError: late failure" in srv.stderr_text()


@pytest.mark.parametrize("path, tag", [
    ("/stream?n=3&tag=normal", "normal"),
    ("/status?body=x&tag=list", "list"),
    ("/write?tag=write", "write"),
    ("/raise-mid-stream?tag=failing", "failing"),
])
def test_close_is_called_exactly_once(srv, path, tag):
    with srv.connect() as sock:
        sock.sendall(get(path))
        recv_until_closed(sock) if "raise" in path else read_reply(sock)
    assert wait_for_close_count(srv, tag, 1) == 1
    time.sleep(0.2)
    assert closes(srv)[tag] == 1


def test_close_is_called_for_head_requests(srv):
    with srv.connect() as sock:
        sock.sendall(b"HEAD /stream?tag=headclose HTTP/1.1\r\nHost: t\r\n\r\n")
        assert read_reply(sock, method="HEAD").status == 200
    assert wait_for_close_count(srv, "headclose", 1) == 1


def test_close_is_called_when_the_client_disconnects_mid_response(srv):
    with srv.connect() as sock:
        sock.sendall(get("/big?size=%d&tag=gone" % (200 * 1024 * 1024)))
        got = sock.recv(65536)
        assert got.startswith(b"HTTP/1.1 200 OK")
    # the socket is closed here with most of the 200 MiB unsent
    assert wait_for_close_count(srv, "gone", 1) == 1
    assert_still_serving(srv)


def test_server_survives_a_client_that_vanishes_mid_pipeline(srv):
    with srv.connect() as sock:
        sock.sendall(get("/big?size=%d&tag=pipe" % (50 * 1024 * 1024)) + get("/status?body=x") * 10)
    assert wait_for_close_count(srv, "pipe", 1) == 1
    assert_still_serving(srv)
