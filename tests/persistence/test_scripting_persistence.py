"""Scripts and functions meet persistence, compared with redis-server 7.0 started the same way.

* AOF, byte for byte: each scenario below runs on a fresh redis-server and a fresh Swiftlet (`appendonly yes`,
  `appendfsync always`, active expiry off so that lazy expiry is deterministic); the replies must be equal and so
  must the incremental AOF files (Redis 7.0's multi-part AOF: appendonlydir/, a manifest, the `i` file holds the
  commands). Scenarios: EVAL with one write (a bare command), several writes (MULTI/EXEC), read-only scripts (nothing),
  `redis.set_repl` (REPL_NONE / REPL_AOF / REPL_REPLICA / REPL_ALL), scripts failing after writes (partial effects),
  FUNCTION LOAD / DELETE / FLUSH / DUMP / RESTORE and FCALL / FCALL_RO, EVAL inside MULTI/EXEC, SELECT inside
  scripts and functions, commands whose propagated form is rewritten (relative expiries to PXAT/PEXPIREAT,
  INCRBYFLOAT to SET KEEPTTL, SPOP to SREM/DEL, RESTORE ttl to ABSTTL, ...), keys expiring lazily inside scripts.
* Restart: the scenarios back to back on each server (but those whose writes are kept out of the AOF on purpose),
  then each restarts from its own AOF: DEBUG DIGEST, key counts and FUNCTION LIST WITHCODE are unchanged, and equal
  across the two servers.
* RDB interop of functions both ways (libraries with flags and descriptions, alone and with a dataset of every
  type): SAVE on one server, the other starts on a copy of dump.rdb; FUNCTION LIST WITHCODE matches, FCALL and
  FCALL_RO work. redis-check-rdb accepts Swiftlet's file. DEBUG RELOAD keeps the libraries.

FUNCTION DUMP with `rdbcompression no` is compared too. A difference found later is kept visible as an
`xfail(strict=True)` case, so that its fix turns it into a failure to unmark.
"""

import os
import re
import shutil
import subprocess
import time

import pytest

from support import persistence
from support.persistence import build_dataset, call, compare, snapshot, start_redis
from support.servers import require_tool


def start_swiftlet(directory, *extra):
    return persistence.start_swiftlet(directory, "--save", "", *extra)


STARTERS = {"redis": start_redis, "swiftlet": start_swiftlet}
AOF_ARGS = ("--appendonly", "yes", "--appendfsync", "always", "--enable-debug-command", "yes")
DUMPED = object()  # in a scenario: the reply of the last FUNCTION DUMP
SLEEP = ("sleep",)  # in a scenario: let PX 1 keys expire (active expiry is off, so they stay until touched)

TINY = "#!lua name=tiny\nredis.register_function('t', function() return 1 end)"  # short: its DUMP is not LZF'd
AOFLIB = """#!lua name=aoflib
redis.register_function('setincr', function(keys, args)
  redis.call('SET', keys[1], args[1]); return redis.call('INCR', keys[2]) end)
redis.register_function('one', function(keys, args) return redis.call('SET', keys[1], args[1]) end)
redis.register_function{function_name='ro', flags={'no-writes'},
  callback=function(keys) return redis.call('GET', keys[1]) end}
"""
SELLIB = """#!lua name=sellib
redis.register_function('sel', function(keys, args)
  redis.call('SELECT', 11); redis.call('SET', keys[1], args[1])
  redis.call('SELECT', 12); return redis.call('SET', keys[1], args[1]) end)
"""


def scenario(name, *commands, marks=()):
    return pytest.param(list(commands), id=name, marks=marks)


def ev(*statements, keys=(), args=()):
    """EVAL of the Lua statements joined by '; '."""
    return ["EVAL", "; ".join(statements), len(keys), *keys, *args]


def rc(*args):
    """redis.call(...) in Lua, the arguments quoted."""
    return "redis.call(%s)" % ", ".join("'%s'" % a for a in args)


SCENARIOS = [
    # Redis 7.0 propagates a script's effects, not the EVAL; a single command is not wrapped.
    scenario("one_write", ev("return redis.call('SET', KEYS[1], ARGV[1])", keys=["one"], args=["v1"])),
    # Several: MULTI ... EXEC; PEXPIRE/EXPIRE become PEXPIREAT.
    scenario("several_writes", ev(rc("SET", "sw1", "v"), rc("INCR", "sw2"), rc("PEXPIRE", "sw1", 100000),
                                  rc("EXPIRE", "sw2", 200), "return " + rc("DEL", "one"))),
    # Reads, and writes that change nothing, propagate nothing.
    scenario("read_only",
             ["SET", "ro", "x"],
             ev("return " + rc("GET", "ro")),
             ["EVAL_RO", "return " + rc("GET", "ro"), 0],
             ev("#!lua flags=no-writes\nreturn " + rc("EXISTS", "ro")),
             ev(rc("DEL", "missing"), rc("EXPIRE", "missing", 10), "return " + rc("HDEL", "ro2", "f"))),
    scenario("set_repl",
             ev("redis.set_repl(redis.REPL_NONE)", rc("SET", "rn1", "a"), rc("SET", "rn2", "b"),
                "redis.set_repl(redis.REPL_ALL)", rc("SET", "ra1", "c"), "return " + rc("SET", "ra2", "d")),
             ev("redis.set_repl(redis.REPL_NONE)", rc("SET", "rn3", "a"),
                "redis.set_repl(redis.REPL_ALL)", "return " + rc("SET", "ra3", "b")),
             ev("redis.set_repl(redis.REPL_AOF)", rc("SET", "raof", "a"),
                "redis.set_repl(redis.REPL_REPLICA)", "return " + rc("SET", "rrep", "b")),
             ev("redis.set_repl(redis.REPL_SLAVE)", "return " + rc("SET", "rslave", "a")),
             ev("return redis.set_repl(99)")),
    # What ran before the error is propagated.
    scenario("error_after_writes",
             ev(rc("SET", "e1", "a"), "return " + rc("INCR", "e1")),
             ev(rc("SET", "e2", "a"), rc("SET", "e3", "a"), "error('boom')"),
             ev(rc("SET", "e4", "a"), "return " + rc("NOSUCHCOMMAND")),
             ev(rc("SET", "e5", "a"), "redis.pcall('INCR', 'e5')", "return " + rc("SET", "e6", "b"))),
    # FUNCTION LOAD / RESTORE / FLUSH / DELETE are propagated as themselves (failed ones not at all); FCALL as EVAL.
    scenario("functions",
             ["FUNCTION", "LOAD", TINY],
             ["FUNCTION", "DUMP"],  # the same bytes on both (replies are compared): TINY is too short to compress
             ["FUNCTION", "FLUSH"],
             ["FUNCTION", "RESTORE", DUMPED],
             ["FUNCTION", "LOAD", AOFLIB],
             ["FCALL", "setincr", 2, "fa", "fb", "v"],
             ["FCALL", "one", 1, "fc", "v"],
             ["FCALL_RO", "ro", 1, "fa"],
             ["FUNCTION", "LOAD", "not a library"],
             ["FUNCTION", "LOAD", "REPLACE", AOFLIB],
             ["FUNCTION", "DELETE", "tiny"],
             ["FUNCTION", "DELETE", "nosuchlib"],
             ["FCALL", "setincr", 2, "fa", "fb", "w"]),
    # Inside MULTI/EXEC the script's effects join the transaction's single MULTI ... EXEC.
    scenario("multi_exec",
             ["MULTI"], ["SET", "m1", "1"], ev(rc("SET", "m2", "2"), "return " + rc("SET", "m3", "3")), ["INCR", "m4"],
             ["EXEC"],
             ["MULTI"], ev("return " + rc("SET", "m5", "a")), ["EXEC"],
             ["MULTI"], ev("return 1"), ["SET", "m6", "c"], ["EXEC"],
             ["MULTI"], ev("return 1"), ["EXEC"],
             ["MULTI"], ev(rc("SET", "m7", "a"), "error('x')"), ["SET", "m8", "b"], ["EXEC"]),
    # A SELECT inside a script or function shows as SELECT lines around its writes; the caller's db is restored.
    scenario("select",
             ev(rc("SELECT", 1), "return " + rc("SET", "db1key", "x")),
             ["SET", "in0", "1"],
             ev(rc("SET", "w0", "a"), rc("SELECT", 1), rc("SET", "w1", "b"), rc("SELECT", 0),
                "return " + rc("SET", "w2", "c")),
             ["SELECT", 2],
             ev("return " + rc("SET", "in2", "a")),
             ev(rc("SELECT", 3), rc("SET", "in3", "a"), "return " + rc("SET", "in3b", "a")),
             ["SET", "back2", "x"],
             ["MULTI"], ["SELECT", 8], ev("return " + rc("SET", "e8", "a")), ["SELECT", 9],
             ev(rc("SELECT", 10), "return " + rc("SET", "e10", "a")), ["SET", "e9", "b"], ["EXEC"],
             ["FUNCTION", "LOAD", SELLIB],
             ["FCALL", "sel", 1, "fk", "fv"],
             ["SELECT", 0]),
    # Commands whose propagated form differs from the call.
    scenario("rewritten",
             ev(rc("SET", "x1", "v", "EX", 100), rc("SETEX", "x2", 100, "v"), rc("PSETEX", "x3", 100000, "v"),
                rc("GETEX", "x2", "EX", 200), rc("SET", "x4", "v", "EXAT", 4102444800),
                "return " + rc("EXPIREAT", "x4", 4102444801)),
             ev(rc("INCRBYFLOAT", "fl", "10.5"), rc("INCRBYFLOAT", "fl", "0.1"), rc("INCRBYFLOAT", "fl2", "1e3"),
                "return " + rc("HINCRBYFLOAT", "hf", "f", "0.5")),
             ev(rc("SADD", "sp", "only"), rc("SPOP", "sp"), rc("SADD", "sp2", "a", "b"), rc("SPOP", "sp2", 5),
                rc("SET", "gd", "x"), "return " + rc("GETDEL", "gd")),
             ev(rc("SET", "neg", "a"), rc("EXPIRE", "neg", -1), rc("SET", "pe", "a"), rc("EXPIRE", "pe", 100),
                "return " + rc("PERSIST", "pe")),
             ev(rc("SET", "rs", "x"), "local d = " + rc("DUMP", "rs"), "redis.call('RESTORE', 'rs2', 100000, d)",
                "return redis.call('RESTORE', 'rs3', 0, d)"),
             ev(rc("RPUSH", "l", "a", "b", "c"), rc("LMPOP", 1, "l", "LEFT"), rc("ZADD", "z", 1, "a", 2, "b"),
                rc("ZPOPMIN", "z"), "return " + rc("LMOVE", "l", "l2", "LEFT", "RIGHT")),
             ev(rc("SET", "cp", "x"), rc("COPY", "cp", "cp2", "DB", 3), rc("MOVE", "cp", 4),
                "return " + rc("SWAPDB", 5, 6))),
    # A key found expired by a script's command is propagated as DEL, inside the script's MULTI when there is one.
    scenario("lazy_expiry",
             ["SET", "lz1", "v", "PX", 1], ["SET", "lz2", "v", "PX", 1], SLEEP,
             ev("return " + rc("GET", "lz1")),
             ev(rc("SET", "lzw", "b"), "return " + rc("GET", "lz2"))),
    # Redis propagates that DEL whatever redis.set_repl asked.
    scenario("lazy_expiry_under_repl_none",
             ["SET", "lzn1", "v", "PX", 1], ["SET", "lzn2", "v", "PX", 1], SLEEP,
             ev("redis.set_repl(redis.REPL_NONE)", "return " + rc("GET", "lzn1")),
             ev(rc("SET", "lzna", "b"), "redis.set_repl(redis.REPL_NONE)", rc("GET", "lzn2"),
                "redis.set_repl(redis.REPL_ALL)", "return " + rc("SET", "lznc", "d"))),
]


def incr_file(directory):
    """The incremental file named last in appendonlydir's manifest."""
    with open(os.path.join(directory, "appendonlydir", "appendonly.aof.manifest")) as f:
        entries = [line.split() for line in f.read().splitlines() if line.strip()]
    with open(os.path.join(directory, "appendonlydir", [e for e in entries if e[-1] == "i"][-1][1]), "rb") as f:
        return f.read()


def run_commands(conn, commands):
    replies, dumped = [], None
    for command in commands:
        if command is SLEEP:
            time.sleep(0.05)
            continue
        reply = call(conn, *[dumped if arg is DUMPED else arg for arg in command])
        if [str(a).upper() for a in command[:2]] == ["FUNCTION", "DUMP"]:
            dumped = reply
        replies.append(reply)
    return replies


# A relative expiry is written as an absolute Unix time in ms (PXAT, PEXPIREAT, RESTORE ... ABSTTL): 13 digits
# starting with 1 (years 2001-2033; the fixed times of the scenarios are 41024448...). The two servers run one
# after the other, so these are replaced by a placeholder and compared as offsets from each run's start.
NOW_MS = re.compile(rb"\$13\r\n(1\d{12})\r\n")


def without_times(data, start_ms):
    offsets = []

    def placeholder(match):
        offsets.append(int(match.group(1)) - start_ms)
        return b"$13\r\n<now+offset>\r\n"

    return NOW_MS.sub(placeholder, data), offsets


def run_scenario(name, directory, commands):
    """Runs `commands` on a fresh server `name` with the AOF on: (replies, AOF bytes without times, time offsets)."""
    directory.mkdir()
    server = STARTERS[name](directory, *AOF_ARGS)
    try:
        with server.connect() as conn:
            assert call(conn, "DEBUG", "SET-ACTIVE-EXPIRE", 0) == "OK"
            start_ms = int(time.time() * 1000)
            replies = run_commands(conn, commands)
            # Every scenario ends with a plain write: it shows which database the log is in after the scripts.
            replies.append(call(conn, "SET", "the-end", "1"))
    finally:
        server.stop()
    data, offsets = without_times(incr_file(directory), start_ms)
    return replies, data, offsets


@pytest.mark.parametrize("commands", SCENARIOS)
def test_script_effects_in_the_aof_match_redis(tmp_path, commands):
    redis_replies, expected, redis_offsets = run_scenario("redis", tmp_path / "redis", commands)
    replies, actual, offsets = run_scenario("swiftlet", tmp_path / "swiftlet", commands)
    assert replies == redis_replies
    assert actual.split(b"\r\n") == expected.split(b"\r\n"), "swiftlet:\n%r\nredis:\n%r" % (actual, expected)
    # The absolute times: the same relative expiry on both sides, within 2 s (the runs are sequential).
    assert len(offsets) == len(redis_offsets)
    for ours, theirs in zip(offsets, redis_offsets):
        assert abs(ours - theirs) <= 2000, (offsets, redis_offsets)


def libraries(listing):
    """FUNCTION LIST WITHCODE as {library: (engine, code, {function: (description, flags)})}. Redis walks its dicts
    of libraries and functions in an order that changes from process to process (seeded hashing): not compared."""
    out = {}
    for library in listing:
        fields = dict(zip(library[::2], library[1::2]))
        functions = {}
        for function in fields[b"functions"]:
            f = dict(zip(function[::2], function[1::2]))
            functions[f[b"name"]] = (f[b"description"], f[b"flags"])
        out[fields[b"library_name"]] = (fields[b"engine"], fields[b"library_code"], functions)
    return out


def state(conn):
    """What a restart must keep: the dataset's digest (Redis's algorithm on both), key counts, the libraries."""
    sizes = []
    for db in range(16):
        call(conn, "SELECT", db)
        sizes.append(call(conn, "DBSIZE"))
    call(conn, "SELECT", 0)
    return call(conn, "DEBUG", "DIGEST"), sizes, libraries(call(conn, "FUNCTION", "LIST", "WITHCODE"))


def test_each_server_restarts_from_its_own_aof(tmp_path):
    """All scenarios back to back, then a restart from the AOF. Left out: set_repl (its REPL_NONE and REPL_REPLICA
    writes are kept out of the AOF on purpose, so they are lost by design) and the lazy-expiry scenarios (their
    keys are gone either way; a missing DEL would only show as an already-expired key after the restart)."""
    commands = [c for p in SCENARIOS if p.id != "set_repl" and not p.id.startswith("lazy") for c in p.values[0]]
    states = {}
    for name, starter in STARTERS.items():
        directory = tmp_path / name
        directory.mkdir()
        server = starter(directory, *AOF_ARGS)
        try:
            with server.connect() as conn:
                run_commands(conn, commands)
                states[name] = state(conn)
                assert len(states[name][2]) == 2  # aoflib and sellib
        finally:
            server.stop()
        again = starter(directory, *AOF_ARGS)
        try:
            with again.connect() as conn:
                assert state(conn) == states[name], name
        finally:
            again.stop()
    assert states["swiftlet"] == states["redis"]


# MARK: - RDB interop of functions

LIBRARY = """#!lua name=interop
redis.register_function{function_name='setcount', description='sets a key and counts', flags={'allow-oom'},
  callback=function(keys, args) redis.call('SET', keys[1], args[1]); return redis.call('INCR', keys[2]) end}
redis.register_function{function_name='getter', flags={'no-writes', 'allow-stale', 'no-cluster'},
  callback=function(keys) return redis.call('GET', keys[1]) end}
"""
SECOND = """#!lua name=second
redis.register_function{function_name='plain', description='no keys', flags={'allow-cross-slot-keys'},
  callback=function() return 'plain' end}
"""


def load_libraries(conn, both):
    assert call(conn, "FUNCTION", "LOAD", LIBRARY) == b"interop"
    if both:
        assert call(conn, "FUNCTION", "LOAD", SECOND) == b"second"


def assert_functions_run(conn, both):
    assert call(conn, "FCALL", "setcount", 2, "fn:key", "fn:count", "v") == 1
    assert call(conn, "FCALL", "setcount", 2, "fn:key", "fn:count", "w") == 2
    assert call(conn, "FCALL_RO", "getter", 1, "fn:key") == b"w"
    # setcount lacks no-writes, so the flags were loaded, not defaulted.
    assert "write flag" in str(call(conn, "FCALL_RO", "setcount", 2, "fn:key", "fn:count", "x"))
    if both:
        assert call(conn, "FCALL", "plain", 0) == b"plain"


@pytest.mark.parametrize("with_keys", [False, True], ids=["functions", "functions_and_keys"])
@pytest.mark.parametrize("source,target", [("swiftlet", "redis"), ("redis", "swiftlet")])
def test_rdb_with_functions_loads_on_the_other_server(tmp_path, source, target, with_keys):
    source_dir, target_dir = tmp_path / source, tmp_path / target
    source_dir.mkdir()
    target_dir.mkdir()
    server = STARTERS[source](source_dir)
    try:
        with server.connect() as conn:
            if with_keys:
                build_dataset(conn)
                expected = snapshot(conn)
            load_libraries(conn, with_keys)
            listed = libraries(call(conn, "FUNCTION", "LIST", "WITHCODE"))
            assert call(conn, "SAVE") == "OK"
    finally:
        server.stop()
    if source == "swiftlet":
        check = subprocess.run([require_tool("redis-check-rdb"), str(source_dir / "dump.rdb")],
                               capture_output=True, text=True, timeout=60)
        assert check.returncode == 0 and "RDB looks OK" in check.stdout, check.stdout + check.stderr
    shutil.copy(source_dir / "dump.rdb", target_dir / "dump.rdb")
    other = STARTERS[target](target_dir)
    try:
        with other.connect() as conn:
            assert libraries(call(conn, "FUNCTION", "LIST", "WITHCODE")) == listed
            assert len(listed) == (2 if with_keys else 1)
            if with_keys:
                compare(expected, snapshot(conn))
            assert_functions_run(conn, with_keys)
    finally:
        other.stop()


@pytest.mark.parametrize("name", ["swiftlet", "redis"])
def test_debug_reload_keeps_functions(tmp_path, name):
    server = STARTERS[name](tmp_path, "--enable-debug-command", "yes")
    try:
        with server.connect() as conn:
            call(conn, "SET", "plain-key", "1")
            load_libraries(conn, True)
            before = state(conn)
            assert call(conn, "DEBUG", "RELOAD") == "OK"
            assert state(conn) == before
            assert_functions_run(conn, True)
    finally:
        server.stop()


def test_function_dump_payload_honours_rdbcompression_no(tmp_path):
    payloads = {}
    for name, starter in STARTERS.items():
        directory = tmp_path / name
        directory.mkdir()
        server = starter(directory, "--rdbcompression", "no")
        try:
            with server.connect() as conn:
                load_libraries(conn, False)
                payloads[name] = call(conn, "FUNCTION", "DUMP")
        finally:
            server.stop()
    assert payloads["swiftlet"] == payloads["redis"]
