/* The router: local sessions by bare JID, and RFC 6120 §10 / RFC 6121 §8
 * delivery rules for the server, accounts and full JIDs. */
#include "xmpp/router.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/hmap.h"
#include "core/log.h"
#include "core/server.h"
#include "modules/module.h"
#include "store/store.h"
#include "xmpp/hosts.h"

struct account {
    char *bare; /* hmap key */
    struct session *head;
};

struct router {
    struct server *srv;
    struct hmap accounts; /* bare JID -> struct account */
    size_t nsessions;
};

struct router *router_new(struct server *srv)
{
    struct router *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->srv = srv;
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
        free(a->bare);
        free(a);
    }
    hmap_free(&r->accounts);
    free(r);
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

int router_bind(struct router *r, struct session *s, struct session **replaced)
{
    *replaced = router_session_full(r, &s->jid);
    if (*replaced)
        router_unbind(r, *replaced);
    struct account *a = account_get_or_add(r, s->bare);
    if (!a)
        return -ENOMEM;
    s->next = a->head;
    a->head = s;
    r->nsessions++;
    return 0;
}

void router_unbind(struct router *r, struct session *s)
{
    struct account *a = hmap_get(&r->accounts, s->bare);
    if (!a)
        return;
    for (struct session **p = &a->head; *p; p = &(*p)->next) {
        if (*p == s) {
            *p = s->next;
            s->next = NULL;
            r->nsessions--;
            break;
        }
    }
    if (!a->head) {
        hmap_del(&r->accounts, a->bare);
        free(a->bare);
        free(a);
    }
}

struct session *router_sessions(struct router *r, const char *bare)
{
    struct account *a = hmap_get(&r->accounts, bare);
    return a ? a->head : NULL;
}

struct session *router_session_full(struct router *r, const struct jid *full)
{
    char bare[3 * (JID_PART_MAX + 1)];
    if (!full->resource || jid_format(full, true, bare, sizeof bare) >= sizeof bare)
        return NULL;
    for (struct session *s = router_sessions(r, bare); s; s = s->next)
        if (strcmp(s->jid.resource, full->resource) == 0)
            return s;
    return NULL;
}

size_t router_session_count(const struct router *r) { return r->nsessions; }

void router_foreach(struct router *r, void (*fn)(struct session *s, void *ud), void *ud)
{
    const char *k;
    void *v;
    for (size_t i = 0; (i = hmap_next(&r->accounts, i, &k, &v)) != 0;)
        for (struct session *s = ((struct account *)v)->head, *n; s; s = n) {
            n = s->next;
            fn(s, ud);
        }
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

static void to_server(struct server *srv, struct stanza *st, const struct jid *from,
                      const struct jid *to, struct session *origin)
{
    if (stanza_kind(st->root) != STANZA_IQ || !is_iq_request(st))
        return; /* results, errors, messages and presence to the server: nothing to do yet */
    if (modules_dispatch_iq(srv, st, from, to, IQ_TO_SERVER, origin) == -ENOENT)
        router_error(srv, st, SC_SERVICE_UNAVAILABLE, NULL);
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
    if (mt != MT_GROUPCHAT && modules_run_hooks(HOOK_UNDELIVERABLE, hc) == HOOK_HANDLED)
        return;
    router_error(hc->srv, hc->st, SC_SERVICE_UNAVAILABLE, NULL);
}

/* RFC 6121 §8.5.2.1.1: normal and chat go to the available resources with
 * the highest non-negative priority (all of them, as most servers do);
 * headline to every non-negative one; groupchat bounces, error is dropped.
 * A resource with a negative priority never gets a message to the bare
 * JID; if only such resources exist, it is as if none were available. */
static void message_to_bare(struct hook_ctx *hc, const char *bare)
{
    struct server *srv = hc->srv;
    enum msg_type mt = message_type(hc->st);
    if (mt == MT_ERROR)
        return;
    if (mt == MT_GROUPCHAT) {
        router_error(srv, hc->st, SC_SERVICE_UNAVAILABLE, NULL);
        return;
    }
    int best = -1;
    for (struct session *s = router_sessions(srv->router, bare); s; s = s->next)
        if (s->available && s->priority >= 0 && s->priority > best)
            best = s->priority;
    if (best < 0) {
        message_unavailable(hc, mt);
        return;
    }
    for (struct session *s = router_sessions(srv->router, bare), *n; s; s = n) {
        n = s->next;
        if (s->available && s->priority >= 0 && (mt == MT_HEADLINE || s->priority == best))
            s->ops->deliver(s, hc->st);
    }
}

static void to_account(struct hook_ctx *hc)
{
    struct server *srv = hc->srv;
    struct stanza *st = hc->st;
    char bare[3 * (JID_PART_MAX + 1)];
    const struct jid *to = hc->to;
    if (jid_format(to, true, bare, sizeof bare) >= sizeof bare)
        return;
    switch (stanza_kind(st->root)) {
    case STANZA_MESSAGE:
        message_to_bare(hc, bare);
        break;
    case STANZA_PRESENCE:
        /* Subscriptions and probes belong to the presence module (its
         * inbound hook); other presence reaches every available resource
         * (§8.5.2.1.2) and is dropped if there is none (§8.5.2.2.2). */
        for (struct session *s = router_sessions(srv->router, bare), *n; s; s = n) {
            n = s->next;
            if (s->available)
                s->ops->deliver(s, st);
        }
        break;
    case STANZA_IQ:
        if (is_iq_request(st) &&
            modules_dispatch_iq(srv, st, hc->from, to, IQ_TO_ACCOUNT, hc->origin) == -ENOENT)
            router_error(srv, st, SC_SERVICE_UNAVAILABLE, NULL);
        break;
    default:
        break;
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
    switch (stanza_kind(st->root)) {
    case STANZA_MESSAGE:
        switch (message_type(st)) {
        case MT_CHAT:
            to_account(hc);
            break;
        case MT_NORMAL:
        case MT_GROUPCHAT:
            router_error(srv, st, SC_SERVICE_UNAVAILABLE, NULL);
            break;
        default:
            break; /* headline, error */
        }
        break;
    case STANZA_IQ:
        if (is_iq_request(st))
            router_error(srv, st, SC_SERVICE_UNAVAILABLE, NULL);
        break;
    default:
        break; /* presence to a gone resource is dropped */
    }
}

/* RFC 6121 §8.5.1: is there no such account? An account with a session
 * exists; otherwise ask the store (microseconds, on the loop). A store
 * error counts as "exists", so the stanza takes its ordinary path. */
static bool account_missing(struct server *srv, const struct jid *to)
{
    char bare[3 * (JID_PART_MAX + 1)];
    if (jid_format(to, true, bare, sizeof bare) < sizeof bare &&
        router_sessions(srv->router, bare))
        return false;
    return srv->store && store_account_exists_sync(srv->store, to->domain, to->local) == 0;
}

/* RFC 6121 §8.5.1: iq requests and messages bounce with
 * service-unavailable (except headline and error, which are dropped);
 * presence, probes included, is ignored. Nothing reaches a module. */
static void to_missing_account(struct server *srv, struct stanza *st)
{
    enum stanza_kind k = stanza_kind(st->root);
    if (k == STANZA_IQ && is_iq_request(st))
        router_error(srv, st, SC_SERVICE_UNAVAILABLE, NULL);
    else if (k == STANZA_MESSAGE && message_type(st) != MT_HEADLINE &&
             message_type(st) != MT_ERROR)
        router_error(srv, st, SC_SERVICE_UNAVAILABLE, NULL);
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
    struct host *host = hosts_find(srv->hosts, to->domain);
    if (origin && modules_run_hooks(HOOK_OUTBOUND, &hc) == HOOK_HANDLED) {
        /* a module answered, stored or forwarded it */
    } else if (host && host_kind(host) == HOST_COMPONENT) {
        /* RFC 6120 §10.5: a local service takes its own stanzas; while
         * it is not connected, as if there were no such entity. */
        if (host_deliver(host, st) < 0)
            to_missing_account(srv, st);
    } else if (!host || host_kind(host) != HOST_LOCAL) {
        /* Server-to-server comes with the s2s issue. */
        router_error(srv, st, SC_REMOTE_SERVER_NOT_FOUND, NULL);
    } else if (!to->local) {
        to_server(srv, st, from, to, origin);
    } else if (account_missing(srv, to)) {
        to_missing_account(srv, st);
    } else if (modules_run_hooks(HOOK_INBOUND, &hc) == HOOK_HANDLED) {
        /* blocked, a subscription handled, ... */
    } else if (to->resource) {
        struct session *s = router_session_full(srv->router, to);
        if (s)
            s->ops->deliver(s, st);
        else
            to_missing_resource(&hc);
    } else {
        to_account(&hc);
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
