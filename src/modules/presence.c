/* Presence (RFC 6121 §4) and the routing of subscription stanzas (§3).
 *
 * Outbound (a local client sent it): broadcast presence (no 'to') goes to
 * the contacts with a subscription from the user and to the user's own
 * available resources; initial presence also answers, on the spot, the
 * probes the user's contacts would get (local contacts' last presence),
 * delivers stored subscription requests, and raises SESSION_AVAILABLE.
 * Directed presence is remembered per session (§4.6) so the targets get
 * unavailable presence when the session leaves, gracefully or not
 * (SESSION_CLOSING). Subscription stanzas go to subscription.c.
 *
 * Inbound (for a local account): subscription stanzas (subscription.c)
 * and probes are handled here; other presence is delivered by the router
 * (to a bare JID: every available resource). Every stanza this module
 * sends goes through router_send, so the recipient's inbound hooks (the
 * block list, which must sit before this module in the registry) apply.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "modules/blocking.h"
#include "modules/module.h"
#include "modules/roster.h"
#include "store/last.h"
#include "xmpp/ns.h"
#include "xmpp/router.h"

struct presence_directed {
    size_t n, cap;
    char **jids;
};

extern const struct module mod_presence;

/* The module's slot in each session; freed on SESSION_CLOSING. */
struct presence_session {
    struct stanza *last;               /* last broadcast presence, for probes */
    struct presence_directed directed; /* entities sent directed presence (§4.6) */
};

static struct presence_session *ps_of(const struct session *s)
{
    return session_ctx(s, &mod_presence);
}

static int parse_priority(struct stanza *st)
{
    const struct xml_node *p = xml_child(st->root, "priority", NS_CLIENT);
    const char *text = p ? xml_text(st, p) : NULL;
    long prio = text ? strtol(text, NULL, 10) : 0;
    return (int)(prio < -128 ? -128 : prio > 127 ? 127 : prio);
}

/* §4.7.1: the defined values of 'type'. */
static bool type_valid(const char *type)
{
    static const char *const types[] = {"unavailable",  "subscribe", "subscribed", "unsubscribe",
                                        "unsubscribed", "probe",     "error"};
    if (!type)
        return true;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(type, types[i]) == 0)
            return true;
    return false;
}

static bool is_type(const char *type, const char *want) { return type && strcmp(type, want) == 0; }

/* ---- sending ---- */

/* Routes st as it is but addressed to 'to' (consumes st). */
static void send_to(struct server *srv, struct stanza *st, const char *to)
{
    if (xml_set_attr(st, st->root, "to", to) < 0) {
        stanza_unref(st);
        return;
    }
    router_send(srv, st);
}

/* A copy of st to 'to'. */
static void send_copy(struct server *srv, const struct stanza *st, const char *to)
{
    struct stanza *cp = stanza_copy(st);
    if (cp)
        send_to(srv, cp, to);
}

/* <presence from=from [type=type] [id=id]/>, without 'to'. */
static struct stanza *bare_presence(const char *from, const char *type, const char *id)
{
    struct stanza *st = stanza_new("presence", NS_CLIENT);
    if (st && (xml_set_attr(st, st->root, "from", from) < 0 ||
               (type && xml_set_attr(st, st->root, "type", type) < 0) ||
               (id && xml_set_attr(st, st->root, "id", id) < 0))) {
        stanza_unref(st);
        return NULL;
    }
    return st;
}

static void send_mere(struct server *srv, const char *from, const char *type, const char *id,
                      const char *to)
{
    struct stanza *st = bare_presence(from, type, id);
    if (st)
        send_to(srv, st, to);
}

struct send_ctx {
    struct server *srv;
    const char *to;
    size_t sent;
};

static void send_last_one(struct session *s, void *ud)
{
    struct send_ctx *sc = ud;
    struct stanza *last = ps_of(s)->last;
    if (s->available && last) {
        send_copy(sc->srv, last, sc->to);
        sc->sent++;
    }
}

/* Sends to 'to' the last presence of each available resource of the
 * account bare. How many. */
static size_t send_last_presences(struct server *srv, const char *bare, const char *to)
{
    struct send_ctx sc = {srv, to, 0};
    router_each(srv->router, bare, send_last_one, &sc);
    return sc.sent;
}

static void send_unavailable_one(struct session *s, void *ud)
{
    struct send_ctx *sc = ud;
    if (s->available)
        send_mere(sc->srv, s->full, "unavailable", NULL, sc->to);
}

void presence_send_available(struct server *srv, const struct jid *user, const char *to)
{
    char bare[BARE_MAX];
    if (roster_bare(user, bare))
        send_last_presences(srv, bare, to);
}

void presence_send_unavailable(struct server *srv, const struct jid *user, const char *to)
{
    char bare[BARE_MAX];
    struct send_ctx sc = {srv, to, 0};
    if (roster_bare(user, bare))
        router_each(srv->router, bare, send_unavailable_one, &sc);
}

/* ---- contacts by flag ---- */

struct jid_list {
    char **v;
    size_t n, cap;
    int err;
};

static void list_add(void *ud, const char *jid, unsigned flags)
{
    (void)flags;
    struct jid_list *l = ud;
    if (l->err)
        return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        char **nv = reallocarray(l->v, cap, sizeof *nv);
        if (!nv) {
            l->err = -ENOMEM;
            return;
        }
        l->v = nv;
        l->cap = cap;
    }
    if (!(l->v[l->n] = strdup(jid)))
        l->err = -ENOMEM;
    else
        l->n++;
}

static void list_free(struct jid_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* The contacts of the session's account whose flags share a bit with
 * mask, collected first: routing may call into the store. */
static int contacts(struct server *srv, struct session *s, unsigned mask, struct jid_list *l)
{
    int rc = roster_each(srv, &s->jid, mask, list_add, l);
    if (rc == 0 && l->err)
        rc = l->err;
    if (rc < 0)
        log_warn("presence: could not read a roster (%d)", rc);
    return rc;
}

/* ---- directed presence (§4.6) ---- */

static bool directed_has(const struct session *s, const char *jid)
{
    const struct presence_directed *d = &ps_of(s)->directed;
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->jids[i], jid) == 0)
            return true;
    return false;
}

static void directed_del(struct session *s, const char *jid)
{
    struct presence_directed *d = &ps_of(s)->directed;
    for (size_t i = 0; i < d->n; i++) {
        if (strcmp(d->jids[i], jid) == 0) {
            free(d->jids[i]);
            d->jids[i] = d->jids[--d->n];
            return;
        }
    }
}

static int directed_add(struct server *srv, struct session *s, const char *jid)
{
    if (directed_has(s, jid))
        return 0;
    struct presence_directed *d = &ps_of(s)->directed;
    if (d->n >= srv->cfg->presence_max_directed)
        return -ENOBUFS; /* still delivered, just not remembered */
    if (d->n == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 4;
        char **nv = reallocarray(d->jids, cap, sizeof *nv);
        if (!nv)
            return -ENOMEM;
        d->jids = nv;
        d->cap = cap;
    }
    if (!(d->jids[d->n] = strdup(jid)))
        return -ENOMEM;
    d->n++;
    return 0;
}

static void directed_free(struct session *s)
{
    struct presence_directed *d = &ps_of(s)->directed;
    for (size_t i = 0; i < d->n; i++)
        free(d->jids[i]);
    free(d->jids);
    *d = (struct presence_directed){0};
}

/* Directed presence to someone the user's broadcasts do not reach is
 * remembered, so they learn when this resource leaves (§4.6.3 #2, #3). */
static void track_directed(struct hook_ctx *c, const char *type)
{
    struct session *s = c->origin;
    char to[BARE_MAX + JID_PART_MAX + 1], bare[BARE_MAX];
    if (jid_format(c->to, false, to, sizeof to) >= sizeof to || jid_bare_equal(c->to, &s->jid))
        return;
    if (is_type(type, "unavailable")) {
        directed_del(s, to);
        return;
    }
    bool subscriber = roster_bare(c->to, bare) &&
                      (roster_flags(c->srv, &s->jid, bare) & ROSTER_FROM) && s->available;
    if (!subscriber && directed_add(c->srv, s, to) < 0)
        log_debug("presence: directed presence target not remembered");
}

/* ---- broadcast ---- */

/* Has the local account owner blocked peer (a JID string)? Presence the
 * server sends on a user's behalf skips JIDs the user blocked (XEP-0191
 * §3.3): the router's blocking hooks see only client traffic. */
static bool blocked(struct server *srv, const struct jid *owner, const char *peer)
{
    struct jid p;
    if (!owner->local || jid_parse(&p, peer, strlen(peer)) < 0)
        return false;
    bool b = blocking_is_blocked(srv, owner->domain, owner->local, &p);
    jid_free(&p);
    return b;
}

/* st (from the session's full JID) to each subscriber and the account's
 * own available resources. */
static void broadcast(struct server *srv, struct session *s, const struct stanza *st)
{
    struct jid_list l = {0};
    if (contacts(srv, s, ROSTER_FROM, &l) == 0)
        for (size_t i = 0; i < l.n; i++)
            if (!blocked(srv, &s->jid, l.v[i]))
                send_copy(srv, st, l.v[i]);
    list_free(&l);
    send_copy(srv, st, s->bare);
}

/* Adds the time (XEP-0203 delay) and status of the account's last logout,
 * as the last-activity module stored them, if known. */
static void add_last_logout(struct server *srv, struct stanza *st, const char *contact)
{
    struct jid j;
    if (jid_parse(&j, contact, strlen(contact)) < 0)
        return;
    int64_t t;
    struct buf status;
    buf_init(&status, LAST_STATUS_MAX + 1);
    if (j.local && store_last_get(srv->store, j.domain, j.local, &t, &status) == 0) {
        char stamp[32];
        struct tm tm;
        time_t tt = (time_t)t;
        if (status.len)
            xml_add_text_elem(st, st->root, "status", status.data);
        struct xml_node *d = xml_add_child(st, st->root, "delay", "urn:xmpp:delay");
        if (d && gmtime_r(&tt, &tm) && strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm))
            xml_set_attr(st, d, "stamp", stamp);
    }
    buf_free(&status);
    jid_free(&j);
}

/* §4.3.2, answered locally for a contact on this server: each available
 * resource's last presence, or unavailable from the bare JID (#3, with
 * the time of the last logout). */
static void probe_local(struct server *srv, struct session *s, const char *contact)
{
    struct jid owner;
    if (jid_parse(&owner, contact, strlen(contact)) < 0)
        return;
    bool hidden = owner.local && blocking_is_blocked(srv, owner.domain, owner.local, &s->jid);
    jid_free(&owner);
    if (hidden)
        return; /* the contact blocked this user: nothing to tell */
    if (send_last_presences(srv, contact, s->full))
        return;
    struct stanza *st = bare_presence(contact, "unavailable", NULL);
    if (st) {
        add_last_logout(srv, st, contact);
        send_to(srv, st, s->full);
    }
}

/* §4.2.2: the presence of the contacts the user is subscribed to. */
static void probe_contacts(struct server *srv, struct session *s)
{
    struct jid_list l = {0};
    if (contacts(srv, s, ROSTER_TO, &l) == 0) {
        for (size_t i = 0; i < l.n; i++) {
            const char *at = strchr(l.v[i], '@');
            const char *dom = at ? at + 1 : l.v[i];
            if (server_host(srv, dom))
                probe_local(srv, s, l.v[i]);
            else
                sub_send(srv, &s->jid, l.v[i], "probe", NULL);
        }
    }
    list_free(&l);
}

struct pending_ctx {
    struct server *srv;
    struct session *s;
};

/* Stored subscription requests go straight to the new resource: routing
 * them would be taken for new requests. */
static void deliver_request(void *ud, const struct roster_item *it)
{
    struct pending_ctx *pc = ud;
    struct stanza *st = bare_presence(it->jid, "subscribe", NULL);
    if (!st)
        return;
    if (xml_set_attr(st, st->root, "to", pc->s->bare) == 0 &&
        (!it->status || xml_add_text_elem(st, st->root, "status", it->status) == 0))
        pc->s->ops->deliver(pc->s, st);
    stanza_unref(st);
}

static void available(struct server *srv, struct session *s, struct stanza *st)
{
    struct presence_session *ps = ps_of(s);
    bool was = s->available;
    s->available = true;
    s->priority = parse_priority(st);
    if (ps->last)
        stanza_unref(ps->last);
    ps->last = stanza_ref(st);
    broadcast(srv, s, st);
    if (was)
        return;
    probe_contacts(srv, s);
    struct pending_ctx pc = {srv, s};
    if (roster_list(srv, &s->jid, ROSTER_PENDING_IN, deliver_request, &pc) < 0)
        log_warn("presence: could not read stored subscription requests");
    modules_session_event(srv, s, SESSION_AVAILABLE);
}

/* The resource leaves (§4.5.2): st is the client's unavailable presence,
 * or NULL when the server generates it (the stream ended). */
static void unavailable(struct server *srv, struct session *s, const struct stanza *st)
{
    struct stanza *gen = st ? NULL : bare_presence(s->full, "unavailable", NULL);
    const struct stanza *out = st ? st : gen;
    bool was = s->available;
    s->available = false;
    if (out && was) {
        broadcast(srv, s, out);
        if (st)
            s->ops->deliver(s, (struct stanza *)st); /* §4.5.2: the sender too */
    }
    struct presence_session *ps = ps_of(s);
    for (size_t i = 0; out && i < ps->directed.n; i++)
        send_copy(srv, out, ps->directed.jids[i]);
    directed_free(s);
    if (ps->last)
        stanza_unref(ps->last);
    ps->last = NULL;
    if (gen)
        stanza_unref(gen);
    if (was && st)
        modules_session_event(srv, s, SESSION_UNAVAILABLE);
}

/* ---- hooks ---- */

static enum hook_result presence_outbound(struct hook_ctx *c)
{
    if (c->kind != STANZA_PRESENCE || !c->origin)
        return HOOK_PASS;
    const char *type = xml_attr(c->st->root, "type");
    if (!type_valid(type)) {
        router_error(c->srv, c->st, SC_BAD_REQUEST, NULL);
        return HOOK_HANDLED;
    }
    if (c->no_to) {
        if (!type)
            available(c->srv, c->origin, c->st);
        else if (is_type(type, "unavailable"))
            unavailable(c->srv, c->origin, c->st);
        return HOOK_HANDLED; /* other types to oneself mean nothing */
    }
    int sub = sub_type_of(type);
    if (sub >= 0) {
        sub_outbound(c->srv, c->st, c->from, c->to, (enum sub_type)sub);
        return HOOK_HANDLED;
    }
    if (!type || is_type(type, "unavailable"))
        track_directed(c, type);
    return HOOK_PASS;
}

/* A probe reached a local account (§4.3.2, §4.6.6). */
static void answer_probe(struct hook_ctx *c)
{
    char owner[BARE_MAX], prober[BARE_MAX + JID_PART_MAX + 1], pbare[BARE_MAX];
    const char *id = xml_attr(c->st->root, "id");
    if (!roster_bare(c->to, owner) || !roster_bare(c->from, pbare) ||
        jid_format(c->from, false, prober, sizeof prober) >= sizeof prober)
        return;
    unsigned f = jid_bare_equal(c->from, c->to) ? ROSTER_FROM : roster_flags(c->srv, c->to, pbare);
    if (c->to->resource) {
        struct session *s = router_session_full(c->srv->router, c->to);
        bool allowed =
            (f & ROSTER_FROM) || (s && (directed_has(s, prober) || directed_has(s, pbare)));
        if (allowed)
            send_mere(c->srv, s && s->available ? s->full : owner,
                      s && s->available ? NULL : "unavailable", id, prober);
        else if (!(f & ROSTER_PENDING_IN))
            send_mere(c->srv, owner, "unsubscribed", id, pbare);
        return;
    }
    if (!(f & ROSTER_FROM)) {
        if (!(f & ROSTER_PENDING_IN))
            send_mere(c->srv, owner, "unsubscribed", id, pbare);
        return;
    }
    if (!send_last_presences(c->srv, owner, prober))
        send_mere(c->srv, owner, "unavailable", id, prober);
}

static enum hook_result presence_inbound(struct hook_ctx *c)
{
    if (c->kind != STANZA_PRESENCE)
        return HOOK_PASS;
    const char *type = xml_attr(c->st->root, "type");
    int sub = sub_type_of(type);
    if (sub >= 0) {
        sub_inbound(c->srv, c->st, c->from, c->to, (enum sub_type)sub);
        return HOOK_HANDLED;
    }
    if (is_type(type, "probe")) {
        answer_probe(c);
        return HOOK_HANDLED;
    }
    return type_valid(type) ? HOOK_PASS : HOOK_HANDLED;
}

static void presence_session_event(struct server *srv, void *state, struct session *s,
                                   enum session_event ev)
{
    (void)state;
    if (ev == SESSION_BOUND) {
        if (roster_cache_acquire(srv, &s->jid) < 0)
            log_warn("presence: roster not cached; reading it from the store");
    } else if (ev == SESSION_CLOSING) {
        unavailable(srv, s, NULL);
        roster_cache_release(srv, &s->jid);
    }
}

/* Its configuration: merged after the core's options (core/config.h),
 * in registry order, for loading, --check, init and the reference. */
static const struct config_section presence_cfg_sections[] = {
    {"presence", "Presence (RFC 6121 section 4, promise P6): held in memory only."},
};

static const struct config_option presence_cfg_options[] = {
    /* presence */
    {.key = "presence.max_directed",
     .type = CFG_INT,
     CFG_AS_INT(presence_max_directed),
     .min = 1,
     .max = 10000,
     .def = "100",
     .help = "Most entities one session's directed presence is remembered for (they "
             "get unavailable presence when the session ends)."},
};

static const struct config_table presence_cfg = {
    .sections = presence_cfg_sections,
    .n_sections = sizeof presence_cfg_sections / sizeof presence_cfg_sections[0],
    .options = presence_cfg_options,
    .n_options = sizeof presence_cfg_options / sizeof presence_cfg_options[0],
};

const struct module mod_presence = {
    .name = "presence",
    .id = MOD_ID_presence,
    .session_size = sizeof(struct presence_session),
    .config = &presence_cfg,
    .outbound = presence_outbound,
    .inbound = presence_inbound,
    .session_event = presence_session_event,
};
