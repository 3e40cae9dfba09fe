/* Importing whole accounts (taubectl import, XEP-0227): an account with
 * its credentials and data, written in one transaction, so that an
 * account is either imported whole or not at all.
 *
 * The caller has checked and prepared everything: domain and user
 * (jid_prep_*), contact JIDs, the serialized XML. Synchronous, taubectl's
 * thread; beside a running server it waits for the write lock like any
 * other writer (busy timeout).
 */
#ifndef TAUBE_STORE_IMPORT_H
#define TAUBE_STORE_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "store/private.h"
#include "store/store.h"

struct import_contact {
    const char *jid;    /* prepared bare JID */
    const char *name;   /* or NULL */
    const char *groups; /* joined with U+001F, "" if none */
    const char *status; /* of a pending inbound request, or NULL */
    unsigned flags;     /* ROSTER_* (store/roster.h) */
};

struct import_message {
    const char *xml; /* a serialized <message xmlns='jabber:client'/> */
    size_t len;
    int64_t stamp;   /* unix time it was stored */
};

struct import_account {
    const char *domain, *user;
    struct account_creds creds;
    const struct import_contact *contacts;
    size_t ncontacts;
    const char *vcard; /* serialized <vCard xmlns='vcard-temp'/>, or NULL */
    size_t vcard_len;
    const char *photo_hash; /* its PHOTO's SHA-1 (hex), or NULL */
    const struct private_item *priv;
    size_t npriv;
    const struct import_message *offline; /* oldest first */
    size_t noffline;
    const char *const *blocked; /* prepared JIDs */
    size_t nblocked;
};

/* Creates the account with everything in a, created at now, in one
 * transaction. 0, -EEXIST (the account exists: nothing written), -EINVAL
 * (no usable credentials) or -errno. */
int store_import_account_sync(struct store *s, const struct import_account *a, int64_t now);

#endif
