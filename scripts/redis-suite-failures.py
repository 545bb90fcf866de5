#!/usr/bin/env python3
"""Lists the failing tests of a Redis suite run (the per-unit logs of ../shared/tools/redis-suite.sh, whose folder
scripts/redis-suite prints) with the reason each failed: the unknown command it called, or the first line of its
error. The output is the markdown table docs/REDIS-SUITE.md keeps.

    python3 scripts/redis-suite-failures.py /tmp/redis-suite.XXXXXX
"""

import os
import re
import sys


def failures(log_path):
    """(test name, reason) for each [err] and [exception] of one unit's log, in the order they ran."""
    with open(log_path, errors="replace") as f:
        lines = f.read().splitlines()
    # The log repeats the failures in a summary after "The End"; read the first pass only.
    if "                   The End" in lines:
        lines = lines[: lines.index("                   The End")]
    out = []
    for i, line in enumerate(lines):
        m = re.match(r"^\[(err|exception)\]: (.*?)(?: in tests/.*)?$", line)
        if not m:
            continue
        block = []
        for following in lines[i + 1: i + 12]:
            if re.match(r"^\[(ok|err|exception|skip|ignore|TIMEOUT)\]", following):
                break
            block.append(following)
        text = "\n".join(block)
        unknown = re.search(r"unknown command '([^']*)'", text)
        if unknown:
            reason = "calls %s (not built)" % unknown.group(1).upper()
        elif "unknown command 'SYNC'" in text or "replication_stream" in text:
            reason = "reads the replication stream (SYNC, not built)"
        else:
            first = next((b.strip() for b in block if b.strip()), "")
            reason = first[:160].replace("|", "\\|")
        out.append((m.group(2).replace("|", "\\|"), reason))
    if any(l.startswith("[TIMEOUT]") for l in lines):
        stuck = next((l for l in lines if "(IN PROGRESS)" in l), "")
        name = stuck.split("(IN PROGRESS)")[-1].strip()
        out.append((name.replace("|", "\\|"), "hangs (the unit stops there)"))
    return out


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    folder = sys.argv[1]
    print("| unit | test | why it fails |")
    print("|---|---|---|")
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".log"):
            continue
        unit = name[: -len(".log")].replace("_", "/", 2 if name.startswith("unit_type_") else 1)
        for test, reason in failures(os.path.join(folder, name)):
            print("| %s | %s | %s |" % (unit, test, reason))
    return 0


if __name__ == "__main__":
    sys.exit(main())
