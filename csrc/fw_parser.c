/* HTTP/1.1 request-head parser; the contract is in fw_parser.h.
 *
 * Two stages:
 *  1. Framing (fw_frame): a left-to-right scan for the end of the head that
 *     enforces only what must be caught before the head is complete: bare CR and
 *     bare LF (400), the request-line limit (414) and the head-bytes limit (431).
 *     Each of these is decided by the first byte that breaks it, so a prefix of the
 *     input reports the same error the whole input would. A call with last_len
 *     rebuilds the scan state at last_len from a few bytes before it
 *     (fw_resume_state) instead of rescanning from 0.
 *     Whole lines are found with memchr for their LF; a byte-at-a-time scan
 *     (fw_frame_bytes) decides wherever that is not enough (an incomplete last
 *     line, a bare LF, a request line over the limit, the head limit). The memchr
 *     pass does not look for a bare CR inside a line; see fw_has_bare_cr for how
 *     that still gives the same answers.
 *  2. Full parse (fw_parse_head): runs only once the whole head is present, so its
 *     verdict depends on the head bytes alone, never on how they arrived. It reads
 *     each byte once, with the table-driven classes of fw_chars.h.
 * When a head arrives whole in one call, the full parse runs first, with no
 * framing pass; its answer stands when it finds a valid head (fw_parse_request
 * says why that is safe), and otherwise the two stages above decide.
 */
#include "fw_parser.h"
#include "fw_chars.h"

#include <limits.h>
#include <string.h>

#define FW_I63_MAX UINT64_C(0x7FFFFFFFFFFFFFFF)

/* line_start when the resumed line's start is unknown (and known non-empty) */
#define FW_LINE_START_UNKNOWN SIZE_MAX

enum { FW_Z_LEADING, FW_Z_REQLINE, FW_Z_FIELDS };

/* ------------------------------------------------------------------------- */
/* character helpers (the byte classes are in fw_chars.h)                      */

static unsigned char fw_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* s[0..n) equals the lower-case literal lit, ignoring ASCII case. */
static int fw_ieq(const char *s, size_t n, const char *lit)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (lit[i] == '\0' || fw_lower((unsigned char)s[i]) != (unsigned char)lit[i])
            return 0;
    }
    return lit[n] == '\0';
}

/* The field name s[0..n) equals lit, a lower-case literal of the same length n
 * made of letters and "-", ignoring ASCII case. The name is a token, so OR-ing
 * each byte with 0x20 is enough: for a letter of lit it lets through just that
 * letter in either case, and for "-" (0x2D) it would let through 0x0D too,
 * which is no tchar. */
static int fw_name_is(const char *s, const char *lit, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (((unsigned char)s[i] | 0x20) != (unsigned char)lit[i])
            return 0;
    }
    return 1;
}

static int fw_eq(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

/* The index of the first byte at or after buf[i] that is not in class cls (FW_C_*
 * bits of fw_ctab). The caller knows such a byte comes before the end of the
 * buffer, so there is no bound to check; a byte is read only after the one before
 * it was found in the class. Unrolled four times: this loop reads nearly every
 * byte of the head (method, request-target, field names and values). */
static inline size_t fw_span(const char *buf, size_t i, unsigned cls)
{
    for (;;) {
        if (!(fw_ctab[(unsigned char)buf[i]] & cls))
            return i;
        if (!(fw_ctab[(unsigned char)buf[i + 1]] & cls))
            return i + 1;
        if (!(fw_ctab[(unsigned char)buf[i + 2]] & cls))
            return i + 2;
        if (!(fw_ctab[(unsigned char)buf[i + 3]] & cls))
            return i + 3;
        i += 4;
    }
}

static fw_slice_t fw_mkslice(size_t off, size_t len)
{
    fw_slice_t s;
    s.off = off;
    s.len = len;
    return s;
}

/* ------------------------------------------------------------------------- */
/* framing                                                                     */

/* Rebuild the framing scan state at last_len = k, assuming an earlier call saw
 * buf[0..k) and returned FW_INCOMPLETE (so that prefix holds no bare CR/LF, no
 * end of head, and no over-limit line). Returns 0 when the bytes contradict that
 * assumption; the caller then rescans from 0, which is always correct.
 * Costs O(1) when the current line is longer than max_line, else O(its length). */
static int fw_resume_state(const char *buf, size_t k, size_t max_line,
                           size_t *pos, int *zone, size_t *line_start)
{
    size_t p = k, lo = 0, j, ls;
    int found = 0, prev_empty;

    /* a CR as the last byte still waits for its LF: rescan it */
    if (p > 0 && buf[p - 1] == '\r')
        p--;
    if (p == 0) {
        *pos = 0;
        *zone = FW_Z_LEADING;
        *line_start = 0;
        return 1;
    }
    if (p > max_line) {
        /* While still before or inside the request line, every byte more than
         * max_line back from p lies in the leading CRLFs (else the prefix would
         * already have hit 414). Any other byte there means we are in the fields. */
        unsigned char c = (unsigned char)buf[p - max_line - 1];
        if (c != '\r' && c != '\n') {
            *pos = p;
            *zone = FW_Z_FIELDS;
            /* all the end-of-head test needs: is p the start of a line? */
            *line_start = buf[p - 1] == '\n' ? p : FW_LINE_START_UNKNOWN;
            return 1;
        }
        lo = p - max_line - 1;
    }
    /* start of the current line: just after the last LF in [lo, p) */
    j = p;
    while (j > lo) {
        j--;
        if (buf[j] == '\n') {
            found = 1;
            break;
        }
    }
    if (!found) {
        if (lo > 0)
            return 0;              /* buf[lo] is a CR not followed by LF */
        ls = 0;
        prev_empty = 1;            /* nothing before the line */
    } else {
        if (j == 0 || buf[j - 1] != '\r')
            return 0;              /* bare LF */
        ls = j + 1;
        /* the line that ends at ls is empty iff its CRLF starts a line */
        prev_empty = (j - 1 == 0) || buf[j - 2] == '\n';
    }
    if (prev_empty) {
        /* An empty line after a non-empty one ends the head, which the prefix
         * did not contain: so everything before ls is leading empty lines. */
        if (p > ls) {
            if (p - ls > max_line)
                return 0;
            *zone = FW_Z_REQLINE;
        } else {
            *zone = FW_Z_LEADING;
        }
    } else {
        *zone = FW_Z_FIELDS;
    }
    *pos = p;
    *line_start = ls;
    return 1;
}

/* Is there a CR in buf[a..b) that is not followed by LF? buf[b - 1] must be an LF
 * (b is the start of a line), so every CR in the range has a next byte.
 *
 * The memchr pass of fw_frame checks only the CRLF at the end of each line, so a
 * bare CR inside a line can get through it. That changes no answer:
 *  - if framing ends in anything else but 400 (FW_INCOMPLETE, 414, 431), fw_frame
 *    asks this function about the lines the memchr pass went over;
 *  - if framing finds the end of the head, the full parse meets the CR inside a
 *    request line or field line, where no rule admits it, and says 400; if it
 *    stops earlier with another error, fw_parse_framed asks this function about
 *    the bytes framing scanned in this call (those before them were scanned by
 *    the earlier calls, which returned FW_INCOMPLETE) and says 400 instead.
 * Either way a bare CR anywhere in the bytes framing scans is 400, whatever comes
 * after it, as with the byte-at-a-time rule. */
static int fw_has_bare_cr(const char *buf, size_t a, size_t b)
{
    while (a < b) {
        const char *cr = memchr(buf + a, '\r', b - a);
        if (cr == NULL)
            return 0;
        a = (size_t)(cr - buf) + 1;
        if (a >= b || buf[a] != '\n')
            return 1;
    }
    return 0;
}

/* Scan buf[i..len) from the given state for the end of the head, one byte at a
 * time. Returns the head length (> 0), FW_INCOMPLETE, or a framing error. */
static int fw_frame_bytes(const char *buf, size_t len, size_t i, int zone,
                          size_t line_start, size_t max_line, size_t max_head)
{
    size_t lim = len < max_head ? len : max_head;

    while (i < lim) {
        unsigned char c = (unsigned char)buf[i];
        if (c == '\r') {
            if (i + 1 >= len)
                return FW_INCOMPLETE;          /* its LF has not arrived yet */
            /* RFC 9112 §2.2: a bare CR is invalid; we reject it everywhere */
            if (buf[i + 1] != '\n')
                return FW_E_BAD_REQUEST;
            if (zone == FW_Z_FIELDS && i == line_start) {
                /* RFC 9112 §2.1: the empty line after the field lines ends the head */
                if (i + 2 > max_head)
                    return FW_E_HEADERS_TOO_LARGE;
                return (int)(i + 2);
            }
            if (zone == FW_Z_REQLINE)
                zone = FW_Z_FIELDS;
            /* FW_Z_LEADING stays: RFC 9112 §2.2 lets a server ignore empty lines
             * before the request-line; they still count toward max_head_bytes */
            i += 2;
            line_start = i;
            continue;
        }
        /* RFC 9112 §2.2 allows accepting a bare LF as a line end; we reject it
         * (400) so that no other parser can frame the message differently */
        if (c == '\n')
            return FW_E_BAD_REQUEST;
        if (zone == FW_Z_LEADING)
            zone = FW_Z_REQLINE;               /* line_start == i here */
        /* this byte makes the request line longer than max_request_line */
        if (zone == FW_Z_REQLINE && i - line_start >= max_line)
            return FW_E_URI_TOO_LONG;
        i++;
    }
    /* max_head_bytes arrived and the head has not ended */
    if (len > max_head)
        return FW_E_HEADERS_TOO_LARGE;
    return FW_INCOMPLETE;
}

/* Scan buf[i..len) from the given state for the end of the head: the same answer
 * as fw_frame_bytes from the same state, faster. Whole lines (CRLF-terminated,
 * within the head limit) are taken with one memchr each; the first line that is
 * not simply fine is left to fw_frame_bytes, which then decides. */
static int fw_frame(const char *buf, size_t len, size_t i, int zone, size_t line_start,
                    size_t max_line, size_t max_head)
{
    size_t lim = len < max_head ? len : max_head;
    size_t from = i;
    int rc;

    while (i < lim) {
        const char *lf = memchr(buf + i, '\n', lim - i);
        size_t p;
        if (lf == NULL)
            break;                     /* an incomplete line, or the head limit */
        p = (size_t)(lf - buf);
        /* RFC 9112 §2.2: LF without CR before it → 400, decided byte by byte (an
         * earlier bare CR or the 414 limit may come first). p == i means no CR in
         * the scanned range: fw_resume_state never starts just after a CR. */
        if (p == i || buf[p - 1] != '\r')
            break;
        if (zone == FW_Z_FIELDS) {
            /* RFC 9112 §2.1: the empty line after the field lines ends the head
             * (p < lim <= max_head, so the head fits) */
            if (p - 1 == line_start)
                return (int)(p + 1);
        } else if (zone == FW_Z_REQLINE || p - 1 != line_start) {
            /* the request line [line_start, p - 1) ends here; over
             * max_request_line means 414, unless a bare CR comes before the byte
             * that crossed it: fw_frame_bytes decides */
            if (p - 1 - line_start > max_line)
                break;
            zone = FW_Z_FIELDS;
        }
        /* else an empty line before the request line: RFC 9112 §2.2 lets a
         * server ignore it; it still counts toward max_head_bytes */
        i = p + 1;
        line_start = i;
    }
    rc = fw_frame_bytes(buf, len, i, zone, line_start, max_line, max_head);
    if (rc < 0 && rc != FW_E_BAD_REQUEST && fw_has_bare_cr(buf, from, i))
        return FW_E_BAD_REQUEST;
    return rc;
}

/* ------------------------------------------------------------------------- */
/* request line                                                                */

/* RFC 3986 §3.2: authority = host [ ":" port ], without userinfo.
 * host = IP-literal / IPv4address / reg-name (reg-name must be non-empty: RFC 9110
 * §4.2.1 says an "http" URI with an empty host is invalid). port = *DIGIT, or
 * 1*DIGIT when need_port (RFC 9112 §3.2.3 authority-form). '@' is refused:
 * RFC 9110 §4.2.4 says to treat userinfo in an http(s) URI as an error. */
static int fw_valid_authority(const char *s, size_t n, int need_port)
{
    size_t i = 0;

    if (n == 0)
        return 0;
    if (s[0] == '[') {
        /* RFC 3986 §3.2.2 IP-literal: IPv6address / IPvFuture, within brackets */
        for (i = 1; i < n && s[i] != ']'; i++) {
            unsigned char c = (unsigned char)s[i];
            if (!fw_is_unreserved_or_subdelim(c) && c != ':')
                return 0;
        }
        if (i == n || i == 1)
            return 0;
        i++;
    } else {
        /* reg-name = *( unreserved / pct-encoded / sub-delims ); IPv4address
         * is made of the same bytes */
        for (;;) {
            while (i < n && fw_is_unreserved_or_subdelim((unsigned char)s[i]))
                i++;
            if (i == n || s[i] == ':')
                break;
            /* RFC 3986 §2.1: pct-encoded = "%" HEXDIG HEXDIG */
            if (s[i] != '%' || n - i < 3 || !fw_is_hex((unsigned char)s[i + 1]) ||
                !fw_is_hex((unsigned char)s[i + 2]))
                return 0;
            i += 3;
        }
        if (i == 0)
            return 0;
    }
    if (i == n)
        return !need_port;
    if (s[i] != ':')
        return 0;
    i++;
    if (i == n)
        return !need_port;
    for (; i < n; i++) {
        if (!fw_is_digit((unsigned char)s[i]))
            return 0;
    }
    return 1;
}

/* Split [a, b) at its first '?', at qo (qo == b: none), into path and query. */
static void fw_split_query(size_t a, size_t qo, size_t b, fw_request_t *req)
{
    if (qo == b) {
        req->path = fw_mkslice(a, b - a);
        req->query = fw_mkslice(b, 0);
    } else {
        req->path = fw_mkslice(a, qo - a);
        req->query = fw_mkslice(qo + 1, b - qo - 1);
    }
}

/* Parse the request line buf[a..b) (CRLF excluded; buf[b] is its CR). */
static int fw_parse_request_line(const char *buf, size_t a, size_t b, fw_request_t *req)
{
    size_t i = a, t, v, qo;
    const char *m, *tg;
    size_t mlen, tlen;

    /* buf[b] is the CR that ends the line, in neither class below: the scans
     * stop at it at the latest and need no bound. */

    /* RFC 9112 §3: request-line = method SP request-target SP HTTP-version;
     * RFC 9110 §9.1: method = token */
    i = fw_span(buf, i, FW_C_TCHAR);
    if (i == a || buf[i] != ' ')
        return FW_E_BAD_REQUEST;
    req->method = fw_mkslice(a, i - a);

    /* request-target: visible ASCII only (RFC 3986 has no other characters;
     * RFC 9112 §3.2 says no whitespace inside), and no "#" (RFC 9112 §3.2: the
     * request-target has no fragment component); FW_CC_TARGET_ in fw_chars.h.
     * Exactly one SP on each side. The first '?' (qo, or the end of the
     * target) is noted on the way: it starts the query in every form. */
    t = ++i;
    i = fw_span(buf, i, FW_C_PATH);
    qo = i;
    if (buf[i] == '?')
        i = fw_span(buf, i + 1, FW_C_TARGET);
    if (i == t || buf[i] != ' ')
        return FW_E_BAD_REQUEST;
    req->target = fw_mkslice(t, i - t);

    /* RFC 9112 §2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive */
    v = i + 1;
    if (b - v != 8 || memcmp(buf + v, "HTTP/", 5) != 0 ||
        !fw_is_digit((unsigned char)buf[v + 5]) || buf[v + 6] != '.' ||
        !fw_is_digit((unsigned char)buf[v + 7]))
        return FW_E_BAD_REQUEST;
    if (buf[v + 5] != '1' || (buf[v + 7] != '0' && buf[v + 7] != '1'))
        return FW_E_VERSION;           /* RFC 9110 §15.6.6: 505 */
    req->minor_version = buf[v + 7] - '0';

    /* RFC 9112 §3.2: the four forms of request-target */
    m = buf + req->method.off;
    mlen = req->method.len;
    tg = buf + t;
    tlen = req->target.len;
    if (fw_eq(m, mlen, "CONNECT")) {
        /* RFC 9112 §3.2.3: CONNECT takes authority-form only, "host:port" */
        if (!fw_valid_authority(tg, tlen, 1))
            return FW_E_BAD_REQUEST;
        req->path = fw_mkslice(t + tlen, 0);
        req->query = fw_mkslice(t + tlen, 0);
        return 0;
    }
    if (tg[0] == '/') {
        /* RFC 9112 §3.2.1 origin-form = absolute-path [ "?" query ] */
        fw_split_query(t, qo, t + tlen, req);
        return 0;
    }
    if (tg[0] == '*') {
        /* RFC 9112 §3.2.4: asterisk-form "*", only for OPTIONS */
        if (tlen != 1 || !fw_eq(m, mlen, "OPTIONS"))
            return FW_E_BAD_REQUEST;
        req->path = fw_mkslice(t, 1);
        req->query = fw_mkslice(t + 1, 0);
        return 0;
    }
    {
        /* RFC 9112 §3.2.2 absolute-form; only the http and https schemes
         * (RFC 3986 §3.1: scheme is case-insensitive) */
        size_t h, e;
        if (tlen >= 7 && fw_ieq(tg, 7, "http://"))
            h = 7;
        else if (tlen >= 8 && fw_ieq(tg, 8, "https://"))
            h = 8;
        else
            return FW_E_BAD_REQUEST;
        for (e = h; e < tlen && tg[e] != '/' && tg[e] != '?'; e++)
            ;
        if (!fw_valid_authority(tg + h, e - h, 0))
            return FW_E_BAD_REQUEST;
        req->flags |= FW_REQ_ABSOLUTE_FORM;
        if (e < tlen && tg[e] == '/') {
            /* the authority holds no '?', so qo is the path's first '?' */
            fw_split_query(t + e, qo, t + tlen, req);
        } else if (e < tlen) {
            /* "http://host?q": empty path, which means "/" (RFC 9110 §4.2.3) */
            req->path = fw_mkslice(t + e, 0);
            req->query = fw_mkslice(t + e + 1, tlen - e - 1);
        } else {
            req->path = fw_mkslice(t + tlen, 0);
            req->query = fw_mkslice(t + tlen, 0);
        }
        return 0;
    }
}

/* ------------------------------------------------------------------------- */
/* header fields                                                               */

typedef struct {
    int have_cl;
    uint64_t cl;
    int have_te;
    int te_chunked;        /* "chunked" seen */
    int te_last_chunked;   /* the last coding so far is "chunked" */
    int te_other;          /* a coding other than chunked seen */
    size_t host_count;
    int host_empty;
    size_t max_fields;     /* min(max_header_count, header_capacity) */
} fw_fieldinfo_t;

/* Next comma-separated list element of s[*i..n), OWS-trimmed, in [*a, *b).
 * Returns 0 when the list is exhausted. */
static int fw_next_elem(const char *s, size_t n, size_t *i, size_t *a, size_t *b)
{
    size_t x, y, e;
    if (*i > n)
        return 0;
    for (e = *i; e < n && s[e] != ','; e++)
        ;
    x = *i;
    y = e;
    while (x < y && fw_is_ows((unsigned char)s[x]))
        x++;
    while (y > x && fw_is_ows((unsigned char)s[y - 1]))
        y--;
    *a = x;
    *b = y;
    *i = e + 1;
    return 1;
}

/* Content-Length value s[0..n), already OWS-trimmed. */
static int fw_field_content_length(const char *s, size_t n, fw_fieldinfo_t *fi)
{
    uint64_t v = 0;
    size_t i;

    /* RFC 9110 §8.6: Content-Length = 1*DIGIT. The same section lets a recipient
     * accept a list of identical values ("5, 5"); we reject any list, sign,
     * space or hex: such a value means the sender's framing is suspect. */
    if (n == 0)
        return FW_E_BAD_REQUEST;
    for (i = 0; i < n; i++) {
        unsigned d;
        if (!fw_is_digit((unsigned char)s[i]))
            return FW_E_BAD_REQUEST;
        d = (unsigned)(s[i] - '0');
        /* values beyond 2^63-1 are refused rather than wrapped */
        if (v > (FW_I63_MAX - d) / 10)
            return FW_E_BAD_REQUEST;
        v = v * 10 + d;
    }
    /* RFC 9112 §6.3 item 5: differing Content-Length values → 400 */
    if (fi->have_cl && fi->cl != v)
        return FW_E_BAD_REQUEST;
    fi->have_cl = 1;
    fi->cl = v;
    return 0;
}

/* Transfer-Encoding value s[0..n), OWS-trimmed. The codings of all TE field
 * lines form one list, in order (RFC 9110 §5.3). */
static int fw_field_transfer_encoding(const char *s, size_t n, fw_fieldinfo_t *fi)
{
    size_t i = 0, a, b;

    fi->have_te = 1;
    while (fw_next_elem(s, n, &i, &a, &b)) {
        size_t t = a;
        /* We refuse empty elements (an empty value, "chunked,", ", chunked"),
         * although RFC 9110 §5.6.1 lets a recipient skip them: a framing header
         * is no place to be lenient. */
        if (a == b)
            return FW_E_BAD_REQUEST;
        /* RFC 9112 §7: transfer-coding = token *( OWS ";" OWS transfer-parameter ) */
        while (t < b && fw_is_tchar((unsigned char)s[t]))
            t++;
        if (t == a)
            return FW_E_BAD_REQUEST;
        if (t < b) {
            size_t u = t;
            while (u < b && fw_is_ows((unsigned char)s[u]))
                u++;
            if (u == b || s[u] != ';')
                return FW_E_BAD_REQUEST;
        }
        if (fw_ieq(s + a, t - a, "chunked")) {
            /* chunked has no parameters (RFC 9112 §7.1); "chunked;x" → 400 */
            if (t < b)
                return FW_E_BAD_REQUEST;
            /* RFC 9112 §6.1: a sender MUST NOT apply chunked more than once */
            if (fi->te_chunked)
                return FW_E_BAD_REQUEST;
            fi->te_chunked = 1;
            fi->te_last_chunked = 1;
        } else {
            /* any other token, e.g. gzip or "chunkedx": a coding we do not
             * decode; decided after all fields (400 or 501) */
            fi->te_other = 1;
            fi->te_last_chunked = 0;
        }
    }
    return 0;
}

/* Connection: comma-separated connection options (RFC 9110 §7.6.1). */
static void fw_field_connection(const char *s, size_t n, fw_request_t *req)
{
    size_t i = 0, a, b;
    while (fw_next_elem(s, n, &i, &a, &b)) {
        if (fw_ieq(s + a, b - a, "close"))
            req->flags |= FW_REQ_CONN_CLOSE;
        else if (fw_ieq(s + a, b - a, "keep-alive"))
            req->flags |= FW_REQ_CONN_KEEP_ALIVE;
    }
}

/* Expect (RFC 9110 §10.1.1): only 100-continue means anything to us. */
static void fw_field_expect(const char *s, size_t n, fw_request_t *req)
{
    size_t i = 0, a, b;
    /* RFC 9110 §10.1.1: a server MUST ignore a 100-continue expectation in an
     * HTTP/1.0 request */
    if (req->minor_version == 0)
        return;
    while (fw_next_elem(s, n, &i, &a, &b)) {
        if (fw_ieq(s + a, b - a, "100-continue"))
            req->flags |= FW_REQ_EXPECT_CONTINUE;
    }
}

/* One field line, starting at buf[a] and not empty. fw_parse_head makes sure a
 * CR follows, so the scans below stop at it at the latest and need no bound; its
 * LF is there too. On success *next is the start of the next line. */
static int fw_parse_field(const char *buf, size_t a, fw_request_t *req,
                          fw_fieldinfo_t *fi, size_t *next)
{
    size_t i = a, v, e, w;
    const char *name, *val;
    size_t nlen, vlen;
    fw_header_t *h;
    int rc;

    /* over max_header_count, or no room left in the caller's array: 431, unless
     * the line's first CR has no LF after it (RFC 9112 §2.2: 400, a framing
     * error, which comes first) */
    if (req->num_headers >= fi->max_fields) {
        e = a;
        while (buf[e] != '\r')
            e++;
        return buf[e + 1] == '\n' ? FW_E_HEADERS_TOO_LARGE : FW_E_BAD_REQUEST;
    }

    /* RFC 9112 §5: field-line = field-name ":" OWS field-value OWS, with
     * field-name = token. So this also rejects (400):
     *  - RFC 9112 §5.1: whitespace between field-name and colon;
     *  - RFC 9112 §5.2: obs-fold, a line starting with SP/HTAB (outside
     *    message/http a server may reject it), and whitespace between the
     *    request line and the first field line (RFC 9112 §2.2). */
    i = fw_span(buf, i, FW_C_TCHAR);
    if (i == a || buf[i] != ':')
        return FW_E_BAD_REQUEST;
    name = buf + a;
    nlen = i - a;

    /* RFC 9110 §5.5: only HTAB, SP, VCHAR and obs-text in a field value; NUL,
     * CR, LF, other CTLs and DEL → 400. The value runs to the first byte that is
     * not a field byte, which must be the CR of the line's CRLF (a bare CR here
     * is 400 as well, RFC 9112 §2.2). Leading OWS is skipped on the way, trailing
     * OWS (RFC 9110 §5.5: not part of the value) is trimmed from the end. */
    v = i + 1;
    while (fw_is_ows((unsigned char)buf[v]))
        v++;
    e = fw_span(buf, v, FW_C_FIELD);
    if (buf[e] != '\r' || buf[e + 1] != '\n')
        return FW_E_BAD_REQUEST;
    w = e;
    while (w > v && fw_is_ows((unsigned char)buf[w - 1]))
        w--;
    val = buf + v;
    vlen = w - v;
    *next = e + 2;

    h = &req->headers[req->num_headers++];
    h->name = fw_mkslice(a, nlen);
    h->value = fw_mkslice(v, vlen);

    /* the fields the parser acts on, told apart by length first */
    switch (nlen) {
    case 4:
        if (fw_name_is(name, "host", 4)) {
            /* RFC 9112 §3.2: more than one Host field line → 400 */
            if (++fi->host_count > 1)
                return FW_E_BAD_REQUEST;
            /* RFC 9112 §3.2: a Host with an invalid field value → 400;
             * Host = uri-host [ ":" port ] (RFC 9110 §7.2) */
            if (vlen == 0)
                fi->host_empty = 1;
            else if (!fw_valid_authority(val, vlen, 0))
                return FW_E_BAD_REQUEST;
        }
        break;
    case 6:
        if (fw_name_is(name, "expect", 6))
            fw_field_expect(val, vlen, req);
        break;
    case 10:
        if (fw_name_is(name, "connection", 10))
            fw_field_connection(val, vlen, req);
        break;
    case 14:
        if (fw_name_is(name, "content-length", 14))
            return fw_field_content_length(val, vlen, fi);
        break;
    case 17:
        if (fw_name_is(name, "transfer-encoding", 17)) {
            /* RFC 9112 §6.1: TE in an HTTP/1.0 message means faulty framing */
            if (req->minor_version == 0)
                return FW_E_BAD_REQUEST;
            rc = fw_field_transfer_encoding(val, vlen, fi);
            if (rc != 0)
                return rc;
        }
        break;
    default:
        break;
    }
    return 0;
}

/* ------------------------------------------------------------------------- */
/* whole head                                                                  */

/* Parse the head at the start of buf[0..lim), whose last two bytes must be CRLF:
 * every scan below stops at a CR, so none runs past that one. The head ends at
 * the first empty line after the request line. exact: framing found the head to
 * be buf[0..lim), so that empty line must end at lim.
 * Returns the head length or an FW_E_* code. */
static int fw_parse_head(const char *buf, size_t lim, int exact, fw_request_t *req,
                         const fw_parse_limits_t *limits)
{
    fw_fieldinfo_t fi;
    size_t i = 0, end;
    const char *cr;
    int rc;

    if (lim < 2 || buf[lim - 2] != '\r' || buf[lim - 1] != '\n')
        return FW_E_BAD_REQUEST;

    memset(&fi, 0, sizeof fi);
    fi.max_fields = limits->max_header_count < req->header_capacity
                        ? limits->max_header_count : req->header_capacity;
    req->minor_version = 0;
    req->num_headers = 0;
    req->body = FW_BODY_NONE;
    req->content_length = 0;
    req->flags = 0;

    /* RFC 9112 §2.2: skip empty lines before the request-line */
    while (lim - i >= 2 && buf[i] == '\r' && buf[i + 1] == '\n')
        i += 2;

    /* request line */
    cr = memchr(buf + i, '\r', lim - i);
    if (cr == NULL || (size_t)(cr - buf) + 1 >= lim || cr[1] != '\n')
        return FW_E_BAD_REQUEST;
    /* framing has enforced this already, unless last_len did not describe buf */
    if ((size_t)(cr - buf) - i > limits->max_request_line)
        return FW_E_URI_TOO_LONG;
    rc = fw_parse_request_line(buf, i, (size_t)(cr - buf), req);
    if (rc != 0)
        return rc;
    i = (size_t)(cr - buf) + 2;

    /* field lines up to the empty line */
    for (;;) {
        /* every line ends in CRLF and so does buf[0..lim), so i < lim means
         * i <= lim - 2: the CR at lim - 2 is still ahead */
        if (i >= lim)
            return FW_E_BAD_REQUEST;
        if (buf[i] == '\r') {
            /* the empty line; when exact, framing found it at the end unless the
             * caller passed a last_len that does not describe this buffer */
            end = i + 2;
            if (buf[i + 1] != '\n' || (exact && end != lim))
                return FW_E_BAD_REQUEST;
            break;
        }
        rc = fw_parse_field(buf, i, req, &fi, &i);
        if (rc != 0)
            return rc;
    }

    /* RFC 9112 §3.2: an HTTP/1.1 request without Host → 400 */
    if (fi.host_count == 1)
        req->flags |= FW_REQ_HAS_HOST;
    else if (req->minor_version == 1)
        return FW_E_BAD_REQUEST;
    /* RFC 9112 §3.2: an empty Host is sent only when the target URI has no
     * authority, i.e. not for absolute-form or authority-form targets */
    if (fi.host_empty && ((req->flags & FW_REQ_ABSOLUTE_FORM) ||
                          fw_eq(buf + req->method.off, req->method.len, "CONNECT")))
        return FW_E_BAD_REQUEST;

    if (fi.have_te) {
        /* RFC 9112 §6.3 item 3 / §6.1: Transfer-Encoding with Content-Length is
         * a smuggling vector; we reject it rather than let TE win */
        if (fi.have_cl)
            return FW_E_BAD_REQUEST;
        /* RFC 9110 §6.1 / RFC 9112 §6.1: a transfer coding we do not decode
         * (gzip, "chunk", ...) → 501, wherever it stands in the list. Checked
         * first on purpose: "chunked, gzip" is a coding we cannot undo, and
         * either answer closes the connection. */
        if (fi.te_other)
            return FW_E_NOT_IMPLEMENTED;
        /* RFC 9112 §6.3 item 4: chunked not the final coding → 400 */
        if (!fi.te_last_chunked)
            return FW_E_BAD_REQUEST;
        req->body = FW_BODY_CHUNKED;
    } else if (fi.have_cl) {
        req->body = FW_BODY_LENGTH;
        req->content_length = fi.cl;
    }
    return (int)end;
}

/* ------------------------------------------------------------------------- */

/* The long way: framing from the state last_len describes, then the full parse
 * of the head it found. Kept out of line so that the common call of
 * fw_parse_request, which never gets here, does not pay for its registers. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static int fw_parse_framed(const char *buf, size_t len, size_t last_len, fw_request_t *req,
                           const fw_parse_limits_t *limits, size_t max_head)
{
    size_t max_line = limits->max_request_line;
    size_t pos = 0, line_start = 0, end;
    int zone = FW_Z_LEADING;
    int rc;

    /* a prefix that returned FW_INCOMPLETE is never longer than max_head; any
     * last_len the bytes contradict falls back to a scan from 0 */
    if (last_len > len || last_len > max_head ||
        !fw_resume_state(buf, last_len, max_line, &pos, &zone, &line_start)) {
        pos = 0;
        zone = FW_Z_LEADING;
        line_start = 0;
    }
    rc = fw_frame(buf, len, pos, zone, line_start, max_line, max_head);
    if (rc <= 0)
        return rc;
    end = (size_t)rc;
    rc = fw_parse_head(buf, end, 1, req, limits);
    /* A bare CR inside a line is 400 (RFC 9112 §2.2) whatever else is wrong, as
     * when framing looked at every byte; the parse says 400 when it meets one,
     * but it may stop earlier with another error (see fw_has_bare_cr). */
    if (rc < 0 && rc != FW_E_BAD_REQUEST && fw_has_bare_cr(buf, pos, end))
        return FW_E_BAD_REQUEST;
    return rc;
}

int fw_parse_request(const char *buf, size_t len, size_t last_len,
                     fw_request_t *req, const fw_parse_limits_t *limits)
{
    size_t max_head = limits->max_head_bytes;
    size_t lim;
    int rc;

    /* the head length is returned as an int */
    if (max_head > (size_t)INT_MAX)
        max_head = (size_t)INT_MAX;

    /* The head arrived whole in one call (last_len == 0), and the bytes we may
     * look at end with CRLF: parse straight away, with no framing pass. When that
     * finds a valid head, framing would have found the same one (the parse saw
     * every line of it end in CRLF with no CR or LF inside, the request line
     * within max_request_line, and the head within max_head_bytes), so the
     * answer is the same; anything else is decided the long way. */
    lim = len < max_head ? len : max_head;
    if (last_len == 0 && lim >= 2 && buf[lim - 2] == '\r' && buf[lim - 1] == '\n') {
        rc = fw_parse_head(buf, lim, 0, req, limits);
        if (rc > 0)
            return rc;
    }
    return fw_parse_framed(buf, len, last_len, req, limits, max_head);
}
