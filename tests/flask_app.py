"""A small but real Flask app, served by fastwsgi in tests/test_flask.py.

The routes do what Flask apps commonly do: URL converters, JSON in and out,
forms, multipart uploads, streamed responses, redirects, an error handler,
cookies and the signed session, query arguments, and files (send_file).
"""
import hashlib
import io
import os
import time

from flask import (Flask, Response, jsonify, make_response, redirect, request, send_file,
                   send_from_directory, session, stream_with_context, url_for)

HERE = os.path.dirname(os.path.abspath(__file__))

app = Flask(__name__)
app.secret_key = "test-only secret"


@app.route("/")
def index():
    return "Flask on fastwsgi"


@app.route("/users/<int:user_id>/posts/<slug>")
def show_post(user_id, slug):
    return jsonify(user_id=user_id, slug=slug, id_type=type(user_id).__name__)


@app.route("/search")
def search():
    return jsonify(q=request.args.get("q"),
                   tags=request.args.getlist("tag"),
                   page=request.args.get("page", 1, type=int),
                   raw_query=request.query_string.decode("latin-1"))


@app.route("/api/items", methods=["POST"])
def create_item():
    data = request.get_json()                  # 400 on invalid JSON, 415 on a wrong type
    item = {"name": data["name"], "total": sum(data["values"]), "tags": sorted(data.get("tags", []))}
    return jsonify(item=item, echo=data), 201


@app.route("/api/raw", methods=["POST", "PUT"])
def raw_body():
    data = request.get_data()      # a chunked body needs wsgi.input_terminated
    return jsonify(size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                   content_length=request.content_length)


@app.route("/api/big")
def big_json():
    n = request.args.get("n", 1000, type=int)
    return jsonify(items=[{"i": i, "square": i * i, "label": "item-%d" % i} for i in range(n)])


@app.route("/form", methods=["POST"])
def form():
    return jsonify(form=request.form.to_dict(flat=False), content_type=request.mimetype)


@app.route("/upload", methods=["POST"])
def upload():
    files = []
    for field, storage in request.files.items(multi=True):
        data = storage.read()
        files.append({"field": field, "filename": storage.filename, "mimetype": storage.mimetype,
                      "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    return jsonify(files=files, form=request.form.to_dict(),
                   content_length=request.content_length)


@app.route("/stream")
def stream():
    """Lines produced one by one. With ?ack=DIR, after each line the generator
    waits (up to 10 s) until the client has created DIR/ack<i>: the client can
    only do that if line i reached it while the response was still running."""
    count = request.args.get("n", 5, type=int)
    ack_dir = request.args.get("ack")

    @stream_with_context
    def generate():
        yield "start %s\n" % request.args.get("label", "")   # request is usable inside
        for i in range(count):
            if ack_dir:
                deadline = time.monotonic() + 10.0
                while not os.path.exists(os.path.join(ack_dir, "ack%d" % i)):
                    if time.monotonic() > deadline:
                        yield "no ack for line %d\n" % i
                        return
                    time.sleep(0.01)
            yield "line %d\n" % i
        yield "end\n"

    return Response(generate(), mimetype="text/plain")


@app.route("/old-home")
def old_home():
    return redirect(url_for("index"))


@app.route("/legacy/post/<int:user_id>")
def legacy_post(user_id):
    return redirect(url_for("show_post", user_id=user_id, slug="moved"), code=301)


@app.route("/after-post", methods=["POST"])
def after_post():
    return redirect(url_for("search", q=request.form["q"]), code=303)


@app.errorhandler(404)
def not_found(error):
    return jsonify(error="not found", path=request.path), 404


@app.route("/cookie/set")
def set_cookie():
    resp = make_response("cookie set")
    resp.set_cookie("flavour", request.args.get("flavour", "plain"))
    resp.set_cookie("visits", "1", httponly=True)
    return resp


@app.route("/cookie/read")
def read_cookie():
    return jsonify(cookies=dict(request.cookies))


@app.route("/login", methods=["POST"])
def login():
    session["user"] = request.form["user"]
    return redirect(url_for("whoami"))


@app.route("/whoami")
def whoami():
    return jsonify(user=session.get("user"))


@app.route("/logout")
def logout():
    session.pop("user", None)
    return jsonify(user=None)


@app.route("/whereami")
def whereami():
    env = request.environ
    return jsonify(remote_port=env.get("REMOTE_PORT"), n=request.args.get("n", type=int))


@app.route("/source")
def source():
    # A real file: send_file hands it to wsgi.file_wrapper (and Range works).
    return send_from_directory(HERE, "flask_app.py", mimetype="text/x-python")


@app.route("/generated.bin")
def generated():
    data = bytes(range(256)) * 4096            # 1 MiB, from memory (no fileno)
    return send_file(io.BytesIO(data), mimetype="application/octet-stream",
                     download_name="generated.bin")
