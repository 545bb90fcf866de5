"""Protocol-level differential tests.

Each case sends the same raw bytes to real Redis and to the candidate and
compares *everything* received until the server closes the connection (and
whether it closed at all). Cases that leave the connection open end with a
QUIT so that "until close" is well defined.
"""

import random

import pytest

from support.resp import RespConnection, parse_all

QUIT = b"*1\r\n$4\r\nQUIT\r\n"
READ_TIMEOUT = 5.0


def _flushall(server):
    with RespConnection(server.host, server.port, timeout=10) as c:
        assert c.execute("FLUSHALL").raw == b"+OK\r\n"


def _exchange(server, data, chunk=None, chunk_sizes=None):
    with RespConnection(server.host, server.port, timeout=10) as c:
        try:
            if chunk_sizes:
                pos = 0
                for n in chunk_sizes:
                    if pos >= len(data):
                        break
                    c.send_raw_chunked(data[pos:pos + n], chunk=n, delay=0)
                    pos += n
                if pos < len(data):
                    c.send_raw(data[pos:])
            elif chunk:
                c.send_raw_chunked(data, chunk=chunk, delay=0.001)
            else:
                c.send_raw(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may close early on a protocol error; compare what it sent
        return c.read_until_close(READ_TIMEOUT)


def _show(b, limit=600):
    r = repr(b)
    return r if len(r) <= limit else r[:limit] + "... (%d bytes)" % len(b)


def assert_same(reference_server, candidate_server, data, **kw):
    _flushall(reference_server)
    _flushall(candidate_server)
    ref = _exchange(reference_server, data, **kw)
    cand = _exchange(candidate_server, data, **kw)
    if ref != cand:
        msg = ["bytes received differ for input %s" % _show(data, 200),
               "  reference (redis): closed=%s %s" % (ref[1], _show(ref[0])),
               "  candidate:         closed=%s %s" % (cand[1], _show(cand[0]))]
        if ref[0] != cand[0]:
            i = next((k for k in range(min(len(ref[0]), len(cand[0]))) if ref[0][k] != cand[0][k]),
                     min(len(ref[0]), len(cand[0])))
            msg.append("  first difference at byte %d: reference %s / candidate %s"
                       % (i, _show(ref[0][i:i + 80]), _show(cand[0][i:i + 80])))
        pytest.fail("\n".join(msg), pytrace=False)
    assert ref[1], "reference server did not close the connection (test bug)"
    return ref[0]


def cmd(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


# ---------------------------------------------------------------------------
# simple byte-string cases: name -> bytes sent

CASES = {
    # well-formed input
    "multibulk_ping": cmd("PING") + QUIT,
    "inline_ping": b"PING\r\n" + QUIT,
    "inline_ping_lf_only": b"PING\n" + QUIT,
    "inline_lowercase_and_args": b"ping hello\r\necho   spaced    out  \r\n" + QUIT,
    "inline_quotes": b"SET \"a b\" 'c'\r\nGET \"a b\"\r\n" + QUIT,
    "inline_quote_escapes": b"ECHO \"\\x41\\x00\\n\\t\\\"q\\\\\"\r\nECHO 'it\\'s'\r\nECHO \"\"\r\n" + QUIT,
    "inline_quit": b"quit\r\n",
    "inline_empty_lines": b"\r\n\r\n\n\nPING\r\n" + QUIT,
    "inline_only_spaces": b"   \r\n\t\r\nPING\r\n" + QUIT,
    "inline_unknown_plus_prefix": b"+PING\r\n" + QUIT,
    "mixed_inline_and_multibulk": b"PING\r\n" + cmd("ECHO", "x") + b"ECHO y\r\n" + cmd("PING") + QUIT,
    "multibulk_zero_count": b"*0\r\n" + cmd("PING") + QUIT,
    "multibulk_negative_count": b"*-1\r\n" + cmd("PING") + QUIT,
    "multibulk_negative_count_5": b"*-5\r\n" + cmd("PING") + QUIT,
    "multibulk_empty_bulk": cmd("ECHO", "") + QUIT,
    "multibulk_binary_bulk": cmd("ECHO", b"\x00\r\n\xff") + QUIT,
    "bulk_terminator_not_checked": b"*1\r\n$4\r\nPINGxx" + QUIT,
    "quit_multibulk": QUIT,
    "quit_then_more_commands": b"QUIT\r\nPING\r\n" + cmd("PING"),
    "quit_with_args": cmd("QUIT", "extra") + QUIT,
    "command_after_error_reply": cmd("GET") + cmd("NOSUCHCMD", "a") + cmd("PING") + QUIT,
    # protocol errors: the server replies with an error and closes
    "inline_unbalanced_double_quote": b"SET \"a b\r\n",
    "inline_unbalanced_single_quote": b"ECHO 'abc\r\n",
    "inline_quote_followed_by_char": b"ECHO \"a\"b\r\n",
    "multibulk_invalid_count": b"*abc\r\n",
    "multibulk_count_over_int_max": b"*2147483648\r\n",
    "multibulk_count_with_garbage": b"*1x\r\n",
    "multibulk_expected_dollar": b"*1\r\n%4\r\n",
    "multibulk_expected_dollar_colon": b"*2\r\n$3\r\nGET\r\n:1\r\n",
    "bulk_negative_length": b"*1\r\n$-5\r\n",
    "bulk_minus_one_length": b"*1\r\n$-1\r\n",
    "bulk_invalid_length": b"*1\r\n$abc\r\n",
    "bulk_length_over_proto_max": b"*1\r\n$600000000\r\n",
    "bulk_length_just_over_proto_max": b"*1\r\n$536870913\r\n",
    "too_big_inline_request": b"a" * 70000,
    "too_big_mbulk_count_string": b"*" + b"1" * 70000,
    "too_big_bulk_count_string": b"*1\r\n$" + b"1" * 70000,
    "error_after_valid_commands": cmd("PING") + cmd("ECHO", "ok") + b"*1\r\n$x\r\n" + cmd("PING"),
    # an empty line where a bulk header belongs (this once crashed the server)
    "bulk_header_empty_line": b"*1\r\n\r\n",
    "bulk_header_empty_line_second_argument": b"*2\r\n$1\r\na\r\n\r\n",
    "bulk_header_empty_length": b"*1\r\n$\r\n",
    # request bytes echoed in errors stay as they came, UTF-8 or not
    "multibulk_expected_dollar_binary": b"*1\r\n\xff4\r\n",
    "unknown_command_binary_name": cmd(b"\xc2*\xff", b"\x01\xff\x00A") + QUIT,
    "inline_unknown_command_binary": b"\xfb\xd7>j\xc4h\r\n" + QUIT,
    "unknown_subcommand_binary": cmd("OBJECT", b"\xff\xfe") + QUIT,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_raw(name, reference_server, candidate_server):
    assert_same(reference_server, candidate_server, CASES[name])


def test_ping_split_in_1_byte_chunks(reference_server, candidate_server):
    assert_same(reference_server, candidate_server, cmd("PING") + QUIT, chunk=1)


def test_inline_split_in_1_byte_chunks(reference_server, candidate_server):
    assert_same(reference_server, candidate_server, b"SET k \"a b\"\r\nGET k\r\nQUIT\r\n", chunk=1)


def test_pipeline_random_chunks(reference_server, candidate_server):
    rnd = random.Random(1234)
    data = b"".join(cmd("SET", "k%d" % i, "v" * (i % 17)) + cmd("GET", "k%d" % i) for i in range(60))
    sizes = [rnd.randint(1, 9) for _ in range(len(data))]
    assert_same(reference_server, candidate_server, data + QUIT, chunk_sizes=sizes)


def test_pipeline_1000_commands(reference_server, candidate_server):
    parts = []
    for i in range(1000):
        k = "key:%d" % (i % 50)
        op = i % 5
        if op == 0:
            parts.append(cmd("SET", k, "value-%d" % i))
        elif op == 1:
            parts.append(cmd("GET", k))
        elif op == 2:
            parts.append(cmd("INCR", "counter"))
        elif op == 3:
            parts.append(b"EXISTS %s missing\r\n" % k.encode())
        else:
            parts.append(cmd("APPEND", k, "+"))
    out = assert_same(reference_server, candidate_server, b"".join(parts) + QUIT)
    assert out.endswith(b"+OK\r\n")


def test_pipeline_1000_pings_inline(reference_server, candidate_server):
    assert_same(reference_server, candidate_server, b"PING\r\n" * 1000 + b"QUIT\r\n")


def test_large_value_roundtrip(reference_server, candidate_server):
    big = bytes(range(256)) * 4096  # 1 MiB, every byte value
    data = cmd("SET", "big", big) + cmd("STRLEN", "big") + cmd("GET", "big") + cmd("GETRANGE", "big", 1000, 1010)
    assert_same(reference_server, candidate_server, data + QUIT)


def test_large_value_in_small_chunks(reference_server, candidate_server):
    big = b"x" * 200000
    data = cmd("SET", "big", big) + cmd("GET", "big")
    assert_same(reference_server, candidate_server, data + QUIT, chunk_sizes=[4096] * 60)


def test_many_arguments(reference_server, candidate_server):
    args = ["MSET"]
    for i in range(2000):
        args += ["k%d" % i, "v%d" % i]
    data = cmd(*args) + cmd("DBSIZE") + cmd("MGET", *["k%d" % i for i in range(0, 2000, 7)])
    assert_same(reference_server, candidate_server, data + QUIT)


def test_inline_near_limit(reference_server, candidate_server):
    # an inline request just under 64 KiB is accepted
    data = b"ECHO " + b"a" * 60000 + b"\r\n"
    assert_same(reference_server, candidate_server, data + QUIT)


def test_inline_hello_switches_protocol(reference_server, candidate_server):
    # HELLO replies carry the client id and server version, so they are
    # compared by shape; every other reply must be byte-identical.
    data = b"HELLO 3\r\nGET missing\r\nCONFIG GET maxmemory\r\nHELLO 2\r\nGET missing\r\n" + QUIT
    _flushall(reference_server)
    _flushall(candidate_server)
    ref, ref_closed = _exchange(reference_server, data)
    cand, cand_closed = _exchange(candidate_server, data)
    assert ref_closed and cand_closed, "connection not closed after QUIT (candidate closed=%s)" % cand_closed
    r, c = parse_all(ref), parse_all(cand)
    assert len(r) == len(c), "reply counts differ:\n  reference %s\n  candidate %s" % (_show(ref), _show(cand))
    for i, (a, b) in enumerate(zip(r, c)):
        if i in (0, 3):
            assert a.shape() == b.shape(), "HELLO reply %d shape differs: %r vs %r" % (i, a.raw, b.raw)
        else:
            assert a.raw == b.raw, "reply %d differs: %r vs %r" % (i, a.raw, b.raw)
