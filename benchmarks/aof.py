#!/usr/bin/env python3
"""AOF cost, Swiftlet against redis-server, both with the same settings.

* SET throughput with `appendonly yes` and appendfsync everysec / always (redis-benchmark -t set, 50 clients,
  pipeline 1 and 16). Both servers run pinned to CPU 0, redis-benchmark to CPU 1, each in its own directory on
  the same disk; every test runs on both servers in alternation (A B, B A, ...) and the figure is the ratio of
  medians, as ../shared/tools/bench-vs-redis.py does.
* Load time of a 1M-key AOF: one directory is written by redis-server (a base of commands, aof-use-rdb-preamble
  no, then 1M SETs in the incremental file), copied, and each server is started on its copy; the figure is the
  time to the first PONG.

    benchmarks/aof.py --server '.build/release/swiftlet-server --port {port}' [--rounds 3] [--keys 1000000]
"""

import argparse
import os
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pin(cpu):
    return ["taskset", "-c", str(cpu)] if (os.cpu_count() or 1) >= 2 else []


def ping(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def start(cmd, port, directory, extra):
    argv = pin(0) + shlex.split(cmd.format(port=port)) + ["--dir", directory, "--save", ""] + extra
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    while time.monotonic() - started < 600:
        if ping(port):
            return proc, time.monotonic() - started
        if proc.poll() is not None:
            sys.exit("server %r exited" % cmd)
        time.sleep(0.005)
    sys.exit("server %r did not start" % cmd)


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def set_rate(port, pipeline, requests):
    out = subprocess.run(
        pin(1) + ["redis-benchmark", "-p", str(port), "-t", "set", "-n", str(requests), "-c", "50",
                  "-P", str(pipeline), "-r", "100000", "-q", "--csv"],
        capture_output=True, text=True, check=True,
    ).stdout
    for line in out.splitlines():
        if line.startswith('"SET"'):
            return float(line.split(",")[1].strip('"'))
    raise RuntimeError(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default=".build/release/swiftlet-server --port {port}")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=200000)
    parser.add_argument("--keys", type=int, default=1000000)
    args = parser.parse_args()
    servers = {"redis": "redis-server --port {port}", "swiftlet": args.server}
    work = tempfile.mkdtemp(prefix="swiftlet-aof-bench-")
    rows = []
    try:
        for fsync in ("everysec", "always"):
            for pipeline in (1, 16):
                rates = {"redis": [], "swiftlet": []}
                for r in range(args.rounds):
                    order = ["redis", "swiftlet"] if r % 2 == 0 else ["swiftlet", "redis"]
                    for name in order:
                        directory = os.path.join(work, "%s-%s-%d" % (name, fsync, pipeline))
                        shutil.rmtree(directory, ignore_errors=True)
                        os.makedirs(directory)
                        port = free_port()
                        proc, _ = start(servers[name], port, directory, ["--appendonly", "yes", "--appendfsync", fsync])
                        try:
                            rates[name].append(set_rate(port, pipeline, args.requests))
                        finally:
                            stop(proc)
                redis, ours = statistics.median(rates["redis"]), statistics.median(rates["swiftlet"])
                rows.append(("SET appendfsync %s P%d" % (fsync, pipeline), redis, ours))
                print("%-32s redis %10.0f/s  swiftlet %10.0f/s  ratio %.2f" % (rows[-1][0], redis, ours, ours / redis),
                      flush=True)
        # Load time of a command log written by Redis.
        source = os.path.join(work, "source")
        os.makedirs(source)
        port = free_port()
        proc, _ = start(servers["redis"], port, source,
                        ["--appendonly", "yes", "--aof-use-rdb-preamble", "no", "--appendfsync", "no"])
        try:
            subprocess.run(pin(1) + ["redis-benchmark", "-p", str(port), "-t", "set", "-n", str(args.keys), "-r",
                                     str(args.keys * 10), "-c", "50", "-P", "64", "-q"],
                           capture_output=True, check=True)
            subprocess.run(["redis-cli", "-p", str(port), "DEBUG", "POPULATE", str(args.keys), "pop"],
                           capture_output=True, check=True)
            keys = int(subprocess.run(["redis-cli", "-p", str(port), "DBSIZE"], capture_output=True, text=True).stdout)
        finally:
            stop(proc)
        size = sum(os.path.getsize(os.path.join(source, "appendonlydir", f))
                   for f in os.listdir(os.path.join(source, "appendonlydir")))
        times = {"redis": [], "swiftlet": []}
        for r in range(args.rounds):
            order = ["redis", "swiftlet"] if r % 2 == 0 else ["swiftlet", "redis"]
            for name in order:
                directory = os.path.join(work, "load-%s" % name)
                shutil.rmtree(directory, ignore_errors=True)
                shutil.copytree(source, directory)
                port = free_port()
                proc, seconds = start(servers[name], port, directory, ["--appendonly", "yes"])
                stop(proc)
                times[name].append(seconds)
        redis, ours = statistics.median(times["redis"]), statistics.median(times["swiftlet"])
        print("%-32s redis %9.2f s   swiftlet %9.2f s   speed ratio %.2f  (%d keys, %.0f MB of AOF)"
              % ("load AOF", redis, ours, redis / ours, keys, size / 1e6), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
