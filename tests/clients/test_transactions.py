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
