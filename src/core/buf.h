/* Growable byte buffer with a hard cap.
 *
 * Contract: single owner, not thread-safe. Every append checks the cap and
 * the allocation; on failure the buffer is left as it was and -ENOBUFS (cap)
 * or -ENOMEM is returned. data is NUL-terminated after every successful
 * append (one spare byte is always allocated), so it can be used as a C
 * string when it holds text.
 */
#ifndef TAUBE_BUF_H
#define TAUBE_BUF_H

#include <stddef.h>

struct buf {
    char *data;
    size_t len;
    size_t cap;   /* allocated bytes */
    size_t limit; /* hard cap on len; 0 means 64 MiB */
};

void buf_init(struct buf *b, size_t limit);
void buf_free(struct buf *b);
/* Drops the contents; keeps the allocation. */
void buf_reset(struct buf *b);
int buf_reserve(struct buf *b, size_t extra);
int buf_append(struct buf *b, const void *data, size_t len);
int buf_append_str(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Removes the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);
/* Frees the allocation if it is larger than keep bytes and empty. */
void buf_shrink(struct buf *b, size_t keep);

#endif
