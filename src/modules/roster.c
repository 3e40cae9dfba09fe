/* Rosters (RFC 6121 §2): get (with versioning, §2.6), set, remove; the
 * rosterver and pre-approval stream features; the data contract of
 * rosters and pending subscription requests. See roster.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "modules/iq_later.h"
#include "modules/module.h"
#include "modules/roster.h"
#include "xmpp/ns.h"
#include "xmpp/router.h"

/* ---- get ---- */

struct full_ctx {
    struct stanza *st;
    struct xml_node *query;
    int err;
};

static void add_item(void *ud, const struct roster_item *it)
{
    struct full_ctx *fc = ud;
    if (!fc->err)
        fc->err = roster_item_xml(fc->st, fc->query, it, false);
}

/* The whole roster with its version (§2.1.4). */
static void send_full(const struct iq_request *rq)
{
    int64_t ver = 0;
    struct store *store = rq->srv->store;
    struct stanza *res = iq_result_new(rq->st);
    struct full_ctx fc = {res, res ? xml_add_child(res, res->root, "query", NS_ROSTER) : NULL, 0};
    char vs[24];
    int rc = fc.query ? roster_version_sync(store, rq->to->domain, rq->to->local, &ver) : -ENOMEM;
    snprintf(vs, sizeof vs, "%" PRId64, ver);
    if (rc == 0)
        rc = xml_set_attr(res, fc.query, "ver", vs);
    if (rc == 0)
        rc = roster_list_sync(store, rq->to->domain, rq->to->local, ROSTER_ITEM, add_item, &fc);
    if (rc == 0 && fc.err)
        rc = fc.err;
    if (rc < 0) {
        if (res)
            stanza_unref(res);
        iq_reply_error(rq, rc == -ENOENT ? SC_ITEM_NOT_FOUND : SC_INTERNAL_SERVER_ERROR, NULL);
        return;
    }
    iq_reply(rq, res);
}

struct change {
    char *jid;
    int64_t ver;
};

struct changes {
    struct change *v;
    size_t n, cap;
    int err;
};

static void collect_change(void *ud, const char *jid, int64_t ver)
{
    struct changes *c = ud;
    if (c->err)
        return;
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 16;
        struct change *nv = reallocarray(c->v, cap, sizeof *nv);
        if (!nv) {
            c->err = -ENOMEM;
            return;
        }
        c->v = nv;
        c->cap = cap;
    }
    if (!(c->v[c->n].jid = strdup(jid))) {
        c->err = -ENOMEM;
        return;
    }
    c->v[c->n++].ver = ver;
}

static void changes_free(struct changes *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->v[i].jid);
    free(c->v);
}

/* Each change since the client's version as one interim push (§2.6.3). */
static void push_changes(const struct iq_request *rq, const struct changes *c)
{
    for (size_t i = 0; i < c->n; i++) {
        struct roster_item it = {0};
        int rc = roster_load_sync(rq->srv->store, rq->to->domain, rq->to->local, c->v[i].jid, &it);
        bool present = rc == 0 && (it.flags & ROSTER_ITEM);
        if (!present) {
            roster_item_clear(&it);
            it.jid = c->v[i].jid; /* borrowed for the removal push */
        }
        roster_push(rq->srv, rq->to, rq->origin, &it, !present, c->v[i].ver);
        if (present)
            roster_item_clear(&it);
    }
}

/* A get with a known version: an empty result, then the changes as
 * pushes. false if the version is unknown (send the whole roster). */
static bool send_delta(const struct iq_request *rq, const char *ver)
{
    char *end;
    errno = 0;
    long long since = strtoll(ver, &end, 10);
    if (!*ver || *end || errno || since < 0 || !rq->origin)
        return false;
    struct changes c = {0};
    int rc = roster_changes_sync(rq->srv->store, rq->to->domain, rq->to->local, since,
                                 collect_change, &c);
    if (rc < 0 || c.err) {
        changes_free(&c);
        return false;
    }
    iq_reply(rq, iq_result_new(rq->st));
    push_changes(rq, &c);
    changes_free(&c);
    return true;
}

static bool own_roster(const struct iq_request *rq)
{
    return rq->to->local && jid_bare_equal(rq->from, rq->to);
}

static void roster_get(const struct iq_request *rq)
{
    if (!own_roster(rq)) {
        iq_reply_error(rq, SC_SERVICE_UNAVAILABLE, NULL);
        return;
    }
    if (xml_child(rq->payload, "item", NULL)) {
        iq_reply_error(rq, SC_BAD_REQUEST, NULL); /* §2.1.3: no items in a get */
        return;
    }
    if (rq->origin)
        ((struct roster_session *)session_ctx(rq->origin, &mod_roster))->requested = true;
    const char *ver = xml_attr(rq->payload, "ver");
    if (!ver || !send_delta(rq, ver))
        send_full(rq);
}

/* ---- set ---- */

/* A roster set's item, checked (§2.3.3) and owning nothing: strings point
 * into the request. */
struct set_req {
    struct jid jid;
    char jid_s[BARE_MAX + JID_PART_MAX + 1];
    const char *name;
    const char *groups[1000];
    size_t ngroups;
    bool remove;
};

/* §2.3.3: duplicates compared as resourceparts (RFC 7622's suggestion). */
static bool group_dup(const char *a, const char *b)
{
    char pa[JID_PART_MAX + 1], pb[JID_PART_MAX + 1];
    if (jid_prep_resource(a, pa, sizeof pa) < 0 || jid_prep_resource(b, pb, sizeof pb) < 0)
        return strcmp(a, b) == 0;
    return strcmp(pa, pb) == 0;
}

static enum stanza_cond check_groups(const struct iq_request *rq, const struct xml_node *item,
                                     struct set_req *r)
{
    const struct config *cfg = rq->srv->cfg;
    size_t max = cfg->roster_max_groups < 1000 ? cfg->roster_max_groups : 1000;
    for (const struct xml_node *g = xml_first_elem(item); g; g = xml_next_elem(g)) {
        if (strcmp(g->name, "group") != 0 || strcmp(g->ns, NS_ROSTER) != 0)
            continue;
        const char *text = xml_text((struct stanza *)rq->st, g);
        if (!text)
            return SC_INTERNAL_SERVER_ERROR;
        size_t len = strlen(text);
        if (len == 0 || len > cfg->roster_max_group_length || r->ngroups >= max)
            return SC_NOT_ACCEPTABLE;
        for (size_t i = 0; i < r->ngroups; i++)
            if (group_dup(r->groups[i], text))
                return SC_BAD_REQUEST;
        r->groups[r->ngroups++] = text;
    }
    return SC_UNDEFINED_CONDITION; /* no error */
}

/* Checks the request; returns SC_UNDEFINED_CONDITION when it is good. */
static enum stanza_cond check_set(const struct iq_request *rq, struct set_req *r)
{
    const struct xml_node *item = xml_first_elem(rq->payload);
    if (!item || xml_next_elem(item) || strcmp(item->name, "item") != 0 ||
        strcmp(item->ns, NS_ROSTER) != 0)
        return SC_BAD_REQUEST;
    const char *jid = xml_attr(item, "jid");
    if (!jid || jid_parse(&r->jid, jid, strlen(jid)) < 0)
        return SC_BAD_REQUEST;
    if (jid_format(&r->jid, false, r->jid_s, sizeof r->jid_s) >= sizeof r->jid_s)
        return SC_BAD_REQUEST;
    if (jid_bare_equal(&r->jid, rq->to) && !r->jid.resource)
        return SC_NOT_ALLOWED; /* §2.3.3 interop note: not oneself */
    const char *sub = xml_attr(item, "subscription");
    r->remove = sub && strcmp(sub, "remove") == 0;
    /* Deviation: RFC 6121 §2.1.5 says to ignore other values; this server
     * refuses those that would grant or claim a subscription without the
     * handshake, and tolerates the default 'none'. */
    if (sub && !r->remove && strcmp(sub, "none") != 0)
        return SC_NOT_ALLOWED;
    r->name = xml_attr(item, "name");
    if (r->name && strlen(r->name) > rq->srv->cfg->roster_max_name_length)
        return SC_NOT_ACCEPTABLE;
    if (r->name && !*r->name)
        r->name = NULL;
    return r->remove ? SC_UNDEFINED_CONDITION : check_groups(rq, item, r);
}

/* The answer to a roster set, after its commit (and push). */
static void set_done(void *ud, int rc)
{
    struct iq_later *l = ud;
    if (rc < 0)
        iq_later_error(l, SC_INTERNAL_SERVER_ERROR, NULL);
    else
        iq_later_result(l);
    iq_later_free(l);
}

/* Commits it (the row was before) and answers rq after the commit. false
 * (rq answered with an error) if the write could not be queued. */
static bool commit_and_answer(const struct iq_request *rq, const struct roster_item *it,
                              unsigned before)
{
    struct server *srv = rq->srv;
    struct iq_later *l = iq_later_new(rq);
    int rc = l ? roster_commit(srv, srv->store, srv->cfg, rq->to, it, before, true, set_done, l)
               : -ENOMEM;
    if (rc < 0) {
        iq_later_free(l);
        iq_reply_error(rq, rc == -EAGAIN ? SC_RESOURCE_CONSTRAINT : SC_INTERNAL_SERVER_ERROR, NULL);
    }
    return rc == 0;
}

/* §2.5.2: removing a contact cancels subscriptions both ways. */
static void remove_item(const struct iq_request *rq, struct set_req *r)
{
    struct server *srv = rq->srv;
    struct roster_item old;
    int rc = roster_load(srv, srv->store, rq->to, r->jid_s, &old);
    if (rc < 0 || !(old.flags & ROSTER_ITEM)) {
        if (rc == 0)
            roster_item_clear(&old);
        iq_reply_error(rq, rc == 0 || rc == -ENOENT ? SC_ITEM_NOT_FOUND : SC_INTERNAL_SERVER_ERROR,
                       NULL);
        return;
    }
    unsigned f = old.flags;
    roster_item_clear(&old);
    struct roster_item gone = {.jid = r->jid_s, .flags = 0};
    if (!commit_and_answer(rq, &gone, f))
        return;
    /* The contact learns it at once; the client's answer follows the commit. */
    if (f & ROSTER_FROM)
        presence_send_unavailable(srv, rq->to, r->jid_s);
    if (f & (ROSTER_TO | ROSTER_ASK))
        sub_send(srv, rq->to, r->jid_s, "unsubscribe", NULL);
    if (f & (ROSTER_FROM | ROSTER_PENDING_IN))
        sub_send(srv, rq->to, r->jid_s, "unsubscribed", NULL);
}

/* Adds or updates the item, keeping its subscription state. */
static void update_item(const struct iq_request *rq, struct set_req *r)
{
    struct server *srv = rq->srv;
    struct roster_item it = {0};
    int rc = roster_load(srv, srv->store, rq->to, r->jid_s, &it);
    unsigned flags = rc == 0 ? it.flags : 0;
    roster_item_clear(&it);
    if (rc < 0 && rc != -ENOENT) {
        iq_reply_error(rq, SC_INTERNAL_SERVER_ERROR, NULL);
        return;
    }
    size_t n = 0;
    if (!(flags & ROSTER_ITEM) &&
        (roster_count(srv, rq->to, ROSTER_ITEM, &n) < 0 || n >= srv->cfg->roster_max_items)) {
        iq_reply_error(rq, SC_POLICY_VIOLATION, "Too many contacts");
        return;
    }
    struct roster_item put = {.jid = r->jid_s,
                              .name = (char *)r->name,
                              .groups = (char **)r->groups,
                              .ngroups = r->ngroups,
                              .flags = flags | ROSTER_ITEM};
    commit_and_answer(rq, &put, flags);
}

static void roster_set(const struct iq_request *rq)
{
    if (!own_roster(rq)) {
        iq_reply_error(rq, SC_FORBIDDEN, NULL); /* §2.1.5 */
        return;
    }
    struct set_req *r = calloc(1, sizeof *r);
    if (!r) {
        iq_reply_error(rq, SC_INTERNAL_SERVER_ERROR, NULL);
        return;
    }
    enum stanza_cond c = check_set(rq, r);
    if (c != SC_UNDEFINED_CONDITION)
        iq_reply_error(rq, c, NULL);
    else if (r->remove)
        remove_item(rq, r);
    else
        update_item(rq, r);
    jid_free(&r->jid);
    free(r);
}

/* ---- the module ---- */

static int roster_init(struct server *srv, void *state)
{
    (void)srv;
    roster_cache_init(state);
    return 0;
}

static void roster_fini(struct server *srv, void *state)
{
    (void)srv;
    roster_cache_fini(state);
}

/* §2.6.1 and §3.4: both informative. */
static int roster_features(struct server *srv, void *state, struct buf *out)
{
    (void)srv, (void)state;
    return buf_append_str(out, "<ver xmlns='" NS_ROSTER_VER "'/><sub xmlns='" NS_PREAPPROVAL "'/>");
}

/* ---- data contract ---- */

static int roster_describe(const struct data_ctx *d, const char *domain, const char *user,
                           data_fact_fn fn, void *ud)
{
    size_t items = 0, pending = 0;
    int rc = roster_count_sync(d->store, domain, user, ROSTER_ITEM, &items);
    if (rc == 0)
        rc = roster_count_sync(d->store, domain, user, ROSTER_PENDING_IN, &pending);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    struct data_fact f = {
        .kind = "roster",
        .what = {"Your contact list (RFC 6121): each contact's address, the name and groups "
                 "you gave it, and who sees whose presence.",
                 "Ihre Kontaktliste (RFC 6121): die Adresse jedes Kontakts, der Name und die "
                 "Gruppen, die Sie vergeben haben, und wer wessen Status sieht."},
        .unit = {"contacts", "Kontakte"},
        .count = items,
        .keep = KEEP_WHILE_ACCOUNT,
    };
    if (items > 0 && (rc = fn(ud, &f)) < 0)
        return rc;
    struct data_fact p = {
        .kind = "subscription-requests",
        .what = {"Requests to see your presence that await your answer: the sender and the "
                 "text sent with the request.",
                 "Anfragen, Ihren Status sehen zu dürfen, die auf Ihre Antwort warten: der "
                 "Absender und der mitgesendete Text."},
        .unit = {"requests", "Anfragen"},
        .count = pending,
        .keep = KEEP_WHILE_ACCOUNT,
    };
    return pending > 0 ? fn(ud, &p) : 0;
}

struct export_ctx {
    struct stanza *st;
    struct xml_node *query;
    struct xml_node *user;
    int err;
};

/* XEP-0227: roster items in a jabber:iq:roster query; pending requests as
 * the subscribe presence stanzas they were. */
static void export_one(void *ud, const struct roster_item *it)
{
    struct export_ctx *ec = ud;
    if (ec->err)
        return;
    if (it->flags & ROSTER_ITEM)
        ec->err = roster_item_xml(ec->st, ec->query, it, false);
    if (ec->err || !(it->flags & ROSTER_PENDING_IN))
        return;
    struct xml_node *p = xml_add_child(ec->st, ec->user, "presence", NS_CLIENT);
    if (!p || xml_set_attr(ec->st, p, "from", it->jid) < 0 ||
        xml_set_attr(ec->st, p, "type", "subscribe") < 0 ||
        (it->status && xml_add_text_elem(ec->st, p, "status", it->status) < 0))
        ec->err = -ENOMEM;
}

static int roster_export(const struct data_ctx *d, const char *domain, const char *user,
                         struct buf *out)
{
    /* A scratch wrapper holds the query and the presence stanzas; only
     * its children are written. */
    struct stanza *st = stanza_new("user", "urn:xmpp:pie:0");
    struct export_ctx ec = {st, NULL, st ? st->root : NULL, 0};
    if (!st || !(ec.query = xml_add_child(st, st->root, "query", NS_ROSTER))) {
        if (st)
            stanza_unref(st);
        return -ENOMEM;
    }
    int rc = roster_list_sync(d->store, domain, user, 0, export_one, &ec);
    if (rc == 0)
        rc = ec.err;
    for (struct xml_node *n = xml_first_elem(st->root); rc == 0 && n; n = xml_next_elem(n))
        rc = xml_serialize(n, "urn:xmpp:pie:0", out);
    stanza_unref(st);
    return rc == -ENOENT ? 0 : rc;
}

struct holders {
    char (*users)[JID_PART_MAX + 1];
    char (*domains)[JID_PART_MAX + 1];
    size_t n, cap;
    int err;
};

static void collect_holder(void *ud, const char *domain, const char *user)
{
    struct holders *h = ud;
    if (h->err || strlen(domain) > JID_PART_MAX || strlen(user) > JID_PART_MAX)
        return;
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 8;
        void *u = reallocarray(h->users, cap, sizeof *h->users);
        if (u)
            h->users = u;
        void *dm = u ? reallocarray(h->domains, cap, sizeof *h->domains) : NULL;
        if (!dm) {
            h->err = -ENOMEM;
            return;
        }
        h->domains = dm;
        h->cap = cap;
    }
    strcpy(h->users[h->n], user);
    strcpy(h->domains[h->n++], domain);
}

/* What a running server does once the removal of the erased user from
 * one other roster is committed: the holder's cached flags, its roster
 * push, and the unavailable presence it would have had. */
struct erased_contact {
    unsigned flags; /* the row's before the removal */
    int64_t ver;
    const char *holder_domain, *holder_local, *gone_domain, *gone_local, *gone;
    char strings[]; /* the five strings */
};

static void erased_live(struct server *srv, void *arg)
{
    struct erased_contact *e = arg;
    struct jid holder = {.local = e->holder_local, .domain = e->holder_domain};
    struct jid gone = {.local = e->gone_local, .domain = e->gone_domain};
    char to[BARE_MAX];
    if (srv) {
        roster_cache_note(srv, &holder, e->gone, 0);
        struct roster_item del = {.jid = (char *)e->gone};
        if (e->flags & ROSTER_ITEM)
            roster_push(srv, &holder, NULL, &del, true, e->ver);
        if ((e->flags & ROSTER_TO) && roster_bare(&holder, to))
            sub_send(srv, &gone, to, "unavailable", NULL);
    }
    free(e);
}

static int defer_erased(const struct data_ctx *d, const struct jid *holder,
                        const struct jid *gone_jid, const char *gone, unsigned flags, int64_t ver)
{
    const char *parts[] = {holder->domain, holder->local, gone_jid->domain, gone_jid->local, gone};
    size_t len[5], total = 0;
    for (int i = 0; i < 5; i++)
        total += (len[i] = strlen(parts[i])) + 1;
    struct erased_contact *e = malloc(sizeof *e + total);
    if (!e)
        return -ENOMEM;
    e->flags = flags;
    e->ver = ver;
    const char **field[] = {&e->holder_domain, &e->holder_local, &e->gone_domain, &e->gone_local,
                            &e->gone};
    char *at = e->strings;
    for (int i = 0; i < 5; i++) {
        memcpy(at, parts[i], len[i] + 1);
        *field[i] = at;
        at += len[i] + 1;
    }
    return data_after_add(d, erased_live, e);
}

/* Takes the erased user out of one other local roster: the store row
 * (versioned if it was an item, so the holder's clients learn of it), and
 * for a running server, after the commit, the push and the unavailable
 * presence (defer_erased). */
static int erase_from(const struct data_ctx *d, const struct jid *holder, const char *gone,
                      const struct jid *gone_jid)
{
    struct roster_item old;
    int rc = roster_load_sync(d->store, holder->domain, holder->local, gone, &old);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    unsigned f = old.flags;
    roster_item_clear(&old);
    int64_t ver = 0;
    rc = roster_delete_sync(d->store, holder->domain, holder->local, gone, (f & ROSTER_ITEM) != 0,
                            d->cfg->roster_version_log, &ver);
    if (rc == -ENOENT)
        return 0;
    if (rc == 0 && d->after)
        rc = defer_erased(d, holder, gone_jid, gone, f, ver);
    return rc;
}

static int roster_erase(const struct data_ctx *d, const char *domain, const char *user)
{
    char gone[BARE_MAX];
    struct jid gj = {.local = user, .domain = domain};
    if (!roster_bare(&gj, gone))
        return -EINVAL;
    struct holders h = {0};
    int rc = roster_holders_sync(d->store, gone, collect_holder, &h);
    if (rc == 0)
        rc = h.err;
    for (size_t i = 0; rc == 0 && i < h.n; i++) {
        struct jid holder = {.local = h.users[i], .domain = h.domains[i]};
        rc = erase_from(d, &holder, gone, &gj);
    }
    free(h.users);
    free(h.domains);
    return rc == 0 ? roster_erase_sync(d->store, domain, user) : rc;
}

static const struct iq_handler roster_iq[] = {
    {NS_ROSTER, "query", IQ_GET, IQ_TO_ACCOUNT, NULL, roster_get},
    {NS_ROSTER, "query", IQ_SET, IQ_TO_ACCOUNT, NULL, roster_set},
};

/* Its configuration: merged after the core's options (core/config.h),
 * in registry order, for loading, --check, init and the reference. */
static const struct config_section roster_cfg_sections[] = {
    {"roster", "Contact lists (RFC 6121, promise P5): kept until the user removes a "
               "contact or deletes the account."},
};

static const struct config_option roster_cfg_options[] = {
    /* roster */
    {.key = "roster.max_items",
     .type = CFG_INT,
     CFG_AS_INT(roster_max_items),
     .min = 1,
     .max = 100000,
     .def = "1000",
     .help = "Most contacts in one user's roster; adding more is refused with "
             "policy-violation."},
    {.key = "roster.max_name_length",
     .type = CFG_INT,
     CFG_AS_INT(roster_max_name_length),
     .min = 1,
     .max = 4096,
     .def = "256",
     .help = "Longest contact name (handle) in bytes; longer is refused with not-acceptable."},
    {.key = "roster.max_groups",
     .type = CFG_INT,
     CFG_AS_INT(roster_max_groups),
     .min = 1,
     .max = 1000,
     .def = "32",
     .help = "Most groups one contact can be in; more is refused with not-acceptable."},
    {.key = "roster.max_group_length",
     .type = CFG_INT,
     CFG_AS_INT(roster_max_group_length),
     .min = 1,
     .max = 4096,
     .def = "256",
     .help = "Longest group name in bytes; longer is refused with not-acceptable."},
    {.key = "roster.max_pending",
     .type = CFG_INT,
     CFG_AS_INT(roster_max_pending),
     .min = 1,
     .max = 100000,
     .def = "100",
     .help = "Most unanswered subscription requests kept for one user; further "
             "requests are dropped until the user answers some."},
    {.key = "roster.version_log",
     .type = CFG_INT,
     CFG_AS_INT(roster_version_log),
     .min = 1,
     .max = 100000,
     .def = "200",
     .help = "Roster changes remembered per user for versioned roster requests; a client "
             "whose cached version is older gets the whole roster."},
};

static const struct config_table roster_cfg = {
    .sections = roster_cfg_sections,
    .n_sections = sizeof roster_cfg_sections / sizeof roster_cfg_sections[0],
    .options = roster_cfg_options,
    .n_options = sizeof roster_cfg_options / sizeof roster_cfg_options[0],
};

const struct module mod_roster = {
    .name = "roster",
    .id = MOD_ID_roster,
    .state_size = sizeof(struct roster_cache),
    .session_size = sizeof(struct roster_session),
    .config = &roster_cfg,
    .migrations = store_roster_migrations,
    .iq = roster_iq,
    .n_iq = sizeof roster_iq / sizeof roster_iq[0],
    .init = roster_init,
    .fini = roster_fini,
    .stream_features = roster_features,
    .describe = roster_describe,
    .export_xml = roster_export,
    .erase = roster_erase,
};
