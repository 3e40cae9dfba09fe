/* Unit tests of roster storage (src/store/sqlite_roster.c), on a temporary file. */
#include <errno.h>

#include "facts.h"
#include "core/buf.h"
#include "core/config.h"
#include "modules/module.h"
#include "store/roster.h"
#include "store_fixture.h"

extern const struct module mod_roster;

#define DOM "example.org"

static int setup(void **state)
{
    static const char *const users[] = {"alice", "bob", "carol", NULL};
    return fixture_setup(state, DOM, users);
}

static int put(struct fixture *f, const char *user, const char *jid, const char *name,
               unsigned flags, bool versioned, int64_t *ver)
{
    char friends[] = "Friends", work[] = "Work \xc3\xa9";
    char *groups[] = {friends, work};
    struct roster_item it = {
        .jid = (char *)jid, .name = (char *)name, .groups = groups, .ngroups = 2, .flags = flags};
    return roster_put_sync(f->s, DOM, user, &it, versioned, 3, ver);
}

static void test_put_load_roundtrip(void **state)
{
    struct fixture *f = *state;
    int64_t ver = -1;
    assert_int_equal(put(f, "alice", "bob@" DOM, "Bob <b>", ROSTER_ITEM | ROSTER_TO, true, &ver),
                     0);
    assert_int_equal(ver, 1);
    struct roster_item it;
    assert_int_equal(roster_load_sync(f->s, DOM, "alice", "bob@" DOM, &it), 0);
    assert_string_equal(it.jid, "bob@" DOM);
    assert_string_equal(it.name, "Bob <b>");
    assert_int_equal(it.flags, ROSTER_ITEM | ROSTER_TO);
    assert_int_equal(it.ngroups, 2);
    assert_string_equal(it.groups[0], "Friends");
    assert_string_equal(it.groups[1], "Work \xc3\xa9");
    assert_null(it.status);
    assert_int_equal(it.ver, 1);
    roster_item_clear(&it);
    assert_int_equal(roster_load_sync(f->s, DOM, "alice", "carol@" DOM, &it), -ENOENT);
    assert_int_equal(roster_load_sync(f->s, DOM, "bob", "bob@" DOM, &it), -ENOENT);
    assert_int_equal(roster_load_sync(f->s, DOM, "nobody", "bob@" DOM, &it), -ENOENT);
}

static void test_no_groups_and_status(void **state)
{
    struct fixture *f = *state;
    struct roster_item in = {
        .jid = (char[]){"carol@" DOM}, .status = (char[]){"let me in"}, .flags = ROSTER_PENDING_IN};
    assert_int_equal(roster_put_sync(f->s, DOM, "alice", &in, false, 10, NULL), 0);
    struct roster_item it;
    assert_int_equal(roster_load_sync(f->s, DOM, "alice", "carol@" DOM, &it), 0);
    assert_int_equal(it.ngroups, 0);
    assert_null(it.name);
    assert_string_equal(it.status, "let me in");
    assert_int_equal(it.ver, 0);
    roster_item_clear(&it);
    int64_t v = -1;
    assert_int_equal(roster_version_sync(f->s, DOM, "alice", &v), 0);
    assert_int_equal(v, 0); /* an unversioned write does not bump */
}

struct seen {
    char jids[8][64];
    int64_t vers[8];
    unsigned flags[8];
    size_t n;
};

static void on_item(void *ud, const struct roster_item *it)
{
    struct seen *s = ud;
    if (s->n < 8) {
        snprintf(s->jids[s->n], sizeof s->jids[0], "%s", it->jid);
        s->flags[s->n++] = it->flags;
    }
}

static void on_change(void *ud, const char *jid, int64_t ver)
{
    struct seen *s = ud;
    if (s->n < 8) {
        snprintf(s->jids[s->n], sizeof s->jids[0], "%s", jid);
        s->vers[s->n++] = ver;
    }
}

static void test_list_mask_and_count(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(put(f, "alice", "zed@" DOM, NULL, ROSTER_ITEM, true, NULL), 0);
    assert_int_equal(put(f, "alice", "amy@" DOM, NULL, ROSTER_PENDING_IN, false, NULL), 0);
    assert_int_equal(put(f, "alice", "bob@" DOM, NULL, ROSTER_ITEM | ROSTER_FROM, true, NULL), 0);
    struct seen s = {0};
    assert_int_equal(roster_list_sync(f->s, DOM, "alice", ROSTER_ITEM, on_item, &s), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.jids[0], "bob@" DOM);
    assert_string_equal(s.jids[1], "zed@" DOM);
    memset(&s, 0, sizeof s);
    assert_int_equal(roster_list_sync(f->s, DOM, "alice", 0, on_item, &s), 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.jids[0], "amy@" DOM);
    size_t n = 0;
    assert_int_equal(roster_count_sync(f->s, DOM, "alice", ROSTER_PENDING_IN, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(roster_count_sync(f->s, DOM, "alice", 0, &n), 0);
    assert_int_equal(n, 3);
}

static void test_changes_since_and_log_bound(void **state)
{
    struct fixture *f = *state;
    int64_t v = 0;
    assert_int_equal(put(f, "alice", "a@" DOM, NULL, ROSTER_ITEM, true, &v), 0); /* 1 */
    assert_int_equal(put(f, "alice", "b@" DOM, NULL, ROSTER_ITEM, true, &v), 0); /* 2 */
    assert_int_equal(put(f, "alice", "a@" DOM, "A", ROSTER_ITEM, true, &v), 0);  /* 3 */
    assert_int_equal(roster_delete_sync(f->s, DOM, "alice", "b@" DOM, true, 3, &v), 0); /* 4 */
    assert_int_equal(v, 4);
    struct seen s = {0};
    /* log_max 3: versions 2..4 are kept, so 1 and later are answerable. */
    assert_int_equal(roster_changes_sync(f->s, DOM, "alice", 1, on_change, &s), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.jids[0], "a@" DOM);
    assert_int_equal(s.vers[0], 3);
    assert_string_equal(s.jids[1], "b@" DOM);
    assert_int_equal(s.vers[1], 4);
    memset(&s, 0, sizeof s);
    assert_int_equal(roster_changes_sync(f->s, DOM, "alice", 4, on_change, &s), 0);
    assert_int_equal(s.n, 0);
    assert_int_equal(roster_changes_sync(f->s, DOM, "alice", 0, on_change, &s), -ESTALE);
    assert_int_equal(roster_changes_sync(f->s, DOM, "alice", 5, on_change, &s), -ESTALE);
    assert_int_equal(roster_delete_sync(f->s, DOM, "alice", "b@" DOM, true, 3, &v), -ENOENT);
}

static void on_holder(void *ud, const char *domain, const char *user)
{
    struct seen *s = ud;
    if (s->n < 8)
        snprintf(s->jids[s->n++], sizeof s->jids[0], "%s@%s", user, domain);
}

static void test_holders_and_erase(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(put(f, "alice", "carol@" DOM, NULL, ROSTER_ITEM, true, NULL), 0);
    assert_int_equal(put(f, "bob", "carol@" DOM, NULL, ROSTER_PENDING_IN, false, NULL), 0);
    assert_int_equal(put(f, "carol", "bob@" DOM, NULL, ROSTER_ITEM, true, NULL), 0);
    struct seen s = {0};
    assert_int_equal(roster_holders_sync(f->s, "carol@" DOM, on_holder, &s), 0);
    assert_int_equal(s.n, 2);
    assert_int_equal(roster_erase_sync(f->s, DOM, "carol"), 0);
    size_t n = 9;
    assert_int_equal(roster_count_sync(f->s, DOM, "carol", 0, &n), 0);
    assert_int_equal(n, 0);
    int64_t v = 9;
    assert_int_equal(roster_version_sync(f->s, DOM, "carol", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(roster_erase_sync(f->s, DOM, "nobody"), 0);
    /* Account deletion cascades (P18). */
    assert_int_equal(store_account_delete_sync(f->s, DOM, "alice"), 0);
    memset(&s, 0, sizeof s);
    assert_int_equal(roster_holders_sync(f->s, "carol@" DOM, on_holder, &s), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.jids[0], "bob@" DOM);
}

static void test_empty_jid_refused(void **state)
{
    struct fixture *f = *state;
    struct roster_item it = {.jid = (char[]){""}, .flags = ROSTER_ITEM};
    assert_int_equal(roster_put_sync(f->s, DOM, "alice", &it, true, 3, NULL), -EINVAL);
    it.jid = (char[]){"x@" DOM};
    assert_int_equal(roster_put_sync(f->s, DOM, "nobody", &it, true, 3, NULL), -ENOENT);
}

/* The module's data contract, as taubectl calls it (no running server). */
static void test_contract_export_describe_erase(void **state)
{
    struct fixture *f = *state;
    struct config cfg = {.roster_version_log = 10};
    struct data_ctx d = {.store = f->s, .cfg = &cfg, .now = 0, .srv = NULL};
    assert_int_equal(
        put(f, "carol", "bob@" DOM, "B&b", ROSTER_ITEM | ROSTER_TO | ROSTER_ASK, true, NULL), 0);
    struct roster_item req = {
        .jid = (char[]){"alice@" DOM}, .status = (char[]){"hi <3"}, .flags = ROSTER_PENDING_IN};
    assert_int_equal(roster_put_sync(f->s, DOM, "carol", &req, false, 10, NULL), 0);
    assert_int_equal(put(f, "alice", "carol@" DOM, NULL, ROSTER_ITEM | ROSTER_FROM, true, NULL), 0);
    assert_int_equal(put(f, "bob", "carol@" DOM, NULL, ROSTER_PENDING_IN, false, NULL), 0);

    struct buf out;
    buf_init(&out, 0);
    assert_int_equal(mod_roster.export_xml(&d, DOM, "carol", &out), 0);
    const char *want[] = {"<query xmlns='jabber:iq:roster'",
                          "jid='bob@example.org'",
                          "name='B&amp;b'",
                          "subscription='to'",
                          "ask='subscribe'",
                          "<group>Friends</group>",
                          "type='subscribe'",
                          "from='alice@example.org'",
                          "hi &lt;3"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(out.data, want[i]))
            fail_msg("export lacks %s: %s", want[i], out.data);
    /* The pending request is not a roster item. */
    assert_null(strstr(out.data, "<item jid='alice@"));
    buf_reset(&out);
    assert_int_equal(mod_roster.describe(&d, DOM, "carol", fact_line, &out), 0);
    if (!strstr(out.data, "roster count=1 ") || !strstr(out.data, "subscription-requests count=1 "))
        fail_msg("describe: %s", out.data);
    buf_free(&out);

    assert_int_equal(mod_roster.erase(&d, DOM, "carol"), 0);
    size_t n = 9;
    assert_int_equal(roster_count_sync(f->s, DOM, "carol", 0, &n), 0);
    assert_int_equal(n, 0);
    /* No item of carol remains in other local rosters, nor her JID in
     * alice's change log (P18): alice's version moved, and a client with
     * the old version is sent the whole roster (-ESTALE), not a diff. */
    struct seen s = {0};
    assert_int_equal(roster_holders_sync(f->s, "carol@" DOM, on_holder, &s), 0);
    assert_int_equal(s.n, 0);
    memset(&s, 0, sizeof s);
    assert_int_equal(roster_changes_sync(f->s, DOM, "alice", 1, on_change, &s), -ESTALE);
    int64_t ver = 0;
    assert_int_equal(roster_version_sync(f->s, DOM, "alice", &ver), 0);
    assert_true(ver > 1);
    assert_int_equal(roster_changes_sync(f->s, DOM, "alice", ver, on_change, &s), 0);
    assert_int_equal(s.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_load_roundtrip, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_no_groups_and_status, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_list_mask_and_count, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_changes_since_and_log_bound, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_holders_and_erase, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_empty_jid_refused, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_contract_export_describe_erase, setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
