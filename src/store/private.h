/* Private XML storage (XEP-0049): elements a client keeps for itself,
 * keyed per account by (namespace, element name), stored as given
 * (serialized XML, promise P13). Rows go with the account (ON DELETE
 * CASCADE, promise P18).
 *
 * These run on the calling thread (taubectl, tests, the store queue's
 * writer); a write that returns 0 is committed. The server reads on its
 * loop and writes through store/requests.h (store_private_set_req).
 * domain and user are prepared (jid_prep_*) by the caller.
 */
#ifndef TAUBE_STORE_PRIVATE_H
#define TAUBE_STORE_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

struct store;

struct private_item {
    const char *ns;   /* namespace URI of the element */
    const char *name; /* its local name */
    const char *xml;  /* the serialized element */
    size_t len;
};

/* Appends the element stored under (ns, name) to out. 0, -ENOENT (none
 * stored, or no such account), -ENOBUFS/-ENOMEM from out, -EIO. */
int store_private_get(struct store *s, const char *domain, const char *user, const char *ns,
                      const char *name, struct buf *out);
/* Stores n elements (each replacing what was under its key) in one
 * transaction, refused whole with -EDQUOT if the account would then hold
 * more than max_total bytes. 0, -ENOENT (no such account), -EDQUOT, -EIO. */
int store_private_set(struct store *s, const char *domain, const char *user,
                      const struct private_item *items, size_t n, uint64_t max_total);
/* Calls cb for each stored element, ordered by namespace and name. cb
 * must not call into the store. 0 or -errno. */
int store_private_list(struct store *s, const char *domain, const char *user,
                       void (*cb)(void *ud, const struct private_item *it), void *ud);
/* Removes every element of the account (0 also when there was none). */
int store_private_delete_all(struct store *s, const char *domain, const char *user);

#endif
