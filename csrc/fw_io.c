#define _GNU_SOURCE                    /* accept4 */
#include "fw_io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

int fw_io_accept(int lfd, char *ip, size_t iplen, int *port)
{
    struct sockaddr_storage addr;
    socklen_t addrlen = sizeof(addr);
    int fd;
    do {
        fd = accept4(lfd, (struct sockaddr *)&addr, &addrlen, SOCK_NONBLOCK | SOCK_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return -errno;

    ip[0] = '\0';
    *port = 0;
    if (addr.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&addr;
        inet_ntop(AF_INET, &a->sin_addr, ip, (socklen_t)iplen);
        *port = ntohs(a->sin_port);
    } else if (addr.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&addr;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, (socklen_t)iplen);
        *port = ntohs(a->sin6_port);
    }
    return fd;
}

int fw_io_prepare_listener(int lfd)
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
    return 0;
}

ssize_t fw_io_read(int fd, char *buf, size_t n)
{
    ssize_t got;
    do {
        got = recv(fd, buf, n, 0);
    } while (got < 0 && errno == EINTR);
    return got < 0 ? -errno : got;
}

ssize_t fw_io_writev(int fd, const struct iovec *iov, int iovcnt)
{
    struct msghdr msg;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = (struct iovec *)iov;  /* sendmsg does not write through it */
    msg.msg_iovlen = (size_t)iovcnt;
    ssize_t sent;
    do {
        sent = sendmsg(fd, &msg, MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    return sent < 0 ? -errno : sent;
}

ssize_t fw_io_sendfile(int out_fd, int in_fd, off_t *offset, size_t count)
{
    ssize_t sent;
    do {
        sent = sendfile(out_fd, in_fd, offset, count);
    } while (sent < 0 && errno == EINTR);
    return sent < 0 ? -errno : sent;
}

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
