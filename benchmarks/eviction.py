#!/usr/bin/env python3
"""maxmemory and eviction, a candidate server against the real redis-server 7.0: staying under the limit, the
accuracy of the approximated LRU/LFU, and throughput while every write evicts.

Each measurement starts a fresh server of each kind on a free 127.0.0.1 port (the candidate from --server, the
reference `redis-server --port {port} --save '' --appendonly no`), sets the limit with CONFIG SET maxmemory /
maxmemory-policy / maxmemory-samples, and kills both afterwards. Servers are pinned to CPU 0 and the load generators
(this script's writer, redis-benchmark) to CPU 1 with taskset, as ../shared/tools/bench-vs-redis.py does.

Parts (--parts limit,lru,cost; default all three):

limit  For each of the 8 policies, one seeded mixed workload (strings of 10..2000 bytes; hashes, lists, sets and
       sorted sets of 5..20 fields; 90% of keys with a TTL of 50000..150000 s so that volatile-* has something to
       evict and volatile-ttl something to order by), new keys only, pipelined 200 commands a batch over a raw
       socket, until the payload written (keys, fields, values) reaches 2x --maxmemory. After every batch INFO
       memory's used_memory is sampled: the table gives its maximum above the limit, the -OOM replies, evicted_keys,
       the keys left, and the RSS at the end (VmRSS of the process) with the ratio candidate/redis.

lru    The procedure of Redis's utils/lru/test-lru.rb with the key generator of `redis-cli --lru-test` (a power law,
       alpha 6.2, over key ids 1..N: low ids are hot). redis-cli --lru-test itself is time-based, randomly seeded and
       endless, so it cannot give two servers the same requests; here every sequence comes from random.Random(seed)
       and is computed once, so both servers see identical requests:
         1. N = the number of `SET lru:<id> <value>` that fill a fresh redis-server to its first eviction
            (--lru-maxmemory, found once per run of this script; capped by --lru-max-keys);
         2. SET lru:1..N in a shuffled order;  3. N power-law GETs;  4. SET lru:N+1..N+N/2 (evicts about a third of
            the keys);  5. N new power-law GETs: hits (a value) and misses (nil) give the hit ratio.
       A 1.2 s pause separates the phases (Redis's LRU clock ticks once a second). The "exact LRU" column is the hit
       ratio of a perfect LRU holding as many keys as that server did after step 4; allkeys-random gives the floor.
       Policies --lru-policies (allkeys-lru, allkeys-lfu, allkeys-random) x maxmemory-samples --samples (5, 10;
       allkeys-random only with the first, since it samples nothing). LFU counters decay once a minute of wall clock
       (lfu-decay-time 1): a run that crosses a minute boundary between its phases lowers the LFU hit ratio by about
       2 points (to the exact-LRU figure), on Redis too; --lfu-decay-time 0 removes that noise.

cost   Each server with --cost-maxmemory (50mb) and --cost-policy (allkeys-lru), pre-filled by redis-benchmark past
       the limit (random keys out of 100M, -d 100) so that each new key evicts; then redis-benchmark SET (-r 100M:
       nearly every write a new key) and GET (same key range: nearly all misses, which measures what the limit adds
       to a read) at pipeline 1 and 16, 50 clients, servers alternating A B / B A over --rounds. Medians, the ratio
       candidate/redis (above 1: candidate faster), and the keys evicted per run.

A candidate that ignores maxmemory still finishes: the writer stops at 2x the limit, the LRU fill uses N from
redis-server, and the cost pre-fill stops after 3x the limit; the tables then show it over the limit, 0 evictions.

    # quick (about 1 minute on the 2-core machine):
    benchmarks/eviction.py --maxmemory 20mb --lru-maxmemory 10mb --cost-maxmemory 20mb --rounds 1 --requests 50000
    # full (about 3 to 4 minutes):
    benchmarks/eviction.py --server '.build/release/swiftlet-server --port {port}' --json /tmp/eviction.json
    # Redis against itself, for the noise floor:
    benchmarks/eviction.py --server "redis-server --port {port} --save '' --appendonly no" --rounds 1

Prints markdown tables for docs/PERFORMANCE.md; --json FILE keeps every figure.
"""
import argparse
import bisect
import json
import os
import random
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REDIS_CMD = "redis-server --port {port} --save '' --appendonly no"
DEFAULT_CANDIDATE = ".build/release/swiftlet-server --port {port}"
POLICIES = ["noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random",
            "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"]
LETTERS = bytes(range(ord("A"), ord("z")))


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def parse_size(text):
    """Redis memory units: 100mb, 1gb, 512kb, 1048576 (k/m/g are powers of 1000, kb/mb/gb of 1024)."""
    t = text.strip().lower()
    for suffix, mult in (("gb", 1 << 30), ("mb", 1 << 20), ("kb", 1 << 10), ("g", 10 ** 9), ("m", 10 ** 6),
                         ("k", 1000), ("b", 1)):
        if t.endswith(suffix):
            return int(float(t[:-len(suffix)]) * mult)
    return int(t)


def mb(n):
    return "%.1f MB" % (n / (1 << 20))


def enc(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        b = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


# ---------------------------------------------------------------------------------------------------------------
# servers


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pin(cpu):
    return ["taskset", "-c", str(cpu)] if (os.cpu_count() or 1) >= 2 and shutil.which("taskset") else []


class Server:
    """A fresh server from a command template ({port} replaced), in a private directory, pinned to CPU 0."""

    def __init__(self, name, cmd, start_timeout):
        self.name = name
        self.died = None
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="eviction-%s-" % name)
        argv = shlex.split(cmd.format(port=self.port))
        # a relative binary path is meant from the repository (or the current directory): the server runs elsewhere
        if "/" in argv[0] and not os.path.isabs(argv[0]):
            here = os.path.abspath(argv[0])
            argv[0] = here if os.path.exists(here) else os.path.join(REPO, argv[0])
        self.logfile = open(os.path.join(self.dir, "server.log"), "wb")
        self.proc = subprocess.Popen(pin(0) + argv, stdout=self.logfile, stderr=subprocess.STDOUT, cwd=self.dir,
                                     start_new_session=True)
        deadline = time.monotonic() + start_timeout
        while True:
            if self.proc.poll() is not None:
                tail = self.log_tail()
                self.stop()
                raise RuntimeError("%s exited with %s before answering; log: %s" % (name, self.proc.returncode, tail))
            try:
                c = Conn(self.port, timeout=2)
                if c.call("PING") == b"PONG":
                    c.close()
                    break
                c.close()
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("%s did not answer PING within %d s" % (name, start_timeout))
            time.sleep(0.1)

    def log_tail(self):
        try:
            with open(os.path.join(self.dir, "server.log"), "rb") as f:
                return f.read()[-500:].decode("utf-8", "replace")
        except OSError:
            return ""

    def pids(self):
        pids = [self.proc.pid]
        try:
            out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout
            pids += [int(p) for p in out.split()]
        except OSError:
            pass
        return pids

    def proc_status(self, field):
        """A /proc/PID/status figure (VmRSS, VmHWM) in bytes, summed over the process and its children."""
        total = 0
        for p in self.pids():
            try:
                with open("/proc/%d/status" % p) as f:
                    for line in f:
                        if line.startswith(field + ":"):
                            total += int(line.split()[1]) * 1024
            except OSError:
                pass
        return total

    def death(self):
        """None while the server runs; else how it ended, with the end of its log."""
        if self.proc.poll() is None:
            return None
        return "%s exited with status %s; log: %s" % (self.name, self.proc.returncode, self.log_tail().strip()[-300:])

    def stop(self):
        if self.died is None:
            self.died = self.death()
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, 9)   # nothing to save: --save '' and a throw-away directory
            except OSError:
                pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        self.logfile.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class Error(bytes):
    """An error reply (-ERR ..., -OOM ...)."""


class Conn:
    """A raw-socket RESP2 connection with a reply reader fast enough for a million pipelined replies."""

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

    def _line(self):
        while True:
            end = self.buf.find(b"\r\n", self.pos)
            if end >= 0:
                line = self.buf[self.pos:end]
                self.pos = end + 2
                return line
            self._more()

    def reply(self):
        line = self._line()
        t = line[:1]
        if t == b"+" or t == b":":
            return line[1:]
        if t == b"-":
            return Error(line[1:])
        if t == b"$":
            n = int(line[1:])
            if n < 0:
                return None
            while len(self.buf) - self.pos < n + 2:
                self._more()
            v = self.buf[self.pos:self.pos + n]
            self.pos += n + 2
            return v
        if t == b"*":
            n = int(line[1:])
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise ConnectionError("unexpected reply %r" % line[:80])

    def send(self, data):
        self.sock.sendall(data)

    def call(self, *args):
        self.send(enc(*args))
        return self.reply()

    def info(self, section):
        text = self.call("INFO", section)
        out = {}
        for line in (text or b"").decode("utf-8", "replace").splitlines():
            if ":" in line and not line.startswith("#"):
                k, v = line.split(":", 1)
                out[k] = v
        return out

    def info_int(self, section, field):
        try:
            return int(self.info(section).get(field, "0"))
        except ValueError:
            return 0


def configure(conn, server, settings):
    """CONFIG SET each setting; a refusal is kept (and printed) rather than fatal."""
    refused = []
    for k, v in settings:
        r = conn.call("CONFIG", "SET", k, v)
        if isinstance(r, Error):
            refused.append("%s %s: %s" % (k, v, r.decode("utf-8", "replace")))
            log("  %s refused CONFIG SET %s %s: %s" % (server.name, k, v, r.decode("utf-8", "replace")))
    return refused


# ---------------------------------------------------------------------------------------------------------------
# part 1: staying under the limit


def mixed_workload(seed, payload_target):
    """Batches of pre-encoded commands whose payload (keys, fields, values) adds up to payload_target bytes.

    Returns a list of (bytes, command count). 75% strings (half 10..100 bytes, 30% 100..500, 20% 500..2000), 25%
    collections (hash, list, set, zset of 5..20 fields of 10..100 bytes); 90% of keys get EX/EXPIRE 50000..150000.
    """
    rng = random.Random(seed)
    pool = bytes(rng.choice(LETTERS) for _ in range(1 << 16))

    def blob(lo, hi):
        n = rng.randint(lo, hi)
        off = rng.randrange(0, len(pool) - n)
        return pool[off:off + n]

    batches, parts, count, written, i = [], [], 0, 0, 0
    while written < payload_target:
        i += 1
        key = b"evict:%d" % i
        ttl = rng.randint(50000, 150000) if rng.random() < 0.9 else None
        kind = rng.random()
        if kind < 0.75:
            b = rng.random()
            value = blob(10, 100) if b < 0.5 else blob(100, 500) if b < 0.8 else blob(500, 2000)
            parts.append(enc(b"SET", key, value, b"EX", ttl) if ttl else enc(b"SET", key, value))
            count += 1
            written += len(key) + len(value)
        else:
            fields = rng.randint(5, 20)
            shape = rng.randrange(4)
            args = [key]
            for f in range(fields):
                v = blob(10, 100)
                if shape == 0:
                    args += [b"f%d" % f, v]
                elif shape == 3:
                    args += [b"%d" % rng.randint(0, 1000000), v]
                else:
                    args.append(v)
                written += len(v) + (3 if shape == 0 else 0)
            parts.append(enc(*([(b"HSET", b"RPUSH", b"SADD", b"ZADD")[shape]] + args)))
            count += 1
            written += len(key)
            if ttl:
                parts.append(enc(b"EXPIRE", key, ttl))
                count += 1
        if count >= 200:
            batches.append((b"".join(parts), count))
            parts, count = [], 0
    if parts:
        batches.append((b"".join(parts), count))
    return batches


def run_limit(server, policy, maxmemory, batches, time_limit):
    conn = Conn(server.port)
    refused = configure(conn, server, [("maxmemory", maxmemory), ("maxmemory-policy", policy)])
    info_cmd = enc(b"INFO", b"memory")
    peak_used, oom, other_errors, first_error, sent, commands = 0, 0, 0, None, 0, 0
    start = time.monotonic()
    timed_out = False
    for data, count in batches:
        conn.send(data + info_cmd)
        for _ in range(count):
            r = conn.reply()
            if isinstance(r, Error):
                if r.startswith(b"OOM"):
                    oom += 1
                else:
                    other_errors += 1
                    first_error = first_error or r.decode("utf-8", "replace")
        text = conn.reply() or b""
        for line in text.split(b"\r\n"):
            if line.startswith(b"used_memory:"):
                peak_used = max(peak_used, int(line[12:]))
                break
        sent += 1
        commands += count
        if time.monotonic() - start > time_limit:
            timed_out = True
            break
    seconds = time.monotonic() - start
    mem, stats = conn.info("memory"), conn.info("stats")
    keys = conn.call("DBSIZE")
    conn.close()
    rss = server.proc_status("VmRSS")
    return {"policy": policy, "server": server.name, "maxmemory": maxmemory, "commands": commands,
            "batches": sent, "of_batches": len(batches), "timed_out": timed_out, "seconds": round(seconds, 2),
            "max_used_memory": peak_used, "over_limit_bytes": peak_used - maxmemory,
            "over_limit_pct": 100.0 * (peak_used - maxmemory) / maxmemory, "oom_replies": oom,
            "other_errors": other_errors, "first_other_error": first_error,
            "evicted_keys": int(stats.get("evicted_keys", 0) or 0), "keys_left": int(keys or 0),
            "used_memory_end": int(mem.get("used_memory", 0) or 0),
            "used_memory_rss_end": int(mem.get("used_memory_rss", 0) or 0),
            "rss_end": rss, "rss_peak": server.proc_status("VmHWM"), "config_refused": refused}


def part_limit(a, cand_cmd):
    maxmemory = parse_size(a.maxmemory)
    log("limit: generating about %s of mixed writes (2x %s)" % (mb(2 * maxmemory), a.maxmemory))
    batches = mixed_workload(a.seed, 2 * maxmemory)
    log("limit: %d batches, %d commands" % (len(batches), sum(c for _, c in batches)))
    rows = []
    for n, policy in enumerate(a.policies.split(",")):
        sides = [("redis", REDIS_CMD), ("candidate", cand_cmd)]
        for name, cmd in (sides if n % 2 == 0 else sides[::-1]):
            s = None
            try:
                s = Server(name, cmd, a.start_timeout)
                row = run_limit(s, policy, maxmemory, batches, a.run_time_limit)
            except (OSError, RuntimeError, ValueError) as e:
                row = {"policy": policy, "server": name, "error": str(e)}
            finally:
                if s is not None:
                    s.stop()
                    if s.died:
                        row["error"] = "%s (%s)" % (row.get("error", "finished"), s.died)
            log("  %-16s %-9s %s" % (policy, name, {k: row.get(k) for k in (
                "over_limit_pct", "oom_replies", "evicted_keys", "keys_left", "rss_end", "seconds", "error")}))
            rows.append(row)
    return {"maxmemory": maxmemory, "payload_written": 2 * maxmemory, "rows": rows}


def print_limit(res):
    print("### Staying under maxmemory %s (mixed writes of 2x the limit)\n" % mb(res["maxmemory"]))
    print("| policy | server | max used_memory over limit | OOM replies | evicted_keys | keys left | RSS at end "
          "| RSS cand/redis |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    by = {(r["policy"], r["server"]): r for r in res["rows"]}
    for policy in dict.fromkeys(r["policy"] for r in res["rows"]):
        red, cand = by.get((policy, "redis")), by.get((policy, "candidate"))
        for side, r in (("redis", red), ("candidate", cand)):
            if r is None:
                continue
            if "error" in r:
                print("| %s | %s | error: %s | | | | | |" % (policy, side, r["error"][:80]))
                continue
            ratio = ""
            if side == "candidate" and red and "error" not in red and red["rss_end"]:
                ratio = "%.2f" % (r["rss_end"] / red["rss_end"])
            note = " (stopped at %d/%d batches: time limit)" % (r["batches"], r["of_batches"]) if r["timed_out"] else ""
            if r["other_errors"]:
                note += " (%d other errors: %s)" % (r["other_errors"], r["first_other_error"][:60])
            over = r["over_limit_bytes"]
            over = "%+.1f MB" % (over / (1 << 20)) if abs(over) >= 1 << 20 else "%+.1f KB" % (over / 1024)
            print("| %s | %s | %s (%+.2f%%)%s | %d | %d | %d | %s | %s |" % (
                policy, side, over, r["over_limit_pct"], note, r["oom_replies"],
                r["evicted_keys"], r["keys_left"], mb(r["rss_end"]), ratio))
    print()


# ---------------------------------------------------------------------------------------------------------------
# part 2: accuracy of the approximated LRU


def power_law(rng, lo, hi, alpha=6.2):
    """redis-cli's powerLawRand (the --lru-test key generator): low ids are the hot ones."""
    hi += 1
    r = rng.random()
    pl = ((hi ** (alpha + 1) - lo ** (alpha + 1)) * r + lo ** (alpha + 1)) ** (1.0 / (alpha + 1))
    return (hi - 1 - int(pl)) + lo


def lru_key(i):
    return b"lru:%d" % i


def pipelined_sets(conn, ids, value, batch=500, check_evicted=False, cap_seconds=300):
    """SET lru:<id> value for each id; with check_evicted, stop after the first batch that evicted. Returns how many."""
    done = 0
    start = time.monotonic()
    stats = enc(b"INFO", b"stats")
    for i in range(0, len(ids), batch):
        chunk = ids[i:i + batch]
        data = b"".join(enc(b"SET", lru_key(k), value) for k in chunk)
        conn.send(data + stats if check_evicted else data)
        for _ in chunk:
            conn.reply()
        done += len(chunk)
        if check_evicted:
            text = conn.reply() or b""
            for line in text.split(b"\r\n"):
                if line.startswith(b"evicted_keys:") and int(line[13:]) > 0:
                    return done
        if time.monotonic() - start > cap_seconds:
            break
    return done


def pipelined_gets(conn, ids, batch=500):
    hits = misses = 0
    for i in range(0, len(ids), batch):
        chunk = ids[i:i + batch]
        conn.send(b"".join(enc(b"GET", lru_key(k)) for k in chunk))
        for _ in chunk:
            r = conn.reply()
            if r is None:
                misses += 1
            elif isinstance(r, Error):
                raise RuntimeError("GET failed: %s" % r.decode("utf-8", "replace"))
            else:
                hits += 1
    return hits, misses


def part_lru(a, cand_cmd):
    maxmemory = parse_size(a.lru_maxmemory)
    value = bytes(random.Random(a.seed).choice(LETTERS) for _ in range(a.lru_value_size))
    # N: how many keys fill a fresh redis-server to its first eviction
    with Server("redis", REDIS_CMD, a.start_timeout) as s:
        conn = Conn(s.port)
        configure(conn, s, [("maxmemory", maxmemory), ("maxmemory-policy", "allkeys-lru")])
        n = pipelined_sets(conn, list(range(1, a.lru_max_keys + 1)), value, check_evicted=True)
        conn.close()
    log("lru: %d keys of %d bytes fill redis-server to its first eviction at maxmemory %s" % (
        n, a.lru_value_size, a.lru_maxmemory))
    rng = random.Random(a.seed)
    # the fill goes in a shuffled order: filled in id order, the last keys written would be the coldest ones, and an
    # exact LRU (which keeps them) would do worse than Redis, whose 1-second LRU clock sees the whole fill as one age
    fill = list(range(1, n + 1))
    rng.shuffle(fill)
    access = [power_law(rng, 1, n) for _ in range(n)]
    measure = [power_law(rng, 1, n) for _ in range(n)]
    added = list(range(n + 1, n + n // 2 + 1))
    # exact LRU: rank keys by last access (fill, then the access phase, then the added keys); keep the top K
    last = {k: t for t, k in enumerate(fill)}
    for t, k in enumerate(access):
        last[k] = n + t
    for t, k in enumerate(added):
        last[k] = 2 * n + t
    rank = {k: r for r, k in enumerate(sorted(last, key=last.get, reverse=True))}
    measure_ranks = sorted(rank[k] for k in measure)

    def exact_lru(kept):
        return bisect.bisect_left(measure_ranks, kept) / len(measure)

    rows = []
    samples_list = [int(x) for x in a.samples.split(",")]
    combos = [(p, smp) for p in a.lru_policies.split(",")
              for smp in (samples_list[:1] if p.endswith("-random") else samples_list)]
    for c, (policy, samples) in enumerate(combos):
        sides = [("redis", REDIS_CMD), ("candidate", cand_cmd)]
        for name, cmd in (sides if c % 2 == 0 else sides[::-1]):
            row = {"policy": policy, "samples": samples, "server": name, "keys_filled": n}
            start = time.monotonic()
            s = None
            try:
                s = Server(name, cmd, a.start_timeout)
                conn = Conn(s.port)
                settings = [("maxmemory", maxmemory), ("maxmemory-policy", policy), ("maxmemory-samples", samples)]
                if a.lfu_decay_time is not None and "lfu" in policy:
                    settings.append(("lfu-decay-time", a.lfu_decay_time))
                row["config_refused"] = configure(conn, s, settings)
                pipelined_sets(conn, fill, value)
                time.sleep(1.2)
                row["access_hits"] = pipelined_gets(conn, access)[0]
                time.sleep(1.2)
                pipelined_sets(conn, added, value)
                row["keys_after_add"] = int(conn.call("DBSIZE") or 0)
                row["evicted_keys"] = conn.info_int("stats", "evicted_keys")
                row["used_memory_after_add"] = conn.info_int("memory", "used_memory")
                hits, misses = pipelined_gets(conn, measure)
                row.update(hits=hits, misses=misses, hit_ratio=hits / (hits + misses),
                           exact_lru_hit_ratio=exact_lru(row["keys_after_add"]))
                conn.close()
            except (OSError, RuntimeError, ValueError) as e:
                row["error"] = str(e)
            finally:
                if s is not None:
                    s.stop()
                    if s.died:
                        row["error"] = "%s (%s)" % (row.get("error", "finished"), s.died)
            row["seconds"] = round(time.monotonic() - start, 1)
            log("  %-12s samples %-3d %-9s %s" % (policy, samples, name, {k: row.get(k) for k in (
                "hit_ratio", "exact_lru_hit_ratio", "keys_after_add", "evicted_keys", "seconds", "error")}))
            rows.append(row)
    return {"maxmemory": maxmemory, "value_size": a.lru_value_size, "keys_filled": n, "rows": rows}


def print_lru(res):
    print("### Eviction accuracy: %d keys of %d bytes fill %s; power-law reads, +50%% keys, power-law reads\n" % (
        res["keys_filled"], res["value_size"], mb(res["maxmemory"])))
    print("| policy | samples | server | hit ratio | exact LRU, same key count | keys held | evicted_keys "
          "| used_memory / limit |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    for r in res["rows"]:
        if "error" in r:
            print("| %s | %d | %s | error: %s | | | | |" % (r["policy"], r["samples"], r["server"], r["error"][:80]))
            continue
        print("| %s | %d | %s | %.2f%% | %.2f%% | %d | %d | %.2f |" % (
            r["policy"], r["samples"], r["server"], 100 * r["hit_ratio"], 100 * r["exact_lru_hit_ratio"],
            r["keys_after_add"], r["evicted_keys"], r["used_memory_after_add"] / res["maxmemory"]))
    print()


# ---------------------------------------------------------------------------------------------------------------
# part 3: throughput at the limit


def redis_benchmark(port, test, requests, clients, pipeline, extra, timeout=180):
    argv = pin(1) + ["redis-benchmark", "-p", str(port), "-t", test, "-n", str(requests), "-c", str(clients),
                     "-P", str(pipeline), "--csv"] + extra
    run = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    for line in run.stdout.splitlines():
        cells = [c.strip('"') for c in line.split('","')]
        if len(cells) >= 7 and cells[0].strip('"') != "test":
            return {"rps": float(cells[1]), "p50": float(cells[4]), "p99": float(cells[6].strip('"'))}
    return "status %d: %s" % (run.returncode, (run.stdout + run.stderr).strip()[-300:])  # what went wrong


def prefill(server, maxmemory, value_size):
    """redis-benchmark SETs of random keys until the server has evicted and sits at its limit (or 3x the limit)."""
    conn = Conn(server.port)
    chunk = max(20000, maxmemory // 400)
    written = 0
    while written * value_size < 3 * maxmemory:
        subprocess.run(pin(1) + ["redis-benchmark", "-p", str(server.port), "-t", "set", "-r", "100000000",
                                 "-d", str(value_size), "-n", str(chunk), "-c", "50", "-P", "32", "-q"],
                       capture_output=True, timeout=300)
        written += chunk
        if conn.info_int("stats", "evicted_keys") > 0:
            break
    out = {"prefill_sets": written, "evicted": conn.info_int("stats", "evicted_keys"),
           "used_memory": conn.info_int("memory", "used_memory"), "keys": int(conn.call("DBSIZE") or 0)}
    conn.close()
    return out


def part_cost(a, cand_cmd):
    maxmemory = parse_size(a.cost_maxmemory)
    servers, fills, results, died = {}, {}, {}, {}
    try:
        for name, cmd in (("redis", REDIS_CMD), ("candidate", cand_cmd)):
            try:
                s = Server(name, cmd, a.start_timeout)
                servers[name] = s
                conn = Conn(s.port)
                configure(conn, s, [("maxmemory", maxmemory), ("maxmemory-policy", a.cost_policy)])
                conn.close()
                fills[name] = prefill(s, maxmemory, a.cost_value_size)
                log("cost: %s pre-filled: %s" % (name, fills[name]))
            except (OSError, RuntimeError, subprocess.TimeoutExpired) as e:
                died[name] = "start or pre-fill failed: %s" % e
                log("cost: %s %s" % (name, died[name]))
        extra = ["-r", "100000000", "-d", str(a.cost_value_size)]
        for test in ("set", "get"):
            for depth in [int(p) for p in a.pipeline.split(",")]:
                samples = {"redis": [], "candidate": []}
                for r in range(a.rounds):
                    for name in (["redis", "candidate"] if r % 2 == 0 else ["candidate", "redis"]):
                        s = servers.get(name)
                        if s is None:
                            continue
                        if s.death():
                            if name not in died:
                                died[name] = s.death()
                                log("  %s" % died[name])
                            continue
                        try:
                            conn = Conn(s.port)
                            before = conn.info("stats")
                            n = a.requests if depth == 1 else a.requests * 10
                            fig = redis_benchmark(s.port, test, n, a.clients, depth, extra)
                            after = conn.info("stats")
                            used = conn.info_int("memory", "used_memory")
                            conn.close()
                        except (OSError, subprocess.TimeoutExpired) as e:
                            log("  %s %s P%d failed: %s" % (name, test, depth, e))
                            continue
                        if isinstance(fig, str):
                            log("  %s %s P%d: no result from redis-benchmark: %s" % (name, test, depth, fig))
                            continue
                        delta = lambda k: int(after.get(k, 0) or 0) - int(before.get(k, 0) or 0)
                        fig.update(evicted=delta("evicted_keys"), hits=delta("keyspace_hits"),
                                   misses=delta("keyspace_misses"), used_memory=used, requests=n)
                        samples[name].append(fig)
                        log("  %-4s P%-3d %-9s %.0f rps, evicted %d, used_memory %s" % (
                            test, depth, name, fig["rps"], fig["evicted"], mb(used)))
                key = "%s P%d" % (test, depth)
                row = {"test": test, "pipeline": depth, "samples": samples}
                for name, xs in samples.items():
                    if xs:
                        row[name] = {"rps": statistics.median(x["rps"] for x in xs),
                                     "p99": statistics.median(x["p99"] for x in xs),
                                     "evicted": statistics.median(x["evicted"] for x in xs),
                                     "hit_ratio": sum(x["hits"] for x in xs) / max(1, sum(x["hits"] + x["misses"]
                                                                                      for x in xs)),
                                     "used_memory": xs[-1]["used_memory"]}
                if "redis" in row and "candidate" in row:
                    row["ratio"] = row["candidate"]["rps"] / row["redis"]["rps"]
                results[key] = row
    finally:
        for s in servers.values():
            s.stop()
            if s.died:
                died.setdefault(s.name, s.died)
    return {"maxmemory": maxmemory, "policy": a.cost_policy, "prefill": fills, "rows": results, "died": died}


def print_cost(res):
    print("### Throughput at the limit: maxmemory %s, %s, every SET a new key (redis-benchmark -r 100000000 -d %s)\n"
          % (mb(res["maxmemory"]), res["policy"], res.get("value_size", 100)))
    print("| test | redis rps | candidate rps | ratio | redis p99 ms | candidate p99 ms | evicted/run redis "
          "| evicted/run candidate | used_memory redis / candidate |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for key, r in res["rows"].items():
        red, cand = r.get("redis"), r.get("candidate")
        if not red or not cand:
            print("| %s | missing on %s | | | | | | | |" % (key, "redis" if not red else "candidate"))
            continue
        print("| %s | %.0f | %.0f | %.2f | %.3f | %.3f | %d | %d | %s / %s |" % (
            key, red["rps"], cand["rps"], r["ratio"], red["p99"], cand["p99"], red["evicted"], cand["evicted"],
            mb(red["used_memory"]), mb(cand["used_memory"])))
    for name, how in res.get("died", {}).items():
        print("\n%s: %s" % (name, how.replace("\n", " / ")))
    gets = [r for r in res["rows"].values() if r["test"] == "get" and r.get("redis") and r.get("candidate")]
    if gets:
        print("\nGET hit ratio over the runs: redis %.2f%%, candidate %.2f%% (a random key out of 100M; reads miss)."
              % (100 * gets[0]["redis"]["hit_ratio"], 100 * gets[0]["candidate"]["hit_ratio"]))
    print()


# ---------------------------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", default=DEFAULT_CANDIDATE, help="command that starts the candidate; {port} is replaced")
    ap.add_argument("--parts", default="limit,lru,cost")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--start-timeout", type=float, default=120)
    ap.add_argument("--json", help="write all figures to this file")
    g = ap.add_argument_group("limit")
    g.add_argument("--maxmemory", default="100mb")
    g.add_argument("--policies", default=",".join(POLICIES))
    g.add_argument("--run-time-limit", type=float, default=240, help="seconds of writing per server and policy")
    g = ap.add_argument_group("lru")
    g.add_argument("--lru-maxmemory", default="20mb")
    g.add_argument("--lru-policies", default="allkeys-lru,allkeys-lfu,allkeys-random")
    g.add_argument("--samples", default="5,10", help="maxmemory-samples values")
    g.add_argument("--lru-value-size", type=int, default=32)
    g.add_argument("--lfu-decay-time", type=int, help="CONFIG SET for the LFU policies (default: the server's, 1)")
    g.add_argument("--lru-max-keys", type=int, default=2000000, help="cap on the keys of the fill that finds N")
    g = ap.add_argument_group("cost")
    g.add_argument("--cost-maxmemory", default="50mb")
    g.add_argument("--cost-policy", default="allkeys-lru")
    g.add_argument("--cost-value-size", type=int, default=100)
    g.add_argument("--requests", type=int, default=100000, help="per redis-benchmark run at pipeline 1; 10x deeper")
    g.add_argument("--clients", type=int, default=50)
    g.add_argument("--pipeline", default="1,16")
    g.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    for tool in ("redis-server", "redis-benchmark"):
        if shutil.which(tool) is None:
            sys.exit("%s is not on PATH (Debian: apt-get install redis-server redis-tools)" % tool)
    parts = a.parts.split(",")
    unknown = set(parts) - {"limit", "lru", "cost"}
    if unknown:
        ap.error("unknown parts: %s" % ",".join(sorted(unknown)))

    if pin(1) and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {1})   # this script is a load generator too: CPU 1, away from the servers
    results = {"candidate": a.server, "reference": REDIS_CMD, "seed": a.seed}
    t0 = time.monotonic()
    if "limit" in parts:
        t = time.monotonic()
        results["limit"] = part_limit(a, a.server)
        results["limit"]["seconds"] = round(time.monotonic() - t, 1)
    if "lru" in parts:
        t = time.monotonic()
        results["lru"] = part_lru(a, a.server)
        results["lru"]["seconds"] = round(time.monotonic() - t, 1)
    if "cost" in parts:
        t = time.monotonic()
        results["cost"] = part_cost(a, a.server)
        results["cost"]["value_size"] = a.cost_value_size
        results["cost"]["seconds"] = round(time.monotonic() - t, 1)

    print("Candidate: `%s`; reference: `%s`.\n" % (a.server, REDIS_CMD))
    if "limit" in results:
        print_limit(results["limit"])
    if "lru" in results:
        print_lru(results["lru"])
    if "cost" in results:
        print_cost(results["cost"])
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    print("eviction: done in %.0f s (%s)" % (time.monotonic() - t0, ", ".join(
        "%s %.0f s" % (p, results[p]["seconds"]) for p in ("limit", "lru", "cost") if p in results)))


if __name__ == "__main__":
    main()
