/* Internals shared by conn.c, tls.c and listener.c; nothing else includes
 * this. The public contract is conn.h.
 *
 * struct net_ctx is the per-listener shared state: the read scratch buffer
 * every conn of the listener reads into (so idle conns hold no read
 * buffer), the buffer decrypted bytes land in, and the list of conns with
 * work for the end of the loop turn (flush, or input kept while paused).
 * It is reference-counted by its listener and each of its conns, so a
 * stopped listener's conns keep working. Loop thread only.
 */
#ifndef TAUBE_NET_INTERNAL_H
#define TAUBE_NET_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <openssl/ssl.h>
#include <uv.h>

#include "core/buf.h"
#include "net/conn.h"

#define NET_SCRATCH_SIZE (64 * 1024)
#define NET_PLAIN_SIZE (16 * 1024) /* one TLS record of plaintext */
#define NET_DEFAULT_QUEUE_MAX ((size_t)1 << 20)

struct net_ctx {
    uv_loop_t *loop;
    uv_prepare_t prepare; /* runs the work list before poll (timers' writes) */
    uv_check_t check;     /* and after poll (I/O callbacks' writes) */
    uv_idle_t idle;       /* keeps poll from blocking while work is left */
    struct conn *work;    /* conns to flush or to feed saved input */
    struct conn *turn_asked; /* conn_next_turn during this turn */
    struct conn *turn_due;   /* their on_turn, after this turn's poll */
    uint64_t turn;           /* counts loop turns (each prepare) */
    struct listener *listener; /* NULL once stopped */
    unsigned nconns;
    unsigned refs;
    int handles_open;
    char scratch[NET_SCRATCH_SIZE];
    char plain[NET_PLAIN_SIZE];
};

/* What the custom BIO of one TLS conn reads from and writes to: reads
 * come straight from the libuv read buffer (no copy into a memory BIO),
 * records are appended to the conn's wire buffer. */
struct tls_io {
    const char *in;
    size_t in_len;
    struct buf *out;
    int err; /* -ENOMEM from the write side, else 0 */
};

/* conn.c: uv_close(h, cb) counted in *open, skipped if already closing. */
void net_close_handle(int *open, uv_handle_t *h, uv_close_cb cb);

/* net_ctx (conn.c) */
struct net_ctx *net_ctx_new(uv_loop_t *loop);
void net_ctx_unref(struct net_ctx *ctx);

/* conn.c: wraps an accepted socket (takes fd, closes it on failure).
 * tls may be NULL (no STARTTLS); direct_tls starts the conn in TLS. */
struct conn *conn_from_fd(struct net_ctx *ctx, int fd, const struct sockaddr *peer,
                          struct tls_ctx *tls, bool direct_tls, size_t send_queue_max);

/* listener.c: a conn of this listener was freed. */
void listener_conn_gone(struct listener *l);

/* tls.c */
struct tls_ctx *tls_ctx_ref(struct tls_ctx *t);
/* A server-side SSL doing its I/O through io. NULL on failure. */
SSL *tls_ssl_new(struct tls_ctx *t, struct tls_io *io);
/* Channel-binding data of a finished handshake. */
void tls_channel_binding(const struct tls_ctx *t, SSL *ssl, struct sasl_cb *out);
/* Logs the OpenSSL error queue at debug level and clears it. */
void tls_log_errors(const char *id, const char *what);

#endif
