/* Transport tests: a libuv loop with a listener on 127.0.0.1 (port 0) in
 * the test thread, a blocking-socket client (plain or OpenSSL) in a second
 * thread. cmocka is not thread-safe: the client only records what went
 * wrong in cli.err, the test thread asserts. Certificates are generated
 * into a temporary directory by the test itself. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "core/buf.h"
#include "net/conn.h"

#define BIG_TOTAL ((size_t)8 << 20)
#define BIG_QUEUE_MAX ((size_t)1 << 20)
#define BIG_CHUNK ((size_t)64 << 10)
/* Far more than the kernel buffers (tcp_wmem max is a few MiB) hold. */
#define FLOOD_QUEUE_MAX ((size_t)16 << 20)

/* ---- certificates ---- */

struct certs {
    char dir[64];
    char crt[3][128], key[3][128]; /* example.org, other.test, expired */
};

static int write_pem(const char *crt, const char *keyf, X509 *x, EVP_PKEY *k)
{
    FILE *f = fopen(crt, "w");
    FILE *g = fopen(keyf, "w");
    int ok =
        f && g && PEM_write_X509(f, x) && PEM_write_PrivateKey(g, k, NULL, NULL, 0, NULL, NULL);
    if (f)
        fclose(f);
    if (g)
        fclose(g);
    return ok ? 0 : -1;
}

static int gen_cert(const char *crt, const char *keyf, const char *cn, long from, long to)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    if (!k || !x)
        return -1;
    char san[160];
    snprintf(san, sizeof san, "DNS:%s,DNS:*.%s", cn, cn);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), from);
    X509_gmtime_adj(X509_getm_notAfter(x), to);
    X509_set_pubkey(x, k);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, n);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san);
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    int rc = X509_sign(x, k, EVP_sha256()) > 0 ? write_pem(crt, keyf, x, k) : -1;
    X509_free(x);
    EVP_PKEY_free(k);
    return rc;
}

static struct certs g_certs; /* written once by main(), read-only afterwards */

static int make_certs(struct certs *c)
{
    snprintf(c->dir, sizeof c->dir, "/tmp/test_conn.XXXXXX");
    if (!mkdtemp(c->dir))
        return -1;
    const char *names[3] = {"example.org", "other.test", "old.test"};
    char dir[sizeof c->dir]; /* a copy: gcc -O1 sees c->dir as overlapping */
    memcpy(dir, c->dir, sizeof dir);
    for (int i = 0; i < 3; i++) {
        snprintf(c->crt[i], sizeof c->crt[i], "%s/%s.crt", dir, names[i]);
        snprintf(c->key[i], sizeof c->key[i], "%s/%s.key", dir, names[i]);
        long from = i == 2 ? -7200 : -60, to = i == 2 ? -3600 : 86400;
        if (gen_cert(c->crt[i], c->key[i], names[i], from, to) < 0)
            return -1;
    }
    return 0;
}

static void remove_certs(struct certs *c)
{
    for (int i = 0; i < 3; i++) {
        unlink(c->crt[i]);
        unlink(c->key[i]);
    }
    rmdir(c->dir);
}

static struct tls_ctx *make_tls(void)
{
    struct tls_cert tc[2] = {
        {"example.org", g_certs.crt[0], g_certs.key[0]},
        {"other.test", g_certs.crt[1], g_certs.key[1]},
    };
    char *err = NULL;
    struct tls_ctx *t = tls_ctx_new(tc, 2, NULL, NULL, &err);
    if (!t)
        fprintf(stderr, "tls_ctx_new: %s\n", err ? err : "?");
    free(err);
    return t;
}

/* ---- the server side ---- */

struct srv {
    uv_loop_t loop;
    struct listener *l;
    uv_timer_t watchdog, ticker;
    struct tls_ctx *tls;
    int port;
    int expect_closes, closes, accepts;
    bool timed_out;
    int close_err[4];
    int tls_ready;
    bool plain_cb_tls;   /* channel binding of a plaintext conn said tls */
    char sni[80];
    struct sasl_cb cb;
    bool have_cb;
    /* big write */
    struct conn *big;
    size_t big_sent, big_max_queued;
    int big_enobufs, big_over_limit_rc;
    /* pause test */
    int pauses, data_while_paused;
    struct conn *paused;
    /* congestion test */
    size_t flood_sent, queued_at_drain;
    bool congested_after_flood, congested_at_drain, reader_at_drain;
    int drains;
    atomic_bool *reader_started; /* set by the client thread */
    struct conn *flooded;
    uint64_t congested_ms_max; /* conn_congested_for, sampled every 10 ms */
    /* conn_count_queue: the total over all conns, and checks of it */
    size_t total, total_after_flood, queued_after_flood, total_at_drain;
    int total_mismatches;
    /* flush marks: status and closes seen when each fired */
    int marks, mark_status[4], closes_at_mark[4];
    size_t queued_at_mark[4];
    struct conn *marked;
    /* turns: the turn conn_next_turn was asked in, the one on_turn ran in */
    int turns;
    uint64_t turn_asked, turn_ran;
};

struct sconn {
    struct srv *s;
    struct conn *c;
    struct buf line;
};

static void finish_if_done(struct srv *s)
{
    if (s->closes < s->expect_closes)
        return;
    listener_stop(s->l);
    s->l = NULL;
    uv_close((uv_handle_t *)&s->watchdog, NULL);
    uv_close((uv_handle_t *)&s->ticker, NULL);
}

static void big_tick(uv_timer_t *t)
{
    struct srv *s = t->data;
    static char chunk[BIG_CHUNK];
    while (s->big && s->big_sent < BIG_TOTAL) {
        size_t n = BIG_TOTAL - s->big_sent < BIG_CHUNK ? BIG_TOTAL - s->big_sent : BIG_CHUNK;
        for (size_t i = 0; i < n; i++)
            chunk[i] = (char)((s->big_sent + i) % 251);
        int rc = conn_write(s->big, chunk, n);
        size_t q = conn_queued(s->big);
        if (s->total != q) /* the one conn of the test: the total is its queue */
            s->total_mismatches++;
        if (q > s->big_max_queued)
            s->big_max_queued = q;
        if (rc == -ENOBUFS) {
            s->big_enobufs++;
            return; /* try again next tick */
        }
        if (rc < 0)
            return;
        s->big_sent += n;
    }
    if (s->big) {
        conn_close(s->big);
        s->big = NULL;
        uv_timer_stop(t);
    }
}

static void congestion_tick(uv_timer_t *t)
{
    struct srv *s = t->data;
    if (!s->flooded)
        return;
    uint64_t ms = conn_congested_for(s->flooded);
    if (ms > s->congested_ms_max)
        s->congested_ms_max = ms;
}

/* Queues pattern bytes up to three quarters of the queue limit in one
 * turn: far above the high-water mark, and more than the kernel takes
 * while the client does not read. Then closes in order (the queue still
 * drains). */
static void flood(struct srv *s, struct conn *c)
{
    static char chunk[BIG_CHUNK];
    s->flood_sent = 0;
    while (s->flood_sent + BIG_CHUNK <= FLOOD_QUEUE_MAX / 4 * 3) {
        for (size_t i = 0; i < BIG_CHUNK; i++)
            chunk[i] = (char)((s->flood_sent + i) % 251);
        if (conn_write(c, chunk, BIG_CHUNK) < 0)
            break;
        s->flood_sent += BIG_CHUNK;
    }
    s->congested_after_flood = conn_congested(c);
    s->queued_after_flood = conn_queued(c);
    s->total_after_flood = s->total;
    s->flooded = c;
    uv_timer_start(&s->ticker, congestion_tick, 0, 10);
    conn_close(c);
}

static void on_mark(void *ud, int status)
{
    struct srv *s = ud;
    if (s->marks < 4) {
        s->mark_status[s->marks] = status;
        s->closes_at_mark[s->marks] = s->closes;
        s->queued_at_mark[s->marks] = s->marked ? conn_queued(s->marked) : 0;
    }
    s->marks++;
}

/* MARK: a line, then two marks on it (both fire, in order, once it left).
 * HOLD: more than the kernel takes from a client that does not read,
 * then a mark that can only fire with an error when the client resets. */
static void mark_command(struct srv *s, struct conn *c, bool hold)
{
    static char chunk[BIG_CHUNK];
    s->marked = c;
    if (hold)
        for (size_t sent = 0; sent + BIG_CHUNK <= FLOOD_QUEUE_MAX / 2; sent += BIG_CHUNK)
            conn_write(c, chunk, BIG_CHUNK);
    else
        conn_write(c, "M\n", 2);
    assert_int_equal(conn_on_flushed(c, on_mark, s), 0);
    if (!hold)
        assert_int_equal(conn_on_flushed(c, on_mark, s), 0);
    assert_int_equal(s->marks, 0); /* never from inside the call */
}

static void handle_line(struct sconn *sc, const char *line)
{
    struct srv *s = sc->s;
    struct conn *c = sc->c;
    if (strcmp(line, "STARTTLS") == 0) {
        struct sasl_cb cb;
        conn_channel_binding(c, &cb);
        s->plain_cb_tls = cb.tls;
        conn_write(c, "PROCEED\n", 8);
        conn_starttls(c);
    } else if (strcmp(line, "QUIT") == 0) {
        conn_write(c, "BYE\n", 4);
        conn_close(c);
    } else if (strcmp(line, "SNI") == 0) {
        const char *n = conn_tls_sni(c);
        snprintf(s->sni, sizeof s->sni, "%s", n ? n : "(none)");
        conn_write(c, "OK\n", 3);
    } else if (strcmp(line, "CB") == 0) {
        conn_channel_binding(c, &s->cb);
        s->have_cb = true;
        conn_write(c, "OK\n", 3);
    } else if (strcmp(line, "BIG") == 0) {
        static char over[BIG_QUEUE_MAX + 1];
        s->big_over_limit_rc = conn_write(c, over, sizeof over);
        s->big = c;
        uv_timer_start(&s->ticker, big_tick, 0, 1);
    } else if (strcmp(line, "FLOOD") == 0) {
        flood(s, c);
    } else if (strcmp(line, "TURN") == 0) {
        s->turn_asked = conn_turn(c);
        conn_next_turn(c);
        conn_next_turn(c); /* asking again changes nothing */
    } else if (strcmp(line, "MARK") == 0 || strcmp(line, "HOLD") == 0) {
        mark_command(s, c, line[0] == 'H');
    } else if (line[0] == 'P') {
        /* Pause after every line; the ticker resumes. */
        conn_write(c, line, strlen(line));
        conn_write(c, "\n", 1);
        conn_pause_read(c);
        s->pauses++;
        s->paused = c;
    } else {
        conn_write(c, line, strlen(line));
        conn_write(c, "\n", 1);
    }
}

static void on_data(void *ud, const char *data, size_t len)
{
    struct sconn *sc = ud;
    if (sc->s->paused == sc->c)
        sc->s->data_while_paused++;
    for (size_t i = 0; i < len; i++) {
        if (data[i] != '\n') {
            if (buf_append(&sc->line, data + i, 1) < 0)
                return;
            continue;
        }
        char line[256];
        snprintf(line, sizeof line, "%s", sc->line.data ? sc->line.data : "");
        buf_reset(&sc->line);
        handle_line(sc, line);
        /* A pause stops delivery: keep the rest for later, like c2s would
         * (this handler simply keeps parsing what it already has). */
    }
}

static void on_tls_ready(void *ud)
{
    struct sconn *sc = ud;
    sc->s->tls_ready++;
}

static void on_close(void *ud, int err)
{
    struct sconn *sc = ud;
    struct srv *s = sc->s;
    if (s->closes < 4)
        s->close_err[s->closes] = err;
    s->closes++;
    if (s->big == sc->c)
        s->big = NULL;
    if (s->paused == sc->c)
        s->paused = NULL;
    if (s->flooded == sc->c)
        s->flooded = NULL;
    if (s->marked == sc->c)
        s->marked = NULL;
    buf_free(&sc->line);
    free(sc);
    finish_if_done(s);
}

static void on_drain(void *ud)
{
    struct sconn *sc = ud;
    struct srv *s = sc->s;
    s->drains++;
    s->queued_at_drain = conn_queued(sc->c);
    s->congested_at_drain = conn_congested(sc->c);
    s->total_at_drain = s->total;
    if (conn_congested_for(sc->c) != 0)
        s->total_mismatches++;
    s->reader_at_drain = s->reader_started && atomic_load(s->reader_started);
}

/* Asked for by TURN: once, in a later turn, with nothing else to wake
 * the loop (the client waits for the answer). */
static void on_turn(void *ud)
{
    struct sconn *sc = ud;
    sc->s->turns++;
    sc->s->turn_ran = conn_turn(sc->c);
    conn_write(sc->c, "TURNED\n", 7);
}

static const struct conn_handler handler = {on_data, on_tls_ready, on_close, on_drain, on_turn};

static void on_accept(void *ud, struct conn *c)
{
    struct srv *s = ud;
    struct sconn *sc = calloc(1, sizeof *sc);
    assert_non_null(sc);
    sc->s = s;
    sc->c = c;
    buf_init(&sc->line, 4096);
    s->accepts++;
    assert_int_equal(strlen(conn_id(c)), 8);
    conn_set_handler(c, &handler, sc);
    conn_count_queue(c, &s->total);
}

static void on_watchdog(uv_timer_t *t)
{
    struct srv *s = t->data;
    s->timed_out = true;
    s->closes = s->expect_closes;
    finish_if_done(s);
}

static void resume_tick(uv_timer_t *t)
{
    struct srv *s = t->data;
    if (s->paused) {
        conn_resume_read(s->paused);
        s->paused = NULL;
    }
}

static void srv_init_max(struct srv *s, bool direct_tls, bool with_tls, size_t queue_max,
                         int closes, unsigned max_conn)
{
    memset(s, 0, sizeof *s);
    assert_int_equal(uv_loop_init(&s->loop), 0);
    s->tls = with_tls ? make_tls() : NULL;
    if (with_tls)
        assert_non_null(s->tls);
    struct listener_opts o = {"127.0.0.1", 0, direct_tls, s->tls, queue_max, max_conn, NULL};
    char *err = NULL;
    int rc = listener_start(&s->l, &s->loop, &o, on_accept, s, &err);
    assert_int_equal(rc, 0);
    assert_null(err);
    s->port = listener_port(s->l);
    assert_true(s->port > 0);
    s->expect_closes = closes;
    uv_timer_init(&s->loop, &s->watchdog);
    uv_timer_init(&s->loop, &s->ticker);
    s->watchdog.data = s->ticker.data = s;
    uv_timer_start(&s->watchdog, on_watchdog, 8000, 0);
}

static void srv_init(struct srv *s, bool direct_tls, bool with_tls, size_t queue_max, int closes)
{
    srv_init_max(s, direct_tls, with_tls, queue_max, closes, 0);
}

/* Frees what srv_init made once the loop has stopped; every handle the
 * test added to the loop must be closing by then. */
static void srv_free(struct srv *s)
{
    tls_ctx_free(s->tls);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&s->loop), 0);
    assert_false(s->timed_out);
}

/* Runs the loop while client(arg) runs in a second thread, then frees. */
static void srv_run(struct srv *s, void *(*client)(void *), void *arg)
{
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, client, arg), 0);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    pthread_join(th, NULL);
    srv_free(s);
}

/* ---- the client side (second thread) ---- */

struct cli {
    int port;
    char err[256];
    /* options */
    int max_version;
    bool no_ems, alpn, alpn_h2_only, lowsec, rst, resume;
    const char *sni;
    SSL_SESSION *session;
    int prefd; /* > 0: a socket made before the test ran out of fds */
    bool small_rcvbuf; /* a slow reader: the kernel holds little for it */
    atomic_bool reader_started;
    /* results */
    char alpn_got[32], peer_cn[64];
    bool reused;
    uint8_t exporter[32], endpoint[32];
    bool got_exporter;
    size_t big_got;
};

__attribute__((format(printf, 2, 3))) static void *cli_fail(struct cli *k, const char *fmt, ...)
{
    if (k->err[0])
        return NULL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(k->err, sizeof k->err, fmt, ap);
    va_end(ap);
    return NULL;
}

static int cli_connect(struct cli *k)
{
    int fd = k->prefd > 0 ? k->prefd : socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)k->port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int rcvbuf = 4096;
    if (k->small_rcvbuf) /* before connect: it sets the window offered */
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Makes the coming close() send a RST instead of a FIN. */
static void cli_set_rst(int fd)
{
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

/* Reads one line byte by byte (so no TLS byte after it is consumed). */
static bool plain_line(int fd, const char *want)
{
    char got[128];
    size_t n = 0;
    while (n + 1 < sizeof got) {
        if (recv(fd, got + n, 1, 0) != 1)
            break;
        if (got[n++] == '\n')
            break;
    }
    got[n] = '\0';
    return strcmp(got, want) == 0;
}

static bool plain_send(int fd, const char *s)
{
    return send(fd, s, strlen(s), MSG_NOSIGNAL) == (ssize_t)strlen(s);
}

static bool tls_line(SSL *ssl, const char *want)
{
    char got[128];
    size_t n = 0;
    while (n + 1 < sizeof got) {
        if (SSL_read(ssl, got + n, 1) != 1)
            break;
        if (got[n++] == '\n')
            break;
    }
    got[n] = '\0';
    return strcmp(got, want) == 0;
}

static bool tls_send(SSL *ssl, const char *s)
{
    return SSL_write(ssl, s, (int)strlen(s)) == (int)strlen(s);
}

static SSL *cli_tls(struct cli *k, int fd, SSL_CTX **out_ctx)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (k->lowsec) {
        SSL_CTX_set_security_level(ctx, 0);
        SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
        SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
    }
    if (k->max_version)
        SSL_CTX_set_max_proto_version(ctx, k->max_version);
    if (k->no_ems)
        SSL_CTX_set_options(ctx, SSL_OP_NO_EXTENDED_MASTER_SECRET);
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (k->sni)
        SSL_set_tlsext_host_name(ssl, k->sni);
    if (k->alpn)
        SSL_set_alpn_protos(ssl, (const unsigned char *)"\x02h2\x0bxmpp-client", 15);
    if (k->alpn_h2_only)
        SSL_set_alpn_protos(ssl, (const unsigned char *)"\x02h2", 3);
    if (k->session)
        SSL_set_session(ssl, k->session);
    *out_ctx = ctx;
    if (SSL_connect(ssl) != 1) {
        ERR_clear_error();
        SSL_free(ssl);
        SSL_CTX_free(ctx);
        *out_ctx = NULL;
        return NULL;
    }
    return ssl;
}

static void cli_tls_free(SSL *ssl, SSL_CTX *ctx)
{
    SSL_free(ssl);
    SSL_CTX_free(ctx);
}

/* A client connection: a socket and, over TLS, its session (else NULL). */
struct cli_conn {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
};

/* Connects and, when tls, completes the handshake. On failure records
 * "connect" or "handshake failed" in k->err, leaves nothing open and
 * returns false. */
static bool cli_open(struct cli *k, bool tls, struct cli_conn *cc)
{
    *cc = (struct cli_conn){.fd = cli_connect(k)};
    if (cc->fd < 0) {
        cli_fail(k, "connect");
        return false;
    }
    if (tls && !(cc->ssl = cli_tls(k, cc->fd, &cc->ctx))) {
        close(cc->fd);
        cli_fail(k, "handshake failed");
        return false;
    }
    return true;
}

static void cli_close(struct cli_conn *cc)
{
    if (cc->ssl)
        cli_tls_free(cc->ssl, cc->ctx);
    close(cc->fd);
}

static bool cc_send(const struct cli_conn *cc, const char *s)
{
    return cc->ssl ? tls_send(cc->ssl, s) : plain_send(cc->fd, s);
}

static bool cc_line(const struct cli_conn *cc, const char *want)
{
    return cc->ssl ? tls_line(cc->ssl, want) : plain_line(cc->fd, want);
}

/* Reads the orderly close: BYE, close_notify, EOF. */
static void *tls_quit(struct cli *k, SSL *ssl)
{
    if (!tls_send(ssl, "QUIT\n") || !tls_line(ssl, "BYE\n"))
        return cli_fail(k, "no BYE over TLS");
    char c;
    if (SSL_read(ssl, &c, 1) != 0 || SSL_get_error(ssl, 0) != SSL_ERROR_ZERO_RETURN)
        return cli_fail(k, "no close_notify");
    SSL_shutdown(ssl); /* answer it: else OpenSSL marks the session bad */
    return NULL;
}

/* Sends a query the server answers with OK, then closes in order. */
static void tls_query_quit(struct cli *k, SSL *ssl, const char *query)
{
    char line[16];
    snprintf(line, sizeof line, "%s\n", query);
    if (!tls_send(ssl, line) || !tls_line(ssl, "OK\n"))
        cli_fail(k, "%s query", query);
    else
        tls_quit(k, ssl);
}

/* ---- test 1: plaintext echo, STARTTLS, echo over TLS, orderly close ---- */

static void *client_starttls(void *arg)
{
    struct cli *k = arg;
    int fd = cli_connect(k);
    if (fd < 0)
        return cli_fail(k, "connect");
    if (!plain_send(fd, "hello\n") || !plain_line(fd, "hello\n"))
        cli_fail(k, "plain echo");
    else if (!plain_send(fd, "STARTTLS\n") || !plain_line(fd, "PROCEED\n"))
        cli_fail(k, "no PROCEED");
    SSL_CTX *ctx = NULL;
    SSL *ssl = k->err[0] ? NULL : cli_tls(k, fd, &ctx);
    if (!ssl && !k->err[0])
        cli_fail(k, "TLS handshake after STARTTLS failed");
    if (ssl && (!tls_send(ssl, "secure\n") || !tls_line(ssl, "secure\n")))
        cli_fail(k, "TLS echo");
    if (ssl && !k->err[0])
        tls_quit(k, ssl);
    if (ssl)
        cli_tls_free(ssl, ctx);
    close(fd);
    return NULL;
}

static void test_starttls_echo(void **state)
{
    (void)state;
    struct srv s;
    srv_init(&s, false, true, 0, 1);
    struct cli k = {.port = s.port, .sni = "example.org"};
    srv_run(&s, client_starttls, &k);
    assert_string_equal(k.err, "");
    assert_int_equal(s.tls_ready, 1);
    assert_false(s.plain_cb_tls);
    assert_int_equal(s.close_err[0], 0); /* our orderly close */
}

/* ---- test 2: direct TLS, ALPN and SNI ---- */

static void peer_cn(SSL *ssl, char *out, size_t len)
{
    X509 *x = SSL_get1_peer_certificate(ssl);
    out[0] = '\0';
    if (x)
        X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, out, (int)len);
    X509_free(x);
}

static void direct_once(struct cli *k)
{
    struct cli_conn cc;
    if (!cli_open(k, true, &cc))
        return;
    const unsigned char *p = NULL;
    unsigned int plen = 0;
    SSL_get0_alpn_selected(cc.ssl, &p, &plen);
    snprintf(k->alpn_got, sizeof k->alpn_got, "%.*s", (int)plen, p ? (const char *)p : "");
    peer_cn(cc.ssl, k->peer_cn, sizeof k->peer_cn);
    tls_query_quit(k, cc.ssl, "SNI");
    k->reused = SSL_session_reused(cc.ssl) == 1;
    if (k->resume && !k->session)
        k->session = SSL_get1_session(cc.ssl);
    cli_close(&cc);
}

/* With resume, a second connection offers the first one's ticket. */
static void *client_direct(void *arg)
{
    struct cli *k = arg;
    direct_once(k);
    if (k->resume && !k->err[0]) {
        if (!k->session)
            return cli_fail(k, "no session ticket");
        direct_once(k);
    }
    SSL_SESSION_free(k->session);
    k->session = NULL;
    return NULL;
}

static void *client_expect_refused(void *arg);

static void test_direct_tls_alpn_sni(void **state)
{
    (void)state;
    struct srv s;
    srv_init(&s, true, true, 0, 1);
    struct cli k = {.port = s.port, .alpn = true, .sni = "conference.other.test"};
    srv_run(&s, client_direct, &k);
    assert_string_equal(k.err, "");
    assert_string_equal(k.alpn_got, "xmpp-client");
    assert_string_equal(k.peer_cn, "other.test"); /* parent domain's cert */
    assert_string_equal(s.sni, "conference.other.test");
    assert_int_equal(s.tls_ready, 1);

    /* No SNI, no ALPN: the default (first) certificate; then resumption
     * with the ticket from the first connection. */
    srv_init(&s, true, true, 0, 2);
    struct cli k2 = {.port = s.port, .resume = true};
    srv_run(&s, client_direct, &k2);
    assert_string_equal(k2.err, "");
    assert_string_equal(k2.alpn_got, "");
    assert_string_equal(k2.peer_cn, "example.org");
    assert_string_equal(s.sni, "(none)");
    assert_true(k2.reused);
    assert_int_equal(s.tls_ready, 2);

    /* ALPN offering only another protocol: refused (ALPACA). */
    srv_init(&s, true, true, 0, 1);
    struct cli k3 = {.port = s.port, .alpn_h2_only = true};
    srv_run(&s, client_expect_refused, &k3);
    assert_string_equal(k3.err, "");
    assert_int_equal(s.close_err[0], -EPROTO);
}

/* ---- test 3: TLS 1.1 is refused ---- */

static void *client_expect_refused(void *arg)
{
    struct cli *k = arg;
    int fd = cli_connect(k);
    if (fd < 0)
        return cli_fail(k, "connect");
    SSL_CTX *ctx = NULL;
    SSL *ssl = cli_tls(k, fd, &ctx);
    if (ssl) {
        cli_fail(k, "handshake succeeded with %s", SSL_get_version(ssl));
        cli_tls_free(ssl, ctx);
    }
    close(fd);
    return NULL;
}

static void test_tls11_refused(void **state)
{
    (void)state;
    struct srv s;
    srv_init(&s, true, true, 0, 1);
    struct cli k = {.port = s.port, .max_version = TLS1_1_VERSION, .lowsec = true};
    srv_run(&s, client_expect_refused, &k);
    assert_string_equal(k.err, "");
    assert_int_equal(s.tls_ready, 0);
    /* The server saw a ClientHello and failed it (not a mere EOF). */
    assert_int_equal(s.close_err[0], -EPROTO);
}

/* ---- test 4: channel binding ---- */

static void *client_cb(void *arg)
{
    struct cli *k = arg;
    struct cli_conn cc;
    if (!cli_open(k, true, &cc))
        return NULL;
    k->got_exporter = SSL_export_keying_material(cc.ssl, k->exporter, 32,
                                                 "EXPORTER-Channel-Binding", 24, NULL, 0, 0) == 1;
    X509 *x = SSL_get1_peer_certificate(cc.ssl);
    unsigned int len = 0;
    if (!x || !X509_digest(x, EVP_sha256(), k->endpoint, &len) || len != 32)
        cli_fail(k, "peer certificate digest");
    X509_free(x);
    tls_query_quit(k, cc.ssl, "CB");
    cli_close(&cc);
    return NULL;
}

static void run_cb(int max_version, bool no_ems, bool expect_exporter)
{
    struct srv s;
    srv_init(&s, true, true, 0, 1);
    struct cli k = {.port = s.port, .max_version = max_version, .no_ems = no_ems};
    srv_run(&s, client_cb, &k);
    assert_string_equal(k.err, "");
    assert_true(s.have_cb);
    assert_true(s.cb.tls);
    assert_int_equal(s.cb.have_exporter, expect_exporter);
    if (expect_exporter) {
        assert_true(k.got_exporter);
        assert_memory_equal(s.cb.exporter, k.exporter, 32);
    }
    /* ECDSA with SHA-256 → SHA-256 of the certificate. */
    assert_int_equal(s.cb.endpoint_len, 32);
    assert_memory_equal(s.cb.endpoint, k.endpoint, 32);
}

static void test_channel_binding(void **state)
{
    (void)state;
    run_cb(0, false, true);               /* TLS 1.3 */
    run_cb(TLS1_2_VERSION, false, true);  /* TLS 1.2 with extended master secret */
    run_cb(TLS1_2_VERSION, true, false);  /* TLS 1.2 without: no tls-exporter */
}

/* ---- test 5: a large write, with the queue limit ---- */

static void *client_big(void *arg)
{
    struct cli *k = arg;
    struct cli_conn cc;
    if (!cli_open(k, k->sni != NULL, &cc))
        return NULL;
    SSL *ssl = cc.ssl;
    if (!cc_send(&cc, "BIG\n"))
        cli_fail(k, "send BIG");
    usleep(200 * 1000); /* let the server hit its queue limit first */
    char buf[16384];
    for (;;) {
        int n = ssl ? SSL_read(ssl, buf, sizeof buf) : (int)recv(cc.fd, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        for (int i = 0; i < n; i++)
            if (buf[i] != (char)((k->big_got + (size_t)i) % 251)) {
                cli_fail(k, "byte %zu differs", k->big_got + (size_t)i);
                break;
            }
        k->big_got += (size_t)n;
    }
    if (ssl && SSL_get_error(ssl, 0) != SSL_ERROR_ZERO_RETURN)
        cli_fail(k, "no close_notify after the big write");
    cli_close(&cc);
    return NULL;
}

static void run_big(bool tls)
{
    struct srv s;
    srv_init(&s, tls, tls, BIG_QUEUE_MAX, 1);
    struct cli k = {.port = s.port, .sni = tls ? "example.org" : NULL};
    srv_run(&s, client_big, &k);
    assert_string_equal(k.err, "");
    assert_int_equal(s.big_over_limit_rc, -ENOBUFS);
    assert_true(s.big_enobufs > 0);
    /* The limit is on what the writer may queue; TLS framing added at the
     * flush (22 bytes a 16 KiB record) may sit on top of it. */
    size_t slack = tls ? BIG_QUEUE_MAX / 256 : 0;
    assert_true(s.big_max_queued <= BIG_QUEUE_MAX + slack);
    assert_int_equal(s.big_sent, BIG_TOTAL);
    assert_int_equal(k.big_got, BIG_TOTAL);
    assert_int_equal(s.close_err[0], 0);
    assert_int_equal(s.total_mismatches, 0);
    assert_int_equal(s.total, 0);
}

static void test_big_write_plain(void **state)
{
    (void)state;
    run_big(false);
}

static void test_big_write_tls(void **state)
{
    (void)state;
    run_big(true);
}

/* ---- congestion: high-water mark and on_drain ---- */

static void *client_slow(void *arg)
{
    struct cli *k = arg;
    struct cli_conn cc;
    if (!cli_open(k, k->sni != NULL, &cc))
        return NULL;
    if (!cc_send(&cc, "FLOOD\n"))
        cli_fail(k, "send FLOOD");
    usleep(300 * 1000); /* not reading: the server's queue stays full */
    atomic_store(&k->reader_started, true);
    char buf[16384];
    for (;;) {
        int n = cc.ssl ? SSL_read(cc.ssl, buf, sizeof buf) : (int)recv(cc.fd, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        for (int i = 0; i < n; i++)
            if (buf[i] != (char)((k->big_got + (size_t)i) % 251)) {
                cli_fail(k, "byte %zu differs", k->big_got + (size_t)i);
                break;
            }
        k->big_got += (size_t)n;
    }
    cli_close(&cc);
    return NULL;
}

static void run_congestion(bool tls)
{
    struct srv s;
    srv_init(&s, tls, tls, FLOOD_QUEUE_MAX, 1);
    struct cli k = {.port = s.port, .sni = tls ? "example.org" : NULL, .small_rcvbuf = true};
    s.reader_started = &k.reader_started;
    srv_run(&s, client_slow, &k);
    assert_string_equal(k.err, "");
    assert_int_equal(s.flood_sent, FLOOD_QUEUE_MAX / 4 * 3);
    assert_true(s.congested_after_flood);
    /* One drain, once the client read, down to the low-water mark. */
    assert_int_equal(s.drains, 1);
    assert_true(s.reader_at_drain);
    assert_false(s.congested_at_drain);
    if (s.queued_at_drain > FLOOD_QUEUE_MAX / 4)
        fail_msg("queued %zu at drain, low-water mark %zu", s.queued_at_drain, FLOOD_QUEUE_MAX / 4);
    assert_int_equal(k.big_got, s.flood_sent);
    /* The total follows the queue, and a closed conn leaves nothing. */
    assert_int_equal(s.total_after_flood, s.queued_after_flood);
    assert_int_equal(s.total_at_drain, s.queued_at_drain);
    assert_int_equal(s.total, 0);
    assert_int_equal(s.total_mismatches, 0);
    /* The client did not read for 300 ms: congested that long, at least. */
    if (s.congested_ms_max < 250 || s.congested_ms_max > 30000)
        fail_msg("congested for %llu ms, want 250..30000", (unsigned long long)s.congested_ms_max);
}

static void test_congestion_drain(void **state)
{
    (void)state;
    run_congestion(false);
    run_congestion(true);
}

/* ---- test 6: abrupt client close ---- */

static void *client_abrupt(void *arg)
{
    struct cli *k = arg;
    struct cli_conn cc;
    if (!cli_open(k, k->sni != NULL, &cc))
        return NULL;
    if (!cc_send(&cc, "x\n") || !cc_line(&cc, "x\n"))
        cli_fail(k, "echo");
    /* Leave the server with a big write in flight, then vanish. */
    if (!cc_send(&cc, "BIG\n"))
        cli_fail(k, "send BIG");
    usleep(50 * 1000);
    if (k->rst)
        cli_set_rst(cc.fd);
    cli_close(&cc); /* no close_notify: the session is freed, not shut down */
    return NULL;
}

static void run_abrupt(bool tls, bool rst)
{
    struct srv s;
    srv_init(&s, tls, tls, BIG_QUEUE_MAX, 1);
    struct cli k = {.port = s.port, .sni = tls ? "example.org" : NULL, .rst = rst};
    srv_run(&s, client_abrupt, &k);
    assert_string_equal(k.err, "");
    assert_int_equal(s.closes, 1);
    assert_true(s.close_err[0] < 0);
    if (rst && s.close_err[0] != UV_ECONNRESET && s.close_err[0] != UV_EPIPE)
        fail_msg("tls %d: close err %d (%s), want ECONNRESET or EPIPE", tls, s.close_err[0],
                 uv_strerror(s.close_err[0]));
}

static void test_abrupt_close(void **state)
{
    (void)state;
    run_abrupt(false, true);
    run_abrupt(true, true);
    run_abrupt(false, false);
    run_abrupt(true, false);
}

/* ---- flush marks ---- */

static void *client_mark(void *arg)
{
    struct cli *k = arg;
    struct cli_conn cc;
    if (!cli_open(k, k->sni != NULL, &cc))
        return NULL;
    if (k->rst) {
        /* Reads nothing: the server's bytes pile up, then a reset. */
        if (!cc_send(&cc, "HOLD\n"))
            cli_fail(k, "send HOLD");
        usleep(300 * 1000);
        cli_set_rst(cc.fd);
    } else if (!cc_send(&cc, "MARK\n") || !cc_line(&cc, "M\n")) {
        cli_fail(k, "MARK");
    } else if (cc.ssl) {
        tls_quit(k, cc.ssl);
    } else if (!plain_send(cc.fd, "QUIT\n") || !plain_line(cc.fd, "BYE\n")) {
        cli_fail(k, "QUIT");
    }
    cli_close(&cc);
    return NULL;
}

static void run_mark(bool tls, bool rst)
{
    struct srv s;
    srv_init(&s, tls, tls, FLOOD_QUEUE_MAX, 1);
    struct cli k = {
        .port = s.port, .sni = tls ? "example.org" : NULL, .rst = rst, .small_rcvbuf = rst};
    srv_run(&s, client_mark, &k);
    assert_string_equal(k.err, "");
    /* Each mark fired exactly once, before on_close. */
    assert_int_equal(s.marks, rst ? 1 : 2);
    for (int i = 0; i < s.marks; i++) {
        assert_int_equal(s.closes_at_mark[i], 0);
        if (rst && s.mark_status[i] >= 0)
            fail_msg("tls %d: a mark on unsent bytes fired with %d", tls, s.mark_status[i]);
        if (!rst) {
            assert_int_equal(s.mark_status[i], 0);
            assert_int_equal(s.queued_at_mark[i], 0);
        }
    }
}

static void test_flush_marks(void **state)
{
    (void)state;
    run_mark(false, false);
    run_mark(true, false);
    run_mark(false, true);
    run_mark(true, true);
}

/* ---- pausing with pipelined TLS input ---- */

static void *client_pipeline(void *arg)
{
    struct cli *k = arg;
    struct cli_conn cc;
    if (!cli_open(k, true, &cc))
        return NULL;
    SSL *ssl = cc.ssl;
    /* Many records in one go: the server pauses after each line, so
     * most of this sits unread in its saved input for a while. */
    char line[16];
    for (int i = 0; i < 50; i++) {
        snprintf(line, sizeof line, "P%03d\n", i);
        if (!tls_send(ssl, line))
            cli_fail(k, "send");
    }
    for (int i = 0; i < 50 && !k->err[0]; i++) {
        snprintf(line, sizeof line, "P%03d\n", i);
        if (!tls_line(ssl, line))
            cli_fail(k, "line %d out of order or missing", i);
    }
    if (!k->err[0])
        tls_quit(k, ssl);
    cli_close(&cc);
    return NULL;
}

static void test_pause_resume(void **state)
{
    (void)state;
    struct srv s;
    srv_init(&s, true, true, 0, 1);
    uv_timer_start(&s.ticker, resume_tick, 1, 1);
    struct cli k = {.port = s.port};
    srv_run(&s, client_pipeline, &k);
    assert_string_equal(k.err, "");
    assert_true(s.pauses >= 50);
    assert_int_equal(s.data_while_paused, 0);
}

static bool quiet_for(int fd, int ms);

static void *client_turn(void *arg)
{
    struct cli *k = arg;
    int fd = cli_connect(k);
    if (fd < 0)
        return cli_fail(k, "connect");
    if (!plain_send(fd, "TURN\n") || !plain_line(fd, "TURNED\n"))
        cli_fail(k, "no TURNED");
    else if (!quiet_for(fd, 100))
        cli_fail(k, "on_turn ran twice");
    if (!plain_send(fd, "QUIT\n") || !plain_line(fd, "BYE\n"))
        cli_fail(k, "quit");
    close(fd);
    return NULL;
}

/* conn_next_turn: on_turn comes once, in a later turn than the one that
 * asked, although nothing else happens on the loop meanwhile. */
static void test_next_turn(void **state)
{
    (void)state;
    struct srv s;
    srv_init(&s, false, false, 0, 1);
    struct cli k = {.port = s.port};
    srv_run(&s, client_turn, &k);
    assert_string_equal(k.err, "");
    assert_false(s.timed_out);
    assert_int_equal(s.turns, 1);
    assert_true(s.turn_ran > s.turn_asked);
}

/* ---- accept limits ---- */

static bool quiet_for(int fd, int ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, ms) == 0;
}

static void *client_two(void *arg)
{
    struct cli *k = arg;
    int a = cli_connect(k);
    if (a < 0)
        return cli_fail(k, "connect a");
    if (!plain_send(a, "a\n") || !plain_line(a, "a\n"))
        cli_fail(k, "echo a");
    /* The kernel completes b's handshake, but the server must not take
     * it while a is open. */
    int b = cli_connect(k);
    if (b < 0 || !plain_send(b, "b\n"))
        cli_fail(k, "connect b");
    else if (!quiet_for(b, 300))
        cli_fail(k, "b served over max_connections");
    if (!plain_send(a, "QUIT\n") || !plain_line(a, "BYE\n"))
        cli_fail(k, "quit a");
    close(a);
    if (b >= 0 && !plain_line(b, "b\n"))
        cli_fail(k, "b not served after a closed");
    if (b >= 0) {
        plain_send(b, "QUIT\n");
        plain_line(b, "BYE\n");
        close(b);
    }
    return NULL;
}

static void test_max_connections(void **state)
{
    (void)state;
    struct srv s;
    srv_init_max(&s, false, false, 0, 2, 1);
    struct cli k = {.port = s.port};
    srv_run(&s, client_two, &k);
    assert_string_equal(k.err, "");
    assert_int_equal(s.accepts, 2);
}

/* Out of descriptors: accepting pauses (the client waits in the backlog)
 * and resumes on the back-off timer once descriptors are free again. */
static void *client_emfile(void *arg)
{
    struct cli *k = arg;
    int a = cli_connect(k);
    if (a < 0)
        return cli_fail(k, "connect");
    if (!plain_send(a, "a\n") || !plain_line(a, "a\n"))
        cli_fail(k, "a not served after descriptors came back");
    plain_send(a, "QUIT\n");
    plain_line(a, "BYE\n");
    close(a);
    return NULL;
}

struct emfile {
    struct rlimit saved;
    struct srv *s;
    int accepts_before;
};

static void free_fds(uv_timer_t *t)
{
    struct emfile *e = t->data;
    e->accepts_before = e->s->accepts;
    setrlimit(RLIMIT_NOFILE, &e->saved);
}

static void test_emfile_backoff(void **state)
{
    (void)state;
    struct srv s;
    srv_init(&s, false, false, 0, 1);
    struct cli k = {.port = s.port, .prefd = socket(AF_INET, SOCK_STREAM, 0)};
    assert_true(k.prefd > 0);
    /* No descriptor left for accept4(); restored after 300 ms. */
    struct emfile e = {.s = &s, .accepts_before = -1};
    struct rlimit low;
    getrlimit(RLIMIT_NOFILE, &e.saved);
    int probe = dup(0);
    close(probe);
    low = e.saved;
    low.rlim_cur = (rlim_t)probe;
    uv_timer_t restore;
    uv_timer_init(&s.loop, &restore);
    restore.data = &e;
    uv_timer_start(&restore, free_fds, 300, 0);
    pthread_t th;
    setrlimit(RLIMIT_NOFILE, &low);
    assert_int_equal(pthread_create(&th, NULL, client_emfile, &k), 0);
    uv_run(&s.loop, UV_RUN_DEFAULT);
    pthread_join(th, NULL);
    setrlimit(RLIMIT_NOFILE, &e.saved);
    uv_close((uv_handle_t *)&restore, NULL);
    srv_free(&s);
    assert_string_equal(k.err, "");
    assert_int_equal(e.accepts_before, 0); /* nothing served while out of fds */
    assert_int_equal(s.accepts, 1);
}

/* ---- certificates and contexts ---- */

static void test_check_cert(void **state)
{
    (void)state;
    char *err = NULL;
    assert_int_equal(tls_check_cert("example.org", g_certs.crt[0], g_certs.key[0], &err), 0);
    assert_null(err);
    /* a name under the certificate's wildcard is covered, another domain not */
    assert_int_equal(tls_check_cert("conference.example.org", g_certs.crt[0], g_certs.key[0], &err),
                     0);
    assert_int_equal(tls_check_cert("other.test", g_certs.crt[0], g_certs.key[0], &err), -EINVAL);
    assert_non_null(strstr(err, "does not name other.test"));
    free(err);
    assert_int_equal(tls_check_cert("example.org", g_certs.crt[0], g_certs.key[1], &err), -EINVAL);
    assert_non_null(strstr(err, "does not match"));
    free(err);
    assert_int_equal(tls_check_cert("example.org", g_certs.crt[2], g_certs.key[2], &err), -EINVAL);
    assert_non_null(strstr(err, "expired"));
    free(err);
    assert_int_equal(tls_check_cert("example.org", "/nonexistent.crt", g_certs.key[0], &err),
                     -ENOENT);
    free(err);

    struct tls_cert bad = {"example.org", g_certs.crt[0], g_certs.key[1]};
    assert_null(tls_ctx_new(&bad, 1, NULL, NULL, &err));
    assert_non_null(err);
    free(err);
    struct tls_cert good = {"example.org", g_certs.crt[0], g_certs.key[0]};
    assert_null(tls_ctx_new(&good, 1, "NO-SUCH-CIPHER", NULL, &err));
    assert_non_null(strstr(err, "cipher"));
    free(err);
}

static void test_listener_errors(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct listener *a = NULL, *b = NULL;
    char *err = NULL;
    struct listener_opts o = {"127.0.0.1", 0, false, NULL, 0, 0, NULL};
    assert_int_equal(listener_start(&a, &loop, &o, NULL, NULL, &err), 0);
    o.port = listener_port(a);
    assert_int_equal(listener_start(&b, &loop, &o, NULL, NULL, &err), UV_EADDRINUSE);
    assert_non_null(err);
    free(err);
    o.addr = "not-an-address";
    assert_int_equal(listener_start(&b, &loop, &o, NULL, NULL, &err), UV_EINVAL);
    free(err);
    o.addr = "127.0.0.1";
    o.direct_tls = true;
    assert_int_equal(listener_start(&b, &loop, &o, NULL, NULL, &err), UV_EINVAL);
    free(err);
    listener_stop(a);

    /* "0.0.0.0" and "::" on one port: IPV6_V6ONLY keeps them apart. */
    struct listener *v4 = NULL, *v6 = NULL;
    struct listener_opts o4 = {"0.0.0.0", 0, false, NULL, 0, 0, NULL};
    assert_int_equal(listener_start(&v4, &loop, &o4, NULL, NULL, &err), 0);
    struct listener_opts o6 = {"::", listener_port(v4), false, NULL, 0, 0, NULL};
    int rc = listener_start(&v6, &loop, &o6, NULL, NULL, &err);
    if (rc == UV_EAFNOSUPPORT || rc == UV_EADDRNOTAVAIL) {
        print_message("no IPv6 here, dual bind not checked\n");
        free(err);
    } else {
        assert_int_equal(rc, 0);
        assert_int_equal(listener_port(v6), listener_port(v4));
        listener_stop(v6);
    }
    listener_stop(v4);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static int setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN); /* the server's main() does this too */
    return make_certs(&g_certs);
}

static int teardown(void **state)
{
    (void)state;
    remove_certs(&g_certs);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_starttls_echo),   cmocka_unit_test(test_direct_tls_alpn_sni),
        cmocka_unit_test(test_tls11_refused),   cmocka_unit_test(test_channel_binding),
        cmocka_unit_test(test_big_write_plain), cmocka_unit_test(test_big_write_tls),
        cmocka_unit_test(test_abrupt_close),    cmocka_unit_test(test_congestion_drain),
        cmocka_unit_test(test_flush_marks),     cmocka_unit_test(test_pause_resume),
        cmocka_unit_test(test_next_turn),       cmocka_unit_test(test_max_connections),
        cmocka_unit_test(test_emfile_backoff),  cmocka_unit_test(test_check_cert),
        cmocka_unit_test(test_listener_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
