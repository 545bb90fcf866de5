"""Pub/Sub with several real clients, against real Redis and the candidate, frames compared byte for byte.

A scenario is a list of steps; a step sends one or more commands on one connection. After every step each
connection is synchronised with a marker (`PING __sync__`, whose reply is recognisable in every mode) and the
frames it received before the marker are recorded. The transcripts of both servers must be equal; steps marked
`unordered` compare their frames as multisets of elements (PUBSUB CHANNELS, whose order is a hash table's).
"""

import re
import time

import pytest

from support.resp import ConnectionClosed, Node, RespConnection

MARKERS = {
    b"$8\r\n__sync__\r\n",  # plain PING reply, RESP2 and RESP3
    b"*2\r\n$4\r\npong\r\n$8\r\n__sync__\r\n",  # RESP2 subscribed mode
}


def _sync(conn):
    """Frames that arrived on `conn` before the marker."""
    if conn.closed:
        return ["<closed>"]
    conn.send_command("PING", "__sync__")
    frames = []
    try:
        while True:
            node = conn.read_reply(timeout=10)
            if node.raw in MARKERS:
                return frames
            frames.append(node)
    except ConnectionClosed:
        return frames + ["<closed>"]


def _normalise(frame, unordered):
    if isinstance(frame, str):
        return frame
    if unordered and isinstance(frame, Node) and frame.is_aggregate:
        return (frame.type, sorted(child.raw for child in frame.value))
    raw = re.sub(rb"\$2\r\nid\r\n:\d+", b"$2\r\nid\r\n:N", frame.raw)  # HELLO's client id
    if b"txt:id=" in raw or b"id=" in raw[:16]:
        # CLIENT LIST / INFO: compare the fields pub/sub changes.
        fields = re.findall(rb"\b(flags|sub|psub|ssub|multi|cmd)=(\S*)", raw)
        return ("client", fields)
    return raw


def _sort_pattern_runs(frames):
    """Redis delivers one message to a client's matching patterns in its pattern dict's order, which depends on a
    random hash seed: pmessages of the same message compare as a set."""
    out, run, key = [], [], None
    for f in frames:
        is_pm = isinstance(f, bytes) and f.startswith(b"*4\r\n$8\r\npmessage") or (
            isinstance(f, bytes) and f.startswith(b">4\r\n$8\r\npmessage"))
        k = None
        if is_pm:
            parts = f.split(b"\r\n")
            k = tuple(parts[5:])  # channel and message
        if is_pm and k == key:
            run.append(f)
            continue
        out += sorted(run)
        run, key = ([f], k) if is_pm else ([], None)
        if not is_pm:
            out.append(f)
    return out + sorted(run)


def run_scenario(server, connections, steps):
    with RespConnection(server.host, server.port, timeout=10) as c:
        assert c.execute("FLUSHALL").raw == b"+OK\r\n"
    conns = [RespConnection(server.host, server.port, timeout=10) for _ in range(connections)]
    # `{id0}`, `{id1}`... in a command stand for the connections' client ids; ids in replies are put back.
    ids = [c.execute("CLIENT", "ID").to_python() for c in conns]
    names = {"id%d" % i: str(v) for i, v in enumerate(ids)}

    def unid(frame, plain):
        if not isinstance(frame, bytes):
            return frame
        for i, v in enumerate(ids):
            if plain and frame == b":%d\r\n" % v:
                return b":{id%d}\r\n" % i
            for label in (b"redirect\r\n", b"tracking-redir-broken\r\n"):
                frame = frame.replace(label + b":%d\r\n" % v, label + b":{id%d}\r\n" % i)
        return frame

    transcript = []
    try:
        for number, step in enumerate(steps):
            if step[0] == "sleep":
                # ("sleep", seconds): let time pass (background expiry) before the next step.
                time.sleep(step[1])
                continue
            index, commands = step[0], step[1]
            unordered = len(step) > 2 and step[2] == "unordered"
            for command in commands:
                parts = command.split(" ") if isinstance(command, str) else command
                conns[index].send_command(*[p.format(**names) if "{id" in p else p for p in parts])
            # Let the step's commands arrive (and be answered) on their own before the sync marker follows: both
            # servers batch work per read (Redis broadcasts tracking invalidations once per event-loop iteration),
            # so a marker in the same read would reorder frames differently depending on timing.
            time.sleep(0.02)
            # The stepping connection first, so that its command is surely done before the others are asked.
            order = [index] + [i for i in range(connections) if i != index]
            for i in order:
                # A plain integer is read as a client id only in steps that ask for one (CLIENT GETREDIR).
                plain = any("GETREDIR" in str(c) for c in commands)
                frames = _sort_pattern_runs([unid(_normalise(f, unordered), plain) for f in _sync(conns[i])])
                if frames:
                    transcript.append((number, i, frames))
    finally:
        for c in conns:
            c.close()
    return transcript


def _both(reference_server, candidate_server, connections, steps):
    ref = run_scenario(reference_server, connections, steps)
    cand = run_scenario(candidate_server, connections, steps)
    for r, c in zip(ref, cand):
        assert c == r, "first difference at step %d (%r)\n  reference: %r\n  candidate: %r" % (
            r[0], steps[r[0]][1], r, c)
    assert len(cand) == len(ref), "transcripts differ in length\n  reference: %r\n  candidate: %r" % (ref, cand)
    return ref


def test_subscribe_publish_resp2(reference_server, candidate_server):
    _both(reference_server, candidate_server, 3, [
        (0, ["SUBSCRIBE a b"]),
        (1, ["PUBLISH a hello", "PUBLISH b world", "PUBLISH c nobody"]),
        (0, ["SUBSCRIBE a"]),
        (0, ["PSUBSCRIBE a* ?"]),
        (1, ["PUBLISH a 2"]),
        (1, [["PUBLISH", "a", "bin\x00ary\r\n"]]),
        (2, ["SUBSCRIBE a"]),
        (1, ["PUBLISH a 3"]),
        (0, ["GET x", "SET a b", "PING", "PING hi", "HELLO 3", "MULTI", "CLIENT ID"]),
        (0, ["SUBSCRIBE"]),
        (1, ["PUBSUB NUMSUB a b c", "PUBSUB NUMPAT", "PUBSUB NUMSUB"]),
        (1, ["PUBSUB CHANNELS"], "unordered"),
        (1, ["PUBSUB CHANNELS a*"], "unordered"),
        (1, ["PUBSUB CHANNELS zz"]),
        (0, ["UNSUBSCRIBE a"]),
        (1, ["PUBLISH a 4", "PUBLISH b 5"]),
        (0, ["PUNSUBSCRIBE ?"]),
        (0, ["PUNSUBSCRIBE"]),
        (0, ["UNSUBSCRIBE"]),
        (0, ["UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE", "UNSUBSCRIBE x y"]),
        (0, ["GET x", "PING"]),
        (2, ["QUIT"]),
        (1, ["PUBSUB NUMSUB a", "PUBLISH a 6"]),
    ])


def test_subscribe_publish_resp3(reference_server, candidate_server):
    _both(reference_server, candidate_server, 2, [
        (0, ["HELLO 3"]),
        (0, ["SUBSCRIBE a", "PSUBSCRIBE *", "SSUBSCRIBE s1 s2"]),
        (0, ["GET x", "SET k v", "GET k", "PING", "PING hi"]),
        (0, ["PUBLISH a self"]),
        (1, ["PUBLISH a other", "SPUBLISH s1 shard", "SPUBLISH s3 none", "PUBLISH zz pattern-only"]),
        (1, ["PUBSUB SHARDNUMSUB s1 s2 s3", "PUBSUB NUMPAT"]),
        (1, ["PUBSUB SHARDCHANNELS"], "unordered"),
        (1, ["PUBSUB SHARDCHANNELS s1"]),
        (0, ["SUNSUBSCRIBE s1"]),
        (0, ["SUNSUBSCRIBE"]),
        (0, ["UNSUBSCRIBE", "PUNSUBSCRIBE"]),
        (0, ["UNSUBSCRIBE"]),
        (0, ["MULTI", "SUBSCRIBE q", "PUBLISH q inside", "EXEC"]),
        (1, ["PUBLISH q outside"]),
        (0, ["RESET"]),
        (1, ["PUBLISH q after-reset", "PUBSUB NUMSUB q"]),
    ])


def test_patterns(reference_server, candidate_server):
    patterns = ["h?llo", "h*llo", "h[ae]llo", "h[^e]llo", "h[a-b]llo", "h\\*", "news.*", "*"]
    steps = [(i, ["PSUBSCRIBE " + p]) for i, p in enumerate(patterns)]
    for channel in ["hello", "hallo", "hllo", "hxllo", "heeello", "h*", "hx", "news.art", "news", ""]:
        steps.append((len(patterns), [["PUBLISH", channel, "m"]]))
    steps.append((len(patterns), ["PUBSUB NUMPAT"]))
    _both(reference_server, candidate_server, len(patterns) + 1, steps)


def test_reset_quit_and_disconnect_drop_subscriptions(reference_server, candidate_server):
    _both(reference_server, candidate_server, 3, [
        (0, ["SUBSCRIBE c", "PSUBSCRIBE c*"]),
        (1, ["SUBSCRIBE c"]),
        (2, ["PUBSUB NUMSUB c", "PUBSUB NUMPAT"]),
        (0, ["RESET"]),
        (2, ["PUBSUB NUMSUB c", "PUBSUB NUMPAT", "PUBLISH c x"]),
        (1, ["QUIT"]),
        (2, ["PUBSUB NUMSUB c", "PUBLISH c y"]),
        (0, ["CLIENT INFO"]),
        (0, ["SUBSCRIBE a b", "PSUBSCRIBE p*", "SSUBSCRIBE s"]),
        (2, ["CLIENT LIST TYPE pubsub", "CLIENT LIST TYPE normal"]),
        (2, ["CLIENT KILL TYPE pubsub"]),
        (2, ["PUBSUB NUMSUB a", "PUBSUB NUMPAT", "PUBSUB SHARDNUMSUB s"]),
    ])


def test_errors(reference_server, candidate_server):
    _both(reference_server, candidate_server, 1, [
        (0, ["SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "PUBLISH", "PUBLISH a", "PUBLISH a b c", "SPUBLISH a"]),
        (0, ["PUBSUB", "PUBSUB FOO", "PUBSUB HELP", "PUBSUB HELP x", "PUBSUB NUMPAT x"]),
        (0, ["PUBSUB CHANNELS a b", "PUBSUB SHARDCHANNELS a b", "PUBSUB channels"]),
        # (PUBSUB itself is left out: Redis lists its subcommands in a dict order that changes from run to run.)
        (0, ["COMMAND INFO subscribe publish spublish ssubscribe sunsubscribe psubscribe pubsub|numpat"]),
        (0, ["COMMAND GETKEYS spublish ch msg", "COMMAND GETKEYS ssubscribe a b", "COMMAND GETKEYS publish a b"]),
    ])


def test_message_order_per_publisher(reference_server, candidate_server):
    messages = [["PUBLISH", "ch%d" % (i % 3), "m%d" % i] for i in range(300)]
    _both(reference_server, candidate_server, 3, [
        (0, ["SUBSCRIBE ch0 ch1 ch2"]),
        (1, ["PSUBSCRIBE ch*"]),
        (2, messages),
    ])


def test_many_subscribers_one_channel(reference_server, candidate_server):
    """1000 subscribers on one channel each get every message, in order; PUBLISH counts them."""
    for server in (reference_server, candidate_server):
        subscribers = [RespConnection(server.host, server.port, timeout=20) for _ in range(1000)]
        try:
            for s in subscribers:
                s.send_command("SUBSCRIBE", "fanout")
            for s in subscribers:
                assert s.read_reply().raw == b"*3\r\n$9\r\nsubscribe\r\n$6\r\nfanout\r\n:1\r\n"
            with RespConnection(server.host, server.port, timeout=20) as p:
                for i in range(5):
                    assert p.execute("PUBLISH", "fanout", "m%d" % i).raw == b":1000\r\n"
            for s in subscribers:
                for i in range(5):
                    expected = b"*3\r\n$7\r\nmessage\r\n$6\r\nfanout\r\n$2\r\nm%d\r\n" % i
                    assert s.read_reply().raw == expected
        finally:
            for s in subscribers:
                s.close()


def _rss_kb(server):
    with open("/proc/%d/status" % server.proc.pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.parametrize("which", ["reference", "candidate"])
def test_slow_subscriber_is_disconnected_and_memory_stays_bounded(which, reference_server, candidate_server):
    """A subscriber that stops reading is closed once it passes the pubsub output limit (32 MB hard by default);
    publishing 1 GB to it does not grow the server by anything like 1 GB."""
    server = reference_server if which == "reference" else candidate_server
    with RespConnection(server.host, server.port, timeout=30) as admin:
        admin.execute("CONFIG", "SET", "client-output-buffer-limit", "pubsub 32mb 8mb 60")
    slow = RespConnection(server.host, server.port, timeout=30)
    slow.sock.setsockopt(__import__("socket").SOL_SOCKET, __import__("socket").SO_RCVBUF, 65536)
    assert slow.execute("SUBSCRIBE", "flood").raw.endswith(b":1\r\n")
    before = _rss_kb(server)
    payload = b"x" * (1 << 20)
    peak = before
    with RespConnection(server.host, server.port, timeout=60) as p:
        receivers = []
        for batch in range(64):
            for _ in range(16):
                p.send_command("PUBLISH", "flood", payload)
            receivers += [p.read_reply().raw for _ in range(16)]
            peak = max(peak, _rss_kb(server))
        info = p.execute("PUBSUB", "NUMSUB", "flood").raw
    assert b":1\r\n" in receivers[0]
    assert receivers[-1] == b":0\r\n", "the slow subscriber was never disconnected"
    assert info.endswith(b":0\r\n")
    growth_mb = (peak - before) / 1024
    assert growth_mb < 300, "server grew by %.0f MB while 1 GB was published to a non-reading subscriber" % growth_mb
    slow.close()


def _monitor_lines(frames):
    """MONITOR lines without the timestamp and the client's port (they differ between servers)."""
    out = []
    for f in frames:
        if isinstance(f, bytes) and f.startswith(b"+") and b" [" in f:
            out.append(re.sub(rb"^\+\d+\.\d{6} \[(\d+) [0-9.]+:\d+\]", rb"+T [\1 ADDR]", f))
        else:
            out.append(f)
    return out


def test_monitor(reference_server, candidate_server):
    steps = [
        (0, ["MONITOR"]),
        (1, ["SET k v", "SELECT 1", "GET k", "SELECT 0", ["SET", 'a"b\\c', "x\n\r\t\x07\x08\x01\x7f y"]]),
        (1, ["CONFIG GET maxmemory", "CLIENT GETNAME", "AUTH x", "HELLO 2 AUTH default pw", "NOPE", "GET"]),
        (1, ["MULTI", "SET q 1", "INCR q", "EXEC", "PUBLISH ch m", "CLIENT REPLY OFF", "PING", "SET r 1",
             "CLIENT REPLY ON", "CLIENT REPLY SKIP", "PING", "PING x", "CLIENT REPLY FOO"]),
        (0, ["GET k", "SET k v", "PUBLISH ch m", "PING", "MONITOR", "ECHO e"]),
        (0, ["CLIENT INFO"]),
        (0, ["RESET", "GET k"]),
        (1, ["GET k"]),
    ]
    ref = run_scenario(reference_server, 2, steps)
    cand = run_scenario(candidate_server, 2, steps)
    ref = [(n, i, _monitor_lines(f)) for n, i, f in ref]
    cand = [(n, i, _monitor_lines(f)) for n, i, f in cand]
    assert cand == ref


def test_client_reply(reference_server, candidate_server):
    _both(reference_server, candidate_server, 1, [
        # Every step ends with replies on (the step's sync marker needs its reply).
        (0, ["CLIENT REPLY OFF", "SET a 1", "GET a", "CLIENT REPLY SKIP", "GET a", "CLIENT REPLY ON", "GET a"]),
        (0, ["CLIENT REPLY SKIP", "GET a", "GET a", "CLIENT REPLY SKIP", "CLIENT REPLY SKIP", "INCR a", "GET a"]),
        (0, ["CLIENT REPLY SKIP", "CLIENT REPLY OFF", "GET a", "CLIENT REPLY ON"]),
        (0, ["CLIENT REPLY", "CLIENT REPLY x", "CLIENT REPLY ON ON"]),
    ])
