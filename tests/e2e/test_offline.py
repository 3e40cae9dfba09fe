"""Offline messages (XEP-0160, promise P7) with XEP-0203 delay stamps:
stored while the user has no available resource, delivered oldest first
on initial presence with non-negative priority, deleted once delivered,
and bounded per user."""

import re
import time
import xml.etree.ElementTree as ET

from xmppraw import (CLIENT_NS, bodies, errors, login, new_user, offline_count, q, send_msg,
                     stanza_error_condition)

DELAY = '{urn:xmpp:delay}delay'
STAMP_RE = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$')


def stamp_seconds(stamp):
    return time.mktime(time.strptime(stamp, '%Y-%m-%dT%H:%M:%SZ')) - time.timezone


def test_stored_then_delivered_in_order_with_delay(server):
    bob = new_user(server)
    sender = login(server, 'alice', 'r')
    before = time.time()
    with sender:
        for i in range(1, 6):
            send_msg(sender, '%s@localhost' % bob, 'chat', 'msg %d' % i)
        sender.sync()
        assert errors(sender.collect(0.3)) == []
    assert offline_count(server, bob) == 5
    rcpt = login(server, bob, 'home', priority=0)
    with rcpt:
        got = rcpt.collect(1.0)
        assert [m.findtext(q(CLIENT_NS, 'body')) for m in got] == \
            ['msg %d' % i for i in range(1, 6)], [ET.tostring(m) for m in got]
        for m in got:
            assert m.get('from') == sender.full
            d = m.find(DELAY)
            assert d is not None, ET.tostring(m)
            assert d.get('from') == 'localhost'
            assert STAMP_RE.match(d.get('stamp')), d.get('stamp')
            assert before - 2 <= stamp_seconds(d.get('stamp')) <= time.time() + 2
    assert offline_count(server, bob) == 0
    again = login(server, bob, 'again', priority=0)
    with again:
        assert again.collect(0.6) == []


def test_negative_priority_login_does_not_take_them(server):
    bob = new_user(server)
    sender = login(server, 'alice', 'r')
    with sender:
        send_msg(sender, '%s@localhost' % bob, 'normal', 'kept')
        sender.sync()
    neg = login(server, bob, 'neg', priority=-1)
    with neg:
        assert neg.collect(0.5) == []
        assert offline_count(server, bob) == 1
        pos = login(server, bob, 'pos', priority=3)
        with pos:
            assert bodies(pos.collect(0.8)) == ['kept']
            assert neg.collect(0.2) == []
    assert offline_count(server, bob) == 0


def test_what_is_worth_storing(server):
    """Chat states alone are dropped silently; <no-store/> is refused with
    service-unavailable; <store/> keeps a message without a body; headline
    is never stored."""
    bob = new_user(server)
    to = '%s@localhost' % bob
    sender = login(server, 'alice', 'r')
    with sender:
        sender.send("<message to='%s' id='cs' type='chat'>"
                    "<composing xmlns='http://jabber.org/protocol/chatstates'/></message>" % to)
        sender.send("<message to='%s' id='ns' type='chat'><body>secret</body>"
                    "<no-store xmlns='urn:xmpp:hints'/></message>" % to)
        sender.send("<message to='%s' id='st' type='chat'>"
                    "<encrypted xmlns='eu.siacs.conversations.axolotl'/>"
                    "<store xmlns='urn:xmpp:hints'/></message>" % to)
        sender.send("<message to='%s' id='rc' type='chat'>"
                    "<received xmlns='urn:xmpp:receipts' id='x'/></message>" % to)
        send_msg(sender, to, 'headline', 'news')
        sender.sync()
        assert errors(sender.collect(0.4)) == [('ns', 'service-unavailable')]
    assert offline_count(server, bob) == 2
    rcpt = login(server, bob, 'r', priority=0)
    with rcpt:
        got = rcpt.collect(0.8)
        assert [m.get('id') for m in got] == ['st', 'rc']
        assert got[0].find('{eu.siacs.conversations.axolotl}encrypted') is not None


def test_limit_gives_resource_constraint(make_server):
    srv = make_server({('offline', 'max_messages'): '2'})
    sender = login(srv, 'alice', 'r')
    with sender:
        for i in range(3):
            send_msg(sender, 'bob@localhost', 'chat', 'n%d' % i)
        sender.sync()
        got = sender.collect(0.4)
        errs = [e for e in got if e.get('type') == 'error']
        assert [e.get('id') for e in errs] == ['n2'], [ET.tostring(e) for e in got]
        assert stanza_error_condition(errs[0]) == 'resource-constraint'
        assert errs[0].find(q(CLIENT_NS, 'error')).get('type') == 'wait'
    assert offline_count(srv, 'bob') == 2
    rcpt = login(srv, 'bob', 'r', priority=0)
    with rcpt:
        assert bodies(rcpt.collect(0.6)) == ['n0', 'n1']
    assert offline_count(srv, 'bob') == 0
    srv.check_clean_exit()


def test_long_backlog_is_delivered_whole(make_server):
    """More than one pass of paced delivery (half of a 64 KiB send queue
    per pass): every message arrives, in order, and all are deleted."""
    srv = make_server({('limits', 'send_queue_max'): '64KiB'})
    sender = login(srv, 'alice', 'r')
    filler = 'x' * 2000
    with sender:
        for i in range(60):
            send_msg(sender, 'bob@localhost', 'chat', '%03d %s' % (i, filler), mid='b%d' % i)
        sender.sync()
    assert offline_count(srv, 'bob') == 60
    rcpt = login(srv, 'bob', 'r', priority=0)
    with rcpt:
        got = rcpt.collect(3.0)
        assert [m.get('id') for m in got] == ['b%d' % i for i in range(60)]
    assert offline_count(srv, 'bob') == 0
    srv.check_clean_exit()
