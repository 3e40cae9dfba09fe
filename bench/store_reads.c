/* store_reads: what the reads the server makes on its loop cost, on a
 * store with many accounts, while another thread commits a write every
 * millisecond (as the store queue's writer would). Prints, per read, the
 * median and 99th percentile in microseconds. docs/architecture.md
 * ("Storage") quotes it for the decision to keep these reads on the loop.
 *
 * Usage: store_reads DIR [ACCOUNTS]   (DIR: an empty scratch directory)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>
#include <uv.h>

#include "modules/module.h"
#include "store/blocking.h"
#include "store/offline.h"
#include "store/roster.h"
#include "store/store.h"
#include "store/vcard.h"

#define ROUNDS 20000

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static struct store_schema schema; /* the build's: the store's steps and every module's */

struct writer {
    const char *path;
    volatile int stop;
};

/* Another connection committing (with fsync) all the time. */
static void write_loop(void *arg)
{
    struct writer *w = arg;
    struct store *s;
    char *err = NULL;
    if (store_open(&s, w->path, &schema, &err) < 0)
        return;
    struct offline_limits lim = {1u << 30, 1u << 30};
    for (unsigned i = 0; !w->stop; i++) {
        char user[32];
        snprintf(user, sizeof user, "u%u", i % 1000);
        store_offline_add_sync(s, "example.org", user, 1700000000, "<message/>", 10, &lim);
    }
    store_close(s);
}

static const char *user_of(unsigned i)
{
    static char b[32];
    snprintf(b, sizeof b, "u%u", i);
    return b;
}

static void noop_roster(void *ud, const struct roster_item *it)
{
    (void)ud;
    (void)it;
}
static void noop_offline(void *ud, int64_t id, int64_t t, const char *x, size_t n)
{
    (void)ud;
    (void)id;
    (void)t;
    (void)x;
    (void)n;
}

static void report(const char *what, uint64_t *v)
{
    qsort(v, ROUNDS, sizeof *v, cmp_u64);
    printf("%-44s p50 %6.1f us  p99 %6.1f us\n", what, v[ROUNDS / 2] / 1e3,
           v[ROUNDS * 99 / 100] / 1e3);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: store_reads DIR [ACCOUNTS]\n");
        return 64;
    }
    modules_store_schema(&schema);
    unsigned n = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 10000;
    char path[4096];
    snprintf(path, sizeof path, "%s/reads.db", argv[1]);
    struct store *s;
    char *err = NULL;
    if (store_open(&s, path, &schema, &err) < 0) {
        fprintf(stderr, "store_reads: %s\n", err ? err : "cannot open");
        return 1;
    }
    /* The accounts, one roster item and one blocked JID each, in one
     * transaction straight in SQL (through the store: an fsync each). */
    store_close(s);
    sqlite3 *db;
    char sql[1024];
    snprintf(sql, sizeof sql,
             "BEGIN;"
             "WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i + 1 < %u)"
             " INSERT INTO accounts (domain, username, created) SELECT 'example.org', 'u' || i,"
             " 1700000000 FROM k;"
             "INSERT INTO scram_creds SELECT id, 1, zeroblob(16), 4096, zeroblob(32), zeroblob(32)"
             " FROM accounts;"
             "INSERT INTO roster_items (account_id, jid, flags) SELECT id, 'friend@example.net', 35"
             " FROM accounts;"
             "INSERT INTO blocklist SELECT id, 'spam@example.net' FROM accounts;"
             "COMMIT;",
             n);
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "store_reads: filling: %s\n", err ? err : sqlite3_errmsg(db));
        return 1;
    }
    sqlite3_close(db);
    if (store_open(&s, path, &schema, &err) < 0)
        return 1;
    struct writer w = {path, 0};
    uv_thread_t t;
    uv_thread_create(&t, write_loop, &w);
    uint64_t *v = calloc(ROUNDS, sizeof *v);
    struct account_creds out;
    struct roster_item it;
    char hash[VCARD_HASH_LEN + 1];
    const char *cands[] = {"x@example.net/r", "x@example.net", "example.net/r", "example.net"};
#define MEASURE(what, stmt) \
    do { \
        for (unsigned i = 0; i < ROUNDS; i++) { \
            const char *u = user_of(i % n); \
            uint64_t t0 = now_ns(); \
            stmt; \
            v[i] = now_ns() - t0; \
        } \
        report(what, v); \
    } while (0)
    MEASURE("account exists (router, each message)",
            store_account_exists_sync(s, "example.org", u));
    MEASURE("credentials (SASL)", store_account_get_creds_sync(s, "example.org", u, &out));
    MEASURE("blocking match (each inbound stanza)",
            store_blocking_match_sync(s, "example.org", u, cands, 4));
    MEASURE(
        "roster row (presence, subscriptions)",
        (roster_load_sync(s, "example.org", u, "friend@example.net", &it), roster_item_clear(&it)));
    MEASURE("roster list, 1 item (login)",
            roster_list_sync(s, "example.org", u, 0, noop_roster, NULL));
    MEASURE("vCard photo hash (bind)", store_vcard_photo_hash(s, "example.org", u, hash));
    MEASURE("offline list, 8 after id (login)",
            store_offline_list_sync(s, "example.org", u, 0, 8, noop_offline, NULL));
    w.stop = 1;
    uv_thread_join(&t);
    free(v);
    store_close(s);
    return 0;
}
