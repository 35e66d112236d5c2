/* Decoder for the chunked transfer coding of request bodies (RFC 9112 §7.1).
 *
 * The caller owns a zeroed fw_chunked_t (plus its limits) and feeds it whatever
 * bytes have arrived; the decoder can stop and resume at any byte. It copies
 * nothing: each call reports at most one slice of chunk data inside the input.
 *
 * Strictness (all FW_E_BAD_REQUEST unless noted):
 *  - every line ends in CRLF; a bare LF or bare CR is refused;
 *  - chunk-size is 1*HEXDIG, at most 2^63-1, at most 64 digits with leading zeros;
 *  - chunk-ext follows RFC 9112 §7.1.1 exactly (token or quoted-string values,
 *    BWS only around ';' and '='); its bytes, from the first byte after the size
 *    digits up to the CR, are capped per line by max_extension_bytes;
 *  - chunk-data must be followed by exactly CRLF;
 *  - trailer fields use the header field syntax (no obs-fold, no space before ':',
 *    value bytes HTAB/SP/VCHAR/obs-text). They are checked, then dropped: nothing
 *    reports them. Their bytes, each line with its CRLF (not the final empty line),
 *    are capped by max_trailer_bytes → FW_E_HEADERS_TOO_LARGE.
 * Results are sticky: after FW_CHUNK_DONE or an error, further calls return the
 * same code with *consumed = 0.
 */
#ifndef FW_CHUNKED_H
#define FW_CHUNKED_H

#include <stddef.h>
#include <stdint.h>

#include "fw_errors.h"
#include "fw_parser.h"

#define FW_CHUNK_DATA  1               /* *data holds a slice of body bytes */
#define FW_CHUNK_DONE  2               /* last chunk and trailers consumed */

typedef struct {
    size_t max_extension_bytes;        /* per chunk-size line; over it → FW_E_BAD_REQUEST */
    size_t max_trailer_bytes;          /* all trailer fields together; → FW_E_HEADERS_TOO_LARGE */
    /* decoder state: zero it before the first call, never touch it after */
    int state;
    uint64_t remaining;                /* data bytes left in the current chunk */
    size_t line_bytes;                 /* chunk-ext bytes seen on the current size line */
    size_t trailer_bytes;
    int size_digits;
} fw_chunked_t;

/* Decode from in[0..len). Sets *consumed to the bytes used (always <= len).
 * Returns FW_CHUNK_DATA with *data set to a slice of in (offsets relative to in)
 * holding the next body bytes; FW_CHUNK_DONE when the terminating chunk and any
 * trailers have been consumed (bytes after *consumed belong to the next request);
 * FW_INCOMPLETE when all of in was consumed without producing data; or an FW_E_*
 * code. Call again with in + *consumed until it returns DONE, INCOMPLETE or an error. */
int fw_chunked_decode(fw_chunked_t *dec, const char *in, size_t len,
                      size_t *consumed, fw_slice_t *data);

#endif
