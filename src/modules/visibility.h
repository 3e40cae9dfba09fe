/* Who may see an account's presence, and so its last activity and its
 * disco#info (XEP-0012 §8, XEP-0030 §8): the account itself and the
 * contacts it has granted a presence subscription to (subscription
 * 'from' or 'both' in its roster, RFC 6121 §3). Loop thread.
 */
#ifndef TAUBE_VISIBILITY_H
#define TAUBE_VISIBILITY_H

#include <stdbool.h>

#include "core/server.h"
#include "xmpp/jid.h"

/* True if who (any JID; only its bare part counts) may see the presence
 * of the local account user@domain (prepared parts). A store error reads
 * as false: fail closed. */
bool presence_visible_to(struct server *srv, const char *domain, const char *user,
                         const struct jid *who);

#endif
