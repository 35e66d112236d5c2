"""fastwsgi.gunicorn.Worker under a real gunicorn arbiter, driven with gunicorn's
own signals: requests reach every worker, HUP replaces the workers without a
failed request, TTIN/TTOU change their number, TERM lets a request in flight
finish, max_requests recycles workers, a killed worker is replaced, the
heartbeat keeps a busy worker alive, and gunicorn's settings reach the core."""
import http.client
import os
import signal
import socket
import sys
import threading
import time

import pytest

from conftest import ServerProcess, stop_all
from nginx import free_port
from processes import REUSE_PORT_SPREADS, children, wait_for, wait_workers

TIMEOUT = 20.0


@pytest.fixture
def gunicorn(tmp_path):
    """Start gunicorn with the fastwsgi worker on a free port:
    gunicorn("-w", "2"); stopped with SIGTERM at teardown, which must succeed."""
    started = []

    def start(*args, app="gunicorn_app:app", env=None, port=0):
        argv = [sys.executable, "-m", "gunicorn", "-k", "fastwsgi.gunicorn.Worker",
                "-b", "127.0.0.1:%d" % port, *args, app]
        # gunicorn >= 25 opens a control socket in $XDG_RUNTIME_DIR: one per test.
        proc = ServerProcess(argv, env={"XDG_RUNTIME_DIR": str(tmp_path), **(env or {})})
        started.append(proc)
        if port == 0:
            return proc.wait_listening(r"Listening at: http://127\.0\.0\.1:(\d+)")
        proc.port = port           # its log may be elsewhere, the workers may bind it (--reuse-port)
        wait_for("a worker listening on port %d" % port, lambda: connects(proc))
        return proc

    yield start
    stop_all(started, "gunicorn")


def connects(proc):
    try:
        socket.create_connection((proc.host, proc.port), timeout=TIMEOUT).close()
        return True
    except ConnectionRefusedError:
        assert proc.proc.poll() is None, proc.stderr_text()
        return False


def get(server, path="/pid", timeout=TIMEOUT, body=None):
    """One request on a new connection: (status, pid of the worker, body text)."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=timeout)
    try:
        conn.request("POST" if body is not None else "GET", path, body=body)
        resp = conn.getresponse()
        text = resp.read().decode()
    finally:
        conn.close()
    pid = int(text.split()[0].split("=")[1]) if text.startswith("pid=") else None
    return resp.status, pid, text


class SteadyClient(threading.Thread):
    """Requests one after another, each on a new connection, until stopped;
    records the pid behind every answer and every failure."""

    def __init__(self, server):
        super().__init__(daemon=True)
        self.server = server
        self.pids, self.failures = [], []
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            try:
                status, pid, text = get(self.server)
                if status != 200:
                    self.failures.append((status, text))
                self.pids.append(pid)
            except OSError as exc:
                self.failures.append(repr(exc))

    def served(self, n):
        wait_for("%d answers" % n, lambda: len(self.pids) >= n)

    def stop(self):
        self.halt.set()
        self.join(TIMEOUT)


def test_both_workers_serve(gunicorn):
    arbiter = gunicorn("-w", "2")
    pids = wait_workers(arbiter.pid, 2)
    seen = set()

    def both_answered():
        seen.add(get(arbiter)[1])
        return seen == pids
    wait_for("answers from both workers %s" % sorted(pids), both_answered)
    assert "Using worker: fastwsgi.gunicorn.Worker" in arbiter.stderr_text()


@pytest.mark.parametrize("option", ["--preload", "--reuse-port"])
def test_preloaded_app_and_a_socket_per_worker(gunicorn, option):
    arbiter = gunicorn("-w", "2", option, port=free_port())
    pids = wait_workers(arbiter.pid, 2)
    seen = set()
    if option == "--reuse-port" and not REUSE_PORT_SPREADS:
        # Each worker binds its own socket; one of them takes every connection.
        wait_for("an answer from a worker", lambda: seen.add(get(arbiter)[1]) or seen)
        assert seen <= pids
        return
    wait_for("answers from both workers %s" % sorted(pids),
             lambda: seen.add(get(arbiter)[1]) or seen == pids)


def test_hup_replaces_the_workers_without_a_failed_request(gunicorn):
    arbiter = gunicorn("-w", "2")
    old = wait_workers(arbiter.pid, 2)
    client = SteadyClient(arbiter)
    client.start()
    try:
        client.served(20)
        arbiter.proc.send_signal(signal.SIGHUP)
        new = wait_workers(arbiter.pid, 2, other_than=old)
        before = len(client.pids)
        client.served(before + 20)
    finally:
        client.stop()
    assert client.failures == []
    assert set(client.pids[-10:]) <= new         # the last answers come from the new workers
    assert "Hang up" in arbiter.stderr_text()


def test_ttin_and_ttou_change_the_number_of_workers(gunicorn):
    arbiter = gunicorn("-w", "2")
    first = wait_workers(arbiter.pid, 2)
    arbiter.proc.send_signal(signal.SIGTTIN)
    three = wait_workers(arbiter.pid, 3)
    assert first < three
    arbiter.proc.send_signal(signal.SIGTTOU)
    two = wait_workers(arbiter.pid, 2)
    assert two < three
    assert get(arbiter)[0] == 200


def test_term_lets_a_request_in_flight_finish(gunicorn, tmp_path):
    arbiter = gunicorn("-w", "2", "--graceful-timeout", "20")
    wait_workers(arbiter.pid, 2)
    mark = tmp_path / "in-app"
    answer = {}

    def slow():
        answer["reply"] = get(arbiter, "/slow?seconds=2&mark=%s" % mark)
    thread = threading.Thread(target=slow)
    thread.start()
    wait_for("the slow request to reach the app", mark.exists)
    arbiter.proc.send_signal(signal.SIGTERM)
    thread.join(TIMEOUT)
    status, pid, _ = answer["reply"]
    assert status == 200 and pid
    assert arbiter.proc.wait(TIMEOUT) == 0
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((arbiter.host, arbiter.port), timeout=TIMEOUT)


def test_max_requests_recycles_workers(gunicorn):
    arbiter = gunicorn("-w", "1", "--max-requests", "5")
    answers = [get(arbiter) for _ in range(17)]
    assert all(status == 200 for status, _, _ in answers)
    pids = [pid for _, pid, _ in answers]
    runs = [pids[i:i + 5] for i in range(0, len(pids), 5)]
    assert all(len(set(run)) == 1 for run in runs), pids      # five answers per worker...
    assert len(set(pids)) == len(runs) == 4, pids             # ...then a new one
    assert arbiter.stderr_text().count("Autorestarting worker after current request.") >= 3


def test_max_requests_jitter_is_gunicorns(gunicorn):
    arbiter = gunicorn("-w", "1", "--max-requests", "3", "--max-requests-jitter", "4")
    pids = [get(arbiter)[1] for _ in range(60)]
    lengths, run = [], 1
    for previous, pid in zip(pids, pids[1:]):
        if pid == previous:
            run += 1
        else:
            lengths.append(run)
            run = 1
    assert lengths and all(3 <= n <= 7 for n in lengths), pids
    assert len(set(lengths)) > 1, lengths      # the jitter is applied, not just the 3


def test_a_killed_worker_is_replaced(gunicorn):
    arbiter = gunicorn("-w", "2")
    pids = wait_workers(arbiter.pid, 2)
    victim = min(pids)
    os.kill(victim, signal.SIGKILL)
    now = wait_workers(arbiter.pid, 2, other_than={victim})
    assert pids - {victim} <= now
    answered = set()
    wait_for("answers from both workers %s" % sorted(now),
             lambda: answered.add(get(arbiter)[1]) or answered == now)


def test_a_busy_worker_keeps_its_heartbeat(gunicorn):
    """An upload that keeps the loop busy for several --timeout periods: the
    worker notifies the arbiter between slices and is not killed."""
    arbiter = gunicorn("-w", "1", "--timeout", "2")
    (pid,) = wait_workers(arbiter.pid, 1)
    with socket.create_connection((arbiter.host, arbiter.port), timeout=TIMEOUT) as sock:
        pieces = 60
        sock.sendall(b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % pieces)
        for _ in range(pieces):            # 6 s, three times --timeout
            sock.sendall(b"x")
            time.sleep(0.1)
        reply = b""
        while not reply.endswith(b"size=%d" % pieces):
            data = sock.recv(65536)
            assert data, reply
            reply += data
    assert reply.startswith(b"HTTP/1.1 200 ")
    assert b"pid=%d " % pid in reply
    assert children(arbiter.pid) == {pid}
    assert "WORKER TIMEOUT" not in arbiter.stderr_text()


def test_an_app_call_longer_than_the_timeout_gets_the_worker_replaced(gunicorn, tmp_path):
    """As with gunicorn's sync worker: the app runs on the loop's thread, so a
    call that blocks past --timeout silences the heartbeat."""
    arbiter = gunicorn("-w", "1", "--timeout", "1")
    (pid,) = wait_workers(arbiter.pid, 1)
    with pytest.raises((http.client.HTTPException, OSError)):
        get(arbiter, "/slow?seconds=30")
    assert "WORKER TIMEOUT (pid:%d)" % pid in arbiter.stderr_text()
    (replacement,) = wait_workers(arbiter.pid, 1, other_than={pid})
    assert get(arbiter)[:2] == (200, replacement)


def test_gunicorn_limits_reach_the_core(gunicorn):
    arbiter = gunicorn("--limit-request-line", "100", "--limit-request-fields", "5")
    assert get(arbiter, "/pid?" + "a" * 50)[0] == 200
    assert get(arbiter, "/pid?" + "a" * 120)[0] == 414
    with socket.create_connection((arbiter.host, arbiter.port), timeout=TIMEOUT) as sock:
        headers = b"".join(b"X-H%d: v\r\n" % i for i in range(6))
        sock.sendall(b"GET /pid HTTP/1.1\r\nHost: t\r\n" + headers + b"\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 431 ")


def test_gunicorn_threads_run_the_app_in_a_pool(gunicorn):
    arbiter = gunicorn("-w", "1", "--threads", "4")
    assert get(arbiter, "/multithread")[2].endswith("multithread=True")
    started = time.monotonic()
    replies = []
    clients = [threading.Thread(target=lambda: replies.append(get(arbiter, "/slow?seconds=1")))
               for _ in range(4)]
    for client in clients:
        client.start()
    for client in clients:
        client.join()
    assert [status for status, _, _ in replies] == [200] * 4
    assert time.monotonic() - started < 3.5       # one after another: at least 4 s


def test_gunicorn_default_is_one_thread(gunicorn):
    assert get(gunicorn("-w", "1"), "/multithread")[2].endswith("multithread=False")


@pytest.mark.parametrize("allowed, remote, scheme", [
    (None, "203.0.113.7", "https"),            # gunicorn's default trusts 127.0.0.1
    ("", "127.0.0.1", "http"),                 # nobody trusted
], ids=["default", "none"])
def test_forwarded_allow_ips_setting(gunicorn, allowed, remote, scheme):
    arbiter = gunicorn(*(["--forwarded-allow-ips", allowed] if allowed is not None else []))
    conn = http.client.HTTPConnection(arbiter.host, arbiter.port, timeout=TIMEOUT)
    conn.request("GET", "/peer", headers={"X-Forwarded-For": "203.0.113.7",
                                          "X-Forwarded-Proto": "https"})
    text = conn.getresponse().read().decode()
    conn.close()
    assert text.endswith(" remote=%s scheme=%s" % (remote, scheme))


def test_keep_alive_setting_closes_idle_connections(gunicorn):
    arbiter = gunicorn("--keep-alive", "1")
    with socket.create_connection((arbiter.host, arbiter.port), timeout=TIMEOUT) as sock:
        sock.sendall(b"GET /pid HTTP/1.1\r\nHost: t\r\n\r\n")
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200 ")
        start = time.monotonic()
        assert sock.recv(65536) == b""             # closed by the server while idle
        assert 0.8 < time.monotonic() - start < 4.5   # gunicorn's 1 s; fastwsgi's default is 5 s


def test_fastwsgi_options_come_from_the_environment(gunicorn):
    arbiter = gunicorn(env={"FASTWSGI_MAX_BODY_SIZE": "1k"})
    assert get(arbiter, "/upload", body=b"x" * 1024)[2].endswith("size=1024")
    assert get(arbiter, "/upload", body=b"x" * 1025)[0] == 413


def test_access_log_in_gunicorns_format(gunicorn):
    arbiter = gunicorn("--access-logfile", "-", "--access-logformat",
                       'ACCESS %(h)s "%(r)s" %(s)s %(b)s %({x-trace}i)s %(p)s D=%(D)s')
    conn = http.client.HTTPConnection(arbiter.host, arbiter.port, timeout=TIMEOUT)
    conn.request("GET", "/slow?seconds=0.2", headers={"X-Trace": "abc"})
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    pid = int(body.decode().split("=")[1])
    line = wait_for("the access log line", lambda: next(
        (l for l in arbiter.stderr_text().splitlines() if l.startswith("ACCESS ")), None))
    prefix = 'ACCESS 127.0.0.1 "GET /slow?seconds=0.2 HTTP/1.1" 200 %d abc <%d> D=' % (len(body), pid)
    assert line.startswith(prefix), line
    assert 200000 <= int(line[len(prefix):]) < 20000000      # microseconds: the app slept 0.2 s


def test_app_errors_go_to_gunicorns_error_log(gunicorn, tmp_path):
    error_log = tmp_path / "error.log"
    arbiter = gunicorn("--error-logfile", str(error_log), port=free_port())
    assert get(arbiter, "/crash")[0] == 500
    wait_for("the traceback", lambda: "the app failed on purpose" in error_log.read_text())
    assert "[ERROR] error in the WSGI app while serving GET /crash" in error_log.read_text()
    assert "the app failed on purpose" not in arbiter.stderr_text()


def start_failing(tmp_path, *args, env=None):
    """Run gunicorn that must refuse to start; returns its output."""
    proc = ServerProcess([sys.executable, "-m", "gunicorn", "-k", "fastwsgi.gunicorn.Worker",
                          "-b", "127.0.0.1:0", *args, "gunicorn_app:app"],
                         env={"XDG_RUNTIME_DIR": str(tmp_path), **(env or {})})
    try:
        assert proc.proc.wait(TIMEOUT) != 0
        return proc.stderr_text()
    finally:
        proc.close()


def test_tls_settings_are_refused_in_one_line(tmp_path):
    cert = tmp_path / "cert.pem"
    cert.write_text("not used")
    output = start_failing(tmp_path, "--certfile", str(cert), "--keyfile", str(cert))
    assert "Error: fastwsgi.gunicorn.Worker does not serve TLS" in output
    assert "Traceback" not in output


def test_a_bad_fastwsgi_variable_is_refused_in_one_line(tmp_path):
    output = start_failing(tmp_path, env={"FASTWSGI_MAX_BODY_SIZE": "lots"})
    assert "Error: fastwsgi.gunicorn.Worker: FASTWSGI_MAX_BODY_SIZE must be a size" in output
    assert "Traceback" not in output


def test_an_unknown_fastwsgi_variable_is_warned_about(gunicorn):
    arbiter = gunicorn(env={"FASTWSGI_MAX_BODDY_SIZE": "1k"})
    assert get(arbiter)[0] == 200
    assert "ignoring FASTWSGI_MAX_BODDY_SIZE: no such option" in arbiter.stderr_text()
