"""swiftlet-benchmark on hostile replies and extreme option values (issue 20's review).

* fake servers (a thread on a 127.0.0.1 port) that answer with aggregate counts and bulk lengths no reply can have,
  or with a RESP3 push before every reply: the run must fail cleanly, or count only the replies;
* `-3 --enable-tracking` with a SET/GET mix on three keys against redis-server (invalidation pushes galore);
* `--ratio 0:N` / `N:0`, `--key-median` far outside the key range, out-of-range option values;
* the connect error naming memcached with `--protocol memcache_*`.

  SWIFTLET_BENCHMARK   the binary under test (default .build/debug/swiftlet-benchmark)

Every run is a few hundred or thousand requests; every subprocess and every socket has a timeout.
"""

import json
import socket
import threading
import time

import pytest

from support.servers import free_port
from test_swiftlet_benchmark import CSV_HEADER, CSV_ROW
from test_swiftlet_benchmark_extras import execute, flush, ok, quiet_titles, run


class FakeServer:
    """Accepts connections on a free port and hands each one, in its own thread, to `serve(sock)`."""

    def __init__(self, serve):
        self.serve = serve
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.listener.settimeout(0.2)
        self.host, self.port = self.listener.getsockname()
        self.stopping = False
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping = True
        self.thread.join(timeout=5)
        self.listener.close()

    def _accept(self):
        while not self.stopping:
            try:
                sock, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            sock.settimeout(10)
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock):
        try:
            self.serve(sock)
        except OSError:
            pass
        finally:
            sock.close()


def commands(buffer):
    """Splits complete RESP requests off the front of `buffer`: ([[arg, ...], ...], rest)."""
    done = []
    while buffer.startswith(b"*"):
        head, sep, rest = buffer.partition(b"\r\n")
        if not sep:
            break
        args = []
        for _ in range(int(head[1:])):
            line, sep, rest = rest.partition(b"\r\n")
            if not sep:
                return done, buffer
            length = int(line[1:])
            if len(rest) < length + 2:
                return done, buffer
            args.append(rest[:length])
            rest = rest[length + 2:]
        done.append(args)
        buffer = rest
    return done, buffer


def answer_once_and_close(payload):
    """A server that answers the first bytes it reads with `payload`, then closes the connection."""
    def serve(sock):
        if sock.recv(65536):
            sock.sendall(payload)
    return serve


# ---------------------------------------------------------------------------
# hostile replies: a clean error, never a trap


@pytest.mark.parametrize("payload", [
    b"%999999999999999999\r\n" * 6,
    b"|999999999999999999\r\n" * 6,
    b"*4294967296\r\n",
    b"*-2\r\n",
    b"$-2\r\n",
])
def test_impossible_lengths_are_protocol_errors(payload):
    with FakeServer(answer_once_and_close(payload)) as server:
        status, lines, err = run(server, "-t", "get", "-n", 5, "-c", 1, "-q", timeout=30)
    # A trap in the reply scanner ended the process with a signal (a negative status).
    assert status == 1, (status, err)
    # The CONFIG GET of the start got the same bytes: redis-benchmark's warning first.
    assert err == "WARNING: Could not fetch server CONFIG\n" \
        "Error: Protocol error, got unexpected bytes from the server\n", err


def test_a_huge_bulk_length_waits_for_the_bytes():
    # 10^18 - 1 bytes announced: not a protocol error for hiredis either, just a reply that never completes.
    with FakeServer(answer_once_and_close(b"$999999999999999999\r\nabc")) as server:
        status, lines, err = run(server, "-t", "get", "-n", 5, "-c", 1, "-q", timeout=30)
    assert status == 1, (status, err)
    assert err == "WARNING: Could not fetch server CONFIG\nError: Server closed the connection\n", err


# ---------------------------------------------------------------------------
# RESP3 pushes are not replies


def test_pushes_are_not_counted_as_replies():
    delay = 0.02
    received = []

    def serve(sock):
        buffer = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return
            done, buffer = commands(buffer + chunk)
            for args in done:
                name = args[0].upper()
                if name == b"CONFIG":
                    sock.sendall(b"*2\r\n$4\r\nsave\r\n$0\r\n\r\n")
                elif name in (b"HELLO", b"CLIENT"):
                    sock.sendall(b"+OK\r\n")
                else:
                    received.append(name)
                    # The push goes out at once; the reply proper only after `delay`.
                    sock.sendall(b">2\r\n$10\r\ninvalidate\r\n*1\r\n$16\r\nkey:000000000001\r\n")
                    time.sleep(delay)
                    sock.sendall(b"$3\r\nbar\r\n")

    with FakeServer(serve) as server:
        lines = ok(server, "-3", "--enable-tracking", "-t", "get", "-n", 20, "-c", 1, "--json", timeout=30)
    test = json.loads(lines[0])["tests"][0]
    assert test["requests"] == 20
    assert received == [b"GET"] * 20
    # Counting each push as a reply finished the run after about half the requests had their reply. (The latency
    # is not checked: as redis-benchmark's, a batch's clock stops at its first readable event, here the push.)
    assert test["seconds"] >= 20 * delay * 0.9, test


def test_tracking_pushes_with_a_set_get_mix(reference_server):
    server = reference_server
    flush(server)
    execute(server, "CONFIG", "RESETSTAT")
    # Three keys, ten connections writing and reading them: every SET invalidates the other clients' GETs.
    lines = ok(server, "-3", "--enable-tracking", "--ratio", "1:1", "-r", 3, "-c", 10, "-P", 3, "-d", 200,
               "-n", 3000, "--json")
    tests = json.loads(lines[0])["tests"]
    assert [t["test"] for t in tests] == ["MIXED (SET:GET 1:1)", "MIXED SET", "MIXED GET"]
    assert [t["requests"] for t in tests] == [3000, 1500, 1500]
    stats = execute(server, "INFO", "commandstats").decode()
    calls = {line.split(":")[0]: int(line.split("calls=")[1].split(",")[0])
             for line in stats.splitlines() if line.startswith("cmdstat_")}
    assert calls["cmdstat_set"] == 1500 and calls["cmdstat_get"] == 1500, calls
    assert calls["cmdstat_client|tracking"] == 10 and calls["cmdstat_hello"] == 10, calls
    # The pushes were there to be skipped: the tracking table holds the keys the GETs read.
    info = execute(server, "INFO", "stats").decode()
    assert "tracking_total_keys:" in info


# ---------------------------------------------------------------------------
# option values


@pytest.mark.parametrize("ratio, parts", [("0:3", ["MIXED GET"]), ("3:0", ["MIXED SET"])])
def test_a_zero_side_of_the_ratio_is_left_out(reference_server, ratio, parts):
    lines = ok(reference_server, "--ratio", ratio, "-n", 300, "-r", 10, "--csv")
    assert lines[0] == CSV_HEADER
    rows = [line for line in lines[1:] if line]
    assert [CSV_ROW.match(row).group("title") for row in rows] == ["MIXED (SET:GET %s)" % ratio] + parts
    assert not any("nan" in row for row in rows), rows
    lines = ok(reference_server, "--ratio", ratio, "-n", 300, "-r", 10, "-q", "--threads", 2)
    assert quiet_titles(lines) == ["MIXED (SET:GET %s)" % ratio] + parts


@pytest.mark.parametrize("median, key", [("1e19", 100), ("-1e19", 0), ("1e308", 100)])
def test_a_median_far_outside_the_range_gives_the_nearest_end(reference_server, median, key):
    flush(reference_server)
    ok(reference_server, "-t", "set", "-n", 50, "-c", 1, "--key-pattern", "G", "--key-median", median,
       "--key-maximum", 100, "--key-stddev", 1, "-q")
    assert execute(reference_server, "KEYS", "*") == [b"key:%012d" % key]


@pytest.mark.parametrize("args", [
    ["--ratio", "9223372036854775807:9223372036854775807"],
    ["--ratio", "9223372036854775807:1"],
    ["--ratio", "1:-1"],
    ["--key-median", "nan"],
    ["--key-maximum", "99999999999999999999"],
    ["--data-size-range", "1-9223372036854775807"],
    ["--duration", "inf"],
])
def test_out_of_range_values_are_invalid(reference_server, args):
    status, lines, err = run(reference_server, *args, "-n", 10, "-q")
    assert status == 1, (status, err)
    assert lines[0] == 'Invalid option "%s" or option argument missing' % args[0]


@pytest.mark.parametrize("args", [
    ["-n", "99999999999999999999", "--duration", "0.2"],
    ["-c", "-5"], ["-P", "-7"], ["-d", "-1"], ["-r", "99999999999999999999"], ["--threads", "99999999999"],
    ["--qps", "99999999999999999999"], ["--duration", "1e-300"], ["-k", "99999999999"], ["--precision", "999"],
])
def test_extreme_values_run(reference_server, args):
    status, lines, err = run(reference_server, "-t", "set", "-n", 100, *args, "-q", timeout=30)
    assert status == 0, (args, status, err)
    assert quiet_titles(lines) == ["SET"]


# ---------------------------------------------------------------------------
# connection errors


@pytest.mark.parametrize("protocol", ["memcache_text", "memcache_meta"])
def test_the_connect_error_names_memcached(protocol):
    port = free_port()
    status, lines, err = run(None, "-p", port, "--protocol", protocol, "-t", "set", "-n", 1, host_port=False)
    assert status == 1
    assert err == "Could not connect to memcached at 127.0.0.1:%d: Connection refused\n" % port


def test_the_connect_error_still_names_redis():
    # redis-benchmark 7.0 prints the same line, then hangs: it is not run here.
    port = free_port()
    status, lines, err = run(None, "-p", port, "-t", "set", "-n", 1, host_port=False)
    assert status == 1
    # After redis-benchmark's warning that the CONFIG GET of the start failed.
    assert err == "WARNING: Could not fetch server CONFIG\n" \
        "Could not connect to Redis at 127.0.0.1:%d: Connection refused\n" % port, err
