/* Suspension and the facts `taubectl user show` prints (store.h,
 * "suspension and account facts"), in the SQLite backend.
 *
 * accounts.suspended is the flag SASL reads (with the credentials, in one
 * statement); suspended_reason and suspended_at (migration 7) say why and
 * since when, for the operator.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/sqlite_internal.h"
#include "store/store.h"
#include "xmpp/jid.h"

static const char SQL_SUSPEND[] = "UPDATE accounts SET suspended = ?3,"
                                  " suspended_reason = CASE WHEN ?3 THEN ?4 END,"
                                  " suspended_at = CASE WHEN ?3 THEN ?5 END"
                                  " WHERE domain = ?1 AND username = ?2";

static const char SQL_INFO[] =
    "SELECT created, last_login, suspended, suspended_at, suspended_reason"
    " FROM accounts WHERE domain = ?1 AND username = ?2";

static bool reason_ok(const char *reason)
{
    if (!reason)
        return true;
    size_t len = strlen(reason);
    return len <= STORE_REASON_MAX && jid_utf8_valid(reason, len);
}

int store_account_set_suspended_sync(struct store *s, const char *domain, const char *user,
                                     bool suspended, const char *reason)
{
    if (suspended && !reason_ok(reason))
        return -EINVAL;
    sqlite3_stmt *st;
    int rc = store_stmt_account(s, SQL_SUSPEND, domain, user, &st);
    if (rc < 0)
        return rc;
    sqlite3_bind_int(st, 3, suspended ? 1 : 0);
    if (suspended && reason &&
        sqlite3_bind_text(st, 4, reason, -1, SQLITE_TRANSIENT) != SQLITE_OK) {
        store_stmt_done(st);
        return -ENOMEM;
    }
    sqlite3_bind_int64(st, 5, (sqlite3_int64)time(NULL));
    rc = store_stmt_exec(s, st, "setting a suspension");
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = -ENOENT;
    return rc;
}

/* Copies the row of SQL_INFO into out. */
static int info_from_row(sqlite3_stmt *st, struct account_info *out)
{
    out->created = sqlite3_column_int64(st, 0);
    out->last_login = sqlite3_column_int64(st, 1); /* NULL reads as 0 */
    out->suspended = sqlite3_column_int(st, 2) != 0;
    out->suspended_at = sqlite3_column_int64(st, 3);
    const unsigned char *r = sqlite3_column_text(st, 4);
    if (r && !(out->suspended_reason = strdup((const char *)r)))
        return -ENOMEM;
    return 0;
}

int store_account_info_sync(struct store *s, const char *domain, const char *user,
                            struct account_info *out)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st;
    int rc = store_stmt_account(s, SQL_INFO, domain, user, &st);
    if (rc < 0)
        return rc;
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        rc = info_from_row(st, out);
    else
        rc = step == SQLITE_DONE ? -ENOENT : store_db_fail(s, step, "reading an account");
    store_stmt_done(st);
    if (rc < 0)
        store_account_info_free(out);
    return rc;
}

void store_account_info_free(struct account_info *info)
{
    free(info->suspended_reason);
    info->suspended_reason = NULL;
}
