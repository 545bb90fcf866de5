"""A small, strict RESP2/RESP3 client for differential tests.

It deliberately does no interpretation: every reply is returned both as the
exact bytes the server sent and as a parsed tree of :class:`Node` objects that
remember their RESP type byte, so tests can compare byte-for-byte or by shape.

Supported reply types (RESP2 and RESP3):

    +  simple string      -  simple error       :  integer
    $  bulk string (and $-1 null, and $? streamed)
    *  array (and *-1 null, and *? streamed)
    _  null               ,  double             #  boolean
    !  blob error         =  verbatim string    (  big number
    %  map                ~  set                >  push
    |  attribute (attached to the reply that follows it)
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from typing import Any, List, Optional, Sequence, Tuple, Union

CRLF = b"\r\n"

AGGREGATE_TYPES = b"*%~>|"
SCALAR_LINE_TYPES = b"+-:_,#("
BLOB_TYPES = b"$!="


class ProtocolError(Exception):
    """The server sent bytes that are not valid RESP."""


class ConnectionClosed(Exception):
    """The connection was closed before a complete reply arrived."""

    def __init__(self, msg: str, partial: bytes = b""):
        super().__init__(msg)
        self.partial = partial


@dataclass
class Node:
    """One parsed RESP value.

    type:     the type byte as a one-character str ('+', '$', '*', ...)
    value:    scalars: bytes payload (None for nulls); for '$' / '!' / '='
              the payload bytes; for aggregates: list of child Nodes
              (maps and attributes: flattened k1, v1, k2, v2, ...)
    raw:      the exact bytes of this value (including any attribute)
    attribute: an attribute Node ('|') that preceded this value, if any
    """

    type: str
    value: Any
    raw: bytes
    attribute: Optional["Node"] = None

    # -- convenience -------------------------------------------------------
    @property
    def is_error(self) -> bool:
        return self.type in "-!"

    @property
    def is_null(self) -> bool:
        return self.type == "_" or (self.type in "$*" and self.value is None)

    @property
    def is_aggregate(self) -> bool:
        return self.type in "*%~>|" and self.value is not None

    def to_python(self) -> Any:
        """A plain Python value (errors become RespError instances)."""
        t = self.type
        if self.is_null:
            return None
        if t == "+":
            return self.value.decode("utf-8", "replace")
        if t in "-!":
            return RespError(self.value.decode("utf-8", "replace"))
        if t in ":(":
            return int(self.value)
        if t == ",":
            return float(self.value)
        if t == "#":
            return self.value == b"t"
        if t == "$":
            return self.value
        if t == "=":
            return self.value[4:]
        if t in "*>":
            return [c.to_python() for c in self.value]
        if t == "~":
            return [c.to_python() for c in self.value]
        if t in "%|":
            it = iter(self.value)
            out = []
            for k in it:
                v = next(it)
                out.append((k.to_python(), v.to_python()))
            return out
        raise ProtocolError("unknown type %r" % t)

    def shape(self) -> Any:
        """The type byte and, for aggregates, the shape of every child."""
        if self.is_aggregate:
            return (self.type, len(self.value), tuple(c.shape() for c in self.value))
        return (self.type,)

    def pretty(self, indent: int = 0) -> str:
        pad = "  " * indent
        if self.is_aggregate:
            head = "%s%s (%d elements)" % (pad, self.type, len(self.value))
            return "\n".join([head] + [c.pretty(indent + 1) for c in self.value])
        return pad + repr(self.raw)


class RespError(Exception):
    def __eq__(self, other):
        return isinstance(other, RespError) and str(self) == str(other)

    def __hash__(self):
        return hash(str(self))


# ---------------------------------------------------------------------------
# encoding


def _to_bytes(arg: Union[bytes, str, int, float]) -> bytes:
    if isinstance(arg, bytes):
        return arg
    if isinstance(arg, bytearray):
        return bytes(arg)
    if isinstance(arg, str):
        return arg.encode("utf-8")
    if isinstance(arg, (int, float)):
        return repr(arg).encode()
    raise TypeError("cannot encode %r" % (arg,))


def encode_command(args: Sequence[Union[bytes, str, int, float]]) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        b = _to_bytes(a)
        parts.append(b"$%d\r\n" % len(b))
        parts.append(b)
        parts.append(CRLF)
    return b"".join(parts)


# ---------------------------------------------------------------------------
# parsing


class _NeedMore(Exception):
    pass


def parse_one(buf: bytes, pos: int = 0) -> Tuple[Node, int]:
    """Parse one complete reply at buf[pos:]. Raises _NeedMore if incomplete."""
    start = pos
    attribute = None
    if pos < len(buf) and buf[pos:pos + 1] == b"|":
        attribute, pos = _parse_value(buf, pos)
    node, pos = _parse_value(buf, pos)
    if attribute is not None:
        node.attribute = attribute
        node.raw = buf[start:pos]
    return node, pos


def _readline(buf: bytes, pos: int) -> Tuple[bytes, int]:
    end = buf.find(CRLF, pos)
    if end < 0:
        raise _NeedMore()
    return buf[pos:end], end + 2


def _parse_int(line: bytes, what: str) -> int:
    try:
        if not line or line.strip() != line:
            raise ValueError
        return int(line)
    except ValueError:
        raise ProtocolError("invalid %s %r" % (what, line))


def _parse_value(buf: bytes, pos: int) -> Tuple[Node, int]:
    if pos >= len(buf):
        raise _NeedMore()
    start = pos
    t = buf[pos:pos + 1]
    line, pos = _readline(buf, pos + 1)
    ts = t.decode("latin-1")

    if t in (b"+", b"-"):
        return Node(ts, line, buf[start:pos]), pos
    if t == b":":
        _parse_int(line, "integer")
        return Node(ts, line, buf[start:pos]), pos
    if t == b"(":
        if not line or not line.lstrip(b"+-").isdigit():
            raise ProtocolError("invalid big number %r" % line)
        return Node(ts, line, buf[start:pos]), pos
    if t == b"_":
        if line != b"":
            raise ProtocolError("invalid null %r" % line)
        return Node(ts, None, buf[start:pos]), pos
    if t == b",":
        try:
            float(line)
        except ValueError:
            raise ProtocolError("invalid double %r" % line)
        return Node(ts, line, buf[start:pos]), pos
    if t == b"#":
        if line not in (b"t", b"f"):
            raise ProtocolError("invalid boolean %r" % line)
        return Node(ts, line, buf[start:pos]), pos

    if t in (b"$", b"!", b"="):
        if t == b"$" and line == b"?":
            # RESP3 streamed string: ;<len>\r\n<data>\r\n ... ;0\r\n
            chunks = []
            while True:
                if pos >= len(buf):
                    raise _NeedMore()
                if buf[pos:pos + 1] != b";":
                    raise ProtocolError("expected ';' in streamed string")
                l2, pos = _readline(buf, pos + 1)
                n = _parse_int(l2, "chunk length")
                if n == 0:
                    break
                if len(buf) < pos + n + 2:
                    raise _NeedMore()
                chunks.append(buf[pos:pos + n])
                if buf[pos + n:pos + n + 2] != CRLF:
                    raise ProtocolError("chunk not terminated by CRLF")
                pos += n + 2
            return Node(ts, b"".join(chunks), buf[start:pos]), pos
        n = _parse_int(line, "length")
        if n == -1 and t == b"$":
            return Node(ts, None, buf[start:pos]), pos
        if n < 0:
            raise ProtocolError("negative length %d for %r" % (n, t))
        if len(buf) < pos + n + 2:
            raise _NeedMore()
        payload = buf[pos:pos + n]
        if buf[pos + n:pos + n + 2] != CRLF:
            raise ProtocolError("bulk payload not terminated by CRLF")
        pos += n + 2
        if t == b"=" and (len(payload) < 4 or payload[3:4] != b":"):
            raise ProtocolError("verbatim string without 'xxx:' prefix")
        return Node(ts, payload, buf[start:pos]), pos

    if t in (b"*", b"%", b"~", b">", b"|"):
        if line == b"?":
            children = []
            while True:
                if pos >= len(buf):
                    raise _NeedMore()
                if buf[pos:pos + 3] == b".\r\n":
                    pos += 3
                    break
                c, pos = parse_one(buf, pos)
                children.append(c)
            return Node(ts, children, buf[start:pos]), pos
        n = _parse_int(line, "aggregate length")
        if n == -1 and t == b"*":
            return Node(ts, None, buf[start:pos]), pos
        if n < 0:
            raise ProtocolError("negative length %d for %r" % (n, t))
        count = n * 2 if t in (b"%", b"|") else n
        children = []
        for _ in range(count):
            c, pos = parse_one(buf, pos)
            children.append(c)
        return Node(ts, children, buf[start:pos]), pos

    raise ProtocolError("unknown RESP type byte %r at offset %d" % (t, start))


# ---------------------------------------------------------------------------
# connection


class RespConnection:
    """A blocking RESP connection with a bounded timeout on every read."""

    def __init__(self, host: str = "127.0.0.1", port: int = 6379, timeout: float = 10.0):
        self.host = host
        self.port = port
        self.timeout = timeout
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.closed = False

    # -- context manager ---------------------------------------------------
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
        self.closed = True

    # -- sending -----------------------------------------------------------
    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send_raw_chunked(self, data: bytes, chunk: int = 1, delay: float = 0.001) -> None:
        for i in range(0, len(data), chunk):
            self.sock.sendall(data[i:i + chunk])
            if delay:
                time.sleep(delay)

    def send_command(self, *args) -> None:
        self.sock.sendall(encode_command(args))

    # -- receiving ---------------------------------------------------------
    def _recv_more(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("timed out waiting for a complete reply; have %r" % self.buf[:200])
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            data = b""
        if not data:
            self.closed = True
            partial = self.buf
            raise ConnectionClosed("connection closed by server (partial reply: %r)" % partial[:200], partial)
        self.buf += data

    def read_reply(self, timeout: Optional[float] = None) -> Node:
        """Read exactly one complete reply (an attribute plus its value counts as one)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            if self.buf:
                try:
                    node, end = parse_one(self.buf, 0)
                except _NeedMore:
                    pass
                else:
                    self.buf = self.buf[end:]
                    return node
            self._recv_more(deadline)

    def execute(self, *args, timeout: Optional[float] = None) -> Node:
        self.send_command(*args)
        return self.read_reply(timeout)

    def call(self, *args) -> Any:
        """Execute and return a plain Python value."""
        return self.execute(*args).to_python()

    def read_until_close(self, timeout: float = 5.0) -> Tuple[bytes, bool]:
        """Read everything until the server closes the connection.

        Returns (data, closed): closed is False if the timeout expired first.
        A connection reset counts as closed.
        """
        deadline = time.monotonic() + timeout
        data, self.buf = self.buf, b""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return data, False
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return data, False
            except (ConnectionResetError, BrokenPipeError):
                self.closed = True
                return data, True
            if not chunk:
                self.closed = True
                return data, True
            data += chunk

    def read_available(self, wait: float = 0.2) -> bytes:
        """Read whatever arrives within `wait` seconds (the connection stays open)."""
        data, self.buf = self.buf, b""
        deadline = time.monotonic() + wait
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return data
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return data
            except ConnectionResetError:
                self.closed = True
                return data
            if not chunk:
                self.closed = True
                return data
            data += chunk


def parse_all(data: bytes) -> List[Node]:
    """Parse a byte string holding zero or more complete replies."""
    out = []
    pos = 0
    while pos < len(data):
        try:
            node, pos = parse_one(data, pos)
        except _NeedMore:
            raise ProtocolError("truncated reply at offset %d: %r" % (pos, data[pos:pos + 100]))
        out.append(node)
    return out
