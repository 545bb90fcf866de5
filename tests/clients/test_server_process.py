"""The server process itself: graceful shutdown on signals, startup errors, config files.

Runs against the candidate binary (the first word of $SWIFTLET_SERVER_CMD); the pid file test runs on real Redis as
well, for the same outcome.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from support.servers import candidate_argv, free_port, side_argv  # noqa: E402


def _argv(port, *extra):
    # A private `dir`: with the default save points the server saves dump.rdb on SIGTERM, as Redis does, and loads
    # one at startup; neither must touch the current directory (the repository).
    return candidate_argv(port) + ["--dir", tempfile.mkdtemp(prefix="swiftlet-process-")] + list(extra)


def _wait_ping(port, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return True
        except OSError:
            time.sleep(0.1)
    return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_shuts_down_gracefully(sig):
    port = free_port()
    proc = subprocess.Popen(_argv(port), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert _wait_ping(port)
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=20)
        assert proc.returncode == 0, out.decode(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()


def test_shutdown_command_exits_zero():
    port = free_port()
    proc = subprocess.Popen(_argv(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _wait_ping(port)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"SHUTDOWN NOSAVE\r\n")
            assert s.recv(16) == b""  # no reply: the connection just closes
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize("which", ["reference", "candidate"])
def test_pidfile_is_written_at_start_and_removed_at_shutdown(which, tmp_path):
    """`pidfile`: the process id and a newline while the server runs, gone after SHUTDOWN."""
    pidfile = tmp_path / "server.pid"
    port = free_port()
    argv = side_argv(which, port) + ["--dir", str(tmp_path), "--pidfile", str(pidfile)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _wait_ping(port)
        assert pidfile.read_text() == "%d\n" % proc.pid
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"CONFIG GET pidfile\r\n")
            assert s.recv(4096) == b"*2\r\n$7\r\npidfile\r\n$%d\r\n%s\r\n" % (len(str(pidfile)), str(pidfile).encode())
            s.sendall(b"SHUTDOWN NOSAVE\r\n")
            assert s.recv(16) == b""
        assert proc.wait(timeout=20) == 0
        assert not pidfile.exists()
    finally:
        if proc.poll() is None:
            proc.kill()


def _session_and_stdio(pid):
    """(session id, [targets of fds 0, 1, 2]) of a running process."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[3]), [os.readlink("/proc/%d/fd/%d" % (pid, fd)) for fd in (0, 1, 2)]


def _stop_daemon(port, pid, pidfile):
    """SHUTDOWN NOSAVE, then True once the process is gone (it is not our child: poll /proc) and the file too."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"SHUTDOWN NOSAVE\r\n")
            s.recv(16)
    except OSError:
        pass
    deadline = time.time() + 20
    while time.time() < deadline and os.path.exists("/proc/%d" % pid):
        time.sleep(0.05)
    gone = not os.path.exists("/proc/%d" % pid)
    if not gone:
        os.kill(pid, signal.SIGKILL)
    return gone and not os.path.exists(pidfile)


def _process_id(port):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"INFO server\r\n")
        reply = b""
        while not reply.endswith(b"\r\n\r\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
    return int(reply.split(b"process_id:")[1].split(b"\r\n")[0])


def _config_get(port, name):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"CONFIG GET %s\r\n" % name.encode())
        return s.recv(4096)


@pytest.mark.parametrize("which", ["reference", "candidate"])
def test_daemonize_returns_at_once_and_serves_from_a_new_session(which, tmp_path):
    """`daemonize yes`: the command exits 0 while the server goes on in its own session with standard input,
    output and error on /dev/null (Redis's fork, setsid and dup2), writing its pid file; SHUTDOWN ends it."""
    pidfile = tmp_path / "daemon.pid"
    port = free_port()
    argv = side_argv(which, port) + ["--dir", str(tmp_path), "--pidfile", str(pidfile), "--daemonize", "yes"]
    started = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert started.returncode == 0
    assert _wait_ping(port)
    pid = _process_id(port)
    try:
        assert pidfile.read_text() == "%d\n" % pid
        session, stdio = _session_and_stdio(pid)
        assert session == pid
        assert stdio == ["/dev/null"] * 3
        assert _config_get(port, "daemonize") == b"*2\r\n$9\r\ndaemonize\r\n$3\r\nyes\r\n"
    finally:
        assert _stop_daemon(port, pid, pidfile)


@pytest.mark.parametrize("which", ["reference", "candidate"])
def test_daemonize_without_pidfile_writes_redis_default_one(which, tmp_path):
    """A daemon always has a pid file: without `pidfile` it is Redis's /var/run/redis.pid, as CONFIG GET shows."""
    default = "/var/run/redis.pid"
    if os.path.exists(default):
        pytest.skip("%s exists (another daemon's)" % default)
    port = free_port()
    argv = side_argv(which, port) + ["--dir", str(tmp_path), "--daemonize", "yes"]
    assert subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60).returncode == 0
    assert _wait_ping(port)
    pid = _process_id(port)
    try:
        reply = _config_get(port, "pidfile")
        assert reply == b"*2\r\n$7\r\npidfile\r\n$%d\r\n%s\r\n" % (len(default), default.encode())
        if os.access(os.path.dirname(default), os.W_OK):
            # (Without root the file cannot be written, which both servers log and go on.)
            assert open(default).read() == "%d\n" % pid
    finally:
        assert _stop_daemon(port, pid, default)


@pytest.mark.parametrize("which", ["reference", "candidate"])
def test_tcp_backlog_is_the_listen_queue_of_both_sockets(which, tmp_path):
    """`tcp-backlog`: the queue length passed to listen() for TCP and the Unix socket, as `ss` shows it."""
    if shutil.which("ss") is None:
        pytest.skip("needs ss (iproute2)")
    sock = tmp_path / "backlog.sock"
    port = free_port()
    argv = side_argv(which, port) + ["--dir", str(tmp_path), "--tcp-backlog", "100", "--unixsocket", str(sock)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _wait_ping(port)
        tcp = subprocess.run(["ss", "-ltnH", "sport = :%d" % port], capture_output=True, text=True).stdout.split()
        assert tcp[0] == "LISTEN" and tcp[2] == "100", tcp
        unix = subprocess.run(["ss", "-lxH", "src %s" % sock], capture_output=True, text=True).stdout.split()
        assert unix[1] == "LISTEN" and unix[3] == "100", unix
    finally:
        proc.kill()
        proc.wait(timeout=20)


def test_unknown_directive_is_a_startup_error_naming_the_line(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("port 1234\nno-such-directive yes\n")
    argv = candidate_argv(free_port())
    result = subprocess.run([argv[0], str(conf)], capture_output=True, timeout=30)
    text = (result.stdout + result.stderr).decode()
    assert result.returncode == 1
    assert "at line 2" in text
    assert ">>> 'no-such-directive yes'" in text
    assert "Bad directive or wrong number of arguments" in text


def test_port_in_use_fails_to_start():
    port = free_port()
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("127.0.0.1", port))
    holder.listen()
    try:
        result = subprocess.run(_argv(port, "--bind", "127.0.0.1"), capture_output=True, timeout=30)
        assert result.returncode != 0
        assert b"Failed listening on port" in result.stdout + result.stderr
    finally:
        holder.close()


def test_config_file_and_rewrite(tmp_path):
    port = free_port()
    conf = tmp_path / "s.conf"
    conf.write_text("# my settings\nport %d\nmaxmemory 10mb\n" % port)
    argv = candidate_argv(port)
    proc = subprocess.Popen([argv[0], str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            cwd=str(tmp_path))
    try:
        assert _wait_ping(port)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"CONFIG SET maxmemory 20mb\r\nCONFIG SET hz 20\r\nCONFIG REWRITE\r\n")
            data = b""
            while data.count(b"\r\n") < 3:
                data += s.recv(1024)
            assert data == b"+OK\r\n+OK\r\n+OK\r\n"
        text = conf.read_text()
        assert text.startswith("# my settings\nport %d\nmaxmemory 20mb\n" % port)
        assert "# Generated by CONFIG REWRITE\nhz 20\n" in text
    finally:
        proc.kill()
        proc.wait()
