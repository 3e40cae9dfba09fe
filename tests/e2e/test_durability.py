"""Durability: what taubectl wrote survives `kill -9` of the server, and a
server killed in the middle of a burst of logins leaves a database that
passes SQLite's integrity check and starts again."""

import signal
import subprocess
import threading
import time

from conftest import DOMAIN
from xmppraw import RawXMPP, new_user, offline_count, sasl_auth, send_msg


def auth(srv, user, password, mech='PLAIN', bind=False):
    """One SASL exchange after STARTTLS: 'success', 'failure', ... With
    bind, a resource is bound after success (the server then records the
    login time: a database write)."""
    with RawXMPP(srv.c2s_port, timeout=5) as raw:
        raw.open_stream()
        raw.features()
        raw.starttls()
        result = sasl_auth(raw, mech, user, password)[0]
        if result == 'success' and bind:
            raw.open_stream()
            raw.features()
            raw.bind()
        return result


def kill9(srv):
    rc = srv.stop(sig=signal.SIGKILL)
    assert rc == -signal.SIGKILL, 'taube exited with %s before SIGKILL' % rc


def integrity(srv):
    db = srv.dir / 'data' / 'taube.db'
    assert db.is_file(), 'no database at %s' % db
    p = subprocess.run(['sqlite3', str(db), 'PRAGMA integrity_check'], capture_output=True,
                       text=True, timeout=30)
    return p.returncode, (p.stdout + p.stderr).strip()


def test_accounts_and_new_password_survive_kill9(make_server):
    srv = make_server()
    srv.ctl('user', 'add', 'dora@%s' % DOMAIN, '--password', 'dora-pw', check=True)
    old, new = srv.passwords['alice'], 'alice-new-pw-2'
    assert auth(srv, 'alice', old) == 'success'
    srv.ctl('user', 'passwd', 'alice@%s' % DOMAIN, '--password', new, check=True)
    # The running server reads the new credentials at once.
    assert auth(srv, 'alice', new, 'SCRAM-SHA-256') == 'success'
    assert auth(srv, 'alice', old, 'SCRAM-SHA-256') == 'failure'
    kill9(srv)
    srv.start()
    assert auth(srv, 'alice', new) == 'success'
    assert auth(srv, 'alice', new, 'SCRAM-SHA-1') == 'success'
    assert auth(srv, 'alice', old) == 'failure'
    assert auth(srv, 'alice', old, 'SCRAM-SHA-256') == 'failure'
    assert auth(srv, 'dora', 'dora-pw', 'SCRAM-SHA-256') == 'success'
    for user in ('bob', 'carol'):
        assert auth(srv, user, srv.passwords[user]) == 'success', user
    listed = srv.ctl('user', 'list', check=True).stdout.split()
    assert listed == sorted(['%s@%s' % (u, DOMAIN) for u in ('alice', 'bob', 'carol', 'dora')])
    srv.check_clean_exit()


def login_loop(srv, stop, counts):
    """Logs in again and again until stop is set or the server is gone."""
    users = list(srv.passwords.items())
    i = 0
    while not stop.is_set():
        user, pw = users[i % len(users)]
        mech = ('PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-1')[i % 3]
        i += 1
        try:
            counts.append(auth(srv, user, pw, mech, bind=i % 2 == 0))
        except Exception:  # the server was killed under us
            counts.append('error')
            time.sleep(0.01)


def add_loop(srv, stop, added):
    """Creates accounts with taubectl (database writes) during the burst."""
    n = 0
    while not stop.is_set() and n < 50:
        jid = 'burst%d@%s' % (n, DOMAIN)
        if srv.ctl('user', 'add', jid, '--password', 'pw-%d' % n).returncode == 0:
            added.append(('burst%d' % n, 'pw-%d' % n))
        n += 1


def test_kill9_during_a_burst_of_logins(make_server):
    srv = make_server()
    stop, results, added = threading.Event(), [], []
    threads = [threading.Thread(target=login_loop, args=(srv, stop, results)) for _ in range(6)]
    threads.append(threading.Thread(target=add_loop, args=(srv, stop, added)))
    for t in threads:
        t.start()
    try:
        # 30 logins, however long a loaded machine takes for them (5 s
        # was not always enough under ASan with other jobs running).
        deadline = time.monotonic() + 60
        while results.count('success') < 30 and time.monotonic() < deadline:
            time.sleep(0.02)
        kill9(srv)
        time.sleep(0.2)  # logins now fail against a dead server
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    assert results.count('success') >= 30, 'too few logins before the kill: %s' % results[:20]
    assert 'failure' not in results, 'a login with the right password failed'
    rc, out = integrity(srv)
    assert (rc, out) == (0, 'ok'), 'integrity_check after kill -9: %s' % out
    # The server was writing during the burst (bind records the login
    # time), and what it committed is there: kill -9 loses no commit.
    touched = subprocess.run(['sqlite3', str(srv.dir / 'data' / 'taube.db'),
                              'SELECT count(*) FROM accounts WHERE last_login IS NOT NULL'],
                             capture_output=True, text=True, timeout=30)
    assert touched.stdout.strip() not in ('', '0'), \
        'no login time recorded: %s%s' % (touched.stdout, touched.stderr)
    srv.start()
    for user, pw in list(srv.passwords.items()) + added[-3:]:
        assert auth(srv, user, pw, 'SCRAM-SHA-256') == 'success', user
    srv.check_clean_exit()


def flood_loop(srv, user, rcpt, stop, acked, ended):
    """Batches of 20 messages to rcpt (offline), each followed by a ping;
    acked[rcpt] counts the messages of the batches whose ping was
    answered. Taube answers an iq after the commit of the messages its
    client sent before, so those messages are on disk."""
    try:
        raw = RawXMPP(srv.c2s_port, timeout=5)
        raw.login(user, srv.passwords[user], resource='flood')
        n = 0
        while not stop.is_set():
            for _ in range(20):
                send_msg(raw, '%s@%s' % (rcpt, DOMAIN), 'chat', 'flood %d' % n, mid='f%d' % n)
                n += 1
            raw.sync()
            acked[rcpt] = n
    except Exception as e:  # the server was killed under us (or a bug: reported)
        ended.append(repr(e))


def test_kill9_during_an_offline_flood_loses_no_acknowledged_message(make_server):
    """Three clients store messages for three offline accounts as fast as
    the server takes them; kill -9 in the middle. After a restart every
    message whose batch was acknowledged (its ping answered) is stored:
    group commit answers nobody before its commit."""
    srv = make_server()
    rcpts = [new_user(srv, 'fl') for _ in range(3)]
    stop, acked, ended = threading.Event(), {}, []
    threads = [threading.Thread(target=flood_loop, args=(srv, u, r, stop, acked, ended))
               for u, r in zip(('alice', 'bob', 'carol'), rcpts)]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + 10
        while sum(acked.values()) < 600 and time.monotonic() < deadline:
            time.sleep(0.02)
        kill9(srv)
        seen = dict(acked)
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    assert sum(seen.values()) >= 600, 'too few acknowledged before the kill: %s %s' % (seen, ended)
    srv.start()
    for r in rcpts:
        assert offline_count(srv, r) >= seen.get(r, 0), (r, offline_count(srv, r), seen)
    assert integrity(srv) == (0, 'ok')
    srv.check_clean_exit()


def test_answered_roster_changes_survive_kill9(make_server):
    """Roster sets and subscription changes are written by the store's
    writer thread; a client is answered (and pushed) only after their
    commit. Every change answered before kill -9 is there after it."""
    from xmppraw import ROSTER_NS, login, q, subscribe_both
    srv = make_server()
    alice, bob = login(srv, 'alice', 'a'), login(srv, 'bob', 'b')
    try:
        for c in (alice, bob):
            c.interested()
        subscribe_both(alice, bob)
        # 30 sets in one write: each is answered after its own commit.
        alice.send(''.join("<iq type='set' id='rs%d'><query xmlns='%s'><item jid='c%d@%s' "
                           "name='C %d'><group>G</group></item></query></iq>"
                           % (n, ROSTER_NS, n, DOMAIN, n) for n in range(30)))
        for n in range(30):
            res = alice.expect(lambda e, i='rs%d' % n: e.tag == q('jabber:client', 'iq')
                               and e.get('id') == i, what='answer rs%d' % n)
            assert res.get('type') == 'result'
        kill9(srv)
    finally:
        alice.close()
        bob.close()
    srv.start()
    alice = login(srv, 'alice', 'a2')
    try:
        _, items = alice.roster()
        assert {'c%d@%s' % (n, DOMAIN) for n in range(30)} <= set(items)
        assert items['c7@%s' % DOMAIN].get('name') == 'C 7'
        assert items['bob@%s' % DOMAIN].get('subscription') == 'both'
    finally:
        alice.close()
    assert integrity(srv) == (0, 'ok')
    srv.check_clean_exit()
