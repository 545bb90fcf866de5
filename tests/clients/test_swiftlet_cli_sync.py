"""swiftlet-cli's replication modes against redis-cli 7.0: --rdb, --functions-rdb and --replica.

Both tools run against the same redis-server. An RDB holds the time and the server's memory use, so two transfers
are never equal byte for byte: each file must pass redis-check-rdb and, loaded into a fresh redis-server, give the
same DEBUG DIGEST (the same data) and the same functions. What the tools print on stderr must be equal once the
byte counts, which follow the RDB's size, are masked. swiftlet-server is a replication master too (issue 21): there
both tools must agree the same way.
"""

import os
import re
import select
import subprocess
import sys
import tempfile
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import test_swiftlet_cli as base  # noqa: E402
from support.resp import RespConnection  # noqa: E402
from support.servers import (  # noqa: E402
    ServerProcess, ServerStartError, candidate_argv, free_port, reference_argv, require_tool,
)

TIMEOUT = 30


def start(argv, port):
    proc = ServerProcess(os.path.basename(argv[0]), argv, port)
    try:
        proc.start()
    except ServerStartError as e:
        pytest.fail(str(e), pytrace=False)
    return proc


@pytest.fixture(scope="module")
def server():
    port = free_port()
    proc = start(reference_argv(port) + ["--enable-debug-command", "yes"], port)
    # No 5-second wait before a diskless transfer, and no master PING in the middle of a --replica comparison.
    execute(proc, ("CONFIG", "SET", "repl-diskless-sync-delay", "0"),
            ("CONFIG", "SET", "repl-ping-replica-period", "3600"))
    yield proc
    proc.stop()


def execute(server, *commands):
    with RespConnection(server.host, server.port, timeout=10) as c:
        return [c.execute(*command).to_python() for command in commands]


def populate(server):
    execute(server, ("FLUSHALL",), ("FUNCTION", "FLUSH"),
            ("SET", "s", "hello"), ("SET", "bin", b"\x00\xff\r\n"), ("RPUSH", "list", "a", "b", "c"),
            ("HSET", "hash", "f", "v"), ("SADD", "set", "m1", "m2"), ("ZADD", "z", "1.5", "a", "2", "b"),
            ("SET", "n", "12345"), ("PEXPIRE", "n", "100000000"),
            ("FUNCTION", "LOAD", "#!lua name=mylib\nredis.register_function('myfunc', function() return 1 end)"))


def run(tool, server, args, cwd, timeout=TIMEOUT):
    argv = [tool, "-h", server.host, "-p", str(server.port)] + list(args)
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def mask_counts(text):
    return re.sub(rb"\d+ bytes", b"N bytes", text)


def load_rdb(path):
    """Loads an RDB into a fresh redis-server; returns its DEBUG DIGEST, key count and FUNCTION LIST."""
    port = free_port()
    directory, name = os.path.split(path)
    argv = [require_tool("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--dir", directory,
            "--dbfilename", name, "--appendonly", "no", "--daemonize", "no", "--save", "",
            "--enable-debug-command", "yes"]
    proc = start(argv, port)
    try:
        return execute(proc, ("DEBUG", "DIGEST"), ("DBSIZE",), ("FUNCTION", "LIST"))
    finally:
        proc.stop()


def check_rdb(path):
    p = subprocess.run([require_tool("redis-check-rdb"), path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=TIMEOUT)
    assert p.returncode == 0 and b"RDB looks OK" in p.stdout, p.stdout.decode(errors="replace")


# MARK: - --rdb / --functions-rdb

@pytest.mark.parametrize("diskless", ["yes", "no"])
@pytest.mark.parametrize("option", ["--rdb", "--functions-rdb"])
def test_rdb_transfer(server, option, diskless):
    """`$EOF:<mark>` (diskless) and `$<len>` (from disk) transfers give the same RDB content and messages."""
    execute(server, ("CONFIG", "SET", "repl-diskless-sync", diskless))
    outcomes = []
    for tool in (base.redis_cli(), base.swiftlet_cli()):
        populate(server)
        directory = tempfile.mkdtemp(prefix="swiftlet-cli-rdb-")
        rc, out, err = run(tool, server, [option, "dump.rdb"], cwd=directory)
        path = os.path.join(directory, "dump.rdb")
        check_rdb(path)
        outcomes.append((rc, out, mask_counts(err), load_rdb(path)))
    execute(server, ("CONFIG", "SET", "repl-diskless-sync", "yes"))
    assert outcomes[1] == outcomes[0]
    rc, _, err, (digest, size, functions) = outcomes[0]
    assert rc == 0 and b"Transfer finished with success" in err
    assert functions and functions[0][1] == b"mylib"
    if option == "--functions-rdb":
        assert size == 0 and b"sending REPLCONF rdb-filter-only functions\n" in err
    else:
        assert size == 7 and digest != b"0" * 40


def test_rdb_to_stdout(server):
    populate(server)
    outcomes = []
    for tool in (base.redis_cli(), base.swiftlet_cli()):
        rc, out, err = run(tool, server, ["--rdb", "-"], cwd=tempfile.gettempdir())
        # The EOF mark is written to stdout too (redis-cli cannot truncate a pipe).
        outcomes.append((rc, out[:9], len(out) > 40, mask_counts(err)))
    assert outcomes[1] == outcomes[0] and outcomes[0][1] == b"REDIS0010"


def test_rdb_options_errors(server):
    directory = tempfile.mkdtemp(prefix="swiftlet-cli-rdb-")
    cases = [
        ["--rdb", "a.rdb", "--functions-rdb", "b.rdb"],
        ["--rdb", os.path.join(directory, "missing", "x.rdb")],
        ["-p", "1", "--rdb", "x.rdb"],
    ]
    for args in cases:
        expected = run(base.redis_cli(), server, args, cwd=directory)
        actual = run(base.swiftlet_cli(), server, args, cwd=directory)
        assert actual == expected, args
        assert expected[0] == 1


# MARK: - --replica

def read_until(stream, needle, deadline):
    data = b""
    while needle not in data:
        left = deadline - time.monotonic()
        assert left > 0, "timed out waiting for %r, got %r" % (needle, data)
        ready, _, _ = select.select([stream], [], [], left)
        if ready:
            chunk = os.read(stream.fileno(), 65536)
            if not chunk:
                break
            data += chunk
    return data


def replica_session(tool, server, writes, lines):
    p = subprocess.Popen([tool, "-h", server.host, "-p", str(server.port), "--replica"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + TIMEOUT
        err = read_until(p.stderr, b"Logging commands from master.\n", deadline)
        if b"EOF marker" in err:
            # The tool sleeps a second, then sends REPLCONF ACK.
            err += read_until(p.stderr, b"sending REPLCONF ACK 0\n", deadline)
        time.sleep(0.5)
        execute(server, *writes)
        out = b""
        while out.count(b"\n") < lines:
            out += read_until(p.stdout, b"\n", deadline)
        # Only the first `lines` lines: how many more came in the same read depends on the timing.
        return mask_counts(err), b"".join(line + b"\n" for line in out.split(b"\n")[:lines])
    finally:
        p.kill()
        p.wait(timeout=TIMEOUT)


@pytest.mark.parametrize("diskless", ["yes", "no"])
def test_replica_prints_the_stream(server, diskless):
    execute(server, ("CONFIG", "SET", "repl-diskless-sync", diskless))
    writes = [("SET", "a", "1"), ("INCR", "counter"), ("RPUSH", "l", "x y", 'q"'), ("DEL", "a"),
              ("SET", "b", b"\x00\r\n")]
    outcomes = []
    for tool in (base.redis_cli(), base.swiftlet_cli()):
        populate(server)
        outcomes.append(replica_session(tool, server, writes, lines=5))
    execute(server, ("CONFIG", "SET", "repl-diskless-sync", "yes"))
    assert outcomes[1] == outcomes[0]
    err, out = outcomes[0]
    assert b"Logging commands from master" in err
    assert b'"RPUSH","l","x y","q\\""\n' in out


# MARK: - swiftlet-server (a replication master since issue 21's first slice)

@pytest.fixture(scope="module")
def swiftlet_server():
    port = free_port()
    try:
        argv = candidate_argv(port)
    except ServerStartError as e:
        pytest.fail(str(e), pytrace=False)
    proc = start(argv, port)
    # As for redis-server above: no PING in the stream while a --replica session runs (redis-cli takes the first
    # thing after its REPLCONF ACK as the ACK's reply, so a PING there would change which line it swallows).
    execute(proc, ("CONFIG", "SET", "repl-ping-replica-period", "3600"))
    yield proc
    proc.stop()


@pytest.mark.parametrize("args", [["--rdb", "dump.rdb"], ["--functions-rdb", "dump.rdb"], ["--replica"]])
def test_sync_modes_against_swiftlet_server(swiftlet_server, args):
    # The tools must agree against swiftlet-server as they do against redis-server.
    if args == ["--replica"]:
        outcomes = [replica_session(tool, swiftlet_server, [("SET", "a", "1"), ("SET", "b", "2")], lines=1)
                    for tool in (base.redis_cli(), base.swiftlet_cli())]
        assert outcomes[1] == outcomes[0]
        return
    outcomes = []
    for tool in (base.redis_cli(), base.swiftlet_cli()):
        directory = tempfile.mkdtemp(prefix="swiftlet-cli-rdb-")
        rc, out, err = run(tool, swiftlet_server, args, cwd=directory, timeout=15)
        check_rdb(os.path.join(directory, "dump.rdb"))
        outcomes.append((rc, out, mask_counts(err)))
    assert outcomes[1] == outcomes[0] and outcomes[0][0] == 0


def fake_master(answer):
    """A one-connection master: +OK to each REPLCONF, then `answer` to SYNC, then it closes."""
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(TIMEOUT)

    def serve():
        try:
            connection, _ = listener.accept()
        except OSError:
            return
        with connection:
            connection.settimeout(TIMEOUT)
            received = b""
            replied = 0
            try:
                while b"SYNC\r\n" not in received:
                    chunk = connection.recv(65536)
                    if not chunk:
                        return
                    received += chunk
                    while replied < received.count(b"REPLCONF"):
                        connection.sendall(b"+OK\r\n")
                        replied += 1
                connection.sendall(answer)
            except OSError:
                pass
        listener.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener.getsockname()[1], thread


@pytest.mark.parametrize("target", ["file", "-"])
def test_rdb_eof_transfer_shorter_than_the_mark(target):
    """`$0` announces the EOF-mark form with redis-cli's never-set (all-zero) mark, which one zero byte matches:
    the transfer ends after 1 byte and redis-cli's unsigned count wraps (1 - 40). Both tools print the same."""
    outcomes = []
    for tool in (base.redis_cli(), base.swiftlet_cli()):
        directory = tempfile.mkdtemp(prefix="swiftlet-cli-rdb-short-")
        name = "out.rdb" if target == "file" else "-"
        port, thread = fake_master(b"$0\n\x00")
        p = subprocess.run([tool, "-p", str(port), "--rdb", name], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           cwd=directory, timeout=TIMEOUT)
        thread.join(timeout=TIMEOUT)
        written = open(os.path.join(directory, name), "rb").read() if target == "file" else None
        outcomes.append((p.returncode, p.stdout, p.stderr, written))
    assert outcomes[1] == outcomes[0]
    assert b"Transfer finished with success after 18446744073709551577 bytes\n" in outcomes[0][2]
