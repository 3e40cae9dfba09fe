/* Internals of the SQLite backend, shared by sqlite.c and the per-area
 * files (sqlite_roster.c, sqlite_offline.c, ...). Not for other parts.
 *
 * An area file implements the functions of its own header in src/store/
 * (roster.h, offline.h, ...) with statements from store_stmt(), which
 * prepares each SQL text once per store and caches it. Values always go
 * in through bound parameters. Tables of an area are created by its own
 * schema steps (store.h, struct store_migration), declared at the end of
 * its file and named by its module's descriptor.
 */
#ifndef TAUBE_SQLITE_INTERNAL_H
#define TAUBE_SQLITE_INTERNAL_H

#include <sqlite3.h>
#include <stdint.h>

#include "core/hmap.h"
#include "store/store.h"

#define STORE_SECRET_LEN 32

enum stmt_id {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_ACCOUNT_INSERT,
    ST_ACCOUNT_ID,
    ST_ACCOUNT_DELETE,
    ST_ACCOUNT_LIST,
    ST_ACCOUNT_TOUCH,
    ST_CREDS_INSERT,
    ST_CREDS_DELETE,
    ST_CREDS_GET,
    ST_SYNC_NORMAL,
    ST_SYNC_FULL,
    ST_SAVEPOINT,
    ST_RELEASE,
    ST_ROLLBACK_TO,
    ST_COUNT
};

struct store {
    sqlite3 *db;
    int version;
    uint8_t secret[STORE_SECRET_LEN];
    sqlite3_stmt *stmt[ST_COUNT];
    struct hmap cached; /* SQL text (a static string) -> sqlite3_stmt */
    struct hmap offline_usage;   /* account id (decimal) -> its offline count and bytes */
    int64_t offline_usage_dv;    /* PRAGMA data_version the cache is valid for */
    int tx_depth;            /* store_tx_begin nesting: 1 the transaction, more savepoints */
    bool sync_full;          /* PRAGMA synchronous is FULL (else NORMAL) */
    int64_t disk_err_at;     /* monotonic s of the last disk error logged */
    unsigned disk_err_quiet; /* disk errors not logged since */
};

/* The cached statement for sql (a string literal: its address and text
 * are the key), prepared on first use; NULL after logging on failure. */
sqlite3_stmt *store_stmt(struct store *s, const char *sql);
/* Resets a statement and clears its bindings for the next use. */
void store_stmt_done(sqlite3_stmt *st);
/* Steps a statement that returns no rows, then resets it. 0 or -errno. */
int store_stmt_exec(struct store *s, sqlite3_stmt *st, const char *what);
/* BEGIN IMMEDIATE; and COMMIT if rc is 0, else ROLLBACK (returns rc).
 * Nested (inside a transaction already open on s: the store queue's
 * group), they make a savepoint and release it or roll back to it, so an
 * area function that wants "all or nothing" gets it inside a group too.
 * A transaction SQLite rolled back by itself (full disk, I/O error) ends
 * every level: store_tx_end then returns rc without touching the db. */
int store_tx_begin(struct store *s);
int store_tx_end(struct store *s, int rc);
/* Sets PRAGMA synchronous to FULL (full) or NORMAL, if it is not so
 * already. Outside a transaction only. */
void store_set_sync(struct store *s, bool full);
/* Binds ?1 = domain, ?2 = user (both checked for length). */
int store_bind_account(sqlite3_stmt *st, const char *domain, const char *user);
/* *out = the cached statement for sql with ?1 = domain and ?2 = user
 * bound. 0, or -EIO, -EINVAL, -ENOMEM with *out NULL and nothing bound. */
int store_stmt_account(struct store *s, const char *sql, const char *domain, const char *user,
                       sqlite3_stmt **out);
/* Runs sql (?1 = domain, ?2 = user, no rows returned), e.g. deleting an
 * account's rows of one area. 0 or -errno. */
int store_exec_account(struct store *s, const char *sql, const char *domain, const char *user,
                       const char *what);
/* *out = the cached statement for sql with ?1 = the id of domain/user's
 * account bound. 0, -ENOENT (no such account), or -errno; *out is NULL
 * on failure. */
int store_stmt_account_id(struct store *s, const char *sql, const char *domain, const char *user,
                          sqlite3_stmt **out);
/* accounts.id of domain/user: 0, -ENOENT or -errno. */
int store_account_id(struct store *s, const char *domain, const char *user, sqlite3_int64 *id);
/* Inserts an account and its credentials inside the caller's
 * transaction (SQLite transactions do not nest), so that other writes can
 * go in the same one (an invited account with its code's use). 0, -EEXIST,
 * -EINVAL (credentials) or -errno. */
int store_account_insert_in_tx(struct store *s, const char *domain, const char *user,
                               const struct account_creds *c, int64_t created, sqlite3_int64 *id);
/* Forgets the cached offline usage (sqlite_offline.c): after a rollback
 * or a delete on this connection. */
void store_offline_usage_forget(struct store *s);
/* Logs what failed (never values; disk-full and I/O errors once a minute
 * at most) and maps the SQLite code to -errno. */
int store_db_fail(struct store *s, int rc, const char *what);

/* A text column of the current row, or NULL (valid until the next step). */
static inline const char *store_col_text(sqlite3_stmt *st, int col)
{
    return (const char *)sqlite3_column_text(st, col);
}

#endif
