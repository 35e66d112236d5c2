/* libFuzzer target for fw_chunked_decode (fw_chunked.h).
 *
 * Decodes the input whole and again in pieces (byte by byte for short inputs,
 * random sizes otherwise; each piece a heap copy of exactly its bytes), under a
 * tight and a roomy limit set, and aborts if the result, the bytes consumed or
 * the decoded data differ, or a call breaks the contract. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../fw_chunked.h"

#define REQUIRE(cond) do { if (!(cond)) abort(); } while (0)

typedef struct {
    int rc;
    size_t consumed;
    size_t dlen;
} fz_result_t;

static void fz_decode(const uint8_t *in, size_t n, int bytewise, unsigned seed,
                      size_t ext, size_t trl, char *out, fz_result_t *r)
{
    fw_chunked_t dec;
    size_t base = 0;

    memset(&dec, 0, sizeof dec);
    dec.max_extension_bytes = ext;
    dec.max_trailer_bytes = trl;
    r->rc = FW_INCOMPLETE;
    r->dlen = 0;
    r->consumed = n;
    do {
        size_t step = n - base, off = 0;
        char *c;
        if (bytewise > 0 && step > 1) {
            step = 1;
        } else if (bytewise < 0) {
            size_t s;
            seed = seed * 1103515245u + 12345u;
            s = (seed >> 16) % 24 + 1;
            step = s < step ? s : step;
        }
        c = malloc(step ? step : 1);
        REQUIRE(c != NULL);
        if (step)
            memcpy(c, in + base, step);
        for (;;) {
            size_t used = (size_t)-1;
            fw_slice_t d;
            int rc = fw_chunked_decode(&dec, c + off, step - off, &used, &d);
            REQUIRE(used <= step - off);
            if (rc == FW_CHUNK_DATA) {
                REQUIRE(d.len > 0 && d.off + d.len == used);
                /* the largest slice available: up to the end of the input or of the chunk */
                REQUIRE(used == step - off || dec.remaining == 0);
                REQUIRE(r->dlen + d.len <= n);
                memcpy(out + r->dlen, c + off + d.off, d.len);
                r->dlen += d.len;
                off += used;
                continue;
            }
            off += used;
            if (rc == FW_INCOMPLETE) {
                REQUIRE(off == step);
                break;
            }
            REQUIRE(rc == FW_CHUNK_DONE || rc == FW_E_BAD_REQUEST ||
                    rc == FW_E_HEADERS_TOO_LARGE);
            r->rc = rc;
            r->consumed = base + off;
            free(c);
            return;
        }
        free(c);
        base += step;
    } while (base < n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t limits[][2] = { { 8, 24 }, { 4096, 4096 } };
    char *o1 = malloc(size + 1), *o2 = malloc(size + 1);
    unsigned seed = 2166136261u;
    size_t i, li;

    REQUIRE(o1 != NULL && o2 != NULL);
    for (i = 0; i < size; i++)
        seed = (seed ^ data[i]) * 16777619u;
    for (li = 0; li < 2; li++) {
        fz_result_t a, b;
        fz_decode(data, size, 0, 0, limits[li][0], limits[li][1], o1, &a);
        fz_decode(data, size, size <= 512 ? 1 : -1, seed, limits[li][0], limits[li][1], o2, &b);
        REQUIRE(a.rc == b.rc && a.consumed == b.consumed && a.dlen == b.dlen);
        REQUIRE(memcmp(o1, o2, a.dlen) == 0);
        if (a.rc == FW_CHUNK_DONE)
            REQUIRE(a.consumed >= 5 && memcmp(data + a.consumed - 2, "\r\n", 2) == 0);
    }
    free(o1);
    free(o2);
    return 0;
}
