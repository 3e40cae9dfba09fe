/* Registration codes in the store (promise P1), and the link from each
 * account to the code that created it, kept for the account's whole life
 * with the time of consent and the policy version agreed to (P2).
 *
 * Codes are stored only as their keyed hash (modules/invite.h makes
 * them); this header never sees a code. domain and user are prepared
 * by the caller. Every function runs on the calling thread and commits
 * before it returns (see store.h); the server's registration writes go
 * through store/requests.h (store_account_create_invited_req).
 */
#ifndef TAUBE_STORE_INVITES_H
#define TAUBE_STORE_INVITES_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

#define INVITE_HASH_BYTES 32
#define INVITE_TEXT_MAX 512  /* bytes of given_to, note, created_by */
#define INVITE_POLICY_MAX 64 /* bytes of a policy version */

struct invite_new {
    const char *domain;
    const uint8_t *hash;      /* INVITE_HASH_BYTES */
    const char *given_to;     /* "NAME <EMAIL>", as the operator typed it */
    const char *note;         /* or NULL */
    const char *created_by;   /* "taubectl" or an admin's JID */
    int64_t created, expires; /* unix seconds */
    unsigned uses;            /* accounts it may create, >= 1 */
};

/* Stores a new code; *id gets its short id. -EINVAL for empty or
 * over-long text, -EEXIST for a hash already stored, or -errno. */
int store_invite_create_sync(struct store *s, const struct invite_new *in, int64_t *id);

struct invite_info {
    int64_t id;
    const char *domain, *given_to, *note, *created_by; /* note may be NULL */
    int64_t created, expires;
    unsigned uses_left;
    bool revoked;
    const char *accounts; /* JIDs created with it, space-separated, or NULL */
};

/* Calls cb for each code of domain (NULL: all) in creation order. The
 * strings live only during the call; cb must not call into the store.
 * 0 or -errno. */
int store_invite_list_sync(struct store *s, const char *domain,
                           void (*cb)(void *ud, const struct invite_info *inv), void *ud);

/* Revokes the code with this hash (hash non-NULL) or this id. 0, or
 * -ENOENT if there is none. Revoking twice is not an error. */
int store_invite_revoke_sync(struct store *s, const uint8_t *hash, int64_t id);

/* Whether a code could create an account on domain at time now: 0, or
 * -ENOENT (unknown, or for another domain), -ETIME (expired),
 * -ECANCELED (revoked), -EUSERS (used up), or another -errno. */
int store_invite_check_sync(struct store *s, const char *domain, const uint8_t *hash, int64_t now);

/* How the member agreed to the policy (P2), as `taubectl user show` says. */
enum consent_via {
    CONSENT_FORM,     /* the in-band registration form's consent field */
    CONSENT_PAGE,     /* the invite's web page, before a client registered */
    CONSENT_WEB_FORM, /* the web registration form */
};

/* Records on a usable code that someone agreed to the policy
 * policy_version at time now on the invite page (P2): a client that then
 * registers with the code without a form (Conversations, Monal) uses
 * that consent up. 0, or the errors of store_invite_check_sync. */
int store_invite_consent_sync(struct store *s, const char *domain, const uint8_t *hash, int64_t now,
                              const char *policy_version);
/* Whether the code carries an unused page consent to policy_version:
 * 0 (*at = its time), -ENOENT (none, or to another version), -errno. */
int store_invite_consent_get_sync(struct store *s, const uint8_t *hash, const char *policy_version,
                                  int64_t *at);

struct invited_account {
    const char *domain, *user;
    const struct account_creds *creds;
    const uint8_t *hash;        /* the code's */
    int64_t now;                /* creation and consent time */
    const char *policy_version; /* agreed to */
    /* When the code must have been unexpired: now, or the time a
     * XEP-0401 preauth accepted it (XEP-0445 §4: a token's expiry is
     * checked then only). 0: now. Revocation and uses left are checked
     * now in any case. */
    int64_t valid_at;
    /* How consent was given. CONSENT_PAGE: the code's recorded page
     * consent to policy_version is required, used up, and its time is
     * the one stored (-EACCES if there is none). */
    enum consent_via via;
};

/* Creates the account, uses up one use of the code and records the link
 * with the consent, all in one transaction: either all of it is
 * committed or none. 0; the errors of store_invite_check_sync (checked
 * first, so a caller without a valid code learns nothing about which
 * names are taken); -EEXIST (name taken); -EINVAL; or -errno. */
int store_account_create_invited_sync(struct store *s, const struct invited_account *a);

struct account_invite {
    int64_t invite_id;
    char given_to[INVITE_TEXT_MAX + 1];
    int64_t consent_time;
    char policy_version[INVITE_POLICY_MAX + 1];
    enum consent_via via;
};

/* What `user show` prints about how an account came to be: 0 and *out,
 * -ENOENT (no such account, or created without a code, e.g. by
 * taubectl user add), or -errno. */
int store_account_invite_info_sync(struct store *s, const char *domain, const char *user,
                                   struct account_invite *out);

/* P18 for an admin who is deleted: the codes issued by issuer (a bare
 * JID) that created no account are deleted (with the name and note of the
 * person they were for); the others stay, as P1 links them to the
 * accounts they created, but no longer name the issuer. 0 or -errno. */
int store_invites_forget_issuer_sync(struct store *s, const char *issuer);

/* The schema steps of this area (a {0, NULL}-ended list, store.h). */
extern const struct store_migration store_invites_migrations[];

#endif
