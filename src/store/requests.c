/* Typed requests for the store queue (requests.h). Each request is one
 * malloc'ed block: struct store_req, the operation's arguments, then the
 * copied arrays and strings they point to, so that the queue frees it
 * with one free(). */
#include "store/requests.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "store/invites.h"
#include "store/offline.h"
#include "store/private.h"
#include "store/reports.h"
#include "store/roster.h"

/* ---- packing a request ---- */

struct pack {
    char *at, *end;
};

static size_t align8(size_t n) { return (n + 7) & ~(size_t)7; }

/* Bytes a copy of s takes (0 for NULL). */
static size_t str_size(const char *s) { return s ? strlen(s) + 1 : 0; }

/* Allocates the block: the request, args_size bytes of arguments (at
 * *args, 8-aligned), then room for extra bytes of copies (pk). */
static struct store_req *req_new(size_t args_size, size_t extra, void **args, struct pack *pk)
{
    size_t head = align8(sizeof(struct store_req)), body = align8(args_size);
    if (extra > SIZE_MAX - head - body)
        return NULL;
    char *blk = calloc(1, head + body + extra);
    if (!blk)
        return NULL;
    struct store_req *r = (struct store_req *)blk;
    r->size = head + body + extra;
    *args = blk + head;
    r->args = *args;
    pk->at = blk + head + body;
    pk->end = pk->at + extra;
    return r;
}

/* Copies n bytes and a NUL; the copy, or NULL for NULL. */
static const char *pack_bytes(struct pack *pk, const char *s, size_t n)
{
    if (!s)
        return NULL;
    char *d = pk->at;
    memcpy(d, s, n);
    d[n] = '\0';
    pk->at += n + 1;
    return d;
}

static const char *pack_str(struct pack *pk, const char *s)
{
    return s ? pack_bytes(pk, s, strlen(s)) : NULL;
}

static int64_t submit(struct store_queue *q, struct store_req *r, store_run_fn run, unsigned flags,
                      store_done_cb cb, void *ud)
{
    r->run = run;
    r->flags = flags;
    r->cb = cb;
    r->ud = ud;
    return store_queue_submit(q, r);
}

#define CLIENT_WRITE (STORE_REQ_DURABLE | STORE_REQ_HOLD)

/* ---- offline messages ---- */

struct offline_add_args {
    const char *domain, *user, *xml;
    size_t len;
    int64_t t;
    struct offline_limits lim;
};

static int run_offline_add(const struct store_ops *ops, struct store *c, const struct store_req *r,
                           int64_t *value)
{
    (void)value;
    const struct offline_add_args *a = r->args;
    return ops->offline_add(c, a->domain, a->user, a->t, a->xml, a->len, &a->lim);
}

int64_t store_offline_add(struct store_queue *q, const char *domain, const char *user,
                          int64_t unix_time, const char *xml, size_t len,
                          const struct offline_limits *lim, store_done_cb cb, void *ud)
{
    if (len == 0 || len > SIZE_MAX / 2)
        return -EINVAL;
    struct offline_add_args *a;
    struct pack pk;
    struct store_req *r =
        req_new(sizeof *a, str_size(domain) + str_size(user) + len + 1, (void **)&a, &pk);
    if (!r)
        return -ENOMEM;
    *a = (struct offline_add_args){pack_str(&pk, domain),
                                   pack_str(&pk, user),
                                   pack_bytes(&pk, xml, len),
                                   len,
                                   unix_time,
                                   *lim};
    /* store_offline_add_sync is all or nothing by itself (a savepoint of
     * its own inside the group). */
    return submit(q, r, run_offline_add, CLIENT_WRITE | STORE_REQ_ATOMIC, cb, ud);
}

struct offline_delete_args {
    const char *domain, *user;
    const int64_t *ids;
    size_t n;
};

static int run_offline_delete(const struct store_ops *ops, struct store *c,
                              const struct store_req *r, int64_t *value)
{
    (void)value;
    const struct offline_delete_args *a = r->args;
    return ops->offline_delete(c, a->domain, a->user, a->ids, a->n);
}

int64_t store_offline_delete(struct store_queue *q, const char *domain, const char *user,
                             const int64_t *ids, size_t n, store_done_cb cb, void *ud)
{
    if (n > SIZE_MAX / 16)
        return -EINVAL;
    size_t idsz = align8(n * sizeof *ids);
    struct offline_delete_args *a;
    struct pack pk;
    struct store_req *r =
        req_new(sizeof *a, idsz + str_size(domain) + str_size(user), (void **)&a, &pk);
    if (!r)
        return -ENOMEM;
    int64_t *copy = (int64_t *)pk.at; /* 8-aligned: right after the arguments */
    if (n)
        memcpy(copy, ids, n * sizeof *ids);
    pk.at += idsz;
    *a = (struct offline_delete_args){pack_str(&pk, domain), pack_str(&pk, user), copy, n};
    return submit(q, r, run_offline_delete, STORE_REQ_DURABLE, cb, ud);
}

/* ---- login and logout times ---- */

/* Nobody waits for these, and nobody is told: a failure is logged at
 * debug only (the store logs disk errors itself, once a minute; a full
 * disk would otherwise log a line per login). */
static void log_failure(void *ud, int rc, int64_t value)
{
    (void)value;
    if (rc < 0 && rc != -ENOENT)
        log_debug("store: could not record %s (%s)", (const char *)ud, strerror(-rc));
}

struct when_args {
    const char *domain, *user, *status;
    int64_t t;
};

static int run_touch_login(const struct store_ops *ops, struct store *c, const struct store_req *r,
                           int64_t *value)
{
    (void)value;
    const struct when_args *a = r->args;
    return ops->touch_login(c, a->domain, a->user, a->t);
}

static int run_last_set(const struct store_ops *ops, struct store *c, const struct store_req *r,
                        int64_t *value)
{
    (void)value;
    const struct when_args *a = r->args;
    return ops->last_set(c, a->domain, a->user, a->t, a->status);
}

static int64_t when_req(struct store_queue *q, store_run_fn run, const char *domain,
                        const char *user, int64_t t, const char *status)
{
    struct when_args *a;
    struct pack pk;
    struct store_req *r =
        req_new(sizeof *a, str_size(domain) + str_size(user) + str_size(status), (void **)&a, &pk);
    if (!r)
        return -ENOMEM;
    *a = (struct when_args){pack_str(&pk, domain), pack_str(&pk, user), pack_str(&pk, status), t};
    return submit(q, r, run, 0, log_failure,
                  run == run_touch_login ? (void *)"a login time" : (void *)"a logout time");
}

int64_t store_touch_login(struct store_queue *q, const char *domain, const char *user,
                          int64_t unix_time)
{
    return when_req(q, run_touch_login, domain, user, unix_time, NULL);
}

int64_t store_last_set_req(struct store_queue *q, const char *domain, const char *user, int64_t t,
                           const char *status)
{
    return when_req(q, run_last_set, domain, user, t, status);
}

/* ---- vCard ---- */

struct vcard_args {
    const char *domain, *user, *xml, *hash;
    size_t len;
};

static int run_vcard_set(const struct store_ops *ops, struct store *c, const struct store_req *r,
                         int64_t *value)
{
    (void)value;
    const struct vcard_args *a = r->args;
    return ops->vcard_set(c, a->domain, a->user, a->xml, a->len, a->hash);
}

int64_t store_vcard_set_req(struct store_queue *q, const char *domain, const char *user,
                            const char *xml, size_t len, const char *hash, store_done_cb cb,
                            void *ud)
{
    if (len > SIZE_MAX / 2)
        return -EINVAL;
    struct vcard_args *a;
    struct pack pk;
    size_t extra = str_size(domain) + str_size(user) + len + 1 + str_size(hash);
    struct store_req *r = req_new(sizeof *a, extra, (void **)&a, &pk);
    if (!r)
        return -ENOMEM;
    *a = (struct vcard_args){pack_str(&pk, domain), pack_str(&pk, user),
                             pack_bytes(&pk, xml ? xml : "", xml ? len : 0), pack_str(&pk, hash),
                             len};
    return submit(q, r, run_vcard_set, CLIENT_WRITE, cb, ud);
}

/* ---- private XML ---- */

struct private_args {
    const char *domain, *user;
    struct private_item *items;
    size_t n;
    uint64_t max_total;
};

static int run_private_set(const struct store_ops *ops, struct store *c, const struct store_req *r,
                           int64_t *value)
{
    (void)value;
    const struct private_args *a = r->args;
    return ops->private_set(c, a->domain, a->user, a->items, a->n, a->max_total);
}

int64_t store_private_set_req(struct store_queue *q, const char *domain, const char *user,
                              const struct private_item *items, size_t n, uint64_t max_total,
                              store_done_cb cb, void *ud)
{
    if (n > SIZE_MAX / (2 * sizeof *items))
        return -EINVAL;
    size_t extra = align8(n * sizeof *items) + str_size(domain) + str_size(user);
    for (size_t i = 0; i < n; i++) {
        size_t one = str_size(items[i].ns) + str_size(items[i].name) + items[i].len + 1;
        if (one > SIZE_MAX - extra)
            return -EINVAL;
        extra += one;
    }
    struct private_args *a;
    struct pack pk;
    struct store_req *r = req_new(sizeof *a, extra, (void **)&a, &pk);
    if (!r)
        return -ENOMEM;
    struct private_item *copy = (struct private_item *)pk.at;
    pk.at += align8(n * sizeof *items);
    for (size_t i = 0; i < n; i++)
        copy[i] = (struct private_item){pack_str(&pk, items[i].ns), pack_str(&pk, items[i].name),
                                        pack_bytes(&pk, items[i].xml, items[i].len), items[i].len};
    *a = (struct private_args){pack_str(&pk, domain), pack_str(&pk, user), copy, n, max_total};
    return submit(q, r, run_private_set, CLIENT_WRITE, cb, ud);
}

/* ---- block lists ---- */

struct blocking_args {
    const char *domain, *user;
    const char **jids;
    size_t n, max_items;
    bool add;
};

static int run_blocking(const struct store_ops *ops, struct store *c, const struct store_req *r,
                        int64_t *value)
{
    (void)value;
    const struct blocking_args *a = r->args;
    const char *const *jids = a->jids;
    return a->add ? ops->blocking_add(c, a->domain, a->user, jids, a->n, a->max_items)
                  : ops->blocking_remove(c, a->domain, a->user, jids, a->n);
}

int64_t store_blocking_req(struct store_queue *q, bool add, const char *domain, const char *user,
                           const char *const *jids, size_t n, size_t max_items, store_done_cb cb,
                           void *ud)
{
    if (n > SIZE_MAX / 16)
        return -EINVAL;
    size_t extra = align8(n * sizeof(char *)) + str_size(domain) + str_size(user);
    for (size_t i = 0; i < n; i++) {
        size_t one = str_size(jids[i]);
        if (one == 0 || one > SIZE_MAX - extra)
            return -EINVAL;
        extra += one;
    }
    struct blocking_args *a;
    struct pack pk;
    struct store_req *r = req_new(sizeof *a, extra, (void **)&a, &pk);
    if (!r)
        return -ENOMEM;
    const char **copy = (const char **)(void *)pk.at;
    pk.at += align8(n * sizeof(char *));
    for (size_t i = 0; i < n; i++)
        copy[i] = pack_str(&pk, jids[i]);
    *a =
        (struct blocking_args){pack_str(&pk, domain), pack_str(&pk, user), copy, n, max_items, add};
    return submit(q, r, run_blocking, CLIENT_WRITE, cb, ud);
}

/* ---- rosters ---- */

struct roster_args {
    const char *domain, *user;
    struct roster_item it; /* put: the row; delete: only it.jid */
    unsigned log_max;
    bool put, versioned;
};

static int run_roster(const struct store_ops *ops, struct store *c, const struct store_req *r,
                      int64_t *value)
{
    const struct roster_args *a = r->args;
    return a->put ? ops->roster_put(c, a->domain, a->user, &a->it, a->versioned, a->log_max, value)
                  : ops->roster_delete(c, a->domain, a->user, a->it.jid, a->versioned, a->log_max,
                                       value);
}

static int64_t roster_req(struct store_queue *q, bool put, const char *domain, const char *user,
                          const struct roster_item *it, bool versioned, unsigned log_max,
                          store_done_cb cb, void *ud)
{
    size_t ng = put ? it->ngroups : 0;
    if (!it->jid || ng > SIZE_MAX / 16)
        return -EINVAL;
    size_t extra =
        align8(ng * sizeof(char *)) + str_size(domain) + str_size(user) + str_size(it->jid);
    if (put)
        extra += str_size(it->name) + str_size(it->status);
    for (size_t i = 0; i < ng; i++) {
        size_t one = str_size(it->groups[i]);
        if (one == 0 || one > SIZE_MAX - extra)
            return -EINVAL;
        extra += one;
    }
    struct roster_args *a;
    struct pack pk;
    struct store_req *r = req_new(sizeof *a, extra, (void **)&a, &pk);
    if (!r)
        return -ENOMEM;
    char **groups = (char **)(void *)pk.at;
    pk.at += align8(ng * sizeof(char *));
    for (size_t i = 0; i < ng; i++)
        groups[i] = (char *)pack_str(&pk, it->groups[i]);
    *a = (struct roster_args){
        .domain = pack_str(&pk, domain),
        .user = pack_str(&pk, user),
        .it = {.jid = (char *)pack_str(&pk, it->jid),
               .name = put ? (char *)pack_str(&pk, it->name) : NULL,
               .status = put ? (char *)pack_str(&pk, it->status) : NULL,
               .groups = ng ? groups : NULL,
               .ngroups = ng,
               .flags = it->flags},
        .log_max = log_max,
        .put = put,
        .versioned = versioned,
    };
    /* roster_put_sync and roster_delete_sync are all or nothing by
     * themselves (a savepoint of their own inside the group). */
    return submit(q, r, run_roster, CLIENT_WRITE | STORE_REQ_ATOMIC, cb, ud);
}

int64_t store_roster_put_req(struct store_queue *q, const char *domain, const char *user,
                             const struct roster_item *it, bool versioned, unsigned log_max,
                             store_done_cb cb, void *ud)
{
    return roster_req(q, true, domain, user, it, versioned, log_max, cb, ud);
}

int64_t store_roster_delete_req(struct store_queue *q, const char *domain, const char *user,
                                const char *jid, bool versioned, unsigned log_max, store_done_cb cb,
                                void *ud)
{
    struct roster_item it = {.jid = (char *)jid};
    return roster_req(q, false, domain, user, &it, versioned, log_max, cb, ud);
}

/* ---- reports ---- */

struct report_args {
    const char *domain, *user;
    struct report_new rep;
    struct report_limits lim;
};

static int run_report_add(const struct store_ops *ops, struct store *c, const struct store_req *r,
                          int64_t *value)
{
    const struct report_args *a = r->args;
    return ops->report_add(c, a->domain, a->user, &a->rep, &a->lim, value);
}

int64_t store_report_add_req(struct store_queue *q, const char *domain, const char *user,
                             const struct report_new *rep, const struct report_limits *lim,
                             store_done_cb cb, void *ud)
{
    size_t extra = str_size(domain) + str_size(user) + str_size(rep->jid) +
                   str_size(rep->jid_bare) + str_size(rep->reason) + str_size(rep->text) +
                   str_size(rep->msg_ids) + str_size(rep->msg_text);
    struct report_args *a;
    struct pack pk;
    struct store_req *r = req_new(sizeof *a, extra, (void **)&a, &pk);
    if (!r)
        return -ENOMEM;
    a->domain = pack_str(&pk, domain);
    a->user = pack_str(&pk, user);
    a->rep = (struct report_new){pack_str(&pk, rep->jid),
                                 pack_str(&pk, rep->jid_bare),
                                 pack_str(&pk, rep->reason),
                                 pack_str(&pk, rep->text),
                                 pack_str(&pk, rep->msg_ids),
                                 pack_str(&pk, rep->msg_text),
                                 rep->created};
    a->lim = *lim;
    return submit(q, r, run_report_add, CLIENT_WRITE, cb, ud);
}

/* ---- accounts: creation with a registration code, new credentials ---- */

struct invited_args {
    struct invited_account a;
    struct account_creds creds;
    uint8_t hash[INVITE_HASH_BYTES];
};

static int run_create_invited(const struct store_ops *ops, struct store *c,
                              const struct store_req *r, int64_t *value)
{
    (void)value;
    const struct invited_args *a = r->args;
    return ops->account_create_invited(c, &a->a);
}

int64_t store_account_create_invited_req(struct store_queue *q, const struct invited_account *in,
                                         store_done_cb cb, void *ud)
{
    struct invited_args *a;
    struct pack pk;
    size_t extra = str_size(in->domain) + str_size(in->user) + str_size(in->policy_version);
    struct store_req *r = req_new(sizeof *a, extra, (void **)&a, &pk);
    if (!r)
        return -ENOMEM;
    a->creds = *in->creds;
    memcpy(a->hash, in->hash, sizeof a->hash);
    a->a = (struct invited_account){.domain = pack_str(&pk, in->domain),
                                    .user = pack_str(&pk, in->user),
                                    .creds = &a->creds,
                                    .hash = a->hash,
                                    .now = in->now,
                                    .policy_version = pack_str(&pk, in->policy_version),
                                    .valid_at = in->valid_at,
                                    .via = in->via};
    return submit(q, r, run_create_invited, CLIENT_WRITE | STORE_REQ_SECRET, cb, ud);
}

struct creds_args {
    const char *domain, *user;
    struct account_creds creds;
};

static int run_set_creds(const struct store_ops *ops, struct store *c, const struct store_req *r,
                         int64_t *value)
{
    (void)value;
    const struct creds_args *a = r->args;
    return ops->account_set_creds(c, a->domain, a->user, &a->creds);
}

int64_t store_account_set_creds_req(struct store_queue *q, const char *domain, const char *user,
                                    const struct account_creds *creds, store_done_cb cb, void *ud)
{
    struct creds_args *a;
    struct pack pk;
    struct store_req *r = req_new(sizeof *a, str_size(domain) + str_size(user), (void **)&a, &pk);
    if (!r)
        return -ENOMEM;
    a->creds = *creds;
    a->domain = pack_str(&pk, domain);
    a->user = pack_str(&pk, user);
    return submit(q, r, run_set_creds, CLIENT_WRITE | STORE_REQ_SECRET, cb, ud);
}

/* ---- admin actions: suspension, registration codes ---- */

struct suspend_args {
    const char *domain, *user, *reason;
    bool suspended;
};

static int run_set_suspended(const struct store_ops *ops, struct store *c,
                             const struct store_req *r, int64_t *value)
{
    (void)value;
    const struct suspend_args *a = r->args;
    return ops->account_set_suspended(c, a->domain, a->user, a->suspended, a->reason);
}

int64_t store_account_suspend_req(struct store_queue *q, const char *domain, const char *user,
                                  bool suspended, const char *reason, store_done_cb cb, void *ud)
{
    struct suspend_args *a;
    struct pack pk;
    size_t extra = str_size(domain) + str_size(user) + str_size(reason);
    struct store_req *r = req_new(sizeof *a, extra, (void **)&a, &pk);
    if (!r)
        return -ENOMEM;
    *a = (struct suspend_args){pack_str(&pk, domain), pack_str(&pk, user), pack_str(&pk, reason),
                               suspended};
    return submit(q, r, run_set_suspended, STORE_REQ_DURABLE, cb, ud);
}

struct invite_args {
    struct invite_new in;
    uint8_t hash[INVITE_HASH_BYTES];
};

static int run_invite_create(const struct store_ops *ops, struct store *c,
                             const struct store_req *r, int64_t *value)
{
    const struct invite_args *a = r->args;
    return ops->invite_create(c, &a->in, value);
}

int64_t store_invite_create_req(struct store_queue *q, const struct invite_new *in,
                                store_done_cb cb, void *ud)
{
    struct invite_args *a;
    struct pack pk;
    size_t extra = str_size(in->domain) + str_size(in->given_to) + str_size(in->note) +
                   str_size(in->created_by);
    struct store_req *r = req_new(sizeof *a, extra, (void **)&a, &pk);
    if (!r)
        return -ENOMEM;
    memcpy(a->hash, in->hash, sizeof a->hash);
    a->in = *in;
    a->in.hash = a->hash;
    a->in.domain = pack_str(&pk, in->domain);
    a->in.given_to = pack_str(&pk, in->given_to);
    a->in.note = pack_str(&pk, in->note);
    a->in.created_by = pack_str(&pk, in->created_by);
    return submit(q, r, run_invite_create, STORE_REQ_DURABLE | STORE_REQ_SECRET, cb, ud);
}

struct consent_args {
    const char *domain, *policy_version;
    uint8_t hash[INVITE_HASH_BYTES];
    int64_t now;
};

static int run_invite_consent(const struct store_ops *ops, struct store *c,
                              const struct store_req *r, int64_t *value)
{
    (void)value;
    const struct consent_args *a = r->args;
    return ops->invite_consent(c, a->domain, a->hash, a->now, a->policy_version);
}

int64_t store_invite_consent_req(struct store_queue *q, const char *domain, const uint8_t *hash,
                                 int64_t now, const char *policy_version, store_done_cb cb,
                                 void *ud)
{
    struct consent_args *a;
    struct pack pk;
    struct store_req *r =
        req_new(sizeof *a, str_size(domain) + str_size(policy_version), (void **)&a, &pk);
    if (!r)
        return -ENOMEM;
    memcpy(a->hash, hash, sizeof a->hash);
    a->now = now;
    a->domain = pack_str(&pk, domain);
    a->policy_version = pack_str(&pk, policy_version);
    return submit(q, r, run_invite_consent, CLIENT_WRITE | STORE_REQ_SECRET, cb, ud);
}

/* ---- retention and sweeps ---- */

struct warn_args {
    const char *domain, *user;
    int64_t t;
};

static int run_retention_warn(const struct store_ops *ops, struct store *c,
                              const struct store_req *r, int64_t *value)
{
    (void)value;
    const struct warn_args *a = r->args;
    return ops->retention_warn(c, a->domain, a->user, a->t);
}

int64_t store_retention_warn_req(struct store_queue *q, const char *domain, const char *user,
                                 int64_t t, store_done_cb cb, void *ud)
{
    struct warn_args *a;
    struct pack pk;
    struct store_req *r = req_new(sizeof *a, str_size(domain) + str_size(user), (void **)&a, &pk);
    if (!r)
        return -ENOMEM;
    *a = (struct warn_args){pack_str(&pk, domain), pack_str(&pk, user), t};
    return submit(q, r, run_retention_warn, STORE_REQ_DURABLE, cb, ud);
}

static int run_reports_sweep(const struct store_ops *ops, struct store *c,
                             const struct store_req *r, int64_t *value)
{
    int n = ops->reports_sweep(c, *(const int64_t *)r->args);
    if (n < 0)
        return n;
    *value = n;
    return 0;
}

int64_t store_reports_sweep_req(struct store_queue *q, int64_t before, store_done_cb cb, void *ud)
{
    int64_t *a;
    struct pack pk;
    struct store_req *r = req_new(sizeof *a, 0, (void **)&a, &pk);
    if (!r)
        return -ENOMEM;
    *a = before;
    return submit(q, r, run_reports_sweep, STORE_REQ_DURABLE, cb, ud);
}
