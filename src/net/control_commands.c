/* The control commands (the table of control.h) and the live account
 * actions they run.
 *
 * Each command checks its arguments, acts on the loop, and answers one
 * line. JIDs arrive as "user@domain" and are prepared here; an account
 * of a domain we do not serve is refused. Replies never repeat the JID,
 * so nothing private reaches a log through them.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/server.h"
#include "modules/module.h"
#include "net/c2s.h"
#include "net/control.h"
#include "store/store.h"
#include "xmpp/jid.h"
#include "xmpp/router.h"

/* ---- live account actions ---- */

size_t control_kick_account(struct server *srv, const char *domain, const char *user,
                            enum stream_cond cond, const char *text)
{
    return c2s_kick_account(srv, domain, user, cond, text);
}

int control_suspend_account(struct server *srv, const char *domain, const char *user,
                            const char *reason)
{
    /* Stored first: a login racing with the kick must already fail. */
    int rc = store_account_set_suspended_sync(srv->store, domain, user, true, reason);
    if (rc < 0)
        return rc;
    size_t n =
        control_kick_account(srv, domain, user, STREAM_POLICY_VIOLATION, "Account suspended");
    log_info("control: account suspended, %zu stream(s) ended", n);
    return 0;
}

int control_unsuspend_account(struct server *srv, const char *domain, const char *user)
{
    return store_account_set_suspended_sync(srv->store, domain, user, false, NULL);
}

int control_delete_account(struct server *srv, const char *domain, const char *user)
{
    int rc = store_account_exists_sync(srv->store, domain, user);
    if (rc <= 0)
        return rc == 0 ? -ENOENT : rc;
    size_t n = control_kick_account(srv, domain, user, STREAM_NOT_AUTHORIZED, "Account deleted");
    struct data_ctx d = {srv->store, srv->cfg, server_now(srv), srv};
    rc = modules_delete_account(&d, domain, user);
    log_info("control: account deletion %s, %zu stream(s) ended", rc == 0 ? "done" : "failed", n);
    return rc;
}

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
    size_t n = control_kick_account(srv, j.domain, j.local, STREAM_POLICY_VIOLATION, text);
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
    rc = control_suspend_account(srv, j.domain, j.local, args[1][0] ? args[1] : NULL);
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
    rc = control_unsuspend_account(srv, j.domain, j.local);
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
    rc = control_delete_account(srv, j.domain, j.local);
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
    {"status", 0, 0, cmd_status},
    {"kick", 1, 2, cmd_kick},
    {"suspend", 2, 2, cmd_suspend},
    {"unsuspend", 1, 1, cmd_unsuspend},
    {"delete", 1, 1, cmd_delete},
    /* modules add theirs in their descriptors (retention: retention-run,
     * clock-offset). */
};
const size_t control_ncommands = sizeof control_commands / sizeof control_commands[0];
