/* What the roster, subscription and presence code share (RFC 6121).
 *
 * roster.c: the jabber:iq:roster handlers and the data contract.
 * roster_push.c: the in-memory rosters of online accounts, roster pushes
 *   to interested resources.
 * roster_commit.c: committing a change through the store queue; the rows
 *   decided but not yet committed, which every deciding read sees.
 * subscription.c: the subscription state machine (Appendix A tables).
 * presence.c: broadcast, probes, directed presence, session events.
 *
 * Performance: presence broadcast walks the roster of an online account
 * from memory. The roster (contact JID -> flags) is loaded when the
 * account's first resource binds and freed when its last resource leaves;
 * every change goes through roster_commit, which keeps it in step with
 * the decision (the store follows on commit). Accounts without a cached
 * roster (offline, or taubectl) are read from the store and the pending
 * rows.
 *
 * Owners are local accounts given as a JID whose local and domain parts
 * are used (any resource is ignored). Loop thread only.
 */
#ifndef TAUBE_MODULES_ROSTER_H
#define TAUBE_MODULES_ROSTER_H

#include <stdbool.h>

#include "core/hmap.h"
#include "core/server.h"
#include "store/roster.h"
#include "xmpp/jid.h"
#include "xmpp/session.h"
#include "xmpp/stanza.h"

#define NS_ROSTER "jabber:iq:roster"
#define NS_ROSTER_VER "urn:xmpp:features:rosterver"
#define NS_PREAPPROVAL "urn:xmpp:features:pre-approval"
#define BARE_MAX (2 * (JID_PART_MAX + 1))
/* Status text kept with a stored subscription request, in bytes. */
#define ROSTER_STATUS_MAX 1024

extern const struct module mod_roster;

/* ---- roster_push.c ---- */

/* The module state of mod_roster (the cache), or NULL. */
struct roster_cache *roster_cache_of(struct server *srv);
/* The roster module's slot in each session. */
struct roster_session {
    bool requested; /* an "interested resource" (RFC 6121 §2.2): gets pushes */
};
/* Has s asked for its roster (an interested resource)? */
bool roster_interested(const struct session *s);

/* The roster module's state (registry-allocated, zeroed). */
struct roster_cache {
    struct hmap rosters; /* owner bare JID -> struct cached_roster */
    struct hmap pending; /* owner bare JID -> rows not yet committed (roster_commit.c) */
};
void roster_cache_init(struct roster_cache *rc);
void roster_cache_fini(struct roster_cache *rc);
/* Counts a bound resource of owner; the first loads its roster. 0 or -errno
 * (the account then works from the store). */
int roster_cache_acquire(struct server *srv, const struct jid *owner);
/* The reverse; the last one frees the cached roster. */
void roster_cache_release(struct server *srv, const struct jid *owner);

/* Calls fn for each row of owner's roster whose flags share a bit with
 * mask, from the cache if loaded, else from the store. fn must not change
 * the roster. 0 or -errno. */
int roster_each(struct server *srv, const struct jid *owner, unsigned mask,
                void (*fn)(void *ud, const char *jid, unsigned flags), void *ud);
/* The flags of contact (a bare JID string) in owner's roster, 0 if none. */
unsigned roster_flags(struct server *srv, const struct jid *owner, const char *contact);
/* Sets contact's flags (0: none) in owner's cached roster, if loaded. */
void roster_cache_note(struct server *srv, const struct jid *owner, const char *contact,
                       unsigned flags);

/* ---- roster_commit.c ---- */

/* Called on the loop once the change is committed (rc 0) or has failed. */
typedef void (*roster_done_fn)(void *ud, int rc);

/* Makes it owner's row for it->jid; before: the row's flags as the caller
 * read them (roster_load). A row with neither ROSTER_ITEM nor
 * ROSTER_PENDING_IN is deleted. push: the change is visible (the version
 * is bumped and, after the commit, interested resources get a roster
 * push; a deleted row is pushed as subscription='remove').
 * With a running server the write is queued: reads through this header
 * see the decided row at once, and done(ud, rc) follows the commit.
 * Without one (srv NULL: taubectl) it is written on store at once and
 * done is called before the return. 0, or -errno and done is not called. */
int roster_commit(struct server *srv, struct store *store, const struct config *cfg,
                  const struct jid *owner, const struct roster_item *it, unsigned before, bool push,
                  roster_done_fn done, void *ud);
/* Reads owner's row for contact as decided (roster_load_sync, with the
 * rows not yet committed over the store's). */
int roster_load(struct server *srv, struct store *store, const struct jid *owner,
                const char *contact, struct roster_item *out);
/* Rows as decided whose flags share a bit with mask (0: all). */
int roster_count(struct server *srv, const struct jid *owner, unsigned mask, size_t *n);
/* roster_list_sync as decided (stored rows in JID order, then the
 * pending ones). */
int roster_list(struct server *srv, const struct jid *owner, unsigned mask,
                void (*cb)(void *ud, const struct roster_item *it), void *ud);
/* Whether contact's row has a change not yet committed; *flags gets its
 * decided flags (0: deleted). */
bool roster_pending_flags(struct server *srv, const struct jid *owner, const char *contact,
                          unsigned *flags);
/* Calls fn for each of owner's rows not yet committed (flags 0: a
 * deletion). */
void roster_pending_each(struct server *srv, const struct jid *owner,
                         void (*fn)(void *ud, const struct roster_item *it), void *ud);
/* Frees the pending rows (module shutdown, after the queue's last
 * completions). */
void roster_pending_fini(struct roster_cache *rc);
/* Sends one roster push of it (removed: subscription='remove') with
 * version ver to one session, or to every interested resource of owner
 * if s is NULL. */
void roster_push(struct server *srv, const struct jid *owner, struct session *s,
                 const struct roster_item *it, bool removed, int64_t ver);
/* Appends <item/> for it under query (removed: subscription='remove').
 * 0 or -ENOMEM. */
int roster_item_xml(struct stanza *st, struct xml_node *query, const struct roster_item *it,
                    bool removed);
/* "local@domain" of owner into out. false if it does not fit. */
bool roster_bare(const struct jid *owner, char out[BARE_MAX]);

/* ---- subscription.c ---- */

enum sub_type { SUB_SUBSCRIBE, SUB_SUBSCRIBED, SUB_UNSUBSCRIBE, SUB_UNSUBSCRIBED };
/* The subscription type named by a presence 'type', or -1. */
int sub_type_of(const char *type);
/* A user's client sent a subscription stanza to contact (A.2): state
 * change, routing stamped with the user's bare JID, roster pushes. */
void sub_outbound(struct server *srv, const struct stanza *st, const struct jid *user,
                  const struct jid *contact, enum sub_type t);
/* A subscription stanza from contact reached local user (A.3). */
void sub_inbound(struct server *srv, struct stanza *st, const struct jid *contact,
                 const struct jid *user, enum sub_type t);
/* Routes <presence type=type from=from-bare to=to/> (from the server on
 * the user's behalf). status may be NULL. */
void sub_send(struct server *srv, const struct jid *from, const char *to, const char *type,
              const char *status);

/* ---- presence.c ---- */

/* Current presence of each of user's available resources to 'to'. */
void presence_send_available(struct server *srv, const struct jid *user, const char *to);
/* Unavailable presence from each of user's available resources to 'to'. */
void presence_send_unavailable(struct server *srv, const struct jid *user, const char *to);

#endif
