"""Differential tests: every scripts/*.txt runs against real Redis and the candidate.

See tests/support/script.py for the script format. Each script is one test;
on failure the report lists script name, line number, command and both replies.
"""

import glob
import os

import pytest

from support.script import load_script, run_script

SCRIPT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scripts")
SCRIPTS = sorted(glob.glob(os.path.join(SCRIPT_DIR, "*.txt")))


def test_scripts_exist():
    assert SCRIPTS, "no differential scripts found in %s" % SCRIPT_DIR


@pytest.mark.parametrize("path", SCRIPTS, ids=[os.path.basename(p)[:-4] for p in SCRIPTS])
def test_script(path, reference_server, candidate_server):
    name = os.path.basename(path)
    steps = load_script(path)
    result = run_script(name, steps,
                        (reference_server.host, reference_server.port),
                        (candidate_server.host, candidate_server.port))
    if not candidate_server.alive():
        pytest.fail(result.report() + "\ncandidate server died; log tail:\n" + candidate_server.log_tail(),
                    pytrace=False)
    if not result.ok:
        pytest.fail(result.report(), pytrace=False)
