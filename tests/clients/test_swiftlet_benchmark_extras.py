"""swiftlet-benchmark's options beyond redis-benchmark's reports (issue 20's memtier_benchmark-like workloads).

* redis-benchmark 7.0's `-u`, `-x` and `--enable-tracking`: both tools against the same server, the same output
  structure, errors and data;
* key patterns (`--key-pattern S/Z/G`, `--key-minimum/--key-maximum`, `--seed`), `--data-size-range`, `--ratio`:
  checked by the data each run leaves on redis-server and swiftlet-server;
* `--protocol memcache_text|memcache_meta` against memcached 1.6 and swiftlet-memcached;
* `--csv`/`--json` structure, `--plot` (the SVG parses, one curve per test), the `--threads` progress line on a tty.

  SWIFTLET_BENCHMARK   the binary under test (default .build/debug/swiftlet-benchmark)

Every run is a few hundred or thousand requests (or --duration 1); every subprocess has a timeout.
"""

import json
import os
import pty
import re
import select
import socket
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest

from support.resp import RespConnection
from test_swiftlet_benchmark import CSV_HEADER, CSV_ROW, QUIET, _benchmark_binary, _redis_benchmark

TIMEOUT = 60


def run(server, *args, tool="swiftlet", stdin=b"", timeout=TIMEOUT, host_port=True):
    """Runs a tool against `server`; returns (status, stdout lines as a terminal shows them, stderr)."""
    binary = _redis_benchmark() if tool == "redis" else _benchmark_binary()
    argv = [binary] + (["-h", server.host, "-p", str(server.port)] if host_port else []) + [str(a) for a in args]
    p = subprocess.run(argv, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    out = p.stdout.decode("utf-8", "replace")
    lines = [line.split("\r")[-1] for line in out.split("\n")]
    return p.returncode, lines, p.stderr.decode("utf-8", "replace")


def ok(server, *args, **kwargs):
    status, lines, err = run(server, *args, **kwargs)
    assert status == 0, (args, err)
    return lines


def execute(server, *args, db=0):
    with RespConnection(server.host, server.port, timeout=10) as c:
        if db:
            c.execute("SELECT", str(db))
        return c.execute(*args).to_python()


def flush(server):
    execute(server, "FLUSHALL")


def quiet_titles(lines):
    titles = []
    for line in lines:
        if line == "":
            continue
        m = QUIET.match(line)
        assert m, line
        titles.append(m.group("title"))
    return titles


@pytest.fixture(params=["reference_server", "candidate_server"])
def server(request):
    s = request.getfixturevalue(request.param)
    flush(s)
    return s


@pytest.fixture(params=["memcached_reference", "memcached_candidate"])
def mc(request):
    s = request.getfixturevalue(request.param)
    mc_request(s, b"flush_all\r\n", b"OK\r\n")
    return s


def mc_request(server, data, until):
    """Sends raw memcached bytes and reads until the reply ends with `until`."""
    with socket.create_connection((server.host, server.port), timeout=10) as s:
        s.sendall(data)
        reply = b""
        while not reply.endswith(until):
            chunk = s.recv(65536)
            assert chunk, reply
            reply += chunk
        return reply


def mc_values(server, keys):
    """{key: value} for the keys that exist (text protocol `get`)."""
    reply = mc_request(server, b"get " + b" ".join(keys) + b"\r\n", b"END\r\n")
    values = {}
    rest = reply
    while rest.startswith(b"VALUE "):
        header, rest = rest.split(b"\r\n", 1)
        _, key, _, length = header.split(b" ")[:4]
        values[key] = rest[: int(length)]
        rest = rest[int(length) + 2:]
    assert rest == b"END\r\n", reply
    return values


def key(n):
    return b"key:%012d" % n


# ---------------------------------------------------------------------------
# redis-benchmark 7.0's -u, -x, --enable-tracking: both tools, the same results


def test_uri_sets_host_port_and_db(server):
    uri = "redis://%s:%d/3" % (server.host, server.port)
    for tool in ("redis", "swiftlet"):
        flush(server)
        status, lines, err = run(server, "-u", uri, "-t", "set", "-n", 100, "-q", tool=tool, host_port=False)
        assert status == 0, err
        assert quiet_titles(lines) == ["SET"]
        assert execute(server, "DBSIZE", db=3) == 1
        assert execute(server, "DBSIZE") == 0


@pytest.mark.parametrize("uri", ["http://x", "redis://a%4@h", "redis://a%@h", "redis://u:%4@h", "redis://a%zz@h:1"])
def test_bad_uris_fail_as_redis_benchmark(reference_server, uri):
    theirs = run(reference_server, "-u", uri, "-n", 1, tool="redis", host_port=False)
    ours = run(reference_server, "-u", uri, "-n", 1, host_port=False)
    assert ours == theirs
    assert ours[0] == 1


def test_uri_credentials(reference_server):
    execute(reference_server, "ACL", "SETUSER", "bench", "on", ">p@ss", "~*", "+@all")
    try:
        uri = "redis://bench:p%%40ss@%s:%d" % (reference_server.host, reference_server.port)
        for tool in ("redis", "swiftlet"):
            status, lines, err = run(reference_server, "-u", uri, "-t", "ping", "-n", 50, "-q", tool=tool,
                                     host_port=False)
            assert status == 0, err
        bad = "redis://bench:wrong@%s:%d" % (reference_server.host, reference_server.port)
        theirs = run(reference_server, "-u", bad, "-t", "ping", "-n", 50, "-q", tool="redis", host_port=False)
        ours = run(reference_server, "-u", bad, "-t", "ping", "-n", 50, "-q", host_port=False)
        assert ours[0] == theirs[0] == 1
    finally:
        execute(reference_server, "ACL", "DELUSER", "bench")


def test_last_argument_from_stdin(server):
    # redis-benchmark sends the argument as a C string: up to the first NUL.
    value = b"line one\nline two\xff"
    stdin = value + b"\x00after"
    results = []
    for tool in ("redis", "swiftlet"):
        flush(server)
        status, lines, err = run(server, "-x", "-n", 20, "-q", "set", "kx", tool=tool, stdin=stdin)
        assert status == 0, err
        results.append(quiet_titles(lines))
        with RespConnection(server.host, server.port, timeout=10) as c:
            assert c.execute("GET", "kx").raw == b"$%d\r\n%s\r\n" % (len(value), value)
    assert results[0] == results[1] == ["set kx"]


def test_enable_tracking(server):
    results = []
    for tool in ("redis", "swiftlet"):
        flush(server)
        status, lines, err = run(server, "--enable-tracking", "-t", "set,get", "-n", 200, "-q", tool=tool)
        assert status == 0, err
        results.append(quiet_titles(lines))
    assert results[0] == results[1] == ["SET", "GET"]


# ---------------------------------------------------------------------------
# key patterns, value sizes, ratios: the data left behind


def test_sequential_keys_fill_the_range(server):
    ok(server, "-t", "set", "-n", 200, "-c", 1, "--key-pattern", "S", "--key-minimum", 100, "--key-maximum", 149, "-q")
    keys = sorted(execute(server, "KEYS", "*"))
    assert keys == [key(n) for n in range(100, 150)]


def test_zipf_is_skewed_towards_the_minimum(server):
    ok(server, "-t", "incr", "-n", 3000, "--key-pattern", "Z", "--key-maximum", 99, "--seed", 1, "-q")
    counts = {k: int(execute(server, "GET", k)) for k in execute(server, "KEYS", "*")}
    assert sum(counts.values()) == 3000
    # Zipf with exponent 1 over 100 keys: the first key takes 1/H(100) = 19% of the requests, the second half.
    first = counts[b"counter:000000000000"]
    assert 450 < first < 700
    assert first > 1.5 * counts.get(b"counter:000000000001", 0)
    assert max(counts.values()) == first


def test_gaussian_centres_on_the_median(server):
    ok(server, "-t", "incr", "-n", 3000, "--key-pattern", "G", "--key-minimum", 0, "--key-maximum", 999,
       "--key-median", 300, "--key-stddev", 50, "--seed", 2, "-q")
    counts = {int(k.split(b":")[1]): int(execute(server, "GET", k)) for k in execute(server, "KEYS", "*")}
    mean = sum(k * c for k, c in counts.items()) / 3000
    assert 290 < mean < 310
    assert min(counts) > 100 and max(counts) < 500


def test_seed_makes_runs_repeatable(server):
    runs = []
    for _ in range(2):
        flush(server)
        ok(server, "-t", "set", "-n", 300, "-c", 1, "-r", 100000, "--seed", 1234, "-q")
        runs.append(sorted(execute(server, "KEYS", "*")))
    assert runs[0] == runs[1] and 250 < len(runs[0]) <= 300


def test_data_size_range(server):
    ok(server, "-t", "set", "-n", 400, "-r", 1000000, "--data-size-range", "10-40", "-q")
    lengths = {execute(server, "STRLEN", k) for k in execute(server, "KEYS", "*")}
    assert min(lengths) >= 10 and max(lengths) <= 40 and len(lengths) > 20


def test_mixed_ratio_json(server):
    lines = ok(server, "--ratio", "1:3", "-n", 400, "-c", 1, "-r", 50, "--json")
    document = json.loads(lines[0])
    assert lines[1:] == [""]
    assert document["options"]["ratio"] == "1:3" and document["options"]["protocol"] == "redis"
    assert document["options"]["key_pattern"] == "R:R" and document["options"]["key_maximum"] == 49
    tests = document["tests"]
    assert [t["test"] for t in tests] == ["MIXED (SET:GET 1:3)", "MIXED SET", "MIXED GET"]
    assert [t["requests"] for t in tests] == [400, 100, 300]
    for t in tests:
        assert set(t) >= {"test", "requests", "seconds", "latency_ms", "percentiles"}
        assert t["percentiles"][-1]["count"] == t["requests"]
    assert 0 < execute(server, "DBSIZE") <= 50


def test_mixed_with_other_tests_csv_and_quiet(server):
    lines = ok(server, "--ratio", "2:1", "-t", "set,mixed", "-n", 300, "-r", 100, "--csv")
    assert lines[0] == CSV_HEADER
    titles = [CSV_ROW.match(line).group("title") for line in lines[1:] if line]
    assert titles == ["SET", "MIXED (SET:GET 2:1)", "MIXED SET", "MIXED GET"]
    lines = ok(server, "--ratio", "1:1", "-n", 200, "-r", 100, "-q", "-P", 4, "--threads", 2)
    assert quiet_titles(lines) == ["MIXED (SET:GET 1:1)", "MIXED SET", "MIXED GET"]
    # Reconnecting after every batch keeps the ratio (the cycle is the runner's, not the connection's).
    lines = ok(server, "--ratio", "1:3", "-n", 400, "-c", 4, "-k", 0, "-r", 100, "--json")
    assert [t["requests"] for t in json.loads(lines[0])["tests"]] == [400, 100, 300]


def test_plot_svg_and_html(server, tmp_path):
    svg = tmp_path / "latency.svg"
    ok(server, "-t", "set,get,incr", "-n", 500, "-r", 100, "-q", "--plot", svg)
    root = ET.parse(svg).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == ns + "svg"
    curves = [e for e in root.iter(ns + "polyline") if e.get("class") == "curve"]
    assert [c.get("data-test") for c in curves] == ["SET", "GET", "INCR"]
    for curve in curves:
        points = [tuple(map(float, p.split(","))) for p in curve.get("points").split()]
        assert len(points) >= 2
        assert all(b[0] >= a[0] and b[1] <= a[1] for a, b in zip(points, points[1:]))  # right and up
    legend = [e.text for e in root.iter(ns + "text") if e.get("class") == "legend"]
    assert legend == ["SET", "GET", "INCR"]
    html = tmp_path / "latency.html"
    ok(server, "--ratio", "1:1", "-n", 200, "-r", 10, "-q", "--plot", html)
    text = html.read_text()
    assert text.startswith("<!DOCTYPE html>")
    inline = ET.fromstring(text[text.index("<svg"): text.index("</svg>") + 6])
    assert [c.get("data-test") for c in inline.iter(ns + "polyline")] == [
        "MIXED (SET:GET 1:1)", "MIXED SET", "MIXED GET"]


def test_invalid_workload_options(reference_server):
    for args in (["--key-pattern", "P"], ["--ratio", "0:0"], ["--data-size-range", "5-1"], ["--plot", "x.png"],
                 ["--key-minimum", "9", "--key-maximum", "1"]):
        status, lines, err = run(reference_server, *args)
        assert status == 1
        assert re.match(r'^Invalid option "--[a-z-]+" or option argument missing$', lines[0]), lines[0]


def test_threads_progress_line_on_a_tty(server):
    master, slave = pty.openpty()
    argv = [_benchmark_binary(), "-h", server.host, "-p", str(server.port), "-t", "set", "--threads", "2",
            "--duration", "1.2", "-r", "1000"]
    p = subprocess.Popen(argv, stdout=slave, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1)
            if not ready:
                if p.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        assert p.wait(timeout=10) == 0
    finally:
        if p.poll() is None:
            p.kill()
        os.close(master)
    text = out.decode()
    progress = re.findall(r"SET: rps=\d+\.\d \(overall: \d+\.\d\) avg_msec=(?:\d+\.\d{3}|-nan) "
                          r"\(overall: (?:\d+\.\d{3}|-nan)\)\r", text)
    assert len(progress) >= 2, text[:500]
    assert "====== SET ======" in text


# ---------------------------------------------------------------------------
# memcached protocols against memcached and swiftlet-memcached


@pytest.mark.parametrize("protocol", ["memcache_text", "memcache_meta"])
def test_memcache_set_get(mc, protocol):
    lines = ok(mc, "--protocol", protocol, "-n", 200, "-c", 2, "--key-pattern", "S", "--key-maximum", 49, "-d", 5,
               "--csv")
    assert lines[0] == CSV_HEADER
    assert [CSV_ROW.match(line).group("title") for line in lines[1:] if line] == ["SET", "GET"]
    values = mc_values(mc, [key(n) for n in range(60)])
    assert sorted(values) == [key(n) for n in range(50)]
    assert set(values.values()) == {values[key(0)]} and len(values[key(0)]) == 5


@pytest.mark.parametrize("protocol", ["memcache_text", "memcache_meta"])
def test_memcache_mixed_and_sizes(mc, protocol):
    lines = ok(mc, "--protocol", protocol, "--ratio", "1:4", "-n", 500, "-c", 1, "-r", 100, "-P", 5,
               "--data-size-range", "100-3000", "--json")
    document = json.loads(lines[0])
    assert document["options"]["protocol"] == protocol
    assert [(t["test"], t["requests"]) for t in document["tests"]] == [
        ("MIXED (SET:GET 1:4)", 500), ("MIXED SET", 100), ("MIXED GET", 400)]
    values = mc_values(mc, [key(n) for n in range(100)])
    assert values and all(100 <= len(v) <= 3000 for v in values.values())


def test_memcache_misses_are_not_errors(mc):
    lines = ok(mc, "--protocol", "memcache_meta", "-t", "get", "-n", 300, "-r", 1000, "-q")
    assert quiet_titles(lines) == ["GET"]
    lines = ok(mc, "--protocol", "memcache_text", "-t", "get", "-n", 300, "-r", 1000, "-q", "-P", 10)
    assert quiet_titles(lines) == ["GET"]


def test_memcache_refuses_a_custom_command(memcached_reference):
    status, lines, err = run(memcached_reference, "--protocol", "memcache_text", "get", "k")
    assert status == 1 and err == "Error: a custom command needs --protocol redis\n"


def test_memcache_error_replies_stop_the_run(memcached_reference):
    # A value over memcached's 1 MB item limit: SERVER_ERROR object too large for cache.
    status, lines, err = run(memcached_reference, "--protocol", "memcache_text", "-t", "set", "-n", 10,
                             "-d", 2000000)
    assert status == 1 and err.startswith("Error from server: SERVER_ERROR"), err
