/* Connections: TCP through libuv, TLS through OpenSSL with a custom BIO.
 *
 * Life of a conn: OPEN → CLOSING (conn_close, peer EOF or a TLS error:
 * flush, close_notify, uv_shutdown) → CLOSED (uv_close called on the TCP
 * handle and the close timer) → both close callbacks ran → on_close →
 * freed. conn_abort goes from any state straight to CLOSED.
 *
 * Outbound bytes move through three buffers:
 *   out      plaintext queued by conn_write (from out_pos on)
 *   wire     bytes ready for the socket (TLS conns only: records, and
 *            the plaintext queued before STARTTLS)
 *   inflight the one buffer handed to uv_write; alive until its callback
 * At most one uv_write is in flight; the flush at the end of the loop turn
 * sends everything queued in the turn as one write. Drained buffers are
 * freed, so an idle conn holds none.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/rand.h>

#include "core/log.h"
#include "net/net_internal.h"

/* Plaintext encrypted per flush: bounds the wire buffer of a big write. */
#define FLUSH_TLS_BUDGET ((size_t)256 * 1024)
/* Time an orderly close may take (peer not reading) before it aborts. */
#define CLOSE_TIMEOUT_MS 10000
#define WORK_ROUNDS 4

enum conn_state { CONN_OPEN, CONN_CLOSING, CONN_CLOSED };

/* A conn_on_flushed request: fires once flushed reaches pos. */
struct conn_mark {
    uint64_t pos;
    conn_flushed_cb cb;
    void *ud;
    struct conn_mark *next;
};

struct conn {
    struct net_ctx *ctx;
    uv_tcp_t tcp;
    uv_timer_t timer; /* close timeout */
    uv_write_t wreq;
    uv_shutdown_t sreq;
    const struct conn_handler *h;
    void *ud;

    struct buf out, wire, inflight;
    size_t out_pos;
    size_t queue_max;

    SSL *ssl; /* NULL until TLS starts */
    struct tls_ctx *tls;
    struct tls_io tio;
    struct buf rin; /* raw input kept while reading was paused */

    struct conn *wnext, **wprev; /* net_ctx work list */
    struct conn *tnext, **tprev; /* net_ctx turn_asked or turn_due */
    enum conn_state state;
    int err; /* first error, reported by on_close */
    int handles_open;
    bool queued, need_pump;
    bool writing, shutting_down;
    bool paused, tls_done, tls_failed, close_notify_sent;
    bool congested;        /* above the high-water mark; on_drain pending */
    uint64_t congested_at; /* loop time (ms) congestion began */
    size_t *total;         /* owner's sum of queued bytes (conn_count_queue) */
    size_t counted;        /* what this conn adds to *total now */

    /* Plaintext byte counts for conn_on_flushed: accepted by conn_write,
     * carried by the write in flight, handed to the kernel. */
    uint64_t written, inflight_end, flushed;
    struct conn_mark *marks, **marks_tail; /* by pos, oldest first */

    char id[9];
    char peer[INET6_ADDRSTRLEN];
};

static void conn_flush(struct conn *c);
static void conn_pump_saved(struct conn *c);
static void close_handles(struct conn *c);
static void fail_marks(struct conn *c);

/* ---- net_ctx and the end-of-turn work list ---- */

/* Closes h and counts it in *open, unless someone closed it already (a
 * shutdown path that uv_walk()s the loop): then its memory is leaked
 * rather than freed under libuv's feet. */
void net_close_handle(int *open, uv_handle_t *h, uv_close_cb cb)
{
    if (uv_is_closing(h))
        return;
    (*open)++;
    uv_close(h, cb);
}

static void work_unlink(struct conn *c)
{
    if (!c->wprev)
        return;
    *c->wprev = c->wnext;
    if (c->wnext)
        c->wnext->wprev = c->wprev;
    c->wnext = NULL;
    c->wprev = NULL;
    c->queued = false;
}

static void work_push(struct net_ctx *ctx, struct conn *c)
{
    c->wnext = ctx->work;
    if (ctx->work)
        ctx->work->wprev = &c->wnext;
    ctx->work = c;
    c->wprev = &ctx->work;
    c->queued = true;
}

/* ---- turns (conn_next_turn) ---- */

static void turn_unlink(struct conn *c)
{
    if (!c->tprev)
        return;
    *c->tprev = c->tnext;
    if (c->tnext)
        c->tnext->tprev = c->tprev;
    c->tnext = NULL;
    c->tprev = NULL;
}

/* Moves the list at *from to *to (empty before). */
static void turn_move(struct conn **from, struct conn **to)
{
    *to = *from;
    *from = NULL;
    if (*to)
        (*to)->tprev = to;
}

void conn_next_turn(struct conn *c)
{
    if (c->tprev || c->state == CONN_CLOSED)
        return;
    struct net_ctx *ctx = c->ctx;
    c->tnext = ctx->turn_asked;
    if (ctx->turn_asked)
        ctx->turn_asked->tprev = &c->tnext;
    ctx->turn_asked = c;
    c->tprev = &ctx->turn_asked;
}

uint64_t conn_turn(const struct conn *c) { return c->ctx->turn; }

/* After this turn's I/O: the on_turn asked for in the turn before. */
static void turns_run(struct net_ctx *ctx)
{
    while (ctx->turn_due) {
        struct conn *c = ctx->turn_due;
        turn_unlink(c);
        if (c->state != CONN_CLOSED && c->h && c->h->on_turn)
            c->h->on_turn(c->ud);
    }
}

/* Queues c for a flush at the end of this loop turn. */
static void conn_schedule(struct conn *c)
{
    if (!c->queued && c->state != CONN_CLOSED)
        work_push(c->ctx, c);
}

static void on_idle(uv_idle_t *h) { (void)h; /* only makes poll return at once */ }

/* Flushes every queued conn (and feeds input saved during a pause). Work
 * added meanwhile is run again, a few rounds at most, then left to the
 * next turn with the idle handle keeping poll from blocking. */
static void net_run(struct net_ctx *ctx)
{
    for (int round = 0; round < WORK_ROUNDS && ctx->work; round++) {
        struct conn *list = ctx->work;
        ctx->work = NULL;
        list->wprev = &list;
        while (list) {
            struct conn *c = list;
            work_unlink(c);
            if (c->need_pump) {
                c->need_pump = false;
                conn_pump_saved(c);
            }
            conn_flush(c);
        }
    }
    if (ctx->work || ctx->turn_asked || ctx->turn_due)
        uv_idle_start(&ctx->idle, on_idle);
    else
        uv_idle_stop(&ctx->idle);
}

/* Before poll: a new turn; what was asked for in the last one is due
 * after this poll (which the idle handle keeps from blocking). */
static void on_prepare(uv_prepare_t *h)
{
    struct net_ctx *ctx = h->data;
    ctx->turn++;
    if (!ctx->turn_due)
        turn_move(&ctx->turn_asked, &ctx->turn_due);
    net_run(ctx);
}

static void on_check(uv_check_t *h)
{
    struct net_ctx *ctx = h->data;
    turns_run(ctx);
    net_run(ctx);
}

struct net_ctx *net_ctx_new(uv_loop_t *loop)
{
    struct net_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return NULL;
    ctx->loop = loop;
    ctx->refs = 1;
    uv_prepare_init(loop, &ctx->prepare);
    uv_check_init(loop, &ctx->check);
    uv_idle_init(loop, &ctx->idle);
    ctx->prepare.data = ctx->check.data = ctx->idle.data = ctx;
    uv_prepare_start(&ctx->prepare, on_prepare);
    uv_check_start(&ctx->check, on_check);
    /* They run every turn but must not keep the loop alive by themselves. */
    uv_unref((uv_handle_t *)&ctx->prepare);
    uv_unref((uv_handle_t *)&ctx->check);
    uv_unref((uv_handle_t *)&ctx->idle);
    return ctx;
}

static void on_ctx_handle_closed(uv_handle_t *h)
{
    struct net_ctx *ctx = h->data;
    if (--ctx->handles_open == 0)
        free(ctx);
}

void net_ctx_unref(struct net_ctx *ctx)
{
    if (--ctx->refs > 0)
        return;
    net_close_handle(&ctx->handles_open, (uv_handle_t *)&ctx->prepare, on_ctx_handle_closed);
    net_close_handle(&ctx->handles_open, (uv_handle_t *)&ctx->check, on_ctx_handle_closed);
    net_close_handle(&ctx->handles_open, (uv_handle_t *)&ctx->idle, on_ctx_handle_closed);
}

/* ---- small helpers ---- */

static void buf_swap(struct buf *a, struct buf *b)
{
    struct buf t = *a;
    *a = *b;
    *b = t;
}

static void deliver(struct conn *c, const char *data, size_t len)
{
    if (c->h && c->h->on_data)
        c->h->on_data(c->ud, data, len);
}

static size_t out_pending(const struct conn *c) { return c->out.len - c->out_pos; }

/* Brings the owner's total (conn_count_queue) up to date with this
 * conn's queue; a closed conn counts nothing, whatever it still holds. */
static void account(struct conn *c)
{
    if (!c->total)
        return;
    size_t now = conn_queued(c);
    *c->total = *c->total - c->counted + now;
    c->counted = now;
}

/* Frees drained buffers: idle conns hold no queue memory. */
static void release_buffers(struct conn *c)
{
    if (out_pending(c) == 0) {
        buf_free(&c->out);
        c->out_pos = 0;
    }
    if (c->wire.len == 0)
        buf_free(&c->wire);
    if (!c->writing)
        buf_free(&c->inflight);
}

/* ---- closing ---- */

static void on_handle_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    if (--c->handles_open > 0)
        return;
    struct net_ctx *ctx = c->ctx;
    work_unlink(c);
    turn_unlink(c);
    fail_marks(c);
    if (c->h && c->h->on_close)
        c->h->on_close(c->ud, c->err);
    SSL_free(c->ssl);
    tls_ctx_free(c->tls);
    buf_free(&c->out);
    buf_free(&c->wire);
    buf_free(&c->inflight);
    buf_free(&c->rin);
    free(c);
    ctx->nconns--;
    if (ctx->listener)
        listener_conn_gone(ctx->listener);
    net_ctx_unref(ctx);
}

static void close_handles(struct conn *c)
{
    if (c->state == CONN_CLOSED)
        return;
    c->state = CONN_CLOSED;
    work_unlink(c);
    turn_unlink(c);
    account(c);
    net_close_handle(&c->handles_open, (uv_handle_t *)&c->tcp, on_handle_closed);
    net_close_handle(&c->handles_open, (uv_handle_t *)&c->timer, on_handle_closed);
}

/* Closes at once, keeping the first error for on_close; a hard error
 * replaces a peer EOF (a reset seen by a write after read() said EOF). */
static void conn_fail(struct conn *c, int err)
{
    if (c->err == 0 || c->err == UV_EOF)
        c->err = err;
    close_handles(c);
}

static void on_close_timeout(uv_timer_t *t)
{
    struct conn *c = t->data;
    log_debug("conn %s: close timed out", c->id);
    conn_fail(c, UV_ETIMEDOUT);
}

/* Starts the orderly close: writes are refused from now on, the queue
 * is flushed at the end of the turn, then close_notify and shutdown. */
static void begin_closing(struct conn *c, int err)
{
    if (c->state != CONN_OPEN)
        return;
    c->state = CONN_CLOSING;
    if (c->err == 0)
        c->err = err;
    uv_timer_start(&c->timer, on_close_timeout, CLOSE_TIMEOUT_MS, 0);
    conn_schedule(c);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)status; /* the close that follows reports nothing new */
    close_handles(req->data);
}

static void conn_shutdown(struct conn *c)
{
    if (c->shutting_down)
        return;
    c->shutting_down = true;
    c->sreq.data = c;
    if (uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, on_shutdown) < 0)
        close_handles(c);
}

/* A TLS error: the alert OpenSSL wrote is still sent, nothing else. */
static void tls_fail(struct conn *c, const char *what)
{
    tls_log_errors(c->id, what);
    c->tls_failed = true;
    buf_free(&c->out);
    c->out_pos = 0;
    if (c->state == CONN_OPEN)
        begin_closing(c, -EPROTO);
    else if (c->err == 0)
        c->err = -EPROTO;
    conn_schedule(c);
}

/* ---- writing ---- */

/* ---- flush marks (conn_on_flushed) ---- */

/* Calls back the marks whose bytes have all been handed to the kernel.
 * The ready ones are taken off first: a callback may add marks (or
 * close the conn) without disturbing this walk. */
static void fire_marks(struct conn *c)
{
    if (c->tls_failed)
        return; /* the queued plaintext was dropped: fail_marks answers */
    struct conn_mark *ready = NULL, **tail = &ready;
    while (c->marks && c->marks->pos <= c->flushed) {
        *tail = c->marks;
        tail = &c->marks->next;
        c->marks = c->marks->next;
    }
    *tail = NULL;
    if (!c->marks)
        c->marks_tail = &c->marks;
    while (ready) {
        struct conn_mark *m = ready;
        ready = m->next;
        m->cb(m->ud, 0);
        free(m);
    }
}

/* The conn is going away: whatever was not flushed never will be. */
static void fail_marks(struct conn *c)
{
    int err = c->err < 0 && c->err != UV_EOF ? c->err : -EPIPE;
    while (c->marks) {
        struct conn_mark *m = c->marks;
        c->marks = m->next;
        m->cb(m->ud, err);
        free(m);
    }
    c->marks_tail = &c->marks;
}

int conn_on_flushed(struct conn *c, conn_flushed_cb cb, void *ud)
{
    if (c->state == CONN_CLOSED || c->tls_failed)
        return -EPIPE;
    struct conn_mark *m = malloc(sizeof *m);
    if (!m)
        return -ENOMEM;
    *m = (struct conn_mark){.pos = c->written, .cb = cb, .ud = ud};
    *c->marks_tail = m;
    c->marks_tail = &m->next;
    conn_schedule(c); /* fires from the flush if nothing is pending */
    return 0;
}

/* Congestion has hysteresis (half to a quarter of queue_max), so a queue
 * hovering near one mark does not toggle the owner's pauses per write. */
static size_t high_water(const struct conn *c) { return c->queue_max / 2; }
static size_t low_water(const struct conn *c) { return c->queue_max / 4; }

static void check_drained(struct conn *c)
{
    if (!c->congested || conn_queued(c) > low_water(c))
        return;
    c->congested = false;
    if (c->h && c->h->on_drain)
        c->h->on_drain(c->ud);
}

static void on_write(uv_write_t *req, int status)
{
    struct conn *c = req->data;
    c->writing = false;
    buf_reset(&c->inflight);
    account(c);
    if (c->state == CONN_CLOSED)
        return;
    if (status < 0) {
        log_debug("conn %s: write failed: %s", c->id, uv_strerror(status));
        conn_fail(c, status);
        return;
    }
    c->flushed = c->inflight_end;
    conn_schedule(c);
    fire_marks(c);
    check_drained(c);
}

/* Moves queued plaintext into TLS records in the wire buffer once the
 * handshake is done: up to FLUSH_TLS_BUDGET bytes through SSL_write, then
 * close_notify when closing. */
static void tls_encode(struct conn *c)
{
    if (!c->tls_done || c->tls_failed)
        return;
    ERR_clear_error();
    while (out_pending(c) > 0 && c->wire.len < FLUSH_TLS_BUDGET) {
        size_t n = out_pending(c) < FLUSH_TLS_BUDGET ? out_pending(c) : FLUSH_TLS_BUDGET;
        int w = SSL_write(c->ssl, c->out.data + c->out_pos, (int)n);
        if (w <= 0) {
            tls_fail(c, c->tio.err ? "out of memory" : "while writing TLS");
            return;
        }
        c->out_pos += (size_t)w;
    }
    if (c->state == CONN_CLOSING && out_pending(c) == 0 && !c->close_notify_sent) {
        c->close_notify_sent = true;
        SSL_shutdown(c->ssl);
        ERR_clear_error();
    }
}

/* Sends what is ready, or finishes an orderly close once all is sent. */
static void flush_once(struct conn *c)
{
    if (c->state == CONN_CLOSED || c->writing)
        return;
    if (c->ssl)
        tls_encode(c);
    if (c->state == CONN_CLOSED)
        return;
    struct buf *src = c->ssl ? &c->wire : &c->out;
    if (src->len == 0 || (!c->ssl && out_pending(c) == 0)) {
        release_buffers(c);
        fire_marks(c);
        if (c->state == CONN_CLOSING)
            conn_shutdown(c);
        return;
    }
    if (!c->ssl && c->out_pos > 0)
        buf_consume(&c->out, c->out_pos);
    if (!c->ssl)
        c->out_pos = 0;
    buf_swap(src, &c->inflight);
    /* What is still queued as plaintext is not in this write. */
    c->inflight_end = c->written - out_pending(c);
    uv_buf_t b = uv_buf_init(c->inflight.data, (unsigned int)c->inflight.len);
    c->wreq.data = c;
    int rc = uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_write);
    if (rc < 0) {
        conn_fail(c, rc);
        return;
    }
    c->writing = true;
    if (out_pending(c) == 0)
        release_buffers(c);
}

/* Recounts after every flush: TLS records are larger than the plaintext
 * they carry. */
static void conn_flush(struct conn *c)
{
    flush_once(c);
    account(c);
}

size_t conn_queued(const struct conn *c)
{
    if (c->state == CONN_CLOSED)
        return 0; /* dropped: nothing more will be sent */
    return out_pending(c) + c->wire.len + c->inflight.len;
}

bool conn_congested(const struct conn *c) { return c->congested; }

uint64_t conn_congested_for(const struct conn *c)
{
    if (!c->congested)
        return 0;
    uint64_t now = uv_now(c->ctx->loop);
    return now > c->congested_at ? now - c->congested_at : 0;
}

void conn_count_queue(struct conn *c, size_t *total)
{
    if (c->total)
        *c->total -= c->counted;
    c->total = total;
    c->counted = 0;
    account(c);
}

int conn_write(struct conn *c, const char *data, size_t len)
{
    if (c->state != CONN_OPEN)
        return -EPIPE;
    size_t queued = conn_queued(c);
    if (len > c->queue_max || queued > c->queue_max - len)
        return -ENOBUFS;
    /* Drop the sent prefix before it costs more than the live bytes. */
    if (c->out_pos > 0 && c->out_pos >= out_pending(c)) {
        buf_consume(&c->out, c->out_pos);
        c->out_pos = 0;
    }
    int rc = buf_append(&c->out, data, len);
    if (rc < 0)
        return rc;
    c->written += len;
    if (!c->congested && conn_queued(c) > high_water(c)) {
        c->congested = true;
        c->congested_at = uv_now(c->ctx->loop);
        log_debug("conn %s: congested, %zu bytes queued", c->id, conn_queued(c));
    }
    account(c);
    conn_schedule(c);
    return 0;
}

/* ---- reading ---- */

/* Runs the handshake and hands decrypted bytes to on_data until OpenSSL
 * needs more input, the conn closes or the handler pauses it. */
static void tls_pump(struct conn *c)
{
    struct net_ctx *ctx = c->ctx;
    ERR_clear_error();
    while (c->state == CONN_OPEN && !c->paused) {
        if (!c->tls_done) {
            int r = SSL_do_handshake(c->ssl);
            if (r == 1) {
                c->tls_done = true;
                log_debug("conn %s: TLS ready (%s)", c->id, SSL_get_version(c->ssl));
                conn_schedule(c);
                if (c->h && c->h->on_tls_ready)
                    c->h->on_tls_ready(c->ud);
                continue;
            }
            if (SSL_get_error(c->ssl, r) != SSL_ERROR_WANT_READ)
                tls_fail(c, "while negotiating TLS");
            break;
        }
        int n = SSL_read(c->ssl, ctx->plain, sizeof ctx->plain);
        if (n > 0) {
            deliver(c, ctx->plain, (size_t)n);
            continue;
        }
        int e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_ZERO_RETURN)
            begin_closing(c, UV_EOF); /* close_notify from the peer */
        else if (e != SSL_ERROR_WANT_READ)
            tls_fail(c, "while reading TLS");
        break;
    }
    if (c->wire.len > 0)
        conn_schedule(c);
    account(c);
    /* Output the peer provokes (alerts, key updates) counts too. */
    if (c->wire.len > c->queue_max)
        conn_fail(c, -ENOBUFS);
}

/* Keeps the raw bytes the pump did not consume (it stopped on a pause). */
static void save_input(struct conn *c, bool from_rin)
{
    if (from_rin) {
        buf_consume(&c->rin, c->rin.len - c->tio.in_len);
    } else if (c->tio.in_len > 0 && c->state == CONN_OPEN) {
        if (buf_append(&c->rin, c->tio.in, c->tio.in_len) < 0)
            conn_fail(c, -ENOMEM);
    }
    c->tio.in = NULL;
    c->tio.in_len = 0;
    if (c->rin.len == 0 || c->state != CONN_OPEN)
        buf_free(&c->rin);
}

static void feed_tls(struct conn *c, const char *data, size_t len)
{
    bool from_rin = c->rin.len > 0;
    if (from_rin) {
        /* Saved input comes first; new bytes queue up behind it. */
        if (buf_append(&c->rin, data, len) < 0) {
            conn_fail(c, -ENOMEM);
            return;
        }
        data = c->rin.data;
        len = c->rin.len;
    }
    c->tio.in = data;
    c->tio.in_len = len;
    tls_pump(c);
    save_input(c, from_rin);
}

static void conn_pump_saved(struct conn *c)
{
    if (c->state != CONN_OPEN || c->paused || !c->ssl)
        return;
    if (c->rin.len > 0) {
        c->tio.in = c->rin.data;
        c->tio.in_len = c->rin.len;
        tls_pump(c);
        save_input(c, true);
    } else {
        tls_pump(c); /* OpenSSL may hold a record already read */
    }
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    (void)hint;
    struct conn *c = h->data;
    *b = uv_buf_init(c->ctx->scratch, sizeof c->ctx->scratch);
}

static void on_read_error(struct conn *c, int err)
{
    if (err == UV_EOF) {
        log_debug("conn %s: peer closed", c->id);
        begin_closing(c, UV_EOF); /* still flush what is queued */
        return;
    }
    log_debug("conn %s: read failed: %s", c->id, uv_strerror(err));
    conn_fail(c, err);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    struct conn *c = s->data;
    if (nread == 0)
        return;
    if (nread < 0) {
        on_read_error(c, (int)nread);
        return;
    }
    if (c->state != CONN_OPEN)
        return; /* closing: input no longer matters */
    if (c->ssl)
        feed_tls(c, b->base, (size_t)nread);
    else
        deliver(c, b->base, (size_t)nread);
}

void conn_pause_read(struct conn *c)
{
    if (c->paused || c->state == CONN_CLOSED)
        return;
    c->paused = true;
    uv_read_stop((uv_stream_t *)&c->tcp);
}

void conn_resume_read(struct conn *c)
{
    if (!c->paused || c->state != CONN_OPEN)
        return;
    c->paused = false;
    int rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (rc < 0) {
        conn_fail(c, rc);
        return;
    }
    /* Saved input is fed at the end of the turn, never from inside the
     * caller's own callback. */
    if (c->ssl) {
        c->need_pump = true;
        conn_schedule(c);
    }
}

/* ---- TLS ---- */

static int start_tls(struct conn *c)
{
    c->tio.out = &c->wire;
    c->ssl = tls_ssl_new(c->tls, &c->tio);
    return c->ssl ? 0 : -ENOMEM;
}

int conn_starttls(struct conn *c)
{
    if (c->state != CONN_OPEN)
        return -EPIPE;
    if (!c->tls)
        return -ENOTSUP;
    if (c->ssl)
        return -EALREADY;
    /* <proceed/> goes out in plaintext: it moves to the wire buffer now,
     * ahead of any handshake bytes, even those of a client that sends its
     * ClientHello too early. */
    int rc = buf_append(&c->wire, c->out.data + c->out_pos, out_pending(c));
    if (rc == 0)
        rc = start_tls(c);
    if (rc < 0) {
        buf_reset(&c->wire);
        return rc;
    }
    buf_free(&c->out);
    c->out_pos = 0;
    account(c);
    conn_schedule(c);
    return 0;
}

bool conn_is_tls(const struct conn *c) { return c->ssl != NULL; }
bool conn_tls_done(const struct conn *c) { return c->tls_done; }

const char *conn_tls_sni(const struct conn *c)
{
    return c->ssl ? SSL_get_servername(c->ssl, TLSEXT_NAMETYPE_host_name) : NULL;
}

void conn_channel_binding(const struct conn *c, struct sasl_cb *out)
{
    memset(out, 0, sizeof *out);
    if (c->ssl && c->tls_done)
        tls_channel_binding(c->tls, c->ssl, out);
}

/* ---- public life cycle ---- */

void conn_set_handler(struct conn *c, const struct conn_handler *h, void *ud)
{
    c->h = h;
    c->ud = ud;
}

void conn_close(struct conn *c) { begin_closing(c, 0); }

void conn_abort(struct conn *c) { close_handles(c); }

const char *conn_id(const struct conn *c) { return c->id; }
const char *conn_peer(const struct conn *c) { return c->peer; }

static void make_id(struct conn *c)
{
    unsigned char r[4] = {0};
    if (RAND_bytes(r, sizeof r) != 1)
        ERR_clear_error(); /* an id is for logs only; zeros will do */
    snprintf(c->id, sizeof c->id, "%02x%02x%02x%02x", r[0], r[1], r[2], r[3]);
}

static void peer_name(struct conn *c, const struct sockaddr *sa)
{
    int rc = -1;
    if (sa && sa->sa_family == AF_INET)
        rc = uv_ip4_name((const struct sockaddr_in *)sa, c->peer, sizeof c->peer);
    else if (sa && sa->sa_family == AF_INET6)
        rc = uv_ip6_name((const struct sockaddr_in6 *)sa, c->peer, sizeof c->peer);
    if (rc != 0)
        snprintf(c->peer, sizeof c->peer, "unknown");
}

/* Opens the handles; the conn is counted from here, so every failure
 * after this point goes through close_handles. */
static int conn_open(struct conn *c, int fd, bool direct_tls)
{
    int rc = uv_tcp_open(&c->tcp, fd);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    if (direct_tls && (rc = start_tls(c)) < 0)
        return rc;
    return uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

struct conn *conn_from_fd(struct net_ctx *ctx, int fd, const struct sockaddr *peer,
                          struct tls_ctx *tls, bool direct_tls, size_t send_queue_max)
{
    struct conn *c = calloc(1, sizeof *c);
    if (!c || (direct_tls && !tls)) {
        free(c);
        close(fd);
        return NULL;
    }
    c->ctx = ctx;
    ctx->refs++;
    ctx->nconns++;
    c->tls = tls ? tls_ctx_ref(tls) : NULL;
    c->queue_max = send_queue_max ? send_queue_max : NET_DEFAULT_QUEUE_MAX;
    if (c->queue_max > UINT_MAX / 2) /* uv_buf_t lengths are unsigned int */
        c->queue_max = UINT_MAX / 2;
    buf_init(&c->out, SIZE_MAX / 4);
    buf_init(&c->wire, SIZE_MAX / 4);
    buf_init(&c->inflight, SIZE_MAX / 4);
    buf_init(&c->rin, SIZE_MAX / 4);
    c->marks_tail = &c->marks;
    make_id(c);
    peer_name(c, peer);
    uv_tcp_init(ctx->loop, &c->tcp);
    uv_timer_init(ctx->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    int rc = conn_open(c, fd, direct_tls);
    if (rc < 0) {
        log_debug("conn %s: cannot set up: %s", c->id, uv_strerror(rc));
        conn_fail(c, rc);
        return NULL; /* freed by its close callbacks */
    }
    return c;
}
