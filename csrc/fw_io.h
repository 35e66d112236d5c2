/* Socket system calls the server makes per connection, each wrapped so that it
 * returns >= 0 on success or -errno, retries EINTR, and never raises SIGPIPE. */
#ifndef FW_IO_H
#define FW_IO_H

#include <netinet/in.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

/* Readies a listening socket: for TCP, sets TCP_NODELAY, which Linux and the
 * BSDs copy to each accepted socket, and where the system has TCP_DEFER_ACCEPT
 * (Linux) sets it to defer_accept_secs (0: off). With it, the kernel completes
 * the handshake but hands a connection to accept() only once its first bytes
 * have arrived, or after about defer_accept_secs without any: one wake-up per
 * connection instead of two (one to accept, one to read). Returns 1 when
 * connections now come with their first bytes (deferred), 0 when not (a unix
 * socket, 0 seconds, a system without it or a kernel that refuses it), or
 * -errno. */
int fw_io_prepare_listener(int lfd, int defer_accept_secs);

/* Accepts one connection from listening socket lfd as a non-blocking,
 * close-on-exec fd, with SO_NOSIGPIPE where the system has it (TCP_NODELAY
 * comes from fw_io_prepare_listener). The peer's address is written
 * to ip (NUL-terminated; "" for unix sockets) and its port to *port (0 for unix
 * sockets). Returns the fd, or -errno (-EAGAIN when none is waiting). */
int fw_io_accept(int lfd, char *ip, size_t iplen, int *port);

/* Longest dotted-quad text, with its NUL: "255.255.255.255". */
#define FW_IPV4_TEXT 16

/* Writes addr (network byte order) as dotted-quad text with a NUL to out,
 * which holds FW_IPV4_TEXT bytes; returns the text's length. What
 * inet_ntop(AF_INET) writes, without its cost. */
size_t fw_io_format_ipv4(const struct in_addr *addr, char *out);

/* Reads up to n bytes. Returns the count, 0 at end of stream, or -errno. */
ssize_t fw_io_read(int fd, char *buf, size_t n);

/* Sends the iovecs in one call: send(2) for one buffer or for a few KiB
 * copied together, sendmsg(2) for more. Returns bytes sent (possibly fewer
 * than asked) or -errno (-EAGAIN when the send buffer is full). */
ssize_t fw_io_writev(int fd, const struct iovec *iov, int iovcnt);

/* Sends up to count bytes of in_fd from *offset, advancing *offset by what
 * was sent (in_fd's own file position does not move): with sendfile(2) on
 * Linux, macOS and FreeBSD, elsewhere with pread and send, at most 64 KiB a
 * call. Returns bytes sent (possibly fewer than asked), 0 at the end of the
 * file or when count is 0, or -errno (-EAGAIN when the send buffer is full). */
ssize_t fw_io_sendfile(int out_fd, int in_fd, off_t *offset, size_t count);

/* Blocks until fd is writable or timeout_ms passes (-1: no limit).
 * Returns 1 when writable, 0 on timeout, or -errno. Call it without the GIL. */
int fw_io_wait_writable(int fd, int timeout_ms);

#endif
