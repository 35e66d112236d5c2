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


def run(app=None, host=None, port=None, *, wsgi_app=None, loglevel=None, **options):
    """Serve the WSGI app until SIGINT or SIGTERM, then return.

    `app` is a WSGI callable, or an import string such as "myproject.wsgi:app"
    (the forms of the command line's APP).  Every option of `fastwsgi --help`
    is accepted as a keyword (log_level, access_log, bind, backlog,
    max_body_size, workers, ...); FASTWSGI_* environment variables fill in
    what is not given.  The fastwsgi 0.0.9 calling convention
    run(wsgi_app=app, host=..., port=..., loglevel=N) works too.

    workers=N (N > 1, or "auto"), max_requests, user/group and reload make
    this process the master: it binds, forks the workers, and returns once
    they have all stopped (TERM/INT, or QUIT).  The workers are forked with
    the callable as it is; to have them import it afresh on SIGHUP give the
    app as an import string, which reload=True requires.
    """
    from fastwsgi.config import Config
    from fastwsgi.errors import ConfigError
    from fastwsgi.loader import load_app
    from fastwsgi.supervisor import start
    import logging

    from fastwsgi.cli import setup_logging

    if app is None:
        app = wsgi_app
    elif wsgi_app is not None:
        raise ConfigError("pass the app once: either app or wsgi_app")
    if not callable(app) and not isinstance(app, str):
        raise ConfigError("run() needs a WSGI callable or an import string such as"
                          " 'module:app' as app, got %r" % (app,))
    if loglevel is not None and "log_level" not in options:
        options["log_level"] = _LEGACY_LOG_LEVELS.get(loglevel, "info")
    options.update(host=host, port=port)
    config = Config.from_sources(options, origin="api")
    if not logging.getLogger().handlers and not logging.getLogger("fastwsgi").handlers:
        setup_logging(config.log_level)    # the app set up no logging: ours goes to stderr
    spec = app if isinstance(app, str) else None
    if spec is None and config.reload:
        raise ConfigError("reload=True needs the app as an import string such as"
                          " 'module:app': a callable cannot be imported afresh")
    start(config, (lambda: load_app(spec)) if spec else (lambda: app))
