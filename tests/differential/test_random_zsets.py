"""Seeded randomized differential test for the sorted-set family.

Thousands of random sorted-set commands over a few keys run on real Redis and
on the candidate; every reply must be byte-identical (RESP2 and RESP3), except
where Redis itself is random (ZRANDMEMBER samples, ZSCAN cursor order), which
are compared by shape or as a set.

Keys: `small` stays a listpack (few members, so lex ranges over mixed scores are
defined by Redis's scan order), `big` grows into a skiplist, `lex` holds only
score 0 (lex ranges are defined), `dst`/`big2` receive STORE results, `str` is a
string for WRONGTYPE.
"""

import os
import random

import pytest

from support.resp import RespConnection

SEED = int(os.environ.get("ZSET_RANDOM_SEED", "20240607"))
STEPS = int(os.environ.get("ZSET_RANDOM_STEPS", "6000"))

SMALL_POOL = ["a", "b", "c", "d", "e", "f", "g", "h", "aa", "ab", "b\x00", "", "10", "-1", "zz"]
BIG_POOL = ["m%d" % i for i in range(400)] + ["x" * 70, "y" * 65]
LEX_POOL = ["%s%d" % (p, i) for p in ("a", "b", "c", "ab") for i in range(60)]
ZKEYS = ["small", "big", "dst", "big2", "lex", "missing"]


def rand_score(r):
    k = r.random()
    if k < 0.45:
        return str(r.randint(-20, 20))
    if k < 0.65:
        return str(r.randint(-4, 4) + r.choice([0.5, 0.25, 0.1, 0.3]))
    if k < 0.72:
        return r.choice(["inf", "-inf", "+inf", "-0", "0"])
    if k < 0.78:
        return r.choice(["1e17", "123456789012345678", "4611686018427387904", "1e-5", "-2.5e10", "0x10"])
    if k < 0.80:
        return r.choice(["nan", "abc", "", "1e400"])
    return "%.3f" % r.uniform(-100, 100)


def rand_range_bound(r):
    k = r.random()
    if k < 0.1:
        return r.choice(["-inf", "+inf", "inf"])
    if k < 0.13:
        return r.choice(["nan", "x", "(", ""])
    s = rand_score(r) if k < 0.4 else str(r.randint(-20, 20))
    if s in ("nan", "abc"):
        return s
    return ("(" if r.random() < 0.35 else "") + s


def rand_lex_bound(r, pool):
    k = r.random()
    if k < 0.12:
        return r.choice(["-", "+"])
    if k < 0.15:
        return r.choice(["a", "", "+x", "-x"])
    m = r.choice(pool) if r.random() < 0.7 else r.choice(["a", "b", "ab", "c", "a3", "b5", "zz", ""])
    return r.choice(["[", "("]) + m


def rand_index(r, n=30):
    return str(r.choice([r.randint(-n, n), r.randint(-3, 3), 0, -1]))


def member_for(r, key):
    if key == "small":
        return r.choice(SMALL_POOL)
    if key == "lex":
        return r.choice(LEX_POOL)
    return r.choice(BIG_POOL) if r.random() < 0.9 else r.choice(SMALL_POOL)


def gen_command(r):
    """One random command: (args, mode) where mode is 'exact', 'type' or 'scanset'."""
    key = r.choice(["small", "small", "big", "big", "big", "dst", "big2", "missing", "str"])
    c = r.random()
    if c < 0.20:
        if key == "lex" or r.random() < 0.15:
            n = r.randint(1, 6)
            args = ["ZADD", "lex"]
            for _ in range(n):
                args += ["0", r.choice(LEX_POOL)]
            return args, "exact"
        opts = []
        for o in ("NX", "XX", "GT", "LT", "CH", "INCR"):
            if r.random() < 0.08:
                opts.append(o)
        n = 1 if "INCR" in opts and r.random() < 0.9 else r.randint(1, 8)
        args = ["ZADD", key] + opts
        for _ in range(n):
            args += [rand_score(r), member_for(r, key)]
        if r.random() < 0.02:
            args.pop()
        return args, "exact"
    if c < 0.26:
        return ["ZINCRBY", key, rand_score(r), member_for(r, key)], "exact"
    if c < 0.30:
        return ["ZREM", key] + [member_for(r, key) for _ in range(r.randint(1, 4))], "exact"
    if c < 0.36:
        return [r.choice(["ZSCORE", "ZRANK", "ZREVRANK"]), key, member_for(r, key)], "exact"
    if c < 0.38:
        return ["ZMSCORE", key] + [member_for(r, key) for _ in range(r.randint(1, 4))], "exact"
    if c < 0.40:
        return [r.choice(["ZCARD"]), key], "exact"
    if c < 0.44:
        return ["ZCOUNT", key, rand_range_bound(r), rand_range_bound(r)], "exact"
    if c < 0.47:
        lk = r.choice(["lex", "small", "nokey", "str"])
        pool = LEX_POOL if lk == "lex" else SMALL_POOL
        return ["ZLEXCOUNT", lk, rand_lex_bound(r, pool), rand_lex_bound(r, pool)], "exact"
    if c < 0.60:
        kind = r.choice(["rank", "rank", "score", "lex"])
        args = ["ZRANGE"]
        if kind == "lex":
            lk = r.choice(["lex", "small", "nokey"])
            pool = LEX_POOL if lk == "lex" else SMALL_POOL
            args += [lk, rand_lex_bound(r, pool), rand_lex_bound(r, pool), "BYLEX"]
        elif kind == "score":
            args += [key, rand_range_bound(r), rand_range_bound(r), "BYSCORE"]
        else:
            args += [key, rand_index(r), rand_index(r)]
        if r.random() < 0.4:
            args.append("REV")
        if kind != "lex" and r.random() < 0.5:
            args.append("WITHSCORES")
        if kind != "rank" and r.random() < 0.4:
            args += ["LIMIT", str(r.randint(-1, 8)), str(r.randint(-2, 8))]
        if r.random() < 0.03:
            r.shuffle(args[4:])
        return args, "exact"
    if c < 0.66:
        legacy = r.choice(["ZREVRANGE", "ZRANGEBYSCORE", "ZREVRANGEBYSCORE", "ZRANGEBYLEX", "ZREVRANGEBYLEX"])
        if "LEX" in legacy:
            lk = r.choice(["lex", "small"])
            pool = LEX_POOL if lk == "lex" else SMALL_POOL
            args = [legacy, lk, rand_lex_bound(r, pool), rand_lex_bound(r, pool)]
        elif legacy == "ZREVRANGE":
            args = [legacy, key, rand_index(r), rand_index(r)]
        else:
            args = [legacy, key, rand_range_bound(r), rand_range_bound(r)]
        if "LEX" not in legacy and r.random() < 0.5:
            args.append("WITHSCORES")
        if legacy != "ZREVRANGE" and r.random() < 0.4:
            args += ["LIMIT", str(r.randint(-1, 6)), str(r.randint(-2, 6))]
        return args, "exact"
    if c < 0.69:
        dst = r.choice(["dst", "big2"])
        kind = r.choice(["rank", "score", "lex"])
        if kind == "lex":
            lk = r.choice(["lex", "small"])
            pool = LEX_POOL if lk == "lex" else SMALL_POOL
            args = ["ZRANGESTORE", dst, lk, rand_lex_bound(r, pool), rand_lex_bound(r, pool), "BYLEX"]
        elif kind == "score":
            args = ["ZRANGESTORE", dst, key, rand_range_bound(r), rand_range_bound(r), "BYSCORE"]
        else:
            args = ["ZRANGESTORE", dst, key, rand_index(r, 200), rand_index(r, 200)]
        if r.random() < 0.3:
            args.append("REV")
        if kind != "rank" and r.random() < 0.3:
            args += ["LIMIT", str(r.randint(0, 5)), str(r.randint(-1, 150))]
        return args, "exact"
    if c < 0.73:
        kind = r.choice(["ZREMRANGEBYRANK", "ZREMRANGEBYSCORE", "ZREMRANGEBYLEX"])
        if kind == "ZREMRANGEBYLEX":
            lk = r.choice(["lex", "small"])
            pool = LEX_POOL if lk == "lex" else SMALL_POOL
            return [kind, lk, rand_lex_bound(r, pool), rand_lex_bound(r, pool)], "exact"
        if kind == "ZREMRANGEBYRANK":
            return [kind, key, rand_index(r, 10), rand_index(r, 10)], "exact"
        return [kind, key, rand_range_bound(r), rand_range_bound(r)], "exact"
    if c < 0.78:
        cmd = r.choice(["ZPOPMIN", "ZPOPMAX"])
        pk = r.choice([key, "lex"])
        if r.random() < 0.5:
            return [cmd, pk], "exact"
        return [cmd, pk, str(r.choice([0, 1, 2, 3, 5, -1]))], "exact"
    if c < 0.80:
        keys = r.sample(ZKEYS + ["str"], r.randint(1, 3))
        args = ["ZMPOP", str(len(keys))] + keys + [r.choice(["MIN", "MAX"])]
        if r.random() < 0.5:
            args += ["COUNT", str(r.randint(0, 4))]
        return args, "exact"
    if c < 0.83:
        n = r.choice([5, 10, 200, 1000])
        args = ["ZRANDMEMBER", key, str(n)]
        if r.random() < 0.5:
            args.append("WITHSCORES")
        # a count at least the size returns the whole set in a defined order
        if n >= 1000:
            return args, "exact"
        return args, "type"
    if c < 0.95:
        op = r.choice(["ZUNION", "ZINTER", "ZDIFF", "ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE", "ZINTERCARD"])
        keys = [r.choice(["small", "big", "dst", "big2", "missing", "small", "big"]) for _ in range(r.randint(1, 3))]
        if r.random() < 0.03:
            keys.append("str")
        args = [op]
        if op.endswith("STORE"):
            args.append(r.choice(["dst", "big2", "dst"]))
        args += [str(len(keys))] + keys
        if op in ("ZUNION", "ZINTER", "ZUNIONSTORE", "ZINTERSTORE"):
            if r.random() < 0.4:
                args += ["WEIGHTS"] + [r.choice(["1", "2", "-1", "0.5", "0", "inf", "3.3"]) for _ in keys]
            if r.random() < 0.4:
                args += ["AGGREGATE", r.choice(["SUM", "MIN", "MAX"])]
        if op in ("ZUNION", "ZINTER", "ZDIFF") and r.random() < 0.6:
            args.append("WITHSCORES")
        if op == "ZINTERCARD" and r.random() < 0.5:
            args += ["LIMIT", str(r.randint(0, 5))]
        return args, "exact"
    if c < 0.97:
        return ["ZSCAN", key, "0", "COUNT", "1000"], "scanset"
    return ["OBJECT", "ENCODING", r.choice(ZKEYS)], "exact"


def _scan_items(node):
    cursor, items = node.value
    return cursor.value, sorted(i.value for i in items.value)


def _compare(mode, a, b):
    if mode == "exact":
        return a.raw == b.raw
    if mode == "type":
        return a.shape() == b.shape() if hasattr(a, "shape") else a.type == b.type
    if mode == "scanset":
        if a.is_error or b.is_error:
            return a.raw == b.raw
        return _scan_items(a) == _scan_items(b)
    raise AssertionError(mode)


@pytest.mark.parametrize("protocol", [2, 3])
def test_random_zsets(protocol, reference_server, candidate_server):
    r = random.Random(SEED + protocol)
    ref = RespConnection(reference_server.host, reference_server.port, timeout=20)
    cand = RespConnection(candidate_server.host, candidate_server.port, timeout=20)
    try:
        for c in (ref, cand):
            assert c.execute("FLUSHALL").raw == b"+OK\r\n"
            c.execute("SET", "str", "x")
            if protocol == 3:
                c.execute("HELLO", "3")
        failures = []
        for step in range(STEPS):
            args, mode = gen_command(r)
            a = ref.execute(*args)
            b = cand.execute(*args)
            if not _compare(mode, a, b):
                failures.append("step %d: %r\n  redis:     %r\n  candidate: %r" % (step, args, a.raw[:600], b.raw[:600]))
                if len(failures) >= 10:
                    break
            if step % 500 == 499:
                for k in ZKEYS:
                    full = ["ZRANGE", k, "0", "-1", "WITHSCORES"]
                    fa, fb = ref.execute(*full), cand.execute(*full)
                    if fa.raw != fb.raw:
                        failures.append("step %d: contents of %s differ" % (step, k))
        assert not failures, "\n".join(failures)
    finally:
        ref.close()
        cand.close()
