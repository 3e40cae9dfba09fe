"""Server modules and router errors: disco, ping, version, time,
service-unavailable, jid-malformed."""

import datetime
import re
import xml.etree.ElementTree as ET

import pytest

from xmppraw import CLIENT_NS, login, q, RawXMPP, stanza_error_condition

DISCO_INFO = 'http://jabber.org/protocol/disco#info'
DISCO_ITEMS = 'http://jabber.org/protocol/disco#items'
REQUIRED_FEATURES = {DISCO_INFO, DISCO_ITEMS, 'urn:xmpp:ping', 'jabber:iq:version',
                     'urn:xmpp:time'}


def test_disco_info(server, xmpp):
    async def body():
        c = await xmpp.client(server, 'alice', plugins=['xep_0030'])
        iq = await c['xep_0030'].get_info(jid='localhost', local=False, timeout=5)
        info = iq['disco_info']
        cats = {(i[0], i[1]) for i in info['identities']}
        assert ('server', 'im') in cats, info['identities']
        missing = REQUIRED_FEATURES - set(info['features'])
        assert not missing, 'features missing: %s' % missing
        assert str(iq['from']) == 'localhost'
    xmpp.run(body)


def test_disco_items(server, xmpp):
    async def body():
        c = await xmpp.client(server, 'alice', plugins=['xep_0030'])
        iq = await c['xep_0030'].get_items(jid='localhost', local=False, timeout=5)
        assert iq['type'] == 'result'
        assert iq.xml.find('{%s}query' % DISCO_ITEMS) is not None
    xmpp.run(body)


def test_ping_server(server, xmpp):
    async def body():
        c = await xmpp.client(server, 'alice', plugins=['xep_0199'])
        iq = await xmpp.ping(c)
        assert iq['type'] == 'result'
        assert str(iq['from']) == 'localhost'
    xmpp.run(body)


def test_ping_another_client_through_the_router(server, xmpp):
    """An iq to a full JID is routed to that client and its answer back."""
    async def body():
        alice = await xmpp.client(server, 'alice', resource='pinger', plugins=['xep_0199'])
        await xmpp.client(server, 'bob', resource='pingee', plugins=['xep_0199'])
        iq = await xmpp.ping(alice, to=server.jid('bob', 'pingee'))
        assert iq['type'] == 'result'
        assert str(iq['from']) == server.jid('bob', 'pingee')
    xmpp.run(body)


def test_version(server, xmpp):
    async def body():
        c = await xmpp.client(server, 'alice', plugins=['xep_0092'])
        iq = await c['xep_0092'].get_version('localhost', timeout=5)
        query = iq.xml.find('{jabber:iq:version}query')
        assert query is not None, iq
        assert query.findtext('{jabber:iq:version}name') == 'Taube'
        assert (query.findtext('{jabber:iq:version}version') or '').strip()
        assert query.find('{jabber:iq:version}os') is None, 'os given although show_os is off'
    xmpp.run(body)


def test_entity_time(server, xmpp):
    async def body():
        c = await xmpp.client(server, 'alice', plugins=['xep_0202'])
        iq = await c['xep_0202'].get_entity_time('localhost', timeout=5)
        t = iq.xml.find('{urn:xmpp:time}time')
        assert t is not None, iq
        tzo = t.findtext('{urn:xmpp:time}tzo')
        utc = t.findtext('{urn:xmpp:time}utc')
        assert re.fullmatch(r'Z|[+-]\d\d:\d\d', tzo or ''), tzo
        m = re.fullmatch(r'(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z', utc or '')
        assert m, utc
        then = datetime.datetime.strptime(m.group(1), '%Y-%m-%dT%H:%M:%S')
        now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        assert abs((now - then).total_seconds()) < 60, (utc, now)
    xmpp.run(body)


@pytest.fixture(scope='module')
def raw_alice(server):
    raw = login(server, 'alice', 'raw')
    yield raw
    raw.close()


@pytest.mark.parametrize('typ', ['get', 'set'])
@pytest.mark.parametrize('to', ['localhost', 'bob@localhost', None])
def test_unknown_namespace_is_service_unavailable(raw_alice, typ, to):
    """At the server, at a bare JID and without 'to' (both handled on
    the account's behalf, RFC 6120 10.3.3, RFC 6121 8.5.2)."""
    el = raw_alice.iq("<query xmlns='urn:example:no-such-thing'/>", to=to, typ=typ,
                      iq_id='u-%s-%s' % (typ, to))
    assert el.get('type') == 'error', ET.tostring(el)
    assert stanza_error_condition(el) == 'service-unavailable', ET.tostring(el)
    assert el.find(q(CLIENT_NS, 'error')).get('type') == 'cancel'


def test_ping_without_to_is_answered_for_the_account(raw_alice):
    """RFC 6120 10.3.3: the server answers on the account's behalf, as
    its bare JID: the answer carries no 'from' (RFC 6120 8.1.2.1)."""
    el = raw_alice.iq("<ping xmlns='urn:xmpp:ping'/>", iq_id='ping-no-to')
    assert el.get('type') == 'result', ET.tostring(el)
    assert el.get('from') is None, ET.tostring(el)
    assert el.get('to') == raw_alice.full, ET.tostring(el)


def test_ping_own_bare_jid(raw_alice):
    el = raw_alice.iq("<ping xmlns='urn:xmpp:ping'/>", to='alice@localhost', iq_id='ping-own')
    assert el.get('type') == 'result', ET.tostring(el)
    assert el.get('from') == 'alice@localhost', ET.tostring(el)


@pytest.mark.parametrize('to', ['bob@localhost', 'nobody-at-all@localhost'])
def test_ping_to_a_strangers_bare_jid_reveals_nothing(raw_alice, to):
    """Someone who may not see the account's presence gets the answer an
    account that does not exist gets (like disco#info, XEP-0030 8)."""
    el = raw_alice.iq("<ping xmlns='urn:xmpp:ping'/>", to=to, iq_id='ping-%s' % to)
    assert el.get('type') == 'error', ET.tostring(el)
    assert stanza_error_condition(el) == 'service-unavailable', ET.tostring(el)


# What a client asks without 'to', answered for its own account.
NO_TO_RESULTS = {
    'roster': "<query xmlns='jabber:iq:roster'/>",
    'vcard': "<vCard xmlns='vcard-temp'/>",
    'blocklist': "<blocklist xmlns='urn:xmpp:blocking'/>",
    'private': "<query xmlns='jabber:iq:private'><x xmlns='urn:example:p'/></query>",
    'last': "<query xmlns='jabber:iq:last'/>",
    'register': "<query xmlns='jabber:iq:register'/>",
    'disco-items': "<query xmlns='%s'/>" % DISCO_ITEMS,
}


@pytest.mark.parametrize('name', sorted(NO_TO_RESULTS))
def test_other_iqs_without_to_keep_working(raw_alice, name):
    el = raw_alice.iq(NO_TO_RESULTS[name], iq_id='noto-%s' % name)
    assert el.get('type') == 'result', ET.tostring(el)


@pytest.mark.parametrize('payload', ["<query xmlns='jabber:iq:version'/>",
                                     "<time xmlns='urn:xmpp:time'/>"])
def test_client_software_queries_without_to_are_not_the_servers(raw_alice, payload):
    """Version and time of the account's client are not the server's to
    give (RFC 6121 8.5.2.1.3): service-unavailable, not the server's own."""
    el = raw_alice.iq(payload, iq_id='sw')
    assert el.get('type') == 'error', ET.tostring(el)
    assert stanza_error_condition(el) == 'service-unavailable', ET.tostring(el)


@pytest.mark.parametrize('bad', ['bad@@jid', 'a@b@c', '@localhost', 'user@', 'x@localhost/'])
def test_malformed_to_is_jid_malformed(raw_alice, bad):
    el = raw_alice.iq("<ping xmlns='urn:xmpp:ping'/>", to=bad, iq_id='bad-%s' % bad)
    assert el.get('type') == 'error', ET.tostring(el)
    assert stanza_error_condition(el) == 'jid-malformed', ET.tostring(el)


def test_malformed_to_on_message(raw_alice):
    raw_alice.send("<message to='bad@@jid' id='mbad'><body>x</body></message>")
    el = raw_alice.next_element()
    assert el.tag == q(CLIENT_NS, 'message'), ET.tostring(el)
    assert el.get('type') == 'error' and el.get('id') == 'mbad', ET.tostring(el)
    assert stanza_error_condition(el) == 'jid-malformed', ET.tostring(el)


def test_error_keeps_the_session(raw_alice):
    """After all those errors the same stream still works."""
    el = raw_alice.iq("<ping xmlns='urn:xmpp:ping'/>", to='localhost', iq_id='still')
    assert el.get('type') == 'result', ET.tostring(el)


def test_version_show_os(make_server, xmpp):
    srv = make_server({('version', 'show_os'): 'true', ('version', 'name'): 'Dove'})

    async def body():
        c = await xmpp.client(srv, 'alice', plugins=['xep_0092'])
        iq = await c['xep_0092'].get_version('localhost', timeout=5)
        query = iq.xml.find('{jabber:iq:version}query')
        assert query.findtext('{jabber:iq:version}name') == 'Dove'
        assert (query.findtext('{jabber:iq:version}os') or '').strip(), 'no <os/> with show_os'
    xmpp.run(body)


def test_server_pings_idle_client_and_drops_a_dead_one(make_server):
    """XEP-0199 server-to-client: after limits.idle_timeout the server
    pings; an answer keeps the session, silence for limits.ping_timeout
    ends it with <connection-timeout/>. (The server checks both on its
    once-a-second tick; the alive client's next ping comes at least
    idle_timeout after its answer, well after the last check below.)"""
    srv = make_server({('limits', 'idle_timeout'): '1500ms', ('limits', 'ping_timeout'): '1s'})
    with RawXMPP(srv.c2s_port, timeout=20) as alive, RawXMPP(srv.c2s_port, timeout=20) as dead:
        me = alive.login('alice', srv.passwords['alice'], resource='idle')
        dead.login('bob', srv.passwords['bob'], resource='dead')
        el = alive.next_element(timeout=15)
        assert el.tag == q(CLIENT_NS, 'iq') and el.get('type') == 'get', ET.tostring(el)
        assert el.find('{urn:xmpp:ping}ping') is not None, ET.tostring(el)
        assert el.get('to') == me, ET.tostring(el)
        alive.send("<iq type='result' id='%s' to='localhost'/>" % el.get('id'))
        # The silent client is pinged too, then dropped as dead.
        ping = dead.next_element(timeout=15)
        assert ping.find('{urn:xmpp:ping}ping') is not None, ET.tostring(ping)
        assert dead.expect_stream_error(timeout=15) == 'connection-timeout'
        dead.assert_closed_after_error()
        answer = alive.iq("<ping xmlns='urn:xmpp:ping'/>", to='localhost', iq_id='after')
        assert answer.get('type') == 'result'
