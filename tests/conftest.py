"""Pytest fixtures shared by every Python test suite of Swiftlet.

Entry point:  python3 -m pytest tests -q        (from the repository root)

Fixtures
  reference_server  a real redis-server (7.0) on a free 127.0.0.1 port
  candidate_server  the server under test: $SWIFTLET_SERVER_CMD, default
                    ".build/release/swiftlet-server --port {port}" (repo-relative)
  memcached_reference  a real memcached 1.6.18 on a free 127.0.0.1 port (default flags)
  memcached_candidate  the memcached front end under test: $SWIFTLET_MEMCACHED_CMD, default
                       ".build/release/swiftlet-memcached -p {port} -U 0 -l 127.0.0.1"
  memcached_factory    function-scoped: memcached_factory("reference"|"candidate", "-I", "2m")
                       starts a private server with extra flags; .pair(*flags) starts both;
                       all are killed when the test ends

All but memcached_factory are session-scoped, started lazily, and killed at session
end. A missing redis-server, memcached or candidate binary FAILS the tests that need
them (never skips).

To validate the harness itself, run the candidate as a second real Redis:
  SWIFTLET_SERVER_CMD="redis-server --port {port} --save '' --appendonly no" \\
      python3 -m pytest tests -q
and the memcached candidate as a second real memcached:
  SWIFTLET_MEMCACHED_CMD="memcached -u root -p {port} -U 0 -l 127.0.0.1" \\
      python3 -m pytest tests/differential/test_memcached_*.py tests/clients/test_memcached_clients.py -q
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from support.memcached import candidate_command as memcached_candidate_command  # noqa: E402
from support.memcached import start_memcached  # noqa: E402
from support.servers import (  # noqa: E402
    DEFAULT_CANDIDATE_CMD,
    ServerStartError,
    start_candidate,
    start_reference,
)


def pytest_report_header(config):
    return ["swiftlet candidate: %s" % os.environ.get("SWIFTLET_SERVER_CMD", DEFAULT_CANDIDATE_CMD),
            "swiftlet memcached candidate: %s" % memcached_candidate_command()]


def _start(starter):
    try:
        return starter()
    except ServerStartError as e:
        message = str(e)
    pytest.fail(message, pytrace=False)


@pytest.fixture(scope="session")
def reference_server():
    server = _start(start_reference)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def candidate_server():
    server = _start(start_candidate)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def memcached_reference():
    server = _start(lambda: start_memcached("reference"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def memcached_candidate():
    server = _start(lambda: start_memcached("candidate"))
    yield server
    server.stop()


class MemcachedFactory:
    """Private memcached-protocol servers with extra flags, stopped when the test ends."""

    def __init__(self):
        self.servers = []

    def __call__(self, side, *flags):
        server = _start(lambda: start_memcached(side, flags))
        self.servers.append(server)
        return server

    def pair(self, *flags):
        """(reference, candidate), both started with `flags`."""
        return self("reference", *flags), self("candidate", *flags)

    def stop(self):
        for server in self.servers:
            server.stop()
        self.servers = []


@pytest.fixture
def memcached_factory():
    factory = MemcachedFactory()
    yield factory
    factory.stop()
