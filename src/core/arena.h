/* Per-stanza memory: a chunked bump allocator.
 *
 * Contract: single owner, not thread-safe. Memory is released only all at
 * once, by arena_free. The arena's own bookkeeping lives at the start of its
 * first chunk, so a small stanza costs one malloc of ARENA_FIRST_CHUNK bytes.
 * Later chunks double in size up to ARENA_MAX_CHUNK; a request larger than a
 * quarter of the next chunk gets a chunk of its own, so one big text neither
 * wastes the rest of the current chunk nor inflates the growth. Every size is
 * overflow-checked; every failure returns NULL and leaves the arena usable.
 */
#ifndef TAUBE_ARENA_H
#define TAUBE_ARENA_H

#include <stddef.h>

#define ARENA_FIRST_CHUNK 1024
#define ARENA_MAX_CHUNK (64 * 1024)
/* arena_alloc's alignment: enough for pointers, size_t, double, long long
 * (not for long double or SIMD types). */
#define ARENA_ALIGN 8

struct arena;

struct arena *arena_new(void);
void arena_free(struct arena *a); /* NULL is a no-op */
/* size bytes aligned to ARENA_ALIGN, uninitialised. NULL on ENOMEM or
 * overflow. size 0 returns a valid unique-or-not pointer. */
void *arena_alloc(struct arena *a, size_t size);
/* A NUL-terminated copy of len bytes of s (s may hold NULs). */
char *arena_strndup(struct arena *a, const char *s, size_t len);
char *arena_strdup(struct arena *a, const char *s);
/* Bytes obtained from malloc so far (for tests and memory accounting). */
size_t arena_footprint(const struct arena *a);

#endif
