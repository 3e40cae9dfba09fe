/* Importing whole accounts: see import.h. Plain inserts into the areas'
 * tables inside one transaction (the areas' own functions each commit,
 * and SQLite transactions do not nest). A key given twice in a file (a
 * contact, a private element) keeps the last one, as the area would if a
 * client set it twice; a JID blocked twice is blocked once. */
#include "store/import.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "store/sqlite_internal.h"

static const char SQL_CONTACT[] =
    "INSERT OR REPLACE INTO roster_items (account_id, jid, name, flags, groups, status, ver)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1)";
static const char SQL_ROSTER_VER[] =
    "INSERT INTO roster_versions (account_id, ver, log_floor) VALUES (?1, 1, 1)";
static const char SQL_VCARD[] =
    "INSERT INTO vcards (account_id, xml, photo_hash) VALUES (?1, ?2, ?3)";
static const char SQL_PRIVATE[] =
    "INSERT OR REPLACE INTO private_xml (account_id, ns, name, xml) VALUES (?1, ?2, ?3, ?4)";
static const char SQL_OFFLINE[] =
    "INSERT INTO offline_messages (account_id, stamp, xml) VALUES (?1, ?2, ?3)";
static const char SQL_BLOCKED[] =
    "INSERT OR IGNORE INTO blocklist (account_id, jid) VALUES (?1, ?2)";

/* Binds text (NULL as NULL) with an explicit length. */
static void bind_text(sqlite3_stmt *st, int i, const char *v, size_t len)
{
    if (v && len <= INT_MAX)
        sqlite3_bind_text(st, i, v, (int)len, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static void bind_str(sqlite3_stmt *st, int i, const char *v)
{
    bind_text(st, i, v, v ? strlen(v) : 0);
}

static int run(struct store *s, sqlite3_stmt *st, const char *what)
{
    return store_stmt_exec(s, st, what);
}

static int put_contacts(struct store *s, sqlite3_int64 id, const struct import_account *a)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < a->ncontacts; i++) {
        const struct import_contact *c = &a->contacts[i];
        sqlite3_stmt *st = store_stmt(s, SQL_CONTACT);
        if (!st)
            return -EIO;
        sqlite3_bind_int64(st, 1, id);
        bind_str(st, 2, c->jid);
        bind_str(st, 3, c->name);
        sqlite3_bind_int(st, 4, (int)c->flags);
        bind_str(st, 5, c->groups ? c->groups : "");
        bind_str(st, 6, c->status);
        rc = run(s, st, "importing a roster item");
    }
    sqlite3_stmt *st = rc == 0 && a->ncontacts ? store_stmt(s, SQL_ROSTER_VER) : NULL;
    if (rc == 0 && a->ncontacts && !st)
        return -EIO;
    if (st) {
        sqlite3_bind_int64(st, 1, id);
        rc = run(s, st, "importing a roster version");
    }
    return rc;
}

static int put_vcard(struct store *s, sqlite3_int64 id, const struct import_account *a)
{
    if (!a->vcard)
        return 0;
    sqlite3_stmt *st = store_stmt(s, SQL_VCARD);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, id);
    bind_text(st, 2, a->vcard, a->vcard_len);
    bind_str(st, 3, a->photo_hash && a->photo_hash[0] ? a->photo_hash : NULL);
    return run(s, st, "importing a vCard");
}

static int put_private(struct store *s, sqlite3_int64 id, const struct import_account *a)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < a->npriv; i++) {
        sqlite3_stmt *st = store_stmt(s, SQL_PRIVATE);
        if (!st)
            return -EIO;
        sqlite3_bind_int64(st, 1, id);
        bind_str(st, 2, a->priv[i].ns);
        bind_str(st, 3, a->priv[i].name);
        bind_text(st, 4, a->priv[i].xml, a->priv[i].len);
        rc = run(s, st, "importing private XML");
    }
    return rc;
}

static int put_offline(struct store *s, sqlite3_int64 id, const struct import_account *a)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < a->noffline; i++) {
        sqlite3_stmt *st = store_stmt(s, SQL_OFFLINE);
        if (!st)
            return -EIO;
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, a->offline[i].stamp);
        bind_text(st, 3, a->offline[i].xml, a->offline[i].len);
        rc = run(s, st, "importing an offline message");
    }
    return rc;
}

static int put_blocked(struct store *s, sqlite3_int64 id, const struct import_account *a)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < a->nblocked; i++) {
        sqlite3_stmt *st = store_stmt(s, SQL_BLOCKED);
        if (!st)
            return -EIO;
        sqlite3_bind_int64(st, 1, id);
        bind_str(st, 2, a->blocked[i]);
        rc = run(s, st, "importing a blocked JID");
    }
    return rc;
}

int store_import_account_sync(struct store *s, const struct import_account *a, int64_t now)
{
    int rc = store_tx_begin(s);
    if (rc < 0)
        return rc;
    sqlite3_int64 id = 0;
    rc = store_account_insert_in_tx(s, a->domain, a->user, &a->creds, now, &id);
    if (rc == 0)
        rc = put_contacts(s, id, a);
    if (rc == 0)
        rc = put_vcard(s, id, a);
    if (rc == 0)
        rc = put_private(s, id, a);
    if (rc == 0)
        rc = put_offline(s, id, a);
    if (rc == 0)
        rc = put_blocked(s, id, a);
    return store_tx_end(s, rc);
}
