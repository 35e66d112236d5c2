"""Run one server process: build the core Server on opened listeners, serve until
SIGINT or SIGTERM, then close everything."""
import logging
import signal
import threading

from fastwsgi import __version__
from fastwsgi.accesslog import compile_format
from fastwsgi.listeners import close_listeners

log = logging.getLogger("fastwsgi")

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def base_environ(listeners):
    """This server's own environ keys; the core adds the PEP 3333 defaults."""
    first = listeners[0]
    return {
        "SERVER_NAME": first.server_name,
        "SERVER_PORT": first.server_port,
        "SERVER_SOFTWARE": "fastwsgi/" + __version__,
    }


def raise_fd_limit(wanted):
    """Lift the soft limit on open files toward the hard one, so --max-connections
    is not cut short by a default of 1024."""
    try:
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        if soft != resource.RLIM_INFINITY and soft < target:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ImportError, ValueError, OSError):
        pass


def serve(app, config, listeners, access_log=None):
    """Serve app on listeners until SIGINT/SIGTERM (or KeyboardInterrupt),
    writing the access log to access_log (a fastwsgi.accesslog.Destination,
    which stays the caller's to close) if given; the listeners are closed on
    the way out."""
    from fastwsgi._core import AccessLog, Server

    raise_fd_limit(config.max_connections + 64)
    try:
        if access_log is not None:
            access_log = AccessLog(access_log.fd, compile_format(config.access_log_format))
        server = Server(app, [l.sock for l in listeners], config, base_environ(listeners),
                        access_log)
    except BaseException:
        close_listeners(listeners)
        raise
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in STOP_SIGNALS:
            previous[signum] = signal.signal(signum, lambda signum, frame: server.stop())
    log.info("fastwsgi %s listening on %s (1 process, %s loop)", __version__,
             ", ".join("http://" + l.display if l.kind != "unix" else l.display for l in listeners),
             server.backend)
    try:
        server.serve()
    except KeyboardInterrupt:
        pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        server.close()
        close_listeners(listeners)
        log.info("fastwsgi stopped")
