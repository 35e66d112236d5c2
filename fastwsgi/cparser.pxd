from libc.stdint cimport uint64_t

cdef extern from "fw_parser.h" nogil:
    ctypedef struct fw_slice_t:
        size_t off
        size_t len
    ctypedef struct fw_header_t:
        fw_slice_t name
        fw_slice_t value
    ctypedef struct fw_parse_limits_t:
        size_t max_request_line
        size_t max_header_count
        size_t max_head_bytes
    enum:
        FW_BODY_NONE
        FW_BODY_LENGTH
        FW_BODY_CHUNKED
    enum:
        FW_REQ_CONN_CLOSE
        FW_REQ_CONN_KEEP_ALIVE
        FW_REQ_EXPECT_CONTINUE
        FW_REQ_HAS_HOST
        FW_REQ_ABSOLUTE_FORM
    ctypedef struct fw_request_t:
        fw_slice_t method
        fw_slice_t target
        fw_slice_t path
        fw_slice_t query
        int minor_version
        fw_header_t *headers
        size_t header_capacity
        size_t num_headers
        int body
        uint64_t content_length
        unsigned flags
    int fw_parse_request(const char *buf, size_t len, size_t last_len,
                         fw_request_t *req, const fw_parse_limits_t *limits)
