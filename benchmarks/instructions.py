"""Instructions per request, counted by callgrind (user space only).

Unlike timings, the count is the same from run to run whatever else the machine
is doing, so a regression in the request path shows up as a number here.

    python benchmarks/instructions.py [--requests N] [--server NAME] [--workload W] [--churn]

NAME is fastwsgi, fastwsgi-accesslog (the same with the access log on, in the
default combined format, appended to a file in a temporary directory) or bjoern.
W is hello (a GET with 3 headers, apps:hello) or headers20 (the GET of the
headers20 workload, with its 20 headers, apps:headers20).

The server runs under `valgrind --tool=callgrind` with instrumentation off and
PYTHONHASHSEED=0 (string hashes, and so dict probes, then repeat from run to
run); after a warm-up it is switched on, the counters are zeroed, exactly N
keep-alive requests are sent one at a time over one connection (with
--churn: each on a new connection, `Connection: close`), and the counters
are dumped and divided by N.
"""
import argparse
import glob
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

import apps

HERE = os.path.dirname(os.path.abspath(__file__))
HELLO_REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n"
CLOSE_REQUEST = HELLO_REQUEST[:-2] + b"Connection: close\r\n\r\n"
HEADERS20_REQUEST = (b"GET /headers HTTP/1.1\r\n"
                     + "".join("%s: %s\r\n" % h for h in apps.HEADERS20).encode("latin-1") + b"\r\n")

# workload -> (app in apps.py, the request, how every whole reply ends)
WORKLOADS = {
    "hello": ("hello", HELLO_REQUEST, b"Hello, World!"),
    "headers20": ("headers20", HEADERS20_REQUEST, apps.HEADERS20_OK),
}


def fastwsgi(app, port, tmp, *options):
    return [sys.executable, "-m", "fastwsgi", "--host", "127.0.0.1", "--port", str(port),
            *options, "apps:" + app]


SERVERS = {   # name -> (app, port, temporary directory) -> argv
    "fastwsgi": fastwsgi,
    "fastwsgi-accesslog": lambda app, port, tmp: fastwsgi(
        app, port, tmp, "--access-log-file", os.path.join(tmp, "access.log")),
    "bjoern": lambda app, port, tmp: [
        sys.executable, "-c", "import bjoern, apps; bjoern.run(apps.%s, '127.0.0.1', %d)" % (app, port)],
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def exchange(sock, count, request, reply_end):
    """Send count requests one at a time; each reply is read until its body."""
    for _ in range(count):
        sock.sendall(request)
        data = b""
        while not data.endswith(reply_end):
            chunk = sock.recv(65536)
            if not chunk:
                raise RuntimeError("server closed the connection")
            data += chunk


def exchange_churn(port, count):
    """count requests, each on a new connection that the server closes."""
    for _ in range(count):
        with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
            sock.sendall(CLOSE_REQUEST)
            data = b""
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
            if not data.endswith(b"Hello, World!"):
                raise RuntimeError("unexpected reply: %r" % data[:200])


def callgrind(pid, *args):
    subprocess.run(["callgrind_control", *args, str(pid)], check=True, stdout=subprocess.DEVNULL)
    time.sleep(0.2)           # the command is picked up at the server's next basic block


def measure(server, workload, requests, churn=False):
    app, request, reply_end = WORKLOADS[workload]
    port = free_port()
    out_dir = tempfile.mkdtemp(prefix="fw-callgrind-")
    out = os.path.join(out_dir, "callgrind.out.%p")
    argv = ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--callgrind-out-file=" + out,
            *SERVERS[server](app, port, out_dir)]
    proc = subprocess.Popen(argv, cwd=HERE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=dict(os.environ, PYTHONHASHSEED="0"))
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=60)
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("%s did not start under valgrind" % server)
                time.sleep(0.5)
        with sock:
            exchange(sock, 200, request, reply_end)    # warm up: imports, caches, buffers
            callgrind(proc.pid, "-i", "on")
            exchange(sock, 50, request, reply_end)     # let the instrumented code settle
            callgrind(proc.pid, "-z")
            if churn:
                exchange_churn(port, requests)
            else:
                exchange(sock, requests, request, reply_end)
            callgrind(proc.pid, "-d")
    finally:
        proc.terminate()
        proc.wait(60)
    # Part 1 is the dump asked for right after the measured requests; part 2,
    # written at exit, counts the interpreter's shutdown and is not ours.
    for path in glob.glob(os.path.join(out_dir, "callgrind.out.*")):
        with open(path) as f:
            text = f.read()
        if re.search(r"^part: 1$", text, re.M):
            return int(re.search(r"^(?:summary|totals): (\d+)", text, re.M).group(1)) / requests
    raise RuntimeError("callgrind wrote no dump for the measured requests in " + out_dir)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--server", choices=sorted(SERVERS), default="fastwsgi")
    parser.add_argument("--workload", choices=sorted(WORKLOADS), default="hello")
    parser.add_argument("--churn", action="store_true",
                        help="a new connection per request (Connection: close; hello only)")
    args = parser.parse_args()
    if args.churn and args.workload != "hello":
        parser.error("--churn sends hello requests only")
    per_request = measure(args.server, args.workload, args.requests, args.churn)
    print("%s %s%s: %.0f instructions per request (callgrind, %d requests)"
          % (args.server, args.workload, " churn" if args.churn else "", per_request, args.requests))


if __name__ == "__main__":
    main()
