/* Tiny assertion helpers shared by the csrc unit tests (one test binary per .c).
 * Each test binary ends with fw_test_report(), which prints
 * "<name>: N passed, M failed" for the Makefile to add up, and returns the exit code. */
#ifndef FW_TEST_H
#define FW_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A byte string with its length (so it may hold NUL bytes), for test vectors;
 * B("...") builds one from a string literal. */
typedef struct {
    const char *p;
    size_t n;
} bytes_t;
#define B(s) { s, sizeof(s) - 1 }

static int fw_t_passed;
static int fw_t_failed;
static int fw_t_case_failed;        /* failures inside the current case */
static const char *fw_t_case;       /* name of the current case */

/* Report a failed check inside the current case. */
#define FW_CHECK(cond, ...)                                                    \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "FAIL [%s] %s:%d: %s: ", fw_t_case, __FILE__,      \
                    __LINE__, #cond);                                          \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
            fw_t_case_failed++;                                                \
        }                                                                      \
    } while (0)

static inline void fw_t_begin(const char *name)
{
    fw_t_case = name;
    fw_t_case_failed = 0;
}

static inline void fw_t_end(void)
{
    if (fw_t_case_failed)
        fw_t_failed++;
    else
        fw_t_passed++;
}

/* A heap copy of exactly n bytes (at least 1 allocated byte, never readable past
 * n under ASan when n > 0), so any over-read by the code under test is caught. */
static inline char *fw_t_dup(const char *p, size_t n)
{
    char *c = calloc(n ? n : 1, 1);
    if (c == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    if (n)
        memcpy(c, p, n);
    return c;
}

/* Deterministic xorshift PRNG for the random-split feeds. */
static inline unsigned fw_t_rand(unsigned *s)
{
    unsigned x = *s ? *s : 0x9e3779b9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *s = x;
    return x;
}

/* Apply `edits` random edits to buf[0..n), which has room for cap bytes: each
 * overwrites, inserts (while there is room) or deletes one byte, the new bytes
 * drawn from alphabet[0..alen) (it may hold NUL). Returns the new length. */
static inline size_t fw_t_mutate(char *buf, size_t n, size_t cap, const char *alphabet,
                                 size_t alen, int edits, unsigned *seed)
{
    int e;
    for (e = 0; e < edits && n > 0; e++) {
        size_t pos = fw_t_rand(seed) % n;
        char ch = alphabet[fw_t_rand(seed) % alen];
        switch (fw_t_rand(seed) % 3) {
        case 0:
            buf[pos] = ch;
            break;
        case 1:
            if (n < cap) {
                memmove(buf + pos + 1, buf + pos, n - pos);
                buf[pos] = ch;
                n++;
            }
            break;
        default:
            memmove(buf + pos, buf + pos + 1, n - pos - 1);
            n--;
            break;
        }
    }
    return n;
}

static inline int fw_test_report(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, fw_t_passed, fw_t_failed);
    fflush(stdout);
    return fw_t_failed ? 1 : 0;
}

#endif
