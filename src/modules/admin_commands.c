/* Server administration commands (XEP-0133 subset) for server.admins:
 * list the registered users, announce to online users, delete, disable
 * (suspend) and re-enable users, and create registration codes.
 *
 * Each command acts on the domain it was sent to (a virtual host is its
 * own service, XEP-0133 §3). Two-stage commands return their form on the
 * first request and act on its submission.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "modules/adhoc.h"
#include "modules/invite.h"
#include "store/invites.h"
#include "store/requests.h"
#include "store/store.h"
#include "xmpp/ns.h"
#include "xmpp/router.h"

#define NS_ADMIN "http://jabber.org/protocol/admin"
/* XEP-0133 §4.18 lets the list be cut: this keeps it within one stanza. */
#define MAX_LISTED_USERS 2000
#define MAX_TARGET_JIDS 100    /* accounts one submission may act on */
#define MAX_ANNOUNCEMENT 16384 /* bytes of an announcement */
#define MAX_NOTE 256
#define MAX_JID_TEXT (JID_PART_MAX * 3 + 2) /* a submitted JID, as written */

/* ---- shared pieces ---- */

/* The first stage of a command acting on accounts: one jid-multi field. */
static int accounts_form(struct adhoc_stage *s, const char *title, const char *label,
                         bool with_reason)
{
    struct xml_node *x = adhoc_form(s, "form", NS_ADMIN, title, NULL);
    if (!x || !adhoc_field(s, x, "accountjids", "jid-multi", label, true) ||
        (with_reason &&
         !adhoc_field(s, x, "reason", "text-single", "Reason (kept with the account)", false)))
        return adhoc_fail(s, SC_INTERNAL_SERVER_ERROR, NULL, NULL);
    return ADHOC_LAST;
}

/* What an accountjids command does to one local account (user prepared,
 * domain ours), with ud from apply_accounts: starts the account
 * service's action, which calls done(done_ud, rc) after its commit.
 * 0, or -errno (done is not called). */
typedef int (*account_fn)(struct adhoc_stage *s, const struct jid *j, void *ud,
                          account_done_fn done, void *done_ud);

/* jid_text is whole (at most MAX_JID_TEXT bytes): cutting it could split
 * a UTF-8 sequence. */
static int note_failure(struct adhoc_stage *s, const char *jid_text, const char *why)
{
    char note[MAX_JID_TEXT + MAX_NOTE];
    snprintf(note, sizeof note, "%s: %s", jid_text, why);
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

static const char *failure_text(int rc)
{
    return rc == -ENOENT   ? "no such account"
           : rc == -EINVAL ? "the reason is too long or not UTF-8"
                           : "failed";
}

/* The accounts of one submission, answered once every action committed. */
struct batch {
    struct adhoc_later *later;
    unsigned pending; /* actions not yet done, +1 while they are started */
    unsigned done;
    bool failed; /* a note could not be added */
    const char *verb;
};

struct batch_item {
    struct batch *b;
    char text[MAX_JID_TEXT + 1]; /* the JID as submitted, for its note */
};

static void batch_release(struct batch *b)
{
    if (--b->pending > 0)
        return;
    struct adhoc_stage *s = adhoc_later_stage(b->later);
    char note[MAX_NOTE];
    snprintf(note, sizeof note, "%s %u account%s.", b->verb, b->done, b->done == 1 ? "" : "s");
    int status = b->failed || adhoc_note(s, "info", note) < 0
                     ? adhoc_fail(s, SC_INTERNAL_SERVER_ERROR, NULL, NULL)
                     : ADHOC_COMPLETED;
    adhoc_later_done(b->later, status);
    free(b);
}

static void item_done(void *ud, int rc)
{
    struct batch_item *it = ud;
    struct batch *b = it->b;
    if (rc == 0)
        b->done++;
    else if (note_failure(adhoc_later_stage(b->later), it->text, failure_text(rc)) < 0)
        b->failed = true;
    free(it);
    batch_release(b);
}

static int apply_one(struct batch *b, const struct xml_node *value, account_fn fn, void *ud,
                     struct buf *text)
{
    struct adhoc_stage *s = adhoc_later_stage(b->later);
    buf_reset(text);
    int rc = adhoc_value_text(value, text);
    if (rc < 0 || text->len == 0)
        return rc == -ENOMEM ? rc : note_failure(s, "(value)", "empty or too long");
    struct jid j;
    const char *why = "";
    if (target_jid(s, text->data, &j, &why) < 0)
        return note_failure(s, text->data, why);
    struct batch_item *it = malloc(sizeof *it);
    if (!it) {
        jid_free(&j);
        return -ENOMEM;
    }
    it->b = b;
    snprintf(it->text, sizeof it->text, "%s", text->data);
    b->pending++;
    rc = fn(s, &j, ud, item_done, it);
    jid_free(&j);
    if (rc == 0)
        return 0;
    b->pending--;
    free(it);
    return rc == -ENOMEM ? rc : note_failure(s, text->data, failure_text(rc));
}

/* Applies fn to each JID of the submitted accountjids field; one note per
 * failure and one summing up, sent once every action is committed. */
static int apply_accounts(struct adhoc_stage *s, account_fn fn, void *ud, const char *verb)
{
    const struct xml_node *f = adhoc_form_field(s->form, "accountjids");
    if (!f)
        return adhoc_fail(s, SC_BAD_REQUEST, "bad-payload", "The form has no accountjids");
    if (xml_count_elems(f) > MAX_TARGET_JIDS)
        return adhoc_fail(s, SC_BAD_REQUEST, "bad-payload", "Too many JIDs at once");
    struct batch *b = calloc(1, sizeof *b);
    if (!b || !(b->later = adhoc_later(s))) {
        free(b);
        return adhoc_fail(s, SC_INTERNAL_SERVER_ERROR, NULL, NULL);
    }
    b->pending = 1;
    b->verb = verb;
    struct buf text;
    buf_init(&text, MAX_JID_TEXT);
    int rc = 0;
    for (const struct xml_node *v = xml_first_elem(f); rc == 0 && v; v = xml_next_elem(v))
        if (strcmp(v->name, "value") == 0)
            rc = apply_one(b, v, fn, ud, &text);
    buf_free(&text);
    if (rc < 0)
        b->failed = true;
    batch_release(b);
    return ADHOC_LATER;
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
    struct list_ctx l = {
        s,
        x ? adhoc_field(s, x, "registereduserjids", "jid-multi", "The list of all users", false)
          : NULL,
        0, 0};
    if (!l.field)
        return adhoc_fail(s, SC_INTERNAL_SERVER_ERROR, NULL, NULL);
    int rc = store_account_list_sync(s->srv->store, s->domain, list_one, &l);
    if (rc < 0 || l.err < 0)
        return adhoc_fail(s, SC_INTERNAL_SERVER_ERROR, NULL, NULL);
    if (l.n > MAX_LISTED_USERS) {
        char note[MAX_NOTE];
        snprintf(note, sizeof note, "Showing the first %d of %zu accounts.", MAX_LISTED_USERS, l.n);
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
        char **p = cap <= SIZE_MAX / sizeof *p ? realloc(o->full, cap * sizeof *p) : NULL;
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
    if (m &&
        (xml_set_attr(m, m->root, "from", domain) < 0 || xml_set_attr(m, m->root, "to", to) < 0 ||
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

/* ---- delete-user (§4.2), disable-user (§4.3), reenable-user (§4.4) ---- */

/* The account's streams end, then all its data goes, as with taubectl
 * user delete and self-removal (P18). */
static int delete_one(struct adhoc_stage *s, const struct jid *j, void *ud, account_done_fn done,
                      void *done_ud)
{
    (void)ud;
    struct data_ctx d = modules_data_ctx(s->srv);
    return account_delete_live(&d, j->domain, j->local, done, done_ud);
}

static int delete_user(struct adhoc_stage *s)
{
    if (s->stage == 0)
        return accounts_form(s, "Deleting a user", "The Jabber ID(s) to delete", false);
    return apply_accounts(s, delete_one, NULL, "Deleted");
}

/* Suspension (P21, P22): streams end, logins fail, the data stays. */
static int disable_one(struct adhoc_stage *s, const struct jid *j, void *ud, account_done_fn done,
                       void *done_ud)
{
    const char *reason = ud;
    return account_suspend(s->srv, j->domain, j->local, *reason ? reason : NULL, done, done_ud);
}

static int disable_user(struct adhoc_stage *s)
{
    if (s->stage == 0)
        return accounts_form(s, "Disabling a user", "The Jabber ID(s) to disable", true);
    struct buf reason;
    char none[] = "";
    buf_init(&reason, STORE_REASON_MAX + 1);
    int rc = adhoc_field_text(s->form, "reason", " ", &reason);
    if (rc == -ENOBUFS)
        rc = adhoc_fail(s, SC_BAD_REQUEST, "bad-payload", "The reason is too long");
    else if (rc == -ENOMEM)
        rc = adhoc_fail(s, SC_INTERNAL_SERVER_ERROR, NULL, NULL);
    else
        rc = apply_accounts(s, disable_one, reason.data ? reason.data : none, "Disabled");
    buf_free(&reason);
    return rc;
}

static int reenable_one(struct adhoc_stage *s, const struct jid *j, void *ud, account_done_fn done,
                        void *done_ud)
{
    (void)ud;
    return account_unsuspend(s->srv, j->domain, j->local, done, done_ud);
}

static int reenable_user(struct adhoc_stage *s)
{
    if (s->stage == 0)
        return accounts_form(s, "Re-enabling a user", "The Jabber ID(s) to re-enable", false);
    return apply_accounts(s, reenable_one, NULL, "Re-enabled");
}

/* ---- create-invite (ours: a registration code, as taubectl invite create) ---- */

#define INVITE_MAX_USES 1000

/* The text of one submitted field into out (empty if absent): 0, or
 * -EINVAL if it is too long, not UTF-8 or holds control characters. */
static int form_text(const struct adhoc_stage *s, const char *var, struct buf *out)
{
    int rc = adhoc_field_text(s->form, var, " ", out);
    if (rc == -ENOENT)
        return 0;
    if (rc < 0)
        return rc == -ENOMEM ? rc : -EINVAL;
    if (out->len > 0 && !jid_utf8_valid(out->data, out->len))
        return -EINVAL;
    for (size_t i = 0; i < out->len; i++)
        if ((unsigned char)out->data[i] < 0x20 || out->data[i] == 0x7f)
            return -EINVAL;
    return 0;
}

struct invite_req {
    struct buf given_to, note, expires, uses;
    int64_t lifetime;
    unsigned nuses;
};

/* Reads and checks the submitted form. 0 or -errno after adhoc_fail. */
static int invite_read(struct adhoc_stage *s, struct invite_req *r)
{
    int rc = form_text(s, "for", &r->given_to);
    if (rc == 0)
        rc = form_text(s, "note", &r->note);
    if (rc == 0)
        rc = form_text(s, "expires", &r->expires);
    if (rc == 0)
        rc = form_text(s, "uses", &r->uses);
    if (rc == -ENOMEM)
        return adhoc_fail(s, SC_INTERNAL_SERVER_ERROR, NULL, NULL);
    if (rc < 0 || r->given_to.len == 0)
        return adhoc_fail(s, SC_BAD_REQUEST, "bad-payload",
                          "'for' is required; texts are at most 512 bytes of UTF-8");
    r->lifetime = s->srv->cfg->invites_expires;
    if (r->expires.len > 0 && invite_parse_duration(r->expires.data, &r->lifetime) < 0)
        return adhoc_fail(s, SC_BAD_REQUEST, "bad-payload",
                          "'expires' is not a duration such as 12h, 7d or 2w");
    r->nuses = 1;
    if (r->uses.len > 0) {
        char *end;
        unsigned long n = strtoul(r->uses.data, &end, 10);
        if (*end || r->uses.data[0] < '0' || r->uses.data[0] > '9' || n == 0 || n > INVITE_MAX_USES)
            return adhoc_fail(s, SC_BAD_REQUEST, "bad-payload",
                              "'uses' is a number from 1 to 1000");
        r->nuses = (unsigned)n;
    }
    return 0;
}

/* The answer: the code, its XEP-0401 URI, when it expires, its uses. */
static int invite_result(struct adhoc_stage *s, const char *code, int64_t expires, unsigned uses)
{
    char uri[JID_PART_MAX + INVITE_CODE_TEXT + 32], when[32], n[16];
    snprintf(uri, sizeof uri, "xmpp:%s?register;preauth=%s", s->domain, code);
    time_t t = (time_t)expires;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(when, sizeof when, "%lld", (long long)expires);
    snprintf(n, sizeof n, "%u", uses);
    struct buf page;
    buf_init(&page, 0);
    char path[sizeof "/invite/" + INVITE_CODE_TEXT];
    snprintf(path, sizeof path, "/invite/%s", code);
    bool has_page = invite_web_url(s->srv->cfg, s->domain, path, &page) == 0;
    const char *vars[][3] = {{"code", "Registration code", code},
                             {"uri", "Invitation URI", uri},
                             {"page", "Invitation web page", has_page ? page.data : ""},
                             {"expires", "Expires (UTC)", when},
                             {"uses", "Uses", n}};
    struct xml_node *x = adhoc_form(s, "result", NULL, "Registration code", NULL);
    for (size_t i = 0; x && i < sizeof vars / sizeof vars[0]; i++) {
        if (!vars[i][2][0])
            continue;
        struct xml_node *f = adhoc_field(s, x, vars[i][0], "text-single", vars[i][1], false);
        if (!f || adhoc_value(s, f, vars[i][2]) < 0)
            x = NULL;
    }
    buf_free(&page);
    return x ? ADHOC_COMPLETED : adhoc_fail(s, SC_INTERNAL_SERVER_ERROR, NULL, NULL);
}

/* A code being stored: shown to the admin once its row is committed. */
struct invite_job {
    struct adhoc_later *later;
    char text[INVITE_CODE_TEXT];
    int64_t expires;
    unsigned uses;
};

static void invite_stored(void *ud, int rc, int64_t id)
{
    struct invite_job *j = ud;
    struct adhoc_stage *s = adhoc_later_stage(j->later);
    int status;
    if (rc == -EINVAL) {
        status = adhoc_fail(s, SC_BAD_REQUEST, "bad-payload", "A text is too long");
    } else if (rc < 0) {
        status = adhoc_fail(s, SC_INTERNAL_SERVER_ERROR, NULL, NULL);
    } else {
        log_info("admin command: registration code %lld created", (long long)id);
        status = invite_result(s, j->text, j->expires, j->uses);
    }
    adhoc_later_done(j->later, status);
    explicit_bzero(j->text, sizeof j->text);
    free(j);
}

static int invite_store(struct adhoc_stage *s, const struct invite_req *r)
{
    uint8_t code[INVITE_CODE_BYTES], hash[INVITE_HASH_LEN];
    struct invite_job *j = calloc(1, sizeof *j);
    char *by = j ? jid_to_string(s->from, true) : NULL;
    int64_t now = server_now(s->srv);
    if (!by || invite_code_new(code, j->text) < 0 ||
        invite_code_hash(store_server_secret(s->srv->store), INVITE_KEY_LEN, code, hash) < 0 ||
        !(j->later = adhoc_later(s))) {
        free(by);
        free(j);
        return adhoc_fail(s, SC_INTERNAL_SERVER_ERROR, NULL, NULL);
    }
    explicit_bzero(code, sizeof code);
    j->expires = now + r->lifetime;
    j->uses = r->nuses;
    struct invite_new in = {.domain = s->domain,
                            .hash = hash,
                            .given_to = r->given_to.data,
                            .note = r->note.len ? r->note.data : NULL,
                            .created_by = by,
                            .created = now,
                            .expires = j->expires,
                            .uses = r->nuses};
    int64_t id = store_invite_create_req(s->srv->storeq, &in, invite_stored, j);
    free(by);
    if (id < 0) {
        struct adhoc_later *l = j->later;
        free(j);
        adhoc_later_done(l, adhoc_fail(adhoc_later_stage(l), SC_INTERNAL_SERVER_ERROR, NULL, NULL));
    }
    return ADHOC_LATER;
}

static int invite_form(struct adhoc_stage *s)
{
    static const char *const vars[][2] = {
        {"for", "For whom (NAME <EMAIL>)"},
        {"note", "Note"},
        {"expires", "Expires after (e.g. 12h, 7d, 2w; default: invites.expires)"},
        {"uses", "Accounts it may create (default 1)"},
    };
    struct xml_node *x = adhoc_form(s, "form", NULL, "Creating a registration code",
                                    "The code is shown once: pass it on to the person.");
    for (size_t i = 0; x && i < sizeof vars / sizeof vars[0]; i++)
        if (!adhoc_field(s, x, vars[i][0], "text-single", vars[i][1], i == 0))
            x = NULL;
    return x ? ADHOC_LAST : adhoc_fail(s, SC_INTERNAL_SERVER_ERROR, NULL, NULL);
}

static int create_invite(struct adhoc_stage *s)
{
    if (s->stage == 0)
        return invite_form(s);
    struct invite_req r = {0};
    buf_init(&r.given_to, INVITE_TEXT_MAX);
    buf_init(&r.note, INVITE_TEXT_MAX);
    buf_init(&r.expires, 32);
    buf_init(&r.uses, 16);
    int rc = invite_read(s, &r);
    if (rc == 0)
        rc = invite_store(s, &r);
    buf_free(&r.given_to);
    buf_free(&r.note);
    buf_free(&r.expires);
    buf_free(&r.uses);
    return rc;
}

static const struct adhoc_command admin_commands[] = {
    {NS_ADMIN "#get-registered-users-list", "Get List of Registered Users", true, list_users},
    {NS_ADMIN "#announce", "Send Announcement to Online Users", true, announce},
    {NS_ADMIN "#delete-user", "Delete User", true, delete_user},
    {NS_ADMIN "#disable-user", "Disable User", true, disable_user},
    {NS_ADMIN "#reenable-user", "Re-Enable User", true, reenable_user},
    {"urn:taube:admin#create-invite", "Create Registration Code", true, create_invite},
};
/* The XEP-0133 subset, and the registration codes: commands only. */
const struct module mod_admin = {
    .name = "admin",
    .id = MOD_ID_admin,
    .commands = admin_commands,
    .n_commands = sizeof admin_commands / sizeof admin_commands[0],
};
