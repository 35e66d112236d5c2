"""Serving sockets a parent process opened: `--bind fd://N` and systemd socket
activation (LISTEN_FDS / LISTEN_PID), with real server processes."""
import json
import os
import socket
import stat
import sys
import textwrap

import pytest

from conftest import ServerProcess
from http_client import get, request, unix_request

APP = "deploy_apps:app"

# Starts the server the way systemd does: the sockets named on the command line
# are moved to fds 3, 4, ..., LISTEN_FDS/LISTEN_PID are set, and the server is
# exec'd in the same process, so LISTEN_PID is its pid.
LAUNCHER = textwrap.dedent("""
    import fcntl, os, sys
    fds, argv = sys.argv[1].split(","), sys.argv[2:]
    parked = [fcntl.fcntl(int(fd), fcntl.F_DUPFD, 100) for fd in fds]
    for i, fd in enumerate(parked):
        os.dup2(fd, 3 + i)
    os.environ["LISTEN_FDS"] = str(len(fds))
    os.environ["LISTEN_PID"] = str(os.getpid())
    os.execv(sys.executable, [sys.executable, "-m", "fastwsgi"] + argv)
""")


def tcp_listener():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    return sock


def unix_listener(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.listen(16)
    return sock


def json_reply(server, path):
    reply = request(server, get(path))
    assert reply.status == 200, reply
    return json.loads(reply.body)


@pytest.fixture
def activated():
    """Start fastwsgi socket-activated with the given sockets (moved to fds 3...)."""
    started = []

    def start(sockets, *args, pattern=r"listening on http://127\.0\.0\.1:(\d+)"):
        fds = [s.fileno() for s in sockets]
        argv = [sys.executable, "-c", LAUNCHER, ",".join(map(str, fds)), *args, APP]
        proc = ServerProcess(argv, pass_fds=fds)
        started.append(proc)
        return proc.wait_listening(pattern)

    yield start
    for proc in started:
        try:
            assert proc.stop() == 0, proc.stderr_text()
        finally:
            proc.close()


def test_bind_inherited_fd(server):
    with tcp_listener() as sock:
        port = sock.getsockname()[1]
        fd = sock.fileno()
        proc = server(APP, "--bind", "fd://%d" % fd, pass_fds=[fd])
    # The parent has closed its copy: only the server's inherited one remains.
    assert proc.port == port
    assert "listening on http://127.0.0.1:%d" % port in proc.stderr_text()
    for _ in range(3):
        assert request(proc, get("/pid")).status == 200


def test_bind_inherited_fd_with_other_addresses(server, tmp_path):
    path = tmp_path / "also.sock"
    with tcp_listener() as sock:
        proc = server(APP, "--bind", "fd://%d" % sock.fileno(), "--bind", "unix:%s" % path,
                      pass_fds=[sock.fileno()])
    assert request(proc, get("/pid")).status == 200
    assert unix_request(path, get("/pid")).status == 200


def test_socket_activation_replaces_host_and_port(activated, tmp_path):
    path = tmp_path / "activated.sock"
    with tcp_listener() as tcp, unix_listener(path) as unix:
        port = tcp.getsockname()[1]
        proc = activated([tcp, unix])
    assert proc.port == port
    log = proc.stderr_text()
    assert "listening on http://127.0.0.1:%d, unix:%s " % (port, path) in log
    assert "127.0.0.1:8000" not in log
    # The variables are gone from the server's environment: nothing it starts
    # will take fds 3 and 4 for its own.
    assert json_reply(proc, "/listen-env") == {
        "LISTEN_PID": None, "LISTEN_FDS": None, "LISTEN_FDNAMES": None}
    reply = unix_request(path, get("/environ"))
    assert reply.status == 200
    assert json.loads(reply.body)["REMOTE_ADDR"] == ""      # a unix socket peer
    assert path.exists()                   # not the server's file: left alone


def test_socket_activation_with_bind_naming_the_fd(activated):
    with tcp_listener() as first, tcp_listener() as second:
        ports = [first.getsockname()[1], second.getsockname()[1]]
        proc = activated([first, second], "--bind", "fd://4", "--bind", "127.0.0.1:0")
    log = proc.stderr_text()
    assert "listening on http://127.0.0.1:%d, http://127.0.0.1:" % ports[1] in log
    assert "not serving the socket-activated fd://3: --bind is given and does not name them" in log
    with socket.create_connection(("127.0.0.1", ports[1]), timeout=10) as sock:
        sock.sendall(get("/pid"))
        assert sock.recv(12).startswith(b"HTTP/1.1 200")


def test_socket_activation_for_another_process_is_ignored(server):
    # LISTEN_PID names another process: the variables are not for us.
    proc = server(APP, env={"LISTEN_PID": "1", "LISTEN_FDS": "1"})
    assert request(proc, get("/pid")).status == 200
    assert json_reply(proc, "/listen-env")["LISTEN_FDS"] == "1"


@pytest.mark.parametrize("how", ["flag", "env"])
def test_unix_socket_mode_of_a_served_socket(server, tmp_path, how):
    path = tmp_path / ("%s.sock" % how)
    args = ["--bind", "127.0.0.1:0", "--bind", "unix:%s" % path]
    env = None
    if how == "flag":
        args += ["--unix-socket-mode", "604"]
    else:
        env = {"FASTWSGI_UNIX_SOCKET_MODE": "0o604"}
    server(APP, *args, env=env)
    assert stat.S_IMODE(os.lstat(path).st_mode) == 0o604
    assert unix_request(path, get("/pid")).status == 200
