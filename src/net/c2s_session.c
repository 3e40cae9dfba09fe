/* Client streams after SASL: resource binding (RFC 6120 §7), the legacy
 * session feature, checking and stamping stanzas (§8.1) and handing them
 * to the router; the session ops the router delivers through. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "core/log.h"
#include "modules/module.h"
#include "net/c2s_internal.h"
#include "store/queue.h"
#include "store/requests.h"
#include "store/store.h"
#include "xmpp/ns.h"
#include "xmpp/router.h"

#define C2S_OF(s) ((struct c2s *)(s)->transport)

static int sess_deliver(struct session *s, struct stanza *st)
{
    struct c2s *c = C2S_OF(s);
    if (c->state == C2S_CLOSING)
        return -EPIPE;
    /* Every stanza for a session passes here: the modules' delivery
     * filters (carbons, CSI, SM counting) run on it first. */
    struct stanza *out = modules_filter_delivery(c->srv, s, st);
    if (!out)
        return 0;
    int rc = c2s_send_stanza(c, out);
    stanza_unref(out);
    if (rc == 0)
        c2s_hold_sender(c);
    return rc;
}

static int sess_on_flushed(struct session *s, void (*cb)(void *ud, int status), void *ud)
{
    struct c2s *c = C2S_OF(s);
    if (c->state == C2S_CLOSING)
        return -EPIPE;
    return conn_on_flushed(c->conn, cb, ud);
}

static int sess_kick(struct session *s, enum stream_cond cond, const char *text)
{
    struct c2s *c = C2S_OF(s);
    if (c->state == C2S_CLOSING)
        return 0;
    c2s_stream_error(c, cond, text);
    return 1;
}

static const struct session_ops c2s_session_ops = {
    .deliver = sess_deliver,
    .on_flushed = sess_on_flushed,
    .kick = sess_kick,
};

/* Sends a stanza error for st straight to this client (its 'from' may
 * not be routable yet), from our domain. */
static void reply_error_text(struct c2s *c, const struct stanza *st, enum stanza_cond cond,
                             const char *text)
{
    struct stanza *err = stanza_error_reply(st, cond, text);
    if (!err)
        return;
    xml_set_attr(err, err->root, "from", NULL);
    xml_set_attr(err, err->root, "to", NULL);
    c2s_send_stanza(c, err);
    stanza_unref(err);
}

static void reply_error(struct c2s *c, const struct stanza *st, enum stanza_cond cond)
{
    reply_error_text(c, st, cond, NULL);
}

void c2s_unbind(struct c2s *c)
{
    c2s_release_waiters(c);
    if (!c->bound)
        return;
    modules_session_event(c->srv, c->sess, SESSION_CLOSING);
    router_unbind(c->srv->router, c->sess);
    c->sess = NULL;
    c->bound = false;
}

/* A random resource (RFC 6120 §7.6: the server generates one). */
static void random_resource(char out[17])
{
    unsigned char r[8];
    static const char hex[] = "0123456789abcdef";
    RAND_bytes(r, sizeof r);
    for (int i = 0; i < 8; i++) {
        out[2 * i] = hex[r[i] >> 4];
        out[2 * i + 1] = hex[r[i] & 15];
    }
    out[16] = '\0';
}

/* The router's new session for user@domain/resource, carried by c. */
static struct session *new_session(struct c2s *c, const char *resource)
{
    size_t n = strlen(c->user) + strlen(c->domain) + strlen(resource) + 3;
    char *full = malloc(n);
    if (!full)
        return NULL;
    snprintf(full, n, "%s@%s/%s", c->user, c->domain, resource);
    struct jid j;
    int rc = jid_parse(&j, full, strlen(full));
    free(full);
    if (rc < 0)
        return NULL;
    struct session *s = router_session_new(c->srv->router, &j, &c2s_session_ops, c);
    jid_free(&j);
    return s;
}

static void bind_result(struct c2s *c, const struct stanza *req)
{
    const char *full = c->sess->full;
    struct stanza *res = iq_result_new(req);
    struct xml_node *b = res ? xml_add_child(res, res->root, "bind", NS_BIND) : NULL;
    if (b && xml_add_text_elem(res, b, "jid", full) == 0) {
        xml_set_attr(res, res->root, "from", NULL);
        xml_set_attr(res, res->root, "to", NULL);
        c2s_send_stanza(c, res);
    } else {
        c2s_stream_error(c, STREAM_INTERNAL_SERVER_ERROR, NULL);
    }
    if (res)
        stanza_unref(res);
}

/* RFC 6120 §7.6.2.1 and §13.12 (3): an account at
 * limits.max_sessions_per_account binds no new resource. Taking over one
 * of its own resources (conflict, below) adds none, so it is allowed. */
static bool account_full(struct c2s *c, const struct session *s)
{
    struct router *r = c->srv->router;
    if (router_session_full(r, &s->jid))
        return false;
    return router_count(r, s->bare) >= c->srv->cfg->max_sessions_per_account;
}

/* A session for resource, bound in the router; NULL after answering the
 * request with an error. *old gets the session it replaced. */
static struct session *bind_session(struct c2s *c, const struct stanza *st, const char *res,
                                    struct session **old)
{
    struct router *r = c->srv->router;
    struct session *s = new_session(c, res);
    if (!s) {
        reply_error(c, st, SC_INTERNAL_SERVER_ERROR);
        return NULL;
    }
    if (account_full(c, s)) {
        log_debug("c2s %s: bind refused, account at its session limit", conn_id(c->conn));
        router_session_free(r, s);
        reply_error_text(c, st, SC_RESOURCE_CONSTRAINT, "Too many sessions for this account");
        return NULL;
    }
    if (router_bind(r, s, old) < 0) {
        router_session_free(r, s);
        reply_error(c, st, SC_RESOURCE_CONSTRAINT);
        return NULL;
    }
    return s;
}

static void do_bind(struct c2s *c, const struct stanza *st, const struct xml_node *bind)
{
    char res[JID_PART_MAX + 1];
    const struct xml_node *r = xml_child(bind, "resource", NS_BIND);
    const char *want = r ? xml_text((struct stanza *)st, r) : NULL;
    if (want && *want) {
        if (jid_prep_resource(want, res, sizeof res) < 0) {
            reply_error(c, st, SC_BAD_REQUEST);
            return;
        }
    } else {
        random_resource(res);
    }
    struct session *old = NULL;
    if (!(c->sess = bind_session(c, st, res, &old)))
        return;
    c->sess_id = c->sess->id;
    c->bound = true;
    c->state = C2S_SESSION;
    if (old) /* the policy: the new session replaces the old one */
        old->ops->kick(old, STREAM_CONFLICT, "Replaced by a new connection");
    bind_result(c, st);
    modules_session_event(c->srv, c->sess, SESSION_BOUND);
    if (store_touch_login(c->srv->storeq, c->domain, c->user, server_now(c->srv)) < 0)
        log_warn("c2s %s: could not queue the login time", conn_id(c->conn));
}

static bool is_type(const struct stanza *st, const char *type)
{
    const char *t = xml_attr(st->root, "type");
    return t && strcmp(t, type) == 0;
}

/* Before binding only the bind request is allowed (RFC 6120 §7.1). */
static void before_bind(struct c2s *c, struct stanza *st)
{
    const struct xml_node *bind = xml_child(st->root, "bind", NS_BIND);
    if (stanza_kind(st->root) == STANZA_IQ && is_type(st, "set") && bind)
        do_bind(c, st, bind);
    else
        c2s_stream_error(c, STREAM_NOT_AUTHORIZED, NULL);
}

/* The answer to our keepalive ping is for this stream alone. */
static bool is_ping_answer(struct c2s *c, const struct stanza *st)
{
    const char *id = xml_attr(st->root, "id");
    const char *to = xml_attr(st->root, "to");
    return c->ping_id[0] && id && strcmp(id, c->ping_id) == 0 &&
           (!to || strcmp(to, c->domain) == 0) && (is_type(st, "result") || is_type(st, "error"));
}

static bool from_ok(struct c2s *c, const char *from)
{
    struct jid j;
    if (jid_parse(&j, from, strlen(from)) < 0)
        return false;
    bool ok = j.resource ? jid_equal(&j, &c->sess->jid) : jid_bare_equal(&j, &c->sess->jid);
    jid_free(&j);
    return ok;
}

static void route(struct c2s *c, struct stanza *st, enum stanza_kind kind)
{
    const char *to_s = xml_attr(st->root, "to");
    struct jid to;
    if (to_s && jid_parse(&to, to_s, strlen(to_s)) < 0) {
        reply_error(c, st, SC_JID_MALFORMED);
        return;
    }
    if (kind == STANZA_IQ && xml_child(st->root, "session", NS_SESSION) && is_type(st, "set")) {
        struct stanza *res = iq_result_new(st);
        if (res)
            xml_set_attr(res, res->root, "to", NULL);
        if (res)
            c2s_send_stanza(c, res);
        if (res)
            stanza_unref(res);
    } else {
        /* Deliveries made meanwhile know whom to slow down: this client,
         * if it chose the receivers (c2s_fair.c). */
        struct c2s *outer = c->srv->dispatching;
        c->srv->dispatching = c2s_sender_chose(st, kind) ? c : NULL;
        uint64_t mark = store_queue_hold_mark(c->srv->storeq);
        router_route(c->srv, st, &c->sess->jid, to_s ? &to : NULL, c->sess);
        c->srv->dispatching = outer;
        c2s_hold_for_store(c, mark);
    }
    if (to_s)
        jid_free(&to);
}

static void in_session(struct c2s *c, struct stanza *st, enum stanza_kind kind)
{
    const char *from = xml_attr(st->root, "from");
    if (from && !from_ok(c, from)) {
        c2s_stream_error(c, STREAM_INVALID_FROM, NULL);
        return;
    }
    if (kind == STANZA_IQ && !stanza_iq_valid(st->root)) {
        reply_error(c, st, SC_BAD_REQUEST);
        return;
    }
    if (kind == STANZA_IQ && is_ping_answer(c, st)) {
        c->ping_id[0] = '\0';
        return;
    }
    if (xml_set_attr(st, st->root, "from", c->sess->full) < 0) {
        reply_error(c, st, SC_INTERNAL_SERVER_ERROR);
        return;
    }
    route(c, st, kind);
}

void c2s_stanza(struct c2s *c, struct stanza *st)
{
    enum stanza_kind kind = stanza_kind(st->root);
    if (kind == STANZA_OTHER)
        c2s_stream_error(c, STREAM_UNSUPPORTED_STANZA_TYPE, NULL);
    else if (!c->bound)
        before_bind(c, st);
    else
        in_session(c, st, kind);
    stanza_unref(st);
}

void c2s_send_ping(struct c2s *c)
{
    const char *full = c->sess->full;
    snprintf(c->ping_id, sizeof c->ping_id, "ping-%llx", (unsigned long long)++c->srv->next_id);
    struct buf *out = &c->srv->scratch;
    buf_reset(out);
    int rc = buf_printf(out, "<iq type='get' id='%s' from='", c->ping_id);
    if (rc == 0)
        rc = xml_escape(out, c->domain, strlen(c->domain), true);
    if (rc == 0)
        rc = buf_append_str(out, "' to='");
    if (rc == 0)
        rc = xml_escape(out, full, strlen(full), true);
    if (rc == 0)
        rc = buf_append_str(out, "'><ping xmlns='" NS_PING "'/></iq>");
    if (rc == 0 && c2s_write(c, out->data, out->len) == 0)
        c->ping_sent = c2s_now(c);
}
