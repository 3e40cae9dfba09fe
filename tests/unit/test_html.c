/* Unit tests of the web pages' helpers (src/http/html.c): escaping,
 * form and query decoding, UTF-8 validation; and of invite_web_url
 * (the address of an invite's page). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http/html.h"
#include "modules/invite.h"

static void test_escaping(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(html_str(&b, "a<b>&\"c'd"), 0);
    assert_int_equal(html_text(&b, "x&y", 1), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    assert_string_equal(b.data, "a&lt;b&gt;&amp;&quot;c&#39;dx");
    buf_free(&b);
}

static int value(const char *body, const char *name, char *out, size_t n)
{
    return html_form_value(body, strlen(body), name, out, n);
}

static void test_form_values(void **state)
{
    (void)state;
    char v[32];
    const char *body = "username=ann+b&password=a%20b%2Bc%26&consent=1&empty=&flag";
    assert_int_equal(value(body, "username", v, sizeof v), 5);
    assert_string_equal(v, "ann b");
    assert_int_equal(value(body, "password", v, sizeof v), 6);
    assert_string_equal(v, "a b+c&");
    assert_int_equal(value(body, "consent", v, sizeof v), 1);
    assert_int_equal(value(body, "empty", v, sizeof v), 0);
    assert_string_equal(v, "");
    assert_int_equal(value(body, "flag", v, sizeof v), 0);
    assert_int_equal(value(body, "user", v, sizeof v), -ENOENT);
    assert_int_equal(value(body, "name", v, sizeof v), -ENOENT);
    /* The first of repeated names. */
    assert_int_equal(value("a=1&a=2", "a", v, sizeof v), 1);
    assert_string_equal(v, "1");
    /* UTF-8 through %-escapes. */
    assert_int_equal(value("n=%C3%A4", "n", v, sizeof v), 2);
    assert_string_equal(v, "\xc3\xa4");
}

static void test_form_refusals(void **state)
{
    (void)state;
    char v[8];
    assert_int_equal(value("n=%ff%fe", "n", v, sizeof v), -EINVAL); /* not UTF-8 */
    assert_int_equal(value("n=a%00b", "n", v, sizeof v), -EINVAL);  /* a NUL */
    assert_int_equal(value("n=%4", "n", v, sizeof v), -EINVAL);     /* cut escape */
    assert_int_equal(value("n=%zz", "n", v, sizeof v), -EINVAL);
    assert_int_equal(value("n=%", "n", v, sizeof v), -EINVAL);
    assert_int_equal(value("n=12345678", "n", v, sizeof v), -E2BIG);
    assert_int_equal(value("n=1234567", "n", v, sizeof v), 7);
    assert_int_equal(value("n=%C0%80", "n", v, sizeof v), -EINVAL); /* overlong NUL */
}

static void test_utf8(void **state)
{
    (void)state;
    assert_true(html_utf8_valid("", 0));
    assert_true(html_utf8_valid("f\xc3\xa4\xc3\x9f \xe2\x82\xac \xf0\x9f\x90\xa6", 14));
    assert_false(html_utf8_valid("\xc3", 1));                 /* cut */
    assert_false(html_utf8_valid("\xe0\x80\xaf", 3));         /* overlong */
    assert_false(html_utf8_valid("\xed\xa0\x80", 3));         /* surrogate */
    assert_false(html_utf8_valid("\xf4\x90\x80\x80", 4));     /* past U+10FFFF */
    assert_false(html_utf8_valid("\x80", 1));
    assert_false(html_utf8_valid("\xff", 1));
}

static void test_web_url(void **state)
{
    (void)state;
    struct config c = {0};
    char empty[] = "", pub[] = "https://chat.example.org/xmpp//";
    struct buf b;
    buf_init(&b, 0);
    c.https_port = 5443;
    c.http_public_url = empty;
    assert_int_equal(invite_web_url(&c, "example.org", "/invite/X", &b), 0);
    assert_string_equal(b.data, "https://example.org:5443/invite/X");
    buf_reset(&b);
    c.https_port = 443;
    assert_int_equal(invite_web_url(&c, "example.org", "/policy", &b), 0);
    assert_string_equal(b.data, "https://example.org/policy");
    buf_reset(&b);
    c.http_public_url = pub;
    assert_int_equal(invite_web_url(&c, "example.org", "/policy", &b), 0);
    assert_string_equal(b.data, "https://chat.example.org/xmpp/policy");
    buf_reset(&b);
    c.http_public_url = empty;
    c.https_port = 0;
    assert_int_equal(invite_web_url(&c, "example.org", "/policy", &b), -ENOENT);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escaping),      cmocka_unit_test(test_form_values),
        cmocka_unit_test(test_form_refusals), cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_web_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
