/* Unit tests: the registry's ids, state sizes and session slots
 * (modules/registry.c, module_list.h, session_ctx). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "modules/module.h"
#include "modules/roster.h"
#include "xmpp/router.h"

extern const struct module mod_presence, mod_blocking, mod_ping;

/* module_state and session_ctx index by .id: each must be its place. */
static void test_ids_are_places(void **state)
{
    (void)state;
    assert_int_equal(taube_nmodules, MOD_COUNT);
    for (size_t i = 0; i < taube_nmodules; i++) {
        if ((size_t)taube_modules[i]->id != i)
            fail_msg("module %s: id %d at place %zu", taube_modules[i]->name,
                     (int)taube_modules[i]->id, i);
    }
    assert_ptr_equal(taube_modules[MOD_ID_roster], &mod_roster);
}

/* The slots the registry declares, as the router lays them out: each
 * module that declared one finds its own, apart from the others. */
static void test_session_ctx(void **state)
{
    (void)state;
    struct config cfg = {0};
    struct server srv = {.cfg = &cfg};
    srv.router = router_new(&srv);
    assert_non_null(srv.router);
    size_t sizes[MOD_COUNT];
    for (size_t i = 0; i < taube_nmodules; i++)
        sizes[i] = taube_modules[i]->session_size;
    assert_int_equal(router_set_slots(srv.router, sizes, taube_nmodules), 0);
    struct jid j;
    assert_int_equal(jid_parse(&j, "a@b/c", 5), 0);
    struct session *s = router_session_new(srv.router, &j, NULL, NULL);
    jid_free(&j);
    assert_non_null(s);
    void *p = session_ctx(s, &mod_presence), *b = session_ctx(s, &mod_blocking);
    void *r = session_ctx(s, &mod_roster);
    assert_non_null(p);
    assert_non_null(b);
    assert_non_null(r);
    assert_ptr_not_equal(p, b);
    assert_ptr_not_equal(b, r);
    assert_null(session_ctx(s, &mod_ping)); /* declared none */
    assert_false(roster_interested(s));
    ((struct roster_session *)r)->requested = true;
    assert_true(roster_interested(s));
    memset(p, 0xff, mod_presence.session_size);
    memset(b, 0xff, mod_blocking.session_size);
    assert_true(roster_interested(s));
    router_session_free(srv.router, s);
    router_free(srv.router);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids_are_places),
        cmocka_unit_test(test_session_ctx),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
