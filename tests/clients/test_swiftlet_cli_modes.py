"""swiftlet-cli's special modes against redis-cli 7.0: --pipe, --scan, --bigkeys/--memkeys, --latency*, --stat, --eval.

Like test_swiftlet_cli.py, each case runs redis-cli and then swiftlet-cli against the same redis-server from the
same data and compares what they print. Where redis-cli's output is not deterministic (timings, the order SCAN
meets keys in) the comparison is structural, and each normalisation says why. The modes that run forever are run
on a pseudo-terminal for a bounded time: on a pipe redis-cli's stdout is block-buffered, so a killed redis-cli
prints nothing there.
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
from support.servers import ServerProcess, ServerStartError, free_port, reference_argv  # noqa: E402

TIMEOUT = 30
PIPE_TIMEOUT = 180  # a million commands through a debug build


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


@pytest.fixture(params=["reference_server", "candidate_server"])
def target(request):
    """redis-server, then swiftlet-server (conftest's session servers): the read-only modes must give the same
    output as redis-cli's against either server (issue 20)."""
    return request.getfixturevalue(request.param)


def execute(server, *commands):
    with RespConnection(server.host, server.port, timeout=10) as c:
        return [c.execute(*command).to_python() for command in commands]


def run(tool, server, args, stdin=b"", timeout=TIMEOUT, address=True):
    argv = [tool] + (["-h", server.host, "-p", str(server.port)] if address else []) + list(args)
    p = subprocess.run(argv, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def both(server, args, setup, stdin=b"", timeout=TIMEOUT, address=True):
    """Runs redis-cli then swiftlet-cli, each after `setup(server)`; returns both results."""
    results = []
    for tool in (base.redis_cli(), base.swiftlet_cli()):
        setup(server)
        results.append(run(tool, server, args, stdin, timeout, address))
    return results


def flush(server):
    execute(server, ("FLUSHALL",))


def resp(*words):
    out = [b"*%d\r\n" % len(words)]
    for w in words:
        w = w if isinstance(w, bytes) else str(w).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(w), w))
    return b"".join(out)


# MARK: - --pipe

def test_pipe_mass_insertion(server):
    count = 1_000_000
    stream = b"".join(b"*3\r\n$3\r\nSET\r\n$%d\r\nkey:%d\r\n$%d\r\nvalue:%d\r\n" % (
        len(b"key:%d" % i), i, len(b"value:%d" % i), i) for i in range(count))
    outcomes = []
    for tool in (base.redis_cli(), base.swiftlet_cli()):
        flush(server)
        result = run(tool, server, ["--pipe"], stdin=stream, timeout=PIPE_TIMEOUT)
        dbsize, first, middle, last = execute(
            server, ("DBSIZE",), ("GET", "key:0"), ("GET", "key:500000"), ("GET", "key:%d" % (count - 1)))
        outcomes.append((result, dbsize, first, middle, last))
    assert outcomes[1] == outcomes[0]
    assert outcomes[0] == ((0, b"All data transferred. Waiting for the last reply...\n"
                            b"Last reply received from server.\nerrors: 0, replies: 1000000\n", b""),
                           count, b"value:0", b"value:500000", b"value:999999")


PIPE_STREAMS = {
    "errors": resp("SET", "k", "v") + resp("INCR", "k") + resp("NOSUCH", "a") + resp("GET", "k")
    + resp("LPUSH", "k", "x") + resp("DEL", "k"),
    "inline": b"SET a 1\r\nINCRBY a 5\r\nGET a\r\nPING\n",
    "empty": b"",
    "binary values": resp("SET", b"\x00\xff", b"\r\n\x00") + resp("GET", b"\x00\xff") + resp("ECHO", b"x" * 20),
    "big values": resp("SET", "big", b"v" * 3_000_000) + resp("STRLEN", "big") + resp("GETRANGE", "big", 0, 10),
}


@pytest.mark.parametrize("name", sorted(PIPE_STREAMS))
@pytest.mark.parametrize("extra", [[], ["--pipe-timeout", "0"]])
def test_pipe_streams(server, name, extra):
    expected, actual = both(server, ["--pipe"] + extra, flush, stdin=PIPE_STREAMS[name])
    assert actual == expected


def test_pipe_timeout(server):
    # CLIENT PAUSE stops the server answering the ECHO marker for 4 s; with --pipe-timeout 1 both tools give up
    # (after 1 to 2 s: they compare whole seconds).
    stream = resp("CLIENT", "PAUSE", "4000") + resp("PING")

    def setup(s):
        execute(s, ("CLIENT", "UNPAUSE"), ("FLUSHALL",))

    expected, actual = both(server, ["--pipe", "--pipe-timeout", "1"], setup, stdin=stream)
    execute(server, ("CLIENT", "UNPAUSE"))
    assert actual == expected
    assert expected[0] == 1 and b"No replies for 1 seconds: exiting.\n" in expected[2]


def test_pipe_connection_failure(server):
    expected, actual = both(server, ["-p", "1", "--pipe"], flush, stdin=resp("PING"))
    assert actual == expected and expected[0] == 1


# MARK: - --scan

def scan_data(server):
    flush(server)
    commands = [("SET", "key:%d" % i, i) for i in range(1500)]
    commands += [("SET", b"bin\x00zero", "1"), ("SET", "quote\"d\n", "1"), ("SET", "\xe9t\xe9", "1"),
                 ("RPUSH", "list:1", "a"), ("SELECT", "3"), ("SET", "in3", "x")]
    execute(server, *commands)


@pytest.mark.parametrize("args", [
    ["--scan"],
    ["--no-raw", "--scan"],
    ["--scan", "--pattern", "key:1*"],
    ["--scan", "--pattern", "nomatch*"],
    ["--scan", "--quoted-pattern", '"bin\\x00*"'],
    ["--no-raw", "--scan", "--quoted-pattern", '"quote*"'],
    ["--scan", "--pattern", "key:2*", "-i", "0.01"],
    ["-n", "3", "--scan"],
    ["--csv", "--scan", "--pattern", "list*"],
])
def test_scan(target, args):
    expected, actual = both(target, args, scan_data)
    # SCAN's order depends on the server's hash tables and may change between the runs (incremental
    # rehashing): compare the keys as sorted lines. Each key is printed once: SCAN guarantees no more here
    # than that every key comes at least once, but nothing changes the table during a run.
    assert (actual[0], sorted(actual[1].split(b"\n")), actual[2]) == (
        expected[0], sorted(expected[1].split(b"\n")), expected[2])
    assert expected[0] == 0


@pytest.mark.parametrize("args", [
    ["--scan", "--quoted-pattern", '"unbalanced'],
    ["-p", "1", "--scan"],
    ["-a", "wrong", "--no-auth-warning", "--scan"],
])
def test_scan_failures(server, args):
    expected, actual = both(server, args, scan_data)
    assert actual == expected and expected[0] == 1


# MARK: - --bigkeys / --memkeys

def bigkeys_data(server):
    # Each type has one biggest key (no ties), so the summary does not depend on the order SCAN meets them.
    flush(server)
    commands = []
    for i in range(200):
        commands.append(("SET", "str:%d" % i, "x" * (i % 50)))
    commands.append(("SET", "str:big\n", "x" * 1000))
    for i in range(20):
        commands.append(("RPUSH", "list:%d" % i) + tuple(range(i + 1)))
        commands.append(("HSET", "hash:%d" % i) + sum((("f%d" % j, "v") for j in range(i % 7 + 1)), ()))
        commands.append(("SADD", "set:%d" % i) + tuple(range(i % 5 + 1)))
        commands.append(("ZADD", "zset:%d" % i) + sum(((j, "m%d" % j) for j in range(i % 3 + 1)), ()))
    commands += [("RPUSH", "list:big") + tuple(range(500)), ("SADD", "set:big") + tuple(range(300)),
                 ("HSET", "hash:big") + sum((("f%d" % j, "v") for j in range(100)), ()),
                 ("ZADD", "zset:big") + sum(((j, "m%d" % j) for j in range(150)), ()),
                 ("XADD", "stream:1", "1-1", "a", "b"), ("XADD", "stream:1", "1-2", "a", "b"),
                 ("XADD", "stream:2", "1-1", "a", "b")]
    # Databases with one and two keys: redis-cli's summary order depends on how many keys it looked up.
    commands += [("SELECT", "6"), ("SET", "only", "x"), ("SELECT", "7"), ("RPUSH", "l", "a"), ("SADD", "s", "m")]
    execute(server, *commands)


PROGRESS = re.compile(rb"^\[(\d\d\.\d\d|100\.00)%\] Biggest (\w+) +found so far '(.*)' with (\d+) (\w+)$")


def settled(server, args, attempts=20):
    """Runs redis-cli with `args` until two consecutive runs print the same summary (bounded)."""
    previous = None
    for _ in range(attempts):
        rc, out, _ = run(base.redis_cli(), server, args)
        summary = split_report(out)[2] if rc == 0 else None
        if summary is not None and summary == previous:
            return
        previous = summary
        time.sleep(0.2)
    pytest.fail("the --bigkeys/--memkeys report never settled", pytrace=False)


def split_report(out):
    """(header, progress lines, summary) of a --bigkeys report."""
    head, _, summary = out.partition(b"\n-------- summary -------\n")
    lines = head.split(b"\n")
    header, progress = b"\n".join(lines[:5]), lines[5:]
    return header, progress, summary


@pytest.mark.parametrize("args", [
    ["--bigkeys"],
    ["--memkeys"],
    ["--memkeys-samples", "3"],
    ["--bigkeys", "--pattern", "*:1*"],
    ["--bigkeys", "-i", "0.01"],
    ["--no-raw", "--bigkeys"],
    ["-n", "5", "--bigkeys"],
    ["-n", "5", "--memkeys"],
    ["-n", "6", "--bigkeys"],
    ["-n", "7", "--memkeys"],
])
def test_bigkeys(target, args):
    # These modes only read: both tools run on the same data, loaded once. MEMORY USAGE counts the buckets of
    # a hash table that is still being rehashed after it grew, so --memkeys sizes taken right after loading
    # can differ from ones taken a moment later: wait until the server has finished rehashing (100 ms cron
    # steps), that is until two redis-cli runs a moment apart print the same report.
    bigkeys_data(target)
    settled(target, args)
    expected, actual = both(target, args, lambda s: None)
    assert (actual[0], actual[2]) == (expected[0], expected[2]) == (0, b"")
    expected_header, expected_progress, expected_summary = split_report(expected[1])
    header, progress, summary = split_report(actual[1])
    assert header == expected_header
    # The summary (biggest key per type, counts, totals, averages) must match exactly.
    assert summary == expected_summary
    # The progress lines depend on the order SCAN meets the keys, which can change between the runs while the
    # server rehashes: compare their shape, and that the last "found so far" of each type (the biggest, no ties
    # in this data) is the same key and size. The percentage is the share scanned before the SCAN call, so it
    # too depends on that order: it is dropped.
    def last_per_type(lines):
        found = {}
        assert lines[-1] == b""
        for line in lines[:-1]:
            match = PROGRESS.match(line)
            assert match, line
            found[match.group(2)] = match.group(3, 4, 5)
        return found

    assert last_per_type(progress) == last_per_type(expected_progress)


def test_bigkeys_connection_failure(server):
    expected, actual = both(server, ["-p", "1", "--bigkeys"], flush)
    assert actual == expected and expected[0] == 1


# MARK: - --latency, --latency-history, --latency-dist, --stat

LATENCY_LINES = {
    "--raw": rb"\d+ \d+ \d+\.\d\d \d+\n",
    "--csv": rb"\d+,\d+,\d+\.\d\d,\d+\n",
    "--json": rb'\{"min": \d+, "max": \d+, "avg": \d+\.\d\d, "count": \d+\}\n',
    "--quoted-json": rb"",
}


@pytest.mark.parametrize("mode", sorted(LATENCY_LINES))
def test_latency_on_a_pipe(target, mode):
    # Not on a terminal (or not in the human format), --latency samples for -i seconds, prints one line, ends.
    for tool in (base.redis_cli(), base.swiftlet_cli()):
        start = time.monotonic()
        rc, out, err = run(tool, target, ["--latency", "-i", "0.3", mode])
        assert (rc, err) == (0, b"") and re.fullmatch(LATENCY_LINES[mode], out), (tool, out)
        assert time.monotonic() - start < 5


TTY_DEADLINE = 15  # seconds to wait for the output a test needs, on a busy machine


def run_on_tty_until(tool, server, args, done, deadline=TTY_DEADLINE):
    """Runs a never-ending mode with stdout on a pseudo-terminal until `done(output so far)` holds or `deadline`
    seconds pass, then kills it. The output has the terminal's \r\n turned back into \n."""
    import pty
    master, slave = pty.openpty()
    argv = [tool, "-h", server.host, "-p", str(server.port)] + list(args)
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE)
    os.close(slave)
    out = b""
    end = time.monotonic() + deadline
    try:
        while time.monotonic() < end and not done(out.replace(b"\r\n", b"\n")):
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    out += os.read(master, 65536)
                except OSError:
                    break
    finally:
        p.kill()
        p.wait(timeout=TIMEOUT)
        err = p.stderr.read()
        p.stderr.close()
        os.close(master)
    return out.replace(b"\r\n", b"\n"), err


def tty_both(server, args, done):
    return [run_on_tty_until(tool, server, args, done) for tool in (base.redis_cli(), base.swiftlet_cli())]


def complete_lines(out):
    """The lines that were finished when the tool was killed."""
    return out.split(b"\n")[:-1]


@pytest.mark.parametrize("mode, line", [
    ("--raw", rb"\d+ \d+ \d+\.\d\d \d+"),
    ("--csv", rb"\d+,\d+,\d+\.\d\d,\d+"),
    ("--json", rb'\{"min": \d+, "max": \d+, "avg": \d+\.\d\d, "count": \d+\}'),
])
def test_latency_history(target, mode, line):
    range_line = rb" -- \d+\.\d\d seconds range"

    def enough(out):
        lines = complete_lines(out)
        return len(lines) >= 20 and any(re.fullmatch(range_line, text) for text in lines)

    for out, err in tty_both(target, ["--latency-history", "-i", "0.5", mode], enough):
        assert err == b""
        lines = complete_lines(out)
        # A line per PING (every ~10 ms), and a range line after each -i: the count restarts from 1 after it.
        assert len(lines) >= 20
        ranges = [i for i, text in enumerate(lines) if re.fullmatch(range_line, text)]
        assert ranges, lines
        for i, text in enumerate(lines):
            if i in ranges:
                continue
            # The range line follows the sample line it closes, on the same line.
            sample = text.split(b" -- ")[0]
            assert re.fullmatch(line, sample), text


def test_latency_human_format(target):
    marker = b"\x1b[0G\x1b[2K"
    # 12 markers: more than 10 frames, the last one complete.
    for out, err in tty_both(target, ["--latency"], lambda out: out.count(marker) >= 12):
        assert err == b""
        # Each sample redraws the line: cursor to column 0, clear the line, the statistics without a newline.
        frames = out.split(marker)
        assert frames[0] == b"" and len(frames) > 10
        # The frame being drawn when the tool was killed may be cut short.
        for frame in frames[1:-1]:
            assert re.fullmatch(rb"min: \d+, max: \d+, avg: \d+\.\d\d \(\d+ samples\)", frame), frame


@pytest.mark.parametrize("extra", [[], ["--mono"]])
def test_latency_dist(target, extra):
    legend_end = b"---------------------------------------------\n"

    def enough(out):
        # The legend (its second dashed line ends it), then two complete spectra.
        start = out.find(legend_end, 1)
        return start >= 0 and len(complete_lines(out[start + len(legend_end):])) >= 2

    outputs = tty_both(target, ["--latency-dist", "-i", "0.3"] + extra, enough)
    (expected, expected_err), (actual, actual_err) = outputs
    assert expected_err == actual_err == b""
    # The legend (with the palette) is the same bytes in both; the spectra differ in their colours only.
    expected_legend = expected[:expected.index(legend_end, 1) + len(legend_end)]
    assert actual.startswith(expected_legend)
    spectrum = re.compile(rb"\x1b\[38;5;0m(\x1b\[48;5;\d+m[.\-*#1-9A-Q?]){31}\x1b\[0m")
    for out in (expected, actual):
        lines = complete_lines(out[len(expected_legend):])
        assert len(lines) >= 2
        for text in lines:
            assert spectrum.fullmatch(text), text
        # Only the colours change: the bucket characters are always the same.
        assert re.sub(rb"\x1b\[[\d;]+m", b"", lines[0]) == b".-*#123456789ABCDEFGHIJKLMNOPQ?"


@pytest.fixture
def stat_server():
    """A server of its own, so that the request delta counts only the tool's INFO calls."""
    port = free_port()
    proc = ServerProcess("redis-server", reference_argv(port), port)
    try:
        proc.start()
    except ServerStartError as e:
        pytest.fail(str(e), pytrace=False)
    yield proc
    proc.stop()


def test_stat(stat_server):
    server = stat_server
    execute(server, ("FLUSHALL",), ("SET", "a", "1"), ("SET", "b", "2"))
    header = [b"------- data ------ --------------------- load -------------------- - child -",
              b"keys       mem      clients blocked requests            connections          "]
    row = re.compile(rb"(\d+) +(\d+(\.\d\d)?[BKMG]) +(\d+) +(\d+) +(\d+) \(\+(\d+)\) +(\d+) +")
    for out, err in tty_both(server, ["--stat", "-i", "0.3"], lambda out: len(complete_lines(out)) >= 5):
        assert err == b""
        lines = complete_lines(out)
        assert lines[:2] == header and len(lines) >= 5
        rows = [row.fullmatch(text) for text in lines[2:]]
        assert all(rows), lines
        # Padded to 11+8+1+8+8+19+1+12 columns (while the numbers fit); keys are exact; the request delta
        # counts the INFO calls.
        for text in lines[2:]:
            assert len(text) == 68 or text.endswith((b"SAVE", b"AOF", b"LOAD"))
        assert [m.group(1) for m in rows] == [b"2"] * len(rows)
        assert rows[0].group(7) == b"0" and all(m.group(7) == b"1" for m in rows[1:])


@pytest.mark.parametrize("mode", ["--latency", "--latency-history", "--latency-dist", "--stat"])
def test_forever_modes_connection_failure(server, mode):
    expected, actual = both(server, ["-p", "1", mode], flush)
    assert actual == expected and expected[0] == 1


# MARK: - --eval

SCRIPTS = {
    "keys_and_args.lua": b"return {KEYS[1], KEYS[2], ARGV[1], ARGV[2], #KEYS, #ARGV}\n",
    "get.lua": b"return redis.call('get', KEYS[1])\n",
    "error.lua": b"return redis.error_reply('bad thing')\n",
    "set.lua": b"redis.call('set', KEYS[1], ARGV[1]); return redis.call('incr', KEYS[1])\n",
    "syntax.lua": b"return (\n",
}


@pytest.fixture(scope="module")
def scripts():
    directory = tempfile.mkdtemp(prefix="swiftlet-cli-eval-")
    for name, text in SCRIPTS.items():
        with open(os.path.join(directory, name), "wb") as f:
            f.write(text)
    return directory


def eval_data(server):
    execute(server, ("FLUSHALL",), ("SET", "k", "value"))


@pytest.mark.parametrize("args", [
    ["keys_and_args.lua", "k1", "k2", ",", "a1", "a2"],
    ["keys_and_args.lua", "k1", ",", "a1", ","],
    ["keys_and_args.lua", ",", "a1"],
    ["keys_and_args.lua", "k1,", "a1"],
    ["keys_and_args.lua"],
    ["get.lua", "k"],
    ["get.lua", "missing"],
    ["error.lua"],
    ["set.lua", "n", ",", "41"],
    ["set.lua", "n", ",", "notanumber"],
    ["syntax.lua"],
    ["missing.lua"],
])
@pytest.mark.parametrize("mode", [[], ["--no-raw"], ["-3", "--json"], ["-e"], ["-r", "2"]])
def test_eval(server, scripts, args, mode):
    argv = mode + ["--eval", os.path.join(scripts, args[0])] + args[1:]
    expected, actual = both(server, argv, eval_data)
    assert actual == expected


def test_eval_connection_failure_comes_first(server, scripts):
    expected, actual = both(server, ["-p", "1", "--eval", os.path.join(scripts, "missing.lua")], eval_data)
    assert actual == expected and b"Could not connect" in expected[2]


# MARK: - Ctrl-C in the SCAN loops

@pytest.fixture(scope="module")
def many_keys(server):
    """400,000 keys in database 11, loaded with redis-cli --pipe."""
    stream = b"".join(resp("SET", "many:%d" % i, "v") for i in range(400_000))
    execute(server, ("SELECT", "11"), ("FLUSHDB",))
    rc, out, err = run(base.redis_cli(), server, ["-n", "11", "--pipe"], stdin=stream, timeout=PIPE_TIMEOUT)
    assert rc == 0, err
    return 400_000


def scan_calls(server):
    info = execute(server, ("INFO", "commandstats"))[0]
    info = info.decode() if isinstance(info, bytes) else info
    match = re.search(r"^cmdstat_scan:calls=(\d+)", info, re.M)
    return int(match.group(1)) if match else 0


def interrupted(tool, server, args, deadline=15):
    """Runs a SCAN loop and sends SIGINT once the server has answered its first SCAN. Its first stdout bytes
    would not do: on a pipe redis-cli's --bigkeys output stays in its stdio buffer until it exits."""
    before = scan_calls(server)
    argv = [tool, "-h", server.host, "-p", str(server.port)] + args
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    end = time.monotonic() + deadline
    while scan_calls(server) == before and time.monotonic() < end and p.poll() is None:
        time.sleep(0.005)
    p.send_signal(2)
    out, err = p.communicate(timeout=TIMEOUT)
    return p.returncode, out, err


@pytest.mark.parametrize("mode", ["--bigkeys", "--memkeys"])
def test_interrupted_bigkeys_prints_the_summary(server, many_keys, mode):
    # SIGINT ends the SCAN loop (not the program): the summary follows, its first line prefixed with the
    # progress reached. Where the loop stopped depends on timing, so only the shape is compared.
    for tool in (base.redis_cli(), base.swiftlet_cli()):
        rc, out, err = interrupted(tool, server, ["-n", "11", mode])
        assert (rc, err) == (0, b""), tool
        summary = out.partition(b"\n-------- summary -------\n\n")[2].split(b"\n")
        match = re.fullmatch(rb"\[(\d\d\.\d\d)%\] Sampled (\d+) keys in the keyspace!", summary[0])
        assert match, (tool, summary[:2])
        assert 0 < int(match.group(2)) < many_keys


def test_interrupted_scan_ends_quietly(server, many_keys):
    for tool in (base.redis_cli(), base.swiftlet_cli()):
        rc, out, err = interrupted(tool, server, ["-n", "11", "--scan"])
        assert (rc, err) == (0, b""), tool
        keys = out.split(b"\n")[:-1]
        assert 0 < len(keys) < many_keys and all(k.startswith(b"many:") for k in keys)
