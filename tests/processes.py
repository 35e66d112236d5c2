"""Looking at processes from the outside, through psutil, so the same on Linux
and macOS: a master's workers are its children, their open files and memory;
how many sockets listen on a port; waiting for a condition with a generous
deadline."""
import grp
import json
import pwd
import subprocess
import sys
import time

import psutil

from http_client import get, request

DEADLINE = 30.0        # for anything that involves starting processes on a busy machine

LINUX = sys.platform.startswith("linux")

# Linux spreads the connections to a port over all the SO_REUSEPORT sockets
# listening on it; macOS and the BSDs hand them all to one of them.
REUSE_PORT_SPREADS = LINUX


def nobody():
    """(uid, gid, group name) of the user nobody and its own group: nogroup
    on Debian, nobody on RHEL and Alpine."""
    user = pwd.getpwnam("nobody")
    return user.pw_uid, user.pw_gid, grp.getgrgid(user.pw_gid).gr_name


def _live(process):
    """Whether a psutil Process is still running (not gone, not a zombie)."""
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def children(pid):
    """The live child processes of pid."""
    try:
        found = psutil.Process(pid).children()
    except psutil.NoSuchProcess:
        return set()
    return {child.pid for child in found if _live(child)}


def alive(pid):
    try:
        return _live(psutil.Process(pid))
    except psutil.NoSuchProcess:
        return False


def uid_of(pid):
    return psutil.Process(pid).uids().real


def fd_count(pid):
    """How many file descriptors pid has open."""
    return psutil.Process(pid).num_fds()


def rss_kib(pid):
    """pid's resident memory now, in KiB."""
    return psutil.Process(pid).memory_info().rss // 1024


def peak_rss_kib(srv):
    """The peak resident memory of srv, a server of apps:app, in KiB: Linux's
    VmHWM; elsewhere no other process can read it, and the server's own
    getrusage() answers (apps.app's /peak-rss)."""
    if LINUX:
        with open("/proc/%d/status" % srv.pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        raise AssertionError("no VmHWM for %d" % srv.pid)
    return json.loads(request(srv, get("/peak-rss")).body)["kib"]


def wait_for(what, condition, timeout=DEADLINE):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %g s waiting for %s" % (timeout, what))
        time.sleep(0.05)


def wait_workers(pid, count, other_than=()):
    """The master's children once there are `count` of them, none of them
    in other_than (an earlier generation, a killed worker)."""
    def check():
        now = children(pid)
        return len(now) == count and not now & set(other_than) and now
    return wait_for("%d workers" % count, check)


def listening_sockets(port):
    """How many TCP sockets listen on port (IPv4): from /proc/net/tcp on
    Linux, elsewhere from netstat (psutil would need root on macOS)."""
    if not LINUX:
        out = subprocess.run(["netstat", "-an"], capture_output=True, text=True, check=True)
        return netstat_listening(out.stdout, port)
    count = 0
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            if state == "0A" and int(local.split(":")[1], 16) == port:
                count += 1
    return count


def netstat_listening(text, port):
    """How many IPv4 TCP sockets `netstat -an` lists as listening on port.
    macOS and the BSDs write "tcp4 0 0 127.0.0.1.PORT *.* LISTEN", Linux's
    net-tools "tcp 0 0 127.0.0.1:PORT 0.0.0.0:* LISTEN"."""
    count = 0
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 6 or fields[0] not in ("tcp", "tcp4") or "LISTEN" not in fields[5:]:
            continue
        local = fields[3]
        if local.replace(":", ".").rsplit(".", 1)[-1] == str(port):
            count += 1
    return count
