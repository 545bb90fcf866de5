"""Seeded randomized differential test of the HyperLogLog family.

Two kinds of runs, each on real Redis and on the candidate, every reply compared byte for byte:

* growth: about 200k random elements added in batches to a few keys, with PFCOUNT and GET (the raw HLL bytes:
  sparse opcodes, dense registers, cached cardinality) after every batch, and PFCOUNT / PFMERGE over several
  keys along the way; `hll-sparse-max-bytes` varies per seed so that both promotion causes (size and a
  register above 32) happen at different points;
* commands: thousands of random PFADD/PFCOUNT/PFMERGE/PFDEBUG/GET/OBJECT ENCODING commands mixed with
  corruption of the strings (SETRANGE of random bytes, truncation, SET of another key's bytes), wrong types
  and missing keys, so that the error paths and Redis's handling of malformed sparse opcodes are compared too.

The seed is printed on failure.
"""

import random

import pytest

from support.resp import RespConnection, encode_command

KEYS = [b"h1", b"h2", b"h3", b"h4"]


def random_element(rng):
    r = rng.random()
    if r < 0.1:
        return rng.choice([b"", b"a", b"b", b"\x00", b"foo", b"12345"])
    if r < 0.5:
        return b"e%d" % rng.randint(0, 300000)
    return bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 24)))


def pipeline(conn, commands):
    """Sends all commands in one write and returns the raw replies."""
    conn.send_raw(b"".join(encode_command(c) for c in commands))
    return [conn.read_reply(timeout=60).raw for _ in commands]


def compare(seed, kind, commands, ref, cand):
    assert len(ref) == len(cand)
    for i, (a, b) in enumerate(zip(ref, cand)):
        if a != b:
            shown = [x if len(x) < 40 else x[:20] + b"...(%d)" % len(x) for x in commands[i]]
            pytest.fail("%s seed %d, command #%d %r:\n  reference: %r\n  candidate: %r"
                        % (kind, seed, i, shown, a[:400], b[:400]), pytrace=False)


# ---- growth ----------------------------------------------------------------------------------------------

def growth_batches(rng, total):
    """Batches of commands; each batch adds elements, then reads the counts and bytes back."""
    batches = []
    added = 0
    while added < total:
        key = rng.choice(KEYS)
        size = rng.choice([1, 2, 5, 20, 100, 500, 2000, 5000])
        elements = [random_element(rng) for _ in range(size)]
        added += size
        batch = []
        # Several PFADDs per batch so that the 0/1 reply is compared at different fill levels.
        step = max(1, size // rng.choice([1, 2, 4]))
        for i in range(0, size, step):
            batch.append([b"PFADD", key] + elements[i:i + step])
        batch.append([b"PFCOUNT", key])
        batch.append([b"GET", key])
        batch.append([b"PFDEBUG", b"ENCODING", key])
        if rng.random() < 0.3:
            batch.append([b"PFCOUNT"] + rng.sample(KEYS, rng.randint(2, 4)))
        if rng.random() < 0.15:
            dest = rng.choice(KEYS + [b"dest"])
            batch.append([b"PFMERGE", dest] + rng.sample(KEYS, rng.randint(1, 3)))
            batch.append([b"GET", dest])
            batch.append([b"PFCOUNT", dest])
        batches.append(batch)
    for key in KEYS + [b"dest"]:
        batches.append([[b"GET", key], [b"PFCOUNT", key], [b"PFDEBUG", b"GETREG", key], [b"GET", key]])
    return batches


def run_growth(server, batches, sparse_max):
    out = []
    with RespConnection(server.host, server.port, timeout=60) as c:
        assert c.execute("FLUSHALL").raw == b"+OK\r\n"
        assert c.execute("CONFIG", "SET", "hll-sparse-max-bytes", str(sparse_max)).raw == b"+OK\r\n"
        for batch in batches:
            out.extend(pipeline(c, batch))
        c.execute("CONFIG", "SET", "hll-sparse-max-bytes", "3000")
    return out


@pytest.mark.parametrize("seed,sparse_max", [(1, 3000), (2, 300), (3, 12000), (4, 0)])
def test_random_hll_growth(seed, sparse_max, reference_server, candidate_server):
    rng = random.Random(seed)
    batches = growth_batches(rng, 200_000 if seed == 1 else 50_000)
    commands = [c for b in batches for c in b]
    ref = run_growth(reference_server, batches, sparse_max)
    cand = run_growth(candidate_server, batches, sparse_max)
    compare(seed, "growth", commands, ref, cand)


# ---- random commands with corruption ---------------------------------------------------------------------

ALL_KEYS = KEYS + [b"list", b"str", b"missing"]


def random_command(rng):
    key = rng.choice(KEYS) if rng.random() < 0.85 else rng.choice(ALL_KEYS)
    r = rng.random()
    if r < 0.35:
        return [b"PFADD", key] + [random_element(rng) for _ in range(rng.choice([0, 1, 1, 2, 3, 10, 50, 300]))]
    if r < 0.5:
        return [b"PFCOUNT"] + [rng.choice(ALL_KEYS) for _ in range(rng.choice([1, 1, 2, 3]))]
    if r < 0.57:
        return [b"PFMERGE", key] + [rng.choice(ALL_KEYS) for _ in range(rng.randint(0, 3))]
    if r < 0.65:
        return [b"GET", key]
    if r < 0.75:
        return ["CORRUPT", key]
    if r < 0.80:
        return [b"PFDEBUG", rng.choice([b"ENCODING", b"DECODE", b"TODENSE", b"encoding", b"GETREG", b"nope"]), key]
    if r < 0.83:
        return [b"OBJECT", b"ENCODING", key]
    if r < 0.85:
        return [b"DEL", key]
    if r < 0.87:
        return [b"LPUSH", b"list", b"x"]
    if r < 0.89:
        return [b"SET", b"str", rng.choice([b"HYLL", b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff",
                                           b"123", b"plain string value"])]
    if r < 0.94:
        return ["COPYBYTES", key, rng.choice(KEYS)]
    return [b"STRLEN", key]


class Lockstep:
    """Runs every command on both servers at once and fails at the first difference."""

    def __init__(self, seed, reference, candidate):
        self.seed = seed
        self.ref = RespConnection(reference.host, reference.port, timeout=60)
        self.cand = RespConnection(candidate.host, candidate.port, timeout=60)
        self.count = 0

    def __call__(self, *cmd):
        a = self.ref.execute(*cmd)
        b = self.cand.execute(*cmd)
        self.count += 1
        if a.raw != b.raw:
            shown = [x if len(x) < 40 else x[:20] + b"...(%d)" % len(x) for x in cmd]
            pytest.fail("commands seed %d, command #%d %r:\n  reference: %r\n  candidate: %r"
                        % (self.seed, self.count, shown, a.raw[:400], b.raw[:400]), pytrace=False)
        return a

    def close(self):
        self.ref.close()
        self.cand.close()


@pytest.mark.parametrize("seed", [11, 12, 13, 14, 15, 16])
def test_random_hll_commands(seed, reference_server, candidate_server):
    rng = random.Random(seed)
    run = Lockstep(seed, reference_server, candidate_server)
    try:
        run("FLUSHALL")
        if seed % 2 == 0:
            run("CONFIG", "SET", "hll-sparse-max-bytes", "500")
        for _ in range(4000):
            cmd = random_command(rng)
            if cmd[0] == "CORRUPT":
                # One byte of the string: mostly the opcodes or registers, sometimes the header, rarely past the end.
                node = run("STRLEN", cmd[1])
                length = int(node.value) if node.type == ":" else 0
                r = rng.random()
                if r < 0.1 or length <= 16:
                    offset = rng.randint(0, 15)
                elif r < 0.97:
                    offset = rng.randint(16, length - 1)
                else:
                    offset = length + rng.randint(0, 2)
                value = bytes([rng.choice([0, 1, 2, 0x3f, 0x40, 0x41, 0x7f, 0x80, 0x83, 0xfc, 0xff,
                                           rng.getrandbits(8)])])
                run("SETRANGE", cmd[1], b"%d" % offset, value)
                continue
            if cmd[0] == "COPYBYTES":
                # SET dst <GET src>: a string taken from the server itself (sparse, dense or corrupt).
                node = run("GET", cmd[1])
                if node.type == "$" and node.value is not None:
                    run("SET", cmd[2], node.value)
                continue
            reply = run(*cmd)
            if reply.is_error and b"HyperLogLog" in reply.raw and rng.random() < 0.5:
                # A key that is no HyperLogLog stays so: start it again now and then.
                for key in cmd[1:]:
                    if key in KEYS:
                        run("DEL", key)
        for key in ALL_KEYS:
            run("GET", key)
        run("CONFIG", "SET", "hll-sparse-max-bytes", "3000")
    finally:
        run.close()
