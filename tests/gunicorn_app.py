"""The app that tests/test_gunicorn_worker.py serves with gunicorn and
fastwsgi.gunicorn.Worker. Every answer names the worker process that gave it.

    /pid                      "pid=N"
    /slow?seconds=S&mark=P    creates the file P once the app runs, sleeps S seconds
    /upload                   the size of the request body
    /peer                     REMOTE_ADDR and wsgi.url_scheme
    /multithread              wsgi.multithread
    /crash                    raises (a 500, logged to gunicorn's error log)
"""
import os
import time
from urllib.parse import parse_qs


def app(environ, start_response):
    query = {k: v[0] for k, v in parse_qs(environ["QUERY_STRING"]).items()}
    path = environ["PATH_INFO"]
    text = "pid=%d" % os.getpid()
    if path == "/slow":
        if "mark" in query:
            open(query["mark"], "w").close()
        time.sleep(float(query.get("seconds", "1")))
    elif path == "/upload":
        text += " size=%d" % len(environ["wsgi.input"].read())
    elif path == "/peer":
        text += " remote=%s scheme=%s" % (environ["REMOTE_ADDR"], environ["wsgi.url_scheme"])
    elif path == "/multithread":
        text += " multithread=%s" % environ["wsgi.multithread"]
    elif path == "/crash":
        raise RuntimeError("the app failed on purpose")
    body = text.encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
