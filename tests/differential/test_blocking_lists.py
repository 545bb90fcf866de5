"""Blocking list commands with several real clients over sockets, against real Redis and the candidate.

Each scenario runs on both servers and returns a transcript (the exact reply bytes every client saw, in an
order the scenario makes deterministic); the transcripts must be equal. Timing is asserted inside a scenario
(timeouts honoured, replies not sent early), with margins wide enough for a loaded machine.
"""

import time

import pytest

from support.resp import RespConnection

# How long to wait so that a command sent on one connection has surely been processed by the server before a
# command on another connection (the servers process connections in arrival order; this only orders sockets).
SETTLE = 0.08


def _flush(server):
    with RespConnection(server.host, server.port, timeout=10) as c:
        assert c.execute("FLUSHALL").raw == b"+OK\r\n"


def _conn(server):
    return RespConnection(server.host, server.port, timeout=10)


def _block(c, *args):
    """Sends a blocking command and checks that no reply comes back yet."""
    c.send_command(*args)
    time.sleep(SETTLE)
    assert c.read_available(0.0) == b"", "%s replied before it was served" % (args,)


def _both(reference_server, candidate_server, scenario):
    out = []
    for server in (reference_server, candidate_server):
        _flush(server)
        out.append(scenario(server))
    ref, cand = out
    assert cand == ref, "transcripts differ\n  reference: %r\n  candidate: %r" % (ref, cand)
    return ref


# ---------------------------------------------------------------------------------------------------------


def fairness(server):
    """Waiters on one key are served first come, first served; one push of three elements serves three."""
    waiters = [_conn(server) for _ in range(3)]
    p = _conn(server)
    for w in waiters:
        _block(w, "BLPOP", "k", "0")
    out = [p.execute("RPUSH", "k", "a", "b", "c").raw]
    out += [w.read_reply().raw for w in waiters]
    out.append(p.execute("LLEN", "k").raw)
    return out


def many_waiters_in_order(server):
    waiters = [_conn(server) for _ in range(40)]
    p = _conn(server)
    for w in waiters:
        w.send_command("BRPOP", "q", "0")
        time.sleep(0.01)
    time.sleep(SETTLE)
    out = []
    for i in range(40):
        out.append(p.execute("LPUSH", "q", "e%d" % i).raw)
    out += [w.read_reply().raw for w in waiters]
    return out


def lpush_serves_after_whole_push(server):
    """The push completes before the waiter is served: LPUSH a b c gives the waiter c."""
    w, p = _conn(server), _conn(server)
    _block(w, "BLPOP", "k", "0")
    out = [p.execute("LPUSH", "k", "a", "b", "c").raw, w.read_reply().raw, p.execute("LRANGE", "k", "0", "-1").raw]
    return out


def served_before_pusher_continues(server):
    """The element is gone before the pusher's next pipelined command runs."""
    w, p = _conn(server), _conn(server)
    _block(w, "BLPOP", "k", "0")
    p.send_raw(b"*3\r\n$5\r\nRPUSH\r\n$1\r\nk\r\n$1\r\nx\r\n*2\r\n$4\r\nLLEN\r\n$1\r\nk\r\n")
    return [p.read_reply().raw, p.read_reply().raw, w.read_reply().raw]


def multiple_keys(server):
    a, b, p = _conn(server), _conn(server), _conn(server)
    _block(a, "BLPOP", "k1", "k2", "0")
    _block(b, "BLPOP", "k2", "0")
    out = [p.execute("RPUSH", "k2", "x").raw, a.read_reply().raw]
    assert b.read_available(0.1) == b""
    out += [p.execute("RPUSH", "k1", "y").raw, p.execute("RPUSH", "k2", "z").raw, b.read_reply().raw]
    out.append(p.execute("LRANGE", "k1", "0", "-1").raw)
    return out


def duplicate_keys(server):
    a, p = _conn(server), _conn(server)
    _block(a, "BLPOP", "k", "k", "k", "0")
    return [p.execute("RPUSH", "k", "1", "2").raw, a.read_reply().raw, p.execute("LRANGE", "k", "0", "-1").raw]


def timeout_replies(server):
    out = []
    for resp3 in (False, True):
        c = _conn(server)
        if resp3:
            c.execute("HELLO", "3")
        for cmd in (("BLPOP", "nx", "0.15"), ("BRPOP", "nx", "nx2", "0.15"),
                    ("BLMOVE", "nx", "d", "LEFT", "RIGHT", "0.15"), ("BRPOPLPUSH", "nx", "d", "0.15"),
                    ("BLMPOP", "0.15", "1", "nx", "LEFT")):
            started = time.monotonic()
            c.send_command(*cmd)
            assert c.read_available(0.08) == b"", "%s replied before its timeout" % (cmd,)
            out.append(c.read_reply(timeout=5).raw)
            elapsed = time.monotonic() - started
            assert 0.14 <= elapsed < 1.0, "%s took %.3f s" % (cmd, elapsed)
        c.close()
    return out


def pipelined_commands_wait(server):
    """Requests after a blocking command wait until it is served, then run in order."""
    w, p = _conn(server), _conn(server)
    w.send_raw(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nk\r\n$1\r\n0\r\n*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nLLEN\r\n$1\r\nk\r\n")
    time.sleep(SETTLE)
    assert w.read_available(0.1) == b""
    out = [p.execute("RPUSH", "k", "a", "b").raw]
    out += [w.read_reply().raw, w.read_reply().raw, w.read_reply().raw]
    return out


def pipelined_after_timeout(server):
    w = _conn(server)
    w.send_raw(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nk\r\n$3\r\n0.1\r\n*1\r\n$4\r\nPING\r\n")
    return [w.read_reply().raw, w.read_reply().raw]


def disconnect_removes_waiter(server):
    gone, w, p = _conn(server), _conn(server), _conn(server)
    _block(gone, "BLPOP", "k", "0")
    gone.close()
    time.sleep(SETTLE)
    _block(w, "BLPOP", "k", "0")
    return [p.execute("RPUSH", "k", "a").raw, w.read_reply().raw, p.execute("EXISTS", "k").raw]


def blmove_chain(server):
    """Producer → BLMOVE q1→q2 → BLMOVE q2→q3 → BLPOP q3: one push travels the whole chain at once."""
    m1, m2, last, p = _conn(server), _conn(server), _conn(server), _conn(server)
    _block(m1, "BLMOVE", "q1", "q2", "LEFT", "RIGHT", "0")
    _block(m2, "BRPOPLPUSH", "q2", "q3", "0")
    _block(last, "BLPOP", "q3", "0")
    out = [p.execute("RPUSH", "q1", "x").raw, m1.read_reply().raw, m2.read_reply().raw, last.read_reply().raw]
    out.append(p.execute("EXISTS", "q1", "q2", "q3").raw)
    return out


def producer_consumer(server):
    """Two consumers alternate on a work queue fed through a BLMOVE processing list."""
    consumers = [_conn(server) for _ in range(2)]
    p = _conn(server)
    out = []
    for round_ in range(5):
        for c in consumers:
            _block(c, "BLMOVE", "jobs", "processing", "RIGHT", "LEFT", "0")
        out.append(p.execute("LPUSH", "jobs", "j%da" % round_, "j%db" % round_).raw)
        out += [c.read_reply().raw for c in consumers]
    out.append(p.execute("LRANGE", "processing", "0", "-1").raw)
    return out


def blmove_same_key(server):
    w, p = _conn(server), _conn(server)
    _block(w, "BLMOVE", "k", "k", "LEFT", "RIGHT", "0")
    return [p.execute("RPUSH", "k", "a").raw, w.read_reply().raw, p.execute("LRANGE", "k", "0", "-1").raw]


def blmove_wrong_type_destination(server):
    """Served with WRONGTYPE: the waiter is unblocked and the element stays in the source."""
    w, p = _conn(server), _conn(server)
    _block(w, "BLMOVE", "src", "dst", "LEFT", "LEFT", "0")
    out = [p.execute("SET", "dst", "v").raw, p.execute("RPUSH", "src", "a").raw, w.read_reply().raw]
    out += [p.execute("LRANGE", "src", "0", "-1").raw, w.execute("PING").raw]
    return out


def blmpop_count(server):
    w, w2, p = _conn(server), _conn(server), _conn(server)
    _block(w, "BLMPOP", "0", "2", "a", "b", "RIGHT", "COUNT", "2")
    _block(w2, "BLMPOP", "0", "1", "b", "LEFT", "COUNT", "5")
    out = [p.execute("RPUSH", "b", "1", "2", "3").raw, w.read_reply().raw, w2.read_reply().raw]
    out.append(p.execute("EXISTS", "b").raw)
    return out


def wrong_type_then_list(server):
    """A key that becomes a string does not serve list waiters; the list that replaces it does."""
    w, p = _conn(server), _conn(server)
    _block(w, "BLPOP", "k", "0")
    out = [p.execute("SET", "k", "v").raw]
    assert w.read_available(0.1) == b""
    out += [p.execute("DEL", "k").raw, p.execute("RPUSH", "k", "x").raw, w.read_reply().raw]
    return out


def rename_serves(server):
    w, p = _conn(server), _conn(server)
    _block(w, "BRPOP", "dst", "0")
    out = [p.execute("RPUSH", "src", "a", "b").raw, p.execute("RENAME", "src", "dst").raw, w.read_reply().raw]
    out.append(p.execute("LRANGE", "dst", "0", "-1").raw)
    return out


def databases(server):
    w, p = _conn(server), _conn(server)
    w.execute("SELECT", "1")
    _block(w, "BLPOP", "k", "0")
    out = [p.execute("RPUSH", "k", "db0").raw]
    assert w.read_available(0.1) == b""
    out += [p.execute("MOVE", "k", "1").raw, w.read_reply().raw]
    _block(w, "BLPOP", "k", "0")
    out += [p.execute("SELECT", "1").raw, p.execute("RPUSH", "k", "db1").raw, w.read_reply().raw]
    return out


def swapdb_serves(server):
    w, p = _conn(server), _conn(server)
    w.execute("SELECT", "1")
    _block(w, "BLPOP", "k", "0")
    out = [p.execute("RPUSH", "k", "from0").raw, p.execute("SWAPDB", "0", "1").raw, w.read_reply().raw]
    return out


def client_unblock(server):
    w, p = _conn(server), _conn(server)
    wid = w.execute("CLIENT", "ID").to_python()
    out = [p.execute("CLIENT", "UNBLOCK", str(wid)).raw]
    _block(w, "BLPOP", "k", "0")
    out += [p.execute("CLIENT", "UNBLOCK", str(wid)).raw, w.read_reply().raw]
    _block(w, "BLMOVE", "k", "d", "LEFT", "LEFT", "0")
    out += [p.execute("CLIENT", "UNBLOCK", str(wid), "TIMEOUT").raw, w.read_reply().raw]
    _block(w, "BLMPOP", "0", "1", "k", "LEFT")
    out += [p.execute("CLIENT", "UNBLOCK", str(wid), "ERROR").raw, w.read_reply().raw]
    out += [p.execute("CLIENT", "UNBLOCK", str(wid), "ERROR").raw, w.execute("PING").raw]
    # The unblocked client is no longer a waiter: a push is not taken by it.
    out += [p.execute("RPUSH", "k", "v").raw, p.execute("LLEN", "k").raw]
    return out


def resp3_served(server):
    w, p = _conn(server), _conn(server)
    w.execute("HELLO", "3")
    _block(w, "BLMPOP", "0", "1", "k", "LEFT", "COUNT", "2")
    out = [p.execute("RPUSH", "k", "a").raw, w.read_reply().raw]
    _block(w, "BLPOP", "k", "0")
    out += [p.execute("RPUSH", "k", "b").raw, w.read_reply().raw]
    return out


def timeout_then_served_by_other(server):
    """A waiter that timed out is gone; the next waiter gets the element."""
    a, b, p = _conn(server), _conn(server), _conn(server)
    a.send_command("BLPOP", "k", "0.1")
    time.sleep(0.03)
    _block(b, "BLPOP", "k", "0")
    out = [a.read_reply(timeout=5).raw, p.execute("RPUSH", "k", "x").raw, b.read_reply().raw]
    return out


def exec_serves_after_transaction(server):
    """Keys filled inside MULTI/EXEC are served after EXEC, in the order they were signalled."""
    w, p = _conn(server), _conn(server)
    _block(w, "BLPOP", "k1", "k2", "0")
    out = [p.execute("MULTI").raw, p.execute("RPUSH", "k2", "x").raw, p.execute("RPUSH", "k1", "y").raw]
    out += [p.execute("EXEC").raw, w.read_reply().raw, p.execute("LRANGE", "k1", "0", "-1").raw]
    return out


def blocking_inside_multi(server):
    """Inside a transaction blocking commands do not block: they answer as if timed out."""
    c = _conn(server)
    out = [c.execute("MULTI").raw]
    for cmd in (("BLPOP", "k", "0"), ("BLMOVE", "k", "d", "LEFT", "LEFT", "0"), ("BRPOPLPUSH", "k", "d", "0"),
                ("BLMPOP", "0", "1", "k", "LEFT"), ("RPUSH", "k", "a"), ("BLPOP", "k", "0")):
        out.append(c.execute(*cmd).raw)
    out.append(c.execute("EXEC", timeout=5).raw)
    return out


SCENARIOS = [
    exec_serves_after_transaction, blocking_inside_multi,
    fairness, many_waiters_in_order, lpush_serves_after_whole_push, served_before_pusher_continues,
    multiple_keys, duplicate_keys, timeout_replies, pipelined_commands_wait, pipelined_after_timeout,
    disconnect_removes_waiter, blmove_chain, producer_consumer, blmove_same_key, blmove_wrong_type_destination,
    blmpop_count, wrong_type_then_list, rename_serves, databases, swapdb_serves, client_unblock, resp3_served,
    timeout_then_served_by_other,
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
def test_blocking_lists(scenario, reference_server, candidate_server):
    _both(reference_server, candidate_server, scenario)
