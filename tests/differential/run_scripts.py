#!/usr/bin/env python3
"""Run differential scripts by hand against servers that are already running.

  # compare two servers
  python3 tests/differential/run_scripts.py --ref 127.0.0.1:6379 --cand 127.0.0.1:6380 [script.txt ...]
  # print what one server replies (handy while writing scripts)
  python3 tests/differential/run_scripts.py --show 127.0.0.1:6379 scripts/strings.txt

With no script arguments, every tests/differential/scripts/*.txt is used.
Warning: this sends FLUSHALL to the servers.
"""

import argparse
import glob
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from support.script import load_script, run_script, show_script  # noqa: E402


def addr(s):
    host, _, port = s.rpartition(":")
    return (host or "127.0.0.1", int(port))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ref", type=addr, help="reference server host:port")
    ap.add_argument("--cand", type=addr, help="candidate server host:port")
    ap.add_argument("--show", type=addr, help="print the replies of this one server")
    ap.add_argument("scripts", nargs="*")
    a = ap.parse_args()
    paths = a.scripts or sorted(glob.glob(os.path.join(HERE, "scripts", "*.txt")))
    if a.show:
        for p in paths:
            print("=== %s" % os.path.basename(p))
            print(show_script(os.path.basename(p), load_script(p), a.show))
        return 0
    if not (a.ref and a.cand):
        ap.error("give --ref and --cand, or --show")
    failed = 0
    for p in paths:
        res = run_script(os.path.basename(p), load_script(p), a.ref, a.cand)
        print(("PASS %s (%d commands)" % (os.path.basename(p), res.commands)) if res.ok else res.report())
        failed += not res.ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
