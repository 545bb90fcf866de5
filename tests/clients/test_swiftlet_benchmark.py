"""swiftlet-benchmark against redis-benchmark 7.0, both run against the same server.

Every test runs both tools with the same options against a real redis-server and against
the candidate (swiftlet-server), then checks that swiftlet-benchmark's output has the same
structure line by line (numbers differ, titles, order and formats must not) and that the
data the benchmark leaves behind is the same.

  SWIFTLET_BENCHMARK   the binary under test (default .build/debug/swiftlet-benchmark)

Small -n keeps each run well under a second; every subprocess has a timeout.
"""

import json
import os
import re
import time
import subprocess

import pytest

from support.resp import RespConnection
from support.servers import ServerStartError, require_tool

TIMEOUT = 60
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVERS = ["reference_server", "candidate_server"]

DEFAULT_TITLES = [
    "PING_INLINE", "PING_MBULK", "SET", "GET", "INCR", "LPUSH", "RPUSH", "LPOP", "RPOP", "SADD", "HSET",
    "SPOP", "ZADD", "ZPOPMIN", "LPUSH (needed to benchmark LRANGE)", "LRANGE_100 (first 100 elements)",
    "LRANGE_300 (first 300 elements)", "LRANGE_500 (first 500 elements)", "LRANGE_600 (first 600 elements)",
    "MSET (10 keys)",
]
QUIET = re.compile(r"^(?P<title>.+): (\d+\.\d\d|inf) requests per second, p50=\d+\.\d{3} msec$")
CSV_ROW = re.compile(r'^"(?P<title>[^"]+)"(,"(\d+\.\d+|inf|nan|-nan)"){7}$')
CSV_HEADER = ('"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms",'
              '"p99_latency_ms","max_latency_ms"')
DISTRIBUTION = re.compile(r"^\d+\.\d{3}% <= \d+\.\d{3} milliseconds \(cumulative count \d+\)$")


def _benchmark_binary():
    path = os.environ.get("SWIFTLET_BENCHMARK", ".build/debug/swiftlet-benchmark")
    if not os.path.isabs(path):
        path = os.path.join(REPO, path)
    if not os.path.exists(path):
        pytest.fail("swiftlet-benchmark not found at %s (swift build --product swiftlet-benchmark)" % path,
                    pytrace=False)
    return path


def _redis_benchmark():
    try:
        return require_tool("redis-benchmark")
    except ServerStartError as e:
        message = str(e)
    pytest.fail(message, pytrace=False)


def run(tool, server, *args, timeout=TIMEOUT):
    """Runs one tool against `server`; returns (status, stdout lines as a terminal shows them, stderr)."""
    binary = _redis_benchmark() if tool == "redis" else _benchmark_binary()
    argv = [binary, "-h", server.host, "-p", str(server.port)] + [str(a) for a in args]
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    out = p.stdout.decode("utf-8", "replace")
    # A progress line and the blanks that erase it end in \r: keep what a terminal would show last.
    lines = [line.split("\r")[-1] for line in out.split("\n")]
    return p.returncode, lines, p.stderr.decode("utf-8", "replace")


def both(server, *args):
    """Runs redis-benchmark, then swiftlet-benchmark (each on an empty server); returns both outputs."""
    results = []
    for tool in ("redis", "swiftlet"):
        flush(server)
        status, lines, err = run(tool, server, *args)
        assert status == 0, "%s %s failed: %s" % (tool, args, err)
        results.append(lines)
    return results


def flush(server):
    with RespConnection(server.host, server.port, timeout=10) as c:
        assert c.execute("FLUSHALL").raw == b"+OK\r\n"


def execute(server, *args):
    with RespConnection(server.host, server.port, timeout=10) as c:
        return c.execute(*args).to_python()


def skeleton(lines):
    """The report's structure: numbers replaced, a run of distribution lines collapsed into one."""
    shape = []
    for line in lines:
        if DISTRIBUTION.match(line):
            if shape and shape[-1] == "<distribution>":
                continue
            shape.append("<distribution>")
        else:
            # Numbers, and the padding of right-aligned columns whose width depends on them.
            shape.append(re.sub(r" +N", " N", re.sub(r"\d+(\.\d+)?", "N", line)))
    return shape


@pytest.fixture(params=SERVERS)
def server(request):
    return request.getfixturevalue(request.param)


def test_quiet_default_suite(server):
    redis, swiftlet = both(server, "-q", "-n", 2000)
    assert len(swiftlet) == len(redis)
    titles = []
    for ours, theirs in zip(swiftlet, redis):
        if theirs == "":
            assert ours == ""
            continue
        m, n = QUIET.match(ours), QUIET.match(theirs)
        assert m and n, (ours, theirs)
        assert m.group("title") == n.group("title")
        titles.append(m.group("title"))
    assert titles == DEFAULT_TITLES


def test_csv_default_suite(server):
    redis, swiftlet = both(server, "--csv", "-n", 2000)
    assert swiftlet[0] == redis[0] == CSV_HEADER
    assert len(swiftlet) == len(redis)
    titles = []
    for ours, theirs in zip(swiftlet[1:], redis[1:]):
        if theirs == "":
            assert ours == ""
            continue
        m, n = CSV_ROW.match(ours), CSV_ROW.match(theirs)
        assert m and n, (ours, theirs)
        assert m.group("title") == n.group("title")
        titles.append(m.group("title"))
    assert titles == DEFAULT_TITLES


def test_full_report_structure(server):
    redis, swiftlet = both(server, "-n", 2000, "-t", "set,get,lrange_100")
    assert skeleton(swiftlet) == skeleton(redis)
    assert "====== SET ======" in swiftlet and "====== LRANGE_100 (first 100 elements) ======" in swiftlet
    assert any(re.fullmatch(r"  2000 requests completed in \d+\.\d\d seconds", line) for line in swiftlet)
    assert "  50 parallel clients" in swiftlet and "  3 bytes payload" in swiftlet
    assert "  keep alive: 1" in swiftlet and "  multi-thread: no" in swiftlet


def test_selection_is_case_insensitive(server):
    redis, swiftlet = both(server, "-q", "-n", 500, "-t", "Ping,SET,lrange_300")
    titles = [QUIET.match(line).group("title") for line in swiftlet if line]
    assert titles == [QUIET.match(line).group("title") for line in redis if line]
    assert titles == ["PING_INLINE", "PING_MBULK", "SET", "LPUSH (needed to benchmark LRANGE)",
                      "LRANGE_300 (first 300 elements)"]


def test_custom_command_fills_the_same_list(server):
    lengths = []
    for tool in ("redis", "swiftlet"):
        flush(server)
        status, lines, err = run(tool, server, "-q", "-r", 10000, "-n", 2000, "lpush", "mylist", "__rand_int__")
        assert status == 0, err
        assert QUIET.match(lines[0]).group("title") == "lpush mylist __rand_int__"
        assert lines[1:] == [""]
        elements = execute(server, "LRANGE", "mylist", 0, -1)
        assert all(re.fullmatch(rb"\d{12}", e) and int(e) < 10000 for e in elements)
        lengths.append(len(elements))
    assert lengths == [2000, 2000]


def test_custom_command_full_report_payload(server):
    redis, swiftlet = both(server, "-n", 1000, "set", "foo", "bar")
    assert skeleton(swiftlet) == skeleton(redis)
    payload = [line for line in redis if line.endswith("bytes payload")]
    assert payload and [line for line in swiftlet if line.endswith("bytes payload")] == payload


def test_pipeline(server):
    redis, swiftlet = both(server, "-q", "-P", 16, "-n", 4000, "-t", "set,get,lpush,lrange_100,mset")
    assert [QUIET.match(line).group("title") for line in swiftlet if line] == \
        [QUIET.match(line).group("title") for line in redis if line]
    # Requests are issued in whole pipelines until -n is reached: 4000 LPUSH, then 4000 more before LRANGE.
    assert execute(server, "LLEN", "mylist") == 8000


def test_data_size_writes_the_same_value(server):
    values = []
    for tool in ("redis", "swiftlet"):
        flush(server)
        status, lines, err = run(tool, server, "-q", "-d", 100, "-n", 200, "-t", "set")
        assert status == 0, err
        assert execute(server, "KEYS", "*") == [b"key:__rand_int__"]
        values.append(execute(server, "GET", "key:__rand_int__"))
    assert len(values[0]) == 100 and values[0] == values[1]


def test_random_keys(server):
    keys = []
    for tool in ("redis", "swiftlet"):
        flush(server)
        # A fixed seed for ours (redis-benchmark has none), so that a failure can be replayed.
        seed = ["--seed", 11] if tool == "swiftlet" else []
        status, lines, err = run(tool, server, "-q", "-r", 100, "-n", 1000, "-t", "set,incr,sadd,hset,zadd", *seed)
        assert status == 0, err
        names = execute(server, "KEYS", "*")
        assert all(re.fullmatch(rb"(key|counter):\d{12}|myset|myhash|myzset", k) for k in names), names
        assert 50 < execute(server, "DBSIZE") <= 203
        members = execute(server, "SMEMBERS", "myset")
        assert all(re.fullmatch(rb"element:\d{12}", m) for m in members)
        keys.append(sorted({re.sub(rb"\d{12}", b"N", k) for k in names}))
    assert keys[0] == keys[1]


def test_dbnum_and_resp3(server):
    for tool in ("redis", "swiftlet"):
        flush(server)
        status, lines, err = run(tool, server, "-q", "-3", "--dbnum", 3, "-n", 300, "-t", "set,lrange_100")
        assert status == 0, err
        with RespConnection(server.host, server.port, timeout=10) as c:
            assert c.execute("SELECT", 3).raw == b"+OK\r\n"
            assert c.execute("EXISTS", "key:__rand_int__").to_python() == 1
        assert execute(server, "DBSIZE") == 0


def test_no_keepalive(server):
    redis, swiftlet = both(server, "-q", "-k", 0, "-c", 5, "-n", 200, "-t", "ping_mbulk,set")
    assert [QUIET.match(line).group("title") for line in swiftlet if line] == ["PING_MBULK", "SET"]
    assert len(redis) == len(swiftlet)


def test_error_reply_stops_the_run(server):
    for tool in ("redis", "swiftlet"):
        status, lines, err = run(tool, server, "-n", 10, "definitelynotacommand")
        assert status == 1
        assert "Error from server: ERR unknown command" in err, (tool, err)


def test_help_and_invalid_option():
    status, lines, _ = run("swiftlet", _Address(), "--help")
    assert status == 0 and lines[0].startswith("Usage: swiftlet-benchmark [OPTIONS] [COMMAND ARGS...]")
    status, lines, _ = run("swiftlet", _Address(), "--nope")
    assert status == 1 and lines[0] == 'Invalid option "--nope" or option argument missing'


class _Address:
    host = "127.0.0.1"
    port = 1


# Options beyond redis-benchmark 7.0 (issue 20): --threads really runs threads, --duration, --qps.

def _quiet_rates(lines):
    """The (title, requests per second) of each -q line."""
    rates = []
    for line in lines:
        if line:
            m = QUIET.match(line)
            assert m, line
            rates.append((m.group("title"), float(line.split(": ")[1].split(" ")[0])))
    return rates


def test_threads_run_every_request(server):
    flush(server)
    status, lines, err = run("swiftlet", server, "-q", "--threads", 4, "-c", 10, "-n", 2001, "-r", 1000,
                             "-t", "set,lpush", "--seed", 5)
    assert status == 0, err
    assert [title for title, _ in _quiet_rates(lines)] == ["SET", "LPUSH"]
    # The per-thread quotas add up to -n exactly (no pipeline).
    assert execute(server, "LLEN", "mylist") == 2001
    names = execute(server, "KEYS", "key:*")
    assert len(names) > 500 and all(re.fullmatch(rb"key:\d{12}", k) and int(k[4:]) < 1000 for k in names)


def test_threads_full_report(server):
    flush(server)
    status, lines, err = run("swiftlet", server, "--threads", 3, "-n", 3000, "-P", 4, "-t", "get,lrange_100")
    assert status == 0, err
    assert "  multi-thread: yes" in lines and "  threads: 3" in lines
    assert sum(1 for line in lines if re.fullmatch(r"  30\d\d requests completed in \d+\.\d\d seconds", line)) == 3
    _, plain, _ = run("swiftlet", server, "-n", 3000, "-P", 4, "-t", "get,lrange_100")
    assert [s for s in skeleton(lines) if s != "  threads: N"] == \
        [s.replace("multi-thread: no", "multi-thread: yes") for s in skeleton(plain)]


def test_duration_stops_in_time(server):
    started = time.monotonic()
    status, lines, err = run("swiftlet", server, "-q", "--duration", 1, "-t", "set,get", timeout=20)
    elapsed = time.monotonic() - started
    assert status == 0, err
    assert [title for title, rps in _quiet_rates(lines) if rps > 0] == ["SET", "GET"]
    # Two tests of one second each; generous on a busy machine.
    assert 1.8 <= elapsed < 10, elapsed


def test_duration_with_threads(server):
    started = time.monotonic()
    status, lines, err = run("swiftlet", server, "--duration", 1, "--threads", 2, "-t", "ping_mbulk", timeout=20)
    assert status == 0, err
    assert 0.9 <= time.monotonic() - started < 8
    seconds = [float(m.group(1)) for m in (re.fullmatch(r"  \d+ requests completed in (\d+\.\d\d) seconds", line)
                                           for line in lines) if m]
    assert len(seconds) == 1 and 0.9 <= seconds[0] < 4, lines


@pytest.mark.parametrize("threads", [0, 2])
def test_qps_is_respected(server, threads):
    flush(server)
    status, lines, err = run("swiftlet", server, "-q", "--qps", 500, "--duration", 2, "-c", 20,
                             "--threads", threads, "-t", "set", timeout=20)
    assert status == 0, err
    [(title, rps)] = _quiet_rates(lines)
    # Never above the rate; below it only as far as a busy machine may lag.
    assert title == "SET" and 300 <= rps <= 650, rps


def test_qps_with_requests_takes_its_time(server):
    flush(server)
    started = time.monotonic()
    status, lines, err = run("swiftlet", server, "-q", "--qps", 500, "-n", 500, "-c", 4, "lpush", "l", "x",
                             timeout=20)
    elapsed = time.monotonic() - started
    assert status == 0, err
    assert execute(server, "LLEN", "l") == 500
    # 500 requests at 500 per second take a second; process start and a busy machine may add a few.
    assert 0.8 <= elapsed < 6, elapsed


@pytest.mark.parametrize("args", [["--qps", "0"], ["--duration", "x"], ["--duration", "-1"], ["--qps"]])
def test_bad_new_option_values(args):
    status, lines, _ = run("swiftlet", _Address(), *args)
    assert status == 1 and lines[0] == 'Invalid option "%s" or option argument missing' % args[0]


def test_json(server):
    flush(server)
    status, lines, err = run("swiftlet", server, "--json", "-n", 1000, "--threads", 2, "-r", 100)
    assert status == 0, err
    assert lines[1:] == [""]
    run_object = json.loads(lines[0])
    assert run_object["tool"] == "swiftlet-benchmark"
    assert run_object["options"]["requests"] == 1000 and run_object["options"]["threads"] == 2
    assert [t["test"] for t in run_object["tests"]] == DEFAULT_TITLES
    for test in run_object["tests"]:
        assert test["requests"] == 1000 and test["rps"] > 0 and test["seconds"] >= 0
        latency = test["latency_ms"]
        assert latency["min"] <= latency["p50"] <= latency["p95"] <= latency["p99"] <= latency["max"]
        assert latency["min"] <= latency["avg"] <= latency["max"]
        steps = test["percentiles"]
        assert steps[0]["percentile"] == 0 and steps[-1]["percentile"] == 100 and steps[-1]["count"] == 1000
        assert [s["count"] for s in steps] == sorted(s["count"] for s in steps)


def test_json_custom_command_and_duration(server):
    status, lines, err = run("swiftlet", server, "--json", "--duration", 1, "set", 'k"ey', "v", timeout=20)
    assert status == 0, err
    run_object = json.loads(lines[0])
    assert run_object["options"]["duration"] == 1
    [test] = run_object["tests"]
    assert test["test"] == 'set k"ey v' and test["requests"] > 0 and 0.9 <= test["seconds"] < 4


def test_compare(reference_server, candidate_server):
    flush(reference_server)
    flush(candidate_server)
    other = "%s:%d" % (candidate_server.host, candidate_server.port)
    status, lines, err = run("swiftlet", reference_server, "--compare", other, "--rounds", 2, "-n", 1000,
                             "-t", "set,get,lpush,lrange_100", timeout=120)
    assert status == 0, err
    assert lines[0] == "Medians of 2 rounds: main = %s:%d, other = %s" % (
        reference_server.host, reference_server.port, other)
    assert lines[2].startswith("| test | main rps | other rps | rps main/other |")
    rows = [line.split("|")[1:-1] for line in lines[4:] if line]
    assert [cells[0].strip() for cells in rows] == [
        "SET", "GET", "LPUSH", "LPUSH (needed to benchmark LRANGE)", "LRANGE_100 (first 100 elements)"]
    for cells in rows:
        main_rps, other_rps, ratio = (float(c) for c in cells[1:4])
        assert main_rps > 0 and other_rps > 0 and abs(ratio - main_rps / other_rps) < 0.01 + ratio * 0.01
    # Two rounds of 1000 LPUSH and 1000 more before LRANGE, on each server.
    assert execute(reference_server, "LLEN", "mylist") == execute(candidate_server, "LLEN", "mylist") == 4000


@pytest.mark.parametrize("args", [["--compare", "nohost"], ["--compare", "h:0"], ["--rounds", "0"]])
def test_bad_compare_values(args):
    status, lines, _ = run("swiftlet", _Address(), *args)
    assert status == 1 and lines[0] == 'Invalid option "%s" or option argument missing' % args[0]


# Review fixes: the prefix (AUTH / SELECT / HELLO) is its own buffer, reported values, limits.

def test_password_placeholder_is_not_randomised(server):
    """`-a __rand_int__ -r 10`: the password is sent as it is, and only the requests are randomised."""
    flush(server)
    execute(server, "CONFIG", "SET", "requirepass", "__rand_int__")
    try:
        for args in (["-a", "__rand_int__"], ["--user", "default", "-a", "__rand_int__"]):
            status, lines, err = run("swiftlet", server, "-q", "-r", 10, "-n", 2000, "-c", 5, "-P", 3,
                                     "--dbnum", 2, "--seed", 3, *args, "-t", "set")
            assert status == 0, err
            assert [title for title, _ in _quiet_rates(lines)] == ["SET"]
        with RespConnection(server.host, server.port, timeout=10) as c:
            assert c.execute("AUTH", "__rand_int__").raw == b"+OK\r\n"
            assert c.execute("SELECT", 2).raw == b"+OK\r\n"
            names = c.execute("KEYS", "*").to_python()
        assert names and all(re.fullmatch(rb"key:0{10}\d\d", k) and int(k[4:]) < 10 for k in names), names
    finally:
        with RespConnection(server.host, server.port, timeout=10) as c:
            c.execute("AUTH", "__rand_int__")
            assert c.execute("CONFIG", "SET", "requirepass", "").raw == b"+OK\r\n"
            c.execute("FLUSHALL")


def test_reports_the_clients_and_threads_used(server):
    status, lines, err = run("swiftlet", server, "-c", 0, "-n", 100, "-t", "ping_mbulk")
    assert status == 0, err
    assert "  1 parallel clients" in lines
    status, lines, err = run("swiftlet", server, "-c", 2, "--threads", 500, "-n", 100, "-t", "ping_mbulk")
    assert status == 0, err
    assert "  2 parallel clients" in lines and "  threads: 2" in lines


def test_absurd_output_buffers_are_refused(server):
    status, lines, err = run("swiftlet", server, "-q", "-P", 100000000, "-c", 50, "-n", 10, "-t", "set",
                             timeout=20)
    assert status == 1 and "GiB limit on output buffers" in err, err


def test_loop_with_no_test_selected_stops(server):
    status, lines, err = run("swiftlet", server, "-l", "-t", "nosuch", timeout=20)
    assert status == 0, err
    assert lines == ["", ""]


def test_custom_command_bytes_are_sent_as_given(server):
    flush(server)
    argv = [_benchmark_binary(), "-h", server.host, "-p", str(server.port), "-q", "-n", 10, "-c", 1,
            "lpush", "l", b"\xff\xfe"]
    p = subprocess.run([str(a) if isinstance(a, int) else a for a in argv], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=TIMEOUT)
    assert p.returncode == 0, p.stderr
    assert execute(server, "LRANGE", "l", 0, -1) == [b"\xff\xfe"] * 10
