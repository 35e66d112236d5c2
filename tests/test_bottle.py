"""A real Bottle app (tests/bottle_app.py) served by fastwsgi, driven by requests."""
import os

import pytest
import requests

from http_client import get, request

TIMEOUT = 20.0
HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture
def bottle_srv(server):
    return server("bottle_app:app")


def test_routes_and_simple_template(bottle_srv):
    r = requests.get(bottle_srv.url + "/hello/W%C3%B6rld", params=[("item", "a<b"), ("item", "c")],
                     timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/html; charset=UTF-8"
    assert r.text == ("<h1>Hello Wörld!</h1>\n<ul>\n"
                      '  <li class="even">a&lt;b</li>\n'         # {{}} escapes, {{!}} does not
                      '  <li class="odd">c</li>\n'
                      "</ul>\n<b>trusted</b>")

    r = requests.get(bottle_srv.url + "/items/17", timeout=TIMEOUT)
    assert r.json() == {"id": 17, "type": "int"}
    r = requests.get(bottle_srv.url + "/items/x17", timeout=TIMEOUT)
    assert r.status_code == 404
    assert r.text == "nothing at /items/x17"


def test_json_form_and_upload_bodies(bottle_srv):
    r = requests.post(bottle_srv.url + "/echo", json={"a": [1, 2], "ü": None}, timeout=TIMEOUT)
    assert r.json() == {"json": {"a": [1, 2], "ü": None}}
    blob = os.urandom(1500000)                            # over MEMFILE_MAX: Bottle spools it
    r = requests.post(bottle_srv.url + "/echo", timeout=TIMEOUT,
                      data=[("k", "1"), ("k", "2")], files={"f": ("f.bin", blob)})
    assert r.json() == {"form": {"k": ["1", "2"]}, "upload": [["f.bin", len(blob)]]}


def test_plain_and_signed_cookies(bottle_srv):
    with requests.Session() as s:
        r = s.get(bottle_srv.url + "/cookies/set?value=choc", timeout=TIMEOUT)
        assert len(r.raw.headers.getlist("Set-Cookie")) == 2
        assert s.get(bottle_srv.url + "/cookies/get", timeout=TIMEOUT).json() == {
            "plain": "choc", "signed": {"user": "alice"}}
        signed = s.cookies["signed"]
    forged = signed.replace("?", "?A", 1)                 # the payload no longer matches its signature
    for value, expected in ((signed, {"user": "alice"}), (forged, None)):
        r = requests.get(bottle_srv.url + "/cookies/get", headers={"Cookie": "signed=" + value},
                         timeout=TIMEOUT)
        assert r.json() == {"plain": None, "signed": expected}


def test_static_file_whole_range_head_and_conditional(bottle_srv):
    with open(os.path.join(HERE, "bottle_app.py"), "rb") as f:
        source = f.read()
    url = bottle_srv.url + "/files/bottle_app.py"
    r = requests.get(url, timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.headers["Content-Length"] == str(len(source))
    assert r.headers["Accept-Ranges"] == "bytes"
    assert r.content == source

    r = requests.get(url, headers={"Range": "bytes=100-199"}, timeout=TIMEOUT)
    assert r.status_code == 206
    assert r.headers["Content-Range"] == "bytes 100-199/%d" % len(source)
    assert r.content == source[100:200]
    r = requests.get(url, headers={"Range": "bytes=-50"}, timeout=TIMEOUT)
    assert (r.status_code, r.content) == (206, source[-50:])

    r = requests.head(url, timeout=TIMEOUT)
    assert (r.status_code, r.content, r.headers["Content-Length"]) == (200, b"", str(len(source)))

    etag = requests.get(url, timeout=TIMEOUT).headers["ETag"]
    r = requests.get(url, headers={"If-None-Match": etag}, timeout=TIMEOUT)
    assert (r.status_code, r.content) == (304, b"")

    # Raw bytes: requests would drop the ".." before sending.
    assert request(bottle_srv, get("/files/../setup.py")).status == 403
    assert request(bottle_srv, get("/files/%2e%2e/setup.py")).status == 403
    assert requests.get(bottle_srv.url + "/files/missing.txt", timeout=TIMEOUT).status_code == 404


def test_streamed_generator(bottle_srv):
    r = requests.get(bottle_srv.url + "/stream?n=300", timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.headers.get("Transfer-Encoding") == "chunked"
    assert r.text == "start\n" + "".join("line %d\n" % i for i in range(300)) + "end\n"


def test_redirect_abort_and_custom_status(bottle_srv):
    r = requests.get(bottle_srv.url + "/old", allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code in (302, 303)
    assert r.headers["Location"] == bottle_srv.url + "/hello/redirected"
    assert requests.get(bottle_srv.url + "/old", timeout=TIMEOUT).text.startswith("<h1>Hello redirected!")
    r = requests.get(bottle_srv.url + "/forbidden", timeout=TIMEOUT)
    assert r.status_code == 403
    assert "not for you" in r.text
    r = requests.get(bottle_srv.url + "/teapot", timeout=TIMEOUT)
    assert (r.status_code, r.reason, r.text, r.headers["X-Pot"]) == (
        418, "I'm a teapot", "short and stout", "yes")
