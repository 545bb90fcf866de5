"""The append-only file: propagation (compared byte for byte with redis-server 7.0's own AOF), restart, rewrite,
interop in both directions, truncated files, CONFIG SET appendonly, and kill -9 crash tests with appendfsync always.

Each test starts its own servers with `--dir` pointing at a private directory. Data is compared key by key with
type-specific reads (test_rdb_interop.snapshot), never through DUMP.
"""

import os
import random
import re
import shutil
import signal
import subprocess
import threading
import time

import pytest

from support import persistence
from support.persistence import build_dataset, call, compare, info, snapshot, start_redis
from support.resp import RespConnection, RespError
from support.servers import require_tool


def start_swiftlet(directory, *extra, start=True):
    """Swiftlet on `directory` without save points, so that only the AOF writes."""
    return persistence.start_swiftlet(directory, "--save", "", *extra, start=start)


def wait_rewrite(conn, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fields = info(conn)
        if fields["aof_rewrite_in_progress"] == "0" and fields["aof_rewrite_scheduled"] == "0":
            return fields
        time.sleep(0.02)
    raise AssertionError("the AOF rewrite did not finish")


def manifest(directory):
    with open(os.path.join(directory, "appendonlydir", "appendonly.aof.manifest")) as f:
        return [line.split() for line in f.read().splitlines() if line and not line.startswith("#")]


def incr_path(directory):
    last = [entry for entry in manifest(directory) if entry[-1] == "i"][-1]
    return os.path.join(directory, "appendonlydir", last[1])


def kill9(server):
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait(timeout=30)


def assert_redis_check_aof_accepts(directory):
    check = subprocess.run(
        [require_tool("redis-check-aof"), str(directory / "appendonlydir" / "appendonly.aof.manifest")],
        capture_output=True, text=True,
    )
    assert "All AOF files and manifest are valid" in check.stdout, check.stdout + check.stderr


def assert_reloads(directory, expected, starter=None):
    """Starts a server (Swiftlet by default) with appendonly yes on `directory` and compares its data."""
    server = (starter or start_swiftlet)(directory, "--appendonly", "yes")
    try:
        with server.connect() as conn:
            compare(expected, snapshot_all(conn))
    finally:
        server.stop()


# MARK: - Propagation, byte for byte against Redis

# Deterministic commands (no randomness; times are normalised) whose AOF form Redis rewrites or suppresses.
PROPAGATION_SCRIPT = [
    ["SET", "a", "1"],
    ["set", "b", "2", "NX"],  # no-op: b exists after the next one? (b is new: written)
    ["SET", "b", "3", "NX"],  # fails: nothing written
    ["SET", "c", "v", "EX", "100"],
    ["SET", "c", "v", "XX", "GET", "PX", "100000"],
    ["SET", "d", "v", "GET"],
    ["SET", "d", "w", "KEEPTTL", "get"],
    ["SETEX", "e", "100", "x"],
    ["PSETEX", "e", "100000", "y"],
    ["SETNX", "a", "9"],
    ["SETNX", "f", "9"],
    ["GETSET", "f", "10"],
    ["GETDEL", "f"],
    ["GETDEL", "f"],
    ["GETEX", "a", "EX", "100"],
    ["GETEX", "a", "PERSIST"],
    ["GETEX", "a", "PERSIST"],
    ["GETEX", "a"],
    ["EXPIRE", "a", "100"],
    ["EXPIRE", "a", "200", "GT"],
    ["EXPIRE", "a", "50", "GT"],
    ["PEXPIRE", "a", "100000", "XX"],
    ["EXPIREAT", "a", "4102444800"],
    ["PEXPIREAT", "a", "4102444800000"],
    ["PERSIST", "a"],
    ["PERSIST", "a"],
    ["EXPIRE", "missing", "10"],
    ["SET", "gone", "1"],
    ["EXPIRE", "gone", "-1"],
    ["INCRBYFLOAT", "fl", "1.5"],
    ["INCRBYFLOAT", "fl", "2.25"],
    ["HINCRBYFLOAT", "h", "f", "0.5"],
    ["HSET", "h", "g", "1"],
    ["HDEL", "h", "nothere"],
    ["DEL", "missing1", "missing2"],
    ["MULTI"], ["SET", "m1", "1"], ["EXEC"],
    ["MULTI"], ["SET", "m2", "1"], ["GET", "m2"], ["INCR", "m3"], ["EXEC"],
    ["MULTI"], ["GET", "m2"], ["EXEC"],
    ["SELECT", "2"], ["SET", "in2", "x"],
    ["MULTI"], ["SET", "t", "1"], ["SELECT", "3"], ["SET", "t", "2"], ["EXEC"],
    ["SET", "in3", "y"],
    ["SELECT", "0"],
    ["RPUSH", "l", "a", "b", "c", "d", "e"],
    ["LMPOP", "1", "l", "LEFT"],
    ["LMPOP", "2", "nol", "l", "RIGHT", "COUNT", "10"],
    ["RPUSH", "l", "a", "b", "c"],
    ["BLPOP", "l", "0"],
    ["BRPOP", "nol", "l", "0"],
    ["RPUSH", "l", "x", "y"],
    ["BLMOVE", "l", "l2", "left", "RIGHT", "0"],
    ["BRPOPLPUSH", "l", "l2", "0"],
    ["BLMPOP", "0", "1", "l2", "RIGHT", "COUNT", "5"],
    ["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"],
    ["ZMPOP", "1", "z", "MIN"],
    ["ZMPOP", "1", "z", "MAX", "COUNT", "2"],
    ["ZADD", "z", "1", "a", "2", "b"],
    ["BZPOPMIN", "z", "0"],
    ["BZPOPMAX", "z", "0"],
    ["ZADD", "z", "1", "a", "2", "b"],
    ["BZMPOP", "0", "1", "z", "MIN", "COUNT", "9"],
    ["SADD", "s", "only"],
    ["SPOP", "s"],
    ["SADD", "s", "p"],
    ["SPOP", "s", "5"],
    ["SPOP", "s", "0"],
    ["PFADD", "hll", "a", "b"],
    ["PFADD", "hll", "a"],
    ["PFCOUNT", "hll"],
    ["PFCOUNT", "hll"],
    ["SET", "src", "v"],
    ["RENAME", "src", "src"],
    ["RENAME", "src", "dst"],
    ["COPY", "dst", "dst2"],
    ["COPY", "dst", "dst2"],
    ["MOVE", "dst2", "4"],
    ["SWAPDB", "4", "5"],
    ["APPEND", "ap", "x"],
    ["SETRANGE", "ap", "0", ""],
    ["FLUSHDB"],
    ["SELECT", "6"],
    ["FLUSHDB"],
    ["FLUSHALL"],
    ["SET", "after", "flush"],
]

TIME = re.compile(rb"\$1[0-9]\r\n1[0-9]{12}\r\n|\$10\r\n[0-9]{10}\r\n")


def run_script(conn):
    replies = []
    for command in PROPAGATION_SCRIPT:
        reply = call(conn, *command)
        replies.append(("error", str(reply)) if isinstance(reply, RespError) else reply)
    return replies


def normalise(data):
    # Absolute times differ between the two runs; everything else must be the same bytes.
    return TIME.sub(b"<time>", data)


def test_propagated_commands_match_redis_byte_for_byte(tmp_path):
    outputs = {}
    for name, starter in (("redis", start_redis), ("swiftlet", start_swiftlet)):
        directory = tmp_path / name
        directory.mkdir()
        server = starter(directory, "--appendonly", "yes", "--appendfsync", "always")
        try:
            with server.connect() as conn:
                outputs[name + "-replies"] = run_script(conn)
                time.sleep(0.1)
                with open(incr_path(directory), "rb") as f:
                    outputs[name] = normalise(f.read())
        finally:
            server.stop()
    assert outputs["swiftlet-replies"] == outputs["redis-replies"]
    expected = outputs["redis"].split(b"\r\n")
    actual = outputs["swiftlet"].split(b"\r\n")
    assert actual == expected


def test_blocked_client_served_later_is_written_as_its_pop(tmp_path):
    """BLMOVE/BRPOPLPUSH/BLPOP/BZPOPMIN served after another client's push: each pop on its own, after the push."""
    outputs = {}
    for name, starter in (("redis", start_redis), ("swiftlet", start_swiftlet)):
        directory = tmp_path / name
        directory.mkdir()
        server = starter(directory, "--appendonly", "yes", "--appendfsync", "always")
        try:
            with server.connect() as waiter, server.connect() as pusher:
                for blocking, push in (
                    (["BLPOP", "q1", "0"], ["RPUSH", "q1", "a", "b"]),
                    (["BLMOVE", "q2", "d2", "LEFT", "right", "0"], ["RPUSH", "q2", "a"]),
                    (["BRPOPLPUSH", "q3", "d3", "0"], ["LPUSH", "q3", "a"]),
                    (["BZPOPMIN", "z1", "0"], ["ZADD", "z1", "1", "a", "2", "b"]),
                    (["BLMPOP", "0", "1", "q4", "LEFT", "COUNT", "3"], ["RPUSH", "q4", "a", "b"]),
                    (["BZMPOP", "0", "1", "z2", "MAX", "COUNT", "3"], ["ZADD", "z2", "1", "a"]),
                ):
                    waiter.send_command(*blocking)
                    time.sleep(0.05)
                    call(pusher, *push)
                    waiter.read_reply()
                time.sleep(0.1)
                with open(incr_path(directory), "rb") as f:
                    outputs[name] = f.read()
        finally:
            server.stop()
    assert outputs["swiftlet"].split(b"\r\n") == outputs["redis"].split(b"\r\n")


# MARK: - Restart, rewrite, interop


def random_mix(conn, seed, count=3000):
    """Writes whose AOF form differs from the request: relative expiries, SPOP, float increments, pops."""
    rng = random.Random(seed)
    for i in range(count):
        key = "k%d" % rng.randint(0, 40)
        choice = rng.randint(0, 11)
        try:
            if choice == 0:
                call(conn, "SET", key, str(i), "EX", rng.randint(100, 1000))
            elif choice == 1:
                call(conn, "INCRBYFLOAT", "f" + key, "%.3f" % rng.uniform(-5, 5))
            elif choice == 2:
                call(conn, "SADD", "s" + key, *[str(rng.randint(0, 30)) for _ in range(5)])
            elif choice == 3:
                call(conn, "SPOP", "s" + key, rng.randint(1, 4))
            elif choice == 4:
                call(conn, "SPOP", "s" + key)
            elif choice == 5:
                call(conn, "RPUSH", "l" + key, *[str(rng.randint(0, 9)) for _ in range(3)])
            elif choice == 6:
                call(conn, "LMPOP", 1, "l" + key, rng.choice(["LEFT", "RIGHT"]), "COUNT", 2)
            elif choice == 7:
                call(conn, "HINCRBYFLOAT", "h" + key, "f%d" % rng.randint(0, 3), "1.25")
            elif choice == 8:
                call(conn, "ZADD", "z" + key, rng.randint(0, 100), "m%d" % rng.randint(0, 20))
                call(conn, "ZMPOP", 1, "z" + key, "MIN")
            elif choice == 9:
                call(conn, "EXPIRE", key, rng.randint(200, 900))
            elif choice == 10:
                call(conn, "MULTI")
                call(conn, "INCR", "counter")
                call(conn, "SELECT", rng.randint(0, 1))
                call(conn, "SET", key, "m%d" % i)
                call(conn, "SELECT", 0)
                call(conn, "EXEC")
            else:
                call(conn, "GETEX", key, "PX", rng.randint(100000, 900000))
        except RespError:
            pass


def snapshot_all(conn):
    """Every key of databases 0, 1 and 5, with TTLs rounded to the second (re-derived times may move by ms).

    A string's encoding is left out: INCRBYFLOAT stores "4" as embstr and is written as SET, which makes it an int
    when the log is replayed, in Redis as here."""
    data = snapshot(conn)
    return {
        k: (v[0], None if v[0] == "string" else v[1], v[2], v[3] if v[3] < 0 else v[3] // 1000)
        for k, v in data.items()
    }


@pytest.mark.parametrize("fsync", ["always", "everysec", "no"])
def test_restart_after_kill_replays_the_log(tmp_path, fsync):
    server = start_swiftlet(tmp_path, "--appendonly", "yes", "--appendfsync", fsync)
    try:
        with server.connect() as conn:
            build_dataset(conn)
            random_mix(conn, seed=7)
            expected = snapshot_all(conn)
            if fsync != "always":
                # everysec and no write every event-loop iteration (the fsync is what they defer, and kill -9 does
                # not lose what the kernel has).
                time.sleep(0.2)
                assert info(conn)["aof_buffer_length"] == "0"
    finally:
        kill9(server)
    again = start_swiftlet(tmp_path, "--appendonly", "yes")
    try:
        with again.connect() as conn:
            compare(expected, snapshot_all(conn))
        assert "DB loaded from append only file" in again.log_tail()
    finally:
        again.stop()


def test_bgrewriteaof_while_writing_then_restart(tmp_path):
    server = start_swiftlet(tmp_path, "--appendonly", "yes", "--rdb-key-save-delay", "100")
    try:
        with server.connect() as conn:
            build_dataset(conn)
            assert call(conn, "BGREWRITEAOF") == "Background append only file rewriting started"
            assert info(conn)["aof_rewrite_in_progress"] == "1"
            assert "already in progress" in str(call(conn, "BGREWRITEAOF"))
            assert "Another child process is active" in str(call(conn, "BGSAVE"))
            assert call(conn, "BGSAVE", "SCHEDULE") == "Background saving scheduled"
            # Writes while the base is written: they go to the new incremental file.
            random_mix(conn, seed=11, count=500)
            call(conn, "CONFIG", "SET", "rdb-key-save-delay", "0")
            fields = wait_rewrite(conn)
            assert fields["aof_last_bgrewrite_status"] == "ok"
            assert fields["aof_rewrites"] == "1"
            expected = snapshot_all(conn)
        entries = manifest(tmp_path)
        assert [e[-1] for e in entries] == ["b", "i"], entries
        assert entries[0][1] == "appendonly.aof.2.base.rdb" and entries[1][1] == "appendonly.aof.2.incr.aof"
        assert sorted(os.listdir(tmp_path / "appendonlydir")) == sorted(
            ["appendonly.aof.2.base.rdb", "appendonly.aof.2.incr.aof", "appendonly.aof.manifest"]
        )
    finally:
        kill9(server)
    assert_redis_check_aof_accepts(tmp_path)
    assert_reloads(tmp_path, expected)


def test_real_redis_loads_swiftlet_aof_directory(tmp_path):
    ours = tmp_path / "swiftlet"
    ours.mkdir()
    server = start_swiftlet(ours, "--appendonly", "yes")
    try:
        with server.connect() as conn:
            build_dataset(conn)
            assert call(conn, "BGREWRITEAOF").startswith("Background append only file rewriting")
            wait_rewrite(conn)
            random_mix(conn, seed=3)
            expected = snapshot_all(conn)
    finally:
        server.stop()
    assert_redis_check_aof_accepts(ours)
    theirs = tmp_path / "redis"
    shutil.copytree(ours, theirs)
    assert_reloads(theirs, expected, start_redis)


@pytest.mark.parametrize("preamble", ["yes", "no"])
def test_swiftlet_loads_real_redis_aof_directory(tmp_path, preamble):
    theirs = tmp_path / "redis"
    theirs.mkdir()
    redis = start_redis(theirs, "--appendonly", "yes", "--aof-use-rdb-preamble", preamble)
    try:
        with redis.connect() as conn:
            build_dataset(conn)
            call(conn, "BGREWRITEAOF")
            wait_rewrite(conn)
            random_mix(conn, seed=5)
            expected = snapshot_all(conn)
    finally:
        redis.stop()
    ours = tmp_path / "swiftlet"
    shutil.copytree(theirs, ours)
    server = start_swiftlet(ours, "--appendonly", "yes")
    try:
        with server.connect() as conn:
            compare(expected, snapshot_all(conn))
    finally:
        server.stop()


def test_appendonly_without_aof_starts_empty_and_writes_a_base(tmp_path):
    """As Redis: with appendonly yes and no AOF on disk the RDB is not read; a base and an incr file are made."""
    server = start_swiftlet(tmp_path, "--appendonly", "no")
    try:
        with server.connect() as conn:
            call(conn, "SET", "in-rdb", "1")
            call(conn, "SAVE")
    finally:
        server.stop()
    again = start_swiftlet(tmp_path, "--appendonly", "yes")
    try:
        with again.connect() as conn:
            assert call(conn, "DBSIZE") == 0
        assert manifest(tmp_path) == [
            ["file", "appendonly.aof.1.base.rdb", "seq", "1", "type", "b"],
            ["file", "appendonly.aof.1.incr.aof", "seq", "1", "type", "i"],
        ]
    finally:
        again.stop()


def test_config_set_appendonly_at_runtime(tmp_path):
    server = start_swiftlet(tmp_path, "--appendonly", "no")
    try:
        with server.connect() as conn:
            build_dataset(conn)
            assert call(conn, "CONFIG", "SET", "appendonly", "yes") == "OK"
            fields = wait_rewrite(conn)
            assert fields["aof_enabled"] == "1"
            random_mix(conn, seed=9, count=500)
            expected = snapshot_all(conn)
            assert manifest(tmp_path)[0][-1] == "b"
    finally:
        kill9(server)
    again = start_swiftlet(tmp_path, "--appendonly", "yes")
    try:
        with again.connect() as conn:
            compare(expected, snapshot_all(conn))
            assert call(conn, "CONFIG", "SET", "appendonly", "no") == "OK"
            assert info(conn)["aof_enabled"] == "0"
    finally:
        again.stop()


def test_upgrade_of_an_old_style_single_file(tmp_path):
    with open(tmp_path / "appendonly.aof", "wb") as f:
        f.write(b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$3\r\nold\r\n$5\r\nstyle\r\n")
    server = start_swiftlet(tmp_path, "--appendonly", "yes")
    try:
        with server.connect() as conn:
            assert call(conn, "GET", "old") == b"style"
            call(conn, "SET", "new", "1")
        assert manifest(tmp_path)[0] == ["file", "appendonly.aof", "seq", "1", "type", "b"]
        assert not os.path.exists(tmp_path / "appendonly.aof")
    finally:
        server.stop()
    again = start_swiftlet(tmp_path, "--appendonly", "yes")
    try:
        with again.connect() as conn:
            assert call(conn, "MGET", "old", "new") == [b"style", b"1"]
    finally:
        again.stop()


# MARK: - Torn and corrupt files


def complete_commands(data):
    """How many complete SET commands a prefix of a log of `*3 SET k v` commands holds, and where they end."""
    count, position = 0, 0
    pattern = re.compile(rb"\*3\r\n\$3\r\nSET\r\n\$(\d+)\r\n")
    while True:
        match = pattern.match(data, position)
        if not match:
            return count
        key_end = match.end() + int(match.group(1)) + 2
        value = re.compile(rb"\$(\d+)\r\n").match(data, key_end)
        if not value:
            return count
        end = value.end() + int(value.group(1)) + 2
        if end > len(data):
            return count
        count += 1
        position = end


def test_truncated_log_loads_up_to_the_last_complete_command(tmp_path):
    server = start_swiftlet(tmp_path, "--appendonly", "yes", "--appendfsync", "always")
    try:
        with server.connect() as conn:
            for i in range(300):
                call(conn, "SET", "key:%d" % i, "value-%d" % i)
    finally:
        kill9(server)
    path = incr_path(tmp_path)
    with open(path, "rb") as f:
        original = f.read()
    select = len(b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n")
    rng = random.Random(42)
    for cut in [rng.randint(select + 1, len(original) - 1) for _ in range(6)]:
        with open(path, "wb") as f:
            f.write(original[:cut])
        expected = complete_commands(original[select:cut])
        refused = start_swiftlet(tmp_path, "--appendonly", "yes", "--aof-load-truncated", "no", start=False)
        proc = subprocess.run(refused.argv, capture_output=True, text=True, timeout=60)
        assert proc.returncode != 0
        assert "Unexpected end of file reading the append only file" in proc.stdout + proc.stderr
        server = start_swiftlet(tmp_path, "--appendonly", "yes")
        try:
            with server.connect() as conn:
                assert call(conn, "DBSIZE") == expected, cut
                if expected:
                    assert call(conn, "GET", "key:%d" % (expected - 1)) == b"value-%d" % (expected - 1)
            assert "loaded anyway because aof-load-truncated is enabled" in server.log_tail()
        finally:
            server.stop()
        assert_redis_check_aof_accepts(tmp_path)


def test_bad_format_and_missing_exec(tmp_path):
    server = start_swiftlet(tmp_path, "--appendonly", "yes")
    try:
        with server.connect() as conn:
            call(conn, "SET", "a", "1")
    finally:
        server.stop()
    path = incr_path(tmp_path)
    with open(path, "rb") as f:
        good = f.read()
    # A transaction cut before its EXEC is dropped (and cut away), as Redis does.
    with open(path, "wb") as f:
        f.write(good + b"*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n")
    server = start_swiftlet(tmp_path, "--appendonly", "yes")
    try:
        with server.connect() as conn:
            assert call(conn, "MGET", "a", "b") == [b"1", None]
    finally:
        server.stop()
    with open(path, "rb") as f:
        assert f.read() == good
    # Garbage in the middle is not a torn tail: the server refuses to start and names the file and offset.
    with open(path, "wb") as f:
        f.write(good + b"garbage\r\n" + good)
    refused = start_swiftlet(tmp_path, "--appendonly", "yes", start=False)
    proc = subprocess.run(refused.argv, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    output = proc.stdout + proc.stderr
    assert "Bad file format reading the append only file appendonly.aof.1.incr.aof at offset %d" % len(good) in output
    with open(path, "rb") as f:
        assert f.read() == good + b"garbage\r\n" + good, "a refused file is left as it was"


# MARK: - Crash test


def test_kill9_never_loses_an_acknowledged_write(tmp_path):
    """appendfsync always: under a write load, kill -9 at random moments 20 times; every acknowledged write is
    there after each restart."""
    rng = random.Random(2026)
    acknowledged = 0
    for round_ in range(20):
        server = start_swiftlet(tmp_path, "--appendonly", "yes", "--appendfsync", "always")
        stop = threading.Event()
        progress = {"acked": acknowledged}

        def writer():
            conn = RespConnection("127.0.0.1", server.port)
            try:
                n = progress["acked"]
                while not stop.is_set():
                    n += 1
                    conn.send_command("SET", "key:%d" % n, "v%d" % n)
                    conn.send_command("INCR", "counter")
                    conn.read_reply()
                    conn.read_reply()
                    progress["acked"] = n
            except Exception:
                pass

        with server.connect() as conn:
            if acknowledged:
                # Everything acknowledged before the previous kill survived it.
                assert int(call(conn, "GET", "counter")) >= acknowledged
                keys = ["key:%d" % i for i in range(1, acknowledged + 1)]
                values = call(conn, "MGET", *keys)
                missing = [k for k, v in zip(keys, values) if v is None]
                assert not missing, "round %d lost %d acknowledged writes" % (round_, len(missing))
        thread = threading.Thread(target=writer)
        thread.start()
        time.sleep(rng.uniform(0.05, 0.4))
        kill9(server)
        stop.set()
        thread.join(timeout=10)
        acknowledged = progress["acked"]
    assert acknowledged > 20


def test_rewrite_without_rdb_preamble_writes_commands(tmp_path):
    """aof-use-rdb-preamble no: the base is commands (RPUSH/SADD/ZADD/HMSET in batches of 64, PEXPIREAT), which
    redis-check-aof accepts and real Redis loads."""
    ours = tmp_path / "swiftlet"
    ours.mkdir()
    server = start_swiftlet(ours, "--appendonly", "yes", "--aof-use-rdb-preamble", "no")
    try:
        with server.connect() as conn:
            build_dataset(conn)
            call(conn, "BGREWRITEAOF")
            wait_rewrite(conn)
            random_mix(conn, seed=21, count=500)
            expected = snapshot_all(conn)
        entries = manifest(ours)
        assert entries[0][1] == "appendonly.aof.2.base.aof", entries
        with open(ours / "appendonlydir" / entries[0][1], "rb") as f:
            base = f.read()
        assert base.startswith(b"*2\r\n$6\r\nSELECT\r\n") and b"HMSET" in base and b"PEXPIREAT" in base
        # l:big has 20000 elements: RPUSH commands of 64 elements (the header counts the name and the key).
        assert base.count(b"*66\r\n$5\r\nRPUSH\r\n$5\r\nl:big\r\n") == 20000 // 64
    finally:
        kill9(server)
    assert_redis_check_aof_accepts(ours)
    assert_reloads(ours, expected)
    theirs = tmp_path / "redis"
    shutil.copytree(ours, theirs)
    assert_reloads(theirs, expected, start_redis)


def test_automatic_rewrite_on_growth(tmp_path):
    server = start_swiftlet(
        tmp_path, "--appendonly", "yes", "--auto-aof-rewrite-min-size", "65536", "--auto-aof-rewrite-percentage", "100"
    )
    try:
        with server.connect() as conn:
            for i in range(3000):
                call(conn, "SET", "key:%d" % (i % 100), "x" * 40)
            deadline = time.monotonic() + 30
            while info(conn)["aof_rewrites"] == "0" and time.monotonic() < deadline:
                time.sleep(0.05)
            fields = wait_rewrite(conn)
            assert int(fields["aof_rewrites"]) >= 1
            assert "Starting automatic rewriting of AOF on" in server.log_tail(20000)
            # The 3000 SETs wrote ~216 kB of log; after the rewrite the base holds just the 100 keys, and only the
            # writes that came during or after the rewrite are in the incremental file.
            assert int(fields["aof_base_size"]) < 150000
            assert int(fields["aof_current_size"]) < 150000
            expected = snapshot_all(conn)
    finally:
        server.stop()
    assert_reloads(tmp_path, expected)


def test_timestamp_annotations(tmp_path):
    server = start_swiftlet(tmp_path, "--appendonly", "yes", "--aof-timestamp-enabled", "yes")
    try:
        with server.connect() as conn:
            call(conn, "SET", "a", "1")
            time.sleep(1.1)
            call(conn, "SET", "b", "2")
            call(conn, "SET", "c", "3")
    finally:
        server.stop()
    with open(incr_path(tmp_path), "rb") as f:
        data = f.read()
    stamps = re.findall(rb"#TS:(\d+)\r\n", data)
    assert len(stamps) == 2 and int(stamps[1]) > int(stamps[0]), data
    assert data.startswith(b"#TS:")
    again = start_swiftlet(tmp_path, "--appendonly", "yes")
    try:
        with again.connect() as conn:
            assert call(conn, "MGET", "a", "b", "c") == [b"1", b"2", b"3"]
    finally:
        again.stop()
