/* Answering an iq after a store write has committed (iq_later.h). */
#include "modules/iq_later.h"

#include <stdlib.h>
#include <string.h>

#include "xmpp/router.h"

struct iq_later *iq_later_new(const struct iq_request *rq)
{
    struct iq_later *l = calloc(1, sizeof *l);
    char *bare = l ? jid_to_string(rq->to, true) : NULL;
    if (!bare || jid_parse(&l->account, bare, strlen(bare)) < 0) {
        free(bare);
        free(l);
        return NULL;
    }
    free(bare);
    l->srv = rq->srv;
    l->state = rq->state;
    l->st = stanza_ref((struct stanza *)rq->st);
    l->origin = rq->origin ? rq->origin->id : 0;
    return l;
}

const struct xml_node *iq_later_payload(const struct iq_later *l)
{
    return xml_first_elem(l->st->root);
}

bool iq_later_sender_here(const struct iq_later *l)
{
    if (!l->origin)
        return true; /* not a local session: the router finds the way */
    const char *f = xml_attr(l->st->root, "from");
    struct jid from;
    if (!f || jid_parse(&from, f, strlen(f)) < 0)
        return false;
    struct session *s = router_session_full(l->srv->router, &from);
    jid_free(&from);
    return s && s->id == l->origin;
}

void iq_later_result(struct iq_later *l)
{
    if (iq_later_sender_here(l))
        router_send(l->srv, iq_result_new(l->st));
}

void iq_later_error(struct iq_later *l, enum stanza_cond c, const char *text)
{
    if (iq_later_sender_here(l))
        router_error(l->srv, l->st, c, text);
}

void iq_later_free(struct iq_later *l)
{
    if (!l)
        return;
    stanza_unref(l->st);
    jid_free(&l->account);
    free(l);
}
