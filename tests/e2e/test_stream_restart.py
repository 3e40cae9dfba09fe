"""Stream errors at every stream start (RFC 6120 §4.9.1.2): the first
stream, the one after STARTTLS and the one after SASL success. When the
client's new header is refused before the server has answered it, the
server must still open its own new stream first, or the client's fresh
parser cannot read the error. Each case reads the server's bytes with a
new parser, as a client does after a restart."""

import pytest

from xmppraw import STREAM_NS, RawXMPP, q, sasl_auth

STREAM_OPEN = ("<stream:stream xmlns='jabber:client' "
               "xmlns:stream='http://etherx.jabber.org/streams'")
GOOD_HEAD = STREAM_OPEN + " to='localhost' version='1.0'>"
DECL = "<?xml version='1.0'?>"

# What the client sends instead of a good new header, and the errors
# RFC 6120 allows for it.
BAD_STARTS = {
    'dtd-with-entities': (DECL + "<!DOCTYPE stream:stream [<!ENTITY x 'y'>]>" + GOOD_HEAD,
                          {'restricted-xml'}),
    'broken-header': (DECL + STREAM_OPEN + " to='localhost' <<", {'not-well-formed'}),
    'comment-in-prologue': (DECL + "<!-- hello -->" + GOOD_HEAD, {'restricted-xml'}),
    'wrong-namespace': (DECL + GOOD_HEAD.replace("'jabber:client'", "'urn:example:x'"),
                        {'invalid-namespace'}),
    'unknown-host': (DECL + GOOD_HEAD.replace("to='localhost'", "to='unknown.example'"),
                     {'host-unknown'}),
    'stanza-instead-of-header': ("<message to='localhost'/>", {'invalid-namespace'}),
    'garbage': ("\x01\x02 hello", {'not-well-formed'}),
}


def send_fresh(raw, data):
    """Sends data as the start of a new stream and reads the answer with
    a new parser."""
    raw._new_parser()
    raw.send(data)


def expect_error_in_new_stream(raw, expected):
    cond = raw.expect_stream_error()
    assert raw.header is not None and raw.header.tag == q(STREAM_NS, 'stream'), \
        'no stream header before the error: %r' % raw.raw[-500:]
    assert raw.header.get('from') == 'localhost', raw.header.attrib
    assert cond in expected, 'stream error %r, expected %s' % (cond, expected)
    raw.assert_closed_after_error()


def to_tls(raw):
    raw.open_stream()
    raw.features()
    raw.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    assert raw.next_element().tag.endswith('proceed')
    raw._wrap_tls()


def to_sasl_success(server, raw, mech):
    to_tls(raw)
    raw.open_stream()
    raw.features()
    result, detail = sasl_auth(raw, mech, 'alice', server.passwords['alice'])
    assert result == 'success', detail


@pytest.mark.parametrize('name', sorted(BAD_STARTS))
def test_error_on_first_stream(server, name):
    data, expected = BAD_STARTS[name]
    with RawXMPP(server.c2s_port) as raw:
        send_fresh(raw, data)
        expect_error_in_new_stream(raw, expected)


@pytest.mark.parametrize('name', sorted(BAD_STARTS))
def test_error_after_starttls(server, name):
    data, expected = BAD_STARTS[name]
    with RawXMPP(server.c2s_port) as raw:
        to_tls(raw)
        send_fresh(raw, data)
        expect_error_in_new_stream(raw, expected)


# SCRAM's <success/> is answered inside the parser's feed; PLAIN's after
# the password check on a worker thread: two different restart paths.
@pytest.mark.parametrize('mech', ['SCRAM-SHA-256', 'PLAIN'])
@pytest.mark.parametrize('name', sorted(BAD_STARTS))
def test_error_after_sasl_success(server, name, mech):
    data, expected = BAD_STARTS[name]
    with RawXMPP(server.c2s_port) as raw:
        to_sasl_success(server, raw, mech)
        send_fresh(raw, data)
        expect_error_in_new_stream(raw, expected)


def test_error_after_features_of_restarted_stream(server):
    """Once our new header is out, an error must not repeat it."""
    with RawXMPP(server.c2s_port) as raw:
        to_sasl_success(server, raw, 'SCRAM-SHA-1')
        mark = len(raw.raw)
        raw.open_stream()
        raw.features()
        raw.send("<!-- late comment -->")
        cond = raw.expect_stream_error()
        assert cond == 'restricted-xml', cond
        raw.assert_closed_after_error()
        assert raw.raw[mark:].count(b'<stream:stream') == 1, raw.raw[mark:]
