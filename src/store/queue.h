/* The store's request queue: how the loop writes without waiting for a disk.
 *
 * The loop thread submits requests (store_queue_submit, or the typed
 * builders in store/requests.h); ONE writer thread holds the backend's
 * write connection and runs them in groups: everything queued when a
 * group starts goes into one transaction with one commit (one fsync for
 * the lot: group commit). Each request runs inside its own savepoint, so
 * a request that fails is undone alone and the others of its group still
 * commit; each gets its own outcome. If the backend loses the whole
 * transaction (SQLite rolls back by itself on a full disk or an I/O
 * error), the group is run again without the request that failed.
 *
 * Completions come back on the loop thread through a uv_async handle, in
 * submission order, each matched to its request by id. A completion is
 * delivered only after the commit that backs it: a caller that answers
 * a client from its callback never reports a write that a crash could
 * lose. A requester that may be gone before its completion does not pass
 * a pointer it cannot vouch for: it passes something it can check (a
 * session id, looked up again on completion), or keeps the request id
 * and calls store_queue_cancel, after which its callback is not called.
 *
 * Barriers (store_queue_when_done) call back once every request up to a
 * given id has completed: c2s uses them to hold a client's next stanza
 * that could be answered (an iq ping, say) until the writes its earlier
 * stanzas caused are committed, as when the store was synchronous.
 *
 * Before the writer thread is started and after it is stopped, submit
 * runs the request on the calling thread and calls back before it
 * returns (taubectl, tests, and the last writes of a shutdown).
 *
 * Threads: every function here is for the loop thread (the owner), except
 * what the writer thread does inside. The backend connection the queue
 * holds is used by the writer thread only while it runs.
 */
#ifndef TAUBE_STORE_QUEUE_H
#define TAUBE_STORE_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "store/store.h"

/* More requests than this waiting: submit refuses with -EAGAIN (the
 * caller tells its client to wait: resource-constraint). */
#define STORE_QUEUE_MAX 65536

/* Request flags. */
enum {
    /* The commit must be on disk (synchronous=FULL in SQLite); requests
     * without it (last login and logout times) ride along with durable
     * ones, or commit without an fsync of their own when alone. */
    STORE_REQ_DURABLE = 1,
    /* The client whose stanza caused it waits for its commit before its
     * next stanza is read (c2s; see store_queue_hold_mark). */
    STORE_REQ_HOLD = 2,
    /* The request carries secrets (credentials): its block is wiped
     * before it is freed. */
    STORE_REQ_SECRET = 4,
    /* The operation is all or nothing by itself (it opens its own nested
     * transaction): the queue does not wrap it in another savepoint. */
    STORE_REQ_ATOMIC = 8,
};

/* rc: 0 or -errno from the request; value: what the operation returns
 * besides (a new id, a version), else 0. Called on the loop thread. */
typedef void (*store_done_cb)(void *ud, int rc, int64_t value);

struct store_req;
/* Runs the request on the writer's connection, inside its savepoint;
 * *value gets an operation's second result. 0 or -errno. Writer thread
 * (or the caller's, in inline mode): touches nothing but conn and r. */
typedef int (*store_run_fn)(const struct store_ops *ops, struct store *conn,
                            const struct store_req *r, int64_t *value);

struct store_req {
    uint64_t id;          /* set by submit */
    struct store_req *next;
    store_run_fn run;
    store_done_cb cb;     /* may be NULL: fire and forget */
    void *ud;
    unsigned flags;       /* STORE_REQ_* */
    int rc;               /* outcome, set by the writer */
    int64_t value;
    void *args;           /* the operation's arguments, usually in the same block */
    size_t size;          /* bytes of the block (for STORE_REQ_SECRET) */
};

struct store_queue;

/* Opens the queue's own connection to path through ops (its writer
 * connection; schema as for store_open) and readies the completion handle on loop. The writer
 * thread is not started yet: until store_queue_start, requests run
 * inline. 0 or -errno with *err set (malloc'ed). */
int store_queue_open(struct store_queue **out, uv_loop_t *loop, const struct store_ops *ops,
                     const char *path, const struct store_schema *schema, char **err);
/* Starts the writer thread. 0 or -errno. */
int store_queue_start(struct store_queue *q);
/* Shutdown, first step, before the loop's handles are closed: the
 * completion handle is closed; completions from now on wait for
 * store_queue_stop. */
void store_queue_detach(struct store_queue *q);
/* Shutdown, second step: the writer commits everything queued and
 * exits; the completions not yet delivered are delivered now, on the
 * calling (loop) thread. Requests submitted afterwards run inline. */
void store_queue_stop(struct store_queue *q);
/* Stops (if needed) and frees; closes the writer connection. */
void store_queue_free(struct store_queue *q);

/* Takes r (malloc'ed by the caller as one block: it is freed with free()
 * after its callback) and queues it. Returns its id (> 0; r may be freed
 * already: do not read it), or -EAGAIN (queue full) with r freed and its
 * callback NOT called.
 * In inline mode the callback has run when this returns (unless submit
 * is called from inside a completion: then right after that one). */
int64_t store_queue_submit(struct store_queue *q, struct store_req *r);

/* The callback of request id will not be called (the request itself
 * still runs: a write may already be committed). Unknown or completed
 * ids are ignored. 0, or -ENOMEM: then the callback WILL be called. */
int store_queue_cancel(struct store_queue *q, uint64_t id);

/* The id of the newest request submitted (0: none). */
uint64_t store_queue_last_id(const struct store_queue *q);
/* The id of the newest request submitted with STORE_REQ_HOLD (0: none). */
uint64_t store_queue_hold_mark(const struct store_queue *q);
/* Calls fn(ud, tag) on the loop once every request with an id up to
 * upto has completed. 1 if that is already so (fn is not called), 0 if
 * fn will be called, -ENOMEM. Barriers fire in order of upto. */
int store_queue_when_done(struct store_queue *q, uint64_t upto, void (*fn)(void *ud, uint64_t tag),
                          void *ud, uint64_t tag);

/* Removes the barriers that would call fn(ud, ...) (their owner goes). */
void store_queue_forget(struct store_queue *q, void (*fn)(void *ud, uint64_t tag), void *ud);

/* Counters for tests and benchmarks (loop thread). */
struct store_queue_stats {
    uint64_t submitted, completed, groups, regroups;
    size_t max_group;
};
void store_queue_stats(struct store_queue *q, struct store_queue_stats *out);

#endif
