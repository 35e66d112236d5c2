"""A real Falcon app (tests/falcon_app.py) served by fastwsgi, driven by requests."""
import hashlib
import os

import pytest
import requests

TIMEOUT = 20.0
HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture
def falcon_srv(server):
    return server("falcon_app:app")


def test_json_post_get_and_query_params(falcon_srv):
    created = []
    for name, tags in (("alpha", ["a", "b"]), ("beta ✓", ["b"]), ("gamma", ["a", "b", "c"])):
        r = requests.post(falcon_srv.url + "/items", json={"name": name, "tags": tags}, timeout=TIMEOUT)
        assert r.status_code == 201
        assert r.headers["Content-Type"].startswith("application/json")
        assert r.headers["Location"].endswith("/items/%d" % r.json()["id"])
        created.append(r.json())
    assert [c["name"] for c in created] == ["alpha", "beta ✓", "gamma"]

    r = requests.get(falcon_srv.url + "/items/2", timeout=TIMEOUT)
    assert r.json() == {"id": 2, "name": "beta ✓", "tags": ["b"]}

    r = requests.get(falcon_srv.url + "/items", params=[("tag", "a"), ("tag", "b")], timeout=TIMEOUT)
    assert [i["name"] for i in r.json()["items"]] == ["alpha", "gamma"]
    r = requests.get(falcon_srv.url + "/items?tag=b&limit=1", timeout=TIMEOUT)
    assert r.json()["total"] == 3 and [i["id"] for i in r.json()["items"]] == [1]

    r = requests.get(falcon_srv.url + "/items?limit=0", timeout=TIMEOUT)      # min_value=1
    assert r.status_code == 400
    assert "limit" in r.json()["description"]


def test_bad_requests_are_answered_by_falcon(falcon_srv):
    r = requests.post(falcon_srv.url + "/items", data=b'{"name": ', timeout=TIMEOUT,
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    r = requests.post(falcon_srv.url + "/items", json={"tags": []}, timeout=TIMEOUT)
    assert r.status_code == 400
    assert r.json() == {"title": "name missing", "description": "the item needs a string 'name'"}


def test_404_and_405(falcon_srv):
    r = requests.get(falcon_srv.url + "/items/42", timeout=TIMEOUT)
    assert r.status_code == 404
    assert r.json()["description"] == "no item 42"
    r = requests.get(falcon_srv.url + "/items/not-a-number", timeout=TIMEOUT)
    assert r.status_code == 404                            # the int converter does not match
    r = requests.get(falcon_srv.url + "/nowhere", timeout=TIMEOUT)
    assert r.status_code == 404

    r = requests.delete(falcon_srv.url + "/items/1", timeout=TIMEOUT)
    assert r.status_code == 405
    assert sorted(m.strip() for m in r.headers["Allow"].split(",")) == ["GET", "OPTIONS"]
    r = requests.put(falcon_srv.url + "/items", data=b"x" * 5000, timeout=TIMEOUT)
    assert r.status_code == 405
    assert "POST" in r.headers["Allow"]


def test_streamed_response(falcon_srv):
    r = requests.get(falcon_srv.url + "/stream?n=1000", stream=True, timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.headers.get("Transfer-Encoding") == "chunked"
    assert "Content-Length" not in r.headers
    assert r.raw.read() == b"".join(b"chunk %d\n" % i for i in range(1000))


def test_file_response_with_length(falcon_srv):
    with open(os.path.join(HERE, "falcon_app.py"), "rb") as f:
        source = f.read()
    r = requests.get(falcon_srv.url + "/source", timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.headers["Content-Length"] == str(len(source))
    assert r.content == source
    r = requests.head(falcon_srv.url + "/source", timeout=TIMEOUT)
    assert (r.status_code, r.content, r.headers["Content-Length"]) == (200, b"", str(len(source)))


def test_multipart_media_upload(falcon_srv):
    big = os.urandom(2 * 1024 * 1024 + 3)               # spooled to a file by the server
    r = requests.post(falcon_srv.url + "/upload", timeout=TIMEOUT,
                      data={"title": "two parts"},
                      files={"blob": ("blob.bin", big, "application/octet-stream")})
    assert r.status_code == 200, r.text
    assert r.json()["parts"] == [
        {"name": "title", "filename": None, "content_type": "text/plain", "size": 9,
         "sha256": hashlib.sha256(b"two parts").hexdigest()},
        {"name": "blob", "filename": "blob.bin", "content_type": "application/octet-stream",
         "size": len(big), "sha256": hashlib.sha256(big).hexdigest()},
    ]
