"""Seeded randomized test of the fork-less BGSAVE against real Redis.

Random writes of every type (strings, lists, hashes, sets, sorted sets; TTLs; DEL, RENAME, MOVE, SWAPDB,
FLUSHDB, COPY) run on real Redis and on the candidate with the same seed, and every reply must be identical.
At random points the candidate starts a BGSAVE (slowed down with `rdb-key-save-delay` so that it spans many
commands) and the random writes go on while it runs; Redis, the reference, then takes a SAVE at the same
point of the stream. When the candidate's BGSAVE is done, both dumps are loaded into fresh redis-servers and
compared key by key: the candidate's file must hold the keyspace as it was at BGSAVE time, like Redis's SAVE.
"""

import os
import random
import time

import pytest

from support.persistence import call, snapshot
from support.servers import ServerProcess, candidate_argv, free_port, require_tool

KEYS = ["k%d" % i for i in range(12)]
DATABASES = [0, 1, 2]
FAR = 4102444800000


def member(rng):
    return rng.choice(["a", "b", "c", "1", "2", "300", "x" * 70, "-5", "m%d" % rng.randint(0, 40)])


def command(rng):
    key = rng.choice(KEYS)
    other = rng.choice(KEYS)
    r = rng.random()
    if r < 0.12:
        return ["SET", key, member(rng)]
    if r < 0.22:
        return ["RPUSH", key] + [member(rng) for _ in range(rng.randint(1, 5))]
    if r < 0.27:
        return ["LPOP", key]
    if r < 0.37:
        return ["HSET", key] + sum([[member(rng), member(rng)] for _ in range(rng.randint(1, 4))], [])
    if r < 0.47:
        return ["SADD", key] + [member(rng) for _ in range(rng.randint(1, 5))]
    if r < 0.50:
        return ["SREM", key, member(rng)]
    if r < 0.60:
        return ["ZADD", key] + sum([[str(rng.randint(-5, 5)), member(rng)] for _ in range(rng.randint(1, 4))], [])
    if r < 0.63:
        return ["APPEND", key, member(rng)]
    if r < 0.66:
        return ["INCR", key]
    if r < 0.71:
        return ["DEL", key]
    if r < 0.75:
        return ["PEXPIREAT", key, str(FAR + rng.randint(0, 1000))]
    if r < 0.77:
        return ["PERSIST", key]
    if r < 0.81:
        return ["RENAME", key, other]
    if r < 0.84:
        return ["MOVE", key, str(rng.choice(DATABASES))]
    if r < 0.86:
        return ["COPY", key, other, "DB", str(rng.choice(DATABASES)), "REPLACE"]
    if r < 0.88:
        return ["SWAPDB", str(rng.choice(DATABASES)), str(rng.choice(DATABASES))]
    if r < 0.885:
        return ["FLUSHDB"]
    if r < 0.92:
        return ["SELECT", str(rng.choice(DATABASES))]
    if r < 0.95:
        return ["LSET", key, "0", member(rng)]
    return ["HINCRBY", key, member(rng), "1"]


def start(argv, port, name):
    return ServerProcess(name, argv, port).start()


def load_and_describe(directory):
    port = free_port()
    argv = [require_tool("redis-server"), "--port", str(port), "--dir", directory, "--save", "", "--appendonly", "no"]
    server = start(argv, port, "redis-load")
    try:
        with server.connect() as conn:
            return snapshot(conn, DATABASES)
    finally:
        server.stop()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_writes_during_bgsave(tmp_path, seed):
    rng = random.Random(seed)
    ref_dir = str(tmp_path / "ref")
    cand_dir = str(tmp_path / "cand")
    os.makedirs(ref_dir)
    os.makedirs(cand_dir)
    rport = free_port()
    reference = start([require_tool("redis-server"), "--port", str(rport), "--dir", ref_dir, "--save", "",
                       "--appendonly", "no"], rport, "redis-ref")
    cport = free_port()
    # 40 ms per key: the walk of the 10-30 keys lasts well beyond the reference's SAVE (an fsync, which a busy disk
    # can stretch past 100 ms; at 10 ms per key a CI run once saw the walk end before the writes below began).
    candidate = start(candidate_argv(cport) + ["--dir", cand_dir, "--save", "", "--rdb-key-save-delay", "40000"],
                      cport, "swiftlet-bgsave")
    try:
        with reference.connect() as ref, candidate.connect() as cand, candidate.connect() as control:
            rounds = 0
            for step in range(6000):
                args = command(rng)
                r = call(ref, *args)
                c = call(cand, *args)
                assert c == r, (step, args, r, c)
                if step % 1500 == 700:
                    assert call(control, "BGSAVE") == "Background saving started"
                    assert call(ref, "SAVE") == "OK"
                    rounds += 1
                    # Go on writing while the candidate's snapshot is walked.
                    for extra in range(400):
                        if extra == 10:
                            # The snapshot is still being walked: these writes really run during it.
                            assert b"rdb_bgsave_in_progress:1" in call(control, "INFO", "persistence")
                        args = command(rng)
                        r = call(ref, *args)
                        c = call(cand, *args)
                        assert c == r, (step, extra, args, r, c)
                    while b"rdb_bgsave_in_progress:1" in call(control, "INFO", "persistence"):
                        time.sleep(0.01)
                    assert b"rdb_last_bgsave_status:ok" in call(control, "INFO", "persistence")
                    expected = load_and_describe(ref_dir)
                    actual = load_and_describe(cand_dir)
                    assert sorted(actual) == sorted(expected), (seed, rounds)
                    for k in expected:
                        assert actual[k] == expected[k], (seed, rounds, k)
            assert rounds == 4
    finally:
        candidate.stop()
        reference.stop()
