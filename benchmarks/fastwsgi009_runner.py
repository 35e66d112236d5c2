"""Serve apps:<NAME> with the PyPI fastwsgi 0.0.9 (benchmarks/.venv-fastwsgi009).

    .venv-fastwsgi009/bin/python fastwsgi009_runner.py APP HOST PORT

0.0.9 installs the same import name as the checkout's fastwsgi, so it lives
in its own venv and is started through this script with its documented
calling convention, fastwsgi.run(wsgi_app=..., host=..., port=...).
SIGTERM keeps its default action (the process ends at once): 0.0.9 runs its
libuv loop in C and hooks only SIGINT, so a Python-level handler would not
run until the next request.
"""
import sys

import apps
import fastwsgi


def main():
    app_name, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    # loglevel 3 = errors only (0.0.9's numeric levels): no per-request output.
    fastwsgi.run(wsgi_app=getattr(apps, app_name), host=host, port=port, loglevel=3)


if __name__ == "__main__":
    main()
