"""The `fastwsgi` command: fastwsgi [OPTIONS] [APP]

Flags are built from the option table in fastwsgi.config, so every option is
also a FASTWSGI_* environment variable and a run() keyword.  The order of work
makes every user error (options, app, addresses) surface before the server
core is imported; such errors print "fastwsgi: error: <one line>" and exit 2.
"""

import argparse
import logging
import sys

import fastwsgi
from fastwsgi.config import OPTIONS, Config
from fastwsgi.demo import demo_app
from fastwsgi.errors import FastWSGIError
from fastwsgi.loader import load_app
from fastwsgi.supervisor import start

__all__ = ["main", "build_parser", "setup_logging"]

log = logging.getLogger("fastwsgi")

LOG_FORMAT = "[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s"
LOG_DATE_FORMAT = "%Y-%m-%d %H:%M:%S %z"

EPILOG = """\
Every option can also be set with the environment variable named after it
(FASTWSGI_PORT=9000); an empty variable counts as unset.  Command-line
arguments win over environment variables, which win over defaults.

Addresses (--bind, repeatable; FASTWSGI_BIND takes a comma-separated list):
  HOST:PORT     127.0.0.1:8000, 0.0.0.0:8000, localhost:8000
  [IPV6]:PORT   [::1]:8000, [::]:8000 (IPv6 only; add 0.0.0.0:PORT for IPv4)
  HOST          port from --port
  :PORT         host from --host (not all interfaces)
  unix:PATH     unix:/run/app.sock (a stale socket file is replaced)
  fd://N        a listening socket inherited as file descriptor N
Under systemd socket activation (LISTEN_FDS, LISTEN_PID) the passed sockets
are served when no --bind is given; with --bind, name them as fd://3, ...

Sizes (BYTES) are integers or take a suffix k, m or g (1k = 1024 bytes).

Examples:
  fastwsgi myproject.wsgi:application
  fastwsgi --bind 0.0.0.0:8080 --access-log 'myapp:create_app(debug=False)'
  FASTWSGI_PORT=9000 fastwsgi myapp
"""


def _help(opt):
    text = "%s (default: %s; env %s)" % (opt.help, opt.type.show(opt.default), opt.env)
    return text.replace("%", "%%")


def build_parser():
    """The argparse parser, one argument per row of the option table.

    Every argument defaults to None ("not given"), so Config.from_sources can
    tell a flag from a default; values are validated there, not by argparse.
    """
    parser = argparse.ArgumentParser(
        prog="fastwsgi",
        usage="%(prog)s [OPTIONS] [APP]",
        description="Serve a WSGI application over HTTP/1.1.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    for opt in OPTIONS:
        if opt.positional:
            parser.add_argument(opt.name, nargs="?", default=None,
                                metavar=opt.metavar, help=_help(opt))
        elif opt.type.cli == "flag":
            parser.add_argument(opt.flag, dest=opt.name, default=None,
                                action=argparse.BooleanOptionalAction, help=_help(opt))
        elif opt.type.cli == "append":
            parser.add_argument(opt.flag, dest=opt.name, default=None, action="append",
                                metavar=opt.metavar, help=_help(opt))
        else:
            parser.add_argument(opt.flag, dest=opt.name, default=None,
                                metavar=opt.metavar, help=_help(opt))
    parser.add_argument("--version", action="version",
                        version="fastwsgi %s" % fastwsgi.__version__,
                        help="print the version and exit")
    return parser


class _Handler(logging.StreamHandler):
    """The stderr handler installed by setup_logging (so it can replace it)."""


def setup_logging(level):
    """Log the "fastwsgi" logger tree to stderr as
    "[time] [pid] [LEVEL] message".  The root logger, and so the app's own
    logging setup, is left alone."""
    logger = logging.getLogger("fastwsgi")
    for handler in list(logger.handlers):
        if isinstance(handler, _Handler):
            logger.removeHandler(handler)
    handler = _Handler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT, LOG_DATE_FORMAT))
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False


def _print_error(message):
    text = " ".join(str(message).splitlines())
    sys.stderr.write("fastwsgi: error: %s\n" % text)
    sys.stderr.flush()


def _load(config):
    if not config.app:
        return demo_app
    app = load_app(config.app)
    log.debug("loaded %s: %r", config.app, app)
    return app


def _log_notes(config):
    """What is worth saying once nothing can fail any more, so that a user
    error is the one line on stderr."""
    for name in config.unknown_env:
        log.warning("ignoring %s: no such option (see fastwsgi --help)", name)
    log.debug("configuration: %r", config)
    if not config.app:
        log.info("no APP given: serving the built-in demo app")


def main(argv=None):
    """Run the command line; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 2)

    try:
        config = Config.from_sources({opt.name: getattr(args, opt.name) for opt in OPTIONS})
        setup_logging(config.log_level)
        # Under a master the workers import the app after the fork; the first
        # of them report an app that does not load, as AppLoadError.
        start(config, lambda: _load(config), announce=lambda: _log_notes(config))
    except FastWSGIError as exc:
        _print_error(exc)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0
