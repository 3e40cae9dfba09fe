#!/usr/bin/python3
"""Figures for the HTTPS service (issue 9): invite pages served per second
with a full TLS handshake each (`openssl s_time -new`, one process per
CPU), requests per second on keep-alive connections, and the server's
VmRSS with N idle keep-alive HTTPS connections, each after one request.

    ulimit -n 20000
    bench/http_bench.py BUILD_DIR [--conns 1000] [--seconds 10]
"""

import argparse
import os
import re
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / 'tests' / 'e2e'))

from preauth_rss import rss  # noqa: E402  (bench/, next to this file)


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def s_time(port, path, seconds, procs):
    """Pages per second over new TLS connections (s_time -new), summed
    over procs parallel s_time processes."""
    cmd = ['openssl', 's_time', '-connect', '127.0.0.1:%d' % port, '-new', '-www', path,
           '-time', str(seconds)]
    ps = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
          for _ in range(procs)]
    total = 0
    for p in ps:
        out = p.communicate()[0]
        m = re.search(r'(\d+) connections in (\d+) real seconds', out)
        if m:
            total += int(m.group(1)) / max(1, int(m.group(2)))
    return total


def tls_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def keepalive_rate(port, path, seconds):
    s = tls_ctx().wrap_socket(socket.create_connection(('127.0.0.1', port)),
                              server_hostname='localhost')
    req = ('GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n' % path).encode()
    n, t0, buf = 0, time.monotonic(), b''
    while time.monotonic() - t0 < seconds:
        s.sendall(req)
        while True:
            head_end = buf.find(b'\r\n\r\n')
            if head_end >= 0:
                m = re.search(rb'content-length: (\d+)', buf[:head_end], re.I)
                total = head_end + 4 + int(m.group(1))
                if len(buf) >= total:
                    buf = buf[total:]
                    break
            buf += s.recv(65536)
        n += 1
    s.close()
    return n / (time.monotonic() - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('build')
    ap.add_argument('--conns', type=int, default=1000)
    ap.add_argument('--seconds', type=int, default=10)
    a = ap.parse_args()
    build = Path(a.build).resolve()
    os.environ['TAUBE_BUILD'] = str(build)
    from conftest import TaubeServer
    with tempfile.TemporaryDirectory() as d:
        srv = TaubeServer(d, {('http', 'max_connections'): str(a.conns + 100),
                              ('http', 'keepalive_timeout'): '600s',
                              ('log', 'level'): 'warn'}, users={})
        srv.start()
        try:
            out = srv.ctl('invite', 'create', '--for', 'Bench <b@example.net>', '--uses', '1000',
                          check=True).stdout
            code = re.search(r'^code: (\S+)$', out, re.M).group(1)
            path = '/invite/%s' % code
            time.sleep(0.5)
            base = rss(srv.proc.pid)
            procs = os.cpu_count() or 1
            print('invite page, new TLS connection each (s_time -new, %d procs): %.0f pages/s'
                  % (procs, s_time(srv.https_port, path, a.seconds, procs)))
            print('policy page, new TLS connection each: %.0f pages/s'
                  % s_time(srv.https_port, '/policy', a.seconds, procs))
            print('invite page, one keep-alive connection: %.0f requests/s'
                  % keepalive_rate(srv.https_port, path, a.seconds))
            time.sleep(1)
            before = rss(srv.proc.pid)
            held = []
            req = b'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'
            for _ in range(a.conns):
                s = tls_ctx().wrap_socket(socket.create_connection(('127.0.0.1', srv.https_port)),
                                          server_hostname='localhost')
                s.sendall(req)
                s.recv(65536)
                held.append(s)
            time.sleep(1)
            after = rss(srv.proc.pid)
            print('RSS: start %d KiB, before the idle connections %d KiB, with %d idle keep-alive '
                  'HTTPS connections %d KiB: %.1f KiB each'
                  % (base, before, a.conns, after, (after - before) / a.conns))
            for s in held:
                s.close()
        finally:
            srv.stop()


if __name__ == '__main__':
    main()
