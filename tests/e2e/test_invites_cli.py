"""taubectl invite create|list|revoke (promise P1): what is printed, what
is stored (only a hash), and the refusals. Runs against the data
directory of a server that is not started: taubectl works on the store
alone."""

import re
import sqlite3
import time

import pytest

from conftest import TaubeServer

CODE_RE = re.compile(r'^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){7}$')


@pytest.fixture(scope='module')
def srv(tmp_path_factory):
    return TaubeServer(tmp_path_factory.mktemp('inv'), users={})


def create(srv, *args, who='Ann Example <ann@example.net>'):
    r = srv.ctl('invite', 'create', '--for', who, *args)
    assert r.returncode == 0, r.stderr
    fields = dict(re.findall(r'^(\w+): (.*)$', r.stdout, re.M))
    return fields


def listing(srv):
    out = srv.ctl('invite', 'list', check=True).stdout
    return {ln.split('\t')[0]: ln for ln in out.splitlines()}


def test_create_prints_code_and_uri(srv):
    f = create(srv, '--note', 'met at the club')
    assert CODE_RE.match(f['code']), f['code']
    assert f['uri'] == 'xmpp:localhost?register;preauth=' + f['code']
    assert f['uses'] == '1'
    line = listing(srv)[f['id']]
    assert 'valid' in line and 'Ann Example <ann@example.net>' in line
    assert 'uses left: 1' in line and 'note: met at the club' in line


def test_codes_differ_and_are_stored_hashed(srv):
    codes = [create(srv)['code'] for _ in range(5)]
    assert len(set(codes)) == 5
    con = sqlite3.connect(str(srv.dir / 'data' / 'taube.db'))
    try:
        rows = con.execute('SELECT code_hash, given_to, note FROM invites').fetchall()
    finally:
        con.close()
    for code in codes:
        for h, given_to, note in rows:
            assert len(h) == 32
            stripped = code.replace('-', '').encode()
            assert stripped not in h and code.encode() not in h
            assert code not in given_to and code not in (note or '')


def test_expiry_and_uses_options(srv):
    f = create(srv, '--expires', '2h', '--uses', '3')
    assert f['uses'] == '3'
    line = listing(srv)[f['id']]
    assert 'uses left: 3' in line
    before = create(srv, '--expires', '1s')
    time.sleep(1.5)
    assert '\texpired\t' in listing(srv)[before['id']]


def test_default_expiry_from_config(srv):
    f = create(srv)
    expires = time.strptime(f['expires'], '%Y-%m-%d %H:%M UTC')
    days = (time.mktime(expires) - time.mktime(time.gmtime())) / 86400
    assert 6.9 < days <= 7.01


def test_revoke_by_code_and_by_id(srv):
    a, b = create(srv), create(srv)
    assert srv.ctl('invite', 'revoke', a['code'].lower()).returncode == 0
    assert srv.ctl('invite', 'revoke', b['id']).returncode == 0
    lines = listing(srv)
    assert '\trevoked\t' in lines[a['id']] and '\trevoked\t' in lines[b['id']]
    assert srv.ctl('invite', 'revoke', '999999').returncode == 1
    assert srv.ctl('invite', 'revoke', 'ZZZZ').returncode == 2


@pytest.mark.parametrize('args', [
    [],                                     # --for is required
    ['--for', ''],
    ['--for', 'x' * 600],
    ['--for', 'bad\x01name'],
    ['--for', 'x', '--uses', '0'],
    ['--for', 'x', '--uses', '-1'],
    ['--for', 'x', '--uses', '1001'],
    ['--for', 'x', '--expires', '7'],
    ['--for', 'x', '--expires', '0d'],
    ['--for', 'x', '--expires', '100000w'],
    ['--for', 'x', '--domain', 'elsewhere.example'],
])
def test_create_refusals(srv, args):
    before = len(listing(srv))
    r = srv.ctl('invite', 'create', *args)
    assert r.returncode != 0, r.stdout
    assert len(listing(srv)) == before
