"""Rosters (RFC 6121 section 2): get, set, remove, groups and names,
pushes to interested resources only, versioned gets, and bad sets that
get the RFC's errors and store nothing."""

import xml.etree.ElementTree as ET

from xmppraw import ROSTER_NS, login, q, stanza_error_condition


def groups(item):
    return sorted(g.text for g in item.findall(q(ROSTER_NS, 'group')))


def test_roster_crud_pushes_to_interested_resources(server):
    r1 = login(server, 'alice', 'crud1')
    r2 = login(server, 'alice', 'crud2')
    r3 = login(server, 'alice', 'crud3')  # never asks for the roster
    try:
        r1.roster()
        r2.roster()
        contact = 'dave@localhost'
        res = r1.roster_set("<item jid='%s' name='Dave'><group>Friends</group>"
                            "<group>Work</group></item>" % contact)
        assert res.get('type') == 'result', ET.tostring(res)
        for r in (r1, r2):
            item, ver = r.push(contact)
            assert item.get('name') == 'Dave'
            assert item.get('subscription') == 'none'
            assert item.get('ask') is None
            assert groups(item) == ['Friends', 'Work']
            assert ver
        r3.no_push(contact)
        _, items = r3.roster()
        assert groups(items[contact]) == ['Friends', 'Work']
        assert items[contact].get('name') == 'Dave'

        res = r2.roster_set("<item jid='%s' name='David'><group>Work</group></item>" % contact)
        assert res.get('type') == 'result'
        for r in (r1, r2, r3):  # r3 is interested now
            item, _ = r.push(contact)
            assert item.get('name') == 'David'
            assert groups(item) == ['Work']

        res = r1.roster_set("<item jid='%s' subscription='remove'/>" % contact)
        assert res.get('type') == 'result', ET.tostring(res)
        for r in (r1, r2, r3):
            item, _ = r.push(contact)
            assert item.get('subscription') == 'remove'
        _, items = r1.roster()
        assert contact not in items
        res = r1.roster_set("<item jid='%s' subscription='remove'/>" % contact)
        assert stanza_error_condition(res) == 'item-not-found'
    finally:
        for r in (r1, r2, r3):
            r.close()


def test_roster_result_has_query_and_version_even_when_empty(server):
    c = login(server, 'carol', 'empty')
    try:
        res, items = c.roster()
        assert res.find(q(ROSTER_NS, 'query')) is not None
        assert res.find(q(ROSTER_NS, 'query')).get('ver') is not None
        assert items == {}
    finally:
        c.close()


def test_versioned_get_sends_only_changes(server):
    c = login(server, 'bob', 'ver1')
    res, _ = c.roster(ver='')
    v0 = res.find(q(ROSTER_NS, 'query')).get('ver')
    c.roster_set("<item jid='x1@localhost'/>")
    c.roster_set("<item jid='x2@localhost' name='Two'/>")
    c.roster_set("<item jid='x1@localhost' name='One'/>")
    c.close()

    c = login(server, 'bob', 'ver2')
    try:
        res = c.iq("<query xmlns='%s' ver='%s'/>" % (ROSTER_NS, v0))
        assert res.get('type') == 'result'
        assert res.find(q(ROSTER_NS, 'query')) is None, 'expected an empty result: %s' % ET.tostring(res)
        item2, ver2 = c.push('x2@localhost')
        item1, ver1 = c.push('x1@localhost')  # changed last, pushed last
        assert item1.get('name') == 'One' and item2.get('name') == 'Two'
        assert int(ver1) > int(ver2) > int(v0)
        c.no_push()
        # Up to date: empty result, no pushes.
        res = c.iq("<query xmlns='%s' ver='%s'/>" % (ROSTER_NS, ver1))
        assert res.find(q(ROSTER_NS, 'query')) is None
        c.no_push()
        # Unknown versions get the whole roster.
        for v in ('999999', 'garbage'):
            res, items = c.roster(ver=v)
            assert res.find(q(ROSTER_NS, 'query')).get('ver') == ver1
            assert {'x1@localhost', 'x2@localhost'} <= set(items)
        # A removal is a change too.
        c.roster_set("<item jid='x2@localhost' subscription='remove'/>")
        c.push('x2@localhost')
    finally:
        c.close()
    c = login(server, 'bob', 'ver3')
    try:
        res = c.iq("<query xmlns='%s' ver='%s'/>" % (ROSTER_NS, ver1))
        assert res.find(q(ROSTER_NS, 'query')) is None
        item, _ = c.push('x2@localhost')
        assert item.get('subscription') == 'remove'
    finally:
        c.close()


BAD_SETS = [
    ("<item jid='m1@localhost'/><item jid='m2@localhost'/>", 'bad-request'),
    ("<item jid='a@b@c'/>", 'bad-request'),
    ("<item jid='@localhost'/>", 'bad-request'),
    ("<item jid='bad user@localhost'/>", 'bad-request'),
    ("<item name='no jid'/>", 'bad-request'),
    ("<item jid='long@localhost' name='%s'/>" % ('n' * 300), 'not-acceptable'),
    ("<item jid='g1@localhost'><group></group></item>", 'not-acceptable'),
    ("<item jid='g2@localhost'><group>%s</group></item>" % ('g' * 300), 'not-acceptable'),
    ("<item jid='g3@localhost'><group>Dup</group><group>Dup</group></item>", 'bad-request'),
    ("<item jid='s1@localhost' subscription='both'/>", 'not-allowed'),
    ("<item jid='s2@localhost' subscription='from'/>", 'not-allowed'),
    ("<item jid='carol@localhost'/>", 'not-allowed'),  # oneself
]


def test_bad_roster_sets_get_errors_and_store_nothing(server):
    c = login(server, 'carol', 'bad')
    try:
        for payload, cond in BAD_SETS:
            res = c.roster_set(payload)
            assert res.get('type') == 'error', payload
            assert stanza_error_condition(res) == cond, '%s: %s' % (payload, ET.tostring(res))
        c.no_push()
        _, items = c.roster()
        assert items == {}, list(items)
    finally:
        c.close()


def test_roster_of_another_user_is_refused(server):
    c = login(server, 'carol', 'other')
    try:
        res = c.iq("<query xmlns='%s'><item jid='evil@localhost'/></query>" % ROSTER_NS,
                   typ='set', to='alice@localhost')
        assert stanza_error_condition(res) == 'forbidden', ET.tostring(res)
        res = c.iq("<query xmlns='%s'/>" % ROSTER_NS, to='alice@localhost')
        assert res.get('type') == 'error'
        # Not handled on alice's behalf for carol (RFC 6121 8.5.2.1.3).
        assert stanza_error_condition(res) == 'service-unavailable', ET.tostring(res)
        assert res.find(q(ROSTER_NS, 'query')) is None, ET.tostring(res)
        # Addressed to one's own bare JID works.
        res = c.iq("<query xmlns='%s'/>" % ROSTER_NS, to='carol@localhost')
        assert res.get('type') == 'result'
    finally:
        c.close()
    a = login(server, 'alice', 'check')
    try:
        _, items = a.roster()
        assert 'evil@localhost' not in items
    finally:
        a.close()


def test_roster_limits_from_config(make_server):
    srv = make_server({('roster', 'max_items'): '2', ('roster', 'max_name_length'): '5',
                       ('roster', 'max_groups'): '2'})
    c = login(srv, 'alice', 'lim')
    try:
        assert c.roster_set("<item jid='a@localhost' name='12345'/>").get('type') == 'result'
        assert stanza_error_condition(c.roster_set("<item jid='b@localhost' name='123456'/>")) \
            == 'not-acceptable'
        assert stanza_error_condition(c.roster_set("<item jid='b@localhost'><group>1</group><group>2</group>"
                                     "<group>3</group></item>")) == 'not-acceptable'
        assert c.roster_set("<item jid='b@localhost'/>").get('type') == 'result'
        res = c.roster_set("<item jid='c@localhost'/>")
        assert stanza_error_condition(res) == 'policy-violation', ET.tostring(res)
        # Updating an existing item is not adding one.
        assert c.roster_set("<item jid='a@localhost' name='x'/>").get('type') == 'result'
        _, items = c.roster()
        assert set(items) == {'a@localhost', 'b@localhost'}
    finally:
        c.close()


def test_stream_features_advertise_rosterver_and_preapproval(server):
    from xmppraw import RawXMPP, sasl_auth
    raw = RawXMPP(server.c2s_port)
    with raw:
        raw.open_stream()
        raw.features()
        raw.starttls()
        assert sasl_auth(raw, 'PLAIN', 'alice', server.passwords['alice'])[0] == 'success'
        raw.open_stream()
        feats = raw.features()
        assert feats.find('{urn:xmpp:features:rosterver}ver') is not None, ET.tostring(feats)
        assert feats.find('{urn:xmpp:features:pre-approval}sub') is not None


def test_account_deletion_leaves_no_item_in_other_rosters(make_server):
    srv = make_server()
    a = login(srv, 'alice', 'del')
    try:
        a.roster()
        a.roster_set("<item jid='carol@localhost' name='C'/>")
        a.push('carol@localhost')
        p = srv.ctl('user', 'delete', 'carol@localhost')
        assert p.returncode == 0, p.stderr
    finally:
        a.close()
    srv.stop()
    srv.start()
    a = login(srv, 'alice', 'del2')
    try:
        _, items = a.roster()
        assert 'carol@localhost' not in items, 'item of a deleted user remains'
    finally:
        a.close()
