/* The router: sessions by bare JID (owned here, with the modules' slots),
 * where a JID is (router_resolve), and RFC 6120 §10 / RFC 6121 §8
 * delivery rules for the server, accounts and full JIDs. */
#include "xmpp/router.h"

#include <errno.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/hmap.h"
#include "core/log.h"
#include "core/server.h"
#include "xmpp/hosts.h"

#define ROUTER_MAX_TRANSPORTS 4

/* A session as the router keeps it: the public part first, so that a
 * struct session * is also a struct rsession *; the slots follow. */
struct rsession {
    struct session s;
    struct rsession *next; /* the account's other resources */
    bool bound;
};

struct account {
    char *bare; /* hmap key */
    struct rsession *head;
    size_t n;
};

struct router {
    struct server *srv;
    struct hmap accounts; /* bare JID -> struct account */
    size_t nsessions;
    const struct router_hooks *hooks;
    struct session_layout layout;
    const struct router_transport *transports[ROUTER_MAX_TRANSPORTS];
    size_t ntransports;
};

static const struct router_hooks no_hooks;

#define RS(sp) ((struct rsession *)(sp))
#define SLOT_ALIGN alignof(max_align_t)

static size_t align_up(size_t n) { return (n + SLOT_ALIGN - 1) / SLOT_ALIGN * SLOT_ALIGN; }

struct router *router_new(struct server *srv)
{
    struct router *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->srv = srv;
    r->hooks = &no_hooks;
    hmap_init(&r->accounts);
    return r;
}

void router_free(struct router *r)
{
    if (!r)
        return;
    const char *k;
    void *v;
    for (size_t i = 0; (i = hmap_next(&r->accounts, i, &k, &v)) != 0;) {
        struct account *a = v;
        /* Owned here: none should be left, but none leaks if one is. */
        for (struct rsession *rs = a->head, *next; rs; rs = next) {
            next = rs->next;
            router_session_free(r, &rs->s);
        }
        free(a->bare);
        free(a);
    }
    hmap_free(&r->accounts);
    free(r);
}

void router_set_hooks(struct router *r, const struct router_hooks *h)
{
    r->hooks = h ? h : &no_hooks;
}

int router_set_slots(struct router *r, const size_t *sizes, size_t n)
{
    if (n > SESSION_MAX_SLOTS)
        return -EINVAL;
    if (r->nsessions)
        return -EBUSY; /* their slots are laid out already */
    struct session_layout l = {.n = n};
    size_t at = align_up(sizeof(struct rsession));
    for (size_t i = 0; i < n; i++) {
        if (!sizes[i])
            continue;
        l.off[i] = at;
        at += align_up(sizes[i]);
    }
    l.size = at - align_up(sizeof(struct rsession));
    r->layout = l;
    return 0;
}

int router_add_transport(struct router *r, const struct router_transport *t)
{
    if (r->ntransports == ROUTER_MAX_TRANSPORTS)
        return -ENOBUFS;
    r->transports[r->ntransports++] = t;
    return 0;
}

/* ---- sessions ---- */

struct session *router_session_new(struct router *r, const struct jid *full,
                                   const struct session_ops *ops, void *transport)
{
    struct rsession *rs = calloc(1, align_up(sizeof *rs) + r->layout.size);
    if (!rs)
        return NULL;
    struct session *s = &rs->s;
    if (jid_copy(&s->jid, full) < 0) {
        free(rs);
        return NULL;
    }
    if (!s->jid.resource || !(s->bare = jid_to_string(&s->jid, true)) ||
        !(s->full = jid_to_string(&s->jid, false))) {
        router_session_free(r, s);
        return NULL;
    }
    s->ops = ops;
    s->transport = transport;
    s->id = ++r->srv->next_id;
    s->layout = &r->layout;
    return s;
}

void router_session_free(struct router *r, struct session *s)
{
    (void)r;
    if (!s)
        return;
    jid_free(&s->jid);
    free(s->bare);
    free(s->full);
    free(RS(s));
}

static struct account *account_get_or_add(struct router *r, const char *bare)
{
    struct account *a = hmap_get(&r->accounts, bare);
    if (a)
        return a;
    a = calloc(1, sizeof *a);
    if (!a || !(a->bare = strdup(bare)) || hmap_put(&r->accounts, a->bare, a) < 0) {
        if (a)
            free(a->bare);
        free(a);
        return NULL;
    }
    return a;
}

/* Takes rs out of its account's list; the account stays, even empty. */
static void unlink_session(struct router *r, struct account *a, struct rsession *rs)
{
    for (struct rsession **p = &a->head; *p; p = &(*p)->next) {
        if (*p == rs) {
            *p = rs->next;
            rs->next = NULL;
            rs->bound = false;
            a->n--;
            r->nsessions--;
            return;
        }
    }
}

static void unregister(struct router *r, struct rsession *rs)
{
    struct account *a = hmap_get(&r->accounts, rs->s.bare);
    if (!a || !rs->bound)
        return;
    unlink_session(r, a, rs);
    if (!a->head) {
        hmap_del(&r->accounts, a->bare);
        free(a->bare);
        free(a);
    }
}

/* The account entry first: if it cannot be had, nothing has changed (the
 * session it would replace stays routable). */
int router_bind(struct router *r, struct session *s, struct session **replaced)
{
    struct account *a = account_get_or_add(r, s->bare);
    *replaced = a ? router_session_full(r, &s->jid) : NULL;
    if (!a)
        return -ENOMEM;
    if (*replaced)
        unlink_session(r, a, RS(*replaced));
    RS(s)->next = a->head;
    RS(s)->bound = true;
    a->head = RS(s);
    a->n++;
    r->nsessions++;
    return 0;
}

void router_unbind(struct router *r, struct session *s)
{
    unregister(r, RS(s));
    router_session_free(r, s);
}

/* ---- where is a JID? ---- */

static struct account *account_of(struct router *r, const char *bare)
{
    return hmap_get(&r->accounts, bare);
}

struct session *router_session_full(struct router *r, const struct jid *full)
{
    char bare[3 * (JID_PART_MAX + 1)];
    if (!full->resource || jid_format(full, true, bare, sizeof bare) >= sizeof bare)
        return NULL;
    struct account *a = account_of(r, bare);
    for (struct rsession *rs = a ? a->head : NULL; rs; rs = rs->next)
        if (strcmp(rs->s.jid.resource, full->resource) == 0)
            return &rs->s;
    return NULL;
}

size_t router_count(struct router *r, const char *bare)
{
    struct account *a = account_of(r, bare);
    return a ? a->n : 0;
}

bool router_is_last(struct router *r, const struct session *s)
{
    struct account *a = account_of(r, s->bare);
    return !a || (a->n == 1 && &a->head->s == s);
}

size_t router_session_count(const struct router *r) { return r->nsessions; }

/* What kind of domain is this? The hosts table (xmpp/hosts.h) says, here
 * and only here: local accounts, a component, or (unknown) remote. */
static enum route_kind domain_kind(struct router *r, const char *domain, struct host **host)
{
    *host = hosts_find(r->srv->hosts, domain);
    switch (*host ? host_kind(*host) : HOST_REMOTE) {
    case HOST_LOCAL: return ROUTE_SERVER;
    case HOST_COMPONENT: return ROUTE_COMPONENT;
    default: return ROUTE_REMOTE;
    }
}

/* RFC 6121 §8.5.1: does the account exist? One with a session does;
 * otherwise the account service is asked. */
static bool account_exists(struct router *r, const struct jid *to)
{
    if (!r->hooks->account_exists)
        return true;
    return r->hooks->account_exists(r->srv, to->domain, to->local) != 0;
}

enum route_kind router_resolve(struct router *r, const struct jid *to, struct route *out)
{
    *out = (struct route){0};
    out->kind = domain_kind(r, to->domain, &out->host);
    if (out->kind != ROUTE_SERVER || !to->local)
        return out->kind;
    char bare[3 * (JID_PART_MAX + 1)];
    if (jid_format(to, true, bare, sizeof bare) >= sizeof bare)
        return out->kind = ROUTE_NOBODY;
    out->count = router_count(r, bare);
    if (!out->count && !account_exists(r, to))
        return out->kind = ROUTE_NOBODY;
    if (to->resource && (out->session = router_session_full(r, to)))
        return out->kind = ROUTE_SESSION;
    return out->kind = !to->resource && out->count ? ROUTE_SESSIONS : ROUTE_ACCOUNT;
}

/* ---- delivery ---- */

size_t router_each(struct router *r, const char *bare, void (*fn)(struct session *s, void *ud),
                   void *ud)
{
    struct account *a = account_of(r, bare);
    size_t n = 0;
    for (struct rsession *rs = a ? a->head : NULL, *next; rs; rs = next, n++) {
        next = rs->next;
        fn(&rs->s, ud);
    }
    return n;
}

void router_foreach(struct router *r, void (*fn)(struct session *s, void *ud), void *ud)
{
    const char *k;
    void *v;
    for (size_t i = 0; (i = hmap_next(&r->accounts, i, &k, &v)) != 0;)
        for (struct rsession *rs = ((struct account *)v)->head, *n; rs; rs = n) {
            n = rs->next;
            fn(&rs->s, ud);
        }
}

size_t router_deliver_if(struct router *r, const char *bare, struct stanza *st,
                         bool (*want)(const struct session *s, void *ud), void *ud)
{
    struct account *a = account_of(r, bare);
    size_t n = 0;
    for (struct rsession *rs = a ? a->head : NULL, *next; rs; rs = next) {
        next = rs->next;
        if (want(&rs->s, ud) && rs->s.ops->deliver(&rs->s, st) == 0)
            n++;
    }
    return n;
}

static bool is_available(const struct session *s, void *ud)
{
    (void)ud;
    return s->available;
}

size_t router_deliver_available(struct router *r, const char *bare, struct stanza *st)
{
    return router_deliver_if(r, bare, st, is_available, NULL);
}

size_t router_kick_account(struct router *r, const char *domain, const char *user,
                           enum stream_cond cond, const char *text)
{
    size_t n = 0;
    char bare[3 * (JID_PART_MAX + 1)];
    struct jid j = {.local = (char *)user, .domain = (char *)domain};
    if (jid_format(&j, true, bare, sizeof bare) < sizeof bare) {
        /* A kick unbinds (and frees) that session only, and the account
         * after its last one: next is taken before. */
        struct account *a = account_of(r, bare);
        for (struct rsession *rs = a ? a->head : NULL, *next; rs; rs = next) {
            next = rs->next;
            n += (size_t)rs->s.ops->kick(&rs->s, cond, text);
        }
    }
    for (size_t i = 0; i < r->ntransports; i++)
        n += r->transports[i]->kick_unbound(r->srv, domain, user, cond, text);
    return n;
}

void router_error(struct server *srv, const struct stanza *orig, enum stanza_cond c,
                  const char *text)
{
    router_send(srv, stanza_error_reply(orig, c, text));
}

static const char *type_of(const struct stanza *st)
{
    const char *t = xml_attr(st->root, "type");
    return t ? t : "";
}

static bool is_iq_request(const struct stanza *st)
{
    const char *t = type_of(st);
    return strcmp(t, "get") == 0 || strcmp(t, "set") == 0;
}

static enum hook_result run_hooks(enum hook_kind kind, struct hook_ctx *hc)
{
    struct router *r = hc->srv->router;
    return r->hooks->run ? r->hooks->run(kind, hc) : HOOK_PASS;
}

/* An iq get or set for target: its handler, or service-unavailable. */
static void dispatch_iq(struct hook_ctx *hc, unsigned target)
{
    struct router *r = hc->srv->router;
    if (!r->hooks->iq || r->hooks->iq(hc, target) == -ENOENT)
        router_error(hc->srv, hc->st, SC_SERVICE_UNAVAILABLE, NULL);
}

static void to_server(struct hook_ctx *hc)
{
    if (hc->kind != STANZA_IQ || !is_iq_request(hc->st))
        return; /* results, errors, messages and presence to the server: nothing to do yet */
    dispatch_iq(hc, IQ_TO_SERVER);
}

/* RFC 6121 §5.2.2: a missing or unknown type is "normal". */
enum msg_type { MT_NORMAL, MT_CHAT, MT_GROUPCHAT, MT_HEADLINE, MT_ERROR };

static enum msg_type message_type(const struct stanza *st)
{
    const char *t = type_of(st);
    return strcmp(t, "chat") == 0        ? MT_CHAT
           : strcmp(t, "groupchat") == 0 ? MT_GROUPCHAT
           : strcmp(t, "headline") == 0  ? MT_HEADLINE
           : strcmp(t, "error") == 0     ? MT_ERROR
                                         : MT_NORMAL;
}

/* RFC 6121 §8.5.2.2.1 (and §8.5.2.1.1 when every available resource has a
 * negative priority): chat and normal go to offline storage or bounce;
 * groupchat bounces; headline and error are dropped. */
static void message_unavailable(struct hook_ctx *hc, enum msg_type mt)
{
    if (mt == MT_HEADLINE || mt == MT_ERROR)
        return;
    if (mt != MT_GROUPCHAT && run_hooks(HOOK_UNDELIVERABLE, hc) == HOOK_HANDLED)
        return;
    router_error(hc->srv, hc->st, SC_SERVICE_UNAVAILABLE, NULL);
}

struct best {
    int priority;
    enum msg_type mt;
};

static void find_best(struct session *s, void *ud)
{
    struct best *b = ud;
    if (s->available && s->priority >= 0 && s->priority > b->priority)
        b->priority = s->priority;
}

static bool is_chosen(const struct session *s, void *ud)
{
    const struct best *b = ud;
    return s->available && s->priority >= 0 && (b->mt == MT_HEADLINE || s->priority == b->priority);
}

/* RFC 6121 §8.5.2.1.1: normal and chat go to the available resources with
 * the highest non-negative priority (all of them, as most servers do);
 * headline to every non-negative one; groupchat bounces, error is dropped.
 * A resource with a negative priority never gets a message to the bare
 * JID; if only such resources exist, it is as if none were available. */
static void message_to_bare(struct hook_ctx *hc, const char *bare)
{
    struct router *r = hc->srv->router;
    struct best b = {-1, message_type(hc->st)};
    if (b.mt == MT_ERROR)
        return;
    if (b.mt == MT_GROUPCHAT) {
        router_error(hc->srv, hc->st, SC_SERVICE_UNAVAILABLE, NULL);
        return;
    }
    router_each(r, bare, find_best, &b);
    if (b.priority < 0)
        message_unavailable(hc, b.mt);
    else
        router_deliver_if(r, bare, hc->st, is_chosen, &b);
}

void router_deliver_bare(struct hook_ctx *hc)
{
    char bare[3 * (JID_PART_MAX + 1)];
    if (jid_format(hc->to, true, bare, sizeof bare) >= sizeof bare)
        return;
    switch (hc->kind) {
    case STANZA_MESSAGE: message_to_bare(hc, bare); break;
    case STANZA_PRESENCE:
        /* Subscriptions and probes belong to the presence module (its
         * inbound hook); other presence reaches every available resource
         * (§8.5.2.1.2) and is dropped if there is none (§8.5.2.2.2). */
        router_deliver_available(hc->srv->router, bare, hc->st);
        break;
    case STANZA_IQ:
        if (is_iq_request(hc->st))
            dispatch_iq(hc, IQ_TO_ACCOUNT);
        break;
    default: break;
    }
}

/* RFC 6121 §8.5.3.2: no session has that full JID. Only chat falls back to
 * the bare JID (and so to offline storage); normal, groupchat and headline
 * are "silently ignore or bounce" (§8.5.3.2.1): we bounce normal and
 * groupchat, so the sender learns the resource is gone, and drop headline,
 * which is time-sensitive by nature. */
static void to_missing_resource(struct hook_ctx *hc)
{
    struct server *srv = hc->srv;
    struct stanza *st = hc->st;
    switch (hc->kind) {
    case STANZA_MESSAGE:
        switch (message_type(st)) {
        case MT_CHAT: router_deliver_bare(hc); break;
        case MT_NORMAL:
        case MT_GROUPCHAT: router_error(srv, st, SC_SERVICE_UNAVAILABLE, NULL); break;
        default: break; /* headline, error */
        }
        break;
    case STANZA_IQ:
        if (is_iq_request(st))
            router_error(srv, st, SC_SERVICE_UNAVAILABLE, NULL);
        break;
    default: break; /* presence to a gone resource is dropped */
    }
}

/* RFC 6121 §8.5.1: iq requests and messages bounce with
 * service-unavailable (except headline and error, which are dropped);
 * presence, probes included, is ignored. Nothing reaches a module. */
static void to_missing_account(struct server *srv, struct stanza *st)
{
    enum stanza_kind k = stanza_kind(st->root);
    if (k == STANZA_IQ && is_iq_request(st))
        router_error(srv, st, SC_SERVICE_UNAVAILABLE, NULL);
    else if (k == STANZA_MESSAGE && message_type(st) != MT_HEADLINE && message_type(st) != MT_ERROR)
        router_error(srv, st, SC_SERVICE_UNAVAILABLE, NULL);
}

/* An existing local account: inbound hooks, then the full JID's session
 * or the bare JID's choice. */
static void to_account(struct hook_ctx *hc)
{
    if (run_hooks(HOOK_INBOUND, hc) == HOOK_HANDLED)
        return; /* blocked, a subscription handled, ... */
    if (!hc->to->resource) {
        router_deliver_bare(hc);
        return;
    }
    /* Looked up again: a hook may have ended sessions. */
    struct session *s = router_session_full(hc->srv->router, hc->to);
    if (s)
        s->ops->deliver(s, hc->st);
    else
        to_missing_resource(hc);
}

void router_route(struct server *srv, struct stanza *st, const struct jid *from,
                  const struct jid *to, struct session *origin)
{
    struct jid own = {0};
    bool no_to = !to;
    if (no_to) {
        /* RFC 6120 §10.3: handled on behalf of the sender's account. */
        if (jid_bare(&own, from) < 0)
            return;
        to = &own;
    }
    struct hook_ctx hc = {srv, NULL, st, stanza_kind(st->root), from, to, no_to, origin};
    struct route rt;
    if (origin && run_hooks(HOOK_OUTBOUND, &hc) == HOOK_HANDLED) {
        /* a module answered, stored or forwarded it */
    } else {
        switch (router_resolve(srv->router, to, &rt)) {
        case ROUTE_COMPONENT:
            /* RFC 6120 §10.5: a local service takes its own stanzas; while
             * it is not connected, as if there were no such entity. */
            if (host_deliver(rt.host, st) < 0)
                to_missing_account(srv, st);
            break;
        case ROUTE_REMOTE:
            /* Server-to-server comes with the s2s issue. */
            router_error(srv, st, SC_REMOTE_SERVER_NOT_FOUND, NULL);
            break;
        case ROUTE_SERVER: to_server(&hc); break;
        case ROUTE_NOBODY: to_missing_account(srv, st); break;
        case ROUTE_SESSION:
        case ROUTE_SESSIONS:
        case ROUTE_ACCOUNT: to_account(&hc); break;
        }
    }
    jid_free(&own);
}

void router_send(struct server *srv, struct stanza *st)
{
    if (!st)
        return;
    const char *to_s = xml_attr(st->root, "to");
    const char *from_s = xml_attr(st->root, "from");
    struct jid to = {0}, from = {0};
    if (!to_s || jid_parse(&to, to_s, strlen(to_s)) < 0) {
        log_debug("router: dropping a server stanza without a valid 'to'");
    } else {
        const char *f = from_s ? from_s : to.domain;
        if (jid_parse(&from, f, strlen(f)) == 0)
            router_route(srv, st, &from, &to, NULL);
    }
    jid_free(&to);
    jid_free(&from);
    stanza_unref(st);
}
