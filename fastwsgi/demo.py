"""The app served when no APP is given: a greeting and the request's environ."""

__all__ = ["demo_app"]


def demo_app(environ, start_response):
    """WSGI app answering text/plain "Hello world!" and the sorted environ,
    one "key = repr(value)" line per entry (in the spirit of wsgiref's)."""
    lines = ["Hello world!", ""]
    for key in sorted(environ):
        lines.append("%s = %r" % (key, environ[key]))
    # repr() escapes lone surrogates and control characters; backslashreplace
    # keeps any other unencodable character from failing the response.
    body = ("\n".join(lines) + "\n").encode("utf-8", "backslashreplace")
    start_response("200 OK", [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(body))),
    ])
    return [body]
