#!/usr/bin/env python3
"""Runs ../shared/tools/bench-vs-redis.py several times, for the candidate and for a control in which redis-server
is compared with itself, and prints how each row's ratio spreads from run to run.

A bar such as "ratio >= 0.9 on every row" is judged on one run of bench-vs-redis. On a shared two-core machine a
row's ratio moves by more than 10% between runs whatever the candidate is; the control shows by how much, because
any ratio other than 1.00 in it is noise. If Redis against itself fails the bar, one run cannot tell whether the
candidate meets it.

    benchmarks/bench-noise.py --server '.build/release/swiftlet-server --port {port}' --runs 2 \\
        --tests lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,lrange_100 --keep /tmp/noise

Runs alternate, control first: control, candidate, control, candidate, ... Each run is the bench-vs-redis command
with its defaults (100,000 requests, 50 clients, pipeline 1 and 16, 3 rounds) and --memory-keys 0; one takes about
8 minutes for nine tests. --add FILE.json (repeatable; name:FILE for the control as control:FILE) adds runs made
before, from bench-vs-redis's --json.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

BENCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "tools", "bench-vs-redis.py")
CONTROL = "redis-server --port {port} --save '' --appendonly no --bind 127.0.0.1"


def run(server, tests, out):
    argv = [sys.executable, BENCH, "--server", server, "--tests", tests, "--memory-keys", "0", "--json", out]
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0 or not os.path.exists(out):
        sys.exit(f"bench-vs-redis failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    with open(out) as f:
        return {row: fig["ratio"] for row, fig in json.load(f).items() if "ratio" in fig}


def summary(label, runs, bar):
    rows = sorted({row for r in runs for row in r}, key=lambda r: (int(r.rsplit("P", 1)[1]), r))
    print(f"\n{label}: {len(runs)} run(s)")
    print(f"{'row':<42}{'min':>6}{'median':>8}{'max':>6}   per run")
    for row in rows:
        xs = [r[row] for r in runs if row in r]
        per = " ".join(f"{x:.2f}" for x in xs)
        print(f"{row:<42}{min(xs):>6.2f}{statistics.median(xs):>8.2f}{max(xs):>6.2f}   {per}")
    worst = [min(r.values()) for r in runs]
    passed = sum(1 for w in worst if w >= bar)
    print(f"worst row per run: {' '.join(f'{w:.2f}' for w in worst)}; runs with every row >= {bar}: {passed} of {len(runs)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", required=True, help="command that starts the candidate; {port} is replaced")
    ap.add_argument("--tests", default="lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,lrange_100")
    ap.add_argument("--runs", type=int, default=2, help="runs of each, candidate and control (0: only --add)")
    ap.add_argument("--bar", type=float, default=0.9)
    ap.add_argument("--keep", help="directory for each run's JSON (default: a temporary one)")
    ap.add_argument("--add", action="append", default=[], help="an earlier run's JSON; control:FILE for the control")
    a = ap.parse_args()
    if not os.path.exists(BENCH):
        sys.exit(f"not found: {BENCH} (the shared tools sit beside the checkout)")
    work = a.keep or tempfile.mkdtemp(prefix="bench-noise-")
    os.makedirs(work, exist_ok=True)
    candidate, control = [], []
    for spec in a.add:
        is_control = spec.startswith("control:")
        path = spec.split(":", 1)[1] if is_control else spec
        with open(path) as f:
            ratios = {row: fig["ratio"] for row, fig in json.load(f).items() if "ratio" in fig}
        (control if is_control else candidate).append(ratios)
    for i in range(a.runs):
        control.append(run(CONTROL, a.tests, os.path.join(work, f"control-{i + 1}.json")))
        print(f"control run {i + 1}: worst {min(control[-1].values()):.2f}", flush=True)
        candidate.append(run(a.server, a.tests, os.path.join(work, f"candidate-{i + 1}.json")))
        print(f"candidate run {i + 1}: worst {min(candidate[-1].values()):.2f}", flush=True)
    if control:
        summary("control (redis-server against itself)", control, a.bar)
    if candidate:
        summary("candidate against redis-server", candidate, a.bar)


if __name__ == "__main__":
    main()
