/* Registration codes in SQLite (store/invites.h): tables invites and
 * account_invite, created by the migration step "invites". */
#include <errno.h>
#include <string.h>

#include "store/invites.h"
#include "store/sqlite_internal.h"
#include "xmpp/jid.h"

static const char sql_insert[] =
    "INSERT INTO invites (domain, code_hash, given_to, note, created, expires, uses_left,"
    " revoked, created_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8)";
static const char sql_list[] =
    "SELECT i.id, i.domain, i.given_to, i.note, i.created_by, i.created, i.expires,"
    " i.uses_left, i.revoked,"
    " (SELECT group_concat(a.username || '@' || a.domain, ' ') FROM account_invite ai"
    "  JOIN accounts a ON a.id = ai.account_id WHERE ai.invite_id = i.id)"
    " FROM invites i WHERE ?1 IS NULL OR i.domain = ?1 ORDER BY i.id";
static const char sql_revoke_hash[] = "UPDATE invites SET revoked = 1 WHERE code_hash = ?1";
static const char sql_revoke_id[] = "UPDATE invites SET revoked = 1 WHERE id = ?1";
static const char sql_find[] =
    "SELECT id, domain, expires, revoked, uses_left FROM invites WHERE code_hash = ?1";
static const char sql_use[] = "UPDATE invites SET uses_left = uses_left - 1 WHERE id = ?1";
static const char sql_link[] =
    "INSERT INTO account_invite (account_id, invite_id, consent_time, policy_version, consent_via)"
    " VALUES (?1, ?2, ?3, ?4, ?5)";
static const char sql_consent_set[] =
    "UPDATE invites SET consent_time = ?2, consent_policy = ?3 WHERE id = ?1";
static const char sql_consent_get[] =
    "SELECT consent_time FROM invites WHERE code_hash = ?1 AND consent_time IS NOT NULL"
    " AND consent_policy = ?2";
static const char sql_consent_use[] =
    "UPDATE invites SET consent_time = NULL, consent_policy = NULL WHERE id = ?1";
static const char sql_info[] =
    "SELECT ai.invite_id, i.given_to, ai.consent_time, ai.policy_version, ai.consent_via"
    " FROM accounts a JOIN account_invite ai ON ai.account_id = a.id"
    " JOIN invites i ON i.id = ai.invite_id WHERE a.domain = ?1 AND a.username = ?2";

/* Binds text of 1..max bytes (NULL allowed if optional). 0 or -EINVAL. */
static int bind_text(sqlite3_stmt *st, int col, const char *v, size_t max, bool optional)
{
    if (!v)
        return optional ? 0 : -EINVAL;
    size_t len = strlen(v);
    if (len == 0 || len > max)
        return -EINVAL;
    return sqlite3_bind_text(st, col, v, (int)len, SQLITE_STATIC) == SQLITE_OK ? 0 : -ENOMEM;
}

static int bind_invite(sqlite3_stmt *st, const struct invite_new *in)
{
    if (in->uses == 0 || in->uses > INT32_MAX || !in->hash)
        return -EINVAL;
    int rc = bind_text(st, 1, in->domain, JID_PART_MAX, false);
    if (rc == 0)
        rc = sqlite3_bind_blob(st, 2, in->hash, INVITE_HASH_BYTES, SQLITE_STATIC) == SQLITE_OK
                 ? 0
                 : -ENOMEM;
    if (rc == 0)
        rc = bind_text(st, 3, in->given_to, INVITE_TEXT_MAX, false);
    if (rc == 0)
        rc = bind_text(st, 4, in->note, INVITE_TEXT_MAX, true);
    if (rc == 0)
        rc = bind_text(st, 8, in->created_by, INVITE_TEXT_MAX, false);
    sqlite3_bind_int64(st, 5, in->created);
    sqlite3_bind_int64(st, 6, in->expires);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)in->uses);
    return rc;
}

int store_invite_create_sync(struct store *s, const struct invite_new *in, int64_t *id)
{
    sqlite3_stmt *st = store_stmt(s, sql_insert);
    if (!st)
        return -EIO;
    int rc = bind_invite(st, in);
    if (rc == 0) {
        int step = sqlite3_step(st);
        if (step == SQLITE_DONE)
            *id = sqlite3_last_insert_rowid(s->db);
        else if (step == SQLITE_CONSTRAINT_UNIQUE)
            rc = -EEXIST;
        else
            rc = store_db_fail(s, step, "storing an invite");
    }
    store_stmt_done(st);
    return rc;
}

int store_invite_list_sync(struct store *s, const char *domain,
                           void (*cb)(void *ud, const struct invite_info *inv), void *ud)
{
    sqlite3_stmt *st = store_stmt(s, sql_list);
    if (!st)
        return -EIO;
    if (bind_text(st, 1, domain, JID_PART_MAX, true) < 0) {
        store_stmt_done(st);
        return -EINVAL;
    }
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        sqlite3_int64 uses = sqlite3_column_int64(st, 7);
        struct invite_info inv = {
            .id = sqlite3_column_int64(st, 0),
            .domain = store_col_text(st, 1),
            .given_to = store_col_text(st, 2),
            .note = store_col_text(st, 3),
            .created_by = store_col_text(st, 4),
            .created = sqlite3_column_int64(st, 5),
            .expires = sqlite3_column_int64(st, 6),
            .uses_left = uses > 0 && uses <= INT32_MAX ? (unsigned)uses : 0,
            .revoked = sqlite3_column_int(st, 8) != 0,
            .accounts = store_col_text(st, 9),
        };
        if (inv.domain && inv.given_to && inv.created_by)
            cb(ud, &inv);
    }
    int rc = step == SQLITE_DONE ? 0 : store_db_fail(s, step, "listing invites");
    store_stmt_done(st);
    return rc;
}

int store_invite_revoke_sync(struct store *s, const uint8_t *hash, int64_t id)
{
    sqlite3_stmt *st = store_stmt(s, hash ? sql_revoke_hash : sql_revoke_id);
    if (!st)
        return -EIO;
    if (hash)
        sqlite3_bind_blob(st, 1, hash, INVITE_HASH_BYTES, SQLITE_STATIC);
    else
        sqlite3_bind_int64(st, 1, id);
    int rc = store_stmt_exec(s, st, "revoking an invite");
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = -ENOENT;
    return rc;
}

/* Finds a usable code; *id gets its row id. The errors of
 * store_invite_check_sync. */
static int invite_usable(struct store *s, const char *domain, const uint8_t *hash, int64_t now,
                         sqlite3_int64 *id)
{
    sqlite3_stmt *st = store_stmt(s, sql_find);
    if (!st)
        return -EIO;
    sqlite3_bind_blob(st, 1, hash, INVITE_HASH_BYTES, SQLITE_STATIC);
    int step = sqlite3_step(st), rc;
    if (step == SQLITE_ROW) {
        const char *d = store_col_text(st, 1);
        *id = sqlite3_column_int64(st, 0);
        if (!d || strcmp(d, domain) != 0)
            rc = -ENOENT;
        else if (sqlite3_column_int(st, 3) != 0)
            rc = -ECANCELED;
        else if (sqlite3_column_int64(st, 2) <= now)
            rc = -ETIME;
        else if (sqlite3_column_int64(st, 4) <= 0)
            rc = -EUSERS;
        else
            rc = 0;
    } else {
        rc = step == SQLITE_DONE ? -ENOENT : store_db_fail(s, step, "finding an invite");
    }
    store_stmt_done(st);
    return rc;
}

int store_invite_check_sync(struct store *s, const char *domain, const uint8_t *hash, int64_t now)
{
    sqlite3_int64 id;
    return invite_usable(s, domain, hash, now, &id);
}

int store_invite_consent_sync(struct store *s, const char *domain, const uint8_t *hash, int64_t now,
                              const char *policy_version)
{
    int rc = store_tx_begin(s);
    if (rc < 0)
        return rc;
    sqlite3_int64 id = 0;
    rc = invite_usable(s, domain, hash, now, &id);
    sqlite3_stmt *st = rc == 0 ? store_stmt(s, sql_consent_set) : NULL;
    if (rc == 0 && !st)
        rc = -EIO;
    if (st) {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, now);
        rc = bind_text(st, 3, policy_version, INVITE_POLICY_MAX, false);
        if (rc == 0)
            rc = store_stmt_exec(s, st, "recording consent on an invite");
        else
            store_stmt_done(st);
    }
    return store_tx_end(s, rc);
}

int store_invite_consent_get_sync(struct store *s, const uint8_t *hash, const char *policy_version,
                                  int64_t *at)
{
    sqlite3_stmt *st = store_stmt(s, sql_consent_get);
    if (!st)
        return -EIO;
    sqlite3_bind_blob(st, 1, hash, INVITE_HASH_BYTES, SQLITE_STATIC);
    int rc = bind_text(st, 2, policy_version, INVITE_POLICY_MAX, false);
    if (rc == 0) {
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW)
            *at = sqlite3_column_int64(st, 0);
        else
            rc = step == SQLITE_DONE ? -ENOENT
                                     : store_db_fail(s, step, "reading an invite's consent");
    }
    store_stmt_done(st);
    return rc;
}

/* ---- creating an invited account, in one transaction ---- */

/* For CONSENT_PAGE: the code's page consent, used up; *at = its time. */
static int page_consent_use(struct store *s, const struct invited_account *a, sqlite3_int64 invite,
                            int64_t *at)
{
    int rc = store_invite_consent_get_sync(s, a->hash, a->policy_version, at);
    if (rc == -ENOENT)
        return -EACCES;
    sqlite3_stmt *st = rc == 0 ? store_stmt(s, sql_consent_use) : NULL;
    if (rc == 0 && !st)
        return -EIO;
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, invite);
    return store_stmt_exec(s, st, "using an invite's consent");
}

static int invite_consume(struct store *s, const struct invited_account *a, sqlite3_int64 account,
                          sqlite3_int64 invite)
{
    int64_t consent_at = a->now;
    int rc = a->via == CONSENT_PAGE ? page_consent_use(s, a, invite, &consent_at) : 0;
    if (rc < 0)
        return rc;
    sqlite3_stmt *st = store_stmt(s, sql_use);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, invite);
    rc = store_stmt_exec(s, st, "using an invite");
    if (rc < 0)
        return rc;
    if (!(st = store_stmt(s, sql_link)))
        return -EIO;
    sqlite3_bind_int64(st, 1, account);
    sqlite3_bind_int64(st, 2, invite);
    sqlite3_bind_int64(st, 3, consent_at);
    sqlite3_bind_int(st, 5, (int)a->via);
    if (bind_text(st, 4, a->policy_version, INVITE_POLICY_MAX, false) < 0) {
        store_stmt_done(st);
        return -EINVAL;
    }
    return store_stmt_exec(s, st, "linking an account to its invite");
}

int store_account_create_invited_sync(struct store *s, const struct invited_account *a)
{
    int rc = store_tx_begin(s);
    if (rc < 0)
        return rc;
    sqlite3_int64 invite = 0, account = 0;
    rc = invite_usable(s, a->domain, a->hash, a->valid_at ? a->valid_at : a->now, &invite);
    if (rc == 0)
        rc = store_account_insert_in_tx(s, a->domain, a->user, a->creds, a->now, &account);
    if (rc == 0)
        rc = invite_consume(s, a, account, invite);
    return store_tx_end(s, rc);
}

/* Copies text into a fixed buffer, cut at cap - 1 bytes. */
static void copy_col(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strnlen(src, cap - 1) : 0;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}

int store_account_invite_info_sync(struct store *s, const char *domain, const char *user,
                                   struct account_invite *out)
{
    sqlite3_stmt *st = store_stmt(s, sql_info);
    if (!st)
        return -EIO;
    int rc = store_bind_account(st, domain, user);
    if (rc == 0) {
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW) {
            out->invite_id = sqlite3_column_int64(st, 0);
            copy_col(out->given_to, sizeof out->given_to, store_col_text(st, 1));
            out->consent_time = sqlite3_column_int64(st, 2);
            copy_col(out->policy_version, sizeof out->policy_version, store_col_text(st, 3));
            out->via = (enum consent_via)sqlite3_column_int(st, 4);
        } else {
            rc = step == SQLITE_DONE ? -ENOENT : store_db_fail(s, step, "reading an invite link");
        }
    }
    store_stmt_done(st);
    return rc;
}

static const char sql_forget_unused[] =
    "DELETE FROM invites WHERE created_by = ?1"
    " AND NOT EXISTS (SELECT 1 FROM account_invite a WHERE a.invite_id = invites.id)";
static const char sql_forget_issuer[] =
    "UPDATE invites SET created_by = 'a deleted account' WHERE created_by = ?1";

int store_invites_forget_issuer_sync(struct store *s, const char *issuer)
{
    int rc = store_tx_begin(s);
    const char *const sql[] = {sql_forget_unused, sql_forget_issuer};
    for (size_t i = 0; rc == 0 && i < 2; i++) {
        sqlite3_stmt *st = store_stmt(s, sql[i]);
        rc = st ? bind_text(st, 1, issuer, INVITE_TEXT_MAX, false) : -EIO;
        if (rc == 0)
            rc = store_stmt_exec(s, st, "forgetting an invite issuer");
        else if (st)
            store_stmt_done(st);
    }
    return store_tx_end(s, rc);
}

/* Its schema steps (store.h, struct store_migration): named by its
 * module's descriptor, applied by store_open in version order. */
const struct store_migration store_invites_migrations[] = {
    /* registration codes (P1), stored only as a keyed hash, and each
     * account's link to the code that created it with the consent time
     * and policy version (P2). The link lives as long as the account;
     * codes are revoked, never deleted, so the link always resolves. */
    {7, "CREATE TABLE invites ("
        "  id INTEGER PRIMARY KEY,"
        "  domain TEXT NOT NULL,"
        "  code_hash BLOB NOT NULL UNIQUE,"
        "  given_to TEXT NOT NULL,"
        "  note TEXT,"
        "  created INTEGER NOT NULL,"
        "  expires INTEGER NOT NULL,"
        "  uses_left INTEGER NOT NULL,"
        "  revoked INTEGER NOT NULL DEFAULT 0,"
        "  created_by TEXT NOT NULL"
        ");"
        "CREATE TABLE account_invite ("
        "  account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,"
        "  invite_id INTEGER NOT NULL REFERENCES invites(id),"
        "  consent_time INTEGER NOT NULL,"
        "  policy_version TEXT NOT NULL"
        ");"
        "CREATE INDEX account_invite_invite ON account_invite(invite_id);"},
    /* consent given on the invite's web page (P2), held on the code until
     * an account created with it uses it up; how each account's consent
     * was given (enum consent_via: 0 form, 1 page, 2 web form). */
    {10, "ALTER TABLE invites ADD COLUMN consent_time INTEGER;"
         "ALTER TABLE invites ADD COLUMN consent_policy TEXT;"
         "ALTER TABLE account_invite ADD COLUMN consent_via INTEGER NOT NULL DEFAULT 0;"},
    {0, NULL},
};
