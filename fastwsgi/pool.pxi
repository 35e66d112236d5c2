# --threads N (N > 1), for apps that block on I/O: a fully read request goes
# to a pool of N threads while the loop goes on serving other connections.
#
# The loop hands a connection over (hand_off): it stops watching the fd and
# takes it off every timer. A pool thread calls the app and sends the whole
# response itself (send_all), pulling the iterable only as fast as the socket
# takes it and waiting for writability without the GIL, so memory stays
# bounded and the write timeout holds as in the loop. Then it hands the
# connection back (hand_back) and wakes the loop through the self-pipe; the
# loop goes on with it as after an inline response (take_back_pooled): the
# access log, keep-alive, pipelined requests, or close.
#
# Ownership: while conn.pooled, its thread alone touches the request and the
# response (environ, response, out); the loop keeps the rest (read buffer,
# timers, by_fd) but does nothing with them, and only the loop changes Server
# state (the access log's buffer too), but for the Date cache, which a thread's
# response may refresh (Server.current_date_header). The GIL orders the two moments that
# decide who closes the fd, since no Python code runs inside either: a thread
# that finishes hands the connection back unless Server.close() marked it
# orphaned first; close() orphans only connections still pooled. An orphan's socket is shut down at
# once (the client sees the end, a blocked write fails) and its thread closes
# the fd when done with it, so the number is not reused while it writes.


# Imported with the core, which a master that switches workers to another
# --user loads before the switch (supervisor.run_master).
from queue import SimpleQueue
import threading


cdef class RequestPool:
    def __cinit__(self, int size):
        self.size = size
        self.jobs = SimpleQueue()            # C: get() waits without the GIL
        self.threads = []

    cdef int submit(self, Connection conn) except -1:
        if not self.threads:
            # Started on first use: a server made before a fork has no
            # threads to lose in the child.
            for i in range(self.size):
                thread = threading.Thread(target=self.work, name="fastwsgi-pool-%d" % i,
                                          daemon=True)
                thread.start()
                self.threads.append(thread)
        self.jobs.put(conn)
        return 0

    def work(self):
        """A pool thread: serve handed-over connections until told to stop."""
        while True:
            conn = self.jobs.get()
            if conn is None:
                return
            serve_pooled(<Connection>conn)

    cdef void stop(self):
        """Each thread stops after the jobs queued before this; none is waited for."""
        for thread in self.threads:
            self.jobs.put(None)
        self.threads = []


cdef int hand_off(Server srv, Connection conn) except -1:
    """Give conn, whose request is fully read, to the pool. Loop thread."""
    if conn.timer_queue is not None:
        conn.timer_queue.unlink(conn)
    # Off the loop altogether (a silent registration would still report a
    # reset peer, over and over); watch() puts it back.
    cloop.fw_loop_delete(srv.loop, conn.fd)
    conn.watching = UNREGISTERED
    conn.pooled = True
    return srv.pool.submit(conn)


cdef int serve_pooled(Connection conn) except -1:
    """A pool thread's turn with conn: run the app, send the response, close
    the iterable, hand the connection back."""
    cdef Server srv = conn.server
    conn.sent_whole = False
    try:
        if not conn.orphaned and run_app(srv, conn):
            conn.sent_whole = send_all(srv, conn)
    except BaseException as exc:
        log.exception("error serving %s:%s in a pool thread", conn.remote_addr, conn.remote_port)
        if not isinstance(exc, Exception):
            srv.stop()                       # SystemExit from the app stops the server, as inline
    if conn.response is not None:
        conn.response.close_result()         # here, as it may block; the loop's call is then a no-op
    hand_back(srv, conn)
    return 0


cdef bint send_all(Server srv, Connection conn) except -1:
    """Send the whole response from a pool thread. False when the connection
    must be dropped: the client went away or stopped reading for the write
    timeout, or the app failed mid-stream."""
    cdef int rc, ready
    while True:
        rc = send_some(srv, conn)
        if rc == SEND_DONE:
            return True
        if rc == SEND_DROP:
            return False
        if rc == SEND_BLOCKED:
            with nogil:
                ready = cio.fw_io_wait_writable(conn.fd, srv.write_timeout_ms)
            if ready <= 0:
                return False
        else:
            with nogil:
                pass                         # SEND_PAUSED: the loop may want the GIL now


cdef void hand_back(Server srv, Connection conn):
    """The thread is done with conn: back to the loop, or closed for good when
    Server.close() orphaned it. No Python code runs between the test and the
    append, so close() cannot orphan it in between."""
    if conn.orphaned:
        close_orphan(conn)
        return
    cdef bint loop_asleep = not srv.completed
    conn.pooled = False
    srv.completed.append(conn)
    if loop_asleep:                          # else a wake-up is on its way for the list
        write(srv.wake_w, b"p", 1)           # a full pipe means the loop wakes anyway


cdef void close_orphan(Connection conn):
    """What close_connection would have done, in the thread that holds conn;
    the loop already forgot it (Server.orphan). Nothing is logged: the server
    has closed."""
    conn.state = S_CLOSED
    conn.response = None
    conn.environ = None
    if conn.spare_response is not None:
        conn.spare_response.release()
        conn.spare_response = None
    conn.out = []
    close(conn.fd)


cdef int take_back_pooled(Server srv) except -1:
    """Go on with the connections pool threads handed back. Loop thread."""
    cdef Connection conn
    ready, srv.completed = srv.completed, []
    for conn in ready:
        if not conn.sent_whole:
            srv.close_connection(conn)       # logs a response cut short, as inline
            continue
        continue_response(srv, conn)         # all sent: straight to finish_response, as inline
        if conn.state == S_READ_HEAD and conn.rlen > conn.rpos:
            process_input(srv, conn)         # pipelined requests behind it
        if conn.rpos == conn.rlen:
            srv.give_back_rbuf(conn)
    return 0
