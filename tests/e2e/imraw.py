"""Raw clients for the roster, subscription and presence tests.

A Client keeps every stanza it receives in a stash, so a test can wait
for one kind (a roster push, a presence from someone) without losing the
others, and can assert that something did NOT arrive.
"""

import itertools
import time
import xml.etree.ElementTree as ET

from xmppraw import CLIENT_NS, RawXMPP, q, stanza_error_condition

ROSTER_NS = 'jabber:iq:roster'
_ids = itertools.count(1)


def rq(name):
    return q(ROSTER_NS, name)


class Client:
    def __init__(self, server, user, resource):
        self.server = server
        self.user = user
        self.raw = RawXMPP(server.c2s_port)
        self.full = self.raw.login(user, server.passwords[user], resource=resource)
        self.bare = self.full.split('/', 1)[0]
        self.stash = []

    def close(self):
        self.raw.close()

    def send(self, xml):
        self.raw.send(xml)

    def _pull(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        try:
            el = self.raw.next_element(remaining)
        except TimeoutError:
            return False
        if el is None:
            return False
        self.stash.append(el)
        return True

    def expect(self, pred, timeout=5.0, what='a stanza'):
        deadline = time.monotonic() + timeout
        while True:
            for i, el in enumerate(self.stash):
                if pred(el):
                    return self.stash.pop(i)
            if not self._pull(deadline):
                raise AssertionError('%s: no %s within %.1fs; have: %s' % (
                    self.full, what, timeout,
                    [ET.tostring(e)[:300] for e in self.stash]))

    def none(self, pred, timeout=0.7, what='stanza'):
        deadline = time.monotonic() + timeout
        while True:
            for el in self.stash:
                assert not pred(el), '%s: unexpected %s: %s' % (self.full, what, ET.tostring(el))
            if not self._pull(deadline):
                return

    def iq(self, payload, typ='get', to=None):
        iq_id = 'c%d' % next(_ids)
        to_attr = " to='%s'" % to if to else ''
        self.send("<iq type='%s' id='%s'%s>%s</iq>" % (typ, iq_id, to_attr, payload))
        return self.expect(lambda e: e.tag == q(CLIENT_NS, 'iq') and e.get('id') == iq_id,
                           what='iq answer %s' % iq_id)

    # ---- roster ----

    def roster(self, ver=None):
        """Roster get; returns (iq, {jid: item element})."""
        v = '' if ver is None else " ver='%s'" % ver
        res = self.iq("<query xmlns='%s'%s/>" % (ROSTER_NS, v))
        assert res.get('type') == 'result', ET.tostring(res)
        query = res.find(rq('query'))
        items = {} if query is None else {i.get('jid'): i for i in query.findall(rq('item'))}
        return res, items

    def roster_set(self, item_xml):
        return self.iq("<query xmlns='%s'>%s</query>" % (ROSTER_NS, item_xml), typ='set')

    def push(self, jid, timeout=5.0):
        """Waits for a roster push about jid, answers it, returns the item."""
        def is_push(e):
            it = e.find('%s/%s' % (rq('query'), rq('item')))
            return (e.tag == q(CLIENT_NS, 'iq') and e.get('type') == 'set'
                    and it is not None and it.get('jid') == jid)
        el = self.expect(is_push, timeout, 'roster push for %s' % jid)
        assert el.get('from') in (None, self.bare), ET.tostring(el)
        self.send("<iq type='result' id='%s'/>" % el.get('id'))
        return el.find('%s/%s' % (rq('query'), rq('item'))), el.find(rq('query')).get('ver')

    def no_push(self, jid=None, timeout=0.7):
        def is_push(e):
            it = e.find('%s/%s' % (rq('query'), rq('item')))
            return (e.tag == q(CLIENT_NS, 'iq') and e.get('type') == 'set' and it is not None
                    and (jid is None or it.get('jid') == jid))
        self.none(is_push, timeout, 'roster push')

    # ---- presence ----

    def presence(self, frm, typ=None, timeout=5.0):
        """Waits for a presence from frm (full or bare) of type typ."""
        def match(e):
            return (e.tag == q(CLIENT_NS, 'presence') and e.get('from') == frm
                    and e.get('type') == typ)
        return self.expect(match, timeout, 'presence type=%s from %s' % (typ, frm))

    def no_presence(self, frm=None, typ='any', timeout=0.7):
        def match(e):
            return (e.tag == q(CLIENT_NS, 'presence')
                    and (frm is None or e.get('from') == frm)
                    and (typ == 'any' or e.get('type') == typ))
        self.none(match, timeout, 'presence')

    def available(self, extra=''):
        self.send('<presence>%s</presence>' % extra)
        # Our own presence comes back (RFC 6121 4.2.2): the server has seen it.
        return self.presence(self.full)

    def sync(self):
        """A round trip: everything the server sent before is in the stash."""
        self.iq("<ping xmlns='urn:xmpp:ping'/>", to=self.server.jid(self.user).split('@')[1])


def error_of(el):
    return stanza_error_condition(el)


def subscribe_pair(a, b):
    """Mutual subscription between two online, available, interested clients."""
    a.send("<presence to='%s' type='subscribe'/>" % b.bare)
    b.presence(a.bare, 'subscribe')
    b.send("<presence to='%s' type='subscribed'/>" % a.bare)
    a.presence(b.bare, 'subscribed')
    b.send("<presence to='%s' type='subscribe'/>" % a.bare)
    a.presence(b.bare, 'subscribe')
    a.send("<presence to='%s' type='subscribed'/>" % b.bare)
    b.presence(a.bare, 'subscribed')
    a.sync()
    b.sync()
