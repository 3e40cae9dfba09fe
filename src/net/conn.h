/* Connections: a byte transport (TCP, then TLS through memory BIOs)
 * behind one small interface, so stream code never calls SSL_* or uv_*.
 *
 * Threads: loop thread only.
 * Ownership: the listener creates a conn on accept and hands it to the
 * on_accept callback, which installs a handler with conn_set_handler.
 * The conn is freed by the library after handler->on_close has been
 * called; after on_close the owner must not touch it.
 *
 * Writes: conn_write copies bytes into the outbound queue; the queue is
 * flushed once per loop turn (one TLS record batch, one write syscall for
 * everything queued in that turn). Past send_queue_max the write fails
 * with -ENOBUFS and the owner should close the stream.
 *
 * Backpressure: a conn whose queue went above half of send_queue_max is
 * congested until the writes bring it down to a quarter; then on_drain
 * tells the owner, which can resume whoever it stopped feeding the conn.
 * conn_congested_for says how long that has lasted, so the owner can drop
 * a reader that stays behind (the conn itself never times out a queue).
 * conn_count_queue keeps a sum of queued bytes over many conns, for a
 * bound on the whole process.
 *
 * Memory while idle: SSL_MODE_RELEASE_BUFFERS, no read buffer held
 * between reads (libuv alloc_cb uses a loop-wide scratch buffer), queue
 * buffers freed when empty.
 */
#ifndef TAUBE_CONN_H
#define TAUBE_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "xmpp/sasl.h"

struct conn;
struct tls_ctx;

struct conn_handler {
    /* Plaintext bytes arrived (decrypted when TLS). */
    void (*on_data)(void *ud, const char *data, size_t len);
    /* TLS handshake finished (direct TLS, or after conn_starttls). */
    void (*on_tls_ready)(void *ud);
    /* The peer closed, an I/O or TLS error happened, or conn_close finished.
     * err is 0 for an orderly close, else a negative errno/UV code.
     * The conn is freed right after this returns. */
    void (*on_close)(void *ud, int err);
    /* The conn was congested and its queue fell to the low-water mark
     * (a quarter of send_queue_max). Called once per congestion, from a
     * write completion, never from inside conn_write. May be NULL. */
    void (*on_drain)(void *ud);
    /* Asked for with conn_next_turn. May be NULL. */
    void (*on_turn)(void *ud);
};

void conn_set_handler(struct conn *c, const struct conn_handler *h, void *ud);

/* Turns: one loop iteration reads what every ready connection sent. A
 * handler that stops consuming a connection's input for this turn (it
 * had its share) asks for its on_turn, which comes once, after the I/O
 * callbacks of the next turn, so that the other connections' input is
 * read and handled in between; until then the loop does not block in
 * poll. Asking again before it came changes nothing. */
void conn_next_turn(struct conn *c);
/* The current turn's number (it counts up), for per-turn budgets. */
uint64_t conn_turn(const struct conn *c);

/* Queues bytes. 0, -ENOBUFS (queue over its limit), -EPIPE (closing). */
int conn_write(struct conn *c, const char *data, size_t len);
/* Bytes queued and not yet sent; 0 once the conn is closed or aborted. */
size_t conn_queued(const struct conn *c);
/* True from the moment conn_write took the queue above the high-water
 * mark (half of send_queue_max) until on_drain is called. */
bool conn_congested(const struct conn *c);
/* Milliseconds (loop time) since the current congestion began; 0 when
 * not congested. */
uint64_t conn_congested_for(const struct conn *c);
/* Adds this conn's queued bytes (conn_queued: plaintext, TLS records and
 * the write in flight) to *total and keeps *total up to date as the queue
 * grows and drains, until the conn closes (conn_close's flush still
 * counts; after conn_abort or the close it counts nothing). *total must
 * outlive the conn; NULL stops counting. One total per conn. */
void conn_count_queue(struct conn *c, size_t *total);

/* Flush marks: cb(ud, 0) once every byte queued by conn_write so far
 * has been handed to the kernel (with TLS: the records carrying them),
 * so a caller can forget data only once it left the process; or
 * cb(ud, err < 0) if the conn closes first (called before on_close).
 * Exactly once either way, never from inside this call; cb may write,
 * add marks or close. 0; -EPIPE (closed: cb will not be called);
 * -ENOMEM. Marks are small; the caller bounds how many it keeps. */
typedef void (*conn_flushed_cb)(void *ud, int status);
int conn_on_flushed(struct conn *c, conn_flushed_cb cb, void *ud);

/* Switches to TLS: bytes read from now on are TLS. Call after queuing
 * <proceed/>; that is flushed in plaintext before the switch. */
int conn_starttls(struct conn *c);
bool conn_is_tls(const struct conn *c);
bool conn_tls_done(const struct conn *c); /* handshake completed */
/* SNI name the client sent, or NULL. */
const char *conn_tls_sni(const struct conn *c);
/* Fills channel-binding data (tls-exporter, tls-server-end-point,
 * tls-unique). */
void conn_channel_binding(const struct conn *c, struct sasl_cb *out);

/* Stops/starts delivering on_data (backpressure, rate limits). */
void conn_pause_read(struct conn *c);
void conn_resume_read(struct conn *c);

/* Orderly close: flushes the queue, sends TLS close_notify, shuts the
 * socket down for writing, then closes; on_close follows. Idempotent. */
void conn_close(struct conn *c);
/* Immediate close, dropping the queue. on_close follows. */
void conn_abort(struct conn *c);

/* Short random id for log lines ("3fa1b2c4"), never an address. */
const char *conn_id(const struct conn *c);
/* Peer address as text, for debug logs and rate limits only. */
const char *conn_peer(const struct conn *c);

/* ---- TLS contexts ---- */

struct tls_cert {
    const char *domain;    /* SNI name it serves (and its subdomains via SAN) */
    const char *cert_file; /* PEM chain */
    const char *key_file;  /* PEM key */
};
/* One server context for all domains: TLS 1.2 and 1.3 only, modern
 * ciphers, SNI picks the domain's certificate (the first is the default),
 * ALPN "xmpp-client" accepted for direct TLS. *err gets a message. */
struct tls_ctx *tls_ctx_new(const struct tls_cert *certs, size_t n, const char *ciphers,
                            const char *ciphersuites, char **err);
void tls_ctx_free(struct tls_ctx *t);
/* Checks that a certificate/key pair loads, matches, is valid now and
 * names domain (directly or by wildcard); taube --check and start-up. */
int tls_check_cert(const char *domain, const char *cert_file, const char *key_file, char **err);

/* ---- listeners ---- */

struct listener;
struct listener_group;
struct listener_opts {
    const char *addr;      /* "127.0.0.1", "::1", "::", "0.0.0.0" */
    int port;              /* 0: pick one (tests) */
    bool direct_tls;       /* XEP-0368: TLS from the first byte */
    struct tls_ctx *tls;   /* for direct TLS and STARTTLS */
    size_t send_queue_max;
    unsigned max_connections; /* over this, pause accepting */
    struct listener_group *group; /* or NULL: max_connections for this listener alone */
};
typedef void (*listener_accept_cb)(void *ud, struct conn *c);
/* Listeners that share one max_connections budget (the group's; the
 * listener's own is then ignored): when the group is full, every member
 * stops accepting. The caller frees the group after its listeners have
 * been stopped. NULL on ENOMEM. */
struct listener_group *listener_group_new(unsigned max_connections);
void listener_group_free(struct listener_group *g);
/* Connections open in the group's listeners. */
unsigned listener_group_count(const struct listener_group *g);
/* Binds and listens. 0 or negative UV error; *err gets a message. */
int listener_start(struct listener **out, uv_loop_t *loop, const struct listener_opts *o,
                   listener_accept_cb cb, void *ud, char **err);
int listener_port(const struct listener *l);
/* Stops accepting; existing connections stay. Frees after close. */
void listener_stop(struct listener *l);
/* A connection owner tells the listener a conn ended (accounting for
 * max_connections and EMFILE back-off); conn.c does it itself. */

#endif
