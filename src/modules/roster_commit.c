/* Committing roster changes through the store queue, and reading rows as
 * decided (see roster.h).
 *
 * A roster change is decided on the loop (the subscription tables, a
 * roster set) from the row as it stands, and written by the store's
 * writer thread later. Until its commit, the decided row is kept here, in
 * the pending rows of its owner: every read that decides something
 * (roster_load, roster_flags, roster_count, roster_each, roster_list)
 * sees it, so a second change that arrives before the first is on disk
 * (a contact's auto-reply to a subscription, say) starts from the first.
 * The writer runs requests in the order they were queued, so the last
 * decided row is the one left on disk.
 *
 * What a client is told waits for the commit: the roster push (it
 * carries the version the commit gave) and the answer to a roster set
 * (the caller's done callback). What is routed to others (subscription
 * stanzas, presence) goes at once, as decided.
 *
 * A failed write (full disk) is logged; the owner's cached flags are read
 * back from the store so that presence follows what is on disk.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/hmap.h"
#include "core/log.h"
#include "modules/module.h"
#include "modules/roster.h"
#include "store/queue.h"
#include "store/requests.h"

/* A decided row waiting for its commit(s). */
struct pending_row {
    struct roster_item it; /* the row as decided; flags 0: deleted */
    unsigned base;         /* the flags on disk before the first pending write */
    unsigned writes;       /* queued writes of this row not yet completed */
};

struct pending_owner {
    char *bare; /* the hmap key */
    struct hmap rows; /* contact JID -> struct pending_row (key: it.jid) */
};

static bool kept(unsigned flags) { return flags & (ROSTER_ITEM | ROSTER_PENDING_IN); }

static struct pending_owner *owner_of(struct server *srv, const char *bare)
{
    struct roster_cache *rc = srv ? roster_cache_of(srv) : NULL;
    return rc ? hmap_get(&rc->pending, bare) : NULL;
}

static const struct pending_row *pending_row(struct server *srv, const struct jid *owner,
                                             const char *contact)
{
    char bare[BARE_MAX];
    struct pending_owner *po = roster_bare(owner, bare) ? owner_of(srv, bare) : NULL;
    return po ? hmap_get(&po->rows, contact) : NULL;
}

static void row_free(struct pending_row *pr)
{
    roster_item_clear(&pr->it);
    free(pr);
}

static void owner_free(struct pending_owner *po)
{
    const char *k;
    void *v;
    for (size_t i = 0; (i = hmap_next(&po->rows, i, &k, &v)) != 0;)
        row_free(v);
    hmap_free(&po->rows);
    free(po->bare);
    free(po);
}

void roster_pending_fini(struct roster_cache *rc)
{
    const char *k;
    void *v;
    for (size_t i = 0; (i = hmap_next(&rc->pending, i, &k, &v)) != 0;)
        owner_free(v);
    hmap_free(&rc->pending);
}

/* A deep copy of src into dst (zeroed). 0 or -ENOMEM (dst cleared). */
static int item_copy(struct roster_item *dst, const struct roster_item *src)
{
    *dst = (struct roster_item){.flags = src->flags, .ngroups = src->ngroups};
    bool ok = (dst->jid = strdup(src->jid)) != NULL;
    if (ok && src->name)
        ok = (dst->name = strdup(src->name)) != NULL;
    if (ok && src->status)
        ok = (dst->status = strdup(src->status)) != NULL;
    if (ok && src->ngroups)
        ok = (dst->groups = calloc(src->ngroups, sizeof *dst->groups)) != NULL;
    for (size_t i = 0; ok && i < src->ngroups; i++)
        ok = (dst->groups[i] = strdup(src->groups[i])) != NULL;
    if (!ok) {
        if (!dst->groups)
            dst->ngroups = 0;
        roster_item_clear(dst);
        return -ENOMEM;
    }
    return 0;
}

/* The row's key points into its item: after the item is replaced, the
 * entry takes the new key (hmap_put on a present key only swaps the
 * pointer, so it cannot fail). */
static void rekey(struct pending_owner *po, struct pending_row *pr)
{
    (void)hmap_put(&po->rows, pr->it.jid, pr);
}

/* Records it as owner's decided row (base: the flags on disk, for a new
 * pending row). The decided row it replaces goes to *prev (zeroed if
 * there was none) for pending_undo. 0 or -ENOMEM. */
static int pending_put(struct server *srv, const char *bare, const struct roster_item *it,
                       unsigned base, struct roster_item *prev)
{
    *prev = (struct roster_item){0};
    struct roster_cache *rc = roster_cache_of(srv);
    struct pending_owner *po = hmap_get(&rc->pending, bare);
    if (!po) {
        if (!(po = calloc(1, sizeof *po)) || !(po->bare = strdup(bare))) {
            free(po);
            return -ENOMEM;
        }
        hmap_init(&po->rows);
        if (hmap_put(&rc->pending, po->bare, po) < 0) {
            owner_free(po);
            return -ENOMEM;
        }
    }
    struct pending_row *pr = hmap_get(&po->rows, it->jid);
    struct roster_item copy;
    if (item_copy(&copy, it) < 0)
        return -ENOMEM;
    if (pr) {
        *prev = pr->it;
        pr->it = copy;
        pr->writes++;
        rekey(po, pr);
        return 0;
    }
    if (!(pr = calloc(1, sizeof *pr))) {
        roster_item_clear(&copy);
        return -ENOMEM;
    }
    *pr = (struct pending_row){copy, base, 1};
    if (hmap_put(&po->rows, pr->it.jid, pr) < 0) {
        row_free(pr);
        return -ENOMEM;
    }
    return 0;
}

/* One write of (bare, contact) completed: the row goes with its last. */
static void pending_done(struct server *srv, const char *bare, const char *contact)
{
    struct roster_cache *rc = roster_cache_of(srv);
    struct pending_owner *po = rc ? hmap_get(&rc->pending, bare) : NULL;
    struct pending_row *pr = po ? hmap_get(&po->rows, contact) : NULL;
    if (!pr || --pr->writes > 0)
        return;
    hmap_del(&po->rows, contact);
    row_free(pr);
    if (po->rows.live == 0) {
        hmap_del(&rc->pending, po->bare);
        owner_free(po);
    }
}

/* The write that pending_put recorded could not be queued: the row is
 * decided as before it (prev, from pending_put; taken). */
static void pending_undo(struct server *srv, const char *bare, const char *contact,
                         struct roster_item *prev)
{
    struct pending_owner *po = owner_of(srv, bare);
    struct pending_row *pr = po && prev->jid ? hmap_get(&po->rows, contact) : NULL;
    if (!pr) {
        roster_item_clear(prev);
        pending_done(srv, bare, contact);
        return;
    }
    struct roster_item undone = pr->it;
    pr->it = *prev;
    pr->writes--;
    rekey(po, pr); /* before the old key is freed: the map compares with it */
    roster_item_clear(&undone);
}

int roster_load(struct server *srv, struct store *store, const struct jid *owner,
                const char *contact, struct roster_item *out)
{
    const struct pending_row *pr = pending_row(srv, owner, contact);
    if (!pr)
        return roster_load_sync(store, owner->domain, owner->local, contact, out);
    if (!kept(pr->it.flags)) {
        *out = (struct roster_item){0};
        return -ENOENT;
    }
    return item_copy(out, &pr->it);
}

bool roster_pending_flags(struct server *srv, const struct jid *owner, const char *contact,
                          unsigned *flags)
{
    const struct pending_row *pr = pending_row(srv, owner, contact);
    if (pr)
        *flags = kept(pr->it.flags) ? pr->it.flags : 0;
    return pr != NULL;
}

void roster_pending_each(struct server *srv, const struct jid *owner,
                         void (*fn)(void *ud, const struct roster_item *it), void *ud)
{
    char bare[BARE_MAX];
    struct pending_owner *po = roster_bare(owner, bare) ? owner_of(srv, bare) : NULL;
    const char *k;
    void *v;
    for (size_t i = 0; po && (i = hmap_next(&po->rows, i, &k, &v)) != 0;)
        fn(ud, &((struct pending_row *)v)->it);
}

int roster_count(struct server *srv, const struct jid *owner, unsigned mask, size_t *n)
{
    int rc = roster_count_sync(srv->store, owner->domain, owner->local, mask, n);
    char bare[BARE_MAX];
    struct pending_owner *po = rc == 0 && roster_bare(owner, bare) ? owner_of(srv, bare) : NULL;
    const char *k;
    void *v;
    /* The store counted each pending row as it was before its first
     * pending write (base); count it as decided instead. */
    for (size_t i = 0; po && (i = hmap_next(&po->rows, i, &k, &v)) != 0;) {
        const struct pending_row *pr = v;
        bool was = kept(pr->base) && (!mask || (pr->base & mask));
        bool is = kept(pr->it.flags) && (!mask || (pr->it.flags & mask));
        if (is && !was)
            (*n)++;
        else if (was && !is && *n > 0)
            (*n)--;
    }
    return rc;
}

struct list_ctx {
    struct server *srv;
    const struct jid *owner;
    unsigned mask;
    void (*cb)(void *ud, const struct roster_item *it);
    void *ud;
};

static void list_stored(void *ud, const struct roster_item *it)
{
    struct list_ctx *lc = ud;
    if (!pending_row(lc->srv, lc->owner, it->jid))
        lc->cb(lc->ud, it);
}

static void list_pending(void *ud, const struct roster_item *it)
{
    struct list_ctx *lc = ud;
    if (kept(it->flags) && (!lc->mask || (it->flags & lc->mask)))
        lc->cb(lc->ud, it);
}

int roster_list(struct server *srv, const struct jid *owner, unsigned mask,
                void (*cb)(void *ud, const struct roster_item *it), void *ud)
{
    struct list_ctx lc = {srv, owner, mask, cb, ud};
    int rc = roster_list_sync(srv->store, owner->domain, owner->local, mask, list_stored, &lc);
    if (rc == 0)
        roster_pending_each(srv, owner, list_pending, &lc);
    return rc;
}

/* ---- commits ---- */

/* A queued write, until its completion. */
struct roster_write {
    struct server *srv;
    struct jid owner;     /* local and domain point into bare_s below */
    char *domain, *local;
    char bare[BARE_MAX];
    struct roster_item it; /* for the push */
    bool keep, push;
    roster_done_fn done;
    void *ud;
};

static void write_free(struct roster_write *w)
{
    roster_item_clear(&w->it);
    free(w->domain);
    free(w->local);
    free(w);
}

/* After a failed write: the cached flags follow the store again. */
static void resync_cache(struct roster_write *w)
{
    struct roster_item it = {0};
    int rc = roster_load_sync(w->srv->store, w->domain, w->local, w->it.jid, &it);
    roster_cache_note(w->srv, &w->owner, w->it.jid, rc == 0 ? it.flags : 0);
    roster_item_clear(&it);
}

static void write_done(void *ud, int rc, int64_t ver)
{
    struct roster_write *w = ud;
    bool push = rc == 0 && w->push;
    if (rc == -ENOENT && !w->keep)
        rc = 0; /* nothing was stored: nothing to remove, nothing to push */
    pending_done(w->srv, w->bare, w->it.jid);
    if (rc < 0) {
        log_warn("roster: a roster change could not be stored (%s)", strerror(-rc));
        if (!pending_row(w->srv, &w->owner, w->it.jid))
            resync_cache(w);
    }
    /* The caller's part first (the answer to a roster set, RFC 6121
     * §2.3.2; an inbound subscription stanza, which §3.1.6 and the like
     * put before the push), then the push. */
    if (w->done)
        w->done(w->ud, rc);
    if (push)
        roster_push(w->srv, &w->owner, NULL, &w->it, !(w->it.flags & ROSTER_ITEM), ver);
    write_free(w);
}

static struct roster_write *write_new(struct server *srv, const struct jid *owner,
                                      const struct roster_item *it, bool push, roster_done_fn done,
                                      void *ud)
{
    struct roster_write *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    *w = (struct roster_write){
        .srv = srv, .keep = kept(it->flags), .push = push, .done = done, .ud = ud};
    if (!roster_bare(owner, w->bare) || !(w->domain = strdup(owner->domain)) ||
        !(w->local = strdup(owner->local)) || item_copy(&w->it, it) < 0) {
        free(w->domain);
        free(w->local);
        free(w);
        return NULL;
    }
    w->owner = (struct jid){.local = w->local, .domain = w->domain};
    return w;
}

/* Without a running server (taubectl) or its queue: on the caller's
 * connection, at once. */
static int commit_sync(struct server *srv, struct store *store, const struct config *cfg,
                       const struct jid *owner, const struct roster_item *it, bool push)
{
    bool keep = kept(it->flags);
    int64_t ver = 0;
    int rc = keep ? roster_put_sync(store, owner->domain, owner->local, it, push,
                                    cfg->roster_version_log, &ver)
                  : roster_delete_sync(store, owner->domain, owner->local, it->jid, push,
                                       cfg->roster_version_log, &ver);
    if (rc == -ENOENT && !keep)
        return 0;
    if (rc < 0)
        return rc;
    roster_cache_note(srv, owner, it->jid, keep ? it->flags : 0);
    if (push && srv)
        roster_push(srv, owner, NULL, it, !(it->flags & ROSTER_ITEM), ver);
    return 0;
}

int roster_commit(struct server *srv, struct store *store, const struct config *cfg,
                  const struct jid *owner, const struct roster_item *it, unsigned before, bool push,
                  roster_done_fn done, void *ud)
{
    if (!srv || !srv->storeq || !roster_cache_of(srv)) {
        int rc = commit_sync(srv, store, cfg, owner, it, push);
        if (rc == 0 && done)
            done(ud, 0);
        return rc;
    }
    struct roster_write *w = write_new(srv, owner, it, push, done, ud);
    if (!w)
        return -ENOMEM;
    struct roster_item prev;
    if (pending_put(srv, w->bare, it, before, &prev) < 0) {
        write_free(w);
        return -ENOMEM;
    }
    int64_t id = w->keep
                     ? store_roster_put_req(srv->storeq, owner->domain, owner->local, it, push,
                                            cfg->roster_version_log, write_done, w)
                     : store_roster_delete_req(srv->storeq, owner->domain, owner->local, it->jid,
                                               push, cfg->roster_version_log, write_done, w);
    if (id < 0) {
        pending_undo(srv, w->bare, it->jid, &prev);
        write_free(w);
        return (int)id;
    }
    roster_item_clear(&prev);
    /* Presence follows the decision at once; the store follows it on commit. */
    roster_cache_note(srv, owner, it->jid, kept(it->flags) ? it->flags : 0);
    return 0;
}
