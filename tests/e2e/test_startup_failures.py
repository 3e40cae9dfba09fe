"""Start-up failures after the configuration loaded (issue 7, items 9 and 14).

Each broken setting must make `taube` exit 1 with one line that says what
is wrong (no crash, no sanitizer report), and `taube --check` must find
the same problem before the real start does.
"""

import os
import sqlite3
import subprocess

import pytest

from conftest import DOMAIN, SANITIZER_MARKS, TAUBE, free_ports, require_binaries, run_ctl, set_option


@pytest.fixture
def site(tmp_path):
    d = tmp_path / 'srv'
    ports = free_ports(4)
    run_ctl('init', '--dir', d, '--domain', DOMAIN, '--c2s-port', ports[0], '--c2s-tls-port',
            ports[1], '--s2s-port', ports[2], '--https-port', ports[3], check=True)
    return d


def taube(config, *args):
    require_binaries()
    return subprocess.run([str(TAUBE), '-c', str(config), *args], capture_output=True, text=True,
                          timeout=30)


def edit(site, section, key, value):
    cfg = site / 'taube.yaml'
    cfg.write_text(set_option(cfg.read_text(), section, key, value))


def garbage_database(site, tmp_path):
    (site / 'data' / 'taube.db').write_text('this is not a database\n' * 100)
    return 'file is not a database'


def newer_schema(site, tmp_path):
    assert run_ctl('-c', site / 'taube.yaml', 'user', 'list').returncode == 0  # creates the schema
    db = sqlite3.connect(str(site / 'data' / 'taube.db'))
    db.execute('UPDATE schema_version SET version = 9999')
    db.commit()
    db.close()
    return 'newer than this build knows'


def missing_directory(site, tmp_path):
    edit(site, 'store', 'path', '"%s"' % (tmp_path / 'no' / 'such' / 'dir' / 'taube.db'))
    return 'No such file or directory'


def read_only_filesystem(site, tmp_path):
    if os.geteuid() != 0:
        pytest.skip('mounting a read-only file system needs root (CI runs as root)')
    mnt = tmp_path / 'ro'
    mnt.mkdir()
    subprocess.run(['mount', '-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', str(mnt)], check=True)
    edit(site, 'store', 'path', '"%s"' % (mnt / 'taube.db'))
    return 'Read-only file system'


def bad_ciphers(site, tmp_path):
    edit(site, 'tls', 'ciphers', '"NO-SUCH-CIPHER"')
    return 'cipher list'


def bad_ciphersuites(site, tmp_path):
    edit(site, 'tls', 'ciphersuites', '"TLS_NO_SUCH_SUITE"')
    return 'ciphersuites'


def certificate_for_another_name(site, tmp_path):
    certs = site / 'certs'
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
                    'ec_paramgen_curve:P-256', '-nodes', '-keyout', str(certs / (DOMAIN + '.key')),
                    '-out', str(certs / (DOMAIN + '.crt')), '-subj', '/CN=other.example', '-addext',
                    'subjectAltName=DNS:other.example', '-days', '30'], check=True,
                   capture_output=True)
    return 'does not name %s' % DOMAIN


BREAKAGES = [garbage_database, newer_schema, missing_directory, read_only_filesystem, bad_ciphers,
             bad_ciphersuites, certificate_for_another_name]


@pytest.mark.parametrize('breakage', BREAKAGES, ids=[b.__name__ for b in BREAKAGES])
def test_start_and_check_fail_with_one_clear_line(site, tmp_path, breakage):
    expected = breakage(site, tmp_path)
    try:
        for args in (('--check',), ()):
            p = taube(site / 'taube.yaml', *args)
            out = p.stdout + p.stderr
            what = 'taube %s' % ' '.join(args)
            assert p.returncode == 1, '%s exited %d:\n%s' % (what, p.returncode, out)
            assert not any(m in out for m in SANITIZER_MARKS), out
            errors = [ln for ln in p.stderr.splitlines() if ln.strip()]
            assert len(errors) == 1, '%s: expected one line, got:\n%s' % (what, p.stderr)
            assert errors[0].startswith('taube: ') and expected in errors[0], errors[0]
            assert 'ready' not in out and 'is valid' not in out, out
    finally:
        if breakage is read_only_filesystem:
            subprocess.run(['umount', str(tmp_path / 'ro')], check=False)


def test_check_changes_nothing_in_a_new_site(site):
    """--check looks at the store without creating or migrating it."""
    db = site / 'data' / 'taube.db'
    before = db.stat().st_size if db.exists() else None
    p = taube(site / 'taube.yaml', '--check')
    assert p.returncode == 0, p.stdout + p.stderr
    assert (db.stat().st_size if db.exists() else None) == before
