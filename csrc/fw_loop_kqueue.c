/* fw_loop.h on kqueue (macOS, the BSDs), level-triggered (no EV_CLEAR).
 * Not compiled on the Linux CI machine: the macOS wheel job builds it and runs
 * the whole test suite on it.
 *
 * kqueue keeps one filter per (fd, direction). The read filter lives from add
 * to delete and the mask only enables or disables it; the write filter exists
 * only while writability is wanted (some descriptors, like a pipe's read end,
 * cannot carry one). Each change is its own kevent call, so an error is that
 * change's own: modify and delete are rare (connections are dropped by close). */
#include "fw_loop.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/event.h>
#include <time.h>
#include <unistd.h>

#define FW_KQUEUE_BATCH 256            /* events fetched per kevent */

struct fw_loop {
    int kq;
    struct kevent batch[FW_KQUEUE_BATCH];
};

fw_loop_t *fw_loop_create(void)
{
    fw_loop_t *loop = malloc(sizeof(*loop));
    if (loop == NULL)
        return NULL;
    /* kqueue() has no close-on-exec flag (FreeBSD's kqueuex has, macOS has
     * none): set it here, as epoll_create1(EPOLL_CLOEXEC) does. A fork does not
     * copy a kqueue on macOS, so a loop serves only the process that made it. */
    loop->kq = kqueue();
    if (loop->kq < 0 || fcntl(loop->kq, F_SETFD, FD_CLOEXEC) < 0) {
        int saved = errno;
        if (loop->kq >= 0)
            close(loop->kq);
        free(loop);
        errno = saved;
        return NULL;
    }
    return loop;
}

void fw_loop_destroy(fw_loop_t *loop)
{
    if (loop == NULL)
        return;
    close(loop->kq);
    free(loop);
}

/* One change to one filter of fd: 0 or -errno. */
static int fw_kqueue_change(fw_loop_t *loop, int fd, short filter, unsigned short flags)
{
    struct kevent change;
    EV_SET(&change, fd, filter, flags, 0, 0, 0);
    return kevent(loop->kq, &change, 1, NULL, 0, NULL) < 0 ? -errno : 0;
}

/* Adds the write filter when mask wants it, else removes it if it is there. */
static int fw_kqueue_set_write(fw_loop_t *loop, int fd, unsigned mask)
{
    if (mask & FW_WRITABLE)
        return fw_kqueue_change(loop, fd, EVFILT_WRITE, EV_ADD | EV_ENABLE);
    int rc = fw_kqueue_change(loop, fd, EVFILT_WRITE, EV_DELETE);
    return rc == -ENOENT ? 0 : rc;
}

int fw_loop_add(fw_loop_t *loop, int fd, unsigned mask)
{
    unsigned short rd = EV_ADD | ((mask & FW_READABLE) ? EV_ENABLE : EV_DISABLE);
    int rc = fw_kqueue_change(loop, fd, EVFILT_READ, rd);
    if (rc == 0 && (mask & FW_WRITABLE)) {
        rc = fw_kqueue_set_write(loop, fd, mask);
        if (rc < 0)
            fw_kqueue_change(loop, fd, EVFILT_READ, EV_DELETE);
    }
    return rc;
}

int fw_loop_modify(fw_loop_t *loop, int fd, unsigned mask)
{
    /* no EV_ADD: an fd that was never added fails with ENOENT, as with epoll */
    int rc = fw_kqueue_change(loop, fd, EVFILT_READ, (mask & FW_READABLE) ? EV_ENABLE : EV_DISABLE);
    return rc < 0 ? rc : fw_kqueue_set_write(loop, fd, mask);
}

int fw_loop_delete(fw_loop_t *loop, int fd)
{
    int rc = fw_kqueue_change(loop, fd, EVFILT_READ, EV_DELETE);
    return rc < 0 ? rc : fw_kqueue_set_write(loop, fd, 0);
}

int fw_loop_close(fw_loop_t *loop, int fd)
{
    (void)loop;                        /* closing an fd drops its filters from every kqueue */
    return close(fd) < 0 ? -errno : 0;
}

int fw_loop_wait(fw_loop_t *loop, fw_event_t *events, int max, int timeout_ms)
{
    struct timespec ts, *timeout = NULL;
    if (max <= 0)
        return -EINVAL;
    if (max > FW_KQUEUE_BATCH)
        max = FW_KQUEUE_BATCH;
    if (timeout_ms >= 0) {
        ts.tv_sec = timeout_ms / 1000;
        ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
        timeout = &ts;
    }
    int n = kevent(loop->kq, NULL, 0, loop->batch, max, timeout);
    if (n < 0)
        return -errno;
    for (int i = 0; i < n; i++) {
        const struct kevent *ev = &loop->batch[i];
        unsigned mask = ev->filter == EVFILT_WRITE ? FW_WRITABLE : FW_READABLE;
        /* A write side at EOF (the peer is gone): the reader is told too, as
         * the epoll backend does for EPOLLHUP. */
        if (ev->filter == EVFILT_WRITE && (ev->flags & EV_EOF))
            mask |= FW_READABLE;
        events[i].fd = (int)ev->ident;
        events[i].events = mask;
    }
    return n;
}

const char *fw_loop_backend(void)
{
    return "kqueue";
}
