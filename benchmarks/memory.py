#!/usr/bin/env python3
"""Memory per idle keep-alive connection, for each server that can hold them.

    benchmarks/.venv/bin/python benchmarks/memory.py [--connections 10000] [--rounds 3]
                                                     [--servers a,b] [--tag T]
    benchmarks/run.sh --memory [--no-wrk]      (the same, after/instead of the wrk runs)

For every server (pinned to CPU 0, one process/worker, serving apps:hello
with its idle timeouts raised so that nothing is closed during the test):

1. start it, wait until it answers one request, then read its RSS: the sum of
   VmRSS over the server process and all its descendants, from /proc;
2. open N (default 10,000) connections, 50 at a time, each sending one
   keep-alive GET and reading the whole response, and keep them all open;
3. wait a second, check that every connection is still open, read the RSS
   again: (RSS with N connections - idle RSS) / N is the memory the server
   spends per idle keep-alive connection;
4. close the connections, wait a second, read the RSS once more (memory the
   server keeps after its connections are gone), stop the server.

Servers run in interleaved rounds like run.py's; the report gives medians.
The client (this script) runs on CPU 1.  Both sides need more than 10,000
file descriptors: this script raises its soft RLIMIT_NOFILE to the hard limit
before starting anything, and the servers inherit it (fastwsgi would raise its
own, the others do not).  Kernel memory (socket buffers, TCP state) is not
part of RSS and is not counted.

Writes results/memory.md and results/memory.json (results/memory-TAG.* with --tag).
"""

import argparse
import json
import os
import re
import resource
import select
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional

import run  # the harness: process handling, server probes, nginx config, machine info
from run import HOST, HERE, RESULTS_DIR, ROOT, Ctx, ServerFailed, SkipServer

TIMEOUT = 3600  # seconds: every idle timeout a server has is raised to this
REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: memory.py\r\nAccept: */*\r\n\r\n"
SETTLE = 1.0  # seconds between the last connection (or the close) and reading RSS
BATCH = 50  # connections opened (and their requests sent) before their responses are read


# ==========================================================================
# Servers: the command line of each, with limits raised for N connections
# ==========================================================================


@dataclass
class MemServer:
    name: str  # as in run.py's SERVERS (its probe gives the version)
    argv: Callable[[Ctx, int, int], List[str]]  # (ctx, port, n_connections) -> argv
    note: str


_HELP_CACHE: Dict[str, str] = {}


def _fastwsgi(c, port, n):
    # --max-connections (default 10000) is raised where the build has it; a
    # build without it has no cap to raise.
    if c.python not in _HELP_CACHE:
        res = subprocess.run([c.python, "-m", "fastwsgi", "--help"], cwd=str(HERE),
                             env=run.server_env(), capture_output=True, text=True)
        _HELP_CACHE[c.python] = res.stdout
    cap = (["--max-connections", str(n + 100)]
           if "--max-connections" in _HELP_CACHE[c.python] else [])
    return [c.python, "-m", "fastwsgi", "--host", HOST, "--port", str(port), *cap,
            "--keepalive-timeout", str(TIMEOUT), "apps:hello"]


def _fastwsgi009(c, port, n):
    return [str(run.PYTHON_FASTWSGI009), "fastwsgi009_runner.py", "hello", HOST, str(port)]


def _bjoern(c, port, n):
    return [c.python, "-c",
            "import sys, bjoern, apps; bjoern.run(apps.hello, sys.argv[1], int(sys.argv[2]))",
            HOST, str(port)]


def _granian(c, port, n):
    return [run.venv_script(c, "granian"), "--interface", "wsgi", "--workers", "1",
            "--blocking-threads", "1", "--runtime-threads", "1", "--http", "1", "--no-ws",
            "--log-level", "warning", "--no-access-log", "--backlog", "4096",
            "--backpressure", str(n + 100), "--host", HOST, "--port", str(port), "apps:hello"]


def _gthread(c, port, n):
    return [c.python, "-m", "gunicorn", "--workers", "1", "--worker-class", "gthread",
            "--threads", "4", "--worker-connections", str(n + 100), "--keep-alive",
            str(TIMEOUT), "--bind", f"{HOST}:{port}", "--log-level", "warning", "apps:hello"]


def _waitress(c, port, n):
    return [c.python, "-m", "waitress", f"--host={HOST}", f"--port={port}",
            f"--connection-limit={n + 100}", f"--channel-timeout={TIMEOUT}",
            "--asyncore-use-poll", "apps:hello"]


def _nginx_connections(n):
    # nginx closes idle keep-alive connections (32 at a time) once fewer than
    # 1/16 of worker_connections are free: leave it well over that.
    return n + n // 8 + 100


def _nginx(c, port, n):
    return run.nginx_argv(c, port, run.apps.WORKLOADS_BY_NAME["hello"],
                          worker_connections=_nginx_connections(n),
                          extra=f"    keepalive_timeout {TIMEOUT}s;\n",
                          main_extra=f"worker_rlimit_nofile {_nginx_connections(n) + 100};\n")


MEM_SERVERS: List[MemServer] = [
    MemServer("fastwsgi", _fastwsgi,
              f"`python -m fastwsgi --max-connections N+100 --keepalive-timeout {TIMEOUT} "
              "apps:hello`"),
    MemServer("fastwsgi-0.0.9", _fastwsgi009,
              "`fastwsgi.run(wsgi_app=apps.hello, ...)` (PyPI 0.0.9, own venv; it has no "
              "idle timeout and no connection limit to raise)"),
    MemServer("bjoern", _bjoern, "`bjoern.run(apps.hello, host, port)` (no idle timeout)"),
    MemServer("granian", _granian,
              "`--interface wsgi`, 1 worker, 1 blocking thread, 1 runtime thread, HTTP/1, "
              "`--backpressure N+100` (default 1024 would cap the connections); RSS of the "
              "main process and the worker"),
    MemServer("gunicorn-gthread", _gthread,
              f"1 worker, 4 threads, `--worker-connections N+100 --keep-alive {TIMEOUT}`; "
              "RSS of the arbiter and the worker"),
    MemServer("waitress", _waitress,
              f"`--connection-limit=N+100 --channel-timeout={TIMEOUT} --asyncore-use-poll` "
              "(select() cannot watch more than 1024 descriptors)"),
    MemServer("nginx", _nginx,
              f"static ceiling: `worker_connections` N×9/8+100 (nginx closes idle "
              "connections when fewer than 1/16 are free), `keepalive_timeout "
              f"{TIMEOUT}s`, `worker_rlimit_nofile`, 1 worker, no master"),
]
MEM_SERVERS_BY_NAME = {s.name: s for s in MEM_SERVERS}

# Servers of run.py that cannot hold idle keep-alive connections at all.
NOT_APPLICABLE = {
    "gunicorn": "the sync worker closes every connection after its response: it holds no "
                "idle keep-alive connection",
    "uwsgi": "one synchronous process with --http-socket closes every connection after its "
             "response (with keep-alive it would serve one connection at a time)",
}


# ==========================================================================
# Measuring
# ==========================================================================


def tree_pids(root_pid: int) -> List[int]:
    children: Dict[int, List[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = run._read_stat(int(name))
            if st is not None:
                children.setdefault(st[0], []).append(int(name))
    out, todo = [], [root_pid]
    while todo:
        pid = todo.pop()
        if pid in out:
            continue
        out.append(pid)
        todo.extend(children.get(pid, ()))
    return out


def tree_rss_kib(root_pid: int) -> int:
    """Sum of VmRSS (KiB) over root_pid and its descendants.  The root is the
    `taskset` exec'ed into the server, so it is the server process itself."""
    total = 0
    for pid in tree_pids(root_pid):
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


def read_response(sock: socket.socket) -> None:
    """Read one whole response (head + Content-Length body) from sock."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection before answering")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    m = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
    if not head.startswith(b"HTTP/1.1 200"):
        raise ConnectionError(f"unexpected response {head[:60]!r}")
    if m is None:
        raise ConnectionError("response without Content-Length")
    left = int(m.group(1)) - len(body)
    while left > 0:
        chunk = sock.recv(left)
        if not chunk:
            raise ConnectionError("server closed the connection in the body")
        left -= len(chunk)


def count_closed(socks: List[socket.socket]) -> int:
    """How many of socks the server has closed (readable: EOF or stray data)."""
    poller = select.poll()
    for s in socks:
        poller.register(s.fileno(), select.POLLIN | select.POLLRDHUP)
    closed = 0
    for fd, ev in poller.poll(0):
        closed += 1
    return closed


@dataclass
class MemRun:
    round: int
    server: str
    connections: int = 0
    idle_kib: int = 0
    loaded_kib: int = 0
    after_close_kib: int = 0
    kib_per_conn: float = 0.0
    open_seconds: float = 0.0
    still_open: int = 0
    error: Optional[str] = None


def measure(args, ctx: Ctx, s: MemServer, rnd: int) -> MemRun:
    port = run.free_port()
    n = args.connections
    log = ctx.tmp / f"memory-{s.name}-r{rnd}.log"
    argv = ["taskset", "-c", str(ctx.server_cpu)] + s.argv(ctx, port, n)
    hello = run.apps.WORKLOADS_BY_NAME["hello"]
    r = MemRun(round=rnd, server=s.name, connections=n)
    with open(log, "wb") as logf:
        proc = run.spawn(argv, stdout=logf, stderr=subprocess.STDOUT, env=run.server_env())
    socks: List[socket.socket] = []
    try:
        run.wait_ready(proc, port, hello, log)  # startup + one request
        run.check_response(port, hello)
        time.sleep(SETTLE)
        r.idle_kib = tree_rss_kib(proc.pid)
        t0 = time.monotonic()
        # In batches: BATCH connections are opened and send their request,
        # then their responses are read.  (One at a time, a server whose event
        # loop scans all its connections per turn, like waitress's poll(),
        # takes minutes: a turn per connection.)
        while len(socks) < n:
            first = len(socks)
            try:
                for _ in range(min(BATCH, n - first)):
                    sock = socket.create_connection((HOST, port), timeout=10)
                    socks.append(sock)
                    sock.sendall(REQUEST)
                for i in range(first, len(socks)):
                    read_response(socks[i])
            except (OSError, ConnectionError) as exc:
                raise ServerFailed(f"connections {first + 1}-{first + BATCH} of {n}: "
                                   f"{type(exc).__name__}: {exc} (the server "
                                   f"{'died' if proc.poll() is not None else 'lives'})"
                                   f"{run.log_tail(log)}")
        r.open_seconds = time.monotonic() - t0
        time.sleep(SETTLE)
        r.loaded_kib = tree_rss_kib(proc.pid)
        closed = count_closed(socks)
        r.still_open = n - closed
        if proc.poll() is not None:
            raise ServerFailed(f"exited with code {proc.returncode} holding the connections"
                               f"{run.log_tail(log)}")
        if closed:
            raise ServerFailed(f"the server closed {closed} of the {n} idle connections "
                               f"within {SETTLE:.0f} s")
        r.kib_per_conn = (r.loaded_kib - r.idle_kib) / n
        for sock in socks:
            sock.close()
        socks = []
        time.sleep(SETTLE)
        run.check_response(port, hello)  # still serving after all that
        r.after_close_kib = tree_rss_kib(proc.pid)
    finally:
        for sock in socks:
            sock.close()
        if run.stop(proc):
            print(f"    warning: {s.name} did not exit within {run.STOP_TIMEOUT:.0f} s of "
                  "SIGTERM and was killed")
    return r


# ==========================================================================
# Report
# ==========================================================================


def mib(kib: Optional[float]) -> str:
    return "–" if kib is None else f"{kib / 1024:.1f} MiB"


def med(runs: List[MemRun], attr: str) -> Optional[float]:
    values = [getattr(r, attr) for r in runs if r.error is None]
    return statistics.median(values) if values else None


def table(rows: Dict[str, List[MemRun]], versions: Dict[str, str], n: int) -> str:
    lines = [f"| # | Server | Version | KiB per idle keep-alive connection | Idle RSS "
             f"| RSS with {n:,} connections | RSS after closing them | Time to open {n:,} "
             "| Runs |",
             "|--:|---|---|--:|--:|--:|--:|--:|--:|"]
    ok = [(name, runs) for name, runs in rows.items() if any(r.error is None for r in runs)]
    ok.sort(key=lambda item: med(item[1], "kib_per_conn"))
    for i, (name, runs) in enumerate(ok, 1):
        good = [r for r in runs if r.error is None]
        per = [r.kib_per_conn for r in good]
        spread = f" ({min(per):.2f}–{max(per):.2f})" if len(per) > 1 else ""
        shown = f"{name} (ceiling)" if name == "nginx" else name
        lines.append(f"| {i} | {shown} | {versions[name]} | **{med(runs, 'kib_per_conn'):.2f}**"
                     f"{spread} | {mib(med(runs, 'idle_kib'))} | {mib(med(runs, 'loaded_kib'))} "
                     f"| {mib(med(runs, 'after_close_kib'))} "
                     f"| {med(runs, 'open_seconds'):.1f} s | {len(good)}/{len(runs)} |")
    for name, runs in rows.items():
        if not any(r.error is None for r in runs):
            lines.append(f"| – | {name} | {versions[name]} | failed | | | | | 0/{len(runs)} |")
    return "\n".join(lines)


def write_report(args, ctx, rows, versions, skipped, failures, info, command) -> str:
    n = args.connections
    tab = table(rows, versions, n)
    base = RESULTS_DIR / ("memory" + (f"-{args.tag}" if args.tag else ""))
    md = [
        "# Memory per idle keep-alive connection", "",
        f"{n:,} keep-alive connections, each having completed one `GET /` (apps:hello), held "
        "open and idle.", "", tab, "",
        f"Medians over {args.rounds} interleaved round(s), ranked by KiB per connection "
        "(lower is better; min–max over the rounds in parentheses). KiB per connection = "
        f"(RSS with {n:,} connections − idle RSS) / {n:,}. RSS is VmRSS summed over the "
        "server's processes (granian: main process + worker; gunicorn: arbiter + worker). "
        "Kernel memory for the sockets (buffers, TCP state) is not part of RSS and is not "
        "counted.", "",
        "## Command", "", f"`{command}`", "",
        "## Method", "",
        f"- Server pinned to CPU {ctx.server_cpu}, one process/worker, serving `apps:hello`; "
        f"the client (memory.py, Python sockets) on CPU {ctx.client_cpu}.",
        "- Idle RSS: read once the server has answered one request (its readiness poll) "
        f"and {SETTLE:.0f} s have passed.",
        f"- Then {n:,} connections are opened, {BATCH} at a time (open {BATCH} and send their "
        "requests, then read their responses); each sends one keep-alive "
        "`GET /`, reads the whole response, and stays open. "
        f"{SETTLE:.0f} s after the last one, RSS is read again and every connection is checked "
        "to be still open (a server that closed any is reported as failed).",
        f"- Then all are closed, and {SETTLE:.0f} s later a request is checked and RSS read "
        "once more (RSS after closing: what the server keeps).",
        f"- File descriptors: memory.py raises its soft RLIMIT_NOFILE to the hard limit "
        f"({resource.getrlimit(resource.RLIMIT_NOFILE)[1]}); the servers inherit it.",
        "",
        "Server commands (`PORT` is a free port picked per run, `python` the bench venv's, "
        "N the connection count):", "",
    ]
    for name in rows:
        s = MEM_SERVERS_BY_NAME[name]
        argv = ["taskset", "-c", str(ctx.server_cpu)] + s.argv(ctx, run.PORT, n)
        shown = " ".join(shlex.quote(a) for a in argv)
        shown = shown.replace(str(ctx.tmp), "$TMP").replace(ctx.python, "python")
        shown = shown.replace(str(HERE) + "/", "benchmarks/")
        md.append(f"- **{name}**: {s.note}.  \n  `{shown}`")
    md += ["", "## Machine", ""]
    md += [f"- {k}: {v}" for k, v in info.items()]
    if skipped:
        md += ["", "## Not measured", ""]
        md += [f"- {name}: {why}" for name, why in skipped.items()]
    if failures:
        md += ["", "## Failures", ""]
        md += [f"- {name}: {why}".replace("\n", "\n  ") for name, why in failures.items()]
    md += ["", "## Raw runs", "",
           "| Round | Server | Idle RSS (KiB) | With connections (KiB) | After closing (KiB) "
           "| KiB/conn | Open time | Still open |",
           "|--:|---|--:|--:|--:|--:|--:|--:|"]
    for r in sorted((r for runs in rows.values() for r in runs), key=lambda r: (r.round, r.server)):
        if r.error:
            md.append(f"| {r.round} | {r.server} | error | | | | | |")
        else:
            md.append(f"| {r.round} | {r.server} | {r.idle_kib} | {r.loaded_kib} | "
                      f"{r.after_close_kib} | {r.kib_per_conn:.2f} | {r.open_seconds:.1f} s | "
                      f"{r.still_open} |")
    base.with_suffix(".md").write_text("\n".join(md) + "\n")
    base.with_suffix(".json").write_text(json.dumps({
        "command": command, "machine": info,
        "settings": {"connections": n, "rounds": args.rounds, "server_cpu": ctx.server_cpu,
                     "client_cpu": ctx.client_cpu, "settle_s": SETTLE},
        "versions": versions, "skipped": skipped, "failures": failures,
        "runs": [asdict(r) for runs in rows.values() for r in runs],
    }, indent=1) + "\n")
    return tab


# ==========================================================================
# Main
# ==========================================================================


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--connections", type=int, default=10000,
                   help="idle keep-alive connections to open (default 10000)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    p.add_argument("--servers", help="comma-separated subset of: "
                   + ",".join(MEM_SERVERS_BY_NAME) + " (others of run.py are listed as not "
                   "applicable)")
    p.add_argument("--tag", help="write results/memory-TAG.* instead of results/memory.*")
    p.add_argument("--server-cpu", type=int, default=0)
    p.add_argument("--client-cpu", type=int, default=1)
    args = p.parse_args(argv)
    if args.connections < 1 or args.rounds < 1:
        p.error("--connections and --rounds must be >= 1")
    names = [n.strip() for n in (args.servers or "").split(",") if n.strip()]
    unknown = [n for n in names if n not in run.SERVERS_BY_NAME]
    if unknown:
        p.error(f"unknown server: {', '.join(unknown)} (known: {', '.join(run.SERVERS_BY_NAME)})")
    args.names = names or [s.name for s in run.SERVERS]
    return args


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, run._on_signal)
    signal.signal(signal.SIGHUP, run._on_signal)
    command = os.environ.get("BENCH_COMMAND") or " ".join(
        shlex.quote(a) for a in [sys.executable, str(Path(__file__))] + sys.argv[1:])

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < args.connections + 200:
        print(f"error: the hard RLIMIT_NOFILE is {hard}, {args.connections} connections need "
              f"{args.connections + 200}: raise it or pass --connections", file=sys.stderr)
        return 2
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # servers inherit it
    os.sched_setaffinity(0, {args.client_cpu})

    RESULTS_DIR.mkdir(exist_ok=True)
    import tempfile
    with tempfile.TemporaryDirectory(prefix="fastwsgi-memory-") as tmp:
        ctx = Ctx(python=sys.executable, tmp=Path(tmp), server_cpu=args.server_cpu,
                  client_cpu=args.client_cpu)
        try:
            return bench(args, ctx, command)
        except KeyboardInterrupt:
            print("\ninterrupted: stopping servers", file=sys.stderr)
            return 130
        finally:
            run.stop_all()


def bench(args, ctx: Ctx, command: str) -> int:
    print(f"\n## memory: RSS per idle keep-alive connection ({args.connections:,} connections, "
          f"{args.rounds} round(s))\n")
    info = run.machine_info(ctx.python)
    versions: Dict[str, str] = {}
    skipped: Dict[str, str] = {}
    servers: List[MemServer] = []
    for name in args.names:
        if name not in MEM_SERVERS_BY_NAME:
            skipped[name] = NOT_APPLICABLE.get(name, "no memory configuration in memory.py")
            print(f"  {name:16} not applicable: {skipped[name]}")
            continue
        try:
            versions[name] = run.SERVERS_BY_NAME[name].probe(ctx)
        except SkipServer as exc:
            skipped[name] = str(exc)
            print(f"  {name:16} SKIPPED: {exc}")
            continue
        servers.append(MEM_SERVERS_BY_NAME[name])
        print(f"  {name:16} {versions[name]}")
    print()

    rows: Dict[str, List[MemRun]] = {s.name: [] for s in servers}
    failures: Dict[str, str] = {}
    for rnd in range(1, args.rounds + 1):
        k = (rnd - 1) % max(1, len(servers))
        for s in servers[k:] + servers[:k]:
            if s.name in failures:
                continue
            tag = f"[round {rnd}/{args.rounds}] memory {s.name:16}"
            try:
                r = measure(args, ctx, s, rnd)
            except ServerFailed as exc:
                rows[s.name].append(MemRun(round=rnd, server=s.name, error=str(exc)))
                failures[s.name] = f"round {rnd}: {exc}"
                print(f"{tag} FAILED: {exc}\n    (not measured in later rounds)")
                continue
            rows[s.name].append(r)
            print(f"{tag} idle {mib(r.idle_kib):>10}  with {r.connections} conns "
                  f"{mib(r.loaded_kib):>10}  {r.kib_per_conn:6.2f} KiB/conn  "
                  f"after close {mib(r.after_close_kib):>10}  (opened in {r.open_seconds:.1f} s)")

    tab = write_report(args, ctx, rows, versions, skipped, failures, info, command)
    base = RESULTS_DIR / ("memory" + (f"-{args.tag}" if args.tag else ""))
    print(f"\n{tab}\n")
    for name, why in skipped.items():
        print(f"  not measured: {name}: {why}")
    for name, why in failures.items():
        print(f"  FAILED: {name}: {why.splitlines()[0]}")
    print(f"\nwrote {base.with_suffix('.md').relative_to(ROOT)}, "
          f"{base.with_suffix('.json').relative_to(ROOT)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
