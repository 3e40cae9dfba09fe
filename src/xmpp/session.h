/* A session: one bound client resource, as the router sees it.
 *
 * Sessions are owned by the router: router_session_new allocates one (with
 * every module's session slot after it, zeroed) and router_unbind, or
 * router_session_free for one never bound, frees it. A session is apart
 * from its connection: it reaches the client through its transport, the
 * ops below and the transport pointer given to them, so a c2s stream today
 * and a WebSocket or BOSH stream, or another node, later can carry one.
 *
 * Detach and attach (the point stream management, XEP-0198, will use):
 * a session may outlive its connection. Its transport will then call
 * router_session_detach instead of router_unbind: the session stays
 * routable, its ops become the router's holding ops (deliver returns
 * -ENOTCONN, which the SM module's delivery filter turns into queuing),
 * and a resumed stream calls router_session_attach with its own ops and
 * transport. Because nothing outside the router holds a session by more
 * than its ops, transport pointer and id, no other part changes. Nothing
 * detaches yet: the c2s stream unbinds its session when it closes.
 *
 * Module slots: each module declares a session-slot size in its
 * descriptor; the registry gives the router the sizes at start-up and a
 * module finds its slot with session_ctx(s, &mod_x) (modules/module.h),
 * in O(1). What a module keeps per session (its flags, the last presence)
 * lives there, not in this struct. A module frees what its slot points to
 * on SESSION_CLOSING; the router frees the slot memory.
 *
 * Loop thread only.
 */
#ifndef TAUBE_SESSION_H
#define TAUBE_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xmpp/jid.h"
#include "xmpp/stanza.h"

struct session;

struct session_ops {
    /* Sends a stanza to the client. Does not consume st. 0 or -errno
     * (the session is then closing, or detached: -ENOTCONN). */
    int (*deliver)(struct session *s, struct stanza *st);
    /* cb(ud, 0) once every stanza delivered so far has been handed to the
     * operating system (not: read by the client), or cb(ud, -errno) if the
     * stream ends first; exactly once, never from inside this call, never
     * after the stream is freed. 0, or -errno (closing: cb is not called).
     * Offline delivery deletes what it sent only on cb(ud, 0). */
    int (*on_flushed)(struct session *s, void (*cb)(void *ud, int status), void *ud);
    /* Ends the session with a stream error (conflict, system-shutdown...).
     * May unbind, and so free, s before it returns. 1 if this ended the
     * stream, 0 if it was ending already. */
    int (*kick)(struct session *s, enum stream_cond cond, const char *text);
};

/* Where each module's slot lies after the session (router.c fills it
 * from the sizes the registry declares). off[i] == 0: module i has none. */
#define SESSION_MAX_SLOTS 64

struct session_layout {
    size_t n;
    size_t size;   /* all slots together */
    size_t off[SESSION_MAX_SLOTS];
};

struct session {
    const struct session_ops *ops;
    void *transport;         /* the transport's own state, for its ops */
    struct jid jid;          /* full JID */
    char *bare;              /* "local@domain", the router's key */
    char *full;              /* "local@domain/resource", stamped as 'from' */
    uint64_t id;             /* for async completions: look up by id */
    /* Presence state the router's RFC 6121 §8 choice reads; the presence
     * module sets it. */
    int priority;            /* from the last available presence */
    bool available;          /* sent initial presence and not unavailable */
    const struct session_layout *layout; /* the router's, for session_slot */
};

/* Module index's slot (zeroed at allocation), or NULL if it declared none.
 * Modules call session_ctx (modules/module.h) instead. */
static inline void *session_slot(const struct session *s, size_t index)
{
    size_t off = index < s->layout->n ? s->layout->off[index] : 0;
    return off ? (char *)s + off : NULL;
}

#endif
