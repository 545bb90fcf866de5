#!/usr/bin/env python3
"""Memory and speed of HyperLogLogs: redis-server vs the candidate.

    python3 tests/differential/measure_memory_hll.py [candidate-binary]

For each shape, starts a fresh server of each kind on a free port and measures VmRSS growth after loading:

* one HyperLogLog with 1,000,000 elements (dense: 12304 bytes, the same string in both servers);
* 20,000 dense HyperLogLogs (2,000 elements each);
* 20,000 sparse HyperLogLogs (200 elements each, about 400-byte strings).

It also times pipelined PFADD of 1,000,000 elements (one per command, 100 commands per write) into one key and
PFCOUNT of 20,000 keys (the cache invalidated before each), and checks that both servers give the same counts.
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from support.resp import encode_command  # noqa: E402
from support.servers import rss_bytes, spawn  # noqa: E402


def pipeline(conn, commands, depth=100):
    replies = []
    for i in range(0, len(commands), depth):
        chunk = commands[i:i + depth]
        conn.send_raw(b"".join(encode_command(c) for c in chunk))
        replies += [conn.read_reply(timeout=120).raw for _ in chunk]
    return replies


def start(argv):
    return spawn(argv, timeout=120)


def run(argv):
    results = {}
    counts = []
    for shape, keys, per_key in (("1 HLL x 1M elements", 1, 1_000_000), ("20k dense HLLs", 20_000, 2_000),
                                 ("20k sparse HLLs", 20_000, 200)):
        proc, conn = start(argv)
        try:
            before = rss_bytes(proc.pid)
            commands = []
            for k in range(keys):
                elements = [b"e:%d:%d" % (k, i) for i in range(per_key)]
                for i in range(0, per_key, 1000):
                    commands.append([b"PFADD", b"hll:%d" % k] + elements[i:i + 1000])
            pipeline(conn, commands, depth=20)
            time.sleep(0.3)
            results[shape] = rss_bytes(proc.pid) - before
            counts += pipeline(conn, [[b"PFCOUNT", b"hll:%d" % k] for k in range(min(keys, 200))])
        finally:
            proc.kill()
            proc.wait()
    proc, conn = start(argv)
    try:
        adds = [[b"PFADD", b"speed", b"x%d" % i] for i in range(1_000_000)]
        t = time.perf_counter()
        pipeline(conn, adds)
        results["PFADD 1M (s)"] = time.perf_counter() - t
        invalidate_and_count = []
        for k in range(20_000):
            invalidate_and_count += [[b"PFADD", b"speed", b"y%d" % k], [b"PFCOUNT", b"speed"]]
        t = time.perf_counter()
        counts += pipeline(conn, invalidate_and_count)
        results["PFADD+PFCOUNT 20k (s)"] = time.perf_counter() - t
    finally:
        proc.kill()
        proc.wait()
    return results, counts


def main():
    candidate = sys.argv[1] if len(sys.argv) > 1 else ".build/release/swiftlet-server"
    candidate = os.path.abspath(candidate)
    redis, redis_counts = run(["redis-server", "--port", "{port}", "--save", "", "--appendonly", "no"])
    swift, swift_counts = run([candidate, "--port", "{port}"])
    print("%-24s %14s %14s %8s" % ("shape", "redis", "swiftlet", "ratio"))
    for shape in redis:
        ratio = swift[shape] / redis[shape] if redis[shape] else float("nan")
        fmt = "%-24s %14.3f %14.3f %8.2f" if "(s)" in shape else "%-24s %14d %14d %8.2f"
        print(fmt % (shape, redis[shape], swift[shape], ratio))
    print("replies identical:", redis_counts == swift_counts)


if __name__ == "__main__":
    main()
