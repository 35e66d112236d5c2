from posix.types cimport off_t
from posix.uio cimport iovec

cdef extern from "fw_io.h" nogil:
    int fw_io_prepare_listener(int lfd, int defer_accept_secs)
    int fw_io_accept(int lfd, char *ip, size_t iplen, int *port)
    ssize_t fw_io_read(int fd, char *buf, size_t n)
    ssize_t fw_io_writev(int fd, const iovec *iov, int iovcnt)
    ssize_t fw_io_sendfile(int out_fd, int in_fd, off_t *offset, size_t count)
    int fw_io_wait_writable(int fd, int timeout_ms)
