"""WSGI applications and the workload table of the fastwsgi benchmark.

Every Python server under test serves ``apps:<Workload.app>`` from this
module, so keep it free of heavy imports: it is imported by each server
process as well as by the harness (run.py).

Adding a workload is two steps:

1. write the WSGI callable below (or reuse one), and
2. add one ``Workload(...)`` row to ``WORKLOADS`` at the bottom, describing
   the request wrk sends, what a correct response looks like, and, where a
   static equivalent makes sense, the nginx ``location`` body for the
   ceiling row (leave ``nginx=None`` and nginx is skipped for that workload).

run.py turns the row into the wrk command (a generated Lua script when the
request is not a plain GET: method, extra headers, a body, pipelining), into
the one-off correctness check made before every measurement, and into the
nginx config.
"""

from dataclasses import dataclass
from typing import Optional, Tuple

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

    # What a correct response looks like (checked before each measurement).
    expect_status: int = 200
    expect_headers: Headers = ()  # header names case-insensitive, values exact
    expect_body: Optional[bytes] = None  # exact body; None skips the body check

    # nginx ceiling: the inside of `location = <path> { ... }` that returns
    # the same response statically; None means "no ceiling for this workload".
    nginx: Optional[str] = None


WORKLOADS = [
    Workload(
        name="hello",
        app="hello",
        description='GET / -> 200 text/plain "Hello, World!" (13 bytes), keep-alive',
        expect_headers=(("Content-Type", "text/plain"), ("Content-Length", "13")),
        expect_body=HELLO_BODY,
        nginx='default_type text/plain; return 200 "Hello, World!";',
    ),
    # Planned rows (each needs its app above and one row here), e.g.:
    #   json        GET, app returns a small JSON document
    #   headers20   GET with 20 request headers (headers=...)
    #   post4k      method="POST", body=b"x" * 4096, app reads wsgi.input
    #   big1m       app returns 1 MiB, expect_body=... (nginx: alias a file)
    #   filewrapper app returns environ["wsgi.file_wrapper"](open(...))
    #   pipelined   pipeline=16 on the hello app
    #   churn       headers=(("Connection", "close"),) on the hello app
]

WORKLOADS_BY_NAME = {w.name: w for w in WORKLOADS}
