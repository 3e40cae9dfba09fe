/* Roster storage (RFC 6121 §2, promise P5): one row per (account, contact
 * JID) holding the roster item and/or a pending inbound subscription
 * request, a per-account roster version and a bounded change log for
 * versioned roster gets (§2.6).
 *
 * Synchronous calls on the connection given: the server reads on the
 * loop's connection (microseconds) and writes through the store queue
 * (store_roster_put_req, requests.h), whose writer thread calls
 * roster_put_sync and roster_delete_sync; taubectl calls them directly.
 * domain and user are prepared (jid_prep_*); contact JIDs are prepared
 * strings as jid_format writes them. Strings a function fills in are
 * heap-allocated and owned by the caller (roster_item_clear).
 */
#ifndef TAUBE_STORE_ROSTER_H
#define TAUBE_STORE_ROSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct store;

/* Subscription state and item flags, frozen: they are stored. */
enum {
    ROSTER_TO = 1,          /* the user receives the contact's presence */
    ROSTER_FROM = 2,        /* the contact receives the user's presence */
    ROSTER_ASK = 4,         /* pending out: the user asked to subscribe */
    ROSTER_PENDING_IN = 8,  /* pending in: the contact asked, no answer yet */
    ROSTER_APPROVED = 16,   /* pre-approved (§3.4) */
    ROSTER_ITEM = 32,       /* in the user's roster (else only a pending request) */
};

struct roster_item {
    char *jid;     /* the contact, never NULL in a stored row */
    char *name;    /* handle, or NULL */
    char *status;  /* status text of the pending request, or NULL */
    char **groups;
    size_t ngroups;
    unsigned flags;
    int64_t ver;   /* roster version of its last change (read only) */
};

/* Frees what a read filled in and zeroes the struct. */
void roster_item_clear(struct roster_item *it);

/* Reads one row. 0, -ENOENT (no row, or no such account) or -errno. */
int roster_load_sync(struct store *s, const char *domain, const char *user, const char *jid,
                     struct roster_item *out);
/* Calls cb for each row whose flags share a bit with mask (0: every row),
 * in JID order. The item is borrowed for the call; cb must not call into
 * the store. 0 or -errno (-ENOENT: no such account). */
int roster_list_sync(struct store *s, const char *domain, const char *user, unsigned mask,
                     void (*cb)(void *ud, const struct roster_item *it), void *ud);
/* Rows whose flags share a bit with mask (0: all). */
int roster_count_sync(struct store *s, const char *domain, const char *user, unsigned mask,
                      size_t *n);
/* The account's current roster version (0 before the first change). */
int roster_version_sync(struct store *s, const char *domain, const char *user, int64_t *ver);

/* Inserts or replaces the row it->jid (it->ver is ignored). versioned: the
 * change is visible to clients (a roster push follows), so the version is
 * bumped and the change logged, keeping the newest log_max changes.
 * *ver gets the version the row now carries (may be NULL). 0 or -errno. */
int roster_put_sync(struct store *s, const char *domain, const char *user,
                    const struct roster_item *it, bool versioned, unsigned log_max, int64_t *ver);
/* Deletes the row; versioned as above. 0, -ENOENT or -errno. */
int roster_delete_sync(struct store *s, const char *domain, const char *user, const char *jid,
                       bool versioned, unsigned log_max, int64_t *ver);
/* Calls cb once per JID changed after version since, in order of its last
 * change, with that version (its row may be gone: a removal). -ESTALE if
 * the log cannot tell (since is older than the log or newer than the
 * roster): the caller sends the whole roster. cb must not call into the store. */
int roster_changes_sync(struct store *s, const char *domain, const char *user, int64_t since,
                        void (*cb)(void *ud, const char *jid, int64_t ver), void *ud);

/* Calls cb with each account (domain, user) that has a row for jid.
 * cb must not call into the store. 0 or -errno. */
int roster_holders_sync(struct store *s, const char *jid,
                        void (*cb)(void *ud, const char *domain, const char *user), void *ud);
/* Deletes the account's rows, version and change log. 0 or -errno
 * (0 also if the account does not exist). */
int roster_erase_sync(struct store *s, const char *domain, const char *user);

/* The schema steps of this area (a {0, NULL}-ended list, store.h). */
extern const struct store_migration store_roster_migrations[];

#endif
