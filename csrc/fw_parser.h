/* HTTP/1.1 request-head parser (RFC 9112 §2-§6).
 *
 * A pure function over (buf, len): no allocation, no callbacks, no I/O. The caller
 * owns the request struct and its header array; every string it reports is an
 * (offset, length) slice of buf, valid as long as buf is. Calling it again on the
 * same bytes plus more gives the same answer as calling it once on the whole, so
 * any split of the input parses the same way.
 *
 * Decisions the caller must know:
 *  - Line ends are CRLF only. A bare LF or a CR not followed by LF anywhere in the
 *    head is FW_E_BAD_REQUEST (RFC 9112 §2.2 allows either; we refuse both so no
 *    other parser on the path can frame the message differently).
 *  - Empty lines (CRLF) before the request line are skipped (RFC 9112 §2.2); they
 *    count toward max_head_bytes but not toward max_request_line.
 *  - Limits are enforced as soon as they are crossed, before the head is complete:
 *    FW_E_URI_TOO_LONG once max_request_line + 1 bytes of the request line have
 *    arrived without its CR; FW_E_HEADERS_TOO_LARGE once max_head_bytes + 1 bytes
 *    have arrived without the end of the head. Whichever is crossed first wins.
 *    Everything else is decided only when the whole head is there.
 *  - Request-target forms (RFC 9112 §3.2) and what path/query hold:
 *      origin-form "/p?q"            path "/p", query "q"
 *      absolute-form "http://h/p?q"  FW_REQ_ABSOLUTE_FORM, path "/p", query "q";
 *                                    path.len == 0 means "/" ("http://h", "http://h?q").
 *                                    Only http/https; userinfo ("u@h") is rejected.
 *                                    RFC 9112 §3.2.2: the target's authority, not the
 *                                    Host field, names the host in this case.
 *      asterisk-form "*"             OPTIONS only; path is "*" (the target itself)
 *      authority-form "h:port"       CONNECT only (and CONNECT takes nothing else);
 *                                    path.len == 0, query.len == 0
 *    An absent query and an empty one ("/p?") both give query.len == 0. The path is
 *    still percent-encoded (fw_url.h decodes it).
 *  - Host: HTTP/1.1 needs exactly one; more than one is refused on any version. Its
 *    value must be uri-host [":" port] (no userinfo, no obs-text); it may be empty
 *    only for origin-form and asterisk-form targets.
 *  - Content-Length must be 1*DIGIT, at most 2^63-1; lists ("5, 5") are refused;
 *    repeated fields must carry equal values.
 *  - Transfer-Encoding (HTTP/1.1 only, never with Content-Length): exactly one
 *    "chunked", last → FW_BODY_CHUNKED. "chunked" twice, chunked not last
 *    (e.g. "gzip", "chunked, gzip", "chunkedx"), "chunked;param", empty elements or
 *    non-token syntax → FW_E_BAD_REQUEST (RFC 9112 §6.3 item 4 requires 400 when
 *    chunked is not final). Other codings before a final chunked
 *    ("gzip, chunked") → FW_E_NOT_IMPLEMENTED.
 *  - The parser does not refuse a body-less method with a body, nor require a
 *    length (FW_E_LENGTH_REQUIRED is the server's call).
 */
#ifndef FW_PARSER_H
#define FW_PARSER_H

#include <stddef.h>
#include <stdint.h>

#include "fw_errors.h"

typedef struct {
    size_t off;                        /* offset into the parsed buffer */
    size_t len;
} fw_slice_t;

typedef struct {
    fw_slice_t name;                   /* as sent: case kept, no surrounding space */
    fw_slice_t value;                  /* leading/trailing SP and HTAB trimmed */
} fw_header_t;

typedef struct {
    size_t max_request_line;           /* bytes before CRLF; over it → FW_E_URI_TOO_LONG */
    size_t max_header_count;           /* over it → FW_E_HEADERS_TOO_LARGE */
    size_t max_head_bytes;             /* whole head incl. request line; → FW_E_HEADERS_TOO_LARGE */
} fw_parse_limits_t;

/* How the message body is framed (RFC 9112 §6.3). */
enum {
    FW_BODY_NONE = 0,                  /* no Content-Length, no Transfer-Encoding */
    FW_BODY_LENGTH = 1,                /* content_length bytes follow */
    FW_BODY_CHUNKED = 2                /* chunked coding follows (fw_chunked.h) */
};

/* Request flags, derived from the fields the server itself must act on. */
/* Both connection flags can be set at once; close should win. */
#define FW_REQ_CONN_CLOSE       0x01u  /* Connection: close */
#define FW_REQ_CONN_KEEP_ALIVE  0x02u  /* Connection: keep-alive */
#define FW_REQ_EXPECT_CONTINUE  0x04u  /* Expect: 100-continue, HTTP/1.1 only
                                          (RFC 9110 §10.1.1: ignore it in 1.0) */
#define FW_REQ_HAS_HOST         0x08u  /* exactly one Host field was sent */
#define FW_REQ_ABSOLUTE_FORM    0x10u  /* target is absolute-form (scheme://authority/...) */

typedef struct {
    fw_slice_t method;
    fw_slice_t target;                 /* request-target as sent */
    fw_slice_t path;                   /* path part of target, still percent-encoded;
                                          len 0 means "/" (see the forms above) */
    fw_slice_t query;                  /* after the first '?', empty if none */
    int minor_version;                 /* HTTP/1.<minor>: 0 or 1 */
    fw_header_t *headers;              /* caller-owned array ... */
    size_t header_capacity;            /* ... of this many entries */
    size_t num_headers;                /* out: how many were filled */
    int body;                          /* FW_BODY_* */
    uint64_t content_length;           /* valid when body == FW_BODY_LENGTH, else 0 */
    unsigned flags;                    /* FW_REQ_* */
} fw_request_t;

/* Parse one request head from buf[0..len).
 * last_len is how many bytes of this same buffer an earlier call already saw and
 * found incomplete (0 on the first call); it lets the search for the blank line
 * resume instead of rescanning, so a head trickled in byte by byte costs O(n)
 * (each call costs O(new bytes + the current line so far, capped at
 * max_request_line), plus one full pass when the head is complete). The result does
 * not depend on last_len; a last_len > len or > max_head_bytes is treated as 0.
 * max_head_bytes above INT_MAX is treated as INT_MAX (the length is an int).
 * Returns the head's length in bytes (> 0) when the head is complete and valid,
 * FW_INCOMPLETE when more bytes are needed, or an FW_E_* code (fw_errors.h).
 * On success req is filled; on any other result its contents are unspecified. */
int fw_parse_request(const char *buf, size_t len, size_t last_len,
                     fw_request_t *req, const fw_parse_limits_t *limits);

#endif
