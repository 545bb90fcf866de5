"""Scripting through redis-py and from several connections: redis-py's Lock (acquire / extend / reacquire / release,
mutual exclusion under contention), register_script (EVALSHA falling back after SCRIPT FLUSH), scripts in pipelines
and transactions, functions (FUNCTION LOAD/DUMP/RESTORE, FCALL/FCALL_RO), and long-running scripts (BUSY replies,
SCRIPT KILL / FUNCTION KILL, UNKILLABLE).

Every test runs against real Redis too (parametrized "reference"), which shows that the expectations are right;
the "candidate" runs are the ones that test Swiftlet.
"""

import contextlib
import hashlib
import threading
import time

import pytest

from support.resp import RespConnection

redis = pytest.importorskip("redis")
from redis.exceptions import LockError, LockNotOwnedError, NoScriptError, ResponseError  # noqa: E402

SIDES = ["reference", "candidate"]


def _client(server, protocol=2, **kw):
    kw.setdefault("socket_timeout", 20)
    kw.setdefault("socket_connect_timeout", 10)
    return redis.Redis(host=server.host, port=server.port, protocol=protocol, **kw)


@pytest.fixture(params=SIDES)
def server(request):
    return request.getfixturevalue(request.param + "_server")


@pytest.fixture
def r(server):
    c = _client(server)
    c.flushall()
    c.script_flush()
    c.function_flush()
    yield c
    c.close()


# ---------------------------------------------------------------------------
# Lock


def test_lock_acquire_extend_reacquire_release(r):
    lock = r.lock("res", timeout=5)
    assert lock.acquire(blocking=False) is True
    assert lock.locked() and lock.owned()
    token = lock.local.token
    assert r.get("res") == token
    assert 4000 < r.pttl("res") <= 5000

    other = r.lock("res", timeout=5)
    assert other.acquire(blocking=False) is False
    assert other.locked() and not other.owned()

    assert lock.extend(10) is True                      # adds to the remaining TTL
    assert 14000 < r.pttl("res") <= 15000
    assert lock.extend(2, replace_ttl=True) is True     # replaces it
    assert 1000 < r.pttl("res") <= 2000
    assert lock.reacquire() is True                     # back to the lock's timeout
    assert 4000 < r.pttl("res") <= 5000

    # a foreign token can neither extend, reacquire nor release the lock
    other.local.token = b"not-the-owner"
    with pytest.raises(LockNotOwnedError):
        other.extend(5)
    with pytest.raises(LockNotOwnedError):
        other.reacquire()
    with pytest.raises(LockNotOwnedError):
        other.release()
    assert r.get("res") == token

    lock.release()
    assert not lock.locked()
    assert r.exists("res") == 0
    with pytest.raises(LockError):
        lock.release()                                  # not held any more
    assert other.acquire(blocking=False) is True        # free again
    other.release()


def test_lock_expiry_loses_ownership(r):
    lock = r.lock("exp", timeout=0.2)
    assert lock.acquire(blocking=False)
    time.sleep(0.4)
    assert not lock.locked()
    with pytest.raises(LockNotOwnedError):
        lock.release()
    assert lock.acquire(blocking=False)
    time.sleep(0.4)
    with pytest.raises(LockNotOwnedError):
        lock.extend(1)
    with pytest.raises(LockNotOwnedError):
        lock.reacquire()


def test_lock_without_timeout_and_context_manager(r):
    with r.lock("cm") as lock:
        assert lock.owned()
        assert r.ttl("cm") == -1
        with pytest.raises(LockError):
            lock.extend(1)                              # cannot extend a lock with no timeout
    assert r.exists("cm") == 0


def test_lock_blocking_timeout_and_handover(server, r):
    holder = r.lock("bt", timeout=10, thread_local=False)  # released from a timer thread
    assert holder.acquire()
    waiter_client = _client(server)
    try:
        waiter = waiter_client.lock("bt", sleep=0.02, blocking_timeout=0.3)
        started = time.monotonic()
        assert waiter.acquire() is False
        assert 0.25 <= time.monotonic() - started < 5

        releaser = threading.Timer(0.3, holder.release)
        releaser.start()
        started = time.monotonic()
        assert waiter.acquire(blocking_timeout=10) is True
        assert 0.2 <= time.monotonic() - started < 8
        releaser.join()
        assert waiter.owned()
        waiter.release()
    finally:
        waiter_client.close()


def test_lock_mutual_exclusion_under_contention(server, r):
    threads_n, rounds = 6, 15
    state = {"inside": 0, "overlaps": 0, "errors": []}
    guard = threading.Lock()

    def worker(i):
        c = _client(server, protocol=2 if i % 2 else 3)
        try:
            for _ in range(rounds):
                with c.lock("mutex", timeout=10, sleep=0.002, blocking_timeout=60):
                    with guard:
                        state["inside"] += 1
                        if state["inside"] > 1:
                            state["overlaps"] += 1
                    value = int(c.get("counter") or 0)
                    time.sleep(0.001)
                    c.set("counter", value + 1)
                    with guard:
                        state["inside"] -= 1
        except Exception as e:  # reported below
            state["errors"].append(repr(e))
        finally:
            c.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a worker is stuck"
    assert state["errors"] == []
    assert state["overlaps"] == 0
    assert int(r.get("counter")) == threads_n * rounds
    assert r.exists("mutex") == 0


# ---------------------------------------------------------------------------
# register_script, EVAL/EVALSHA, pipelines


def test_register_script_falls_back_to_load_after_flush(r):
    code = "redis.call('incr', KEYS[1]) return {KEYS[1], ARGV[1], redis.call('get', KEYS[1])}"
    script = r.register_script(code)
    assert script.sha == hashlib.sha1(code.encode()).hexdigest()
    assert script(keys=["cnt"], args=["a"]) == [b"cnt", b"a", b"1"]
    assert r.script_exists(script.sha) == [True]
    r.script_flush()
    assert r.script_exists(script.sha) == [False]
    with pytest.raises(NoScriptError):
        r.evalsha(script.sha, 1, "cnt", "x")
    assert script(keys=["cnt"], args=["b"]) == [b"cnt", b"b", b"2"]   # NOSCRIPT -> SCRIPT LOAD -> EVALSHA
    assert r.script_exists(script.sha) == [True]
    assert r.script_load(code) == script.sha


def test_register_script_errors(r):
    r.set("str", "x")
    incr = r.register_script("return redis.call('incr', KEYS[1])")
    with pytest.raises(ResponseError, match="not an integer"):
        incr(keys=["str"])
    assert incr(keys=["n"]) == 1
    bad = r.register_script("return +")
    with pytest.raises(ResponseError, match="Error compiling script"):
        bad()
    raised = r.register_script("return redis.error_reply('MYERR custom')")
    with pytest.raises(ResponseError, match="MYERR custom"):
        raised()


@pytest.mark.parametrize("transaction", [False, True], ids=["pipeline", "multi"])
def test_scripts_in_pipelines(r, transaction):
    add = r.register_script("return redis.call('incrby', KEYS[1], ARGV[1])")
    r.script_flush()                                   # the pipeline must SCRIPT LOAD `add` by itself
    echo_sha = r.script_load("return {KEYS[1], ARGV[1]}")
    with r.pipeline(transaction=transaction) as p:
        p.set("a", 1)
        add(keys=["a"], args=[5], client=p)
        add(keys=["a"], args=[10], client=p)
        p.eval("return redis.call('get', KEYS[1])", 1, "a")
        p.evalsha(echo_sha, 1, "k", "v")
        p.eval_ro("return redis.call('exists', KEYS[1])", 1, "a")
        results = p.execute()
    assert results == [True, 6, 16, b"16", [b"k", b"v"], 1]
    assert r.script_exists(add.sha) == [True]


@pytest.mark.parametrize("transaction", [False, True], ids=["pipeline", "multi"])
def test_script_errors_inside_pipelines(r, transaction):
    r.set("s", "text")
    with r.pipeline(transaction=transaction) as p:
        p.eval("return redis.call('incr', KEYS[1])", 1, "s")
        p.eval("return redis.pcall('incr', KEYS[1])", 1, "s")
        p.eval("return 'after'", 0)
        results = p.execute(raise_on_error=False)
    assert isinstance(results[0], ResponseError) and "not an integer" in str(results[0])
    assert "script:" in str(results[0])
    assert isinstance(results[1], ResponseError) and "not an integer" in str(results[1])
    assert results[2] == b"after"


def test_pipeline_evalsha_unknown_sha(r):
    with r.pipeline(transaction=False) as p:
        p.evalsha("f" * 40, 0)
        p.ping()
        results = p.execute(raise_on_error=False)
    assert isinstance(results[0], NoScriptError)
    assert results[1] is True


def test_eval_resp3_client(server):
    c = _client(server, protocol=3)
    try:
        c.flushall()
        c.hset("h", mapping={"a": "1", "b": "2"})
        assert c.eval("redis.setresp(3) return redis.call('hgetall', KEYS[1])", 1, "h") == {b"a": b"1", b"b": b"2"}
        assert c.eval("return {double=1.5}", 0) == 1.5
        assert c.eval("redis.setresp(3) return true", 0) is True
        assert c.eval("return nil", 0) is None
    finally:
        c.close()


# ---------------------------------------------------------------------------
# functions

LIB = """#!lua name=pylib
redis.register_function('py_set', function(keys, args) return redis.call('set', keys[1], args[1]) end)
redis.register_function{function_name='py_get', callback=function(keys) return redis.call('get', keys[1]) end,
                        flags={'no-writes'}, description='read a key'}
"""


def test_functions_through_redis_py(r):
    assert r.function_load(LIB) in (b"pylib", "pylib")
    assert r.fcall("py_set", 1, "fk", "fv") in (True, b"OK")
    assert r.fcall_ro("py_get", 1, "fk") == b"fv"
    with pytest.raises(ResponseError, match="write flag"):
        r.fcall_ro("py_set", 1, "fk", "x")
    with pytest.raises(ResponseError, match="Function not found"):
        r.fcall("nope", 0)
    libs = r.function_list()
    assert len(libs) == 1
    dump = r.function_dump()
    assert r.function_flush() in (True, b"OK")
    with pytest.raises(ResponseError, match="Function not found"):
        r.fcall("py_get", 1, "fk")
    assert r.function_restore(dump) in (True, b"OK")
    assert r.fcall("py_get", 1, "fk") == b"fv"
    with pytest.raises(ResponseError, match="already exists"):
        r.function_restore(dump)
    assert r.function_restore(dump, "REPLACE") in (True, b"OK")
    assert r.function_delete("pylib") in (True, b"OK")
    assert r.function_list() == []


def test_function_dump_restores_on_the_other_server(reference_server, candidate_server):
    ref, cand = _client(reference_server), _client(candidate_server)
    try:
        for src, dst in ((ref, cand), (cand, ref)):
            for c in (src, dst):
                c.function_flush()
                c.flushall()
            src.function_load(LIB)
            dump = src.function_dump()
            assert dst.function_restore(dump) in (True, b"OK")
            assert dst.fcall("py_set", 1, "k", "v") in (True, b"OK")
            assert dst.fcall_ro("py_get", 1, "k") == b"v"
            listed = dst.function_list(withcode=True)
            assert len(listed) == 1
        # and an empty dump restores as nothing
        ref.function_flush()
        cand.function_flush()
        assert cand.function_restore(ref.function_dump(), "FLUSH") in (True, b"OK")
        assert cand.function_list() == []
    finally:
        for c in (ref, cand):
            c.function_flush()
            c.close()


def test_function_restore_replace_moves_functions_between_libraries(r):
    """RESTORE REPLACE unlinks every library it replaces before it checks function names, so a payload in which
    f1 and f2 swapped libraries restores (Redis's libraryJoin)."""
    lib = "#!lua name=%s\nredis.register_function('%s', function() return '%s' end)"
    r.function_load(lib % ("liba", "f1", "a"))
    r.function_load(lib % ("libb", "f2", "b"))
    dump = r.function_dump()
    r.function_flush()
    r.function_load(lib % ("liba", "f2", "a"))
    r.function_load(lib % ("libb", "f1", "b"))
    with pytest.raises(ResponseError, match="Library lib[ab] already exists"):
        r.function_restore(dump)
    assert r.function_restore(dump, "REPLACE") in (True, b"OK")
    assert (r.fcall("f1", 0), r.fcall("f2", 0)) == (b"a", b"b")
    # A clash with a library the payload does not replace still fails, and leaves everything as it was.
    r.function_load("#!lua name=libc\nredis.register_function('f3', function() return 'c' end)")
    r.function_delete("libb")
    r.function_load("#!lua name=libb\nredis.register_function('f9', function() return 'b9' end)")
    clash = r.function_dump()
    r.function_flush()
    r.function_load(lib % ("liba", "f1", "a"))
    r.function_load(lib % ("libd", "f9", "d"))
    with pytest.raises(ResponseError, match="Function f9 already exists"):
        r.function_restore(clash, "REPLACE")
    # RESP2: each library is a flat list whose first pair is library_name.
    assert sorted(x[1] for x in r.function_list()) == [b"liba", b"libd"]
    assert (r.fcall("f1", 0), r.fcall("f9", 0)) == (b"a", b"d")


# ---------------------------------------------------------------------------
# long-running scripts: BUSY, SCRIPT KILL, FUNCTION KILL, UNKILLABLE

@pytest.mark.parametrize("script, setting, reply", [
    (b"#!lua\nreturn redis.call('set',KEYS[1],'v')", "min-replicas-to-write",
     b"-EXECABORT Transaction discarded because of: NOREPLICAS Not enough good replicas to write.\r\n"),
    (b"#!lua flags=no-writes\nreturn 1", "min-replicas-to-write", b"*1\r\n:1\r\n"),
    (b"#!lua\nreturn redis.call('set',KEYS[1],'v')", "maxmemory",
     b"-EXECABORT Transaction discarded because of: OOM command not allowed when used memory > 'maxmemory'.\r\n"),
    (b"#!lua flags=allow-oom\nreturn redis.call('set',KEYS[1],'v')", "maxmemory", b"*1\r\n+OK\r\n"),
])
def test_exec_goes_by_the_queued_scripts_declared_flags(server, script, setting, reply):
    """EXEC is refused as a whole when a queued script declares writes (or no allow-oom) and the server turned
    min-replicas-to-write / maxmemory on after it was queued (Redis's mstate.cmd_flags)."""
    a = RespConnection(server.host, server.port, timeout=10)
    b = RespConnection(server.host, server.port, timeout=10)
    try:
        assert a.execute("MULTI").raw == b"+OK\r\n"
        assert a.execute("EVAL", script, "1", "k").raw == b"+QUEUED\r\n"
        assert b.execute("CONFIG", "SET", setting, "1").raw == b"+OK\r\n"
        assert a.execute("EXEC").raw == reply
    finally:
        b.execute("CONFIG", "SET", setting, "0")
        a.close()
        b.close()


# Spins for up to `limit` seconds of server time (bounded, so a server without busy-script handling recovers).
SPIN = ("local t0 = redis.call('time') t0 = t0[1] + t0[2] / 1e6 local n = 0 "
        "while true do local t = redis.call('time') if t[1] + t[2] / 1e6 - t0 > %s then break end n = n + 1 end "
        "return n")

BUSY_SCRIPT = b"-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n"
BUSY_FUNCTION = b"-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.\r\n"
UNKILLABLE = (b"-UNKILLABLE Sorry the script already executed write commands against the dataset. You can either "
              b"wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.\r\n")


class _Runner(threading.Thread):
    """Sends one command on its own connection and keeps the raw reply and how long it took."""

    def __init__(self, server, *args):
        super().__init__(daemon=True)
        self.conn = RespConnection(server.host, server.port, timeout=30)
        self.args = args
        self.reply = None
        self.elapsed = None

    def run(self):
        started = time.monotonic()
        try:
            self.reply = self.conn.execute(*self.args).raw
        except Exception as e:  # reported by the test
            self.reply = repr(e).encode()
        self.elapsed = time.monotonic() - started

    def finish(self):
        self.join(30)
        self.conn.close()
        assert not self.is_alive(), "the script never finished"
        return self.reply


@pytest.fixture
def busy_server(server):
    ctl = RespConnection(server.host, server.port, timeout=30)
    ctl.execute("FLUSHALL")
    ctl.execute("SCRIPT", "FLUSH")
    ctl.execute("FUNCTION", "FLUSH")
    assert ctl.execute("CONFIG", "SET", "busy-reply-threshold", "100").raw == b"+OK\r\n"
    yield server, ctl
    try:
        ctl.execute("CONFIG", "SET", "busy-reply-threshold", "5000")
        ctl.execute("FUNCTION", "FLUSH")
    finally:
        ctl.close()


def _wait_busy(ctl, expected, deadline=3.0):
    """PING until the server answers `expected` (a BUSY error); returns the last reply."""
    end = time.monotonic() + deadline
    reply = None
    while time.monotonic() < end:
        reply = ctl.execute("PING").raw
        if reply == expected:
            return reply
        time.sleep(0.05)
    return reply


@contextlib.contextmanager
def _busy(server, ctl, busy_reply, *command):
    """Runs `command` on its own connection until the server answers `busy_reply` on `ctl`; yields the runner, whose
    reply is there once the block ends (the runner is always waited for)."""
    runner = _Runner(server, *command)
    runner.start()
    time.sleep(0.3)
    try:
        assert _wait_busy(ctl, busy_reply) == busy_reply
        yield runner
    finally:
        runner.finish()


def test_script_kill_stops_a_busy_script(busy_server):
    server, ctl = busy_server
    with _busy(server, ctl, BUSY_SCRIPT, "EVAL", SPIN % 4, "0") as runner:
        assert ctl.execute("GET", "x").raw == BUSY_SCRIPT
        assert ctl.execute("FUNCTION", "KILL").raw == BUSY_SCRIPT
        assert ctl.execute("SCRIPT", "KILL").raw == b"+OK\r\n"
    reply = runner.reply
    assert reply.startswith(b"-ERR Script killed by user with SCRIPT KILL... script: "), reply
    assert runner.elapsed < 3.5
    assert ctl.execute("PING").raw == b"+PONG\r\n"
    assert ctl.execute("SCRIPT", "KILL").raw == b"-NOTBUSY No scripts in execution right now.\r\n"


def test_new_connections_are_served_while_a_script_is_busy(busy_server):
    """A user opens a new redis-cli to stop a runaway script: connections made after the script went busy are
    accepted, answered BUSY, and their SCRIPT KILL works."""
    server, ctl = busy_server
    with _busy(server, ctl, BUSY_SCRIPT, "EVAL", SPIN % 4, "0") as runner:
        late = [RespConnection(server.host, server.port, timeout=3) for _ in range(3)]
        try:
            for conn in late:
                assert conn.execute("PING").raw == BUSY_SCRIPT
            assert late[-1].execute("SCRIPT", "KILL").raw == b"+OK\r\n"
        finally:
            for conn in late:
                conn.close()
    reply = runner.reply
    assert reply.startswith(b"-ERR Script killed by user with SCRIPT KILL... script: "), reply
    assert runner.elapsed < 3.5
    assert ctl.execute("PING").raw == b"+PONG\r\n"


def test_clients_that_close_while_a_script_is_busy_are_freed(busy_server):
    """A client that connects, gets BUSY and closes is freed at once (Redis frees clients while a script runs), so
    clients reconnecting on every BUSY cannot fill maxclients and lock out the SCRIPT KILL."""
    server, ctl = busy_server
    # ctl and the script's own connection, plus two.
    assert ctl.execute("CONFIG", "SET", "maxclients", "4").raw == b"+OK\r\n"
    try:
        with _busy(server, ctl, BUSY_SCRIPT, "EVAL", SPIN % 4, "0") as runner:
            for _ in range(2):
                conn = RespConnection(server.host, server.port, timeout=3)
                assert conn.execute("PING").raw == BUSY_SCRIPT
                conn.close()
            time.sleep(0.3)
            killer = RespConnection(server.host, server.port, timeout=3)
            try:
                assert killer.execute("SCRIPT", "KILL").raw == b"+OK\r\n"
            finally:
                killer.close()
        assert runner.reply.startswith(b"-ERR Script killed by user with SCRIPT KILL... script: "), runner.reply
    finally:
        ctl.execute("CONFIG", "SET", "maxclients", "10000")


def test_function_kill_stops_a_busy_function(busy_server):
    server, ctl = busy_server
    code = "#!lua name=spinlib\nredis.register_function('spin', function() %s end)" % (SPIN % 4)
    assert ctl.execute("FUNCTION", "LOAD", code).raw == b"$7\r\nspinlib\r\n"
    with _busy(server, ctl, BUSY_FUNCTION, "FCALL", "spin", "0") as runner:
        assert ctl.execute("SCRIPT", "KILL").raw == BUSY_FUNCTION
        assert ctl.execute("FUNCTION", "KILL").raw == b"+OK\r\n"
    reply = runner.reply
    assert reply == b"-ERR Script killed by user with SCRIPT KILL... script: spin, on @user_function:2.\r\n", reply
    assert runner.elapsed < 3.5
    assert ctl.execute("PING").raw == b"+PONG\r\n"


def test_script_that_wrote_is_unkillable(busy_server):
    server, ctl = busy_server
    with _busy(server, ctl, BUSY_SCRIPT, "EVAL", "redis.call('set', 'w', '1') " + SPIN % 1.5, "0") as runner:
        assert ctl.execute("SCRIPT", "KILL").raw == UNKILLABLE
        assert ctl.execute("FUNCTION", "KILL").raw == UNKILLABLE
    reply = runner.reply
    assert reply.startswith(b":"), reply                 # it ran to the end
    assert ctl.execute("GET", "w").raw == b"$1\r\n1\r\n"


def test_read_only_script_is_killable(busy_server):
    server, ctl = busy_server
    with _busy(server, ctl, BUSY_SCRIPT, "EVAL", "#!lua flags=no-writes\n" + SPIN % 4, "0") as runner:
        assert ctl.execute("SCRIPT", "KILL").raw == b"+OK\r\n"
    reply = runner.reply
    assert reply.startswith(b"-ERR Script killed by user with SCRIPT KILL... script: "), reply
    assert reply.endswith(b", on @user_script:2.\r\n"), reply


def test_fast_scripts_never_report_busy(busy_server):
    server, ctl = busy_server
    runner = _Runner(server, "EVAL", SPIN % 0.05, "0")   # well under busy-reply-threshold
    runner.start()
    reply = runner.finish()
    assert reply.startswith(b":"), reply
    assert ctl.execute("PING").raw == b"+PONG\r\n"
