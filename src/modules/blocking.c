/* Blocking command (XEP-0191, promise P22).
 *
 * The block list lives in the store (store/blocking.h) and, while the
 * account has sessions, in memory too: the inbound hook runs for every
 * stanza to a local account, the outbound hook for every stanza a client
 * sends. An account without sessions is checked with one indexed lookup.
 * Every change goes through this module, which updates both.
 *
 * Runs before the presence module (registry order), so blocked presence
 * never reaches subscription handling.
 *
 * Not done here: XEP-0191 §3.3 unavailable presence to a newly blocked
 * contact and §3.4 current presence on unblock; they need the presence
 * module's broadcast state (who may see what, which resources are
 * available to whom).
 */
#include "modules/blocking.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hmap.h"
#include "core/log.h"
#include "modules/iq_later.h"
#include "modules/module.h"
#include "modules/reports.h"
#include "store/blocking.h"
#include "store/requests.h"
#include "xmpp/ns.h"
#include "xmpp/router.h"

/* Its options, in its own block (core/config.h, config_block): struct
 * config knows nothing of them. */
struct blocking_config {
    unsigned max_items; /* blocking.max_items: 1000 JIDs per user */
};
static const struct config_table blocking_cfg;

static const struct blocking_config *options_of(const struct server *srv)
{
    return config_block(srv->cfg, &blocking_cfg);
}

#define NS_BLOCKING "urn:xmpp:blocking"
#define NS_BLOCKING_ERRORS "urn:xmpp:blocking:errors"
#define JID_STR_MAX (3 * (JID_PART_MAX + 1))

struct blist {
    char *bare;        /* key in struct blocking.lists */
    struct hmap jids;  /* prepared JID string (owned, also the value) */
};

struct blocking {
    struct server *srv;
    struct hmap lists; /* account bare JID -> struct blist, while it has sessions */
};

extern const struct module mod_blocking;

/* The module's slot in each session. */
struct blocking_session {
    bool requested; /* asked for its block list: gets pushes (§3.3) */
};

/* ---- the in-memory lists ---- */

static void blist_free(struct blist *l)
{
    const char *k;
    void *v;
    for (size_t i = 0; (i = hmap_next(&l->jids, i, &k, &v)) != 0;)
        free(v);
    hmap_free(&l->jids);
    free(l->bare);
    free(l);
}

static int blist_add(struct blist *l, const char *jid)
{
    if (hmap_get(&l->jids, jid))
        return 0;
    char *copy = strdup(jid);
    if (!copy || hmap_put(&l->jids, copy, copy) < 0) {
        free(copy);
        return -ENOMEM;
    }
    return 0;
}

static void blist_remove(struct blist *l, const char *jid) { free(hmap_del(&l->jids, jid)); }

static void blist_clear(struct blist *l)
{
    const char *k;
    void *v;
    for (size_t i = 0; (i = hmap_next(&l->jids, i, &k, &v)) != 0;)
        free(v);
    hmap_free(&l->jids);
    hmap_init(&l->jids);
}

struct load_ctx {
    struct blist *l;
    int err;
};

static void load_one(void *ud, const char *jid)
{
    struct load_ctx *lc = ud;
    if (lc->err == 0)
        lc->err = blist_add(lc->l, jid);
}

/* The account's list from the store into memory. NULL on failure. */
static struct blist *blist_load(struct blocking *b, const char *bare, const struct jid *acc)
{
    struct blist *l = calloc(1, sizeof *l);
    if (!l || !(l->bare = strdup(bare))) {
        free(l);
        return NULL;
    }
    hmap_init(&l->jids);
    struct load_ctx lc = {l, 0};
    int rc = store_blocking_list_sync(b->srv->store, acc->domain, acc->local, load_one, &lc);
    if (rc < 0 || lc.err < 0 || hmap_put(&b->lists, l->bare, l) < 0) {
        blist_free(l);
        return NULL;
    }
    return l;
}

/* The in-memory list of an account that has sessions; NULL if it has none
 * (or memory ran out): callers then ask the store. */
static struct blist *blist_get(struct blocking *b, const struct jid *acc)
{
    char bare[JID_STR_MAX];
    if (!acc->local || jid_format(acc, true, bare, sizeof bare) >= sizeof bare)
        return NULL;
    struct blist *l = hmap_get(&b->lists, bare);
    if (l || !router_count(b->srv->router, bare))
        return l;
    return blist_load(b, bare, acc);
}

/* ---- matching (XEP-0191 §6) ---- */

struct cands {
    char buf[4][JID_STR_MAX];
    const char *v[4];
    size_t n;
};

/* Adds local@domain/resource with either end optional (NULL). */
static void cand_add(struct cands *c, const char *local, const char *domain, const char *resource)
{
    int len = snprintf(c->buf[c->n], JID_STR_MAX, "%s%s%s%s%s", local ? local : "",
                       local ? "@" : "", domain, resource ? "/" : "", resource ? resource : "");
    if (len > 0 && len < JID_STR_MAX) {
        c->v[c->n] = c->buf[c->n];
        c->n++;
    }
}

/* user@domain/resource, user@domain, domain/resource, domain. */
static void candidates(const struct jid *p, struct cands *c)
{
    c->n = 0;
    if (p->local && p->resource)
        cand_add(c, p->local, p->domain, p->resource);
    if (p->local)
        cand_add(c, p->local, p->domain, NULL);
    if (p->resource)
        cand_add(c, NULL, p->domain, p->resource);
    cand_add(c, NULL, p->domain, NULL);
}

static bool is_blocked(struct blocking *b, const struct jid *acc, const struct jid *peer)
{
    /* The account itself and our own server are never blocked, so that a
     * list naming our domain cannot cut the user off from the server. */
    if (jid_bare_equal(acc, peer) || (!peer->local && server_host(b->srv, peer->domain)))
        return false;
    struct blist *l = blist_get(b, acc);
    if (l && l->jids.live == 0)
        return false; /* the common case: nothing blocked */
    struct cands *c = malloc(sizeof *c);
    if (!c)
        return false;
    candidates(peer, c);
    bool hit = false;
    if (l) {
        for (size_t i = 0; i < c->n && !hit; i++)
            hit = hmap_get(&l->jids, c->v[i]) != NULL;
    } else {
        hit = store_blocking_match_sync(b->srv->store, acc->domain, acc->local, c->v, c->n) == 1;
    }
    free(c);
    return hit;
}

static struct blocking *state_of(struct server *srv) { return module_state(srv, &mod_blocking); }

bool blocking_is_blocked(struct server *srv, const char *domain, const char *user,
                         const struct jid *peer)
{
    struct blocking *b = state_of(srv);
    struct jid acc = {.local = user, .domain = domain};
    return b && is_blocked(b, &acc, peer);
}

/* ---- routing hooks ---- */

/* XEP-0191 §3.3: presence is dropped without a word, messages bounce with
 * service-unavailable (errors are dropped), iq get/set get
 * service-unavailable, iq results and errors are dropped. The blocked
 * sender sees the user as offline. */
static enum hook_result blocking_inbound(struct hook_ctx *c)
{
    if (!c->from || !is_blocked(c->state, c->to, c->from))
        return HOOK_PASS;
    if (c->kind == STANZA_MESSAGE || c->kind == STANZA_IQ) {
        const char *type = xml_attr(c->st->root, "type");
        bool request = type && (strcmp(type, "get") == 0 || strcmp(type, "set") == 0);
        if (c->kind == STANZA_MESSAGE || request)
            router_error(c->srv, c->st, SC_SERVICE_UNAVAILABLE, NULL);
    }
    return HOOK_HANDLED;
}

/* not-acceptable with <blocked xmlns='urn:xmpp:blocking:errors'/>,
 * straight to the sender's session: routed, it would come 'from' the
 * blocked JID and the inbound hook would drop it. */
static void reply_blocked(struct session *origin, const struct stanza *st)
{
    struct stanza *err = stanza_error_reply(st, SC_NOT_ACCEPTABLE, NULL);
    struct xml_node *e = err ? xml_child(err->root, "error", NULL) : NULL;
    if (e && xml_add_child(err, e, "blocked", NS_BLOCKING_ERRORS))
        origin->ops->deliver(origin, err);
    if (err)
        stanza_unref(err);
}

/* XEP-0191 §3.3: nothing the user sends reaches a JID it has blocked. */
static enum hook_result blocking_outbound(struct hook_ctx *c)
{
    if (c->no_to || !c->origin || !is_blocked(c->state, &c->origin->jid, c->to))
        return HOOK_PASS;
    reply_blocked(c->origin, c->st);
    return HOOK_HANDLED;
}

static void blocking_session_event(struct server *srv, void *state, struct session *s,
                                   enum session_event ev)
{
    struct blocking *b = state;
    if (ev != SESSION_CLOSING || !router_is_last(srv->router, s))
        return;
    /* The account's last session is going: forget its list. */
    struct blist *l = hmap_del(&b->lists, s->bare);
    if (l)
        blist_free(l);
}

/* ---- the protocol (XEP-0191 §3) ---- */

/* Only the account itself manages its list, from one of its sessions. */
static bool own_request(const struct iq_request *rq)
{
    if (rq->origin && jid_bare_equal(rq->from, rq->to))
        return true;
    iq_reply_error(rq, SC_SERVICE_UNAVAILABLE, NULL);
    return false;
}

struct build_ctx {
    struct stanza *st;
    struct xml_node *parent;
    int err;
};

static void add_item(void *ud, const char *jid)
{
    struct build_ctx *bc = ud;
    struct xml_node *it = bc->err ? NULL : xml_add_child(bc->st, bc->parent, "item", NULL);
    if (!it || xml_set_attr(bc->st, it, "jid", jid) < 0)
        bc->err = -ENOMEM;
}

static void handle_blocklist(const struct iq_request *rq)
{
    if (!own_request(rq))
        return;
    struct stanza *res = iq_result_new(rq->st);
    struct build_ctx bc = {res, NULL, 0};
    if (res)
        bc.parent = xml_add_child(res, res->root, "blocklist", NS_BLOCKING);
    int n = bc.parent ? store_blocking_list_sync(rq->srv->store, rq->to->domain, rq->to->local,
                                                 add_item, &bc)
                      : -ENOMEM;
    if (n < 0 || bc.err < 0) {
        if (res)
            stanza_unref(res);
        iq_reply_error(rq, SC_INTERNAL_SERVER_ERROR, NULL);
        return;
    }
    ((struct blocking_session *)session_ctx(rq->origin, &mod_blocking))->requested = true;
    iq_reply(rq, res);
}

/* The items of a block/unblock request, prepared: "jid-malformed" for any
 * invalid JID. Returns the count, or -EINVAL / -ENOMEM. *out is a malloc'ed
 * array of malloc'ed strings (free with free_items). */
static void free_items(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* The elements of a block other than a XEP-0377 report slixmpp 1.8
 * puts beside the items (see take_reports). */
static size_t count_items(const struct xml_node *payload)
{
    size_t n = 0;
    for (const struct xml_node *it = xml_first_elem(payload); it; it = xml_next_elem(it))
        n += !reports_is_report(it);
    return n;
}

static int parse_items(const struct xml_node *payload, size_t max, char ***out)
{
    size_t cap = count_items(payload), n = 0;
    *out = NULL;
    if (cap == 0)
        return 0;
    if (cap > max)
        return -EDQUOT;
    char **v = calloc(cap, sizeof *v);
    if (!v)
        return -ENOMEM;
    for (const struct xml_node *it = xml_first_elem(payload); it; it = xml_next_elem(it)) {
        if (reports_is_report(it))
            continue;
        const char *s = xml_attr(it, "jid");
        struct jid j;
        if (strcmp(it->name, "item") != 0 || strcmp(it->ns, NS_BLOCKING) != 0 || !s ||
            jid_parse(&j, s, strlen(s)) < 0) {
            free_items(v, n);
            return -EINVAL;
        }
        v[n] = jid_to_string(&j, false);
        jid_free(&j);
        if (!v[n]) {
            free_items(v, n);
            return -ENOMEM;
        }
        n++;
    }
    if (n == 0) /* a report with no item */
        free(v);
    *out = n ? v : NULL;
    return (int)n;
}

struct push_ctx {
    struct server *srv;
    const char *name; /* "block" or "unblock" */
    char *const *items;
    size_t n;
};

static bool wants_pushes(struct session *s)
{
    return ((struct blocking_session *)session_ctx(s, &mod_blocking))->requested;
}

static void push_one(struct session *s, void *ud)
{
    const struct push_ctx *pc = ud;
    if (!wants_pushes(s))
        return;
    char id[32];
    snprintf(id, sizeof id, "block-push-%llu", (unsigned long long)++pc->srv->next_id);
    struct stanza *st = stanza_new("iq", NS_CLIENT);
    struct xml_node *p = st ? xml_add_child(st, st->root, pc->name, NS_BLOCKING) : NULL;
    struct build_ctx bc = {st, p, p ? 0 : -ENOMEM};
    for (size_t i = 0; i < pc->n; i++)
        add_item(&bc, pc->items[i]);
    if (bc.err == 0 && xml_set_attr(st, st->root, "type", "set") == 0 &&
        xml_set_attr(st, st->root, "id", id) == 0 && xml_set_attr(st, st->root, "to", s->full) == 0)
        s->ops->deliver(s, st);
    if (st)
        stanza_unref(st);
}

/* XEP-0191 §3.3-3.5: the same change to every session that asked for the
 * list (including the one that made it). */
static void push(struct server *srv, const struct jid *acc, const char *name, char **items,
                 size_t n)
{
    char bare[JID_STR_MAX];
    if (jid_format(acc, true, bare, sizeof bare) >= sizeof bare)
        return;
    struct push_ctx pc = {srv, name, items, n};
    router_each(srv->router, bare, push_one, &pc);
}

static enum stanza_cond cond_of(int rc)
{
    return rc == -EINVAL   ? SC_JID_MALFORMED
           : rc == -EDQUOT ? SC_RESOURCE_CONSTRAINT
                           : SC_INTERNAL_SERVER_ERROR;
}

/* Applies a committed change to the in-memory list, if there is one. A
 * failed update drops the list, so it is reloaded from the store. */
static void mirror(struct blocking *b, const struct jid *acc, bool add, char **items, size_t n)
{
    struct blist *l = blist_get(b, acc);
    if (!l)
        return;
    int rc = 0;
    if (n == 0)
        blist_clear(l);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (add)
            rc = blist_add(l, items[i]);
        else
            blist_remove(l, items[i]);
    }
    if (rc < 0) {
        hmap_del(&b->lists, l->bare);
        blist_free(l);
    }
}

/* A block or unblock waiting for its commit, then for its reports'. */
struct change {
    struct iq_later *l;
    bool add;
    char **items;
    size_t n;
    unsigned reports_out; /* reports queued and not yet completed */
    bool reports_queued;  /* take_reports is done queuing */
};

static void change_free(struct change *ch)
{
    iq_later_free(ch->l);
    free_items(ch->items, ch->n);
    free(ch);
}

/* Applied and its reports stored (or refused): the answer, then the
 * pushes to the account's other interested resources. */
static void change_finish(struct change *ch)
{
    iq_later_result(ch->l);
    push(ch->l->srv, &ch->l->account, ch->add ? "block" : "unblock", ch->items, ch->n);
    change_free(ch);
}

static void report_done(void *ud)
{
    struct change *ch = ud;
    if (--ch->reports_out == 0 && ch->reports_queued)
        change_finish(ch);
}

/* XEP-0377: the reports attached to the items of an applied block, in
 * item order. A report beside the items, as slixmpp 1.8's stanza model
 * builds it (<block><item/><report/></block>), stands for every item
 * that has none of its own. Whatever becomes of a report, the block
 * stands. */
static void take_reports(struct change *ch)
{
    const struct xml_node *payload = iq_later_payload(ch->l);
    const struct xml_node *shared = reports_find(payload);
    size_t i = 0;
    for (const struct xml_node *it = xml_first_elem(payload); it; it = xml_next_elem(it)) {
        if (reports_is_report(it))
            continue;
        const struct xml_node *own = reports_find(it);
        /* After a failure to queue, the rest would fail the same way:
         * one log line per block, not one per item. */
        if (own || shared) {
            ch->reports_out++;
            if (reports_take(ch->l->srv, &ch->l->account, own ? own : shared, ch->items[i],
                             report_done, ch) < 0) {
                ch->reports_out--;
                break;
            }
        }
        i++;
    }
}

/* The block list change is committed (or failed). */
static void change_stored(void *ud, int rc, int64_t value)
{
    struct change *ch = ud;
    (void)value;
    if (rc < 0) {
        iq_later_error(ch->l, cond_of(rc), NULL);
        change_free(ch);
        return;
    }
    mirror(ch->l->state, &ch->l->account, ch->add, ch->items, ch->n);
    if (ch->add)
        take_reports(ch);
    ch->reports_queued = true;
    if (ch->reports_out == 0)
        change_finish(ch);
}

static void handle_change(const struct iq_request *rq, bool add)
{
    if (!own_request(rq))
        return;
    size_t max = options_of(rq->srv)->max_items;
    char **items = NULL;
    int n = parse_items(rq->payload, max, &items);
    if (n == 0 && add) {
        iq_reply_error(rq, SC_BAD_REQUEST, "block needs at least one item");
        return;
    }
    if (n < 0) {
        iq_reply_error(rq, cond_of(n), NULL);
        return;
    }
    struct change *ch = calloc(1, sizeof *ch);
    if (ch && !(ch->l = iq_later_new(rq))) {
        free(ch);
        ch = NULL;
    }
    if (!ch) {
        free_items(items, (size_t)n);
        iq_reply_error(rq, SC_INTERNAL_SERVER_ERROR, NULL);
        return;
    }
    ch->add = add;
    ch->items = items;
    ch->n = (size_t)n;
    /* Answered from change_stored, after the commit. */
    int64_t id = store_blocking_req(rq->srv->storeq, add, rq->to->domain, rq->to->local,
                                    (const char *const *)items, (size_t)n, max, change_stored, ch);
    if (id < 0) {
        change_free(ch);
        iq_reply_error(rq, id == -EAGAIN ? SC_RESOURCE_CONSTRAINT : cond_of((int)id), NULL);
    }
}

static void handle_block(const struct iq_request *rq) { handle_change(rq, true); }
static void handle_unblock(const struct iq_request *rq) { handle_change(rq, false); }

static const struct iq_handler blocking_iq[] = {
    {NS_BLOCKING, "blocklist", IQ_GET, IQ_TO_ACCOUNT, NULL, handle_blocklist},
    {NS_BLOCKING, "block", IQ_SET, IQ_TO_ACCOUNT, NULL, handle_block},
    {NS_BLOCKING, "unblock", IQ_SET, IQ_TO_ACCOUNT, NULL, handle_unblock},
};

/* The handlers target the account, so the feature is listed separately. */
static const char *const blocking_features[] = {NS_BLOCKING, NULL};

static int blocking_init(struct server *srv, void *state)
{
    struct blocking *b = state;
    b->srv = srv;
    hmap_init(&b->lists);
    return 0;
}

static void blocking_fini(struct server *srv, void *state)
{
    (void)srv;
    struct blocking *b = state;
    if (!b)
        return;
    const char *k;
    void *v;
    for (size_t i = 0; (i = hmap_next(&b->lists, i, &k, &v)) != 0;)
        blist_free(v);
    hmap_free(&b->lists);
}

/* ---- the data contract ---- */

static void count_one(void *ud, const char *jid) { *(uint64_t *)ud += strlen(jid); }

static int blocking_describe(const struct data_ctx *d, const char *domain, const char *user,
                             data_fact_fn fn, void *ud)
{
    uint64_t bytes = 0;
    int n = store_blocking_list_sync(d->store, domain, user, count_one, &bytes);
    if (n <= 0)
        return n == -ENOENT ? 0 : n;
    struct data_fact f = {
        .kind = "blocklist",
        .what = {"The addresses you blocked (XEP-0191).",
                 "Die Adressen, die Sie blockiert haben (XEP-0191)."},
        .unit = {"blocked addresses", "blockierte Adressen"},
        .count = (uint64_t)n,
        .bytes = bytes,
        .keep = KEEP_WHILE_ACCOUNT,
    };
    return fn(ud, &f);
}

struct export_ctx {
    struct buf *out;
    unsigned order;
    int err;
};

static void export_one(void *ud, const char *jid)
{
    struct export_ctx *e = ud;
    if (e->err == 0)
        e->err = buf_printf(e->out, "<item type='jid' value='");
    if (e->err == 0)
        e->err = xml_escape(e->out, jid, strlen(jid), true);
    if (e->err == 0)
        e->err = buf_printf(e->out, "' action='deny' order='%u'/>", ++e->order);
}

/* XEP-0227 §4.8 with the XEP-0191 §5 mapping: the block list is the
 * default privacy list, one jid/deny item per blocked JID. */
static int blocking_export(const struct data_ctx *d, const char *domain, const char *user,
                           struct buf *out)
{
    size_t mark = out->len;
    int rc = buf_append_str(out, "<query xmlns='jabber:iq:privacy'><default name='blocklist'/>"
                                 "<list name='blocklist'>");
    struct export_ctx e = {out, 0, rc};
    int n = rc ? 0 : store_blocking_list_sync(d->store, domain, user, export_one, &e);
    if (n < 0 && n != -ENOENT)
        rc = n;
    else if (e.err)
        rc = e.err;
    else if (n > 0)
        return buf_append_str(out, "</list></query>");
    out->len = mark; /* nothing blocked (no empty list), or a failure */
    if (out->data)
        out->data[mark] = '\0';
    return rc;
}

/* After the erase is committed: the in-memory list of the account, if
 * loaded, is emptied too. arg: "local\0domain". */
static void unmirror(struct server *srv, void *arg)
{
    const char *local = arg;
    struct jid acc = {.local = local, .domain = local + strlen(local) + 1};
    struct blocking *b = srv ? state_of(srv) : NULL;
    if (b)
        mirror(b, &acc, false, NULL, 0);
    free(arg);
}

static int blocking_erase(const struct data_ctx *d, const char *domain, const char *user)
{
    int rc = store_blocking_remove_sync(d->store, domain, user, NULL, 0);
    if (rc == -ENOENT)
        rc = 0;
    if (rc < 0 || !d->after)
        return rc;
    size_t lu = strlen(user), ld = strlen(domain);
    char *arg = malloc(lu + ld + 2);
    if (!arg)
        return -ENOMEM;
    memcpy(arg, user, lu + 1);
    memcpy(arg + lu + 1, domain, ld + 1);
    return data_after_add(d, unmirror, arg);
}

/* Its configuration: merged after the core's options (core/config.h),
 * in registry order, for loading, --check, init and the reference. */
static const struct config_section blocking_cfg_sections[] = {
    {"blocking", "Block lists (XEP-0191, promise P22)."},
};

static const struct config_option blocking_cfg_options[] = {
    /* blocking */
    {.key = "blocking.max_items",
     .type = CFG_INT,
     CFG_IN_INT(struct blocking_config, max_items),
     .min = 1,
     .max = 100000,
     .def = "1000",
     .help = "Most JIDs on one user's block list; blocking more is refused with "
             "resource-constraint."},
};

static const struct config_table blocking_cfg = {
    .sections = blocking_cfg_sections,
    .n_sections = sizeof blocking_cfg_sections / sizeof blocking_cfg_sections[0],
    .options = blocking_cfg_options,
    .n_options = sizeof blocking_cfg_options / sizeof blocking_cfg_options[0],
    .block_size = sizeof(struct blocking_config),
};

const struct module mod_blocking = {
    .name = "blocking",
    .id = MOD_ID_blocking,
    .session_size = sizeof(struct blocking_session),
    .state_size = sizeof(struct blocking),
    .config = &blocking_cfg,
    .migrations = store_blocking_migrations,
    .iq = blocking_iq,
    .n_iq = sizeof blocking_iq / sizeof blocking_iq[0],
    .features = blocking_features,
    .init = blocking_init,
    .fini = blocking_fini,
    .outbound = blocking_outbound,
    .inbound = blocking_inbound,
    .session_event = blocking_session_event,
    .describe = blocking_describe,
    .export_xml = blocking_export,
    .erase = blocking_erase,
    /* No sweep: a block stays until the user lifts it (XEP-0191 §3.3). */
};
