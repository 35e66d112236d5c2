"""WSGI apps the tests serve. One router app, `app`, whose paths each exercise
one feature, plus `hello` and validator-wrapped variants."""
import hashlib
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from urllib.parse import parse_qs
from wsgiref.validate import validator

# Counts of close() calls on the iterables handed out, per tag; read by /closes.
CLOSES = {}
CLOSES_LOCK = threading.Lock()
# Requests sleeping in /slow right now; read by /slow-running.
SLOW_RUNNING = [0]
SLOW_LOCK = threading.Lock()


def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "13")])
    return [b"Hello, World!"]


class Tracked:
    """An iterable that records its close() under a tag."""

    def __init__(self, tag, chunks, fail_at=None):
        self.tag = tag
        self.chunks = chunks
        self.fail_at = fail_at

    def __iter__(self):
        for i, chunk in enumerate(self.chunks):
            if i == self.fail_at:
                raise RuntimeError("failing on purpose mid-stream")
            yield chunk

    def close(self):
        with CLOSES_LOCK:
            CLOSES[self.tag] = CLOSES.get(self.tag, 0) + 1


def _query(environ):
    return {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}


def _json(start_response, obj, status="200 OK"):
    body = json.dumps(obj, sort_keys=True).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def read_body(environ):
    """The request body, read the portable way: servers without
    wsgi.input_terminated may block on read() past CONTENT_LENGTH."""
    stream = environ["wsgi.input"]
    if environ.get("wsgi.input_terminated"):
        return stream.read(-1)
    return stream.read(int(environ.get("CONTENT_LENGTH") or 0))


def environ_view(environ):
    """The environ as JSON-able data: str, int, bool and tuple values as they are,
    other objects by type."""
    out = {}
    for key, value in environ.items():
        if isinstance(value, (str, int, bool, tuple)) or value is None:
            out[key] = value
        else:
            out[key] = "<%s>" % type(value).__name__
    return out


def app(environ, start_response):
    path = environ["PATH_INFO"]
    q = _query(environ)
    if path == "/environ" or path.startswith("/environ/"):
        view = environ_view(environ)
        view["_body_len"] = len(read_body(environ))
        view["_types"] = {k: type(v).__name__ for k, v in environ.items()}
        return _json(start_response, view)
    if path == "/echo":
        body = read_body(environ)
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("X-Body-SHA256", hashlib.sha256(body).hexdigest()),
                                  ("Content-Length", str(len(body)))])
        return [body]
    if path == "/digest":
        # Reads the body in pieces, so a huge upload is never held whole here.
        h, n = hashlib.sha256(), 0
        stream = environ["wsgi.input"]
        while True:
            piece = stream.read(65536)
            if not piece:
                break
            h.update(piece)
            n += len(piece)
        return _json(start_response, {"sha256": h.hexdigest(), "length": n,
                                      "input_type": type(stream).__name__})
    if path == "/lines":
        stream = environ["wsgi.input"]
        how = q.get("how", "readline")
        if how == "readline":
            first = stream.readline()
            limited = stream.readline(3)
            rest = stream.read(-1)
            result = [first.decode("latin-1"), limited.decode("latin-1"), rest.decode("latin-1")]
        elif how == "readlines":
            result = [line.decode("latin-1") for line in stream.readlines()]
        else:
            result = [line.decode("latin-1") for line in stream]
        return _json(start_response, result)
    if path == "/ignore-body":
        start_response("200 OK", [("Content-Length", "7")])
        return [b"ignored"]
    if path == "/stream":
        n = int(q.get("n", "3"))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Tracked(q.get("tag", "stream"), [b"chunk%d\n" % i for i in range(n)])
    if path == "/big":
        size, piece = int(q["size"]), 65536
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(size))])
        return Tracked(q.get("tag", "big"),
                       (b"x" * min(piece, size - off) for off in range(0, size, piece)))
    if path == "/status":
        code = q.get("code", "200")
        reason = q.get("reason", "Whatever")
        body = q.get("body", "").encode()
        headers = [("Content-Type", "text/plain")]
        if "length" in q:
            headers.append(("Content-Length", q["length"]))
        start_response("%s %s" % (code, reason), headers)
        return Tracked(q.get("tag", "status"), [body] if body else [])
    if path == "/list":
        # A list body without Content-Length: the server can say the length.
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [q.get("body", "").encode(), q.get("more", "").encode()]
    if path == "/headers":
        # Repeated response headers are kept as given.
        start_response("200 OK", [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("Content-Length", "0")])
        return []
    if path == "/close-header":
        start_response("200 OK", [("Connection", "close"), ("Content-Length", "2")])
        return [b"ok"]
    if path == "/raise":
        raise RuntimeError("failing on purpose before start_response")
    if path == "/raise-after-start":
        start_response("200 OK", [("Content-Type", "text/plain")])
        raise RuntimeError("failing on purpose after start_response")
    if path == "/raise-mid-stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Tracked(q.get("tag", "midstream"), [b"first\n", b"second\n"], fail_at=1)
    if path == "/bad-header":
        value = q.get("value", "a\r\nInjected: yes")
        start_response("200 OK", [("X-Bad", value), ("Content-Length", "2")])
        return [b"no"]
    if path == "/bad-header-caught":
        try:
            start_response("200 OK", [("X-Bad", "a\nb")])
        except Exception:
            pass
        return [b"the app swallowed the error"]
    if path == "/bad-status":
        start_response(q.get("status", "20 OK"), [])
        return [b"no"]
    if path == "/no-start":
        return [b"never called start_response"]
    if path == "/start-twice":
        start_response("200 OK", [])
        start_response("200 OK", [])
        return [b"no"]
    if path == "/exc-info":
        # PEP 3333: before anything is sent, exc_info replaces the status.
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            raise ValueError("oops")
        except ValueError:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")], sys.exc_info())
        return [b"replaced"]
    if path == "/exc-info-after-send":
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"sent already\n")
        try:
            raise ValueError("late failure")
        except ValueError:
            start_response("500 Internal Server Error", [], sys.exc_info())   # re-raises
        return [b"unreachable"]
    if path == "/write":
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written ")
        write(b"directly ")
        return Tracked(q.get("tag", "write"), [b"then iterated"])
    if path == "/str-body":
        start_response("200 OK", [])
        return ["text is not bytes"]
    if path == "/file":
        size = int(q.get("size", "100000"))
        f = tempfile.TemporaryFile()
        f.write(bytes(range(256)) * (size // 256) + b"z" * (size % 256))
        f.seek(int(q.get("offset", "0")))
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return environ["wsgi.file_wrapper"](f, 8192)
    if path == "/filelike":
        # No fileno(): file_wrapper must fall back to iteration.
        start_response("200 OK", [])
        return environ["wsgi.file_wrapper"](io.BytesIO(b"from a BytesIO"), 4)
    if path == "/slow":
        with SLOW_LOCK:
            SLOW_RUNNING[0] += 1
        environ["wsgi.errors"].write("slow: sleeping %s s\n" % q.get("s", "0.2"))
        environ["wsgi.errors"].flush()
        try:
            time.sleep(float(q.get("s", "0.2")))
        finally:
            with SLOW_LOCK:
                SLOW_RUNNING[0] -= 1
        start_response("200 OK", [("Content-Length", "4")])
        return [b"slow"]
    if path == "/slow-running":
        with SLOW_LOCK:
            return _json(start_response, {"running": SLOW_RUNNING[0]})
    if path == "/log-error":
        environ["wsgi.errors"].write(q.get("text", "") + "\n")
        environ["wsgi.errors"].flush()
        start_response("200 OK", [("Content-Length", "0")])
        return []
    if path == "/closes":
        with CLOSES_LOCK:
            return _json(start_response, dict(CLOSES))
    if path == "/pid":
        return _json(start_response, {"pid": os.getpid()})
    if path == "/child-fds":
        # A child started the careless way (os.system, close_fds=False): the
        # descriptors it holds beyond stdin/stdout/stderr are what it inherited.
        listing = subprocess.run(
            [sys.executable, "-c", "import os; print(sorted(int(n) for n in os.listdir('/dev/fd')))"],
            close_fds=False, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, check=True)
        return _json(start_response, {"fds": json.loads(listing.stdout)})
    if path == "/peak-rss":
        # ru_maxrss counts KiB on Linux, bytes on macOS
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return _json(start_response, {"kib": peak // 1024 if sys.platform == "darwin" else peak})
    start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "9")])
    return [b"not found"]


validated_app = validator(app)
validated_hello = validator(hello)
