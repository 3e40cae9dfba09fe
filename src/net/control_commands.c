/* The control commands (the table of control.h). The live account
 * actions they run are the account service's (account/account.h).
 *
 * Each command checks its arguments, acts on the loop, and answers one
 * line. JIDs arrive as "user@domain" and are prepared here; an account
 * of a domain we do not serve is refused. Replies never repeat the JID,
 * so nothing private reaches a log through them.
 */
#include <errno.h>
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

static int account_failed(int rc, struct buf *reply)
{
    if (rc == -ENOENT)
        buf_append_str(reply, "no such account");
    else if (rc == -EINVAL)
        buf_append_str(reply, "the text is too long or not UTF-8");
    else
        buf_printf(reply, "%s", strerror(-rc));
    return rc;
}

static int cmd_kick(struct server *srv, const char *const *args, int nargs, struct buf *reply)
{
    struct jid j;
    int rc = account_arg(srv, args[0], &j, reply);
    if (rc < 0)
        return rc;
    const char *text = nargs > 1 && args[1][0] ? args[1] : NULL;
    if (text && (strlen(text) > STORE_REASON_MAX || !jid_utf8_valid(text, strlen(text)))) {
        jid_free(&j);
        return account_failed(-EINVAL, reply);
    }
    size_t n = account_kick(srv, j.domain, j.local, STREAM_POLICY_VIOLATION, text);
    jid_free(&j);
    return buf_printf(reply, "%zu session(s) ended", n);
}

static int cmd_suspend(struct server *srv, const char *const *args, int nargs, struct buf *reply)
{
    (void)nargs;
    struct jid j;
    int rc = account_arg(srv, args[0], &j, reply);
    if (rc < 0)
        return rc;
    rc = account_suspend(srv, j.domain, j.local, args[1][0] ? args[1] : NULL);
    jid_free(&j);
    return rc < 0 ? account_failed(rc, reply) : buf_append_str(reply, "suspended");
}

static int cmd_unsuspend(struct server *srv, const char *const *args, int nargs, struct buf *reply)
{
    (void)nargs;
    struct jid j;
    int rc = account_arg(srv, args[0], &j, reply);
    if (rc < 0)
        return rc;
    rc = account_unsuspend(srv, j.domain, j.local);
    jid_free(&j);
    return rc < 0 ? account_failed(rc, reply) : buf_append_str(reply, "unsuspended");
}

static int cmd_delete(struct server *srv, const char *const *args, int nargs, struct buf *reply)
{
    (void)nargs;
    struct jid j;
    int rc = account_arg(srv, args[0], &j, reply);
    if (rc < 0)
        return rc;
    struct data_ctx d = modules_data_ctx(srv);
    rc = account_delete(&d, j.domain, j.local);
    jid_free(&j);
    return rc < 0 ? account_failed(rc, reply) : buf_append_str(reply, "deleted");
}

static void count_one(void *ud, const char *user, const char *domain)
{
    (void)user;
    (void)domain;
    (*(size_t *)ud)++;
}

/* "ok TAB streams=N TAB sessions=N TAB accounts=N": for tests and
 * monitoring. */
static int cmd_status(struct server *srv, const char *const *args, int nargs, struct buf *reply)
{
    (void)args;
    (void)nargs;
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
