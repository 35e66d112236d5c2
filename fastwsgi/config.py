"""The options of fastwsgi, in one table.

Each row of OPTIONS gives an option's name, value type (which parses and
validates), default, help text and CLI metavar.  Everything else is derived
from the row:

    CLI flag     "--" + name with "_" -> "-"      (--max-body-size)
    env var      "FASTWSGI_" + NAME               (FASTWSGI_MAX_BODY_SIZE)
    keyword      name                             (run(app, max_body_size=...))
    attribute    config.<name>

so adding an option is adding one row (and using it in the core).

Precedence: defaults < FASTWSGI_* environment variables < overrides (CLI
arguments or run() keywords).  An empty environment variable counts as unset.
"""

import math
import os
import re
from typing import Any, NamedTuple, Optional

from fastwsgi.accesslog import ATOMS, DEFAULT_FORMAT, compile_format
from fastwsgi.errors import ConfigError
from fastwsgi.listeners import BIND_FORMS, check_host, parse_bind
from fastwsgi.proxy import parse_trusted

__all__ = ["Option", "OPTIONS", "Config", "parse_size", "option_names"]

ENV_PREFIX = "FASTWSGI_"
# setup.py's own variables (compiler flags, loop backend): not options, and no
# reason to warn at run time that they name none.
BUILD_VARIABLES = frozenset(("FASTWSGI_CFLAGS", "FASTWSGI_LDFLAGS", "FASTWSGI_LOOP"))

# -- value types -------------------------------------------------------------
#
# A type turns a raw value into the option's value.  The raw value is a str
# when it comes from the CLI or the environment, and may already be the
# native type when it comes from run() keywords.  parse() raises ValueError:
# with no argument for "not of the expected form" (the caller formats
# "<label> must be <expect>, got <raw>"), or with a specific reason.


class _Type:
    expect = "a value"
    cli = "value"  # "value", "flag" (--x/--no-x) or "append" (repeatable)

    def parse(self, raw):
        raise NotImplementedError

    def show(self, value):
        """The default as shown in --help."""
        return str(value)

    def error(self, label, reason, raw):
        """The one-line message for a value parse() refused; reason is what
        its ValueError said ("" for "not of the expected form")."""
        return "%s must be %s, got %r" % (label, reason or self.expect, raw)


class Str(_Type):
    expect = "a non-empty string"  # a default of None makes it optional

    def parse(self, raw):
        if not isinstance(raw, str) or not raw.strip():
            raise ValueError()
        return raw.strip()

    def show(self, value):
        return "none" if value is None else value


class Host(_Type):
    expect = "a host name or IP address"

    def parse(self, raw):
        try:
            return check_host(raw)
        except ValueError as exc:
            raise ValueError("%s (%s)" % (self.expect, exc)) from None


class Int(_Type):
    def __init__(self, low, high=None):
        self.low, self.high = low, high
        if high is None:
            self.expect = "an integer >= %d" % low
        else:
            self.expect = "an integer %d-%d" % (low, high)

    def parse(self, raw):
        if isinstance(raw, bool):
            raise ValueError()
        if isinstance(raw, int):
            value = raw
        elif isinstance(raw, str) and re.fullmatch(r"\s*-?[0-9]+\s*", raw):
            value = int(raw)
        else:
            raise ValueError()
        if value < self.low or (self.high is not None and value > self.high):
            raise ValueError()
        return value


_SIZE_RE = re.compile(r"\s*([0-9]+)\s*([kmg]?)(?:i?b)?\s*", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def parse_size(raw):
    """Parse a byte size: 123, "123", "64k", "1m", "1g" (also "64KiB",
    "64kb"; units are powers of 1024).  Raises ValueError otherwise."""
    if isinstance(raw, bool):
        raise ValueError("not a size: %r" % (raw,))
    if isinstance(raw, int):
        if raw < 0:
            raise ValueError("negative size: %r" % (raw,))
        return raw
    match = _SIZE_RE.fullmatch(raw) if isinstance(raw, str) else None
    if match is None:
        raise ValueError("not a size: %r" % (raw,))
    return int(match.group(1)) * _SIZE_UNITS[match.group(2).lower()]


def format_size(n):
    """The shortest exact form parse_size() reads back: 1048576 -> "1m"."""
    for suffix, unit in (("g", 1 << 30), ("m", 1 << 20), ("k", 1 << 10)):
        if n and n % unit == 0:
            return "%d%s" % (n // unit, suffix)
    return str(n)


class Size(_Type):
    _MAX = (1 << 63) - 1

    def __init__(self, low):
        self.low = low
        self.expect = "a size in bytes >= %d (an integer, or with suffix k, m or g)" % low

    def parse(self, raw):
        try:
            value = parse_size(raw)
        except ValueError:
            raise ValueError() from None
        if not self.low <= value <= self._MAX:
            raise ValueError()
        return value

    def show(self, value):
        short = format_size(value)
        return short if short == str(value) else "%s = %d" % (short, value)


class Seconds(_Type):
    expect = "a number of seconds > 0"

    def parse(self, raw):
        if isinstance(raw, bool):
            raise ValueError()
        if isinstance(raw, (int, float)):
            value = float(raw)
        elif isinstance(raw, str):
            try:
                value = float(raw)
            except ValueError:
                raise ValueError() from None
        else:
            raise ValueError()
        if not (math.isfinite(value) and value > 0):
            raise ValueError()
        return value

    def show(self, value):
        return "%g" % value


class Choice(_Type):
    def __init__(self, *choices):
        self.choices = choices
        self.expect = "one of " + ", ".join(choices)

    def parse(self, raw):
        if isinstance(raw, str) and raw.strip().lower() in self.choices:
            return raw.strip().lower()
        raise ValueError()


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


class Bool(_Type):
    expect = "a boolean (1/0, true/false, yes/no, on/off)"
    cli = "flag"

    def parse(self, raw):
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, int) and raw in (0, 1):
            return bool(raw)
        if isinstance(raw, str):
            text = raw.strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
        raise ValueError()

    def show(self, value):
        return "on" if value else "off"


class LogFormat(_Type):
    expect = "an access log format"

    def parse(self, raw):
        if not isinstance(raw, str) or not raw.strip():
            raise ValueError()
        compile_format(raw)                # raises ValueError naming the bad atom
        return raw

    def show(self, value):
        return "combined: " + value


class LogFile(Str):
    expect = "a file path, or - for stdout"

    def show(self, value):
        return "stderr" if value is None else value


class FileMode(_Type):
    expect = "an octal file mode 0-777, e.g. 660"

    def parse(self, raw):
        # An int is taken as the mode itself (run(unix_socket_mode=0o660), as
        # os.chmod takes it); text is octal ("660", "0660", "0o660").
        if isinstance(raw, bool):
            raise ValueError()
        if isinstance(raw, int):
            value = raw
        else:
            match = re.fullmatch(r"\s*(?:0o)?([0-7]+)\s*", raw) if isinstance(raw, str) else None
            if match is None:
                raise ValueError()
            value = int(match.group(1), 8)
        if not 0 <= value <= 0o777:
            raise ValueError()
        return value

    def show(self, value):
        return "from the umask" if value is None else "%03o" % value


class TrustedList(_Type):
    expect = "comma-separated IP addresses or networks (CIDR), or *"

    def parse(self, raw):
        if isinstance(raw, str):
            items = raw.split(",")
        elif isinstance(raw, (list, tuple)):
            items = list(raw)
        else:
            raise ValueError()
        return parse_trusted(items)

    def show(self, value):
        return ",".join(value) if value else "nobody"

    def error(self, label, reason, raw):
        if reason:
            return "%s: %s; use %s" % (label, reason, self.expect)
        return super().error(label, reason, raw)


class BindList(_Type):
    expect = "bind addresses (%s)" % BIND_FORMS
    cli = "append"

    def parse(self, raw):
        # A string (environment variable) holds comma-separated addresses;
        # the CLI and run() give a list.  Partial forms ("HOST", ":PORT") are
        # completed later, once host and port are known.
        if isinstance(raw, str):
            items = [item for item in raw.split(",") if item.strip()]
        elif isinstance(raw, (list, tuple)):
            items = list(raw)
        else:
            raise ValueError()
        out = []
        for item in items:
            try:
                parse_bind(item)
            except ConfigError as exc:
                raise ValueError(str(exc)) from None
            out.append(item.strip())
        return out

    def error(self, label, reason, raw):
        return "%s: %s" % (label, reason) if reason else super().error(label, reason, raw)

    def show(self, value):
        return ", ".join(value) if value else "HOST:PORT from --host and --port"


class Workers(Int):
    """A process count >= 1, or "auto": one per CPU."""

    def __init__(self):
        super().__init__(1)
        self.expect = "an integer >= 1 or auto"

    def parse(self, raw):
        if isinstance(raw, str) and raw.strip().lower() == "auto":
            return os.cpu_count() or 1
        return super().parse(raw)


class Account(_Type):
    """A user or group of this system, by name or numeric id; kept as given
    and resolved again where the process switches to it."""

    def __init__(self, kind):
        self.kind = kind  # "user" or "group"
        self.expect = "a %s name or id that exists on this system" % kind

    def parse(self, raw):
        from fastwsgi import privileges    # pwd and grp: only when the option is used
        if isinstance(raw, int) and not isinstance(raw, bool):
            raw = str(raw)
        value = Str().parse(raw)
        find = privileges.find_user if self.kind == "user" else privileges.find_group
        if find(value) is None:
            raise ValueError()
        return value

    def show(self, value):
        return "none" if value is None else value


# -- the table -----------------------------------------------------------------


class Option(NamedTuple):
    name: str
    type: _Type
    default: Any
    help: str
    metavar: Optional[str]
    positional: bool = False

    @property
    def flag(self):
        return "--" + self.name.replace("_", "-")

    @property
    def env(self):
        return ENV_PREFIX + self.name.upper()


OPTIONS = (
    Option("app", Str(), None,
           "the WSGI application: MODULE:NAME, MODULE:FACTORY(ARGS) with literal"
           " arguments, MODULE:OBJ.ATTR, or MODULE alone for its 'application'"
           " or 'app'; without it a demo app that echoes the environ is served",
           "APP", positional=True),
    Option("host", Host(), "127.0.0.1",
           "host or IP address to listen on when no --bind is given;"
           " 0.0.0.0 for all IPv4 interfaces, :: for all IPv6 interfaces",
           "HOST"),
    Option("port", Int(0, 65535), 8000,
           "TCP port to listen on when no --bind is given; 0 picks a free port",
           "PORT"),
    Option("bind", BindList(), [],
           "address to listen on, repeatable: HOST:PORT, [IPV6]:PORT,"
           " HOST (port from --port), :PORT (host from --host), unix:PATH or"
           " fd://N (an inherited listening socket); replaces --host/--port and"
           " socket activation (LISTEN_FDS); the environment variable takes a"
           " comma-separated list",
           "ADDRESS"),
    Option("unix_socket_mode", FileMode(), None,
           "permissions of the unix socket files --bind unix:PATH creates, in"
           " octal (660: owner and group may connect)",
           "MODE"),
    Option("forwarded_allow_ips", TrustedList(), ["127.0.0.1"],
           "peers trusted to say who the client is: from them, X-Forwarded-For"
           " and X-Forwarded-Proto (or, without those, Forwarded) set REMOTE_ADDR"
           " and wsgi.url_scheme; comma-separated IP addresses and networks"
           " (10.0.0.0/8), * for every peer, empty for none; unix socket peers"
           " are trusted unless it is empty",
           "IPS"),
    Option("backlog", Int(1, (1 << 31) - 1), 2048,
           "maximum number of pending connections per listening socket"
           " (the kernel may cap it, e.g. net.core.somaxconn)",
           "N"),
    Option("defer_accept", Int(0, 3600), 1,
           "seconds a new TCP connection may wait in the kernel for its first"
           " bytes before the server takes it (TCP_DEFER_ACCEPT, Linux only):"
           " the server wakes once per connection, when there is a request to"
           " read, and silent connections take no connection slot meanwhile;"
           " after that the connection is taken and --head-timeout applies; 0"
           " takes every connection at once (the default with --reuse-port, whose"
           " sockets close at each reload and would reset connections still"
           " deferred)",
           "SECONDS"),
    Option("log_level", Choice("debug", "info", "warning", "error", "critical"), "info",
           "log level: debug, info, warning, error or critical",
           "LEVEL"),
    Option("access_log", Bool(), False,
           "log one line per request to stderr or --access-log-file"
           " (--no-access-log turns it off)",
           None),
    Option("access_log_format", LogFormat(), DEFAULT_FORMAT,
           "access log line in gunicorn's atoms: "
           + "; ".join("%%(%s)s %s" % atom for atom in ATOMS.items())
           + "; %% is a literal %",
           "FORMAT"),
    Option("access_log_file", LogFile(), None,
           "file the access log is appended to, - for stdout; naming one turns the"
           " access log on",
           "PATH"),
    Option("max_connections", Int(1), 10000,
           "most client connections served at once; further ones wait in the"
           " listen backlog until one closes",
           "N"),
    Option("max_request_line", Size(1), 8190,
           "longest request line in bytes; longer requests get 414",
           "BYTES"),
    Option("max_header_count", Int(1), 100,
           "most header fields in a request; more get 431",
           "N"),
    Option("max_head_bytes", Size(1), 65536,
           "largest request head (request line + headers) in bytes; larger"
           " gets 431",
           "BYTES"),
    Option("max_body_size", Size(0), 1073741824,
           "largest request body in bytes; larger gets 413",
           "BYTES"),
    Option("spool_threshold", Size(0), 1048576,
           "request bodies larger than this are buffered in an unlinked"
           " temporary file instead of memory",
           "BYTES"),
    Option("max_chunk_extension", Size(0), 1024,
           "longest chunk extension on one chunk-size line of a chunked"
           " request body, in bytes; longer gets 400",
           "BYTES"),
    Option("max_trailer_bytes", Size(0), 8192,
           "largest trailer section of a chunked request body in bytes;"
           " larger gets 431",
           "BYTES"),
    Option("keepalive_timeout", Seconds(), 5.0,
           "seconds an idle keep-alive connection is kept open",
           "SECONDS"),
    Option("head_timeout", Seconds(), 10.0,
           "seconds a client has to send a whole request head once it began"
           " (and a new connection its first byte); slower gets 408",
           "SECONDS"),
    Option("body_timeout", Seconds(), 30.0,
           "seconds a request body may go without progress; slower gets 408",
           "SECONDS"),
    Option("graceful_timeout", Seconds(), 30.0,
           "seconds a stop (SIGTERM, SIGINT) waits for requests in flight to"
           " finish before their connections are closed",
           "SECONDS"),
    Option("write_timeout", Seconds(), 30.0,
           "seconds a response may go without the client reading any of it;"
           " then the connection is closed",
           "SECONDS"),
    Option("workers", Workers(), 1,
           "worker processes serving requests; auto for one per CPU; more than"
           " one runs a master process that binds once, forks the workers and"
           " restarts them (signals: TERM/INT graceful stop, QUIT immediate"
           " stop, HUP graceful reload, TTIN/TTOU one worker more/less)",
           "N"),
    Option("threads", Int(1), 1,
           "threads per worker that run requests, for apps that block on I/O:"
           " with N > 1 a pool of N threads calls the app while the event loop"
           " serves other connections; with 1 the app runs on the loop, fastest"
           " for quick apps, but one slow request holds its worker while it runs",
           "N"),
    Option("reuse_port", Bool(), False,
           "give each worker its own SO_REUSEPORT socket on every TCP address,"
           " so the kernel spreads connections over them; unix sockets stay"
           " shared",
           None),
    Option("max_requests", Int(0), 0,
           "replace a worker by a fresh one once it has answered this many"
           " requests (it serves on until its successor is ready); 0 never",
           "N"),
    Option("max_requests_jitter", Int(0), 0,
           "add a random 0 to N to --max-requests for each worker, so workers"
           " are not all replaced at once",
           "N"),
    Option("pid", Str(), None,
           "write the pid of the master process (or the single process) to"
           " FILE; it is removed on a clean exit",
           "FILE"),
    Option("user", Account("user"), None,
           "run the workers as this user (name or uid) once the sockets are"
           " bound; the master keeps its own; needs root",
           "USER"),
    Option("group", Account("group"), None,
           "run the workers with this group (name or gid; default: the"
           " --user's own group); needs root",
           "GROUP"),
    Option("reload", Bool(), False,
           "development: restart the workers when a Python file they loaded"
           " changes (polled every second)",
           None),
)

_BY_NAME = {opt.name: opt for opt in OPTIONS}


def option_names():
    """The option names, in table order (also the run() keywords)."""
    return [opt.name for opt in OPTIONS]


# -- Config --------------------------------------------------------------------


def _label(opt, origin):
    if origin == "cli":
        return opt.metavar if opt.positional else opt.flag
    return opt.name  # keyword arguments of run()


def _parse(opt, raw, label):
    try:
        return opt.type.parse(raw)
    except ValueError as exc:
        raise ConfigError(opt.type.error(label, str(exc), raw)) from None


class Config:
    """Validated option values, one attribute per row of OPTIONS, plus:

    binds    the effective bind addresses, each in a complete form
             (config.bind, or [HOST:PORT] from host and port when it is empty)
    unknown_env   FASTWSGI_* variables that name no option (worth a warning)
    """

    def __init__(self, values, sources=None, unknown_env=()):
        for opt in OPTIONS:
            setattr(self, opt.name, values[opt.name])
        self._sources = dict(sources or {})
        self.unknown_env = list(unknown_env)
        self.binds = self._effective_binds()

    def _effective_binds(self):
        if not self.bind:
            return [parse_bind(":%d" % self.port, self.host, self.port).display]
        binds, seen = [], {}
        for spec in self.bind:
            address = parse_bind(spec, self.host, self.port)
            if address.display in seen and address.port != 0:
                raise ConfigError(
                    "%s: %r and %r are the same address; give each address once"
                    % (_BY_NAME["bind"].flag, seen[address.display], spec)
                )
            seen[address.display] = spec
            binds.append(address.display)
        return binds

    @classmethod
    def from_sources(cls, overrides=None, environ=None, *, origin="cli"):
        """Build a Config: defaults < FASTWSGI_* in `environ` < `overrides`.

        `overrides` maps option names to raw values (strings, or native
        values); None means "not given".  `environ` defaults to os.environ.
        `origin` only changes how errors name an override: "cli" says
        "--port", "api" says "port".  Raises ConfigError.
        """
        if environ is None:
            environ = os.environ
        overrides = dict(overrides or {})
        for key in overrides:
            if key not in _BY_NAME:
                import difflib        # only for this message: keeps startup lean
                hint = difflib.get_close_matches(str(key), list(_BY_NAME), n=1)
                did_you_mean = " (did you mean %r?)" % hint[0] if hint else ""
                where = "see fastwsgi --help" if origin == "cli" else (
                    "valid options: " + ", ".join(_BY_NAME))
                raise ConfigError("unknown option %r%s; %s" % (key, did_you_mean, where))

        values, sources = {}, {}
        for opt in OPTIONS:
            default = opt.default
            values[opt.name] = list(default) if isinstance(default, list) else default
            sources[opt.name] = "default"
            raw = overrides.get(opt.name)
            if raw is not None:
                label = _label(opt, origin)
                values[opt.name] = _parse(opt, raw, label)
                sources[opt.name] = label
                continue  # the environment is not even looked at
            raw = environ.get(opt.env)
            if raw is not None and raw.strip() != "":
                values[opt.name] = _parse(opt, raw, opt.env)
                sources[opt.name] = opt.env

        known = {opt.env for opt in OPTIONS} | BUILD_VARIABLES
        unknown = sorted(k for k in environ if k.startswith(ENV_PREFIX) and k not in known)
        return cls(values, sources, unknown)

    def listener_defer_accept(self):
        """--defer-accept as listening sockets get it. Left at its default it is
        0 with --reuse-port: each worker closes its own socket as it begins to
        drain (every reload, every --max-requests), and a connection still
        deferred on it, its request not in yet, would be reset. Given, it is
        taken as it is (with net.ipv4.tcp_migrate_req=1 nothing is lost)."""
        if self.reuse_port and self.source_of("defer_accept") == "default":
            return 0
        return self.defer_accept

    def source_of(self, name):
        """Where an option's value came from: "default", "FASTWSGI_PORT",
        "--port" or "port"."""
        return self._sources.get(name, "default")

    def as_dict(self):
        return {opt.name: getattr(self, opt.name) for opt in OPTIONS}

    def __repr__(self):
        items = ", ".join("%s=%r" % item for item in self.as_dict().items())
        return "Config(%s)" % items
