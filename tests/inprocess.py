"""A fastwsgi Server in the test's own process, on a real listening socket:
for tests that call serve() themselves or look at the Server's state."""
import socket

from fastwsgi._core import Server
from fastwsgi.config import Config


def make_server(app, **options):
    """(server, listener): options are run()'s keywords; FASTWSGI_* variables
    of the test's environment are not read."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    config = Config.from_sources(options, environ={})
    server = Server(app, [listener], config,
                    {"SERVER_NAME": "127.0.0.1", "SERVER_PORT": str(listener.getsockname()[1])})
    return server, listener
