"""BZPOPMIN / BZPOPMAX / BZMPOP wake up on ZADD, in arrival order, and time out, against the candidate."""

import threading
import time

import redis


def _client(server):
    return redis.Redis(host=server.host, port=server.port, protocol=2, socket_timeout=20)


def test_bzpopmin_is_woken_by_zadd(candidate_server):
    a, b = _client(candidate_server), _client(candidate_server)
    a.flushall()
    result = {}

    def waiter():
        result["value"] = a.bzpopmin(["z1", "z2"], timeout=10)

    t = threading.Thread(target=waiter)
    t.start()
    time.sleep(0.2)
    b.zadd("z2", {"m": 7, "n": 3})
    t.join(15)
    assert result["value"] == (b"z2", b"n", 3.0)
    assert b.zrange("z2", 0, -1) == [b"m"]


def test_waiters_are_served_in_arrival_order(candidate_server):
    clients = [_client(candidate_server) for _ in range(3)]
    clients[0].flushall()
    got = [None] * 3
    threads = []
    for i in range(3):
        def waiter(i=i):
            got[i] = clients[i].bzpopmax("q", timeout=10)
        t = threading.Thread(target=waiter)
        t.start()
        threads.append(t)
        time.sleep(0.15)  # arrive in order 0, 1, 2
    producer = _client(candidate_server)
    producer.zadd("q", {"a": 1, "b": 2, "c": 3})
    for t in threads:
        t.join(15)
    assert got == [(b"q", b"c", 3.0), (b"q", b"b", 2.0), (b"q", b"a", 1.0)]


def test_bzmpop_timeout_and_wakeup(candidate_server):
    a, b = _client(candidate_server), _client(candidate_server)
    a.flushall()
    started = time.time()
    assert a.execute_command("BZMPOP", 0.2, 1, "none", "MIN") is None
    assert time.time() - started >= 0.19
    result = {}

    def waiter():
        result["value"] = a.execute_command("BZMPOP", 10, 2, "x", "y", "MAX", "COUNT", 2)

    t = threading.Thread(target=waiter)
    t.start()
    time.sleep(0.2)
    b.zadd("y", {"p": 1, "q": 2, "r": 3})
    t.join(15)
    assert result["value"] == [b"y", [[b"r", b"3"], [b"q", b"2"]]]
