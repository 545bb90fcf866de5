"""Unit tests of the harness itself (no servers needed): RESP parser, argument
splitting, script parsing and reply comparison."""

import pytest

from support.resp import Node, ProtocolError, encode_command, parse_all, parse_one, _NeedMore
from support.script import ScriptSyntaxError, compare, parse_script, split_args


def one(data):
    node, end = parse_one(data)
    assert end == len(data)
    assert node.raw == data
    return node


@pytest.mark.parametrize("data,typ,py", [
    (b"+OK\r\n", "+", "OK"),
    (b"-ERR bad\r\n", "-", None),
    (b":-42\r\n", ":", -42),
    (b"$3\r\nfoo\r\n", "$", b"foo"),
    (b"$0\r\n\r\n", "$", b""),
    (b"$-1\r\n", "$", None),
    (b"*-1\r\n", "*", None),
    (b"*0\r\n", "*", []),
    (b"*2\r\n:1\r\n$1\r\na\r\n", "*", [1, b"a"]),
    (b"_\r\n", "_", None),
    (b",1.5\r\n", ",", 1.5),
    (b",inf\r\n", ",", float("inf")),
    (b",-inf\r\n", ",", float("-inf")),
    (b"#t\r\n", "#", True),
    (b"#f\r\n", "#", False),
    (b"(3492890328409238509324850943850943825024385\r\n", "(", 3492890328409238509324850943850943825024385),
    (b"=15\r\ntxt:Some string\r\n", "=", b"Some string"),
    (b"%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n", "%", [("a", 1), ("b", 2)]),
    (b"~2\r\n+a\r\n+b\r\n", "~", ["a", "b"]),
    (b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n", ">", [b"message", b"ch", b"hi"]),
    (b"$?\r\n;4\r\nHell\r\n;2\r\no!\r\n;0\r\n", "$", b"Hello!"),
    (b"*?\r\n:1\r\n:2\r\n.\r\n", "*", [1, 2]),
])
def test_parse_types(data, typ, py):
    n = one(data)
    assert n.type == typ
    if typ != "-":
        assert n.to_python() == py


def test_blob_error():
    n = one(b"!21\r\nSYNTAX invalid syntax\r\n")
    assert n.is_error and str(n.to_python()) == "SYNTAX invalid syntax"


def test_attribute_attaches_to_next_value():
    data = b"|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*2\r\n:2039123\r\n:9543892\r\n"
    n = one(data)
    assert n.type == "*" and n.to_python() == [2039123, 9543892]
    assert n.attribute is not None and n.attribute.type == "|"


def test_nested_and_shape():
    n = one(b"*2\r\n*1\r\n:1\r\n%1\r\n+k\r\n_\r\n")
    assert n.shape() == ("*", 2, (("*", 1, ((":",),)), ("%", 2, (("+",), ("_",)))))


@pytest.mark.parametrize("data", [b"+OK", b"$3\r\nfo", b"*2\r\n:1\r\n", b"%1\r\n+a\r\n", b"$?\r\n;1\r\na\r\n"])
def test_incomplete(data):
    with pytest.raises(_NeedMore):
        parse_one(data)


@pytest.mark.parametrize("data", [b"?x\r\n", b":abc\r\n", b"$3\r\nfooXX", b"#x\r\n", b"_x\r\n", b"$-2\r\n"])
def test_invalid(data):
    with pytest.raises(ProtocolError):
        parse_one(data)


def test_parse_all_and_encode():
    data = encode_command(["SET", b"k\x00", 12])
    assert data == b"*3\r\n$3\r\nSET\r\n$2\r\nk\x00\r\n$2\r\n12\r\n"
    nodes = parse_all(data)
    assert len(nodes) == 1 and nodes[0].to_python() == [b"SET", b"k\x00", b"12"]


@pytest.mark.parametrize("line,args", [
    ("set a b", [b"set", b"a", b"b"]),
    ("  set   a  b  ", [b"set", b"a", b"b"]),
    ('set "a b" c', [b"set", b"a b", b"c"]),
    ('set "\\x00\\xff\\n\\r\\t\\"\\\\" x', [b"set", b"\x00\xff\n\r\t\"\\", b"x"]),
    ("set 'it\\'s' 'a\\nb'", [b"set", b"it's", b"a\\nb"]),
    ('set "" \'\'', [b"set", b"", b""]),
    ('ab"cd" x', [b"abcd", b"x"]),
    ('a\\x00b', [b"a\\x00b"]),
    ('"\\xzz"', [b"xzz"]),
    ('caf\u00e9', [b"caf\xc3\xa9"]),
])
def test_split_args(line, args):
    assert split_args(line) == args


@pytest.mark.parametrize("line", ['set "a b', "set 'a", 'set "a"b', "set 'a'b"])
def test_split_args_errors(line):
    with pytest.raises(ScriptSyntaxError):
        split_args(line)


def test_parse_script_directives():
    steps = parse_script("""
# comment
GET a
@unordered
KEYS *
@type PTTL k
@resp3
@sleep 0.5
@scan SCAN 0 COUNT 1000
  # indented comment
@unordered-pairs
HGETALL h
""")
    kinds = [(s.kind, s.mode, s.args[:1]) for s in steps]
    assert kinds == [
        ("command", "exact", [b"GET"]),
        ("command", "unordered", [b"KEYS"]),
        ("command", "type", [b"PTTL"]),
        ("resp3", "exact", []),
        ("sleep", "exact", []),
        ("command", "scan", [b"SCAN"]),
        ("command", "unordered-pairs", [b"HGETALL"]),
    ]
    assert steps[4].seconds == 0.5
    assert steps[0].lineno == 3


@pytest.mark.parametrize("text", ["@bogus\nGET a", "@unordered", "@unordered\n@type\nGET a", "@sleep abc", 'GET "a'])
def test_parse_script_errors(text):
    with pytest.raises(ScriptSyntaxError):
        parse_script(text)


def n(data):
    return one(data)


def test_compare_modes():
    a = n(b"*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n")
    b = n(b"*3\r\n$1\r\nc\r\n$1\r\na\r\n$1\r\nb\r\n")
    assert compare("exact", a, b) is not None
    assert compare("unordered", a, b) is None
    assert compare("type", a, b) is None
    assert compare("unordered", a, n(b"*3\r\n$1\r\na\r\n$1\r\na\r\n$1\r\nb\r\n")) is not None
    p1 = n(b"*4\r\n$1\r\nk\r\n$1\r\n1\r\n$1\r\nj\r\n$1\r\n2\r\n")
    p2 = n(b"*4\r\n$1\r\nj\r\n$1\r\n2\r\n$1\r\nk\r\n$1\r\n1\r\n")
    p3 = n(b"*4\r\n$1\r\nj\r\n$1\r\n1\r\n$1\r\nk\r\n$1\r\n2\r\n")
    assert compare("unordered-pairs", p1, p2) is None
    assert compare("unordered-pairs", p1, p3) is not None
    m1 = n(b"%2\r\n$1\r\nk\r\n$1\r\n1\r\n$1\r\nj\r\n$1\r\n2\r\n")
    m2 = n(b"%2\r\n$1\r\nj\r\n$1\r\n2\r\n$1\r\nk\r\n$1\r\n1\r\n")
    assert compare("unordered", m1, m2) is None
    s1 = n(b"*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n")
    s2 = n(b"*2\r\n$1\r\n0\r\n*2\r\n$1\r\nb\r\n$1\r\na\r\n")
    s3 = n(b"*2\r\n$2\r\n17\r\n*2\r\n$1\r\nb\r\n$1\r\na\r\n")
    assert compare("scan", s1, s2) is None
    assert compare("scan", s1, s3) is not None
    assert compare("ignore", s1, n(b"-ERR x\r\n")) is None
    assert compare("type", n(b":1\r\n"), n(b":2\r\n")) is None
    assert compare("type", n(b":1\r\n"), n(b"$1\r\n1\r\n")) is not None
    assert compare("unordered", n(b"-ERR a\r\n"), n(b"-ERR b\r\n")) is not None
