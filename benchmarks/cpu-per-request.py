#!/usr/bin/env python3
"""Server CPU time per request (user and system, from /proc), Swiftlet against redis-server.

On a shared machine the throughput of one run moves by ±30% with the neighbours, but the CPU time a server spends
per request moves much less, and noise only ever adds to it: the minimum over several runs is a steady estimate of
what a request costs. Both servers are pinned to CPU 0 and redis-benchmark to CPU 1, as bench-vs-redis.py does;
the runs alternate between the servers.

    benchmarks/cpu-per-request.py --server '.build/release/swiftlet-server --port {port}' \\
        --tests sadd,lpush,get --pipeline 16 --requests 500000 --rounds 5

Prints, per test: the minimum and median of user+system microseconds per request on each side, the user and
system parts of the minimum run, and the median throughput.
"""
import argparse
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from coordination import free_port, start  # noqa: E402  (same pinning and readiness wait as that benchmark)

HZ = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12])  # utime, stime (clock ticks)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", required=True, help="command that starts the candidate; {port} is replaced")
    ap.add_argument("--tests", default="lpush,rpush,sadd,hset,get")
    ap.add_argument("--pipeline", type=int, default=16)
    ap.add_argument("--requests", type=int, default=500000)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    sides = {"redis": "redis-server --port {port} --save '' --appendonly no --bind 127.0.0.1", "swiftlet": a.server}
    procs, ports = {}, {}
    try:
        for name, cmd in sides.items():
            ports[name] = free_port()
            procs[name] = start(cmd, ports[name])
        samples = {}
        for test in a.tests.split(","):
            for r in range(a.rounds):
                for name in (["redis", "swiftlet"] if r % 2 == 0 else ["swiftlet", "redis"]):
                    subprocess.run(["redis-cli", "-p", str(ports[name]), "FLUSHALL"], capture_output=True)
                    u0, s0 = cpu_ticks(procs[name].pid)
                    out = subprocess.run(
                        ["taskset", "-c", "1", "redis-benchmark", "-p", str(ports[name]), "-t", test,
                         "-n", str(a.requests), "-c", "50", "-P", str(a.pipeline), "--csv"],
                        capture_output=True, text=True, check=True).stdout
                    u1, s1 = cpu_ticks(procs[name].pid)
                    rps = float(out.strip().splitlines()[1].split(",")[1].strip('"'))
                    per = 1e6 / HZ / a.requests
                    samples.setdefault((test, name), []).append(((u1 - u0) * per, (s1 - s0) * per, rps))
        print(f"{'test':<8}{'side':<10}{'min u+s':>9}{'(user':>8}{'sys)':>7}{'median':>9}{'median rps':>12}")
        for test in a.tests.split(","):
            for name in ("redis", "swiftlet"):
                xs = samples[(test, name)]
                best = min(xs, key=lambda x: x[0] + x[1])
                print(f"{test:<8}{name:<10}{best[0] + best[1]:>9.2f}{best[0]:>8.2f}{best[1]:>7.2f}"
                      f"{statistics.median(x[0] + x[1] for x in xs):>9.2f}{statistics.median(x[2] for x in xs):>12.0f}")
    finally:
        for p in procs.values():
            p.kill()
            p.wait()


if __name__ == "__main__":
    main()
