"""Load the WSGI application named by an APP spec.

    pkg.mod:app                      attribute `app` of module pkg.mod
    pkg.mod:obj.attr                 dotted attribute path
    pkg.mod:create_app()             call a factory ...
    pkg.mod:create_app('x', debug=True)   ... with literal arguments (ast)
    pkg.mod                          attribute `application`, else `app`

The current working directory goes first on sys.path (as gunicorn does), so
`fastwsgi myapp:app` works from the project directory.  Every failure is an
AppLoadError with one line, e.g.

    importing 'myapp' failed: NameError: name 'y' is not defined (myapp.py, line 3)
"""

import ast
import importlib
import os
import sys

from fastwsgi.errors import AppLoadError

__all__ = ["load_app"]

DEFAULT_NAMES = ("application", "app")

_SPEC_FORMS = "MODULE:NAME, MODULE:FACTORY(ARGS), MODULE:OBJ.ATTR or MODULE"


def _malformed(spec, reason):
    return AppLoadError("malformed app spec %r: %s; use %s" % (spec, reason, _SPEC_FORMS))


def _dotted(node):
    """["a", "b", "c"] for the expression a.b.c, None for anything else."""
    names = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    names.append(node.id)
    return names[::-1]


def _literal(spec, node):
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, RecursionError):
        raise _malformed(
            spec, "factory arguments must be literals (strings, numbers, True,"
            " False, None, lists, tuples, dicts), got %r" % ast.unparse(node)
        ) from None


def _parse_spec(spec):
    """Split a spec into (module, names, call) where call is None or
    (args, kwargs); names is None for a bare module."""
    if not isinstance(spec, str) or not spec.strip():
        raise AppLoadError("no app spec given; use %s" % _SPEC_FORMS)
    spec = spec.strip()
    module, sep, expr = spec.partition(":")
    module = module.strip()
    if not module:
        raise _malformed(spec, "the module name before ':' is missing")
    if module.endswith(".py") or "/" in module or "\\" in module:
        raise _malformed(
            spec, "give a module name, not a file path (e.g. 'myapp:app' for"
            " myapp.py in the current directory)")
    if not all(part.isidentifier() for part in module.split(".")):
        raise _malformed(spec, "%r is not a module name" % module)
    if not sep:
        return module, None, None
    expr = expr.strip()
    if not expr:
        raise _malformed(spec, "nothing after ':'")
    try:
        tree = ast.parse(expr, mode="eval").body
    except SyntaxError:
        raise _malformed(spec, "%r is not a name or a call" % expr) from None

    call = None
    if isinstance(tree, ast.Call):
        args, kwargs = [], {}
        for arg in tree.args:
            if isinstance(arg, ast.Starred):
                raise _malformed(spec, "*args are not supported in factory arguments")
            args.append(_literal(spec, arg))
        for kw in tree.keywords:
            if kw.arg is None:
                raise _malformed(spec, "**kwargs are not supported in factory arguments")
            kwargs[kw.arg] = _literal(spec, kw.value)
        call = (args, kwargs)
        tree = tree.func
    names = _dotted(tree)
    if names is None:
        raise _malformed(spec, "%r is not a name, a dotted name or a call of one" % expr)
    return module, names, call

# -- one-line descriptions of exceptions ------------------------------------------


def _library_dirs():
    try:
        import site          # error path only: kept out of startup
        import sysconfig
    except ImportError:      # a worker whose user cannot read the stdlib: say less
        return set()

    dirs = set()
    paths = sysconfig.get_paths()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        if paths.get(key):
            dirs.add(os.path.realpath(paths[key]))
    try:
        dirs.update(os.path.realpath(p) for p in site.getsitepackages())
    except AttributeError:  # old virtualenv's site module
        pass
    user_site = getattr(site, "USER_SITE", None)
    if user_site:
        dirs.add(os.path.realpath(user_site))
    return tuple(d + os.sep for d in dirs)


def _is_user_file(filename, library_dirs, cwd):
    path = os.path.realpath(filename)
    if path.startswith(cwd + os.sep):
        return True
    return not path.startswith(library_dirs)


def _show_path(filename, cwd):
    path = os.path.realpath(filename)
    if path.startswith(cwd + os.sep):
        return os.path.relpath(path, cwd)
    return filename


def _location(exc):
    """"file.py, line 3" for the innermost frame of the user's code in the
    exception's traceback (or of any code, if no frame is the user's)."""
    import traceback     # error path only

    cwd = os.path.realpath(os.getcwd())
    if isinstance(exc, SyntaxError) and exc.filename and exc.lineno:
        if not exc.filename.startswith("<"):
            return "%s, line %d" % (_show_path(exc.filename, cwd), exc.lineno)
    here = os.path.realpath(__file__)
    frames = [
        frame for frame in traceback.extract_tb(exc.__traceback__)
        if not frame.filename.startswith("<")  # <frozen importlib._bootstrap>
        and os.path.realpath(frame.filename) != here
    ]
    if not frames:
        return None
    library_dirs = _library_dirs()
    user_frames = [f for f in frames if _is_user_file(f.filename, library_dirs, cwd)]
    frame = (user_frames or frames)[-1]
    return "%s, line %d" % (_show_path(frame.filename, cwd), frame.lineno)


def _describe(exc):
    """"NameError: name 'y' is not defined (app.py, line 3)" """
    if isinstance(exc, SyntaxError):
        message = exc.msg or ""
    else:
        message = str(exc)
    message = " ".join(message.split())
    if len(message) > 300:
        message = message[:297] + "..."
    text = type(exc).__name__ + (": " + message if message else "")
    where = _location(exc)
    return text + (" (%s)" % where if where else "")


def _type_name(obj):
    return type(obj).__name__


# -- loading -------------------------------------------------------------------------


def _ensure_cwd_on_path():
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)


def _import(spec, module_name):
    _ensure_cwd_on_path()
    importlib.invalidate_caches()
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing and (module_name == missing or module_name.startswith(missing + ".")):
            needed = "" if missing == module_name else " (needed for %r)" % module_name
            raise AppLoadError(
                "no module named %r%s; run fastwsgi from the directory that holds it"
                " (it is put on sys.path) or fix the module name in %r"
                % (missing, needed, spec)
            ) from None
        raise AppLoadError("importing %r failed: %s" % (module_name, _describe(exc))) from None
    except (Exception, SystemExit) as exc:
        raise AppLoadError("importing %r failed: %s" % (module_name, _describe(exc))) from None


def load_app(spec):
    """Return the WSGI callable named by `spec`; AppLoadError on failure."""
    module_name, names, call = _parse_spec(spec)
    module = _import(spec, module_name)

    if names is None:
        for name in DEFAULT_NAMES:
            if hasattr(module, name):
                names = [name]
                break
        else:
            raise AppLoadError(
                "module %r has neither 'application' nor 'app'; name the"
                " callable, e.g. '%s:NAME'" % (module_name, module_name)
            )

    obj = module
    for i, name in enumerate(names):
        where = "%s:%s" % (module_name, ".".join(names[:i])) if i else None
        try:
            obj = getattr(obj, name)
        except AttributeError:
            if where is None:
                import difflib    # error path only
                close = difflib.get_close_matches(name, dir(module), n=1)
                hint = " (did you mean %r?)" % close[0] if close else ""
                raise AppLoadError(
                    "module %r has no attribute %r%s; check the name after ':' in %r"
                    % (module_name, name, hint, spec)
                ) from None
            raise AppLoadError(
                "%r has no attribute %r; check %r" % (where, name, spec)) from None
        except (Exception, SystemExit) as exc:
            raise AppLoadError(
                "getting %r failed: %s"
                % ("%s:%s" % (module_name, ".".join(names[: i + 1])), _describe(exc))
            ) from None

    target = "%s:%s" % (module_name, ".".join(names))
    if call is not None:
        if not callable(obj):
            raise AppLoadError(
                "%r is not callable (its type is %s), so it cannot be called as a"
                " factory; check %r" % (target, _type_name(obj), spec))
        args, kwargs = call
        called = "%s:%s" % (module_name, spec.partition(":")[2].strip())
        try:
            obj = obj(*args, **kwargs)
        except (Exception, SystemExit) as exc:
            raise AppLoadError("calling %r failed: %s" % (called, _describe(exc))) from None
        if not callable(obj):
            raise AppLoadError(
                "%r returned a %s, not a WSGI application; make the factory"
                " return the app" % (called, _type_name(obj)))
        return obj

    if not callable(obj):
        raise AppLoadError(
            "%r is not a WSGI application: it is not callable (its type is %s);"
            " point APP at the callable, e.g. 'mod:app'" % (target, _type_name(obj)))
    return obj
