/* A string-keyed hash map (open addressing, linear probing).
 *
 * Contract: single thread. The map stores the key pointer it is given and
 * does not copy it: the key must live as long as the entry (usually it
 * points into the value). Values are opaque pointers.
 */
#ifndef TAUBE_HMAP_H
#define TAUBE_HMAP_H

#include <stddef.h>
#include <stdint.h>

struct hmap_slot {
    const char *key; /* NULL: empty; HMAP_TOMB: deleted */
    void *value;
    uint32_t hash;
};

struct hmap {
    struct hmap_slot *slots;
    size_t cap;  /* power of two, or 0 */
    size_t used; /* live + tombstones */
    size_t live;
};

void hmap_init(struct hmap *m);
void hmap_free(struct hmap *m); /* frees the table, not keys or values */
void *hmap_get(const struct hmap *m, const char *key);
/* Inserts or replaces. 0 or -ENOMEM. */
int hmap_put(struct hmap *m, const char *key, void *value);
/* Removes; returns the value or NULL. */
void *hmap_del(struct hmap *m, const char *key);
/* Iteration: for (size_t i = 0; (i = hmap_next(m, i, &k, &v)) != 0;) */
size_t hmap_next(const struct hmap *m, size_t pos, const char **key, void **value);

#endif
