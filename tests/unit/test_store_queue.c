/* Unit tests of the store queue (src/store/queue.c): group commit, one
 * outcome per request inside a group, a group the backend lost, order and
 * matching of completions, cancellation, barriers, inline mode; on a fake
 * backend that records what it was asked, then on SQLite through the
 * typed requests (src/store/requests.c). */
#include <errno.h>
#include <pthread.h>

#include "store/offline.h"
#include "store/queue.h"
#include "store/requests.h"
#include "store/roster.h"
#include "store_fixture.h"

/* ---- a fake backend ---- */

#define FAKE_MAX 64
#define LOSE_GROUP (-1000) /* a value whose request makes the backend lose the group */

struct fake {
    int pending[FAKE_MAX], npending; /* written in the open group */
    int mark;                        /* npending at the request's savepoint */
    int committed[FAKE_MAX], ncommitted;
    int groups, commits;
    bool in_group, lost, fail_commit;
    pthread_mutex_t gate; /* held by the test: the writer waits in its first request */
    bool gated;
};

static struct fake *the_fake;

static int fake_open(struct store **out, const char *path, const struct store_schema *schema,
                     char **err)
{
    (void)path;
    (void)schema;
    (void)err;
    *out = (struct store *)the_fake;
    return 0;
}
static void fake_close(struct store *s) { (void)s; }
static int fake_group_begin(struct store *s, bool durable)
{
    struct fake *f = (struct fake *)s;
    (void)durable;
    f->groups++;
    f->in_group = true;
    f->lost = false;
    f->npending = 0;
    return 0;
}
static int fake_group_end(struct store *s, int rc)
{
    struct fake *f = (struct fake *)s;
    f->in_group = false;
    if (rc == 0 && f->fail_commit)
        rc = -ENOSPC;
    if (rc == 0) {
        for (int i = 0; i < f->npending; i++)
            f->committed[f->ncommitted++] = f->pending[i];
        f->commits++;
    }
    f->npending = 0;
    return rc;
}
static int fake_req_begin(struct store *s)
{
    struct fake *f = (struct fake *)s;
    f->mark = f->npending;
    return 0;
}
static int fake_req_end(struct store *s, int rc)
{
    struct fake *f = (struct fake *)s;
    if (rc < 0)
        f->npending = f->mark; /* rolled back to the savepoint */
    return rc;
}
static bool fake_group_lost(struct store *s)
{
    struct fake *f = (struct fake *)s;
    if (!f->lost)
        return false;
    f->npending = 0;
    f->in_group = false;
    return true;
}

static const struct store_ops fake_ops = {
    .name = "fake",
    .open = fake_open,
    .close = fake_close,
    .group_begin = fake_group_begin,
    .group_end = fake_group_end,
    .req_begin = fake_req_begin,
    .req_end = fake_req_end,
    .group_lost = fake_group_lost,
};

/* A request that writes its value (> 0), fails with it (< 0), or makes
 * the backend lose the group (LOSE_GROUP). value: its own value back. */
static int run_put(const struct store_ops *ops, struct store *conn, const struct store_req *r,
                   int64_t *value)
{
    (void)ops;
    struct fake *f = (struct fake *)conn;
    int v = *(const int *)r->args;
    if (f->gated) {
        pthread_mutex_lock(&f->gate);
        pthread_mutex_unlock(&f->gate);
        f->gated = false;
    }
    if (v == LOSE_GROUP) {
        f->lost = true;
        return -EIO;
    }
    if (v < 0)
        return v;
    f->pending[f->npending++] = v;
    *value = v;
    return 0;
}

struct outcome {
    int rc[FAKE_MAX];
    int64_t value[FAKE_MAX];
    int order[FAKE_MAX]; /* which request completed n-th */
    int n;
    bool called[FAKE_MAX];
};

struct tag {
    struct outcome *o;
    int i;
};

static void on_done(void *ud, int rc, int64_t value)
{
    struct tag *t = ud;
    assert_false(t->o->called[t->i]);
    t->o->called[t->i] = true;
    t->o->rc[t->i] = rc;
    t->o->value[t->i] = value;
    t->o->order[t->o->n++] = t->i;
}

static int64_t put(struct store_queue *q, int v, unsigned flags, struct tag *t)
{
    struct store_req *r = calloc(1, sizeof *r + sizeof(int));
    assert_non_null(r);
    r->args = r + 1;
    *(int *)r->args = v;
    r->run = run_put;
    r->flags = flags;
    r->cb = on_done;
    r->ud = t;
    return store_queue_submit(q, r);
}

struct qfix {
    uv_loop_t loop;
    struct store_queue *q;
    struct fake fake;
    struct outcome out;
    struct tag tags[FAKE_MAX];
};

static int qsetup(void **state)
{
    struct qfix *x = calloc(1, sizeof *x);
    assert_non_null(x);
    assert_int_equal(uv_loop_init(&x->loop), 0);
    pthread_mutex_init(&x->fake.gate, NULL);
    the_fake = &x->fake;
    char *err = NULL;
    assert_int_equal(store_queue_open(&x->q, &x->loop, &fake_ops, "unused", NULL, &err), 0);
    for (int i = 0; i < FAKE_MAX; i++)
        x->tags[i] = (struct tag){&x->out, i};
    *state = x;
    return 0;
}

static int qteardown(void **state)
{
    struct qfix *x = *state;
    store_queue_detach(x->q);
    uv_run(&x->loop, UV_RUN_DEFAULT); /* the handle's close */
    store_queue_free(x->q);
    assert_int_equal(uv_loop_close(&x->loop), 0);
    pthread_mutex_destroy(&x->fake.gate);
    free(x);
    return 0;
}

/* Runs the loop until n completions have arrived (or 5 s). */
static void wait_done(struct qfix *x, int n)
{
    for (int spins = 0; x->out.n < n && spins < 5000; spins++) {
        uv_run(&x->loop, UV_RUN_NOWAIT);
        if (x->out.n < n)
            usleep(1000);
    }
    assert_int_equal(x->out.n, n);
}

/* Starts the writer held in its first request, queues n more behind it,
 * then lets it go: those n are one group. */
static void gated_batch(struct qfix *x, const int *vals, int n)
{
    pthread_mutex_lock(&x->fake.gate);
    x->fake.gated = true;
    assert_int_equal(store_queue_start(x->q), 0);
    assert_true(put(x->q, 1000, STORE_REQ_DURABLE, &x->tags[0]) > 0);
    usleep(20000); /* the writer takes request 0 alone and waits in it */
    for (int i = 0; i < n; i++)
        assert_true(put(x->q, vals[i], STORE_REQ_DURABLE, &x->tags[i + 1]) > 0);
    pthread_mutex_unlock(&x->fake.gate);
    wait_done(x, n + 1);
}

static void test_group_commit_one_commit_for_all_queued(void **state)
{
    struct qfix *x = *state;
    int vals[10];
    for (int i = 0; i < 10; i++)
        vals[i] = i + 1;
    gated_batch(x, vals, 10);
    assert_int_equal(x->fake.groups, 2); /* request 0, then the ten together */
    assert_int_equal(x->fake.commits, 2);
    assert_int_equal(x->fake.ncommitted, 11);
    for (int i = 0; i < 11; i++) {
        assert_int_equal(x->out.order[i], i); /* completions in submission order */
        assert_int_equal(x->out.rc[i], 0);
    }
    assert_int_equal(x->out.value[5], 5); /* each gets its own value back */
    struct store_queue_stats st;
    store_queue_stats(x->q, &st);
    assert_int_equal(st.max_group, 10);
    assert_int_equal(st.completed, 11);
}

static void test_failing_request_undone_alone(void **state)
{
    struct qfix *x = *state;
    int vals[] = {1, 2, -EDQUOT, 4, -EINVAL, 6};
    gated_batch(x, vals, 6);
    assert_int_equal(x->fake.groups, 2);
    assert_int_equal(x->out.rc[1], 0);
    assert_int_equal(x->out.rc[3], -EDQUOT);
    assert_int_equal(x->out.rc[4], 0);
    assert_int_equal(x->out.rc[5], -EINVAL);
    assert_int_equal(x->out.rc[6], 0);
    /* 1000, then 1, 2, 4, 6: the failed ones left nothing behind */
    assert_int_equal(x->fake.ncommitted, 5);
    int want[] = {1000, 1, 2, 4, 6};
    for (int i = 0; i < 5; i++)
        assert_int_equal(x->fake.committed[i], want[i]);
}

static void test_lost_group_runs_again_without_the_culprit(void **state)
{
    struct qfix *x = *state;
    int vals[] = {1, 2, LOSE_GROUP, 4};
    gated_batch(x, vals, 4);
    assert_int_equal(x->out.rc[3], -EIO);
    assert_int_equal(x->out.rc[1], 0);
    assert_int_equal(x->out.rc[2], 0);
    assert_int_equal(x->out.rc[4], 0);
    /* the group ran twice: 1, 2 again after the loss, then 4 */
    assert_int_equal(x->fake.groups, 3);
    assert_int_equal(x->fake.ncommitted, 4);
    int want[] = {1000, 1, 2, 4};
    for (int i = 0; i < 4; i++)
        assert_int_equal(x->fake.committed[i], want[i]);
}

static void test_failed_commit_is_everyones_outcome(void **state)
{
    struct qfix *x = *state;
    x->fake.fail_commit = true;
    int vals[] = {1, 2, -EDQUOT};
    gated_batch(x, vals, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(x->out.rc[i], -ENOSPC);
    assert_int_equal(x->out.rc[3], -EDQUOT); /* its own error stays its own */
    assert_int_equal(x->fake.ncommitted, 0);
}

static void test_cancelled_request_runs_but_is_not_called_back(void **state)
{
    struct qfix *x = *state;
    pthread_mutex_lock(&x->fake.gate);
    x->fake.gated = true;
    assert_int_equal(store_queue_start(x->q), 0);
    assert_true(put(x->q, 7, STORE_REQ_DURABLE, &x->tags[0]) > 0);
    int64_t id = put(x->q, 8, STORE_REQ_DURABLE, &x->tags[1]);
    assert_true(put(x->q, 9, STORE_REQ_DURABLE, &x->tags[2]) > 0);
    assert_int_equal(store_queue_cancel(x->q, (uint64_t)id), 0);
    pthread_mutex_unlock(&x->fake.gate);
    wait_done(x, 2);
    for (int spins = 0; spins < 50; spins++) {
        uv_run(&x->loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
    assert_false(x->out.called[1]);
    assert_true(x->out.called[0] && x->out.called[2]);
    assert_int_equal(x->fake.ncommitted, 3); /* cancelling does not undo the write */
}

struct held {
    int fired;
    uint64_t tag;
    struct outcome *o;
    int seen_at; /* completions delivered when the barrier fired */
};

static void on_barrier(void *ud, uint64_t tag)
{
    struct held *h = ud;
    h->fired++;
    h->tag = tag;
    h->seen_at = h->o->n;
}

static void test_barrier_fires_after_the_hold_mark_commits(void **state)
{
    struct qfix *x = *state;
    pthread_mutex_lock(&x->fake.gate);
    x->fake.gated = true;
    assert_int_equal(store_queue_start(x->q), 0);
    assert_int_equal(store_queue_hold_mark(x->q), 0);
    put(x->q, 1, STORE_REQ_DURABLE | STORE_REQ_HOLD, &x->tags[0]);
    put(x->q, 2, STORE_REQ_DURABLE | STORE_REQ_HOLD, &x->tags[1]);
    uint64_t mark = store_queue_hold_mark(x->q);
    put(x->q, 3, 0, &x->tags[2]); /* not held: does not move the mark */
    assert_int_equal(store_queue_hold_mark(x->q), mark);
    struct held h = {0, 0, &x->out, -1}, gone = {0, 0, &x->out, -1};
    assert_int_equal(store_queue_when_done(x->q, mark, on_barrier, &h, 42), 0);
    assert_int_equal(store_queue_when_done(x->q, mark, on_barrier, &gone, 43), 0);
    store_queue_forget(x->q, on_barrier, &gone);
    pthread_mutex_unlock(&x->fake.gate);
    wait_done(x, 3);
    assert_int_equal(h.fired, 1);
    assert_int_equal(h.tag, 42);
    assert_true(h.seen_at >= 2);
    assert_int_equal(gone.fired, 0);
    /* all done: a new barrier at the same mark is due at once */
    assert_int_equal(store_queue_when_done(x->q, mark, on_barrier, &h, 42), 1);
}

static void test_inline_before_start_and_after_stop(void **state)
{
    struct qfix *x = *state;
    assert_true(put(x->q, 5, STORE_REQ_DURABLE, &x->tags[0]) > 0);
    assert_true(x->out.called[0]); /* before start: done on return */
    assert_int_equal(store_queue_start(x->q), 0);
    assert_true(put(x->q, 6, STORE_REQ_DURABLE, &x->tags[1]) > 0);
    store_queue_stop(x->q); /* commits what is queued and delivers it */
    assert_true(x->out.called[1]);
    assert_true(put(x->q, 7, STORE_REQ_DURABLE, &x->tags[2]) > 0);
    assert_true(x->out.called[2]);
    assert_int_equal(x->fake.ncommitted, 3);
}

/* ---- on SQLite, through the typed requests ---- */

/* A queue with its writer thread on the fixture's database. */
static struct store_queue *sqlite_queue(struct fixture *f, uv_loop_t *loop)
{
    assert_int_equal(uv_loop_init(loop), 0);
    struct store_queue *q;
    char *err = NULL;
    assert_int_equal(store_queue_open(&q, loop, &store_sqlite_ops, f->path, fixture_schema(), &err),
                     0);
    assert_int_equal(store_queue_start(q), 0);
    return q;
}

static void sqlite_queue_close(struct store_queue *q, uv_loop_t *loop)
{
    store_queue_detach(q);
    uv_run(loop, UV_RUN_DEFAULT);
    store_queue_free(q);
    assert_int_equal(uv_loop_close(loop), 0);
}

/* Runs the loop until n completions came (at most about 5 s). */
static void run_until(uv_loop_t *loop, const struct outcome *o, int n)
{
    for (int spins = 0; o->n < n && spins < 5000; spins++) {
        uv_run(loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
}

static void test_sqlite_offline_adds_grouped_and_each_answered(void **state)
{
    struct fixture *f = *state;
    uv_loop_t loop;
    struct store_queue *q = sqlite_queue(f, &loop);
    /* An account made by another connection after the queue opened (as
     * taubectl does beside a running server). */
    struct account_creds c = make_creds(2);
    assert_int_equal(store_account_create_sync(f->s, "example.org", "late", &c), 0);
    struct outcome o = {.n = 0};
    struct tag tags[8];
    for (int i = 0; i < 8; i++)
        tags[i] = (struct tag){&o, i};
    struct offline_limits lim = {3, 1 << 20};
    const char *who[] = {"alice", "late", "nobody", "alice", "alice", "alice", "late", "bob"};
    for (int i = 0; i < 8; i++)
        assert_true(store_offline_add(q, "example.org", who[i], 1700000000 + i, "<message/>", 10,
                                      &lim, on_done, &tags[i]) > 0);
    run_until(&loop, &o, 8);
    assert_int_equal(o.n, 8);
    int want[] = {0, 0, -ENOENT, 0, 0, -EDQUOT, 0, 0};
    for (int i = 0; i < 8; i++)
        assert_int_equal(o.rc[i], want[i]);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM offline_messages"), 6);
    sqlite_queue_close(q, &loop);
}

/* The per-connection count behind the offline limit check follows what
 * other connections do (PRAGMA data_version): a clear made elsewhere
 * makes room at once, an add made elsewhere counts. */
static void test_sqlite_offline_limit_sees_other_connections(void **state)
{
    struct fixture *f = *state;
    struct store *other;
    char *err = NULL;
    assert_int_equal(store_open(&other, f->path, fixture_schema(), &err), 0);
    struct offline_limits lim = {3, 1 << 20};
    const char *x = "<message/>";
    for (int i = 0; i < 3; i++)
        assert_int_equal(store_offline_add_sync(f->s, "example.org", "alice", i, x, 10, &lim), 0);
    assert_int_equal(store_offline_add_sync(f->s, "example.org", "alice", 9, x, 10, &lim), -EDQUOT);
    assert_int_equal(store_offline_clear_sync(other, "example.org", "alice"), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(store_offline_add_sync(f->s, "example.org", "alice", i, x, 10, &lim), 0);
    assert_int_equal(store_offline_add_sync(other, "example.org", "alice", 5, x, 10, &lim), 0);
    assert_int_equal(store_offline_add_sync(f->s, "example.org", "alice", 9, x, 10, &lim), -EDQUOT);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM offline_messages"), 3);
    store_close(other);
}

/* Roster rows through the queue: the request carries its own copy of the
 * item (the caller's strings may go at once), the value is the version
 * the change carries, and deleting a row that is not there is -ENOENT. */
static void test_sqlite_roster_rows_copied_versioned_deleted(void **state)
{
    struct fixture *f = *state;
    uv_loop_t loop;
    struct store_queue *q = sqlite_queue(f, &loop);
    struct outcome o = {.n = 0};
    struct tag tags[4];
    for (int i = 0; i < 4; i++)
        tags[i] = (struct tag){&o, i};
    char jid[] = "carol@example.org", dave[] = "dave@example.org", name[] = "Carol";
    char group[] = "Friends";
    char *groups[] = {group};
    struct roster_item it = {
        .jid = jid, .name = name, .groups = groups, .ngroups = 1, .flags = ROSTER_ITEM | ROSTER_TO};
    assert_true(store_roster_put_req(q, "example.org", "alice", &it, true, 10, on_done, &tags[0]) >
                0);
    memset(name, 'x', sizeof name - 1); /* the request holds its own copy */
    memset(group, 'y', sizeof group - 1);
    it.jid = dave;
    assert_true(store_roster_put_req(q, "example.org", "alice", &it, true, 10, on_done, &tags[1]) >
                0);
    assert_true(store_roster_delete_req(q, "example.org", "alice", "erin@example.org", true, 10,
                                        on_done, &tags[2]) > 0);
    assert_true(store_roster_delete_req(q, "example.org", "alice", "dave@example.org", false, 10,
                                        on_done, &tags[3]) > 0);
    run_until(&loop, &o, 4);
    assert_int_equal(o.n, 4);
    int want[] = {0, 0, -ENOENT, 0};
    for (int i = 0; i < 4; i++)
        assert_int_equal(o.rc[i], want[i]);
    assert_true(o.value[0] > 0);
    assert_int_equal(o.value[1], o.value[0] + 1);
    struct roster_item got = {0};
    assert_int_equal(roster_load_sync(f->s, "example.org", "alice", "dave@example.org", &got),
                     -ENOENT);
    assert_int_equal(roster_load_sync(f->s, "example.org", "alice", jid, &got), 0);
    assert_string_equal(got.name, "Carol");
    assert_int_equal(got.ngroups, 1);
    assert_string_equal(got.groups[0], "Friends");
    assert_int_equal(got.flags, ROSTER_ITEM | ROSTER_TO);
    roster_item_clear(&got);
    sqlite_queue_close(q, &loop);
}

static int sqlite_setup(void **state)
{
    static const char *const users[] = {"alice", "bob", NULL};
    return fixture_setup(state, "example.org", users);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_group_commit_one_commit_for_all_queued, qsetup,
                                        qteardown),
        cmocka_unit_test_setup_teardown(test_failing_request_undone_alone, qsetup, qteardown),
        cmocka_unit_test_setup_teardown(test_lost_group_runs_again_without_the_culprit, qsetup,
                                        qteardown),
        cmocka_unit_test_setup_teardown(test_failed_commit_is_everyones_outcome, qsetup, qteardown),
        cmocka_unit_test_setup_teardown(test_cancelled_request_runs_but_is_not_called_back, qsetup,
                                        qteardown),
        cmocka_unit_test_setup_teardown(test_barrier_fires_after_the_hold_mark_commits, qsetup,
                                        qteardown),
        cmocka_unit_test_setup_teardown(test_inline_before_start_and_after_stop, qsetup, qteardown),
        cmocka_unit_test_setup_teardown(test_sqlite_offline_adds_grouped_and_each_answered,
                                        sqlite_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_sqlite_roster_rows_copied_versioned_deleted,
                                        sqlite_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_sqlite_offline_limit_sees_other_connections,
                                        sqlite_setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
