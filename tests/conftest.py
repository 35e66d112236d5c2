"""Fixtures that start real server processes on real sockets.

`server(app_spec, *args)` starts `python -m fastwsgi APP --port 0 ...` in a
child process, waits until it logs where it listens and answers a TCP connect,
and at teardown stops it with SIGTERM and checks it exits with status 0.
`wsgiref_server(app_spec)` does the same with the standard library's
wsgiref.simple_server, the reference that behaviour suites compare against.
`nginx(upstream)` puts a real nginx in front of a server (tests/nginx.py).
"""
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from fastwsgi.runner import raise_fd_limit
from nginx import Nginx

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = os.path.dirname(os.path.abspath(__file__))
START_TIMEOUT = 20.0      # generous: a cold interpreter on a busy 2-core machine
STOP_TIMEOUT = 10.0
OPEN_FILES = 4096         # tests hold a thousand connections open at once

# macOS's default limit is 256 open files: lift it for the tests
# and the servers they start (which inherit it).
raise_fd_limit(OPEN_FILES)
# macOS gives each user a temporary directory deep under /var/folders, where a
# unix socket in tmp_path would pass the 104-byte limit on its path.
if sys.platform == "darwin":
    tempfile.tempdir = "/tmp"


class ServerProcess:
    """A server running in a child process; .host/.port/.url/.pid and .stderr_text()."""

    def __init__(self, argv, env=None, cwd=TESTS, pass_fds=()):
        self.argv = argv
        fd, self.log_path = tempfile.mkstemp(prefix="fastwsgi-test-", suffix=".log")
        self.log_file = os.fdopen(fd, "w+b")
        full_env = dict(os.environ)
        env = dict(env or {})
        # PYTHONPATH entries a test gives go first; the tests/ folder stays reachable.
        paths = [env.pop("PYTHONPATH", ""), TESTS, full_env.get("PYTHONPATH", "")]
        full_env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
        full_env["PYTHONUNBUFFERED"] = "1"
        full_env.update(env)
        self.proc = subprocess.Popen(argv, cwd=cwd, env=full_env, stdin=subprocess.DEVNULL,
                                     stdout=self.log_file, stderr=subprocess.STDOUT,
                                     pass_fds=pass_fds)
        self.pid = self.proc.pid
        self.host = "127.0.0.1"
        self.port = None

    def wait_listening(self, pattern=r"listening on http://127\.0\.0\.1:(\d+)"):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            match = re.search(pattern, self.stderr_text())
            if match:
                self.port = int(match.group(1))
                break
            if self.proc.poll() is not None:
                raise AssertionError("server exited with %s before listening:\n%s"
                                     % (self.proc.returncode, self.stderr_text()))
            time.sleep(0.05)
        else:
            raise AssertionError("server did not start:\n" + self.stderr_text())
        with socket.create_connection((self.host, self.port), timeout=START_TIMEOUT):
            pass
        return self

    @property
    def url(self):
        return "http://%s:%d" % (self.host, self.port)

    def stderr_text(self):
        self.log_file.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def connect(self, timeout=10.0):
        return socket.create_connection((self.host, self.port), timeout=timeout)

    def stop(self, sig=signal.SIGTERM):
        """Stop with a signal; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("server ignored signal %s:\n%s" % (sig, self.stderr_text()))
        return self.proc.returncode

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log_file.close()
        try:
            os.unlink(self.log_path)
        except OSError:
            pass


@pytest.fixture
def server():
    """Start fastwsgi on a free port: server("apps:hello", "--access-log")."""
    started = []

    def start(app_spec, *args, env=None, pass_fds=(), launcher=("-m", "fastwsgi")):
        argv = [sys.executable, *launcher, "--host", "127.0.0.1", "--port", "0", *args]
        if app_spec:
            argv.append(app_spec)
        proc = ServerProcess(argv, env=env, pass_fds=pass_fds)
        started.append(proc)
        return proc.wait_listening()

    yield start
    stop_all(started)


def stop_all(started, name="server"):
    """Teardown: stop each process still running with SIGTERM, which must end
    it with status 0; then close them all."""
    try:
        for proc in started:
            if proc.proc.poll() is None:
                code = proc.stop()
                assert code == 0, "%s exited with %s on SIGTERM:\n%s" % (name, code, proc.stderr_text())
    finally:
        for proc in started:
            proc.close()


@pytest.fixture
def nginx(tmp_path):
    """Start a real nginx proxying to an upstream: nginx("127.0.0.1:PORT") or
    nginx("unix:/path"); see tests/nginx.py. Stopped gracefully at teardown,
    which must succeed."""
    started = []

    def start(upstream):
        proxy = Nginx(tmp_path / ("nginx-%d" % len(started)), upstream)
        started.append(proxy)
        return proxy.start()

    yield start
    stopped = [(proxy, proxy.stop()) for proxy in started]
    for proxy, code in stopped:
        assert code == 0, "nginx exited with %s:\n%s" % (code, proxy.error_log)


@pytest.fixture
def wsgiref_server():
    """The reference: wsgiref.simple_server serving the same app spec."""
    started = []

    def start(app_spec):
        argv = [sys.executable, os.path.join(TESTS, "wsgiref_runner.py"), app_spec]
        proc = ServerProcess(argv)
        started.append(proc)
        return proc.wait_listening(r"listening on http://127\.0\.0\.1:(\d+)")

    yield start
    for proc in started:
        proc.close()


@pytest.fixture(params=["fastwsgi", "wsgiref"])
def any_server(request, server, wsgiref_server):
    """Run a behaviour test against fastwsgi and against the wsgiref reference."""
    start = server if request.param == "fastwsgi" else wsgiref_server
    start.kind = request.param
    return start
