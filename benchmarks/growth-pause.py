#!/usr/bin/env python3
"""Longest pause a client sees while the keyspace grows to N keys (DESIGN.md: no long pause at 10M keys).

A pinger sends PING every millisecond on its own connection and records the slowest round trip, while
redis-benchmark inserts N distinct keys with SET (pipelined). Runs against redis-server and the candidate.

    benchmarks/growth-pause.py --server '.build/release/swiftlet-server --port {port}' --keys 10000000
"""
import argparse
import os
import shlex
import socket
import subprocess
import sys
import threading
import time


def start(cmd, port):
    return subprocess.Popen(shlex.split(cmd.format(port=port)), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def wait(port):
    for _ in range(300):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(64).startswith(b"+PONG"):
                    return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"server on {port} did not start")


def measure(port, keys):
    stop = threading.Event()
    worst = [0.0]
    samples = [0]

    def pinger():
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while not stop.is_set():
                t = time.perf_counter()
                s.sendall(b"PING\r\n")
                s.recv(64)
                worst[0] = max(worst[0], time.perf_counter() - t)
                samples[0] += 1
                time.sleep(0.001)

    thread = threading.Thread(target=pinger)
    thread.start()
    started = time.time()
    subprocess.run(["redis-benchmark", "-p", str(port), "-t", "set", "-r", str(keys), "-n", str(keys * 2),
                    "-P", "64", "-c", "4", "-d", "8", "-q"], capture_output=True, timeout=3000)
    elapsed = time.time() - started
    stop.set()
    thread.join()
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"DBSIZE\r\n")
        size = int(s.recv(64)[1:].strip())
    return worst[0] * 1000, size, elapsed, samples[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--keys", type=int, default=10_000_000)
    a = ap.parse_args()
    base = 23000 + os.getpid() % 1000
    for name, cmd, port in [("redis", "redis-server --port {port} --save '' --appendonly no", base),
                            ("candidate", a.server, base + 1)]:
        proc = start(cmd, port)
        try:
            wait(port)
            worst, size, elapsed, samples = measure(port, a.keys)
            print(f"{name:<10} keys={size} load={elapsed:.1f}s pings={samples} longest_ping_ms={worst:.1f}")
        finally:
            os.killpg(proc.pid, 15)
            proc.wait()


if __name__ == "__main__":
    main()
