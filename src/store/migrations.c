/* The ordered list of schema steps. Append only: a step that has shipped is
 * never edited, because databases in the field already ran it.
 *
 * How a module adds its data: append a step that creates its tables with
 *     account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE
 * so that store_account_delete_sync removes the module's rows with the
 * account (promise P18) without the store knowing about the module.
 * Index every account_id column: SQLite does not index foreign keys by
 * itself, and a cascade would scan the whole table otherwise.
 */
#include "store/migrations.h"

const char *const store_migrations[] = {
    /* 1: accounts, their SCRAM credentials (P4: only salt, iteration count,
     * StoredKey and ServerKey), the server secret. last_login is P11. */
    "CREATE TABLE accounts ("
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
    ");",
    /* 2: offline messages (XEP-0160, P7): the serialized stanza, in
     * arrival order (id), kept until delivered. */
    "CREATE TABLE offline_messages ("
    "  id INTEGER PRIMARY KEY,"
    "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
    "  stamp INTEGER NOT NULL,"
    "  xml TEXT NOT NULL"
    ");"
    "CREATE INDEX offline_messages_account ON offline_messages(account_id, id);",
    /* 3: block lists (XEP-0191, P22): prepared JIDs; the primary key
     * indexes account_id. */
    "CREATE TABLE blocklist ("
    "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
    "  jid TEXT NOT NULL,"
    "  PRIMARY KEY (account_id, jid)"
    ") WITHOUT ROWID;",
    /* 4: vCards (XEP-0054, P13: as given, with the photo's SHA-1 for
     * XEP-0153), private XML (XEP-0049, keyed by namespace and element
     * name) and last activity (XEP-0012, P11: the last logout). The
     * primary keys start with account_id and so index it. */
    "CREATE TABLE vcards ("
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
    ");",
    /* 5: rosters (RFC 6121 §2, P5). One row per contact: a roster item
     * (flags bit 32) and/or a pending inbound subscription request (bit 8,
     * with the request's status text). flags: 1 to, 2 from, 4 ask
     * (pending out), 8 pending in, 16 approved, 32 in the roster. groups
     * are joined with U+001F, which XML text cannot hold. ver: the
     * account's roster version when the item last changed. Versions and a
     * bounded change log per account serve versioned roster gets; jid is
     * indexed so that a deleted account leaves no item in other rosters. */
    "CREATE TABLE roster_items ("
    "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
    "  jid TEXT NOT NULL,"
    "  name TEXT,"
    "  flags INTEGER NOT NULL,"
    "  groups TEXT NOT NULL DEFAULT '',"
    "  status TEXT,"
    "  ver INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (account_id, jid)"
    ") WITHOUT ROWID;"
    "CREATE INDEX roster_items_jid ON roster_items(jid);"
    "CREATE TABLE roster_versions ("
    "  account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,"
    "  ver INTEGER NOT NULL,"
    "  log_floor INTEGER NOT NULL"
    ");"
    "CREATE TABLE roster_changes ("
    "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
    "  ver INTEGER NOT NULL,"
    "  jid TEXT NOT NULL,"
    "  PRIMARY KEY (account_id, ver)"
    ") WITHOUT ROWID;",
    /* 6: inactivity warnings (P12): when the account was warned that it will
     * be deleted for want of use; one per account. A login (any update of
     * accounts.last_login) removes it, so the next inactive period is
     * warned about again. The primary key indexes account_id. */
    "CREATE TABLE retention_warnings ("
    "  account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,"
    "  warned_at INTEGER NOT NULL"
    ");"
    "CREATE TRIGGER retention_warnings_login AFTER UPDATE OF last_login ON accounts"
    "  BEGIN DELETE FROM retention_warnings WHERE account_id = NEW.id; END;",
    /* 7: registration codes (P1), stored only as a keyed hash, and each
     * account's link to the code that created it with the consent time
     * and policy version (P2). The link lives as long as the account;
     * codes are revoked, never deleted, so the link always resolves. */
    "CREATE TABLE invites ("
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
    "CREATE INDEX account_invite_invite ON account_invite(invite_id);",
    /* 8: suspension (P21, P22): why and when the operator suspended the
     * account (accounts.suspended is the flag logins check). In
     * parentheses: clang warns about two adjacent literals in an array. */
    ("ALTER TABLE accounts ADD COLUMN suspended_reason TEXT;"
     "ALTER TABLE accounts ADD COLUMN suspended_at INTEGER;"),
    /* 9: spam and abuse reports (XEP-0377, P22) sent with a block, kept
     * for the operator. account_id is the reporter: the account's erase
     * (modules/reports.c) either deletes its reports or, if the operator
     * keeps them (reports.keep_after_reporter_deleted), sets it to NULL,
     * "reported by a deleted account"; the cascade is the safe default
     * for any other path. jid is the reported JID as blocked (prepared),
     * jid_bare its bare form (local@domain or domain), indexed so that
     * reports about a deleted local account go with it. reason is
     * 'spam', 'abuse' or the reason URN the client gave; text, msg_ids
     * (one "by<TAB>id" line per XEP-0359 reference) and msg_text only if
     * the client sent them. */
    "CREATE TABLE reports ("
    "  id INTEGER PRIMARY KEY,"
    "  account_id INTEGER REFERENCES accounts(id) ON DELETE CASCADE,"
    "  jid TEXT NOT NULL,"
    "  jid_bare TEXT NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  text TEXT,"
    "  msg_ids TEXT,"
    "  msg_text TEXT,"
    "  created INTEGER NOT NULL"
    ");"
    "CREATE INDEX reports_account ON reports(account_id, created);"
    "CREATE INDEX reports_jid_bare ON reports(jid_bare);"
    "CREATE INDEX reports_created ON reports(created);",
};

const size_t store_nmigrations = sizeof store_migrations / sizeof store_migrations[0];
