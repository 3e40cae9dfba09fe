"""vcard-temp (XEP-0054) and vCard-based avatars (XEP-0153)."""

import base64
import hashlib
import xml.etree.ElementTree as ET
from xmppraw import CLIENT_NS, login, q, stanza_error_condition, subscribe_both

VCARD = 'vcard-temp'
UPDATE = 'vcard-temp:x:update'

# A tiny "image": the hash is over the decoded bytes, whatever they are.
IMAGE = bytes(range(256)) * 3
IMAGE_B64 = base64.b64encode(IMAGE).decode()
IMAGE_SHA1 = hashlib.sha1(IMAGE).hexdigest()


def vcard_of(el):
    return el.find(q(VCARD, 'vCard'))


def folded(b64, width=76):
    return '\n'.join(b64[i:i + width] for i in range(0, len(b64), width))


def test_own_vcard_empty_then_round_trip(server):
    with login(server, 'alice') as a:
        el = a.iq("<vCard xmlns='vcard-temp'/>", iq_id='g0')
        assert el.get('type') == 'result', ET.tostring(el)
        v = vcard_of(el)
        assert v is not None and len(v) == 0, ET.tostring(el)

        card = ("<vCard xmlns='vcard-temp'><FN>Alice Liddell</FN>"
                "<N><FAMILY>Liddell</FAMILY><GIVEN>Alice</GIVEN></N>"
                "<NICKNAME>al &amp; co</NICKNAME><DESC>  spaces kept  </DESC></vCard>")
        el = a.iq(card, typ='set', iq_id='s1')
        assert el.get('type') == 'result', ET.tostring(el)
        el = a.iq("<vCard xmlns='vcard-temp'/>", iq_id='g1')
        v = vcard_of(el)
        assert v.findtext(q(VCARD, 'FN')) == 'Alice Liddell'
        assert v.find(q(VCARD, 'N')).findtext(q(VCARD, 'GIVEN')) == 'Alice'
        assert v.findtext(q(VCARD, 'NICKNAME')) == 'al & co'
        assert v.findtext(q(VCARD, 'DESC')) == '  spaces kept  '
        # to her own bare JID is the same as no 'to'
        el = a.iq("<vCard xmlns='vcard-temp'/>", to=server.jid('alice'), iq_id='g2')
        assert vcard_of(el).findtext(q(VCARD, 'FN')) == 'Alice Liddell'


def test_vcard_of_another_user(server):
    with login(server, 'bob') as b:
        el = b.iq("<vCard xmlns='vcard-temp'><FN>Bob</FN></vCard>", typ='set', iq_id='s1')
        assert el.get('type') == 'result', ET.tostring(el)
    with login(server, 'carol') as c:
        el = c.iq("<vCard xmlns='vcard-temp'/>", to=server.jid('bob'), iq_id='g1')
        assert el.get('type') == 'result', ET.tostring(el)
        assert el.get('from') == server.jid('bob')
        assert vcard_of(el).findtext(q(VCARD, 'FN')) == 'Bob'
        # XEP-0054 §3.3 (v1.3): no vCard and no such user get the same error
        el = c.iq("<vCard xmlns='vcard-temp'/>", to=server.jid('alice-has-none'), iq_id='g2')
        assert stanza_error_condition(el) == 'service-unavailable', ET.tostring(el)


def test_cannot_set_another_users_vcard(server):
    with login(server, 'carol') as c:
        el = c.iq("<vCard xmlns='vcard-temp'><FN>Not Bob</FN></vCard>", typ='set',
                  to=server.jid('bob'), iq_id='s1')
        assert stanza_error_condition(el) == 'forbidden', ET.tostring(el)


def test_vcard_size_limit(make_server):
    srv = make_server({('vcard', 'max_size'): '2KiB'})
    with login(srv, 'alice') as a:
        el = a.iq("<vCard xmlns='vcard-temp'><FN>Small</FN></vCard>", typ='set', iq_id='s1')
        assert el.get('type') == 'result', ET.tostring(el)
        big = "<vCard xmlns='vcard-temp'><FN>Big</FN><DESC>%s</DESC></vCard>" % ('x' * 3000)
        el = a.iq(big, typ='set', iq_id='s2')
        assert stanza_error_condition(el) == 'not-acceptable', ET.tostring(el)
        el = a.iq("<vCard xmlns='vcard-temp'/>", iq_id='g1')
        assert vcard_of(el).findtext(q(VCARD, 'FN')) == 'Small', 'the old vCard was not kept'


def test_vcard_survives_restart(make_server):
    srv = make_server()
    with login(srv, 'alice') as a:
        el = a.iq("<vCard xmlns='vcard-temp'><FN>Kept</FN></vCard>", typ='set', iq_id='s1')
        assert el.get('type') == 'result'
    srv.stop()
    srv.start()
    with login(srv, 'bob') as b:
        el = b.iq("<vCard xmlns='vcard-temp'/>", to=srv.jid('alice'), iq_id='g1')
        assert vcard_of(el).findtext(q(VCARD, 'FN')) == 'Kept'


def test_avatar_hash_added_to_presence_for_contacts(make_server):
    srv = make_server()
    a = login(srv, 'alice', 'avatar')
    b = login(srv, 'bob', 'watch')
    try:
        a.interested()
        b.interested()
        subscribe_both(a, b)
        card = ("<vCard xmlns='vcard-temp'><FN>A</FN><PHOTO><TYPE>image/png</TYPE>"
                "<BINVAL>%s</BINVAL></PHOTO></vCard>" % folded(IMAGE_B64))
        el = a.iq(card, typ='set', iq_id='s1')
        assert el.get('type') == 'result', ET.tostring(el)
        a.send("<presence><status>here</status></presence>")
        el = b.expect(lambda e: e.tag == q(CLIENT_NS, 'presence')
                            and e.get('from') == a.full
                            and e.findtext(q(CLIENT_NS, 'status')) == 'here',
                            what="alice's new presence")
        x = el.find(q(UPDATE, 'x'))
        assert x is not None, 'no vcard-temp:x:update in %s' % ET.tostring(el)
        assert x.findtext(q(UPDATE, 'photo')) == IMAGE_SHA1
        # a later session of alice gets the hash from the store, not memory
        a.close()
        b.presence(a.full, 'unavailable')
        a2 = login(srv, 'alice', 'again')
        with a2:
            a2.send("<presence/>")
            el = b.presence(a2.full)
            assert el.find(q(UPDATE, 'x')).findtext(q(UPDATE, 'photo')) == IMAGE_SHA1
    finally:
        a.close()
        b.close()


def test_no_photo_no_hash_and_client_element_left_alone(make_server):
    srv = make_server()
    a = login(srv, 'alice', 'one')
    b = login(srv, 'bob', 'two')
    try:
        a.interested()
        b.interested()
        subscribe_both(a, b)
        # no vCard photo: nothing added
        a.send("<presence><status>plain</status></presence>")
        el = b.expect(lambda e: e.tag == q(CLIENT_NS, 'presence')
                            and e.findtext(q(CLIENT_NS, 'status')) == 'plain', what='presence')
        assert el.find(q(UPDATE, 'x')) is None, ET.tostring(el)
        card = ("<vCard xmlns='vcard-temp'><PHOTO><TYPE>image/png</TYPE>"
                "<BINVAL>%s</BINVAL></PHOTO></vCard>" % IMAGE_B64)
        assert a.iq(card, typ='set', iq_id='s1').get('type') == 'result'
        # the client's own (empty) update element is authoritative (XEP-0153 §4.3)
        a.send("<presence><status>mine</status><x xmlns='vcard-temp:x:update'/></presence>")
        el = b.expect(lambda e: e.tag == q(CLIENT_NS, 'presence')
                            and e.findtext(q(CLIENT_NS, 'status')) == 'mine', what='presence')
        xs = el.findall(q(UPDATE, 'x'))
        assert len(xs) == 1 and xs[0].find(q(UPDATE, 'photo')) is None, ET.tostring(el)
    finally:
        a.close()
        b.close()
