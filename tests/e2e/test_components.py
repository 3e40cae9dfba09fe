"""External components (XEP-0114, issue 8): a component host in the
hosts table, the handshake, routing both ways, and the stream and stanza
errors the XEP and RFC 6120 prescribe. slixmpp's ComponentXMPP is the
well-behaved component; raw sockets make the broken ones."""

import asyncio
import hashlib
import subprocess
import xml.etree.ElementTree as ET

import pytest

from conftest import DOMAIN, TAUBE, free_ports
from xmppraw import CLIENT_NS, STANZA_ERR_NS, RawXMPP, q

COMPONENT_NS = 'jabber:component:accept'
SECRET = 'a component secret, long enough'
# One component domain per test that connects, so that a component
# closed by one test cannot still be attached when the next one starts.
BOTS = ['echo', 'iq', 'gone', 'raw', 'conflict', 'from', 'addr', 'wrong']


def bot(name):
    return '%s.%s' % (name, DOMAIN)


@pytest.fixture(scope='module')
def comp_server(tmp_path_factory):
    from conftest import TaubeServer
    port = free_ports(1)[0]
    secrets = ', '.join('"%s": "%s"' % (bot(b), SECRET) for b in BOTS)
    srv = TaubeServer(tmp_path_factory.mktemp('taube'),
                      {('component', 'port'): str(port),
                       ('component', 'secrets'): '{%s}' % secrets})
    srv.component_port = port
    srv.start()
    yield srv
    srv.check_clean_exit()


async def component(srv, name, plugins=()):
    """A connected slixmpp ComponentXMPP for bot(name)."""
    from slixmpp.componentxmpp import ComponentXMPP
    c = ComponentXMPP(bot(name), SECRET, '127.0.0.1', srv.component_port)
    for p in plugins:
        c.register_plugin(p)
    started = asyncio.get_running_loop().create_future()
    c.add_event_handler('session_start', lambda _e: started.done() or started.set_result(True))
    c.connect()
    await asyncio.wait_for(started, 5)
    return c


async def disconnect(c):
    await asyncio.wait_for(c.disconnect(wait=0.5), 3)


def test_user_and_component_exchange_messages(comp_server, xmpp):
    srv = comp_server

    async def body():
        from slixmpp import JID
        comp = await component(srv, 'echo')
        got = asyncio.Queue()

        def echo(msg):
            got.put_nowait(msg)
            comp.send_message(mto=msg['from'], mfrom=JID('echo@' + bot('echo')),
                              mbody='echo: ' + msg['body'], mtype='chat')
        comp.add_event_handler('message', echo)
        alice = await xmpp.client(srv, 'alice', resource='c', plugins=['xep_0199'])
        inbox = asyncio.Queue()
        alice.add_event_handler('message', inbox.put_nowait)
        alice.send_message(mto='echo@' + bot('echo'), mbody='hello component', mtype='chat')
        seen = await asyncio.wait_for(got.get(), 5)
        assert str(seen['from']) == srv.jid('alice', 'c')
        assert str(seen['to']) == 'echo@' + bot('echo')
        reply = await asyncio.wait_for(inbox.get(), 5)
        assert reply['body'] == 'echo: hello component'
        assert str(reply['from']) == 'echo@' + bot('echo')
        assert reply['type'] == 'chat'
        # The component may address a user's bare JID too (an available
        # resource gets it; the ping makes sure the presence was handled).
        alice.send_presence()
        await xmpp.ping(alice)
        comp.send_message(mto=srv.jid('alice'), mfrom=JID(bot('echo')), mbody='to the bare JID',
                          mtype='chat')
        msg = await asyncio.wait_for(inbox.get(), 5)
        assert msg['body'] == 'to the bare JID' and str(msg['from']) == bot('echo')
        await disconnect(comp)
    xmpp.run(body)


def test_iq_to_the_component_and_after_it_left(comp_server, xmpp):
    """The component answers iqs for its domain itself; once it is gone
    the user gets service-unavailable (RFC 6120 §10.5, as for an entity
    that does not exist), and a message bounces the same way."""
    srv = comp_server

    async def body():
        comp = await component(srv, 'iq', plugins=['xep_0199'])
        alice = await xmpp.client(srv, 'alice', resource='i', plugins=['xep_0199'])
        await xmpp.ping(alice, to=bot('iq'))
        await xmpp.ping(alice, to='someone@' + bot('iq') + '/res')
        await disconnect(comp)
        await asyncio.sleep(0.2)
        from slixmpp.exceptions import IqError
        with pytest.raises(IqError) as e:
            await xmpp.ping(alice, to=bot('iq'))
        assert e.value.iq['error']['condition'] == 'service-unavailable'
        assert e.value.iq['error']['type'] == 'cancel'
        errors = asyncio.Queue()
        alice.add_event_handler('message_error', errors.put_nowait)
        alice.send_message(mto='x@' + bot('iq'), mbody='anyone there?', mtype='chat')
        err = await asyncio.wait_for(errors.get(), 5)
        assert err['error']['condition'] == 'service-unavailable'
        assert str(err['from']) == 'x@' + bot('iq')
    xmpp.run(body)


def test_unconnected_component_bounces(comp_server, xmpp):
    """A configured component that never connected: the same answer."""
    srv = comp_server

    async def body():
        alice = await xmpp.client(srv, 'alice', resource='g', plugins=['xep_0199'])
        from slixmpp.exceptions import IqError
        with pytest.raises(IqError) as e:
            await xmpp.ping(alice, to=bot('gone'))
        assert e.value.iq['error']['condition'] == 'service-unavailable'
    xmpp.run(body)


# ---- raw component streams -----------------------------------------------------

def stanza_error_condition(el):
    """The condition of a stanza error in the component's namespace."""
    err = el.find(q(COMPONENT_NS, 'error'))
    for child in (err if err is not None else []):
        if child.tag.startswith('{%s}' % STANZA_ERR_NS) and not child.tag.endswith('}text'):
            return child.tag.split('}')[1]
    return None


def digest(stream_id, secret=SECRET):
    return hashlib.sha1((stream_id + secret).encode()).hexdigest()


def open_component(srv, domain):
    raw = RawXMPP(srv.component_port)
    raw.open_stream(to=domain, version=None, ns=COMPONENT_NS)
    return raw


def handshake(raw, secret=SECRET, upper=False):
    header = raw.wait_header()
    assert header.tag == q('http://etherx.jabber.org/streams', 'stream')
    d = digest(header.get('id'), secret)
    raw.send('<handshake>%s</handshake>' % (d.upper() if upper else d))
    return raw.next_element()


def connected(srv, name, upper=False):
    raw = open_component(srv, bot(name))
    el = handshake(raw, upper=upper)
    assert el.tag == q(COMPONENT_NS, 'handshake') and not el.text and len(el) == 0, \
        ET.tostring(el)
    return raw


def test_raw_handshake_and_header(comp_server):
    with open_component(comp_server, bot('raw').upper()) as raw:
        header = raw.wait_header()
        assert header.get('from') == bot('raw')
        assert len(header.get('id')) >= 16
        raw.send('<handshake>%s</handshake>' % digest(header.get('id')).upper())
        el = raw.next_element()
        assert el.tag == q(COMPONENT_NS, 'handshake'), ET.tostring(el)


def test_wrong_secret_is_not_authorized(comp_server):
    with open_component(comp_server, bot('wrong')) as raw:
        header = raw.wait_header()
        raw.send('<handshake>%s</handshake>' % digest(header.get('id'), SECRET + 'x'))
        assert raw.expect_stream_error() == 'not-authorized'
        raw.assert_closed_after_error()
    # A stanza instead of the handshake is no better.
    with open_component(comp_server, bot('wrong')) as raw:
        raw.wait_header()
        raw.send("<message to='alice@localhost' from='%s'><body>hi</body></message>" % bot('wrong'))
        assert raw.expect_stream_error() == 'not-authorized'
        raw.assert_closed_after_error()


@pytest.mark.parametrize('domain', ['unknown.' + DOMAIN, DOMAIN, 'example.org'])
def test_unknown_domain_is_host_unknown(comp_server, domain):
    """Only a configured component's domain: not the server's own, not
    another one."""
    with open_component(comp_server, domain) as raw:
        assert raw.expect_stream_error() == 'host-unknown'
        raw.assert_closed_after_error()


def test_wrong_namespace_is_invalid_namespace(comp_server):
    with RawXMPP(comp_server.component_port) as raw:
        raw.open_stream(to=bot('raw'), version=None, ns=CLIENT_NS)
        assert raw.expect_stream_error() == 'invalid-namespace'
        raw.assert_closed_after_error()


def test_second_connection_is_conflict(comp_server):
    with connected(comp_server, 'conflict') as first:
        with open_component(comp_server, bot('conflict')) as second:
            assert second.expect_stream_error() == 'conflict'
            second.assert_closed_after_error()
        # The first one still works.
        first.send("<iq type='get' id='p1' from='%s' to='%s'><ping xmlns='urn:xmpp:ping'/></iq>"
                   % (bot('conflict'), DOMAIN))
        el = first.next_element()
        assert el.tag == q(COMPONENT_NS, 'iq') and el.get('type') == 'result', ET.tostring(el)
        assert el.get('from') == DOMAIN and el.get('to') == bot('conflict')


@pytest.mark.parametrize('sender', ['other.' + DOMAIN, 'alice@' + DOMAIN,
                                    'x@sub.' + 'from.' + DOMAIN, 'not a jid@@'])
def test_from_outside_its_domain_is_invalid_from(comp_server, sender):
    with connected(comp_server, 'from') as raw:
        raw.send("<message from='%s' to='alice@%s'><body>spoof</body></message>" % (sender, DOMAIN))
        assert raw.expect_stream_error() == 'invalid-from'
        raw.assert_closed_after_error()


@pytest.mark.parametrize('attrs', ["to='alice@localhost'", "from='addr.localhost'", ''])
def test_missing_address_is_improper_addressing(comp_server, attrs):
    with connected(comp_server, 'addr') as raw:
        raw.send('<message %s><body>x</body></message>' % attrs)
        assert raw.expect_stream_error() == 'improper-addressing'
        raw.assert_closed_after_error()


def test_component_stanzas_reach_users_and_errors_come_back(comp_server, xmpp):
    """Sent raw (the component's namespace, users at any name of its
    domain), received by a slixmpp client in jabber:client; an iq to a
    user who does not exist comes back as service-unavailable, a
    malformed 'to' as jid-malformed."""
    srv = comp_server

    async def body():
        bob = await xmpp.client(srv, 'bob', resource='r')
        inbox = asyncio.Queue()
        bob.add_event_handler('message', inbox.put_nowait)

        def raw_part():
            with connected(srv, 'raw', upper=True) as raw:
                raw.send("<message from='room@%s/nick' to='bob@%s/r' type='chat'>"
                         "<body>from a component</body>"
                         "<x xmlns='urn:example:extra'><y/></x></message>" % (bot('raw'), DOMAIN))
                raw.send("<iq type='get' id='v1' from='%s' to='nobody@%s'>"
                         "<query xmlns='jabber:iq:version'/></iq>" % (bot('raw'), DOMAIN))
                el = raw.next_element()
                assert el.tag == q(COMPONENT_NS, 'iq') and el.get('type') == 'error'
                assert stanza_error_condition(el) == 'service-unavailable', ET.tostring(el)
                raw.send("<message from='%s' to='a@b@c'><body>x</body></message>" % bot('raw'))
                el = raw.next_element()
                assert el.get('type') == 'error' and el.get('to') == bot('raw')
                assert stanza_error_condition(el) == 'jid-malformed', ET.tostring(el)
        await xmpp.blocking(raw_part)
        msg = await asyncio.wait_for(inbox.get(), 5)
        assert msg['body'] == 'from a component'
        assert str(msg['from']) == 'room@%s/nick' % bot('raw')
        assert msg.xml.find('{urn:example:extra}x/{urn:example:extra}y') is not None
        assert msg.xml.find('{%s}body' % CLIENT_NS) is not None
    xmpp.run(body)


def test_users_cannot_use_the_component_domain_as_a_host(comp_server):
    """A client stream to a component's domain is not one of ours."""
    with RawXMPP(comp_server.c2s_port, server_name=bot('echo')) as raw:
        raw.open_stream(to=bot('echo'))
        assert raw.expect_stream_error() == 'host-unknown'


# ---- configuration -------------------------------------------------------------

def test_check_refuses_bad_component_settings(comp_server):
    srv = comp_server
    cases = [
        ('{"%s": "short"}' % bot('x'), 'secret must be 16 to 1023'),
        ('{"%s": "%s"}' % (DOMAIN, SECRET), "is also in 'server.domains'"),
        ('["%s"]' % bot('x'), 'a mapping of domain: secret'),
    ]
    for value, want in cases:
        cfg = srv.dir / 'bad-component.yaml'
        from conftest import set_option
        cfg.write_text(set_option(srv.config.read_text(), 'component', 'secrets', value))
        p = subprocess.run([str(TAUBE), '-c', str(cfg), '--check'], capture_output=True,
                           text=True, timeout=30)
        assert p.returncode == 1 and want in p.stderr, (value, p.returncode, p.stderr)
        assert SECRET not in p.stderr
        cfg.unlink()


def test_check_warns_about_secrets_without_a_port(comp_server):
    from conftest import set_option
    cfg = comp_server.dir / 'no-port.yaml'
    cfg.write_text(set_option(comp_server.config.read_text(), 'component', 'port', '0'))
    p = subprocess.run([str(TAUBE), '-c', str(cfg), '--check'], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0, p.stderr
    assert 'warning: component.secrets lists %d component(s), but component.port is 0' % len(BOTS) \
        in p.stderr, p.stderr
    cfg.unlink()
    p = subprocess.run([str(TAUBE), '-c', str(comp_server.config), '--check'],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and 'warning' not in p.stderr, p.stderr


def test_shutdown_ends_component_streams(make_server):
    """SIGTERM: a connected component gets system-shutdown, one still in
    its handshake too, and the server exits cleanly."""
    port = free_ports(1)[0]
    srv = make_server({('component', 'port'): str(port),
                       ('component', 'secrets'): '{"%s": "%s", "%s": "%s"}' % (
                           bot('echo'), SECRET, bot('iq'), SECRET)})
    srv.component_port = port
    ready = connected(srv, 'echo')
    waiting = open_component(srv, bot('iq'))
    waiting.wait_header()
    srv.check_clean_exit()
    for raw in (ready, waiting):
        with raw:
            assert raw.expect_stream_error() == 'system-shutdown'
            raw.assert_closed_after_error()


def test_component_port_in_use_fails_start_up(make_server):
    import socket
    with socket.socket() as busy:
        busy.bind(('127.0.0.1', 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        srv = make_server({('component', 'port'): str(port),
                           ('component', 'secrets'): '{"%s": "%s"}' % (bot('echo'), SECRET)},
                          start=False)
        p = subprocess.run([str(TAUBE), '-c', str(srv.config)], capture_output=True, text=True,
                           timeout=30)
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert 'cannot listen on the component port %d' % port in p.stderr, p.stderr
    from conftest import SANITIZER_MARKS
    assert not any(m in p.stderr for m in SANITIZER_MARKS), p.stderr


def test_handshake_timeout(make_server):
    """A component that connects and does not shake hands within
    limits.auth_timeout gets connection-timeout (checked on the
    once-a-second tick: up to a second late)."""
    import time
    port = free_ports(1)[0]
    srv = make_server({('component', 'port'): str(port), ('limits', 'auth_timeout'): '800ms',
                       ('component', 'secrets'): '{"%s": "%s"}' % (bot('echo'), SECRET)})
    srv.component_port = port
    start = time.monotonic()
    with open_component(srv, bot('echo')) as raw:
        raw.wait_header()
        assert raw.expect_stream_error(timeout=5) == 'connection-timeout'
        raw.assert_closed_after_error()
    assert 0.7 <= time.monotonic() - start <= 4
    with connected(srv, 'echo') as raw:  # a component that did shake hands stays
        time.sleep(1.5)
        raw.send("<iq type='get' id='p1' from='%s' to='%s'><ping xmlns='urn:xmpp:ping'/></iq>"
                 % (bot('echo'), DOMAIN))
        assert raw.next_element().get('type') == 'result'
    srv.check_clean_exit()
