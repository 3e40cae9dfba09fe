"""Fairness between users (issue 7, items 8 and 12).

A receiver that keeps itself congested on purpose (it asks for its own
120 KiB vCard again and again and never reads) must not freeze anyone
else's stream: a sender is held back only for stanzas it chose to send
to that receiver, and the receiver itself is closed once it has been
congested for limits.congestion_timeout. An account binds at most
limits.max_sessions_per_account resources, and the bytes queued for all
connections together are bounded by limits.send_queue_total.

Ping round trips are measured on the victim's own stream (its stream is
what the old backpressure hold stopped reading) and on an unrelated
client; the figures are printed (pytest -s shows them).
"""

import socket
import time
import xml.etree.ElementTree as ET

import pytest

from xmppraw import (BIND_NS, CLIENT_NS, login, q, RawXMPP, sasl_auth, stanza_error_condition,
                     subscribe_both)

# Seconds: well above the 1.5 s a victim that is not held may take to get
# a ping answered, so that a wrong hold still shows.
CONGESTION_TIMEOUT = 2.5
SERVER_OPTIONS = {
    ('log', 'level'): 'debug',  # "congested" lines tell the test when the attack worked
    ('limits', 'congestion_timeout'): '%dms' % (CONGESTION_TIMEOUT * 1000),
}
CONGESTED = ': congested, '
DROPPED = 'has not read its stream'
CARD = "<vCard xmlns='vcard-temp'><DESC>%s</DESC></vCard>" % ('x' * (120 * 1024))
MAX_REQUESTS = 400  # 48 MiB of vCards: far more than the kernel buffers hold


def log_since(server, start):
    return server.log_text(10 ** 9)[start:]


def log_mark(server):
    return len(server.log_text(10 ** 9))


def ping_rtt(raw, iq_id, timeout=15.0):
    """A ping to the server on raw's stream; seconds until the answer."""
    t0 = time.monotonic()
    el = raw.iq("<ping xmlns='urn:xmpp:ping'/>", to='localhost', iq_id=iq_id, timeout=timeout)
    assert el.get('type') == 'result', ET.tostring(el)
    return time.monotonic() - t0


def client_ping(c):
    t0 = time.monotonic()
    c.sync()
    return time.monotonic() - t0


def set_big_vcard(server, user):
    with RawXMPP(server.c2s_port) as raw:
        raw.login(user, server.passwords[user], resource='card')
        el = raw.iq(CARD, typ='set', iq_id='card1')
        assert el.get('type') == 'result', ET.tostring(el)


def congest(server, raw, witness):
    """raw asks for its own vCard until the server says its queue is
    congested; it never reads. Between requests an unrelated client pings
    (witness): when its answer is back, the server has handled the request
    sent before. Returns (monotonic time of congestion, requests, slowest
    witness ping)."""
    start = log_mark(server)
    slowest = 0.0
    # Each request on the wire at once: with Nagle, requests sent while
    # the server's data is unacknowledged would reach it in a batch, and
    # a batch overshoots from congested to the hard limit.
    raw.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i in range(MAX_REQUESTS):
        raw.send("<iq type='get' id='card-get-%d'><vCard xmlns='vcard-temp'/></iq>" % i)
        slowest = max(slowest, client_ping(witness))
        if CONGESTED in log_since(server, start):
            return time.monotonic(), i + 1, slowest
    raise AssertionError('no congestion after %d vCard requests' % MAX_REQUESTS)


def wait_dropped(server, start, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if DROPPED in log_since(server, start):
            return time.monotonic()
        time.sleep(0.05)
    return None


@pytest.fixture(scope='module')
def friends(server):
    """alice (victim) and bob (attacker) subscribed both ways; bob has a
    120 KiB vCard."""
    a, b = login(server, 'alice', 'setup'), login(server, 'bob', 'setup')
    for c in (a, b):
        c.roster()
        c.available()
    subscribe_both(a, b)
    a.close()
    b.close()
    set_big_vcard(server, 'bob')


def attack(server, resource):
    """victim, attacker and witness online; the attacker congested.
    Returns (victim, attacker, witness, congested_at, log mark)."""
    victim = login(server, 'alice', 'victim-' + resource)
    victim.roster()
    victim.available()
    attacker = login(server, 'bob', 'attacker-' + resource)
    attacker.roster()
    attacker.available()
    victim.presence(attacker.full)
    witness = login(server, 'carol', 'witness-' + resource)
    mark = log_mark(server)
    at, n, slowest = congest(server, attacker, witness)
    print('\n%s: congested after %d vCard requests; witness ping at most %.3f s'
          % (resource, n, slowest))
    return victim, attacker, witness, at, mark


def finish(server, clients, mark, at, dropped=None):
    """The attacker is closed after the bound, not before; everyone else
    stays."""
    if dropped is None:
        dropped = wait_dropped(server, mark, CONGESTION_TIMEOUT + 5)
    assert dropped is not None, 'the congested attacker was never dropped'
    took = dropped - at
    print('attacker dropped %.2f s after its congestion was seen' % took)
    assert CONGESTION_TIMEOUT - 0.5 <= took <= CONGESTION_TIMEOUT + 2.5, took
    log = log_since(server, mark)
    assert 'send queue full' not in log, 'dropped at the hard limit, not by the bound'
    assert log.count(DROPPED) == 1, log[-3000:]
    for c in clients:
        c.close()


def test_presence_broadcast_does_not_hold_the_victim(server, friends):
    victim, attacker, witness, at, mark = attack(server, 'broadcast')
    victim.send("<presence><status>still here</status></presence>")
    rtt = ping_rtt(victim, 'after-broadcast')
    print('victim ping after a presence broadcast to the attacker: %.3f s' % rtt)
    assert rtt < 1.5, 'victim held %.2f s by its own presence broadcast' % rtt
    assert client_ping(witness) < 1.5
    finish(server, (victim, attacker, witness), mark, at)


def test_answering_a_ping_does_not_hold_the_victim(server, friends):
    victim, attacker, witness, at, mark = attack(server, 'iq-result')
    # The attacker pings the victim's full JID (no subscription needed);
    # the victim's answer goes to the congested attacker.
    attacker.send("<iq type='get' id='evil-ping' to='%s'><ping xmlns='urn:xmpp:ping'/></iq>"
                  % victim.full)
    req = victim.expect(lambda e: e.tag == q(CLIENT_NS, 'iq') and e.get('id') == 'evil-ping',
                        what='the attacker ping')
    victim.send("<iq type='result' id='evil-ping' to='%s'/>" % req.get('from'))
    rtt = ping_rtt(victim, 'after-answer')
    print('victim ping after answering the attacker ping: %.3f s' % rtt)
    assert rtt < 1.5, 'victim held %.2f s for answering an iq' % rtt
    finish(server, (victim, attacker, witness), mark, at)


def test_message_to_the_attacker_holds_at_most_the_bound(server, friends):
    """A message is the victim's choice, so it may be held, but only until
    the attacker is dropped: no longer than limits.congestion_timeout."""
    victim, attacker, witness, at, mark = attack(server, 'message')
    victim.send("<message type='chat' to='%s'><body>hi</body></message>" % attacker.full)
    rtt = ping_rtt(victim, 'after-message')
    print('victim ping after a message to the attacker: %.3f s (bound %.1f s)'
          % (rtt, CONGESTION_TIMEOUT))
    assert rtt <= CONGESTION_TIMEOUT + 2, 'victim held %.2f s' % rtt
    assert client_ping(witness) < 1.5
    finish(server, (victim, attacker, witness), mark, at)


def test_attacker_is_dropped_with_policy_violation(server, friends):
    victim, attacker, witness, at, mark = attack(server, 'dropped')
    dropped = wait_dropped(server, mark, CONGESTION_TIMEOUT + 5)
    assert dropped is not None
    # Its session is gone: the victim sees it unavailable at once (its
    # queue still drains, up to the close time-out, for a client that
    # reads again).
    victim.presence(attacker.full, 'unavailable', timeout=3)
    # What it is told, behind everything queued: a policy-violation.
    attacker.sock.settimeout(20)
    assert attacker.expect_stream_error(timeout=20) == 'policy-violation'
    assert client_ping(witness) < 1.5
    finish(server, (victim, attacker, witness), mark, at, dropped)


# ---- sessions per account ------------------------------------------------

def bind_raw(server, user, resource):
    """Logs in up to the bind request; returns (raw, the bind answer)."""
    raw = RawXMPP(server.c2s_port)
    raw.open_stream()
    raw.features()
    raw.starttls()
    result, detail = sasl_auth(raw, 'PLAIN', user, server.passwords[user])
    assert result == 'success', detail
    raw.open_stream()
    raw.features()
    raw.send("<iq type='set' id='b1'><bind xmlns='%s'><resource>%s</resource></bind></iq>"
             % (BIND_NS, resource))
    return raw, raw.next_element()


def test_eleventh_session_is_refused(server):
    sessions = []
    try:
        for i in range(10):
            raw = RawXMPP(server.c2s_port)
            raw.login('carol', server.passwords['carol'], resource='r%d' % i)
            sessions.append(raw)
        extra, answer = bind_raw(server, 'carol', 'r10')
        sessions.append(extra)
        assert answer.get('type') == 'error', ET.tostring(answer)
        assert stanza_error_condition(answer) == 'resource-constraint', ET.tostring(answer)
        err = answer.find(q(CLIENT_NS, 'error'))
        assert err.get('type') == 'wait', ET.tostring(answer)
        # The ten others keep working.
        for i, raw in enumerate(sessions[:10]):
            assert ping_rtt(raw, 'p%d' % i, timeout=5) < 5
        # Taking over one of its own resources adds none: allowed, and
        # the old stream is told conflict.
        extra.send("<iq type='set' id='b2'><bind xmlns='%s'><resource>r3</resource></bind></iq>"
                   % BIND_NS)
        el = extra.next_element()
        assert el.get('type') == 'result', ET.tostring(el)
        assert sessions[3].expect_stream_error() == 'conflict'
        # With one gone, a new resource fits again.
        sessions[0].close()
        deadline = time.monotonic() + 5
        while True:
            raw, answer = bind_raw(server, 'carol', 'r11')
            sessions.append(raw)
            if answer.get('type') == 'result' or time.monotonic() > deadline:
                break
            time.sleep(0.1)  # the server has not yet seen r0's close
        assert answer.get('type') == 'result', ET.tostring(answer)
    finally:
        for raw in sessions:
            raw.close()


# ---- all queues together -------------------------------------------------

SHED = 'over limits.send_queue_total'


def test_total_queue_bound_drops_the_largest(make_server):
    """Like the issue's 300 non-reading sessions, scaled down: four
    sessions of one account that never read get every message sent to the
    bare JID. Each queue stays far under its own limit (4 MiB), but all
    together pass limits.send_queue_total (2 MiB): the largest are dropped,
    an unrelated client's ping stays fast."""
    srv = make_server({
        ('log', 'level'): 'debug',
        ('limits', 'send_queue_max'): '4MiB',
        ('limits', 'send_queue_total'): '2MiB',
        ('limits', 'congestion_timeout'): '60s',  # only the total bound may act
        ('limits', 'read_rate'): '256MiB',
        ('limits', 'read_burst'): '256MiB',
    })
    readers, sender, witness = [], None, None
    try:
        for i in range(4):
            c = login(srv, 'bob', 'silent%d' % i)
            c.available()
            readers.append(c)  # and never read again
        sender = login(srv, 'alice', 'sender')
        sender.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        witness = login(srv, 'carol', 'witness')
        start = log_mark(srv)
        body = 'y' * (64 * 1024)
        slowest, sent = 0.0, 0
        while log_since(srv, start).count(SHED) < 2 and sent < 600:
            sender.send("<message type='chat' to='bob@localhost' id='m%d'><body>%s</body>"
                        "</message>" % (sent, body))
            sent += 1
            slowest = max(slowest, client_ping(witness))
        log = log_since(srv, start)
        print('\n%d messages of 64 KiB to 4 silent sessions: %d dropped by the total bound;'
              ' witness ping at most %.3f s' % (sent, log.count(SHED), slowest))
        assert log.count(SHED) >= 2, 'the total bound never acted:\n%s' % log[-3000:]
        assert 'send queue full' not in log, 'a single queue hit its own limit first'
        assert DROPPED not in log
        assert slowest < 1.5, 'witness ping took %.2f s' % slowest
        # The sender was not dropped, and is still served.
        assert ping_rtt(sender, 'sender-after', timeout=10) < 10
        assert client_ping(witness) < 1.5
    finally:
        for c in readers + [sender, witness]:
            if c:
                c.close()
    assert srv.stop() == 0
