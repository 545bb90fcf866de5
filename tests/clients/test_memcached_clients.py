"""Real memcached clients against the memcached front end: pymemcache (text protocol), pylibmc (text and
binary protocol) and libmemcached's memccapable (-a ascii, -b binary).

Every client test runs against the reference memcached 1.6.18 too (parametrized "reference"), which shows
that the expectations are memcached's; memccapable runs against both in the same test and the candidate's
per-test results must equal the reference's.
"""

import re
import shutil
import subprocess

import pytest

from support.memcached import MEMCACHED_INSTALL_HINT

try:
    from pymemcache.client.base import Client as PyMemcacheClient
    from pymemcache.exceptions import MemcacheIllegalInputError, MemcacheServerError
    import pylibmc
    IMPORT_ERROR = None
except ImportError as e:  # a missing client FAILS the tests that need it (never skips)
    IMPORT_ERROR = e

SIDES = ["reference", "candidate"]


def _need_clients():
    if IMPORT_ERROR is not None:
        pytest.fail("memcached client libraries missing (%s); install them: %s"
                    % (IMPORT_ERROR, MEMCACHED_INSTALL_HINT), pytrace=False)


@pytest.fixture(params=SIDES)
def mc_server(request):
    server = request.getfixturevalue("memcached_" + request.param)
    server.flush_all()
    return server


@pytest.fixture
def pmc(mc_server):
    _need_clients()
    client = PyMemcacheClient((mc_server.host, mc_server.port), default_noreply=False, connect_timeout=5, timeout=10)
    yield client
    client.close()


def _pylibmc(server, binary):
    _need_clients()
    return pylibmc.Client(["%s:%d" % (server.host, server.port)], binary=binary,
                          behaviors={"cas": True, "tcp_nodelay": True, "connect_timeout": 5000,
                                     "receive_timeout": 10000000, "send_timeout": 10000000})


# ---------------------------------------------------------------------------
# pymemcache


def test_pymemcache_set_get(pmc):
    assert pmc.get("pm:missing") is None
    assert pmc.set("pm:a", b"hello") is True
    assert pmc.get("pm:a") == b"hello"
    assert pmc.set("pm:a", "text", expire=100, flags=5) is True
    assert pmc.get("pm:a") == b"text"
    assert pmc.raw_command(b"mg pm:a f t", b"\r\n").startswith(b"HD f5 t")
    assert pmc.set("pm:empty", b"") is True
    assert pmc.get("pm:empty") == b""
    assert pmc.set("pm:int", 42) is True
    assert pmc.get("pm:int") == b"42"


def test_pymemcache_binary_and_large_values(pmc):
    value = bytes(range(256)) * 4 + b"\r\nEND\r\nVALUE x 0 1\r\n"
    assert pmc.set("pm:bin", value) is True
    assert pmc.get("pm:bin") == value
    big = bytes(range(256)) * 2000
    assert pmc.set("pm:big", big) is True
    assert pmc.get("pm:big") == big
    with pytest.raises(MemcacheServerError, match="object too large for cache"):
        pmc.set("pm:huge", b"x" * (2 * 1024 * 1024))
    assert pmc.get("pm:huge") is None
    assert pmc.version()


def test_pymemcache_add_replace_append_prepend(pmc):
    assert pmc.add("pm:k", b"first") is True
    assert pmc.add("pm:k", b"second") is False
    assert pmc.replace("pm:k", b"third") is True
    assert pmc.replace("pm:none", b"x") is False
    assert pmc.append("pm:k", b">>") is True
    assert pmc.prepend("pm:k", b"<<") is True
    assert pmc.append("pm:none", b"x") is False
    assert pmc.prepend("pm:none", b"x") is False
    assert pmc.get("pm:k") == b"<<third>>"


def test_pymemcache_gets_cas(pmc):
    assert pmc.gets("pm:none") == (None, None)
    assert pmc.cas("pm:none", b"x", b"1") is None
    pmc.set("pm:c", b"v1")
    value, cas = pmc.gets("pm:c")
    assert value == b"v1" and cas.isdigit()
    assert pmc.cas("pm:c", b"v2", cas) is True
    assert pmc.cas("pm:c", b"v3", cas) is False
    value2, cas2 = pmc.gets("pm:c")
    assert value2 == b"v2" and cas2 != cas
    many = pmc.gets_many(["pm:c", "pm:none"])
    assert many == {"pm:c": (b"v2", cas2)}


def test_pymemcache_incr_decr(pmc):
    assert pmc.incr("pm:n", 1) is None
    assert pmc.decr("pm:n", 1) is None
    pmc.set("pm:n", b"10")
    assert pmc.incr("pm:n", 5) == 15
    assert pmc.decr("pm:n", 20) == 0
    pmc.set("pm:n", b"9223372036854775806")
    assert pmc.incr("pm:n", 1) == 9223372036854775807
    pmc.set("pm:n", b"100")
    assert pmc.decr("pm:n", 1) == 99
    assert pmc.get("pm:n") == b"99 "
    pmc.set("pm:s", b"abc")
    with pytest.raises(Exception, match="non-numeric"):
        pmc.incr("pm:s", 1)


def test_pymemcache_get_many_delete_touch(pmc):
    assert pmc.set_many({"pm:m1": b"1", "pm:m2": b"2", "pm:m3": b"3"}) == []
    assert pmc.get_many(["pm:m1", "pm:m2", "pm:nope", "pm:m3"]) == {"pm:m1": b"1", "pm:m2": b"2", "pm:m3": b"3"}
    assert pmc.get_many([]) == {}
    assert pmc.delete("pm:m1") is True
    assert pmc.delete("pm:m1") is False
    assert pmc.delete_many(["pm:m2", "pm:nope"]) is True
    assert pmc.get_many(["pm:m1", "pm:m2", "pm:m3"]) == {"pm:m3": b"3"}
    assert pmc.touch("pm:m3", 100) is True
    assert pmc.touch("pm:nope", 100) is False
    assert pmc.raw_command(b"mg pm:m3 t", b"\r\n") in (b"HD t100", b"HD t99", b"HD t101")
    assert pmc.touch("pm:m3", -1) is True
    assert pmc.get("pm:m3") is None


def test_pymemcache_keys(pmc, mc_server):
    with pytest.raises(MemcacheIllegalInputError):
        pmc.set("ключ", b"x")
    with pytest.raises(MemcacheIllegalInputError):
        pmc.set("has space", b"x")
    with pytest.raises(MemcacheIllegalInputError):
        pmc.get("k" * 251)
    assert pmc.set("k" * 250, b"long") is True
    assert pmc.get("k" * 250) == b"long"
    unicode_client = PyMemcacheClient((mc_server.host, mc_server.port), default_noreply=False,
                                      allow_unicode_keys=True, encoding="utf-8")
    try:
        assert unicode_client.set("ключ", b"utf8 key") is True
        assert unicode_client.get("ключ") == b"utf8 key"
        assert pmc.raw_command("get ключ".encode(), b"END\r\n") == "VALUE ключ 0 8\r\nutf8 key\r\n".encode()
    finally:
        unicode_client.close()


def test_pymemcache_noreply_and_flush(pmc, mc_server):
    quiet = PyMemcacheClient((mc_server.host, mc_server.port), default_noreply=True)
    try:
        assert quiet.set("pm:q", b"quiet") is True
        assert quiet.add("pm:q", b"other") is True      # noreply: the client cannot know
        assert quiet.delete("pm:nothing") is True
        assert quiet.get("pm:q") == b"quiet"        # a reply on the same connection: the above are done
        assert pmc.get("pm:q") == b"quiet"
    finally:
        quiet.close()
    assert pmc.flush_all() is True
    assert pmc.get("pm:q") is None
    stats = pmc.stats()
    assert stats[b"cmd_flush"] >= 1 and b"curr_items" in stats and b"version" in stats


# ---------------------------------------------------------------------------
# pylibmc


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_pylibmc_basic(mc_server, binary):
    mc = _pylibmc(mc_server, binary)
    try:
        assert mc.get("pl:none") is None
        assert mc.set("pl:a", b"hello") is True
        assert mc.get("pl:a") == b"hello"
        assert mc.set("pl:str", "unicode ✓") is True
        assert mc.get("pl:str") == "unicode ✓"
        assert mc.set("pl:obj", {"a": [1, 2]}) is True
        assert mc.get("pl:obj") == {"a": [1, 2]}
        value = bytes(range(256)) * 1000
        assert mc.set("pl:bin", value) is True
        assert mc.get("pl:bin") == value
        assert mc.add("pl:a", b"x") is False
        assert mc.add("pl:b", b"x") is True
        assert mc.replace("pl:b", b"y") is True
        assert mc.append("pl:b", b">") is True
        assert mc.prepend("pl:b", b"<") is True
        assert mc.get("pl:b") == b"<y>"
        assert mc.delete("pl:b") is True
        assert mc.delete("pl:b") is False
        assert mc.get_multi(["pl:a", "pl:none", "pl:bin"]) == {"pl:a": b"hello", "pl:bin": value}
        assert mc.set_multi({"pl:m1": b"1", "pl:m2": b"2"}) == []
        assert mc.get_multi(["pl:m1", "pl:m2"]) == {"pl:m1": b"1", "pl:m2": b"2"}
        mc.delete_multi(["pl:m1", "pl:m2"])
        assert mc.get_multi(["pl:m1", "pl:m2"]) == {}
    finally:
        mc.disconnect_all()


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_pylibmc_counters_cas_touch(mc_server, binary):
    mc = _pylibmc(mc_server, binary)
    try:
        with pytest.raises(pylibmc.NotFound):
            mc.incr("pl:n")
        assert mc.set("pl:n", 10) is True
        assert mc.incr("pl:n", 5) == 15
        assert mc.decr("pl:n", 20) == 0
        assert mc.incr("pl:n") == 1
        assert mc.get("pl:n") == 1
        mc.set("pl:c", b"v1")
        value, cas = mc.gets("pl:c")
        assert value == b"v1" and cas
        assert mc.cas("pl:c", b"v2", cas) is True
        assert mc.cas("pl:c", b"v3", cas) is False
        assert mc.get("pl:c") == b"v2"
        if not binary:
            # (libmemcached waits 5 s for more of memcached's binary TOUCH reply on a hit: left out)
            assert mc.touch("pl:c", 100) is True
        assert mc.touch("pl:none", 100) is False
        assert mc.get("pl:c") == b"v2"
        assert mc.flush_all() is True
        assert mc.get("pl:c") is None
        stats = mc.get_stats()
        assert len(stats) == 1 and "curr_items" in stats[0][1] and "pid" in stats[0][1]
    finally:
        mc.disconnect_all()


def _attempt(fn, *args):
    try:
        return fn(*args)
    except Exception as e:  # the exception class is the outcome (libmemcached maps the server's replies)
        return type(e).__name__


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_pylibmc_edge_outcomes(memcached_reference, memcached_candidate, binary):
    """The same edge cases through libmemcached on both servers: results and exception classes must match."""
    big = b"x" * 900000
    ops = [("replace", ("pl:none", b"y")), ("append", ("pl:none", b"y")), ("prepend", ("pl:none", b"y")),
           ("add", ("pl:a", b"x")), ("add", ("pl:a", b"x")), ("delete", ("pl:none",)), ("incr", ("pl:none",)),
           ("decr", ("pl:none",)), ("touch", ("pl:none", 10)), ("cas", ("pl:none", b"x", 5)),
           ("gets", ("pl:none",)), ("set", ("pl:n", b"9223372036854775806")), ("incr", ("pl:n", 1)),
           ("set", ("pl:n", b"100")), ("decr", ("pl:n", 1)), ("get", ("pl:n",)), ("decr", ("pl:n", 1000)),
           ("set", ("pl:s", b"abc")), ("incr", ("pl:s",)), ("set", ("pl:big", big)), ("get", ("pl:big",)),
           ("set", ("pl:huge", b"x" * (2 * 1024 * 1024)))]
    outcomes = {}
    for side, server in (("reference", memcached_reference), ("candidate", memcached_candidate)):
        server.flush_all()
        got = []
        for name, args in ops + [("get_multi", (["pl:huge", "pl:a"],))]:
            # a fresh client per operation: some error replies make libmemcached drop the connection
            mc = _pylibmc(server, binary)
            try:
                got.append((name, _attempt(getattr(mc, name), *args)))
            finally:
                mc.disconnect_all()
        outcomes[side] = got
    ref = outcomes["reference"]
    assert ("get", big) in ref and ("get_multi", {"pl:a": b"x"}) in ref, ref
    diff = [(r[0], r[1], c[1]) for r, c in zip(ref, outcomes["candidate"]) if r != c]
    assert not diff, "operation: reference outcome, candidate outcome: %s" % [
        (n, r if not isinstance(r, bytes) or len(r) < 50 else "%d bytes" % len(r),
         c if not isinstance(c, bytes) or len(c) < 50 else "%d bytes" % len(c)) for n, r, c in diff]


# ---------------------------------------------------------------------------
# memccapable

_RESULT = re.compile(r"^(ascii|binary) (.+?)\s+\[(\w+)\]\s*$")


def _memccapable_results(output):
    results = {}
    for line in output.splitlines():
        m = _RESULT.match(line)
        if m:
            results["%s %s" % (m.group(1), m.group(2))] = m.group(3)
    return results


def test_memccapable(memcached_factory):
    """memccapable -a and -b against fresh servers of both kinds, run concurrently; per-test results must match
    the reference's (and the reference must pass)."""
    exe = shutil.which("memccapable") or shutil.which("memcapable")
    if exe is None:
        pytest.fail("memccapable not found on PATH; install it: %s" % MEMCACHED_INSTALL_HINT, pytrace=False)
    runs = {}
    for side in SIDES:
        for mode in ("-a", "-b"):
            server = memcached_factory(side)
            runs[(side, mode)] = subprocess.Popen([exe, "-h", server.host, "-p", str(server.port), "-t", "5", mode],
                                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    outputs = {}
    for key, proc in runs.items():
        try:
            out, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
            out += b"\n(memccapable timed out)"
        outputs[key] = (proc.returncode, out.decode("utf-8", "replace"))
    for mode, expected_count in (("-a", 27), ("-b", 27)):
        ref_rc, ref_out = outputs[("reference", mode)]
        cand_rc, cand_out = outputs[("candidate", mode)]
        ref, cand = _memccapable_results(ref_out), _memccapable_results(cand_out)
        assert len(ref) == expected_count and ref_rc == 0, "reference memccapable %s:\n%s" % (mode, ref_out)
        assert set(ref.values()) <= {"pass", "skipped"}, ref_out
        failed = {name: (ref.get(name), cand.get(name))
                  for name in set(ref) | set(cand) if ref.get(name) != cand.get(name)}
        assert not failed, "memccapable %s: test: (reference, candidate) %s\ncandidate output:\n%s" % (
            mode, sorted(failed.items()), cand_out)
        assert cand_rc == ref_rc, cand_out
