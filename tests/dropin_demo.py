"""The demo at the bottom of wsgiref/simple_server.py: serve demo_app for one
request, then exit.

usage: dropin_demo.py SERVER_MODULE
"""
import importlib
import sys

simple_server = importlib.import_module(sys.argv[1])
make_server = simple_server.make_server
demo_app = simple_server.demo_app

if __name__ == "__main__":
    with make_server("", 0, demo_app) as httpd:
        sa = httpd.socket.getsockname()
        print("Serving HTTP on", sa[0], "port", sa[1], "...", flush=True)
        httpd.handle_request()  # serve one request, then exit
