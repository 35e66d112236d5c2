/* fw_loop.h on POSIX poll(2): the portable backend, for systems with neither
 * epoll nor kqueue (and FASTWSGI_LOOP=poll, so CI runs the suite on a second
 * backend). poll is level-triggered, like the interface.
 *
 * The watched fds sit in one dense pollfd array handed to poll() as is; an
 * fd -> slot index makes add, modify and delete O(1) (delete moves the last
 * slot into the hole). A silent fd (mask 0) keeps its slot with the fd stored
 * as ~fd: poll ignores negative fds, and reports nothing for them, not even
 * POLLHUP, which it would for events == 0. Not thread-safe: every call comes
 * from the thread that runs the loop. */
#include "fw_loop.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#define FW_POLL_NO_SLOT (-1)

struct fw_loop {
    struct pollfd *slots;              /* [0, count) is what poll() sees */
    int count;
    int capacity;
    int *slot_of;                      /* fd -> index into slots, or FW_POLL_NO_SLOT */
    int slot_of_len;
    int next_start;                    /* slot where the next wait begins reporting */
};

fw_loop_t *fw_loop_create(void)
{
    fw_loop_t *loop = calloc(1, sizeof(*loop));
    if (loop == NULL)
        errno = ENOMEM;
    return loop;
}

void fw_loop_destroy(fw_loop_t *loop)
{
    if (loop == NULL)
        return;
    free(loop->slots);
    free(loop->slot_of);
    free(loop);
}

static short fw_poll_events(unsigned mask)
{
    return (short)(((mask & FW_READABLE) ? POLLIN : 0) | ((mask & FW_WRITABLE) ? POLLOUT : 0));
}

static int fw_poll_slot(const fw_loop_t *loop, int fd)
{
    return fd >= 0 && fd < loop->slot_of_len ? loop->slot_of[fd] : FW_POLL_NO_SLOT;
}

/* Room in slot_of for fd and in slots for one more; 0 or -ENOMEM. Both grow
 * by doubling, so adds cost O(1) amortized. */
static int fw_poll_reserve(fw_loop_t *loop, int fd)
{
    if (fd >= loop->slot_of_len) {
        int len = loop->slot_of_len ? loop->slot_of_len : 64;
        while (len <= fd)
            len *= 2;
        int *grown = realloc(loop->slot_of, (size_t)len * sizeof(*grown));
        if (grown == NULL)
            return -ENOMEM;
        for (int i = loop->slot_of_len; i < len; i++)
            grown[i] = FW_POLL_NO_SLOT;
        loop->slot_of = grown;
        loop->slot_of_len = len;
    }
    if (loop->count == loop->capacity) {
        int cap = loop->capacity ? loop->capacity * 2 : 64;
        struct pollfd *grown = realloc(loop->slots, (size_t)cap * sizeof(*grown));
        if (grown == NULL)
            return -ENOMEM;
        loop->slots = grown;
        loop->capacity = cap;
    }
    return 0;
}

static void fw_poll_set(struct pollfd *slot, int fd, unsigned mask)
{
    slot->fd = mask ? fd : ~fd;
    slot->events = fw_poll_events(mask);
    slot->revents = 0;
}

int fw_loop_add(fw_loop_t *loop, int fd, unsigned mask)
{
    if (fd < 0)
        return -EBADF;
    if (fw_poll_slot(loop, fd) != FW_POLL_NO_SLOT)
        return -EEXIST;
    int rc = fw_poll_reserve(loop, fd);
    if (rc < 0)
        return rc;
    fw_poll_set(&loop->slots[loop->count], fd, mask);
    loop->slot_of[fd] = loop->count++;
    return 0;
}

int fw_loop_modify(fw_loop_t *loop, int fd, unsigned mask)
{
    int i = fw_poll_slot(loop, fd);
    if (i == FW_POLL_NO_SLOT)
        return fd < 0 ? -EBADF : -ENOENT;
    fw_poll_set(&loop->slots[i], fd, mask);
    return 0;
}

int fw_loop_delete(fw_loop_t *loop, int fd)
{
    int i = fw_poll_slot(loop, fd);
    if (i == FW_POLL_NO_SLOT)
        return fd < 0 ? -EBADF : -ENOENT;
    int last = --loop->count;
    if (i != last) {
        struct pollfd moved = loop->slots[last];
        loop->slots[i] = moved;
        loop->slot_of[moved.fd >= 0 ? moved.fd : ~moved.fd] = i;
    }
    loop->slot_of[fd] = FW_POLL_NO_SLOT;
    return 0;
}

int fw_loop_close(fw_loop_t *loop, int fd)
{
    fw_loop_delete(loop, fd);          /* poll would report a closed fd as POLLNVAL */
    return close(fd) < 0 ? -errno : 0;
}

int fw_loop_wait(fw_loop_t *loop, fw_event_t *events, int max, int timeout_ms)
{
    if (max <= 0)
        return -EINVAL;
    int ready = poll(loop->slots, (nfds_t)loop->count, timeout_ms);
    if (ready < 0)
        return -errno;
    /* Report from where the last full batch stopped, so that when more than max
     * fds are ready the ones in high slots get their turn too. */
    int n = 0, count = loop->count;
    int start = loop->next_start < count ? loop->next_start : 0;
    for (int k = 0; k < count && n < ready && n < max; k++) {
        int i = start + k < count ? start + k : start + k - count;
        short r = loop->slots[i].revents;
        if (r == 0)
            continue;
        unsigned mask = 0;
        /* As in the epoll backend: errors, hang-ups and a bad fd (POLLNVAL) are
         * reported as both, so whichever handler is waiting tries its syscall
         * and learns what happened from it. */
        if (r & (POLLIN | POLLHUP | POLLERR | POLLNVAL))
            mask |= FW_READABLE;
        if (r & (POLLOUT | POLLHUP | POLLERR | POLLNVAL))
            mask |= FW_WRITABLE;
        events[n].fd = loop->slots[i].fd;
        events[n].events = mask;
        n++;
        loop->next_start = i + 1;
    }
    if (n < max)
        loop->next_start = 0;          /* everything ready was reported */
    return n;
}

const char *fw_loop_backend(void)
{
    return "poll";
}
