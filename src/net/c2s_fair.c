/* Fairness between client streams (STYLE.md 9): whom a slow reader may
 * slow down, and who pays when it stays slow.
 *
 * - A sender is held back (C2S_PAUSE_PEER) only for a stanza it chose to
 *   send to that receiver: a message, a presence with 'to', an iq get or
 *   set. Never for what it did not choose: iq results and errors (an
 *   answer to someone else's request), presence broadcasts (its contacts
 *   chose to be contacts), server-generated traffic.
 * - A receiver congested for longer than limits.congestion_timeout is
 *   closed with policy-violation; that releases its held senders at once,
 *   and no sender waits longer than that bound for one stanza.
 * - All queues together are bounded by limits.send_queue_total: past it
 *   the streams with the largest queues, congested ones first, are
 *   dropped at once (conn_abort: their queues are what is too much).
 *
 * Loop thread only. */
#include <string.h>

#include "core/log.h"
#include "net/c2s_internal.h"

static bool has_type(const struct stanza *st, const char *type)
{
    const char *t = xml_attr(st->root, "type");
    return t && strcmp(t, type) == 0;
}

bool c2s_sender_chose(const struct stanza *st, enum stanza_kind kind)
{
    if (!xml_attr(st->root, "to") || has_type(st, "error"))
        return false;
    if (kind == STANZA_IQ)
        return has_type(st, "get") || has_type(st, "set");
    return kind == STANZA_MESSAGE || kind == STANZA_PRESENCE;
}

/* The sender keeps c's session id, not a pointer: either side may close
 * while it waits. */
void c2s_hold_sender(struct c2s *c)
{
    struct c2s *from = c->srv->dispatching;
    if (!from || from == c || c->state == C2S_CLOSING || !conn_congested(c->conn))
        return;
    from->waiting_on = c->sess_id;
    from->peer_paused_at = c2s_now(from);
    c->has_waiters = true;
    c2s_pause(from, C2S_PAUSE_PEER);
}

/* Waiters are found by walking every stream: this runs once per drain
 * (a quarter of send_queue_max sent), and only with waiters. */
void c2s_release_waiters(struct c2s *c)
{
    if (!c->has_waiters)
        return;
    c->has_waiters = false;
    for (struct c2s *w = c->srv->c2s_all; w; w = w->next) {
        if ((w->pause_why & C2S_PAUSE_PEER) && w->waiting_on == c->sess_id) {
            w->waiting_on = 0;
            c2s_unpause(w, C2S_PAUSE_PEER);
        }
    }
}

bool c2s_check_congestion(struct c2s *c, int64_t now)
{
    uint64_t bound = c->srv->cfg->congestion_timeout_ms;
    if ((c->pause_why & C2S_PAUSE_PEER) && now - c->peer_paused_at >= (int64_t)bound) {
        c->waiting_on = 0;
        c2s_unpause(c, C2S_PAUSE_PEER);
    }
    if (conn_congested_for(c->conn) < bound)
        return false;
    log_info("c2s %s: has not read its stream for %u ms, closing", conn_id(c->conn),
             c->srv->cfg->congestion_timeout_ms);
    c2s_stream_error(c, STREAM_POLICY_VIOLATION, "Not reading fast enough");
    return true;
}

/* The stream whose queue is the first to give up: congested before not,
 * then the largest. NULL when no stream has anything queued. */
static struct c2s *heaviest(struct server *srv)
{
    struct c2s *best = NULL;
    size_t best_q = 0;
    bool best_cong = false;
    for (struct c2s *c = srv->c2s_all; c; c = c->next) {
        size_t q = conn_queued(c->conn);
        bool cong = conn_congested(c->conn);
        if (q == 0 || (best && (best_cong > cong || (best_cong == cong && best_q >= q))))
            continue;
        best = c;
        best_q = q;
        best_cong = cong;
    }
    return best;
}

void c2s_shed(struct server *srv)
{
    struct c2s *c;
    while (srv->queued_total > srv->cfg->send_queue_total && (c = heaviest(srv))) {
        log_info("c2s %s: all send queues together over limits.send_queue_total, "
                 "dropping the largest (%zu bytes)",
                 conn_id(c->conn), conn_queued(c->conn));
        c->state = C2S_CLOSING;
        conn_abort(c->conn); /* its queue no longer counts */
    }
}
