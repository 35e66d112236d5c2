"""Listening sockets: parse bind addresses, open them, close them.

Bind address forms (the same for --bind, FASTWSGI_BIND and run(bind=...)):

    HOST:PORT       127.0.0.1:8000, 0.0.0.0:8000, localhost:8000
    [IPV6]:PORT     [::1]:8000, [::]:8000
    HOST            port taken from --port
    [IPV6]          port taken from --port
    :PORT           host taken from --host (NOT all interfaces)
    unix:PATH       unix:/run/app.sock (a relative PATH is relative to the cwd)
    fd://N          a listening socket inherited as file descriptor N

A TCP host name is resolved with getaddrinfo and the first address is bound,
so one bind address gives exactly one socket.  IPv6 sockets are IPV6_V6ONLY:
to accept IPv4 and IPv6 on all interfaces, bind both 0.0.0.0:PORT and
[::]:PORT.

Socket activation (systemd, or anything that follows sd_listen_fds(3)): when
LISTEN_PID is this process's pid, the LISTEN_FDS sockets starting at fd 3 are
served in place of --host/--port.  With an explicit --bind they are served only
where it names them (fd://3, ...), so the two can be mixed.  The variables are
removed from the environment either way, so that a process started later (the
app's subprocesses, a re-executed server) does not take them for its own.

The sockets returned by open_listeners() are listening, non-blocking and
close-on-exec; the server core only has to accept() on them.
"""

import errno
import logging
import os
import socket
import stat
import sys
from typing import List, NamedTuple, Optional

from fastwsgi.errors import BindError, ConfigError

__all__ = [
    "BindAddress",
    "Listener",
    "parse_bind",
    "open_listeners",
    "reuse_port_copies",
    "close_listeners",
]

log = logging.getLogger("fastwsgi")

BIND_FORMS = "HOST:PORT, [IPV6]:PORT, HOST, :PORT, unix:PATH or fd://N"

SD_LISTEN_FDS_START = 3  # sd_listen_fds(3): the first inherited socket

# sun_path is 108 bytes on Linux, 104 on the BSDs and macOS, NUL included.
_UNIX_PATH_MAX = 107 if sys.platform.startswith("linux") else 103


class BindAddress(NamedTuple):
    """One parsed bind address: host and port for tcp, path for unix, fd for fd."""

    kind: str  # "tcp", "unix" or "fd"
    host: Optional[str]  # IPv6 without brackets
    port: Optional[int]
    path: Optional[str]
    fd: Optional[int] = None

    @property
    def display(self):
        """The canonical text form: "1.2.3.4:80", "[::1]:80", "unix:/x", "fd://3"."""
        if self.kind == "unix":
            return "unix:" + self.path
        if self.kind == "fd":
            return "fd://%d" % self.fd
        return "%s:%d" % (_bracket(self.host), self.port)

    def __str__(self):
        return self.display


def _bracket(host):
    return "[%s]" % host if ":" in host else host


def _bad_bind(spec, reason):
    return ConfigError(
        "invalid bind address %r: %s; use %s" % (spec, reason, BIND_FORMS)
    )


def _parse_port(spec, text):
    if not (text.isdigit() and text.isascii()) or int(text) > 65535:
        raise _bad_bind(spec, "the port must be an integer 0-65535, got %r" % text)
    return int(text)


def check_host(host):
    """Return the host without IPv6 brackets; ValueError(reason) if invalid."""
    if not isinstance(host, str):
        raise ValueError("expected a string, got a %s" % type(host).__name__)
    host = host.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        if ":" not in host:
            raise ValueError("only IPv6 addresses go in brackets")
    if not host:
        raise ValueError("the host is empty")
    if host.startswith("unix:"):
        raise ValueError("for a unix socket use --bind unix:PATH")
    if "://" in host:
        raise ValueError("drop the scheme, e.g. 0.0.0.0 instead of http://0.0.0.0")
    if any(c.isspace() or c in "/[]\x00" for c in host):
        raise ValueError("it contains characters a host name cannot hold")
    if ":" in host:
        address, percent, zone = host.partition("%")  # a link-local one may name its interface
        try:
            socket.inet_pton(socket.AF_INET6, address)
            valid = not percent or (zone != "" and "%" not in zone)
        except (OSError, ValueError):
            valid = False
        if not valid:
            raise ValueError(
                "it contains ':' but is not an IPv6 address"
                " (give a port with --port, or use --bind HOST:PORT)"
            )
    elif host.isdigit():
        raise ValueError("a bare number is not a host; a port goes after ':' or in --port")
    return host


def parse_bind(spec, default_host="127.0.0.1", default_port=8000):
    """Parse one bind address (forms in the module docstring).

    `default_host` fills in ":PORT", `default_port` fills in a bare "HOST".
    Raises ConfigError with a one-line message on a malformed address.
    """
    if not isinstance(spec, str):
        raise ConfigError(
            "invalid bind address %r: expected a string; use %s" % (spec, BIND_FORMS)
        )
    text = spec.strip()
    if not text:
        raise _bad_bind(spec, "it is empty")
    if text.startswith("unix:"):
        path = text[len("unix:"):]
        if not path:
            raise _bad_bind(spec, "the unix socket path is empty")
        if "\x00" in path:
            raise _bad_bind(spec, "the unix socket path contains a NUL byte")
        return BindAddress("unix", None, None, path)
    if text.startswith("fd://"):
        number = text[len("fd://"):]
        if not (number.isdigit() and number.isascii()):
            raise _bad_bind(spec, "the file descriptor must be a number, got %r" % number)
        return BindAddress("fd", None, None, None, int(number))
    if "://" in text:
        raise _bad_bind(spec, "drop the scheme (%s)" % text.split("://", 1)[0])

    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise _bad_bind(spec, "missing ']' after the IPv6 address")
        host_text, rest = text[: end + 1], text[end + 1:]
        if rest == "":
            port = default_port
        elif rest.startswith(":"):
            port = _parse_port(spec, rest[1:])
        else:
            raise _bad_bind(spec, "expected ':PORT' after ']'")
    elif text.count(":") > 1:
        raise _bad_bind(spec, "IPv6 addresses need brackets, e.g. [::1]:8000")
    elif ":" in text:
        host_text, port_text = text.split(":")
        port = _parse_port(spec, port_text)
        if host_text == "":
            host_text = default_host
    else:
        host_text, port = text, default_port

    try:
        host = check_host(host_text)
    except ValueError as exc:
        raise _bad_bind(spec, "bad host %r: %s" % (host_text, exc)) from None
    return BindAddress("tcp", host, port, None)


class Listener:
    """A listening socket and what the WSGI environ needs to know about it.

    sock         listening, non-blocking, close-on-exec socket.socket
    kind         "tcp" or "unix" (an inherited socket's own family decides)
    display      "127.0.0.1:8000", "[::1]:8000", "unix:/tmp/x.sock" (real port)
    server_name  SERVER_NAME: the host as given in the bind address, or
                 "localhost" for unix sockets
    server_port  SERVER_PORT: the bound port as a string ("" for unix)
    address      the parsed BindAddress
    """

    __slots__ = (
        "sock", "kind", "display", "server_name", "server_port", "address",
        "path", "_owner_pid", "_file_id",
    )

    def __init__(self, sock, address, display, server_name, server_port,
                 path=None, file_id=None):
        self.sock = sock
        self.kind = "unix" if sock.family == getattr(socket, "AF_UNIX", None) else "tcp"
        self.address = address
        self.display = display
        self.server_name = server_name
        self.server_port = server_port
        self.path = path  # absolute path of the unix socket file
        self._owner_pid = os.getpid()
        self._file_id = file_id  # (st_dev, st_ino) of the file we created

    def fileno(self):
        return self.sock.fileno()

    def close(self):
        """Close the socket; the process that created a unix socket file also
        removes it, if it is still the file it created.  Idempotent."""
        self.sock.close()
        file_id, self._file_id = self._file_id, None
        if file_id is None or os.getpid() != self._owner_pid:
            return  # forked workers never unlink the master's socket file
        try:
            st = os.lstat(self.path)
            if (st.st_dev, st.st_ino) == file_id:
                os.unlink(self.path)
        except OSError:
            pass

    def __repr__(self):
        state = "closed" if self.sock.fileno() < 0 else "fd=%d" % self.sock.fileno()
        return "<Listener %s %s>" % (self.display, state)


def _why(exc, kind):
    """The one-line reason and advice for a failed socket call."""
    code = exc.errno
    if code == errno.EADDRINUSE:
        if kind == "unix":
            return "address already in use (is another server running? choose another path)"
        return ("address already in use (is another server running?"
                " choose another --port or --bind)")
    if code in (errno.EACCES, errno.EPERM):
        if kind == "unix":
            return "permission denied (check the directory's permissions or choose another path)"
        return ("permission denied (ports below 1024 need privileges;"
                " choose a port from 1024 up)")
    if code == errno.EADDRNOTAVAIL:
        return ("address not available (no interface of this machine has it;"
                " check --host / --bind)")
    if code == errno.EAFNOSUPPORT:
        return "this address family is not supported here (is IPv6 disabled?)"
    if code in (errno.ENOENT, errno.ENOTDIR):
        return "the directory does not exist (create it or choose another path)"
    if code == errno.EROFS:
        return "read-only file system (choose another path)"
    reason = exc.strerror or str(exc) or type(exc).__name__
    return reason[:1].lower() + reason[1:]


def _open_tcp(address, backlog, reuse_port=False, listen=True):
    target = address.display
    try:
        infos = socket.getaddrinfo(
            address.host, address.port, socket.AF_UNSPEC, socket.SOCK_STREAM,
            0, socket.AI_PASSIVE,
        )
    except socket.gaierror as exc:
        raise BindError(
            "cannot listen on %s: cannot resolve host %r (%s); check --host / --bind"
            % (target, address.host, exc.strerror)
        ) from None
    if not infos:
        raise BindError("cannot listen on %s: host %r has no address" % (target, address.host))
    family, _, _, _, sockaddr = infos[0]
    sock = _tcp_socket(target, family, sockaddr, backlog, reuse_port, listen)
    bound = sock.getsockname()
    display = "%s:%d" % (_bracket(bound[0]), bound[1])
    return Listener(sock, address, display, address.host, str(bound[1]))


def _tcp_socket(target, family, sockaddr, backlog, reuse_port, listen):
    sock = None
    try:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6 and hasattr(socket, "IPV6_V6ONLY"):
            # Predictable multi-bind: [::]:P and 0.0.0.0:P can coexist.
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(sockaddr)
        if listen:
            sock.listen(backlog)
        sock.setblocking(False)
        sock.set_inheritable(False)
    except OSError as exc:
        if sock is not None:
            sock.close()
        raise BindError("cannot listen on %s: %s" % (target, _why(exc, "tcp"))) from None
    return sock


def _remove_stale_socket(address):
    """Unlink the unix socket file at the path if nothing accepts on it.

    Refuses (BindError) a path that holds a non-socket file or a live socket.
    """
    path, target = address.path, address.display
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise BindError("cannot listen on %s: %s" % (target, _why(exc, "unix"))) from None
    if not stat.S_ISSOCK(st.st_mode):
        raise BindError(
            "cannot listen on %s: a file that is not a socket exists there"
            " (remove it or choose another path)" % target
        )
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.setblocking(False)
        probe.connect(path)
    except ConnectionRefusedError:
        stale = True  # a socket file nobody listens on: left by a dead server
    except (BlockingIOError, InterruptedError):
        stale = False  # listening, backlog full
    except FileNotFoundError:
        return  # removed meanwhile
    except OSError:
        return  # e.g. permission denied: let bind() report it
    else:
        stale = False
    finally:
        probe.close()
    if not stale:
        raise BindError(
            "cannot listen on %s: address already in use (another process accepts"
            " connections on it; is another server running? choose another path)" % target
        )
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise BindError(
            "cannot listen on %s: cannot remove the stale socket file: %s"
            % (target, _why(exc, "unix"))
        ) from None


def _open_unix(address, backlog, mode):
    path, target = address.path, address.display
    if not hasattr(socket, "AF_UNIX"):
        raise BindError("cannot listen on %s: unix sockets are not supported here" % target)
    size = len(os.fsencode(path))
    if size > _UNIX_PATH_MAX:
        raise BindError(
            "cannot listen on %s: the path is too long (%d bytes, the limit is %d);"
            " use a shorter path" % (target, size, _UNIX_PATH_MAX)
        )
    _remove_stale_socket(address)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    created = False
    try:
        sock.bind(path)
        created = True
        if mode is not None:
            os.chmod(path, mode)  # before listen(): nobody connects under the umask's mode
        sock.listen(backlog)
        sock.setblocking(False)
        sock.set_inheritable(False)
        st = os.lstat(path)
    except OSError as exc:
        sock.close()
        if created:
            try:
                os.unlink(path)
            except OSError:
                pass
        raise BindError("cannot listen on %s: %s" % (target, _why(exc, "unix"))) from None
    return Listener(sock, address, target, "localhost", "",
                    path=os.path.abspath(path), file_id=(st.st_dev, st.st_ino))


def _file_kind(mode):
    for test, name in ((stat.S_ISREG, "a regular file"), (stat.S_ISDIR, "a directory"),
                       (stat.S_ISFIFO, "a pipe"), (stat.S_ISCHR, "a character device")):
        if test(mode):
            return name
    return "another kind of file"


def _open_inherited(address):
    """Take over the listening socket a parent process left open at address.fd."""
    fd, target = address.fd, address.display
    try:
        st = os.fstat(fd)
    except OSError:
        raise BindError(
            "cannot listen on %s: file descriptor %d is not open in this process"
            " (the parent must pass it, e.g. with subprocess's pass_fds)" % (target, fd)
        ) from None
    if not stat.S_ISSOCK(st.st_mode):
        raise BindError("cannot listen on %s: it is %s, not a listening socket"
                        % (target, _file_kind(st.st_mode)))
    sock = socket.socket(fileno=fd)  # family and type are read from the socket
    families = (socket.AF_INET, socket.AF_INET6, getattr(socket, "AF_UNIX", None))
    if sock.type != socket.SOCK_STREAM or sock.family not in families:
        problem = "a datagram or other non-stream socket, not a TCP or unix stream socket"
    elif not sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
        problem = "a socket that is not listening (call listen() on it before passing it)"
    else:
        problem = None
    if problem:
        sock.detach()  # not ours to close: the fd stays as the parent passed it
        raise BindError("cannot listen on %s: it is %s" % (target, problem))
    sock.setblocking(False)
    sock.set_inheritable(False)
    return Listener(sock, address, *socket_names(sock))


def socket_names(sock):
    """(display, SERVER_NAME, SERVER_PORT) of a listening socket someone else
    bound: "[::1]:8000", "::1", "8000", or "unix:/run/app.sock", "localhost", ""."""
    bound = sock.getsockname()
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        return "%s:%d" % (_bracket(bound[0]), bound[1]), bound[0], str(bound[1])
    name = os.fsdecode(bound) if bound else ""
    if name.startswith("\0"):
        name = "@" + name[1:]  # Linux abstract namespace, shown as ss(8) does
    return "unix:" + name, "localhost", ""


def take_systemd_sockets(environ=None) -> List[str]:
    """The fd://N addresses of the sockets passed by socket activation.

    Follows sd_listen_fds(3): LISTEN_FDS sockets from fd 3 on, only when
    LISTEN_PID is our pid; the LISTEN_* variables are then removed from
    `environ` (os.environ by default).  [] when there are none for us.
    """
    if environ is None:
        environ = os.environ
    pid, count = environ.get("LISTEN_PID", ""), environ.get("LISTEN_FDS", "")
    if not (pid.strip().isdigit() and int(pid) == os.getpid()):
        return []
    for name in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        environ.pop(name, None)
    count = count.strip()
    if not (count.isdigit() and count.isascii()):
        raise ConfigError(
            "LISTEN_FDS must be the number of sockets passed by socket activation,"
            " got %r; check the service manager's setup" % count
        )
    return ["fd://%d" % fd for fd in range(SD_LISTEN_FDS_START, SD_LISTEN_FDS_START + int(count))]


def open_listeners(config, reserve_tcp=False) -> List[Listener]:
    """Open one listening socket per address in `config.binds`, or take over
    the sockets of socket activation when no --bind is given (see the module
    docstring).

    Uses config.host / config.port to complete partial addresses,
    config.backlog for listen(), config.unix_socket_mode for the unix socket
    files it creates and config.reuse_port for SO_REUSEPORT on TCP sockets.
    With reserve_tcp, TCP sockets are bound (so the address is checked, a
    port 0 chosen, and the port held) but do not listen: each worker then
    listens on its own copy (reuse_port_copies).  On any failure the sockets
    already opened are closed and BindError (or ConfigError for a malformed
    address) is raised with a one-line message.
    """
    if config.reuse_port and not hasattr(socket, "SO_REUSEPORT"):
        raise ConfigError("%s: this system has no SO_REUSEPORT; leave the option out"
                          % config.source_of("reuse_port"))
    activated = take_systemd_sockets()
    specs = config.binds if config.bind or not activated else activated
    listeners = []
    try:
        for spec in specs:
            address = parse_bind(spec, config.host, config.port)
            if address.kind == "unix":
                listeners.append(_open_unix(address, config.backlog, config.unix_socket_mode))
            elif address.kind == "fd":
                listeners.append(_open_inherited(address))
            else:
                listeners.append(_open_tcp(address, config.backlog, config.reuse_port,
                                           listen=not reserve_tcp))
    except BaseException:
        close_listeners(listeners)
        raise
    unused = [spec for spec in activated if spec not in specs]
    if unused:
        log.warning("not serving the socket-activated %s: --bind is given and does not"
                    " name them", ", ".join(unused))
    return listeners


def reuse_port_copies(listeners, backlog) -> List[Listener]:
    """A worker's own listeners for --reuse-port: a new listening SO_REUSEPORT
    socket on the address of each TCP listener (reserved by the master with
    open_listeners(config, reserve_tcp=True)); unix and inherited (fd://)
    listeners are shared as they are."""
    copies = []
    try:
        for listener in listeners:
            if listener.kind != "tcp":
                copies.append(listener)
                continue
            sock = listener.sock
            own = _tcp_socket(listener.display, sock.family, sock.getsockname(), backlog,
                              reuse_port=True, listen=True)
            copies.append(Listener(own, listener.address, listener.display,
                                   listener.server_name, listener.server_port))
    except BaseException:
        close_listeners([l for l in copies if l.kind == "tcp"])
        raise
    return copies


def close_listeners(listeners):
    """Close every listener and remove the unix socket files they created.

    Safe to call twice, and in forked children (which do not unlink).
    """
    for listener in listeners:
        listener.close()
