/* Service discovery (XEP-0030) for the server itself: its identity and
 * the features every module's handlers advertise, and its items
 * (components; none yet). */
#include <string.h>

#include "modules/module.h"
#include "xmpp/ns.h"

struct feature_ctx {
    struct stanza *st;
    struct xml_node *query;
    int err;
};

static void add_feature(void *ud, const char *feature)
{
    struct feature_ctx *fc = ud;
    struct xml_node *f = xml_add_child(fc->st, fc->query, "feature", NULL);
    if (!f || xml_set_attr(fc->st, f, "var", feature) < 0)
        fc->err = -1;
}

static void disco_info(const struct iq_request *rq)
{
    if (xml_attr(rq->payload, "node")) {
        iq_reply_error(rq, SC_ITEM_NOT_FOUND, NULL);
        return;
    }
    struct stanza *res = iq_result_new(rq->st);
    struct feature_ctx fc = {res, NULL, 0};
    struct xml_node *id = NULL;
    if (res && (fc.query = xml_add_child(res, res->root, "query", NS_DISCO_INFO)))
        id = xml_add_child(res, fc.query, "identity", NULL);
    if (!id || xml_set_attr(res, id, "category", "server") < 0 ||
        xml_set_attr(res, id, "type", "im") < 0 ||
        xml_set_attr(res, id, "name", rq->srv->cfg->version_name) < 0)
        fc.err = -1;
    if (!fc.err)
        modules_features(add_feature, &fc);
    if (fc.err) {
        if (res)
            stanza_unref(res);
        iq_reply_error(rq, SC_INTERNAL_SERVER_ERROR, NULL);
        return;
    }
    iq_reply(rq, res);
}

static void disco_items(const struct iq_request *rq)
{
    if (xml_attr(rq->payload, "node")) {
        iq_reply_error(rq, SC_ITEM_NOT_FOUND, NULL);
        return;
    }
    struct stanza *res = iq_result_new(rq->st);
    if (!res || !xml_add_child(res, res->root, "query", NS_DISCO_ITEMS)) {
        if (res)
            stanza_unref(res);
        iq_reply_error(rq, SC_INTERNAL_SERVER_ERROR, NULL);
        return;
    }
    iq_reply(rq, res);
}

static const struct iq_handler disco_iq[] = {
    {NS_DISCO_INFO, "query", IQ_GET, IQ_TO_SERVER, NS_DISCO_INFO, disco_info},
    {NS_DISCO_ITEMS, "query", IQ_GET, IQ_TO_SERVER, NS_DISCO_ITEMS, disco_items},
};

const struct module mod_disco = {
    .name = "disco",
    .iq = disco_iq,
    .n_iq = sizeof disco_iq / sizeof disco_iq[0],
};
