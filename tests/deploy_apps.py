"""The app of deployment tests (inherited sockets, proxies, nginx): a few paths
of its own in front of apps.app, whose paths all work here too."""
import os
import random
import socket
import stat
from urllib.parse import parse_qs

import apps

LISTEN_VARS = ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES")


def random_bytes(seed, size):
    """The body /random sends: the test regenerates it to compare."""
    return random.Random(seed).randbytes(size)


def open_sockets():
    """The sockets this process holds open, one line each: the listeners and
    one per client connection, so a test can tell a reused connection from a
    new one. A line holds the socket's inode (unique per socket on Linux, not
    on every system) and its two addresses."""
    found = []
    for name in os.listdir("/dev/fd"):          # /proc/self/fd on Linux
        try:
            fd = os.dup(int(name))
        except OSError:
            continue  # the listing's own fd, gone already
        if not stat.S_ISSOCK(os.fstat(fd).st_mode):
            os.close(fd)
            continue
        with socket.socket(fileno=fd) as sock:   # a copy: closing it closes no connection
            try:
                peer = sock.getpeername()
            except OSError:
                peer = None                     # a listener
            found.append("%d %r %r" % (os.fstat(fd).st_ino, sock.getsockname(), peer))
    return sorted(found)


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/listen-env":
        return apps._json(start_response, {name: os.environ.get(name) for name in LISTEN_VARS})
    if path == "/sockets":
        return apps._json(start_response, open_sockets())
    if path == "/random":
        # Deterministic bytes without Content-Length: chunked to HTTP/1.1 clients.
        query = {k: v[-1] for k, v in parse_qs(environ["QUERY_STRING"]).items()}
        data = random_bytes(int(query["seed"]), int(query["size"]))
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return (data[off:off + 65536] for off in range(0, len(data), 65536))
    return apps.app(environ, start_response)
