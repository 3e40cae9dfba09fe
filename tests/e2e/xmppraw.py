"""The raw-socket XMPP client of the end-to-end tests, and its helpers.

slixmpp is a well-behaved client; the tests that send malformed input,
stop half-way, need channel binding that slixmpp lacks (it only knows
tls-unique) or want to see every stanza the server sends use this
instead. Everything here is blocking with explicit timeouts, so a silent
server fails a test instead of hanging it.

- RawXMPP: one connection; first-level elements wait in `queue` until a
  test takes them (next_element in order, expect() by predicate, so that
  waiting for one kind does not lose the others).
- login(server, user, resource): a bound session with .full and .bare.
- Stanza helpers on RawXMPP: iq, sync, collect, presence, roster, push.
- Server-side helpers: new_user, db_path, offline_count.
"""

import base64
import ctypes
import ctypes.util
import hashlib
import hmac
import itertools
import os
import socket
import sqlite3
import ssl
import subprocess
import time
import unicodedata
import xml.etree.ElementTree as ET
from collections import deque

STREAM_NS = 'http://etherx.jabber.org/streams'
STREAMS_ERR_NS = 'urn:ietf:params:xml:ns:xmpp-streams'
STANZA_ERR_NS = 'urn:ietf:params:xml:ns:xmpp-stanzas'
TLS_NS = 'urn:ietf:params:xml:ns:xmpp-tls'
SASL_NS = 'urn:ietf:params:xml:ns:xmpp-sasl'
BIND_NS = 'urn:ietf:params:xml:ns:xmpp-bind'
CLIENT_NS = 'jabber:client'
ROSTER_NS = 'jabber:iq:roster'
PING_NS = 'urn:xmpp:ping'
DOMAIN = 'localhost'

_ids = itertools.count(1)


def q(ns, name):
    """Clark notation, as ElementTree names elements."""
    return '{%s}%s' % (ns, name)


def local(tag):
    return tag.split('}', 1)[-1]


def ns_of(tag):
    return tag[1:].split('}', 1)[0] if tag.startswith('{') else ''


def client_tls_context(alpn=None, max_version=None):
    """No verification: the test servers use self-signed certificates."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if max_version is not None:
        ctx.maximum_version = max_version
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    return ctx


class StreamClosed(Exception):
    """The server ended the stream or the TCP connection while we waited."""


class RawXMPP:
    """One TCP (or TLS) connection speaking XMPP by hand.

    Incoming bytes go through an XMLPullParser; every first-level child of
    the server's stream is queued as an Element. `raw` keeps everything
    received, for assertion messages.
    """

    def __init__(self, port, host='127.0.0.1', direct_tls=False, timeout=10.0,
                 alpn=('xmpp-client',), server_name='localhost', tls_max_version=None,
                 source=None):
        self.timeout = timeout
        self.server_name = server_name
        self.tls_max_version = tls_max_version
        # source: a local address to connect from (another 127.0.0.0/8
        # address stands for another client address in the tests).
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        self.raw = b''
        self.eof = False
        self.reset_error = None
        if direct_tls:
            self._wrap_tls(alpn)
        self._new_parser()

    # ---- connection ---------------------------------------------------

    def _wrap_tls(self, alpn=None):
        ctx = client_tls_context(alpn, self.tls_max_version)
        self.sock = ctx.wrap_socket(self.sock, server_hostname=self.server_name)

    def _new_parser(self):
        self.parser = ET.XMLPullParser(events=('start', 'end'))
        self.depth = 0
        self.header = None
        self.stream_closed = False
        self.parse_error = None
        self.queue = deque()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode('utf-8')
        self.sock.sendall(data)

    def _pump(self, deadline):
        """Reads once and parses. False when the connection is over."""
        if self.eof:
            return False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError('no data from server; received so far: %r' % self.raw[-2000:])
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError('no data from server; received so far: %r' % self.raw[-2000:])
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError) as e:
            self.reset_error = e
            data = b''
        if not data:
            self.eof = True
            return False
        self.raw += data
        self._feed(data)
        return True

    def _feed(self, data):
        if self.parse_error is not None:
            return
        try:
            self.parser.feed(data)
            for ev, el in self.parser.read_events():
                self._event(ev, el)
        except ET.ParseError as e:
            self.parse_error = e

    def _event(self, ev, el):
        if ev == 'start':
            if self.depth == 0:
                self.header = el
            self.depth += 1
            return
        self.depth -= 1
        if self.depth == 0:
            self.stream_closed = True
        elif self.depth == 1:
            self.queue.append(el)
            self.header.remove(el)

    # ---- reading ------------------------------------------------------

    def next_element(self, timeout=None):
        """The next first-level element; raises StreamClosed at the end."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while not self.queue:
            if self.stream_closed or self.parse_error is not None:
                raise StreamClosed('stream ended; received: %r' % self.raw[-2000:])
            if not self._pump(deadline):
                if not self.queue:
                    raise StreamClosed('connection closed; received: %r' % self.raw[-2000:])
        return self.queue.popleft()

    def wait_header(self, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while self.header is None:
            if not self._pump(deadline):
                raise StreamClosed('no stream header; received: %r' % self.raw[-2000:])
        return self.header

    def wait_eof(self, timeout=None):
        """Reads until the server closes TCP. True if it did in time."""
        deadline = time.monotonic() + (timeout or self.timeout)
        try:
            while self._pump(deadline):
                pass
        except TimeoutError:
            return False
        return True

    def expect_stream_error(self, timeout=None):
        """Reads up to a <stream:error/>; returns its condition name.

        Raises AssertionError if the stream ends without one.
        """
        while True:
            try:
                el = self.next_element(timeout)
            except StreamClosed as e:
                raise AssertionError('expected a stream error: %s' % e)
            if el.tag == q(STREAM_NS, 'error'):
                return stream_error_condition(el)

    def assert_closed_after_error(self, timeout=5.0):
        """After a stream error: </stream:stream> then the TCP close."""
        closed = self.wait_eof(timeout)
        assert self.stream_closed, \
            'no </stream:stream> after the stream error; received: %r' % self.raw[-500:]
        assert closed, 'server kept the TCP connection open after the stream error'

    # ---- stream set-up ------------------------------------------------

    def open_stream(self, to='localhost', version='1.0', ns=CLIENT_NS,
                    stream_ns=STREAM_NS, extra='', xml_decl=True):
        self._new_parser()
        head = "<?xml version='1.0'?>" if xml_decl else ''
        attrs = " to='%s'" % to if to is not None else ''
        if version is not None:
            attrs += " version='%s'" % version
        self.send("%s<stream:stream xmlns='%s' xmlns:stream='%s'%s%s>"
                  % (head, ns, stream_ns, attrs, extra))

    def features(self, timeout=None):
        self.wait_header(timeout)
        el = self.next_element(timeout)
        assert el.tag == q(STREAM_NS, 'features'), \
            'expected stream features, got %s; received: %r' % (el.tag, self.raw[-1000:])
        return el

    def starttls(self):
        """<starttls/>, <proceed/>, TLS handshake, new stream; returns features."""
        self.send("<starttls xmlns='%s'/>" % TLS_NS)
        el = self.next_element()
        assert el.tag == q(TLS_NS, 'proceed'), 'expected <proceed/>, got %s' % el.tag
        self._wrap_tls()
        self.open_stream()
        return self.features()

    def bind(self, resource=None):
        """Binds a resource; returns the full JID the server assigned."""
        res = '<resource>%s</resource>' % resource if resource else ''
        self.send("<iq type='set' id='bind1'><bind xmlns='%s'>%s</bind></iq>" % (BIND_NS, res))
        el = self.next_element()
        assert el.get('type') == 'result', 'bind failed: %s' % ET.tostring(el)
        return el.find('%s/%s' % (q(BIND_NS, 'bind'), q(BIND_NS, 'jid'))).text

    def iq(self, xml_payload, to=None, typ='get', iq_id=None, timeout=None):
        """Sends an iq and returns the answer with the same id; other
        elements stay queued. iq_id: a fresh one unless given."""
        iq_id = iq_id or 'iq%d' % next(_ids)
        to_attr = " to='%s'" % to if to else ''
        self.send("<iq type='%s' id='%s'%s>%s</iq>" % (typ, iq_id, to_attr, xml_payload))
        return self.expect(lambda e: e.tag == q(CLIENT_NS, 'iq') and e.get('id') == iq_id,
                           timeout, 'answer to iq %s' % iq_id)

    def login(self, user, password, mech='PLAIN', resource=None, starttls=True):
        """STARTTLS (unless direct TLS), SASL, restart, bind: a ready session."""
        if starttls:
            self.open_stream()
            self.features()
            self.starttls()
        else:
            self.open_stream()
            self.features()
        result, detail = sasl_auth(self, mech, user, password)
        assert result == 'success', 'SASL %s failed: %s' % (mech, detail)
        self.open_stream()
        self.features()
        return self.bind(resource)

    # ---- waiting for stanzas (after login) ----------------------------

    def expect(self, pred, timeout=None, what='a stanza'):
        """The first element, queued or new, for which pred is true. The
        others stay queued, in order. AssertionError if none comes in
        time; StreamClosed if the stream ends first."""
        timeout = timeout or self.timeout
        deadline = time.monotonic() + timeout
        while True:
            for i, el in enumerate(self.queue):
                if pred(el):
                    del self.queue[i]
                    return el
            if self.stream_closed or self.parse_error is not None:
                raise StreamClosed('stream ended before %s; received: %r' % (what, self.raw[-2000:]))
            try:
                more = self._pump(deadline)
            except TimeoutError:
                raise AssertionError('%s: no %s within %.1f s; queued: %s' % (
                    getattr(self, 'full', 'stream'), what, timeout,
                    [ET.tostring(e)[:300] for e in self.queue])) from None
            if not more:
                raise StreamClosed('connection closed before %s; received: %r'
                                   % (what, self.raw[-2000:]))

    def expect_none(self, pred, timeout=0.7, what='stanza'):
        """Asserts that no element (queued or arriving within timeout)
        satisfies pred. Sync first, so that what should not come has had
        its chance to."""
        deadline = time.monotonic() + timeout
        while True:
            for el in self.queue:
                assert not pred(el), '%s: unexpected %s: %s' % (
                    getattr(self, 'full', 'stream'), what, ET.tostring(el))
            try:
                if not self._pump(deadline):
                    return
            except TimeoutError:
                return

    def sync(self, to=DOMAIN):
        """A ping round trip: everything the server sent before its answer
        is queued (and everything sent before it has been processed)."""
        self.iq("<ping xmlns='%s'/>" % PING_NS, to=to, iq_id='sync%d' % next(_ids))

    def collect(self, secs=0.6, tag='message'):
        """Takes every <tag/> (a name or a tuple of names) queued or
        received within secs, and drops the other elements."""
        tags = {q(CLIENT_NS, t) for t in ((tag,) if isinstance(tag, str) else tag)}
        got = []
        deadline = time.monotonic() + secs
        while True:
            left = deadline - time.monotonic()
            if left <= 0 and not self.queue:
                return got
            try:
                el = self.next_element(timeout=max(left, 0.001))
            except TimeoutError:
                return got
            if el.tag in tags:
                got.append(el)

    # ---- presence (RFC 6121 §4) ---------------------------------------

    def presence(self, frm, typ=None, timeout=5.0):
        """Waits for a presence from frm (full or bare JID) of type typ."""
        return self.expect(lambda e: e.tag == q(CLIENT_NS, 'presence') and e.get('from') == frm
                           and e.get('type') == typ, timeout,
                           'presence type=%s from %s' % (typ, frm))

    def no_presence(self, frm=None, typ='any', timeout=0.7):
        self.expect_none(lambda e: e.tag == q(CLIENT_NS, 'presence')
                         and (frm is None or e.get('from') == frm)
                         and (typ == 'any' or e.get('type') == typ), timeout, 'presence')

    def available(self, extra=''):
        """Initial presence; returns our own presence, which comes back
        (RFC 6121 §4.2.2) once the server has handled it."""
        self.send('<presence>%s</presence>' % extra)
        return self.presence(self.full)

    def interested(self):
        """Roster get and initial presence: subscription requests and
        presence reach this session (RFC 6121 §2.1.6, §3.1.3)."""
        self.roster()
        self.available()

    # ---- roster (RFC 6121 §2) -----------------------------------------

    def roster(self, ver=None):
        """Roster get; returns (iq, {jid: item element})."""
        v = '' if ver is None else " ver='%s'" % ver
        res = self.iq("<query xmlns='%s'%s/>" % (ROSTER_NS, v))
        assert res.get('type') == 'result', ET.tostring(res)
        query = res.find(q(ROSTER_NS, 'query'))
        items = {} if query is None else {i.get('jid'): i
                                          for i in query.findall(q(ROSTER_NS, 'item'))}
        return res, items

    def roster_set(self, item_xml):
        return self.iq("<query xmlns='%s'>%s</query>" % (ROSTER_NS, item_xml), typ='set')

    def push(self, jid, timeout=5.0):
        """Waits for a roster push about jid and answers it; returns
        (item, the query's ver attribute)."""
        el = self.expect(lambda e: _is_push(e, jid), timeout, 'roster push for %s' % jid)
        assert el.get('from') == self.bare, ET.tostring(el)
        self.send("<iq type='result' id='%s'/>" % el.get('id'))
        query = el.find(q(ROSTER_NS, 'query'))
        return query.find(q(ROSTER_NS, 'item')), query.get('ver')

    def no_push(self, jid=None, timeout=0.7):
        self.expect_none(lambda e: _is_push(e, jid), timeout, 'roster push')


def _is_push(el, jid=None):
    item = el.find('%s/%s' % (q(ROSTER_NS, 'query'), q(ROSTER_NS, 'item')))
    return (el.tag == q(CLIENT_NS, 'iq') and el.get('type') == 'set' and item is not None
            and (jid is None or item.get('jid') == jid))


# ---- sessions and accounts ------------------------------------------------

def login(server, user, resource=None, password=None, priority=None, **kw):
    """A RawXMPP with a bound session (STARTTLS, SASL PLAIN, bind) and
    .full, .bare and .server set. With priority (an int), initial
    presence is sent, and its echo (RFC 6121 §4.2.2) taken: the server
    has handled it when this returns.
    kw goes to RawXMPP (timeout, source, ...)."""
    raw = RawXMPP(server.c2s_port, **kw)
    try:
        raw.full = raw.login(user, password if password is not None else server.passwords[user],
                             resource=resource)
    except BaseException:
        raw.close()
        raise
    raw.bare = raw.full.split('/', 1)[0]
    raw.server = server
    if priority is not None:
        raw.available('<priority>%d</priority>' % priority)
    return raw


def subscribe_both(a, b):
    """Mutual subscription ('both') between two logged-in sessions that
    are interested (interested(), or roster get and available())."""
    for x, y in ((a, b), (b, a)):
        x.send("<presence to='%s' type='subscribe'/>" % y.bare)
        y.presence(x.bare, 'subscribe')
        y.send("<presence to='%s' type='subscribed'/>" % x.bare)
        x.presence(y.bare, 'subscribed')
    a.sync()
    b.sync()


_names = itertools.count()


def new_user(server, prefix='u'):
    """A fresh account on the running server; returns its local part."""
    name = '%s%d_%d' % (prefix, next(_names), int(time.time() * 1000) % 100000)
    pw = 'pw-' + name
    server.ctl('user', 'add', '%s@%s' % (name, DOMAIN), '--password', pw, check=True)
    server.passwords[name] = pw
    return name


def send_msg(raw, to, mtype, body, mid=None):
    type_attr = " type='%s'" % mtype if mtype else ''
    raw.send("<message to='%s' id='%s'%s><body>%s</body></message>"
             % (to, mid or body, type_attr, body))


def bodies(els):
    return sorted(el.findtext(q(CLIENT_NS, 'body')) or '' for el in els
                  if el.get('type') != 'error')


def errors(els):
    return [(el.get('id'), stanza_error_condition(el)) for el in els if el.get('type') == 'error']


def db_path(server):
    return server.dir / 'data' / 'taube.db'


def offline_count(server, user):
    db = sqlite3.connect(str(db_path(server)))
    try:
        return db.execute(
            'SELECT count(*) FROM offline_messages o JOIN accounts a ON a.id = o.account_id'
            ' WHERE a.username = ?', (user,)).fetchone()[0]
    finally:
        db.close()


def stream_error_condition(el):
    for child in el:
        if ns_of(child.tag) == STREAMS_ERR_NS and local(child.tag) != 'text':
            return local(child.tag)
    return None


def stanza_error_condition(el):
    err = el.find(q(CLIENT_NS, 'error'))
    if err is None:
        return None
    for child in err:
        if ns_of(child.tag) == STANZA_ERR_NS and local(child.tag) != 'text':
            return local(child.tag)
    return None


def mechanisms(features):
    mechs = features.find(q(SASL_NS, 'mechanisms'))
    if mechs is None:
        return []
    return [m.text for m in mechs.findall(q(SASL_NS, 'mechanism'))]


# ---- SCRAM (RFC 5802, RFC 7677) -------------------------------------------

HASHES = {'SCRAM-SHA-1': 'sha1', 'SCRAM-SHA-256': 'sha256'}


def _saslname(name):
    return name.replace('=', '=3D').replace(',', '=2C')


class ScramClient:
    """Client side of SCRAM. cb_name/cb_data select channel binding
    ('p=<cb_name>'); gs2_flag overrides the flag ('n', 'y') for the
    downgrade tests."""

    def __init__(self, mech, username, password, cb_name=None, cb_data=b'',
                 gs2_flag=None, nonce=None):
        base = mech[:-5] if mech.endswith('-PLUS') else mech
        self.hash = HASHES[base]
        self.username = username
        self.password = unicodedata.normalize('NFKC', password).encode('utf-8')
        if gs2_flag is None:
            gs2_flag = 'p=' + cb_name if cb_name else 'n'
        self.gs2_header = (gs2_flag + ',,').encode()
        self.cb_data = cb_data if gs2_flag.startswith('p=') else b''
        self.cnonce = nonce or base64.b64encode(os.urandom(18)).decode()
        self.server_signature = None

    def _hmac(self, key, msg):
        return hmac.new(key, msg, self.hash).digest()

    def first(self):
        self.first_bare = ('n=%s,r=%s' % (_saslname(self.username), self.cnonce)).encode()
        return self.gs2_header + self.first_bare

    def final(self, server_first):
        attrs = dict(kv.split(b'=', 1) for kv in server_first.split(b','))
        nonce = attrs[b'r']
        if not nonce.startswith(self.cnonce.encode()):
            raise ValueError('server nonce does not extend ours: %r' % server_first)
        salt = base64.b64decode(attrs[b's'])
        iters = int(attrs[b'i'])
        salted = hashlib.pbkdf2_hmac(self.hash, self.password, salt, iters)
        client_key = self._hmac(salted, b'Client Key')
        stored_key = hashlib.new(self.hash, client_key).digest()
        cbind = base64.b64encode(self.gs2_header + self.cb_data)
        without_proof = b'c=' + cbind + b',r=' + nonce
        auth_msg = self.first_bare + b',' + server_first + b',' + without_proof
        sig = self._hmac(stored_key, auth_msg)
        proof = bytes(a ^ b for a, b in zip(client_key, sig))
        server_key = self._hmac(salted, b'Server Key')
        self.server_signature = self._hmac(server_key, auth_msg)
        return without_proof + b',p=' + base64.b64encode(proof)

    def verify(self, server_final):
        attrs = dict(kv.split(b'=', 1) for kv in server_final.split(b','))
        return b'v' in attrs and base64.b64decode(attrs[b'v']) == self.server_signature


def _b64(data):
    return base64.b64encode(data).decode() if data else '='


def _unb64(el):
    text = (el.text or '').strip()
    return b'' if text in ('', '=') else base64.b64decode(text)


def sasl_auth(raw, mech, user, password, cb_name=None, cb_data=None, gs2_flag=None,
              authzid=None):
    """Runs one SASL exchange. Returns ('success', info) or ('failure', condition).

    For -PLUS mechanisms without explicit cb_name, tls-exporter is used.
    A SCRAM success whose server signature does not verify is an
    AssertionError (the server must prove it knows the key).
    """
    if mech == 'PLAIN':
        az = authzid or ''
        payload = ('%s\0%s\0%s' % (az, user, password)).encode('utf-8')
        raw.send("<auth xmlns='%s' mechanism='PLAIN'>%s</auth>" % (SASL_NS, _b64(payload)))
        return _sasl_outcome(raw, None)
    if mech.endswith('-PLUS') and cb_name is None:
        cb_name = 'tls-exporter'
    if cb_name and cb_data is None:
        cb_data = channel_binding(raw.sock, cb_name)
    scram = ScramClient(mech, user, password, cb_name=cb_name, cb_data=cb_data or b'',
                        gs2_flag=gs2_flag)
    raw.send("<auth xmlns='%s' mechanism='%s'>%s</auth>" % (SASL_NS, mech, _b64(scram.first())))
    el = raw.next_element()
    if el.tag != q(SASL_NS, 'challenge'):
        return _sasl_result(el, None)
    raw.send("<response xmlns='%s'>%s</response>" % (SASL_NS, _b64(scram.final(_unb64(el)))))
    return _sasl_outcome(raw, scram)


def _sasl_outcome(raw, scram):
    return _sasl_result(raw.next_element(), scram)


def _sasl_result(el, scram):
    if el.tag == q(SASL_NS, 'success'):
        if scram is not None:
            final = _unb64(el)
            assert scram.verify(final), 'server signature did not verify: %r' % final
        return 'success', el
    if el.tag == q(SASL_NS, 'failure'):
        conds = [local(c.tag) for c in el if local(c.tag) != 'text']
        return 'failure', conds[0] if conds else None
    if el.tag == q(STREAM_NS, 'error'):
        return 'stream-error', stream_error_condition(el)
    return 'unexpected', ET.tostring(el)


# ---- channel binding --------------------------------------------------------

def channel_binding(sslsock, cb_name):
    if cb_name == 'tls-exporter':
        return tls_exporter(sslsock)
    if cb_name == 'tls-server-end-point':
        return tls_server_end_point(sslsock)
    if cb_name == 'tls-unique':
        return sslsock.get_channel_binding('tls-unique')
    raise ValueError(cb_name)


def tls_server_end_point(sslsock):
    """RFC 5929 section 4.1: hash of the server certificate, with the
    certificate's signature hash (MD5 and SHA-1 become SHA-256)."""
    der = sslsock.getpeercert(binary_form=True)
    text = subprocess.run(['openssl', 'x509', '-inform', 'DER', '-noout', '-text'],
                          input=der, capture_output=True, check=True).stdout.decode()
    sigalg = next((ln.split(':', 1)[1].strip().lower() for ln in text.splitlines()
                   if 'Signature Algorithm:' in ln), '')
    name = 'sha256'
    for h in ('sha384', 'sha512'):
        if h in sigalg:
            name = h
    return hashlib.new(name, der).digest()


_libssl = None


def _ssl_lib():
    global _libssl  # a cache of the loaded library, not test state
    if _libssl is None:
        lib = ctypes.CDLL(ctypes.util.find_library('ssl') or 'libssl.so.3')
        lib.SSL_export_keying_material.argtypes = [
            ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p,
            ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int]
        lib.SSL_get_fd.argtypes = [ctypes.c_void_p]
        lib.SSL_get_version.argtypes = [ctypes.c_void_p]
        lib.SSL_get_version.restype = ctypes.c_char_p
        _libssl = lib
    return _libssl


def tls_exporter(sslsock):
    """RFC 9266 tls-exporter: Python's ssl has no exporter API (3.11), so
    this reaches the SSL* inside CPython's _ssl._SSLSocket object with
    ctypes: struct { PyObject_HEAD; PyObject *Socket; SSL *ssl; ... }.
    The pointer is checked (same fd and protocol version) before use;
    a mismatch raises RuntimeError rather than guessing."""
    lib = _ssl_lib()
    obj = sslsock._sslobj
    ptr = ctypes.c_void_p.from_address(id(obj) + 2 * ctypes.sizeof(ctypes.c_void_p)
                                       + ctypes.sizeof(ctypes.c_void_p)).value
    if not ptr or lib.SSL_get_fd(ptr) != sslsock.fileno() \
            or lib.SSL_get_version(ptr).decode() != sslsock.version():
        raise RuntimeError('cannot locate the SSL* of this socket')
    out = ctypes.create_string_buffer(32)
    label = b'EXPORTER-Channel-Binding'
    if lib.SSL_export_keying_material(ptr, out, 32, label, len(label), None, 0, 0) != 1:
        raise RuntimeError('SSL_export_keying_material failed')
    return out.raw
