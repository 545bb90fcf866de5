"""maxmemory, eviction and OOM refusal (evict.c, server.c's processCommand, multi.c) against real Redis 7.0.

These tests lower `maxmemory`, switch `maxmemory-policy` and evict keys, so they never touch the session servers:
the module starts its own pair (the reference `redis-server` and the candidate from $SWIFTLET_SERVER_CMD, both
without persistence), and before and after every test puts back every setting a test may change, FLUSHALLs and
resets the statistics. Every read has a timeout of a few seconds; the file runs in well under a minute.

What Redis 7.0 does, and what the tests hold the candidate to:

* With `maxmemory` set, `performEvictions()` runs before EVERY command (reads and PING too). `CONFIG SET
  maxmemory` only starts the eviction timer (7.0.15's `updateMaxmemory`): inside MULTI it evicts nothing until
  the EXEC is over. When memory stays above the limit, commands flagged `denyoom` (COMMAND INFO) are
  refused with `-OOM command not allowed when used memory > 'maxmemory'.`; inside MULTI every command except
  EXEC/DISCARD/QUIT/RESET is refused (the transaction is then flagged, EXEC gives EXECABORT); EXEC of a
  transaction that queued a denyoom command while memory was fine gives `-EXECABORT Transaction discarded because
  of: OOM ...` (even when the transaction was already dirty).
* `maxmemory 1` is below what any server uses when empty, so under allkeys-* everything is evicted and writes
  are STILL refused; under volatile-* only keys with a TTL go; under noeviction nothing goes.
* Eviction sends the `evicted` keyspace event (class `e`), keyspace before keyevent, per key.
* With `maxmemory-samples` above the number of keys the eviction pool sees every key, so the order is exact:
  volatile-ttl by remaining TTL, *-lru by idle time, *-lfu by LFU counter (both set through RESTORE
  IDLETIME / FREQ); other orders (allkeys-random) are compared as sets.
* OBJECT FREQ with `lfu-log-factor 0` and `lfu-decay-time 0` counts every touching access exactly, so which
  commands touch a key, and how an overwrite or COPY carries the counter, is compared exactly.
* Numbers that differ by nature (used_memory, MEMORY USAGE, exceeded times, idle seconds that tick) are compared
  by kind, range or within a second; evicted_keys is compared as its growth within a test (whether CONFIG
  RESETSTAT clears it is checked on its own, in the INFO tests); INFO and MEMORY STATS field names that do not
  depend on the allocator (Redis is built with jemalloc, Swiftlet uses glibc malloc) are required by name and
  order.
"""

from __future__ import annotations

import re
import time

import pytest

from support.resp import ConnectionClosed, RespConnection, encode_command
from support.servers import ServerProcess, free_port, side_argv

SIDES = ("reference", "candidate")
OOM = b"-OOM command not allowed when used memory > 'maxmemory'.\r\n"
EXECABORT_PREVIOUS = b"-EXECABORT Transaction discarded because of previous errors.\r\n"
EXECABORT_OOM = (b"-EXECABORT Transaction discarded because of: OOM command not allowed when used memory > "
                 b"'maxmemory'.\r\n")
READ_TIMEOUT = 5.0

# Every setting a test here may change, with its default: put back before and after each test.
DEFAULTS = [
    ("maxmemory", "0"),
    ("maxmemory-policy", "noeviction"),
    ("maxmemory-samples", "5"),
    ("maxmemory-eviction-tenacity", "10"),
    ("maxmemory-clients", "0"),
    ("lazyfree-lazy-eviction", "no"),
    ("lfu-log-factor", "10"),
    ("lfu-decay-time", "1"),
    ("notify-keyspace-events", ""),
]


# --- Servers and helpers ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def servers():
    started = {}
    try:
        for which in SIDES:
            port = free_port()
            started[which] = ServerProcess(which, side_argv(which, port), port).start()
        yield started
    finally:
        for server in started.values():
            server.stop()


def _reset(server):
    with _conn(server) as c:
        for name, value in DEFAULTS:
            reply = c.execute("CONFIG", "SET", name, value)
            assert reply.raw == b"+OK\r\n", (server, name, reply.raw)
        assert c.execute("FLUSHALL").raw == b"+OK\r\n"
        assert c.execute("CONFIG", "RESETSTAT").raw == b"+OK\r\n"


@pytest.fixture
def fresh(servers):
    """Both private servers at their defaults, empty, statistics reset; put back afterwards whatever happens."""
    for server in servers.values():
        _reset(server)
    try:
        yield servers
    finally:
        for server in servers.values():
            if server.alive():
                try:
                    _reset(server)
                except (OSError, ConnectionClosed, AssertionError):
                    pass


def _conn(server, timeout=READ_TIMEOUT):
    return RespConnection(server.host, server.port, timeout=timeout)


class Near:
    """An integer that compares equal to another Near within `tol` (idle seconds tick while a test runs)."""

    def __init__(self, value, tol=1):
        self.value, self.tol = value, tol

    def __eq__(self, other):
        return isinstance(other, Near) and abs(self.value - other.value) <= max(self.tol, other.tol)

    def __repr__(self):
        return "Near(%r)" % (self.value,)


def _on_both(servers, scenario, *args):
    return {which: scenario(servers[which], *args) for which in SIDES}


def _assert_same(results):
    """`results` maps side -> list of (label, value); report the first step that differs."""
    ref, cand = results["reference"], results["candidate"]
    for i, (r, c) in enumerate(zip(ref, cand)):
        assert r == c, "step %d differs:\n  redis:    %r\n  swiftlet: %r" % (i, r, c)
    assert len(ref) == len(cand), "redis had %d steps, swiftlet %d" % (len(ref), len(cand))


def _label(args):
    text = " ".join(a.decode("latin-1") if isinstance(a, bytes) else str(a) for a in args)
    return text if len(text) <= 80 else text[:77] + "..."


def _raw(log, conn, *args):
    """Runs a command, records (command, reply bytes), returns the reply node."""
    reply = conn.execute(*args)
    log.append((_label(args), reply.raw))
    return reply


def _info(conn, section):
    """INFO `section` as an ordered list of (name, value) strings."""
    text = conn.execute("INFO", section).value.decode()
    return [tuple(line.split(":", 1)) for line in text.split("\r\n") if line and not line.startswith("#")]


def _info_dict(conn, section):
    return dict(_info(conn, section))


def _stat(conn, name):
    return int(_info_dict(conn, "stats")[name])


class _Evictions:
    """evicted_keys counted from when this was made: one test's evictions, whether or not a server's CONFIG
    RESETSTAT (run between tests, and checked on its own) clears the counter."""

    def __init__(self, conn):
        self.conn = conn
        self.base = _stat(conn, "evicted_keys")

    def __call__(self):
        return _stat(self.conn, "evicted_keys") - self.base


def _sync_frames(sub):
    """Frames that arrived on the subscribed connection `sub` before the reply to a marker PING."""
    sub.send_command("PING", "__sync__")
    frames = []
    while True:
        node = sub.read_reply(timeout=READ_TIMEOUT)
        if node.raw == b"*2\r\n$4\r\npong\r\n$8\r\n__sync__\r\n":
            return frames
        frames.append(node)


def _dump_payload(conn):
    conn.execute("SET", "__payload__", "hello")
    payload = conn.execute("DUMP", "__payload__").value
    conn.execute("DEL", "__payload__")
    return payload


def _dataset(conn, db_keys=True):
    """A few keys of every type in db 0 (and two in db 3); returns how many keys in all."""
    for args in (["SET", "s", "10"], ["SET", "str", "hello"], ["RPUSH", "l", "a", "b", "c"], ["HSET", "h", "f", "v"],
                 ["SADD", "set", "a", "b"], ["ZADD", "z", "1", "a"], ["PFADD", "hll", "a"],
                 ["SET", "t", "v", "EX", "1000"]):
        conn.execute(*args)
    count = 8
    if db_keys:
        conn.execute("SELECT", "3")
        conn.execute("SET", "d3a", "v")
        conn.execute("RPUSH", "d3b", "x")
        conn.execute("SELECT", "0")
        count += 2
    return count


# --- COMMAND INFO: which commands are denyoom ----------------------------------------------------------------------

FLAG_COMMANDS = [
    "set", "setnx", "setex", "psetex", "mset", "msetnx", "getset", "append", "setrange", "incr", "incrby", "decr",
    "decrby", "incrbyfloat", "setbit", "bitfield", "bitop", "lpush", "rpush", "lpushx", "rpushx", "linsert", "lset",
    "lmove", "rpoplpush", "blmove", "sadd", "sunionstore", "sinterstore", "sdiffstore", "hset", "hsetnx", "hmset",
    "hincrby", "hincrbyfloat", "zadd", "zincrby", "zunionstore", "zrangestore", "pfadd", "pfmerge", "copy", "restore",
    "sort", "sort_ro", "get", "exists", "ttl", "dbsize", "del", "unlink", "expire", "persist", "getdel", "getex",
    "rename", "move", "smove", "lpop", "flushall", "flushdb", "touch", "multi", "exec", "discard", "publish", "ping",
]


def test_denyoom_flags_in_command_info(fresh):
    def scenario(server):
        with _conn(server) as c:
            reply = c.execute("COMMAND", "INFO", *FLAG_COMMANDS)
            return [(name, info.value[2].raw if info.value else None) for name, info in zip(FLAG_COMMANDS, reply.value)]

    _assert_same(_on_both(fresh, scenario))


# --- noeviction: OOM refusals --------------------------------------------------------------------------------------

# Commands flagged denyoom: refused while used memory > maxmemory (wrong types and bad syntax do not matter: the
# refusal comes before the command runs; arity and unknown commands are checked first).
DENYOOM_CALLS = [
    ["SET", "new", "v"], ["SET", "s", "1"], ["SET", "s", "1", "BOGUS"], ["SETNX", "n", "v"], ["SETEX", "n", "10", "v"],
    ["PSETEX", "n", "1000", "v"], ["MSET", "a", "1", "b", "2"], ["MSETNX", "a", "1"], ["GETSET", "s", "2"],
    ["APPEND", "str", "x"], ["SETRANGE", "str", "0", "x"], ["INCR", "s"], ["INCR", "n"], ["INCRBY", "s", "2"],
    ["DECR", "s"], ["DECRBY", "s", "1"], ["INCRBYFLOAT", "s", "1.5"], ["SETBIT", "str", "0", "1"],
    ["BITFIELD", "str", "SET", "u8", "0", "1"], ["BITOP", "AND", "dst", "str", "str"], ["LPUSH", "l", "x"],
    ["RPUSH", "l", "x"], ["LPUSHX", "l", "x"], ["RPUSHX", "l", "x"], ["LINSERT", "l", "BEFORE", "a", "x"],
    ["LSET", "l", "0", "x"], ["LMOVE", "l", "l2", "LEFT", "RIGHT"], ["RPOPLPUSH", "l", "l2"], ["LPUSH", "str", "x"],
    ["SADD", "set", "c"], ["SUNIONSTORE", "dst", "set"], ["SINTERSTORE", "dst", "set"], ["SDIFFSTORE", "dst", "set"],
    ["HSET", "h", "g", "v"], ["HSETNX", "h", "g", "v"], ["HMSET", "h", "g", "v"], ["HINCRBY", "h", "n", "1"],
    ["HINCRBYFLOAT", "h", "n", "1.5"], ["ZADD", "z", "2", "b"], ["ZINCRBY", "z", "1", "a"],
    ["ZUNIONSTORE", "dst", "1", "z"], ["ZRANGESTORE", "dst", "z", "0", "-1"], ["PFADD", "hll", "b"],
    ["PFMERGE", "hll2", "hll"], ["COPY", "s", "s2"], ["SORT", "l", "ALPHA"], ["SORT", "l", "ALPHA", "STORE", "dst"],
]

# Not denyoom: these keep working (reads, deletions, expiry changes, pops, connection and server commands).
ALLOWED_CALLS = [
    ["GET", "s"], ["MGET", "s", "str", "nosuch"], ["EXISTS", "s", "l", "nosuch"], ["TTL", "t"], ["TTL", "s"],
    ["TYPE", "l"], ["STRLEN", "str"], ["GETRANGE", "str", "0", "2"], ["LRANGE", "l", "0", "-1"], ["LLEN", "l"],
    ["HGET", "h", "f"], ["SCARD", "set"], ["SISMEMBER", "set", "a"], ["ZRANGE", "z", "0", "-1", "WITHSCORES"],
    ["PFCOUNT", "hll"], ["SORT_RO", "l", "ALPHA"], ["DBSIZE"], ["TOUCH", "s"], ["OBJECT", "ENCODING", "l"],
    ["EXPIRE", "s", "100"], ["TTL", "s"], ["PERSIST", "s"], ["EXPIRE", "nosuch", "10"], ["GETEX", "str", "PERSIST"],
    ["LPOP", "l"], ["RPOP", "l"], ["SREM", "set", "a"], ["SMOVE", "set", "set2", "b"], ["HDEL", "h", "f"],
    ["ZPOPMIN", "z"], ["GETDEL", "str"], ["RENAME", "set2", "set3"], ["MOVE", "set3", "1"], ["DEL", "s"],
    ["UNLINK", "hll", "nosuch"], ["SELECT", "1"], ["DBSIZE"], ["SWAPDB", "0", "1"], ["DBSIZE"], ["SELECT", "0"],
    ["PUBLISH", "ch", "x"], ["PING"], ["ECHO", "e"], ["CONFIG", "GET", "maxmemory"], ["CLIENT", "SETNAME", "x"],
    ["SET"], ["NOSUCHCOMMAND", "x"], ["DBSIZE"], ["FLUSHDB"], ["SET", "after-flushdb", "v"], ["FLUSHALL"],
    ["SET", "after-flushall", "v"], ["DBSIZE"],
]


def test_noeviction_refuses_denyoom_commands(fresh):
    def scenario(server):
        log = []
        with _conn(server) as c:
            evictions = _Evictions(c)
            _dataset(c, db_keys=False)
            _raw(log, c, "CONFIG", "SET", "maxmemory", "1")
            _raw(log, c, "DBSIZE")
            for args in DENYOOM_CALLS:
                _raw(log, c, *args)
            # Nothing was written, nothing evicted.
            _raw(log, c, "GET", "s")
            _raw(log, c, "LRANGE", "l", "0", "-1")
            _raw(log, c, "EXISTS", "new", "n", "a", "dst", "l2", "s2", "hll2")
            log.append(("evicted_keys", evictions()))
            for args in ALLOWED_CALLS:
                _raw(log, c, *args)
            _raw(log, c, "CONFIG", "SET", "maxmemory", "0")
            _raw(log, c, "SET", "new", "v")
            _raw(log, c, "INCR", "n")
            _raw(log, c, "LPUSH", "l", "x")
            _raw(log, c, "DBSIZE")
        return log

    results = _on_both(fresh, scenario)
    assert results["reference"][2] == ("SET new v", OOM)  # the scenario really is out of memory on Redis
    _assert_same(results)


def test_oom_with_a_limit_in_human_units(fresh):
    """The refusal depends only on used memory > maxmemory: '1kb' is far below any server's usage, '4gb' far above."""
    def scenario(server):
        log = []
        with _conn(server) as c:
            for limit in ("1kb", "4gb", "100", "1gb", "2"):
                _raw(log, c, "CONFIG", "SET", "maxmemory", limit)
                _raw(log, c, "SET", "k", limit)
                _raw(log, c, "GET", "k")
        return log

    _assert_same(_on_both(fresh, scenario))


# --- MULTI / EXEC ----------------------------------------------------------------------------------------------------

def test_multi_while_out_of_memory(fresh):
    """Inside MULTI every command but EXEC/DISCARD/QUIT/RESET is refused with OOM, reads and MULTI/WATCH included;
    arity and unknown-command errors come first; EXEC then aborts for the earlier errors."""
    def scenario(server):
        log = []
        with _conn(server) as admin, _conn(server) as c:
            _raw(log, admin, "SET", "k", "v")
            _raw(log, admin, "CONFIG", "SET", "maxmemory", "1")
            for args in (["MULTI"], ["SET", "x", "1"], ["GET", "k"], ["PING"], ["DEL", "k"], ["EXPIRE", "k", "10"],
                         ["MULTI"], ["WATCH", "k"], ["SET", "k"], ["NOSUCHCOMMAND"], ["EXEC"], ["EXEC"], ["GET", "k"],
                         ["GET", "x"]):
                _raw(log, c, *args)
            # Only reads queued, refused all the same.
            for args in (["MULTI"], ["GET", "k"], ["EXISTS", "k"], ["EXEC"]):
                _raw(log, c, *args)
            # DISCARD and RESET still work inside MULTI.
            for args in (["MULTI"], ["GET", "k"], ["DISCARD"], ["DISCARD"], ["MULTI"], ["SET", "x", "1"], ["RESET"],
                         ["EXEC"], ["GET", "k"]):
                _raw(log, c, *args)
            # QUIT too.
            _raw(log, c, "MULTI")
            c.send_command("QUIT")
            data, closed = c.read_until_close(timeout=READ_TIMEOUT)
            log.append(("QUIT inside MULTI", data, closed))
            # With the limit lifted, the same transaction runs.
            _raw(log, admin, "CONFIG", "SET", "maxmemory", "0")
            for args in (["MULTI"], ["SET", "x", "1"], ["GET", "k"], ["EXEC"]):
                _raw(log, admin, *args)
        return log

    results = _on_both(fresh, scenario)
    assert ("SET x 1", OOM) in results["reference"]
    _assert_same(results)


def test_config_set_maxmemory_inside_multi_evicts_after_exec(fresh):
    """CONFIG SET maxmemory starts the eviction job and does not evict within the command: a transaction that lowers
    the limit still sees its own keys (unit/maxmemory's "propagation with eviction in MULTI"), and the keys go
    afterwards."""
    def scenario(server):
        log = []
        with _conn(server) as c:
            _raw(log, c, "CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
            for args in (["SET", "a", "1"], ["MULTI"], ["INCR", "x"], ["CONFIG", "SET", "maxmemory", "1"],
                         ["INCR", "x"], ["EXISTS", "a"], ["EXEC"]):
                _raw(log, c, *args)
            deadline = time.monotonic() + READ_TIMEOUT
            while c.execute("DBSIZE").value != 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            _raw(log, c, "CONFIG", "SET", "maxmemory", "0")
            _raw(log, c, "DBSIZE")
        return log

    results = _on_both(fresh, scenario)
    assert ("EXEC", b"*4\r\n:1\r\n+OK\r\n:2\r\n:1\r\n") in results["reference"]
    _assert_same(results)


def test_exec_of_transaction_queued_before_the_limit(fresh):
    """EXEC after the limit was lowered: aborted with the OOM text if a denyoom command was queued (even when the
    transaction was already dirty), executed if only non-denyoom commands were queued."""
    def scenario(server):
        log = []
        with _conn(server) as admin, _conn(server) as c:
            def limit(value):
                _raw(log, admin, "CONFIG", "SET", "maxmemory", value)

            _raw(log, admin, "SET", "k", "v")
            for args in (["MULTI"], ["SET", "x", "1"], ["GET", "k"]):
                _raw(log, c, *args)
            limit("1")
            for args in (["EXEC"], ["EXEC"], ["GET", "x"]):
                _raw(log, c, *args)
            limit("0")
            # Only non-denyoom commands queued (a write among them): EXEC runs them.
            for args in (["MULTI"], ["GET", "k"], ["EXISTS", "k"], ["EXPIRE", "k", "100"], ["TTL", "k"], ["DEL", "k"]):
                _raw(log, c, *args)
            limit("1")
            _raw(log, c, "EXEC")
            limit("0")
            # WATCH, then a denyoom command queued.
            for args in (["SET", "k", "1"], ["WATCH", "k"], ["MULTI"], ["INCR", "k"]):
                _raw(log, c, *args)
            limit("1")
            for args in (["EXEC"], ["GET", "k"]):
                _raw(log, c, *args)
            limit("0")
            # Dirty (an arity error) and a denyoom command queued: the OOM text wins.
            for args in (["MULTI"], ["SET", "x", "1"], ["SET", "x"]):
                _raw(log, c, *args)
            limit("1")
            _raw(log, c, "EXEC")
            limit("0")
            # Dirty with reads only: the usual EXECABORT.
            for args in (["MULTI"], ["GET", "k"], ["GET"]):
                _raw(log, c, *args)
            limit("1")
            _raw(log, c, "EXEC")
            limit("0")
            # DISCARD after the limit was lowered.
            for args in (["MULTI"], ["SET", "x", "1"]):
                _raw(log, c, *args)
            limit("1")
            for args in (["DISCARD"], ["GET", "x"], ["SET", "x", "1"]):
                _raw(log, c, *args)
        return log

    results = _on_both(fresh, scenario)
    assert ("EXEC", EXECABORT_OOM) in results["reference"]
    _assert_same(results)


def test_oom_error_statistics(fresh):
    """OOM refusals count in INFO errorstats (errorstat_OOM) and as rejected calls in INFO commandstats."""
    def scenario(server):
        log = []
        with _conn(server) as admin, _conn(server) as c:
            admin.execute("CONFIG", "SET", "maxmemory", "1")
            admin.execute("CONFIG", "RESETSTAT")
            for args in (["SET", "a", "1"], ["SET", "a", "1"], ["LPUSH", "l", "x"], ["GET", "a"], ["MULTI"],
                         ["SET", "a", "1"], ["GET", "a"], ["EXEC"], ["MULTI"], ["MULTI"], ["DISCARD"]):
                _raw(log, c, *args)
            admin.execute("CONFIG", "SET", "maxmemory", "0")
            for args in (["MULTI"], ["SET", "a", "1"]):
                _raw(log, c, *args)
            admin.execute("CONFIG", "SET", "maxmemory", "1")
            _raw(log, c, "EXEC")
            log.append(("errorstats", _info(admin, "errorstats")))
            stats = {}
            for name, value in _info(admin, "commandstats"):
                command = name[len("cmdstat_"):]
                if command in ("set", "lpush", "get", "multi", "exec", "discard"):
                    fields = dict(item.split("=", 1) for item in value.split(","))
                    stats[command] = (fields.get("calls"), fields.get("rejected_calls"), fields.get("failed_calls"))
            log.append(("commandstats", sorted(stats.items())))
        return log

    _assert_same(_on_both(fresh, scenario))


# --- Eviction policies --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("policy,lazy", [("allkeys-random", "no"), ("allkeys-lru", "no"), ("allkeys-lfu", "no"),
                                         ("allkeys-lru", "yes")])
def test_allkeys_policies_evict_everything(fresh, policy, lazy):
    """maxmemory 1: CONFIG SET itself evicts every key of every database; writes are still refused (used memory
    stays above 1 byte), reads answer from the empty keyspace; evicted_keys counts every key."""
    def scenario(server):
        log = []
        with _conn(server) as c:
            evictions = _Evictions(c)
            count = _dataset(c)
            log.append(("keys", count))
            _raw(log, c, "CONFIG", "SET", "lazyfree-lazy-eviction", lazy)
            _raw(log, c, "CONFIG", "SET", "maxmemory-policy", policy)
            _raw(log, c, "CONFIG", "SET", "maxmemory", "1")
            log.append(("evicted_keys after CONFIG SET", evictions()))
            _raw(log, c, "DBSIZE")
            _raw(log, c, "SELECT", "3")
            _raw(log, c, "DBSIZE")
            _raw(log, c, "SELECT", "0")
            _raw(log, c, "SET", "new", "v")
            _raw(log, c, "GET", "s")
            _raw(log, c, "DBSIZE")
            log.append(("evicted_keys", evictions()))
            _raw(log, c, "CONFIG", "SET", "maxmemory", "0")
            _raw(log, c, "SET", "new", "v")
            _raw(log, c, "DBSIZE")
            log.append(("evicted_keys at the end", evictions()))
        return log

    _assert_same(_on_both(fresh, scenario))


@pytest.mark.parametrize("policy", ["volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"])
def test_volatile_policies_evict_only_keys_with_a_ttl(fresh, policy):
    """volatile-*: only keys with a TTL are evictable; once they are gone (or when there are none) writes are
    refused with OOM and the other keys stay."""
    def scenario(server):
        log = []
        with _conn(server) as c:
            evictions = _Evictions(c)
            _raw(log, c, "CONFIG", "SET", "maxmemory-policy", policy)
            # No key with a TTL: nothing evictable.
            for args in (["SET", "p1", "v"], ["RPUSH", "p2", "a"], ["HSET", "p3", "f", "v"],
                         ["CONFIG", "SET", "maxmemory", "1"], ["SET", "x", "v"], ["DBSIZE"]):
                _raw(log, c, *args)
            log.append(("evicted_keys", evictions()))
            _raw(log, c, "CONFIG", "SET", "maxmemory", "0")
            for args in (["SET", "t1", "v", "EX", "100"], ["SET", "t2", "v", "EX", "200"], ["RPUSH", "t3", "a"],
                         ["PEXPIRE", "t3", "300000"], ["SELECT", "2"], ["SET", "t4", "v", "EX", "50"], ["SELECT", "0"],
                         ["CONFIG", "SET", "maxmemory", "1"], ["DBSIZE"], ["SET", "x", "v"],
                         ["EXISTS", "t1", "t2", "t3"], ["SELECT", "2"], ["DBSIZE"], ["SELECT", "0"]):
                _raw(log, c, *args)
            keys = c.execute("KEYS", "*").to_python()
            log.append(("KEYS *", sorted(keys)))
            log.append(("evicted_keys", evictions()))
            # A key given a TTL while over the limit goes before the next command completes.
            for args in (["EXPIRE", "p1", "100"], ["EXISTS", "p1"], ["DBSIZE"]):
                _raw(log, c, *args)
            log.append(("evicted_keys", evictions()))
        return log

    _assert_same(_on_both(fresh, scenario))


ORDER_KEYS = [("c", 300, 30), ("a", 100, 10), ("e", 500, 50), ("b", 200, 20), ("d", 400, 40)]


@pytest.mark.parametrize("policy", ["volatile-ttl", "allkeys-lru", "allkeys-lfu", "volatile-lru", "volatile-lfu"])
def test_eviction_order_with_full_sampling(fresh, policy):
    """With maxmemory-samples above the number of keys, the eviction pool ranks every key: volatile-ttl evicts the
    nearest expiry first, *-lru the longest idle (RESTORE ... IDLETIME), *-lfu the lowest counter (RESTORE ... FREQ;
    a fresh key has 5). The `evicted` events on __keyevent@0__:evicted come in that exact order."""
    def scenario(server):
        log = []
        with _conn(server) as c, _conn(server) as sub:
            payload = _dump_payload(c)
            for name, value in (("maxmemory-policy", policy), ("maxmemory-samples", "64"), ("lfu-decay-time", "0"),
                                ("notify-keyspace-events", "Ee")):
                _raw(log, c, "CONFIG", "SET", name, value)
            _raw(log, sub, "SUBSCRIBE", "__keyevent@0__:evicted")
            for name, seconds, freq in ORDER_KEYS:
                ttl = str(seconds * 1000) if policy.startswith("volatile") else "0"
                if policy.endswith("lru"):
                    _raw(log, c, "RESTORE", name, ttl, payload, "IDLETIME", str(seconds))
                elif policy.endswith("lfu"):
                    _raw(log, c, "RESTORE", name, ttl, payload, "FREQ", str(freq))
                else:
                    _raw(log, c, "SET", name, "v", "PX", ttl)
            _raw(log, c, "SET", "persistent", "v")
            _raw(log, c, "CONFIG", "SET", "maxmemory", "1")
            _raw(log, c, "DBSIZE")
            log.append(("evicted, in order", [f.raw for f in _sync_frames(sub)]))
        return log

    results = _on_both(fresh, scenario)
    assert len(results["reference"][-1][1]) >= 5
    _assert_same(results)


@pytest.mark.parametrize("policy", ["allkeys-lru", "allkeys-random", "volatile-ttl"])
def test_eviction_keeps_writes_going(fresh, policy):
    """A limit 2 MB above the empty server's usage and 4 MB of 10 KB values written: every write succeeds, some
    keys are evicted (DBSIZE + evicted_keys = writes), usage ends at or under the limit, and every `evicted` event
    names a key that is gone. How many keys go depends on each server's accounting: compared by kind."""
    writes, size = 400, 10000

    def scenario(server):
        log = []
        with _conn(server) as c, _conn(server) as sub:
            evictions = _Evictions(c)
            _raw(log, c, "CONFIG", "SET", "notify-keyspace-events", "Ee")
            _raw(log, sub, "SUBSCRIBE", "__keyevent@0__:evicted")
            used = int(_info_dict(c, "memory")["used_memory"])
            limit = used + 2 * 1024 * 1024
            _raw(log, c, "CONFIG", "SET", "maxmemory-policy", policy)
            log.append(("CONFIG SET maxmemory <used + 2 MB>", c.execute("CONFIG", "SET", "maxmemory", str(limit)).raw))
            ttl = ["EX", "100000"] if policy.startswith("volatile") else []
            c.send_raw(b"".join(encode_command(["SET", "key:%d" % i, "x" * size] + ttl) for i in range(writes)))
            replies = {c.read_reply().raw for _ in range(writes)}
            log.append(("replies to the writes", sorted(replies)))
            used_after = int(_info_dict(c, "memory")["used_memory"])
            log.append(("used_memory <= maxmemory (+64 KB of slack)", used_after <= limit + 65536,
                        "used %d, limit %d" % (used_after, limit) if used_after > limit + 65536 else ""))
            # Every command runs an eviction pass first: lift the limit before counting.
            _raw(log, c, "CONFIG", "SET", "maxmemory", "0")
            dbsize = c.execute("DBSIZE").to_python()
            evicted = evictions()
            log.append(("some evicted, some kept", 0 < evicted < writes, 0 < dbsize < writes))
            log.append(("DBSIZE + evicted_keys", dbsize + evicted))
            frames = _sync_frames(sub)
            names = [f.value[2].value for f in frames]
            log.append(("one event per evicted key", len(names) == evicted, len(set(names)) == len(names)))
            gone = c.execute("EXISTS", *names).to_python() if names else 0
            log.append(("evicted keys exist", gone))
        return log

    _assert_same(_on_both(fresh, scenario))


# --- The evicted keyspace event -----------------------------------------------------------------------------------

def _pair_frames(frames, paired):
    """Frames as raw bytes; with keyspace and keyevent both on, as (keyspace, keyevent) pairs (Redis sends the
    keyspace message of a key first). Sorted: allkeys-random evicts in any order."""
    raws = [f.raw for f in frames]
    if paired:
        assert len(raws) % 2 == 0, raws
        raws = [(raws[i], raws[i + 1]) for i in range(0, len(raws), 2)]
    return sorted(raws)


@pytest.mark.parametrize("flags,paired", [("Ee", False), ("KEA", True), ("Ke", False), ("KA", False), ("Ex", False),
                                          ("E$lshzgtx", False), ("", False)])
def test_evicted_keyspace_events(fresh, flags, paired):
    """`e` (or A) turns on `evicted`: maxmemory 1 under allkeys-random evicts every key of db 0 and db 3, one event
    per key on __keyspace@<db>__:<key> and/or __keyevent@<db>__:evicted, and nothing else. A subscriber to
    __keyevent@0__:evicted only gets db 0's keys."""
    def scenario(server):
        log = []
        with _conn(server) as c, _conn(server) as psub, _conn(server) as sub:
            _dataset(c)
            _raw(log, c, "CONFIG", "SET", "notify-keyspace-events", flags)
            _raw(log, psub, "PSUBSCRIBE", "__key*__:*")
            _raw(log, sub, "SUBSCRIBE", "__keyevent@0__:evicted")
            _raw(log, c, "CONFIG", "SET", "maxmemory-policy", "allkeys-random")
            _raw(log, c, "CONFIG", "SET", "maxmemory", "1")
            _raw(log, c, "DBSIZE")
            log.append(("all patterns", _pair_frames(_sync_frames(psub), paired)))
            log.append(("__keyevent@0__:evicted", _pair_frames(_sync_frames(sub), False)))
            _raw(log, c, "CONFIG", "SET", "maxmemory", "0")
        return log

    results = _on_both(fresh, scenario)
    if flags in ("Ee", "KEA", "Ke", "KA"):
        assert results["reference"][-3][1], "Redis sent no evicted event"
    _assert_same(results)


# --- OBJECT IDLETIME / OBJECT FREQ ----------------------------------------------------------------------------------

LFU_ACCESSES = [
    ["GET", "k"], ["GET", "k"], ["EXISTS", "k"], ["TYPE", "k"], ["TTL", "k"], ["PTTL", "k"],
    ["OBJECT", "ENCODING", "k"], ["MEMORY", "USAGE", "k"], ["KEYS", "*"], ["SCAN", "0", "COUNT", "100"], ["RANDOMKEY"],
    ["TOUCH", "k"], ["DUMP", "k"],
    ["STRLEN", "k"], ["GETRANGE", "k", "0", "1"], ["MGET", "k", "k"], ["EXPIRE", "k", "100"], ["PERSIST", "k"],
    ["APPEND", "k", "w"], ["SETRANGE", "k", "0", "x"], ["SET", "k", "5"], ["INCR", "k"], ["SET", "k", "w", "GET"],
    ["SET", "k", "w", "NX"], ["SET", "k", "w", "XX"], ["MSET", "k", "1"], ["SETNX", "k", "1"], ["GETEX", "k"],
    ["COPY", "k", "c"], ["RENAME", "k", "r"], ["GET", "r"], ["RPUSH", "l", "a"], ["RPUSH", "l", "b"],
    ["LRANGE", "l", "0", "-1"], ["LLEN", "l"], ["LINDEX", "l", "0"], ["LPOP", "l"], ["SORT", "l", "ALPHA"],
    ["HSET", "h", "f", "v"], ["HGET", "h", "f"], ["HGETALL", "h"], ["HSET", "h", "g", "w"], ["SADD", "s", "a"],
    ["SISMEMBER", "s", "a"], ["ZADD", "z", "1", "a"], ["ZSCORE", "z", "a"], ["ZRANGE", "z", "0", "-1"],
    ["SUNIONSTORE", "s2", "s"], ["SUNIONSTORE", "s2", "s"], ["OBJECT", "FREQ", "k"],
]


def test_object_freq_counts_accesses_under_lfu(fresh):
    """allkeys-lfu with lfu-log-factor 0 (every access counts) and lfu-decay-time 0 (no decay): a new key starts at
    5, reads and writes that look the key up add 1, EXISTS/TYPE/TTL/OBJECT/MEMORY USAGE/KEYS/SCAN do not, an
    overwrite keeps the old counter, COPY's destination starts at 5, RENAME keeps it; 255 is the ceiling."""
    keys = ["k", "c", "r", "l", "h", "s", "z", "s2"]

    def scenario(server):
        log = []
        with _conn(server) as c:
            for name, value in (("maxmemory-policy", "allkeys-lfu"), ("lfu-log-factor", "0"), ("lfu-decay-time", "0")):
                _raw(log, c, "CONFIG", "SET", name, value)
            _raw(log, c, "SET", "k", "v")
            _raw(log, c, "OBJECT", "FREQ", "k")
            for args in LFU_ACCESSES:
                if args[0] == "MEMORY":  # the number is each server's own accounting
                    log.append((_label(args), c.execute(*args).type))
                else:
                    _raw(log, c, *args)
                log.append(("freqs", [c.execute("OBJECT", "FREQ", key).raw for key in keys]))
            c.send_raw(encode_command(["GET", "r"]) * 300)
            for _ in range(300):
                c.read_reply()
            _raw(log, c, "OBJECT", "FREQ", "r")
            _raw(log, c, "GET", "r")
            _raw(log, c, "OBJECT", "FREQ", "r")
            # OBJECT IDLETIME is an error under an LFU policy; missing keys are nil either way.
            for args in (["OBJECT", "IDLETIME", "r"], ["OBJECT", "IDLETIME", "nosuch"], ["OBJECT", "FREQ", "nosuch"],
                         ["OBJECT", "FREQ"], ["OBJECT", "FREQ", "r", "x"], ["OBJECT", "IDLETIME"]):
                _raw(log, c, *args)
            for policy in ("volatile-lfu", "allkeys-lru", "volatile-lru", "volatile-ttl", "volatile-random",
                           "allkeys-random", "noeviction"):
                _raw(log, c, "CONFIG", "SET", "maxmemory-policy", policy)
                _raw(log, c, "OBJECT", "FREQ", "r")
                _raw(log, c, "OBJECT", "FREQ", "nosuch")
                reply = c.execute("OBJECT", "IDLETIME", "r")
                # After a switch from LFU the field holds LFU data read as a clock: compare the kind only.
                log.append(("OBJECT IDLETIME r", reply.raw if reply.is_error else reply.type))
        return log

    _assert_same(_on_both(fresh, scenario))


def test_object_idletime_under_lru_and_noeviction(fresh):
    """IDLETIME counts seconds since the last touching access under every non-LFU policy (noeviction included):
    OBJECT, EXISTS, TYPE and TTL do not touch; GET and TOUCH reset it to 0."""
    policies = ["noeviction", "allkeys-lru"]
    conns = {which: _conn(server) for which, server in fresh.items()}
    try:
        for c in conns.values():
            c.execute("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
            for policy in policies:
                c.execute("SET", "a:" + policy, "v")
                c.execute("SET", "b:" + policy, "v")
                c.execute("RPUSH", "c:" + policy, "x")
        time.sleep(1.2)
        results = {}
        for which, c in conns.items():
            log = []
            for policy in policies:
                _raw(log, c, "CONFIG", "SET", "maxmemory-policy", policy)
                idle = c.execute("OBJECT", "IDLETIME", "a:" + policy).to_python()
                log.append(("idle after 1.2 s is 1 to 3", idle in (1, 2, 3)))
                for args in (["EXISTS", "a:" + policy], ["TYPE", "a:" + policy], ["TTL", "a:" + policy],
                             ["OBJECT", "ENCODING", "a:" + policy]):
                    c.execute(*args)
                idle = c.execute("OBJECT", "IDLETIME", "a:" + policy).to_python()
                log.append(("still idle after non-touching reads", idle in (1, 2, 3)))
                _raw(log, c, "GET", "b:" + policy)
                _raw(log, c, "OBJECT", "IDLETIME", "b:" + policy)
                _raw(log, c, "TOUCH", "c:" + policy, "nosuch")
                _raw(log, c, "OBJECT", "IDLETIME", "c:" + policy)
                _raw(log, c, "OBJECT", "FREQ", "a:" + policy)
                _raw(log, c, "OBJECT", "IDLETIME", "nosuch")
            results[which] = log
        _assert_same(results)
    finally:
        for c in conns.values():
            c.close()


# --- RESTORE IDLETIME / FREQ ----------------------------------------------------------------------------------------

def test_restore_idletime_and_freq(fresh):
    """RESTORE ... IDLETIME sets the idle time under every non-LFU policy (FREQ is then accepted and ignored);
    RESTORE ... FREQ sets the LFU counter under LFU policies (IDLETIME accepted and ignored; without FREQ a key
    starts at 5). Bad values, a missing value and both options together are errors; a repeated option's last
    value wins."""
    def scenario(server):
        log = []
        with _conn(server) as c:
            payload = _dump_payload(c)

            def restore(key, *options):
                _raw(log, c, "RESTORE", key, "0", payload, *options)

            def idle(key, expected):
                value = c.execute("OBJECT", "IDLETIME", key).to_python()
                assert isinstance(value, int), (server, key, value)
                log.append(("OBJECT IDLETIME " + key, Near(value), abs(value - expected) <= 1))

            for policy in ("noeviction", "allkeys-lru", "volatile-ttl"):
                _raw(log, c, "CONFIG", "SET", "maxmemory-policy", policy)
                restore("i1:" + policy, "IDLETIME", "1000")
                idle("i1:" + policy, 1000)
                restore("i2:" + policy, "IDLETIME", "0")
                idle("i2:" + policy, 0)
                restore("i3:" + policy, "IDLETIME", "10", "IDLETIME", "20")
                idle("i3:" + policy, 20)
                restore("i4:" + policy, "FREQ", "100")
                idle("i4:" + policy, 0)
                restore("i5:" + policy, "REPLACE", "IDLETIME", "86400", "ABSTTL")
                idle("i5:" + policy, 86400)
                _raw(log, c, "OBJECT", "FREQ", "i1:" + policy)
            for policy in ("allkeys-lfu", "volatile-lfu"):
                _raw(log, c, "CONFIG", "SET", "maxmemory-policy", policy)
                _raw(log, c, "CONFIG", "SET", "lfu-decay-time", "0")
                for freq in ("100", "0", "255", "1"):
                    restore("f%s:%s" % (freq, policy), "FREQ", freq)
                    _raw(log, c, "OBJECT", "FREQ", "f%s:%s" % (freq, policy))
                restore("fi:" + policy, "IDLETIME", "100")
                _raw(log, c, "OBJECT", "FREQ", "fi:" + policy)
                restore("fn:" + policy)
                _raw(log, c, "OBJECT", "FREQ", "fn:" + policy)
                restore("fr:" + policy, "FREQ", "7", "FREQ", "9")
                _raw(log, c, "OBJECT", "FREQ", "fr:" + policy)
                restore("fn:" + policy, "REPLACE", "FREQ", "42")
                _raw(log, c, "OBJECT", "FREQ", "fn:" + policy)
                _raw(log, c, "OBJECT", "IDLETIME", "fn:" + policy)
            # Errors, under an LRU and an LFU policy.
            for policy in ("allkeys-lru", "allkeys-lfu"):
                _raw(log, c, "CONFIG", "SET", "maxmemory-policy", policy)
                for options in (["IDLETIME", "-1"], ["IDLETIME", "abc"], ["IDLETIME", "1.5"], ["IDLETIME", ""],
                                ["IDLETIME", "9223372036854775808"], ["FREQ", "-1"], ["FREQ", "256"], ["FREQ", "x"],
                                ["FREQ", "99999999999999999999"], ["IDLETIME"], ["FREQ"],
                                ["IDLETIME", "1", "FREQ", "1"], ["FREQ", "1", "IDLETIME", "1"],
                                ["IDLETIME", "-5", "FREQ", "1"], ["FREQ", "300", "BOGUS"], ["BOGUS", "1"],
                                ["idletime", "5"], ["freq", "5"]):
                    restore("err:" + policy, *options)
                _raw(log, c, "RESTORE", "err2", "0", "garbage", "FREQ", "300")
                _raw(log, c, "RESTORE", "i1:allkeys-lru", "0", payload, "FREQ", "1")
                _raw(log, c, "EXISTS", "err:" + policy)
        return log

    _assert_same(_on_both(fresh, scenario))


# --- INFO ------------------------------------------------------------------------------------------------------------

# `# Memory` fields whose names do not depend on the allocator (Redis also prints allocator_allocated/active/
# resident, allocator_frag_*, allocator_rss_* and rss_overhead_*, whose values only jemalloc fills in).
REQUIRED_MEMORY_FIELDS = [
    "used_memory", "used_memory_human", "used_memory_rss", "used_memory_rss_human", "used_memory_peak",
    "used_memory_peak_human", "used_memory_peak_perc", "used_memory_overhead", "used_memory_startup",
    "used_memory_dataset", "used_memory_dataset_perc", "total_system_memory", "total_system_memory_human",
    "used_memory_lua", "used_memory_vm_eval", "used_memory_lua_human", "used_memory_scripts_eval",
    "number_of_cached_scripts", "number_of_functions", "number_of_libraries", "used_memory_vm_functions",
    "used_memory_vm_total", "used_memory_vm_total_human", "used_memory_functions", "used_memory_scripts",
    "used_memory_scripts_human", "maxmemory", "maxmemory_human", "maxmemory_policy", "mem_fragmentation_ratio",
    "mem_fragmentation_bytes", "mem_not_counted_for_evict", "mem_replication_backlog",
    "mem_total_replication_buffers", "mem_clients_slaves", "mem_clients_normal", "mem_cluster_links", "mem_aof_buffer",
    "mem_allocator", "active_defrag_running", "lazyfree_pending_objects", "lazyfreed_objects",
]
# Fields whose value is the same on any server with no replicas, no AOF, no cluster and no defrag.
ZERO_MEMORY_FIELDS = ["mem_not_counted_for_evict", "mem_replication_backlog", "mem_total_replication_buffers",
                      "mem_clients_slaves", "mem_cluster_links", "mem_aof_buffer", "active_defrag_running",
                      "lazyfree_pending_objects"]
REQUIRED_STATS_FIELDS = ["evicted_keys", "evicted_clients", "total_eviction_exceeded_time",
                         "current_eviction_exceeded_time"]

HUMAN = re.compile(r"^(\d+B|\d+\.\d\d[KMGTPEZY])$")
INTEGER = re.compile(r"^-?\d+$")
FIXED2 = re.compile(r"^-?\d+\.\d\d$")
PERCENT = re.compile(r"^\d+\.\d\d%$")


def _kind(name, value):
    if name.endswith("_human"):
        return "human" if HUMAN.match(value) else "bad human %r" % value
    if name.endswith("_perc"):
        return "percent" if PERCENT.match(value) else "bad percent %r" % value
    if name.endswith("_ratio"):
        return "fixed2" if FIXED2.match(value) else "bad ratio %r" % value
    if name in ("maxmemory_policy", "mem_allocator"):
        return "word"
    return "integer" if INTEGER.match(value) else "bad integer %r" % value


def test_info_memory_and_stats_fields(fresh):
    def scenario(server):
        log = []
        with _conn(server) as c:
            _dataset(c)
            memory = _info(c, "memory")
            names = [name for name, _ in memory]
            values = dict(memory)
            log.append(("missing # Memory fields", [n for n in REQUIRED_MEMORY_FIELDS if n not in values]))
            log.append(("order of the required # Memory fields", [n for n in names if n in REQUIRED_MEMORY_FIELDS]))
            log.append(("kinds", [(n, _kind(n, values[n])) for n in REQUIRED_MEMORY_FIELDS if n in values]))
            log.append(("zero fields", [(n, values.get(n)) for n in ZERO_MEMORY_FIELDS]))
            log.append(("maxmemory fields", [(n, values.get(n)) for n in ("maxmemory", "maxmemory_human",
                                                                          "maxmemory_policy")]))
            used, peak = int(values.get("used_memory", 0)), int(values.get("used_memory_peak", 0))
            log.append(("0 < used_memory <= used_memory_peak", 0 < used <= peak))
            # Memory is also a section of INFO's default and `all` replies.
            for section in ("default", "all", "everything"):
                text = c.execute("INFO", section).value.decode()
                log.append(("INFO %s has # Memory and maxmemory_policy" % section,
                            "# Memory\r\n" in text and "\r\nmaxmemory_policy:noeviction\r\n" in text))
            stats = _info(c, "stats")
            stat_names = [name for name, _ in stats]
            log.append(("order of the eviction # Stats fields", [n for n in stat_names if n in REQUIRED_STATS_FIELDS]))
            log.append(("eviction stats after RESETSTAT", [(n, v) for n, v in stats if n in REQUIRED_STATS_FIELDS]))
        return log

    results = _on_both(fresh, scenario)
    assert results["reference"][0] == ("missing # Memory fields", [])
    _assert_same(results)


MAXMEMORY_VALUES = ["100mb", "1", "0", "1gb", "1kb", "1500", "1048575", "1048576", "123456789", "1099511627776",
                    "1125899906842624", "1152921504606846976", "18446744073709551615", "1g", "5k"]


def test_info_maxmemory_values(fresh):
    """maxmemory / maxmemory_human / maxmemory_policy after CONFIG SET: bytes, bytesToHuman (B, K, M, G, T, P, then
    plain bytes), and a value above INT64_MAX printed as a signed number."""
    def scenario(server):
        log = []
        with _conn(server) as c:
            for policy in ("allkeys-lru", "volatile-ttl", "noeviction"):
                _raw(log, c, "CONFIG", "SET", "maxmemory-policy", policy)
                for value in MAXMEMORY_VALUES:
                    _raw(log, c, "CONFIG", "SET", "maxmemory", value)
                    fields = _info_dict(c, "memory")
                    log.append(("INFO after maxmemory " + value,
                                [(n, fields.get(n)) for n in ("maxmemory", "maxmemory_human", "maxmemory_policy")]))
                    # Back above usage before the next value (allkeys-lru would evict nothing anyway: no keys).
                    c.execute("CONFIG", "SET", "maxmemory", "0")
        return log

    _assert_same(_on_both(fresh, scenario))


def test_eviction_exceeded_time(fresh):
    """Over the limit with nothing evictable, current_eviction_exceeded_time counts milliseconds (and is included
    in total_eviction_exceeded_time); a limit above usage stops the clock and folds it into the total;
    evicted_keys counts evictions; CONFIG RESETSTAT zeroes all of them."""
    def scenario(server):
        log = []
        with _conn(server) as c:
            base = _stat(c, "evicted_keys")

            def stats(absolute=False):
                fields = _info_dict(c, "stats")
                values = [int(fields[n]) for n in REQUIRED_STATS_FIELDS]
                if not absolute:
                    values[0] -= base
                return values

            _raw(log, c, "SET", "k", "v")
            _raw(log, c, "CONFIG", "SET", "maxmemory", "1")
            time.sleep(0.3)
            evicted, clients, total, current = stats()
            log.append(("over the limit 0.3 s", evicted, clients, 200 <= current <= 5000, total >= current))
            _raw(log, c, "CONFIG", "SET", "maxmemory", "4gb")
            _raw(log, c, "PING")
            evicted, clients, total, current = stats()
            log.append(("under the limit again", evicted, clients, current, 200 <= total <= 5000))
            time.sleep(0.1)
            log.append(("total frozen", stats()[2] == total))
            _raw(log, c, "CONFIG", "SET", "maxmemory-policy", "allkeys-random")
            _raw(log, c, "CONFIG", "SET", "maxmemory", "1")
            _raw(log, c, "DBSIZE")
            time.sleep(0.2)
            evicted, clients, total2, current = stats()
            log.append(("allkeys-random, everything evicted, still over", evicted, clients, current >= 100,
                        total2 >= total + current))
            _raw(log, c, "CONFIG", "SET", "maxmemory", "4gb")
            _raw(log, c, "CONFIG", "RESETSTAT")
            log.append(("after RESETSTAT", stats(absolute=True)))
        return log

    _assert_same(_on_both(fresh, scenario))


def test_eviction_exceeded_time_keeps_running_when_the_limit_is_removed(fresh):
    """A Redis 7.0 quirk: the exceeded-time clock is only stopped by an eviction pass that finds memory under the
    limit, and no pass runs while maxmemory is 0, so after `CONFIG SET maxmemory 0` the current time keeps growing
    until a later non-zero limit (or CONFIG RESETSTAT)."""
    def scenario(server):
        log = []
        with _conn(server) as c:
            def current():
                return int(_info_dict(c, "stats")["current_eviction_exceeded_time"])

            _raw(log, c, "CONFIG", "SET", "maxmemory", "1")
            time.sleep(0.1)
            _raw(log, c, "CONFIG", "SET", "maxmemory", "0")
            first = current()
            time.sleep(0.25)
            second = current()
            log.append(("still counting with maxmemory 0", first >= 50, second >= first + 200))
            _raw(log, c, "CONFIG", "SET", "maxmemory", "4gb")
            log.append(("stopped by a pass under the limit", current()))
        return log

    _assert_same(_on_both(fresh, scenario))


# --- CONFIG SET / GET ----------------------------------------------------------------------------------------------

CONFIG_CASES = [
    ("maxmemory", ["100mb", "1gb", "1GB", "1g", "1k", "1kb", "1b", "100", "0", "-1", "abc", "1.5mb", "10%", "",
                   "18446744073709551615", "18446744073709551616", "9223372036854775808", "  5", "5 ", "0x10", "1e3",
                   "4294967296", "1tb", "+5", "-0", "1 mb"]),
    ("maxmemory-policy", ["volatile-lru", "allkeys-lru", "volatile-lfu", "allkeys-lfu", "volatile-random",
                          "allkeys-random", "volatile-ttl", "noeviction", "ALLKEYS-LRU", "Volatile-TTL", "lru", "",
                          "noeviction ", "allkeys", "no-eviction"]),
    ("maxmemory-samples", ["1", "5", "10", "64", "65", "1000", "2147483647", "0", "-1", "abc", "2147483648", "3.5",
                           "5"]),
    ("maxmemory-eviction-tenacity", ["0", "100", "101", "-1", "abc", "50", "10"]),
    ("lazyfree-lazy-eviction", ["yes", "no", "YES", "No", "maybe", "1", "", "no"]),
    ("maxmemory-clients", ["10%", "0", "100mb", "1gb", "100%", "101%", "0%", "-1%", "abc", "1%", "50%", "10.5%", "%",
                           "1k", "1000", "-1", "5%%", "1kb%", "0"]),
    ("lfu-log-factor", ["0", "100", "-1", "abc", "10"]),
    ("lfu-decay-time", ["0", "60", "-1", "abc", "1"]),
]


def test_config_set_get(fresh):
    def scenario(server):
        log = []
        with _conn(server) as c:
            for name, values in CONFIG_CASES:
                for value in values:
                    _raw(log, c, "CONFIG", "SET", name, value)
                    _raw(log, c, "CONFIG", "GET", name)
                _raw(log, c, "CONFIG", "SET", name, dict(DEFAULTS)[name])
            # Several at once: all or nothing; duplicates refused.
            for args in (["maxmemory", "10mb", "maxmemory-policy", "allkeys-lru"],
                         ["maxmemory", "20mb", "maxmemory-policy", "bogus"],
                         ["maxmemory-policy", "bogus", "maxmemory", "20mb"],
                         ["maxmemory-samples", "7", "maxmemory-clients", "200%"],
                         ["maxmemory", "1", "maxmemory", "2"], ["maxmemory", "1", "MAXMEMORY", "2"],
                         ["MAXMEMORY-POLICY", "volatile-ttl", "Maxmemory-Samples", "9"]):
                _raw(log, c, "CONFIG", "SET", *args)
                pairs = c.execute("CONFIG", "GET", "maxmemory*").to_python()
                log.append(("CONFIG GET maxmemory*", sorted(zip(pairs[::2], pairs[1::2]))))
            _raw(log, c, "CONFIG", "SET", "maxmemory")
            _raw(log, c, "CONFIG", "GET", "MAXMEMORY-policy")
            pairs = c.execute("CONFIG", "GET", "maxmemory*", "lazyfree-lazy-eviction", "lfu-*").to_python()
            log.append(("CONFIG GET several", sorted(zip(pairs[::2], pairs[1::2]))))
        return log

    _assert_same(_on_both(fresh, scenario))


# --- MEMORY USAGE / MEMORY STATS ------------------------------------------------------------------------------------

def test_memory_usage(fresh):
    """An integer for every key type (the number itself is the server's own accounting), nil for a missing key,
    and the errors of the SAMPLES option, which is parsed before the key is looked up."""
    def scenario(server):
        log = []
        with _conn(server) as c:
            _dataset(c)
            c.execute("RPUSH", "big", *[str(i) for i in range(300)])
            c.execute("SET", "long", "x" * 5000)

            def usage(*args):
                reply = c.execute("MEMORY", "USAGE", *args)
                ok = reply.type == ":" and int(reply.value) > 0
                log.append((_label(("MEMORY", "USAGE") + args), "positive integer" if ok else reply.raw))

            for key in ("s", "str", "l", "h", "set", "z", "hll", "t", "big", "long"):
                usage(key)
            usage("big", "SAMPLES", "0")
            usage("big", "SAMPLES", "5")
            usage("big", "samples", "2", "SAMPLES", "3")
            small = c.execute("MEMORY", "USAGE", "str").to_python()
            large = c.execute("MEMORY", "USAGE", "long").to_python()
            log.append(("a 5000-byte string uses more than a 5-byte one", large > small + 4000))
            for args in (["nosuch"], ["nosuch", "SAMPLES", "5"], ["big", "SAMPLES", "-1"], ["nosuch", "SAMPLES", "-1"],
                         ["big", "SAMPLES", "x"], ["big", "SAMPLES"], ["big", "FOO", "1"], ["big", "FOO"],
                         ["nosuch", "SAMPLES", "x"], []):
                _raw(log, c, "MEMORY", "USAGE", *args)
            _raw(log, c, "PING")
        return log

    _assert_same(_on_both(fresh, scenario))


# MEMORY STATS fields whose names do not depend on the allocator (Redis also has allocator.*,
# allocator-fragmentation.*, allocator-rss.* and rss-overhead.*), in Redis's order; db.<n> come after
# functions.caches, one per database that has keys.
REQUIRED_MEMORY_STATS = [
    "peak.allocated", "total.allocated", "startup.allocated", "replication.backlog", "clients.slaves",
    "clients.normal", "cluster.links", "aof.buffer", "lua.caches", "functions.caches", "overhead.total", "keys.count",
    "keys.bytes-per-key", "dataset.bytes", "dataset.percentage", "peak.percentage", "fragmentation",
    "fragmentation.bytes",
]
ZERO_MEMORY_STATS = ["replication.backlog", "clients.slaves", "cluster.links", "aof.buffer"]


def test_memory_stats(fresh):
    def scenario(server):
        log = []
        with _conn(server) as c:
            _dataset(c)
            c.execute("SELECT", "5")
            c.execute("SET", "e", "v", "EX", "100")
            c.execute("SELECT", "0")
            for resp3 in (False, True):
                if resp3:
                    c.execute("HELLO", "3")
                reply = c.execute("MEMORY", "STATS")
                log.append(("reply type", reply.type))
                if not reply.is_aggregate:
                    log.append(("MEMORY STATS", reply.raw))
                    continue
                items = reply.value or []
                pairs = [(items[i].raw.split(b"\r\n")[-2].decode("latin-1"), items[i + 1])
                         for i in range(0, len(items) - 1, 2)]
                names = [name for name, _ in pairs]
                values = dict(pairs)
                log.append(("missing", [n for n in REQUIRED_MEMORY_STATS if n not in values]))
                log.append(("order", [n for n in names if n in REQUIRED_MEMORY_STATS or n.startswith("db.")]))
                log.append(("value types", [(n, values[n].type) for n in REQUIRED_MEMORY_STATS if n in values]))
                log.append(("zeros", [(n, values[n].raw) for n in ZERO_MEMORY_STATS if n in values]))
                log.append(("keys.count", values["keys.count"].raw if "keys.count" in values else None))
                for name in names:
                    if name.startswith("db."):
                        sub = values[name]
                        log.append((name, sub.type,
                                    [(sub.value[i].raw, sub.value[i + 1].type) for i in range(0, len(sub.value), 2)]))
                # A reply whose header miscounts its elements shows up here, as a desynchronised stream.
                _raw(log, c, "PING", "after-stats")
            _raw(log, c, "MEMORY", "STATS", "x")
            _raw(log, c, "PING", "after-error")
        return log

    results = _on_both(fresh, scenario)
    assert results["reference"][1] == ("missing", [])
    _assert_same(results)
