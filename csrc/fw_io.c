#define _GNU_SOURCE                    /* accept4, pthread_sigmask on glibc and musl */
#include "fw_io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Which calls this system has, decided here once; everything below asks these
 * macros only. FW_IO_PORTABLE forces the portable accept and sendfile paths, so
 * that the Linux unit tests run what macOS (accept) and the systems without a
 * sendfile we know (OpenBSD, NetBSD, ...) run (csrc/Makefile: test_io_portable).
 *
 *   FW_HAVE_ACCEPT4       accept4(SOCK_NONBLOCK | SOCK_CLOEXEC); else accept + fcntl
 *   FW_SENDFILE_LINUX     sendfile(out, in, &off, count)
 *   FW_SENDFILE_DARWIN    sendfile(in, out, off, &len, NULL, 0)
 *   FW_SENDFILE_FREEBSD   sendfile(in, out, off, count, NULL, &sbytes, 0)
 *   (none of the three)   pread into a buffer, then send
 *
 * SIGPIPE: where SO_NOSIGPIPE exists (macOS, the BSDs) every accepted socket
 * carries it, and on macOS that is the only guard: MSG_NOSIGNAL is only in
 * recent SDKs, and sendfile takes no flags at all. Elsewhere send and sendmsg
 * pass MSG_NOSIGNAL, and Linux's sendfile, which takes no flags either,
 * blocks SIGPIPE for the call (fw_io_sendfile). */
#if defined(FW_IO_PORTABLE)
/* the portable paths only */
#elif defined(__linux__)
#define FW_HAVE_ACCEPT4 1
#define FW_SENDFILE_LINUX 1
#elif defined(__APPLE__)
#define FW_SENDFILE_DARWIN 1
#elif defined(__FreeBSD__) || defined(__DragonFly__)
#define FW_HAVE_ACCEPT4 1
#define FW_SENDFILE_FREEBSD 1
#elif defined(__OpenBSD__)
#define FW_HAVE_ACCEPT4 1
#endif

#if defined(MSG_NOSIGNAL) && !defined(__APPLE__)
#define FW_SEND_FLAGS MSG_NOSIGNAL
#elif defined(SO_NOSIGPIPE)
#define FW_SEND_FLAGS 0                /* the socket carries SO_NOSIGPIPE */
#else
#error "fw_io.c needs MSG_NOSIGNAL or SO_NOSIGPIPE to keep SIGPIPE away"
#endif

#if defined(FW_SENDFILE_LINUX)
#include <pthread.h>
#include <signal.h>
#include <sys/sendfile.h>
#include <time.h>
#elif !defined(FW_SENDFILE_DARWIN) && !defined(FW_SENDFILE_FREEBSD)
#define FW_SENDFILE_BUFFER 65536       /* bytes read and sent per call, on the stack */
#endif

/* What fw_io_accept does to a socket accept() returned: non-blocking and
 * close-on-exec where accept4 could not, and SO_NOSIGPIPE where it exists.
 * Returns 0 or -errno. */
static int fw_io_ready_accepted(int fd)
{
#ifndef FW_HAVE_ACCEPT4
    /* Another thread's fork + exec between accept and here would inherit fd:
     * the same window Python's own socket.accept() has on these systems. */
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return -errno;
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        return -errno;
#endif
#ifdef SO_NOSIGPIPE
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof(one)) < 0)
        return -errno;                 /* macOS: EINVAL once the peer has reset */
#endif
    (void)fd;                          /* Linux: nothing to do */
    return 0;
}

size_t fw_io_format_ipv4(const struct in_addr *addr, char *out)
{
    /* inet_ntop goes through sprintf: about 1,700 instructions an address,
     * paid on every connection; this is a few dozen. */
    const unsigned char *octet = (const unsigned char *)&addr->s_addr;
    char *p = out;
    for (int i = 0; i < 4; i++) {
        unsigned v = octet[i];
        if (v >= 100)
            *p++ = (char)('0' + v / 100);
        if (v >= 10)
            *p++ = (char)('0' + v / 10 % 10);
        *p++ = (char)('0' + v % 10);
        *p++ = '.';
    }
    p[-1] = '\0';                     /* the last '.' */
    return (size_t)(p - 1 - out);
}

int fw_io_accept(int lfd, char *ip, size_t iplen, int *port)
{
    struct sockaddr_storage addr;
    socklen_t addrlen = sizeof(addr);
    int fd;
    do {
#ifdef FW_HAVE_ACCEPT4
        fd = accept4(lfd, (struct sockaddr *)&addr, &addrlen, SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
        fd = accept(lfd, (struct sockaddr *)&addr, &addrlen);
#endif
    } while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return -errno;
    int rc = fw_io_ready_accepted(fd);
    if (rc < 0) {
        close(fd);
        return rc;
    }

    ip[0] = '\0';
    *port = 0;
    if (addr.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&addr;
        if (iplen >= FW_IPV4_TEXT)
            fw_io_format_ipv4(&a->sin_addr, ip);
        *port = ntohs(a->sin_port);
    } else if (addr.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&addr;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, (socklen_t)iplen);
        *port = ntohs(a->sin6_port);
    }
    return fd;
}

int fw_io_prepare_listener(int lfd, int defer_accept_secs)
{
    struct sockaddr_storage addr;
    socklen_t addrlen = sizeof(addr);
    int one = 1;
    if (getsockname(lfd, (struct sockaddr *)&addr, &addrlen) < 0)
        return -errno;
    if (addr.ss_family != AF_INET && addr.ss_family != AF_INET6)
        return 0;
    /* Responses leave in as few writes as we can make them; Nagle would only
     * hold back the last partial segment of each. Set once here, the option is
     * copied to every accepted socket: no setsockopt per connection. */
    if (setsockopt(lfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
        return -errno;
#ifdef TCP_DEFER_ACCEPT
    /* Set or cleared, never left as found: an inherited socket may carry it.
     * A kernel that refuses it costs only the saving: "not deferred". */
    if (setsockopt(lfd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer_accept_secs,
                   sizeof(defer_accept_secs)) < 0)
        return 0;
    return defer_accept_secs > 0;
#else
    (void)defer_accept_secs;
    return 0;
#endif
}

ssize_t fw_io_read(int fd, char *buf, size_t n)
{
    ssize_t got;
    do {
        got = recv(fd, buf, n, 0);
    } while (got < 0 && errno == EINTR);
    return got < 0 ? -errno : got;
}

static ssize_t send_bytes(int fd, const void *buf, size_t n)
{
    ssize_t sent;
    do {
        sent = send(fd, buf, n, FW_SEND_FLAGS);
    } while (sent < 0 && errno == EINTR);
    return sent < 0 ? -errno : sent;
}

/* Most responses are a head and a short body: two buffers. send(2) costs the
 * sender about 0.2 us less than sendmsg(2) of the same bytes (no msghdr and
 * iovecs to copy in and check; make -C csrc bench-send), more than copying a
 * few KiB costs: small gathers are copied into one buffer and sent with send. */
#define FW_IO_GATHER_BYTES 4096

ssize_t fw_io_writev(int fd, const struct iovec *iov, int iovcnt)
{
    char gathered[FW_IO_GATHER_BYTES];
    size_t total = 0;
    int i;
    if (iovcnt == 1)
        return send_bytes(fd, iov[0].iov_base, iov[0].iov_len);
    for (i = 0; i < iovcnt && iov[i].iov_len <= sizeof(gathered) - total; i++)
        total += iov[i].iov_len;
    if (i == iovcnt) {
        size_t at = 0;
        for (i = 0; i < iovcnt; i++) {
            if (iov[i].iov_len > 0)     /* an empty one may have no base */
                memcpy(gathered + at, iov[i].iov_base, iov[i].iov_len);
            at += iov[i].iov_len;
        }
        return send_bytes(fd, gathered, total);
    }
    struct msghdr msg;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = (struct iovec *)iov;  /* sendmsg does not write through it */
    msg.msg_iovlen = (size_t)iovcnt;
    ssize_t sent;
    do {
        sent = sendmsg(fd, &msg, FW_SEND_FLAGS);
    } while (sent < 0 && errno == EINTR);
    return sent < 0 ? -errno : sent;
}

#if defined(FW_SENDFILE_LINUX)

/* Linux's sendfile raises SIGPIPE when the peer has gone, and takes no
 * MSG_NOSIGNAL: the signal is blocked in this thread for the call, and the one
 * the call raised (it is sent to this thread) is taken back before the mask is
 * restored. One that was pending already, in a thread that blocks SIGPIPE
 * itself, is left alone. */
ssize_t fw_io_sendfile(int out_fd, int in_fd, off_t *offset, size_t count)
{
    sigset_t sigpipe, old, pending;
    int was_pending = 0;
    ssize_t sent;
    if (count == 0)
        return 0;
    sigemptyset(&sigpipe);
    sigaddset(&sigpipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &sigpipe, &old);
    if (sigismember(&old, SIGPIPE) && sigpending(&pending) == 0)
        was_pending = sigismember(&pending, SIGPIPE);
    do {
        sent = sendfile(out_fd, in_fd, offset, count);
    } while (sent < 0 && errno == EINTR);
    int err = sent < 0 ? errno : 0;
    if (err == EPIPE && !was_pending) {
        const struct timespec no_wait = { 0, 0 };
        while (sigtimedwait(&sigpipe, NULL, &no_wait) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return sent < 0 ? -err : sent;
}

#elif defined(FW_SENDFILE_DARWIN) || defined(FW_SENDFILE_FREEBSD)

/* Both take the file first, and on EAGAIN (a non-blocking socket filled up)
 * or EINTR report what they sent through their in/out count, which is then
 * the result: those bytes are on their way. Both read a count of 0 as "to
 * the end of the file", so a 0 never reaches them. */
ssize_t fw_io_sendfile(int out_fd, int in_fd, off_t *offset, size_t count)
{
    off_t sent;
    int rc;
    if (count == 0)
        return 0;
    do {
#if defined(FW_SENDFILE_DARWIN)
        sent = (off_t)count;           /* in: bytes to send; out: bytes sent */
        rc = sendfile(in_fd, out_fd, *offset, &sent, NULL, 0);
#else
        sent = 0;
        rc = sendfile(in_fd, out_fd, *offset, count, NULL, &sent, 0);
#endif
        if (rc < 0 && (errno == EAGAIN || errno == EINTR) && sent > 0)
            rc = 0;
    } while (rc < 0 && errno == EINTR);
    if (rc < 0)
        return -errno;
    *offset += sent;
    return (ssize_t)sent;
}

#else

/* No sendfile we know: the file goes through a buffer, at most
 * FW_SENDFILE_BUFFER bytes per call. Bytes read but not sent are read again
 * by the next call, from the offset that only counts what was sent. */
ssize_t fw_io_sendfile(int out_fd, int in_fd, off_t *offset, size_t count)
{
    char buf[FW_SENDFILE_BUFFER];
    ssize_t got, sent;
    if (count > sizeof(buf))
        count = sizeof(buf);
    do {
        got = pread(in_fd, buf, count, *offset);
    } while (got < 0 && errno == EINTR);
    if (got <= 0)
        return got < 0 ? -errno : 0;
    do {
        sent = send(out_fd, buf, (size_t)got, FW_SEND_FLAGS);
    } while (sent < 0 && errno == EINTR);
    if (sent < 0)
        return -errno;
    *offset += sent;
    return sent;
}

#endif

int fw_io_wait_writable(int fd, int timeout_ms)
{
    struct pollfd p;
    p.fd = fd;
    p.events = POLLOUT;
    p.revents = 0;
    int n;
    do {
        n = poll(&p, 1, timeout_ms);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    return n > 0 ? 1 : 0;
}
