"""swiftlet-check-aof against the real redis-check-aof (7.0).

Every test writes its append-only files itself (RESP bytes built here, and a manifest with an RDB base produced by a
real `redis-server --appendonly yes`), runs both checkers on copies of the same files, and compares: valid or not
(exit status), the `AOF analyzed: ... ok_up_to=...` line of each file, the exact output where the files are valid
RESP, and the bytes left by `--fix` (Swiftlet's with `--yes`, Redis's answering `y` on stdin), which the real
checker must then accept.

The Swiftlet binary is `.build/{release,debug}/swiftlet-check-aof` (the newer one if both exist): build it with
`swift build -c release --product swiftlet-check-aof`. redis-check-aof comes with the redis-tools package; tests that
need it, or redis-server, are skipped when it is missing.
"""

import os
import random
import re
import shutil
import subprocess
import time

import pytest

from support.resp import RespConnection
from support.servers import ServerProcess, free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ANALYZED = re.compile(
    r"AOF analyzed: filename=(.*), size=(\d+), ok_up_to=(\d+), ok_up_to_line=(\d+), diff=(\d+)"
)


def swiftlet_tool():
    candidates = [os.path.join(ROOT, ".build", build, "swiftlet-check-aof") for build in ("release", "debug")]
    existing = [path for path in candidates if os.path.exists(path)]
    if not existing:
        pytest.fail("swiftlet-check-aof is not built (swift build -c release --product swiftlet-check-aof)",
                    pytrace=False)
    return max(existing, key=os.path.getmtime)


def redis_tool(name="redis-check-aof"):
    path = shutil.which(name)
    if path is None:
        pytest.skip("%s is not installed (apt-get install redis-tools)" % name)
    return path


def run(argv, answer=None):
    # surrogateescape: a byte that is not UTF-8 (the tools echo the byte they found) stays itself.
    out = subprocess.run(argv, input=answer, capture_output=True, text=True, errors="surrogateescape", timeout=60)
    return out.returncode, out.stdout + out.stderr


def analyzed(output):
    """[(filename, size, ok_up_to, ok_up_to_line, diff)] for each file checked."""
    return [(m[0], int(m[1]), int(m[2]), int(m[3]), int(m[4])) for m in ANALYZED.findall(output)]


def without_error_lines(output):
    return [line for line in output.splitlines() if not line.startswith("0x")]


def both(path, *flags, answer=None, yes=False):
    """Runs both checkers, each on its own copy of `path`'s directory, with `flags`. `answer` goes to stdin; `yes`
    answers the --fix prompt: Swiftlet with --yes, Redis with "y" on stdin.
    Returns ((rc, output, copy) for Swiftlet, the same for Redis), the copies' path replaced by DIR in the outputs."""
    directory = os.path.dirname(path)
    results = []
    for tool, tag in ((swiftlet_tool(), "swiftlet"), (redis_tool(), "redis")):
        copy = directory + "-" + tag
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(directory, copy)
        argv = [tool, *flags]
        stdin = answer
        if yes and tag == "swiftlet":
            argv.append("--yes")
        elif yes:
            stdin = "y\n"
        rc, out = run(argv + [os.path.join(copy, os.path.basename(path))], answer=stdin)
        results.append((rc, out.replace(copy, "DIR"), copy))
    return results


# MARK: - Building files


def cmd(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def value(rng, crlf):
    alphabet = [b for b in range(256) if crlf or b not in (10, 13)]
    if rng.random() < 0.3:
        return bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
    text = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(rng.randint(1, 12)))
    if crlf and rng.random() < 0.2:
        text += "\r\n" + text
    return text.encode()


def commands(rng, count, crlf=False, annotations=True, transactions=True):
    """A plausible command log: writes, transactions and `#TS:` annotations."""
    out = cmd("SELECT", "0")
    ts = 1700000000
    for _ in range(count):
        roll = rng.random()
        if annotations and roll < 0.1:
            ts += rng.randint(0, 3)
            out += b"#TS:%d\r\n" % ts
        elif transactions and roll < 0.2:
            out += cmd("MULTI")
            for _ in range(rng.randint(0, 3)):
                out += cmd("SET", b"k%d" % rng.randint(0, 9), value(rng, crlf))
            out += cmd("exec" if rng.random() < 0.5 else "EXEC")
        elif roll < 0.5:
            out += cmd("SET", b"k%d" % rng.randint(0, 9), value(rng, crlf))
        elif roll < 0.7:
            out += cmd("RPUSH", b"l%d" % rng.randint(0, 3), *[value(rng, crlf) for _ in range(rng.randint(1, 4))])
        elif roll < 0.9:
            out += cmd("HSET", b"h", value(rng, crlf), value(rng, crlf))
        else:
            out += cmd("INCRBY", b"n", rng.randint(-100, 100))
    return out


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def multi_part(directory, base, incrs, base_name="appendonly.aof.1.base.aof"):
    """A Redis 7.0 AOF directory: the base, the incremental files, and the manifest naming them."""
    os.makedirs(directory, exist_ok=True)
    lines = []
    if base is not None:
        write(os.path.join(directory, base_name), base)
        lines.append("file %s seq 1 type b" % base_name)
    for i, data in enumerate(incrs, start=1):
        name = "appendonly.aof.%d.incr.aof" % i
        write(os.path.join(directory, name), data)
        lines.append("file %s seq %d type i" % (name, i))
    manifest = os.path.join(directory, "appendonly.aof.manifest")
    write(manifest, ("\n".join(lines) + "\n").encode())
    return manifest


def incr_path(manifest, number):
    return os.path.join(os.path.dirname(manifest), "appendonly.aof.%d.incr.aof" % number)


# MARK: - Valid files


def test_valid_multi_part_output_matches(tmp_path):
    rng = random.Random(1)
    manifest = multi_part(
        str(tmp_path / "aof"),
        commands(rng, 200, crlf=True),
        [commands(rng, 100, crlf=True), b"", commands(rng, 100, crlf=True)],
    )
    (rc, out, _), (redis_rc, redis_out, _) = both(manifest)
    assert rc == redis_rc == 0, out + redis_out
    # Same lines in the same order: sizes, ok_up_to, the line counts carried across files, the empty file.
    assert out == redis_out
    assert "INCR AOF appendonly.aof.2.incr.aof is empty" in out
    assert out.rstrip().endswith("All AOF files and manifest are valid")


def test_old_style_file(tmp_path):
    os.makedirs(tmp_path / "old")
    path = str(tmp_path / "old" / "appendonly.aof")
    write(path, commands(random.Random(2), 300, crlf=True))
    (rc, out, _), (redis_rc, redis_out, _) = both(path)
    assert rc == redis_rc == 0
    assert out == redis_out
    assert "Start checking Old-Style AOF" in out and "AOF DIR/appendonly.aof is valid" in out


def test_empty_files(tmp_path):
    os.makedirs(tmp_path / "empty")
    path = str(tmp_path / "empty" / "appendonly.aof")
    write(path, b"")
    (rc, out, _), (redis_rc, redis_out, _) = both(path)
    assert rc == redis_rc == 0 and out == redis_out
    assert "AOF DIR/appendonly.aof is empty" in out
    manifest = multi_part(str(tmp_path / "aof"), b"", [b"", b""])
    (rc, out, _), (redis_rc, redis_out, _) = both(manifest)
    assert rc == redis_rc == 0 and out == redis_out
    assert "BASE AOF appendonly.aof.1.base.aof is empty" in out


# MARK: - Torn files


def test_torn_last_incr_at_random_offsets(tmp_path):
    rng = random.Random(3)
    base = commands(rng, 50)
    first = commands(rng, 50)
    last = commands(rng, 120)
    cuts = sorted(set(rng.randrange(1, len(last)) for _ in range(60)))
    for cut in cuts:
        directory = str(tmp_path / ("cut%d" % cut))
        manifest = multi_part(directory, base, [first, last[:cut]])
        (rc, out, _), (redis_rc, redis_out, _) = both(manifest)
        assert rc == redis_rc, (cut, out, redis_out)
        assert analyzed(out) == analyzed(redis_out), (cut, out, redis_out)
        if rc == 1:
            assert "AOF appendonly.aof.2.incr.aof is not valid. Use the --fix option to try fixing it." in out
        ok_up_to = analyzed(out)[-1][2]

        (rc, out, fixed), (redis_rc, redis_out, redis_fixed) = both(manifest, "--fix", yes=True)
        assert rc == redis_rc == 0, (cut, out, redis_out)
        fixed_incr = incr_path(os.path.join(fixed, "x"), 2)
        assert read(fixed_incr) == read(incr_path(os.path.join(redis_fixed, "x"), 2)) == last[:ok_up_to]
        if ok_up_to < cut:
            assert "Successfully truncated AOF appendonly.aof.2.incr.aof" in out
        # The real checker accepts what Swiftlet left.
        check_rc, check_out = run([redis_tool(), os.path.join(fixed, "appendonly.aof.manifest")])
        assert check_rc == 0, check_out


def test_torn_file_that_is_not_last(tmp_path):
    rng = random.Random(4)
    first = commands(rng, 40, transactions=False)
    manifest = multi_part(str(tmp_path / "aof"), commands(rng, 20), [first[:-7], commands(rng, 20)])
    (rc, out, _), (redis_rc, redis_out, _) = both(manifest)
    assert rc == redis_rc == 1
    assert analyzed(out) == analyzed(redis_out)
    assert out.rstrip().endswith("AOF appendonly.aof.1.incr.aof is not valid. Use the --fix option to try fixing it.")
    (rc, out, copy), (redis_rc, redis_out, _) = both(manifest, "--fix", yes=True)
    assert rc == redis_rc == 1
    assert out.rstrip().endswith("Failed to truncate AOF appendonly.aof.1.incr.aof because it is not the last file")
    assert read(incr_path(os.path.join(copy, "x"), 1)) == first[:-7]


def test_old_style_torn_file_fixed(tmp_path):
    os.makedirs(tmp_path / "old")
    path = str(tmp_path / "old" / "appendonly.aof")
    data = commands(random.Random(5), 100)
    write(path, data[:-3])
    (rc, out, _), (redis_rc, redis_out, _) = both(path)
    assert rc == redis_rc == 1 and analyzed(out) == analyzed(redis_out)
    ok_up_to = analyzed(out)[0][2]
    # Without --yes the answer is read from stdin: "n" aborts and leaves the file as it was.
    (rc, out, copy), (redis_rc, redis_out, redis_copy) = both(path, "--fix", answer="n\n")
    assert rc == redis_rc == 1
    assert "Continue? [y/N]: Aborting..." in out and "Continue? [y/N]: Aborting..." in redis_out
    assert read(os.path.join(copy, "appendonly.aof")) == data[:-3]
    (rc, out, copy), (redis_rc, redis_out, redis_copy) = both(path, "--fix", answer="y\n")
    assert rc == redis_rc == 0
    # The same output but for the error line: Swiftlet describes a torn command in its own words.
    assert without_error_lines(out) == without_error_lines(redis_out)
    assert "This will shrink the AOF DIR/appendonly.aof from %d bytes, with %d bytes, to %d bytes" % (
        len(data) - 3, len(data) - 3 - ok_up_to, ok_up_to) in out
    assert read(os.path.join(copy, "appendonly.aof")) == read(os.path.join(redis_copy, "appendonly.aof"))


# MARK: - Bad format and transactions


def bad_format_cases(rng):
    good = commands(rng, 30, annotations=False, transactions=False)
    tail = cmd("SET", "a", "b") + cmd("SET", "c", "d")
    return {
        "garbage line": good + b"garbage\r\n" + tail,
        "dollar replaced": good + cmd("SET", "a", "b").replace(b"$1\r\na", b"%1\r\na") + tail,
        "dollar replaced by a byte above 127": good + cmd("SET", "a", "b").replace(b"$1\r\na", b"\xff1\r\na") + tail,
        "no crlf after data": good + b"*3\r\n$3\r\nSET\r\n$1\r\nab\r\n$1\r\nc\r\n" + tail,
        "multi without exec": good + cmd("MULTI") + cmd("SET", "a", "b") + cmd("INCR", "n"),
        "torn inside multi": good + cmd("MULTI") + cmd("SET", "a", "b") + cmd("EXEC")[:-2],
        "nested multi": good + cmd("MULTI") + cmd("SET", "a", "b") + cmd("MULTI") + cmd("EXEC") + tail,
        "exec without multi": good + cmd("SET", "a", "b") + cmd("EXEC") + tail,
        "bad annotation tail": good + tail + b"#TS:17",
    }


@pytest.mark.parametrize("case", sorted(bad_format_cases(random.Random(0))))
def test_bad_format_and_transactions(tmp_path, case):
    data = bad_format_cases(random.Random(6))[case]
    manifest = multi_part(str(tmp_path / "aof"), commands(random.Random(7), 20), [data])
    (rc, out, _), (redis_rc, redis_out, _) = both(manifest)
    assert rc == redis_rc, out + redis_out
    assert analyzed(out) == analyzed(redis_out), out + redis_out
    if case in ("multi without exec", "nested multi", "exec without multi", "garbage line", "dollar replaced",
                "dollar replaced by a byte above 127"):
        # Error lines with the same text and offset.
        assert out == redis_out
    if rc == 0:
        return
    (rc, out, copy), (redis_rc, _, redis_copy) = both(manifest, "--fix", yes=True)
    assert rc == redis_rc == 0, out
    assert read(incr_path(os.path.join(copy, "x"), 1)) == read(incr_path(os.path.join(redis_copy, "x"), 1))
    check_rc, check_out = run([redis_tool(), os.path.join(copy, "appendonly.aof.manifest")])
    assert check_rc == 0, check_out


def test_random_damage_agrees(tmp_path):
    """Files cut short or with bytes overwritten at random (seeded): the same verdict and the same ok_up_to."""
    rng = random.Random(9)
    base = cmd("SET", "x", "y")
    for case in range(80):
        data = commands(rng, 30)
        if case % 2 == 0:
            data = data[:rng.randrange(1, len(data))]
        else:
            damaged = bytearray(data)
            for _ in range(rng.randint(1, 2)):
                damaged[rng.randrange(len(damaged))] = rng.choice(b"*$#\r\n0123-abc ")
            data = bytes(damaged)
        manifest = multi_part(str(tmp_path / ("case%d" % case)), base, [data])
        (rc, out, _), (redis_rc, redis_out, _) = both(manifest)
        assert rc == redis_rc, (data, out, redis_out)
        # (ok_up_to_line is left out: Redis reads length lines with strtol, which skips leading blanks.)
        assert [a[:3] for a in analyzed(out)] == [a[:3] for a in analyzed(redis_out)], (data, out, redis_out)


# MARK: - --truncate-to-timestamp


def test_truncate_to_timestamp(tmp_path):
    head = cmd("SET", "a", "1")
    body = b"#TS:100\r\n" + cmd("SET", "b", "2") + b"#TS:200\r\n" + cmd("SET", "c", "3")
    manifest = multi_part(str(tmp_path / "aof"), cmd("SET", "base", "0"), [head + body])
    for limit, expect_rc in (("150", 0), ("99", 0), ("200", 0), ("abc", 1)):
        (rc, out, copy), (redis_rc, redis_out, redis_copy) = both(manifest, "--truncate-to-timestamp", limit)
        assert rc == redis_rc == expect_rc, out + redis_out
        assert out.replace("swiftlet-check-aof", "redis-check-aof") == redis_out
        assert read(incr_path(os.path.join(copy, "x"), 1)) == read(incr_path(os.path.join(redis_copy, "x"), 1))
    # A timestamp in a file that is not the last one cannot be cut; nor can a file that would be left empty.
    manifest = multi_part(str(tmp_path / "two"), None, [body, head])
    (rc, out, _), (redis_rc, redis_out, _) = both(manifest, "--truncate-to-timestamp", "150")
    assert rc == redis_rc == 1
    assert "because it is not the last file" in out
    manifest = multi_part(str(tmp_path / "one"), None, [body])
    (rc, out, _), (redis_rc, redis_out, _) = both(manifest, "--truncate-to-timestamp", "50")
    assert rc == redis_rc == 1 and out == redis_out
    assert "has nothing before timestamp 50" in out


def test_usage():
    for argv in ([], ["--fix"], ["--bogus", "x"], ["a", "b"], ["--fix", "--truncate-to-timestamp", "1", "x"]):
        rc, out = run([swiftlet_tool(), *argv])
        assert rc == 1
        assert out.splitlines()[0] == (
            "Usage: swiftlet-check-aof [--fix|--truncate-to-timestamp $timestamp] <file.manifest|file.aof>"
        )
        assert "--yes" in out


# MARK: - RDB base written by a real redis-server


def make_redis_aof(directory):
    """An appendonlydir written by redis-server: an RDB base (after BGREWRITEAOF) and an incremental file."""
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    argv = [exe, "--port", str(port), "--bind", "127.0.0.1", "--dir", directory, "--save", "",
            "--appendonly", "yes", "--aof-timestamp-enabled", "yes", "--daemonize", "no"]
    server = ServerProcess("redis-aof", argv, port).start()
    try:
        with RespConnection("127.0.0.1", port) as conn:
            for i in range(200):
                conn.execute("SET", "key:%d" % i, "value-%d" % i * (i % 7))
                conn.execute("RPUSH", "list", i)
            conn.execute("HSET", "hash", "f", "v")
            conn.execute("BGREWRITEAOF")
            for _ in range(100):
                if b"aof_rewrite_in_progress:0" in conn.execute("INFO", "persistence").raw:
                    break
                time.sleep(0.05)
            for i in range(100):
                conn.execute("INCRBY", "counter", i)
            conn.execute("MULTI")
            conn.execute("SET", "in-tx", "1")
            conn.execute("EXEC")
    finally:
        server.stop()
    aof_dir = os.path.join(directory, "appendonlydir")
    names = sorted(os.listdir(aof_dir))
    assert any(n.endswith(".base.rdb") for n in names), names
    return os.path.join(aof_dir, "appendonly.aof.manifest")


def test_manifest_with_rdb_base_from_redis(tmp_path):
    manifest = make_redis_aof(str(tmp_path))
    (rc, out, _), (redis_rc, redis_out, _) = both(manifest)
    assert rc == redis_rc == 0, out + redis_out
    assert analyzed(out) == analyzed(redis_out)
    assert "Start to check BASE AOF (RDB format)." in out
    assert "RDB preamble is OK, proceeding with AOF tail..." in out
    assert "All AOF files and manifest are valid" in out

    aof_dir = os.path.dirname(manifest)
    base = next(os.path.join(aof_dir, n) for n in os.listdir(aof_dir) if n.endswith(".base.rdb"))
    incr = next(os.path.join(aof_dir, n) for n in sorted(os.listdir(aof_dir)) if n.endswith(".incr.aof"))
    # The incremental file torn at a few offsets: same verdict, same ok_up_to.
    original = read(incr)
    rng = random.Random(8)
    for cut in sorted(set(rng.randrange(1, len(original)) for _ in range(15))):
        write(incr, original[:cut])
        (rc, out, _), (redis_rc, redis_out, _) = both(manifest)
        assert rc == redis_rc and analyzed(out) == analyzed(redis_out), (cut, out, redis_out)
    write(incr, original)

    # An old-style file with an RDB preamble and a RESP tail, as aof-use-rdb-preamble wrote before 7.0.
    os.makedirs(tmp_path / "old")
    old = str(tmp_path / "old" / "appendonly.aof")
    write(old, read(base) + original)
    (rc, out, _), (redis_rc, redis_out, _) = both(old)
    assert rc == redis_rc == 0 and analyzed(out) == analyzed(redis_out)
    write(old, read(base) + original[:-5])
    (rc, out, copy), (redis_rc, redis_out, _) = both(old, "--fix", yes=True)
    assert analyzed(out) == analyzed(redis_out)
    assert rc == 0 and run([redis_tool(), os.path.join(copy, "appendonly.aof")])[0] == 0

    # A damaged RDB: both refuse it.
    data = bytearray(read(base))
    data[len(data) // 2] ^= 0xFF
    write(base, bytes(data))
    (rc, out, _), (redis_rc, redis_out, _) = both(manifest)
    assert rc == redis_rc == 1
    # (Redis exits from inside its RDB loader for some damage, before printing this line.)
    assert "RDB preamble of AOF file is not sane, aborting." in out
