"""Differential tests of the memcached meta protocol (mg ms md ma mn me) against a real memcached 1.6.18.

Same machinery as test_memcached_text.py: each script runs on a fresh connection after flush_all, each step
is followed by ``mn`` and the replies are compared byte for byte after normalisation (meta ``c`` flags and
``me`` cas= become #1, #2 ... by first appearance; ``t``/``l`` flags and ``me`` exp=/la= are compared with a
2 s tolerance; ``me`` cls=/size= are masked).

Print what memcached answers while writing a script:
    SWIFTLET_MEMCACHED_CMD="memcached -u root -p {port} -U 0 -l 127.0.0.1" SWIFTLET_MC_SHOW=1 \\
        python3 -m pytest tests/differential/test_memcached_meta.py -q -s -k NAME
"""

import base64

import pytest

from support.memcached import Step, run_scripts

S = Step


def ms(key, value, flags=b""):
    """``ms key len flags\\r\\nvalue\\r\\n``."""
    key = key if isinstance(key, bytes) else key.encode()
    flags = flags if isinstance(flags, bytes) else flags.encode()
    return b"ms %s %d%s\r\n%s\r\n" % (key, len(value), (b" " + flags) if flags else b"", value)


def b64(raw):
    return base64.b64encode(raw)


SCRIPTS = {}

# ---------------------------------------------------------------------------
# mg

SCRIPTS["mg_flags_on_hit"] = [
    ms("{k}", b"hello", "F17 T100"),
    b"mg {k}\r\n",
    b"mg {k} v\r\n",
    b"mg {k} s\r\n",
    b"mg {k} f\r\n",
    b"mg {k} t\r\n",
    b"mg {k} c\r\n",
    b"mg {k} k\r\n",
    b"mg {k} Oopaque123\r\n",
    b"mg {k} q\r\n",
    b"mg {k} u\r\n",
    b"mg {k} P L\r\n",
    b"mg {k} Pfoo/bar Lroute v\r\n",
    b"mg {k} v s f t c k Oxyz\r\n",
    b"mg {k} Oxyz k c t f s v\r\n",
    b"mg {k} q k v\r\n",
]

SCRIPTS["mg_flags_on_miss"] = [
    b"mg {k}\r\n",
    b"mg {k} v\r\n",
    b"mg {k} v s f t c h l u\r\n",
    b"mg {k} k\r\n",
    b"mg {k} O123\r\n",
    b"mg {k} k O123 v\r\n",
    b"mg {k} O123 k v\r\n",
    b"mg {k} q\r\n",
    b"mg {k} q k O1 v\r\n",
]

SCRIPTS["mg_quiet_pipeline"] = [
    ms("{k}a", b"A"),
    ms("{k}c", b"C"),
    b"mg {k}a v q k\r\nmg {k}b v q k\r\nmg {k}c v q k\r\nmg {k}d v q k O4\r\nmn\r\n",
    b"mg {k}b q\r\nmg {k}b q\r\nmn\r\n",
]

SCRIPTS["mg_hit_and_last_access"] = [
    ms("{k}", b"v"),
    b"mg {k} h l\r\n",
    b"mg {k} h l\r\n",
    ms("{k}2", b"v"),
    b"mg {k}2 h u\r\n",
    b"mg {k}2 h\r\n",
    b"mg {k}2 h\r\n",
    b"get {k}2\r\n",
    ms("{k}3", b"v"),
    b"get {k}3\r\n",
    b"mg {k}3 h\r\n",
    b"mg {k}miss h l\r\n",
]

SCRIPTS["mg_touch_T"] = [
    ms("{k}", b"v"),
    b"mg {k} t\r\n",
    b"mg {k} T100 t\r\n",
    b"mg {k} t T300\r\n",
    b"mg {k} t\r\n",
    b"mg {k} T0 t\r\n",
    b"mg {k} T-1 v\r\n",
    b"mg {k} v\r\n",
    b"mg {k}miss T100 t\r\n",
    ms("{k}abs", b"v"),
    b"mg {k}abs T{now+200} t\r\n",
    b"mg {k}abs T{now-10} v\r\n",
    b"mg {k}abs v\r\n",
]

SCRIPTS["mg_vivify_N"] = [
    b"mg {k} N30 v c t s\r\n",
    b"mg {k} N30 v c t s\r\n",
    b"mg {k} v c t\r\n",
    b"mg {k} c\r\n",
    ms("{k}", b"fresh", "C{cas} T0"),
    b"mg {k} N30 v t c\r\n",
    b"mg {k}2 N0 q\r\n",
    b"mg {k}2 N0 q\r\n",
    b"mg {k}2 v t\r\n",
    b"mg {k}3 N30 q k O7 v\r\nmn\r\n",
    b"mg {k}4 N30 t T100\r\n",
    b"mg {k}5 T100 N30 t\r\n",
]

SCRIPTS["mg_recache_R"] = [
    ms("{k}", b"x", "T100"),
    b"mg {k} R30 v t\r\n",
    b"mg {k} R200 v t\r\n",
    b"mg {k} R200 v t\r\n",
    b"mg {k} v\r\n",
    ms("{k}", b"y", "T100"),
    b"mg {k} R200 v\r\n",
    ms("{k}forever", b"z"),
    b"mg {k}forever R200 v t\r\n",
    b"mg {k}miss R200 v\r\n",
]

SCRIPTS["mg_stale_after_md_I"] = [
    ms("{k}", b"x", "T100"),
    b"mg {k} c\r\n",
    b"md {k} I T30\r\n",
    b"mg {k} v t c\r\n",
    b"mg {k} v t c\r\n",
    b"mg {k} c\r\n",
    ms("{k}", b"y", "C{cas}"),
    b"mg {k} v c t\r\n",
]

SCRIPTS["mg_errors"] = [
    ms("{k}", b"a"),
    b"mg\r\n",
    b"mg {k} v v\r\n",
    b"mg {k} v s t f s\r\n",
    b"mg {k} !\r\n",
    b"mg {k} x\r\n",
    b"mg {k} E5\r\n",
    b"mg {k} S\r\n",
    b"mg {k} I\r\n",
    b"mg {k} 1 2\r\n",
    b"mg {k} T\r\n",
    b"mg {k} Tabc\r\n",
    b"mg {k} T1.5\r\n",
    b"mg {k} N\r\n",
    b"mg {k} Rx\r\n",
    b"mg {k} Cabc\r\n",
    b"mg {k} Mx\r\n",
    b"mg {k} MSS\r\n",
    b"mg {k} Dx\r\n",
    b"mg {k} Jx\r\n",
    b"mg {k} Fx\r\n",
    b"mg {k} v\r\n",
]

SCRIPTS["mg_opaque_length"] = [
    ms("{k}", b"a"),
    b"mg {k} O" + b"1" * 31 + b" v\r\n",
    b"mg {k} O" + b"1" * 32 + b" v\r\n",
    b"mg {k}miss O" + b"1" * 31 + b" v\r\n",
    b"mg {k}miss O" + b"1" * 32 + b" v\r\n",
    b"mg {k} O\r\n",
    b"mg {k}miss O k\r\n",
]

SCRIPTS["mg_too_many_flags"] = [
    ms("{k}", b"a"),
    b"mg {k} v s t f c k h l u q O1 P L Pa\r\n",
    b"mg {k} v s t f c k h l u O1 P L T10 N10 R10 b\r\n",
    b"mg {k} v s t f c k h l u O1 P L T10 N10 R10 q\r\n",
    b"mg {k} v s t f c k h l u O1 P L T10 N10 R10 q 1\r\n",
    b"mg {k} 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\r\n",
    b"mg {k} 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18\r\n",
    b"mg {k} v\r\n",
]


def mg_key_length(prefix):
    k250 = (prefix + "x" * 250)[:250].encode()
    k251 = (prefix + "x" * 251)[:251].encode()
    return [
        ms(k250, b"ok"),
        ms(k251, b"no"),
        b"mg " + k250 + b" v k\r\n",
        b"mg " + k251 + b" v k\r\n",
        b"md " + k251 + b"\r\n",
        b"ma " + k251 + b"\r\n",
        b"me " + k251 + b"\r\n",
        b"mg " + k250 + b" q\r\n",
    ]


SCRIPTS["mg_key_length"] = mg_key_length

SCRIPTS["mg_key_bytes"] = [
    ms(b"{k}\x01\x7f\xff", b"ctl"),
    b"mg {k}\x01\x7f\xff v k\r\n",
    b"get {k}\x01\x7f\xff\r\n",
    b"mg {k}\x00junk v\r\n",
]


def base64_keys(prefix):
    raw = b"\x00\x01" + prefix.encode() + b" bin\xff"
    enc = b64(raw)
    text_key = prefix.encode() + b"-text"
    return [
        ms(enc, b"abc", "b k c"),
        b"mg " + enc + b" b k v\r\n",
        b"mg " + enc + b" k v\r\n",            # without b the base64 text is a different key
        b"me " + enc + b" b\r\n",
        b"ma " + enc + b" b\r\n",
        b"md " + enc + b" b k q\r\n",
        b"mg " + enc + b" b k v\r\n",
        b"mg " + enc + b" b k v q\r\nmn\r\n",
        # a base64 key that decodes to printable text is the same item as that text key
        ms(b64(text_key), b"shared", "b"),
        b"get " + text_key + b"\r\n",
        b"mg " + text_key + b" v k\r\n",
        b"mg " + b64(text_key) + b" b v k\r\n",
        # invalid base64
        b"mg a b v\r\n",
        b"mg ==== b v\r\n",
        b"mg ab*d b v\r\n",
        ms(b"abc", b"x", "b"),
        b"md a b\r\n",
        b"ma a b\r\n",
        b"me a b\r\n",
        b"mg " + b64(b"x" * 200) + b" b v\r\n",
    ]


SCRIPTS["base64_keys"] = base64_keys

# ---------------------------------------------------------------------------
# ms

SCRIPTS["ms_basic"] = [
    ms("{k}", b"hi"),
    b"mg {k} v f t s\r\n",
    ms("{k}", b"there", "F7 T100"),
    b"mg {k} v f t s\r\n",
    ms("{k}", b"x", "c k O1"),
    ms("{k}", b"x", "O1 k c"),
    ms("{k}", b"x", "q"),
    ms("{k}", b"x", "q c k"),
    ms("{k}", b""),
    b"mg {k} v s\r\n",
    ms("{k}", b"\r\n\x00binary\r\n"),
    b"mg {k} v\r\n",
    b"get {k}\r\n",
    ms("{k}", b"x", "P L Pfoo"),
    ms("{k}", b"x", "T0"),
    b"mg {k} t\r\n",
    ms("{k}", b"x", "T-1"),
    b"mg {k} v\r\n",
    ms("{k}", b"x", "F4294967296"),
    b"mg {k} f\r\n",
    ms("{k}", b"x", "F-1"),
    ms("{k}", b"x", "v h l u s t f"),
    b"mg {k} v\r\n",
]

SCRIPTS["ms_modes"] = [
    ms("{k}", b"hi", "MS"),
    ms("{k}", b"no", "ME"),
    ms("{k}", b"no", "ME q"),
    ms("{k}new", b"added", "ME c"),
    ms("{k}missing", b"x", "MR"),
    ms("{k}", b"replaced", "MR"),
    ms("{k}", b">>", "MA"),
    ms("{k}", b"<<", "MP"),
    b"mg {k} v\r\n",
    ms("{k}missing", b"x", "MA"),
    ms("{k}missing", b"x", "MP"),
    ms("{k}missing", b"x", "MA N30"),
    b"mg {k}missing v\r\n",
    ms("{k}", b"x", "Ms"),
    ms("{k}", b"x", "Me"),
    ms("{k}", b"x", "MX"),
    ms("{k}", b"x", "M"),
    ms("{k}", b"x", "MSS"),
    ms("{k}", b"x", "MI"),
    b"mg {k} v\r\n",
    b"mg {k}new v\r\n",
]

SCRIPTS["ms_compare_cas"] = [
    ms("{k}missing", b"x", "C5"),
    ms("{k}", b"v1", "c"),
    ms("{k}", b"v2", "C{cas+1}"),
    ms("{k}", b"v2", "C{cas+1} c"),
    ms("{k}", b"v2", "C0"),
    ms("{k}", b"v2", "C{cas} c"),
    ms("{k}", b"v3", "C{cas} c q"),
    ms("{k}", b"v3", "C{cas}1 q"),
    b"mg {k} v c\r\n",
    ms("{k}", b">", "C{cas} MA c"),
    ms("{k}", b">", "C1 MA"),
    ms("{k}", b"<", "C1 MP"),
    ms("{k}", b"r", "C1 MR"),
    ms("{k}", b"e", "C1 ME"),
    ms("{k}", b"r", "C{cas} MR c"),
    b"mg {k} v c\r\n",
    ms("{k}", b"x", "Cabc"),
    ms("{k}", b"x", "C-1"),
]

SCRIPTS["ms_invalidate_I"] = [
    ms("{k}", b"v1", "T100"),
    b"mg {k} c\r\n",
    ms("{k}", b"v2", "T100"),
    b"mg {k} c\r\n",
    ms("{k}", b"stale", "C{cas1} I"),
    b"mg {k} v c t\r\n",
    b"mg {k} v c t\r\n",
    ms("{k}", b"newer", "C{cas+5} I"),
    ms("{k}", b"plain", "I"),
    b"mg {k} v c\r\n",
    ms("{k}", b"fresh", "C{cas}"),
    b"mg {k} v c\r\n",
]

SCRIPTS["ms_errors_not_swallowed"] = [
    # errors found before the data length is known leave the data line to be read as a command
    b"ms {k}\r\n",
    b"ms {k} abc\r\nxx\r\n",
    b"ms {k} -1\r\nxx\r\n",
    b"ms {k} 1.5\r\nxx\r\n",
    b"ms {k} 2147483647\r\nxx\r\n",
    b"ms {k} 1 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\r\nx\r\n",
    b"mg {k} v\r\n",
]

SCRIPTS["ms_errors_swallowed"] = [
    # errors in the flags swallow the data block
    ms("{k}", b"xy", "x"),
    ms("{k}", b"xy", "k k"),
    ms("{k}", b"xy", "T"),
    ms("{k}", b"xy", "Tabc"),
    ms("{k}", b"xy", "Fabc"),
    ms("{k}", b"xy", "Cabc"),
    ms("{k}", b"xy", "O" + "1" * 32),
    ms("{k}", b"xy", "MZ"),
    ms("{k}", b"xy", "E5"),
    ms("{k}", b"xy", "S2"),
    ms("{k}", b"xy", "x q"),
    ms("{k}", b"version", "!"),          # a swallowed data block is never run as a command
    b"mg {k} v\r\n",
]

SCRIPTS["ms_bad_data_chunk"] = [
    b"ms {k} 2\r\nabcd\r\n",
    b"ms {k} 2 q\r\nabcd\r\n",
    b"ms {k} 2 q\r\nabXY",
    b"mg {k} v\r\n",
    S(b"ms {k} 5\r\nab\r\nmn\r\n", mn=1),
    b"mg {k} v\r\n",
]


def ms_key_errors(prefix):
    k251 = (prefix + "z" * 251)[:251].encode()
    return [
        b"ms " + k251 + b" 2\r\nxy\r\n",
        b"ms " + k251 + b" 2 q\r\nxy\r\n",
        b"ms a 2 b\r\nxy\r\n",
        b"mg a v\r\n",
    ]


SCRIPTS["ms_key_errors"] = ms_key_errors


def ms_too_large(prefix):
    big = b"L" * 1100000
    return [
        ms("{k}", b"old"),
        ms("{k}", big, "ME"),
        b"mg {k} v\r\n",
        ms("{k}", b"old"),
        ms("{k}", big, "q"),
        b"mg {k} v\r\n",
        ms("{k}", b"b" * 500000, "c"),
        b"mg {k} s c\r\n",
    ]


SCRIPTS["ms_too_large"] = ms_too_large

SCRIPTS["ms_noreply_codes"] = [
    ms("{k}", b"a", "q"),
    ms("{k}", b"a", "q ME"),
    ms("{k}missing", b"a", "q MR"),
    ms("{k}missing", b"a", "q C1"),
    ms("{k}", b"a", "q C1"),
    ms("{k}", b"a", "q MA"),
    b"mg {k} v q\r\nmg {k}missing v q\r\nmn\r\n",
]

# ---------------------------------------------------------------------------
# md

SCRIPTS["md_basic"] = [
    b"md {k}\r\n",
    b"md {k} q\r\n",
    b"md {k} O1 k\r\n",
    ms("{k}", b"a"),
    b"md {k}\r\n",
    b"mg {k} v\r\n",
    ms("{k}", b"a"),
    b"md {k} q\r\n",
    b"mg {k} v\r\n",
    ms("{k}", b"a"),
    b"md {k} k O9 q\r\n",
    ms("{k}", b"a"),
    b"md {k} k O9\r\n",
    b"md {k} P L\r\n",
    b"md {k} v\r\n",
    b"md {k} T30\r\n",
]

SCRIPTS["md_compare_cas"] = [
    ms("{k}", b"a"),
    b"md {k} C1\r\n",
    b"md {k} C1 q\r\n",
    b"mg {k} c\r\n",
    b"md {k} C{cas+1} q\r\n",
    b"md {k} C{cas} O2 k\r\n",
    b"md {k} C{cas}\r\n",
    b"md {k}missing C5\r\n",
]

SCRIPTS["md_invalidate"] = [
    ms("{k}", b"x", "T100"),
    b"mg {k} c\r\n",
    b"md {k} I\r\n",
    b"mg {k} v c t\r\n",
    b"md {k} I T30 q\r\n",
    b"mg {k} v c t\r\n",
    b"md {k} I C1\r\n",
    b"md {k}missing I\r\n",
    b"md {k} C{cas}\r\n",
    b"mg {k} v\r\n",
]

SCRIPTS["md_errors"] = [
    ms("{k}", b"a"),
    b"md\r\n",
    b"md {k} x\r\n",
    b"md {k} q q\r\n",
    b"md {k} T\r\n",
    b"md {k} Cx\r\n",
    b"md {k} E5\r\n",
    b"md {k} x q\r\n",
    b"md {k} O" + b"1" * 32 + b"\r\n",
    b"md {k} 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\r\n",
    b"md {k} 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18\r\n",
    b"mg {k} v\r\n",
]

# ---------------------------------------------------------------------------
# ma

SCRIPTS["ma_basic"] = [
    b"ma {k}\r\n",
    b"ma {k} q\r\n",
    b"ma {k} v\r\n",
    ms("{k}", b"10"),
    b"ma {k}\r\n",
    b"mg {k} v\r\n",
    b"ma {k} v\r\n",
    b"ma {k} q\r\n",
    b"ma {k} v q\r\n",
    b"ma {k} D5 v\r\n",
    b"ma {k} D0 v\r\n",
    b"ma {k} k O5 v\r\n",
    b"ma {k} O5 k\r\n",
    b"ma {k} P L v\r\n",
    b"mg {k} v\r\n",
]

SCRIPTS["ma_modes"] = [
    ms("{k}", b"50"),
    b"ma {k} MI v\r\n",
    b"ma {k} M+ v\r\n",
    b"ma {k} MD v\r\n",
    b"ma {k} M- v\r\n",
    b"ma {k} M- D100 v\r\n",
    b"ma {k} MD D5 v\r\n",
    b"ma {k} Mi v\r\n",
    b"ma {k} Md v\r\n",
    b"ma {k} Mx v\r\n",
    b"ma {k} M v\r\n",
    b"ma {k} MII v\r\n",
    b"mg {k} v\r\n",
]

SCRIPTS["ma_autovivify"] = [
    b"ma {k} N0 v\r\n",
    b"ma {k} N0 v\r\n",
    b"ma {k}2 N100 J42 v t\r\n",
    b"ma {k}2 N100 J42 v t\r\n",
    b"ma {k}3 N0 J9223372036854775806 v\r\n",
    b"ma {k}3 v\r\n",
    b"ma {k}4 N0 q\r\n",
    b"ma {k}4 N0 q\r\n",
    b"ma {k}5 J5 v\r\n",
    b"ma {k}6 N0 J7 MD v\r\n",
    b"ma {k}6 MD D10 v\r\n",
    b"mg {k} v\r\nmg {k}2 v\r\nmg {k}3 v\r\nmg {k}4 v\r\nmg {k}5 v\r\nmg {k}6 v t\r\n",
]

SCRIPTS["ma_floor_and_padding"] = [
    # (no ma right after a fetch of its key: see incr_length_change in test_memcached_text.py)
    ms("{k}", b"5"),
    b"ma {k} MD D6 v\r\n",
    ms("{k}", b"100"),
    b"ma {k} MD v\r\n",
    b"ma {k} D18446744073709551615 v\r\n",
    b"ma {k} D18446744073709551616 v\r\n",
    b"mg {k} v s\r\n",
]

# stored values >= 2**63 only on a fresh server (see COUNTERS_ABOVE_2_63 in test_memcached_text.py)
MA_ABOVE_2_63 = [
    ms("w1", b"18446744073709551615"),
    b"ma w1 v\r\n",
    b"mg w1 v\r\n",
    ms("w2", b"9223372036854775807"),
    b"ma w2 v c\r\n",
    b"ma w2 D18446744073709551615 v\r\n",
    b"ma w2 MD D18446744073709551615 v\r\n",
    b"ma w3 N0 J18446744073709551615 v\r\n",
    b"ma w3 v\r\n",
    b"mg w3 v\r\n",
]


def test_ma_above_2_63(memcached_factory):
    ref, cand = memcached_factory.pair()
    run_scripts(ref, cand, MA_ABOVE_2_63, prefix="wrap", flush=False)


SCRIPTS["ma_non_numeric"] = [
    ms("{k}", b"abc"),
    b"ma {k}\r\n",
    b"ma {k} q\r\n",
    ms("{k}", b""),
    b"ma {k} v\r\n",
    ms("{k}", b"-1"),
    b"ma {k} v\r\n",
    ms("{k}", b" 7"),
    b"ma {k} v\r\n",
]

SCRIPTS["ma_cas_and_ttl"] = [
    ms("{k}", b"1", "T100"),
    b"ma {k} C1\r\n",
    b"ma {k} C1 q\r\n",
    b"mg {k} c\r\n",
    b"ma {k} C{cas} v c\r\n",
    b"ma {k} C{cas} v c\r\n",
    b"ma {k} v t\r\n",
    b"ma {k} v c t T300\r\n",
    b"ma {k} v t\r\n",
    b"ma {k} T0 t v\r\n",
    b"ma {k}missing C1\r\n",
    b"ma {k}missing C1 N0 v\r\n",
]

SCRIPTS["ma_errors"] = [
    ms("{k}", b"1"),
    b"ma\r\n",
    b"ma {k} x\r\n",
    b"ma {k} v v\r\n",
    b"ma {k} D-1\r\n",
    b"ma {k} Dabc\r\n",
    b"ma {k} D\r\n",
    b"ma {k} Jx N0\r\n",
    b"ma {k} N\r\n",
    b"ma {k} Tx\r\n",
    b"ma {k} Cx\r\n",
    b"ma {k} E5\r\n",
    b"ma {k} O" + b"1" * 32 + b"\r\n",
    b"ma {k} 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18\r\n",
    b"mg {k} v\r\n",
]

# ---------------------------------------------------------------------------
# mn, me, and meta mixed with the classic commands

SCRIPTS["mn"] = [
    b"mn\r\n",
    b"mn extra tokens\r\n",
    b"mn\r\nmn\r\nmn\r\n",
]

SCRIPTS["me_debug"] = [
    b"me\r\n",
    b"me {k}\r\n",
    ms("{k}", b"abc", "T100"),
    b"me {k}\r\n",
    b"mg {k} v\r\n",
    b"me {k}\r\n",
    b"me {k} extra\r\n",
    b"me {k} b\r\n",
    ms("{k}2", b"x" * 1000, "F5"),
    b"me {k}2\r\n",
    b"me {k}\x00\r\n",
]

SCRIPTS["meta_and_text_mixed"] = [
    b"set {k} 12 0 3\r\nabc\r\n",
    b"mg {k} v f s\r\n",
    ms("{k}2", b"xyz", "F99 T100"),
    b"get {k}2\r\n",
    b"gets {k}2\r\n",
    b"mg {k}2 c\r\n",
    b"incr {k}2 1\r\n",
    ms("{k}3", b"41"),
    b"incr {k}3 1\r\n",
    b"ma {k}3 v\r\n",
    b"decr {k}3 1\r\n",
    b"mg {k}3 v s\r\n",
    b"touch {k}3 100\r\n",
    b"mg {k}3 t\r\n",
    b"delete {k}3\r\n",
    b"md {k}3\r\n",
    b"set {k}4 0 0 1 noreply\r\na\r\nmg {k}4 v q\r\nmn\r\n",
]

SCRIPTS["meta_unknown_commands"] = [
    b"mx {k}\r\n",
    b"mG {k}\r\n",
    b"Mg {k}\r\n",
    b"mgg {k}\r\n",
    b"m {k}\r\n",
    b"mg\r\n",
    b"ms\r\n",
    b"md\r\n",
    b"ma\r\n",
    b"me\r\n",
]


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_meta_script(memcached_reference, memcached_candidate, name):
    script = SCRIPTS[name]
    steps = script(name) if callable(script) else script
    run_scripts(memcached_reference, memcached_candidate, steps, prefix=name)
