# Calling the app and sending what it returns (PEP 3333): start_response and its
# checks, framing (Content-Length, chunked, or close-delimited), the write()
# callable, file_wrapper with sendfile, and closing the iterable exactly once.
import os
import stat as _stat

from cpython.exc cimport PyErr_Occurred
from cpython.ref cimport PyObject, Py_DECREF
from posix.types cimport off_t

cdef extern from "Python.h":
    PyObject *PyIter_Next(object iterator)      # NULL at the end, without raising

cdef extern from "<strings.h>" nogil:
    int strncasecmp(const char *a, const char *b, size_t n)


cdef int raise_current() except -1:
    """Let the exception already set by a C call propagate."""
    return -1

DEF CHUNKS_PER_TURN = 64                  # body chunks sent before other connections get a turn
DEF SENDFILE_STEP = 1048576

cdef extern from "fw_chars.h" nogil:
    int fw_is_tchar(unsigned char c)
    int fw_is_field_byte(unsigned char c)

DEF VALIDATED_CACHE = 512                 # distinct statuses remembered

cdef extern from "fw_pycompat.h":
    const unsigned char *fw_str_latin1(object s, Py_ssize_t *length)

# Apps send the same few statuses again and again: once checked and encoded,
# they are looked up instead of checked again.
cdef dict STATUS_LINES = {}               # status str -> (b"200 OK", 200)

# What a response field name means to the server (field_role()).
cdef enum:
    FIELD_PLAIN = 0                       # passed on as it is
    FIELD_CONTENT_LENGTH = 1              # passed on, and frames the body
    FIELD_CONNECTION = 2                  # ours; "close" is honoured
    FIELD_KEEP_ALIVE = 3                  # ours; dropped
    FIELD_HOP_BY_HOP = 4                  # ours alone: the app may not send it

class WSGIAppError(Exception):
    """The app broke a rule of PEP 3333; it is answered 500 and logged."""


cdef class FileWrapper:
    """wsgi.file_wrapper: iterates a file in blocks; the core sends a real file
    with sendfile(2) instead of iterating."""
    cdef readonly object filelike
    cdef readonly Py_ssize_t blksize

    def __init__(self, filelike, blksize=8192):
        self.filelike = filelike
        self.blksize = blksize

    def __iter__(self):
        return self

    def __next__(self):
        data = self.filelike.read(self.blksize)
        if data:
            return data
        raise StopIteration

    def close(self):
        close = getattr(self.filelike, "close", None)
        if close is not None:
            close()


cdef bytes latin1_field(str text, what, bint token):
    """text encoded as latin-1 after checking it is a token (field names) or holds
    no control character but HTAB (values, reason phrases): a CR or LF from the
    app must never reach the wire."""
    cdef bytes data
    cdef const unsigned char *p
    cdef Py_ssize_t i, n
    try:
        data = text.encode("latin-1")
    except UnicodeEncodeError:
        raise WSGIAppError("%s must be latin-1 text (PEP 3333), got %r" % (what, text)) from None
    p = <const unsigned char *>PyBytes_AS_STRING(data)
    n = PyBytes_GET_SIZE(data)
    if token and n == 0:
        raise WSGIAppError("%s is empty" % (what,))
    for i in range(n):
        if not (fw_is_tchar(p[i]) if token else fw_is_field_byte(p[i])):
            raise WSGIAppError("%s holds a character it may not: %r" % (what, text))
    return data


cdef tuple check_status(status):
    """(status line bytes, code) for a valid 'NNN Reason' status."""
    cached = STATUS_LINES.get(status)
    if cached is not None:
        return <tuple>cached
    if not isinstance(status, str):
        raise WSGIAppError("status must be a str, got %r" % (status,))
    if len(status) < 4 or not status[:3].isdigit() or not status[:3].isascii() or status[3] != " ":
        raise WSGIAppError("status must be 'NNN Reason', got %r" % (status,))
    result = (latin1_field(status, "status", False), int(status[:3]))
    if len(STATUS_LINES) < VALIDATED_CACHE:
        STATUS_LINES[status] = result
    return result


@cython.freelist(256)
cdef class Response:
    def __cinit__(self, Connection conn):
        self.conn = conn
        self.content_length = -1
        self.sendfile_fd = -1
        # Bound once: a connection's requests reuse this object (see reset()).
        self.start_response_method = self.start_response
        self.write_method = self.write

    cdef void reset(self):
        """Ready for the next request on the same connection."""
        self.status = None
        self.status_code = 0
        self.headers = None
        self.content_length = -1
        self.length_is_ours = False
        self.app_wants_close = False
        self.started = False
        self.head_sent = False
        self.chunked = False
        self.body_allowed = False
        self.keep_alive = False
        self.body_sent = 0
        self.result = None
        self.iterator = None
        self.iteration_done = False
        self.sendfile_fd = -1
        self.sendfile_offset = 0
        self.sendfile_left = 0

    cdef void release(self):
        """Break the cycles through the bound methods, when the connection ends."""
        self.start_response_method = None
        self.write_method = None

    def start_response(self, status, headers, exc_info=None):
        """PEP 3333 start_response: checks status and headers, returns write()."""
        if exc_info is not None:
            try:
                if self.head_sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.started:
            raise WSGIAppError("start_response() called a second time without exc_info")
        self.started = True
        self.status = None                # stays None if the checks below fail
        self.headers = None
        status_line, code = check_status(status)
        self.content_length = -1
        self.app_wants_close = False
        self.headers = self.check_headers(headers)
        self.status_code = code
        self.status = status_line
        return self.write_method

    cdef list check_headers(self, headers):
        """The app's fields to send, each a (name, value) tuple of latin-1-only
        strs that were checked here, byte by byte; build_head copies them
        straight from the strs. Fields the server owns are taken out."""
        cdef list fields = []
        cdef const unsigned char *name
        cdef const unsigned char *value
        cdef Py_ssize_t name_len = 0, value_len = 0
        cdef int role
        if type(headers) is not list:
            raise WSGIAppError("response headers must be a list, got %s" % type(headers).__name__)
        for item in headers:
            if type(item) is not tuple or len(<tuple>item) != 2:
                raise_bad_header(item)
            name_obj = (<tuple>item)[0]
            value_obj = (<tuple>item)[1]
            if type(name_obj) is not str or type(value_obj) is not str:
                raise_bad_header(item)
            name = fw_str_latin1(name_obj, &name_len)
            value = fw_str_latin1(value_obj, &value_len)
            if (name == NULL or value == NULL or not is_token(name, name_len)
                    or not is_field_value(value, value_len)):
                raise_bad_header(item)
            role = field_role(<const char *>name, name_len)
            if role == FIELD_PLAIN:
                fields.append(item)
            elif role == FIELD_CONTENT_LENGTH:
                self.content_length = parse_content_length(value_obj, value, value_len)
                fields.append(item)
            elif role == FIELD_CONNECTION:
                if "close" in [t.strip().lower() for t in (<str>value_obj).split(",")]:
                    self.app_wants_close = True
            elif role == FIELD_HOP_BY_HOP:
                raise WSGIAppError("hop-by-hop header %r is the server's to send (PEP 3333)"
                                   % (name_obj,))
        return fields

    def write(self, data):
        """The legacy write() callable: sends data before returning."""
        cdef Connection conn = self.conn
        cdef int rc
        if not self.started or self.status is None:
            raise WSGIAppError("write() called before a valid start_response()")
        queue_body(self, data)
        while conn.out:
            rc = flush_out(conn.server, conn)
            if rc < 0:
                raise ConnectionError("the client went away")
            if rc == 1:
                with nogil:
                    rc = cio.fw_io_wait_writable(conn.fd, conn.server.write_timeout_ms)
                if rc == 0:
                    raise TimeoutError("the client stopped reading the response")

    cdef int finalize_head(self) except -1:
        """Decide framing and keep-alive once the first body bytes (or the end of
        the body) are known. Raises WSGIAppError for an app that broke the rules."""
        cdef Connection conn = self.conn
        cdef int code
        if not self.started:
            raise WSGIAppError("the app returned without calling start_response()")
        if self.status is None:
            raise WSGIAppError("start_response() was given an invalid status or headers")
        code = self.status_code
        bodiless_status = code < 200 or code == 204 or code == 304    # RFC 9110 §6.4.1
        self.body_allowed = not (conn.is_head or bodiless_status)
        self.keep_alive = conn.client_keep_alive and not self.app_wants_close and not conn.server.stopping
        if self.content_length >= 0 or bodiless_status:
            return 0
        if self.iteration_done:
            self.content_length = self.body_sent         # the whole body is known: say its length
            self.length_is_ours = True
        elif not self.body_allowed:
            return 0                                      # HEAD of a streamed body: length unknown
        elif conn.minor_version == 1:
            self.chunked = True
        else:
            self.keep_alive = False                       # HTTP/1.0: the close ends the body
        return 0

    cdef bytes build_head(self):
        """Status line, our fields, the app's fields and the framing, copied
        straight into one new bytes object."""
        cdef Connection conn = self.conn
        cdef bytes date = conn.server.current_date_header()
        cdef bytes ending
        cdef bytes head
        cdef Py_ssize_t size
        cdef char *out
        cdef char digits[24]
        cdef Py_ssize_t length_digits = 0
        if not self.keep_alive:
            ending = b"Connection: close\r\n\r\n"
        elif conn.minor_version == 0:
            ending = b"Connection: keep-alive\r\n\r\n"
        else:
            ending = b"\r\n"
        size = 9 + PyBytes_GET_SIZE(self.status) + 20 + PyBytes_GET_SIZE(date) + PyBytes_GET_SIZE(ending)
        for field in self.headers:
            size += len(<str>(<tuple>field)[0]) + len(<str>(<tuple>field)[1]) + 4
        if self.length_is_ours:
            length_digits = decimal_digits(self.content_length, digits + sizeof(digits))
            size += 18 + length_digits
        if self.chunked:
            size += 28
        head = PyBytes_FromStringAndSize(NULL, size)    # not shared until filled
        out = PyBytes_AS_STRING(head)
        out = append_bytes(out, b"HTTP/1.1 ")
        out = append_bytes(out, self.status)
        out = append_bytes(out, b"\r\nServer: fastwsgi\r\n")
        out = append_bytes(out, date)
        for field in self.headers:
            out = append_field(out, <str>(<tuple>field)[0], <str>(<tuple>field)[1])
        if self.length_is_ours:
            out = append_bytes(out, b"Content-Length: ")
            memcpy(out, digits + sizeof(digits) - length_digits, length_digits)
            out = append_bytes(out + length_digits, b"\r\n")
        if self.chunked:
            out = append_bytes(out, b"Transfer-Encoding: chunked\r\n")
        append_bytes(out, ending)
        return head

    cdef void close_result(self):
        """Call the iterable's close() exactly once, whatever happened."""
        result = self.result
        if result is None:
            return
        self.result = None
        self.iterator = None
        if type(result) is list or type(result) is tuple:
            return
        close = getattr(result, "close", None)
        if close is not None:
            try:
                close()
            except Exception:
                log.exception("error in close() of the app's response iterable")


cdef inline char *append_bytes(char *out, bytes data):
    cdef Py_ssize_t n = PyBytes_GET_SIZE(data)
    memcpy(out, PyBytes_AS_STRING(data), n)
    return out + n


cdef Py_ssize_t decimal_digits(unsigned long long value, char *end):
    """Write value's decimal digits so that they end at end; returns how many."""
    cdef char *first = end
    while True:
        first -= 1
        first[0] = <char>(c'0' + value % 10)
        value //= 10
        if value == 0:
            return end - first


cdef inline char *append_field(char *out, str name, str value):
    """Copy "name: value\r\n"; both strs were checked to be latin-1 only."""
    cdef Py_ssize_t n = 0
    cdef const unsigned char *p = fw_str_latin1(name, &n)
    memcpy(out, p, n)
    out += n
    out[0] = b':'
    out[1] = b' '
    out += 2
    p = fw_str_latin1(value, &n)
    memcpy(out, p, n)
    out += n
    out[0] = b'\r'
    out[1] = b'\n'
    return out + 2


cdef bint is_token(const unsigned char *p, Py_ssize_t n):
    """A field name: one or more tchars (RFC 9110 §5.1)."""
    cdef Py_ssize_t i
    if n == 0:
        return False
    for i in range(n):
        if not fw_is_tchar(p[i]):
            return False
    return True


cdef bint is_field_value(const unsigned char *p, Py_ssize_t n):
    """No control character but HTAB: a CR or LF from the app must never reach
    the wire (RFC 9110 §5.5)."""
    cdef Py_ssize_t i
    for i in range(n):
        if not fw_is_field_byte(p[i]):
            return False
    return True


cdef int field_role(const char *name, Py_ssize_t n):
    """FIELD_* for a field name (a token, any case); the length picks the one
    name it can be before any bytes are compared."""
    if n == 14 and strncasecmp(name, "content-length", 14) == 0:
        return FIELD_CONTENT_LENGTH
    if n == 10:
        if strncasecmp(name, "connection", 10) == 0:
            return FIELD_CONNECTION
        if strncasecmp(name, "keep-alive", 10) == 0:
            return FIELD_KEEP_ALIVE
    # RFC 9110 §7.6.1: the other fields about this one connection
    if ((n == 2 and strncasecmp(name, "te", 2) == 0)
            or (n == 7 and (strncasecmp(name, "trailer", 7) == 0 or strncasecmp(name, "upgrade", 7) == 0))
            or (n == 16 and strncasecmp(name, "proxy-connection", 16) == 0)
            or (n == 17 and strncasecmp(name, "transfer-encoding", 17) == 0)
            or (n == 18 and strncasecmp(name, "proxy-authenticate", 18) == 0)
            or (n == 19 and strncasecmp(name, "proxy-authorization", 19) == 0)):
        return FIELD_HOP_BY_HOP
    return FIELD_PLAIN


cdef long long parse_content_length(str text, const unsigned char *p, Py_ssize_t n) except -1:
    cdef long long value = 0
    cdef Py_ssize_t i
    if n == 0 or n > 18:                  # 18 digits cannot overflow; no body is that big
        raise WSGIAppError("Content-Length must be 1 to 18 digits, got %r" % (text,))
    for i in range(n):
        if p[i] < 48 or p[i] > 57:
            raise WSGIAppError("Content-Length must be digits, got %r" % (text,))
        value = value * 10 + (p[i] - 48)
    return value


cdef int raise_bad_header(item) except -1:
    """Raise the WSGIAppError that says what is wrong with one header item."""
    if type(item) is not tuple or len(<tuple>item) != 2:
        raise WSGIAppError("each header must be a (name, value) tuple, got %r" % (item,))
    name, value = item
    if type(name) is not str or type(value) is not str:
        raise WSGIAppError("header names and values must be str, got %r" % (item,))
    latin1_field(name, "header name %r" % name, True)
    latin1_field(value, "header %s" % name, False)
    raise WSGIAppError("header %r is not valid" % (item,))


cdef int send_head(Response resp) except -1:
    resp.finalize_head()
    resp.conn.out.append(resp.build_head())
    resp.head_sent = True
    return 0


cdef int queue_body(Response resp, data) except -1:
    """Queue one chunk of the app's body with the framing chosen for it."""
    cdef Connection conn = resp.conn
    cdef Py_ssize_t size
    cdef long long room
    if type(data) is not bytes:
        if not isinstance(data, bytes):
            raise WSGIAppError("the app's body must be bytes, got %s" % type(data).__name__)
        data = bytes(data)
    size = PyBytes_GET_SIZE(data)
    if size == 0:
        return 0
    if not resp.head_sent:
        send_head(resp)
    if not resp.body_allowed:
        return 0
    if resp.content_length >= 0:
        room = resp.content_length - resp.body_sent
        if size > room:
            log.warning("the app sent more than its Content-Length of %d; cutting the body there",
                        resp.content_length)
            resp.keep_alive = False
            if room <= 0:
                return 0
            data = data[:room]
            size = room
    if resp.chunked:
        conn.out.append(b"%x\r\n" % size)
        conn.out.append(data)
        conn.out.append(b"\r\n")
    else:
        conn.out.append(data)
    resp.body_sent += size
    return 0


cdef int end_body(Response resp) except -1:
    resp.iteration_done = True
    if not resp.head_sent:
        send_head(resp)
    if resp.chunked:
        resp.conn.out.append(b"0\r\n\r\n")
    elif resp.body_allowed and resp.content_length > resp.body_sent:
        resp.keep_alive = False    # a short body: only closing tells the client it ended
    return 0


cdef int start_sendfile(Response resp, FileWrapper wrapper) except -1:
    """Set up sendfile(2) for a file_wrapper around a regular file; False-y
    return leaves the wrapper to plain iteration."""
    fileno = getattr(wrapper.filelike, "fileno", None)
    if fileno is None:
        return 0
    try:
        fd = fileno()
        st = os.fstat(fd)
        offset = os.lseek(fd, 0, os.SEEK_CUR)
    except (OSError, ValueError, io.UnsupportedOperation):
        return 0
    if not _stat.S_ISREG(st.st_mode):
        return 0
    size = max(0, st.st_size - offset)
    if resp.content_length >= 0:
        size = min(size, resp.content_length)
    else:
        resp.content_length = size
        resp.length_is_ours = True
    send_head(resp)
    if resp.body_allowed and size:
        resp.sendfile_fd = fd
        resp.sendfile_offset = offset
        resp.sendfile_left = size
        resp.body_sent = size
    else:
        end_body(resp)
    return 1


cdef int step_sendfile(Server srv, Connection conn, Response resp) except -2:
    """Send more of the file. 0: progressed or finished, 1: socket full, -1: gone."""
    cdef ssize_t sent = cio.fw_io_sendfile(conn.fd, resp.sendfile_fd, &resp.sendfile_offset,
                                           <size_t>min(resp.sendfile_left, SENDFILE_STEP))
    if sent == -EAGAIN:
        return 1
    if sent < 0:
        return -1
    if sent == 0:                       # the file shrank under us: the length we sent is wrong
        resp.keep_alive = False
        resp.sendfile_left = 0
    resp.sendfile_left -= sent
    if resp.sendfile_left <= 0:
        resp.sendfile_fd = -1
        resp.iteration_done = True
    return 0


cdef int call_app(Server srv, Connection conn) except -1:
    """Run the app on the loop thread and send what the socket takes."""
    if conn.timer_queue is not None:
        conn.timer_queue.unlink(conn)                   # the app's time is not the client's
    if not run_app(srv, conn):
        srv.close_connection(conn)
        return 0
    return continue_response(srv, conn)


cdef bint run_app(Server srv, Connection conn) except -1:
    """Call the app for conn's request: its iterable, or a 500 in its place,
    is then ready to send. False when the connection must be dropped instead
    (the app failed after write() had sent part of its response)."""
    cdef Response resp = conn.spare_response
    if resp is None:
        resp = conn.spare_response = Response(conn)
    else:
        resp.reset()
    conn.response = resp
    try:
        resp.result = srv.app(conn.environ, resp.start_response_method)
    except Exception:
        return answer_failure(conn)
    conn.state = S_WRITE
    return True


cdef int fill_from_result(Response resp) except -1:
    """Take the next part of the body from the app's iterable into conn.out."""
    cdef PyObject *chunk
    result = resp.result
    if resp.iterator is None:
        if type(result) is list and not resp.head_sent:
            return queue_list_body(resp, <list>result)
        if type(result) is FileWrapper and not resp.head_sent and start_sendfile(resp, <FileWrapper>result):
            return 0
        resp.iterator = iter(result)
    # PyIter_Next tells the end without raising StopIteration, which costs more
    # than the rest of a small response.
    chunk = PyIter_Next(resp.iterator)
    if chunk == NULL:
        if PyErr_Occurred() != NULL:
            raise_current()
        return end_body(resp)
    data = <object>chunk
    Py_DECREF(<object>chunk)
    return queue_body(resp, data)


cdef int queue_list_body(Response resp, list body) except -1:
    """A list body is in hand whole: all of it is queued behind the head, with
    a Content-Length computed when the app gave none, so head and body leave in
    one write."""
    if resp.content_length < 0:
        for item in body:
            if type(item) is not bytes:
                raise WSGIAppError("the app's body must be bytes, got %s" % type(item).__name__)
            resp.body_sent += PyBytes_GET_SIZE(item)
        resp.iteration_done = True
        send_head(resp)
        if resp.body_allowed:
            for item in body:
                if PyBytes_GET_SIZE(item):
                    resp.conn.out.append(item)
        return 0
    for item in body:
        queue_body(resp, item)
    return end_body(resp)


# What send_some() reports; 1 and -1 are what flush_out and step_sendfile say.
cdef enum:
    SEND_DONE = 0                         # the whole response has left
    SEND_BLOCKED = 1                      # the socket is full: wait until it is writable
    SEND_DROP = -1                        # client gone, or the app failed mid-stream: drop it
    SEND_PAUSED = 2                       # CHUNKS_PER_TURN chunks left; more to send later


cdef int send_some(Server srv, Connection conn) except -2:
    """Send the response as far as the socket takes it, pulling up to
    CHUNKS_PER_TURN chunks from the app; an app that fails is answered here."""
    cdef Response resp = conn.response
    cdef int rc, turns
    for turns in range(CHUNKS_PER_TURN):
        rc = flush_out(srv, conn)
        if rc == 0 and resp.sendfile_fd >= 0:
            rc = step_sendfile(srv, conn, resp)
            if rc == 0:
                continue
        if rc != 0:
            return rc                                  # SEND_BLOCKED or SEND_DROP
        if resp.iteration_done:
            return SEND_DONE
        try:
            fill_from_result(resp)
        except Exception:
            if not answer_failure(conn):
                return SEND_DROP
            resp = conn.response
    return SEND_PAUSED


cdef int continue_response(Server srv, Connection conn) except -1:
    """Send the response as far as the socket takes it; called again on writability."""
    cdef int rc = send_some(srv, conn)
    if rc == SEND_DONE:
        return finish_response(srv, conn)
    if rc == SEND_DROP:
        srv.close_connection(conn)
        return 0
    srv.watch(conn, cloop.FW_WRITABLE)                 # full, or more after others had a turn
    srv.write_timers.push(conn, srv.now)
    return 0


cdef int finish_response(Server srv, Connection conn) except -1:
    cdef Response resp = conn.response
    resp.close_result()
    srv.requests_done += 1
    if srv.access_log is not None:
        log_response(srv, conn, resp)
    conn.response = None
    conn.environ = None
    if srv.requests_limit and srv.requests_done >= srv.requests_limit:
        srv.limit_reached = True
    if not resp.keep_alive or srv.stopping:
        if not conn.client_keep_alive and conn.rlen == conn.rpos and not conn.out:
            # The client asked to close and sent nothing more: a plain close
            # ends with a FIN, so no lingering is needed (nginx does the same).
            srv.close_connection(conn)
            return 0
        conn.state = S_CLOSING
        conn.discarded = 0
        return flush_closing(srv, conn)
    conn.state = S_READ_HEAD
    srv.watch(conn, cloop.FW_READABLE)
    if conn.rlen > conn.rpos:
        srv.head_timers.push(conn, srv.now)
    else:
        srv.idle_timers.push(conn, srv.now)
    return 0


cdef bint answer_failure(Connection conn) except -1:
    """The app raised (or broke PEP 3333): log it and close its iterable, then
    queue a 500 in place of its response if nothing was sent yet. False when
    something was: only dropping the connection can tell the client then.
    Call it while the exception is being handled; it touches only conn."""
    cdef Response resp = conn.response
    cdef Response failure
    env = conn.environ or {}
    log.exception("error in the WSGI app while serving %s %s",
                  env.get("REQUEST_METHOD", "?"), env.get("RAW_URI", "?"))
    resp.close_result()
    if resp.head_sent:
        return False
    body = b"Internal Server Error\n"
    failure = Response(conn)
    failure.started = True
    failure.status = b"500 Internal Server Error"
    failure.status_code = 500
    failure.headers = [("Content-Type", "text/plain; charset=utf-8")]
    failure.content_length = len(body)
    failure.length_is_ours = True
    conn.response = failure
    conn.out = []
    queue_body(failure, body)
    end_body(failure)
    conn.state = S_WRITE
    return True


# -- the Date header (RFC 9110 §6.6.1), formatted once a second ------------------

cdef extern from "<time.h>" nogil:
    ctypedef long time_t
    struct tm:
        int tm_sec
        int tm_min
        int tm_hour
        int tm_mday
        int tm_mon
        int tm_year
        int tm_wday
        long tm_gmtoff                    # seconds east of UTC (the access log's %(t)s)
    time_t time(time_t *t)
    tm *gmtime_r(const time_t *t, tm *result)
    tm *localtime_r(const time_t *t, tm *result)

# IMF-fixdate names are English whatever the locale, so no strftime.
cdef tuple WEEKDAYS = (b"Sun", b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat")
cdef tuple MONTHS = (b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun",
                     b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec")


cdef long current_unix_second():
    return time(NULL)


cdef bytes format_date_header(long second):
    cdef time_t t = second
    cdef tm parts
    gmtime_r(&t, &parts)
    return b"Date: %s, %02d %s %04d %02d:%02d:%02d GMT\r\n" % (
        WEEKDAYS[parts.tm_wday], parts.tm_mday, MONTHS[parts.tm_mon], parts.tm_year + 1900,
        parts.tm_hour, parts.tm_min, parts.tm_sec)
