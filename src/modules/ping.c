/* XMPP Ping (XEP-0199): the server answers pings addressed to it. Pings
 * the server sends to idle clients are the c2s stream's business. */
#include "modules/module.h"
#include "xmpp/ns.h"

static void ping(const struct iq_request *rq)
{
    struct stanza *res = iq_result_new(rq->st);
    if (!res) {
        iq_reply_error(rq, SC_INTERNAL_SERVER_ERROR, NULL);
        return;
    }
    iq_reply(rq, res);
}

static const struct iq_handler ping_iq[] = {
    {NS_PING, "ping", IQ_GET, IQ_TO_SERVER, NS_PING, ping},
};

const struct module mod_ping = {
    .name = "ping",
    .iq = ping_iq,
    .n_iq = sizeof ping_iq / sizeof ping_iq[0],
};
