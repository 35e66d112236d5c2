/* Unit tests for the field-name map (fw_names.h). Every name is looked up from
 * an exact-size heap copy, so an over-read past its length is caught by ASan. */
#include "../fw_names.h"
#include "fw_test.h"

static int values[8];                /* distinct addresses to store */

static void *get(const fw_names_t *t, const char *name)
{
    size_t n = strlen(name);
    char *copy = fw_t_dup(name, n);
    void *v = fw_names_get(t, copy, n);
    free(copy);
    return v;
}

static int put(fw_names_t *t, const char *name, void *value)
{
    size_t n = strlen(name);
    char *copy = fw_t_dup(name, n);
    int rc = fw_names_put(t, copy, n, value);
    free(copy);
    return rc;
}

static fw_names_t *new_map(size_t max_entries)
{
    fw_names_t *t = fw_names_new(max_entries, 12345);
    if (t == NULL) {
        fprintf(stderr, "fw_names_new(%zu) failed\n", max_entries);
        exit(2);
    }
    return t;
}

static void test_case_insensitive(void)
{
    fw_names_t *t = new_map(16);
    fw_t_begin("names match in any letter case");
    FW_CHECK(put(t, "Host", &values[0]) == 1, "put Host");
    FW_CHECK(put(t, "user-agent", &values[1]) == 1, "put user-agent");
    FW_CHECK(get(t, "host") == &values[0], "host");
    FW_CHECK(get(t, "HOST") == &values[0], "HOST");
    FW_CHECK(get(t, "hOsT") == &values[0], "hOsT");
    FW_CHECK(get(t, "User-Agent") == &values[1], "User-Agent");
    FW_CHECK(get(t, "USER-AGENT") == &values[1], "USER-AGENT");
    fw_t_end();

    fw_t_begin("only letters fold: '^' is not '~', '-' is not 'M'");
    FW_CHECK(put(t, "a^b", &values[2]) == 1, "put a^b");
    FW_CHECK(get(t, "a~b") == NULL, "a~b");
    FW_CHECK(get(t, "user\x0d" "agent") == NULL, "CR for '-'");
    FW_CHECK(get(t, "userMagent") == NULL, "M for '-'");
    FW_CHECK(get(t, "a^b") == &values[2], "a^b");
    FW_CHECK(put(t, "x\xc1", &values[3]) == 1, "put x\\xc1");
    FW_CHECK(get(t, "x\xe1") == NULL, "0xC1 is not a capital letter");
    FW_CHECK(get(t, "X\xc1") == &values[3], "X\\xc1");
    fw_t_end();

    fw_t_begin("a prefix, an extension or a one-byte change is another name");
    FW_CHECK(get(t, "hos") == NULL, "hos");
    FW_CHECK(get(t, "hosts") == NULL, "hosts");
    FW_CHECK(get(t, "hast") == NULL, "hast");
    FW_CHECK(get(t, "") == NULL, "empty");
    fw_t_end();

    fw_t_begin("a trailing NUL byte makes another name");
    {
        char *eight = fw_t_dup("abcdefgh\0", 9);
        FW_CHECK(fw_names_put(t, eight, 8, &values[4]) == 1, "put abcdefgh");
        FW_CHECK(fw_names_get(t, eight, 9) == NULL, "abcdefgh\\0 found");
        FW_CHECK(fw_names_get(t, eight, 8) == &values[4], "abcdefgh not found");
        FW_CHECK(fw_names_get(t, eight, 7) == NULL, "abcdefg found");
        free(eight);
    }
    fw_t_end();
    fw_names_free(t);
}

/* Every length up to two words and a tail: a name put is found, and no name
 * of its length that differs from it in one byte is. */
static void test_every_byte_counts(void)
{
    char name[FW_NAMES_MAX_LEN];
    size_t len, i;
    int wrong = 0;

    fw_t_begin("a one-byte difference anywhere, at every length, is another name");
    for (len = 1; len <= 24; len++) {
        fw_names_t *t = new_map(4);
        memset(name, 'k', len);
        if (fw_names_put(t, name, len, &values[0]) != 1 || fw_names_get(t, name, len) != &values[0])
            wrong++;
        for (i = 0; i < len; i++) {
            char *copy = fw_t_dup(name, len);
            copy[i] = 'j';
            if (fw_names_get(t, copy, len) != NULL)
                wrong++;
            copy[i] = 'K';
            if (fw_names_get(t, copy, len) != &values[0])
                wrong++;
            free(copy);
        }
        fw_names_free(t);
    }
    FW_CHECK(wrong == 0, "%d wrong lookups", wrong);
    fw_t_end();
}

static void test_put_rules(void)
{
    char longest[FW_NAMES_MAX_LEN + 2];
    fw_names_t *t = new_map(3);

    fw_t_begin("a name already there keeps its first value");
    FW_CHECK(put(t, "Accept", &values[0]) == 1, "first put");
    FW_CHECK(put(t, "ACCEPT", &values[1]) == 0, "second put");
    FW_CHECK(get(t, "accept") == &values[0], "first value kept");
    FW_CHECK(fw_names_count(t) == 1, "count %zu", fw_names_count(t));
    fw_t_end();

    fw_t_begin("names up to FW_NAMES_MAX_LEN are stored, longer ones never");
    memset(longest, 'x', sizeof longest);
    longest[FW_NAMES_MAX_LEN + 1] = '\0';
    FW_CHECK(put(t, longest, &values[2]) == 0, "too long: stored");
    FW_CHECK(get(t, longest) == NULL, "too long: found");
    longest[FW_NAMES_MAX_LEN] = '\0';
    FW_CHECK(put(t, longest, &values[2]) == 1, "longest: not stored");
    FW_CHECK(get(t, longest) == &values[2], "longest: not found");
    fw_t_end();

    fw_t_begin("a full map stores nothing more and keeps what it has");
    FW_CHECK(put(t, "Cookie", &values[3]) == 1, "third put");
    FW_CHECK(put(t, "Referer", &values[4]) == 0, "fourth put");
    FW_CHECK(get(t, "referer") == NULL, "fourth found");
    FW_CHECK(get(t, "cookie") == &values[3], "third lost");
    FW_CHECK(fw_names_count(t) == 3, "count %zu", fw_names_count(t));
    fw_t_end();

    fw_t_begin("values are listed in the order they were put");
    FW_CHECK(fw_names_value(t, 0) == &values[0], "0");
    FW_CHECK(fw_names_value(t, 1) == &values[2], "1");
    FW_CHECK(fw_names_value(t, 2) == &values[3], "2");
    fw_t_end();
    fw_names_free(t);

    fw_t_begin("sizes outside 1..65535 are refused");
    FW_CHECK(fw_names_new(0, 1) == NULL, "0");
    FW_CHECK(fw_names_new(65536, 1) == NULL, "65536");
    t = fw_names_new(65535, 1);
    FW_CHECK(t != NULL, "65535");
    fw_names_free(t);
    fw_names_free(NULL);
    fw_t_end();
}

#ifdef FW_NAMES_ALL_COLLIDE
/* Built so that every name has the same hash (see csrc/Makefile): names are
 * told apart by the compare alone, and the ninth name finds its
 * FW_NAMES_PROBES slots taken. */
static void test_colliding_names(void)
{
    static const char *names[] = { "host", "Host2", "accept", "x-a", "x-b", "x-ab",
                                   "cookie-jar-of-more-than-16-bytes", "cookie-jar-of-more-than-16-bytez",
                                   "ninth" };
    fw_names_t *t = new_map(64);
    size_t i;
    int wrong = 0;

    fw_t_begin("names with one hash: the compare tells them apart, the ninth is refused");
    for (i = 0; i < FW_NAMES_PROBES; i++)
        if (put(t, names[i], (void *)names[i]) != 1)
            wrong++;
    FW_CHECK(put(t, names[FW_NAMES_PROBES], (void *)names[FW_NAMES_PROBES]) == 0, "ninth stored");
    for (i = 0; i < FW_NAMES_PROBES; i++)
        if (get(t, names[i]) != names[i])
            wrong++;
    FW_CHECK(get(t, "HOST") == names[0], "HOST");
    FW_CHECK(get(t, names[FW_NAMES_PROBES]) == NULL, "ninth found");
    FW_CHECK(get(t, "hosT2") == names[1], "hosT2");
    FW_CHECK(get(t, "x-c") == NULL, "x-c found");
    FW_CHECK(wrong == 0, "%d wrong", wrong);
    fw_t_end();
    fw_names_free(t);
}
#else
/* Fill a large map to its limit with generated names. Some puts find their
 * FW_NAMES_PROBES slots taken (with this seed they do) and store nothing; every
 * stored name must then be found with its own value, and every refused one not
 * found at all. */
static void test_probe_limit(void)
{
    enum { MAX = 4096, TRIES = 6000 };
    static char names[TRIES][16];
    static int stored[TRIES];
    fw_names_t *t = new_map(MAX);
    int refused = 0, wrong = 0;
    size_t i;

    fw_t_begin("names beyond the probe limit are refused, the rest all found");
    for (i = 0; i < TRIES; i++) {
        snprintf(names[i], sizeof names[i], "X-Field-%zu", i);
        stored[i] = put(t, names[i], names[i]);
        if (stored[i] == 0 && fw_names_count(t) < MAX)
            refused++;
    }
    for (i = 0; i < TRIES; i++) {
        void *v = get(t, names[i]);
        if (stored[i] == 1 ? v != names[i] : v != NULL)
            wrong++;
    }
    FW_CHECK(fw_names_count(t) == MAX, "count %zu", fw_names_count(t));
    FW_CHECK(refused > 0, "no put met the probe limit: the test proves nothing");
    FW_CHECK(wrong == 0, "%d names found wrong", wrong);
    fw_t_end();
    fw_names_free(t);
}
#endif

int main(void)
{
    test_case_insensitive();
    test_every_byte_counts();
    test_put_rules();
#ifdef FW_NAMES_ALL_COLLIDE
    test_colliding_names();
    return fw_test_report("test_names_collide");
#else
    test_probe_limit();
    return fw_test_report("test_names");
#endif
}
