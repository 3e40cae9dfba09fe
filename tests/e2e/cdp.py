"""A minimal Chrome DevTools Protocol client for the browser tests: one
headless Chromium spoken to over --remote-debugging-pipe (JSON messages
ended by a NUL byte; Chromium reads fd 3 and writes fd 4), with only the
stdlib. Every wait has a deadline; close() always kills the browser.

    with Chromium() as browser:
        tab = browser.new_tab()
        tab.navigate('https://localhost:5281/')
        tab.eval('document.title')
"""

import base64
import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

CHROMIUM = os.environ.get('TAUBE_CHROMIUM') or shutil.which('chromium') or '/usr/bin/chromium'
PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'

# Runs argv[3:] with the fds argv[1] and argv[2] as its fds 3 and 4 (a
# shell cannot: dash takes only one-digit fds in redirections).
_ON_FDS_3_4 = (
    'import os, sys\n'
    'r, w = int(sys.argv[1]), int(sys.argv[2])\n'
    'os.dup2(r, 3); os.dup2(w, 4); os.close(r); os.close(w)\n'
    'os.execv(sys.argv[3], sys.argv[3:])\n')


class CdpError(AssertionError):
    pass


def find_chromium():
    """The browser's path, or None."""
    return CHROMIUM if os.access(CHROMIUM, os.X_OK) else None


def _group_alive(pgid):
    """Whether a process other than a zombie is in process group pgid."""
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % pid, 'rb') as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(b')') + 2:].split()  # state, ppid, pgrp, ...
        if int(fields[2]) == pgid and fields[0] != b'Z':
            return True
    return False


class Chromium:
    """A headless Chromium process and its DevTools pipe."""

    def __init__(self, width=1000, height=1400, timeout=20.0):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix='taube-chromium-')
        self.log_path = os.path.join(self.profile, 'chromium.log')
        self._ids = 0
        self._events = []  # (sessionId, method, params) not yet waited for
        self._buf = b''
        self.proc = None
        self.log = None
        self._to_child = self._from_child = -1
        # The pipe ends Chromium gets, moved to fds >= 10 so that putting
        # them on 3 and 4 in the child cannot overwrite one another.
        ends = []
        try:
            r, self._to_child = os.pipe()
            ends.append(r)
            self._from_child, w = os.pipe()
            ends.append(w)
            high = []
            for fd in (r, w):
                high.append(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10))
                ends.append(high[-1])
            args = [CHROMIUM, '--headless=new', '--no-sandbox', '--disable-gpu',
                    '--ignore-certificate-errors', '--user-data-dir=' + self.profile,
                    '--remote-debugging-pipe', '--no-first-run', '--no-default-browser-check',
                    '--disable-extensions', '--disable-background-networking',
                    '--disable-component-update', '--disable-sync', '--mute-audio',
                    '--password-store=basic', '--window-size=%d,%d' % (width, height),
                    'about:blank']
            self.log = open(self.log_path, 'wb')
            self.proc = subprocess.Popen(
                [sys.executable, '-c', _ON_FDS_3_4, str(high[0]), str(high[1]), *args],
                pass_fds=high, stdin=subprocess.DEVNULL, stdout=self.log,
                stderr=subprocess.STDOUT, start_new_session=True)
        except BaseException:
            self.close()
            raise
        finally:
            for fd in ends:
                os.close(fd)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def log_text(self, tail=4000):
        try:
            with open(self.log_path, 'rb') as f:
                return f.read().decode(errors='replace')[-tail:]
        except OSError:
            return ''

    def close(self):
        """Kills the browser and its helper processes (its own process
        group), closes the pipes and removes the profile."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        if self.proc is not None:
            # Its helpers (zygote, renderers) share the group; wait until
            # none is left but zombies for init to reap, so that no test
            # leaves a browser behind.
            deadline = time.monotonic() + 10
            while _group_alive(self.proc.pid) and time.monotonic() < deadline:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    break
                time.sleep(0.02)
        for fd in (self._to_child, self._from_child):
            if fd >= 0:
                os.close(fd)
        self._to_child = self._from_child = -1
        if self.log:
            self.log.close()
            self.log = None
        shutil.rmtree(self.profile, ignore_errors=True)

    # ---- the pipe ----

    def _send(self, method, params=None, session=None):
        self._ids += 1
        msg = {'id': self._ids, 'method': method, 'params': params or {}}
        if session:
            msg['sessionId'] = session
        data = json.dumps(msg).encode() + b'\0'
        while data:
            n = os.write(self._to_child, data)
            data = data[n:]
        return self._ids

    def _read(self, deadline, what):
        """The next message from the browser."""
        while b'\0' not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CdpError('no answer from chromium within the time for %s\n%s'
                               % (what, self.log_text()))
            ready, _, _ = select.select([self._from_child], [], [], left)
            if not ready:
                continue
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                raise CdpError('chromium closed its DevTools pipe (exit %s) during %s\n%s'
                               % (self.proc.poll(), what, self.log_text()))
            self._buf += chunk
        msg, self._buf = self._buf.split(b'\0', 1)
        return json.loads(msg)

    def call(self, method, params=None, session=None, timeout=None):
        """Sends a command and returns its result; an error answer raises."""
        mid = self._send(method, params, session)
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            msg = self._read(deadline, method)
            if msg.get('id') == mid:
                if 'error' in msg:
                    raise CdpError('%s: %s' % (method, msg['error']))
                return msg.get('result', {})
            if 'method' in msg:
                self._events.append((msg.get('sessionId'), msg['method'], msg.get('params', {})))

    def clear_events(self, session=None):
        self._events = [e for e in self._events if session is not None and e[0] != session]

    def wait_event(self, method, session=None, timeout=None, match=None, drop_older=()):
        """The params of the first event `method` (of session) for which
        match(params) holds, including ones that came while waiting for
        an answer; raises after timeout. Buffered events named in
        drop_older that came before it are discarded (they were about
        an older page)."""
        def fits(e):
            return e[1] == method and (session is None or e[0] == session) \
                and (match is None or match(e[2]))
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            for i, e in enumerate(self._events):
                if fits(e):
                    self._events = [o for o in self._events[:i]
                                    if o[1] not in drop_older or o[0] != e[0]] \
                        + self._events[i + 1:]
                    return e[2]
            msg = self._read(deadline, 'event ' + method)
            if 'method' in msg:
                self._events.append((msg.get('sessionId'), msg['method'], msg.get('params', {})))

    def events(self, method, session=None):
        """The params of the buffered events `method` (they stay buffered)."""
        return [e[2] for e in self._events
                if e[1] == method and (session is None or e[0] == session)]

    def new_tab(self):
        target = self.call('Target.createTarget', {'url': 'about:blank'})['targetId']
        session = self.call('Target.attachToTarget',
                            {'targetId': target, 'flatten': True})['sessionId']
        return Tab(self, session)


class Tab:
    """One page, attached in flat mode (commands carry its sessionId)."""

    def __init__(self, browser, session):
        self.browser = browser
        self.session = session
        for domain in ('Page', 'Runtime', 'Network'):
            self.call(domain + '.enable')

    def call(self, method, params=None, timeout=None):
        return self.browser.call(method, params, self.session, timeout)

    def wait_event(self, method, timeout=None, match=None, drop_older=()):
        return self.browser.wait_event(method, self.session, timeout, match, drop_older)

    def events(self, method):
        return self.browser.events(method, self.session)

    def clear_events(self):
        self.browser.clear_events(self.session)

    def eval(self, expression, timeout=None):
        """The value of a JavaScript expression in the page (JSON-able);
        an exception in the page raises."""
        r = self.call('Runtime.evaluate', {'expression': expression, 'returnByValue': True,
                                           'awaitPromise': True}, timeout)
        if 'exceptionDetails' in r:
            d = r['exceptionDetails']
            raise CdpError('%s\n  in: %s' % (d.get('exception', {}).get('description')
                                             or d.get('text'), expression))
        return r['result'].get('value')

    def navigate(self, url, timeout=None):
        """Loads url and waits for its load event; returns the main
        document's response (Network.responseReceived params)."""
        self.clear_events()
        r = self.call('Page.navigate', {'url': url}, timeout)
        if r.get('errorText'):
            raise CdpError('navigating to %s: %s' % (url, r['errorText']))
        return self._loaded(timeout)

    def click_and_wait(self, selector, timeout=None):
        """Clicks the element and waits for the page it leads to."""
        self.clear_events()
        self.eval('document.querySelector(%s).click()' % json.dumps(selector))
        return self._loaded(timeout)

    def _loaded(self, timeout):
        """Waits for the main frame's next document and its load event;
        returns its response (Network.responseReceived's), or None."""
        nav = self.wait_event('Page.frameNavigated', timeout,
                              match=lambda p: 'parentId' not in p['frame'],
                              drop_older=('Page.loadEventFired',))
        self.wait_event('Page.loadEventFired', timeout)
        loader = nav['frame'].get('loaderId')
        docs = [e for e in self.events('Network.responseReceived')
                if e.get('type') == 'Document' and e.get('loaderId') == loader]
        return docs[-1]['response'] if docs else None

    def screenshot(self, path=None):
        """A PNG of the viewport; written to path if given. Returns the bytes."""
        data = base64.b64decode(self.call('Page.captureScreenshot', {'format': 'png'})['data'])
        if path:
            with open(path, 'wb') as f:
                f.write(data)
        return data
