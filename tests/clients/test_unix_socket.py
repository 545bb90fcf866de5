"""`unixsocket` and `unixsocketperm`: the server listens on a Unix socket as well as on TCP, gives the socket file
the configured permissions, serves clients there as on TCP, and removes the file at shutdown. Run on real Redis
and on the candidate, each started with the same options, and compared."""

import os
import socket
import stat
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from support.servers import free_port, side_argv  # noqa: E402


def request(sock, *args):
    payload = b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)
    sock.sendall(payload)
    return sock.recv(65536)


def wait_for_unix_ping(path, proc, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the server exited"
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(2)
                s.connect(path)
                if request(s, b"PING") == b"+PONG\r\n":
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("no PONG on the unix socket")


def run_session(argv, path):
    """Starts a server, talks to it over the socket, shuts it down; returns what a test compares."""
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_unix_ping(path, proc)
        seen = {"mode": oct(stat.S_IMODE(os.stat(path).st_mode)), "is_socket": stat.S_ISSOCK(os.stat(path).st_mode)}
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(path)
            seen["set"] = request(s, b"SET", b"k", b"v")
            seen["get"] = request(s, b"GET", b"k")
            info = request(s, b"CLIENT", b"INFO").decode()
            fields = dict(f.split("=", 1) for f in info.split("\r\n")[1].split(" ") if "=" in f)
            seen["addr"], seen["laddr"] = fields["addr"], fields["laddr"]
            seen["shutdown"] = request(s, b"SHUTDOWN", b"NOSAVE")
        assert proc.wait(timeout=20) == 0
        seen["removed"] = not os.path.exists(path)
        return seen
    finally:
        if proc.poll() is None:
            proc.kill()


def test_unix_socket_matches_redis(tmp_path):
    results = {}
    for name in ("redis", "swiftlet"):
        path = str(tmp_path / ("%s.sock" % name))
        open(path, "w").close()  # a stale file from an earlier run is replaced
        port = free_port()
        options = ["--unixsocket", path, "--unixsocketperm", "700", "--dir", str(tmp_path)]
        seen = run_session(side_argv(name, port) + options, path)
        # The address fields name the socket's path: make them comparable.
        seen["addr"] = seen["addr"].replace(path, "PATH")
        seen["laddr"] = seen["laddr"].replace(path, "PATH")
        results[name] = seen
    assert results["swiftlet"] == results["redis"]
    assert results["redis"]["mode"] == "0o700" and results["redis"]["removed"]


@pytest.mark.parametrize("which", ["redis", "swiftlet"])
def test_unix_socket_that_cannot_be_opened_stops_the_server(which, tmp_path):
    path = str(tmp_path / "no-such-directory" / "s.sock")
    port = free_port()
    options = ["--unixsocket", path, "--dir", str(tmp_path)]
    result = subprocess.run(side_argv(which, port) + options, capture_output=True, timeout=30)
    assert result.returncode == 1
    assert b"Failed opening Unix socket" in result.stdout + result.stderr
