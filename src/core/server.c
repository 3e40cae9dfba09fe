#include "core/server.h"

#include <malloc.h>
#include <string.h>
#include <time.h>

const char *server_host(const struct server *srv, const char *domain)
{
    const struct strlist *d = &srv->cfg->domains;
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->items[i], domain) == 0)
            return d->items[i];
    return NULL;
}

int64_t server_now(const struct server *srv) { return (int64_t)time(NULL) + srv->clock_offset; }

/* glibc keeps what connections freed (their TLS state, parser and
 * buffers, scattered over the heap) for reuse, and gives back only the
 * top of the heap by itself: after a peak of thousands of connections
 * the process would stay at its peak size. malloc_trim also releases
 * free pages inside the heap. It walks the heap, so it runs only after
 * a large drop, not per close. */
#define TRIM_MIN_DROP 64

void server_trim_memory(struct server *srv)
{
    size_t n = srv->c2s_count;
    if (srv->c2s_peak < n + TRIM_MIN_DROP || n > srv->c2s_peak / 2)
        return;
    malloc_trim(0);
    srv->c2s_peak = n;
}
