/* Offline messages in SQLite (store/offline.h): table offline_messages,
 * created by migration step 2.
 *
 * The limit check of an add needs the account's message count and bytes;
 * summing them reads every stored message of the account, which made a
 * burst of messages to one account quadratic. So each connection keeps
 * what it counted per account and adds what it inserts. The cache is
 * exact or empty: it is dropped when another connection has committed
 * anything (PRAGMA data_version changes: taubectl, the server's other
 * connection), after any rollback on this connection (what it counted
 * might be undone), after deletes on this connection, and when it holds
 * too many accounts. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "store/offline.h"
#include "store/sqlite_internal.h"

/* The SQL texts are the statement cache's keys: one object each. */
static const char sql_usage[] =
    "SELECT count(*), coalesce(sum(length(CAST(xml AS BLOB))), 0) FROM offline_messages"
    " WHERE account_id = ?1";
static const char sql_insert[] =
    "INSERT INTO offline_messages (account_id, stamp, xml) VALUES (?1, ?2, ?3)";
static const char sql_list[] =
    "SELECT id, stamp, xml FROM offline_messages WHERE account_id = ?1 AND id > ?2"
    " ORDER BY id LIMIT ?3";
static const char sql_delete[] = "DELETE FROM offline_messages WHERE account_id = ?1 AND id = ?2";
static const char sql_clear[] = "DELETE FROM offline_messages WHERE account_id = ?1";
static const char sql_data_version[] = "PRAGMA data_version";

#define USAGE_CACHE_MAX 20000 /* accounts */

struct usage {
    uint64_t count, bytes;
    char key[24]; /* the account id in decimal: the map's key */
};

void store_offline_usage_forget(struct store *s)
{
    const char *k;
    void *v;
    for (size_t i = 0; (i = hmap_next(&s->offline_usage, i, &k, &v)) != 0;)
        free(v);
    hmap_free(&s->offline_usage);
    hmap_init(&s->offline_usage);
}

/* Drops the cache if another connection committed since it was filled. */
static void usage_check_version(struct store *s)
{
    sqlite3_stmt *st = store_stmt(s, sql_data_version);
    int64_t dv = -1;
    if (st && sqlite3_step(st) == SQLITE_ROW)
        dv = sqlite3_column_int64(st, 0);
    if (st)
        store_stmt_done(st);
    if (dv < 0 || dv != s->offline_usage_dv)
        store_offline_usage_forget(s);
    s->offline_usage_dv = dv;
}

static struct usage *usage_cached(struct store *s, sqlite3_int64 acc)
{
    char key[24];
    snprintf(key, sizeof key, "%" PRId64, (int64_t)acc);
    return hmap_get(&s->offline_usage, key);
}

/* Remembers what was counted; a failure only means no cache. */
static void usage_remember(struct store *s, sqlite3_int64 acc, uint64_t count, uint64_t bytes)
{
    if (s->offline_usage.live >= USAGE_CACHE_MAX)
        store_offline_usage_forget(s);
    struct usage *u = malloc(sizeof *u);
    if (!u)
        return;
    *u = (struct usage){count, bytes, ""};
    snprintf(u->key, sizeof u->key, "%" PRId64, (int64_t)acc);
    if (hmap_put(&s->offline_usage, u->key, u) < 0)
        free(u);
}

static int usage_by_id(struct store *s, sqlite3_int64 acc, uint64_t *count, uint64_t *bytes)
{
    sqlite3_stmt *st = store_stmt(s, sql_usage);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, acc);
    int step = sqlite3_step(st);
    int rc = 0;
    if (step == SQLITE_ROW) {
        *count = (uint64_t)sqlite3_column_int64(st, 0);
        *bytes = (uint64_t)sqlite3_column_int64(st, 1);
    } else {
        rc = store_db_fail(s, step, "counting offline messages");
    }
    store_stmt_done(st);
    return rc;
}

int store_offline_usage_sync(struct store *s, const char *domain, const char *user, uint64_t *count,
                             uint64_t *bytes)
{
    sqlite3_int64 acc;
    int rc = store_account_id(s, domain, user, &acc);
    return rc < 0 ? rc : usage_by_id(s, acc, count, bytes);
}

static int insert(struct store *s, sqlite3_int64 acc, int64_t unix_time, const char *xml,
                  size_t len)
{
    sqlite3_stmt *st = store_stmt(s, sql_insert);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, acc);
    sqlite3_bind_int64(st, 2, unix_time);
    if (sqlite3_bind_text(st, 3, xml, (int)len, SQLITE_STATIC) != SQLITE_OK) {
        store_stmt_done(st);
        return -ENOMEM;
    }
    return store_stmt_exec(s, st, "storing an offline message");
}

/* Checks the limit and inserts, inside the caller's transaction. */
static int add_in_tx(struct store *s, const char *domain, const char *user, int64_t unix_time,
                     const char *xml, size_t len, const struct offline_limits *lim)
{
    sqlite3_int64 acc;
    uint64_t count = 0, bytes = 0;
    int rc = store_account_id(s, domain, user, &acc);
    if (rc < 0)
        return rc;
    usage_check_version(s);
    struct usage *u = usage_cached(s, acc);
    if (u) {
        count = u->count;
        bytes = u->bytes;
    } else if ((rc = usage_by_id(s, acc, &count, &bytes)) < 0) {
        return rc;
    }
    if (count >= lim->max_messages || bytes > lim->max_bytes || len > lim->max_bytes - bytes)
        return -EDQUOT;
    rc = insert(s, acc, unix_time, xml, len);
    if (rc < 0)
        return rc;
    if (u) {
        u->count++;
        u->bytes += len;
    } else {
        usage_remember(s, acc, count + 1, bytes + len);
    }
    return 0;
}

int store_offline_add_sync(struct store *s, const char *domain, const char *user, int64_t unix_time,
                           const char *xml, size_t len, const struct offline_limits *lim)
{
    if (len == 0 || len > INT_MAX)
        return -EINVAL;
    int rc = store_tx_begin(s);
    if (rc < 0)
        return rc;
    rc = add_in_tx(s, domain, user, unix_time, xml, len, lim);
    return store_tx_end(s, rc);
}

int store_offline_list_sync(struct store *s, const char *domain, const char *user, int64_t after_id,
                            size_t max, store_offline_cb cb, void *ud)
{
    sqlite3_stmt *st;
    int rc = store_stmt_account_id(s, sql_list, domain, user, &st);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 2, after_id);
    sqlite3_bind_int64(st, 3, max > INT_MAX ? INT_MAX : (sqlite3_int64)max);
    int n = 0, step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *xml = (const char *)sqlite3_column_text(st, 2);
        int len = sqlite3_column_bytes(st, 2);
        if (xml)
            cb(ud, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1), xml, (size_t)len);
        n++;
    }
    rc = step == SQLITE_DONE ? n : store_db_fail(s, step, "listing offline messages");
    store_stmt_done(st);
    return rc;
}

static int delete_in_tx(struct store *s, sqlite3_int64 acc, const int64_t *ids, size_t n)
{
    sqlite3_stmt *st = store_stmt(s, sql_delete);
    if (!st)
        return -EIO;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        sqlite3_bind_int64(st, 1, acc);
        sqlite3_bind_int64(st, 2, ids[i]);
        rc = store_stmt_exec(s, st, "deleting an offline message");
    }
    return rc;
}

int store_offline_delete_sync(struct store *s, const char *domain, const char *user,
                              const int64_t *ids, size_t n)
{
    if (n == 0)
        return 0;
    sqlite3_int64 acc;
    int rc = store_account_id(s, domain, user, &acc);
    if (rc < 0)
        return rc;
    rc = store_tx_begin(s);
    if (rc < 0)
        return rc;
    store_offline_usage_forget(s);
    return store_tx_end(s, delete_in_tx(s, acc, ids, n));
}

int store_offline_clear_sync(struct store *s, const char *domain, const char *user)
{
    sqlite3_stmt *st;
    int rc = store_stmt_account_id(s, sql_clear, domain, user, &st);
    if (rc < 0)
        return rc;
    store_offline_usage_forget(s);
    return store_stmt_exec(s, st, "erasing offline messages");
}

/* Its schema steps (store.h, struct store_migration): named by its
 * module's descriptor, applied by store_open in version order. */
const struct store_migration store_offline_migrations[] = {
    /* offline messages (XEP-0160, P7): the serialized stanza, in
     * arrival order (id), kept until delivered. */
    {2, "CREATE TABLE offline_messages ("
        "  id INTEGER PRIMARY KEY,"
        "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
        "  stamp INTEGER NOT NULL,"
        "  xml TEXT NOT NULL"
        ");"
        "CREATE INDEX offline_messages_account ON offline_messages(account_id, id);"},
    {0, NULL},
};
