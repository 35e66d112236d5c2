"""WSGI applications and the workload table of the fastwsgi benchmark.

Every Python server under test serves ``apps:<Workload.app>`` from this
module, so keep it free of heavy imports: it is imported by each server
process as well as by the harness (run.py), memory.py and instructions.py.

Adding a workload is two steps:

1. write the WSGI callable below (or reuse one), and
2. add one ``Workload(...)`` row to ``WORKLOADS`` at the bottom, describing
   the request wrk sends, what a correct response looks like, and, where a
   static equivalent makes sense, the nginx ``location`` body for the
   ceiling row (leave ``nginx=None`` and nginx is skipped for that workload).

run.py turns the row into the wrk command (``-H`` flags for extra headers, a
generated Lua script when the method, the body or pipelining differ from a
plain GET), into the one-off correctness check made before every
measurement, and into the nginx config.

Data files: the ``file10m`` workload serves a 10 MiB file, and nginx's
ceiling for ``1mib`` serves the 1 MiB body from a file. Both are written on
import into ``$BENCH_DATA_DIR`` (run.py points it at its own temporary
directory and removes it at the end; without it a per-user directory under
the system temp dir is used). A file that already has the right size is kept,
and a new one is written under a temporary name and renamed, so that server
processes importing this module at the same time never see a partial file.
"""

import json
import os
import tempfile
from dataclasses import dataclass
from typing import Callable, Optional, Tuple, Union

# --------------------------------------------------------------------------
# Data files
# --------------------------------------------------------------------------

DATA_DIR = os.environ.get("BENCH_DATA_DIR") or os.path.join(
    tempfile.gettempdir(), "fastwsgi-bench-data-%d" % os.getuid())

_PATTERN = bytes(range(256))  # 256 distinct bytes: a shifted or truncated body shows


def pattern_bytes(size: int) -> bytes:
    """size bytes of the repeating 0..255 pattern (the 1 MiB and 10 MiB bodies)."""
    reps, rest = divmod(size, len(_PATTERN))
    return _PATTERN * reps + _PATTERN[:rest]


def _ensure_file(path: str, size: int) -> None:
    try:
        if os.stat(path).st_size == size:
            return
    except FileNotFoundError:
        pass
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            block = pattern_bytes(1 << 20)  # a whole number of patterns
            left = size
            while left > 0:
                f.write(block[:left])
                left -= min(left, len(block))
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# --------------------------------------------------------------------------
# WSGI applications
# --------------------------------------------------------------------------

HELLO_BODY = b"Hello, World!"


def hello(environ, start_response):
    """Plain-text hello world with an explicit Content-Length."""
    start_response(
        "200 OK",
        [
            ("Content-Type", "text/plain"),
            ("Content-Length", str(len(HELLO_BODY))),
        ],
    )
    return [HELLO_BODY]


# A small document of mixed types, serialised again on every request.
JSON_DOC = {
    "id": 1234567,
    "name": "fastwsgi",
    "active": True,
    "score": 98.25,
    "tags": ["wsgi", "http", "benchmark"],
    "owner": {"login": "bench", "id": 42, "admin": False},
    "parent": None,
}
JSON_BODY = json.dumps(JSON_DOC).encode()  # what a correct response carries


def json_small(environ, start_response):
    """json.dumps of a small dict per request."""
    body = json.dumps(JSON_DOC).encode()
    start_response(
        "200 OK",
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
        ],
    )
    return [body]


# 20 request headers as a browser sends them (Host included), then 11 custom ones.
HEADERS20 = (
    ("Host", "localhost"),
    ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
    ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,"
               "image/webp,*/*;q=0.8"),
    ("Accept-Language", "en-US,en;q=0.5"),
    ("Accept-Encoding", "gzip, deflate, br, zstd"),
    ("Connection", "keep-alive"),
    ("Cookie", "sessionid=8f14e45fceea167a5a36dedd4bea2543; csrftoken=c9f0f895fb98ab9159f51fd0297e236d; "
               "theme=dark; lang=en"),
    ("Referer", "http://localhost/dashboard/overview?tab=recent"),
    ("Cache-Control", "max-age=0"),
) + tuple(("X-Custom-%d" % i, "custom-value-%d" % i) for i in range(1, 12))
assert len(HEADERS20) == 20
HEADERS20_OK = b"headers ok"


def headers20(environ, start_response):
    """Small body; looks up two of the request headers (the cookie and the
    last custom one) so a server that drops headers answers differently."""
    ok = environ.get("HTTP_X_CUSTOM_11") == "custom-value-11" and "HTTP_COOKIE" in environ
    body = HEADERS20_OK if ok else b"headers missing"
    start_response(
        "200 OK",
        [
            ("Content-Type", "text/plain"),
            ("Content-Length", str(len(body))),
        ],
    )
    return [body]


POST_BODY = b"".join(b"field%03d=%s&" % (i, b"v" * 20) for i in range(4096 // 30 + 1))[:4096]
assert len(POST_BODY) == 4096


def post_echo_length(environ, start_response):
    """Reads the whole request body (CONTENT_LENGTH bytes from wsgi.input)
    and answers with its length."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    data = environ["wsgi.input"].read(length) if length > 0 else b""
    body = str(len(data)).encode()
    start_response(
        "200 OK",
        [
            ("Content-Type", "text/plain"),
            ("Content-Length", str(len(body))),
        ],
    )
    return [body]


BIG_SIZE = 1 << 20
BIG_BODY = pattern_bytes(BIG_SIZE)  # built once, at import
BIG_PATH = os.path.join(DATA_DIR, "1mib.bin")  # the same bytes, for nginx's ceiling


def big_1mib(environ, start_response):
    """A 1 MiB bytes object (built at import) as a one-item list."""
    start_response(
        "200 OK",
        [
            ("Content-Type", "application/octet-stream"),
            ("Content-Length", str(BIG_SIZE)),
        ],
    )
    return [BIG_BODY]


FILE10M_SIZE = 10 << 20
FILE10M_PATH = os.path.join(DATA_DIR, "file10m.bin")


class _FileBlocks:
    """The PEP 3333 fallback when a server has no wsgi.file_wrapper."""

    def __init__(self, f, blksize):
        self.f, self.blksize = f, blksize

    def __iter__(self):
        return self

    def __next__(self):
        data = self.f.read(self.blksize)
        if data:
            return data
        raise StopIteration

    def close(self):
        self.f.close()


def file10m(environ, start_response):
    """A 10 MiB file opened per request and returned through
    environ['wsgi.file_wrapper'] (servers that have one may sendfile it)."""
    f = open(FILE10M_PATH, "rb")
    start_response(
        "200 OK",
        [
            ("Content-Type", "application/octet-stream"),
            ("Content-Length", str(FILE10M_SIZE)),
        ],
    )
    wrapper = environ.get("wsgi.file_wrapper")
    if wrapper is not None:
        return wrapper(f, 65536)
    return _FileBlocks(f, 65536)


_ensure_file(BIG_PATH, BIG_SIZE)
_ensure_file(FILE10M_PATH, FILE10M_SIZE)


# --------------------------------------------------------------------------
# Workload table
# --------------------------------------------------------------------------

Headers = Tuple[Tuple[str, str], ...]


@dataclass(frozen=True)
class Workload:
    """One benchmark scenario: a request, its expected response, its app."""

    name: str  # used on the command line (--workloads) and in result file names
    app: str  # name of the WSGI callable in this module
    description: str  # one line, shown in the report and the chart title

    # The request wrk sends (and the correctness check sends once).
    method: str = "GET"
    path: str = "/"
    headers: Headers = ()  # extra request headers, e.g. (("Connection", "close"),)
    body: bytes = b""  # request body; Content-Length is added automatically
    pipeline: int = 1  # requests written back to back per round trip (HTTP pipelining)
    connections: int = 50  # wrk -c (run.py --connections overrides it for all workloads)

    # What a correct response looks like (checked before each measurement).
    expect_status: int = 200
    expect_headers: Headers = ()  # header names case-insensitive, values exact
    # exact body, or a function returning it (so that a large expected body is
    # only built in the harness, not in every server importing this module);
    # None skips the body check
    expect_body: Union[None, bytes, Callable[[], bytes]] = None

    # nginx ceiling: the inside of `location = <path> { ... }` that returns
    # the same response statically; None means "no ceiling for this workload".
    nginx: Optional[str] = None


_HELLO_EXPECT = dict(
    expect_headers=(("Content-Type", "text/plain"), ("Content-Length", "13")),
    expect_body=HELLO_BODY,
    nginx='default_type text/plain; return 200 "Hello, World!";',
)

WORKLOADS = [
    Workload(
        name="hello",
        app="hello",
        description='GET / -> 200 text/plain "Hello, World!" (13 bytes), keep-alive',
        **_HELLO_EXPECT,
    ),
    Workload(
        name="hello-1conn",
        app="hello",
        description="hello over 1 keep-alive connection: one request at a time (latency)",
        connections=1,
        **_HELLO_EXPECT,
    ),
    Workload(
        name="json",
        app="json_small",
        path="/json",
        description="GET /json -> json.dumps of a 7-key dict per request (%d bytes)"
                    % len(JSON_BODY),
        expect_headers=(("Content-Type", "application/json"),
                        ("Content-Length", str(len(JSON_BODY)))),
        expect_body=JSON_BODY,
    ),
    Workload(
        name="headers20",
        app="headers20",
        path="/headers",
        description="GET with 20 browser-like request headers (%d-byte head) -> 10-byte body"
                    % (len("GET /headers HTTP/1.1\r\n\r\n")
                       + sum(len(k) + len(v) + 4 for k, v in HEADERS20)),
        headers=HEADERS20,
        expect_headers=(("Content-Length", str(len(HEADERS20_OK))),),
        expect_body=HEADERS20_OK,
    ),
    Workload(
        name="post4k",
        app="post_echo_length",
        method="POST",
        path="/post",
        description="POST of a 4 KiB body, read whole from wsgi.input -> its length",
        headers=(("Content-Type", "application/x-www-form-urlencoded"),),
        body=POST_BODY,
        expect_headers=(("Content-Length", "4"),),
        expect_body=b"4096",
    ),
    Workload(
        name="1mib",
        app="big_1mib",
        path="/1mib",
        description="GET -> 1 MiB body, one bytes object built at import",
        connections=16,
        expect_headers=(("Content-Type", "application/octet-stream"),
                        ("Content-Length", str(BIG_SIZE))),
        expect_body=BIG_BODY,
        nginx="default_type application/octet-stream; alias %s;" % BIG_PATH,
    ),
    Workload(
        name="file10m",
        app="file10m",
        path="/file10m",
        description="GET -> 10 MiB file through wsgi.file_wrapper (Content-Length set)",
        connections=8,
        expect_headers=(("Content-Type", "application/octet-stream"),
                        ("Content-Length", str(FILE10M_SIZE))),
        expect_body=lambda: pattern_bytes(FILE10M_SIZE),
        nginx="default_type application/octet-stream; sendfile on; alias %s;" % FILE10M_PATH,
    ),
    Workload(
        name="pipelined",
        app="hello",
        description="hello with HTTP pipelining: 16 requests written back to back per round trip",
        pipeline=16,
        **_HELLO_EXPECT,
    ),
    Workload(
        name="churn",
        app="hello",
        description="hello with `Connection: close`: a new TCP connection per request",
        headers=(("Connection", "close"),),
        **_HELLO_EXPECT,
    ),
]

WORKLOADS_BY_NAME = {w.name: w for w in WORKLOADS}
