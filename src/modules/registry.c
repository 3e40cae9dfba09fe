/* The module registry: every feature, in the order hooks run
 * (modules/module_list.h), their states, session slots and data
 * contracts. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "store/store.h"
#include "modules/caps.h"
#include "modules/module.h"
#include "xmpp/router.h"

#define MODULE(name) extern const struct module mod_##name;
#include "modules/module_list.h"
#undef MODULE

const struct module *const taube_modules[] = {
#define MODULE(name) &mod_##name,
#include "modules/module_list.h"
#undef MODULE
};
const size_t taube_nmodules = sizeof taube_modules / sizeof taube_modules[0];

_Static_assert(sizeof taube_modules / sizeof taube_modules[0] <= SERVER_MAX_MODULES,
               "raise SERVER_MAX_MODULES");
_Static_assert(sizeof taube_modules / sizeof taube_modules[0] < CONFIG_MAX_TABLES,
               "raise CONFIG_MAX_TABLES");

void modules_config_schema(struct config_schema *s)
{
    config_schema_core(s);
    for (size_t i = 0; i < taube_nmodules; i++)
        if (taube_modules[i]->config)
            (void)config_schema_add(s, taube_modules[i]->config); /* fits: asserted above */
}

_Static_assert(sizeof taube_modules / sizeof taube_modules[0] < STORE_MAX_PARTS,
               "raise STORE_MAX_PARTS");

void modules_store_schema(struct store_schema *s)
{
    store_schema_core(s);
    for (size_t i = 0; i < taube_nmodules; i++)
        if (taube_modules[i]->migrations)
            (void)store_schema_add(s, taube_modules[i]->migrations); /* fits: asserted above */
}

_Static_assert(MOD_COUNT == sizeof taube_modules / sizeof taube_modules[0], "module ids");
_Static_assert(MOD_COUNT <= SESSION_MAX_SLOTS, "raise SESSION_MAX_SLOTS");

static int route_iq(struct hook_ctx *c, unsigned target)
{
    return modules_dispatch_iq(c->srv, c->st, c->from, c->to, target, c->origin);
}

/* What the router asks of the modules and the account service. */
static const struct router_hooks hooks = {
    .run = modules_run_hooks,
    .iq = route_iq,
    .account_exists = account_exists_live,
};

/* Each module's id must be its place: module_state and session_ctx index
 * by it. A descriptor without its .id is a broken build. */
static int check_ids(void)
{
    for (size_t i = 0; i < taube_nmodules; i++) {
        if ((size_t)taube_modules[i]->id != i) {
            log_error("module %s: .id is %d, its place in module_list.h is %zu",
                      taube_modules[i]->name, (int)taube_modules[i]->id, i);
            return -EINVAL;
        }
    }
    return 0;
}

static int init_one(struct server *srv, size_t i)
{
    const struct module *m = taube_modules[i];
    if (m->state_size && !(srv->mod_state[i] = calloc(1, m->state_size)))
        return -ENOMEM;
    if (m->init && m->init(srv, srv->mod_state[i]) < 0) {
        free(srv->mod_state[i]);
        srv->mod_state[i] = NULL;
        return -EINVAL;
    }
    return 0;
}

int modules_init(struct server *srv)
{
    size_t sizes[MOD_COUNT];
    for (size_t i = 0; i < taube_nmodules; i++)
        sizes[i] = taube_modules[i]->session_size;
    if (check_ids() < 0 || router_set_slots(srv->router, sizes, taube_nmodules) < 0)
        return -EINVAL;
    router_set_hooks(srv->router, &hooks);
    for (size_t i = 0; i < taube_nmodules; i++) {
        if (init_one(srv, i) < 0) {
            log_error("module %s failed to start", taube_modules[i]->name);
            return -EINVAL;
        }
        srv->modules_started = i + 1;
    }
    return 0;
}

/* Only the modules whose init succeeded are finied (start-up may stop
 * before any module started: a bad store or TLS setting). */
void modules_fini(struct server *srv)
{
    for (size_t i = srv->modules_started; i-- > 0;) {
        const struct module *m = taube_modules[i];
        if (m->fini)
            m->fini(srv, srv->mod_state[i]);
        free(srv->mod_state[i]);
        srv->mod_state[i] = NULL;
    }
    srv->modules_started = 0;
}

int modules_dispatch_iq(struct server *srv, const struct stanza *st, const struct jid *from,
                        const struct jid *to, unsigned target, struct session *origin)
{
    const struct xml_node *payload = xml_first_elem(st->root);
    const char *type = xml_attr(st->root, "type");
    if (!payload || !type)
        return -ENOENT;
    int t = strcmp(type, "get") == 0 ? IQ_GET : IQ_SET;
    for (size_t i = 0; i < taube_nmodules; i++) {
        const struct module *m = taube_modules[i];
        for (size_t j = 0; j < m->n_iq; j++) {
            const struct iq_handler *h = &m->iq[j];
            if (!(h->types & t) || !(h->targets & target) || strcmp(h->ns, payload->ns) != 0 ||
                strcmp(h->name, payload->name) != 0)
                continue;
            struct iq_request rq = {srv, srv->mod_state[i], st, payload, from, to, t, origin};
            h->handle(&rq);
            return 0;
        }
    }
    return -ENOENT;
}

static void data_part(size_t i, struct data_contract *out)
{
    const struct module *m = taube_modules[i];
    *out = (struct data_contract){m->name, m->describe, m->export_xml, m->erase, m->sweep};
}

const struct data_parts modules_data_parts = {MOD_COUNT, data_part};

struct data_ctx modules_data_ctx(struct server *srv)
{
    return (struct data_ctx){srv->store, srv->cfg, server_now(srv), srv, &modules_data_parts, NULL};
}

enum hook_result modules_run_hooks(enum hook_kind kind, struct hook_ctx *c)
{
    for (size_t i = 0; i < taube_nmodules; i++) {
        const struct module *m = taube_modules[i];
        enum hook_result (*fn)(struct hook_ctx *) = kind == HOOK_OUTBOUND  ? m->outbound
                                                    : kind == HOOK_INBOUND ? m->inbound
                                                                           : m->undeliverable;
        if (!fn)
            continue;
        c->state = c->srv->mod_state[i];
        if (fn(c) == HOOK_HANDLED)
            return HOOK_HANDLED;
    }
    return HOOK_PASS;
}

void modules_session_event(struct server *srv, struct session *s, enum session_event ev)
{
    for (size_t i = 0; i < taube_nmodules; i++)
        if (taube_modules[i]->session_event)
            taube_modules[i]->session_event(srv, srv->mod_state[i], s, ev);
}

int modules_stream_features(struct server *srv, struct buf *out)
{
    for (size_t i = 0; i < taube_nmodules; i++) {
        const struct module *m = taube_modules[i];
        int rc = m->stream_features ? m->stream_features(srv, srv->mod_state[i], out) : 0;
        if (rc < 0)
            return rc;
    }
    return 0;
}

void modules_features(void (*fn)(void *ud, const char *feature), void *ud)
{
    for (size_t i = 0; i < taube_nmodules; i++) {
        const struct module *m = taube_modules[i];
        for (size_t j = 0; j < m->n_iq; j++)
            if (m->iq[j].feature && (m->iq[j].targets & IQ_TO_SERVER))
                fn(ud, m->iq[j].feature);
        for (const char *const *f = m->features; f && *f; f++)
            fn(ud, *f);
    }
}

void modules_account_features(void (*fn)(void *ud, const char *feature), void *ud)
{
    for (size_t i = 0; i < taube_nmodules; i++) {
        const struct module *m = taube_modules[i];
        for (size_t j = 0; j < m->n_iq; j++)
            if (m->iq[j].feature && (m->iq[j].targets & IQ_TO_ACCOUNT))
                fn(ud, m->iq[j].feature);
        for (const char *const *f = m->account_features; f && *f; f++)
            fn(ud, *f);
    }
}

/* ---- descriptor v2 ---- */

void modules_account_identities(void (*fn)(void *ud, const struct disco_identity *id), void *ud)
{
    for (size_t i = 0; i < taube_nmodules; i++)
        for (size_t j = 0; j < taube_modules[i]->n_account_identities; j++)
            fn(ud, &taube_modules[i]->account_identities[j]);
}

/* One pointer per registered module; made when a handler first takes an
 * element on the stream. */
struct module_slots {
    size_t n;  /* taube_nmodules */
    void *p[];
};

int modules_preauth_features(struct server *srv, struct buf *out)
{
    for (size_t i = 0; i < taube_nmodules; i++) {
        const struct module *m = taube_modules[i];
        int rc = m->preauth_features ? m->preauth_features(srv, srv->mod_state[i], out) : 0;
        if (rc < 0)
            return rc;
    }
    return 0;
}

static bool stream_takes(const struct stream_handler *h, unsigned phase, const struct xml_node *r)
{
    return (h->phases & phase) && strcmp(h->ns, r->ns) == 0 &&
           (!h->name || strcmp(h->name, r->name) == 0) && (!h->wants || h->wants(r));
}

int modules_stream_element(unsigned phase, const struct stream_ctx *c, struct module_slots **slots,
                           const struct stanza *st)
{
    for (size_t i = 0; i < taube_nmodules; i++) {
        const struct module *m = taube_modules[i];
        for (size_t j = 0; j < m->n_stream; j++) {
            if (!stream_takes(&m->stream[j], phase, st->root))
                continue;
            if (!*slots) {
                *slots = calloc(1, sizeof **slots + taube_nmodules * sizeof(void *));
                if (!*slots)
                    return -ENOMEM;
                (*slots)->n = taube_nmodules;
            }
            struct stream_ctx mc = *c;
            mc.state = c->srv->mod_state[i];
            mc.slot = &(*slots)->p[i];
            return m->stream[j].handle(&mc, st);
        }
    }
    return -ENOENT;
}

void modules_stream_closed(struct server *srv, struct module_slots **slots)
{
    if (!*slots)
        return;
    for (size_t i = 0; i < (*slots)->n; i++)
        if ((*slots)->p[i] && taube_modules[i]->stream_closed)
            taube_modules[i]->stream_closed(srv, srv->mod_state[i], (*slots)->p[i]);
    free(*slots);
    *slots = NULL;
}

struct stanza *modules_filter_list(const struct module *const *mods, size_t n, void *const *states,
                                   struct server *srv, struct session *s, struct stanza *st)
{
    struct filter_ctx c = {srv, NULL, s, stanza_ref(st)};
    for (size_t i = 0; i < n; i++) {
        enum filter_result (*fn)(struct filter_ctx *) = mods[i]->deliver_filter;
        if (!fn)
            continue;
        struct stanza *before = c.st;
        c.state = states[i];
        enum filter_result r = fn(&c);
        if (c.st != before)
            stanza_unref(before);
        if (r == FILTER_DROP) {
            stanza_unref(c.st);
            return NULL;
        }
    }
    return c.st;
}

struct stanza *modules_filter_delivery(struct server *srv, struct session *s, struct stanza *st)
{
    return modules_filter_list(taube_modules, taube_nmodules, srv->mod_state, srv, s, st);
}

const struct control_command *modules_control_command(const char *name)
{
    for (size_t i = 0; i < taube_nmodules; i++)
        for (size_t j = 0; j < taube_modules[i]->n_control; j++)
            if (strcmp(taube_modules[i]->control[j].name, name) == 0)
                return &taube_modules[i]->control[j];
    return NULL;
}

void iq_reply(const struct iq_request *rq, struct stanza *result) { router_send(rq->srv, result); }

void iq_reply_error(const struct iq_request *rq, enum stanza_cond c, const char *text)
{
    router_error(rq->srv, rq->st, c, text);
}
