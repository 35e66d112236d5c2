"""A small but real Bottle app, served by fastwsgi in tests/test_bottle.py:
dynamic routes with filters, SimpleTemplate, plain and signed cookies,
static_file (Range, HEAD, conditional GET), a streamed generator, JSON and
form bodies, error pages and redirects."""
import os

import bottle
from bottle import Bottle, HTTPResponse, abort, redirect, request, response, static_file, template

HERE = os.path.dirname(os.path.abspath(__file__))
SECRET = "test-only cookie secret"

PAGE = """<h1>Hello {{name}}!</h1>
<ul>
% for i, item in enumerate(items):
  <li class="{{'odd' if i % 2 else 'even'}}">{{item}}</li>
% end
</ul>
{{!raw}}"""

app = Bottle()


@app.route("/hello/<name>")
def hello(name):
    items = request.query.getall("item")
    return template(PAGE, name=name, items=items, raw="<b>trusted</b>")


@app.route("/items/<item_id:int>")
def item(item_id):
    return {"id": item_id, "type": type(item_id).__name__}          # dict -> JSON


@app.route("/files/<path:path>")
def files(path):
    return static_file(path, root=HERE)


@app.post("/echo")
def echo():
    if request.json is not None:
        return {"json": request.json}
    return {"form": {key: request.forms.getall(key) for key in request.forms.keys()},
            "upload": [(u.filename, len(u.file.read())) for u in request.files.values()]}


@app.route("/cookies/set")
def set_cookies():
    response.set_cookie("plain", request.query.get("value", "v"))
    response.set_cookie("signed", {"user": "alice"}, secret=SECRET, httponly=True)
    return "set"


@app.route("/cookies/get")
def get_cookies():
    return {"plain": request.get_cookie("plain"),
            "signed": request.get_cookie("signed", secret=SECRET)}


@app.route("/stream")
def stream():
    count = int(request.query.get("n", "5"))
    response.content_type = "text/plain"

    def lines():
        yield "start\n"
        for i in range(count):
            yield "line %d\n" % i
        yield "end\n"
    return lines()


@app.route("/old")
def old():
    redirect("/hello/redirected")


@app.route("/forbidden")
def forbidden():
    abort(403, "not for you")


@app.route("/teapot")
def teapot():
    return HTTPResponse("short and stout", status=418, headers={"X-Pot": "yes"})


@app.error(404)
def not_found(error):
    response.content_type = "text/plain"
    return "nothing at %s" % request.path


bottle.BaseRequest.MEMFILE_MAX = 1 << 20
