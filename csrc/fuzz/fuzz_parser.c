/* libFuzzer target for fw_parse_request (fw_parser.h).
 *
 * For each of a few limit sets it parses the input whole, then again as a growing
 * prefix (byte by byte for short inputs, random steps otherwise), each call on a
 * heap copy of exactly the prefix with last_len = the previous length, and aborts
 * if the verdicts differ or a successful parse breaks an invariant of the
 * contract. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../fw_parser.h"

#define REQUIRE(cond) do { if (!(cond)) abort(); } while (0)
#define CAP 64

typedef struct {
    fw_parse_limits_t lim;
    size_t cap;                       /* header array entries */
} fz_config_t;

static const fz_config_t configs[] = {
    { { 8190, 64, 65536 }, CAP },     /* roomy */
    { { 40, 8, 200 }, 8 },            /* tight, so 414 and 431 happen */
    { { 300, 64, 90 }, 5 },           /* head limit under line limit; short array */
    { { SIZE_MAX, SIZE_MAX, SIZE_MAX }, CAP },  /* unlimited */
};

static int fz_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int fz_parse(const uint8_t *d, size_t n, size_t last, const fz_config_t *cfg,
                    fw_request_t *req, fw_header_t *hdrs)
{
    char *c = malloc(n ? n : 1);
    int rc;
    REQUIRE(c != NULL);
    if (n)
        memcpy(c, d, n);
    memset(req, 0x5A, sizeof *req);
    req->headers = hdrs;
    req->header_capacity = cfg->cap;
    rc = fw_parse_request(c, n, last, req, &cfg->lim);
    free(c);
    return rc;
}

static int fz_in(fw_slice_t s, size_t lo, size_t hi)
{
    return s.off >= lo && s.off <= hi && s.len <= hi - s.off;
}

static void fz_check_success(const uint8_t *d, size_t n, int rc, const fz_config_t *cfg,
                             const fw_request_t *q)
{
    size_t end = (size_t)rc, i, tend;
    int hosts = 0;

    REQUIRE(rc > 0 && end <= n && end <= cfg->lim.max_head_bytes && end >= 4);
    REQUIRE(memcmp(d + end - 4, "\r\n\r\n", 4) == 0);
    /* every CR is followed by LF and every LF preceded by CR */
    for (i = 0; i < end; i++) {
        if (d[i] == '\r')
            REQUIRE(i + 1 < end && d[i + 1] == '\n');
        if (d[i] == '\n')
            REQUIRE(i > 0 && d[i - 1] == '\r');
    }
    /* request line */
    REQUIRE(q->method.len > 0 && fz_in(q->method, 0, end));
    for (i = 0; i < q->method.len; i++)
        REQUIRE(fz_tchar(d[q->method.off + i]));
    REQUIRE(q->method.off == 0 || (d[q->method.off - 1] == '\n'));
    REQUIRE(q->target.off == q->method.off + q->method.len + 1 && q->target.len > 0);
    REQUIRE(fz_in(q->target, 0, end));
    tend = q->target.off + q->target.len;
    REQUIRE(q->target.len + q->method.len + 10 <= cfg->lim.max_request_line);
    for (i = q->target.off; i < tend; i++)
        REQUIRE(d[i] >= 0x21 && d[i] <= 0x7E && d[i] != '#');
    REQUIRE(memcmp(d + tend, " HTTP/1.", 8) == 0 && d[tend + 9] == '\r');
    REQUIRE(q->minor_version == d[tend + 8] - '0');
    REQUIRE(fz_in(q->path, q->target.off, tend) && fz_in(q->query, q->target.off, tend));
    if (q->query.len > 0)
        REQUIRE(d[q->query.off - 1] == '?');
    if (d[q->target.off] == '/')
        REQUIRE(q->path.off == q->target.off && !(q->flags & FW_REQ_ABSOLUTE_FORM));
    if (q->flags & FW_REQ_ABSOLUTE_FORM)
        REQUIRE(d[q->target.off] == 'h' || d[q->target.off] == 'H');
    if (q->path.len > 0 && d[q->target.off] != '*')
        REQUIRE(d[q->path.off] == '/');
    /* fields */
    REQUIRE(q->num_headers <= cfg->cap && q->num_headers <= cfg->lim.max_header_count);
    for (i = 0; i < q->num_headers; i++) {
        fw_slice_t nm = q->headers[i].name, v = q->headers[i].value;
        size_t j;
        REQUIRE(nm.len > 0 && fz_in(nm, tend, end) && fz_in(v, tend, end));
        REQUIRE(d[nm.off - 1] == '\n' && d[nm.off + nm.len] == ':');
        for (j = 0; j < nm.len; j++)
            REQUIRE(fz_tchar(d[nm.off + j]));
        for (j = 0; j < v.len; j++) {
            unsigned char c = d[v.off + j];
            REQUIRE(c == '\t' || (c >= 0x20 && c != 0x7F));
        }
        if (v.len > 0) {
            REQUIRE(d[v.off] != ' ' && d[v.off] != '\t');
            REQUIRE(d[v.off + v.len - 1] != ' ' && d[v.off + v.len - 1] != '\t');
        }
        if (nm.len == 4 && (d[nm.off] | 0x20) == 'h' && (d[nm.off + 1] | 0x20) == 'o' &&
            (d[nm.off + 2] | 0x20) == 's' && (d[nm.off + 3] | 0x20) == 't')
            hosts++;
    }
    REQUIRE(hosts <= 1 && (hosts == 1) == ((q->flags & FW_REQ_HAS_HOST) != 0));
    if (q->minor_version == 1)
        REQUIRE(hosts == 1);
    REQUIRE(q->body == FW_BODY_NONE || q->body == FW_BODY_LENGTH || q->body == FW_BODY_CHUNKED);
    if (q->body == FW_BODY_CHUNKED)
        REQUIRE(q->minor_version == 1);
    if (q->body == FW_BODY_LENGTH)
        REQUIRE(q->content_length <= UINT64_C(0x7FFFFFFFFFFFFFFF));
}

static int fz_slice_eq(fw_slice_t a, fw_slice_t b)
{
    return a.off == b.off && a.len == b.len;
}

static void fz_same(int rc1, const fw_request_t *a, int rc2, const fw_request_t *b)
{
    size_t i;
    REQUIRE(rc1 == rc2);
    if (rc1 <= 0)
        return;
    REQUIRE(fz_slice_eq(a->method, b->method) && fz_slice_eq(a->target, b->target));
    REQUIRE(fz_slice_eq(a->path, b->path) && fz_slice_eq(a->query, b->query));
    REQUIRE(a->minor_version == b->minor_version && a->num_headers == b->num_headers);
    REQUIRE(a->body == b->body && a->flags == b->flags);
    if (a->body == FW_BODY_LENGTH)
        REQUIRE(a->content_length == b->content_length);
    for (i = 0; i < a->num_headers; i++) {
        REQUIRE(fz_slice_eq(a->headers[i].name, b->headers[i].name));
        REQUIRE(fz_slice_eq(a->headers[i].value, b->headers[i].value));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fw_header_t h1[CAP], h2[CAP];
    fw_request_t whole, part;
    size_t ci;
    unsigned seed = 2166136261u;

    for (ci = 0; ci < size; ci++)
        seed = (seed ^ data[ci]) * 16777619u;

    for (ci = 0; ci < sizeof configs / sizeof configs[0]; ci++) {
        const fz_config_t *cfg = &configs[ci];
        int rw = fz_parse(data, size, 0, cfg, &whole, h1), rp = FW_INCOMPLETE;
        size_t k = 0, prev = 0, li;

        REQUIRE(rw > 0 || rw == FW_INCOMPLETE || (rw <= FW_E_BAD_REQUEST && rw >= FW_E_VERSION));
        if (rw > 0)
            fz_check_success(data, size, rw, cfg, &whole);

        /* the same input arriving in pieces */
        while (k < size) {
            size_t step = 1;
            if (size > 300) {
                seed = seed * 1103515245u + 12345u;
                step = (seed >> 16) % 32 + 1;
            }
            k = size - k < step ? size : k + step;
            rp = fz_parse(data, k, prev, cfg, &part, h2);
            if (rp != FW_INCOMPLETE)
                break;
            prev = k;
        }
        fz_same(rw, &whole, rp, &part);

        /* every prefix up to the last one that returned INCOMPLETE (prev) was
         * INCOMPLETE too, so any of those lengths is a valid last_len for the
         * whole input */
        for (li = 0; li < 3; li++) {
            seed = seed * 1103515245u + 12345u;
            rp = fz_parse(data, size, (seed >> 8) % (prev + 1), cfg, &part, h2);
            fz_same(rw, &whole, rp, &part);
        }
    }
    return 0;
}
