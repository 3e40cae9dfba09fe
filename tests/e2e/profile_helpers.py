"""Small raw-client helpers for the vCard, last-activity and disco tests:
log in, wait for one stanza while keeping the others, and set up a
mutual presence subscription (RFC 6121 §3)."""

import time
import xml.etree.ElementTree as ET

from xmppraw import CLIENT_NS, RawXMPP, q


def login(server, user, resource):
    raw = RawXMPP(server.c2s_port)
    raw.full = raw.login(user, server.passwords[user], resource=resource)
    raw.bare = raw.full.split('/', 1)[0]
    raw.stash = []
    return raw


def expect(raw, pred, timeout=5.0, what='a stanza'):
    """The first stanza (stashed or new) for which pred is true."""
    deadline = time.monotonic() + timeout
    while True:
        for i, el in enumerate(raw.stash):
            if pred(el):
                return raw.stash.pop(i)
        remaining = deadline - time.monotonic()
        el = None
        if remaining > 0:
            try:
                el = raw.next_element(remaining)
            except TimeoutError:
                el = None
        if el is None:
            raise AssertionError('no %s within %.1fs; have: %s'
                                 % (what, timeout, [ET.tostring(e)[:200] for e in raw.stash]))
        raw.stash.append(el)


def presence_from(raw, frm, typ=None, timeout=5.0):
    return expect(raw, lambda e: e.tag == q(CLIENT_NS, 'presence') and e.get('from') == frm
                  and e.get('type') == typ, timeout, 'presence %s from %s' % (typ, frm))


def sync(raw):
    """A ping round trip: what the server sent before is now stashed."""
    raw.send("<iq type='get' id='sync' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
    expect(raw, lambda e: e.tag == q(CLIENT_NS, 'iq') and e.get('id') == 'sync', what='pong')


def interested(raw):
    """Roster get and initial presence: subscription requests and presence
    reach this session (RFC 6121 §2.1.6, §3.1.3)."""
    iq(raw, "<query xmlns='jabber:iq:roster'/>", iq_id='roster0')
    raw.send("<presence/>")
    presence_from(raw, raw.full)


def subscribe_both(a, b):
    """Mutual subscription ('both') between two logged-in raw clients."""
    interested(a)
    interested(b)
    for x, y in ((a, b), (b, a)):
        x.send("<presence to='%s' type='subscribe'/>" % y.bare)
        presence_from(y, x.bare, 'subscribe')
        y.send("<presence to='%s' type='subscribed'/>" % x.bare)
        presence_from(x, y.bare, 'subscribed')
    sync(a)
    sync(b)


def iq(raw, payload, typ='get', to=None, iq_id='q1', timeout=5.0):
    to_attr = " to='%s'" % to if to else ''
    raw.send("<iq type='%s' id='%s'%s>%s</iq>" % (typ, iq_id, to_attr, payload))
    return expect(raw, lambda e: e.tag == q(CLIENT_NS, 'iq') and e.get('id') == iq_id,
                  timeout, 'answer to %s' % iq_id)
