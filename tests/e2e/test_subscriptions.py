"""Presence subscriptions (RFC 6121 section 3, Appendix A): the handshake
with the contact offline in between, the roster pushes of each
transition, cancelling and unsubscribing, removal, pre-approval."""

import xml.etree.ElementTree as ET

from xmppraw import CLIENT_NS, login, q, subscribe_both


def online(srv, user, res):
    c = login(srv, user, res)
    c.roster()
    c.available()
    return c


def sub_of(item):
    return item.get('subscription'), item.get('ask'), item.get('approved')


def test_handshake_with_contact_offline(make_server):
    srv = make_server()
    alice = online(srv, 'alice', 'a1')
    try:
        alice.send("<presence to='bob@localhost/ignored' type='subscribe' id='s1'>"
                   "<status>It is Alice</status></presence>")
        item, _ = alice.push('bob@localhost')
        assert sub_of(item) == ('none', 'subscribe', None)

        bob = login(srv, 'bob', 'b1')
        try:
            _, items = bob.roster()
            assert 'alice@localhost' not in items  # A.1 #3: no item before approval
            bob.send('<presence/>')
            req = bob.presence('alice@localhost', 'subscribe')
            assert req.findtext(q(CLIENT_NS, 'status')) == 'It is Alice'
            # Delivered again at the next login until answered (3.1.3 #4).
            bob2 = login(srv, 'bob', 'b2')
            bob2.send('<presence/>')
            bob2.presence('alice@localhost', 'subscribe')
            bob2.close()

            bob.send("<presence to='alice@localhost' type='subscribed'/>")
            item, _ = bob.push('alice@localhost')
            assert sub_of(item) == ('from', None, None)
            got = alice.presence('bob@localhost', 'subscribed')
            assert got.get('to') == 'alice@localhost'
            item, _ = alice.push('bob@localhost')
            assert sub_of(item) == ('to', None, None)
            alice.presence('bob@localhost/b1')  # 3.1.5: current presence follows

            # And back: bob subscribes to alice, who approves.
            bob.send("<presence to='alice@localhost' type='subscribe'/>")
            item, _ = bob.push('alice@localhost')
            assert sub_of(item) == ('from', 'subscribe', None)
            alice.presence('bob@localhost', 'subscribe')
            alice.send("<presence to='bob@localhost' type='subscribed'/>")
            item, _ = alice.push('bob@localhost')
            assert sub_of(item) == ('both', None, None)
            bob.presence('alice@localhost', 'subscribed')
            item, _ = bob.push('alice@localhost')
            assert sub_of(item) == ('both', None, None)
            bob.presence('alice@localhost/a1')
        finally:
            bob.close()
        # Answered: not delivered again.
        bob = login(srv, 'bob', 'b3')
        try:
            bob.send('<presence/>')
            bob.presence('bob@localhost/b3')
            bob.no_presence('alice@localhost', 'subscribe')
        finally:
            bob.close()
    finally:
        alice.close()


def test_request_to_online_contact_and_denial(make_server):
    srv = make_server()
    alice, bob = online(srv, 'alice', 'a'), online(srv, 'bob', 'b')
    try:
        alice.send("<presence to='bob@localhost' type='subscribe'/>")
        alice.push('bob@localhost')
        bob.presence('alice@localhost', 'subscribe')
        bob.no_push('alice@localhost')
        # A second request while pending is not delivered again (A.3.1).
        alice.send("<presence to='bob@localhost' type='subscribe'/>")
        bob.no_presence('alice@localhost', 'subscribe')
        # Denial: None+Pending In -> None for bob; None+Pending Out -> None for alice.
        bob.send("<presence to='alice@localhost' type='unsubscribed'/>")
        alice.presence('bob@localhost', 'unsubscribed')
        item, _ = alice.push('bob@localhost')
        assert sub_of(item) == ('none', None, None)
        bob.no_push('alice@localhost')
        _, items = bob.roster()
        assert 'alice@localhost' not in items
    finally:
        alice.close()
        bob.close()


def test_unsubscribe_and_cancel_transitions(make_server):
    srv = make_server()
    alice, bob = online(srv, 'alice', 'a'), online(srv, 'bob', 'b')
    try:
        subscribe_both(alice, bob)
        for c, other in ((alice, 'bob@localhost'), (bob, 'alice@localhost')):
            while True:  # drain the handshake's pushes
                item, _ = c.push(other)
                if item.get('subscription') == 'both':
                    break
        # alice unsubscribes from bob: Both -> From (alice), Both -> To (bob).
        alice.send("<presence to='bob@localhost' type='unsubscribe'/>")
        item, _ = alice.push('bob@localhost')
        assert sub_of(item) == ('from', None, None)
        bob.presence('alice@localhost', 'unsubscribe')
        item, _ = bob.push('alice@localhost')
        assert sub_of(item) == ('to', None, None)
        alice.presence('bob@localhost/b', 'unavailable')  # 3.3.3 #3
        # alice cancels bob's subscription to her: From -> None, To -> None.
        alice.send("<presence to='bob@localhost' type='unsubscribed'/>")
        bob.presence('alice@localhost/a', 'unavailable')  # 3.2.2: before the cancellation
        bob.presence('alice@localhost', 'unsubscribed')
        item, _ = alice.push('bob@localhost')
        assert sub_of(item) == ('none', None, None)
        item, _ = bob.push('alice@localhost')
        assert sub_of(item) == ('none', None, None)
        # Neither broadcasts to the other any more.
        bob.sync()
        bob.queue.clear()
        alice.send('<presence><show>away</show></presence>')
        alice.presence('alice@localhost/a')
        bob.no_presence('alice@localhost/a')
        # A stray 'subscribed' without a request is not delivered (A.3.3).
        bob.send("<presence to='alice@localhost' type='subscribed'/>")
        alice.no_presence('bob@localhost', 'subscribed')
        alice.no_push('bob@localhost')
    finally:
        alice.close()
        bob.close()


def test_removing_a_contact_cancels_both_ways(make_server):
    srv = make_server()
    alice, bob = online(srv, 'alice', 'a'), online(srv, 'bob', 'b')
    try:
        subscribe_both(alice, bob)
        res = alice.roster_set("<item jid='bob@localhost' subscription='remove'/>")
        assert res.get('type') == 'result', ET.tostring(res)
        while True:
            item, _ = alice.push('bob@localhost')
            if item.get('subscription') == 'remove':
                break
        bob.presence('alice@localhost/a', 'unavailable')
        bob.presence('alice@localhost', 'unsubscribe')
        bob.presence('alice@localhost', 'unsubscribed')
        _, items = bob.roster()
        assert sub_of(items['alice@localhost']) == ('none', None, None)
    finally:
        alice.close()
        bob.close()


def test_preapproval(make_server):
    srv = make_server()
    carol = online(srv, 'carol', 'c')
    alice = online(srv, 'alice', 'a')
    try:
        # 3.4.2 #4: not in the roster yet -> item with approved='true', nothing routed.
        carol.send("<presence to='alice@localhost' type='subscribed'/>")
        item, _ = carol.push('alice@localhost')
        assert sub_of(item) == ('none', None, 'true')
        alice.no_presence('carol@localhost', 'subscribed')
        # alice's request is answered by the server for carol.
        alice.send("<presence to='carol@localhost' type='subscribe'/>")
        alice.presence('carol@localhost', 'subscribed')
        while True:
            item, _ = alice.push('carol@localhost')
            if item.get('subscription') == 'to':
                break
        alice.presence('carol@localhost/c')
        item, _ = carol.push('alice@localhost')
        assert sub_of(item) == ('from', None, None)
        carol.no_presence('alice@localhost', 'subscribe')
        # Cancelling a pre-approval (3.2.2 #2): bob pre-approved, then withdrew.
        bob = online(srv, 'bob', 'b')
        try:
            bob.send("<presence to='alice@localhost' type='subscribed'/>")
            item, _ = bob.push('alice@localhost')
            assert item.get('approved') == 'true'
            bob.send("<presence to='alice@localhost' type='unsubscribed'/>")
            item, _ = bob.push('alice@localhost')
            assert item.get('approved') is None
            alice.no_presence('bob@localhost', 'unsubscribed')
            alice.send("<presence to='bob@localhost' type='subscribe'/>")
            bob.presence('alice@localhost', 'subscribe')  # no longer auto-approved
        finally:
            bob.close()
    finally:
        carol.close()
        alice.close()


def test_subscription_stanzas_are_stamped_with_bare_jid(make_server):
    srv = make_server()
    alice, bob = online(srv, 'alice', 'a'), online(srv, 'bob', 'b')
    try:
        alice.send("<presence to='bob@localhost' type='subscribe' id='x1'/>")
        got = bob.presence('alice@localhost', 'subscribe')
        assert got.get('id') == 'x1'
        assert got.get('to') == 'bob@localhost'
    finally:
        alice.close()
        bob.close()


def test_pending_request_limit_holds_for_requests_in_flight(make_server):
    """roster.max_pending counts the requests decided but not yet
    committed: eight requests that reach an offline account at once leave
    exactly the limit stored."""
    from xmppraw import new_user
    srv = make_server({('roster', 'max_pending'): '3'})
    target = new_user(srv, 'pend')
    senders = [login(srv, new_user(srv, 'req'), 'r') for _ in range(8)]
    try:
        for c in senders:
            c.send("<presence to='%s@localhost' type='subscribe'/>" % target)
        for c in senders:
            c.sync()
    finally:
        for c in senders:
            c.close()
    t = login(srv, target, 't')
    try:
        t.roster()
        t.send('<presence/>')
        t.presence(t.full)
        t.sync()
        got = [e for e in t.collect(0.7, 'presence') if e.get('type') == 'subscribe']
        assert len(got) == 3, [e.get('from') for e in got]
    finally:
        t.close()
