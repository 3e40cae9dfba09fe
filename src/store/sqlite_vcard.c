/* vCards in SQLite (see vcard.h); the table is made by its schema step below. */
#include "store/vcard.h"

#include <errno.h>
#include <string.h>

#include "store/sqlite_internal.h"

static const char SQL_GET[] =
    "SELECT v.xml, v.photo_hash FROM vcards v JOIN accounts a ON a.id = v.account_id"
    " WHERE a.domain = ?1 AND a.username = ?2";
static const char SQL_SET[] =
    "INSERT INTO vcards (account_id, xml, photo_hash)"
    " SELECT id, ?3, ?4 FROM accounts WHERE domain = ?1 AND username = ?2"
    " ON CONFLICT (account_id) DO UPDATE SET xml = excluded.xml, photo_hash = excluded.photo_hash";
static const char SQL_DELETE[] = "DELETE FROM vcards WHERE account_id ="
                                 " (SELECT id FROM accounts WHERE domain = ?1 AND username = ?2)";

/* Copies a stored hash: anything but 40 hex digits reads as no photo. */
static void copy_hash(sqlite3_stmt *st, int col, char hash[VCARD_HASH_LEN + 1])
{
    const unsigned char *h = sqlite3_column_text(st, col);
    hash[0] = '\0';
    if (h && sqlite3_column_bytes(st, col) == VCARD_HASH_LEN &&
        strspn((const char *)h, "0123456789abcdef") == VCARD_HASH_LEN)
        memcpy(hash, h, VCARD_HASH_LEN + 1);
}

/* Runs the read query; with xml NULL only the hash is copied. */
static int vcard_read(struct store *s, const char *domain, const char *user, struct buf *xml,
                      char hash[VCARD_HASH_LEN + 1])
{
    sqlite3_stmt *st;
    int rc = store_stmt_account(s, SQL_GET, domain, user, &st);
    if (rc < 0)
        return rc;
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        copy_hash(st, 1, hash);
        if (xml)
            rc = buf_append(xml, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
    } else {
        rc = step == SQLITE_DONE ? -ENOENT : store_db_fail(s, step, "reading a vCard");
    }
    store_stmt_done(st);
    return rc;
}

int store_vcard_get(struct store *s, const char *domain, const char *user, struct buf *xml,
                    char hash[VCARD_HASH_LEN + 1])
{
    return vcard_read(s, domain, user, xml, hash);
}

int store_vcard_photo_hash(struct store *s, const char *domain, const char *user,
                           char hash[VCARD_HASH_LEN + 1])
{
    return vcard_read(s, domain, user, NULL, hash);
}

int store_vcard_set(struct store *s, const char *domain, const char *user, const char *xml,
                    size_t len, const char *hash)
{
    if (hash && *hash &&
        (strlen(hash) != VCARD_HASH_LEN || strspn(hash, "0123456789abcdef") != VCARD_HASH_LEN))
        return -EINVAL;
    if (len > (size_t)INT32_MAX)
        return -EINVAL;
    sqlite3_stmt *st;
    int rc = store_stmt_account(s, SQL_SET, domain, user, &st);
    if (rc < 0)
        return rc;
    if (sqlite3_bind_text(st, 3, xml, (int)len, SQLITE_STATIC) != SQLITE_OK ||
        (hash && *hash && sqlite3_bind_text(st, 4, hash, -1, SQLITE_STATIC) != SQLITE_OK)) {
        store_stmt_done(st);
        return -ENOMEM;
    }
    rc = store_stmt_exec(s, st, "storing a vCard");
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = -ENOENT;
    return rc;
}

int store_vcard_delete(struct store *s, const char *domain, const char *user)
{
    return store_exec_account(s, SQL_DELETE, domain, user, "deleting a vCard");
}

/* Its schema steps (store.h, struct store_migration): named by its
 * module's descriptor, applied by store_open in version order.
 * Step 4 shipped making the tables of vcard, private and last at once
 * (private_xml, last_activity): it stays one step, declared here */
const struct store_migration store_vcard_migrations[] = {
    /* vCards (XEP-0054, P13: as given, with the photo's SHA-1 for
     * XEP-0153), private XML (XEP-0049, keyed by namespace and element
     * name) and last activity (XEP-0012, P11: the last logout). The
     * primary keys start with account_id and so index it. */
    {4, "CREATE TABLE vcards ("
        "  account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,"
        "  xml TEXT NOT NULL,"
        "  photo_hash TEXT"
        ");"
        "CREATE TABLE private_xml ("
        "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
        "  ns TEXT NOT NULL,"
        "  name TEXT NOT NULL,"
        "  xml TEXT NOT NULL,"
        "  PRIMARY KEY (account_id, ns, name)"
        ") WITHOUT ROWID;"
        "CREATE TABLE last_activity ("
        "  account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,"
        "  logout INTEGER NOT NULL,"
        "  status TEXT"
        ");"},
    {0, NULL},
};
