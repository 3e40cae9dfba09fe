/* Private XML storage (XEP-0049): elements a client keeps on the server
 * for the same account (bookmarks, client settings), stored as given
 * (promise P13) under (namespace, element name).
 *
 * Only the account itself: a request to another JID gets forbidden (§3).
 * Requests without a child get not-acceptable (§2.3; "bad format" is not
 * an RFC 6120 condition), as do reserved namespaces (§3: those starting
 * with 'jabber:' or 'http://jabber.org/', and 'vcard-temp'; a child without its own xmlns is
 * in jabber:iq:private and so reserved too). A set holds any number of
 * children, stored in one transaction; an element over
 * private.max_element_size gets not-acceptable, and a set that would take
 * the account over private.max_total_size gets resource-constraint, with
 * nothing of it stored.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "modules/fragment.h"
#include "modules/iq_later.h"
#include "modules/module.h"
#include "store/private.h"
#include "store/requests.h"
#include "xmpp/ns.h"

/* Its options, in its own block (core/config.h, config_block): struct
 * config knows nothing of them. */
struct private_config {
    uint64_t max_element_size; /* private.max_element_size: 64 KiB */
    uint64_t max_total_size;   /* private.max_total_size: 256 KiB per user */
};
static const struct config_table private_cfg;

static const struct private_config *options_of(const struct server *srv)
{
    return config_block(srv->cfg, &private_cfg);
}

#define NS_PRIVATE "jabber:iq:private"
/* Children one set may carry (each is a separate row). */
#define PRIVATE_MAX_CHILDREN 32

static bool reserved_ns(const char *ns)
{
    return !*ns || strncmp(ns, "jabber:", 7) == 0 || strncmp(ns, "http://jabber.org/", 18) == 0 ||
           strcmp(ns, "vcard-temp") == 0;
}

/* Checks the request's target and children; 0 or the condition to send. */
static int check_request(const struct iq_request *rq, enum stanza_cond *cond)
{
    if (!jid_bare_equal(rq->from, rq->to)) {
        *cond = SC_FORBIDDEN;
        return -1;
    }
    size_t n = 0;
    for (const struct xml_node *c = xml_first_elem(rq->payload); c; c = xml_next_elem(c), n++) {
        if (reserved_ns(c->ns)) {
            *cond = SC_NOT_ACCEPTABLE;
            return -1;
        }
    }
    if (n == 0 || (rq->type == IQ_GET && n > 1) || n > PRIVATE_MAX_CHILDREN) {
        *cond = n == 0 || rq->type == IQ_GET ? SC_NOT_ACCEPTABLE : SC_POLICY_VIOLATION;
        return -1;
    }
    return 0;
}

/* A result <query xmlns='jabber:iq:private'> holding child (a parsed
 * stored element) or, if none is stored, the requested element empty. */
static struct stanza *get_result(const struct iq_request *rq, const struct xml_node *want,
                                 const struct stanza *stored)
{
    struct stanza *res = iq_result_new(rq->st);
    struct xml_node *q = res ? xml_add_child(res, res->root, "query", NS_PRIVATE) : NULL;
    bool ok = q && (stored ? xml_copy_into(res, q, stored->root) != NULL
                           : xml_add_child(res, q, want->name, want->ns) != NULL);
    if (!ok && res) {
        stanza_unref(res);
        res = NULL;
    }
    return res;
}

static void private_get(const struct iq_request *rq, const struct xml_node *want)
{
    struct buf xml;
    buf_init(&xml, 2 * options_of(rq->srv)->max_element_size + 1024);
    int rc = store_private_get(rq->srv->store, rq->to->domain, rq->to->local, want->ns, want->name,
                               &xml);
    struct stanza *stored = NULL;
    if (rc == 0 && !(stored = fragment_parse(xml.data, xml.len, rq->srv->cfg->max_depth)))
        log_warn("private: a stored element does not parse");
    buf_free(&xml);
    struct stanza *res = (rc == 0 && stored) || rc == -ENOENT ? get_result(rq, want, stored) : NULL;
    if (stored)
        stanza_unref(stored);
    if (res)
        iq_reply(rq, res);
    else
        iq_reply_error(rq, SC_INTERNAL_SERVER_ERROR, NULL);
}

/* Serializes every child into out, one after another, and points items
 * at them. -ENOBUFS if one is over the element limit. */
static int serialize_children(const struct iq_request *rq, struct private_item *items, size_t *n,
                              struct buf *out)
{
    size_t limit = options_of(rq->srv)->max_element_size, k = 0;
    size_t off[PRIVATE_MAX_CHILDREN];
    for (const struct xml_node *c = xml_first_elem(rq->payload); c; c = xml_next_elem(c)) {
        off[k] = out->len;
        int rc = xml_serialize(c, "", out);
        if (rc < 0)
            return rc;
        if (out->len - off[k] > limit)
            return -ENOBUFS;
        items[k] = (struct private_item){c->ns, c->name, NULL, out->len - off[k]};
        k++;
    }
    for (size_t i = 0; i < k; i++) /* out has stopped moving */
        items[i].xml = out->data + off[i];
    *n = k;
    return 0;
}

static void private_stored(void *ud, int rc, int64_t value)
{
    struct iq_later *l = ud;
    (void)value;
    if (rc == -EDQUOT)
        iq_later_error(l, SC_RESOURCE_CONSTRAINT, "Private storage is full");
    else if (rc == -EAGAIN)
        iq_later_error(l, SC_RESOURCE_CONSTRAINT, NULL);
    else if (rc < 0)
        iq_later_error(l, SC_INTERNAL_SERVER_ERROR, NULL);
    else
        iq_later_result(l);
    iq_later_free(l);
}

static void private_set(const struct iq_request *rq)
{
    const struct config *cfg = rq->srv->cfg;
    struct private_item items[PRIVATE_MAX_CHILDREN];
    size_t n = 0;
    struct buf out;
    /* Escaping can make the serialized form longer than what was received. */
    buf_init(&out, 2 * cfg->max_stanza_size + 1024);
    int rc = serialize_children(rq, items, &n, &out);
    struct iq_later *l = rc == 0 ? iq_later_new(rq) : NULL;
    if (rc == 0 && !l)
        rc = -ENOMEM;
    if (rc == 0) {
        /* Answered from private_stored, after the commit. */
        int64_t id = store_private_set_req(rq->srv->storeq, rq->to->domain, rq->to->local, items, n,
                                           options_of(rq->srv)->max_total_size, private_stored, l);
        rc = id < 0 ? (int)id : 0;
        if (rc < 0)
            iq_later_free(l);
    }
    buf_free(&out);
    if (rc == -ENOBUFS)
        iq_reply_error(rq, SC_NOT_ACCEPTABLE, "An element is too large");
    else if (rc == -EAGAIN)
        iq_reply_error(rq, SC_RESOURCE_CONSTRAINT, NULL);
    else if (rc < 0)
        iq_reply_error(rq, SC_INTERNAL_SERVER_ERROR, NULL);
}

static void private_query(const struct iq_request *rq)
{
    enum stanza_cond cond;
    if (check_request(rq, &cond) < 0) {
        iq_reply_error(rq, cond, NULL);
        return;
    }
    if (rq->type == IQ_GET)
        private_get(rq, xml_first_elem(rq->payload));
    else
        private_set(rq);
}

/* ---- data contract ---- */

struct count {
    size_t n, bytes;
};

static void count_cb(void *ud, const struct private_item *it)
{
    struct count *c = ud;
    c->n++;
    c->bytes += it->len;
}

static int private_describe(const struct data_ctx *d, const char *domain, const char *user,
                            data_fact_fn fn, void *ud)
{
    struct count c = {0, 0};
    int rc = store_private_list(d->store, domain, user, count_cb, &c);
    if (rc < 0 || c.n == 0)
        return rc == -ENOENT ? 0 : rc;
    struct data_fact f = {
        .kind = "private",
        .what = {"What your clients keep here for you (XEP-0049: bookmarks, settings); "
                 "only you can read it.",
                 "Was Ihre Clients hier für Sie ablegen (XEP-0049: Lesezeichen, "
                 "Einstellungen); nur Sie können es lesen."},
        .unit = {"elements", "Elemente"},
        .count = c.n,
        .bytes = c.bytes,
        .keep = KEEP_UNTIL_REPLACED,
    };
    return fn(ud, &f);
}

struct export
{
    struct buf *out;
    int rc;
};

static void export_cb(void *ud, const struct private_item *it)
{
    struct export *e = ud;
    if (e->rc == 0)
        e->rc = buf_append(e->out, it->xml, it->len);
}

/* XEP-0227 §4.3: every element inside one <query xmlns='jabber:iq:private'>. */
static int private_export(const struct data_ctx *d, const char *domain, const char *user,
                          struct buf *out)
{
    size_t mark = out->len;
    struct export e = {out, buf_append_str(out, "<query xmlns='" NS_PRIVATE "'>")};
    int rc = e.rc == 0 ? store_private_list(d->store, domain, user, export_cb, &e) : e.rc;
    if (rc == 0)
        rc = e.rc;
    if (rc == 0 && out->len == mark + strlen("<query xmlns='" NS_PRIVATE "'>"))
        out->len = mark; /* nothing stored: no element */
    else if (rc == 0)
        rc = buf_append_str(out, "</query>");
    if (rc < 0)
        out->len = mark;
    if (out->data)
        out->data[out->len] = '\0';
    return rc == -ENOENT ? 0 : rc;
}

static int private_erase(const struct data_ctx *d, const char *domain, const char *user)
{
    return store_private_delete_all(d->store, domain, user);
}

static const struct iq_handler private_iq[] = {
    {NS_PRIVATE, "query", IQ_GET | IQ_SET, IQ_TO_ACCOUNT, NULL, private_query},
};

static const char *const private_features[] = {NS_PRIVATE, NULL};

/* Its configuration: merged after the core's options (core/config.h),
 * in registry order, for loading, --check, init and the reference. */
static const struct config_section private_cfg_sections[] = {
    {"private", "Private XML storage (XEP-0049): settings clients keep on the server."},
};

static const struct config_option private_cfg_options[] = {
    /* private */
    {.key = "private.max_element_size",
     .type = CFG_SIZE,
     CFG_IN_INT(struct private_config, max_element_size),
     .min = 1 * CFG_KiB,
     .max = 1 * CFG_MiB,
     .def = "64KiB",
     .help = "Largest single element a client can keep in private storage; larger is "
             "refused with not-acceptable."},
    {.key = "private.max_total_size",
     .type = CFG_SIZE,
     CFG_IN_INT(struct private_config, max_total_size),
     .min = 1 * CFG_KiB,
     .max = 64 * CFG_MiB,
     .def = "256KiB",
     .help = "Most private storage one user can fill in all; a store that would go over "
             "is refused with resource-constraint and nothing of it is kept."},
};

static const struct config_table private_cfg = {
    .sections = private_cfg_sections,
    .n_sections = sizeof private_cfg_sections / sizeof private_cfg_sections[0],
    .options = private_cfg_options,
    .n_options = sizeof private_cfg_options / sizeof private_cfg_options[0],
    .block_size = sizeof(struct private_config),
};

const struct module mod_private = {
    .name = "private",
    .id = MOD_ID_private,
    .config = &private_cfg,
    .iq = private_iq,
    .n_iq = sizeof private_iq / sizeof private_iq[0],
    .features = private_features,
    .describe = private_describe,
    .export_xml = private_export,
    .erase = private_erase,
};
