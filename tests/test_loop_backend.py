"""The installed build runs the event loop backend it was meant to.

setup.py picks epoll on Linux, kqueue on macOS and the BSDs, poll elsewhere, and
FASTWSGI_LOOP=poll builds the portable backend anywhere. CI runs the whole
suite once more on a poll build and says so in EXPECTED_LOOP_BACKEND, so a
build that quietly kept epoll fails here instead of passing on the wrong loop."""
import os
import sys

import fastwsgi._core


def expected_backend():
    named = os.environ.get("EXPECTED_LOOP_BACKEND")
    if named:
        return named
    if sys.platform.startswith("linux"):
        return "epoll"
    if sys.platform == "darwin" or "bsd" in sys.platform or sys.platform.startswith("dragonfly"):
        return "kqueue"
    return "poll"


def test_the_extension_was_built_with_the_expected_backend():
    assert fastwsgi._core.loop_backend() == expected_backend(), (
        "fastwsgi/_core was built with the %s loop; set EXPECTED_LOOP_BACKEND if "
        "that is what you built" % fastwsgi._core.loop_backend())


def test_a_running_server_says_which_loop_it_runs(server):
    srv = server("apps:hello")
    # ", poll loop)" and not "poll loop", which "epoll loop" contains
    assert ", %s loop)" % expected_backend() in srv.stderr_text()
