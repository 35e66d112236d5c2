# The access log. fastwsgi/accesslog.py compiles the format once; here each
# finished response is rendered by it straight into a C buffer, and the buffer
# leaves with one write(2) once the event loop has caught up (a wait found
# fewer ready sockets than it takes at a time, which includes the wait of an
# idle loop: it wakes at least once a second), once it holds FLUSH_BYTES, or
# once its oldest line has waited FLUSH_DELAY. Under load the writes get fewer
# per request the busier the server is. No logging.Logger call per request:
# that alone costs more than serving it.
from fastwsgi.accesslog import basic_auth_user

from cpython.dict cimport PyDict_GetItemWithError
from libc.errno cimport errno
from libc.stdio cimport snprintf
from posix.stat cimport S_ISFIFO, S_ISSOCK, fstat, struct_stat
from posix.unistd cimport getpid

DEF FLUSH_BYTES = 65536                   # a buffer this full is written at once
DEF FLUSH_DELAY = 0.1                     # seconds a line may wait while the loop is busy
DEF PIPE_ATOMIC = 4096                    # PIPE_BUF: larger pipe writes may interleave
DEF STALL_MS = 1000                       # how long a full pipe may hold the loop up

# Atoms (fastwsgi/accesslog.py names them the way gunicorn does); A_END is the
# text after the last one.
cdef enum:
    A_END, A_REMOTE_ADDR, A_DASH, A_USER, A_TIME, A_REQUEST_LINE, A_METHOD, A_PATH
    A_QUERY, A_PROTOCOL, A_STATUS, A_BYTES, A_BYTES_CLF, A_REFERER, A_USER_AGENT
    A_SECONDS, A_MILLISECONDS, A_MICROSECONDS, A_DECIMAL_SECONDS, A_PID
    A_REQUEST_HEADER, A_RESPONSE_HEADER, A_ENVIRON

cdef dict ATOM_CODES = {
    "h": A_REMOTE_ADDR, "l": A_DASH, "u": A_USER, "t": A_TIME,
    "r": A_REQUEST_LINE, "m": A_METHOD, "U": A_PATH, "q": A_QUERY, "H": A_PROTOCOL,
    "s": A_STATUS, "B": A_BYTES, "b": A_BYTES_CLF, "f": A_REFERER, "a": A_USER_AGENT,
    "T": A_SECONDS, "M": A_MILLISECONDS, "D": A_MICROSECONDS, "L": A_DECIMAL_SECONDS,
    "p": A_PID, "i": A_REQUEST_HEADER, "o": A_RESPONSE_HEADER, "e": A_ENVIRON,
}

# Bytes written as \xHH, nginx's rule: '"', '\', control characters and all
# from 0x7f up. A client's bytes can then neither end a quoted field nor a line.
cdef unsigned char ESCAPED[256]
cdef int _byte
for _byte in range(256):
    ESCAPED[_byte] = _byte < 0x20 or _byte >= 0x7f or _byte == 0x22 or _byte == 0x5c
cdef const char *HEX_DIGITS = b"0123456789ABCDEF"

cdef struct LogOp:
    int code                              # A_*
    size_t text_start                     # the literal text before the atom,
    size_t text_length                    # in AccessLog.text


cdef inline bint plain8(uint64_t v):
    """None of 8 bytes needs escaping (see ESCAPED): word-at-a-time tests, as
    most of a line is plain ASCII."""
    cdef uint64_t ones = 0x0101010101010101ULL
    cdef uint64_t highs = 0x8080808080808080ULL
    cdef uint64_t quote = v ^ 0x2222222222222222ULL
    cdef uint64_t backslash = v ^ 0x5C5C5C5C5C5C5C5CULL
    if v & highs:
        return False                      # a byte >= 0x80
    if ((v + 0x6060606060606060ULL) & highs) != highs:
        return False                      # a byte < 0x20 (no carries: every byte < 0x80)
    if (v + ones) & highs:
        return False                      # a 0x7f
    return not (((quote - ones) & ~quote & highs) or ((backslash - ones) & ~backslash & highs))


cdef inline object environ_value(dict env, str key):
    # A str key's hash cannot fail, so NULL only means missing (and unlike
    # PyDict_GetItem this does not save and restore the error state each time).
    cdef PyObject *found = PyDict_GetItemWithError(env, key)
    return <object>found if found != NULL else None


@cython.final                             # direct calls to its cdef methods, no vtable
cdef class AccessLog:
    """AccessLog(fd, atoms): writes one line per response to fd.

    atoms is fastwsgi.accesslog.compile_format()'s tuple. Lines collect in a
    buffer that the server writes out when its loop catches up (see the top of
    this file); close() writes what is left and stops (fd stays the caller's
    to close)."""
    cdef int fd
    cdef size_t write_limit               # 0, or PIPE_ATOMIC for a pipe or socket
    cdef char *buf
    cdef size_t length
    cdef size_t capacity
    cdef double first_line_at             # the loop's clock when the oldest line came
    cdef LogOp *ops
    cdef Py_ssize_t count
    cdef bytes text                       # the format's literal text, all of it
    cdef list args                        # per op: environ key, header name, or None
    cdef bint timed                       # the format holds a request time
    cdef long time_second                 # the second time_text shows
    cdef char time_text[48]
    cdef int time_length
    cdef bytes pid
    cdef bint failing                     # the last write failed (warned once)

    def __cinit__(self):
        self.fd = -1

    def __init__(self, int fd, atoms):
        cdef struct_stat st
        cdef LogOp *op
        self.fd = fd
        if fstat(fd, &st) == 0 and (S_ISFIFO(st.st_mode) or S_ISSOCK(st.st_mode)):
            self.write_limit = PIPE_ATOMIC   # several workers may share it: whole lines only
        self.ops = <LogOp *>malloc((len(atoms) + 1) * sizeof(LogOp))
        self.capacity = FLUSH_BYTES + 8192
        self.buf = <char *>malloc(self.capacity)
        if self.ops == NULL or self.buf == NULL:
            raise MemoryError()
        # Each op writes the literal text before its atom, then the atom.
        text, pending, self.args = [], b"", []
        for atom, arg in tuple(atoms) + (("end", None),):
            if atom == "text":
                pending += arg
                continue
            op = &self.ops[len(self.args)]
            op.code = A_END if atom == "end" else ATOM_CODES[atom]
            op.text_start = sum(len(t) for t in text)
            op.text_length = len(pending)
            text.append(pending)
            pending = b""
            if atom == "e":
                arg = (arg, arg.upper())
            elif atom == "i":
                arg = sys.intern(arg)
            self.args.append(arg)
            self.timed = self.timed or atom in ("T", "M", "D", "L")
        self.count = len(self.args)
        self.text = b"".join(text)
        self.pid = b"%d" % getpid()
        self.time_second = -1

    def __dealloc__(self):
        free(self.ops)
        free(self.buf)

    def close(self):
        """Flush; later lines are dropped."""
        if self.fd >= 0:
            self.write_out()
        self.fd = -1

    # -- rendering ---------------------------------------------------------------

    cdef int add(self, Connection conn, Response resp, long long size) except -1:
        """Render one line into the buffer; write the buffer once it is full."""
        cdef size_t line_start = self.length
        if self.fd < 0:
            return 0
        if line_start == 0:
            self.first_line_at = conn.server.now
        try:
            self.render(conn, resp, size)
        except BaseException:
            self.length = line_start          # no half line left behind
            raise
        if self.length >= FLUSH_BYTES:
            self.write_out()
        return 0

    cdef int render(self, Connection conn, Response resp, long long size) except -1:
        cdef dict env = conn.environ if conn.environ is not None else {}
        cdef const char *text = PyBytes_AS_STRING(self.text)
        cdef double elapsed = 0
        cdef LogOp *op
        cdef int code
        cdef Py_ssize_t i
        if self.timed:
            elapsed = request_seconds(conn)
        for i in range(self.count):
            op = &self.ops[i]
            self.put(text + op.text_start, op.text_length)
            code = op.code
            if code == A_END:
                break
            elif code == A_REMOTE_ADDR:
                self.put_field(environ_value(env, "REMOTE_ADDR"))
            elif code == A_DASH:
                self.put_char(c'-')
            elif code == A_USER:
                user = environ_value(env, "REMOTE_USER")
                if not user:
                    auth = environ_value(env, "HTTP_AUTHORIZATION")
                    user = basic_auth_user(auth) if type(auth) is str else None
                self.put_field(user)
            elif code == A_TIME:
                self.put_time()
            elif code == A_REQUEST_LINE:
                self.put_field(environ_value(env, "REQUEST_METHOD"))
                self.put_char(c' ')
                self.put_field(environ_value(env, "RAW_URI"))
                self.put_char(c' ')
                self.put_field(environ_value(env, "SERVER_PROTOCOL"))
            elif code == A_METHOD:
                self.put_field(environ_value(env, "REQUEST_METHOD"))
            elif code == A_PATH:
                self.put_field(environ_value(env, "PATH_INFO"))
            elif code == A_QUERY:
                query = environ_value(env, "QUERY_STRING")
                if query:
                    self.put_field(query)   # an empty query is logged empty, not as '-'
            elif code == A_PROTOCOL:
                self.put_field(environ_value(env, "SERVER_PROTOCOL"))
            elif code == A_STATUS:
                self.put_number(resp.status_code)
            elif code == A_BYTES:
                self.put_number(size)
            elif code == A_BYTES_CLF:
                if size:
                    self.put_number(size)
                else:
                    self.put_char(c'-')
            elif code == A_REFERER:
                self.put_field(environ_value(env, "HTTP_REFERER"))
            elif code == A_USER_AGENT:
                self.put_field(environ_value(env, "HTTP_USER_AGENT"))
            elif code == A_SECONDS:
                self.put_number(<long long>elapsed)
            elif code == A_MILLISECONDS:
                self.put_number(<long long>(elapsed * 1e3))
            elif code == A_MICROSECONDS:
                self.put_number(<long long>(elapsed * 1e6))
            elif code == A_DECIMAL_SECONDS:
                self.put_decimal_seconds(elapsed)
            elif code == A_PID:
                self.put(PyBytes_AS_STRING(self.pid), PyBytes_GET_SIZE(self.pid))
            elif code == A_REQUEST_HEADER:
                self.put_field(environ_value(env, <str>self.args[i]))
            elif code == A_RESPONSE_HEADER:
                self.put_response_header(resp, <str>self.args[i])
            elif code == A_ENVIRON:
                names = <tuple>self.args[i]
                value = environ_value(env, names[0])
                self.put_field(value if value is not None else environ_value(env, names[1]))
        return self.put_char(c'\n')

    cdef inline char *reserve(self, size_t n) except NULL:
        """Room for n more bytes."""
        if self.length + n > self.capacity:
            self.grow(self.length + n)
        return self.buf + self.length

    cdef int grow(self, size_t wanted) except -1:
        """The buffer grows rather than cut a line in two."""
        cdef char *grown = <char *>realloc(self.buf, wanted * 2)
        if grown == NULL:
            raise MemoryError()
        self.buf = grown
        self.capacity = wanted * 2
        return 0

    cdef inline int put(self, const char *data, size_t n) except -1:
        cdef char *out = self.reserve(n)
        cdef size_t i
        if n > 16:
            memcpy(out, data, n)
        else:
            for i in range(n):            # the format's bits of text are short
                out[i] = data[i]
        self.length += n
        return 0

    cdef inline int put_char(self, char c) except -1:
        self.reserve(1)[0] = c
        self.length += 1
        return 0

    cdef int put_escaped(self, const unsigned char *data, size_t n) except -1:
        cdef char *out = self.reserve(4 * n)
        cdef char *start = out
        cdef unsigned char c
        cdef size_t i = 0
        cdef uint64_t word
        while i + 8 <= n:
            memcpy(&word, data + i, 8)
            if not plain8(word):
                break
            memcpy(out, &word, 8)
            out += 8
            i += 8
        for i in range(i, n):
            c = data[i]
            if ESCAPED[c]:
                out[0] = b'\\'
                out[1] = b'x'
                out[2] = HEX_DIGITS[c >> 4]
                out[3] = HEX_DIGITS[c & 15]
                out += 4
            else:
                out[0] = <char>c
                out += 1
        self.length += out - start
        return 0

    cdef int put_field(self, value) except -1:
        """A text value, escaped; '-' when missing or empty."""
        cdef const unsigned char *text = NULL
        cdef Py_ssize_t n = 0
        if type(value) is str:
            # Latin-1 text, as the environ holds it: its code points are the bytes sent.
            text = fw_str_latin1(value, &n)
        elif value is None:
            return self.put_char(c'-')
        if text == NULL:
            data = str(value).encode("utf-8", "backslashreplace")   # set by the app: any text
            text = <const unsigned char *>PyBytes_AS_STRING(data)
            n = PyBytes_GET_SIZE(data)
        if n == 0:
            return self.put_char(c'-')
        return self.put_escaped(text, n)

    cdef int put_number(self, unsigned long long value) except -1:
        cdef char digits[24]
        cdef Py_ssize_t n = decimal_digits(value, digits + sizeof(digits))
        return self.put(digits + sizeof(digits) - n, n)

    cdef int put_decimal_seconds(self, double elapsed) except -1:
        cdef long long micros = <long long>(elapsed * 1e6)
        cdef char text[32]
        cdef int n = snprintf(text, sizeof(text), "%lld.%06lld", micros // 1000000, micros % 1000000)
        return self.put(text, n)

    cdef int put_time(self) except -1:
        """[10/Oct/2000:13:55:36 -0700] in local time, formatted once a second."""
        cdef time_t now = time(NULL)
        cdef tm parts
        cdef long offset
        cdef char sign
        if now != self.time_second:
            localtime_r(&now, &parts)
            offset = parts.tm_gmtoff // 60
            sign = c'-' if offset < 0 else c'+'
            self.time_length = snprintf(
                self.time_text, sizeof(self.time_text), "[%02d/%s/%04d:%02d:%02d:%02d %c%02ld%02ld]",
                parts.tm_mday, PyBytes_AS_STRING(<bytes>MONTHS[parts.tm_mon]), parts.tm_year + 1900,
                parts.tm_hour, parts.tm_min, parts.tm_sec, sign,
                abs(offset) // 60, abs(offset) % 60)
            self.time_second = now
        return self.put(self.time_text, self.time_length)

    cdef int put_response_header(self, Response resp, str name) except -1:
        """The first field named name (lower case) among those the app sent,
        which resp.headers holds as (name, value) tuples."""
        for field in resp.headers or ():
            if (<str>(<tuple>field)[0]).lower() == name:
                return self.put_field((<tuple>field)[1])
        return self.put_char(c'-')

    # -- writing -----------------------------------------------------------------

    cdef int write_out(self) except -1:
        """Write the whole buffer. A pipe or socket gets pieces of whole lines
        no larger than PIPE_BUF, which the kernel never interleaves with
        another writer's; a full one is waited for up to STALL_MS."""
        cdef size_t done = 0
        cdef size_t piece
        cdef ssize_t n
        cdef int ready
        while done < self.length and self.fd >= 0:
            piece = self.length - done
            if self.write_limit and piece > self.write_limit:
                piece = line_aligned(self.buf + done, self.write_limit, piece)
            n = write(self.fd, self.buf + done, piece)
            if n >= 0:
                done += n
                continue
            if errno == EINTR:
                continue
            if errno == EAGAIN:
                with nogil:
                    ready = cio.fw_io_wait_writable(self.fd, STALL_MS)
                if ready > 0:
                    continue
                self.lost("it stays full", self.length - done)
                break
            self.lost(os.strerror(errno), self.length - done)
            break
        else:
            if self.failing and done:
                log.warning("writing the access log again")
            self.failing = False
        self.length = 0
        return 0

    cdef void lost(self, reason, size_t n):
        if not self.failing:
            log.warning("cannot write the access log (%s): %d bytes of it are lost, and more"
                        " may be until it works again", reason, n)
        self.failing = True


cdef size_t line_aligned(const char *data, size_t limit, size_t available):
    """How much of data to write so that it ends at a line end within limit
    bytes (all of a first line longer than limit)."""
    cdef size_t i = limit
    while i > 0:
        if data[i - 1] == b'\n':
            return i
        i -= 1
    i = limit
    while i < available and data[i - 1] != b'\n':
        i += 1
    return i


cdef double request_seconds(Connection conn):
    """How long the request took: from the loop turn its head arrived in."""
    return max(0.0, monotonic() - conn.request_start)


cdef int log_response(Server srv, Connection conn, Response resp) except -1:
    """The access log line of a response that ended (or was cut short): to
    the AccessLog, or to the callable given instead (the wsgiref drop-in's,
    the gunicorn worker's)."""
    cdef long long size = resp.body_sent if resp.body_allowed else 0
    try:
        if type(srv.access_log) is AccessLog:
            (<AccessLog>srv.access_log).add(conn, resp, size)
        else:
            srv.access_log(conn.environ, resp.status_code, size, request_seconds(conn))
    except Exception:
        log.exception("error writing the access log")
    return 0


cdef int flush_access_log(Server srv, bint caught_up) except -1:
    """Write the buffered lines if the loop caught up or the oldest has waited
    FLUSH_DELAY (see the top of this file)."""
    cdef AccessLog access_log
    if type(srv.access_log) is not AccessLog:
        return 0
    access_log = <AccessLog>srv.access_log
    if access_log.length and (caught_up or srv.now - access_log.first_line_at >= FLUSH_DELAY):
        access_log.write_out()
    return 0
