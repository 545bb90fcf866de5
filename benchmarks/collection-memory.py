#!/usr/bin/env python3
"""Memory of 1M-element collections (list, hash, set, sorted set): RSS growth of redis-server and of Swiftlet.

    python3 benchmarks/collection-memory.py [--candidate .build/release/swiftlet-server] [--elements 1000000]

For each shape a fresh server of each kind starts on a free port; VmRSS is read before and after one key is
filled with N elements (pipelined, 1000 elements per command, 50 commands in flight), and the table gives bytes
per element and the ratio Swiftlet/Redis (the issue's bar: at most 1.3).
"""

import argparse
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

from support.resp import encode_command  # noqa: E402
from support.servers import rss_bytes, spawn  # noqa: E402

# shape -> (command that adds, command that counts, element -> arguments)
SHAPES = {
    "list value:N": (b"RPUSH", b"LLEN", lambda i, r: [b"value:%d" % i]),
    "list of integers": (b"RPUSH", b"LLEN", lambda i, r: [b"%d" % (i * 7)]),
    "list of 100-byte strings": (b"RPUSH", b"LLEN", lambda i, r: [(b"%d:" % i).ljust(100, b"x")]),
    "hash field:N -> value:N": (b"HSET", b"HLEN", lambda i, r: [b"field:%d" % i, b"value:%d" % i]),
    "hash 20B fields -> 100B values": (b"HSET", b"HLEN", lambda i, r: [b"f%019d" % i, b"v" * 100]),
    "set member:N": (b"SADD", b"SCARD", lambda i, r: [b"member:%d" % i]),
    "set of integers": (b"SADD", b"SCARD", lambda i, r: [b"%d" % (i * 7)]),
    "zset member:N, random scores": (b"ZADD", b"ZCARD", lambda i, r: [b"%r" % r.random(), b"member:%d" % i]),
    "zset member:N, integer scores": (b"ZADD", b"ZCARD", lambda i, r: [b"%d" % i, b"member:%d" % i]),
}


def measure(argv, shape, n):
    add, count, make = SHAPES[shape]
    rng = random.Random(1)
    proc, conn = spawn(argv)
    try:
        before = rss_bytes(proc.pid)
        batch, in_batch, pending = [], 0, 0
        for i in range(n):
            batch += make(i, rng)
            in_batch += 1
            if in_batch == 1000 or i == n - 1:
                conn.send_raw(encode_command([add, b"k"] + batch))
                batch, in_batch, pending = [], 0, pending + 1
                if pending == 50:
                    for _ in range(pending):
                        conn.read_reply()
                    pending = 0
        for _ in range(pending):
            conn.read_reply()
        assert conn.execute(count, b"k").to_python() == n
        encoding = conn.execute(b"OBJECT", b"ENCODING", b"k").to_python().decode()
        time.sleep(0.5)
        return rss_bytes(proc.pid) - before, encoding
    finally:
        proc.kill()
        proc.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--candidate", default=".build/release/swiftlet-server")
    ap.add_argument("--elements", type=int, default=1_000_000)
    ap.add_argument("--shapes", help="comma-separated substrings of shape names (default: all)")
    a = ap.parse_args()
    redis = ["redis-server", "--port", "{port}", "--save", "", "--appendonly", "no"]
    swiftlet = [os.path.abspath(a.candidate), "--port", "{port}", "--save", ""]
    shapes = [s for s in SHAPES if not a.shapes or any(p in s for p in a.shapes.split(","))]
    print("| shape (%d elements) | Redis B/element | Swiftlet B/element | ratio | encodings |" % a.elements)
    print("|---|---:|---:|---:|---|")
    worst = 0.0
    for shape in shapes:
        r, r_enc = measure(redis, shape, a.elements)
        s, s_enc = measure(swiftlet, shape, a.elements)
        worst = max(worst, s / r)
        print("| %s | %.1f | %.1f | %.2f | %s / %s |" % (shape, r / a.elements, s / a.elements, s / r, r_enc, s_enc))
    print("collection-memory: worst ratio %.2f (Swiftlet/Redis; the bar is 1.3)" % worst)


if __name__ == "__main__":
    main()
