"""Spam and abuse reports (XEP-0377, promise P22): a report attached to a
block item is stored for the operator in both forms real clients send
(urn:xmpp:reporting:1 with a reason attribute; the older :0 with
<spam/>/<abuse/> children), with the reporter's text, XEP-0359 message
references and message copies only when sent; `taubectl report
list|show|dismiss`; the limits (a report over a limit is dropped, the
block stands); what happens to reports when the reporter or the reported
local account is deleted (both values of
reports.keep_after_reporter_deleted); reports.max_age; and the block
itself behaving exactly as without a report."""

import re
import secrets
import sqlite3
import time
import xml.etree.ElementTree as ET

from test_blocking import blocklist
from test_retention import DAY, control
from xmppraw import db_path, errors, login, new_user, send_msg

NS_BLOCK = 'urn:xmpp:blocking'
NS_R1 = 'urn:xmpp:reporting:1'
NS_R0 = 'urn:xmpp:reporting:0'
SPAM = 'urn:xmpp:reporting:spam'
ABUSE = 'urn:xmpp:reporting:abuse'


def block_items(raw, items_xml, iq_id='blk'):
    """Sends a block with the given <item/> XML; returns the answer."""
    return raw.iq("<block xmlns='%s'>%s</block>" % (NS_BLOCK, items_xml), typ='set',
                  iq_id=iq_id)


def item(jid, report=''):
    return "<item jid='%s'>%s</item>" % (jid, report)


def report_v1(reason=SPAM, inner=''):
    return "<report xmlns='%s' reason='%s'>%s</report>" % (NS_R1, reason, inner)


def ctl_ok(srv, *args):
    p = srv.ctl(*args)
    assert p.returncode == 0, 'taubectl %s: %s %s' % (args, p.stdout, p.stderr)
    return p.stdout


def report_lines(srv):
    """`report list` as {number: line}."""
    out = ctl_ok(srv, 'report', 'list')
    rows = {}
    for line in out.splitlines():
        num, _ = line.split('\t', 1)
        rows[int(num)] = line
    return rows


def reports_about(srv, jid):
    return {n: ln for n, ln in report_lines(srv).items() if '\treported: %s\t' % jid in ln}


def rows(srv, sql, *args):
    db = sqlite3.connect(str(db_path(srv)))
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def reporter_rows(srv, user):
    return rows(srv, 'SELECT r.id, r.reason, r.jid FROM reports r JOIN accounts a'
                     ' ON a.id = r.account_id WHERE a.username = ? ORDER BY r.id', user)


def fresh_jid(prefix='spammer'):
    return '%s%s@elsewhere.example' % (prefix, secrets.token_hex(4))


def test_features_advertised(server):
    raw = login(server, 'alice', 'disco')
    with raw:
        el = raw.iq("<query xmlns='http://jabber.org/protocol/disco#info'/>", to='localhost')
        feats = {f.get('var') for f in
                 el.iter('{http://jabber.org/protocol/disco#info}feature')}
    for f in (NS_BLOCK, NS_R1, NS_R0, 'urn:xmpp:reporting:reason:spam:0',
              'urn:xmpp:reporting:reason:abuse:0'):
        assert f in feats, (f, sorted(feats))


def test_v1_report_with_text_and_stanza_ids(server):
    u = new_user(server, 'rep')
    bad = fresh_jid()
    words = 'Never came trouble to my house like this %s' % secrets.token_hex(4)
    sid1, sid2 = secrets.token_hex(6), secrets.token_hex(6)
    refs = ("<stanza-id xmlns='urn:xmpp:sid:0' by='%s' id='%s'/>"
            "<stanza-id xmlns='urn:xmpp:sid:0' by='%s' id='%s'/>" % (bad, sid1, bad, sid2))
    me = login(server, u, 'r')
    other = login(server, u, 'o')
    with me, other:
        assert blocklist(other) == []  # this session asked: it gets the push
        el = block_items(me, item(bad, report_v1(ABUSE, "%s<text xml:lang='en'>%s</text>"
                                                 % (refs, words))))
        assert el.get('type') == 'result', ET.tostring(el)
        assert blocklist(me) == [bad]
        pushes = other.collect(0.5, tag='iq')
        assert len(pushes) == 1, [ET.tostring(p) for p in pushes]
        pushed = pushes[0].find('{%s}block/{%s}item' % (NS_BLOCK, NS_BLOCK))
        # The push is the plain block: the report is not echoed to clients.
        assert pushed is not None and pushed.get('jid') == bad and len(pushed) == 0
    found = reports_about(server, bad)
    assert len(found) == 1, report_lines(server)
    (num, line), = found.items()
    assert '\tabuse\t' in line and '\tby: %s@localhost' % u in line, line
    assert 'messages: 2 referenced' in line and 'text: Never came trouble' in line, line
    show = ctl_ok(server, 'report', 'show', num)
    assert 'reason: abuse\n' in show and 'reported: %s\n' % bad in show, show
    assert 'reported by: %s@localhost\n' % u in show, show
    assert 'text:\n%s\n' % words in show, show
    assert '  %s (by %s)\n  %s (by %s)\n' % (sid1, bad, sid2, bad) in show, show
    assert 'copies of the reported messages' not in show, show
    # Logs stay private: neither the reported JID nor the text.
    log = server.log_text(10 ** 7)
    assert 'report %d stored' % num in log
    assert bad not in log and words not in log


def test_v0_forms_of_older_clients(server):
    """Older Conversations: <report xmlns='urn:xmpp:reporting:0'><spam/>;
    slixmpp < 1.8 and Tigase: <abuse/> with <text/>."""
    u = new_user(server, 'old')
    a, b = fresh_jid('conv'), fresh_jid('slix')
    me = login(server, u, 'r')
    with me:
        el = block_items(me, item(a, "<report xmlns='%s'><spam/></report>" % NS_R0) +
                         item(b, "<report xmlns='%s'><text xml:lang='en'>rude</text>"
                                 "<abuse/></report>" % NS_R0))
        assert el.get('type') == 'result', ET.tostring(el)
        assert blocklist(me) == sorted([a, b])
    got = rows(server, 'SELECT jid, reason, text FROM reports WHERE jid IN (?, ?) ORDER BY id',
               a, b)
    assert got == [(a, 'spam', None), (b, 'abuse', 'rude')], got


def test_slixmpp_report_beside_the_items(server, xmpp):
    """Debian's slixmpp 1.8.3 registers its XEP-0377 stanza on <block/>,
    so the :0 report lands beside the items; it is taken for each of
    them, and the block is applied."""
    a, b = fresh_jid('slixa'), fresh_jid('slixb')

    async def body():
        c = await xmpp.client(server, 'carol', plugins=['xep_0191', 'xep_0377'])
        iq = c.make_iq_set()
        iq['block']['items'] = [a, b]
        iq['block']['report']['abuse'] = True
        iq['block']['report']['text'] = 'from slixmpp'
        block = iq.xml.find('{%s}block' % NS_BLOCK)
        assert block.find('{%s}report' % NS_R0) is not None, str(iq)  # beside the items
        res = await iq.send(timeout=5)
        assert res['type'] == 'result', str(res)
        got = await c['xep_0191'].get_blocked(timeout=5)
        assert {a, b} <= {str(j) for j in got['blocklist']['items']}, str(got)
    xmpp.run(body)
    got = rows(server, 'SELECT jid, reason, text FROM reports WHERE jid IN (?, ?) ORDER BY jid',
               a, b)
    assert got == sorted([(a, 'abuse', 'from slixmpp'), (b, 'abuse', 'from slixmpp')]), got


def test_report_without_item_is_a_bad_request(server):
    """A block of only a report blocks nothing: bad-request, as a block
    without items (XEP-0191), and no report."""
    u = new_user(server)
    me = login(server, u, 'r')
    with me:
        el = block_items(me, report_v1())
        assert el.get('type') == 'error', ET.tostring(el)
        assert errors([el]) == [('blk', 'bad-request')], ET.tostring(el)
    assert reporter_rows(server, u) == []


def test_block_without_report_stores_none_and_still_blocks(server):
    u, spam = new_user(server), new_user(server, 'spam')
    me = login(server, u, 'r', priority=0)
    them = login(server, spam, 's', priority=0)
    with me, them:
        before = len(report_lines(server))
        el = block_items(me, item('%s@localhost' % spam) + item(fresh_jid()))
        assert el.get('type') == 'result', ET.tostring(el)
        assert len(report_lines(server)) == before
        send_msg(them, '%s@localhost' % u, 'chat', 'hi', mid='m1')
        them.sync()
        assert errors(them.collect(0.5)) == [('m1', 'service-unavailable')]
        assert me.collect(0.3) == []


def test_reported_and_blocked_local_user_is_blocked(server):
    """The same XEP-0191 behaviour with a report: the reported local user's
    messages bounce and nothing reaches the reporter."""
    u, spam = new_user(server), new_user(server, 'spam')
    me = login(server, u, 'r', priority=0)
    them = login(server, spam, 's', priority=0)
    with me, them:
        el = block_items(me, item('%s@localhost' % spam, report_v1()))
        assert el.get('type') == 'result', ET.tostring(el)
        send_msg(them, '%s@localhost' % u, 'chat', 'buy now', mid='m1')
        them.sync()
        assert errors(them.collect(0.5)) == [('m1', 'service-unavailable')]
        assert me.collect(0.3) == []
    assert len(reports_about(server, '%s@localhost' % spam)) == 1


def test_failed_block_stores_no_report(server):
    """An invalid item fails the whole block (XEP-0191): no report either."""
    u = new_user(server)
    bad = fresh_jid()
    me = login(server, u, 'r')
    with me:
        el = block_items(me, item(bad, report_v1()) + item('@@bad@@'))
        assert el.get('type') == 'error', ET.tostring(el)
        assert blocklist(me) == []
    assert reports_about(server, bad) == {}


def test_message_copies_and_odd_reports(server):
    """Message copies are kept when sent (a jabber:client <body/>, or a
    XEP-0297 forwarded message); a report without a reason is kept as
    'unspecified'; an unknown reason URN as given; at most 20 references."""
    u = new_user(server)
    a, b, c = fresh_jid('copy'), fresh_jid('noreason'), fresh_jid('other')
    fwd = ("<forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' from='%s'>"
           "<body>second spam</body></message></forwarded>" % a)
    refs = ''.join("<stanza-id xmlns='urn:xmpp:sid:0' by='%s' id='id%02d'/>" % (c, i)
                   for i in range(25))
    me = login(server, u, 'r')
    with me:
        el = block_items(me, item(a, report_v1(SPAM, "<body xmlns='jabber:client'>first spam"
                                               "</body>" + fwd)) +
                         item(b, "<report xmlns='%s'/>" % NS_R1) +
                         item(c, report_v1('urn:example:reason:phishing', refs)))
        assert el.get('type') == 'result', ET.tostring(el)
    got = dict((r[0], r[1:]) for r in rows(
        server, 'SELECT jid, reason, msg_text, msg_ids FROM reports WHERE jid IN (?, ?, ?)',
        a, b, c))
    assert got[a][:2] == ('spam', 'first spam\nsecond spam'), got[a]
    assert got[b] == ('unspecified', None, None), got[b]
    assert got[c][0] == 'urn:example:reason:phishing', got[c]
    assert got[c][2].splitlines() == ['%s\tid%02d' % (c, i) for i in range(20)], got[c]
    (num, line), = reports_about(server, a).items()
    assert 'messages: 0 referenced, copied' in line, line
    show = ctl_ok(server, 'report', 'show', num)
    assert 'copies of the reported messages:\nfirst spam\nsecond spam\n' in show, show


def test_long_text_is_cut_at_a_character(server):
    """reports.max_text_length (2000 bytes by default): longer text is cut,
    never inside a UTF-8 character."""
    u = new_user(server)
    bad = fresh_jid()
    text = 'x' + 'ä' * 1250  # 2501 bytes; byte 2000 is inside an 'ä'
    me = login(server, u, 'r')
    with me:
        el = block_items(me, item(bad, report_v1(SPAM, '<text>%s</text>' % text)))
        assert el.get('type') == 'result', ET.tostring(el)
    (stored,), = rows(server, 'SELECT text FROM reports WHERE jid = ?', bad)
    assert stored == text[:1000], len(stored.encode())
    assert len(stored.encode()) == 1999


def test_control_characters_are_not_printed(server):
    """Report text is user input: C1 controls (allowed in XML) never reach
    the operator's terminal."""
    u = new_user(server)
    bad = fresh_jid()
    me = login(server, u, 'r')
    with me:
        el = block_items(me, item(bad, report_v1(SPAM, '<text>a&#x9b;31mb&#x85;c</text>')))
        assert el.get('type') == 'result', ET.tostring(el)
    (num, line), = reports_about(server, bad).items()
    show = ctl_ok(server, 'report', 'show', num)
    assert 'text:\na?31mb?c\n' in show, repr(show)
    assert '\x9b' not in show + line and '\x85' not in show + line


def test_dismiss_and_usage(server):
    u = new_user(server)
    bad = fresh_jid()
    me = login(server, u, 'r')
    with me:
        assert block_items(me, item(bad, report_v1())).get('type') == 'result'
        assert blocklist(me) == [bad]
    (num, _), = reports_about(server, bad).items()
    assert ctl_ok(server, 'report', 'dismiss', num) == 'dismissed\n'
    assert reports_about(server, bad) == {}
    p = server.ctl('report', 'dismiss', num)
    assert p.returncode == 1 and 'no report %d' % num in p.stderr, p.stderr
    p = server.ctl('report', 'show', num)
    assert p.returncode == 1 and 'no report %d' % num in p.stderr, p.stderr
    for bad_arg in ('x', '-1', '0', '12345678901234567890'):
        p = server.ctl('report', 'show', '--', bad_arg)
        assert p.returncode == 2, (bad_arg, p.returncode, p.stderr)
    # Dismissing a report lifts no block.
    me = login(server, u, 'r2')
    with me:
        assert blocklist(me) == [bad]


def test_limits_drop_reports_not_blocks(make_server):
    """reports.max_per_day and reports.max_per_user: over either, the
    block is applied and the report is not stored (XEP-0377: the block
    succeeds or fails as it would without a report)."""
    srv = make_server({('reports', 'max_per_day'): '3', ('reports', 'max_per_user'): '4'})
    jids = [fresh_jid() for _ in range(6)]
    me = login(srv, 'alice', 'r')
    with me:
        el = block_items(me, ''.join(item(j, report_v1()) for j in jids[:4]))
        assert el.get('type') == 'result', ET.tostring(el)
        assert blocklist(me) == sorted(jids[:4])
        assert [r[2] for r in reporter_rows(srv, 'alice')] == jids[:3]
        # A day later the daily limit has room again; the total is 4.
        control(srv, 'clock-offset', DAY + 60)
        for i, j in enumerate(jids[4:]):
            assert block_items(me, item(j, report_v1()), iq_id='b%d' % i).get('type') == \
                'result'
        assert blocklist(me) == sorted(jids)
    assert [r[2] for r in reporter_rows(srv, 'alice')] == jids[:3] + jids[4:5]
    log = srv.log_text(10 ** 7)
    assert 'reached reports.max_per_day' in log and 'reached reports.max_per_user' in log
    # The operator dismisses one: there is room for the next report.
    ctl_ok(srv, 'report', 'dismiss', reporter_rows(srv, 'alice')[0][0])
    extra = fresh_jid()
    me = login(srv, 'alice', 'r')
    with me:
        assert block_items(me, item(extra, report_v1())).get('type') == 'result'
    assert extra in [r[2] for r in reporter_rows(srv, 'alice')]
    srv.check_clean_exit()


def test_reporter_deleted_takes_its_reports(server):
    """Default (reports.keep_after_reporter_deleted: false): the reports go
    with the reporter's account (promise P18)."""
    u = new_user(server)
    bad = fresh_jid()
    me = login(server, u, 'r')
    with me:
        assert block_items(me, item(bad, report_v1(SPAM, '<text>mine</text>'))).get(
            'type') == 'result'
    assert len(reports_about(server, bad)) == 1
    ctl_ok(server, 'user', 'delete', '%s@localhost' % u)
    assert reports_about(server, bad) == {}
    assert rows(server, 'SELECT count(*) FROM reports WHERE jid = ?', bad) == [(0,)]


def test_reporter_deleted_kept_when_the_operator_says_so(make_server):
    srv = make_server({('reports', 'keep_after_reporter_deleted'): 'true'})
    bad = fresh_jid()
    me = login(srv, 'bob', 'r')
    with me:
        assert block_items(me, item(bad, report_v1(ABUSE, '<text>kept</text>'))).get(
            'type') == 'result'
    (bob_id,), = rows(srv, "SELECT id FROM accounts WHERE username = 'bob'")
    ctl_ok(srv, 'user', 'delete', 'bob@localhost')
    (num, line), = reports_about(srv, bad).items()
    assert '\tby: a deleted account' in line and 'bob' not in line, line
    show = ctl_ok(srv, 'report', 'show', num)
    assert 'reported by: a deleted account\n' in show and 'text:\nkept\n' in show, show
    assert rows(srv, 'SELECT account_id FROM reports WHERE jid = ?', bad) == [(None,)]
    assert rows(srv, 'SELECT count(*) FROM reports WHERE account_id = ?', bob_id) == [(0,)]
    srv.check_clean_exit()


def test_reported_local_account_deleted_takes_reports_about_it(server):
    """Reports about a local account go when it is deleted: its name may be
    given to someone else later, who must not inherit them. Reports about
    others stay."""
    u, spam = new_user(server), new_user(server, 'spam')
    other = fresh_jid()
    me = login(server, u, 'r')
    with me:
        el = block_items(me, item('%s@localhost' % spam, report_v1()) +
                         item('%s@localhost/phone' % spam, report_v1(ABUSE)) +
                         item(other, report_v1()))
        assert el.get('type') == 'result', ET.tostring(el)
    assert rows(server, 'SELECT count(*) FROM reports WHERE jid_bare = ?',
                '%s@localhost' % spam) == [(2,)]
    ctl_ok(server, 'user', 'delete', '%s@localhost' % spam)
    assert rows(server, 'SELECT count(*) FROM reports WHERE jid_bare = ?',
                '%s@localhost' % spam) == [(0,)]
    assert len(reports_about(server, other)) == 1
    # The reporter's block of the deleted name stays (XEP-0191: the user's list).
    me = login(server, u, 'r2')
    with me:
        assert '%s@localhost' % spam in blocklist(me)


def test_max_age_sweep(make_server):
    """reports.max_age: the daily retention run deletes older reports; run
    here through the control socket with the server's clock moved on."""
    srv = make_server({('reports', 'max_age'): '10d'})
    old, new = fresh_jid('old'), fresh_jid('new')
    me = login(srv, 'alice', 'r')
    with me:
        assert block_items(me, item(old, report_v1())).get('type') == 'result'
        control(srv, 'clock-offset', 6 * DAY)
        assert block_items(me, item(new, report_v1()), iq_id='b2').get('type') == 'result'
    control(srv, 'clock-offset', 9 * DAY)
    assert control(srv, 'retention-run').startswith('ok')
    assert set(r[2] for r in reporter_rows(srv, 'alice')) == {old, new}
    control(srv, 'clock-offset', 11 * DAY)
    assert control(srv, 'retention-run').startswith('ok')
    assert [r[2] for r in reporter_rows(srv, 'alice')] == [new]
    # taubectl's own run (the store alone) sweeps too.
    ctl_ok(srv, 'retention', 'run', '--now', int(time.time()) + 17 * DAY)
    assert reporter_rows(srv, 'alice') == []
    assert re.search(r'reports: 1 report\(s\) older than reports.max_age deleted',
                     srv.log_text(10 ** 7))
    srv.check_clean_exit()
