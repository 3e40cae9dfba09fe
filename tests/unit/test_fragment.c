/* Unit tests of fragment_parse (src/modules/fragment.c): stored elements
 * back into trees, and refusal of anything but one well-formed element. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "modules/fragment.h"

static struct stanza *parse(const char *s) { return fragment_parse(s, strlen(s), 8); }

static void test_round_trip(void **state)
{
    (void)state;
    const char *in = "<vCard xmlns='vcard-temp'><FN>A &amp; B</FN><N><GIVEN>A</GIVEN></N></vCard>";
    struct stanza *st = parse(in);
    assert_non_null(st);
    assert_string_equal(st->root->name, "vCard");
    assert_string_equal(st->root->ns, "vcard-temp");
    struct xml_node *fn = xml_child(st->root, "FN", "vcard-temp");
    assert_non_null(fn);
    assert_string_equal(xml_text(st, fn), "A & B");
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(xml_serialize(st->root, "", &b), 0);
    assert_string_equal(b.data, in);
    buf_free(&b);
    stanza_unref(st);
    /* small elements too (the header's declarations count against the limit) */
    st = parse("<a xmlns='x'/>");
    assert_non_null(st);
    stanza_unref(st);
}

static void test_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "<a xmlns='x'>",
        "<a xmlns='x'/><b/>",
        "<a xmlns='x'/>junk",
        "text",
        "<!DOCTYPE a><a/>",
        "<a xmlns='x'><!-- c --></a>",
        "<a><b><c><d><e><f><g><h><i><j>x</j></i></h></g></f></e></d></c></b></a>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct stanza *st = parse(bad[i]);
        if (st)
            fail_msg("accepted: %s", bad[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
