"""Listening sockets, opened for real: TCP on port 0, IPv6, unix sockets."""

import errno
import os
import shutil
import socket
import subprocess
import sys
import stat

import pytest

from conftest import TESTS
from nginx import free_port
from processes import LINUX
from fastwsgi.config import Config
from fastwsgi.errors import BindError, ConfigError
from fastwsgi.listeners import (BindAddress, close_listeners, open_listeners, parse_bind,
                                take_systemd_sockets)


def config_for(*binds, **overrides):
    overrides["bind"] = list(binds) or None
    return Config.from_sources(overrides, {})


@pytest.fixture
def opened():
    """Collects listener lists and closes them after the test."""
    lists = []

    def open_(config):
        listeners = open_listeners(config)
        lists.append(listeners)
        return listeners

    yield open_
    for listeners in lists:
        close_listeners(listeners)


def ipv6_loopback_or_skip():
    if not socket.has_ipv6:
        pytest.skip("IPv6 is not available: Python was built without IPv6 (socket.has_ipv6 is False)")
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
    except OSError as exc:
        if exc.errno == errno.EADDRNOTAVAIL:
            pytest.skip("IPv6 is not available: binding ::1 failed with %s" %
                        errno.errorcode.get(exc.errno, exc.errno))
        raise


def assert_serving(listener):
    """The socket listens, is non-blocking and close-on-exec, and accepts."""
    sock = listener.sock
    assert sock.getblocking() is False
    assert sock.get_inheritable() is False
    assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1
    if listener.kind == "unix":
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        target = sock.getsockname()
    else:
        client = socket.socket(sock.family, socket.SOCK_STREAM)
        target = sock.getsockname()[:2]
    with client:
        client.settimeout(5)
        client.connect(target)
        sock.settimeout(5)
        try:
            conn, _ = sock.accept()
        finally:
            sock.setblocking(False)
        conn.close()


# -- parse_bind --------------------------------------------------------------------


@pytest.mark.parametrize("spec, expected", [
    ("127.0.0.1:8000", BindAddress("tcp", "127.0.0.1", 8000, None)),
    ("localhost:0", BindAddress("tcp", "localhost", 0, None)),
    ("[::1]:8080", BindAddress("tcp", "::1", 8080, None)),
    ("[::]", BindAddress("tcp", "::", 7000, None)),
    ("[fe80::1%eth0]:80", BindAddress("tcp", "fe80::1%eth0", 80, None)),   # a link-local zone
    ("example.org", BindAddress("tcp", "example.org", 7000, None)),
    (":9", BindAddress("tcp", "10.1.2.3", 9, None)),
    ("unix:/tmp/s.sock", BindAddress("unix", None, None, "/tmp/s.sock")),
    ("unix:rel/s.sock", BindAddress("unix", None, None, "rel/s.sock")),
    ("fd://3", BindAddress("fd", None, None, None, 3)),
    (" fd://0 ", BindAddress("fd", None, None, None, 0)),
])
def test_parse_bind(spec, expected):
    assert parse_bind(spec, default_host="10.1.2.3", default_port=7000) == expected


def test_parse_bind_display():
    assert parse_bind("[::1]:80").display == "[::1]:80"
    assert str(parse_bind("0.0.0.0:80")) == "0.0.0.0:80"
    assert parse_bind("unix:/x").display == "unix:/x"
    assert parse_bind("fd://7").display == "fd://7"


@pytest.mark.parametrize("spec", ["", "::1", "[::1", "h:p", "h:-1", "h:65536",
                                  "tcp://h:1", "unix:", "a b:1", "1234", 80,
                                  "fd://", "fd://-1", "fd://3x", "fd://٣"])
def test_parse_bind_rejects(spec):
    with pytest.raises(ConfigError) as info:
        parse_bind(spec)
    assert "invalid bind address" in str(info.value)


# -- TCP -----------------------------------------------------------------------------


def test_tcp_port_zero_resolves_to_the_real_port(opened):
    (listener,) = opened(config_for(port="0"))
    port = listener.sock.getsockname()[1]
    assert port != 0
    assert listener.kind == "tcp"
    assert listener.display == "127.0.0.1:%d" % port
    assert listener.server_name == "127.0.0.1"
    assert listener.server_port == str(port)
    assert listener.fileno() == listener.sock.fileno()
    assert_serving(listener)


def test_tcp_reuseaddr_and_backlog(opened):
    (listener,) = opened(config_for("127.0.0.1:0", backlog="7"))
    assert listener.sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) == 1


def test_tcp_host_name_keeps_its_name_for_server_name(opened):
    (listener,) = opened(config_for("localhost:0"))
    assert listener.server_name == "localhost"
    host = listener.sock.getsockname()[0]
    assert host in ("127.0.0.1", "::1")
    assert_serving(listener)


def test_ipv6_loopback(opened):
    ipv6_loopback_or_skip()
    (listener,) = opened(config_for("[::1]:0"))
    port = listener.sock.getsockname()[1]
    assert listener.sock.family == socket.AF_INET6
    assert listener.display == "[::1]:%d" % port
    assert listener.server_name == "::1"
    assert listener.server_port == str(port)
    assert listener.sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) == 1
    assert_serving(listener)


def test_ipv6_host_option(opened):
    ipv6_loopback_or_skip()
    (listener,) = opened(config_for(host="::1", port="0"))
    assert listener.display.startswith("[::1]:")


def test_several_binds(opened, tmp_path):
    specs = ["127.0.0.1:0", "unix:%s" % (tmp_path / "a.sock"), "127.0.0.1:0"]
    listeners = opened(config_for(*specs))
    assert [l.kind for l in listeners] == ["tcp", "unix", "tcp"]
    assert listeners[0].server_port != listeners[2].server_port
    for listener in listeners:
        assert_serving(listener)


def test_port_in_use(tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        with pytest.raises(BindError) as info:
            open_listeners(config_for(port=str(port)))
    assert str(info.value) == (
        "cannot listen on 127.0.0.1:%d: address already in use (is another server"
        " running? choose another --port or --bind)" % port)


def test_failure_closes_the_listeners_already_opened(tmp_path):
    port = free_port()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        busy = holder.getsockname()[1]
        sock_path = tmp_path / "first.sock"
        with pytest.raises(BindError) as info:
            open_listeners(config_for("127.0.0.1:%d" % port, "unix:%s" % sock_path,
                                      "127.0.0.1:%d" % busy))
    assert "127.0.0.1:%d" % busy in str(info.value)
    # the first two were closed: the port is free and the socket file removed
    assert not sock_path.exists()
    with socket.socket() as again:
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("127.0.0.1", port))
        again.listen(1)
        with socket.socket() as client:
            client.settimeout(1)
            client.connect(("127.0.0.1", port))  # reaches `again`, not a leftover


def test_unknown_host():
    with pytest.raises(BindError) as info:
        open_listeners(config_for("no-such-host.invalid:0"))
    message = str(info.value)
    assert message.startswith("cannot listen on no-such-host.invalid:0: cannot resolve host"
                              " 'no-such-host.invalid'")
    assert "check --host / --bind" in message and "\n" not in message


def test_address_not_on_this_machine():
    # 192.0.2.0/24 is TEST-NET-1 (RFC 5737): normally no local address has it.
    try:
        with socket.socket() as probe:
            probe.bind(("192.0.2.77", 0))
        pytest.skip("192.0.2.77 is bindable here")
    except OSError:
        pass
    with pytest.raises(BindError) as info:
        open_listeners(config_for("192.0.2.77:0"))
    assert str(info.value).startswith("cannot listen on 192.0.2.77:0: address not available")


@pytest.mark.skipif(not LINUX,
                    reason="Linux-only: as root, the test drops CAP_NET_BIND_SERVICE with setpriv;"
                           " macOS has let every user bind ports below 1024 since 10.14")
def test_privileged_port_permission_denied():
    # As root, take away the one capability that allows binding ports < 1024, so
    # the real EACCES path runs here too (setpriv comes with util-linux).
    code = ("from fastwsgi.config import Config\n"
            "from fastwsgi.listeners import open_listeners\n"
            "from fastwsgi.errors import BindError\n"
            "try:\n"
            "    open_listeners(Config.from_sources({'bind': ['127.0.0.1:1']}, environ={}))\n"
            "except BindError as exc:\n"
            "    print(exc)\n")
    argv = [sys.executable, "-c", code]
    if os.geteuid() == 0:
        assert shutil.which("setpriv"), "setpriv (util-linux) is needed to drop CAP_NET_BIND_SERVICE"
        argv = ["setpriv", "--bounding-set=-net_bind_service", "--inh-caps=-net_bind_service"] + argv
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=TESTS)
    assert out.stdout.startswith("cannot listen on 127.0.0.1:1: permission denied"), out
    assert out.stdout.count("\n") == 1


# -- unix sockets ---------------------------------------------------------------------


unix_only = pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no AF_UNIX here")


@unix_only
def test_unix_socket(opened, tmp_path):
    path = tmp_path / "app.sock"
    (listener,) = opened(config_for("unix:%s" % path))
    assert listener.kind == "unix"
    assert listener.display == "unix:%s" % path
    assert listener.server_name == "localhost"
    assert listener.server_port == ""
    assert stat.S_ISSOCK(os.lstat(path).st_mode)
    assert_serving(listener)
    close_listeners([listener])
    assert not path.exists()
    close_listeners([listener])  # idempotent


@unix_only
def test_unix_relative_path_is_removed_even_after_chdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (listener,) = open_listeners(config_for("unix:rel.sock"))
    assert listener.display == "unix:rel.sock"
    monkeypatch.chdir("/")
    close_listeners([listener])
    assert not (tmp_path / "rel.sock").exists()


@unix_only
def test_unix_stale_socket_file_is_replaced(opened, tmp_path):
    path = tmp_path / "stale.sock"
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(path))
    dead.close()  # the file stays, nobody accepts on it: a crashed server
    assert stat.S_ISSOCK(os.lstat(path).st_mode)
    (listener,) = opened(config_for("unix:%s" % path))
    assert_serving(listener)


@unix_only
def test_unix_live_socket_is_not_replaced(tmp_path):
    path = tmp_path / "live.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as live:
        live.bind(str(path))
        live.listen(1)
        with pytest.raises(BindError) as info:
            open_listeners(config_for("unix:%s" % path))
        message = str(info.value)
        assert message.startswith("cannot listen on unix:%s: address already in use" % path)
        # still the other server's socket
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.connect(str(path))


@unix_only
def test_unix_refuses_to_replace_a_regular_file(tmp_path):
    path = tmp_path / "important.txt"
    path.write_text("data")
    with pytest.raises(BindError) as info:
        open_listeners(config_for("unix:%s" % path))
    assert str(info.value) == (
        "cannot listen on unix:%s: a file that is not a socket exists there"
        " (remove it or choose another path)" % path)
    assert path.read_text() == "data"


@unix_only
def test_unix_missing_directory(tmp_path):
    path = tmp_path / "no" / "such" / "dir.sock"
    with pytest.raises(BindError) as info:
        open_listeners(config_for("unix:%s" % path))
    assert "the directory does not exist" in str(info.value)


@unix_only
def test_unix_path_too_long(tmp_path):
    path = "/tmp/" + "x" * 200 + ".sock"
    with pytest.raises(BindError) as info:
        open_listeners(config_for("unix:%s" % path))
    assert "the path is too long" in str(info.value)


@unix_only
def test_forked_child_does_not_unlink(tmp_path):
    path = tmp_path / "shared.sock"
    (listener,) = open_listeners(config_for("unix:%s" % path))
    try:
        pid = os.fork()
        if pid == 0:  # child: closes its copy, must leave the file alone
            try:
                close_listeners([listener])
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        assert path.exists()
    finally:
        close_listeners([listener])
    assert not path.exists()


@unix_only
def test_close_does_not_remove_a_replacement_file(tmp_path):
    path = tmp_path / "replaced.sock"
    (listener,) = open_listeners(config_for("unix:%s" % path))
    os.unlink(path)
    path.write_text("someone else's")
    close_listeners([listener])
    assert path.read_text() == "someone else's"


def test_listener_repr(opened):
    (listener,) = opened(config_for("127.0.0.1:0"))
    assert listener.display in repr(listener)



@unix_only
@pytest.mark.parametrize("mode", [0o600, 0o660, 0o666])
def test_unix_socket_mode(opened, tmp_path, mode):
    path = tmp_path / "mode.sock"
    old_umask = os.umask(0o077)            # the mode wins over the umask
    try:
        opened(config_for("unix:%s" % path, unix_socket_mode=mode))
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(os.lstat(path).st_mode) == mode


@unix_only
def test_unix_socket_mode_default_follows_the_umask(opened, tmp_path):
    path = tmp_path / "umask.sock"
    old_umask = os.umask(0o027)
    try:
        opened(config_for("unix:%s" % path))
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(os.lstat(path).st_mode) == 0o750


# -- inherited sockets (fd://N, socket activation) -------------------------------------


def listening_socket(family=socket.AF_INET):
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0) if family == socket.AF_INET else "")
    sock.listen(8)
    return sock


def test_inherited_tcp_socket(opened):
    with listening_socket() as original:
        fd = os.dup(original.fileno())     # the copy a parent would have passed
        (listener,) = opened(config_for("fd://%d" % fd))
        port = original.getsockname()[1]
    assert listener.fileno() == fd
    assert listener.kind == "tcp"
    assert listener.display == "127.0.0.1:%d" % port
    assert (listener.server_name, listener.server_port) == ("127.0.0.1", str(port))
    assert_serving(listener)
    close_listeners([listener])
    with pytest.raises(OSError):
        os.fstat(fd)                       # served, so ours to close


@unix_only
def test_inherited_unix_socket_is_not_unlinked(opened, tmp_path):
    path = tmp_path / "inherited.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as original:
        original.bind(str(path))
        original.listen(8)
        (listener,) = opened(config_for("fd://%d" % os.dup(original.fileno())))
    assert (listener.kind, listener.display) == ("unix", "unix:%s" % path)
    assert (listener.server_name, listener.server_port) == ("localhost", "")
    assert_serving(listener)
    close_listeners([listener])
    assert path.exists()                   # the file belongs to whoever created it


@pytest.mark.skipif(not LINUX,
                    reason="abstract unix socket names are Linux-only")
def test_inherited_abstract_unix_socket(opened):
    with listening_socket(socket.AF_UNIX) as original:   # autobound: abstract name
        name = original.getsockname()
        (listener,) = opened(config_for("fd://%d" % os.dup(original.fileno())))
    assert listener.display == "unix:@" + name[1:].decode()


def inherited_error(fd):
    with pytest.raises(BindError) as info:
        open_listeners(config_for("fd://%d" % fd))
    message = str(info.value)
    assert message.startswith("cannot listen on fd://%d: " % fd) and "\n" not in message
    return message


def test_inherited_fd_not_open():
    fd = os.dup(0)
    os.close(fd)
    assert "file descriptor %d is not open in this process" % fd in inherited_error(fd)


@pytest.mark.parametrize("kind", ["regular file", "pipe", "character device"])
def test_inherited_fd_not_a_socket(tmp_path, kind):
    if kind == "pipe":
        fd, other = os.pipe()
    elif kind == "character device":
        fd = other = os.open(os.devnull, os.O_RDWR)
    else:
        fd = other = os.open(str(tmp_path / "f"), os.O_CREAT | os.O_RDWR)
    try:
        assert ("it is a %s, not a listening socket" % kind) in inherited_error(fd)
        os.fstat(fd)                       # still open: not ours to close
    finally:
        os.close(fd)
        if other != fd:
            os.close(other)


def test_inherited_socket_not_listening():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        message = inherited_error(sock.fileno())
        assert "it is a socket that is not listening (call listen() on it" in message
        assert sock.getsockname()[1] != 0  # the fd is untouched


def test_inherited_datagram_socket():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        assert "a datagram or other non-stream socket" in inherited_error(sock.fileno())


def test_same_fd_twice_is_a_duplicate():
    with pytest.raises(ConfigError) as info:
        config_for("fd://5", "fd://5")
    assert "same address" in str(info.value)


def test_systemd_sockets_for_this_process():
    environ = {"LISTEN_PID": str(os.getpid()), "LISTEN_FDS": "3",
               "LISTEN_FDNAMES": "a:b:c", "OTHER": "kept"}
    assert take_systemd_sockets(environ) == ["fd://3", "fd://4", "fd://5"]
    assert environ == {"OTHER": "kept"}    # removed, so children never take them


@pytest.mark.parametrize("environ", [
    {},
    {"LISTEN_FDS": "1"},                            # no LISTEN_PID: not for us
    {"LISTEN_PID": "1", "LISTEN_FDS": "1"},         # for another process
    {"LISTEN_PID": "x", "LISTEN_FDS": "1"},
])
def test_systemd_sockets_for_someone_else(environ):
    before = dict(environ)
    assert take_systemd_sockets(environ) == []
    assert environ == before


def test_systemd_sockets_bad_count():
    environ = {"LISTEN_PID": str(os.getpid()), "LISTEN_FDS": "two"}
    with pytest.raises(ConfigError) as info:
        take_systemd_sockets(environ)
    assert str(info.value) == ("LISTEN_FDS must be the number of sockets passed by socket"
                               " activation, got 'two'; check the service manager's setup")
    assert environ == {}
