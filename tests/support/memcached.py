"""memcached servers, a raw text-protocol client, and the differential script runner.

* the reference: Debian's real ``memcached`` 1.6.18, started as
  ``memcached -p {port} -U 0 -l 127.0.0.1`` (plus ``-u root`` when running as root);
* the candidate: ``$SWIFTLET_MEMCACHED_CMD``, default
  ``.build/release/swiftlet-memcached -p {port} -U 0 -l 127.0.0.1`` (relative to the
  repo root; ``-u root`` is added when running as root without ``-u``), ``{port}`` replaced by a free port.

Both take extra flags (``-m 64``, ``-M``, ``-I 2m``, ``-o no_modern``, ``-A``), run in
a private temporary directory, must answer ``version`` with ``VERSION ...`` within
60 s, and are killed when their fixture ends. A missing binary raises
:class:`ServerStartError` (the fixtures turn that into a failure, never a skip).

Scripts
-------
A script is a list of steps; a step is the raw bytes of one or more requests
(or a :class:`Step` with options). :func:`run_scripts` sends each step to both
servers in lock step on a fresh connection (after ``flush_all``), followed by
``mn\\r\\n``, and reads until the ``MN\\r\\n`` that answers it, or until the server
closes the connection (``quit``, protocol errors). Step bytes may use
placeholders, filled per server:

    {k}          the script's key prefix (unique per test)
    {cas}        the last CAS unique this connection received (gets/gats VALUE
                 lines, meta ``c`` flags, ``me`` cas=); {cas+1}, {cas-1} add to it
    {cas2}       the 2nd distinct CAS received on this connection (1-based)
    {now+5}      the current unix time plus 5 seconds ({now-100}, {now})

Replies are compared byte for byte after normalising what legitimately differs:
CAS uniques become ``#1``, ``#2`` ... by order of first appearance (so equal and
different CAS values must match the reference's pattern), ``VERSION x`` becomes
``VERSION <version>``, TTL-like numbers (meta ``t``/``l`` flags, ``me`` exp/la) are
replaced by ``<t>`` and compared with a tolerance of 2 seconds, ``me`` cls/size are
masked. ``Step(..., shape=True)`` compares only the ``STAT`` names, in order
(``stats conns`` file descriptors masked); ``Step(..., unordered=True)`` compares the reply lines as a
multiset. After the last step a bare ``mn`` must be answered by exactly ``MN\r\n`` (no stray bytes).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

import pytest

from .servers import REPO_ROOT, START_TIMEOUT, ServerProcess, ServerStartError, _STARTED, free_port

DEFAULT_MEMCACHED_CMD = ".build/release/swiftlet-memcached -p {port} -U 0 -l 127.0.0.1"
MEMCACHED_ENV = "SWIFTLET_MEMCACHED_CMD"
MEMCACHED_INSTALL_HINT = "apt-get install -y memcached libmemcached-tools && pip install pymemcache pylibmc"

READ_TIMEOUT = 5.0
TTL_TOLERANCE = 2
# SWIFTLET_MC_SHOW=1 prints every step and the reference's reply (use with pytest -s while writing scripts)
SHOW = os.environ.get("SWIFTLET_MC_SHOW", "") not in ("", "0")


# ---------------------------------------------------------------------------
# processes


def _flags(flags: Union[str, Sequence[str], None]) -> List[str]:
    if not flags:
        return []
    if isinstance(flags, str):
        return shlex.split(flags)
    return list(flags)


def reference_argv(port: int, flags=None) -> List[str]:
    exe = shutil.which("memcached")
    if exe is None:
        raise ServerStartError("memcached not found on PATH; install it: %s" % MEMCACHED_INSTALL_HINT)
    argv = [exe, "-p", str(port), "-U", "0", "-l", "127.0.0.1"]
    if os.geteuid() == 0:
        argv += ["-u", "root"]
    return argv + _flags(flags)


def candidate_command() -> str:
    return os.environ.get(MEMCACHED_ENV, DEFAULT_MEMCACHED_CMD)


def candidate_argv(port: int, flags=None, cmd: Optional[str] = None) -> List[str]:
    cmd = cmd if cmd is not None else candidate_command()
    argv = shlex.split(cmd.replace("{port}", str(port)))
    if not argv:
        raise ServerStartError("%s is empty" % MEMCACHED_ENV)
    exe = argv[0]
    if os.sep in exe:
        path = exe if os.path.isabs(exe) else os.path.join(REPO_ROOT, exe)
        if not os.path.isfile(path):
            raise ServerStartError(
                "candidate memcached server binary not found: %s\n"
                "build it first (swift build -c release) or set %s, e.g.\n"
                "  %s=\"memcached -u root -p {port} -U 0 -l 127.0.0.1\"" % (path, MEMCACHED_ENV, MEMCACHED_ENV))
        argv[0] = os.path.abspath(path)
    else:
        found = shutil.which(exe)
        if found is None:
            raise ServerStartError("candidate command not found on PATH: %r (from %s)" % (exe, MEMCACHED_ENV))
        argv[0] = found
    if "{port}" not in cmd:
        argv += ["-p", str(port)]
    # swiftlet-memcached, like memcached, refuses to run as root without -u.
    if os.geteuid() == 0 and "-u" not in argv:
        argv += ["-u", "root"]
    return argv + _flags(flags)


class MemcachedProcess(ServerProcess):
    """A memcached-protocol server process; ready once `version` answers `VERSION ...`."""

    def __init__(self, name: str, argv: List[str], port: int, flags=None):
        super().__init__(name, argv, port)
        self.flags = _flags(flags)

    def start(self, timeout: float = START_TIMEOUT) -> "MemcachedProcess":
        logf = open(self.logpath, "wb")
        try:
            self.proc = subprocess.Popen(self.argv, cwd=self.workdir, stdin=subprocess.DEVNULL, stdout=logf,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        except OSError as e:
            raise ServerStartError("%s: cannot execute %r: %s" % (self.name, self.argv, e))
        finally:
            logf.close()
        _STARTED.append(self)
        deadline = time.monotonic() + timeout
        last_err = None
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                raise ServerStartError("%s exited with status %s before answering version\ncommand: %s\nlog:\n%s"
                                       % (self.name, rc, shlex.join(self.argv), self.log_tail()))
            try:
                with McConnection(self.host, self.port, timeout=2.0) as c:
                    line = c.call(b"version\r\n")
                    if line.startswith(b"VERSION ") and line.endswith(b"\r\n"):
                        return self
                    last_err = "version replied %r" % line
            except OSError as e:
                last_err = str(e)
            time.sleep(0.05)
        self.stop()
        raise ServerStartError("%s did not answer version within %.0fs (last error: %s)\ncommand: %s\nlog:\n%s"
                               % (self.name, timeout, last_err, shlex.join(self.argv), self.log_tail()))

    def stop(self) -> None:
        """Kill at once: memcached only notices SIGTERM on its next one-second clock tick, and these test
        servers hold nothing worth a graceful exit."""
        if self.proc is None:
            return
        if self in _STARTED:
            _STARTED.remove(self)
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.proc.kill()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        shutil.rmtree(self.workdir, ignore_errors=True)

    def connect(self, timeout: float = 10.0) -> "McConnection":
        return McConnection(self.host, self.port, timeout=timeout)

    def flush_all(self) -> None:
        with self.connect() as c:
            reply = c.call(b"flush_all\r\n")
            if reply != b"OK\r\n":
                raise AssertionError("%s: flush_all replied %r" % (self.name, reply))


def start_memcached(side: str, flags=None) -> MemcachedProcess:
    """`side` is "reference" or "candidate"."""
    port = free_port()
    if side == "reference":
        return MemcachedProcess("memcached", reference_argv(port, flags), port, flags).start()
    if side == "candidate":
        return MemcachedProcess("candidate", candidate_argv(port, flags), port, flags).start()
    raise ValueError("side must be 'reference' or 'candidate', not %r" % side)


# ---------------------------------------------------------------------------
# raw connection


class McConnection:
    """A raw TCP connection: send bytes, read until a condition, a timeout or EOF."""

    def __init__(self, host: str, port: int, timeout: float = 10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.buf = b""
        self.closed = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data: bytes) -> bool:
        """Send everything; False when the server closed (or reset) the connection first."""
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    def read_until(self, done, timeout: float = READ_TIMEOUT) -> Tuple[bytes, str]:
        """Read until `done(data)` is true. Returns (data, state), state "ok", "closed" (EOF or reset: the
        data is everything received) or "timeout". Bytes past a completed read stay buffered for the next."""
        deadline = time.monotonic() + timeout
        data, self.buf = self.buf, b""
        while True:
            if done(data):
                return data, "ok"
            if self.closed:
                return data, "closed"
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return data, "timeout"
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(1 << 20)
            except socket.timeout:
                return data, "timeout"
            except (ConnectionResetError, BrokenPipeError):
                self.closed = True
                continue
            if not chunk:
                self.closed = True
                continue
            data += chunk

    def read_until_close(self, timeout: float = READ_TIMEOUT) -> Tuple[bytes, bool]:
        data, state = self.read_until(lambda d: False, timeout)
        return data, state == "closed"

    def read_exactly(self, n: int, timeout: float = READ_TIMEOUT) -> bytes:
        data, state = self.read_until(lambda d: len(d) >= n, timeout)
        if state != "ok":
            raise AssertionError("expected %d bytes, got %r (%s)" % (n, data[:200], state))
        self.buf = data[n:]
        return data[:n]

    def read_line(self, timeout: float = READ_TIMEOUT) -> bytes:
        data, state = self.read_until(lambda d: b"\r\n" in d, timeout)
        if state != "ok":
            raise AssertionError("expected a line, got %r (%s)" % (data[:200], state))
        i = data.index(b"\r\n") + 2
        self.buf = data[i:]
        return data[:i]

    def call(self, request: bytes, timeout: float = READ_TIMEOUT) -> bytes:
        """Send one request and return one reply line (with its CRLF)."""
        self.send(request)
        return self.read_line(timeout)

    def read_response(self, end: bytes, timeout: float = READ_TIMEOUT) -> bytes:
        """Read until the received data ends with `end` (e.g. b"END\\r\\n")."""
        data, state = self.read_until(lambda d: d.endswith(end), timeout)
        if state != "ok":
            raise AssertionError("expected a reply ending in %r, got %r (%s)" % (end, data[-300:], state))
        return data

    def exchange(self, data: bytes, mn: int = 1, timeout: float = READ_TIMEOUT) -> Tuple[bytes, str]:
        """Send `data` + ``mn\\r\\n`` and read until the `mn`-th ``MN\\r\\n`` line ends the data (or close)."""
        # a failed send means the server closed early: still collect what it sent before closing
        self.send(data + b"mn\r\n")
        return self.read_until(lambda d: d.endswith(b"MN\r\n") and count_mn(d) >= mn, timeout)


_MN_LINE = re.compile(rb"^MN\r\n", re.M)
_MN_REQUEST = re.compile(rb"^ *mn(?: [^\n]*)?\r?\n", re.M)


def count_mn(data: bytes) -> int:
    """How many ``MN`` reply lines `data` holds."""
    return len(_MN_LINE.findall(data))


def count_mn_requests(data: bytes) -> int:
    """How many ``mn`` request lines a step already contains (each is answered by one MN)."""
    return len(_MN_REQUEST.findall(data))


# ---------------------------------------------------------------------------
# reply parsing and normalisation


@dataclass
class Item:
    """One response unit: a line (without CRLF) and, for VALUE/VA lines, the data block (without CRLF)."""
    line: bytes
    block: Optional[bytes] = None
    partial: bool = False


def parse_items(data: bytes) -> List[Item]:
    """Split a text-protocol byte stream into lines and data blocks. Malformed or truncated tails become one
    `partial` item holding the rest of the bytes."""
    items = []
    pos = 0
    while pos < len(data):
        end = data.find(b"\r\n", pos)
        if end < 0:
            items.append(Item(data[pos:], partial=True))
            break
        line = data[pos:end]
        pos = end + 2
        size = None
        parts = line.split(b" ")
        if parts[0] == b"VALUE" and len(parts) in (4, 5) and parts[3].isdigit():
            size = int(parts[3])
        elif parts[0] == b"VA" and len(parts) >= 2 and parts[1].isdigit():
            size = int(parts[1])
        if size is None:
            items.append(Item(line))
            continue
        if pos + size + 2 > len(data) or data[pos + size:pos + size + 2] != b"\r\n":
            items.append(Item(line))
            items.append(Item(data[pos:], partial=True))
            break
        items.append(Item(line, data[pos:pos + size]))
        pos += size + 2
    return items


META_CODES = {b"HD", b"VA", b"EN", b"NF", b"NS", b"EX"}
_NUM = re.compile(rb"-?[0-9]+\Z")


class Normaliser:
    """Per-connection state: the CAS uniques seen (in order) and the normalisation of replies."""

    def __init__(self):
        self.cas_order: List[int] = []
        self.cas_map: Dict[int, str] = {}

    def last_cas(self) -> Optional[int]:
        return self.cas_order[-1] if self.cas_order else None

    def _cas(self, raw: bytes) -> bytes:
        if not raw.isdigit():
            return raw
        v = int(raw)
        if v == 0:
            return b"0"
        self.cas_order.append(v)
        if v not in self.cas_map:
            self.cas_map[v] = "#%d" % (len(self.cas_map) + 1)
        return self.cas_map[v].encode()

    def normalise(self, data: bytes, shape: bool = False) -> Tuple[List[bytes], List[int]]:
        """Normalised lines (data blocks as b"<block>" lines) and the TTL-like numbers."""
        out: List[bytes] = []
        volatile: List[int] = []
        for it in parse_items(data):
            line = it.line
            if it.partial:
                out.append(b"<partial>" + line)
                continue
            parts = line.split(b" ")
            head = parts[0]
            if head == b"VALUE" and len(parts) == 5:
                parts[4] = self._cas(parts[4])
            elif head in META_CODES:
                start = 2 if head == b"VA" else 1
                for i in range(start, len(parts)):
                    tok = parts[i]
                    if tok[:1] == b"c" and tok[1:].isdigit():
                        parts[i] = b"c" + self._cas(tok[1:])
                    elif tok[:1] in (b"t", b"l") and _NUM.match(tok[1:]) and tok[1:] != b"-1":
                        volatile.append(int(tok[1:]))
                        parts[i] = tok[:1] + b"<t>"
            elif head == b"ME" and len(parts) >= 3:
                for i in range(2, len(parts)):
                    k, eq, v = parts[i].partition(b"=")
                    if not eq:
                        continue
                    if k == b"cas":
                        parts[i] = k + b"=" + self._cas(v)
                    elif k in (b"exp", b"la") and _NUM.match(v) and v != b"-1":
                        volatile.append(int(v))
                        parts[i] = k + b"=<t>"
                    elif k in (b"cls", b"size") and v.isdigit():
                        parts[i] = k + b"=<n>"
            elif head == b"VERSION" and len(parts) >= 2 and parts[1]:
                parts = [b"VERSION", b"<version>"]
            elif shape and head == b"STAT" and len(parts) >= 2:
                parts = [b"STAT", re.sub(rb"^[0-9]+:", b"<fd>:", parts[1])]
            out.append(b" ".join(parts))
            if it.block is not None:
                out.append(b"<block>" + it.block)
        return out, volatile


# ---------------------------------------------------------------------------
# scripts


@dataclass
class Step:
    """One step of a script.

    data     the request bytes (placeholders allowed, see the module docstring)
    mn       how many ``MN`` lines end the reply (default: ``mn`` lines in data + 1)
    sync     False: send without the trailing ``mn`` and read nothing (a partial request
             that the next step completes)
    pause    seconds to sleep before sending (once, for both servers)
    shape    compare only ``STAT`` names, in order
    unordered  compare the reply's lines as a multiset (hash-ordered dumps)
    timeout  read timeout
    """
    data: bytes
    mn: Optional[int] = None
    sync: bool = True
    pause: float = 0.0
    shape: bool = False
    unordered: bool = False
    timeout: float = READ_TIMEOUT


StepLike = Union[bytes, Step]

_PLACEHOLDER = re.compile(rb"\{(k|cas([0-9]+)?([+-][0-9]+)?|now([+-][0-9]+)?)\}")


def fill(data: bytes, prefix: bytes, norm: Normaliser) -> bytes:
    def repl(m):
        name = m.group(1)
        if name == b"k":
            return prefix
        if name.startswith(b"now"):
            return str(int(time.time()) + int(m.group(4) or 0)).encode()
        if m.group(2):
            distinct = list(dict.fromkeys(norm.cas_order))
            idx = int(m.group(2)) - 1
            if idx >= len(distinct):
                raise AssertionError("script uses {cas%d} but only %d CAS values were received"
                                     % (idx + 1, len(distinct)))
            base = distinct[idx]
        else:
            base = norm.last_cas()
            if base is None:
                raise AssertionError("script uses {cas} before any CAS value was received")
        return str(base + int(m.group(3) or 0)).encode()
    return _PLACEHOLDER.sub(repl, data)


@dataclass
class StepResult:
    sent: bytes
    data: bytes
    state: str                      # "ok", "closed", "timeout", "skipped" (closed earlier), "async"
    lines: List[bytes] = field(default_factory=list)
    volatile: List[int] = field(default_factory=list)


class ScriptRun:
    """One script on one server: a fresh connection after flush_all."""

    def __init__(self, server: MemcachedProcess, prefix: bytes, flush: bool = True):
        if flush:
            server.flush_all()
        self.server = server
        self.prefix = prefix
        self.conn = server.connect()
        self.norm = Normaliser()
        self.results: List[StepResult] = []

    def step(self, step: Step) -> StepResult:
        if self.conn.closed:
            r = StepResult(step.data, b"", "skipped")
        else:
            sent = fill(step.data, self.prefix, self.norm)
            if not step.sync:
                self.conn.send(sent)
                r = StepResult(sent, b"", "async")
            else:
                mn = step.mn if step.mn is not None else count_mn_requests(sent) + 1
                data, state = self.conn.exchange(sent, mn=mn, timeout=step.timeout)
                r = StepResult(sent, data, state)
                r.lines, r.volatile = self.norm.normalise(data, shape=step.shape)
                if step.unordered:
                    r.lines.sort()
        self.results.append(r)
        return r

    def close(self):
        self.conn.close()


def as_step(s: StepLike) -> Step:
    return s if isinstance(s, Step) else Step(s)


def _show(b: bytes, limit: int = 700) -> str:
    r = repr(b)
    return r if len(r) <= limit else r[:limit] + "... (%d bytes)" % len(b)


def _show_lines(lines: List[bytes], limit: int = 1500) -> str:
    return _show(b"\n".join(lines), limit)


def _require_mn(server: MemcachedProcess) -> None:
    """The runner delimits every reply with ``mn``; without it each step would wait for its timeout."""
    ok = getattr(server, "_answers_mn", None)
    if ok is None:
        try:
            with server.connect(timeout=5) as c:
                c.send(b"mn\r\n")
                data, state = c.read_until(lambda d: b"\r\n" in d, 3.0)
            ok = data == b"MN\r\n"
        except OSError as e:
            data, ok = repr(e).encode(), False
        server._answers_mn = ok
        server._mn_reply = data
    if not ok:
        pytest.fail("%s does not answer \"mn\\r\\n\" with \"MN\\r\\n\" (got %r); the differential scripts need the "
                    "meta no-op to delimit replies" % (server.name, getattr(server, "_mn_reply", b"")), pytrace=False)


def run_scripts(reference: MemcachedProcess, candidate: MemcachedProcess, steps: Sequence[StepLike],
                prefix: Union[str, bytes] = b"k", flush: bool = True) -> List[StepResult]:
    """Run `steps` on both servers in lock step and fail on the first difference. Returns the reference's
    step results (for extra assertions)."""
    if isinstance(prefix, str):
        prefix = prefix.encode()
    _require_mn(reference)
    _require_mn(candidate)
    # a last bare "mn" catches stray bytes a server sends after the final step's reply
    steps = [as_step(s) for s in steps] + [Step(b"")]
    ref = ScriptRun(reference, prefix, flush)
    cand = ScriptRun(candidate, prefix, flush)
    try:
        for i, step in enumerate(steps):
            if step.pause:
                time.sleep(step.pause)
            r = ref.step(step)
            c = cand.step(step)
            if SHOW:
                print("[%s #%d] %s\n    -> %s %s" % (prefix.decode("latin-1"), i, _show(r.sent, 300), r.state,
                                                    _show(r.data, 1200)))
            if r.state == "timeout":
                pytest.fail("test bug: the reference did not answer step %d %s within %.1fs; got %s"
                            % (i, _show(r.sent, 300), step.timeout, _show(r.data)), pytrace=False)
            problems = []
            if r.state != c.state:
                problems.append("connection state: reference %s, candidate %s" % (r.state, c.state))
            if r.lines != c.lines:
                problems.append("replies differ")
            elif len(r.volatile) != len(c.volatile) or any(
                    abs(a - b) > TTL_TOLERANCE for a, b in zip(r.volatile, c.volatile)):
                problems.append("TTL-like numbers differ by more than %ds: reference %s, candidate %s"
                                % (TTL_TOLERANCE, r.volatile, c.volatile))
            if problems:
                msg = ["script %s, step %d of %d: %s" % (prefix.decode("latin-1"), i, len(steps), "; ".join(problems)),
                       "  sent to reference: %s" % _show(r.sent, 400),
                       "  sent to candidate: %s" % _show(c.sent, 400),
                       "  reference (%s): %s" % (r.state, _show(r.data)),
                       "  candidate (%s): %s" % (c.state, _show(c.data)),
                       "  normalised reference: %s" % _show_lines(r.lines),
                       "  normalised candidate: %s" % _show_lines(c.lines)]
                if r.lines != c.lines:
                    k = next((j for j in range(min(len(r.lines), len(c.lines))) if r.lines[j] != c.lines[j]),
                             min(len(r.lines), len(c.lines)))
                    msg.append("  first differing item #%d: reference %s / candidate %s"
                               % (k, _show(r.lines[k] if k < len(r.lines) else b"(none)", 300),
                                  _show(c.lines[k] if k < len(c.lines) else b"(none)", 300)))
                if i:
                    msg.append("  earlier steps: " + " | ".join(_show(s.sent, 120) for s in ref.results[:i]))
                pytest.fail("\n".join(msg), pytrace=False)
        return ref.results
    finally:
        ref.close()
        cand.close()
