/* Client-to-server streams (RFC 6120): one explicit state machine per
 * connection from the stream header through STARTTLS, SASL and resource
 * binding to routing stanzas.
 *
 * Loop thread only. A c2s is created for each accepted conn and freed
 * when its conn's on_close has run; it is listed in srv->c2s_all.
 */
#ifndef TAUBE_C2S_H
#define TAUBE_C2S_H

#include "net/conn.h"
#include "xmpp/router.h"
#include "xmpp/stanza.h"

struct server;
struct c2s;

/* listener_accept_cb for client ports; ud is the struct server. */
void c2s_accept(void *srv, struct conn *conn);
/* Once a second: time-outs, keepalives, pings, read-rate refill. */
void c2s_tick(struct server *srv);
/* The client streams as a router transport (router_add_transport): ends
 * the streams of an account that are authenticated, or authenticating,
 * and not bound (the router kicks bound ones through their sessions). */
extern const struct router_transport c2s_transport;
/* Ends every stream with a stream error (system-shutdown on stop). */
void c2s_close_all(struct server *srv, enum stream_cond cond);

#endif
