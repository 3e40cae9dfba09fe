/* vCards (XEP-0054), stored as given (promise P13).
 *
 * One row per account: the serialized <vCard xmlns='vcard-temp'/> element
 * as the client sent it, and the SHA-1 (40 lower-case hex digits) of its
 * PHOTO image, if it has one, so presence can carry the avatar hash
 * (XEP-0153) without parsing the vCard at each login. Rows go with the
 * account (ON DELETE CASCADE, promise P18).
 *
 * These run on the calling thread (taubectl, tests, the store queue's
 * writer); a write that returns 0 is committed. The server reads on its
 * loop and writes through store/requests.h (store_vcard_set_req).
 * domain and user are prepared (jid_prep_*) by the caller.
 */
#ifndef TAUBE_STORE_VCARD_H
#define TAUBE_STORE_VCARD_H

#include <stddef.h>

#include "core/buf.h"
#include "store/store.h"

struct store;

#define VCARD_HASH_LEN 40

/* Appends the stored vCard XML to xml and copies its photo hash ("" if
 * none) to hash. 0; -ENOENT if the account has no vCard or does not
 * exist; -ENOBUFS/-ENOMEM from xml; -EIO. */
int store_vcard_get(struct store *s, const char *domain, const char *user, struct buf *xml,
                    char hash[VCARD_HASH_LEN + 1]);
/* Only the photo hash ("" if the vCard has no photo). 0 or -ENOENT. */
int store_vcard_photo_hash(struct store *s, const char *domain, const char *user,
                           char hash[VCARD_HASH_LEN + 1]);
/* Replaces the account's vCard. hash: NULL or "" if no photo. 0,
 * -ENOENT (no such account), -EINVAL (hash malformed), -EIO. */
int store_vcard_set(struct store *s, const char *domain, const char *user, const char *xml,
                    size_t len, const char *hash);
/* Removes the account's vCard (0 also when there was none). */
int store_vcard_delete(struct store *s, const char *domain, const char *user);

/* The schema steps of this area (a {0, NULL}-ended list, store.h); step 4
 * also makes the tables of private.h and last.h. */
extern const struct store_migration store_vcard_migrations[];

#endif
