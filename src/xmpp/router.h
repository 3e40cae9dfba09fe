/* The router: who is a stanza for, and where is it?
 *
 * The router is the only part that knows where a JID is. It owns the
 * sessions (session.h: allocated and freed here, with the modules' session
 * slots) and keeps them by bare JID. router_resolve() answers local
 * session(s), the server itself, an account with no session, a remote
 * domain, a component or nobody through one function, so that a later
 * multi-node router can answer "another node" without callers changing
 * (DESIGN.md, "Later: more than one machine"). Modules never walk the
 * router's lists: they deliver and count through the functions below.
 *
 * The router depends on nothing above xmpp/: what it needs from the
 * modules (hooks, iq handlers, slot sizes) and from the account service
 * (does an account exist?) is handed to it at start-up through struct
 * router_hooks, and what it needs from the transports (ending streams not
 * yet bound) through struct router_transport.
 *
 * Loop thread only.
 */
#ifndef TAUBE_ROUTER_H
#define TAUBE_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "xmpp/jid.h"
#include "xmpp/session.h"
#include "xmpp/stanza.h"

struct server;
struct router;

enum hook_result { HOOK_PASS = 0, HOOK_HANDLED = 1 };
enum hook_kind { HOOK_OUTBOUND, HOOK_INBOUND, HOOK_UNDELIVERABLE };
/* Who an iq is addressed to: the server (domain JID) or an account's bare
 * JID (including no 'to', handled on behalf of the sender, RFC 6120 §10.3). */
enum { IQ_TO_SERVER = 1, IQ_TO_ACCOUNT = 2 };

/* A stanza on its way through the router (see router_route). Hooks run in
 * registry order; the first that returns HOOK_HANDLED ends the routing
 * (it answered, stored, dropped or forwarded the stanza itself). */
struct hook_ctx {
    struct server *srv;
    void *state;               /* the module's state from init */
    struct stanza *st;         /* outbound hooks may modify it */
    enum stanza_kind kind;
    const struct jid *from;    /* full JID of a local sender, else as stamped */
    const struct jid *to;      /* the destination; the sender's bare JID if no_to */
    bool no_to;                /* the stanza had no 'to' (RFC 6120 §10.3) */
    struct session *origin;    /* the local session that sent it, or NULL */
};

/* What the router asks of the layers above it; set once at start-up
 * (modules_init). A NULL member: nobody answers (no hook handles, no iq
 * handler, every account exists). */
struct router_hooks {
    /* Runs one kind of routing hook over the modules. */
    enum hook_result (*run)(enum hook_kind kind, struct hook_ctx *c);
    /* Handles an iq get or set at target (IQ_TO_*): 0, or -ENOENT if
     * nobody does (the router answers service-unavailable). */
    int (*iq)(struct hook_ctx *c, unsigned target);
    /* Does the local account user@domain exist? 1, 0 or -errno (an error
     * counts as "exists": the stanza takes its ordinary path). */
    int (*account_exists)(struct server *srv, const char *domain, const char *user);
};

/* A transport (the c2s streams; WebSocket later), for what only it knows:
 * its streams that are authenticated, or authenticating, and not bound. */
struct router_transport {
    /* Ends those streams of user@domain with a stream error; how many. */
    size_t (*kick_unbound)(struct server *srv, const char *domain, const char *user,
                           enum stream_cond cond, const char *text);
};

struct router *router_new(struct server *srv);
/* Frees the router and any session still bound (their transports must
 * be gone by then). */
void router_free(struct router *r);
/* h must outlive the router. */
void router_set_hooks(struct router *r, const struct router_hooks *h);
/* Session slot sizes, sizes[i] for module i (0: none), before the first
 * session. 0, -EINVAL if n is over SESSION_MAX_SLOTS, -EBUSY once
 * sessions are bound. */
int router_set_slots(struct router *r, const size_t *sizes, size_t n);
/* Registers a transport (t must outlive the router). 0 or -ENOBUFS. */
int router_add_transport(struct router *r, const struct router_transport *t);

/* ---- sessions: life cycle ---- */

/* A new session for full (a full JID) carried by transport through ops,
 * with its slots zeroed and a fresh id; not routable until router_bind.
 * NULL if out of memory. */
struct session *router_session_new(struct router *r, const struct jid *full,
                                   const struct session_ops *ops, void *transport);
/* Frees a session that was never bound (a refused bind). */
void router_session_free(struct router *r, struct session *s);
/* Makes s routable. If a session with the same full JID exists it is
 * returned through *replaced (the caller kicks it with conflict) and no
 * longer routable. 0 or -ENOMEM. */
int router_bind(struct router *r, struct session *s, struct session **replaced);
/* Unregisters s and frees it (the owner ran SESSION_CLOSING first). s
 * may already be unregistered (replaced by a newer bind). */
void router_unbind(struct router *r, struct session *s);

/* ---- where is a JID? ---- */

enum route_kind {
    ROUTE_NOBODY,    /* an account of a local domain that does not exist */
    ROUTE_SERVER,    /* a local domain itself (no local part) */
    ROUTE_SESSION,   /* a full JID with a bound session: route.session */
    ROUTE_SESSIONS,  /* a bare JID whose account has route.count sessions */
    ROUTE_ACCOUNT,   /* an existing account, but no session has this JID:
                      * a bare JID without sessions, or an unbound resource */
    ROUTE_REMOTE,    /* a domain not served here (s2s, later) */
    ROUTE_COMPONENT, /* a component's domain (xmpp/hosts.h): route.host */
};

struct host;

struct route {
    enum route_kind kind;
    struct host *host;       /* its entry in the hosts table, or NULL */
    struct session *session; /* ROUTE_SESSION */
    size_t count;            /* the account's sessions (SESSION(S), ACCOUNT) */
};

/* Where to is, in *out (also returned). Asks the store, through
 * router_hooks.account_exists, only for an account with no session. */
enum route_kind router_resolve(struct router *r, const struct jid *to, struct route *out);

/* The session with this full JID, or NULL. */
struct session *router_session_full(struct router *r, const struct jid *full);
/* How many sessions the account bare ("local@domain") has. */
size_t router_count(struct router *r, const char *bare);
/* Is no session of s's account bound but s (s may be unbound already)? */
bool router_is_last(struct router *r, const struct session *s);
/* All sessions. */
size_t router_session_count(const struct router *r);

/* ---- delivery ---- */

/* Calls fn for each session of the account bare; fn may deliver to it and
 * may kick it, but must not unbind another session. How many. */
size_t router_each(struct router *r, const char *bare, void (*fn)(struct session *s, void *ud),
                   void *ud);
/* Calls fn for every bound session. fn must not bind or unbind. */
void router_foreach(struct router *r, void (*fn)(struct session *s, void *ud), void *ud);
/* Delivers st (not consumed) to each available session of bare (RFC 6121
 * §8.5.2.1.2: presence reaches every available resource). How many. */
size_t router_deliver_available(struct router *r, const char *bare, struct stanza *st);
/* Delivers st to each session of bare for which want(s, ud) is true (the
 * "interested resources" of roster and block-list pushes). How many. */
size_t router_deliver_if(struct router *r, const char *bare, struct stanza *st,
                         bool (*want)(const struct session *s, void *ud), void *ud);
/* The RFC 6121 §8.5.2 choice for a stanza to the bare JID of an existing
 * local account (hc->to): a message to the available resources of highest
 * non-negative priority (else the undeliverable hooks: offline storage, or
 * a bounce), presence to every available resource, an iq to the account's
 * handlers. Does not consume hc->st. */
void router_deliver_bare(struct hook_ctx *hc);

/* Ends every stream of user@domain, bound (its session's kick) or not yet
 * (the transports'), with a stream error. How many. */
size_t router_kick_account(struct router *r, const char *domain, const char *user,
                           enum stream_cond cond, const char *text);

/* ---- routing ---- */

/* Routes a stanza sent by from (a full JID the server has stamped) to the
 * address in its 'to' attribute (to == NULL: no 'to', handled on behalf
 * of the sender's account, RFC 6120 §10.3). The stanza's 'from' attribute
 * is already set. origin is the sender's session or NULL (server, s2s).
 * Does not consume st. */
void router_route(struct server *srv, struct stanza *st, const struct jid *from,
                  const struct jid *to, struct session *origin);
/* Sends a stanza the server made (replies, pings) to its 'to' address.
 * Consumes st. NULL is ignored (a failed build, or an error to an error). */
void router_send(struct server *srv, struct stanza *st);
/* Answers orig with a stanza error; no-op if orig is an error. */
void router_error(struct server *srv, const struct stanza *orig, enum stanza_cond c,
                  const char *text);

#endif
