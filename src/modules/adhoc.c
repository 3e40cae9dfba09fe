/* Ad-hoc commands (XEP-0050): discovery, sessions and execution.
 *
 * A session exists only between the stages of a multi-stage command: it
 * is created when a command first returns a form and ends when the command
 * completes, the requester cancels, the session times out or the
 * requester's own session closes. It is bound to the requester's full JID
 * and to the command node, so another client cannot continue it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "modules/adhoc.h"
#include "xmpp/ns.h"
#include "modules/iq_later.h"
#include "xmpp/router.h"

#define SESSION_TTL 600 /* seconds a form may wait for its submission */
#define MAX_SESSIONS 64 /* in all */
#define MAX_SESSIONS_PER_JID 8
#define SESSIONID_MAX 48

struct adhoc_session {
    char id[SESSIONID_MAX];
    const struct adhoc_command *cmd;
    char *requester; /* full JID */
    unsigned stage;  /* the stage the next submission runs */
    int64_t expires;
    struct adhoc_session *next;
};

struct adhoc_state {
    struct adhoc_session *sessions;
    size_t nsessions;
};

/* What the requester asked for in the action attribute. */
enum action { ACT_EXECUTE, ACT_NEXT, ACT_COMPLETE, ACT_PREV, ACT_CANCEL, ACT_BAD };

/* ---- commands and who may run them ---- */

/* The commands are the ones the module descriptors declare, in registry
 * order. */
static const struct adhoc_command *find_command(const char *node)
{
    for (size_t m = 0; m < taube_nmodules; m++)
        for (size_t i = 0; i < taube_modules[m]->n_commands; i++)
            if (strcmp(taube_modules[m]->commands[i].node, node) == 0)
                return &taube_modules[m]->commands[i];
    return NULL;
}

bool adhoc_is_admin(const struct server *srv, const struct jid *from)
{
    const struct strlist *admins = &srv->cfg->admins;
    if (!from || !from->local)
        return false;
    for (size_t i = 0; i < admins->n; i++) {
        struct jid a;
        if (jid_parse(&a, admins->items[i], strlen(admins->items[i])) < 0)
            continue;
        bool same = jid_bare_equal(&a, from);
        jid_free(&a);
        if (same)
            return true;
    }
    return false;
}

/* Commands only for local accounts, admin commands only for local
 * admins: a remote server could claim any JID of its own domain, but
 * never one of ours. */
static bool may_run(const struct iq_request *rq, const struct adhoc_command *c)
{
    if (!rq->origin || !rq->from->local || !server_host(rq->srv, rq->from->domain))
        return false;
    return !c->admin_only || adhoc_is_admin(rq->srv, rq->from);
}

/* ---- disco (called from disco.c) ---- */

static struct stanza *disco_result(const struct iq_request *rq, const char *ns, const char *node,
                                   struct xml_node **q)
{
    struct stanza *res = iq_result_new(rq->st);
    *q = res ? xml_add_child(res, res->root, "query", ns) : NULL;
    if (res && (!*q || xml_set_attr(res, *q, "node", node) < 0)) {
        stanza_unref(res);
        return NULL;
    }
    return res;
}

static int add_identity(struct stanza *st, struct xml_node *q, const char *type, const char *name)
{
    struct xml_node *id = xml_add_child(st, q, "identity", NULL);
    if (!id || xml_set_attr(st, id, "category", "automation") < 0 ||
        xml_set_attr(st, id, "type", type) < 0 || (name && xml_set_attr(st, id, "name", name) < 0))
        return -ENOMEM;
    return 0;
}

static int add_feature(struct stanza *st, struct xml_node *q, const char *var)
{
    struct xml_node *f = xml_add_child(st, q, "feature", NULL);
    return f && xml_set_attr(st, f, "var", var) == 0 ? 0 : -ENOMEM;
}

static void send_or_fail(const struct iq_request *rq, struct stanza *res, int rc)
{
    if (res && rc == 0) {
        iq_reply(rq, res);
        return;
    }
    if (res)
        stanza_unref(res);
    iq_reply_error(rq, SC_INTERNAL_SERVER_ERROR, NULL);
}

int adhoc_disco_info(const struct iq_request *rq, const char *node)
{
    const struct adhoc_command *c = NULL;
    if (strcmp(node, NS_COMMANDS) != 0 && !(c = find_command(node)))
        return -ENOENT;
    if (c && !may_run(rq, c)) {
        iq_reply_error(rq, SC_FORBIDDEN, NULL); /* XEP-0050 §2.2 */
        return 0;
    }
    struct xml_node *q;
    struct stanza *res = disco_result(rq, NS_DISCO_INFO, node, &q);
    int rc = res ? 0 : -ENOMEM;
    if (rc == 0)
        rc = c ? add_identity(res, q, "command-node", c->name)
               : add_identity(res, q, "command-list", NULL);
    if (rc == 0 && c)
        rc = add_feature(res, q, NS_COMMANDS);
    if (rc == 0 && c)
        rc = add_feature(res, q, NS_XDATA);
    send_or_fail(rq, res, rc);
    return 0;
}

static int add_item(const struct iq_request *rq, struct stanza *res, struct xml_node *q,
                    const struct adhoc_command *c)
{
    struct xml_node *it = xml_add_child(res, q, "item", NULL);
    if (!it || xml_set_attr(res, it, "jid", rq->to->domain) < 0 ||
        xml_set_attr(res, it, "node", c->node) < 0 || xml_set_attr(res, it, "name", c->name) < 0)
        return -ENOMEM;
    return 0;
}

int adhoc_disco_items(const struct iq_request *rq, const char *node)
{
    const struct adhoc_command *c = NULL;
    if (strcmp(node, NS_COMMANDS) != 0 && !(c = find_command(node)))
        return -ENOENT;
    struct xml_node *q;
    struct stanza *res = disco_result(rq, NS_DISCO_ITEMS, node, &q);
    int rc = res ? 0 : -ENOMEM;
    /* A command node has no items; the list node has the runnable ones. */
    for (size_t m = 0; rc == 0 && !c && m < taube_nmodules; m++)
        for (size_t i = 0; rc == 0 && i < taube_modules[m]->n_commands; i++)
            if (may_run(rq, &taube_modules[m]->commands[i]))
                rc = add_item(rq, res, q, &taube_modules[m]->commands[i]);
    send_or_fail(rq, res, rc);
    return 0;
}

/* ---- sessions ---- */

static void session_free(struct adhoc_session *s)
{
    free(s->requester);
    free(s);
}

/* Unlinks and frees every session matching (requester, or expired by now
 * when requester is NULL; s itself when only is set). */
static void sessions_drop(struct adhoc_state *st, const char *requester, int64_t now,
                          const struct adhoc_session *only)
{
    for (struct adhoc_session **p = &st->sessions; *p;) {
        struct adhoc_session *s = *p;
        bool drop = only        ? s == only
                    : requester ? strcmp(s->requester, requester) == 0
                                : s->expires <= now;
        if (!drop) {
            p = &s->next;
            continue;
        }
        *p = s->next;
        session_free(s);
        st->nsessions--;
    }
}

static struct adhoc_session *session_find(struct adhoc_state *st, const char *id)
{
    for (struct adhoc_session *s = st->sessions; s; s = s->next)
        if (strcmp(s->id, id) == 0)
            return s;
    return NULL;
}

static size_t sessions_of(const struct adhoc_state *st, const char *requester)
{
    size_t n = 0;
    for (const struct adhoc_session *s = st->sessions; s; s = s->next)
        n += strcmp(s->requester, requester) == 0;
    return n;
}

/* A new session, or NULL with *cond set (resource-constraint when full). */
static struct adhoc_session *session_new(struct adhoc_state *st, struct server *srv,
                                         const struct adhoc_command *c, const char *id,
                                         const char *requester, enum stanza_cond *cond)
{
    int64_t now = server_now(srv);
    sessions_drop(st, NULL, now, NULL);
    *cond = SC_RESOURCE_CONSTRAINT;
    if (st->nsessions >= MAX_SESSIONS || sessions_of(st, requester) >= MAX_SESSIONS_PER_JID)
        return NULL;
    *cond = SC_INTERNAL_SERVER_ERROR;
    struct adhoc_session *s = calloc(1, sizeof *s);
    if (!s || !(s->requester = strdup(requester))) {
        free(s);
        return NULL;
    }
    snprintf(s->id, sizeof s->id, "%s", id);
    s->cmd = c;
    s->expires = now + SESSION_TTL;
    s->next = st->sessions;
    st->sessions = s;
    st->nsessions++;
    return s;
}

/* ---- replies ---- */

/* A stanza error to request with an optional XEP-0050 specific condition
 * (without it if out of memory). */
static void send_error(struct server *srv, const struct stanza *request, enum stanza_cond c,
                       const char *app, const char *text)
{
    struct stanza *err = stanza_error_reply(request, c, text);
    struct xml_node *e = err ? xml_child(err->root, "error", NULL) : NULL;
    if (err && app && (!e || !xml_add_child(err, e, app, NS_COMMANDS))) {
        stanza_unref(err);
        err = stanza_error_reply(request, c, text);
    }
    if (err)
        router_send(srv, err);
}

static void reply_error(const struct iq_request *rq, enum stanza_cond c, const char *app,
                        const char *text)
{
    send_error(rq->srv, rq->st, c, app, text);
}

static struct stanza *command_result(const struct iq_request *rq, const char *node,
                                     const char *sessionid, const char *status,
                                     struct xml_node **cmd)
{
    struct stanza *res = iq_result_new(rq->st);
    *cmd = res ? xml_add_child(res, res->root, "command", NS_COMMANDS) : NULL;
    if (res && (!*cmd || xml_set_attr(res, *cmd, "node", node) < 0 ||
                xml_set_attr(res, *cmd, "sessionid", sessionid) < 0 ||
                (status && xml_set_attr(res, *cmd, "status", status) < 0))) {
        stanza_unref(res);
        return NULL;
    }
    return res;
}

/* <actions execute='next|complete'><next|complete/></actions>: the only
 * way on is the one the command asked for; cancel is always allowed. */
static struct xml_node *add_actions(struct stanza *res, struct xml_node *cmd, bool last)
{
    const char *a = last ? "complete" : "next";
    struct xml_node *n = xml_add_child(res, cmd, "actions", NULL);
    if (!n || xml_set_attr(res, n, "execute", a) < 0 || !xml_add_child(res, n, a, NULL))
        return NULL;
    return n;
}

static void reply_canceled(const struct iq_request *rq, const char *node, const char *sessionid)
{
    struct xml_node *cmd;
    struct stanza *res = command_result(rq, node, sessionid, "canceled", &cmd);
    send_or_fail(rq, res, 0);
}

/* ---- execution ---- */

static enum action parse_action(const char *a)
{
    static const char *const names[] = {"execute", "next", "complete", "prev", "cancel"};
    if (!a)
        return ACT_EXECUTE;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(a, names[i]) == 0)
            return (enum action)i;
    return ACT_BAD;
}

/* After a stage ran: ends the session or keeps it (making it on a first
 * stage) for the next submission. The session is found again by id: the
 * command may have ended the requester's own stream (an admin deleting
 * themselves), which drops its sessions. false with *cond if no session
 * could be made. */
static bool session_after(const struct iq_request *rq, struct adhoc_state *st,
                          const struct adhoc_command *c, const char *id, bool first, int status,
                          const char *requester, enum stanza_cond *cond)
{
    struct adhoc_session *s = session_find(st, id);
    if (status == ADHOC_COMPLETED) {
        if (s)
            sessions_drop(st, NULL, 0, s);
        return true;
    }
    if (first && !(s = session_new(st, rq->srv, c, id, requester, cond)))
        return false;
    if (s) {
        s->stage++;
        s->expires = server_now(rq->srv) + SESSION_TTL;
    }
    return true;
}

/* Sets the status and, for an executing stage, the actions: added before
 * the payload (as in the XEP's examples) for a last stage; a command
 * that wants more stages gets next instead. */
static int finish_result(struct stanza *res, struct xml_node *cmd, struct xml_node *actions,
                         int status)
{
    if (status == ADHOC_COMPLETED) {
        xml_remove(actions);
        return xml_set_attr(res, cmd, "status", "completed");
    }
    if (status == ADHOC_NEXT) {
        xml_first_elem(actions)->name = "next"; /* a static string, like the arena's */
        if (xml_set_attr(res, actions, "execute", "next") < 0)
            return -ENOMEM;
    }
    return xml_set_attr(res, cmd, "status", "executing");
}

/* Runs one stage; s is the session (NULL on a first request). */
static void run_stage(const struct iq_request *rq, struct adhoc_state *st,
                      const struct adhoc_command *c, const struct adhoc_session *s,
                      const char *requester)
{
    /* Unique for the server's life (next_id); being bound to the
     * requester, it need not be secret. */
    char id[SESSIONID_MAX];
    if (s)
        snprintf(id, sizeof id, "%s", s->id);
    else
        snprintf(id, sizeof id, "adhoc-%" PRIu64 "-%" PRId64, rq->srv->next_id++,
                 server_now(rq->srv));
    struct xml_node *cmd;
    struct stanza *res = command_result(rq, c->node, id, NULL, &cmd);
    struct xml_node *actions = res ? add_actions(res, cmd, true) : NULL;
    if (!actions) {
        send_or_fail(rq, res, -ENOMEM);
        return;
    }
    struct adhoc_stage stage = {
        .srv = rq->srv,
        .from = rq->from,
        .domain = rq->to->domain,
        .lang = xml_attr(rq->st->root, "xml:lang"),
        .stage = s ? s->stage : 0,
        /* XEP-0050 §3.5.1: any form type counts as a submission. */
        .form = s ? xml_child(rq->payload, "x", NS_XDATA) : NULL,
        .res = res,
        .cmd = cmd,
        .err = SC_INTERNAL_SERVER_ERROR,
        .rq = rq,
        .fw_state = st,
        .sessionid = id,
        .actions = actions,
    };
    int status = c->run(&stage);
    if (status == ADHOC_LATER)
        return; /* res belongs to the adhoc_later now */
    if (status < 0) {
        stanza_unref(res);
        reply_error(rq, stage.err, stage.err_app, stage.err_text);
        return; /* the session stays: the requester may submit again */
    }
    enum stanza_cond cond = SC_INTERNAL_SERVER_ERROR;
    if (!session_after(rq, st, c, id, !s, status, requester, &cond)) {
        stanza_unref(res);
        iq_reply_error(rq, cond, NULL);
        return;
    }
    send_or_fail(rq, res, finish_result(res, cmd, actions, status));
}

/* Checks a continued session: the requester's own, for this node, alive. */
static struct adhoc_session *continued_session(const struct iq_request *rq, struct adhoc_state *st,
                                               const char *id, const struct adhoc_command *c,
                                               const char *requester)
{
    struct adhoc_session *s = session_find(st, id);
    if (!s || s->cmd != c || strcmp(s->requester, requester) != 0) {
        reply_error(rq, SC_BAD_REQUEST, "bad-sessionid", NULL);
        return NULL;
    }
    if (s->expires <= server_now(rq->srv)) {
        sessions_drop(st, NULL, 0, s);
        reply_error(rq, SC_NOT_ALLOWED, "session-expired", NULL);
        return NULL;
    }
    return s;
}

static void dispatch(const struct iq_request *rq, struct adhoc_state *st,
                     const struct adhoc_command *c, const char *requester)
{
    const char *id = xml_attr(rq->payload, "sessionid");
    enum action a = parse_action(xml_attr(rq->payload, "action"));
    if (a == ACT_BAD) {
        reply_error(rq, SC_BAD_REQUEST, "malformed-action", NULL);
        return;
    }
    if (!id || !*id) {
        if (a == ACT_EXECUTE)
            run_stage(rq, st, c, NULL, requester);
        else
            reply_error(rq, SC_BAD_REQUEST, "bad-sessionid", NULL);
        return;
    }
    struct adhoc_session *s = continued_session(rq, st, id, c, requester);
    if (!s)
        return;
    if (a == ACT_CANCEL) {
        reply_canceled(rq, c->node, id);
        sessions_drop(st, NULL, 0, s);
    } else if (a == ACT_PREV) {
        reply_error(rq, SC_BAD_REQUEST, "bad-action", NULL); /* never offered */
    } else {
        run_stage(rq, st, c, s, requester);
    }
}

static void handle_command(const struct iq_request *rq)
{
    const char *node = xml_attr(rq->payload, "node");
    if (!node || !*node) {
        reply_error(rq, SC_BAD_REQUEST, NULL, "The command has no node");
        return;
    }
    const struct adhoc_command *c = find_command(node);
    if (!c) {
        reply_error(rq, SC_ITEM_NOT_FOUND, NULL, NULL);
        return;
    }
    if (!may_run(rq, c)) {
        reply_error(rq, SC_FORBIDDEN, NULL, NULL);
        return;
    }
    char *requester = jid_to_string(rq->from, false);
    if (!requester) {
        iq_reply_error(rq, SC_INTERNAL_SERVER_ERROR, NULL);
        return;
    }
    dispatch(rq, rq->state, c, requester);
    free(requester);
}

/* ---- helpers for commands ---- */

struct xml_node *adhoc_form(struct adhoc_stage *s, const char *type, const char *form_type,
                            const char *title, const char *instructions)
{
    struct xml_node *x = xml_add_child(s->res, s->cmd, "x", NS_XDATA);
    if (!x || xml_set_attr(s->res, x, "type", type) < 0 ||
        (title && xml_add_text_elem(s->res, x, "title", title) < 0) ||
        (instructions && xml_add_text_elem(s->res, x, "instructions", instructions) < 0))
        return NULL;
    if (form_type) {
        struct xml_node *f = adhoc_field(s, x, "FORM_TYPE", "hidden", NULL, false);
        if (!f || adhoc_value(s, f, form_type) < 0)
            return NULL;
    }
    return x;
}

struct xml_node *adhoc_field(struct adhoc_stage *s, struct xml_node *x, const char *var,
                             const char *type, const char *label, bool required)
{
    struct xml_node *f = xml_add_child(s->res, x, "field", NULL);
    if (!f || xml_set_attr(s->res, f, "var", var) < 0 ||
        (type && xml_set_attr(s->res, f, "type", type) < 0) ||
        (label && xml_set_attr(s->res, f, "label", label) < 0) ||
        (required && !xml_add_child(s->res, f, "required", NULL)))
        return NULL;
    return f;
}

int adhoc_value(struct adhoc_stage *s, struct xml_node *field, const char *text)
{
    return xml_add_text_elem(s->res, field, "value", text);
}

int adhoc_note(struct adhoc_stage *s, const char *type, const char *text)
{
    struct xml_node *n = xml_add_child(s->res, s->cmd, "note", NULL);
    if (!n || xml_set_attr(s->res, n, "type", type) < 0 ||
        !xml_add_text(s->res, n, text, strlen(text)))
        return -ENOMEM;
    return 0;
}

const struct xml_node *adhoc_form_field(const struct xml_node *form, const char *var)
{
    if (!form)
        return NULL;
    for (const struct xml_node *f = xml_first_elem(form); f; f = xml_next_elem(f)) {
        const char *v = xml_attr(f, "var");
        if (strcmp(f->name, "field") == 0 && strcmp(f->ns, NS_XDATA) == 0 && v &&
            strcmp(v, var) == 0)
            return f;
    }
    return NULL;
}

int adhoc_value_text(const struct xml_node *value, struct buf *out)
{
    for (const struct xml_node *t = value->children; t; t = t->next) {
        int rc = t->type == XML_TEXT ? buf_append(out, t->text, t->text_len) : 0;
        if (rc < 0)
            return rc;
    }
    return 0;
}

int adhoc_field_text(const struct xml_node *form, const char *var, const char *sep, struct buf *out)
{
    const struct xml_node *f = adhoc_form_field(form, var);
    if (!f)
        return -ENOENT;
    int n = 0;
    for (const struct xml_node *v = xml_first_elem(f); v; v = xml_next_elem(v)) {
        if (strcmp(v->name, "value") != 0 || strcmp(v->ns, NS_XDATA) != 0)
            continue;
        int rc = n > 0 ? buf_append_str(out, sep) : 0;
        if (rc == 0)
            rc = adhoc_value_text(v, out);
        if (rc < 0)
            return rc;
        n++;
    }
    return n;
}

/* ---- a stage answered later ---- */

struct adhoc_later {
    struct adhoc_stage stage; /* its res and cmd: the reply being built */
    struct iq_later *iq;
    struct adhoc_state *st;
    struct jid from;
    char sessionid[SESSIONID_MAX];
    char domain[JID_PART_MAX + 1];
};

struct adhoc_later *adhoc_later(struct adhoc_stage *s)
{
    struct adhoc_later *l = calloc(1, sizeof *l);
    if (!l || jid_copy(&l->from, s->from) < 0) {
        free(l);
        return NULL;
    }
    if (!(l->iq = iq_later_new(s->rq))) {
        jid_free(&l->from);
        free(l);
        return NULL;
    }
    l->st = s->fw_state;
    snprintf(l->sessionid, sizeof l->sessionid, "%s", s->sessionid);
    snprintf(l->domain, sizeof l->domain, "%s", s->domain);
    l->stage = *s;
    l->stage.from = &l->from;
    l->stage.domain = l->domain;
    l->stage.lang = NULL;
    l->stage.form = NULL;
    l->stage.rq = NULL;
    l->stage.sessionid = l->sessionid;
    return l;
}

struct adhoc_stage *adhoc_later_stage(struct adhoc_later *l) { return &l->stage; }

void adhoc_later_done(struct adhoc_later *l, int status)
{
    struct adhoc_stage *s = &l->stage;
    struct stanza *res = s->res;
    if (status >= 0) {
        struct adhoc_session *ses = session_find(l->st, l->sessionid);
        if (ses)
            sessions_drop(l->st, NULL, 0, ses);
        int rc = finish_result(res, s->cmd, s->actions, ADHOC_COMPLETED);
        if (rc == 0 && iq_later_sender_here(l->iq)) {
            router_send(s->srv, res);
            res = NULL;
        } else if (rc < 0) {
            iq_later_error(l->iq, SC_INTERNAL_SERVER_ERROR, NULL);
        }
    } else if (iq_later_sender_here(l->iq)) {
        send_error(s->srv, l->iq->st, s->err, s->err_app, s->err_text);
    }
    if (res)
        stanza_unref(res);
    iq_later_free(l->iq);
    jid_free(&l->from);
    free(l);
}

int adhoc_fail(struct adhoc_stage *s, enum stanza_cond c, const char *app, const char *text)
{
    s->err = c;
    s->err_app = app;
    s->err_text = text;
    return -EINVAL;
}

/* ---- the module ---- */

static int adhoc_init(struct server *srv, void *state)
{
    (void)srv;
    (void)state; /* zeroed: no command sessions */
    return 0;
}

static void adhoc_fini(struct server *srv, void *state)
{
    (void)srv;
    struct adhoc_state *st = state;
    while (st->sessions) {
        struct adhoc_session *s = st->sessions;
        st->sessions = s->next;
        session_free(s);
    }
}

/* A command session dies with the client session that ran it. */
static void adhoc_session_event(struct server *srv, void *state, struct session *s,
                                enum session_event ev)
{
    (void)srv;
    if (ev == SESSION_CLOSING && s->full)
        sessions_drop(state, s->full, 0, NULL);
}

static const struct iq_handler adhoc_iq[] = {
    {NS_COMMANDS, "command", IQ_SET, IQ_TO_SERVER, NS_COMMANDS, handle_command},
};

const struct module mod_adhoc = {
    .name = "adhoc",
    .id = MOD_ID_adhoc,
    .state_size = sizeof(struct adhoc_state),
    .iq = adhoc_iq,
    .n_iq = sizeof adhoc_iq / sizeof adhoc_iq[0],
    .init = adhoc_init,
    .fini = adhoc_fini,
    .session_event = adhoc_session_event,
};
