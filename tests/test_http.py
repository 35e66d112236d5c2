"""HTTP/1.x behaviour of the core: framing, keep-alive, pipelining, headers."""
import json
import re
import socket
import time

import pytest

from http_client import get, is_closed, read_replies, read_reply, recv_until_closed, request

DATE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$")


@pytest.fixture
def srv(server):
    return server("apps:app")


def test_hello_world_has_length_date_and_server(server):
    srv = server("apps:hello")
    reply = request(srv, get("/"))
    assert reply.status == 200
    assert reply.body == b"Hello, World!"
    assert reply.header("content-length") == "13"
    assert DATE.match(reply.header("date"))
    assert reply.header("server").startswith("fastwsgi")


def test_keep_alive_serves_many_requests_on_one_connection(srv):
    with srv.connect() as sock:
        for i in range(5):
            sock.sendall(get("/status?body=n%d" % i))
            reply = read_reply(sock)
            assert reply.body == b"n%d" % i
            assert reply.header("connection") is None


def test_http10_closes_after_the_response(srv):
    with srv.connect() as sock:
        sock.sendall(b"GET /status?body=x HTTP/1.0\r\n\r\n")
        reply = read_reply(sock)
        assert reply.body == b"x"
        assert reply.header("connection") == "close"
        assert is_closed(sock)


def test_http10_keep_alive_is_honoured(srv):
    with srv.connect() as sock:
        for _ in range(2):
            sock.sendall(b"GET /status?body=x&length=1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            reply = read_reply(sock)
            assert reply.body == b"x"
            assert reply.header("connection") == "keep-alive"
        assert not is_closed(sock, timeout=0.3)


def test_client_connection_close_is_honoured(srv):
    with srv.connect() as sock:
        sock.sendall(get("/status?body=x", headers=[("Connection", "close")]))
        reply = read_reply(sock)
        assert reply.header("connection") == "close"
        assert is_closed(sock)


def test_app_connection_close_is_honoured(srv):
    with srv.connect() as sock:
        sock.sendall(get("/close-header"))
        reply = read_reply(sock)
        assert reply.body == b"ok"
        assert reply.all("connection") == ["close"]
        assert is_closed(sock)


def test_pipelined_requests_are_answered_in_order(srv):
    body = b"posted body"
    raw = (get("/status?body=first")
           + b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
           + get("/stream?n=2")
           + get("/status?body=last"))
    with srv.connect() as sock:
        sock.sendall(raw)
        replies = read_replies(sock, 4)
    assert [reply.body for reply in replies] == [b"first", body, b"chunk0\nchunk1\n", b"last"]


def test_many_pipelined_requests_in_one_write(srv):
    with srv.connect() as sock:
        sock.sendall(b"".join(get("/status?body=%d" % i) for i in range(100)))
        replies = read_replies(sock, 100)
        assert [reply.body for reply in replies] == [b"%d" % i for i in range(100)]


def test_streamed_body_is_chunked_on_http11(srv):
    with srv.connect() as sock:
        sock.sendall(get("/stream?n=3"))
        reply = read_reply(sock)
    assert reply.header("transfer-encoding") == "chunked"
    assert reply.header("content-length") is None
    assert reply.body == b"chunk0\nchunk1\nchunk2\n"


def test_streamed_body_is_close_delimited_on_http10(srv):
    with srv.connect() as sock:
        sock.sendall(b"GET /stream?n=3 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        raw = recv_until_closed(sock)
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"chunked" not in head.lower()
    assert b"connection: close" in head.lower()
    assert body == b"chunk0\nchunk1\nchunk2\n"


def test_list_body_gets_a_content_length(srv):
    reply = request(srv, get("/list?body=abc&more=de"))
    assert reply.body == b"abcde"
    assert reply.header("content-length") == "5"
    assert reply.header("transfer-encoding") is None


def test_head_has_no_body_but_the_same_length(srv):
    with srv.connect() as sock:
        sock.sendall(get("/list?body=twelve+bytes"))
        got = read_reply(sock)
        sock.sendall(b"HEAD /list?body=twelve+bytes HTTP/1.1\r\nHost: t\r\n\r\n")
        head = read_reply(sock, method="HEAD")
        # the connection is still in sync: a HEAD body would corrupt this one
        sock.sendall(get("/status?body=after"))
        after = read_reply(sock)
    assert head.status == 200 and head.body == b""
    assert head.header("content-length") == got.header("content-length") == "12"
    assert after.body == b"after"


def test_head_of_a_streamed_body_sends_nothing(srv):
    with srv.connect() as sock:
        sock.sendall(b"HEAD /stream?n=3&tag=head HTTP/1.1\r\nHost: t\r\n\r\n")
        reply = read_reply(sock, method="HEAD")
        sock.sendall(get("/status?body=next"))
        assert read_reply(sock).body == b"next"
    assert reply.status == 200 and reply.body == b""


@pytest.mark.parametrize("code", [204, 304])
def test_no_body_statuses_send_no_body(srv, code):
    with srv.connect() as sock:
        sock.sendall(get("/status?code=%d&body=forbidden" % code))
        reply = read_reply(sock)
        sock.sendall(get("/status?body=next"))
        nxt = read_reply(sock, buffered=reply.leftover)
    assert reply.status == code and reply.body == b""
    assert reply.header("transfer-encoding") is None
    assert nxt.body == b"next"


@pytest.mark.parametrize("code, reason", [(299, b"Fine Thanks"), (599, b"Network Gremlins"), (200, b"Okey Dokey")])
def test_any_status_code_and_the_apps_reason_are_kept(srv, code, reason):
    with srv.connect() as sock:
        sock.sendall(get("/status?code=%d&reason=%s&body=x" % (code, reason.decode().replace(" ", "+"))))
        first_line = sock.recv(65536).split(b"\r\n", 1)[0]
    assert first_line == b"HTTP/1.1 %d %s" % (code, reason)


def test_repeated_response_headers_are_kept(srv):
    reply = request(srv, get("/headers"))
    assert reply.all("set-cookie") == ["a=1", "b=2"]


def test_write_callable_then_iterable(srv):
    reply = request(srv, get("/write"))
    assert reply.status == 200
    assert reply.body == b"written directly then iterated"


def test_file_wrapper_sends_the_whole_file(srv):
    size = 300001
    expected = (bytes(range(256)) * (size // 256) + b"z" * (size % 256))
    reply = request(srv, get("/file?size=%d" % size))
    assert reply.header("content-length") == str(size)
    assert reply.body == expected


def test_file_wrapper_starts_at_the_files_position(srv):
    expected = (bytes(range(256)) * 4)[100:]
    reply = request(srv, get("/file?size=1024&offset=100"))
    assert reply.body == expected


def test_file_wrapper_without_fileno_is_iterated(srv):
    reply = request(srv, get("/filelike"))
    assert reply.body == b"from a BytesIO"


def test_large_response_arrives_whole(srv):
    size = 20 * 1024 * 1024 + 7
    with srv.connect(timeout=30) as sock:
        sock.sendall(get("/big?size=%d" % size))
        reply = read_reply(sock)
    assert len(reply.body) == size and reply.body == b"x" * size


def test_unix_socket_and_tcp_binds_serve_together(server, tmp_path):
    path = str(tmp_path / "s.sock")
    srv = server("apps:app", "--bind", "127.0.0.1:0", "--bind", "unix:" + path)
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(10)
        sock.connect(path)
        sock.sendall(get("/environ"))
        reply = read_reply(sock)
    assert reply.status == 200
    assert request(srv, get("/status?body=tcp")).body == b"tcp"


def test_ipv6_serves(server):
    assert socket.has_ipv6, "this Python has no IPv6 support"
    srv = server("apps:app", "--bind", "127.0.0.1:0", "--bind", "[::1]:0")
    port6 = int(re.search(r"http://\[::1\]:(\d+)", srv.stderr_text()).group(1))
    with socket.create_connection(("::1", port6), timeout=10) as sock:
        sock.sendall(get("/environ"))
        env = json.loads(read_reply(sock).body)
    assert env["REMOTE_ADDR"] == "::1"
    assert env["SERVER_PROTOCOL"] == "HTTP/1.1"


def test_wsgi_errors_reaches_the_server_log(srv):
    assert request(srv, get("/log-error?text=something+odd")).status == 200
    deadline = time.monotonic() + 5
    while "something odd" not in srv.stderr_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "something odd" in srv.stderr_text()
