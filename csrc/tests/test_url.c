/* Unit tests for fw_percent_decode (fw_url.h). Each vector is decoded from an
 * exact-size heap copy into an exact-size output buffer, and again in place. */
#include "../fw_url.h"
#include "fw_test.h"

typedef struct {
    const char *name;
    bytes_t in, out;
} uvec_t;

static const uvec_t vectors[] = {
    { "empty", B(""), B("") },
    { "plain", B("/a/b/c"), B("/a/b/c") },
    { "upper hex", B("%41%42%5A"), B("ABZ") },
    { "lower and mixed hex", B("%4a%4A%7e%7E"), B("JJ~~") },
    { "slash", B("/a%2Fb"), B("/a/b") },
    { "space", B("/a%20b"), B("/a b") },
    { "plus is literal", B("/a+b"), B("/a+b") },
    { "NUL", B("%00"), B("\0") },
    { "high bytes", B("%C3%A9%ff"), B("\xc3\xa9\xff") },
    { "lone percent", B("%"), B("%") },
    { "percent at end", B("/a%"), B("/a%") },
    { "one digit at end", B("/a%4"), B("/a%4") },
    { "non-hex", B("%zz%g1%1g"), B("%zz%g1%1g") },
    { "double percent", B("%%41"), B("%A") },
    { "percent then pct", B("%4%41"), B("%4A") },
    { "no double decoding", B("%2541"), B("%41") },
    { "percent sign encoded", B("100%25"), B("100%") },
};

static void run_vector(const uvec_t *v)
{
    char *in = fw_t_dup(v->in.p, v->in.n);
    char *out = malloc(v->in.n ? v->in.n : 1);
    size_t n;

    fw_t_begin(v->name);
    if (out == NULL)
        exit(2);
    n = fw_percent_decode(in, v->in.n, out);
    FW_CHECK(n == v->out.n && memcmp(out, v->out.p, n) == 0, "decoded %zu bytes \"%.*s\"",
             n, (int)n, out);
    /* in place */
    n = fw_percent_decode(in, v->in.n, in);
    FW_CHECK(n == v->out.n && memcmp(in, v->out.p, n) == 0, "in place: %zu bytes", n);
    free(in);
    free(out);
    fw_t_end();
}

int main(void)
{
    size_t i;
    for (i = 0; i < sizeof vectors / sizeof vectors[0]; i++)
        run_vector(&vectors[i]);
    return fw_test_report("test_url");
}
