"""Differential tests of memcached's UDP protocol (`-U`): the candidate against a real memcached 1.6.18.

Each server runs with `-t 1 -U PORT` on fresh ports; the same datagrams go to both, and what comes back (every
datagram's 8-byte header, as request id, sequence number and count, and its payload) must be equal. Covered: a
reply in one datagram and one cut into 1392-byte pieces, a multi-get (a response per key, an empty datagram for a
missed key that is not the last), several commands in one datagram, noreply and quiet meta replies (not sent), the
binary protocol (quiet commands send empty datagrams, a run of them one), multi-datagram requests (dropped), a value left incomplete at the end of a datagram (the next
datagram is read as the rest of it), `stats conns`' UDP lines and the counters.
"""

import socket
import struct
import time

import pytest

from support.memcached import start_memcached
from support.servers import free_port


class Udp:
    def __init__(self, port: int):
        self.port = port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(0.3)

    def request(self, request_id: int, payload: bytes, sequence: int = 0, count: int = 1):
        """Sends one datagram; returns every datagram received until 0.3 s pass without one."""
        self.sock.sendto(struct.pack(">HHHH", request_id, sequence, count, 0) + payload, ("127.0.0.1", self.port))
        replies = []
        try:
            while True:
                data, _ = self.sock.recvfrom(70000)
                replies.append((struct.unpack(">HHHH", data[:8]), data[8:]))
        except socket.timeout:
            pass
        return replies

    def close(self):
        self.sock.close()


def tcp(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data + b"mn\r\n")
        reply = b""
        while not reply.endswith(b"MN\r\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
        return reply


SETUP = (b"set b 0 0 2\r\nbb\r\nset c 3 0 2\r\ncc\r\nset big 0 0 5000\r\n" + bytes(range(256)) * 19 + b"x" * 136
         + b"\r\n")

BINARY_GET_B = struct.pack(">BBHBBHIIQ", 0x80, 0x00, 1, 0, 0, 0, 1, 0x1234, 0) + b"b"
BINARY_GETQ_MISS = struct.pack(">BBHBBHIIQ", 0x80, 0x09, 1, 0, 0, 0, 1, 0, 0) + b"a"
BINARY_NOOP = struct.pack(">BBHBBHIIQ", 0x80, 0x0A, 0, 0, 0, 0, 0, 0, 0)
BINARY_SETQ = struct.pack(">BBHBBHIIQ", 0x80, 0x11, 1, 8, 0, 0, 1 + 8 + 2, 0, 0) + b"\0" * 8 + b"q" + b"vv"
BINARY_UNKNOWN = struct.pack(">BBHBBHIIQ", 0x80, 0x55, 0, 0, 0, 0, 0, 0, 0)

REQUESTS = [
    (7, b"get b\r\n"),
    (8, b"get a b c\r\n"),
    (9, b"gets b\r\nget c\r\n"),
    (10, b"get nothing\r\n"),
    (11, b"set x 0 0 1\r\nx\r\nget x\r\n"),
    (12, b"get big\r\n"),
    (13, b"get big b\r\n"),
    (14, b"mn\r\nmg b v f\r\nmg a v q\r\nmn\r\n"),
    (15, b"set z 0 0 1 noreply\r\nz\r\nget z\r\n"),
    (16, b"bogus\r\n"),
    (17, b"incr nope 1\r\nset n 0 0 1\r\n5\r\nincr n 10\r\n"),
    (18, BINARY_GET_B),
    (19, BINARY_GETQ_MISS + BINARY_NOOP),
    (24, BINARY_GETQ_MISS + BINARY_GETQ_MISS + BINARY_NOOP),
    (25, BINARY_SETQ),
    (26, BINARY_SETQ + BINARY_NOOP),
    (27, BINARY_UNKNOWN),
    (28, b"get a a2 b a3\r\n"),
    (29, b"get " + b" ".join(b"k%d" % i for i in range(30)) + b" b\r\n"),
    (20, b"get b\r\nget b"),
    (21, b"set y 0 0 5\r\nab"),
    (22, b"get y\r\n"),
    (23, b"get b\r\n"),
]


def exchange(server) -> list:
    port = server.udp_port
    udp = Udp(port)
    try:
        results = [tcp(server.port, SETUP)]
        for request_id, payload in REQUESTS:
            results.append((payload[:40], udp.request(request_id, payload)))
        # A datagram that says it is one of two, and one with nothing after the header: both dropped.
        results.append(("two datagrams", udp.request(30, b"get b\r\n", 0, 2)))
        results.append(("header only", udp.request(31, b"")))
        results.append(("after", udp.request(32, b"get b\r\n")))
        stats = tcp(server.port, b"stats\r\n").decode()
        wanted = ("curr_connections", "total_connections", "connection_structures", "bytes_read", "bytes_written",
                  "get_hits", "get_misses", "cmd_get", "cmd_set")
        results.append([line for line in stats.split("\r\n") if line.split(" ")[1:2] and line.split(" ")[1] in wanted])
        return results
    finally:
        udp.close()


def start(side: str):
    port = free_port(socket.SOCK_DGRAM)
    server = start_memcached(side, "-t 1 -U %d" % port)
    server.udp_port = port
    return server


def test_udp_replies_equal_memcached():
    reference = start("reference")
    candidate = start("candidate")
    try:
        expected = exchange(reference)
        got = exchange(candidate)
    finally:
        reference.stop()
        candidate.stop()
    assert len(got) == len(expected)
    for want, have in zip(expected, got):
        assert have == want


def udp_connections(server) -> list:
    """`stats conns`' entries for UDP sockets: each a list of "field value" (secs_since_last_cmd left out), in order.
    Connection numbers differ (memcached's are descriptors) and are dropped."""
    text = tcp(server.port, b"stats conns\r\n").decode()
    groups = {}
    for line in text.split("\r\n"):
        if not line.startswith("STAT "):
            continue
        number, rest = line[5:].split(":", 1)
        if not rest.startswith("secs_since_last_cmd"):
            groups.setdefault(number, []).append(rest)
    return [fields for fields in groups.values() if fields and fields[0] == "UDP UDP"]


def test_stats_conns_shows_the_udp_socket():
    reference = start("reference")
    candidate = start("candidate")
    try:
        for server in (reference, candidate):
            assert udp_connections(server) == [
                ["UDP UDP", "addr udp:127.0.0.1:%d" % server.udp_port, "state conn_read"]]
    finally:
        reference.stop()
        candidate.stop()


def test_udp_port_file_and_ephemeral_port(tmp_path, monkeypatch):
    """-U -1 binds a free UDP port and MEMCACHED_PORT_FILENAME lists it ("UDP INET: N"), as memcached writes it."""
    name = str(tmp_path / "ports")
    monkeypatch.setenv("MEMCACHED_PORT_FILENAME", name)
    server = start_memcached("candidate", "-t 1 -U -1")
    try:
        deadline = time.monotonic() + 5
        while not (tmp_path / "ports").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        lines = (tmp_path / "ports").read_text().splitlines()
        assert "TCP INET: %d" % server.port in lines
        udp = [int(line.split(": ")[1]) for line in lines if line.startswith("UDP INET: ")]
        assert len(udp) == 1 and udp[0] > 0
        tcp(server.port, b"set k 0 0 1\r\nv\r\n")
        client = Udp(udp[0])
        try:
            assert client.request(5, b"get k\r\n") == [((5, 0, 1, 0), b"VALUE k 0 1\r\nv\r\nEND\r\n")]
        finally:
            client.close()
    finally:
        server.stop()
