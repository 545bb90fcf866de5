"""Seeded randomized differential test of the COMMAND family.

Thousands of random COMMAND GETKEYS / GETKEYSANDFLAGS / INFO / DOCS / LIST requests, built from the commands the
candidate implements (random case, random argument lists, unknown and malformed names), run on real Redis and on
the candidate; every reply must be byte-identical. Containers are asked for by full subcommand name only, since
Redis orders subcommands by its randomly seeded hash table.
"""

import random

import pytest

SEED = 7000
ROUNDS = 3000
WORDS = ["a", "b", "k", "0", "1", "2", "-1", "10", "x", "", "GET", "get", "EX", "PX", "NX", "KEEPTTL", "STORE",
         "KEYS", "LIMIT", "BY", "SAMPLES", "IDX", "LEN", "DB", "REPLACE", "ASYNC", "*", "a b", "\x00", "|"]
PATTERNS = ["*", "get*", "*set*", "config|*", "*|*", "[a-m]*", "?et", "*x", "incr*", "", "\\*", "object|???*"]
CATEGORIES = ["string", "keyspace", "read", "write", "fast", "slow", "admin", "dangerous", "connection", "STRING",
              "@string", "nosuch", ""]


def random_case(rng, text):
    return "".join(c.upper() if rng.random() < 0.5 else c for c in text)


def build_request(rng, top, subcommands):
    kind = rng.random()
    if kind < 0.45:
        # GETKEYS / GETKEYSANDFLAGS of a real (sub)command with random arguments
        name = rng.choice(top + [" ".join(s.split("|")) for s in subcommands])
        words = [random_case(rng, w) for w in name.split(" ")]
        words += [rng.choice(WORDS) for _ in range(rng.randint(0, 6))]
        if rng.random() < 0.05:
            words[0] = rng.choice(["nosuch", "", "get|x", "x" * 40])
        return ["COMMAND", rng.choice(["GETKEYS", "GETKEYSANDFLAGS", "getkeys"])] + words
    if kind < 0.7:
        names = []
        for _ in range(rng.randint(1, 4)):
            r = rng.random()
            if r < 0.6:
                names.append(random_case(rng, rng.choice(top)))
            elif r < 0.85:
                names.append(random_case(rng, rng.choice(subcommands)))
            else:
                names.append(rng.choice(["nosuch", "", "|", "get|", "config|", "config|get|x", "|get", "get|x"]))
        return ["COMMAND", rng.choice(["INFO", "DOCS"])] + names
    if kind < 0.95:
        request = ["COMMAND", "LIST"]
        for _ in range(rng.choice([1, 1, 1, 2])):
            if rng.random() < 0.5:
                request += ["FILTERBY", "PATTERN", rng.choice(PATTERNS)]
            else:
                request += ["FILTERBY", random_case(rng, "aclcat"), rng.choice(CATEGORIES)]
        if rng.random() < 0.1:
            request.append(rng.choice(["x", "FILTERBY"]))
        return request
    return ["COMMAND", rng.choice(["COUNT", "HELP", "FOO", "LIST", "INFO", "DOCS"]), rng.choice(WORDS)]


@pytest.mark.parametrize("proto", [2, 3])
def test_random_command_family(proto, reference_server, candidate_server):
    rng = random.Random(SEED + proto)
    ref = reference_server.connect()
    cand = candidate_server.connect()
    try:
        if proto == 3:
            ref.execute("HELLO", "3")
            cand.execute("HELLO", "3")
        listed = [n.decode() for n in cand.execute("COMMAND", "LIST").to_python()]
        containers = {n.split("|")[0] for n in listed if "|" in n}
        subcommands = [n for n in listed if "|" in n]
        top = [n for n in listed if "|" not in n and n not in containers]
        implemented = set(listed)
        mismatches = []
        for i in range(ROUNDS):
            request = build_request(rng, top, subcommands)
            r = ref.execute(*request)
            c = cand.execute(*request)
            if request[1] == "LIST" and not r.is_error:
                # Only commands the candidate implements, in any order.
                expected = sorted(n for n in r.to_python() if n.decode() in implemented)
                ok = not c.is_error and sorted(c.to_python()) == expected
            else:
                ok = r.raw == c.raw
            if not ok:
                mismatches.append("#%d %r\n  redis:     %r\n  candidate: %r" % (i, request, r.raw[:300], c.raw[:300]))
        assert not mismatches, "%d mismatches:\n%s" % (len(mismatches), "\n".join(mismatches[:20]))
    finally:
        ref.close()
        cand.close()
