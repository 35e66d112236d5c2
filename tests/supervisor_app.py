"""The app tests/test_supervisor.py serves: it tells which process answered.

    /pid                  the worker's pid
    /pid?sleep=S&ledger=PATH&id=ID   the same after S seconds; first appends ID to PATH
    /ids                  "UID GID" of the worker
    /slow?s=SECONDS&mark=PATH   creates PATH (the request reached the app), sleeps, answers "slow"
"""
import os
import time

# Only modules the server has loaded already: a worker running as --user nobody
# may be unable to read the interpreter's own files (a Python under /root).


def app(environ, start_response):
    path = environ["PATH_INFO"]
    query = dict(item.partition("=")[::2] for item in environ["QUERY_STRING"].split("&") if item)
    if path == "/ids":
        body = b"%d %d" % (os.getuid(), os.getgid())
    elif path == "/slow":
        if "mark" in query:
            with open(query["mark"], "w"):
                pass
        time.sleep(float(query.get("s", "1")))
        body = b"slow"
    else:
        if "ledger" in query:           # the request reached the app
            with open(query["ledger"], "a") as f:
                f.write(query["id"] + "\n")
        time.sleep(float(query.get("sleep", "0")))
        body = b"%d" % os.getpid()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
