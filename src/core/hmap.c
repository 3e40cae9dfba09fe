#include "core/hmap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char tomb_mark;
#define HMAP_TOMB (&tomb_mark)

/* FNV-1a: short keys (JIDs), fast, good enough with a power-of-two table. */
static uint32_t hash_str(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

void hmap_init(struct hmap *m) { memset(m, 0, sizeof *m); }

void hmap_free(struct hmap *m)
{
    free(m->slots);
    hmap_init(m);
}

static struct hmap_slot *find(const struct hmap *m, const char *key, uint32_t h)
{
    if (!m->cap)
        return NULL;
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        struct hmap_slot *s = &m->slots[i];
        if (!s->key)
            return NULL;
        if (s->key != HMAP_TOMB && s->hash == h && strcmp(s->key, key) == 0)
            return s;
    }
}

void *hmap_get(const struct hmap *m, const char *key)
{
    struct hmap_slot *s = find(m, key, hash_str(key));
    return s ? s->value : NULL;
}

static void insert_fresh(struct hmap *m, const char *key, void *value, uint32_t h)
{
    size_t i = h & (m->cap - 1);
    while (m->slots[i].key && m->slots[i].key != HMAP_TOMB)
        i = (i + 1) & (m->cap - 1);
    if (!m->slots[i].key)
        m->used++;
    m->slots[i] = (struct hmap_slot){key, value, h};
    m->live++;
}

static int grow(struct hmap *m)
{
    size_t ncap = m->cap ? m->cap : 16;
    while (m->live * 2 + 2 > ncap)
        ncap *= 2;
    if (ncap > SIZE_MAX / sizeof(struct hmap_slot))
        return -ENOMEM;
    struct hmap_slot *old = m->slots;
    size_t ocap = m->cap;
    m->slots = calloc(ncap, sizeof *m->slots);
    if (!m->slots) {
        m->slots = old;
        return -ENOMEM;
    }
    m->cap = ncap;
    m->used = m->live = 0;
    for (size_t i = 0; i < ocap; i++)
        if (old[i].key && old[i].key != HMAP_TOMB)
            insert_fresh(m, old[i].key, old[i].value, old[i].hash);
    free(old);
    return 0;
}

int hmap_put(struct hmap *m, const char *key, void *value)
{
    uint32_t h = hash_str(key);
    struct hmap_slot *s = find(m, key, h);
    if (s) {
        s->key = key;
        s->value = value;
        return 0;
    }
    if ((m->used + 1) * 4 > m->cap * 3) {
        int rc = grow(m);
        if (rc < 0)
            return rc;
    }
    insert_fresh(m, key, value, h);
    return 0;
}

void *hmap_del(struct hmap *m, const char *key)
{
    struct hmap_slot *s = find(m, key, hash_str(key));
    if (!s)
        return NULL;
    void *v = s->value;
    s->key = HMAP_TOMB;
    s->value = NULL;
    m->live--;
    return v;
}

size_t hmap_next(const struct hmap *m, size_t pos, const char **key, void **value)
{
    for (size_t i = pos; i < m->cap; i++) {
        const struct hmap_slot *s = &m->slots[i];
        if (s->key && s->key != HMAP_TOMB) {
            *key = s->key;
            *value = s->value;
            return i + 1;
        }
    }
    return 0;
}
