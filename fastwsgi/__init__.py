"""fastwsgi: a fast, strict WSGI (PEP 3333) HTTP/1.1 server with a C/Cython core.

    import fastwsgi
    fastwsgi.run(app, host="127.0.0.1", port=8000)

See fastwsgi.simple_server for a drop-in replacement of wsgiref.simple_server,
and `fastwsgi --help` for the command line.
"""

__version__ = "0.1.0"

__all__ = ["run", "__version__"]

# fastwsgi 0.0.9 took log levels as numbers 0 (off) to 8 (trace).
_LEGACY_LOG_LEVELS = {0: "critical", 1: "critical", 2: "critical", 3: "error",
                      4: "warning", 5: "info", 6: "info", 7: "debug", 8: "debug"}


def run(app=None, host=None, port=None, *, wsgi_app=None, loglevel=None, workers=None, **options):
    """Serve the WSGI callable `app` until SIGINT or SIGTERM, then return.

    Every option of `fastwsgi --help` is accepted as a keyword (log_level,
    access_log, bind, backlog, max_body_size, ...); FASTWSGI_* environment
    variables fill in what is not given. The fastwsgi 0.0.9 calling convention
    run(wsgi_app=app, host=..., port=..., loglevel=N) works too.
    """
    from fastwsgi.accesslog import open_access_log
    from fastwsgi.config import Config
    from fastwsgi.errors import ConfigError
    from fastwsgi.listeners import close_listeners, open_listeners
    import logging

    from fastwsgi.cli import setup_logging
    from fastwsgi.runner import serve

    if app is None:
        app = wsgi_app
    elif wsgi_app is not None:
        raise ConfigError("pass the app once: either app or wsgi_app")
    if not callable(app):
        raise ConfigError("run() needs a WSGI callable as app, got %r" % (app,))
    if workers not in (None, 1):
        raise ConfigError("workers=%r: this version serves from one process; run several "
                          "instances behind a load balancer instead" % (workers,))
    if loglevel is not None and "log_level" not in options:
        options["log_level"] = _LEGACY_LOG_LEVELS.get(loglevel, "info")
    options.update(host=host, port=port)
    config = Config.from_sources(options, origin="api")
    if not logging.getLogger().handlers and not logging.getLogger("fastwsgi").handlers:
        setup_logging(config.log_level)    # the app set up no logging: ours goes to stderr
    listeners = open_listeners(config)
    access_log = None
    try:
        access_log = open_access_log(config)
        serve(app, config, listeners, access_log)
    finally:
        close_listeners(listeners)      # no-op when serve() closed them
        if access_log is not None:
            access_log.close()
