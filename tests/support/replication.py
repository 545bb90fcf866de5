"""Helpers of the replication tests (tests/replication): waiting, INFO replication, and comparing a replica's data with
its master's once it has caught up."""

import time

import pytest

from support.persistence import compare, info, snapshot

TIMEOUT = 30
# The databases the replication tests write to (their streams SELECT each).
DATABASES = [0, 1, 2, 5]


def wait_for(condition, what, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail("timed out waiting for " + what, pytrace=False)


def new_dir(tmp_path, name):
    directory = tmp_path / name
    directory.mkdir()
    return directory


def replication(server):
    """The server's INFO replication fields."""
    with server.connect() as c:
        return info(c, "replication")


def caught_up(master, replica):
    """The replica's link is up and its offset equals the master's."""
    master_offset = int(replication(master)["master_repl_offset"])
    fields = replication(replica)
    return fields.get("master_link_status") == "up" and int(fields["slave_repl_offset"]) == master_offset


def same_data(master, replica, databases=DATABASES):
    """Waits until the replica has caught up, then compares every key of `databases` on both."""
    wait_for(lambda: caught_up(master, replica), "%r to catch up with %r" % (replica, master))
    with master.connect() as m, replica.connect() as r:
        compare(snapshot(m, databases), snapshot(r, databases))
