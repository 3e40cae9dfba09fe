/* A temporary SQLite store for the store unit tests (test_store.c,
 * test_offline_store.c, test_profile_store.c, test_roster_store.c).
 *
 * Header-only because the Makefile builds each tests/unit/test_*.c alone
 * against build/libtaube.a. The functions are static inline so that a test
 * using only some of them still builds under -Werror. Every failure ends
 * the running test through cmocka. */
#ifndef TAUBE_TESTS_STORE_FIXTURE_H
#define TAUBE_TESTS_STORE_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "modules/module.h"
#include "store/store.h"

/* A store open on <dir>/t.db; dir is made by fixture_setup and removed,
 * with the database, its -wal and -shm files, by fixture_teardown. */
struct fixture {
    char dir[64];
    char path[128];
    struct store *s;
};

/* Credentials with recognisable bytes (seed) for both hashes, so that a
 * read-back can be told from other accounts' rows. */
static inline struct account_creds make_creds(uint8_t seed)
{
    struct account_creds c;
    memset(&c, 0, sizeof c);
    for (int h = 0; h < SCRAM_NHASH; h++) {
        struct scram_creds *sc = &c.scram[h];
        sc->hash = (enum scram_hash)h;
        sc->salt_len = SCRAM_SALT_LEN;
        memset(sc->salt, seed + h, sc->salt_len);
        sc->iterations = 4096 + (uint32_t)seed;
        size_t kl = scram_hash_len(sc->hash);
        for (size_t i = 0; i < kl; i++) {
            sc->stored_key[i] = (uint8_t)(seed + i);
            sc->server_key[i] = (uint8_t)(seed * 3 + i);
        }
        c.have[h] = true;
    }
    return c;
}

/* The build's whole schema: the store's steps and every module's. */
static inline const struct store_schema *fixture_schema(void)
{
    static struct store_schema s;
    if (s.n == 0)
        modules_store_schema(&s);
    return &s;
}

/* Opens f->path into f->s; a failure fails the test with the store's reason. */
static inline void fixture_open_store(struct fixture *f)
{
    char *err = NULL;
    int rc = store_open(&f->s, f->path, fixture_schema(), &err);
    if (rc != 0)
        fail_msg("store_open: %d %s", rc, err ? err : "");
}

/* The body of a cmocka setup: a fresh store in a new temporary directory,
 * holding one account on domain for each name in users (NULL-terminated;
 * users may be NULL for an empty store). *state gets the fixture. */
static inline int fixture_setup(void **state, const char *domain, const char *const *users)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    strcpy(f->dir, "/tmp/taube-store-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/t.db", f->dir);
    fixture_open_store(f);
    struct account_creds c = make_creds(1);
    for (size_t i = 0; users && users[i]; i++)
        assert_int_equal(store_account_create_sync(f->s, domain, users[i], &c), 0);
    *state = f;
    return 0;
}

/* A cmocka teardown: closes the store (f->s may be NULL) and removes its files. */
static inline int fixture_teardown(void **state)
{
    struct fixture *f = *state;
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    char p[160];
    store_close(f->s);
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        snprintf(p, sizeof p, "%s%s", f->path, suffixes[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

/* The first column of the first row of sql, run straight on the file,
 * beside the store under test. */
static inline long long sql_int(const char *path, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* Runs sql straight on the file, e.g. to damage rows the store wrote. */
static inline void sql_exec(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

#endif
