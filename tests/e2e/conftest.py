"""Fixtures for the end-to-end tests: a real `taube` process per module
(or per test, for tests that change limits or kill it), created with
`taubectl init`, and slixmpp clients that each run on a fresh asyncio
loop with hard timeouts.

Binaries come from $TAUBE_BUILD (default: <repo>/build).
"""

import asyncio
import os
import random
import re
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get('TAUBE_BUILD', REPO / 'build')).resolve()
TAUBE = BUILD / 'taube'
TAUBECTL = BUILD / 'taubectl'
DOMAIN = 'localhost'

# One password per user; carol's is non-ASCII (UTF-8 through SASL).
USERS = {
    'alice': 'alice-secret-1',
    'bob': 'b0b password',
    'carol': 'cärøl-pässwörd',
}

# Lines in the server log that mean the sanitizers found something.
SANITIZER_MARKS = ('ERROR: AddressSanitizer', 'ERROR: LeakSanitizer', 'runtime error:')


# ---- ports -------------------------------------------------------------------

def _port_free(port):
    for fam, addr in ((socket.AF_INET, '127.0.0.1'),):
        s = socket.socket(fam, socket.SOCK_STREAM)
        try:
            s.bind((addr, port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def free_ports(n):
    """n distinct free ports below the ephemeral range (STACK-NOTES)."""
    ports = []
    while len(ports) < n:
        p = random.randint(20000, 32000)
        if p not in ports and _port_free(p):
            ports.append(p)
    return ports


# ---- the command-line tools --------------------------------------------------

def require_binaries():
    for b in (TAUBE, TAUBECTL):
        if not os.access(b, os.X_OK):
            pytest.fail('%s is missing: build it first (make all)' % b, pytrace=False)


def run_ctl(*args, timeout=30, check=False):
    """Runs taubectl; returns CompletedProcess (text)."""
    require_binaries()
    p = subprocess.run([str(TAUBECTL), *map(str, args)], capture_output=True,
                       text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError('taubectl %s failed (%d):\nstdout: %s\nstderr: %s'
                             % (' '.join(map(str, args)), p.returncode, p.stdout, p.stderr))
    return p


def set_option(text, section, key, value):
    """Sets `section.key` in YAML text written by `taubectl init`.

    Replaces the key's line (even if commented out) inside its section and
    drops any block-list lines below it; adds the key (or the section)
    when absent. Good enough for the flat two-level file init writes.
    """
    lines = text.split('\n')
    start = next((i for i, ln in enumerate(lines)
                  if re.match(r'^%s:\s*(#.*)?$' % re.escape(section), ln)), None)
    if start is None:
        return text.rstrip('\n') + '\n%s:\n  %s: %s\n' % (section, key, value)
    end = start + 1
    while end < len(lines) and (lines[end] == '' or lines[end][0] in ' #\t'):
        end += 1
    key_re = re.compile(r'^(\s+)(#\s*)?%s:(\s.*)?$' % re.escape(key))
    for i in range(start + 1, end):
        m = key_re.match(lines[i])
        if m and not (m.group(2) and _has_live_key(lines, start, end, key_re)):
            indent = m.group(1)
            lines[i] = '%s%s: %s' % (indent, key, value)
            j = i + 1
            while j < end and lines[j].strip() and not lines[j].lstrip().startswith('#') \
                    and len(lines[j]) - len(lines[j].lstrip()) > len(indent):
                del lines[j]
                end -= 1
            return '\n'.join(lines)
    indent = next((re.match(r'^(\s+)', ln).group(1) for ln in lines[start + 1:end]
                   if ln.strip() and not ln.lstrip().startswith('#')), '  ')
    lines.insert(start + 1, '%s%s: %s' % (indent, key, value))
    return '\n'.join(lines)


def _has_live_key(lines, start, end, key_re):
    return any((m := key_re.match(lines[i])) and not m.group(2) for i in range(start + 1, end))


# ---- a server process --------------------------------------------------------

class TaubeServer:
    """A configured data directory and, once started, a running taube."""

    def __init__(self, base, options=None, users=USERS):
        require_binaries()
        self.dir = Path(base)
        self.c2s_port, self.c2s_tls_port, self.s2s_port, self.https_port = free_ports(4)
        self.config = self.dir / 'taube.yaml'
        self.log_path = self.dir / 'taube.log'
        self.proc = None
        self.stopped_with = None  # the signal a test stopped it with
        self.checked = False      # check_clean_exit() has run
        self.passwords = dict(users)
        run_ctl('init', '--dir', self.dir, '--domain', DOMAIN,
                '--c2s-port', self.c2s_port, '--c2s-tls-port', self.c2s_tls_port,
                '--s2s-port', self.s2s_port, '--https-port', self.https_port, check=True)
        self.configure({('network', 'listen'): '["127.0.0.1"]', ('log', 'level'): 'info'})
        # The users first: a test's options (a slow auth.scram_iterations)
        # need not slow down creating them.
        for user, pw in self.passwords.items():
            self.ctl('user', 'add', '%s@%s' % (user, DOMAIN), '--password', pw, check=True)
        self.configure(options or {})

    def configure(self, options):
        """options: {(section, key): yaml_value_text}."""
        text = self.config.read_text()
        for (section, key), value in options.items():
            text = set_option(text, section, key, value)
        self.config.write_text(text)

    def ctl(self, *args, check=False):
        return run_ctl('-c', self.config, *args, check=check)

    def start(self, timeout=10.0):
        self.stopped_with = None
        self.checked = False
        self.log = open(self.log_path, 'ab')
        self.proc = subprocess.Popen([str(TAUBE), '-c', str(self.config)],
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     cwd=self.dir)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.stopped_with = 'exit during start-up'
                raise AssertionError('taube exited with %d during start-up:\n%s'
                                     % (self.proc.returncode, self.log_text()))
            try:
                socket.create_connection(('127.0.0.1', self.c2s_port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.kill()
        raise AssertionError('taube did not listen on %d within %.0f s:\n%s'
                             % (self.c2s_port, timeout, self.log_text()))

    def log_text(self, tail=6000):
        try:
            return self.log_path.read_text(errors='replace')[-tail:]
        except OSError:
            return ''

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        """Signals taube and waits; returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.stopped_with = sig
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError('taube did not exit within %.0f s of signal %d:\n%s'
                                     % (timeout, sig, self.log_text()))
        self.log.close()
        return self.proc.returncode

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.stopped_with = signal.SIGKILL
            self.proc.kill()
            self.proc.wait()

    def check_clean_exit(self):
        """Teardown check: SIGTERM gives exit 0 and no sanitizer report."""
        if self.proc is None:
            return
        self.checked = True
        was_alive = self.alive()
        rc = self.stop()
        log = self.log_text(10 ** 9)
        bad = [m for m in SANITIZER_MARKS if m in log]
        assert not bad, 'sanitizer report in the server log:\n%s' % log[-6000:]
        assert was_alive, 'taube died during the tests (exit %s):\n%s' % (rc, log[-6000:])
        assert rc == 0, 'taube exited with %s after SIGTERM:\n%s' % (rc, log[-6000:])

    def finish(self):
        """Teardown of a per-test server: a server the test left running
        (or that died on its own) gets check_clean_exit(); one the test
        stopped itself must have left no sanitizer report and, if it was
        stopped with SIGTERM or SIGINT, have exited with 0. A server that
        failed to start is only checked for sanitizer reports."""
        if self.proc is None or self.checked:
            return
        if self.stopped_with is None:
            self.check_clean_exit()
            return
        self.checked = True
        rc = self.stop()
        log = self.log_text(10 ** 9)
        bad = [m for m in SANITIZER_MARKS if m in log]
        assert not bad, 'sanitizer report in the server log:\n%s' % log[-6000:]
        if self.stopped_with in (signal.SIGTERM, signal.SIGINT):
            assert rc == 0, 'taube exited with %s after signal %d:\n%s' \
                % (rc, self.stopped_with, log[-6000:])

    def jid(self, user, resource=None):
        return '%s@%s%s' % (user, DOMAIN, '/' + resource if resource else '')


@pytest.fixture(scope='module')
def server(request, tmp_path_factory):
    """One running server per test module, with USERS created. A module
    may set SERVER_OPTIONS = {(section, key): value} for its server."""
    srv = TaubeServer(tmp_path_factory.mktemp('taube'),
                      getattr(request.module, 'SERVER_OPTIONS', None))
    srv.start()
    yield srv
    srv.check_clean_exit()


@pytest.fixture(autouse=True)
def _server_still_alive(request):
    """Blames the test during which the module's server died (or the
    sanitizers spoke), instead of failing every later test with
    'connection refused'."""
    if 'server' not in request.fixturenames:
        yield
        return
    srv = request.getfixturevalue('server')
    if not srv.alive():
        pytest.skip('taube died in an earlier test of this module')
    before = len(srv.log_text(10 ** 9))
    yield
    log = srv.log_text(10 ** 9)[before:]
    if not srv.alive() or any(m in log for m in SANITIZER_MARKS):
        pytest.fail('taube died or reported a sanitizer error during this test:\n%s'
                    % log[-6000:], pytrace=False)


@pytest.fixture
def make_server(tmp_path_factory):
    """Factory for per-test servers: make_server({('limits', 'auth_timeout'): '2s'}).
    Each one is stopped with SIGTERM at the end of the test and must exit
    cleanly (TaubeServer.finish): exit status 0, no sanitizer report."""
    made = []

    def make(options=None, start=True):
        srv = TaubeServer(tmp_path_factory.mktemp('taube'), options)
        made.append(srv)
        if start:
            srv.start()
        return srv
    yield make
    problems = []
    for srv in made:
        try:
            srv.finish()
        except AssertionError as e:
            problems.append(str(e))
        finally:
            srv.kill()
    if problems:
        pytest.fail('\n\n'.join(problems), pytrace=False)


# ---- slixmpp on its own loop --------------------------------------------------

class LoginFailed(AssertionError):
    pass


class Xmpp:
    """Runs a coroutine on a fresh loop; makes slixmpp clients inside it
    and tears them all down afterwards."""

    def __init__(self):
        self.clients = []
        self.loop = None

    def run(self, coro_fn, timeout=20.0):
        import logging
        logging.getLogger('slixmpp').setLevel(logging.WARNING)
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        try:
            return self.loop.run_until_complete(asyncio.wait_for(coro_fn(), timeout))
        finally:
            self.loop.run_until_complete(self._teardown())
            pending = asyncio.all_tasks(self.loop)
            for t in pending:
                t.cancel()
            self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self.loop.run_until_complete(self.loop.shutdown_default_executor())
            self.loop.close()
            asyncio.set_event_loop(None)

    async def _teardown(self):
        for c in self.clients:
            c.cancel_connection_attempt()
            if c.transport is not None:
                try:
                    await asyncio.wait_for(c.disconnect(wait=0.5), 2)
                except Exception:
                    c.abort()
        await asyncio.sleep(0)

    async def blocking(self, fn, *args):
        """Runs blocking code (xmppraw) in a thread while the loop keeps
        the slixmpp clients alive."""
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    async def ping(self, c, to=DOMAIN, timeout=5):
        """An XEP-0199 ping that fails on an error answer (slixmpp's own
        ping() counts an error from the server as success)."""
        return await c['xep_0199'].send_ping(to, timeout=timeout)

    async def watcher(self, srv, user='bob'):
        """An already-connected client used to prove the server still
        serves after bad input on another connection."""
        return await self.client(srv, user, resource='watcher', plugins=['xep_0199'])

    async def client(self, srv, user, resource='test', password=None, mech=None,
                     direct_tls=False, plugins=(), expect_failure=False, timeout=10.0):
        """A slixmpp client with a started session (or, with
        expect_failure, the reason it could not get one)."""
        import slixmpp
        jid = srv.jid(user, resource)
        # No -PLUS by default: slixmpp would use tls-unique (see below).
        c = slixmpp.ClientXMPP(jid, password if password is not None else srv.passwords[user],
                               sasl_mech=mech or 'SCRAM-SHA-256')
        self.clients.append(c)
        for p in plugins:
            c.register_plugin(p)
        c.ssl_context.check_hostname = False
        c.ssl_context.verify_mode = ssl.CERT_NONE
        if direct_tls:
            c.ssl_context.set_alpn_protocols(['xmpp-client'])
        port = srv.c2s_tls_port if direct_tls else srv.c2s_port

        async def dns(domain, port_=None):
            return [(domain, '127.0.0.1', port)]
        c.get_dns_records = dns
        _no_channel_binding(c)
        c.stream_errors = []
        c.add_event_handler('stream_error', lambda e: c.stream_errors.append(e['condition']))

        outcome = asyncio.get_running_loop().create_future()

        def done(what):
            def handler(_event=None):
                if not outcome.done():
                    outcome.set_result(what)
            return handler
        c.add_event_handler('session_start', done('session'))
        c.add_event_handler('failed_auth', done('failed_auth'))
        c.add_event_handler('failed_all_auth', done('failed_auth'))
        c.add_event_handler('disconnected', done('disconnected'))
        c.add_event_handler('connection_failed', done('connection_failed'))
        c.connect(('127.0.0.1', port), use_ssl=direct_tls)
        try:
            result = await asyncio.wait_for(outcome, timeout)
        except asyncio.TimeoutError:
            result = 'timeout'
        if expect_failure:
            return c, result
        if result != 'session':
            raise LoginFailed('%s could not log in: %s (stream errors: %s)'
                              % (jid, result, c.stream_errors))
        return c


def _no_channel_binding(c):
    """slixmpp 1.8 knows only tls-unique: for a non-PLUS mechanism it sends
    the gs2 flag 'y' ("I could bind, the server cannot"), which a server
    that offers -PLUS must refuse (RFC 5802 section 6). Make it send 'n',
    as a client without channel binding would. The -PLUS variants are
    tested with xmppraw instead."""
    mech = c['feature_mechanisms']
    orig = mech.sasl_callback

    def creds(required, optional):
        result = orig(required, optional)
        if 'channel_binding' in result:
            result['channel_binding'] = None
        return result
    mech.sasl_callback = creds


@pytest.fixture
def xmpp():
    return Xmpp()
