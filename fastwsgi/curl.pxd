cdef extern from "fw_url.h" nogil:
    size_t fw_percent_decode(const char *data, size_t len, char *out)
