/* The SQLite store backend: one database file in WAL mode.
 *
 * Settings and why:
 * - WAL: the server reads while taubectl writes, without "database is
 *   locked" for readers; a busy timeout covers two writers.
 * - synchronous=FULL: every commit is fsync'ed, so an account that was
 *   reported created survives a power cut. Accounts are small and rare;
 *   the bursty tables to come (archive, offline) batch several writes in
 *   one transaction rather than lowering this.
 * - foreign_keys=ON: deleting an account cascades to every table that
 *   references accounts(id) (see migrations.c).
 * Statements are prepared once per struct store, on first use, and always
 * take their values through bound parameters.
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "store/migrations.h"
#include "store/sqlite_internal.h"
#include "xmpp/jid.h"

#define STORE_BUSY_TIMEOUT_MS 5000
#define STORE_DISK_LOG_EVERY_S 60

static const char *const stmt_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_ACCOUNT_INSERT] =
        "INSERT INTO accounts (domain, username, created, suspended) VALUES (?1, ?2, ?3, ?4)",
    [ST_ACCOUNT_ID] = "SELECT id FROM accounts WHERE domain = ?1 AND username = ?2",
    [ST_ACCOUNT_DELETE] = "DELETE FROM accounts WHERE domain = ?1 AND username = ?2",
    /* Byte order of "user@domain", so that `taubectl user list` is sorted
     * the way sort(1) with LC_ALL=C would sort it. */
    [ST_ACCOUNT_LIST] = "SELECT username, domain FROM accounts"
                        " WHERE ?1 IS NULL OR domain = ?1"
                        " ORDER BY username || '@' || domain",
    [ST_ACCOUNT_TOUCH] = "UPDATE accounts SET last_login = ?3 WHERE domain = ?1 AND username = ?2",
    [ST_CREDS_INSERT] = "INSERT INTO scram_creds"
                        " (account_id, hash, salt, iterations, stored_key, server_key)"
                        " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_CREDS_DELETE] = "DELETE FROM scram_creds WHERE account_id = ?1",
    /* One statement, so the account row and its credentials come from one
     * snapshot even while another process writes. */
    [ST_CREDS_GET] = "SELECT a.suspended, c.hash, c.salt, c.iterations, c.stored_key, c.server_key"
                     " FROM accounts a LEFT JOIN scram_creds c ON c.account_id = a.id"
                     " WHERE a.domain = ?1 AND a.username = ?2",
    [ST_SYNC_NORMAL] = "PRAGMA synchronous = NORMAL",
    [ST_SYNC_FULL] = "PRAGMA synchronous = FULL",
    [ST_SAVEPOINT] = "SAVEPOINT req",
    [ST_RELEASE] = "RELEASE req",
    [ST_ROLLBACK_TO] = "ROLLBACK TO req",
};

/* ---- errors ---- */

/* Maps an SQLite result code to a negative errno. */
static int sql_errno(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_NOMEM: return -ENOMEM;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return -EBUSY;
    case SQLITE_FULL: return -ENOSPC;
    case SQLITE_READONLY: return -EROFS;
    case SQLITE_PERM:
    case SQLITE_AUTH:
    case SQLITE_CANTOPEN: return -EACCES;
    default: return -EIO;
    }
}

static bool is_disk_error(int rc)
{
    return (rc & 0xff) == SQLITE_FULL || (rc & 0xff) == SQLITE_IOERR;
}

/* Logs what failed. SQLite's messages name tables and columns, never
 * values, so no JID reaches the log this way. A full or failing disk
 * fails every write, many a second: such errors are logged once a
 * minute, with how many were not. Others are rare. */
int store_db_fail(struct store *s, int rc, const char *what)
{
    if (!is_disk_error(rc)) {
        log_error("store: %s: %s", what, sqlite3_errmsg(s->db));
        return sql_errno(rc);
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (s->disk_err_at && ts.tv_sec - s->disk_err_at < STORE_DISK_LOG_EVERY_S) {
        s->disk_err_quiet++;
        return sql_errno(rc);
    }
    log_error("store: %s: %s (%u more disk errors since the last such line)", what,
              sqlite3_errmsg(s->db), s->disk_err_quiet);
    s->disk_err_at = ts.tv_sec ? ts.tv_sec : 1;
    s->disk_err_quiet = 0;
    return sql_errno(rc);
}

/* Sets *err (if err) to a malloc'ed message; returns rc. */
__attribute__((format(printf, 3, 4))) static int set_err(char **err, int rc, const char *fmt, ...)
{
    if (!err)
        return rc;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(err, fmt, ap) < 0)
        *err = NULL;
    va_end(ap);
    return rc;
}

/* ---- prepared statements ---- */

/* Returns the cached statement id, preparing it on first use. */
static sqlite3_stmt *stmt_get(struct store *s, enum stmt_id id)
{
    if (s->stmt[id])
        return s->stmt[id];
    int rc =
        sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[id], NULL);
    if (rc != SQLITE_OK) {
        store_db_fail(s, rc, "preparing a statement");
        s->stmt[id] = NULL;
    }
    return s->stmt[id];
}

sqlite3_stmt *store_stmt(struct store *s, const char *sql)
{
    sqlite3_stmt *st = hmap_get(&s->cached, sql);
    if (st)
        return st;
    int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    if (rc != SQLITE_OK) {
        store_db_fail(s, rc, "preparing a statement");
        return NULL;
    }
    if (hmap_put(&s->cached, sql, st) < 0) {
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

/* Makes a statement ready for its next use. */
void store_stmt_done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* Runs a statement that returns no rows. 0 or -errno. */
int store_stmt_exec(struct store *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    int ret = (rc == SQLITE_DONE) ? 0 : store_db_fail(s, rc, what);
    store_stmt_done(st);
    return ret;
}

static int run_simple(struct store *s, enum stmt_id id, const char *what)
{
    sqlite3_stmt *st = stmt_get(s, id);
    return st ? store_stmt_exec(s, st, what) : -EIO;
}

/* The transaction is gone though we think one is open: SQLite rolled it
 * back by itself (SQLITE_FULL, SQLITE_IOERR, ...). */
static bool tx_lost(struct store *s)
{
    if (s->tx_depth == 0 || !sqlite3_get_autocommit(s->db))
        return false;
    s->tx_depth = 0;
    store_offline_usage_forget(s);
    return true;
}

int store_tx_begin(struct store *s)
{
    tx_lost(s);
    int rc = s->tx_depth == 0 ? run_simple(s, ST_BEGIN, "beginning a transaction")
                              : run_simple(s, ST_SAVEPOINT, "making a savepoint");
    if (rc == 0)
        s->tx_depth++;
    return rc;
}

/* Ends a transaction or a savepoint: commits (releases) if rc is 0, else
 * rolls back (to the savepoint). Returns the first error. */
int store_tx_end(struct store *s, int rc)
{
    if (s->tx_depth == 0 || tx_lost(s))
        return rc ? rc : -EIO;
    s->tx_depth--;
    if (rc != 0)
        store_offline_usage_forget(s); /* what it counted may be undone */
    if (s->tx_depth > 0) {
        if (rc == 0) {
            rc = run_simple(s, ST_RELEASE, "releasing a savepoint");
            if (rc < 0)
                store_offline_usage_forget(s);
            return rc;
        }
        if (run_simple(s, ST_ROLLBACK_TO, "rolling back a savepoint") == 0)
            run_simple(s, ST_RELEASE, "releasing a savepoint");
        tx_lost(s);
        return rc;
    }
    if (rc == 0) {
        rc = run_simple(s, ST_COMMIT, "committing");
        if (rc < 0)
            store_offline_usage_forget(s);
        if (rc == 0 || sqlite3_get_autocommit(s->db))
            return rc;
    }
    if (sqlite3_get_autocommit(s->db) == 0)
        run_simple(s, ST_ROLLBACK, "rolling back");
    return rc;
}

void store_set_sync(struct store *s, bool full)
{
    if (s->sync_full == full || s->tx_depth > 0)
        return;
    if (run_simple(s, full ? ST_SYNC_FULL : ST_SYNC_NORMAL, "setting synchronous") == 0)
        s->sync_full = full;
}

/* Binds the (domain, user) pair every account statement starts with. */
int store_bind_account(sqlite3_stmt *st, const char *domain, const char *user)
{
    size_t dl = strlen(domain), ul = strlen(user);
    if (dl == 0 || ul == 0 || dl > JID_PART_MAX || ul > JID_PART_MAX)
        return -EINVAL;
    if (sqlite3_bind_text(st, 1, domain, (int)dl, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(st, 2, user, (int)ul, SQLITE_STATIC) != SQLITE_OK)
        return -ENOMEM;
    return 0;
}

int store_stmt_account(struct store *s, const char *sql, const char *domain, const char *user,
                       sqlite3_stmt **out)
{
    *out = store_stmt(s, sql);
    if (!*out)
        return -EIO;
    int rc = store_bind_account(*out, domain, user);
    if (rc < 0) {
        store_stmt_done(*out);
        *out = NULL;
    }
    return rc;
}

int store_exec_account(struct store *s, const char *sql, const char *domain, const char *user,
                       const char *what)
{
    sqlite3_stmt *st;
    int rc = store_stmt_account(s, sql, domain, user, &st);
    return rc < 0 ? rc : store_stmt_exec(s, st, what);
}

int store_stmt_account_id(struct store *s, const char *sql, const char *domain, const char *user,
                          sqlite3_stmt **out)
{
    sqlite3_int64 id = 0; /* for the analyzer: store_account_id's failures are < 0 */
    *out = NULL;
    int rc = store_account_id(s, domain, user, &id);
    if (rc < 0)
        return rc;
    *out = store_stmt(s, sql);
    if (!*out)
        return -EIO;
    sqlite3_bind_int64(*out, 1, id);
    return 0;
}

/* ---- opening, migrations ---- */

/* Runs constant SQL (pragmas, migration steps): no values are involved. */
static int exec_const(sqlite3 *db, const char *sql, char **err)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc == SQLITE_OK)
        return 0;
    set_err(err, 0, "%s", msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    return sql_errno(rc);
}

/* Reads one integer from a query with no parameters into *out. */
static int query_int(sqlite3 *db, const char *sql, int *out)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sql_errno(rc);
    rc = sqlite3_step(st);
    int ret = 0;
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int(st, 0);
    else
        ret = (rc == SQLITE_DONE) ? -ENOENT : sql_errno(rc);
    sqlite3_finalize(st);
    return ret;
}

static int set_version(sqlite3 *db, int v)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, "UPDATE schema_version SET version = ?1 WHERE id = 1", -1, &st,
                                NULL);
    if (rc != SQLITE_OK)
        return sql_errno(rc);
    sqlite3_bind_int(st, 1, v);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : sql_errno(rc);
}

static int set_pragmas(sqlite3 *db, char **err)
{
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
    int rc = exec_const(db, "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;", err);
    if (rc < 0)
        return rc;
    /* journal_mode answers with the mode it ended up in. */
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st, NULL) != SQLITE_OK)
        return set_err(err, -EIO, "cannot set WAL mode: %s", sqlite3_errmsg(db));
    rc = sqlite3_step(st);
    bool wal =
        rc == SQLITE_ROW && sqlite3_stricmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
    sqlite3_finalize(st);
    if (!wal)
        return set_err(err, -EIO, "cannot set WAL mode: %s", sqlite3_errmsg(db));
    int fk = 0;
    if (query_int(db, "PRAGMA foreign_keys", &fk) < 0 || fk != 1)
        return set_err(err, -EIO, "this SQLite does not enforce foreign keys");
    return 0;
}

/* Applies step v (from version v to v + 1), unless another process did it
 * first. *cur gets the version found. */
static int schema_known(int version, size_t nsteps, char **err)
{
    if (version >= 0 && (size_t)version <= nsteps)
        return 0;
    return set_err(err, -ENOTSUP,
                   "database schema version %d is newer than this build knows (%zu); "
                   "use a newer taube or restore a backup",
                   version, nsteps);
}

/* The build's steps in order (migrations.c): sql[v - 1] is step v. */
struct steps {
    const char *sql[STORE_MAX_STEPS];
    size_t n;
};

static int order_steps(const struct store_schema *schema, struct steps *st, char **err)
{
    char *why = NULL;
    st->n = 0;
    int rc = store_migrations_order(schema, st->sql, STORE_MAX_STEPS, &st->n, &why);
    if (rc < 0)
        set_err(err, rc, "%s", why ? why : "the schema steps are wrong");
    free(why);
    return rc;
}

static int migrate_step(sqlite3 *db, const struct steps *steps, int *cur, char **err)
{
    int rc = exec_const(db, "BEGIN IMMEDIATE", err);
    if (rc < 0)
        return rc;
    rc = query_int(db, "SELECT version FROM schema_version WHERE id = 1", cur);
    if (rc == 0)
        rc = schema_known(*cur, steps->n, err);
    else if (rc < 0)
        set_err(err, rc, "cannot read schema_version: %s", sqlite3_errmsg(db));
    if (rc == 0 && (size_t)*cur < steps->n) {
        rc = exec_const(db, steps->sql[*cur], err);
        if (rc == 0)
            rc = set_version(db, *cur + 1);
    }
    if (rc == 0)
        return exec_const(db, "COMMIT", err);
    exec_const(db, "ROLLBACK", NULL);
    return rc;
}

/* Brings the schema to the newest version; s->version gets it. */
static int migrate_steps(struct store *s, const struct steps *steps, char **err)
{
    int rc = exec_const(s->db,
                        "BEGIN IMMEDIATE;"
                        "CREATE TABLE IF NOT EXISTS schema_version ("
                        "  id INTEGER PRIMARY KEY CHECK (id = 1),"
                        "  version INTEGER NOT NULL);"
                        "INSERT OR IGNORE INTO schema_version (id, version) VALUES (1, 0);"
                        "COMMIT;",
                        err);
    if (rc < 0) {
        exec_const(s->db, "ROLLBACK", NULL);
        return rc;
    }
    int cur = 0;
    do {
        rc = migrate_step(s->db, steps, &cur, err);
        if (rc < 0)
            return rc;
    } while ((size_t)cur < steps->n);
    s->version = cur;
    return 0;
}

static int migrate(struct store *s, const struct store_schema *schema, char **err)
{
    struct steps *steps = malloc(sizeof *steps);
    if (!steps)
        return set_err(err, -ENOMEM, "out of memory");
    int rc = order_steps(schema, steps, err);
    if (rc == 0)
        rc = migrate_steps(s, steps, err);
    free(steps);
    return rc;
}

/* Reads the secret into s->secret: 0, -ENOENT if there is none yet. */
static int secret_read(struct store *s)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT secret FROM server_secret WHERE id = 1", -1, &st, NULL) !=
        SQLITE_OK)
        return -EIO;
    int step = sqlite3_step(st), rc = -EIO;
    if (step == SQLITE_ROW && sqlite3_column_bytes(st, 0) == STORE_SECRET_LEN) {
        memcpy(s->secret, sqlite3_column_blob(st, 0), STORE_SECRET_LEN);
        rc = 0;
    } else if (step == SQLITE_DONE) {
        rc = -ENOENT;
    }
    sqlite3_finalize(st);
    return rc;
}

static int secret_create(struct store *s)
{
    if (RAND_bytes(s->secret, STORE_SECRET_LEN) != 1)
        return -EIO;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "INSERT INTO server_secret (id, secret) VALUES (1, ?1)", -1, &st,
                           NULL) != SQLITE_OK)
        return -EIO;
    sqlite3_bind_blob(st, 1, s->secret, STORE_SECRET_LEN, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
    sqlite3_finalize(st);
    return rc;
}

/* Reads the server secret, creating it on the first open (in one
 * transaction, so two processes opening a new file agree on it). */
static int load_secret(struct store *s, char **err)
{
    int rc = exec_const(s->db, "BEGIN IMMEDIATE", err);
    if (rc < 0)
        return rc;
    rc = secret_read(s);
    if (rc == -ENOENT)
        rc = secret_create(s);
    if (rc == 0)
        return exec_const(s->db, "COMMIT", err);
    exec_const(s->db, "ROLLBACK", NULL);
    return set_err(err, rc, "cannot read or create the server secret: %s", sqlite3_errmsg(s->db));
}

/* The database holds password-equivalent material for SCRAM (StoredKey
 * lets an attacker impersonate the server side) and the server secret:
 * create it readable by the owner only. SQLite gives the -wal and -shm
 * files the mode of the database file. */
static int precreate(const char *path, char **err)
{
    /* An existing file is left alone: closing any descriptor of it would
     * drop every POSIX lock this process holds on it, those of the
     * connections already open (the server opens two: the loop's and the
     * writer's), and another process could then take the database for
     * unused and reset its WAL under them. */
    struct stat sb;
    if (stat(path, &sb) == 0)
        return 0;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return set_err(err, -errno, "%s: %s", path, strerror(errno));
    close(fd);
    return 0;
}

void store_global_init(void)
{
    /* SQLITE_MISUSE once SQLite is initialized: then it stays as it was. */
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int store_open(struct store **out, const char *path, const struct store_schema *schema, char **err)
{
    *out = NULL;
    if (err)
        *err = NULL;
    int rc = precreate(path, err);
    if (rc < 0)
        return rc;
    struct store *s = calloc(1, sizeof *s);
    if (!s)
        return set_err(err, -ENOMEM, "out of memory");
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    rc = sqlite3_open_v2(path, &s->db, flags, NULL);
    if (rc != SQLITE_OK) {
        rc = set_err(err, sql_errno(rc), "%s: %s", path,
                     s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
    } else {
        char *inner = NULL;
        s->sync_full = true;
        rc = set_pragmas(s->db, &inner);
        if (rc == 0)
            rc = migrate(s, schema, &inner);
        if (rc == 0)
            rc = load_secret(s, &inner);
        if (rc < 0)
            set_err(err, rc, "%s: %s", path, inner ? inner : "cannot open");
        free(inner);
    }
    if (rc < 0) {
        store_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* The directory must take new files (the database, its -wal and -shm). */
static int check_dir(const char *path, char **err)
{
    char dir[PATH_MAX] = ".";
    const char *slash = strrchr(path, '/');
    if (slash) {
        size_t n = slash == path ? 1 : (size_t)(slash - path);
        if (n >= sizeof dir)
            return set_err(err, -ENAMETOOLONG, "%s: path too long", path);
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    if (access(dir, W_OK | X_OK) < 0)
        return set_err(err, -errno, "%s: directory %s: %s", path, dir, strerror(errno));
    return 0;
}

/* Reads the schema version of an existing file without writing to it;
 * a file without the version table (new, or empty) counts as version 0. */
static int check_schema(const char *path, size_t nsteps, char **err)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
    int v = 0;
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
        rc = sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK) {
        rc = set_err(err, sql_errno(rc), "%s: %s", path,
                     db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    } else if (query_int(db, "SELECT version FROM schema_version WHERE id = 1", &v) < 0) {
        rc = 0; /* no version table yet: store_open creates it */
    } else {
        char *inner = NULL;
        rc = schema_known(v, nsteps, &inner);
        if (rc < 0)
            set_err(err, rc, "%s: %s", path, inner);
        free(inner);
    }
    sqlite3_close(db);
    return rc;
}

int store_check(const char *path, const struct store_schema *schema, char **err)
{
    if (err)
        *err = NULL;
    struct steps *steps = malloc(sizeof *steps);
    if (!steps)
        return set_err(err, -ENOMEM, "out of memory");
    int rc = order_steps(schema, steps, err);
    size_t nsteps = steps->n;
    free(steps);
    if (rc == 0)
        rc = check_dir(path, err);
    if (rc < 0)
        return rc;
    if (access(path, F_OK) < 0)
        return errno == ENOENT ? 0 : set_err(err, -errno, "%s: %s", path, strerror(errno));
    if (access(path, R_OK | W_OK) < 0)
        return set_err(err, -errno, "%s: %s", path, strerror(errno));
    return check_schema(path, nsteps, err);
}

int store_read_only(struct store *s)
{
    return sqlite3_exec(s->db, "PRAGMA query_only = 1", NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(s->stmt[i]);
    const char *k;
    void *v;
    for (size_t i = 0; (i = hmap_next(&s->cached, i, &k, &v)) != 0;)
        sqlite3_finalize(v);
    hmap_free(&s->cached);
    store_offline_usage_forget(s);
    hmap_free(&s->offline_usage);
    sqlite3_close(s->db);
    OPENSSL_cleanse(s->secret, sizeof s->secret);
    free(s);
}

int store_schema_version(struct store *s) { return s->version; }

const uint8_t *store_server_secret(struct store *s) { return s->secret; }

/* ---- accounts ---- */

/* Checks credentials before they are written: at least one hash, each
 * entry consistent with the slot it is in. */
static int creds_valid(const struct account_creds *c)
{
    int n = 0;
    for (int h = 0; h < SCRAM_NHASH; h++) {
        if (!c->have[h])
            continue;
        const struct scram_creds *sc = &c->scram[h];
        if ((int)sc->hash != h || sc->salt_len == 0 || sc->salt_len > SCRAM_MAX_SALT ||
            sc->iterations == 0)
            return -EINVAL;
        n++;
    }
    return n > 0 ? 0 : -EINVAL;
}

static int creds_insert(struct store *s, sqlite3_int64 id, const struct scram_creds *sc)
{
    sqlite3_stmt *st = stmt_get(s, ST_CREDS_INSERT);
    if (!st)
        return -EIO;
    int klen = (int)scram_hash_len(sc->hash);
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int(st, 2, (int)sc->hash);
    sqlite3_bind_blob(st, 3, sc->salt, (int)sc->salt_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, sc->iterations);
    sqlite3_bind_blob(st, 5, sc->stored_key, klen, SQLITE_STATIC);
    sqlite3_bind_blob(st, 6, sc->server_key, klen, SQLITE_STATIC);
    return store_stmt_exec(s, st, "storing credentials");
}

static int creds_insert_all(struct store *s, sqlite3_int64 id, const struct account_creds *c)
{
    for (int h = 0; h < SCRAM_NHASH; h++) {
        if (!c->have[h])
            continue;
        int rc = creds_insert(s, id, &c->scram[h]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Inserts the account row; *id gets its id. -EEXIST if taken. */
static int account_insert(struct store *s, const char *domain, const char *user, bool suspended,
                          int64_t created, sqlite3_int64 *id)
{
    sqlite3_stmt *st = stmt_get(s, ST_ACCOUNT_INSERT);
    if (!st)
        return -EIO;
    int rc = store_bind_account(st, domain, user);
    if (rc < 0) {
        store_stmt_done(st);
        return rc;
    }
    sqlite3_bind_int64(st, 3, (sqlite3_int64)created);
    sqlite3_bind_int(st, 4, suspended ? 1 : 0);
    int step = sqlite3_step(st);
    if (step == SQLITE_DONE)
        *id = sqlite3_last_insert_rowid(s->db);
    else if (step == SQLITE_CONSTRAINT_UNIQUE || step == SQLITE_CONSTRAINT_PRIMARYKEY)
        rc = -EEXIST;
    else
        rc = store_db_fail(s, step, "creating an account");
    store_stmt_done(st);
    return rc;
}

/* Finds the id of an account. 0, -ENOENT or another -errno. */
int store_account_id(struct store *s, const char *domain, const char *user, sqlite3_int64 *id)
{
    sqlite3_stmt *st = stmt_get(s, ST_ACCOUNT_ID);
    if (!st)
        return -EIO;
    int rc = store_bind_account(st, domain, user);
    if (rc == 0) {
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW)
            *id = sqlite3_column_int64(st, 0);
        else
            rc = step == SQLITE_DONE ? -ENOENT : store_db_fail(s, step, "finding an account");
    }
    store_stmt_done(st);
    return rc;
}

int store_account_insert_in_tx(struct store *s, const char *domain, const char *user,
                               const struct account_creds *c, int64_t created, sqlite3_int64 *id)
{
    int rc = creds_valid(c);
    if (rc == 0)
        rc = account_insert(s, domain, user, c->suspended, created, id);
    if (rc == 0)
        rc = creds_insert_all(s, *id, c);
    return rc;
}

int store_account_create_sync(struct store *s, const char *domain, const char *user,
                              const struct account_creds *c)
{
    int rc = creds_valid(c);
    if (rc < 0)
        return rc;
    rc = store_tx_begin(s);
    if (rc < 0)
        return rc;
    sqlite3_int64 id = 0;
    rc = store_account_insert_in_tx(s, domain, user, c, (int64_t)time(NULL), &id);
    return store_tx_end(s, rc);
}

/* Replaces the SCRAM credentials only; the suspended flag is left as it
 * is (c->suspended is ignored), so a password change cannot lift a
 * suspension. */
int store_account_set_creds_sync(struct store *s, const char *domain, const char *user,
                                 const struct account_creds *c)
{
    int rc = creds_valid(c);
    if (rc < 0)
        return rc;
    rc = store_tx_begin(s);
    if (rc < 0)
        return rc;
    sqlite3_int64 id = 0;
    rc = store_account_id(s, domain, user, &id);
    sqlite3_stmt *st = rc == 0 ? stmt_get(s, ST_CREDS_DELETE) : NULL;
    if (rc == 0 && !st)
        rc = -EIO;
    if (rc == 0) {
        sqlite3_bind_int64(st, 1, id);
        rc = store_stmt_exec(s, st, "replacing credentials");
    }
    if (rc == 0)
        rc = creds_insert_all(s, id, c);
    return store_tx_end(s, rc);
}

int store_account_delete_sync(struct store *s, const char *domain, const char *user)
{
    store_offline_usage_forget(s); /* its rows go, and its id may be reused */
    sqlite3_stmt *st = stmt_get(s, ST_ACCOUNT_DELETE);
    if (!st)
        return -EIO;
    int rc = store_bind_account(st, domain, user);
    if (rc == 0)
        rc = store_stmt_exec(s, st, "deleting an account");
    else
        store_stmt_done(st);
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = -ENOENT;
    return rc;
}

/* cb must not call back into this store: the list statement is still
 * running while it is called. */
int store_account_list_sync(struct store *s, const char *domain,
                            void (*cb)(void *ud, const char *user, const char *domain), void *ud)
{
    sqlite3_stmt *st = stmt_get(s, ST_ACCOUNT_LIST);
    if (!st)
        return -EIO;
    if (domain && sqlite3_bind_text(st, 1, domain, -1, SQLITE_STATIC) != SQLITE_OK) {
        store_stmt_done(st);
        return -ENOMEM;
    }
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW)
        cb(ud, (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1));
    int rc = step == SQLITE_DONE ? 0 : store_db_fail(s, step, "listing accounts");
    store_stmt_done(st);
    return rc;
}

/* 1 if the account exists, 0 if not, or a negative errno. */
int store_account_exists_sync(struct store *s, const char *domain, const char *user)
{
    sqlite3_int64 id;
    int rc = store_account_id(s, domain, user, &id);
    if (rc == -ENOENT)
        return 0;
    return rc < 0 ? rc : 1;
}

/* Copies one scram_creds row (columns 1..5) into c. -EIO if the row is
 * not something this code wrote: credentials fail closed. */
static int creds_from_row(sqlite3_stmt *st, struct account_creds *c)
{
    int h = sqlite3_column_int(st, 1);
    if (h < 0 || h >= SCRAM_NHASH)
        return 0; /* a hash a newer build added: not ours to use */
    int salt_len = sqlite3_column_bytes(st, 2);
    sqlite3_int64 iter = sqlite3_column_int64(st, 3);
    int klen = (int)scram_hash_len((enum scram_hash)h);
    if (salt_len <= 0 || salt_len > SCRAM_MAX_SALT || iter <= 0 || iter > UINT32_MAX ||
        sqlite3_column_bytes(st, 4) != klen || sqlite3_column_bytes(st, 5) != klen)
        return -EIO;
    struct scram_creds *sc = &c->scram[h];
    sc->hash = (enum scram_hash)h;
    memcpy(sc->salt, sqlite3_column_blob(st, 2), (size_t)salt_len);
    sc->salt_len = (size_t)salt_len;
    sc->iterations = (uint32_t)iter;
    memcpy(sc->stored_key, sqlite3_column_blob(st, 4), (size_t)klen);
    memcpy(sc->server_key, sqlite3_column_blob(st, 5), (size_t)klen);
    c->have[h] = true;
    return 0;
}

int store_account_get_creds_sync(struct store *s, const char *domain, const char *user,
                                 struct account_creds *out)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = stmt_get(s, ST_CREDS_GET);
    if (!st)
        return -EIO;
    int rc = store_bind_account(st, domain, user);
    int step = SQLITE_DONE, rows = 0;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        rows++;
        out->suspended = sqlite3_column_int(st, 0) != 0;
        if (sqlite3_column_type(st, 1) != SQLITE_NULL)
            rc = creds_from_row(st, out);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = store_db_fail(s, step, "reading credentials");
    else if (rc == -EIO)
        log_error("store: a credentials row is malformed; refusing it");
    if (rc == 0 && rows == 0)
        rc = -ENOENT;
    store_stmt_done(st);
    if (rc < 0)
        OPENSSL_cleanse(out, sizeof *out);
    return rc;
}

void store_account_get_creds(struct store *s, const char *domain, const char *user,
                             store_creds_cb cb, void *ud)
{
    struct account_creds c;
    int rc = store_account_get_creds_sync(s, domain, user, &c);
    cb(ud, rc, rc == 0 ? &c : NULL);
    OPENSSL_cleanse(&c, sizeof c);
}

int store_account_touch_login(struct store *s, const char *domain, const char *user,
                              int64_t unix_time)
{
    sqlite3_stmt *st = stmt_get(s, ST_ACCOUNT_TOUCH);
    if (!st)
        return -EIO;
    int rc = store_bind_account(st, domain, user);
    if (rc < 0) {
        store_stmt_done(st);
        return rc;
    }
    sqlite3_bind_int64(st, 3, unix_time);
    /* A login time lost to a power cut is harmless: alone, this commit is
     * not synced by itself; the next FULL commit syncs the WAL, this
     * frame included. (In a group of the store queue the group decides.) */
    bool was_full = s->sync_full;
    store_set_sync(s, false);
    rc = store_stmt_exec(s, st, "recording the last login");
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = -ENOENT;
    store_set_sync(s, was_full);
    return rc;
}
