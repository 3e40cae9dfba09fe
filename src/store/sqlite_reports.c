/* Spam and abuse reports in SQLite (store/reports.h): table reports,
 * created by migration step 9. */
#include <errno.h>
#include <string.h>

#include "store/reports.h"
#include "store/sqlite_internal.h"

#define DAY_SECS 86400

static const char sql_count[] =
    "SELECT count(*), coalesce(sum(created > ?2), 0) FROM reports WHERE account_id = ?1";
static const char sql_insert[] =
    "INSERT INTO reports (account_id, jid, jid_bare, reason, text, msg_ids, msg_text, created)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
#define SELECT_REPORT \
    "SELECT r.id, a.username || '@' || a.domain, r.jid, r.reason, r.text, r.msg_ids," \
    " r.msg_text, r.created FROM reports r LEFT JOIN accounts a ON a.id = r.account_id"
static const char sql_list[] = SELECT_REPORT " WHERE ?1 = 0 OR r.id = ?1 ORDER BY r.id";
static const char sql_list_by[] = SELECT_REPORT " WHERE r.account_id = ?1 ORDER BY r.id";
static const char sql_dismiss[] = "DELETE FROM reports WHERE id = ?1";
static const char sql_forget_made[] = "UPDATE reports SET account_id = NULL WHERE account_id = ?1";
static const char sql_delete_made[] = "DELETE FROM reports WHERE account_id = ?1";
static const char sql_delete_about[] = "DELETE FROM reports WHERE jid_bare = ?1";
static const char sql_sweep[] = "DELETE FROM reports WHERE created < ?1";

/* Binds text of 1..max bytes, or NULL when optional. 0, -EINVAL or -ENOMEM. */
static int bind_text(sqlite3_stmt *st, int col, const char *v, size_t max, bool optional)
{
    if (!v)
        return optional ? 0 : -EINVAL;
    size_t len = strlen(v);
    if (len == 0 || len > max)
        return -EINVAL;
    return sqlite3_bind_text(st, col, v, (int)len, SQLITE_STATIC) == SQLITE_OK ? 0 : -ENOMEM;
}

/* -EAGAIN or -EDQUOT when acc may store no more, else 0 (or -errno). */
static int check_limits(struct store *s, sqlite3_int64 acc, const struct report_new *r,
                        const struct report_limits *lim)
{
    sqlite3_stmt *st = store_stmt(s, sql_count);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, acc);
    sqlite3_bind_int64(st, 2, r->created - DAY_SECS);
    int step = sqlite3_step(st), rc;
    if (step == SQLITE_ROW) {
        sqlite3_int64 kept = sqlite3_column_int64(st, 0), today = sqlite3_column_int64(st, 1);
        rc = today >= (sqlite3_int64)lim->per_day ? -EAGAIN
             : kept >= (sqlite3_int64)lim->kept   ? -EDQUOT
                                                  : 0;
    } else {
        rc = store_db_fail(s, step, "counting reports");
    }
    store_stmt_done(st);
    return rc;
}

static int bind_report(sqlite3_stmt *st, sqlite3_int64 acc, const struct report_new *r)
{
    sqlite3_bind_int64(st, 1, acc);
    sqlite3_bind_int64(st, 8, r->created);
    int rc = bind_text(st, 2, r->jid, REPORT_JID_MAX, false);
    if (rc == 0)
        rc = bind_text(st, 3, r->jid_bare, REPORT_JID_MAX, false);
    if (rc == 0)
        rc = bind_text(st, 4, r->reason, REPORT_REASON_MAX, false);
    if (rc == 0)
        rc = bind_text(st, 5, r->text, REPORT_TEXT_MAX, true);
    if (rc == 0)
        rc = bind_text(st, 6, r->msg_ids, REPORT_IDS_MAX, true);
    if (rc == 0)
        rc = bind_text(st, 7, r->msg_text, REPORT_TEXT_MAX, true);
    return rc;
}

static int add_in_tx(struct store *s, sqlite3_int64 acc, const struct report_new *r,
                     const struct report_limits *lim, int64_t *id)
{
    int rc = check_limits(s, acc, r, lim);
    sqlite3_stmt *st = rc == 0 ? store_stmt(s, sql_insert) : NULL;
    if (rc < 0 || !st)
        return rc < 0 ? rc : -EIO;
    if ((rc = bind_report(st, acc, r)) < 0) {
        store_stmt_done(st);
        return rc;
    }
    rc = store_stmt_exec(s, st, "storing a report");
    if (rc == 0)
        *id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

int store_report_add_sync(struct store *s, const char *domain, const char *user,
                          const struct report_new *r, const struct report_limits *lim, int64_t *id)
{
    sqlite3_int64 acc;
    int rc = store_account_id(s, domain, user, &acc);
    if (rc < 0)
        return rc;
    if ((rc = store_tx_begin(s)) < 0)
        return rc;
    return store_tx_end(s, add_in_tx(s, acc, r, lim, id));
}

/* Steps a report listing to its end, calling cb per row. The count or -errno. */
static int walk(struct store *s, sqlite3_stmt *st,
                void (*cb)(void *ud, const struct report_info *r), void *ud)
{
    int n = 0, step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct report_info r = {
            .id = sqlite3_column_int64(st, 0),
            .reporter = store_col_text(st, 1),
            .jid = store_col_text(st, 2),
            .reason = store_col_text(st, 3),
            .text = store_col_text(st, 4),
            .msg_ids = store_col_text(st, 5),
            .msg_text = store_col_text(st, 6),
            .created = sqlite3_column_int64(st, 7),
        };
        if (r.jid && r.reason) {
            cb(ud, &r);
            n++;
        }
    }
    int rc = step == SQLITE_DONE ? n : store_db_fail(s, step, "listing reports");
    store_stmt_done(st);
    return rc;
}

int store_report_list_sync(struct store *s, int64_t id,
                           void (*cb)(void *ud, const struct report_info *r), void *ud)
{
    sqlite3_stmt *st = store_stmt(s, sql_list);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, id);
    return walk(s, st, cb, ud);
}

int store_report_list_by_sync(struct store *s, const char *domain, const char *user,
                              void (*cb)(void *ud, const struct report_info *r), void *ud)
{
    sqlite3_stmt *st;
    int rc = store_stmt_account_id(s, sql_list_by, domain, user, &st);
    return rc < 0 ? rc : walk(s, st, cb, ud);
}

int store_report_dismiss_sync(struct store *s, int64_t id)
{
    sqlite3_stmt *st = store_stmt(s, sql_dismiss);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, id);
    int rc = store_stmt_exec(s, st, "dismissing a report");
    return rc == 0 && sqlite3_changes(s->db) == 0 ? -ENOENT : rc;
}

/* The reports domain/user made: deleted or detached from the account. */
static int erase_made(struct store *s, const char *domain, const char *user, bool keep_made)
{
    sqlite3_int64 acc;
    int rc = store_account_id(s, domain, user, &acc);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    sqlite3_stmt *st = store_stmt(s, keep_made ? sql_forget_made : sql_delete_made);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, acc);
    return store_stmt_exec(s, st, "erasing an account's reports");
}

/* The reports about user@domain. */
static int erase_about(struct store *s, const char *domain, const char *user)
{
    size_t ul = strlen(user), dl = strlen(domain);
    if (ul == 0 || dl == 0 || ul + dl + 1 > REPORT_JID_MAX)
        return -EINVAL;
    char bare[REPORT_JID_MAX + 1];
    memcpy(bare, user, ul);
    bare[ul] = '@';
    memcpy(bare + ul + 1, domain, dl + 1);
    sqlite3_stmt *st = store_stmt(s, sql_delete_about);
    if (!st)
        return -EIO;
    int rc = bind_text(st, 1, bare, REPORT_JID_MAX, false);
    if (rc < 0) {
        store_stmt_done(st);
        return rc;
    }
    return store_stmt_exec(s, st, "erasing the reports about an account");
}

int store_reports_erase_account_sync(struct store *s, const char *domain, const char *user,
                                     bool keep_made)
{
    int rc = store_tx_begin(s);
    if (rc < 0)
        return rc;
    rc = erase_made(s, domain, user, keep_made);
    if (rc == 0)
        rc = erase_about(s, domain, user);
    return store_tx_end(s, rc);
}

int store_reports_sweep_sync(struct store *s, int64_t before)
{
    sqlite3_stmt *st = store_stmt(s, sql_sweep);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, before);
    int rc = store_stmt_exec(s, st, "deleting old reports");
    return rc == 0 ? sqlite3_changes(s->db) : rc;
}

/* Its schema steps (store.h, struct store_migration): named by its
 * module's descriptor, applied by store_open in version order. */
const struct store_migration store_reports_migrations[] = {
    /* spam and abuse reports (XEP-0377, P22) sent with a block, kept
     * for the operator. account_id is the reporter: the account's erase
     * (modules/reports.c) either deletes its reports or, if the operator
     * keeps them (reports.keep_after_reporter_deleted), sets it to NULL,
     * "reported by a deleted account"; the cascade is the safe default
     * for any other path. jid is the reported JID as blocked (prepared),
     * jid_bare its bare form (local@domain or domain), indexed so that
     * reports about a deleted local account go with it. reason is
     * 'spam', 'abuse' or the reason URN the client gave; text, msg_ids
     * (one "by<TAB>id" line per XEP-0359 reference) and msg_text only if
     * the client sent them. */
    {9, "CREATE TABLE reports ("
        "  id INTEGER PRIMARY KEY,"
        "  account_id INTEGER REFERENCES accounts(id) ON DELETE CASCADE,"
        "  jid TEXT NOT NULL,"
        "  jid_bare TEXT NOT NULL,"
        "  reason TEXT NOT NULL,"
        "  text TEXT,"
        "  msg_ids TEXT,"
        "  msg_text TEXT,"
        "  created INTEGER NOT NULL"
        ");"
        "CREATE INDEX reports_account ON reports(account_id, created);"
        "CREATE INDEX reports_jid_bare ON reports(jid_bare);"
        "CREATE INDEX reports_created ON reports(created);"},
    {0, NULL},
};
