/* Unit tests of the offline-message and block-list stores
 * (src/store/sqlite_offline.c, src/store/sqlite_blocking.c), on a
 * temporary file. */
#include <errno.h>

#include "store/blocking.h"
#include "store/offline.h"
#include "store_fixture.h"

static int setup(void **state)
{
    static const char *const users[] = {"alice", "bob", NULL};
    return fixture_setup(state, "example.org", users);
}

/* ---- offline messages ---- */

static const struct offline_limits roomy = {100, 1 << 20};

struct listed {
    int64_t ids[16];
    int64_t stamps[16];
    char xml[16][64];
    size_t n;
};

static void collect(void *ud, int64_t id, int64_t t, const char *xml, size_t len)
{
    struct listed *l = ud;
    assert_true(l->n < 16);
    assert_true(len < sizeof l->xml[0]);
    l->ids[l->n] = id;
    l->stamps[l->n] = t;
    memcpy(l->xml[l->n], xml, len);
    l->xml[l->n][len] = '\0';
    l->n++;
}

static void add(struct store *s, const char *user, int64_t t, const char *xml)
{
    assert_int_equal(store_offline_add_sync(s, "example.org", user, t, xml, strlen(xml), &roomy),
                     0);
}

static void test_offline_order_and_accounts(void **state)
{
    struct fixture *f = *state;
    add(f->s, "alice", 30, "<m>1</m>");
    add(f->s, "bob", 31, "<m>bob</m>");
    add(f->s, "alice", 20, "<m>2</m>"); /* an older clock: arrival order still wins */
    add(f->s, "alice", 40, "<m>3</m>");
    struct listed l = {0};
    assert_int_equal(store_offline_list_sync(f->s, "example.org", "alice", 0, 10, collect, &l), 3);
    assert_string_equal(l.xml[0], "<m>1</m>");
    assert_string_equal(l.xml[1], "<m>2</m>");
    assert_string_equal(l.xml[2], "<m>3</m>");
    assert_int_equal(l.stamps[0], 30);
    assert_int_equal(l.stamps[1], 20);
    /* Paging: after the first id, at most one. */
    struct listed p = {0};
    assert_int_equal(
        store_offline_list_sync(f->s, "example.org", "alice", l.ids[0], 1, collect, &p), 1);
    assert_string_equal(p.xml[0], "<m>2</m>");
    uint64_t count = 0, bytes = 0;
    assert_int_equal(store_offline_usage_sync(f->s, "example.org", "alice", &count, &bytes), 0);
    assert_int_equal(count, 3);
    assert_int_equal(bytes, 24);
}

static void test_offline_delete_only_listed(void **state)
{
    struct fixture *f = *state;
    add(f->s, "alice", 1, "<m>1</m>");
    add(f->s, "alice", 2, "<m>2</m>");
    add(f->s, "bob", 3, "<m>b</m>");
    struct listed l = {0}, b = {0};
    assert_int_equal(store_offline_list_sync(f->s, "example.org", "alice", 0, 10, collect, &l), 2);
    assert_int_equal(store_offline_list_sync(f->s, "example.org", "bob", 0, 10, collect, &b), 1);
    /* bob's id given for alice is left alone. */
    int64_t ids[] = {l.ids[0], b.ids[0]};
    assert_int_equal(store_offline_delete_sync(f->s, "example.org", "alice", ids, 2), 0);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM offline_messages"), 2);
    struct listed r = {0};
    assert_int_equal(store_offline_list_sync(f->s, "example.org", "alice", 0, 10, collect, &r), 1);
    assert_string_equal(r.xml[0], "<m>2</m>");
    assert_int_equal(store_offline_clear_sync(f->s, "example.org", "alice"), 0);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM offline_messages"), 1);
}

static void test_offline_limits(void **state)
{
    struct fixture *f = *state;
    struct offline_limits two = {2, 1000};
    const char *m = "<m>x</m>";
    assert_int_equal(store_offline_add_sync(f->s, "example.org", "alice", 1, m, 8, &two), 0);
    assert_int_equal(store_offline_add_sync(f->s, "example.org", "alice", 1, m, 8, &two), 0);
    assert_int_equal(store_offline_add_sync(f->s, "example.org", "alice", 1, m, 8, &two), -EDQUOT);
    /* The limit is per account. */
    assert_int_equal(store_offline_add_sync(f->s, "example.org", "bob", 1, m, 8, &two), 0);
    struct offline_limits bytes = {100, 20};
    assert_int_equal(store_offline_add_sync(f->s, "example.org", "bob", 1, m, 8, &bytes), 0);
    assert_int_equal(store_offline_add_sync(f->s, "example.org", "bob", 1, m, 8, &bytes), -EDQUOT);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM offline_messages"), 4);
    assert_int_equal(store_offline_add_sync(f->s, "example.org", "nobody", 1, m, 8, &two), -ENOENT);
    assert_int_equal(store_offline_add_sync(f->s, "example.org", "bob", 1, m, 0, &two), -EINVAL);
}

static void test_offline_cascade(void **state)
{
    struct fixture *f = *state;
    add(f->s, "alice", 1, "<m>1</m>");
    add(f->s, "bob", 1, "<m>2</m>");
    assert_int_equal(store_account_delete_sync(f->s, "example.org", "alice"), 0);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM offline_messages"), 1);
}

/* ---- block lists ---- */

struct jids {
    char v[8][64];
    size_t n;
};

static void collect_jid(void *ud, const char *jid)
{
    struct jids *j = ud;
    assert_true(j->n < 8 && strlen(jid) < 64);
    strcpy(j->v[j->n++], jid);
}

static void test_blocking_add_list_remove(void **state)
{
    struct fixture *f = *state;
    const char *a[] = {"x@evil.example", "spam.example", "x@evil.example"};
    assert_int_equal(store_blocking_add_sync(f->s, "example.org", "alice", a, 3, 10), 0);
    struct jids j = {0};
    assert_int_equal(store_blocking_list_sync(f->s, "example.org", "alice", collect_jid, &j), 2);
    assert_string_equal(j.v[0], "spam.example");
    assert_string_equal(j.v[1], "x@evil.example");
    const char *c1[] = {"y@evil.example", "spam.example"};
    assert_int_equal(store_blocking_match_sync(f->s, "example.org", "alice", c1, 2), 1);
    assert_int_equal(store_blocking_match_sync(f->s, "example.org", "bob", c1, 2), 0);
    assert_int_equal(store_blocking_match_sync(f->s, "example.org", "nobody", c1, 2), 0);
    const char *r[] = {"spam.example", "not@there"};
    assert_int_equal(store_blocking_remove_sync(f->s, "example.org", "alice", r, 2), 0);
    assert_int_equal(store_blocking_match_sync(f->s, "example.org", "alice", c1, 2), 0);
    assert_int_equal(store_blocking_remove_sync(f->s, "example.org", "alice", NULL, 0), 0);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM blocklist"), 0);
}

static void test_blocking_limit_is_atomic(void **state)
{
    struct fixture *f = *state;
    const char *a[] = {"a@x", "b@x"};
    assert_int_equal(store_blocking_add_sync(f->s, "example.org", "alice", a, 2, 3), 0);
    const char *b[] = {"b@x", "c@x", "d@x"}; /* b is there: 4 in all */
    assert_int_equal(store_blocking_add_sync(f->s, "example.org", "alice", b, 3, 3), -EDQUOT);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM blocklist"), 2);
    const char *e[] = {""};
    assert_int_equal(store_blocking_add_sync(f->s, "example.org", "alice", e, 1, 3), -EINVAL);
    assert_int_equal(store_blocking_add_sync(f->s, "example.org", "nobody", a, 1, 3), -ENOENT);
    assert_int_equal(store_account_delete_sync(f->s, "example.org", "alice"), 0);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM blocklist"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_offline_order_and_accounts, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_offline_delete_only_listed, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_offline_limits, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_offline_cascade, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_blocking_add_list_remove, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_blocking_limit_is_atomic, setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
