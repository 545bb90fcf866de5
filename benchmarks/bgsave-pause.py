#!/usr/bin/env python3
"""BGSAVE of N keys: the longest pause a client sees, the BGSAVE time, and the load time, for redis-server and
the candidate (issue 5: BGSAVE must not stop the server).

Both servers get the same data (N distinct keys `key:<i>` with 16-byte values, SET pipelined), then:
* a pinger sends PING back to back on its own connection and records every round trip while BGSAVE runs;
  the report gives the slowest one (the longest pause), the 99.9th percentile and how many PINGs were served;
* BGSAVE time: from the BGSAVE reply until INFO says `rdb_bgsave_in_progress:0` (polled every 5 ms);
* load time: the server is restarted on the dump and reports "DB loaded from disk: X seconds" in its log.

    benchmarks/bgsave-pause.py --server '.build/release/swiftlet-server --port {port}' --keys 1000000
"""
import argparse
import os
import re
import shlex
import socket
import subprocess
import sys
import tempfile
import threading
import time


def start(cmd, port, directory, log):
    argv = shlex.split(cmd.format(port=port)) + ["--dir", directory, "--save", "", "--appendonly", "no"]
    return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=600)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def wait(port):
    for _ in range(3000):
        try:
            with connect(port) as s:
                s.sendall(b"PING\r\n")
                if s.recv(64).startswith(b"+PONG"):
                    return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"server on {port} did not start")


def command(s, *args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    s.sendall(out)
    data = b""
    while b"\r\n" not in data:
        data += s.recv(1 << 20)
    if data.startswith(b"$"):
        header, _, rest = data.partition(b"\r\n")
        length = int(header[1:])
        while len(rest) < length + 2:
            rest += s.recv(1 << 20)
        return rest[:length]
    return data


def populate(port, keys):
    with connect(port) as s:
        batch = 10000
        for start in range(0, keys, batch):
            payload = b"".join(
                b"*3\r\n$3\r\nSET\r\n$%d\r\nkey:%d\r\n$16\r\n%016d\r\n" % (len(b"key:%d" % i), i, i)
                for i in range(start, min(keys, start + batch))
            )
            s.sendall(payload)
            expected = 5 * (min(keys, start + batch) - start)
            got = 0
            while got < expected:
                got += len(s.recv(1 << 20))


def bgsave_in_progress(s):
    info = command(s, "INFO", "persistence")
    return b"rdb_bgsave_in_progress:1" in info


def measure(port):
    stop = threading.Event()
    rtts = []

    def pinger():
        with connect(port) as s:
            while not stop.is_set():
                t = time.perf_counter()
                s.sendall(b"PING\r\n")
                s.recv(64)
                rtts.append(time.perf_counter() - t)

    with connect(port) as control:
        thread = threading.Thread(target=pinger)
        thread.start()
        time.sleep(0.2)
        rtts.clear()
        started = time.perf_counter()
        reply = command(control, "BGSAVE")
        assert reply.startswith(b"+Background saving started"), reply
        while bgsave_in_progress(control):
            time.sleep(0.005)
        elapsed = time.perf_counter() - started
        stop.set()
        thread.join()
    rtts.sort()
    return {
        "bgsave_s": elapsed,
        "max_ms": rtts[-1] * 1000 if rtts else float("nan"),
        "p999_ms": rtts[int(len(rtts) * 0.999)] * 1000 if rtts else float("nan"),
        "pings": len(rtts),
    }


def load_time(cmd, port, directory):
    log_path = os.path.join(directory, "reload.log")
    with open(log_path, "wb") as log:
        proc = start(cmd, port, directory, log)
    try:
        wait(port)
    finally:
        proc.terminate()
        proc.wait()
    text = open(log_path, errors="replace").read()
    found = re.search(r"DB loaded from disk: ([0-9.]+) seconds", text)
    return float(found.group(1)) if found else float("nan")


def run(name, cmd, keys):
    directory = tempfile.mkdtemp(prefix="bgsave-pause-")
    port = 7600 + os.getpid() % 300
    with open(os.path.join(directory, "server.log"), "wb") as log:
        proc = start(cmd, port, directory, log)
    try:
        wait(port)
        populate(port, keys)
        result = measure(port)
        size = os.path.getsize(os.path.join(directory, "dump.rdb"))
    finally:
        proc.terminate()
        proc.wait()
    result["load_s"] = load_time(cmd, port, directory)
    result["file_mb"] = size / 1e6
    print(
        f"{name:10s} keys={keys} bgsave={result['bgsave_s']:.3f}s load={result['load_s']:.3f}s "
        f"file={result['file_mb']:.1f}MB longest-pause={result['max_ms']:.2f}ms p99.9={result['p999_ms']:.2f}ms "
        f"pings-during-bgsave={result['pings']}",
        flush=True,
    )
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default=".build/release/swiftlet-server --port {port}")
    parser.add_argument("--redis", default="redis-server --port {port}")
    parser.add_argument("--keys", type=int, default=1000000)
    args = parser.parse_args()
    run("redis", args.redis, args.keys)
    run("swiftlet", args.server, args.keys)


if __name__ == "__main__":
    main()
