/* A session: one bound client resource, as the router sees it.
 *
 * The c2s stream embeds a struct session once a resource is bound; later
 * transports (WebSocket, BOSH) embed one too. The router keeps sessions by
 * bare JID and never frees them: the owner unregisters before freeing.
 * Loop thread only.
 */
#ifndef TAUBE_SESSION_H
#define TAUBE_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "xmpp/jid.h"
#include "xmpp/stanza.h"

struct session;

struct session_ops {
    /* Sends a stanza to the client. Does not consume st. 0 or -errno
     * (the session is then closing). */
    int (*deliver)(struct session *s, struct stanza *st);
    /* cb(ud, 0) once every stanza delivered so far has been handed to the
     * operating system (not: read by the client), or cb(ud, -errno) if the
     * stream ends first; exactly once, never from inside this call, never
     * after the stream is freed. 0, or -errno (closing: cb is not called).
     * Offline delivery deletes what it sent only on cb(ud, 0). */
    int (*on_flushed)(struct session *s, void (*cb)(void *ud, int status), void *ud);
    /* Ends the session with a stream error (conflict, system-shutdown...). */
    void (*kick)(struct session *s, enum stream_cond cond, const char *text);
};

struct session {
    const struct session_ops *ops;
    struct jid jid;          /* full JID */
    char *bare;              /* "local@domain", the router's key */
    char *full;              /* "local@domain/resource", stamped as 'from' */
    uint64_t id;             /* for async completions: look up by id */
    int priority;            /* from the last available presence */
    bool available;          /* sent initial presence and not unavailable */
    struct session *next;    /* the account's other resources */
    bool blocklist_requested;/* asked for its XEP-0191 block list: gets pushes */
    /* Roster and presence (RFC 6121); the presence module frees these on
     * SESSION_CLOSING. */
    bool roster_requested;   /* an "interested resource" (§2.2): gets roster pushes */
    struct stanza *last_presence;       /* last broadcast presence, for probes */
    struct presence_directed *directed; /* entities sent directed presence (§4.6) */
};

#endif
