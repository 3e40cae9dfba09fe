/* The module registry: every feature, in the order hooks run. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "store/store.h"
#include "modules/caps.h"
#include "modules/module.h"
#include "modules/pie.h"
#include "xmpp/router.h"

extern const struct module mod_disco, mod_ping, mod_version, mod_time, mod_presence;
extern const struct module mod_blocking, mod_reports, mod_offline;
extern const struct module mod_roster;
extern const struct module mod_last, mod_vcard, mod_private;
extern const struct module mod_register;
extern const struct module mod_retention;
extern const struct module mod_adhoc, mod_admin, mod_member;
extern const struct module mod_sweep;

const struct module *const taube_modules[] = {
    &mod_disco,
    &mod_ping,
    &mod_version,
    &mod_time,
    /* blocking drops stanzas from blocked JIDs before any module below
     * (presence, subscriptions) sees them. */
    &mod_blocking,
    /* reports has no hooks: the block handler above hands it the reports
     * (XEP-0377); its erase runs before the account row goes, so that
     * kept reports can be detached from the reporter first. */
    &mod_reports,
    /* last and vcard watch the user's broadcast presence (the status of
     * an unavailable one; adding the avatar hash to an available one)
     * before the presence module handles and broadcasts it. */
    &mod_last,
    &mod_vcard,
    &mod_private,
    /* roster has no routing hooks; presence needs it (its state holds the
     * rosters of online accounts). */
    &mod_roster,
    /* presence after blocking: blocked presence never reaches it. */
    &mod_presence,
    /* offline has only the undeliverable hook: its place does not matter. */
    &mod_offline,
    /* register (XEP-0077 after login; before login c2s calls it directly)
     * has iq handlers only. */
    &mod_register,
    /* adhoc has iq handlers and a session event only: its place does not
     * matter. */
    &mod_adhoc,
    /* admin and member have ad-hoc commands only (XEP-0133 and registration
     * codes; a member's own export and access report). */
    &mod_admin,
    &mod_member,
    /* retention has no hooks: the data contract, its sweep the inactive
     * accounts. */
    &mod_retention,
    /* sweep: the daily scheduler of every module's sweep. */
    &mod_sweep,
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

int modules_init(struct server *srv)
{
    for (size_t i = 0; i < taube_nmodules; i++) {
        const struct module *m = taube_modules[i];
        if (m->init && m->init(srv, &srv->mod_state[i]) < 0) {
            log_error("module %s failed to start", m->name);
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

int modules_delete_account(const struct data_ctx *d, const char *domain, const char *user)
{
    int rc = store_account_exists_sync(d->store, domain, user);
    if (rc <= 0)
        return rc == 0 ? -ENOENT : rc;
    for (size_t i = 0; i < taube_nmodules; i++) {
        const struct module *m = taube_modules[i];
        if (m->erase && (rc = m->erase(d, domain, user)) < 0) {
            log_error("deleting an account: module %s could not erase its data", m->name);
            return rc;
        }
    }
    return store_account_delete_sync(d->store, domain, user);
}

int modules_export_account(const struct data_ctx *d, const char *domain, const char *user,
                           struct buf *out)
{
    size_t mark = out->len;
    int rc = pie_user_open(d->store, domain, user, out);
    for (size_t i = 0; rc == 0 && i < taube_nmodules; i++) {
        const struct module *m = taube_modules[i];
        size_t before = out->len;
        if (m->export_xml && (rc = m->export_xml(d, domain, user, out)) < 0) {
            if (rc != -ENOBUFS) /* out's limit: the caller's to tell */
                log_error("exporting an account: module %s could not export its data", m->name);
        } else if (out->len > before) /* one line per module: readable, and split by lines */
            rc = buf_append_str(out, "\n");
    }
    if (rc == 0)
        rc = buf_append_str(out, "</user>");
    if (rc < 0 && out->data) {
        out->len = mark;
        out->data[mark] = '\0';
    }
    return rc;
}

int modules_describe_account(const struct data_ctx *d, const char *domain, const char *user,
                             data_fact_fn fn, void *ud)
{
    int rc = store_account_exists_sync(d->store, domain, user);
    if (rc <= 0)
        return rc == 0 ? -ENOENT : rc;
    for (size_t i = 0; i < taube_nmodules; i++) {
        const struct module *m = taube_modules[i];
        if (m->describe && (rc = m->describe(d, domain, user, fn, ud)) < 0) {
            log_error("describing an account: module %s could not describe its data", m->name);
            return rc;
        }
    }
    return 0;
}

int modules_sweep(const struct data_ctx *d)
{
    int first = 0;
    for (size_t i = 0; i < taube_nmodules; i++) {
        const struct module *m = taube_modules[i];
        int rc = m->sweep ? m->sweep(d) : 0;
        if (rc < 0) {
            log_error("retention: module %s could not delete its expired data", m->name);
            first = first ? first : rc;
        }
    }
    return first;
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

int modules_stream_element(unsigned phase, const struct stream_ctx *c,
                           struct module_slots **slots, const struct stanza *st)
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

struct stanza *modules_filter_list(const struct module *const *mods, size_t n,
                                   void *const *states, struct server *srv, struct session *s,
                                   struct stanza *st)
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

void iq_reply(const struct iq_request *rq, struct stanza *result)
{
    router_send(rq->srv, result);
}

void iq_reply_error(const struct iq_request *rq, enum stanza_cond c, const char *text)
{
    router_error(rq->srv, rq->st, c, text);
}
