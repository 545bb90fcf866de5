"""`tcp-keepalive`: the server turns on TCP keepalive for each client it accepts (300 s by default; 0 turns it
off), so that a peer that vanished without closing is dropped. Checked on real Redis and on the candidate by
reading the kernel's timer for the server's end of the connection from /proc/net/tcp: the keepalive timer
(kind 2) runs with about `tcp-keepalive` seconds left, and with 0 there is no timer on an idle connection."""

import os
import time

import pytest

from support.resp import RespConnection

TICKS = os.sysconf("SC_CLK_TCK")


def server_side_timer(server_port, client_port):
    """(timer kind, seconds left) of the server's socket of the connection from `client_port`, or None."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            next(f)
            for line in f:
                fields = line.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                remote_port = int(fields[2].rsplit(":", 1)[1], 16)
                if local_port == server_port and remote_port == client_port:
                    kind, when = fields[5].split(":")
                    return int(kind, 16), int(when, 16) / TICKS
    return None


def idle_timer(server, seconds_idle=0.3):
    """Opens a connection, makes one round trip, lets it go idle, and reads the server's timer for it."""
    conn = RespConnection(server.host, server.port, timeout=10)
    try:
        assert conn.execute("PING").raw == b"+PONG\r\n"
        client_port = conn.sock.getsockname()[1]
        time.sleep(seconds_idle)  # the reply's acknowledgement has come back: no retransmission timer left
        timer = server_side_timer(server.port, client_port)
        assert timer is not None, "the server's end of the connection is not in /proc/net/tcp"
        return timer
    finally:
        conn.close()


@pytest.mark.parametrize("which", ["reference", "candidate"])
def test_keepalive_follows_the_config(which, reference_server, candidate_server):
    server = reference_server if which == "reference" else candidate_server
    admin = RespConnection(server.host, server.port, timeout=10)
    try:
        assert admin.execute("CONFIG", "GET", "tcp-keepalive").raw == b"*2\r\n$13\r\ntcp-keepalive\r\n$3\r\n300\r\n"
        kind, left = idle_timer(server)
        assert kind == 2 and 290 <= left <= 300, (kind, left)

        assert admin.execute("CONFIG", "SET", "tcp-keepalive", "0").raw == b"+OK\r\n"
        kind, left = idle_timer(server)
        assert kind == 0, (kind, left)

        assert admin.execute("CONFIG", "SET", "tcp-keepalive", "45").raw == b"+OK\r\n"
        kind, left = idle_timer(server)
        assert kind == 2 and 40 <= left <= 45, (kind, left)
    finally:
        admin.execute("CONFIG", "SET", "tcp-keepalive", "300")
        admin.close()
