/* Presence (RFC 6121 §4): a resource's own availability and priority.
 *
 * This is the start of the presence module: it tracks available/priority
 * from presence without 'to' and raises SESSION_AVAILABLE on initial
 * presence. Broadcast to contacts, probes, directed presence and
 * subscriptions build on it (IM issue). */
#include <stdlib.h>
#include <string.h>

#include "modules/module.h"
#include "xmpp/ns.h"

static int parse_priority(struct stanza *st)
{
    const struct xml_node *p = xml_child(st->root, "priority", NS_CLIENT);
    const char *text = p ? xml_text(st, p) : NULL;
    long prio = text ? strtol(text, NULL, 10) : 0;
    return (int)(prio < -128 ? -128 : prio > 127 ? 127 : prio);
}

static enum hook_result presence_outbound(struct hook_ctx *c)
{
    if (c->kind != STANZA_PRESENCE || !c->no_to || !c->origin)
        return HOOK_PASS;
    struct session *s = c->origin;
    const char *type = xml_attr(c->st->root, "type");
    if (type && strcmp(type, "unavailable") == 0) {
        bool was = s->available;
        s->available = false;
        if (was)
            modules_session_event(c->srv, s, SESSION_UNAVAILABLE);
    } else if (!type) {
        bool was = s->available;
        s->available = true;
        s->priority = parse_priority(c->st);
        if (!was)
            modules_session_event(c->srv, s, SESSION_AVAILABLE);
    }
    return HOOK_HANDLED;
}

const struct module mod_presence = {
    .name = "presence",
    .outbound = presence_outbound,
};
