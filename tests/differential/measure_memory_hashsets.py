#!/usr/bin/env python3
"""Memory of 1M-element hashes and sets: RSS growth of redis-server vs the candidate.

    python3 tests/differential/measure_memory_hashsets.py [candidate-binary]

Starts a fresh server of each kind per shape on a free port, measures VmRSS before and after loading one key
with 1,000,000 elements (pipelined HSET/SADD of 1000 elements per command), and prints bytes per element.
"""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from support.resp import RespConnection, encode_command  # noqa: E402
from support.servers import free_port  # noqa: E402

N = 1_000_000
SHAPES = {
    "hash field:N -> value:N": lambda i: [b"field:%d" % i, b"value:%d" % i],
    "set member:N": lambda i: [b"member:%d" % i],
    "set of integers": lambda i: [b"%d" % (i * 7)],
    "hash 20B fields -> 100B values": lambda i: [b"f%019d" % i, b"v" * 100],
}


def rss(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def measure(argv, shape):
    port = free_port()
    proc = subprocess.Popen([a.replace("{port}", str(port)) for a in argv], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, cwd="/tmp")
    try:
        for _ in range(100):
            try:
                conn = RespConnection("127.0.0.1", port)
                conn.execute("PING")
                break
            except OSError:
                time.sleep(0.1)
        time.sleep(0.3)
        before = rss(proc.pid)
        command = b"HSET" if shape.startswith("hash") else b"SADD"
        make = SHAPES[shape]
        batch = []
        pending = 0
        for i in range(N):
            batch += make(i)
            if len(batch) >= 1000 * len(make(0)) or i == N - 1:
                conn.send_raw(encode_command([command, b"k"] + batch))
                pending += 1
                batch = []
                if pending == 50:
                    for _ in range(pending):
                        conn.read_reply()
                    pending = 0
        for _ in range(pending):
            conn.read_reply()
        count = conn.execute(b"HLEN" if command == b"HSET" else b"SCARD", b"k").to_python()
        assert count == N, count
        encoding = conn.execute(b"OBJECT", b"ENCODING", b"k").to_python()
        time.sleep(0.5)
        after = rss(proc.pid)
        return after - before, encoding
    finally:
        proc.kill()
        proc.wait()


def main():
    candidate = sys.argv[1] if len(sys.argv) > 1 else ".build/release/swiftlet-server"
    candidate = os.path.abspath(candidate)
    redis = ["redis-server", "--port", "{port}", "--save", "", "--appendonly", "no"]
    swiftlet = [candidate, "--port", "{port}"]
    print("%-32s %14s %14s %7s" % ("shape (1M elements)", "redis B/elem", "swiftlet B/elem", "ratio"))
    for shape in SHAPES:
        r, re = measure(redis, shape)
        s, se = measure(swiftlet, shape)
        print("%-32s %14.1f %14.1f %7.2f   (%s / %s)" % (shape, r / N, s / N, s / r, re, se))


if __name__ == "__main__":
    main()
