"""CLIENT PAUSE / UNPAUSE on real Redis and on the candidate: the same replies, and the same waiting.

Timings have wide margins (the machine is shared): a postponed command must not be answered before the pause
ends, and must be answered soon after it.
"""

import time

import pytest

from support.resp import RespConnection


def _conns(server, n):
    return [RespConnection(server.host, server.port, timeout=10) for _ in range(n)]


def _timed(conn, *args):
    started = time.monotonic()
    reply = conn.execute(*args).raw
    return reply, time.monotonic() - started


@pytest.mark.parametrize("which", ["reference", "candidate"])
def test_pause_write_holds_writes_not_reads(which, reference_server, candidate_server):
    server = reference_server if which == "reference" else candidate_server
    a, b = _conns(server, 2)
    try:
        assert a.execute("SET", "k", "before").raw == b"+OK\r\n"
        assert a.execute("CLIENT", "PAUSE", "600", "WRITE").raw == b"+OK\r\n"
        reply, elapsed = _timed(b, "GET", "k")
        assert reply == b"$6\r\nbefore\r\n" and elapsed < 0.4
        b.send_command("SET", "k", "after")
        b.send_command("GET", "k")
        time.sleep(0.2)
        assert b.read_available(0.0) == b"", "a write was answered during CLIENT PAUSE WRITE"
        assert b.read_reply(timeout=5).raw == b"+OK\r\n"
        assert b.read_reply(timeout=5).raw == b"$5\r\nafter\r\n"
        # PUBLISH may replicate: it waits too; UNPAUSE ends the wait at once.
        assert a.execute("CLIENT", "PAUSE", "10000", "WRITE").raw == b"+OK\r\n"
        b.send_command("PUBLISH", "ch", "m")
        time.sleep(0.2)
        assert b.read_available(0.0) == b""
        reply, elapsed = _timed(a, "CLIENT", "UNPAUSE")
        assert reply == b"+OK\r\n"
        assert b.read_reply(timeout=2).raw == b":0\r\n"
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("which", ["reference", "candidate"])
def test_pause_all_holds_everything_in_order(which, reference_server, candidate_server):
    server = reference_server if which == "reference" else candidate_server
    a, b, c = _conns(server, 3)
    try:
        a.execute("DEL", "list")
        started = time.monotonic()
        assert a.execute("CLIENT", "PAUSE", "700", "ALL").raw == b"+OK\r\n"
        b.send_command("RPUSH", "list", "b")
        time.sleep(0.05)
        c.send_command("RPUSH", "list", "c")
        c.send_command("PING")
        time.sleep(0.2)
        assert b.read_available(0.0) == b"" and c.read_available(0.0) == b""
        # Even UNPAUSE waits for an ALL pause to end.
        reply, _ = _timed(a, "CLIENT", "UNPAUSE")
        assert reply == b"+OK\r\n"
        assert time.monotonic() - started > 0.55
        assert b.read_reply(timeout=5).raw == b":1\r\n"
        assert c.read_reply(timeout=5).raw == b":2\r\n"
        assert c.read_reply(timeout=5).raw == b"+PONG\r\n"
        assert a.execute("LRANGE", "list", "0", "-1").raw == b"*2\r\n$1\r\nb\r\n$1\r\nc\r\n"
    finally:
        for conn in (a, b, c):
            conn.close()


def test_pause_errors_match(reference_server, candidate_server):
    commands = [
        ["CLIENT", "PAUSE", "abc"], ["CLIENT", "PAUSE", "-1"], ["CLIENT", "PAUSE", "10", "foo"],
        ["CLIENT", "PAUSE", "10", "write", "x"], ["CLIENT", "UNPAUSE", "x"], ["CLIENT", "PAUSE", "1.5"],
        ["CLIENT", "PAUSE", "0"], ["CLIENT", "PAUSE"], ["CLIENT", "UNPAUSE"],
    ]
    replies = []
    for server in (reference_server, candidate_server):
        with RespConnection(server.host, server.port, timeout=10) as conn:
            replies.append([conn.execute(*cmd).raw for cmd in commands])
    assert replies[1] == replies[0]
