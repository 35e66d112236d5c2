#!/usr/bin/env python3
"""fastwsgi benchmark harness.

Normally started through ``benchmarks/run.sh``, which first installs what is
needed (wrk, nginx, libev, a venv with the servers) and then runs this file
with the venv's Python.  See README.md for what the figures mean.

Method (per workload): every server runs pinned to one CPU with one worker
process, wrk runs pinned to the other CPU.  Each run starts the server, waits
until it answers HTTP, checks the response, warms up with a short wrk run,
then measures one wrk run while reading the CPU time the server's process
tree used.  Rounds are interleaved (every server once per round, the order
rotated from round to round) and medians over the rounds are reported.
"""

import argparse
import atexit
import ctypes
import datetime
import http.client
import json
import os
import platform
import resource
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS_DIR = HERE / "results"
sys.path.insert(0, str(HERE))

# apps.py writes the data files of the file10m/1mib workloads into
# $BENCH_DATA_DIR on import; give it a directory of this run, removed at exit.
# The servers inherit the variable (server_env), so they find the same files.
if not os.environ.get("BENCH_DATA_DIR"):
    _DATA_DIR = tempfile.mkdtemp(prefix="fastwsgi-bench-data-")
    os.environ["BENCH_DATA_DIR"] = _DATA_DIR
    atexit.register(shutil.rmtree, _DATA_DIR, True)

import apps  # noqa: E402  (the workload table lives next to the apps)
import instructions  # noqa: E402
import summary  # noqa: E402

HOST = "127.0.0.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")
READY_TIMEOUT = 30.0  # seconds a server may take to answer its first request
STOP_TIMEOUT = 5.0  # seconds between SIGTERM and SIGKILL
NOISE_WARN = 0.05  # warn when others used this share of the server CPU during a run


# ==========================================================================
# Child processes: every one is tracked and torn down, even on Ctrl-C.
# ==========================================================================

_LIVE: "set[subprocess.Popen]" = set()
_PR_SET_PDEATHSIG = 1
try:
    _libc = ctypes.CDLL(None, use_errno=True)
except OSError:  # pragma: no cover - non-glibc systems
    _libc = None


def _child_setup():
    # Runs in the child between fork and exec: if the harness itself is
    # SIGKILLed (no chance to clean up), the kernel kills the child too.
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)


def spawn(argv, *, stdout, stderr, env=None) -> subprocess.Popen:
    """Start argv in its own session (so its whole process group can be
    signalled and the terminal's Ctrl-C reaches only the harness)."""
    proc = subprocess.Popen(
        argv,
        cwd=str(HERE),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
        start_new_session=True,
        preexec_fn=_child_setup,
    )
    _LIVE.add(proc)
    return proc


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def stop(proc: subprocess.Popen, timeout: float = STOP_TIMEOUT) -> bool:
    """SIGTERM the process group, SIGKILL whatever is left after timeout.
    Returns True when SIGKILL was needed."""
    pgid = proc.pid  # session leader == group leader (start_new_session)
    killed = False
    try:
        if proc.poll() is None or _group_alive(pgid):
            try:
                os.killpg(pgid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + timeout
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            while _group_alive(pgid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if proc.poll() is None or _group_alive(pgid):
                killed = True
                try:
                    os.killpg(pgid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()
    finally:
        _LIVE.discard(proc)
    return killed


def stop_all() -> None:
    for proc in list(_LIVE):
        try:
            stop(proc, timeout=2.0)
        except Exception as exc:  # keep going: leave nothing behind
            print(f"warning: could not stop pid {proc.pid}: {exc}", file=sys.stderr)


def _on_signal(signum, _frame):
    # Turn SIGTERM/SIGHUP into an exception so that `finally` blocks run.
    print(f"\n{signal.Signals(signum).name}: stopping servers", file=sys.stderr)
    raise SystemExit(128 + signum)


# ==========================================================================
# CPU accounting from /proc
# ==========================================================================


def _read_stat(pid: int):
    """(ppid, (user, system) ticks) of one process, or None: user is
    utime+cutime, system (time in the kernel) stime+cstime."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # Field 2 (comm) may contain spaces and parentheses: split after the last ')'.
    rest = data[data.rindex(b")") + 2 :].split()
    ppid = int(rest[1])  # field 4
    utime, stime, cutime, cstime = (int(x) for x in rest[11:15])  # fields 14-17
    return ppid, (utime + cutime, stime + cstime)


def tree_cpu_ticks(root_pid: int) -> Tuple[int, int]:
    """CPU ticks (user, system) used so far by root_pid and all descendants.

    cutime/cstime are included so that a descendant that exited and was
    reaped during the measurement keeps being counted (its time moves to its
    parent's cutime/cstime) instead of vanishing."""
    stats = {}
    children: Dict[int, List[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = _read_stat(int(name))
        if st is None:
            continue
        stats[int(name)] = st
        children.setdefault(st[0], []).append(int(name))
    user = system = 0
    todo, seen = [root_pid], set()
    while todo:
        pid = todo.pop()
        if pid in seen or pid not in stats:
            continue
        seen.add(pid)
        user += stats[pid][1][0]
        system += stats[pid][1][1]
        todo.extend(children.get(pid, ()))
    return user, system


def cpu_busy_ticks(cpu: int):
    """(busy, steal) clock ticks of one CPU so far, from /proc/stat."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith(f"cpu{cpu} "):
                v = [int(x) for x in line.split()[1:]]
                # user nice system idle iowait irq softirq steal ...
                return v[0] + v[1] + v[2] + v[5] + v[6], v[7] if len(v) > 7 else 0
    return 0, 0


# ==========================================================================
# Servers: one entry per server under test.
# ==========================================================================


@dataclass
class Ctx:
    """What server entries need to build their command lines."""

    python: str
    tmp: Path
    server_cpu: int
    client_cpu: int


class SkipServer(Exception):
    """The server cannot be run here (not installed, import fails, ...)."""


class ServerFailed(Exception):
    """The server was started but did not work (crash, wrong response...)."""


@dataclass
class Server:
    name: str
    # -> version string, or raise SkipServer(reason).  Called once.
    probe: Callable[[Ctx], str]
    # (ctx, port, workload) -> argv, without the taskset prefix.
    argv: Callable[[Ctx, int, "apps.Workload"], List[str]]
    # Can this server serve the workload?  (nginx: only with a static twin.)
    supports: Callable[["apps.Workload"], bool] = lambda w: True
    # Why the server cannot take part in a workload (None: it can).
    unsupported: Callable[["apps.Workload"], Optional[str]] = lambda w: None
    note: str = ""  # how it is configured, shown in the report
    ceiling: bool = False


_PROBE_SRC = r"""
import importlib, sys
module, dist = sys.argv[1], sys.argv[2]
if module != "-":  # "-": nothing to import (uwsgi's module exists only inside uwsgi)
    importlib.import_module(module)
try:
    from importlib.metadata import version
    print(version(dist))
except Exception:
    print(getattr(importlib.import_module(dist), "__version__", "unknown"))
"""


def python_probe(module: str, dist: str, python: Optional[Path] = None,
                 venv_note: str = "the bench venv") -> Callable[[Ctx], str]:
    """Import `module` in the bench venv (or with the interpreter `python`),
    from the benchmarks directory like the servers, and return the installed
    version of distribution `dist`."""

    def probe(ctx: Ctx) -> str:
        py = str(python) if python is not None else ctx.python
        if python is not None and not os.access(py, os.X_OK):
            raise SkipServer(f"{venv_note} does not exist ({python}; run.sh creates it)")
        try:
            res = subprocess.run(
                [py, "-c", _PROBE_SRC, module, dist],
                cwd=str(HERE),
                env=server_env(),
                capture_output=True,
                text=True,
                timeout=60,
            )
        except subprocess.TimeoutExpired:
            raise SkipServer(f"`import {module}` timed out in {venv_note}")
        if res.returncode != 0:
            lines = [l for l in res.stderr.strip().splitlines() if l.strip()]
            why = lines[-1] if lines else f"exit code {res.returncode}"
            raise SkipServer(f"`import {module}` failed in {venv_note}: {why}")
        return res.stdout.strip() or "unknown"

    return probe


def venv_script(ctx: Ctx, name: str) -> str:
    """A console script installed next to the bench venv's python."""
    return str(Path(ctx.python).parent / name)


def script_probe(module: str, dist: str, script: str) -> Callable[[Ctx], str]:
    """python_probe, plus: the console script `script` must exist in the venv."""
    inner = python_probe(module, dist)

    def probe(ctx: Ctx) -> str:
        version = inner(ctx)
        if not os.access(venv_script(ctx, script), os.X_OK):
            raise SkipServer(f"`{script}` is not installed in the bench venv")
        return version

    return probe


# The PyPI fastwsgi 0.0.9 has the same import name as the checkout's, so it
# lives in a venv of its own (run.sh creates it from requirements-fastwsgi009.txt).
VENV_FASTWSGI009 = HERE / ".venv-fastwsgi009"
PYTHON_FASTWSGI009 = VENV_FASTWSGI009 / "bin" / "python"


def closes_every_connection(w: "apps.Workload") -> Optional[str]:
    """For servers that close the connection after each response."""
    if w.pipeline > 1:
        return ("closes the connection after every response, so a pipelined round trip "
                "never completes (wrk would record nothing)")
    return None


def uwsgi_argv(ctx: Ctx, port: int, w: "apps.Workload") -> List[str]:
    return [venv_script(ctx, "uwsgi"), "--http-socket", f"{HOST}:{port}",
            "--module", f"apps:{w.app}", "--pythonpath", str(HERE),
            "--home", str(Path(ctx.python).parent.parent),
            "--processes", "1", "--disable-logging", "--die-on-term", "--need-app",
            "--listen", "1024", "--add-header", "Connection: close"]


def nginx_binary() -> Optional[str]:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )


def nginx_probe(ctx: Ctx) -> str:
    binary = nginx_binary()
    if not binary:
        raise SkipServer("nginx is not installed (apt-get install nginx)")
    res = subprocess.run([binary, "-v"], capture_output=True, text=True)
    m = re.search(r"nginx/(\S+)", res.stderr + res.stdout)
    return m.group(1) if m else "unknown"


def nginx_argv(ctx: Ctx, port: int, w: "apps.Workload", worker_connections: int = 4096,
               extra: str = "", main_extra: str = "") -> List[str]:
    """Command line of nginx with a generated config for workload w.
    worker_connections, extra (directives for the http block) and main_extra
    (for the main context) are for memory.py, which holds 10,000 idle
    connections; each directive line ends with a newline."""
    prefix = ctx.tmp / f"nginx-{port}"
    prefix.mkdir(parents=True, exist_ok=True)
    temp_dirs = "\n".join(
        f"    {kind}_temp_path {prefix / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = f"""# generated by benchmarks/run.py: static ceiling for workload {w.name!r}
daemon off;
master_process off;
worker_processes 1;
{main_extra}pid {prefix / 'nginx.pid'};
error_log {prefix / 'error.log'} warn;
events {{
    worker_connections {worker_connections};
}}
http {{
    access_log off;
    server_tokens off;
    keepalive_requests 1000000;
{extra}{temp_dirs}
    server {{
        listen {HOST}:{port};
        location = {w.path.split("?")[0]} {{
            {w.nginx}
        }}
    }}
}}
"""
    (prefix / "nginx.conf").write_text(conf)
    return [nginx_binary() or "nginx", "-p", str(prefix), "-e", str(prefix / "error.log"),
            "-c", str(prefix / "nginx.conf")]


def fastwsgi_argv(options=lambda c, port: []):
    """The checkout's `python -m fastwsgi` on PORT, with options(ctx, port) added."""
    return lambda c, port, w: [c.python, "-m", "fastwsgi", "--host", HOST, "--port", str(port),
                               *options(c, port), f"apps:{w.app}"]


def baseline_probe(ctx: Ctx) -> str:
    """fastwsgi-baseline: the build run.sh --baseline REF made, which must be
    what `import fastwsgi` finds with it on PYTHONPATH."""
    lib = os.environ.get("BENCH_BASELINE")
    if not lib:
        raise SkipServer("no baseline build: give run.sh --baseline REF")
    env = dict(server_env(), PYTHONPATH=lib)
    res = subprocess.run([ctx.python, "-c", "import fastwsgi._core; print(fastwsgi.__file__)"],
                         cwd=str(HERE), env=env, capture_output=True, text=True, timeout=60)
    if res.returncode != 0 or not res.stdout.strip().startswith(lib):
        raise SkipServer(f"the baseline build in {lib} does not import: "
                         f"{(res.stderr.strip().splitlines() or ['?'])[-1]}")
    return os.environ.get("BENCH_BASELINE_REF", lib)


SERVERS: List[Server] = [
    Server(
        name="fastwsgi",
        probe=python_probe("fastwsgi._core", "fastwsgi"),
        argv=fastwsgi_argv(),
        note="`python -m fastwsgi`, single process",
    ),
    Server(
        name="fastwsgi-accesslog",
        probe=python_probe("fastwsgi._core", "fastwsgi"),
        argv=fastwsgi_argv(lambda c, port: ["--access-log-file", str(c.tmp / f"access-{port}.log")]),
        supports=lambda w: w.name == "hello",
        note="the same with the access log on: the default combined format, appended "
             "to a file in the benchmark's temporary directory (a real file on disk, not "
             "/dev/null, so every line is copied into the page cache as in production); "
             "hello only, where the log's share of the cost is largest",
    ),
    Server(
        name="fastwsgi-nodefer",
        probe=python_probe("fastwsgi._core", "fastwsgi"),
        argv=fastwsgi_argv(lambda c, port: ["--defer-accept", "0"]),
        supports=lambda w: w.name == "churn",
        note="the same with `--defer-accept 0`: woken to accept each connection and again "
             "to read it; churn only, the one workload that opens connections",
    ),
    Server(
        name="fastwsgi-baseline",
        probe=baseline_probe,
        argv=lambda c, port, w: ["env", "PYTHONPATH=" + os.environ["BENCH_BASELINE"],
                                 *fastwsgi_argv()(c, port, w)],
        note="fastwsgi as committed at the version shown, built by `run.sh --baseline REF` "
             "into benchmarks/.baseline: the same command, to compare two commits in one run",
    ),
    Server(
        name="fastwsgi-0.0.9",
        probe=python_probe("fastwsgi", "fastwsgi", python=PYTHON_FASTWSGI009,
                           venv_note="benchmarks/.venv-fastwsgi009"),
        argv=lambda c, port, w: [str(PYTHON_FASTWSGI009), "fastwsgi009_runner.py", w.app,
                                 HOST, str(port)],
        note="the PyPI release 0.0.9 (libuv), in its own venv: "
             "`fastwsgi.run(wsgi_app=app, host=..., port=..., loglevel=3)` from "
             "fastwsgi009_runner.py, single process; it has no wsgi.file_wrapper, so "
             "file10m's app iterates the file in 64 KiB blocks",
    ),
    Server(
        name="bjoern",
        probe=python_probe("bjoern", "bjoern"),
        argv=lambda c, port, w: [
            c.python, "-c",
            "import sys, bjoern, apps; "
            "bjoern.run(getattr(apps, sys.argv[1]), sys.argv[2], int(sys.argv[3]))",
            w.app, HOST, str(port)],
        note="`bjoern.run(app, host, port)`, single process",
    ),
    Server(
        name="granian",
        probe=script_probe("granian", "granian", "granian"),
        argv=lambda c, port, w: [venv_script(c, "granian"), "--interface", "wsgi",
                                 "--workers", "1", "--blocking-threads", "1",
                                 "--runtime-threads", "1", "--http", "1", "--no-ws",
                                 "--log-level", "warning", "--no-access-log",
                                 "--host", HOST, "--port", str(port), f"apps:{w.app}"],
        note="`--interface wsgi`, 1 worker process, 1 blocking thread, 1 runtime thread, "
             "HTTP/1 only (+ the main process, whose CPU is counted)",
    ),
    Server(
        name="gunicorn",
        probe=python_probe("gunicorn", "gunicorn"),
        argv=lambda c, port, w: [c.python, "-m", "gunicorn", "--workers", "1",
                                 "--worker-class", "sync", "--bind", f"{HOST}:{port}",
                                 "--log-level", "warning", f"apps:{w.app}"],
        note="sync worker class, 1 worker (+ the arbiter process, whose CPU is counted); "
             "the sync worker closes the connection after every response",
        unsupported=closes_every_connection,
    ),
    Server(
        name="gunicorn-gthread",
        probe=python_probe("gunicorn", "gunicorn"),
        argv=lambda c, port, w: [c.python, "-m", "gunicorn", "--workers", "1",
                                 "--worker-class", "gthread", "--threads", "4",
                                 "--bind", f"{HOST}:{port}", "--log-level", "warning",
                                 f"apps:{w.app}"],
        note="gthread worker class, 1 worker with 4 threads, keep-alive (default 2 s "
             "timeout; + the arbiter process, whose CPU is counted)",
    ),
    Server(
        name="uwsgi",
        probe=script_probe("-", "uwsgi", "uwsgi"),
        argv=uwsgi_argv,
        unsupported=closes_every_connection,
        note="`--http-socket`, 1 process, no master, no threads, logging off, listen "
             "backlog 1024; with one synchronous process it closes the connection "
             "after every response, so `--add-header 'Connection: close'` tells the "
             "client (else wrk counts a read error per response)",
    ),
    Server(
        name="waitress",
        probe=python_probe("waitress", "waitress"),
        argv=lambda c, port, w: [c.python, "-m", "waitress", f"--host={HOST}",
                                 f"--port={port}", f"apps:{w.app}"],
        note="waitress defaults: one process, 4 worker threads (`--threads` not set)",
    ),
    Server(
        name="nginx",
        probe=nginx_probe,
        argv=nginx_argv,
        supports=lambda w: w.nginx is not None,
        note="static ceiling, not a WSGI server: `return 200` from the config; "
             "worker_processes 1, master_process off, access_log off",
        ceiling=True,
    ),
]
SERVERS_BY_NAME = {s.name: s for s in SERVERS}


def server_env() -> Dict[str, str]:
    env = dict(os.environ)
    # A PYTHONPATH pointing at the repo root would make `import fastwsgi`
    # pick up the source tree instead of the installed build.
    env.pop("PYTHONPATH", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


# ==========================================================================
# HTTP helpers: readiness and the correctness check
# ==========================================================================


def http_request(port: int, w: "apps.Workload", timeout: float = 5.0):
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(w.method, w.path, body=w.body or None, headers=dict(w.headers))
        resp = conn.getresponse()
        return resp.status, resp.getheaders(), resp.read()
    finally:
        conn.close()


def wait_ready(proc: subprocess.Popen, port: int, w: "apps.Workload", log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    last = "no attempt"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerFailed(f"exited with code {proc.returncode} before answering"
                               f"{log_tail(log)}")
        try:
            http_request(port, w, timeout=1.0)
            return
        except (OSError, http.client.HTTPException) as exc:
            last = f"{type(exc).__name__}: {exc}"
            time.sleep(0.05)
    raise ServerFailed(f"no HTTP answer on port {port} within {READY_TIMEOUT:.0f}s "
                       f"(last: {last}){log_tail(log)}")


def check_response(port: int, w: "apps.Workload") -> None:
    try:
        status, headers, body = http_request(port, w)
    except (OSError, http.client.HTTPException) as exc:
        raise ServerFailed(f"check request failed: {type(exc).__name__}: {exc}")
    problems = []
    if status != w.expect_status:
        problems.append(f"status {status}, expected {w.expect_status}")
    got = {}
    for k, v in headers:
        got.setdefault(k.lower(), []).append(v)
    for k, v in w.expect_headers:
        values = got.get(k.lower(), [])
        if values != [v]:
            problems.append(f"header {k}: {values or 'missing'}, expected [{v!r}]")
    expected = w.expect_body() if callable(w.expect_body) else w.expect_body
    if expected is not None and body != expected:
        shown = body if len(body) <= 80 else body[:80] + b"..."
        problems.append(f"body {shown!r} ({len(body)} bytes), expected "
                        f"{len(expected)} bytes")
    if problems:
        raise ServerFailed("wrong response: " + "; ".join(problems))


def log_tail(log: Path, lines: int = 15) -> str:
    try:
        text = log.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    if not text:
        return ""
    return "\n    server output (last lines):\n      " + "\n      ".join(text[-lines:])


class _PortPlaceholder(int):
    """Stands in for the port when a command line is shown in the report."""

    def __str__(self):
        return "PORT"

    __format__ = lambda self, spec: "PORT"  # noqa: E731


PORT = _PortPlaceholder(0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


# ==========================================================================
# wrk
# ==========================================================================


def lua_str(data) -> str:
    """A Lua string literal for str/bytes (decimal escapes for the rest)."""
    if isinstance(data, str):
        data = data.encode()
    out = []
    for b in data:
        c = chr(b)
        if c in '\\"':
            out.append("\\" + c)
        elif 32 <= b < 127:
            out.append(c)
        else:
            out.append(f"\\{b:03d}")
    return '"' + "".join(out) + '"'


def wrk_script(w: "apps.Workload", tmp: Path) -> Optional[Path]:
    """A Lua script for wrk when the method, the body or pipelining differ from
    a plain GET (extra headers alone go on the command line as -H flags).

    Without pipelining the script only sets wrk.method/wrk.body/wrk.headers:
    wrk then builds the request once and sends it as a static buffer, as it
    does without a script.  With pipelining it defines request(), which wrk
    calls once per round trip (every `pipeline` requests)."""
    if w.method == "GET" and not w.body and w.pipeline == 1:
        return None
    lines = [f"-- generated by benchmarks/run.py for workload {w.name!r}"]
    body = "nil"
    if w.body:
        body_file = tmp / f"wrk-{w.name}.body"
        body_file.write_bytes(w.body)
        lines.append(f'do local f = assert(io.open({lua_str(str(body_file))}, "rb")); '
                     f'wrk.body = f:read("*a"); f:close() end')
        body = "wrk.body"
    lines.append(f"wrk.method = {lua_str(w.method)}")
    for k, v in w.headers:
        lines.append(f"wrk.headers[{lua_str(k)}] = {lua_str(v)}")
    if w.pipeline > 1:
        lines += [
            "local req = nil",
            "function init(args)",
            f"  req = string.rep(wrk.format(nil, {lua_str(w.path)}, nil, {body}), "
            f"{int(w.pipeline)})",
            "end",
            "function request() return req end",
        ]
    path = tmp / f"wrk-{w.name}.lua"
    path.write_text("\n".join(lines) + "\n")
    return path


def connections(args, w: "apps.Workload") -> int:
    """wrk -c for workload w: --connections if given, else the workload's own."""
    return args.connections if args.connections else w.connections


def wrk_argv(args, duration: int, port: int, w: "apps.Workload", script: Optional[Path],
             display: bool = False) -> List[str]:
    argv = ["taskset", "-c", str(args.client_cpu), "wrk", "-t1", f"-c{connections(args, w)}",
            f"-d{duration}s", "--latency"]
    if script is not None:
        argv += ["-s", f"wrk-{w.name}.lua" if display else str(script)]
    else:
        for k, v in w.headers:
            argv += ["-H", f"{k}: {v}"]
    argv.append(f"http://{HOST}:{'PORT' if display else port}{w.path}")
    return argv


_UNIT_US = {"us": 1.0, "ms": 1e3, "s": 1e6, "m": 60e6, "h": 3600e6}


def parse_wrk(out: str) -> dict:
    def need(pattern):
        m = re.search(pattern, out, re.M)
        if not m:
            raise ValueError(f"wrk output lacks {pattern!r}:\n{out}")
        return m

    res = {
        "requests": int(need(r"^\s*(\d+) requests in ").group(1)),
        "rps": float(need(r"^Requests/sec:\s*([\d.]+)").group(1)),
    }
    m = need(r"^\s*Latency\s+([\d.]+)(us|ms|s|m|h)\s+\S+\s+([\d.]+)(us|ms|s|m|h)")
    res["max_us"] = float(m.group(3)) * _UNIT_US[m.group(4)]
    for pct in ("50", "99"):
        m = need(rf"^\s*{pct}(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$")
        value = float(m.group(1)) * _UNIT_US[m.group(2)]
        # wrk 4 adds synthetic samples for late responses (stats_correct) and
        # can place them below the recorded minimum, which its percentile walk
        # never visits: it then prints 0.00us.  Seen with pipelining.  A 0 is
        # never a real latency, so report it as missing.
        res[f"p{pct}_us"] = value if value > 0 else None
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    res["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    res["non2xx"] = int(m.group(1)) if m else 0
    return res


def run_wrk(args, duration: int, port: int, w, script, server: subprocess.Popen, log: Path,
            what: str) -> str:
    proc = spawn(wrk_argv(args, duration, port, w, script),
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=duration + 60)
    except subprocess.TimeoutExpired:
        raise ServerFailed(f"wrk did not finish {what} in time")
    finally:
        stop(proc)
    if server.poll() is not None:
        raise ServerFailed(f"exited with code {server.returncode} during {what}{log_tail(log)}")
    if proc.returncode != 0:
        raise ServerFailed(f"wrk exited with {proc.returncode} in {what}: "
                           f"{err.decode(errors='replace').strip()}{log_tail(log)}")
    return out.decode(errors="replace")


# ==========================================================================
# One measured run
# ==========================================================================


@dataclass
class Run:
    round: int
    workload: str
    server: str
    rps: float = 0.0
    p50_us: Optional[float] = None  # None: wrk printed no usable percentile
    p99_us: Optional[float] = None
    requests: int = 0
    cpu_ticks: int = 0
    cpu_us_per_req: float = 0.0
    # The part of cpu_ticks spent in the kernel (system time): on loopback it
    # includes delivering each response into the client's socket.
    kernel_share: float = 0.0
    wall_s: float = 0.0
    cpu_util: float = 0.0  # server CPU seconds / wall seconds (1.0 = one CPU saturated)
    # Share of the server CPU's wall time used by anything but the server
    # (other processes, plus steal by the hypervisor): noise in this run.
    other_load: float = 0.0
    # The same for wrk's CPU: time used there by anything but wrk.
    other_load_client: float = 0.0
    socket_errors: int = 0
    non2xx: int = 0
    error: Optional[str] = None
    wrk_output: str = ""  # the measured run's full wrk output, kept in the .json


def measure(args, ctx: Ctx, server: Server, w, rnd: int) -> Run:
    port = free_port()
    log = ctx.tmp / f"{w.name}-{server.name}-r{rnd}.log"
    argv = ["taskset", "-c", str(ctx.server_cpu)] + server.argv(ctx, port, w)
    script = wrk_script(w, ctx.tmp)
    run = Run(round=rnd, workload=w.name, server=server.name)
    with open(log, "wb") as logf:
        proc = spawn(argv, stdout=logf, stderr=subprocess.STDOUT, env=server_env())
    try:
        wait_ready(proc, port, w, log)
        check_response(port, w)
        if args.warmup > 0:
            run_wrk(args, args.warmup, port, w, script, proc, log, "the warm-up")
        busy0, steal0 = cpu_busy_ticks(ctx.server_cpu)
        cbusy0, csteal0 = cpu_busy_ticks(ctx.client_cpu)
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        before, t0 = tree_cpu_ticks(proc.pid), time.monotonic()
        out = run_wrk(args, args.duration, port, w, script, proc, log, "the measured run")
        after, t1 = tree_cpu_ticks(proc.pid), time.monotonic()
        # Only wrk was reaped in between, so this is wrk's own CPU time.
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        busy1, steal1 = cpu_busy_ticks(ctx.server_cpu)
        cbusy1, csteal1 = cpu_busy_ticks(ctx.client_cpu)
        if proc.poll() is not None:
            raise ServerFailed(f"exited with code {proc.returncode} during the run{log_tail(log)}")
        run.wrk_output = out
        user_ticks, system_ticks = after[0] - before[0], after[1] - before[1]
        try:
            res = parse_wrk(out)
        except ValueError as exc:
            raise ServerFailed(f"unexpected wrk output: {exc}")
        if res["max_us"] <= 0:
            raise ServerFailed(
                f"stalled: wrk recorded no completed round trip ({res['requests']} requests in "
                f"{args.duration} s, server CPU {(user_ticks + system_ticks) / CLK_TCK:.2f} s); the server "
                "probably mishandles this workload")
        run.rps, run.p50_us, run.p99_us = res["rps"], res["p50_us"], res["p99_us"]
        run.requests, run.socket_errors, run.non2xx = (
            res["requests"], res["socket_errors"], res["non2xx"])
        run.cpu_ticks = user_ticks + system_ticks
        if run.requests <= 0:
            raise ServerFailed("wrk completed no request")
        run.cpu_us_per_req = run.cpu_ticks / CLK_TCK * 1e6 / run.requests
        if run.cpu_ticks:
            run.kernel_share = system_ticks / run.cpu_ticks
        run.wall_s = t1 - t0
        run.cpu_util = run.cpu_ticks / CLK_TCK / run.wall_s
        other = max(0, (busy1 - busy0) - run.cpu_ticks) + (steal1 - steal0)
        run.other_load = other / CLK_TCK / run.wall_s
        wrk_s = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        other_c = max(0.0, (cbusy1 - cbusy0) / CLK_TCK - wrk_s) + (csteal1 - csteal0) / CLK_TCK
        run.other_load_client = other_c / run.wall_s
        check_response(port, w)  # still alive and still correct after the load?
    finally:
        if stop(proc):
            print(f"    warning: {server.name} did not exit within {STOP_TIMEOUT:.0f} s of "
                  "SIGTERM and was killed")
    return run


# ==========================================================================
# Report
# ==========================================================================


def fmt_us(us: Optional[float]) -> str:
    if us is None:
        return "n/a"
    if us < 1000:
        return f"{us:.0f} µs"
    if us < 1e6:
        return f"{us / 1000:.2f} ms"
    return f"{us / 1e6:.2f} s"


@dataclass
class Row:
    server: Server
    version: str
    runs: List[Run] = field(default_factory=list)
    failure: Optional[str] = None

    def ok_runs(self) -> List[Run]:
        return [r for r in self.runs if r.error is None]

    def median(self, attr: str) -> Optional[float]:
        values = [getattr(r, attr) for r in self.ok_runs() if getattr(r, attr) is not None]
        return statistics.median(values) if values else None


def ranked(rows: List[Row]) -> List[Row]:
    return sorted([r for r in rows if r.ok_runs()], key=lambda r: r.median("cpu_us_per_req"))


def markdown_table(rows: List[Row]) -> str:
    lines = [
        "| # | Server | Version | Req/s | Req/s min–max | p50 latency | p99 latency "
        "| CPU µs/req | in kernel | Server CPU | wrk errors | Runs |",
        "|--:|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for i, row in enumerate(ranked(rows), 1):
        ok = row.ok_runs()
        rps = [r.rps for r in ok]
        name = f"{row.server.name} (ceiling)" if row.server.ceiling else row.server.name
        errors = sum(r.socket_errors + r.non2xx for r in ok)
        lines.append(
            f"| {i} | {name} | {row.version} | {row.median('rps'):,.0f} "
            f"| {min(rps):,.0f}–{max(rps):,.0f} | {fmt_us(row.median('p50_us'))} "
            f"| {fmt_us(row.median('p99_us'))} | {row.median('cpu_us_per_req'):.1f} "
            f"| {row.median('kernel_share'):.0%} "
            f"| {row.median('cpu_util'):.0%} | {errors} | {len(ok)}/{len(row.runs)} |"
        )
    for row in rows:
        if not row.ok_runs():
            lines.append(f"| – | {row.server.name} | {row.version} | failed | | | | | | | | "
                         f"0/{len(row.runs)} |")
    return "\n".join(lines)


def noise_flag(run: Run, ctx: Ctx) -> str:
    parts = []
    if run.other_load >= NOISE_WARN:
        parts.append(f"{run.other_load:.0%} of server CPU {ctx.server_cpu}")
    if run.other_load_client >= NOISE_WARN:
        parts.append(f"{run.other_load_client:.0%} of wrk CPU {ctx.client_cpu}")
    return f"  NOISE: others used {' and '.join(parts)}" if parts else ""


def noise_note(rows: List[Row], ctx: Ctx) -> str:
    runs = [r for row in rows for r in row.ok_runs()]
    noisy = [r for r in runs
             if r.other_load >= NOISE_WARN or r.other_load_client >= NOISE_WARN]
    if not noisy:
        return ""
    worst_s = max(r.other_load for r in runs)
    worst_c = max(r.other_load_client for r in runs)
    return (f"**Noise warning**: in {len(noisy)} of {len(runs)} runs other processes (or the "
            f"hypervisor) took {NOISE_WARN:.0%} or more of the server's CPU {ctx.server_cpu} "
            f"(worst {worst_s:.0%}) or of wrk's CPU {ctx.client_cpu} (worst {worst_c:.0%}); see "
            "the raw runs. Others on the server CPU make CPU µs/req less reliable; others on "
            "wrk's CPU lower Req/s. Rerun on a quiet machine before drawing conclusions.")


def machine_info(python: str) -> Dict[str, str]:
    info = {}
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info["CPU"] = f"{cpu} ({os.cpu_count()} logical CPUs)"
    u = platform.uname()
    info["Kernel"] = f"{u.system} {u.release} {u.machine}"
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                info["OS"] = line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    info["Python"] = subprocess.run(
        [python, "-c", "import platform; print(platform.python_implementation(), "
                       "platform.python_version())"],
        capture_output=True, text=True).stdout.strip()
    res = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    first = ((res.stdout + res.stderr).strip().splitlines() or ["?"])[0]
    info["wrk"] = first.split(" Copyright")[0]
    res = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
                         capture_output=True, text=True)
    info["fastwsgi checkout"] = res.stdout.strip() if res.returncode == 0 else "no commit yet"
    info["Date (UTC)"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
    return info


def write_report(args, ctx, w, rows, skipped, info, command, base: Path) -> str:
    table = markdown_table(rows)
    wrk_cmd = " ".join(shlex.quote(a) for a in wrk_argv(
        args, args.duration, 0, w, wrk_script(w, ctx.tmp), display=True))
    server_cmds = []
    for row in rows:
        argv = ["taskset", "-c", str(ctx.server_cpu)] + row.server.argv(ctx, PORT, w)
        shown = " ".join(shlex.quote(a) for a in argv)
        shown = shown.replace(str(ctx.tmp), "$TMP").replace(ctx.python, "python")
        shown = shown.replace(str(HERE) + "/", "benchmarks/")
        server_cmds.append(f"- **{row.server.name}**: {row.server.note}.  \n  `{shown}`")
    md = [
        f"# Benchmark `{w.name}`",
        "",
        w.description,
        "",
        table,
        "",
        f"Medians over {args.rounds} interleaved round(s) of {args.duration} s each, ranked by "
        "CPU time per request (lower is better). Req/s min–max is the spread over the "
        "rounds; in kernel is the part of the server's CPU time spent in the kernel (its "
        "system time: on loopback, sending a response includes delivering it into the "
        "client's socket, so this part is mostly the same for every server); "
        "Server CPU is the server's CPU time over wall time during the measured run "
        "(100% = its one CPU saturated; well below that, Req/s was limited by the load "
        "generator or by noise, not by the server); wrk errors are socket errors plus "
        "non-2xx/3xx responses, summed over the rounds.",
        "",
    ]
    note = noise_note(rows, ctx)
    if note:
        md += [note, ""]
    md += [
        "## Command",
        "",
        f"`{command}`",
        "",
        "## Method",
        "",
        f"- Server pinned to CPU {ctx.server_cpu}, one process/worker; load generator pinned to "
        f"CPU {ctx.client_cpu}: `{wrk_cmd}`.",
        f"- Every run: start the server, poll until it answers HTTP, check its response "
        f"(status, headers, body), warm up with a {args.warmup} s wrk run, measure one "
        f"{args.duration} s wrk run, check the response again, stop the server "
        "(SIGTERM, SIGKILL after 5 s).",
        f"- {args.rounds} round(s), interleaved: every server once per round, the order rotated "
        "by one position each round.",
        "- CPU µs/req = (utime+stime, plus cutime+cstime, of the server process and all its "
        "descendants from /proc/<pid>/stat, delta around the measured wrk run, in "
        f"clock ticks / SC_CLK_TCK={CLK_TCK}) / requests wrk completed in that run; in kernel "
        "= stime+cstime over that sum.",
        "- Latency percentiles are wrk's (`--latency`); n/a where wrk printed 0 (see README).",
        "",
        "Server commands (`PORT` is a free port picked per run, `python` the bench venv's):",
        "",
    ]
    md += server_cmds
    nginx_conf = ctx.tmp / f"nginx-{PORT}" / "nginx.conf"
    if any(r.server.name == "nginx" for r in rows) and nginx_conf.exists():
        md += ["", "<details><summary>generated nginx.conf</summary>", "", "```nginx",
               nginx_conf.read_text().replace(str(ctx.tmp), "$TMP").rstrip(), "```", "",
               "</details>"]
    md += ["", "## Machine", ""]
    md += [f"- {k}: {v}" for k, v in info.items()]
    if skipped:
        md += ["", "## Not measured", ""]
        md += [f"- {name}: {why}" for name, why in skipped.items()]
    failed = [r for r in rows if r.failure]
    if failed:
        md += ["", "## Failures", ""]
        md += [f"- {r.server.name}: {r.failure}".replace("\n", "\n  ") for r in failed]
    md += ["", "## Raw runs", "",
           "| Round | Server | Req/s | p50 | p99 | Requests | CPU ticks | CPU µs/req | in kernel "
           f"| Server CPU | Others on CPU {ctx.server_cpu} | Others on CPU {ctx.client_cpu} "
           "| wrk errors |",
           "|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for r in sorted((r for row in rows for r in row.runs), key=lambda r: (r.round, r.server)):
        if r.error:
            md.append(f"| {r.round} | {r.server} | error | | | | | | | | | | |")
        else:
            md.append(f"| {r.round} | {r.server} | {r.rps:,.0f} | {fmt_us(r.p50_us)} | "
                      f"{fmt_us(r.p99_us)} | {r.requests} | {r.cpu_ticks} | "
                      f"{r.cpu_us_per_req:.1f} | {r.kernel_share:.0%} | {r.cpu_util:.0%} | "
                      f"{r.other_load:.0%} | "
                      f"{r.other_load_client:.0%} | "
                      f"{r.socket_errors + r.non2xx} |")
    base.with_suffix(".md").write_text("\n".join(md) + "\n")
    base.with_suffix(".json").write_text(json.dumps({
        "workload": w.name,
        "command": command,
        "machine": info,
        "settings": {"rounds": args.rounds, "duration_s": args.duration, "warmup_s": args.warmup,
                     "connections": connections(args, w), "server_cpu": ctx.server_cpu,
                     "client_cpu": ctx.client_cpu, "clk_tck": CLK_TCK},
        "versions": {r.server.name: r.version for r in rows},
        "skipped": skipped,
        "failures": {r.server.name: r.failure for r in rows if r.failure},
        "runs": [asdict(r) for row in rows for r in row.runs],
    }, indent=1) + "\n")
    return table


def write_chart(args, w, rows, info, base: Path) -> Optional[str]:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        return f"chart skipped: matplotlib not importable ({exc})"
    order = ranked(rows)
    if not order:
        return "chart skipped: no successful run"
    labels = [f"{r.server.name}\n{r.version}" for r in order]
    panels = [
        ("cpu_us_per_req", "CPU time per request (µs, lower is better)", 1.0, "{:.1f}"),
        ("rps", "Requests per second (higher is better)", 1.0, "{:,.0f}"),
        ("p99_us", "p99 latency (ms, lower is better)", 1e-3, "{:.2f}"),
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(15, 1.2 + 0.75 * len(order)), sharey=True)
    ys = list(range(len(order)))[::-1]  # rank 1 on top
    for ax, (attr, title, scale, fmt) in zip(axes, panels):
        meds = [r.median(attr) for r in order]
        meds = [None if m is None else m * scale for m in meds]
        colors = ["#d95f02" if r.server.name == "fastwsgi" else
                  "#fdb863" if r.server.name.startswith("fastwsgi") else
                  "#bdbdbd" if r.server.ceiling else "#1f78b4" for r in order]
        ax.barh(ys, [m or 0 for m in meds], color=colors, height=0.6)
        for y, r in zip(ys, order):
            vals = [getattr(x, attr) * scale for x in r.ok_runs() if getattr(x, attr) is not None]
            ax.plot(vals, [y] * len(vals), "k.", markersize=4, alpha=0.6)
        for y, m in zip(ys, meds):
            ax.text(m or 0, y, " n/a" if m is None else " " + fmt.format(m), va="center",
                    fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.margins(x=0.18)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(ys)
    axes[0].set_yticklabels(labels, fontsize=9)
    fig.suptitle(f"{w.name}: {w.description}\nmedian of {args.rounds} round(s) × {args.duration} s, "
                 f"wrk -t1 -c{connections(args, w)}; server on 1 CPU; dots = single rounds\n"
                 f"{info.get('CPU', '')}, {info.get('Kernel', '')}, {info.get('Python', '')}",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(base.with_suffix(".png"), dpi=110)
    plt.close(fig)
    return None


# ==========================================================================
# Extras: instructions per request (instructions.py) and memory (memory.py)
# ==========================================================================

INSTRUCTION_SERVERS = tuple(instructions.SERVERS)  # the servers instructions.py knows
INSTRUCTION_WORKLOADS = tuple(instructions.WORKLOADS)  # hello, headers20


def instructions_run(ctx: Ctx, server: str, workload: str, requests: int) -> dict:
    """One instructions.py run: its figure, or the reason there is none."""
    argv = ["taskset", "-c", str(ctx.server_cpu), ctx.python, str(HERE / "instructions.py"),
            "--server", server, "--workload", workload, "--requests", str(requests)]
    t0 = time.monotonic()
    proc = spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=server_env())
    try:
        out, err = proc.communicate(timeout=900)
    except subprocess.TimeoutExpired:
        out, err = b"", b"timed out after 900 s"
    finally:
        stop(proc)
    out, err = out.decode(errors="replace"), err.decode(errors="replace")
    m = re.search(r"([\d.]+) instructions per request", out)
    measured = {"seconds": round(time.monotonic() - t0, 1), "output": out.strip()}
    if proc.returncode == 0 and m:
        measured["instructions_per_request"] = float(m.group(1))
    else:
        lines = [l for l in (err or out).strip().splitlines() if l.strip()]
        measured["error"] = (f"instructions.py exited with {proc.returncode}: "
                             + (lines[-1] if lines else "no output"))
    return measured


def instructions_report(args, ctx: Ctx, command: str, rows) -> int:
    """Run instructions.py (callgrind, one keep-alive connection) for each
    server it knows and each of its workloads; write results/instructions.md."""
    print("\n## instructions: instructions per request (callgrind)\n")
    missing = [t for t in ("valgrind", "callgrind_control") if not shutil.which(t)]
    if missing:
        print(f"  SKIPPED: {', '.join(missing)} not found (run.sh installs valgrind with apt)")
        return 0
    wanted = [n for n in INSTRUCTION_SERVERS
              if not args.servers or n in {s.name for s in args.server_list}]
    if not wanted:
        print(f"  SKIPPED: --servers names none of {', '.join(INSTRUCTION_SERVERS)}")
        return 0
    # instructions.py's default, also with --quick: with fewer requests the
    # per-request figure of fastwsgi is inflated (500 requests gave ~51k
    # instead of ~13.9k: some one-off cost falls into the short window).
    requests = 2000
    results, status = [], 0
    for name in wanted:
        try:
            version = SERVERS_BY_NAME[name].probe(ctx)
        except SkipServer as exc:
            print(f"  {name:9} SKIPPED: {exc}")
            results.append({"server": name, "version": None, "workloads": {
                w: {"error": f"not measured: {exc}"} for w in INSTRUCTION_WORKLOADS}})
            continue
        entry = {"server": name, "version": version, "requests": requests, "workloads": {}}
        for workload in INSTRUCTION_WORKLOADS:
            measured = instructions_run(ctx, name, workload, requests)
            entry["workloads"][workload] = measured
            if "instructions_per_request" in measured:
                print(f"  {name:9} {workload:9} {measured['instructions_per_request']:>10,.0f} "
                      f"instructions/request ({requests} requests, {measured['seconds']:.0f} s "
                      "under valgrind)")
            else:
                print(f"  {name:9} {workload:9} FAILED: {measured['error']}")
                status = 1
        results.append(entry)

    hello_rows = rows.get("hello", {})
    lines = ["| Server | Version | "
             + " | ".join(f"Instructions per {w} request" for w in INSTRUCTION_WORKLOADS)
             + " | hello CPU µs/req (wrk, this run) |",
             "|---|---|" + "--:|" * (len(INSTRUCTION_WORKLOADS) + 1)]
    for e in results:
        row = hello_rows.get(e["server"])
        cpu = row.median("cpu_us_per_req") if row is not None and row.ok_runs() else None
        cells = []
        for w in INSTRUCTION_WORKLOADS:
            measured = e["workloads"][w]
            ipr = measured.get("instructions_per_request")
            cells.append(f"{ipr:,.0f}" if ipr is not None else measured["error"])
        lines.append(f"| {e['server']} | {e['version'] or '–'} | " + " | ".join(cells)
                     + f" | {'%.1f' % cpu if cpu is not None else '–'} |")
    table = "\n".join(lines)
    info = machine_info(ctx.python)
    base = RESULTS_DIR / ("instructions" + (f"-{args.tag}" if args.tag else ""))
    md = [
        "# Instructions per request (callgrind)", "", table, "",
        "User-space instructions executed by the server process per request of the `hello` "
        "workload (a GET with 3 headers) and of the `headers20` workload (a GET with 20), "
        "counted by valgrind's callgrind: unlike timings they are the same from run to run "
        "whatever else the machine is doing, so a change in the request path shows as a "
        "change in this number. Kernel work (syscalls, TCP) is not counted. The last "
        "column is the wrk figure of the same command, where the hello workload ran.", "",
        "## Command", "", f"`{command}`", "",
        "## Method", "",
        f"`benchmarks/instructions.py --server NAME --workload W --requests {requests}`: the "
        "server (`python -m fastwsgi ... apps:hello` or `apps:headers20`, the same with "
        "`--access-log-file` for fastwsgi-accesslog, `bjoern.run(apps.hello, ...)` or "
        "`bjoern.run(apps.headers20, ...)`) runs under "
        "`valgrind --tool=callgrind --instr-atstart=no` with `PYTHONHASHSEED=0`; after 200 "
        "warm-up requests "
        "instrumentation is switched on, 50 more requests let it settle, the counters are "
        f"zeroed, exactly {requests} keep-alive requests are sent one at a time over one "
        "connection, the counters are dumped and the total is divided by the request count.",
        "", "## Machine", "",
    ]
    md += [f"- {k}: {v}" for k, v in info.items()]
    md += ["", "## Output", ""]
    for e in results:
        for w, measured in e["workloads"].items():
            md += [f"- {e['server']} {w}: `{measured.get('output') or measured.get('error')}`"]
    base.with_suffix(".md").write_text("\n".join(md) + "\n")
    base.with_suffix(".json").write_text(json.dumps(
        {"command": command, "machine": info, "results": results}, indent=1) + "\n")
    print("\n" + table)
    print(f"\nwrote {base.with_suffix('.md').relative_to(ROOT)}, "
          f"{base.with_suffix('.json').relative_to(ROOT)}")
    return status


def memory_report(args, ctx: Ctx, command: str) -> int:
    """Run memory.py (its own process: it raises RLIMIT_NOFILE and holds
    10,000 sockets) with the same CPUs, servers and tag."""
    argv = [ctx.python, str(HERE / "memory.py"), "--server-cpu", str(ctx.server_cpu),
            "--client-cpu", str(ctx.client_cpu)]
    if args.servers:
        argv += ["--servers", args.servers]
    if args.tag:
        argv += ["--tag", args.tag]
    if args.quick:
        argv += ["--rounds", "1"]
    sys.stdout.flush()
    proc = spawn(argv, stdout=None, stderr=None, env=dict(os.environ, BENCH_COMMAND=command))
    try:
        rc = proc.wait()
    finally:
        stop(proc)
    return 0 if rc == 0 else 1


# ==========================================================================
# Main
# ==========================================================================


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Benchmark fastwsgi against other WSGI servers and an nginx ceiling.")
    p.add_argument("--rounds", type=int, help="interleaved rounds (default 5)")
    p.add_argument("--duration", type=int, help="seconds per measured wrk run (default 10)")
    p.add_argument("--warmup", type=int, help="seconds of wrk warm-up per run (default 2)")
    p.add_argument("--connections", type=int,
                   help="wrk connections for every workload (default: each workload's own, "
                        "see --list)")
    p.add_argument("--servers", help="comma-separated subset of: " + ",".join(SERVERS_BY_NAME))
    p.add_argument("--workloads", help="comma-separated subset of: "
                   + ",".join(apps.WORKLOADS_BY_NAME))
    p.add_argument("--quick", action="store_true",
                   help="smoke test: 1 round, 3 s runs, 1 s warm-up; results go to <workload>-quick.*")
    p.add_argument("--tag", help="suffix for result files: results/<workload>-<tag>.md")
    p.add_argument("--server-cpu", type=int, default=0, help="CPU for the server (default 0)")
    p.add_argument("--client-cpu", type=int, default=1, help="CPU for wrk (default 1)")
    p.add_argument("--skip-install", action="store_true",
                   help="(run.sh) do not install anything first; ignored here")
    p.add_argument("--list", action="store_true", help="list servers and workloads and exit")
    p.add_argument("--memory", action="store_true",
                   help="also run memory.py: RSS per idle keep-alive connection "
                        "(results/memory.md)")
    p.add_argument("--instructions", action="store_true",
                   help="also run instructions.py (callgrind) for fastwsgi (with and without the "
                        "access log) and bjoern: "
                        "instructions per hello request (results/instructions.md)")
    p.add_argument("--no-wrk", action="store_true",
                   help="skip the wrk workloads (with --memory and/or --instructions)")
    p.add_argument("--baseline", metavar="REF",
                   help="(run.sh) build fastwsgi at git REF and run it as fastwsgi-baseline "
                        "next to the checkout (added to --servers)")
    args = p.parse_args(argv)
    quick = args.quick
    args.rounds = args.rounds if args.rounds is not None else (1 if quick else 5)
    args.duration = args.duration if args.duration is not None else (3 if quick else 10)
    args.warmup = args.warmup if args.warmup is not None else (1 if quick else 2)
    if args.tag is None and quick:
        args.tag = "quick"
    if (args.rounds < 1 or args.duration < 1 or args.warmup < 0
            or (args.connections is not None and args.connections < 1)):
        p.error("--rounds, --duration, --connections must be >= 1 and --warmup >= 0")

    def pick(spec, table, what):
        if not spec:
            return list(table.values())
        names = [s.strip() for s in spec.split(",") if s.strip()]
        unknown = [n for n in names if n not in table]
        if unknown:
            p.error(f"unknown {what}: {', '.join(unknown)} (known: {', '.join(table)})")
        return [table[n] for n in names]

    args.server_list = pick(args.servers, SERVERS_BY_NAME, "server")
    baseline = SERVERS_BY_NAME["fastwsgi-baseline"]
    if args.baseline:
        if not os.environ.get("BENCH_BASELINE") and not args.list:
            p.error("--baseline needs run.sh, which builds the baseline")
        if baseline not in args.server_list:
            args.server_list.append(baseline)
    elif baseline in args.server_list:
        if args.servers:
            p.error("fastwsgi-baseline needs --baseline REF")
        args.server_list.remove(baseline)
    args.workload_list = pick(args.workloads, apps.WORKLOADS_BY_NAME, "workload")
    return args


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.list:
        print("servers:  ", ", ".join(SERVERS_BY_NAME))
        for w in apps.WORKLOADS:
            print(f"workload:  {w.name:12} -c{w.connections:<3} {w.description}")
        return 0
    if args.no_wrk and not (args.memory or args.instructions):
        print("error: --no-wrk leaves nothing to do (add --memory and/or --instructions)",
              file=sys.stderr)
        return 2
    # Ctrl-C must work even when started with SIGINT ignored (e.g. from a
    # non-interactive shell's background job): the `finally` cleans up.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    command = os.environ.get("BENCH_COMMAND") or " ".join(
        shlex.quote(a) for a in [sys.executable, str(Path(__file__))] + sys.argv[1:])

    for tool in ("taskset",) + (() if args.no_wrk else ("wrk",)):
        if not shutil.which(tool):
            print(f"error: `{tool}` not found (run.sh installs it with apt)", file=sys.stderr)
            return 2
    cpus = os.sched_getaffinity(0)
    for cpu in (args.server_cpu, args.client_cpu):
        if cpu not in cpus:
            print(f"error: CPU {cpu} is not available (have {sorted(cpus)})", file=sys.stderr)
            return 2
    if args.server_cpu == args.client_cpu:
        print("warning: server and wrk share one CPU; figures will not be comparable")
    # Keep the harness itself off the server's CPU.
    os.sched_setaffinity(0, {args.client_cpu})

    RESULTS_DIR.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fastwsgi-bench-") as tmp:
        ctx = Ctx(python=sys.executable, tmp=Path(tmp), server_cpu=args.server_cpu,
                  client_cpu=args.client_cpu)
        try:
            status, rows = 0, {}
            if not args.no_wrk:
                status, rows = bench(args, ctx, command)
            if args.instructions:
                status = max(status, instructions_report(args, ctx, command, rows))
            if args.memory:
                status = max(status, memory_report(args, ctx, command))
            return status
        except KeyboardInterrupt:
            print("\ninterrupted: stopping servers", file=sys.stderr)
            return 130
        finally:
            stop_all()


def bench(args, ctx: Ctx, command: str) -> int:
    info = machine_info(ctx.python)
    print("Machine:")
    for k, v in info.items():
        print(f"  {k}: {v}")
    print(f"Command: {command}\n")

    versions: Dict[str, str] = {}
    skipped: Dict[str, str] = {}
    for s in args.server_list:
        try:
            versions[s.name] = s.probe(ctx)
            print(f"  {s.name:16} {versions[s.name]}")
        except SkipServer as exc:
            skipped[s.name] = str(exc)
            print(f"  {s.name:16} SKIPPED: {exc}")
    print()

    # rows[workload][server]
    rows: Dict[str, Dict[str, Row]] = {}
    skipped_by_w: Dict[str, Dict[str, str]] = {}
    for w in args.workload_list:
        rows[w.name] = {}
        skipped_by_w[w.name] = dict(skipped)
        for s in args.server_list:
            if s.name in skipped:
                continue
            if not s.supports(w):
                skipped_by_w[w.name][s.name] = "has no equivalent of this workload"
                continue
            if s.unsupported(w):
                skipped_by_w[w.name][s.name] = s.unsupported(w)
                continue
            rows[w.name][s.name] = Row(server=s, version=versions[s.name])

    w_width = max(len(w.name) for w in args.workload_list)
    s_width = max(len(s.name) for s in args.server_list)
    n_runs = sum(len(r) for r in rows.values()) * args.rounds
    est = n_runs * (args.duration + args.warmup + 1.5)
    print(f"{n_runs} runs, about {est / 60:.1f} min\n")

    for rnd in range(1, args.rounds + 1):
        for w in args.workload_list:
            order = list(rows[w.name].values())
            k = (rnd - 1) % max(1, len(order))
            for row in order[k:] + order[:k]:
                if row.failure:
                    continue
                tag = (f"[round {rnd}/{args.rounds}] {w.name:{w_width}} "
                       f"{row.server.name:{s_width}}")
                try:
                    run = measure(args, ctx, row.server, w, rnd)
                except ServerFailed as exc:
                    row.runs.append(Run(round=rnd, workload=w.name, server=row.server.name,
                                        error=str(exc)))
                    row.failure = f"round {rnd}: {exc}"
                    print(f"{tag} FAILED: {exc}\n    (not measured in later rounds)")
                    continue
                row.runs.append(run)
                errs = run.socket_errors + run.non2xx
                print(f"{tag} {run.rps:>10,.0f} req/s  p50 {fmt_us(run.p50_us):>9}  "
                      f"p99 {fmt_us(run.p99_us):>9}  cpu {run.cpu_us_per_req:6.1f} µs/req "
                      f"({run.cpu_util:4.0%} busy)"
                      + (f"  wrk errors {errs}" if errs else "")
                      + noise_flag(run, ctx))

    status = 0
    for w in args.workload_list:
        row_list = list(rows[w.name].values())
        base = RESULTS_DIR / (w.name + (f"-{args.tag}" if args.tag else ""))
        table = write_report(args, ctx, w, row_list, skipped_by_w[w.name], info, command, base)
        note = write_chart(args, w, row_list, info, base)
        print(f"\n## {w.name}: {w.description}\n")
        print(table)
        noise = noise_note(row_list, ctx)
        if noise:
            print("\n" + noise.replace("**", ""))
        for name, why in skipped_by_w[w.name].items():
            print(f"  not measured: {name}: {why}")
        for row in row_list:
            if row.failure:
                print(f"  FAILED: {row.server.name}: {row.failure.splitlines()[0]}")
                status = 1
        print(f"\nwrote {base.with_suffix('.md').relative_to(ROOT)}, "
              f"{base.with_suffix('.json').relative_to(ROOT)}"
              + (f" ({note})" if note else f", {base.with_suffix('.png').relative_to(ROOT)}"))
    write_overview(args, rows, info, command)
    return status, rows


def write_overview(args, rows, info, command) -> None:
    """results/summary.md and .png: every workload against the best peer."""
    lines = summary.summarize(rows)
    if not lines:
        return
    base = RESULTS_DIR / ("summary" + (f"-{args.tag}" if args.tag else ""))
    print("\n## all workloads\n\n" + summary.markdown(lines))
    print("\n" + summary.write(base, lines, args.rounds, args.duration, command, info))


if __name__ == "__main__":
    sys.exit(main())
