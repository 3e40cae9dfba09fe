/* Last Activity (XEP-0012, promise P11).
 *
 * To the server: its uptime. To an account's bare JID, answered by the
 * server for those who may see the account's presence (the account and
 * contacts with a 'from' or 'both' subscription; others get forbidden,
 * §3 and §8): 0 seconds while it has a session, else the seconds since
 * its last resource went offline and the status text of the unavailable
 * presence it sent then. A query to a full JID from someone who may not
 * see the presence is refused here instead of reaching the client (§4).
 *
 * The status of a session's last unavailable presence is kept in memory
 * until the session closes; only the last resource's is stored.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hmap.h"
#include "core/log.h"
#include "modules/module.h"
#include "modules/visibility.h"
#include "store/last.h"
#include "store/requests.h"
#include "xmpp/ns.h"
#include "xmpp/router.h"

#define NS_LAST "jabber:iq:last"

struct last_state {
    struct hmap status; /* session full JID -> struct pending_status */
};

struct pending_status {
    char *full; /* key */
    char *text;
};

static int last_init(struct server *srv, void *state)
{
    (void)srv;
    struct last_state *ls = state;
    hmap_init(&ls->status);
    return 0;
}

static void pending_free(struct pending_status *p)
{
    if (p) {
        free(p->full);
        free(p->text);
        free(p);
    }
}

static void last_fini(struct server *srv, void *state)
{
    (void)srv;
    struct last_state *ls = state;
    if (!ls)
        return;
    const char *k;
    void *v;
    for (size_t i = 0; (i = hmap_next(&ls->status, i, &k, &v)) != 0;)
        pending_free(v);
    hmap_free(&ls->status);
}

/* The length of s cut to at most max bytes without splitting a UTF-8
 * character (the parser has checked the encoding). */
static size_t utf8_cut(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max)
        return n;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return max;
}

/* Remembers the status text of a session's unavailable presence. */
static void remember_status(struct last_state *ls, struct session *s, struct stanza *st)
{
    const struct xml_node *n = xml_child(st->root, "status", NS_CLIENT);
    const char *text = n ? xml_text(st, n) : NULL;
    pending_free(hmap_del(&ls->status, s->full));
    if (!text || !*text)
        return;
    struct pending_status *p = calloc(1, sizeof *p);
    if (!p || !(p->full = strdup(s->full)) ||
        !(p->text = strndup(text, utf8_cut(text, LAST_STATUS_MAX))) ||
        hmap_put(&ls->status, p->full, p) < 0) {
        pending_free(p); /* the status is optional: go on without it */
        return;
    }
}

/* Watches broadcast presence (no 'to') before the presence module
 * handles it; never ends the routing. */
static enum hook_result last_outbound(struct hook_ctx *c)
{
    if (c->kind != STANZA_PRESENCE || !c->no_to || !c->origin)
        return HOOK_PASS;
    const char *type = xml_attr(c->st->root, "type");
    if (type && strcmp(type, "unavailable") == 0)
        remember_status(c->state, c->origin, c->st);
    return HOOK_PASS;
}

static bool is_last_query(const struct stanza *st)
{
    const char *type = xml_attr(st->root, "type");
    const struct xml_node *q = xml_first_elem(st->root);
    return type && strcmp(type, "get") == 0 && q && strcmp(q->name, "query") == 0 &&
           strcmp(q->ns, NS_LAST) == 0;
}

/* §4: a query to a full JID reaches the client only from someone who
 * may see the user's presence. */
static enum hook_result last_inbound(struct hook_ctx *c)
{
    if (c->kind != STANZA_IQ || !c->to->resource || !is_last_query(c->st))
        return HOOK_PASS;
    if (presence_visible_to(c->srv, c->to->domain, c->to->local, c->from))
        return HOOK_PASS;
    router_error(c->srv, c->st, SC_FORBIDDEN, NULL);
    return HOOK_HANDLED;
}

static void record_logout(struct server *srv, struct last_state *ls, struct session *s)
{
    struct pending_status *p = hmap_del(&ls->status, s->full);
    bool last_one = router_is_last(srv->router, s);
    if (last_one && s->jid.local) {
        /* Committed by the writer thread; a failure is logged there. */
        int64_t rc = store_last_set_req(srv->storeq, s->jid.domain, s->jid.local, server_now(srv),
                                        p ? p->text : NULL);
        if (rc < 0)
            log_warn("last: could not queue a logout (%d)", (int)rc);
    }
    pending_free(p);
}

static void last_session_event(struct server *srv, void *state, struct session *s,
                               enum session_event ev)
{
    if (ev == SESSION_CLOSING)
        record_logout(srv, state, s);
}

/* Answers with <query seconds='N'>text</query>. */
static void reply_seconds(const struct iq_request *rq, int64_t seconds, const char *text)
{
    char num[24];
    snprintf(num, sizeof num, "%" PRId64, seconds < 0 ? (int64_t)0 : seconds);
    struct stanza *res = iq_result_new(rq->st);
    struct xml_node *q = res ? xml_add_child(res, res->root, "query", NS_LAST) : NULL;
    if (!q || xml_set_attr(res, q, "seconds", num) < 0 ||
        (text && *text && !xml_add_text(res, q, text, strlen(text)))) {
        if (res)
            stanza_unref(res);
        iq_reply_error(rq, SC_INTERNAL_SERVER_ERROR, NULL);
        return;
    }
    iq_reply(rq, res);
}

static void account_last(const struct iq_request *rq)
{
    const char *domain = rq->to->domain, *user = rq->to->local;
    if (!presence_visible_to(rq->srv, domain, user, rq->from)) {
        iq_reply_error(rq, SC_FORBIDDEN, NULL);
        return;
    }
    char bare[3 * (JID_PART_MAX + 1)];
    jid_format(rq->to, true, bare, sizeof bare);
    if (router_count(rq->srv->router, bare)) {
        reply_seconds(rq, 0, NULL);
        return;
    }
    struct buf status;
    buf_init(&status, LAST_STATUS_MAX + 1);
    int64_t t = 0;
    int rc = store_last_get(rq->srv->store, domain, user, &t, &status);
    if (rc == 0)
        reply_seconds(rq, server_now(rq->srv) - t, status.data);
    else
        iq_reply_error(rq, rc == -ENOENT ? SC_SERVICE_UNAVAILABLE : SC_INTERNAL_SERVER_ERROR, NULL);
    buf_free(&status);
}

static void last_query(const struct iq_request *rq)
{
    if (!rq->to->local)
        reply_seconds(rq, server_now(rq->srv) - rq->srv->start_time, NULL);
    else
        account_last(rq);
}

/* ---- data contract ---- */

static int last_describe(const struct data_ctx *d, const char *domain, const char *user,
                         data_fact_fn fn, void *ud)
{
    struct buf status;
    buf_init(&status, LAST_STATUS_MAX + 1);
    int64_t t = 0;
    int rc = store_last_get(d->store, domain, user, &t, &status);
    struct data_fact f = {
        .kind = "last",
        .what = {"The time your last session ended and the status text you sent then "
                 "(XEP-0012); shown only to you and to contacts who see your presence.",
                 "Das Ende Ihrer letzten Sitzung und der Statustext, den Sie dabei "
                 "gesendet haben (XEP-0012); sichtbar nur für Sie und für Kontakte, die "
                 "Ihren Status sehen."},
        .unit = {"record", "Eintrag"},
        .count = 1,
        .bytes = status.len,
        .oldest = t,
        .keep = KEEP_UNTIL_REPLACED,
    };
    buf_free(&status);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    return fn(ud, &f);
}

/* XEP-0227 has no element for last activity: XEP-0012's own query, with
 * the seconds counted to the time of the export. */
static int last_export(const struct data_ctx *d, const char *domain, const char *user,
                       struct buf *out)
{
    struct buf status;
    buf_init(&status, LAST_STATUS_MAX + 1);
    int64_t t = 0;
    int rc = store_last_get(d->store, domain, user, &t, &status);
    if (rc == 0) {
        int64_t secs = d->now > t ? d->now - t : 0;
        rc = buf_printf(out, "<query xmlns='" NS_LAST "' seconds='%" PRId64 "'>", secs);
        if (rc == 0)
            rc = xml_escape(out, status.data ? status.data : "", status.len, false);
        if (rc == 0)
            rc = buf_append_str(out, "</query>");
    }
    buf_free(&status);
    return rc == -ENOENT ? 0 : rc;
}

static int last_erase(const struct data_ctx *d, const char *domain, const char *user)
{
    return store_last_delete(d->store, domain, user);
}

static const struct iq_handler last_iq[] = {
    {NS_LAST, "query", IQ_GET, IQ_TO_SERVER | IQ_TO_ACCOUNT, NS_LAST, last_query},
};

const struct module mod_last = {
    .name = "last",
    .id = MOD_ID_last,
    .state_size = sizeof(struct last_state),
    .iq = last_iq,
    .n_iq = sizeof last_iq / sizeof last_iq[0],
    .init = last_init,
    .fini = last_fini,
    .outbound = last_outbound,
    .inbound = last_inbound,
    .session_event = last_session_event,
    .describe = last_describe,
    .export_xml = last_export,
    .erase = last_erase,
};
