"""A gunicorn worker class that serves with the fastwsgi core:

    gunicorn -k fastwsgi.gunicorn.Worker -w 4 myproject.wsgi:application

gunicorn keeps what it does for the processes (the arbiter, its signals: HUP
reload, TTIN/TTOU, TERM graceful stop, QUIT/INT fast stop, USR1 log reopening;
max_requests with its jitter, the heartbeat that --timeout watches, hooks that
run around the fork); each worker serves the listening sockets gunicorn opened
with fastwsgi's event loop, parser and environ builder.

The heartbeat: the worker notifies the arbiter from its loop at least once a
second, also while connections keep it busy (Server.serve(max_seconds=...)).
By default the app runs on the loop's thread, so as with gunicorn's sync
worker an app call that blocks longer than --timeout gets the worker killed
and replaced; with --threads N it runs in the core's pool and the loop goes on.

Settings that have a fastwsgi counterpart are mapped (GUNICORN_SETTINGS);
FASTWSGI_* environment variables set the options gunicorn has none for
(max_body_size, head_timeout, ...).
"""
import datetime
import logging
import os
from types import SimpleNamespace

from gunicorn.glogging import Logger
from gunicorn.workers.base import Worker as BaseWorker

from fastwsgi._core import Server
from fastwsgi.config import Config
from fastwsgi.errors import FastWSGIError
from fastwsgi.listeners import socket_names
from fastwsgi.runner import base_environ

__all__ = ["Worker", "fastwsgi_config"]

HEARTBEAT = 1.0          # seconds between heartbeats at most (shorter if --timeout is)

# fastwsgi option <- gunicorn setting. A value of 0 (gunicorn's "off" or
# "unlimited") keeps fastwsgi's own default: fastwsgi has no unlimited form.
GUNICORN_SETTINGS = {
    "keepalive_timeout": "keepalive",
    "graceful_timeout": "graceful_timeout",
    "max_request_line": "limit_request_line",
    "max_header_count": "limit_request_fields",
    "max_connections": "worker_connections",
    "forwarded_allow_ips": "forwarded_allow_ips",
    "threads": "threads",
}


def fastwsgi_config(cfg):
    """fastwsgi's Config for gunicorn's settings cfg. Raises ConfigError."""
    overrides = {}
    for option, setting in GUNICORN_SETTINGS.items():
        value = getattr(cfg, setting)
        overrides[option] = value if value or isinstance(value, list) else None
    return Config.from_sources(overrides, origin="api")


class Worker(BaseWorker):
    """gunicorn's worker interface (gunicorn.workers.base.Worker) on the fastwsgi core."""

    server = None

    @classmethod
    def check_config(cls, cfg, log):
        """Run by the arbiter at start: what cannot work stops gunicorn with
        one line, what is ignored is said once."""
        if cfg.is_ssl:
            raise RuntimeError("fastwsgi.gunicorn.Worker does not serve TLS: drop --certfile/"
                               "--keyfile and terminate TLS in a proxy in front (nginx)")
        try:
            config = fastwsgi_config(cfg)
        except FastWSGIError as exc:
            raise RuntimeError("fastwsgi.gunicorn.Worker: %s" % exc) from None
        for name in config.unknown_env:
            log.warning("fastwsgi.gunicorn.Worker: ignoring %s: no such option"
                        " (see fastwsgi --help)", name)
        if "h2" in getattr(cfg, "http_protocols", ()):
            log.warning("fastwsgi.gunicorn.Worker speaks HTTP/1.1 only; h2 is ignored")

    def init_process(self):
        self.fastwsgi_config = fastwsgi_config(self.cfg)
        self.heartbeat = min(HEARTBEAT, self.timeout) if self.timeout else HEARTBEAT
        route_fastwsgi_log(self.log)
        super().init_process()      # loads the app, then calls run()

    def run(self):
        access_log = self.log_access if wants_access_calls(self.log) else None
        self.server = server = Server(
            self.wsgi, [listener.sock for listener in self.sockets], self.fastwsgi_config,
            base_environ([environ_source(listener.sock) for listener in self.sockets]),
            access_log)
        limited = self.cfg.max_requests > 0
        try:
            while self.alive or server.draining:
                self.notify()
                left = self.max_requests - self.nr if limited and self.alive else 0
                self.nr += server.serve(max_requests=left, max_seconds=self.heartbeat)
                if self.alive and limited and self.nr >= self.max_requests:
                    self.log.info("Autorestarting worker after current request.")
                    self.retire()
                elif self.alive and self.ppid != os.getppid():
                    self.log.info("Parent changed, shutting down: %s", self)
                    self.retire()
        finally:
            server.close()

    def retire(self):
        """Serve what is in flight (up to graceful_timeout), then leave run()."""
        self.alive = False
        if self.server is not None:
            self.server.stop()

    def handle_exit(self, sig, frame):
        self.retire()     # SIGTERM: the loop drains and run() returns

    def log_access(self, environ, status, size, seconds):
        """The core's access_log callback, in gunicorn's access log format."""
        self.log.access(SimpleNamespace(status=status, sent=size, headers=()),
                        request_headers(environ), environ, datetime.timedelta(seconds=seconds))


def request_headers(environ):
    """(name, value) pairs of the request headers, for the {header}i atoms."""
    headers = [(key[5:].replace("_", "-"), value)
               for key, value in environ.items() if key.startswith("HTTP_")]
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if key in environ:
            headers.append((key.replace("_", "-"), environ[key]))
    return headers


def wants_access_calls(log):
    """gunicorn's own logger writes nothing without an access log configured;
    a logger class that overrides access() (statsd) wants every request."""
    if type(log).access is not Logger.access:
        return True
    return getattr(log, "access_log_enabled", True)   # older gunicorn: access() decides


def environ_source(sock):
    """SERVER_NAME and SERVER_PORT of a listening socket, as runner.base_environ reads them."""
    _, server_name, server_port = socket_names(sock)
    return SimpleNamespace(server_name=server_name, server_port=server_port)


def route_fastwsgi_log(log):
    """Send the core's records (app tracebacks, warnings) to gunicorn's error
    log, unless the app's logging configuration already handles them."""
    core_log = logging.getLogger("fastwsgi")
    if core_log.handlers:
        return
    for handler in log.error_log.handlers:
        core_log.addHandler(handler)
    core_log.setLevel(log.error_log.level)
    core_log.propagate = False
