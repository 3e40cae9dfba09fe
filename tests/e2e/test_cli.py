"""taubectl init and user management, and `taube --check`."""

import re
import socket
import stat
import subprocess

import pytest

from conftest import DOMAIN, TAUBE, TAUBECTL, TaubeServer, free_ports, require_binaries, run_ctl, set_option
from xmppraw import RawXMPP, sasl_auth


def init(dirpath):
    ports = free_ports(4)
    return run_ctl('init', '--dir', dirpath, '--domain', DOMAIN, '--c2s-port', ports[0],
                   '--c2s-tls-port', ports[1], '--s2s-port', ports[2], '--https-port', ports[3])


def check(config):
    require_binaries()
    return subprocess.run([str(TAUBE), '-c', str(config), '--check'], capture_output=True,
                          text=True, timeout=30)


def test_init_creates_config_cert_and_data(tmp_path):
    d = tmp_path / 'srv'
    p = init(d)
    assert p.returncode == 0, p.stderr
    assert (d / 'taube.yaml').is_file()
    assert (d / 'data').is_dir()
    crt, key = d / 'certs' / 'localhost.crt', d / 'certs' / 'localhost.key'
    assert crt.is_file() and key.is_file()
    assert stat.S_IMODE(key.stat().st_mode) & 0o077 == 0, \
        'private key is readable by others: %o' % stat.S_IMODE(key.stat().st_mode)
    text = subprocess.run(['openssl', 'x509', '-in', str(crt), '-noout', '-subject', '-ext',
                           'subjectAltName'], capture_output=True, text=True, check=True).stdout
    assert 'localhost' in text, text
    # The certificate and the key belong together.
    pub = lambda args: subprocess.run(args, capture_output=True, check=True).stdout
    assert pub(['openssl', 'x509', '-in', str(crt), '-noout', '-pubkey']) == \
        pub(['openssl', 'pkey', '-in', str(key), '-pubout'])


def test_init_refuses_to_overwrite(tmp_path):
    d = tmp_path / 'srv'
    assert init(d).returncode == 0
    cfg = d / 'taube.yaml'
    cfg.write_text(cfg.read_text() + '# edited by the admin\n')
    before = cfg.read_text()
    p = init(d)
    assert p.returncode != 0, 'second init succeeded: %s' % p.stdout
    assert 'exist' in p.stderr, p.stderr
    assert cfg.read_text() == before


def test_check_accepts_the_generated_config(tmp_path):
    d = tmp_path / 'srv'
    assert init(d).returncode == 0
    p = check(d / 'taube.yaml')
    assert p.returncode == 0, p.stdout + p.stderr
    assert 'warning' not in p.stderr, p.stderr


# ---- ports of features this version does not have (issue 8) ----------------

UNSERVED = {('s2s', 'port'): 'federation'}


def test_init_does_not_write_unserved_ports_as_if_they_worked(tmp_path):
    """--s2s-port is kept as a comment: nothing listens on it yet, so the
    file leaves it 0. --https-port is written: the HTTPS service listens."""
    d = tmp_path / 'srv'
    ports = free_ports(4)
    p = run_ctl('init', '--dir', d, '--domain', DOMAIN, '--c2s-port', ports[0],
                '--c2s-tls-port', ports[1], '--s2s-port', ports[2], '--https-port', ports[3])
    assert p.returncode == 0, p.stderr
    text = (d / 'taube.yaml').read_text()
    block = text[text.index('\ns2s:\n'):]
    line = next(l for l in block.splitlines() if l.startswith('  port:'))
    assert re.match(r'  port: 0  # %d when a version of Taube serves it$' % ports[2], line), line
    help_text = ' '.join(l.strip('# ') for l in block[:block.index('  port:')].splitlines())
    assert 'This version does not serve federation yet' in help_text, help_text
    block = text[text.index('\nhttp:\n'):]
    line = next(l for l in block.splitlines() if l.startswith('  port:'))
    assert line == '  port: %d' % ports[3], line


@pytest.mark.parametrize('section,key', sorted(UNSERVED))
def test_check_and_startup_warn_when_an_unserved_port_is_set(make_server, section, key):
    srv = make_server(start=False)
    port = free_ports(1)[0]
    srv.configure({(section, key): str(port)})
    what = UNSERVED[(section, key)]
    p = check(srv.config)
    assert p.returncode == 0, p.stdout + p.stderr
    want = 'warning: %s.%s is %d, but this version of Taube does not serve %s' % (
        section, key, port, what)
    assert want in p.stderr, p.stderr
    assert p.stderr.count('warning') == 1, p.stderr
    srv.start()
    assert want in srv.log_text(), srv.log_text()
    with pytest.raises(OSError):
        socket.create_connection(('127.0.0.1', port), timeout=2).close()
    srv.check_clean_exit()


def line_of(text, pattern):
    return next(i + 1 for i, ln in enumerate(text.split('\n')) if re.match(pattern, ln))


@pytest.mark.parametrize('section,key,value', [
    ('limits', 'max_stanza_size', 'lots'),       # not a size
    ('limits', 'max_stanza_size', '100'),        # below the RFC minimum of 10000
    ('limits', 'auth_timeout', '400ms'),         # below the minimum (500ms)
    ('c2s', 'port', '70000'),                    # out of range
    ('log', 'level', 'chatty'),                  # not a choice
    ('limits', 'no_such_option', '1'),           # unknown key
])
def test_check_reports_file_line_and_key(tmp_path, section, key, value):
    d = tmp_path / 'srv'
    assert init(d).returncode == 0
    cfg = d / 'taube.yaml'
    text = set_option(cfg.read_text(), section, key, value)
    cfg.write_text(text)
    line = line_of(text, r'^\s+%s: %s$' % (re.escape(key), re.escape(value)))
    p = check(cfg)
    out = p.stdout + p.stderr
    assert p.returncode == 1, 'exit %d: %s' % (p.returncode, out)
    assert '%s:%d' % (cfg, line) in out, 'no "%s:%d" in: %s' % (cfg, line, out)
    assert key in out, out


def test_check_reports_yaml_syntax_error(tmp_path):
    d = tmp_path / 'srv'
    assert init(d).returncode == 0
    cfg = d / 'taube.yaml'
    lines = cfg.read_text().split('\n')
    lines.append('limits: [unclosed')
    cfg.write_text('\n'.join(lines))
    p = check(cfg)
    out = p.stdout + p.stderr
    assert p.returncode == 1, out
    assert str(cfg) in out and re.search(r':%d\b' % len(lines), out), out


def test_check_missing_file(tmp_path):
    p = check(tmp_path / 'nope.yaml')
    assert p.returncode == 1, p.stdout + p.stderr
    assert 'nope.yaml' in p.stdout + p.stderr


def can_login(srv, user, password):
    with RawXMPP(srv.c2s_port) as raw:
        raw.open_stream()
        raw.features()
        raw.starttls()
        return sasl_auth(raw, 'SCRAM-SHA-256', user, password)[0] == 'success'


def listed(srv):
    p = srv.ctl('user', 'list', check=True)
    return p.stdout.split()


def test_user_lifecycle_while_running(make_server):
    srv = make_server()
    assert listed(srv) == sorted(srv.jid(u) for u in srv.passwords)
    jid = srv.jid('dave')
    p = srv.ctl('user', 'add', jid, '--password', 'first pw', check=True)
    assert 'first pw' not in p.stdout + p.stderr, 'password echoed'
    assert jid in listed(srv)
    assert can_login(srv, 'dave', 'first pw')

    assert srv.ctl('user', 'add', jid, '--password', 'other').returncode != 0, \
        'adding an existing user succeeded'
    assert can_login(srv, 'dave', 'first pw'), 'failed re-add changed the password'

    srv.ctl('user', 'passwd', jid, '--password', 'second pw', check=True)
    assert not can_login(srv, 'dave', 'first pw')
    assert can_login(srv, 'dave', 'second pw')

    srv.ctl('user', 'delete', jid, check=True)
    assert jid not in listed(srv)
    assert not can_login(srv, 'dave', 'second pw')
    srv.check_clean_exit()


def test_user_add_password_from_stdin(make_server):
    srv = make_server()
    p = subprocess.run([str(TAUBECTL), '-c', str(srv.config), 'user', 'add', srv.jid('erin')],
                       input='piped pw\n', capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert can_login(srv, 'erin', 'piped pw')
    assert not can_login(srv, 'erin', 'piped pw\n')


@pytest.mark.parametrize('bad', ['bad@@jid', 'noatsign', 'x@other.example', '@localhost'])
def test_user_add_rejects_bad_jids(tmp_path, bad):
    srv = TaubeServer(tmp_path / 'srv', users={})
    p = srv.ctl('user', 'add', bad, '--password', 'pw')
    assert p.returncode != 0, 'accepted %r: %s' % (bad, p.stdout)
    assert listed(srv) == []
