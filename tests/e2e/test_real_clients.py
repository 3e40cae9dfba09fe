"""Smoke tests with real clients from Debian's packages, against a
slixmpp user: profanity (libstrophe) driven through tmux, and
go-sendxmpp (go-xmpp). Each logs in and exchanges messages both ways;
profanity also blocks and reports a spammer (XEP-0377).

The clients run with temporary HOME/XDG directories (realclients.py);
the server's certificate is self-signed, so each is told to trust it.
"""

import asyncio
import re
import secrets
import sqlite3

import pytest

from realclients import GoSendxmpp, Profanity, wait_until
from xmppraw import db_path


def inbox(c):
    box = asyncio.Queue()
    c.add_event_handler('message', box.put_nowait)
    return box


async def online(xmpp, server, user, resource):
    """A slixmpp client that is available (so bare-JID messages reach it)."""
    c = await xmpp.client(server, user, resource=resource, plugins=['xep_0199'])
    box = inbox(c)
    c.send_presence()
    await xmpp.ping(c)  # a round trip: the server has seen the presence
    return c, box


async def next_chat(box, timeout=8):
    """The next message with a body (skips chat states and the like)."""
    while True:
        msg = await asyncio.wait_for(box.get(), timeout)
        if msg['body']:
            return msg


# ---- profanity -----------------------------------------------------------------

def test_profanity_exchanges_messages_with_slixmpp(server, xmpp, tmp_path):
    prof = Profanity(tmp_path / 'profanity-home')
    try:
        prof.start()
        prof.login(server, 'alice')
        # libstrophe 0.12 has no -PLUS: it must pick SCRAM-SHA-256 with
        # the gs2 flag 'n' (no 'y', which Taube would rightly refuse).
        auth = prof.sasl_auth_sent()
        assert auth is not None and 'mechanism="SCRAM-SHA-256"' in auth, auth
        to_bob = 'hello from profanity, grüße %s' % secrets.token_hex(3)
        to_alice = 'hello from slixmpp, grüße %s' % secrets.token_hex(3)

        async def body():
            bob, box = await online(xmpp, server, 'bob', 'slix')
            await xmpp.blocking(prof.tmux.type, '/msg %s %s' % (server.jid('bob'), to_bob))
            msg = await next_chat(box)
            assert msg['body'] == to_bob
            assert msg['from'].bare == server.jid('alice')
            assert msg['from'].resource.startswith('profanity'), str(msg['from'])
            assert msg['type'] == 'chat'
            # Answer to the full JID it came from; /msg left profanity
            # showing the chat window with bob, where the reply lands.
            bob.send_message(mto=msg['from'], mbody=to_alice, mtype='chat')
            await xmpp.blocking(prof.tmux.wait_for, re.escape(to_alice), 8)
        xmpp.run(body, timeout=25)
    finally:
        prof.close()


def test_profanity_blocks_and_reports_spam(server, tmp_path):
    """profanity 0.13 offers `/blocked report-spam JID [message]` once the
    server advertises urn:xmpp:reporting:1 (XEP-0377); the block is
    applied and the report stored with its text."""
    prof = Profanity(tmp_path / 'profanity-home')
    spammer = 'bot%s@spam.example' % secrets.token_hex(3)
    words = 'sells pills %s' % secrets.token_hex(3)
    try:
        prof.start()
        prof.login(server, 'carol')
        prof.tmux.type('/blocked report-spam %s %s' % (spammer, words))

        def stored():
            out = server.ctl('report', 'list').stdout
            return [ln for ln in out.splitlines() if '\treported: %s\t' % spammer in ln]
        lines = wait_until(stored, 10)
        assert lines, 'no report; the screen:\n%s\nits log:\n%s' % (
            prof.tmux.screen(), prof.log_tail())
        assert len(lines) == 1, lines
        assert '\tspam\t' in lines[0] and '\tby: carol@localhost' in lines[0], lines[0]
        assert '\ttext: %s' % words in lines[0], lines[0]
        assert 'not supported by server' not in prof.tmux.screen()
        db = sqlite3.connect(str(db_path(server)))
        try:
            blocked = db.execute("SELECT b.jid FROM blocklist b JOIN accounts a"
                                 " ON a.id = b.account_id WHERE a.username = 'carol'").fetchall()
        finally:
            db.close()
        assert (spammer,) in blocked, blocked
    finally:
        prof.close()


# ---- go-sendxmpp ---------------------------------------------------------------

# go-xmpp writes a newline after each top-level element it sends,
# including after </auth> and <starttls/>: Taube must not feed that
# whitespace to the restarted stream (it would put the client's next XML
# declaration after the document's start) nor treat it as plaintext
# injected after STARTTLS.


@pytest.mark.parametrize('direct_tls', [
    pytest.param(True, id='direct-tls'),
    pytest.param(False, id='starttls'),
])
def test_go_sendxmpp_sends_to_slixmpp(server, xmpp, tmp_path, direct_tls):
    gs = GoSendxmpp(tmp_path / 'gs-home', server, 'alice', direct_tls=direct_tls)
    text = 'hello from go-sendxmpp, grüße %s' % secrets.token_hex(3)

    async def body():
        _bob, box = await online(xmpp, server, 'bob', 'slix')
        p = await xmpp.blocking(gs.send, server.jid('bob'), text)
        assert p.returncode == 0, 'go-sendxmpp failed (%d): %s %s' % (
            p.returncode, p.stdout, p.stderr)
        msg = await next_chat(box)
        assert msg['body'] == text
        assert msg['from'].bare == server.jid('alice')
    xmpp.run(body, timeout=25)


def test_go_sendxmpp_listens_for_slixmpp(server, xmpp, tmp_path):
    gs = GoSendxmpp(tmp_path / 'gs-home', server, 'carol')
    text = 'hello from slixmpp, grüße %s' % secrets.token_hex(3)
    listener = gs.listen()
    try:
        async def body():
            bob, _box = await online(xmpp, server, 'bob', 'slix')
            # Nothing tells bob when `go-sendxmpp -l` is online (it is not
            # in his roster, and it crashes on an XEP-0199 ping), so send
            # again each second until it prints the message: one sent
            # before it came online bounces or waits in offline storage.
            line = None
            for _ in range(8):
                bob.send_message(mto=server.jid('carol'), mbody=text, mtype='chat')
                line = await xmpp.blocking(listener.wait_line, text, 1.0)
                if line is not None or not listener.running():
                    break
            assert line is not None, 'go-sendxmpp -l printed nothing (running: %s); ' \
                'its stderr: %s' % (listener.running(), listener.stop())
            assert line.endswith('%s: %s' % (server.jid('bob'), text)), line
        xmpp.run(body, timeout=25)
    finally:
        listener.stop()
