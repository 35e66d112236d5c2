"""A small but real Falcon app, served by fastwsgi in tests/test_falcon.py:
resources with JSON media in and out, query parameters, a streamed response,
a file response, multipart uploads, and Falcon's own 404/405/400 handling."""
import hashlib
import os

import falcon

HERE = os.path.dirname(os.path.abspath(__file__))


class Items:
    """A collection kept in memory (the server is one process)."""

    def __init__(self):
        self.items = {}

    def on_get(self, req, resp):
        limit = req.get_param_as_int("limit", default=100, min_value=1)
        tags = set(req.get_param_as_list("tag") or ())
        found = [item for item in self.items.values() if tags <= set(item["tags"])]
        resp.media = {"items": found[:limit], "total": len(found)}

    def on_post(self, req, resp):
        data = req.get_media()              # Falcon answers 400 itself for bad JSON
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            raise falcon.HTTPBadRequest(title="name missing",
                                        description="the item needs a string 'name'")
        item = {"id": len(self.items) + 1, "name": data["name"], "tags": data.get("tags", [])}
        self.items[item["id"]] = item
        resp.status = falcon.HTTP_201
        resp.location = "/items/%d" % item["id"]
        resp.media = item


class Item:
    def __init__(self, collection):
        self.collection = collection

    def on_get(self, req, resp, item_id):
        item = self.collection.items.get(item_id)
        if item is None:
            raise falcon.HTTPNotFound(description="no item %d" % item_id)
        resp.media = item


class Stream:
    def on_get(self, req, resp):
        count = req.get_param_as_int("n", default=5)
        resp.content_type = falcon.MEDIA_TEXT
        resp.stream = (b"chunk %d\n" % i for i in range(count))


class Source:
    def on_get(self, req, resp):
        path = os.path.join(HERE, "falcon_app.py")
        resp.content_type = "text/x-python"
        resp.set_stream(open(path, "rb"), os.path.getsize(path))   # wsgi.file_wrapper

    on_head = on_get            # Falcon sends no body for HEAD


class Upload:
    def on_post(self, req, resp):
        parts = []
        for part in req.get_media():        # multipart/form-data
            data = part.stream.read()
            parts.append({"name": part.name, "filename": part.filename,
                          "content_type": part.content_type, "size": len(data),
                          "sha256": hashlib.sha256(data).hexdigest()})
        resp.media = {"parts": parts}


def create_app():
    app = falcon.App()
    items = Items()
    app.add_route("/items", items)
    app.add_route("/items/{item_id:int}", Item(items))
    app.add_route("/stream", Stream())
    app.add_route("/source", Source())
    app.add_route("/upload", Upload())
    return app


app = create_app()
