"""Start and stop the servers under test.

* the reference: a real ``redis-server`` (Redis 7.0) on a free 127.0.0.1 port;
* the candidate: the command in ``$SWIFTLET_SERVER_CMD`` (default
  ``.build/release/swiftlet-server --port {port}``, relative to the repo root),
  with ``{port}`` replaced by a free port.

Both are started in a private temporary directory (so dump files never land
in the repo), must answer PING within 60 s, and are killed at session end.
"""

from __future__ import annotations

import atexit
import os
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from typing import List, Optional

from .resp import ConnectionClosed, RespConnection

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_CANDIDATE_CMD = ".build/release/swiftlet-server --port {port}"
INSTALL_HINT = "apt-get install -y redis-server redis-tools"
START_TIMEOUT = 60.0


class ServerStartError(Exception):
    pass


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port free on 127.0.0.1 for TCP (or, with kind=socket.SOCK_DGRAM, UDP)."""
    s = socket.socket(socket.AF_INET, kind)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def spawn(argv_template: List[str], timeout: float = 60.0):
    """A bare server from `argv_template` ({port} replaced by a free port) outside the session fixtures, for
    measurements that need a fresh process: returns (process, connection) once it answers PING; the caller kills it."""
    port = free_port()
    proc = subprocess.Popen([a.replace("{port}", str(port)) for a in argv_template], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, cwd="/tmp")
    for _ in range(100):
        try:
            conn = RespConnection("127.0.0.1", port, timeout=timeout)
            conn.execute("PING")
            break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise ServerStartError("server %r did not answer PING" % argv_template[0])
    time.sleep(0.3)
    return proc, conn


def rss_bytes(pid: int) -> int:
    """Resident set size of a process (VmRSS), in bytes; 0 if it is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def require_tool(name: str) -> str:
    """Absolute path of a Redis tool, or raise with the one-line install hint."""
    path = shutil.which(name)
    if path is None:
        raise ServerStartError("%s not found on PATH; install it: %s" % (name, INSTALL_HINT))
    return path


_STARTED = []


@atexit.register
def _stop_all():
    # safety net: fixtures stop their servers, but never leave one behind
    for server in list(_STARTED):
        try:
            server.stop()
        except Exception:
            pass


class ServerProcess:
    def __init__(self, name: str, argv: List[str], port: int, host: str = "127.0.0.1"):
        self.name = name
        self.argv = argv
        self.port = port
        self.host = host
        self.workdir = tempfile.mkdtemp(prefix="swiftlet-test-%s-" % name)
        self.logpath = os.path.join(self.workdir, "server.log")
        self.proc: Optional[subprocess.Popen] = None

    def __repr__(self):
        return "<%s %s:%d>" % (self.name, self.host, self.port)

    @property
    def address(self) -> str:
        return "%s:%d" % (self.host, self.port)

    def log_tail(self, n: int = 4000) -> str:
        try:
            with open(self.logpath, "rb") as f:
                data = f.read()
            return data[-n:].decode("utf-8", "replace")
        except OSError:
            return "(no log)"

    def start(self, timeout: float = START_TIMEOUT) -> "ServerProcess":
        logf = open(self.logpath, "wb")
        try:
            self.proc = subprocess.Popen(
                self.argv,
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=logf,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
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
                raise ServerStartError(
                    "%s exited with status %s before answering PING\ncommand: %s\nlog:\n%s"
                    % (self.name, rc, shlex.join(self.argv), self.log_tail())
                )
            try:
                with RespConnection(self.host, self.port, timeout=2.0) as c:
                    reply = c.execute("PING")
                    if reply.raw == b"+PONG\r\n":
                        return self
                    last_err = "PING replied %r" % reply.raw
            except (OSError, ConnectionClosed) as e:
                last_err = str(e)
            time.sleep(0.1)
        self.stop()
        raise ServerStartError(
            "%s did not answer PING within %.0fs (last error: %s)\ncommand: %s\nlog:\n%s"
            % (self.name, timeout, last_err, shlex.join(self.argv), self.log_tail())
        )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is None:
            return
        if self in _STARTED:
            _STARTED.remove(self)
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    self.proc.kill()
                self.proc.wait(timeout=5)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def connect(self, timeout: float = 10.0) -> RespConnection:
        return RespConnection(self.host, self.port, timeout=timeout)


def reference_argv(port: int) -> List[str]:
    """The real redis-server on `port`, loopback only, without persistence."""
    return [require_tool("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--daemonize", "no"]


def side_argv(which: str, port: int) -> List[str]:
    """`reference`/`redis` or `candidate`/`swiftlet`: the argv of that server on `port`, for tests that start
    their own processes of both (options that cannot be changed at run time)."""
    return reference_argv(port) if which in ("reference", "redis") else candidate_argv(port)


def start_reference() -> ServerProcess:
    port = free_port()
    return ServerProcess("redis", reference_argv(port), port).start()


def candidate_argv(port: int, cmd: Optional[str] = None) -> List[str]:
    cmd = cmd if cmd is not None else os.environ.get("SWIFTLET_SERVER_CMD", DEFAULT_CANDIDATE_CMD)
    argv = shlex.split(cmd.replace("{port}", str(port)))
    if not argv:
        raise ServerStartError("SWIFTLET_SERVER_CMD is empty")
    exe = argv[0]
    if os.sep in exe:
        path = exe if os.path.isabs(exe) else os.path.join(REPO_ROOT, exe)
        if not os.path.isfile(path):
            raise ServerStartError(
                "candidate server binary not found: %s\n"
                "build it first (swift build -c release) or set SWIFTLET_SERVER_CMD, e.g.\n"
                "  SWIFTLET_SERVER_CMD=\"redis-server --port {port} --save '' --appendonly no\"" % path
            )
        argv[0] = os.path.abspath(path)
    else:
        found = shutil.which(exe)
        if found is None:
            raise ServerStartError("candidate server command not found on PATH: %r (from SWIFTLET_SERVER_CMD)" % exe)
        argv[0] = found
    if "{port}" not in cmd:
        # make sure the chosen port is used even when the template forgot {port}
        argv += ["--port", str(port)]
    return argv


def start_candidate() -> ServerProcess:
    port = free_port()
    return ServerProcess("candidate", candidate_argv(port), port).start()
