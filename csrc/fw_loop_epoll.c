/* fw_loop.h on Linux epoll, level-triggered. */
#include "fw_loop.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#define FW_EPOLL_BATCH 256             /* events fetched per epoll_wait */

struct fw_loop {
    int epfd;
    struct epoll_event batch[FW_EPOLL_BATCH];
};

fw_loop_t *fw_loop_create(void)
{
    fw_loop_t *loop = malloc(sizeof(*loop));
    if (loop == NULL)
        return NULL;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0) {
        int saved = errno;
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
    close(loop->epfd);
    free(loop);
}

static int fw_epoll_ctl(fw_loop_t *loop, int op, int fd, unsigned mask)
{
    struct epoll_event ev;
    ev.events = ((mask & FW_READABLE) ? EPOLLIN : 0u) | ((mask & FW_WRITABLE) ? EPOLLOUT : 0u);
    ev.data.u64 = 0;
    ev.data.fd = fd;
    return epoll_ctl(loop->epfd, op, fd, &ev) < 0 ? -errno : 0;
}

int fw_loop_add(fw_loop_t *loop, int fd, unsigned mask)
{
    return fw_epoll_ctl(loop, EPOLL_CTL_ADD, fd, mask);
}

int fw_loop_modify(fw_loop_t *loop, int fd, unsigned mask)
{
    return fw_epoll_ctl(loop, EPOLL_CTL_MOD, fd, mask);
}

int fw_loop_delete(fw_loop_t *loop, int fd)
{
    struct epoll_event unused = {0};   /* kernels before 2.6.9 want non-NULL */
    return epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, &unused) < 0 ? -errno : 0;
}

int fw_loop_close(fw_loop_t *loop, int fd)
{
    (void)loop;                        /* the last close of an fd drops it from epoll */
    return close(fd) < 0 ? -errno : 0;
}

int fw_loop_wait(fw_loop_t *loop, fw_event_t *events, int max, int timeout_ms)
{
    if (max > FW_EPOLL_BATCH)
        max = FW_EPOLL_BATCH;
    int n = epoll_wait(loop->epfd, loop->batch, max, timeout_ms);
    if (n < 0)
        return -errno;
    for (int i = 0; i < n; i++) {
        uint32_t e = loop->batch[i].events;
        unsigned mask = 0;
        /* Errors and hang-ups are reported as both, so whichever handler is
         * waiting tries its syscall and learns what happened from it. */
        if (e & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP))
            mask |= FW_READABLE;
        if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR))
            mask |= FW_WRITABLE;
        events[i].fd = loop->batch[i].data.fd;
        events[i].events = mask;
    }
    return n;
}

const char *fw_loop_backend(void)
{
    return "epoll";
}
