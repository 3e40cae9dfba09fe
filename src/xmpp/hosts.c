/* The hosts table (hosts.h): a hash map from domain to entry. */
#include "xmpp/hosts.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/hmap.h"

struct host {
    char *domain; /* hmap key */
    enum host_kind kind;
    char *secret;       /* components: XEP-0114 shared secret */
    host_deliver_fn fn; /* components: the attached handler, or NULL */
    void *ud;
};

struct hosts {
    struct hmap map; /* domain -> struct host */
};

struct hosts *hosts_new(void)
{
    struct hosts *t = calloc(1, sizeof *t);
    if (t)
        hmap_init(&t->map);
    return t;
}

static void host_free(struct host *h)
{
    if (h->secret)
        OPENSSL_cleanse(h->secret, strlen(h->secret));
    free(h->secret);
    free(h->domain);
    free(h);
}

void hosts_free(struct hosts *t)
{
    if (!t)
        return;
    const char *k;
    void *v;
    for (size_t i = 0; (i = hmap_next(&t->map, i, &k, &v)) != 0;)
        host_free(v);
    hmap_free(&t->map);
    free(t);
}

int hosts_add(struct hosts *t, const char *domain, enum host_kind kind, const char *secret)
{
    if (hmap_get(&t->map, domain))
        return -EEXIST;
    struct host *h = calloc(1, sizeof *h);
    if (!h)
        return -ENOMEM;
    h->kind = kind;
    h->domain = strdup(domain);
    h->secret = secret ? strdup(secret) : NULL;
    if (!h->domain || (secret && !h->secret) || hmap_put(&t->map, h->domain, h) < 0) {
        host_free(h);
        return -ENOMEM;
    }
    return 0;
}

struct host *hosts_find(const struct hosts *t, const char *domain)
{
    return t ? hmap_get(&t->map, domain) : NULL;
}

size_t hosts_count(const struct hosts *t)
{
    size_t n = 0;
    const char *k;
    void *v;
    for (size_t i = 0; t && (i = hmap_next(&t->map, i, &k, &v)) != 0;)
        n++;
    return n;
}

enum host_kind host_kind(const struct host *h) { return h->kind; }
const char *host_domain(const struct host *h) { return h->domain; }
const char *host_secret(const struct host *h) { return h->secret; }

int host_attach(struct host *h, host_deliver_fn fn, void *ud)
{
    if (h->kind != HOST_COMPONENT)
        return -EINVAL;
    if (h->fn)
        return -EBUSY;
    h->fn = fn;
    h->ud = ud;
    return 0;
}

void host_detach(struct host *h, void *ud)
{
    if (h->fn && h->ud == ud)
        h->fn = NULL, h->ud = NULL;
}

bool host_attached(const struct host *h) { return h->fn != NULL; }

int host_deliver(struct host *h, struct stanza *st) { return h->fn ? h->fn(h->ud, st) : -ENOTCONN; }
