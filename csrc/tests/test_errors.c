/* Unit tests for fw_error_status (fw_errors.h). */
#include "../fw_errors.h"
#include "fw_test.h"

static const struct {
    int code, status;
    const char *reason;
} rows[] = {
    { FW_E_BAD_REQUEST, 400, "Bad Request" },
    { FW_E_TIMEOUT, 408, "Request Timeout" },
    { FW_E_LENGTH_REQUIRED, 411, "Length Required" },
    { FW_E_BODY_TOO_LARGE, 413, "Content Too Large" },
    { FW_E_URI_TOO_LONG, 414, "URI Too Long" },
    { FW_E_HEADERS_TOO_LARGE, 431, "Request Header Fields Too Large" },
    { FW_E_NOT_IMPLEMENTED, 501, "Not Implemented" },
    { FW_E_VERSION, 505, "HTTP Version Not Supported" },
    { FW_INCOMPLETE, 500, "Internal Server Error" },
    { 0, 500, "Internal Server Error" },
    { 1, 500, "Internal Server Error" },
    { -100, 500, "Internal Server Error" },
};

int main(void)
{
    size_t i;
    for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *reason = NULL;
        int status;
        char name[32];
        snprintf(name, sizeof name, "code %d", rows[i].code);
        fw_t_begin(name);
        status = fw_error_status(rows[i].code, &reason);
        FW_CHECK(status == rows[i].status, "status %d want %d", status, rows[i].status);
        FW_CHECK(reason != NULL && strcmp(reason, rows[i].reason) == 0, "reason \"%s\"",
                 reason ? reason : "(null)");
        fw_t_end();
    }
    return fw_test_report("test_errors");
}
