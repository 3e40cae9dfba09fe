/* Answering an iq after a store write has committed.
 *
 * A handler that queues a write (store/requests.h) answers from the
 * write's completion, which comes later, on the loop. By then the sender
 * may be gone, or another stream may have bound the same full JID: the
 * answer must go to the session that asked, or nowhere. struct iq_later
 * keeps what the answer needs (the request stanza, by reference, and the
 * id of the sender's session) and checks the session by id before it
 * sends. Loop thread only.
 */
#ifndef TAUBE_IQ_LATER_H
#define TAUBE_IQ_LATER_H

#include "modules/module.h"

struct iq_later {
    struct server *srv;
    void *state;        /* the module's state (rq->state) */
    struct stanza *st;  /* the request (a reference) */
    uint64_t origin;    /* the sender's session id; 0: not a local session */
    struct jid account; /* rq->to: the account the request is about (bare) */
};

/* A copy of what answering rq needs; NULL if out of memory (then answer
 * rq at once with internal-server-error). */
struct iq_later *iq_later_new(const struct iq_request *rq);
/* The request's payload (its one child element), for handlers that read
 * it again on completion. */
const struct xml_node *iq_later_payload(const struct iq_later *l);
/* Whether the session that asked is still there. */
bool iq_later_sender_here(const struct iq_later *l);
/* Answers with an empty result, or with an error, if the sender is still
 * there. Neither frees l. */
void iq_later_result(struct iq_later *l);
void iq_later_error(struct iq_later *l, enum stanza_cond c, const char *text);
void iq_later_free(struct iq_later *l);

#endif
