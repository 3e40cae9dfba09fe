"""Private XML storage (XEP-0049)."""

import xml.etree.ElementTree as ET

import pytest

from xmppraw import login, q, stanza_error_condition

PRIVATE = 'jabber:iq:private'


def pq(inner):
    return "<query xmlns='%s'>%s</query>" % (PRIVATE, inner)


def test_round_trip_and_keys(server):
    with login(server, 'alice') as a:
        el = a.iq(pq("<exodus xmlns='exodus:prefs'/>"), iq_id='g0')
        assert el.get('type') == 'result', ET.tostring(el)
        ex = el.find(q(PRIVATE, 'query')).find(q('exodus:prefs', 'exodus'))
        assert ex is not None and len(ex) == 0, 'nothing stored yet: the empty element back'

        el = a.iq(pq("<exodus xmlns='exodus:prefs'><defaultnick>Hamlet &amp; co</defaultnick>"
                     "</exodus><storage xmlns='storage:bookmarks'><conference jid='r@c.example'"
                     " autojoin='true'/></storage>"), typ='set', iq_id='s1')
        assert el.get('type') == 'result', ET.tostring(el)
        el = a.iq(pq("<exodus xmlns='exodus:prefs'/>"), iq_id='g1')
        ex = el.find(q(PRIVATE, 'query')).find(q('exodus:prefs', 'exodus'))
        assert ex.findtext(q('exodus:prefs', 'defaultnick')) == 'Hamlet & co'
        el = a.iq(pq("<storage xmlns='storage:bookmarks'/>"), iq_id='g2')
        conf = el.find(q(PRIVATE, 'query')).find(q('storage:bookmarks', 'storage')) \
            .find(q('storage:bookmarks', 'conference'))
        assert conf.get('jid') == 'r@c.example' and conf.get('autojoin') == 'true'
        # replacing one element leaves the other
        a.iq(pq("<exodus xmlns='exodus:prefs'><defaultnick>New</defaultnick></exodus>"),
             typ='set', iq_id='s2')
        el = a.iq(pq("<exodus xmlns='exodus:prefs'/>"), iq_id='g3')
        assert el.find(q(PRIVATE, 'query')).find(q('exodus:prefs', 'exodus')) \
            .findtext(q('exodus:prefs', 'defaultnick')) == 'New'
        el = a.iq(pq("<storage xmlns='storage:bookmarks'/>"), iq_id='g4')
        assert el.find(q(PRIVATE, 'query')).find(q('storage:bookmarks', 'storage')) \
            .find(q('storage:bookmarks', 'conference')) is not None
    # another user sees nothing of alice's under the same key
    with login(server, 'bob') as b:
        el = b.iq(pq("<exodus xmlns='exodus:prefs'/>"), iq_id='g1')
        ex = el.find(q(PRIVATE, 'query')).find(q('exodus:prefs', 'exodus'))
        assert ex is not None and len(ex) == 0


@pytest.mark.parametrize('inner', [
    "<vCard xmlns='vcard-temp'><FN>Hamlet</FN></vCard>",
    "<x xmlns='jabber:x:data'/>",
    "<y xmlns='http://jabber.org/protocol/muc'/>",
    "<plain>no namespace of its own</plain>",
])
def test_reserved_namespaces(server, inner):
    with login(server, 'alice') as a:
        for typ in ('set', 'get'):
            el = a.iq(pq(inner), typ=typ, iq_id='r-' + typ)
            assert stanza_error_condition(el) == 'not-acceptable', ET.tostring(el)


def test_empty_query_and_two_in_get(server):
    with login(server, 'alice') as a:
        el = a.iq(pq(''), typ='set', iq_id='e1')
        assert stanza_error_condition(el) == 'not-acceptable', ET.tostring(el)
        el = a.iq(pq("<a xmlns='a:a'/><b xmlns='b:b'/>"), iq_id='e2')
        assert stanza_error_condition(el) == 'not-acceptable', ET.tostring(el)


def test_other_users_storage_forbidden(server):
    with login(server, 'carol') as c:
        for typ in ('get', 'set'):
            el = c.iq(pq("<exodus xmlns='exodus:prefs'><n>x</n></exodus>"), typ=typ,
                      to=server.jid('alice'), iq_id='f-' + typ)
            assert stanza_error_condition(el) == 'forbidden', ET.tostring(el)


def test_size_limits(make_server):
    srv = make_server({('private', 'max_element_size'): '1KiB',
                       ('private', 'max_total_size'): '2KiB'})
    with login(srv, 'alice') as a:
        big = "<big xmlns='t:big'>%s</big>" % ('x' * 1100)
        el = a.iq(pq(big), typ='set', iq_id='b1')
        assert stanza_error_condition(el) == 'not-acceptable', ET.tostring(el)
        el = a.iq(pq("<big xmlns='t:big'/>"), iq_id='b2')
        assert len(el.find(q(PRIVATE, 'query')).find(q('t:big', 'big'))) == 0 and \
            not el.find(q(PRIVATE, 'query')).find(q('t:big', 'big')).text, 'nothing stored'
        for i in range(2):
            el = a.iq(pq("<e%d xmlns='t:e'>%s</e%d>" % (i, 'y' * 900, i)), typ='set',
                      iq_id='ok%d' % i)
            assert el.get('type') == 'result', ET.tostring(el)
        # a third would go over 2 KiB in all: refused, and nothing of it kept
        el = a.iq(pq("<e2 xmlns='t:e'>%s</e2>" % ('z' * 900)), typ='set', iq_id='full')
        assert stanza_error_condition(el) == 'resource-constraint', ET.tostring(el)
        el = a.iq(pq("<e2 xmlns='t:e'/>"), iq_id='g3')
        assert not el.find(q(PRIVATE, 'query')).find(q('t:e', 'e2')).text
