"""Virtual hosts: a second domain in server.domains, its certificate made
with `taubectl cert`, logins on each domain, the certificate chosen by
SNI, messages between the domains, unknown domains refused, and
`taube --check` catching a missing certificate."""

import asyncio
import socket
import ssl
import stat
import subprocess

import pytest
from cryptography import x509

from conftest import DOMAIN, TAUBE, require_binaries, run_ctl
from xmppraw import TLS_NS, client_tls_context, q, RawXMPP, sasl_auth

OTHER = 'example.test'
OTHER_USERS = {'dave': 'dave-on-example', 'erin': 'érin pass 2'}


class Vhost:
    """What Xmpp.client needs of a server, for users of another domain."""

    def __init__(self, srv, domain, passwords):
        self.srv, self.domain, self.passwords = srv, domain, passwords
        self.c2s_port, self.c2s_tls_port = srv.c2s_port, srv.c2s_tls_port

    def jid(self, user, resource=None):
        return '%s@%s%s' % (user, self.domain, '/' + resource if resource else '')


@pytest.fixture(scope='module')
def vhosts(tmp_path_factory):
    """One server for localhost and example.test; yields (server, Vhost)."""
    from conftest import TaubeServer
    srv = TaubeServer(tmp_path_factory.mktemp('taube'),
                      {('server', 'domains'): '["%s", "%s"]' % (DOMAIN, OTHER)})
    p = srv.ctl('cert', OTHER)
    assert p.returncode == 0, p.stderr
    for user, pw in OTHER_USERS.items():
        srv.ctl('user', 'add', '%s@%s' % (user, OTHER), '--password', pw, check=True)
    srv.start()
    yield srv, Vhost(srv, OTHER, OTHER_USERS)
    srv.check_clean_exit()


def der_of(path):
    return ssl.PEM_cert_to_DER_cert(path.read_text())


def dns_names(der):
    cert = x509.load_der_x509_certificate(der)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return san.get_values_for_type(x509.DNSName)


def direct_tls_cert(port, sni):
    """The certificate the server presents on its direct TLS port for sni."""
    ctx = client_tls_context(alpn=['xmpp-client'])
    with socket.create_connection(('127.0.0.1', port), timeout=5) as s:
        with ctx.wrap_socket(s, server_hostname=sni) as t:
            return t.getpeercert(binary_form=True)


def starttls_cert(port, domain):
    """The certificate presented after STARTTLS on a stream to domain."""
    raw = RawXMPP(port, server_name=domain)
    with raw:
        raw.open_stream(to=domain)
        raw.features()
        raw.send("<starttls xmlns='%s'/>" % TLS_NS)
        assert raw.next_element().tag == q(TLS_NS, 'proceed')
        raw._wrap_tls()
        return raw.sock.getpeercert(binary_form=True)


# ---- taubectl cert -------------------------------------------------------------

def test_cert_writes_a_pair_for_the_domain(tmp_path):
    d = tmp_path / 'certs'
    p = run_ctl('cert', OTHER, '--dir', d)
    assert p.returncode == 0, p.stderr
    crt, key = d / (OTHER + '.crt'), d / (OTHER + '.key')
    assert stat.S_IMODE(key.stat().st_mode) == 0o600, oct(key.stat().st_mode)
    assert sorted(dns_names(der_of(crt))) == sorted(
        [OTHER, 'conference.' + OTHER, 'upload.' + OTHER])
    pub = lambda args: subprocess.run(args, capture_output=True, check=True).stdout
    assert pub(['openssl', 'x509', '-in', str(crt), '-noout', '-pubkey']) == \
        pub(['openssl', 'pkey', '-in', str(key), '-pubout']), 'key does not match certificate'


def test_cert_refuses_to_overwrite_unless_forced(tmp_path):
    d = tmp_path / 'certs'
    assert run_ctl('cert', OTHER, '--dir', d).returncode == 0
    crt, key = d / (OTHER + '.crt'), d / (OTHER + '.key')
    before = (crt.read_bytes(), key.read_bytes())
    p = run_ctl('cert', OTHER, '--dir', d)
    assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
    assert 'exists' in p.stderr and '--force' in p.stderr, p.stderr
    assert (crt.read_bytes(), key.read_bytes()) == before, 'files changed without --force'
    p = run_ctl('cert', OTHER, '--dir', d, '--force=no')
    assert p.returncode == 2 and 'takes no value' in p.stderr, (p.returncode, p.stderr)
    assert (crt.read_bytes(), key.read_bytes()) == before
    p = run_ctl('cert', '--force', OTHER, '--dir', d)
    assert p.returncode == 0, p.stderr
    assert crt.read_bytes() != before[0] and key.read_bytes() != before[1]
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert sorted(p.name for p in d.iterdir()) == [OTHER + '.crt', OTHER + '.key'], \
        'temporary files left behind'


@pytest.mark.parametrize('bad', ['1.2.3.4', 'no domain', '[::1]', 'a..b'])
def test_cert_refuses_invalid_domains(tmp_path, bad):
    p = run_ctl('cert', bad, '--dir', tmp_path / 'certs')
    assert p.returncode == 1, (bad, p.returncode, p.stdout, p.stderr)
    assert not (tmp_path / 'certs').exists()


def test_cert_uses_certs_dir_of_the_config(vhosts):
    srv, _ = vhosts
    # Made by the fixture through the configuration, not --dir.
    assert (srv.dir / 'certs' / (OTHER + '.crt')).is_file()
    assert (srv.dir / 'certs' / (OTHER + '.key')).is_file()


# ---- the running server ------------------------------------------------------

@pytest.mark.parametrize('sni', [DOMAIN, OTHER])
def test_certificate_follows_sni(vhosts, sni):
    srv, _ = vhosts
    want = der_of(srv.dir / 'certs' / (sni + '.crt'))
    for got in (direct_tls_cert(srv.c2s_tls_port, sni), starttls_cert(srv.c2s_port, sni)):
        assert sni in dns_names(got), 'SNI %s got a certificate for %s' % (sni, dns_names(got))
        assert got == want, 'SNI %s: not the certificate in certs/%s.crt' % (sni, sni)


def https_cert(port, sni):
    """The certificate the HTTPS service presents for sni."""
    ctx = client_tls_context(alpn=['http/1.1'])
    with socket.create_connection(('127.0.0.1', port), timeout=5) as s:
        with ctx.wrap_socket(s, server_hostname=sni) as t:
            return t.getpeercert(binary_form=True)


@pytest.mark.parametrize('sni', [DOMAIN, OTHER])
def test_https_certificate_follows_sni(vhosts, sni):
    srv, _ = vhosts
    assert https_cert(srv.https_port, sni) == der_of(srv.dir / 'certs' / (sni + '.crt'))


@pytest.mark.parametrize('sni', ['EXAMPLE.test', 'conference.' + OTHER, 'upload.' + OTHER])
def test_sni_variants_get_the_domains_certificate(vhosts, sni):
    """SNI is case-insensitive, and the MUC and upload hosts are in the
    domain's certificate."""
    srv, _ = vhosts
    assert direct_tls_cert(srv.c2s_tls_port, sni) == der_of(srv.dir / 'certs' / (OTHER + '.crt'))


def test_users_of_both_domains_log_in(vhosts, xmpp):
    srv, other = vhosts

    async def body():
        a = await xmpp.client(srv, 'alice', resource='home')
        d = await xmpp.client(other, 'dave', resource='home')
        e = await xmpp.client(other, 'erin', resource='tls', direct_tls=True)
        assert str(a.boundjid) == '%s@%s/home' % ('alice', DOMAIN)
        assert str(d.boundjid) == '%s@%s/home' % ('dave', OTHER)
        assert str(e.boundjid) == '%s@%s/tls' % ('erin', OTHER)
    xmpp.run(body)


def raw_auth(srv, domain, user, password):
    """PLAIN after STARTTLS on a stream to domain: the SASL outcome."""
    raw = RawXMPP(srv.c2s_port, server_name=domain)
    with raw:
        raw.open_stream(to=domain)
        raw.features()
        raw.send("<starttls xmlns='%s'/>" % TLS_NS)
        assert raw.next_element().tag == q(TLS_NS, 'proceed')
        raw._wrap_tls()
        raw.open_stream(to=domain)
        raw.features()
        return sasl_auth(raw, 'PLAIN', user, password)[0]


def test_accounts_belong_to_their_domain(vhosts):
    """dave exists on example.test only: the same name and password on a
    stream to localhost must not log in, and alice not on example.test."""
    srv, _ = vhosts
    assert raw_auth(srv, OTHER, 'dave', OTHER_USERS['dave']) == 'success'
    assert raw_auth(srv, DOMAIN, 'dave', OTHER_USERS['dave']) == 'failure'
    assert raw_auth(srv, DOMAIN, 'alice', srv.passwords['alice']) == 'success'
    assert raw_auth(srv, OTHER, 'alice', srv.passwords['alice']) == 'failure'


def test_messages_between_domains(vhosts, xmpp):
    srv, other = vhosts

    async def body():
        alice = await xmpp.client(srv, 'alice', resource='m')
        dave = await xmpp.client(other, 'dave', resource='m')
        boxes = {}
        for name, c in (('alice', alice), ('dave', dave)):
            boxes[name] = asyncio.Queue()
            c.add_event_handler('message', boxes[name].put_nowait)
        alice.send_message(mto=other.jid('dave', 'm'), mbody='hello from localhost',
                           mtype='chat')
        msg = await asyncio.wait_for(boxes['dave'].get(), 5)
        assert msg['body'] == 'hello from localhost'
        assert str(msg['from']) == srv.jid('alice', 'm')
        dave.send_message(mto=srv.jid('alice', 'm'), mbody='hello from example.test',
                          mtype='chat')
        msg = await asyncio.wait_for(boxes['alice'].get(), 5)
        assert msg['body'] == 'hello from example.test'
        assert str(msg['from']) == other.jid('dave', 'm')
    xmpp.run(body)


@pytest.mark.parametrize('direct_tls', [False, True])
def test_unknown_domain_gets_host_unknown(vhosts, direct_tls):
    srv, _ = vhosts
    port = srv.c2s_tls_port if direct_tls else srv.c2s_port
    with RawXMPP(port, direct_tls=direct_tls, server_name='third.test') as raw:
        raw.open_stream(to='third.test')
        assert raw.expect_stream_error() == 'host-unknown'
        raw.assert_closed_after_error()


# ---- a domain without its certificate ---------------------------------------

def test_check_fails_when_a_domain_has_no_certificate(vhosts):
    srv, _ = vhosts
    require_binaries()
    cfg = srv.dir / 'taube-missing.yaml'
    text = srv.config.read_text().replace('["%s", "%s"]' % (DOMAIN, OTHER),
                                          '["%s", "%s", "missing.test"]' % (DOMAIN, OTHER))
    assert 'missing.test' in text
    cfg.write_text(text)
    ok = subprocess.run([str(TAUBE), '-c', str(srv.config), '--check'], capture_output=True,
                        text=True, timeout=30)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    p = subprocess.run([str(TAUBE), '-c', str(cfg), '--check'], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
    assert 'missing.test' in p.stderr and 'missing.test.crt' in p.stderr, p.stderr
    assert OTHER + '.crt' not in p.stderr, 'blamed a domain that has its certificate: ' + p.stderr
    # The server itself refuses to start the same way (and does not listen).
    p = subprocess.run([str(TAUBE), '-c', str(cfg)], capture_output=True, text=True, timeout=30)
    assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
    assert 'missing.test' in p.stderr, p.stderr
    cfg.unlink()


# ---- an internationalised domain (issue 8) -----------------------------------

IDN = 'fa\u00df.de'  # faß.de: IDNA2008 keeps the sharp s (IDNA2003 made it fass.de)
IDN_ALABEL = 'xn--fa-hia.de'
# Every spelling the one normaliser (core/domain.c) maps to faß.de.
IDN_SPELLINGS = [IDN, 'FA\u00df.DE', IDN_ALABEL, 'XN--FA-HIA.DE.', '\uff46\uff41\u00df.de']


def idn_login(srv, to, user, password):
    """STARTTLS, PLAIN and bind on a stream to 'to'; returns the bound JID
    and the DNS names of the certificate presented."""
    with RawXMPP(srv.c2s_port, server_name=IDN_ALABEL) as raw:
        raw.open_stream(to=to)
        raw.features()
        raw.send("<starttls xmlns='%s'/>" % TLS_NS)
        assert raw.next_element().tag == q(TLS_NS, 'proceed')
        raw._wrap_tls()
        names = dns_names(raw.sock.getpeercert(binary_form=True))
        raw.open_stream(to=to)
        raw.features()
        result, detail = sasl_auth(raw, 'PLAIN', user, password)
        assert result == 'success', (to, detail)
        raw.open_stream(to=to)
        raw.features()
        return raw.bind('r'), names


@pytest.mark.parametrize('configured', [IDN, 'FA\u00df.DE'])
def test_idn_domain_passes_check_and_clients_log_in(make_server, configured):
    """A hand-written server.domains entry 'faß.de' passed --check, and
    then every stream to it was refused with host-unknown: the config
    normalised with IDNA2008, the JID code with IDNA2003."""
    srv = make_server({('server', 'domains'): '["%s", "%s"]' % (DOMAIN, configured)},
                      start=False)
    p = srv.ctl('cert', configured)
    assert p.returncode == 0, p.stderr
    assert (srv.dir / 'certs' / (IDN + '.crt')).is_file()
    p = subprocess.run([str(TAUBE), '-c', str(srv.config), '--check'], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr
    srv.ctl('user', 'add', 'carol@' + configured, '--password', 'carol-idn-pw', check=True)
    srv.start()
    for to in IDN_SPELLINGS:
        jid, names = idn_login(srv, to, 'carol', 'carol-idn-pw')
        assert jid == 'carol@%s/r' % IDN, (to, jid)
        assert IDN_ALABEL in names, 'SNI %s got the certificate for %s' % (IDN_ALABEL, names)
    # fass.de is another domain, not served here.
    with RawXMPP(srv.c2s_port, server_name='fass.de') as raw:
        raw.open_stream(to='fass.de')
        assert raw.expect_stream_error() == 'host-unknown'
    srv.check_clean_exit()
