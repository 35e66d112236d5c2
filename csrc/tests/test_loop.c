/* Unit tests for fw_loop.h, built once per backend (the Makefile links this file
 * with fw_loop_epoll.c and with fw_loop_poll.c, and defines FW_LOOP_EXPECTED as
 * the backend's name) over real pipes and socket pairs: readiness, the level-
 * triggered contract, add/modify/delete/close, errors, timeouts, signals, and
 * hundreds of fds at once. */
#define _GNU_SOURCE
#include "../fw_loop.h"
#include "fw_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 64
#define MANY_PAIRS 400                 /* 800 fds: more than one batch, several growths */

static fw_event_t events[MAX_EVENTS];

static int is_backend(const char *name)
{
    return strcmp(fw_loop_backend(), name) == 0;
}

static fw_loop_t *new_loop(void)
{
    fw_loop_t *loop = fw_loop_create();
    if (loop == NULL) {
        perror("fw_loop_create");
        exit(2);
    }
    return loop;
}

static void nonblocking(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void new_pair(int fds[2])
{
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) < 0) {
        perror("socketpair");
        exit(2);
    }
    nonblocking(fds[0]);
    nonblocking(fds[1]);
}

/* An empty pipe whose read end p[0] is added for reading. */
static void watched_pipe(fw_loop_t *loop, int p[2])
{
    if (pipe(p) < 0) {
        perror("pipe");
        exit(2);
    }
    FW_CHECK(fw_loop_add(loop, p[0], FW_READABLE) == 0, "add");
}

/* A socket pair with one byte waiting on s[0], and s[0] added for reading. */
static void readable_pair(fw_loop_t *loop, int s[2])
{
    new_pair(s);
    FW_CHECK(send(s[1], "x", 1, 0) == 1, "send");
    FW_CHECK(fw_loop_add(loop, s[0], FW_READABLE) == 0, "add");
}

static void close_pair(int fds[2])
{
    close(fds[0]);
    close(fds[1]);
}

/* One wait; returns what fired for fd (0 if nothing), or -1 if the wait failed.
 * *total gets how many events the wait returned, when total is not NULL. */
static int wait_for(fw_loop_t *loop, int fd, int timeout_ms, int *total)
{
    int n = fw_loop_wait(loop, events, MAX_EVENTS, timeout_ms);
    if (total != NULL)
        *total = n;
    if (n < 0)
        return -1;
    int mask = 0;
    for (int i = 0; i < n; i++)
        if (events[i].fd == fd)
            mask |= (int)events[i].events;   /* kqueue may report reading and writing apart */
    return mask;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void test_name(void)
{
    fw_t_begin("the backend's name is the one built");
    FW_CHECK(is_backend(FW_LOOP_EXPECTED), "name %s", fw_loop_backend());
    fw_t_end();
}

static void test_close_on_exec(void)
{
    /* The loop's fd, if its backend opens one, takes the lowest free number. */
    int next = dup(2);
    close(next);
    fw_t_begin("the loop's own fd is close-on-exec");
    fw_loop_t *loop = new_loop();
    int flags = fcntl(next, F_GETFD);
    if (is_backend("poll"))
        FW_CHECK(flags < 0, "poll opened fd %d", next);
    else
        FW_CHECK(flags >= 0 && (flags & FD_CLOEXEC), "fd %d: flags %d", next, flags);
    fw_loop_destroy(loop);
    fw_t_end();
}

static void test_timeouts(void)
{
    fw_loop_t *loop = new_loop();
    int p[2], total;
    fw_t_begin("timeouts: 0 polls, a positive timeout waits, nothing fired is 0");
    watched_pipe(loop, p);
    FW_CHECK(wait_for(loop, p[0], 0, &total) == 0 && total == 0, "wait(0) returned %d", total);
    double start = now_ms();
    FW_CHECK(wait_for(loop, p[0], 100, &total) == 0 && total == 0, "wait(100) returned %d", total);
    double waited = now_ms() - start;
    FW_CHECK(waited >= 90, "wait(100) returned after %.1f ms", waited);
    FW_CHECK(waited < 10000, "wait(100) returned after %.1f ms", waited);
    start = now_ms();
    FW_CHECK(wait_for(loop, p[0], 0, &total) == 0, "wait(0)");
    FW_CHECK(now_ms() - start < 5000, "wait(0) blocked");
    close_pair(p);
    fw_loop_destroy(loop);
    fw_t_end();
}

static void test_readable_level_triggered(void)
{
    fw_loop_t *loop = new_loop();
    int p[2];
    char c;
    fw_t_begin("a pipe with data is readable until it is drained");
    watched_pipe(loop, p);
    FW_CHECK(wait_for(loop, p[0], 0, NULL) == 0, "readable while empty");
    FW_CHECK(write(p[1], "xy", 2) == 2, "write");
    FW_CHECK(wait_for(loop, p[0], 5000, NULL) == FW_READABLE, "not readable with data");
    FW_CHECK(read(p[0], &c, 1) == 1, "read");
    FW_CHECK(wait_for(loop, p[0], 5000, NULL) == FW_READABLE, "one byte left, not reported again");
    FW_CHECK(read(p[0], &c, 1) == 1, "read");
    FW_CHECK(wait_for(loop, p[0], 0, NULL) == 0, "still readable once drained");
    close_pair(p);
    fw_loop_destroy(loop);
    fw_t_end();
}

static void test_writable(void)
{
    fw_loop_t *loop = new_loop();
    int s[2];
    char buf[65536];
    memset(buf, 'w', sizeof(buf));
    fw_t_begin("a socket is writable while its send buffer has room");
    new_pair(s);
    FW_CHECK(fw_loop_add(loop, s[0], FW_WRITABLE) == 0, "add");
    FW_CHECK(wait_for(loop, s[0], 5000, NULL) == FW_WRITABLE, "fresh socket not writable");
    while (send(s[0], buf, sizeof(buf), 0) > 0)
        ;
    FW_CHECK(errno == EAGAIN || errno == EWOULDBLOCK, "send failed: %d", errno);
    FW_CHECK(wait_for(loop, s[0], 0, NULL) == 0, "writable with a full buffer");
    while (recv(s[1], buf, sizeof(buf), 0) > 0)
        ;
    FW_CHECK(wait_for(loop, s[0], 5000, NULL) == FW_WRITABLE, "not writable once the peer read");
    close_pair(s);
    fw_loop_destroy(loop);
    fw_t_end();
}

static void test_modify(void)
{
    fw_loop_t *loop = new_loop();
    int s[2];
    fw_t_begin("modify switches between reading, writing, both and silence");
    readable_pair(loop, s);
    FW_CHECK(wait_for(loop, s[0], 5000, NULL) == FW_READABLE, "readable");
    FW_CHECK(fw_loop_modify(loop, s[0], 0) == 0, "modify to 0");
    FW_CHECK(wait_for(loop, s[0], 0, NULL) == 0, "mask 0 is not silent");
    FW_CHECK(fw_loop_modify(loop, s[0], FW_WRITABLE) == 0, "modify to writable");
    FW_CHECK(wait_for(loop, s[0], 5000, NULL) == FW_WRITABLE, "not only writable");
    FW_CHECK(fw_loop_modify(loop, s[0], FW_READABLE | FW_WRITABLE) == 0, "modify to both");
    FW_CHECK(wait_for(loop, s[0], 5000, NULL) == (FW_READABLE | FW_WRITABLE), "not both");
    FW_CHECK(fw_loop_modify(loop, s[0], FW_READABLE) == 0, "modify to readable");
    FW_CHECK(wait_for(loop, s[0], 5000, NULL) == FW_READABLE, "not only readable");
    close_pair(s);
    fw_loop_destroy(loop);
    fw_t_end();
}

static void test_delete_and_readd(void)
{
    fw_loop_t *loop = new_loop();
    int s[2];
    fw_t_begin("a deleted fd is not reported, and can be added again");
    readable_pair(loop, s);
    FW_CHECK(fw_loop_delete(loop, s[0]) == 0, "delete");
    FW_CHECK(wait_for(loop, s[0], 0, NULL) == 0, "reported after delete");
    FW_CHECK(fw_loop_delete(loop, s[0]) == -ENOENT, "second delete: %d", fw_loop_delete(loop, s[0]));
    FW_CHECK(fw_loop_modify(loop, s[0], FW_READABLE) == -ENOENT, "modify after delete");
    FW_CHECK(fw_loop_add(loop, s[0], FW_READABLE) == 0, "add again");
    FW_CHECK(wait_for(loop, s[0], 5000, NULL) == FW_READABLE, "not reported after adding again");
    close_pair(s);
    fw_loop_destroy(loop);
    fw_t_end();
}

static void test_errors(void)
{
    fw_loop_t *loop = new_loop();
    int s[2];
    fw_t_begin("errors: unknown fds, a second add, no room for events");
    new_pair(s);
    FW_CHECK(fw_loop_modify(loop, s[0], FW_READABLE) == -ENOENT, "modify of an fd never added");
    FW_CHECK(fw_loop_delete(loop, s[0]) == -ENOENT, "delete of an fd never added");
    FW_CHECK(fw_loop_add(loop, -1, FW_READABLE) == -EBADF, "add of fd -1");
    FW_CHECK(fw_loop_modify(loop, -1, FW_READABLE) < 0, "modify of fd -1");
    FW_CHECK(fw_loop_add(loop, s[0], FW_READABLE) == 0, "add");
    if (!is_backend("kqueue"))         /* kqueue's EV_ADD updates what is there */
        FW_CHECK(fw_loop_add(loop, s[0], FW_READABLE) == -EEXIST, "second add");
    FW_CHECK(fw_loop_wait(loop, events, 0, 0) == -EINVAL, "wait with max 0");
    close_pair(s);
    fw_loop_destroy(loop);
    fw_t_end();
}

static void test_close(void)
{
    fw_loop_t *loop = new_loop();
    int s[2], t[2];
    fw_t_begin("close closes and forgets the fd; its number can be added again");
    readable_pair(loop, s);
    int fd = s[0];
    FW_CHECK(fw_loop_close(loop, fd) == 0, "close");
    FW_CHECK(fcntl(fd, F_GETFD) < 0 && errno == EBADF, "fd %d still open", fd);
    FW_CHECK(wait_for(loop, fd, 0, NULL) == 0, "closed fd reported");
    new_pair(t);                       /* a new socket under the old number */
    if (t[0] != fd) {
        FW_CHECK(dup2(t[0], fd) == fd, "dup2");
        close(t[0]);
        t[0] = fd;
    }
    FW_CHECK(fw_loop_add(loop, t[0], FW_READABLE) == 0, "add of the reused number");
    FW_CHECK(wait_for(loop, t[0], 0, NULL) == 0, "the new socket reported with nothing sent");
    FW_CHECK(send(t[1], "y", 1, 0) == 1, "send");
    FW_CHECK(wait_for(loop, t[0], 5000, NULL) == FW_READABLE, "the new socket not readable");
    close(s[1]);
    close_pair(t);
    fw_loop_destroy(loop);
    fw_t_end();
}

static void test_peer_hangup(void)
{
    fw_loop_t *loop = new_loop();
    int r[2], w[2];
    char c;
    fw_t_begin("a peer's close wakes the reader and the writer");
    new_pair(r);
    new_pair(w);
    FW_CHECK(fw_loop_add(loop, r[0], FW_READABLE) == 0, "add reader");
    FW_CHECK(fw_loop_add(loop, w[0], 0) == 0, "add silent writer");
    close(r[1]);
    close(w[1]);
    FW_CHECK(wait_for(loop, r[0], 5000, NULL) & FW_READABLE, "reader not woken");
    int silent = wait_for(loop, w[0], 0, NULL);
    if (is_backend("epoll"))           /* epoll reports EPOLLHUP whatever the mask */
        FW_CHECK(silent == (FW_READABLE | FW_WRITABLE), "epoll reported %d", silent);
    else
        FW_CHECK(silent == 0, "the silent fd was reported: %d", silent);
    FW_CHECK(read(r[0], &c, 1) == 0, "read does not see EOF");
    FW_CHECK(fw_loop_modify(loop, w[0], FW_WRITABLE) == 0, "modify writer");
    FW_CHECK(wait_for(loop, w[0], 5000, NULL) & FW_WRITABLE, "writer not woken");
    FW_CHECK(send(w[0], "z", 1, 0) < 0 && errno == EPIPE, "send does not fail with EPIPE");
    close(r[0]);
    close(w[0]);
    fw_loop_destroy(loop);
    fw_t_end();
}

static void test_socket_error(void)
{
    fw_loop_t *loop = new_loop();
    struct sockaddr_in addr;
    socklen_t len = sizeof(addr);
    int err = 0;
    fw_t_begin("a refused connect is reported to a reader, with the error in SO_ERROR");
    int probe = socket(AF_INET, SOCK_STREAM, 0);
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    FW_CHECK(bind(probe, (struct sockaddr *)&addr, sizeof(addr)) == 0, "bind");
    getsockname(probe, (struct sockaddr *)&addr, &len);
    close(probe);                      /* a port nobody listens on */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    nonblocking(fd);
    int rc = connect(fd, (struct sockaddr *)&addr, sizeof(addr));
    FW_CHECK(rc == 0 || errno == EINPROGRESS || errno == ECONNREFUSED, "connect: %d", errno);
    if (rc < 0 && errno == EINPROGRESS) {
        FW_CHECK(fw_loop_add(loop, fd, FW_READABLE) == 0, "add");
        FW_CHECK(wait_for(loop, fd, 5000, NULL) & FW_READABLE, "error not reported as readable");
        len = sizeof(err);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        FW_CHECK(err == ECONNREFUSED, "SO_ERROR is %d", err);
    }
    close(fd);
    fw_loop_destroy(loop);
    fw_t_end();
}

static void test_closed_behind_the_loop(void)
{
    fw_loop_t *loop = new_loop();
    int s[2];
    fw_t_begin("an fd closed without fw_loop_close: poll says so, epoll and kqueue forget it");
    new_pair(s);
    FW_CHECK(fw_loop_add(loop, s[0], FW_READABLE) == 0, "add");
    close(s[0]);
    int fired = wait_for(loop, s[0], 0, NULL);
    if (is_backend("poll"))            /* POLLNVAL, reported so a reader sees EBADF */
        FW_CHECK(fired == (FW_READABLE | FW_WRITABLE), "poll reported %d", fired);
    else
        FW_CHECK(fired == 0, "%s reported %d", fw_loop_backend(), fired);
    FW_CHECK(fw_loop_delete(loop, s[0]) == (is_backend("poll") ? 0 : -EBADF), "delete");
    close(s[1]);
    fw_loop_destroy(loop);
    fw_t_end();
}

static void on_alarm(int sig)
{
    (void)sig;
}

static void test_signal_interrupts(void)
{
    fw_loop_t *loop = new_loop();
    struct sigaction sa, old;
    struct itimerval timer = { { 0, 0 }, { 0, 50000 } };
    int p[2];
    fw_t_begin("a signal ends an endless wait with -EINTR");
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;          /* no SA_RESTART: poll and epoll_wait never restart anyway */
    sigaction(SIGALRM, &sa, &old);
    watched_pipe(loop, p);
    setitimer(ITIMER_REAL, &timer, NULL);
    int n = fw_loop_wait(loop, events, MAX_EVENTS, -1);
    FW_CHECK(n == -EINTR, "wait returned %d", n);
    sigaction(SIGALRM, &old, NULL);
    close_pair(p);
    fw_loop_destroy(loop);
    fw_t_end();
}

/* Waits until every fd in want[0..n) has been reported at least once and no
 * other fd ever was, in at most rounds waits; returns how many were seen. */
static int see_all(fw_loop_t *loop, const int *want, int n, int rounds, int *strays)
{
    static char seen[65536];
    int seen_count = 0;
    memset(seen, 0, sizeof(seen));
    *strays = 0;
    for (int i = 0; i < n; i++)
        seen[want[i]] = 1;             /* 1: wanted, 2: wanted and seen */
    for (int r = 0; r < rounds && seen_count < n; r++) {
        int got = fw_loop_wait(loop, events, MAX_EVENTS, 5000);
        if (got <= 0)
            break;
        for (int i = 0; i < got; i++) {
            int fd = events[i].fd;
            if (fd < 0 || fd >= (int)sizeof(seen) || seen[fd] == 0 || events[i].events != FW_READABLE)
                (*strays)++;
            else if (seen[fd] == 1) {
                seen[fd] = 2;
                seen_count++;
            }
        }
    }
    return seen_count;
}

static void test_many_fds(void)
{
    fw_loop_t *loop = new_loop();
    static int pairs[MANY_PAIRS][2];
    static int want[MANY_PAIRS];
    int strays, n = 0;
    fw_t_begin("hundreds of fds: all ready ones get their turn, deletes keep the rest intact");
    for (int i = 0; i < MANY_PAIRS; i++) {
        readable_pair(loop, pairs[i]);
        want[i] = pairs[i][0];
    }
    /* more ready than one wait returns: level-triggered, nothing is read, and
     * still every fd is reported within a few rounds more than the minimum */
    int rounds = 2 * (MANY_PAIRS / MAX_EVENTS + 1);
    FW_CHECK(see_all(loop, want, MANY_PAIRS, rounds, &strays) == MANY_PAIRS && strays == 0,
             "not every fd reported in %d rounds (%d strays)", rounds, strays);

    /* delete every third, silence every third, keep the rest */
    for (int i = 0; i < MANY_PAIRS; i++) {
        if (i % 3 == 0)
            FW_CHECK(fw_loop_delete(loop, pairs[i][0]) == 0, "delete %d", i);
        else if (i % 3 == 1)
            FW_CHECK(fw_loop_modify(loop, pairs[i][0], 0) == 0, "silence %d", i);
        else
            want[n++] = pairs[i][0];
    }
    FW_CHECK(see_all(loop, want, n, rounds, &strays) == n && strays == 0,
             "after deletes: not every fd kept reported, or %d strays", strays);

    /* close the kept ones through the loop, wake the silenced ones */
    n = 0;
    for (int i = 0; i < MANY_PAIRS; i++) {
        if (i % 3 == 2)
            FW_CHECK(fw_loop_close(loop, pairs[i][0]) == 0, "close %d", i);
        else if (i % 3 == 1) {
            FW_CHECK(fw_loop_modify(loop, pairs[i][0], FW_READABLE) == 0, "wake %d", i);
            want[n++] = pairs[i][0];
        }
    }
    FW_CHECK(see_all(loop, want, n, rounds, &strays) == n && strays == 0,
             "after closes: not every woken fd reported, or %d strays", strays);

    for (int i = 0; i < MANY_PAIRS; i++) {
        if (i % 3 != 2)
            close(pairs[i][0]);
        close(pairs[i][1]);
    }
    fw_loop_destroy(loop);
    fw_t_end();
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);          /* a failed test may write to a closed peer */
    test_name();
    test_close_on_exec();
    test_timeouts();
    test_readable_level_triggered();
    test_writable();
    test_modify();
    test_delete_and_readd();
    test_errors();
    test_close();
    test_peer_hangup();
    test_socket_error();
    test_closed_behind_the_loop();
    test_signal_interrupts();
    test_many_fds();
    return fw_test_report("test_loop_" FW_LOOP_EXPECTED);
}
