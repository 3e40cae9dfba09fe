/* hmap, stanza and stream error helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/hmap.h"
#include "xmpp/ns.h"
#include "xmpp/stanza.h"

static void hmap_many_keys(void **state)
{
    (void)state;
    struct hmap m;
    hmap_init(&m);
    enum { N = 5000 };
    static char keys[N][24];
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "user%d@x", i);
        assert_int_equal(hmap_put(&m, keys[i], &keys[i]), 0);
    }
    assert_int_equal(m.live, N);
    for (int i = 0; i < N; i++)
        assert_ptr_equal(hmap_get(&m, keys[i]), &keys[i]);
    assert_null(hmap_get(&m, "nobody@x"));
    /* delete every other key; the rest stay reachable across tombstones */
    for (int i = 0; i < N; i += 2)
        assert_ptr_equal(hmap_del(&m, keys[i]), &keys[i]);
    assert_null(hmap_del(&m, keys[0]));
    for (int i = 0; i < N; i++)
        assert_ptr_equal(hmap_get(&m, keys[i]), i % 2 ? (void *)&keys[i] : NULL);
    size_t seen = 0;
    const char *k;
    void *v;
    for (size_t i = 0; (i = hmap_next(&m, i, &k, &v)) != 0;) {
        assert_string_equal(k, (char *)v);
        seen++;
    }
    assert_int_equal(seen, N / 2);
    /* replacing keeps one entry */
    assert_int_equal(hmap_put(&m, keys[1], NULL), 0);
    assert_int_equal(m.live, N / 2);
    hmap_free(&m);
}

static char *serialize(const struct stanza *st)
{
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(xml_serialize(st->root, NS_CLIENT, &b), 0);
    return b.data;
}

static void error_reply_swaps_and_names_condition(void **state)
{
    (void)state;
    struct stanza *iq = stanza_new("iq", NS_CLIENT);
    xml_set_attr(iq, iq->root, "id", "q1");
    xml_set_attr(iq, iq->root, "type", "get");
    xml_set_attr(iq, iq->root, "from", "a@x/r");
    xml_set_attr(iq, iq->root, "to", "x");
    struct stanza *err = stanza_error_reply(iq, SC_SERVICE_UNAVAILABLE, NULL);
    assert_non_null(err);
    char *s = serialize(err);
    assert_string_equal(s, "<iq id='q1' to='a@x/r' from='x' type='error'><error type='cancel'>"
                           "<service-unavailable xmlns='" NS_STANZA_ERRORS "'/></error></iq>");
    free(s);
    /* errors are never answered with errors */
    assert_null(stanza_error_reply(err, SC_BAD_REQUEST, NULL));
    stanza_unref(err);

    err = stanza_error_reply(iq, SC_JID_MALFORMED, "bad <jid>");
    s = serialize(err);
    assert_non_null(strstr(s, "<error type='modify'><jid-malformed"));
    assert_non_null(strstr(s, ">bad &lt;jid&gt;</text>"));
    free(s);
    stanza_unref(err);
    stanza_unref(iq);
}

static void every_condition_has_a_name(void **state)
{
    (void)state;
    for (int c = SC_BAD_REQUEST; c <= SC_UNEXPECTED_REQUEST; c++)
        assert_non_null(stanza_cond_name((enum stanza_cond)c));
    for (int c = STREAM_BAD_FORMAT; c <= STREAM_UNSUPPORTED_VERSION; c++)
        assert_non_null(stream_cond_name((enum stream_cond)c));
    assert_string_equal(stanza_cond_name(SC_UNEXPECTED_REQUEST), "unexpected-request");
    assert_string_equal(stream_cond_name(STREAM_UNSUPPORTED_VERSION), "unsupported-version");
}

static void stream_error_text_is_escaped(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(stream_error_write(&b, STREAM_POLICY_VIOLATION, "a<b"), 0);
    assert_string_equal(b.data, "<stream:error><policy-violation xmlns='" NS_STREAM_ERRORS "'/>"
                                "<text xmlns='" NS_STREAM_ERRORS "' xml:lang='en'>a&lt;b</text>"
                                "</stream:error></stream:stream>");
    buf_free(&b);
}

static void stanza_kinds(void **state)
{
    (void)state;
    struct stanza *m = stanza_new("message", NS_CLIENT);
    struct stanza *p = stanza_new("presence", NS_SERVER);
    struct stanza *o = stanza_new("message", "urn:other");
    assert_int_equal(stanza_kind(m->root), STANZA_MESSAGE);
    assert_int_equal(stanza_kind(p->root), STANZA_PRESENCE);
    assert_int_equal(stanza_kind(o->root), STANZA_OTHER);
    stanza_unref(m);
    stanza_unref(p);
    stanza_unref(o);
}

/* An iq of type, with id or not, and n children. */
static struct stanza *iq_of(const char *type, bool id, int n)
{
    struct stanza *st = stanza_new("iq", NS_CLIENT);
    assert_non_null(st);
    if (type)
        assert_int_equal(xml_set_attr(st, st->root, "type", type), 0);
    if (id)
        assert_int_equal(xml_set_attr(st, st->root, "id", "i1"), 0);
    for (int i = 0; i < n; i++)
        assert_non_null(xml_add_child(st, st->root, "query", "urn:x"));
    return st;
}

static void iq_validity(void **state)
{
    (void)state;
    static const struct {
        const char *type;
        bool id;
        int children;
        bool valid;
    } cases[] = {
        {"get", true, 1, true},    {"set", true, 1, true},    {"get", true, 0, false},
        {"set", true, 2, false},   {"get", false, 1, false},  {NULL, true, 1, false},
        {"result", true, 0, true}, {"result", true, 1, true}, {"result", true, 2, false},
        {"error", true, 2, true},  {"chat", true, 1, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct stanza *st = iq_of(cases[i].type, cases[i].id, cases[i].children);
        if (stanza_iq_valid(st->root) != cases[i].valid)
            fail_msg("case %zu: type %s id %d children %d", i,
                     cases[i].type ? cases[i].type : "(none)", cases[i].id, cases[i].children);
        stanza_unref(st);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hmap_many_keys),
        cmocka_unit_test(error_reply_swaps_and_names_condition),
        cmocka_unit_test(every_condition_has_a_name),
        cmocka_unit_test(stream_error_text_is_escaped),
        cmocka_unit_test(stanza_kinds),
        cmocka_unit_test(iq_validity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
