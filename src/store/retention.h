/* Inactivity retention in the store (promises P11, P12): which accounts
 * have gone unused, and which of them were warned and when.
 *
 * An account's last use is its last login, or its creation if it never
 * logged in. A warning is one row per account in retention_warnings
 * (gone with the account, ON DELETE CASCADE); a login removes it (a
 * trigger on accounts.last_login, made by migrations.c), so each
 * inactivity period is warned about once.
 *
 * The SQLite backend completes inline: call from the loop thread (the
 * server) or from taubectl. domain and user are prepared by the caller.
 */
#ifndef TAUBE_STORE_RETENTION_H
#define TAUBE_STORE_RETENTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct store;

/* One inactive account, as listed. Strings live only during the call. */
struct retention_row {
    int64_t id; /* accounts.id: the paging key */
    const char *domain;
    const char *user;
    int64_t last_use; /* last_login, else created (unix seconds) */
    bool never_logged_in;
    int64_t warned_at; /* 0: not warned */
};

/* Calls cb for up to max accounts with id > after_id whose last use is
 * before cutoff, in id order (page on with the last id seen). cb must not
 * call into the store. Returns the number listed or -errno. */
typedef void (*store_retention_cb)(void *ud, const struct retention_row *r);
int store_retention_list_sync(struct store *s, int64_t cutoff, int64_t after_id, size_t max,
                              store_retention_cb cb, void *ud);

/* Records that the account was warned at unix time t (replacing an older
 * warning). 0, -ENOENT (no such account) or -errno. */
int store_retention_warn_sync(struct store *s, const char *domain, const char *user, int64_t t);

/* The account's warning time in *t (0 if none). 0, -ENOENT (no such
 * account) or -errno. */
int store_retention_get_sync(struct store *s, const char *domain, const char *user, int64_t *t);

/* Forgets the account's warning (0 also when there was none). */
int store_retention_clear_sync(struct store *s, const char *domain, const char *user);

/* The schema steps of this area (a {0, NULL}-ended list, store.h). */
extern const struct store_migration store_retention_migrations[];

#endif
