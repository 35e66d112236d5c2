# Request bodies: received whole before the app runs, kept in memory up to the
# spool threshold and in an unlinked temporary file beyond it, so wsgi.input is a
# plain file object that never blocks and a huge upload does not grow memory.
import io


cdef object spool_file():
    """An unlinked temporary file; tempfile is imported on first use only, so a
    server that never spools does not carry it."""
    import tempfile
    return tempfile.TemporaryFile()


cdef class BodySink:
    cdef size_t threshold
    cdef uint64_t expected                 # the Content-Length; 0: chunked, length unknown
    cdef size_t size
    cdef object target                     # None, the whole body as bytes, io.BytesIO, or a TemporaryFile
    cdef bint spooled

    def __cinit__(self, size_t threshold, uint64_t expected):
        self.threshold = threshold
        self.expected = expected
        if expected > threshold:
            self.target = spool_file()
            self.spooled = True

    cdef int write(self, const char *data, size_t n) except -1:
        chunk = PyBytes_FromStringAndSize(data, n)
        if self.target is None:
            if self.expected and n == self.expected:
                # The whole body in one piece, as a small one mostly comes: kept
                # as it is, and finish() wraps it without copying it again.
                self.target = chunk
                self.size = n
                return 0
            self.target = io.BytesIO()
        if not self.spooled and self.size + n > self.threshold:
            spool = spool_file()
            spool.write(self.target.getbuffer())
            self.target = spool
            self.spooled = True
        self.target.write(chunk)
        self.size += n
        return 0

    cdef object finish(self):
        """The body as wsgi.input, positioned at its start."""
        if self.target is None:               # a chunked body with no data
            return io.BytesIO()
        if type(self.target) is bytes:
            return io.BytesIO(self.target)    # shares the bytes; read() of it all returns them
        self.target.seek(0)
        return self.target

    cdef void discard(self):
        if self.target is None or type(self.target) is bytes:
            return
        try:
            self.target.close()
        except Exception:
            pass


cdef class EmptyInput:
    """wsgi.input of a request without a body: always at its end. One object
    serves every such request, so nothing is built for the common GET."""

    def read(self, size=-1):
        return b""

    def readline(self, size=-1):
        return b""

    def readlines(self, hint=-1):
        return []

    def __iter__(self):
        return iter(())

    def close(self):
        pass


cdef EmptyInput EMPTY_INPUT = EmptyInput()


cdef object empty_input():
    return EMPTY_INPUT
