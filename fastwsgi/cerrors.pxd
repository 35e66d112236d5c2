cdef extern from "fw_errors.h" nogil:
    enum:
        FW_INCOMPLETE
        FW_E_BAD_REQUEST
        FW_E_URI_TOO_LONG
        FW_E_HEADERS_TOO_LARGE
        FW_E_NOT_IMPLEMENTED
        FW_E_VERSION
        FW_E_BODY_TOO_LARGE
        FW_E_LENGTH_REQUIRED
        FW_E_TIMEOUT
    int fw_error_status(int code, const char **reason)
