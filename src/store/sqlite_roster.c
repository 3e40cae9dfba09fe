/* Rosters in SQLite (see roster.h); tables made by its schema step below. */
#include "store/roster.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_internal.h"
#include "xmpp/jid.h"

/* Groups are stored joined with U+001F: XML character data cannot hold it
 * (XML 1.0 §2.2), so no group name read from a stanza contains it. */
#define GROUP_SEP '\x1f'
#define ROSTER_COLS "jid, name, flags, groups, status, ver"

static const char SQL_LOAD[] =
    "SELECT " ROSTER_COLS " FROM roster_items WHERE account_id = ?1 AND jid = ?2";
static const char SQL_LIST[] =
    "SELECT " ROSTER_COLS " FROM roster_items"
    " WHERE account_id = ?1 AND (?2 = 0 OR (flags & ?2) != 0) ORDER BY jid";
static const char SQL_COUNT[] =
    "SELECT count(*) FROM roster_items WHERE account_id = ?1 AND (?2 = 0 OR (flags & ?2) != 0)";
static const char SQL_VERSION[] =
    "SELECT ver, log_floor FROM roster_versions WHERE account_id = ?1";
static const char SQL_VERSION_BUMP[] =
    "INSERT INTO roster_versions (account_id, ver, log_floor) VALUES (?1, 1, 0)"
    " ON CONFLICT (account_id) DO UPDATE SET ver = ver + 1";
static const char SQL_LOG_ADD[] =
    "INSERT INTO roster_changes (account_id, ver, jid) VALUES (?1, ?2, ?3)";
static const char SQL_LOG_TRIM[] = "DELETE FROM roster_changes WHERE account_id = ?1 AND ver <= ?2";
static const char SQL_FLOOR[] =
    "UPDATE roster_versions SET log_floor = max(log_floor, ?2) WHERE account_id = ?1";
static const char SQL_PUT[] =
    "INSERT INTO roster_items (account_id, jid, name, flags, groups, status, ver)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (account_id, jid) DO UPDATE SET"
    " name = excluded.name, flags = excluded.flags, groups = excluded.groups,"
    " status = excluded.status, ver = excluded.ver";
static const char SQL_DELETE[] = "DELETE FROM roster_items WHERE account_id = ?1 AND jid = ?2";
static const char SQL_CHANGES[] =
    "SELECT jid, max(ver) AS v FROM roster_changes WHERE account_id = ?1 AND ver > ?2"
    " GROUP BY jid ORDER BY v";
static const char SQL_HOLDERS[] =
    "SELECT a.domain, a.username FROM roster_items r JOIN accounts a ON a.id = r.account_id"
    " WHERE r.jid = ?1";
static const char SQL_ERASE_ITEMS[] = "DELETE FROM roster_items WHERE account_id = ?1";
static const char SQL_ERASE_LOG[] = "DELETE FROM roster_changes WHERE account_id = ?1";
static const char SQL_ERASE_VER[] = "DELETE FROM roster_versions WHERE account_id = ?1";
/* P18: the other accounts' change logs must not keep the deleted JID.
 * Their floor moves past its last entry (a client with an older version
 * then gets the whole roster, which no longer holds it), and the entries
 * below each floor, never read again, go. */
static const char SQL_FORGET_FLOOR[] =
    "UPDATE roster_versions SET log_floor = max(log_floor,"
    " (SELECT max(c.ver) FROM roster_changes c"
    "  WHERE c.account_id = roster_versions.account_id AND c.jid = ?1))"
    " WHERE account_id IN (SELECT account_id FROM roster_changes WHERE jid = ?1)";
static const char SQL_FORGET_LOG[] =
    "DELETE FROM roster_changes WHERE ver <= (SELECT v.log_floor FROM roster_versions v"
    " WHERE v.account_id = roster_changes.account_id)";

void roster_item_clear(struct roster_item *it)
{
    for (size_t i = 0; i < it->ngroups; i++)
        free(it->groups[i]);
    free(it->groups);
    free(it->jid);
    free(it->name);
    free(it->status);
    memset(it, 0, sizeof *it);
}

static char *column_dup(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? strdup((const char *)t) : NULL;
}

/* Splits the stored group list into it->groups. 0 or -ENOMEM. */
static int groups_split(struct roster_item *it, const char *joined)
{
    if (!joined || !*joined)
        return 0;
    size_t n = 1;
    for (const char *p = joined; *p; p++)
        n += *p == GROUP_SEP;
    if (!(it->groups = calloc(n, sizeof *it->groups)))
        return -ENOMEM;
    for (const char *p = joined;; p++) {
        const char *end = strchr(p, GROUP_SEP);
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (!(it->groups[it->ngroups] = strndup(p, len)))
            return -ENOMEM;
        it->ngroups++;
        if (!end)
            return 0;
        p = end;
    }
}

/* Fills *it from a row of ROSTER_COLS. 0 or -ENOMEM (it is cleared). */
static int item_from_row(sqlite3_stmt *st, struct roster_item *it)
{
    memset(it, 0, sizeof *it);
    it->flags = (unsigned)sqlite3_column_int(st, 2);
    it->ver = sqlite3_column_int64(st, 5);
    it->jid = column_dup(st, 0);
    bool ok = it->jid != NULL;
    if (ok && sqlite3_column_type(st, 1) != SQLITE_NULL)
        ok = (it->name = column_dup(st, 1)) != NULL;
    if (ok && sqlite3_column_type(st, 4) != SQLITE_NULL)
        ok = (it->status = column_dup(st, 4)) != NULL;
    if (ok)
        ok = groups_split(it, (const char *)sqlite3_column_text(st, 3)) == 0;
    if (!ok)
        roster_item_clear(it);
    return ok ? 0 : -ENOMEM;
}

/* The joined group list, malloc'ed. NULL on ENOMEM or overflow. */
static char *groups_join(const struct roster_item *it)
{
    size_t len = 1;
    for (size_t i = 0; i < it->ngroups; i++) {
        size_t g = strlen(it->groups[i]) + 1;
        if (len > SIZE_MAX - g)
            return NULL;
        len += g;
    }
    char *out = malloc(len), *p = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < it->ngroups; i++) {
        if (i)
            *p++ = GROUP_SEP;
        size_t g = strlen(it->groups[i]);
        memcpy(p, it->groups[i], g);
        p += g;
    }
    *p = '\0';
    return out;
}

static int bind_text(sqlite3_stmt *st, int col, const char *s)
{
    int rc = s ? sqlite3_bind_text(st, col, s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, col);
    return rc == SQLITE_OK ? 0 : -ENOMEM;
}

int roster_load_sync(struct store *s, const char *domain, const char *user, const char *jid,
                     struct roster_item *out)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st;
    int rc = store_stmt_account_id(s, SQL_LOAD, domain, user, &st);
    if (rc < 0)
        return rc;
    rc = bind_text(st, 2, jid);
    if (rc == 0) {
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW)
            rc = item_from_row(st, out);
        else
            rc = step == SQLITE_DONE ? -ENOENT : store_db_fail(s, step, "reading a roster item");
    }
    store_stmt_done(st);
    return rc;
}

int roster_list_sync(struct store *s, const char *domain, const char *user, unsigned mask,
                     void (*cb)(void *ud, const struct roster_item *it), void *ud)
{
    sqlite3_stmt *st;
    int rc = store_stmt_account_id(s, SQL_LIST, domain, user, &st);
    if (rc < 0)
        return rc;
    sqlite3_bind_int(st, 2, (int)mask);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct roster_item it;
        if ((rc = item_from_row(st, &it)) < 0)
            break;
        cb(ud, &it);
        roster_item_clear(&it);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = store_db_fail(s, step, "listing a roster");
    store_stmt_done(st);
    return rc;
}

int roster_count_sync(struct store *s, const char *domain, const char *user, unsigned mask,
                      size_t *n)
{
    sqlite3_stmt *st;
    int rc = store_stmt_account_id(s, SQL_COUNT, domain, user, &st);
    if (rc < 0)
        return rc;
    sqlite3_bind_int(st, 2, (int)mask);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        *n = (size_t)sqlite3_column_int64(st, 0);
    else
        rc = store_db_fail(s, step, "counting a roster");
    store_stmt_done(st);
    return rc;
}

/* Version and log floor of an account id (0, 0 if none yet). */
static int version_of(struct store *s, sqlite3_int64 id, int64_t *ver, int64_t *floor)
{
    sqlite3_stmt *st = store_stmt(s, SQL_VERSION);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, id);
    int rc = 0, step = sqlite3_step(st);
    *ver = *floor = 0;
    if (step == SQLITE_ROW) {
        *ver = sqlite3_column_int64(st, 0);
        *floor = sqlite3_column_int64(st, 1);
    } else if (step != SQLITE_DONE) {
        rc = store_db_fail(s, step, "reading a roster version");
    }
    store_stmt_done(st);
    return rc;
}

int roster_version_sync(struct store *s, const char *domain, const char *user, int64_t *ver)
{
    sqlite3_int64 id;
    int64_t floor;
    int rc = store_account_id(s, domain, user, &id);
    return rc < 0 ? rc : version_of(s, id, ver, &floor);
}

static int exec_id(struct store *s, const char *sql, sqlite3_int64 id, int64_t arg,
                   const char *what)
{
    sqlite3_stmt *st = store_stmt(s, sql);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, arg);
    return store_stmt_exec(s, st, what);
}

/* Bumps the version, logs jid under it and trims the log to log_max
 * entries, moving the floor past what was trimmed. */
static int version_bump(struct store *s, sqlite3_int64 id, const char *jid, unsigned log_max,
                        int64_t *ver)
{
    int64_t floor;
    int rc = exec_id(s, SQL_VERSION_BUMP, id, 0, "bumping a roster version");
    if (rc == 0)
        rc = version_of(s, id, ver, &floor);
    sqlite3_stmt *st = rc == 0 ? store_stmt(s, SQL_LOG_ADD) : NULL;
    if (rc < 0 || !st)
        return rc < 0 ? rc : -EIO;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, *ver);
    if ((rc = bind_text(st, 3, jid)) < 0) {
        store_stmt_done(st);
        return rc;
    }
    rc = store_stmt_exec(s, st, "logging a roster change");
    int64_t cut = *ver - (int64_t)(log_max ? log_max : 1);
    if (rc == 0 && cut > floor) {
        rc = exec_id(s, SQL_LOG_TRIM, id, cut, "trimming the roster log");
        if (rc == 0)
            rc = exec_id(s, SQL_FLOOR, id, cut, "moving the roster log floor");
    }
    return rc;
}

/* The row write inside put's transaction. */
static int item_write(struct store *s, sqlite3_int64 id, const struct roster_item *it, int64_t ver)
{
    char *groups = groups_join(it);
    sqlite3_stmt *st = groups ? store_stmt(s, SQL_PUT) : NULL;
    if (!st) {
        free(groups);
        return groups ? -EIO : -ENOMEM;
    }
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int(st, 4, (int)it->flags);
    sqlite3_bind_int64(st, 7, ver);
    int rc = bind_text(st, 2, it->jid);
    if (rc == 0)
        rc = bind_text(st, 3, it->name);
    if (rc == 0)
        rc = bind_text(st, 5, groups);
    if (rc == 0)
        rc = bind_text(st, 6, it->status);
    if (rc == 0)
        rc = store_stmt_exec(s, st, "storing a roster item");
    else
        store_stmt_done(st);
    free(groups);
    return rc;
}

/* The version an unversioned write keeps: the row's own, else 0. */
static int64_t row_ver(struct store *s, sqlite3_int64 id, const char *jid)
{
    sqlite3_stmt *st = store_stmt(s, SQL_LOAD);
    int64_t v = 0;
    if (!st)
        return 0;
    sqlite3_bind_int64(st, 1, id);
    if (bind_text(st, 2, jid) == 0 && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 5);
    store_stmt_done(st);
    return v;
}

int roster_put_sync(struct store *s, const char *domain, const char *user,
                    const struct roster_item *it, bool versioned, unsigned log_max, int64_t *ver)
{
    if (!it->jid || !*it->jid)
        return -EINVAL;
    int rc = store_tx_begin(s);
    if (rc < 0)
        return rc;
    sqlite3_int64 id;
    int64_t v = 0;
    rc = store_account_id(s, domain, user, &id);
    if (rc == 0) {
        if (versioned)
            rc = version_bump(s, id, it->jid, log_max, &v);
        else
            v = row_ver(s, id, it->jid);
    }
    if (rc == 0)
        rc = item_write(s, id, it, v);
    rc = store_tx_end(s, rc);
    if (rc == 0 && ver)
        *ver = v;
    return rc;
}

int roster_delete_sync(struct store *s, const char *domain, const char *user, const char *jid,
                       bool versioned, unsigned log_max, int64_t *ver)
{
    int rc = store_tx_begin(s);
    if (rc < 0)
        return rc;
    sqlite3_int64 id;
    int64_t v = 0;
    rc = store_account_id(s, domain, user, &id);
    sqlite3_stmt *st = rc == 0 ? store_stmt(s, SQL_DELETE) : NULL;
    if (rc == 0 && !st)
        rc = -EIO;
    if (rc == 0) {
        sqlite3_bind_int64(st, 1, id);
        if ((rc = bind_text(st, 2, jid)) == 0)
            rc = store_stmt_exec(s, st, "deleting a roster item");
        else
            store_stmt_done(st);
    }
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = -ENOENT;
    if (rc == 0 && versioned)
        rc = version_bump(s, id, jid, log_max, &v);
    rc = store_tx_end(s, rc);
    if (rc == 0 && ver)
        *ver = v;
    return rc;
}

int roster_changes_sync(struct store *s, const char *domain, const char *user, int64_t since,
                        void (*cb)(void *ud, const char *jid, int64_t ver), void *ud)
{
    sqlite3_int64 id;
    int64_t ver = 0, floor = 0; /* for the analyzer, which cannot see that rc <= 0 */
    int rc = store_account_id(s, domain, user, &id);
    if (rc == 0)
        rc = version_of(s, id, &ver, &floor);
    if (rc < 0)
        return rc;
    if (since < floor || since > ver)
        return -ESTALE;
    sqlite3_stmt *st = store_stmt(s, SQL_CHANGES);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, since);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW)
        cb(ud, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1));
    rc = step == SQLITE_DONE ? 0 : store_db_fail(s, step, "reading roster changes");
    store_stmt_done(st);
    return rc;
}

int roster_holders_sync(struct store *s, const char *jid,
                        void (*cb)(void *ud, const char *domain, const char *user), void *ud)
{
    sqlite3_stmt *st = store_stmt(s, SQL_HOLDERS);
    if (!st)
        return -EIO;
    int rc = bind_text(st, 1, jid);
    int step = SQLITE_DONE;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW)
        cb(ud, (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1));
    if (rc == 0 && step != SQLITE_DONE)
        rc = store_db_fail(s, step, "finding rosters holding a contact");
    store_stmt_done(st);
    return rc;
}

static int forget_in_logs(struct store *s, const char *domain, const char *user)
{
    char jid[2 * JID_PART_MAX + 2];
    int n = snprintf(jid, sizeof jid, "%s@%s", user, domain);
    if (n < 0 || (size_t)n >= sizeof jid)
        return -EINVAL;
    sqlite3_stmt *st = store_stmt(s, SQL_FORGET_FLOOR);
    if (!st)
        return -EIO;
    if (sqlite3_bind_text(st, 1, jid, n, SQLITE_STATIC) != SQLITE_OK) {
        store_stmt_done(st);
        return -ENOMEM;
    }
    int rc = store_stmt_exec(s, st, "moving roster log floors");
    if (rc == 0 && !(st = store_stmt(s, SQL_FORGET_LOG)))
        rc = -EIO;
    if (rc == 0)
        rc = store_stmt_exec(s, st, "trimming roster logs");
    return rc;
}

int roster_erase_sync(struct store *s, const char *domain, const char *user)
{
    sqlite3_int64 id;
    int rc = store_account_id(s, domain, user, &id);
    if (rc == -ENOENT)
        return 0;
    if (rc == 0)
        rc = store_tx_begin(s);
    if (rc < 0)
        return rc;
    rc = exec_id(s, SQL_ERASE_ITEMS, id, 0, "erasing a roster");
    if (rc == 0)
        rc = exec_id(s, SQL_ERASE_LOG, id, 0, "erasing a roster log");
    if (rc == 0)
        rc = exec_id(s, SQL_ERASE_VER, id, 0, "erasing a roster version");
    if (rc == 0)
        rc = forget_in_logs(s, domain, user);
    return store_tx_end(s, rc);
}

/* Its schema steps (store.h, struct store_migration): named by its
 * module's descriptor, applied by store_open in version order. */
const struct store_migration store_roster_migrations[] = {
    /* rosters (RFC 6121 §2, P5). One row per contact: a roster item
     * (flags bit 32) and/or a pending inbound subscription request (bit 8,
     * with the request's status text). flags: 1 to, 2 from, 4 ask
     * (pending out), 8 pending in, 16 approved, 32 in the roster. groups
     * are joined with U+001F, which XML text cannot hold. ver: the
     * account's roster version when the item last changed. Versions and a
     * bounded change log per account serve versioned roster gets; jid is
     * indexed so that a deleted account leaves no item in other rosters. */
    {5, "CREATE TABLE roster_items ("
        "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
        "  jid TEXT NOT NULL,"
        "  name TEXT,"
        "  flags INTEGER NOT NULL,"
        "  groups TEXT NOT NULL DEFAULT '',"
        "  status TEXT,"
        "  ver INTEGER NOT NULL DEFAULT 0,"
        "  PRIMARY KEY (account_id, jid)"
        ") WITHOUT ROWID;"
        "CREATE INDEX roster_items_jid ON roster_items(jid);"
        "CREATE TABLE roster_versions ("
        "  account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,"
        "  ver INTEGER NOT NULL,"
        "  log_floor INTEGER NOT NULL"
        ");"
        "CREATE TABLE roster_changes ("
        "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
        "  ver INTEGER NOT NULL,"
        "  jid TEXT NOT NULL,"
        "  PRIMARY KEY (account_id, ver)"
        ") WITHOUT ROWID;"},
    {0, NULL},
};
