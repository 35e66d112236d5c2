"""The environ as PEP 3333 defines it, checked against the wsgiref reference
where the two must agree, and on fastwsgi alone where PEP 3333 leaves room."""
import json
import socket

import pytest

from http_client import get, read_reply, request
from processes import LINUX

REQUIRED = ["REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "SERVER_NAME",
            "SERVER_PORT", "SERVER_PROTOCOL", "wsgi.version", "wsgi.url_scheme", "wsgi.input",
            "wsgi.errors", "wsgi.multithread", "wsgi.multiprocess", "wsgi.run_once"]


def environ_of(srv, raw):
    reply = request(srv, raw)
    assert reply.status == 200, reply
    return json.loads(reply.body)


@pytest.fixture
def srv(server):
    return server("apps:app")


def test_required_keys_and_types(any_server):
    env = environ_of(any_server("apps:app"), get("/environ?a=1"))
    for key in REQUIRED:
        assert key in env, key
    assert env["REQUEST_METHOD"] == "GET"
    assert env["SCRIPT_NAME"] == ""
    assert env["PATH_INFO"] == "/environ"
    assert env["QUERY_STRING"] == "a=1"
    assert env["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert env["wsgi.version"] == [1, 0]
    assert env["wsgi.url_scheme"] == "http"
    assert env["HTTP_HOST"] == "test"
    for key, kind in env["_types"].items():
        if key.isupper():
            assert kind == "str", (key, kind)      # CGI keys are native strings


@pytest.mark.parametrize("raw_path, path_info", [
    ("/a%20b/c", "/a b/c"),
    ("/caf%C3%A9", "/caf\u00c3\u00a9"),             # bytes decoded as latin-1
    ("/%2F%2f/x", "////x"),
    ("/100%", "/100%"),                            # a stray % is kept
])
def test_path_info_is_percent_decoded_as_latin1(any_server, raw_path, path_info):
    env = environ_of(any_server("apps:app"), get("/environ" + raw_path))
    assert env["PATH_INFO"] == "/environ" + path_info


def test_raw_uri_is_the_target_as_sent(srv):
    env = environ_of(srv, get("/environ/a%20b?x=%2F"))
    assert env["RAW_URI"] == "/environ/a%20b?x=%2F"
    assert env["PATH_INFO"] == "/environ/a b"


def test_query_string_is_raw(any_server):
    env = environ_of(any_server("apps:app"), get("/environ?a=%20b&c=d%26e&&f"))
    assert env["QUERY_STRING"] == "a=%20b&c=d%26e&&f"


def test_latin1_header_bytes(any_server):
    value = bytes(range(0x80, 0x100))
    raw = b"GET /environ HTTP/1.1\r\nHost: t\r\nX-Latin: caf\xe9 " + value + b"\r\n\r\n"
    env = environ_of(any_server("apps:app"), raw)
    assert env["HTTP_X_LATIN"] == (b"caf\xe9 " + value).decode("latin-1")


def test_content_type_and_length_only_when_sent(srv):
    env = environ_of(srv, get("/environ"))
    assert "CONTENT_TYPE" not in env and "CONTENT_LENGTH" not in env
    raw = b"POST /environ HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
    env = environ_of(srv, raw)
    assert env["CONTENT_TYPE"] == "text/plain"
    assert env["CONTENT_LENGTH"] == "5"
    assert env["_body_len"] == 5
    assert "HTTP_CONTENT_TYPE" not in env and "HTTP_CONTENT_LENGTH" not in env


def test_repeated_headers_are_joined(srv):
    raw = get("/environ", headers=[("X-Multi", "a"), ("Accept", "text/html"), ("X-Multi", "b"),
                                   ("x-multi", "c"), ("Cookie", "a=1"), ("Cookie", "b=2")])
    env = environ_of(srv, raw)
    assert env["HTTP_X_MULTI"] == "a, b, c"
    assert env["HTTP_COOKIE"] == "a=1; b=2"
    assert env["HTTP_ACCEPT"] == "text/html"


def test_header_names_with_underscores_are_dropped(srv):
    env = environ_of(srv, get("/environ", headers=[("X-Real-IP", "1.2.3.4"), ("X_Real_IP", "6.6.6.6")]))
    assert env["HTTP_X_REAL_IP"] == "1.2.3.4"


def test_field_names_map_the_same_before_and_after_the_name_cache_fills(srv):
    """A server remembers the environ keys of 1,024 field names (fw_names.h) and
    works out the others on every request: 1,200 distinct names, sent 60 to a
    request, fill it partway, and every request before and after must map its
    names alike, in any letter case, dropping names with '_'. A forwarding
    header (127.0.0.1 is a trusted proxy) must be known as one either way:
    Forwarded, first sent once the cache is full, is worked out every time."""
    for batch in range(20):
        junk = [("X-Junk-%d-%d" % (batch, i), str(i)) for i in range(60)]
        forwarding = ("x-forwarded-for", "10.9.9.9") if batch < 18 else ("Forwarded", "for=10.8.8.8")
        extra = [("USER-AGENT", "upper"), ("x-LATE-Name", "late"), ("X_Under", "dropped"), forwarding]
        env = environ_of(srv, get("/environ", headers=junk + extra))
        for i in range(60):
            assert env["HTTP_X_JUNK_%d_%d" % (batch, i)] == str(i)
        assert env["HTTP_HOST"] == "test"
        assert env["HTTP_USER_AGENT"] == "upper"
        assert env["HTTP_X_LATE_NAME"] == "late"
        assert env["REMOTE_ADDR"] == ("10.9.9.9" if batch < 18 else "10.8.8.8")
        assert not [key for key in env if "UNDER" in key]


def test_remote_addr_and_port(srv):
    with srv.connect() as sock:
        sock.sendall(get("/environ"))
        env = json.loads(read_reply(sock).body)
        local_port = sock.getsockname()[1]
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert env["REMOTE_PORT"] == str(local_port)


# Digit counts 1 to 3 in every octet but the first (loopback is 127/8). Linux
# answers on all of 127/8; macOS on the aliases it was given (CI adds 127.0.0.2).
SOURCE_ADDRESSES = ["127.0.0.2"] + (["127.10.200.9", "127.255.99.100"] if LINUX else [])


@pytest.mark.parametrize("source", SOURCE_ADDRESSES)
def test_remote_addr_is_the_peers_address(srv, source):
    with socket.create_connection((srv.host, srv.port), timeout=10,
                                  source_address=(source, 0)) as sock:
        sock.sendall(get("/environ"))
        env = json.loads(read_reply(sock).body)
        local_port = sock.getsockname()[1]
    assert (env["REMOTE_ADDR"], env["REMOTE_PORT"]) == (source, str(local_port))


def test_server_name_port_and_wsgi_extras(srv):
    env = environ_of(srv, get("/environ"))
    assert env["SERVER_NAME"] == "127.0.0.1"
    assert env["SERVER_PORT"] == str(srv.port)
    assert env["wsgi.input_terminated"] is True
    assert env["wsgi.file_wrapper"] == "<type>"
    assert env["wsgi.multithread"] is False and env["wsgi.multiprocess"] is False
    assert env["wsgi.run_once"] is False


def test_http10_protocol(srv):
    env = environ_of(srv, b"GET /environ HTTP/1.0\r\n\r\n")
    assert env["SERVER_PROTOCOL"] == "HTTP/1.0"
    assert "HTTP_HOST" not in env


def test_absolute_form_target(srv):
    env = environ_of(srv, b"GET http://example.com/environ?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n")
    assert env["PATH_INFO"] == "/environ"
    assert env["QUERY_STRING"] == "q=1"
