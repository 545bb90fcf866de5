"""swiftlet-cli against redis-cli 7.0: the same command lines, through both tools, against the same redis-server.

Each case runs redis-cli and then swiftlet-cli, each after the same reset of the server's data, and asserts that
stdout, stderr and the exit status are identical byte for byte. Stdout is a pipe, so the default output is the raw
format; `--no-raw` forces the human (TTY) format.

The tool under test is $SWIFTLET_CLI, default the newer of .build/debug/swiftlet-cli and .build/release/swiftlet-cli.
A missing redis-cli, redis-server or swiftlet-cli fails these tests (never skips).
"""

import os
import select
import subprocess
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from support.resp import RespConnection  # noqa: E402
from support.servers import ServerProcess, ServerStartError, free_port, reference_argv, require_tool  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TIMEOUT = 30


def swiftlet_cli():
    configured = os.environ.get("SWIFTLET_CLI")
    if configured:
        return configured if os.path.isabs(configured) else os.path.join(ROOT, configured)
    # Without SWIFTLET_CLI, test the most recently built of the debug and release binaries.
    built = [os.path.join(ROOT, ".build", build, "swiftlet-cli") for build in ("debug", "release")]
    built = [path for path in built if os.path.exists(path)]
    if built:
        return max(built, key=os.path.getmtime)
    pytest.fail("swiftlet-cli is not built (swift build --product swiftlet-cli)", pytrace=False)


def redis_cli():
    try:
        return require_tool("redis-cli")
    except ServerStartError as e:
        message = str(e)
    pytest.fail(message, pytrace=False)


@pytest.fixture(scope="module")
def server():
    """A real redis-server with DEBUG enabled (for DEBUG PROTOCOL) and a Unix socket."""
    port = free_port()
    socket_dir = tempfile.mkdtemp(prefix="swiftlet-cli-test-")
    socket_path = os.path.join(socket_dir, "redis.sock")
    argv = reference_argv(port) + ["--enable-debug-command", "yes", "--unixsocket", socket_path]
    proc = ServerProcess("redis-server", argv, port)
    try:
        proc.start()
    except ServerStartError as e:
        pytest.fail(str(e), pytrace=False)
    proc.socket_path = socket_path
    yield proc
    proc.stop()


def reset(server):
    """The same data before every run of either tool."""
    with RespConnection(server.host, server.port, timeout=10) as c:
        for command in (
            ("FLUSHALL",),
            ("SET", "s", "hello"),
            ("SET", "n", "41"),
            ("SET", "bin", b"a\"b\\c\x01\xc3\xa9\n\t\r\x07\x08 "),
            ("RPUSH", "list", "a", "b c", 'q"uote', "\xe9"),
            ("HSET", "hash", "f1", "v1", "f2", "v2"),
            ("SADD", "set", "m1"),
            ("ZADD", "z", "0.1", "a", "1.5", "b", "1e300", "c"),
            ("SELECT", "3"),
            ("SET", "in3", "three"),
        ):
            c.execute(*command)


def run(tool, server, args, stdin=b"", address=True):
    argv = [tool] + (["-h", server.host, "-p", str(server.port)] if address else []) + list(args)
    p = subprocess.run(argv, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT)
    return p.returncode, p.stdout, p.stderr


def same(server, args, stdin=b"", address=True):
    """Runs both tools from the same state and compares everything they print; returns redis-cli's result."""
    reset(server)
    expected = run(redis_cli(), server, args, stdin, address)
    reset(server)
    actual = run(swiftlet_cli(), server, args, stdin, address)
    assert actual == expected, "command line: %r" % (args,)
    return expected


MODES = ["", "--raw", "--no-raw", "--csv", "--json", "--quoted-json"]

DEBUG_PROTOCOL = ["map", "set", "double", "bignum", "verbatim", "true", "false", "null", "attrib", "array", "push"]

COMMANDS = [
    ["ping"],
    ["get", "s"],
    ["get", "missing"],
    ["get", "bin"],
    ["incr", "n"],
    ["lrange", "list", "0", "-1"],
    ["lrange", "missing", "0", "-1"],
    ["hgetall", "hash"],
    ["hgetall", "missing"],
    ["smembers", "missing"],
    ["zrange", "z", "0", "-1", "withscores"],
    ["zscore", "z", "a"],
    ["incr", "s"],
    ["nosuchcommand", "x"],
    ["eval", "return {1,{2,{3,'x'}},{},redis.error_reply('E1 bad'),redis.status_reply('OK'),{'a','b','c','d','e',"
     "'f','g','h','i','j'}}", "0"],
    ["config", "get", "maxmemory*"],
    ["xinfo", "stream", "missing"],
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("resp", ["-2", "-3"])
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c)[:30])
def test_reply_types(server, mode, resp, command):
    same(server, [a for a in (mode, resp) if a] + command)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", DEBUG_PROTOCOL)
def test_debug_protocol_resp3(server, mode, kind):
    same(server, [a for a in (mode, "-3") if a] + ["debug", "protocol", kind])


@pytest.mark.parametrize("mode", MODES)
def test_pushes_shown_on_request(server, mode):
    same(server, [a for a in (mode, "-3", "--show-pushes", "yes") if a] + ["debug", "protocol", "push"])


@pytest.mark.parametrize("mode", MODES)
def test_error_exit_code(server, mode):
    rc, _, err = same(server, [a for a in (mode, "-e") if a] + ["incr", "s"])
    assert rc == 1 and err.startswith(b"ERR ")
    assert same(server, [a for a in (mode, "-e") if a] + ["get", "s"])[0] == 0
    assert same(server, [a for a in (mode,) if a] + ["incr", "s"])[0] == 0


@pytest.mark.parametrize("args", [
    ["-n", "3", "get", "in3"],
    ["-n", "3", "--no-raw", "get", "s"],
    ["-n", "99", "get", "in3"],
    ["-r", "3", "incr", "n"],
    ["-r", "3", "-i", "0.05", "--no-raw", "incr", "n"],
    ["-r", "0", "incr", "n"],
    ["-d", ",", "-D", "|", "lrange", "list", "0", "-1"],
    ["--json", "-2", "hgetall", "hash"],
    ["-2", "-3", "ping"],
    ["--bogus", "ping"],
    ["-a"],
    ["-x", "-X", "t", "ping"],
    ["select", "3"],
    ["info", "keyspace"],
    ["--csv", "info", "keyspace"],
    ["-3", "info", "keyspace"],
    ["-3", "--no-raw", "info", "keyspace"],
    ["-3", "--json", "memory", "doctor"],
])
def test_options(server, args):
    same(server, args)


@pytest.mark.parametrize("args", [
    ["-x", "set", "fromstdin"],
    ["-x", "--no-raw", "echo"],
    ["-X", "TAG", "echo", "TAG"],
    ["-X", "TAG", "echo", "no-tag"],
])
def test_stdin_argument(server, args):
    same(server, args, stdin=b"hello\nworld\x00\xff")


def test_stdin_argument_is_stored_as_is(server):
    reset(server)
    data = b"line one\nline two\n\x00\xff"
    assert run(swiftlet_cli(), server, ["-x", "set", "fromstdin"], stdin=data) == (0, b"OK\n", b"")
    with RespConnection(server.host, server.port, timeout=10) as c:
        assert c.execute("GET", "fromstdin").raw == b"$%d\r\n%s\r\n" % (len(data), data)


@pytest.mark.parametrize("warning", [[], ["--no-auth-warning"]])
@pytest.mark.parametrize("auth", [["-a", "secret"], ["--pass", "secret"], ["--user", "u", "--pass", "p"]])
def test_auth_options(server, warning, auth):
    same(server, auth + warning + ["ping"])


@pytest.mark.parametrize("uri", [
    "redis://{host}:{port}",
    "redis://{host}:{port}/3",
    "redis://:pw@{host}:{port}/3",
    "redis://user:p%41ss@{host}:{port}",
    "redis://user:p%4@{host}:{port}",
    "redis://user:p%zz@{host}:{port}",
    "http://{host}:{port}",
])
def test_uri(server, uri):
    same(server, ["-u", uri.format(host=server.host, port=server.port), "get", "in3"], address=False)


def test_unix_socket(server):
    assert same(server, ["-s", server.socket_path, "get", "s"], address=False)[1] == b"hello\n"


def test_connection_failures(server):
    rc, _, err = same(server, ["-p", "1", "ping"], address=False)
    assert rc == 1 and err == b"Could not connect to Redis at 127.0.0.1:1: Connection refused\n"
    same(server, ["-s", "/nonexistent/redis.sock", "ping"], address=False)


def test_cluster_mode_is_refused(server):
    p = subprocess.run([swiftlet_cli(), "-c", "ping"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=TIMEOUT)
    assert p.returncode != 0 and b"cluster" in p.stderr


def run_on_tty(tool, server, args):
    """Runs a tool with stdout on a pseudo-terminal (so it picks the human format) and returns what it printed."""
    import pty
    master, slave = pty.openpty()
    try:
        argv = [tool, "-h", server.host, "-p", str(server.port)] + list(args)
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE)
        os.close(slave)
        slave = None
        out = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
        err = p.stderr.read()
        p.stderr.close()
        return p.wait(timeout=TIMEOUT), out, err
    finally:
        os.close(master)
        if slave is not None:
            os.close(slave)


@pytest.mark.parametrize("args", [
    ["lrange", "list", "0", "-1"],
    ["-3", "hgetall", "hash"],
    ["-3", "debug", "protocol", "push"],
    ["get", "bin"],
    ["incr", "s"],
    ["--raw", "lrange", "list", "0", "-1"],
])
def test_terminal_output(server, args):
    reset(server)
    expected = run_on_tty(redis_cli(), server, args)
    reset(server)
    assert run_on_tty(swiftlet_cli(), server, args) == expected


@pytest.mark.parametrize("args", [
    ["subscribe", "ch"],
    ["--no-raw", "subscribe", "ch"],
    ["-3", "--no-raw", "subscribe", "ch"],
])
def test_subscribe_prints_messages(server, args):
    import time

    def session(tool):
        argv = [tool, "-h", server.host, "-p", str(server.port)] + args
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            with RespConnection(server.host, server.port, timeout=10) as c:
                deadline = time.monotonic() + 10
                while c.execute("PUBSUB", "NUMSUB", "ch").to_python()[1] == 0:
                    assert time.monotonic() < deadline, "the tool never subscribed"
                    time.sleep(0.02)
                c.execute("PUBLISH", "ch", "msg one")
                c.execute("PUBLISH", "ch", "msg\ntwo")
            # Both tools flush each message: wait until the second one has been printed in full.
            out = b""
            deadline = time.monotonic() + 15
            while not (b"two" in out and out.endswith(b"\n")) and time.monotonic() < deadline:
                ready, _, _ = select.select([p.stdout], [], [], 0.05)
                if ready:
                    chunk = os.read(p.stdout.fileno(), 65536)
                    if not chunk:
                        break
                    out += chunk
        finally:
            p.terminate()
        rest, err = p.communicate(timeout=TIMEOUT)
        return out + rest, err

    assert session(swiftlet_cli()) == session(redis_cli())


@pytest.mark.parametrize("stdin", [b"secret\n", b"secret", b"", b"p\nrest of input"])
@pytest.mark.parametrize("extra", [[], ["-a", "other"], ["-x", "echo"]])
def test_askpass_from_a_pipe(server, stdin, extra):
    command = extra if extra[:1] == ["-x"] else extra + ["ping"]
    same(server, ["--askpass"] + command, stdin=stdin)


def test_acl_user_login(server):
    with RespConnection(server.host, server.port, timeout=10) as c:
        c.execute("ACL", "SETUSER", "cliuser", "on", ">clipass", "~*", "+@all")
    assert same(server, ["--user", "cliuser", "--pass", "clipass", "--no-auth-warning", "acl", "whoami"]) == (
        0, b"cliuser\n", b"")
    assert same(server, ["-u", "redis://cliuser:clipass@%s:%d" % (server.host, server.port), "acl", "whoami"],
                address=False)[1] == b"cliuser\n"
    same(server, ["--user", "cliuser", "--pass", "wrong", "acl", "whoami"])
