/* External components (XEP-0114, the "accept" method): a bridge, bot,
 * gateway or push app server connects over plain TCP to component.port,
 * names its domain in the stream header, proves it knows the shared
 * secret of component.secrets (SHA-1 of stream id + secret) and from
 * then on takes every stanza for a JID at its domain (it is attached to
 * that domain's HOST_COMPONENT entry, xmpp/hosts.h) and sends stanzas
 * from addresses at its domain into the router.
 *
 * Stream errors (RFC 6120 §4.9.3, as XEP-0114 says): a domain that is not
 * a configured component gets host-unknown; a second connection for a
 * component that is connected gets conflict; a wrong handshake
 * not-authorized; a stanza without 'to' or 'from' improper-addressing; a
 * 'from' at another domain invalid-from.
 *
 * Loop thread only. srv->components owns the listeners and the streams.
 */
#ifndef TAUBE_COMPONENT_H
#define TAUBE_COMPONENT_H

struct server;

/* Listens on every component.interface address at component.port (does
 * nothing when the port is 0). 0, or a negative UV error with a message
 * in *err (malloc'ed). srv->hosts must hold the component hosts. */
int component_start(struct server *srv, char **err);
/* Shutdown: stops accepting and ends every stream with system-shutdown.
 * Idempotent; must run before the loop's handles are walked shut. */
void component_stop(struct server *srv);
/* After the loop has run down (component_stop first): frees what is
 * left. */
void component_free(struct server *srv);
/* Once a second: streams that have not shaken hands within
 * limits.auth_timeout are closed with connection-timeout. */
void component_tick(struct server *srv);

#endif
