/* XMPP Ping (XEP-0199): the server answers pings addressed to it, and
 * pings to an account's bare JID on the account's behalf (RFC 6121
 * §8.5.2.1.3), which includes a client's ping without 'to' (RFC 6120
 * §10.3.3). At the bare JID it answers only the account itself and those
 * who may see its presence: anyone else gets service-unavailable, as for
 * an account that does not exist, so a ping cannot probe for accounts.
 * Pings the server sends to idle clients are the c2s stream's business. */
#include "modules/module.h"
#include "modules/visibility.h"
#include "xmpp/ns.h"

static void ping(const struct iq_request *rq)
{
    if (rq->to->local && !presence_visible_to(rq->srv, rq->to->domain, rq->to->local, rq->from)) {
        iq_reply_error(rq, SC_SERVICE_UNAVAILABLE, NULL);
        return;
    }
    struct stanza *res = iq_result_new(rq->st);
    if (!res) {
        iq_reply_error(rq, SC_INTERNAL_SERVER_ERROR, NULL);
        return;
    }
    iq_reply(rq, res);
}

static const struct iq_handler ping_iq[] = {
    {NS_PING, "ping", IQ_GET, IQ_TO_SERVER | IQ_TO_ACCOUNT, NS_PING, ping},
};

const struct module mod_ping = {
    .name = "ping",
    .id = MOD_ID_ping,
    .iq = ping_iq,
    .n_iq = sizeof ping_iq / sizeof ping_iq[0],
};
