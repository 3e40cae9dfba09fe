/* The account service (account.h): live actions on an account and the
 * data-contract loops. */
#include "account/account.h"

#include <errno.h>
#include <string.h>

#include "core/log.h"
#include "core/server.h"
#include "store/store.h"
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

int account_suspend(struct server *srv, const char *domain, const char *user, const char *reason)
{
    /* Stored first: a login racing with the kick must already fail. */
    int rc = store_account_set_suspended_sync(srv->store, domain, user, true, reason);
    if (rc < 0)
        return rc;
    size_t n = account_kick(srv, domain, user, STREAM_POLICY_VIOLATION, "Account suspended");
    log_info("account: suspended, %zu stream(s) ended", n);
    return 0;
}

int account_unsuspend(struct server *srv, const char *domain, const char *user)
{
    return store_account_set_suspended_sync(srv->store, domain, user, false, NULL);
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

int account_delete(const struct data_ctx *d, const char *domain, const char *user)
{
    int rc = account_exists(d, domain, user);
    if (rc <= 0)
        return rc == 0 ? -ENOENT : rc;
    size_t n =
        d->srv ? account_kick(d->srv, domain, user, STREAM_NOT_AUTHORIZED, "Account deleted") : 0;
    rc = erase_all(d, domain, user);
    if (rc == 0)
        rc = store_account_delete_sync(d->store, domain, user);
    if (d->srv)
        log_info("account: deletion %s, %zu stream(s) ended", rc == 0 ? "done" : "failed", n);
    return rc;
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
