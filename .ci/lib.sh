# Helpers for .ci/run: fresh virtual environments, the Pythons to test on, and
# test runs against an installed fastwsgi that cannot see the source tree.
# Sourced from the repository root.

# readable_by_all DIR: a+rx on DIR. Tests switch workers to the user nobody
# (--user), who then imports from the interpreter and the venv like a service
# user from a system Python; mktemp makes its directories 0700.
readable_by_all() {
    chmod a+rx "$1"
}

# interpreter_reachable PYTHON: nobody may traverse to PYTHON's installation,
# as to any system Python (pyenv keeps its Pythons under /root, mode 0700).
# Only the search bit is added, never listing.
interpreter_reachable() {
    local home
    home="$("$1" -c 'import sys; print(sys.base_prefix)')"
    case "$home" in
        /root/*) chmod o+x /root ;;
    esac
}

# fresh_venv PYTHON: a new virtual environment in a new temporary directory
# (readable by all), with an up-to-date pip; prints its path.
fresh_venv() {
    local dir parent
    parent="$(mktemp -d)"
    readable_by_all "$parent"
    dir="$parent/venv"
    interpreter_reachable "$1"
    "$1" -m venv "$dir"
    "$dir/bin/python" -m pip install --quiet --upgrade pip
    echo "$dir"
}

# supported_pythons: the CPython releases pyenv installed here that the project
# supports (requires-python >= 3.9), oldest first, one interpreter path a line.
supported_pythons() {
    local root version
    root="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"
    for version in $(ls "$root/versions" | grep -E '^3\.[0-9]+\.[0-9]+$' | sort -V); do
        if [ "$(echo "$version" | cut -d. -f2)" -ge 9 ] && [ -x "$root/versions/$version/bin/python" ]; then
            echo "$root/versions/$version/bin/python"
        fi
    done
}

# assert_installed_in VENV: fastwsgi and its extension import from VENV's
# site-packages when run from outside the source tree; says which build it is.
assert_installed_in() {
    (cd "$(mktemp -d)" && "$1/bin/python" -c '
import sysconfig, fastwsgi, fastwsgi._core
paths = sysconfig.get_paths()
for module, where in ((fastwsgi, "purelib"), (fastwsgi._core, "platlib")):
    assert module.__file__.startswith(paths[where]), \
        "%s imports from %s, not from %s" % (module.__name__, module.__file__, paths[where])
print("fastwsgi %s (%s loop) from %s" % (fastwsgi.__version__, fastwsgi._core.loop_backend(),
                                        fastwsgi.__file__))
')
}

# suite_outside_tree VENV: the whole pytest suite against the fastwsgi installed
# in VENV, from a copy of tests/ (and the examples/ they check) in a temporary directory, so nothing can import
# the source tree instead.
suite_outside_tree() {
    local venv="$1" dir
    assert_installed_in "$venv"
    dir="$(mktemp -d)"
    readable_by_all "$dir"      # workers running as --user nobody import the test apps from here
    cp -r tests examples "$dir/"
    (cd "$dir" && "$venv/bin/python" -m pytest -q -p no:cacheprovider tests)
}

# smoke_request VENV: one real request to the fastwsgi installed in VENV.
smoke_request() {
    local script
    script="$(pwd)/.ci/smoke_request.py"
    assert_installed_in "$1"
    (cd "$(mktemp -d)" && "$1/bin/python" "$script")
}
