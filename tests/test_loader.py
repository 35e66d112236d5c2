"""load_app: real modules written to a temporary directory and imported."""

import os
import subprocess
import sys
import textwrap

import pytest

from fastwsgi.errors import AppLoadError, FastWSGIError
from fastwsgi.loader import load_app



@pytest.fixture
def project(tmp_path, monkeypatch):
    """A temporary project directory as the cwd; modules imported from it
    are removed from sys.modules afterwards, and sys.path is restored."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", os.getcwd())])
    before = set(sys.modules)

    def write(relpath, source):
        path = tmp_path / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
        return path

    yield write
    for name in set(sys.modules) - before:
        module = sys.modules.get(name)
        if str(getattr(module, "__file__", "") or "").startswith(str(tmp_path)):
            del sys.modules[name]


def load_error(spec):
    with pytest.raises(AppLoadError) as info:
        load_app(spec)
    exc = info.value
    message = str(exc)
    assert "\n" not in message and message
    assert exc.__cause__ is None  # nothing chained that would print a traceback
    return message


APP_MODULE = """\
def app(environ, start_response):
    return [b"app"]

def create_app(*args, **kwargs):
    def made(environ, start_response):
        return [b"made"]
    made.args = args
    made.kwargs = kwargs
    return made

class Holder:
    class inner:
        @staticmethod
        def wsgi(environ, start_response):
            return [b"inner"]

holder = Holder()
not_callable = "a string"
number = 42
"""


def test_module_attribute(project):
    project("myapp.py", APP_MODULE)
    app = load_app("myapp:app")
    assert app(None, None) == [b"app"]


def test_factory_without_arguments(project):
    project("myapp.py", APP_MODULE)
    app = load_app("myapp:create_app()")
    assert app(None, None) == [b"made"] and app.args == () and app.kwargs == {}


def test_factory_with_literal_arguments(project):
    project("myapp.py", APP_MODULE)
    app = load_app("myapp:create_app('x', 2, debug=True, opts={'a': [1, None]}, t=(1,), n=-1.5)")
    assert app.args == ("x", 2)
    assert app.kwargs == {"debug": True, "opts": {"a": [1, None]}, "t": (1,), "n": -1.5}


def test_dotted_attribute_path(project):
    project("myapp.py", APP_MODULE)
    assert load_app("myapp:holder.inner.wsgi")(None, None) == [b"inner"]


def test_package_module(project):
    project("pkg/__init__.py", "")
    project("pkg/sub/__init__.py", "")
    project("pkg/sub/wsgi.py", APP_MODULE)
    assert load_app("pkg.sub.wsgi:app")(None, None) == [b"app"]


def test_bare_module_prefers_application_then_app(project):
    project("both.py", "def application(e, s): return [b'application']\ndef app(e, s): return [b'app']\n")
    project("only_app.py", "def app(e, s): return [b'app']\n")
    assert load_app("both")(None, None) == [b"application"]
    assert load_app("only_app")(None, None) == [b"app"]


def test_bare_module_without_either(project):
    project("neither.py", "def handler(e, s): pass\n")
    assert load_error("neither") == (
        "module 'neither' has neither 'application' nor 'app'; name the callable,"
        " e.g. 'neither:NAME'")


def test_spec_whitespace_is_ignored(project):
    project("myapp.py", APP_MODULE)
    assert load_app("  myapp : create_app( 1 )  ").args == (1,)


def test_cwd_is_put_first_on_sys_path(project, tmp_path):
    project("myapp.py", APP_MODULE)
    assert str(tmp_path) not in sys.path
    load_app("myapp:app")
    assert sys.path[0] == str(tmp_path)
    load_app("myapp:app")
    assert sys.path.count(str(tmp_path)) == 1


def test_cwd_on_path_in_a_fresh_interpreter(tmp_path):
    # A script run from elsewhere has its own directory, not the cwd, on
    # sys.path; the loader must still find modules in the cwd.
    project_dir = tmp_path / "project"
    project_dir.mkdir()
    (project_dir / "freshapp.py").write_text("def app(e, s): return [b'fresh']\n")
    script = tmp_path / "elsewhere" / "run.py"
    script.parent.mkdir()
    script.write_text(textwrap.dedent("""\
        import os, sys
        assert os.getcwd() not in sys.path
        from fastwsgi.loader import load_app
        print(load_app("freshapp:app")(None, None))
        print(sys.path[0] == os.getcwd())
    """))
    out = subprocess.run([sys.executable, str(script)], cwd=str(project_dir),
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["[b'fresh']", "True"]


@pytest.mark.parametrize("spec, why", [
    ("", "no app spec given"),
    ("   ", "no app spec given"),
    (":app", "the module name before ':' is missing"),
    ("myapp:", "nothing after ':'"),
    ("myapp.py", "give a module name, not a file path"),
    ("src/myapp:app", "give a module name, not a file path"),
    ("my-app:app", "'my-app' is not a module name"),
    ("myapp:1 +", "is not a name or a call"),
    ("myapp:app[0]", "is not a name, a dotted name or a call of one"),
    ("myapp:create_app().wsgi", "is not a name, a dotted name or a call of one"),
    ("myapp:create_app(x)", "factory arguments must be literals"),
    ("myapp:create_app(open('f'))", "factory arguments must be literals"),
    ("myapp:create_app(*a)", "*args are not supported"),
    ("myapp:create_app(**kw)", "**kwargs are not supported"),
])
def test_malformed_spec(project, spec, why):
    project("myapp.py", APP_MODULE)
    message = load_error(spec)
    assert why in message
    if spec.strip():
        assert message.startswith("malformed app spec %r" % spec)
        assert "MODULE:NAME" in message


def test_malformed_spec_does_not_import(project, tmp_path):
    project("sideeffect.py", "open('imported', 'w').close()\napp = lambda e, s: []\n")
    load_error("sideeffect:app(x)")
    assert not (tmp_path / "imported").exists()


def test_missing_module(project):
    message = load_error("nosuchmodule:app")
    assert message.startswith("no module named 'nosuchmodule';")
    assert "directory" in message


def test_missing_submodule_and_package(project):
    project("pkg/__init__.py", "")
    assert load_error("pkg.nosuch:app").startswith("no module named 'pkg.nosuch';")
    assert load_error("nopkg.wsgi:app").startswith(
        "no module named 'nopkg' (needed for 'nopkg.wsgi');")


def test_error_raised_while_importing(project):
    project("broken.py", "import os\n\nx = y + 1\n")
    assert load_error("broken:app") == (
        "importing 'broken' failed: NameError: name 'y' is not defined (broken.py, line 3)")


def test_missing_dependency_is_not_reported_as_missing_module(project):
    project("needsdep.py", "import os\nimport not_installed_dep_qq\n")
    assert load_error("needsdep:app") == (
        "importing 'needsdep' failed: ModuleNotFoundError: No module named"
        " 'not_installed_dep_qq' (needsdep.py, line 2)")


def test_innermost_user_frame_is_reported(project):
    project("pkg/__init__.py", "")
    project("pkg/helpers.py", "def setup():\n    return {}['missing']\n")
    project("pkg/wsgi.py", "from pkg.helpers import setup\n\nsetup()\n")
    message = load_error("pkg.wsgi:app")
    assert message == (
        "importing 'pkg.wsgi' failed: KeyError: 'missing' (%s, line 2)"
        % os.path.join("pkg", "helpers.py"))


def test_library_frames_are_skipped(project):
    # The exception is raised deep inside the json module; the location
    # reported is the user's line that called it.
    project("usesjson.py", "import json\n\n\njson.loads('{bad')\n")
    message = load_error("usesjson")
    assert message.startswith("importing 'usesjson' failed: JSONDecodeError: ")
    assert message.endswith("(usesjson.py, line 4)")


def test_syntax_error(project):
    project("badsyntax.py", "x = 1\ndef f(:\n    pass\n")
    message = load_error("badsyntax:app")
    assert message.startswith("importing 'badsyntax' failed: SyntaxError: ")
    assert message.endswith("(badsyntax.py, line 2)")


def test_system_exit_during_import(project):
    project("exits.py", "import sys\nsys.exit('bye')\n")
    assert load_error("exits:app") == (
        "importing 'exits' failed: SystemExit: bye (exits.py, line 2)")


def test_missing_attribute(project):
    project("myapp.py", APP_MODULE)
    message = load_error("myapp:ap")
    assert message.startswith("module 'myapp' has no attribute 'ap' (did you mean 'app'?)")
    assert load_error("myapp:zzz_nothing_like_it") == (
        "module 'myapp' has no attribute 'zzz_nothing_like_it'; check the name after"
        " ':' in 'myapp:zzz_nothing_like_it'")
    assert load_error("myapp:holder.nope.wsgi").startswith(
        "'myapp:holder' has no attribute 'nope'")


def test_attribute_lookup_raising(project):
    project("prop.py", "class C:\n    @property\n    def app(self):\n        raise RuntimeError('no')\nc = C()\n")
    message = load_error("prop:c.app")
    assert message == "getting 'prop:c.app' failed: RuntimeError: no (prop.py, line 4)"


@pytest.mark.parametrize("name, type_name", [("not_callable", "str"), ("number", "int")])
def test_not_callable(project, name, type_name):
    project("myapp.py", APP_MODULE)
    message = load_error("myapp:%s" % name)
    assert message.startswith("'myapp:%s' is not a WSGI application: it is not callable"
                              " (its type is %s)" % (name, type_name))


def test_not_callable_factory(project):
    project("myapp.py", APP_MODULE)
    assert load_error("myapp:number()").startswith(
        "'myapp:number' is not callable (its type is int), so it cannot be called as a factory")


def test_factory_raises(project):
    project("factory.py", """\
        def create_app(mode):
            if mode == "bad":
                raise ValueError("unknown mode " + mode)
            return None
    """)
    assert load_error("factory:create_app('bad')") == (
        "calling \"factory:create_app('bad')\" failed: ValueError: unknown mode bad"
        " (factory.py, line 3)")
    message = load_error("factory:create_app()")
    assert message.startswith("calling 'factory:create_app()' failed: TypeError: ")
    assert "mode" in message


def test_factory_returns_non_callable(project):
    project("factory.py", "def create_app(mode):\n    return None\n")
    assert load_error("factory:create_app(1)") == (
        "'factory:create_app(1)' returned a NoneType, not a WSGI application;"
        " make the factory return the app")


def test_app_load_error_is_a_fastwsgi_error(project):
    with pytest.raises(FastWSGIError):
        load_app("nosuchmodule")
