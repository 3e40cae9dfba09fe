/* Presence visibility (see visibility.h). */
#include "modules/visibility.h"

#include <string.h>

#include "store/roster.h"
#include "xmpp/jid.h"

/* RFC 6121 §3: 'from' or 'both' in the user's roster. */
static bool subscribed_from(struct server *srv, const char *domain, const char *user,
                            const char *contact_bare)
{
    struct roster_item it = {0};
    int rc = roster_load_sync(srv->store, domain, user, contact_bare, &it);
    bool from = rc == 0 && (it.flags & ROSTER_ITEM) && (it.flags & ROSTER_FROM);
    roster_item_clear(&it);
    return from;
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
