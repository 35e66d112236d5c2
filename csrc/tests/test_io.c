/* Unit tests for fw_io.h over real loopback sockets: TCP_NODELAY set once on the
 * listener reaches accepted sockets, peer addresses, reads and writes. */
#define _GNU_SOURCE
#include "../fw_io.h"
#include "fw_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int tcp_listener(struct sockaddr_in *addr)
{
    socklen_t len = sizeof(*addr);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    memset(addr, 0, sizeof(*addr));
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)addr, sizeof(*addr)) < 0 || listen(lfd, 8) < 0
        || getsockname(lfd, (struct sockaddr *)addr, &len) < 0) {
        perror("tcp listener");
        exit(2);
    }
    return lfd;
}

static int nodelay(int fd)
{
    int on = -1;
    socklen_t len = sizeof(on);
    if (getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &len) < 0)
        return -1;
    return on != 0;
}

static void test_tcp_accept(void)
{
    struct sockaddr_in addr;
    char ip[64], buf[16];
    int port = -1;
    int lfd = tcp_listener(&addr);
    int client = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in mine;
    socklen_t len = sizeof(mine);

    fw_t_begin("tcp accept inherits TCP_NODELAY from the listener");
    FW_CHECK(fw_io_prepare_listener(lfd) == 0, "prepare failed");
    FW_CHECK(connect(client, (struct sockaddr *)&addr, sizeof(addr)) == 0, "connect: %d", errno);
    getsockname(client, (struct sockaddr *)&mine, &len);
    int fd = fw_io_accept(lfd, ip, sizeof(ip), &port);
    FW_CHECK(fd >= 0, "accept returned %d", fd);
    if (fd >= 0) {
        FW_CHECK(nodelay(fd) == 1, "TCP_NODELAY is %d on the accepted socket", nodelay(fd));
        FW_CHECK(strcmp(ip, "127.0.0.1") == 0, "ip %s", ip);
        FW_CHECK(port == ntohs(mine.sin_port), "port %d, client's is %d", port, ntohs(mine.sin_port));
        FW_CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK, "accepted socket blocks");
        FW_CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC, "accepted socket lacks close-on-exec");
        FW_CHECK(fw_io_read(fd, buf, sizeof(buf)) == -EAGAIN, "read with nothing sent");
        struct iovec iov[2] = { { "ab", 2 }, { "cde", 3 } };
        FW_CHECK(fw_io_writev(fd, iov, 2) == 5, "writev");
        FW_CHECK(recv(client, buf, 5, MSG_WAITALL) == 5 && memcmp(buf, "abcde", 5) == 0,
                 "client did not get abcde");
        close(client);
        FW_CHECK(fw_io_read(fd, buf, sizeof(buf)) == 0, "read after the peer closed");
        close(fd);
    }
    close(lfd);
    fw_t_end();
}

static void test_nothing_waiting(void)
{
    struct sockaddr_in addr;
    char ip[64];
    int port;
    int lfd = tcp_listener(&addr);
    fcntl(lfd, F_SETFL, O_NONBLOCK);
    fw_t_begin("accept with nobody waiting");
    FW_CHECK(fw_io_accept(lfd, ip, sizeof(ip), &port) == -EAGAIN, "expected -EAGAIN");
    close(lfd);
    fw_t_end();
}

static void test_unix_listener(void)
{
    int fds[2];
    fw_t_begin("a unix socket needs no TCP option");
    FW_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0, "socketpair");
    FW_CHECK(fw_io_prepare_listener(fds[0]) == 0, "unix socket refused");
    close(fds[0]);
    close(fds[1]);
    fw_t_end();
}

static void test_not_a_socket(void)
{
    int p[2];
    fw_t_begin("not a socket: -ENOTSOCK");
    FW_CHECK(pipe(p) == 0, "pipe");
    FW_CHECK(fw_io_prepare_listener(p[0]) == -ENOTSOCK, "got %d", fw_io_prepare_listener(p[0]));
    close(p[0]);
    close(p[1]);
    fw_t_end();
}

int main(void)
{
    test_tcp_accept();
    test_nothing_waiting();
    test_unix_listener();
    test_not_a_socket();
    return fw_test_report("test_io");
}
