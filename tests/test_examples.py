"""The files in examples/ work as README says: the hello app serves, the systemd
units' command line serves socket-activated and reloads on HUP, and the nginx
site is a configuration nginx accepts."""
import os
import shlex
import signal
import socket
import subprocess
import sys

from conftest import ROOT, ServerProcess
from http_client import get, request, unix_request
from nginx import NGINX_ENV, nginx_binary
from processes import wait_for, wait_workers
from test_socket_activation import LAUNCHER

EXAMPLES = os.path.join(ROOT, "examples")


def unit_setting(path, key):
    """The value of the first `key=` line of a systemd unit file."""
    with open(path) as f:
        for line in f:
            if line.startswith(key + "="):
                return line[len(key) + 1:].strip()
    raise AssertionError("%s has no %s=" % (path, key))


def test_hello_example(server):
    proc = server("hello:app", env={"PYTHONPATH": EXAMPLES})
    reply = request(proc, get("/"))
    assert reply.status == 200 and reply.body == b"Hello, World!\n"


def test_systemd_units_serve_socket_activated_and_reload_on_hup(tmp_path):
    unit_dir = os.path.join(EXAMPLES, "systemd")
    assert unit_setting(os.path.join(unit_dir, "app.socket"), "ListenStream").startswith("/")
    exec_start = shlex.split(unit_setting(os.path.join(unit_dir, "app.service"), "ExecStart"))
    assert exec_start[0].endswith("/fastwsgi")
    options, app = exec_start[1:-1], exec_start[-1]
    assert app == "myproject.wsgi:application"

    path = str(tmp_path / "app.sock")        # what systemd would create from app.socket
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(16)
    argv = [sys.executable, "-c", LAUNCHER, str(listener.fileno()), *options, "hello:app"]
    proc = ServerProcess(argv, env={"PYTHONPATH": EXAMPLES}, pass_fds=[listener.fileno()])
    listener.close()
    try:
        workers = os.cpu_count()                 # --workers auto
        wait_for("the startup line", lambda: "listening on unix:%s (%d workers" % (path, workers)
                 in proc.stderr_text())
        first = wait_workers(proc.pid, workers)
        assert unix_request(path, get("/")).body == b"Hello, World!\n"

        os.kill(proc.pid, signal.SIGHUP)         # ExecReload
        wait_workers(proc.pid, workers, other_than=first)
        assert unix_request(path, get("/")).body == b"Hello, World!\n"
        assert proc.stop() == 0, proc.stderr_text()   # KillSignal=SIGTERM
    finally:
        proc.close()


def test_nginx_site_is_accepted_by_nginx(tmp_path):
    conf = tmp_path / "nginx.conf"
    temp_paths = "".join("    %s_temp_path %s;\n" % (kind, tmp_path / kind)
                         for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf.write_text(
        "pid %s;\nerror_log %s;\nevents {}\nhttp {\n    access_log off;\n%s"
        "    include %s;\n}\n" % (tmp_path / "nginx.pid", tmp_path / "error.log", temp_paths,
                                  os.path.join(EXAMPLES, "nginx", "app.conf")))
    checked = subprocess.run([nginx_binary(), "-t", "-c", str(conf), "-p", str(tmp_path)],
                             env=NGINX_ENV, capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr
