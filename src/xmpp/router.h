/* The router: who is a stanza for?
 *
 * resolve() answers local session(s), the server itself, an account with
 * no session, a remote server or nobody, through one function, so that a
 * later multi-node router can answer "another node" without callers
 * changing (DESIGN.md, "Later: more than one machine").
 * Loop thread only.
 */
#ifndef TAUBE_ROUTER_H
#define TAUBE_ROUTER_H

#include <stddef.h>

#include "xmpp/jid.h"
#include "xmpp/session.h"
#include "xmpp/stanza.h"

struct server;
struct router;

struct router *router_new(struct server *srv);
void router_free(struct router *r);

/* Registers a bound session. If a session with the same full JID exists
 * it is returned through *replaced (the caller kicks it with conflict) and
 * unregistered. 0 or -ENOMEM. */
int router_bind(struct router *r, struct session *s, struct session **replaced);
void router_unbind(struct router *r, struct session *s);
/* The first session of an account (walk ->next), or NULL. */
struct session *router_sessions(struct router *r, const char *bare);
struct session *router_session_full(struct router *r, const struct jid *full);
size_t router_session_count(const struct router *r);
/* Calls fn for every bound session. fn must not bind or unbind. */
void router_foreach(struct router *r, void (*fn)(struct session *s, void *ud), void *ud);

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
