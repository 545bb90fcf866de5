#!/usr/bin/env python3
"""RSS growth of a 1M-element list in Swiftlet and in real Redis, and RPUSH/LPOP/LRANGE throughput.

    python3 tests/bench/list_memory.py [--candidate .build/release/swiftlet-server] [--elements 1000000]

Starts both servers on free ports, fills one list per element shape with pipelined RPUSH (1000 elements per
command), reads VmRSS from /proc before and after, and prints bytes per element and the ratio.
"""

import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from support.resp import RespConnection, encode_command  # noqa: E402
from support.servers import free_port  # noqa: E402

SHAPES = {
    "value:N (8-14 B)": lambda i: b"value:%d" % i,
    "integers": lambda i: b"%d" % (i * 7),
    "100-byte strings": lambda i: (b"%d:" % i).ljust(100, b"x"),
}


def rss(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def start(argv, port):
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with RespConnection("127.0.0.1", port, timeout=2) as c:
                if c.execute("PING").raw == b"+PONG\r\n":
                    return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start: %r" % argv)


def fill(conn, key, shape, n, batch=1000):
    for start in range(0, n, batch):
        args = [b"RPUSH", key] + [shape(i) for i in range(start, min(n, start + batch))]
        conn.send_raw(encode_command(args))
        conn.read_reply(timeout=60)


def throughput(conn, n=200_000):
    """Pipelined single-element RPUSH then LPOP, 100 commands per write; returns ops/s of each."""
    out = {}
    for name, make in (("RPUSH", lambda i: encode_command([b"RPUSH", b"tp", b"e%d" % i])),
                       ("LPOP", lambda i: encode_command([b"LPOP", b"tp"]))):
        started = time.perf_counter()
        for base in range(0, n, 100):
            conn.send_raw(b"".join(make(base + k) for k in range(100)))
            for _ in range(100):
                conn.read_reply(timeout=60)
        out[name] = n / (time.perf_counter() - started)
    return out


def measure(argv_for_port, elements):
    results = {}
    for label, shape in SHAPES.items():
        port = free_port()
        proc = start(argv_for_port(port), port)
        try:
            with RespConnection("127.0.0.1", port, timeout=60) as c:
                time.sleep(0.3)
                before = rss(proc.pid)
                fill(c, b"big", shape, elements)
                time.sleep(0.3)
                after = rss(proc.pid)
                assert c.execute("LLEN", "big").to_python() == elements
                results[label] = after - before
        finally:
            proc.kill()
            proc.wait()
    port = free_port()
    proc = start(argv_for_port(port), port)
    try:
        with RespConnection("127.0.0.1", port, timeout=60) as c:
            results["throughput"] = throughput(c)
    finally:
        proc.kill()
        proc.wait()
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--candidate", default=".build/release/swiftlet-server")
    ap.add_argument("--elements", type=int, default=1_000_000)
    args = ap.parse_args()
    redis = measure(lambda p: ["redis-server", "--port", str(p), "--save", "", "--appendonly", "no"], args.elements)
    cand = measure(lambda p: [args.candidate, "--port", str(p)], args.elements)
    n = args.elements
    print("%-20s %14s %14s %7s" % ("shape (%d elements)" % n, "redis B/elem", "swiftlet B/elem", "ratio"))
    for label in SHAPES:
        print("%-20s %14.1f %14.1f %7.2f" % (label, redis[label] / n, cand[label] / n, cand[label] / redis[label]))
    for op in ("RPUSH", "LPOP"):
        r, s = redis["throughput"][op], cand["throughput"][op]
        print("%-20s %12.0f/s %12.0f/s %7.2f" % (op + " pipelined x100", r, s, s / r))


if __name__ == "__main__":
    main()
