"""The invite pages in a real browser: headless Chromium, driven over
the DevTools protocol (cdp.py), against a real taube's HTTPS service.

One flow, as an invited person would go through it: the invite page
with the policy and the consent box (which the browser will not submit
unticked), consent (recorded against the code in the database), the
next-steps page with the xmpp: link and its QR code (which must scan, as
drawn, to the same link), web registration, and a login with the new
account. Screenshots of each page are left in $TAUBE_BUILD/artifacts/
for a human to look at.
"""

import json
import re
import shutil
import struct
import subprocess
import time
import zlib

import pytest

from cdp import PNG_SIGNATURE, Chromium, find_chromium
from conftest import BUILD, DOMAIN
from test_register import can_login, db, fresh_name, uses_left

POLICY_VERSION = '2026-11'
PASSWORD = 'correct horse battery'
ARTIFACTS = BUILD / 'artifacts'

SERVER_OPTIONS = {
    ('registration', 'policy_version'): '"%s"' % POLICY_VERSION,
}


@pytest.fixture
def chromium():
    """Starts the browser inside the test (so that a missing chromium
    fails the test, not its setup) and always kills it afterwards."""
    started = []

    def start():
        if find_chromium() is None:
            pytest.fail('chromium is missing: it is a declared test dependency, '
                        'install it with scripts/deps.sh', pytrace=False)
        started.append(Chromium())
        return started[-1]
    yield start
    for b in started:
        b.close()


def js(value):
    return json.dumps(value)


def headers_of(response):
    return {k.lower(): v for k, v in (response or {}).get('headers', {}).items()}


def check_served_safely(tab, response):
    """The page came with the security headers, the browser took it as
    HTML, the style sheet loaded under the CSP, and an inline script
    put into the page does not run."""
    h = headers_of(response)
    assert "default-src 'none'" in h.get('content-security-policy', ''), h
    assert h.get('x-content-type-options') == 'nosniff', h
    assert tab.eval('document.contentType') == 'text/html'
    # Without /taube.css the body would be in the default "Times New Roman".
    font = tab.eval('getComputedStyle(document.body).fontFamily')
    assert 'system-ui' in font, font
    ran = tab.eval("""(() => {
        const s = document.createElement('script');
        s.textContent = 'window.__inlineRan = true';
        document.body.appendChild(s);
        s.remove();
        return window.__inlineRan === true;
    })()""")
    assert ran is False, 'an inline script ran: the CSP was not applied'


def png_size(png):
    """Decodes a PNG far enough to know it is whole: the chunks and their
    CRCs, and the image data inflating to the size its header says.
    Returns (width, height)."""
    assert png.startswith(PNG_SIGNATURE), png[:16]
    pos, chunks = len(PNG_SIGNATURE), []
    while pos < len(png):
        n = int.from_bytes(png[pos:pos + 4], 'big')
        kind, data = png[pos + 4:pos + 8], png[pos + 8:pos + 8 + n]
        crc = int.from_bytes(png[pos + 8 + n:pos + 12 + n], 'big')
        assert len(data) == n and zlib.crc32(kind + data) == crc, 'bad %r chunk' % kind
        chunks.append((kind, data))
        pos += 12 + n
    assert chunks[0][0] == b'IHDR' and chunks[-1][0] == b'IEND', [c[0] for c in chunks]
    width, height, depth, color = struct.unpack('>IIBB', chunks[0][1][:10])
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[color]
    pixels = zlib.decompress(b''.join(d for k, d in chunks if k == b'IDAT'))
    assert len(pixels) == height * (1 + width * channels * depth // 8), \
        (len(pixels), width, height)
    return width, height


def screenshot(tab, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    png = tab.screenshot(path)
    width, height = png_size(png)
    assert width >= 800 and height >= 800, (width, height)
    assert len(png) > 10 * 1024, '%s is only %d bytes' % (path, len(png))
    return path


def qr_in_screenshot(path):
    """The text of the QR code in a screenshot, read by zbarimg: the code
    as the browser drew it must scan."""
    zbarimg = shutil.which('zbarimg')
    if zbarimg is None:
        pytest.fail('zbarimg is missing: it is a declared test dependency (zbar-tools), '
                    'install it with scripts/deps.sh', pytrace=False)
    p = subprocess.run([zbarimg, '-q', '--raw', str(path)], capture_output=True, timeout=30)
    assert p.returncode == 0, 'no QR code found in %s: %s' % (path, p.stderr[-500:])
    return p.stdout.decode().strip()


def loaded(server, tab, response, status=200):
    """Asserts the page tab just loaded came from taube with status;
    says what happened instead if not."""
    if response and response['status'] == status:
        return
    assert server.alive(), 'taube died:\n%s' % server.log_text()
    raise AssertionError('expected a page with status %d at %s, got %s: %s'
                         % (status, tab.eval('location.href'),
                            response and response['status'],
                            tab.eval('document.body && document.body.innerText')[:600]))


def invite_row(server, invite_id):
    con = db(server)
    try:
        return con.execute('SELECT consent_time, consent_policy FROM invites WHERE id = ?',
                           (int(invite_id),)).fetchone()
    finally:
        con.close()


def account_consent(server, user):
    con = db(server)
    try:
        return con.execute(
            'SELECT ai.invite_id, ai.consent_time, ai.policy_version, ai.consent_via'
            ' FROM account_invite ai JOIN accounts a ON a.id = ai.account_id'
            ' WHERE a.username = ?', (user,)).fetchone()
    finally:
        con.close()


def test_invite_consent_and_web_registration(server, chromium):
    browser = chromium()
    t0 = int(time.time())
    out = server.ctl('invite', 'create', '--for', 'Ann <ann@example.net>', check=True).stdout
    code = re.search(r'^code: (\S+)$', out, re.M).group(1)
    invite_id = re.search(r'^id: (\d+)$', out, re.M).group(1)
    url = 'https://%s:%d/invite/%s' % (DOMAIN, server.https_port, code)
    page = re.search(r'^page: (\S+)$', out, re.M)
    assert page and page.group(1) == url, out

    tab = browser.new_tab()

    # ---- the invite page: the policy and the consent box ----
    response = tab.navigate(url)
    loaded(server, tab, response)
    assert tab.eval('document.title') == 'You are invited'
    assert tab.eval("document.querySelector('h1').textContent") == 'You are invited'
    policy = tab.eval("""(() => {
        const a = document.querySelector('article.policy');
        return a && {text: a.textContent, overflow: getComputedStyle(a).overflowY};
    })()""")
    assert policy, 'no <article class="policy"> on the invite page'
    assert 'Privacy policy' in policy['text'] and DOMAIN in policy['text'], policy['text'][:300]
    assert policy['overflow'] == 'auto', policy  # the style sheet's .policy box
    box = tab.eval("""(() => {
        const c = document.querySelector('form input[type=checkbox][name=consent]');
        return c && {required: c.required, checked: c.checked,
                     label: c.closest('label').textContent,
                     action: c.form.getAttribute('action'), method: c.form.method};
    })()""")
    assert box, 'no consent checkbox in a form on the invite page'
    assert box['required'] is True and box['checked'] is False, box
    assert POLICY_VERSION in box['label'], box
    assert box['method'] == 'post' and box['action'].startswith('/invite/%s' % code), box
    check_served_safely(tab, response)
    screenshot(tab, 'invite-page.png')

    # Unticked, the browser refuses to submit: no submit event, an
    # invalid event on the box, and no new page.
    refused = tab.eval("""(() => {
        const c = document.querySelector('input[name=consent]'), f = c.form;
        window.__submitted = false; window.__invalid = false;
        f.addEventListener('submit', () => { window.__submitted = true; });
        c.addEventListener('invalid', () => { window.__invalid = true; });
        const valid = f.reportValidity();
        f.querySelector('button[type=submit]').click();
        return {valid, submitted: window.__submitted, invalid: window.__invalid};
    })()""")
    assert refused == {'valid': False, 'submitted': False, 'invalid': True}, refused
    time.sleep(0.3)
    assert not tab.events('Page.frameNavigated'), 'the unticked form was submitted'
    assert tab.eval('location.href') == url
    assert invite_row(server, invite_id) == (None, None)

    # ---- consent: the next steps ----
    assert tab.eval("(() => { const c = document.querySelector('input[name=consent]');"
                    " c.click(); return c.checked; })()") is True
    response = tab.click_and_wait('form button[type=submit]')
    loaded(server, tab, response)
    assert tab.eval('location.pathname') == '/invite/%s' % code
    assert 'consent is recorded' in tab.eval("document.querySelector('p.ok').textContent")
    link = tab.eval("document.querySelector('a.button').getAttribute('href')")
    assert link == 'xmpp:%s?register;preauth=%s' % (DOMAIN, code)
    qr = tab.eval("""(() => {
        const s = document.querySelector('svg.qr'), p = s && s.querySelector('path');
        const r = s && s.getBoundingClientRect();
        return s && {d: p ? p.getAttribute('d') : '', width: r.width, height: r.height};
    })()""")
    assert qr, 'no <svg class="qr"> on the next-steps page'
    assert qr['d'].count('M') > 100, qr['d'][:200]  # a QR code has hundreds of dark modules
    assert qr['width'] > 100 and qr['width'] == qr['height'], qr  # sized by the style sheet
    assert tab.eval("document.querySelectorAll('ul li a[href^=\"https://\"]').length") > 0
    check_served_safely(tab, response)
    assert qr_in_screenshot(screenshot(tab, 'invite-next-steps.png')) == link

    consent_time, consent_policy = invite_row(server, invite_id)
    assert consent_time is not None and t0 - 5 <= consent_time <= time.time() + 5, consent_time
    assert consent_policy == POLICY_VERSION
    assert uses_left(server, invite_id) == 1

    # ---- web registration ----
    user = fresh_name('web')
    form = tab.eval("""(() => {
        const f = document.querySelector('form[action*="/register"]');
        if (!f) return null;
        const names = [...f.elements].map(e => e.name).filter(n => n);
        f.username.value = %s;
        f.password.value = %s;
        f.password2.value = %s;
        f.consent.click();
        return {names, valid: f.checkValidity(), consent: f.consent.required,
                action: f.getAttribute('action')};
    })()""" % (js(user), js(PASSWORD), js(PASSWORD)))
    assert form, 'no registration form on the next-steps page'
    assert form['names'] == ['username', 'password', 'password2', 'consent'], form
    assert form['consent'] is True and form['valid'] is True, form
    assert form['action'].startswith('/invite/%s/register' % code), form
    response = tab.click_and_wait('form[action*="/register"] button[type=submit]')
    loaded(server, tab, response)
    assert tab.eval('document.title') == 'Your account is ready'
    address = tab.eval("document.querySelector('p.ok strong').textContent")
    assert address == '%s@%s' % (user, DOMAIN)
    check_served_safely(tab, response)
    screenshot(tab, 'invite-registered.png')

    assert can_login(server, user, PASSWORD)
    row = account_consent(server, user)
    assert row is not None, 'no account_invite row for %s' % user
    assert (str(row[0]), row[2], row[3]) == (invite_id, POLICY_VERSION, 2), row  # 2: web form
    assert consent_time <= row[1] <= time.time() + 5, (row, consent_time)
    assert uses_left(server, invite_id) == 0

    # ---- the used code's page now says so ----
    response = tab.navigate(url)
    loaded(server, tab, response, 410)
    assert 'already been used' in tab.eval('document.body.textContent')
