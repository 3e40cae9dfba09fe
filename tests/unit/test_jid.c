/* Unit tests for src/xmpp/jid.c. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "xmpp/jid.h"

/* Parses s and checks each part (NULL = absent). */
static void expect_jid(const char *s, const char *local, const char *domain, const char *res)
{
    struct jid j;
    int rc = jid_parse(&j, s, strlen(s));
    if (rc != 0)
        print_error("jid_parse(\"%s\") failed\n", s);
    assert_int_equal(rc, 0);
    if (local)
        assert_string_equal(j.local, local);
    else
        assert_null(j.local);
    assert_string_equal(j.domain, domain);
    if (res)
        assert_string_equal(j.resource, res);
    else
        assert_null(j.resource);
    jid_free(&j);
}

static void expect_invalid_len(const char *s, size_t len)
{
    struct jid j;
    int rc = jid_parse(&j, s, len);
    if (rc != -EINVAL)
        print_error("jid_parse(\"%.*s\") gave %d\n", (int)len, s, rc);
    assert_int_equal(rc, -EINVAL);
    assert_null(j.mem);
    assert_null(j.domain);
}

static void expect_invalid(const char *s) { expect_invalid_len(s, strlen(s)); }

static void test_rfc7622_examples(void **state)
{
    (void)state;
    expect_jid("juliet@example.com", "juliet", "example.com", NULL);
    expect_jid("juliet@example.com/foo", "juliet", "example.com", "foo");
    expect_jid("juliet@example.com/foo bar", "juliet", "example.com", "foo bar");
    expect_jid("juliet@example.com/foo@bar", "juliet", "example.com", "foo@bar");
    expect_jid("foo\\20bar@example.com", "foo\\20bar", "example.com", NULL);
    expect_jid("fussball@example.com", "fussball", "example.com", NULL);
    expect_jid("\xcf\x80@example.com", "\xcf\x80", "example.com", NULL);
    expect_jid("king@example.com/\xe2\x99\x9a", "king", "example.com", "\xe2\x99\x9a");
    expect_jid("example.com", NULL, "example.com", NULL);
    expect_jid("example.com/foobar", NULL, "example.com", "foobar");
    /* Example 15: the domain ends at the first '/', before any '@'. */
    expect_jid("a.example.com/b@example.net", NULL, "a.example.com", "b@example.net");
    expect_invalid("\"juliet\"@example.com");
    expect_invalid("foo bar@example.com");
    expect_invalid("@example.com/");
    expect_invalid("juliet@");
    expect_invalid("/foobar");
}

static void test_structure(void **state)
{
    (void)state;
    expect_jid("a@b/c/d", "a", "b", "c/d");
    expect_jid("a@b/@", "a", "b", "@");
    expect_jid("a@b//", "a", "b", "/");
    expect_jid("a@b/ lead", "a", "b", " lead");
    expect_invalid("");
    expect_invalid("@");
    expect_invalid("/");
    expect_invalid("@/");
    expect_invalid("@example.com");
    expect_invalid("juliet@example.com/");
    expect_invalid("a@b@example.com"); /* domain "b@example.com" */
    expect_invalid("a@/r");
    expect_invalid_len("a\0b@example.com", 15);
    expect_invalid_len("a@example.com/r\0", 16);
}

static void test_case_and_width(void **state)
{
    (void)state;
    expect_jid("JULIET@EXAMPLE.COM/Balcony", "juliet", "example.com", "Balcony");
    /* RFC 6122 nodeprep folds sharp s to "ss" (PRECIS would keep it). */
    expect_jid("Fu\xc3\x9f"
               "ball@example.com",
               "fussball", "example.com", NULL);
    /* Greek capital sigma folds to small sigma; stringprep's B.2 table
     * also folds final sigma (PRECIS would keep it apart). */
    expect_jid("\xce\xa3@example.com", "\xcf\x83", "example.com", NULL);
    expect_jid("\xcf\x82@example.com", "\xcf\x83", "example.com", NULL);
    /* Fullwidth letters are width-mapped (NFKC) in every part. */
    expect_jid("\xef\xbd\x8a\xef\xbd\x95@\xef\xbd\x85\xef\xbd\x98.com/\xef\xbc\xa1", "ju", "ex.com",
               "A");
    /* Fullwidth '@' in a localpart maps to '@', which is prohibited. */
    expect_invalid("a\xef\xbc\xa0"
                   "b@example.com");
    expect_jid("Caf\xc3\x89@example.com", "caf\xc3\xa9", "example.com", NULL);
}

static void test_bad_code_points(void **state)
{
    (void)state;
    expect_invalid("\xff@example.com");
    expect_invalid("\xc0\xaf@example.com");         /* overlong '/' */
    expect_invalid("\xed\xa0\x80@example.com");     /* surrogate */
    expect_invalid("\xf4\x90\x80\x80@example.com"); /* > U+10FFFF */
    expect_invalid("a\xc3@example.com");            /* truncated */
    expect_invalid("a@example.com/\xe2\x82");
    expect_invalid("\xee\x80\x80@example.com"); /* private use U+E000 */
    expect_invalid("a@example.com/\xee\x80\x80");
    expect_invalid("a@example.com/x\x07y"); /* control */
    expect_invalid("a\x01@example.com");
    expect_invalid("a\xe2\x80\x8e"
                   "b@example.com"); /* LRM, C.8 */
    expect_invalid("\xd7\x90"
                   "a@example.com");          /* RAL and L mixed */
    expect_invalid("a@example.com/\xc2\xad"); /* maps to nothing: empty */
    for (const char *c = "\"&'/:<>@ "; *c; c++) {
        char s[32];
        snprintf(s, sizeof(s), "x%cy@example.com", *c);
        if (*c == '/' || *c == '@')
            continue; /* those split the JID instead */
        expect_invalid(s);
    }
}

static void test_domains(void **state)
{
    (void)state;
    expect_jid("a@example.com.", "a", "example.com", NULL);
    expect_jid("example.com./r", NULL, "example.com", "r");
    expect_jid("a@[::1]/r", "a", "[::1]", "r");
    expect_jid("[0:0::1]", NULL, "[::1]", NULL);
    expect_jid("[2001:DB8::1]", NULL, "[2001:db8::1]", NULL);
    expect_jid("a@192.0.2.1", "a", "192.0.2.1", NULL);
    expect_jid("192.0.2.1.", NULL, "192.0.2.1", NULL);
    expect_jid("localhost", NULL, "localhost", NULL);
    expect_jid("xn--mnchen-3ya.de", NULL,
               "m\xc3\xbc"
               "nchen.de",
               NULL);
    expect_jid("XN--MNCHEN-3YA.DE", NULL,
               "m\xc3\xbc"
               "nchen.de",
               NULL);
    expect_jid("M\xc3\x9c"
               "NCHEN.de",
               NULL,
               "m\xc3\xbc"
               "nchen.de",
               NULL);
    expect_jid("example\xe3\x80\x82"
               "com",
               NULL, "example.com", NULL);
    /* IDNA2008, UTS #46 non-transitional (RFC 7622 §3.2), the same as
     * the configuration: "faß.de" keeps its sharp s (IDNA2003 nameprep
     * made it "fass.de", another domain, and every stream to a
     * configured "faß.de" was refused); case, A-label and width map to
     * the one U-label spelling. */
    expect_jid("a@fa\xc3\x9f.de", "a", "fa\xc3\x9f.de", NULL);
    expect_jid("a@FA\xc3\x9f.DE", "a", "fa\xc3\x9f.de", NULL);
    expect_jid("a@xn--fa-hia.de", "a", "fa\xc3\x9f.de", NULL);
    expect_jid("a@XN--FA-HIA.de.", "a", "fa\xc3\x9f.de", NULL);
    expect_jid("a@\xef\xbd\x86\xef\xbd\x81\xc3\x9f.de", "a", "fa\xc3\x9f.de", NULL); /* fullwidth */
    expect_jid("fass.de", NULL, "fass.de", NULL);
    expect_jid("\xce\xb2\xcf\x8c\xce\xbb\xce\xbf\xcf\x82.com", NULL,
               "\xce\xb2\xcf\x8c\xce\xbb\xce\xbf\xcf\x82.com", NULL); /* final sigma kept */
    expect_invalid("\xe2\x98\x83.net"); /* a symbol: valid in IDNA2003, not in 2008 */
    expect_invalid("ab--cd.example"); /* reserved "??--" label that is not an A-label */
    expect_invalid("\xcc\x88"
                   "a.example"); /* a label may not start with a combining mark */
    expect_invalid(".");
    expect_invalid("example.com..");
    expect_invalid("example..com");
    expect_invalid(".example.com");
    expect_invalid("exa mple.com");
    expect_invalid("exa_mple.com");
    expect_invalid("-example.com");
    expect_invalid("example-.com");
    expect_invalid("xn--zzzz-.com");
    /* An A-label whose decoded form is not a valid U-label: it holds a
     * space (found by fuzz_jid). */
    expect_invalid("xn--mnchenmnch--mnchenmnchenen-3ya.d");
    expect_jid("xn--Mnchen-3ya.de", NULL, "m\xc3\xbcnchen.de", NULL);
    expect_invalid("999.1.1.1");
    expect_invalid("1.2.3");
    expect_invalid("[::1");
    expect_invalid("[zz::1]");
    expect_invalid("[fe80::1%eth0]");
    expect_invalid("[]");
    expect_invalid("[::1].");
    expect_invalid("a@\xef\xbc\xbb::1\xef\xbc\xbd"); /* fullwidth brackets */
    char label[80];
    memset(label, 'a', 64);
    memcpy(label + 64, ".com", 5);
    expect_invalid(label);
    expect_jid(label + 1, NULL, label + 1, NULL); /* 63 */
}

/* Builds s with n copies of unit (ulen bytes each), then tail. */
static char *repeat(const char *unit, size_t n, const char *head, const char *tail)
{
    size_t ul = strlen(unit), hl = strlen(head), tl = strlen(tail);
    char *s = malloc(hl + n * ul + tl + 1);
    assert_non_null(s);
    memcpy(s, head, hl);
    for (size_t i = 0; i < n; i++)
        memcpy(s + hl + i * ul, unit, ul);
    memcpy(s + hl + n * ul, tail, tl + 1);
    return s;
}

static void test_part_lengths(void **state)
{
    (void)state;
    char *s = repeat("a", 1023, "", "@example.com/r");
    struct jid j;
    assert_int_equal(jid_parse(&j, s, strlen(s)), 0);
    assert_int_equal(strlen(j.local), 1023);
    jid_free(&j);
    free(s);
    s = repeat("a", 1024, "", "@example.com/r");
    expect_invalid(s);
    free(s);

    s = repeat("r", 1023, "a@example.com/", "");
    assert_int_equal(jid_parse(&j, s, strlen(s)), 0);
    assert_int_equal(strlen(j.resource), 1023);
    jid_free(&j);
    free(s);
    s = repeat("r", 1024, "a@example.com/", "");
    expect_invalid(s);
    free(s);

    /* Fullwidth 'A' is 3 bytes raw, 1 byte prepared: the limit is on the
     * prepared form. */
    s = repeat("\xef\xbc\xa1", 1023, "", "@example.com");
    assert_int_equal(jid_parse(&j, s, strlen(s)), 0);
    assert_int_equal(strlen(j.local), 1023);
    jid_free(&j);
    free(s);
    s = repeat("\xef\xbc\xa1", 1024, "", "@example.com");
    expect_invalid(s);
    free(s);

    /* Domain: RFC 7622 keeps the DNS limit (RFC 1034): 253 bytes (three
     * labels of 63 and one of 61); one more byte is too long. */
    char *lab = repeat("d", 63, "", ".");
    char *dom = repeat(lab, 3, "", "");
    char *max = repeat("e", 61, dom, "");
    assert_int_equal(strlen(max), 253);
    assert_int_equal(jid_parse(&j, max, strlen(max)), 0);
    assert_int_equal(strlen(j.domain), 253);
    jid_free(&j);
    char *dot = repeat("", 0, max, "."); /* trailing dot: 254 raw, fine */
    assert_int_equal(jid_parse(&j, dot, strlen(dot)), 0);
    assert_int_equal(strlen(j.domain), 253);
    jid_free(&j);
    char *big = repeat("e", 62, dom, "");
    expect_invalid(big);
    /* Label lengths count in the A-label form: 57 x "ü" is 114 bytes of
     * UTF-8 and "xn--" + 59 bytes of punycode (63); 58 make 64. */
    char *u57 = repeat("\xc3\xbc", 57, "", ".de");
    char *u58 = repeat("\xc3\xbc", 58, "", ".de");
    assert_int_equal(jid_parse(&j, u57, strlen(u57)), 0);
    assert_int_equal(strlen(j.domain), 117);
    jid_free(&j);
    expect_invalid(u58);
    free(u57);
    free(u58);
    free(lab);
    free(dom);
    free(max);
    free(dot);
    free(big);
}

static void test_format(void **state)
{
    (void)state;
    struct jid j;
    char buf[64];
    assert_int_equal(jid_parse(&j, "Juliet@Example.com/Balcony", 26), 0);
    assert_int_equal(jid_format(&j, false, buf, sizeof(buf)), 26);
    assert_string_equal(buf, "juliet@example.com/Balcony");
    assert_int_equal(jid_format(&j, true, buf, sizeof(buf)), 18);
    assert_string_equal(buf, "juliet@example.com");
    assert_int_equal(jid_format(&j, false, buf, 7), 26);
    assert_string_equal(buf, "juliet");
    assert_int_equal(jid_format(&j, false, buf, 1), 26);
    assert_string_equal(buf, "");
    assert_int_equal(jid_format(&j, false, NULL, 0), 26);
    char *s = jid_to_string(&j, false);
    assert_string_equal(s, "juliet@example.com/Balcony");
    free(s);
    s = jid_to_string(&j, true);
    assert_string_equal(s, "juliet@example.com");
    free(s);
    jid_free(&j);
    assert_null(j.mem);
    jid_free(&j); /* twice is harmless */

    assert_int_equal(jid_parse(&j, "example.com/r", 13), 0);
    assert_int_equal(jid_format(&j, false, buf, sizeof(buf)), 13);
    assert_string_equal(buf, "example.com/r");
    jid_free(&j);
}

static void test_equality_copy_bare(void **state)
{
    (void)state;
    struct jid a, b, c, d, e;
    assert_int_equal(jid_parse(&a, "Juliet@EXAMPLE.com/r", 20), 0);
    assert_int_equal(jid_parse(&b, "juliet@example.com./r", 21), 0);
    assert_int_equal(jid_parse(&c, "juliet@example.com/R", 20), 0);
    assert_int_equal(jid_parse(&d, "example.com/r", 13), 0);
    assert_true(jid_equal(&a, &b));
    assert_false(jid_equal(&a, &c)); /* resources are case-sensitive */
    assert_true(jid_bare_equal(&a, &c));
    assert_false(jid_bare_equal(&a, &d));
    assert_false(jid_equal(&d, &a));

    assert_int_equal(jid_bare(&e, &a), 0);
    assert_null(e.resource);
    assert_string_equal(e.local, "juliet");
    assert_false(jid_equal(&e, &a));
    assert_true(jid_bare_equal(&e, &a));
    jid_free(&e);
    assert_int_equal(jid_copy(&e, &a), 0);
    assert_ptr_not_equal(e.mem, a.mem);
    assert_true(jid_equal(&e, &a));
    jid_free(&a);
    assert_string_equal(e.resource, "r");
    jid_free(&e);
    assert_int_equal(jid_bare(&e, &d), 0);
    assert_null(e.local);
    assert_null(e.resource);
    assert_string_equal(e.domain, "example.com");
    jid_free(&e);
    jid_free(&b);
    jid_free(&c);
    jid_free(&d);
}

static void test_prep_parts(void **state)
{
    (void)state;
    char out[16];
    assert_int_equal(jid_prep_local("JuLiet", out, sizeof(out)), 0);
    assert_string_equal(out, "juliet");
    assert_int_equal(jid_prep_local("juliet", out, 6), -ENOBUFS);
    assert_int_equal(jid_prep_local("juliet", out, 7), 0);
    assert_int_equal(jid_prep_local("a b", out, sizeof(out)), -EINVAL);
    assert_int_equal(jid_prep_local("", out, sizeof(out)), -EINVAL);
    assert_int_equal(jid_prep_domain("Example.COM.", out, sizeof(out)), 0);
    assert_string_equal(out, "example.com");
    assert_int_equal(jid_prep_domain("[::1]", out, sizeof(out)), 0);
    assert_string_equal(out, "[::1]");
    assert_int_equal(jid_prep_resource("Foo Bar", out, sizeof(out)), 0);
    assert_string_equal(out, "Foo Bar");
    assert_int_equal(jid_prep_resource("\xef\xbc\xa1", out, sizeof(out)), 0);
    assert_string_equal(out, "A");
    assert_true(jid_utf8_valid("\xf0\x9f\x98\x80", 4));
    assert_false(jid_utf8_valid("\xf0\x9f\x98", 3));
    assert_false(jid_utf8_valid("a\0", 2));
}

/* Deterministic generator so a failure can be replayed. */
static uint32_t next_rand(uint32_t *st)
{
    *st ^= *st << 13;
    *st ^= *st >> 17;
    *st ^= *st << 5;
    return *st;
}

static void compare_paths(char part, const char *in)
{
    char fast[JID_PART_MAX + 1], slow[JID_PART_MAX + 1];
    int rf, rs;
    if (part == 'l')
        rf = jid_prep_local(in, fast, sizeof(fast));
    else if (part == 'd')
        rf = jid_prep_domain(in, fast, sizeof(fast));
    else
        rf = jid_prep_resource(in, fast, sizeof(fast));
    rs = jid_prep_slow(part, in, slow, sizeof(slow));
    if (rf != rs || (rf == 0 && strcmp(fast, slow) != 0)) {
        print_error("part %c input \"%s\": fast %d \"%s\" slow %d \"%s\"\n", part, in, rf,
                    rf == 0 ? fast : "", rs, rs == 0 ? slow : "");
        fail();
    }
}

static void test_fast_path_matches_libidn(void **state)
{
    (void)state;
    static const char *fixed[] = {
        "a",       "A",        "Juliet", "a.b",     "a..b",         ".a",         "a.",
        "-a",      "a-",       "a-b",    "1.2.3.4", "1.2.3.4.",     "01.2.3.4",   "256.1.1.1",
        "123",     "a b",      "a\tb",   "a\x7f",   "~!#$%^*()_+=", "\"&'/:<>@",  "xn--mnchen-3ya",
        "XN--abc", "a.xn--zz", "xnx--a", "[::1]",   "\\20",         "LocalHost.", "a_b",
        "..",      ".",        " ",      "a\x1f",   "{}|",          "`",          "?",
        ",;",
    };
    const char parts[] = {'l', 'd', 'r'};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        for (size_t p = 0; p < 3; p++)
            compare_paths(parts[p], fixed[i]);

    /* Random ASCII strings biased toward the interesting characters. */
    static const char alpha[] = "aAzZ09-.._ @/\"&'<>:\x01\x7f\t~xn-X";
    uint32_t st = 0x2545F491;
    char s[80];
    for (int n = 0; n < 20000; n++) {
        size_t len = 1 + next_rand(&st) % 70;
        for (size_t i = 0; i < len; i++) {
            uint32_t r = next_rand(&st);
            s[i] = (r & 1) ? alpha[(r >> 1) % (sizeof(alpha) - 1)] : (char)(0x01 + (r >> 1) % 0x7f);
        }
        s[len] = '\0';
        compare_paths(parts[n % 3], s);
    }
    /* Domain-shaped strings, so that many are valid and compared too. */
    static const char ldh[] = "abcXYZ0189-..";
    int valid = 0;
    for (int n = 0; n < 5000; n++) {
        size_t len = 1 + next_rand(&st) % 70;
        for (size_t i = 0; i < len; i++)
            s[i] = ldh[next_rand(&st) % (sizeof(ldh) - 1)];
        s[len] = '\0';
        compare_paths('d', s);
        char out[JID_PART_MAX + 1];
        valid += jid_prep_domain(s, out, sizeof(out)) == 0;
    }
    assert_in_range(valid, 500, 5000);
}

static void test_round_trip(void **state)
{
    (void)state;
    static const char *in[] = {
        "Juliet@Example.COM/Balcony",
        "example.com",
        "a.example.com/b@example.net",
        "\xce\xa3@xn--mnchen-3ya.de/\xe2\x99\x9a",
        "[2001:DB8::1]/x",
        "a@b/c/d",
    };
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        struct jid a, b;
        assert_int_equal(jid_parse(&a, in[i], strlen(in[i])), 0);
        char *s = jid_to_string(&a, false);
        assert_non_null(s);
        assert_int_equal(jid_parse(&b, s, strlen(s)), 0);
        assert_true(jid_equal(&a, &b));
        char *t = jid_to_string(&b, false);
        assert_string_equal(s, t);
        free(s);
        free(t);
        jid_free(&a);
        jid_free(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7622_examples), cmocka_unit_test(test_structure),
        cmocka_unit_test(test_case_and_width),   cmocka_unit_test(test_bad_code_points),
        cmocka_unit_test(test_domains),          cmocka_unit_test(test_part_lengths),
        cmocka_unit_test(test_format),           cmocka_unit_test(test_equality_copy_bare),
        cmocka_unit_test(test_prep_parts),       cmocka_unit_test(test_fast_path_matches_libidn),
        cmocka_unit_test(test_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
