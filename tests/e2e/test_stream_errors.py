"""Bad input on raw sockets: each case expects the exact stream error,
then </stream:stream> and the TCP close; and each runs while a second,
already-connected slixmpp client proves the server keeps serving (it
must still answer a ping afterwards)."""

import asyncio
import concurrent.futures
import socket
import struct
import time

import pytest

from xmppraw import CLIENT_NS, RawXMPP, StreamClosed, q

MAX_STANZA = 10000
SERVER_OPTIONS = {
    ('limits', 'max_stanza_size'): str(MAX_STANZA),
}
# Seconds: the server's own, in test_auth_timeout. Its watcher must log in
# within it too (TLS and SCRAM; under ASan on a loaded machine, more than
# a second was seen).
AUTH_TIMEOUT = 2


def while_serving(server, xmpp, case, timeout=40):
    """Runs the blocking `case` with a watcher connected, then pings."""
    async def body():
        watcher = await xmpp.watcher(server)
        await xmpp.blocking(case)
        iq = await xmpp.ping(watcher)
        assert iq['type'] == 'result'
        assert server.alive()
    xmpp.run(body, timeout)


def expect_error(raw, expected):
    cond = raw.expect_stream_error()
    assert cond in expected, 'stream error %r, expected %s' % (cond, expected)
    raw.assert_closed_after_error()


# ---- bad XML inside an open stream -------------------------------------------

BIG = 'x' * (2 * MAX_STANZA)
BAD_XML = {
    'mismatched-tag': ("<message><body>x</message>", {'not-well-formed'}),
    'duplicate-attribute': ("<message to='a@localhost' to='b@localhost'/>", {'not-well-formed'}),
    'unbound-prefix': ("<foo:bar/>", {'not-well-formed'}),
    'invalid-utf8': (b"<message><body>\xff\xfe\xc0\xaf</body></message>",
                     {'not-well-formed', 'unsupported-encoding', 'bad-format'}),
    'second-xml-decl': ("<?xml version='1.0'?>", {'not-well-formed', 'restricted-xml'}),
    'comment': ("<!-- a comment -->", {'restricted-xml'}),
    'comment-in-stanza': ("<message><!-- c --><body>x</body></message>", {'restricted-xml'}),
    'processing-instruction': ("<?foo bar?>", {'restricted-xml'}),
    'entity-reference': ("<message><body>&foo;</body></message>", {'restricted-xml'}),
    'too-large': ("<message><body>%s</body></message>" % BIG, {'policy-violation'}),
    'too-large-unterminated': ("<message><body>%s" % BIG, {'policy-violation'}),
    'too-deep': ("<message>%s%s</message>" % ('<a>' * 100, '</a>' * 100), {'policy-violation'}),
    'too-many-attributes': ("<message %s/>" % ' '.join("a%d='x'" % i for i in range(200)),
                            {'policy-violation'}),
}


@pytest.mark.parametrize('name', sorted(BAD_XML))
def test_bad_xml_before_tls(server, xmpp, name):
    data, expected = BAD_XML[name]

    def case():
        with RawXMPP(server.c2s_port) as raw:
            raw.open_stream()
            raw.features()
            raw.send(data)
            expect_error(raw, expected)
    while_serving(server, xmpp, case)


@pytest.mark.parametrize('name', ['mismatched-tag', 'comment', 'entity-reference', 'too-large',
                                  'too-large-unterminated'])
def test_bad_xml_inside_tls(server, xmpp, name):
    data, expected = BAD_XML[name]

    def case():
        with RawXMPP(server.c2s_port) as raw:
            raw.open_stream()
            raw.features()
            raw.starttls()
            raw.send(data)
            expect_error(raw, expected)
    while_serving(server, xmpp, case)


def test_stanza_size_limit_after_login(server, xmpp):
    """Just under the limit is delivered; over it is a policy violation."""
    def case():
        with RawXMPP(server.c2s_port) as raw:
            me = raw.login('alice', server.passwords['alice'], resource='big')
            body = 'y' * (MAX_STANZA - 1000)
            raw.send("<message to='%s' id='ok'><body>%s</body></message>" % (me, body))
            el = raw.next_element()
            assert el.tag == q(CLIENT_NS, 'message') and el.get('type') != 'error', el.attrib
            assert el.findtext(q(CLIENT_NS, 'body')) == body
            raw.send("<message to='%s' id='big'><body>%s</body></message>" % (me, BIG))
            expect_error(raw, {'policy-violation'})
    while_serving(server, xmpp, case)


# ---- bad stream headers --------------------------------------------------------

GOOD_HEAD = ("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/"
             "streams' to='localhost' version='1.0'>")
BAD_HEADERS = {
    'wrong-stream-namespace':
        ("<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
         "xmlns:stream='http://wrong.example/streams' to='localhost' version='1.0'>",
         {'invalid-namespace'}),
    'wrong-content-namespace':
        ("<?xml version='1.0'?><stream:stream xmlns='urn:example:wrong' "
         "xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>",
         {'invalid-namespace'}),
    'version-2': (GOOD_HEAD.replace("version='1.0'", "version='2.0'"), {'unsupported-version'}),
    'unknown-host': (GOOD_HEAD.replace("to='localhost'", "to='unknown.example'"),
                     {'host-unknown'}),
    'dtd': ("<?xml version='1.0'?><!DOCTYPE stream:stream [<!ENTITY x 'y'>]>" + GOOD_HEAD,
            {'restricted-xml'}),
    'external-dtd': ("<?xml version='1.0'?><!DOCTYPE stream:stream SYSTEM "
                     "'file:///etc/passwd'>" + GOOD_HEAD, {'restricted-xml'}),
    'latin1-encoding': ("<?xml version='1.0' encoding='ISO-8859-1'?>" + GOOD_HEAD,
                        {'unsupported-encoding', 'bad-format'}),
    'http-request': ("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", {'not-well-formed'}),
}


@pytest.mark.parametrize('name', sorted(BAD_HEADERS))
def test_bad_stream_header(server, xmpp, name):
    data, expected = BAD_HEADERS[name]

    def case():
        with RawXMPP(server.c2s_port) as raw:
            raw.send(data)
            expect_error(raw, expected)
    while_serving(server, xmpp, case)


# ---- timeouts, floods, abrupt ends ------------------------------------------------

def test_auth_timeout(make_server, xmpp):
    """Silent after connecting, or stuck before SASL: both are closed
    with <connection-timeout/> after limits.auth_timeout (checked on the
    server's once-a-second tick: up to a second late)."""
    server = make_server({('limits', 'auth_timeout'): '%dms' % (AUTH_TIMEOUT * 1000)})

    def silent():
        with RawXMPP(server.c2s_port, timeout=AUTH_TIMEOUT + 5) as raw:
            start = time.monotonic()
            expect_error(raw, {'connection-timeout'})
            return time.monotonic() - start

    def no_auth():
        with RawXMPP(server.c2s_port, timeout=AUTH_TIMEOUT + 5) as raw:
            start = time.monotonic()
            raw.open_stream()
            raw.features()
            raw.starttls()
            expect_error(raw, {'connection-timeout'})
            return time.monotonic() - start

    def case():
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            waits = [f.result() for f in [pool.submit(silent), pool.submit(no_auth)]]
        for waited in waits:
            assert AUTH_TIMEOUT - 0.1 <= waited <= AUTH_TIMEOUT + 3, waits
    while_serving(server, xmpp, case, timeout=60)


def test_flood_is_rate_limited(server, xmpp):
    """Tens of MB of whitespace as fast as possible: the server reads it
    at limits.read_rate, not at line speed, keeps the stream open and
    keeps answering another client meanwhile."""
    cap = 48 << 20

    def flood():
        sent = 0
        chunk = b' ' * 65536
        with RawXMPP(server.c2s_port) as raw:
            raw.open_stream()
            raw.features()
            raw.sock.settimeout(0.2)
            end = time.monotonic() + 4
            while sent < cap and time.monotonic() < end:
                try:
                    sent += raw.sock.send(chunk)
                except socket.timeout:
                    continue
                except OSError:
                    return sent, 'closed'
        return sent, 'open'

    async def body():
        watcher = await xmpp.watcher(server)
        task = asyncio.ensure_future(xmpp.blocking(flood))
        await asyncio.sleep(1.5)
        start = time.monotonic()
        await xmpp.ping(watcher)
        assert time.monotonic() - start < 2, 'ping took %.1f s during the flood' % (
            time.monotonic() - start)
        sent, state = await task
        # Rate-limited, not closed: limits.read_burst and 4 s of
        # limits.read_rate, plus what the kernel buffers hold.
        assert state == 'open', 'the server closed a stream it only had to slow down'
        assert sent < cap, 'server accepted %d MB in 4 s: no rate limit' % (sent >> 20)
        await xmpp.ping(watcher)
        assert server.alive()
    xmpp.run(body, 40)


def _rst_close(sock):
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    sock.close()


@pytest.mark.parametrize('how', ['fin', 'rst'])
def test_abrupt_close_mid_stanza(server, xmpp, how):
    def case():
        raw = RawXMPP(server.c2s_port)
        me = raw.login('carol', server.passwords['carol'], resource='abrupt-' + how)
        raw.send("<message to='%s' id='half'><body>half a sta" % me)
        time.sleep(0.1)
        if how == 'rst':
            _rst_close(raw.sock)
        else:
            raw.sock.shutdown(socket.SHUT_RDWR)
            raw.close()
    while_serving(server, xmpp, case)


def test_abrupt_close_mid_tls_handshake(server, xmpp):
    def case():
        raw = RawXMPP(server.c2s_port)
        raw.open_stream()
        raw.features()
        raw.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        raw.next_element()
        raw.send(b'\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03')  # a ClientHello's first bytes
        _rst_close(raw.sock)
    while_serving(server, xmpp, case)


def test_garbage_instead_of_tls_handshake(server, xmpp):
    def case():
        with RawXMPP(server.c2s_port) as raw:
            raw.open_stream()
            raw.features()
            raw.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
            raw.next_element()
            raw.send(b'this is not a TLS record at all\r\n' * 20)
            assert raw.wait_eof(5), 'server kept a failed TLS handshake open'
    while_serving(server, xmpp, case)


def test_plaintext_on_direct_tls_port(server, xmpp):
    def case():
        with RawXMPP(server.c2s_tls_port) as raw:
            raw.send("<?xml version='1.0'?>" + GOOD_HEAD)
            assert raw.wait_eof(5), 'direct TLS port kept a plaintext connection open'
    while_serving(server, xmpp, case)


def test_plaintext_after_starttls_command_is_refused(server, xmpp):
    """STACK-NOTES: bytes sent after <starttls/> in the same packet must
    not be processed as plaintext; the TLS handshake then fails."""
    def case():
        with RawXMPP(server.c2s_port) as raw:
            raw.open_stream()
            raw.features()
            raw.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
                     "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>"
                     "AGFsaWNlAGFsaWNlLXNlY3JldC0x</auth>")
            els = []
            try:
                while True:
                    els.append(raw.next_element(timeout=3))
            except (StreamClosed, TimeoutError):
                pass
            tags = [e.tag for e in els]
            assert not any(t.endswith('}success') for t in tags), tags
    while_serving(server, xmpp, case)


def test_client_closes_stream(server, xmpp):
    """</stream:stream> from the client: the server closes its stream too."""
    def case():
        with RawXMPP(server.c2s_port) as raw:
            raw.login('alice', server.passwords['alice'], resource='bye')
            raw.send('</stream:stream>')
            assert raw.wait_eof(5), 'server did not close after the client closed the stream'
            assert raw.stream_closed, 'no </stream:stream> from the server'
    while_serving(server, xmpp, case)
