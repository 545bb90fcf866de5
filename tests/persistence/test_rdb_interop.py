"""RDB and DUMP/RESTORE interoperability between real Redis 7.0 and Swiftlet.

* A dataset covering every type and encoding (small and large collections, integers, long compressible
  strings, binary strings, expiring keys, several databases) is built on one server; every key is DUMPed there
  and RESTOREd on the other; then both are compared with type-specific reads, OBJECT ENCODING and PEXPIRETIME.
* A golden RDB file is produced by a real redis-server (SAVE) at test time, checked by swiftlet-check-rdb,
  rewritten by Swiftlet's own loader + writer (`swiftlet-check-rdb FILE --rewrite OUT`), validated by the
  real `redis-check-rdb`, and loaded into a fresh redis-server started with `--dir --dbfilename`; its contents
  must equal the original's.
"""

import os
import re
import subprocess

import pytest

from support.persistence import DATABASES, build_dataset, call, compare, snapshot, start_redis, start_swiftlet
from support.resp import RespError
from support.servers import require_tool

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def check_rdb_tool():
    for build in ("debug", "release"):
        path = os.path.join(ROOT, ".build", build, "swiftlet-check-rdb")
        if os.path.exists(path):
            return path
    pytest.fail("swiftlet-check-rdb is not built (swift build)", pytrace=False)


def same_report_as_redis(path):
    """Runs both checkers on `path` and asserts that Swiftlet prints Redis's lines, offsets included, and then only
    its own two kinds of summary line (the RDB version, keys per type)."""
    ours = subprocess.run([check_rdb_tool(), path], capture_output=True, text=True, timeout=60)
    theirs = subprocess.run([require_tool("redis-check-rdb"), path], capture_output=True, text=True, timeout=60)
    assert ours.returncode == theirs.returncode, ours.stdout + theirs.stdout
    lines = ours.stdout.splitlines()
    extra = [line for line in lines if re.fullmatch(r"\[info\] (RDB version \d+|\d+ keys of type \w+)", line)]
    assert lines[: len(lines) - len(extra)] == theirs.stdout.splitlines(), ours.stdout + theirs.stdout
    assert lines[len(lines) - len(extra):] == extra
    return ours


def copy_by_dump(source, target):
    """DUMP every key of `source` and RESTORE it into `target` (same db, same absolute expiry)."""
    call(target, "FLUSHALL")
    count = 0
    for db in DATABASES:
        call(source, "SELECT", db)
        call(target, "SELECT", db)
        for key in call(source, "KEYS", "*"):
            payload = call(source, "DUMP", key)
            expire = call(source, "PEXPIRETIME", key)
            if expire > 0:
                reply = call(target, "RESTORE", key, expire, payload, "ABSTTL")
            else:
                reply = call(target, "RESTORE", key, 0, payload)
            assert reply == "OK", (db, key, reply)
            count += 1
    call(source, "SELECT", 0)
    call(target, "SELECT", 0)
    return count


def test_redis_dump_restores_into_swiftlet(reference_server, candidate_server):
    with reference_server.connect() as ref, candidate_server.connect() as cand:
        build_dataset(ref)
        assert copy_by_dump(ref, cand) > 30
        compare(snapshot(ref), snapshot(cand))


def test_swiftlet_dump_restores_into_redis(reference_server, candidate_server):
    with reference_server.connect() as ref, candidate_server.connect() as cand:
        build_dataset(cand)
        copy_by_dump(cand, ref)
        compare(snapshot(cand), snapshot(ref))


def test_swiftlet_dump_without_compression_restores_into_redis(reference_server, candidate_server):
    with reference_server.connect() as ref, candidate_server.connect() as cand:
        assert call(cand, "CONFIG", "SET", "rdbcompression", "no") == "OK"
        try:
            build_dataset(cand, seed=2)
            copy_by_dump(cand, ref)
            compare(snapshot(cand), snapshot(ref))
        finally:
            call(cand, "CONFIG", "SET", "rdbcompression", "yes")


@pytest.mark.parametrize(
    "setup",
    [
        ["SET", "k", "12345"],
        ["SET", "k", "-9223372036854775808"],
        ["SET", "k", "hello"],
        ["SADD", "k", "1", "2", "300000"],
        ["HSET", "k", "f", "v", "n", "12"],
        ["RPUSH", "k", "a", "b", "1", "-1000"],
        ["ZADD", "k", "1", "a", "2.5", "b"],
        ["SET", "k", "value:1" + "\0" * 93],
        ["SET", "k", "hello world " * 300],
        ["RPUSH", "k"] + ["element-%d" % (i % 50) for i in range(500)],
        ["HSET", "k"] + [x for i in range(100) for x in ("field:%d" % i, "v" * (i % 30))],
    ],
    ids=["int", "i64", "embstr", "intset", "hash-listpack", "list", "zset-listpack", "lzf-populate", "lzf-text",
         "lzf-list", "lzf-hash"],
)
def test_dump_payload_bytes_match_redis(reference_server, candidate_server, setup):
    # LZF-compressed payloads too: SwiftletPersistence's compressor is liblzf's, with Redis's settings.
    with reference_server.connect() as ref, candidate_server.connect() as cand:
        for conn in (ref, cand):
            call(conn, "FLUSHALL")
            call(conn, *setup)
        assert call(cand, "DUMP", "k") == call(ref, "DUMP", "k")


def test_restore_errors_match_redis(reference_server, candidate_server):
    with reference_server.connect() as ref, candidate_server.connect() as cand:
        for conn in (ref, cand):
            call(conn, "FLUSHALL")
            call(conn, "SET", "src", "value")
        good = call(ref, "DUMP", "src")
        bad_crc = good[:-1] + bytes([good[-1] ^ 1])
        newer = good[:-10] + bytes([11, 0]) + good[-8:]
        bad_type = b"\x42" + good[1:]
        empty_list = b"\x12\x00"
        cases = [
            ["RESTORE", "src", 0, good],
            ["RESTORE", "new", 0, bad_crc],
            ["RESTORE", "new", 0, newer],
            ["RESTORE", "new", 0, b"short"],
            ["RESTORE", "new", -1, good],
            ["RESTORE", "new", "x", good],
            ["RESTORE", "new", 0, good, "IDLETIME", -1],
            ["RESTORE", "new", 0, good, "FREQ", 256],
            ["RESTORE", "new", 0, good, "IDLETIME", 1, "FREQ", 1],
            ["RESTORE", "new", 0, good, "BOGUS"],
            ["RESTORE", "new", 0, good, "REPLACE", "ABSTTL", "IDLETIME"],
            ["RESTORE", "new", 1, good, "ABSTTL"],
            ["EXISTS", "new"],
            ["RESTORE", "src", 0, good, "REPLACE"],
            ["RESTORE", "src", 1, good, "REPLACE", "ABSTTL"],
            ["EXISTS", "src"],
            ["RESTORE", "new2", 100000, good],
            ["TTL", "new2"],
            ["DUMP", "missing"],
            ["RESTORE"],
            ["DUMP"],
        ]
        for args in cases:
            r = call(ref, *args)
            c = call(cand, *args)
            assert c == r, (args, r, c)
        # Payloads whose value is malformed, or an empty collection, or an unknown type.
        for payload in (bad_type, empty_list):
            framed = payload + bytes([10, 0])
            framed += crc64(framed).to_bytes(8, "little")
            r = call(ref, "RESTORE", "bad", 0, framed)
            c = call(cand, "RESTORE", "bad", 0, framed)
            assert isinstance(r, RespError) and c == r, (payload, r, c)


def crc64(data):
    poly = 0x95AC9329AC4BC9B5
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
    return crc


def test_golden_rdb_check_rewrite_and_reload(tmp_path):
    tool = check_rdb_tool()
    original_dir = str(tmp_path / "orig")
    os.makedirs(original_dir)
    redis = start_redis(original_dir)
    try:
        with redis.connect() as conn:
            build_dataset(conn)
            expected = snapshot(conn)
            assert call(conn, "SAVE") == "OK"
            keys = call(conn, "DBSIZE")
    finally:
        redis.stop()
    golden = os.path.join(original_dir, "dump.rdb")
    # Swiftlet's checker reads the file Redis wrote, and says what redis-check-rdb says of it.
    out = same_report_as_redis(golden)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "RDB looks OK" in out.stdout
    assert "[info] %d keys read" % len(expected) in out.stdout
    assert keys > 0
    for flags in ([], ["--no-compression"]):
        rewritten_dir = str(tmp_path / ("rewritten" + "".join(flags)))
        os.makedirs(rewritten_dir)
        rewritten = os.path.join(rewritten_dir, "swiftlet.rdb")
        out = subprocess.run([tool, golden, "--rewrite", rewritten] + flags, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stdout + out.stderr
        # The real checker accepts Swiftlet's file...
        check = subprocess.run([require_tool("redis-check-rdb"), rewritten], capture_output=True, text=True, timeout=60)
        assert check.returncode == 0, check.stdout + check.stderr
        assert "RDB looks OK" in check.stdout
        # ...and a real server loads it with the same contents and encodings.
        reloaded = start_redis(rewritten_dir, "--dbfilename", "swiftlet.rdb")
        try:
            with reloaded.connect() as conn:
                compare(expected, snapshot(conn))
        finally:
            reloaded.stop()


def test_rdb_without_checksum_is_accepted(tmp_path):
    tool = check_rdb_tool()
    redis = start_redis(tmp_path, "--dbfilename", "nock.rdb")
    try:
        with redis.connect() as conn:
            # rdbchecksum is immutable at runtime: zero the checksum by hand, as `rdbchecksum no` writes it.
            call(conn, "SET", "a", "b")
            assert call(conn, "SAVE") == "OK"
    finally:
        redis.stop()
    path = str(tmp_path / "nock.rdb")
    data = bytearray(open(path, "rb").read())
    data[-8:] = bytes(8)
    open(path, "wb").write(bytes(data))
    out = same_report_as_redis(path)
    assert out.returncode == 0, out.stdout
    assert "checksum disabled: no check performed" in out.stdout
    data[-8:] = bytes([1] * 8)
    open(path, "wb").write(bytes(data))
    out = subprocess.run([tool, path], capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "checksum" in out.stdout


@pytest.mark.parametrize("policy", ["allkeys-lru", "allkeys-lfu"])
def test_access_statistics_cross_in_rdb_both_ways(tmp_path, policy):
    """Under an LRU policy a snapshot carries each key's idle time (the IDLE opcode), under an LFU one its counter
    (FREQ), as Redis's rdbSaveKeyValuePair writes them: a file written by one server gives the other the same OBJECT
    IDLETIME (within a second) or OBJECT FREQ."""
    lfu = policy.endswith("lfu")
    for writer, reader in ((start_swiftlet, start_redis), (start_redis, start_swiftlet)):
        directory = str(tmp_path / ("%s-%s" % (policy, writer.__name__)))
        os.makedirs(directory)
        source = writer(directory, "--maxmemory-policy", policy)
        try:
            with source.connect() as conn:
                call(conn, "SET", "tmp", "v")
                payload = conn.execute("DUMP", "tmp").value
                option = ["FREQ", "100"] if lfu else ["IDLETIME", "1000"]
                assert call(conn, "RESTORE", "k", "0", payload, *option) == "OK"
                assert call(conn, "SAVE") == "OK"
        finally:
            source.stop()
        target = reader(directory, "--maxmemory-policy", policy)
        try:
            with target.connect() as conn:
                if lfu:
                    assert call(conn, "OBJECT", "FREQ", "k") == 100
                else:
                    assert 1000 <= call(conn, "OBJECT", "IDLETIME", "k") <= 1002
        finally:
            target.stop()
