/* Spam and abuse reports (XEP-0377, promise P22) in the store: what a
 * user sent with a block, kept for the operator until it is dismissed,
 * grows older than reports.max_age, or its reporter's account is deleted
 * (see modules/reports.c for who decides what).
 *
 * domain and user are the reporter's, prepared by the caller. Text
 * arguments are UTF-8, already cut to their limits by the caller; the
 * store refuses longer ones (-EINVAL). Every function runs on the calling
 * thread and commits before it returns (see store.h); the server stores
 * reports through store/requests.h (store_report_add_req).
 */
#ifndef TAUBE_STORE_REPORTS_H
#define TAUBE_STORE_REPORTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define REPORT_JID_MAX (3 * 1023 + 2) /* "local@domain/resource" */
#define REPORT_REASON_MAX 256         /* a reason URN */
#define REPORT_TEXT_MAX 65536         /* text and msg_text */
#define REPORT_IDS_MAX 16384          /* the msg_ids lines together */

struct report_new {
    const char *jid;      /* the reported JID, prepared */
    const char *jid_bare; /* its bare form: local@domain, or the domain */
    const char *reason;   /* "spam", "abuse" or a reason URN */
    const char *text;     /* the reporter's words, or NULL */
    const char *msg_ids;  /* "by\tid\n" per referenced message, or NULL */
    const char *msg_text; /* copies of the reported messages, or NULL */
    int64_t created;      /* unix seconds */
};

/* What one reporter may have stored: at most per_day reports created in
 * the 24 hours before created, and at most kept in all. */
struct report_limits {
    unsigned per_day, kept;
};

/* Stores a report by domain/user; *id gets its number. -EAGAIN if the
 * reporter has made lim->per_day reports in the last 24 hours, -EDQUOT
 * if it has lim->kept stored (nothing is stored then), -ENOENT (no such
 * account), -EINVAL (a missing or over-long field), or -errno. */
int store_report_add_sync(struct store *s, const char *domain, const char *user,
                          const struct report_new *r, const struct report_limits *lim, int64_t *id);

struct report_info {
    int64_t id;
    const char *reporter; /* "user@domain", or NULL: a deleted account */
    const char *jid, *reason;
    const char *text, *msg_ids, *msg_text; /* each may be NULL */
    int64_t created;
};

/* Calls cb for every report (id 0), or for report id only, oldest first.
 * The strings live only during the call; cb must not call into the
 * store. Returns the number of reports (0 if id is unknown) or -errno. */
int store_report_list_sync(struct store *s, int64_t id,
                           void (*cb)(void *ud, const struct report_info *r), void *ud);

/* The same for the reports domain/user made (reporter set). */
int store_report_list_by_sync(struct store *s, const char *domain, const char *user,
                              void (*cb)(void *ud, const struct report_info *r), void *ud);

/* Deletes report id: 0, or -ENOENT if there is none. */
int store_report_dismiss_sync(struct store *s, int64_t id);

/* When domain/user's account is deleted: the reports it made are deleted,
 * or kept without naming it (keep_made); the reports about it (its bare
 * JID, or any of its full JIDs) are deleted. One transaction. 0 or -errno
 * (no such account is not an error). */
int store_reports_erase_account_sync(struct store *s, const char *domain, const char *user,
                                     bool keep_made);

/* Deletes the reports created before 'before'. The number deleted, or -errno. */
int store_reports_sweep_sync(struct store *s, int64_t before);

/* The schema steps of this area (a {0, NULL}-ended list, store.h). */
extern const struct store_migration store_reports_migrations[];

#endif
