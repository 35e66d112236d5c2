"""The access log's configuration: the format, compiled once, and where lines go.

A format is text with gunicorn's atoms in it, `%(h)s %(l)s %(u)s %(t)s "%(r)s"
%(s)s %(b)s "%(f)s" "%(a)s"` (the combined log format) by default. compile_format()
turns it into a tuple of (atom, argument) pairs that the core renders for every
response (fastwsgi/accesslog.pxi) straight into a buffer, written once per turn of
the event loop: no logging.Logger call per request. This module imports nothing
heavy, so options are checked before the core is loaded.
"""
import binascii
import os
import re
from typing import NamedTuple, Optional

from fastwsgi.errors import ConfigError

__all__ = ["ATOMS", "DEFAULT_FORMAT", "Destination", "basic_auth_user", "compile_format",
           "open_access_log"]

DEFAULT_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'

# The atoms, as gunicorn names them, and what each one logs.
ATOMS = {
    "h": "remote address (REMOTE_ADDR)",
    "l": "'-'",
    "u": "user name: REMOTE_USER, else the user of Basic credentials, else '-'",
    "t": "time the line was written, [10/Oct/2000:13:55:36 -0700]",
    "r": "request line, GET /path?query HTTP/1.1",
    "m": "request method",
    "U": "URL path without the query string (PATH_INFO)",
    "q": "query string",
    "H": "protocol (SERVER_PROTOCOL)",
    "s": "status code",
    "B": "response body bytes",
    "b": "response body bytes, or '-' for none",
    "f": "referer",
    "a": "user agent",
    "T": "request time in whole seconds",
    "M": "request time in milliseconds",
    "D": "request time in microseconds",
    "L": "request time in decimal seconds",
    "p": "process ID",
    "{header}i": "request header",
    "{header}o": "response header the app sent",
    "{name}e": "environ key, as written or upper-cased",
}

_PIECE = re.compile(r"%%|%\(([^()]*)\)s|%")
_NAMED = re.compile(r"\{([^{}]+)\}([ioe])")


def _unknown(match):
    known = ", ".join(list(ATOMS)[:-1]) + " or " + list(ATOMS)[-1]
    return ValueError("a format of gunicorn atoms (%r at position %d is not one: write %s"
                      " inside %%(...)s, and %%%% for a literal %%)"
                      % (match.group(0), match.start(), known))


def compile_format(fmt):
    """The access log format as a tuple of (atom, argument) pairs:
    ("text", b"literal bytes"), (ONE_LETTER_ATOM, None), ("i", "HTTP_X_KEY"),
    ("o", "header-name"), ("e", "environ key").  Raises ValueError naming
    the first atom that is not known."""
    out = []
    text = ""
    pos = 0
    for match in _PIECE.finditer(fmt):
        text += fmt[pos:match.start()]
        pos = match.end()
        name = match.group(1)
        if match.group(0) == "%%":
            text += "%"
            continue
        if name is None:
            raise _unknown(match)
        named = _NAMED.fullmatch(name)
        if named is None and (len(name) != 1 or name not in ATOMS):
            raise _unknown(match)
        if text:
            out.append(("text", text.encode("utf-8")))
            text = ""
        out.append(_named_atom(*named.groups()) if named else (name, None))
    text += fmt[pos:]
    if text:
        out.append(("text", text.encode("utf-8")))
    return tuple(out)


def _named_atom(name, kind):
    if kind == "i":
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        return ("i", key)
    if kind == "o":
        return ("o", name.lower())
    return ("e", name)


def basic_auth_user(authorization):
    """The user name of Basic credentials (RFC 7617), or None: the core's %(u)s
    when the app set no REMOTE_USER.  (Here rather than in the core so that
    binascii is imported before a worker switches to --user.)"""
    if authorization[:6].lower() != "basic ":
        return None
    try:
        decoded = binascii.a2b_base64(authorization[6:].strip().encode("latin-1"))
    except (binascii.Error, UnicodeEncodeError):
        return None
    return decoded.partition(b":")[0].decode("latin-1")


class Destination(NamedTuple):
    """Where access log lines go: fd, and path when the fd is a file we opened
    (None for stdout and stderr, which are not ours to close)."""
    fd: int
    path: Optional[str] = None

    def close(self):
        if self.path is not None:
            os.close(self.fd)


def access_log_wanted(config):
    """On with --access-log, and with --access-log-file unless --no-access-log
    was given explicitly: naming a file asks for the log."""
    if config.access_log:
        return True
    return config.access_log_file is not None and config.source_of("access_log") == "default"


def open_access_log(config):
    """The access log's Destination, or None when the log is off: stderr by
    default, stdout for '-', else the file opened for appending (created if
    missing; worker processes share it).  Raises ConfigError when the file
    cannot be opened."""
    if not access_log_wanted(config):
        return None
    path = config.access_log_file
    if path is None:
        return Destination(2)
    if path == "-":
        return Destination(1)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise ConfigError("cannot open the access log file %r: %s; check that the directory"
                          " exists and is writable" % (path, exc.strerror or exc)) from None
    return Destination(fd, path)
