"""Messages between two online users, to full and bare JIDs."""

import asyncio
import xml.etree.ElementTree as ET

from xmppraw import CLIENT_NS, login, q, stanza_error_condition

TEXT = 'a < b & "c" \'d\' ]]> — grüße 🐦'


def inbox(c):
    """A queue of the messages c receives."""
    box = asyncio.Queue()
    c.add_event_handler('message', box.put_nowait)
    return box


def test_message_to_full_jid(server, xmpp):
    async def body():
        alice = await xmpp.client(server, 'alice', resource='a1')
        bob = await xmpp.client(server, 'bob', resource='b1')
        box = inbox(bob)
        alice.send_message(mto=server.jid('bob', 'b1'), mbody=TEXT, mtype='chat')
        msg = await asyncio.wait_for(box.get(), 5)
        assert msg['body'] == TEXT
        assert str(msg['from']) == server.jid('alice', 'a1')
        assert str(msg['to']) == server.jid('bob', 'b1')
        assert msg['type'] == 'chat'
    xmpp.run(body)


def test_message_to_bare_jid_reaches_available_resource(server, xmpp):
    async def body():
        alice = await xmpp.client(server, 'alice', resource='a2')
        bob = await xmpp.client(server, 'bob', resource='b2', plugins=['xep_0199'])
        box = inbox(bob)
        bob.send_presence()
        # A round trip on bob's stream: the server has seen the presence.
        await xmpp.ping(bob)
        alice.send_message(mto=server.jid('bob'), mbody='bare hello', mtype='chat')
        msg = await asyncio.wait_for(box.get(), 5)
        assert msg['body'] == 'bare hello'
        assert str(msg['from']) == server.jid('alice', 'a2')
    xmpp.run(body)


def test_unknown_extension_is_forwarded_intact(server, xmpp):
    async def body():
        alice = await xmpp.client(server, 'alice', resource='a3')
        bob = await xmpp.client(server, 'bob', resource='b3')
        box = inbox(bob)
        msg = alice.make_message(mto=server.jid('bob', 'b3'), mbody='with payload')
        ext = ET.Element('{urn:example:taube-test}x', {'attr': 'v&<>"'})
        ET.SubElement(ext, '{urn:example:taube-test}y').text = 'inner'
        msg.append(ext)
        msg['thread'] = 'thread-1'
        msg.send()
        got = await asyncio.wait_for(box.get(), 5)
        x = got.xml.find('{urn:example:taube-test}x')
        assert x is not None, 'extension element dropped: %s' % got
        assert x.get('attr') == 'v&<>"'
        assert x.findtext('{urn:example:taube-test}y') == 'inner'
        assert got['thread'] == 'thread-1'
    xmpp.run(body)


def test_character_references_are_decoded(server):
    alice = login(server, 'alice', 'r1')
    bob = login(server, 'bob', 'r1')
    with alice, bob:
        alice.send("<message to='%s' id='c1'><body>&amp;&lt;&gt;&quot;&apos;&#x1F426;&#65;"
                   "</body></message>" % bob.full)
        msg = bob.next_element()
        assert msg.tag == q(CLIENT_NS, 'message'), ET.tostring(msg)
        assert msg.findtext(q(CLIENT_NS, 'body')) == '&<>"\'🐦A'


def test_spoofed_from_closes_the_stream(server):
    """RFC 6120 8.1.2.1: a 'from' that is not the sender's own JID ends
    its stream with <invalid-from/>; nothing reaches the addressee."""
    alice = login(server, 'alice', 'spoofer')
    bob = login(server, 'bob', 'victim')
    with alice, bob:
        alice.send("<message from='carol@localhost/evil' to='%s' id='s1'><body>spoof</body>"
                   "</message>" % bob.full)
        assert alice.expect_stream_error() == 'invalid-from'
        alice.assert_closed_after_error()
        bob.sync()
        assert bob.collect(0.2) == []


def test_message_to_unknown_local_user_is_not_delivered_elsewhere(server):
    """A message to a user who does not exist reaches nobody and bounces
    with service-unavailable (RFC 6121 8.5.1, the choice this server makes)."""
    alice = login(server, 'alice', 'u1')
    bob = login(server, 'bob', 'u1')
    with alice, bob:
        alice.send("<message to='nobody@localhost' id='n1' type='chat'><body>x</body></message>")
        err = alice.next_element(timeout=5)
        assert err.get('type') == 'error' and err.get('id') == 'n1', ET.tostring(err)
        assert stanza_error_condition(err) == 'service-unavailable', ET.tostring(err)
        bob.sync()
        assert bob.collect(0.2) == []


def test_a_burst_in_one_write_arrives_whole_and_in_order(make_server):
    """A client's burst is kept, unread, while it waits for a store commit
    (an iq after messages to an offline account: net/c2s_hold.c) and fed
    after it. In one write: 400 messages to an online account, 200 to an
    offline one, a ping, 200 more, a ping. Everything arrives, each
    stream in order; the offline account gets its 400 in order at its
    next login."""
    from xmppraw import PING_NS, new_user, offline_count
    srv = make_server({('limits', 'read_rate'): '1GiB', ('limits', 'read_burst'): '1GiB'})
    away = new_user(srv, 'away')
    a, b = login(srv, 'alice', 'a', priority=0), login(srv, 'bob', 'b', priority=0)
    try:
        def msg(to, n):
            return "<message to='%s' type='chat' id='m%d'><body>%d</body></message>" % (to, n, n)
        burst = [msg('bob@localhost/b', n) for n in range(400)]
        burst += [msg('%s@localhost' % away, n) for n in range(200)]
        burst.append("<iq type='get' id='p1'><ping xmlns='%s'/></iq>" % PING_NS)
        burst += [msg('%s@localhost' % away, n) for n in range(200, 400)]
        burst.append("<iq type='get' id='p2'><ping xmlns='%s'/></iq>" % PING_NS)
        a.send(''.join(burst))
        for i in ('p1', 'p2'):
            res = a.expect(lambda e, i=i: e.tag == q(CLIENT_NS, 'iq') and e.get('id') == i,
                           what='pong %s' % i)
            assert res.get('type') == 'result'
        got = []
        while len(got) < 400:
            el = b.expect(lambda e: e.tag == q(CLIENT_NS, 'message'), what='message %d' % len(got))
            got.append(int(el.findtext(q(CLIENT_NS, 'body'))))
        assert got == list(range(400))
        assert offline_count(srv, away) == 400
    finally:
        a.close()
        b.close()
    c = login(srv, away, 'x')
    try:
        c.send('<presence/>')
        got = []
        while len(got) < 400:
            el = c.expect(lambda e: e.tag == q(CLIENT_NS, 'message'), what='stored %d' % len(got))
            got.append(int(el.findtext(q(CLIENT_NS, 'body'))))
        assert got == list(range(400))
    finally:
        c.close()
