"""`python -m fastwsgi` run as a real process: every user error is one line.

The subprocesses run with a guard that makes importing fastwsgi.runner or
fastwsgi._core blow up with a traceback, so these tests prove that each error
is reported before the server core is touched (and need no built C core).
"""

import os
import socket
import subprocess
import sys
import textwrap

import pytest

import fastwsgi
from fastwsgi.cli import main
from fastwsgi.config import OPTIONS


GUARD = """\
import sys

class _NoCore:
    def find_spec(self, name, path=None, target=None):
        if name in ("fastwsgi.runner", "fastwsgi._core"):
            raise RuntimeError("test guard: %s imported before the error was reported" % name)
        return None

sys.meta_path.insert(0, _NoCore())
"""


@pytest.fixture(scope="module")
def guard_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("guard")
    (path / "sitecustomize.py").write_text(GUARD)
    return str(path)


@pytest.fixture
def cli(tmp_path, guard_dir):
    """Run `python -m fastwsgi ARGS` in tmp_path; returns CompletedProcess."""

    def run(*args, env=None, pass_fds=()):
        environ = {k: v for k, v in os.environ.items() if not k.startswith("FASTWSGI_")}
        environ["PYTHONPATH"] = guard_dir      # fastwsgi itself: the installed one
        environ.update(env or {})
        return subprocess.run(
            [sys.executable, "-m", "fastwsgi"] + list(args),
            cwd=str(tmp_path), env=environ, capture_output=True, text=True, timeout=60,
            pass_fds=pass_fds,
        )

    return run


def write(tmp_path, name, source):
    (tmp_path / name).write_text(textwrap.dedent(source))


def one_line_error(result, *fragments):
    """Exit status != 0, exactly one non-empty stderr line, no traceback."""
    assert result.returncode != 0, result
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("fastwsgi: error: "), line
    for fragment in fragments:
        assert fragment in line, line
    return line


def test_guard_blocks_the_core(cli, tmp_path, guard_dir):
    environ = dict(os.environ, PYTHONPATH=guard_dir)
    result = subprocess.run([sys.executable, "-c", "import fastwsgi.runner"],
                            env=environ, capture_output=True, text=True, timeout=60)
    assert "test guard: fastwsgi.runner imported" in result.stderr


def test_malformed_app_spec(cli):
    result = cli("myapp:1 +")
    assert result.returncode == 2
    one_line_error(result, "malformed app spec 'myapp:1 +'", "MODULE:NAME")


def test_missing_module(cli):
    one_line_error(cli("nosuchmodule:app"), "no module named 'nosuchmodule'")


def test_import_error_inside_module(cli, tmp_path):
    write(tmp_path, "broken.py", "import os\n\nx = y + 1\n")
    line = one_line_error(cli("broken:app"))
    assert line == ("fastwsgi: error: importing 'broken' failed: NameError: name 'y'"
                    " is not defined (broken.py, line 3)")


def test_missing_dependency_inside_module(cli, tmp_path):
    write(tmp_path, "needsdep.py", "import not_installed_dep_qq\n")
    one_line_error(cli("needsdep:app"), "importing 'needsdep' failed",
                   "No module named 'not_installed_dep_qq'", "needsdep.py, line 1")


def test_attribute_missing(cli, tmp_path):
    write(tmp_path, "myapp.py", "def application(environ, start_response):\n    return []\n")
    one_line_error(cli("myapp:app"), "module 'myapp' has no attribute 'app'")


def test_bare_module_without_app(cli, tmp_path):
    write(tmp_path, "noapp.py", "x = 1\n")
    one_line_error(cli("noapp"), "neither 'application' nor 'app'")


def test_not_callable(cli, tmp_path):
    write(tmp_path, "myapp.py", "app = 'not a function'\n")
    one_line_error(cli("myapp:app"), "'myapp:app'", "not callable", "str")


def test_factory_raises(cli, tmp_path):
    write(tmp_path, "factory.py", """\
        def create_app():
            raise RuntimeError("missing DATABASE_URL")
    """)
    one_line_error(cli("factory:create_app()"), "calling 'factory:create_app()' failed",
                   "RuntimeError: missing DATABASE_URL", "factory.py, line 2")


@pytest.mark.parametrize("spec, fragment", [
    ("nosuchmodule:app", "no module named 'nosuchmodule'"),
    ("broken:app", "importing 'broken' failed: NameError: name 'y' is not defined"
                   " (broken.py, line 3)"),
])
def test_app_that_does_not_load_in_the_workers(cli, tmp_path, spec, fragment):
    # The master does not import the app: its first workers do, and their
    # error is the one line, as without workers.
    write(tmp_path, "broken.py", "import os\n\nx = y + 1\n")
    result = cli("--workers", "2", "--port", "0", spec)
    assert result.returncode == 2
    one_line_error(result, fragment)


def test_app_from_env_var(cli, tmp_path):
    one_line_error(cli(env={"FASTWSGI_APP": "nosuchmodule"}), "no module named 'nosuchmodule'")


def test_port_in_use(cli):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        result = cli("--port", str(port))
    line = one_line_error(result)
    assert line == ("fastwsgi: error: cannot listen on 127.0.0.1:%d: address already in"
                    " use (is another server running? choose another --port or --bind)"
                    % port)
    assert result.returncode == 2


def test_port_in_use_with_an_app(cli, tmp_path):
    write(tmp_path, "myapp.py", "def app(environ, start_response):\n    return []\n")
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        result = cli("--bind", "127.0.0.1:%d" % port, "myapp:app")
    one_line_error(result, "address already in use")


def test_unix_socket_over_a_regular_file(cli, tmp_path):
    write(tmp_path, "notes.txt", "keep me")
    one_line_error(cli("--bind", "unix:notes.txt"), "not a socket")
    assert (tmp_path / "notes.txt").read_text() == "keep me"


def test_inherited_fd_not_open(cli):
    # Only fds 0-2 and those in pass_fds are open in the child.
    one_line_error(cli("--bind", "fd://57"),
                   "cannot listen on fd://57: file descriptor 57 is not open in this process")


def test_inherited_fd_not_a_socket(cli, tmp_path):
    with open(tmp_path / "data.txt", "w") as f:
        result = cli("--bind", "fd://%d" % f.fileno(), pass_fds=[f.fileno()])
    one_line_error(result, "it is a regular file, not a listening socket")


def test_inherited_socket_not_listening(cli):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        result = cli("--bind", "fd://%d" % sock.fileno(), pass_fds=[sock.fileno()])
    one_line_error(result, "it is a socket that is not listening (call listen() on it")


@pytest.mark.parametrize("args, fragment", [
    (["--port", "abc"], "--port must be an integer 0-65535, got 'abc'"),
    (["--port", "70000"], "--port must be an integer 0-65535, got '70000'"),
    (["--max-body-size", "1x"], "--max-body-size must be a size in bytes"),
    (["--log-level", "loud"], "--log-level must be one of debug, info"),
    (["--keepalive-timeout", "0"], "--keepalive-timeout must be a number of seconds > 0"),
    (["--bind", "::1:8000"], "IPv6 addresses need brackets"),
    (["--host", "http://0.0.0.0"], "--host must be a host name or IP address"),
    (["--bind", "fd://three"], "the file descriptor must be a number"),
    (["--forwarded-allow-ips", "proxy.local"], "'proxy.local' is not an IP address"),
    (["--unix-socket-mode", "u+rw"], "--unix-socket-mode must be an octal file mode 0-777"),
    (["--workers", "0"], "--workers must be an integer >= 1 or auto, got '0'"),
    (["--max-requests", "x"], "--max-requests must be an integer >= 0, got 'x'"),
    (["--user", "no-such-user-qq"], "--user must be a user name or id that exists"),
    (["--group", "no-such-group-qq"], "--group must be a group name or id that exists"),
])
def test_bad_option_value(cli, args, fragment):
    result = cli(*args)
    assert result.returncode == 2
    one_line_error(result, fragment)


@pytest.mark.parametrize("env, fragment", [
    ({"FASTWSGI_PORT": "abc"}, "FASTWSGI_PORT must be an integer 0-65535, got 'abc'"),
    ({"FASTWSGI_ACCESS_LOG": "maybe"}, "FASTWSGI_ACCESS_LOG must be a boolean"),
    ({"FASTWSGI_BIND": "x:y"}, "FASTWSGI_BIND: invalid bind address 'x:y'"),
    ({"FASTWSGI_MAX_HEAD_BYTES": "big"}, "FASTWSGI_MAX_HEAD_BYTES must be a size"),
    ({"FASTWSGI_WORKERS": "many"}, "FASTWSGI_WORKERS must be an integer >= 1 or auto"),
])
def test_bad_env_value(cli, env, fragment):
    one_line_error(cli(env=env), fragment)


def test_cli_beats_env(cli):
    # A bad variable overridden by a good flag is not an error; the next
    # error (port in use) is the one reported.
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        result = cli("--port", str(port), env={"FASTWSGI_PORT": "abc"})
    one_line_error(result, "cannot listen on 127.0.0.1:%d" % port)


def test_unknown_flag_is_a_usage_error(cli):
    result = cli("--no-such-flag")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "unrecognized arguments: --no-such-flag" in result.stderr


def test_version(cli):
    result = cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == "fastwsgi %s" % fastwsgi.__version__
    assert result.stderr == ""


def test_help_lists_every_option(cli):
    result = cli("--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())  # undo argparse's wrapping
    assert text.startswith("usage: fastwsgi [OPTIONS] [APP]")
    for opt in OPTIONS:
        if opt.positional:
            assert opt.metavar in text
        else:
            assert opt.flag in text, opt.flag
        assert opt.env in text, opt.env
        assert "(default: %s; env %s)" % (opt.type.show(opt.default), opt.env) in text
    assert "--no-access-log" in text
    assert "--version" in text
    for form in ("HOST:PORT", "[IPV6]:PORT", "unix:PATH", "fd://N", "LISTEN_FDS"):
        assert form in text


def test_main_returns_status_in_process(capsys):
    assert main(["--port", "abc"]) == 2
    err = capsys.readouterr().err
    assert err == "fastwsgi: error: --port must be an integer 0-65535, got 'abc'\n"
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == "fastwsgi %s" % fastwsgi.__version__
