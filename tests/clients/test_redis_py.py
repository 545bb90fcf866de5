"""The redis-py client library against the candidate server only.

Note: redis-py >= 8 defaults to RESP3; on connect it sends HELLO 3, then
CLIENT MAINT_NOTIFICATIONS ... and CLIENT SETINFO LIB-NAME/LIB-VER, and
ignores error replies to the last ones. A server must answer those with an
error reply (not close the connection) for the default client to work.
"""

import time

import pytest

redis = pytest.importorskip("redis")


def _client(server, **kw):
    kw.setdefault("socket_timeout", 10)
    kw.setdefault("socket_connect_timeout", 10)
    return redis.Redis(host=server.host, port=server.port, **kw)


@pytest.fixture
def r(candidate_server):
    c = _client(candidate_server, protocol=2)
    c.flushall()
    yield c
    c.close()


@pytest.fixture
def r3(candidate_server):
    c = _client(candidate_server, protocol=3)
    c.flushall()
    yield c
    c.close()


def test_ping(r):
    assert r.ping() is True
    assert r.echo("hello") == b"hello"


def test_set_get(r):
    assert r.set("foo", "bar") is True
    assert r.get("foo") == b"bar"
    assert r.get("missing") is None
    assert r.set("foo", "baz", nx=True) is None
    assert r.set("foo", "baz", xx=True) is True
    assert r.get("foo") == b"baz"
    assert r.set("foo", "qux", get=True) == b"baz"
    assert r.set(b"bin\x00key", b"\x00\xff") is True
    assert r.get(b"bin\x00key") == b"\x00\xff"
    assert r.set("empty", "") is True
    assert r.get("empty") == b""
    assert r.strlen("foo") == 3
    assert r.append("foo", "!") == 4
    assert r.getrange("foo", 0, 1) == b"qu"
    assert r.delete("foo", "empty", "nope") == 2
    assert r.exists("foo") == 0


def test_incr(r):
    assert r.incr("n") == 1
    assert r.incr("n", 10) == 11
    assert r.decr("n") == 10
    assert r.decr("n", 5) == 5
    assert r.incrbyfloat("f", 1.5) == 1.5
    assert r.get("n") == b"5"
    r.set("s", "abc")
    with pytest.raises(redis.ResponseError, match="not an integer"):
        r.incr("s")


def test_wrongtype(r):
    r.lpush("l", "x")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        r.incr("l")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        r.get("l")


def test_expire_ttl(r):
    r.set("k", "v")
    assert r.ttl("k") == -1
    assert r.ttl("missing") == -2
    assert r.expire("k", 100) is True
    assert 99 <= r.ttl("k") <= 100
    assert 0 < r.pttl("k") <= 100000
    assert r.persist("k") is True
    assert r.ttl("k") == -1
    assert r.set("k2", "v", ex=50) is True
    assert 49 <= r.ttl("k2") <= 50
    assert r.set("k3", "v", px=1) is True
    import time
    time.sleep(0.05)
    assert r.get("k3") is None
    assert r.expireat("k", 4102444800) is True
    assert r.expiretime("k") == 4102444800
    assert r.expire("missing", 10) is False


def test_mset_mget(r):
    assert r.mset({"a": "1", "b": "2", "c": "3"}) is True
    assert r.mget("a", "b", "missing", "c") == [b"1", b"2", None, b"3"]
    assert r.msetnx({"a": "x", "d": "4"}) is False
    assert r.msetnx({"d": "4", "e": "5"}) is True
    assert r.mget(["d", "e"]) == [b"4", b"5"]


def test_keys(r):
    r.mset({"hello": 1, "hallo": 2, "hxllo": 3, "world": 4})
    assert sorted(r.keys("*")) == [b"hallo", b"hello", b"hxllo", b"world"]
    assert sorted(r.keys("h?llo")) == [b"hallo", b"hello", b"hxllo"]
    assert sorted(r.keys("h[ae]llo")) == [b"hallo", b"hello"]
    assert r.keys("nomatch*") == []
    assert r.dbsize() == 4
    assert r.type("hello") == b"string"
    assert r.rename("world", "earth") is True
    assert r.exists("earth") == 1


def test_scan_iter(r):
    expected = set()
    with r.pipeline(transaction=False) as p:
        for i in range(500):
            p.set("key:%d" % i, i)
            expected.add(b"key:%d" % i)
        p.set("other", 1)
        p.execute()
    seen = list(r.scan_iter(match="key:*", count=37))
    assert set(seen) == expected
    assert len(seen) >= len(expected)
    assert set(r.scan_iter(count=1000)) == expected | {b"other"}
    assert set(r.scan_iter(_type="string", match="oth*")) == {b"other"}


def test_pipeline(r):
    with r.pipeline(transaction=False) as p:
        p.set("a", 1).incr("a").get("a").get("missing").set("s", "abc")
        p.incr("s")
        p.mget("a", "s")
        res = p.execute(raise_on_error=False)
    assert res[:5] == [True, 2, b"2", None, True]
    assert isinstance(res[5], redis.ResponseError)
    assert res[6] == [b"2", b"abc"]


def test_pipeline_transaction(r):
    with r.pipeline() as p:  # MULTI / EXEC
        p.set("t", 1).incr("t").get("t")
        assert p.execute() == [True, 2, b"2"]


def test_client_setname(r):
    assert r.client_getname() is None
    assert r.client_setname("swiftlet-test") is True
    assert r.client_getname() == "swiftlet-test"
    with pytest.raises(redis.ResponseError):
        r.client_setname("has space")
    assert isinstance(r.client_id(), int)


def test_client_name_on_connect(candidate_server):
    c = _client(candidate_server, protocol=2, client_name="named-conn")
    try:
        assert c.client_getname() == "named-conn"
    finally:
        c.close()


def test_info(r):
    info = r.info()
    assert isinstance(info, dict)
    assert "redis_version" in info
    server = r.info("server")
    assert "redis_version" in server
    r.set("a", 1)
    ks = r.info("keyspace")
    assert ks.get("db0", {}).get("keys") == 1


def test_config_get(r):
    assert r.config_get("maxmemory") == {"maxmemory": "0"}
    assert r.config_get("nonexistent-param") == {}
    mm = r.config_get("maxmemory*")
    assert "maxmemory" in mm and "maxmemory-policy" in mm
    with pytest.raises(redis.ResponseError):
        r.config_set("nonexistent-param", "x")


def test_select_db(candidate_server):
    c = _client(candidate_server, protocol=2, db=3)
    try:
        c.flushdb()
        c.set("in3", "v")
        assert c.get("in3") == b"v"
        c0 = _client(candidate_server, protocol=2, db=0)
        assert c0.get("in3") is None
        c0.close()
    finally:
        c.flushall()
        c.close()


def test_resp3_basic(r3):
    assert r3.ping() is True
    assert r3.set("k", "v") is True
    assert r3.get("k") == b"v"
    assert r3.get("missing") is None
    assert r3.mget("k", "missing") == [b"v", None]
    assert r3.incr("n") == 1
    assert r3.incrbyfloat("f", 2.5) == 2.5
    assert r3.expire("k", 100) is True
    assert r3.ttl("k") in (99, 100)
    assert r3.config_get("maxmemory") == {"maxmemory": "0"}
    assert r3.client_getname() is None
    assert r3.client_setname("resp3") is True
    assert r3.client_getname() in ("resp3", b"resp3")  # redis-py returns bytes under RESP3
    info = r3.info()
    assert "redis_version" in info
    with pytest.raises(redis.ResponseError, match="not an integer"):
        r3.incr("k")
    with r3.pipeline(transaction=False) as p:
        p.set("a", 1).get("a").get("missing")
        assert p.execute() == [True, b"1", None]
    assert sorted(r3.scan_iter()) == [b"a", b"f", b"k", b"n"]


def test_resp3_collections(r3):
    r3.hset("h", mapping={"f1": "v1", "f2": "v2"})
    assert r3.hgetall("h") == {b"f1": b"v1", b"f2": b"v2"}
    r3.sadd("s", "a", "b")
    assert r3.smembers("s") == {b"a", b"b"}
    r3.zadd("z", {"m": 1.5})
    assert r3.zscore("z", "m") == 1.5
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        r3.get("h")


def test_default_protocol_handshake(candidate_server):
    # whatever the redis-py default is (RESP3 in redis-py 8), it must work
    c = _client(candidate_server)
    try:
        assert c.ping() is True
        c.set("default-proto", "ok")
        assert c.get("default-proto") == b"ok"
    finally:
        c.close()


def test_decode_responses(candidate_server):
    c = _client(candidate_server, protocol=2, decode_responses=True)
    try:
        c.flushall()
        c.set("u", "caf\u00e9")
        assert c.get("u") == "caf\u00e9"
        assert c.strlen("u") == 5
    finally:
        c.close()


def test_many_connections(candidate_server):
    clients = [_client(candidate_server, protocol=2) for _ in range(20)]
    try:
        for i, c in enumerate(clients):
            c.set("conn:%d" % i, i)
        for i, c in enumerate(clients):
            assert c.get("conn:%d" % ((i + 1) % 20)) == str((i + 1) % 20).encode()
    finally:
        for c in clients:
            c.close()


def _wait_message(p, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = p.get_message(timeout=0.2)
        if m is not None:
            return m
    raise AssertionError("no pub/sub message within %.0f s" % timeout)


@pytest.mark.parametrize("protocol", [2, 3])
def test_pubsub_object(candidate_server, protocol):
    """redis-py's PubSub: subscribe, psubscribe, messages, handlers, unsubscribe, as an application uses it."""
    pub = _client(candidate_server)
    sub = _client(candidate_server, protocol=protocol)
    p = sub.pubsub()
    p.subscribe("news", "sport")
    assert _wait_message(p) == {"type": "subscribe", "pattern": None, "channel": b"news", "data": 1}
    assert _wait_message(p)["data"] == 2
    p.psubscribe("w*")
    assert _wait_message(p) == {"type": "psubscribe", "pattern": None, "channel": b"w*", "data": 3}
    assert pub.publish("news", "hello") == 1
    assert pub.publish("weather", "sunny") == 1
    assert pub.pubsub_numsub("news", "sport", "none") == [(b"news", 1), (b"sport", 1), (b"none", 0)]
    assert pub.pubsub_numpat() == 1
    assert sorted(pub.pubsub_channels()) == [b"news", b"sport"]
    assert _wait_message(p) == {"type": "message", "pattern": None, "channel": b"news", "data": b"hello"}
    assert _wait_message(p) == {"type": "pmessage", "pattern": b"w*", "channel": b"weather", "data": b"sunny"}
    received = []
    p.subscribe(alerts=lambda m: received.append(m["data"]))
    _wait_message(p)
    pub.publish("alerts", "fire")
    deadline = time.monotonic() + 5
    while not received and time.monotonic() < deadline:
        p.get_message(timeout=0.2)
    assert received == [b"fire"]
    p.unsubscribe()
    p.punsubscribe()
    kinds = set()
    for _ in range(4):
        kinds.add(_wait_message(p)["type"])
    assert kinds == {"unsubscribe", "punsubscribe"}
    assert pub.pubsub_numsub("news") == [(b"news", 0)]
    p.close()


def test_pubsub_run_in_thread(candidate_server):
    pub = _client(candidate_server)
    sub = _client(candidate_server)
    got = []
    p = sub.pubsub(ignore_subscribe_messages=True)
    p.subscribe(**{"jobs": lambda m: got.append(m["data"])})
    thread = p.run_in_thread(sleep_time=0.01)
    try:
        deadline = time.monotonic() + 5
        while pub.pubsub_numsub("jobs") != [(b"jobs", 1)] and time.monotonic() < deadline:
            time.sleep(0.01)
        for i in range(100):
            pub.publish("jobs", str(i))
        while len(got) < 100 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        thread.stop()
        thread.join(timeout=5)
    assert got == [str(i).encode() for i in range(100)]
