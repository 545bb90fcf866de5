"""SLOWLOG against real Redis: the same commands from three connections, then the log compared entry by entry.

Entries carry values that differ between two servers by nature: ids (a counter since start-up), unix time, the
duration and the client's port. The test checks those for their kind (time within the test's span, durations not
negative, ids consecutive from newest to oldest, the peer one of the test's connections) and compares everything
else: which commands are logged and in what order, their arguments (trimmed and redacted as Redis does), the client
name, and the replies of SLOWLOG itself, errors included.
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from support.resp import RespConnection  # noqa: E402


def _address(conn):
    info = conn.call("CLIENT", "INFO").decode()
    return info.split("addr=")[1].split(" ")[0]


def _entries(reply, peers, started):
    """SLOWLOG GET's entries with id, time, duration and peer replaced by what the test knows of them."""
    out = []
    ids = [entry[0] for entry in reply]
    assert ids == list(range(ids[0], ids[0] - len(ids), -1)) if ids else True, ids
    for entry_id, when, duration, arguments, peer, name in reply:
        assert started - 2 <= when <= time.time() + 2, when
        assert duration >= 0
        out.append((entry_id - ids[-1], arguments, peers.get(peer.decode(), peer), name))
    return out


def _scenario(server):
    started = time.time()
    results = []
    with RespConnection(port=server.port) as admin, RespConnection(port=server.port) as c1, \
            RespConnection(port=server.port) as c2:
        peers = {_address(admin): "admin", _address(c1): "c1", _address(c2): "c2"}
        try:
            admin.call("CONFIG", "SET", "slowlog-max-len", "128")
            admin.call("CONFIG", "SET", "slowlog-log-slower-than", "0")
            results.append(admin.call("SLOWLOG", "RESET"))
            for command in [
                ["CLIENT", "SETNAME", "alice"],
                ["SET", "slowlog:k", "v"],
                ["AUTH", "secret"],
                ["AUTH", "someone", "secret"],
                ["HELLO", "2", "AUTH", "default", "secret"],
                ["CONFIG", "SET", "requirepass", "", "maxmemory", "0"],
                ["CONFIG", "SET", "masterauth"],
                # Redacted whenever the pairs are complete, even when the command fails; not when they are not.
                ["CONFIG", "SET", "nosuch", "1", "requirepass", "y"],
                ["CONFIG", "SET", "requirepass", "x", "maxmemory"],
                ["MULTI"], ["SET", "slowlog:a", "1"], ["INCR", "slowlog:a"], ["EXEC"],
                ["SET", "slowlog:" + "x" * 140, "v"],
                ["RPUSH", "slowlog:l"] + [str(i) for i in range(40)],
                ["RPUSH", "slowlog:m"] + [str(i) for i in range(29)],
                ["NOSUCHCOMMAND", "a"],
                ["GET"],
                ["LPUSH", "slowlog:k", "x"],
                ["DEL", "slowlog:k", "slowlog:a", "slowlog:l", "slowlog:m", "slowlog:" + "x" * 140],
            ]:
                reply = c1.call(*command)
                # HELLO's reply names the connection's id, which differs between the servers.
                results.append(len(reply) if command[0] == "HELLO" else reply)
            # A blocked command is logged when its wait ends: after the push that serves it.
            c2.send_command("BLPOP", "slowlog:q", "5")
            time.sleep(0.2)
            results.append(c1.call("RPUSH", "slowlog:q", "x"))
            results.append(c2.read_reply().to_python())
            results.append(c2.call("BLPOP", "slowlog:q", "0.05"))
            results.append(admin.call("SLOWLOG", "LEN"))
            results.append(_entries(admin.call("SLOWLOG", "GET", "-1"), peers, started))
            results.append(_entries(admin.call("SLOWLOG", "GET", "2"), peers, started))
            results.append(_entries(admin.call("SLOWLOG", "GET"), peers, started))
            for command in [
                ["SLOWLOG", "GET", "0"], ["SLOWLOG", "GET", "-2"], ["SLOWLOG", "GET", "abc"],
                ["SLOWLOG", "GET", "1", "2"], ["SLOWLOG", "gEt", "1", "2"], ["SLOWLOG", "HELP"],
                ["SLOWLOG", "LEN", "x"], ["SLOWLOG", "FOO"], ["SLOWLOG"],
                ["CONFIG", "SET", "slowlog-max-len", "-1"], ["CONFIG", "SET", "slowlog-log-slower-than", "-2"],
            ]:
                results.append(admin.call(*command))
            # A lower limit applies at the next command; a negative threshold stops logging and trimming.
            results.append(admin.call("CONFIG", "SET", "slowlog-max-len", "3"))
            results.append(admin.call("SLOWLOG", "LEN"))
            results.append(_entries(admin.call("SLOWLOG", "GET", "-1"), peers, started))
            results.append(admin.call("CONFIG", "SET", "slowlog-log-slower-than", "-1"))
            results.append(admin.call("CONFIG", "SET", "slowlog-max-len", "1"))
            results.append(admin.call("PING"))
            results.append(admin.call("SLOWLOG", "LEN"))
            # Only commands that take the threshold or longer.
            results.append(admin.call("CONFIG", "SET", "slowlog-log-slower-than", "100000000"))
            results.append(admin.call("SLOWLOG", "RESET"))
            results.append(admin.call("PING"))
            results.append(admin.call("SLOWLOG", "LEN"))
        finally:
            admin.call("CONFIG", "SET", "slowlog-log-slower-than", "10000")
            admin.call("CONFIG", "SET", "slowlog-max-len", "128")
            admin.call("SLOWLOG", "RESET")
    return results


def test_slowlog_matches_redis(reference_server, candidate_server):
    expected = _scenario(reference_server)
    actual = _scenario(candidate_server)
    for i, (want, got) in enumerate(zip(expected, actual)):
        assert got == want, "step %d" % i
    assert len(actual) == len(expected)
