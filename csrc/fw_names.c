/* The field-name map of fw_names.h: open addressing over a slot array twice
 * the entry limit, each slot holding a 16-bit tag of the name's hash and the
 * entry's index, so a lookup compares names only on a tag match.
 *
 * Names are handled 8 bytes at a time: a name is loaded into words with its
 * letters folded to lower case, the hash mixes whole words, and the compare
 * is word against word. */
#include "fw_names.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define WORDS       (FW_NAMES_MAX_LEN / 8)
#define MIN_SLOTS   64u
#define FIRST_ROOM  32u       /* entries allocated at first; doubled as needed */

typedef struct {
    uint64_t words[WORDS];    /* the name as load_name() gives it */
    void *value;
    size_t len;
} entry_t;

struct fw_names {
    uint32_t *slots;          /* 0 = empty, else tag << 16 | (entry index + 1) */
    size_t mask;              /* slot count - 1 (a power of two) */
    entry_t *entries;
    size_t count;
    size_t room;              /* entries allocated */
    size_t max_entries;
    uint64_t seed;
};

/* The 8 bytes of x with 'A'..'Z' turned to 'a'..'z' and every other byte,
 * 0x80-0xFF included, left alone. Each byte's low 7 bits plus a constant
 * below 0x80 cannot carry into the next byte, so the adds test all 8 bytes
 * at once: the high bit of ge_a says ">= 'A'", that of gt_z "> 'Z'". */
static inline uint64_t fold8(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ULL, high = ones * 0x80;
    uint64_t low7 = x & ~high;
    uint64_t ge_a = low7 + ones * (0x80 - 'A');
    uint64_t gt_z = low7 + ones * (0x80 - 'Z' - 1);
    uint64_t upper = ge_a & ~gt_z & ~x & high;
    return x | (upper >> 2);  /* 0x80 >> 2 is the 0x20 that lowers a letter */
}

/* The last 1..7 bytes of a name in one word, read with two loads that may
 * overlap: all its bytes are there, and as the caller compares lengths too,
 * two equal-length tails give equal words only when their bytes are equal.
 * The word's layout is the machine's own; only put and get compare them. */
static uint64_t load_tail(const char *p, size_t n)
{
    if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, p, 4);
        memcpy(&b, p + n - 4, 4);
        return a | (uint64_t)b << 32;
    }
    if (n >= 2) {
        uint16_t a, b;
        memcpy(&a, p, 2);
        memcpy(&b, p + n - 2, 2);
        return a | (uint64_t)b << 16;
    }
    return (unsigned char)p[0];
}

/* Loads name[0..len) (len <= FW_NAMES_MAX_LEN) folded into w; returns the
 * number of words. */
static size_t load_name(uint64_t w[WORDS], const char *name, size_t len)
{
    size_t i = 0, k = 0;
    for (; i + 8 <= len; i += 8, k++) {
        uint64_t x;
        memcpy(&x, name + i, 8);
        w[k] = fold8(x);
    }
    if (i < len)
        w[k++] = fold8(load_tail(name + i, len - i));
    return k;
}

/* Multiply-xorshift over the words from a keyed start, so the low bits (the
 * slot) and the high bits (the tag) both depend on every byte. */
static uint64_t name_hash(uint64_t seed, const uint64_t *w, size_t nwords, size_t len)
{
#ifdef FW_NAMES_ALL_COLLIDE
    /* csrc/Makefile builds test_names again with this: every name then has
     * the same slot and tag, so only the compare tells names apart */
    return seed;
#endif
    uint64_t h = seed ^ (len * 0x9e3779b97f4a7c15ULL);
    for (size_t k = 0; k < nwords; k++) {
        h = (h ^ w[k]) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
    }
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 29;
    return h;
}

/* A name as put and get look it up: its folded words, length and hash. */
typedef struct {
    uint64_t w[WORDS];
    size_t nwords;
    size_t len;
    uint64_t hash;
    uint32_t tag;             /* the hash's top 16 bits, kept in the slot */
} name_key_t;

static inline void make_key(const fw_names_t *t, name_key_t *k, const char *name, size_t len)
{
    k->nwords = load_name(k->w, name, len);
    k->len = len;
    k->hash = name_hash(t->seed, k->w, k->nwords, len);
    k->tag = (uint32_t)(k->hash >> 48);
}

static inline int same_name(const entry_t *e, const name_key_t *k)
{
    if (e->len != k->len)
        return 0;
    for (size_t i = 0; i < k->nwords; i++)
        if (e->words[i] != k->w[i])
            return 0;
    return 1;
}

/* The entry holding k, or NULL; then *empty is the first empty slot of k's
 * probe run, or SIZE_MAX when all FW_NAMES_PROBES are taken. Names fill
 * their run without gaps (nothing is ever removed), so the first empty slot
 * ends the search. */
static inline entry_t *find(const fw_names_t *t, const name_key_t *k, size_t *empty)
{
    for (size_t p = 0; p < FW_NAMES_PROBES; p++) {
        size_t slot = (k->hash + p) & t->mask;
        uint32_t s = t->slots[slot];
        if (s == 0) {
            *empty = slot;
            return NULL;
        }
        entry_t *e = &t->entries[(s & 0xFFFFu) - 1];
        if ((s >> 16) == k->tag && same_name(e, k))
            return e;
    }
    *empty = SIZE_MAX;
    return NULL;
}

fw_names_t *fw_names_new(size_t max_entries, uint64_t seed)
{
    if (max_entries == 0 || max_entries > 0xFFFFu)
        return NULL;
    size_t slots = MIN_SLOTS;
    while (slots < 2 * max_entries)
        slots *= 2;
    fw_names_t *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->slots = calloc(slots, sizeof(*t->slots));
    if (t->slots == NULL) {
        free(t);
        return NULL;
    }
    t->mask = slots - 1;
    t->max_entries = max_entries;
    t->seed = seed;
    return t;
}

void fw_names_free(fw_names_t *t)
{
    if (t == NULL)
        return;
    free(t->slots);
    free(t->entries);
    free(t);
}

void *fw_names_get(const fw_names_t *t, const char *name, size_t len)
{
    name_key_t k;
    size_t empty;
    if (len > FW_NAMES_MAX_LEN)
        return NULL;
    make_key(t, &k, name, len);
    entry_t *e = find(t, &k, &empty);
    return e != NULL ? e->value : NULL;
}

int fw_names_put(fw_names_t *t, const char *name, size_t len, void *value)
{
    name_key_t k;
    size_t slot;
    if (len > FW_NAMES_MAX_LEN || t->count == t->max_entries)
        return 0;
    make_key(t, &k, name, len);
    if (find(t, &k, &slot) != NULL || slot == SIZE_MAX)
        return 0;
    if (t->count == t->room) {
        size_t room = t->room ? t->room * 2 : FIRST_ROOM;
        if (room > t->max_entries)
            room = t->max_entries;
        entry_t *grown = realloc(t->entries, room * sizeof(*grown));
        if (grown == NULL)
            return -ENOMEM;
        t->entries = grown;
        t->room = room;
    }
    entry_t *e = &t->entries[t->count];
    memcpy(e->words, k.w, k.nwords * sizeof(k.w[0]));
    e->value = value;
    e->len = len;
    t->count++;
    t->slots[slot] = k.tag << 16 | (uint32_t)t->count;
    return 1;
}

size_t fw_names_count(const fw_names_t *t)
{
    return t->count;
}

void *fw_names_value(const fw_names_t *t, size_t i)
{
    return t->entries[i].value;
}
