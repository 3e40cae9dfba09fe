/* The module descriptor's merged parts (modules/registry.c): delivery
 * filters run in order, may replace or drop a stanza; stream handlers,
 * commands and migrations declared by the registered modules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>

#include "core/server.h"
#include "modules/adhoc.h"
#include "modules/module.h"
#include "xml/xml.h"

/* ---- delivery filters ---- */

struct trace {
    char seen[16]; /* one letter per filter run, in order */
    size_t n;
};

static void note(struct filter_ctx *c, char letter)
{
    struct trace *t = c->state;
    assert_true(t->n + 1 < sizeof t->seen);
    t->seen[t->n++] = letter;
}

static enum filter_result pass_a(struct filter_ctx *c)
{
    note(c, 'a');
    return FILTER_PASS;
}

/* Replaces the stanza with a marked copy. */
static enum filter_result copy_b(struct filter_ctx *c)
{
    note(c, 'b');
    struct stanza *copy = stanza_copy(c->st);
    assert_non_null(copy);
    assert_int_equal(xml_set_attr(copy, copy->root, "id", "changed"), 0);
    c->st = copy;
    return FILTER_PASS;
}

static enum filter_result drop_c(struct filter_ctx *c)
{
    note(c, 'c');
    return FILTER_DROP;
}

static enum filter_result pass_d(struct filter_ctx *c)
{
    note(c, 'd');
    return FILTER_PASS;
}

static const struct module m_a = {.name = "a", .deliver_filter = pass_a};
static const struct module m_b = {.name = "b", .deliver_filter = copy_b};
static const struct module m_c = {.name = "c", .deliver_filter = drop_c};
static const struct module m_d = {.name = "d", .deliver_filter = pass_d};
static const struct module m_none = {.name = "none"};

static struct stanza *message(void)
{
    struct stanza *st = stanza_new("message", "jabber:client");
    assert_non_null(st);
    assert_int_equal(xml_set_attr(st, st->root, "id", "orig"), 0);
    return st;
}

static void filters_run_in_order_and_pass(void **state)
{
    (void)state;
    struct trace t = {0};
    const struct module *mods[] = {&m_d, &m_none, &m_a};
    void *states[] = {&t, NULL, &t};
    struct stanza *st = message();
    struct stanza *out = modules_filter_list(mods, 3, states, NULL, NULL, st);
    assert_ptr_equal(out, st);
    assert_int_equal(st->refs, 2); /* the caller's and the one handed back */
    assert_string_equal(t.seen, "da");
    stanza_unref(out);
    assert_int_equal(st->refs, 1);
    stanza_unref(st);
}

static void filter_replaces_for_later_filters(void **state)
{
    (void)state;
    struct trace t = {0};
    const struct module *mods[] = {&m_a, &m_b, &m_d};
    void *states[] = {&t, &t, &t};
    struct stanza *st = message();
    struct stanza *out = modules_filter_list(mods, 3, states, NULL, NULL, st);
    assert_non_null(out);
    assert_ptr_not_equal(out, st);
    assert_string_equal(xml_attr(out->root, "id"), "changed");
    assert_string_equal(xml_attr(st->root, "id"), "orig"); /* shared one untouched */
    assert_int_equal(st->refs, 1);
    assert_int_equal(out->refs, 1);
    assert_string_equal(t.seen, "abd");
    stanza_unref(out);
    stanza_unref(st);
}

static void filter_drop_stops_the_rest(void **state)
{
    (void)state;
    struct trace t = {0};
    const struct module *mods[] = {&m_b, &m_c, &m_d};
    void *states[] = {&t, &t, &t};
    struct stanza *st = message();
    assert_null(modules_filter_list(mods, 3, states, NULL, NULL, st));
    assert_string_equal(t.seen, "bc"); /* d never saw it */
    assert_int_equal(st->refs, 1);     /* b's copy released, st given back */
    stanza_unref(st);
}

/* ---- what the registered modules declare ---- */

static void control_commands_from_descriptors(void **state)
{
    (void)state;
    const struct control_command *c = modules_control_command("retention-run");
    assert_non_null(c);
    assert_int_equal(c->min_args, 0);
    assert_non_null(modules_control_command("clock-offset"));
    assert_null(modules_control_command("kick")); /* the server's own table */
    assert_null(modules_control_command("no-such-command"));
}

/* Command nodes are unique over all modules (adhoc.c finds by node). */
static void adhoc_nodes_unique(void **state)
{
    (void)state;
    size_t n = 0;
    for (size_t i = 0; i < taube_nmodules; i++)
        for (size_t j = 0; j < taube_modules[i]->n_commands; j++, n++)
            for (size_t k = 0; k <= i; k++)
                for (size_t l = 0; l < taube_modules[k]->n_commands; l++)
                    if (!(k == i && l == j))
                        assert_string_not_equal(taube_modules[i]->commands[j].node,
                                                taube_modules[k]->commands[l].node);
    assert_true(n >= 6); /* the XEP-0133 subset and create-invite */
}

/* ---- stream-element handlers: registration before login ---- */

struct sent {
    int n;
    char type[16];
    bool form; /* the reply carries a jabber:iq:register query */
};

static void record_send(void *ud, const struct stanza *st)
{
    struct sent *s = ud;
    s->n++;
    snprintf(s->type, sizeof s->type, "%s", xml_attr(st->root, "type"));
    s->form = xml_child(st->root, "query", "jabber:iq:register") != NULL;
}

static struct stanza *iq(const char *type, const char *name, const char *ns)
{
    struct stanza *st = stanza_new("iq", "jabber:client");
    assert_non_null(st);
    assert_int_equal(xml_set_attr(st, st->root, "type", type), 0);
    assert_int_equal(xml_set_attr(st, st->root, "id", "r1"), 0);
    assert_non_null(xml_add_child(st, st->root, name, ns));
    return st;
}

static void stream_elements_go_to_their_module(void **state)
{
    (void)state;
    struct config cfg;
    struct config_schema schema;
    modules_config_schema(&schema);
    config_defaults(&cfg, &schema);
    struct server srv = {.cfg = &cfg};
    struct sent sent = {0};
    struct stream_ctx ctx = {.srv = &srv,
                             .domain = "example.org",
                             .peer = "192.0.2.1",
                             .send = record_send,
                             .send_ud = &sent};
    struct module_slots *slots = NULL;

    /* Not registration: nobody takes it, and no slots are made. */
    struct stanza *other = iq("get", "query", "jabber:iq:version");
    assert_int_equal(modules_stream_element(STREAM_PREAUTH, &ctx, &slots, other), -ENOENT);
    assert_null(slots);
    /* Registration is taken before login only. */
    struct stanza *get = iq("get", "query", "jabber:iq:register");
    assert_int_equal(modules_stream_element(STREAM_SESSION, &ctx, &slots, get), -ENOENT);
    assert_int_equal(sent.n, 0);
    assert_int_equal(modules_stream_element(STREAM_PREAUTH, &ctx, &slots, get), 0);
    assert_int_equal(sent.n, 1);
    assert_string_equal(sent.type, "result");
    assert_true(sent.form);
    assert_non_null(slots); /* register keeps its per-stream state there */
    modules_stream_closed(&srv, &slots);
    assert_null(slots);

    /* Its stream feature is offered before login, while enabled. */
    struct buf feat;
    buf_init(&feat, 1024);
    assert_int_equal(modules_preauth_features(&srv, &feat), 0);
    assert_non_null(memmem(feat.data, feat.len, "iq-register", 11));
    cfg.registration_enabled = false;
    buf_reset(&feat);
    assert_int_equal(modules_preauth_features(&srv, &feat), 0);
    assert_int_equal(feat.len, 0);
    buf_free(&feat);
    stanza_unref(other);
    stanza_unref(get);
    config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(filters_run_in_order_and_pass),
        cmocka_unit_test(filter_replaces_for_later_filters),
        cmocka_unit_test(filter_drop_stops_the_rest),
        cmocka_unit_test(control_commands_from_descriptors),
        cmocka_unit_test(adhoc_nodes_unique),
        cmocka_unit_test(stream_elements_go_to_their_module),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
