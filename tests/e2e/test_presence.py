"""Presence (RFC 6121 section 4): broadcast to subscribers and to one's
own resources, probes answered at login, directed presence and its
unavailable at logout, unavailable on an abrupt disconnect, priority,
bare-JID delivery, invalid types."""

import socket
import xml.etree.ElementTree as ET

from xmppraw import CLIENT_NS, login, q, stanza_error_condition, subscribe_both


def online(srv, user, res, extra=''):
    c = login(srv, user, res)
    c.roster()
    c.available(extra)
    return c


def friends(srv):
    """alice and bob with a mutual subscription; both clients closed."""
    a, b = online(srv, 'alice', 'setup'), online(srv, 'bob', 'setup')
    subscribe_both(a, b)
    a.close()
    b.close()


def test_probes_at_login_and_broadcast(make_server):
    srv = make_server()
    friends(srv)
    bob = online(srv, 'bob', 'b1', "<show>dnd</show><status>busy &amp; more</status>"
                                    "<priority>5</priority>")
    try:
        alice = online(srv, 'alice', 'a1')
        try:
            # The probe is answered with bob's last presence, as he sent it.
            p = alice.presence('bob@localhost/b1')
            assert p.findtext(q(CLIENT_NS, 'show')) == 'dnd'
            assert p.findtext(q(CLIENT_NS, 'status')) == 'busy & more'
            assert p.findtext(q(CLIENT_NS, 'priority')) == '5'
            bob.presence('alice@localhost/a1')
            # A second resource: the first one and bob see it.
            a2 = online(srv, 'alice', 'a2', '<status>second</status>')
            try:
                a2.presence('bob@localhost/b1')
                alice.presence('alice@localhost/a2')
                got = bob.presence('alice@localhost/a2')
                assert got.findtext(q(CLIENT_NS, 'status')) == 'second'
                # Subsequent presence is broadcast too.
                a2.send('<presence><show>away</show></presence>')
                got = bob.presence('alice@localhost/a2')
                assert got.findtext(q(CLIENT_NS, 'show')) == 'away'
                alice.presence('alice@localhost/a2')
                # Graceful unavailable reaches contacts, the other resource and the sender.
                a2.send("<presence type='unavailable'><status>bye</status></presence>")
                got = bob.presence('alice@localhost/a2', 'unavailable')
                assert got.findtext(q(CLIENT_NS, 'status')) == 'bye'
                alice.presence('alice@localhost/a2', 'unavailable')
                a2.presence('alice@localhost/a2', 'unavailable')
            finally:
                a2.close()
        finally:
            alice.close()
    finally:
        bob.close()


def test_probe_of_offline_contact_gives_unavailable(make_server):
    srv = make_server()
    friends(srv)
    alice = online(srv, 'alice', 'a1')
    try:
        got = alice.presence('bob@localhost', 'unavailable')
        # 4.3.2 #3: with the time of bob's last logout.
        delay = got.find('{urn:xmpp:delay}delay')
        assert delay is not None and delay.get('stamp', '').endswith('Z'), ET.tostring(got)
    finally:
        alice.close()


def test_no_presence_to_non_subscribers(make_server):
    srv = make_server()
    carol = online(srv, 'carol', 'c')
    try:
        alice = online(srv, 'alice', 'a')
        try:
            alice.send('<presence><status>hi</status></presence>')
            alice.presence('alice@localhost/a')
            carol.no_presence('alice@localhost/a')
        finally:
            alice.close()
        carol.no_presence('alice@localhost/a')
    finally:
        carol.close()


def test_abrupt_disconnect_sends_unavailable(make_server):
    srv = make_server()
    friends(srv)
    bob = online(srv, 'bob', 'b')
    try:
        alice = online(srv, 'alice', 'gone')
        bob.presence('alice@localhost/gone')
        # Directed presence to carol too (no subscription): she must hear of it.
        carol = online(srv, 'carol', 'c')
        try:
            alice.send("<presence to='carol@localhost/c'><status>psst</status></presence>")
            carol.presence('alice@localhost/gone')
            alice.sync()
            # Kill the socket: no </stream:stream>, no unavailable from the client.
            alice.sock.shutdown(socket.SHUT_RDWR)
            alice.close()
            bob.presence('alice@localhost/gone', 'unavailable')
            carol.presence('alice@localhost/gone', 'unavailable')
        finally:
            carol.close()
    finally:
        bob.close()


def test_directed_presence_unavailable_at_logout(make_server):
    srv = make_server()
    carol = online(srv, 'carol', 'c')
    alice = online(srv, 'alice', 'a')
    try:
        alice.send("<presence to='carol@localhost'><show>chat</show></presence>")
        got = carol.presence('alice@localhost/a')
        assert got.findtext(q(CLIENT_NS, 'show')) == 'chat'
        # Not part of later broadcasts (4.6.3 #2).
        alice.send('<presence><show>away</show></presence>')
        alice.presence('alice@localhost/a')
        carol.no_presence('alice@localhost/a')
        alice.send("<presence type='unavailable'/>")
        carol.presence('alice@localhost/a', 'unavailable')
        # Directed unavailable clears the entry: nothing more at the end.
        alice.available()
        alice.send("<presence to='carol@localhost'/>")
        carol.presence('alice@localhost/a')
        alice.send("<presence to='carol@localhost' type='unavailable'/>")
        carol.presence('alice@localhost/a', 'unavailable')
        alice.close()
        carol.no_presence('alice@localhost/a', 'unavailable', timeout=1.0)
    finally:
        alice.close()
        carol.close()


def test_presence_to_bare_jid_reaches_all_available_resources(make_server):
    srv = make_server()
    a1 = online(srv, 'alice', 'p1', '<priority>1</priority>')
    a2 = online(srv, 'alice', 'p2', '<priority>5</priority>')
    a3 = login(srv, 'alice', 'p3')  # connected, not available
    carol = online(srv, 'carol', 'c')
    try:
        carol.send("<presence to='alice@localhost'><status>to all</status></presence>")
        a1.presence('carol@localhost/c')
        a2.presence('carol@localhost/c')
        a3.no_presence('carol@localhost/c')
        # Priority decides where a message to the bare JID goes.
        carol.send("<message to='alice@localhost' type='chat'><body>hi</body></message>")
        a2.expect(lambda e: e.tag == q(CLIENT_NS, 'message'), what='message')
        a1.expect_none(lambda e: e.tag == q(CLIENT_NS, 'message'), what='message')
        # Negative priority: no messages to the bare JID for that resource.
        a2.send('<presence><priority>-1</priority></presence>')
        a2.presence('alice@localhost/p2')
        carol.send("<message to='alice@localhost' type='chat'><body>again</body></message>")
        a1.expect(lambda e: e.tag == q(CLIENT_NS, 'message'), what='message')
    finally:
        for c in (a1, a2, a3, carol):
            c.close()


def test_invalid_presence_type_is_bad_request(server):
    alice = login(server, 'alice', 'inv')
    bob = online(server, 'bob', 'inv')
    try:
        for to in ('', " to='bob@localhost'"):
            alice.send("<presence id='bad1'%s type='available'/>" % to)
            err = alice.expect(lambda e: e.get('id') == 'bad1', what='error')
            assert err.get('type') == 'error', ET.tostring(err)
            assert stanza_error_condition(err) == 'bad-request'
        bob.no_presence('alice@localhost/inv')
    finally:
        alice.close()
        bob.close()


def test_probe_from_client(make_server):
    srv = make_server()
    friends(srv)
    carol = online(srv, 'carol', 'c')
    bob = online(srv, 'bob', 'b', '<status>here</status>')
    alice = online(srv, 'alice', 'a')
    try:
        alice.presence('bob@localhost/b')
        # A subscriber's probe gets the last presence of each resource.
        alice.send("<presence to='bob@localhost' type='probe' id='pr0'/>")
        got = alice.presence('bob@localhost/b')
        assert got.findtext(q(CLIENT_NS, 'status')) == 'here'
        # Without a subscription nothing leaks: the answer is 'unsubscribed',
        # which changes nothing for alice and so is not delivered (A.3.4).
        alice.send("<presence to='carol@localhost' type='probe' id='pr1'/>")
        alice.no_presence('carol@localhost/c')
        alice.no_presence('carol@localhost')
    finally:
        alice.close()
        bob.close()
        carol.close()
