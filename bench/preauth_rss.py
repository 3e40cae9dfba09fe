#!/usr/bin/python3
"""Memory figures for issue 7 (items 6, 11, 15): the server's VmRSS with
N idle unauthenticated connections (plain, and after STARTTLS), with N
idle logged-in connections (bench/loadgen idle), after they all close,
and what the worst unauthenticated connection can make the server hold.

    ulimit -n 20000
    bench/preauth_rss.py BUILD_DIR [--conns 5000] [--old]

--old leaves out the options an older build does not know. Needs
`make -C bench BUILD=$PWD/BUILD_DIR` (loadgen) for the logged-in phase. Connections come from
127.0.x.y source addresses, 10 per address.
"""

import argparse
import concurrent.futures
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / 'tests' / 'e2e'))

HEAD = ("<?xml version='1.0'?><stream:stream to='localhost' xmlns='jabber:client' "
        "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")
USERS = 50


def rss(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    raise RuntimeError('no VmRSS')


def settle(pid, seconds=3.0):
    low = rss(pid)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.25)
        low = min(low, rss(pid))
    return low


def source(i):
    return '127.0.%d.%d' % (1 + (i // 10) // 250, 1 + (i // 10) % 250)


def plain_stream(port, i):
    s = socket.create_connection(('127.0.0.1', port), timeout=30, source_address=(source(i), 0))
    s.sendall(HEAD.encode())
    got = b''
    while b'</stream:features>' not in got:
        chunk = s.recv(4096)
        if not chunk:
            raise RuntimeError('closed: %r' % got)
        got += chunk
    return s


def tls_stream(port, i):
    from xmppraw import RawXMPP
    raw = RawXMPP(port, source=source(i), timeout=60)
    raw.open_stream()
    raw.features()
    raw.starttls()
    return raw


# Unfinished stanzas just under the pre-auth limits (16 KiB of input, a
# 64 KiB tree): element-dense with a long text still being read, or deep
# with many attributes.
WORST = {
    'dense': "<iq type='set' id='w'>" + '<a/>' * 560 + '<b>' + 'x' * 13500,
    'deep': "<iq type='set' id='w'>" + ''.join(
        '<e%d %s>' % (d, ' '.join("a%d='%s'" % (k, 'v' * 4) for k in range(40)))
        for d in range(30)),
}


def worst_stream(port, i, tls, shape):
    from xmppraw import RawXMPP
    raw = RawXMPP(port, source=source(i), timeout=60)
    raw.open_stream()
    raw.features()
    if tls:
        raw.starttls()
    raw.send(WORST[shape])
    return raw


def phase(name, pid, n, make, results):
    base = settle(pid, 2.0)
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        conns = list(pool.map(make, range(n)))
    time.sleep(3)
    held = rss(pid)
    for c in conns:
        c.close()
    after = settle(pid, 4.0)
    per = (held - base) / n
    results.append('%-28s n=%5d  RSS base %7d KiB  held %7d KiB  (%.1f KiB/conn)  '
                   'after close %7d KiB' % (name, n, base, held, per, after))
    print(results[-1], flush=True)


def loadgen_phase(srv, n, results):
    pid = srv.proc.pid
    base = settle(pid, 2.0)
    lg = Path(os.environ['TAUBE_BUILD']) / 'bench' / 'loadgen'
    p = subprocess.run([str(lg), 'idle', '--port', str(srv.c2s_port), '--users', str(USERS),
                        '--password', 'pw', '--concurrency', '100', '--conns', str(n),
                        '--server-pid', str(pid)], capture_output=True, text=True, timeout=900)
    out = [ln for ln in p.stdout.split('\n') if ln.startswith('RESULT')]
    after = settle(pid, 4.0)
    results.append('%-28s n=%5d  RSS base %7d KiB  loadgen: %s  after close %7d KiB'
                   % ('logged in (loadgen idle)', n, base, ' | '.join(out) or p.stderr[-300:],
                      after))
    print(results[-1], flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('build')
    ap.add_argument('--conns', type=int, default=5000)
    ap.add_argument('--worst', type=int, default=200)
    ap.add_argument('--old', action='store_true')
    ap.add_argument('--phases', default='plain,tls,auth,worst')
    a = ap.parse_args()
    os.environ['TAUBE_BUILD'] = str(Path(a.build).resolve())
    import conftest
    conftest.BUILD = Path(a.build).resolve()
    conftest.TAUBE = conftest.BUILD / 'taube'
    conftest.TAUBECTL = conftest.BUILD / 'taubectl'
    opts = {('limits', 'max_connections'): str(4 * a.conns),
            ('limits', 'auth_timeout'): '10m', ('limits', 'idle_timeout'): '1d',
            ('log', 'level'): 'warn'}
    if not a.old:
        opts[('limits', 'tls_timeout')] = '10m'
        # loadgen logs in from 127.0.0.1, 100 at a time
        opts[('limits', 'max_unauthenticated_per_address')] = '1000000'
    users = {'user%d' % i: 'pw' for i in range(USERS)}
    results = []
    with tempfile.TemporaryDirectory() as d:
        srv = conftest.TaubeServer(d, opts, users=users).start()
        try:
            pid = srv.proc.pid
            results.append('start: %d KiB' % settle(pid, 1.0))
            ph = a.phases.split(',')
            if 'plain' in ph:
                phase('unauth, plain, header sent', pid, a.conns,
                      lambda i: plain_stream(srv.c2s_port, i), results)
            if 'tls' in ph:
                phase('unauth, after STARTTLS', pid, a.conns,
                      lambda i: tls_stream(srv.c2s_port, i), results)
            if 'auth' in ph:
                loadgen_phase(srv, a.conns, results)
            if 'worst' in ph:
                for shape in WORST:
                    for tls in (False, True):
                        phase('worst unauth, %s, %s' % (shape, 'TLS' if tls else 'plain'),
                              pid, a.worst,
                              lambda i: worst_stream(srv.c2s_port, i, tls, shape), results)
        finally:
            print('server exit:', srv.stop())
    print('\n'.join(results))


if __name__ == '__main__':
    main()
