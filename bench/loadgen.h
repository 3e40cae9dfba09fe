/* loadgen: an XMPP c2s load generator for benchmarks (bench/README.md).
 *
 * One process, one libuv loop, many TLS client connections to 127.0.0.1.
 * Three parts:
 *   scram.c   - SCRAM-SHA-1/256 client (RFC 5802, RFC 7677) with a cache of
 *               derived keys per (hash, password, salt, iterations), so PBKDF2
 *               runs once per account and the client is not the bottleneck;
 *   client.c  - one connection: TCP, STARTTLS over memory BIOs, SASL, bind,
 *               initial presence, then a ping whose answer marks the login
 *               complete; chat messages afterwards;
 *   loadgen.c - the scenarios (idle, churn, subscribe, msgs, offline, flood), timers
 *               and statistics.
 *
 * Ownership: struct lg owns every client; a client is freed only after its
 * uv_close callback, which reports it to lg_client_closed().
 * Everything runs on the loop thread.
 */
#ifndef TAUBE_BENCH_LOADGEN_H
#define TAUBE_BENCH_LOADGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <uv.h>

/* ---- scram.c ---- */

#define SCRAM_MAX_HASH 32 /* SHA-256 */

struct scram_cache;

/* A cache of derived keys; cap entries at most (then keys are computed each
 * time). NULL on allocation failure. */
struct scram_cache *scram_cache_new(size_t cap);
void scram_cache_free(struct scram_cache *sc);

/* One client-side exchange. */
struct scram {
    const EVP_MD *md;
    char nonce[33];
    char first_bare[160];
    unsigned char server_sig[SCRAM_MAX_HASH];
};

/* Writes the client-first-message ("n,,n=user,r=nonce") into out.
 * Returns its length or -errno (-ENOSPC when out is too small). */
int scram_client_first(struct scram *s, const EVP_MD *md, const char *user, char *out,
                       size_t outsz);
/* Answers server-first (n bytes, not base64) with the client-final-message.
 * Returns its length or -EPROTO when the server's message is malformed or does
 * not extend our nonce. */
int scram_client_final(struct scram *s, struct scram_cache *sc, const char *password,
                       const char *server_first, size_t n, char *out, size_t outsz);
/* Checks the server-final-message ("v=..."): 0 when it proves the server knew
 * our keys, -EPROTO otherwise. */
int scram_check_server_final(const struct scram *s, const char *msg, size_t n);

/* Base64 (RFC 4648, padded). encode returns the length written (NUL
 * terminated) or -ENOSPC; decode returns the decoded length or -EINVAL. */
int b64_encode(const void *in, size_t n, char *out, size_t outsz);
int b64_decode(const char *in, size_t n, unsigned char *out, size_t outsz);

/* ---- client.c ---- */

enum client_state {
    C_CONNECTING,
    C_FEAT_PLAIN, /* waiting for the first <stream:features> */
    C_PROCEED,    /* sent <starttls/> */
    C_HANDSHAKE,  /* TLS handshake running */
    C_FEAT_TLS,   /* waiting for features on the encrypted stream */
    C_SASL_CHAL,  /* sent <auth/>, waiting for <challenge/> */
    C_SASL_OK,    /* sent <response/>, waiting for <success/> */
    C_FEAT_AUTH,  /* restarted after SASL, waiting for features */
    C_BIND,       /* sent the bind iq */
    C_PING,       /* sent <presence/> and a ping; its answer ends the login */
    C_ONLINE,
    C_CLOSING,
};

struct lg;

struct client {
    struct lg *lg;
    uv_tcp_t tcp;
    uv_shutdown_t shut;
    SSL *ssl;
    BIO *net_in, *net_out; /* memory BIOs: bytes from / to the socket */
    enum client_state st;
    unsigned user;    /* account number */
    unsigned slot;    /* index in lg->clients */
    uint64_t t0_ns;   /* connect started */
    uint64_t t_state; /* when the current state was entered */
    char *in;         /* received XML not yet consumed (plaintext) */
    size_t in_len, in_cap;
    struct scram *scram; /* during SASL only */
    char jid[96];        /* full JID from bind */
    uint64_t t_presence; /* initial presence sent */
    /* msgs and subscribe scenarios */
    struct client *peer;
    unsigned inflight;
    uint64_t seq;
    unsigned roster_both; /* items with subscription 'both' in the roster result */
    bool sub_sent;        /* we asked for a subscription (RFC 6121 §3.1.1) */
    bool sub_both;        /* a roster push showed a 'both' subscription */
    bool queued;          /* in lg->ready: wants to send more */
    bool is_online;       /* the login completed */
    bool failed;
};

/* Starts a connection for account `user` (the caller zeroes the client and
 * sets lg/user/slot). Returns -errno only when nothing was opened; any later
 * failure closes the client, and every opened client ends in
 * lg_client_closed(). */
int client_start(struct client *c);
/* Writes raw XML on the stream (through TLS when it is up). 0 or -errno. */
int client_send(struct client *c, const char *xml, size_t n);
/* Ends the stream politely and closes; lg_client_closed() follows. */
void client_close(struct client *c);
/* Asks the account `bare` (a bare JID) for a presence subscription. */
int client_subscribe(struct client *c, const char *bare);
/* Bytes queued in libuv for this client's socket. */
size_t client_write_queue(const struct client *c);

/* ---- loadgen.c: the scenario side, called by client.c ---- */

struct lg_opts {
    const char *host;
    int port;
    const char *domain;
    const char *user_fmt; /* printf format with one %u */
    const char *password;
    unsigned users;
    unsigned concurrency;
    double seconds;
    unsigned conns[4]; /* idle: cumulative connection counts to measure at */
    size_t n_conns;
    int server_pid; /* 0: none */
    double settle;
    unsigned pairs, window;
    bool roster;       /* log in with a roster get before initial presence */
    unsigned messages; /* offline: messages stored per round */
    unsigned rounds;   /* offline: rounds */
    unsigned senders;  /* flood: clients storing messages for offline accounts */
    int verbose;
};

struct lg {
    uv_loop_t *loop;
    SSL_CTX *ctx;
    const struct lg_opts *o;
    struct scram_cache *cache;
    struct client **clients;
    size_t n_clients;
    char rbuf[65536]; /* the read buffer every read callback gets */
    /* counters */
    uint64_t started, online, failed, closed;
    unsigned live;       /* clients not yet closed */
    unsigned connecting; /* started, not yet online or closed */
    bool stopping;
    int phase;
    /* msgs */
    bool sending, measuring;
    struct client **ready; /* clients to top up after this loop turn */
    size_t n_ready;
    uint64_t sent, received, measured;
    uint64_t presences; /* presence stanzas received (any scenario) */
    uint64_t bounced;   /* message errors received */
    uint32_t *hist;     /* latency histogram, HIST_STEP_US per bucket */
    uint64_t hist_over;
    int errors_logged;
    uint64_t state_ns[C_CLOSING + 1]; /* time spent in each state, all clients */
    uint64_t state_n[C_CLOSING + 1];
};

uint64_t lg_now_ns(void);
const char *lg_user_name(const struct lg *lg, unsigned user, char *buf, size_t n);
void lg_client_online(struct lg *lg, struct client *c);
void lg_client_closed(struct lg *lg, struct client *c);
/* A <message/> with a body arrived; e is the whole element, NUL terminated. */
void lg_client_message(struct lg *lg, struct client *c, const char *e, const char *body, size_t n);
/* A roster push showed the subscription with this client's peer as 'both'
 * (called once per client). */
void lg_client_subscribed(struct lg *lg, struct client *c);
/* An iq result with an id other than the login's ping arrived. */
void lg_client_iq_result(struct lg *lg, struct client *c, const char *id);
/* Logs at most a few distinct errors, then stays quiet. */
void lg_error(struct lg *lg, const struct client *c, const char *what);
/* Names of the client states, for reports. */
const char *client_state_name(enum client_state st);

#endif
