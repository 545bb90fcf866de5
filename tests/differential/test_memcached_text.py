"""Differential tests of the memcached text protocol: the candidate against a real memcached 1.6.18.

Each script is a list of steps (raw request bytes); every step is sent to both servers on a fresh
connection after flush_all, followed by ``mn``, and the replies are compared byte for byte after
normalising CAS uniques, the VERSION string and TTL-like numbers (see tests/support/memcached.py for
the placeholders ``{k}``, ``{cas}``, ``{now+N}`` and for :class:`Step`).

Session servers run the scripts in SCRIPTS; tests that need other flags (-I, -M, -A, -C, ...) or a
pristine server (stats shapes) start private servers through ``memcached_factory``.

Print what memcached answers while writing a script:
    SWIFTLET_MEMCACHED_CMD="memcached -u root -p {port} -U 0 -l 127.0.0.1" SWIFTLET_MC_SHOW=1 \\
        python3 -m pytest tests/differential/test_memcached_text.py -q -s -k NAME
"""

import os
import re
import shlex
import time

import pytest

from support.memcached import Step, run_scripts
from support.memcached import candidate_command as memcached_candidate_command

S = Step
ITEM_HEADER = 48          # sizeof(item) in memcached 1.6.18 on 64-bit
DEFAULT_ITEM_MAX = 1024 * 1024


def store(cmd, key, value, flags=0, exp=0, extra=b""):
    """A storage command with its data block: ``cmd key flags exp len[ extra]\\r\\nvalue\\r\\n``."""
    def b(x):
        return x if isinstance(x, bytes) else str(x).encode()
    return b"%s %s %s %s %d%s\r\n%s\r\n" % (b(cmd), b(key), b(flags), b(exp), len(value),
                                             (b" " + b(extra)) if extra else b"", value)


def max_value_len(nkey, flags=0, item_max=DEFAULT_ITEM_MAX):
    """The largest value memcached accepts: header + key + NUL + flags suffix + value + CRLF + CAS."""
    return item_max - ITEM_HEADER - (nkey + 1) - (4 if flags else 0) - 2 - 8


def run(reference, candidate, name, script):
    steps = script(name) if callable(script) else script
    return run_scripts(reference, candidate, steps, prefix=name)


# ---------------------------------------------------------------------------
# storage commands

SCRIPTS = {}

SCRIPTS["set_get_basic"] = [
    store("set", "{k}a", b"hello"),
    b"get {k}a\r\n",
    b"get {k}a {k}missing {k}a\r\n",
    store("set", "{k}b", b"", flags=42),
    b"get {k}b {k}a\r\n",
    b"gets {k}a {k}b\r\n",
    b"get {k}missing\r\n",
    b"gets {k}missing {k}missing2\r\n",
]

SCRIPTS["set_binary_values"] = [
    store("set", "{k}crlf", b"line1\r\nEND\r\nVALUE x 0 1\r\n"),
    store("set", "{k}nul", b"\x00\x01\x02\xff\xfe\r"),
    store("set", "{k}lf", b"\n\n\n"),
    b"get {k}crlf {k}nul {k}lf\r\n",
    b"gets {k}nul\r\n",
]

SCRIPTS["set_overwrite"] = [
    store("set", "{k}", b"one", flags=1),
    store("set", "{k}", b"second", flags=2),
    b"gets {k}\r\n",
    store("set", "{k}", b"3", flags=0),
    b"gets {k}\r\n",
]

SCRIPTS["flags_parsing"] = [
    store("set", "{k}max", b"v", flags=4294967295),
    store("set", "{k}wrap", b"v", flags=4294967296),
    store("set", "{k}huge", b"v", flags=18446744073709551615),
    store("set", "{k}plus", b"v", flags="+7"),
    store("set", "{k}octal", b"v", flags="010"),
    b"get {k}max {k}wrap {k}huge {k}plus {k}octal\r\n",
    store("set", "{k}neg", b"v", flags=-1),
    store("set", "{k}hex", b"v", flags="0x10"),
    store("set", "{k}float", b"v", flags="1.5"),
    store("set", "{k}alpha", b"v", flags="abc"),
    store("set", "{k}toolong", b"v", flags="99999999999999999999999"),
    b"get {k}neg {k}hex {k}float {k}alpha {k}toolong\r\n",
]

SCRIPTS["add"] = [
    store("add", "{k}", b"first", flags=3),
    store("add", "{k}", b"second"),
    b"get {k}\r\n",
    b"delete {k}\r\n",
    store("add", "{k}", b"third"),
    b"gets {k}\r\n",
]

SCRIPTS["replace"] = [
    store("replace", "{k}", b"nothing"),
    b"get {k}\r\n",
    store("set", "{k}", b"orig", flags=1),
    store("replace", "{k}", b"replaced", flags=9),
    b"get {k}\r\n",
]

SCRIPTS["append_prepend"] = [
    store("append", "{k}", b"x"),
    store("prepend", "{k}", b"x"),
    b"get {k}\r\n",
    store("set", "{k}", b"middle", flags=5, exp=1000),
    store("append", "{k}", b">>", flags=9, exp=5),
    store("prepend", "{k}", b"<<", flags=7, exp=-1),
    b"gets {k}\r\n",
    b"mg {k} t f s v\r\n",
    store("append", "{k}", b""),
    store("prepend", "{k}", b""),
    b"get {k}\r\n",
]

SCRIPTS["append_large_growth"] = [
    store("set", "{k}", b"a" * 1000),
] + [store("append", "{k}", bytes([65 + i]) * 3000) for i in range(10)] + [
    b"mg {k} s\r\n",
    b"get {k}\r\n",
]

SCRIPTS["cas_basic"] = [
    store("set", "{k}", b"v1"),
    b"gets {k}\r\n",
    store("cas", "{k}", b"v2", extra="{cas}"),
    store("cas", "{k}", b"v3", extra="{cas}"),
    b"gets {k}\r\n",
    store("cas", "{k}", b"v4", extra="{cas+1}"),
    store("cas", "{k}", b"v5", extra="{cas}"),
    b"gets {k}\r\n",
]

SCRIPTS["cas_errors"] = [
    store("cas", "{k}missing", b"x", extra="1"),
    store("set", "{k}", b"v"),
    store("cas", "{k}", b"x", extra="0"),
    store("cas", "{k}", b"x", extra="abc"),
    store("cas", "{k}", b"x", extra="-1"),
    store("cas", "{k}", b"x", extra="18446744073709551616"),
    b"cas {k} 0 0 1\r\nx\r\n",
    b"cas {k} 0 0 1 1 noreply extra\r\nx\r\n",
    b"gets {k}\r\n",
]

SCRIPTS["cas_noreply"] = [
    store("set", "{k}", b"v"),
    b"gets {k}\r\n",
    store("cas", "{k}", b"bad", extra="{cas+100} noreply"),
    store("cas", "{k}", b"good", extra="{cas} noreply"),
    store("cas", "{k}missing", b"x", extra="5 noreply"),
    b"gets {k}\r\n",
]

SCRIPTS["cas_changes"] = [
    # which operations give an item a new CAS unique (compared as #1, #2 ... patterns)
    store("set", "{k}", b"10"),
    store("set", "{k}other", b"x"),
    b"gets {k} {k}other\r\n",
    b"touch {k} 100\r\n",
    b"gets {k}\r\n",
    b"gat 200 {k}\r\n",
    b"gats 300 {k}\r\n",
    b"incr {k} 1\r\n",
    b"gets {k}\r\n",
    store("append", "{k}", b"0"),
    b"gets {k}\r\n",
    b"decr {k} 1\r\n",
    b"gets {k}\r\n",
    b"mg {k} c\r\n",
    b"mg {k} c T500\r\n",
    b"gets {k}\r\n",
]

SCRIPTS["gat_gats"] = [
    b"gat 100 {k}\r\n",
    b"gats 100 {k}\r\n",
    store("set", "{k}", b"val", flags=8),
    store("set", "{k}2", b"val2"),
    b"gat 100 {k} {k}2 {k}missing\r\n",
    b"mg {k} t\r\n",
    b"gats 0 {k}\r\n",
    b"mg {k} t\r\n",
    b"gat abc {k}\r\n",
    b"gat 10\r\n",
    b"gat\r\n",
    b"gats\r\n",
    b"gat -1 {k}\r\n",
    b"get {k}\r\n",
]

SCRIPTS["touch"] = [
    b"touch {k} 10\r\n",
    store("set", "{k}", b"v"),
    b"touch {k} 100\r\n",
    b"mg {k} t\r\n",
    b"touch {k} 0\r\n",
    b"mg {k} t\r\n",
    b"touch {k} abc\r\n",
    b"touch {k} 10 noreply\r\n",
    b"touch {k} 10 noreply extra\r\n",
    b"touch {k}\r\n",
    b"touch\r\n",
    b"touch {k} -1\r\n",
    b"get {k}\r\n",
]

SCRIPTS["delete"] = [
    b"delete {k}\r\n",
    store("set", "{k}", b"v"),
    b"delete {k}\r\n",
    b"get {k}\r\n",
    store("set", "{k}", b"v"),
    b"delete {k} 0\r\n",
    store("set", "{k}", b"v"),
    b"delete {k} 1\r\n",
    b"delete {k} 0 0\r\n",
    b"delete {k} 0 noreply\r\n",
    b"get {k}\r\n",
    store("set", "{k}", b"v"),
    b"delete {k} noreply\r\n",
    b"delete {k} x noreply\r\n",
    b"delete {k} noreply 0\r\n",
    b"delete\r\n",
    b"delete a b c d\r\n",
]

# ---------------------------------------------------------------------------
# incr / decr

SCRIPTS["incr_decr_basic"] = [
    store("set", "{k}", b"10", flags=77),
    b"incr {k} 5\r\n",
    b"decr {k} 3\r\n",
    b"incr {k} 0\r\n",
    b"get {k}\r\n",
    b"incr {k}missing 1\r\n",
    b"decr {k}missing 1\r\n",
    b"incr {k}\r\n",
    b"incr {k} 1 2\r\n",
    b"decr\r\n",
]

SCRIPTS["decr_floor"] = [
    store("set", "{k}", b"5"),
    b"decr {k} 6\r\n",
    b"decr {k} 18446744073709551615\r\n",
    b"get {k}\r\n",
    store("set", "{k}", b"9223372036854775807"),
    b"decr {k} 18446744073709551615\r\n",
    b"get {k}\r\n",
    store("set", "{k}", b"9223372036854775806"),
    b"incr {k} 1\r\n",
    b"get {k}\r\n",
]

# Stored values >= 2**63 are run on a fresh private server only: memcached 1.6.18 checks such a value for a
# '-' with strchr() on the item data, which is not NUL-terminated, so leftover bytes of reused slab memory can
# make it answer "CLIENT_ERROR cannot increment or decrement non-numeric value" at random.
COUNTERS_ABOVE_2_63 = [
    store("set", "w1", b"18446744073709551615"),
    b"incr w1 1\r\n",
    b"get w1\r\n",
    store("set", "w2", b"18446744073709551610"),
    b"incr w2 18446744073709551615\r\n",
    store("set", "w3", b"9223372036854775807"),
    b"incr w3 1\r\n",
    b"incr w3 18446744073709551615\r\n",
    b"get w3\r\n",
    store("set", "w4", b"18446744073709551615"),
    b"decr w4 18446744073709551615\r\n",
    b"get w4\r\n",
    store("set", "w5", b"18446744073709551614"),
    b"incr w5 1\r\n",
    b"decr w5 1\r\n",
]


def test_counters_above_2_63(memcached_factory):
    ref, cand = memcached_factory.pair()
    run_scripts(ref, cand, COUNTERS_ABOVE_2_63, prefix="wrap", flush=False)


SCRIPTS["incr_length_change"] = [
    # A shorter result is written in place, padded with spaces to the old length; a longer one makes a new
    # item. (memcached also makes a new item when another reference to the item exists at that moment, e.g.
    # its LRU maintainer thread juggling a just-fetched item, so no incr/decr here follows a fetch of its key.)
    store("set", "{k}", b"100"),
    b"decr {k} 1\r\n",
    b"decr {k} 95\r\n",
    b"get {k}\r\n",
    store("set", "{k}2", b"100"),
    b"decr {k}2 91\r\n",
    b"incr {k}2 1000\r\n",
    b"get {k}2\r\n",
    store("set", "{k}9", b"9", flags=3, exp=1000),
    b"incr {k}9 1\r\n",
    b"get {k}9\r\n",
    b"mg {k}9 t f v\r\n",
    store("set", "{k}8", b"10", flags=3),
    b"decr {k}8 1\r\n",
    b"get {k}8\r\n",
]

SCRIPTS["incr_non_numeric"] = [
    store("set", "{k}text", b"abc"),
    b"incr {k}text 1\r\n",
    store("set", "{k}empty", b""),
    b"incr {k}empty 1\r\n",
    store("set", "{k}trail", b"12a"),
    b"decr {k}trail 1\r\n",
    store("set", "{k}neg", b"-1"),
    b"incr {k}neg 1\r\n",
    store("set", "{k}big", b"18446744073709551616"),
    b"incr {k}big 1\r\n",
    store("set", "{k}float", b"1.5"),
    b"incr {k}float 1\r\n",
    b"get {k}text {k}empty {k}trail {k}neg {k}big {k}float\r\n",
]

SCRIPTS["incr_value_parsing"] = [
    store("set", "{k}sp", b" 12"),
    b"incr {k}sp 1\r\n",
    store("set", "{k}plus", b"+12"),
    b"incr {k}plus 1\r\n",
    store("set", "{k}tail", b"12 xyz"),
    b"incr {k}tail 1\r\n",
    store("set", "{k}zero", b"0000000042"),
    b"incr {k}zero 1\r\n",
    store("set", "{k}negzero", b"-0"),
    b"incr {k}negzero 1\r\n",
    b"get {k}sp {k}plus {k}tail {k}zero {k}negzero\r\n",
]

SCRIPTS["incr_delta_parsing"] = [
    store("set", "{k}", b"10"),
    b"incr {k} -1\r\n",
    b"incr {k} abc\r\n",
    b"incr {k} 5x\r\n",
    b"incr {k} 18446744073709551616\r\n",
    b"incr {k} +5\r\n",
    b"decr {k} -0\r\n",
    b"incr {k} 1.0\r\n",
    b"get {k}\r\n",
]

# ---------------------------------------------------------------------------
# noreply

SCRIPTS["noreply_every_command"] = [
    store("set", "{k}a", b"1", extra="noreply"),
    store("add", "{k}a", b"2", extra="noreply"),
    store("add", "{k}b", b"5", extra="noreply"),
    store("replace", "{k}b", b"6", extra="noreply"),
    store("replace", "{k}missing", b"6", extra="noreply"),
    store("append", "{k}a", b"0", extra="noreply"),
    store("prepend", "{k}a", b"9", extra="noreply"),
    b"get {k}a {k}b\r\n",
    b"incr {k}a 1 noreply\r\n",
    b"decr {k}b 1 noreply\r\n",
    b"incr {k}missing 1 noreply\r\n",
    b"touch {k}a 100 noreply\r\n",
    b"touch {k}missing 100 noreply\r\n",
    b"get {k}a {k}b\r\n",
    b"gets {k}a\r\n",
    store("cas", "{k}a", b"c", extra="{cas} noreply"),
    store("cas", "{k}a", b"d", extra="{cas} noreply"),
    b"get {k}a\r\n",
    b"delete {k}a noreply\r\n",
    b"delete {k}missing noreply\r\n",
    b"get {k}a {k}b\r\n",
    b"verbosity 0 noreply\r\n",
    b"flush_all noreply\r\n",
    b"get {k}b\r\n",
    b"flush_all 0 noreply\r\n",
]

SCRIPTS["noreply_suppresses_errors"] = [
    b"incr {k} abc noreply\r\n",
    b"touch {k} abc noreply\r\n",
    store("set", "{k}", b"abc", extra="noreply"),
    b"incr {k} 1 noreply\r\n",
    b"verbosity noreply\r\n",
    b"flush_all abc noreply\r\n",
    b"delete {k} x noreply\r\n",
    b"get {k}\r\n",
    # the error is suppressed, but the data line is then read as a command
    b"set {k} 0 0 abc noreply\r\nxy\r\n",
    b"set {k} abc 0 1 noreply\r\nx\r\n",
    b"set {k} 0 0 1 noreply\r\nxyz\r\n",
    b"get {k}\r\n",
]

SCRIPTS["noreply_not_last_token"] = [
    # noreply only counts as the last token
    b"set {k} 0 0 1 noreply extra\r\nx\r\n",
    b"set {k} 0 0 1 extra\r\nx\r\n",
    b"set {k} 0 0 1 NOREPLY\r\ny\r\n",
    b"incr {k} 1 extra\r\n",
    b"get {k}\r\n",
]

# ---------------------------------------------------------------------------
# flush_all, version, verbosity, quit

SCRIPTS["flush_all_forms"] = [
    store("set", "{k}", b"v"),
    b"flush_all\r\n",
    b"get {k}\r\n",
    store("set", "{k}", b"v"),
    b"flush_all 0\r\n",
    b"get {k}\r\n",
    store("set", "{k}", b"v"),
    b"flush_all -1\r\n",
    b"get {k}\r\n",
    b"flush_all abc\r\n",
    b"flush_all 0 0\r\n",
    b"flush_all 1 2 3\r\n",
    b"flush_all noreply noreply\r\n",
    b"flush_all 1.5\r\n",
    store("set", "{k}", b"after"),
    b"get {k}\r\n",
]

SCRIPTS["flush_all_delayed"] = [
    # a delayed flush leaves items alone until the time comes (the next script's flush_all resets it)
    store("set", "{k}", b"v"),
    b"flush_all 30\r\n",
    b"get {k}\r\n",
    store("set", "{k}2", b"w"),
    b"get {k} {k}2\r\n",
    b"flush_all 30 noreply\r\n",
    b"get {k}2\r\n",
    b"flush_all\r\n",
    b"get {k} {k}2\r\n",
]

SCRIPTS["version"] = [
    b"version\r\n",
    b"version extra tokens\r\n",
    b"VERSION\r\n",
]

SCRIPTS["verbosity"] = [
    b"verbosity\r\n",
    b"verbosity 1\r\n",
    b"verbosity 1 2\r\n",
    b"verbosity abc\r\n",
    b"verbosity -1\r\n",
    b"verbosity 1 2 3\r\n",
    b"verbosity 1 noreply\r\n",
    b"verbosity 0\r\n",
]

SCRIPTS["quit"] = [
    store("set", "{k}", b"v"),
    b"quit\r\nget {k}\r\n",
    b"get {k}\r\n",          # not sent: the connection is closed
]

SCRIPTS["quit_with_args"] = [
    b"get {k}\r\nquit now please\r\nversion\r\n",
]

SCRIPTS["quit_pipelined_after_get"] = [
    store("set", "{k}", b"v" * 3000),
    b"get {k}\r\nget {k}\r\nquit\r\n",
]

# ---------------------------------------------------------------------------
# expiration times

SCRIPTS["exptime_negative"] = [
    store("set", "{k}", b"v", exp=-1),
    b"get {k}\r\n",
    store("add", "{k}", b"w", exp=-1000),
    b"get {k}\r\n",
    store("set", "{k}", b"x"),
    b"touch {k} -1\r\n",
    b"get {k}\r\n",
    store("set", "{k}", b"y"),
    b"gat -5 {k}\r\n",
    b"get {k}\r\n",
]

SCRIPTS["exptime_relative_limit"] = [
    # up to 30 days is relative; above is an absolute unix time (here: 1970, so expired at once)
    store("set", "{k}30d", b"v", exp=2592000),
    b"mg {k}30d t\r\n",
    store("set", "{k}30d1", b"v", exp=2592001),
    b"get {k}30d1\r\n",
    store("set", "{k}small", b"v", exp=100),
    b"mg {k}small t v\r\n",
]

SCRIPTS["exptime_absolute"] = [
    store("set", "{k}future", b"v", exp="{now+100}"),
    b"mg {k}future t v\r\n",
    store("set", "{k}past", b"v", exp="{now-5}"),
    b"get {k}past\r\n",
    store("set", "{k}x", b"v"),
    b"touch {k}x {now+50}\r\n",
    b"mg {k}x t\r\n",
    b"touch {k}x {now-1}\r\n",
    b"get {k}x\r\n",
    store("set", "{k}y", b"v"),
    b"gat {now+200} {k}y\r\n",
    b"mg {k}y t\r\n",
]

SCRIPTS["exptime_parsing"] = [
    # numbers are parsed as C longs and truncated to 32 bits
    store("set", "{k}wrap", b"v", exp=4294967296),
    b"mg {k}wrap t\r\n",
    store("set", "{k}wrap100", b"v", exp=4294967396),
    b"mg {k}wrap100 t\r\n",
    store("set", "{k}plus", b"v", exp="+100"),
    b"mg {k}plus t\r\n",
    store("set", "{k}alpha", b"v", exp="abc"),
    store("set", "{k}float", b"v", exp="1.5"),
    b"get {k}alpha {k}float\r\n",
]

SCRIPTS["exptime_wait"] = [
    store("set", "{k}short", b"v", exp=1),
    store("set", "{k}long", b"v", exp=100),
    S(b"get {k}short {k}long\r\n", pause=2.05),
    b"touch {k}short 100\r\n",
]

# ---------------------------------------------------------------------------
# keys


def keys_length(prefix):
    k250 = (prefix + "x" * 250)[:250].encode()
    k251 = (prefix + "x" * 251)[:251].encode()
    return [
        store("set", k250, b"ok"),
        store("set", k251, b"no"),
        b"get " + k250 + b"\r\n",
        b"get " + k251 + b"\r\n",
        b"gets " + k250 + b" " + k251 + b"\r\n",
        b"gat 0 " + k251 + b"\r\n",
        store("add", k251, b"no"),
        store("cas", k251, b"no", extra="1"),
        b"touch " + k251 + b" 0\r\n",
        b"incr " + k251 + b" 1\r\n",
        b"decr " + k251 + b" 1\r\n",
        b"delete " + k251 + b"\r\n",
        b"delete " + k250 + b"\r\n",
        b"get " + k250 + b"\r\n",
    ]


SCRIPTS["keys_length"] = keys_length


def keys_long_get_drops_earlier_values(prefix):
    k251 = (prefix + "y" * 251)[:251].encode()
    return [
        store("set", "{k}a", b"1"),
        # VALUE blocks already built for this get are thrown away
        b"get {k}a {k}a " + k251 + b" {k}a\r\n",
    ]


SCRIPTS["keys_long_get_drops_earlier_values"] = keys_long_get_drops_earlier_values

SCRIPTS["keys_control_characters"] = [
    store("set", b"{k}\x01\x02", b"ctl"),
    store("set", b"{k}\x7f\xff\xc3\xa9", b"high"),
    store("set", b"{k}tab\there", b"tab"),
    store("set", b"{k}cr\rmid", b"cr"),
    b"get {k}\x01\x02 {k}\x7f\xff\xc3\xa9 {k}tab\there {k}cr\rmid\r\n",
    b"get {k}tab\r\n",
    # a NUL byte ends the command line (the rest of the line is ignored)
    b"get {k}\x01\x02\x00 {k}tab\there\r\n",
    b"set {k}nul\x00junk 0 0 1\r\nx\r\n",
    b"get {k}nul\r\n",
]

SCRIPTS["keys_trailing_cr"] = [
    # only one CR before LF is stripped; another one belongs to the key
    store("set", b"{k}\r", b"cr-key"),
    b"get {k}\r\r\n",
    b"get {k}\r\n",
]

SCRIPTS["get_many_tokens"] = [
    # more than 24 tokens on a get line are handled in slices
    store("set", "{k}5", b"five"),
    store("set", "{k}29", b"twenty-nine"),
    b"get " + b" ".join(b"{k}%d" % i for i in range(40)) + b"\r\n",
    b"get " + b" ".join([b"{k}5"] * 30) + b"\r\n",
]

# ---------------------------------------------------------------------------
# malformed input

SCRIPTS["bad_command_lines"] = [
    b"bogus\r\n",
    b"bogus command with args\r\n",
    b"GET {k}\r\n",
    b"Set {k} 0 0 1\r\n",
    b"x\r\n",
    b"g\r\n",
    b"getx {k}\r\n",
    b"gets\r\n",
    b"get\r\n",
    b"get \r\n",
    b"\r\n",
    b"\n",
    b"   \r\n",
    b"\t\r\n",
    b"mx\r\n",
    b"m\r\n",
    b"bget {k}\r\n",
]

SCRIPTS["line_endings_and_spaces"] = [
    b"set {k} 0 0 1\nx\r\nget {k}\n",
    b"   get    {k}     {k}   \r\n",
    b"set {k}  0   0   2  \r\nab\r\n",
    b"get {k}\r\n",
    b"version\n\nversion\r\n",
]

SCRIPTS["too_many_tokens"] = [
    b"set {k} 0 0 1 noreply x\r\nv\r\n",
    b"set {k} 0 0\r\nv\r\n",
    b"set {k} 0\r\n",
    b"set {k}\r\n",
    b"set\r\n",
    b"set {k} 0 0 1 " + b" ".join(b"%d" % i for i in range(30)) + b"\r\nv\r\n",
    b"add {k} 0 0 1 2 3\r\nv\r\n",
    b"cas {k} 0 0 1 1 2 3\r\nv\r\n",
    b"incr {k} 1 2 3\r\n",
    b"touch {k} 1 2 3\r\n",
    b"verbosity 1 2 3 4\r\n",
    b"get {k}\r\n",
]

SCRIPTS["bad_data_chunk_too_long"] = [
    b"set {k} 0 0 3\r\nabcde\r\n",
    b"get {k}\r\n",
    b"set {k} 0 0 3\r\nabcXY",          # 5 bytes read as "abc" + terminator: bad chunk, stream continues
    b"get {k}\r\n",
]

SCRIPTS["bad_data_chunk_too_short"] = [
    # the missing bytes are taken from the following requests ("mn\r\n" included)
    S(b"set {k} 0 0 5\r\nab\r\nmn\r\nmn\r\n", mn=2),
    b"get {k}\r\n",
    S(b"set {k} 0 0 4\r\nab\r\nmn\r\n", mn=1),
    b"get {k}\r\n",
]

SCRIPTS["bad_data_chunk_noreply"] = [
    b"set {k} 0 0 3 noreply\r\nabcde\r\n",
    b"get {k}\r\n",
]

SCRIPTS["bad_data_chunk_replace_keeps_old"] = [
    store("set", "{k}", b"old"),
    b"set {k} 0 0 3\r\nnewXX\r\n",
    b"append {k} 0 0 1\r\nzz\r\n",
    b"get {k}\r\n",
]

SCRIPTS["data_split_across_packets"] = [
    S(b"set {k} 0 0 10\r\n", sync=False),
    S(b"01234", sync=False, pause=0.05),
    S(b"56789", sync=False, pause=0.05),
    S(b"\r", sync=False, pause=0.05),
    S(b"\nget {k}\r\n", pause=0.05),
    S(b"ge", sync=False),
    S(b"t {k}", sync=False, pause=0.05),
    S(b"\r\n", pause=0.05),
]

SCRIPTS["length_parsing"] = [
    b"set {k} 0 0 -1\r\nx\r\n",
    b"set {k} 0 0 abc\r\nx\r\n",
    b"set {k} 0 0 1.5\r\nx\r\n",
    b"set {k} 0 0 2147483647\r\nx\r\n",
    b"set {k} 0 0 2147483646\r\nx\r\n",
    b"set {k} 0 0 4294967295\r\nx\r\n",
    # the length is parsed as a C long and truncated to 32 bits: 4294967298 is 2
    b"set {k} 0 0 4294967298\r\nab\r\n",
    b"get {k}\r\n",
    b"set {k} 0 0 +3\r\nabc\r\n",
    b"get {k}\r\n",
    b"set {k} 0 0 \r\n",
]

SCRIPTS["http_request_closes"] = [
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
]

SCRIPTS["http_like_get_is_a_get"] = [
    b"get / HTTP/1.0\r\n",
    b"POST /x HTTP/1.0\r\n",
]


def huge_line_closes(prefix):
    # no newline within the first 16 KB of a non-get line: the connection is closed without a reply
    return [
        store("set", "{k}", b"v"),
        b"set " + b"k" * 20000 + b" 0 0 1\r\nx\r\n",
    ]


SCRIPTS["huge_line_closes"] = huge_line_closes


def huge_gat_line_closes(prefix):
    keys = b" ".join((b"%s%03d" % (prefix.encode(), i) + b"z" * 240)[:240] for i in range(100))
    return [b"gat 0 " + keys + b"\r\n"]


SCRIPTS["huge_gat_line_closes"] = huge_gat_line_closes


def long_line_under_limit(prefix):
    # a long line is fine as long as its newline arrives in time
    return [
        b"set " + b"k" * 1800 + b" 0 0 1\r\nx\r\n",
        b"get " + b"k" * 1800 + b"\r\n",
        b"version\r\n",
    ]


SCRIPTS["long_line_under_limit"] = long_line_under_limit


def multiget_100_long_keys(prefix):
    keys = [(b"%s:%03d:" % (prefix.encode(), i) + b"q" * 250)[:250] for i in range(100)]
    steps = [store("set", k, b"value-%d" % i, flags=i) for i, k in enumerate(keys) if i % 3 == 0]
    steps.append(b"get " + b" ".join(keys) + b"\r\n")
    steps.append(b"gets " + b" ".join(keys) + b"\r\n")
    return steps


SCRIPTS["multiget_100_long_keys"] = multiget_100_long_keys


def multiget_100(prefix):
    steps = [b"".join(store("set", "{k}%d" % i, b"v%d" % i, flags=i) for i in range(100))]
    steps.append(b"get " + b" ".join(b"{k}%d" % i for i in range(100)) + b"\r\n")
    steps.append(b"get " + b" ".join(b"{k}%d" % i for i in range(99, -1, -2)) + b"\r\n")
    return steps


SCRIPTS["multiget_100"] = multiget_100

SCRIPTS["pipelined_mixed"] = [
    b"".join([store("set", "{k}a", b"1"), b"get {k}a\r\n", b"incr {k}a 5\r\n", store("append", "{k}a", b"0"),
              b"get {k}a\r\n", b"delete {k}a\r\n", b"get {k}a\r\n", b"bogus\r\n", b"version\r\n"]),
]

# ---------------------------------------------------------------------------
# sizes


def large_values(prefix):
    v500 = bytes(range(256)) * 2000
    return [
        store("set", "{k}500k", v500, flags=1),
        b"get {k}500k\r\n",
        b"mg {k}500k s f\r\n",
        store("set", "{k}900k", b"z" * 900000),
        b"mg {k}900k s\r\n",
    ]


SCRIPTS["large_values"] = large_values


def item_too_large_boundary(prefix):
    n = len(prefix.encode())
    fit = max_value_len(n)
    fit_flags = max_value_len(n, flags=1)
    return [
        store("set", "{k}", b"a" * fit),
        b"mg {k} s\r\n",
        store("set", "{k}", b"b" * (fit + 1)),
        b"mg {k} s\r\n",
        store("set", "{k}", b"c" * fit_flags, flags=1),
        b"mg {k} s f\r\n",
        store("set", "{k}", b"d" * (fit_flags + 1), flags=1),
        b"mg {k} s\r\n",
        store("set", "{k}", b"e" * 2000000),
        b"version\r\n",
    ]


SCRIPTS["item_too_large_boundary"] = item_too_large_boundary


def too_large_set_deletes_old(prefix):
    big = b"y" * 1100000
    return [
        store("set", "{k}", b"old"),
        store("add", "{k}", big),
        b"get {k}\r\n",
        store("replace", "{k}", big, extra="noreply"),
        b"get {k}\r\n",
        store("append", "{k}", big),
        b"get {k}\r\n",
        store("set", "{k}", big),
        b"get {k}\r\n",
        store("set", "{k}", b"old"),
        b"ms {k} %d MR\r\n%s\r\n" % (len(big), big),
        b"get {k}\r\n",
    ]


SCRIPTS["too_large_set_deletes_old"] = too_large_set_deletes_old

# ---------------------------------------------------------------------------
# administrative commands (those that change settings restore the defaults)

SCRIPTS["cache_memlimit"] = [
    b"cache_memlimit\r\n",
    b"cache_memlimit 7\r\n",
    b"cache_memlimit 0\r\n",
    b"cache_memlimit abc\r\n",
    b"cache_memlimit -1\r\n",
    b"cache_memlimit 2000000000\r\n",
    b"cache_memlimit 100\r\n",
    b"cache_memlimit 100 noreply\r\n",
    b"cache_memlimit 8 9 10\r\n",
    b"cache_memlimit 64\r\n",
]

SCRIPTS["shutdown_disabled"] = [
    b"shutdown\r\n",
    b"shutdown graceful\r\n",
    b"shutdown now later\r\n",
    b"version\r\n",
]

SCRIPTS["slabs_commands"] = [
    b"slabs\r\n",
    b"slabs reassign\r\n",
    b"slabs reassign 1\r\n",
    b"slabs reassign 1 1\r\n",
    b"slabs reassign a b\r\n",
    b"slabs reassign 1 200\r\n",
    b"slabs reassign -1 200\r\n",
    b"slabs reassign 1 2 3\r\n",
    b"slabs automove\r\n",
    b"slabs automove 3\r\n",
    b"slabs automove x\r\n",
    b"slabs automove ratio\r\n",
    b"slabs automove ratio x\r\n",
    b"slabs automove ratio 0.5\r\n",
    b"slabs automove 0\r\n",
    b"slabs automove 2\r\n",
    b"slabs automove 1 noreply\r\n",
    b"slabs automove ratio 0.8\r\n",
    b"slabs foo bar\r\n",
]

SCRIPTS["lru_crawler_commands"] = [
    b"lru_crawler\r\n",
    b"lru_crawler bogus\r\n",
    b"lru_crawler crawl\r\n",
    b"lru_crawler crawl 300\r\n",
    b"lru_crawler crawl x\r\n",
    b"lru_crawler crawl 0\r\n",
    b"lru_crawler crawl 1,x\r\n",
    b"lru_crawler crawl 1 2\r\n",
    b"lru_crawler metadump\r\n",
    b"lru_crawler metadump 300\r\n",
    b"lru_crawler tocrawl\r\n",
    b"lru_crawler tocrawl x\r\n",
    b"lru_crawler tocrawl 10\r\n",
    b"lru_crawler tocrawl 0\r\n",
    b"lru_crawler sleep 2000000\r\n",
    b"lru_crawler sleep x\r\n",
    b"lru_crawler sleep 1000000\r\n",
    b"lru_crawler sleep 100\r\n",
    b"lru_crawler enable\r\n",
    b"lru_crawler enable x\r\n",
    b"lru_crawler disable x\r\n",
]

SCRIPTS["lru_commands"] = [
    b"lru\r\n",
    b"lru bogus\r\n",
    b"lru tune\r\n",
    b"lru tune 50 50 0.1 2.0\r\n",
    b"lru tune 10 10 0 2.0\r\n",
    b"lru tune 10 10 0.1 -1\r\n",
    b"lru tune x 10 0.1 2.0\r\n",
    b"lru tune 10 20 0.3 3.0\r\n",
    b"lru tune 20 40 0.2 2.0\r\n",
    b"lru mode\r\n",
    b"lru mode bogus\r\n",
    b"lru mode flat\r\n",
    b"lru mode segmented\r\n",
    b"lru temp_ttl\r\n",
    b"lru temp_ttl x\r\n",
    b"lru temp_ttl 10\r\n",
    b"lru temp_ttl -1\r\n",
]

SCRIPTS["stats_errors"] = [
    b"stats bogus\r\n",
    b"stats detail\r\n",
    b"stats detail bogus\r\n",
    b"stats cachedump\r\n",
    b"stats cachedump 1\r\n",
    b"stats cachedump x y\r\n",
    b"stats cachedump 300 1\r\n",
    b"stats proxy\r\n",
    b"stats reset\r\n",
    b"stats reset extra\r\n",
    b"stats sizes\r\n",
    b"stats extstore\r\n",
]

@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_text_script(memcached_reference, memcached_candidate, name):
    run(memcached_reference, memcached_candidate, name, SCRIPTS[name])


# ---------------------------------------------------------------------------
# private servers


def test_item_size_max_2m(memcached_factory):
    ref, cand = memcached_factory.pair("-I", "2m")
    fit = max_value_len(len(b"big2m"), item_max=2 * 1024 * 1024)
    steps = [
        store("set", "{k}1m", b"m" * (1024 * 1024)),
        b"mg {k}1m s\r\n",
        b"get {k}1m\r\n",
        store("set", "{k}", b"a" * fit),
        b"mg {k} s\r\n",
        store("set", "{k}", b"b" * (fit + 1)),
        b"mg {k} s\r\n",
        b"stats settings\r\n",
    ]
    steps[-1] = S(steps[-1], shape=True)
    run_scripts(ref, cand, steps, prefix="big2m", flush=False)


def test_no_cas_flag(memcached_factory):
    ref, cand = memcached_factory.pair("-C")
    run_scripts(ref, cand, [
        store("set", "{k}", b"v"),
        b"gets {k}\r\n",
        b"gats 100 {k}\r\n",
        store("cas", "{k}", b"w", extra="0"),
        store("cas", "{k}", b"w", extra="1"),
        b"mg {k} c v\r\n",
        b"ms {k} 1 c\r\nz\r\n",
        b"ms {k} 1 C0\r\nz\r\n",
        b"ma {k} c\r\n",
        b"me {k}\r\n",
    ], prefix="nocas", flush=False)


def test_oom_without_eviction(memcached_factory):
    """-M: once memory is full, stores fail with SERVER_ERROR and nothing is evicted; the data is swallowed."""
    value = b"x" * 100000
    results = {}
    for side in ("reference", "candidate"):
        server = memcached_factory(side, "-M", "-m", "8")
        with server.connect() as c:
            first_error = None
            for i in range(200):
                line = c.call(store("set", "k%d" % i, value))
                if line != b"STORED\r\n":
                    first_error = (i, line)
                    break
            after = c.call(b"version\r\n")
            c.send(b"get k0\r\n")
            k0 = c.read_response(b"END\r\n")
            small = c.call(store("set", "small", b"1"))
        results[side] = (first_error, after[:8], k0, small)
    ref, cand = results["reference"], results["candidate"]
    assert ref[0] is not None, "reference never ran out of memory (test bug)"
    assert ref[0][1] == b"SERVER_ERROR out of memory storing object\r\n"
    assert cand[0] is not None, "candidate stored 200 x 100 KB with -M -m 8"
    assert cand[0][1] == ref[0][1]
    assert cand[1:] == ref[1:], "after the OOM error: reference %r, candidate %r" % (ref[1:], cand[1:])


def test_eviction_with_small_memory(memcached_factory):
    """Without -M the oldest items are evicted: the newest survive, the first is gone."""
    value = b"e" * 100000
    results = {}
    for side in ("reference", "candidate"):
        server = memcached_factory(side, "-m", "8")
        with server.connect() as c:
            replies = set(c.call(store("set", "ev%d" % i, value)) for i in range(200))
            c.send(b"get ev0 ev199\r\n")
            got = c.read_response(b"END\r\n")
            c.send(b"stats\r\n")
            stats = c.read_response(b"END\r\n")
        evictions = [l for l in stats.split(b"\r\n") if l.startswith(b"STAT evictions ")][0]
        results[side] = (replies, [l for l in got.split(b"\r\n") if l.startswith(b"VALUE")],
                         int(evictions.split()[2]) > 0)
    assert results["reference"] == ({b"STORED\r\n"}, [b"VALUE ev199 0 100000"], True)
    assert results["candidate"] == results["reference"]


def test_shutdown_enabled(memcached_factory):
    """-A: bad modes are refused; "shutdown" and "shutdown graceful" close the connection without a reply and
    the server exits."""
    servers = {}
    for mode in (b"shutdown\r\n", b"shutdown graceful\r\n"):
        for side in ("reference", "candidate"):
            server = memcached_factory(side, "-A")
            with server.connect() as c:
                assert c.call(b"shutdown bogus\r\n") == b"CLIENT_ERROR invalid shutdown mode\r\n", side
                assert c.call(b"shutdown graceful now\r\n") == b"CLIENT_ERROR invalid shutdown mode\r\n", side
                c.send(mode)
                data, closed = c.read_until_close(10)
                assert (data, closed) == (b"", True), "%s %r: got %r closed=%s" % (side, mode, data, closed)
            servers[(side, mode)] = server
    for (side, mode), server in servers.items():
        try:
            server.proc.wait(timeout=10)
        except Exception:
            pytest.fail("%s did not exit after %r" % (side, mode))


def test_settings_no_modern(memcached_factory):
    ref, cand = memcached_factory.pair("-o", "no_modern")
    run_scripts(ref, cand, [
        b"slabs reassign 1 2\r\n",
        b"lru mode flat\r\n",
        b"lru temp_ttl 10\r\n",
        store("set", "{k}", b"v"),
        S(b"stats settings\r\n", shape=True),
        S(b"stats items\r\n", shape=True),
    ], prefix="nomodern", flush=False)


def test_lru_crawler_disabled(memcached_factory):
    ref, cand = memcached_factory.pair("-o", "no_lru_crawler")
    run_scripts(ref, cand, [
        b"lru_crawler crawl 1\r\n",
        b"lru_crawler metadump all\r\n",
        b"lru_crawler tocrawl 5\r\n",
        b"lru_crawler disable\r\n",
    ], prefix="nocrawler", flush=False)


def _settle_conns(server, expected=2, tries=50):
    """stats conns once only the listener and this connection remain (closed ones can linger briefly)."""
    with server.connect() as c:
        for _ in range(tries):
            c.send(b"stats conns\r\n")
            data = c.read_response(b"END\r\n")
            fds = {l.split(b" ")[1].split(b":")[0] for l in data.split(b"\r\n") if l.startswith(b"STAT ")}
            if len(fds) == expected:
                return data
            time.sleep(0.05)
    return data


def _stat_names(data):
    return [re.sub(rb"^[0-9]+:", b"<fd>:", l.split(b" ")[1]) for l in data.split(b"\r\n") if l.startswith(b"STAT ")]


def test_stats_shapes(memcached_factory):
    """The STAT names, in order, of every stats group (values masked) on fresh servers."""
    ref, cand = memcached_factory.pair()
    fill = b"".join(store("set", "{k}%d" % i, b"v" * size) for i, size in enumerate([1, 10, 100, 1000, 5000, 20000]))
    run_scripts(ref, cand, [
        fill,
        b"get {k}0 {k}1 {k}missing\r\n",
        S(b"stats\r\n", shape=True),
        S(b"stats settings\r\n", shape=True),
        S(b"stats items\r\n", shape=True),
        S(b"stats slabs\r\n", shape=True),
        b"stats sizes\r\n",
        S(b"stats\r\nstats settings\r\n", shape=True),
    ], prefix="shape", flush=False)
    ref_conns, cand_conns = _settle_conns(ref), _settle_conns(cand)
    assert len(_stat_names(ref_conns)) > 4, ref_conns
    assert _stat_names(cand_conns) == _stat_names(ref_conns), (ref_conns, cand_conns)


def test_stats_counters(memcached_factory):
    """A few counters whose values are deterministic on a fresh server (commands sent one at a time)."""
    names = [b"cmd_get", b"cmd_set", b"cmd_touch", b"get_hits", b"get_misses", b"delete_misses", b"delete_hits",
             b"incr_misses", b"incr_hits", b"decr_misses", b"decr_hits", b"cas_misses", b"cas_hits", b"cas_badval",
             b"touch_hits", b"touch_misses", b"curr_items", b"cmd_flush", b"store_too_large",
             b"cmd_meta"]
    # (no expired or flushed items: memcached's background crawler reaps those at random moments; no total_items:
    # memcached's incr rewrites in place only when no other reference is held, and its LRU maintainer holds one for a
    # while after the second fetch of a COLD item, so whether `incr` links a new item depends on that thread's timing)
    commands = [
        b"flush_all 0\r\n",
        store("set", "a", b"1"), store("set", "b", b"2"), store("add", "a", b"x"), b"get a b c\r\n",
        b"gets a\r\n", b"delete b\r\n", b"delete b\r\n", b"incr a 1\r\n", b"incr zz 1\r\n", b"decr a 1\r\n",
        b"decr zz 1\r\n", store("cas", "a", b"1", extra="1"), store("cas", "zz", b"1", extra="1"),
        b"touch a 100\r\n", b"touch zz 100\r\n", store("set", "c", b"3"),
        store("set", "big", b"x" * 1100000), b"gat 0 a zz\r\n", b"mg a v\r\n", b"ma a\r\n",
    ]
    got = {}
    for side, server in zip(("reference", "candidate"), memcached_factory.pair()):
        with server.connect() as c:
            for command in commands:
                data, state = c.exchange(command)
                assert state == "ok", (side, command[:40], data, state)
            c.send(b"stats\r\n")
            data = c.read_response(b"END\r\n")
        stats = dict(l.split(b" ")[1:3] for l in data.split(b"\r\n") if l.startswith(b"STAT "))
        got[side] = {n: stats.get(n) for n in names}
    assert got["reference"][b"cmd_set"] not in (None, b"0")
    assert got["candidate"] == got["reference"]


def test_stats_detail(memcached_factory):
    ref, cand = memcached_factory.pair()
    run_scripts(ref, cand, [
        b"stats detail dump\r\n",
        b"stats detail on\r\n",
        store("set", "user:1", b"a"),
        store("set", "user:2", b"b"),
        store("set", "page:1", b"c"),
        b"get user:1 user:3 page:1 nokey\r\n",
        b"delete page:1\r\n",
        S(b"stats detail dump\r\n", unordered=True),     # prefixes come in hash-table order
        b"stats detail off\r\n",
        b"get user:1\r\n",
        S(b"stats detail dump\r\n", unordered=True),
    ], prefix="detail", flush=False)


def test_stats_sizes(memcached_factory):
    ref, cand = memcached_factory.pair()
    run_scripts(ref, cand, [
        b"stats sizes\r\n",
        b"stats sizes_enable\r\n",
        store("set", "{k}a", b"0123456789"),
        store("set", "{k}b", b"x" * 300),
        store("set", "{k}c", b"y" * 310),
        b"stats sizes\r\n",
        b"stats sizes_disable extra\r\n",
        b"stats sizes\r\n",
    ], prefix="sizes", flush=False)


def _crawl(server, arg):
    """lru_crawler crawl, retried while the background crawler is busy."""
    with server.connect() as c:
        for _ in range(50):
            line = c.call(b"lru_crawler crawl %s\r\n" % arg)
            if not line.startswith(b"BUSY"):
                return line
            time.sleep(0.05)
    return line


def test_lru_crawler_crawl_and_metadump(memcached_factory):
    ref, cand = memcached_factory.pair()
    for arg in (b"1", b"all", b"1,2,3"):
        r, c = _crawl(ref, arg), _crawl(cand, arg)
        assert r == b"OK\r\n" and c == r, (arg, r, c)
    dumps = {}
    for side, server in (("reference", ref), ("candidate", cand)):
        with server.connect() as c:
            c.call(store("set", "md:key%20x", b"abc", flags=3))
            c.call(store("set", b"md:\xffbin", b"z" * 50, exp=100))
            c.send(b"lru_crawler metadump all\r\n")
            data = c.read_response(b"END\r\n", timeout=10)
            after = c.call(b"version\r\n")
        lines = sorted(re.sub(rb"(la|cas|exp)=[0-9-]+", lambda m: m.group(1) + b"=N" if not m.group(0).endswith(b"=-1")
                              else m.group(0), l) for l in data.split(b"\n") if l.startswith(b"key="))
        lines = [re.sub(rb"(cls|size)=[0-9]+", rb"\1=N", l) for l in lines]
        dumps[side] = (lines, after[:8])
    assert len(dumps["reference"][0]) == 2, dumps["reference"]
    assert dumps["candidate"] == dumps["reference"]


def test_metadump_refuses_pipeline(memcached_factory):
    for side in ("reference", "candidate"):
        server = memcached_factory(side)
        with server.connect() as c:
            c.send(b"version\r\nlru_crawler metadump all\r\n")
            data = c.read_response(b"metadump\r\n", timeout=2)
            assert data.endswith(b"\r\nERROR cannot pipeline other commands before metadump\r\n"), (side, data)
            assert data.startswith(b"VERSION "), (side, data)


def test_watch_refused_with_dash_W(memcached_factory):
    """`-W` turns `watch` off: every form is answered with memcached's CLIENT_ERROR."""
    reference = memcached_factory("reference", "-W")
    candidate = memcached_factory("candidate", "-W")
    for request in (b"watch\r\n", b"watch fetchers\r\n", b"watch bogus\r\n", b"watch fetchers noreply\r\n"):
        replies = []
        for server in (reference, candidate):
            with server.connect() as c:
                data, state = c.exchange(request)
                replies.append((data, state))
        assert replies[0] == replies[1], (request, replies)


def test_watch_errors(memcached_factory):
    """Unknown kinds, and `watch` behind other commands of the same read."""
    reference = memcached_factory("reference")
    candidate = memcached_factory("candidate")
    for request in (b"watch bogus\r\n", b"watch fetchers nonsense\r\n"):
        replies = []
        for server in (reference, candidate):
            with server.connect() as c:
                replies.append(c.exchange(request))
        assert replies[0] == replies[1], (request, replies)
    # memcached writes its replies out after `mn` and a get: only other replies still queued refuse the watch.
    for request in (b"mn\r\nwatch\r\n", b"version\r\nwatch\r\n", b"get a\r\nwatch\r\n",
                    b"set a 0 0 1\r\na\r\nwatch\r\n", b"get a\r\nversion\r\nwatch\r\n"):
        replies = []
        for server in (reference, candidate):
            with server.connect() as c:
                c.send(request)
                data, _ = c.read_until(lambda d: d.endswith(b"OK\r\n") or d.endswith(b"watch\r\n"), timeout=2)
                replies.append(re.sub(rb"VERSION \S+", b"VERSION v", data))
        assert replies[0] == replies[1], (request, replies)
    # What follows `watch` in the same read is dropped: the set never runs.
    for server in (reference, candidate):
        with server.connect() as watcher:
            watcher.send(b"watch mutations\r\nset dropped 0 0 1\r\nx\r\n")
            data, _ = watcher.read_until(lambda d: d.endswith(b"OK\r\n"), timeout=2)
            assert data == b"OK\r\n", (server.name, data)
            with server.connect() as c:
                assert c.exchange(b"get dropped\r\n")[0] == b"END\r\nMN\r\n", server.name


def watch_lines(server, kinds: bytes, actions) -> list:
    """Starts a watcher of `kinds`, runs `actions(server)`, and returns the watcher's lines with what differs between
    servers by nature replaced: the time, the line ids (kept in order: a gid is one more than the last), the
    connection numbers, the client ports."""
    import socket as _socket
    watcher = _socket.create_connection((server.host, server.port), timeout=5)
    try:
        watcher.sendall(b"watch " + kinds + b"\r\n")
        data = b""
        while not data.endswith(b"OK\r\n"):
            data += watcher.recv(100)
        actions(server)
        time.sleep(0.3)
        watcher.settimeout(0.5)
        data = b""
        try:
            while True:
                chunk = watcher.recv(65536)
                if not chunk:
                    break
                data += chunk
        except _socket.timeout:
            pass
    finally:
        watcher.close()
    # memcached's worker threads log into buffers of their own, which its logger thread reads in turn: lines of
    # different threads can arrive out of gid order. Ordered by gid, the streams compare.
    entries = []
    for line in data.decode().split("\n"):
        if not line:
            continue
        assert re.match(r"ts=\d+\.\d+ gid=\d+ type=", line), line
        gid = int(re.search(r"gid=(\d+)", line).group(1))
        line = re.sub(r"^ts=\d+\.\d+ gid=\d+ ", "", line)
        line = re.sub(r"cfd=\d+", "cfd=N", line)
        line = re.sub(r"rport=\d+", "rport=P", line)
        entries.append((gid, line))
    entries.sort()
    gids = [gid for gid, _ in entries]
    assert len(set(gids)) == len(gids), gids
    return [line for _, line in entries]


def test_watch_fetchers_and_mutations_lines(memcached_factory):
    """The lines of gets (hit, miss, expired, flushed) and stores (stored, not stored, exists, not found, too large)
    in memcached's format, keys URI-encoded."""
    def actions(server):
        with server.connect() as c:
            c.exchange(b"set wa 5 0 3\r\nabc\r\nget wa wb\r\nadd wa 0 0 1\r\nx\r\n"
                       b"gets wa\r\ncas wa 0 0 1 999\r\ny\r\nreplace wz 0 0 1\r\nz\r\n"
                       b"set w%26x 0 100 2\r\nhi\r\nappend wa 0 0 2\r\nde\r\ntouch wa 100\r\n"
                       b"incr wn 1\r\ndelete wa\r\n")
            # (Not a value over -I: memcached logs that refusal with its class and client read from missing
            # arguments, so they are not the same from run to run.)
            c.exchange(b"set gone 0 -1 1\r\ng\r\nget gone\r\nmg wb v\r\nms wc 2\r\nhi\r\n")
    results = [watch_lines(memcached_factory(side), b"fetchers mutations", actions)
               for side in ("reference", "candidate")]
    assert results[1] == results[0]
    assert any("type=item_store" in line for line in results[0])


def test_watch_connevents_lines(memcached_factory):
    """conn_new and conn_close with the reason: normal (quit, the client hanging up), error (a protocol error)."""
    import socket as _socket

    def actions(server):
        with server.connect() as c:
            c.exchange(b"version\r\n")
            c.send(b"quit\r\n")
            c.read_until_close(timeout=2)
        s = _socket.create_connection((server.host, server.port))
        s.sendall(b"GET / HTTP/1.1\r\n")
        s.settimeout(2)
        try:
            s.recv(10)
        except OSError:
            pass
        s.close()
        s = _socket.create_connection((server.host, server.port))
        s.close()
    results = [watch_lines(memcached_factory(side), b"connevents", actions) for side in ("reference", "candidate")]
    assert results[1] == results[0]
    assert len(results[0]) >= 6


def test_watch_evictions_lines(memcached_factory):
    """Evictions from a full cache (-m 2): the first lines' format (key, fetched, ttl, last access, class, size)."""
    def actions(server):
        with server.connect() as c:
            value = b"v" * 10000
            c.exchange(b"".join(b"set ev%d 0 0 %d noreply\r\n%s\r\n" % (i, len(value), value) for i in range(400)))
    results = []
    for side in ("reference", "candidate"):
        lines = watch_lines(memcached_factory(side, "-m 2"), b"evictions", actions)
        results.append(lines[:5])
    assert results[0], "memcached evicted nothing"
    assert results[1] == results[0]


def test_ascii_authentication(memcached_factory):
    """-Y: every command before "set <key> <flags> <exptime> <bytes>\\r\\n<user> <password>\\r\\n" is refused; wrong
    passwords, a payload without CRLF and one without a password are answered as memcached answers them; then the
    connection works, and auth_cmds/auth_errors count."""
    import socket as _socket
    import subprocess as _subprocess
    from support.memcached import candidate_argv, reference_argv
    from support.servers import free_port

    authfile = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "memcached-t", "authfile")

    class Started:
        """A server the harness cannot start (its readiness check, `version`, is refused before authentication)."""
        def __init__(self, name, argv_for):
            self.name, self.host, self.port = name, "127.0.0.1", free_port()
            self.proc = _subprocess.Popen(argv_for(self.port, ["-Y", authfile]), stdout=_subprocess.DEVNULL,
                                          stderr=_subprocess.DEVNULL, start_new_session=True)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                try:
                    _socket.create_connection((self.host, self.port), timeout=0.5).close()
                    return
                except OSError:
                    time.sleep(0.05)
            raise AssertionError("%s did not listen" % name)

        def connect(self):
            from support.memcached import McConnection
            return McConnection(self.host, self.port)

        def stop(self):
            self.proc.kill()
            self.proc.wait()

    reference = Started("memcached", reference_argv)
    try:
        candidate = Started("candidate", candidate_argv)
    except Exception:
        reference.stop()
        raise
    script = [
        b"get foo\r\n",
        b"version\r\n",
        b"set foo 0 0 2\r\nhi\r\n",
        b"set foo 0 0 7\r\nfoo bab\r\n",
        b"set foo 0 0 3\r\nfoo\r\n",
        b"set foo 0 0 7\r\nfoo barXY",
        b"set foo 0 0 7\r\nfoo bar\r\n",
        b"set toast 0 0 2\r\nhi\r\nget toast\r\n",
        b"stats\r\n",
    ]
    replies = []
    try:
        for server in (reference, candidate):
            got = []
            with server.connect() as c:
                for request in script:
                    c.send(request)
                    data, _ = c.read_until(lambda d: d.endswith(b"\r\n") and (not d.startswith(b"STAT") or
                                                                            d.endswith(b"END\r\n")), timeout=1)
                    if data.startswith(b"STAT"):
                        data = b"\n".join(line for line in data.split(b"\r\n") if line.startswith(b"STAT auth_"))
                    got.append(data)
            replies.append(got)
    finally:
        reference.stop()
        candidate.stop()
    assert replies[1] == replies[0]
    assert replies[0][-1] == b"STAT auth_cmds 2\nSTAT auth_errors 1"
