#include "core/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(ARENA_ALIGN >= _Alignof(void *) && ARENA_ALIGN >= _Alignof(double) &&
                   ARENA_ALIGN >= _Alignof(long long) && ARENA_ALIGN >= _Alignof(size_t),
               "ARENA_ALIGN too small");

/* Chunks after the first; the payload follows the header. */
struct chunk {
    struct chunk *next;
};

struct arena {
    char *cur;            /* bump pointer in the current chunk */
    char *end;            /* end of the current chunk */
    struct chunk *chunks; /* every chunk but the first, newest first */
    size_t next_size;     /* malloc size of the next regular chunk */
    size_t footprint;
};

#define ALIGN_UP(n) (((n) + (ARENA_ALIGN - 1)) & ~(size_t)(ARENA_ALIGN - 1))
#define CHUNK_HDR ALIGN_UP(sizeof(struct chunk))
#define ARENA_HDR ALIGN_UP(sizeof(struct arena))

struct arena *arena_new(void)
{
    char *base = malloc(ARENA_FIRST_CHUNK);
    if (!base)
        return NULL;
    struct arena *a = (struct arena *)(void *)base;
    a->cur = base + ARENA_HDR;
    a->end = base + ARENA_FIRST_CHUNK;
    a->chunks = NULL;
    a->next_size = 2 * ARENA_FIRST_CHUNK;
    a->footprint = ARENA_FIRST_CHUNK;
    return a;
}

void arena_free(struct arena *a)
{
    if (!a)
        return;
    struct chunk *c = a->chunks;
    while (c) {
        struct chunk *next = c->next;
        free(c);
        c = next;
    }
    free(a); /* the first chunk */
}

/* A chunk with room for payload bytes, linked into the list. */
static char *chunk_add(struct arena *a, size_t payload)
{
    if (payload > SIZE_MAX - CHUNK_HDR)
        return NULL;
    struct chunk *c = malloc(CHUNK_HDR + payload);
    if (!c)
        return NULL;
    c->next = a->chunks;
    a->chunks = c;
    a->footprint += CHUNK_HDR + payload;
    return (char *)c + CHUNK_HDR;
}

static void *alloc_slow(struct arena *a, size_t size)
{
    /* Large: a chunk of its own; the current chunk stays the bump target. */
    if (size > (a->next_size - CHUNK_HDR) / 4)
        return chunk_add(a, size);
    char *p = chunk_add(a, a->next_size - CHUNK_HDR);
    if (!p)
        return NULL;
    a->cur = p + size;
    a->end = p + (a->next_size - CHUNK_HDR);
    if (a->next_size < ARENA_MAX_CHUNK)
        a->next_size *= 2;
    return p;
}

static void *bump(struct arena *a, size_t size, size_t align)
{
    uintptr_t p = ((uintptr_t)a->cur + (align - 1)) & ~(uintptr_t)(align - 1);
    uintptr_t end = (uintptr_t)a->end;
    if (p <= end && size <= end - p) {
        a->cur = (char *)p + size;
        return (char *)p;
    }
    /* Fresh chunks start ARENA_ALIGN-aligned, which satisfies any align. */
    return alloc_slow(a, size);
}

void *arena_alloc(struct arena *a, size_t size) { return bump(a, size, ARENA_ALIGN); }

char *arena_strndup(struct arena *a, const char *s, size_t len)
{
    if (len == SIZE_MAX)
        return NULL;
    char *p = bump(a, len + 1, 1);
    if (!p)
        return NULL;
    if (len)
        memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *arena_strdup(struct arena *a, const char *s) { return arena_strndup(a, s, strlen(s)); }

size_t arena_footprint(const struct arena *a) { return a->footprint; }
