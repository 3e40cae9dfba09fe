"""In-band registration (XEP-0077 with a XEP-0004 form) with registration
codes (XEP-0401, promise P1) and consent (P2), then password change and
self-removal (P18), over raw XML: the form has fields slixmpp's register
plugin does not fill.

Checks against the SQLite file directly where the promise is about what
is stored."""

import itertools
import re
import sqlite3
import time
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

import pytest

from test_retention import control
from xmppraw import CLIENT_NS, q, RawXMPP, sasl_auth, stanza_error_condition

REG_NS = 'jabber:iq:register'
DATA_NS = 'jabber:x:data'
FEATURE_NS = 'http://jabber.org/features/iq-register'
# The preauth features (XEP-0445, and the older urn:xmpp:invite): Siskin
# sends its token only when it sees one.
TOKEN_FEATURE_NS = ('urn:xmpp:ibr-token:0', 'urn:xmpp:invite')
PARS_NS = 'urn:xmpp:pars:0'
POLICY = 'https://example.net/policy'

SERVER_OPTIONS = {
    ('registration', 'max_attempts_per_hour'): '100000',
    ('registration', 'policy_version'): '"2026-11"',
    ('contact', 'policy'): '["%s"]' % POLICY,
}

_ids = itertools.count()
_names = itertools.count()


def fresh_name(prefix='r'):
    return '%s%d_%d' % (prefix, next(_names), int(time.time() * 1000) % 100000)


def invite(server, *args, who='Ann Example <ann@example.net>'):
    """taubectl invite create; returns (code, id)."""
    out = server.ctl('invite', 'create', '--for', who, *args, check=True).stdout
    code = re.search(r'^code: (\S+)$', out, re.M).group(1)
    uri = re.search(r'^uri: (\S+)$', out, re.M).group(1)
    assert uri == 'xmpp:localhost?register;preauth=%s' % code
    assert re.search(r'^page: https://localhost:%d/invite/%s$' % (server.https_port, code), out,
                     re.M), out
    return code, re.search(r'^id: (\d+)$', out, re.M).group(1)


def tls_stream(server, source=None):
    """A TLS stream, not authenticated; returns (raw, features)."""
    raw = RawXMPP(server.c2s_port, source=source)
    raw.open_stream()
    raw.features()
    return raw, raw.starttls()


def form(username=None, password=None, token=None, consent='1', extra=''):
    fields = ["<field var='FORM_TYPE' type='hidden'><value>%s</value></field>" % REG_NS]
    for var, val in (('username', username), ('password', password), ('token', token),
                     ('consent', consent)):
        if val is not None:
            fields.append("<field var='%s'><value>%s</value></field>" % (var, escape(val)))
    return ("<query xmlns='%s'><x xmlns='%s' type='submit'>%s%s</x></query>"
            % (REG_NS, DATA_NS, ''.join(fields), extra))


def register(raw, **kw):
    return raw.iq(form(**kw), typ='set', iq_id='reg%d' % next(_ids))


def error_text(el):
    t = el.find('%s/{urn:ietf:params:xml:ns:xmpp-stanzas}text' % q(CLIENT_NS, 'error'))
    return t.text if t is not None else ''


def db(server):
    return sqlite3.connect(str(server.dir / 'data' / 'taube.db'))


def account_exists(server, user):
    con = db(server)
    try:
        return con.execute('SELECT count(*) FROM accounts WHERE username = ?',
                           (user,)).fetchone()[0] == 1
    finally:
        con.close()


def salts(server, user):
    """The SCRAM salts stored for user: they change with the password."""
    con = db(server)
    try:
        return sorted(r[0] for r in con.execute(
            'SELECT c.salt FROM scram_creds c JOIN accounts a ON a.id = c.account_id'
            ' WHERE a.username = ?', (user,)))
    finally:
        con.close()


def uses_left(server, invite_id):
    con = db(server)
    try:
        return con.execute('SELECT uses_left FROM invites WHERE id = ?',
                           (int(invite_id),)).fetchone()[0]
    finally:
        con.close()


def can_login(server, user, password):
    raw = RawXMPP(server.c2s_port)
    try:
        raw.open_stream()
        raw.features()
        raw.starttls()
        result, _ = sasl_auth(raw, 'PLAIN', user, password)
        return result == 'success'
    finally:
        raw.close()


def refused(server, cond, **kw):
    """Registers with kw on a fresh stream; asserts the error condition
    and that no account was made."""
    raw, _ = tls_stream(server)
    with raw:
        el = register(raw, **kw)
    assert el.get('type') == 'error', ET.tostring(el)
    assert stanza_error_condition(el) == cond, ET.tostring(el)
    if kw.get('username') and cond != 'conflict':
        assert not account_exists(server, kw['username'])
    return el


# ---- the offer and the form ---------------------------------------------------

def test_feature_only_after_tls(server):
    raw = RawXMPP(server.c2s_port)
    with raw:
        raw.open_stream()
        plain = raw.features()
        for ns in (FEATURE_NS,) + TOKEN_FEATURE_NS:
            assert plain.find(q(ns, 'register')) is None, ns
        secure = raw.starttls()
        for ns in (FEATURE_NS,) + TOKEN_FEATURE_NS:
            assert secure.find(q(ns, 'register')) is not None, ns


def test_no_registration_before_tls(server):
    raw = RawXMPP(server.c2s_port)
    with raw:
        raw.open_stream()
        raw.features()
        raw.send("<iq type='get' id='r1'><query xmlns='%s'/></iq>" % REG_NS)
        assert raw.expect_stream_error() == 'not-authorized'


def test_form_names_policy_and_requires_consent(server):
    raw, _ = tls_stream(server)
    with raw:
        el = raw.iq("<query xmlns='%s'/>" % REG_NS)
    assert el.get('type') == 'result'
    x = el.find('%s/%s' % (q(REG_NS, 'query'), q(DATA_NS, 'x')))
    assert x is not None and x.get('type') == 'form'
    fields = {f.get('var'): f for f in x.findall(q(DATA_NS, 'field'))}
    assert {'username', 'password', 'token', 'consent'} <= set(fields)
    assert fields['password'].get('type') == 'text-private'
    consent = fields['consent']
    assert consent.get('type') == 'boolean'
    assert consent.find(q(DATA_NS, 'required')) is not None
    assert POLICY in consent.get('label') and '2026-11' in consent.get('label')
    assert fields['token'].find(q(DATA_NS, 'required')) is not None


# ---- refusals -----------------------------------------------------------------

def test_without_code(server):
    refused(server, 'not-allowed', username=fresh_name(), password='good password')


def test_wrong_code(server):
    refused(server, 'not-allowed', username=fresh_name(), password='good password',
            token='0000-0000-0000-0000-0000-0000-0000-0000')
    refused(server, 'not-allowed', username=fresh_name(), password='good password',
            token='not a code at all')


def test_expired_code(server):
    code, iid = invite(server, '--expires', '1s')
    time.sleep(1.5)
    refused(server, 'not-allowed', username=fresh_name(), password='good password', token=code)
    assert uses_left(server, iid) == 1


def test_revoked_code(server):
    code, iid = invite(server)
    assert server.ctl('invite', 'revoke', code, check=True).returncode == 0
    refused(server, 'not-allowed', username=fresh_name(), password='good password', token=code)
    code2, iid2 = invite(server)
    server.ctl('invite', 'revoke', iid2, check=True)
    refused(server, 'not-allowed', username=fresh_name(), password='good password', token=code2)


def test_used_code(server):
    code, iid = invite(server)
    raw, _ = tls_stream(server)
    with raw:
        assert register(raw, username=fresh_name(), password='good password',
                        token=code).get('type') == 'result'
    assert uses_left(server, iid) == 0
    refused(server, 'not-allowed', username=fresh_name(), password='good password', token=code)


def test_without_consent(server):
    code, iid = invite(server)
    el = refused(server, 'not-acceptable', username=fresh_name(), password='good password',
                 token=code, consent='0')
    assert 'consent' in error_text(el)
    refused(server, 'not-acceptable', username=fresh_name(), password='good password',
            token=code, consent=None)
    assert uses_left(server, iid) == 1


def test_taken_name_and_bad_input(server):
    code, iid = invite(server, '--uses', '10')
    refused(server, 'conflict', username='alice', password='good password', token=code)
    el = refused(server, 'not-acceptable', username=fresh_name(), password='short',
                 token=code)
    assert 'short' in error_text(el)
    el = refused(server, 'not-acceptable', username=fresh_name(), password='x' * 257,
                 token=code)
    assert 'long' in error_text(el)
    for bad in ('bad user', 'a@b', 'x' * 2000, ''):
        el = refused(server, 'not-acceptable', username=bad or None, password='good password',
                     token=code)
        assert 'user name' in error_text(el)
    assert uses_left(server, iid) == 10


def test_non_utf8_closes_only_that_stream(server):
    raw, _ = tls_stream(server)
    with raw:
        raw.send(("<iq type='set' id='bad'><query xmlns='%s'><x xmlns='%s' type='submit'>"
                  "<field var='username'><value>" % (REG_NS, DATA_NS)).encode()
                 + b'\xff\xfe\xc3(' + b'</value></field></x></query></iq>')
        assert raw.expect_stream_error() == 'not-well-formed'
    assert can_login(server, 'alice', server.passwords['alice'])


# ---- success ----------------------------------------------------------------------

def test_register_then_login_and_link(server):
    code, iid = invite(server, who='Bea Benutzer <bea@example.net>')
    name = fresh_name('bea')
    raw, _ = tls_stream(server)
    before = int(time.time())
    with raw:
        el = register(raw, username=name, password='bea password', token=code.lower())
        assert el.get('type') == 'result', ET.tostring(el)
        # The same stream can now log in.
        result, detail = sasl_auth(raw, 'SCRAM-SHA-256', name, 'bea password')
        assert result == 'success', detail
    assert can_login(server, name, 'bea password')
    con = db(server)
    try:
        row = con.execute(
            'SELECT ai.invite_id, ai.consent_time, ai.policy_version, i.given_to'
            ' FROM account_invite ai JOIN accounts a ON a.id = ai.account_id'
            ' JOIN invites i ON i.id = ai.invite_id WHERE a.username = ?', (name,)).fetchone()
    finally:
        con.close()
    assert row[0] == int(iid)
    assert before - 1 <= row[1] <= time.time() + 1
    assert row[2] == '2026-11'
    assert row[3] == 'Bea Benutzer <bea@example.net>'
    listed = server.ctl('invite', 'list', check=True).stdout
    line = [ln for ln in listed.splitlines() if ln.startswith(iid + '\t')][0]
    assert '%s@localhost' % name in line and 'uses left: 0' in line
    show = server.ctl('user', 'show', '%s@localhost' % name, check=True).stdout
    assert 'registered_with_code: %s given to Bea Benutzer <bea@example.net>' % iid in show
    assert 'policy_version: 2026-11' in show
    assert re.search(r'^consent: \d{4}-\d\d-\d\dT', show, re.M), show
    alice = server.ctl('user', 'show', 'alice@localhost', check=True).stdout
    assert 'registered_with_code: none' in alice


@pytest.mark.parametrize('typ', ['set', 'get'])
def test_preauth_flow(server, typ):
    """XEP-0401 says set; some Conversations versions send the preauth as
    an iq get: both are taken, and then the form needs no code."""
    code, iid = invite(server)
    name = fresh_name('p' + typ[0])
    raw, _ = tls_stream(server)
    with raw:
        bad = raw.iq("<preauth xmlns='%s' token='0000-0000-0000-0000-0000-0000-0000-0000'/>"
                     % PARS_NS, typ=typ, iq_id='pa0')
        assert stanza_error_condition(bad) == 'item-not-found'
        ok = raw.iq("<preauth xmlns='%s' token='%s'/>" % (PARS_NS, code), typ=typ,
                    iq_id='pa1')
        assert ok.get('type') == 'result', ET.tostring(ok)
        f = raw.iq("<query xmlns='%s'/>" % REG_NS, iq_id='pa2')
        token = [fl for fl in f.iter(q(DATA_NS, 'field')) if fl.get('var') == 'token'][0]
        assert token.find(q(DATA_NS, 'required')) is None
        el = register(raw, username=name, password='pa password')
        assert el.get('type') == 'result', ET.tostring(el)
    assert can_login(server, name, 'pa password')
    assert uses_left(server, iid) == 0


def test_preauth_expiry_checked_then_only(make_server):
    """XEP-0445 §4: a code's expiry is checked at the preauth only; the
    registration that follows on the stream succeeds after it expired
    (the server's clock moved on by the test-only clock-offset), while a
    new stream can no longer use it."""
    srv = make_server()
    code, iid = invite(srv, '--expires', '1d')
    name = fresh_name('px')
    raw, _ = tls_stream(srv)
    with raw:
        ok = raw.iq("<preauth xmlns='%s' token='%s'/>" % (PARS_NS, code), typ='set')
        assert ok.get('type') == 'result', ET.tostring(ok)
        assert control(srv, 'clock-offset', 2 * 86400).startswith('ok')
        el = register(raw, username=name, password='px password')
        assert el.get('type') == 'result', ET.tostring(el)
    assert can_login(srv, name, 'px password')
    assert uses_left(srv, iid) == 0
    code2, iid2 = invite(srv, '--expires', '1d')  # made now, by the real clock
    refused(srv, 'not-allowed', username=fresh_name(), password='good password', token=code2)
    assert uses_left(srv, iid2) == 1
    srv.check_clean_exit()


def test_preauth_does_not_carry_to_other_streams(server):
    code, _ = invite(server)
    raw, _ = tls_stream(server)
    with raw:
        assert raw.iq("<preauth xmlns='%s' token='%s'/>" % (PARS_NS, code),
                      typ='set').get('type') == 'result'
    refused(server, 'not-allowed', username=fresh_name(), password='good password')


# ---- after login -----------------------------------------------------------------

def registered_user(server, prefix='s'):
    code, _ = invite(server)
    name = fresh_name(prefix)
    raw, _ = tls_stream(server)
    with raw:
        assert register(raw, username=name, password='first password',
                        token=code).get('type') == 'result'
    server.passwords[name] = 'first password'
    return name


def test_password_change(server):
    name = registered_user(server, 'pw')
    raw = RawXMPP(server.c2s_port)
    with raw:
        raw.login(name, 'first password')
        el = raw.iq("<query xmlns='%s'><username>%s</username><password>second password"
                    "</password></query>" % (REG_NS, name), typ='set', to='localhost')
        assert el.get('type') == 'result', ET.tostring(el)
        weak = raw.iq("<query xmlns='%s'><username>%s</username><password>x</password>"
                      "</query>" % (REG_NS, name), typ='set', iq_id='weak')
        assert stanza_error_condition(weak) == 'not-acceptable'
        other = raw.iq("<query xmlns='%s'><username>alice</username><password>hijacked!!"
                       "</password></query>" % REG_NS, typ='set', iq_id='other')
        assert stanza_error_condition(other) == 'not-allowed'
    assert not can_login(server, name, 'first password')
    assert can_login(server, name, 'second password')
    assert can_login(server, 'alice', server.passwords['alice'])


def tables_with_account_id(con):
    names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return [n for n in names
            if any(c[1] == 'account_id' for c in con.execute('PRAGMA table_info(%s)' % n))]


def test_self_removal(server):
    name = registered_user(server, 'rm')
    con = db(server)
    try:
        acc_id = con.execute('SELECT id FROM accounts WHERE username = ?', (name,)).fetchone()[0]
    finally:
        con.close()
    other = RawXMPP(server.c2s_port)
    raw = RawXMPP(server.c2s_port)
    contact = RawXMPP(server.c2s_port)
    with other, raw, contact:
        contact.login('carol', server.passwords['carol'])
        added = contact.iq("<query xmlns='jabber:iq:roster'><item jid='%s@localhost'/></query>"
                           % name, typ='set', iq_id='ros1')
        assert added.get('type') == 'result'
        con = db(server)
        try:
            assert con.execute('SELECT count(*) FROM roster_items WHERE jid = ?',
                               ('%s@localhost' % name,)).fetchone()[0] == 1
        finally:
            con.close()
        other.login(name, 'first password', resource='other')
        raw.login(name, 'first password', resource='main')
        raw.send("<iq type='set' id='v1'><vCard xmlns='vcard-temp'><FN>Gone</FN></vCard></iq>")
        assert raw.next_element().get('type') == 'result'
        el = raw.iq("<query xmlns='%s'><remove/></query>" % REG_NS, typ='set', iq_id='rm1')
        assert el.get('type') == 'result', ET.tostring(el)
        assert raw.expect_stream_error() == 'not-authorized'
        assert other.expect_stream_error() == 'not-authorized'
    assert not can_login(server, name, 'first password')
    con = db(server)
    try:
        assert con.execute('SELECT count(*) FROM accounts WHERE id = ?', (acc_id,)).fetchone()[0] == 0
        tables = tables_with_account_id(con)
        assert 'account_invite' in tables and 'vcards' in tables
        for t in tables:
            n = con.execute('SELECT count(*) FROM %s WHERE account_id = ?' % t,
                            (acc_id,)).fetchone()[0]
            assert n == 0, 'table %s keeps %d rows of the removed account' % (t, n)
        assert con.execute('SELECT count(*) FROM roster_items WHERE jid = ?',
                           ('%s@localhost' % name,)).fetchone()[0] == 0
    finally:
        con.close()


def test_remove_needs_login_and_sole_child(server):
    raw, _ = tls_stream(server)
    with raw:
        el = raw.iq("<query xmlns='%s'><remove/></query>" % REG_NS, typ='set')
        assert stanza_error_condition(el) == 'not-allowed'
    raw = RawXMPP(server.c2s_port)
    with raw:
        raw.login('bob', server.passwords['bob'])
        el = raw.iq("<query xmlns='%s'><remove/><username>bob</username></query>" % REG_NS,
                    typ='set')
        assert stanza_error_condition(el) == 'bad-request'
    assert can_login(server, 'bob', server.passwords['bob'])


# ---- rate limit ------------------------------------------------------------------

def test_thousand_attempts_rate_limited(make_server):
    srv = make_server({('registration', 'max_attempts_per_hour'): '5'})
    code, _ = invite(srv)
    client = RawXMPP(srv.c2s_port)
    client.login('alice', srv.passwords['alice'])
    raw, _ = tls_stream(srv)
    with raw, client:
        attempt = form(username='flood', password='good password',
                       token='0000-0000-0000-0000-0000-0000-0000-0000')
        raw.send(''.join("<iq type='set' id='f%d'>%s</iq>" % (i, attempt)
                         for i in range(1000)))
        conds = []
        while len(conds) < 1000:
            el = raw.next_element(timeout=30)
            if el.tag == q(CLIENT_NS, 'iq'):
                conds.append(stanza_error_condition(el))
        assert conds[:5] == ['not-allowed'] * 5
        assert set(conds[5:]) == {'policy-violation'}
        # A right code is refused too while the address is over the limit.
        el = register(raw, username='flood', password='good password', token=code)
        assert stanza_error_condition(el) == 'policy-violation'
        # The logged-in client is still served.
        pong = client.iq("<ping xmlns='urn:xmpp:ping'/>", to='localhost', iq_id='p1')
        assert pong.get('type') == 'result'
    assert not account_exists(srv, 'flood')
    srv.check_clean_exit()


def test_full_address_table_never_refuses_a_valid_code(make_server):
    """More addresses than the limit remembers: the quiet ones are forgotten,
    an address that keeps trying stays refused, and a member with a valid code
    from a new address registers (issue 7, item 13)."""
    srv = make_server({('registration', 'max_attempts_per_hour'): '2',
                       ('registration', 'tracked_addresses'): '16'})
    code, _ = invite(srv)
    wrong = dict(password='good password', token='0000-0000-0000-0000-0000-0000-0000-0000')

    def attempt(source, **kw):
        raw, _ = tls_stream(srv, source=source)
        with raw:
            return stanza_error_condition(register(raw, username=fresh_name(), **kw))

    noisy = '127.0.0.3'
    assert [attempt(noisy, **wrong) for _ in range(3)] == \
        ['not-allowed', 'not-allowed', 'policy-violation']
    for i in range(48):  # three times what the table holds
        assert attempt('127.0.1.%d' % (i + 1), **wrong) == 'not-allowed'
        if i % 4 == 3:  # the noisy address keeps trying and stays counted
            assert attempt(noisy, **wrong) == 'policy-violation'
    user = fresh_name()
    raw, _ = tls_stream(srv, source='127.0.0.2')
    with raw:
        el = register(raw, username=user, password='good password', token=code)
        assert el.get('type') == 'result', ET.tostring(el)
    assert account_exists(srv, user)
    srv.check_clean_exit()


# ---- key derivation off the event loop -------------------------------------------

# About 0.7 s of PBKDF2 (SHA-1 and SHA-256) for each new account.
SLOW = {('auth', 'scram_iterations'): '2000000',
        ('registration', 'max_attempts_per_hour'): '1000'}


def test_slow_derivation_does_not_block_others(make_server):
    """With PBKDF2 made slow, a registration under way neither stops other
    clients from being served nor lets a second registration start on the
    same stream."""
    srv = make_server(SLOW)
    code, _ = invite(srv, '--uses', '2')
    client = RawXMPP(srv.c2s_port)
    client.login('alice', srv.passwords['alice'])
    raw, _ = tls_stream(srv)
    with raw, client:
        raw.send("<iq type='set' id='a1'>%s</iq><iq type='set' id='a2'>%s</iq>"
                 % (form(username='slow1', password='good password', token=code),
                    form(username='slow2', password='good password', token=code)))
        t0 = time.monotonic()
        pong = client.iq("<ping xmlns='urn:xmpp:ping'/>", to='localhost', iq_id='p1')
        ping_time = time.monotonic() - t0
        assert pong.get('type') == 'result'
        answers = {}
        while len(answers) < 2:
            el = raw.next_element(timeout=30)
            answers[el.get('id')] = el
        reg_time = time.monotonic() - t0
        assert answers['a1'].get('type') == 'result', ET.tostring(answers['a1'])
        assert stanza_error_condition(answers['a2']) == 'resource-constraint'
        # The ping was answered while the keys were being derived.
        assert ping_time < 0.4 < reg_time, (ping_time, reg_time)
    assert account_exists(srv, 'slow1') and not account_exists(srv, 'slow2')
    assert can_login(srv, 'slow1', 'good password')
    srv.check_clean_exit()


def test_client_leaving_during_derivation(make_server):
    srv = make_server(SLOW)
    code, iid = invite(srv)
    raw, _ = tls_stream(srv)
    raw.send("<iq type='set' id='gone'>%s</iq>"
             % form(username='leaver', password='good password', token=code))
    time.sleep(0.05)
    raw.close()
    deadline = time.monotonic() + 20
    while not account_exists(srv, 'leaver') and time.monotonic() < deadline:
        time.sleep(0.1)
    assert account_exists(srv, 'leaver')
    assert uses_left(srv, iid) == 0
    srv.check_clean_exit()


def test_password_change_client_leaving_during_derivation(make_server):
    srv = make_server(SLOW)
    before = salts(srv, 'bob')
    raw = RawXMPP(srv.c2s_port)
    raw.login('bob', srv.passwords['bob'])
    raw.send("<iq type='set' id='c1'><query xmlns='%s'><username>bob</username>"
             "<password>bob's new password</password></query></iq>" % REG_NS)
    time.sleep(0.05)
    raw.close()
    # Watched in the database: a login attempt would cost a derivation
    # that competes with the one under way.
    deadline = time.monotonic() + 20
    while salts(srv, 'bob') == before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert can_login(srv, 'bob', "bob's new password")
    assert not can_login(srv, 'bob', srv.passwords['bob'])
    srv.check_clean_exit()


def test_registration_disabled(make_server):
    srv = make_server({('registration', 'enabled'): 'false'})
    code, _ = invite(srv)
    raw, features = tls_stream(srv)
    with raw:
        for ns in (FEATURE_NS,) + TOKEN_FEATURE_NS:
            assert features.find(q(ns, 'register')) is None, ns
        el = raw.iq("<query xmlns='%s'/>" % REG_NS)
        assert stanza_error_condition(el) == 'service-unavailable'
        el = register(raw, username='nobody', password='good password', token=code)
        assert stanza_error_condition(el) == 'service-unavailable'
    assert not account_exists(srv, 'nobody')
    srv.check_clean_exit()
