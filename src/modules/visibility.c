/* Presence visibility (see visibility.h). */
#include "modules/visibility.h"

#include <string.h>

#include "modules/roster.h"
#include "xmpp/jid.h"

/* RFC 6121 §3: 'from' or 'both' in the user's roster, as decided (a
 * change not yet committed counts). */
static bool subscribed_from(struct server *srv, const char *domain, const char *user,
                            const char *contact_bare)
{
    struct jid owner = {.local = user, .domain = domain};
    unsigned f = roster_flags(srv, &owner, contact_bare);
    return (f & ROSTER_ITEM) && (f & ROSTER_FROM);
}

bool presence_visible_to(struct server *srv, const char *domain, const char *user,
                         const struct jid *who)
{
    if (who->local && strcmp(who->local, user) == 0 && strcmp(who->domain, domain) == 0)
        return true;
    char bare[3 * (JID_PART_MAX + 1)];
    struct jid b = {.local = who->local, .domain = who->domain};
    if (jid_format(&b, true, bare, sizeof bare) >= sizeof bare)
        return false;
    return subscribed_from(srv, domain, user, bare);
}
