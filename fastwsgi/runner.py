"""Run one server process: build the core Server on opened listeners, serve until
SIGINT or SIGTERM, then close everything.  The pieces (make_server,
stop_signals, startup_line) are shared with the workers of fastwsgi.supervisor."""
import contextlib
import logging
import signal
import threading

from fastwsgi import __version__
from fastwsgi.accesslog import compile_format
from fastwsgi.listeners import close_listeners
from fastwsgi.pidfile import pid_file

log = logging.getLogger("fastwsgi")

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

# The master's signals: a single process has no workers to reload or count.
MASTER_ONLY_SIGNALS = (signal.SIGHUP, signal.SIGTTIN, signal.SIGTTOU)


class StopNow(BaseException):
    """Raised by the SIGQUIT handler: leave serve() at once, without draining."""


def base_environ(listeners):
    """This server's own environ keys; the core adds the PEP 3333 defaults."""
    first = listeners[0]
    return {
        "SERVER_NAME": first.server_name,
        "SERVER_PORT": first.server_port,
        "SERVER_SOFTWARE": "fastwsgi/" + __version__,
    }


FD_MARGIN = 64       # descriptors beyond the connections: listeners, loop, log, the app's files


def raise_fd_limit(wanted):
    """Lift the soft limit on open files toward the hard one, so --max-connections
    is not cut short by a default of 1024. Returns the limit now in force, or
    None when the system does not say."""
    try:
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, ValueError, OSError):
        return None
    if soft == resource.RLIM_INFINITY:
        return None
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    while soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            return target
        except (ValueError, OSError):
            # macOS reports no hard limit yet refuses more than its per-process
            # maximum (kern.maxfilesperproc): settle for less than wanted
            # rather than stay at the default of 256.
            target //= 2
    return soft


def make_server(app, config, listeners, access_log=None):
    """The core Server for app on listeners (which the caller keeps and
    closes), writing the access log to access_log, a
    fastwsgi.accesslog.Destination (also the caller's to close), if given."""
    from fastwsgi._core import AccessLog, Server

    wanted = config.max_connections + FD_MARGIN
    limit = raise_fd_limit(wanted)
    if limit is not None and limit < wanted:
        log.warning("open files are limited to %d here, so at most about %d connections can be "
                    "open at once, not --max-connections %d: raise the hard limit (ulimit -Hn) "
                    "or lower --max-connections", limit, max(0, limit - FD_MARGIN),
                    config.max_connections)
    if access_log is not None:
        access_log = AccessLog(access_log.fd, compile_format(config.access_log_format))
    return Server(app, [l.sock for l in listeners], config, base_environ(listeners), access_log)


def startup_line(listeners, processes, threads, backend):
    """The one line saying where the server listens, e.g. "fastwsgi 0.1.0
    listening on http://127.0.0.1:8000 (4 workers, 8 threads, epoll loop)";
    threads is --threads, per process."""
    where = ", ".join("http://" + l.display if l.kind != "unix" else l.display
                      for l in listeners)
    return "fastwsgi %s listening on %s (%s, %d thread%s, %s loop)" % (
        __version__, where, processes, threads, "" if threads == 1 else "s", backend)


def _stop_now(signum, frame):
    raise StopNow()


@contextlib.contextmanager
def stop_signals(server, close_listeners=False, master_only_warning=False, retire_signal=None):
    """While the block runs: SIGTERM/SIGINT drain and stop the server (closing
    its listening sockets as the drain begins if close_listeners: see
    Server.stop), SIGQUIT stops it at once (StopNow), and retire_signal, if
    given, drains it keeping its idle keep-alive connections (Server.stop's
    keep_idle).  With master_only_warning, the master's own signals (HUP,
    TTIN, TTOU) are logged and ignored instead of taking their default action
    (which ends or suspends the process).  Only in the main thread; the
    previous handlers come back afterwards."""
    handlers = {signal.SIGQUIT: _stop_now}
    handlers.update((signum, lambda signum, frame: server.stop(close_listeners))
                    for signum in STOP_SIGNALS)
    if retire_signal is not None:
        handlers[retire_signal] = lambda signum, frame: server.stop(close_listeners, keep_idle=True)
    if master_only_warning:
        handlers.update((signum, _master_only) for signum in MASTER_ONLY_SIGNALS)
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum, handler in handlers.items():
            previous[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _master_only(signum, frame):
    log.warning("%s ignored: a single process has no workers to reload or count"
                " (run with --workers, --reload or --max-requests for a master process)",
                signal.Signals(signum).name)


def serve(app, config, listeners, access_log=None):
    """Serve app on listeners until SIGINT/SIGTERM (drain) or SIGQUIT (at once),
    or KeyboardInterrupt, with the access log going to access_log if given
    (see make_server); writes and removes the --pid file; the listeners are
    closed on the way out."""
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(close_listeners, listeners)
        server = make_server(app, config, listeners, access_log)
        cleanup.callback(server.close)
        cleanup.enter_context(pid_file(config.pid))
        cleanup.enter_context(stop_signals(server, config.reuse_port, master_only_warning=True))
        log.info("%s", startup_line(listeners, "1 process", config.threads, server.backend))
        try:
            server.serve()
        except (KeyboardInterrupt, StopNow):
            pass
    log.info("fastwsgi stopped")
