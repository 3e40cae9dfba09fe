/* Inactivity retention in SQLite (see retention.h); the table and the
 * trigger that clears a warning at login are made by its schema step below. */
#include "store/retention.h"

#include <errno.h>

#include "store/sqlite_internal.h"

/* A full scan of accounts: it runs once a day, and a small community's
 * accounts table is a few pages. */
static const char SQL_LIST[] =
    "SELECT a.id, a.domain, a.username, coalesce(a.last_login, a.created),"
    "       a.last_login IS NULL, coalesce(w.warned_at, 0)"
    " FROM accounts a LEFT JOIN retention_warnings w ON w.account_id = a.id"
    " WHERE coalesce(a.last_login, a.created) < ?1 AND a.id > ?2"
    " ORDER BY a.id LIMIT ?3";
static const char SQL_WARN[] =
    "INSERT INTO retention_warnings (account_id, warned_at) VALUES (?1, ?2)"
    " ON CONFLICT (account_id) DO UPDATE SET warned_at = excluded.warned_at";
static const char SQL_GET[] = "SELECT warned_at FROM retention_warnings WHERE account_id = ?1";
static const char SQL_CLEAR[] = "DELETE FROM retention_warnings WHERE account_id ="
                                " (SELECT id FROM accounts WHERE domain = ?1 AND username = ?2)";

static void row_out(sqlite3_stmt *st, store_retention_cb cb, void *ud)
{
    struct retention_row r = {
        .id = sqlite3_column_int64(st, 0),
        .domain = (const char *)sqlite3_column_text(st, 1),
        .user = (const char *)sqlite3_column_text(st, 2),
        .last_use = sqlite3_column_int64(st, 3),
        .never_logged_in = sqlite3_column_int(st, 4) != 0,
        .warned_at = sqlite3_column_int64(st, 5),
    };
    if (r.domain && r.user)
        cb(ud, &r);
}

int store_retention_list_sync(struct store *s, int64_t cutoff, int64_t after_id, size_t max,
                              store_retention_cb cb, void *ud)
{
    sqlite3_stmt *st = store_stmt(s, SQL_LIST);
    if (!st)
        return -EIO;
    if (max > INT32_MAX)
        max = INT32_MAX;
    sqlite3_bind_int64(st, 1, cutoff);
    sqlite3_bind_int64(st, 2, after_id);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)max);
    int n = 0, step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        row_out(st, cb, ud);
        n++;
    }
    int rc = step == SQLITE_DONE ? n : store_db_fail(s, step, "listing inactive accounts");
    store_stmt_done(st);
    return rc;
}

int store_retention_warn_sync(struct store *s, const char *domain, const char *user, int64_t t)
{
    sqlite3_int64 id;
    int rc = store_account_id(s, domain, user, &id);
    sqlite3_stmt *st = rc == 0 ? store_stmt(s, SQL_WARN) : NULL;
    if (rc < 0)
        return rc;
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, t);
    return store_stmt_exec(s, st, "recording an inactivity warning");
}

int store_retention_get_sync(struct store *s, const char *domain, const char *user, int64_t *t)
{
    sqlite3_int64 id;
    int rc = store_account_id(s, domain, user, &id);
    sqlite3_stmt *st = rc == 0 ? store_stmt(s, SQL_GET) : NULL;
    if (rc < 0)
        return rc;
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, id);
    int step = sqlite3_step(st);
    *t = step == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    rc =
        step == SQLITE_ROW || step == SQLITE_DONE ? 0 : store_db_fail(s, step, "reading a warning");
    store_stmt_done(st);
    return rc;
}

int store_retention_clear_sync(struct store *s, const char *domain, const char *user)
{
    return store_exec_account(s, SQL_CLEAR, domain, user, "clearing an inactivity warning");
}

/* Its schema steps (store.h, struct store_migration): named by its
 * module's descriptor, applied by store_open in version order. */
const struct store_migration store_retention_migrations[] = {
    /* inactivity warnings (P12): when the account was warned that it will
     * be deleted for want of use; one per account. A login (any update of
     * accounts.last_login) removes it, so the next inactive period is
     * warned about again. The primary key indexes account_id. */
    {6, "CREATE TABLE retention_warnings ("
        "  account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,"
        "  warned_at INTEGER NOT NULL"
        ");"
        "CREATE TRIGGER retention_warnings_login AFTER UPDATE OF last_login ON accounts"
        "  BEGIN DELETE FROM retention_warnings WHERE account_id = NEW.id; END;"},
    {0, NULL},
};
