/* Unit tests of the report store area (src/store/sqlite_reports.c) and of
 * the reports module's data contract (src/modules/reports.c). */
#include <errno.h>

#include "facts.h"
#include "core/config.h"
#include "modules/module.h"
#include "store/reports.h"
#include "store_fixture.h"

/* The server's whole option schema: the core's and every module's. */
static const struct config_schema *test_schema(void)
{
    static struct config_schema s;
    if (s.n == 0)
        modules_config_schema(&s);
    return &s;
}

#define D "example.org"
#define T0 1700000000LL
#define DAY 86400LL

extern const struct module mod_reports;

static int setup(void **state)
{
    static const char *const users[] = {"alice", "bob", "spammer", NULL};
    return fixture_setup(state, D, users);
}

static const struct report_limits roomy = {100, 100};

static struct report_new simple(const char *jid, const char *bare, int64_t t)
{
    return (struct report_new){.jid = jid, .jid_bare = bare, .reason = "spam", .created = t};
}

static int64_t add(struct fixture *f, const char *user, const struct report_new *r,
                   const struct report_limits *lim)
{
    int64_t id = -1;
    int rc = store_report_add_sync(f->s, D, user, r, lim, &id);
    if (rc < 0)
        return rc;
    assert_true(id > 0);
    return id;
}

/* Collects "id reporter jid reason text|ids|msgs" lines into a buf. */
static void collect(void *ud, const struct report_info *r)
{
    struct buf *b = ud;
    assert_int_equal(buf_printf(b, "%lld %s %s %s %s|%s|%s %lld\n", (long long)r->id,
                                r->reporter ? r->reporter : "-", r->jid, r->reason,
                                r->text ? r->text : "-", r->msg_ids ? r->msg_ids : "-",
                                r->msg_text ? r->msg_text : "-", (long long)r->created),
                     0);
}

static void test_add_list_show_dismiss(void **state)
{
    struct fixture *f = *state;
    struct report_new r = {.jid = "x@evil.example/r",
                           .jid_bare = "x@evil.example",
                           .reason = "abuse",
                           .text = "go away",
                           .msg_ids = "x@evil.example\tid1\n",
                           .msg_text = "buy pills",
                           .created = T0};
    int64_t a = add(f, "alice", &r, &roomy);
    struct report_new r2 = simple("y@evil.example", "y@evil.example", T0 + 5);
    int64_t b = add(f, "bob", &r2, &roomy);
    assert_true(b > a);
    struct buf out;
    buf_init(&out, 0);
    assert_int_equal(store_report_list_sync(f->s, 0, collect, &out), 2);
    char want[512];
    snprintf(want, sizeof want,
             "%lld alice@example.org x@evil.example/r abuse go away|x@evil.example\tid1\n"
             "|buy pills %lld\n%lld bob@example.org y@evil.example spam -|-|- %lld\n",
             (long long)a, T0, (long long)b, T0 + 5);
    assert_string_equal(out.data, want);
    buf_reset(&out);
    assert_int_equal(store_report_list_sync(f->s, b, collect, &out), 1);
    assert_non_null(strstr(out.data, "bob@example.org y@evil.example"));
    assert_null(strstr(out.data, "alice"));
    buf_reset(&out);
    assert_int_equal(store_report_list_by_sync(f->s, D, "bob", collect, &out), 1);
    assert_non_null(strstr(out.data, "y@evil.example"));
    assert_int_equal(store_report_list_by_sync(f->s, D, "nobody", collect, &out), -ENOENT);
    assert_int_equal(store_report_dismiss_sync(f->s, a), 0);
    assert_int_equal(store_report_dismiss_sync(f->s, a), -ENOENT);
    assert_int_equal(store_report_list_sync(f->s, a, collect, &out), 0);
    assert_int_equal(store_report_list_sync(f->s, 0, collect, &out), 1);
    buf_free(&out);
}

static void test_bad_input(void **state)
{
    struct fixture *f = *state;
    struct report_new r = simple("x@evil.example", "x@evil.example", T0);
    int64_t id;
    assert_int_equal(store_report_add_sync(f->s, D, "nobody", &r, &roomy, &id), -ENOENT);
    r.jid = NULL;
    assert_int_equal(store_report_add_sync(f->s, D, "alice", &r, &roomy, &id), -EINVAL);
    r.jid = "x@evil.example";
    char reason[REPORT_REASON_MAX + 2];
    memset(reason, 'u', sizeof reason - 1);
    reason[sizeof reason - 1] = '\0';
    r.reason = reason;
    assert_int_equal(store_report_add_sync(f->s, D, "alice", &r, &roomy, &id), -EINVAL);
    r.reason = "spam";
    r.text = "";
    assert_int_equal(store_report_add_sync(f->s, D, "alice", &r, &roomy, &id), -EINVAL);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM reports"), 0);
}

/* per_day counts the reports of the last 24 hours; kept, all of them. */
static void test_limits(void **state)
{
    struct fixture *f = *state;
    const struct report_limits lim = {2, 3};
    struct report_new r = simple("x@evil.example", "x@evil.example", T0);
    assert_true(add(f, "alice", &r, &lim) > 0);
    r.created = T0 + 10;
    assert_true(add(f, "alice", &r, &lim) > 0);
    r.created = T0 + 20;
    assert_int_equal(add(f, "alice", &r, &lim), -EAGAIN);
    /* bob has his own counts */
    assert_true(add(f, "bob", &r, &lim) > 0);
    r.created = T0 + DAY + 1; /* the first has left the window */
    assert_true(add(f, "alice", &r, &lim) > 0);
    r.created = T0 + 3 * DAY;
    assert_int_equal(add(f, "alice", &r, &lim), -EDQUOT);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM reports"), 4);
}

static void test_erase_account(void **state)
{
    struct fixture *f = *state;
    struct report_new about = simple("spammer@example.org/x", "spammer@example.org", T0);
    struct report_new other = simple("z@evil.example", "z@evil.example", T0);
    add(f, "alice", &about, &roomy);
    add(f, "alice", &other, &roomy);
    add(f, "bob", &other, &roomy);
    add(f, "spammer", &other, &roomy);
    /* the reported local account: reports about it go, its own too */
    assert_int_equal(store_reports_erase_account_sync(f->s, D, "spammer", false), 0);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM reports"), 2);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM reports WHERE jid_bare ="
                                      " 'spammer@example.org'"),
                     0);
    /* kept: detached from the reporter, still listed */
    assert_int_equal(store_reports_erase_account_sync(f->s, D, "bob", true), 0);
    assert_int_equal(store_account_delete_sync(f->s, D, "bob"), 0);
    struct buf out;
    buf_init(&out, 0);
    assert_int_equal(store_report_list_sync(f->s, 0, collect, &out), 2);
    assert_non_null(strstr(out.data, " - z@evil.example spam"));
    assert_null(strstr(out.data, "bob"));
    buf_free(&out);
    /* the cascade is the default when erase did not run */
    assert_int_equal(store_account_delete_sync(f->s, D, "alice"), 0);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM reports"), 1);
    /* erasing an unknown account is not an error */
    assert_int_equal(store_reports_erase_account_sync(f->s, D, "nobody", false), 0);
}

static void test_sweep(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 3; i++) {
        struct report_new r = simple("x@evil.example", "x@evil.example", T0 + i * DAY);
        add(f, "alice", &r, &roomy);
    }
    assert_int_equal(store_reports_sweep_sync(f->s, T0), 0);
    assert_int_equal(store_reports_sweep_sync(f->s, T0 + DAY + 1), 2);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM reports"), 1);
}

static void test_data_contract(void **state)
{
    struct fixture *f = *state;
    struct config cfg;
    config_defaults(&cfg, test_schema());
    struct data_ctx d = {f->s, &cfg, T0 + 200 * DAY, NULL, NULL, NULL};
    struct report_new r = {.jid = "x@evil.example",
                           .jid_bare = "x@evil.example",
                           .reason = "spam",
                           .text = "a <b> & c",
                           .msg_ids = "x@evil.example\tid'1\n",
                           .msg_text = "pills",
                           .created = T0};
    add(f, "alice", &r, &roomy);
    struct buf out;
    buf_init(&out, 0);
    assert_int_equal(mod_reports.describe(&d, D, "alice", fact_line, &out), 0);
    char want[128];
    snprintf(want, sizeof want, "reports count=1 bytes=%zu oldest=%lld keep=%d secs=%d until=%lld ",
             strlen("x@evil.example") + 4 + 9 + strlen("x@evil.example\tid'1\n") + 5, (long long)T0,
             KEEP_MAX_AGE, 180 * 86400, (long long)T0 + 180 * 86400);
    if (!strstr(out.data, want))
        fail_msg("want %s in %s", want, out.data);
    assert_non_null(strstr(out.data, "deleted with your account"));
    buf_reset(&out);
    assert_int_equal(mod_reports.describe(&d, D, "bob", fact_line, &out), 0);
    assert_int_equal(out.len, 0);
    assert_int_equal(mod_reports.export_xml(&d, D, "alice", &out), 0);
    assert_string_equal(out.data,
                        "<reports xmlns='urn:taube:reports:0'><report "
                        "stamp='2023-11-14T22:13:20Z' reason='spam' jid='x@evil.example'>"
                        "<text>a &lt;b&gt; &amp; c</text><stanza-id xmlns='urn:xmpp:sid:0' "
                        "by='x@evil.example' id='id&apos;1'/><message-text>pills"
                        "</message-text></report></reports>");
    buf_reset(&out);
    assert_int_equal(mod_reports.export_xml(&d, D, "bob", &out), 0);
    assert_int_equal(out.len, 0);
    /* the sweep at T0 + 200 days (max_age 180d) takes it */
    assert_int_equal(mod_reports.sweep(&d), 0);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM reports"), 0);
    /* erase follows reports.keep_after_reporter_deleted */
    add(f, "alice", &r, &roomy);
    cfg.reports_keep_after_reporter_deleted = true;
    assert_int_equal(mod_reports.describe(&d, D, "alice", fact_line, &out), 0);
    assert_non_null(strstr(out.data, "they stay, without your name"));
    assert_int_equal(mod_reports.erase(&d, D, "alice"), 0);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM reports WHERE account_id IS NULL"), 1);
    cfg.reports_keep_after_reporter_deleted = false;
    add(f, "bob", &r, &roomy);
    assert_int_equal(mod_reports.erase(&d, D, "bob"), 0);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM reports"), 1);
    buf_free(&out);
    config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_add_list_show_dismiss, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_erase_account, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_sweep, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_data_contract, setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
