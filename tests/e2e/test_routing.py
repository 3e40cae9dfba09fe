"""RFC 6121 §8.5: where messages to local accounts go, by type, by bare or
full JID, and by the recipient's resources (available with non-negative
priority, only negative priority, none), plus accounts that do not exist.

Each test makes fresh accounts so that offline messages left by one test
cannot reach another."""

import sqlite3
import xml.etree.ElementTree as ET


from xmppraw import (bodies, db_path, errors, login, new_user, offline_count, send_msg,
                     stanza_error_condition)


TYPES = ['chat', 'normal', None, 'headline', 'groupchat']


def test_bare_jid_one_available_resource(server):
    bob = new_user(server)
    sender = login(server, 'alice', 'r')
    rcpt = login(server, bob, 'b1', priority=0)
    with sender, rcpt:
        for t in TYPES:
            send_msg(sender, '%s@localhost' % bob, t, 'm-%s' % t)
        sender.sync()
        got = rcpt.collect()
        assert bodies(got) == sorted(['m-chat', 'm-normal', 'm-None', 'm-headline']), \
            [ET.tostring(e) for e in got]
        # The 'to' is left as the bare JID (§8.5.2.1.1).
        assert all(e.get('to') == '%s@localhost' % bob for e in got)
        assert errors(sender.collect(0.3)) == [('m-groupchat', 'service-unavailable')]
        assert offline_count(server, bob) == 0


def test_bare_jid_highest_priority_gets_chat_all_get_headline(server):
    bob = new_user(server)
    sender = login(server, 'alice', 'r')
    hi = login(server, bob, 'hi', priority=5)
    lo = login(server, bob, 'lo', priority=1)
    neg = login(server, bob, 'neg', priority=-1)
    with sender, hi, lo, neg:
        for t in ('chat', 'normal', 'headline'):
            send_msg(sender, '%s@localhost' % bob, t, 'm-%s' % t)
        sender.sync()
        assert bodies(hi.collect()) == ['m-chat', 'm-headline', 'm-normal']
        assert bodies(lo.collect(0.3)) == ['m-headline']
        assert bodies(neg.collect(0.3)) == []
        assert errors(sender.collect(0.3)) == []


def test_bare_jid_only_negative_priority(server):
    """Negative priority: no bare-JID message at all; chat and normal go
    offline, headline is dropped, groupchat bounces (§8.5.2.1.1)."""
    bob = new_user(server)
    sender = login(server, 'alice', 'r')
    neg = login(server, bob, 'neg', priority=-5)
    with sender, neg:
        for t in TYPES:
            send_msg(sender, '%s@localhost' % bob, t, 'm-%s' % t)
        sender.sync()
        assert neg.collect() == []
        assert errors(sender.collect(0.3)) == [('m-groupchat', 'service-unavailable')]
        assert offline_count(server, bob) == 3  # chat, normal, no type
        # A full-JID message still reaches the negative resource (§8.5.3.1).
        for t in TYPES:
            send_msg(sender, '%s@localhost/neg' % bob, t, 'f-%s' % t)
        sender.sync()
        assert bodies(neg.collect()) == sorted('f-%s' % t for t in TYPES)


def test_bare_jid_no_resource(server):
    bob = new_user(server)
    sender = login(server, 'alice', 'r')
    connected = login(server, bob, 'quiet')  # bound, no presence: not available
    with sender, connected:
        for t in TYPES:
            send_msg(sender, '%s@localhost' % bob, t, 'm-%s' % t)
        sender.sync()
        assert errors(sender.collect()) == [('m-groupchat', 'service-unavailable')]
        assert connected.collect(0.3) == []
        assert offline_count(server, bob) == 3


def test_full_jid_of_gone_resource(server):
    """§8.5.3.2: chat falls back to the bare JID; normal and groupchat
    bounce; headline is dropped; iq requests bounce."""
    bob = new_user(server)
    sender = login(server, 'alice', 'r')
    other = login(server, bob, 'other', priority=0)
    with sender, other:
        gone = '%s@localhost/gone' % bob
        for t in TYPES:
            send_msg(sender, gone, t, 'm-%s' % t)
        sender.send("<iq type='get' id='iq-gone' to='%s'><query xmlns='jabber:iq:version'/>"
                    "</iq>" % gone)
        sender.sync()
        assert bodies(other.collect()) == ['m-chat']
        got = sender.collect(0.5, tag=('message', 'iq'))
        assert sorted(errors(got)) == [('iq-gone', 'service-unavailable'),
                                       ('m-None', 'service-unavailable'),
                                       ('m-groupchat', 'service-unavailable'),
                                       ('m-normal', 'service-unavailable')]


def test_full_jid_gone_chat_goes_offline_without_resources(server):
    bob = new_user(server)
    sender = login(server, 'alice', 'r')
    with sender:
        send_msg(sender, '%s@localhost/gone' % bob, 'chat', 'later')
        send_msg(sender, '%s@localhost/gone' % bob, 'headline', 'news')
        sender.sync()
        assert errors(sender.collect(0.3)) == []
        assert offline_count(server, bob) == 1


def test_iq_to_gone_resource_bounces(server):
    bob = new_user(server)
    sender = login(server, 'alice', 'r')
    with sender:
        el = sender.iq("<query xmlns='jabber:iq:version'/>", to='%s@localhost/gone' % bob)
        assert stanza_error_condition(el) == 'service-unavailable', ET.tostring(el)


def test_nonexistent_account(server):
    """§8.5.1: messages and iq requests bounce with service-unavailable,
    headline and presence are ignored, and nothing is stored."""
    sender = login(server, 'alice', 'r')
    with sender:
        for to in ('ghost@localhost', 'ghost@localhost/res'):
            for t in ('chat', 'normal', 'headline'):
                send_msg(sender, to, t, '%s-%s' % (t, to))
            sender.send("<presence to='%s' type='subscribe'/>" % to)
        sender.sync()
        got = sender.collect(0.5, tag=('message', 'presence'))
        assert sorted(errors(got)) == sorted(
            [('%s-%s' % (t, to), 'service-unavailable')
             for to in ('ghost@localhost', 'ghost@localhost/res') for t in ('chat', 'normal')])
        el = sender.iq("<query xmlns='vcard-temp'/>", to='ghost@localhost', iq_id='g1')
        assert stanza_error_condition(el) == 'service-unavailable', ET.tostring(el)
    db = sqlite3.connect(str(db_path(server)))
    try:
        assert db.execute('SELECT count(*) FROM offline_messages o LEFT JOIN accounts a'
                          ' ON a.id = o.account_id WHERE a.id IS NULL').fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM accounts WHERE username = 'ghost'"
                          ).fetchone()[0] == 0
    finally:
        db.close()


def test_error_messages_are_never_bounced(server):
    bob = new_user(server)
    sender = login(server, 'alice', 'r')
    with sender:
        for to in ('%s@localhost' % bob, '%s@localhost/x' % bob, 'ghost@localhost'):
            send_msg(sender, to, 'error', 'e')
        sender.sync()
        assert sender.collect(0.3) == []
        assert offline_count(server, bob) == 0


def test_message_without_to_goes_to_own_bare_jid(server):
    """RFC 6120 §10.3.1: a message without 'to' is handled as if sent to
    the sender's bare JID: its available resources get it (§8.5.2.1.1),
    the sending one included."""
    me = new_user(server)
    a = login(server, me, 'a', priority=0)
    b = login(server, me, 'b', priority=0)
    with a, b:
        a.send("<message type='chat' id='self1'><body>note to self</body></message>")
        a.sync()
        for raw in (a, b):
            got = raw.collect()
            assert bodies(got) == ['note to self'], [ET.tostring(e) for e in got]
            assert errors(got) == []
