"""Keyspace notifications (notify.c) against real Redis, frames compared byte for byte.

Connection 0 sets `notify-keyspace-events`, connection 1 pattern-subscribes to every keyspace and keyevent channel,
connection 2 runs the commands. The steps use the multi-client runner of test_pubsub, plus ("sleep", seconds) steps
for expiry.
"""

import time

from support.resp import RespConnection
from test_pubsub import _normalise, _sort_pattern_runs, _sync

ALL = "__key*__:*"


def _run(server, connections, steps):
    with RespConnection(server.host, server.port, timeout=10) as c:
        assert c.execute("FLUSHALL").raw == b"+OK\r\n"
    conns = [RespConnection(server.host, server.port, timeout=10) for _ in range(connections)]
    transcript = []
    after_sleep = False
    blocked = set()
    try:
        for number, step in enumerate(steps):
            if step[0] == "sleep":
                time.sleep(step[1])
                after_sleep = True
                continue
            index, commands = step[0], step[1]
            mark = step[2] if len(step) > 2 else None
            for command in commands:
                conns[index].send_command(*command.split(" ") if isinstance(command, str) else command)
            if mark == "block":
                # The client waits: it answers no PING until it is served.
                blocked.add(index)
            elif mark == "serve":
                blocked.clear()
            order = [index] + [i for i in range(connections) if i != index]
            for i in order:
                if i in blocked:
                    continue
                frames = _sort_pattern_runs([_normalise(f, False) for f in _sync(conns[i])])
                if after_sleep:
                    # Active expiry visits keys in hash-table order: what it fired compares as a multiset.
                    frames = sorted(frames, key=repr)
                if frames:
                    transcript.append((number, i, frames))
            after_sleep = False
    finally:
        with RespConnection(server.host, server.port, timeout=10) as c:
            c.execute("CONFIG", "SET", "notify-keyspace-events", "")
        for c in conns:
            c.close()
    return transcript


def _compare(reference_server, candidate_server, steps, connections=3):
    ref = _run(reference_server, connections, steps)
    cand = _run(candidate_server, connections, steps)
    for r, c in zip(ref, cand):
        assert c == r, "first difference at step %d (%r)\n  reference: %r\n  candidate: %r" % (
            r[0], steps[r[0]][1], r, c)
    assert len(cand) == len(ref), "transcripts differ in length\n  reference: %r\n  candidate: %r" % (ref, cand)
    return ref


def _events(reference_server, candidate_server, flags, commands, pattern=ALL):
    """Each command is its own step, so a difference names the command."""
    steps = [
        (0, [["CONFIG", "SET", "notify-keyspace-events", flags]]),
        (1, ["PSUBSCRIBE " + pattern]),
    ]
    for command in commands:
        if isinstance(command, tuple):
            steps.append(command)
        else:
            steps.append((2, [command]))
    return _compare(reference_server, candidate_server, steps)


def test_config_flag_strings(reference_server, candidate_server):
    steps = []
    for flags in ["KEA", "AKE", "E$", "Kl", "Ksh", "Ezx", "En", "Em", "Kg$lshzxetd", "KEAnm", "mnK", "", "A", "x"]:
        steps.append((0, [["CONFIG", "SET", "notify-keyspace-events", flags], "CONFIG GET notify-keyspace-events"]))
    steps.append((0, [["CONFIG", "SET", "notify-keyspace-events", "KEQ"], "CONFIG GET notify-keyspace-events"]))
    _compare(reference_server, candidate_server, steps, connections=1)


def test_strings(reference_server, candidate_server):
    _events(reference_server, candidate_server, "KEA", [
        "SET s v", "SET s v2", "SET s v3 NX", "SET s v4 XX", "SET s2 v NX", "SET s v5 GET", "SET s v EX 100",
        "SET s v PX 100000 KEEPTTL", "SET s v KEEPTTL", "SETNX s x", "SETNX s3 x", "GETSET s y", "GETSET s4 y",
        "MSET a 1 b 2", "MSETNX a 1 c 3", "MSETNX c 3 d 4", "SETEX e 100 v", "PSETEX f 100000 v",
        "INCR n", "DECR n", "INCRBY n 5", "DECRBY n 2", "INCRBYFLOAT n 1.5", "INCR s", "APPEND s zz", "APPEND ap x",
        "SETRANGE s 1 QQ", "SETRANGE s 1 ''", "SETRANGE sr 0 ''", "SETRANGE sr2 3 abc",
        "GETDEL s", "GETDEL nosuch", "GETEX a EX 100", "GETEX a PERSIST", "GETEX a PERSIST", "GETEX a",
        "GETEX b PXAT 1", "GET b", "GET a", "MGET a x y", "STRLEN a", "LCS a c",
    ])


def test_string_flags_and_keymiss(reference_server, candidate_server):
    cmds = ["SET s v", "GET s", "GET nosuch", "INCR n", "GETSET s w", "GETSET nn w", "SET x v GET", "SET s v GET",
            "MGET s nosuch1 nosuch2", "EXISTS s nosuch", "TYPE nosuch", "TTL nosuch", "PTTL nosuch",
            "EXPIRETIME nosuch", "STRLEN nosuch", "GETRANGE nosuch 0 1", "LLEN nosuch", "HGET nosuch f",
            "SMEMBERS nosuch", "ZSCORE nosuch m", "DEL s", "OBJECT ENCODING nosuch", "TOUCH nosuch s",
            "GETDEL nosuch", "GETEX nosuch", "COPY nosuch dst", "SINTER nosuch n2", "ZRANGESTORE d nosuch 0 -1",
            "SUNIONSTORE d nosuch", "ZUNIONSTORE d 2 nosuch n3"]
    for flags in ["E$", "Em", "KEm", "Kg", "Ksh", "En", "KEAnm"]:
        _events(reference_server, candidate_server, flags, cmds)


def test_generic(reference_server, candidate_server):
    _events(reference_server, candidate_server, "KEA", [
        "SET a 1", "SET b 2", "DEL a b nosuch", "SET a 1", "UNLINK a", "SET a 1",
        "EXPIRE a 100", "EXPIRE a 100 NX", "EXPIRE a 200 XX", "EXPIRE a 50 GT", "EXPIRE a 50 LT", "PEXPIRE a 100000",
        "EXPIREAT a 99999999999", "PEXPIREAT a 99999999999999", "PERSIST a", "PERSIST a", "EXPIRE nosuch 10",
        "EXPIRE a -1", "EXISTS a", "SET a 1", "PEXPIREAT a 1",
        "SET a 1", "RENAME a b", "RENAME b b", "RENAME nosuch x", "SET c 3", "RENAME b c", "RENAMENX c d",
        "SET e 5", "RENAMENX d e", "EXPIRE e 100", "RENAME e f", "TTL f",
        "MOVE f 1", "MOVE f 1", "SELECT 1", "MOVE f 0", ("sleep", 0),
        "COPY d g", "COPY d g", "COPY d g REPLACE", "COPY d g DB 3", "COPY d d", "COPY nosuch x",
        "FLUSHDB", "SET x 1", "FLUSHALL", "SET y 1", "SWAPDB 0 1", "RANDOMKEY", "KEYS *", "SCAN 0",
    ])


def test_lists(reference_server, candidate_server):
    _events(reference_server, candidate_server, "KEA", [
        "LPUSH l a b c", "RPUSH l d", "LPUSHX l e", "RPUSHX l f", "LPUSHX nosuch x", "RPUSHX nosuch x",
        "LPOP l", "RPOP l", "LPOP l 2", "RPOP l 0", "LPOP nosuch", "LINSERT l BEFORE d x", "LINSERT l AFTER zz y",
        "LINSERT nosuch BEFORE a b", "LSET l 0 q", "LSET l 99 q", "LREM l 0 zz", "LREM l 1 q", "LTRIM l 0 -1",
        "LTRIM l 0 0", "LRANGE l 0 -1", "LTRIM l 5 1", "EXISTS l", "RPUSH l a b c",
        "LMOVE l m LEFT RIGHT", "LMOVE l m RIGHT LEFT", "LMOVE l l LEFT RIGHT", "RPOPLPUSH l m", "LMOVE l m LEFT LEFT",
        "LMOVE nosuch m LEFT LEFT", "RPUSH one x", "LMOVE one one LEFT RIGHT", "LMPOP 2 nosuch m LEFT COUNT 2",
        "LMPOP 1 m RIGHT COUNT 10", "RPUSH l2 a", "BLPOP l2 0", "BRPOP nosuch 0.01", "RPUSH l3 a b",
        "BLMOVE l3 l4 LEFT RIGHT 0", "BRPOPLPUSH l3 l4 0", "BLMPOP 0 1 l4 LEFT COUNT 5", "SET str x", "LPUSH str a",
        "LMOVE l4 str LEFT LEFT", "RPUSH big " + " ".join(str(i) for i in range(200)), "LREM big 0 5",
        "LPOS big 7", "LINDEX big 3", "LLEN big",
    ])


def test_blocking_served(reference_server, candidate_server):
    steps = [
        (0, [["CONFIG", "SET", "notify-keyspace-events", "KEA"]]),
        (1, ["PSUBSCRIBE " + ALL]),
        (3, ["BLPOP bl 0"], "block"),
        (4, ["BRPOP bl 0"], "block"),
        (2, ["RPUSH bl a b c"], "serve"),
        (3, ["BLMOVE src dst RIGHT LEFT 0"], "block"),
        (2, ["LPUSH src x"], "serve"),
        (3, ["BLMPOP 0 2 e1 e2 LEFT COUNT 3"], "block"),
        (2, ["RPUSH e2 1 2"], "serve"),
        (3, ["BZPOPMIN z1 0"], "block"),
        (4, ["BZPOPMAX z1 0"], "block"),
        (2, ["ZADD z1 1 a 2 b 3 c"], "serve"),
        (3, ["BZMPOP 0 1 z2 MAX COUNT 5"], "block"),
        (2, ["ZADD z2 1 a 2 b"], "serve"),
        (3, ["BLPOP nosuch 0.05"]),
        (2, ["MULTI", "RPUSH q1 a", "RPUSH q1 b", "EXEC"]),
        (3, ["BRPOPLPUSH w1 w2 0"], "block"),
        (2, ["MULTI", "RPUSH w1 a", "DEL w1", "RPUSH w1 b", "EXEC"], "serve"),
        (3, ["BLMOVE w3 w4 LEFT LEFT 0"], "block"),
        (4, ["BLPOP w4 0"], "block"),
        (2, ["RPUSH w3 a"], "serve"),
    ]
    _compare(reference_server, candidate_server, steps, connections=5)


def test_hashes(reference_server, candidate_server):
    _events(reference_server, candidate_server, "KEA", [
        "HSET h a 1 b 2", "HSET h a 1", "HMSET h c 3", "HSETNX h a 9", "HSETNX h z 9", "HSETNX h2 f v",
        "HINCRBY h a 5", "HINCRBY h a x", "HINCRBY h2 n 1", "HINCRBYFLOAT h a 1.5", "HINCRBYFLOAT h3 f 2",
        "HDEL h nosuch", "HDEL h a b", "HDEL h c z nosuch", "EXISTS h", "HDEL nosuch a", "HGET h2 f", "HGETALL h2",
        "HDEL h2 f n", "HSET str", "SET str x", "HSET str f v", "HDEL str f",
    ])


def test_sets(reference_server, candidate_server):
    _events(reference_server, candidate_server, "KEA", [
        "SADD s a b c", "SADD s a", "SREM s zz", "SREM s a", "SREM s b c", "SADD s 1 2 3", "SMOVE s t 1",
        "SMOVE s t 1", "SADD t 2", "SMOVE s t 2", "SMOVE s s 3", "SMOVE s t 3", "SMOVE nosuch t 1",
        "SADD p 1", "SPOP p", "SPOP nosuch", "SADD p 1 2 3 4 5", "SPOP p 0", "SPOP p 10", "SADD p 1", "SPOP p 1",
        "SADD u1 a b", "SADD u2 b c", "SINTERSTORE d u1 u2", "SINTERSTORE d u1 nosuch", "SINTERSTORE d u1 nosuch",
        "SUNIONSTORE d u1 u2", "SDIFFSTORE d u1 u2", "SDIFFSTORE d u1 u1", "SUNIONSTORE d nosuch",
        "SINTER u1 u2", "SINTERCARD 2 u1 u2",
    ])


def test_sorted_sets(reference_server, candidate_server):
    _events(reference_server, candidate_server, "KEA", [
        "ZADD z 1 a 2 b 3 c", "ZADD z 1 a", "ZADD z XX 5 nosuch", "ZADD z NX 1 a", "ZADD z CH 9 a", "ZADD z2 XX 1 a",
        "ZADD z INCR 1 a", "ZINCRBY z 1 b", "ZINCRBY z3 1 m", "ZADD inf 1 a", "ZINCRBY inf inf a",
        "ZINCRBY inf -inf a", "ZREM z nosuch", "ZREM z a", "ZREMRANGEBYSCORE z 100 200", "ZADD z 1 a 4 d 5 e",
        "ZREMRANGEBYSCORE z 1 1", "ZREMRANGEBYRANK z 0 0", "ZREMRANGEBYRANK z 5 9", "ZADD z 0 x 0 y",
        "ZREMRANGEBYLEX z [x [x", "ZREMRANGEBYLEX z [q [r", "ZPOPMIN z", "ZPOPMAX z 2", "ZPOPMIN z 0",
        "ZPOPMIN z 10", "ZPOPMIN nosuch", "ZADD z 1 a 2 b 3 c", "ZMPOP 2 nosuch z MIN COUNT 2", "ZMPOP 1 z MAX",
        "ZADD u1 1 a 2 b", "ZADD u2 3 b 4 c", "ZUNIONSTORE d 2 u1 u2", "ZINTERSTORE d 2 u1 u2", "ZDIFFSTORE d 2 u1 u2",
        "ZDIFFSTORE d 2 u1 u1", "ZINTERSTORE d 2 u1 nosuch", "ZRANGESTORE r u1 0 -1", "ZRANGESTORE r u1 5 9",
        "ZRANGESTORE r u1 5 9", "ZRANGE u1 0 -1", "ZADD u1 GT 0 a", "ZADD u1 LT 0 a",
    ])


def test_wrongtype_and_errors_fire_nothing(reference_server, candidate_server):
    _events(reference_server, candidate_server, "KEAnm", [
        "SET s x", "LPUSH s a", "RPOP s", "HSET s f v", "SADD s a", "ZADD s 1 a", "INCR s", "SET n 1",
        "APPEND n x", "LPUSH l a", "GET l", "INCR l", "APPEND l x", "SETRANGE l 0 x", "SET l x NX",
        "LMOVE l s LEFT LEFT", "SMOVE l s a", "ZADD z x a", "EXPIRE s abc", "RENAME nosuch x",
    ])


def test_expiry(reference_server, candidate_server):
    _events(reference_server, candidate_server, "KEA", [
        "SET a v PX 50", "SET b v PX 50", "SET c v PX 50", "RPUSH d x", "PEXPIRE d 50", ("sleep", 0.15),
        "GET a", "SET b w", "LPUSH d y", "DEBUG SET-ACTIVE-EXPIRE 1", "SET e v PX 30", ("sleep", 0.6),
        "EXISTS e", "SET f v EX 100", "GETEX f PX 30", ("sleep", 0.1), "DEL f", "SET g v PXAT 1", "GET g",
    ])


def test_active_expiry(reference_server, candidate_server):
    _events(reference_server, candidate_server, "Ex", [
        "SET a v PX 20", "SET b v PX 20", "HSET c f v", "PEXPIRE c 20", ("sleep", 1.0), "DBSIZE",
    ])


def test_new_key_event(reference_server, candidate_server):
    _events(reference_server, candidate_server, "KEA" + "n", [
        "SET a 1", "SET a 2", "INCR n", "APPEND ap x", "LPUSH l a", "LPUSH l b", "HSET h f v", "SADD s a",
        "ZADD z 1 a", "RENAME a b", "COPY b c", "MOVE c 1", "SMOVE s t a", "LMOVE l l2 LEFT LEFT",
        "SUNIONSTORE d t", "SUNIONSTORE d t", "ZUNIONSTORE zd 1 z", "SET x 1 PX 20", ("sleep", 0.1), "SET x 2",
        "SETRANGE sr 1 a", "SET b2 1", "RENAME b b2", "SET g 1 GET", "GETSET gs 1",
    ])


def test_event_flag_combinations(reference_server, candidate_server):
    cmds = ["SET a 1", "LPUSH l a", "HSET h f v", "SADD s a", "ZADD z 1 a", "DEL a", "EXPIRE l 100", "GET nosuch",
            "RPOP l", "SPOP s", "HDEL h f", "ZPOPMIN z"]
    for flags in ["E$", "Kl", "Ksh", "Ezx", "En", "Em", "Eg", "Kz", "AKE", "K", "E", "A"]:
        _events(reference_server, candidate_server, flags, cmds)


def test_channel_subscriptions_and_databases(reference_server, candidate_server):
    _compare(reference_server, candidate_server, [
        (0, [["CONFIG", "SET", "notify-keyspace-events", "KEA"]]),
        (1, ["SUBSCRIBE __keyspace@0__:k __keyevent@0__:set __keyevent@5__:del"]),
        (3, ["PSUBSCRIBE __keyspace@5__:*"]),
        (2, ["SET k v", "SET other v", "SELECT 5", "SET k v", "DEL k"]),
        (2, [["SET", "bin\x00ary\r\nkey", "v"], ["DEL", "bin\x00ary\r\nkey"]]),
    ], connections=4)


def test_self_delivery_resp3(reference_server, candidate_server):
    """A RESP3 client subscribed to its own events gets them in its reply stream, where Redis puts them."""
    _compare(reference_server, candidate_server, [
        (0, [["CONFIG", "SET", "notify-keyspace-events", "KEA"]]),
        (1, ["HELLO 3", "PSUBSCRIBE " + ALL]),
        (1, ["SET k v", "GET k", "LPUSH l a b", "LPOP l", "LPOP l 5", "INCR n", "EXPIRE n 100", "EXPIRE n -1"]),
        (1, ["MULTI", "SET a 1", "DEL a", "EXEC"]),
        (1, ["ZADD z 1 a 2 b", "ZPOPMIN z 2", "SADD s 1 2", "SPOP s 2", "GETDEL k"]),
        (1, ["SET e v PX 20"]),
        ("sleep", 0.1),
        (1, ["GET e"]),
        (1, ["SET x 1", "GETEX x PX 100000", "SET x 2 GET"]),
    ], connections=2)


def test_nothing_when_off(reference_server, candidate_server):
    _compare(reference_server, candidate_server, [
        (1, ["PSUBSCRIBE *"]),
        (2, ["SET a 1", "DEL a", "LPUSH l a", "SET e v PX 10"]),
        ("sleep", 0.2),
        (2, ["GET e", "GET nosuch"]),
    ])
