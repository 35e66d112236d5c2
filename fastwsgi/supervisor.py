"""The master process and its workers.

The master binds the listeners once, forks the workers that serve on them and
keeps their number right; it never serves a request and never imports the
app.  Each worker imports the app itself after the fork (after switching to
--user/--group), so a new generation of workers (SIGHUP, --reload) runs the
current source, and an app that only fails as the worker's user is caught.
The first generation doubles as the startup check: if a worker cannot load
the app before any worker ever served, the master stops and the error is the
one line the command line prints.

Signals to the master (as gunicorn defines them):

    TERM, INT   graceful stop: workers stop accepting, finish the requests in
                flight within --graceful-timeout and exit; then the master
                (a second TERM/INT stops at once)
    QUIT        immediate stop
    HUP         graceful reload: a new generation of workers starts; each one
                that is ready retires one old worker (RETIRE_SIGNAL), so no
                request is refused
    TTIN, TTOU  one worker more, one worker less (never below one)

A worker that dies is replaced.  One that dies before it is ready (the app
does not import any more, say) is replaced one at a time with a delay that
doubles up to BACKOFF_MAX, one log line each; the first worker that gets
ready ends the backoff.

Master and worker talk over a socketpair, one per worker.  The worker writes
lines: "ready", "failed MESSAGE" (cannot load the app), "retiring N"
(--max-requests reached after N responses: it serves on until its successor
is ready, then is stopped like an old generation) and, with --reload,
"watch STAMP PATH" for each file it loaded, STAMP being the file's
modification time and size as the worker saw them after loading it ("-" if
it could not stat it): an edit made before the master hears of the file
still counts as a change.  The master never
writes; when it dies the worker reads end-of-file and stops gracefully, so no
orphan goes on serving.
"""

import contextlib
import logging
import os
import random
import selectors
import signal
import socket
import sys
import threading
import time

from fastwsgi import privileges
from fastwsgi.accesslog import open_access_log
from fastwsgi.errors import AppLoadError, ConfigError, FastWSGIError
from fastwsgi.listeners import close_listeners, open_listeners, reuse_port_copies
from fastwsgi.pidfile import pid_file

__all__ = ["needs_master", "run_master", "import_runner"]

log = logging.getLogger("fastwsgi")

BACKOFF_FIRST = 0.1    # seconds before the first restart after a failed start
BACKOFF_MAX = 5.0      # the delay doubles per failed start up to this
KILL_MARGIN = 1.0      # seconds past --graceful-timeout before a worker gets SIGKILL
QUIT_TIMEOUT = 2.0     # seconds a worker has to exit on SIGQUIT before SIGKILL
RELOAD_POLL = 1.0      # seconds between two looks at the watched files (--reload)
IDLE_TICK = 5.0        # longest wait when nothing is due

LOAD_FAILED = 3        # a worker's exit status when it could not load the app

# Master to worker: drain as for SIGTERM, but leave idle keep-alive connections
# open until their next request (answered with Connection: close) or their
# keep-alive timeout. For workers being replaced (HUP, TTOU, --max-requests):
# the service goes on, so nothing is gained by closing a connection that a
# client (a proxy, say) may be sending a request on at that very moment.
# Not with --reload: there a browser's kept connections would get answers
# from the old code after an edit, so retiring workers get SIGTERM.
RETIRE_SIGNAL = signal.SIGUSR2

MASTER_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGHUP,
                  signal.SIGTTIN, signal.SIGTTOU, signal.SIGCHLD, RETIRE_SIGNAL)


def needs_master(config):
    """Whether config asks for a master process; otherwise one process serves
    on its own (the default, and the fastest to start)."""
    return bool(config.workers > 1 or config.reload or config.max_requests
                or config.user or config.group)


def import_runner():
    """fastwsgi.runner, and the C core it imports only when serving;
    FastWSGIError if the core is not built."""
    try:
        from fastwsgi import _core, runner  # noqa: F401
    except ImportError as exc:
        raise FastWSGIError(
            "cannot start the server: %s: %s (is the C extension built?"
            " reinstall fastwsgi or run 'pip install .')" % (type(exc).__name__, exc)
        ) from None
    return runner


def start(config, load, announce=None):
    """Serve the app load() returns until a stop signal, the way config asks:
    under a master (needs_master) or in this one process; announce() is called
    once nothing can fail any more. The entry point of the command line and
    of run(). Raises FastWSGIError (one line) for a user error."""
    if needs_master(config):
        run_master(config, load, announce)
        return
    app = load()
    with contextlib.ExitStack() as cleanup:
        listeners = open_listeners(config)
        cleanup.callback(close_listeners, listeners)   # no-op once serve() closed them
        access_log = open_access_log(config)
        if access_log is not None:
            cleanup.callback(access_log.close)
        if announce is not None:
            announce()
        import_runner().serve(app, config, listeners, access_log)


def run_master(config, load, announce=None):
    """Bind, fork config.workers workers that serve load() (called in each
    worker), and supervise them until a stop signal; returns when all are
    gone.  announce() is called once, when the first worker is ready.
    Raises FastWSGIError (one line) for a user error, AppLoadError when the
    first workers cannot load the app."""
    if threading.current_thread() is not threading.main_thread():
        raise ConfigError("a master process (for workers, max_requests, reload, user or"
                          " group) runs its signal handling in the main thread; call"
                          " run() from there")
    privileges.check_switch(config)
    if config.user or config.group:
        # Workers switch user before they import anything more, and that user
        # may not be able to read fastwsgi's files (a virtualenv under /root):
        # what they need of fastwsgi is loaded now, while it still can be.
        import_runner()
    listeners = open_listeners(config, reserve_tcp=config.reuse_port)
    access_log = None
    try:
        # Opened once, here (before any --user switch); the workers inherit it.
        access_log = open_access_log(config)
        with pid_file(config.pid):
            Master(config, load, listeners, announce, access_log).run()
    finally:
        close_listeners(listeners)
        if access_log is not None:
            access_log.close()
    log.info("fastwsgi stopped")


class Worker:
    """The master's record of one worker process."""

    __slots__ = ("pid", "generation", "channel", "inbox", "started", "ready",
                 "retiring", "leaving", "kill_at", "error")

    def __init__(self, pid, generation, channel):
        self.pid = pid
        self.generation = generation    # workers older than the master's are retired
        self.channel = channel          # the master's end of the socketpair
        self.inbox = b""                # received bytes not yet a whole line
        self.started = time.monotonic()
        self.ready = False
        self.retiring = False           # reached --max-requests: stop it once replaced
        self.leaving = False            # told to stop
        self.kill_at = None             # monotonic time of the SIGKILL if still alive
        self.error = None               # its "failed" message


def _exit_description(status):
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        return "was killed by %s" % signal.Signals(-code).name
    return "exited with status %d" % code


def _stamp(path):
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def _stamp_text(stamp):
    """A _stamp() for a "watch" line: "MTIME_NS:SIZE", or "-" for None."""
    return "-" if stamp is None else "%d:%d" % stamp


def _parse_stamp(text):
    if text == "-":
        return None
    mtime_ns, size = text.split(":")
    return int(mtime_ns), int(size)


class Master:
    """The supervising loop: signals, worker messages and exits, timers."""

    def __init__(self, config, load, listeners, announce, access_log=None):
        self.config = config
        self.load = load
        self.listeners = listeners
        self.announce = announce
        self.access_log = access_log    # fastwsgi.accesslog.Destination or None
        self.target = config.workers
        self.generation = 0
        self.workers = {}               # pid -> Worker
        self.failures = 0               # failed starts since a worker was last ready
        self.next_start = 0.0           # no start before this monotonic time (backoff)
        self.stopping = None            # None, "graceful" or "immediate"
        self.serving = False            # a worker has been ready: startup check passed
        self.startup_error = None
        self.watched = {}               # --reload: path -> _stamp(path)
        self.next_poll = 0.0
        self.selector = None
        self.wake_r = self.wake_w = -1
        self.pid = os.getpid()

    # -- the loop ---------------------------------------------------------------

    def run(self):
        self.selector = selectors.DefaultSelector()
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        self.selector.register(self.wake_r, selectors.EVENT_READ)
        # The handlers do nothing: the wake-up fd receives each signal's number
        # as one byte, which the loop reads in order.
        previous_fd = signal.set_wakeup_fd(self.wake_w, warn_on_full_buffer=False)
        previous = {signum: signal.signal(signum, _note) for signum in MASTER_SIGNALS}
        try:
            self.loop()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            signal.set_wakeup_fd(previous_fd)
            self.abandon_workers()
            self.selector.close()
            os.close(self.wake_r)
            os.close(self.wake_w)
        if self.startup_error is not None:
            raise AppLoadError(self.startup_error)

    def loop(self):
        while True:
            self.maintain()
            if self.stopping and not self.workers:
                return
            timeout = max(0.0, self.next_due() - time.monotonic())
            for key, _ in self.selector.select(timeout):
                if key.fileobj == self.wake_r:
                    self.on_signals()
                else:
                    self.read_channel(key.data)
            self.reap()
            self.kill_overdue()
            if self.config.reload and not self.stopping:
                self.poll_watched()

    def next_due(self):
        """The next moment the loop has something to do without an event."""
        now = time.monotonic()
        due = [now + IDLE_TICK]
        due.extend(w.kill_at for w in self.workers.values() if w.kill_at is not None)
        if not self.stopping and self.next_start > now:
            due.append(self.next_start)
        if self.config.reload:
            due.append(self.next_poll)
        return min(due)

    # -- signals ----------------------------------------------------------------

    def on_signals(self):
        try:
            received = os.read(self.wake_r, 512)
        except BlockingIOError:
            return
        for signum in received:
            if signum in (signal.SIGTERM, signal.SIGINT):
                self.stop("graceful" if self.stopping is None else "immediate")
            elif signum == signal.SIGQUIT:
                self.stop("immediate")
            elif self.stopping:
                continue
            elif signum == signal.SIGHUP:
                self.reload("SIGHUP")
            elif signum == signal.SIGTTIN:
                self.target += 1
                log.info("SIGTTIN: now %d workers", self.target)
            elif signum == signal.SIGTTOU:
                if self.target > 1:
                    self.target -= 1
                log.info("SIGTTOU: now %d worker%s", self.target, "s" if self.target > 1 else "")
            elif signum == RETIRE_SIGNAL:
                log.warning("%s ignored: the master sends it to the workers it retires;"
                            " reload with HUP", signal.Signals(signum).name)

    def stop(self, how):
        if self.stopping == "immediate":
            return
        self.stopping = how
        # After a failed startup check the error is the one thing to say.
        say = log.debug if self.startup_error else log.info
        if how == "graceful":
            say("stopping: the workers finish their requests in flight (up to %g s)",
                self.config.graceful_timeout)
            for worker in self.workers.values():
                self.stop_worker(worker, signal.SIGTERM)   # retiring ones too: idle connections go
        else:
            say("stopping now")
            for worker in self.workers.values():
                self.stop_worker(worker, signal.SIGQUIT)

    def reload(self, why):
        self.generation += 1
        self.failures = 0
        self.next_start = 0.0
        log.info("%s: starting %d new worker%s, then retiring the old ones", why,
                 self.target, "s" if self.target > 1 else "")

    # -- keeping the workers' number right -------------------------------------------

    def maintain(self):
        if self.stopping:
            return
        by_age = sorted((w for w in self.workers.values() if not w.leaving),
                        key=lambda w: w.started)
        current = [w for w in by_age if w.generation == self.generation and not w.retiring]
        surplus = len(current) - self.target       # after SIGTTOU: the oldest go
        retire = signal.SIGTERM if self.config.reload else RETIRE_SIGNAL
        for worker in current[:max(0, surplus)]:
            self.stop_worker(worker, retire)
        current = current[max(0, surplus):]
        # Old generations and retiring workers serve on until enough of the
        # current generation is ready to take over.
        old = [w for w in by_age if w.generation < self.generation or w.retiring]
        still_needed = max(0, self.target - sum(w.ready for w in current))
        for worker in old[:max(0, len(old) - still_needed)]:
            self.stop_worker(worker, retire)
        missing = self.target - len(current)
        if self.failures:   # after failed starts: one at a time
            missing = min(missing, 1 - sum(not w.ready for w in current))
        if missing > 0 and time.monotonic() >= self.next_start:
            for _ in range(missing):
                self.spawn()

    def stop_worker(self, worker, signum):
        worker.leaving = True
        if signum != signal.SIGQUIT:
            grace = self.config.graceful_timeout + KILL_MARGIN
        else:
            grace = QUIT_TIMEOUT
        deadline = time.monotonic() + grace
        worker.kill_at = deadline if worker.kill_at is None else min(worker.kill_at, deadline)
        try:
            os.kill(worker.pid, signum)
        except ProcessLookupError:
            pass                        # already gone: reap() will tell

    def kill_overdue(self):
        now = time.monotonic()
        for worker in self.workers.values():
            if worker.kill_at is not None and now >= worker.kill_at:
                log.warning("worker %d did not stop in time: killing it", worker.pid)
                worker.kill_at = None
                try:
                    os.kill(worker.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def abandon_workers(self):
        """On the way out with workers left (an error in the master): kill them
        and wait for them, so none outlives the master."""
        for worker in self.workers.values():
            worker.channel.close()
            try:
                os.kill(worker.pid, signal.SIGKILL)
                os.waitpid(worker.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        self.workers.clear()

    # -- workers coming and going ----------------------------------------------

    def spawn(self):
        ours, theirs = socket.socketpair()
        # Signals wait until the child has dropped the master's handlers: they
        # would write to the master's wake-up pipe and pass for the master's own.
        signal.pthread_sigmask(signal.SIG_BLOCK, MASTER_SIGNALS)
        try:
            pid = os.fork()
        except OSError as exc:
            ours.close()
            theirs.close()
            self.start_failed(None, "cannot fork: %s" % exc.strerror)
            return
        finally:
            if os.getpid() == self.pid:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, MASTER_SIGNALS)
        if pid == 0:
            ours.close()
            self.become_worker(theirs)          # never returns
        theirs.close()
        ours.setblocking(False)
        worker = Worker(pid, self.generation, ours)
        self.workers[pid] = worker
        self.selector.register(ours, selectors.EVENT_READ, worker)
        log.debug("forked worker %d", pid)

    def reap(self):
        for pid in list(self.workers):
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:   # reaped by someone else (run() in an app)
                done, status = pid, 0
            if done:
                self.exited(self.workers.pop(pid), status)

    def exited(self, worker, status):
        self.read_channel(worker)               # its last words may still be queued
        self.forget_channel(worker)
        worker.channel.close()
        how = _exit_description(status)
        if worker.leaving or self.stopping:
            say = log.debug if self.startup_error else log.info
            say("worker %d stopped%s", worker.pid, "" if status == 0 else ": it " + how)
        elif not worker.ready:
            self.start_failed(worker, worker.error or "it %s" % how)
        else:
            log.warning("worker %d %s; starting a new one", worker.pid, how)

    def start_failed(self, worker, why):
        if not self.serving:
            # The startup check: the app does not run at all, stop with its error.
            self.startup_error = why
            self.stop("immediate")
            return
        self.failures += 1
        delay = min(BACKOFF_FIRST * 2 ** (self.failures - 1), BACKOFF_MAX)
        self.next_start = time.monotonic() + delay
        log.warning("worker %s failed to start: %s; next start in %.1f s",
                    worker.pid if worker else "-", why, delay)

    # -- messages from the workers -------------------------------------------------

    def read_channel(self, worker):
        while True:
            try:
                data = worker.channel.recv(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            if not data:
                self.forget_channel(worker)     # closed: reap() handles the exit
                return
            worker.inbox += data
            *lines, worker.inbox = worker.inbox.split(b"\n")
            for line in lines:
                self.on_message(worker, line.decode("utf-8", "replace"))

    def forget_channel(self, worker):
        if worker.channel in self.selector.get_map():
            self.selector.unregister(worker.channel)

    def on_message(self, worker, line):
        kind, _, rest = line.partition(" ")
        if kind == "ready":
            worker.ready = True
            self.failures = 0
            log.info("worker %d started", worker.pid)
            if not self.serving:
                self.serving = True
                self.log_startup()
        elif kind == "failed":
            worker.error = rest
        elif kind == "retiring":
            log.info("worker %d answered %s requests (--max-requests): starting its"
                     " successor", worker.pid, rest)
            worker.retiring = True
        elif kind == "watch":
            stamp, _, path = rest.partition(" ")
            if path not in self.watched:
                self.watched[path] = _parse_stamp(stamp)

    def log_startup(self):
        from fastwsgi._core import loop_backend
        from fastwsgi.runner import startup_line

        if self.announce is not None:
            self.announce()
        count = "%d worker%s" % (self.target, "s" if self.target > 1 else "")
        log.info("%s", startup_line(self.listeners, count, self.config.threads, loop_backend()))

    def poll_watched(self):
        now = time.monotonic()
        if now < self.next_poll:
            return
        self.next_poll = now + RELOAD_POLL
        changed = []
        for path, stamp in self.watched.items():
            current = _stamp(path)
            if current != stamp:
                self.watched[path] = current
                changed.append(path)
        if changed:
            self.reload("%s changed" % changed[0])

    # -- in the worker -----------------------------------------------------------------

    def become_worker(self, channel):
        """The forked child: drop the master's state, serve, exit.  Never returns."""
        code = 1
        try:
            # First, before this process opens any fd: on macOS the master's
            # selector is a kqueue, which a fork does not copy, so its number
            # is free here and a later close could hit another file (older
            # Pythons do not know it is gone).
            self.selector.close()
            signal.set_wakeup_fd(-1)
            for signum in MASTER_SIGNALS:
                signal.signal(signum, signal.SIG_DFL)
            signal.signal(signal.SIGHUP, _note)         # the master's signal, not ours
            signal.signal(signal.SIGQUIT, _exit_at_once)  # until it serves
            signal.signal(RETIRE_SIGNAL, _exit_at_once)   # likewise
            signal.pthread_sigmask(signal.SIG_UNBLOCK, MASTER_SIGNALS)
            for worker in self.workers.values():
                worker.channel.close()                 # or a master's death went unseen
            os.close(self.wake_r)
            os.close(self.wake_w)
            code = serve_worker(self.config, self.load, self.listeners, channel, self.access_log)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException as exc:
            # The master's one-line error says what it was, even if the log
            # cannot (its traceback may need files this user cannot read).
            try:
                _send(channel, "failed %s: %s" % (type(exc).__name__, exc))
            except OSError:
                pass
            log.exception("worker %d failed", os.getpid())
        finally:
            for handler in log.handlers:
                handler.flush()
            os._exit(code)


def _note(signum, frame):
    """A handler that does nothing: the signal's number reaches the master's
    loop through the wake-up fd."""


def _exit_at_once(signum, frame):
    """SIGQUIT in a worker that does not serve yet: nothing to finish."""
    os._exit(0)


def _send(channel, line):
    channel.sendall(line.encode("utf-8", "replace") + b"\n")


def _watch_master(channel):
    """Stop this worker gracefully when the master dies (its end of the
    channel closes), from a thread that sleeps in recv() without the GIL."""
    def wait():
        try:
            while channel.recv(4096):
                pass
        except OSError:
            pass
        os.kill(os.getpid(), signal.SIGTERM)
    threading.Thread(target=wait, name="fastwsgi-master-watch", daemon=True).start()


def _loaded_files():
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if isinstance(path, str) and os.path.isfile(path):
            yield os.path.abspath(path)


def serve_worker(config, load, listeners, channel, access_log=None):
    """A worker's life: own sockets (--reuse-port), user switch, app import,
    serve until stopped or --max-requests, writing the access log to
    access_log (the master's Destination) if given; returns the exit status."""
    _watch_master(channel)
    try:
        if config.reuse_port:
            listeners = reuse_port_copies(listeners, config.backlog)
        privileges.switch(config)
        app = load()
        runner = import_runner()
    except FastWSGIError as exc:
        _send(channel, "failed " + exc.message)
        return LOAD_FAILED
    server = runner.make_server(app, config, listeners, access_log)
    limit = config.max_requests
    if limit:
        limit += random.randint(0, config.max_requests_jitter)
    try:
        with runner.stop_signals(server, close_listeners=config.reuse_port,
                                 retire_signal=RETIRE_SIGNAL):
            if config.reload:         # stamped before serving: any later edit is a change
                for path in _loaded_files():
                    _send(channel, "watch %s %s" % (_stamp_text(_stamp(path)), path))
            _send(channel, "ready")
            served = server.serve(max_requests=limit)
            if limit and served >= limit:
                _send(channel, "retiring %d" % served)
                server.serve()      # until stopped, once a successor is ready
    except runner.StopNow:
        pass
    finally:
        server.close()
    return 0
