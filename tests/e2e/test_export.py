"""Promises P19 and P20 through the product paths: `taubectl user
export` (XEP-0227) checked element by element against what the account
really has, `taubectl user report` in English and German, the member's
own ad-hoc commands "Export my data" and "What do you store about me?"
(slixmpp's xep_0050), and the refusals."""

import base64
import os
import sqlite3
import stat
import time
import xml.etree.ElementTree as ET

import pytest

from xmppraw import CLIENT_NS, db_path, login, new_user, q, send_msg

PIE = 'urn:xmpp:pie:0'
SCRAM = 'urn:xmpp:pie:0#scram'
ROSTER = 'jabber:iq:roster'
VCARD = 'vcard-temp'
PRIVATE = 'jabber:iq:private'
PRIVACY = 'jabber:iq:privacy'
CMD_NS = 'http://jabber.org/protocol/commands'
DATA_NS = 'jabber:x:data'
EXPORT = 'urn:taube:member#export'
REPORT = 'urn:taube:member#report'


def fill(server):
    """A fresh account with one of everything; returns (user, friend)."""
    user, friend = new_user(server, 'exp'), new_user(server, 'fr')
    raw = login(server, user, 'r')
    try:
        for i, payload in enumerate((
                "<query xmlns='%s'><item jid='%s@localhost' name='Fr &amp; co'>"
                "<group>Friends</group></item></query>" % (ROSTER, friend),
                "<vCard xmlns='%s'><FN>Ex Porter</FN><NICKNAME>ex</NICKNAME></vCard>" % VCARD,
                "<query xmlns='%s'><prefs xmlns='urn:example:prefs'>dark &lt;3</prefs></query>"
                % PRIVATE,
                "<block xmlns='urn:xmpp:blocking'><item jid='spam@example.net'/></block>")):
            el = raw.iq(payload, typ='set', iq_id='f%d' % i)
            assert el.get('type') == 'result', ET.tostring(el)
    finally:
        raw.close()
    sender = login(server, friend, 's')
    with sender:
        send_msg(sender, '%s@localhost' % user, 'chat', 'while you were away', mid='o1')
        sender.send("<presence to='%s@localhost' type='subscribe'/>" % user)
        sender.sync()
    return user, friend


def export(server, user, *extra):
    p = server.ctl('user', 'export', '%s@localhost' % user, *extra)
    assert p.returncode == 0, p.stderr
    return p.stdout


def user_element(text):
    root = ET.fromstring(text.encode())
    assert root.tag == q(PIE, 'server-data')
    hosts = root.findall(q(PIE, 'host'))
    assert [h.get('jid') for h in hosts] == ['localhost']
    users = hosts[0].findall(q(PIE, 'user'))
    assert len(users) == 1
    return users[0]


def db_rows(server, sql, *args):
    db = sqlite3.connect(str(db_path(server)))
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def test_export_holds_everything_the_account_has(server):
    user, friend = fill(server)
    u = user_element(export(server, user))
    assert u.get('name') == user and u.get('password') is None

    # SCRAM credentials, byte for byte as stored (no plaintext anywhere).
    creds = {c.get('mechanism'): c for c in u.findall(q(SCRAM, 'scram-credentials'))}
    assert set(creds) == {'SCRAM-SHA-1', 'SCRAM-SHA-256'}
    stored = db_rows(server, 'SELECT hash, salt, iterations, stored_key, server_key FROM '
                     'scram_creds c JOIN accounts a ON a.id = c.account_id WHERE a.username = ?',
                     user)
    assert len(stored) == 2
    for h, salt, iters, sk, svk in stored:
        c = creds['SCRAM-SHA-1' if h == 0 else 'SCRAM-SHA-256']
        assert int(c.findtext(q(SCRAM, 'iter-count'))) == iters
        assert base64.b64decode(c.findtext(q(SCRAM, 'salt'))) == salt
        assert base64.b64decode(c.findtext(q(SCRAM, 'stored-key'))) == sk
        assert base64.b64decode(c.findtext(q(SCRAM, 'server-key'))) == svk
    assert server.passwords[user] not in ET.tostring(u, encoding='unicode')

    # Roster (RFC 6121 item form) and the pending request as a presence.
    items = u.find(q(ROSTER, 'query')).findall(q(ROSTER, 'item'))
    assert [(i.get('jid'), i.get('name'), i.get('subscription'),
             [g.text for g in i.findall(q(ROSTER, 'group'))]) for i in items] == \
        [('%s@localhost' % friend, 'Fr & co', 'none', ['Friends'])]
    pres = u.findall(q(CLIENT_NS, 'presence'))
    assert [(p.get('type'), p.get('from')) for p in pres] == [('subscribe', '%s@localhost' % friend)]

    vcard = u.find(q(VCARD, 'vCard'))
    assert vcard.findtext(q(VCARD, 'FN')) == 'Ex Porter'
    assert vcard.findtext(q(VCARD, 'NICKNAME')) == 'ex'

    priv = list(u.find(q(PRIVATE, 'query')))
    assert [(e.tag, e.text) for e in priv] == [('{urn:example:prefs}prefs', 'dark <3')]

    privacy = u.find(q(PRIVACY, 'query'))
    assert privacy.find(q(PRIVACY, 'default')).get('name') == 'blocklist'
    blocked = privacy.find(q(PRIVACY, 'list')).findall(q(PRIVACY, 'item'))
    assert [(b.get('type'), b.get('value'), b.get('action')) for b in blocked] == \
        [('jid', 'spam@example.net', 'deny')]

    msgs = u.find(q(PIE, 'offline-messages')).findall(q(CLIENT_NS, 'message'))
    assert [m.findtext(q(CLIENT_NS, 'body')) for m in msgs] == ['while you were away']
    assert msgs[0].get('from').startswith('%s@localhost/' % friend)
    assert msgs[0].find('{urn:xmpp:delay}delay') is not None

    # The last logout (XEP-0012's own element: XEP-0227 has none).
    (logout,) = db_rows(server, 'SELECT logout FROM last_activity l JOIN accounts a ON '
                        'a.id = l.account_id WHERE a.username = ?', user)[0]
    last = u.find(q('jabber:iq:last', 'query'))
    assert 0 <= int(last.get('seconds')) <= int(time.time()) - logout + 5

    # Nothing the account does not have: every child is one of the above.
    known = {q(SCRAM, 'scram-credentials'), q(ROSTER, 'query'), q(CLIENT_NS, 'presence'),
             q(VCARD, 'vCard'), q(PRIVATE, 'query'), q(PRIVACY, 'query'),
             q(PIE, 'offline-messages'), q('jabber:iq:last', 'query')}
    assert {c.tag for c in u} <= known, {c.tag for c in u} - known


def test_export_to_file_is_private_and_never_overwritten(server, tmp_path):
    user = new_user(server, 'file')
    out = tmp_path / 'export.xml'
    p = server.ctl('user', 'export', '%s@localhost' % user, '--out', str(out))
    assert p.returncode == 0, p.stderr
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert user_element(out.read_text()).get('name') == user
    before = out.read_bytes()
    p = server.ctl('user', 'export', '%s@localhost' % user, '--out', str(out))
    assert p.returncode == 1 and 'refusing to overwrite' in p.stderr, p.stderr
    assert out.read_bytes() == before
    p = server.ctl('user', 'export', 'nobody@localhost')
    assert p.returncode == 1 and 'no account nobody@localhost' in p.stderr, p.stderr
    p = server.ctl('user', 'report', '%s@localhost' % user, '--lang', 'fr')
    assert p.returncode == 2, p.stderr


def test_report_in_english_and_german(server):
    user, _ = fill(server)
    en = server.ctl('user', 'report', '%s@localhost' % user)
    de = server.ctl('user', 'report', '%s@localhost' % user, '--lang', 'de')
    assert en.returncode == 0 and de.returncode == 0, (en.stderr, de.stderr)
    en, de = en.stdout, de.stdout
    assert 'What the server localhost stores about %s@localhost' % user in en
    assert 'Was der Server localhost über %s@localhost speichert' % user in de
    # One paragraph per kind, with the amounts the account really has.
    for line in ('- 1 account, since ', '- 1 contacts', '- 1 requests', '- 1 profile, ',
                 '- 1 elements, ', '- 1 blocked addresses, 16 bytes', '- 1 messages, '):
        assert line in en, (line, en)
    for line in ('- 1 Konto, seit ', '- 1 Kontakte', '- 1 Anfragen', '- 1 Profil, ',
                 '- 1 Elemente, ', '- 1 blockierte Adressen, 16 Bytes', '- 1 Nachrichten, '):
        assert line in de, (line, de)
    # Until when: from the retention config (365 days by default).
    assert 'An account unused for 365 days is deleted' in en
    assert 'Kept until you connect and they are delivered to you.' in en
    assert 'Ein Konto, das 365 Tage nicht benutzt wurde' in de


def test_member_commands_export_and_report(server, xmpp):
    user, friend = fill(server)

    async def run():
        c = await xmpp.client(server, user, plugins=['xep_0030', 'xep_0050'])
        items = await c['xep_0050'].get_commands('localhost')
        nodes = {i[1]: i[2] for i in items['disco_items']['items']}
        assert nodes[EXPORT] == 'Export my data', nodes
        assert nodes[REPORT] == 'What do you store about me?', nodes
        exp = await c['xep_0050'].send_command('localhost', EXPORT)
        rep_en = await c['xep_0050'].send_command('localhost', REPORT)
        iq = c.make_iq_set(ito='localhost')
        iq['lang'] = 'de'
        iq['command']['node'] = REPORT
        iq['command']['action'] = 'execute'
        rep_de = await iq.send()
        return exp, rep_en, rep_de

    exp, rep_en, rep_de = xmpp.run(run)
    cmd = exp['command']
    assert cmd['status'] == 'completed'
    form = cmd['form']
    assert form['type'] == 'result'
    text = form.get_fields()['export'].get_value()
    if isinstance(text, list):
        text = '\n'.join(text)
    # The same document as the operator's export.
    u, v = user_element(text), user_element(export(server, user))
    for x in (u, v):  # counted to the time of each export
        x.remove(x.find(q('jabber:iq:last', 'query')))
    assert ET.tostring(u) == ET.tostring(v)
    assert 'XEP-0227' in exp.xml.find('{%s}command/{%s}note' % (CMD_NS, CMD_NS)).text

    for iq_, want in ((rep_en, '- 1 contacts'), (rep_de, '- 1 Kontakte')):
        note = iq_.xml.find('{%s}command/{%s}note' % (CMD_NS, CMD_NS))
        assert iq_['command']['status'] == 'completed'
        assert note.get('type') == 'info' and want in note.text, note.text
        assert ('%s@localhost' % user) in note.text


def test_member_export_too_large_tells_the_member_to_ask(make_server):
    srv = make_server({('limits', 'max_stanza_size'): '12KB'})
    try:
        raw = login(srv, 'alice', 'big')
        with raw:
            big = 'x' * 6000
            for i in range(2):
                el = raw.iq("<query xmlns='%s'><p%d xmlns='urn:example:%d'>%s</p%d></query>"
                            % (PRIVATE, i, i, big, i), typ='set', iq_id='p%d' % i)
                assert el.get('type') == 'result', ET.tostring(el)
            el = raw.iq("<command xmlns='%s' node='%s' action='execute'/>" % (CMD_NS, EXPORT),
                        to='localhost', typ='set', iq_id='e1')
            assert el.get('type') == 'result', ET.tostring(el)
            cmd = el.find(q(CMD_NS, 'command'))
            assert cmd.get('status') == 'completed'
            assert cmd.find(q(DATA_NS, 'x')) is None
            note = cmd.find(q(CMD_NS, 'note'))
            assert note.get('type') == 'error' and 'taubectl user export' in note.text, note.text
    finally:
        srv.check_clean_exit()


def test_export_and_report_with_the_server_stopped(make_server):
    srv = make_server(start=False)
    text = export(srv, 'alice')
    assert user_element(text).get('name') == 'alice'
    p = srv.ctl('user', 'report', 'alice@localhost', '--lang', 'de')
    assert p.returncode == 0 and '- 1 Konto' in p.stdout, p.stderr


# ---- taubectl import ---------------------------------------------------------

def items_of(raw, payload, ns, iq_id):
    el = raw.iq(payload, iq_id=iq_id)
    assert el.get('type') == 'result', ET.tostring(el)
    return el


def test_import_round_trip(server, tmp_path):
    """Export, delete, import: the old password works and roster, vCard,
    private XML, block list and offline messages are back."""
    user, friend = fill(server)
    path = tmp_path / 'rt.xml'
    assert server.ctl('user', 'export', '%s@localhost' % user, '--out', str(path)).returncode == 0
    before = user_element(path.read_text())
    p = server.ctl('user', 'delete', '%s@localhost' % user)
    assert p.returncode == 0, p.stderr
    assert db_rows(server, 'SELECT count(*) FROM accounts WHERE username = ?', user) == [(0,)]
    p = server.ctl('import', str(path))
    assert p.returncode == 0, p.stderr
    assert 'imported %s@localhost: 1 contacts, vCard, 1 private, 1 offline, 1 blocked' % user \
        in p.stdout, p.stdout

    # The same export again (the credentials too), but for the last logout
    # and the registration record, which an import does not bring back.
    after = user_element(export(server, user))
    for x in (before, after):
        for el in x.findall(q('jabber:iq:last', 'query')):
            x.remove(el)
    assert ET.tostring(after) == ET.tostring(before)

    # The old password, and the data as a client sees it.
    raw = login(server, user, 'back')
    with raw:
        roster = items_of(raw, "<query xmlns='%s'/>" % ROSTER, ROSTER, 'r1')
        items = roster.find(q(ROSTER, 'query')).findall(q(ROSTER, 'item'))
        assert [(i.get('jid'), i.get('name')) for i in items] == \
            [('%s@localhost' % friend, 'Fr & co')]
        vc = items_of(raw, "<vCard xmlns='%s'/>" % VCARD, VCARD, 'v1')
        assert vc.find(q(VCARD, 'vCard')).findtext(q(VCARD, 'FN')) == 'Ex Porter'
        pr = items_of(raw, "<query xmlns='%s'><prefs xmlns='urn:example:prefs'/></query>"
                      % PRIVATE, PRIVATE, 'p1')
        assert pr.find(q(PRIVATE, 'query')).findtext('{urn:example:prefs}prefs') == 'dark <3'
        bl = items_of(raw, "<blocklist xmlns='urn:xmpp:blocking'/>", None, 'b1')
        assert [i.get('jid') for i in bl.iter('{urn:xmpp:blocking}item')] == ['spam@example.net']
        raw.send('<presence/>')
        got = []
        while not got:
            el = raw.next_element(timeout=5)
            if el.tag == q(CLIENT_NS, 'message'):
                got.append(el)
        assert got[0].findtext(q(CLIENT_NS, 'body')) == 'while you were away'


def scram_sha1(password, salt, iters):
    import hashlib
    import hmac
    sp = hashlib.pbkdf2_hmac('sha1', password.encode(), salt, iters)
    ck = hmac.new(sp, b'Client Key', 'sha1').digest()
    return hashlib.sha1(ck).digest(), hmac.new(sp, b'Server Key', 'sha1').digest()


HAND_WRITTEN = """<?xml version='1.0' encoding='UTF-8'?>
<!-- written by hand to XEP-0227 1.1 -->
<server-data xmlns='urn:xmpp:pie:0'>
  <host jid='LOCALHOST'>
    <user name='Juliet' password='s3cret-ü'>
      <query xmlns='jabber:iq:roster'>
        <item jid='romeo@montague.net' name='Romeo' subscription='both'>
          <group>Friends</group><group>Verona</group>
        </item>
      </query>
      <presence xmlns='jabber:client' type='subscribe' from='mercutio@montague.net'>
        <status>let me in</status>
      </presence>
      <vCard xmlns='vcard-temp'><FN>Juliet Capulet</FN></vCard>
      <offline-messages>
        <message xmlns='jabber:client' from='romeo@montague.net/orchard'
                 to='juliet@localhost/balcony' type='chat'>
          <body>Neither, fair saint, if either thee dislike.</body>
          <delay xmlns='urn:xmpp:delay' from='capulet.com' stamp='2020-07-21T00:32:29Z'/>
        </message>
      </offline-messages>
      <pubsub xmlns='http://jabber.org/protocol/pubsub'/>
    </user>
    <user name='hamlet'>
      <scram-credentials xmlns='urn:xmpp:pie:0#scram' mechanism='SCRAM-SHA-1'>
        <iter-count>4096</iter-count>
        <salt>%(salt)s</salt>
        <server-key>%(server_key)s</server-key>
        <stored-key>%(stored_key)s</stored-key>
      </scram-credentials>
      <query xmlns="jabber:iq:private">
        <exodus xmlns="exodus:prefs"><defaultnick>Hamlet</defaultnick></exodus>
      </query>
    </user>
  </host>
</server-data>
"""


def test_import_hand_written_file(make_server, tmp_path):
    srv = make_server()
    try:
        salt = b'0123456789abcdef'
        stored, server_key = scram_sha1('to be', salt, 4096)
        path = tmp_path / 'hand.xml'
        path.write_text(HAND_WRITTEN % {'salt': base64.b64encode(salt).decode(),
                                        'server_key': base64.b64encode(server_key).decode(),
                                        'stored_key': base64.b64encode(stored).decode()})
        p = srv.ctl('import', str(path))
        assert p.returncode == 0, p.stderr
        assert 'imported juliet@localhost: 2 contacts, vCard, 0 private, 1 offline' in p.stdout
        assert 'imported hamlet@localhost: 0 contacts, no vCard, 1 private' in p.stdout
        assert "skipped <pubsub xmlns='http://jabber.org/protocol/pubsub'>" in p.stderr
        # The plaintext password is hashed (both mechanisms), never stored.
        rows = db_rows(srv, 'SELECT hash FROM scram_creds c JOIN accounts a ON '
                       'a.id = c.account_id WHERE a.username = ? ORDER BY hash', 'juliet')
        assert rows == [(0,), (1,)]
        with open(db_path(srv), 'rb') as f:
            assert 's3cret'.encode() not in f.read()
        srv.passwords.update({'juliet': 's3cret-ü', 'hamlet': 'to be'})
        raw = login(srv, 'juliet', 'j')
        with raw:
            roster = items_of(raw, "<query xmlns='%s'/>" % ROSTER, ROSTER, 'r1')
            items = roster.find(q(ROSTER, 'query')).findall(q(ROSTER, 'item'))
            assert [(i.get('jid'), i.get('subscription'),
                     sorted(g.text for g in i.findall(q(ROSTER, 'group')))) for i in items] == \
                [('romeo@montague.net', 'both', ['Friends', 'Verona'])]
        from xmppraw import RawXMPP
        raw = RawXMPP(srv.c2s_port)
        with raw:
            raw.login('hamlet', 'to be', mech='SCRAM-SHA-1', resource='h')
            pr = items_of(raw, "<query xmlns='%s'><exodus xmlns='exodus:prefs'/></query>"
                          % PRIVATE, PRIVATE, 'p1')
            assert pr.find(q(PRIVATE, 'query')).find('{exodus:prefs}exodus') is not None
        rep = srv.ctl('user', 'report', 'juliet@localhost')
        assert '- 1 requests' in rep.stdout and '- 1 messages' in rep.stdout, rep.stdout
    finally:
        srv.check_clean_exit()


@pytest.mark.parametrize('text, message', [
    ("<root/>", 'not a XEP-0227 file'),
    ("<!DOCTYPE x [<!ENTITY a 'b'>]><server-data xmlns='urn:xmpp:pie:0'/>",
     'not acceptable XML'),
    ("<server-data xmlns='urn:xmpp:pie:0' xmlns:xi='http://www.w3.org/2001/XInclude'>"
     "<xi:include href='../a.xml'/></server-data>", "only <include href='FILE'/>"),
    ("<server-data xmlns='urn:xmpp:pie:0' xmlns:xi='http://www.w3.org/2001/XInclude'>"
     "<xi:include href='missing.xml'/></server-data>", "cannot open the included 'missing.xml'"),
    ("<server-data xmlns='urn:xmpp:pie:0' xmlns:xi='http://www.w3.org/2001/XInclude'>"
     "<xi:include href='bad.xml' parse='text'/></server-data>", "only <include href='FILE'/>"),
    ("<server-data xmlns='urn:xmpp:pie:0'><host><user name='x' password='p'/></host>"
     "</server-data>", "without a valid 'jid'"),
    ("<server-data xmlns='urn:xmpp:pie:0'><host jid='localhost'><user name='nocreds'/>"
     "</host></server-data>", 'refused nocreds@localhost: no password'),
    ("<server-data xmlns='urn:xmpp:pie:0'><host jid='localhost'><user name='badit'>"
     "<scram-credentials xmlns='urn:xmpp:pie:0#scram' mechanism='SCRAM-SHA-1'>"
     "<iter-count>04096</iter-count><salt>YQ==</salt><server-key>YQ==</server-key>"
     "<stored-key>YQ==</stored-key></scram-credentials></user></host></server-data>",
     'refused badit@localhost: SCRAM-SHA-1: <iter-count/> is not a positive integer'),
    ("<server-data xmlns='urn:xmpp:pie:0'><host jid='elsewhere.example'>"
     "<user name='x' password='p'/></host></server-data>",
     'refused x@elsewhere.example: its domain is not in server.domains'),
    ("<server-data xmlns='urn:xmpp:pie:0'><host jid='localhost'><user name='alice' "
     "password='p'/></host></server-data>",
     'refused alice@localhost: the account exists'),
])
def test_import_refusals(server, tmp_path, text, message):
    path = tmp_path / 'bad.xml'
    path.write_text(text)
    p = server.ctl('import', str(path))
    assert p.returncode == 1 and message in p.stderr, (p.returncode, p.stderr)
    assert db_rows(server, "SELECT count(*) FROM accounts WHERE username IN "
                   "('x', 'nocreds', 'badit')") == [(0,)]


def test_import_skip_existing_and_one_transaction_each(server, tmp_path):
    """An existing account is skipped with --skip-existing; the account
    after it in the file is still imported; alice's data is untouched."""
    fresh = 'imp%d' % int(time.time() * 1000 % 100000)
    path = tmp_path / 'two.xml'
    path.write_text("<server-data xmlns='urn:xmpp:pie:0'><host jid='localhost'>"
                    "<user name='alice' password='other'><vCard xmlns='vcard-temp'>"
                    "<FN>Not Alice</FN></vCard></user>"
                    "<user name='%s' password='pw'/></host></server-data>" % fresh)
    p = server.ctl('import', str(path), '--skip-existing')
    assert p.returncode == 0, p.stderr
    assert 'skipped alice@localhost: the account exists' in p.stdout
    assert '1 imported, 1 skipped, 0 refused' in p.stdout
    raw = login(server, 'alice', 'still')  # alice's old password still works
    raw.close()
    assert db_rows(server, "SELECT count(*) FROM vcards v JOIN accounts a ON "
                   "a.id = v.account_id WHERE a.username = 'alice' AND v.xml LIKE "
                   "'%Not Alice%'") == [(0,)]


EJABBERD = os.path.join(os.path.dirname(__file__), 'data', 'ejabberd-23.01')


def test_import_ejabberd_export_piefxis(make_server, tmp_path):
    """A real `ejabberdctl export_piefxis` (Debian's ejabberd 23.01): a
    main file including one file per host, SCRAM-SHA-1 keys encoded twice
    (that version's habit). After the import the ejabberd passwords work
    and roster, vCard, private XML and the offline message are there."""
    srv = make_server()
    try:
        import shutil
        for name in os.listdir(EJABBERD):
            shutil.copy(os.path.join(EJABBERD, name), tmp_path / name)
        main = [n for n in os.listdir(EJABBERD) if not n.endswith('_localhost.xml')][0]
        p = srv.ctl('import', str(tmp_path / main))
        assert p.returncode == 0, p.stderr
        assert 'imported juliet@localhost: 1 contacts, vCard, 1 private, 1 offline' in p.stdout
        assert 'imported romeo@localhost: 1 contacts' in p.stdout
        assert 'encoded twice' in p.stderr
        from xmppraw import RawXMPP
        raw = RawXMPP(srv.c2s_port)
        with raw:
            raw.login('juliet', 'wherefore-ü', mech='SCRAM-SHA-1', resource='balcony')
            roster = items_of(raw, "<query xmlns='%s'/>" % ROSTER, ROSTER, 'r1')
            items = roster.find(q(ROSTER, 'query')).findall(q(ROSTER, 'item'))
            assert [(i.get('jid'), i.get('name'), i.get('subscription'),
                     [g.text for g in i.findall(q(ROSTER, 'group'))]) for i in items] == \
                [('romeo@localhost', 'Romeo', 'both', ['Friends'])]
            vc = items_of(raw, "<vCard xmlns='%s'/>" % VCARD, VCARD, 'v1')
            assert vc.find(q(VCARD, 'vCard')).findtext(q(VCARD, 'FN')) == 'Juliet Capulet'
            pr = items_of(raw, "<query xmlns='%s'><exodus xmlns='exodus:prefs'/></query>"
                          % PRIVATE, PRIVATE, 'p1')
            assert pr.find(q(PRIVATE, 'query')).find('{exodus:prefs}exodus').findtext(
                '{exodus:prefs}defaultnick') == 'Jules'
            raw.send('<presence/>')
            msg = None
            while msg is None:
                el = raw.next_element(timeout=5)
                if el.tag == q(CLIENT_NS, 'message'):
                    msg = el
            assert msg.findtext(q(CLIENT_NS, 'body')) == 'Neither, fair saint'
            assert msg.get('from') == 'romeo@localhost/orchard'
        raw = RawXMPP(srv.c2s_port)
        with raw:
            raw.login('romeo', 'art-thou', mech='PLAIN', resource='orchard')
    finally:
        srv.check_clean_exit()
