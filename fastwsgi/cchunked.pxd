from libc.stdint cimport uint64_t
from fastwsgi.cparser cimport fw_slice_t

cdef extern from "fw_chunked.h" nogil:
    enum:
        FW_CHUNK_DATA
        FW_CHUNK_DONE
    ctypedef struct fw_chunked_t:
        size_t max_extension_bytes
        size_t max_trailer_bytes
    int fw_chunked_decode(fw_chunked_t *dec, const char *data, size_t len,
                          size_t *consumed, fw_slice_t *data)
