/* Server administration commands (XEP-0133 subset) for server.admins:
 * list the registered users, announce to online users, delete users.
 *
 * Each command acts on the domain it was sent to (a virtual host is its
 * own service, XEP-0133 §3). Two-stage commands return their form on the
 * first request and act on its submission.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "modules/adhoc.h"
#include "store/store.h"
#include "xmpp/ns.h"
#include "xmpp/router.h"

#define NS_ADMIN "http://jabber.org/protocol/admin"
#define MAX_LISTED_USERS 10000 /* XEP-0133 §4.18: the service may truncate */
#define MAX_TARGET_JIDS 100    /* accounts one submission may act on */
#define MAX_ANNOUNCEMENT 16384 /* bytes of an announcement */
#define MAX_NOTE 256

/* ---- shared pieces ---- */

/* The first stage of a command acting on accounts: one jid-multi field. */
static int accounts_form(struct adhoc_stage *s, const char *title, const char *label)
{
    struct xml_node *x = adhoc_form(s, "form", NS_ADMIN, title, NULL);
    if (!x || !adhoc_field(s, x, "accountjids", "jid-multi", label, true))
        return -ENOMEM;
    return ADHOC_LAST;
}

/* Ends every session of an account (bare "user@domain"). kick unbinds the
 * session it ends; the check on prev guards against a transport that
 * would not, which would otherwise loop here forever. */
static void kick_account(struct server *srv, const char *bare, const char *text)
{
    struct session *prev = NULL;
    for (struct session *s; (s = router_sessions(srv->router, bare)) && s != prev; prev = s)
        s->ops->kick(s, STREAM_NOT_AUTHORIZED, text);
}

/* What an accountjids command does to one local account (user prepared,
 * domain ours). 0 or -errno; *why names a failure for the note. */
typedef int (*account_fn)(struct adhoc_stage *s, const struct jid *j, const char **why);

static int note_failure(struct adhoc_stage *s, const char *jid_text, const char *why)
{
    char note[MAX_NOTE];
    snprintf(note, sizeof note, "%.160s: %s", jid_text, why);
    return adhoc_note(s, "error", note);
}

/* Parses one submitted JID: a local account of the domain the command
 * was sent to. 0, or -EINVAL with *why set. */
static int target_jid(struct adhoc_stage *s, const char *text, struct jid *j, const char **why)
{
    if (jid_parse(j, text, strlen(text)) < 0) {
        *why = "not a valid JID";
        return -EINVAL;
    }
    if (!j->local || strcmp(j->domain, s->domain) != 0) {
        jid_free(j);
        *why = "not an account of this domain";
        return -EINVAL;
    }
    return 0;
}

static int apply_one(struct adhoc_stage *s, const struct xml_node *value, account_fn fn,
                     struct buf *text, unsigned *done)
{
    buf_reset(text);
    int rc = adhoc_value_text(value, text);
    if (rc < 0 || text->len == 0)
        return rc == -ENOMEM ? rc : note_failure(s, "(value)", "empty or too long");
    struct jid j;
    const char *why = "";
    rc = target_jid(s, text->data, &j, &why);
    if (rc == 0) {
        rc = fn(s, &j, &why);
        jid_free(&j);
    }
    if (rc == -ENOMEM)
        return rc;
    *done += rc == 0;
    return rc == 0 ? 0 : note_failure(s, text->data, why);
}

/* Applies fn to each JID of the submitted accountjids field; one note per
 * failure and one summing up. */
static int apply_accounts(struct adhoc_stage *s, account_fn fn, const char *verb)
{
    const struct xml_node *f = adhoc_form_field(s->form, "accountjids");
    if (!f)
        return adhoc_fail(s, SC_BAD_REQUEST, "bad-payload", "The form has no accountjids");
    if (xml_count_elems(f) > MAX_TARGET_JIDS)
        return adhoc_fail(s, SC_BAD_REQUEST, "bad-payload", "Too many JIDs at once");
    struct buf text;
    buf_init(&text, JID_PART_MAX * 3 + 2);
    unsigned done = 0;
    int rc = 0;
    for (const struct xml_node *v = xml_first_elem(f); rc == 0 && v; v = xml_next_elem(v))
        if (strcmp(v->name, "value") == 0)
            rc = apply_one(s, v, fn, &text, &done);
    buf_free(&text);
    char note[MAX_NOTE];
    snprintf(note, sizeof note, "%s %u account%s.", verb, done, done == 1 ? "" : "s");
    if (rc == 0)
        rc = adhoc_note(s, "info", note);
    return rc < 0 ? adhoc_fail(s, SC_INTERNAL_SERVER_ERROR, NULL, NULL) : ADHOC_COMPLETED;
}

/* ---- get-registered-users-list (§4.18) ---- */

struct list_ctx {
    struct adhoc_stage *s;
    struct xml_node *field;
    size_t n;
    int err;
};

static void list_one(void *ud, const char *user, const char *domain)
{
    struct list_ctx *l = ud;
    char jid[JID_PART_MAX * 2 + 2];
    if (l->err || l->n++ >= MAX_LISTED_USERS)
        return;
    snprintf(jid, sizeof jid, "%s@%s", user, domain);
    l->err = adhoc_value(l->s, l->field, jid);
}

static int list_users(struct adhoc_stage *s)
{
    struct xml_node *x = adhoc_form(s, "result", NS_ADMIN, "Registered users", NULL);
    struct list_ctx l = {s, x ? adhoc_field(s, x, "registereduserjids", "jid-multi",
                                            "The list of all users", false)
                              : NULL, 0, 0};
    if (!l.field)
        return adhoc_fail(s, SC_INTERNAL_SERVER_ERROR, NULL, NULL);
    int rc = store_account_list_sync(s->srv->store, s->domain, list_one, &l);
    if (rc < 0 || l.err < 0)
        return adhoc_fail(s, SC_INTERNAL_SERVER_ERROR, NULL, NULL);
    if (l.n > MAX_LISTED_USERS) {
        char note[MAX_NOTE];
        snprintf(note, sizeof note, "Showing the first %d of %zu accounts.", MAX_LISTED_USERS,
                 l.n);
        if (adhoc_note(s, "warn", note) < 0)
            return adhoc_fail(s, SC_INTERNAL_SERVER_ERROR, NULL, NULL);
    }
    return ADHOC_COMPLETED;
}

/* ---- announce (§4.23) ---- */

struct online {
    const char *domain;
    char **full;
    size_t n, cap;
    int err;
};

static void collect_online(struct session *sess, void *ud)
{
    struct online *o = ud;
    if (o->err || strcmp(sess->jid.domain, o->domain) != 0)
        return;
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 16;
        char **p = cap > o->cap ? realloc(o->full, cap * sizeof *p) : NULL;
        if (!p) {
            o->err = -ENOMEM;
            return;
        }
        o->full = p;
        o->cap = cap;
    }
    if (!(o->full[o->n] = strdup(sess->full)))
        o->err = -ENOMEM;
    else
        o->n++;
}

static struct stanza *announcement(const char *domain, const char *to, const char *body)
{
    struct stanza *m = stanza_new("message", NS_CLIENT);
    if (m && (xml_set_attr(m, m->root, "from", domain) < 0 ||
              xml_set_attr(m, m->root, "to", to) < 0 ||
              xml_add_text_elem(m, m->root, "body", body) < 0)) {
        stanza_unref(m);
        return NULL;
    }
    return m;
}

/* Sends body to every session of the domain. The recipients are listed
 * first: delivering may close a session, which router_foreach forbids. */
static int send_announcement(struct adhoc_stage *s, const char *body, size_t *sent)
{
    struct online o = {.domain = s->domain};
    router_foreach(s->srv->router, collect_online, &o);
    *sent = 0;
    for (size_t i = 0; i < o.n; i++) {
        struct stanza *m = o.err ? NULL : announcement(s->domain, o.full[i], body);
        if (m) {
            router_send(s->srv, m);
            (*sent)++;
        } else {
            o.err = -ENOMEM;
        }
        free(o.full[i]);
    }
    free(o.full);
    return o.err;
}

static int announce(struct adhoc_stage *s)
{
    if (s->stage == 0) {
        struct xml_node *x = adhoc_form(s, "form", NS_ADMIN, "Making an announcement",
                                        "The message goes to every online user.");
        if (!x || !adhoc_field(s, x, "announcement", "text-multi", "Announcement", true))
            return adhoc_fail(s, SC_INTERNAL_SERVER_ERROR, NULL, NULL);
        return ADHOC_LAST;
    }
    struct buf body;
    buf_init(&body, MAX_ANNOUNCEMENT);
    int rc = adhoc_field_text(s->form, "announcement", "\n", &body);
    size_t sent = 0;
    if (rc == -ENOBUFS || rc == -ENOENT || (rc >= 0 && body.len == 0))
        rc = adhoc_fail(s, SC_BAD_REQUEST, "bad-payload",
                        rc == -ENOBUFS ? "The announcement is too long"
                                       : "The announcement is empty");
    else if (rc < 0 || send_announcement(s, body.data, &sent) < 0)
        rc = adhoc_fail(s, SC_INTERNAL_SERVER_ERROR, NULL, NULL);
    buf_free(&body);
    if (rc < 0)
        return rc;
    char note[MAX_NOTE];
    snprintf(note, sizeof note, "Sent to %zu session%s.", sent, sent == 1 ? "" : "s");
    log_info("admin command: announcement sent to %zu sessions", sent);
    return adhoc_note(s, "info", note) < 0 ? adhoc_fail(s, SC_INTERNAL_SERVER_ERROR, NULL, NULL)
                                           : ADHOC_COMPLETED;
}

/* ---- delete-user (§4.2) ---- */

/* XEP-0133 §4.2: the account's sessions end, then all its data goes
 * (modules_delete_account, as self-removal does: P18). */
static int delete_one(struct adhoc_stage *s, const struct jid *j, const char **why)
{
    char *bare = jid_to_string(j, true);
    if (!bare)
        return -ENOMEM;
    kick_account(s->srv, bare, "Account deleted");
    free(bare);
    struct data_ctx d = {s->srv->store, s->srv->cfg, server_now(s->srv), s->srv};
    int rc = modules_delete_account(&d, j->domain, j->local);
    *why = rc == -ENOENT ? "no such account" : "could not be deleted";
    if (rc == 0)
        log_info("admin command: an account was deleted");
    return rc;
}

static int delete_user(struct adhoc_stage *s)
{
    if (s->stage == 0)
        return accounts_form(s, "Deleting a user", "The Jabber ID(s) to delete");
    return apply_accounts(s, delete_one, "Deleted");
}

const struct adhoc_command admin_commands[] = {
    {NS_ADMIN "#get-registered-users-list", "Get List of Registered Users", true, list_users},
    {NS_ADMIN "#announce", "Send Announcement to Online Users", true, announce},
    {NS_ADMIN "#delete-user", "Delete User", true, delete_user},
};
const size_t admin_ncommands = sizeof admin_commands / sizeof admin_commands[0];
