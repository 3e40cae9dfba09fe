/* The account service (account.h): live actions on an account and the
 * data-contract loops. */
#include "account/account.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/server.h"
#include "store/queue.h"
#include "store/requests.h"
#include "store/store.h"
#include "xmpp/jid.h"
#include "xmpp/router.h"

int account_exists(const struct data_ctx *d, const char *domain, const char *user)
{
    return store_account_exists_sync(d->store, domain, user);
}

int account_exists_live(struct server *srv, const char *domain, const char *user)
{
    return srv->store ? store_account_exists_sync(srv->store, domain, user) : 1;
}

size_t account_kick(struct server *srv, const char *domain, const char *user, enum stream_cond cond,
                    const char *text)
{
    return router_kick_account(srv->router, domain, user, cond, text);
}

/* A suspension set or lifted: kept until its write commits. */
struct suspend_job {
    struct server *srv;
    account_done_fn done;
    void *ud;
    bool suspended;
    char domain[JID_PART_MAX + 1], user[JID_PART_MAX + 1];
};

static void suspend_stored(void *ud, int rc, int64_t value)
{
    (void)value;
    struct suspend_job *j = ud;
    if (rc == 0 && j->suspended) {
        size_t n =
            account_kick(j->srv, j->domain, j->user, STREAM_POLICY_VIOLATION, "Account suspended");
        log_info("account: suspended, %zu stream(s) ended", n);
    }
    j->done(j->ud, rc);
    free(j);
}

static int set_suspended(struct server *srv, const char *domain, const char *user, bool suspended,
                         const char *reason, account_done_fn done, void *ud)
{
    size_t dl = strlen(domain), ul = strlen(user);
    if (dl > JID_PART_MAX || ul > JID_PART_MAX)
        return -EINVAL;
    struct suspend_job *j = calloc(1, sizeof *j);
    if (!j)
        return -ENOMEM;
    *j = (struct suspend_job){.srv = srv, .done = done, .ud = ud, .suspended = suspended};
    memcpy(j->domain, domain, dl + 1);
    memcpy(j->user, user, ul + 1);
    /* Stored first, streams ended after the commit: a login racing with
     * the kick either sees the suspension or is ended by the kick. */
    int64_t id =
        store_account_suspend_req(srv->storeq, domain, user, suspended, reason, suspend_stored, j);
    if (id < 0) {
        free(j);
        return (int)id;
    }
    return 0;
}

int account_suspend(struct server *srv, const char *domain, const char *user, const char *reason,
                    account_done_fn done, void *ud)
{
    return set_suspended(srv, domain, user, true, reason, done, ud);
}

int account_unsuspend(struct server *srv, const char *domain, const char *user,
                      account_done_fn done, void *ud)
{
    return set_suspended(srv, domain, user, false, NULL, done, ud);
}

/* Every part's erase, in order; the first failure stops the deletion (the
 * account row stays, so it can be retried). */
static int erase_all(const struct data_ctx *d, const char *domain, const char *user)
{
    for (size_t i = 0; d->parts && i < d->parts->n; i++) {
        struct data_contract c = {0};
        d->parts->get(i, &c);
        int rc = c.erase ? c.erase(d, domain, user) : 0;
        if (rc < 0) {
            log_error("deleting an account: %s could not erase its data", c.name);
            return rc;
        }
    }
    return 0;
}

/* ---- deletion on the writer thread ---- */

struct after_item {
    void (*fn)(struct server *srv, void *arg);
    void *arg;
    struct after_item *next;
};

struct data_after {
    struct after_item *head, **tail;
};

int data_after_add(const struct data_ctx *d, void (*fn)(struct server *srv, void *arg), void *arg)
{
    struct after_item *it = d->after ? malloc(sizeof *it) : NULL;
    if (!it) {
        fn(NULL, arg);
        return -ENOMEM;
    }
    *it = (struct after_item){fn, arg, NULL};
    *d->after->tail = it;
    d->after->tail = &it->next;
    return 0;
}

/* Runs (srv) or drops (srv NULL) what the parts deferred, in order. */
static void after_run(struct data_after *a, struct server *srv)
{
    while (a->head) {
        struct after_item *it = a->head;
        a->head = it->next;
        it->fn(srv, it->arg);
        free(it);
    }
    a->tail = &a->head;
}

/* One deletion as a store request: the parts' erase and the account row,
 * on the writer's connection, in the request's savepoint. */
struct erase_job {
    struct data_ctx d; /* store: the writer's connection, while it runs */
    struct data_after after;
    struct server *srv;
    char *domain, *user;
    account_done_fn done;
    void *ud;
};

static void erase_job_free(struct erase_job *j)
{
    after_run(&j->after, NULL);
    free(j->domain);
    free(j->user);
    free(j);
}

/* Writer thread: touches only the connection and the job. */
static int erase_job_run(const struct store_ops *ops, struct store *conn, const struct store_req *r,
                         int64_t *value)
{
    (void)ops;
    (void)value;
    struct erase_job *j = r->args;
    after_run(&j->after, NULL); /* a run before was rolled back (group run again) */
    j->d.store = conn;
    int rc = erase_all(&j->d, j->domain, j->user);
    if (rc == 0)
        rc = store_account_delete_sync(conn, j->domain, j->user);
    j->d.store = NULL;
    return rc;
}

static void erase_job_done(void *ud, int rc, int64_t value)
{
    (void)value;
    struct erase_job *j = ud;
    if (rc == 0)
        after_run(&j->after, j->srv);
    log_info("account: deletion %s", rc == 0 ? "done" : "failed");
    j->done(j->ud, rc);
    erase_job_free(j);
}

/* Queues the erase; done follows its commit. */
static int delete_queued(const struct data_ctx *d, const char *domain, const char *user,
                         account_done_fn done, void *ud)
{
    struct erase_job *j = calloc(1, sizeof *j);
    struct store_req *r = j ? calloc(1, sizeof *r) : NULL;
    if (!r || !(j->domain = strdup(domain)) || !(j->user = strdup(user))) {
        if (j)
            erase_job_free(j);
        free(r);
        return -ENOMEM;
    }
    j->srv = d->srv;
    j->done = done;
    j->ud = ud;
    j->d = (struct data_ctx){.cfg = d->cfg, .now = d->now, .parts = d->parts, .after = &j->after};
    j->after.tail = &j->after.head;
    *r = (struct store_req){.run = erase_job_run,
                            .cb = erase_job_done,
                            .ud = j,
                            .flags = STORE_REQ_DURABLE,
                            .args = j,
                            .size = sizeof *r};
    int64_t id = store_queue_submit(d->srv->storeq, r);
    if (id < 0) {
        erase_job_free(j);
        return (int)id;
    }
    return 0;
}

int account_delete(const struct data_ctx *d, const char *domain, const char *user)
{
    int rc = account_exists(d, domain, user);
    if (rc <= 0)
        return rc == 0 ? -ENOENT : rc;
    rc = erase_all(d, domain, user);
    return rc == 0 ? store_account_delete_sync(d->store, domain, user) : rc;
}

int account_delete_live(const struct data_ctx *d, const char *domain, const char *user,
                        account_done_fn done, void *ud)
{
    int rc = account_exists(d, domain, user);
    if (rc <= 0)
        return rc == 0 ? -ENOENT : rc;
    size_t n = account_kick(d->srv, domain, user, STREAM_NOT_AUTHORIZED, "Account deleted");
    log_info("account: deleting, %zu stream(s) ended", n);
    return delete_queued(d, domain, user, done, ud);
}

int account_describe(const struct data_ctx *d, const char *domain, const char *user,
                     data_fact_fn fn, void *ud)
{
    int rc = account_exists(d, domain, user);
    if (rc <= 0)
        return rc == 0 ? -ENOENT : rc;
    for (size_t i = 0; d->parts && i < d->parts->n; i++) {
        struct data_contract c = {0};
        d->parts->get(i, &c);
        if (c.describe && (rc = c.describe(d, domain, user, fn, ud)) < 0) {
            log_error("describing an account: %s could not describe its data", c.name);
            return rc;
        }
    }
    return 0;
}

int account_export(const struct data_ctx *d, const char *domain, const char *user, struct buf *out)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && d->parts && i < d->parts->n; i++) {
        struct data_contract c = {0};
        d->parts->get(i, &c);
        size_t before = out->len;
        if (c.export_xml && (rc = c.export_xml(d, domain, user, out)) < 0) {
            if (rc != -ENOBUFS) /* out's limit: the caller's to tell */
                log_error("exporting an account: %s could not export its data", c.name);
        } else if (out->len > before) { /* one line per part: readable, split by lines */
            rc = buf_append_str(out, "\n");
        }
    }
    return rc;
}

int account_sweep(const struct data_ctx *d, const char *except)
{
    int first = 0;
    for (size_t i = 0; d->parts && i < d->parts->n; i++) {
        struct data_contract c = {0};
        d->parts->get(i, &c);
        if (except && strcmp(c.name, except) == 0)
            continue;
        int rc = c.sweep ? c.sweep(d) : 0;
        if (rc < 0) {
            log_error("retention: %s could not delete its expired data", c.name);
            first = first ? first : rc;
        }
    }
    return first;
}
