"""Seeded randomized differential test of the hash and set families.

Thousands of random HSET/HDEL/HINCRBY*/HRANDFIELD/HSCAN/SADD/SREM/SPOP/SMOVE/SINTER*/SUNION*/SDIFF*/...
commands run over a handful of keys on the real Redis and on the candidate; every reply is compared:

* exactly, by default (errors included);
* as a multiset where Redis's order is not reproducible (HGETALL, HKEYS, HVALS, SMEMBERS, SINTER, SUNION, SDIFF
  of a `hashtable`-encoded result); a mismatch in order is only accepted when the key is `hashtable`-encoded,
  so listpack insertion order and sorted intsets are checked exactly;
* by shape and membership for random picks (SPOP, SRANDMEMBER, HRANDFIELD), after which the popped members
  are removed from the other server too, so both keep the same contents;
* HSCAN/SSCAN by a full iteration on each server, compared as sets.

Small listpack/intset limits are set so that conversions happen often. The seed is printed on failure.
"""

import random

import pytest

from support.resp import Node

KEYS = [b"h1", b"h2", b"s1", b"s2", b"s3", b"str"]
FIELDS = [b"f%d" % i for i in range(14)] + [b"", b"x" * 70, b"\x00\xff"]
INTS = [b"%d" % i for i in range(-3, 14)] + [b"9223372036854775807", b"-9223372036854775808", b"01", b"+1"]
WORDS = [b"a", b"b", b"c", b"d", b"e", b"", b"y" * 66]


def member(rng):
    return rng.choice(INTS) if rng.random() < 0.7 else rng.choice(WORDS)


def value(rng):
    r = rng.random()
    if r < 0.4:
        return b"%d" % rng.randint(-100, 100)
    if r < 0.5:
        return b"%.3f" % rng.uniform(-10, 10)
    if r < 0.55:
        return b"z" * rng.choice([63, 64, 65, 100])
    return rng.choice(WORDS + [b"v1", b"v2", b"9223372036854775807"])


def hkey(rng):
    return rng.choice(KEYS[:2] + [rng.choice(KEYS)])


def skey(rng):
    return rng.choice(KEYS[2:5] + [rng.choice(KEYS)])


def count_arg(rng):
    return str(rng.choice([0, 1, 2, 3, 5, 8, 20, -1, -3, -12])).encode()


def gen(rng):
    """One random command and how to compare its reply."""
    k = rng.random()
    if k < 0.5:
        h = hkey(rng)
        op = rng.choice(["hset", "hset", "hsetnx", "hget", "hmget", "hdel", "hlen", "hstrlen", "hexists", "hkeys",
                         "hvals", "hgetall", "hincrby", "hincrbyfloat", "hrandfield", "hscan", "hmset"])
        f = lambda: rng.choice(FIELDS)
        if op in ("hset", "hmset"):
            args = [op.upper().encode(), h]
            for _ in range(rng.randint(1, 4)):
                args += [f(), value(rng)]
            return args, "exact"
        if op == "hsetnx":
            return [b"HSETNX", h, f(), value(rng)], "exact"
        if op == "hget":
            return [b"HGET", h, f()], "exact"
        if op == "hmget":
            return [b"HMGET", h] + [f() for _ in range(rng.randint(1, 4))], "exact"
        if op == "hdel":
            return [b"HDEL", h] + [f() for _ in range(rng.randint(1, 4))], "exact"
        if op in ("hlen", "hkeys", "hvals", "hgetall"):
            return [op.upper().encode(), h], ("exact" if op == "hlen" else "order")
        if op in ("hstrlen", "hexists"):
            return [op.upper().encode(), h, f()], "exact"
        if op == "hincrby":
            return [b"HINCRBY", h, f(), rng.choice([b"1", b"-5", b"100", b"x", b"9223372036854775807"])], "exact"
        if op == "hincrbyfloat":
            return [b"HINCRBYFLOAT", h, f(), rng.choice([b"1.5", b"-0.25", b"3", b"x", b"1e3"])], "exact"
        if op == "hrandfield":
            r = rng.random()
            if r < 0.3:
                return [b"HRANDFIELD", h], "random"
            if r < 0.6:
                return [b"HRANDFIELD", h, count_arg(rng)], "random"
            return [b"HRANDFIELD", h, count_arg(rng), b"WITHVALUES"], "random"
        return [b"HSCAN", h], "scan"
    s = skey(rng)
    op = rng.choice(["sadd", "sadd", "srem", "smembers", "sismember", "smismember", "scard", "spop", "srandmember",
                     "smove", "sinter", "sintercard", "sinterstore", "sunion", "sunionstore", "sdiff", "sdiffstore",
                     "sscan"])
    if op == "sadd":
        return [b"SADD", s] + [member(rng) for _ in range(rng.randint(1, 5))], "exact"
    if op == "srem":
        return [b"SREM", s] + [member(rng) for _ in range(rng.randint(1, 4))], "exact"
    if op == "smembers":
        return [b"SMEMBERS", s], "order"
    if op == "sismember":
        return [b"SISMEMBER", s, member(rng)], "exact"
    if op == "smismember":
        return [b"SMISMEMBER", s] + [member(rng) for _ in range(rng.randint(1, 4))], "exact"
    if op == "scard":
        return [b"SCARD", s], "exact"
    if op == "spop":
        return ([b"SPOP", s] if rng.random() < 0.5 else [b"SPOP", s, count_arg(rng).lstrip(b"-")]), "pop"
    if op == "srandmember":
        return ([b"SRANDMEMBER", s] if rng.random() < 0.3 else [b"SRANDMEMBER", s, count_arg(rng)]), "random"
    if op == "smove":
        return [b"SMOVE", s, skey(rng), member(rng)], "exact"
    others = [skey(rng) for _ in range(rng.randint(0, 2))]
    if op == "sintercard":
        args = [b"SINTERCARD", str(1 + len(others)).encode(), s] + others
        if rng.random() < 0.4:
            args += [b"LIMIT", rng.choice([b"0", b"1", b"2", b"-1"])]
        return args, "exact"
    if op.endswith("store"):
        return [op.upper().encode(), rng.choice(KEYS[2:5]), s] + others, "exact"
    if op == "sscan":
        return [b"SSCAN", s], "scan"
    return [op.upper().encode(), s] + others, "order"


def encoding(conn, key):
    return conn.execute(b"OBJECT", b"ENCODING", key).value


def full_scan(conn, args):
    """Every item a complete HSCAN/SSCAN iteration returns (pairs for HSCAN), as a set; or the error bytes."""
    cursor = b"0"
    items = set()
    for _ in range(100000):
        reply = conn.execute(*(args + [cursor, b"COUNT", b"3"]))
        if reply.is_error:
            return reply.raw
        cursor = reply.value[0].value
        values = [n.value for n in reply.value[1].value]
        if args[0] == b"HSCAN":
            values = list(zip(values[0::2], values[1::2]))
        items.update(values)
        if cursor == b"0":
            return items
    raise AssertionError("scan did not terminate")


def elements(node):
    """The elements of a random-pick reply, flattened to (field, value) pairs for nested RESP3 pairs."""
    out = []
    for c in node.value:
        if c.type == "*":
            out.append((c.value[0].value, c.value[1].value))
        else:
            out.append(c.value)
    return out


def contents(conn, key):
    t = conn.execute(b"TYPE", key).value
    if t == b"hash":
        return t, sorted(n.value for n in conn.execute(b"HGETALL", key).value)
    if t == b"set":
        return t, sorted(n.value for n in conn.execute(b"SMEMBERS", key).value)
    return t, None


def resync_set(ref, cand, key):
    """After a random pop, rebuild the candidate's set from Redis's contents (built fresh, it is at least as
    compact as Redis's, so an exact-order check never fails on the candidate's side)."""
    cand.execute(b"DEL", key)
    reply = ref.execute(b"SMEMBERS", key)
    if reply.value:
        cand.execute(b"SADD", key, *[n.value for n in reply.value])


def run_seed(seed, resp3, ref, cand, steps):
    rng = random.Random(seed)
    for conn in (ref, cand):
        if resp3:
            conn.execute(b"HELLO", b"3")
        conn.execute(b"FLUSHALL")
        conn.execute(b"SET", b"str", b"text")
    for step in range(steps):
        args, mode = gen(rng)
        where = "seed %d resp%d step %d: %r" % (seed, 3 if resp3 else 2, step, b" ".join(args))
        if step % 97 == 0:
            for key in KEYS:
                assert contents(ref, key) == contents(cand, key), "%s: contents of %r differ" % (where, key)
        if mode == "scan":
            assert full_scan(ref, list(args)) == full_scan(cand, list(args)), where
            continue
        a = ref.execute(*args)
        b = cand.execute(*args)
        detail = "%s\n  redis: %r\n  cand:  %r" % (where, a.raw[:300], b.raw[:300])
        if mode == "exact" or a.is_error or b.is_error:
            assert a.raw == b.raw, detail
            continue
        if mode == "order":
            if a.raw != b.raw:
                assert a.type == b.type and a.is_aggregate and b.is_aggregate, detail
                assert sorted(c.raw for c in a.value) == sorted(c.raw for c in b.value), detail
                if args[0] in (b"HGETALL", b"HKEYS", b"HVALS", b"SMEMBERS"):
                    assert encoding(ref, args[1]) == b"hashtable", "order differs on a compact encoding: " + detail
            continue
        key = args[1]
        assert a.type == b.type and a.is_null == b.is_null, detail
        if not a.is_aggregate:
            # one random pick: a member of the collection (checked on Redis's copy)
            if not b.is_null:
                if args[0] == b"HRANDFIELD":
                    assert ref.execute(b"HEXISTS", key, b.value).value == b"1", detail
                elif mode == "random":
                    assert ref.execute(b"SISMEMBER", key, b.value).value == b"1", detail
            if mode == "pop" and a.raw != b.raw:
                # the candidate popped from the same contents: still in Redis's set
                assert ref.execute(b"SISMEMBER", key, b.value).value == b"1", detail
                resync_set(ref, cand, key)
            continue
        # random picks with a count: same length, every element from the collection, distinct unless negative
        assert len(a.value) == len(b.value), detail
        negative = len(args) > 2 and args[2].startswith(b"-")
        if args[0] == b"HRANDFIELD":
            flat = [n.value for n in ref.execute(b"HGETALL", key).value]
            pairs = dict(zip(flat[0::2], flat[1::2]))
            got = elements(b)
            if len(args) == 4:
                if not resp3:
                    got = list(zip(got[0::2], got[1::2]))
                assert all(pairs.get(f) == v for f, v in got), detail
                fields = [f for f, _ in got]
            else:
                fields = got
                assert all(f in pairs for f in fields), detail
            if not negative:
                assert len(set(fields)) == len(fields), "repeated fields: " + detail
            continue
        got = [n.value for n in b.value]
        if mode == "pop":
            assert len(set(got)) == len(got), "repeated members: " + detail
            if a.raw != b.raw:
                # the candidate popped from the same contents: what Redis kept plus what Redis popped
                before = set(n.value for n in ref.execute(b"SMEMBERS", key).value) | set(n.value for n in a.value)
                assert set(got) <= before, detail
                resync_set(ref, cand, key)
            continue
        members = set(n.value for n in ref.execute(b"SMEMBERS", key).value)
        assert all(m in members for m in got), detail
        if not negative:
            assert len(set(got)) == len(got), "repeated members: " + detail
    for key in KEYS:
        assert contents(ref, key) == contents(cand, key), "seed %d end: contents of %r differ" % (seed, key)


CONFIG = [(b"hash-max-listpack-entries", b"8"), (b"hash-max-listpack-value", b"64"),
          (b"set-max-intset-entries", b"8")]


@pytest.mark.parametrize("seed,resp3", [(1, False), (2, True), (3, False), (4, True), (5, False)])
def test_random_hashsets(seed, resp3, reference_server, candidate_server):
    ref = reference_server.connect()
    cand = candidate_server.connect()
    saved = []
    try:
        for name, v in CONFIG:
            saved.append((name, ref.execute(b"CONFIG", b"GET", name).value[1].value))
            for conn in (ref, cand):
                assert not conn.execute(b"CONFIG", b"SET", name, v).is_error
        run_seed(seed, resp3, ref, cand, steps=3000)
    finally:
        for name, v in saved:
            for conn in (ref, cand):
                conn.execute(b"CONFIG", b"SET", name, v)
        ref.close()
        cand.close()
