#!/usr/bin/env python3
"""PUBLISH (to 1 and to 100 subscribers) and MULTI/SET/EXEC throughput, Swiftlet against redis-server.

Both servers run pinned to CPU 0, the load generators to CPU 1, as ../shared/tools/bench-vs-redis.py does; each
test runs on both servers in alternation (A B, B A, ...) and the figure to quote is the ratio of medians.

* PUBLISH: redis-benchmark with a custom command (`PUBLISH ch <16 bytes>`), while a reader process keeps N
  subscribers on `ch` drained (so neither server buffers or drops them).
* MULTI/SET/EXEC: redis-benchmark cannot send a transaction, so a small pipelined client does it: C connections,
  each writing P pre-encoded transactions (MULTI, SET key value, EXEC) per round trip and counting the fixed-size
  replies. It only copies bytes, so the server is the bottleneck.

    benchmarks/coordination.py --server '.build/release/swiftlet-server --port {port}' [--rounds 3]
"""

import argparse
import os
import selectors
import shlex
import socket
import statistics
import subprocess
import sys
import time



def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pin(cpu):
    return ["taskset", "-c", str(cpu)] if (os.cpu_count() or 1) >= 2 else []


def start(cmd, port):
    argv = pin(0) + shlex.split(cmd.format(port=port))
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return proc
        except OSError:
            time.sleep(0.2)
    sys.exit("server %r did not start" % cmd)


SUBSCRIBER = r"""
import selectors, socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
sel = selectors.DefaultSelector()
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$2\r\nch\r\n")
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        if not key.fileobj.recv(1 << 20):
            sys.exit(0)
"""


def numsub(port):
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"*3\r\n$6\r\nPUBSUB\r\n$6\r\nNUMSUB\r\n$2\r\nch\r\n")
        data = s.recv(100)
        return int(data.split(b"\r\n")[-2][1:])


def bench_publish(port, subscribers, pipeline, requests):
    reader = subprocess.Popen(pin(1) + [sys.executable, "-c", SUBSCRIBER, str(port), str(subscribers)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "ready"
        while numsub(port) < subscribers:
            time.sleep(0.05)
        out = subprocess.run(
            pin(1) + ["redis-benchmark", "-p", str(port), "-n", str(requests), "-c", "50", "-P", str(pipeline),
                      "-q", "--csv", "PUBLISH", "ch", "0123456789abcdef"],
            capture_output=True, text=True, check=True).stdout
        line = [l for l in out.splitlines() if l.startswith('"PUBLISH')][-1]
        return float(line.split(",")[1].strip('"'))
    finally:
        reader.kill()
        reader.wait()


def bench_multi(port, pipeline, seconds=3.0, connections=50):
    tx = b"*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$3\r\nxxx\r\n*1\r\n$4\r\nEXEC\r\n"
    reply_size = len(b"+OK\r\n+QUEUED\r\n*1\r\n+OK\r\n")
    batch = tx * pipeline
    expected = reply_size * pipeline
    sel = selectors.DefaultSelector()
    conns = []
    for _ in range(connections):
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        conns.append([s, 0])
        sel.register(s, selectors.EVENT_READ, conns[-1])
    done = 0
    started = time.monotonic()
    for c in conns:
        c[0].sendall(batch)
    while time.monotonic() - started < seconds:
        for key, _ in sel.select(timeout=1):
            state = key.data
            data = state[0].recv(1 << 20)
            state[1] += len(data)
            while state[1] >= expected:
                state[1] -= expected
                done += pipeline
                state[0].sendall(batch)
    elapsed = time.monotonic() - started
    for c in conns:
        c[0].close()
    return done / elapsed


def bench_multi_pinned(port, pipeline):
    """Runs bench_multi in a child process pinned to CPU 1."""
    code = "import sys; sys.path.insert(0, %r); import coordination as c; print(c.bench_multi(%d, %d))" % (
        os.path.dirname(os.path.abspath(__file__)), port, pipeline)
    out = subprocess.run(pin(1) + [sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return float(out.strip())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=200000)
    args = ap.parse_args()
    sides = {"redis": "redis-server --port {port} --save '' --appendonly no", "swiftlet": args.server}
    ports = {name: free_port() for name in sides}
    procs = {name: start(cmd, ports[name]) for name, cmd in sides.items()}
    tests = [("publish_1sub", "P1", lambda p: bench_publish(p, 1, 1, args.requests)),
             ("publish_1sub", "P16", lambda p: bench_publish(p, 1, 16, args.requests)),
             ("publish_100sub", "P1", lambda p: bench_publish(p, 100, 1, args.requests // 4)),
             ("publish_100sub", "P16", lambda p: bench_publish(p, 100, 16, args.requests // 4)),
             ("multi_set_exec", "P1", lambda p: bench_multi_pinned(p, 1)),
             ("multi_set_exec", "P16", lambda p: bench_multi_pinned(p, 16))]
    try:
        print("| test | pipeline | redis ops/s | swiftlet ops/s | ratio |")
        print("|---|---|---:|---:|---:|")
        for name, depth, run in tests:
            results = {"redis": [], "swiftlet": []}
            for r in range(args.rounds):
                order = ["redis", "swiftlet"] if r % 2 == 0 else ["swiftlet", "redis"]
                for side in order:
                    results[side].append(run(ports[side]))
            a, b = statistics.median(results["redis"]), statistics.median(results["swiftlet"])
            print("| %s | %s | %.0f | %.0f | %.2f |" % (name, depth, a, b, b / a), flush=True)
    finally:
        for p in procs.values():
            os.killpg(p.pid, 15)


if __name__ == "__main__":
    main()
