"""Inactivity retention (promises P11, P12): with the server's clock moved
forward by the test-only control command `clock-offset`, an unused
account is warned by a message, then deleted once the warning period is
over, while an account in use is left alone; `taubectl retention report`
shows both states; a login after the warning cancels the deletion; the
period's bounds are checked by `taube --check`."""

import socket
import sqlite3
import subprocess
import time
import xml.etree.ElementTree as ET

from conftest import TAUBE
from realclients import wait_until
from test_data_contract import tables_with_account_rows
from xmppraw import CLIENT_NS, db_path, login, q, RawXMPP

DAY = 86400


def control(srv, *args):
    """One request on the server's control socket; returns the reply line."""
    path = srv.dir / 'data' / 'taube.sock'
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(str(path))
        s.sendall(('\t'.join(map(str, args)) + '\n').encode())
        data = b''
        while not data.endswith(b'\n'):
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    return data.decode().rstrip('\n')


def set_days(srv, days):
    assert control(srv, 'clock-offset', days * DAY) == 'ok\tclock offset %d' % (days * DAY)


def ctl_ok(srv, *args):
    p = srv.ctl(*args)
    assert p.returncode == 0, 'taubectl %s: %s %s' % (args, p.stdout, p.stderr)
    return p.stdout


def report(srv, days):
    """{user: action text} from `retention report` evaluated days ahead."""
    out = ctl_ok(srv, 'retention', 'report', '--now', int(time.time()) + days * DAY)
    rows = {}
    for line in out.splitlines():
        if line.startswith('#'):
            continue
        jid, used, action = line.split('\t')
        rows[jid.split('@')[0]] = (used, action)
    return rows


def account_ids(srv, *users):
    db = sqlite3.connect(str(db_path(srv)))
    try:
        return {u: db.execute('SELECT id FROM accounts WHERE username = ?', (u,)).fetchone()
                for u in users}
    finally:
        db.close()


def warned(srv):
    db = sqlite3.connect(str(db_path(srv)))
    try:
        return {u for (u,) in db.execute(
            'SELECT a.username FROM retention_warnings w JOIN accounts a ON a.id = w.account_id')}
    finally:
        db.close()


def login_once(srv, user):
    raw = RawXMPP(srv.c2s_port)
    raw.login(user, srv.passwords[user], resource='once')
    raw.close()


def login_fails(srv, user):
    raw = RawXMPP(srv.c2s_port)
    try:
        raw.login(user, srv.passwords[user], resource='x')
    except AssertionError as e:
        return 'SASL' in str(e)
    finally:
        raw.close()
    return False


def test_warns_then_deletes_unused_accounts(make_server):
    # alice logged in once; bob never did (counts from creation); carol
    # is in use (online through the runs).
    srv = make_server()
    login_once(srv, 'alice')
    ids = account_ids(srv, 'alice', 'bob')
    set_days(srv, 340)
    carol = login(srv, 'carol', 'c', priority=0)
    with carol:
        rows = report(srv, 340)
        assert rows['alice'][0].endswith('(last login)'), rows
        assert rows['bob'][0].endswith('(created, never logged in)'), rows
        assert rows['alice'][1].startswith('warn: deletion on or after'), rows
        assert rows['bob'][1].startswith('warn: deletion on or after'), rows
        assert warned(srv) == set()  # the report changed nothing

        out = ctl_ok(srv, 'retention', 'run')
        assert out.strip() == 'warned 2 deleted 0 failed 0 (in the running server)', out
        assert warned(srv) == {'alice', 'bob'}
        assert carol.collect(0.3) == []  # in use: no warning
        # Each warning is one offline message.
        db = sqlite3.connect(str(db_path(srv)))
        try:
            n = db.execute('SELECT count(*) FROM offline_messages WHERE account_id = ?',
                           ids['alice']).fetchone()[0]
        finally:
            db.close()
        assert n == 1

        # 20 days after the warning: not yet (and no second warning).
        set_days(srv, 360)
        assert ctl_ok(srv, 'retention', 'run').startswith('warned 0 deleted 0 failed 0')
        rows = report(srv, 360)
        assert rows['alice'][1].startswith('warned '), rows

        # 32 days after the warning and over 365 days unused: deleted.
        set_days(srv, 372)
        rows = report(srv, 372)
        assert rows['alice'][1].startswith('delete'), rows
        assert rows['bob'][1].startswith('delete'), rows
        out = ctl_ok(srv, 'retention', 'run')
        assert out.startswith('warned 0 deleted 2 failed 0'), out
        carol.sync()  # carol's session lives on

    db = sqlite3.connect(str(db_path(srv)))
    try:
        left = [r[0] for r in db.execute('SELECT username FROM accounts ORDER BY username')]
        assert left == ['carol'], left
        for user, (account_id,) in ids.items():
            assert tables_with_account_rows(db, account_id) == {}, user
    finally:
        db.close()
    assert login_fails(srv, 'alice')
    srv.check_clean_exit()


def accounts(srv):
    db = sqlite3.connect(str(db_path(srv)))
    try:
        return [u for (u,) in db.execute('SELECT username FROM accounts ORDER BY username')]
    finally:
        db.close()


def test_daily_sweep_goes_through_the_store_queue(make_server):
    """The scheduler's daily run (started at once by the test-only
    `sweep-now`) warns and deletes like retention-run, its writes
    committed by the store's writer a moment after it starts: with
    nothing due (the pass ends at once), then warnings, then deletions."""
    srv = make_server()
    login_once(srv, 'alice')
    assert control(srv, 'sweep-now') == 'ok\tsweep started'  # nothing due
    assert warned(srv) == set()
    set_days(srv, 340)
    assert control(srv, 'sweep-now') == 'ok\tsweep started'
    assert wait_until(lambda: warned(srv) == {'alice', 'bob', 'carol'}, 5), warned(srv)
    assert wait_until(lambda: 'retention: 3 account(s) warned, 0 deleted, 0 failed'
                      in srv.log_text(10 ** 6), 5)
    set_days(srv, 372)
    assert control(srv, 'sweep-now') == 'ok\tsweep started'
    assert wait_until(lambda: accounts(srv) == [], 5), accounts(srv)
    assert wait_until(lambda: 'retention: 0 account(s) warned, 3 deleted, 0 failed'
                      in srv.log_text(10 ** 6), 5)
    srv.check_clean_exit()


def test_warning_arrives_at_login_and_login_cancels_deletion(make_server):
    srv = make_server()
    login_once(srv, 'alice')
    set_days(srv, 340)
    out = ctl_ok(srv, 'retention', 'run')
    assert out.startswith('warned 3 deleted 0'), out
    assert warned(srv) == {'alice', 'bob', 'carol'}

    # alice comes back: the warning is waiting for her, and her login
    # clears it.
    raw = login(srv, 'alice', 'back', priority=0)
    with raw:
        msgs = raw.collect(1.0)
    assert len(msgs) == 1, [ET.tostring(m) for m in msgs]
    m = msgs[0]
    assert m.get('type') == 'normal' and m.get('from') == 'localhost'
    assert 'inactivity' in m.find(q(CLIENT_NS, 'subject')).text
    body = m.find(q(CLIENT_NS, 'body')).text
    assert 'alice@localhost' in body and 'logging in once keeps it' in body, body
    assert m.find('{urn:xmpp:delay}delay') is not None
    assert warned(srv) == {'bob', 'carol'}

    set_days(srv, 372)
    out = ctl_ok(srv, 'retention', 'run')
    assert 'deleted 2 failed 0' in out, out
    left = ctl_ok(srv, 'user', 'list').split()
    assert left == ['alice@localhost'], left
    srv.check_clean_exit()


def test_run_without_server_stores_the_warning(make_server):
    srv = make_server(start=False)
    now = int(time.time())
    p = srv.ctl('retention', 'run', '--now', now + 340 * DAY)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith('warned 3 deleted 0 failed 0 (on the store'), p.stdout
    assert 'warned' in report(srv, 340)['bob'][1]
    p = srv.ctl('retention', 'run', '--now', now + 372 * DAY)
    assert p.stdout.startswith('warned 0 deleted 3'), p.stdout
    assert ctl_ok(srv, 'user', 'list').strip() == ''


def test_bounds_checked(make_server):
    srv = make_server(start=False)
    srv.configure({('retention', 'inactive_after'): '100d'})
    p = subprocess.run([str(TAUBE), '-c', str(srv.config), '--check'], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode != 0
    assert "key 'retention.inactive_after'" in p.stderr, p.stderr
    assert 'allowed: 26w to 366d' in p.stderr, p.stderr
    srv.configure({('retention', 'inactive_after'): '182d',
                   ('retention', 'warn_before'): '120d'})
    p = subprocess.run([str(TAUBE), '-c', str(srv.config), '--check'], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode != 0 and "key 'retention.warn_before'" in p.stderr, p.stderr
    srv.configure({('retention', 'warn_before'): '14d'})
    p = subprocess.run([str(TAUBE), '-c', str(srv.config), '--check'], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0, p.stderr
