"""Blocking command (XEP-0191, promise P22): the list, pushes to the
resources that asked for it, what blocked JIDs can no longer do, and
what the user can no longer send them."""

import xml.etree.ElementTree as ET

from xmppraw import (CLIENT_NS, bodies, errors, login, new_user, offline_count, q, send_msg,
                     stanza_error_condition, subscribe_both)

NS = 'urn:xmpp:blocking'


def items(el, name):
    node = el.find('{%s}%s' % (NS, name))
    assert node is not None, ET.tostring(el)
    return sorted(i.get('jid') for i in node.findall('{%s}item' % NS))


def blocklist(raw):
    el = raw.iq("<blocklist xmlns='%s'/>" % NS, iq_id='bl')
    assert el.get('type') == 'result', ET.tostring(el)
    return items(el, 'blocklist')


def block(raw, *jids, name='block', iq_id='blk'):
    payload = ''.join("<item jid='%s'/>" % j for j in jids)
    return raw.iq("<%s xmlns='%s'>%s</%s>" % (name, NS, payload, name), typ='set', iq_id=iq_id)


def pushed(raw):
    """The push a session that asked for the list gets (XEP-0191 §3.3)."""
    return raw.expect(lambda e: e.tag == q(CLIENT_NS, 'iq') and e.get('type') == 'set',
                      what='blocking push')


def test_feature_advertised(server):
    raw = login(server, 'alice', 'disco')
    with raw:
        el = raw.iq("<query xmlns='http://jabber.org/protocol/disco#info'/>", to='localhost')
        feats = [f.get('var') for f in
                 el.iter('{http://jabber.org/protocol/disco#info}feature')]
        assert NS in feats


def test_block_stops_message_presence_iq_and_unblock_restores(server):
    u = new_user(server)
    spam = new_user(server, 'spam')
    me = login(server, u, 'r', priority=0)
    them = login(server, spam, 's', priority=0)
    with me, them:
        assert blocklist(me) == []
        assert block(me, '%s@localhost' % spam).get('type') == 'result'
        assert items(pushed(me), 'block') == ['%s@localhost' % spam]
        assert blocklist(me) == ['%s@localhost' % spam]
        # Inbound: message bounces, presence vanishes, iq bounces.
        send_msg(them, '%s@localhost' % u, 'chat', 'hi', mid='m1')
        them.send("<presence to='%s@localhost/r'/>" % u)
        them.send("<iq type='get' id='v1' to='%s@localhost/r'>"
                  "<query xmlns='jabber:iq:version'/></iq>" % u)
        them.sync()
        got = them.collect(0.5, tag=('message', 'iq', 'presence'))
        assert sorted(errors(got)) == [('m1', 'service-unavailable'),
                                       ('v1', 'service-unavailable')]
        assert me.collect(0.3, tag=('message', 'presence', 'iq')) == []
        assert offline_count(server, u) == 0  # not stored either
        # Outbound: not-acceptable with <blocked/>.
        send_msg(me, them.full, 'chat', 'out', mid='o1')
        el = me.collect(0.5)
        assert len(el) == 1 and el[0].get('type') == 'error', [ET.tostring(e) for e in el]
        assert stanza_error_condition(el[0]) == 'not-acceptable'
        assert el[0].find('%s/{urn:xmpp:blocking:errors}blocked' % q(CLIENT_NS, 'error')) \
            is not None
        assert them.collect(0.2) == []
        # Unblock: both ways work again.
        assert block(me, '%s@localhost' % spam, name='unblock').get('type') == 'result'
        assert blocklist(me) == []
        send_msg(them, '%s@localhost/r' % u, 'chat', 'again', mid='m2')
        send_msg(me, them.full, 'chat', 'back', mid='o2')
        them.sync()
        me.sync()
        assert bodies(me.collect(0.4)) == ['again']
        assert bodies(them.collect(0.4)) == ['back']


def test_blocked_while_offline_is_not_stored(server):
    u = new_user(server)
    me = login(server, u, 'r')
    with me:
        assert block(me, 'alice@localhost').get('type') == 'result'
    sender = login(server, 'alice', 'x')
    with sender:
        send_msg(sender, '%s@localhost' % u, 'chat', 'hello', mid='off1')
        sender.sync()
        assert errors(sender.collect(0.4)) == [('off1', 'service-unavailable')]
    assert offline_count(server, u) == 0


def test_matching_domain_and_full_jid(server):
    u = new_user(server)
    me = login(server, u, 'r', priority=0)
    a1 = login(server, 'alice', 'one', priority=0)
    a2 = login(server, 'alice', 'two', priority=0)
    with me, a1, a2:
        # A full JID blocks only that resource.
        assert block(me, a1.full).get('type') == 'result'
        send_msg(a1, '%s@localhost' % u, 'chat', 'from-one', mid='f1')
        send_msg(a2, '%s@localhost' % u, 'chat', 'from-two', mid='f2')
        a1.sync()
        a2.sync()
        assert bodies(me.collect(0.4)) == ['from-two']
        # A remote domain blocks everyone there (outbound check).
        assert block(me, 'evil.example').get('type') == 'result'
        send_msg(me, 'someone@evil.example/x', 'chat', 'nope', mid='ev')
        el = me.collect(0.4)
        assert errors(el) == [('ev', 'not-acceptable')]
        # Our own domain on the list does not cut the user off the server.
        assert block(me, 'localhost').get('type') == 'result'
        pong = me.iq("<ping xmlns='urn:xmpp:ping'/>", to='localhost', iq_id='p1')
        assert pong.get('type') == 'result', ET.tostring(pong)
        assert blocklist(me) == sorted([a1.full, 'evil.example', 'localhost'])


def test_pushes_go_to_resources_that_asked(server):
    u = new_user(server)
    r1 = login(server, u, 'one')
    r2 = login(server, u, 'two')
    r3 = login(server, u, 'three')  # never asks for the list
    with r1, r2, r3:
        blocklist(r1)
        blocklist(r2)
        assert block(r1, 'x@example.net', 'Y@Example.NET').get('type') == 'result'
        for r in (r1, r2):
            pushes = r.collect(0.5, tag='iq')
            assert len(pushes) == 1, [ET.tostring(p) for p in pushes]
            assert pushes[0].get('type') == 'set'
            # Items are pushed as prepared JIDs.
            assert items(pushes[0], 'block') == ['x@example.net', 'y@example.net']
        assert r3.collect(0.3, tag='iq') == []
        # Unblock all: an empty <unblock/>, pushed as such.
        assert block(r2, name='unblock', iq_id='ua').get('type') == 'result'
        for r in (r1, r2):
            pushes = r.collect(0.5, tag='iq')
            assert len(pushes) == 1 and items(pushes[0], 'unblock') == []
        assert blocklist(r3) == []


def test_bad_requests(server):
    u = new_user(server)
    me = login(server, u, 'r')
    with me:
        el = block(me, iq_id='empty')
        assert stanza_error_condition(el) == 'bad-request', ET.tostring(el)
        el = block(me, 'good@example.net', 'bad@@example.net', iq_id='mal')
        assert stanza_error_condition(el) == 'jid-malformed', ET.tostring(el)
        el = block(me, 'x@example.net', name='unblock', iq_id='mal2')
        assert el.get('type') == 'result'
        el = me.iq("<unblock xmlns='%s'><item jid='a@b@c'/></unblock>" % NS, typ='set',
                   iq_id='mal3')
        assert stanza_error_condition(el) == 'jid-malformed', ET.tostring(el)
        assert blocklist(me) == []  # nothing of the failed request was kept
        # Someone else's list is not reachable.
        el = me.iq("<blocklist xmlns='%s'/>" % NS, to='alice@localhost', iq_id='other')
        assert stanza_error_condition(el) == 'service-unavailable', ET.tostring(el)


def test_limit_and_persistence(make_server):
    srv = make_server({('blocking', 'max_items'): '2'})
    me = login(srv, 'alice', 'r')
    with me:
        assert block(me, 'a@example.net', 'b@example.net').get('type') == 'result'
        el = block(me, 'c@example.net', iq_id='over')
        assert stanza_error_condition(el) == 'resource-constraint', ET.tostring(el)
    srv.stop()
    srv.start()
    me = login(srv, 'alice', 'r2')
    with me:
        assert blocklist(me) == ['a@example.net', 'b@example.net']
    srv.check_clean_exit()


def test_blocked_contact_sees_no_presence(server):
    """XEP-0191 §3.3: a contact the user blocked gets none of the
    presence the server sends on the user's behalf — neither broadcasts
    nor the answer to its login probe."""
    u = new_user(server, 'bp')
    c = new_user(server, 'bq')
    me, them = login(server, u, 'r'), login(server, c, 's')
    try:
        me.interested()
        them.interested()
        subscribe_both(me, them)
        me.iq("<block xmlns='%s'><item jid='%s'/></block>" % (NS, them.bare),
              typ='set', iq_id='blk')
        them.sync()
        them.queue.clear()  # what arrived before the block
        me.send("<presence><show>away</show></presence>")
        me.sync()
        them.sync()
        assert not [e for e in them.queue if e.tag == q(CLIENT_NS, 'presence')
                    and e.get('from', '').startswith(me.bare)], \
            [ET.tostring(e) for e in them.queue]
        # A new session of the blocked contact probes: no presence of ours.
        again = login(server, c, 's2')
        try:
            again.send("<presence/>")
            again.presence(again.full)
            again.sync()
            assert not [e for e in again.queue if e.tag == q(CLIENT_NS, 'presence')
                        and e.get('from', '').startswith(me.bare)]
        finally:
            again.close()
        # Unblocked: the next broadcast reaches the contact again.
        me.iq("<unblock xmlns='%s'><item jid='%s'/></unblock>" % (NS, them.bare),
              typ='set', iq_id='ublk')
        me.send("<presence/>")
        them.presence(me.full)
    finally:
        me.close()
        them.close()
