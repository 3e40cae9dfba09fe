/* Storage: the one interface every backend implements.
 *
 * Two layers:
 * - struct store is one connection to the backend. SQLite (sqlite.c) is
 *   the embedded default: one file, WAL, foreign keys on, versioned
 *   schema migrations applied by store_open. Its functions (suffix _sync
 *   and the plain ones of each area header) run on the calling thread and
 *   commit before they return: taubectl and tests use them directly.
 * - The server never writes through them on the loop thread. Its writes
 *   are requests to the store queue (store/queue.h, store/requests.h):
 *   one writer thread, holding its own connection, commits them in
 *   groups, and the completions come back to the loop after the commit.
 *   The writer reaches the backend only through struct store_ops below,
 *   so a PostgreSQL backend is another ops table, not a change to callers.
 * - Reads the server makes on the loop go to the loop's own connection
 *   (struct server.store). Under WAL they never wait for the writer, and
 *   they see what is committed: point reads by primary or unique key,
 *   measured in microseconds (docs/architecture.md, "Storage").
 *
 * Every write whose completion reports success is committed (durable in
 * WAL with synchronous=FULL for account data), so a client that was told
 * it succeeded never loses it to a crash.
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
struct offline_limits;
struct private_item;
struct report_new;
struct report_limits;
struct invited_account;
struct invite_new;
struct account_creds;
struct store_schema;
struct roster_item;

/* A backend, as the store queue's writer thread uses it. Each function
 * runs on the connection it is given, on the writer thread. */
struct store_ops {
    const char *name;
    int (*open)(struct store **out, const char *path, const struct store_schema *schema,
                char **err);
    void (*close)(struct store *s);
    /* A group: one transaction around many requests. durable: the commit
     * must reach the disk (else it may wait for the next durable one). */
    int (*group_begin)(struct store *s, bool durable);
    /* Commits if rc is 0, else rolls back; returns the first error. */
    int (*group_end)(struct store *s, int rc);
    /* One request inside the group: a savepoint, released if rc is 0,
     * else rolled back to (undoing that request only). Returns rc, or the
     * savepoint's own error. */
    int (*req_begin)(struct store *s);
    int (*req_end)(struct store *s, int rc);
    /* True if the backend rolled the whole group back by itself (SQLite
     * does on a full disk or an I/O error): its requests must run again. */
    bool (*group_lost)(struct store *s);

    /* The writes (see the area headers for each one's contract). */
    int (*offline_add)(struct store *s, const char *domain, const char *user, int64_t unix_time,
                       const char *xml, size_t len, const struct offline_limits *lim);
    int (*offline_delete)(struct store *s, const char *domain, const char *user, const int64_t *ids,
                          size_t n);
    int (*touch_login)(struct store *s, const char *domain, const char *user, int64_t unix_time);
    int (*last_set)(struct store *s, const char *domain, const char *user, int64_t t,
                    const char *status);
    int (*vcard_set)(struct store *s, const char *domain, const char *user, const char *xml,
                     size_t len, const char *hash);
    int (*private_set)(struct store *s, const char *domain, const char *user,
                       const struct private_item *items, size_t n, uint64_t max_total);
    int (*blocking_add)(struct store *s, const char *domain, const char *user,
                        const char *const *jids, size_t n, size_t max_items);
    int (*blocking_remove)(struct store *s, const char *domain, const char *user,
                           const char *const *jids, size_t n);
    int (*report_add)(struct store *s, const char *domain, const char *user,
                      const struct report_new *r, const struct report_limits *lim, int64_t *id);
    int (*account_create_invited)(struct store *s, const struct invited_account *a);
    int (*account_set_creds)(struct store *s, const char *domain, const char *user,
                             const struct account_creds *c);
    int (*roster_put)(struct store *s, const char *domain, const char *user,
                      const struct roster_item *it, bool versioned, unsigned log_max, int64_t *ver);
    int (*roster_delete)(struct store *s, const char *domain, const char *user, const char *jid,
                         bool versioned, unsigned log_max, int64_t *ver);
    int (*account_set_suspended)(struct store *s, const char *domain, const char *user,
                                 bool suspended, const char *reason);
    int (*invite_create)(struct store *s, const struct invite_new *in, int64_t *id);
    int (*invite_consent)(struct store *s, const char *domain, const uint8_t *hash, int64_t now,
                          const char *policy_version);
    int (*retention_warn)(struct store *s, const char *domain, const char *user, int64_t t);
    /* Returns how many were deleted, or -errno. */
    int (*reports_sweep)(struct store *s, int64_t before);
};

/* The SQLite backend. */
extern const struct store_ops store_sqlite_ops;

/* Process-wide settings of the backend library, before the first
 * store_open (SQLite: no memory statistics, whose global mutex every
 * allocation would take). Optional. */
void store_global_init(void);

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
int store_open(struct store **out, const char *path, const struct store_schema *schema, char **err);
/* taube --check: would store_open succeed? Checks, changing nothing, that
 * the directory takes new files and that an existing file is a database
 * this build can read and migrate. 0 or -errno with *err set. */
int store_check(const char *path, const struct store_schema *schema, char **err);
void store_close(struct store *s);
int store_schema_version(struct store *s);
/* From now on this connection only reads (SQLite: PRAGMA query_only): a
 * write on it fails with -EROFS. The server's loop connection, once the
 * server runs, so that no write can take the loop's time by mistake. 0
 * or -errno. */
int store_read_only(struct store *s);

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
                            void (*cb)(void *ud, const char *user, const char *domain), void *ud);
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

/* Records the time of a session start (promise P11). Not synced by
 * itself when alone (a lost login time is harmless). 0, -ENOENT or -errno. */
int store_account_touch_login(struct store *s, const char *domain, const char *user,
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
