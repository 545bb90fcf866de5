"""swiftlet-cli --memcached: the same command lines against memcached 1.6.18 and swiftlet-memcached print the same.

Each case starts from `flush_all` on both servers, runs the same command lines through swiftlet-cli against each,
and compares exit status, stdout and stderr byte for byte. Values that differ between two servers by nature (the
version number, the statistics) are checked by shape. redis-cli has no such mode: the forms are swiftlet-cli's own
(docs/TOOLS.md).
"""

import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import test_swiftlet_cli as base  # noqa: E402
from support.memcached import start_memcached  # noqa: E402
from support.servers import ServerStartError  # noqa: E402

TIMEOUT = 30


@pytest.fixture(scope="module")
def servers():
    started = []
    try:
        for side in ("reference", "candidate"):
            started.append(start_memcached(side))
    except ServerStartError as e:
        for s in started:
            s.stop()
        pytest.fail(str(e), pytrace=False)
    yield started
    for s in started:
        s.stop()


def cli(server, args, stdin=None, port=True):
    argv = [base.swiftlet_cli(), "--memcached"] + (["-p", str(server.port)] if port else []) + list(args)
    p = subprocess.run(argv, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT)
    return p.returncode, p.stdout, p.stderr


def both(servers, lines):
    """Runs each command line in turn against each server (after flush_all); returns one list of results per side."""
    results = []
    for server in servers:
        server.flush_all()
        results.append([cli(server, line) for line in lines])
    return results


SCRIPTS = {
    "storage": [
        ["set", "k", "hello"], ["get", "k"], ["add", "k", "x"], ["add", "k2", "x"], ["replace", "k3", "y"],
        ["replace", "k2", "yy"], ["append", "k", " world"], ["prepend", "k", ">"], ["get", "k", "k2", "nope"],
        ["set", "f", "42", "0", "flagged"], ["get", "f"], ["set", "q", "0", "0", "noreply", "quiet"], ["get", "q"],
        ["set", "bin", "a\tb c"], ["get", "bin"], ["set", "empty", ""], ["get", "empty"],
    ],
    "cas": [
        ["set", "c", "v1"], ["cas", "c", "999999", "v2"], ["get", "c"], ["cas", "nope", "1", "v"],
    ],
    "counters_and_delete": [
        ["set", "n", "10"], ["incr", "n", "5"], ["decr", "n", "100"], ["incr", "s", "1"], ["set", "s", "abc"],
        ["incr", "s", "1"], ["delete", "n"], ["delete", "n"], ["touch", "s", "100"], ["touch", "zz", "1"],
        ["gat", "100", "s"], ["get", "n"],
    ],
    "meta": [
        ["ms", "m", "hello"], ["mg", "m", "v"], ["mg", "m", "s", "v", "f"], ["mg", "missing", "v"],
        ["mg", "missing", "v", "q"], ["mg", "m", "v", "q"], ["md", "m", "q"], ["md", "m"], ["ma", "cnt"],
        ["ma", "cnt", "N0", "J13", "v"], ["ma", "cnt", "v"], ["ms", "m2", "T0", "F5", "data"], ["mg", "m2", "f", "v"],
        ["mn"], ["ms", "m3", "I", "x"],
    ],
    "errors": [
        ["bogus"], ["get"], ["set", "k", "nan", "0", "v"], ["incr", "k"], ["verbosity", "1"],
        ["flush_all", "0"], ["flush_all", "noreply"],
    ],
}


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_same_output_on_both_servers(servers, script):
    memcached, swiftlet = both(servers, SCRIPTS[script])
    for line, expected, actual in zip(SCRIPTS[script], memcached, swiftlet):
        assert actual == expected, "command line: %r" % (line,)


def test_request_forms_and_replies(servers):
    memcached = servers[0]
    memcached.flush_all()
    assert cli(memcached, ["set", "k", "v"]) == (0, b"STORED\n", b"")
    assert cli(memcached, ["gets", "k"])[1].startswith(b"VALUE k 0 1 ")
    assert cli(memcached, ["get", "k"]) == (0, b"VALUE k 0 1\nv\nEND\n", b"")
    # A quiet meta command is followed by `mn`, whose MN ends the reply.
    assert cli(memcached, ["mg", "k", "v", "q"]) == (0, b"VA 1\nv\nMN\n", b"")
    assert cli(memcached, ["mg", "absent", "v", "q"]) == (0, b"MN\n", b"")
    assert cli(memcached, ["-r", "3", "incr", "n", "1"]) == (0, b"NOT_FOUND\n" * 3, b"")
    assert cli(memcached, ["-r", "2", "set", "n", "5"]) == (0, b"STORED\n" * 2, b"")
    # -e sends error lines to stderr and exits 1.
    assert cli(memcached, ["-e", "bogus"]) == (1, b"", b"ERROR\n")


def test_shapes_that_differ_by_nature(servers):
    for server in servers:
        rc, out, err = cli(server, ["version"])
        assert rc == 0 and err == b"" and out.startswith(b"VERSION ") and out.count(b"\n") == 1
        rc, out, err = cli(server, ["stats"])
        lines = out.split(b"\n")
        assert rc == 0 and lines[-2:] == [b"END", b""] and all(line.startswith(b"STAT ") for line in lines[:-2])


def test_repl_reads_lines_from_a_pipe(servers):
    script = b'set k "hello world"\nget k\n\nbad "quote\nmg k s v\nquit\nget k\n'
    outputs = []
    for server in servers:
        server.flush_all()
        outputs.append(cli(server, [], stdin=script))
    assert outputs[0] == outputs[1]
    assert outputs[0] == (0, b"STORED\nVALUE k 0 11\nhello world\nEND\nInvalid argument(s)\nVA 11 s11\nhello world\n",
                          b"")


def test_connection_errors(servers):
    assert cli(servers[0], ["-p", "1", "version"], port=False) == (
        1, b"", b"Could not connect to memcached at 127.0.0.1:1: Connection refused\n")
    assert cli(servers[0], ["set", "k"]) == (1, b"", b"(error) usage: set key [flags exptime] [noreply] data\n")



def test_repl_on_a_terminal(servers, tmp_path):
    """On a terminal: the prompt, line editing echo, tab completion of command names, history in $HOME."""
    import pty
    import select
    import time

    server = servers[0]
    server.flush_all()
    master, slave = pty.openpty()
    env = dict(os.environ, HOME=str(tmp_path))
    p = subprocess.Popen([base.swiftlet_cli(), "--memcached", "-p", str(server.port)], stdin=slave, stdout=slave,
                         stderr=slave, env=env)
    os.close(slave)
    prompt = b"memcached 127.0.0.1:%d> " % server.port

    def read_until(needle):
        out = b""
        deadline = time.monotonic() + 10
        while not out.endswith(needle):
            left = deadline - time.monotonic()
            assert left > 0, "timed out waiting for %r, got %r" % (needle, out)
            ready, _, _ = select.select([master], [], [], left)
            if ready:
                out += os.read(master, 65536)
        return out

    try:
        assert read_until(prompt) == prompt
        os.write(master, b'set k "a b"\r')
        assert read_until(b"\r\nSTORED\r\n" + prompt)
        os.write(master, b"get k\r")
        assert read_until(b"\r\nVALUE k 0 3\r\na b\r\nEND\r\n" + prompt)
        os.write(master, b"vers\t\r")
        # Tab completes `vers` to `version` (memcached 1.6.18 is the reference server).
        assert (prompt + b"version\r") in read_until(b"\r\nVERSION 1.6.18\r\n" + prompt)
        os.write(master, b"\x04")
        assert p.wait(timeout=10) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(timeout=10)
        os.close(master)
    history = (tmp_path / ".swiftlet_memcached_history").read_bytes()
    assert history.splitlines() == [b'set k "a b"', b"get k", b"version"]


SET_USAGE = b"(error) usage: set key [flags exptime] [noreply] data\n"
CAS_USAGE = b"(error) usage: cas key [flags exptime] cas-unique [noreply] data\n"
WORD_COUNTS = [
    # Every count of words from 2 to 7 for set and cas: the valid forms reach the server, the others print the
    # usage line and exit 1 (some of them used to crash the tool).
    ("set k", (1, b"", SET_USAGE)),
    ("set k v", (0, b"STORED\n", b"")),
    ("set k 5 v", (1, b"", SET_USAGE)),
    ("set k noreply v", (0, b"", b"")),
    ("set k 5 60 v", (0, b"STORED\n", b"")),
    ("set k 5 noreply v", (1, b"", SET_USAGE)),
    ("set k 5 60 noreply v", (0, b"", b"")),
    ("set k 5 60 1 v", (1, b"", SET_USAGE)),
    ("set k 5 60 1 noreply v", (1, b"", SET_USAGE)),
    ("cas k", (1, b"", CAS_USAGE)),
    ("cas k v", (1, b"", CAS_USAGE)),
    ("cas k 42 v", (0, b"NOT_FOUND\n", b"")),
    ("cas k noreply v", (1, b"", CAS_USAGE)),
    ("cas k 42 noreply v", (0, b"", b"")),
    ("cas k 5 60 v", (1, b"", CAS_USAGE)),
    ("cas k 5 60 42 v", (0, b"NOT_FOUND\n", b"")),
    ("cas k 5 60 noreply v", (1, b"", CAS_USAGE)),
    ("cas k 5 60 42 noreply v", (0, b"", b"")),
    ("cas k 5 60 42 1 v", (1, b"", CAS_USAGE)),
]


@pytest.mark.parametrize("line,expected", WORD_COUNTS, ids=[line for line, _ in WORD_COUNTS])
def test_storage_word_counts(servers, line, expected):
    for server in servers:
        server.flush_all()
        assert cli(server, line.split(" ")) == expected


def test_storage_word_count_error_in_the_repl(servers):
    rc, out, err = cli(servers[0], [], stdin=b"set k 5 v\ncas k noreply v\nset k v\n")
    assert (rc, out, err) == (0, SET_USAGE + CAS_USAGE + b"STORED\n", b"")


def fake_memcached(reply):
    """A one-connection server that answers the first request with `reply` and closes."""
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
            try:
                connection.recv(65536)
                connection.sendall(reply)
            except OSError:
                pass
        listener.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener.getsockname()[1], thread


@pytest.mark.parametrize("reply,first_line,error", [
    (b"VALUE k 0 9223372036854775807\r\n", b"VALUE k 0 9223372036854775807\n",
     b"Error: Protocol error: data block of 9223372036854775807 bytes is larger than 1 GiB\n"),
    (b"VALUE k 0 1073741825\r\nabc", b"VALUE k 0 1073741825\n",
     b"Error: Protocol error: data block of 1073741825 bytes is larger than 1 GiB\n"),
    (b"x" * (2 * 1024 * 1024), b"", b"Error: Protocol error: no newline within 1048576 bytes\n"),
], ids=["int-max-block", "over-1-gib-block", "endless-line"])
def test_bad_replies_are_protocol_errors(reply, first_line, error):
    port, thread = fake_memcached(reply)
    argv = [base.swiftlet_cli(), "--memcached", "-p", str(port), "get", "k"]
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT)
    thread.join(timeout=TIMEOUT)
    assert (p.returncode, p.stdout, p.stderr) == (1, first_line, error)


@pytest.mark.parametrize("signum,status", [(2, -2), (15, -15), (1, -1), (3, -3)],
                         ids=["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"])
def test_signal_at_the_prompt_restores_the_terminal(servers, tmp_path, signum, status):
    """A signal at the prompt ends the REPL (by the signal) with the terminal out of raw mode again."""
    import pty
    import select
    import termios
    import time

    server = servers[0]
    master, slave = pty.openpty()
    env = dict(os.environ, HOME=str(tmp_path), TERM="xterm")
    p = subprocess.Popen([base.swiftlet_cli(), "--memcached", "-p", str(server.port)], stdin=slave, stdout=slave,
                         stderr=slave, env=env)
    prompt = b"memcached 127.0.0.1:%d> " % server.port
    try:
        out = b""
        deadline = time.monotonic() + 10
        while not out.endswith(prompt):
            left = deadline - time.monotonic()
            assert left > 0, "timed out waiting for the prompt, got %r" % out
            ready, _, _ = select.select([master], [], [], left)
            if ready:
                out += os.read(master, 65536)
        modes = termios.ECHO | termios.ICANON
        assert termios.tcgetattr(slave)[3] & modes == 0, "the prompt is not in raw mode"
        os.kill(p.pid, signum)
        assert p.wait(timeout=10) == status
        assert termios.tcgetattr(slave)[3] & modes == modes
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(timeout=10)
        os.close(master)
        os.close(slave)
