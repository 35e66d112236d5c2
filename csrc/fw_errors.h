/* Result codes shared by the csrc parsers, and the one table that maps each
 * protocol error to the HTTP status the server answers it with. */
#ifndef FW_ERRORS_H
#define FW_ERRORS_H

#define FW_INCOMPLETE            (-1)  /* need more input */
#define FW_E_BAD_REQUEST         (-2)  /* 400: malformed or ambiguous message */
#define FW_E_URI_TOO_LONG        (-3)  /* 414: request line over its limit */
#define FW_E_HEADERS_TOO_LARGE   (-4)  /* 431: too many header fields or bytes */
#define FW_E_NOT_IMPLEMENTED     (-5)  /* 501: a transfer coding we do not decode */
#define FW_E_VERSION             (-6)  /* 505: HTTP version other than 1.0 / 1.1 */
#define FW_E_BODY_TOO_LARGE      (-7)  /* 413: body over the configured maximum */
#define FW_E_LENGTH_REQUIRED     (-8)  /* 411: body sent without a length */
#define FW_E_TIMEOUT             (-9)  /* 408: the client was too slow */

/* The status code for an FW_E_* code (500 for anything unknown), and its fixed
 * reason phrase through *reason (never NULL). */
int fw_error_status(int code, const char **reason);

#endif
