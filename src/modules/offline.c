/* Offline messages (XEP-0160, promise P7; XEP-0203 delay stamps).
 *
 * A chat or normal message for an account with no available resource of
 * non-negative priority (the router's undeliverable hook) is stored as XML,
 * with a <delay/> from the account's domain already added, when it carries
 * something worth keeping (XEP-0160 §3, XEP-0334 hints). When a resource
 * sends initial presence with a non-negative priority, the messages are
 * delivered oldest first and the delivered ones deleted.
 *
 * Delivery is paced: one pass queues at most half of the connection's send
 * queue (limits.send_queue_max), so a long backlog cannot overflow the
 * queue and close the stream (which would lose messages already counted as
 * delivered); the rest follows from a short timer while the session stays
 * available.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include "core/log.h"
#include "modules/module.h"
#include "store/offline.h"
#include "xmpp/ns.h"
#include "xmpp/router.h"

#define NS_DELAY "urn:xmpp:delay"
#define NS_HINTS "urn:xmpp:hints"
#define NS_CHATSTATES "http://jabber.org/protocol/chatstates"
#define OFFLINE_CHUNK 8       /* rows read from the store at a time */
#define OFFLINE_PACE_MS 200   /* pause between passes of a long backlog */

struct pending {
    struct session *s; /* removed on SESSION_UNAVAILABLE / SESSION_CLOSING */
    struct pending *next;
};

struct offline {
    struct server *srv;
    uv_timer_t timer;
    struct pending *pending; /* sessions with more messages to come */
};

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

/* Serializes the stamped message (self-contained: xmlns on the root, so
 * export can use it as is) and stores it. 0 or -errno from the store;
 * -ENOBUFS if it is over the stanza size limit. */
static int store_message(struct hook_ctx *c, int64_t now)
{
    const struct config *cfg = c->srv->cfg;
    struct stanza *st = with_delay(c->st, c->to->domain, now);
    if (!st)
        return -ENOMEM;
    struct buf out;
    buf_init(&out, cfg->max_stanza_size);
    int rc = xml_serialize(st->root, "", &out);
    stanza_unref(st);
    if (rc == 0) {
        struct offline_limits lim = {cfg->offline_max_messages, cfg->offline_max_bytes};
        rc = store_offline_add_sync(c->srv->store, c->to->domain, c->to->local, now, out.data,
                                    out.len, &lim);
    }
    buf_free(&out);
    return rc;
}

static enum hook_result offline_undeliverable(struct hook_ctx *c)
{
    const char *type = xml_attr(c->st->root, "type");
    if (c->kind != STANZA_MESSAGE || !c->to->local || c->srv->cfg->offline_max_messages == 0 ||
        (type && strcmp(type, "chat") != 0 && strcmp(type, "normal") != 0))
        return HOOK_PASS;
    switch (worth_storing(c->st->root)) {
    case KEEP_DROP:
        return HOOK_HANDLED;
    case KEEP_REFUSE:
        return HOOK_PASS; /* the router answers service-unavailable */
    case KEEP_STORE:
        break;
    }
    int rc = store_message(c, server_now(c->srv));
    if (rc == -EDQUOT) {
        router_error(c->srv, c->st, SC_RESOURCE_CONSTRAINT, "offline storage is full");
        return HOOK_HANDLED;
    }
    if (rc < 0)
        log_debug("offline: not stored (%d)", rc);
    return rc == 0 ? HOOK_HANDLED : HOOK_PASS;
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

/* Growable list of delivered ids, deleted together at the end of a pass. */
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

/* Delivers one chunk; adds what it handled to ids and its size to *sent.
 * A row that cannot be read back is deleted too (it never could be
 * delivered). Returns -errno once delivery fails (the session is closing). */
static int deliver_chunk(struct offline *o, struct session *s, struct chunk *ch,
                         struct ids *ids, size_t *sent)
{
    for (size_t i = 0; i < ch->n; i++) {
        struct stanza *st = parse_stored(o->srv->cfg, ch->rows[i].xml, ch->rows[i].len);
        int rc = 0;
        if (st)
            rc = s->ops->deliver(s, st);
        else
            log_warn("offline: dropping a stored message that cannot be read back");
        if (st)
            stanza_unref(st);
        if (rc < 0 || ids_push(ids, ch->rows[i].id) < 0)
            return rc < 0 ? rc : -ENOMEM;
        *sent += ch->rows[i].len;
    }
    return 0;
}

/* One pass: delivers up to the byte budget, then deletes what went out in
 * one transaction. Returns 1 if more messages wait, 0 if none, -errno. */
static int deliver_pass(struct offline *o, struct session *s)
{
    struct server *srv = o->srv;
    size_t budget = srv->cfg->send_queue_max / 2, sent = 0;
    struct ids ids = {0};
    int64_t after = 0;
    int rc = 0, listed = OFFLINE_CHUNK;
    while (rc == 0 && sent < budget && listed == OFFLINE_CHUNK) {
        struct chunk ch = {.n = 0};
        listed = store_offline_list_sync(srv->store, s->jid.domain, s->jid.local, after,
                                         OFFLINE_CHUNK, take_row, &ch);
        rc = listed < 0 ? listed : ch.err;
        if (rc == 0 && ch.n > 0) {
            after = ch.rows[ch.n - 1].id;
            rc = deliver_chunk(o, s, &ch, &ids, &sent);
        }
        chunk_free(&ch);
    }
    int del = store_offline_delete_sync(srv->store, s->jid.domain, s->jid.local, ids.v, ids.n);
    if (del < 0)
        log_error("offline: delivered messages could not be deleted (%d)", del);
    if (ids.n > 0)
        log_debug("offline: delivered %zu message(s)", ids.n);
    free(ids.v);
    if (rc < 0)
        return rc;
    return sent >= budget && listed == OFFLINE_CHUNK ? 1 : 0;
}

static void pending_remove(struct offline *o, struct session *s)
{
    for (struct pending **p = &o->pending; *p; p = &(*p)->next) {
        if ((*p)->s == s) {
            struct pending *dead = *p;
            *p = dead->next;
            free(dead);
            return;
        }
    }
}

static void on_pace(uv_timer_t *t);

static void pending_add(struct offline *o, struct session *s)
{
    for (struct pending *p = o->pending; p; p = p->next)
        if (p->s == s)
            return;
    struct pending *p = malloc(sizeof *p);
    if (!p)
        return; /* the rest waits for the next login */
    p->s = s;
    p->next = o->pending;
    o->pending = p;
    if (!uv_is_active((uv_handle_t *)&o->timer) && !uv_is_closing((uv_handle_t *)&o->timer))
        uv_timer_start(&o->timer, on_pace, OFFLINE_PACE_MS, 0);
}

static void deliver_and_pace(struct offline *o, struct session *s)
{
    if (deliver_pass(o, s) == 1)
        pending_add(o, s);
    else
        pending_remove(o, s);
}

static void on_pace(uv_timer_t *t)
{
    struct offline *o = t->data;
    struct pending *list = o->pending;
    o->pending = NULL;
    while (list) {
        struct pending *p = list;
        list = p->next;
        struct session *s = p->s;
        free(p);
        if (!o->srv->stopping && s->available && s->priority >= 0)
            deliver_and_pace(o, s);
    }
}

static void offline_session_event(struct server *srv, void *state, struct session *s,
                                  enum session_event ev)
{
    struct offline *o = state;
    (void)srv;
    if (ev == SESSION_AVAILABLE && s->priority >= 0 && s->jid.local)
        deliver_and_pace(o, s);
    else if (ev == SESSION_UNAVAILABLE || ev == SESSION_CLOSING)
        pending_remove(o, s);
}

static int offline_init(struct server *srv, void **state)
{
    struct offline *o = calloc(1, sizeof *o);
    if (!o)
        return -ENOMEM;
    o->srv = srv;
    if (uv_timer_init(srv->loop, &o->timer) < 0) {
        free(o);
        return -EIO;
    }
    o->timer.data = o;
    *state = o;
    return 0;
}

/* The loop has closed every handle (the timer too) before modules_fini. */
static void offline_fini(struct server *srv, void *state)
{
    (void)srv;
    struct offline *o = state;
    while (o && o->pending) {
        struct pending *p = o->pending;
        o->pending = p->next;
        free(p);
    }
    free(o);
}

/* ---- the data contract ---- */

static int offline_describe(const struct data_ctx *d, const char *domain, const char *user,
                            struct buf *out)
{
    uint64_t count = 0, bytes = 0;
    int rc = store_offline_usage_sync(d->store, domain, user, &count, &bytes);
    if (rc == -ENOENT)
        return 0;
    if (rc < 0)
        return rc;
    return buf_printf(out,
                      "Offline messages: %llu (%llu bytes), messages sent to you while you "
                      "were offline, kept until you connect and they are delivered.\n",
                      (unsigned long long)count, (unsigned long long)bytes);
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
    int n = e.err ? 0 : store_offline_list_sync(d->store, domain, user, 0, SIZE_MAX, export_row, &e);
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

const struct module mod_offline = {
    .name = "offline",
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
