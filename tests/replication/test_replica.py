"""Swiftlet as a replica (issue 21, replica side), with real redis-server 7.0 masters and sub-replicas.

Each test starts its own servers on free loopback ports:
* a Swiftlet replica of a redis-server master: full sync (diskless and from disk) of a dataset of every type in
  several databases, then the stream; every key compared (type, encoding, content, expiry) once the offsets agree;
* partial resync after the master drops the link (CLIENT KILL TYPE replica);
* chained: redis-server master -> Swiftlet replica -> redis-server sub-replica, which gets the master's stream
  unchanged through Swiftlet (same replication id and offsets);
* promotion: REPLICAOF NO ONE on the Swiftlet replica, and the master's other replica continuing from it with a
  partial resync (the second replication id); and a Swiftlet replica following a promoted redis-server replica;
* a Swiftlet replica of a Swiftlet master;
* READONLY, MASTERDOWN, WAIT on a replica, REPLICAOF's replies and errors, INFO replication and ROLE in Redis's
  form, compared with a redis-server replica in the same position.
"""

import os
import re
import signal
import time

import pytest

from support.persistence import build_dataset, call, info, start_redis, start_swiftlet
from support.replication import caught_up, new_dir, replication, same_data, wait_for
from support.resp import ConnectionClosed, encode_command
from support.servers import ServerProcess, candidate_argv
from test_master import writes


def redis_master(tmp_path, *extra, name="master"):
    return start_redis(new_dir(tmp_path, name), "--repl-diskless-sync-delay", "0", *extra)


def swiftlet_replica(tmp_path, master, name="replica", *extra):
    return start_swiftlet(new_dir(tmp_path, name), "--replicaof", master.host, master.port, *extra)


def redis_replica(tmp_path, master, name="redis-replica", *extra):
    return start_redis(new_dir(tmp_path, name), "--replicaof", master.host, master.port, *extra)


def stats(server):
    with server.connect() as c:
        fields = info(c, "stats")
    return fields["sync_full"], fields["sync_partial_ok"], fields["sync_partial_err"]


@pytest.mark.parametrize("diskless", ["yes", "no"])
def test_swiftlet_replica_of_a_redis_master(tmp_path, diskless):
    master = redis_master(tmp_path, "--repl-diskless-sync", diskless)
    with master.connect() as m:
        build_dataset(m)
    replica = swiftlet_replica(tmp_path, master)
    same_data(master, replica)
    with master.connect() as m:
        writes(m)
    same_data(master, replica)
    assert stats(master)[:1] == ("1",)
    log = replica.log_tail(100000)
    assert "MASTER <-> REPLICA sync: Finished with success" in log
    fields = replication(replica)
    assert fields["master_replid"] == replication(master)["master_replid"]
    assert fields["role"] == "slave" and fields["master_port"] == str(master.port)
    # The master sees the replica's listening port and its ACKs.
    wait_for(lambda: ",state=online," in replication(master).get("slave0", ""), "the master to see the replica")
    assert "port=%d," % replica.port in replication(master)["slave0"]


def test_partial_resync_after_the_master_drops_the_link(tmp_path):
    master = redis_master(tmp_path)
    with master.connect() as m:
        build_dataset(m)
    replica = swiftlet_replica(tmp_path, master)
    same_data(master, replica)
    with master.connect() as m:
        assert call(m, "CLIENT", "KILL", "TYPE", "replica") == 1
        for i in range(100):
            call(m, "SET", "during:%d" % i, i)
    same_data(master, replica)
    assert stats(master)[:2] == ("1", "1")
    assert "Successful partial resynchronization with master." in replica.log_tail(100000)


def test_the_replica_drops_its_master_link_and_continues(tmp_path):
    master = redis_master(tmp_path)
    replica = swiftlet_replica(tmp_path, master)
    same_data(master, replica)
    with replica.connect() as r:
        clients = call(r, "CLIENT", "LIST", "TYPE", "master").decode()
        assert clients.count("\n") == 1 and " flags=M " in clients
        assert call(r, "CLIENT", "KILL", "TYPE", "master") == 1
    with master.connect() as m:
        call(m, "SET", "after", "kill")
    same_data(master, replica)
    assert stats(master)[:2] == ("1", "1")


def test_chained_replica_gets_the_masters_stream_through_swiftlet(tmp_path):
    master = redis_master(tmp_path)
    with master.connect() as m:
        build_dataset(m)
    middle = swiftlet_replica(tmp_path, master, "middle", "--repl-diskless-sync-delay", "0")
    same_data(master, middle)
    leaf = redis_replica(tmp_path, middle, "leaf")
    same_data(middle, leaf)
    with master.connect() as m:
        writes(m)
    same_data(master, middle)
    same_data(master, leaf)
    # One history: the leaf follows the master's replication id and offsets.
    assert replication(leaf)["master_replid"] == replication(master)["master_replid"]
    assert replication(leaf)["master_repl_offset"] == replication(master)["master_repl_offset"]
    # The leaf drops its link to the middle and continues from the middle's backlog.
    with middle.connect() as r:
        assert call(r, "CLIENT", "KILL", "TYPE", "replica") == 1
    with master.connect() as m:
        call(m, "SET", "after", "leaf")
    same_data(master, leaf)
    assert stats(middle)[:2] == ("1", "1")


def test_promoted_swiftlet_replica_is_continued_by_the_other_replica(tmp_path):
    master = redis_master(tmp_path)
    with master.connect() as m:
        build_dataset(m)
    promoted = swiftlet_replica(tmp_path, master, "promoted", "--repl-diskless-sync-delay", "0")
    other = redis_replica(tmp_path, master, "other")
    same_data(master, promoted)
    same_data(master, other)
    old_id = replication(master)["master_replid"]
    master.stop()
    with promoted.connect() as p:
        assert call(p, "REPLICAOF", "NO", "ONE") == "OK"
        fields = info(p, "replication")
        assert fields["role"] == "master" and fields["master_replid2"] == old_id
        assert int(fields["second_repl_offset"]) == int(fields["master_repl_offset"]) + 1
        call(p, "SET", "written", "on the new master")
    with other.connect() as o:
        assert call(o, "REPLICAOF", promoted.host, promoted.port) == "OK"
    same_data(promoted, other)
    # The other replica continued the old master's history from the promoted one's backlog.
    assert stats(promoted) == ("0", "1", "0")
    with promoted.connect() as p:
        assert call(p, "ROLE")[0] == b"master"


def test_swiftlet_replica_follows_a_promoted_redis_replica(tmp_path):
    master = redis_master(tmp_path)
    with master.connect() as m:
        build_dataset(m)
    promoted = redis_replica(tmp_path, master, "promoted")
    follower = swiftlet_replica(tmp_path, master, "follower")
    same_data(master, promoted)
    same_data(master, follower)
    master.stop()
    with promoted.connect() as p:
        call(p, "REPLICAOF", "NO", "ONE")
        call(p, "SET", "written", "on the new master")
    with follower.connect() as f:
        assert call(f, "REPLICAOF", promoted.host, promoted.port) == "OK"
    same_data(promoted, follower)
    assert stats(promoted) == ("0", "1", "0")


def test_swiftlet_replica_of_a_swiftlet_master(tmp_path):
    master = start_swiftlet(new_dir(tmp_path, "master"), "--repl-diskless-sync-delay", "0")
    with master.connect() as m:
        build_dataset(m)
    replica = swiftlet_replica(tmp_path, master)
    same_data(master, replica)
    with master.connect() as m:
        writes(m)
    same_data(master, replica)
    # A master that becomes a replica continues its own history (PSYNC with its id and offset).
    with replica.connect() as r:
        call(r, "REPLICAOF", "NO", "ONE")
    with master.connect() as m:
        assert call(m, "REPLICAOF", replica.host, replica.port) == "OK"
    same_data(replica, master)
    assert stats(replica)[:2] == ("0", "1")


def test_a_master_that_becomes_a_replica_takes_its_replicas_along(tmp_path):
    master = start_swiftlet(new_dir(tmp_path, "master"), "--repl-diskless-sync-delay", "0")
    with master.connect() as m:
        build_dataset(m)
    replica = redis_replica(tmp_path, master)
    same_data(master, replica)
    other = redis_master(tmp_path, name="other")
    with other.connect() as o:
        call(o, "SET", "from", "other")
    with master.connect() as m:
        assert call(m, "REPLICAOF", other.host, other.port) == "OK"
    same_data(other, master)
    same_data(other, replica)


def test_blocked_clients_are_let_go_and_closed_when_the_master_becomes_a_replica(tmp_path):
    """Redis's disconnectAllBlockedClients: a client in BLPOP, and one in WAIT, get -UNBLOCKED ... (master ->
    replica?) and their connections are closed after it; the same steps against a redis-server and a Swiftlet."""
    master = redis_master(tmp_path)
    outcomes = []
    for name, start in (("redis", start_redis), ("swiftlet", start_swiftlet)):
        server = start(new_dir(tmp_path, name))
        with server.connect() as popper, server.connect() as waiter, server.connect() as c:
            popper.send_command("BLPOP", "list", 0)
            waiter.send_command("WAIT", 1, 0)
            wait_for(lambda: info(c, "clients")["blocked_clients"] == "2", "two blocked clients")
            assert call(c, "REPLICAOF", master.host, master.port) == "OK"
            seen = []
            for conn in (popper, waiter):
                seen.append(conn.read_reply(timeout=10).to_python())
                try:
                    conn.read_reply(timeout=10)
                    seen.append("open")
                except ConnectionClosed:
                    seen.append("closed")
            outcomes.append(seen)
    assert outcomes[1] == outcomes[0]
    assert outcomes[0][1] == "closed"


def test_replica_refusals_match_redis(tmp_path):
    master = redis_master(tmp_path)
    swiftlet = swiftlet_replica(tmp_path, master)
    redis = redis_replica(tmp_path, master)
    same_data(master, swiftlet)
    same_data(master, redis)
    requests = [
        ["SET", "k", "v"],
        ["EVAL", "return redis.call('SET', 'k', 'v')", 0],
        ["WAIT", 1, 0],
        ["MULTI"],
        ["INCR", "k"],
        ["EXEC"],
        ["REPLICAOF", master.host, master.port],
        ["REPLICAOF", master.host, "notaport"],
        ["REPLICAOF", master.host, "70000"],
        ["SLAVEOF", master.host, "-1"],
        ["REPLICAOF", "a"],
    ]
    with swiftlet.connect() as s, redis.connect() as r:
        for request in requests:
            assert s.execute(*request).raw == r.execute(*request).raw, request
    # The link is down and stale data is refused: MASTERDOWN, except for the commands flagged stale.
    master.stop()
    for server in (swiftlet, redis):
        wait_for(lambda: replication(server)["master_link_status"] == "down", "the link to go down")
    with swiftlet.connect() as s, redis.connect() as r:
        for conn in (s, r):
            call(conn, "CONFIG", "SET", "replica-serve-stale-data", "no")
        for request in (["GET", "k"], ["PING"], ["INFO", "server"], ["DBSIZE"]):
            sr, rr = s.execute(*request).raw, r.execute(*request).raw
            if request[0] == "INFO":
                assert sr.startswith(b"$") and rr.startswith(b"$")
            else:
                assert sr == rr, request


def test_info_and_role_of_a_replica(tmp_path):
    master = redis_master(tmp_path)
    replica = swiftlet_replica(tmp_path, master)
    same_data(master, replica)
    fields = replication(replica)
    names = [name for name in fields]
    assert names[:12] == ["role", "master_host", "master_port", "master_link_status", "master_last_io_seconds_ago",
                          "master_sync_in_progress", "slave_read_repl_offset", "slave_repl_offset", "slave_priority",
                          "slave_read_only", "replica_announced", "connected_slaves"]
    assert fields["master_sync_in_progress"] == "0" and fields["slave_read_only"] == "1"
    with replica.connect() as r:
        role = call(r, "ROLE")
        assert role[:4] == [b"slave", master.host.encode(), master.port, b"connected"]
        assert role[4] == int(fields["slave_repl_offset"])
    master.stop()
    wait_for(lambda: replication(replica)["master_link_status"] == "down", "the link to go down")
    fields = replication(replica)
    assert re.fullmatch(r"\d+", fields["master_link_down_since_seconds"])
    with replica.connect() as r:
        assert call(r, "ROLE")[3] in (b"connect", b"connecting")
        assert call(r, "REPLICAOF", "NO", "ONE") == "OK"
        assert call(r, "ROLE")[0] == b"master"
        assert call(r, "SET", "k", "v") == "OK"


def test_expired_keys_stay_until_the_master_deletes_them(tmp_path):
    master = redis_master(tmp_path, "--enable-debug-command", "yes")
    replica = swiftlet_replica(tmp_path, master)
    same_data(master, replica)
    with master.connect() as m:
        call(m, "DEBUG", "SET-ACTIVE-EXPIRE", "0")
        call(m, "SET", "short", "v", "PX", "200")
    wait_for(lambda: caught_up(master, replica), "the replica")
    time.sleep(0.4)
    with replica.connect() as r:
        # Expired for readers, but still stored: only the master's DEL removes it.
        assert call(r, "GET", "short") is None
        assert call(r, "EXISTS", "short") == 0
        assert call(r, "DBSIZE") == 1
    with master.connect() as m:
        assert call(m, "GET", "short") is None  # the master expires it and propagates DEL
    wait_for(lambda: caught_up(master, replica), "the replica")
    with replica.connect() as r:
        assert call(r, "DBSIZE") == 0


def restart_swiftlet(server, directory, *extra):
    """The same server again: same port, same directory (its RDB), new process."""
    with server.connect() as c:
        try:
            c.execute("SHUTDOWN", "SAVE")
        except Exception:
            pass
    server.stop()
    argv = candidate_argv(server.port) + ["--dir", str(directory)] + [str(a) for a in extra]
    return ServerProcess("swiftlet-restarted", argv, server.port).start()


def test_partial_resync_continues_in_the_streams_database(tmp_path):
    master = redis_master(tmp_path)
    replica = swiftlet_replica(tmp_path, master)
    same_data(master, replica)
    with master.connect() as m:
        call(m, "SELECT", 3)
        call(m, "SET", "before", "1")
        wait_for(lambda: caught_up(master, replica), "the replica")
        assert call(m, "CLIENT", "KILL", "TYPE", "replica") == 1
        # The master goes on in database 3 without a new SELECT: the replica must continue there.
        call(m, "SET", "after", "2")
    same_data(master, replica)
    with replica.connect() as r:
        call(r, "SELECT", 3)
        assert call(r, "GET", "after") == b"2"
    assert stats(master)[:2] == ("1", "1")


def test_a_restarted_replica_continues_from_its_rdb(tmp_path):
    master = redis_master(tmp_path)
    with master.connect() as m:
        build_dataset(m)
    directory = tmp_path / "replica"
    replica = swiftlet_replica(tmp_path, master)
    same_data(master, replica)
    with master.connect() as m:
        call(m, "SELECT", 2)
        call(m, "SET", "in2", "x")
    same_data(master, replica)
    replica = restart_swiftlet(replica, directory, "--replicaof", master.host, master.port)
    with master.connect() as m:
        call(m, "SET", "in2:after", "y")
    same_data(master, replica)
    # The RDB's repl-id / repl-offset / repl-stream-db let the restarted replica continue.
    assert stats(master)[:2] == ("1", "1")
    assert "Trying a partial resynchronization" in replica.log_tail(100000)


def test_a_restarted_master_keeps_its_history_as_the_second_id(tmp_path):
    directory = new_dir(tmp_path, "master")
    master = start_swiftlet(directory, "--repl-diskless-sync-delay", "0", "--enable-debug-command", "yes")
    with master.connect() as m:
        build_dataset(m)
    replica = redis_replica(tmp_path, master)
    same_data(master, replica)
    with master.connect() as m:
        # A key that expires while the master is down (nothing reads it, active expiry is off): its restart deletes
        # it in the stream too.
        call(m, "DEBUG", "SET-ACTIVE-EXPIRE", "0")
        call(m, "SET", "short", "v", "PX", 100)
    wait_for(lambda: caught_up(master, replica), "the replica")
    time.sleep(0.3)
    with replica.connect() as r:
        dbsize = call(r, "DBSIZE")
    old_id = replication(master)["master_replid"]
    master = restart_swiftlet(master, directory, "--repl-diskless-sync-delay", "0")
    wait_for(lambda: caught_up(master, replica), "the replica")
    with replica.connect() as r:
        assert call(r, "DBSIZE") == dbsize - 1
    fields = replication(master)
    assert fields["master_replid2"] == old_id
    # The old history is valid up to where it stopped; the deletion of the expired key follows it.
    assert int(fields["second_repl_offset"]) == int(fields["master_repl_offset"]) + 1 - len(
        b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*2\r\n$3\r\nDEL\r\n$5\r\nshort\r\n")
    with master.connect() as m:
        call(m, "SET", "after", "restart")
    same_data(master, replica)
    assert stats(master) == ("0", "1", "0")


@pytest.mark.parametrize("target", ["swiftlet", "redis"])
def test_failover_to_a_named_replica(tmp_path, target):
    master = start_swiftlet(new_dir(tmp_path, "master"), "--repl-diskless-sync-delay", "0")
    with master.connect() as m:
        build_dataset(m)
    chosen = (swiftlet_replica if target == "swiftlet" else redis_replica)(tmp_path, master, "chosen")
    other = redis_replica(tmp_path, master, "other")
    same_data(master, chosen)
    same_data(master, other)
    with master.connect() as m:
        assert call(m, "FAILOVER", "TO", chosen.host, chosen.port, "TIMEOUT", 5000) == "OK"
    wait_for(lambda: replication(chosen)["role"] == "master", "the target to take over")
    wait_for(lambda: replication(master).get("master_link_status") == "up", "the old master to follow it")
    assert replication(master)["master_failover_state"] == "no-failover"
    with other.connect() as o:
        call(o, "REPLICAOF", chosen.host, chosen.port)
    with chosen.connect() as c:
        call(c, "SET", "after", "failover")
    same_data(chosen, master)
    same_data(chosen, other)
    # Both followed the history on: partial resyncs only.
    assert stats(chosen) == ("0", "2", "0")


def test_failover_errors_match_redis(tmp_path):
    results = {}
    for kind in ("redis", "swiftlet"):
        directory = new_dir(tmp_path, "master-" + kind)
        start = start_swiftlet if kind == "swiftlet" else start_redis
        master = start(directory, "--repl-diskless-sync-delay", "0")
        replies = []
        with master.connect() as m:
            for request in (["FAILOVER", "ABORT"], ["FAILOVER"], ["FAILOVER", "TIMEOUT", "0"],
                            ["FAILOVER", "TIMEOUT", "x"], ["FAILOVER", "FORCE"], ["FAILOVER", "TO", "h", "p"],
                            ["FAILOVER", "bogus"]):
                replies.append(m.execute(*request).raw)
        replica = redis_replica(tmp_path, master, "replica-" + kind)
        wait_for(lambda: caught_up(master, replica), "the replica")
        with master.connect() as m:
            for request in (["FAILOVER", "FORCE"], ["FAILOVER", "TO", "127.0.0.1", "1", "TIMEOUT", "10"],
                            ["FAILOVER", "TO", "127.0.0.1", "1"]):
                replies.append(m.execute(*request).raw)
            # Waits for ever for a replica that cannot catch up? No: it is caught up, so it fails over; abort
            # first while the writes are paused.
        with replica.connect() as r:
            replies.append(r.execute("FAILOVER").raw)
            replies.append(r.execute("PSYNC", "0" * 40, "1", "FAILOVER").raw)
        results[kind] = replies
        replica.stop()
        master.stop()
    assert results["swiftlet"] == results["redis"]


def test_a_writable_replica_expires_the_keys_its_clients_set(tmp_path):
    master = redis_master(tmp_path)
    replica = swiftlet_replica(tmp_path, master, "replica", "--replica-read-only", "no")
    same_data(master, replica)
    with replica.connect() as r:
        call(r, "SELECT", 5)
        for i in range(3):
            assert call(r, "SET", "key%d" % i, i, "PX", 300) == "OK"
        assert info(r, "stats")["slave_expires_tracked_keys"] == "3"
        # Its own keys expire on their own (the master knows nothing of them); the cron runs once a second.
        wait_for(lambda: call(r, "DBSIZE") == 0, "the replica's own keys to expire", timeout=5)
        assert info(r, "stats")["slave_expires_tracked_keys"] == "0"


def test_client_pause_during_a_failover_waits_aside(tmp_path):
    master = start_swiftlet(new_dir(tmp_path, "master"), "--repl-diskless-sync-delay", "0")
    # A replica that never catches up (stopped), so that the failover keeps waiting with writes paused.
    replica = redis_replica(tmp_path, master)
    wait_for(lambda: caught_up(master, replica), "the replica")
    os.kill(replica.proc.pid, signal.SIGSTOP)
    try:
        with master.connect() as m, master.connect() as writer, master.connect() as other:
            call(m, "SET", "moved", "offset")
            assert call(m, "FAILOVER", "TIMEOUT", 60000) == "OK"
            # CLIENT PAUSE and UNPAUSE change only the client pause: the failover still holds writes. (A pause of
            # ALL holds UNPAUSE too, as in Redis, until its 100 ms are over.)
            assert call(m, "CLIENT", "PAUSE", 100) == "OK"
            assert call(m, "CLIENT", "UNPAUSE") == "OK"
            assert replication(master)["master_failover_state"] == "waiting-for-sync"
            writer.send_raw(encode_command(["SET", "held", "1"]))
            time.sleep(0.3)
            assert call(other, "GET", "held") is None
            assert call(other, "FAILOVER", "ABORT") == "OK"
            # The write held by the failover's pause runs once it is aborted.
            assert writer.read_reply().to_python() == "OK"
            assert call(other, "GET", "held") == b"1"
    finally:
        os.kill(replica.proc.pid, signal.SIGCONT)
