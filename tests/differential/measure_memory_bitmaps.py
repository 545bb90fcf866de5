#!/usr/bin/env python3
"""Memory and speed of bitmaps: RSS growth and load time of redis-server vs the candidate.

    python3 tests/differential/measure_memory_bitmaps.py [candidate-binary]

Starts a fresh server of each kind per shape on a free port, measures VmRSS before and after loading the shape
with pipelined commands (100 per batch), checks BITCOUNT and STRLEN on both, and prints the RSS growth, the
ratio, and the load time.

Shapes:
  1M bits, SETBIT 0..N-1   one key grown bit by bit to 1,000,000 bits (125 kB; growth doubles below 1 MB)
  1M SETBIT, stride 64     one key grown to 8 MB by 1,000,000 SETBITs (growth by 1 MB steps above 1 MB)
  1M BITFIELD INCRBY u8    1,000,000 counters of 8 bits in one key (1 MB), one INCRBY each
  100k keys x 100 B        100,000 keys, each a 100-byte bitmap (SETBIT key 799 1): per-key overhead
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from support.resp import encode_command  # noqa: E402
from support.servers import rss_bytes, spawn  # noqa: E402

N = 1_000_000
SHAPES = {
    "1M bits, SETBIT 0..N-1": (N, lambda i: [b"SETBIT", b"k", b"%d" % i, b"1"], [b"k"]),
    "1M SETBIT, stride 64": (N, lambda i: [b"SETBIT", b"k", b"%d" % (i * 64), b"1"], [b"k"]),
    "1M BITFIELD INCRBY u8": (N, lambda i: [b"BITFIELD", b"k", b"INCRBY", b"u8", b"#%d" % i, b"1"], [b"k"]),
    "100k keys x 100 B": (100_000, lambda i: [b"SETBIT", b"key:%d" % i, b"799", b"1"], [b"key:0", b"key:99999"]),
}


def measure(argv, shape):
    proc, conn = spawn(argv, timeout=60)
    try:
        before = rss_bytes(proc.pid)
        count, make, probes = SHAPES[shape]
        start = time.monotonic()
        batch = []
        for i in range(count):
            batch.append(encode_command(make(i)))
            if len(batch) == 100 or i == count - 1:
                conn.send_raw(b"".join(batch))
                for _ in batch:
                    reply = conn.read_reply()
                    assert not reply.is_error, reply.raw
                batch = []
        elapsed = time.monotonic() - start
        checks = [(conn.execute(b"BITCOUNT", k).raw, conn.execute(b"STRLEN", k).raw) for k in probes]
        time.sleep(0.5)
        after = rss_bytes(proc.pid)
        return after - before, elapsed, checks
    finally:
        proc.kill()
        proc.wait()


def main():
    candidate = sys.argv[1] if len(sys.argv) > 1 else ".build/release/swiftlet-server"
    candidate = os.path.abspath(candidate)
    redis = ["redis-server", "--port", "{port}", "--save", "", "--appendonly", "no"]
    swiftlet = [candidate, "--port", "{port}"]
    print("%-26s %12s %12s %6s %9s %9s" % ("shape", "redis RSS", "swiftlet RSS", "ratio", "redis s", "swiftlet s"))
    for shape in SHAPES:
        r, rt, rc = measure(redis, shape)
        s, st, sc = measure(swiftlet, shape)
        assert rc == sc, (shape, rc, sc)
        print("%-26s %12d %12d %6.2f %9.2f %9.2f" % (shape, r, s, s / max(r, 1), rt, st))


if __name__ == "__main__":
    main()
