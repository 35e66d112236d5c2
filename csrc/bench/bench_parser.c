/* Micro-benchmark for fw_parse_request (fw_parser.h).
 *
 *   bench_parser [N]            time N parses (default 1,000,000) of each case,
 *                               print ns per parse
 *   bench_parser -1 CASE N      parse only CASE N times, print nothing: for
 *                               valgrind --tool=callgrind --toggle-collect=fw_parse_request
 *                               (collected Ir / N = instructions per parse; see the
 *                               bench-ir target in csrc/Makefile)
 *
 * Two requests, "small" and "browser", each fed three ways (the CASE names):
 *   small, browser                  the buffer is exactly the head, last_len 0
 *                                   (the usual case: the head came in one read)
 *   small+body, browser+body        the head and then 16 body bytes, last_len 0
 *   small-resume, browser-resume    the head, with last_len = its length - 1 (the
 *                                   last call of a head that came in pieces)
 * Every parse is checked to succeed with the right head length. */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../fw_parser.h"

typedef struct {
    const char *name;
    const char *text;
} breq_t;

static const breq_t reqs[] = {
    /* typical small request, 74 bytes */
    { "small",
      "GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n" },
    /* browser-like GET with 20 fields */
    { "browser",
      "GET /static/app/main.js?v=20240101 HTTP/1.1\r\n"
      "Host: www.example.com\r\n"
      "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0\r\n"
      "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
      "Accept-Language: en-US,en;q=0.5\r\n"
      "Accept-Encoding: gzip, deflate, br\r\n"
      "Connection: keep-alive\r\n"
      "Cookie: sessionid=abcdef0123456789; csrftoken=ZYXWVUTSRQPONMLK; theme=dark\r\n"
      "Referer: https://www.example.com/index.html\r\n"
      "Cache-Control: max-age=0\r\n"
      "X-Custom-1: value\r\n"
      "X-Custom-2: value\r\n"
      "X-Custom-3: value\r\n"
      "X-Custom-4: value\r\n"
      "X-Custom-5: value\r\n"
      "X-Custom-6: value\r\n"
      "X-Custom-7: value\r\n"
      "X-Custom-8: value\r\n"
      "X-Custom-9: value\r\n"
      "X-Custom-10: value\r\n"
      "X-Custom-11: value\r\n"
      "\r\n" },
};

static const fw_parse_limits_t limits = { 8190, 100, 65536 };
static fw_header_t hdrs[100];
static volatile int sink;

enum { WHOLE, BODY, RESUME, NMODES };
static const char *const mode_suffix[NMODES] = { "", "+body", "-resume" };
static const char body[] = "0123456789abcdef";

static char bufs[2][NMODES][2048];

/* Parse case (r, mode) n times. */
static void parse_n(size_t r, int mode, long n)
{
    const char *buf = bufs[r][mode];
    size_t head = strlen(reqs[r].text), len = head, last = 0;
    fw_request_t req;
    long i;

    if (mode == BODY)
        len += sizeof body - 1;
    if (mode == RESUME)
        last = head - 1;
    memset(&req, 0, sizeof req);
    req.headers = hdrs;
    req.header_capacity = sizeof hdrs / sizeof hdrs[0];
    for (i = 0; i < n; i++) {
        int rc = fw_parse_request(buf, len, last, &req, &limits);
        if (rc != (int)head) {
            fprintf(stderr, "bench_parser: parse returned %d, want %zu\n", rc, head);
            exit(1);
        }
        sink = rc;
    }
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    size_t r, nr = sizeof reqs / sizeof reqs[0];
    int mode;
    long n = 1000000;

    for (r = 0; r < nr; r++) {
        for (mode = 0; mode < NMODES; mode++) {
            strcpy(bufs[r][mode], reqs[r].text);
            if (mode == BODY)
                strcat(bufs[r][mode], body);
        }
    }

    if (argc == 4 && strcmp(argv[1], "-1") == 0) {
        for (r = 0; r < nr; r++) {
            for (mode = 0; mode < NMODES; mode++) {
                size_t k = strlen(reqs[r].name);
                if (strncmp(argv[2], reqs[r].name, k) == 0 &&
                    strcmp(argv[2] + k, mode_suffix[mode]) == 0) {
                    parse_n(r, mode, atol(argv[3]));
                    return 0;
                }
            }
        }
        fprintf(stderr, "bench_parser: no case named %s\n", argv[2]);
        return 2;
    }
    if (argc == 2)
        n = atol(argv[1]);
    if (n <= 0)
        n = 1;
    for (r = 0; r < nr; r++) {
        for (mode = 0; mode < NMODES; mode++) {
            char name[32];
            double best = 0;
            int round;
            parse_n(r, mode, n / 10 + 1);                  /* warm up */
            /* best of 5: the machine is shared, the minimum is the least noisy */
            for (round = 0; round < 5; round++) {
                double t0 = now_ns(), dt;
                parse_n(r, mode, n);
                dt = (now_ns() - t0) / (double)n;
                if (round == 0 || dt < best)
                    best = dt;
            }
            snprintf(name, sizeof name, "%s%s", reqs[r].name, mode_suffix[mode]);
            printf("%-15s %4zu-byte head  %7.1f ns/parse  (best of 5 x %ld)\n", name,
                   strlen(reqs[r].text), best, n);
        }
    }
    return 0;
}
