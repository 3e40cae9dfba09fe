"""Promise P14: the log keeps no personal data at the default level.

A server is put through logins (good and failed), messages, stream errors,
bad TLS and disconnects, over IPv4 and IPv6; then everything it wrote to
stderr (and stdout) is searched for the user names, JIDs, resources,
passwords, message bodies, client-chosen names and client IP addresses it
saw. At `warn` (the default) and `info` none may appear. At `debug` the
same run must show the events in the log, which proves the search reads
the log the activity went to; the search itself is tested on lines that
do leak.
"""

import asyncio
import base64
import socket

import pytest

from conftest import DOMAIN
from xmppraw import RawXMPP, TLS_NS, q, sasl_auth

# Distinctive names, so a hit cannot be a coincidence (no 'alice' in a path).
USERS = {'quillonx': 'pw-Quillon-4417', 'marrowz': 'pw-Marrow-9253 ünï'}
RESOURCE = 'res-Vellum-3380'
BODIES = ('body-Plover-5521', 'body-Tansy-7194')
WRONG_PASSWORD = 'pw-Wrong-6602'
UNKNOWN_USER = 'ghostlyq'
UNKNOWN_HOST = 'host-Sorrel.test'
CLIENT_IPS = ('127.0.0.1', '::1', '0:0:0:0:0:0:0:1')


def secrets():
    """Every string the log must not contain, with some encodings of them."""
    words = [RESOURCE, WRONG_PASSWORD, UNKNOWN_USER, UNKNOWN_HOST, *BODIES, *CLIENT_IPS]
    for user, pw in USERS.items():
        words += [user, pw, '%s@%s' % (user, DOMAIN)]
        words.append(base64.b64encode(('\0%s\0%s' % (user, pw)).encode()).decode())
        words.append(base64.b64encode(pw.encode()).decode())
    return words


def leaks(log_text, words):
    """[(word, line)] for each line of log_text that contains a word
    (case-insensitive: user names and domains are case-folded)."""
    found = []
    for line in log_text.splitlines():
        low = line.lower()
        found += [(w, line) for w in words if w.lower() in low]
    return found


def test_leak_search_finds_leaks():
    """The search the tests below rely on can fail."""
    words = secrets()
    clean = 'taube 0.1: ready, 1 domain(s), client port 25222\n' \
            'c2s 7f3a: authentication failed (not-authorized)\n'
    assert leaks(clean, words) == []
    for line in ('c2s 7f3a: login quillonx@localhost/res-Vellum-3380',
                 'conn 12: accepted from 127.0.0.1:40112',
                 'conn 13: accepted from [::1]:40113',
                 'sasl: PLAIN for QUILLONX failed',
                 'router: message body-Plover-5521',
                 'sasl: got %s' % base64.b64encode(b'\0marrowz\0pw-Marrow-9253 \xc3\xbcn\xc3\xaf')
                 .decode(),
                 'c2s: stream to host-Sorrel.test: host-unknown'):
        assert leaks(clean + line + '\n', words), 'missed: %s' % line


# ---- the activity --------------------------------------------------------------

def starttls_stream(port, host='127.0.0.1', to=DOMAIN):
    raw = RawXMPP(port, host=host)
    raw.open_stream(to=to)
    raw.features()
    raw.send("<starttls xmlns='%s'/>" % TLS_NS)
    assert raw.next_element().tag == q(TLS_NS, 'proceed')
    raw._wrap_tls()
    raw.open_stream(to=to)
    raw.features()
    return raw


def raw_activity(srv):
    pw = USERS['marrowz']
    # A good PLAIN login over IPv6, then XML that is not well-formed.
    raw = starttls_stream(srv.c2s_port, host='::1')
    with raw:
        assert sasl_auth(raw, 'PLAIN', 'marrowz', pw)[0] == 'success'
        raw.open_stream()
        raw.features()
        raw.bind(RESOURCE)
        raw.send('<message to="quillonx@localhost"><body>%s</body></mess>' % BODIES[1])
        assert raw.expect_stream_error() == 'not-well-formed'
    # Failed logins: a wrong password (PLAIN, SCRAM) and an unknown user,
    # each on its own connection (the server slows down repeated failures
    # on one connection).
    for mech, user in (('PLAIN', 'quillonx'), ('SCRAM-SHA-256', 'quillonx'),
                       ('SCRAM-SHA-1', UNKNOWN_USER), ('PLAIN', UNKNOWN_USER)):
        with starttls_stream(srv.c2s_port) as raw:
            assert sasl_auth(raw, mech, user, WRONG_PASSWORD)[0] == 'failure'
    # A stream to a domain the server does not serve.
    with RawXMPP(srv.c2s_port) as raw:
        raw.open_stream(to=UNKNOWN_HOST)
        assert raw.expect_stream_error() == 'host-unknown'
    # Direct TLS asking for an unknown name, then not TLS at all.
    with RawXMPP(srv.c2s_tls_port, direct_tls=True, server_name=UNKNOWN_HOST) as raw:
        raw.send("<stream:stream to='%s'/>" % UNKNOWN_HOST)
        raw.wait_eof(3)
    with socket.create_connection(('127.0.0.1', srv.c2s_tls_port), timeout=5) as s:
        s.sendall(b'GET / HTTP/1.0\r\nHost: %s\r\n\r\n' % UNKNOWN_HOST.encode())
        s.settimeout(3)
        try:
            s.recv(100)
        except OSError:
            pass
    # A logged-in session that vanishes without </stream:stream>.
    raw = starttls_stream(srv.c2s_port)
    assert sasl_auth(raw, 'PLAIN', 'quillonx', USERS['quillonx'])[0] == 'success'
    raw.open_stream()
    raw.features()
    raw.bind(RESOURCE + '-2')
    raw.sock.close()


async def slixmpp_activity(xmpp, srv):
    q_ = await xmpp.client(srv, 'quillonx', resource=RESOURCE, mech='SCRAM-SHA-256')
    m = await xmpp.client(srv, 'marrowz', resource=RESOURCE, mech='SCRAM-SHA-1',
                          plugins=['xep_0199'])
    box = asyncio.Queue()
    m.add_event_handler('message', box.put_nowait)
    q_.send_presence()
    q_.send_message(mto='marrowz@%s/%s' % (DOMAIN, RESOURCE), mbody=BODIES[0], mtype='chat')
    msg = await asyncio.wait_for(box.get(), 5)
    assert msg['body'] == BODIES[0]
    # To a user that does not exist, and to a full JID that is not online.
    q_.send_message(mto='%s@%s' % (UNKNOWN_USER, DOMAIN), mbody=BODIES[1])
    q_.send_message(mto='marrowz@%s/gone' % DOMAIN, mbody=BODIES[1])
    await xmpp.ping(m)
    _, outcome = await xmpp.client(srv, 'quillonx', resource='x', password=WRONG_PASSWORD,
                                   expect_failure=True)
    assert outcome != 'session'


def run_everything(make_server, xmpp, level):
    srv = make_server({('log', 'level'): level,
                       ('network', 'listen'): '["127.0.0.1", "::1"]'}, start=False)
    for user, pw in USERS.items():
        srv.ctl('user', 'add', '%s@%s' % (user, DOMAIN), '--password', pw, check=True)
    srv.passwords.update(USERS)
    srv.start()
    raw_activity(srv)
    xmpp.run(lambda: slixmpp_activity(xmpp, srv))
    srv.check_clean_exit()
    return srv.log_text(10 ** 9)


@pytest.mark.parametrize('level', ['warn', 'info'])
def test_log_has_no_personal_data(make_server, xmpp, level):
    log = run_everything(make_server, xmpp, level)
    assert 'ready' in log, 'the server log was not captured: %r' % log[-2000:]
    found = leaks(log, secrets())
    assert not found, 'personal data in the log at level %s:\n%s' % (
        level, '\n'.join('%r in: %s' % f for f in found[:20]))


def test_debug_log_shows_the_activity(make_server, xmpp):
    """At debug the same run is visible in the log: the leak search above
    reads the stream the server logs to, so its silence means something."""
    log = run_everything(make_server, xmpp, 'debug')
    for event in ('host-unknown', 'not-well-formed', 'authentication failed'):
        assert event in log, 'debug log lacks %r:\n%s' % (event, log[-4000:])
