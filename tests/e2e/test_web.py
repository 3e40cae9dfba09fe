"""The HTTPS service (issue 9): the listener's TLS and limits, the
security headers, the policy page made from the live configuration, the
invite page with consent, web registration, and bad input.

The browser's view of the same pages is in test_web_browser.py."""

import http.client
import re
import socket
import ssl
import subprocess
import threading
import time
import urllib.parse
import warnings

import pytest

from conftest import SANITIZER_MARKS, TAUBE
from test_register import (account_exists, can_login, db, fresh_name, invite, uses_left)
from xmppraw import RawXMPP

PW = 'correct horse battery'
SERVER_OPTIONS = {
    ('registration', 'policy_version'): '"2026-12"',
    ('registration', 'max_attempts_per_hour'): '100000',
    ('http', 'request_timeout'): '2s',
    ('policy', 'operator'): '"Familie <Muster>"',
}
SECURITY_HEADERS = {
    'strict-transport-security': 'max-age=31536000',
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
}


def tls_ctx(**kw):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    for k, v in kw.items():
        setattr(ctx, k, v)
    return ctx


def connect(server):
    return http.client.HTTPSConnection('127.0.0.1', server.https_port, context=tls_ctx(),
                                       timeout=10)


def request(server, method, path, form=None, headers=None, body=None, con=None):
    """(status, headers dict, text)."""
    own = con is None
    con = con or connect(server)
    try:
        hdrs = {'Host': 'localhost'}
        hdrs.update(headers or {})
        if form is not None:
            body = urllib.parse.urlencode(form)
            hdrs['Content-Type'] = 'application/x-www-form-urlencoded'
        con.request(method, path, body=body, headers=hdrs)
        r = con.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode()
    finally:
        if own:
            con.close()


def get(server, path, **kw):
    return request(server, 'GET', path, **kw)


def post(server, path, form, **kw):
    return request(server, 'POST', path, form=form, **kw)


def raw_tls(server):
    s = socket.create_connection(('127.0.0.1', server.https_port), timeout=10)
    return tls_ctx().wrap_socket(s, server_hostname='localhost')


def read_all(s, timeout=10.0):
    s.settimeout(timeout)
    out = b''
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return out, True
            out += d
    except (socket.timeout, TimeoutError):
        return out, False
    except (ConnectionResetError, ssl.SSLError):
        return out, True


# ---- the listener ------------------------------------------------------------

def test_security_headers_on_every_answer(server):
    for path, status in (('/', 200), ('/policy', 200), ('/taube.css', 200),
                         ('/nothing-here', 404), ('/invite/NOT-A-CODE', 404)):
        st, headers, _ = get(server, path)
        assert st == status, path
        for k, v in SECURITY_HEADERS.items():
            assert headers.get(k) == v, (path, k, headers)
        csp = headers['content-security-policy']
        assert "default-src 'none'" in csp and "script-src" not in csp, csp
        assert "frame-ancestors 'none'" in csp


def test_tls_12_and_13_only_http11_only(server):
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        ctx = tls_ctx(minimum_version=version, maximum_version=version)
        s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', server.https_port)),
                            server_hostname='localhost')
        assert s.version() == {ssl.TLSVersion.TLSv1_2: 'TLSv1.2',
                               ssl.TLSVersion.TLSv1_3: 'TLSv1.3'}[version]
        s.close()
    ctx = tls_ctx()
    ctx.set_alpn_protocols(['h2', 'http/1.1'])
    s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', server.https_port)),
                        server_hostname='localhost')
    assert s.selected_alpn_protocol() == 'http/1.1'
    s.close()
    old = tls_ctx()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', DeprecationWarning)
        old.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        old.maximum_version = ssl.TLSVersion.TLSv1_1
    try:
        old.set_ciphers('ALL:@SECLEVEL=0')
    except ssl.SSLError:
        pass
    with pytest.raises((ssl.SSLError, ConnectionResetError)):
        old.wrap_socket(socket.create_connection(('127.0.0.1', server.https_port)),
                        server_hostname='localhost')


def test_keep_alive_serves_several_requests(server):
    con = connect(server)
    try:
        for path in ('/', '/policy', '/taube.css', '/'):
            st, headers, _ = get(server, path, con=con)
            assert st == 200
            assert headers.get('connection', '').lower() != 'close'
    finally:
        con.close()


def test_methods_and_paths(server):
    assert request(server, 'PUT', '/', body='x')[0] == 405
    assert post(server, '/policy', {'a': 'b'})[0] == 405
    assert request(server, 'HEAD', '/policy')[2] == ''
    # Traversal: there are no files behind the pages to reach.
    for path in ('/invite/../../etc/passwd', '/../data/taube.db', '/%2e%2e/%2e%2e/etc/passwd',
                 '/taube.css/../../taube.yaml', '/invite/%2e%2e%2f%2e%2e%2fdata'):
        s = raw_tls(server)
        s.sendall(('GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'
                   % path).encode())
        out, _ = read_all(s)
        s.close()
        status = int(out.split(b' ', 2)[1]) if out.startswith(b'HTTP/1.1') else 0
        assert status in (400, 403, 404), (path, out[:200])
        assert b'CREATE TABLE' not in out and b'domains' not in out
    assert get(server, '/invite/%ff%fe')[0] == 400
    # A path is shown escaped (the 404 page's language link repeats it).
    st, _, page = get(server, '/x%22%3E%3Cb%3Einjected%3C%2Fb%3E')
    assert st == 404 and '<b>injected' not in page and '&lt;b&gt;injected' in page, page


def test_oversized_request_and_headers(server):
    code, _ = invite(server)
    st, headers, _ = post(server, '/invite/%s' % code, None, body='a=' + 'x' * 10000,
                          headers={'Content-Type': 'application/x-www-form-urlencoded'})
    assert st == 413
    # Headers over the limit: the connection is closed, nothing served.
    s = raw_tls(server)
    s.sendall(b'GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: ' + b'a' * 8000 + b'\r\n\r\n')
    out, closed = read_all(s)
    s.close()
    assert closed and b' 200 ' not in out[:20]
    # Many headers.
    s = raw_tls(server)
    s.sendall(b'GET / HTTP/1.1\r\nHost: localhost\r\n' +
              b''.join(b'X-H%d: v\r\n' % i for i in range(2000)) + b'\r\n')
    out, closed = read_all(s)
    s.close()
    assert closed and b' 200 ' not in out[:20]
    assert get(server, '/')[0] == 200


def test_slowloris_is_cut_off_and_others_served(server):
    """Headers trickled a byte a second: closed within http.request_timeout
    (2 s here) plus the second the time-outs are checked in."""
    socks = []
    for _ in range(20):
        s = raw_tls(server)
        s.sendall(b'GET / HTTP/1.1\r\n')
        socks.append(s)
    start = time.monotonic()
    closed_at = [None] * len(socks)

    def trickle(i, s):
        try:
            while time.monotonic() - start < 8:
                s.sendall(b'X')
                time.sleep(0.5)
        except OSError:
            closed_at[i] = time.monotonic() - start
    threads = [threading.Thread(target=trickle, args=(i, s)) for i, s in enumerate(socks)]
    for t in threads:
        t.start()
    t0 = time.monotonic()
    assert get(server, '/')[0] == 200
    assert time.monotonic() - t0 < 1.0
    for t in threads:
        t.join()
    for s in socks:
        s.close()
    assert all(c is not None and c < 5.0 for c in closed_at), closed_at


def test_max_connections(make_server):
    srv = make_server({('http', 'max_connections'): '5'})
    held = [raw_tls(srv) for _ in range(5)]
    s = socket.create_connection(('127.0.0.1', srv.https_port), timeout=5)
    try:
        with pytest.raises((ssl.SSLError, ConnectionResetError, OSError)):
            tls_ctx().wrap_socket(s, server_hostname='localhost')
    finally:
        s.close()
    for h in held:
        h.close()
    deadline = time.monotonic() + 5
    while True:
        try:
            assert get(srv, '/')[0] == 200
            break
        except (ssl.SSLError, ConnectionResetError, OSError):
            assert time.monotonic() < deadline
            time.sleep(0.1)
    assert can_login(srv, 'alice', srv.passwords['alice'])


def test_shutdown_with_open_connections(make_server):
    srv = make_server()
    held = [raw_tls(srv) for _ in range(10)]
    half = raw_tls(srv)
    half.sendall(b'GET / HTTP/1.1\r\nHost: loc')
    srv.check_clean_exit()
    for h in held + [half]:
        h.close()


# ---- the policy page -----------------------------------------------------------

def test_policy_shows_the_configured_numbers(make_server):
    srv = make_server({('offline', 'max_messages'): '1234',
                       ('retention', 'inactive_after'): '200d',
                       ('registration', 'policy_version'): '"7b"',
                       ('policy', 'date'): '"2026-11-30"'})
    st, _, en = get(srv, '/policy', headers={'Accept-Language': 'en-GB,en;q=0.9'})
    assert st == 200
    assert 'At most 1,234 messages' in en and '200 days' in en
    assert 'Version 7b' in en and '2026-11-30' in en
    _, _, de = get(srv, '/policy', headers={'Accept-Language': 'de-DE,de;q=0.9,en;q=0.5'})
    assert 'lang="de"' in de and '1.234' in de and '200 Tage' in de
    assert get(srv, '/policy?lang=de')[2] == de
    srv.stop()
    srv.configure({('offline', 'max_messages'): '777', ('retention', 'inactive_after'): '300d'})
    srv.start()
    _, _, en = get(srv, '/policy?lang=en')
    assert 'At most 777 messages' in en and '300 days' in en and '1,234' not in en


def test_operator_override_file(make_server, tmp_path):
    f = tmp_path / 'policy-en.html'
    f.write_text('<article class="policy"><p>Run by {{operator}}; {{offline.max_messages}} '
                 'messages kept.</p></article>')
    srv = make_server({('policy', 'file_en'): '"%s"' % f, ('policy', 'operator'): '"Club <A&B>"'})
    _, _, en = get(srv, '/policy?lang=en')
    assert 'Run by Club &lt;A&amp;B&gt;; 1,000 messages kept.' in en
    assert 'Datenschutz' in get(srv, '/policy?lang=de')[2]  # German: the built-in text


def test_bad_override_file_stops_start_up(make_server, tmp_path):
    f = tmp_path / 'p.html'
    f.write_text('line one\n{{no.such_option}}\n')
    srv = make_server({('policy', 'file_en'): '"%s"' % f}, start=False)
    p = subprocess.run([str(TAUBE), '-c', str(srv.config), '--check'], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 1 and 'line 2' in p.stderr and 'no.such_option' in p.stderr, p.stderr
    with pytest.raises(AssertionError, match='no.such_option'):
        srv.start()


def test_https_port_in_use_stops_start_up(make_server):
    srv = make_server(start=False)
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(('127.0.0.1', srv.https_port))
    blocker.listen()
    try:
        p = subprocess.run([str(TAUBE), '-c', str(srv.config)], capture_output=True, text=True,
                           timeout=30)
    finally:
        blocker.close()
    errors = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert len(errors) == 1 and 'HTTPS' in errors[0] and str(srv.https_port) in errors[0], errors
    assert not any(m in p.stderr for m in SANITIZER_MARKS), p.stderr


# ---- the invite page ---------------------------------------------------------------

def test_invite_page_and_consent(server):
    code, iid = invite(server)
    out = server.ctl('invite', 'list', check=True).stdout
    st, _, page = get(server, '/invite/%s' % code)
    assert st == 200
    assert 'Familie &lt;Muster&gt;' in page and '<strong>localhost</strong>' in page
    assert 'name="consent"' in page and 'required' in page
    assert 'class="policy"' in page and 'version 2026-12' in page
    # Not ticked: the same page again, nothing recorded.
    st, _, again = post(server, '/invite/%s' % code, {})
    assert st == 200 and 'name="consent"' in again
    con = db(server)
    assert con.execute('SELECT consent_time FROM invites WHERE id = ?',
                       (int(iid),)).fetchone()[0] is None
    st, _, done = post(server, '/invite/%s' % code, {'consent': '1'})
    assert st == 200
    assert 'href="xmpp:localhost?register;preauth=%s"' % code in done
    assert re.search(r'<svg class="qr"[^>]*>.*<path fill="#000" d="M', done)
    for name in ('Conversations', 'Monal', 'Dino', 'Gajim'):
        assert name in done
    t, version = con.execute('SELECT consent_time, consent_policy FROM invites WHERE id = ?',
                             (int(iid),)).fetchone()
    con.close()
    assert abs(t - time.time()) < 60 and version == '2026-12'
    assert code not in server.log_text(10 ** 9)
    assert out  # listing works with consent columns


@pytest.mark.parametrize('case,status,text', [
    ('unknown', 404, 'not valid'), ('expired', 410, 'expired'), ('used', 410, 'already been used'),
    ('revoked', 410, 'withdrawn')])
def test_unusable_codes_get_a_clear_page(server, case, status, text):
    if case == 'unknown':
        code = 'ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ'
    else:
        code, iid = invite(server, *(['--expires', '1s'] if case == 'expired' else []))
        if case == 'expired':
            time.sleep(1.2)
        elif case == 'revoked':
            server.ctl('invite', 'revoke', iid, check=True)
        else:
            st, _, _ = post(server, '/invite/%s/register' % code,
                            {'username': fresh_name(), 'password': PW, 'password2': PW,
                             'consent': '1'})
            assert st == 200
    for method in ('GET', 'POST'):
        st, headers, page = request(server, method, '/invite/%s' % code,
                                    form={'consent': '1'} if method == 'POST' else None)
        assert st == status and text in page, (method, page[-500:])
        assert headers['content-type'].startswith('text/html')
    assert code not in server.log_text(10 ** 9)


def test_german_page(server):
    code, _ = invite(server)
    _, _, page = get(server, '/invite/%s' % code, headers={'Accept-Language': 'de'})
    assert 'lang="de"' in page and 'eingeladen' in page


# ---- web registration ----------------------------------------------------------------

def web_register(server, code, user, pw=PW, pw2=None, consent='1'):
    form = {'username': user, 'password': pw, 'password2': pw if pw2 is None else pw2}
    if consent:
        form['consent'] = consent
    return post(server, '/invite/%s/register' % code, form)


def test_web_registration(server):
    code, iid = invite(server)
    user = fresh_name('web')
    st, _, page = web_register(server, code, user)
    assert st == 200, page
    assert '%s@localhost' % user in page
    assert can_login(server, user, PW)
    assert uses_left(server, iid) == 0
    out = server.ctl('user', 'show', '%s@localhost' % user, check=True).stdout
    assert 'consent_given_on: the web registration form' in out
    assert 'policy_version: 2026-12' in out
    assert PW not in server.log_text(10 ** 9)


@pytest.mark.parametrize('case,kw,text', [
    ('mismatch', {'pw2': 'other password'}, 'not the same'),
    ('short', {'pw': 'short'}, 'at least 8'),
    ('no consent', {'consent': None}, 'only if you agree'),
    ('bad name', {'user': 'a b@c'}, 'not possible'),
    ('empty', {'user': ''}, 'Enter a user name'),
])
def test_web_registration_refusals(server, case, kw, text):
    code, iid = invite(server)
    user = kw.pop('user', fresh_name('web'))
    st, _, page = web_register(server, code, user, **kw)
    assert st == 400 and text in page, page[-800:]
    assert 'name="username"' in page  # the form again
    assert uses_left(server, iid) == 1
    if user and ' ' not in user:
        assert not account_exists(server, user)


def test_web_registration_taken_name_and_bad_utf8(server):
    code, iid = invite(server)
    st, _, page = web_register(server, code, 'alice')
    assert st == 400 and 'taken' in page
    body = 'username=x%ff%fe&password=abcdefghij&password2=abcdefghij&consent=1'
    st, _, page = request(server, 'POST', '/invite/%s/register' % code, body=body,
                          headers={'Content-Type': 'application/x-www-form-urlencoded'})
    assert st == 400 and 'not valid' in page
    assert uses_left(server, iid) == 1


def test_web_registration_with_used_code(server):
    code, _ = invite(server)
    assert web_register(server, code, fresh_name('w'))[0] == 200
    user = fresh_name('w')
    st, _, page = web_register(server, code, user)
    assert st == 410 and 'already been used' in page
    assert not account_exists(server, user)


def test_web_registration_rate_limited(make_server):
    srv = make_server({('registration', 'max_attempts_per_hour'): '3'})
    code, _ = invite(srv)
    for _ in range(3):
        assert web_register(srv, code, 'alice')[0] == 400  # taken: counted
    user = fresh_name('w')
    st, _, page = web_register(srv, code, user)
    assert st == 429 and 'Too many attempts' in page
    assert not account_exists(srv, user)


def test_guessed_codes_are_rate_limited_nothing_else_slowed(make_server):
    srv = make_server({('registration', 'max_attempts_per_hour'): '10'})
    code, _ = invite(srv)
    con = connect(srv)
    statuses = []
    t0 = time.monotonic()
    try:
        for i in range(1000):
            st, _, _ = get(srv, '/invite/%04d-AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG' % i, con=con)
            statuses.append(st)
    finally:
        con.close()
    elapsed = time.monotonic() - t0
    assert statuses[:10] == [404] * 10 and set(statuses[10:]) == {429}, statuses[:20]
    # A member's valid code still opens from the same address: only
    # failures are counted ...
    assert get(srv, '/invite/%s' % code)[0] == 200
    # ... and nothing else was slowed: XMPP logins and pings meanwhile.
    raw = RawXMPP(srv.c2s_port)
    with raw:
        raw.login('alice', srv.passwords['alice'])
        t = time.monotonic()
        raw.sync()
        assert time.monotonic() - t < 0.5
    assert elapsed < 30
