"""SAVE, BGSAVE, save points, loading at startup, SHUTDOWN/SIGTERM saves, MISCONF and INFO persistence.

The candidate binary comes from $SWIFTLET_SERVER_CMD (as every suite); each test starts its own servers with
`--dir` pointing at a private directory. A real redis-server 7.0 loads Swiftlet's dumps and produces dumps
Swiftlet loads; key-by-key comparisons use type-specific reads (test_rdb_interop.snapshot).
"""

import os
import signal
import subprocess
import threading
import time

from support.persistence import build_dataset, call, compare, info, snapshot, start_redis, start_swiftlet
from support.resp import RespError
from support.servers import candidate_argv, free_port, require_tool


def wait_bgsave(conn, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if info(conn)["rdb_bgsave_in_progress"] == "0":
            return
        time.sleep(0.02)
    raise AssertionError("BGSAVE did not finish")


def stop_gently(server):
    """SIGTERM and wait: the shutdown save (if any) completes."""
    server.proc.send_signal(signal.SIGTERM)
    server.proc.wait(timeout=60)


def test_save_then_restart_loads_the_same_data(tmp_path):
    server = start_swiftlet(tmp_path, "--save", "")
    try:
        with server.connect() as conn:
            build_dataset(conn)
            expected = snapshot(conn)
            assert call(conn, "SAVE") == "OK"
            assert info(conn)["rdb_changes_since_last_save"] == "0"
            last = call(conn, "LASTSAVE")
            assert abs(last - time.time()) < 5
    finally:
        server.stop()
    assert os.path.exists(tmp_path / "dump.rdb")
    check = subprocess.run([require_tool("redis-check-rdb"), str(tmp_path / "dump.rdb")], capture_output=True, text=True)
    assert "RDB looks OK" in check.stdout, check.stdout
    again = start_swiftlet(tmp_path, "--save", "")
    try:
        with again.connect() as conn:
            compare(expected, snapshot(conn))
            fields = info(conn)
            assert fields["rdb_last_load_keys_loaded"] == str(len(expected))
        assert "DB loaded from disk:" in again.log_tail()
    finally:
        again.stop()


def test_redis_dump_is_loaded_at_startup(tmp_path):
    redis = start_redis(tmp_path)
    try:
        with redis.connect() as conn:
            build_dataset(conn, seed=3)
            expected = snapshot(conn)
            assert call(conn, "SAVE") == "OK"
    finally:
        redis.stop()
    server = start_swiftlet(tmp_path, "--save", "")
    try:
        with server.connect() as conn:
            compare(expected, snapshot(conn))
    finally:
        server.stop()


def test_bgsave_dump_is_loaded_by_redis(tmp_path):
    server = start_swiftlet(tmp_path, "--save", "")
    try:
        with server.connect() as conn:
            build_dataset(conn, seed=4)
            expected = snapshot(conn)
            assert call(conn, "BGSAVE") == "Background saving started"
            wait_bgsave(conn)
            fields = info(conn)
            assert fields["rdb_last_bgsave_status"] == "ok"
            assert fields["rdb_saves"] == "1"
            assert fields["rdb_changes_since_last_save"] == "0"
    finally:
        server.stop()
    check = subprocess.run([require_tool("redis-check-rdb"), str(tmp_path / "dump.rdb")], capture_output=True, text=True)
    assert "RDB looks OK" in check.stdout, check.stdout
    redis = start_redis(tmp_path)
    try:
        with redis.connect() as conn:
            compare(expected, snapshot(conn))
    finally:
        redis.stop()


def test_bgsave_while_a_client_writes(tmp_path):
    """The file equals the keyspace at BGSAVE time, though writes keep being served while it is written."""
    n = 300000
    server = start_swiftlet(tmp_path, "--save", "")
    try:
        with server.connect() as conn:
            build_dataset(conn, seed=5)
            expected = snapshot(conn)
            # The bulk lives in db 2, outside the databases `snapshot` compares.
            call(conn, "SELECT", 2)
            for start in range(0, n, 10000):
                for i in range(start, start + 10000):
                    conn.send_command("SET", "p:%d" % i, "v:%d" % i)
                for i in range(start, start + 10000):
                    conn.read_reply()
            call(conn, "RPUSH", "growing", "first")
            stop = threading.Event()
            served = []

            def writer():
                with server.connect() as w:
                    call(w, "SELECT", 2)
                    i = 0
                    while not stop.is_set():
                        call(w, "SET", "p:%d" % (i * 7 % n), "changed")
                        call(w, "DEL", "p:%d" % (i * 13 % n + 1))
                        call(w, "SET", "new:%d" % i, "x")
                        call(w, "RPUSH", "growing", "more")
                        i += 1
                        served.append(i)

            thread = threading.Thread(target=writer)
            thread.start()
            while len(served) < 50:
                time.sleep(0.01)
            before = len(served)
            # The writer is paused for the instant the snapshot starts: the expected state is exact.
            stop.set()
            thread.join()
            # The state at BGSAVE time: the writer's operations replayed in order.
            override = {}
            for k in range(len(served)):
                override["p:%d" % (k * 7 % n)] = b"changed"
                override["p:%d" % (k * 13 % n + 1)] = None
            news = len(served)
            growing = call(conn, "LLEN", "growing")
            total = call(conn, "DBSIZE")
            assert call(conn, "BGSAVE") == "Background saving started"
            stop.clear()
            served.clear()
            thread = threading.Thread(target=writer)
            thread.start()
            wait_bgsave(conn)
            stop.set()
            thread.join()
            during = len(served)
            assert info(conn)["rdb_last_bgsave_status"] == "ok"
            assert before > 0 and during > 0, "writes were not served during BGSAVE"
    finally:
        server.stop()
    redis = start_redis(tmp_path)
    try:
        with redis.connect() as conn:
            compare(expected, snapshot(conn))
            call(conn, "SELECT", 2)
            assert call(conn, "DBSIZE") == total
            assert call(conn, "LLEN", "growing") == growing
            assert len(call(conn, "KEYS", "new:*")) == news
            keys = ["p:%d" % i for i in range(n)]
            for start in range(0, n, 5000):
                chunk = keys[start:start + 5000]
                values = call(conn, "MGET", *chunk)
                for key, value in zip(chunk, values):
                    assert value == override.get(key, ("v:" + key[2:]).encode()), key
    finally:
        redis.stop()


def test_save_points_trigger_a_background_save(tmp_path):
    server = start_swiftlet(tmp_path, "--save", "1 2")
    try:
        with server.connect() as conn:
            call(conn, "SET", "a", "1")
            time.sleep(2.5)
            assert info(conn)["rdb_saves"] == "0"  # one change is not enough
            call(conn, "SET", "b", "2")
            deadline = time.monotonic() + 10
            while info(conn)["rdb_saves"] == "0" and time.monotonic() < deadline:
                time.sleep(0.05)
            wait_bgsave(conn)
            fields = info(conn)
            assert fields["rdb_saves"] == "1"
            assert fields["rdb_changes_since_last_save"] == "0"
            assert fields["rdb_last_bgsave_status"] == "ok"
        assert "2 changes in 1 seconds. Saving..." in server.log_tail()
    finally:
        server.stop()
    assert os.path.exists(tmp_path / "dump.rdb")


def test_corrupt_dump_is_refused_and_left_untouched(tmp_path):
    redis = start_redis(tmp_path)
    try:
        with redis.connect() as conn:
            build_dataset(conn, seed=6)
            call(conn, "SAVE")
    finally:
        redis.stop()
    path = tmp_path / "dump.rdb"
    data = bytearray(path.read_bytes())
    offset = len(data) // 2
    data[offset] ^= 0xFF
    data = bytes(data[: len(data) - 20])  # and truncated
    path.write_bytes(data)
    mtime = os.stat(path).st_mtime_ns
    argv = candidate_argv(free_port()) + ["--dir", str(tmp_path)]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    message = out.stdout + out.stderr
    assert str(path) in message and "offset" in message, message
    assert path.read_bytes() == data and os.stat(path).st_mtime_ns == mtime
    assert not [f for f in os.listdir(tmp_path) if f.startswith("temp-")]


def test_shutdown_save_and_nosave_and_sigterm(tmp_path):
    # No save points: SHUTDOWN saves only with SAVE.
    server = start_swiftlet(tmp_path, "--save", "")
    with server.connect() as conn:
        call(conn, "SET", "k", "nosave")
        conn.send_command("SHUTDOWN")
    server.proc.wait(timeout=30)
    assert not os.path.exists(tmp_path / "dump.rdb")
    server.stop()
    server = start_swiftlet(tmp_path, "--save", "")
    with server.connect() as conn:
        call(conn, "SET", "k", "saved")
        conn.send_command("SHUTDOWN", "SAVE")
    server.proc.wait(timeout=30)
    server.stop()
    assert os.path.exists(tmp_path / "dump.rdb")
    # Save points: SIGTERM saves; SHUTDOWN NOSAVE does not.
    server = start_swiftlet(tmp_path, "--save", "3600 1")
    with server.connect() as conn:
        assert call(conn, "GET", "k") == b"saved"
        call(conn, "SET", "k", "sigterm")
    stop_gently(server)
    server.stop()
    server = start_swiftlet(tmp_path, "--save", "3600 1")
    with server.connect() as conn:
        assert call(conn, "GET", "k") == b"sigterm"
        call(conn, "SET", "k", "lost")
        conn.send_command("SHUTDOWN", "NOSAVE")
    server.proc.wait(timeout=30)
    server.stop()
    server = start_swiftlet(tmp_path, "--save", "")
    try:
        with server.connect() as conn:
            assert call(conn, "GET", "k") == b"sigterm"
            assert isinstance(call(conn, "SHUTDOWN", "SAVE", "NOSAVE"), RespError)
    finally:
        server.stop()


def persistence_errors(conn, bad_dir, good_dir):
    """Replies of a failed BGSAVE and what follows (MISCONF), then recovery."""
    out = []
    out.append(call(conn, "CONFIG", "SET", "dir", bad_dir))
    os.rmdir(bad_dir)
    out.append(call(conn, "BGSAVE"))
    wait_bgsave(conn)
    out.append(info(conn)["rdb_last_bgsave_status"])
    for cmd in (["SET", "a", "1"], ["PING"], ["GET", "a"], ["ECHO", "x"], ["INCR", "n"]):
        out.append(call(conn, *cmd))
    call(conn, "MULTI")
    out.append(call(conn, "SET", "a", "1"))
    out.append(call(conn, "EXEC"))
    call(conn, "MULTI")
    out.append(call(conn, "GET", "a"))
    out.append(call(conn, "EXEC"))
    out.append(call(conn, "CONFIG", "SET", "stop-writes-on-bgsave-error", "no"))
    out.append(call(conn, "SET", "a", "1"))
    out.append(call(conn, "CONFIG", "SET", "stop-writes-on-bgsave-error", "yes"))
    out.append(call(conn, "SET", "a", "1"))
    out.append(call(conn, "CONFIG", "SET", "dir", good_dir))
    out.append(call(conn, "SAVE"))
    out.append(info(conn)["rdb_last_bgsave_status"])
    out.append(call(conn, "SET", "a", "2"))
    out.append(call(conn, "PING"))
    out.append(call(conn, "BGSAVE", "SCHEDULE", "X"))
    out.append(call(conn, "BGSAVE", "NOW"))
    out.append(call(conn, "SAVE", "X"))
    call(conn, "MULTI")
    out.append(call(conn, "SAVE"))
    out.append(call(conn, "EXEC"))
    call(conn, "MULTI")
    out.append(call(conn, "BGSAVE"))
    out.append(call(conn, "EXEC"))
    wait_bgsave(conn)
    return out


def test_failed_bgsave_misconf_matches_redis(tmp_path):
    results = []
    for name in ("redis", "swiftlet"):
        good = tmp_path / (name + "-good")
        bad = tmp_path / (name + "-bad")
        os.makedirs(good)
        os.makedirs(bad)
        if name == "redis":
            server = start_redis(good, "--save", "3600 1", "--enable-protected-configs", "yes")
        else:
            server = start_swiftlet(good, "--save", "3600 1", "--enable-protected-configs", "yes")
        try:
            with server.connect() as conn:
                results.append(persistence_errors(conn, str(bad), str(good)))
        finally:
            server.stop()
    assert results[1] == results[0]
    # The path under test was taken: the save failed and writes were refused.
    assert results[0][2] == "err" and str(results[0][3]).startswith("MISCONF ")


def test_bgsave_in_progress_errors_and_info(tmp_path):
    server = start_swiftlet(tmp_path, "--save", "", "--rdb-key-save-delay", "200000")
    try:
        with server.connect() as conn:
            for i in range(20):
                call(conn, "SET", "k%d" % i, "v")
            assert call(conn, "BGSAVE") == "Background saving started"
            fields = info(conn)
            assert fields["rdb_bgsave_in_progress"] == "1"
            assert fields["current_save_keys_total"] == "20"
            assert fields["rdb_current_bgsave_time_sec"] in ("0", "1")
            assert str(call(conn, "BGSAVE")) == "ERR Background save already in progress"
            assert str(call(conn, "BGSAVE", "SCHEDULE")) == "ERR Background save already in progress"
            assert str(call(conn, "SAVE")) == "ERR Background save already in progress"
            assert call(conn, "SET", "during", "yes") == "OK"
            assert call(conn, "PING") == "PONG"
            # FLUSHALL stops the background save (no save points: nothing is saved).
            assert call(conn, "FLUSHALL") == "OK"
            fields = info(conn)
            assert fields["rdb_bgsave_in_progress"] == "0"
            assert fields["rdb_last_bgsave_status"] == "ok"
            assert not [f for f in os.listdir(tmp_path) if f.startswith("temp-")]
    finally:
        server.stop()


def test_debug_reload(tmp_path):
    server = start_swiftlet(tmp_path, "--save", "", "--enable-debug-command", "yes")
    try:
        with server.connect() as conn:
            build_dataset(conn, seed=7)
            expected = snapshot(conn)
            assert call(conn, "DEBUG", "RELOAD") == "OK"
            compare(expected, snapshot(conn))
            assert str(call(conn, "DEBUG", "RELOAD", "BOGUS")) == (
                "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options."
            )
    finally:
        server.stop()
