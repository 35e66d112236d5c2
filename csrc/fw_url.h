/* Request-target helpers for building PATH_INFO (RFC 3986 §2.1). */
#ifndef FW_URL_H
#define FW_URL_H

#include <stddef.h>

/* Percent-decode in[0..len) into out, which must hold len bytes (decoding never
 * grows). A '%' not followed by two hex digits is copied as is, like other servers
 * do, so a stray '%' does not turn a request away. Returns the decoded length.
 * out may be in itself (decoding in place). '+' is left alone (it means space only
 * in form data, not in a path). "%00" decodes to a NUL byte and "%2F" to '/': the
 * caller decides whether those are acceptable in PATH_INFO. */
size_t fw_percent_decode(const char *in, size_t len, char *out);

#endif
