#!/usr/bin/env python3
"""Side-by-side throughput and server CPU per request: `memcached -t 1` against `swiftlet-memcached`.

Both servers run at once with the same flags (`-t 1 -U 0 -l 127.0.0.1 -p PORT -m 1024`, plus `-u root` when run as
root), each pinned to CPU 0 with taskset; the load generator runs pinned to CPU 1. The load generator is
benchmarks/memcload.c, compiled here with `cc -O2` into a temporary directory: one thread, epoll, --connections
connections, each with one request in flight (a `get` of one key, a `set`, or a `get` of --mget-keys keys), for a
fixed time, counting the requests completed. (memcslap runs one blocking thread per connection and reached about
20k gets/s on the 2-core machine with the server 40% busy; memcaslap, 1 thread and 50 connections, about 30-44k
with the server 37% busy: both saturate themselves before the server.)

Rows (--rows, default get,set,mget):
  get   `get KEY`, a key drawn uniformly from the --keys keys, which are preloaded (every get hits)
  set   `set KEY 0 0 V`, same key range, --value-size bytes (overwrites: nothing is evicted at -m 1024)
  mget  `get K1 .. K16` (--mget-keys), preloaded keys; ops/s counts requests (a request = 16 keys)

Each row runs --rounds times on each server, alternating (A B, then B A, ...), --seconds each. The table gives the
median ops/s of each server and the ratio swiftlet/memcached (above 1: Swiftlet faster); each round's ratio (its
two runs are adjacent in time, so they share the neighbours' load) and the median of those; and each server's CPU
time per request (user+system, all threads, from /proc/PID/stat around the run), minimum and median over the rounds.
CPU per request moves less with the neighbours than ops/s, but not nothing: a server that is starved of CPU or of
requests handles fewer requests per epoll wake-up and pays more per request; the minimum is the run closest to
saturation. "busy" is the server's CPU seconds over the run's seconds (100% = all of CPU 0), "client" the same for
memcload on CPU 1: a run with the client near 100% and the server below was set by the client.

    benchmarks/memcached-vs.py                       # about 100 s: 3 rows x 5 rounds x 2 servers x 3 s
    benchmarks/memcached-vs.py --rounds 5 --seconds 3 --value-size 100 --json /tmp/mc-vs.json
    benchmarks/memcached-vs.py --rows get --rounds 1 --perf get,mget --perf-servers swiftlet,memcached

After the preload, the runs wait until both servers' hash tables have grown for the keys and stopped moving
buckets (100k keys make both grow theirs once, from 2^16 to 2^17 buckets; the time each took is printed). --perf
ROWS then runs each ROW once more on the --perf-servers under `perf record -g` and prints the top of `perf report`
(self time: by binary, then by symbol, Swift names demangled), for finding what to optimise. Processes started here
are killed on exit, Ctrl-C included.
"""
import argparse
import json
import os
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HERE = os.path.dirname(os.path.abspath(__file__))
HZ = os.sysconf("SC_CLK_TCK")
ROWS = {"get": "get, 1 key", "set": "set", "mget": "get, %d keys"}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pin(cpu):
    return ["taskset", "-c", str(cpu)] if (os.cpu_count() or 1) >= 2 and shutil.which("taskset") else []


def _raise_exit(signum, _frame):
    raise SystemExit(128 + signum)   # run the finally blocks (servers killed) on SIGTERM / SIGHUP too


def install_signal_handlers():
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_exit)
    # Ctrl-C raises KeyboardInterrupt even where the shell started us with SIGINT ignored (a background job)
    signal.signal(signal.SIGINT, signal.default_int_handler)


class Server:
    """A memcached-protocol server on a free 127.0.0.1 port, pinned to CPU 0, in its own process group."""

    def __init__(self, name, binary, flags, start_timeout=60):
        self.name = name
        self.port = free_port()
        self.argv = [binary] + flags + ["-l", "127.0.0.1", "-p", str(self.port)]
        if os.geteuid() == 0:
            self.argv += ["-u", "root"]
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(pin(0) + self.argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + start_timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %s before answering: %s" % (name, self.proc.returncode,
                                                                                self.log_tail()))
            try:
                if self.call(b"version\r\n", b"\r\n", timeout=1).startswith(b"VERSION "):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("%s did not answer `version` within %d s" % (name, start_timeout))
            time.sleep(0.1)

    @property
    def pid(self):
        return self.proc.pid   # taskset execs the server: same pid

    def command(self):
        return " ".join(shlex.quote(x) for x in self.argv)

    def log_tail(self):
        try:
            self.log.seek(0)
            return self.log.read()[-400:].decode("utf-8", "replace").strip()
        except (OSError, ValueError):
            return ""

    def call(self, request, until, timeout=10):
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            s.sendall(request)
            data = b""
            while not data.endswith(until):
                chunk = s.recv(1 << 20)
                if not chunk:
                    break
                data += chunk
            return data

    def stats(self, arg=b""):
        out = {}
        for line in self.call(b"stats%s\r\n" % ((b" " + arg) if arg else b""), b"END\r\n").split(b"\r\n"):
            parts = line.split(b" ")
            if len(parts) == 3 and parts[0] == b"STAT":
                v = parts[2].decode()
                try:
                    out[parts[1].decode()] = int(v)
                except ValueError:
                    try:
                        out[parts[1].decode()] = float(v)
                    except ValueError:
                        out[parts[1].decode()] = v
        return out

    def cpu_seconds(self):
        """user+system of the whole process (all threads), in seconds."""
        with open("/proc/%d/stat" % self.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / HZ

    def proc_status(self, field):
        """A /proc/PID/status figure given in kB (VmRSS, VmHWM), in bytes."""
        try:
            with open("/proc/%d/status" % self.pid) as f:
                for line in f:
                    if line.startswith(field + ":"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def death(self):
        if self.proc.poll() is None:
            return None
        return "%s exited with status %s: %s" % (self.name, self.proc.returncode, self.log_tail())

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self.log.close()


def describe_binary(path):
    """The repository's commit and the binary's modification time, for the header of the tables."""
    try:
        head = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True).stdout.strip()
    except OSError:
        head = ""
    built = time.strftime("%Y-%m-%d %H:%M", time.localtime(os.path.getmtime(path)))
    return "HEAD %s, binary of %s" % (head or "?", built)


def build_memcload(tmp):
    src = os.path.join(HERE, "memcload.c")
    exe = os.path.join(tmp, "memcload")
    cc = os.environ.get("CC", "cc")
    run = subprocess.run([cc, "-O2", "-o", exe, src], capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit("compiling %s failed:\n%s" % (src, run.stderr))
    return exe


def memcload(exe, port, mode, a, seconds=None, timeout=None):
    argv = pin(1) + [exe, "-p", str(port), "-m", mode, "-c", str(a.connections), "-k", str(a.keys),
                     "-v", str(a.value_size), "-b", str(a.mget_keys), "-t", str(seconds or a.seconds)]
    run = subprocess.run(argv, capture_output=True, text=True, timeout=timeout or (seconds or a.seconds) + 30)
    out = {}
    for tok in run.stdout.split():
        if "=" in tok:
            k, v = tok.split("=", 1)
            try:
                out[k] = float(v) if "." in v else int(v)
            except ValueError:
                out[k] = v
    if run.returncode != 0 or "requests" not in out:
        raise RuntimeError("memcload %s on port %d: status %d: %s" % (mode, port, run.returncode,
                                                                      (run.stdout + run.stderr).strip()[-300:]))
    return out


def one_run(exe, server, row, a):
    before = server.stats()
    c0 = server.cpu_seconds()
    fig = memcload(exe, server.port, row, a)
    c1 = server.cpu_seconds()
    after = server.stats()
    delta = lambda k: after.get(k, 0) - before.get(k, 0)
    n = fig["requests"]
    fig.update(server_cpu_s=c1 - c0, cpu_us_per_req=1e6 * (c1 - c0) / n if n else None,
               server_busy=(c1 - c0) / fig["seconds"], client_busy=fig["client_cpu_s"] / fig["seconds"],
               conns_opened=delta("total_connections"), cmd_get=delta("cmd_get"), cmd_set=delta("cmd_set"),
               get_hits=delta("get_hits"), get_misses=delta("get_misses"))
    return fig


def perf_report(data, sort, limit):
    rep = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", sort, "--stdio", "-g", "none",
                          "--percent-limit", str(limit)], capture_output=True, text=True, timeout=120).stdout
    lines = [l.rstrip() for l in rep.splitlines() if l.strip() and not l.startswith("#")]
    if shutil.which("swift"):   # Swift symbols, demangled and simplified
        dem = subprocess.run(["swift", "demangle", "--simplified"], input="\n".join(lines), capture_output=True,
                             text=True)
        if dem.returncode == 0:
            lines = dem.stdout.splitlines()
    return lines


def run_perf(exe, server, row, a, seconds):
    """perf record -g on the server during one run of ROW: the split by binary and the top symbols (self time)."""
    if shutil.which("perf") is None:
        return "perf is not on PATH"
    fd, data = tempfile.mkstemp(prefix="memcached-vs-perf-", suffix=".data")
    os.close(fd)
    try:
        rec = subprocess.Popen(["perf", "record", "-g", "-o", data, "-p", str(server.pid), "--", "sleep",
                                str(seconds + 1)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            time.sleep(0.5)
            fig = memcload(exe, server.port, row, a, seconds=seconds)
            _, err = rec.communicate(timeout=60)
        finally:
            if rec.poll() is None:
                rec.kill()
                rec.wait()
        if os.path.getsize(data) == 0:
            return "perf record failed: %s" % err.strip()[-300:]
        head = "%s, %.0f ops/s under perf; by binary:" % (row, fig["rps"])
        syms = perf_report(data, "dso,sym", 0.2)
        user = [l for l in syms if "[kernel" not in l]
        return "\n".join([head] + perf_report(data, "dso", 0.5) + ["top symbols:"] + syms[:20] +
                         ["top symbols outside the kernel:"] + user[:30])
    finally:
        os.unlink(data)


def wait_hash_settled(server, timeout=60):
    """Seconds until the hash table has grown for the keys it holds and is not moving buckets: `stats` gives
    hash_is_expanding 0 and curr_items <= 1.5 x 2^hash_power_level (memcached starts its growth in a thread of its
    own, a moment after the insert that crosses 1.5 per bucket)."""
    t = time.monotonic()
    while time.monotonic() - t < timeout:
        st = server.stats()
        grown = st.get("curr_items", 0) <= 1.5 * (1 << st.get("hash_power_level", 64))
        if grown and not st.get("hash_is_expanding", 0):
            break
        time.sleep(0.1)
    return time.monotonic() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--swiftlet", default=os.path.join(REPO, ".build/release/swiftlet-memcached"))
    ap.add_argument("--memcached", default="memcached")
    ap.add_argument("--flags", default="-t 1 -U 0 -m 1024",
                    help="flags for both servers (-l 127.0.0.1 -p PORT and, as root, -u root are added)")
    ap.add_argument("--rows", default="get,set,mget")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=3.0, help="per run")
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--value-size", type=int, default=32)
    ap.add_argument("--keys", type=int, default=100000, help="key range, preloaded before the rows")
    ap.add_argument("--mget-keys", type=int, default=16)
    ap.add_argument("--perf", metavar="ROWS", help="then profile the server(s) under each row with perf record")
    ap.add_argument("--perf-servers", default="swiftlet", help="swiftlet, memcached or swiftlet,memcached")
    ap.add_argument("--perf-seconds", type=float, default=5.0)
    ap.add_argument("--json", help="write every figure to this file")
    a = ap.parse_args()
    rows = a.rows.split(",")
    if set(rows) - set(ROWS) or (a.perf and set(a.perf.split(",")) - set(ROWS)):
        ap.error("rows are %s" % ",".join(ROWS))
    if set(a.perf_servers.split(",")) - {"swiftlet", "memcached"}:
        ap.error("--perf-servers: swiftlet, memcached or both")
    if not os.path.exists(a.swiftlet):
        sys.exit("%s not found (swift build -c release --product swiftlet-memcached)" % a.swiftlet)
    install_signal_handlers()
    flags = shlex.split(a.flags)
    command = " ".join(shlex.quote(x) for x in [os.path.relpath(sys.argv[0], REPO)] + sys.argv[1:])
    t0 = time.monotonic()
    servers = {}
    results = {"command": command, "rows": {}, "servers": {}}
    with tempfile.TemporaryDirectory(prefix="memcached-vs-") as tmp:
        exe = build_memcload(tmp)
        try:
            servers["memcached"] = Server("memcached", a.memcached, flags)
            servers["swiftlet"] = Server("swiftlet", a.swiftlet, flags)
            for name, s in servers.items():
                results["servers"][name] = s.command()
                fig = memcload(exe, s.port, "load", a, timeout=120)
                log("%s (%s): preloaded %d keys of %d bytes in %.2f s; RSS %.1f MB" % (
                    name, s.command(), fig["requests"], a.value_size, fig["seconds"], s.proc_status("VmRSS") / 1e6))
            for name, s in servers.items():
                # the runs start on a settled hash table (the preload makes both grow theirs once)
                waited = wait_hash_settled(s)
                results["servers"][name + "_hash_settle_s"] = waited
                log("%s: hash table settled %.1f s after the preload (hash_power_level %s)" % (
                    name, waited, s.stats().get("hash_power_level")))
            for row in rows:
                samples = {"memcached": [], "swiftlet": []}
                for r in range(a.rounds):
                    for name in (["memcached", "swiftlet"] if r % 2 == 0 else ["swiftlet", "memcached"]):
                        s = servers[name]
                        if s.death():
                            raise RuntimeError(s.death())
                        fig = one_run(exe, s, row, a)
                        samples[name].append(fig)
                        hit = "" if row == "set" else ", hits %.1f%%" % (
                            100.0 * fig["hits"] / max(1, fig["keys_asked"]))
                        log("  %-4s %-9s %9.0f ops/s  server %5.2f us/req (busy %3.0f%%), client busy %3.0f%%%s%s"
                            % (row, name, fig["rps"], fig["cpu_us_per_req"] or 0, 100 * fig["server_busy"],
                               100 * fig["client_busy"], hit,
                               "" if not fig["errors"] else ", %d errors (%s)" % (fig["errors"], fig["first_error"])))
                        if fig["conns_opened"] < a.connections:
                            log("    warning: the server counted %d new connections, not %d" % (
                                fig["conns_opened"], a.connections))
                res = {"samples": samples}
                for name, xs in samples.items():
                    cpu = [x["cpu_us_per_req"] for x in xs if x["cpu_us_per_req"]]
                    res[name] = {"rps": statistics.median(x["rps"] for x in xs),
                                 "cpu_us_min": min(cpu) if cpu else None,
                                 "cpu_us_median": statistics.median(cpu) if cpu else None,
                                 "server_busy": statistics.median(x["server_busy"] for x in xs),
                                 "client_busy": statistics.median(x["client_busy"] for x in xs),
                                 "hit_ratio": sum(x["hits"] for x in xs) / max(1, sum(x["keys_asked"] for x in xs)),
                                 "errors": sum(x["errors"] for x in xs)}
                res["ratio"] = res["swiftlet"]["rps"] / res["memcached"]["rps"]
                # each round's two runs are adjacent in time: the median of their ratios follows the drift less
                res["round_ratios"] = [sw["rps"] / mc["rps"]
                                       for mc, sw in zip(samples["memcached"], samples["swiftlet"])]
                res["ratio_of_rounds"] = statistics.median(res["round_ratios"])
                results["rows"][row] = res
            for name, s in servers.items():
                results["servers"][name + "_rss_end"] = s.proc_status("VmRSS")
            for row in (a.perf.split(",") if a.perf else []):
                for name in a.perf_servers.split(","):
                    log("perf record -g on %s during %s for %.0f s" % (name, row, a.perf_seconds))
                    results.setdefault("perf", {})["%s %s" % (name, row)] = run_perf(
                        exe, servers[name], row, a, a.perf_seconds)
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
            sys.exit("memcached-vs: %s" % e)
        finally:
            for s in servers.values():
                s.stop()

    print("memcached `%s` and swiftlet-memcached `%s`, both pinned to CPU 0; memcload (benchmarks/memcload.c) on "
          "CPU 1, %d connections with one request in flight each, %d-byte values, %d preloaded keys; %d rounds of "
          "%g s per row and server, alternating.\n" % (
              results["servers"]["memcached"], results["servers"]["swiftlet"], a.connections, a.value_size, a.keys,
              a.rounds, a.seconds))
    print("    %s\n" % command)
    print("Swiftlet: %s. 2-core machine, shared: figures move with the neighbours.\n" % describe_binary(a.swiftlet))
    print("| row | memcached ops/s | swiftlet ops/s | ratio | per-round ratios (median) "
          "| memcached µs CPU/req (min / median) | swiftlet µs CPU/req (min / median) | server busy m / s "
          "| client busy m / s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row, res in results["rows"].items():
        m, s = res["memcached"], res["swiftlet"]
        label = ROWS[row] % a.mget_keys if "%" in ROWS[row] else ROWS[row]
        print("| %s | %s | %s | %.2f | %s (%.2f) | %.2f / %.2f | %.2f / %.2f | %.0f%% / %.0f%% | %.0f%% / %.0f%% |" % (
            label, format(round(m["rps"]), ","), format(round(s["rps"]), ","), res["ratio"],
            " ".join("%.2f" % x for x in res["round_ratios"]), res["ratio_of_rounds"],
            m["cpu_us_min"], m["cpu_us_median"], s["cpu_us_min"], s["cpu_us_median"],
            100 * m["server_busy"], 100 * s["server_busy"], 100 * m["client_busy"], 100 * s["client_busy"]))
    notes = []
    for row, res in results["rows"].items():
        if row != "set":
            notes.append("%s hits: memcached %.2f%%, swiftlet %.2f%%" % (
                row, 100 * res["memcached"]["hit_ratio"], 100 * res["swiftlet"]["hit_ratio"]))
        for name in ("memcached", "swiftlet"):
            if res[name]["errors"]:
                notes.append("%s %s: %d error replies" % (row, name, res[name]["errors"]))
    notes.append("hash table settled after the preload in: memcached %.1f s, swiftlet %.1f s" % (
        results["servers"].get("memcached_hash_settle_s", 0), results["servers"].get("swiftlet_hash_settle_s", 0)))
    if "memcached_rss_end" in results["servers"]:
        notes.append("RSS at the end: memcached %.1f MB, swiftlet %.1f MB" % (
            results["servers"]["memcached_rss_end"] / 1e6, results["servers"]["swiftlet_rss_end"] / 1e6))
    if notes:
        print("\n" + "; ".join(notes) + ".")
    for key, text in results.get("perf", {}).items():
        print("\n%s, perf record -g, self time:\n\n```\n%s\n```" % (key, text))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    worst = min(results["rows"].items(), key=lambda kv: kv[1]["ratio"]) if results["rows"] else None
    print("\nmemcached-vs: done in %.0f s%s" % (time.monotonic() - t0, "; worst ratio %.2f (%s)" % (
        worst[1]["ratio"], worst[0]) if worst else ""))


if __name__ == "__main__":
    main()
