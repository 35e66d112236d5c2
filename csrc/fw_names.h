/* A bounded map from HTTP field names to caller-owned values: the server's
 * cache of each field name's environ key, so a header the server has seen
 * before costs one hash and one compare, with no allocation.
 *
 * Names compare case-insensitively (RFC 9110 §5.1: field names are
 * case-insensitive), so "Host" and "HOST" share one entry. The map never
 * grows past its max_entries and never evicts: once full, new names are
 * simply not stored. A name sits in one of FW_NAMES_PROBES slots after its
 * hash, so a lookup reads at most that many slots whatever names clients
 * have sent: crafted colliding names cannot make lookups slow, they can
 * only fail to be stored. */
#ifndef FW_NAMES_H
#define FW_NAMES_H

#include <stddef.h>
#include <stdint.h>

#define FW_NAMES_MAX_LEN 64   /* longer names are never stored (none common is) */
#define FW_NAMES_PROBES  8    /* slots a name may sit in, from its hash on */

typedef struct fw_names fw_names_t;

/* A map for at most max_entries names (1..65535), its hash keyed by seed.
 * NULL when out of memory. */
fw_names_t *fw_names_new(size_t max_entries, uint64_t seed);

/* Frees the map. The values are the caller's: release them first
 * (fw_names_count and fw_names_value list them). NULL is ignored. */
void fw_names_free(fw_names_t *t);

/* The value stored for name[0..len) in any letter case, or NULL. */
void *fw_names_get(const fw_names_t *t, const char *name, size_t len);

/* Stores value (not NULL) for name[0..len). Returns 1 when stored; 0 when not
 * (the name is already there, longer than FW_NAMES_MAX_LEN, the map is full,
 * or its FW_NAMES_PROBES slots are taken); -ENOMEM when out of memory. */
int fw_names_put(fw_names_t *t, const char *name, size_t len, void *value);

/* How many names are stored; fw_names_value(t, i) for i < that is the value
 * of the i-th stored, in the order they were put. */
size_t fw_names_count(const fw_names_t *t);
void *fw_names_value(const fw_names_t *t, size_t i);

#endif
