"""Registration as the real clients do it (issue 9, item 3), in raw XMPP:
the sequences read in their sources, before and after the member agreed
on the invite's web page.

- Conversations (RegistrationManager): preauth as get (some versions) or
  set, then a query get; with <username/> and <password/> in the result it
  registers with those, else it treats a form as a captcha, else opens a
  jabber:x:oob URL in the browser.
- Monal: a form with username, password and the hidden fields only.
- Siskin: sends its token only when a pre-auth stream feature is offered.
- Gajim, Dino: render the form with code and consent fields.
"""

import ssl
import urllib.parse
import http.client
import xml.etree.ElementTree as ET

import pytest

from test_register import (DATA_NS, PARS_NS, REG_NS, TOKEN_FEATURE_NS, account_exists, can_login,
                           db, error_text, form, fresh_name, invite, tls_stream, uses_left)
from test_retention import control
from xmppraw import q, stanza_error_condition

OOB_NS = 'jabber:x:oob'
PW = 'correct horse battery'

SERVER_OPTIONS = {
    ('registration', 'max_attempts_per_hour'): '100000',
    ('registration', 'policy_version'): '"2026-12"',
}


def https(server, method, path, body=None):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    con = http.client.HTTPSConnection('127.0.0.1', server.https_port, context=ctx, timeout=10)
    try:
        headers = {'Host': 'localhost'}
        if body is not None:
            body = urllib.parse.urlencode(body)
            headers['Content-Type'] = 'application/x-www-form-urlencoded'
        con.request(method, path, body=body, headers=headers)
        r = con.getresponse()
        return r.status, r.read().decode()
    finally:
        con.close()


def agree_on_page(server, code):
    status, page = https(server, 'POST', '/invite/%s' % code, {'consent': '1'})
    assert status == 200, page
    assert 'xmpp:localhost?register;preauth=%s' % code in page
    return page


def preauth(raw, code, typ='set'):
    el = raw.iq("<preauth xmlns='%s' token='%s'/>" % (PARS_NS, code), typ=typ)
    assert el.get('type') == 'result', ET.tostring(el)


def query_get(raw):
    el = raw.iq("<query xmlns='%s'/>" % REG_NS, typ='get')
    assert el.get('type') == 'result', ET.tostring(el)
    return el.find(q(REG_NS, 'query'))


def legacy(raw, user, pw=PW):
    return raw.iq("<query xmlns='%s'><username>%s</username><password>%s</password></query>"
                  % (REG_NS, user, pw), typ='set')


def form_vars(query):
    x = query.find(q(DATA_NS, 'x'))
    return [f.get('var') for f in x.findall(q(DATA_NS, 'field'))]


def consent_row(server, user):
    con = db(server)
    try:
        return con.execute(
            'SELECT ai.consent_time, ai.policy_version, ai.consent_via FROM account_invite ai'
            ' JOIN accounts a ON a.id = ai.account_id WHERE a.username = ?', (user,)).fetchone()
    finally:
        con.close()


@pytest.mark.parametrize('typ', ['get', 'set'])
def test_conversations_after_agreeing_on_the_page(server, typ):
    code, iid = invite(server)
    agree_on_page(server, code)
    user = fresh_name('conv')
    raw, _ = tls_stream(server)
    with raw:
        preauth(raw, code, typ)
        query = query_get(raw)
        # The simple path: legacy fields, and a form without captcha or consent.
        assert query.find(q(REG_NS, 'username')) is not None
        assert query.find(q(REG_NS, 'password')) is not None
        assert form_vars(query) == ['FORM_TYPE', 'username', 'password']
        el = legacy(raw, user)
        assert el.get('type') == 'result', ET.tostring(el)
    assert can_login(server, user, PW)
    assert uses_left(server, iid) == 0
    consent_time, version, via = consent_row(server, user)
    assert version == '2026-12' and via == 1 and consent_time > 0
    out = server.ctl('user', 'show', '%s@localhost' % user, check=True).stdout
    assert 'consent_given_on: the invite page' in out


def test_conversations_before_agreeing_is_sent_to_the_page(server):
    code, iid = invite(server)
    user = fresh_name('conv')
    raw, _ = tls_stream(server)
    with raw:
        preauth(raw, code, 'get')
        query = query_get(raw)
        # No legacy fields; the form asks for consent; the page is named.
        assert query.find(q(REG_NS, 'username')) is None
        assert 'consent' in form_vars(query)
        url = query.find('%s/%s' % (q(OOB_NS, 'x'), q(OOB_NS, 'url'))).text
        assert url == 'https://localhost:%d/invite/%s' % (server.https_port, code)
        el = legacy(raw, user)
    assert stanza_error_condition(el) == 'not-acceptable'
    assert url in error_text(el)
    err_query = el.find(q(REG_NS, 'query'))
    assert err_query.find('%s/%s' % (q(OOB_NS, 'x'), q(OOB_NS, 'url'))).text == url
    assert 'version 2026-12' in err_query.find(q(REG_NS, 'instructions')).text
    assert not account_exists(server, user)
    assert uses_left(server, iid) == 1
    # The page's address works, and after agreeing there the same works.
    agree_on_page(server, code)
    raw, _ = tls_stream(server)
    with raw:
        preauth(raw, code)
        assert legacy(raw, user).get('type') == 'result'
    assert can_login(server, user, PW)


def monal_form(query, user, pw):
    """What Monal submits: username, password, ocr (empty without a
    captcha) and every hidden field of the form it was given."""
    hidden = ''.join("<field var='%s'><value>%s</value></field>"
                     % (f.get('var'), f.findtext(q(DATA_NS, 'value')) or '')
                     for f in query.find(q(DATA_NS, 'x')).findall(q(DATA_NS, 'field'))
                     if f.get('type') == 'hidden')
    return ("<query xmlns='%s'><x xmlns='%s' type='submit'>%s<field var='username'><value>%s"
            "</value></field><field var='password'><value>%s</value></field><field var='ocr'>"
            "<value></value></field></x></query>" % (REG_NS, DATA_NS, hidden, user, pw))


def test_monal_form_with_hidden_fields_only(server):
    code, _ = invite(server)
    agree_on_page(server, code)
    user = fresh_name('monal')
    raw, _ = tls_stream(server)
    with raw:
        preauth(raw, code)
        el = raw.iq(monal_form(query_get(raw), user, PW), typ='set')
    assert el.get('type') == 'result', ET.tostring(el)
    assert can_login(server, user, PW)
    assert consent_row(server, user)[2] == 1


def test_monal_without_page_consent_refused(server):
    code, iid = invite(server)
    raw, _ = tls_stream(server)
    with raw:
        preauth(raw, code)
        el = raw.iq(form(username=fresh_name(), password=PW, consent=None), typ='set')
    assert stanza_error_condition(el) == 'not-acceptable'
    assert '/invite/%s' % code in error_text(el)
    assert uses_left(server, iid) == 1


def test_page_consent_is_used_up_by_one_account(server):
    code, _ = invite(server, '--uses', '2')
    agree_on_page(server, code)
    first, second = fresh_name('a'), fresh_name('b')
    for user, ok in ((first, True), (second, False)):
        raw, _ = tls_stream(server)
        with raw:
            preauth(raw, code)
            el = legacy(raw, user)
        assert (el.get('type') == 'result') == ok, ET.tostring(el)
    assert not account_exists(server, second)


def test_consent_label_links_the_policy_page(server):
    raw, _ = tls_stream(server)
    with raw:
        query = query_get(raw)
    fields = query.find(q(DATA_NS, 'x')).findall(q(DATA_NS, 'field'))
    label = next(f.get('label') for f in fields if f.get('var') == 'consent')
    url = 'https://localhost:%d/policy' % server.https_port
    assert url in label and 'version 2026-12' in label, label
    status, page = https(server, 'GET', '/policy')
    assert status == 200 and 'Version 2026-12' in page


def test_siskin_sees_the_preauth_features(server):
    raw, features = tls_stream(server)
    with raw:
        for ns in TOKEN_FEATURE_NS:
            assert features.find(q(ns, 'register')) is not None


def test_gajim_form_with_code_and_consent(server):
    code, _ = invite(server)
    user = fresh_name('gajim')
    raw, _ = tls_stream(server)
    with raw:
        query = query_get(raw)
        assert form_vars(query) == ['FORM_TYPE', 'username', 'password', 'token', 'consent']
        el = raw.iq(form(username=user, password=PW, token=code), typ='set')
    assert el.get('type') == 'result', ET.tostring(el)
    assert consent_row(server, user)[2] == 0


@pytest.mark.parametrize('case', ['none', 'used', 'expired', 'revoked'])
def test_legacy_refusals(server, case):
    if case == 'none':
        raw, _ = tls_stream(server)
        with raw:
            el = legacy(raw, fresh_name())
        assert stanza_error_condition(el) == 'not-allowed'
        return
    code, iid = invite(server, *(['--expires', '1d'] if case == 'expired' else []))
    agree_on_page(server, code)
    raw, _ = tls_stream(server)
    with raw:
        preauth(raw, code)
        if case == 'used':
            other, _ = tls_stream(server)
            with other:
                el = other.iq(form(username=fresh_name(), password=PW, token=code), typ='set')
            assert el.get('type') == 'result'
        elif case == 'revoked':
            server.ctl('invite', 'revoke', iid, check=True)
        else:  # the server's clock moves past the expiry (test-only control)
            assert control(server, 'clock-offset', 2 * 86400).startswith('ok')
        user = fresh_name()
        try:
            el = legacy(raw, user)
        finally:
            if case == 'expired':
                assert control(server, 'clock-offset', 0).startswith('ok')
    if case == 'expired':  # XEP-0445 §4: a token accepted by preauth stays valid
        assert el.get('type') == 'result', ET.tostring(el)
        return
    assert stanza_error_condition(el) == 'not-allowed', ET.tostring(el)
    assert not account_exists(server, user)
