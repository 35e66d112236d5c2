"""fastwsgi.simple_server is a drop-in for wsgiref.simple_server.

Each tests/dropin_*.py file is a small wsgiref-style program that imports its
server module from the name given on its command line. Every test runs the
program once with wsgiref.simple_server and once with fastwsgi.simple_server in
a child process, talks to it over real sockets (and stdin/stdout lines), and
asserts the same outside behaviour for both.
"""
import http.client
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading

import pytest

from http_client import read_reply, recv_until_closed

TESTS = os.path.dirname(os.path.abspath(__file__))
STEP_TIMEOUT = 20.0        # generous: a cold interpreter on a busy 2-core machine

MODULES = {"wsgiref": "wsgiref.simple_server", "fastwsgi": "fastwsgi.simple_server"}


class Program:
    """A drop-in program in a child process; stdout is read line by line."""

    def __init__(self, script, module, args, workdir):
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([TESTS, env.get("PYTHONPATH", "")])   # fastwsgi: the installed one
        env.pop("PYTHONUNBUFFERED", None)      # the programs flush what they print
        self.stderr_path = os.path.join(workdir, "%s-%s.stderr" % (script, module))
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(TESTS, script), module, *[str(a) for a in args]],
            cwd=workdir, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._stderr, text=True)
        self.lines = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def stderr_text(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def next_line(self, timeout=STEP_TIMEOUT):
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("program printed nothing for %ss; stderr:\n%s"
                                 % (timeout, self.stderr_text())) from None
        if line is None:
            self.lines.put(None)
            raise AssertionError("program ended (status %s) before printing the next line; stderr:\n%s"
                                 % (self.proc.wait(STEP_TIMEOUT), self.stderr_text()))
        return line

    def expect(self, prefix, timeout=STEP_TIMEOUT):
        """The next stdout line, which must start with prefix."""
        line = self.next_line(timeout)
        assert line.startswith(prefix), "expected %r, got %r; stderr:\n%s" % (prefix, line, self.stderr_text())
        return line

    def send(self, command):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def finish(self, timeout=STEP_TIMEOUT):
        """Wait for the exit; returns (status, the stdout lines not read yet)."""
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("program did not exit within %ss; stderr:\n%s"
                                 % (timeout, self.stderr_text())) from None
        self.reader.join(STEP_TIMEOUT)
        rest = []
        while True:
            line = self.lines.get_nowait() if not self.lines.empty() else None
            if line is None:
                return code, rest
            rest.append(line)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self._stderr.close()


@pytest.fixture(params=sorted(MODULES), ids=sorted(MODULES))
def module(request):
    return MODULES[request.param]


@pytest.fixture
def program(tmp_path):
    started = []

    def run(script, module, *args):
        p = Program(script, module, args, str(tmp_path))
        started.append(p)
        return p

    yield run
    for p in started:
        p.close()


def fetch(port, path, method="GET", body=None, headers=None):
    """One request on a fresh connection: (status, headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=STEP_TIMEOUT)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.getheaders(), resp.read()
    finally:
        conn.close()


def port_of(line):
    return int(line.split()[-1])


def test_serve_forever_in_a_thread_and_shutdown_from_the_main_thread(module, program):
    p = program("dropin_threaded.py", module)
    port = port_of(p.expect("port "))
    assert p.expect("app is hello_app") == "app is hello_app True"
    p.send("start")
    p.expect("started")
    for path in ("/a", "/b/c", "/"):
        status, _, body = fetch(port, path)
        assert (status, body) == (200, ("hello " + path).encode())
    # A client that keeps its connection open must not hold shutdown() up.
    idle = http.client.HTTPConnection("127.0.0.1", port, timeout=STEP_TIMEOUT)
    idle.request("GET", "/idle")
    assert idle.getresponse().read() == b"hello /idle"
    p.send("stop")
    assert p.expect("stopped") == "stopped True"

    # Stopped, the listening socket stays open: a request waits in the backlog
    # and is answered once serve_forever() runs again (as socketserver does).
    waiting = socket.create_connection(("127.0.0.1", port), timeout=STEP_TIMEOUT)
    waiting.sendall(b"GET /queued HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    p.send("start")
    p.expect("started")
    reply = read_reply(waiting)
    waiting.close()
    assert (reply.status, reply.body) == (200, b"hello /queued")
    status, _, body = fetch(port, "/again")
    assert (status, body) == (200, b"hello /again")
    p.send("stop")
    assert p.expect("stopped") == "stopped True"
    p.send("quit")
    assert p.expect("closed") == "closed"
    assert p.finish() == (0, [])
    idle.close()
    assert "Traceback" not in p.stderr_text()


def test_shutdown_lets_the_response_in_flight_finish(module, program):
    """socketserver's shutdown() stops serve_forever() between requests: a
    response being sent when it is called still reaches the client whole."""
    size = 32 * 1024 * 1024                     # far more than the socket buffers hold
    p = program("dropin_threaded.py", module)
    port = port_of(p.expect("port "))
    p.expect("app is hello_app True")
    p.send("start")
    p.expect("started")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/download?%d" % size)
    resp = conn.getresponse()
    assert resp.status == 200
    received = len(resp.read(65536))
    p.send("stop")                              # shutdown() while the body is on its way
    try:
        while True:
            piece = resp.read(1 << 20)
            if not piece:
                break
            received += len(piece)
    except (OSError, http.client.HTTPException) as exc:
        raise AssertionError("response cut after %d of %d bytes: %r" % (received, size, exc)) from None
    finally:
        conn.close()
    assert received == size
    assert p.expect("stopped") == "stopped True"
    p.send("quit")
    p.expect("closed")
    assert p.finish() == (0, [])


def test_set_app_swaps_the_app_between_requests(module, program):
    p = program("dropin_threaded.py", module)
    port = port_of(p.expect("port "))
    p.expect("app is hello_app True")
    p.send("start")
    p.expect("started")
    assert fetch(port, "/x")[2] == b"hello /x"
    p.send("swap")
    assert p.expect("swapped") == "swapped True"
    assert fetch(port, "/x")[2] == b"goodbye /x"
    assert fetch(port, "/y")[2] == b"goodbye /y"
    p.send("stop")
    p.expect("stopped True")
    p.send("quit")
    p.expect("closed")
    assert p.finish() == (0, [])


def test_handle_request_in_a_loop_serves_n_requests_then_exits(module, program):
    p = program("dropin_handle_request.py", module, 3)
    port = port_of(p.expect("port "))
    status, _, body = fetch(port, "/a?x=1")
    assert (status, body) == (200, b"GET /a?x=1 0")
    p.expect("handled 1")
    status, _, body = fetch(port, "/submit", method="POST", body=b"v" * 100000,
                            headers={"Content-Type": "application/octet-stream"})
    assert (status, body) == (200, b"POST /submit? 100000")
    p.expect("handled 2")
    status, _, body = fetch(port, "/missing")
    assert (status, body) == (404, b"no such page")
    p.expect("handled 3")
    p.expect("done")
    assert p.finish() == (0, [])
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


def test_handle_request_answers_one_request_per_call(module, program):
    """Three clients are already waiting when the loop of handle_request()
    starts: each call answers exactly one of them, so the program's count of
    requests holds and it exits after the third."""
    p = program("dropin_handle_request.py", module, 3, "wait")
    port = port_of(p.expect("port "))
    clients = []
    for i in range(3):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(b"GET /c%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % i)
        clients.append(sock)
    p.send("go")
    bodies = []
    for sock in clients:
        with sock:
            bodies.append(read_reply(sock).body)
    assert sorted(bodies) == [b"GET /c0? 0", b"GET /c1? 0", b"GET /c2? 0"]
    for i in (1, 2, 3):
        assert p.expect("handled", timeout=10) == "handled %d" % i
    p.expect("done")
    assert p.finish() == (0, [])


def test_handle_request_client_reusing_its_connection(module, program):
    """Each handle_request() call answers one request of a client that reuses
    its connection. wsgiref closes after each answer and says so (HTTP/1.0);
    fastwsgi keeps the connection open for the next call. Either way the
    response must not claim keep-alive on a connection that then closes."""
    p = program("dropin_handle_request.py", module, 3)
    port = port_of(p.expect("port "))
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        for i in range(3):
            conn.request("GET", "/r%d" % i)
            resp = conn.getresponse()
            assert (resp.status, resp.read()) == (200, b"GET /r%d? 0" % i)
            if module == "wsgiref.simple_server":
                assert resp.will_close
            else:
                assert not resp.will_close and conn.sock is not None   # still the same connection
            assert p.expect("handled", timeout=10) == "handled %d" % (i + 1)
    finally:
        conn.close()
    p.expect("done")
    assert p.finish() == (0, [])


LOG_LINE = re.compile(r'^127\.0\.0\.1 - - \[\d\d/[A-Z][a-z]{2}/\d{4} \d\d:\d\d:\d\d\] (.*)$')


def run_logging_program(module, program):
    """Drive dropin_handle_request.py (default handler) and return its
    stderr lines with the date left out."""
    p = program("dropin_handle_request.py", module, 4)
    port = port_of(p.expect("port "))
    assert fetch(port, "/hello?name=x")[0] == 200
    assert fetch(port, "/missing")[0] == 404
    assert fetch(port, "/form", method="POST", body=b"a=1&b=2")[0] == 200
    with socket.create_connection(("127.0.0.1", port), timeout=STEP_TIMEOUT) as sock:
        sock.sendall(b"GET /old-client HTTP/1.0\r\n\r\n")
        assert read_reply(sock).status == 200
    p.expect("handled 1")
    p.expect("handled 2")
    p.expect("handled 3")
    p.expect("handled 4")
    p.expect("done")
    assert p.finish() == (0, [])
    lines = p.stderr_text().splitlines()
    parsed = [LOG_LINE.match(line) for line in lines]
    assert all(parsed), "lines not in the wsgiref log format:\n%s" % "\n".join(lines)
    return [m.group(1) for m in parsed]


def test_default_handler_logs_one_line_per_request_to_stderr(module, program):
    assert run_logging_program(module, program) == [
        '"GET /hello?name=x HTTP/1.1" 200 19',
        '"GET /missing HTTP/1.1" 404 12',
        '"POST /form HTTP/1.1" 200 13',
        '"GET /old-client HTTP/1.0" 200 18',
    ]


def test_default_log_lines_match_wsgiref(program):
    assert (run_logging_program(MODULES["fastwsgi"], program)
            == run_logging_program(MODULES["wsgiref"], program))


def hostile_request_log_line(module, program):
    """The log line of a request whose target holds a backslash and quotes, the
    characters of its class a log must escape (the parser refuses controls)."""
    p = program("dropin_handle_request.py", module, 1)
    port = port_of(p.expect("port "))
    with socket.create_connection(("127.0.0.1", port), timeout=STEP_TIMEOUT) as sock:
        sock.sendall(b'GET /a\\b"c?x=\\y" HTTP/1.1\r\nHost: t\r\n\r\n')
        assert read_reply(sock).status == 200
    p.expect("handled 1")
    p.expect("done")
    assert p.finish() == (0, [])
    line, = p.stderr_text().splitlines()
    return LOG_LINE.match(line).group(1)


def test_log_line_escapes_like_wsgiref(program):
    fastwsgi_line = hostile_request_log_line(MODULES["fastwsgi"], program)
    assert fastwsgi_line == hostile_request_log_line(MODULES["wsgiref"], program)
    assert fastwsgi_line.startswith('"GET /a\\\\b"c?x=\\\\y" HTTP/1.1" 200 ')


def test_handle_request_times_out_and_calls_handle_timeout(module, program):
    p = program("dropin_timeout.py", module)
    _, _, calls, waited = p.expect("timed out ").split()
    assert calls == "1"
    assert 0.2 <= float(waited) < 10.0
    port = port_of(p.expect("port "))
    status, _, body = fetch(port, "/")
    assert (status, body) == (200, b"after the timeout")
    assert p.expect("served") == "served 1"      # a served request is no timeout
    assert p.finish() == (0, [])


def test_context_manager_port_zero_fileno_and_server_close(module, program):
    p = program("dropin_context.py", module, 2)
    info = json.loads(p.next_line())
    port = info["server_port"]
    assert port > 0
    assert info["server_address"] == ["127.0.0.1", port]
    assert info["getsockname"] == ["127.0.0.1", port]
    assert info["fileno"] == info["socket_fileno"] and info["fileno"] >= 0
    assert info["fileno_port"] == port and info["fileno_type"]
    for i, path in enumerate(["/one", "/two"], 1):
        status, _, body = fetch(port, path)
        assert status == 200
        assert json.loads(body) == {"SERVER_PORT": str(port), "path": path}
        assert p.expect("served") == "served %d" % i
    closed = json.loads(p.next_line())
    assert closed == {"socket_fileno": -1, "connect": "refused"}
    assert p.finish() == (0, [])


def test_demo_app_is_served(module, program):
    p = program("dropin_demo.py", module)
    line = p.expect("Serving HTTP on ")
    assert re.match(r"^Serving HTTP on 0\.0\.0\.0 port \d+ \.\.\.$", line), line
    # wsgiref trusts no forwarding header, even from the loopback peer.
    status, headers, body = fetch(port_of(line.rstrip(" .")), "/xyz?abc", headers={
        "X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"})
    assert status == 200
    assert dict(headers)["Content-Type"] == "text/plain; charset=utf-8"
    assert body.startswith(b"Hello world!\n")
    text = body.decode("utf-8")
    for expected in ("PATH_INFO = '/xyz'", "QUERY_STRING = 'abc'", "REQUEST_METHOD = 'GET'",
                     "wsgi.url_scheme = 'http'", "REMOTE_ADDR = '127.0.0.1'"):
        assert expected in text.splitlines(), expected
    assert p.finish() == (0, [])


def test_handler_subclass_log_message_override_takes_effect(module, program, tmp_path):
    logfile = tmp_path / ("requests-%s.log" % module)
    p = program("dropin_logfile.py", module, logfile, 2)
    port = port_of(p.expect("port "))
    status, _, body = fetch(port, "/page?id=7")
    assert (status, body) == (200, b"logged")
    status, _, body = fetch(port, "/gone")
    assert (status, body) == (410, b"gone")
    p.expect("done")
    assert p.finish() == (0, [])
    assert logfile.read_text().splitlines() == [
        '127.0.0.1|GET|/page?id=7|HTTP/1.1|"GET /page?id=7 HTTP/1.1" 200 6',
        '127.0.0.1|GET|/gone|HTTP/1.1|"GET /gone HTTP/1.1" 410 4',
    ]
    assert p.stderr_text() == ""                   # the override replaced the stderr log


@pytest.mark.parametrize("keep_connection", [False, True], ids=["no-client", "keep-alive-client"])
def test_keyboard_interrupt_leaves_serve_forever(module, program, keep_connection):
    p = program("dropin_sigint.py", module)
    port = port_of(p.expect("Serving on port "))
    kept = None
    if keep_connection:
        # A keep-alive client still connected must not keep the program alive.
        kept = http.client.HTTPConnection("127.0.0.1", port, timeout=STEP_TIMEOUT)
        kept.request("GET", "/")
        assert kept.getresponse().read() == b"running"
    # Once the server has closed this connection it is done with the request and
    # back in serve_forever()'s wait. (wsgiref swallows a KeyboardInterrupt that
    # lands inside a request, so the signal must not be sent earlier.)
    with socket.create_connection(("127.0.0.1", port), timeout=STEP_TIMEOUT) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert read_reply(sock).body == b"running"
        assert recv_until_closed(sock) == b""
    p.proc.send_signal(signal.SIGINT)
    assert p.finish() == (0, ["bye"])
    if kept is not None:
        kept.close()
    assert "Traceback" not in p.stderr_text()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
