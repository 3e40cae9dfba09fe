/* Block lists (XEP-0191) as other modules see them: presence broadcast and
 * similar server-made traffic should skip JIDs the account has blocked,
 * since the router's blocking hooks only see stanzas clients send. Loop
 * thread.
 */
#ifndef TAUBE_MODULES_BLOCKING_H
#define TAUBE_MODULES_BLOCKING_H

#include <stdbool.h>

#include "core/server.h"
#include "xmpp/jid.h"

/* True if the local account user@domain (prepared parts) has blocked peer,
 * by the matching rules of XEP-0191 §6 (full JID, bare JID, domain/resource,
 * domain). Cheap while the account has sessions (the list is in memory);
 * otherwise one indexed store lookup. A store error reads as false. */
bool blocking_is_blocked(struct server *srv, const char *domain, const char *user,
                         const struct jid *peer);

#endif
