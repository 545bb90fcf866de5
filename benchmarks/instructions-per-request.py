#!/usr/bin/env python3
"""Instructions the server executes per request, counted by valgrind's callgrind: the same figure on every run,
however noisy the machine, so a change of a few percent in the server's CPU cost shows where throughput cannot.

The server runs under callgrind (a copy of the binary without debug information: valgrind 3.19 cannot read the
DWARF of the statically linked Swift runtime); redis-benchmark warms it up, the counters are zeroed, then it sends
the measured requests and the counters are dumped. The figure is every instruction of the process (event loop,
NIO, our code, libc), divided by the requests. Without pipelining each request is one read event; at depth 16 one
event carries 16.

    benchmarks/instructions-per-request.py --server .build/release/swiftlet-server --tests sadd,spop --pipeline 1,16

Prints one line per test and depth; `--profile DIR` keeps the callgrind files for callgrind_annotate. Besides
redis-benchmark's own tests, `evalsha_get` and `evalsha_incr_expire` run EVALSHA of benchmarks/scripting-vs.py's
two scripts on keys drawn from 100,000 (the script is loaded first):

    benchmarks/instructions-per-request.py --server /usr/bin/redis-server --tests evalsha_get --pipeline 1,16
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from coordination import free_port  # noqa: E402


def wait_ready(port, proc, seconds=120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"the server under valgrind exited with status {proc.returncode}")
        ping = subprocess.run(["redis-cli", "-p", str(port), "PING"], capture_output=True, text=True)
        if ping.stdout.strip() == "PONG":
            return
        time.sleep(0.5)
    sys.exit(f"the server under valgrind did not answer PING within {seconds} s")


SCRIPTS = {
    "evalsha_get": "return redis.call('GET', KEYS[1])",
    "evalsha_incr_expire": "local n = redis.call('INCR', KEYS[1]); redis.call('EXPIRE', KEYS[1], 100); return n",
}


def benchmark(port, test, requests, pipeline):
    if test in SCRIPTS:
        sha = subprocess.run(["redis-cli", "-p", str(port), "SCRIPT", "LOAD", SCRIPTS[test]], capture_output=True,
                             text=True, check=True).stdout.strip()
        what = ["-r", "100000", "EVALSHA", sha, "1", "key:__rand_int__"]
    else:
        what = ["-t", test]
    subprocess.run(["redis-benchmark", "-p", str(port), "-n", str(requests), "-c", "50", "-P", str(pipeline), "-q"]
                   + what, capture_output=True, check=True, timeout=1800)


def measure(binary, test, pipeline, requests, out):
    port = free_port()
    server = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", binary,
                               "--port", str(port), "--save", "", "--appendonly", "no"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=os.path.dirname(out))
    try:
        wait_ready(port, server)
        benchmark(port, test, 3000, pipeline)
        subprocess.run(["callgrind_control", "-z", str(server.pid)], capture_output=True, check=True)
        benchmark(port, test, requests, pipeline)
        subprocess.run(["callgrind_control", "-d", str(server.pid)], capture_output=True, check=True)
    finally:
        server.terminate()
        server.wait(timeout=60)
    # The dump after zeroing is the first numbered part.
    with open(out + ".1") as f:
        for line in f:
            if line.startswith("summary:"):
                return int(line.split()[1]) / requests
    sys.exit(f"no summary line in {out}.1")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", default=".build/release/swiftlet-server", help="the server binary")
    ap.add_argument("--tests", default="sadd,spop,lpush,rpop,hset,zadd")
    ap.add_argument("--pipeline", default="1,16", help="comma-separated pipeline depths")
    ap.add_argument("--requests", type=int, default=20000, help="measured requests at depth 1 (x10 at deeper ones)")
    ap.add_argument("--profile", help="keep the callgrind files in this directory")
    a = ap.parse_args()
    for tool in ("valgrind", "callgrind_control", "redis-benchmark", "redis-cli", "strip"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed")
    work = a.profile or tempfile.mkdtemp(prefix="instructions-")
    os.makedirs(work, exist_ok=True)
    binary = os.path.join(work, "server-nodebug")
    subprocess.run(["strip", "--strip-debug", "-o", binary, a.server], check=True)
    print(f"{'test':<20}{'pipeline':>9}{'instructions/request':>22}")
    for test in a.tests.split(","):
        for depth in (int(p) for p in a.pipeline.split(",")):
            requests = a.requests if depth == 1 else a.requests * 10
            out = os.path.join(work, f"callgrind-{test}-p{depth}.out")
            print(f"{test:<20}{depth:>9}{measure(binary, test, depth, requests, out):>22.0f}", flush=True)
    if not a.profile:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
