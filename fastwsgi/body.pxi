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
    cdef size_t size
    cdef object target                     # io.BytesIO, then maybe a TemporaryFile
    cdef bint spooled

    def __cinit__(self, size_t threshold, uint64_t expected):
        self.threshold = threshold
        if expected > threshold:
            self.target = spool_file()
            self.spooled = True
        else:
            self.target = io.BytesIO()

    cdef int write(self, const char *data, size_t n) except -1:
        if not self.spooled and self.size + n > self.threshold:
            spool = spool_file()
            spool.write(self.target.getbuffer())
            self.target = spool
            self.spooled = True
        self.target.write(PyBytes_FromStringAndSize(data, n))
        self.size += n
        return 0

    cdef object finish(self):
        """The body as wsgi.input, positioned at its start."""
        self.target.seek(0)
        return self.target

    cdef void discard(self):
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
