#!/usr/bin/env python3
"""Memory limit and eviction: `memcached -t 1 -m 64` against `swiftlet-memcached -t 1 -m 64`.

Each server (flags `-t 1 -U 0 -m 64 -l 127.0.0.1 -p PORT`, plus `-u root` as root) runs pinned to CPU 0; this
script, the writer, runs on CPU 1. Both get the same requests, one server after the other (the order alternates
when --rounds > 1), over one connection:

  1. --hot-keys keys (`evict:0` ..) are written first: the hot keys.
  2. New keys `evict:N` with --value-size-byte values (1 KB) are written until the values add up to --write-factor
     times -m (3 x 64 MB = 192 MB: about 196k keys, each key written once), --batch sets per pipelined round trip.
     After each batch, a multi-get reads the next few hot keys (round robin), so that every hot key is read once
     per --hot-period-mb of writes (8 MB; an LRU that honours reads keeps them, since the memory holds 64 MB; on
     the 2-core machine both servers keep all of them up to about 24 MB, lose a third at 32 MB, identically).
  3. Read back: every hot key; the --probe most recently written keys (should be there); --probe of the keys written
     right after the hot keys and never read (should be gone: the oldest data).

The table gives, per server: RSS (VmRSS) at the start and at the end (split into anonymous memory and file-backed
pages: the executable and libraries), and the peak (VmHWM), with the ratio swiftlet/memcached (goal: within 1.15);
the `evictions` stat (goal: within 10% of memcached's) and curr_items, bytes, total_items; the hot keys' hit ratio
during the writes and the fraction found at the end; the fractions of recent and of old keys found; the writes
refused (SERVER_ERROR out of memory), if any.

    benchmarks/memcached-eviction.py                   # about 30 s on the 2-core machine (3 rounds)
    benchmarks/memcached-eviction.py --rounds 1 --json /tmp/mc-eviction.json
    benchmarks/memcached-eviction.py --memory 128 --value-size 4096 --hot-keys 5000

Prints a markdown table and the command; --json FILE keeps every figure.
"""
import argparse
import importlib.util
import json
import os
import shlex
import socket
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("memcached_vs", os.path.join(HERE, "memcached-vs.py"))
mvs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mvs)   # Server, pin, free_port, signal handling: the same as memcached-vs.py's
REPO = mvs.REPO


class Conn:
    """A raw-socket connection to a memcached-protocol server with a buffered reply reader."""

    def __init__(self, port, timeout=60):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.pos = 0

    def close(self):
        self.sock.close()

    def _more(self):
        data = self.sock.recv(1 << 20)
        if not data:
            raise ConnectionError("connection closed by the server")
        self.buf = self.buf[self.pos:] + data
        self.pos = 0

    def line(self):
        while True:
            end = self.buf.find(b"\r\n", self.pos)
            if end >= 0:
                out = self.buf[self.pos:end]
                self.pos = end + 2
                return out
            self._more()

    def values(self):
        """The reply to a get: {key: value} up to END."""
        out = {}
        while True:
            head = self.line()
            if head == b"END":
                return out
            parts = head.split(b" ")
            if parts[0] != b"VALUE" or len(parts) < 4:
                raise RuntimeError("unexpected get reply %r" % head[:80])
            n = int(parts[3])
            while len(self.buf) - self.pos < n + 2:
                self._more()
            out[parts[1]] = self.buf[self.pos:self.pos + n]
            self.pos += n + 2

    def get_many(self, keys, chunk=100):
        found = {}
        for i in range(0, len(keys), chunk):
            self.sock.sendall(b"get " + b" ".join(keys[i:i + chunk]) + b"\r\n")
            found.update(self.values())
        return found


def key(i):
    return b"evict:%d" % i


def workload(a, memory_bytes):
    """The batches of step 2: (bytes to send, number of sets, hot keys read after them). The hot reads are spread
    evenly (a fractional number per batch), so that each hot key is read once per --hot-period-mb written."""
    value = b"v" * a.value_size
    total = int(a.write_factor * memory_bytes) // a.value_size   # new keys to write
    rate = a.hot_keys * a.batch * a.value_size / (a.hot_period_mb * (1 << 20)) if a.hot_keys else 0  # per batch
    batches, hot_next, b = [], 0, 0
    for start in range(a.hot_keys, a.hot_keys + total, a.batch):
        ids = range(start, min(start + a.batch, a.hot_keys + total))
        data = b"".join(b"set %s 0 0 %d\r\n%s\r\n" % (key(i), a.value_size, value) for i in ids)
        n_hot = min(a.hot_keys, int((b + 1) * rate) - int(b * rate))
        hot = [key((hot_next + j) % a.hot_keys) for j in range(n_hot)]
        hot_next = (hot_next + n_hot) % max(1, a.hot_keys)
        b += 1
        if hot:
            data += b"get " + b" ".join(hot) + b"\r\n"
        batches.append((data, len(ids), hot))
    return batches, total, rate


def run_one(name, binary, flags, a, batches, total):
    server = mvs.Server(name, binary, flags)
    row = {"server": name, "command": server.command()}
    try:
        row["rss_start"] = server.proc_status("VmRSS")
        conn = Conn(server.port)
        value = b"v" * a.value_size
        stored = refused = 0
        first_refusal = None

        def read_sets(n):
            nonlocal stored, refused, first_refusal
            for _ in range(n):
                line = conn.line()
                if line == b"STORED":
                    stored += 1
                else:
                    refused += 1
                    first_refusal = first_refusal or line.decode("utf-8", "replace")

        # 1. the hot keys
        for i in range(0, a.hot_keys, a.batch):
            ids = range(i, min(i + a.batch, a.hot_keys))
            conn.sock.sendall(b"".join(b"set %s 0 0 %d\r\n%s\r\n" % (key(k), a.value_size, value) for k in ids))
            read_sets(len(ids))
        # 2. new keys, reading hot keys as it goes
        hot_asked = hot_hits = 0
        t0 = time.monotonic()
        for data, n, hot in batches:
            conn.sock.sendall(data)
            read_sets(n)
            if hot:
                got = conn.values()
                hot_asked += len(hot)
                hot_hits += len(got)
        row["write_seconds"] = time.monotonic() - t0
        # 3. read back
        hot_keys = [key(i) for i in range(a.hot_keys)]
        last = a.hot_keys + total
        recent = [key(i) for i in range(max(a.hot_keys, last - a.probe), last)]
        old = [key(i) for i in range(a.hot_keys, min(last, a.hot_keys + a.probe))]
        found_hot = conn.get_many(hot_keys)
        bad = sum(1 for v in found_hot.values() if v != value)
        found_recent = conn.get_many(recent)
        found_old = conn.get_many(old)
        conn.close()
        stats = server.stats()
        row.update(
            sets=stored + refused, stored=stored, refused=refused, first_refusal=first_refusal,
            hot_hit_ratio_during=hot_hits / hot_asked if hot_asked else None,
            hot_found=len(found_hot) / len(hot_keys) if hot_keys else None, hot_corrupt=bad,
            recent_found=len(found_recent) / len(recent), old_found=len(found_old) / len(old),
            rss_end=server.proc_status("VmRSS"), rss_peak=server.proc_status("VmHWM"),
            rss_anon_end=server.proc_status("RssAnon"), rss_file_end=server.proc_status("RssFile"),
            stats={k: stats.get(k) for k in ("evictions", "curr_items", "total_items", "bytes", "limit_maxbytes",
                                              "evicted_unfetched", "evicted_active", "reclaimed", "get_hits",
                                              "get_misses", "slabs_moved", "total_malloced", "hash_bytes",
                                              "hash_power_level")})
        if server.death():
            row["error"] = server.death()
    except (OSError, RuntimeError, ConnectionError) as e:
        row["error"] = "%s%s" % (e, " (%s)" % server.death() if server.death() else "")
    finally:
        server.stop()
    return row


def mb(n):
    return "%.1f MB" % (n / (1 << 20))


def pct(x):
    return "-" if x is None else "%.1f%%" % (100 * x)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--swiftlet", default=os.path.join(REPO, ".build/release/swiftlet-memcached"))
    ap.add_argument("--memcached", default="memcached")
    ap.add_argument("--memory", type=int, default=64, help="-m, megabytes")
    ap.add_argument("--flags", default="-t 1 -U 0", help="more flags for both servers (-m, -l, -p, -u are added)")
    ap.add_argument("--value-size", type=int, default=1024)
    ap.add_argument("--write-factor", type=float, default=3.0, help="values written, in multiples of -m")
    ap.add_argument("--hot-keys", type=int, default=1000)
    ap.add_argument("--hot-period-mb", type=float, default=8,
                    help="each hot key is read once per this many MB written")
    ap.add_argument("--batch", type=int, default=100, help="sets per pipelined round trip")
    ap.add_argument("--probe", type=int, default=1000, help="recent and old keys read back at the end")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", help="write every figure to this file")
    a = ap.parse_args()
    if not os.path.exists(a.swiftlet):
        sys.exit("%s not found (swift build -c release --product swiftlet-memcached)" % a.swiftlet)
    mvs.install_signal_handlers()
    if mvs.pin(1) and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {1})   # this script is the load generator: CPU 1, away from the servers
    command = " ".join(shlex.quote(x) for x in [os.path.relpath(sys.argv[0], REPO)] + sys.argv[1:])
    flags = shlex.split(a.flags) + ["-m", str(a.memory)]
    memory_bytes = a.memory << 20
    t0 = time.monotonic()
    batches, total, per_batch = workload(a, memory_bytes)
    mvs.log("%d hot keys, then %d new keys of %d bytes (%s of values, %.1fx -m %d), %d sets a batch and %.2f hot "
            "gets after each" % (a.hot_keys, total, a.value_size, mb(total * a.value_size), a.write_factor, a.memory,
                                 a.batch, per_batch))
    rows = []
    sides = [("memcached", a.memcached), ("swiftlet", a.swiftlet)]
    for r in range(a.rounds):
        for name, binary in (sides if r % 2 == 0 else sides[::-1]):
            row = run_one(name, binary, flags, a, batches, total)
            row["round"] = r
            rows.append(row)
            mvs.log("  %-9s %s" % (name, row.get("error") or "RSS %s (peak %s), evictions %d, items %d, hot found "
                                   "%s, recent %s, old %s, %.1f s" % (
                                       mb(row["rss_end"]), mb(row["rss_peak"]), row["stats"]["evictions"] or 0,
                                       row["stats"]["curr_items"] or 0, pct(row["hot_found"]),
                                       pct(row["recent_found"]), pct(row["old_found"]), row["write_seconds"])))

    ok = {n: [x for x in rows if x["server"] == n and "error" not in x] for n, _ in sides}
    med = lambda n, f: statistics.median(f(x) for x in ok[n]) if ok[n] else None
    m, s = ok["memcached"], ok["swiftlet"]
    print("Both servers with `%s`, one after the other on CPU 0 (writer on CPU 1): %d hot keys, then %d new "
          "keys of %d-byte values (%s, %.1fx -m), each hot key re-read once per %g MB written; %d round(s), medians."
          "\n" % (" ".join(flags), a.hot_keys, total, a.value_size, mb(total * a.value_size), a.write_factor,
                  a.hot_period_mb, a.rounds))
    print("    %s\n" % command)
    if m:
        print("    %s" % m[0]["command"])
    if s:
        print("    %s" % s[0]["command"])
    print("\nSwiftlet: %s.\n" % mvs.describe_binary(a.swiftlet))
    print("| figure | memcached | swiftlet | swiftlet / memcached | goal |")
    print("|---|---:|---:|---:|---|")

    def line(label, f, fmt, goal="", ratio=True):
        mv, sv = med("memcached", f), med("swiftlet", f)
        r = "%.3f" % (sv / mv) if ratio and mv and sv is not None else ""
        verdict = ""
        if goal and r:
            lo, hi = goal
            verdict = "%s: %s" % ("≤ %.2f" % hi if lo is None else "%.2f–%.2f" % (lo, hi),
                                  "met" if (lo is None or lo <= sv / mv) and sv / mv <= hi else "**not met**")
        print("| %s | %s | %s | %s | %s |" % (label, fmt(mv) if mv is not None else "-", fmt(sv) if sv is not None
                                              else "-", r, verdict))

    if m or s:
        line("RSS at start (VmRSS)", lambda x: x["rss_start"], mb)
        line("RSS at end (VmRSS)", lambda x: x["rss_end"], mb, (None, 1.15))
        line("  of which anonymous (RssAnon)", lambda x: x["rss_anon_end"], mb)
        line("  of which file-backed (RssFile: the binary, libraries)", lambda x: x["rss_file_end"], mb)
        line("peak RSS (VmHWM)", lambda x: x["rss_peak"], mb)
        line("evictions", lambda x: x["stats"]["evictions"] or 0, lambda v: format(int(v), ","), (0.90, 1.10))
        line("curr_items", lambda x: x["stats"]["curr_items"] or 0, lambda v: format(int(v), ","))
        line("bytes (stat)", lambda x: x["stats"]["bytes"] or 0, mb)
        line("total_items", lambda x: x["stats"]["total_items"] or 0, lambda v: format(int(v), ","))
        line("sets refused", lambda x: x["refused"], lambda v: format(int(v), ","), ratio=False)
        line("hot-key hit ratio during the writes", lambda x: x["hot_hit_ratio_during"], pct, ratio=False)
        line("hot keys found at the end", lambda x: x["hot_found"], pct, ratio=False)
        line("%d most recent keys found" % a.probe, lambda x: x["recent_found"], pct, ratio=False)
        line("%d oldest non-hot keys found" % a.probe, lambda x: x["old_found"], pct, ratio=False)
        line("write phase, seconds", lambda x: x["write_seconds"], lambda v: "%.1f" % v)
    for x in rows:
        if "error" in x:
            print("\n%s (round %d): error: %s" % (x["server"], x["round"], x["error"]))
        elif x["refused"]:
            print("\n%s (round %d): %d sets refused, first: %s" % (x["server"], x["round"], x["refused"],
                                                                   x["first_refusal"]))
        elif x["hot_corrupt"]:
            print("\n%s (round %d): %d hot keys read back with a wrong value" % (x["server"], x["round"],
                                                                               x["hot_corrupt"]))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"command": command, "rows": rows}, f, indent=1)
    print("\nmemcached-eviction: done in %.0f s" % (time.monotonic() - t0))


if __name__ == "__main__":
    main()
