"""swiftlet-cli's --hotkeys, --intrinsic-latency, --lru-test and --quoted-input against redis-cli 7.0.

Deterministic output is compared byte for byte with redis-cli's on the same redis-server. --hotkeys is made
deterministic with `lfu-log-factor 0` (every access counts) and `lfu-decay-time 0` (no decay). Timings
(--intrinsic-latency) and the random load of the endless --lru-test are compared by pattern; --lru-test runs on a
pseudo-terminal for a bounded time (on a pipe redis-cli's stdout is block-buffered and a killed redis-cli prints
nothing).
"""

import os
import re
import select
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import test_swiftlet_cli as base  # noqa: E402
from support.resp import RespConnection  # noqa: E402
from support.servers import ServerProcess, ServerStartError, free_port, reference_argv  # noqa: E402

TIMEOUT = 30


@pytest.fixture(scope="module")
def server():
    port = free_port()
    proc = ServerProcess("redis-server", reference_argv(port), port)
    try:
        proc.start()
    except ServerStartError as e:
        pytest.fail(str(e), pytrace=False)
    yield proc
    proc.stop()


def execute(server, *commands):
    with RespConnection(server.host, server.port, timeout=10) as c:
        return [c.execute(*command).to_python() for command in commands]


def run(tool, server, args, address=True, timeout=TIMEOUT):
    argv = [tool] + (["-h", server.host, "-p", str(server.port)] if address else []) + list(args)
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def both(server, args, address=True, timeout=TIMEOUT):
    return [run(tool, server, args, address, timeout) for tool in (base.redis_cli(), base.swiftlet_cli())]


# MARK: - --hotkeys

def test_hotkeys_needs_an_lfu_policy(server):
    execute(server, ("FLUSHALL",), ("CONFIG", "SET", "maxmemory-policy", "noeviction"), ("SET", "k", "v"))
    expected, actual = both(server, ["--hotkeys"])
    assert actual == expected
    assert expected[0] == 1 and expected[2].startswith(b"Error: ERR An LFU maxmemory policy is not selected")


@pytest.mark.parametrize("args", [["--hotkeys"], ["--hotkeys", "--pattern", "k*"], ["--hotkeys", "--no-raw"]])
def test_hotkeys_report(server, args):
    execute(server, ("FLUSHALL",), ("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"),
            ("CONFIG", "SET", "lfu-log-factor", "0"), ("CONFIG", "SET", "lfu-decay-time", "0"))
    # 20 keys with distinct counters (more than the 16 kept), a quoted name, and a key never read again.
    for i in range(20):
        execute(server, ("SET", "k%02d" % i, "v"), *[("GET", "k%02d" % i)] * i)
    execute(server, ("SET", b'x"\n\xff', "v"), *[("GET", b'x"\n\xff')] * 7)
    try:
        expected, actual = both(server, args)
    finally:
        execute(server, ("CONFIG", "SET", "maxmemory-policy", "noeviction"))
    assert actual == expected
    assert expected[0] == 0 and b"hot key found with counter: 24\tkeyname: \"k19\"\n" in expected[1]


def test_hotkeys_empty_keyspace(server):
    execute(server, ("FLUSHALL",), ("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"))
    try:
        expected, actual = both(server, ["--hotkeys"])
    finally:
        execute(server, ("CONFIG", "SET", "maxmemory-policy", "noeviction"))
    assert actual == expected and expected[0] == 0


# MARK: - --intrinsic-latency

INTRINSIC = re.compile(
    rb"(Max latency so far: \d+ microseconds\.\n)+\n\d+ total runs \(avg latency: \d+\.\d{4} microseconds / "
    rb"\d+\.\d\d nanoseconds per run\)\.\nWorst run took \d+x longer than the average latency\.\n\Z")


def test_intrinsic_latency(server):
    for rc, out, err in both(server, ["--intrinsic-latency", "1"], address=False):
        assert rc == 0 and err == b"" and INTRINSIC.match(out), out


# MARK: - --lru-test

LRU_LINE = re.compile(rb"\d+ Gets/sec \| Hits: \d+ \(\d+\.\d\d%\) \| Misses: \d+ \(\d+\.\d\d%\)\r?\n")


def run_on_tty_for(tool, server, args, seconds):
    """Runs the tool with stdout on a pseudo-terminal for `seconds`, then kills it; returns what it printed."""
    import pty
    master, slave = pty.openpty()
    p = subprocess.Popen([tool, "-h", server.host, "-p", str(server.port)] + args, stdin=subprocess.DEVNULL,
                         stdout=slave, stderr=subprocess.PIPE)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], max(0.0, deadline - time.monotonic()))
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
    finally:
        p.kill()
        p.wait(timeout=TIMEOUT)
        p.stderr.close()
        os.close(master)
    return out


def test_lru_test_prints_a_line_per_second(server):
    execute(server, ("FLUSHALL",))
    for tool in (base.redis_cli(), base.swiftlet_cli()):
        out = run_on_tty_for(tool, server, ["--lru-test", "1000"], seconds=3.5)
        lines = out.splitlines(keepends=True)
        assert 2 <= len(lines) <= 4, out
        assert all(LRU_LINE.fullmatch(line) for line in lines), out
    keys = execute(server, ("KEYS", "*"))[0]
    assert keys and all(re.fullmatch(rb"lru:\d+", k) and 0 <= int(k[4:]) <= 1000 for k in keys)


def test_lru_test_connection_failure(server):
    expected, actual = both(server, ["-p", "1", "--lru-test", "10"], address=False)
    assert actual == expected and expected[0] == 1


# MARK: - --quoted-input

@pytest.mark.parametrize("words", [
    ["set", '"a\\x00b"', '"v\\r\\n"'],
    ["get", '"a\\x00b"'],
    ["--no-raw", "get", '"a\\x00b"'],
    ["set", "'single'", "plain"],
    ["get", "single"],
    ["get", '"unbalanced'],
    ["get", "two words"],
    ["get", ""],
    ["get", '"a"b'],
])
def test_quoted_input(server, words):
    expected, actual = both(server, ["--quoted-input"] + words)
    assert actual == expected, words


def test_quoted_input_with_stdin_tag(server):
    outcomes = []
    for tool in (base.redis_cli(), base.swiftlet_cli()):
        argv = [tool, "-h", server.host, "-p", str(server.port), "--quoted-input", "-X", "tag", "set", '"t\\x61g"',
                "x"]
        p = subprocess.run(argv, input=b"from stdin", stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=TIMEOUT)
        outcomes.append((p.returncode, p.stdout, p.stderr, execute(server, ("GET", "from stdin"))))
    assert outcomes[1] == outcomes[0]


# MARK: - -c

def test_cluster_mode_message(server):
    rc, out, err = run(base.swiftlet_cli(), server, ["-c", "ping"])
    assert (rc, out, err) == (1, b"", b"swiftlet-cli: cluster mode (-c) is not supported\n")
