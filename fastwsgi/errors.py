"""Exceptions of the Python layer.

Every error the user can fix (a bad option, an app that cannot be loaded, an
address that cannot be bound) is a `FastWSGIError`.  Its message is a single
line saying what is wrong and what to do, so the CLI can print it as
``fastwsgi: error: <message>`` without a traceback.
"""

__all__ = ["FastWSGIError", "ConfigError", "AppLoadError", "BindError"]


class FastWSGIError(Exception):
    """Base class: a problem the user can fix, described in one line."""

    def __init__(self, message):
        # One line, always: line breaks from nested messages become spaces.
        text = " ".join(str(message).split("\n")).replace("\r", " ")
        super().__init__(text)

    @property
    def message(self):
        return self.args[0]


class ConfigError(FastWSGIError, ValueError):
    """An option value (CLI flag, FASTWSGI_* variable or keyword) is invalid.

    Also a ValueError, so callers of run() can catch it the usual way.
    """


class AppLoadError(FastWSGIError):
    """The WSGI application named by the APP spec could not be loaded."""


class BindError(FastWSGIError):
    """A listening socket could not be opened."""
