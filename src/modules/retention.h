/* Inactivity retention (promises P11, P12): accounts unused for
 * retention.inactive_after are deleted, after a warning message sent
 * retention.warn_before earlier.
 *
 * An account's last use is its last login, or its creation if it never
 * logged in; in the server, an account with a session is in use now.
 * The rules (retention_decide):
 *   - unused for longer than inactive_after - warn_before and not warned:
 *     warn (a message of type normal from the domain, stored offline if
 *     the account is not online) and record the warning;
 *   - unused for longer than inactive_after AND warned at least
 *     warn_before ago: delete (account_delete). An account is
 *     never deleted unwarned: if the server was down when the warning was
 *     due, the deletion waits until warn_before after the warning;
 *   - a login clears the warning (a trigger in the store).
 *
 * The pass is this module's sweep: the scheduler (sweep.c) runs it with
 * every other module's sweep one minute after start and every 24 hours
 * after that, on the loop (a few queries and, rarely, deletions);
 * taubectl runs it through retention_run (retention run). Loop thread,
 * or taubectl's thread with the store alone (data_ctx.srv NULL).
 */
#ifndef TAUBE_RETENTION_H
#define TAUBE_RETENTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "modules/module.h"

struct retention_policy {
    int64_t inactive_after; /* seconds */
    int64_t warn_before;    /* seconds, less than inactive_after */
};

enum retention_action {
    RETENTION_KEEP,   /* used recently enough */
    RETENTION_WARN,   /* due for its warning */
    RETENTION_WAIT,   /* warned; deletion not yet due */
    RETENTION_DELETE, /* warned long enough ago and unused long enough */
};

/* The policy from the configuration. */
struct retention_policy retention_policy_of(const struct config *cfg);

/* What to do at now with an account last used at last_use and warned at
 * warned_at (0: not warned; a warning older than the last use does not
 * count). Pure. */
enum retention_action retention_decide(const struct retention_policy *p, int64_t now,
                                       int64_t last_use, int64_t warned_at);
/* The earliest time the account may be deleted if it stays unused: a
 * warning sent at now (or at warned_at if warned) plus warn_before, and
 * not before last_use + inactive_after. Pure. */
int64_t retention_delete_at(const struct retention_policy *p, int64_t now, int64_t last_use,
                            int64_t warned_at);

/* One inactive account as the report sees it. */
struct retention_item {
    const char *domain, *user;
    int64_t last_use;
    bool never_logged_in;
    int64_t warned_at; /* 0: not warned */
    enum retention_action action;
    int64_t delete_at; /* see retention_delete_at */
};

/* Calls cb for every account that is not RETENTION_KEEP at d->now, in
 * account order, changing nothing. 0 or -errno. */
int retention_report(const struct data_ctx *d,
                     void (*cb)(void *ud, const struct retention_item *it), void *ud);

struct retention_counts {
    size_t warned, deleted, failed;
};

/* Warns and deletes as due at d->now, counting, then runs every other
 * module's sweep (e.g. reports older than reports.max_age): what the
 * scheduler does, at once, on d->store: warnings are stored as offline
 * messages directly. For taubectl (no server); a running server runs
 * the same pass through the store queue (its sweep, retention-run), with
 * warnings sent through the router and deletions ending the streams.
 * Accounts that fail are counted in failed and retried on the next run.
 * 0 or -errno (the store failed to list accounts). */
int retention_run(const struct data_ctx *d, struct retention_counts *out);

/* Control commands (declared in mod_retention, run by net/control.c). "retention-run": the run now, on the
 * server's clock; reply "warned N deleted N failed N". "clock-offset
 * SECONDS": TEST ONLY, shifts server_now() by SECONDS (-3650 to 3650
 * days) so that the end-to-end tests can make time pass. */
int retention_ctl_run(const struct control_call *call, const char *const *args, int nargs,
                      struct buf *reply);
int retention_ctl_clock_offset(const struct control_call *call, const char *const *args, int nargs,
                               struct buf *reply);

#endif
