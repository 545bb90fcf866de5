"""swiftlet-cli's interactive mode against redis-cli 7.0.15's, driven the same way on a pseudo-terminal.

Each scenario types the same keys into redis-cli and into swiftlet-cli (pexpect, 200 columns), each after the same
reset of the server's data, waits for the prompt after every line, and compares everything the two wrote to the
terminal byte for byte: prompts, echoed keys, linenoise's redraw sequences, grey hints, replies. Where swiftlet-cli
differs on purpose (its name in `help`, SELECT again after a reconnection) the scenario checks swiftlet-cli alone.
The non-terminal REPL (`printf ... | swiftlet-cli`) is compared on stdout and stderr.

Runs against redis-server and the release swiftlet-server. The tool under test is $SWIFTLET_CLI (default: the newer
of .build/debug/swiftlet-cli and .build/release/swiftlet-cli). Every wait has a timeout.
"""

import os
import re
import subprocess
import sys
import tempfile
import time

import pexpect
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from support.resp import RespConnection  # noqa: E402
from support.servers import (  # noqa: E402
    ServerProcess,
    ServerStartError,
    candidate_argv,
    free_port,
    reference_argv,
    require_tool,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TIMEOUT = 15
UP = "\x1b[A"
DOWN = "\x1b[B"
RIGHT = "\x1b[C"
LEFT = "\x1b[D"
HOME = "\x1b[H"
END = "\x1b[F"
DELETE = "\x1b[3~"
GREY = "\x1b[0;90;49m"


def swiftlet_cli():
    configured = os.environ.get("SWIFTLET_CLI")
    if configured:
        return configured if os.path.isabs(configured) else os.path.join(ROOT, configured)
    built = [os.path.join(ROOT, ".build", build, "swiftlet-cli") for build in ("debug", "release")]
    built = [path for path in built if os.path.exists(path)]
    if built:
        return max(built, key=os.path.getmtime)
    pytest.fail("swiftlet-cli is not built (swift build --product swiftlet-cli)", pytrace=False)


def redis_cli():
    try:
        return require_tool("redis-cli")
    except ServerStartError as e:
        pytest.fail(str(e), pytrace=False)


def start_server(kind, port=None):
    port = port or free_port()
    argv = reference_argv(port) if kind == "redis" else candidate_argv(port)
    proc = ServerProcess(kind, argv, port)
    try:
        proc.start()
    except ServerStartError as e:
        pytest.fail(str(e), pytrace=False)
    return proc


@pytest.fixture(scope="module", params=["redis", "swiftlet"])
def server(request):
    proc = start_server(request.param)
    yield proc
    proc.stop()


@pytest.fixture
def home():
    with tempfile.TemporaryDirectory(prefix="swiftlet-cli-repl-") as directory:
        yield directory


def reset(server):
    with RespConnection(server.host, server.port, timeout=10) as c:
        for command in (("FLUSHALL",), ("SET", "s", "hello"), ("RPUSH", "list", "a", "b c")):
            c.execute(*command)


def environment(home, **extra):
    env = dict(os.environ)
    for name in ("REDISCLI_HISTFILE", "SWIFTLETCLI_HISTFILE", "REDISCLI_AUTH"):
        env.pop(name, None)
    env.update(HOME=home, TERM="xterm", REDISCLI_HISTFILE="/dev/null", SWIFTLETCLI_HISTFILE="/dev/null")
    env.update(extra)
    return env


class Terminal:
    """One tool on a pseudo-terminal: `line` types keys and waits for the next prompt; `transcript` is all it
    wrote."""

    def __init__(self, tool, args, env):
        self.child = pexpect.spawn(tool, args, env=env, timeout=TIMEOUT, encoding="utf-8", dimensions=(24, 200))
        self.child.logfile_read = self.log = _Log()

    def expect(self, text):
        self.child.expect_exact(text, timeout=TIMEOUT)

    def line(self, keys, prompt="> "):
        """Types the keys, then waits for the prompt at the start of a line (a redraw of the line being edited
        also holds the prompt, after an erase sequence); `prompt=None`: no wait."""
        self.child.send(keys)
        if prompt is not None:
            self.child.expect("\\n[^\\r\\n\\x1b]*" + re.escape(prompt), timeout=TIMEOUT)

    def finish(self, keys="\x04"):
        """Ends the session (ctrl-d by default) and returns the exit status."""
        self.child.send(keys)
        self.child.expect(pexpect.EOF, timeout=TIMEOUT)
        self.child.close()
        return self.child.exitstatus

    @property
    def transcript(self):
        return "".join(self.log.parts)


class _Log:
    def __init__(self):
        self.parts = []

    def write(self, text):
        self.parts.append(text)

    def flush(self):
        pass


def run_both(server, home, steps, args=(), finish="\x04", first_prompt="> "):
    """Runs the steps (keys, prompt to wait for) through redis-cli and swiftlet-cli; returns both transcripts and
    exit statuses."""
    results = []
    for tool in (redis_cli(), swiftlet_cli()):
        reset(server)
        term = Terminal(tool, ["-p", str(server.port), *args], environment(home))
        term.expect(first_prompt)
        for keys, prompt in steps:
            term.line(keys, prompt)
        status = term.finish(finish)
        results.append((term.transcript, status))
    return results


def assert_same(results):
    (redis_text, redis_status), (ours_text, ours_status) = results
    assert ours_text == redis_text
    assert ours_status == redis_status


# MARK: - Compared with redis-cli


@pytest.mark.parametrize("args", [(), ("-3",), ("--raw",), ("-n", "2")], ids=["human", "resp3", "raw", "db2"])
def test_commands_replies_and_prompts(server, home, args):
    p = "127.0.0.1:%d" % server.port
    first = [("select 0\r", p + "> ")] if "-n" in args else []
    steps = first + [
        ("get s\r", p + "> "),
        ("set a 1\r", p + "> "),
        ("incr a\r", p + "> "),
        ("lrange list 0 -1\r", p + "> "),
        ("hgetall nosuch\r", p + "> "),
        ("get nosuch\r", p + "> "),
        ("nosuch command\r", p + "> "),
        ("incr s\r", p + "> "),
        ("3 ping\r", p + "> "),
        ("0 ping\r", p + "> "),
        ('get "open\r', p + "> "),
        ("   \r", p + "> "),
        ("select 2\r", p + "[2]> "),
        ("multi\r", p + "[2](TX)> "),
        ("set q 1\r", p + "[2](TX)> "),
        ("select 0\r", p + "(TX)> "),
        ("exec\r", p + "> "),
        ("select 5\r", p + "[5]> "),
        ("multi\r", p + "[5](TX)> "),
        ("select 0\r", p + "(TX)> "),
        ("discard\r", p + "[5]> "),
        (":set foo\r", p + "[5]> "),
        ("restart\r", p + "[5]> "),
        ("hgetall nosuch\r", p + "[5]> "),
        ("hset hh f 1\r", p + "[5]> "),
        ("hgetall hh\r", p + "[5]> "),
        ("zadd zz 1.5 m\r", p + "[5]> "),
        ("zscore zz m\r", p + "[5]> "),
        ("reset\r", p + "> "),
    ]
    assert_same(run_both(server, home, steps, args=args))


def test_line_editing_keys(server, home):
    steps = [
        # Left/right, home/end (both encodings), ctrl-a/e/b/f, backspace, ctrl-h, delete, ctrl-d inside the line.
        ("get xs" + LEFT + LEFT + "\x7f" + END + HOME + "\x1bOF" + "\x1bOH" + "\x05\x01\x06\x02\x06" + DELETE
         + RIGHT + "\x04\x08g" + "\r", "> "),
        # ctrl-t swaps, ctrl-w deletes a word, ctrl-k cuts to the end, ctrl-u clears.
        ("echo abc def" + "\x14\x17\x17" + "echo hi there" + LEFT * 3 + "\x0b" + "\r", "> "),
        ("garbage\x15echo ok\r", "> "),
        # ctrl-l clears the screen and redraws.
        ("ec\x0cho cleared\r", "> "),
    ]
    assert_same(run_both(server, home, steps))


def test_tab_completion_cycles_and_escape_restores(server, home):
    steps = [
        ("config get\x15config g\t\r", "> "),
        ("config re\t\t\t\x1b  \x15", None),
        ("ec\t ok\r", "> "),
        ("help @st\t\r", "> "),
        ("xyz\t\x15ping\r", "> "),
    ]
    results = run_both(server, home, steps)
    assert_same(results)
    assert "CONFIG GET" in results[1][0]


def test_hints_appear_in_grey_and_can_be_turned_off(server, home):
    steps = [
        ("set k v ex 10\r", "> "),
        ("hset h f v\r", "> "),
        (":set nohints\r", "> "),
        ("set k v\r", "> "),
        (":set hints\r", "> "),
        ("get k\r", "> "),
    ]
    results = run_both(server, home, steps)
    assert_same(results)
    text = results[1][0]
    assert GREY + " key value [NX|XX]" in text
    assert GREY + " [NX|XX] [GET]" in text


def test_help_command_and_group(server, home):
    steps = [("help set\r", "> "), ("help @string\r", "> "), ("help config get\r", "> "), ("? get\r", "> ")]
    results = run_both(server, home, steps)
    assert_same(results)
    assert "\x1b[33msummary:\x1b[0m Set the string value of a key" in results[1][0]


def test_ctrl_c_at_the_prompt_exits(server, home):
    results = run_both(server, home, [("ping\r", "> ")], finish="get s\x03")
    assert_same(results)
    assert results[1][1] == 0


def test_history_recall_and_file_across_sessions(server, home):
    transcripts = []
    for tool, variable in ((redis_cli(), "REDISCLI_HISTFILE"), (swiftlet_cli(), "SWIFTLETCLI_HISTFILE")):
        reset(server)
        path = os.path.join(home, variable.lower())
        env = environment(home, **{variable: path})
        first = Terminal(tool, ["-p", str(server.port)], env)
        first.expect("> ")
        for keys in ("set h 1\r", "get h\r", "get h\r", "auth secret\r", "config set requirepass x\x15echo e\r",
                     UP + UP + "\r"):
            first.line(keys)
        assert first.finish() == 0
        with open(path, "rb") as f:
            saved = f.read()
        second = Terminal(tool, ["-p", str(server.port)], env)
        second.expect("> ")
        second.line(UP + UP + UP + DOWN + "\r")
        second.line("\x10\x10\x0e\x0e\x0e\r")
        assert second.finish() == 0
        transcripts.append((saved, oct(os.stat(path).st_mode & 0o777), first.transcript, second.transcript))
    assert transcripts[1] == transcripts[0]
    # AUTH stays out of the file; a line equal to the last one is not added twice.
    assert transcripts[1][0] == b"set h 1\nget h\necho e\nget h\n"
    assert b"auth" not in transcripts[1][0]
    assert transcripts[1][1] == "0o600"


def test_history_default_file_is_in_home(server, home):
    env = environment(home)
    del env["SWIFTLETCLI_HISTFILE"]
    term = Terminal(swiftlet_cli(), ["-p", str(server.port)], env)
    term.expect("> ")
    term.line("echo remembered\r")
    assert term.finish() == 0
    with open(os.path.join(home, ".swiftletcli_history"), "rb") as f:
        assert f.read() == b"echo remembered\n"
    # /dev/null: no file at all.
    other = tempfile.mkdtemp(dir=home)
    term = Terminal(swiftlet_cli(), ["-p", str(server.port)], environment(other))
    term.expect("> ")
    term.line("echo forgotten\r")
    assert term.finish() == 0
    assert os.listdir(other) == []


def test_one_shot_help_matches(server, home):
    for words in (["help", "set"], ["help", "@list"], ["HELP", "config", "set"], ["?", "get"]):
        runs = [
            subprocess.run([tool, "-p", str(server.port), *words], capture_output=True, timeout=TIMEOUT)
            for tool in (redis_cli(), swiftlet_cli())
        ]
        assert (runs[1].stdout, runs[1].stderr, runs[1].returncode) == (
            runs[0].stdout, runs[0].stderr, runs[0].returncode)
        assert b"summary:" in runs[1].stdout


NON_TTY_INPUT = (
    b"set a 1\nget a\nincr a\nincr s\nlrange list 0 -1\nhset h f v g w\nhgetall h\nget nosuch\nnosuch x\n"
    b"3 ping\n0 ping\n-2 ping\n  \n\nget \"open\nset q \"a b\\x41\"\nget q\nselect 3\nset in3 x\nsadd st m\n"
    b"smembers st\nmulti\nincr c\nexec\nzadd z 1.5 m\nzrange z 0 -1 withscores\nhelp get\nlast line no newline"
)


def test_non_tty_repl_matches_byte_for_byte(server, home):
    runs = []
    for tool in (redis_cli(), swiftlet_cli()):
        reset(server)
        runs.append(subprocess.run([tool, "-p", str(server.port)], input=NON_TTY_INPUT, capture_output=True,
                                   timeout=TIMEOUT, env=environment(home)))
    assert (runs[1].stdout, runs[1].stderr, runs[1].returncode) == (runs[0].stdout, runs[0].stderr, runs[0].returncode)
    assert b"Invalid argument(s)" in runs[1].stdout
    assert b"PONG\nPONG\nPONG\n" in runs[1].stdout
    # Not a terminal: no history file.
    assert os.listdir(home) == []


def test_non_tty_no_server(home):
    port = free_port()
    runs = [
        subprocess.run([tool, "-p", str(port)], input=b"ping\nget a\n", capture_output=True, timeout=TIMEOUT,
                       env=environment(home))
        for tool in (redis_cli(), swiftlet_cli())
    ]
    assert (runs[1].stdout, runs[1].stderr, runs[1].returncode) == (runs[0].stdout, runs[0].stderr, runs[0].returncode)
    assert b"Could not connect" in runs[1].stderr


# MARK: - Reconnection


@pytest.mark.parametrize("kind", ["redis", "swiftlet"])
def test_reconnect_after_restart(kind, home):
    port = free_port()
    transcripts = []
    for tool in (redis_cli(), swiftlet_cli()):
        proc = start_server(kind, port)
        try:
            term = Terminal(tool, ["-p", str(port)], environment(home))
            term.expect("127.0.0.1:%d> " % port)
            term.line("select 3\r", "[3]> ")
            proc.stop()
            term.line("ping\r", "not connected> ")
            term.line("ping\r", "not connected> ")
            proc = start_server(kind, port)
            term.line("set back 1\r", "[3]> ")
            status = term.finish()
            transcripts.append((term.transcript, status))
            with RespConnection("127.0.0.1", port, timeout=10) as c:
                c.execute("SELECT", "3")
                in_three = c.execute("GET", "back")
        finally:
            proc.stop()
    assert_same(transcripts)
    text = transcripts[1][0]
    assert "Error: Server closed the connection" in text
    assert "Could not connect to Redis at 127.0.0.1:%d: Connection refused" % port in text
    # swiftlet-cli selects database 3 again on the new connection (redis-cli 7.0 shows [3] but writes to 0).
    assert in_three.value == b"1"


def test_start_without_server_then_connect(server, home):
    port = free_port()
    # redis-cli falls back to its static hints when it starts without a server: compare without hints.
    steps = [(":set nohints\r", "not connected> "), ("ping\r", "not connected> "), ("connect 127.0.0.1 %d\r" % server.port, "127.0.0.1:%d> " % server.port),
             ("get s\r", "> ")]
    results = []
    for tool in (redis_cli(), swiftlet_cli()):
        reset(server)
        term = Terminal(tool, ["-p", str(port)], environment(home))
        term.expect("not connected> ")
        for keys, prompt in steps:
            term.line(keys, prompt)
        results.append((term.transcript, term.finish()))
    assert_same(results)
    assert '"hello"' in results[1][0]


def test_generic_help_names_swiftlet_cli(server, home):
    term = Terminal(swiftlet_cli(), ["-p", str(server.port)], environment(home))
    term.expect("> ")
    term.line("help\r")
    assert term.finish() == 0
    assert "swiftlet-cli 7.0.15\r\nTo get help about Redis commands type:" in term.transcript


def test_subscribe_streams_until_ctrl_c(server, home):
    term = Terminal(swiftlet_cli(), ["-p", str(server.port)], environment(home))
    term.expect("> ")
    term.child.send("subscribe ch\r")
    term.expect("Reading messages... (press Ctrl-C to quit)")
    term.expect('3) (integer) 1')
    with RespConnection(server.host, server.port, timeout=10) as c:
        c.execute("PUBLISH", "ch", "hi")
    term.expect('"hi"')
    time.sleep(0.2)
    term.child.sendintr()
    term.expect("127.0.0.1:%d> " % server.port)
    term.line("ping\r")
    assert "PONG" in term.transcript
    assert term.finish() == 0


def test_unix_socket_prompt(home):
    port = free_port()
    socket_dir = tempfile.mkdtemp(prefix="swiftlet-cli-repl-sock-")
    path = os.path.join(socket_dir, "r.sock")
    proc = ServerProcess("redis", reference_argv(port) + ["--unixsocket", path], port)
    try:
        proc.start()
    except ServerStartError as e:
        pytest.fail(str(e), pytrace=False)
    try:
        results = []
        for tool in (redis_cli(), swiftlet_cli()):
            term = Terminal(tool, ["-s", path], environment(home))
            term.expect("redis %s> " % path)
            term.line("select 1\r", "redis %s[1]> " % path)
            term.line("ping\r", "redis %s[1]> " % path)
            results.append((term.transcript, term.finish()))
        assert_same(results)
    finally:
        proc.stop()


def test_slow_command_prints_its_time(server, home):
    term = Terminal(swiftlet_cli(), ["-p", str(server.port)], environment(home))
    term.expect("> ")
    term.line("blpop nosuch 0.6\r")
    assert re.search(r"\(nil\)\r\n\(0\.\d\ds\)\r\n", term.transcript)
    assert term.finish() == 0


def test_one_shot_help_without_server(home):
    run = subprocess.run([swiftlet_cli(), "-p", str(free_port()), "help", "set"], capture_output=True,
                         timeout=TIMEOUT)
    assert (run.stdout, run.stderr, run.returncode) == (
        b"", b"swiftlet-cli: help needs a server that answers COMMAND DOCS\n", 1)


def test_monitor_streams_until_ctrl_c(server, home):
    term = Terminal(swiftlet_cli(), ["-p", str(server.port)], environment(home))
    term.expect("> ")
    term.line("select 4\r", "[4]> ")
    term.child.send("monitor\r")
    term.expect("OK")
    with RespConnection(server.host, server.port, timeout=10) as c:
        c.execute("ECHO", "seen-by-monitor")
    term.expect('"seen-by-monitor"')
    time.sleep(0.2)
    term.child.sendintr()
    # A new connection, database 4 selected again.
    term.expect("127.0.0.1:%d[4]> " % server.port)
    term.line("ping\r")
    assert "PONG" in term.transcript
    assert term.finish() == 0


def test_reconnect_keeps_the_protocol_chosen_by_hello(home):
    port = free_port()
    proc = start_server("redis", port)
    try:
        term = Terminal(swiftlet_cli(), ["-p", str(port)], environment(home))
        term.expect("127.0.0.1:%d> " % port)
        term.line("hello 3\r")
        proc.stop()
        term.line("ping\r", "not connected> ")
        proc = start_server("redis", port)
        term.line("hset h f v\r")
        term.line("hgetall h\r")
        # The map form: the new connection said HELLO 3 again.
        assert '1# "f" => "v"' in term.transcript
        assert term.finish() == 0
    finally:
        proc.stop()


@pytest.mark.parametrize("signum,status", [(2, 1), (15, -15), (1, -1), (3, -3)],
                         ids=["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"])
def test_signal_at_the_prompt_restores_the_terminal(server, home, signum, status):
    """`kill` at the prompt: redis-cli's SIGINT handler exits with 1 and linenoise's atexit hook leaves raw mode;
    swiftlet-cli restores the terminal for SIGINT and also for SIGTERM, SIGHUP and SIGQUIT (which then end the
    process by their default action). Checked on the pty's slave side."""
    import pty
    import select
    import termios

    master, slave = pty.openpty()
    p = subprocess.Popen([swiftlet_cli(), "-p", str(server.port)], stdin=slave, stdout=slave, stderr=slave,
                         env=environment(home))
    prompt = b"127.0.0.1:%d> " % server.port
    try:
        out = b""
        deadline = time.monotonic() + TIMEOUT
        while not out.endswith(prompt):
            left = deadline - time.monotonic()
            assert left > 0, "timed out waiting for the prompt, got %r" % out
            ready, _, _ = select.select([master], [], [], left)
            if ready:
                out += os.read(master, 65536)
        modes = termios.ECHO | termios.ICANON
        assert termios.tcgetattr(slave)[3] & modes == 0, "the prompt is not in raw mode"
        os.kill(p.pid, signum)
        assert p.wait(timeout=TIMEOUT) == status
        assert termios.tcgetattr(slave)[3] & modes == modes
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(timeout=TIMEOUT)
        os.close(master)
        os.close(slave)


def test_repeated_subscribe_after_ctrl_c_matches(server, home):
    """`3 subscribe ch`, ctrl-c in the stream: redis-cli 7.0 connects again and sends the remaining repeats on the
    new connection, printing each SUBSCRIBE reply once (out of pub/sub mode). Same transcript and status."""
    results = []
    for tool in (redis_cli(), swiftlet_cli()):
        reset(server)
        term = Terminal(tool, ["-p", str(server.port)], environment(home))
        term.expect("> ")
        term.child.send("3 subscribe ch\r")
        term.expect("3) (integer) 1")
        time.sleep(0.3)
        term.child.sendintr()
        term.expect("127.0.0.1:%d> " % server.port)
        term.line("ping\r")
        results.append((term.transcript, term.finish()))
    assert_same(results)
    assert results[1][0].count("3) (integer) 1") == 3
