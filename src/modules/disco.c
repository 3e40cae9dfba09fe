/* Service discovery (XEP-0030) for the server and its accounts, with the
 * server's entity capabilities (XEP-0115) and contact addresses
 * (XEP-0157).
 *
 * The server's disco#info answer is fixed at start-up: its identity, the
 * features every module's handlers advertise (modules_features, sorted and
 * without duplicates) and, if the operator set any contact.* address, the
 * serverinfo form. The caps ver is computed once from that same
 * description, offered in the stream features and answered at NODE#VER.
 *
 * An account's bare JID answers disco#info (the account identities the
 * module descriptors declare — account/registered from this one — the
 * features of the handlers with target IQ_TO_ACCOUNT and the descriptors'
 * account_features, also fixed at start-up) only to the account and to contacts who may see its
 * presence; everyone else gets service-unavailable, as for an account
 * that does not exist (§8). The account asks its own bare JID by sending
 * the query without 'to' (RFC 6120 §10.3.3). Its disco#items is empty
 * (nothing is published per account yet).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "modules/adhoc.h"
#include "modules/caps.h"
#include "modules/module.h"
#include "modules/visibility.h"
#include "store/store.h"
#include "xmpp/ns.h"

#define NS_CAPS "http://jabber.org/protocol/caps"
#define NS_DATA "jabber:x:data"
/* XEP-0115 §4: a URI naming the software. The project has no web site of
 * its own yet, so a URN in the project's own urn:taube: space (as the
 * ad-hoc command nodes use) rather than a URL someone else could own. */
#define CAPS_NODE "urn:taube:caps"
#define SERVERINFO "http://jabber.org/network/serverinfo"
#define MAX_FEATURES 256
#define MAX_IDENTITIES 16

/* XEP-0157 §7.1 fields, in the order of the registry. */
#define N_CONTACT 7

struct disco_state {
    struct disco_identity id;
    const char *features[MAX_FEATURES]; /* static strings from module tables */
    size_t nfeatures;
    const char *account_features[MAX_FEATURES]; /* at an account's bare JID */
    size_t naccount_features;
    const struct disco_identity *account_ids[MAX_IDENTITIES]; /* from module descriptors */
    size_t naccount_ids;
    struct disco_field fields[N_CONTACT];
    struct disco_form form;
    size_t nforms; /* 0 or 1 */
    char ver[CAPS_VER_LEN + 1];
    char node_ver[sizeof CAPS_NODE + CAPS_VER_LEN + 1]; /* NODE#VER */
};

/* ---- start-up: the fixed description ---- */

struct collect {
    const char **features;
    size_t *n;
    int err;
};

static void collect_feature(void *ud, const char *feature)
{
    struct collect *c = ud;
    if (*c->n == MAX_FEATURES)
        c->err = -E2BIG;
    else
        c->features[(*c->n)++] = feature;
}

static int cmp_feature(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted, each once: a duplicate would make the caps ver unverifiable
 * (XEP-0115 §5.4). */
static int collect_features(void (*list)(void (*fn)(void *, const char *), void *),
                            const char **features, size_t *n)
{
    struct collect c = {features, n, 0};
    list(collect_feature, &c);
    if (c.err)
        return c.err;
    qsort(features, *n, sizeof features[0], cmp_feature);
    size_t k = 0;
    for (size_t i = 0; i < *n; i++)
        if (k == 0 || strcmp(features[k - 1], features[i]) != 0)
            features[k++] = features[i];
    *n = k;
    return 0;
}

static void collect_identity(void *ud, const struct disco_identity *id)
{
    struct disco_state *ds = ud;
    if (ds->naccount_ids < MAX_IDENTITIES)
        ds->account_ids[ds->naccount_ids++] = id;
    else
        ds->naccount_ids = MAX_IDENTITIES + 1; /* too many: disco_init fails */
}

/* XEP-0157 asks for URIs; these are the schemes an operator would use. */
static bool uri_ok(const char *s)
{
    static const char *const schemes[] = {"xmpp:", "mailto:", "https:", "http:", "tel:"};
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
        if (strncmp(s, schemes[i], strlen(schemes[i])) == 0 && s[strlen(schemes[i])])
            return true;
    return false;
}

static int add_contact(struct disco_state *ds, const char *key, const char *var,
                       const struct strlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        if (!uri_ok(l->items[i])) {
            log_error("contact.%s: item %zu is not an xmpp:, mailto:, https:, http: or tel: URI",
                      key, i + 1);
            return -EINVAL;
        }
    }
    if (l->n > 0)
        ds->fields[ds->form.nfields++] =
            (struct disco_field){var, (const char *const *)l->items, l->n};
    return 0;
}

static int collect_contacts(struct disco_state *ds, const struct config *cfg)
{
    const struct {
        const char *key, *var;
        const struct strlist *l;
    } f[N_CONTACT] = {
        {"abuse", "abuse-addresses", &cfg->contact_abuse},
        {"admin", "admin-addresses", &cfg->contact_admin},
        {"feedback", "feedback-addresses", &cfg->contact_feedback},
        {"sales", "sales-addresses", &cfg->contact_sales},
        {"security", "security-addresses", &cfg->contact_security},
        {"status", "status-addresses", &cfg->contact_status},
        {"support", "support-addresses", &cfg->contact_support},
    };
    ds->form = (struct disco_form){SERVERINFO, ds->fields, 0};
    for (size_t i = 0; i < N_CONTACT; i++) {
        int rc = add_contact(ds, f[i].key, f[i].var, f[i].l);
        if (rc < 0)
            return rc;
    }
    ds->nforms = ds->form.nfields > 0;
    return 0;
}

static int disco_init(struct server *srv, void *state)
{
    struct disco_state *ds = state;
    ds->id = (struct disco_identity){"server", "im", NULL, srv->cfg->version_name};
    int rc = collect_features(modules_features, ds->features, &ds->nfeatures);
    if (rc == 0)
        rc = collect_features(modules_account_features, ds->account_features,
                              &ds->naccount_features);
    if (rc == 0)
        modules_account_identities(collect_identity, ds);
    if (rc == 0 && ds->naccount_ids > MAX_IDENTITIES)
        rc = -E2BIG;
    if (rc == 0)
        rc = collect_contacts(ds, srv->cfg);
    if (rc == 0)
        rc = caps_ver_sha1(&ds->id, 1, ds->features, ds->nfeatures, &ds->form, ds->nforms, ds->ver);
    if (rc < 0)
        return rc;
    snprintf(ds->node_ver, sizeof ds->node_ver, "%s#%s", CAPS_NODE, ds->ver);
    return 0;
}

static int disco_stream_features(struct server *srv, void *state, struct buf *out)
{
    (void)srv;
    const struct disco_state *ds = state;
    return buf_printf(out, "<c xmlns='" NS_CAPS "' hash='sha-1' node='" CAPS_NODE "' ver='%s'/>",
                      ds->ver);
}

/* ---- answers ---- */

static int add_identity(struct stanza *st, struct xml_node *q, const struct disco_identity *id)
{
    struct xml_node *n = xml_add_child(st, q, "identity", NULL);
    if (!n || xml_set_attr(st, n, "category", id->category) < 0 ||
        xml_set_attr(st, n, "type", id->type) < 0 ||
        (id->name && xml_set_attr(st, n, "name", id->name) < 0))
        return -ENOMEM;
    return 0;
}

static int add_feature(struct stanza *st, struct xml_node *q, const char *var)
{
    struct xml_node *f = xml_add_child(st, q, "feature", NULL);
    return f && xml_set_attr(st, f, "var", var) == 0 ? 0 : -ENOMEM;
}

static int add_field(struct stanza *st, struct xml_node *x, const char *var, const char *type,
                     const char *const *values, size_t n)
{
    struct xml_node *f = xml_add_child(st, x, "field", NULL);
    if (!f || xml_set_attr(st, f, "var", var) < 0 ||
        (type && xml_set_attr(st, f, "type", type) < 0))
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (xml_add_text_elem(st, f, "value", values[i]) < 0)
            return -ENOMEM;
    return 0;
}

/* XEP-0128: <x xmlns='jabber:x:data' type='result'> with FORM_TYPE first. */
static int add_form(struct stanza *st, struct xml_node *q, const struct disco_form *form)
{
    struct xml_node *x = xml_add_child(st, q, "x", NS_DATA);
    const char *ft[] = {form->form_type};
    int rc = x && xml_set_attr(st, x, "type", "result") == 0 ? 0 : -ENOMEM;
    if (rc == 0)
        rc = add_field(st, x, "FORM_TYPE", "hidden", ft, 1);
    for (size_t i = 0; rc == 0 && i < form->nfields; i++)
        rc = add_field(st, x, form->fields[i].var, NULL, form->fields[i].values,
                       form->fields[i].nvalues);
    return rc;
}

static struct stanza *server_info(const struct iq_request *rq, const struct disco_state *ds,
                                  const char *node)
{
    struct stanza *res = iq_result_new(rq->st);
    struct xml_node *q = res ? xml_add_child(res, res->root, "query", NS_DISCO_INFO) : NULL;
    int rc = q ? 0 : -ENOMEM;
    if (rc == 0 && node)
        rc = xml_set_attr(res, q, "node", node);
    if (rc == 0)
        rc = add_identity(res, q, &ds->id);
    for (size_t i = 0; rc == 0 && i < ds->nfeatures; i++)
        rc = add_feature(res, q, ds->features[i]);
    for (size_t i = 0; rc == 0 && i < ds->nforms; i++)
        rc = add_form(res, q, &ds->form);
    if (rc < 0 && res) {
        stanza_unref(res);
        res = NULL;
    }
    return res;
}

static void reply_or_fail(const struct iq_request *rq, struct stanza *res)
{
    if (res)
        iq_reply(rq, res);
    else
        iq_reply_error(rq, SC_INTERNAL_SERVER_ERROR, NULL);
}

/* Modules that answer disco on nodes of the server: each answers and
 * returns 0 if the node is its own, else -ENOENT. */
static const struct {
    int (*info)(const struct iq_request *rq, const char *node);
    int (*items)(const struct iq_request *rq, const char *node);
} node_providers[] = {
    {adhoc_disco_info, adhoc_disco_items}, /* XEP-0050 command nodes */
};

/* Lets a provider answer for node; else item-not-found. */
static void node_query(const struct iq_request *rq, const char *node, bool items)
{
    for (size_t i = 0; i < sizeof node_providers / sizeof node_providers[0]; i++)
        if ((items ? node_providers[i].items : node_providers[i].info)(rq, node) == 0)
            return;
    iq_reply_error(rq, SC_ITEM_NOT_FOUND, NULL);
}

static void disco_info(const struct iq_request *rq)
{
    const struct disco_state *ds = rq->state;
    const char *node = xml_attr(rq->payload, "node");
    if (node && strcmp(node, ds->node_ver) != 0) {
        node_query(rq, node, false);
        return;
    }
    reply_or_fail(rq, server_info(rq, ds, node));
}

/* The server's items: its components. None exist yet; configured
 * component domains (MUC, upload) will be listed here when they come. */
static void disco_items(const struct iq_request *rq)
{
    const char *node = xml_attr(rq->payload, "node");
    if (node) {
        node_query(rq, node, true);
        return;
    }
    struct stanza *res = iq_result_new(rq->st);
    if (res && !xml_add_child(res, res->root, "query", NS_DISCO_ITEMS)) {
        stanza_unref(res);
        res = NULL;
    }
    reply_or_fail(rq, res);
}

static struct stanza *account_info_result(const struct iq_request *rq, const struct disco_state *ds)
{
    struct stanza *res = iq_result_new(rq->st);
    struct xml_node *q = res ? xml_add_child(res, res->root, "query", NS_DISCO_INFO) : NULL;
    int rc = q ? 0 : -ENOMEM;
    for (size_t i = 0; rc == 0 && i < ds->naccount_ids; i++)
        rc = add_identity(res, q, ds->account_ids[i]);
    for (size_t i = 0; rc == 0 && i < ds->naccount_features; i++)
        rc = add_feature(res, q, ds->account_features[i]);
    if (rc < 0 && res) {
        stanza_unref(res);
        res = NULL;
    }
    return res;
}

static void account_info(const struct iq_request *rq)
{
    const char *domain = rq->to->domain, *user = rq->to->local;
    if (!presence_visible_to(rq->srv, domain, user, rq->from) ||
        store_account_exists_sync(rq->srv->store, domain, user) != 1) {
        iq_reply_error(rq, SC_SERVICE_UNAVAILABLE, NULL);
        return;
    }
    if (xml_attr(rq->payload, "node")) {
        iq_reply_error(rq, SC_ITEM_NOT_FOUND, NULL);
        return;
    }
    reply_or_fail(rq, account_info_result(rq, rq->state));
}

/* §8 rule 2: an empty result whether or not the account exists. */
static void account_items(const struct iq_request *rq)
{
    struct stanza *res = iq_result_new(rq->st);
    struct xml_node *q = res ? xml_add_child(res, res->root, "query", NS_DISCO_ITEMS) : NULL;
    const char *node = xml_attr(rq->payload, "node");
    if (res && (!q || (node && xml_set_attr(res, q, "node", node) < 0))) {
        stanza_unref(res);
        res = NULL;
    }
    reply_or_fail(rq, res);
}

static const struct iq_handler disco_iq[] = {
    {NS_DISCO_INFO, "query", IQ_GET, IQ_TO_SERVER, NS_DISCO_INFO, disco_info},
    {NS_DISCO_ITEMS, "query", IQ_GET, IQ_TO_SERVER, NS_DISCO_ITEMS, disco_items},
    {NS_DISCO_INFO, "query", IQ_GET, IQ_TO_ACCOUNT, NS_DISCO_INFO, account_info},
    {NS_DISCO_ITEMS, "query", IQ_GET, IQ_TO_ACCOUNT, NS_DISCO_ITEMS, account_items},
};

/* XEP-0030 §3.1: every entity has an identity; a registered account's is
 * account/registered. Modules add theirs (PEP's pubsub/pep) only with the
 * handlers that serve them. */
static const struct disco_identity disco_account_ids[] = {
    {"account", "registered", NULL, NULL},
};

/* Its configuration: merged after the core's options (core/config.h),
 * in registry order, for loading, --check, init and the reference. */
static const struct config_section disco_cfg_sections[] = {
    {"contact", "The operator's contact addresses, published in service discovery "
                "(XEP-0157, promise P24). Each is a list of URIs (xmpp:, mailto:, https:, "
                "tel:); none are published until set."},
};

static const struct config_option disco_cfg_options[] = {
    /* contact */
    {.key = "contact.abuse",
     .type = CFG_STRLIST,
     CFG_AS_LIST(contact_abuse),
     .min = 0,
     .max = 10,
     .help = "Where to report abuse (abuse-addresses)."},
    {.key = "contact.admin",
     .type = CFG_STRLIST,
     CFG_AS_LIST(contact_admin),
     .min = 0,
     .max = 10,
     .help = "How to reach the administrators (admin-addresses)."},
    {.key = "contact.feedback",
     .type = CFG_STRLIST,
     CFG_AS_LIST(contact_feedback),
     .min = 0,
     .max = 10,
     .help = "Where to send feedback (feedback-addresses)."},
    {.key = "contact.sales",
     .type = CFG_STRLIST,
     CFG_AS_LIST(contact_sales),
     .min = 0,
     .max = 10,
     .help = "Sales contact (sales-addresses)."},
    {.key = "contact.security",
     .type = CFG_STRLIST,
     CFG_AS_LIST(contact_security),
     .min = 0,
     .max = 10,
     .help = "Where to report security issues (security-addresses)."},
    {.key = "contact.status",
     .type = CFG_STRLIST,
     CFG_AS_LIST(contact_status),
     .min = 0,
     .max = 10,
     .help = "Pages or accounts that tell the service status (status-addresses)."},
    {.key = "contact.support",
     .type = CFG_STRLIST,
     CFG_AS_LIST(contact_support),
     .min = 0,
     .max = 10,
     .help = "Where users get help (support-addresses)."},
    {.key = "contact.policy",
     .type = CFG_STRLIST,
     CFG_AS_LIST(contact_policy),
     .min = 0,
     .max = 5,
     .help = "Web addresses of the terms of service and privacy policy, if you publish "
             "your own elsewhere. XEP-0157 registers no field for them, so they are not "
             "published over XMPP; the registration form names the first. Empty (the "
             "default): the form names the policy page of the HTTPS service (/policy), made "
             "from this configuration."},
};

static const struct config_table disco_cfg = {
    .sections = disco_cfg_sections,
    .n_sections = sizeof disco_cfg_sections / sizeof disco_cfg_sections[0],
    .options = disco_cfg_options,
    .n_options = sizeof disco_cfg_options / sizeof disco_cfg_options[0],
};

const struct module mod_disco = {
    .name = "disco",
    .id = MOD_ID_disco,
    .state_size = sizeof(struct disco_state),
    .config = &disco_cfg,
    .iq = disco_iq,
    .n_iq = sizeof disco_iq / sizeof disco_iq[0],
    .init = disco_init,
    .stream_features = disco_stream_features,
    .account_identities = disco_account_ids,
    .n_account_identities = sizeof disco_account_ids / sizeof disco_account_ids[0],
};
