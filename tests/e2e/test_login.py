"""Login: mandatory STARTTLS, direct TLS, every SASL mechanism, failures."""

import base64
import os
import ssl

import pytest

from xmppraw import (RawXMPP, SASL_NS, TLS_NS, mechanisms, q, sasl_auth)

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
            # the last one may be answered with a stream error instead
            allowed = ('failure', 'stream-error') if attempt == 2 else ('failure',)
            assert result in allowed, (attempt, result, cond)
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
