# The cdef classes of the core, declared once so each .pxi that works on them
# sees the same layout. Theory of operation: see the top of _core.pyx.
from libc.stdint cimport uint64_t
from posix.types cimport off_t

from fastwsgi.cchunked cimport fw_chunked_t
from fastwsgi.cloop cimport fw_event_t, fw_loop_t
from fastwsgi.cnames cimport fw_names_t
from fastwsgi.cparser cimport fw_header_t, fw_parse_limits_t, fw_request_t


cdef class TimerQueue:
    # Connections waiting under one timeout, oldest first. Every member got the
    # same timeout when it joined, so deadlines grow from head to tail and expiry
    # only ever looks at the head: no scan of all connections.
    cdef readonly double timeout           # seconds; <= 0 means never expire
    cdef Connection head
    cdef Connection tail

    cdef void push(self, Connection conn, double now)
    cdef void unlink(self, Connection conn)


cdef class RequestPool:
    # The threads of --threads N (pool.pxi), started on first use.
    cdef int size
    cdef object jobs                       # queue.SimpleQueue of Connections; None stops a thread
    cdef list threads

    cdef int submit(self, Connection conn) except -1
    cdef void stop(self)


cdef class Response:
    cdef Connection conn
    cdef object status                     # bytes "200 OK" once start_response validated it
    cdef int status_code
    cdef list headers                      # the app's checked (name, value) strs to send
    cdef long long content_length          # the body's length: the app's Content-Length, or ours; -1 if unknown
    cdef bint length_is_ours               # build_head writes Content-Length itself
    cdef bint app_wants_close              # app sent Connection: close
    cdef bint started                      # start_response was called
    cdef bint head_sent                    # status line is on its way to the client
    cdef bint chunked                      # we frame the body with chunked coding
    cdef bint body_allowed                 # False for HEAD, 1xx, 204, 304
    cdef bint keep_alive                   # connection stays open after this response
    cdef long long body_sent               # body bytes queued, without chunk framing
    cdef object result                     # the app's iterable; None once closed
    cdef object iterator
    cdef bint iteration_done
    cdef object start_response_method      # bound once per connection
    cdef object write_method
    cdef int sendfile_fd                   # >= 0 while a file_wrapper goes out by sendfile
    cdef off_t sendfile_offset
    cdef long long sendfile_left

    cdef void reset(self)
    cdef void release(self)
    cdef list check_headers(self, headers)
    cdef int finalize_head(self) except -1
    cdef bytes build_head(self)
    cdef void close_result(self)


cdef class Connection:
    cdef Server server
    cdef int fd
    cdef int state                         # S_* in _core.pyx
    cdef str remote_addr
    cdef str remote_port
    cdef bint peer_trusted                 # its forwarding headers may rewrite the environ
    # read buffer: bytes [rpos, rlen) are received and not yet consumed;
    # NULL while nothing is (Server.take_rbuf / give_back_rbuf)
    cdef char *rbuf
    cdef size_t rcap
    cdef size_t rlen
    cdef size_t rpos
    cdef size_t parsed_upto                # last_len for fw_parse_request
    # the request being received
    cdef dict environ
    cdef int minor_version
    cdef bint is_head
    cdef bint client_keep_alive
    cdef int body_kind
    cdef uint64_t body_left                # Content-Length bytes still to read
    cdef uint64_t body_received
    cdef size_t discarded                  # bytes drained while CLOSING
    cdef fw_chunked_t chunked
    cdef object body                       # BodySink while reading the body
    cdef double request_start              # loop time the head arrived (access log)
    # the response being sent
    cdef Response response
    cdef Response spare_response           # reused by each request on this connection
    cdef list out                          # bytes queued for the socket
    cdef size_t out_off                    # bytes of out[0] already sent
    cdef unsigned watching                 # FW_READABLE / FW_WRITABLE we asked for, or UNREGISTERED
    # --threads (pool.pxi)
    cdef bint pooled                       # a pool thread has it: the loop leaves it alone
    cdef bint orphaned                     # Server.close() gave up on it: its thread closes the fd
    cdef bint sent_whole                   # its thread sent the whole response (else: drop it)
    # timers
    cdef TimerQueue timer_queue
    cdef Connection timer_prev
    cdef Connection timer_next
    cdef double deadline


cdef class Server:
    cdef fw_loop_t *loop
    cdef fw_event_t *events
    cdef public object app                 # the WSGI callable; replaceable between requests
    cdef list listeners                    # the listening socket objects (kept alive)
    cdef set listener_fds
    cdef bint accepting                    # listeners are watched
    cdef double accept_resume_at           # after EMFILE: when to try again; -1 = not paused
    cdef int open_connections
    cdef int max_connections
    cdef list by_fd                        # fd -> Connection, LISTENER or None
    cdef int wake_r                        # self-pipe: stop() and signals wake the loop
    cdef int wake_w
    cdef bint stopping                     # stop() was called: drain, then return
    cdef bint release_listeners            # stop(close_listeners=True): close them as the drain begins
    cdef bint keep_idle                    # stop(keep_idle=True): idle keep-alive connections stay open
    cdef bint idle_kept                    # the drain began without closing them
    cdef double drain_until                # the drain's deadline; -1 = no drain begun
    cdef bint limit_reached                # serve(max_requests=N) has answered N
    cdef double graceful_timeout
    cdef object previous_wakeup_fd
    cdef bint closed
    cdef dict environ_template
    cdef bint trust_all_peers              # --forwarded-allow-ips '*'
    cdef object trusted_peers              # peer addresses, tested with `in` (fastwsgi.proxy)
    cdef object rewrite_forwarded          # environ -> None, for trusted forwarding headers
    cdef fw_names_t *field_keys            # field name -> environ key or None (owned refs)
    cdef fw_parse_limits_t limits
    cdef fw_header_t *header_slots         # scratch for the parser, max_header_count long
    cdef char *path_scratch                # scratch for percent-decoding PATH_INFO
    cdef char **spare_rbufs                # read buffers of INITIAL_RBUF bytes, unused
    cdef int spare_rbuf_count
    cdef uint64_t max_body_size
    cdef size_t spool_threshold
    cdef size_t max_chunk_extension
    cdef size_t max_trailer_bytes
    cdef TimerQueue head_timers
    cdef TimerQueue body_timers
    cdef TimerQueue write_timers
    cdef TimerQueue idle_timers
    cdef TimerQueue linger_timers
    cdef list timer_queues                 # the five above, in that order
    cdef int write_timeout_ms
    cdef object access_log                 # AccessLog, a callable, or None
    cdef bytes date_header
    cdef long date_second
    cdef double now
    cdef long long requests_done
    cdef long long requests_limit          # stop after this many (handle_request); 0 = no limit
    cdef list pending                      # connections with buffered requests to go on with
    cdef RequestPool pool                  # --threads N > 1; None: apps run on the loop thread
    cdef list completed                    # connections pool threads handed back

    cdef int check(self, int rc) except -1
    cdef int run_pending(self) except -1
    cdef int begin_drain(self) except -1
    cdef int close_idle_connections(self) except -1
    cdef int end_drain(self) except -1
    cdef bint has_busy_connections(self)
    cdef install_wakeup_fd(self)
    cdef restore_wakeup_fd(self)

    cdef void update_clock(self)
    cdef bytes current_date_header(self)
    cdef int accept_all(self, int lfd) except -1
    cdef void reserve_fd(self, int fd)
    cdef void set_accepting(self, bint on)
    cdef void forget_listeners(self)
    cdef void maybe_resume_accepting(self)
    cdef int dispatch(self, int fd, unsigned events) except -1
    cdef int expire_timers(self) except -1
    cdef int next_timeout_ms(self)
    cdef int watch(self, Connection conn, unsigned mask)
    cdef void close_connection(self, Connection conn)
    cdef void orphan(self, Connection conn)
    cdef int take_rbuf(self, Connection conn) except -1
    cdef void give_back_rbuf(self, Connection conn)
