# cython: language_level=3
"""The fastwsgi core: one event loop, its connections, and the WSGI calls.

Theory of operation. A Server owns an fw_loop (csrc/fw_loop.h) and the listening
sockets the Python layer opened. serve() waits in the loop without the GIL, gets
back an array of fired events and dispatches each one here, so no exception ever
unwinds through C. A connection moves through these states (the one table):

    READ_HEAD --head parsed, body follows--> READ_BODY --body complete--> IN_APP
    READ_HEAD --head parsed, no body-------> IN_APP
    IN_APP    --app returned---------------> WRITE
    WRITE     --response sent, keep-alive--> READ_HEAD (pipelined bytes parsed at once)
    WRITE     --response sent, close-------> closed
    any       --protocol error-------------> CLOSING (error answer, then drain, close)
    any       --peer gone / timeout--------> closed

The whole body is received before the app is called (memory up to a threshold,
then an unlinked temporary file), so a slow client never stalls the loop and
wsgi.input never blocks. While a connection is in IN_APP or WRITE we stop reading
from it, which bounds what a pipelining client can make us buffer. The response
iterable is pulled one chunk at a time, only when the previous one has left, so
memory per connection stays bounded whatever the response size.

With --threads N (N > 1) a connection whose request is fully read goes to a
pool thread instead, which runs the app and sends the response while the loop
serves the others; the loop takes the connection back after it (pool.pxi).

Timeouts live in TimerQueues, one per kind of wait, each sorted by deadline.
"""
import logging
import os
import sys

cimport cython

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.exc cimport PyErr_CheckSignals
from libc.errno cimport EAGAIN, EINTR, EMFILE, ENFILE
from libc.stdint cimport uint64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcmp, memcpy, memmove, memset
from posix.fcntl cimport F_GETFL, F_SETFL, O_NONBLOCK, fcntl
from posix.time cimport CLOCK_MONOTONIC, clock_gettime, timespec
from posix.unistd cimport close, read, write

from fastwsgi cimport cchunked, cerrors, cio, cloop, cparser
from fastwsgi.proxy import TrustedProxies

log = logging.getLogger("fastwsgi")

# Connection states (see the table above).
cdef enum:
    S_READ_HEAD = 0
    S_READ_BODY = 1
    S_IN_APP = 2
    S_WRITE = 3
    S_CLOSING = 4
    S_CLOSED = 5

cdef extern from "Python.h":
    # PyList_SetSlice with no items: deletes list[low:high]
    int list_delete_front "PyList_SetSlice"(object lst, Py_ssize_t low, Py_ssize_t high,
                                            void *no_items) except -1

# Events taken per wait, kept small for fairness under load. Level-triggered
# epoll puts each fd it reports back on its ready list at once, so in a batch
# that takes every ready connection, the ones answered last are polled again
# before their clients can send the next request, drop out, and rejoin behind
# everyone: they wait two batches. When more are ready than a batch takes,
# each is polled again only after the others had their turn. Against 256
# (benchmarks/run.sh --baseline, 50 connections, noisy machine): p99 json
# 1.33 -> 1.18 ms, hello 788 -> 683 us; p50 hello 296 -> 338 us; CPU within noise.
DEF MAX_EVENTS = 16
DEF READ_CHUNK = 65536                    # bytes asked of one recv while reading a body
DEF INITIAL_RBUF = 8192                   # a read buffer as first taken
DEF SPARE_RBUFS = 64                      # idle read buffers the server keeps for reuse
DEF ACCEPT_BATCH = 64                     # accepts per readiness event, then others get a turn
DEF ACCEPT_BACKOFF = 0.1                  # seconds accepting pauses after EMFILE
DEF PIPELINE_BATCH = 32                   # pipelined requests answered before yielding
DEF LINGER_SECONDS = 2.0                  # how long an error answer waits for the client
DEF LINGER_DISCARD = 1048576              # bytes drained from a client we are closing
DEF UNREGISTERED = 0x100                  # conn.watching: the fd is not in the loop (new, or pooled)

include "body.pxi"
include "environ.pxi"
include "response.pxi"
include "accesslog.pxi"
include "pool.pxi"


cdef class TimerQueue:
    def __cinit__(self, double timeout):
        self.timeout = timeout

    cdef void push(self, Connection conn, double now):
        """(Re)start conn's wait in this queue: it goes to the tail."""
        if conn.timer_queue is not None:
            conn.timer_queue.unlink(conn)
        if self.timeout <= 0:
            return
        conn.deadline = now + self.timeout
        conn.timer_queue = self
        conn.timer_prev = self.tail
        conn.timer_next = None
        if self.tail is None:
            self.head = conn
        else:
            self.tail.timer_next = conn
        self.tail = conn

    cdef void unlink(self, Connection conn):
        if conn.timer_prev is None:
            self.head = conn.timer_next
        else:
            conn.timer_prev.timer_next = conn.timer_next
        if conn.timer_next is None:
            self.tail = conn.timer_prev
        else:
            conn.timer_next.timer_prev = conn.timer_prev
        conn.timer_prev = None
        conn.timer_next = None
        conn.timer_queue = None


@cython.freelist(256)                      # churned connections reuse these objects
cdef class Connection:
    def __cinit__(self, Server server, int fd, str remote_addr, str remote_port):
        self.server = server
        self.fd = fd
        self.remote_addr = remote_addr
        self.remote_port = remote_port
        self.state = S_READ_HEAD
        self.watching = UNREGISTERED          # the server's watch() registers it
        self.out = []

    def __dealloc__(self):
        free(self.rbuf)


cdef object LISTENER = object()           # by_fd marker of a listening socket
cdef object DEFERRED_LISTENER = object()  # the same, with deferred accept: requests come with it


cdef double monotonic():
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec + ts.tv_nsec * 1e-9


cdef str port_text(int port):
    """REMOTE_PORT's text ("" for a unix socket): str(port) would build an
    int first, on every connection."""
    cdef char digits[8]
    cdef Py_ssize_t n
    if port <= 0:
        return ""
    n = decimal_digits(port, digits + sizeof(digits))
    return PyUnicode_DecodeLatin1(digits + sizeof(digits) - n, n, NULL)


cdef int set_nonblocking(int fd) except -1:
    cdef int flags = fcntl(fd, F_GETFL)
    if flags < 0 or fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0:
        raise OSError("fcntl failed on the wake-up pipe")
    return 0


cdef class Server:
    """Serves one WSGI app on already-listening sockets.

    Server(app, sockets, config, base_environ, access_log=None): sockets are
    listening socket.socket objects (the caller keeps ownership and closes
    them); config carries the limits, timeouts, trusted proxies and the
    number of threads that run requests (see fastwsgi.config); base_environ
    holds the per-server environ keys (SERVER_NAME, SERVER_PORT, wsgi.errors,
    ...); access_log is None, an AccessLog (written after every turn of the
    loop, and flushed by close()), or a callable called as
    access_log(environ, status_code, body_bytes, seconds) after each response.
    """

    def __cinit__(self):
        self.wake_r = -1
        self.wake_w = -1

    def __init__(self, app, sockets, config, base_environ, access_log=None):
        cdef int deferred
        if not callable(app):
            raise TypeError("the WSGI app must be callable")
        self.app = app
        self.access_log = access_log
        self.listeners = list(sockets)
        self.listener_fds = set()
        self.by_fd = []
        self.loop = cloop.fw_loop_create()
        if self.loop == NULL:
            raise OSError("cannot create the event loop")
        self.events = <cloop.fw_event_t *>malloc(MAX_EVENTS * sizeof(cloop.fw_event_t))
        self.limits.max_request_line = config.max_request_line
        self.limits.max_header_count = config.max_header_count
        self.limits.max_head_bytes = config.max_head_bytes
        self.header_slots = <cparser.fw_header_t *>malloc(
            (config.max_header_count + 1) * sizeof(cparser.fw_header_t))
        self.path_scratch = <char *>malloc(config.max_request_line + 1)
        self.spare_rbufs = <char **>malloc(SPARE_RBUFS * sizeof(char *))
        if (self.events == NULL or self.header_slots == NULL or self.path_scratch == NULL
                or self.spare_rbufs == NULL):
            raise MemoryError()
        self.max_body_size = config.max_body_size
        self.spool_threshold = config.spool_threshold
        self.max_chunk_extension = config.max_chunk_extension
        self.max_trailer_bytes = config.max_trailer_bytes
        self.head_timers = TimerQueue(config.head_timeout)
        self.body_timers = TimerQueue(config.body_timeout)
        self.write_timers = TimerQueue(config.write_timeout)
        self.idle_timers = TimerQueue(config.keepalive_timeout)
        self.linger_timers = TimerQueue(LINGER_SECONDS)
        self.timer_queues = [self.head_timers, self.body_timers, self.write_timers,
                             self.idle_timers, self.linger_timers]
        self.write_timeout_ms = <int>(config.write_timeout * 1000) if config.write_timeout > 0 else -1
        self.graceful_timeout = config.graceful_timeout
        self.field_keys = new_field_keys()
        self.update_clock()

        self.wake_r, self.wake_w = os.pipe()   # close-on-exec, unlike pipe(2)
        set_nonblocking(self.wake_r)
        set_nonblocking(self.wake_w)
        self.check(cloop.fw_loop_add(self.loop, self.wake_r, cloop.FW_READABLE))

        for sock in self.listeners:
            fd = sock.fileno()
            sock.setblocking(False)
            deferred = cio.fw_io_prepare_listener(fd, config.listener_defer_accept())
            self.check(deferred)
            self.listener_fds.add(fd)
            self.reserve_fd(fd)
            self.by_fd[fd] = DEFERRED_LISTENER if deferred else LISTENER
            self.check(cloop.fw_loop_add(self.loop, fd, cloop.FW_READABLE))
        self.accepting = True
        self.accept_resume_at = -1
        self.drain_until = -1
        self.max_connections = config.max_connections
        self.environ_template = make_environ_template(base_environ, config.threads > 1)
        proxies = TrustedProxies(config.forwarded_allow_ips)
        self.trust_all_peers = proxies.trust_all
        self.trusted_peers = proxies.peers
        self.rewrite_forwarded = proxies.rewrite
        self.pending = []
        self.completed = []
        if config.threads > 1:
            self.pool = RequestPool(config.threads)

    def __dealloc__(self):
        if self.loop != NULL:
            cloop.fw_loop_destroy(self.loop)
        free(self.events)
        free(self.header_slots)
        free(self.path_scratch)
        free_field_keys(self.field_keys)
        if self.spare_rbufs != NULL:
            while self.spare_rbuf_count:
                self.spare_rbuf_count -= 1
                free(self.spare_rbufs[self.spare_rbuf_count])
            free(self.spare_rbufs)
        if self.wake_r >= 0:
            close(self.wake_r)
        if self.wake_w >= 0:
            close(self.wake_w)

    cdef int check(self, int rc) except -1:
        if rc < 0:
            raise OSError(-rc, "event loop: " + os.strerror(-rc))
        return 0

    @property
    def backend(self):
        return cloop.fw_loop_backend().decode()

    @property
    def connection_count(self):
        """Client connections open now."""
        return self.open_connections

    def stop(self, close_listeners=False, keep_idle=False):
        """Ask serve() to return. Safe from any thread and from signal handlers.
        With close_listeners the listening sockets are closed as the drain
        begins, so the kernel queues no more connections for this server (on
        an SO_REUSEPORT address the other sockets get them); it never accepts
        again.

        With keep_idle, idle keep-alive connections are not closed: each stays
        until its next request, answered with Connection: close, or until its
        keep-alive timeout. Closing one could lose a request the client sends
        at that very moment, which a proxy does not resend if it is a POST.
        A stop() without keep_idle, even during such a drain, closes them."""
        if close_listeners:
            self.release_listeners = True
        self.keep_idle = keep_idle and (self.keep_idle or not self.stopping)
        self.stopping = True
        if self.wake_w >= 0:
            write(self.wake_w, b"x", 1)

    @property
    def draining(self):
        """True from stop() until a serve() call has finished the drain it
        asks for: a drain cut short by max_seconds, max_requests or timeout
        goes on in the next serve() call."""
        return self.stopping

    def serve(self, timeout=None, max_requests=0, max_seconds=None):
        """Run the loop until stop(), or until max_requests responses are done
        (0: no limit), or until timeout seconds pass with nothing to do, or
        once max_seconds have passed however busy it is (the loop checks
        between events: an app call that blocks holds it).
        After stop() it stops accepting, closes idle connections and finishes
        the requests in flight (for up to graceful_timeout seconds) first.
        Returns the number of responses completed."""
        cdef int n, i, wait_ms
        cdef double give_up = -1
        cdef double slice_end = -1
        cdef double until
        cdef bint drained = False
        cdef long long done_before = self.requests_done
        if self.closed:
            raise ValueError("the server is closed")
        self.requests_limit = (self.requests_done + max_requests) if max_requests > 0 else 0
        self.limit_reached = False
        if timeout is not None:
            give_up = monotonic() + timeout
        if max_seconds is not None:
            slice_end = monotonic() + max_seconds
        self.install_wakeup_fd()
        try:
            while not self.limit_reached:
                if self.stopping:
                    if self.drain_until < 0:
                        self.drain_until = self.now + self.graceful_timeout
                        self.begin_drain()
                    elif self.idle_kept and not self.keep_idle:
                        self.close_idle_connections()    # a stop() that closes them came since
                    if self.now >= self.drain_until or not self.has_busy_connections():
                        drained = True
                        break
                wait_ms = 0 if self.pending else self.next_timeout_ms()
                until = give_up if slice_end < 0 or 0 <= give_up < slice_end else slice_end
                if until >= 0:
                    left = <int>((until - monotonic()) * 1000)
                    if left <= 0:
                        break
                    if wait_ms < 0 or left < wait_ms:
                        wait_ms = left
                with nogil:
                    n = cloop.fw_loop_wait(self.loop, self.events, MAX_EVENTS, wait_ms)
                self.update_clock()
                if n < 0:
                    if n == -EINTR:
                        PyErr_CheckSignals()
                        continue
                    self.check(n)
                for i in range(n):
                    if self.limit_reached:
                        break                     # level-triggered: the rest fire again later
                    self.dispatch(self.events[i].fd, self.events[i].events)
                if self.pending and not self.limit_reached:
                    self.run_pending()
                self.expire_timers()
                if self.access_log is not None:
                    flush_access_log(self, n < MAX_EVENTS)
                if give_up >= 0 and n > 0:
                    give_up = monotonic() + timeout   # the timeout is for idleness
        finally:
            if drained:                               # a stop() ends with its drain
                self.stopping = False                 # first: a stop() during the flush stays
                self.keep_idle = False
                self.idle_kept = False
                self.drain_until = -1
                self.end_drain()
            if self.access_log is not None:
                flush_access_log(self, True)
            self.restore_wakeup_fd()
        return self.requests_done - done_before

    cdef int begin_drain(self) except -1:
        """Stop accepting and drop idle keep-alive connections (unless
        keep_idle); requests in flight go on (their responses say Connection:
        close), and so do new connections whose first request has not arrived
        yet (the client had no sign of the stop, and head_timeout bounds the
        wait) and requests already received on an idle connection."""
        self.set_accepting(False)
        if self.release_listeners:
            for fd in list(self.listener_fds):
                self.accept_all(fd)     # closing would reset what waits in the queue
            self.forget_listeners()
            for sock in self.listeners:
                sock.close()
            self.listeners = []
        if self.keep_idle:
            self.idle_kept = True
        else:
            self.close_idle_connections()
        return 0

    cdef int close_idle_connections(self) except -1:
        cdef Connection conn
        self.idle_kept = False
        for entry in list(self.by_fd):
            if type(entry) is Connection:
                conn = <Connection>entry
                if conn.state == S_READ_HEAD and conn.timer_queue is self.idle_timers:
                    # A request may wait unread in the socket: closing would
                    # reset it, so read first and serve what came.
                    on_readable(self, conn)
                    if conn.state == S_READ_HEAD and conn.timer_queue is self.idle_timers:
                        self.close_connection(conn)
        return 0

    cdef int end_drain(self) except -1:
        if not self.closed:
            self.maybe_resume_accepting()
        return 0

    cdef bint has_busy_connections(self):
        cdef Connection conn
        for entry in self.by_fd:
            if type(entry) is not Connection:
                continue
            conn = <Connection>entry
            if conn.state == S_READ_BODY or conn.state == S_IN_APP or conn.state == S_WRITE:
                return True
            if conn.state == S_READ_HEAD and (conn.timer_queue is not self.idle_timers or self.idle_kept):
                return True                     # a request begun, a new connection's first, or kept idle
        return False

    cdef install_wakeup_fd(self):
        # In the main thread, route signals to our pipe so Ctrl-C or SIGTERM wakes
        # the wait even when the kernel delivers the signal to another thread.
        import signal, threading
        self.previous_wakeup_fd = None
        if threading.current_thread() is threading.main_thread():
            try:
                self.previous_wakeup_fd = signal.set_wakeup_fd(self.wake_w, warn_on_full_buffer=False)
            except ValueError:
                self.previous_wakeup_fd = None

    cdef restore_wakeup_fd(self):
        import signal
        if self.previous_wakeup_fd is not None:
            signal.set_wakeup_fd(self.previous_wakeup_fd)
            self.previous_wakeup_fd = None

    def close(self):
        """Close every client connection (calling pending iterables' close()).
        The listening sockets stay the caller's to close."""
        if self.closed:
            return
        self.closed = True
        for entry in list(self.by_fd):
            if type(entry) is Connection:
                if (<Connection>entry).pooled:
                    self.orphan(entry)
                else:
                    self.close_connection(entry)
        self.completed = []                       # closed above with the others
        if self.pool is not None:
            self.pool.stop()
        self.forget_listeners()
        self.listeners = []
        if type(self.access_log) is AccessLog:
            self.access_log.close()

    # -- clock and Date --------------------------------------------------------

    cdef int run_pending(self) except -1:
        """Go on with connections that still hold buffered pipelined requests."""
        cdef Connection conn
        ready, self.pending = self.pending, []
        for conn in ready:
            if conn.state == S_READ_HEAD:
                process_input(self, conn)
            if conn.rpos == conn.rlen:
                self.give_back_rbuf(conn)
        return 0

    cdef void update_clock(self):
        self.now = monotonic()

    cdef bytes current_date_header(self):
        cdef long second = current_unix_second()
        if second != self.date_second:
            # header before second: a pool thread that looks in between formats
            # the header again rather than taking the old one as current
            self.date_header = format_date_header(second)
            self.date_second = second
        return self.date_header

    # -- events ------------------------------------------------------------------

    cdef int dispatch(self, int fd, unsigned events) except -1:
        cdef Connection conn
        cdef char drain[256]
        if fd == self.wake_r:
            while read(self.wake_r, drain, sizeof(drain)) > 0:
                pass
            if self.completed:
                take_back_pooled(self)
            PyErr_CheckSignals()
            return 0
        if fd >= len(self.by_fd):
            return 0
        entry = self.by_fd[fd]
        if entry is None:
            return 0
        if entry is LISTENER or entry is DEFERRED_LISTENER:
            return self.accept_all(fd)
        conn = <Connection>entry
        if events & cloop.FW_WRITABLE:
            if conn.state == S_WRITE:
                continue_response(self, conn)
                if conn.state == S_READ_HEAD and conn.rlen > conn.rpos:
                    process_input(self, conn)               # pipelined requests behind it
            elif conn.state == S_CLOSING and conn.out:
                flush_closing(self, conn)
        if events & cloop.FW_READABLE and conn.state != S_CLOSED:
            on_readable(self, conn)
        if conn.rpos == conn.rlen:
            self.give_back_rbuf(conn)
        return 0

    # -- read buffers ------------------------------------------------------------
    # A connection holds a read buffer only while it holds unconsumed bytes (a
    # partial head or body, pipelined requests). Idle keep-alive connections,
    # the most numerous kind, hold none, and churned connections reuse spare
    # buffers instead of calling malloc and free.

    cdef int take_rbuf(self, Connection conn) except -1:
        if conn.rbuf != NULL:
            return 0
        if self.spare_rbuf_count:
            self.spare_rbuf_count -= 1
            conn.rbuf = self.spare_rbufs[self.spare_rbuf_count]
        else:
            conn.rbuf = <char *>malloc(INITIAL_RBUF)
            if conn.rbuf == NULL:
                raise MemoryError()
        conn.rcap = INITIAL_RBUF
        return 0

    cdef void give_back_rbuf(self, Connection conn):
        """Drop conn's buffer, and whatever it still holds."""
        if conn.rbuf == NULL:
            return
        if conn.rcap == INITIAL_RBUF and self.spare_rbuf_count < SPARE_RBUFS:
            self.spare_rbufs[self.spare_rbuf_count] = conn.rbuf
            self.spare_rbuf_count += 1
        else:
            free(conn.rbuf)                     # grown for a big head or body: not kept
        conn.rbuf = NULL
        conn.rcap = conn.rlen = conn.rpos = conn.parsed_upto = 0

    cdef int accept_all(self, int lfd) except -1:
        """Take waiting connections, up to ACCEPT_BATCH. From a deferred-accept
        listener each one's request is almost always there already: it is read
        and answered before the fd is registered with the loop, so a connection
        that closes after one response is never registered at all (no
        epoll_ctl, and a cheaper close)."""
        cdef bint read_first = self.by_fd[lfd] is DEFERRED_LISTENER
        cdef char ip[64]
        cdef int port = 0
        cdef int fd, i
        cdef Connection conn
        for i in range(ACCEPT_BATCH):
            if self.limit_reached:
                return 0                          # max_requests answered: the rest are not ours
            if self.open_connections >= self.max_connections:
                self.set_accepting(False)         # the rest wait in the backlog
                return 0
            fd = cio.fw_io_accept(lfd, ip, sizeof(ip), &port)
            if fd < 0:
                if fd == -EMFILE or fd == -ENFILE:
                    log.warning("out of file descriptors at %d connections; new connections "
                                "wait in the backlog (raise ulimit -n or lower --max-connections)",
                                self.open_connections)
                    self.set_accepting(False)
                    self.accept_resume_at = self.now + ACCEPT_BACKOFF
                return 0
            conn = Connection(self, fd, ip.decode("ascii"), port_text(port))
            conn.peer_trusted = self.trust_all_peers or conn.remote_addr in self.trusted_peers
            self.reserve_fd(fd)
            self.by_fd[fd] = conn
            self.open_connections += 1
            self.head_timers.push(conn, self.now)
            if read_first:
                on_readable(self, conn)
                if conn.rpos == conn.rlen:
                    self.give_back_rbuf(conn)
            # What the response did not register (a partial or no request yet):
            if conn.watching == UNREGISTERED and not conn.pooled:
                if self.watch(conn, cloop.FW_READABLE) < 0:
                    self.close_connection(conn)   # the loop cannot take it (epoll's watch limit)
        return 0

    cdef void reserve_fd(self, int fd):
        """Make by_fd long enough to hold fd."""
        if fd >= len(self.by_fd):
            self.by_fd.extend([None] * (fd + 64 - len(self.by_fd)))

    cdef void set_accepting(self, bint on):
        """Watch the listening sockets or not: while not, new connections wait
        in the kernel's backlog and the accepted ones keep being served."""
        if on == self.accepting:
            return
        self.accepting = on
        for fd in self.listener_fds:
            cloop.fw_loop_modify(self.loop, fd, cloop.FW_READABLE if on else 0)

    cdef void forget_listeners(self):
        """Take the listening sockets out of the loop for good."""
        for fd in self.listener_fds:
            cloop.fw_loop_delete(self.loop, fd)
            self.by_fd[fd] = None
        self.listener_fds.clear()

    cdef void maybe_resume_accepting(self):
        if (not self.accepting and not self.stopping and self.accept_resume_at < 0
                and self.open_connections < self.max_connections):
            self.set_accepting(True)

    cdef int watch(self, Connection conn, unsigned mask):
        """Watch conn for mask; 0, or -errno when the loop refused."""
        cdef int rc = 0
        if conn.watching != mask and conn.state != S_CLOSED:
            if conn.watching == UNREGISTERED:
                rc = cloop.fw_loop_add(self.loop, conn.fd, mask)    # new, or back from a pool thread
            else:
                rc = cloop.fw_loop_modify(self.loop, conn.fd, mask)
            if rc == 0:
                conn.watching = mask
        return rc

    cdef void close_connection(self, Connection conn):
        if conn.state == S_CLOSED:
            return
        conn.state = S_CLOSED
        if conn.timer_queue is not None:
            conn.timer_queue.unlink(conn)
        drop_request(conn)
        if conn.spare_response is not None:
            conn.spare_response.release()
            conn.spare_response = None
        conn.out = []
        self.give_back_rbuf(conn)
        cloop.fw_loop_close(self.loop, conn.fd)
        if conn.fd < len(self.by_fd) and self.by_fd[conn.fd] is conn:
            self.by_fd[conn.fd] = None
            self.open_connections -= 1
            self.maybe_resume_accepting()

    cdef void orphan(self, Connection conn):
        """close() of a connection a pool thread still has: shut its socket
        down now, forget it, and leave closing the fd to the thread (pool.pxi)."""
        conn.orphaned = True
        shutdown(conn.fd, SHUT_RDWR)
        self.give_back_rbuf(conn)
        self.by_fd[conn.fd] = None
        self.open_connections -= 1

    # -- timeouts ----------------------------------------------------------------

    cdef int next_timeout_ms(self):
        cdef double soonest = self.accept_resume_at
        cdef TimerQueue q
        for q in self.timer_queues:
            if q.head is not None and (soonest < 0 or q.head.deadline < soonest):
                soonest = q.head.deadline
        if soonest < 0:
            return 1000                           # wake up now and then for the Date cache
        if soonest <= self.now:
            return 0
        return min(1000, <int>((soonest - self.now) * 1000) + 1)

    cdef int expire_timers(self) except -1:
        cdef Connection conn
        if 0 <= self.accept_resume_at <= self.now:
            self.accept_resume_at = -1
            self.maybe_resume_accepting()
        while self.head_timers.head is not None and self.head_timers.head.deadline <= self.now:
            conn = self.head_timers.head
            if conn.rlen > conn.rpos:
                send_error(self, conn, cerrors.FW_E_TIMEOUT)   # 408 for a head that stalled
                if conn.timer_queue is self.head_timers:
                    self.head_timers.unlink(conn)
            else:
                self.close_connection(conn)                    # never said anything
        while self.body_timers.head is not None and self.body_timers.head.deadline <= self.now:
            conn = self.body_timers.head
            send_error(self, conn, cerrors.FW_E_TIMEOUT)
            if conn.timer_queue is self.body_timers:
                self.body_timers.unlink(conn)
        close_expired(self, self.write_timers)   # for these, expiry just closes
        close_expired(self, self.idle_timers)
        close_expired(self, self.linger_timers)
        return 0


cdef inline void close_expired(Server srv, TimerQueue q):
    while q.head is not None and q.head.deadline <= srv.now:
        srv.close_connection(q.head)


# -- reading ---------------------------------------------------------------------

cdef int on_readable(Server srv, Connection conn) except -1:
    cdef ssize_t got
    cdef size_t room
    cdef char *grown
    if conn.state == S_CLOSING:
        return drain_closing(srv, conn)
    if conn.state != S_READ_HEAD and conn.state != S_READ_BODY:
        return 0
    srv.take_rbuf(conn)
    if conn.rpos == conn.rlen:
        conn.rpos = conn.rlen = 0
        conn.parsed_upto = 0
    room = conn.rcap - conn.rlen
    if room < 1024 and conn.rpos > 0:
        compact(conn)
        room = conn.rcap - conn.rlen
    if room < 1024:
        # Reading a head: grow up to the head limit (the parser rejects beyond it).
        # Reading a body: the buffer is emptied into the body after each read.
        if conn.rcap < <size_t>srv.limits.max_head_bytes + 1024 or conn.state == S_READ_BODY:
            grown = <char *>realloc(conn.rbuf, conn.rcap * 2)
            if grown == NULL:
                srv.close_connection(conn)
                return 0
            conn.rbuf = grown
            conn.rcap *= 2
            room = conn.rcap - conn.rlen
        if room == 0:
            return send_error(srv, conn, cerrors.FW_E_HEADERS_TOO_LARGE)
    if conn.state == S_READ_BODY and room > READ_CHUNK:
        room = READ_CHUNK
    got = cio.fw_io_read(conn.fd, conn.rbuf + conn.rlen, room)
    if got == -EAGAIN:
        return 0
    if got <= 0:
        srv.close_connection(conn)              # peer closed, or reset; a cut body ends here
        return 0
    if conn.rlen == conn.rpos and conn.timer_queue is srv.idle_timers:
        srv.head_timers.push(conn, srv.now)     # an idle keep-alive connection starts a request
    conn.rlen += got
    if conn.state == S_READ_BODY:
        srv.body_timers.push(conn, srv.now)     # progress restarts the body timeout
    return process_input(srv, conn)


cdef void compact(Connection conn):
    cdef size_t left = conn.rlen - conn.rpos
    if conn.rpos:
        memmove(conn.rbuf, conn.rbuf + conn.rpos, left)
        conn.rpos = 0
        conn.rlen = left
        conn.parsed_upto = 0


cdef int process_input(Server srv, Connection conn) except -1:
    """Parse heads and bodies from the buffer and run the app for each complete
    request, in order, until the buffer runs dry or a response has to wait."""
    cdef int answered = 0
    while conn.state == S_READ_HEAD or conn.state == S_READ_BODY:
        if srv.limit_reached:
            if conn.rlen > conn.rpos:
                srv.pending.append(conn)          # served by the next serve() call
            return 0
        if conn.state == S_READ_HEAD:
            if conn.rlen == conn.rpos or not start_request(srv, conn):
                return 0
        if conn.state == S_READ_BODY:
            if not receive_body(srv, conn):
                return 0
        if conn.state == S_IN_APP:
            if srv.pool is not None:
                return hand_off(srv, conn)        # the rest of the buffer waits for its return
            call_app(srv, conn)
            answered += 1
            if answered >= PIPELINE_BATCH and conn.state == S_READ_HEAD and conn.rlen > conn.rpos:
                srv.pending.append(conn)          # let other connections have a turn first
                return 0
    return 0


cdef bint start_request(Server srv, Connection conn) except -1:
    """Parse a head at rpos. True when a request started (state moved on)."""
    cdef cparser.fw_request_t req
    cdef int rc
    cdef size_t avail = conn.rlen - conn.rpos
    memset(&req, 0, sizeof(req))
    req.headers = srv.header_slots
    req.header_capacity = srv.limits.max_header_count
    if conn.rpos and conn.rcap - conn.rlen < 1024:
        compact(conn)
    rc = cparser.fw_parse_request(conn.rbuf + conn.rpos, avail, conn.parsed_upto, &req, &srv.limits)
    if rc == cerrors.FW_INCOMPLETE:
        conn.parsed_upto = avail
        return False
    if rc < 0:
        send_error(srv, conn, rc)
        return False
    conn.environ = build_environ(srv, conn, &req, conn.rbuf + conn.rpos)
    conn.minor_version = req.minor_version
    conn.is_head = req.method.len == 4 and memcmp(conn.rbuf + conn.rpos + req.method.off, b"HEAD", 4) == 0
    if req.minor_version == 1:
        conn.client_keep_alive = not (req.flags & cparser.FW_REQ_CONN_CLOSE)
    else:
        conn.client_keep_alive = (req.flags & cparser.FW_REQ_CONN_KEEP_ALIVE) and not (req.flags & cparser.FW_REQ_CONN_CLOSE)
    conn.request_start = srv.now                # for the access log's request time
    conn.rpos += rc
    conn.parsed_upto = 0
    conn.body_kind = req.body
    conn.body_received = 0
    if req.body == cparser.FW_BODY_NONE or (req.body == cparser.FW_BODY_LENGTH and req.content_length == 0):
        conn.environ["wsgi.input"] = empty_input()
        conn.state = S_IN_APP
        return True
    if req.body == cparser.FW_BODY_LENGTH:
        if req.content_length > srv.max_body_size:
            send_error(srv, conn, cerrors.FW_E_BODY_TOO_LARGE)   # refused before reading it
            return False
        conn.body_left = req.content_length
        conn.body = BodySink(srv.spool_threshold, req.content_length)
    else:
        memset(&conn.chunked, 0, sizeof(conn.chunked))
        conn.chunked.max_extension_bytes = srv.max_chunk_extension
        conn.chunked.max_trailer_bytes = srv.max_trailer_bytes
        conn.body = BodySink(srv.spool_threshold, 0)
    conn.state = S_READ_BODY
    srv.body_timers.push(conn, srv.now)
    if (req.flags & cparser.FW_REQ_EXPECT_CONTINUE) and req.minor_version == 1 and conn.rlen == conn.rpos:
        # Accepted: ask for the body now (RFC 9110 §10.1.1); never before the checks above.
        send_interim_continue(conn)
    return True


cdef bint receive_body(Server srv, Connection conn) except -1:
    """Move buffered body bytes into the BodySink. True once the body is whole."""
    cdef size_t avail = conn.rlen - conn.rpos
    cdef size_t take, used
    cdef int rc
    cdef cparser.fw_slice_t data
    cdef BodySink sink = <BodySink>conn.body
    if conn.body_kind == cparser.FW_BODY_LENGTH:
        take = avail if avail < conn.body_left else <size_t>conn.body_left
        if take:
            sink.write(conn.rbuf + conn.rpos, take)
            conn.rpos += take
            conn.body_left -= take
        if conn.body_left:
            return False
    else:
        while True:
            rc = cchunked.fw_chunked_decode(&conn.chunked, conn.rbuf + conn.rpos,
                                            conn.rlen - conn.rpos, &used, &data)
            if rc == cchunked.FW_CHUNK_DATA:
                conn.body_received += data.len
                if conn.body_received > srv.max_body_size:
                    send_error(srv, conn, cerrors.FW_E_BODY_TOO_LARGE)
                    return False
                sink.write(conn.rbuf + conn.rpos + data.off, data.len)
                conn.rpos += used
                continue
            conn.rpos += used
            if rc == cchunked.FW_CHUNK_DONE:
                break
            if rc == cerrors.FW_INCOMPLETE:
                return False
            send_error(srv, conn, rc)
            return False
    conn.environ["wsgi.input"] = sink.finish()
    conn.body = None
    conn.state = S_IN_APP
    if conn.timer_queue is not None:
        conn.timer_queue.unlink(conn)
    return True


cdef int send_interim_continue(Connection conn) except -1:
    cdef ssize_t sent = write(conn.fd, b"HTTP/1.1 100 Continue\r\n\r\n", 25)
    # A fresh request's send buffer is empty, so 25 bytes always fit; anything
    # else means the peer is gone, which the next read will report.
    return 0


cdef int drain_closing(Server srv, Connection conn) except -1:
    """After an error answer: read and drop what the client still sends, so our
    close does not turn into a reset that destroys the answer in flight."""
    cdef char scratch[8192]                  # the bytes are dropped: no buffer taken
    cdef ssize_t got
    got = cio.fw_io_read(conn.fd, scratch, sizeof(scratch))
    if got == -EAGAIN:
        return 0
    conn.discarded += got if got > 0 else 0
    if got <= 0 or conn.discarded > LINGER_DISCARD:
        srv.close_connection(conn)
    return 0


# -- protocol errors -------------------------------------------------------------

cdef void drop_request(Connection conn):
    """Let go of the request in progress: its body, its environ, and its
    response iterable (close() called)."""
    if conn.response is not None:
        if conn.response.head_sent and conn.server.access_log is not None:
            log_response(conn.server, conn, conn.response)   # cut short: still logged
        conn.response.close_result()
        conn.response = None
    if conn.body is not None:
        (<BodySink>conn.body).discard()
        conn.body = None
    conn.environ = None


cdef int send_error(Server srv, Connection conn, int code) except -1:
    """Answer a protocol error with its status and close: nothing after the bad
    request on this connection is processed."""
    cdef const char *reason
    cdef int status = cerrors.fw_error_status(code, &reason)
    cdef bytes text = reason
    body = text + b"\n"
    head = b"HTTP/1.1 %d %s\r\n%sServer: fastwsgi\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % (
        status, text, srv.current_date_header(), len(body))
    drop_request(conn)
    log.debug("%s:%s: answered %d %s", conn.remote_addr, conn.remote_port, status, text.decode())
    conn.out = [head, body]
    conn.out_off = 0
    conn.state = S_CLOSING
    srv.give_back_rbuf(conn)                 # nothing after the bad request is read
    conn.discarded = 0
    flush_closing(srv, conn)
    return 0


cdef int flush_closing(Server srv, Connection conn) except -1:
    cdef int rc = flush_out(srv, conn)
    if rc < 0:
        srv.close_connection(conn)
    elif conn.out:
        srv.watch(conn, cloop.FW_WRITABLE)
        srv.write_timers.push(conn, srv.now)
    else:
        shutdown_write(conn.fd)
        srv.watch(conn, cloop.FW_READABLE)
        srv.linger_timers.push(conn, srv.now)
    return 0


cdef extern from "<sys/socket.h>" nogil:
    int shutdown(int fd, int how)
    enum: SHUT_WR
    enum: SHUT_RDWR


cdef void shutdown_write(int fd):
    shutdown(fd, SHUT_WR)


cdef int flush_out(Server srv, Connection conn) except -2:
    """Send queued bytes. Returns 0 when all left, 1 when the socket is full,
    -1 when the peer is gone."""
    cdef cio.iovec iov[16]
    cdef int n
    cdef Py_ssize_t done
    cdef ssize_t sent
    cdef bytes chunk
    cdef Py_ssize_t size
    while conn.out:
        n = 0
        for chunk in conn.out:
            if n == 16:
                break
            size = PyBytes_GET_SIZE(chunk)
            if n == 0:
                iov[0].iov_base = PyBytes_AS_STRING(chunk) + conn.out_off
                iov[0].iov_len = size - conn.out_off
            else:
                iov[n].iov_base = PyBytes_AS_STRING(chunk)
                iov[n].iov_len = size
            n += 1
        sent = cio.fw_io_writev(conn.fd, iov, n)
        if sent == -EAGAIN:
            return 1
        if sent < 0:
            return -1
        # drop what left: whole chunks in one slice deletion, then a partial one
        done = 0
        while sent > 0:
            size = PyBytes_GET_SIZE(<bytes>conn.out[done]) - conn.out_off
            if sent >= size:
                sent -= size
                done += 1
                conn.out_off = 0
            else:
                conn.out_off += sent
                sent = 0
        list_delete_front(conn.out, 0, done, NULL)   # no slice object, unlike del out[:done]
    return 0


def loop_backend():
    """The name of the event loop backend this build uses."""
    return cloop.fw_loop_backend().decode()


def parse_head(bytes data, max_request_line=8190, max_header_count=100, max_head_bytes=65536):
    """Run the C request parser on data, for tests and tools.

    Returns (head_length, method, target, minor_version, headers, body, content_length)
    with headers as a list of (name, value) bytes pairs and body one of "none",
    "length", "chunked"; or (error_status, None, ...) with the HTTP status the
    server would answer; or None when the head is incomplete."""
    cdef cparser.fw_request_t req
    cdef cparser.fw_parse_limits_t limits
    cdef cparser.fw_header_t *slots
    cdef const char *buf = data
    cdef const char *reason
    cdef int rc
    limits.max_request_line = max_request_line
    limits.max_header_count = max_header_count
    limits.max_head_bytes = max_head_bytes
    slots = <cparser.fw_header_t *>malloc((max_header_count + 1) * sizeof(cparser.fw_header_t))
    if slots == NULL:
        raise MemoryError()
    try:
        memset(&req, 0, sizeof(req))
        req.headers = slots
        req.header_capacity = max_header_count
        rc = cparser.fw_parse_request(buf, len(data), 0, &req, &limits)
        if rc == cerrors.FW_INCOMPLETE:
            return None
        if rc < 0:
            return (cerrors.fw_error_status(rc, &reason), None, None, None, None, None, None)
        headers = [(data[slots[i].name.off:slots[i].name.off + slots[i].name.len],
                    data[slots[i].value.off:slots[i].value.off + slots[i].value.len])
                   for i in range(req.num_headers)]
        body = {cparser.FW_BODY_NONE: "none", cparser.FW_BODY_LENGTH: "length",
                cparser.FW_BODY_CHUNKED: "chunked"}[req.body]
        return (rc, data[req.method.off:req.method.off + req.method.len],
                data[req.target.off:req.target.off + req.target.len],
                req.minor_version, headers, body, req.content_length)
    finally:
        free(slots)


def decode_chunked(bytes data, max_extension_bytes=1024, max_trailer_bytes=8192):
    """Run the C chunked decoder over data, for tests and tools.

    Returns ("done", body, consumed), ("incomplete", body so far, consumed), or
    (error_status, None, consumed)."""
    cdef cchunked.fw_chunked_t dec
    cdef cparser.fw_slice_t piece
    cdef const char *buf = data
    cdef size_t pos = 0, used = 0
    cdef const char *reason
    cdef int rc
    memset(&dec, 0, sizeof(dec))
    dec.max_extension_bytes = max_extension_bytes
    dec.max_trailer_bytes = max_trailer_bytes
    body = []
    while True:
        rc = cchunked.fw_chunked_decode(&dec, buf + pos, len(data) - pos, &used, &piece)
        if rc == cchunked.FW_CHUNK_DATA:
            body.append(data[pos + piece.off:pos + piece.off + piece.len])
        pos += used
        if rc == cchunked.FW_CHUNK_DATA:
            continue
        if rc == cchunked.FW_CHUNK_DONE:
            return ("done", b"".join(body), pos)
        if rc == cerrors.FW_INCOMPLETE:
            return ("incomplete", b"".join(body), pos)
        return (cerrors.fw_error_status(rc, &reason), None, pos)
