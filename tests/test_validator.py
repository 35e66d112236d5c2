"""wsgiref.validate.validator checks the server's half of PEP 3333 on every request.

The test apps are served wrapped in the validator (apps:validated_app) and
exercised broadly: methods, request bodies of many sizes (in memory and spooled),
chunked request bodies, 100-continue, wsgi.input's read/readline/readlines/
iteration, streamed and large responses, file_wrapper, the write() callable,
404, HTTP/1.0 and keep-alive. Besides the answers themselves, the server's
stderr must hold no validator complaint (AssertionError, WSGIWarning, an
iterator collected without close()) and no traceback at all.
"""
import hashlib
import json

import pytest
import requests

from http_client import get, read_reply, request

TIMEOUT = 20.0
COMPLAINTS = ("AssertionError", "WSGIWarning", "Traceback", "Exception ignored",
              "garbage collected without being closed", "ERROR")


def assert_no_complaints(srv):
    """Stop the server (so every response object has been released) and check
    its log for anything the validator or the server had to say."""
    assert srv.stop() == 0, srv.stderr_text()
    log = srv.stderr_text()
    for word in COMPLAINTS:
        assert word not in log, "server log holds %r:\n%s" % (word, log)


@pytest.fixture
def vsrv(server):
    return server("apps:validated_app")


def sha(data):
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("size", [0, 1, 4095, 65537, 300000, 3 * 1024 * 1024 + 7],
                         ids=lambda s: "%dB" % s)
def test_request_bodies_of_many_sizes(vsrv, size):
    body = bytes(i * 7 % 251 for i in range(min(size, 251))) * (size // 251 + 1)
    body = body[:size]
    with requests.Session() as s:
        for method in ("POST", "PUT"):
            r = s.request(method, vsrv.url + "/digest", data=body, timeout=TIMEOUT,
                          headers={"Content-Type": "application/octet-stream"})
            assert r.status_code == 200
            assert r.json()["sha256"] == sha(body)
            assert r.json()["length"] == size
    assert_no_complaints(vsrv)


def test_chunked_request_body_and_expect_continue(vsrv):
    pieces = [b"a" * 10, b"b" * 70000, b"", b"c" * 3]

    def gen():
        yield from pieces

    r = requests.post(vsrv.url + "/digest", data=gen(), timeout=TIMEOUT)
    assert r.request.headers["Transfer-Encoding"] == "chunked"
    assert r.status_code == 200
    assert r.json() == {"sha256": sha(b"".join(pieces)), "length": 70013, "input_type": "InputWrapper"}

    # The same by hand, with a chunk extension and a trailer.
    raw = (b"POST /digest HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: yes\r\n\r\n")
    reply = request(vsrv, raw)
    assert reply.status == 200
    assert json.loads(reply.body)["sha256"] == sha(b"hello world")

    with vsrv.connect(TIMEOUT) as sock:
        sock.sendall(b"POST /digest HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
                     b"Expect: 100-continue\r\n\r\n")
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 100 Continue\r\n"), first
        sock.sendall(b"12345")
        reply = read_reply(sock, buffered=first[len(b"HTTP/1.1 100 Continue\r\n\r\n"):])
        assert reply.status == 200
        assert json.loads(reply.body)["length"] == 5
    assert_no_complaints(vsrv)


@pytest.mark.parametrize("how", ["readlines", "iter"])
def test_input_lines(vsrv, how):
    body = b"one\ntwo\n\nthree"
    r = requests.post(vsrv.url + "/lines?how=" + how, data=body, timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.json() == ["one\n", "two\n", "\n", "three"]
    chunked = requests.post(vsrv.url + "/lines?how=" + how, data=iter([b"one\nt", b"wo\n\nthree"]),
                            timeout=TIMEOUT)
    assert chunked.json() == ["one\n", "two\n", "\n", "three"]
    assert_no_complaints(vsrv)


def test_get_head_and_http10(vsrv):
    reply = request(vsrv, get("/status?body=hello&code=201&reason=Made"))
    assert (reply.status, reply.reason, reply.body) == (201, b"Made", b"hello")
    assert reply.header("content-type") == "text/plain"

    reply = request(vsrv, b"HEAD /status?body=hello HTTP/1.1\r\nHost: t\r\n\r\n", method="HEAD")
    assert (reply.status, reply.body) == (200, b"")

    reply = request(vsrv, b"HEAD /big?size=5000 HTTP/1.1\r\nHost: t\r\n\r\n", method="HEAD")
    assert (reply.status, reply.body, reply.header("content-length")) == (200, b"", "5000")

    reply = request(vsrv, b"GET /status?body=old HTTP/1.0\r\n\r\n")
    assert (reply.status, reply.body) == (200, b"old")

    # The absolute form and a percent-encoded path reach the app as PATH_INFO.
    reply = request(vsrv, b"GET http://t/status?body=abs HTTP/1.1\r\nHost: t\r\n\r\n")
    assert (reply.status, reply.body) == (200, b"abs")
    reply = request(vsrv, get("/%73tatus?body=pct"))
    assert (reply.status, reply.body) == (200, b"pct")

    reply = request(vsrv, get("/no/such/path?x=1"))
    assert (reply.status, reply.body) == (404, b"not found")
    reply = request(vsrv, b"DELETE /nothing HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc")
    assert reply.status == 404
    assert_no_complaints(vsrv)


def test_streamed_large_and_written_responses(vsrv):
    with vsrv.connect(TIMEOUT) as sock:               # one keep-alive connection throughout
        sock.sendall(get("/stream?n=6&tag=v-stream"))
        reply = read_reply(sock)
        assert reply.body == b"".join(b"chunk%d\n" % i for i in range(6))
        assert reply.header("transfer-encoding") == "chunked"

        sock.sendall(get("/big?size=3000000&tag=v-big"))
        reply = read_reply(sock)
        assert (reply.status, len(reply.body)) == (200, 3000000)
        assert reply.body == b"x" * 3000000

        sock.sendall(get("/write?tag=v-write"))
        reply = read_reply(sock)
        assert reply.body == b"written directly then iterated"

        sock.sendall(get("/status?body=tracked&tag=v-status"))
        assert read_reply(sock).body == b"tracked"

        sock.sendall(get("/closes"))
        closes = json.loads(read_reply(sock).body)
    for tag in ("v-stream", "v-big", "v-write", "v-status"):
        assert closes.get(tag) == 1, closes              # the validator passed close() through
    assert_no_complaints(vsrv)


@pytest.mark.parametrize("size,offset", [(100000, 0), (100000, 10), (300, 299), (0, 0)])
def test_file_wrapper(vsrv, size, offset):
    expected = (bytes(range(256)) * (size // 256) + b"z" * (size % 256))[offset:]
    r = requests.get(vsrv.url + "/file", params={"size": size, "offset": offset}, timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.content == expected
    assert_no_complaints(vsrv)


def test_many_validated_requests_on_one_keep_alive_session(vsrv):
    with requests.Session() as s:
        for i in range(100):
            body = b"%d" % i * (i + 1)
            r = s.post(vsrv.url + "/digest", data=body, timeout=TIMEOUT)
            assert r.json()["sha256"] == sha(body)
            r = s.get(vsrv.url + "/status", params={"body": "n%d" % i}, timeout=TIMEOUT)
            assert r.text == "n%d" % i
    assert_no_complaints(vsrv)


@pytest.fixture
def sized_srv(server):
    return server("apps:validated_app")


@pytest.mark.parametrize("size", [0, 10, 2 * 1024 * 1024], ids=lambda s: "%dB" % s)
def test_echo_and_environ_with_sized_reads(sized_srv, size):
    body = b"e" * size
    r = requests.post(sized_srv.url + "/echo", data=body, timeout=TIMEOUT,
                      headers={"Content-Type": "application/x-test"})
    assert r.status_code == 200
    assert r.content == body
    assert r.headers["X-Body-SHA256"] == sha(body)

    r = requests.post(sized_srv.url + "/environ?a=1&b=%20", data=body, timeout=TIMEOUT,
                      headers={"Content-Type": "application/x-test", "X-Custom": "v"})
    env = r.json()
    assert env["_body_len"] == size
    assert env["CONTENT_TYPE"] == "application/x-test"
    assert env["CONTENT_LENGTH"] == str(size)
    assert "HTTP_CONTENT_TYPE" not in env and "HTTP_CONTENT_LENGTH" not in env
    assert env["HTTP_X_CUSTOM"] == "v"
    assert env["QUERY_STRING"] == "a=1&b=%20"
    assert env["PATH_INFO"] == "/environ"
    assert env["REQUEST_METHOD"] == "POST"
    assert env["wsgi.version"] == [1, 0]
    assert_no_complaints(sized_srv)


def test_readline_with_sized_reads(sized_srv):
    r = requests.post(sized_srv.url + "/lines?how=readline", data=b"first line\nsecond\nrest", timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.json() == ["first line\n", "sec", "ond\nrest"]
    assert_no_complaints(sized_srv)
