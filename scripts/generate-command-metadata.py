#!/usr/bin/env python3
"""Generate Swiftlet's command metadata from a real redis-server 7.0.

Queries `COMMAND INFO` and `COMMAND DOCS` (over RESP3, so maps and sets keep their types) for every command of a
real Redis 7.0 and writes:

  Sources/SwiftletEngine/Dispatch/Generated/CommandMetadata.swift
      ACL categories, tips, key specifications and the documentation tree (summary, since, complexity, doc flags,
      deprecation, history, arguments) of every command and subcommand, keyed by full name (`get`,
      `config|get`). Only data: COMMAND INFO / COMMAND DOCS render it with RESPReplyWriter at run time, so RESP2 and
      RESP3 both work. Name, arity, flags, legacy key positions and group come from Swiftlet's own CommandSpec.

  Tests/SwiftletEngineTests/Fixtures/command-info.json
      The snapshot that guards Swiftlet's CommandSpec table: name, arity, flags, first/last/step and group of every
      command and subcommand.

Usage (from the repository root; starts its own redis-server on a free port unless --port is given):

    python3 scripts/generate-command-metadata.py [--host 127.0.0.1 --port 6379]

The outputs are committed; CI never regenerates them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO_ROOT, "tests"))

from support.resp import Node, RespConnection  # noqa: E402
from support.servers import start_reference  # noqa: E402

SWIFT_OUT = os.path.join(REPO_ROOT, "Sources/SwiftletEngine/Dispatch/Generated/CommandMetadata.swift")
JSON_OUT = os.path.join(REPO_ROOT, "Tests/SwiftletEngineTests/Fixtures/command-info.json")

# The names and orders Redis 7.0 prints (server.c / acl.c); the Swift option sets declare the same orders.
ACL_CATEGORIES = [
    "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap", "hyperloglog", "geo",
    "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous", "connection", "transaction", "scripting",
]
KEY_FLAGS = ["RO", "RW", "OW", "RM", "access", "update", "insert", "delete", "not_key", "incomplete", "variable_flags"]
KEY_FLAG_SWIFT = {
    "RO": "ro", "RW": "rw", "OW": "ow", "RM": "rm", "access": "access", "update": "update", "insert": "insert",
    "delete": "delete", "not_key": "notKey", "incomplete": "incomplete", "variable_flags": "variableFlags",
}
DOC_FLAGS = ["deprecated", "syscmd"]
ARG_FLAGS = ["optional", "multiple", "multiple_token"]
ARG_FLAG_SWIFT = {"optional": "optional", "multiple": "multiple", "multiple_token": "multipleToken"}
ARG_TYPES = {
    "string": "string", "integer": "integer", "double": "double", "key": "key", "pattern": "pattern",
    "unix-time": "unixTime", "pure-token": "pureToken", "oneof": "oneOf", "block": "block",
}


# ---------------------------------------------------------------------------------------------------------------
# Reading the RESP3 tree


def text(node: Node) -> str:
    assert node.type in "$+", node
    return node.value.decode("utf-8")


def integer(node: Node) -> int:
    assert node.type == ":", node
    return int(node.value)


def pairs(node: Node):
    assert node.type == "%", node
    return [(text(node.value[i]), node.value[i + 1]) for i in range(0, len(node.value), 2)]


def names(node: Node, kind: str = "~", element: str = "+"):
    assert node.type == kind, node
    for n in node.value:
        assert n.type == element, n
    return [text(n) for n in node.value]


def ordered(values, order, what):
    for v in values:
        assert v in order, "unknown %s %r" % (what, v)
    assert values == [o for o in order if o in values], "%s not in Redis's order: %r" % (what, values)
    return values


def parse_key_spec(node: Node) -> dict:
    spec = dict(pairs(node))
    keys = [k for k, _ in pairs(node)]
    assert keys in (["flags", "begin_search", "find_keys"], ["notes", "flags", "begin_search", "find_keys"]), keys
    out = {"notes": text(spec["notes"]) if "notes" in spec else None}
    out["flags"] = ordered(names(spec["flags"]), KEY_FLAGS, "key spec flag")
    bs = dict(pairs(spec["begin_search"]))
    bs_spec = pairs(bs["spec"])
    kind = text(bs["type"])
    if kind == "index":
        assert [k for k, _ in bs_spec] == ["index"]
        out["begin"] = ("index", integer(bs_spec[0][1]))
    elif kind == "keyword":
        assert [k for k, _ in bs_spec] == ["keyword", "startfrom"]
        out["begin"] = ("keyword", text(bs_spec[0][1]), integer(bs_spec[1][1]))
    else:
        assert kind == "unknown" and not bs_spec, kind
        out["begin"] = ("unknown",)
    fk = dict(pairs(spec["find_keys"]))
    fk_spec = pairs(fk["spec"])
    kind = text(fk["type"])
    if kind == "range":
        assert [k for k, _ in fk_spec] == ["lastkey", "keystep", "limit"]
        out["find"] = ("range",) + tuple(integer(v) for _, v in fk_spec)
    elif kind == "keynum":
        assert [k for k, _ in fk_spec] == ["keynumidx", "firstkey", "keystep"]
        out["find"] = ("keynum",) + tuple(integer(v) for _, v in fk_spec)
    else:
        assert kind == "unknown" and not fk_spec, kind
        out["find"] = ("unknown",)
    return out


def parse_info(node: Node) -> dict:
    """One COMMAND INFO entry (and its subcommands, recursively)."""
    assert node.type == "*" and len(node.value) == 10, node
    v = node.value
    subs = [] if v[9].type == "~" and not v[9].value else [parse_info(s) for s in v[9].value]
    return {
        "name": text(v[0]),
        "arity": integer(v[1]),
        "flags": names(v[2]),
        "first": integer(v[3]),
        "last": integer(v[4]),
        "step": integer(v[5]),
        "acl": [c[1:] for c in ordered(names(v[6]), ["@" + c for c in ACL_CATEGORIES], "ACL category")],
        "tips": names(v[7], "~", "$"),
        "key_specs": [parse_key_spec(s) for s in (v[8].value if v[8].type == "~" else [])],
        "subcommands": subs,
    }


ARG_KEYS = ["name", "type", "key_spec_index", "token", "summary", "since", "deprecated_since", "flags", "arguments"]


def parse_argument(node: Node) -> dict:
    items = pairs(node)
    keys = [k for k, _ in items]
    assert keys == [k for k in ARG_KEYS if k in keys], keys
    a = dict(items)
    out = {
        "name": text(a["name"]),
        "type": text(a["type"]),
        "key_spec_index": integer(a["key_spec_index"]) if "key_spec_index" in a else -1,
        "flags": ordered(names(a["flags"]), ARG_FLAGS, "argument flag") if "flags" in a else [],
        "arguments": [parse_argument(s) for s in a["arguments"].value] if "arguments" in a else None,
    }
    for k in ("token", "summary", "since", "deprecated_since"):
        out[k] = text(a[k]) if k in a else None
    assert out["type"] in ARG_TYPES, out["type"]
    assert (out["arguments"] is not None) == (out["type"] in ("oneof", "block")), out
    return out


DOC_KEYS = [
    "summary", "since", "group", "complexity", "module", "doc_flags", "deprecated_since", "replaced_by", "history",
    "arguments", "subcommands",
]


def parse_docs(name: str, node: Node, out: dict) -> None:
    """One COMMAND DOCS entry; subcommands are stored under their own full names."""
    items = pairs(node)
    keys = [k for k, _ in items]
    assert keys == [k for k in DOC_KEYS if k in keys] and "module" not in keys, keys
    d = dict(items)
    entry = {k: (text(d[k]) if k in d else None) for k in ("summary", "since", "group", "complexity",
                                                           "deprecated_since", "replaced_by")}
    entry["doc_flags"] = ordered(names(d["doc_flags"]), DOC_FLAGS, "doc flag") if "doc_flags" in d else []
    if "history" in d:
        assert d["history"].type == "~"
        entry["history"] = []
        for h in d["history"].value:
            assert h.type == "*" and len(h.value) == 2
            entry["history"].append((text(h.value[0]), text(h.value[1])))
    else:
        entry["history"] = None
    entry["arguments"] = [parse_argument(a) for a in d["arguments"].value] if "arguments" in d else None
    out[name] = entry
    if "subcommands" in d:
        for sub_name, sub in pairs(d["subcommands"]):
            parse_docs(sub_name, sub, out)


# ---------------------------------------------------------------------------------------------------------------
# Writing Swift


def swift_string(s: str) -> str:
    out = []
    for ch in s:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20:
            out.append("\\u{%x}" % ord(ch))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def swift_optional(s) -> str:
    return "nil" if s is None else swift_string(s)


def swift_set(values, mapping=None) -> str:
    return "[" + ", ".join("." + (mapping[v] if mapping else v) for v in values) + "]"


def swift_key_spec(k: dict) -> str:
    begin = k["begin"]
    if begin[0] == "index":
        b = ".index(%d)" % begin[1]
    elif begin[0] == "keyword":
        b = ".keyword(%s, startFrom: %d)" % (swift_string(begin[1]), begin[2])
    else:
        b = ".unknown"
    find = k["find"]
    if find[0] == "range":
        f = ".range(lastKey: %d, keyStep: %d, limit: %d)" % find[1:]
    elif find[0] == "keynum":
        f = ".keyNum(index: %d, firstKey: %d, keyStep: %d)" % find[1:]
    else:
        f = ".unknown"
    notes = "" if k["notes"] is None else ", notes: " + swift_string(k["notes"])
    return "KeySpec(%s, %s, %s%s)" % (swift_set(k["flags"], KEY_FLAG_SWIFT), b, f, notes)


def swift_argument(a: dict, indent: str) -> str:
    parts = [swift_string(a["name"]), "." + ARG_TYPES[a["type"]]]
    if a["key_spec_index"] >= 0:
        parts.append("keySpec: %d" % a["key_spec_index"])
    for key, label in (("token", "token"), ("summary", "summary"), ("since", "since"),
                       ("deprecated_since", "deprecatedSince")):
        if a[key] is not None:
            parts.append("%s: %s" % (label, swift_string(a[key])))
    if a["flags"]:
        parts.append("flags: " + swift_set(a["flags"], ARG_FLAG_SWIFT))
    if a["arguments"] is None:
        return "Arg(%s)" % ", ".join(parts)
    inner = indent + "    "
    children = ",\n".join(inner + swift_argument(c, inner) for c in a["arguments"])
    return "Arg(%s, arguments: [\n%s,\n%s])" % (", ".join(parts), children, indent)


def swift_entry(name: str, info: dict, docs: dict) -> str:
    lines = ["        d[%s] = CommandMetadata(" % swift_string(name)]
    fields = []
    if info["acl"]:
        fields.append("acl: " + swift_set(info["acl"]))
    if info["tips"]:
        fields.append("tips: [" + ", ".join(swift_string(t) for t in info["tips"]) + "]")
    if info["key_specs"]:
        fields.append("keySpecs: [" + ", ".join(swift_key_spec(k) for k in info["key_specs"]) + "]")
    for key, label in (("summary", "summary"), ("since", "since"), ("complexity", "complexity")):
        if docs[key] is not None:
            fields.append("%s: %s" % (label, swift_string(docs[key])))
    if docs["doc_flags"]:
        fields.append("docFlags: " + swift_set(docs["doc_flags"]))
    for key, label in (("deprecated_since", "deprecatedSince"), ("replaced_by", "replacedBy")):
        if docs[key] is not None:
            fields.append("%s: %s" % (label, swift_string(docs[key])))
    if docs["history"] is not None:
        fields.append("history: [" + ", ".join("(%s, %s)" % (swift_string(v), swift_string(c))
                                               for v, c in docs["history"]) + "]")
    if docs["arguments"] is not None:
        indent = "            "
        args = ",\n".join(indent + "    " + swift_argument(a, indent + "    ") for a in docs["arguments"])
        fields.append("arguments: [\n%s,\n%s]" % (args, indent) if docs["arguments"] else "arguments: []")
    lines.append(",\n".join("            " + f for f in fields))
    lines.append("        )")
    return "\n".join(lines)


HEADER = """\
// Generated by scripts/generate-command-metadata.py from redis-server {version}. Do not edit by hand.
//
// What Redis 7.0 reports about each command beyond Swiftlet's CommandSpec (name, arity, flags, key positions and
// group): ACL categories, tips, key specifications and the COMMAND DOCS tree, keyed by full name.

// swift-format-ignore-file

extension CommandMetadata {{
    private typealias Arg = CommandArgument

    /// Every command and subcommand of Redis {version}, by full name (`get`, `config|get`).
    static let all: [String: CommandMetadata] = {{
        var d: [String: CommandMetadata] = [:]
        d.reserveCapacity({count})
{calls}
        return d
    }}()
"""

CHUNK = 24


def write_swift(version: str, infos: dict, docs: dict) -> None:
    names_sorted = sorted(infos)
    chunks = [names_sorted[i:i + CHUNK] for i in range(0, len(names_sorted), CHUNK)]
    calls = "\n".join("        part%d(&d)" % i for i in range(len(chunks)))
    out = [HEADER.format(version=version, count=len(names_sorted), calls=calls)]
    # Small functions keep the type checker and the optimizer fast on this much literal data.
    for i, chunk in enumerate(chunks):
        out.append("")
        out.append("    private static func part%d(_ d: inout [String: CommandMetadata]) {" % i)
        for name in chunk:
            out.append(swift_entry(name, infos[name], docs[name]))
        out.append("    }")
    out.append("}")
    os.makedirs(os.path.dirname(SWIFT_OUT), exist_ok=True)
    with open(SWIFT_OUT, "w") as f:
        f.write("\n".join(out) + "\n")


def write_json(version: str, infos: dict, docs: dict) -> None:
    rows = []
    for name in sorted(infos):
        i = infos[name]
        rows.append({
            "name": name, "arity": i["arity"], "flags": i["flags"], "first": i["first"], "last": i["last"],
            "step": i["step"], "group": docs[name]["group"],
        })
    os.makedirs(os.path.dirname(JSON_OUT), exist_ok=True)
    with open(JSON_OUT, "w") as f:
        f.write('{\n  "redis_version": %s,\n  "commands": [\n' % json.dumps(version))
        f.write(",\n".join("    " + json.dumps(r, separators=(", ", ": ")) for r in rows))
        f.write("\n  ]\n}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, help="a running redis-server 7.0 (default: start one)")
    args = parser.parse_args()
    server = None
    if args.port is None:
        server = start_reference()
        host, port = server.host, server.port
    else:
        host, port = args.host, args.port
    try:
        conn = RespConnection(host, port)
        hello = dict(pairs(conn.execute("HELLO", "3")))
        version = text(hello["version"])
        if not version.startswith("7.0."):
            sys.exit("need Redis 7.0.x, got %s" % version)
        info_reply = conn.execute("COMMAND", "INFO", timeout=30)
        docs_reply = conn.execute("COMMAND", "DOCS", timeout=30)
        conn.close()
    finally:
        if server is not None:
            server.stop()

    infos = {}

    def add(entry):
        infos[entry["name"]] = entry
        for s in entry["subcommands"]:
            add(s)

    for node in info_reply.value:
        add(parse_info(node))
    docs = {}
    for name, node in pairs(docs_reply):
        parse_docs(name, node, docs)
    assert set(infos) == set(docs), set(infos) ^ set(docs)
    write_swift(version, infos, docs)
    write_json(version, infos, docs)
    print("%d commands (%d top-level) from Redis %s" % (len(infos), len(info_reply.value), version))
    print("wrote", os.path.relpath(SWIFT_OUT, REPO_ROOT), "and", os.path.relpath(JSON_OUT, REPO_ROOT))


if __name__ == "__main__":
    main()
