"""Seeded randomized differential test of SORT and SORT_RO.

Thousands of random SORT / SORT_RO calls (BY weights from string keys and hash fields, present or missing, GET
patterns, LIMIT, ASC/DESC, ALPHA, STORE) run between random writes to the sorted keys and to their weights, on
the real Redis and on the candidate; every reply is compared exactly, except where Redis's own order is not
reproducible:

* `BY nosort` over a `hashtable` set without STORE replies in hash-table order: compared as a multiset (and run
  without LIMIT, which would pick an arbitrary subset);
* ALPHA with BY keeps equal weights in input order, and the input order of a `hashtable` set or a sorted set
  (before sorting) is hash-table order: ALPHA + BY runs on lists and intsets only, whose input order is fixed.
  Lists have duplicates and missing weights, so ties are common: with LIMIT they exercise Redis's partial
  quicksort, without it glibc's stable merge sort.

Values out of double range never appear: Redis keeps a stale ERANGE in errno after them (see sort.txt).
"""

import random

import pytest

from support.resp import RespConnection

LISTS = ["l1", "l2", "l3"]
SETS = ["si", "sh"]
ZSETS = ["z"]
SOURCES = LISTS + SETS + ZSETS + ["str", "missing"]
NUMS = ["0", "1", "2", "3", "7", "10", "-1", "-5", "1.5", "-0.5", "1e2", "0x10", "+4", "007", "-0", "inf",
        "-inf", "42", "99", "3.25", "100"]
INTS = ["0", "1", "2", "3", "5", "8", "13", "-1", "-7", "40", "41", "1000"]
WORDS = ["a", "b", "B", "aa", "ab", "", "x y", "z", "\xe9", "A", "m"]
NUL_WORDS = ["a\x00b", "a\x00c", "a\x00"]
WEIGHTS = NUMS + ["", "3", "3", "1", "abc"]
ALPHA_WEIGHTS = WORDS + ["a", "a", "b", "b\x00x", "b\x00y"]


def list_element(rng, key="l2"):
    if key == "l1":
        return rng.choice(NUMS)
    r = rng.random()
    if r < 0.6:
        return rng.choice(NUMS[:14])
    if r < 0.95:
        return rng.choice(WORDS)
    return rng.choice(NUL_WORDS)


def set_member(rng, key):
    if key == "si":
        return rng.choice(INTS)
    return rng.choice(NUMS[:14] + WORDS) if rng.random() < 0.9 else rng.choice(INTS)


def limit(rng):
    r = rng.random()
    if r < 0.1:
        return ["LIMIT", rng.choice(["-3", "0", "9223372036854775807", "-9223372036854775808"]),
                rng.choice(["-1", "0", "9223372036854775807", "5"])]
    return ["LIMIT", str(rng.randint(-2, 30)), str(rng.randint(-2, 30))]


def write(rng):
    kind = rng.random()
    if kind < 0.3:
        key = rng.choice(LISTS)
        return [rng.choice(["RPUSH", "LPUSH"]), key] + [list_element(rng, key) for _ in range(rng.randint(1, 12))]
    if kind < 0.38:
        return ["LREM", rng.choice(LISTS), str(rng.randint(-2, 2)), list_element(rng)]
    if kind < 0.5:
        key = rng.choice(SETS)
        return ["SADD", key] + [set_member(rng, key) for _ in range(rng.randint(1, 8))]
    if kind < 0.55:
        key = rng.choice(SETS)
        return ["SREM", key] + [set_member(rng, key) for _ in range(rng.randint(1, 4))]
    if kind < 0.65:
        args = ["ZADD", "z"]
        for _ in range(rng.randint(1, 6)):
            args += [rng.choice(["1", "2", "3", "-1", "0.5", "2"]), rng.choice(NUMS[:14] + WORDS)]
        return args
    if kind < 0.68:
        return ["ZREM", "z", rng.choice(NUMS[:14] + WORDS)]
    target = rng.choice(NUMS[:14] + WORDS + INTS)
    if kind < 0.8:
        return ["SET", "w_" + target, rng.choice(WEIGHTS + ALPHA_WEIGHTS)]
    if kind < 0.9:
        args = ["HSET", "h_" + target]
        if rng.random() < 0.6:
            args += ["n", rng.choice(WEIGHTS)]
        if rng.random() < 0.6:
            args += ["a", rng.choice(ALPHA_WEIGHTS)]
        return args if len(args) > 2 else args + ["n", "1"]
    if kind < 0.95:
        return ["DEL", rng.choice(["w_", "h_"]) + target]
    return ["HDEL", "h_" + target, rng.choice(["n", "a"])]


def sort(rng):
    """A random SORT; returns (command, compare as multiset)."""
    source = rng.choices(SOURCES, weights=[5, 5, 3, 3, 3, 4, 1, 1])[0]
    readonly = rng.random() < 0.2
    args = ["SORT_RO" if readonly else "SORT", source]
    alpha = rng.random() < 0.4
    by = None
    r = rng.random()
    if r < 0.25:
        by = rng.choice(["nosort", "nosort", "const", "w_\x00*"])
    elif r < 0.6:
        if alpha:
            by = rng.choice(["w_*", "h_*->a", "nokey_*", "h_*->missing"])
        else:
            by = rng.choice(["w_*", "h_*->n", "nokey_*", "h_*"])
    ordered_input = source in LISTS or source in ("si", "missing", "str")
    if alpha and by and "*" in by.split("\x00")[0] and not ordered_input:
        by = "nosort"
    store = not readonly and rng.random() < 0.25
    unordered = by is not None and "*" not in by.split("\x00")[0] and source == "sh" and not store
    options = []
    if by:
        options.append(["BY", by])
    if rng.random() < 0.5 and not unordered:
        options.append(limit(rng))
    if rng.random() < 0.4:
        options.append([rng.choice(["ASC", "DESC", "desc"])])
    if alpha:
        options.append(["ALPHA"])
    for _ in range(rng.choice([0, 0, 0, 1, 2, 3])):
        options.append(["GET", rng.choice(["#", "w_*", "h_*->n", "h_*->a", "nokey_*", "const"])])
    if store:
        options.append(["STORE", rng.choice(["dst", "dst", "l3", "w_1"])])
    rng.shuffle(options)
    for o in options:
        args += o
    return args, unordered


def run_both(ref, cand, args, unordered, where):
    a = ref.execute(*args)
    b = cand.execute(*args)
    if unordered and a.type == "*" and b.type == "*":
        same = sorted(x.raw for x in a.value) == sorted(x.raw for x in b.value)
    else:
        same = a.raw == b.raw
    if not same:
        pytest.fail("%s %r:\n  reference: %r\n  candidate: %r" % (where, args, a.raw[:400], b.raw[:400]),
                    pytrace=False)


@pytest.mark.parametrize("seed,resp3", [(1, False), (2, False), (3, True), (4, False), (5, True), (6, False)])
def test_random_sort(seed, resp3, reference_server, candidate_server):
    rng = random.Random(seed)
    with RespConnection(reference_server.host, reference_server.port, timeout=20) as ref, \
            RespConnection(candidate_server.host, candidate_server.port, timeout=20) as cand:
        for c in (ref, cand):
            assert c.execute("FLUSHALL").raw == b"+OK\r\n"
            # Clears a stale ERANGE that earlier tests may have left in Redis's errno (see sort.txt).
            c.execute("SET", "__errno", "0")
            c.execute("INCRBYFLOAT", "__errno", "0")
            c.execute("DEL", "__errno")
            c.execute("SET", "str", "a string")
            c.execute("CONFIG", "SET", "set-max-intset-entries", "16")
            c.execute("CONFIG", "SET", "zset-max-listpack-entries", "8")
            if resp3:
                c.execute("HELLO", "3")
        for step in range(2500):
            where = "seed %d step %d" % (seed, step)
            if rng.random() < 0.45:
                run_both(ref, cand, write(rng), False, where)
                continue
            args, unordered = sort(rng)
            run_both(ref, cand, args, unordered, where)
            if "STORE" in args:
                dst = args[args.index("STORE") + 1]
                for check in (["TYPE", dst], ["LRANGE", dst, "0", "-1"]):
                    run_both(ref, cand, check, False, where + " after STORE")
        for key in ["z", "si", "sh"]:
            run_both(ref, cand, ["OBJECT", "ENCODING", key], False, "final encoding")
        for c in (ref, cand):
            c.execute("CONFIG", "SET", "set-max-intset-entries", "512")
            c.execute("CONFIG", "SET", "zset-max-listpack-entries", "128")
