/* Micro-benchmark for fw_io_writev (fw_io.h): the sender's CPU time per call.
 *
 *   bench_send [N]     send N responses (default 300,000) of each case over a
 *                      loopback TCP connection, print microseconds of the
 *                      sender's CPU (user + system, getrusage) per call
 *
 * A forked child reads everything; run it under `taskset -c 0` so both share
 * one CPU, as a server and a client would not, but as the measurement wants:
 * no cross-CPU wake-ups, whose cost varies far more than what is measured.
 *
 * Cases, each a head of 140 bytes and a body:
 *   sendmsg 2 bufs     a plain sendmsg(2) of the two, what fw_io_writev did
 *   writev  2 bufs     fw_io_writev of the two: copied together, one send(2)
 * for a 13-byte body (hello world), a 3,000-byte one (still copied) and a
 * 64 KiB one (over the copy limit: sendmsg either way). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../fw_io.h"

static double cpu_seconds(void)
{
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return (double)(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
           (double)(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

/* A connected pair: returns the sending end; the child reads until EOF. */
static int connection(pid_t *reader)
{
    struct sockaddr_in addr;
    socklen_t len = sizeof(addr);
    int one = 1;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
        getsockname(lfd, (struct sockaddr *)&addr, &len) < 0 || listen(lfd, 1) < 0) {
        perror("listen");
        exit(1);
    }
    *reader = fork();
    if (*reader == 0) {
        static char sink[1 << 16];
        int c = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(c, (struct sockaddr *)&addr, sizeof(addr)) < 0)
            _exit(1);
        while (read(c, sink, sizeof(sink)) > 0) {
        }
        _exit(0);
    }
    int fd = accept(lfd, NULL, NULL);
    close(lfd);
    if (fd < 0) {
        perror("accept");
        exit(1);
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static ssize_t plain_sendmsg(int fd, struct iovec *iov, int iovcnt)
{
    struct msghdr msg;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = iov;
    msg.msg_iovlen = (size_t)iovcnt;
    return sendmsg(fd, &msg, MSG_NOSIGNAL);
}

static void run(const char *name, int use_writev, size_t body_len, long n)
{
    static char head[140], body[1 << 16];
    struct iovec iov[2] = { { head, sizeof(head) }, { body, body_len } };
    size_t want = sizeof(head) + body_len;
    pid_t reader;
    int fd = connection(&reader);
    double start = cpu_seconds();
    for (long i = 0; i < n; i++) {
        /* blocking socket: each call takes it all, or the count is off */
        ssize_t sent = use_writev ? fw_io_writev(fd, iov, 2) : plain_sendmsg(fd, iov, 2);
        if (sent != (ssize_t)want) {
            fprintf(stderr, "%s: sent %zd of %zu\n", name, sent, want);
            exit(1);
        }
    }
    double spent = cpu_seconds() - start;
    close(fd);
    waitpid(reader, NULL, 0);
    printf("%-8s 2 bufs, body %5zu: %.3f us per call\n", name, body_len, spent / (double)n * 1e6);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 300000;
    size_t bodies[] = { 13, 3000, 1 << 16 };
    for (size_t b = 0; b < sizeof(bodies) / sizeof(bodies[0]); b++) {
        run("sendmsg", 0, bodies[b], n);
        run("writev", 1, bodies[b], n);
    }
    return 0;
}
