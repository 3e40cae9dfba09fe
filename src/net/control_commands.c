/* The control commands (the table of control.h). The live account
 * actions they run are the account service's (account/account.h).
 *
 * Each command checks its arguments, acts on the loop, and answers one
 * line; those that write (suspend, unsuspend, delete) answer after the
 * commit (CONTROL_LATER). JIDs arrive as "user@domain" and are prepared here; an account
 * of a domain we do not serve is refused. Replies never repeat the JID,
 * so nothing private reaches a log through them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "account/account.h"
#include "core/log.h"
#include "core/server.h"
#include "modules/module.h"
#include "net/control.h"
#include "store/store.h"
#include "xmpp/jid.h"
#include "xmpp/router.h"

/* ---- the commands ---- */

/* A local account's JID (bare, with a local part, a domain we serve)
 * into *j. 0, or -EINVAL with the reason in reply. */
static int account_arg(struct server *srv, const char *arg, struct jid *j, struct buf *reply)
{
    if (jid_parse(j, arg, strlen(arg)) < 0 || !j->local || j->resource) {
        jid_free(j);
        buf_append_str(reply, "invalid JID (expected user@domain)");
        return -EINVAL;
    }
    if (!server_host(srv, j->domain)) {
        jid_free(j);
        buf_append_str(reply, "not a domain of this server");
        return -EINVAL;
    }
    return 0;
}

static const char *failure_text(int rc)
{
    return rc == -ENOENT   ? "no such account"
           : rc == -EINVAL ? "the text is too long or not UTF-8"
                           : strerror(-rc);
}

static int account_failed(int rc, struct buf *reply)
{
    buf_append_str(reply, failure_text(rc));
    return rc;
}

static int cmd_kick(const struct control_call *call, const char *const *args, int nargs,
                    struct buf *reply)
{
    struct jid j;
    int rc = account_arg(call->srv, args[0], &j, reply);
    if (rc < 0)
        return rc;
    const char *text = nargs > 1 && args[1][0] ? args[1] : NULL;
    if (text && (strlen(text) > STORE_REASON_MAX || !jid_utf8_valid(text, strlen(text)))) {
        jid_free(&j);
        return account_failed(-EINVAL, reply);
    }
    size_t n = account_kick(call->srv, j.domain, j.local, STREAM_POLICY_VIOLATION, text);
    jid_free(&j);
    return buf_printf(reply, "%zu session(s) ended", n);
}

/* A live account action answered after its commit. */
struct later {
    struct control_call call;
    const char *ok; /* the reply's text on success */
};

static void account_answered(void *ud, int rc)
{
    struct later *l = ud;
    l->call.answer(&l->call, rc, rc < 0 ? failure_text(rc) : l->ok);
    free(l);
}

enum action { ACT_SUSPEND, ACT_UNSUSPEND, ACT_DELETE };

static int account_action(const struct control_call *call, enum action a, const char *arg,
                          const char *reason, struct buf *reply)
{
    static const char *const done[] = {"suspended", "unsuspended", "deleted"};
    struct jid j;
    int rc = account_arg(call->srv, arg, &j, reply);
    struct later *l = rc == 0 ? malloc(sizeof *l) : NULL;
    if (rc < 0)
        return rc;
    if (!l) {
        jid_free(&j);
        return account_failed(-ENOMEM, reply);
    }
    *l = (struct later){*call, done[a]};
    struct data_ctx d = modules_data_ctx(call->srv);
    rc = a == ACT_SUSPEND
             ? account_suspend(call->srv, j.domain, j.local, reason, account_answered, l)
         : a == ACT_UNSUSPEND ? account_unsuspend(call->srv, j.domain, j.local, account_answered, l)
                              : account_delete_live(&d, j.domain, j.local, account_answered, l);
    jid_free(&j);
    if (rc < 0) {
        free(l);
        return account_failed(rc, reply);
    }
    return CONTROL_LATER;
}

static int cmd_suspend(const struct control_call *call, const char *const *args, int nargs,
                       struct buf *reply)
{
    (void)nargs;
    return account_action(call, ACT_SUSPEND, args[0], args[1][0] ? args[1] : NULL, reply);
}

static int cmd_unsuspend(const struct control_call *call, const char *const *args, int nargs,
                         struct buf *reply)
{
    (void)nargs;
    return account_action(call, ACT_UNSUSPEND, args[0], NULL, reply);
}

static int cmd_delete(const struct control_call *call, const char *const *args, int nargs,
                      struct buf *reply)
{
    (void)nargs;
    return account_action(call, ACT_DELETE, args[0], NULL, reply);
}

static void count_one(void *ud, const char *user, const char *domain)
{
    (void)user;
    (void)domain;
    (*(size_t *)ud)++;
}

/* "ok TAB streams=N TAB sessions=N TAB accounts=N": for tests and
 * monitoring. */
static int cmd_status(const struct control_call *call, const char *const *args, int nargs,
                      struct buf *reply)
{
    (void)args;
    (void)nargs;
    struct server *srv = call->srv;
    size_t accounts = 0;
    int rc = store_account_list_sync(srv->store, NULL, count_one, &accounts);
    if (rc < 0)
        return account_failed(rc, reply);
    return buf_printf(reply, "streams=%zu\tsessions=%zu\taccounts=%zu", srv->c2s_count,
                      router_session_count(srv->router), accounts);
}

const struct control_command control_commands[] = {
    {"status", 0, 0, cmd_status},   {"kick", 1, 2, cmd_kick},
    {"suspend", 2, 2, cmd_suspend}, {"unsuspend", 1, 1, cmd_unsuspend},
    {"delete", 1, 1, cmd_delete},
    /* modules add theirs in their descriptors (retention: retention-run,
     * clock-offset). */
};
const size_t control_ncommands = sizeof control_commands / sizeof control_commands[0];
