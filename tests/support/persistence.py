"""What the persistence suites share: servers started on a private directory, INFO as a dict, and a dataset
over every type and encoding, compared key by key with type-specific reads (never through DUMP, so that a
wrong DUMP cannot hide a wrong load).
"""

import random

from support.servers import ServerProcess, candidate_argv, free_port, require_tool

FAR = 4102444800000  # 2100-01-01 in ms: a deterministic absolute expiry


def call(conn, *args):
    conn.send_command(*args)
    return conn.read_reply().to_python()


def build_dataset(conn, seed=1):
    rng = random.Random(seed)
    call(conn, "FLUSHALL")
    call(conn, "SELECT", 0)
    # Strings: int, negative and 64-bit ints, embstr, raw, compressible, binary, empty, int-like text.
    call(conn, "SET", "s:int", "12345")
    call(conn, "SET", "s:neg", "-7")
    call(conn, "SET", "s:i64", "-9223372036854775808")
    call(conn, "SET", "s:i40", "1099511627776")
    call(conn, "SET", "s:emb", "hello world")
    call(conn, "SET", "s:raw", "".join(rng.choice("abcdefghijklmnop0123") for _ in range(300)))
    call(conn, "SET", "s:zip", "a" * 5000)
    call(conn, "SET", "s:bin", bytes(range(256)) * 3)
    call(conn, "SET", "s:empty", "")
    call(conn, "SET", "s:lead0", "0123")
    call(conn, "SET", "s:exp", "v")
    call(conn, "PEXPIREAT", "s:exp", FAR)
    # Lists: small, large (many nodes), mixed ints, a big element.
    call(conn, "RPUSH", "l:small", "a", "1", "-300", "70000", "5000000000", "x" * 70)
    call(conn, "RPUSH", "l:big", *["item-%d" % i for i in range(20000)])
    call(conn, "RPUSH", "l:ints", *[str(rng.randint(-(1 << 40), 1 << 40)) for _ in range(3000)])
    call(conn, "RPUSH", "l:huge", "y" * 100000, "z")
    call(conn, "LPUSH", "l:exp", "q")
    call(conn, "PEXPIREAT", "l:exp", FAR)
    # Hashes: listpack, hashtable by count, hashtable by value length.
    call(conn, "HSET", "h:small", "f1", "v1", "f2", "22", "n", "-5")
    call(conn, "HSET", "h:big", *sum([["field%d" % i, "value%d" % i] for i in range(1000)], []))
    call(conn, "HSET", "h:long", "f", "v" * 100)
    # Sets: intset (16/32/64-bit), hashtable by count, hashtable by strings.
    call(conn, "SADD", "set:i16", "1", "2", "-3")
    call(conn, "SADD", "set:i32", "100000", "-5")
    call(conn, "SADD", "set:i64", "5000000000", "1")
    call(conn, "SADD", "set:bigints", *[str(i) for i in range(1000)])
    call(conn, "SADD", "set:str", "a", "b", "c", "1")
    # Sorted sets: listpack, skiplist by count, skiplist by member length, special scores.
    call(conn, "ZADD", "z:small", "1.5", "a", "-2", "b", "3", "c", "0.1", "d", "1e300", "e")
    call(conn, "ZADD", "z:big", *sum([[str(i / 7), "m%d" % i] for i in range(1000)], []))
    call(conn, "ZADD", "z:long", "1", "x" * 100, "2", "y")
    call(conn, "ZADD", "z:inf", "inf", "p", "-inf", "n", "0", "z")
    call(conn, "ZADD", "z:bigints", *sum([[str(i * 1000), "k%d" % i] for i in range(300)], []))
    # Other databases.
    call(conn, "SELECT", 1)
    call(conn, "SET", "db1:key", "one")
    call(conn, "RPUSH", "db1:list", "a", "b")
    call(conn, "SELECT", 5)
    call(conn, "HSET", "db5:hash", "k", "v")
    call(conn, "SET", "db5:exp", "x")
    call(conn, "PEXPIREAT", "db5:exp", FAR)
    call(conn, "SELECT", 0)


DATABASES = [0, 1, 5]


def describe_key(conn, key):
    kind = call(conn, "TYPE", key)
    encoding = call(conn, "OBJECT", "ENCODING", key)
    if kind == "string":
        content = call(conn, "GET", key)
    elif kind == "list":
        content = call(conn, "LRANGE", key, 0, -1)
    elif kind == "hash":
        flat = call(conn, "HGETALL", key)
        content = sorted(zip(flat[::2], flat[1::2]))
    elif kind == "set":
        content = sorted(call(conn, "SMEMBERS", key))
    elif kind == "zset":
        content = call(conn, "ZRANGE", key, 0, -1, "WITHSCORES")
    else:
        content = None
    return (kind, encoding, content, call(conn, "PEXPIRETIME", key))


def snapshot(conn, databases=DATABASES):
    """Every key of `databases`: (db, key) -> (type, encoding, content, PEXPIRETIME)."""
    out = {}
    for db in databases:
        call(conn, "SELECT", db)
        for key in sorted(call(conn, "KEYS", "*")):
            out[(db, key)] = describe_key(conn, key)
    call(conn, "SELECT", 0)
    return out


def compare(expected, actual):
    assert sorted(expected) == sorted(actual)
    for k in expected:
        assert actual[k] == expected[k], k


def start_swiftlet(directory, *extra, start=True):
    """The candidate with `--dir directory` and the extra arguments; started unless start=False."""
    port = free_port()
    argv = candidate_argv(port) + ["--dir", str(directory)] + [str(a) for a in extra]
    server = ServerProcess("swiftlet-persistence", argv, port)
    if start:
        server.start()
    return server


def start_redis(directory, *extra, port=None):
    """redis-server with `--dir directory`, no save points, and the extra arguments (they win)."""
    port = port or free_port()
    argv = [require_tool("redis-server"), "--port", str(port), "--dir", str(directory), "--save", ""]
    server = ServerProcess("redis-persistence", argv + [str(a) for a in extra], port)
    server.start()
    return server


def info(conn, section="persistence"):
    """One INFO section as a dict of field -> string."""
    text = call(conn, "INFO", section)
    if isinstance(text, bytes):
        text = text.decode()
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line and not line.startswith("#"))
