/* A client waits for the commit of what it asked to store.
 *
 * Writes go to the store queue's writer thread (store/queue.h), so
 * routing a stanza no longer ends with its write committed. What a client
 * sends after such a stanza must still be handled after the commit, as
 * when the store was synchronous: a client that sends a message to an
 * offline contact and then an iq ping knows, from the pong, that the
 * message is stored. So the first stanza after such writes that could
 * bring the client an answer (anything but a message: an iq, a presence,
 * later a stream-management request) is kept, the stream stops being
 * read (C2S_PAUSE_STORE) and the rest of what was already read is kept,
 * until a barrier on the queue says the writes are committed. Messages
 * that follow go on at once: the server answers none of them with a
 * result, so a burst of messages to offline contacts shares one group
 * commit. Only this client waits; the loop and every other client go on.
 * Writes that hold their sender are marked STORE_REQ_HOLD by the store's
 * request builders.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "net/c2s_internal.h"
#include "store/queue.h"

/* The barrier: every write up to c->store_wait is committed. */
static void on_committed(void *ud, uint64_t tag)
{
    struct c2s *c = ud;
    (void)tag;
    c->store_wait = 0;
    struct stanza *st = c->held_st;
    c->held_st = NULL;
    c2s_lift(c, C2S_PAUSE_STORE); /* what waited is fed below, not next turn */
    if (st && c->state == C2S_SESSION)
        c2s_stanza(c, st); /* consumes st; may queue writes again */
    else if (st)
        stanza_unref(st);
    c2s_feed_held(c); /* may hold again, keeping its own rest */
}

void c2s_hold_for_store(struct c2s *c, uint64_t mark)
{
    struct store_queue *q = c->srv->storeq;
    uint64_t now = q ? store_queue_hold_mark(q) : mark;
    if (now != mark)
        c->store_wait = now;
}

bool c2s_hold_stanza(struct c2s *c, struct stanza *st)
{
    if (!c->store_wait || stanza_kind(st->root) == STANZA_MESSAGE)
        return false;
    int rc = store_queue_when_done(c->srv->storeq, c->store_wait, on_committed, c,
                                   c->sess ? c->sess->id : 0);
    if (rc != 0) {
        if (rc < 0) /* out of memory: go on without the guarantee, not hang */
            log_warn("c2s %s: cannot wait for a store commit (%d)", conn_id(c->conn), rc);
        c->store_wait = 0; /* committed already */
        return false;
    }
    c->held_st = st;
    c2s_pause(c, C2S_PAUSE_STORE);
    return true;
}

int c2s_hold_input(struct c2s *c, const char *data, size_t len)
{
    if (len > SIZE_MAX - c->held_len)
        return -ENOMEM;
    char *p = realloc(c->held, c->held_len + len);
    if (!p)
        return -ENOMEM;
    memcpy(p + c->held_len, data, len);
    c->held = p;
    c->held_len += len;
    return 0;
}

void c2s_hold_free(struct c2s *c)
{
    if (c->held_st && c->srv->storeq)
        store_queue_forget(c->srv->storeq, on_committed, c);
    if (c->held_st)
        stanza_unref(c->held_st);
    c->held_st = NULL;
    c->store_wait = 0;
    free(c->held);
    c->held = NULL;
    c->held_len = 0;
}
