/* Offline messages (XEP-0160, promise P7): serialized message stanzas kept
 * per account, in arrival order, until they are delivered.
 *
 * domain and user are prepared (jid_prep_*) by the caller. Every function
 * runs on the calling thread and commits before returning (taubectl,
 * tests, the store queue's writer). The server writes through
 * store/requests.h (store_offline_add, store_offline_delete).
 */
#ifndef TAUBE_STORE_OFFLINE_H
#define TAUBE_STORE_OFFLINE_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* The per-account ceiling checked by store_offline_add_sync. */
struct offline_limits {
    uint64_t max_messages;
    uint64_t max_bytes; /* sum of the stored XML lengths */
};

/* Appends one message (xml[0..len), stamped with unix_time) for the
 * account, in one transaction with the limit check. 0; -EDQUOT if the
 * message would exceed lim (nothing stored); -ENOENT if no such account;
 * -EINVAL for an empty message; or another -errno. */
int store_offline_add_sync(struct store *s, const char *domain, const char *user, int64_t unix_time,
                           const char *xml, size_t len, const struct offline_limits *lim);

/* Calls cb for up to max messages with id > after_id, oldest first. The
 * strings are valid only during the call; cb must not call into the store.
 * Returns the number of messages listed, or -errno (-ENOENT: no account). */
typedef void (*store_offline_cb)(void *ud, int64_t id, int64_t unix_time, const char *xml,
                                 size_t len);
int store_offline_list_sync(struct store *s, const char *domain, const char *user, int64_t after_id,
                            size_t max, store_offline_cb cb, void *ud);

/* Deletes the listed messages of the account (ids from
 * store_offline_list_sync) in one transaction; ids of other accounts are
 * left alone. 0 or -errno (then nothing is deleted). */
int store_offline_delete_sync(struct store *s, const char *domain, const char *user,
                              const int64_t *ids, size_t n);

/* Deletes every offline message of the account. 0 (also if it had none),
 * -ENOENT if no such account, or -errno. */
int store_offline_clear_sync(struct store *s, const char *domain, const char *user);

/* Number and total XML bytes of the account's offline messages.
 * 0, -ENOENT or -errno. */
int store_offline_usage_sync(struct store *s, const char *domain, const char *user, uint64_t *count,
                             uint64_t *bytes);

/* The schema steps of this area (a {0, NULL}-ended list, store.h). */
extern const struct store_migration store_offline_migrations[];

#endif
