from libc.stdint cimport uint64_t

cdef extern from "fw_names.h" nogil:
    ctypedef struct fw_names_t:
        pass
    fw_names_t *fw_names_new(size_t max_entries, uint64_t seed)
    void fw_names_free(fw_names_t *t)
    void *fw_names_get(const fw_names_t *t, const char *name, size_t len)
    int fw_names_put(fw_names_t *t, const char *name, size_t len, void *value)
    size_t fw_names_count(const fw_names_t *t)
    void *fw_names_value(const fw_names_t *t, size_t i)
