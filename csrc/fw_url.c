/* Percent-decoding for PATH_INFO; the contract is in fw_url.h. */
#include "fw_url.h"
#include "fw_chars.h"

size_t fw_percent_decode(const char *in, size_t len, char *out)
{
    size_t i = 0, o = 0;

    /* o never passes i, so out may equal in (decoding in place) */
    while (i < len) {
        if (in[i] == '%' && len - i >= 3) {
            /* RFC 3986 §2.1: pct-encoded = "%" HEXDIG HEXDIG (either case) */
            int hi = fw_hexval((unsigned char)in[i + 1]);
            int lo = fw_hexval((unsigned char)in[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out[o++] = (char)(unsigned char)(hi * 16 + lo);
                i += 3;
                continue;
            }
        }
        /* a '%' without two hex digits is kept literally (see fw_url.h); '+'
         * is not special in a path */
        out[o++] = in[i++];
    }
    return o;
}
