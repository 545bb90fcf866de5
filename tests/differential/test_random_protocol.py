"""Seeded random request streams, well-formed and not, sent as raw bytes to the real redis-server and to the
candidate on a fresh connection each; what comes back (every byte, and whether the server closed) must be equal.

The streams are built from fragments: valid multibulk and inline commands, headers with bad, negative, huge or
empty counts and lengths, bulks shorter or longer than announced, lone CR/LF, inline quoting mistakes, binary bytes
(NUL, non-UTF-8), RESP types that are not requests. The fixed cases of test_protocol.py pin known behaviours; this
one looks for the unknown ones: it found a crash on "*1\\r\\n\\r\\n", errors that re-encoded request bytes as UTF-8,
and Redis's NUL-terminated line search.

A connection that neither answers nor closes (a request still incomplete) is compared after a short quiet
period; a difference is checked again with a longer one before it counts, so that a slow machine does not fail it.
SWIFTLET_PROTOCOL_CASES sets the number of streams (default 200).
"""

import os
import random
import socket
import time

CASES = int(os.environ.get("SWIFTLET_PROTOCOL_CASES", "200"))
SEED = 4242


def mb(*args):
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def fragments(rng):
    return [
        lambda: mb(b"PING"), lambda: mb(b"SET", b"k", b"v"), lambda: mb(b"GET", b"k"),
        lambda: mb(b"ECHO", b"x" * rng.choice([0, 1, 100])), lambda: mb(b"ECHO", b"\x00\r\n\xff"),
        lambda: mb(rng.choice([b"\xc2*\xff", b"NOSUCH", b"\x00x"]), b"\x01\xff\x00A", b"a\r\nb"),
        lambda: mb(b"OBJECT", rng.choice([b"\xff\xfe", b"nosuch"])),
        lambda: b"PING\r\n", lambda: b"SET k v\n", lambda: b'SET "k v" x\r\n', lambda: b'SET "k\r\n',
        lambda: b"GET 'k'\r\n", lambda: b"\r\n", lambda: b"\n", lambda: b"   \r\n", lambda: b'ECHO "\\x41\\x4"\r\n',
        lambda: b"ECHO 'a\\'b'\r\n", lambda: b'ECHO "a"b\r\n', lambda: b"ECHO 'a'b\r\n", lambda: b"\xfb\xd7>j\xc4h\r\n",
        lambda: b"*%s\r\n" % rng.choice([b"-1", b"0", b"abc", b"1048577", b"1048576", b"2147483648", b"-2", b"",
                                        b" 1", b"+1", b"9223372036854775808"]),
        lambda: b"$%s\r\n" % rng.choice([b"-1", b"0", b"abc", b"536870913", b"-5", b"", b"3", b"99999999999999999999"]),
        lambda: b"*1\r\n$%s\r\n" % rng.choice([b"-1", b"0", b"abc", b"536870913", b"-5", b"", b"4"]),
        lambda: b"*2\r\n$4\r\nECHO\r\n$3\r\nab\r\n", lambda: b"*2\r\n$4\r\nECHO\r\n$3\r\nabcd\r\n",
        lambda: b"*1\r\n$4\r\nPING\n", lambda: b"*1\r\n+PING\r\n", lambda: b"*1\r\n:1\r\n", lambda: b"*1\r\n\r\n",
        lambda: b"*1\r\n\xff4\r\n", lambda: b"+PING\r\n", lambda: b"-ERR\r\n", lambda: b":1\r\n", lambda: b"%1\r\n",
        lambda: b"*", lambda: b"$", lambda: b"\r", lambda: b"*1\r", lambda: b"*1\n$4\nPING\n",
        lambda: bytes(rng.randrange(1, 256) for _ in range(rng.randint(1, 10))),
    ]


def exchange(server, data, quiet):
    """Everything the server sends for `data` until it closes or stays quiet for `quiet` seconds."""
    with socket.create_connection((server.host, server.port), timeout=10) as s:
        try:
            s.sendall(data)
        except OSError:
            pass
        s.settimeout(quiet)
        received = b""
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                return received, False
            except OSError:
                return received, True
            if not chunk:
                return received, True
            received += chunk


def test_random_request_streams_match_redis(reference_server, candidate_server):
    rng = random.Random(SEED)
    pieces = fragments(rng)
    with reference_server.connect() as redis, candidate_server.connect() as ours:
        for i in range(CASES):
            redis.execute("FLUSHALL")
            ours.execute("FLUSHALL")
            data = b"".join(rng.choice(pieces)() for _ in range(rng.randint(1, 5)))
            expected = exchange(reference_server, data, 0.2)
            got = exchange(candidate_server, data, 0.2)
            if got != expected:
                time.sleep(0.1)
                expected = exchange(reference_server, data, 2.0)
                got = exchange(candidate_server, data, 2.0)
            assert got == expected, "case %d (seed %d): %r\n  redis:    %r\n  swiftlet: %r" % (
                i, SEED, data, expected, got)
        # The candidate is still up (a crash would have failed a case or this).
        assert ours.execute("PING").raw == b"+PONG\r\n"
