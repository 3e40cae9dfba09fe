/* loadgen: scenarios and statistics (see loadgen.h and bench/README.md).
 *
 *   loadgen idle  --conns 1000,10000 --server-pid PID server RSS per idle login
 *   loadgen churn --concurrency 100 --seconds 10      logins per second
 *   loadgen msgs  --pairs 250 --window 16 --seconds 10 messages per second
 *                 [--roster]                          (log in with a roster get)
 *   loadgen subscribe --pairs 250                     mutual subscriptions, set up
 *   loadgen offline --messages 1000 --rounds 3        offline delivery at login
 *
 * Results go to stdout as "RESULT <name> <value>" lines (bench/run.sh reads
 * them); progress and errors go to stderr. Every phase is bounded in time.
 */
#include "loadgen.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* Latency histogram: 10 us buckets below 1 s, then 1 ms buckets to 100 s. */
#define HIST_FINE 100000
#define HIST_N (HIST_FINE + 99000)
#define TICK_MS 20
#define STOP_WAIT_S 10 /* closing all connections at the end */
#define MSG_WARMUP_S 1
#define SUBSCRIBE_S 60 /* the subscription handshakes must end within this */
#define OFF_STEP_S 60  /* offline: storing, or delivering, takes at most this */
#define OFF_GAP_S 0.3  /* offline: pause between the sender's logout and the login */
#define OFF_MAX_ROUNDS 20

enum mode { M_IDLE, M_CHURN, M_MSGS, M_SUBSCRIBE, M_OFFLINE, M_FLOOD };
enum phase {
    P_RAMP,
    P_SETTLE,
    P_RUN,
    P_WARM,
    P_MEASURE,
    P_DRAIN,
    P_OFF_STORE, /* offline: the sender logs in and sends */
    P_OFF_GAP,   /* offline: the sender has the server's answer and leaves */
    P_OFF_LOGIN, /* offline: the recipient logs in and receives */
    P_STOPPING
};

/* offline: one round's figures (ms; -1 when the step did not finish) */
struct off_round {
    double store_ms, first_ms, all_ms;
    unsigned got, delayed, out_of_order;
};

struct run {
    struct lg lg;
    struct lg_opts o;
    enum mode mode;
    enum phase phase;
    uv_timer_t tick;
    uv_check_t check;
    unsigned *free_slots;
    size_t n_free, max_clients;
    unsigned target; /* clients to open in this phase */
    unsigned next_user;
    uint64_t t_phase, t_until, t_hard, t_report;
    uint64_t count_at_phase;   /* lg.online or lg.measured when the phase began */
    double srv_cpu0, own_cpu0; /* CPU seconds at the start of the measured interval */
    size_t step;               /* idle: index into o.conns */
    long rss0;
    unsigned subscribed; /* subscribe: clients that saw 'both' */
    /* offline */
    unsigned round, next_index;
    uint64_t t_store, t_gap_end;
    struct off_round off[OFF_MAX_ROUNDS];
    /* flood */
    uv_timer_t ping_timer;
    uint64_t acked, ping_seq, ping_sent_ns, pings, next_rcpt;
    bool ping_out;
    int exit_code;
};

static void enter(struct run *r, enum phase p, double seconds);
static void flood_iq_result(struct run *r, struct client *c, const char *id);
static void offline_send(struct run *r, struct client *c);
static void offline_message(struct run *r, struct client *c, const char *e, const char *body,
                            size_t n);

static struct run *run_of(struct lg *lg)
{
    return (struct run *)((char *)lg - offsetof(struct run, lg));
}

uint64_t lg_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double secs(uint64_t ns) { return (double)ns / 1e9; }

const char *lg_user_name(const struct lg *lg, unsigned user, char *buf, size_t n)
{
    /* the format was checked to hold exactly one %u */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(buf, n, lg->o->user_fmt, user);
#pragma GCC diagnostic pop
    return buf;
}

void lg_error(struct lg *lg, const struct client *c, const char *what)
{
    if (lg->errors_logged++ < 10)
        fprintf(stderr, "loadgen: connection %u (account %u) failed at: %s\n", c->slot, c->user,
                what);
    else if (lg->errors_logged == 11)
        fprintf(stderr, "loadgen: more failures, not shown\n");
}

__attribute__((format(printf, 2, 3))) static void result(const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("RESULT %s ", name);
    vprintf(fmt, ap);
    putchar('\n');
    fflush(stdout);
    va_end(ap);
}

/* ---- histogram ---- */

static void hist_add(struct lg *lg, uint64_t ns)
{
    uint64_t us = ns / 1000;
    uint64_t b = us < 1000000 ? us / 10 : HIST_FINE + (us - 1000000) / 1000;
    if (b < HIST_N)
        lg->hist[b]++;
    else
        lg->hist_over++;
}

static void hist_clear(struct lg *lg)
{
    memset(lg->hist, 0, HIST_N * sizeof *lg->hist);
    lg->hist_over = 0;
}

/* The p-quantile in milliseconds; -1 when empty or beyond the range. */
static double hist_ms(const struct lg *lg, double p)
{
    uint64_t total = lg->hist_over, seen = 0;
    for (size_t i = 0; i < HIST_N; i++)
        total += lg->hist[i];
    if (total == 0)
        return -1;
    uint64_t want = (uint64_t)(p * (double)total);
    for (size_t i = 0; i < HIST_N; i++) {
        seen += lg->hist[i];
        if (seen > want)
            return i < HIST_FINE ? ((double)i + 0.5) / 100.0
                                 : 1000.0 + (double)(i - HIST_FINE) + 0.5;
    }
    return -1;
}

/* ---- RSS ---- */

static long rss_kib(int pid)
{
    char path[64], line[256];
    long kib = -1;
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kib = strtol(line + 6, NULL, 10);
    fclose(f);
    return kib;
}

/* ---- CPU time: the server's (from /proc) and ours ---- */

static double server_cpu_s(int pid)
{
    char path[64], buf[1024];
    if (pid <= 0)
        return -1;
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* fields 14 and 15 (utime, stime) counted after the ')' ending field 2 */
    const char *p = strrchr(buf, ')');
    unsigned long long ut, st;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Marks the start of a measured interval. */
static void cpu_mark(struct run *r)
{
    r->srv_cpu0 = server_cpu_s(r->o.server_pid);
    r->own_cpu0 = self_cpu_s();
}

/* Reports CPU use over the interval: a load generator near 100 % means the
 * figure is the client's limit, not the server's; `count` per server
 * CPU-second is the server's capacity on one core either way. */
static void cpu_report(struct run *r, const char *prefix, double elapsed, uint64_t count)
{
    char name[64];
    double own = self_cpu_s() - r->own_cpu0, srv = server_cpu_s(r->o.server_pid) - r->srv_cpu0;
    snprintf(name, sizeof name, "%s_loadgen_cpu_pct", prefix);
    result(name, "%.0f", 100 * own / elapsed);
    if (r->srv_cpu0 < 0 || srv <= 0)
        return;
    snprintf(name, sizeof name, "%s_server_cpu_pct", prefix);
    result(name, "%.0f", 100 * srv / elapsed);
    snprintf(name, sizeof name, "%s_per_server_cpu_s", prefix);
    result(name, "%.1f", (double)count / srv);
}

/* ---- clients ---- */

static int open_client(struct run *r)
{
    if (r->n_free == 0)
        return -ENOSPC;
    struct client *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    c->lg = &r->lg;
    c->slot = r->free_slots[--r->n_free];
    bool paired = r->mode == M_MSGS || r->mode == M_SUBSCRIBE || r->mode == M_FLOOD;
    c->user = paired ? c->slot : r->next_user++ % r->o.users;
    r->lg.clients[c->slot] = c;
    r->lg.started++;
    r->lg.connecting++;
    r->lg.live++;
    int e = client_start(c);
    if (e < 0) { /* nothing opened: undo */
        r->lg.clients[c->slot] = NULL;
        r->free_slots[r->n_free++] = c->slot;
        r->lg.connecting--;
        r->lg.live--;
        r->lg.failed++;
        free(c);
    }
    return e;
}

/* Opens connections up to the phase's target, `concurrency` at a time. */
static void top_up(struct run *r)
{
    while (!r->lg.stopping && r->lg.started < r->target && r->lg.connecting < r->o.concurrency)
        if (open_client(r) < 0)
            break;
}

static void close_all(struct run *r)
{
    r->lg.stopping = true;
    r->lg.sending = false;
    for (size_t i = 0; i < r->max_clients; i++)
        if (r->lg.clients[i])
            client_close(r->lg.clients[i]);
}

void lg_client_online(struct lg *lg, struct client *c)
{
    struct run *r = run_of(lg);
    lg->connecting--;
    lg->online++;
    if (r->mode == M_IDLE || r->mode == M_CHURN)
        hist_add(lg, lg_now_ns() - c->t0_ns);
    if (r->mode == M_CHURN)
        client_close(c);
    if (r->mode == M_OFFLINE && r->phase == P_OFF_STORE)
        offline_send(r, c);
    else if (r->mode == M_OFFLINE && r->phase == P_OFF_LOGIN && r->off[r->round].all_ms >= 0)
        client_close(c); /* every message came before the login's ping answer */
    top_up(r);
}

void lg_client_closed(struct lg *lg, struct client *c)
{
    struct run *r = run_of(lg);
    if (!c->is_online) {
        lg->connecting--;
        if (!lg->stopping) /* else: cut short at the end of a run */
            lg->failed++;
    } else if (c->failed) {
        lg->failed++; /* dropped after login */
    }
    if (c->queued)
        for (size_t i = 0; i < lg->n_ready; i++)
            if (lg->ready[i] == c)
                lg->ready[i] = lg->ready[--lg->n_ready];
    if (c->peer)
        c->peer->peer = NULL;
    lg->clients[c->slot] = NULL;
    r->free_slots[r->n_free++] = c->slot;
    lg->live--;
    lg->closed++;
    free(c);
    top_up(r);
}

/* ---- messages ---- */

/* Sends messages to the partner while fewer than `window` are in flight and
 * the socket's queue is short. One TLS write per batch. */
static void send_messages(struct lg *lg, struct client *c)
{
    char batch[8192];
    size_t used = 0;
    while (lg->sending && c->peer && c->inflight < lg->o->window && client_write_queue(c) < 65536) {
        int n = snprintf(batch + used, sizeof batch - used,
                         "<message to='%s' type='chat' id='m%" PRIu64 "'><body>%" PRIu64 " %" PRIu64
                         "</body></message>",
                         c->peer->jid, c->seq, lg_now_ns(), c->seq);
        if (n < 0 || (size_t)n >= sizeof batch - used) {
            if (used == 0)
                return;
            if (client_send(c, batch, used) < 0)
                return;
            used = 0;
            continue;
        }
        used += (size_t)n;
        c->inflight++;
        c->seq++;
        lg->sent++;
    }
    if (used > 0)
        client_send(c, batch, used);
}

static void want_send(struct lg *lg, struct client *c)
{
    if (!c->queued && lg->n_ready < run_of(lg)->max_clients) {
        c->queued = true;
        lg->ready[lg->n_ready++] = c;
    }
}

void lg_client_message(struct lg *lg, struct client *c, const char *e, const char *body, size_t n)
{
    if (run_of(lg)->mode == M_OFFLINE)
        return offline_message(run_of(lg), c, e, body, n);
    if (run_of(lg)->mode == M_FLOOD) { /* only bounces come back to a sender */
        if (strstr(e, "type='error'") || strstr(e, "type=\"error\""))
            lg->bounced++;
        return;
    }
    char num[24];
    size_t k = n < sizeof num - 1 ? n : sizeof num - 1;
    memcpy(num, body, k);
    num[k] = '\0';
    char *end = NULL;
    uint64_t ts = strtoull(num, &end, 10), now = lg_now_ns();
    struct client *from = c->peer;
    if (end == num || !from)
        return;
    lg->received++;
    if (from->inflight > 0)
        from->inflight--;
    if (lg->measuring && ts <= now) {
        lg->measured++;
        hist_add(lg, now - ts);
    }
    want_send(lg, from);
}

/* After each poll: top up the senders that got answers in this turn. */
static void on_check(uv_check_t *h)
{
    struct lg *lg = h->data;
    while (lg->n_ready > 0) {
        struct client *c = lg->ready[--lg->n_ready];
        c->queued = false;
        send_messages(lg, c);
    }
}

/* ---- subscriptions ---- */

/* Copies the bare part of a full JID. */
static void bare_of(const char *jid, char *out, size_t n)
{
    size_t k = strcspn(jid, "/");
    if (k >= n)
        k = n - 1;
    memcpy(out, jid, k);
    out[k] = '\0';
}

void lg_client_subscribed(struct lg *lg, struct client *c)
{
    (void)c;
    run_of(lg)->subscribed++;
}

/* ---- offline delivery ---- */

void lg_client_iq_result(struct lg *lg, struct client *c, const char *id)
{
    struct run *r = run_of(lg);
    if (r->mode == M_FLOOD)
        return flood_iq_result(r, c, id);
    if (r->mode != M_OFFLINE || r->phase != P_OFF_STORE || strcmp(id, "stored"))
        return;
    /* the answer follows every message on this stream: all are stored */
    r->off[r->round].store_ms = (double)(lg_now_ns() - r->t_store) / 1e6;
    client_close(c);
    enter(r, P_OFF_GAP, OFF_STEP_S);
    r->t_gap_end = r->t_phase + (uint64_t)(OFF_GAP_S * 1e9);
}

/* The sender is online: o.messages chat messages to the recipient's bare
 * JID (no resource of it is online, so the server stores them), then a ping
 * whose answer proves the server has handled them all. */
static void offline_send(struct run *r, struct client *c)
{
    char to[128], user[64], batch[8192];
    size_t used = 0;
    snprintf(to, sizeof to, "%s@%s", lg_user_name(&r->lg, 1, user, sizeof user), r->o.domain);
    r->t_store = lg_now_ns();
    for (unsigned i = 0; i <= r->o.messages; i++) {
        int n = i < r->o.messages
                    ? snprintf(batch + used, sizeof batch - used,
                               "<message to='%s' type='chat' id='o%u-%u'><body>off %u %u: a "
                               "message sent while you were away</body></message>",
                               to, r->round, i, r->round, i)
                    : snprintf(batch + used, sizeof batch - used,
                               "<iq type='get' id='stored' to='%s'><ping xmlns='urn:xmpp:ping'/>"
                               "</iq>",
                               r->o.domain);
        if (n < 0 || (size_t)n >= sizeof batch - used) { /* full: send, redo this one */
            if (used == 0 || client_send(c, batch, used) < 0)
                return;
            used = 0;
            i--;
            continue;
        }
        used += (size_t)n;
    }
    client_send(c, batch, used);
}

/* A message at the recipient: counted when it belongs to this round. */
static void offline_message(struct run *r, struct client *c, const char *e, const char *body,
                            size_t n)
{
    unsigned round, index;
    char head[32];
    size_t k = n < sizeof head - 1 ? n : sizeof head - 1;
    memcpy(head, body, k);
    head[k] = '\0';
    struct off_round *o = &r->off[r->round];
    if (r->phase != P_OFF_LOGIN || sscanf(head, "off %u %u", &round, &index) != 2 ||
        round != r->round)
        return;
    double ms = (double)(lg_now_ns() - c->t_presence) / 1e6;
    if (o->got++ == 0)
        o->first_ms = ms;
    if (strstr(e, "urn:xmpp:delay"))
        o->delayed++;
    if (index != r->next_index)
        o->out_of_order++;
    r->next_index = index + 1;
    if (o->got == r->o.messages) {
        o->all_ms = ms;
        if (c->is_online) /* else when the login's ping is answered */
            client_close(c);
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of the rounds' values at byte offset `field`; -1 if one is missing. */
static double off_median(const struct run *r, size_t field)
{
    double v[OFF_MAX_ROUNDS];
    for (unsigned i = 0; i < r->o.rounds; i++) {
        memcpy(&v[i], (const char *)&r->off[i] + field, sizeof v[i]);
        if (v[i] < 0)
            return -1;
    }
    qsort(v, r->o.rounds, sizeof v[0], cmp_double);
    return r->o.rounds % 2 ? v[r->o.rounds / 2] : (v[r->o.rounds / 2 - 1] + v[r->o.rounds / 2]) / 2;
}

/* ---- the scenarios, advanced by a tick ---- */

static void enter(struct run *r, enum phase p, double seconds)
{
    r->phase = p;
    r->t_phase = lg_now_ns();
    r->t_until = r->t_phase + (uint64_t)(seconds * 1e9);
}

static void finish(struct run *r)
{
    close_all(r);
    enter(r, P_STOPPING, STOP_WAIT_S);
}

/* ---- write flood: offline storage under load ---- */

/* Client slot 0 (user0) is the unrelated client that pings the server;
 * slots 1..senders send, each, --batch chat messages to the bare JIDs of
 * accounts that are never online (the rest of the accounts, in turn),
 * then a ping. The server answers the ping after it handled the batch,
 * and since stored messages are committed before their sender's next
 * stanza is answered, the answer means "the batch is on disk": those are
 * the writes counted. Then the next batch. */
static void flood_send(struct run *r, struct client *c)
{
    struct lg *lg = &r->lg;
    char batch[16384], user[64];
    size_t used = 0;
    unsigned first = r->o.senders + 1, nrcpt = r->o.users - first;
    for (unsigned i = 0; i <= r->o.window; i++) {
        int n;
        if (i < r->o.window) {
            unsigned to = first + (unsigned)(r->next_rcpt++ % nrcpt);
            n = snprintf(batch + used, sizeof batch - used,
                         "<message to='%s@%s' type='chat' id='w%" PRIu64 "'><body>flood %" PRIu64
                         ": a message for someone who is away</body></message>",
                         lg_user_name(lg, to, user, sizeof user), r->o.domain, c->seq, c->seq);
            c->seq++;
        } else {
            n = snprintf(batch + used, sizeof batch - used,
                         "<iq type='get' id='f' to='%s'><ping xmlns='urn:xmpp:ping'/></iq>",
                         r->o.domain);
        }
        if (n < 0 || (size_t)n >= sizeof batch - used)
            return lg_error(lg, c, "flood batch too large");
        used += (size_t)n;
    }
    lg->sent += r->o.window;
    client_send(c, batch, used);
}

static void flood_iq_result(struct run *r, struct client *c, const char *id)
{
    struct lg *lg = &r->lg;
    if (c->slot == 0 && id[0] == 'q') {
        if (lg->measuring)
            hist_add(lg, lg_now_ns() - r->ping_sent_ns);
        r->pings += lg->measuring;
        r->ping_out = false;
    } else if (c->slot > 0 && strcmp(id, "f") == 0) {
        if (lg->measuring)
            r->acked += r->o.window;
        if (lg->sending)
            flood_send(r, c);
    }
}

/* Every 5 ms, unless the last ping is still out: one ping from user0. */
static void flood_ping(uv_timer_t *t)
{
    struct run *r = t->data;
    struct client *p = r->lg.clients[0];
    if (!p || r->ping_out || !p->is_online)
        return;
    char iq[160];
    int n = snprintf(iq, sizeof iq,
                     "<iq type='get' id='q%" PRIu64 "' to='%s'><ping xmlns='urn:xmpp:ping'/></iq>",
                     r->ping_seq++, r->o.domain);
    r->ping_out = true;
    r->ping_sent_ns = lg_now_ns();
    client_send(p, iq, (size_t)n);
}

static void flood_report(struct run *r, uint64_t now)
{
    struct lg *lg = &r->lg;
    double el = secs(now - r->t_phase);
    result("flood_writes", "%" PRIu64, r->acked);
    result("flood_writes_per_s", "%.1f", r->acked / el);
    result("flood_pings", "%" PRIu64, r->pings);
    result("flood_ping_ms_p50", "%.3f", hist_ms(lg, 0.50));
    result("flood_ping_ms_p99", "%.3f", hist_ms(lg, 0.99));
    result("flood_bounced", "%" PRIu64, lg->bounced);
    cpu_report(r, "flood", el, r->acked);
}

static void flood_tick(struct run *r, uint64_t now)
{
    struct lg *lg = &r->lg;
    if (r->phase == P_RAMP && lg->started >= r->target && lg->connecting == 0) {
        if (lg->online < r->target) {
            fprintf(stderr, "loadgen: only %" PRIu64 " of %u clients logged in\n", lg->online,
                    r->target);
            r->exit_code = 1;
            return finish(r);
        }
        lg->sending = true;
        for (unsigned i = 1; i < r->target; i++)
            flood_send(r, lg->clients[i]);
        uv_timer_start(&r->ping_timer, flood_ping, 5, 5);
        enter(r, P_WARM, MSG_WARMUP_S);
    } else if (r->phase == P_WARM && now >= r->t_until) {
        hist_clear(lg);
        lg->measuring = true;
        cpu_mark(r);
        enter(r, P_MEASURE, r->o.seconds);
    } else if (r->phase == P_MEASURE && now >= r->t_until) {
        lg->measuring = false;
        lg->sending = false;
        uv_timer_stop(&r->ping_timer);
        flood_report(r, now);
        enter(r, P_DRAIN, 5);
    } else if (r->phase == P_DRAIN && now >= r->t_until - 4000000000u) {
        finish(r); /* a second for the last batches' answers */
    }
}

static void idle_tick(struct run *r, uint64_t now)
{
    struct lg *lg = &r->lg;
    if (r->phase == P_RAMP && lg->started >= r->target && lg->connecting == 0) {
        unsigned done = (unsigned)(lg->online - r->count_at_phase);
        result("idle_ramp_logins_per_s", "%u %.1f", r->target, done / secs(now - r->t_phase));
        enter(r, P_SETTLE, r->o.settle);
    } else if (r->phase == P_SETTLE && now >= r->t_until) {
        long rss = rss_kib(r->o.server_pid);
        unsigned conns = lg->live;
        result("idle_conns", "%u %u", r->target, conns);
        result("idle_rss_kib", "%u %ld %ld", r->target, r->rss0, rss);
        if (conns > 0 && rss >= 0)
            result("idle_kib_per_conn", "%u %.2f", r->target, (double)(rss - r->rss0) / conns);
        if (++r->step >= r->o.n_conns)
            return finish(r);
        r->target = r->o.conns[r->step];
        r->count_at_phase = lg->online;
        enter(r, P_RAMP, 0);
        top_up(r);
    }
}

static void churn_tick(struct run *r, uint64_t now)
{
    struct lg *lg = &r->lg;
    if (r->phase != P_RUN || now < r->t_until)
        return;
    double el = secs(now - r->t_phase);
    result("churn_logins", "%" PRIu64, lg->online);
    result("churn_failed", "%" PRIu64, lg->failed);
    result("churn_logins_per_s", "%.1f", lg->online / el);
    result("churn_login_ms_p50", "%.2f", hist_ms(lg, 0.50));
    result("churn_login_ms_p99", "%.2f", hist_ms(lg, 0.99));
    cpu_report(r, "churn", el, lg->online);
    r->target = 0;
    finish(r);
}

/* Pairs slot 2k with 2k+1 once every client logged in; false (and the run
 * ends) when some did not. */
static bool pair_up(struct run *r)
{
    struct lg *lg = &r->lg;
    if (lg->online < r->target) {
        fprintf(stderr, "loadgen: only %" PRIu64 " of %u clients logged in\n", lg->online,
                r->target);
        r->exit_code = 1;
        finish(r);
        return false;
    }
    for (unsigned i = 0; i + 1 < r->target; i += 2) {
        lg->clients[i]->peer = lg->clients[i + 1];
        lg->clients[i + 1]->peer = lg->clients[i];
    }
    return true;
}

static void msgs_start(struct run *r)
{
    struct lg *lg = &r->lg;
    if (!pair_up(r))
        return;
    lg->sending = true;
    for (unsigned i = 0; i < r->target; i++)
        send_messages(lg, lg->clients[i]);
    enter(r, P_WARM, MSG_WARMUP_S);
}

static void msgs_report(struct run *r, uint64_t now)
{
    struct lg *lg = &r->lg;
    double el = secs(now - r->t_phase);
    result("msgs_received", "%" PRIu64, lg->measured);
    result("msgs_per_s", "%.1f", lg->measured / el);
    result("msgs_latency_ms_p50", "%.3f", hist_ms(lg, 0.50));
    result("msgs_latency_ms_p99", "%.3f", hist_ms(lg, 0.99));
    cpu_report(r, "msgs", el, lg->measured);
    if (!r->o.roster)
        return;
    unsigned both = 0;
    for (unsigned i = 0; i < r->target; i++)
        both += lg->clients[i] && lg->clients[i]->roster_both > 0;
    /* how many logins found their partner as a 'both' contact in the roster */
    result("msgs_roster_both", "%u %u", both, r->target);
    result("msgs_presences", "%" PRIu64, lg->presences);
}

static void msgs_tick(struct run *r, uint64_t now)
{
    struct lg *lg = &r->lg;
    if (r->phase == P_RAMP && lg->started >= r->target && lg->connecting == 0) {
        msgs_start(r);
    } else if (r->phase == P_WARM && now >= r->t_until) {
        hist_clear(lg);
        lg->measuring = true;
        cpu_mark(r);
        enter(r, P_MEASURE, r->o.seconds);
    } else if (r->phase == P_MEASURE && now >= r->t_until) {
        lg->measuring = false;
        lg->sending = false;
        msgs_report(r, now);
        enter(r, P_DRAIN, 5);
    } else if (r->phase == P_DRAIN && (lg->received == lg->sent || now >= r->t_until)) {
        result("msgs_undelivered", "%" PRIu64, lg->sent - lg->received);
        finish(r);
    }
}

/* Everyone online: the even client of each pair asks its partner, who
 * approves and asks back (client.c); done when every client saw 'both'. */
static void subscribe_tick(struct run *r, uint64_t now)
{
    struct lg *lg = &r->lg;
    char bare[96];
    if (r->phase == P_RAMP && lg->started >= r->target && lg->connecting == 0) {
        if (!pair_up(r))
            return;
        for (unsigned i = 0; i + 1 < r->target; i += 2) {
            struct client *a = lg->clients[i], *b = lg->clients[i + 1];
            if (a->roster_both && b->roster_both) { /* from an earlier run */
                a->sub_both = b->sub_both = true;
                r->subscribed += 2;
                continue;
            }
            bare_of(b->jid, bare, sizeof bare);
            client_subscribe(a, bare);
        }
        enter(r, P_RUN, SUBSCRIBE_S);
    } else if (r->phase == P_RUN && (r->subscribed >= r->target || now >= r->t_until)) {
        result("subscribe_both", "%u %u", r->subscribed, r->target);
        result("subscribe_seconds", "%.2f", secs(now - r->t_phase));
        if (r->subscribed < r->target) {
            fprintf(stderr, "loadgen: %u of %u clients saw a 'both' subscription\n", r->subscribed,
                    r->target);
            r->exit_code = 1;
        }
        finish(r);
    }
}

static void offline_report(struct run *r)
{
    unsigned got = UINT_MAX, delayed = UINT_MAX, ooo = 0;
    char all[256] = "";
    for (unsigned i = 0; i < r->o.rounds; i++) {
        const struct off_round *o = &r->off[i];
        got = o->got < got ? o->got : got;
        delayed = o->delayed < delayed ? o->delayed : delayed;
        ooo += o->out_of_order;
        size_t used = strlen(all);
        snprintf(all + used, sizeof all - used, " %.1f", o->all_ms);
    }
    result("offline_messages", "%u", r->o.messages);
    result("offline_delivered_min", "%u", got);
    result("offline_delayed_min", "%u", delayed);
    result("offline_out_of_order", "%u", ooo);
    result("offline_bounced", "%" PRIu64, r->lg.bounced);
    result("offline_store_ms", "%.1f", off_median(r, offsetof(struct off_round, store_ms)));
    result("offline_first_ms", "%.1f", off_median(r, offsetof(struct off_round, first_ms)));
    result("offline_deliver_ms", "%.1f", off_median(r, offsetof(struct off_round, all_ms)));
    result("offline_deliver_ms_rounds", "%s", all + 1);
}

/* Lets top_up() open one client for account `user` (0 sends, 1 receives). */
static void offline_open(struct run *r, unsigned user)
{
    r->next_user = user;
    r->target = (unsigned)r->lg.started + 1;
}

/* Starts a round: the sender's login is opened by the next top_up(). */
static void offline_round(struct run *r)
{
    r->off[r->round] = (struct off_round){-1, -1, -1, 0, 0, 0};
    r->next_index = 0;
    offline_open(r, 0);
    enter(r, P_OFF_STORE, OFF_STEP_S);
}

/* One round: store (sender), gap, deliver (recipient); then the next. */
static void offline_tick(struct run *r, uint64_t now)
{
    struct lg *lg = &r->lg;
    if (r->phase == P_OFF_GAP && lg->live == 0 && now >= r->t_gap_end) {
        offline_open(r, 1);
        enter(r, P_OFF_LOGIN, OFF_STEP_S);
        return top_up(r);
    }
    bool done = r->phase == P_OFF_LOGIN && r->off[r->round].all_ms >= 0 && lg->live == 0;
    if (!done && now < r->t_until)
        return;
    if (!done) {
        fprintf(stderr, "loadgen: offline round %u: phase %d timed out (%u received)\n", r->round,
                r->phase, r->off[r->round].got);
        r->exit_code = 1;
        r->o.rounds = r->round + 1;
    }
    if (done && ++r->round < r->o.rounds) {
        offline_round(r);
        return top_up(r);
    }
    offline_report(r);
    finish(r);
}

static void progress(struct run *r, uint64_t now)
{
    if (!r->o.verbose || now < r->t_report)
        return;
    r->t_report = now + 1000000000u;
    fprintf(stderr,
            "loadgen: phase %d started %" PRIu64 " online %" PRIu64 " failed %" PRIu64
            " live %u received %" PRIu64 "\n",
            r->phase, r->lg.started, r->lg.online, r->lg.failed, r->lg.live, r->lg.received);
}

static void on_tick(uv_timer_t *t)
{
    struct run *r = t->data;
    uint64_t now = lg_now_ns();
    progress(r, now);
    if (r->phase == P_STOPPING) {
        if (r->lg.live == 0 || now >= r->t_until) {
            uv_close((uv_handle_t *)&r->tick, NULL);
            uv_close((uv_handle_t *)&r->ping_timer, NULL);
            uv_close((uv_handle_t *)&r->check, NULL);
            uv_stop(r->lg.loop); /* clients still open are abandoned */
        }
        return;
    }
    if (now >= r->t_hard) {
        fprintf(stderr, "loadgen: time limit reached in phase %d\n", r->phase);
        r->exit_code = 2;
        return finish(r);
    }
    if (r->mode == M_IDLE)
        idle_tick(r, now);
    else if (r->mode == M_CHURN)
        churn_tick(r, now);
    else if (r->mode == M_SUBSCRIBE)
        subscribe_tick(r, now);
    else if (r->mode == M_OFFLINE)
        offline_tick(r, now);
    else if (r->mode == M_FLOOD)
        flood_tick(r, now);
    else
        msgs_tick(r, now);
}

/* Where the time of a login goes: average per step, all clients. */
static void print_steps(const struct lg *lg)
{
    fprintf(stderr, "loadgen: average time per step (ms):");
    for (int st = C_CONNECTING; st < C_ONLINE; st++)
        if (lg->state_n[st])
            fprintf(stderr, " %s %.2f;", client_state_name((enum client_state)st),
                    (double)lg->state_ns[st] / (double)lg->state_n[st] / 1e6);
    fputc('\n', stderr);
}

/* ---- set-up ---- */

static SSL_CTX *client_ctx(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx)
        return NULL;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL); /* a self-signed benchmark cert */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    /* every login is a full handshake, as for a client that was away */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    return ctx;
}

static int setup(struct run *r)
{
    struct lg *lg = &r->lg;
    lg->loop = uv_default_loop();
    lg->o = &r->o;
    lg->ctx = client_ctx();
    lg->cache = scram_cache_new(r->o.users + 16);
    lg->hist = calloc(HIST_N, sizeof *lg->hist);
    lg->clients = calloc(r->max_clients, sizeof *lg->clients);
    lg->ready = calloc(r->max_clients, sizeof *lg->ready);
    r->free_slots = calloc(r->max_clients, sizeof *r->free_slots);
    if (!lg->ctx || !lg->cache || !lg->hist || !lg->clients || !lg->ready || !r->free_slots)
        return -ENOMEM;
    for (size_t i = 0; i < r->max_clients; i++) /* pop order: slot 0 first */
        r->free_slots[r->n_free++] = (unsigned)(r->max_clients - 1 - i);
    uv_timer_init(lg->loop, &r->tick);
    uv_timer_init(lg->loop, &r->ping_timer);
    uv_check_init(lg->loop, &r->check);
    r->tick.data = r;
    r->ping_timer.data = r;
    r->check.data = lg;
    uv_check_start(&r->check, on_check);
    return uv_timer_start(&r->tick, on_tick, TICK_MS, TICK_MS);
}

static void teardown(struct run *r)
{
    struct lg *lg = &r->lg;
    uv_run(lg->loop, UV_RUN_NOWAIT);
    for (size_t i = 0; i < r->max_clients; i++)
        if (lg->clients && lg->clients[i])
            free(lg->clients[i]); /* abandoned: the process ends anyway */
    SSL_CTX_free(lg->ctx);
    scram_cache_free(lg->cache);
    free(lg->hist);
    free(lg->clients);
    free(lg->ready);
    free(r->free_slots);
}

static void begin(struct run *r)
{
    double hard = 300;
    if (r->mode == M_IDLE) {
        r->max_clients = r->o.conns[r->o.n_conns - 1];
        r->target = r->o.conns[0];
        r->rss0 = rss_kib(r->o.server_pid);
        enter(r, P_RAMP, 0);
    } else if (r->mode == M_CHURN) {
        r->max_clients = r->o.concurrency;
        r->target = UINT_MAX;
        hard = r->o.seconds + 30;
        enter(r, P_RUN, r->o.seconds);
        cpu_mark(r);
    } else if (r->mode == M_FLOOD) {
        r->max_clients = r->o.senders + 1;
        r->target = r->o.senders + 1;
        hard = 120 + r->o.seconds;
        enter(r, P_RAMP, 0);
    } else if (r->mode == M_OFFLINE) {
        r->max_clients = 2;
        hard = 30 + r->o.rounds * (2.0 * OFF_STEP_S + OFF_GAP_S);
        offline_round(r);
    } else {
        r->max_clients = 2 * r->o.pairs;
        r->target = 2 * r->o.pairs;
        hard = r->mode == M_SUBSCRIBE ? 120 + SUBSCRIBE_S : 120 + r->o.seconds;
        enter(r, P_RAMP, 0);
    }
    r->t_hard = r->t_phase + (uint64_t)(hard * 1e9);
}

/* ---- options ---- */

static void usage(void)
{
    fprintf(stderr, "usage: loadgen idle|churn|msgs|subscribe|offline|flood --port N [options]\n"
                    "  --host A        server address (127.0.0.1)\n"
                    "  --domain D      XMPP domain (localhost)\n"
                    "  --user-fmt F    account name format with one %%u (user%%u)\n"
                    "  --password P    password of every account (bench-pass-1)\n"
                    "  --users N       accounts 0..N-1 exist (500)\n"
                    "  --concurrency N logins in flight at once (100)\n"
                    "  --seconds S     churn: run time; msgs: measured time (10)\n"
                    "  --conns A,B     idle: connection counts to measure at (1000,10000)\n"
                    "  --server-pid P  server process: its VmRSS (idle, required) and CPU time\n"
                    "  --settle S      idle: wait before reading RSS (3)\n"
                    "  --pairs N       msgs: pairs of clients (250)\n"
                    "  --window N      msgs: messages in flight per sender (16);\n"
                    "                  flood: messages per batch (a ping follows each)\n"
                    "  --senders N     flood: clients storing messages for offline accounts (100)\n"
                    "  --roster        msgs, subscribe: roster get before initial presence\n"
                    "  --messages N    offline: messages stored per round (1000)\n"
                    "  --rounds N      offline: rounds, the median is reported (3)\n"
                    "  -v              progress on stderr\n");
}

static bool fmt_ok(const char *f)
{
    const char *p = strchr(f, '%');
    return p && p[1] == 'u' && !strchr(p + 2, '%') && strlen(f) < 40;
}

static int parse_conns(struct lg_opts *o, char *s)
{
    o->n_conns = 0;
    for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
        unsigned long v = strtoul(tok, NULL, 10);
        if (o->n_conns == 4 || v == 0 || v > 100000 ||
            (o->n_conns && v <= o->conns[o->n_conns - 1]))
            return -EINVAL;
        o->conns[o->n_conns++] = (unsigned)v;
    }
    return o->n_conns ? 0 : -EINVAL;
}

static int parse_opts(struct run *r, int argc, char **argv)
{
    static const struct option opts[] = {
        {"host", 1, 0, 'H'},        {"port", 1, 0, 'p'},     {"domain", 1, 0, 'd'},
        {"user-fmt", 1, 0, 'f'},    {"password", 1, 0, 'P'}, {"users", 1, 0, 'u'},
        {"concurrency", 1, 0, 'c'}, {"seconds", 1, 0, 's'},  {"conns", 1, 0, 'n'},
        {"server-pid", 1, 0, 'r'},  {"settle", 1, 0, 'S'},   {"pairs", 1, 0, 'a'},
        {"window", 1, 0, 'w'},      {"roster", 0, 0, 'R'},   {"messages", 1, 0, 'm'},
        {"rounds", 1, 0, 'o'},      {"senders", 1, 0, 'e'},  {0, 0, 0, 0}};
    struct lg_opts *o = &r->o;
    char conns[] = "1000,10000";
    *o = (struct lg_opts){.host = "127.0.0.1",
                          .domain = "localhost",
                          .user_fmt = "user%u",
                          .password = "bench-pass-1",
                          .users = 500,
                          .concurrency = 100,
                          .seconds = 10,
                          .settle = 3,
                          .pairs = 250,
                          .window = 16,
                          .messages = 1000,
                          .rounds = 3,
                          .senders = 100};
    parse_conns(o, conns);
    if (argc < 2)
        return -EINVAL;
    const char *mode = argv[1];
    static const char *const modes[] = {
        [M_IDLE] = "idle",           [M_CHURN] = "churn",     [M_MSGS] = "msgs",
        [M_SUBSCRIBE] = "subscribe", [M_OFFLINE] = "offline", [M_FLOOD] = "flood"};
    size_t m = 0;
    while (m < sizeof modes / sizeof modes[0] && strcmp(mode, modes[m]))
        m++;
    if (m == sizeof modes / sizeof modes[0])
        return -EINVAL;
    r->mode = (enum mode)m;
    int ch;
    optind = 2;
    while ((ch = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
        switch (ch) {
        case 'H': o->host = optarg; break;
        case 'p': o->port = atoi(optarg); break;
        case 'd': o->domain = optarg; break;
        case 'f': o->user_fmt = optarg; break;
        case 'P': o->password = optarg; break;
        case 'u': o->users = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'c': o->concurrency = (unsigned)strtoul(optarg, NULL, 10); break;
        case 's': o->seconds = atof(optarg); break;
        case 'n':
            if (parse_conns(o, optarg) < 0)
                return -EINVAL;
            break;
        case 'r': o->server_pid = atoi(optarg); break;
        case 'S': o->settle = atof(optarg); break;
        case 'a': o->pairs = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'w': o->window = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'R': o->roster = true; break;
        case 'm': o->messages = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'o': o->rounds = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'e': o->senders = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'v': o->verbose++; break;
        default: return -EINVAL;
        }
    }
    bool ok = o->port > 0 && o->port < 65536 && fmt_ok(o->user_fmt) && o->users > 0 &&
              o->concurrency > 0 && o->concurrency <= 100000 && o->seconds > 0 &&
              o->seconds <= 600 && o->settle >= 0 && o->settle <= 60 && o->window > 0 &&
              o->window <= 1000 && o->pairs > 0 && o->pairs <= 50000 && strlen(o->domain) < 64 &&
              strlen(o->password) < 64;
    if (r->mode == M_IDLE && o->server_pid <= 0)
        ok = false;
    if ((r->mode == M_MSGS || r->mode == M_SUBSCRIBE) && o->users < 2 * o->pairs)
        ok = false;
    if (r->mode == M_FLOOD &&
        (o->senders == 0 || o->senders > 10000 || o->users < o->senders + 2 || o->window > 100))
        ok = false;
    if (r->mode == M_SUBSCRIBE)
        o->roster = true; /* roster pushes go to sessions that asked for the roster */
    if (r->mode == M_OFFLINE && (o->users < 2 || o->messages == 0 || o->messages > 100000 ||
                                 o->rounds == 0 || o->rounds > OFF_MAX_ROUNDS))
        ok = false;
    return ok ? 0 : -EINVAL;
}

int main(int argc, char **argv)
{
    struct run *r = calloc(1, sizeof *r);
    if (!r)
        return 1;
    if (parse_opts(r, argc, argv) < 0) {
        usage();
        free(r);
        return 64;
    }
    signal(SIGPIPE, SIG_IGN);
    begin(r);
    int code = 1;
    if (setup(r) == 0) {
        top_up(r);
        uv_run(r->lg.loop, UV_RUN_DEFAULT);
        code = r->exit_code;
    } else {
        fprintf(stderr, "loadgen: set-up failed\n");
    }
    if (r->o.verbose)
        print_steps(&r->lg);
    if (r->lg.failed > 0)
        fprintf(stderr, "loadgen: %" PRIu64 " of %" PRIu64 " connections failed\n", r->lg.failed,
                r->lg.started);
    teardown(r);
    free(r);
    return code;
}
