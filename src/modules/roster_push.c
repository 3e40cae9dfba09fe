/* The rosters of online accounts in memory, committing roster changes
 * and roster pushes (RFC 6121 §2.1.6, §2.6). See roster.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hmap.h"
#include "core/log.h"
#include "modules/module.h"
#include "modules/roster.h"
#include "xmpp/ns.h"
#include "xmpp/router.h"

struct cached_item {
    unsigned flags;
    char jid[]; /* the hmap key */
};

struct cached_roster {
    char *bare; /* the hmap key */
    unsigned refs;
    struct hmap items; /* contact JID -> struct cached_item */
};

bool roster_interested(const struct session *s)
{
    const struct roster_session *rs = session_ctx(s, &mod_roster);
    return rs && rs->requested;
}

void roster_cache_init(struct roster_cache *rc)
{
    hmap_init(&rc->rosters);
    hmap_init(&rc->pending);
}

static void cached_roster_free(struct cached_roster *cr)
{
    const char *k;
    void *v;
    for (size_t i = 0; (i = hmap_next(&cr->items, i, &k, &v)) != 0;)
        free(v);
    hmap_free(&cr->items);
    free(cr->bare);
    free(cr);
}

void roster_cache_fini(struct roster_cache *rc)
{
    const char *k;
    void *v;
    for (size_t i = 0; (i = hmap_next(&rc->rosters, i, &k, &v)) != 0;)
        cached_roster_free(v);
    hmap_free(&rc->rosters);
    roster_pending_fini(rc);
}

struct roster_cache *roster_cache_of(struct server *srv) { return module_state(srv, &mod_roster); }

bool roster_bare(const struct jid *owner, char out[BARE_MAX])
{
    struct jid b = {.local = owner->local, .domain = owner->domain};
    return owner->local && jid_format(&b, true, out, BARE_MAX) < BARE_MAX;
}

static struct cached_roster *cached(struct server *srv, const struct jid *owner)
{
    struct roster_cache *rc = srv ? roster_cache_of(srv) : NULL;
    char bare[BARE_MAX];
    if (!rc || !roster_bare(owner, bare))
        return NULL;
    return hmap_get(&rc->rosters, bare);
}

/* Sets (flags != 0) or removes a contact in a cached roster. */
static int cache_set(struct cached_roster *cr, const char *jid, unsigned flags)
{
    struct cached_item *ci = hmap_get(&cr->items, jid);
    if (!flags) {
        free(hmap_del(&cr->items, jid));
        return 0;
    }
    if (ci) {
        ci->flags = flags;
        return 0;
    }
    size_t len = strlen(jid);
    if (!(ci = malloc(sizeof *ci + len + 1)))
        return -ENOMEM;
    ci->flags = flags;
    memcpy(ci->jid, jid, len + 1);
    if (hmap_put(&cr->items, ci->jid, ci) < 0) {
        free(ci);
        return -ENOMEM;
    }
    return 0;
}

struct load_ctx {
    struct cached_roster *cr;
    int err;
};

static void load_one(void *ud, const struct roster_item *it)
{
    struct load_ctx *lc = ud;
    if (!lc->err)
        lc->err = cache_set(lc->cr, it->jid, it->flags);
}

int roster_cache_acquire(struct server *srv, const struct jid *owner)
{
    struct roster_cache *rc = roster_cache_of(srv);
    struct cached_roster *cr = cached(srv, owner);
    if (cr) {
        cr->refs++;
        return 0;
    }
    char bare[BARE_MAX];
    if (!rc || !roster_bare(owner, bare))
        return -EINVAL;
    if (!(cr = calloc(1, sizeof *cr)) || !(cr->bare = strdup(bare))) {
        free(cr);
        return -ENOMEM;
    }
    hmap_init(&cr->items);
    struct load_ctx lc = {cr, 0};
    /* The rows as decided: a change not yet committed counts. */
    int rc2 = roster_list(srv, owner, 0, load_one, &lc);
    if (rc2 == 0)
        rc2 = lc.err;
    if (rc2 == 0)
        rc2 = hmap_put(&rc->rosters, cr->bare, cr);
    if (rc2 < 0) {
        cached_roster_free(cr);
        return rc2;
    }
    cr->refs = 1;
    return 0;
}

void roster_cache_release(struct server *srv, const struct jid *owner)
{
    struct cached_roster *cr = cached(srv, owner);
    if (!cr || --cr->refs > 0)
        return;
    hmap_del(&roster_cache_of(srv)->rosters, cr->bare);
    cached_roster_free(cr);
}

struct each_ctx {
    unsigned mask;
    void (*fn)(void *ud, const char *jid, unsigned flags);
    void *ud;
};

static void each_row(void *ud, const struct roster_item *it)
{
    struct each_ctx *ec = ud;
    ec->fn(ec->ud, it->jid, it->flags);
}

int roster_each(struct server *srv, const struct jid *owner, unsigned mask,
                void (*fn)(void *ud, const char *jid, unsigned flags), void *ud)
{
    struct cached_roster *cr = cached(srv, owner);
    if (!cr) {
        struct each_ctx ec = {mask, fn, ud};
        return roster_list(srv, owner, mask, each_row, &ec);
    }
    const char *k;
    void *v;
    for (size_t i = 0; (i = hmap_next(&cr->items, i, &k, &v)) != 0;) {
        const struct cached_item *ci = v;
        if (!mask || (ci->flags & mask))
            fn(ud, ci->jid, ci->flags);
    }
    return 0;
}

unsigned roster_flags(struct server *srv, const struct jid *owner, const char *contact)
{
    struct cached_roster *cr = cached(srv, owner);
    if (cr) {
        const struct cached_item *ci = hmap_get(&cr->items, contact);
        return ci ? ci->flags : 0;
    }
    unsigned f = 0;
    if (roster_pending_flags(srv, owner, contact, &f))
        return f;
    struct roster_item it;
    if (roster_load_sync(srv->store, owner->domain, owner->local, contact, &it) < 0)
        return 0;
    f = it.flags;
    roster_item_clear(&it);
    return f;
}

void roster_cache_note(struct server *srv, const struct jid *owner, const char *contact,
                       unsigned flags)
{
    struct cached_roster *cr = cached(srv, owner);
    if (cr && cache_set(cr, contact, flags) < 0) {
        /* The cache would go stale: drop the contact from it; presence
         * then errs on the side of not sending. */
        free(hmap_del(&cr->items, contact));
    }
}

static const char *sub_name(unsigned flags)
{
    switch (flags & (ROSTER_TO | ROSTER_FROM)) {
    case ROSTER_TO: return "to";
    case ROSTER_FROM: return "from";
    case ROSTER_TO | ROSTER_FROM: return "both";
    default: return "none";
    }
}

int roster_item_xml(struct stanza *st, struct xml_node *query, const struct roster_item *it,
                    bool removed)
{
    struct xml_node *item = xml_add_child(st, query, "item", NULL);
    if (!item || xml_set_attr(st, item, "jid", it->jid) < 0)
        return -ENOMEM;
    int rc = xml_set_attr(st, item, "subscription", removed ? "remove" : sub_name(it->flags));
    if (removed)
        return rc;
    if (rc == 0 && it->name)
        rc = xml_set_attr(st, item, "name", it->name);
    if (rc == 0 && (it->flags & ROSTER_ASK))
        rc = xml_set_attr(st, item, "ask", "subscribe");
    if (rc == 0 && (it->flags & ROSTER_APPROVED))
        rc = xml_set_attr(st, item, "approved", "true");
    for (size_t i = 0; rc == 0 && i < it->ngroups; i++)
        rc = xml_add_text_elem(st, item, "group", it->groups[i]);
    return rc;
}

/* The push stanza for one session (RFC 6121 §2.1.6): from the bare JID. */
static struct stanza *push_new(struct server *srv, const char *bare, const struct session *s,
                               const struct roster_item *it, bool removed, int64_t ver)
{
    char id[40], vs[24];
    snprintf(id, sizeof id, "push-%" PRIx64, ++srv->next_id);
    snprintf(vs, sizeof vs, "%" PRId64, ver);
    struct stanza *st = stanza_new("iq", NS_CLIENT);
    struct xml_node *q = st ? xml_add_child(st, st->root, "query", NS_ROSTER) : NULL;
    if (!q || xml_set_attr(st, st->root, "type", "set") < 0 ||
        xml_set_attr(st, st->root, "id", id) < 0 || xml_set_attr(st, st->root, "from", bare) < 0 ||
        xml_set_attr(st, st->root, "to", s->full) < 0 || xml_set_attr(st, q, "ver", vs) < 0 ||
        roster_item_xml(st, q, it, removed) < 0) {
        if (st)
            stanza_unref(st);
        return NULL;
    }
    return st;
}

struct push_ctx {
    struct server *srv;
    const char *bare;
    const struct roster_item *it;
    bool removed;
    int64_t ver;
};

static void push_one(struct session *t, void *ud)
{
    const struct push_ctx *pc = ud;
    struct stanza *st = push_new(pc->srv, pc->bare, t, pc->it, pc->removed, pc->ver);
    if (!st) {
        log_warn("roster: out of memory building a roster push");
        return;
    }
    t->ops->deliver(t, st);
    stanza_unref(st);
}

static void push_interested(struct session *t, void *ud)
{
    if (roster_interested(t))
        push_one(t, ud);
}

void roster_push(struct server *srv, const struct jid *owner, struct session *s,
                 const struct roster_item *it, bool removed, int64_t ver)
{
    char bare[BARE_MAX];
    if (!srv || !roster_bare(owner, bare))
        return;
    struct push_ctx pc = {srv, bare, it, removed, ver};
    if (s)
        push_one(s, &pc);
    else
        router_each(srv->router, bare, push_interested, &pc);
}
