"""fastwsgi.run() and the command line, driven as a user would: real processes,
real signals."""
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from conftest import TESTS, ServerProcess
from http_client import get, request

RUN_SCRIPT = textwrap.dedent("""
    import sys, threading, time
    import fastwsgi

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ticks=%d" % TICKS[0]]

    TICKS = [0]

    def ticker():
        # Runs while the server waits: only possible if the loop releases the GIL.
        while True:
            TICKS[0] += 1
            time.sleep(0.01)

    threading.Thread(target=ticker, daemon=True).start()
    style = sys.argv[1]
    if style == "new":
        fastwsgi.run(app, host="127.0.0.1", port=0)
    else:
        fastwsgi.run(wsgi_app=app, host="127.0.0.1", port=0, loglevel=6)
    print("run() returned", flush=True)
""")


def start_run_script(tmp_path, style):
    script = tmp_path / "serve.py"
    script.write_text(RUN_SCRIPT)
    return ServerProcess([sys.executable, str(script), style], cwd=str(tmp_path)).wait_listening()


@pytest.mark.parametrize("style", ["new", "0.0.9"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_run_serves_until_a_signal_then_returns(tmp_path, style, sig):
    proc = start_run_script(tmp_path, style)
    try:
        assert request(proc, get("/")).status == 200
        assert proc.stop(sig) == 0
        assert "run() returned" in proc.stderr_text()
        assert "Traceback" not in proc.stderr_text()
    finally:
        proc.close()


def test_other_threads_run_while_the_server_waits(tmp_path):
    proc = start_run_script(tmp_path, "new")
    try:
        first = int(request(proc, get("/")).body.split(b"=")[1])
        time.sleep(1.0)
        second = int(request(proc, get("/")).body.split(b"=")[1])
        # 1 s at one tick per 10 ms is ~100 ticks; 10 proves the thread ran.
        assert second - first >= 10
    finally:
        proc.stop()
        proc.close()


def test_run_reports_a_port_in_use_as_bind_error(tmp_path):
    import socket
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        code = textwrap.dedent("""
            import fastwsgi
            from fastwsgi.errors import BindError
            try:
                fastwsgi.run(lambda e, s: [], host="127.0.0.1", port=%d)
            except BindError as exc:
                print("BindError:", exc)
        """ % port)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=60, cwd=TESTS)
    assert "BindError:" in out.stdout and "address already in use" in out.stdout


def test_no_app_serves_the_demo_app(server):
    srv = server(None)
    reply = request(srv, get("/"))
    assert reply.status == 200
    assert reply.body.startswith(b"Hello world!")
    assert b"PATH_INFO" in reply.body


def test_module_colon_name_and_factory_specs(server, tmp_path):
    pkg = tmp_path / "myproject"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "wsgi.py").write_text(textwrap.dedent("""
        def application(environ, start_response):
            start_response("200 OK", [("Content-Length", "5")])
            return [b"plain"]

        def create_app(greeting="hi"):
            def app(environ, start_response):
                start_response("200 OK", [])
                return [greeting.encode()]
            return app
    """))
    env = {"PYTHONPATH": str(tmp_path)}
    assert request(server("myproject.wsgi:application", env=env), get("/")).body == b"plain"
    assert request(server("myproject.wsgi:create_app('factory')", env=env), get("/")).body == b"factory"


def test_current_directory_is_importable(tmp_path):
    (tmp_path / "localapp.py").write_text(
        "def app(e, s):\n    s('200 OK', [])\n    return [b'from cwd']\n")
    argv = [sys.executable, "-m", "fastwsgi", "--port", "0", "localapp:app"]
    env = {"PYTHONPATH": ""}
    proc = ServerProcess(argv, env=env, cwd=str(tmp_path)).wait_listening()
    try:
        assert request(proc, get("/")).body == b"from cwd"
    finally:
        assert proc.stop() == 0
        proc.close()


def test_access_log_writes_combined_lines(server):
    srv = server("apps:app", "--access-log")
    request(srv, get("/status?body=abc", headers=[("User-Agent", "tester/1.0"), ("Referer", "http://r/")]))
    deadline = time.monotonic() + 5
    while "tester/1.0" not in srv.stderr_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    line = [l for l in srv.stderr_text().splitlines() if "tester/1.0" in l][0]
    assert '127.0.0.1 - - [' in line
    assert '"GET /status?body=abc HTTP/1.1" 200 3 "http://r/" "tester/1.0"' in line


def test_access_log_is_off_by_default(server):
    srv = server("apps:app")
    request(srv, get("/status?body=abc", headers=[("User-Agent", "quiet/1.0")]))
    time.sleep(0.3)
    assert "quiet/1.0" not in srv.stderr_text()


def test_console_script_is_installed():
    exe = shutil.which("fastwsgi")
    assert exe, "the fastwsgi command is not on PATH: install the project with pip"
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.startswith("fastwsgi ")
