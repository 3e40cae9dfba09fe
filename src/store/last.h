/* Last activity (XEP-0012, promise P11): when an account's last resource
 * went offline, and the status text of its last unavailable presence.
 * One row per account, gone with it (ON DELETE CASCADE, promise P18).
 *
 * These run on the calling thread (taubectl, tests, the store queue's
 * writer); the server reads on its loop and records logouts through
 * store/requests.h (store_last_set_req). domain and user are prepared by
 * the caller.
 */
#ifndef TAUBE_STORE_LAST_H
#define TAUBE_STORE_LAST_H

#include <stdint.h>

#include "core/buf.h"

struct store;

/* Longest status text kept, in bytes (longer text is cut at a UTF-8
 * character boundary by the caller). */
#define LAST_STATUS_MAX 1024

/* Records a logout at unix time t with an optional status (NULL: none).
 * Like the last login, this commit is not synced by itself when alone:
 * losing it to a power cut is harmless, an fsync per logout is not.
 * 0, -ENOENT (no such account), -EINVAL (status too long), -EIO. */
int store_last_set(struct store *s, const char *domain, const char *user, int64_t t,
                   const char *status);
/* The last logout time and status (appended to status if not NULL;
 * nothing if none). 0, -ENOENT (never logged out, or no such account). */
int store_last_get(struct store *s, const char *domain, const char *user, int64_t *t,
                   struct buf *status);
/* Forgets the account's last activity (0 also when there was none). */
int store_last_delete(struct store *s, const char *domain, const char *user);

#endif
