"""--threads N: requests run in a pool of threads while the loop serves other
connections, with the guarantees of the inline mode. Time bounds are wide
(this machine has 2 noisy cores): each one tells side by side from one after
the other by a factor of two or more."""
import json
import signal
import socket
import threading
import time

import pytest

import test_app_contract
import test_http
import test_limits
import test_robustness
from conftest import STOP_TIMEOUT
from http_client import get, is_closed, read_replies, read_reply, recv_until_closed, request
from processes import fd_count, wait_for, wait_workers


@pytest.fixture
def pooled(server):
    return server("apps:app", "--threads", "4")


def exit_status(srv):
    """The exit status of a server that is stopping by itself (a second
    signal could kill it while it closes)."""
    return srv.proc.wait(STOP_TIMEOUT)


def slow_running(srv):
    return json.loads(request(srv, get("/slow-running")).body)["running"]


def in_background(target, *args):
    """Run target(*args) in a thread; join() returns what it returned or raises what it raised."""
    outcome = {}

    def run():
        try:
            outcome["value"] = target(*args)
        except BaseException as exc:        # handed to the test by join()
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()

    def join(timeout=30):
        thread.join(timeout)
        assert not thread.is_alive(), "still running after %s s" % timeout
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    return join


def start_slow_requests(srv, count, seconds):
    """count requests to /slow on their own connections, each in a thread; returns
    once all of them are in the app, with a join() per request for its reply."""
    joins = [in_background(request, srv, get("/slow?s=%s" % seconds), "GET", 30) for _ in range(count)]
    wait_for("%d slow requests running" % count, lambda: slow_running(srv) == count, timeout=10)
    return joins


def assert_eight_slow_requests_run_side_by_side(srv):
    started = time.monotonic()
    joins = [in_background(request, srv, get("/slow?s=0.5")) for _ in range(8)]
    replies = [join() for join in joins]
    took = time.monotonic() - started
    assert [r.body for r in replies] == [b"slow"] * 8
    assert took < 2.0, "8 requests of 0.5 s took %.2f s (one after the other: 4 s)" % took


def test_eight_slow_requests_run_side_by_side(server):
    srv = server("apps:app", "--threads", "8")
    assert "(1 process, 8 threads, " in srv.stderr_text()
    assert_eight_slow_requests_run_side_by_side(srv)


def test_each_worker_has_a_pool(server):
    srv = server("apps:app", "--workers", "2", "--threads", "4")
    wait_workers(srv.pid, 2)
    assert "(2 workers, 4 threads, " in srv.stderr_text()
    assert_eight_slow_requests_run_side_by_side(srv)


def test_a_fast_request_is_not_held_by_slow_ones(server):
    srv = server("apps:app", "--threads", "8")
    joins = start_slow_requests(srv, 4, 3)
    started = time.monotonic()
    reply = request(srv, get("/status?body=fast"))
    took = time.monotonic() - started
    assert reply.body == b"fast"
    assert took < 1.0, "a fast request took %.2f s behind 4 slow ones" % took
    assert slow_running(srv) == 4                      # it really went by them
    assert [join().body for join in joins] == [b"slow"] * 4


def test_inline_mode_holds_the_worker_during_a_slow_request(server):
    # What README says of the default: one slow request holds its worker.
    srv = server("apps:app", "--threads", "1")
    assert "(1 process, 1 thread, " in srv.stderr_text()
    join = in_background(request, srv, get("/slow?s=1.5"))
    wait_for("the app's log line", lambda: "slow: sleeping" in srv.stderr_text(), timeout=10)
    started = time.monotonic()
    assert request(srv, get("/status?body=fast")).body == b"fast"
    assert time.monotonic() - started > 0.5
    assert join().body == b"slow"


@pytest.mark.parametrize("args, env, multithread", [
    (("--threads", "1"), None, False),
    (("--threads", "4"), None, True),
    ((), {"FASTWSGI_THREADS": "3"}, True),
], ids=["inline", "flag", "env"])
def test_wsgi_multithread_says_whether_requests_run_in_threads(server, args, env, multithread):
    srv = server("apps:app", *args, env=env)
    environ = json.loads(request(srv, get("/environ")).body)
    assert environ["wsgi.multithread"] is multithread


def test_keep_alive_and_pipelining_go_through_the_pool_in_order(pooled):
    body = b"posted"
    raw = (get("/slow?s=0.3")
           + b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
           + get("/stream?n=2")
           + get("/status?body=last"))
    with pooled.connect() as sock:
        sock.sendall(raw)
        replies = read_replies(sock, 4)
        assert [reply.header("connection") for reply in replies] == [None] * 4   # kept alive
        assert [reply.body for reply in replies] == [b"slow", body, b"chunk0\nchunk1\n", b"last"]
        sock.sendall(get("/status?body=again"))             # the same connection, later
        assert read_reply(sock).body == b"again"


def test_many_pipelined_requests_through_the_pool(pooled):
    test_http.test_many_pipelined_requests_in_one_write(pooled)


# The inline mode's own tests of the app contract, run through the pool.

def test_app_exception_is_answered_500(pooled):
    test_app_contract.test_app_bugs_answer_500_and_are_logged(pooled, "/raise")
    test_app_contract.test_500_keeps_the_connection_usable(pooled)


def test_exception_mid_stream_drops_the_connection(pooled):
    test_app_contract.test_exception_mid_stream_closes_the_connection(pooled)


def test_write_callable(pooled):
    test_http.test_write_callable_then_iterable(pooled)
    test_app_contract.test_exc_info_after_sending_reraises_and_closes(pooled)


def test_file_wrapper_goes_out_by_sendfile(pooled):
    test_http.test_file_wrapper_sends_the_whole_file(pooled)
    test_http.test_file_wrapper_without_fileno_is_iterated(pooled)


def test_big_response_to_a_slow_reader_keeps_memory_flat(pooled):
    test_robustness.test_100_mib_response_read_slowly_keeps_memory_flat(pooled)


def test_client_that_stops_reading_hits_the_write_timeout(server):
    srv = server("apps:app", "--threads", "4", "--write-timeout", "1")
    test_limits.test_client_that_stops_reading_is_dropped(srv)


def test_close_is_called_when_the_client_disconnects_mid_response(pooled):
    test_app_contract.test_close_is_called_when_the_client_disconnects_mid_response(pooled)


# Stopping, and clients that go away.

def test_sigterm_lets_slow_requests_in_flight_finish(server):
    srv = server("apps:app", "--threads", "4")
    joins = start_slow_requests(srv, 3, 2)
    srv.proc.send_signal(signal.SIGTERM)
    replies = [join() for join in joins]
    assert [r.status for r in replies] == [200] * 3
    assert [r.body for r in replies] == [b"slow"] * 3
    assert [r.header("connection") for r in replies] == ["close"] * 3
    assert exit_status(srv) == 0
    assert "fastwsgi stopped" in srv.stderr_text()


def test_graceful_timeout_closes_a_request_still_running(server):
    # The pool thread cannot be stopped, but its connection is shut down at
    # once and the process exits: it does not wait for the app.
    srv = server("apps:app", "--threads", "2", "--graceful-timeout", "1")
    with srv.connect(timeout=20) as sock:
        sock.sendall(get("/slow?s=60"))
        wait_for("the slow request running", lambda: slow_running(srv) == 1, timeout=10)
        started = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        assert recv_until_closed(sock) == b""                # no answer: the connection ends
        assert exit_status(srv) == 0
        assert time.monotonic() - started < 15


def test_clients_gone_during_slow_requests_leak_no_descriptor(pooled):
    request(pooled, get("/status?body=warm"))
    baseline = fd_count(pooled.pid)
    for i in range(12):
        sock = pooled.connect()
        sock.sendall(get("/slow?s=0.3"))
        if i % 2:
            # a reset, as a vanished peer
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()
    wait_for("no slow request running and the open fds back to the %d before" % baseline,
             lambda: slow_running(pooled) == 0 and fd_count(pooled.pid) <= baseline, timeout=10)
    assert request(pooled, get("/status?body=alive")).body == b"alive"


def test_idle_keep_alive_connection_after_a_pooled_request_times_out(server):
    srv = server("apps:app", "--threads", "2", "--keepalive-timeout", "1")
    with srv.connect() as sock:
        sock.sendall(get("/slow?s=0.1"))
        assert read_reply(sock).body == b"slow"
        idle_from = time.monotonic()
        assert is_closed(sock, timeout=10)             # the idle timer runs again after the pool
    assert 0.8 < time.monotonic() - idle_from < 3     # the 1 s set, not the 5 s default
