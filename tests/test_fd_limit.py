"""The server lifts its own limit on open files toward --max-connections, so a
shell's `ulimit -n 256` (macOS's default) does not cap it at 250 clients."""
import resource

from http_client import get, read_reply, request
from processes import wait_for
from fastwsgi.runner import FD_MARGIN, raise_fd_limit

# Where `python -m fastwsgi` would go: the same, after lowering the soft limit
# on open files to 256 (the hard limit stays 4096).
LIMITED = ("-c", "import resource, runpy; "
           "resource.setrlimit(resource.RLIMIT_NOFILE, (256, 4096)); "
           "runpy.run_module('fastwsgi', run_name='__main__', alter_sys=True)")


def test_a_low_soft_limit_does_not_cap_the_connections(server):
    # Idle connections are kept for two minutes: a server stuck near 256 open
    # files could answer the later clients only after closing earlier ones,
    # far past the clients' 20 s wait.
    srv = server("apps:app", "--max-connections", "1000", "--keepalive-timeout", "120",
                 launcher=LIMITED)
    clients = [srv.connect(timeout=20) for _ in range(600)]
    try:
        for sock in clients:
            sock.sendall(get("/status?body=ok"))
        for sock in clients:
            reply = read_reply(sock)
            assert (reply.status, reply.body) == (200, b"ok")
    finally:
        for sock in clients:
            sock.close()


def test_a_hard_limit_below_max_connections_is_reported_at_start(server):
    srv = server("apps:app", "--max-connections", "10000", launcher=LIMITED)
    warning = ("open files are limited to 4096 here, so at most about %d connections can be "
               "open at once, not --max-connections 10000" % (4096 - FD_MARGIN))
    wait_for("the warning", lambda: warning in srv.stderr_text())


def test_no_warning_when_the_limit_suffices(server):
    srv = server("apps:app", "--max-connections", "1000", launcher=LIMITED)
    assert request(srv, get("/status?body=ok")).status == 200    # the server is made by now
    assert "open files are limited" not in srv.stderr_text()


def test_a_refused_raise_settles_for_less(monkeypatch):
    # macOS reports no hard limit, yet refuses a soft limit above its
    # per-process maximum; the server must still get off the default.
    calls = []

    def setrlimit(which, limits):
        calls.append(limits[0])
        if limits[0] > 10240:
            raise ValueError("not allowed to raise maximum limit")

    monkeypatch.setattr(resource, "getrlimit", lambda which: (256, resource.RLIM_INFINITY))
    monkeypatch.setattr(resource, "setrlimit", setrlimit)
    granted = raise_fd_limit(40000)
    assert calls[0] == 40000                    # what was wanted, first
    assert 5000 <= calls[-1] <= 10240           # then the most the system grants
    assert granted == calls[-1]


def test_a_limit_already_high_enough_is_left_alone(monkeypatch):
    calls = []
    monkeypatch.setattr(resource, "getrlimit", lambda which: (8192, 8192))
    monkeypatch.setattr(resource, "setrlimit", lambda which, limits: calls.append(limits))
    assert raise_fd_limit(1064) == 8192
    assert calls == []
