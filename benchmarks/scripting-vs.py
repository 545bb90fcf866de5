#!/usr/bin/env python3
"""Scripting side by side with redis-server: EVALSHA throughput and the memory of cached scripts.

    benchmarks/scripting-vs.py [--rounds 3] [--requests 200000] [--server .build/release/swiftlet-server]

Both servers run pinned to CPU 0 (taskset), redis-benchmark on CPU 1, one server at a time, alternating for each
round. Rows: EVALSHA of a script doing one GET, and of one doing INCR then EXPIRE, at pipeline 1 and 16, 50
connections, keys drawn from 100,000 (`-r`). The table gives each server's median requests per second and the ratio
(Swiftlet / Redis), and the server's CPU time (user + system, from /proc) per request: its minimum over the rounds,
which noise only adds to, is steadier than the throughput at pipeline 1, where the benchmark client is the limit.
Then 10,000 distinct scripts are loaded with SCRIPT LOAD into a fresh server of each kind and
the growth of used_memory and of the resident set is compared.
"""

import argparse
import os
import re
import socket
import statistics
import subprocess
import tempfile
import time

GET_SCRIPT = "return redis.call('GET', KEYS[1])"
INCR_SCRIPT = "local n = redis.call('INCR', KEYS[1]); redis.call('EXPIRE', KEYS[1], 100); return n"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start(command, port, workdir):
    proc = subprocess.Popen(
        ["taskset", "-c", "0"] + command + ["--port", str(port), "--save", "", "--appendonly", "no", "--dir", workdir],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return proc
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start: %s" % command)


def cli(port, *args):
    return subprocess.check_output(["redis-cli", "-p", str(port)] + list(args)).decode().strip()


def info(port, field):
    text = cli(port, "INFO", "memory")
    return int(re.search(r"^%s:(\d+)" % field, text, re.M).group(1))


def rss(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1)) * 1024


def cpu_seconds(pid):
    fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench(port, pid, sha, pipeline, requests):
    """Requests per second, and the server's CPU microseconds per request."""
    cpu = cpu_seconds(pid)
    out = subprocess.check_output(
        ["taskset", "-c", "1", "redis-benchmark", "-p", str(port), "-n", str(requests), "-c", "50",
         "-P", str(pipeline), "-r", "100000", "-q", "EVALSHA", sha, "1", "key:__rand_int__"]
    ).decode()
    cpu = cpu_seconds(pid) - cpu
    return float(re.search(r"([\d.]+) requests per second", out).group(1)), cpu * 1e6 / requests


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=200000)
    parser.add_argument("--server", default=".build/release/swiftlet-server")
    args = parser.parse_args()
    servers = [("swiftlet", [args.server]), ("redis", ["redis-server"])]
    rows = [("EVALSHA GET", GET_SCRIPT, 1), ("EVALSHA GET", GET_SCRIPT, 16),
            ("EVALSHA INCR+EXPIRE", INCR_SCRIPT, 1), ("EVALSHA INCR+EXPIRE", INCR_SCRIPT, 16)]
    results = {(name, p, kind): [] for name, _, p in rows for kind, _ in servers}
    cpu = {(name, p, kind): [] for name, _, p in rows for kind, _ in servers}
    with tempfile.TemporaryDirectory() as work:
        for _ in range(args.rounds):
            for kind, command in servers:
                port = free_port()
                proc = start(command, port, work)
                try:
                    for name, script, pipeline in rows:
                        sha = cli(port, "SCRIPT", "LOAD", script)
                        rps, micros = bench(port, proc.pid, sha, pipeline, args.requests)
                        results[(name, pipeline, kind)].append(rps)
                        cpu[(name, pipeline, kind)].append(micros)
                finally:
                    proc.terminate()
                    proc.wait()
        print("| row | pipeline | swiftlet rps | redis rps | ratio | swiftlet CPU µs/req | redis CPU µs/req | CPU ratio |")
        print("|---|---|---|---|---|---|---|---|")
        for name, _, pipeline in rows:
            s = statistics.median(results[(name, pipeline, "swiftlet")])
            r = statistics.median(results[(name, pipeline, "redis")])
            sc = min(cpu[(name, pipeline, "swiftlet")])
            rc = min(cpu[(name, pipeline, "redis")])
            print("| %s | %d | %.0f | %.0f | %.2f | %.2f | %.2f | %.2f |" % (name, pipeline, s, r, s / r, sc, rc, rc / sc))

        print()
        print("| 10,000 cached scripts | used_memory growth | RSS growth |")
        print("|---|---|---|")
        growth = {}
        for kind, command in servers:
            port = free_port()
            proc = start(command, port, work)
            try:
                before = (info(port, "used_memory"), rss(proc.pid))
                pipe = subprocess.Popen(["redis-cli", "-p", str(port), "--pipe"], stdin=subprocess.PIPE,
                                        stdout=subprocess.DEVNULL)
                payload = bytearray()
                for i in range(10000):
                    body = "return %d + redis.call('GET', KEYS[1] or 'k%d')" % (i, i)
                    parts = [b"SCRIPT", b"LOAD", body.encode()]
                    payload += b"*%d\r\n" % len(parts)
                    for p in parts:
                        payload += b"$%d\r\n%s\r\n" % (len(p), p)
                pipe.communicate(bytes(payload))
                assert int(re.search(r"number_of_cached_scripts:(\d+)", cli(port, "INFO", "memory")).group(1)) == 10000
                after = (info(port, "used_memory"), rss(proc.pid))
                growth[kind] = (after[0] - before[0], after[1] - before[1])
                print("| %s | %d | %d |" % (kind, growth[kind][0], growth[kind][1]))
            finally:
                proc.terminate()
                proc.wait()
        print("| ratio | %.2f | %.2f |" % (growth["swiftlet"][0] / growth["redis"][0],
                                         growth["swiftlet"][1] / growth["redis"][1]))


if __name__ == "__main__":
    main()
