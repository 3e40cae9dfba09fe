/* Unit tests of inactivity retention (src/modules/retention.c and
 * src/store/sqlite_retention.c): the rules, the store queries and the
 * trigger that clears a warning at login, and whole runs on a store
 * without a server (warnings stored as offline messages). */
#include <errno.h>

#include "facts.h"
#include "core/config.h"
#include "modules/retention.h"
#include "store/offline.h"
#include "store/retention.h"
#include "store_fixture.h"
#include "modules/module.h"

/* The server's whole option schema: the core's and every module's. */
static const struct config_schema *test_schema(void)
{
    static struct config_schema s;
    if (s.n == 0)
        modules_config_schema(&s);
    return &s;
}

#define DAY 86400LL
#define T0 2000000000LL /* "now" in these tests: May 2033 */
#define DOM "example.org"

static const struct retention_policy policy = {365 * DAY, 30 * DAY};

/* ---- the rules ---- */

static void test_decide(void **state)
{
    (void)state;
    const struct retention_policy *p = &policy;
    /* Used 334 days ago: nothing yet; 336 days ago: warn. */
    assert_int_equal(retention_decide(p, T0, T0 - 334 * DAY, 0), RETENTION_KEEP);
    assert_int_equal(retention_decide(p, T0, T0 - 336 * DAY, 0), RETENTION_WARN);
    /* Unused for 400 days but never warned (server was down): warn, not delete. */
    assert_int_equal(retention_decide(p, T0, T0 - 400 * DAY, 0), RETENTION_WARN);
    /* Warned 10 days ago: wait, even though 400 days unused. */
    assert_int_equal(retention_decide(p, T0, T0 - 400 * DAY, T0 - 10 * DAY), RETENTION_WAIT);
    /* Warned 30 days ago and 400 days unused: delete. */
    assert_int_equal(retention_decide(p, T0, T0 - 400 * DAY, T0 - 30 * DAY), RETENTION_DELETE);
    /* Warned 31 days ago but only 364 days unused: wait for the period. */
    assert_int_equal(retention_decide(p, T0, T0 - 364 * DAY, T0 - 31 * DAY), RETENTION_WAIT);
    /* A warning older than the last use (logged in since) does not count. */
    assert_int_equal(retention_decide(p, T0, T0 - 336 * DAY, T0 - 337 * DAY), RETENTION_WARN);
}

static void test_delete_at(void **state)
{
    (void)state;
    /* Warned now, 340 days unused: the period ends in 25 days, the
     * warning's 30 days later: the later one wins. */
    assert_int_equal(retention_delete_at(&policy, T0, T0 - 340 * DAY, 0), T0 + 30 * DAY);
    /* Warned now, 300 days unused: the period ends last. */
    assert_int_equal(retention_delete_at(&policy, T0, T0 - 300 * DAY, 0), T0 + 65 * DAY);
    /* Warned 10 days ago. */
    assert_int_equal(retention_delete_at(&policy, T0, T0 - 400 * DAY, T0 - 10 * DAY),
                     T0 + 20 * DAY);
}

/* ---- the store ---- */

static int setup(void **state)
{
    static const char *const users[] = {"old", "fresh", "never", "ancient", NULL};
    int rc = fixture_setup(state, DOM, users);
    struct fixture *f = *state;
    char sql[256];
    /* old: last login 340 days ago; fresh: yesterday; never: created 340
     * days ago, no login; ancient: last login 500 days ago. */
    snprintf(sql, sizeof sql,
             "UPDATE accounts SET created = %lld;"
             "UPDATE accounts SET last_login = %lld WHERE username = 'old';"
             "UPDATE accounts SET last_login = %lld WHERE username = 'fresh';"
             "UPDATE accounts SET last_login = %lld WHERE username = 'ancient';",
             T0 - 340 * DAY, T0 - 340 * DAY, T0 - DAY, T0 - 500 * DAY);
    sql_exec(f->path, sql);
    return rc;
}

struct rows {
    char user[8][16];
    int64_t last_use[8], warned_at[8], id[8];
    bool never[8];
    size_t n;
};

static void collect_row(void *ud, const struct retention_row *r)
{
    struct rows *l = ud;
    assert_true(l->n < 8);
    assert_true(strlen(r->user) < 16);
    strcpy(l->user[l->n], r->user);
    l->last_use[l->n] = r->last_use;
    l->warned_at[l->n] = r->warned_at;
    l->never[l->n] = r->never_logged_in;
    l->id[l->n++] = r->id;
}

static void test_store_list(void **state)
{
    struct fixture *f = *state;
    struct rows l = {0};
    /* Unused for more than 335 days: old, never, ancient (id order). */
    assert_int_equal(store_retention_list_sync(f->s, T0 - 335 * DAY, 0, 8, collect_row, &l), 3);
    assert_string_equal(l.user[0], "old");
    assert_string_equal(l.user[1], "never");
    assert_string_equal(l.user[2], "ancient");
    assert_int_equal(l.last_use[1], T0 - 340 * DAY); /* created */
    assert_true(l.never[1]);
    assert_false(l.never[0]);
    assert_int_equal(l.last_use[2], T0 - 500 * DAY);
    /* Paging: one at a time, after the last id seen. */
    struct rows p = {0};
    assert_int_equal(store_retention_list_sync(f->s, T0 - 335 * DAY, l.id[0], 1, collect_row, &p),
                     1);
    assert_string_equal(p.user[0], "never");
    /* A tighter cutoff leaves only ancient. */
    struct rows t = {0};
    assert_int_equal(store_retention_list_sync(f->s, T0 - 400 * DAY, 0, 8, collect_row, &t), 1);
    assert_string_equal(t.user[0], "ancient");
}

static void test_store_warnings(void **state)
{
    struct fixture *f = *state;
    int64_t w = -1;
    assert_int_equal(store_retention_get_sync(f->s, DOM, "old", &w), 0);
    assert_int_equal(w, 0);
    assert_int_equal(store_retention_warn_sync(f->s, DOM, "old", T0), 0);
    assert_int_equal(store_retention_warn_sync(f->s, DOM, "nobody", T0), -ENOENT);
    assert_int_equal(store_retention_get_sync(f->s, DOM, "old", &w), 0);
    assert_int_equal(w, T0);
    struct rows l = {0};
    assert_int_equal(store_retention_list_sync(f->s, T0 - 335 * DAY, 0, 8, collect_row, &l), 3);
    assert_int_equal(l.warned_at[0], T0);
    assert_int_equal(l.warned_at[1], 0);
    /* A login clears it (the trigger on last_login). */
    store_account_touch_login(f->s, DOM, "old", T0 + 5);
    assert_int_equal(store_retention_get_sync(f->s, DOM, "old", &w), 0);
    assert_int_equal(w, 0);
    /* Clearing without a warning is fine; deleting the account cascades. */
    assert_int_equal(store_retention_clear_sync(f->s, DOM, "old"), 0);
    assert_int_equal(store_retention_warn_sync(f->s, DOM, "never", T0), 0);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM retention_warnings"), 1);
    assert_int_equal(store_account_delete_sync(f->s, DOM, "never"), 0);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM retention_warnings"), 0);
}

/* ---- whole runs, without a server ---- */

static struct config test_config(void)
{
    struct config c;
    config_defaults(&c, test_schema());
    assert_int_equal(c.retention_inactive_after, 365 * DAY);
    assert_int_equal(c.retention_warn_before, 30 * DAY);
    return c;
}

static long long offline_count(const struct fixture *f, const char *user)
{
    char sql[200];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM offline_messages o JOIN accounts a ON a.id = o.account_id"
             " WHERE a.username = '%s'",
             user);
    return sql_int(f->path, sql);
}

static void run_at(struct fixture *f, const struct config *cfg, int64_t now,
                   struct retention_counts *n)
{
    struct data_ctx d = {f->s, cfg, now, NULL, &modules_data_parts, NULL};
    assert_int_equal(retention_run(&d, n), 0);
}

static void keep_xml(void *ud, int64_t id, int64_t t, const char *xml, size_t len)
{
    (void)id;
    (void)t;
    struct buf *b = ud;
    assert_int_equal(buf_append(b, xml, len), 0);
}

static void test_run_warns_then_deletes(void **state)
{
    struct fixture *f = *state;
    struct config cfg = test_config();
    struct retention_counts n;
    run_at(f, &cfg, T0, &n);
    /* old, never and ancient are warned (ancient too: never deleted unwarned). */
    assert_int_equal(n.warned, 3);
    assert_int_equal(n.deleted, 0);
    assert_int_equal(n.failed, 0);
    assert_int_equal(offline_count(f, "old"), 1);
    assert_int_equal(offline_count(f, "fresh"), 0);
    struct buf xml;
    buf_init(&xml, 0);
    assert_int_equal(store_offline_list_sync(f->s, DOM, "never", 0, 4, keep_xml, &xml), 1);
    assert_non_null(strstr(xml.data, "type='normal'"));
    assert_non_null(strstr(xml.data, "<subject>"));
    assert_non_null(strstr(xml.data, "urn:xmpp:delay"));
    assert_non_null(
        strstr(xml.data, "never@example.org has not been used since it was created on 2032-06-12"));
    assert_non_null(strstr(xml.data, "12 months"));
    buf_free(&xml);

    /* The same day again: nothing new, one message each. */
    run_at(f, &cfg, T0 + 3600, &n);
    assert_int_equal(n.warned + n.deleted, 0);
    assert_int_equal(offline_count(f, "old"), 1);

    /* 29 days on: still waiting (the warning's 30 days are not over). */
    run_at(f, &cfg, T0 + 29 * DAY, &n);
    assert_int_equal(n.deleted, 0);

    /* 30 days on: everything unused for 365 days and warned is deleted. */
    run_at(f, &cfg, T0 + 30 * DAY, &n);
    assert_int_equal(n.deleted, 3);
    assert_int_equal(store_account_exists_sync(f->s, DOM, "old"), 0);
    assert_int_equal(store_account_exists_sync(f->s, DOM, "never"), 0);
    assert_int_equal(store_account_exists_sync(f->s, DOM, "fresh"), 1);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM offline_messages"), 0);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM retention_warnings"), 0);
    config_free(&cfg);
}

static void test_login_cancels(void **state)
{
    struct fixture *f = *state;
    struct config cfg = test_config();
    struct retention_counts n;
    run_at(f, &cfg, T0, &n);
    assert_int_equal(n.warned, 3);
    /* old logs in after its warning: it starts a new period. */
    store_account_touch_login(f->s, DOM, "old", T0 + DAY);
    run_at(f, &cfg, T0 + 31 * DAY, &n);
    assert_int_equal(n.deleted, 2);
    assert_int_equal(store_account_exists_sync(f->s, DOM, "old"), 1);
    config_free(&cfg);
}

struct seen {
    char line[8][64];
    size_t n;
};

static void report_cb(void *ud, const struct retention_item *it)
{
    struct seen *s = ud;
    assert_true(s->n < 8);
    snprintf(s->line[s->n++], 64, "%s %d %d", it->user, (int)it->action, it->never_logged_in);
}

static void test_report_changes_nothing(void **state)
{
    struct fixture *f = *state;
    struct config cfg = test_config();
    struct data_ctx d = {f->s, &cfg, T0, NULL, NULL, NULL};
    struct seen s = {0};
    assert_int_equal(retention_report(&d, report_cb, &s), 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.line[0], "old 1 0");
    assert_string_equal(s.line[1], "never 1 1");
    assert_string_equal(s.line[2], "ancient 1 0");
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM retention_warnings"), 0);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM offline_messages"), 0);
    /* After a run and 30 days: all three due for deletion. */
    struct retention_counts n;
    run_at(f, &cfg, T0, &n);
    d.now = T0 + 30 * DAY;
    struct seen s2 = {0};
    assert_int_equal(retention_report(&d, report_cb, &s2), 0);
    assert_int_equal(s2.n, 3);
    assert_string_equal(s2.line[0], "old 3 0");
    assert_int_equal(store_account_exists_sync(f->s, DOM, "old"), 1);
    config_free(&cfg);
}

/* ---- configuration bounds ---- */

static void test_config_bounds(void **state)
{
    (void)state;
    static const char too_short[] = "server:\n  domains: [example.org]\n"
                                    "retention:\n  inactive_after: 100d\n";
    struct config c;
    char *err = NULL;
    assert_int_equal(
        config_load_buffer(&c, test_schema(), "/tmp/t.yaml", too_short, sizeof too_short - 1, &err),
        -EINVAL);
    assert_non_null(err);
    assert_non_null(strstr(err, "key 'retention.inactive_after'"));
    assert_non_null(strstr(err, "allowed: 26w to 366d")); /* 26w is 182d */
    free(err);
    config_free(&c);
    static const char good[] = "server:\n  domains: [example.org]\n"
                               "retention:\n  inactive_after: 200d\n  warn_before: 14d\n";
    err = NULL;
    assert_int_equal(
        config_load_buffer(&c, test_schema(), "/tmp/t.yaml", good, sizeof good - 1, &err), 0);
    assert_int_equal(c.retention_inactive_after, 200 * DAY);
    assert_int_equal(c.retention_warn_before, 14 * DAY);
    config_free(&c);
}

/* ---- the data contract ---- */

extern const struct module mod_retention;

static void test_describe_and_export(void **state)
{
    struct fixture *f = *state;
    struct config cfg = test_config();
    struct data_ctx d = {f->s, &cfg, T0, NULL, NULL, NULL};
    struct buf out;
    buf_init(&out, 0);
    assert_int_equal(mod_retention.describe(&d, DOM, "fresh", fact_line, &out), 0);
    char want[128];
    snprintf(want, sizeof want, "account count=1 bytes=0 oldest=%lld keep=%d secs=%d ",
             (long long)(T0 - 340 * DAY), KEEP_INACTIVITY, 365 * 86400);
    if (!strstr(out.data, want))
        fail_msg("want %s in %s", want, out.data);
    snprintf(want, sizeof want, "until=%lld ", (long long)(T0 - DAY + 365 * DAY));
    if (!strstr(out.data, want))
        fail_msg("want %s in %s", want, out.data);
    assert_null(strstr(out.data, "inactivity-warning"));
    buf_reset(&out);
    assert_int_equal(mod_retention.export_xml(&d, DOM, "fresh", &out), 0);
    assert_int_equal(out.len, 0);

    struct retention_counts n;
    run_at(f, &cfg, T0, &n);
    assert_int_equal(mod_retention.describe(&d, DOM, "old", fact_line, &out), 0);
    snprintf(want, sizeof want, "inactivity-warning count=1 bytes=0 oldest=%lld ", (long long)T0);
    if (!strstr(out.data, want))
        fail_msg("want %s in %s", want, out.data);
    buf_reset(&out);
    assert_int_equal(mod_retention.export_xml(&d, DOM, "old", &out), 0);
    assert_string_equal(out.data, "<inactivity-warning xmlns='urn:taube:retention:0' "
                                  "stamp='2033-05-18T03:33:20Z'/>");
    /* erase forgets the warning. */
    assert_int_equal(mod_retention.erase(&d, DOM, "old"), 0);
    int64_t w = -1;
    assert_int_equal(store_retention_get_sync(f->s, DOM, "old", &w), 0);
    assert_int_equal(w, 0);
    buf_free(&out);
    config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decide),
        cmocka_unit_test(test_delete_at),
        cmocka_unit_test_setup_teardown(test_store_list, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_warnings, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_run_warns_then_deletes, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_login_cancels, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_report_changes_nothing, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_describe_and_export, setup, fixture_teardown),
        cmocka_unit_test(test_config_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
