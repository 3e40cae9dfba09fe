"""Login: mandatory STARTTLS, direct TLS, every SASL mechanism, failures."""

import asyncio
import base64
import os
import socket
import ssl
import time

import pytest

from xmppraw import (RawXMPP, SASL_NS, TLS_NS, client_tls_context, mechanisms, q, sasl_auth)

ALL_MECHS = {'SCRAM-SHA-256-PLUS', 'SCRAM-SHA-1-PLUS', 'SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN'}


def test_features_before_tls_offer_only_required_starttls(server):
    with RawXMPP(server.c2s_port) as raw:
        raw.open_stream()
        feats = raw.features()
        tags = [c.tag for c in feats]
        assert tags == [q(TLS_NS, 'starttls')], 'features before TLS: %s' % tags
        assert feats.find(q(TLS_NS, 'starttls')).find(q(TLS_NS, 'required')) is not None, \
            '<starttls/> lacks <required/>'
        assert mechanisms(feats) == []


def test_auth_before_tls_is_refused(server):
    with RawXMPP(server.c2s_port) as raw:
        raw.open_stream()
        raw.features()
        result, cond = sasl_auth(raw, 'PLAIN', 'alice', server.passwords['alice'])
        assert (result, cond) in (('stream-error', 'policy-violation'),
                                  ('failure', 'encryption-required')), (result, cond)
        if result == 'stream-error':
            raw.assert_closed_after_error()


def test_mechanisms_after_starttls(server):
    with RawXMPP(server.c2s_port) as raw:
        raw.open_stream()
        raw.features()
        feats = raw.starttls()
        assert set(mechanisms(feats)) == ALL_MECHS
        assert feats.find(q(TLS_NS, 'starttls')) is None, 'STARTTLS offered again after TLS'


@pytest.mark.parametrize('mech', ['SCRAM-SHA-1', 'SCRAM-SHA-256', 'PLAIN'])
@pytest.mark.parametrize('user', ['alice', 'carol'])
def test_slixmpp_login(server, xmpp, mech, user):
    async def body():
        c = await xmpp.client(server, user, resource='laptop', mech=mech)
        assert str(c.boundjid) == server.jid(user, 'laptop')
    xmpp.run(body)


def test_slixmpp_direct_tls_login(server, xmpp):
    async def body():
        c = await xmpp.client(server, 'bob', resource='phone', direct_tls=True,
                              mech='SCRAM-SHA-256')
        assert str(c.boundjid) == server.jid('bob', 'phone')
    xmpp.run(body)


def test_direct_tls_alpn_and_features(server):
    with RawXMPP(server.c2s_tls_port, direct_tls=True) as raw:
        assert raw.sock.selected_alpn_protocol() == 'xmpp-client'
        raw.open_stream()
        feats = raw.features()
        assert feats.find(q(TLS_NS, 'starttls')) is None
        assert set(mechanisms(feats)) == ALL_MECHS


@pytest.mark.parametrize('mech', ['SCRAM-SHA-1-PLUS', 'SCRAM-SHA-256-PLUS'])
@pytest.mark.parametrize('cb', ['tls-exporter', 'tls-server-end-point'])
def test_scram_plus_login(server, mech, cb):
    with RawXMPP(server.c2s_port) as raw:
        raw.open_stream()
        raw.features()
        raw.starttls()
        result, detail = sasl_auth(raw, mech, 'alice', server.passwords['alice'], cb_name=cb)
        assert result == 'success', '%s with %s: %s %s' % (mech, cb, result, detail)
        raw.open_stream()
        raw.features()
        assert raw.bind('plus') == server.jid('alice', 'plus')


def test_scram_plus_over_direct_tls_and_tls12(server):
    """TLS 1.2 needs the extended master secret for tls-exporter; OpenSSL
    clients send it, so -PLUS must work there too."""
    with RawXMPP(server.c2s_tls_port, direct_tls=True,
                 tls_max_version=ssl.TLSVersion.TLSv1_2) as raw:
        assert raw.sock.version() == 'TLSv1.2'
        raw.open_stream()
        feats = raw.features()
        assert 'SCRAM-SHA-256-PLUS' in mechanisms(feats)
        result, detail = sasl_auth(raw, 'SCRAM-SHA-256-PLUS', 'bob', server.passwords['bob'])
        assert result == 'success', detail


@pytest.mark.parametrize('cb', ['tls-exporter', 'tls-server-end-point'])
def test_scram_plus_wrong_binding_data_fails(server, cb):
    """The server must compare the binding data, not just the flag."""
    with RawXMPP(server.c2s_port) as raw:
        raw.open_stream()
        raw.features()
        raw.starttls()
        result, cond = sasl_auth(raw, 'SCRAM-SHA-256-PLUS', 'alice', server.passwords['alice'],
                                 cb_name=cb, cb_data=os.urandom(32))
        assert result == 'failure', (result, cond)


def test_scram_y_flag_refused_when_plus_offered(server):
    """RFC 5802 section 6: 'y' while the server offers -PLUS is a downgrade."""
    with RawXMPP(server.c2s_port) as raw:
        raw.open_stream()
        raw.features()
        raw.starttls()
        result, cond = sasl_auth(raw, 'SCRAM-SHA-256', 'alice', server.passwords['alice'],
                                 gs2_flag='y')
        assert result == 'failure', (result, cond)


def test_scram_plus_tls_unique_refused(server):
    """tls-unique is not offered (insecure with TLS 1.3, RFC 9266)."""
    with RawXMPP(server.c2s_port) as raw:
        raw.open_stream()
        raw.features()
        raw.starttls()
        result, cond = sasl_auth(raw, 'SCRAM-SHA-256-PLUS', 'alice', server.passwords['alice'],
                                 cb_name='tls-unique')
        assert result == 'failure', (result, cond)


@pytest.mark.parametrize('mech', ['SCRAM-SHA-1', 'SCRAM-SHA-256', 'SCRAM-SHA-256-PLUS', 'PLAIN'])
@pytest.mark.parametrize('user', ['alice', 'nosuchuser'])
def test_wrong_password_or_unknown_user(server, mech, user):
    """Same answer for a wrong password and an unknown user (no account
    enumeration)."""
    with RawXMPP(server.c2s_port) as raw:
        raw.open_stream()
        raw.features()
        raw.starttls()
        result, cond = sasl_auth(raw, mech, user, 'wrong-password')
        assert (result, cond) == ('failure', 'not-authorized')


def test_slixmpp_wrong_password(server, xmpp):
    async def body():
        c, outcome = await xmpp.client(server, 'alice', password='nope', mech='SCRAM-SHA-256',
                                       expect_failure=True)
        assert outcome != 'session'
        assert not c.authenticated
    xmpp.run(body)


def test_auth_attempts_limit_closes_stream(server):
    with RawXMPP(server.c2s_port) as raw:
        raw.open_stream()
        raw.features()
        raw.starttls()
        for attempt in range(3):
            result, cond = sasl_auth(raw, 'PLAIN', 'alice', 'wrong')
            assert (result, cond) == ('failure', 'not-authorized'), attempt
        # The third failure is followed by the end of the stream.
        assert raw.expect_stream_error() == 'policy-violation'
        assert raw.wait_eof(5), 'stream still open after 3 failed attempts'
        assert raw.stream_closed, 'no </stream:stream> before the close'


def test_success_after_two_failures(server):
    """The limit is 3: two failures must not lock the connection."""
    with RawXMPP(server.c2s_port) as raw:
        raw.open_stream()
        raw.features()
        raw.starttls()
        for _ in range(2):
            assert sasl_auth(raw, 'SCRAM-SHA-1', 'alice', 'wrong')[0] == 'failure'
        result, detail = sasl_auth(raw, 'SCRAM-SHA-1', 'alice', server.passwords['alice'])
        assert result == 'success', detail


def test_abort_then_login(server):
    """<abort/> mid-SCRAM gives <failure><aborted/>, then a fresh try works."""
    with RawXMPP(server.c2s_port) as raw:
        raw.open_stream()
        raw.features()
        raw.starttls()
        first = base64.b64encode(b'n,,n=alice,r=abcdefghijklmnop').decode()
        raw.send("<auth xmlns='%s' mechanism='SCRAM-SHA-256'>%s</auth>" % (SASL_NS, first))
        el = raw.next_element()
        assert el.tag == q(SASL_NS, 'challenge'), el.tag
        raw.send("<abort xmlns='%s'/>" % SASL_NS)
        el = raw.next_element()
        assert el.tag == q(SASL_NS, 'failure')
        assert el.find(q(SASL_NS, 'aborted')) is not None
        result, detail = sasl_auth(raw, 'PLAIN', 'alice', server.passwords['alice'])
        assert result == 'success', detail


def test_plain_authzid_other_user_refused(server):
    """PLAIN with authzid naming another account must not log in as it."""
    with RawXMPP(server.c2s_port) as raw:
        raw.open_stream()
        raw.features()
        raw.starttls()
        result, cond = sasl_auth(raw, 'PLAIN', 'alice', server.passwords['alice'],
                                 authzid='bob@localhost')
        assert result == 'failure', (result, cond)


def _plain(user, password):
    return base64.b64encode(b'\0' + user.encode() + b'\0' + password.encode()).decode()


def test_plain_check_off_the_loop_keeps_order_and_survives_hangups(server):
    """PLAIN's password derivation runs on a worker thread: a client that
    does not wait for the outcome gets <policy-violation/>, one that hangs
    up during the check leaves the server unharmed, and an ordinary PLAIN
    login still works (the stream restarts after <success/>)."""
    auth = "<auth xmlns='%s' mechanism='PLAIN'>%s</auth>" % (
        SASL_NS, _plain('alice', server.passwords['alice']))
    with RawXMPP(server.c2s_port) as raw:
        raw.open_stream()
        raw.features()
        raw.starttls()
        raw.send(auth + auth)  # the second one before the first's outcome
        assert raw.expect_stream_error() == 'policy-violation'
    for _ in range(20):
        with RawXMPP(server.c2s_port) as raw:
            raw.open_stream()
            raw.features()
            raw.starttls()
            raw.send(auth)
    with RawXMPP(server.c2s_port) as raw:
        assert raw.login('alice', server.passwords['alice'], mech='PLAIN',
                         resource='after').endswith('/after')
        pong = raw.iq("<ping xmlns='urn:xmpp:ping'/>", to='localhost', iq_id='p')
        assert pong.get('type') == 'result'


# ---- what a client gets told when SASL fails before any password check ----

def failure_of(raw):
    """The next element, which must be a SASL <failure/>: (condition, text)."""
    el = raw.next_element()
    assert el.tag == q(SASL_NS, 'failure'), 'expected <failure/>: %r' % raw.raw[-500:]
    conds = [c.tag.split('}')[1] for c in el if c.tag != q(SASL_NS, 'text')]
    return (conds[0] if conds else None), el.findtext(q(SASL_NS, 'text'))


def scram_first(raw, mech, gs2):
    first = '%sn=alice,r=abcdefghijklmnop' % gs2
    raw.send("<auth xmlns='%s' mechanism='%s'>%s</auth>"
             % (SASL_NS, mech, base64.b64encode(first.encode()).decode()))


def tls_stream(server, tls_max_version=None, direct_tls=False):
    """A stream after TLS, its features read."""
    port = server.c2s_tls_port if direct_tls else server.c2s_port
    raw = RawXMPP(port, direct_tls=direct_tls, tls_max_version=tls_max_version)
    raw.open_stream()
    feats = raw.features()
    if not direct_tls:
        feats = raw.starttls()
    return raw, feats


def cb_types(feats):
    cb = feats.find(q('urn:xmpp:sasl-cb:0', 'sasl-channel-binding'))
    return [] if cb is None else [t.get('type') for t in cb]


# What slixmpp 1.8 sends first on TLS 1.3, and the reason it must read.
PRE_PASSWORD_FAILURES = {
    'tls-unique-on-tls13': ('SCRAM-SHA-256-PLUS', 'p=tls-unique,,',
                            'tls-unique requested, not offered on TLS 1.3'),
    'unknown-cb-type': ('SCRAM-SHA-1-PLUS', 'p=tls-foo,,', 'unsupported-channel-binding-type'),
    'y-while-plus-offered': ('SCRAM-SHA-256', 'y,,', 'server-does-support-channel-binding'),
    'plus-without-binding': ('SCRAM-SHA-256-PLUS', 'n,,', 'gs2 flag p='),
    'binding-without-plus': ('SCRAM-SHA-1', 'p=tls-exporter,,', 'without -PLUS'),
    'malformed': ('SCRAM-SHA-256', 'n,,x=', 'RFC 5802'),
}


@pytest.mark.parametrize('name', sorted(PRE_PASSWORD_FAILURES))
def test_pre_password_failure_names_its_reason(server, name):
    """RFC 6120 §6.5: malformed-request with a <text/>, not not-authorized,
    which users read as 'wrong password'."""
    mech, gs2, reason = PRE_PASSWORD_FAILURES[name]
    raw, feats = tls_stream(server)
    with raw:
        assert raw.sock.version() == 'TLSv1.3'
        scram_first(raw, mech, gs2)
        cond, text = failure_of(raw)
        assert cond == 'malformed-request', (cond, text)
        assert text and reason in text, text


def test_pre_password_failures_do_not_count_as_attempts(server):
    """Five failures before any password check, then the right password on
    the same stream: neither max_auth_attempts (3) nor the delay against
    guessing applies to them."""
    raw, _ = tls_stream(server)
    with raw:
        started = time.monotonic()
        for mech, gs2, _ in list(PRE_PASSWORD_FAILURES.values())[:5]:
            scram_first(raw, mech, gs2)
            assert failure_of(raw)[0] == 'malformed-request'
        raw.send("<auth xmlns='%s' mechanism='NO-SUCH-MECH'>=</auth>" % SASL_NS)
        assert failure_of(raw) == ('invalid-mechanism', 'mechanism not offered on this connection')
        # the 1 s pause after a wrong password would make this take 6 s
        assert time.monotonic() - started < 3.0
        result, detail = sasl_auth(raw, 'SCRAM-SHA-256', 'alice', server.passwords['alice'])
        assert result == 'success', detail


def test_wrong_passwords_still_limited_after_pre_password_failures(server):
    """The pre-password failures leave the password limit as it was."""
    raw, _ = tls_stream(server)
    with raw:
        scram_first(raw, 'SCRAM-SHA-256-PLUS', 'p=tls-unique,,')
        assert failure_of(raw)[0] == 'malformed-request'
        started = time.monotonic()
        for attempt in range(3):
            result, cond = sasl_auth(raw, 'SCRAM-SHA-1', 'alice', 'wrong')
            assert (result, cond) == ('failure', 'not-authorized'), attempt
        assert raw.expect_stream_error() == 'policy-violation'
        # two pauses of a second each against guessing (a little less
        # allowed for the server's cached loop clock)
        assert time.monotonic() - started >= 1.8
        assert raw.wait_eof(5) and raw.stream_closed


def test_pre_password_failures_are_bounded(server):
    """A client that never gets it right cannot loop forever: after ten
    such failures (slixmpp needs four), policy-violation."""
    raw, _ = tls_stream(server)
    with raw:
        for i in range(9):
            scram_first(raw, 'SCRAM-SHA-256', 'y,,')
            assert failure_of(raw)[0] == 'malformed-request', i
        raw.send("<auth xmlns='%s' mechanism='PLAIN'>AAAA</auth>" % SASL_NS)
        assert failure_of(raw)[0] == 'malformed-request'
        assert raw.expect_stream_error() == 'policy-violation'
        raw.assert_closed_after_error()


def test_aborts_are_bounded_too(server):
    raw, _ = tls_stream(server)
    with raw:
        for i in range(10):
            raw.send("<auth xmlns='%s' mechanism='SCRAM-SHA-256'/>" % SASL_NS)
            el = raw.next_element()
            assert el.tag == q(SASL_NS, 'challenge'), (i, el.tag)
            raw.send("<abort xmlns='%s'/>" % SASL_NS)
            assert failure_of(raw) == ('aborted', None)
        assert raw.expect_stream_error() == 'policy-violation'


# ---- tls-unique on TLS 1.2 (RFC 5929; with the extended master secret) -------

def test_tls_unique_offered_on_tls12_only(server):
    raw, feats = tls_stream(server, tls_max_version=ssl.TLSVersion.TLSv1_2)
    with raw:
        assert raw.sock.version() == 'TLSv1.2'
        assert 'tls-unique' in cb_types(feats), cb_types(feats)
    raw, feats = tls_stream(server)
    with raw:
        assert raw.sock.version() == 'TLSv1.3'
        assert 'tls-unique' not in cb_types(feats), cb_types(feats)
        assert {'tls-exporter', 'tls-server-end-point'} <= set(cb_types(feats))


@pytest.mark.parametrize('direct_tls', [False, True])
@pytest.mark.parametrize('mech', ['SCRAM-SHA-1-PLUS', 'SCRAM-SHA-256-PLUS'])
def test_tls_unique_login_on_tls12(server, mech, direct_tls):
    raw, _ = tls_stream(server, tls_max_version=ssl.TLSVersion.TLSv1_2, direct_tls=direct_tls)
    with raw:
        assert raw.sock.version() == 'TLSv1.2'
        result, detail = sasl_auth(raw, mech, 'bob', server.passwords['bob'],
                                   cb_name='tls-unique')
        assert result == 'success', detail


def test_tls_unique_wrong_data_on_tls12_is_refused(server):
    raw, _ = tls_stream(server, tls_max_version=ssl.TLSVersion.TLSv1_2)
    with raw:
        result, cond = sasl_auth(raw, 'SCRAM-SHA-256-PLUS', 'bob', server.passwords['bob'],
                                 cb_name='tls-unique', cb_data=os.urandom(12))
        assert (result, cond) == ('failure', 'not-authorized')


def test_tls_unique_of_a_resumed_tls12_session(server):
    """In an abbreviated handshake the server's Finished comes first, and
    that is what tls-unique binds to (RFC 5929 §3.1)."""
    ctx = client_tls_context(max_version=ssl.TLSVersion.TLSv1_2)
    ctx.set_alpn_protocols(['xmpp-client'])
    sock = ctx.wrap_socket(socket.create_connection(('127.0.0.1', server.c2s_tls_port)),
                           server_hostname='localhost')
    session = sock.session
    sock.close()
    assert session is not None
    raw = RawXMPP(server.c2s_tls_port)
    raw.sock = ctx.wrap_socket(raw.sock, server_hostname='localhost', session=session)
    with raw:
        if not raw.sock.session_reused:
            pytest.fail('the server did not resume the TLS 1.2 session')
        raw.open_stream()
        raw.features()
        result, detail = sasl_auth(raw, 'SCRAM-SHA-256-PLUS', 'bob', server.passwords['bob'],
                                   cb_name='tls-unique')
        assert result == 'success', detail


# ---- a stock slixmpp client, as Debian ships it (and poezio uses it) -----------

def stock_client(xmpp, srv, user, tls_max_version=None):
    """slixmpp.ClientXMPP with no SASL configuration at all (no mechanism
    chosen, its own tls-unique channel binding); only certificate checks
    are off for the test certificate. Records the SASL failures it gets
    and whether it lost its connection before the session started."""
    import slixmpp
    c = slixmpp.ClientXMPP(srv.jid(user, 'stock'), srv.passwords[user])
    xmpp.clients.append(c)
    c.ssl_context.check_hostname = False
    c.ssl_context.verify_mode = ssl.CERT_NONE
    if tls_max_version is not None:
        c.ssl_context.maximum_version = tls_max_version
    c.sasl_failures = []
    c.disconnects = 0
    c.add_event_handler('failed_auth', lambda f: c.sasl_failures.append(
        (c['feature_mechanisms'].mech.name, f['condition'], f['text'])))

    def disconnected(_):
        c.disconnects += 1
    c.add_event_handler('disconnected', disconnected)
    return c


async def start_session(c, port, timeout=15):
    started = asyncio.get_running_loop().create_future()
    c.add_event_handler('session_start',
                        lambda _: started.done() or started.set_result(True))
    c.connect(('127.0.0.1', port))
    await asyncio.wait_for(started, timeout)


def test_stock_slixmpp_logs_in_on_first_connection(server, xmpp):
    """Debian's slixmpp 1.8.3 tries SCRAM-*-PLUS with tls-unique on TLS
    1.3, then SCRAM with the 'y' flag, then PLAIN: each refusal is
    malformed-request with a reason, none counts as a password attempt,
    and the session starts on the first connection."""
    async def body():
        c = stock_client(xmpp, server, 'carol')
        await start_session(c, server.c2s_port)
        assert c.disconnects == 0
        assert c['feature_mechanisms'].mech.name == 'PLAIN'
        assert c.sasl_failures, 'expected refusals before PLAIN'
        for mech, cond, text in c.sasl_failures:
            assert cond == 'malformed-request', c.sasl_failures
            assert 'channel' in text, c.sasl_failures
        assert str(c.boundjid.bare) == server.jid('carol')
    xmpp.run(body)


def test_stock_slixmpp_binds_to_tls_unique_on_tls12(server, xmpp):
    """On TLS 1.2 the same client gets its SCRAM-*-PLUS with tls-unique
    on the first try."""
    async def body():
        c = stock_client(xmpp, server, 'alice', tls_max_version=ssl.TLSVersion.TLSv1_2)
        await start_session(c, server.c2s_port)
        assert c.socket.version() == 'TLSv1.2'
        assert c.sasl_failures == [] and c.disconnects == 0
        assert c['feature_mechanisms'].mech.name.endswith('-PLUS')
    xmpp.run(body)
