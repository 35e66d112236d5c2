"""An app that imports next to nothing, for tests of what the server itself
loads (tests/test_proxy.py). tests/apps.py will not do: from Python 3.11 on,
its urllib.parse imports ipaddress."""
import json
import sys


def app(environ, start_response):
    body = json.dumps({
        "REMOTE_ADDR": environ["REMOTE_ADDR"],
        "REMOTE_PORT": environ["REMOTE_PORT"],
        "wsgi.url_scheme": environ["wsgi.url_scheme"],
        "modules": sorted(sys.modules),
    }).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
