#include "core/server.h"

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

int64_t server_now(const struct server *srv)
{
    return (int64_t)time(NULL) + srv->clock_offset;
}
