/* Unit tests for fw_parse_request (fw_parser.h).
 *
 * Every vector is fed (A) whole, (B) one byte more per call, each call on a heap
 * copy of exactly that many bytes with last_len = the previous length, (C) at the
 * length where (B) decided, again with last_len = 0, and (D) in random-sized
 * steps; all four must agree, and (A) must match the expectation. */
#include <stdint.h>
#include <time.h>

#include "../fw_parser.h"
#include "fw_test.h"

#define OK 1                          /* expected: success */
#define MAXH 256                      /* header array size used by the table */

enum { LIM_DEFAULT, LIM_TIGHT, LIM_HEADSMALL, LIM_HUGE };
static const fw_parse_limits_t limit_sets[] = {
    { 8190, 100, 65536 },             /* LIM_DEFAULT */
    { 32, 4, 128 },                   /* LIM_TIGHT: line 32, 4 fields, head 128 */
    { 64, 100, 40 },                  /* LIM_HEADSMALL: head limit below the line limit */
    { SIZE_MAX, SIZE_MAX, SIZE_MAX }, /* LIM_HUGE: head limit clamps to INT_MAX */
};

typedef struct {
    const char *name;
    bytes_t in;
    int expect;                       /* OK, FW_INCOMPLETE or FW_E_* */
    size_t tail;                      /* OK: bytes after the head (pipelined / body) */
    int lim;                          /* index into limit_sets */
    size_t at;                        /* != 0: the byte-by-byte feed decides at this length */
    const char *method, *target, *path, *query;   /* NULL: not checked */
    int minor, body;
    uint64_t cl;
    unsigned flags;
    int nhdr;                         /* -1: not checked */
    const char *hdrs;                 /* "Name:value\n" per field, exact; NULL: not checked */
} pvec_t;

#define H   FW_REQ_HAS_HOST
#define CC  FW_REQ_CONN_CLOSE
#define KA  FW_REQ_CONN_KEEP_ALIVE
#define EC  FW_REQ_EXPECT_CONTINUE
#define AF  FW_REQ_ABSOLUTE_FORM
#define BN  FW_BODY_NONE
#define BL  FW_BODY_LENGTH
#define BC  FW_BODY_CHUNKED
#define E400 FW_E_BAD_REQUEST
#define E414 FW_E_URI_TOO_LONG
#define E431 FW_E_HEADERS_TOO_LARGE
#define E501 FW_E_NOT_IMPLEMENTED
#define E505 FW_E_VERSION
#define INC  FW_INCOMPLETE

/* good vector: whole input is the head */
#define G(nm, s, m, t, pa, q, mi, bo, cl, fl, nh, hd) \
    { nm, B(s), OK, 0, LIM_DEFAULT, 0, m, t, pa, q, mi, bo, cl, fl, nh, hd }
/* good vector with tail bytes after the head */
#define GT(nm, s, tl, m, t, pa, q, mi, bo, cl, fl, nh, hd) \
    { nm, B(s), OK, tl, LIM_DEFAULT, 0, m, t, pa, q, mi, bo, cl, fl, nh, hd }
/* bad (or incomplete) vector */
#define X(nm, s, code) \
    { nm, B(s), code, 0, LIM_DEFAULT, 0, NULL, NULL, NULL, NULL, 0, 0, 0, 0, -1, NULL }
/* bad vector decided at a given prefix length, with given limits */
#define XL(nm, s, code, lim, at) \
    { nm, B(s), code, 0, lim, at, NULL, NULL, NULL, NULL, 0, 0, 0, 0, -1, NULL }

#define RL "GET / HTTP/1.1\r\n"
#define HOST "Host: a\r\n"

static const pvec_t vectors[] = {
    /* ---- good requests ---- */
    G("simple GET", "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
      "GET", "/", "/", "", 1, BN, 0, H, 1, "Host:example.com\n"),
    G("HTTP/1.0 without Host", "GET /x HTTP/1.0\r\n\r\n",
      "GET", "/x", "/x", "", 0, BN, 0, 0, 0, ""),
    G("HTTP/1.0 with Host", "GET /x HTTP/1.0\r\nHost: h\r\n\r\n",
      "GET", "/x", "/x", "", 0, BN, 0, H, 1, "Host:h\n"),
    G("query string", "GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: h\r\n\r\n",
      "GET", "/a/b?x=1&y=2", "/a/b", "x=1&y=2", 1, BN, 0, H, 1, NULL),
    G("empty query", "GET /a? HTTP/1.1\r\nHost: h\r\n\r\n",
      "GET", "/a?", "/a", "", 1, BN, 0, H, 1, NULL),
    G("query with ? and /", "GET /a?b?c/d HTTP/1.1\r\nHost: h\r\n\r\n",
      "GET", "/a?b?c/d", "/a", "b?c/d", 1, BN, 0, H, 1, NULL),
    G("percent-encoded path kept", "GET /a%20b//c HTTP/1.1\r\nHost: h\r\n\r\n",
      "GET", "/a%20b//c", "/a%20b//c", "", 1, BN, 0, H, 1, NULL),
    G("leading empty lines", "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET", "/", "/", "", 1, BN, 0, H, 1, "Host:a\n"),
    G("absolute-form", "GET http://example.com/p?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n",
      "GET", "http://example.com/p?q=1", "/p", "q=1", 1, BN, 0, H | AF, 1, NULL),
    G("absolute-form https upper, no path",
      "GET HTTPS://example.com:8443 HTTP/1.1\r\nHost: example.com:8443\r\n\r\n",
      "GET", "HTTPS://example.com:8443", "", "", 1, BN, 0, H | AF, 1, NULL),
    G("absolute-form query without path", "GET http://h?x=1 HTTP/1.1\r\nHost: h\r\n\r\n",
      "GET", "http://h?x=1", "", "x=1", 1, BN, 0, H | AF, 1, NULL),
    G("absolute-form IPv6", "GET http://[::1]:80/x HTTP/1.1\r\nHost: [::1]:80\r\n\r\n",
      "GET", "http://[::1]:80/x", "/x", "", 1, BN, 0, H | AF, 1, NULL),
    G("asterisk OPTIONS", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
      "OPTIONS", "*", "*", "", 1, BN, 0, H, 1, NULL),
    G("CONNECT authority-form", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
      "CONNECT", "example.com:443", "", "", 1, BN, 0, H, 1, NULL),
    G("custom method", "PURGE /x HTTP/1.1\r\nHost: a\r\n\r\n",
      "PURGE", "/x", "/x", "", 1, BN, 0, H, 1, NULL),
    G("lower-case method is a token", "get / HTTP/1.1\r\nHost: a\r\n\r\n",
      "get", "/", "/", "", 1, BN, 0, H, 1, NULL),
    G("obs-text in value", RL HOST "X-A: caf\xc3\xa9 \x80\xff\r\n\r\n",
      "GET", "/", "/", "", 1, BN, 0, H, 2, "Host:a\nX-A:caf\xc3\xa9 \x80\xff\n"),
    G("empty value", RL HOST "X-Empty:\r\nX-Blank: \t \r\n\r\n",
      "GET", "/", "/", "", 1, BN, 0, H, 3, "Host:a\nX-Empty:\nX-Blank:\n"),
    G("OWS trimmed, inner kept", RL HOST "X-A: \t a \t b \t\r\n\r\n",
      "GET", "/", "/", "", 1, BN, 0, H, 2, "Host:a\nX-A:a \t b\n"),
    G("name case kept", RL "hOsT: a\r\nX-y-Z:1\r\n\r\n",
      "GET", "/", "/", "", 1, BN, 0, H, 2, "hOsT:a\nX-y-Z:1\n"),
    G("tchar name", RL HOST "!#$%&'*+-.^_`|~09az: v\r\n\r\n",
      "GET", "/", "/", "", 1, BN, 0, H, 2, "Host:a\n!#$%&'*+-.^_`|~09az:v\n"),
    G("empty Host on origin-form", "GET / HTTP/1.1\r\nHost:\r\n\r\n",
      "GET", "/", "/", "", 1, BN, 0, H, 1, "Host:\n"),
    G("Host with port and IPv6", "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
      "GET", "/", "/", "", 1, BN, 0, H, 1, NULL),
    GT("Content-Length", RL HOST "Content-Length: 5\r\n\r\nhello", 5,
       "GET", "/", "/", "", 1, BL, 5, H, 2, NULL),
    G("Content-Length 0", RL HOST "Content-Length: 0\r\n\r\n",
      "GET", "/", "/", "", 1, BL, 0, H, 2, NULL),
    G("Content-Length leading zeros", RL HOST "content-length: 007\r\n\r\n",
      "GET", "/", "/", "", 1, BL, 7, H, 2, NULL),
    G("Content-Length max", RL HOST "Content-Length: 9223372036854775807\r\n\r\n",
      "GET", "/", "/", "", 1, BL, UINT64_C(9223372036854775807), H, 2, NULL),
    G("Content-Length identical duplicates", RL HOST "Content-Length: 5\r\nContent-Length: 5\r\n\r\n",
      "GET", "/", "/", "", 1, BL, 5, H, 3, NULL),
    G("Content-Length equal value duplicates", RL HOST "Content-Length: 5\r\nContent-Length: 05 \r\n\r\n",
      "GET", "/", "/", "", 1, BL, 5, H, 3, NULL),
    G("chunked", RL HOST "Transfer-Encoding: chunked\r\n\r\n",
      "GET", "/", "/", "", 1, BC, 0, H, 2, NULL),
    G("chunked case/OWS", RL HOST "transfer-encoding:  CHUNKED \t\r\n\r\n",
      "GET", "/", "/", "", 1, BC, 0, H, 2, NULL),
    G("Connection keep-alive", RL HOST "Connection: keep-alive\r\n\r\n",
      "GET", "/", "/", "", 1, BN, 0, H | KA, 2, NULL),
    G("Connection close list", RL HOST "Connection: Upgrade, CLOSE\r\n\r\n",
      "GET", "/", "/", "", 1, BN, 0, H | CC, 2, NULL),
    G("Connection several fields", RL HOST "Connection: foo\r\nconnection: ,Keep-Alive,\r\n\r\n",
      "GET", "/", "/", "", 1, BN, 0, H | KA, 3, NULL),
    G("Connection list with OWS", RL HOST "Connection: close ,\tkeep-alive\t, x\r\n\r\n",
      "GET", "/", "/", "", 1, BN, 0, H | CC | KA, 2, NULL),
    G("Connection closed is not close", RL HOST "Connection: closed, keep-alivex\r\n\r\n",
      "GET", "/", "/", "", 1, BN, 0, H, 2, NULL),
    G("Expect 100-continue", RL HOST "Expect: 100-Continue\r\n\r\n",
      "GET", "/", "/", "", 1, BN, 0, H | EC, 2, NULL),
    G("Expect other", RL HOST "Expect: 200-ok\r\n\r\n",
      "GET", "/", "/", "", 1, BN, 0, H, 2, NULL),
    G("Expect ignored on 1.0", "GET / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n",
      "GET", "/", "/", "", 0, BN, 0, 0, 1, NULL),
    GT("pipelined", "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\n", 17,
       "GET", "/", "/", "", 1, BN, 0, H, 1, NULL),
    GT("pipelined garbage not our business", "GET / HTTP/1.0\r\n\r\n\n\x01", 2,
       "GET", "/", "/", "", 0, BN, 0, 0, 0, NULL),

    /* ---- incomplete ---- */
    X("empty input", "", INC),
    X("only leading CRLF", "\r\n\r\n\r\n", INC),
    X("no blank line yet", "GET / HTTP/1.1\r\nHost: a\r\n", INC),
    X("CR waiting for LF", "GET / HTTP/1.1\r\nHost: a\r\n\r", INC),

    /* ---- framing: Transfer-Encoding / Content-Length ---- */
    X("TE + CL", RL HOST "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", E400),
    X("CL + TE", RL HOST "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", E400),
    X("TE on HTTP/1.0", "GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", E400),
    X("TE gzip, chunked -> 501", RL HOST "Transfer-Encoding: gzip, chunked\r\n\r\n", E501),
    X("TE gzip;q=1 then chunked field -> 501",
      RL HOST "Transfer-Encoding: gzip;q=1\r\nTransfer-Encoding: chunked\r\n\r\n", E501),
    X("TE gzip , chunked -> 501", RL HOST "Transfer-Encoding: gzip ,\tchunked\r\n\r\n", E501),
    X("TE gzip alone -> 501 (a coding we do not decode)", RL HOST "Transfer-Encoding: gzip\r\n\r\n", E501),
    X("TE chunked, gzip -> 501 (gzip is not decoded)", RL HOST "Transfer-Encoding: chunked, gzip\r\n\r\n", E501),
    X("TE identity -> 501 (no longer a registered coding)", RL HOST "Transfer-Encoding: identity\r\n\r\n", E501),
    X("TE chunkedx -> 501 (an unknown coding)", RL HOST "Transfer-Encoding: chunkedx\r\n\r\n", E501),
    X("TE chunked twice", RL HOST "Transfer-Encoding: chunked, chunked\r\n\r\n", E400),
    X("TE chunked twice, two fields", RL HOST "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", E400),
    X("TE chunked;x", RL HOST "Transfer-Encoding: chunked;x\r\n\r\n", E400),
    X("TE empty", RL HOST "Transfer-Encoding:\r\n\r\n", E400),
    X("TE empty element", RL HOST "Transfer-Encoding: , chunked\r\n\r\n", E400),
    X("TE trailing comma", RL HOST "Transfer-Encoding: chunked,\r\n\r\n", E400),
    X("TE junk after token", RL HOST "Transfer-Encoding: gzip x, chunked\r\n\r\n", E400),
    X("TE non-token", RL HOST "Transfer-Encoding: \"chunked\"\r\n\r\n", E400),
    X("CL plus sign", RL HOST "Content-Length: +5\r\n\r\n", E400),
    X("CL minus sign", RL HOST "Content-Length: -5\r\n\r\n", E400),
    X("CL space inside", RL HOST "Content-Length: 5 5\r\n\r\n", E400),
    X("CL hex", RL HOST "Content-Length: 0x5\r\n\r\n", E400),
    X("CL list", RL HOST "Content-Length: 5, 5\r\n\r\n", E400),
    X("CL empty", RL HOST "Content-Length: \r\n\r\n", E400),
    X("CL overflow 2^63", RL HOST "Content-Length: 9223372036854775808\r\n\r\n", E400),
    X("CL overflow 2^64", RL HOST "Content-Length: 18446744073709551616\r\n\r\n", E400),
    X("CL differing duplicates", RL HOST "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", E400),

    /* ---- field syntax ---- */
    X("obs-fold", RL HOST "X-A: b\r\n c\r\n\r\n", E400),
    X("obs-fold tab", RL HOST "X-A: b\r\n\tc\r\n\r\n", E400),
    X("whitespace before first field", RL " Host: a\r\n\r\n", E400),
    X("space before colon", RL "Host : a\r\n\r\n", E400),
    X("tab before colon", RL HOST "X-A\t: b\r\n\r\n", E400),
    X("space in name", RL HOST "X A: b\r\n\r\n", E400),
    X("paren in name", RL HOST "X(A): b\r\n\r\n", E400),
    X("empty name", RL HOST ": b\r\n\r\n", E400),
    X("no colon", RL HOST "X-A b\r\n\r\n", E400),
    X("obs-text in name", RL HOST "X-\xc3\xa9: b\r\n\r\n", E400),
    X("NUL in value", RL HOST "X-A: a\0b\r\n\r\n", E400),
    X("NUL in name", RL HOST "X\0A: b\r\n\r\n", E400),
    X("bare CR in value", RL HOST "X-A: a\rb\r\n\r\n", E400),
    X("bare LF in value", RL HOST "X-A: a\nb\r\n\r\n", E400),
    X("CTL in value", RL HOST "X-A: a\x01" "b\r\n\r\n", E400),
    X("ESC in value", RL HOST "X-A: \x1b[0m\r\n\r\n", E400),
    X("DEL in value", RL HOST "X-A: a\x7f\r\n\r\n", E400),
    X("bare LF field end", RL "Host: a\n\r\n", E400),
    X("bare LF blank line", RL "Host: a\r\n\n", E400),
    X("CR CR LF", RL "Host: a\r\r\n\r\n", E400),

    /* ---- Host ---- */
    X("missing Host on 1.1", "GET / HTTP/1.1\r\nX-A: b\r\n\r\n", E400),
    X("duplicate Host", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", E400),
    X("duplicate Host on 1.0", "GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n", E400),
    X("Host with userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", E400),
    X("Host with space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", E400),
    X("Host with slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", E400),
    X("Host bad port", "GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", E400),
    X("Host obs-text", "GET / HTTP/1.1\r\nHost: \xc3\xa9\r\n\r\n", E400),
    X("empty Host with absolute-form", "GET http://a/ HTTP/1.1\r\nHost:\r\n\r\n", E400),
    X("empty Host with CONNECT", "CONNECT a:443 HTTP/1.1\r\nHost:\r\n\r\n", E400),

    /* ---- request line ---- */
    X("HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", E505),
    X("HTTP/1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", E505),
    X("HTTP/0.9", "GET / HTTP/0.9\r\n\r\n", E505),
    X("HTTP/x.y", "GET / HTTP/x.y\r\nHost: a\r\n\r\n", E400),
    X("HTTP/1.1x", "GET / HTTP/1.1x\r\nHost: a\r\n\r\n", E400),
    X("HTTP/11.1", "GET / HTTP/11.1\r\nHost: a\r\n\r\n", E400),
    X("HTTP/1", "GET / HTTP/1\r\nHost: a\r\n\r\n", E400),
    X("lower-case http", "GET / http/1.1\r\nHost: a\r\n\r\n", E400),
    X("garbage version", "GET / FOO\r\nHost: a\r\n\r\n", E400),
    X("missing version", "GET /\r\n\r\n", E400),
    X("missing target", "GET HTTP/1.1\r\nHost: a\r\n\r\n", E400),
    X("double SP", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", E400),
    X("double SP before version", "GET /  HTTP/1.1\r\nHost: a\r\n\r\n", E400),
    X("trailing SP", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", E400),
    X("leading SP", " GET / HTTP/1.1\r\nHost: a\r\n\r\n", E400),
    X("tab separator", "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", E400),
    X("bad method char", "GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", E400),
    X("fragment", "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", E400),
    X("NUL in target", "GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n", E400),
    X("CTL in target", "GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n", E400),
    X("tab in target", "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", E400),
    X("DEL in target", "GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n", E400),
    X("obs-text in target", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", E400),
    XL("bare CR in target", "GET /a\rb HTTP/1.1\r\nHost: a\r\n\r\n", E400, LIM_DEFAULT, 8),
    XL("bare LF request line", "GET / HTTP/1.1\nHost: a\n\n", E400, LIM_DEFAULT, 15),
    XL("bare LF at start", "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", E400, LIM_DEFAULT, 1),
    XL("bare CR at start", "\r\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", E400, LIM_DEFAULT, 2),
    XL("LF after leading CRLF", "\r\n\nGET / HTTP/1.1\r\n\r\n", E400, LIM_DEFAULT, 3),
    X("asterisk with GET", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", E400),
    X("asterisk plus more", "OPTIONS *x HTTP/1.1\r\nHost: a\r\n\r\n", E400),
    X("relative target", "GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", E400),
    X("authority-form without CONNECT", "GET a:443 HTTP/1.1\r\nHost: a\r\n\r\n", E400),
    X("CONNECT without port", "CONNECT example.com HTTP/1.1\r\nHost: example.com\r\n\r\n", E400),
    X("CONNECT empty port", "CONNECT example.com: HTTP/1.1\r\nHost: example.com\r\n\r\n", E400),
    X("CONNECT origin-form", "CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n", E400),
    X("absolute-form userinfo", "GET http://u:p@a/ HTTP/1.1\r\nHost: a\r\n\r\n", E400),
    X("absolute-form empty host", "GET http:///p HTTP/1.1\r\nHost: a\r\n\r\n", E400),
    X("absolute-form other scheme", "GET ftp://a/p HTTP/1.1\r\nHost: a\r\n\r\n", E400),
    X("absolute-form bad pct", "GET http://a%zz/ HTTP/1.1\r\nHost: a\r\n\r\n", E400),
    X("absolute-form short pct", "GET http://a%4 HTTP/1.1\r\nHost: a\r\n\r\n", E400),
    G("absolute-form pct host", "GET http://a%41b/x HTTP/1.1\r\nHost: a%41b\r\n\r\n",
      "GET", "http://a%41b/x", "/x", "", 1, BN, 0, H | AF, 1, NULL),
    X("absolute-form bad IPv6 char", "GET http://[::1/]/ HTTP/1.1\r\nHost: a\r\n\r\n", E400),
    X("absolute-form empty brackets", "GET http://[]/ HTTP/1.1\r\nHost: a\r\n\r\n", E400),
    X("absolute-form junk after bracket", "GET http://[::1]x/ HTTP/1.1\r\nHost: a\r\n\r\n", E400),

    /* ---- limits (LIM_TIGHT: line 32, 4 fields, head 128) ---- */
    XL("414 before CRLF", "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", E414, LIM_TIGHT, 33),
    XL("414 after leading CRLF", "\r\n\r\nGET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", E414, LIM_TIGHT, 37),
    XL("line of 32 then CR", "GET /aaaaaaaaaaaaaaaaaa HTTP/1.1\r", INC, LIM_TIGHT, 0),
    { "line of exactly 32", B("GET /aaaaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: a\r\n\r\n"), OK, 0,
      LIM_TIGHT, 0, "GET", "/aaaaaaaaaaaaaaaaaa", NULL, "", 1, BN, 0, H, 1, NULL },
    XL("line of 33", "GET /aaaaaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: a\r\n\r\n", E414, LIM_TIGHT, 33),
    XL("5 fields over 4", RL "Host: a\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", E431, LIM_TIGHT, 0),
    { "4 fields", B(RL "Host: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"), OK, 0, LIM_TIGHT, 0,
      "GET", "/", "/", "", 1, BN, 0, H, 4, "Host:a\nA:1\nB:2\nC:3\n" },
    XL("431 by bytes before blank line",
       RL "Host: a\r\nX: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
       E431, LIM_TIGHT, 129),
    XL("431 on leading CRLFs",
       "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
       "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
       "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
       "\r\n\r\n\r\n\r\n\r\n", E431, LIM_TIGHT, 129),
    XL("431 before 414 when head limit is smaller",
       "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", E431, LIM_HEADSMALL, 41),
    { "huge limits", B("\r\nGET /x?y HTTP/1.1\r\nHost: a\r\n\r\n"), OK, 0, LIM_HUGE, 0,
      "GET", "/x?y", "/x", "y", 1, BN, 0, H, 1, "Host:a\n" },
    XL("huge limits, incomplete", "GET /x?y HTTP/1.1\r\nHost: a\r\n", INC, LIM_HUGE, 0),
    XL("400 before limits", "GET /a\nbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", E400, LIM_TIGHT, 7),
};

/* ------------------------------------------------------------------------- */

typedef struct {
    int rc;
    size_t at;                        /* prefix length of the deciding call */
    fw_request_t req;
    fw_header_t hdrs[MAXH];
} presult_t;

static void do_parse(const char *buf, size_t len, size_t last, const fw_parse_limits_t *lim,
                     size_t cap, presult_t *r, fw_header_t *hdrs)
{
    memset(&r->req, 0xA5, sizeof r->req);           /* the parser must set every output */
    r->req.headers = hdrs;
    r->req.header_capacity = cap;
    r->rc = fw_parse_request(buf, len, last, &r->req, lim);
    r->at = len;
}

static int slice_eq(fw_slice_t a, fw_slice_t b)
{
    return a.off == b.off && a.len == b.len;
}

/* Same verdict, and for a success the same request (offsets included). */
static int same_result(const presult_t *a, const presult_t *b)
{
    size_t i;
    if (a->rc != b->rc)
        return 0;
    if (a->rc <= 0)
        return 1;
    if (!slice_eq(a->req.method, b->req.method) || !slice_eq(a->req.target, b->req.target) ||
        !slice_eq(a->req.path, b->req.path) || !slice_eq(a->req.query, b->req.query) ||
        a->req.minor_version != b->req.minor_version || a->req.num_headers != b->req.num_headers ||
        a->req.body != b->req.body || a->req.flags != b->req.flags ||
        (a->req.body == FW_BODY_LENGTH && a->req.content_length != b->req.content_length))
        return 0;
    for (i = 0; i < a->req.num_headers; i++) {
        if (!slice_eq(a->req.headers[i].name, b->req.headers[i].name) ||
            !slice_eq(a->req.headers[i].value, b->req.headers[i].value))
            return 0;
    }
    return 1;
}

static int slice_is(const char *buf, fw_slice_t s, const char *want)
{
    return s.len == strlen(want) && memcmp(buf + s.off, want, s.len) == 0;
}

static void show_slice(const char *what, const char *buf, fw_slice_t s)
{
    fprintf(stderr, "    %s = [%zu+%zu] \"%.*s\"\n", what, s.off, s.len, (int)s.len, buf + s.off);
}

/* Feeds (A)-(D) described at the top; returns the whole-input result in *whole. */
static void feed_all(const char *in, size_t n, const fw_parse_limits_t *lim, size_t cap,
                     presult_t *whole, fw_header_t *hw, size_t *decided_at)
{
    static presult_t r;               /* big: keep off the stack */
    static fw_header_t hb[MAXH];
    presult_t bb;
    char *c;
    size_t k, prev;
    unsigned seed;
    int round;

    /* (A) whole */
    c = fw_t_dup(in, n);
    do_parse(c, n, 0, lim, cap, whole, hw);
    free(c);

    /* (B) byte by byte, last_len = previous length */
    memset(&bb, 0, sizeof bb);
    bb.rc = FW_INCOMPLETE;
    bb.at = n;
    for (k = 1; k <= n; k++) {
        c = fw_t_dup(in, k);
        do_parse(c, k, k - 1, lim, cap, &r, hb);
        free(c);
        if (r.rc != FW_INCOMPLETE) {
            bb = r;
            bb.req.headers = bb.hdrs;
            memcpy(bb.hdrs, hb, sizeof hb);
            break;
        }
    }
    FW_CHECK(same_result(whole, &bb), "whole rc=%d, byte-by-byte rc=%d at %zu",
             whole->rc, bb.rc, bb.at);
    *decided_at = bb.at;

    /* (C) at the deciding length, from scratch */
    c = fw_t_dup(in, bb.at);
    do_parse(c, bb.at, 0, lim, cap, &r, hb);
    free(c);
    r.req.headers = hb;
    FW_CHECK(same_result(&r, &bb), "last_len=0 at %zu rc=%d, byte-by-byte rc=%d",
             bb.at, r.rc, bb.rc);

    /* (D) random steps */
    for (round = 0; round < 4; round++) {
        seed = (unsigned)(n * 2654435761u) + (unsigned)round * 7919u + 1u;
        prev = 0;
        k = 0;
        r.rc = FW_INCOMPLETE;
        while (k < n) {
            unsigned step = fw_t_rand(&seed) % (round == 3 ? 64u : 9u) + 1u;
            k = (n - k < step) ? n : k + step;
            c = fw_t_dup(in, k);
            do_parse(c, k, prev, lim, cap, &r, hb);
            free(c);
            r.req.headers = hb;
            if (r.rc != FW_INCOMPLETE)
                break;
            prev = k;
        }
        FW_CHECK(same_result(&r, whole), "random round %d: rc=%d at %zu, whole rc=%d",
                 round, r.rc, k, whole->rc);
    }
}

/* (E) the whole input with every last_len: any prefix shorter than the deciding
 * length returned FW_INCOMPLETE, so any of them is a valid last_len and must give
 * the whole-input result; longer or bogus ones (the bytes contradict them) must at
 * least stay in bounds. */
static void feed_every_last_len(const char *in, size_t n, const fw_parse_limits_t *lim,
                                size_t cap, const presult_t *whole, size_t decided_at)
{
    static presult_t r;
    static fw_header_t hb[MAXH];
    char *c = fw_t_dup(in, n);
    size_t last;

    for (last = 0; last <= n + 1; last++) {
        do_parse(c, n, last, lim, cap, &r, hb);
        if (last < decided_at || (whole->rc == FW_INCOMPLETE && last <= n))
            FW_CHECK(same_result(&r, whole), "last_len %zu: rc=%d, whole rc=%d", last, r.rc,
                     whole->rc);
    }
    do_parse(c, n, n + 1, lim, cap, &r, hb);
    FW_CHECK(same_result(&r, whole), "last_len > len: rc=%d, whole rc=%d", r.rc, whole->rc);
    free(c);
}

static void run_vector(const pvec_t *v, size_t cap)
{
    static presult_t w;
    static fw_header_t hw[MAXH];
    const char *in = v->in.p;
    const fw_parse_limits_t *lim = &limit_sets[v->lim];
    size_t bb_at;

    fw_t_begin(v->name);
    feed_all(in, v->in.n, lim, cap, &w, hw, &bb_at);
    w.req.headers = hw;
    feed_every_last_len(in, v->in.n, lim, cap, &w, bb_at);

    if (v->expect == OK) {
        FW_CHECK(w.rc > 0 && (size_t)w.rc == v->in.n - v->tail, "rc=%d want head length %zu",
                 w.rc, v->in.n - v->tail);
    } else {
        FW_CHECK(w.rc == v->expect, "rc=%d want %d", w.rc, v->expect);
    }
    if (v->at)
        FW_CHECK(bb_at == v->at, "decided at %zu, want %zu", bb_at, v->at);
    if (v->expect == OK && w.rc > 0) {
        const fw_request_t *q = &w.req;
        if (v->method)
            FW_CHECK(slice_is(in, q->method, v->method), "method");
        if (v->target)
            FW_CHECK(slice_is(in, q->target, v->target), "target");
        if (v->path)
            FW_CHECK(slice_is(in, q->path, v->path), "path");
        if (v->query)
            FW_CHECK(slice_is(in, q->query, v->query), "query");
        FW_CHECK(q->minor_version == v->minor, "minor %d", q->minor_version);
        FW_CHECK(q->body == v->body, "body %d want %d", q->body, v->body);
        if (v->body == FW_BODY_LENGTH)
            FW_CHECK(q->content_length == v->cl, "content_length %llu",
                     (unsigned long long)q->content_length);
        FW_CHECK(q->flags == v->flags, "flags 0x%x want 0x%x", q->flags, v->flags);
        if (v->nhdr >= 0)
            FW_CHECK(q->num_headers == (size_t)v->nhdr, "num_headers %zu want %d",
                     q->num_headers, v->nhdr);
        if (v->hdrs) {
            const char *p = v->hdrs;
            size_t i = 0;
            while (*p) {
                const char *colon = strchr(p, ':'), *nl = strchr(p, '\n');
                if (i >= q->num_headers) {
                    FW_CHECK(0, "fewer headers than expected");
                    break;
                }
                FW_CHECK(q->headers[i].name.len == (size_t)(colon - p) &&
                         memcmp(in + q->headers[i].name.off, p, (size_t)(colon - p)) == 0,
                         "header %zu name", i);
                FW_CHECK(q->headers[i].value.len == (size_t)(nl - colon - 1) &&
                         memcmp(in + q->headers[i].value.off, colon + 1,
                                (size_t)(nl - colon - 1)) == 0,
                         "header %zu value", i);
                if (fw_t_case_failed) {
                    show_slice("name", in, q->headers[i].name);
                    show_slice("value", in, q->headers[i].value);
                }
                p = nl + 1;
                i++;
            }
        }
        if (fw_t_case_failed) {
            show_slice("method", in, q->method);
            show_slice("target", in, q->target);
            show_slice("path", in, q->path);
            show_slice("query", in, q->query);
        }
    }
    fw_t_end();
}

/* ------------------------------------------------------------------------- */
/* generated vectors                                                           */

static char *build(const char *head, const char *unit, size_t units, const char *end, size_t *n)
{
    size_t hl = strlen(head), ul = strlen(unit), el = strlen(end), i;
    char *b = malloc(hl + ul * units + el + 1);
    if (b == NULL)
        exit(2);
    memcpy(b, head, hl);
    for (i = 0; i < units; i++)
        memcpy(b + hl + i * ul, unit, ul);
    memcpy(b + hl + units * ul, end, el + 1);
    *n = hl + ul * units + el;
    return b;
}

static void test_many_headers(void)
{
    size_t n;
    char *b;
    pvec_t v;

    memset(&v, 0, sizeof v);
    v.lim = LIM_DEFAULT;
    v.nhdr = -1;

    /* Host + 99 more = 100 fields: the default limit exactly */
    b = build(RL HOST, "X-Field-Name: some value here\r\n", 99, "\r\n", &n);
    v.name = "100 fields (at the limit)";
    v.in.p = b;
    v.in.n = n;
    v.expect = OK;
    v.nhdr = 100;
    v.minor = 1;
    v.flags = H;
    run_vector(&v, MAXH);
    free(b);

    b = build(RL HOST, "X-Field-Name: some value here\r\n", 100, "\r\n", &n);
    v.name = "101 fields";
    v.in.p = b;
    v.in.n = n;
    v.expect = E431;
    run_vector(&v, MAXH);

    /* the caller's array is smaller than max_header_count */
    v.name = "header_capacity below count";
    run_vector(&v, 50);
    free(b);

    b = build(RL HOST, "A: b\r\n", 1, "\r\n", &n);
    v.name = "header_capacity exactly the count";
    v.in.p = b;
    v.in.n = n;
    v.expect = OK;
    v.nhdr = 2;
    run_vector(&v, 2);
    v.name = "header_capacity one short";
    v.expect = E431;
    run_vector(&v, 1);
    v.name = "header_capacity zero";
    run_vector(&v, 0);
    free(b);

    /* head of exactly 128 bytes under LIM_TIGHT is fine, 129 is not */
    b = build(RL "Host: a\r\nX: ", "a", 128 - 16 - 9 - 3 - 4, "\r\n\r\n", &n);
    v.name = "head of exactly max_head_bytes";
    v.in.p = b;
    v.in.n = n;
    v.lim = LIM_TIGHT;
    v.expect = OK;
    v.nhdr = 2;
    run_vector(&v, MAXH);
    FW_CHECK(n == 128, "built %zu", n);
    free(b);
    b = build(RL "Host: a\r\nX: ", "a", 128 - 16 - 9 - 3 - 4 + 1, "\r\n\r\n", &n);
    v.name = "head of max_head_bytes + 1";
    v.in.p = b;
    v.in.n = n;
    v.expect = E431;
    v.at = 129;
    run_vector(&v, MAXH);
    free(b);
}

/* A head of n bytes: request line, Host, 100-byte fields, one last field that
 * fills up to the final CRLF CRLF. */
static void fill_fields(char *b, size_t n)
{
    size_t i = 25;
    memcpy(b, RL HOST, 25);
    while (n - i >= 200) {
        memcpy(b + i, "X-Pad: ", 7);
        memset(b + i + 7, 'a', 91);
        memcpy(b + i + 98, "\r\n", 2);
        i += 100;
    }
    memcpy(b + i, "X-Last: ", 8);
    memset(b + i + 8, 'z', n - 4 - (i + 8));
    memcpy(b + n - 4, "\r\n\r\n", 4);
}

/* Trickle buf one byte per call (last_len = previous length) on a single buffer;
 * returns the first non-INCOMPLETE result and its length in *at. */
static int trickle(const char *buf, size_t n, const fw_parse_limits_t *lim,
                   fw_request_t *req, size_t *at)
{
    size_t k;
    int rc = FW_INCOMPLETE;
    for (k = 1; k <= n; k++) {
        rc = fw_parse_request(buf, k, k - 1, req, lim);
        if (rc != FW_INCOMPLETE)
            break;
    }
    *at = k;
    return rc;
}

static void test_trickle_1mb(void)
{
    const size_t MB = 1u << 20;
    static fw_header_t hdrs[20000];
    fw_request_t req;
    fw_parse_limits_t big = { 8190, 20000, 4u << 20 };
    char *b = malloc(MB);
    size_t i, at;
    int rc;
    clock_t t0 = clock();

    if (b == NULL)
        exit(2);
    memset(&req, 0, sizeof req);
    req.headers = hdrs;
    req.header_capacity = 20000;

    /* 1 MB of 100-byte field lines, never ending: 431 at max_head_bytes + 1 */
    fw_t_begin("1 MB of fields trickled -> 431");
    fill_fields(b, MB);
    memset(b + MB - 4, 'a', 4);
    rc = trickle(b, MB, &limit_sets[LIM_DEFAULT], &req, &at);
    FW_CHECK(rc == E431 && at == 65537, "rc=%d at %zu", rc, at);
    fw_t_end();

    /* a 1 MB head of ~10k fields under a huge head limit: parses, and trickling
     * it byte by byte stays linear */
    fw_t_begin("1 MB head of 10k fields trickled -> OK");
    fill_fields(b, MB);
    rc = fw_parse_request(b, MB, 0, &req, &big);
    {
        size_t nh = req.num_headers;
        int rc2 = trickle(b, MB, &big, &req, &at);
        FW_CHECK(rc == (int)MB && rc2 == rc && at == MB && req.num_headers == nh && nh > 10000,
                 "rc=%d rc2=%d at %zu headers %zu/%zu", rc, rc2, at, nh, req.num_headers);
    }
    fw_t_end();

    /* one 1 MB field line: the resume shortcut for long lines */
    fw_t_begin("1 MB single field line trickled -> OK");
    memcpy(b, RL HOST "X-Big: ", 32);
    memset(b + 32, 'v', MB - 36);
    memcpy(b + MB - 4, "\r\n\r\n", 4);
    rc = trickle(b, MB, &big, &req, &at);
    FW_CHECK(rc == (int)MB && at == MB && req.num_headers == 2 && req.headers[1].value.len == MB - 36,
             "rc=%d at %zu", rc, at);
    fw_t_end();

    /* 1 MB of leading empty lines: 431 at max_head_bytes + 1 */
    fw_t_begin("1 MB of CRLF trickled -> 431");
    for (i = 0; i < MB; i += 2)
        memcpy(b + i, "\r\n", 2);
    rc = trickle(b, MB, &limit_sets[LIM_DEFAULT], &req, &at);
    FW_CHECK(rc == E431 && at == 65537, "rc=%d at %zu", rc, at);
    rc = trickle(b, MB, &big, &req, &at);
    FW_CHECK(rc == INC && at == MB + 1, "big limits: rc=%d at %zu", rc, at);
    fw_t_end();

    /* 1 MB request line: 414 once max_request_line + 1 bytes are in */
    fw_t_begin("1 MB request line trickled -> 414");
    memset(b, 'a', MB);
    memcpy(b, "GET /", 5);
    rc = trickle(b, MB, &big, &req, &at);
    FW_CHECK(rc == E414 && at == 8191, "rc=%d at %zu", rc, at);
    fw_t_end();

    free(b);
    fprintf(stderr, "test_parser: 1 MB trickles took %.2fs\n",
            (double)(clock() - t0) / CLOCKS_PER_SEC);
}

/* Random mutations of the table vectors: whatever the verdict, every feed must
 * agree (the property the whole-vs-trickle design promises). */
static void test_mutations(void)
{
    static presult_t w;
    static fw_header_t hw[MAXH];
    static const char alphabet[] = "\r\n :\t;,/?#*%0aZ\x7f\x80\x00Hh-";
    unsigned seed = 12345;
    size_t nv = sizeof vectors / sizeof vectors[0];
    int iter;
    char buf[512];

    fw_t_begin("random mutations agree across feeds");
    for (iter = 0; iter < 20000 && !fw_t_case_failed; iter++) {
        const pvec_t *v = &vectors[fw_t_rand(&seed) % nv];
        size_t n = v->in.n < sizeof buf ? v->in.n : sizeof buf;
        int edits = (int)(fw_t_rand(&seed) % 4) + 1;
        memcpy(buf, v->in.p, n);
        n = fw_t_mutate(buf, n, sizeof buf, alphabet, sizeof alphabet - 1, edits, &seed);
        size_t at;
        feed_all(buf, n, &limit_sets[fw_t_rand(&seed) % 4], MAXH, &w, hw, &at);
    }
    fw_t_end();
}

int main(void)
{
    size_t i;
    for (i = 0; i < sizeof vectors / sizeof vectors[0]; i++)
        run_vector(&vectors[i], MAXH);
    test_many_headers();
    test_trickle_1mb();
    test_mutations();
    return fw_test_report("test_parser");
}
