"""Last activity (XEP-0012, promise P11): server uptime, an account's last
logout and status, and who may ask."""

import time
import xml.etree.ElementTree as ET

from xmppraw import login, q, stanza_error_condition, subscribe_both

LAST = 'jabber:iq:last'
QUERY = "<query xmlns='jabber:iq:last'/>"


def seconds(el):
    assert el.get('type') == 'result', ET.tostring(el)
    query = el.find(q(LAST, 'query'))
    return int(query.get('seconds')), (query.text or '')


def test_server_uptime_grows(server):
    a = login(server, 'alice', 'up')
    with a:
        s1, text = seconds(a.iq(QUERY, to='localhost', iq_id='u1'))
        assert s1 >= 0 and text == ''
        time.sleep(1.2)
        s2, _ = seconds(a.iq(QUERY, to='localhost', iq_id='u2'))
        assert s2 >= s1 + 1, (s1, s2)


def test_own_last_while_online_is_zero(server):
    a = login(server, 'alice', 'self')
    with a:
        assert seconds(a.iq(QUERY, iq_id='s1'))[0] == 0
        assert seconds(a.iq(QUERY, to=a.bare, iq_id='s2'))[0] == 0


def test_forbidden_without_subscription(server):
    with login(server, 'carol', 'nosub') as c:
        el = c.iq(QUERY, to=server.jid('bob'), iq_id='f1')
        assert stanza_error_condition(el) == 'forbidden', ET.tostring(el)
        # an account that does not exist: the router's RFC 6121 §8.5.1 answer
        el = c.iq(QUERY, to=server.jid('nobody-here'), iq_id='f2')
        assert stanza_error_condition(el) == 'service-unavailable', ET.tostring(el)


def test_full_jid_query_forbidden_without_subscription(server):
    b = login(server, 'bob', 'online')
    c = login(server, 'carol', 'asker')
    try:
        el = c.iq(QUERY, to=b.full, iq_id='ff')
        assert stanza_error_condition(el) == 'forbidden', ET.tostring(el)
    finally:
        b.close()
        c.close()


def test_last_logout_seen_by_contact(make_server):
    srv = make_server()
    a = login(srv, 'alice', 'watcher')
    b = login(srv, 'bob', 'leaving')
    try:
        a.interested()
        b.interested()
        subscribe_both(a, b)
        # online: 0
        assert seconds(a.iq(QUERY, to=b.bare, iq_id='on'))[0] == 0
        b.send("<presence/>")
        b.send("<presence type='unavailable'><status>Heading Home</status></presence>")
        b.sync()
        b.close()
        time.sleep(0.5)
        s1, text = seconds(a.iq(QUERY, to=srv.jid('bob'), iq_id='off1'))
        assert s1 >= 0 and text == 'Heading Home', (s1, text)
        time.sleep(1.2)
        s2, _ = seconds(a.iq(QUERY, to=srv.jid('bob'), iq_id='off2'))
        assert s2 >= s1 + 1, (s1, s2)
        # a non-contact still gets forbidden
        with login(srv, 'carol', 'other') as c:
            el = c.iq(QUERY, to=srv.jid('bob'), iq_id='nc')
            assert stanza_error_condition(el) == 'forbidden', ET.tostring(el)
    finally:
        a.close()
        b.close()


def test_last_logout_survives_restart_and_needs_last_resource(make_server):
    srv = make_server()
    a = login(srv, 'alice', 'w')
    b1 = login(srv, 'bob', 'one')
    try:
        a.interested()
        b1.interested()
        subscribe_both(a, b1)
        b2 = login(srv, 'bob', 'two')
        b1.close()
        time.sleep(0.3)
        # bob is still online through his second resource
        assert seconds(a.iq(QUERY, to=srv.jid('bob'), iq_id='still'))[0] == 0
        b2.close()
        time.sleep(0.3)
        s, text = seconds(a.iq(QUERY, to=srv.jid('bob'), iq_id='gone'))
        assert s >= 0 and text == ''
    finally:
        a.close()
        b1.close()
    srv.stop()
    srv.start()
    with login(srv, 'alice', 'again') as a2:
        s, _ = seconds(a2.iq(QUERY, to=srv.jid('bob'), iq_id='after'))
        assert s >= 0
