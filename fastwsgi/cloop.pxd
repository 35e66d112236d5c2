cdef extern from "fw_loop.h" nogil:
    enum:
        FW_READABLE
        FW_WRITABLE
    ctypedef struct fw_loop_t:
        pass
    ctypedef struct fw_event_t:
        int fd
        unsigned events
    fw_loop_t *fw_loop_create()
    void fw_loop_destroy(fw_loop_t *loop)
    int fw_loop_add(fw_loop_t *loop, int fd, unsigned mask)
    int fw_loop_modify(fw_loop_t *loop, int fd, unsigned mask)
    int fw_loop_delete(fw_loop_t *loop, int fd)
    int fw_loop_close(fw_loop_t *loop, int fd)
    int fw_loop_wait(fw_loop_t *loop, fw_event_t *events, int max, int timeout_ms)
    const char *fw_loop_backend()
