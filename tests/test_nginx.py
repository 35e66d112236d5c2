"""fastwsgi behind a real nginx reverse proxy, over TCP and over a unix socket:
keep-alive upstream connections, large and chunked bodies both ways, and
nginx's X-Forwarded-For / X-Forwarded-Proto reaching the app."""
import hashlib
import http.client
import json
import os
import signal
import threading

import pytest

from deploy_apps import random_bytes
from processes import children, wait_for, wait_workers

BIG = 20 << 20            # 20 MiB


@pytest.fixture(params=["tcp", "unix"])
def proxied(request, server, nginx, tmp_path):
    """nginx in front of fastwsgi (deploy_apps:app), connected over TCP or a unix socket."""
    if request.param == "tcp":
        upstream = server("deploy_apps:app")
        return nginx("127.0.0.1:%d" % upstream.port)
    path = tmp_path / "upstream.sock"
    server("deploy_apps:app", "--bind", "127.0.0.1:0", "--bind", "unix:%s" % path)
    return nginx("unix:%s" % path)


def fetch(proxy, method, path, body=None, headers=None, source="127.0.0.1"):
    """One request to nginx on a new client connection: (response, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=60,
                                      source_address=(source, 0))
    try:
        conn.request(method, path, body=body, headers=headers or {})   # an iterable goes chunked
        response = conn.getresponse()
        return response, response.read()
    finally:
        conn.close()


def fetch_json(proxy, path, **kw):
    response, body = fetch(proxy, "GET", path, **kw)
    assert response.status == 200, (response.status, body[:200], proxy.error_log)
    return json.loads(body)


def test_upstream_connections_are_kept_alive(proxied):
    # Each reply lists the sockets the server holds: its listeners and the
    # connections it accepted. A new upstream connection per request would add
    # a new socket each time; keep-alive shows the very same set every time.
    seen = [tuple(fetch_json(proxied, "/sockets")) for _ in range(10)]
    assert len(set(seen)) == 1, seen
    again = fetch_json(proxied, "/streamed/sockets")     # the other location, same pool
    assert tuple(again) == seen[0]


def test_large_bodies_both_ways(proxied):
    upload = os.urandom(BIG)
    response, body = fetch(proxied, "POST", "/echo", body=upload)
    assert response.status == 200
    digest = hashlib.sha256(upload).hexdigest()
    assert response.getheader("X-Body-SHA256") == digest
    assert len(body) == BIG and hashlib.sha256(body).hexdigest() == digest


def test_large_chunked_response(proxied):
    # The app gives no Content-Length: fastwsgi sends it chunked to nginx,
    # which streams it on chunked.
    response, body = fetch(proxied, "GET", "/streamed/random?seed=5&size=%d" % BIG)
    assert response.status == 200
    assert response.getheader("Transfer-Encoding") == "chunked"
    assert body == random_bytes(5, BIG)


def pieces(data, sizes):
    offset, i = 0, 0
    while offset < len(data):
        size = sizes[i % len(sizes)]
        yield data[offset:offset + size]
        offset, i = offset + size, i + 1


def test_chunked_request_bodies(proxied):
    # /streamed/ does not buffer: a chunked body still arriving when nginx
    # turns to the upstream (one larger than nginx's buffer, for sure) goes
    # on chunked. (A body already complete goes with a Content-Length.)
    big = os.urandom(5 << 20)
    sizes = [65536, 1000, 7, 300000]
    env = fetch_json(proxied, "/streamed/environ", body=pieces(big, sizes))
    assert env["HTTP_TRANSFER_ENCODING"] == "chunked" and "CONTENT_LENGTH" not in env
    assert env["_body_len"] == len(big)
    reply = fetch_json(proxied, "/streamed/digest", body=pieces(big, sizes))
    assert (reply["sha256"], reply["length"]) == (hashlib.sha256(big).hexdigest(), len(big))


def test_forwarded_headers_from_nginx(proxied):
    # Our client connects from 127.0.0.2: nginx says so in X-Forwarded-For, and
    # the app sees it as REMOTE_ADDR although its peer is nginx.
    env = fetch_json(proxied, "/environ", source="127.0.0.2")
    assert env["HTTP_X_FORWARDED_FOR"] == "127.0.0.2"
    assert (env["REMOTE_ADDR"], env["REMOTE_PORT"], env["wsgi.url_scheme"]) == (
        "127.0.0.2", "", "http")
    # Behind a TLS-terminating balancer (at 127.0.0.1, trusted) that reports
    # the client and the scheme, nginx appends to the chain it was given.
    env = fetch_json(proxied, "/environ", headers={
        "X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"})
    assert env["HTTP_X_FORWARDED_FOR"] == "203.0.113.7, 127.0.0.1"
    assert (env["REMOTE_ADDR"], env["wsgi.url_scheme"]) == ("203.0.113.7", "https")


def load_through(proxy, keep_alive, method, outcomes, halt):
    """Requests through nginx until halt is set: "ok", or what went wrong."""
    conn = None
    while not halt.is_set():
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=60)
        try:
            conn.request(method, "/pid?sleep=0.005", body=b"x" if method == "POST" else None)
            response = conn.getresponse()
            body = response.read()
            outcomes.append("ok" if response.status == 200 and body.isdigit()
                            else "%d %r" % (response.status, body[:100]))
        except Exception as exc:  # noqa: BLE001 -- any failure is what the test counts
            outcomes.append(repr(exc))
            response = None
        if response is None or not keep_alive or response.will_close:
            conn.close()
            conn = None
    if conn is not None:
        conn.close()


@pytest.mark.parametrize("over", ["tcp", "unix"])
def test_graceful_reload_behind_nginx_fails_no_request(server, nginx, tmp_path, over):
    """SIGHUP to fastwsgi under load through nginx: new workers take over, the
    old ones finish what they have and close their idle upstream connections,
    and no client sees an error.  Half the requests are POSTs, which nginx
    never retries on another connection once sent: a request cut upstream
    would reach the client as a 502."""
    if over == "tcp":
        upstream = server("supervisor_app:app", "--workers", "2")
        proxy = nginx("127.0.0.1:%d" % upstream.port)
    else:
        path = tmp_path / "upstream.sock"
        upstream = server("supervisor_app:app", "--workers", "2",
                          "--bind", "127.0.0.1:0", "--bind", "unix:%s" % path)
        proxy = nginx("unix:%s" % path)
    old = wait_workers(upstream.pid, 2)
    outcomes = [[] for _ in range(4)]
    halt = threading.Event()
    kinds = ((True, "GET"), (True, "POST"), (False, "GET"), (False, "POST"))
    threads = [threading.Thread(target=load_through, args=(proxy, keep_alive, method, out, halt))
               for (keep_alive, method), out in zip(kinds, outcomes)]
    for thread in threads:
        thread.start()
    try:
        wait_for("load through nginx", lambda: sum(len(out) for out in outcomes) >= 100)
        upstream.proc.send_signal(signal.SIGHUP)
        wait_workers(upstream.pid, 2, other_than=old)
        served = sum(len(out) for out in outcomes)
        wait_for("load on the new workers",
                 lambda: sum(len(out) for out in outcomes) >= served + 100)
    finally:
        halt.set()
        for thread in threads:
            thread.join(60)
    failures = [o for out in outcomes for o in out if o != "ok"]
    errors = [line for line in proxy.error_log.splitlines() if "[error]" in line]
    assert failures == [], (failures[:5], errors)
    assert children(upstream.pid).isdisjoint(old)

