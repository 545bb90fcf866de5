"""COMMAND / COMMAND INFO / COMMAND DOCS / COMMAND LIST of every command the candidate implements, compared
byte for byte with real Redis, in RESP2 and RESP3.

Two differences are expected and normalised away: the candidate lists only the commands (and subcommands) it
implements, and Redis orders subcommands by its randomly seeded hash table, so subcommands are compared one by one
by name. Everything else (flags, ACL categories, tips, key specs, every docs field, map and set types, counts)
must be identical.
"""

import pytest

from support.resp import Node


def _text(node: Node) -> str:
    return node.value.decode()


def _pairs(node: Node):
    assert node.type in "%*", node
    return [(node.value[i], node.value[i + 1]) for i in range(0, len(node.value), 2)]


def _connect(server, proto):
    conn = server.connect()
    if proto == 3:
        conn.execute("HELLO", "3")
    return conn


def compare_info(ref: Node, cand: Node, where: str) -> None:
    """One COMMAND INFO entry (10 elements); subcommands matched by name."""
    assert cand.type == ref.type and len(cand.value) == len(ref.value) == 10, where
    for i in range(9):
        assert cand.value[i].raw == ref.value[i].raw, "%s: element %d\nredis:     %r\ncandidate: %r" % (
            where, i, ref.value[i].raw, cand.value[i].raw)
    ref_subs = {_text(s.value[0]): s for s in ref.value[9].value}
    cand_subs = {_text(s.value[0]): s for s in cand.value[9].value}
    assert set(cand_subs) <= set(ref_subs), "%s: subcommands Redis lacks: %s" % (where, set(cand_subs) - set(ref_subs))
    if not cand_subs:
        assert cand.value[9].raw == ref.value[9].raw or not ref_subs, where
    else:
        assert cand.value[9].type == ref.value[9].type, where
    if set(cand_subs) == set(ref_subs):
        assert len(cand.value[9].value) == len(ref.value[9].value), where
    for name, sub in cand_subs.items():
        compare_info(ref_subs[name], sub, "%s > %s" % (where, name))


def compare_docs(ref: Node, cand: Node, where: str) -> None:
    """One COMMAND DOCS entry (a map); subcommands matched by name."""
    assert cand.type == ref.type, where
    ref_fields = [(_text(k), v) for k, v in _pairs(ref)]
    cand_fields = [(_text(k), v) for k, v in _pairs(cand)]
    assert [k for k, _ in cand_fields] == [k for k, _ in ref_fields], where
    for (key, rv), (_, cv) in zip(ref_fields, cand_fields):
        if key != "subcommands":
            assert cv.raw == rv.raw, "%s: field %s\nredis:     %r\ncandidate: %r" % (where, key, rv.raw, cv.raw)
            continue
        ref_subs = {_text(k): v for k, v in _pairs(rv)}
        cand_subs = {_text(k): v for k, v in _pairs(cv)}
        assert set(cand_subs) <= set(ref_subs), where
        for name, sub in cand_subs.items():
            compare_docs(ref_subs[name], sub, "%s > %s" % (where, name))


def candidate_commands(candidate_server):
    conn = candidate_server.connect()
    try:
        return [n.decode() for n in conn.call("COMMAND", "LIST")]
    finally:
        conn.close()


@pytest.mark.parametrize("proto", [2, 3])
def test_info_and_docs_of_every_command(proto, reference_server, candidate_server):
    names = candidate_commands(candidate_server)
    assert "get" in names and "command|docs" in names
    ref = _connect(reference_server, proto)
    cand = _connect(candidate_server, proto)
    try:
        for name in names:
            r = ref.execute("COMMAND", "INFO", name)
            c = cand.execute("COMMAND", "INFO", name)
            assert r.value[0].type != "_" and r.value[0].value is not None, "Redis has no command %s" % name
            compare_info(r.value[0], c.value[0], "COMMAND INFO %s (RESP%d)" % (name, proto))
            r = ref.execute("COMMAND", "DOCS", name)
            c = cand.execute("COMMAND", "DOCS", name)
            assert r.type == c.type and len(r.value) == len(c.value) == 2, name
            assert r.value[0].raw == c.value[0].raw, name
            compare_docs(r.value[1], c.value[1], "COMMAND DOCS %s (RESP%d)" % (name, proto))
    finally:
        ref.close()
        cand.close()


@pytest.mark.parametrize("proto", [2, 3])
def test_command_and_docs_without_arguments(proto, reference_server, candidate_server):
    ref = _connect(reference_server, proto)
    cand = _connect(candidate_server, proto)
    try:
        top = [n for n in candidate_commands(candidate_server) if "|" not in n]
        assert cand.call("COMMAND", "COUNT") == len(top)
        for args in (("COMMAND",), ("COMMAND", "INFO")):
            entries = cand.execute(*args).value
            assert [_text(e.value[0]) for e in entries] == top
            for entry in entries:
                name = _text(entry.value[0])
                compare_info(ref.execute("COMMAND", "INFO", name).value[0], entry, "%s: %s" % (" ".join(args), name))
        docs = cand.execute("COMMAND", "DOCS")
        assert docs.type == ("%" if proto == 3 else "*")
        assert [_text(k) for k, _ in _pairs(docs)] == top
        for key, value in _pairs(docs):
            name = _text(key)
            compare_docs(ref.execute("COMMAND", "DOCS", name).value[1], value, "COMMAND DOCS: %s" % name)
    finally:
        ref.close()
        cand.close()


def test_list_filters_match_for_implemented_commands(reference_server, candidate_server):
    """COMMAND LIST FILTERBY gives Redis's answer restricted to the commands the candidate has."""
    implemented = set(candidate_commands(candidate_server))
    ref = reference_server.connect()
    cand = candidate_server.connect()
    try:
        filters = [("PATTERN", p) for p in ("*", "get*", "*|*", "config|*", "C*", "[a-d]*", "*e?", "nosuch")]
        filters += [("ACLCAT", c) for c in (
            "keyspace", "read", "write", "string", "admin", "fast", "slow", "dangerous", "connection", "STRING",
            "@string", "nosuch", "list", "hash", "set", "sortedset", "scripting", "pubsub", "blocking")]
        filters += [("MODULE", "nosuch")]
        for kind, arg in filters:
            expected = [n.decode() for n in ref.call("COMMAND", "LIST", "FILTERBY", kind, arg)]
            got = [n.decode() for n in cand.call("COMMAND", "LIST", "FILTERBY", kind, arg)]
            assert sorted(got) == sorted(n for n in expected if n in implemented), (kind, arg)
    finally:
        ref.close()
        cand.close()
