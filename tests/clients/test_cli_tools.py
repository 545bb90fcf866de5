"""Redis's own command-line tools (redis-cli, redis-benchmark) against the candidate.

A missing redis-cli / redis-benchmark fails these tests (it never skips);
install them with: apt-get install -y redis-server redis-tools
"""

import os
import subprocess

import pytest

from support.resp import RespConnection
from support.servers import ServerStartError, require_tool

TIMEOUT = 60


def _tool(name):
    try:
        return require_tool(name)
    except ServerStartError as e:
        message = str(e)
    pytest.fail(message, pytrace=False)


def cli(server, *args, stdin=None, timeout=TIMEOUT):
    argv = [_tool("redis-cli"), "-h", server.host, "-p", str(server.port)] + list(args)
    p = subprocess.run(argv, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def _flushall(server):
    with RespConnection(server.host, server.port, timeout=10) as c:
        assert c.execute("FLUSHALL").raw == b"+OK\r\n"


@pytest.fixture
def cand(candidate_server):
    _flushall(candidate_server)
    return candidate_server


def test_ping(cand):
    rc, out, err = cli(cand, "ping")
    assert (rc, out) == (0, "PONG\n"), err


def test_set_get(cand):
    assert cli(cand, "set", "a", "b")[:2] == (0, "OK\n")
    assert cli(cand, "get", "a")[:2] == (0, "b\n")
    assert cli(cand, "get", "missing")[:2] == (0, "\n")


def test_no_raw(cand):
    cli(cand, "set", "a", "b")
    assert cli(cand, "--no-raw", "get", "a")[:2] == (0, '"b"\n')
    assert cli(cand, "--no-raw", "get", "missing")[:2] == (0, "(nil)\n")
    assert cli(cand, "--no-raw", "incr", "n")[:2] == (0, "(integer) 1\n")
    rc, out, _ = cli(cand, "--no-raw", "incr", "a")
    assert out == "(error) ERR value is not an integer or out of range\n"
    assert cli(cand, "--no-raw", "mget", "a", "missing")[1] == '1) "b"\n2) (nil)\n'
    assert cli(cand, "--no-raw", "keys", "nomatch*")[1] == "(empty array)\n"


def test_stdin_commands(cand):
    rc, out, err = cli(cand, stdin=b"SET x 1\nINCR x\nGET x\nGET missing\nECHO \"a b\"\n")
    assert rc == 0, err
    assert out == "OK\n2\n2\n\na b\n"


def test_stdin_commands_no_raw(cand):
    rc, out, err = cli(cand, "--no-raw", stdin=b"SET x 1\nINCR x\nGET missing\nFOO\n")
    assert rc == 0, err
    assert out == ("OK\n(integer) 2\n(nil)\n"
                   "(error) ERR unknown command 'FOO', with args beginning with: \n")


def test_stdin_last_arg(cand):
    # -x reads the last argument from stdin
    rc, out, err = cli(cand, "-x", "set", "fromstdin", stdin=b"payload\n")
    assert (rc, out) == (0, "OK\n"), err
    assert cli(cand, "strlen", "fromstdin")[1] == "8\n"


def test_scan(cand):
    keys = {"k%d" % i for i in range(300)} | {"other"}
    with RespConnection(cand.host, cand.port) as c:
        args = ["MSET"]
        for k in sorted(keys):
            args += [k, "v"]
        c.execute(*args)
    rc, out, err = cli(cand, "--scan")
    assert rc == 0, err
    assert sorted(out.split()) == sorted(keys)
    rc, out, err = cli(cand, "--scan", "--pattern", "k1*")
    assert sorted(out.split()) == sorted(k for k in keys if k.startswith("k1"))


def test_info(cand):
    rc, out, err = cli(cand, "INFO")
    assert rc == 0, err
    assert "# Server" in out
    assert "redis_version:" in out
    rc, out, err = cli(cand, "INFO", "keyspace")
    assert rc == 0 and out.startswith("# Keyspace")


def test_select_db_flag(cand):
    assert cli(cand, "-n", "2", "set", "indb2", "v")[1] == "OK\n"
    assert cli(cand, "-n", "2", "get", "indb2")[1] == "v\n"
    assert cli(cand, "get", "indb2")[1] == "\n"


def test_resp3_flag(cand):
    rc, out, err = cli(cand, "-3", "--no-raw", "get", "missing")
    assert (rc, out) == (0, "(nil)\n"), err
    rc, out, err = cli(cand, "-3", "--no-raw", "config", "get", "maxmemory")
    assert out == '1# "maxmemory" => "0"\n'


def test_output_matches_reference(reference_server, cand):
    script = (b"SET a 1\nINCR a\nGET a\nGET missing\nSET l xyz\nGETRANGE l 0 -1\n"
              b"MGET a missing l\nTTL a\nEXPIRE a 100\nTTL a\nTYPE l\nEXISTS a l missing\n"
              b"SET a b c\nINCRBYFLOAT f 1.5\nLCS a l\nLCS a l IDX\nDEL a l\nKEYS *\nDBSIZE\n"
              b"CONFIG GET maxmemory\nECHO \"a b\"\nINCR f\nFOO bar\n")
    _flushall(reference_server)
    for extra in ([], ["--no-raw"], ["-3", "--no-raw"]):
        ref = cli(reference_server, *extra, stdin=script)
        _flushall(reference_server)
        got = cli(cand, *extra, stdin=script)
        _flushall(cand)
        assert got[:2] == ref[:2], "redis-cli %s output differs" % " ".join(extra)


def test_benchmark(cand):
    argv = [_tool("redis-benchmark"), "-h", cand.host, "-p", str(cand.port),
            "-t", "ping,set,get,incr,mset", "-n", "2000", "-q"]
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=180)
    out = p.stdout.decode("utf-8", "replace")
    assert p.returncode == 0, out
    assert "ERR" not in out and "error" not in out.lower(), out
    for test in ("PING_INLINE:", "PING_MBULK:", "SET:", "GET:", "INCR:", "MSET (10 keys):"):
        assert test in out, out


def test_benchmark_pipelined(cand):
    argv = [_tool("redis-benchmark"), "-h", cand.host, "-p", str(cand.port),
            "-t", "set,get", "-n", "5000", "-P", "16", "-c", "4", "-q"]
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=180)
    out = p.stdout.decode("utf-8", "replace")
    assert p.returncode == 0, out
    assert "ERR" not in out and "error" not in out.lower(), out


def test_interactive_session(cand):
    pexpect = pytest.importorskip("pexpect")
    child = pexpect.spawn(_tool("redis-cli"), ["-h", cand.host, "-p", str(cand.port)],
                          timeout=15, encoding="utf-8", dimensions=(40, 200),
                          env=dict(os.environ, REDISCLI_HISTFILE="/dev/null", TERM="xterm"))
    try:
        prompt = "%s:%d> " % (cand.host, cand.port)
        child.expect_exact(prompt)
        # linenoise runs the terminal in raw mode: Enter is "\r"
        child.send("set foo bar\r")
        child.expect_exact("OK")
        child.expect_exact(prompt)
        child.send("get foo\r")
        child.expect_exact('"bar"')
        child.expect_exact(prompt)
        child.send("incr counter\r")
        child.expect_exact("(integer) 1")
        child.expect_exact(prompt)
        child.send("get nothing\r")
        child.expect_exact("(nil)")
        child.expect_exact(prompt)
        child.send("nosuchcommand x\r")
        child.expect_exact("(error) ERR unknown command")
        child.expect_exact(prompt)
        child.send("select 2\r")
        child.expect_exact("OK")
        child.expect_exact("%s:%d[2]> " % (cand.host, cand.port))
        child.send("quit\r")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
