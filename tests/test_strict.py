"""Strict HTTP/1.1 (RFC 9112 / 9110): a malformed or ambiguous request gets its
status with Connection: close, never reaches the app, and nothing after it on
the connection is processed. Every case carries a second request behind the bad
one (the smuggling attempt); the app records every request it sees, so we can
prove that neither was answered nor reached the app."""
import json
import socket

import pytest

from http_client import get, request

SMUGGLED = b"GET /status?tag=SMUGGLED HTTP/1.1\r\nHost: t\r\n\r\n"


def req(head, body=b""):
    """A request from head lines (joined with CRLF) and a body."""
    return head.replace(b"\n", b"\r\n") + b"\r\n\r\n" + body


# (id, raw request, expected status). Each raw request is followed by SMUGGLED.
CASES = [
    # Transfer-Encoding / Content-Length (RFC 9112 §6.1, §6.3)
    ("te-and-cl", req(b"POST /status?tag=BAD HTTP/1.1\nHost: t\nContent-Length: 5\nTransfer-Encoding: chunked", b"0\r\n\r\n"), 400),
    ("cl-and-te", req(b"POST /status?tag=BAD HTTP/1.1\nHost: t\nTransfer-Encoding: chunked\nContent-Length: 5", b"0\r\n\r\n"), 400),
    ("te-gzip", req(b"POST /status?tag=BAD HTTP/1.1\nHost: t\nTransfer-Encoding: gzip", b"abc"), 501),
    ("te-gzip-chunked", req(b"POST /status?tag=BAD HTTP/1.1\nHost: t\nTransfer-Encoding: gzip, chunked", b"0\r\n\r\n"), 501),
    ("te-chunked-gzip", req(b"POST /status?tag=BAD HTTP/1.1\nHost: t\nTransfer-Encoding: chunked, gzip", b"0\r\n\r\n"), 501),
    ("te-chunked-twice", req(b"POST /status?tag=BAD HTTP/1.1\nHost: t\nTransfer-Encoding: chunked, chunked", b"0\r\n\r\n"), 400),
    ("te-chunked-two-fields", req(b"POST /status?tag=BAD HTTP/1.1\nHost: t\nTransfer-Encoding: chunked\nTransfer-Encoding: chunked", b"0\r\n\r\n"), 400),
    ("te-odd-spelling", req(b"POST /status?tag=BAD HTTP/1.1\nHost: t\nTransfer-Encoding: chunk", b"0\r\n\r\n"), 501),
    ("te-chunked-param", req(b"POST /status?tag=BAD HTTP/1.1\nHost: t\nTransfer-Encoding: chunked;q=1", b"0\r\n\r\n"), 400),
    ("te-empty", req(b"POST /status?tag=BAD HTTP/1.1\nHost: t\nTransfer-Encoding: ", b"0\r\n\r\n"), 400),
    ("te-on-http10", req(b"POST /status?tag=BAD HTTP/1.0\nTransfer-Encoding: chunked", b"0\r\n\r\n"), 400),
    ("te-space-before-colon", req(b"POST /status?tag=BAD HTTP/1.1\nHost: t\nTransfer-Encoding : chunked", b"0\r\n\r\n"), 400),
    # Content-Length (RFC 9110 §8.6)
    ("cl-plus", req(b"POST /status?tag=BAD HTTP/1.1\nHost: t\nContent-Length: +3", b"abc"), 400),
    ("cl-minus", req(b"POST /status?tag=BAD HTTP/1.1\nHost: t\nContent-Length: -3", b"abc"), 400),
    ("cl-inner-space", req(b"POST /status?tag=BAD HTTP/1.1\nHost: t\nContent-Length: 1 0", b"abc"), 400),
    ("cl-hex", req(b"POST /status?tag=BAD HTTP/1.1\nHost: t\nContent-Length: 0x3", b"abc"), 400),
    ("cl-list", req(b"POST /status?tag=BAD HTTP/1.1\nHost: t\nContent-Length: 3, 3", b"abc"), 400),
    ("cl-overflow", req(b"POST /status?tag=BAD HTTP/1.1\nHost: t\nContent-Length: 99999999999999999999999", b"abc"), 400),
    ("cl-differing-duplicates", req(b"POST /status?tag=BAD HTTP/1.1\nHost: t\nContent-Length: 3\nContent-Length: 4", b"abcd"), 400),
    ("cl-empty", req(b"POST /status?tag=BAD HTTP/1.1\nHost: t\nContent-Length: ", b""), 400),
    # chunked bodies (RFC 9112 §7.1)
    ("chunk-size-not-hex", req(b"POST /status?tag=BAD HTTP/1.1\nHost: t\nTransfer-Encoding: chunked", b"zz\r\nabc\r\n0\r\n\r\n"), 400),
    ("chunk-size-overflow", req(b"POST /status?tag=BAD HTTP/1.1\nHost: t\nTransfer-Encoding: chunked", b"fffffffffffffffffff\r\nabc\r\n0\r\n\r\n"), 400),
    ("chunk-size-negative", req(b"POST /status?tag=BAD HTTP/1.1\nHost: t\nTransfer-Encoding: chunked", b"-1\r\nabc\r\n0\r\n\r\n"), 400),
    ("chunk-no-crlf-after-data", req(b"POST /status?tag=BAD HTTP/1.1\nHost: t\nTransfer-Encoding: chunked", b"3\r\nabcX\r\n0\r\n\r\n"), 400),
    ("chunk-more-data-than-announced", req(b"POST /status?tag=BAD HTTP/1.1\nHost: t\nTransfer-Encoding: chunked", b"3\r\nabcdef\r\n0\r\n\r\n"), 400),
    ("chunk-bad-extension", req(b"POST /status?tag=BAD HTTP/1.1\nHost: t\nTransfer-Encoding: chunked", b"3;=x\r\nabc\r\n0\r\n\r\n"), 400),
    ("chunk-bare-lf", req(b"POST /status?tag=BAD HTTP/1.1\nHost: t\nTransfer-Encoding: chunked", b"3\nabc\r\n0\r\n\r\n"), 400),
    ("chunk-bad-trailer", req(b"POST /status?tag=BAD HTTP/1.1\nHost: t\nTransfer-Encoding: chunked", b"0\r\nBad Trailer\r\n\r\n"), 400),
    # field syntax (RFC 9112 §5)
    ("obs-fold", req(b"GET /status?tag=BAD HTTP/1.1\nHost: t\nX-A: a\n b"), 400),
    ("space-before-colon", req(b"GET /status?tag=BAD HTTP/1.1\nHost: t\nX-A : a"), 400),
    ("bad-name-char", req(b"GET /status?tag=BAD HTTP/1.1\nHost: t\nX(A): a"), 400),
    ("empty-name", req(b"GET /status?tag=BAD HTTP/1.1\nHost: t\n: a"), 400),
    ("nul-in-value", req(b"GET /status?tag=BAD HTTP/1.1\nHost: t\nX-A: a\x00b"), 400),
    ("bare-cr-in-value", req(b"GET /status?tag=BAD HTTP/1.1\nHost: t\nX-A: a\rb"), 400),
    ("ctl-in-value", req(b"GET /status?tag=BAD HTTP/1.1\nHost: t\nX-A: a\x01b"), 400),
    ("del-in-value", req(b"GET /status?tag=BAD HTTP/1.1\nHost: t\nX-A: a\x7fb"), 400),
    ("bare-lf-line-ending", b"GET /status?tag=BAD HTTP/1.1\nHost: t\n\n", 400),
    ("no-colon", req(b"GET /status?tag=BAD HTTP/1.1\nHost: t\nX-A"), 400),
    # Host (RFC 9112 §3.2)
    ("missing-host", req(b"GET /status?tag=BAD HTTP/1.1\nX-A: a"), 400),
    ("repeated-host", req(b"GET /status?tag=BAD HTTP/1.1\nHost: a\nHost: b"), 400),
    ("empty-host-absolute-form", req(b"GET http://a/status?tag=BAD HTTP/1.1\nHost: "), 400),
    # request line (RFC 9112 §3)
    ("http-2.0", req(b"GET /status?tag=BAD HTTP/2.0\nHost: t"), 505),
    ("http-1.2", req(b"GET /status?tag=BAD HTTP/1.2\nHost: t"), 505),
    ("http-0.9-style", b"GET /status?tag=BAD\r\n\r\n", 400),
    ("lowercase-http", req(b"GET /status?tag=BAD http/1.1\nHost: t"), 400),
    ("two-spaces", req(b"GET  /status?tag=BAD HTTP/1.1\nHost: t"), 400),
    ("tab-separator", req(b"GET\t/status?tag=BAD HTTP/1.1\nHost: t"), 400),
    ("bad-method-char", req(b"G(T /status?tag=BAD HTTP/1.1\nHost: t"), 400),
    ("fragment", req(b"GET /status?tag=BAD#frag HTTP/1.1\nHost: t"), 400),
    ("nul-in-target", req(b"GET /status?tag=BAD\x00 HTTP/1.1\nHost: t"), 400),
    ("space-in-target", req(b"GET /status?tag=BAD x HTTP/1.1\nHost: t"), 400),
    ("ctl-in-target", req(b"GET /status?tag=BAD\x7f HTTP/1.1\nHost: t"), 400),
    ("bare-cr-in-request-line", b"GET /status?tag=BAD HTTP/1.1\rHost: t\r\n\r\n", 400),
    ("asterisk-with-get", req(b"GET * HTTP/1.1\nHost: t"), 400),
]


@pytest.fixture(scope="module")
def srv():
    # One server for all cases: a bad request must not disturb the next client.
    import conftest
    import sys
    proc = conftest.ServerProcess([sys.executable, "-m", "fastwsgi", "--port", "0",
                                   "--max-body-size", "1m", "apps:app"])
    proc.wait_listening()
    yield proc
    assert proc.stop() == 0
    proc.close()


@pytest.mark.parametrize("raw, status", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_request_is_refused_and_nothing_behind_it_is_processed(srv, raw, status):
    with srv.connect() as sock:
        sock.sendall(raw + SMUGGLED)
        data = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 %d " % status), data
    assert b"\r\nConnection: close" in head
    assert body.count(b"HTTP/1.") == 0, "a second response followed: %r" % data
    seen = json.loads(request(srv, get("/closes")).body)
    assert "BAD" not in seen and "SMUGGLED" not in seen, seen


def test_bare_lf_is_refused_rather_than_guessed(srv):
    # Decision (RFC 9112 §2.2 allows either): a bare LF line ending is a 400,
    # because front ends that treat it differently can be made to disagree.
    reply = request(srv, b"GET /status HTTP/1.1\nHost: t\r\n\r\n")
    assert reply.status == 400


def test_body_cut_off_by_the_client_never_reaches_the_app(srv):
    with srv.connect() as sock:
        sock.sendall(b"POST /status?tag=CUT HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nonly part")
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(65536) == b""
    with srv.connect() as sock:
        sock.sendall(b"POST /status?tag=CUTCHUNK HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabc")
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(65536) == b""
    seen = json.loads(request(srv, get("/closes")).body)
    assert "CUT" not in seen and "CUTCHUNK" not in seen


def test_good_requests_still_work_on_the_same_server(srv):
    assert request(srv, get("/status?body=fine")).body == b"fine"
    assert request(srv, b"OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n").status == 404
