#!/bin/sh
# Re-run the whole fastwsgi benchmark with one command:
#   benchmarks/run.sh [--quick] [--rounds N] [--duration S] [--servers a,b] ...
#   benchmarks/run.sh --memory --instructions     (+ memory and callgrind figures)
# 1. installs what it needs (apt: wrk, libev-dev, nginx, valgrind, a C compiler;
#    a venv in benchmarks/.venv with the checkout's fastwsgi and the servers of
#    requirements.txt; a venv in benchmarks/.venv-fastwsgi009 with the PyPI
#    fastwsgi 0.0.9 of requirements-fastwsgi009.txt), printing a note for
#    anything that fails to install;
# 2. runs run.py with that venv's Python (all arguments are passed on).
# --skip-install skips step 1.  BENCH_PYTHON picks the interpreter for the venvs.
# --baseline REF also builds fastwsgi from git REF (into benchmarks/.baseline)
# and runs it as the server fastwsgi-baseline, interleaved with the checkout:
#   benchmarks/run.sh --baseline HEAD~1 --servers fastwsgi,fastwsgi-baseline --workloads json
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
VENV="$HERE/.venv"
VENV009="$HERE/.venv-fastwsgi009"
PY=${BENCH_PYTHON:-python3}

skip_install=0
info_only=0
baseline=""
want_baseline=0
for arg in "$@"; do
    if [ "$want_baseline" -eq 1 ]; then
        baseline=$arg
        want_baseline=2
        continue
    fi
    case "$arg" in
        --skip-install) skip_install=1 ;;
        --list|-h|--help) skip_install=1; info_only=1 ;;
        --baseline) want_baseline=1 ;;
        --baseline=*) baseline=${arg#--baseline=}; want_baseline=2 ;;
    esac
done
# Checked before anything is installed: a missing REF would only show at the end.
case "$want_baseline:$baseline" in
    1:*|2:|2:-*) echo "error: --baseline needs a git commit, e.g. --baseline HEAD~1" >&2; exit 2 ;;
esac

note() { printf '  note: %s\n' "$*"; }

install_apt() {
    missing=""
    command -v wrk >/dev/null 2>&1 || missing="$missing wrk"
    command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing="$missing nginx"
    dpkg -s libev-dev >/dev/null 2>&1 || missing="$missing libev-dev"
    command -v valgrind >/dev/null 2>&1 || missing="$missing valgrind"
    # uwsgi and fastwsgi 0.0.9 build from source: a compiler and Python.h.
    command -v cc >/dev/null 2>&1 || missing="$missing gcc libc6-dev"
    inc=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])' 2>/dev/null)
    [ -n "$inc" ] && [ ! -f "$inc/Python.h" ] && missing="$missing python3-dev"
    [ -z "$missing" ] && return 0
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "apt: installing$missing"
    if ! { $sudo apt-get update -qq &&
           DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing; } \
           >"$HERE/.apt.log" 2>&1; then
        note "apt-get install$missing failed (see benchmarks/.apt.log); continuing"
    fi
}

# pip_lines VENV REQUIREMENTS LOG: install each requirement on its own line, so
# that one failing package (e.g. a build without a compiler) skips only itself.
pip_lines() {
    grep -v '^[[:space:]]*#' "$2" | grep -v '^[[:space:]]*$' |
    while read -r req; do
        if "$1/bin/python" -m pip install -q "$req" >>"$3" 2>&1; then
            echo "pip: $req ok"
        else
            note "pip install $req failed (see ${3#$ROOT/}); that server is skipped"
        fi
    done
}

install_venv009() {
    if [ ! -x "$VENV009/bin/python" ]; then
        echo "venv: creating $VENV009 with $PY (fastwsgi 0.0.9 from PyPI)"
        "$PY" -m venv "$VENV009" || { note "could not create $VENV009: fastwsgi-0.0.9 is skipped"; return 0; }
    fi
    : >"$VENV009/pip.log"
    pip_lines "$VENV009" "$HERE/requirements-fastwsgi009.txt" "$VENV009/pip.log"
}

install_venv() {
    if [ ! -x "$VENV/bin/python" ]; then
        echo "venv: creating $VENV with $PY"
        "$PY" -m venv "$VENV" || { echo "error: could not create $VENV" >&2; exit 1; }
    fi
    : >"$VENV/pip.log"
    pip_lines "$VENV" "$HERE/requirements.txt" "$VENV/pip.log"
    if [ -f "$ROOT/setup.py" ] || [ -f "$ROOT/pyproject.toml" ]; then
        # Build from a snapshot of the work tree (uncommitted changes included)
        # so that the build leaves no build/ or *.egg-info in the checkout and
        # never reuses stale objects from an earlier in-tree build.
        echo "pip: installing fastwsgi from $ROOT (snapshot of the work tree)"
        snap=$(mktemp -d "${TMPDIR:-/tmp}/fastwsgi-src.XXXXXX")
        if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
            # Tracked and untracked files, less what .gitignore ignores
            # (build output, generated C, *.so): what a commit would hold.
            (cd "$ROOT" && git ls-files -z -co --exclude-standard -- . ':!benchmarks' |
                tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -C "$snap" -xf -
        else
            tar -C "$ROOT" --exclude=./benchmarks --exclude=./build --exclude=./dist \
                --exclude='*.egg-info' --exclude=__pycache__ --exclude='*.so' \
                -cf - . | tar -C "$snap" -xf -
        fi
        if "$VENV/bin/python" -m pip install --force-reinstall --no-deps "$snap" \
               >"$VENV/fastwsgi-install.log" 2>&1; then
            echo "pip: fastwsgi ok"
        else
            # Never benchmark a stale build by mistake.
            "$VENV/bin/python" -m pip uninstall -y -q fastwsgi >/dev/null 2>&1
            note "pip install $ROOT failed: fastwsgi is skipped." \
                 "Last lines of benchmarks/.venv/fastwsgi-install.log:"
            tail -n 15 "$VENV/fastwsgi-install.log" | sed 's/^/    /'
        fi
        rm -rf "$snap"
    else
        "$VENV/bin/python" -m pip uninstall -y -q fastwsgi >/dev/null 2>&1
        note "no setup.py or pyproject.toml in $ROOT yet: fastwsgi not installed"
    fi
}

# install_baseline REF: fastwsgi as committed at REF, built into
# benchmarks/.baseline/SHA (kept: a second run with the same REF reuses it);
# run.py finds it through BENCH_BASELINE and names it by BENCH_BASELINE_REF.
install_baseline() {
    sha=$(git -C "$ROOT" rev-parse --verify --quiet "$1^{commit}") ||
        { echo "error: --baseline $1 is not a commit of $ROOT" >&2; exit 1; }
    short=$(git -C "$ROOT" rev-parse --short "$sha")
    dir="$HERE/.baseline/$sha"
    if [ ! -d "$dir/lib/fastwsgi" ]; then
        echo "pip: building fastwsgi at $short for fastwsgi-baseline"
        rm -rf "$dir" && mkdir -p "$dir/src"
        git -C "$ROOT" archive "$sha" | tar -C "$dir/src" -xf -
        if ! "$VENV/bin/python" -m pip install --no-deps --target "$dir/lib" "$dir/src" \
                 >"$dir/install.log" 2>&1; then
            tail -n 15 "$dir/install.log" | sed 's/^/    /'
            rm -rf "$dir/lib"
            echo "error: could not build fastwsgi at $short (log above)" >&2
            exit 1
        fi
    fi
    export BENCH_BASELINE="$dir/lib" BENCH_BASELINE_REF="$1 ($short)"
}

if [ "$skip_install" -eq 0 ]; then
    install_apt
    install_venv
    install_venv009
fi
[ -x "$VENV/bin/python" ] || { echo "error: no venv at $VENV (run without --skip-install)" >&2; exit 1; }
[ -n "$baseline" ] && [ "$info_only" -eq 0 ] && install_baseline "$baseline"

# The exact command, for the report.
BENCH_COMMAND="benchmarks/run.sh"
for arg in "$@"; do
    case "$arg" in
        *[!A-Za-z0-9_.,:=/-]*|'') BENCH_COMMAND="$BENCH_COMMAND '$arg'" ;;
        *) BENCH_COMMAND="$BENCH_COMMAND $arg" ;;
    esac
done
export BENCH_COMMAND
exec "$VENV/bin/python" "$HERE/run.py" "$@"
