/* The writes the server makes, as requests to the store queue (queue.h).
 *
 * Each function copies its arguments into the request (the caller's
 * strings and buffers may go as soon as it returns), queues it, and later
 * calls cb(ud, rc, value) on the loop thread, after the commit, with the
 * outcome the area header documents for the same operation
 * (store_offline_add_sync, store_vcard_set, ...). cb may be NULL.
 * Returns the request id (> 0, for store_queue_cancel), or -errno
 * (-ENOMEM, -EAGAIN: queue full, -EINVAL) with cb never called.
 *
 * Flags: writes a client asked for are durable and hold that client
 * (STORE_REQ_DURABLE | STORE_REQ_HOLD: its next stanza waits for the
 * commit); deleting delivered offline messages is durable; login and
 * logout times are neither (see last.h). Loop thread.
 */
#ifndef TAUBE_STORE_REQUESTS_H
#define TAUBE_STORE_REQUESTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/queue.h"

struct offline_limits;
struct private_item;
struct roster_item;
struct report_new;
struct report_limits;

int64_t store_offline_add(struct store_queue *q, const char *domain, const char *user,
                          int64_t unix_time, const char *xml, size_t len,
                          const struct offline_limits *lim, store_done_cb cb, void *ud);
int64_t store_offline_delete(struct store_queue *q, const char *domain, const char *user,
                             const int64_t *ids, size_t n, store_done_cb cb, void *ud);
int64_t store_touch_login(struct store_queue *q, const char *domain, const char *user,
                          int64_t unix_time);
int64_t store_last_set_req(struct store_queue *q, const char *domain, const char *user, int64_t t,
                           const char *status);
int64_t store_vcard_set_req(struct store_queue *q, const char *domain, const char *user,
                            const char *xml, size_t len, const char *hash, store_done_cb cb,
                            void *ud);
int64_t store_private_set_req(struct store_queue *q, const char *domain, const char *user,
                              const struct private_item *items, size_t n, uint64_t max_total,
                              store_done_cb cb, void *ud);
/* add: store_blocking_add_sync (max_items used); else remove (n == 0:
 * unblock all; max_items ignored). */
int64_t store_blocking_req(struct store_queue *q, bool add, const char *domain, const char *user,
                           const char *const *jids, size_t n, size_t max_items, store_done_cb cb,
                           void *ud);
/* value: the new report's id. */
int64_t store_report_add_req(struct store_queue *q, const char *domain, const char *user,
                             const struct report_new *r, const struct report_limits *lim,
                             store_done_cb cb, void *ud);

/* A roster row written (store_roster_put: it, groups and strings copied)
 * or deleted (store_roster_delete), as roster_put_sync and
 * roster_delete_sync; value: the version the change carries. Both are
 * all or nothing by themselves. */
int64_t store_roster_put_req(struct store_queue *q, const char *domain, const char *user,
                             const struct roster_item *it, bool versioned, unsigned log_max,
                             store_done_cb cb, void *ud);
int64_t store_roster_delete_req(struct store_queue *q, const char *domain, const char *user,
                                const char *jid, bool versioned, unsigned log_max, store_done_cb cb,
                                void *ud);

/* An account made with a registration code (store_account_create_invited_sync);
 * new credentials (store_account_set_creds_sync). Their blocks, which hold
 * the credentials, are wiped before they are freed. */
struct invited_account;
struct account_creds;
int64_t store_account_create_invited_req(struct store_queue *q, const struct invited_account *a,
                                         store_done_cb cb, void *ud);
int64_t store_account_set_creds_req(struct store_queue *q, const char *domain, const char *user,
                                    const struct account_creds *creds, store_done_cb cb, void *ud);

/* Admin actions: a suspension set or lifted
 * (store_account_set_suspended_sync); a registration code stored
 * (store_invite_create_sync; value: its short id). */
struct invite_new;
int64_t store_account_suspend_req(struct store_queue *q, const char *domain, const char *user,
                                  bool suspended, const char *reason, store_done_cb cb, void *ud);
int64_t store_invite_create_req(struct store_queue *q, const struct invite_new *in,
                                store_done_cb cb, void *ud);
/* Consent given on an invite's page (store_invite_consent_sync). */
int64_t store_invite_consent_req(struct store_queue *q, const char *domain, const uint8_t *hash,
                                 int64_t now, const char *policy_version, store_done_cb cb,
                                 void *ud);

/* Retention: a warning recorded (store_retention_warn_sync); reports
 * older than before deleted (store_reports_sweep_sync; value: how many). */
int64_t store_retention_warn_req(struct store_queue *q, const char *domain, const char *user,
                                 int64_t t, store_done_cb cb, void *ud);
int64_t store_reports_sweep_req(struct store_queue *q, int64_t before, store_done_cb cb, void *ud);

#endif
