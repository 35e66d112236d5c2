"""A small Django project (tests/django_project/) served by fastwsgi as
`python -m fastwsgi django_project.wsgi:application`, driven over HTTP with
requests: the ORM on a temporary SQLite file, a form behind CSRF protection,
file uploads, the admin login, a streamed response."""
import hashlib
import os
import re
import subprocess
import sys

import pytest
import requests

from conftest import TESTS

TIMEOUT = 20.0
ADMIN_PASSWORD = "fastwsgi-admin-pw-1"


@pytest.fixture
def django_srv(server, tmp_path):
    """Migrations applied to a new SQLite file, a superuser 'admin', then the server."""
    env = {"DJANGO_TEST_DB": str(tmp_path / "db.sqlite3"),
           "DJANGO_SETTINGS_MODULE": "django_project.settings",
           "DJANGO_SUPERUSER_PASSWORD": ADMIN_PASSWORD}
    manage = [sys.executable, "-m", "django"]
    for command in (["migrate", "--run-syncdb", "--noinput"],
                    ["createsuperuser", "--noinput", "--username", "admin",
                     "--email", "admin@example.com"]):
        done = subprocess.run(manage + command, cwd=TESTS, env={**os.environ, **env},
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
    return server("django_project.wsgi:application", env=env)


def csrf_token(html):
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def test_orm_reads_and_404(django_srv):
    r = requests.get(django_srv.url + "/notes/", timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    assert r.json() == {"notes": []}
    r = requests.get(django_srv.url + "/notes/999/", timeout=TIMEOUT)
    assert r.status_code == 404
    r = requests.get(django_srv.url + "/notes", timeout=TIMEOUT, allow_redirects=False)
    assert r.status_code == 301                            # APPEND_SLASH
    assert r.headers["Location"] == "/notes/"


def test_form_with_csrf_writes_through_the_orm(django_srv):
    with requests.Session() as s:
        form = s.get(django_srv.url + "/notes/new/", timeout=TIMEOUT)
        assert form.status_code == 200
        assert "csrftoken" in s.cookies
        token = csrf_token(form.text)
        r = s.post(django_srv.url + "/notes/new/", allow_redirects=False, timeout=TIMEOUT,
                   data={"csrfmiddlewaretoken": token, "title": "Café ☕", "body": "first\nnote"})
        assert r.status_code == 302
        location = r.headers["Location"]
        assert re.fullmatch(r"/notes/\d+/", location)
        note = s.get(django_srv.url + location, timeout=TIMEOUT).json()
        assert (note["title"], note["body"]) == ("Café ☕", "first\nnote")

        # The form's own validation: a missing title re-renders it with 400.
        r = s.post(django_srv.url + "/notes/new/", timeout=TIMEOUT,
                   data={"csrfmiddlewaretoken": token, "body": "no title"})
        assert r.status_code == 400
        assert "This field is required." in r.text

        # Wrong token with the right cookie: refused.
        r = s.post(django_srv.url + "/notes/new/", timeout=TIMEOUT,
                   data={"csrfmiddlewaretoken": "x" * 64, "title": "forged"})
        assert r.status_code == 403

    # No cookie and no token: refused, nothing written.
    r = requests.post(django_srv.url + "/notes/new/", data={"title": "forged"}, timeout=TIMEOUT)
    assert r.status_code == 403
    r = requests.get(django_srv.url + "/notes/", params={"q": "café"}, timeout=TIMEOUT)
    assert [n["title"] for n in r.json()["notes"]] == ["Café ☕"]
    assert requests.get(django_srv.url + "/notes/", params={"q": "forged"},
                        timeout=TIMEOUT).json() == {"notes": []}


@pytest.mark.parametrize("size, on_disk", [(3 * 1024 * 1024 + 7, True), (1000, False)],
                         ids=["temporary-file", "in-memory"])
def test_file_upload(django_srv, size, on_disk):
    data = os.urandom(size)
    with requests.Session() as s:
        token = csrf_token(s.get(django_srv.url + "/upload/", timeout=TIMEOUT).text)
        r = s.post(django_srv.url + "/upload/", timeout=TIMEOUT,
                   data={"csrfmiddlewaretoken": token},
                   files={"document": ("report.bin", data, "application/octet-stream")})
    assert r.status_code == 200, r.text[:500]
    body = r.json()
    assert body["name"] == "report.bin"
    assert body["size"] == size
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["on_disk"] is on_disk              # Django's own upload handlers chose


def test_admin_login(django_srv):
    with requests.Session() as s:
        r = s.get(django_srv.url + "/admin/", allow_redirects=False, timeout=TIMEOUT)
        assert r.status_code == 302
        assert r.headers["Location"] == "/admin/login/?next=/admin/"

        login = s.get(django_srv.url + "/admin/login/", timeout=TIMEOUT)
        assert login.status_code == 200
        assert 'name="username"' in login.text and 'name="password"' in login.text
        token = csrf_token(login.text)

        r = s.post(django_srv.url + "/admin/login/?next=/admin/", timeout=TIMEOUT,
                   data={"csrfmiddlewaretoken": token, "username": "admin",
                         "password": "wrong", "next": "/admin/"})
        assert r.status_code == 200
        assert "Please enter the correct username and password" in r.text

        r = s.post(django_srv.url + "/admin/login/?next=/admin/", allow_redirects=False,
                   timeout=TIMEOUT,
                   data={"csrfmiddlewaretoken": csrf_token(r.text), "username": "admin",
                         "password": ADMIN_PASSWORD, "next": "/admin/"})
        assert r.status_code == 302
        assert r.headers["Location"] == "/admin/"
        assert "sessionid" in s.cookies

        home = s.get(django_srv.url + "/admin/", timeout=TIMEOUT)
        assert home.status_code == 200
        assert "Site administration" in home.text
        notes = s.get(django_srv.url + "/admin/notes/note/", timeout=TIMEOUT)
        assert notes.status_code == 200
        assert "0 notes" in notes.text


def test_streaming_response(django_srv):
    r = requests.get(django_srv.url + "/stream/", params={"n": 500}, timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.headers.get("Transfer-Encoding") == "chunked"
    assert r.text == "".join("line %d\n" % i for i in range(500))
