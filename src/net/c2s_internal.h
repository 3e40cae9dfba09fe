/* Internals shared by the c2s files (c2s.c: the stream state machine,
 * c2s_auth.c: SASL, c2s_session.c: binding and stanzas). Not for other
 * parts. */
#ifndef TAUBE_C2S_INTERNAL_H
#define TAUBE_C2S_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/server.h"
#include "net/c2s.h"
#include "net/conn.h"
#include "xml/xml.h"
#include "xmpp/sasl.h"
#include "xmpp/session.h"

/* Why reading from a client is paused: each reason is lifted on its own. */
enum {
    C2S_PAUSE_RATE = 1, /* read-rate bucket empty: the tick refills it */
    C2S_PAUSE_AUTH = 2, /* after a failed authentication, until resume_at */
    C2S_PAUSE_PEER = 4, /* a receiver of its stanzas is congested: its drain */
    C2S_PAUSE_JOB = 8,  /* a password is being checked on a worker thread */
    C2S_PAUSE_STORE = 16, /* a write its stanza caused is not committed yet */
    C2S_PAUSE_TURN = 32,  /* had its share of this loop turn: the next one */
    C2S_PAUSE_FULL = 64,  /* and holds C2S_HELD_SOFT_MAX bytes meanwhile */
};
/* Pause reasons that keep the input unparsed but the socket read (up to
 * C2S_HELD_SOFT_MAX bytes: stopping and restarting a read costs system
 * calls, and a turn is short). */
#define C2S_PAUSE_SOFT C2S_PAUSE_TURN
#define C2S_HELD_SOFT_MAX (64 * 1024)

/* What one authenticated stream may spend of one loop turn before the
 * rest of its input waits for the next turn (conn_next_turn), so that
 * between two of its shares every other ready stream gets one: a stanza
 * costs 1, one that made the server write (store queue) C2S_TURN_WRITE.
 * Writes are what a flood costs the server most (the request, its
 * completion, the commit), and a client storing in bulk then yields
 * after each; ordinary traffic (a burst of messages to online contacts)
 * goes on in one share, which keeps the output of a turn in few writes. */
#define C2S_TURN_BUDGET 16
#define C2S_TURN_WRITE 16

struct plain_job;
struct addr_slot;

enum c2s_state {
    C2S_WAIT_STREAM, /* expecting a stream header (first, or after a restart) */
    C2S_FEATURES,    /* features sent: STARTTLS, SASL or bind, by the flags */
    C2S_TLS,         /* <proceed/> sent, TLS handshake under way */
    C2S_SASL,        /* a SASL exchange is under way */
    C2S_SESSION,     /* resource bound: stanzas are routed */
    C2S_CLOSING,     /* our </stream:stream> is out; waiting for the close */
};

struct c2s {
    struct server *srv;
    struct session *sess;       /* the router's, while bound; else NULL */
    uint64_t sess_id;           /* its id (senders wait on it), 0 before binding */
    struct conn *conn;
    struct xml_stream *xs;
    enum c2s_state state;
    bool tls;                   /* the stream is encrypted */
    bool authed;                /* SASL succeeded */
    bool bound;                 /* sess is the router's bound session */
    bool header_sent;           /* our header for the current stream is out */
    bool restart;               /* reset the parser after this stanza */
    bool skip_space;            /* drop whitespace before the next stream header */
    unsigned pause_why;         /* C2S_PAUSE_* bits; reading stops while any is set */
    uint64_t waiting_on;        /* C2S_PAUSE_PEER: the congested receiver's sess.id */
    int64_t peer_paused_at;     /* ms, loop time */
    bool has_waiters;           /* senders were paused on this stream's congestion */
    char *domain;               /* the host this stream is for */
    char *user;                 /* authenticated local part */
    struct sasl *sasl;
    enum sasl_mech mech;
    unsigned auth_failures;     /* wrong passwords or proofs */
    unsigned sasl_errors;       /* other failed exchanges (c2s_auth.c) */
    bool suspended;             /* the account being authenticated */
    struct plain_job *auth_job; /* PLAIN check under way on the worker pool */
    struct module_slots *slots; /* the modules' stream-handler state (registration), or NULL */
    struct addr_slot *preauth_slot; /* counted against its address until authenticated */
    char stream_id[17];
    int64_t connected;          /* ms, loop time */
    int64_t last_read, last_write;
    int64_t resume_at;          /* auth failure delay: no reads before this */
    int64_t ping_sent;          /* 0: no ping outstanding */
    char ping_id[20];
    int64_t tokens;             /* read-rate bucket, bytes */
    struct c2s *prev, *next;    /* srv->c2s_all */
    uint64_t store_wait;        /* newest write of its own not known committed, or 0 */
    struct stanza *held_st;     /* C2S_PAUSE_STORE: the stanza waiting for that commit */
    char *held;                 /* input read and not yet parsed (a pause, a turn) */
    size_t held_len;
    uint64_t turn_no;           /* the loop turn turn_used counts for */
    unsigned turn_used;         /* of C2S_TURN_BUDGET in that turn */
};

/* c2s.c */
int64_t c2s_now(const struct c2s *c);
int c2s_write(struct c2s *c, const char *data, size_t len);
int c2s_write_str(struct c2s *c, const char *s);
/* Sends a stream error (with our header first if needed) and closes. */
void c2s_stream_error(struct c2s *c, enum stream_cond cond, const char *text);
/* Pauses reading for a moment after a failed authentication. */
void c2s_delay_reads(struct c2s *c);
/* Adds/removes a pause reason; reading resumes once none is left. */
/* A new stream starts: the parser is reset (SASL success, STARTTLS). */
void c2s_restart_stream(struct c2s *c);
void c2s_pause(struct c2s *c, unsigned why);
/* Lifts why (input kept meanwhile is fed at the next turn). */
void c2s_unpause(struct c2s *c, unsigned why);
/* Lifts why and leaves the kept input to the caller (c2s_feed_held).
 * True if no reason is left. */
bool c2s_lift(struct c2s *c, unsigned why);
/* Writes <stream:features> for the current flags. */
void c2s_send_features(struct c2s *c);
/* Sends an element built in a stanza (serialized in the client ns). */
int c2s_send_stanza(struct c2s *c, const struct stanza *st);

/* c2s_auth.c: <auth>, <response>, <abort> in the SASL namespace. */
void c2s_sasl_element(struct c2s *c, struct stanza *st);
void c2s_sasl_mechanisms(struct c2s *c, struct buf *out);
void c2s_auth_free(struct c2s *c);

/* c2s_limits.c: what an unauthenticated stream may hold. */
/* Counts c against its address (limits.max_unauthenticated_per_address):
 * 0, -EAGAIN if the address has its fill, -ENOMEM. */
int c2s_preauth_take(struct c2s *c);
/* Gives the slot back (authenticated, or closing); idempotent. */
void c2s_preauth_release(struct c2s *c);
/* Sets the parser's limits for the stream's state (tighter before
 * authentication). */
void c2s_xml_limits(struct c2s *c);

/* c2s_session.c */
/* A stanza after SASL: bind, session, then routing. Consumes st. */
void c2s_stanza(struct c2s *c, struct stanza *st);
/* Also resumes the senders waiting on this stream (c2s_release_waiters). */
void c2s_unbind(struct c2s *c);
void c2s_send_ping(struct c2s *c);

/* c2s_hold.c: a client waits for the commit of what it asked to store.
 * Call after routing one of its stanzas (mark = store_queue_hold_mark
 * before it): remembers the writes it queued that hold their sender. */
void c2s_hold_for_store(struct c2s *c, uint64_t mark);
/* Before dispatching st (state SESSION): true if st was taken, to be
 * dispatched once c's writes are committed (reading pauses meanwhile).
 * Messages pass at once (the server answers none with a result: they may
 * join the same group commit); anything else waits. */
bool c2s_hold_stanza(struct c2s *c, struct stanza *st);
/* Keeps data[0..len), read but not fed while the stream is held.
 * 0 or -ENOMEM. */
int c2s_hold_input(struct c2s *c, const char *data, size_t len);
/* Feeds the held input, unless a pause reason is left. */
void c2s_feed_held(struct c2s *c);
/* At free: no barrier may call back into c. */
void c2s_hold_free(struct c2s *c);
/* c2s.c: feeds bytes already charged to the read budget. */
void c2s_feed(struct c2s *c, const char *data, size_t len);

/* c2s_fair.c: backpressure and who pays for a slow reader. */
/* Did the client choose this receiver (message, presence with 'to', iq
 * get/set)? Only then may its stream be held for the receiver. */
bool c2s_sender_chose(const struct stanza *st, enum stanza_kind kind);
/* A stanza was just queued for c: if c is congested, pauses the stream
 * in srv->dispatching (C2S_PAUSE_PEER) until c drains or goes away. */
void c2s_hold_sender(struct c2s *c);
/* Resumes the senders paused because this stream was congested: on its
 * drain, and when it goes away. */
void c2s_release_waiters(struct c2s *c);
/* Once a second: ends a hold older than limits.congestion_timeout, and
 * closes c (policy-violation) if it has been congested that long. True
 * if c was closed. */
bool c2s_check_congestion(struct c2s *c, int64_t now);
/* All queues over limits.send_queue_total: drops the heaviest streams
 * (congested first, then largest queue) until under it. */
void c2s_shed(struct server *srv);

#endif
