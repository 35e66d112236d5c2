"""A real Flask app (tests/flask_app.py) served by fastwsgi, driven by requests."""
import hashlib
import os

import pytest
import requests

TIMEOUT = 20.0
HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture
def flask_srv(server):
    return server("flask_app:app")


def test_index_and_url_converters(flask_srv):
    r = requests.get(flask_srv.url + "/", timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.text == "Flask on fastwsgi"
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert r.headers["Content-Length"] == str(len(r.content))

    r = requests.get(flask_srv.url + "/users/42/posts/hello-world", timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.json() == {"user_id": 42, "slug": "hello-world", "id_type": "int"}

    # PATH_INFO is latin-1 of the decoded bytes (PEP 3333); Flask turns it into UTF-8 text.
    r = requests.get(flask_srv.url + "/users/7/posts/caf%C3%A9%20cr%C3%A8me", timeout=TIMEOUT)
    assert r.json() == {"user_id": 7, "slug": "café crème", "id_type": "int"}

    r = requests.get(flask_srv.url + "/users/abc/posts/x", timeout=TIMEOUT)   # int converter fails
    assert r.status_code == 404


def test_query_args(flask_srv):
    r = requests.get(flask_srv.url + "/search", timeout=TIMEOUT,
                     params=[("q", "hello world & more"), ("tag", "a"), ("tag", "b/c"), ("page", "3")])
    assert r.status_code == 200
    body = r.json()
    assert body["q"] == "hello world & more"
    assert body["tags"] == ["a", "b/c"]
    assert body["page"] == 3
    assert body["raw_query"] == "q=hello+world+%26+more&tag=a&tag=b%2Fc&page=3"   # QUERY_STRING stays raw

    r = requests.get(flask_srv.url + "/search?q=%E2%82%AC10&page=notanint", timeout=TIMEOUT)
    assert r.json()["q"] == "€10"
    assert r.json()["page"] == 1                                   # type=int falls back to default
    assert r.json()["tags"] == []


def test_json_request_and_response(flask_srv):
    payload = {"name": "widget ✓", "values": [1, 2, 3.5], "tags": ["z", "a"], "nested": {"ok": True}}
    r = requests.post(flask_srv.url + "/api/items", json=payload, timeout=TIMEOUT)
    assert r.status_code == 201
    assert r.headers["Content-Type"] == "application/json"
    assert r.json() == {"item": {"name": "widget ✓", "total": 6.5, "tags": ["a", "z"]}, "echo": payload}


def test_bad_json_is_a_client_error(flask_srv):
    r = requests.post(flask_srv.url + "/api/items", data=b'{"name": "x", "values": [1,',
                      headers={"Content-Type": "application/json"}, timeout=TIMEOUT)
    assert r.status_code == 400
    r = requests.post(flask_srv.url + "/api/items", data=b'{"name": "x", "values": []}',
                      headers={"Content-Type": "text/plain"}, timeout=TIMEOUT)
    assert r.status_code == 415


def test_chunked_request_bodies(flask_srv):
    """No Content-Length: Flask reads the body because the server says the
    input is terminated (wsgi.input_terminated)."""
    pieces = [b'{"name": "chunked", ', b'"values": [10, 20', b', 30]}']
    r = requests.post(flask_srv.url + "/api/items", data=iter(pieces),
                      headers={"Content-Type": "application/json"}, timeout=TIMEOUT)
    assert r.request.headers["Transfer-Encoding"] == "chunked"
    assert r.status_code == 201
    assert r.json()["item"] == {"name": "chunked", "total": 60, "tags": []}

    blob = os.urandom(3 * 1024 * 1024 + 5)
    r = requests.put(flask_srv.url + "/api/raw", timeout=TIMEOUT,
                     data=(blob[i:i + 100000] for i in range(0, len(blob), 100000)))
    assert r.status_code == 200
    assert r.json() == {"size": len(blob), "sha256": hashlib.sha256(blob).hexdigest(),
                        "content_length": None}


def test_large_json_response(flask_srv):
    r = requests.get(flask_srv.url + "/api/big?n=20000", timeout=TIMEOUT)
    assert r.status_code == 200
    items = r.json()["items"]
    assert len(items) == 20000
    assert items[-1] == {"i": 19999, "square": 19999 ** 2, "label": "item-19999"}
    assert int(r.headers["Content-Length"]) == len(r.content) > 500000


def test_form_post(flask_srv):
    r = requests.post(flask_srv.url + "/form", timeout=TIMEOUT,
                      data=[("name", "Zoë O'Brien"), ("choice", "x"), ("choice", "y & z"), ("empty", "")])
    assert r.status_code == 200
    assert r.json() == {"form": {"name": ["Zoë O'Brien"], "choice": ["x", "y & z"], "empty": [""]},
                        "content_type": "application/x-www-form-urlencoded"}


def test_multipart_file_upload(flask_srv):
    big = os.urandom(1 << 20) + b"the end"            # over the 1 MiB spool threshold
    small = b"hello, small file\n"
    r = requests.post(flask_srv.url + "/upload", timeout=TIMEOUT,
                      data={"title": "two files"},
                      files=[("big", ("big.bin", big, "application/octet-stream")),
                             ("note", ("note.txt", small, "text/plain"))])
    assert r.status_code == 200
    body = r.json()
    assert body["form"] == {"title": "two files"}
    assert body["content_length"] == len(r.request.body)
    assert body["files"] == [
        {"field": "big", "filename": "big.bin", "mimetype": "application/octet-stream",
         "size": len(big), "sha256": hashlib.sha256(big).hexdigest()},
        {"field": "note", "filename": "note.txt", "mimetype": "text/plain",
         "size": len(small), "sha256": hashlib.sha256(small).hexdigest()},
    ]


def test_small_upload_only(flask_srv):
    r = requests.post(flask_srv.url + "/upload", timeout=TIMEOUT,
                      files={"note": ("empty.txt", b"", "text/plain")})
    assert r.status_code == 200
    assert r.json()["files"] == [{"field": "note", "filename": "empty.txt", "mimetype": "text/plain",
                                  "size": 0, "sha256": hashlib.sha256(b"").hexdigest()}]


def test_streaming_response_reaches_the_client_while_it_runs(flask_srv, tmp_path):
    """The generator waits for the client's acknowledgement of each line before
    producing the next, so the response completes only if every line left the
    server as soon as it was produced."""
    n = 4
    with requests.Session() as s:
        r = s.get(flask_srv.url + "/stream", params={"n": n, "ack": str(tmp_path), "label": "live"},
                  stream=True, timeout=TIMEOUT)
        assert r.status_code == 200
        assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert r.headers.get("Transfer-Encoding") == "chunked"
        assert "Content-Length" not in r.headers
        lines, pending = [], b""
        for piece in r.iter_content(chunk_size=None):
            pending += piece
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                lines.append(line.decode())
                acked = len(lines) - 1                # "start" acks line 0, "line i" acks i + 1
                if acked < n:
                    (tmp_path / ("ack%d" % acked)).touch()
        assert pending == b""
    assert lines == ["start live"] + ["line %d" % i for i in range(n)] + ["end"]


def test_streaming_response_whole_and_head(flask_srv):
    r = requests.get(flask_srv.url + "/stream?n=50&label=all", timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.text == "start all\n" + "".join("line %d\n" % i for i in range(50)) + "end\n"
    r = requests.head(flask_srv.url + "/stream?n=50", timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_redirects(flask_srv):
    r = requests.get(flask_srv.url + "/old-home", allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 302
    assert r.headers["Location"] in ("/", flask_srv.url + "/")

    r = requests.get(flask_srv.url + "/old-home", timeout=TIMEOUT)
    assert [h.status_code for h in r.history] == [302]
    assert (r.status_code, r.url, r.text) == (200, flask_srv.url + "/", "Flask on fastwsgi")

    r = requests.get(flask_srv.url + "/legacy/post/5", timeout=TIMEOUT)
    assert [h.status_code for h in r.history] == [301]
    assert r.json() == {"user_id": 5, "slug": "moved", "id_type": "int"}

    r = requests.post(flask_srv.url + "/after-post", data={"q": "see other"}, timeout=TIMEOUT)
    assert [h.status_code for h in r.history] == [303]
    assert r.request.method == "GET"
    assert r.json()["q"] == "see other"


def test_not_found_handler(flask_srv):
    r = requests.get(flask_srv.url + "/no/such/page", timeout=TIMEOUT)
    assert r.status_code == 404
    assert r.headers["Content-Type"] == "application/json"
    assert r.json() == {"error": "not found", "path": "/no/such/page"}
    r = requests.post(flask_srv.url + "/nowhere", data=b"x" * 1000, timeout=TIMEOUT)
    assert r.status_code == 404


def test_cookies_round_trip_in_a_session(flask_srv):
    with requests.Session() as s:
        r = s.get(flask_srv.url + "/cookie/set?flavour=chocolate", timeout=TIMEOUT)
        assert r.status_code == 200
        assert s.cookies.get("flavour") == "chocolate"
        assert len(r.raw.headers.getlist("Set-Cookie")) == 2       # two separate header lines
        r = s.get(flask_srv.url + "/cookie/read", timeout=TIMEOUT)
        assert r.json() == {"cookies": {"flavour": "chocolate", "visits": "1"}}
    r = requests.get(flask_srv.url + "/cookie/read", timeout=TIMEOUT)
    assert r.json() == {"cookies": {}}


def test_signed_session_login(flask_srv):
    with requests.Session() as s:
        r = s.post(flask_srv.url + "/login", data={"user": "alice"}, timeout=TIMEOUT)
        assert [h.status_code for h in r.history] == [302]
        assert r.json() == {"user": "alice"}
        assert s.get(flask_srv.url + "/whoami", timeout=TIMEOUT).json() == {"user": "alice"}
        # Two cookies at once (the session and another) arrive joined correctly.
        s.get(flask_srv.url + "/cookie/set?flavour=mint", timeout=TIMEOUT)
        assert s.get(flask_srv.url + "/whoami", timeout=TIMEOUT).json() == {"user": "alice"}
        s.get(flask_srv.url + "/logout", timeout=TIMEOUT)
        assert s.get(flask_srv.url + "/whoami", timeout=TIMEOUT).json() == {"user": None}
    assert requests.get(flask_srv.url + "/whoami", timeout=TIMEOUT).json() == {"user": None}


def test_head_requests(flask_srv):
    for path in ("/", "/api/big?n=100", "/users/1/posts/x"):
        get = requests.get(flask_srv.url + path, timeout=TIMEOUT)
        head = requests.head(flask_srv.url + path, timeout=TIMEOUT)
        assert head.status_code == get.status_code == 200
        assert head.content == b""
        assert head.headers["Content-Length"] == get.headers["Content-Length"] == str(len(get.content))
        assert head.headers["Content-Type"] == get.headers["Content-Type"]


def test_send_file_whole_range_and_head(flask_srv):
    with open(os.path.join(HERE, "flask_app.py"), "rb") as f:
        source = f.read()
    r = requests.get(flask_srv.url + "/source", timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.content == source
    assert r.headers["Content-Length"] == str(len(source))

    r = requests.get(flask_srv.url + "/source", headers={"Range": "bytes=10-109"}, timeout=TIMEOUT)
    assert r.status_code == 206
    assert r.content == source[10:110]
    assert r.headers["Content-Range"] == "bytes 10-109/%d" % len(source)

    r = requests.head(flask_srv.url + "/source", timeout=TIMEOUT)
    assert (r.status_code, r.content, r.headers["Content-Length"]) == (200, b"", str(len(source)))

    r = requests.get(flask_srv.url + "/generated.bin", timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.content == bytes(range(256)) * 4096


def test_many_keep_alive_requests_on_one_session(flask_srv):
    ports = set()
    with requests.Session() as s:
        for i in range(200):
            if i % 2:
                r = s.post(flask_srv.url + "/api/items", timeout=TIMEOUT,
                           json={"name": "n%d" % i, "values": [i, 1]})
                assert r.status_code == 201
                assert r.json()["item"] == {"name": "n%d" % i, "total": i + 1, "tags": []}
            else:
                r = s.get(flask_srv.url + "/whereami", params={"n": i}, timeout=TIMEOUT)
                assert r.status_code == 200
                body = r.json()
                assert body["n"] == i
                ports.add(body["remote_port"])
    assert len(ports) == 1, "the session's connection was not kept alive: %s" % sorted(ports)
