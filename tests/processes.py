"""Looking at processes from the outside, through /proc (Linux): a master's
workers are its children; waiting for a condition with a generous deadline."""
import os
import time

DEADLINE = 30.0        # for anything that involves starting processes on a busy machine


def _stat(pid):
    """(state, ppid) of a process, or None if it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[1])


def children(pid):
    """The live child processes of pid."""
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat and stat[1] == pid and stat[0] != "Z":
                found.add(int(entry))
    return found


def alive(pid):
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def uid_of(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    raise AssertionError("no Uid line for %d" % pid)


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
    """How many TCP sockets listen on port (IPv4), from /proc/net/tcp."""
    count = 0
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            if state == "0A" and int(local.split(":")[1], 16) == port:
                count += 1
    return count
