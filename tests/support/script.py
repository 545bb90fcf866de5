"""Differential test scripts: parse them and run them against two servers.

Script format (``tests/differential/scripts/*.txt``)
----------------------------------------------------
* one command per line; arguments are split exactly like redis-cli does
  (sdssplitargs): double quotes understand ``\\xHH``, ``\\n``, ``\\r``,
  ``\\t``, ``\\b``, ``\\a``, ``\\"`` and ``\\\\``; single quotes understand only
  ``\\'``; a closing quote must be followed by whitespace or end of line.
* blank lines and lines whose first non-blank character is ``#`` are ignored.
* directives start with ``@``:

  ``@unordered``        the reply is an array/set compared as a multiset
  ``@unordered-pairs``  the reply is a flat key/value array (or a map) compared
                        as a multiset of pairs (HGETALL, CONFIG GET pattern)
  ``@scan``             the reply is a SCAN reply: the cursor must be "0" on
                        both servers and the keys are compared as a multiset
  ``@type``             compare only RESP type bytes and aggregate shapes
  ``@ignore``           run the command on both servers, compare nothing
  ``@resp3`` / ``@resp2``  send ``HELLO 3`` / ``HELLO 2`` to both servers
  ``@sleep SECONDS``    sleep (e.g. ``@sleep 1.1``)

  The comparison modifiers (unordered, unordered-pairs, scan, type, ignore)
  either stand alone on the line before a command, or prefix it on the same
  line: ``@unordered KEYS *``.

Every script runs on a fresh connection to each server after FLUSHALL; by
default each reply must be byte-for-byte identical.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from .resp import ConnectionClosed, Node, RespConnection

MODIFIERS = ("unordered", "unordered-pairs", "scan", "type", "ignore")
ACTIONS = ("resp2", "resp3", "sleep")


class ScriptSyntaxError(Exception):
    pass


# ---------------------------------------------------------------------------
# argument splitting (a port of sdssplitargs from Redis's sds.c)

_HEX = "0123456789abcdefABCDEF"
_SPACE = " \n\r\t\v\f"


def split_args(line: str) -> List[bytes]:
    """Split a line into arguments the way redis-cli does.

    Raises ScriptSyntaxError on unbalanced quotes or a closing quote that is
    not followed by a space.
    """
    data = line.encode("utf-8")
    n = len(data)
    i = 0
    out: List[bytes] = []

    def at(k: int) -> int:
        return data[k] if k < n else 0

    while True:
        while i < n and chr(data[i]) in _SPACE:
            i += 1
        if i >= n:
            return out
        inq = insq = done = False
        cur = bytearray()
        while not done:
            c = at(i)
            if inq:
                if (c == ord("\\") and at(i + 1) == ord("x") and at(i + 2) and chr(at(i + 2)) in _HEX
                        and at(i + 3) and chr(at(i + 3)) in _HEX):
                    cur.append(int(bytes([at(i + 2), at(i + 3)]), 16))
                    i += 3
                elif c == ord("\\") and at(i + 1):
                    i += 1
                    e = chr(at(i))
                    cur.append({"n": 10, "r": 13, "t": 9, "b": 8, "a": 7}.get(e, at(i)))
                elif c == ord('"'):
                    if at(i + 1) and chr(at(i + 1)) not in _SPACE:
                        raise ScriptSyntaxError("closing quote must be followed by a space: %r" % line)
                    done = True
                elif c == 0:
                    raise ScriptSyntaxError("unbalanced quotes: %r" % line)
                else:
                    cur.append(c)
            elif insq:
                if c == ord("\\") and at(i + 1) == ord("'"):
                    i += 1
                    cur.append(ord("'"))
                elif c == ord("'"):
                    if at(i + 1) and chr(at(i + 1)) not in _SPACE:
                        raise ScriptSyntaxError("closing quote must be followed by a space: %r" % line)
                    done = True
                elif c == 0:
                    raise ScriptSyntaxError("unbalanced quotes: %r" % line)
                else:
                    cur.append(c)
            else:
                if c == 0 or chr(c) in " \n\r\t":
                    done = True
                elif c == ord('"'):
                    inq = True
                elif c == ord("'"):
                    insq = True
                else:
                    cur.append(c)
            if i < n:
                i += 1
        out.append(bytes(cur))


# ---------------------------------------------------------------------------
# parsing scripts


@dataclass
class Step:
    lineno: int
    text: str
    kind: str                       # "command" | "resp2" | "resp3" | "sleep"
    args: List[bytes] = field(default_factory=list)
    mode: str = "exact"             # exact | unordered | unordered-pairs | scan | type | ignore
    seconds: float = 0.0


def parse_script(text: str, name: str = "<script>") -> List[Step]:
    steps: List[Step] = []
    pending: Optional[Tuple[str, int]] = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        mode = "exact"
        if line.startswith("@"):
            word, _, rest = line[1:].partition(" ")
            word = word.lower()
            rest = rest.strip()
            if word in ACTIONS:
                if pending:
                    raise ScriptSyntaxError("%s:%d: @%s directly after @%s (line %d)"
                                            % (name, lineno, word, pending[0], pending[1]))
                if word == "sleep":
                    try:
                        secs = float(rest)
                    except ValueError:
                        raise ScriptSyntaxError("%s:%d: @sleep needs a number of seconds" % (name, lineno))
                    steps.append(Step(lineno, line, "sleep", seconds=secs))
                else:
                    if rest:
                        raise ScriptSyntaxError("%s:%d: @%s takes no arguments" % (name, lineno, word))
                    steps.append(Step(lineno, line, word))
                continue
            if word not in MODIFIERS:
                raise ScriptSyntaxError("%s:%d: unknown directive @%s" % (name, lineno, word))
            if pending:
                raise ScriptSyntaxError("%s:%d: two modifiers in a row" % (name, lineno))
            if not rest:
                pending = (word, lineno)
                continue
            mode = word
            line = rest
        elif pending:
            mode = pending[0]
        pending = None
        try:
            args = split_args(line)
        except ScriptSyntaxError as e:
            raise ScriptSyntaxError("%s:%d: %s" % (name, lineno, e))
        if not args:
            raise ScriptSyntaxError("%s:%d: empty command" % (name, lineno))
        steps.append(Step(lineno, line, "command", args=args, mode=mode))
    if pending:
        raise ScriptSyntaxError("%s:%d: @%s at end of script" % (name, pending[1], pending[0]))
    return steps


def load_script(path: str) -> List[Step]:
    with open(path, "r", encoding="utf-8") as f:
        return parse_script(f.read(), os.path.basename(path))


# ---------------------------------------------------------------------------
# comparing replies


def _pairs(node: Node) -> Optional[List[Tuple[bytes, bytes]]]:
    kids = node.value
    if len(kids) % 2:
        return None
    return sorted((kids[i].raw, kids[i + 1].raw) for i in range(0, len(kids), 2))


def compare(mode: str, a: Node, b: Node) -> Optional[str]:
    """None if the replies match under `mode`, else a short reason."""
    if mode == "ignore":
        return None
    if mode == "type":
        if a.shape() == b.shape():
            return None
        return "shape differs: %r vs %r" % (a.shape(), b.shape())
    if mode in ("unordered", "unordered-pairs", "scan"):
        if not (a.is_aggregate and b.is_aggregate):
            # errors, nulls and scalars compare exactly
            return None if a.raw == b.raw else "replies differ"
        if a.type != b.type:
            return "reply types differ: %r vs %r" % (a.type, b.type)
        if mode == "scan":
            if len(a.value) != 2 or len(b.value) != 2:
                return "SCAN reply is not a 2-element array"
            for who, n in (("reference", a), ("candidate", b)):
                if n.value[0].to_python() != b"0":
                    return "%s SCAN cursor is %r, expected \"0\" (use COUNT 1000 on small dbs)" % (
                        who, n.value[0].raw)
            if a.value[0].raw != b.value[0].raw:
                return "cursor encodings differ"
            ka, kb = a.value[1], b.value[1]
            if not (ka.is_aggregate and kb.is_aggregate) or ka.type != kb.type:
                return "SCAN key lists have different types"
            if sorted(k.raw for k in ka.value) == sorted(k.raw for k in kb.value):
                return None
            return "SCAN key sets differ"
        if mode == "unordered-pairs" or a.type in "%|":
            pa, pb = _pairs(a), _pairs(b)
            if pa is None or pb is None:
                return "odd number of elements for a pair comparison"
            return None if pa == pb else "pair multisets differ"
        if sorted(c.raw for c in a.value) == sorted(c.raw for c in b.value):
            return None
        return "multisets differ"
    return None if a.raw == b.raw else "replies differ"


# ---------------------------------------------------------------------------
# running


def _show(raw: bytes, limit: int = 1500) -> str:
    r = repr(raw)
    return r if len(r) <= limit else r[:limit] + "... (%d bytes)" % len(raw)


@dataclass
class Mismatch:
    script: str
    lineno: int
    command: str
    reason: str
    reference: str
    candidate: str

    def __str__(self):
        return ("%s:%d: %s\n    %s\n    reference (redis): %s\n    candidate:         %s"
                % (self.script, self.lineno, self.command, self.reason, self.reference, self.candidate))


@dataclass
class RunResult:
    script: str
    commands: int = 0
    mismatches: List[Mismatch] = field(default_factory=list)
    aborted: Optional[str] = None

    @property
    def ok(self) -> bool:
        return not self.mismatches and self.aborted is None

    def report(self, limit: int = int(os.environ.get("DIFF_LIMIT", "25"))) -> str:
        lines = ["%s: %d mismatching replies out of %d commands"
                 % (self.script, len(self.mismatches), self.commands)]
        for m in self.mismatches[:limit]:
            lines.append(str(m))
        if len(self.mismatches) > limit:
            lines.append("... and %d more mismatches" % (len(self.mismatches) - limit))
        if self.aborted:
            lines.append("ABORTED: " + self.aborted)
        return "\n".join(lines)


def _exchange(conns, args) -> List[Node]:
    for c in conns:
        c.send_command(*args)
    return [c.read_reply() for c in conns]


def run_script(name: str, steps: List[Step], ref_addr: Tuple[str, int], cand_addr: Tuple[str, int],
               timeout: float = 10.0) -> RunResult:
    result = RunResult(name)
    conns = []
    try:
        conns = [RespConnection(ref_addr[0], ref_addr[1], timeout),
                 RespConnection(cand_addr[0], cand_addr[1], timeout)]
        for who, c in zip(("reference", "candidate"), conns):
            r = c.execute("FLUSHALL")
            if r.raw != b"+OK\r\n":
                result.aborted = "FLUSHALL on the %s failed: %r" % (who, r.raw)
                return result
        for step in steps:
            if step.kind == "sleep":
                time.sleep(step.seconds)
                continue
            if step.kind in ("resp2", "resp3"):
                args = [b"HELLO", b"3" if step.kind == "resp3" else b"2"]
                mode = "type"
            else:
                args = step.args
                mode = step.mode
            result.commands += 1
            try:
                ra, rb = _exchange(conns, args)
            except ConnectionClosed as e:
                result.aborted = "line %d (%s): connection closed: %s" % (step.lineno, step.text, e)
                return result
            except OSError as e:  # includes socket.timeout
                result.aborted = "line %d (%s): %s: %s" % (step.lineno, step.text, type(e).__name__, e)
                return result
            reason = compare(mode, ra, rb)
            if reason is not None:
                result.mismatches.append(Mismatch(
                    name, step.lineno, step.text, "%s [mode %s]" % (reason, mode),
                    _show(ra.raw), _show(rb.raw)))
    except OSError as e:
        result.aborted = "%s: %s" % (type(e).__name__, e)
    finally:
        for c in conns:
            c.close()
    return result


def show_script(name: str, steps: List[Step], addr: Tuple[str, int], timeout: float = 10.0) -> str:
    """Run a script against one server and return a transcript (for writing scripts)."""
    out = []
    with RespConnection(addr[0], addr[1], timeout) as c:
        c.execute("FLUSHALL")
        for step in steps:
            if step.kind == "sleep":
                time.sleep(step.seconds)
                continue
            args = step.args if step.kind == "command" else [b"HELLO", b"3" if step.kind == "resp3" else b"2"]
            r = c.execute(*args)
            tag = "" if step.mode == "exact" else " [@%s]" % step.mode
            out.append("%4d %s%s\n     -> %s" % (step.lineno, step.text, tag, _show(r.raw, 400)))
    return "\n".join(out)
