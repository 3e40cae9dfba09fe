/* Unit tests of the SQLite store (src/store/sqlite.c), on a temporary file. */
#include <errno.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <openssl/sha.h>

#include "store/migrations.h"
#include "store_fixture.h"

/* The newest schema version of this build. */
static int newest(void)
{
    const char *sql[STORE_MAX_STEPS];
    size_t n = 0;
    assert_int_equal(store_migrations_order(fixture_schema(), sql, STORE_MAX_STEPS, &n, NULL), 0);
    return (int)n;
}

static int setup(void **state) { return fixture_setup(state, NULL, NULL); }

static void reopen(struct fixture *f)
{
    store_close(f->s);
    f->s = NULL;
    fixture_open_store(f);
}

static void assert_creds_equal(const struct account_creds *a, const struct account_creds *b)
{
    for (int h = 0; h < SCRAM_NHASH; h++) {
        assert_int_equal(a->have[h], b->have[h]);
        if (!a->have[h])
            continue;
        const struct scram_creds *x = &a->scram[h], *y = &b->scram[h];
        size_t kl = scram_hash_len(x->hash);
        assert_int_equal(x->hash, y->hash);
        assert_int_equal(x->salt_len, y->salt_len);
        assert_memory_equal(x->salt, y->salt, x->salt_len);
        assert_int_equal(x->iterations, y->iterations);
        assert_memory_equal(x->stored_key, y->stored_key, kl);
        assert_memory_equal(x->server_key, y->server_key, kl);
    }
}

static void test_migrations_from_empty(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(store_schema_version(f->s), newest());
    assert_int_equal(sql_int(f->path, "SELECT version FROM schema_version"), newest());
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                                      " AND name IN ('accounts', 'scram_creds', 'server_secret')"),
                     3);
    assert_int_equal(sql_int(f->path, "SELECT length(secret) FROM server_secret"), 32);
    static const uint8_t zero[32];
    assert_memory_not_equal(store_server_secret(f->s), zero, 32);
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_wal_mode(void **state)
{
    struct fixture *f = *state;
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void test_reopen_keeps_data(void **state)
{
    struct fixture *f = *state;
    struct account_creds c = make_creds(7), got;
    assert_int_equal(store_account_create_sync(f->s, "example.org", "alice", &c), 0);
    uint8_t secret[32];
    memcpy(secret, store_server_secret(f->s), 32);
    reopen(f);
    assert_int_equal(store_schema_version(f->s), newest());
    assert_memory_equal(store_server_secret(f->s), secret, 32);
    assert_int_equal(store_account_get_creds_sync(f->s, "example.org", "alice", &got), 0);
    assert_creds_equal(&c, &got);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM server_secret"), 1);
}

static void test_create_get(void **state)
{
    struct fixture *f = *state;
    struct account_creds c = make_creds(1), got;
    c.have[SCRAM_SHA1] = false;
    assert_int_equal(store_account_create_sync(f->s, "example.org", "bob", &c), 0);
    assert_int_equal(store_account_get_creds_sync(f->s, "example.org", "bob", &got), 0);
    assert_creds_equal(&c, &got);
    assert_false(got.suspended);
    assert_int_equal(store_account_get_creds_sync(f->s, "example.org", "nobody", &got), -ENOENT);
    assert_int_equal(store_account_get_creds_sync(f->s, "example.net", "bob", &got), -ENOENT);
    long long created = sql_int(f->path, "SELECT created FROM accounts WHERE username = 'bob'");
    assert_in_range(created, (long long)time(NULL) - 5, (long long)time(NULL));
}

struct async_result {
    int calls;
    int err;
    struct account_creds creds;
    bool had_creds;
};

static void on_creds(void *ud, int err, const struct account_creds *creds)
{
    struct async_result *r = ud;
    r->calls++;
    r->err = err;
    r->had_creds = creds != NULL;
    if (creds)
        r->creds = *creds;
}

static void test_get_creds_async(void **state)
{
    struct fixture *f = *state;
    struct account_creds c = make_creds(9);
    c.suspended = true;
    assert_int_equal(store_account_create_sync(f->s, "example.org", "carol", &c), 0);
    struct async_result r = {0};
    store_account_get_creds(f->s, "example.org", "carol", on_creds, &r);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.err, 0);
    assert_true(r.had_creds);
    assert_creds_equal(&c, &r.creds);
    assert_true(r.creds.suspended);
    memset(&r, 0, sizeof r);
    store_account_get_creds(f->s, "example.org", "dave", on_creds, &r);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.err, -ENOENT);
    assert_false(r.had_creds);
}

static void test_duplicate(void **state)
{
    struct fixture *f = *state;
    struct account_creds c = make_creds(2);
    assert_int_equal(store_account_create_sync(f->s, "example.org", "erin", &c), 0);
    assert_int_equal(store_account_create_sync(f->s, "example.org", "erin", &c), -EEXIST);
    /* The failed insert left nothing half-done. */
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM scram_creds"), 2);
    assert_int_equal(store_account_create_sync(f->s, "example.net", "erin", &c), 0);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM accounts"), 2);
}

static void test_invalid_input(void **state)
{
    struct fixture *f = *state;
    struct account_creds c = make_creds(3);
    c.have[SCRAM_SHA1] = c.have[SCRAM_SHA256] = false;
    assert_int_equal(store_account_create_sync(f->s, "example.org", "x", &c), -EINVAL);
    c = make_creds(3);
    c.scram[SCRAM_SHA256].hash = SCRAM_SHA1; /* in the wrong slot */
    assert_int_equal(store_account_create_sync(f->s, "example.org", "x", &c), -EINVAL);
    c = make_creds(3);
    assert_int_equal(store_account_create_sync(f->s, "example.org", "", &c), -EINVAL);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM accounts"), 0);
}

static void test_set_creds(void **state)
{
    struct fixture *f = *state;
    struct account_creds c = make_creds(4), c2 = make_creds(40), got;
    c.suspended = true;
    assert_int_equal(store_account_create_sync(f->s, "example.org", "frank", &c), 0);
    c2.suspended = false;
    assert_int_equal(store_account_set_creds_sync(f->s, "example.org", "frank", &c2), 0);
    assert_int_equal(store_account_get_creds_sync(f->s, "example.org", "frank", &got), 0);
    assert_creds_equal(&c2, &got);
    assert_true(got.suspended); /* not lifted by a password change */
    /* Fewer hashes than before: the old row must be gone. */
    c2.have[SCRAM_SHA1] = false;
    assert_int_equal(store_account_set_creds_sync(f->s, "example.org", "frank", &c2), 0);
    assert_int_equal(store_account_get_creds_sync(f->s, "example.org", "frank", &got), 0);
    assert_false(got.have[SCRAM_SHA1]);
    assert_true(got.have[SCRAM_SHA256]);
    assert_int_equal(store_account_set_creds_sync(f->s, "example.org", "ghost", &c2), -ENOENT);
}

static void test_delete_cascades(void **state)
{
    struct fixture *f = *state;
    struct account_creds c = make_creds(5);
    assert_int_equal(store_account_create_sync(f->s, "example.org", "gina", &c), 0);
    assert_int_equal(store_account_create_sync(f->s, "example.org", "hank", &c), 0);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM scram_creds"), 4);
    assert_int_equal(store_account_delete_sync(f->s, "example.org", "gina"), 0);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM scram_creds"), 2);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM scram_creds c JOIN accounts a"
                                      " ON a.id = c.account_id WHERE a.username = 'hank'"),
                     2);
    assert_int_equal(store_account_exists_sync(f->s, "example.org", "gina"), 0);
    assert_int_equal(store_account_delete_sync(f->s, "example.org", "gina"), -ENOENT);
    assert_int_equal(store_account_exists_sync(f->s, "example.org", "hank"), 1);
}

struct list_acc {
    char out[512];
    int n;
};

static void on_account(void *ud, const char *user, const char *domain)
{
    struct list_acc *l = ud;
    size_t len = strlen(l->out);
    snprintf(l->out + len, sizeof l->out - len, "%s@%s\n", user, domain);
    l->n++;
}

static void test_list(void **state)
{
    struct fixture *f = *state;
    struct account_creds c = make_creds(6);
    static const char *const users[][2] = {
        {"b.org", "zed"}, {"a.org", "mia"}, {"b.org", "a"}, {"a.org", "a.b"}, {"a.org", "a"},
    };
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(store_account_create_sync(f->s, users[i][0], users[i][1], &c), 0);
    struct list_acc l = {0};
    assert_int_equal(store_account_list_sync(f->s, NULL, on_account, &l), 0);
    assert_int_equal(l.n, 5);
    /* Byte order of the whole JID: '.' sorts before '@'. */
    assert_string_equal(l.out, "a.b@a.org\na@a.org\na@b.org\nmia@a.org\nzed@b.org\n");
    memset(&l, 0, sizeof l);
    assert_int_equal(store_account_list_sync(f->s, "b.org", on_account, &l), 0);
    assert_string_equal(l.out, "a@b.org\nzed@b.org\n");
    memset(&l, 0, sizeof l);
    assert_int_equal(store_account_list_sync(f->s, "c.org", on_account, &l), 0);
    assert_int_equal(l.n, 0);
}

static void test_exists(void **state)
{
    struct fixture *f = *state;
    struct account_creds c = make_creds(8);
    assert_int_equal(store_account_exists_sync(f->s, "example.org", "ivy"), 0);
    assert_int_equal(store_account_create_sync(f->s, "example.org", "ivy", &c), 0);
    assert_int_equal(store_account_exists_sync(f->s, "example.org", "ivy"), 1);
    assert_int_equal(store_account_exists_sync(f->s, "example.org", "IVY"), 0);
}

static void test_future_schema_refused(void **state)
{
    struct fixture *f = *state;
    store_close(f->s);
    f->s = NULL;
    sql_exec(f->path, "UPDATE schema_version SET version = 999");
    char *err = NULL;
    int rc = store_open(&f->s, f->path, fixture_schema(), &err);
    assert_int_equal(rc, -ENOTSUP);
    assert_null(f->s);
    assert_non_null(err);
    assert_non_null(strstr(err, "999"));
    assert_non_null(strstr(err, "newer"));
    free(err);
    /* The refused file was left alone. */
    assert_int_equal(sql_int(f->path, "SELECT version FROM schema_version"), 999);
}

static void test_touch_login(void **state)
{
    struct fixture *f = *state;
    struct account_creds c = make_creds(10);
    assert_int_equal(store_account_create_sync(f->s, "example.org", "jo", &c), 0);
    assert_int_equal(sql_int(f->path, "SELECT last_login IS NULL FROM accounts"), 1);
    store_account_touch_login(f->s, "example.org", "jo", 1700000000);
    assert_int_equal(sql_int(f->path, "SELECT last_login FROM accounts"), 1700000000);
    store_account_touch_login(f->s, "example.org", "jo", 1700000100);
    assert_int_equal(sql_int(f->path, "SELECT last_login FROM accounts"), 1700000100);
    store_account_touch_login(f->s, "example.org", "nobody", 5); /* no effect, no crash */
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM accounts"), 1);
}

/* A process that is killed right after a create reported success (no
 * store_close, no atexit) must not lose the account. */
static void test_durable_after_crash(void **state)
{
    struct fixture *f = *state;
    store_close(f->s);
    f->s = NULL;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct store *s;
        if (store_open(&s, f->path, fixture_schema(), NULL) != 0)
            _exit(2);
        struct account_creds c = make_creds(11);
        _exit(store_account_create_sync(s, "example.org", "kim", &c) == 0 ? 0 : 3);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    reopen(f);
    struct account_creds want = make_creds(11), got;
    assert_int_equal(store_account_get_creds_sync(f->s, "example.org", "kim", &got), 0);
    assert_creds_equal(&want, &got);
}

/* A newer build's hash value is skipped, a malformed row fails closed. */
static void test_bad_creds_rows(void **state)
{
    struct fixture *f = *state;
    struct account_creds c = make_creds(12), got;
    assert_int_equal(store_account_create_sync(f->s, "example.org", "lee", &c), 0);
    sql_exec(f->path, "INSERT INTO scram_creds SELECT account_id, 7, salt, iterations,"
                      " stored_key, server_key FROM scram_creds WHERE hash = 1");
    assert_int_equal(store_account_get_creds_sync(f->s, "example.org", "lee", &got), 0);
    assert_creds_equal(&c, &got);
    sql_exec(f->path, "UPDATE scram_creds SET stored_key = x'00' WHERE hash = 1");
    assert_int_equal(store_account_get_creds_sync(f->s, "example.org", "lee", &got), -EIO);
    assert_false(got.have[SCRAM_SHA1] || got.have[SCRAM_SHA256]);
}

/* Steps that shipped never change, wherever they are declared now: the
 * SHA-256 of each step's SQL as released (versions 1 to 9). */
static void test_shipped_steps_unchanged(void **state)
{
    (void)state;
    static const char *const shipped[] = {
        "b58dc0e87d76de36f8c165992efa40894b6395f43607d6e18e28b4f38e6dde6b",
        "b92709a912abc051baab5def466fcace35821f3c916f30b0bb9e72c07b445ed9",
        "cead2d00def808207a202323c92e0a21cb85e65e6791ca8b5d59581e2f2d63b0",
        "104b035e9cfbcd5b4f1b591a3299f9bb28c44b13eb2ea17c6f3e9530d538b1a0",
        "cde7333acace6c198264ad5aaa4fff8d4fe7066fe9f19338eda99859b6f1b9b1",
        "75bfc9c84ff8e991172bc61b2e23fb666f27b4120cf1440acbe264361ff7ce66",
        "bc20e95e399f408ddc19d183f626d55eb713d8cd5f134fc93221c65f5c3f3c9c",
        "9fd68bb70653d6844060120b0167134dc1f6c6536e77e2cddb881fbcca914d91",
        "f5799fbd62c4af672e5f3ca4835fdc77bb77b92a07fd2d8c6d7a98199a524144",
    };
    const char *sql[STORE_MAX_STEPS];
    size_t n = 0;
    assert_int_equal(store_migrations_order(fixture_schema(), sql, STORE_MAX_STEPS, &n, NULL), 0);
    assert_true(n >= sizeof shipped / sizeof shipped[0]);
    for (size_t v = 0; v < sizeof shipped / sizeof shipped[0]; v++) {
        uint8_t md[SHA256_DIGEST_LENGTH];
        char hex[2 * SHA256_DIGEST_LENGTH + 1];
        SHA256((const uint8_t *)sql[v], strlen(sql[v]), md);
        for (size_t i = 0; i < sizeof md; i++)
            snprintf(hex + 2 * i, 3, "%02x", md[i]);
        if (strcmp(hex, shipped[v]) != 0)
            fail_msg("schema step %zu differs from the one shipped", v + 1);
    }
}

static void expect_order_error(const struct store_schema *s, const char *needle)
{
    const char *sql[16];
    size_t n = 0;
    char *err = NULL;
    assert_int_equal(store_migrations_order(s, sql, 16, &n, &err), -EINVAL);
    assert_non_null(err);
    if (!strstr(err, needle))
        fail_msg("expected \"%s\" in \"%s\"", needle, err);
    free(err);
}

static void test_migrations_order_checks(void **state)
{
    (void)state;
    static const struct store_migration a[] = {{2, "B"}, {1, "A"}, {0, NULL}};
    static const struct store_migration b[] = {{4, "D"}, {3, "C"}, {0, NULL}};
    static const struct store_migration twice[] = {{3, "C2"}, {0, NULL}};
    static const struct store_migration gap[] = {{6, "F"}, {0, NULL}};
    static const struct store_migration big[] = {{17, "Q"}, {0, NULL}};
    struct store_schema s = {{a, b}, 2};
    const char *sql[16];
    size_t n = 0;
    assert_int_equal(store_migrations_order(&s, sql, 16, &n, NULL), 0);
    assert_int_equal(n, 4);
    assert_string_equal(sql[0], "A");
    assert_string_equal(sql[3], "D");
    s = (struct store_schema){{a, b, twice}, 3};
    expect_order_error(&s, "step 3 is declared twice");
    s = (struct store_schema){{a, b, gap}, 3};
    expect_order_error(&s, "step 5 is missing");
    s = (struct store_schema){{a, big}, 2};
    expect_order_error(&s, "step 17 is out of range");
}

/* The SQL of every table, index and trigger, in name order. */
static char *schema_text(const char *path)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT group_concat(sql, ';') FROM (SELECT sql FROM "
                                        "sqlite_master WHERE sql IS NOT NULL ORDER BY name)",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    char *text = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    assert_non_null(text);
    return text;
}

/* A database made by an older build (here: version 5) is brought to the
 * newest version, with the same schema as a new one. */
static void test_migrates_an_older_database(void **state)
{
    struct fixture *f = *state;
    char *fresh = schema_text(f->path);
    store_close(f->s);
    f->s = NULL;
    assert_int_equal(unlink(f->path), 0);
    char wal[512];
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    unlink(wal);
    snprintf(wal, sizeof wal, "%s-shm", f->path);
    unlink(wal);
    const char *sql[STORE_MAX_STEPS];
    size_t n = 0;
    assert_int_equal(store_migrations_order(fixture_schema(), sql, STORE_MAX_STEPS, &n, NULL), 0);
    struct store_migration old[6];
    for (int v = 1; v <= 5; v++)
        old[v - 1] = (struct store_migration){v, sql[v - 1]};
    old[5] = (struct store_migration){0, NULL};
    struct store_schema five = {{old}, 1};
    char *err = NULL;
    assert_int_equal(store_open(&f->s, f->path, &five, &err), 0);
    assert_int_equal(store_schema_version(f->s), 5);
    struct account_creds c = make_creds(5);
    assert_int_equal(store_account_create_sync(f->s, "example.org", "old", &c), 0);
    store_close(f->s);
    f->s = NULL;
    fixture_open_store(f);
    assert_int_equal(store_schema_version(f->s), newest());
    assert_int_equal(store_account_exists_sync(f->s, "example.org", "old"), 1);
    char *migrated = schema_text(f->path);
    assert_string_equal(migrated, fresh);
    free(migrated);
    free(fresh);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_migrations_from_empty, setup, fixture_teardown),
        cmocka_unit_test(test_shipped_steps_unchanged),
        cmocka_unit_test(test_migrations_order_checks),
        cmocka_unit_test_setup_teardown(test_migrates_an_older_database, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_wal_mode, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_data, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_create_get, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_get_creds_async, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_duplicate, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_invalid_input, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_set_creds, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_delete_cascades, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_list, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_exists, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_future_schema_refused, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_touch_login, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_durable_after_crash, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_bad_creds_rows, setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
