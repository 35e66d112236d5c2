"""Build of the fastwsgi extension: the Cython core plus the C sources in csrc/."""
import os
import sys

from Cython.Build import cythonize
from setuptools import Extension, setup

CSRC = "csrc"


LOOP_BACKENDS = ("epoll", "kqueue", "poll")


def loop_backend_source():
    # One backend per platform behind csrc/fw_loop.h; FASTWSGI_LOOP overrides it
    # (CI builds with FASTWSGI_LOOP=poll to run the suite on the portable one).
    backend = os.environ.get("FASTWSGI_LOOP") or default_loop_backend()
    if backend not in LOOP_BACKENDS:
        sys.exit("FASTWSGI_LOOP=%s is not a loop backend; use one of: %s"
                 % (backend, ", ".join(LOOP_BACKENDS)))
    return os.path.join(CSRC, "fw_loop_%s.c" % backend)


def default_loop_backend():
    if sys.platform.startswith("linux"):
        return "epoll"
    if sys.platform == "darwin" or "bsd" in sys.platform or sys.platform.startswith("dragonfly"):
        return "kqueue"
    return "poll"


def compile_args():
    args = ["-O2", "-Wall", "-Wextra", "-Wno-unused-function", "-Wno-unused-parameter"]
    extra = os.environ.get("FASTWSGI_CFLAGS")  # e.g. "-fsanitize=address,undefined" for the ASan run
    return args + (extra.split() if extra else [])


core = Extension(
    "fastwsgi._core",
    sources=[
        "fastwsgi/_core.pyx",
        os.path.join(CSRC, "fw_errors.c"),
        os.path.join(CSRC, "fw_parser.c"),
        os.path.join(CSRC, "fw_chunked.c"),
        os.path.join(CSRC, "fw_url.c"),
        os.path.join(CSRC, "fw_io.c"),
        os.path.join(CSRC, "fw_names.c"),
        loop_backend_source(),
    ],
    include_dirs=[CSRC, "fastwsgi"],
    extra_compile_args=compile_args(),
    extra_link_args=(os.environ.get("FASTWSGI_LDFLAGS") or "").split(),
)

setup(
    ext_modules=cythonize(
        [core],
        language_level=3,
        compiler_directives={"boundscheck": False, "wraparound": False, "cdivision": True},
    ),
)
