"""--pid FILE: the serving process (the master, or the single process) writes
its pid there and removes the file on a clean exit."""

import contextlib
import os

from fastwsgi.errors import FastWSGIError

__all__ = ["pid_file"]


def _running_pid(path):
    """The pid in an existing pid file if that process is alive, else None."""
    try:
        with open(path) as f:
            pid = int(f.read().strip() or 0)
    except (OSError, ValueError):
        return None
    if pid <= 0 or pid == os.getpid():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid              # alive, owned by someone else
    return pid


def _write(path):
    other = _running_pid(path)
    if other is not None:
        raise FastWSGIError(
            "pid file %s names process %d, which is running (is another server"
            " running? stop it or choose another --pid)" % (path, other))
    temporary = "%s.%d.tmp" % (path, os.getpid())
    try:
        with open(temporary, "w") as f:
            f.write("%d\n" % os.getpid())
        os.replace(temporary, path)      # readers never see a half-written file
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise FastWSGIError("cannot write the pid file %s: %s (create the directory"
                            " or choose another --pid)" % (path, exc.strerror)) from None


def _remove(path):
    """Remove the file if it still holds our pid (a successor may own it now)."""
    with contextlib.suppress(OSError, ValueError):
        with open(path) as f:
            if int(f.read().strip()) == os.getpid():
                os.unlink(path)


@contextlib.contextmanager
def pid_file(path):
    """Write this process's pid to path for the duration of the block; a None
    path writes nothing.  Raises FastWSGIError (one line) if it cannot."""
    if path is None:
        yield
        return
    _write(path)
    try:
        yield
    finally:
        _remove(path)
