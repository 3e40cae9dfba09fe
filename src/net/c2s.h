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
#include "xmpp/stanza.h"

struct server;
struct c2s;

/* listener_accept_cb for client ports; ud is the struct server. */
void c2s_accept(void *srv, struct conn *conn);
/* Once a second: time-outs, keepalives, pings, read-rate refill. */
void c2s_tick(struct server *srv);
/* Ends every stream of the account user@domain — bound or not yet, so a
 * stream between SASL success and binding is ended too — with a stream
 * error. Returns how many. */
size_t c2s_kick_account(struct server *srv, const char *domain, const char *user,
                        enum stream_cond cond, const char *text);
/* Ends every stream with a stream error (system-shutdown on stop). */
void c2s_close_all(struct server *srv, enum stream_cond cond);

#endif
