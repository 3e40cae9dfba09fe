/* taubectl retention report|run: inactive accounts (promises P11, P12).
 *
 * report reads the store and changes nothing. run asks the running
 * server to do its retention run (control command "retention-run"), so
 * that warnings reach online users and deletions push roster removals;
 * with no server running it works on the store alone (warnings become
 * offline messages). --now UNIX_TIME (for tests) evaluates at another
 * time and always works on the store alone.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl/ctl.h"
#include "modules/retention.h"
#include "net/control.h"

#define NOW_MAX (1LL << 40) /* far beyond any real date, far below overflow */

/* The evaluation time: --now or the clock. CTL_OK or CTL_USAGE. */
static int eval_time(struct ctl *ctl, int64_t *now)
{
    const char *v = ctl_opt(ctl, "now");
    *now = (int64_t)time(NULL);
    if (!v)
        return CTL_OK;
    char *end;
    errno = 0;
    long long t = strtoll(v, &end, 10);
    if (errno || end == v || *end || t <= 0 || t > NOW_MAX)
        return ctl_usage_error(ctl, "--now takes a unix time in seconds");
    *now = t;
    return CTL_OK;
}

/* "2026-11-26 14:03 UTC" */
static void format_time(int64_t t, char out[40])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || strftime(out, 40, "%Y-%m-%d %H:%M UTC", &tm) == 0)
        strcpy(out, "?");
}

struct report_totals {
    size_t warn, wait, del;
};

static void print_item(void *ud, const struct retention_item *it)
{
    struct report_totals *n = ud;
    char used[40], when[40], warned[40];
    format_time(it->last_use, used);
    format_time(it->delete_at, when);
    format_time(it->warned_at, warned);
    printf("%s@%s\t%s (%s)\t", it->user, it->domain, used,
           it->never_logged_in ? "created, never logged in" : "last login");
    switch (it->action) {
    case RETENTION_WARN:
        printf("warn: deletion on or after %s\n", when);
        n->warn++;
        break;
    case RETENTION_WAIT:
        printf("warned %s: deletion on or after %s\n", warned, when);
        n->wait++;
        break;
    case RETENTION_DELETE:
        printf("delete (warned %s)\n", warned);
        n->del++;
        break;
    case RETENTION_KEEP: break;
    }
}

int cmd_retention_report(struct ctl *ctl)
{
    struct data_ctx d = {ctl->store, &ctl->cfg, 0, NULL, &modules_data_parts, NULL};
    int rc = eval_time(ctl, &d.now);
    if (rc != CTL_OK)
        return rc;
    char now[40];
    format_time(d.now, now);
    printf("# accounts due at %s (unused for %" PRId64 " days: deleted; warned %" PRId64
           " days before)\n# JID\tLAST USE\tACTION\n",
           now, (int64_t)ctl->cfg.retention_inactive_after / 86400,
           (int64_t)ctl->cfg.retention_warn_before / 86400);
    struct report_totals n = {0};
    rc = retention_report(&d, print_item, &n);
    if (rc < 0) {
        ctl_err("cannot read the accounts: %s", strerror(-rc));
        return CTL_FAIL;
    }
    printf("# %zu to warn, %zu warned and waiting, %zu to delete\n", n.warn, n.wait, n.del);
    return fflush(stdout) == 0 ? CTL_OK : CTL_FAIL;
}

/* The run in the live server. CTL_OK, CTL_FAIL (also when an account
 * failed: the reply ends "failed N"), or -ENOTCONN (no server runs). */
static int run_live(struct ctl *ctl)
{
    const char *args[1] = {"retention-run"};
    char *reply = NULL;
    int rc = control_call(ctl->cfg.control_socket, args, 1, &reply);
    bool failures = rc == 0 && (!reply || !strstr(reply, " failed 0"));
    if (rc == 0)
        printf("%s (in the running server)\n", reply ? reply : "");
    else if (rc == -EPROTO)
        ctl_err("the server refused: %s", reply ? reply : "malformed reply");
    else if (rc != -ENOTCONN)
        ctl_err("cannot reach the server at %s: %s", ctl->cfg.control_socket, strerror(-rc));
    free(reply);
    return rc == -ENOTCONN ? rc : rc == 0 && !failures ? CTL_OK : CTL_FAIL;
}

int cmd_retention_run(struct ctl *ctl)
{
    struct data_ctx d = {ctl->store, &ctl->cfg, 0, NULL, &modules_data_parts, NULL};
    int rc = eval_time(ctl, &d.now);
    if (rc != CTL_OK)
        return rc;
    if (!ctl_opt(ctl, "now") && (rc = run_live(ctl)) != -ENOTCONN)
        return rc;
    struct retention_counts n;
    if (retention_run(&d, &n) < 0) {
        ctl_err("cannot read the accounts");
        return CTL_FAIL;
    }
    printf("warned %zu deleted %zu failed %zu (on the store: %s)\n", n.warned, n.deleted, n.failed,
           ctl_opt(ctl, "now") ? "--now given" : "no server is running");
    return n.failed == 0 ? CTL_OK : CTL_FAIL;
}
