"""SHUTDOWN on a master with replicas (Redis 7.0's shutdown-timeout): the master pauses writes and waits for its
replicas to acknowledge the whole stream before it stops, at most `shutdown-timeout` seconds; SHUTDOWN NOW does not
wait; SHUTDOWN ABORT ends the wait (the waiting client gets the error). The same steps run against a redis-server
master and a Swiftlet master, with a real redis-server replica stopped (SIGSTOP) so that it lags."""

import os
import signal
import socket
import threading
import time

import pytest

from support.persistence import call, info, start_redis, start_swiftlet
from support.replication import TIMEOUT, wait_for
from support.resp import encode_command

def start_master(kind, tmp_path, *extra):
    directory = tmp_path / ("master-" + kind)
    directory.mkdir()
    start = start_swiftlet if kind == "swiftlet" else start_redis
    return start(directory, "--repl-diskless-sync-delay", "0", *extra)


def start_replica(tmp_path, master):
    directory = tmp_path / "replica"
    directory.mkdir()
    return start_redis(directory, "--replicaof", master.host, master.port)


def in_sync(master, replica):
    with master.connect() as m:
        fields = info(m, "replication")
    return ",state=online," in fields.get("slave0", "") and \
        fields["slave0"].split(",offset=")[1].split(",")[0] == fields["master_repl_offset"]


def raw_request(server, *args, timeout=15):
    """Sends one request on a fresh socket; returns what came back before the connection closed (or the timeout)."""
    s = socket.create_connection((server.host, server.port), timeout=timeout)
    s.sendall(encode_command([str(a) for a in args]))
    data = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
            if data.endswith(b"\r\n"):
                break
    except socket.timeout:
        data += b"<timeout>"
    finally:
        s.close()
    return data


@pytest.mark.parametrize("kind", ["redis", "swiftlet"])
def test_shutdown_waits_for_a_lagging_replica(tmp_path, kind):
    master = start_master(kind, tmp_path)
    replica = start_replica(tmp_path, master)
    wait_for(lambda: in_sync(master, replica), "the replica")
    os.kill(replica.proc.pid, signal.SIGSTOP)
    try:
        with master.connect() as m:
            for i in range(50):
                call(m, "SET", "k:%d" % i, i)
        result = {}
        started = time.monotonic()
        waiter = threading.Thread(target=lambda: result.setdefault("reply", raw_request(master, "SHUTDOWN")))
        waiter.start()
        time.sleep(1.0)
        # Still waiting: the server answers, and refuses nothing but writes, which wait.
        assert master.alive()
        with master.connect() as m:
            assert int(info(m, "server").get("shutdown_in_milliseconds", "0")) > 0
    finally:
        os.kill(replica.proc.pid, signal.SIGCONT)
    waiter.join(TIMEOUT)
    assert result["reply"] == b""  # the connection closed with the server
    wait_for(lambda: not master.alive(), "the master to exit")
    assert time.monotonic() - started < 9  # well before shutdown-timeout (10 s)
    with replica.connect() as r:
        assert call(r, "DBSIZE") == 50


@pytest.mark.parametrize("kind", ["redis", "swiftlet"])
def test_shutdown_timeout_then_abort_and_now(tmp_path, kind):
    master = start_master(kind, tmp_path, "--shutdown-timeout", "1")
    replica = start_replica(tmp_path, master)
    wait_for(lambda: in_sync(master, replica), "the replica")
    os.kill(replica.proc.pid, signal.SIGSTOP)
    try:
        with master.connect() as m:
            call(m, "SET", "k", "v")
            assert m.execute("SHUTDOWN", "ABORT").raw == b"-ERR No shutdown in progress.\r\n"
            assert m.execute("MULTI").raw == b"+OK\r\n"
            assert m.execute("SHUTDOWN").raw == b"-ERR Command not allowed inside a transaction\r\n"
            assert m.execute("DISCARD").raw == b"+OK\r\n"
        # ABORT while a SHUTDOWN waits: the waiting client gets the error, writes go on.
        result = {}
        waiter = threading.Thread(target=lambda: result.setdefault("reply", raw_request(master, "SHUTDOWN")))
        waiter.start()
        time.sleep(0.3)
        with master.connect() as m:
            assert m.execute("SHUTDOWN", "ABORT").raw == b"+OK\r\n"
        waiter.join(TIMEOUT)
        assert result["reply"] == b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n"
        with master.connect() as m:
            assert call(m, "SET", "after", "abort") == "OK"
        # The timeout: the server stops after shutdown-timeout although the replica lags.
        started = time.monotonic()
        assert raw_request(master, "SHUTDOWN") == b""
        wait_for(lambda: not master.alive(), "the master to exit")
        assert 0.8 < time.monotonic() - started < 5
        assert "Lagging replica" in master.log_tail(100000)
    finally:
        os.kill(replica.proc.pid, signal.SIGCONT)


@pytest.mark.parametrize("kind", ["redis", "swiftlet"])
def test_shutdown_now_does_not_wait(tmp_path, kind):
    master = start_master(kind, tmp_path)
    replica = start_replica(tmp_path, master)
    wait_for(lambda: in_sync(master, replica), "the replica")
    os.kill(replica.proc.pid, signal.SIGSTOP)
    try:
        with master.connect() as m:
            call(m, "SET", "k", "v")
        started = time.monotonic()
        assert raw_request(master, "SHUTDOWN", "NOW") == b""
        wait_for(lambda: not master.alive(), "the master to exit")
        assert time.monotonic() - started < 3
    finally:
        os.kill(replica.proc.pid, signal.SIGCONT)
