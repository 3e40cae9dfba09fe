"""RFC 6121 §8.5: where messages to local accounts go, by type, by bare or
full JID, and by the recipient's resources (available with non-negative
priority, only negative priority, none), plus accounts that do not exist.

Each test makes fresh accounts so that offline messages left by one test
cannot reach another."""

import itertools
import sqlite3
import time
import xml.etree.ElementTree as ET

import pytest

from xmppraw import CLIENT_NS, RawXMPP, q, stanza_error_condition

_names = itertools.count()


def new_user(server, prefix='u'):
    """A fresh account on the running server; returns its local part."""
    name = '%s%d_%d' % (prefix, next(_names), int(time.time() * 1000) % 100000)
    pw = 'pw-' + name
    server.ctl('user', 'add', '%s@localhost' % name, '--password', pw, check=True)
    server.passwords[name] = pw
    return name


def connect(server, user, resource, priority=None):
    """A raw session; with priority (an int), initial presence is sent and
    the server has processed it when this returns."""
    raw = RawXMPP(server.c2s_port)
    jid = raw.login(user, server.passwords[user], resource=resource)
    if priority is not None:
        raw.send('<presence><priority>%d</priority></presence>' % priority)
        sync(raw)
    return raw, jid


_sync_ids = itertools.count()


def sync(raw):
    """A ping round trip: everything sent before it has been routed.
    Elements other than the answer stay queued."""
    iq_id = 'sync%d' % next(_sync_ids)
    raw.send("<iq type='get' id='%s' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>" % iq_id)
    kept = []
    while True:
        el = raw.next_element()
        if el.tag == q(CLIENT_NS, 'iq') and el.get('id') == iq_id:
            break
        kept.append(el)
    raw.queue.extendleft(reversed(kept))


def collect(raw, secs=0.6, tag='message'):
    """Every <tag/> (a name or a tuple of names) received within secs."""
    tags = {q(CLIENT_NS, t) for t in ((tag,) if isinstance(tag, str) else tag)}
    got = []
    deadline = time.monotonic() + secs
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return got
        try:
            el = raw.next_element(timeout=left)
        except TimeoutError:
            return got
        if el.tag in tags:
            got.append(el)


def send_msg(raw, to, mtype, body, mid=None):
    type_attr = " type='%s'" % mtype if mtype else ''
    raw.send("<message to='%s' id='%s'%s><body>%s</body></message>"
             % (to, mid or body, type_attr, body))


def bodies(els):
    return sorted(el.findtext(q(CLIENT_NS, 'body')) or '' for el in els
                  if el.get('type') != 'error')


def errors(els):
    return [(el.get('id'), stanza_error_condition(el)) for el in els if el.get('type') == 'error']


def db_path(server):
    return server.dir / 'data' / 'taube.db'


def offline_count(server, user):
    db = sqlite3.connect(str(db_path(server)))
    try:
        return db.execute(
            'SELECT count(*) FROM offline_messages o JOIN accounts a ON a.id = o.account_id'
            ' WHERE a.username = ?', (user,)).fetchone()[0]
    finally:
        db.close()


TYPES = ['chat', 'normal', None, 'headline', 'groupchat']


def test_bare_jid_one_available_resource(server):
    bob = new_user(server)
    sender, _ = connect(server, 'alice', 'r')
    rcpt, _ = connect(server, bob, 'b1', priority=0)
    with sender, rcpt:
        for t in TYPES:
            send_msg(sender, '%s@localhost' % bob, t, 'm-%s' % t)
        sync(sender)
        got = collect(rcpt)
        assert bodies(got) == sorted(['m-chat', 'm-normal', 'm-None', 'm-headline']), \
            [ET.tostring(e) for e in got]
        # The 'to' is left as the bare JID (§8.5.2.1.1).
        assert all(e.get('to') == '%s@localhost' % bob for e in got)
        assert errors(collect(sender, 0.3)) == [('m-groupchat', 'service-unavailable')]
        assert offline_count(server, bob) == 0


def test_bare_jid_highest_priority_gets_chat_all_get_headline(server):
    bob = new_user(server)
    sender, _ = connect(server, 'alice', 'r')
    hi, _ = connect(server, bob, 'hi', priority=5)
    lo, _ = connect(server, bob, 'lo', priority=1)
    neg, _ = connect(server, bob, 'neg', priority=-1)
    with sender, hi, lo, neg:
        for t in ('chat', 'normal', 'headline'):
            send_msg(sender, '%s@localhost' % bob, t, 'm-%s' % t)
        sync(sender)
        assert bodies(collect(hi)) == ['m-chat', 'm-headline', 'm-normal']
        assert bodies(collect(lo, 0.3)) == ['m-headline']
        assert bodies(collect(neg, 0.3)) == []
        assert errors(collect(sender, 0.3)) == []


def test_bare_jid_only_negative_priority(server):
    """Negative priority: no bare-JID message at all; chat and normal go
    offline, headline is dropped, groupchat bounces (§8.5.2.1.1)."""
    bob = new_user(server)
    sender, _ = connect(server, 'alice', 'r')
    neg, _ = connect(server, bob, 'neg', priority=-5)
    with sender, neg:
        for t in TYPES:
            send_msg(sender, '%s@localhost' % bob, t, 'm-%s' % t)
        sync(sender)
        assert collect(neg) == []
        assert errors(collect(sender, 0.3)) == [('m-groupchat', 'service-unavailable')]
        assert offline_count(server, bob) == 3  # chat, normal, no type
        # A full-JID message still reaches the negative resource (§8.5.3.1).
        for t in TYPES:
            send_msg(sender, '%s@localhost/neg' % bob, t, 'f-%s' % t)
        sync(sender)
        assert bodies(collect(neg)) == sorted('f-%s' % t for t in TYPES)


def test_bare_jid_no_resource(server):
    bob = new_user(server)
    sender, _ = connect(server, 'alice', 'r')
    connected, _ = connect(server, bob, 'quiet')  # bound, no presence: not available
    with sender, connected:
        for t in TYPES:
            send_msg(sender, '%s@localhost' % bob, t, 'm-%s' % t)
        sync(sender)
        assert errors(collect(sender)) == [('m-groupchat', 'service-unavailable')]
        assert collect(connected, 0.3) == []
        assert offline_count(server, bob) == 3


def test_full_jid_of_gone_resource(server):
    """§8.5.3.2: chat falls back to the bare JID; normal and groupchat
    bounce; headline is dropped; iq requests bounce."""
    bob = new_user(server)
    sender, _ = connect(server, 'alice', 'r')
    other, _ = connect(server, bob, 'other', priority=0)
    with sender, other:
        gone = '%s@localhost/gone' % bob
        for t in TYPES:
            send_msg(sender, gone, t, 'm-%s' % t)
        sender.send("<iq type='get' id='iq-gone' to='%s'><query xmlns='jabber:iq:version'/>"
                    "</iq>" % gone)
        sync(sender)
        assert bodies(collect(other)) == ['m-chat']
        got = collect(sender, 0.5, tag=('message', 'iq'))
        assert sorted(errors(got)) == [('iq-gone', 'service-unavailable'),
                                       ('m-None', 'service-unavailable'),
                                       ('m-groupchat', 'service-unavailable'),
                                       ('m-normal', 'service-unavailable')]


def test_full_jid_gone_chat_goes_offline_without_resources(server):
    bob = new_user(server)
    sender, _ = connect(server, 'alice', 'r')
    with sender:
        send_msg(sender, '%s@localhost/gone' % bob, 'chat', 'later')
        send_msg(sender, '%s@localhost/gone' % bob, 'headline', 'news')
        sync(sender)
        assert errors(collect(sender, 0.3)) == []
        assert offline_count(server, bob) == 1


def test_iq_to_gone_resource_bounces(server):
    bob = new_user(server)
    sender, _ = connect(server, 'alice', 'r')
    with sender:
        el = sender.iq("<query xmlns='jabber:iq:version'/>", to='%s@localhost/gone' % bob)
        assert stanza_error_condition(el) == 'service-unavailable', ET.tostring(el)


def test_nonexistent_account(server):
    """§8.5.1: messages and iq requests bounce with service-unavailable,
    headline and presence are ignored, and nothing is stored."""
    sender, _ = connect(server, 'alice', 'r')
    with sender:
        for to in ('ghost@localhost', 'ghost@localhost/res'):
            for t in ('chat', 'normal', 'headline'):
                send_msg(sender, to, t, '%s-%s' % (t, to))
            sender.send("<presence to='%s' type='subscribe'/>" % to)
        sync(sender)
        got = collect(sender, 0.5, tag=('message', 'presence'))
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
    sender, _ = connect(server, 'alice', 'r')
    with sender:
        for to in ('%s@localhost' % bob, '%s@localhost/x' % bob, 'ghost@localhost'):
            send_msg(sender, to, 'error', 'e')
        sync(sender)
        assert collect(sender, 0.3) == []
        assert offline_count(server, bob) == 0


def test_message_without_to_goes_to_own_bare_jid(server):
    """RFC 6120 §10.3.1: a message without 'to' is handled as if sent to
    the sender's bare JID: its available resources get it (§8.5.2.1.1),
    the sending one included."""
    me = new_user(server)
    a, _ = connect(server, me, 'a', priority=0)
    b, _ = connect(server, me, 'b', priority=0)
    with a, b:
        a.send("<message type='chat' id='self1'><body>note to self</body></message>")
        sync(a)
        for raw in (a, b):
            got = collect(raw)
            assert bodies(got) == ['note to self'], [ET.tostring(e) for e in got]
            assert errors(got) == []
