"""Redis Sentinel around Swiftlet (or redis-server) instances, for tests/replication/test_sentinel.py.

* `sentinel_command()`: how to start a real Redis Sentinel here: `redis-sentinel`, else `redis-server --sentinel`
  (Debian's redis-server package; the `redis-sentinel` package only adds the link and a service), else None;
* `DataServer`: a Swiftlet or redis-server started from its own config file (so that CONFIG REWRITE, which Sentinel
  sends with every SLAVEOF, has a file to write), restartable on the same port after a `kill -9`;
* `Sentinel`: one redis-sentinel with its own config file, monitoring `mymaster`.

Every process runs in its own session with its log kept in the test's tmp_path, so that a failing test can show the
logs (`describe`), and every process is killed by `stop()` (the tests call it from a finalizer).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from typing import List, Optional

from .resp import ConnectionClosed, RespConnection, RespError
from .servers import candidate_argv, free_port, require_tool

MASTER_NAME = "mymaster"
START_TIMEOUT = 30.0


def sentinel_command() -> Optional[List[str]]:
    """The argv that starts a Sentinel, the config file path to go after its first word, or None if neither
    redis-sentinel nor redis-server exists."""
    path = shutil.which("redis-sentinel")
    if path is not None:
        return [path]
    path = shutil.which("redis-server")
    if path is not None:
        return [path, "--sentinel"]
    return None


def text(value):
    """bytes (and lists of them) as str."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list):
        return [text(v) for v in value]
    return value


def pairs(flat):
    """A flat [field, value, ...] reply as a dict of str."""
    flat = text(flat)
    return dict(zip(flat[::2], flat[1::2]))


class Process:
    """A server process with a log file in `directory`, started with `argv`, answering PING on `port`."""

    def __init__(self, name: str, directory, port: int):
        self.name = name
        self.directory = str(directory)
        os.makedirs(self.directory, exist_ok=True)
        self.port = port
        self.host = "127.0.0.1"
        self.proc: Optional[subprocess.Popen] = None
        self.starts = 0

    def __repr__(self):
        return "<%s 127.0.0.1:%d>" % (self.name, self.port)

    @property
    def logpath(self) -> str:
        return os.path.join(self.directory, "log-%d.txt" % self.starts)

    def argv(self) -> List[str]:
        raise NotImplementedError

    def start(self, timeout: float = START_TIMEOUT):
        self.starts += 1
        argv = self.argv()
        with open(self.logpath, "wb") as log:
            self.proc = subprocess.Popen(argv, cwd=self.directory, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited (%s) before answering PING: %s\n%s"
                                   % (self.name, self.proc.returncode, " ".join(argv), self.log()))
            try:
                with RespConnection(self.host, self.port, timeout=2.0) as c:
                    if c.execute("PING").raw == b"+PONG\r\n":
                        return self
            except (OSError, ConnectionClosed) as e:
                last = e
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("%s did not answer PING within %.0fs (%s)\n%s" % (self.name, timeout, last, self.log()))

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        """`kill -9`: no shutdown, no goodbye to anyone."""
        if self.alive():
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)

    def stop(self):
        if not self.alive():
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill9()

    def connect(self, timeout: float = 5.0) -> RespConnection:
        return RespConnection(self.host, self.port, timeout=timeout)

    def call(self, *args, timeout: float = 5.0):
        """One command on a fresh connection; the reply as plain Python (bulk strings as str); errors raise."""
        with self.connect(timeout) as c:
            c.send_command(*args)
            reply = c.read_reply().to_python()
        if isinstance(reply, RespError):
            raise reply
        return text(reply)

    def try_call(self, *args, timeout: float = 2.0):
        """As call, but None when the server cannot be reached or answers an error."""
        try:
            return self.call(*args, timeout=timeout)
        except Exception:
            return None

    def log(self, n: int = 6000, all_starts: bool = True) -> str:
        out = []
        for i in range(1, self.starts + 1) if all_starts else [self.starts]:
            path = os.path.join(self.directory, "log-%d.txt" % i)
            try:
                with open(path, "rb") as f:
                    data = f.read()[-n:].decode("utf-8", "replace")
            except OSError:
                data = "(no log)"
            out.append("---- %s log (start %d) ----\n%s" % (self.name, i, data))
        return "\n".join(out)

    def full_log(self) -> str:
        out = []
        for i in range(1, self.starts + 1):
            try:
                with open(os.path.join(self.directory, "log-%d.txt" % i), "rb") as f:
                    out.append(f.read().decode("utf-8", "replace"))
            except OSError:
                pass
        return "".join(out)


class DataServer(Process):
    """Swiftlet (`kind` "swiftlet": the candidate command, as the other suites start it) or redis-server ("redis"),
    started as `<server> <config file> [--port N ...]` so that CONFIG REWRITE works."""

    def __init__(self, kind: str, directory, replicaof=None, port: Optional[int] = None, extra=()):
        super().__init__("%s-%s" % (kind, os.path.basename(str(directory))), directory, port or free_port())
        self.kind = kind
        self.config_path = os.path.join(self.directory, "server.conf")
        lines = [
            "port %d" % self.port,
            "bind 127.0.0.1",
            'dir "%s"' % self.directory,
            'save ""',
            "appendonly no",
            "repl-diskless-sync-delay 0",
        ]
        if replicaof is not None:
            lines.append("replicaof %s %d" % (replicaof.host, replicaof.port))
        lines += list(extra)
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    def argv(self) -> List[str]:
        if self.kind == "redis":
            return [require_tool("redis-server"), self.config_path]
        argv = candidate_argv(self.port)
        return [argv[0], self.config_path] + argv[1:]

    def config_text(self) -> str:
        with open(self.config_path) as f:
            return f.read()

    def info(self, section="replication") -> dict:
        reply = self.call("INFO", section)
        return dict(line.split(":", 1) for line in reply.splitlines() if ":" in line and not line.startswith("#"))


class Sentinel(Process):
    def __init__(self, directory, master: DataServer, quorum: int = 2, down_after_ms: int = 1000,
                 failover_timeout_ms: int = 10000):
        super().__init__("sentinel-%s" % os.path.basename(str(directory)), directory, free_port())
        self.config_path = os.path.join(self.directory, "sentinel.conf")
        lines = [
            "port %d" % self.port,
            "bind 127.0.0.1",
            'dir "%s"' % self.directory,
            'logfile ""',
            "sentinel monitor %s %s %d %d" % (MASTER_NAME, master.host, master.port, quorum),
            "sentinel down-after-milliseconds %s %d" % (MASTER_NAME, down_after_ms),
            "sentinel failover-timeout %s %d" % (MASTER_NAME, failover_timeout_ms),
        ]
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    def argv(self) -> List[str]:
        command = sentinel_command()
        if command is None:
            raise RuntimeError("neither redis-sentinel nor redis-server is installed")
        return [command[0], self.config_path] + command[1:]

    def master_addr(self):
        reply = self.try_call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME)
        if not reply:
            return None
        return (reply[0], int(reply[1]))

    def replicas(self) -> List[dict]:
        return [pairs(r) for r in self.call("SENTINEL", "REPLICAS", MASTER_NAME)]

    def sentinels(self) -> List[dict]:
        return [pairs(r) for r in self.call("SENTINEL", "SENTINELS", MASTER_NAME)]

    def master(self) -> dict:
        return pairs(self.call("SENTINEL", "MASTER", MASTER_NAME))

    def events(self) -> List[str]:
        """The event lines of this sentinel's log (`+sdown`, `+failover-state-...`, ...)."""
        return [line for line in self.full_log().splitlines() if " +" in line or " -" in line]
