"""A real nginx in front of a fastwsgi server, for tests (the `nginx` fixture in
conftest.py starts one).

Each Nginx runs from its own directory: a generated nginx.conf, its pid file,
error and access logs and temporary files all live there, it stays in the
foreground (daemon off) as a child of the test, and it listens on a free
port of 127.0.0.1. It proxies to one upstream, "127.0.0.1:PORT" or
"unix:/path", the way a production config does: HTTP/1.1 with keep-alive
connections to the upstream, X-Forwarded-For and X-Forwarded-Proto set.

    location /            request and response bodies buffered by nginx
    location /streamed/   bodies streamed both ways (a chunked request body
                          goes upstream chunked); the prefix is stripped

Missing nginx fails the test: .ci/run installs it.
"""
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

START_TIMEOUT = 20.0
STOP_TIMEOUT = 20.0
PORT_ATTEMPTS = 5         # a free port can be taken between probing and nginx's bind

CONFIG = """\
daemon off;
master_process on;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
{user}
events {{
    worker_connections 256;
}}

http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    client_max_body_size 0;

    # The scheme a TLS-terminating balancer in front of us reports, else ours.
    map $http_x_forwarded_proto $forwarded_proto {{
        default $http_x_forwarded_proto;
        ""      $scheme;
    }}

    upstream fastwsgi {{
        server {upstream};
        keepalive 8;
        keepalive_timeout 4s;      # as README.md advises: below fastwsgi's 5 s
    }}

    server {{
        listen 127.0.0.1:{port};

        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $forwarded_proto;

        location / {{
            proxy_pass http://fastwsgi;
        }}
        location /streamed/ {{
            proxy_pass http://fastwsgi/;
            proxy_request_buffering off;
            proxy_buffering off;
        }}
    }}
}}
"""


# nginx is not under test: .ci/asan's preloaded sanitizer runtime stays out of it.
NGINX_ENV = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}


def nginx_binary():
    """The nginx executable; fails the test (never skips) when it is missing."""
    found = shutil.which("nginx") or shutil.which(
        "nginx", path="/usr/sbin:/usr/local/sbin:/opt/homebrew/bin:/usr/local/bin")
    if found is None:
        pytest.fail("nginx is not installed: install it (apt-get install -y nginx, brew install"
                    " nginx); .ci/run does this before running the tests")
    return found


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Nginx:
    """One nginx master process proxying to `upstream`; .port, .url, .stop()."""

    def __init__(self, directory, upstream):
        self.dir = str(directory)
        self.upstream = upstream
        self.proc = None
        self.port = None
        os.makedirs(self.dir, exist_ok=True)

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    @property
    def error_log(self):
        try:
            with open(os.path.join(self.dir, "error.log"), encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def _write_config(self):
        # Run as root, nginx would hand its workers to "nobody", who cannot
        # enter the test's private temporary directory.
        user = "user root;" if os.geteuid() == 0 else ""
        path = os.path.join(self.dir, "nginx.conf")
        with open(path, "w") as f:
            f.write(CONFIG.format(dir=self.dir, user=user, port=self.port,
                                  upstream=self.upstream))
        return path

    def start(self):
        binary = nginx_binary()
        for _ in range(PORT_ATTEMPTS):
            self.port = free_port()
            conf = self._write_config()
            self.proc = subprocess.Popen(
                [binary, "-p", self.dir, "-c", conf, "-e", os.path.join(self.dir, "error.log")],
                env=NGINX_ENV, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
            if self._wait_listening():
                return self
            if "Address already in use" not in self.error_log:
                break
        raise AssertionError("nginx did not start (status %s):\n%s"
                             % (self.proc.returncode, self.error_log))

    def _wait_listening(self):
        """True once nginx has bound its port (it writes the pid file after
        that) and accepts; False if it exited."""
        pid_file = os.path.join(self.dir, "nginx.pid")
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if os.path.exists(pid_file):
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                        return True
                except OSError:
                    pass
            time.sleep(0.05)
        self.proc.kill()
        self.proc.wait()
        raise AssertionError("nginx did not start within %ss:\n%s" % (START_TIMEOUT, self.error_log))

    def stop(self):
        """Graceful stop (SIGQUIT); returns the exit status."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("nginx ignored SIGQUIT:\n" + self.error_log)
        return self.proc.returncode
