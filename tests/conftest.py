"""Pytest fixtures shared by every Python test suite of Swiftlet.

Entry point:  python3 -m pytest tests -q        (from the repository root)

Fixtures
  reference_server  a real redis-server (7.0) on a free 127.0.0.1 port
  candidate_server  the server under test: $SWIFTLET_SERVER_CMD, default
                    ".build/release/swiftlet-server --port {port}" (repo-relative)

Both are session-scoped, started lazily, and killed at session end. A missing
redis-server or candidate binary FAILS the tests that need them (never skips).

To validate the harness itself, run the candidate as a second real Redis:
  SWIFTLET_SERVER_CMD="redis-server --port {port} --save '' --appendonly no" \\
      python3 -m pytest tests -q
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from support.servers import (  # noqa: E402
    DEFAULT_CANDIDATE_CMD,
    ServerStartError,
    start_candidate,
    start_reference,
)


def pytest_report_header(config):
    return "swiftlet candidate: %s" % os.environ.get("SWIFTLET_SERVER_CMD", DEFAULT_CANDIDATE_CMD)


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
