"""Swiftlet as a replication master, with real redis-server 7.0 replicas (issue 21, master side).

Each test starts its own Swiftlet master and redis-server replicas (`--replicaof`) on free loopback ports:
* full sync, diskless (`$EOF:` streamed as the snapshot is made) and from disk (`$<length>` after a BGSAVE), then
  the stream: every type, several databases, expiries, MULTI/EXEC, scripts, SPOP, FLUSHDB; the replica's data must
  equal the master's key by key (type, encoding, content, expiry) once its offset has caught up;
* partial resync after the link is cut (CLIENT KILL TYPE replica), and a full one when the backlog no longer holds
  the replica's offset;
* two replicas arriving within `repl-diskless-sync-delay` share one snapshot;
* INFO replication and ROLE in Redis's format; REPLCONF's errors byte for byte against redis-server;
* WAIT: answered at once when enough replicas acknowledged (REPLCONF GETACK asks them), after the timeout with
  the count otherwise, at once inside MULTI;
* redis-cli --rdb / --functions-rdb / --replica against Swiftlet.
"""

import re
import subprocess
import time

import pytest

from support.persistence import FAR, build_dataset, call, info, start_redis, start_swiftlet
from support.replication import TIMEOUT, caught_up, new_dir, replication, same_data, wait_for
from support.resp import RespConnection, encode_command
from support.servers import require_tool


def start_master(tmp_path, *extra):
    return start_swiftlet(new_dir(tmp_path, "master"), "--repl-diskless-sync-delay", "0", *extra)


def start_replica(tmp_path, master, name="replica", *extra):
    return start_redis(new_dir(tmp_path, name), "--replicaof", master.host, master.port, *extra)


def link_up(replica):
    return replication(replica).get("master_link_status") == "up"


def writes(conn):
    """The stream's cases: plain writes in several databases, relative expiries (propagated as absolute ones),
    a transaction, a script with several writes, SPOP (as SREM), INCRBYFLOAT, deletions, FLUSHDB."""
    call(conn, "SELECT", 0)
    call(conn, "SET", "w:plain", "v")
    call(conn, "SET", "w:ex", "v", "EX", "1000")
    call(conn, "EXPIRE", "s:int", 5000)
    call(conn, "INCRBYFLOAT", "w:float", "1.5")
    call(conn, "MULTI")
    call(conn, "RPUSH", "w:list", "a", "b", "c")
    call(conn, "HSET", "w:hash", "f", "1")
    call(conn, "EXEC")
    call(conn, "EVAL", "redis.call('SET', KEYS[1], 'x'); redis.call('LPUSH', KEYS[2], 'y'); return 1", 2,
         "w:script", "w:scriptlist")
    call(conn, "SADD", "w:set", "a", "b", "c", "d")
    call(conn, "SPOP", "w:set")
    call(conn, "DEL", "s:neg")
    call(conn, "SELECT", 1)
    call(conn, "SET", "w:db1", "one")
    call(conn, "PEXPIREAT", "w:db1", FAR)
    call(conn, "SELECT", 2)
    call(conn, "SET", "w:db2", "two")
    call(conn, "FLUSHDB")
    call(conn, "SET", "w:db2:after", "2")
    call(conn, "SELECT", 0)


@pytest.mark.parametrize("diskless", ["yes", "no"])
def test_full_sync_then_stream(tmp_path, diskless):
    master = start_master(tmp_path, "--repl-diskless-sync", diskless)
    with master.connect() as m:
        build_dataset(m)
    replica = start_replica(tmp_path, master)
    wait_for(lambda: link_up(replica), "the replica's link")
    same_data(master, replica)
    with master.connect() as m:
        writes(m)
    same_data(master, replica)
    with master.connect() as m:
        stats = info(m, "stats")
        assert (stats["sync_full"], stats["sync_partial_ok"], stats["sync_partial_err"]) == ("1", "0", "0")
    target = "replicas sockets" if diskless == "yes" else "disk"
    assert "Starting BGSAVE for SYNC with target: %s" % target in master.log_tail(100000)


def test_partial_resync_after_the_link_is_cut(tmp_path):
    master = start_master(tmp_path)
    with master.connect() as m:
        build_dataset(m)
    replica = start_replica(tmp_path, master)
    same_data(master, replica)
    with master.connect() as m:
        assert call(m, "CLIENT", "KILL", "TYPE", "replica") == 1
        # Written while the replica reconnects: it gets them from the backlog.
        for i in range(100):
            call(m, "SET", "during:%d" % i, i)
    same_data(master, replica)
    with master.connect() as m:
        stats = info(m, "stats")
        assert (stats["sync_full"], stats["sync_partial_ok"]) == ("1", "1")
    assert "Partial resynchronization request from" in master.log_tail(100000)


def test_full_resync_when_the_backlog_is_gone_past(tmp_path):
    master = start_master(tmp_path, "--repl-backlog-size", "16384")
    replica = start_replica(tmp_path, master)
    same_data(master, replica)
    with master.connect() as m:
        # The link is cut and, in the same pipeline (before the replica can reconnect, which it tries once a
        # second), more than the backlog holds is written: the replica's offset is no longer in the backlog.
        m.send_raw(encode_command(["CLIENT", "KILL", "TYPE", "replica"])
                   + b"".join(encode_command(["SET", "big:%d" % i, "x" * 200]) for i in range(200)))
        replies = [m.read_reply().to_python() for _ in range(201)]
        assert replies[0] == 1
    same_data(master, replica)
    with master.connect() as m:
        stats = info(m, "stats")
        assert (stats["sync_full"], stats["sync_partial_ok"], stats["sync_partial_err"]) == ("2", "0", "1")
    assert "for lack of backlog" in master.log_tail(100000)


def test_replicas_arriving_within_the_delay_share_one_snapshot(tmp_path):
    directory = tmp_path / "master"
    directory.mkdir()
    master = start_swiftlet(directory, "--repl-diskless-sync-delay", "2")
    with master.connect() as m:
        build_dataset(m)
    first = start_replica(tmp_path, master, "first")
    second = start_replica(tmp_path, master, "second")
    same_data(master, first)
    same_data(master, second)
    log = master.log_tail(100000)
    assert log.count("Starting BGSAVE for SYNC") == 1, log
    assert "Delay next BGSAVE for diskless SYNC" in log


def test_info_replication_and_role(tmp_path):
    master = start_master(tmp_path)
    with master.connect() as m:
        fields = info(m, "replication")
        assert fields["role"] == "master" and fields["connected_slaves"] == "0"
        assert fields["repl_backlog_active"] == "0" and re.fullmatch(r"[0-9a-f]{40}", fields["master_replid"])
        assert call(m, "ROLE") == [b"master", 0, []]
    replica = start_replica(tmp_path, master)
    same_data(master, replica)
    with master.connect() as m:
        call(m, "SET", "k", "v")
    wait_for(lambda: caught_up(master, replica), "the replica")
    with master.connect() as m:
        # The replica acknowledges once a second.
        def acknowledged():
            return info(m, "replication")["slave0"].split(",offset=")[1].split(",")[0] == \
                info(m, "replication")["master_repl_offset"]
        wait_for(acknowledged, "the replica's ACK")
        fields = info(m, "replication")
        offset = fields["master_repl_offset"]
        assert re.fullmatch(r"ip=127\.0\.0\.1,port=%d,state=online,offset=%s,lag=[01]" % (replica.port, offset),
                            fields["slave0"])
        assert fields["connected_slaves"] == "1" and fields["repl_backlog_active"] == "1"
        assert fields["repl_backlog_first_byte_offset"] == "1" and fields["repl_backlog_histlen"] == offset
        with replica.connect() as r:
            assert info(r, "replication")["master_replid"] == fields["master_replid"]
        role = call(m, "ROLE")
        assert role == [b"master", int(offset), [[b"127.0.0.1", str(replica.port).encode(), offset.encode()]]]
        clients = call(m, "CLIENT", "LIST", "TYPE", "replica").decode()
        assert clients.count("\n") == 1 and " flags=S " in clients


REPLCONF_CASES = [
    ["REPLCONF"],
    ["REPLCONF", "listening-port"],
    ["REPLCONF", "listening-port", "abc"],
    ["REPLCONF", "listening-port", "6380", "capa", "eof", "capa", "psync2", "capa", "unknown"],
    ["REPLCONF", "ip-address", "x" * 300],
    ["REPLCONF", "rdb-only", "2"],
    ["REPLCONF", "rdb-only", "x"],
    ["REPLCONF", "rdb-filter-only", "keys"],
    ["REPLCONF", "rdb-filter-only", "\"unbalanced"],
    ["REPLCONF", "rdb-filter-only", "functions"],
    ["REPLCONF", "nosuchoption", "1"],
    ["PSYNC", "?", "abc"],
    ["PSYNC", "x", "1", "FAILOVER"],
    ["PSYNC", "?"],
    ["SYNC", "x"],
    ["ROLE", "x"],
    ["WAIT", "a", "0"],
    ["WAIT", "1", "a"],
    ["WAIT", "1", "-1"],
    ["WAIT", "0", "0"],
    ["WAIT", "1"],
]


@pytest.mark.parametrize("command", REPLCONF_CASES, ids=lambda c: " ".join(c)[:40])
def test_replication_commands_reply_as_redis(tmp_path, command):
    master = start_master(tmp_path)
    (tmp_path / "redis").mkdir()
    redis = start_redis(tmp_path / "redis")
    replies = []
    for server in (redis, master):
        with server.connect() as c:
            replies.append(c.execute(*command).raw)
    assert replies[1] == replies[0]


def test_filtered_sync_needs_the_eof_capability(tmp_path):
    master = start_master(tmp_path)
    with master.connect() as c:
        assert c.execute("REPLCONF", "rdb-filter-only", "").raw == b"+OK\r\n"
        assert c.execute("SYNC").raw == b"-ERR Filtered replica requires EOF capability\r\n"


def test_redis_cli_sync_modes(tmp_path):
    redis_cli = require_tool("redis-cli")
    master = start_master(tmp_path)
    with master.connect() as m:
        build_dataset(m)
        call(m, "FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('f', function() return 1 end)")
    address = ["-h", master.host, "-p", str(master.port)]
    rdb = tmp_path / "dump.rdb"
    p = subprocess.run([redis_cli] + address + ["--rdb", str(rdb)], capture_output=True, timeout=TIMEOUT)
    assert p.returncode == 0, p.stderr
    assert b"Transfer finished with success" in p.stderr
    check = subprocess.run([require_tool("redis-check-rdb"), str(rdb)], capture_output=True, timeout=TIMEOUT)
    assert check.returncode == 0 and b"RDB looks OK!" in check.stdout, check.stdout
    functions = tmp_path / "functions.rdb"
    p = subprocess.run([redis_cli] + address + ["--functions-rdb", str(functions)], capture_output=True,
                       timeout=TIMEOUT)
    assert p.returncode == 0, p.stderr
    check = subprocess.run([require_tool("redis-check-rdb"), str(functions)], capture_output=True, timeout=TIMEOUT)
    assert check.returncode == 0 and b"[info] 0 keys read" in check.stdout, check.stdout
    # --replica: the stream as redis-cli prints it, after an empty RDB.
    stream = subprocess.Popen([redis_cli] + address + ["--replica"], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
    try:
        def attached():
            with master.connect() as m:
                return info(m, "replication")["connected_slaves"] == "1"

        wait_for(attached, "redis-cli --replica")
        with master.connect() as m:
            call(m, "SET", "streamed", "yes")
        time.sleep(1)
    finally:
        stream.kill()
        out = stream.communicate(timeout=TIMEOUT)[0]
    assert b"SYNC done after" in out and b'"SET","streamed","yes"' in out, out


def test_wait(tmp_path):
    master = start_master(tmp_path)
    with master.connect() as m:
        # No replica: the timeout passes, and the answer is 0.
        started = time.monotonic()
        assert call(m, "WAIT", 1, 200) == 0
        assert time.monotonic() - started >= 0.19
    replica = start_replica(tmp_path, master)
    same_data(master, replica)
    with master.connect() as m:
        call(m, "SET", "k", "v")
        # GETACK makes the replica answer at once, long before its once-a-second ACK could matter.
        started = time.monotonic()
        assert call(m, "WAIT", 1, 10000) == 1
        assert time.monotonic() - started < 2
        started = time.monotonic()
        assert call(m, "WAIT", 2, 300) == 1
        assert time.monotonic() - started >= 0.29
        # Inside MULTI a command may not block: WAIT answers at once (once the replica has acknowledged everything;
        # the cron's PINGs are off, so that the offset stays put).
        call(m, "CONFIG", "SET", "repl-ping-replica-period", "3600")
        wait_for(lambda: info(m, "replication")["slave0"].split(",offset=")[1].split(",")[0]
                 == info(m, "replication")["master_repl_offset"], "the replica's ACK")
        call(m, "MULTI")
        call(m, "WAIT", 5, 0)
        assert call(m, "EXEC") == [1]
        # A WAIT with no timeout that CLIENT UNBLOCK ends answers the count too.
        m.send_command("WAIT", 3, 0)
        with master.connect() as other:
            client_id = [line for line in call(other, "CLIENT", "LIST").decode().splitlines() if "cmd=wait" in line]
            wait_for_block = time.monotonic() + TIMEOUT
            while not client_id and time.monotonic() < wait_for_block:
                time.sleep(0.05)
                client_id = [line for line in call(other, "CLIENT", "LIST").decode().splitlines()
                             if "cmd=wait" in line]
            assert client_id
            assert call(other, "CLIENT", "UNBLOCK", client_id[0].split()[0].split("=")[1]) == 1
        assert m.read_reply().to_python() == 1


def test_publish_reaches_a_replicas_subscribers(tmp_path):
    master = start_master(tmp_path)
    replica = start_replica(tmp_path, master)
    same_data(master, replica)
    with replica.connect() as r:
        assert call(r, "SUBSCRIBE", "news") == [b"subscribe", b"news", 1]
        with master.connect() as m:
            call(m, "PUBLISH", "news", "hello")
        assert r.read_reply(timeout=TIMEOUT).to_python() == [b"message", b"news", b"hello"]
    same_data(master, replica)


def fake_replica(master, *replconf):
    """A socket that asks for a full sync and then reads nothing (a replica that stopped reading)."""
    conn = RespConnection(master.host, master.port, timeout=TIMEOUT)
    for args in replconf:
        assert conn.execute(*args).raw == b"+OK\r\n"
    conn.send_command("PSYNC", "?", "-1")
    return conn


def test_a_replica_that_stops_reading_its_rdb_is_dropped(tmp_path):
    master = start_master(tmp_path, "--repl-timeout", "2", "--enable-debug-command", "yes")
    with master.connect() as m:
        call(m, "DEBUG", "POPULATE", 300000, "key", 200)
    stalled = fake_replica(master, ("REPLCONF", "capa", "eof"))
    try:
        def dropped():
            with master.connect() as m:
                return info(m, "replication")["connected_slaves"] == "0"

        wait_for(dropped, "the stalled replica to be dropped", timeout=60)
        # "(full sync)" while its RDB is still being made, "(streaming sync)" when the whole RDB was already queued
        # for it and it never acknowledged it.
        assert "Disconnecting timedout replica" in master.log_tail(100000)
        with master.connect() as m:
            # The snapshot slot is free again.
            wait_for(lambda: info(m)["rdb_bgsave_in_progress"] == "0", "the transfer to stop")
            assert call(m, "BGSAVE") == "Background saving started"
    finally:
        stalled.close()


def test_a_disk_made_rdb_is_not_held_to_the_output_limit(tmp_path):
    master = start_master(tmp_path, "--repl-diskless-sync", "no", "--client-output-buffer-limit", "replica 1mb 0 0",
                          "--enable-debug-command", "yes")
    with master.connect() as m:
        call(m, "DEBUG", "POPULATE", 50000, "key", 100)
    replica = start_replica(tmp_path, master)
    same_data(master, replica)
    with master.connect() as m:
        assert info(m, "stats")["sync_full"] == "1"


def test_a_sync_does_not_make_the_master_evict(tmp_path):
    # An uncompressed RDB of about 25 MB: more than the kernel's socket buffers take, so part of it waits in the
    # replica's output while the replica does not read.
    master = start_master(tmp_path, "--repl-diskless-sync", "no", "--rdbcompression", "no",
                          "--enable-debug-command", "yes")
    with master.connect() as m:
        call(m, "DEBUG", "POPULATE", 200000, "key", 100)
    stalled = fake_replica(master)
    try:
        with master.connect() as m:
            wait_for(lambda: int(info(m, "memory")["mem_clients_slaves"]) > 4 * 1024 * 1024, "the RDB to pile up")
            assert "state=send_bulk" in info(m, "replication")["slave0"]
            # The limit sits 1 MB above what the data takes: counting the replica's output would be megabytes over.
            fields = info(m, "memory")
            data = int(fields["used_memory"]) - int(fields["mem_not_counted_for_evict"])
            call(m, "CONFIG", "SET", "maxmemory-policy", "allkeys-random")
            call(m, "CONFIG", "SET", "maxmemory", data + 1024 * 1024)
            call(m, "SET", "one", "more")
            assert info(m, "stats")["evicted_keys"] == "0"
            assert call(m, "DBSIZE") == 200001
    finally:
        stalled.close()


def test_flushall_during_a_sync_fails_it_at_once(tmp_path):
    master = start_master(tmp_path, "--rdb-key-save-delay", "2000", "--enable-debug-command", "yes")
    with master.connect() as m:
        call(m, "DEBUG", "POPULATE", 1000, "key", 10)
    replica = start_replica(tmp_path, master)
    with master.connect() as m:
        wait_for(lambda: info(m)["rdb_bgsave_in_progress"] == "1", "the sync's snapshot")
        # FLUSHALL while the slow snapshot runs (lifting the delay first would let a release build finish the
        # snapshot between the two commands); then the next sync may be quick.
        call(m, "FLUSHALL")
        call(m, "CONFIG", "SET", "rdb-key-save-delay", 0)
    # The replica is dropped and comes back for a new sync of the flushed data.
    same_data(master, replica)
    assert "SYNC failed. BGSAVE child returned an error" in master.log_tail(100000)
    with replica.connect() as r:
        assert call(r, "DBSIZE") == 0


def test_replicas_are_not_paused_timed_out_or_allowed_the_keyspace(tmp_path):
    master = start_master(tmp_path, "--repl-timeout", "3", "--timeout", "1")
    replica = start_replica(tmp_path, master)
    same_data(master, replica)
    with master.connect() as m:
        # CLIENT PAUSE holds clients, not the replica's ACKs: it stays connected through a pause longer than
        # repl-timeout; and the idle timeout (1 s) never closes it.
        call(m, "CLIENT", "PAUSE", 5000, "ALL")
    time.sleep(5.5)
    with master.connect() as m:
        fields = info(m, "replication")
        assert fields["connected_slaves"] == "1" and "state=online" in fields["slave0"]
        assert "timedout replica" not in master.log_tail(100000)
    # A replica's connection cannot touch the keyspace (its commands get no replies, so check the effect).
    conn = fake_replica(master, ("REPLCONF", "capa", "eof"))
    try:
        conn.send_command("SET", "fromreplica", "1")
        time.sleep(0.5)
        with master.connect() as m:
            assert call(m, "EXISTS", "fromreplica") == 0
    finally:
        conn.close()
