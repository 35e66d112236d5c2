"""The master process and its workers (fastwsgi/supervisor.py), driven from the
outside: real processes, real signals, workers found as the master's children
in /proc, and an app that answers with the pid of the worker that served."""
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from conftest import TESTS, ServerProcess
from fastwsgi import supervisor
from fastwsgi.config import Config
from fastwsgi._core import loop_backend
from http_client import get, read_reply, request, unix_request
from processes import (DEADLINE, REUSE_PORT_SPREADS, alive, children, listening_sockets,
                       netstat_listening, nobody, uid_of, wait_for, wait_workers)

APP = "supervisor_app:app"


# -- talking to the server ---------------------------------------------------------------


def fetch(srv, path="/pid", timeout=15.0):
    reply = request(srv, get(path), timeout=timeout)
    assert reply.status == 200, reply
    return reply.body


def served_pid(srv):
    return int(fetch(srv))


def start(server, *args, workers=2, env=None, app=APP):
    """A master with `workers` workers, each of them serving."""
    srv = server(app, "--workers", str(workers), *args, env=env)
    wait_workers(srv.pid, workers)
    return srv


def pids_served(srv, want, tries=400):
    """Pids seen over up to `tries` new connections, until `want` distinct ones."""
    seen = set()
    for _ in range(tries):
        seen.add(served_pid(srv))
        if len(seen) >= want:
            break
    return seen


def slow_request(srv, seconds, mark):
    """Send GET /slow in a thread; returns (thread, result) where result gets
    "status", "body" or "error" and "done" (monotonic time)."""
    result = {}

    def run():
        conn = http.client.HTTPConnection(srv.host, srv.port, timeout=120)
        try:
            conn.request("GET", "/slow?s=%g&mark=%s" % (seconds, mark))
            response = conn.getresponse()
            result["status"], result["body"] = response.status, response.read()
        except Exception as exc:  # noqa: BLE001 -- the test inspects it
            result["error"] = exc
        finally:
            result["done"] = time.monotonic()
            conn.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    wait_for("the slow request to reach the app", lambda: os.path.exists(mark))
    return thread, result


def write_app(path, text):
    path.write_text(textwrap.dedent("""
        import os

        def app(environ, start_response):
            body = b"%s %%d" %% os.getpid()
            start_response("200 OK", [("Content-Length", str(len(body)))])
            return [body]
    """ % text))


NO_PYC = {"PYTHONDONTWRITEBYTECODE": "1"}   # an edit is always read from the source


# -- how many processes -----------------------------------------------------------------


def test_one_worker_by_default_is_a_single_process(server):
    srv = server(APP)
    assert children(srv.pid) == set()
    assert served_pid(srv) == srv.pid
    assert "(1 process, " in srv.stderr_text()


def test_workers_share_one_listener_and_all_serve(server):
    srv = start(server, workers=3)
    workers = children(srv.pid)
    assert "(3 workers, 1 thread, %s loop)" % loop_backend() in srv.stderr_text()
    assert listening_sockets(srv.port) == 1
    seen = pids_served(srv, 2)
    assert len(seen) >= 2 and seen <= workers       # never the master
    for pid in workers:     # a worker that forked may not have said it is ready yet
        wait_for("worker %d's start line" % pid,
                 lambda: "worker %d started" % pid in srv.stderr_text())


def test_reuse_port_gives_each_worker_its_own_socket(server):
    srv = start(server, "--reuse-port", workers=3)
    wait_for("3 listening sockets", lambda: listening_sockets(srv.port) == 3)
    spread = 2 if REUSE_PORT_SPREADS else 1       # else one socket takes every connection
    seen = pids_served(srv, spread)
    assert len(seen) >= spread and seen <= children(srv.pid)


def test_reuse_port_lets_single_processes_share_a_port(server):
    first = server(APP, "--reuse-port")
    second = server(APP, "--reuse-port", "--bind", "127.0.0.1:%d" % first.port)
    assert second.port == first.port and listening_sockets(first.port) == 2
    if REUSE_PORT_SPREADS:                  # elsewhere one of them takes every connection
        assert pids_served(first, 2) == {first.pid, second.pid}
    assert first.stop() == 0                # the other one takes every connection
    for _ in range(20):
        assert served_pid(second) == second.pid


def test_netstat_reading_counts_listening_ipv4_sockets_on_the_port():
    # listening_sockets() parses `netstat -an` where there is no /proc/net/tcp
    # (macOS, the BSDs); both layouts, with lines that must not count.
    macos = """Active Internet connections (including servers)
Proto Recv-Q Send-Q  Local Address          Foreign Address        (state)
tcp4       0      0  127.0.0.1.8123         *.*                    LISTEN
tcp4       0      0  127.0.0.1.8123         *.*                    LISTEN
tcp4       0      0  127.0.0.1.8123         127.0.0.1.51234        ESTABLISHED
tcp4       0      0  127.0.0.1.18123        *.*                    LISTEN
tcp6       0      0  ::1.8123               *.*                    LISTEN
udp4       0      0  127.0.0.1.8123         *.*
"""
    linux = """Active Internet connections (servers and established)
Proto Recv-Q Send-Q Local Address           Foreign Address         State
tcp        0      0 127.0.0.1:8123          0.0.0.0:*               LISTEN
tcp        0      0 127.0.0.1:8123          0.0.0.0:*               LISTEN
tcp        0      0 127.0.0.1:8123          127.0.0.1:51234         ESTABLISHED
tcp        0      0 0.0.0.0:18123           0.0.0.0:*               LISTEN
tcp6       0      0 :::8123                 :::*                    LISTEN
"""
    assert netstat_listening(macos, 8123) == netstat_listening(linux, 8123) == 2
    assert netstat_listening(macos, 18123) == netstat_listening(linux, 18123) == 1
    assert netstat_listening(macos, 9999) == netstat_listening(linux, 9999) == 0


def test_reuse_port_keeps_unix_sockets_shared(server, tmp_path):
    path = str(tmp_path / "app.sock")
    srv = start(server, "--reuse-port", "--bind", "127.0.0.1:0", "--bind", "unix:" + path,
                workers=2)
    # Each worker opens its own socket once it runs: the second may still be starting.
    wait_for("a socket per worker", lambda: listening_sockets(srv.port) == 2)
    workers, seen = children(srv.pid), set()
    # The kernel may wake the same worker for many connections in a row on a
    # shared socket: ask until both have answered, within the deadline.
    wait_for("both workers answering on the unix socket",
             lambda: seen.add(int(unix_request(path, get("/pid"), timeout=15).body)) or seen == workers)
    assert srv.stop() == 0
    assert not os.path.exists(path)        # removed by the master, not by a worker


def test_workers_from_the_environment(server):
    srv = server(APP, env={"FASTWSGI_WORKERS": "2"})
    wait_workers(srv.pid, 2)


def test_workers_auto_is_one_per_cpu(server):
    srv = server(APP, "--workers", "auto")
    cpus = os.cpu_count()
    wait_workers(srv.pid, cpus)
    assert "(%d worker" % cpus in srv.stderr_text()


RUN_SCRIPT = textwrap.dedent("""
    import json, os, sys
    import fastwsgi

    def app(environ, start_response):
        body = b"%d" % os.getpid()
        start_response("200 OK", [("Content-Length", str(len(body)))])
        return [body]

    fastwsgi.run(app if sys.argv[1] == "callable" else sys.argv[1],
                 host="127.0.0.1", port=0, **json.loads(sys.argv[2]))
    print("run() returned in", os.getpid(), flush=True)
""")


def run_script(tmp_path, app, env=None, **options):
    """A process calling fastwsgi.run() with options, serving once it logs so;
    app is "callable" (a function of the script) or an import string."""
    script = tmp_path / "serve.py"
    script.write_text(RUN_SCRIPT)
    argv = [sys.executable, str(script), app, json.dumps(options)]
    return ServerProcess(argv, env=env).wait_listening()


def test_run_with_workers_returns_in_the_master_only(tmp_path):
    proc = run_script(tmp_path, "callable", workers=2)
    try:
        workers = wait_workers(proc.pid, 2)
        assert served_pid(proc) in workers
        assert proc.stop() == 0
        assert proc.stderr_text().count("run() returned in") == 1
        assert "run() returned in %d" % proc.pid in proc.stderr_text()
    finally:
        proc.close()


def test_run_takes_the_process_options_as_keywords(tmp_path):
    pid_path = tmp_path / "run.pid"
    proc = run_script(tmp_path, "callable", workers=2, reuse_port=True, pid=str(pid_path))
    try:
        wait_workers(proc.pid, 2)
        wait_for("a socket per worker", lambda: listening_sockets(proc.port) == 2)
        assert pid_path.read_text() == "%d\n" % proc.pid
        assert proc.stop() == 0
        assert not pid_path.exists()
    finally:
        proc.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root may switch the workers' user and group")
def test_run_takes_user_and_group_as_keywords(tmp_path):
    uid, _, group = nobody()
    proc = run_script(tmp_path, "callable", workers=2, user="nobody", group=group)
    try:
        workers = wait_workers(proc.pid, 2)
        assert {uid_of(pid) for pid in workers} == {uid}
        assert served_pid(proc) in workers
        assert proc.stop() == 0
    finally:
        proc.close()


def test_run_recycles_with_max_requests(tmp_path):
    proc = run_script(tmp_path, "callable", max_requests=1)    # one worker, under a master
    try:
        wait_workers(proc.pid, 1)
        seen = set()
        wait_for("3 recycled workers", lambda: seen.add(served_pid(proc)) or len(seen) >= 3)
        assert proc.stop() == 0
    finally:
        proc.close()


def test_run_reloads_an_import_string(tmp_path):
    write_app(tmp_path / "runapp.py", "before")
    proc = run_script(tmp_path, "runapp:app", env=dict(NO_PYC, PYTHONPATH=str(tmp_path)),
                      reload=True)
    try:
        worker, = wait_workers(proc.pid, 1)
        assert fetch(proc) == b"before %d" % worker
        write_app(tmp_path / "runapp.py", "after the edit")
        wait_for("the edited app", lambda: fetch(proc).startswith(b"after the edit "))
        assert proc.stop() == 0
    finally:
        proc.close()


def test_run_with_workers_outside_the_main_thread_is_refused():
    code = textwrap.dedent("""
        import threading
        import fastwsgi

        def serve():
            try:
                fastwsgi.run(lambda e, s: [], port=0, workers=2)
            except ValueError as exc:
                print("ConfigError:", exc)

        thread = threading.Thread(target=serve)
        thread.start()
        thread.join()
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=TESTS)
    assert "ConfigError: a master process (for workers," in out.stdout, out


def test_run_refuses_reload_of_a_callable():
    code = textwrap.dedent("""
        import fastwsgi
        try:
            fastwsgi.run(lambda e, s: [], port=0, reload=True)
        except ValueError as exc:
            print("ConfigError:", exc)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=TESTS)
    assert "ConfigError: reload=True needs the app as an import string" in out.stdout


# -- workers dying, the master dying ---------------------------------------------------------


def test_killed_worker_is_replaced(server):
    srv = start(server, workers=2)
    before = children(srv.pid)
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    after = wait_workers(srv.pid, 2, other_than={victim})
    assert len(after - before) == 1
    for _ in range(20):
        assert served_pid(srv) in after
    assert "worker %d was killed by SIGKILL; starting a new one" % victim in srv.stderr_text()


def test_workers_stop_when_the_master_is_killed(server):
    srv = start(server, workers=2)
    workers = children(srv.pid)
    os.kill(srv.pid, signal.SIGKILL)
    srv.proc.wait(DEADLINE)
    wait_for("the orphaned workers to exit", lambda: not any(alive(pid) for pid in workers))


def test_app_failing_at_start_backs_off(server, tmp_path):
    """After the app broke (a worker is replaced and its import fails), the
    master retries one worker at a time with a doubling delay, not in a storm,
    and serves again once the app is fixed."""
    broken = tmp_path / "broken-flag"
    (tmp_path / "flaky.py").write_text(textwrap.dedent("""
        import os
        if os.path.exists(%r):
            raise RuntimeError("the database is down")
        from supervisor_app import app
    """ % str(broken)))
    srv = start(server, workers=2, app="flaky:app", env={"PYTHONPATH": str(tmp_path)})
    broken.write_text("")
    victim, survivor = sorted(children(srv.pid))
    os.kill(victim, signal.SIGKILL)
    time.sleep(4.0)          # the observation window: how many starts in 4 s?
    failures = [line for line in srv.stderr_text().splitlines() if "failed to start" in line]
    # Delays 0.1, 0.2, 0.4, 0.8, 1.6 s...: about 5 starts in 4 s (a storm would be thousands).
    assert 2 <= len(failures) <= 10, failures
    assert "importing 'flaky' failed: RuntimeError: the database is down" in failures[0]
    delays = [float(line.rsplit("next start in ", 1)[1].split()[0]) for line in failures]
    assert delays == sorted(delays) and delays[-1] > delays[0]
    assert len(children(srv.pid) - {survivor}) <= 1          # one start at a time
    assert served_pid(srv) == survivor                       # the other worker serves on
    broken.unlink()
    pid, = wait_workers(srv.pid, 2, other_than={victim}) - {survivor}
    wait_for("it to start", lambda: "worker %d started" % pid in srv.stderr_text())


# -- signals --------------------------------------------------------------------------------


def test_term_finishes_the_request_in_flight(server, tmp_path):
    srv = start(server, workers=2)
    workers = children(srv.pid)
    thread, result = slow_request(srv, 2.0, str(tmp_path / "mark"))
    srv.proc.send_signal(signal.SIGTERM)
    assert srv.proc.wait(DEADLINE) == 0
    exited = time.monotonic()
    thread.join(DEADLINE)
    assert result.get("status") == 200 and result.get("body") == b"slow", result
    assert result["done"] <= exited                 # the master waited for it
    assert not any(alive(pid) for pid in workers)
    assert "fastwsgi stopped" in srv.stderr_text()


def test_term_past_the_graceful_timeout_kills_the_worker(server, tmp_path):
    srv = start(server, "--graceful-timeout", "1", workers=2)
    workers = children(srv.pid)
    thread, result = slow_request(srv, 60.0, str(tmp_path / "mark"))
    sent = time.monotonic()
    srv.proc.send_signal(signal.SIGTERM)
    assert srv.proc.wait(DEADLINE) == 0
    assert time.monotonic() - sent < 20.0           # not the 60 s the app wanted
    thread.join(DEADLINE)
    assert "error" in result, result
    assert "did not stop in time: killing it" in srv.stderr_text()
    assert not any(alive(pid) for pid in workers)


def test_second_term_stops_at_once(server, tmp_path):
    srv = start(server, workers=2)
    thread, result = slow_request(srv, 60.0, str(tmp_path / "mark"))
    srv.proc.send_signal(signal.SIGTERM)
    wait_for("the graceful stop", lambda: "stopping: the workers finish" in srv.stderr_text())
    sent = time.monotonic()
    srv.proc.send_signal(signal.SIGTERM)
    assert srv.proc.wait(DEADLINE) == 0
    assert time.monotonic() - sent < 20.0
    thread.join(DEADLINE)
    assert "error" in result, result
    assert "stopping now" in srv.stderr_text()


def test_quit_stops_at_once(server, tmp_path):
    srv = start(server, workers=2)
    workers = children(srv.pid)
    thread, result = slow_request(srv, 60.0, str(tmp_path / "mark"))
    sent = time.monotonic()
    srv.proc.send_signal(signal.SIGQUIT)
    assert srv.proc.wait(DEADLINE) == 0
    assert time.monotonic() - sent < 20.0
    thread.join(DEADLINE)
    assert "error" in result, result                # cut, not finished
    assert not any(alive(pid) for pid in workers)
    assert "did not stop in time" not in srv.stderr_text()


def idle_connection(srv):
    """A keep-alive connection that has had one answer, and the worker's pid."""
    sock = srv.connect()
    sock.sendall(get("/pid"))
    reply = read_reply(sock)
    assert reply.status == 200 and reply.header("connection") != "close", reply
    return sock, int(reply.body)


def one_worker_master(server, *args):
    """A master with one worker (--max-requests makes a master of one), so
    that a HUP retires that worker as soon as its successor is ready."""
    return start(server, "--max-requests", "1000000", *args, workers=1)


def new_worker_serves(srv, old_pid):
    """Once a fresh connection is answered by another worker than old_pid, its
    successor is ready: the master retires old_pid as soon as it hears so, and
    is given 0.5 s (many times what it takes) for it."""
    wait_for("a new worker", lambda: served_pid(srv) != old_pid)
    time.sleep(0.5)


def reloaded_holding_an_idle_connection(server, keepalive_timeout=60):
    """A one-worker master reloaded with HUP while a client holds an idle
    keep-alive connection to its worker, once the successor serves:
    (srv, the connection, the old worker's pid)."""
    srv = one_worker_master(server, "--keepalive-timeout", str(keepalive_timeout),
                            "--graceful-timeout", "120")
    sock, old_pid = idle_connection(srv)
    srv.proc.send_signal(signal.SIGHUP)
    new_worker_serves(srv, old_pid)
    return srv, sock, old_pid


def test_a_retired_worker_answers_its_idle_connection_once_more(server):
    """HUP: an old worker does not close its idle keep-alive connections, since
    a request sent on one as it closed would be lost (a proxy does not resend a
    POST). The next request on one is answered, with Connection: close; then
    the worker exits."""
    srv, sock, old_pid = reloaded_holding_an_idle_connection(server)
    with sock:
        assert alive(old_pid)                       # held by the idle connection
        sock.sendall(get("/pid"))
        reply = read_reply(sock)
        assert reply.status == 200 and int(reply.body) == old_pid
        assert reply.header("connection") == "close"
        assert sock.recv(65536) == b""
    wait_for("the old worker to exit", lambda: not alive(old_pid))


def test_a_retired_workers_silent_connection_ends_at_its_keepalive_timeout(server):
    """A client that never uses its idle connection again holds the old worker
    for --keepalive-timeout (5 s), not for the graceful timeout (120 s)."""
    srv, sock, old_pid = reloaded_holding_an_idle_connection(server, keepalive_timeout=5)
    with sock:
        assert alive(old_pid)                       # held by the idle connection
        wait_for("the old worker to exit", lambda: not alive(old_pid), timeout=60.0)
        sock.settimeout(DEADLINE)
        assert sock.recv(65536) == b""              # closed by the server while idle


def test_term_closes_idle_connections_at_once(server):
    """A stop is not a reload: TERM closes idle keep-alive connections (and
    a worker already retiring drops its own) without waiting for them."""
    srv, sock, old_pid = reloaded_holding_an_idle_connection(server)
    with sock:
        kept, new_pid = idle_connection(srv)
        with kept:
            assert new_pid != old_pid and alive(old_pid)
            sent = time.monotonic()
            srv.proc.send_signal(signal.SIGTERM)
            assert srv.proc.wait(DEADLINE) == 0
            assert time.monotonic() - sent < 20.0   # not the 60 s keep-alive timeout
            for idle in (sock, kept):
                idle.settimeout(DEADLINE)
                assert idle.recv(65536) == b""
    assert not alive(old_pid) and not alive(new_pid)


def test_hup_starts_new_workers_with_the_changed_app(server, tmp_path):
    write_app(tmp_path / "versioned.py", "first")
    srv = start(server, workers=2, app="versioned:app", env=dict(NO_PYC, PYTHONPATH=str(tmp_path)))
    old = children(srv.pid)
    assert fetch(srv).startswith(b"first ")
    write_app(tmp_path / "versioned.py", "second version")
    srv.proc.send_signal(signal.SIGHUP)
    new = wait_workers(srv.pid, 2, other_than=old)
    for _ in range(10):
        version, pid = fetch(srv).rsplit(b" ", 1)
        assert version == b"second version" and int(pid) in new
    assert not any(alive(pid) for pid in old)


def test_hup_with_a_broken_app_keeps_the_old_workers(server, tmp_path):
    write_app(tmp_path / "fragile.py", "good")
    srv = start(server, workers=2, app="fragile:app", env=dict(NO_PYC, PYTHONPATH=str(tmp_path)))
    old = children(srv.pid)
    (tmp_path / "fragile.py").write_text("def app(:\n")
    srv.proc.send_signal(signal.SIGHUP)
    wait_for("a failed start", lambda: "failed to start: importing 'fragile' failed:"
             " SyntaxError" in srv.stderr_text())
    for _ in range(10):
        version, pid = fetch(srv).rsplit(b" ", 1)
        assert version == b"good" and int(pid) in old
    write_app(tmp_path / "fragile.py", "fixed")       # the retries pick it up
    wait_for("the fixed app", lambda: fetch(srv).startswith(b"fixed "))
    wait_for("the old workers to go", lambda: not children(srv.pid) & old)


def test_ttin_and_ttou_change_the_number_of_workers(server):
    srv = start(server, workers=2)
    srv.proc.send_signal(signal.SIGTTIN)
    wait_workers(srv.pid, 3)
    for _ in range(3):
        srv.proc.send_signal(signal.SIGTTOU)
        time.sleep(0.2)
    wait_workers(srv.pid, 1)
    time.sleep(1.0)                  # and it stays one: never below
    worker, = children(srv.pid)
    assert served_pid(srv) == worker
    assert "SIGTTOU: now 1 worker" in srv.stderr_text()


def test_single_process_ignores_the_masters_signals(server):
    srv = server(APP)
    srv.proc.send_signal(signal.SIGHUP)
    wait_for("the warning", lambda: "SIGHUP ignored" in srv.stderr_text())
    assert served_pid(srv) == srv.pid


def test_master_ignores_the_signal_it_retires_workers_with(server):
    srv = start(server)
    workers = children(srv.pid)
    srv.proc.send_signal(supervisor.RETIRE_SIGNAL)
    wait_for("the warning", lambda: "SIGUSR2 ignored" in srv.stderr_text())
    assert srv.proc.poll() is None
    assert served_pid(srv) in workers and children(srv.pid) == workers


# -- recycling, pid file, user, reload --------------------------------------------------------


def recycled_limits(srv):
    """{pid: requests answered} from the master's "(--max-requests)" lines."""
    found = re.findall(r"worker (\d+) answered (\d+) requests \(--max-requests\)",
                       srv.stderr_text())
    return {int(pid): int(count) for pid, count in found}


@pytest.mark.parametrize("jitter", [0, 3])
def test_max_requests_recycles_workers(server, jitter):
    """A worker that answered its limit (2, plus 0-3 with jitter) serves on
    until its successor is ready, then drains; no request fails meanwhile."""
    srv = start(server, "--max-requests", "2", "--max-requests-jitter", str(jitter), workers=1)
    served = []
    deadline = time.monotonic() + DEADLINE
    while len(recycled_limits(srv)) < 10 and time.monotonic() < deadline:
        served.append(served_pid(srv))               # every request succeeds
    limits = recycled_limits(srv)
    assert len(limits) >= 10, srv.stderr_text()
    if jitter:
        assert set(limits.values()) <= {2, 3, 4, 5} and len(set(limits.values())) > 1, limits
    else:
        assert set(limits.values()) == {2}, limits
    for pid, limit in limits.items():
        assert served.count(pid) >= limit               # served on until replaced
    wait_for("the recycled workers to exit", lambda: not any(alive(pid) for pid in limits))


def test_max_requests_with_one_worker_runs_a_master(server):
    srv = server(APP, "--max-requests", "100")
    wait_workers(srv.pid, 1)


@pytest.mark.parametrize("workers", [1, 2])
def test_pid_file(server, tmp_path, workers):
    path = tmp_path / "run" / "fastwsgi.pid"
    path.parent.mkdir()
    srv = server(APP, "--workers", str(workers), "--pid", str(path))
    assert path.read_text() == "%d\n" % srv.pid
    assert srv.stop() == 0
    assert not path.exists()


def test_pid_file_from_the_environment(server, tmp_path):
    path = tmp_path / "env.pid"
    srv = server(APP, env={"FASTWSGI_PID": str(path)})
    assert path.read_text() == "%d\n" % srv.pid


def test_pid_file_of_a_running_server_is_refused(server, tmp_path):
    path = tmp_path / "taken.pid"
    server(APP, "--pid", str(path))
    out = subprocess.run([sys.executable, "-m", "fastwsgi", "--port", "0", "--pid", str(path)],
                         capture_output=True, text=True, timeout=60, cwd=TESTS)
    assert out.returncode == 2
    assert out.stderr.strip().endswith("is running (is another server running? stop it or"
                                       " choose another --pid)"), out.stderr


@pytest.mark.parametrize("workers", ["1", "2"])
def test_pid_file_that_cannot_be_written_is_one_line(tmp_path, workers):
    path = tmp_path / "missing-dir" / "app.pid"
    out = subprocess.run([sys.executable, "-m", "fastwsgi", "--port", "0", "--workers", workers,
                          "--pid", str(path), APP],
                         capture_output=True, text=True, timeout=60, cwd=TESTS)
    assert out.returncode == 2
    assert out.stderr == ("fastwsgi: error: cannot write the pid file %s: No such file or"
                          " directory (create the directory or choose another --pid)\n" % path)


@pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")
def test_user_and_group_apply_to_the_workers(server):
    uid, gid, group = nobody()
    srv = start(server, "--user", "nobody", "--group", group, workers=2)
    assert uid_of(srv.pid) == 0                         # the master keeps its identity
    for pid in children(srv.pid):
        assert uid_of(pid) == uid
    assert fetch(srv, "/ids") == b"%d %d" % (uid, gid)


@pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")
def test_user_alone_takes_its_own_group(server):
    srv = server(APP, env={"FASTWSGI_USER": "nobody"})    # one worker, under a master
    wait_workers(srv.pid, 1)
    assert fetch(srv, "/ids") == b"%d %d" % nobody()[:2]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another user")
def test_user_switch_needs_root():
    # The interpreter may live where nobody cannot read it (/root/.pyenv): start
    # as root, import what the command line needs, then become nobody for good.
    code = textwrap.dedent("""
        import os, sys
        import fastwsgi.cli
        fastwsgi.cli.build_parser().parse_args(["--user", "x"])
        os.setgroups([])
        os.setresgid(65534, 65534, 65534)
        os.setresuid(65534, 65534, 65534)
        sys.exit(fastwsgi.cli.main(["--port", "0", "--user", "root"]))
    """)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("FASTWSGI_")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, env=environ, cwd="/")
    assert out.returncode == 2
    assert out.stderr == ("fastwsgi: error: --user root: only root can run the workers as"
                          " another user (this process runs as uid 65534); start fastwsgi"
                          " as root or leave out --user\n")


def test_an_edit_made_before_the_master_hears_of_the_file_still_reloads(tmp_path):
    """The worker stamps each file it loaded; an edit that lands before the
    master reads the worker's "watch" line is a change all the same."""
    path = tmp_path / "devapp.py"
    write_app(path, "before")
    seen = supervisor._stamp(str(path))           # the worker's look, right after loading
    write_app(path, "after the edit")             # then the edit, before the master's
    master = supervisor.Master(Config.from_sources({"reload": True}, environ={}),
                               None, [], None)
    master.on_message(None, "watch %s %s" % (supervisor._stamp_text(seen), path))
    master.poll_watched()
    assert master.generation == 1                 # a new generation of workers: reloaded


def test_reload_restarts_workers_when_a_source_file_changes(server, tmp_path):
    """And the old worker closes its idle keep-alive connections at once (a
    browser's next request must reach the edited code), unlike a HUP's."""
    write_app(tmp_path / "devapp.py", "before")
    srv = server("devapp:app", "--reload", "--keepalive-timeout", "60",
                 env=dict(NO_PYC, PYTHONPATH=str(tmp_path)))
    with srv.connect() as held:
        held.sendall(get("/pid"))
        assert read_reply(held).body.startswith(b"before ")
        write_app(tmp_path / "devapp.py", "after the edit")
        wait_for("the edited app", lambda: fetch(srv).startswith(b"after the edit "))
        held.settimeout(20.0)                       # not the 60 s keep-alive timeout
        assert held.recv(65536) == b""
    assert "devapp.py changed" in srv.stderr_text()


# -- the guarantee: no failed request across HUP and TERM ---------------------------------------


class LoadClient(threading.Thread):
    """GET /pid in a loop, over one keep-alive connection or a new connection
    per request, recording each outcome with its time.  Each request carries
    an id that the app, taking 5 ms per request, writes to a ledger file as
    it begins: a request the server began is one it must answer.

    Only a request on a reused keep-alive connection that closes before any
    byte of a response is retried (as the next request, on a new
    connection): a server may close an idle keep-alive connection at any
    moment, and clients then retry idempotent requests (RFC 9112 9.3.1).
    Its id must not be in the ledger.  Any other failure before a response
    is "unserved"; a wrong status, a cut response or a hang is "broken"."""

    def __init__(self, name, port, keep_alive, ledger):
        super().__init__(daemon=True)
        self.name, self.port, self.keep_alive, self.ledger = name, port, keep_alive, ledger
        self.ok = 0
        self.retried, self.unserved, self.broken = [], [], []
        self.halt = threading.Event()

    def run(self):
        conn, reused, count = None, False, 0
        while not self.halt.is_set():
            count += 1
            request_id = "%s-%d" % (self.name, count)
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                reused = False
            try:
                conn.request("GET", "/pid?sleep=0.005&ledger=%s&id=%s" % (self.ledger, request_id))
                response = conn.getresponse()
            except TimeoutError as exc:
                self.broken.append((time.monotonic(), repr(exc)))
            except OSError as exc:      # refused, reset, closed: nothing received
                if reused:
                    self.retried.append(request_id)
                else:
                    self.unserved.append((time.monotonic(), repr(exc)))
                    time.sleep(0.01)
            else:
                if self.check(response) and self.keep_alive and not response.will_close:
                    reused = True
                    continue
            conn.close()
            conn = None
        if conn is not None:
            conn.close()

    def check(self, response):
        """Record a response; False if it was not the whole, right one."""
        try:
            body = response.read()
        except Exception as exc:  # noqa: BLE001 -- a cut response is what we look for
            self.broken.append((time.monotonic(), repr(exc)))
            return False
        if response.status == 200 and body.isdigit():
            self.ok += 1
            return True
        self.broken.append((time.monotonic(), "%d %r" % (response.status, body)))
        return False


@pytest.mark.parametrize("mode", ["shared", "reuse-port"])
def test_hup_and_term_under_steady_load_fail_no_request(server, tmp_path, mode):
    extra = ["--reuse-port"] if mode == "reuse-port" else []
    srv = start(server, "--graceful-timeout", "30", *extra, workers=2)
    ledger = tmp_path / "ledger"
    clients = [LoadClient("c%d" % i, srv.port, keep_alive, str(ledger))
               for i, keep_alive in enumerate((True, True, False, False))]

    def total():
        return sum(c.ok for c in clients)

    seen_pids = set()
    for client in clients:
        client.start()
    try:
        wait_for("the load to run", lambda: total() >= 100)
        old = children(srv.pid)
        seen_pids |= old
        srv.proc.send_signal(signal.SIGHUP)
        new = wait_workers(srv.pid, 2, other_than=old)
        seen_pids |= new
        served_by_then = total()
        wait_for("load on the new workers", lambda: total() >= served_by_then + 100)
        assert [c.unserved + c.broken for c in clients] == [[]] * 4

        thread, slow = slow_request(srv, 3.0, str(tmp_path / "mark"))
        srv.proc.send_signal(signal.SIGTERM)
        assert srv.proc.wait(DEADLINE) == 0
        thread.join(DEADLINE)
    finally:
        for client in clients:
            client.halt.set()
        for client in clients:
            client.join(DEADLINE)
    # The request in flight when TERM arrived was answered in full ...
    assert slow.get("status") == 200 and slow.get("body") == b"slow", slow
    # ... no response was ever cut or wrong, no request the app began was lost ...
    assert [c.broken for c in clients] == [[]] * 4
    begun = set(ledger.read_text().split())
    assert [set(c.retried) & begun for c in clients] == [set()] * 4
    # ... and with a shared listener, requests went unserved only once the master
    # closed it after the last worker: none during the drain (3 s of it, with a
    # 1 s margin).  With --reuse-port each worker closes its own socket as it
    # begins to drain, so new connections are refused from then on.
    if mode == "shared":
        unserved = [t for c in clients for t, _ in c.unserved]
        assert all(t >= slow["done"] - 1.0 for t in unserved), (slow["done"], unserved)
    assert not any(alive(pid) for pid in seen_pids)
