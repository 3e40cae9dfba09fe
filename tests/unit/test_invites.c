/* Registration codes: generation, typing forgiveness, keyed hashing,
 * durations (modules/invite.c), and the invite store: expiry, revocation,
 * uses, the one-transaction invited account and its link
 * (store/sqlite_invites.c). */
#include "facts.h"
#include "store_fixture.h"

#include <ctype.h>
#include <errno.h>

#include "modules/invite.h"
#include "modules/module.h"
#include "store/invites.h"

#define DOMAIN "example.org"
#define NOW 1700000000LL

/* ---- codes ---- */

static void test_code_shape_and_roundtrip(void **state)
{
    (void)state;
    uint8_t a[INVITE_CODE_BYTES], b[INVITE_CODE_BYTES], back[INVITE_CODE_BYTES];
    char ta[INVITE_CODE_TEXT], tb[INVITE_CODE_TEXT];
    assert_int_equal(invite_code_new(a, ta), 0);
    assert_int_equal(invite_code_new(b, tb), 0);
    assert_int_equal(strlen(ta), INVITE_CODE_TEXT - 1);
    for (size_t i = 0; i < strlen(ta); i++) {
        if (i % 5 == 4)
            assert_int_equal(ta[i], '-');
        else
            assert_non_null(strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", ta[i]));
    }
    assert_memory_not_equal(a, b, INVITE_CODE_BYTES);
    assert_string_not_equal(ta, tb);
    assert_int_equal(invite_code_parse(ta, strlen(ta), back), 0);
    assert_memory_equal(a, back, INVITE_CODE_BYTES);
}

/* People retype codes: case, separators and look-alike letters. */
static void test_code_parse_forgiving(void **state)
{
    (void)state;
    uint8_t code[INVITE_CODE_BYTES], x[INVITE_CODE_BYTES], y[INVITE_CODE_BYTES];
    char t[INVITE_CODE_TEXT];
    assert_int_equal(invite_code_new(code, t), 0);
    char typed[INVITE_CODE_TEXT];
    size_t n = 0;
    for (size_t i = 0; t[i]; i++)
        if (t[i] != '-')
            typed[n++] = (char)tolower((unsigned char)t[i]);
    typed[n] = '\0';
    assert_int_equal(invite_code_parse(typed, n, x), 0);
    assert_memory_equal(code, x, INVITE_CODE_BYTES);
    assert_int_equal(invite_code_parse("O0OO-IIII-LLLL-1111-0000-0000-0000-0000", 39, x), 0);
    assert_int_equal(invite_code_parse("0000 1111 1111 1111 0000 0000 0000 0000", 39, y), 0);
    assert_memory_equal(x, y, INVITE_CODE_BYTES);
}

static void test_code_parse_rejects(void **state)
{
    (void)state;
    uint8_t x[INVITE_CODE_BYTES];
    static const char *const bad[] = {
        "",                                         /* empty */
        "0000-0000-0000-0000-0000-0000-0000-000",   /* 31 characters */
        "0000-0000-0000-0000-0000-0000-0000-00000", /* 33 */
        "0000-0000-0000-0000-0000-0000-0000-000U",  /* U is not in the alphabet */
        "0000-0000-0000-0000-0000-0000-0000-000!",
        "0000-0000-0000-0000-0000-0000-0000-000\xc3",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(invite_code_parse(bad[i], strlen(bad[i]), x), -EINVAL);
    char longer[INVITE_CODE_INPUT_MAX + 2];
    memset(longer, '-', sizeof longer - 1);
    memcpy(longer, "00000000000000000000000000000000", 32);
    longer[sizeof longer - 1] = '\0';
    assert_int_equal(invite_code_parse(longer, strlen(longer), x), -EINVAL);
    /* A NUL inside the given length is not a code character. */
    assert_int_equal(invite_code_parse("0000000000000000\0"
                                       "000000000000000",
                                       32, x),
                     -EINVAL);
}

/* The hash depends on the key and on every byte of the code. */
static void test_code_hash_keyed(void **state)
{
    (void)state;
    uint8_t k1[32], k2[32], code[INVITE_CODE_BYTES] = {0};
    memset(k1, 1, sizeof k1);
    memset(k2, 2, sizeof k2);
    uint8_t h1[INVITE_HASH_LEN], h2[INVITE_HASH_LEN], h3[INVITE_HASH_LEN], h4[INVITE_HASH_LEN];
    assert_int_equal(invite_code_hash(k1, 32, code, h1), 0);
    assert_int_equal(invite_code_hash(k2, 32, code, h2), 0);
    assert_int_equal(invite_code_hash(k1, 32, code, h3), 0);
    assert_memory_not_equal(h1, h2, INVITE_HASH_LEN);
    assert_memory_equal(h1, h3, INVITE_HASH_LEN);
    code[INVITE_CODE_BYTES - 1] ^= 1;
    assert_int_equal(invite_code_hash(k1, 32, code, h4), 0);
    assert_memory_not_equal(h1, h4, INVITE_HASH_LEN);
}

static void test_duration(void **state)
{
    (void)state;
    int64_t s = 0;
    assert_int_equal(invite_parse_duration("7d", &s), 0);
    assert_int_equal(s, 7 * 86400);
    assert_int_equal(invite_parse_duration("12h", &s), 0);
    assert_int_equal(s, 12 * 3600);
    assert_int_equal(invite_parse_duration("90s", &s), 0);
    assert_int_equal(s, 90);
    assert_int_equal(invite_parse_duration("2w", &s), 0);
    assert_int_equal(s, 14 * 86400);
    static const char *const bad[] = {
        "", "d", "7", "0d", "7x", "7dd", "-1d", "3660w", "99999999999999999999d"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(invite_parse_duration(bad[i], &s), -EINVAL);
}

/* ---- the store ---- */

static const char *const users[] = {"existing", NULL};

static int setup(void **state) { return fixture_setup(state, DOMAIN, users); }

/* A stored code with its hash in *hash; returns its id. */
static int64_t add_invite(struct store *s, uint8_t hash[INVITE_HASH_LEN], uint8_t seed,
                          int64_t expires, unsigned uses)
{
    uint8_t code[INVITE_CODE_BYTES];
    memset(code, seed, sizeof code);
    assert_int_equal(invite_code_hash(store_server_secret(s), 32, code, hash), 0);
    struct invite_new in = {.domain = DOMAIN,
                            .hash = hash,
                            .given_to = "Ann <ann@example.net>",
                            .created_by = "taubectl",
                            .created = NOW,
                            .expires = expires,
                            .uses = uses};
    int64_t id = 0;
    assert_int_equal(store_invite_create_sync(s, &in, &id), 0);
    assert_true(id > 0);
    return id;
}

/* Creates an account with the code, checked for expiry at valid_at (a
 * preauth's time; 0: now). */
static int create_with(struct store *s, const char *user, const uint8_t *hash, int64_t now,
                       int64_t valid_at, enum consent_via via)
{
    struct account_creds c = make_creds(7);
    struct invited_account a = {.domain = DOMAIN,
                                .user = user,
                                .creds = &c,
                                .hash = hash,
                                .now = now,
                                .policy_version = "2026-01",
                                .valid_at = valid_at,
                                .via = via};
    return store_account_create_invited_sync(s, &a);
}

static int create_valid_at(struct store *s, const char *user, const uint8_t *hash, int64_t now,
                           int64_t valid_at)
{
    return create_with(s, user, hash, now, valid_at, CONSENT_FORM);
}

static int create(struct store *s, const char *user, const uint8_t *hash, int64_t now)
{
    return create_valid_at(s, user, hash, now, 0);
}

/* XEP-0445 §4: a code accepted by a preauth before it expired still
 * creates the account after; revocation and uses left count at creation. */
static void test_store_expiry_checked_at_preauth(void **state)
{
    struct fixture *f = *state;
    uint8_t h[INVITE_HASH_LEN], r[INVITE_HASH_LEN];
    add_invite(f->s, h, 5, NOW + 100, 1);
    assert_int_equal(create_valid_at(f->s, "late", h, NOW + 500, NOW + 99), 0);
    assert_int_equal(store_account_exists_sync(f->s, DOMAIN, "late"), 1);
    assert_int_equal(create_valid_at(f->s, "later", h, NOW + 500, NOW + 99), -EUSERS);
    assert_int_equal(create_valid_at(f->s, "early", h, NOW + 500, NOW + 100), -ETIME);
    add_invite(f->s, r, 6, NOW + 100, 1);
    assert_int_equal(store_invite_revoke_sync(f->s, r, 0), 0);
    assert_int_equal(create_valid_at(f->s, "revoked", r, NOW + 50, NOW + 10), -ECANCELED);
}

static void test_store_expiry(void **state)
{
    struct fixture *f = *state;
    uint8_t h[INVITE_HASH_LEN];
    add_invite(f->s, h, 1, NOW + 100, 1);
    assert_int_equal(store_invite_check_sync(f->s, DOMAIN, h, NOW + 99), 0);
    assert_int_equal(store_invite_check_sync(f->s, DOMAIN, h, NOW + 100), -ETIME);
    assert_int_equal(create(f->s, "late", h, NOW + 101), -ETIME);
    assert_int_equal(store_account_exists_sync(f->s, DOMAIN, "late"), 0);
    assert_int_equal(store_invite_check_sync(f->s, "other.org", h, NOW), -ENOENT);
}

static void test_store_uses_and_link(void **state)
{
    struct fixture *f = *state;
    uint8_t h[INVITE_HASH_LEN];
    int64_t id = add_invite(f->s, h, 2, NOW + 1000, 2);
    assert_int_equal(create(f->s, "one", h, NOW + 1), 0);
    /* A taken name uses nothing up. */
    assert_int_equal(create(f->s, "existing", h, NOW + 2), -EEXIST);
    assert_int_equal(create(f->s, "two", h, NOW + 3), 0);
    assert_int_equal(create(f->s, "three", h, NOW + 4), -EUSERS);
    assert_int_equal(store_account_exists_sync(f->s, DOMAIN, "three"), 0);
    struct account_invite info;
    assert_int_equal(store_account_invite_info_sync(f->s, DOMAIN, "two", &info), 0);
    assert_int_equal(info.invite_id, id);
    assert_string_equal(info.given_to, "Ann <ann@example.net>");
    assert_int_equal(info.consent_time, NOW + 3);
    assert_string_equal(info.policy_version, "2026-01");
    assert_int_equal(store_account_invite_info_sync(f->s, DOMAIN, "existing", &info), -ENOENT);
    /* The link goes with the account. */
    assert_int_equal(store_account_delete_sync(f->s, DOMAIN, "one"), 0);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM account_invite"), 1);
}

static void test_store_revoke(void **state)
{
    struct fixture *f = *state;
    uint8_t h1[INVITE_HASH_LEN], h2[INVITE_HASH_LEN], unknown[INVITE_HASH_LEN] = {0};
    add_invite(f->s, h1, 3, NOW + 1000, 5);
    int64_t id2 = add_invite(f->s, h2, 4, NOW + 1000, 5);
    assert_int_equal(store_invite_revoke_sync(f->s, h1, 0), 0);
    assert_int_equal(store_invite_revoke_sync(f->s, NULL, id2), 0);
    assert_int_equal(store_invite_revoke_sync(f->s, unknown, 0), -ENOENT);
    assert_int_equal(store_invite_revoke_sync(f->s, NULL, 999), -ENOENT);
    assert_int_equal(create(f->s, "x", h1, NOW), -ECANCELED);
    assert_int_equal(create(f->s, "x", h2, NOW), -ECANCELED);
    assert_int_equal(create(f->s, "x", unknown, NOW), -ENOENT);
    /* Only the hash is stored, never the code. */
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM invites WHERE length(code_hash) = 32"),
                     2);
}

static int create_via(struct store *s, const char *user, const uint8_t *hash, int64_t now,
                      enum consent_via via)
{
    return create_with(s, user, hash, now, 0, via);
}

/* Consent given on the invite page: held on the code for its policy
 * version, used up by the one account that relies on it, and recorded
 * with that account as given on the page at the page's time. */
static void test_store_page_consent(void **state)
{
    struct fixture *f = *state;
    uint8_t h[INVITE_HASH_LEN], old[INVITE_HASH_LEN], unknown[INVITE_HASH_LEN] = {0};
    int64_t at = 0;
    add_invite(f->s, h, 9, NOW + 1000, 3);
    assert_int_equal(store_invite_consent_get_sync(f->s, h, "2026-01", &at), -ENOENT);
    /* Without page consent, an account relying on it is refused. */
    assert_int_equal(create_via(f->s, "nope", h, NOW + 1, CONSENT_PAGE), -EACCES);
    assert_int_equal(store_account_exists_sync(f->s, DOMAIN, "nope"), 0);
    assert_int_equal(store_invite_consent_sync(f->s, DOMAIN, h, NOW + 5, "2026-01"), 0);
    assert_int_equal(store_invite_consent_get_sync(f->s, h, "2026-01", &at), 0);
    assert_int_equal(at, NOW + 5);
    /* Consent to another version does not count. */
    assert_int_equal(store_invite_consent_get_sync(f->s, h, "2027-01", &at), -ENOENT);
    assert_int_equal(create_via(f->s, "paged", h, NOW + 60, CONSENT_PAGE), 0);
    struct account_invite info;
    assert_int_equal(store_account_invite_info_sync(f->s, DOMAIN, "paged", &info), 0);
    assert_int_equal(info.consent_time, NOW + 5);
    assert_int_equal(info.via, CONSENT_PAGE);
    /* Used up: the next account needs its own. */
    assert_int_equal(store_invite_consent_get_sync(f->s, h, "2026-01", &at), -ENOENT);
    assert_int_equal(create_via(f->s, "second", h, NOW + 61, CONSENT_PAGE), -EACCES);
    assert_int_equal(create_via(f->s, "webform", h, NOW + 62, CONSENT_WEB_FORM), 0);
    assert_int_equal(store_account_invite_info_sync(f->s, DOMAIN, "webform", &info), 0);
    assert_int_equal(info.via, CONSENT_WEB_FORM);
    assert_int_equal(info.consent_time, NOW + 62);
    /* Unusable codes take no consent. */
    assert_int_equal(store_invite_consent_sync(f->s, DOMAIN, unknown, NOW, "2026-01"), -ENOENT);
    assert_int_equal(store_invite_consent_sync(f->s, DOMAIN, h, NOW + 1000, "2026-01"), -ETIME);
    add_invite(f->s, old, 10, NOW + 1000, 1);
    assert_int_equal(store_invite_revoke_sync(f->s, old, 0), 0);
    assert_int_equal(store_invite_consent_sync(f->s, DOMAIN, old, NOW, "2026-01"), -ECANCELED);
    assert_int_equal(store_invite_consent_sync(f->s, "other.org", h, NOW, "2026-01"), -ENOENT);
}

struct listed {
    int n;
    char accounts[256];
    unsigned uses_left;
};

static void on_invite(void *ud, const struct invite_info *inv)
{
    struct listed *l = ud;
    l->n++;
    l->uses_left = inv->uses_left;
    snprintf(l->accounts, sizeof l->accounts, "%s", inv->accounts ? inv->accounts : "");
}

static void test_store_list(void **state)
{
    struct fixture *f = *state;
    uint8_t h[INVITE_HASH_LEN];
    add_invite(f->s, h, 5, NOW + 1000, 3);
    assert_int_equal(create(f->s, "alice", h, NOW), 0);
    assert_int_equal(create(f->s, "bob", h, NOW), 0);
    struct listed l = {0};
    assert_int_equal(store_invite_list_sync(f->s, DOMAIN, on_invite, &l), 0);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.uses_left, 1);
    assert_non_null(strstr(l.accounts, "alice@" DOMAIN));
    assert_non_null(strstr(l.accounts, "bob@" DOMAIN));
    memset(&l, 0, sizeof l);
    assert_int_equal(store_invite_list_sync(f->s, "other.org", on_invite, &l), 0);
    assert_int_equal(l.n, 0);
}

static void test_store_bad_input(void **state)
{
    struct fixture *f = *state;
    uint8_t h[INVITE_HASH_LEN] = {9};
    char big[INVITE_TEXT_MAX + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    struct invite_new in = {.domain = DOMAIN,
                            .hash = h,
                            .given_to = big,
                            .created_by = "taubectl",
                            .created = NOW,
                            .expires = NOW + 1,
                            .uses = 1};
    int64_t id;
    assert_int_equal(store_invite_create_sync(f->s, &in, &id), -EINVAL);
    in.given_to = "";
    assert_int_equal(store_invite_create_sync(f->s, &in, &id), -EINVAL);
    in.given_to = "x";
    in.uses = 0;
    assert_int_equal(store_invite_create_sync(f->s, &in, &id), -EINVAL);
    in.uses = 1;
    assert_int_equal(store_invite_create_sync(f->s, &in, &id), 0);
    assert_int_equal(store_invite_create_sync(f->s, &in, &id), -EEXIST);
    /* A failed registration leaves nothing: no account, no use taken. */
    struct account_creds none;
    memset(&none, 0, sizeof none);
    struct invited_account a = {.domain = DOMAIN,
                                .user = "nocreds",
                                .creds = &none,
                                .hash = h,
                                .now = NOW,
                                .policy_version = "1"};
    assert_int_equal(store_account_create_invited_sync(f->s, &a), -EINVAL);
    assert_int_equal(store_account_exists_sync(f->s, DOMAIN, "nocreds"), 0);
    assert_int_equal(sql_int(f->path, "SELECT uses_left FROM invites"), 1);
}

/* The access report (P20) says what registration kept; nothing for an
 * account made without a code. */
static void test_describe(void **state)
{
    struct fixture *f = *state;
    extern const struct module mod_register;
    uint8_t h[INVITE_HASH_LEN];
    add_invite(f->s, h, 6, NOW + 1000, 1);
    assert_int_equal(create(f->s, "dora", h, NOW + 5), 0);
    struct data_ctx d = {.store = f->s, .now = NOW};
    struct buf out;
    buf_init(&out, 4096);
    assert_int_equal(mod_register.describe(&d, DOMAIN, "existing", fact_line, &out), 0);
    assert_int_equal(out.len, 0);
    assert_int_equal(mod_register.describe(&d, DOMAIN, "dora", fact_line, &out), 0);
    assert_non_null(strstr(out.data, "registration count=1"));
    assert_non_null(strstr(out.data, "Ann <ann@example.net>"));
    char oldest[64];
    snprintf(oldest, sizeof oldest, "oldest=%lld ", (long long)(NOW + 5));
    if (!strstr(out.data, oldest))
        fail_msg("no %s in %s", oldest, out.data);
    buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_code_shape_and_roundtrip),
        cmocka_unit_test(test_code_parse_forgiving),
        cmocka_unit_test(test_code_parse_rejects),
        cmocka_unit_test(test_code_hash_keyed),
        cmocka_unit_test(test_duration),
        cmocka_unit_test_setup_teardown(test_store_expiry, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_expiry_checked_at_preauth, setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_uses_and_link, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_revoke, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_page_consent, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_list, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_bad_input, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_describe, setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
