/* Unit tests of the vCard, private XML and last-activity store areas
 * (src/store/sqlite_vcard.c, sqlite_private.c, sqlite_last.c). */
#include <errno.h>

#include "facts.h"
#include "modules/module.h"
#include "store/last.h"
#include "store/private.h"
#include "store/vcard.h"
#include "store_fixture.h"

#define D "example.org"
#define HASH "01b87fcd030b72895ff8e88db57ec525450f000d"

static int setup(void **state)
{
    static const char *const users[] = {"alice", "bob", NULL};
    return fixture_setup(state, D, users);
}

static void test_vcard_round_trip(void **state)
{
    struct fixture *f = *state;
    struct buf b;
    char hash[VCARD_HASH_LEN + 1] = "x";
    buf_init(&b, 0);
    assert_int_equal(store_vcard_get(f->s, D, "alice", &b, hash), -ENOENT);
    const char *v1 = "<vCard xmlns='vcard-temp'><FN>Alice</FN></vCard>";
    assert_int_equal(store_vcard_set(f->s, D, "alice", v1, strlen(v1), NULL), 0);
    assert_int_equal(store_vcard_get(f->s, D, "alice", &b, hash), 0);
    assert_string_equal(b.data, v1);
    assert_string_equal(hash, "");
    /* replacing keeps one row and sets the hash */
    const char *v2 = "<vCard xmlns='vcard-temp'><PHOTO/></vCard>";
    assert_int_equal(store_vcard_set(f->s, D, "alice", v2, strlen(v2), HASH), 0);
    buf_reset(&b);
    assert_int_equal(store_vcard_get(f->s, D, "alice", &b, hash), 0);
    assert_string_equal(b.data, v2);
    assert_string_equal(hash, HASH);
    assert_int_equal(store_vcard_photo_hash(f->s, D, "alice", hash), 0);
    assert_string_equal(hash, HASH);
    /* bob's is separate */
    assert_int_equal(store_vcard_photo_hash(f->s, D, "bob", hash), -ENOENT);
    assert_int_equal(store_vcard_delete(f->s, D, "alice"), 0);
    assert_int_equal(store_vcard_photo_hash(f->s, D, "alice", hash), -ENOENT);
    buf_free(&b);
}

static void test_vcard_bad_input(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(store_vcard_set(f->s, D, "nobody", "<vCard/>", 8, NULL), -ENOENT);
    assert_int_equal(store_vcard_set(f->s, D, "alice", "<vCard/>", 8, "ABC"), -EINVAL);
    assert_int_equal(store_vcard_set(f->s, D, "alice", "<vCard/>", 8,
                                     "01B87FCD030B72895FF8E88DB57EC525450F000D"),
                     -EINVAL);
    assert_int_equal(store_vcard_delete(f->s, D, "nobody"), 0);
}

static void count_item(void *ud, const struct private_item *it)
{
    struct buf *b = ud;
    assert_int_equal(buf_printf(b, "%s|%s|%.*s\n", it->ns, it->name, (int)it->len, it->xml), 0);
}

static void test_private_round_trip(void **state)
{
    struct fixture *f = *state;
    struct buf b;
    buf_init(&b, 0);
    struct private_item items[] = {
        {"storage:bookmarks", "storage", "<storage xmlns='storage:bookmarks'/>", 36},
        {"exodus:prefs", "exodus", "<exodus xmlns='exodus:prefs'>x</exodus>", 39},
    };
    assert_int_equal(store_private_get(f->s, D, "alice", "storage:bookmarks", "storage", &b),
                     -ENOENT);
    assert_int_equal(store_private_set(f->s, D, "alice", items, 2, 1000), 0);
    assert_int_equal(store_private_get(f->s, D, "alice", "storage:bookmarks", "storage", &b), 0);
    assert_string_equal(b.data, items[0].xml);
    buf_reset(&b);
    /* same namespace, another name: a different key */
    assert_int_equal(store_private_get(f->s, D, "alice", "storage:bookmarks", "other", &b),
                     -ENOENT);
    assert_int_equal(store_private_get(f->s, D, "bob", "storage:bookmarks", "storage", &b),
                     -ENOENT);
    assert_int_equal(store_private_list(f->s, D, "alice", count_item, &b), 0);
    assert_string_equal(b.data, "exodus:prefs|exodus|<exodus xmlns='exodus:prefs'>x</exodus>\n"
                                "storage:bookmarks|storage|<storage xmlns='storage:bookmarks'/>\n");
    assert_int_equal(store_private_delete_all(f->s, D, "alice"), 0);
    buf_reset(&b);
    assert_int_equal(store_private_list(f->s, D, "alice", count_item, &b), 0);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

static void test_private_quota(void **state)
{
    struct fixture *f = *state;
    struct buf b;
    buf_init(&b, 0);
    struct private_item a = {"a:ns", "a", "<a xmlns='a:ns'>0123456789</a>", 30};
    struct private_item c = {"c:ns", "c", "<c xmlns='c:ns'>0123456789</c>", 30};
    assert_int_equal(store_private_set(f->s, D, "alice", &a, 1, 59), 0);
    /* 60 bytes would be over 59: refused whole, nothing stored */
    assert_int_equal(store_private_set(f->s, D, "alice", &c, 1, 59), -EDQUOT);
    assert_int_equal(store_private_get(f->s, D, "alice", "c:ns", "c", &b), -ENOENT);
    /* replacing a counts its new size, not both */
    assert_int_equal(store_private_set(f->s, D, "alice", &a, 1, 30), 0);
    assert_int_equal(store_private_set(f->s, D, "nobody", &a, 1, 1000), -ENOENT);
    buf_free(&b);
}

static void test_last_activity(void **state)
{
    struct fixture *f = *state;
    struct buf b;
    buf_init(&b, 0);
    int64_t t = -1;
    assert_int_equal(store_last_get(f->s, D, "alice", &t, &b), -ENOENT);
    assert_int_equal(store_last_set(f->s, D, "alice", 1000, "Heading Home"), 0);
    assert_int_equal(store_last_get(f->s, D, "alice", &t, &b), 0);
    assert_int_equal(t, 1000);
    assert_string_equal(b.data, "Heading Home");
    buf_reset(&b);
    assert_int_equal(store_last_set(f->s, D, "alice", 2000, NULL), 0);
    assert_int_equal(store_last_get(f->s, D, "alice", &t, &b), 0);
    assert_int_equal(t, 2000);
    assert_int_equal(b.len, 0);
    assert_int_equal(store_last_set(f->s, D, "nobody", 2000, NULL), -ENOENT);
    assert_int_equal(store_last_delete(f->s, D, "alice"), 0);
    assert_int_equal(store_last_get(f->s, D, "alice", &t, NULL), -ENOENT);
    buf_free(&b);
}

/* Promise P18: deleting the account takes its rows in all three areas. */
static void test_account_delete_cascades(void **state)
{
    struct fixture *f = *state;
    struct private_item a = {"a:ns", "a", "<a xmlns='a:ns'/>", 17};
    char hash[VCARD_HASH_LEN + 1];
    int64_t t;
    assert_int_equal(store_vcard_set(f->s, D, "alice", "<vCard/>", 8, HASH), 0);
    assert_int_equal(store_private_set(f->s, D, "alice", &a, 1, 1000), 0);
    assert_int_equal(store_last_set(f->s, D, "alice", 5, "bye"), 0);
    assert_int_equal(store_account_delete_sync(f->s, D, "alice"), 0);
    struct account_creds c = make_creds(1);
    assert_int_equal(store_account_create_sync(f->s, D, "alice", &c), 0);
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(store_vcard_photo_hash(f->s, D, "alice", hash), -ENOENT);
    assert_int_equal(store_private_get(f->s, D, "alice", "a:ns", "a", &b), -ENOENT);
    assert_int_equal(store_last_get(f->s, D, "alice", &t, NULL), -ENOENT);
    buf_free(&b);
}

/* The modules' data contract over these areas: describe, export as
 * XEP-0227 fragments, erase. */
static void test_data_contract(void **state)
{
    struct fixture *f = *state;
    extern const struct module mod_vcard, mod_private, mod_last;
    const struct module *mods[] = {&mod_vcard, &mod_private, &mod_last};
    struct data_ctx d = {f->s, NULL, 1100, NULL, NULL, NULL};
    struct buf out;
    buf_init(&out, 0);
    /* nothing stored: nothing described or exported */
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(mods[i]->describe(&d, D, "alice", fact_line, &out), 0);
        assert_int_equal(mods[i]->export_xml(&d, D, "alice", &out), 0);
    }
    assert_int_equal(out.len, 0);
    const char *v = "<vCard xmlns='vcard-temp'><FN>A</FN></vCard>";
    struct private_item it = {"a:ns", "a", "<a xmlns='a:ns'>1</a>", 21};
    assert_int_equal(store_vcard_set(f->s, D, "alice", v, strlen(v), HASH), 0);
    assert_int_equal(store_private_set(f->s, D, "alice", &it, 1, 1000), 0);
    assert_int_equal(store_last_set(f->s, D, "alice", 1000, "a<b"), 0);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(mods[i]->export_xml(&d, D, "alice", &out), 0);
    assert_string_equal(out.data, "<vCard xmlns='vcard-temp'><FN>A</FN></vCard>"
                                  "<query xmlns='jabber:iq:private'><a xmlns='a:ns'>1</a></query>"
                                  "<query xmlns='jabber:iq:last' seconds='100'>a&lt;b</query>");
    buf_reset(&out);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(mods[i]->describe(&d, D, "alice", fact_line, &out), 0);
    assert_non_null(strstr(out.data, "vcard count=1 bytes=44 "));
    assert_non_null(strstr(out.data, "avatar"));
    assert_non_null(strstr(out.data, "private count=1 bytes=21 "));
    assert_non_null(strstr(out.data, "last count=1 bytes=3 oldest=1000 "));
    assert_null(strstr(out.data, "alice"));
    buf_reset(&out);
    /* erase leaves bob's data alone */
    assert_int_equal(store_vcard_set(f->s, D, "bob", v, strlen(v), NULL), 0);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(mods[i]->erase(&d, D, "alice"), 0);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(mods[i]->export_xml(&d, D, "alice", &out), 0);
    assert_int_equal(out.len, 0);
    assert_int_equal(mod_vcard.export_xml(&d, D, "bob", &out), 0);
    assert_string_equal(out.data, v);
    buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_vcard_round_trip, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_vcard_bad_input, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_private_round_trip, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_private_quota, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_last_activity, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_account_delete_cascades, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_data_contract, setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
