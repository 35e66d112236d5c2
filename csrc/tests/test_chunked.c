/* Unit tests for fw_chunked_decode (fw_chunked.h).
 *
 * Every vector is decoded (A) whole, (B) one byte per piece, each piece a heap copy
 * of exactly its bytes, and (C) in random-sized pieces; the result code, the bytes
 * consumed and the concatenated data must agree, and (A) must match the table. */
#include <stdint.h>

#include "../fw_chunked.h"
#include "fw_test.h"

typedef struct {
    size_t ext, trailers;
} climits_t;

enum { LIM_DEFAULT, LIM_TIGHT, LIM_ZERO };
static const climits_t limit_sets[] = {
    { 1024, 8192 },                   /* LIM_DEFAULT */
    { 8, 16 },                        /* LIM_TIGHT: 8 extension bytes, 16 trailer bytes */
    { 0, 0 },                         /* LIM_ZERO: no extensions, no trailers */
};

typedef struct {
    const char *name;
    bytes_t in;
    int expect;                       /* FW_CHUNK_DONE, FW_INCOMPLETE or FW_E_* */
    bytes_t data;                     /* the decoded body */
    size_t tail;                      /* DONE: bytes after the chunked body */
    int slices;                       /* whole feed: FW_CHUNK_DATA results; -1: not checked */
    int lim;
} cvec_t;

#define DONE FW_CHUNK_DONE
#define INC  FW_INCOMPLETE
#define E400 FW_E_BAD_REQUEST
#define E431 FW_E_HEADERS_TOO_LARGE

#define G(nm, s, d, tl, sl) { nm, B(s), DONE, B(d), tl, sl, LIM_DEFAULT }
#define I(nm, s, d) { nm, B(s), INC, B(d), 0, -1, LIM_DEFAULT }
#define X(nm, s, code) { nm, B(s), code, { "", 0 }, 0, -1, LIM_DEFAULT }
#define GL(nm, s, d, lim) { nm, B(s), DONE, B(d), 0, -1, lim }
#define XL(nm, s, code, lim) { nm, B(s), code, { "", 0 }, 0, -1, lim }

static const cvec_t vectors[] = {
    /* ---- good ---- */
    G("one chunk", "5\r\nhello\r\n0\r\n\r\n", "hello", 0, 1),
    G("two chunks", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world", 0, 2),
    G("empty body", "0\r\n\r\n", "", 0, 0),
    G("hex upper", "A\r\n0123456789\r\n0\r\n\r\n", "0123456789", 0, 1),
    G("hex lower and mixed", "a\r\n0123456789\r\n1F\r\nabcdefghijklmnopqrstuvwxyz01234\r\n0\r\n\r\n",
      "0123456789abcdefghijklmnopqrstuvwxyz01234", 0, 2),
    G("hex 1f lower", "1f\r\nabcdefghijklmnopqrstuvwxyz01234\r\n0\r\n\r\n",
      "abcdefghijklmnopqrstuvwxyz01234", 0, 1),
    G("leading zeros", "0005\r\nhello\r\n000\r\n\r\n", "hello", 0, 1),
    G("32 digits of leading zeros", "00000000000000000000000000000001\r\nx\r\n0\r\n\r\n", "x", 0, 1),
    G("data holding CRLFs", "4\r\n\r\n\r\n\r\n0\r\n\r\n", "\r\n\r\n", 0, 1),
    G("binary data", "4\r\n\0\xff\n\r\r\n0\r\n\r\n", "\0\xff\n\r", 0, 1),
    G("ext name", "5;name\r\nhello\r\n0\r\n\r\n", "hello", 0, 1),
    G("ext name=token", "5;name=val\r\nhello\r\n0\r\n\r\n", "hello", 0, 1),
    G("ext several", "5;a=1;b;c=x\r\nhello\r\n0\r\n\r\n", "hello", 0, 1),
    G("ext BWS and quoted-string", "5 ; a = b ;c=\"q \\\" x\"\t;d\r\nhello\r\n0\r\n\r\n", "hello", 0, 1),
    G("ext quoted obs-text", "5;a=\"\x80\xff;,\"\r\nhello\r\n0\r\n\r\n", "hello", 0, 1),
    G("ext on last chunk", "5\r\nhello\r\n0;x=y\r\n\r\n", "hello", 0, 1),
    G("trailers", "5\r\nhello\r\n0\r\nX-T: v\r\nY:w\r\n\r\n", "hello", 0, 1),
    G("trailer obs-text and empty", "0\r\nX: \x80\xff\r\nE:\r\n\r\n", "", 0, 0),
    G("tail after the body", "0\r\n\r\nGET / HTTP/1.1\r\n", "", 16, 0),
    G("tail after trailers", "1\r\na\r\n0\r\nT: 1\r\n\r\n\r\n", "a", 2, 1),

    /* ---- incomplete ---- */
    I("empty input", "", ""),
    I("size only", "5", ""),
    I("size line", "5\r\n", ""),
    I("partial data", "5\r\nhel", "hel"),
    I("data then CR", "5\r\nhello\r", "hello"),
    I("max size", "7fffffffffffffff\r\nabc", "abc"),
    I("in trailers", "0\r\nX: a\r\n", ""),
    I("final CR", "0\r\n\r", ""),

    /* ---- chunk-size ---- */
    X("overflow 2^63", "8000000000000000\r\n", E400),
    X("overflow 17 digits", "10000000000000000\r\n", E400),
    X("overflow ffff...", "ffffffffffffffffffff\r\n", E400),
    X("65 digits", "00000000000000000000000000000000000000000000000000000000000000001\r\n", E400),
    X("non-hex", "g\r\n", E400),
    X("hex then junk", "5g\r\nhello\r\n", E400),
    X("empty size", "\r\nhello\r\n", E400),
    X("space before size", " 5\r\nhello\r\n", E400),
    X("plus sign", "+5\r\nhello\r\n", E400),
    X("minus sign", "-1\r\n", E400),
    X("0x prefix", "0x5\r\nhello\r\n", E400),
    X("trailing space, no ext", "5 \r\nhello\r\n0\r\n\r\n", E400),
    X("NUL after size", "5\0\r\nhello\r\n", E400),

    /* ---- chunk-ext ---- */
    X("ext empty name", "5;\r\nhello\r\n0\r\n\r\n", E400),
    X("ext =value without name", "5;=v\r\nhello\r\n0\r\n\r\n", E400),
    X("ext name= without value", "5;a=\r\nhello\r\n0\r\n\r\n", E400),
    X("ext unterminated quote", "5;a=\"x\r\nhello\r\n0\r\n\r\n", E400),
    X("ext two words", "5;a b\r\nhello\r\n0\r\n\r\n", E400),
    X("ext trailing BWS", "5;a \r\nhello\r\n0\r\n\r\n", E400),
    X("ext bad char", "5;a@b\r\nhello\r\n0\r\n\r\n", E400),
    X("ext quoted-pair CTL", "5;a=\"\\\x01\"\r\nhello\r\n0\r\n\r\n", E400),
    X("ext DEL in quoted", "5;a=\"\x7f\"\r\nhello\r\n0\r\n\r\n", E400),
    X("ext junk after quote", "5;a=\"x\"y\r\nhello\r\n0\r\n\r\n", E400),
    X("ext bare LF", "5;a\nhello\r\n0\r\n\r\n", E400),
    X("ext = right after size BWS", "5 =x\r\nhello\r\n0\r\n\r\n", E400),
    X("ext value then word", "5;a=b c\r\nhello\r\n0\r\n\r\n", E400),

    /* ---- line ends ---- */
    X("missing CRLF after data", "5\r\nhelloX\r\n0\r\n\r\n", E400),
    X("LF only after data", "5\r\nhello\n0\r\n\r\n", E400),
    X("CR only after data", "5\r\nhello\r0\r\n\r\n", E400),
    X("bare LF size line", "5\nhello\r\n0\r\n\r\n", E400),
    X("bare CR size line", "5\rhello\r\n0\r\n\r\n", E400),
    X("bare LF after last chunk", "0\n\n", E400),
    X("bare LF final line", "0\r\n\n", E400),
    X("CR CR final line", "0\r\n\r\r", E400),

    /* ---- trailers ---- */
    X("trailer obs-fold", "0\r\nX: a\r\n b\r\n\r\n", E400),
    X("trailer leading space", "0\r\n X: a\r\n\r\n", E400),
    X("trailer space before colon", "0\r\nX : a\r\n\r\n", E400),
    X("trailer no colon", "0\r\nXa\r\n\r\n", E400),
    X("trailer empty name", "0\r\n: a\r\n\r\n", E400),
    X("trailer bare LF", "0\r\nX: a\n\r\n", E400),
    X("trailer bare CR", "0\r\nX: a\rb\r\n\r\n", E400),
    X("trailer NUL", "0\r\nX: a\0\r\n\r\n", E400),
    X("trailer DEL", "0\r\nX: \x7f\r\n\r\n", E400),

    /* ---- limits (LIM_TIGHT: 8 extension bytes, 16 trailer bytes) ---- */
    GL("ext of exactly 8", "5;abcdefg\r\nhello\r\n0\r\n\r\n", "hello", LIM_TIGHT),
    XL("ext of 9", "5;abcdefgh\r\nhello\r\n0\r\n\r\n", E400, LIM_TIGHT),
    GL("ext of 8 with BWS", "5 ;abcdef\r\nhello\r\n0\r\n\r\n", "hello", LIM_TIGHT),
    XL("ext of 9 with BWS", "5  ;abcdef\r\nhello\r\n0\r\n\r\n", E400, LIM_TIGHT),
    XL("ext over limit, never ending", "5;aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", E400, LIM_TIGHT),
    GL("ext limit is per line", "1;abcdefg\r\na\r\n0;abcdefg\r\n\r\n", "a", LIM_TIGHT),
    GL("trailers of exactly 16", "0\r\nX: 12345678901\r\n\r\n", "", LIM_TIGHT),
    XL("trailers of 17", "0\r\nX: 123456789012\r\n\r\n", E431, LIM_TIGHT),
    XL("trailers over 16 across lines", "0\r\nA: 1234\r\nB: 12345\r\n\r\n", E431, LIM_TIGHT),
    XL("trailers over limit, never ending", "0\r\nX: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", E431, LIM_TIGHT),
    GL("zero limits, plain body", "3\r\nabc\r\n0\r\n\r\n", "abc", LIM_ZERO),
    XL("zero limits, an extension", "3;a\r\nabc\r\n0\r\n\r\n", E400, LIM_ZERO),
    XL("zero limits, BWS", "3 ;a\r\nabc\r\n0\r\n\r\n", E400, LIM_ZERO),
    XL("zero limits, a trailer", "0\r\nX: a\r\n\r\n", E431, LIM_ZERO),
};

/* ------------------------------------------------------------------------- */

enum { FEED_WHOLE, FEED_BYTES, FEED_RANDOM };

typedef struct {
    int rc;
    size_t consumed;                  /* total bytes consumed */
    char *data;
    size_t dlen;
    int slices;
} cres_t;

static void feed(const char *in, size_t n, int mode, unsigned seed, const climits_t *lim,
                 cres_t *r)
{
    fw_chunked_t dec;
    size_t base = 0;

    memset(&dec, 0, sizeof dec);
    dec.max_extension_bytes = lim->ext;
    dec.max_trailer_bytes = lim->trailers;
    r->rc = FW_INCOMPLETE;
    r->consumed = 0;
    r->data = malloc(n + 1);
    r->dlen = 0;
    r->slices = 0;
    if (r->data == NULL)
        exit(2);

    do {
        size_t step = n - base, off = 0;
        char *c;
        if (mode == FEED_BYTES && step > 1)
            step = 1;
        else if (mode == FEED_RANDOM) {
            size_t s = fw_t_rand(&seed) % 11 + 1;
            step = s < step ? s : step;
        }
        c = fw_t_dup(in + base, step);
        for (;;) {
            size_t used = (size_t)-1;
            fw_slice_t d = { 99, 99 };
            int rc = fw_chunked_decode(&dec, c + off, step - off, &used, &d);
            FW_CHECK(used <= step - off, "consumed %zu of %zu", used, step - off);
            if (used > step - off)
                used = step - off;
            if (rc == FW_CHUNK_DATA) {
                FW_CHECK(d.len > 0 && d.off + d.len == used, "slice %zu+%zu, consumed %zu",
                         d.off, d.len, used);
                if (d.len > 0 && d.off + d.len <= step - off && r->dlen + d.len <= n) {
                    memcpy(r->data + r->dlen, c + off + d.off, d.len);
                    r->dlen += d.len;
                }
                r->slices++;
                off += used;
                continue;
            }
            off += used;
            if (rc == FW_INCOMPLETE) {
                FW_CHECK(off == step, "INCOMPLETE left %zu bytes", step - off);
                break;
            }
            /* DONE or an error: both sticky */
            r->rc = rc;
            r->consumed = base + off;
            {
                size_t again = 7;
                int rc2 = fw_chunked_decode(&dec, c + off, step - off, &again, &d);
                FW_CHECK(rc2 == rc && again == 0, "repeat call gave %d, consumed %zu", rc2, again);
            }
            free(c);
            return;
        }
        free(c);
        base += step;
    } while (base < n);
    r->consumed = n;
}

static int same(const cres_t *a, const cres_t *b)
{
    return a->rc == b->rc && a->consumed == b->consumed && a->dlen == b->dlen &&
           memcmp(a->data, b->data, a->dlen) == 0;
}

static void run_vector(const cvec_t *v)
{
    const climits_t *lim = &limit_sets[v->lim];
    cres_t w, b, r;
    int round;

    fw_t_begin(v->name);
    feed(v->in.p, v->in.n, FEED_WHOLE, 0, lim, &w);
    feed(v->in.p, v->in.n, FEED_BYTES, 0, lim, &b);
    FW_CHECK(same(&w, &b), "whole rc=%d consumed %zu data %zu; bytes rc=%d consumed %zu data %zu",
             w.rc, w.consumed, w.dlen, b.rc, b.consumed, b.dlen);
    for (round = 0; round < 4; round++) {
        feed(v->in.p, v->in.n, FEED_RANDOM, 17u * (unsigned)round + 3u, lim, &r);
        FW_CHECK(same(&w, &r), "random %d: rc=%d consumed %zu", round, r.rc, r.consumed);
        free(r.data);
    }

    FW_CHECK(w.rc == v->expect, "rc=%d want %d", w.rc, v->expect);
    if (v->expect == FW_CHUNK_DONE || v->expect == FW_INCOMPLETE) {
        FW_CHECK(w.dlen == v->data.n && memcmp(w.data, v->data.p, w.dlen) == 0,
                 "data \"%.*s\" (%zu) want \"%s\"", (int)w.dlen, w.data, w.dlen, v->data.p);
        FW_CHECK(w.consumed == v->in.n - v->tail, "consumed %zu want %zu", w.consumed,
                 v->in.n - v->tail);
    }
    if (v->slices >= 0)
        FW_CHECK(w.slices == v->slices, "%d data slices, want %d", w.slices, v->slices);
    free(w.data);
    free(b.data);
    fw_t_end();
}

/* Mutated vectors: every feed must agree whatever the verdict. */
static void test_mutations(void)
{
    static const char alphabet[] = "\r\n ;=\"\\\t:0aF9x\x7f\x80\x00-";
    unsigned seed = 777;
    size_t nv = sizeof vectors / sizeof vectors[0];
    char buf[256];
    int iter;

    fw_t_begin("random mutations agree across feeds");
    for (iter = 0; iter < 20000 && !fw_t_case_failed; iter++) {
        const cvec_t *v = &vectors[fw_t_rand(&seed) % nv];
        size_t n = v->in.n < sizeof buf ? v->in.n : sizeof buf;
        const climits_t *lim = &limit_sets[fw_t_rand(&seed) % 3];
        int edits = (int)(fw_t_rand(&seed) % 3) + 1;
        cres_t w, b, r;
        memcpy(buf, v->in.p, n);
        n = fw_t_mutate(buf, n, sizeof buf, alphabet, sizeof alphabet - 1, edits, &seed);
        feed(buf, n, FEED_WHOLE, 0, lim, &w);
        feed(buf, n, FEED_BYTES, 0, lim, &b);
        feed(buf, n, FEED_RANDOM, (unsigned)iter, lim, &r);
        FW_CHECK(same(&w, &b) && same(&w, &r), "mutation of [%s]: rc %d/%d/%d", v->name,
                 w.rc, b.rc, r.rc);
        free(w.data);
        free(b.data);
        free(r.data);
    }
    fw_t_end();
}

/* A decoder handed a huge chunk keeps returning the largest slice available. */
static void test_large_slices(void)
{
    static char big[70000];
    fw_chunked_t dec;
    fw_slice_t d;
    size_t used;
    int rc;

    fw_t_begin("largest available slice");
    memset(&dec, 0, sizeof dec);
    dec.max_extension_bytes = 16;
    dec.max_trailer_bytes = 16;
    memcpy(big, "10000\r\n", 7);                /* 65536 bytes of data */
    memset(big + 7, 'd', sizeof big - 7);
    rc = fw_chunked_decode(&dec, big, 1000, &used, &d);
    FW_CHECK(rc == FW_CHUNK_DATA && d.off == 7 && d.len == 993 && used == 1000, "first");
    rc = fw_chunked_decode(&dec, big + 1000, sizeof big - 1000, &used, &d);
    FW_CHECK(rc == FW_CHUNK_DATA && d.off == 0 && d.len == 65536 - 993 && used == d.len,
             "second: rc=%d len %zu", rc, d.len);
    rc = fw_chunked_decode(&dec, "\r\n0\r\n\r\nX", 8, &used, &d);
    FW_CHECK(rc == FW_CHUNK_DONE && used == 7, "done: rc=%d used %zu", rc, used);
    fw_t_end();
}

int main(void)
{
    size_t i;
    for (i = 0; i < sizeof vectors / sizeof vectors[0]; i++)
        run_vector(&vectors[i]);
    test_large_slices();
    test_mutations();
    return fw_test_report("test_chunked");
}
