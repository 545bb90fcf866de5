"""The `timeout` config closes idle clients, but never subscribers or blocked clients (Redis's
clientsCronHandleTimeout); checked on real Redis and on the candidate."""

import time

import pytest

from support.resp import RespConnection


@pytest.mark.parametrize("which", ["reference", "candidate"])
def test_idle_timeout_spares_subscribers_and_blocked_clients(which, reference_server, candidate_server):
    server = reference_server if which == "reference" else candidate_server
    admin = RespConnection(server.host, server.port, timeout=10)
    idle, subscriber, blocked = (RespConnection(server.host, server.port, timeout=10) for _ in range(3))
    try:
        assert admin.execute("CONFIG", "SET", "timeout", "1").raw == b"+OK\r\n"
        assert idle.execute("PING").raw == b"+PONG\r\n"
        subscriber.execute("SUBSCRIBE", "ch")
        blocked.send_command("BLPOP", "never", "0")
        deadline = time.monotonic() + 8
        closed = False
        while time.monotonic() < deadline and not closed:
            admin.execute("PING")  # keeps the admin connection busy
            data, closed = idle.read_until_close(timeout=0.3)
        assert closed, "an idle client was not closed after `timeout`"
        # Long enough for the subscriber and the blocked client to be closed if they were not exempt.
        for _ in range(8):
            time.sleep(0.25)
            admin.execute("PING")
        assert admin.execute("PUBLISH", "ch", "m").raw == b":1\r\n"
        assert subscriber.read_reply().raw.startswith(b"*3\r\n$7\r\nmessage")
        assert admin.execute("RPUSH", "never", "x").raw == b":1\r\n"
        assert blocked.read_reply().raw == b"*2\r\n$5\r\nnever\r\n$1\r\nx\r\n"
    finally:
        admin.execute("CONFIG", "SET", "timeout", "0")
        for c in (admin, idle, subscriber, blocked):
            c.close()
