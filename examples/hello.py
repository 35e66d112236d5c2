"""The smallest WSGI app: `fastwsgi examples.hello:app` or `python examples/hello.py`."""


def app(environ, start_response):
    body = b"Hello, World!\n"
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]


if __name__ == "__main__":
    import fastwsgi

    fastwsgi.run(app, host="127.0.0.1", port=8000)
