"""Request bodies: Content-Length and chunked, wsgi.input as a file, spooling
large bodies to disk, Expect: 100-continue."""
import hashlib
import json
import os
import time

import pytest

from http_client import get, read_reply, request
from processes import peak_rss_kib


@pytest.fixture
def srv(server):
    return server("apps:app")


def post(path, body, headers=()):
    head = "POST %s HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n" % (path, len(body))
    head += "".join("%s: %s\r\n" % h for h in headers)
    return head.encode() + b"\r\n" + body


def chunked(path, pieces, trailer=b""):
    out = b"POST %s HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" % path.encode()
    for piece in pieces:
        out += b"%x\r\n%s\r\n" % (len(piece), piece)
    return out + b"0\r\n" + trailer + b"\r\n"


def test_content_length_body_reaches_the_app(srv):
    body = os.urandom(100000)
    reply = request(srv, post("/echo", body))
    assert reply.body == body
    assert reply.header("x-body-sha256") == hashlib.sha256(body).hexdigest()


def test_chunked_body_reaches_the_app(srv):
    pieces = [b"hello ", b"chunked ", os.urandom(70000), b"world"]
    raw = chunked("/echo", pieces, trailer=b"X-Trailer: yes\r\n")
    reply = request(srv, raw)
    assert reply.body == b"".join(pieces)


def test_chunked_body_with_extensions_split_into_single_bytes(srv):
    raw = (b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"5;name=value\r\nhello\r\n1;x\r\n!\r\n0\r\n\r\n")
    with srv.connect() as sock:
        for i in range(len(raw)):
            sock.send(raw[i:i + 1])
        assert read_reply(sock).body == b"hello!"


def test_large_body_is_spooled_to_a_file(srv):
    body = os.urandom(3 * 1024 * 1024)
    reply = request(srv, post("/digest", body))
    result = json.loads(reply.body)
    assert result == {"sha256": hashlib.sha256(body).hexdigest(), "length": len(body),
                      "input_type": "BufferedRandom"}


def test_small_body_stays_in_memory(srv):
    result = json.loads(request(srv, post("/digest", b"small")).body)
    assert result["input_type"] == "BytesIO" and result["length"] == 5


@pytest.mark.parametrize("split", [None, 0, 9], ids=["with-the-head", "after-the-head", "mid-body"])
def test_small_body_reaches_the_app_however_it_arrives(srv, split):
    """A small body that comes with its head is handed over as it is; one that
    comes in pieces is gathered first. The app reads the same either way."""
    body = b"line one\nline two\nlast"
    raw = post("/digest", body)
    with srv.connect() as sock:
        if split is None:
            sock.sendall(raw)
        else:
            cut = len(raw) - len(body) + split
            sock.sendall(raw[:cut])
            time.sleep(0.2)              # so that the server reads the first piece alone
            sock.sendall(raw[cut:])
        result = json.loads(read_reply(sock).body)
        assert result == {"sha256": hashlib.sha256(body).hexdigest(), "length": len(body),
                          "input_type": "BytesIO"}
        sock.sendall(post("/lines?how=readlines", body))     # and the next request on it
        assert json.loads(read_reply(sock).body) == ["line one\n", "line two\n", "last"]


@pytest.mark.parametrize("how, expected", [
    ("readline", ["line one\n", "lin", "e two\nlast"]),
    ("readlines", ["line one\n", "line two\n", "last"]),
    ("iterate", ["line one\n", "line two\n", "last"]),
])
def test_wsgi_input_reads_like_a_file(srv, how, expected):
    reply = request(srv, post("/lines?how=" + how, b"line one\nline two\nlast"))
    assert json.loads(reply.body) == expected


def test_an_app_that_ignores_the_body_keeps_keep_alive_working(srv):
    with srv.connect() as sock:
        sock.sendall(post("/ignore-body", b"x" * 50000))
        assert read_reply(sock).body == b"ignored"
        sock.sendall(chunked("/ignore-body", [b"y" * 1000] * 5))
        assert read_reply(sock).body == b"ignored"
        sock.sendall(get("/status?body=next"))
        assert read_reply(sock).body == b"next"


def test_expect_100_continue(srv):
    body = b"the body, sent after 100"
    with srv.connect() as sock:
        head = post("/echo", body, headers=[("Expect", "100-continue")])[:-len(body)]
        sock.sendall(head)
        interim = sock.recv(1024)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        assert read_reply(sock).body == body


def test_expect_100_continue_not_sent_for_a_refused_body(server):
    srv = server("apps:app", "--max-body-size", "1k")
    with srv.connect() as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n")
        reply = read_reply(sock)
    assert reply.status == 413
    assert reply.informational == []


def _stream_upload(srv, path, total, chunked_coding):
    """Send `total` pseudo-random bytes and return (reply, sha256 of what was sent)."""
    digest = hashlib.sha256()
    block = os.urandom(1 << 20)
    with srv.connect(timeout=60) as sock:
        if chunked_coding:
            sock.sendall(b"POST %s HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" % path.encode())
        else:
            sock.sendall(b"POST %s HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % (path.encode(), total))
        sent = 0
        while sent < total:
            piece = block[: min(len(block), total - sent)]
            digest.update(piece)
            if chunked_coding:
                sock.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
            else:
                sock.sendall(piece)
            sent += len(piece)
        if chunked_coding:
            sock.sendall(b"0\r\n\r\n")
        return read_reply(sock), digest.hexdigest()


@pytest.mark.parametrize("chunked_coding", [False, True], ids=["content-length", "chunked"])
def test_100_mib_upload_does_not_grow_memory(srv, chunked_coding):
    total = 100 * 1024 * 1024
    before = peak_rss_kib(srv)
    reply, sha = _stream_upload(srv, "/digest", total, chunked_coding)
    grown_mib = (peak_rss_kib(srv) - before) / 1024
    result = json.loads(reply.body)
    assert result["length"] == total and result["sha256"] == sha
    assert grown_mib < 32, "peak RSS grew by %.1f MiB" % grown_mib
