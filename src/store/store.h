/* Storage: the one interface every backend implements.
 *
 * SQLite (sqlite.c) is the embedded default: one file, WAL, foreign keys
 * on, versioned schema migrations applied by store_open. The shape is
 * asynchronous (request + completion callback) so that a networked
 * backend fits later; the SQLite backend completes inline, before the
 * request function returns (point queries take microseconds), which the
 * caller must allow for. Synchronous variants (suffix _sync) serve
 * taubectl and tests.
 *
 * Every write that returns success is committed (durable in WAL with
 * synchronous=FULL for account data), so a client that was told it
 * succeeded never loses it to a crash.
 *
 * Threads: one struct store is used from one thread at a time.
 */
#ifndef TAUBE_STORE_H
#define TAUBE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xmpp/sasl.h"

struct store;

/* One schema step: brings the database from version - 1 to version, in
 * one transaction. Each data area declares its steps next to its SQL
 * (sqlite_offline.c, ...) as a list ended by {0, NULL}; its module's
 * descriptor names the list. Versions are one sequence over all parts:
 * a new step takes the next free number; a shipped step never changes. */
struct store_migration {
    int version;
    const char *sql;
};

/* The steps a build knows: the store's own (accounts) and each module's
 * list, in any order (store_open orders them by version). Held by value. */
#define STORE_MAX_PARTS 32
struct store_schema {
    const struct store_migration *parts[STORE_MAX_PARTS];
    size_t n;
};
/* *s = the store's own steps alone. */
void store_schema_core(struct store_schema *s);
/* Appends a {0, NULL}-ended list. 0, or -E2BIG past STORE_MAX_PARTS. */
int store_schema_add(struct store_schema *s, const struct store_migration *steps);

/* Opens (creating if needed) and migrates to the newest schema of
 * schema (every version from 1 to the highest declared exactly once,
 * else -EINVAL naming the version). 0 or -errno; *err gets a malloc'ed
 * message on failure. */
int store_open(struct store **out, const char *path, const struct store_schema *schema,
               char **err);
/* taube --check: would store_open succeed? Checks, changing nothing, that
 * the directory takes new files and that an existing file is a database
 * this build can read and migrate. 0 or -errno with *err set. */
int store_check(const char *path, const struct store_schema *schema, char **err);
void store_close(struct store *s);
int store_schema_version(struct store *s);

/* A 32-byte random secret kept in the store (created on first open);
 * used to derive fake SCRAM salts for unknown users. */
const uint8_t *store_server_secret(struct store *s);

/* ---- accounts ---- */
/* domain and user are prepared (jid_prep_*) by the caller. */

struct account_creds {
    struct scram_creds scram[SCRAM_NHASH]; /* indexed by enum scram_hash */
    bool have[SCRAM_NHASH];
    bool suspended;
};

/* Creates an account with credentials for every hash. -EEXIST if taken. */
int store_account_create_sync(struct store *s, const char *domain, const char *user,
                              const struct account_creds *c);
/* Replaces the credentials. -ENOENT if no such account. c->suspended is
 * ignored: a password change does not lift a suspension. */
int store_account_set_creds_sync(struct store *s, const char *domain, const char *user,
                                 const struct account_creds *c);
/* Deletes the account and, through foreign keys, every row that belongs to
 * it. -ENOENT if no such account. */
int store_account_delete_sync(struct store *s, const char *domain, const char *user);
/* Lists accounts of domain (NULL: all), calling cb for each, in byte
 * order of "user@domain". cb must not call into the store. */
int store_account_list_sync(struct store *s, const char *domain,
                            void (*cb)(void *ud, const char *user, const char *domain),
                            void *ud);
/* 1 if the account exists, 0 if not, or a negative errno. */
int store_account_exists_sync(struct store *s, const char *domain, const char *user);

/* Asynchronous lookup for SASL. cb gets err 0 and creds, or -ENOENT
 * (creds NULL), or another negative errno. */
typedef void (*store_creds_cb)(void *ud, int err, const struct account_creds *creds);
void store_account_get_creds(struct store *s, const char *domain, const char *user,
                             store_creds_cb cb, void *ud);
/* The same, synchronous (taubectl, tests): fills *out; 0, -ENOENT or
 * another negative errno. */
int store_account_get_creds_sync(struct store *s, const char *domain, const char *user,
                                 struct account_creds *out);

/* Records the time of a session start (promise P11). Fire and forget. */
void store_account_touch_login(struct store *s, const char *domain, const char *user,
                               int64_t unix_time);

/* ---- suspension and account facts (P21, P22; sqlite_account.c) ---- */

#define STORE_REASON_MAX 1000 /* bytes of a suspension reason */

/* Suspends (with reason, may be NULL, and the time now) or lifts the
 * suspension (reason ignored, cleared). The data is untouched. 0, -ENOENT,
 * -EINVAL (reason over STORE_REASON_MAX bytes or not UTF-8) or -errno. */
int store_account_set_suspended_sync(struct store *s, const char *domain, const char *user,
                                     bool suspended, const char *reason);

/* What `user show` prints about an account. Free with
 * store_account_info_free. */
struct account_info {
    int64_t created;          /* unix seconds */
    int64_t last_login;       /* 0: never logged in */
    bool suspended;
    int64_t suspended_at;     /* 0: unknown or not suspended */
    char *suspended_reason;   /* NULL if none */
};
/* 0, -ENOENT or -errno. */
int store_account_info_sync(struct store *s, const char *domain, const char *user,
                            struct account_info *out);
void store_account_info_free(struct account_info *info);

#endif
