#!/usr/bin/env python3
"""Replication side by side: a Swiftlet master and a redis-server master, each with one redis-server 7.0 replica.

For each master, alternately for --rounds rounds:
  * SET throughput with redis-benchmark (-P 16 -c 50 by default) while the replica follows, and the replication
    lag when the benchmark ends (how long until the replica's offset equals the master's);
  * a full sync of --keys keys (DEBUG POPULATE): seconds from REPLICAOF until the replica's link is up and its
    offset caught up, and of that the transfer: seconds until the replica (redis-server, which saves the payload to
    disk before loading it) starts loading, which is the master's part.
The master runs on CPU 0, the replica and redis-benchmark on CPU 1 (taskset), so the master is the bottleneck.
Prints a markdown table of medians and the Swiftlet/Redis ratios.

  benchmarks/replication-vs.py [--rounds 3] [--requests 1000000] [--keys 1000000] [--pipeline 16]
"""

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(port, *args):
    return subprocess.run(["redis-cli", "-p", str(port)] + [str(a) for a in args], capture_output=True,
                          text=True, timeout=600).stdout.strip()


def info(port, section):
    text = cli(port, "INFO", section)
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line and not line.startswith("#"))


def start(argv, port, cpu, directory):
    proc = subprocess.Popen(["taskset", "-c", str(cpu)] + argv, cwd=directory, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if cli(port, "PING") == "PONG":
            return proc
        time.sleep(0.05)
    raise RuntimeError("server on %d did not start" % port)


def wait_synced(master, replica, timeout=600):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fields = info(replica, "replication")
        if fields.get("master_link_status") == "up" and \
                fields.get("slave_repl_offset") == info(master, "replication")["master_repl_offset"]:
            return time.monotonic()
        time.sleep(0.01)
    raise RuntimeError("replica did not catch up")


def wait_loading(replica, timeout=600):
    """When the replica starts loading the payload (the transfer is over), or finished already."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if info(replica, "persistence").get("loading") == "1" or \
                info(replica, "replication").get("master_link_status") == "up":
            return time.monotonic()
        time.sleep(0.005)
    raise RuntimeError("replica did not start loading")


def master_argv(kind, port):
    if kind == "swiftlet":
        return [os.path.join(ROOT, ".build/release/swiftlet-server"), "--port", str(port), "--save", "",
                "--repl-diskless-sync-delay", "0", "--enable-debug-command", "yes"]
    return ["redis-server", "--port", str(port), "--save", "", "--repl-diskless-sync-delay", "0",
            "--enable-debug-command", "yes"]


def one_round(kind, args):
    work = tempfile.mkdtemp(prefix="replication-vs-")
    mport, rport = free_port(), free_port()
    os.mkdir(os.path.join(work, "m"))
    os.mkdir(os.path.join(work, "r"))
    master = start(master_argv(kind, mport), mport, 0, os.path.join(work, "m"))
    replica = start(["redis-server", "--port", str(rport), "--save", ""], rport, 1, os.path.join(work, "r"))
    try:
        cli(rport, "REPLICAOF", "127.0.0.1", mport)
        wait_synced(mport, rport)
        out = subprocess.run(["taskset", "-c", "1", "redis-benchmark", "-p", str(mport), "-t", "set", "-n",
                              str(args.requests), "-P", str(args.pipeline), "-c", "50", "-r", "100000", "--csv"],
                             capture_output=True, text=True, timeout=600).stdout
        ended = time.monotonic()
        rps = float(out.splitlines()[1].split(",")[1].strip('"'))
        lag = wait_synced(mport, rport) - ended
        # Full sync of a populated master.
        cli(rport, "REPLICAOF", "NO", "ONE")
        cli(mport, "FLUSHALL")
        cli(mport, "DEBUG", "POPULATE", args.keys, "key", 100)
        started = time.monotonic()
        cli(rport, "REPLICAOF", "127.0.0.1", mport)
        transfer = wait_loading(rport) - started
        sync = wait_synced(mport, rport) - started
        assert int(cli(rport, "DBSIZE")) == args.keys
        return rps, lag, sync, transfer
    finally:
        for proc in (master, replica):
            proc.kill()
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=1000000)
    parser.add_argument("--keys", type=int, default=1000000)
    parser.add_argument("--pipeline", type=int, default=16)
    args = parser.parse_args()
    # This script and the redis-cli processes it polls with stay off the master's CPU.
    os.sched_setaffinity(0, {1})
    results = {"redis": [], "swiftlet": []}
    for _ in range(args.rounds):
        for kind in ("redis", "swiftlet"):
            results[kind].append(one_round(kind, args))
    med = {k: [statistics.median(r[i] for r in v) for i in range(4)] for k, v in results.items()}
    print("| master | SET rps (P%d, one replica) | lag after the run (s) | full sync of %d keys (s) | of which the "
          "transfer (s) |" % (args.pipeline, args.keys))
    print("|---|---|---|---|---|")
    for kind in ("redis", "swiftlet"):
        rps, lag, sync, transfer = med[kind]
        print("| %s | %.0f | %.3f | %.2f | %.2f |" % (kind, rps, lag, sync, transfer))
    print("| ratio swiftlet/redis | %.2f | | %.2f (time; < 1 is faster) | %.2f |"
          % (med["swiftlet"][0] / med["redis"][0], med["swiftlet"][2] / med["redis"][2],
             med["swiftlet"][3] / med["redis"][3]))


if __name__ == "__main__":
    main()
