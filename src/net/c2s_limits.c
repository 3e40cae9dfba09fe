/* Limits on client streams that have not authenticated yet (issue 7): an
 * anonymous peer must not hold much of the server.
 *
 * - Per address: at most limits.max_unauthenticated_per_address such
 *   streams from one IPv4 address or one IPv6 /64 (what one subscriber
 *   usually gets), counted in srv->preauth_addrs. The slot is given back
 *   when the stream authenticates or closes.
 * - Per stream: smaller XML limits until SASL succeeds, since STARTTLS,
 *   SASL and in-band registration are all small elements.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/c2s_internal.h"

/* Before authentication: RFC 6120 §13.12 asks for at least 10000 bytes. */
#define PREAUTH_MAX_STANZA (16 * 1024)
/* An unauthenticated stanza's tree; a registration form is a few KiB. */
#define PREAUTH_MAX_TREE (64 * 1024)
/* After it, a tree may take this many times the stanza's bytes: dense
 * real XML (<item jid='…'/> lists) takes about 8. */
#define TREE_FACTOR 16

struct addr_slot {
    unsigned n;
    char key[INET6_ADDRSTRLEN + 4]; /* the address or the /64 */
};

/* The counting key: the IPv4 address (also when v4-mapped), or the /64. */
static void addr_key(const char *peer, char *key, size_t size)
{
    unsigned char a6[16];
    if (inet_pton(AF_INET6, peer, a6) != 1) {
        snprintf(key, size, "%s", peer); /* IPv4, or "unknown" */
        return;
    }
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(a6, mapped, sizeof mapped) == 0) {
        inet_ntop(AF_INET, a6 + 12, key, (socklen_t)size);
        return;
    }
    memset(a6 + 8, 0, 8);
    char text[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, a6, text, sizeof text);
    snprintf(key, size, "%s/64", text);
}

int c2s_preauth_take(struct c2s *c)
{
    struct hmap *m = &c->srv->preauth_addrs;
    char key[sizeof((struct addr_slot *)0)->key];
    addr_key(conn_peer(c->conn), key, sizeof key);
    struct addr_slot *s = hmap_get(m, key);
    if (s && s->n >= c->srv->cfg->max_unauth_per_addr)
        return -EAGAIN;
    if (!s) {
        if (!(s = calloc(1, sizeof *s)))
            return -ENOMEM;
        memcpy(s->key, key, sizeof key);
        if (hmap_put(m, s->key, s) < 0) {
            free(s);
            return -ENOMEM;
        }
    }
    s->n++;
    c->preauth_slot = s;
    return 0;
}

void c2s_preauth_release(struct c2s *c)
{
    struct addr_slot *s = c->preauth_slot;
    if (!s)
        return;
    c->preauth_slot = NULL;
    if (--s->n > 0)
        return;
    struct hmap *m = &c->srv->preauth_addrs;
    hmap_del(m, s->key);
    free(s);
    if (m->live == 0)
        hmap_free(m); /* nothing held once every stream is gone */
}

void c2s_xml_limits(struct c2s *c)
{
    const struct config *cfg = c->srv->cfg;
    struct xml_limits lim = {(size_t)cfg->max_stanza_size, cfg->max_depth, cfg->max_attrs};
    size_t tree = lim.max_stanza_size * TREE_FACTOR;
    if (!c->authed) {
        if (lim.max_stanza_size > PREAUTH_MAX_STANZA)
            lim.max_stanza_size = PREAUTH_MAX_STANZA;
        tree = PREAUTH_MAX_TREE;
    }
    xml_stream_set_limits(c->xs, &lim);
    xml_stream_set_max_tree(c->xs, tree);
}
