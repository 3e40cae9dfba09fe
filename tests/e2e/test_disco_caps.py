"""Entity capabilities of the server (XEP-0115) in the stream features and
disco#info, contact addresses (XEP-0157), and disco to account JIDs."""

import base64
import hashlib
import xml.etree.ElementTree as ET
from xmppraw import login, q, RawXMPP, sasl_auth, stanza_error_condition, subscribe_both

CAPS = 'http://jabber.org/protocol/caps'
DISCO_INFO = 'http://jabber.org/protocol/disco#info'
DISCO_ITEMS = 'http://jabber.org/protocol/disco#items'
DATA = 'jabber:x:data'
SERVERINFO = 'http://jabber.org/network/serverinfo'
XML_LANG = '{http://www.w3.org/XML/1998/namespace}lang'


def login_with_features(server, user, resource='caps'):
    """Logs in by hand to keep the post-authentication stream features."""
    raw = RawXMPP(server.c2s_port)
    raw.open_stream()
    raw.features()
    raw.starttls()
    result, detail = sasl_auth(raw, 'PLAIN', user, server.passwords[user])
    assert result == 'success', detail
    raw.open_stream()
    feats = raw.features()
    raw.bind(resource)
    return raw, feats


def ver_of(query):
    """XEP-0115 §5.1, computed independently from a disco#info <query/>."""
    ids = sorted((i.get('category'), i.get('type'), i.get(XML_LANG) or '', i.get('name') or '')
                 for i in query.findall(q(DISCO_INFO, 'identity')))
    s = ''.join('%s/%s/%s/%s<' % i for i in ids)
    feats = [f.get('var') for f in query.findall(q(DISCO_INFO, 'feature'))]
    assert len(feats) == len(set(feats)), 'duplicate features: %s' % feats
    s += ''.join(f + '<' for f in sorted(feats, key=lambda x: x.encode()))
    forms = []
    for x in query.findall(q(DATA, 'x')):
        fields = {}
        for f in x.findall(q(DATA, 'field')):
            fields[f.get('var')] = [v.text or '' for v in f.findall(q(DATA, 'value'))]
        ft = fields.pop('FORM_TYPE')[0]
        forms.append((ft, fields))
    for ft, fields in sorted(forms):
        s += ft + '<'
        for var in sorted(fields):
            s += var + '<' + ''.join(v + '<' for v in sorted(fields[var]))
    return base64.b64encode(hashlib.sha1(s.encode('utf-8')).digest()).decode()


def disco_info(raw, to='localhost', node=None, iq_id='di'):
    node_attr = " node='%s'" % node if node else ''
    return raw.iq("<query xmlns='%s'%s/>" % (DISCO_INFO, node_attr), to=to, iq_id=iq_id)


def test_caps_in_stream_features_verify(server):
    raw, feats = login_with_features(server, 'alice')
    with raw:
        c = feats.find(q(CAPS, 'c'))
        assert c is not None, 'no caps in %s' % ET.tostring(feats)
        assert c.get('hash') == 'sha-1'
        node, ver = c.get('node'), c.get('ver')
        assert node == 'urn:taube:caps', node  # ours, not a placeholder URL
        assert ver
        el = disco_info(raw)
        query = el.find(q(DISCO_INFO, 'query'))
        assert ver_of(query) == ver, ET.tostring(query)
        # NODE#VER answers the same
        el = disco_info(raw, node='%s#%s' % (node, ver), iq_id='di2')
        assert el.get('type') == 'result', ET.tostring(el)
        query2 = el.find(q(DISCO_INFO, 'query'))
        assert query2.get('node') == '%s#%s' % (node, ver)
        assert ver_of(query2) == ver
        # any other node does not exist
        el = disco_info(raw, node='%s#wrong' % node, iq_id='di3')
        assert stanza_error_condition(el) == 'item-not-found', ET.tostring(el)


def test_everyday_features_advertised(server):
    with login(server, 'alice') as raw:
        query = disco_info(raw).find(q(DISCO_INFO, 'query'))
        feats = {f.get('var') for f in query.findall(q(DISCO_INFO, 'feature'))}
        for f in ('jabber:iq:last', 'vcard-temp', 'jabber:iq:private'):
            assert f in feats, '%s missing from %s' % (f, sorted(feats))
        # no addresses configured: no serverinfo form (nothing published)
        assert query.find(q(DATA, 'x')) is None


def test_contact_addresses(make_server):
    srv = make_server({
        ('contact', 'abuse'): '["mailto:abuse@example.org", "xmpp:abuse@localhost"]',
        ('contact', 'admin'): '["xmpp:admin@localhost"]',
        ('contact', 'support'): '["https://example.org/support"]',
        ('contact', 'security'): '["mailto:security@example.org"]',
        ('contact', 'status'): '["https://status.example.org"]',
    })
    raw, feats = login_with_features(srv, 'alice')
    with raw:
        query = disco_info(raw).find(q(DISCO_INFO, 'query'))
        forms = query.findall(q(DATA, 'x'))
        assert len(forms) == 1, ET.tostring(query)
        x = forms[0]
        assert x.get('type') == 'result'
        fields = {f.get('var'): [v.text for v in f.findall(q(DATA, 'value'))]
                  for f in x.findall(q(DATA, 'field'))}
        assert fields.pop('FORM_TYPE') == [SERVERINFO]
        assert fields == {
            'abuse-addresses': ['mailto:abuse@example.org', 'xmpp:abuse@localhost'],
            'admin-addresses': ['xmpp:admin@localhost'],
            'support-addresses': ['https://example.org/support'],
            'security-addresses': ['mailto:security@example.org'],
            'status-addresses': ['https://status.example.org'],
        }
        # the form is part of the caps hash
        ver = feats.find(q(CAPS, 'c')).get('ver')
        assert ver_of(query) == ver


def test_contact_address_must_be_a_uri(make_server):
    srv = make_server({('contact', 'abuse'): '["abuse@example.org"]'}, start=False)
    try:
        srv.start(timeout=5)
    except AssertionError as e:
        assert 'contact.abuse' in str(e), str(e)
    else:
        raise AssertionError('taube started with a contact address that is not a URI')


def test_disco_items_of_server_empty(server):
    with login(server, 'alice') as raw:
        el = raw.iq("<query xmlns='%s'/>" % DISCO_ITEMS, to='localhost', iq_id='it')
        query = el.find(q(DISCO_ITEMS, 'query'))
        assert query is not None and len(query) == 0, ET.tostring(el)


def test_account_disco_info(server):
    with login(server, 'alice') as raw:
        # own account
        el = disco_info(raw, to=server.jid('alice'))
        assert el.get('type') == 'result', ET.tostring(el)
        ids = [(i.get('category'), i.get('type'))
               for i in el.find(q(DISCO_INFO, 'query')).findall(q(DISCO_INFO, 'identity'))]
        assert ids == [('account', 'registered')]
        # someone without a subscription, and an account that does not
        # exist, get the same answer (XEP-0030 §8)
        el = disco_info(raw, to=server.jid('bob'), iq_id='d2')
        assert stanza_error_condition(el) == 'service-unavailable', ET.tostring(el)
        el = disco_info(raw, to=server.jid('nobody-here'), iq_id='d3')
        assert stanza_error_condition(el) == 'service-unavailable', ET.tostring(el)
        # items of an account: empty, whoever asks
        el = raw.iq("<query xmlns='%s'/>" % DISCO_ITEMS, to=server.jid('bob'), iq_id='d4')
        assert el.get('type') == 'result' and len(el.find(q(DISCO_ITEMS, 'query'))) == 0


def test_account_disco_info_for_a_subscribed_contact(make_server):
    srv = make_server()
    a = login(srv, 'alice', 'a')
    b = login(srv, 'bob', 'b')
    try:
        a.interested()
        b.interested()
        subscribe_both(a, b)
        el = b.iq("<query xmlns='%s'/>" % DISCO_INFO, to=a.bare, iq_id='sub')
        assert el.get('type') == 'result', ET.tostring(el)
        ident = el.find(q(DISCO_INFO, 'query')).find(q(DISCO_INFO, 'identity'))
        assert (ident.get('category'), ident.get('type')) == ('account', 'registered')
    finally:
        a.close()
        b.close()


def account_features(el):
    query = el.find(q(DISCO_INFO, 'query'))
    return {f.get('var') for f in query.findall(q(DISCO_INFO, 'feature'))}


def test_account_disco_info_without_to(server):
    """RFC 6120 §10.3.3: a disco#info without 'to' is answered by the
    server as the account's bare JID: the same answer as to the bare JID,
    with the features handled there, and no 'from' other than the bare JID
    (§8.1.2.1)."""
    with login(server, 'alice') as raw:
        bare = disco_info(raw, to=server.jid('alice'), iq_id='bare')
        el = disco_info(raw, to=None, iq_id='no-to')
        assert el.get('type') == 'result', ET.tostring(el)
        assert el.get('from') is None, ET.tostring(el)
        query = el.find(q(DISCO_INFO, 'query'))
        ids = [(i.get('category'), i.get('type')) for i in query.findall(q(DISCO_INFO, 'identity'))]
        assert ids == [('account', 'registered')], ET.tostring(el)
        feats = account_features(el)
        assert {DISCO_INFO, DISCO_ITEMS, 'urn:xmpp:ping'} <= feats, feats
        assert feats == account_features(bare), (feats, account_features(bare))
        # the server's own features are not the account's
        server_feats = account_features(disco_info(raw, to='localhost', iq_id='srv'))
        assert 'jabber:iq:version' in server_feats and 'jabber:iq:version' not in feats
        assert 'jabber:iq:register' not in feats, feats
        # each advertised account feature is handled without 'to'
        el = raw.iq("<ping xmlns='urn:xmpp:ping'/>", iq_id='p')
        assert el.get('type') == 'result', ET.tostring(el)
        el = raw.iq("<query xmlns='%s'/>" % DISCO_ITEMS, iq_id='items')
        assert el.get('type') == 'result', ET.tostring(el)
