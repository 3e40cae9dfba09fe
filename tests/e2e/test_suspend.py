"""Operator actions on a running server (P21, P22): `taubectl user suspend`
ends the account's sessions at once with a stream error and refuses new
logins with the SASL failure <account-disabled/> while its data stays;
`user unsuspend` lets it in again with its data intact; `user delete`
while the account is online ends its sessions, erases its rows and tells
its contacts; `user show` prints what the store knows.
"""

import sqlite3
import time

from xmppraw import (CLIENT_NS, STREAM_NS, db_path, login, new_user, q, RawXMPP, sasl_auth,
                     stream_error_condition)

VCARD = "<vCard xmlns='vcard-temp'><FN>Suspended Sam</FN><NICKNAME>sam</NICKNAME></vCard>"
ROSTER_NS = 'jabber:iq:roster'
STREAMS_ERR_NS = 'urn:ietf:params:xml:ns:xmpp-streams'


def attempt_login(server, user, password=None):
    """One SASL PLAIN attempt over STARTTLS: ('success'|'failure', detail)."""
    raw = RawXMPP(server.c2s_port)
    try:
        raw.open_stream()
        raw.features()
        raw.starttls()
        return sasl_auth(raw, 'PLAIN', user, password or server.passwords[user])
    finally:
        raw.close()


def stream_error(raw, timeout=5.0):
    """The next stream error on raw (skipping stanzas): (condition, text)."""
    deadline = time.monotonic() + timeout
    while True:
        el = raw.next_element(timeout=max(0.1, deadline - time.monotonic()))
        if el.tag == q(STREAM_NS, 'error'):
            return stream_error_condition(el), el.findtext(q(STREAMS_ERR_NS, 'text'))


def show(server, user):
    p = server.ctl('user', 'show', server.jid(user), check=True)
    return dict(line.split(': ', 1) for line in p.stdout.splitlines() if ': ' in line)


def set_vcard(raw):
    el = raw.iq(VCARD, typ='set', iq_id='vc-set')
    assert el.get('type') == 'result'


def get_vcard(raw):
    el = raw.iq("<vCard xmlns='vcard-temp'/>", typ='get', iq_id='vc-get')
    assert el.get('type') == 'result'
    return el.findtext('{vcard-temp}vCard/{vcard-temp}FN')


def add_contact(raw, jid):
    el = raw.iq("<query xmlns='%s'><item jid='%s' name='friend'/></query>" % (ROSTER_NS, jid),
                typ='set', iq_id='ro-set')
    assert el.get('type') == 'result'


def roster_jids(raw):
    el = raw.iq("<query xmlns='%s'/>" % ROSTER_NS, iq_id='ro-get')
    return sorted(i.get('jid') for i in el.iter('{%s}item' % ROSTER_NS))


def rows_of(server, user):
    """Every row that references the account, table by table (non-empty)."""
    db = sqlite3.connect(str(db_path(server)))
    try:
        ids = [r[0] for r in db.execute('SELECT id FROM accounts WHERE username = ?', (user,))]
        found = {'accounts': len(ids)} if ids else {}
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for t in tables:
            cols = [c[1] for c in db.execute('PRAGMA table_info(%s)' % t)]
            if 'account_id' in cols and ids:
                n = db.execute('SELECT count(*) FROM %s WHERE account_id IN (%s)'
                               % (t, ','.join('?' * len(ids))), ids).fetchone()[0]
                if n:
                    found[t] = n
            # roster_changes keeps the JID in the contacts' change logs (a
            # removal a versioned roster get must still report): not checked.
            if 'jid' in cols and t != 'roster_changes':
                n = db.execute('SELECT count(*) FROM %s WHERE jid = ?' % t,
                               ('%s@localhost' % user,)).fetchone()[0]
                if n:
                    found[t + '.jid'] = n
        return found
    finally:
        db.close()


def test_suspend_kicks_blocks_and_unsuspend_restores(server):
    user = new_user(server, 'susp')
    raw = login(server, user, 'desk', priority=0)
    set_vcard(raw)
    add_contact(raw, server.jid('alice'))
    p = server.ctl('user', 'suspend', server.jid(user), '--reason', 'spam reports, ticket 42')
    assert p.returncode == 0, p.stderr
    assert 'not running' not in p.stdout, 'the running server was not told: %s' % p.stdout
    # RFC 6120 4.9.3.14: the operator's local policy ended the stream.
    assert stream_error(raw) == ('policy-violation', 'Account suspended')
    raw.assert_closed_after_error()
    raw.close()

    assert attempt_login(server, user) == ('failure', 'account-disabled')
    # A wrong password still says not-authorized: the suspension is only
    # revealed to someone who knows the password.
    assert attempt_login(server, user, 'wrong-password') == ('failure', 'not-authorized')
    info = show(server, user)
    assert info['suspended'] == 'yes', info
    assert info['suspended_reason'] == 'spam reports, ticket 42', info
    assert info['last_login'] != 'never', info

    p = server.ctl('user', 'unsuspend', server.jid(user))
    assert p.returncode == 0, p.stderr
    assert show(server, user)['suspended'] == 'no'
    raw = login(server, user, 'again')
    try:
        assert get_vcard(raw) == 'Suspended Sam'
        assert roster_jids(raw) == [server.jid('alice')]
    finally:
        raw.close()


def test_suspend_ends_every_resource_and_spares_others(server):
    user = new_user(server, 'susp')
    a = login(server, user, 'one', priority=0)
    b = login(server, user, 'two', priority=0)
    watcher = login(server, 'bob', 'watch', priority=0)
    try:
        server.ctl('user', 'suspend', server.jid(user), '--reason', 'x', check=True)
        assert stream_error(a)[0] == 'policy-violation'
        assert stream_error(b)[0] == 'policy-violation'
        watcher.sync()  # another account's session is untouched
    finally:
        for r in (a, b, watcher):
            r.close()
        server.ctl('user', 'unsuspend', server.jid(user), check=True)


def test_suspend_with_slixmpp_client(server, xmpp):
    user = new_user(server, 'slx')

    async def scenario():
        c = await xmpp.client(server, user)
        server.ctl('user', 'suspend', server.jid(user), '--reason', 'abuse', check=True)
        for _ in range(100):
            if c.stream_errors:
                break
            await __import__('asyncio').sleep(0.05)
        assert c.stream_errors == ['policy-violation']
        _, result = await xmpp.client(server, user, resource='later', expect_failure=True)
        assert result == 'failed_auth'
    xmpp.run(scenario)


def test_suspend_refusals(server):
    user = new_user(server, 'susp')
    p = server.ctl('user', 'suspend', server.jid(user))
    assert p.returncode == 2 and '--reason' in p.stderr
    p = server.ctl('user', 'suspend', 'nobody-here@localhost', '--reason', 'x')
    assert p.returncode == 1 and 'no such account' in p.stderr
    p = server.ctl('user', 'suspend', server.jid(user), '--reason', 'x' * 1001)
    assert p.returncode == 1
    p = server.ctl('user', 'suspend', server.jid(user), '--reason', 'two\nlines')
    assert p.returncode == 1
    assert show(server, user)['suspended'] == 'no'
    p = server.ctl('user', 'show', 'nobody-here@localhost')
    assert p.returncode == 1 and 'no account' in p.stderr


def test_delete_while_online(server):
    user = new_user(server, 'del')
    raw = login(server, user, 'desk', priority=0)
    set_vcard(raw)
    add_contact(raw, server.jid('bob'))
    bob = login(server, 'bob', 'rost', priority=0)
    try:
        roster_jids(bob)  # bob becomes an interested resource: it gets pushes
        add_contact(bob, server.jid(user))
        assert rows_of(server, user), 'the account has no rows to delete'
        p = server.ctl('user', 'delete', server.jid(user))
        assert p.returncode == 0, p.stderr
        assert 'not running' not in p.stdout
        assert stream_error(raw) == ('not-authorized', 'Account deleted')
        # The server erased it live: bob's interested resource hears the
        # roster removal (RFC 6121 2.1.6 push with subscription='remove').
        deadline = time.monotonic() + 5
        removed = False
        while not removed and time.monotonic() < deadline:
            el = bob.next_element(timeout=deadline - time.monotonic())
            item = el.find('{%s}query/{%s}item' % (ROSTER_NS, ROSTER_NS))
            removed = (el.tag == q(CLIENT_NS, 'iq') and item is not None
                       and item.get('jid') == server.jid(user)
                       and item.get('subscription') == 'remove')
        assert removed, 'no roster push removing the deleted account'
        assert server.jid(user) not in roster_jids(bob)
    finally:
        raw.close()
        bob.close()
    assert rows_of(server, user) == {}
    assert attempt_login(server, user) == ('failure', 'not-authorized')
