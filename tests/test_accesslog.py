"""The access log, from the outside: real servers, real sockets, the log read
back from the file (or stream) it went to.

Every test waits for the lines it expects with a generous deadline; the
server writes them once per turn of its event loop, so they come promptly.
"""
import base64
import datetime
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from conftest import START_TIMEOUT, TESTS, ServerProcess
from http_client import read_replies, read_reply, request
from processes import wait_for

DEADLINE = 10.0

# The combined log format, field by field.
COMBINED = re.compile(
    r'^(?P<host>\S+) - (?P<user>\S+) \[(?P<time>\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\]'
    r' "(?P<request>[^"]*)" (?P<status>\d{3}) (?P<size>\d+|-) "(?P<referer>[^"]*)" "(?P<agent>[^"]*)"$')

# An app whose routes each give the log something to show.
APP_SOURCE = textwrap.dedent('''
    import time

    def app(environ, start_response):
        path = environ["PATH_INFO"]
        if path == "/sleep":
            environ["wsgi.errors"].write("app: sleeping\\n")
            environ["wsgi.errors"].flush()
            time.sleep(float(environ["QUERY_STRING"] or "0.3"))
        if path == "/note":
            environ["myapp.note"] = "line\\nbreak \\u20ac"     # set by the app, any text
            environ["REMOTE_USER"] = "from-app"
        if path == "/raise":
            raise RuntimeError("failing on purpose")
        if path == "/missing":
            start_response("404 Not Found", [("Content-Length", "9")])
            return [b"not found"]
        body = b"hello, log"
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-Out", "out value"),
                                  ("Content-Length", str(len(body)))])
        return [body]
''')


@pytest.fixture
def app_dir(tmp_path):
    (tmp_path / "logapp.py").write_text(APP_SOURCE)
    return tmp_path


@pytest.fixture
def logged(server, app_dir, tmp_path):
    """Start fastwsgi serving logapp:app with the access log in a file;
    returns (server, path of the log)."""

    def start(*args, env=None):
        path = tmp_path / "access.log"
        environ = {"PYTHONPATH": str(app_dir)}
        environ.update(env or {})
        srv = server("logapp:app", "--access-log-file", str(path), *args, env=environ)
        return srv, path

    return start


def read_lines(path, count, timeout=DEADLINE):
    """Wait until the file holds count complete lines; returns them."""
    deadline = time.monotonic() + timeout
    while True:
        text = path.read_bytes().decode("latin-1") if path.exists() else ""
        lines = text.split("\n")
        done = lines[:-1]
        if len(done) >= count or time.monotonic() > deadline:
            assert len(done) == count, "expected %d lines, got:\n%s" % (count, text)
            assert lines[-1] == "", "a partial line: %r" % lines[-1]
            return done
        time.sleep(0.05)


def send(srv, head, method="GET"):
    """One raw request (head without the final CRLF) on a new connection."""
    return request(srv, head + b"\r\n", method=method)


def test_default_line_is_the_combined_log_format(logged):
    srv, path = logged()
    before = datetime.datetime.now(datetime.timezone.utc)
    send(srv, b"GET /page?x=1&y=2 HTTP/1.1\r\nHost: t\r\nUser-Agent: tester/2.0 (X11)\r\n"
              b"Referer: http://example.test/from\r\n")
    send(srv, b"GET /missing HTTP/1.1\r\nHost: t\r\n")
    send(srv, b"HEAD / HTTP/1.0\r\n", method="HEAD")
    send(srv, b"POST /form HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc")
    lines = read_lines(path, 4)
    fields = [COMBINED.match(line) for line in lines]
    assert all(fields), lines
    first = fields[0].groupdict()
    stamp = datetime.datetime.strptime(first.pop("time"), "%d/%b/%Y:%H:%M:%S %z")
    assert before - datetime.timedelta(seconds=2) <= stamp <= datetime.datetime.now(
        datetime.timezone.utc) + datetime.timedelta(seconds=2)
    assert first == {"host": "127.0.0.1", "user": "-", "request": "GET /page?x=1&y=2 HTTP/1.1",
                     "status": "200", "size": "10", "referer": "http://example.test/from",
                     "agent": "tester/2.0 (X11)"}
    rest = [(m["request"], m["status"], m["size"], m["referer"], m["agent"]) for m in fields[1:]]
    assert rest == [("GET /missing HTTP/1.1", "404", "9", "-", "-"),
                    ("HEAD / HTTP/1.0", "200", "-", "-", "-"),      # no body went out
                    ("POST /form HTTP/1.1", "200", "10", "-", "-")]


def test_every_atom(logged):
    fmt = ("h=%(h)s|l=%(l)s|u=%(u)s|t=%(t)s|r=%(r)s|m=%(m)s|U=%(U)s|q=%(q)s|H=%(H)s|s=%(s)s"
           "|B=%(B)s|b=%(b)s|f=%(f)s|a=%(a)s|T=%(T)s|M=%(M)s|D=%(D)s|L=%(L)s|p=%(p)s"
           "|i=%({x-custom}i)s|ct=%({content-type}i)s|o=%({X-OUT}o)s|e=%({wsgi.url_scheme}e)s"
           "|E=%({remote_port}e)s|100%%")
    srv, path = logged("--access-log-format", fmt)
    auth = base64.b64encode(b"alice:s3cret").decode()
    with srv.connect() as sock:
        sock.sendall(b"POST /sleep?0.3 HTTP/1.1\r\nHost: t\r\nUser-Agent: ua\r\nReferer: r\r\n"
                     b"X-Custom: custom value\r\nContent-Type: text/plain\r\n"
                     b"Authorization: Basic " + auth.encode() + b"\r\nContent-Length: 2\r\n\r\nhi")
        assert read_reply(sock).status == 200
        port = sock.getsockname()[1]
    line, = read_lines(path, 1)
    atoms = dict(item.split("=", 1) for item in line.split("|")[:-1])
    assert line.endswith("|100%")
    assert atoms.pop("t").startswith("[") and atoms["r"] == "POST /sleep?0.3 HTTP/1.1"
    seconds, millis, micros, decimal = (atoms.pop(k) for k in "TMDL")
    assert atoms == {
        "h": "127.0.0.1", "l": "-", "u": "alice", "r": "POST /sleep?0.3 HTTP/1.1", "m": "POST",
        "U": "/sleep", "q": "0.3", "H": "HTTP/1.1", "s": "200", "B": "10", "b": "10",
        "f": "r", "a": "ua", "p": str(srv.pid), "i": "custom value", "ct": "text/plain",
        "o": "out value", "e": "http", "E": str(port)}
    assert re.fullmatch(r"\d+\.\d{6}", decimal), decimal
    assert int(seconds) == int(float(decimal))
    assert int(millis) == int(micros) // 1000
    assert abs(float(decimal) - int(micros) / 1e6) < 2e-6
    assert 0.3 <= float(decimal) < 0.3 + 10          # slept 0.3 s; generous on a busy machine


def test_missing_values_are_dashes(logged):
    srv, path = logged("--access-log-format",
                       "%(u)s %(f)s %(a)s %({x-none}i)s %({x-none}o)s %({none}e)s [%(q)s] %(b)s %(B)s")
    send(srv, b"GET /missing HTTP/1.1\r\nHost: t\r\n")
    send(srv, b"HEAD / HTTP/1.1\r\nHost: t\r\n", method="HEAD")
    assert read_lines(path, 2) == ["- - - - - - [] 9 9", "- - - - - - [] - 0"]


def test_user_from_remote_user_set_by_the_app(logged):
    srv, path = logged("--access-log-format", "%(u)s")
    auth = base64.b64encode(b"bob:pw").decode().encode()
    send(srv, b"GET /note HTTP/1.1\r\nHost: t\r\nAuthorization: Basic " + auth + b"\r\n")
    send(srv, b"GET / HTTP/1.1\r\nHost: t\r\nAuthorization: Basic !!notbase64\r\n")
    send(srv, b"GET / HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer abc\r\n")
    assert read_lines(path, 3) == ["from-app", "-", "-"]


def test_client_bytes_cannot_forge_a_line_or_a_field(logged):
    srv, path = logged()
    # What the parser lets through to the log: quotes and backslashes in the
    # target and in values, latin-1 (obs-text) bytes, a percent-encoded
    # newline (decoded into PATH_INFO); CR, LF and other controls are refused.
    send(srv, b'GET /a"b\\c%0A?q="x\\y" HTTP/1.1\r\nHost: t\r\n'
              b'User-Agent: evil" 200 0 "-" "x\\\r\nReferer: caf\xe9 \xff\r\n')
    assert send(srv, b"GET / HTTP/1.1\r\nHost: t\r\nUser-Agent: a\x7fb\r\n").status == 400
    line, = read_lines(path, 1)
    match = COMBINED.match(line)
    assert match, line
    assert match["request"] == 'GET /a\\x22b\\x5Cc%0A?q=\\x22x\\x5Cy\\x22 HTTP/1.1'
    assert match["agent"] == 'evil\\x22 200 0 \\x22-\\x22 \\x22x\\x5C'
    assert match["referer"] == "caf\\xE9 \\xFF"


def test_decoded_path_and_app_set_values_are_escaped(logged):
    srv, path = logged("--access-log-format", "%(U)s|%(q)s|%({myapp.note}e)s")
    send(srv, b"GET /no%0Ate%22%5C?a=%0A HTTP/1.1\r\nHost: t\r\n")
    send(srv, b"GET /note HTTP/1.1\r\nHost: t\r\n")
    assert read_lines(path, 2) == ['/no\\x0Ate\\x22\\x5C|a=%0A|-',
                                   '/note||line\\x0Abreak \\xE2\\x82\\xAC']


def test_long_lines_and_many_of_them_stay_whole(logged):
    srv, path = logged()
    agent = b"A" * 6000
    count = 300                                   # about 1.8 MB of log: many buffer flushes
    with srv.connect() as sock:
        for start in range(0, count, 30):         # pipelined, 30 at a time
            sock.sendall((b"GET /n%d HTTP/1.1\r\nHost: t\r\nUser-Agent: " + agent + b"\r\n\r\n") * 30
                         % tuple(range(start, start + 30)))
            assert [reply.status for reply in read_replies(sock, 30)] == [200] * 30
    lines = read_lines(path, count)
    assert [COMBINED.match(line)["request"] for line in lines] == [
        "GET /n%d HTTP/1.1" % i for i in range(count)]
    assert all(COMBINED.match(line)["agent"] == agent.decode() for line in lines)


def test_lines_of_full_batches_are_written_when_the_loop_goes_idle(logged):
    # Under load the buffer is written once the loop catches up. 32 requests
    # that wait while the server is stopped come back as two full batches of
    # events, after which nothing comes and no timer is due for 60 s: the
    # lines must still be written (the idle loop wakes once a second).
    srv, path = logged("--defer-accept", "0", "--keepalive-timeout", "60")
    socks = [srv.connect() for _ in range(32)]
    try:
        for sock in socks:                         # accepted and watched before the stop
            sock.sendall(b"GET /warm HTTP/1.1\r\nHost: t\r\n\r\n")
            assert read_reply(sock).status == 200
        read_lines(path, 32)
        os.kill(srv.pid, signal.SIGSTOP)
        try:
            for i, sock in enumerate(socks):
                sock.sendall(b"GET /batch%d HTTP/1.1\r\nHost: t\r\n\r\n" % i)
        finally:
            os.kill(srv.pid, signal.SIGCONT)
        assert [read_reply(sock).status for sock in socks] == [200] * 32
        lines = read_lines(path, 64)
        assert sorted(COMBINED.match(line)["request"] for line in lines[32:]) == sorted(
            "GET /batch%d HTTP/1.1" % i for i in range(32))
    finally:
        for sock in socks:
            sock.close()


def test_every_line_is_written_by_a_graceful_stop(logged):
    srv, path = logged()
    with srv.connect() as sock:
        for i in range(50):
            sock.sendall(b"GET /quick%d HTTP/1.1\r\nHost: t\r\n\r\n" % i)
            assert read_reply(sock).status == 200
    # One more is still in the app when SIGTERM comes: it finishes, is logged.
    slow = srv.connect()
    slow.sendall(b"GET /sleep?1 HTTP/1.1\r\nHost: t\r\n\r\n")
    wait_for("the slow request in the app", lambda: "app: sleeping" in srv.stderr_text())
    srv.proc.send_signal(signal.SIGTERM)
    assert read_reply(slow).status == 200
    slow.close()
    assert srv.proc.wait(START_TIMEOUT) == 0
    lines = read_lines(path, 51, timeout=0)
    assert [COMBINED.match(line)["request"].split()[1] for line in lines] == [
        "/quick%d" % i for i in range(50)] + ["/sleep?1"]


def test_workers_share_the_file_the_master_opened(server, app_dir, tmp_path):
    path = tmp_path / "access.log"
    srv = server("logapp:app", "--workers", "2", "--access-log-file", str(path),
                 "--access-log-format", "%(p)s %(U)s", env={"PYTHONPATH": str(app_dir)})
    sent, pids = 0, set()
    deadline = time.monotonic() + DEADLINE
    while len(pids) < 2 and time.monotonic() < deadline:   # new connections until both served
        sent += 1
        assert send(srv, b"GET /n%d HTTP/1.1\r\nHost: t\r\n" % sent).status == 200
        pids = {line.split()[0] for line in read_lines(path, sent)}
    assert len(pids) == 2 and str(srv.pid) not in pids     # the workers log, not the master
    assert srv.stop() == 0
    assert sorted(line.split()[1] for line in read_lines(path, sent, timeout=0)) == sorted(
        "/n%d" % i for i in range(1, sent + 1))


@pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")
def test_workers_of_another_user_write_the_file_the_master_opened(server, tmp_path):
    path = tmp_path / "root-only" / "access.log"    # nobody could not open it itself
    path.parent.mkdir(mode=0o700)
    srv = server("supervisor_app:app", "--user", "nobody", "--access-log-file", str(path),
                 "--access-log-format", "%(u)s %(U)s")
    auth = base64.b64encode(b"alice:pw")
    send(srv, b"GET /pid HTTP/1.1\r\nHost: t\r\nAuthorization: Basic " + auth + b"\r\n")
    assert read_lines(path, 1) == ["alice /pid"]


def test_responses_cut_short_are_logged(server, tmp_path):
    path = tmp_path / "access.log"
    srv = server("apps:app", "--access-log-file", str(path))
    with srv.connect() as sock:                   # the app fails after its first chunk
        sock.sendall(b"GET /raise-mid-stream HTTP/1.1\r\nHost: t\r\n\r\n")
        while sock.recv(65536):
            pass
    line, = read_lines(path, 1)
    assert COMBINED.match(line)["request"] == "GET /raise-mid-stream HTTP/1.1"
    assert COMBINED.match(line)["status"] == "200"


def test_app_errors_go_to_logging_at_the_log_level(logged):
    srv, path = logged()
    assert send(srv, b"GET /raise HTTP/1.1\r\nHost: t\r\n").status == 500
    line, = read_lines(path, 1)
    assert COMBINED.match(line)["status"] == "500"
    wait_for("the traceback", lambda: "RuntimeError: failing on purpose" in srv.stderr_text(),
             timeout=DEADLINE)
    text = srv.stderr_text()
    assert "[ERROR] error in the WSGI app while serving GET /raise" in text
    assert "Traceback" in text and "RuntimeError: failing on purpose" in text
    assert "GET /raise" not in text.split("[ERROR]")[0]   # the access line is not on stderr


def test_log_level_critical_silences_app_errors_not_the_access_log(app_dir, tmp_path):
    path = tmp_path / "access.log"
    with socket.socket() as probe:               # critical: no "listening on" line to wait for
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    srv = ServerProcess([sys.executable, "-m", "fastwsgi", "--port", str(port), "--log-level",
                         "critical", "--access-log-file", str(path), "logapp:app"],
                        env={"PYTHONPATH": str(app_dir)})
    srv.port = port
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                srv.connect().close()
                break
            except OSError:
                assert srv.proc.poll() is None and time.monotonic() < deadline, srv.stderr_text()
                time.sleep(0.05)
        assert send(srv, b"GET /raise HTTP/1.1\r\nHost: t\r\n").status == 500
        assert send(srv, b"GET /after HTTP/1.1\r\nHost: t\r\n").status == 200
        assert [COMBINED.match(line)["status"] for line in read_lines(path, 2)] == ["500", "200"]
        assert srv.stop() == 0
        assert srv.stderr_text() == ""
    finally:
        srv.close()


def test_access_log_on_stderr_by_default(server, app_dir):
    srv = server("logapp:app", "--access-log", env={"PYTHONPATH": str(app_dir)})
    send(srv, b"GET /to-stderr HTTP/1.1\r\nHost: t\r\nUser-Agent: on-stderr\r\n")
    wait_for("the access line", lambda: "on-stderr" in srv.stderr_text(), timeout=DEADLINE)
    line, = [l for l in srv.stderr_text().splitlines() if "on-stderr" in l]
    assert COMBINED.match(line)["request"] == "GET /to-stderr HTTP/1.1"   # a bare line, no log prefix


class SplitStreams:
    """A server whose stdout and stderr go to separate files (the fixture's
    ServerProcess merges them)."""

    def __init__(self, tmp_path, args, stdout, name="server"):
        self.err_path = tmp_path / (name + ".stderr")
        self.err = open(self.err_path, "wb")
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), os.path.dirname(__file__)]))
        self.proc = subprocess.Popen([sys.executable, "-m", "fastwsgi", "--port", "0", *args],
                                     cwd=str(tmp_path), env=env, stdin=subprocess.DEVNULL,
                                     stdout=stdout, stderr=self.err)
        deadline = time.monotonic() + START_TIMEOUT
        while not re.search(r"listening on http://127\.0\.0\.1:(\d+)", self.err_path.read_text()):
            assert self.proc.poll() is None and time.monotonic() < deadline, self.err_path.read_text()
            time.sleep(0.05)
        self.port = int(re.search(r"127\.0\.0\.1:(\d+)", self.err_path.read_text()).group(1))
        self.host, self.pid = "127.0.0.1", self.proc.pid

    def connect(self, timeout=10.0):
        return socket.create_connection((self.host, self.port), timeout=timeout)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(START_TIMEOUT)
        self.err.close()
        return code


def test_dash_logs_to_stdout(app_dir):
    out_path = app_dir / "stdout.txt"
    with open(out_path, "wb") as out:
        srv = SplitStreams(app_dir, ["--access-log-file", "-", "logapp:app"], out)
        try:
            send(srv, b"GET /to-stdout HTTP/1.1\r\nHost: t\r\n")
            line, = read_lines(out_path, 1)
        finally:
            assert srv.stop() == 0
    assert COMBINED.match(line)["request"] == "GET /to-stdout HTTP/1.1"
    assert "to-stdout" not in srv.err_path.read_text()


def pipelined_batch(srv, tag, agent, batch, size):
    """size pipelined requests /TAG-BATCH-I with a long User-Agent."""
    with srv.connect() as sock:
        sock.sendall(b"".join(b"GET /%s-%d-%d HTTP/1.1\r\nHost: t\r\nUser-Agent: %s\r\n\r\n"
                              % (tag, batch, i, agent) for i in range(size)))
        assert [reply.status for reply in read_replies(sock, size)] == [200] * size


def test_processes_sharing_a_pipe_never_mix_lines(app_dir):
    # Two servers (as two workers would) log to one pipe that a slow reader
    # keeps full. Each writes its lines in pieces of whole lines no larger than
    # PIPE_BUF, which the kernel keeps in one piece; a larger write to a full
    # pipe would be split wherever room appeared, and the other's lines land
    # in the middle of it.
    read_end, write_end = os.pipe()
    servers = [SplitStreams(app_dir, ["--access-log-file", "-", "logapp:app"], write_end, name)
               for name in ("one", "two")]
    os.close(write_end)
    chunks = []

    def read_slowly():
        with os.fdopen(read_end, "rb", buffering=0) as pipe:
            while True:
                chunk = pipe.read(4096)
                if not chunk:
                    return
                chunks.append(chunk)
                time.sleep(0.0005)

    reader = threading.Thread(target=read_slowly)
    reader.start()
    agents = {b"one": b"1" * 1500, b"two": b"2" * 1500}
    try:
        clients = [threading.Thread(target=lambda tag=tag, srv=srv: [
                       pipelined_batch(srv, tag, agents[tag], batch, 40) for batch in range(8)])
                   for tag, srv in zip(agents, servers)]
        for client in clients:
            client.start()
        for client in clients:
            client.join(60)
    finally:
        for srv in servers:
            assert srv.stop() == 0
        reader.join(DEADLINE)
    lines = b"".join(chunks).decode("latin-1").splitlines()
    assert len(lines) == 2 * 8 * 40
    for line in lines:
        match = COMBINED.match(line)
        assert match, line[:200]
        tag = match["request"].split()[1][1:4]
        assert match["agent"] == agents[tag.encode()].decode(), line[:200]
    for tag in ("one", "two"):                    # and each process's lines in its order
        assert [l.split()[6] for l in lines if l.split()[6].startswith("/" + tag)] == [
            "/%s-%d-%d" % (tag, batch, i) for batch in range(8) for i in range(40)]


def test_environment_variables_set_file_and_format(server, app_dir, tmp_path):
    path = tmp_path / "from-env.log"
    srv = server("logapp:app", env={"PYTHONPATH": str(app_dir), "FASTWSGI_ACCESS_LOG_FILE": str(path),
                                    "FASTWSGI_ACCESS_LOG_FORMAT": "env %(m)s %(U)s %(s)s"})
    send(srv, b"GET /via-env HTTP/1.1\r\nHost: t\r\n")
    assert read_lines(path, 1) == ["env GET /via-env 200"]


def test_no_access_log_wins_over_a_file(server, app_dir, tmp_path):
    path = tmp_path / "off.log"
    srv = server("logapp:app", "--no-access-log", env={"PYTHONPATH": str(app_dir),
                                                       "FASTWSGI_ACCESS_LOG_FILE": str(path)})
    send(srv, b"GET /quiet HTTP/1.1\r\nHost: t\r\n")
    assert srv.stop() == 0
    assert not path.exists()


RUN_SCRIPT = textwrap.dedent("""
    import sys
    import fastwsgi
    from logapp import app

    fastwsgi.run(app, host="127.0.0.1", port=0, access_log_file=sys.argv[1],
                 access_log_format="run %(m)s %(U)s %(s)s %(b)s")
""")


def test_run_keywords(app_dir):
    script = app_dir / "serve.py"
    script.write_text(RUN_SCRIPT)
    path = app_dir / "run.log"
    proc = ServerProcess([sys.executable, str(script), str(path)], cwd=str(app_dir),
                         env={"PYTHONPATH": str(app_dir)}).wait_listening()
    try:
        send(proc, b"GET /from-run HTTP/1.1\r\nHost: t\r\n")
        assert read_lines(path, 1) == ["run GET /from-run 200 10"]
    finally:
        assert proc.stop() == 0
        proc.close()


def cli_error(*args, env=None):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("FASTWSGI_")}
    environ.update(env or {})
    result = subprocess.run([sys.executable, "-m", "fastwsgi", "--port", "0", *args], env=environ,
                            capture_output=True, text=True, timeout=60, cwd=TESTS)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert lines[0].startswith("fastwsgi: error: ") and "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.parametrize("fmt, bad", [("%(h)s %(x)s", "'%(x)s' at position 6"),
                                      ("%(h)d", "'%' at position 0"),
                                      ("100%", "'%' at position 3"),
                                      ("%({}i)s", "'%({}i)s'"),
                                      ("%({x}z)s", "'%({x}z)s'")])
def test_bad_format_is_a_one_line_error(fmt, bad):
    line = cli_error("--access-log-format", fmt)
    assert "--access-log-format must be a format of gunicorn atoms (" + bad in line
    assert "{header}i" in line


def test_bad_format_from_the_environment_names_the_variable():
    line = cli_error(env={"FASTWSGI_ACCESS_LOG_FORMAT": "%(nope)s"})
    assert "FASTWSGI_ACCESS_LOG_FORMAT must be a format of gunicorn atoms ('%(nope)s'" in line


def test_unwritable_file_is_a_one_line_error(tmp_path):
    line = cli_error("--access-log-file", str(tmp_path / "no" / "such" / "dir.log"))
    assert "cannot open the access log file" in line and "No such file or directory" in line


def test_bad_format_keyword_raises_config_error():
    import fastwsgi
    from fastwsgi.errors import ConfigError

    with pytest.raises(ConfigError, match=r"access_log_format must be a format of gunicorn atoms"):
        fastwsgi.run(lambda e, s: [], port=0, access_log_format="%(zz)s")


# -- the option table's side, without a server -----------------------------------

def config(overrides=None, environ=None):
    from fastwsgi.config import Config
    return Config.from_sources(overrides or {}, environ or {}, origin="api")


def test_options_defaults_and_sources():
    from fastwsgi.accesslog import DEFAULT_FORMAT
    assert (config().access_log_format, config().access_log_file) == (DEFAULT_FORMAT, None)
    env = {"FASTWSGI_ACCESS_LOG_FORMAT": "%(h)s", "FASTWSGI_ACCESS_LOG_FILE": " /var/log/a.log "}
    assert (config({}, env).access_log_format, config({}, env).access_log_file) == ("%(h)s", "/var/log/a.log")
    over = config({"access_log_format": "%(s)s", "access_log_file": "-"}, env)
    assert (over.access_log_format, over.access_log_file) == ("%(s)s", "-")


@pytest.mark.parametrize("overrides, environ, wanted", [
    ({}, {}, False),
    ({"access_log": True}, {}, True),
    ({"access_log_file": "x.log"}, {}, True),              # naming a file asks for the log
    ({}, {"FASTWSGI_ACCESS_LOG_FILE": "x.log"}, True),
    ({"access_log": False}, {"FASTWSGI_ACCESS_LOG_FILE": "x.log"}, False),   # explicit off wins
    ({}, {"FASTWSGI_ACCESS_LOG": "0", "FASTWSGI_ACCESS_LOG_FILE": "x.log"}, False),
    ({"access_log_format": "%(h)s"}, {}, False),           # a format alone does not
])
def test_when_the_log_is_on(overrides, environ, wanted):
    from fastwsgi.accesslog import access_log_wanted
    assert access_log_wanted(config(overrides, environ)) is wanted


def test_compiled_format():
    from fastwsgi.accesslog import DEFAULT_FORMAT, compile_format
    assert compile_format(DEFAULT_FORMAT)[:4] == (("h", None), ("text", b" "), ("l", None), ("text", b" "))
    assert compile_format("%(p)s 100%% %({X-Real-IP}i)s %({content-type}i)s %({Set-Cookie}o)s"
                          " %({wsgi.url_scheme}e)s") == (
        ("p", None), ("text", b" 100% "), ("i", "HTTP_X_REAL_IP"), ("text", b" "),
        ("i", "CONTENT_TYPE"), ("text", b" "), ("o", "set-cookie"), ("text", b" "),
        ("e", "wsgi.url_scheme"))
    assert compile_format("no atoms") == (("text", b"no atoms"),)
