"""Admin ad-hoc commands (XEP-0050 framework, XEP-0133 subset): what an
admin sees and runs, what everyone else is refused, and the session rules
(sessionid bound to the requester, cancel, bad actions)."""

import sqlite3
import xml.etree.ElementTree as ET

import pytest

from xmppraw import CLIENT_NS, db_path, login, new_user, q, RawXMPP, stanza_error_condition

SERVER_OPTIONS = {('server', 'admins'): '["alice@localhost"]'}

CMD_NS = 'http://jabber.org/protocol/commands'
DATA_NS = 'jabber:x:data'
ITEMS_NS = 'http://jabber.org/protocol/disco#items'
INFO_NS = 'http://jabber.org/protocol/disco#info'
ADMIN = 'http://jabber.org/protocol/admin'
LIST = ADMIN + '#get-registered-users-list'
ANNOUNCE = ADMIN + '#announce'
DELETE = ADMIN + '#delete-user'
DISABLE = ADMIN + '#disable-user'
REENABLE = ADMIN + '#reenable-user'
INVITE = 'urn:taube:admin#create-invite'

_ids = iter(range(10 ** 9))


def iq(raw, payload, typ='set'):
    return raw.iq(payload, to='localhost', typ=typ, iq_id='ah%d' % next(_ids))


def execute(raw, node, sessionid=None, action=None, form=''):
    attrs = " node='%s'" % node
    if sessionid:
        attrs += " sessionid='%s'" % sessionid
    if action:
        attrs += " action='%s'" % action
    el = iq(raw, "<command xmlns='%s'%s>%s</command>" % (CMD_NS, attrs, form))
    return el, el.find(q(CMD_NS, 'command'))


def submit(fields):
    """A submitted data form: {var: [values]}."""
    body = ''.join("<field var='%s'>%s</field>" % (var, ''.join('<value>%s</value>' % v for v in vals))
                   for var, vals in fields.items())
    return "<x xmlns='%s' type='submit'>%s</x>" % (DATA_NS, body)


def app_condition(el):
    err = el.find(q(CLIENT_NS, 'error'))
    found = [c for c in err if c.tag.startswith('{%s}' % CMD_NS)] if err is not None else []
    return found[0].tag.split('}')[1] if found else None


def command_items(raw):
    el = iq(raw, "<query xmlns='%s' node='%s'/>" % (ITEMS_NS, CMD_NS), typ='get')
    assert el.get('type') == 'result', ET.tostring(el)
    return {it.get('node'): it for it in el.find(q(ITEMS_NS, 'query'))}


def field_values(cmd, var):
    for f in cmd.iter(q(DATA_NS, 'field')):
        if f.get('var') == var:
            return [v.text or '' for v in f.findall(q(DATA_NS, 'value'))]
    return None


@pytest.fixture
def admin(server):
    raw = login(server, 'alice', 'adm')
    yield raw
    raw.close()


def test_server_advertises_commands(server, admin):
    el = iq(admin, "<query xmlns='%s'/>" % INFO_NS, typ='get')
    feats = {f.get('var') for f in el.find(q(INFO_NS, 'query')).findall(q(INFO_NS, 'feature'))}
    assert CMD_NS in feats, feats


def test_admin_lists_commands(server, admin):
    items = command_items(admin)
    assert {LIST, ANNOUNCE, DELETE, DISABLE, REENABLE, INVITE} <= set(items), sorted(items)
    assert all(it.get('jid') == 'localhost' and it.get('name') for it in items.values())
    el = iq(admin, "<query xmlns='%s' node='%s'/>" % (INFO_NS, DELETE), typ='get')
    query = el.find(q(INFO_NS, 'query'))
    ident = query.find(q(INFO_NS, 'identity'))
    assert (ident.get('category'), ident.get('type')) == ('automation', 'command-node')
    feats = {f.get('var') for f in query.findall(q(INFO_NS, 'feature'))}
    assert {CMD_NS, DATA_NS} <= feats, feats


def test_list_users(server, admin):
    el, cmd = execute(admin, LIST)
    assert el.get('type') == 'result', ET.tostring(el)
    assert cmd.get('status') == 'completed' and cmd.get('sessionid')
    users = field_values(cmd, 'registereduserjids')
    assert {'alice@localhost', 'bob@localhost', 'carol@localhost'} <= set(users), users


def test_announce_reaches_online_user(server, admin):
    bob = login(server, 'bob', 'ann', priority=0)
    el, cmd = execute(admin, ANNOUNCE)
    assert cmd.get('status') == 'executing', ET.tostring(el)
    sid = cmd.get('sessionid')
    assert cmd.find(q(CMD_NS, 'actions')).get('execute') == 'complete'
    assert field_values(cmd, 'announcement') == []
    el, cmd = execute(admin, ANNOUNCE, sid, form=submit({'announcement': ['Down at', 'noon']}))
    assert el.get('type') == 'result' and cmd.get('status') == 'completed', ET.tostring(el)
    assert cmd.get('sessionid') == sid
    msgs = [m for m in bob.collect() if m.get('from') == 'localhost']
    assert [m.findtext(q(CLIENT_NS, 'body')) for m in msgs] == ['Down at\nnoon'], msgs
    bob.close()


def test_delete_user(server, admin):
    victim = new_user(server, 'del')
    raw = login(server, victim, 'r1')
    el, cmd = execute(admin, DELETE)
    assert cmd.get('status') == 'executing', ET.tostring(el)
    el, cmd = execute(admin, DELETE, cmd.get('sessionid'),
                      form=submit({'accountjids': ['%s@localhost' % victim, 'nobody@localhost',
                                                   'x@elsewhere.example']}))
    assert el.get('type') == 'result' and cmd.get('status') == 'completed', ET.tostring(el)
    notes = [(n.get('type'), n.text) for n in cmd.findall(q(CMD_NS, 'note'))]
    assert sum(t == 'error' for t, _ in notes) == 2, notes
    assert ('info', 'Deleted 1 account.') in notes, notes
    assert raw.expect_stream_error(timeout=3) is not None
    raw.close()
    with pytest.raises(AssertionError, match='SASL'):
        RawXMPP(server.c2s_port).login(victim, server.passwords[victim])
    db = sqlite3.connect(str(db_path(server)))
    try:
        n = db.execute('SELECT count(*) FROM accounts WHERE username = ?', (victim,)).fetchone()[0]
    finally:
        db.close()
    assert n == 0
    users = field_values(execute(admin, LIST)[1], 'registereduserjids')
    assert '%s@localhost' % victim not in users


def run_on_accounts(admin, node, jids, **extra):
    _, cmd = execute(admin, node)
    assert cmd.get('status') == 'executing', ET.tostring(cmd)
    fields = {'accountjids': jids}
    fields.update(extra)
    el, cmd = execute(admin, node, cmd.get('sessionid'), form=submit(fields))
    assert el.get('type') == 'result' and cmd.get('status') == 'completed', ET.tostring(el)
    return [(n.get('type'), n.text) for n in cmd.findall(q(CMD_NS, 'note'))]


def test_disable_and_reenable(server, admin):
    user = new_user(server, 'sus')
    raw = login(server, user, 'r1')
    notes = run_on_accounts(admin, DISABLE, ['%s@localhost' % user], reason=['spam'])
    assert notes == [('info', 'Disabled 1 account.')], notes
    assert raw.expect_stream_error(timeout=3) == 'policy-violation'
    raw.close()
    with pytest.raises(AssertionError, match='SASL'):
        RawXMPP(server.c2s_port).login(user, server.passwords[user])
    assert 'spam' in server.ctl('user', 'show', '%s@localhost' % user).stdout
    notes = run_on_accounts(admin, REENABLE, ['%s@localhost' % user])
    assert notes == [('info', 'Re-enabled 1 account.')], notes
    raw = login(server, user, 'r2')
    raw.close()


def test_create_invite(server, admin):
    _, cmd = execute(admin, INVITE)
    assert cmd.get('status') == 'executing'
    assert field_values(cmd, 'for') == []
    form = submit({'for': ['Dora &lt;dora@example.org&gt;'], 'note': ['from adhoc'],
                   'expires': ['2d'], 'uses': ['2']})
    el, cmd = execute(admin, INVITE, cmd.get('sessionid'), form=form)
    assert el.get('type') == 'result' and cmd.get('status') == 'completed', ET.tostring(el)
    code = field_values(cmd, 'code')[0]
    assert field_values(cmd, 'uri') == ['xmpp:localhost?register;preauth=%s' % code]
    assert field_values(cmd, 'page') == ['https://localhost:%d/invite/%s'
                                         % (server.https_port, code)]
    assert field_values(cmd, 'uses') == ['2']
    db = sqlite3.connect(str(db_path(server)))
    try:
        rows = db.execute("SELECT given_to, note, uses_left, created_by, expires - created"
                          " FROM invites WHERE note = 'from adhoc'").fetchall()
    finally:
        db.close()
    assert rows == [('Dora <dora@example.org>', 'from adhoc', 2, 'alice@localhost', 2 * 86400)]
    # Bad input: no 'for', a bad duration, too many uses; the session survives each.
    _, cmd = execute(admin, INVITE)
    sid = cmd.get('sessionid')
    for fields in ({'note': ['x']}, {'for': ['x'], 'expires': ['soon']},
                   {'for': ['x'], 'uses': ['100000']}, {'for': ['y' * 600]}):
        el, _ = execute(admin, INVITE, sid, form=submit(fields))
        assert app_condition(el) == 'bad-payload', ET.tostring(el)
    execute(admin, INVITE, sid, action='cancel')


def test_non_admin_sees_and_runs_only_member_commands(server):
    bob = login(server, 'bob', 'na')
    assert set(command_items(bob)) == {'urn:taube:member#export', 'urn:taube:member#report'}
    for node in (LIST, ANNOUNCE, DELETE, DISABLE, REENABLE, INVITE):
        el, _ = execute(bob, node)
        assert el.get('type') == 'error' and stanza_error_condition(el) == 'forbidden', \
            ET.tostring(el)
    el = iq(bob, "<query xmlns='%s' node='%s'/>" % (INFO_NS, DELETE), typ='get')
    assert stanza_error_condition(el) == 'forbidden', ET.tostring(el)
    bob.close()


def test_cancel_ends_the_session(server, admin):
    bob = login(server, 'bob', 'cx', priority=0)
    _, cmd = execute(admin, ANNOUNCE)
    sid = cmd.get('sessionid')
    el, cmd = execute(admin, ANNOUNCE, sid, action='cancel')
    assert el.get('type') == 'result', ET.tostring(el)
    assert (cmd.get('status'), cmd.get('sessionid')) == ('canceled', sid)
    el, _ = execute(admin, ANNOUNCE, sid, form=submit({'announcement': ['too late']}))
    assert stanza_error_condition(el) == 'bad-request' and app_condition(el) == 'bad-sessionid', \
        ET.tostring(el)
    assert [m for m in bob.collect() if m.get('from') == 'localhost'] == []
    bob.close()


def test_session_belongs_to_its_requester(server, admin):
    _, cmd = execute(admin, ANNOUNCE)
    sid = cmd.get('sessionid')
    other = login(server, 'alice', 'other')
    el, _ = execute(other, ANNOUNCE, sid, form=submit({'announcement': ['hijack']}))
    assert app_condition(el) == 'bad-sessionid', ET.tostring(el)
    el, _ = execute(admin, DELETE, sid, form=submit({'accountjids': ['bob@localhost']}))
    assert app_condition(el) == 'bad-sessionid', ET.tostring(el)
    other.close()


def test_session_ends_with_the_requesters_stream(server):
    raw = login(server, 'alice', 'gone')
    _, cmd = execute(raw, ANNOUNCE)
    sid = cmd.get('sessionid')
    raw.send('</stream:stream>')
    raw.wait_eof(3)
    raw.close()
    raw = login(server, 'alice', 'gone')
    el, _ = execute(raw, ANNOUNCE, sid, form=submit({'announcement': ['late']}))
    assert app_condition(el) == 'bad-sessionid', ET.tostring(el)
    raw.close()


def test_admin_deletes_own_account(make_server):
    srv = make_server({('server', 'admins'): '["boss@localhost"]'})
    boss = 'boss'
    srv.ctl('user', 'add', 'boss@localhost', '--password', 'boss-pw-1', check=True)
    srv.passwords[boss] = 'boss-pw-1'
    raw = login(srv, boss, 'r')
    _, cmd = execute(raw, DELETE)
    execute_no_wait = "<iq type='set' id='selfdel' to='localhost'><command xmlns='%s' node='%s'" \
        " sessionid='%s'>%s</command></iq>" % (CMD_NS, DELETE, cmd.get('sessionid'),
                                              submit({'accountjids': ['boss@localhost']}))
    raw.send(execute_no_wait)
    assert raw.expect_stream_error(timeout=3) == 'not-authorized'
    raw.close()
    srv.check_clean_exit()
    db = sqlite3.connect(str(db_path(srv)))
    try:
        assert db.execute("SELECT count(*) FROM accounts WHERE username = 'boss'").fetchone()[0] == 0
    finally:
        db.close()


def test_bad_actions_and_payloads(server, admin):
    el, _ = execute(admin, ANNOUNCE, action='explode')
    assert stanza_error_condition(el) == 'bad-request' and app_condition(el) == 'malformed-action'
    el, _ = execute(admin, ANNOUNCE, action='next')
    assert app_condition(el) == 'bad-sessionid', ET.tostring(el)
    _, cmd = execute(admin, ANNOUNCE)
    sid = cmd.get('sessionid')
    el, _ = execute(admin, ANNOUNCE, sid, action='prev')
    assert app_condition(el) == 'bad-action', ET.tostring(el)
    el, _ = execute(admin, ANNOUNCE, sid, form=submit({'announcement': []}))
    assert app_condition(el) == 'bad-payload', ET.tostring(el)
    el, _ = execute(admin, ANNOUNCE, sid, form=submit({'announcement': ['x' * 20000]}))
    assert app_condition(el) == 'bad-payload', ET.tostring(el)
    el, cmd = execute(admin, ANNOUNCE, sid, action='cancel')
    assert cmd.get('status') == 'canceled', ET.tostring(el)


def test_unknown_node(server, admin):
    el, _ = execute(admin, ADMIN + '#no-such-command')
    assert el.get('type') == 'error' and stanza_error_condition(el) == 'item-not-found'
    el = iq(admin, "<query xmlns='%s' node='urn:nope'/>" % INFO_NS, typ='get')
    assert stanza_error_condition(el) == 'item-not-found', ET.tostring(el)
    el = iq(admin, "<query xmlns='%s' node='urn:nope'/>" % ITEMS_NS, typ='get')
    assert stanza_error_condition(el) == 'item-not-found', ET.tostring(el)


def test_deleted_admin_is_forgotten_by_the_invites_it_issued(make_server):
    """P18 for an admin: deleting the account deletes the codes it issued
    that created nobody, and the codes that did create an account (P1
    keeps that link) no longer name the issuer."""
    from test_register import register, tls_stream
    srv = make_server({('server', 'admins'): '["chief@localhost"]'})
    srv.ctl('user', 'add', 'chief@localhost', '--password', 'chief-pw-1', check=True)
    srv.passwords['chief'] = 'chief-pw-1'
    raw = login(srv, 'chief', 'r')
    codes = []
    with raw:
        for who in ('Used Person', 'Unused Person'):
            _, cmd = execute(raw, INVITE)
            _, cmd = execute(raw, INVITE, cmd.get('sessionid'), form=submit({'for': [who]}))
            codes.append(field_values(cmd, 'code')[0])
    reg, _ = tls_stream(srv)
    with reg:
        el = register(reg, username='newbie', password='newbie password',
                                   token=codes[0])
        assert el.get("type") == "result", ET.tostring(el)
    srv.ctl('user', 'delete', 'chief@localhost', check=True)
    db = sqlite3.connect(str(db_path(srv)))
    try:
        rows = db.execute('SELECT given_to, created_by FROM invites ORDER BY id').fetchall()
    finally:
        db.close()
    assert rows == [('Used Person', 'a deleted account')], rows
