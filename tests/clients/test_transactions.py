"""MULTI/EXEC/WATCH across several connections, and redis-py's transaction helpers, against the candidate."""

import redis


def _client(server):
    return redis.Redis(host=server.host, port=server.port, protocol=2, socket_timeout=10)


def test_watch_race_losing_exec_returns_nil(candidate_server):
    a, b = _client(candidate_server), _client(candidate_server)
    a.flushall()
    a.set("balance", 100)
    pipe = a.pipeline(transaction=True)
    pipe.watch("balance")
    current = int(pipe.get("balance"))
    b.set("balance", 50)  # another client writes between WATCH and EXEC
    pipe.multi()
    pipe.set("balance", current + 10)
    try:
        pipe.execute()
        raised = False
    except redis.WatchError:
        raised = True
    assert raised
    assert a.get("balance") == b"50"


def test_watch_survives_reads_and_other_keys(candidate_server):
    a, b = _client(candidate_server), _client(candidate_server)
    a.flushall()
    a.set("k", 1)
    pipe = a.pipeline(transaction=True)
    pipe.watch("k")
    b.get("k")
    b.set("other", 1)
    pipe.multi()
    pipe.incr("k")
    assert pipe.execute() == [2]


def test_transaction_helper_retries_until_it_wins(candidate_server):
    a, b = _client(candidate_server), _client(candidate_server)
    a.flushall()
    a.set("counter", 0)
    attempts = []

    def body(pipe):
        value = int(pipe.get("counter"))
        if not attempts:
            b.incr("counter")  # the first attempt loses the race
        attempts.append(value)
        pipe.multi()
        pipe.set("counter", value + 10)

    a.transaction(body, "counter")
    assert len(attempts) == 2
    assert a.get("counter") == b"11"


def test_pipeline_transaction_and_plain_pipeline(candidate_server):
    a = _client(candidate_server)
    a.flushall()
    with a.pipeline(transaction=True) as p:
        p.set("x", 1).incr("x").get("x")
        assert p.execute() == [True, 2, b"2"]
    with a.pipeline(transaction=False) as p:
        for i in range(100):
            p.incr("n")
        assert p.execute()[-1] == 100


def test_flushdb_and_expiry_touch_watched_keys(candidate_server):
    a, b = _client(candidate_server), _client(candidate_server)
    a.flushall()
    a.set("f", 1)
    pipe = a.pipeline(transaction=True)
    pipe.watch("f")
    b.flushdb()
    pipe.multi()
    pipe.set("f", 2)
    try:
        pipe.execute()
        assert False, "EXEC should have failed"
    except redis.WatchError:
        pass
    a.set("e", 1, px=50)
    pipe = a.pipeline(transaction=True)
    pipe.watch("e")
    import time
    time.sleep(0.1)
    pipe.multi()
    pipe.set("e", 2)
    try:
        pipe.execute()
        assert False, "EXEC should have failed after the watched key expired"
    except redis.WatchError:
        pass


# Writes by a second connection between WATCH and EXEC, and whether EXEC then runs: Redis touches exactly the keys
# a command changed (a DEL of a missing key, the sources of a STORE command, the keys an LMPOP or a BLPOP did not
# pop from are not touched; PFMERGE always touches its destination). Compared with redis-server, case by case.
WATCH_CASES = [
    ([["SET", "other", "1"]], ["DEL", "other", "w"]),
    ([], ["UNLINK", "w", "none"]),
    ([["SADD", "w", "a"]], ["SINTERSTORE", "dst", "w"]),
    ([["ZADD", "w", "1", "a"]], ["ZUNIONSTORE", "dst", "1", "w"]),
    ([["SET", "w", "x"]], ["BITOP", "AND", "dst", "w"]),
    ([["RPUSH", "w", "1"]], ["SORT", "w", "STORE", "dst"]),
    ([["RPUSH", "other", "a"]], ["LMPOP", "2", "w", "other", "LEFT"]),
    ([["PFADD", "w", "a"]], ["PFMERGE", "w"]),
    ([], ["PFMERGE", "w"]),
    ([["SET", "w", "x"]], ["COPY", "w", "dst"]),
    ([["SET", "w", "x"]], ["RENAME", "w", "dst"]),
    ([["SET", "other", "x"]], ["RENAME", "other", "w"]),
    ([["SET", "w", "x"]], ["DEL", "w"]),
    ([], ["SET", "w", "x"]),
    ([["RPUSH", "w", "a"]], ["LREM", "w", "0", "zz"]),
    # The pops that take the first non-empty key touch only that one, when the watched key is not empty either.
    ([["RPUSH", "other", "a"], ["RPUSH", "w", "b"]], ["LMPOP", "2", "other", "w", "LEFT"]),
    ([["RPUSH", "other", "a"], ["RPUSH", "w", "b"]], ["BLMPOP", "0", "2", "other", "w", "RIGHT", "COUNT", "5"]),
    ([["RPUSH", "other", "a"], ["RPUSH", "w", "b"]], ["BLPOP", "other", "w", "0"]),
    ([["RPUSH", "other", "a"], ["RPUSH", "w", "b"]], ["BRPOP", "other", "w", "0"]),
    ([["ZADD", "other", "1", "a"], ["ZADD", "w", "1", "b"]], ["ZMPOP", "2", "other", "w", "MIN"]),
    ([["ZADD", "other", "1", "a"], ["ZADD", "w", "1", "b"]], ["BZMPOP", "0", "2", "other", "w", "MAX"]),
    ([["ZADD", "other", "1", "a"], ["ZADD", "w", "1", "b"]], ["BZPOPMIN", "other", "w", "0"]),
    ([["ZADD", "other", "1", "a"], ["ZADD", "w", "1", "b"]], ["BZPOPMAX", "other", "w", "0"]),
    ([["RPUSH", "w", "b"]], ["LMPOP", "2", "other", "w", "LEFT"]),
    ([["ZADD", "w", "1", "b"]], ["BZPOPMIN", "other", "w", "0"]),
]


def test_watch_touches_exactly_the_keys_a_write_changed(reference_server, candidate_server):
    outcomes = {}
    for name, server in (("redis", reference_server), ("swiftlet", candidate_server)):
        results = []
        with server.connect() as a, server.connect() as b:
            for setup, write in WATCH_CASES:
                a.execute("FLUSHALL")
                for command in setup:
                    b.execute(*command)
                a.execute("WATCH", "w")
                b.execute(*write)
                a.execute("MULTI")
                a.execute("PING")
                results.append((write, a.execute("EXEC").raw))
        outcomes[name] = results
    assert outcomes["swiftlet"] == outcomes["redis"]
    # Both kinds of outcome are in the cases.
    assert {raw for _, raw in outcomes["redis"]} == {b"*1\r\n+PONG\r\n", b"*-1\r\n"}


def test_watch_in_another_database_is_touched_by_move_copy_and_swapdb(reference_server, candidate_server):
    outcomes = {}
    for name, server in (("redis", reference_server), ("swiftlet", candidate_server)):
        results = []
        with server.connect() as a, server.connect() as b:
            for write in (["MOVE", "k", "1"], ["COPY", "k", "k", "DB", "1"], ["SWAPDB", "0", "1"], ["SET", "k", "w"]):
                a.execute("FLUSHALL")
                b.execute("SET", "k", "v")
                a.execute("SELECT", "1")
                a.execute("WATCH", "k")
                b.execute(*write)
                a.execute("MULTI")
                a.execute("PING")
                results.append((write[0], a.execute("EXEC").raw))
                a.execute("SELECT", "0")
        outcomes[name] = results
    assert outcomes["swiftlet"] == outcomes["redis"]
    assert outcomes["redis"][0][1] == b"*-1\r\n" and outcomes["redis"][3][1] == b"*1\r\n+PONG\r\n"
