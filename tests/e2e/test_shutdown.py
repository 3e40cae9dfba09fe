"""SIGTERM and SIGINT: clients get <system-shutdown/>, taube exits 0."""

import signal
import time

import pytest

from xmppraw import RawXMPP


@pytest.mark.parametrize('sig', [signal.SIGTERM, signal.SIGINT])
def test_signal_shuts_down_cleanly(make_server, sig):
    srv = make_server()
    session = RawXMPP(srv.c2s_port)
    session.login('alice', srv.passwords['alice'], resource='s')
    fresh = RawXMPP(srv.c2s_port)          # not yet past STARTTLS
    fresh.open_stream()
    fresh.features()
    direct = RawXMPP(srv.c2s_tls_port, direct_tls=True)
    direct.open_stream()
    direct.features()
    with session, fresh, direct:
        start = time.monotonic()
        srv.proc.send_signal(sig)
        for raw in (session, fresh, direct):
            assert raw.expect_stream_error() == 'system-shutdown'
            raw.assert_closed_after_error()
        rc = srv.stop(timeout=10)
        assert rc == 0, 'exit status %s:\n%s' % (rc, srv.log_text())
        assert time.monotonic() - start < 10


def test_restart_keeps_accounts(make_server):
    """Accounts live in the store, not in memory."""
    srv = make_server()
    assert srv.stop() == 0
    srv.start()
    with RawXMPP(srv.c2s_port) as raw:
        assert raw.login('bob', srv.passwords['bob'], resource='again') == srv.jid('bob', 'again')
    srv.check_clean_exit()
