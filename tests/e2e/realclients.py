"""Drivers for real XMPP clients from Debian's packages, for the
end-to-end smoke tests: profanity inside a private tmux server, and the
go-sendxmpp command line.

Every client runs with a temporary HOME and XDG directories, so no user
configuration is read or written, and tmux runs on its own socket
(-S), so the test never touches a tmux server someone else uses.
"""

import os
import queue
import re
import shutil
import subprocess
import tempfile
import threading
import time

import pytest


def require_tool(name):
    """Skips the test when the Debian package providing name is missing
    (scripts/deps.sh installs them)."""
    path = shutil.which(name)
    if path is None:
        pytest.skip('%s is not installed (run scripts/deps.sh)' % name)
    return path


def client_env(home):
    """A minimal environment confined to home: no user config, UTF-8."""
    home = str(home)
    return {
        'PATH': '/usr/bin:/bin',
        'HOME': home,
        'XDG_CONFIG_HOME': os.path.join(home, '.config'),
        'XDG_DATA_HOME': os.path.join(home, '.local', 'share'),
        'XDG_CACHE_HOME': os.path.join(home, '.cache'),
        'XDG_RUNTIME_DIR': home,
        'GNUPGHOME': os.path.join(home, '.gnupg'),
        'LANG': 'C.UTF-8',
        'LC_ALL': 'C.UTF-8',
        'TERM': 'xterm-256color',
    }


def wait_until(probe, timeout, interval=0.1):
    """Polls probe() until it returns something truthy; returns that value,
    or None at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        got = probe()
        if got:
            return got
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


# ---- tmux ----------------------------------------------------------------------

class Tmux:
    """One detached session of fixed size on a private tmux server."""

    def __init__(self, home, width=160, height=48):
        self.tmux = require_tool('tmux')
        # A socket of our own (-S) in a short directory (socket paths are
        # limited to ~100 bytes, test tmp paths can be longer).
        self.sockdir = tempfile.mkdtemp(prefix='taube-tmux-')
        self.socket = os.path.join(self.sockdir, 'sock')
        self.env = client_env(home)
        self.size = (width, height)
        self.started = False

    def _run(self, *args, check=True):
        # -f /dev/null: no ~/.tmux.conf; -u: UTF-8 whatever the locale says.
        return subprocess.run([self.tmux, '-u', '-f', '/dev/null', '-S', self.socket,
                               *args], env=self.env, capture_output=True, text=True,
                              timeout=10, check=check)

    def start(self, argv):
        """Runs argv (a list) as the session's only window."""
        env_args = ['env', '-i'] + ['%s=%s' % kv for kv in sorted(self.env.items())]
        self._run('new-session', '-d', '-s', 'main', '-x', str(self.size[0]),
                  '-y', str(self.size[1]), ' '.join(_shell_quote(a) for a in env_args + argv))
        self.started = True

    def type(self, text, enter=True):
        """Types text literally (no key-name lookup), then Enter."""
        self._run('send-keys', '-t', 'main', '-l', text)
        if enter:
            self._run('send-keys', '-t', 'main', 'Enter')

    def screen(self):
        """The visible pane as text ('' once the session is gone)."""
        p = self._run('capture-pane', '-p', '-J', '-t', 'main', check=False)
        return p.stdout if p.returncode == 0 else ''

    def wait_for(self, pattern, timeout=10.0):
        """Waits until the pane matches the regex; returns the match or
        fails the test showing the pane."""
        rx = re.compile(pattern)
        m = wait_until(lambda: rx.search(self.screen()), timeout)
        if m is None:
            raise AssertionError('%r did not appear within %.0f s; the screen:\n%s'
                                 % (pattern, timeout, _trim(self.screen())))
        return m

    def kill(self):
        """Ends this private tmux server and everything running in it."""
        if self.started:
            self._run('kill-server', check=False)
            self.started = False
        shutil.rmtree(self.sockdir, ignore_errors=True)


def _shell_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


def _trim(screen):
    return '\n'.join(ln.rstrip() for ln in screen.split('\n') if ln.strip())


# ---- profanity -----------------------------------------------------------------

class Profanity:
    """profanity (libstrophe) in tmux, logged in to a TaubeServer."""

    def __init__(self, home):
        self.home = home
        self.binary = require_tool('profanity')
        self.tmux = Tmux(home)
        self.log_path = os.path.join(str(home), '.local', 'share', 'profanity', 'logs',
                                     'profanity.log')

    def start(self):
        # -l DEBUG: libstrophe logs the XML it sends (the SASL mechanism).
        self.tmux.start([self.binary, '-l', 'DEBUG'])
        self.tmux.wait_for(r'Type .?/help', timeout=10)

    def login(self, server, user, timeout=10.0):
        """/connect over STARTTLS to 127.0.0.1, trusting the self-signed
        certificate; types the password at the prompt."""
        self.tmux.type('/connect %s server 127.0.0.1 port %d tls trust'
                       % (server.jid(user), server.c2s_port))
        self.tmux.wait_for(r'Enter password:', timeout=5)
        self.tmux.type(server.passwords[user])
        m = wait_until(lambda: re.search(r'logged in successfully|Login failed|'
                                         r'Connection failed|[Dd]isconnected',
                                         self.tmux.screen()), timeout)
        if m is None or m.group(0) != 'logged in successfully':
            raise AssertionError('profanity did not log in; the screen:\n%s\nits log:\n%s'
                                 % (_trim(self.tmux.screen()), self.log_tail()))
        # What profanity offers (/blocked, reports) depends on the server's
        # disco#info, which it asks for after the login line: a command
        # typed before the answer is refused as "not supported".
        if not wait_until(lambda: 'connection_features_received' in self.log_text(), timeout):
            raise AssertionError('profanity did not get the server features; its log:\n%s'
                                 % self.log_tail())

    def sasl_auth_sent(self):
        """The <auth/> element libstrophe sent, from profanity's debug log."""
        m = re.search(r'SENT: (<auth [^>]*>[^<]*</auth>)', self.log_text())
        return m.group(1) if m else None

    def log_text(self):
        try:
            with open(self.log_path, encoding='utf-8', errors='replace') as f:
                return f.read()
        except OSError:
            return ''

    def log_tail(self, n=4000):
        return self.log_text()[-n:]

    def close(self):
        self.tmux.kill()


# ---- go-sendxmpp ---------------------------------------------------------------

class GoSendxmpp:
    """The go-sendxmpp command line (go-xmpp), with a temporary HOME and
    certificate verification off (the test server's certificate is
    self-signed)."""

    def __init__(self, home, server, user, direct_tls=True):
        self.binary = require_tool('go-sendxmpp')
        self.env = client_env(home)
        os.makedirs(self.env['XDG_CONFIG_HOME'], exist_ok=True)
        port = server.c2s_tls_port if direct_tls else server.c2s_port
        self.base = [self.binary, '-n', '--timeout', '5',
                     '-u', server.jid(user), '-p', server.passwords[user],
                     '-j', '127.0.0.1:%d' % port]
        if direct_tls:
            self.base.append('-t')

    def send(self, to, text, timeout=15.0):
        """Sends text (read from stdin) to the JID; returns CompletedProcess."""
        return subprocess.run(self.base + [to], input=text, env=self.env,
                              capture_output=True, text=True, timeout=timeout)

    def listen(self):
        """Starts `go-sendxmpp -l`, which prints each message it receives
        as "<time> <from bare JID>: <body>"; returns a Listener."""
        proc = subprocess.Popen(self.base + ['-l'], env=self.env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, encoding='utf-8', errors='replace')
        return Listener(proc)


class Listener:
    """Collects a running process's stdout lines on a thread, so that a
    test can wait for one with a timeout."""

    def __init__(self, proc):
        self.proc = proc
        self.lines = queue.Queue()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip('\n'))

    def wait_line(self, needle, timeout):
        """The first line containing needle within timeout, else None."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                return None
            if needle in line:
                return line

    def running(self):
        return self.proc.poll() is None

    def stop(self):
        """Kills the process (once); returns what it wrote to stderr."""
        if self.proc.stderr is None or self.proc.stderr.closed:
            return ''
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(5)
        err = self.proc.stderr.read()
        self.proc.stderr.close()
        self.thread.join(2)
        self.proc.stdout.close()
        return err
