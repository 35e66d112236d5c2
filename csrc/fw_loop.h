/* The event loop interface: one small set of calls that each backend file
 * implements (fw_loop_epoll.c on Linux, fw_loop_kqueue.c on macOS and the BSDs,
 * fw_loop_poll.c anywhere else; setup.py picks one). Level-triggered:
 * an fd stays reported while it is ready, so a handler may do part of its work and
 * come back. The caller passes an array that wait() fills ("pull", not callbacks),
 * so no Python exception ever has to unwind through C. Every call comes from the
 * one thread that runs the loop (the poll backend is not thread-safe). */
#ifndef FW_LOOP_H
#define FW_LOOP_H

#define FW_READABLE 0x1u               /* data, EOF or an error is waiting */
#define FW_WRITABLE 0x2u               /* the send buffer has room (or an error) */

typedef struct fw_loop fw_loop_t;      /* opaque; one per server */

typedef struct {
    int fd;
    unsigned events;                   /* FW_READABLE | FW_WRITABLE that fired */
} fw_event_t;

/* A new loop, or NULL with errno set. */
fw_loop_t *fw_loop_create(void);
/* Frees the loop; does not close the fds registered with it. */
void fw_loop_destroy(fw_loop_t *loop);
/* Start, change or stop watching fd for the FW_* events in mask (mask 0 keeps
 * fd registered but silent, except that epoll reports a hang-up whatever the
 * mask). Each returns 0 or -errno. */
int fw_loop_add(fw_loop_t *loop, int fd, unsigned mask);
int fw_loop_modify(fw_loop_t *loop, int fd, unsigned mask);
int fw_loop_delete(fw_loop_t *loop, int fd);
/* Closes fd and forgets it, in the cheapest way the backend allows (with epoll
 * the close alone does it, so no epoll_ctl is spent on every connection).
 * Returns 0 or -errno. */
int fw_loop_close(fw_loop_t *loop, int fd);
/* Waits up to timeout_ms (-1: forever) and fills at most max (> 0) events; an
 * fd may appear twice (kqueue reports reading and writing apart), and when more
 * than max are ready the rest are reported by the next calls.
 * Returns how many fired (0 on timeout) or -errno (-EINTR when a signal came).
 * Safe to call without holding any lock: it touches only the loop. */
int fw_loop_wait(fw_loop_t *loop, fw_event_t *events, int max, int timeout_ms);
/* The backend's name, e.g. "epoll". */
const char *fw_loop_backend(void);

#endif
