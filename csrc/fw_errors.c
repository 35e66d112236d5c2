/* Map the FW_E_* result codes (fw_errors.h) to the HTTP status the server sends.
 * Reason phrases are the ones RFC 9110 §15 registers for each code. */
#include "fw_errors.h"

#include <stddef.h>

int fw_error_status(int code, const char **reason)
{
    int status;
    const char *phrase;

    switch (code) {
    case FW_E_BAD_REQUEST:       status = 400; phrase = "Bad Request"; break;
    case FW_E_TIMEOUT:           status = 408; phrase = "Request Timeout"; break;
    case FW_E_LENGTH_REQUIRED:   status = 411; phrase = "Length Required"; break;
    case FW_E_BODY_TOO_LARGE:    status = 413; phrase = "Content Too Large"; break;
    case FW_E_URI_TOO_LONG:      status = 414; phrase = "URI Too Long"; break;
    case FW_E_HEADERS_TOO_LARGE: status = 431; phrase = "Request Header Fields Too Large"; break;
    case FW_E_NOT_IMPLEMENTED:   status = 501; phrase = "Not Implemented"; break;
    case FW_E_VERSION:           status = 505; phrase = "HTTP Version Not Supported"; break;
    default:                     status = 500; phrase = "Internal Server Error"; break;
    }
    if (reason != NULL)
        *reason = phrase;
    return status;
}
