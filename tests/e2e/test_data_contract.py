"""The data contract (DESIGN.md; promise P18): deleting an account with
`taubectl user delete` removes every row of the account in every table,
and removes the user from other local users' rosters."""

import sqlite3
from xmppraw import db_path, login, new_user, send_msg, subscribe_both


def tables_with_account_rows(db, account_id):
    """Every table with an account_id column that still has rows of it."""
    left = {}
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
        cols = [r[1] for r in db.execute("PRAGMA table_info(%s)" % name)]
        if 'account_id' in cols:
            n = db.execute('SELECT count(*) FROM %s WHERE account_id = ?' % name,
                           (account_id,)).fetchone()[0]
            if n:
                left[name] = n
    return left


def test_delete_removes_every_row_and_roster_items(server):
    gone, friend = new_user(server, 'gone'), new_user(server, 'friend')
    g, f = login(server, gone, 'g'), login(server, friend, 'f')
    try:
        g.interested()
        f.interested()
        subscribe_both(g, f)  # roster items on both sides
        g.iq("<vCard xmlns='vcard-temp'><FN>Gone</FN></vCard>", typ='set', iq_id='v')
        g.iq("<query xmlns='jabber:iq:private'><n xmlns='urn:example:n'>x</n></query>",
              typ='set', iq_id='p')
        g.iq("<block xmlns='urn:xmpp:blocking'><item jid='spam@localhost'>"
                 "<report xmlns='urn:xmpp:reporting:1' reason='urn:xmpp:reporting:spam'>"
                 "<text>spam</text></report></item></block>", typ='set', iq_id='b')
    finally:
        g.close()
        f.close()
    # An offline message for the account, and its last logout recorded.
    sender = login(server, friend, 'f2', priority=0)
    with sender:
        send_msg(sender, '%s@localhost' % gone, 'chat', 'while you were away', mid='o1')
        sender.sync()
    db = sqlite3.connect(str(db_path(server)))
    try:
        (account_id,) = db.execute('SELECT id FROM accounts WHERE username = ?',
                                   (gone,)).fetchone()
        before = tables_with_account_rows(db, account_id)
        # The test sees the rows it is about to require gone.
        assert db.execute('SELECT count(*) FROM roster_changes WHERE jid = ?',
                          ('%s@localhost' % gone,)).fetchone()[0] > 0
        for table in ('scram_creds', 'roster_items', 'vcards', 'private_xml', 'blocklist',
                      'offline_messages', 'last_activity', 'reports'):
            assert table in before, (table, before)
    finally:
        db.close()

    p = server.ctl('user', 'delete', '%s@localhost' % gone)
    assert p.returncode == 0, p.stderr

    db = sqlite3.connect(str(db_path(server)))
    try:
        assert db.execute('SELECT count(*) FROM accounts WHERE username = ?',
                          (gone,)).fetchone()[0] == 0
        assert tables_with_account_rows(db, account_id) == {}
        for table in ('roster_items', 'roster_changes'):
            assert db.execute('SELECT count(*) FROM %s WHERE jid = ?' % table,
                              ('%s@localhost' % gone,)).fetchone()[0] == 0, table
    finally:
        db.close()
