"""Resource binding (RFC 6120 section 7), including the conflict rule:
binding a resource already in use replaces the old session."""

import xml.etree.ElementTree as ET

from xmppraw import CLIENT_NS, RawXMPP, login, q, sasl_auth


def test_bind_requested_resource(server):
    with login(server, 'alice', 'desk') as raw:
        assert raw.full == server.jid('alice', 'desk')


def test_bind_server_generated_resource(server):
    with login(server, 'alice') as raw:
        bare, _, resource = raw.full.partition('/')
        assert bare == server.jid('alice')
        assert resource, 'no resource generated: %r' % raw.full
    with login(server, 'alice') as raw2:
        assert raw2.full != raw.full, 'two sessions got the same generated resource'


def test_bind_conflict_replaces_old_session(server):
    with login(server, 'alice', 'dup') as old:
        with login(server, 'alice', 'dup') as new:
            assert new.full == server.jid('alice', 'dup')
            assert old.expect_stream_error() == 'conflict'
            old.assert_closed_after_error()
            # Stanzas for alice/dup now reach the new session.
            with login(server, 'bob', 'sender') as bob:
                bob.send("<message to='%s' id='m1' type='chat'><body>to the new one</body>"
                         "</message>" % new.full)
                msg = new.next_element()
                assert msg.tag == q(CLIENT_NS, 'message'), ET.tostring(msg)
                assert msg.findtext(q(CLIENT_NS, 'body')) == 'to the new one'
                assert msg.get('from') == bob.full


def test_two_resources_coexist(server):
    with login(server, 'bob', 'one') as a, login(server, 'bob', 'two') as b:
        assert a.full != b.full
        for raw in (a, b):
            answer = raw.iq("<ping xmlns='urn:xmpp:ping'/>", to='localhost', iq_id='p1')
            assert answer.get('type') == 'result', ET.tostring(answer)


def test_stanza_before_bind_is_refused(server):
    """RFC 6120 7.1: a stanza to someone else before binding is not
    processed and the stream is closed with <not-authorized/>."""
    with RawXMPP(server.c2s_port) as raw:
        raw.open_stream()
        raw.features()
        raw.starttls()
        assert sasl_auth(raw, 'PLAIN', 'alice', server.passwords['alice'])[0] == 'success'
        raw.open_stream()
        raw.features()
        raw.send("<message to='bob@localhost' id='early'><body>x</body></message>")
        assert raw.expect_stream_error() == 'not-authorized'
        raw.assert_closed_after_error()
