/* Offline messages (XEP-0160, promise P7; XEP-0203 delay stamps).
 *
 * A chat or normal message for an account with no available resource of
 * non-negative priority (the router's undeliverable hook) is stored as XML,
 * with a <delay/> from the account's domain already added, when it carries
 * something worth keeping (XEP-0160 §3, XEP-0334 hints). When a resource
 * sends initial presence with a non-negative priority, the messages are
 * delivered oldest first and the delivered ones deleted.
 *
 * Delivery is paced by the stream: a pass queues at most half of the
 * connection's send queue (limits.send_queue_max), then asks the session
 * to say when those bytes have been handed to the kernel (on_flushed).
 * Only then are the pass's rows deleted and the next pass started. A
 * stream that ends before that keeps every row of the pass: without
 * stream management (XEP-0198) the server cannot know what the client
 * read, but it never deletes what it has not even written (duplicates at
 * the next login are possible, loss of unwritten rows is not).
 *
 * When the delete fails (disk full) nothing more is sent on that stream:
 * the delete is retried with back-off (1 s doubling to 60 s), the failure
 * logged once a minute at most, and once it succeeds the next pass starts
 * after the last row sent, so no row is sent twice on one stream.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include "core/log.h"
#include "modules/module.h"
#include "store/offline.h"
#include "store/requests.h"
#include "xmpp/ns.h"
#include "xmpp/router.h"

#define NS_DELAY "urn:xmpp:delay"
#define NS_HINTS "urn:xmpp:hints"
#define NS_CHATSTATES "http://jabber.org/protocol/chatstates"
#define OFFLINE_CHUNK 8 /* rows read from the store at a time */

#define OFFLINE_RETRY_MIN_MS 1000  /* first retry of a failed delete ... */
#define OFFLINE_RETRY_MAX_MS 60000 /* ... doubling up to this */
#define OFFLINE_WARN_EVERY_MS 60000

struct delivery;

struct offline {
    struct server *srv;
    uv_timer_t timer;            /* next pass or delete retry due */
    struct delivery *deliveries; /* backlogs being delivered */
    uint64_t warned_at;          /* loop ms of the last delete warning, 0: never */
    unsigned suppressed;         /* delete warnings not logged since */
};

static void on_timer(uv_timer_t *t);

/* ---- storing ---- */

enum keep { KEEP_STORE, KEEP_DROP, KEEP_REFUSE };

/* XEP-0334: <no-store/> refuses (the sender is told), <store/> keeps;
 * otherwise XEP-0160 §3: keep unless the message carries only chat states
 * (or hints and a thread), which are worthless later: those are dropped. */
static enum keep worth_storing(const struct xml_node *root)
{
    if (xml_child(root, "no-store", NS_HINTS))
        return KEEP_REFUSE;
    if (xml_child(root, "store", NS_HINTS))
        return KEEP_STORE;
    for (const struct xml_node *n = xml_first_elem(root); n; n = xml_next_elem(n)) {
        bool noise = strcmp(n->ns, NS_CHATSTATES) == 0 || strcmp(n->ns, NS_HINTS) == 0 ||
                     (strcmp(n->ns, NS_CLIENT) == 0 && strcmp(n->name, "thread") == 0);
        if (!noise)
            return KEEP_STORE;
    }
    return KEEP_DROP;
}

/* XEP-0082 dateTime in UTC: 2002-09-10T23:08:25Z. */
static void format_stamp(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        strcpy(out, "1970-01-01T00:00:00Z");
}

/* A copy of st with <delay from=domain stamp=now/> (XEP-0203). */
static struct stanza *with_delay(const struct stanza *st, const char *domain, int64_t now)
{
    char stamp[32];
    format_stamp(now, stamp);
    struct stanza *c = stanza_copy(st);
    struct xml_node *d = c ? xml_add_child(c, c->root, "delay", NS_DELAY) : NULL;
    if (!d || xml_set_attr(c, d, "from", domain) < 0 || xml_set_attr(c, d, "stamp", stamp) < 0) {
        if (c)
            stanza_unref(c);
        return NULL;
    }
    return c;
}

/* A message on its way to the store: what the completion needs to
 * answer its sender and to reach a session that came online meanwhile. */
struct pending_add {
    struct offline *o;
    struct stanza *st; /* the message as received (a reference) */
    uint64_t origin;   /* the sender's session id, 0 if not a local session */
    char *bare;        /* the recipient's bare JID */
};

static void pending_free(struct pending_add *p)
{
    if (p->st)
        stanza_unref(p->st);
    free(p->bare);
    free(p);
}

/* Tells the sender that its message is not kept (RFC 6120 §8.3.3): a
 * full quota or disk may pass ("wait"); anything else is our fault. An
 * unknown account or a message too big: service-unavailable. The sender
 * is a full JID: its session is asked for by id, so a new session that
 * took the same resource meanwhile is not told about someone else's
 * message. */
static void refuse(struct server *srv, const struct stanza *st, uint64_t origin, int rc)
{
    if (origin) {
        struct jid from;
        const char *f = xml_attr(st->root, "from");
        if (!f || jid_parse(&from, f, strlen(f)) < 0)
            return;
        struct session *s = router_session_full(srv->router, &from);
        jid_free(&from);
        if (!s || s->id != origin)
            return; /* the sender has gone */
    }
    if (rc == -ENOENT || rc == -ENOBUFS)
        router_error(srv, st, SC_SERVICE_UNAVAILABLE, NULL);
    else if (rc == -EDQUOT || rc == -ENOSPC || rc == -EAGAIN)
        router_error(srv, st, SC_RESOURCE_CONSTRAINT,
                     rc == -EDQUOT ? "offline storage is full"
                                   : "offline storage is unavailable, try again later");
    else
        router_error(srv, st, SC_INTERNAL_SERVER_ERROR, "the message could not be stored");
}

static void kick_delivery(struct offline *o, struct session *s);

static void kick_if_available(struct session *s, void *ud)
{
    if (s->available && s->priority >= 0)
        kick_delivery(ud, s);
}

/* The commit of one stored message. Stored: if a resource of the
 * recipient became available while the write was queued, its backlog
 * pass (which reads only committed rows) may have missed the message:
 * start one now (start_delivery does nothing while one is under way). */
static void stored(void *ud, int rc, int64_t value)
{
    struct pending_add *p = ud;
    struct server *srv = p->o->srv;
    (void)value;
    if (rc < 0) {
        log_debug("offline: not stored (%d)", rc);
        refuse(srv, p->st, p->origin, rc);
    } else if (!srv->stopping) {
        router_each(srv->router, p->bare, kick_if_available, p->o);
    }
    pending_free(p);
}

/* Serializes the stamped message (self-contained: xmlns on the root, so
 * export can use it as is) and queues its write; the sender learns of a
 * failure from the completion. 0, or -errno if it could not be queued
 * (-ENOBUFS: over the stanza size limit). */
static int store_message(struct hook_ctx *c, int64_t now)
{
    const struct config *cfg = c->srv->cfg;
    struct pending_add *p = calloc(1, sizeof *p);
    struct stanza *st = p ? with_delay(c->st, c->to->domain, now) : NULL;
    if (!st) {
        free(p);
        return -ENOMEM;
    }
    p->o = c->state;
    p->origin = c->origin ? c->origin->id : 0;
    p->st = stanza_ref(c->st);
    p->bare = jid_to_string(c->to, true);
    struct buf out;
    buf_init(&out, cfg->max_stanza_size);
    int rc = p->bare ? xml_serialize(st->root, "", &out) : -ENOMEM;
    if (rc > 0) /* xml_serialize returns 0 or -errno: never leave p unowned */
        rc = -EINVAL;
    stanza_unref(st);
    if (rc == 0) {
        struct offline_limits lim = {cfg->offline_max_messages, cfg->offline_max_bytes};
        int64_t id = store_offline_add(c->srv->storeq, c->to->domain, c->to->local, now, out.data,
                                       out.len, &lim, stored, p);
        rc = id >= 0 ? 0 : id >= INT_MIN ? (int)id : -EIO;
    }
    buf_free(&out);
    if (rc < 0)
        pending_free(p);
    return rc;
}

static enum hook_result offline_undeliverable(struct hook_ctx *c)
{
    const char *type = xml_attr(c->st->root, "type");
    if (c->kind != STANZA_MESSAGE || !c->to->local || c->srv->cfg->offline_max_messages == 0 ||
        (type && strcmp(type, "chat") != 0 && strcmp(type, "normal") != 0))
        return HOOK_PASS;
    switch (worth_storing(c->st->root)) {
    case KEEP_DROP: return HOOK_HANDLED;
    case KEEP_REFUSE: return HOOK_PASS; /* the router answers service-unavailable */
    case KEEP_STORE: break;
    }
    int rc = store_message(c, server_now(c->srv));
    if (rc == 0)
        return HOOK_HANDLED; /* the completion answers a failure */
    log_debug("offline: not stored (%d)", rc);
    if (rc == -ENOBUFS)
        return HOOK_PASS; /* too big: service-unavailable */
    refuse(c->srv, c->st, 0, rc);
    return HOOK_HANDLED;
}

/* ---- delivering ---- */

struct row {
    int64_t id;
    char *xml;
    size_t len;
};

struct chunk {
    struct row rows[OFFLINE_CHUNK];
    size_t n;
    int err;
};

static void take_row(void *ud, int64_t id, int64_t unix_time, const char *xml, size_t len)
{
    (void)unix_time;
    struct chunk *ch = ud;
    struct row *r = &ch->rows[ch->n];
    if (ch->err || ch->n >= OFFLINE_CHUNK)
        return;
    r->xml = malloc(len + 1);
    if (!r->xml) {
        ch->err = -ENOMEM;
        return;
    }
    memcpy(r->xml, xml, len);
    r->xml[len] = '\0';
    r->len = len;
    r->id = id;
    ch->n++;
}

static void chunk_free(struct chunk *ch)
{
    for (size_t i = 0; i < ch->n; i++)
        free(ch->rows[i].xml);
    ch->n = 0;
}

/* Parsing stored XML back: a stream header, then the one stanza. */
static int got_header(void *ud, const struct xml_node *root)
{
    (void)ud;
    (void)root;
    return 0;
}

static int got_stanza(void *ud, struct stanza *st)
{
    struct stanza **out = ud;
    if (*out)
        stanza_unref(*out);
    *out = st;
    return 1;
}

static struct stanza *parse_stored(const struct config *cfg, const char *xml, size_t len)
{
    static const char head[] =
        "<stream:stream xmlns='" NS_CLIENT "' xmlns:stream='" NS_STREAMS "'>";
    /* Our own bytes: room for what escaping added when they were written. */
    struct xml_limits lim = {2 * cfg->max_stanza_size, cfg->max_depth + 1, cfg->max_attrs};
    struct xml_stream_handler h = {got_header, got_stanza, NULL};
    struct stanza *st = NULL;
    struct xml_stream *xs = xml_stream_new(&lim, &h, &st);
    if (xs && xml_stream_feed(xs, head, sizeof head - 1) >= 0)
        xml_stream_feed(xs, xml, len);
    xml_stream_free(xs);
    return st;
}

/* Growable list of row ids queued on a stream and not yet deleted. */
struct ids {
    int64_t *v;
    size_t n, cap;
};

static int ids_push(struct ids *ids, int64_t id)
{
    if (ids->n == ids->cap) {
        size_t cap = ids->cap ? 2 * ids->cap : 64;
        int64_t *v = cap < SIZE_MAX / sizeof *v ? realloc(ids->v, cap * sizeof *v) : NULL;
        if (!v)
            return -ENOMEM;
        ids->v = v;
        ids->cap = cap;
    }
    ids->v[ids->n++] = id;
    return 0;
}

/* One account's backlog going to one session:
 *   SEND     a pass may run (now, or from the timer)
 *   FLUSHING a pass was queued; waiting for its bytes to reach the kernel
 *   DELETING they did; the delete of its rows is queued to the store
 *   DELETE   deleting the rows failed, retried from the timer
 * The record outlives its session while FLUSHING (the conn answers the
 * flush mark before it is freed) and DELETING (the store's completion
 * comes before shutdown frees the module); it never dereferences s after
 * SESSION_CLOSING, when s becomes NULL. */
enum dstate { D_SEND, D_FLUSHING, D_DELETING, D_DELETE };

struct delivery {
    struct offline *o;
    struct session *s; /* NULL once the session is closing */
    uint64_t sess_id;
    char *domain, *user; /* copies: the session's JID is freed before the mark fires */
    struct ids sent;     /* queued on this stream, not yet deleted */
    int64_t after;       /* highest id queued on this stream: never sent again */
    enum dstate state;
    bool more;         /* the last pass stopped at its budget */
    bool timed;        /* waiting for the timer (at due) */
    uint64_t due;      /* loop time, ms */
    uint64_t retry_ms; /* back-off after a failed delete; 0 when none failed */
    struct delivery *next;
};

static void delivery_free(struct delivery *d)
{
    struct offline *o = d->o;
    for (struct delivery **p = &o->deliveries; *p; p = &(*p)->next) {
        if (*p == d) {
            *p = d->next;
            break;
        }
    }
    free(d->domain);
    free(d->user);
    free(d->sent.v);
    free(d);
}

static void arm_timer(struct offline *o)
{
    uint64_t now = uv_now(o->srv->loop), first = UINT64_MAX;
    for (struct delivery *d = o->deliveries; d; d = d->next)
        if (d->timed && d->due < first)
            first = d->due;
    if (first == UINT64_MAX || uv_is_closing((uv_handle_t *)&o->timer))
        return;
    uv_timer_start(&o->timer, on_timer, first > now ? first - now : 0, 0);
}

static void schedule(struct delivery *d, uint64_t delay_ms)
{
    d->timed = true;
    d->due = uv_now(d->o->srv->loop) + delay_ms;
    arm_timer(d->o);
}

/* Delivers one chunk; adds what it queued to d->sent and its size to
 * *bytes. A row that cannot be read back is counted as sent, so it is
 * deleted too (it never could be delivered). -errno once delivery fails
 * (the session is closing). */
static int deliver_chunk(struct delivery *d, struct chunk *ch, size_t *bytes)
{
    for (size_t i = 0; i < ch->n; i++) {
        struct stanza *st = parse_stored(d->o->srv->cfg, ch->rows[i].xml, ch->rows[i].len);
        int rc = 0;
        if (st)
            rc = d->s->ops->deliver(d->s, st);
        else
            log_warn("offline: dropping a stored message that cannot be read back");
        if (st)
            stanza_unref(st);
        if (rc < 0 || ids_push(&d->sent, ch->rows[i].id) < 0)
            return rc < 0 ? rc : -ENOMEM;
        d->after = ch->rows[i].id;
        *bytes += ch->rows[i].len;
    }
    return 0;
}

/* Queues rows after d->after on the stream, up to half of the send queue
 * (a long backlog must not overflow it and close the stream). 0 or
 * -errno (a store error, or a closing session). */
static int queue_pass(struct delivery *d)
{
    struct server *srv = d->o->srv;
    size_t budget = srv->cfg->send_queue_max / 2, bytes = 0;
    int rc = 0, listed = OFFLINE_CHUNK;
    while (rc == 0 && bytes < budget && listed == OFFLINE_CHUNK) {
        struct chunk ch = {.n = 0};
        listed = store_offline_list_sync(srv->store, d->domain, d->user, d->after, OFFLINE_CHUNK,
                                         take_row, &ch);
        rc = listed < 0 ? listed : ch.err;
        if (rc == 0)
            rc = deliver_chunk(d, &ch, &bytes);
        chunk_free(&ch);
    }
    d->more = rc == 0 && listed == OFFLINE_CHUNK;
    return rc;
}

static bool wants_more(const struct delivery *d)
{
    return d->s && d->s->available && d->s->priority >= 0 && !d->o->srv->stopping;
}

static void on_flushed(void *ud, int status);

/* A pass: queue rows, then ask to be told when their bytes have left the
 * process. Nothing queued: the backlog is done. A session that closes
 * under the pass keeps every row of it (they come again at next login). */
static void run_pass(struct delivery *d)
{
    d->timed = false;
    if (!wants_more(d)) {
        delivery_free(d);
        return;
    }
    /* On an error the pass stops; what it queued is deleted once flushed
     * and the rest waits for the next login. A failed deliver means the
     * stream is closing: then the mark is refused and nothing deleted. */
    if (queue_pass(d) < 0)
        d->more = false;
    if (d->sent.n == 0 || d->s->ops->on_flushed(d->s, on_flushed, d) < 0) {
        delivery_free(d);
        return;
    }
    d->state = D_FLUSHING;
    log_debug("offline: queued %zu message(s)", d->sent.n);
}

/* Logged at most once a minute however many deliveries fail: a full
 * disk fails every one of them. No JID. */
static void warn_delete_failed(struct offline *o, int rc)
{
    uint64_t now = uv_now(o->srv->loop);
    if (o->warned_at && now - o->warned_at < OFFLINE_WARN_EVERY_MS) {
        o->suppressed++;
        return;
    }
    log_warn("offline: delivered messages could not be deleted (%s); delivery to that "
             "session paused, retrying with back-off (%u similar failure(s) not logged)",
             strerror(-rc), o->suppressed);
    o->warned_at = now ? now : 1;
    o->suppressed = 0;
}

/* Deletes the rows the stream has taken. Then the next pass, or, if the
 * store refuses (disk full), a retry with back-off: nothing more is sent
 * until the rows already sent are gone, so none is ever sent twice. */
static void delete_done(void *ud, int rc, int64_t value);

static void delete_sent(struct delivery *d)
{
    struct offline *o = d->o;
    d->timed = false;
    d->state = D_DELETING;
    int64_t id = store_offline_delete(o->srv->storeq, d->domain, d->user, d->sent.v, d->sent.n,
                                      delete_done, d);
    if (id < 0)
        delete_done(d, (int)id, 0);
}

/* The delete's commit (or failure). The record waited for it even if its
 * session went meanwhile (session_gone leaves a D_DELETING record alone). */
static void delete_done(void *ud, int rc, int64_t value)
{
    struct delivery *d = ud;
    struct offline *o = d->o;
    (void)value;
    if (rc < 0 && rc != -ENOENT) {
        warn_delete_failed(o, rc);
        if (!d->s) {
            delivery_free(d); /* no stream to protect: the rows stay stored */
            return;
        }
        d->state = D_DELETE;
        d->retry_ms = d->retry_ms ? d->retry_ms * 2 : OFFLINE_RETRY_MIN_MS;
        if (d->retry_ms > OFFLINE_RETRY_MAX_MS)
            d->retry_ms = OFFLINE_RETRY_MAX_MS;
        schedule(d, d->retry_ms);
        return;
    }
    if (d->retry_ms)
        log_info("offline: delivered messages deleted after a retry; delivery resumes");
    d->sent.n = 0;
    d->retry_ms = 0;
    d->state = D_SEND;
    if (rc == 0 && d->more && wants_more(d))
        schedule(d, 0);
    else
        delivery_free(d);
}

/* The flush mark of a pass: its bytes reached the kernel (status 0), or
 * the stream ended first and the rows stay stored. */
static void on_flushed(void *ud, int status)
{
    struct delivery *d = ud;
    if (status < 0) {
        log_debug("offline: stream ended before %zu message(s) left; kept", d->sent.n);
        delivery_free(d);
        return;
    }
    delete_sent(d);
}

static void on_timer(uv_timer_t *t)
{
    struct offline *o = t->data;
    uint64_t now = uv_now(o->srv->loop);
    struct delivery *d;
    /* Each step may free its record: look again from the start. */
    do {
        for (d = o->deliveries; d && !(d->timed && d->due <= now); d = d->next)
            ;
        if (d && d->state == D_DELETE)
            delete_sent(d);
        else if (d)
            run_pass(d);
    } while (d);
    arm_timer(o);
}

static struct delivery *find_by_session(struct offline *o, uint64_t id)
{
    for (struct delivery *d = o->deliveries; d; d = d->next)
        if (d->s && d->sess_id == id)
            return d;
    return NULL;
}

/* One delivery per account and live session at a time: a second
 * resource coming online meanwhile would otherwise be sent the rows the
 * first has not deleted. A record whose session has gone (waiting for its
 * last flush) does not count: a client reconnecting at once, replacing
 * its old stream, gets its backlog (perhaps some of it twice). */
static bool account_busy(struct offline *o, const struct session *s)
{
    for (struct delivery *d = o->deliveries; d; d = d->next)
        if (d->s && strcmp(d->user, s->jid.local) == 0 && strcmp(d->domain, s->jid.domain) == 0)
            return true;
    return false;
}

static void start_delivery(struct offline *o, struct session *s)
{
    if (account_busy(o, s))
        return;
    struct delivery *d = calloc(1, sizeof *d);
    if (d) {
        d->domain = strdup(s->jid.domain);
        d->user = strdup(s->jid.local);
    }
    if (!d || !d->domain || !d->user) {
        if (d) {
            free(d->domain);
            free(d->user);
        }
        free(d);
        return; /* the messages wait for the next login */
    }
    d->o = o;
    d->s = s;
    d->sess_id = s->id;
    d->next = o->deliveries;
    o->deliveries = d;
    run_pass(d);
}

/* A message was committed for s's account while s was available: a
 * delivery under way makes one more pass (it lists rows after the last
 * it sent), else one starts. */
static void kick_delivery(struct offline *o, struct session *s)
{
    for (struct delivery *d = o->deliveries; d; d = d->next) {
        if (d->s && strcmp(d->user, s->jid.local) == 0 && strcmp(d->domain, s->jid.domain) == 0) {
            d->more = true;
            return;
        }
    }
    start_delivery(o, s);
}

static void session_gone(struct offline *o, struct session *s)
{
    struct delivery *d = find_by_session(o, s->id);
    if (!d)
        return;
    d->s = NULL;
    if (d->state != D_FLUSHING && d->state != D_DELETING)
        delivery_free(d); /* its flush mark, if any, has fired */
}

static void offline_session_event(struct server *srv, void *state, struct session *s,
                                  enum session_event ev)
{
    struct offline *o = state;
    (void)srv;
    if (ev == SESSION_AVAILABLE && s->priority >= 0 && s->jid.local)
        start_delivery(o, s);
    else if (ev == SESSION_CLOSING)
        session_gone(o, s);
    /* SESSION_UNAVAILABLE: the pass under way finishes (its rows are
     * deleted once flushed); no further pass starts (wants_more). */
}

static int offline_init(struct server *srv, void *state)
{
    struct offline *o = state;
    o->srv = srv;
    if (uv_timer_init(srv->loop, &o->timer) < 0)
        return -EIO;
    o->timer.data = o;
    return 0;
}

/* The loop has closed every handle (the timer too) before modules_fini. */
static void offline_fini(struct server *srv, void *state)
{
    (void)srv;
    struct offline *o = state;
    for (struct delivery *d = o ? o->deliveries : NULL, *next; d; d = next) {
        next = d->next;
        delivery_free(d);
    }
}

/* ---- the data contract ---- */

static void oldest_row(void *ud, int64_t id, int64_t unix_time, const char *xml, size_t len)
{
    (void)id, (void)xml, (void)len;
    *(int64_t *)ud = unix_time;
}

static int offline_describe(const struct data_ctx *d, const char *domain, const char *user,
                            data_fact_fn fn, void *ud)
{
    uint64_t count = 0, bytes = 0;
    int64_t oldest = 0;
    int rc = store_offline_usage_sync(d->store, domain, user, &count, &bytes);
    if (rc == 0 && count > 0)
        rc = store_offline_list_sync(d->store, domain, user, 0, 1, oldest_row, &oldest);
    if (rc < 0 || count == 0)
        return rc == -ENOENT || rc >= 0 ? 0 : rc;
    struct data_fact f = {
        .kind = "offline",
        .what = {"Messages sent to you while you were offline (XEP-0160), whole, with "
                 "sender and time.",
                 "Nachrichten, die an Sie gesendet wurden, während Sie offline waren "
                 "(XEP-0160), vollständig, mit Absender und Zeit."},
        .unit = {"messages", "Nachrichten"},
        .count = count,
        .bytes = bytes,
        .oldest = oldest,
        .keep = KEEP_UNTIL_DELIVERED,
    };
    return fn(ud, &f);
}

struct export_ctx {
    struct buf *out;
    int err;
};

static void export_row(void *ud, int64_t id, int64_t unix_time, const char *xml, size_t len)
{
    (void)id;
    (void)unix_time;
    struct export_ctx *e = ud;
    if (e->err == 0)
        e->err = buf_append(e->out, xml, len);
}

/* XEP-0227 <offline-messages/>: the stored stanzas (jabber:client, with
 * their delay stamps) as they will be delivered. */
static int offline_export(const struct data_ctx *d, const char *domain, const char *user,
                          struct buf *out)
{
    struct export_ctx e = {out, buf_append_str(out, "<offline-messages>")};
    int n =
        e.err ? 0 : store_offline_list_sync(d->store, domain, user, 0, SIZE_MAX, export_row, &e);
    if (n < 0 && n != -ENOENT)
        return n;
    return e.err ? e.err : buf_append_str(out, "</offline-messages>");
}

/* Deletes the account's messages. Account deletion does not need this
 * (the foreign key cascades), but erase is also "forget my data, keep the
 * account", and a delete by an indexed account_id is cheap. */
static int offline_erase(const struct data_ctx *d, const char *domain, const char *user)
{
    int rc = store_offline_clear_sync(d->store, domain, user);
    return rc == -ENOENT ? 0 : rc;
}

static const char *const offline_features[] = {"msgoffline", NULL};

/* Its configuration: merged after the core's options (core/config.h),
 * in registry order, for loading, --check, init and the reference. */
static const struct config_section offline_cfg_sections[] = {
    {"offline", "Messages kept for users who are offline (XEP-0160, promise P7): kept until "
                "the user connects and they are delivered."},
};

static const struct config_option offline_cfg_options[] = {
    /* offline */
    {.key = "offline.max_messages",
     .type = CFG_INT,
     CFG_AS_INT(offline_max_messages),
     .min = 0,
     .max = 1000000,
     .def = "1000",
     .help = "Most messages kept for one offline user; when full, senders get a "
             "resource-constraint error and nothing more is stored. 0 stores none."},
    {.key = "offline.max_bytes",
     .type = CFG_SIZE,
     CFG_AS_INT(offline_max_bytes),
     .min = 0,
     .max = 1 * CFG_GiB,
     .def = "10MiB",
     .help = "Most bytes of messages kept for one offline user (as stored XML); "
             "when full, senders get a resource-constraint error."},
};

static const struct config_table offline_cfg = {
    .sections = offline_cfg_sections,
    .n_sections = sizeof offline_cfg_sections / sizeof offline_cfg_sections[0],
    .options = offline_cfg_options,
    .n_options = sizeof offline_cfg_options / sizeof offline_cfg_options[0],
};

const struct module mod_offline = {
    .name = "offline",
    .id = MOD_ID_offline,
    .state_size = sizeof(struct offline),
    .config = &offline_cfg,
    .migrations = store_offline_migrations,
    .features = offline_features,
    .init = offline_init,
    .fini = offline_fini,
    .undeliverable = offline_undeliverable,
    .session_event = offline_session_event,
    .describe = offline_describe,
    .export_xml = offline_export,
    .erase = offline_erase,
    /* No sweep: promise P7 keeps messages until they are delivered. */
};
