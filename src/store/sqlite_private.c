/* Private XML storage in SQLite (see private.h); the table is made by
 * step 4 (sqlite_vcard.c). */
#include "store/private.h"

#include <errno.h>
#include <string.h>

#include "store/sqlite_internal.h"

static const char SQL_GET[] =
    "SELECT p.xml FROM private_xml p JOIN accounts a ON a.id = p.account_id"
    " WHERE a.domain = ?1 AND a.username = ?2 AND p.ns = ?3 AND p.name = ?4";
static const char SQL_PUT[] =
    "INSERT INTO private_xml (account_id, ns, name, xml) VALUES (?1, ?2, ?3, ?4)"
    " ON CONFLICT (account_id, ns, name) DO UPDATE SET xml = excluded.xml";
static const char SQL_TOTAL[] =
    "SELECT coalesce(sum(length(CAST(xml AS BLOB))), 0) FROM private_xml WHERE account_id = ?1";
static const char SQL_LIST[] =
    "SELECT p.ns, p.name, p.xml FROM private_xml p JOIN accounts a ON a.id = p.account_id"
    " WHERE a.domain = ?1 AND a.username = ?2 ORDER BY p.ns, p.name";
static const char SQL_DELETE[] = "DELETE FROM private_xml WHERE account_id ="
                                 " (SELECT id FROM accounts WHERE domain = ?1 AND username = ?2)";

static int bind_text(sqlite3_stmt *st, int i, const char *s, size_t len)
{
    if (len > (size_t)INT32_MAX)
        return -EINVAL;
    return sqlite3_bind_text(st, i, s, (int)len, SQLITE_STATIC) == SQLITE_OK ? 0 : -ENOMEM;
}

int store_private_get(struct store *s, const char *domain, const char *user, const char *ns,
                      const char *name, struct buf *out)
{
    sqlite3_stmt *st;
    int rc = store_stmt_account(s, SQL_GET, domain, user, &st);
    if (rc < 0)
        return rc;
    rc = bind_text(st, 3, ns, strlen(ns));
    if (rc == 0)
        rc = bind_text(st, 4, name, strlen(name));
    if (rc == 0) {
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW)
            rc = buf_append(out, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
        else
            rc = step == SQLITE_DONE ? -ENOENT : store_db_fail(s, step, "reading private XML");
    }
    store_stmt_done(st);
    return rc;
}

static int put_one(struct store *s, sqlite3_int64 id, const struct private_item *it)
{
    sqlite3_stmt *st = store_stmt(s, SQL_PUT);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, id);
    int rc = bind_text(st, 2, it->ns, strlen(it->ns));
    if (rc == 0)
        rc = bind_text(st, 3, it->name, strlen(it->name));
    if (rc == 0)
        rc = bind_text(st, 4, it->xml, it->len);
    if (rc < 0) {
        store_stmt_done(st);
        return rc;
    }
    return store_stmt_exec(s, st, "storing private XML");
}

static int total_bytes(struct store *s, sqlite3_int64 id, uint64_t *total)
{
    sqlite3_stmt *st = store_stmt(s, SQL_TOTAL);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, id);
    int step = sqlite3_step(st), rc = 0;
    if (step == SQLITE_ROW)
        *total = (uint64_t)sqlite3_column_int64(st, 0);
    else
        rc = store_db_fail(s, step, "summing private XML");
    store_stmt_done(st);
    return rc;
}

int store_private_set(struct store *s, const char *domain, const char *user,
                      const struct private_item *items, size_t n, uint64_t max_total)
{
    int rc = store_tx_begin(s);
    if (rc < 0)
        return rc;
    sqlite3_int64 id = 0;
    rc = store_account_id(s, domain, user, &id);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = put_one(s, id, &items[i]);
    uint64_t total = 0;
    if (rc == 0)
        rc = total_bytes(s, id, &total);
    if (rc == 0 && total > max_total)
        rc = -EDQUOT;
    return store_tx_end(s, rc);
}

int store_private_list(struct store *s, const char *domain, const char *user,
                       void (*cb)(void *ud, const struct private_item *it), void *ud)
{
    sqlite3_stmt *st;
    int rc = store_stmt_account(s, SQL_LIST, domain, user, &st);
    if (rc < 0)
        return rc;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct private_item it = {
            (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
            (const char *)sqlite3_column_text(st, 2), (size_t)sqlite3_column_bytes(st, 2)};
        if (it.ns && it.name && it.xml)
            cb(ud, &it);
    }
    rc = step == SQLITE_DONE ? 0 : store_db_fail(s, step, "listing private XML");
    store_stmt_done(st);
    return rc;
}

int store_private_delete_all(struct store *s, const char *domain, const char *user)
{
    return store_exec_account(s, SQL_DELETE, domain, user, "deleting private XML");
}
