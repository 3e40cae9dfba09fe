"""Backpressure (STYLE.md point 9): a client flooding a receiver that does
not read is itself paused once the receiver's send queue passes its
high-water mark, instead of the receiver being dropped when the queue
hits limits.send_queue_max. Once the receiver reads again it gets every
message, in order, and the sender is resumed.

The read-rate limit is lifted for this server so that only backpressure
can hold the sender back, and the send queue is small so that, without
backpressure, the flood overflows it within the first second.
"""

import threading
import time


from xmppraw import CLIENT_NS, RawXMPP, q

SERVER_OPTIONS = {
    ('limits', 'read_rate'): '256MiB',
    ('limits', 'read_burst'): '256MiB',
    ('limits', 'send_queue_max'): '256KiB',
    # The receiver is meant to be slow, not dropped: on a loaded machine
    # its first read may come later than the default 5 s of congestion
    # (test_fairness.py tests that bound).
    ('limits', 'congestion_timeout'): '60s',
}

# Messages of about 2 KiB: 8 MiB, more than the kernel buffers between
# server and receiver hold (a few MiB on loopback). No small SO_RCVBUF on
# the receiver: shrunk after connect, it makes the kernel drop segments
# already in flight, and retransmission back-off stalls the test.
COUNT = 4000
PAD = 'x' * 2000
BATCH = 20            # messages per sendall


def message(to, i):
    return "<message to='%s' type='chat' id='m%d'><body>%d %s</body></message>" % (
        to, i, i, PAD)


def ping(raw, iq_id, timeout):
    """Sends an XEP-0199 ping to the server; the time its answer took."""
    t0 = time.monotonic()
    el = raw.iq("<ping xmlns='urn:xmpp:ping'/>", to='localhost', iq_id=iq_id, timeout=timeout)
    assert el.get('type') == 'result', 'ping answered with %s' % el.get('type')
    return time.monotonic() - t0


def flood(raw, to, state):
    """Sends COUNT messages as fast as the server takes them."""
    try:
        for start in range(0, COUNT, BATCH):
            raw.send(''.join(message(to, i) for i in range(start, min(start + BATCH, COUNT))))
            state['sent'] = min(start + BATCH, COUNT)
    except OSError as e:
        state['error'] = e


def receive_all(raw, timeout):
    """Reads messages until COUNT arrived; returns their numbers in order."""
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < COUNT:
        el = raw.next_element(max(0.1, deadline - time.monotonic()))
        if el is None:
            break
        if el.tag == q(CLIENT_NS, 'message'):
            got.append(int(el.find(q(CLIENT_NS, 'body')).text.split(' ', 1)[0]))
    return got


def test_slow_receiver_slows_its_sender(server):
    receiver = RawXMPP(server.c2s_port, timeout=15)
    to = receiver.login('bob', server.passwords['bob'], resource='slow')
    sender = RawXMPP(server.c2s_port, timeout=15)
    sender.login('alice', server.passwords['alice'], resource='flood')
    third = RawXMPP(server.c2s_port, timeout=5)
    third.login('carol', server.passwords['carol'], resource='third')
    log_before = len(server.log_text(10 ** 9))
    state = {'sent': 0}
    t = threading.Thread(target=flood, args=(sender, to, state), daemon=True)
    try:
        t.start()
        # The receiver does not read meanwhile. (The sender's own socket
        # buffers may take the whole flood: it is the server that stops
        # reading them.)
        time.sleep(2.5)
        took = ping(third, 'third1', timeout=1.0)
        assert took < 1.0, 'server took %.2f s to answer a ping during the flood' % took
        assert 'send queue full' not in server.log_text(10 ** 9)[log_before:], \
            'the receiver was dropped instead of its sender slowed down'

        got = receive_all(receiver, timeout=10)
        t.join(5)
        assert not t.is_alive(), 'the sender is still held back after the receiver read'
        assert 'error' not in state, 'sending failed: %r' % state.get('error')
        assert len(got) == COUNT, 'received %d of %d messages' % (len(got), COUNT)
        assert got == list(range(COUNT)), 'messages out of order'
        assert ping(sender, 'sender1', timeout=5) < 5  # resumed, still served
        assert 'send queue full' not in server.log_text(10 ** 9)[log_before:]
    finally:
        for c in (receiver, sender, third):
            c.close()
        t.join(5)
