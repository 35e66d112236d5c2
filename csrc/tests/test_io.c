/* Unit tests for fw_io.h over real loopback sockets: TCP_NODELAY set once on the
 * listener reaches accepted sockets, peer addresses, reads and writes, sendfile
 * in pieces through a small socket buffer, and no SIGPIPE from a write to a
 * peer that has gone (SIGPIPE keeps its default action here: it would kill us).
 * The Makefile builds it twice: as this system builds fw_io.c (test_io), and
 * with -DFW_IO_PORTABLE (test_io_portable), the accept and sendfile that
 * systems without accept4 or a known sendfile run. */
#define _GNU_SOURCE
#include "../fw_io.h"
#include "fw_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifdef FW_IO_PORTABLE
#define TEST_NAME "test_io_portable"
#define PORTABLE_SENDFILE_MAX 65536    /* fw_io.c's buffer: no call sends more */
#else
#define TEST_NAME "test_io"
#endif

#define FILE_SIZE (4 * 1024 * 1024)    /* many times the socket buffers below */
#define SMALL_BUFFER 16384             /* SO_SNDBUF / SO_RCVBUF of the sendfile test */

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

static void sleep_ms(long ms)
{
    struct timespec t = { 0, ms * 1000000L };
    nanosleep(&t, NULL);
}

static void check_accepted_flags(int fd)
{
    FW_CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK, "accepted socket blocks");
    FW_CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC, "accepted socket lacks close-on-exec");
}

/* A loopback TCP connection: *client is the connecting end (with SO_RCVBUF
 * rcvbuf unless 0, set before connecting so its window starts small), and the
 * end fw_io_accept returned is the result (negative after a failed check). */
static int tcp_connection(int *client, int rcvbuf)
{
    struct sockaddr_in addr;
    char ip[64];
    int port;
    int lfd = tcp_listener(&addr);
    *client = socket(AF_INET, SOCK_STREAM, 0);
    if (rcvbuf)
        setsockopt(*client, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    FW_CHECK(connect(*client, (struct sockaddr *)&addr, sizeof(addr)) == 0, "connect: %d", errno);
    int fd = fw_io_accept(lfd, ip, sizeof(ip), &port);
    FW_CHECK(fd >= 0, "accept returned %d", fd);
    close(lfd);
    return fd;
}

/* The same over a unix socket in /tmp. */
static int unix_connection(int *client)
{
    struct sockaddr_un addr;
    char ip[64] = "not cleared";
    int port = -1;
    memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    snprintf(addr.sun_path, sizeof(addr.sun_path), "/tmp/fw_test_io.%d.sock", (int)getpid());
    unlink(addr.sun_path);
    int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(lfd, 1) < 0) {
        perror("unix listener");
        exit(2);
    }
    *client = socket(AF_UNIX, SOCK_STREAM, 0);
    FW_CHECK(connect(*client, (struct sockaddr *)&addr, sizeof(addr)) == 0, "connect: %d", errno);
    int fd = fw_io_accept(lfd, ip, sizeof(ip), &port);
    FW_CHECK(fd >= 0, "accept returned %d", fd);
    FW_CHECK(ip[0] == '\0' && port == 0, "a unix peer has no address, got %s port %d", ip, port);
    close(lfd);
    unlink(addr.sun_path);
    return fd;
}

/* Byte i of every test file. */
static unsigned char pattern(size_t i)
{
    return (unsigned char)(i * 31 + (i >> 13));
}

/* An unlinked temporary file of n pattern bytes, its position at 0. */
static int pattern_file(size_t n)
{
    char path[] = "/tmp/fw_test_io.XXXXXX";
    unsigned char block[8192];
    int fd = mkstemp(path);
    if (fd < 0) {
        perror("mkstemp");
        exit(2);
    }
    unlink(path);
    for (size_t at = 0; at < n; at += sizeof(block)) {
        size_t len = n - at < sizeof(block) ? n - at : sizeof(block);
        for (size_t i = 0; i < len; i++)
            block[i] = pattern(at + i);
        if (write(fd, block, len) != (ssize_t)len) {
            perror("write");
            exit(2);
        }
    }
    lseek(fd, 0, SEEK_SET);
    return fd;
}

/* What a peer read of a file sent from offset `base`: byte k of the stream
 * must be pattern(base + k). */
typedef struct {
    size_t base;
    size_t got;                        /* bytes read so far */
    size_t wrong;                      /* of which differ from the file */
} received_t;

/* Reads from client until r->got reaches `until`: only what is waiting, or,
 * with wait, blocking up to the client's SO_RCVTIMEO per read. */
static void receive(int client, received_t *r, size_t until, int wait)
{
    unsigned char buf[65536];
    while (r->got < until) {
        size_t want = until - r->got < sizeof(buf) ? until - r->got : sizeof(buf);
        ssize_t n = recv(client, buf, want, wait ? 0 : MSG_DONTWAIT);
        if (n <= 0)
            return;
        for (ssize_t i = 0; i < n; i++)
            r->wrong += buf[i] != pattern(r->base + r->got + (size_t)i);
        r->got += (size_t)n;
    }
}

static void set_timeout(int fd, int seconds)
{
    struct timeval tv = { seconds, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
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
    FW_CHECK(fw_io_prepare_listener(lfd, 0) == 0, "prepare failed");
    FW_CHECK(connect(client, (struct sockaddr *)&addr, sizeof(addr)) == 0, "connect: %d", errno);
    getsockname(client, (struct sockaddr *)&mine, &len);
    int fd = fw_io_accept(lfd, ip, sizeof(ip), &port);
    FW_CHECK(fd >= 0, "accept returned %d", fd);
    if (fd >= 0) {
        FW_CHECK(nodelay(fd) == 1, "TCP_NODELAY is %d on the accepted socket", nodelay(fd));
        FW_CHECK(strcmp(ip, "127.0.0.1") == 0, "ip %s", ip);
        FW_CHECK(port == ntohs(mine.sin_port), "port %d, client's is %d", port, ntohs(mine.sin_port));
        check_accepted_flags(fd);
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

/* fw_io_format_ipv4 against inet_ntop: each octet position through all 256
 * values (with the others at 0, 9, 10, 99, 100 and 255: every digit count),
 * then a million addresses from a fixed-seed generator. */
static void check_ipv4_text(uint32_t host_order, int *failures)
{
    struct in_addr addr = { htonl(host_order) };
    char mine[FW_IPV4_TEXT], theirs[INET_ADDRSTRLEN];
    size_t n = fw_io_format_ipv4(&addr, mine);
    inet_ntop(AF_INET, &addr, theirs, sizeof(theirs));
    int same = strcmp(mine, theirs) == 0 && n == strlen(theirs);
    if (!same && (*failures)++ < 5)                    /* the first few, not a million */
        FW_CHECK(same, "%s (length %zu), inet_ntop says %s", mine, n, theirs);
}

static void test_ipv4_text(void)
{
    static const uint32_t others[] = { 0, 9, 10, 99, 100, 255 };
    int failures = 0;
    uint32_t x = 2463534242u;                          /* xorshift32 state */
    fw_t_begin("IPv4 text is what inet_ntop writes");
    for (int pos = 0; pos < 4; pos++)
        for (size_t o = 0; o < sizeof(others) / sizeof(others[0]); o++)
            for (uint32_t v = 0; v < 256; v++) {
                uint32_t a = others[o] * 0x01010101u;
                a = (a & ~(0xffu << (8 * pos))) | (v << (8 * pos));
                check_ipv4_text(a, &failures);
            }
    for (int i = 0; i < 1000000; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        check_ipv4_text(x, &failures);
    }
    FW_CHECK(failures == 0, "%d addresses differ", failures);
    fw_t_end();
}

#ifdef TCP_DEFER_ACCEPT
static int defer_accept_of(int lfd)
{
    int secs = -1;
    socklen_t len = sizeof(secs);
    getsockopt(lfd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &secs, &len);
    return secs;
}

/* With defer_accept_secs, a connection that has sent nothing is not handed to
 * accept(); its first bytes make it acceptable at once. 0 clears the option. */
static void test_defer_accept(void)
{
    struct sockaddr_in addr;
    struct pollfd ready;
    char ip[64];
    int port;
    int lfd = tcp_listener(&addr);
    int client = socket(AF_INET, SOCK_STREAM, 0);
    fcntl(lfd, F_SETFL, O_NONBLOCK);
    fw_t_begin("deferred accept: a connection reaches accept() with its first bytes");
    FW_CHECK(fw_io_prepare_listener(lfd, 30) == 1, "prepare did not say it defers");
    FW_CHECK(defer_accept_of(lfd) > 0, "TCP_DEFER_ACCEPT is %d", defer_accept_of(lfd));
    FW_CHECK(connect(client, (struct sockaddr *)&addr, sizeof(addr)) == 0, "connect: %d", errno);
    ready.fd = lfd;
    ready.events = POLLIN;
    FW_CHECK(poll(&ready, 1, 200) == 0, "the listener is readable before any byte came");
    FW_CHECK(fw_io_accept(lfd, ip, sizeof(ip), &port) == -EAGAIN, "a silent connection was accepted");
    FW_CHECK(send(client, "x", 1, 0) == 1, "send");
    FW_CHECK(poll(&ready, 1, 10000) == 1, "the listener never became readable");
    int fd = fw_io_accept(lfd, ip, sizeof(ip), &port);
    FW_CHECK(fd >= 0, "accept returned %d", fd);
    char byte = 0;
    FW_CHECK(fd >= 0 && fw_io_read(fd, &byte, 1) == 1 && byte == 'x', "the byte is not there");
    if (fd >= 0)
        close(fd);
    FW_CHECK(fw_io_prepare_listener(lfd, 0) == 0 && defer_accept_of(lfd) == 0,
             "0 left TCP_DEFER_ACCEPT at %d", defer_accept_of(lfd));
    close(client);
    close(lfd);
    fw_t_end();
}
#endif

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
    FW_CHECK(fw_io_prepare_listener(fds[0], 1) == 0, "a unix socket is refused or said to defer");
    close(fds[0]);
    close(fds[1]);
    fw_t_end();
}

static void test_not_a_socket(void)
{
    int p[2];
    fw_t_begin("not a socket: -ENOTSOCK");
    FW_CHECK(pipe(p) == 0, "pipe");
    FW_CHECK(fw_io_prepare_listener(p[0], 1) == -ENOTSOCK, "got %d", fw_io_prepare_listener(p[0], 1));
    close(p[0]);
    close(p[1]);
    fw_t_end();
}

static void test_unix_accept(void)
{
    int client;
    char buf[8];
    fw_t_begin("unix accept: non-blocking, close-on-exec, no address");
    int fd = unix_connection(&client);
    if (fd >= 0) {
        check_accepted_flags(fd);
        FW_CHECK(send(client, "hi", 2, 0) == 2, "send");
        FW_CHECK(fw_io_read(fd, buf, sizeof(buf)) == 2 && memcmp(buf, "hi", 2) == 0, "read");
        close(fd);
    }
    close(client);
    fw_t_end();
}

static void test_sendfile_slice(void)
{
    int client;
    int file = pattern_file(100000);
    received_t r = { 12345, 0, 0 };
    off_t off = 12345;
    char extra;
    fw_t_begin("sendfile: the slice asked for, the file's own position untouched, 0 at the end");
    int fd = tcp_connection(&client, 0);
    set_timeout(client, 5);
    if (fd >= 0) {
        ssize_t n = fw_io_sendfile(fd, file, &off, 1000);
        FW_CHECK(n == 1000, "sent %zd", n);
        FW_CHECK(off == 13345, "offset %lld", (long long)off);
        receive(client, &r, 1000, 1);
        FW_CHECK(r.got == 1000 && r.wrong == 0, "peer got %zu bytes, %zu wrong", r.got, r.wrong);
        FW_CHECK(recv(client, &extra, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN, "more than asked");
        FW_CHECK(lseek(file, 0, SEEK_CUR) == 0, "the file's position moved");

        off = 99990;                    /* the last 10 bytes, asked for 1000 */
        FW_CHECK(fw_io_sendfile(fd, file, &off, 1000) == 10 && off == 100000, "tail: %lld",
                 (long long)off);
        FW_CHECK(fw_io_sendfile(fd, file, &off, 1000) == 0, "at the end of the file");
        FW_CHECK(off == 100000, "offset moved at the end: %lld", (long long)off);
        off = 200000;
        FW_CHECK(fw_io_sendfile(fd, file, &off, 1000) == 0, "past the end of the file");
        off = 0;
        FW_CHECK(fw_io_sendfile(fd, file, &off, 0) == 0 && off == 0, "count 0 sent something");
        close(fd);
    }
    close(client);
    close(file);
    fw_t_end();
}

static void test_sendfile_in_pieces(void)
{
    int client;
    int file = pattern_file(FILE_SIZE);
    int small = SMALL_BUFFER;
    received_t r = { 0, 0, 0 };
    off_t off = 0;
    int partial = 0, full = 0, calls = 0, bad_offset = 0, too_big = 0, failed = 0;
    fw_t_begin("sendfile through a small socket buffer: partial counts, -EAGAIN, every byte once");
    int fd = tcp_connection(&client, small);
    set_timeout(client, 5);
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
        while (off < FILE_SIZE && calls < 100000 && !failed) {
            off_t before = off;
            size_t left = (size_t)(FILE_SIZE - off);
            ssize_t n = fw_io_sendfile(fd, file, &off, left);
            calls++;
            if (n == -EAGAIN) {
                full++;
                bad_offset += off != before;
                receive(client, &r, FILE_SIZE, 0);   /* the peer reads what is there */
            } else if (n > 0) {
                partial += (size_t)n < left;
                bad_offset += off != before + n;
#ifdef PORTABLE_SENDFILE_MAX
                too_big += n > PORTABLE_SENDFILE_MAX;
#endif
            } else {
                FW_CHECK(n > 0, "sendfile returned %zd at offset %lld", n, (long long)before);
                failed = 1;
            }
        }
        receive(client, &r, FILE_SIZE, 1);
        FW_CHECK(off == FILE_SIZE, "stopped at offset %lld after %d calls", (long long)off, calls);
        FW_CHECK(r.got == FILE_SIZE && r.wrong == 0, "peer got %zu of %d bytes, %zu wrong",
                 r.got, FILE_SIZE, r.wrong);
        FW_CHECK(partial > 0, "no call sent less than asked");
        FW_CHECK(full > 0, "the socket never filled up (-EAGAIN)");
        FW_CHECK(bad_offset == 0, "%d calls left the offset wrong", bad_offset);
        FW_CHECK(too_big == 0, "%d calls sent more than the portable buffer", too_big);
        FW_CHECK(fw_io_sendfile(fd, file, &off, 4096) == 0, "at the end of the file");
        close(fd);
    }
    close(client);
    close(file);
    fw_t_end();
}

/* The byte stream both writev tests send: stream[i] == pattern(i). */
static unsigned char stream[1 << 20];

static void fill_stream(void)
{
    for (size_t i = 0; i < sizeof(stream); i++)
        stream[i] = pattern(i);
}

/* Writes of three pieces of `piece` bytes each into a socket with small
 * buffers until -EAGAIN; every byte fw_io_writev counted, and only those,
 * must arrive. Small pieces are copied together into one send, large ones go
 * as they are: a partial send must be counted right either way. */
static void check_fill(const char *name, size_t piece)
{
    int client;
    int small = SMALL_BUFFER;
    size_t sent = 0;
    ssize_t n = 0;
    received_t r = { 0, 0, 0 };
    fw_t_begin(name);
    int fd = tcp_connection(&client, small);
    set_timeout(client, 5);
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
        while (sent + 3 * piece <= sizeof(stream)) {
            struct iovec iov[3] = { { stream + sent, piece }, { stream + sent + piece, piece },
                                    { stream + sent + 2 * piece, piece } };
            n = fw_io_writev(fd, iov, 3);
            if (n < 0)
                break;
            sent += (size_t)n;
        }
        FW_CHECK(n == -EAGAIN, "last writev returned %zd after %zu bytes", n, sent);
        receive(client, &r, sent, 1);
        FW_CHECK(r.got == sent && r.wrong == 0, "peer got %zu of %zu bytes, %zu wrong",
                 r.got, sent, r.wrong);
        FW_CHECK(recv(client, stream, 1, MSG_DONTWAIT) < 0, "the peer got more than was counted");
        fill_stream();                  /* that recv may have overwritten a byte */
        close(fd);
    }
    close(client);
    fw_t_end();
}

static void test_writev_fills_the_socket(void)
{
    fill_stream();
    check_fill("writev of 3 x 1,000 bytes (one send) on a full socket: -EAGAIN, and what "
               "it took arrives", 1000);
    check_fill("writev of 3 x 32 KiB (sendmsg) on a full socket: -EAGAIN, and what it took "
               "arrives", 32768);
}

/* Piece layouts on both sides of the 4 KiB copy limit, one with an empty
 * piece that has no base: each call takes all, and the stream arrives whole. */
static void test_writev_layouts(void)
{
    static const size_t layouts[][4] = {
        { 1, 1, 0, 0 }, { 140, 0, 13, 0 }, { 4000, 96, 0, 0 }, { 4000, 97, 0, 0 },
        { 3, 5000, 3, 0 }, { 1024, 1024, 1024, 1024 }, { 1024, 1024, 1024, 1025 },
    };
    int client;
    size_t sent = 0;
    received_t r = { 0, 0, 0 };
    fw_t_begin("writev: small gathers and large ones arrive whole and in order");
    fill_stream();
    int fd = tcp_connection(&client, 0);
    set_timeout(client, 5);
    if (fd >= 0) {
        for (size_t l = 0; l < sizeof(layouts) / sizeof(layouts[0]); l++) {
            struct iovec iov[4];
            size_t total = 0;
            for (int i = 0; i < 4; i++) {
                iov[i].iov_base = layouts[l][i] ? stream + sent + total : NULL;
                iov[i].iov_len = layouts[l][i];
                total += layouts[l][i];
            }
            ssize_t n = fw_io_writev(fd, iov, 4);
            FW_CHECK(n == (ssize_t)total, "layout %zu: sent %zd of %zu", l, n, total);
            if (n > 0)
                sent += (size_t)n;
        }
        receive(client, &r, sent, 1);
        FW_CHECK(r.got == sent && r.wrong == 0, "peer got %zu of %zu bytes, %zu wrong",
                 r.got, sent, r.wrong);
        close(fd);
    }
    close(client);
    fw_t_end();
}

/* SIGPIPE has its default action in this process: a write that raised it
 * would end the test binary, which the Makefile reports as a crash. */
static void check_no_sigpipe(int fd, int file)
{
    struct iovec iov = { "x", 1 };
    off_t off = 0;
    sigset_t before, after;
    ssize_t n = fw_io_writev(fd, &iov, 1);
    FW_CHECK(n == -EPIPE, "writev to a gone peer returned %zd", n);
    pthread_sigmask(SIG_SETMASK, NULL, &before);
    n = fw_io_sendfile(fd, file, &off, 4096);
    pthread_sigmask(SIG_SETMASK, NULL, &after);
    /* macOS's sendfile looks at the connection before it sends: ENOTCONN */
    FW_CHECK(n == -EPIPE || n == -ENOTCONN, "sendfile to a gone peer returned %zd", n);
    FW_CHECK(off == 0, "offset moved to %lld", (long long)off);
    FW_CHECK(sigismember(&after, SIGPIPE) == sigismember(&before, SIGPIPE),
             "sendfile changed the signal mask");
}

static void test_no_sigpipe_unix(void)
{
    int client;
    int file = pattern_file(100000);
    fw_t_begin("unix peer gone: writev and sendfile return -EPIPE, no SIGPIPE");
    int fd = unix_connection(&client);
    close(client);
    if (fd >= 0) {
        check_no_sigpipe(fd, file);
        close(fd);
    }
    close(file);
    fw_t_end();
}

static void test_no_sigpipe_tcp(void)
{
    int client;
    int file = pattern_file(100000);
    struct linger reset = { 1, 0 };
    struct iovec iov = { "x", 1 };
    ssize_t n = 0;
    int i;
    fw_t_begin("tcp peer reset: writes end in -EPIPE, no SIGPIPE");
    int fd = tcp_connection(&client, 0);
    setsockopt(client, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
    close(client);                      /* with a reset, as a vanished client */
    if (fd >= 0) {
        /* The reset is reported once (-ECONNRESET, or a write may still pass
         * before it lands); after it every write is -EPIPE. */
        for (i = 0; i < 200; i++) {
            n = fw_io_writev(fd, &iov, 1);
            if (n == -EPIPE)
                break;
            FW_CHECK(n == 1 || n == -ECONNRESET, "writev returned %zd", n);
            sleep_ms(5);
        }
        FW_CHECK(n == -EPIPE, "no -EPIPE after 200 writes: %zd", n);
        check_no_sigpipe(fd, file);
        close(fd);
    }
    close(file);
    fw_t_end();
}

/* A caller that blocks SIGPIPE itself keeps what it had pending, and gets
 * nothing new from the call: a SIGPIPE it raised before stays pending, the
 * one sendfile raises does not. */
static void test_sigpipe_blocked_by_the_caller(void)
{
    int file = pattern_file(100000);
    sigset_t sigpipe, old, pending;
    int pass;
    fw_t_begin("SIGPIPE blocked by the caller: its pending one stays, none is added");
    sigemptyset(&sigpipe);
    sigaddset(&sigpipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &sigpipe, &old);
    for (pass = 0; pass < 2; pass++) {
        int client, fd = unix_connection(&client);
        off_t off = 0;
        const struct timespec no_wait = { 0, 0 };
        if (fd < 0)
            break;
        close(client);
        if (pass == 1)
            raise(SIGPIPE);                       /* the caller's own, pending */
        ssize_t n = fw_io_sendfile(fd, file, &off, 4096);
        FW_CHECK(n == -EPIPE || n == -ENOTCONN, "sendfile to a gone peer returned %zd", n);
        sigpending(&pending);
        FW_CHECK(sigismember(&pending, SIGPIPE) == pass,
                 "pass %d: SIGPIPE %s pending after the call", pass,
                 sigismember(&pending, SIGPIPE) ? "is" : "is not");
        while (sigtimedwait(&sigpipe, NULL, &no_wait) > 0)
            ;                                     /* none left before unblocking */
        close(fd);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(file);
    fw_t_end();
}

int main(void)
{
    signal(SIGPIPE, SIG_DFL);           /* whatever the caller set: a SIGPIPE must kill */
    alarm(60);                          /* and so must a hang (an fd left blocking) */
    test_tcp_accept();
    test_unix_accept();
    test_ipv4_text();
    test_nothing_waiting();
#ifdef TCP_DEFER_ACCEPT
    test_defer_accept();
#endif
    test_unix_listener();
    test_not_a_socket();
    test_sendfile_slice();
    test_sendfile_in_pieces();
    test_writev_fills_the_socket();
    test_writev_layouts();
    test_no_sigpipe_unix();
    test_no_sigpipe_tcp();
    test_sigpipe_blocked_by_the_caller();
    return fw_test_report(TEST_NAME);
}
