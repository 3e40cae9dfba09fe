/* The store's request queue and its writer thread (see queue.h).
 *
 * One mutex guards what both threads touch: the list of submitted
 * requests (in), the list of completed ones (done), and the flags that
 * say whether the writer runs and whether the completion handle may be
 * signalled. Everything else belongs to one thread: the loop's counters,
 * barriers and cancelled ids to the loop, the connection to the writer
 * while it runs.
 */
#include "store/queue.h"

#include <errno.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The writer thread's nice value, relative to the process's (see
 * writer_main). */
#define WRITER_NICE 10
/* Requests a group runs between two sched_yield calls (see writer_main). */
#define WRITER_YIELD_EVERY 16

struct barrier {
    uint64_t upto;
    void (*fn)(void *ud, uint64_t tag);
    void *ud;
    uint64_t tag;
    struct barrier *next;
};

/* A FIFO of requests. */
struct req_list {
    struct store_req *head, **tail;
    size_t n;
};

struct store_queue {
    const struct store_ops *ops;
    struct store *conn; /* the write connection */
    uv_loop_t *loop;
    uv_async_t async;

    uv_mutex_t mu;
    uv_cond_t cv;
    struct req_list in;   /* submitted, not yet taken by the writer */
    struct req_list done; /* completed, not yet delivered on the loop */
    bool stop;            /* the writer exits once in is empty */
    bool signal_ok;       /* async may be signalled */
    /* stats the writer keeps (under mu) */
    uint64_t groups, regroups;
    size_t max_group;

    /* loop thread only */
    uv_thread_t thread;
    bool running; /* the writer thread exists */
    bool async_open;
    bool delivering;
    uint64_t next_id, hold_mark, delivered_upto, submitted, completed;
    struct barrier *barriers, **barrier_tail; /* in order of upto */
    uint64_t *cancelled; /* ids whose callbacks are not to be called */
    size_t ncancelled, cancel_cap;
};

static void list_init(struct req_list *l)
{
    l->head = NULL;
    l->tail = &l->head;
    l->n = 0;
}

static void list_push(struct req_list *l, struct store_req *r)
{
    r->next = NULL;
    *l->tail = r;
    l->tail = &r->next;
    l->n++;
}

/* Moves all of from to the end of to. */
static void list_splice(struct req_list *to, struct req_list *from)
{
    if (!from->head)
        return;
    *to->tail = from->head;
    to->tail = from->tail;
    to->n += from->n;
    list_init(from);
}

/* ---- the writer: one group ---- */

/* Runs every request of the group not yet settled inside one transaction.
 * Returns the index of a request during which the backend lost the whole
 * transaction (that request's rc is final), or -1 when the group ran to
 * its end (then *end_rc is the commit's outcome). */
static long run_once(struct store_queue *q, struct store_req **v, size_t n, bool *settled,
                     bool durable, int *end_rc)
{
    const struct store_ops *ops = q->ops;
    int rc = ops->group_begin(q->conn, durable);
    if (rc < 0) {
        *end_rc = rc;
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (settled[i])
            continue;
        if (i > 0 && i % WRITER_YIELD_EVERY == 0)
            sched_yield();
        struct store_req *r = v[i];
        r->value = 0;
        if (r->flags & STORE_REQ_ATOMIC) {
            r->rc = r->run(ops, q->conn, r, &r->value);
        } else {
            r->rc = ops->req_begin(q->conn);
            if (r->rc == 0)
                r->rc = ops->req_end(q->conn, r->run(ops, q->conn, r, &r->value));
        }
        if (ops->group_lost(q->conn)) {
            if (r->rc == 0)
                r->rc = -EIO;
            settled[i] = true;
            return (long)i;
        }
    }
    *end_rc = ops->group_end(q->conn, 0);
    return -1;
}

/* Group commit: the requests of v share one transaction and one commit,
 * each in its own savepoint. A request during which the backend rolled
 * the whole transaction back keeps its error, and the group runs again
 * without it (each round settles one more, so this ends). A failed
 * commit (or begin) is the outcome of every request that had succeeded;
 * a request that failed by itself keeps its own error. */
static void run_group(struct store_queue *q, struct store_req **v, size_t n, bool *settled)
{
    bool durable = false;
    for (size_t i = 0; i < n; i++)
        durable |= (v[i]->flags & STORE_REQ_DURABLE) != 0;
    int end_rc = 0;
    unsigned rounds = 0;
    while (run_once(q, v, n, settled, durable, &end_rc) >= 0)
        rounds++;
    for (size_t i = 0; i < n; i++) {
        if (!settled[i] && end_rc < 0 && v[i]->rc == 0) {
            v[i]->rc = end_rc; /* its write is not committed */
            v[i]->value = 0;
        }
    }
    uv_mutex_lock(&q->mu);
    q->groups++;
    q->regroups += rounds;
    if (n > q->max_group)
        q->max_group = n;
    uv_mutex_unlock(&q->mu);
}

/* Takes the list as one group, runs it, hands it to the loop. */
static void writer_group(struct store_queue *q, struct req_list *g)
{
    struct store_req *stackv[64];
    bool stacks[64];
    struct store_req **v = g->n <= 64 ? stackv : malloc(g->n * sizeof *v);
    bool *settled = g->n <= 64 ? stacks : calloc(g->n, sizeof *settled);
    if (!v || !settled) {
        /* No memory for the index: one request at a time, still grouped
         * correctly (a group of one). */
        if (v != stackv)
            free(v);
        if (settled != stacks)
            free(settled);
        for (struct store_req *r = g->head; r; r = r->next) {
            bool one = false;
            run_group(q, &r, 1, &one);
        }
    } else {
        size_t i = 0;
        for (struct store_req *r = g->head; r && i < g->n; r = r->next) {
            v[i] = r;
            settled[i++] = false;
        }
        run_group(q, v, i, settled);
        if (v != stackv)
            free(v);
        if (settled != stacks)
            free(settled);
    }
    uv_mutex_lock(&q->mu);
    list_splice(&q->done, g);
    if (q->signal_ok)
        uv_async_send(&q->async);
    uv_mutex_unlock(&q->mu);
}

static void writer_main(void *arg)
{
    struct store_queue *q = arg;
    /* The loop answers clients; the writer only catches up. When both
     * want the same core (a one-vCPU machine, a pinned process), the
     * loop should not wait behind a group's inserts: the writer runs at
     * a lower priority (Linux: nice applies per thread). Its requests
     * still complete: when the loop waits for them it is idle.
     * SCHED_BATCH: waking the writer (every submit may) never preempts
     * the loop that woke it; measured in the write flood, the loop lost
     * the core for 2-8 ms at such wake-ups. And in a long group the
     * writer yields every WRITER_YIELD_EVERY requests, so that a loop
     * woken by a client gets the core within a few inserts, not at the
     * end of the writer's time slice. (SCHED_IDLE was worse: a writer
     * starved while holding SQLite's locks made the loop's reads wait.) */
    struct sched_param sp = {0};
    (void)sched_setscheduler(0, SCHED_BATCH, &sp);
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), WRITER_NICE); /* best effort */
    uv_mutex_lock(&q->mu);
    for (;;) {
        while (!q->in.head && !q->stop)
            uv_cond_wait(&q->cv, &q->mu);
        if (!q->in.head)
            break; /* stop, and nothing left */
        struct req_list g = q->in;
        list_init(&q->in);
        uv_mutex_unlock(&q->mu);
        writer_group(q, &g);
        uv_mutex_lock(&q->mu);
    }
    uv_mutex_unlock(&q->mu);
}

/* ---- the loop: completions ---- */

static bool take_cancelled(struct store_queue *q, uint64_t id)
{
    for (size_t i = 0; i < q->ncancelled; i++) {
        if (q->cancelled[i] == id) {
            q->cancelled[i] = q->cancelled[--q->ncancelled];
            return true;
        }
    }
    return false;
}

/* Calls the barriers that are due, oldest first, each once. They are
 * in order of upto, so the first not due ends the walk. fn may add
 * barriers (at the tail) or forget some. */
static void run_barriers(struct store_queue *q)
{
    while (q->barriers && q->barriers->upto <= q->delivered_upto) {
        struct barrier *b = q->barriers;
        q->barriers = b->next;
        if (!q->barriers)
            q->barrier_tail = &q->barriers;
        b->fn(b->ud, b->tag);
        free(b);
    }
}

static void complete(struct store_queue *q, struct store_req *r)
{
    bool cancelled = q->ncancelled && take_cancelled(q, r->id);
    if (r->cb && !cancelled)
        r->cb(r->ud, r->rc, r->value);
    if (r->id > q->delivered_upto)
        q->delivered_upto = r->id;
    q->completed++;
    if ((r->flags & STORE_REQ_SECRET) && r->size)
        explicit_bzero(r, r->size);
    free(r);
}

/* Delivers what the writer finished, in order. Not re-entered: a
 * callback that submits inline (after stop) completes on its own. */
static void deliver(struct store_queue *q)
{
    if (q->delivering)
        return;
    q->delivering = true;
    for (;;) {
        uv_mutex_lock(&q->mu);
        struct req_list d = q->done;
        list_init(&q->done);
        uv_mutex_unlock(&q->mu);
        if (!d.head)
            break;
        while (d.head) {
            struct store_req *r = d.head;
            d.head = r->next;
            complete(q, r);
        }
    }
    q->delivering = false;
    if (q->async_open && q->submitted == q->completed)
        uv_unref((uv_handle_t *)&q->async);
    run_barriers(q);
}

static void on_async(uv_async_t *h) { deliver(h->data); }

/* ---- the interface ---- */

int store_queue_open(struct store_queue **out, uv_loop_t *loop, const struct store_ops *ops,
                     const char *path, const struct store_schema *schema, char **err)
{
    *out = NULL;
    struct store_queue *q = calloc(1, sizeof *q);
    if (!q) {
        if (err)
            *err = strdup("out of memory");
        return -ENOMEM;
    }
    q->ops = ops;
    q->loop = loop;
    list_init(&q->in);
    list_init(&q->done);
    q->barrier_tail = &q->barriers;
    int rc = ops->open(&q->conn, path, schema, err);
    if (rc < 0) {
        free(q);
        return rc;
    }
    if (uv_mutex_init(&q->mu) < 0 || uv_cond_init(&q->cv) < 0 ||
        uv_async_init(loop, &q->async, on_async) < 0) {
        ops->close(q->conn);
        free(q);
        if (err)
            *err = strdup("cannot set up the store queue");
        return -ENOMEM;
    }
    q->async.data = q;
    uv_unref((uv_handle_t *)&q->async); /* alive only while requests are out (submit) */
    q->async_open = true;
    q->signal_ok = true;
    *out = q;
    return 0;
}

int store_queue_start(struct store_queue *q)
{
    if (q->running)
        return 0;
    q->stop = false;
    int rc = uv_thread_create(&q->thread, writer_main, q);
    if (rc < 0)
        return rc;
    q->running = true;
    return 0;
}

static void on_async_closed(uv_handle_t *h) { (void)h; }

void store_queue_detach(struct store_queue *q)
{
    if (!q || !q->async_open)
        return;
    uv_mutex_lock(&q->mu);
    q->signal_ok = false;
    uv_mutex_unlock(&q->mu);
    q->async_open = false;
    if (!uv_is_closing((uv_handle_t *)&q->async))
        uv_close((uv_handle_t *)&q->async, on_async_closed);
}

void store_queue_stop(struct store_queue *q)
{
    if (!q)
        return;
    if (q->running) {
        uv_mutex_lock(&q->mu);
        q->stop = true;
        uv_cond_signal(&q->cv);
        uv_mutex_unlock(&q->mu);
        uv_thread_join(&q->thread);
        q->running = false;
    }
    deliver(q);
}

void store_queue_free(struct store_queue *q)
{
    if (!q)
        return;
    store_queue_stop(q);
    for (struct barrier *b = q->barriers, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(q->cancelled);
    q->ops->close(q->conn);
    uv_cond_destroy(&q->cv);
    uv_mutex_destroy(&q->mu);
    /* The async handle is closed by store_queue_detach (or by the loop's
     * owner walking its handles); its memory is this struct, so the
     * loop must have run its close callback before this. */
    free(q);
}

/* No writer thread: the request is a group of its own, now. */
static void run_inline(struct store_queue *q, struct store_req *r)
{
    bool settled = false;
    run_group(q, &r, 1, &settled);
    uv_mutex_lock(&q->mu);
    list_push(&q->done, r);
    uv_mutex_unlock(&q->mu);
    deliver(q);
}

int64_t store_queue_submit(struct store_queue *q, struct store_req *r)
{
    if (q->running && q->submitted - q->completed >= STORE_QUEUE_MAX) {
        if ((r->flags & STORE_REQ_SECRET) && r->size)
            explicit_bzero(r, r->size);
        free(r);
        return -EAGAIN;
    }
    uint64_t id = r->id = ++q->next_id;
    r->rc = 0;
    r->value = 0;
    q->submitted++;
    if (r->flags & STORE_REQ_HOLD)
        q->hold_mark = r->id;
    if (!q->running) {
        run_inline(q, r); /* frees r */
        return (int64_t)id;
    }
    if (q->async_open && q->submitted - q->completed == 1)
        uv_ref((uv_handle_t *)&q->async);
    uv_mutex_lock(&q->mu);
    list_push(&q->in, r);
    uv_cond_signal(&q->cv);
    uv_mutex_unlock(&q->mu);
    return (int64_t)id; /* r is the writer's now */
}

/* The request id in the done list (mu held), or NULL. */
int store_queue_cancel(struct store_queue *q, uint64_t id)
{
    if (id == 0 || id <= q->delivered_upto || id > q->next_id)
        return 0;
    if (q->ncancelled == q->cancel_cap) {
        size_t cap = q->cancel_cap ? 2 * q->cancel_cap : 16;
        uint64_t *v = realloc(q->cancelled, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        q->cancelled = v;
        q->cancel_cap = cap;
    }
    q->cancelled[q->ncancelled++] = id;
    return 0;
}

uint64_t store_queue_last_id(const struct store_queue *q) { return q->next_id; }

uint64_t store_queue_hold_mark(const struct store_queue *q) { return q->hold_mark; }

int store_queue_when_done(struct store_queue *q, uint64_t upto, void (*fn)(void *ud, uint64_t tag),
                          void *ud, uint64_t tag)
{
    if (upto <= q->delivered_upto)
        return 1;
    struct barrier *b = malloc(sizeof *b);
    if (!b)
        return -ENOMEM;
    *b = (struct barrier){upto, fn, ud, tag, NULL};
    /* Kept in order of upto; new ones usually go last. */
    struct barrier **p = &q->barriers;
    if (q->barrier_tail != &q->barriers) {
        struct barrier *last =
            (struct barrier *)((char *)q->barrier_tail - offsetof(struct barrier, next));
        if (last->upto <= upto)
            p = q->barrier_tail;
    }
    while (*p && (*p)->upto <= upto)
        p = &(*p)->next;
    b->next = *p;
    *p = b;
    if (!b->next)
        q->barrier_tail = &b->next;
    return 0;
}

void store_queue_forget(struct store_queue *q, void (*fn)(void *ud, uint64_t tag), void *ud)
{
    struct barrier **p = &q->barriers;
    q->barrier_tail = &q->barriers;
    while (*p) {
        struct barrier *b = *p;
        if (b->fn == fn && b->ud == ud) {
            *p = b->next;
            free(b);
        } else {
            p = &b->next;
            q->barrier_tail = p;
        }
    }
}

void store_queue_stats(struct store_queue *q, struct store_queue_stats *out)
{
    uv_mutex_lock(&q->mu);
    out->groups = q->groups;
    out->regroups = q->regroups;
    out->max_group = q->max_group;
    uv_mutex_unlock(&q->mu);
    out->submitted = q->submitted;
    out->completed = q->completed;
}
