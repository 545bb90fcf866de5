"""Seeded randomized differential test of the list family.

Thousands of random list commands over a few keys run on real Redis and on the candidate; every reply must
be byte-identical. Small `list-max-listpack-size` values make the lists span many nodes, so that node
splitting, merging-free inserts, trims across nodes and reverse walks are all exercised; large elements
(> 64 and > 4096 bytes) use every listpack string header, and integer texts every integer width.
"""

import random

import pytest

from support.resp import RespConnection

KEYS = ["l1", "l2", "l3", "s"]
SMALL = ["a", "b", "c", "d", "", "hello", "a b", "\x00\xff"]
NUMBERS = ["0", "1", "-1", "127", "128", "-4096", "4095", "4096", "32767", "-32769", "8388607", "8388608",
           "2147483647", "-2147483649", "9223372036854775807", "-9223372036854775808", "01", "-0", "1.5",
           "9223372036854775808", "+1"]
LARGE = ["x" * 63, "y" * 64, "z" * 200, "w" * 4095, "v" * 4096, "u" * 9000]


def element(rng):
    r = rng.random()
    if r < 0.45:
        return rng.choice(SMALL)
    if r < 0.85:
        return rng.choice(NUMBERS)
    if r < 0.97:
        return rng.choice(LARGE[:3])
    return rng.choice(LARGE)


def index(rng, spread=12):
    r = rng.random()
    if r < 0.05:
        return rng.choice(["9223372036854775807", "-9223372036854775808", "abc"])
    return str(rng.randint(-spread, spread))


def command(rng):
    key = rng.choice(KEYS[:3]) if rng.random() < 0.95 else "s"
    other = rng.choice(KEYS)
    end = lambda: rng.choice(["LEFT", "RIGHT", "left", "right"])  # noqa: E731
    kind = rng.random()
    if kind < 0.30:
        name = rng.choice(["LPUSH", "RPUSH", "LPUSH", "RPUSH", "LPUSHX", "RPUSHX"])
        return [name, key] + [element(rng) for _ in range(rng.randint(1, 6))]
    choice = rng.choice([
        "LPOP", "RPOP", "LRANGE", "LINDEX", "LSET", "LINSERT", "LREM", "LTRIM", "LPOS", "LMOVE", "RPOPLPUSH",
        "LMPOP", "LLEN", "LRANGE", "LRANGE", "BLPOP", "BRPOP", "BLMOVE", "BLMPOP", "DEL", "SET",
    ])
    if choice in ("LPOP", "RPOP"):
        r = rng.random()
        if r < 0.5:
            return [choice, key]
        return [choice, key, str(rng.choice([0, 1, 2, 3, 5, 20, -1]))]
    if choice == "LRANGE":
        return ["LRANGE", key, index(rng), index(rng)]
    if choice == "LINDEX":
        return ["LINDEX", key, index(rng)]
    if choice == "LSET":
        return ["LSET", key, index(rng, 8), element(rng)]
    if choice == "LINSERT":
        return ["LINSERT", key, rng.choice(["BEFORE", "AFTER"]), element(rng), element(rng)]
    if choice == "LREM":
        return ["LREM", key, str(rng.randint(-3, 3)), element(rng)]
    if choice == "LTRIM":
        return ["LTRIM", key, index(rng, 20), index(rng, 20)]
    if choice == "LPOS":
        args = ["LPOS", key, element(rng)]
        for opt in ("RANK", "COUNT", "MAXLEN"):
            if rng.random() < 0.35:
                value = {"RANK": rng.choice([1, 2, -1, -2, 3]), "COUNT": rng.choice([0, 1, 2, 5]),
                         "MAXLEN": rng.choice([0, 1, 3, 10])}[opt]
                args += [opt, str(value)]
        return args
    if choice == "LMOVE":
        return ["LMOVE", key, other, end(), end()]
    if choice == "RPOPLPUSH":
        return ["RPOPLPUSH", key, other]
    if choice == "LMPOP":
        keys = rng.sample(KEYS, rng.randint(1, 3))
        args = ["LMPOP", str(len(keys))] + keys + [end()]
        if rng.random() < 0.6:
            args += ["COUNT", str(rng.choice([1, 2, 4, 100]))]
        return args
    # Blocking forms with data present (or a tiny timeout when absent) act like their plain forms.
    if choice in ("BLPOP", "BRPOP"):
        return [choice] + rng.sample(KEYS[:3], rng.randint(1, 2)) + ["0.001"]
    if choice == "BLMOVE":
        return ["BLMOVE", key, other, end(), end(), "0.001"]
    if choice == "BLMPOP":
        keys = rng.sample(KEYS[:3], rng.randint(1, 2))
        return ["BLMPOP", "0.001", str(len(keys))] + keys + [end(), "COUNT", str(rng.choice([1, 3]))]
    if choice == "LLEN":
        return ["LLEN", key]
    if choice == "DEL":
        return ["DEL", key]
    return ["SET", "s", "string"]


def _run(server, commands, fill):
    out = []
    with RespConnection(server.host, server.port, timeout=20) as c:
        assert c.execute("FLUSHALL").raw == b"+OK\r\n"
        assert c.execute("CONFIG", "SET", "list-max-listpack-size", str(fill)).raw == b"+OK\r\n"
        for cmd in commands:
            out.append(c.execute(*cmd).raw)
        # Final contents, in full.
        for key in KEYS[:3]:
            out.append(c.execute("LRANGE", key, "0", "-1").raw)
        c.execute("CONFIG", "SET", "list-max-listpack-size", "-2")
    return out


@pytest.mark.parametrize("seed,fill", [(1, -2), (2, 3), (3, 1), (4, -1), (5, 8), (6, -2)])
def test_random_lists(seed, fill, reference_server, candidate_server):
    rng = random.Random(seed)
    commands = [command(rng) for _ in range(3000)]
    ref = _run(reference_server, commands, fill)
    cand = _run(candidate_server, commands, fill)
    for i, (a, b) in enumerate(zip(ref, cand)):
        if a != b:
            what = commands[i] if i < len(commands) else ["LRANGE (final)"]
            shown = [x if len(x) < 40 else x[:20] + "...(%d)" % len(x) for x in what]
            pytest.fail("seed %d fill %d, command #%d %r:\n  reference: %r\n  candidate: %r"
                        % (seed, fill, i, shown, a[:300], b[:300]), pytrace=False)
    assert len(ref) == len(cand)
