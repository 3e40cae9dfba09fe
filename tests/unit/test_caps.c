/* Unit tests of the XEP-0115 verification string (src/modules/caps.c),
 * against the examples of XEP-0115 §5.2 and §5.3. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "modules/caps.h"

/* §5.2: one identity, features given unsorted (the example sorts them). */
static void test_simple_example(void **state)
{
    (void)state;
    const struct disco_identity ids[] = {{"client", "pc", NULL, "Exodus 0.9.1"}};
    const char *const features[] = {
        "http://jabber.org/protocol/muc",
        "http://jabber.org/protocol/disco#info",
        "http://jabber.org/protocol/caps",
        "http://jabber.org/protocol/disco#items",
    };
    char ver[CAPS_VER_LEN + 1];
    assert_int_equal(caps_ver_sha1(ids, 1, features, 4, NULL, 0, ver), 0);
    assert_string_equal(ver, "QgayPKawpkPSDYmwT/WM94uAlu0=");
}

/* §5.3: two identities with xml:lang, and a XEP-0128 form whose fields
 * and values are given out of order. */
static void test_complex_example(void **state)
{
    (void)state;
    const struct disco_identity ids[] = {
        {"client", "pc", "en", "Psi 0.11"},
        {"client", "pc", "el", "\xce\xa8 0.11"},
    };
    const char *const features[] = {
        "http://jabber.org/protocol/caps",
        "http://jabber.org/protocol/disco#info",
        "http://jabber.org/protocol/disco#items",
        "http://jabber.org/protocol/muc",
    };
    const char *const ipv[] = {"ipv6", "ipv4"};
    const char *const os[] = {"Mac"}, *const osv[] = {"10.5.1"};
    const char *const sw[] = {"Psi"}, *const swv[] = {"0.11"};
    const struct disco_field fields[] = {
        {"software_version", swv, 1}, {"os", os, 1},          {"ip_version", ipv, 2},
        {"software", sw, 1},          {"os_version", osv, 1},
    };
    const struct disco_form form = {"urn:xmpp:dataforms:softwareinfo", fields, 5};
    char ver[CAPS_VER_LEN + 1];
    assert_int_equal(caps_ver_sha1(ids, 2, features, 4, &form, 1, ver), 0);
    assert_string_equal(ver, "q07IKJEyjvHSyhy//CH0CxmKi8w=");
}

/* A change anywhere changes the string; missing required parts fail. */
static void test_sensitivity_and_errors(void **state)
{
    (void)state;
    const struct disco_identity ids[] = {{"server", "im", NULL, "Taube"}};
    const char *const f1[] = {"a", "b"}, *const f2[] = {"a", "c"};
    char v1[CAPS_VER_LEN + 1], v2[CAPS_VER_LEN + 1];
    assert_int_equal(caps_ver_sha1(ids, 1, f1, 2, NULL, 0, v1), 0);
    assert_int_equal(caps_ver_sha1(ids, 1, f2, 2, NULL, 0, v2), 0);
    assert_string_not_equal(v1, v2);
    const struct disco_identity bad[] = {{"server", NULL, NULL, NULL}};
    assert_int_equal(caps_ver_sha1(bad, 1, f1, 2, NULL, 0, v1), -EINVAL);
    const char *const fnull[] = {"a", NULL};
    assert_int_equal(caps_ver_sha1(ids, 1, fnull, 2, NULL, 0, v1), -EINVAL);
    /* an empty form field list still adds its FORM_TYPE */
    const struct disco_form empty = {"urn:x", NULL, 0};
    assert_int_equal(caps_ver_sha1(ids, 1, f1, 2, &empty, 1, v2), 0);
    assert_int_equal(caps_ver_sha1(ids, 1, f1, 2, NULL, 0, v1), 0);
    assert_string_not_equal(v1, v2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_example),
        cmocka_unit_test(test_complex_example),
        cmocka_unit_test(test_sensitivity_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
