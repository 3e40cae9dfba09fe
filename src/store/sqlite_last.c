/* Last activity in SQLite (see last.h); the table is made by step 4 (sqlite_vcard.c). */
#include "store/last.h"

#include <errno.h>
#include <string.h>

#include "store/sqlite_internal.h"

static const char SQL_GET[] =
    "SELECT l.logout, l.status FROM last_activity l JOIN accounts a ON a.id = l.account_id"
    " WHERE a.domain = ?1 AND a.username = ?2";
static const char SQL_SET[] =
    "INSERT INTO last_activity (account_id, logout, status)"
    " SELECT id, ?3, ?4 FROM accounts WHERE domain = ?1 AND username = ?2"
    " ON CONFLICT (account_id) DO UPDATE SET logout = excluded.logout, status = excluded.status";
static const char SQL_DELETE[] = "DELETE FROM last_activity WHERE account_id ="
                                 " (SELECT id FROM accounts WHERE domain = ?1 AND username = ?2)";

int store_last_set(struct store *s, const char *domain, const char *user, int64_t t,
                   const char *status)
{
    if (status && strlen(status) > LAST_STATUS_MAX)
        return -EINVAL;
    sqlite3_stmt *st;
    int rc = store_stmt_account(s, SQL_SET, domain, user, &st);
    if (rc < 0)
        return rc;
    if (status && sqlite3_bind_text(st, 4, status, -1, SQLITE_STATIC) != SQLITE_OK) {
        store_stmt_done(st);
        return -ENOMEM;
    }
    sqlite3_bind_int64(st, 3, t);
    bool was_full = s->sync_full;
    store_set_sync(s, false); /* (no-op inside a group of the store queue) */
    rc = store_stmt_exec(s, st, "recording the last logout");
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = -ENOENT;
    store_set_sync(s, was_full);
    return rc;
}

int store_last_get(struct store *s, const char *domain, const char *user, int64_t *t,
                   struct buf *status)
{
    sqlite3_stmt *st;
    int rc = store_stmt_account(s, SQL_GET, domain, user, &st);
    if (rc < 0)
        return rc;
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        *t = sqlite3_column_int64(st, 0);
        const unsigned char *txt = sqlite3_column_text(st, 1);
        if (status && txt)
            rc = buf_append(status, txt, (size_t)sqlite3_column_bytes(st, 1));
    } else {
        rc = step == SQLITE_DONE ? -ENOENT : store_db_fail(s, step, "reading last activity");
    }
    store_stmt_done(st);
    return rc;
}

int store_last_delete(struct store *s, const char *domain, const char *user)
{
    return store_exec_account(s, SQL_DELETE, domain, user, "forgetting last activity");
}
