/* Unit tests: the router alone (xmpp/router.c) — where a JID is
 * (router_resolve), the RFC 6121 §8.5.2 choice for a bare JID
 * (router_deliver_bare), session slots, kicking an account, and the
 * delivery and counting functions modules use instead of walking lists.
 *
 * Sessions are carried by a fake transport that records what it is given;
 * the hooks stand in for the modules and the account service.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/config.h"
#include "core/server.h"
#include "xml/xml.h"
#include "xmpp/hosts.h"
#include "xmpp/ns.h"
#include "xmpp/router.h"

#define DOM "example.org"
#define COMP "bridge.example.org"

/* What the fake transport and hooks saw. */
struct seen {
    char log[1024];     /* "resource:kind/type " per delivery */
    size_t kicks;
    size_t undeliverable;
    size_t unbound_kicks;
};

static struct seen seen;
static struct router *rt; /* for the fake kick, which unbinds like c2s */

static int fake_deliver(struct session *s, struct stanza *st)
{
    const char *type = xml_attr(st->root, "type");
    size_t n = strlen(seen.log);
    snprintf(seen.log + n, sizeof seen.log - n, "%s:%s/%s ", s->jid.resource, st->root->name,
             type ? type : "-");
    return 0;
}

static int fake_on_flushed(struct session *s, void (*cb)(void *ud, int status), void *ud)
{
    (void)s, (void)cb, (void)ud;
    return -ENOTSUP;
}

static int fake_kick(struct session *s, enum stream_cond cond, const char *text)
{
    (void)cond, (void)text;
    seen.kicks++;
    router_unbind(rt, s);
    return 1;
}

static const struct session_ops fake_ops = {fake_deliver, fake_on_flushed, fake_kick};

static enum hook_result fake_run(enum hook_kind kind, struct hook_ctx *c)
{
    (void)c;
    if (kind != HOOK_UNDELIVERABLE)
        return HOOK_PASS;
    seen.undeliverable++;
    return HOOK_HANDLED;
}

static int fake_exists(struct server *srv, const char *domain, const char *user)
{
    (void)srv;
    return strcmp(domain, DOM) == 0 && (strcmp(user, "alice") == 0 || strcmp(user, "bob") == 0);
}

static const struct router_hooks fake_hooks = {fake_run, NULL, fake_exists};

static size_t fake_kick_unbound(struct server *srv, const char *domain, const char *user,
                                enum stream_cond cond, const char *text)
{
    (void)srv, (void)domain, (void)user, (void)cond, (void)text;
    return ++seen.unbound_kicks;
}

static const struct router_transport fake_transport = {fake_kick_unbound};

struct world {
    struct server srv;
    struct config cfg;
    char *domains[1];
};

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof *w);
    if (!w)
        return -1;
    w->domains[0] = (char *)DOM;
    w->cfg.domains = (struct strlist){w->domains, 1};
    w->srv.cfg = &w->cfg;
    w->srv.hosts = hosts_new();
    if (!w->srv.hosts || hosts_add(w->srv.hosts, DOM, HOST_LOCAL, NULL) < 0 ||
        hosts_add(w->srv.hosts, COMP, HOST_COMPONENT, "secret") < 0)
        return -1;
    w->srv.router = rt = router_new(&w->srv);
    if (!rt)
        return -1;
    router_set_hooks(rt, &fake_hooks);
    memset(&seen, 0, sizeof seen);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    struct world *w = *state;
    router_free(w->srv.router);
    hosts_free(w->srv.hosts);
    free(w);
    return 0;
}

static void parse(struct jid *j, const char *s) { assert_int_equal(jid_parse(j, s, strlen(s)), 0); }

/* A bound session for full with the given presence. */
static struct session *online(const char *full, bool available, int priority)
{
    struct jid j;
    parse(&j, full);
    struct session *s = router_session_new(rt, &j, &fake_ops, NULL);
    jid_free(&j);
    assert_non_null(s);
    s->available = available;
    s->priority = priority;
    struct session *old = NULL;
    assert_int_equal(router_bind(rt, s, &old), 0);
    assert_null(old);
    return s;
}

static enum route_kind resolve(const char *to, struct route *rt_out)
{
    struct jid j;
    parse(&j, to);
    enum route_kind k = router_resolve(rt, &j, rt_out);
    jid_free(&j);
    return k;
}

/* ---- router_resolve ---- */

static void test_resolve_kinds(void **state)
{
    (void)state;
    struct route r;
    assert_int_equal(resolve("elsewhere.example", &r), ROUTE_REMOTE);
    assert_int_equal(resolve("alice@elsewhere.example/x", &r), ROUTE_REMOTE);
    assert_int_equal(resolve(DOM, &r), ROUTE_SERVER);
    assert_int_equal(resolve("room@" COMP "/nick", &r), ROUTE_COMPONENT);
    assert_non_null(r.host);
    assert_string_equal(host_domain(r.host), COMP);
    assert_int_equal(resolve("nobody@" DOM, &r), ROUTE_NOBODY);
    assert_int_equal(resolve("nobody@" DOM "/r", &r), ROUTE_NOBODY);
    /* An existing account with no session. */
    assert_int_equal(resolve("alice@" DOM, &r), ROUTE_ACCOUNT);
    assert_int_equal(r.count, 0);
    struct session *a1 = online("alice@" DOM "/one", true, 0);
    online("alice@" DOM "/two", false, 0);
    assert_int_equal(resolve("alice@" DOM, &r), ROUTE_SESSIONS);
    assert_int_equal(r.count, 2);
    assert_int_equal(resolve("alice@" DOM "/one", &r), ROUTE_SESSION);
    assert_ptr_equal(r.session, a1);
    /* A resource that is not bound: the account, not a session. */
    assert_int_equal(resolve("alice@" DOM "/three", &r), ROUTE_ACCOUNT);
    assert_null(r.session);
    assert_int_equal(r.count, 2);
}

/* An account with a session exists even if the store says otherwise
 * (the store is not asked). */
static void test_resolve_session_without_store(void **state)
{
    (void)state;
    struct route r;
    online("carol@" DOM "/x", true, 0);
    assert_int_equal(resolve("carol@" DOM, &r), ROUTE_SESSIONS);
}

/* ---- router_deliver_bare (RFC 6121 §8.5.2) ---- */

static struct stanza *stanza_of(const char *name, const char *type, const char *from,
                                const char *to)
{
    struct stanza *st = stanza_new(name, NS_CLIENT);
    assert_non_null(st);
    if (type)
        assert_int_equal(xml_set_attr(st, st->root, "type", type), 0);
    assert_int_equal(xml_set_attr(st, st->root, "from", from), 0);
    assert_int_equal(xml_set_attr(st, st->root, "to", to), 0);
    return st;
}

static void deliver_bare(struct server *srv, const char *name, const char *type)
{
    struct jid from, to;
    parse(&from, "bob@" DOM "/b");
    parse(&to, "alice@" DOM);
    struct stanza *st = stanza_of(name, type, "bob@" DOM "/b", "alice@" DOM);
    struct hook_ctx hc = {srv, NULL, st, stanza_kind(st->root), &from, &to, false, NULL};
    seen.log[0] = '\0';
    router_deliver_bare(&hc);
    stanza_unref(st);
    jid_free(&from);
    jid_free(&to);
}

static void alice_four_ways(void)
{
    online("alice@" DOM "/hi1", true, 5);
    online("alice@" DOM "/hi2", true, 5);
    online("alice@" DOM "/lo", true, 1);
    online("alice@" DOM "/neg", true, -1);
    online("alice@" DOM "/away", false, 9); /* no initial presence */
}

static bool logged(const char *entry) { return strstr(seen.log, entry) != NULL; }

/* §8.5.2.1.1: chat and normal to the highest non-negative priority (each
 * resource that has it); never to a negative or unavailable one. */
static void test_bare_message_highest_priority(void **state)
{
    alice_four_ways();
    deliver_bare(&((struct world *)*state)->srv, "message", "chat");
    assert_true(logged("hi1:message/chat"));
    assert_true(logged("hi2:message/chat"));
    assert_false(logged("lo:"));
    assert_false(logged("neg:"));
    assert_false(logged("away:"));
    deliver_bare(&((struct world *)*state)->srv, "message", NULL);
    assert_true(logged("hi1:message/-") && logged("hi2:message/-") && !logged("lo:"));
    assert_int_equal(seen.undeliverable, 0);
}

/* Headline goes to every non-negative available resource; error is
 * dropped; presence reaches every available one, negative too. */
static void test_bare_headline_error_presence(void **state)
{
    struct server *srv = &((struct world *)*state)->srv;
    alice_four_ways();
    deliver_bare(srv, "message", "headline");
    assert_true(logged("hi1:") && logged("hi2:") && logged("lo:"));
    assert_false(logged("neg:") || logged("away:"));
    deliver_bare(srv, "message", "error");
    assert_string_equal(seen.log, "");
    deliver_bare(srv, "presence", NULL);
    assert_true(logged("hi1:presence") && logged("lo:presence") && logged("neg:presence"));
    assert_false(logged("away:"));
}

/* Only negative priorities: as if none were available (§8.5.2.1.1) —
 * chat goes to the undeliverable hooks (offline storage), headline is
 * dropped, presence still reaches the resource. */
static void test_bare_only_negative(void **state)
{
    struct server *srv = &((struct world *)*state)->srv;
    online("alice@" DOM "/neg", true, -5);
    deliver_bare(srv, "message", "chat");
    assert_string_equal(seen.log, "");
    assert_int_equal(seen.undeliverable, 1);
    deliver_bare(srv, "message", "headline");
    assert_int_equal(seen.undeliverable, 1);
    assert_string_equal(seen.log, "");
    deliver_bare(srv, "presence", "unavailable");
    assert_true(logged("neg:presence/unavailable"));
}

/* Groupchat to a bare JID bounces (§8.5.2.1.1): the sender, online, gets
 * service-unavailable; alice gets nothing. */
static void test_bare_groupchat_bounces(void **state)
{
    struct server *srv = &((struct world *)*state)->srv;
    online("alice@" DOM "/a", true, 0);
    online("bob@" DOM "/b", true, 0);
    deliver_bare(srv, "message", "groupchat");
    assert_string_equal(seen.log, "b:message/error ");
}

/* A component's domain goes to its handler; while none is attached, a
 * message bounces as if there were no such entity (RFC 6120 §10.5). */
static size_t component_got;

static int component_take(void *ud, struct stanza *st)
{
    (void)ud, (void)st;
    component_got++;
    return 0;
}

static void route_from_bob(struct server *srv, const char *to_s)
{
    struct jid from, to;
    parse(&from, "bob@" DOM "/b");
    parse(&to, to_s);
    struct stanza *st = stanza_of("message", "chat", "bob@" DOM "/b", to_s);
    router_route(srv, st, &from, &to, NULL);
    stanza_unref(st);
    jid_free(&from);
    jid_free(&to);
}

static void test_route_component(void **state)
{
    struct server *srv = &((struct world *)*state)->srv;
    online("bob@" DOM "/b", true, 0);
    component_got = 0;
    route_from_bob(srv, "room@" COMP);
    assert_int_equal(component_got, 0);
    assert_string_equal(seen.log, "b:message/error ");
    struct host *h = hosts_find(srv->hosts, COMP);
    assert_int_equal(host_attach(h, component_take, NULL), 0);
    seen.log[0] = '\0';
    route_from_bob(srv, "room@" COMP);
    assert_int_equal(component_got, 1);
    assert_string_equal(seen.log, "");
    host_detach(h, NULL);
}

/* ---- slots ---- */

static void test_slots(void **state)
{
    (void)state;
    size_t sizes[] = {0, 3, 40, 0, 8};
    assert_int_equal(router_set_slots(rt, sizes, 5), 0);
    struct session *a = online("alice@" DOM "/a", true, 0);
    struct session *b = online("alice@" DOM "/b", true, 0);
    assert_null(session_slot(a, 0));
    assert_null(session_slot(a, 3));
    assert_null(session_slot(a, 7)); /* beyond the registry: none */
    unsigned char *s1 = session_slot(a, 1), *s2 = session_slot(a, 2), *s4 = session_slot(a, 4);
    assert_non_null(s1);
    assert_non_null(s2);
    assert_non_null(s4);
    assert_int_equal((uintptr_t)s2 % alignof(max_align_t), 0);
    /* Zeroed, apart, writable to their full size (ASan checks the ends). */
    for (size_t i = 0; i < 40; i++)
        assert_int_equal(s2[i], 0);
    memset(s1, 1, 3);
    memset(s2, 2, 40);
    memset(s4, 4, 8);
    assert_int_equal(s1[2], 1);
    assert_int_equal(s2[0], 2);
    assert_int_equal(s2[39], 2);
    assert_int_equal(s4[0], 4);
    assert_ptr_not_equal(session_slot(b, 2), s2);
    assert_int_equal(((unsigned char *)session_slot(b, 2))[0], 0);
    size_t too_many[SESSION_MAX_SLOTS + 1] = {0};
    assert_int_equal(router_set_slots(rt, too_many, SESSION_MAX_SLOTS + 1), -EINVAL);
}

/* ---- counting, replacing, kicking ---- */

static void test_count_replace_last(void **state)
{
    (void)state;
    struct session *a = online("alice@" DOM "/a", true, 0);
    assert_true(router_is_last(rt, a));
    struct session *b = online("alice@" DOM "/b", true, 0);
    assert_int_equal(router_count(rt, "alice@" DOM), 2);
    assert_false(router_is_last(rt, a));
    /* Binding the same full JID replaces the old session. */
    struct jid j;
    parse(&j, "alice@" DOM "/b");
    struct session *b2 = router_session_new(rt, &j, &fake_ops, NULL), *old = NULL;
    jid_free(&j);
    assert_int_equal(router_bind(rt, b2, &old), 0);
    assert_ptr_equal(old, b);
    assert_int_equal(router_count(rt, "alice@" DOM), 2);
    assert_int_equal(router_session_count(rt), 2);
    assert_false(router_is_last(rt, b)); /* replaced: others remain */
    router_unbind(rt, b);                /* the replaced one goes */
    assert_int_equal(router_count(rt, "alice@" DOM), 2);
    router_unbind(rt, a);
    assert_true(router_is_last(rt, b2));
    router_unbind(rt, b2);
    assert_int_equal(router_count(rt, "alice@" DOM), 0);
    assert_int_equal(router_session_count(rt), 0);
}

static void test_kick_account(void **state)
{
    (void)state;
    assert_int_equal(router_add_transport(rt, &fake_transport), 0);
    online("alice@" DOM "/a", true, 0);
    online("alice@" DOM "/b", true, 0);
    online("alice@" DOM "/c", false, 0);
    online("bob@" DOM "/b", true, 0);
    /* Three bound sessions, plus what the transport held unbound. */
    assert_int_equal(router_kick_account(rt, DOM, "alice", STREAM_POLICY_VIOLATION, NULL), 4);
    assert_int_equal(seen.kicks, 3);
    assert_int_equal(router_count(rt, "alice@" DOM), 0);
    assert_int_equal(router_count(rt, "bob@" DOM), 1);
}

static void test_deliver_if(void **state)
{
    (void)state;
    online("alice@" DOM "/a", true, 0);
    online("alice@" DOM "/b", false, 0);
    struct stanza *st = stanza_of("iq", "set", DOM, "alice@" DOM);
    assert_int_equal(router_deliver_available(rt, "alice@" DOM, st), 1);
    assert_string_equal(seen.log, "a:iq/set ");
    assert_int_equal(router_deliver_available(rt, "nobody@" DOM, st), 0);
    stanza_unref(st);
}

static int unbind_all(void **state)
{
    struct world *w = *state;
    /* Kick every account left (the fake kick unbinds and frees). */
    router_kick_account(w->srv.router, DOM, "alice", STREAM_SYSTEM_SHUTDOWN, NULL);
    router_kick_account(w->srv.router, DOM, "bob", STREAM_SYSTEM_SHUTDOWN, NULL);
    router_kick_account(w->srv.router, DOM, "carol", STREAM_SYSTEM_SHUTDOWN, NULL);
    return teardown(state);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, unbind_all)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_resolve_kinds),
        T(test_resolve_session_without_store),
        T(test_bare_message_highest_priority),
        T(test_bare_headline_error_presence),
        T(test_bare_only_negative),
        T(test_bare_groupchat_bounces),
        T(test_route_component),
        T(test_slots),
        T(test_count_replace_last),
        T(test_kick_account),
        T(test_deliver_if),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
