/* Unit tests for the hosts table (xmpp/hosts.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "xmpp/hosts.h"

static int delivered;

static int take(void *ud, struct stanza *st)
{
    (void)st;
    delivered += *(int *)ud;
    return 0;
}

static void test_kinds_and_lookup(void **state)
{
    (void)state;
    struct hosts *t = hosts_new();
    assert_non_null(t);
    assert_int_equal(hosts_add(t, "example.org", HOST_LOCAL, NULL), 0);
    assert_int_equal(hosts_add(t, "bot.example.org", HOST_COMPONENT, "s3cret-s3cret-s3"), 0);
    assert_int_equal(hosts_add(t, "example.org", HOST_COMPONENT, "x"), -EEXIST);
    assert_int_equal(hosts_count(t), 2);
    struct host *h = hosts_find(t, "example.org");
    assert_non_null(h);
    assert_int_equal(host_kind(h), HOST_LOCAL);
    assert_null(host_secret(h));
    h = hosts_find(t, "bot.example.org");
    assert_int_equal(host_kind(h), HOST_COMPONENT);
    assert_string_equal(host_domain(h), "bot.example.org");
    assert_string_equal(host_secret(h), "s3cret-s3cret-s3");
    assert_null(hosts_find(t, "other.org"));
    assert_null(hosts_find(t, "Example.org")); /* callers pass prepared domains */
    assert_null(hosts_find(NULL, "example.org"));
    hosts_free(t);
}

static void test_attach_one_at_a_time(void **state)
{
    (void)state;
    struct hosts *t = hosts_new();
    assert_int_equal(hosts_add(t, "example.org", HOST_LOCAL, NULL), 0);
    assert_int_equal(hosts_add(t, "bot.example.org", HOST_COMPONENT, "s"), 0);
    struct host *local = hosts_find(t, "example.org"), *comp = hosts_find(t, "bot.example.org");
    int one = 1, ten = 10;
    assert_int_equal(host_attach(local, take, &one), -EINVAL);
    assert_int_equal(host_deliver(comp, NULL), -ENOTCONN);
    assert_false(host_attached(comp));
    assert_int_equal(host_attach(comp, take, &one), 0);
    assert_int_equal(host_attach(comp, take, &ten), -EBUSY);
    delivered = 0;
    assert_int_equal(host_deliver(comp, NULL), 0);
    assert_int_equal(delivered, 1);
    host_detach(comp, &ten); /* not the attached one: no effect */
    assert_true(host_attached(comp));
    host_detach(comp, &one);
    assert_false(host_attached(comp));
    host_detach(comp, &one);
    assert_int_equal(host_deliver(comp, NULL), -ENOTCONN);
    assert_int_equal(host_attach(comp, take, &ten), 0);
    assert_int_equal(host_deliver(comp, NULL), 0);
    assert_int_equal(delivered, 11);
    hosts_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kinds_and_lookup),
        cmocka_unit_test(test_attach_one_at_a_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
