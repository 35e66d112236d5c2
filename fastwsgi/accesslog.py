"""Access log lines in the combined log format (the one nginx and Apache use)."""
import logging
import time

access_logger = logging.getLogger("fastwsgi.access")


def _quoted(value):
    # A client controls these fields: escape quotes and backslashes so a line
    # cannot be forged to look like two.
    return value.replace("\\", "\\\\").replace('"', '\\"')


def combined_line(environ, request_line, status, size):
    """One combined-format line for a finished response."""
    stamp = time.strftime("%d/%b/%Y:%H:%M:%S %z", time.localtime())
    return '%s - - [%s] "%s" %d %d "%s" "%s"' % (
        environ.get("REMOTE_ADDR") or "-",
        stamp,
        _quoted(request_line),
        status,
        size,
        _quoted(environ.get("HTTP_REFERER", "-")),
        _quoted(environ.get("HTTP_USER_AGENT", "-")),
    )


def log_access(environ, request_line, status, size):
    """The core's access_log callback: one INFO record on 'fastwsgi.access'."""
    access_logger.info(combined_line(environ, request_line, status, size))
