/* Block lists (XEP-0191, promise P22): the JIDs each account has blocked,
 * as prepared JID strings ("user@domain/res", "user@domain",
 * "domain/res" or "domain").
 *
 * domain and user are the account's, prepared by the caller. Every
 * function runs on the calling thread and commits before returning
 * (taubectl, tests, the store queue's writer). The server reads on its
 * loop and writes through store/requests.h (store_blocking_req).
 */
#ifndef TAUBE_STORE_BLOCKING_H
#define TAUBE_STORE_BLOCKING_H

#include <stddef.h>

#include "store/store.h"

/* Calls cb for each blocked JID, in byte order. The string is valid only
 * during the call; cb must not call into the store. Returns the number of
 * JIDs, or -errno (-ENOENT: no such account). */
int store_blocking_list_sync(struct store *s, const char *domain, const char *user,
                             void (*cb)(void *ud, const char *jid), void *ud);

/* Adds jids[0..n) (already blocked ones are no-ops) in one transaction.
 * 0; -EDQUOT if the list would then hold more than max_items (nothing is
 * added); -ENOENT; -EINVAL for an empty or over-long JID; or -errno. */
int store_blocking_add_sync(struct store *s, const char *domain, const char *user,
                            const char *const *jids, size_t n, size_t max_items);

/* Removes jids[0..n) (absent ones are no-ops) in one transaction; n == 0
 * removes every JID ("unblock all"). 0, -ENOENT or -errno. */
int store_blocking_remove_sync(struct store *s, const char *domain, const char *user,
                               const char *const *jids, size_t n);

/* 1 if any of cands[0..n) is on the account's list, 0 if none (or no such
 * account), or -errno. */
int store_blocking_match_sync(struct store *s, const char *domain, const char *user,
                              const char *const *cands, size_t n);

/* The schema steps of this area (a {0, NULL}-ended list, store.h). */
extern const struct store_migration store_blocking_migrations[];

#endif
