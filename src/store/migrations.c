/* The store's own schema steps, and putting a build's steps in order.
 * Append only: a step that has shipped is never edited, because
 * databases in the field already ran it.
 *
 * How a module adds its data: its store area (sqlite_NAME.c) declares a
 * step list with the next free version that creates its tables with
 *     account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE
 * and its module's descriptor names the list (.migrations), so that
 * store_account_delete_sync removes the module's rows with the account
 * (promise P18) without the store knowing about the module. Index every
 * account_id column: SQLite does not index foreign keys by itself, and a
 * cascade would scan the whole table otherwise.
 *
 * Versions so far: 1 accounts (here), 2 offline, 3 blocking, 4 vcard
 * (with private and last), 5 roster, 6 retention, 7 invites, 8
 * suspension (here), 9 reports.
 */
#include "store/migrations.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static const struct store_migration core_migrations[] = {
    /* accounts, their SCRAM credentials (P4: only salt, iteration count,
     * StoredKey and ServerKey), the server secret. last_login is P11. */
    {1, "CREATE TABLE accounts ("
        "  id INTEGER PRIMARY KEY,"
        "  domain TEXT NOT NULL,"
        "  username TEXT NOT NULL,"
        "  created INTEGER NOT NULL,"
        "  last_login INTEGER,"
        "  suspended INTEGER NOT NULL DEFAULT 0,"
        "  UNIQUE (domain, username)"
        ");"
    /* hash is enum scram_hash (0 SHA-1, 1 SHA-256): those values are
     * therefore frozen. */
        "CREATE TABLE scram_creds ("
        "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
        "  hash INTEGER NOT NULL,"
        "  salt BLOB NOT NULL,"
        "  iterations INTEGER NOT NULL,"
        "  stored_key BLOB NOT NULL,"
        "  server_key BLOB NOT NULL,"
        "  PRIMARY KEY (account_id, hash)"
        ") WITHOUT ROWID;"
        "CREATE TABLE server_secret ("
        "  id INTEGER PRIMARY KEY CHECK (id = 1),"
        "  secret BLOB NOT NULL CHECK (length(secret) = 32)"
        ");"},
    /* suspension (P21, P22): why and when the operator suspended the
     * account (accounts.suspended is the flag logins check). In
     * parentheses: clang warns about two adjacent literals in an array. */
    {8, ("ALTER TABLE accounts ADD COLUMN suspended_reason TEXT;"
         "ALTER TABLE accounts ADD COLUMN suspended_at INTEGER;")},
    {0, NULL},
};

void store_schema_core(struct store_schema *s)
{
    s->parts[0] = core_migrations;
    s->n = 1;
}

int store_schema_add(struct store_schema *s, const struct store_migration *steps)
{
    if (s->n == STORE_MAX_PARTS)
        return -E2BIG;
    s->parts[s->n++] = steps;
    return 0;
}

/* Sets *err to "schema step V is WHAT" and returns -EINVAL. */
static int order_error(char **err, int v, const char *what)
{
    if (err && asprintf(err, "schema step %d is %s", v, what) < 0)
        *err = NULL;
    return -EINVAL;
}

int store_migrations_order(const struct store_schema *schema, const char **sql, size_t max,
                           size_t *n, char **err)
{
    size_t top = 0;
    for (size_t i = 0; i < max; i++)
        sql[i] = NULL;
    for (size_t p = 0; p < schema->n; p++) {
        for (const struct store_migration *m = schema->parts[p]; m->sql; m++) {
            if (m->version < 1 || (size_t)m->version > max)
                return order_error(err, m->version, "out of range");
            if (sql[m->version - 1])
                return order_error(err, m->version, "declared twice");
            sql[m->version - 1] = m->sql;
            top = (size_t)m->version > top ? (size_t)m->version : top;
        }
    }
    for (size_t i = 0; i < top; i++)
        if (!sql[i])
            return order_error(err, (int)i + 1, "missing");
    *n = top;
    return 0;
}
