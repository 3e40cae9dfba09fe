/* Presence subscriptions (RFC 6121 §3): the state machine of Appendix A,
 * as tables indexed by the nine states, for stanzas the user sends
 * (A.2) and stanzas the user receives (A.3). See roster.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "modules/module.h"
#include "modules/roster.h"
#include "xmpp/ns.h"
#include "xmpp/router.h"

/* A.1, from the user's point of view. */
enum sub_state {
    S_NONE,
    S_NONE_OUT,
    S_NONE_IN,
    S_NONE_OUT_IN,
    S_TO,
    S_TO_IN,
    S_FROM,
    S_FROM_OUT,
    S_BOTH,
    S_COUNT
};

#define SUB_BITS (ROSTER_TO | ROSTER_FROM | ROSTER_ASK | ROSTER_PENDING_IN)

static const unsigned state_flags[S_COUNT] = {
    [S_NONE] = 0,
    [S_NONE_OUT] = ROSTER_ASK,
    [S_NONE_IN] = ROSTER_PENDING_IN,
    [S_NONE_OUT_IN] = ROSTER_ASK | ROSTER_PENDING_IN,
    [S_TO] = ROSTER_TO,
    [S_TO_IN] = ROSTER_TO | ROSTER_PENDING_IN,
    [S_FROM] = ROSTER_FROM,
    [S_FROM_OUT] = ROSTER_FROM | ROSTER_ASK,
    [S_BOTH] = ROSTER_TO | ROSTER_FROM,
};

static enum sub_state state_of(unsigned f)
{
    bool to = f & ROSTER_TO, from = f & ROSTER_FROM;
    bool out = f & ROSTER_ASK, in = f & ROSTER_PENDING_IN;
    if (to && from)
        return S_BOTH;
    if (to)
        return in ? S_TO_IN : S_TO;
    if (from)
        return out ? S_FROM_OUT : S_FROM;
    if (out)
        return in ? S_NONE_OUT_IN : S_NONE_OUT;
    return in ? S_NONE_IN : S_NONE;
}

/* What a table row says to do besides changing state. */
enum {
    A_PASS = 1,      /* route (outbound) or deliver (inbound) the stanza */
    A_PREAPPROVE = 2,/* outbound subscribed: note a pre-approval (§3.4) */
    A_UNAPPROVE = 4, /* outbound unsubscribed: cancel a pre-approval */
    A_AUTOREPLY = 8, /* inbound: answer for the user (subscribed/unsubscribed) */
};

struct sub_rule {
    unsigned char next;
    unsigned char act;
};

#define R(n, a) {S_##n, a}

/* A.2.1-A.2.4: the user sends. Rows in enum sub_state order. */
static const struct sub_rule out_rules[4][S_COUNT] = {
    [SUB_SUBSCRIBE] = {R(NONE_OUT, A_PASS), R(NONE_OUT, A_PASS), R(NONE_OUT_IN, A_PASS),
                       R(NONE_OUT_IN, A_PASS), R(TO, A_PASS), R(TO_IN, A_PASS), R(FROM_OUT, A_PASS),
                       R(FROM_OUT, A_PASS), R(BOTH, A_PASS)},
    [SUB_UNSUBSCRIBE] = {R(NONE, A_PASS), R(NONE, A_PASS), R(NONE_IN, A_PASS), R(NONE_IN, A_PASS),
                         R(NONE, A_PASS), R(NONE_IN, A_PASS), R(FROM, A_PASS), R(FROM, A_PASS),
                         R(FROM, A_PASS)},
    [SUB_SUBSCRIBED] = {R(NONE, A_PREAPPROVE), R(NONE_OUT, A_PREAPPROVE), R(FROM, A_PASS),
                        R(FROM_OUT, A_PASS), R(TO, A_PREAPPROVE), R(BOTH, A_PASS), R(FROM, 0),
                        R(FROM_OUT, 0), R(BOTH, 0)},
    [SUB_UNSUBSCRIBED] = {R(NONE, A_UNAPPROVE), R(NONE_OUT, A_UNAPPROVE), R(NONE, A_PASS),
                          R(NONE_OUT, A_PASS), R(TO, A_UNAPPROVE), R(TO, A_PASS), R(NONE, A_PASS),
                          R(NONE_OUT, A_PASS), R(TO, A_PASS)},
};

/* A.3.1-A.3.4: the user receives. */
static const struct sub_rule in_rules[4][S_COUNT] = {
    [SUB_SUBSCRIBE] = {R(NONE_IN, A_PASS), R(NONE_OUT_IN, A_PASS), R(NONE_IN, 0), R(NONE_OUT_IN, 0),
                       R(TO_IN, A_PASS), R(TO_IN, 0), R(FROM, A_AUTOREPLY),
                       R(FROM_OUT, A_AUTOREPLY), R(BOTH, A_AUTOREPLY)},
    [SUB_UNSUBSCRIBE] = {R(NONE, 0), R(NONE_OUT, 0), R(NONE, A_PASS | A_AUTOREPLY),
                         R(NONE_OUT, A_PASS | A_AUTOREPLY), R(TO, 0), R(TO, A_PASS | A_AUTOREPLY),
                         R(NONE, A_PASS | A_AUTOREPLY), R(NONE_OUT, A_PASS | A_AUTOREPLY),
                         R(TO, A_PASS | A_AUTOREPLY)},
    [SUB_SUBSCRIBED] = {R(NONE, 0), R(TO, A_PASS), R(NONE_IN, 0), R(TO_IN, A_PASS), R(TO, 0),
                        R(TO_IN, 0), R(FROM, 0), R(BOTH, A_PASS), R(BOTH, 0)},
    [SUB_UNSUBSCRIBED] = {R(NONE, 0), R(NONE, A_PASS), R(NONE_IN, 0), R(NONE_IN, A_PASS),
                          R(NONE, A_PASS), R(NONE_IN, A_PASS), R(FROM, 0), R(FROM, A_PASS),
                          R(FROM, A_PASS)},
};

#undef R

static const char *const sub_names[] = {
    [SUB_SUBSCRIBE] = "subscribe",
    [SUB_SUBSCRIBED] = "subscribed",
    [SUB_UNSUBSCRIBE] = "unsubscribe",
    [SUB_UNSUBSCRIBED] = "unsubscribed",
};

int sub_type_of(const char *type)
{
    for (int i = 0; type && i < 4; i++)
        if (strcmp(type, sub_names[i]) == 0)
            return i;
    return -1;
}

void sub_send(struct server *srv, const struct jid *from, const char *to, const char *type,
              const char *status)
{
    char bare[BARE_MAX];
    struct stanza *st = roster_bare(from, bare) ? stanza_new("presence", NS_CLIENT) : NULL;
    if (st &&
        (xml_set_attr(st, st->root, "from", bare) < 0 || xml_set_attr(st, st->root, "to", to) < 0 ||
         xml_set_attr(st, st->root, "type", type) < 0 ||
         (status && xml_add_text_elem(st, st->root, "status", status) < 0))) {
        stanza_unref(st);
        st = NULL;
    }
    if (!st) {
        log_warn("presence: out of memory building a presence");
        return;
    }
    router_send(srv, st);
}

/* The row of contact in user's roster; an empty one (jid set) if none.
 * 0, or -errno (-ENOENT: no such account). */
static int load_row(struct server *srv, const struct jid *user, const char *contact,
                    struct roster_item *it)
{
    int rc = roster_load(srv, srv->store, user, contact, it);
    if (rc != -ENOENT)
        return rc;
    int64_t ver;
    if ((rc = roster_version_sync(srv->store, user->domain, user->local, &ver)) < 0)
        return rc;
    return (it->jid = strdup(contact)) ? 0 : -ENOMEM;
}

/* Whether a change is visible in a roster push (pending-in is not). */
static bool visible_change(unsigned before, unsigned after)
{
    unsigned seen = ROSTER_ITEM | ROSTER_TO | ROSTER_FROM | ROSTER_ASK | ROSTER_APPROVED;
    return (after & ROSTER_ITEM || before & ROSTER_ITEM) && (before & seen) != (after & seen);
}

/* Commits a changed row; done(ud, rc) follows the commit, or comes at
 * once if nothing changed or the write could not be queued (logged). */
static void commit(struct server *srv, const struct jid *user, struct roster_item *it,
                   unsigned before, roster_done_fn done, void *ud)
{
    int rc = 0;
    if (it->flags != before &&
        (rc = roster_commit(srv, srv->store, srv->cfg, user, it, before,
                            visible_change(before, it->flags), done, ud)) == 0)
        return;
    if (rc < 0)
        log_warn("presence: could not store a subscription change");
    if (done)
        done(ud, rc);
}

/* Outbound: the new flags for rule r, or those of a (cancelled) pre-approval. */
static unsigned out_flags(unsigned f, const struct sub_rule *r, enum sub_type t)
{
    unsigned nf = (f & ~SUB_BITS) | state_flags[r->next];
    if (r->act & A_PREAPPROVE)
        nf |= ROSTER_APPROVED | ROSTER_ITEM; /* §3.4.2 #3 and #4 */
    if (r->act & A_UNAPPROVE || t == SUB_UNSUBSCRIBED)
        nf &= ~ROSTER_APPROVED;
    if (t == SUB_SUBSCRIBE || (t == SUB_SUBSCRIBED && (r->act & A_PASS)))
        nf |= ROSTER_ITEM; /* asking or approving puts the contact in the roster */
    return nf;
}

/* Copies the client's stanza, stamped with the user's bare JID and
 * addressed to the contact's bare JID (§3.1.2), and routes it. */
static void route_stamped(struct server *srv, const struct stanza *st, const char *from,
                          const char *to)
{
    struct stanza *cp = stanza_copy(st);
    if (!cp || xml_set_attr(cp, cp->root, "from", from) < 0 ||
        xml_set_attr(cp, cp->root, "to", to) < 0) {
        if (cp)
            stanza_unref(cp);
        return;
    }
    router_send(srv, cp);
}

void sub_outbound(struct server *srv, const struct stanza *st, const struct jid *user,
                  const struct jid *contact, enum sub_type t)
{
    char ubare[BARE_MAX], cbare[BARE_MAX];
    struct roster_item it = {0};
    if (!roster_bare(user, ubare) || !roster_bare(contact, cbare) ||
        jid_bare_equal(user, contact) || load_row(srv, user, cbare, &it) < 0) {
        roster_item_clear(&it);
        return;
    }
    const struct sub_rule *r = &out_rules[t][state_of(it.flags)];
    unsigned before = it.flags;
    it.flags = out_flags(before, r, t);
    if (!(it.flags & ROSTER_PENDING_IN)) {
        free(it.status);
        it.status = NULL;
    }
    /* §3.2.2: while the contact is still subscribed, it gets unavailable
     * presence from each resource before the cancellation. */
    if (t == SUB_UNSUBSCRIBED && (r->act & A_PASS) && (before & ROSTER_FROM))
        presence_send_unavailable(srv, user, cbare);
    /* The state is decided before the stanza is routed: a local contact's
     * server answers within route_stamped (auto-replies, pre-approvals),
     * and the answer must meet the new state (roster_load sees it before
     * its commit; the push follows the commit). */
    commit(srv, user, &it, before, NULL, NULL);
    if (r->act & A_PASS)
        route_stamped(srv, st, ubare, cbare);
    /* §3.1.5: the newly subscribed contact gets current presence. */
    if (t == SUB_SUBSCRIBED && (r->act & A_PASS))
        presence_send_available(srv, user, cbare);
    roster_item_clear(&it);
}

/* Delivers a subscription stanza to the user's available (subscribe) or
 * available and interested (the others, §3.1.6) resources. */
static bool available_or_interested(const struct session *s, void *ud)
{
    (void)ud;
    return s->available || roster_interested(s);
}

static void deliver_user(struct server *srv, struct stanza *st, const char *bare, bool subscribe)
{
    if (subscribe)
        router_deliver_available(srv->router, bare, st);
    else
        router_deliver_if(srv->router, bare, st, available_or_interested, NULL);
}

/* An inbound subscription stanza whose state change is being committed:
 * the user gets it after the commit, then the roster push, so that a
 * roster get answered after the stanza shows the new state (§3.1.6,
 * §3.2.3, §3.3.3: the stanza first, then the push). */
struct deliver_later {
    struct server *srv;
    struct stanza *st; /* a reference */
    bool subscribe;
    char bare[BARE_MAX];
};

static void deliver_committed(void *ud, int rc)
{
    struct deliver_later *dl = ud;
    (void)rc; /* delivered either way: the contact did send it */
    deliver_user(dl->srv, dl->st, dl->bare, dl->subscribe);
    stanza_unref(dl->st);
    free(dl);
}

/* Delivers st to the user after it (changed from before) is committed,
 * or at once if nothing changed. */
static void deliver_after_commit(struct server *srv, struct stanza *st, const struct jid *user,
                                 const char *bare, bool subscribe, struct roster_item *it,
                                 unsigned before)
{
    struct deliver_later *dl = it->flags != before ? calloc(1, sizeof *dl) : NULL;
    if (!dl) {
        deliver_user(srv, st, bare, subscribe);
        commit(srv, user, it, before, NULL, NULL);
        return;
    }
    *dl = (struct deliver_later){srv, stanza_ref(st), subscribe, ""};
    memcpy(dl->bare, bare, sizeof dl->bare);
    commit(srv, user, it, before, deliver_committed, dl);
}

/* The status text of a request, if it fits (kept with the request). */
static char *request_status(struct stanza *st)
{
    const struct xml_node *s = xml_child(st->root, "status", NULL);
    const char *text = s ? xml_text(st, s) : NULL;
    if (!text || !*text || strlen(text) > ROSTER_STATUS_MAX)
        return NULL;
    return strdup(text);
}

/* §3.1.3 #4 and its security warning: a bounded number of requests. */
static bool room_for_request(struct server *srv, const struct jid *user)
{
    size_t n = 0;
    return roster_count(srv, user, ROSTER_PENDING_IN, &n) == 0 && n < srv->cfg->roster_max_pending;
}

/* An inbound subscribe the user pre-approved (§3.4.2): answered for the
 * user, who now has a subscription from the contact. */
static void accept_preapproved(struct server *srv, const struct jid *user, struct roster_item *it,
                               const char *cbare)
{
    unsigned before = it->flags;
    it->flags = (before & ~(ROSTER_APPROVED | ROSTER_PENDING_IN)) | ROSTER_FROM;
    commit(srv, user, it, before, NULL, NULL);
    sub_send(srv, user, cbare, "subscribed", NULL);
    presence_send_available(srv, user, cbare);
}

void sub_inbound(struct server *srv, struct stanza *st, const struct jid *contact,
                 const struct jid *user, enum sub_type t)
{
    char ubare[BARE_MAX], cbare[BARE_MAX];
    struct roster_item it = {0};
    /* §8.5.1: for a user that does not exist, subscription stanzas are ignored. */
    if (!roster_bare(user, ubare) || !roster_bare(contact, cbare) ||
        load_row(srv, user, cbare, &it) < 0) {
        roster_item_clear(&it);
        return;
    }
    const struct sub_rule *r = &in_rules[t][state_of(it.flags)];
    unsigned before = it.flags;
    if (t == SUB_SUBSCRIBE && (before & ROSTER_APPROVED) && !(before & ROSTER_FROM)) {
        accept_preapproved(srv, user, &it, cbare);
        roster_item_clear(&it);
        return;
    }
    if (t == SUB_SUBSCRIBE && (r->act & A_PASS) && !room_for_request(srv, user)) {
        roster_item_clear(&it);
        return;
    }
    it.flags = (before & ~SUB_BITS) | state_flags[r->next];
    if (t == SUB_SUBSCRIBE && (r->act & A_PASS)) {
        free(it.status);
        it.status = request_status(st);
    } else if (!(it.flags & ROSTER_PENDING_IN)) {
        free(it.status);
        it.status = NULL;
    }
    if (r->act & A_PASS)
        deliver_after_commit(srv, st, user, ubare, t == SUB_SUBSCRIBE, &it, before);
    else
        commit(srv, user, &it, before, NULL, NULL);
    if (r->act & A_AUTOREPLY)
        sub_send(srv, user, cbare, t == SUB_SUBSCRIBE ? "subscribed" : "unsubscribed", NULL);
    if (t == SUB_SUBSCRIBE && (r->act & A_AUTOREPLY))
        presence_send_available(srv, user, cbare);
    if (t == SUB_UNSUBSCRIBE && (r->act & A_PASS) && (before & ROSTER_FROM))
        presence_send_unavailable(srv, user, cbare);
    roster_item_clear(&it);
}
