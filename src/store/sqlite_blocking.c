/* Block lists in SQLite (store/blocking.h): table blocklist, created by
 * migration step 3. */
#include <errno.h>
#include <string.h>

#include "store/blocking.h"
#include "store/sqlite_internal.h"
#include "xmpp/jid.h"

/* Longest stored JID: "local@domain/resource". */
#define BLOCK_JID_MAX (3 * JID_PART_MAX + 2)

static const char sql_list[] = "SELECT jid FROM blocklist WHERE account_id = ?1 ORDER BY jid";
static const char sql_insert[] =
    "INSERT OR IGNORE INTO blocklist (account_id, jid) VALUES (?1, ?2)";
static const char sql_count[] = "SELECT count(*) FROM blocklist WHERE account_id = ?1";
static const char sql_delete[] = "DELETE FROM blocklist WHERE account_id = ?1 AND jid = ?2";
static const char sql_clear[] = "DELETE FROM blocklist WHERE account_id = ?1";
/* One statement for the whole match (the account and up to MATCH_MAX
 * candidates, unused ones NULL): every inbound stanza for an account
 * that is not online asks, and each statement outside a transaction is a
 * read transaction of its own (WAL locks, system calls). */
#define MATCH_MAX 4
static const char sql_match[] = "SELECT 1 FROM blocklist WHERE account_id = "
                                "(SELECT id FROM accounts WHERE domain = ?1 AND username = ?2) "
                                "AND jid IN (?3, ?4, ?5, ?6) LIMIT 1";

int store_blocking_list_sync(struct store *s, const char *domain, const char *user,
                             void (*cb)(void *ud, const char *jid), void *ud)
{
    sqlite3_stmt *st;
    int rc = store_stmt_account_id(s, sql_list, domain, user, &st);
    if (rc < 0)
        return rc;
    int n = 0, step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *jid = (const char *)sqlite3_column_text(st, 0);
        if (jid)
            cb(ud, jid);
        n++;
    }
    rc = step == SQLITE_DONE ? n : store_db_fail(s, step, "listing blocked JIDs");
    store_stmt_done(st);
    return rc;
}

/* Runs sql (?1 = account, ?2 = jid) once for one JID. */
static int exec_jid(struct store *s, const char *sql, sqlite3_int64 acc, const char *jid,
                    const char *what)
{
    size_t len = strlen(jid);
    if (len == 0 || len > BLOCK_JID_MAX)
        return -EINVAL;
    sqlite3_stmt *st = store_stmt(s, sql);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, acc);
    if (sqlite3_bind_text(st, 2, jid, (int)len, SQLITE_STATIC) != SQLITE_OK) {
        store_stmt_done(st);
        return -ENOMEM;
    }
    return store_stmt_exec(s, st, what);
}

static int count_items(struct store *s, sqlite3_int64 acc, size_t *n)
{
    sqlite3_stmt *st = store_stmt(s, sql_count);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, acc);
    int step = sqlite3_step(st);
    int rc = step == SQLITE_ROW ? 0 : store_db_fail(s, step, "counting blocked JIDs");
    if (rc == 0)
        *n = (size_t)sqlite3_column_int64(st, 0);
    store_stmt_done(st);
    return rc;
}

static int add_in_tx(struct store *s, sqlite3_int64 acc, const char *const *jids, size_t n,
                     size_t max_items)
{
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = exec_jid(s, sql_insert, acc, jids[i], "blocking a JID");
    size_t count = 0;
    if (rc == 0)
        rc = count_items(s, acc, &count);
    return rc == 0 && count > max_items ? -EDQUOT : rc;
}

int store_blocking_add_sync(struct store *s, const char *domain, const char *user,
                            const char *const *jids, size_t n, size_t max_items)
{
    sqlite3_int64 acc;
    int rc = store_account_id(s, domain, user, &acc);
    if (rc < 0)
        return rc;
    if ((rc = store_tx_begin(s)) < 0)
        return rc;
    return store_tx_end(s, add_in_tx(s, acc, jids, n, max_items));
}

static int remove_in_tx(struct store *s, sqlite3_int64 acc, const char *const *jids, size_t n)
{
    if (n == 0) {
        sqlite3_stmt *st = store_stmt(s, sql_clear);
        if (!st)
            return -EIO;
        sqlite3_bind_int64(st, 1, acc);
        return store_stmt_exec(s, st, "unblocking every JID");
    }
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = exec_jid(s, sql_delete, acc, jids[i], "unblocking a JID");
    return rc;
}

int store_blocking_remove_sync(struct store *s, const char *domain, const char *user,
                               const char *const *jids, size_t n)
{
    sqlite3_int64 acc;
    int rc = store_account_id(s, domain, user, &acc);
    if (rc < 0)
        return rc;
    if ((rc = store_tx_begin(s)) < 0)
        return rc;
    return store_tx_end(s, remove_in_tx(s, acc, jids, n));
}

/* cands[0..n), n <= MATCH_MAX, against the list in one statement. */
static int match_some(struct store *s, const char *domain, const char *user,
                      const char *const *cands, size_t n)
{
    sqlite3_stmt *st;
    int rc = store_stmt_account(s, sql_match, domain, user, &st);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t len = strlen(cands[i]);
        if (len > 0 && len <= BLOCK_JID_MAX &&
            sqlite3_bind_text(st, 3 + (int)i, cands[i], (int)len, SQLITE_STATIC) != SQLITE_OK)
            rc = -ENOMEM;
    }
    int step = rc == 0 ? sqlite3_step(st) : SQLITE_DONE;
    if (rc == 0)
        rc = step == SQLITE_ROW    ? 1
             : step == SQLITE_DONE ? 0
                                   : store_db_fail(s, step, "looking up a blocked JID");
    store_stmt_done(st);
    return rc;
}

int store_blocking_match_sync(struct store *s, const char *domain, const char *user,
                              const char *const *cands, size_t n)
{
    /* No such account: no list (the subquery finds no id). */
    for (size_t i = 0; i < n; i += MATCH_MAX) {
        int rc = match_some(s, domain, user, cands + i, n - i < MATCH_MAX ? n - i : MATCH_MAX);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Its schema steps (store.h, struct store_migration): named by its
 * module's descriptor, applied by store_open in version order. */
const struct store_migration store_blocking_migrations[] = {
    /* block lists (XEP-0191, P22): prepared JIDs; the primary key
     * indexes account_id. */
    {3, "CREATE TABLE blocklist ("
        "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
        "  jid TEXT NOT NULL,"
        "  PRIMARY KEY (account_id, jid)"
        ") WITHOUT ROWID;"},
    {0, NULL},
};
