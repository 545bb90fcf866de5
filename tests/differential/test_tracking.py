"""Client-side caching (CLIENT TRACKING) against real Redis: invalidation frames compared byte for byte.

Uses the multi-connection scenario runner of test_pubsub (a sync marker after every step, `{idN}` for the
client id of connection N).
"""

from test_pubsub import _both


def test_default_mode_resp3(reference_server, candidate_server):
    _both(reference_server, candidate_server, 2, [
        (0, ["HELLO 3"]),
        (0, ["CLIENT TRACKING on", "CLIENT TRACKINGINFO", "CLIENT GETREDIR"]),
        (1, ["SET a 1", "SET b 2", "MSET c 3 d 400"]),
        (0, ["GET a", "MGET b c", "GET missing"]),
        (1, ["SET a 10"]),
        (1, ["SET a 11"]),  # already invalidated: no second message until read again
        (1, ["MSET b 20 c 30", "DEL missing", "SET missing x"]),
        (0, ["GET a", "SET a 12"]),  # its own write invalidates its own read, after the reply
        (0, ["GET d", "INCR d"]),
        (1, ["FLUSHALL"]),
        (0, ["GET a", "FLUSHDB"]),
        (0, ["CLIENT TRACKING off", "GET a"]),
        (1, ["SET a 1"]),
        (0, ["CLIENT TRACKINGINFO"]),
    ])


def test_noloop_optin_optout(reference_server, candidate_server):
    _both(reference_server, candidate_server, 2, [
        (0, ["HELLO 3"]),
        (0, ["CLIENT TRACKING on NOLOOP", "GET k", "SET k v"]),
        (1, ["SET k w"]),
        (0, ["GET k"]),
        (1, ["SET k x"]),
        (0, ["CLIENT TRACKING off", "CLIENT TRACKING on OPTIN", "GET a", "CLIENT CACHING yes", "GET b", "GET c"]),
        (1, ["SET a 1", "SET b 1", "SET c 1"]),
        (0, ["CLIENT TRACKINGINFO", "CLIENT CACHING yes", "CLIENT TRACKINGINFO"]),
        (0, ["MULTI", "GET a", "GET c", "EXEC"]),
        (1, ["SET a 2", "SET c 2"]),
        (0, ["CLIENT TRACKING off", "CLIENT TRACKING on OPTOUT", "CLIENT CACHING no", "GET a", "GET b"]),
        (1, ["SET a 3", "SET b 3"]),
        (0, ["CLIENT CACHING no", "CLIENT TRACKINGINFO"]),
    ])


def test_redirect_resp2(reference_server, candidate_server):
    _both(reference_server, candidate_server, 3, [
        (1, ["SUBSCRIBE __redis__:invalidate"]),
        (0, ["CLIENT TRACKING on REDIRECT {id1}", "CLIENT GETREDIR", "CLIENT TRACKINGINFO"]),
        (0, ["GET a", "GET b"]),
        (2, ["SET a 1", "DEL b", "SET b 2"]),
        (0, ["GET a"]),
        (2, ["FLUSHALL"]),
        (0, ["CLIENT TRACKING on REDIRECT {id2}"]),
        (0, ["CLIENT TRACKING on BCAST"]),
    ])


def test_redirect_broken_resp3(reference_server, candidate_server):
    _both(reference_server, candidate_server, 3, [
        (0, ["HELLO 3"]),
        (0, ["CLIENT TRACKING on REDIRECT {id1}", "GET k"]),
        (1, ["QUIT"]),
        (2, ["SET k v"]),
        (0, ["CLIENT TRACKINGINFO"]),
    ])


def test_bcast(reference_server, candidate_server):
    _both(reference_server, candidate_server, 3, [
        (0, ["HELLO 3"]),
        (1, ["HELLO 3"]),
        (0, ["CLIENT TRACKING on BCAST PREFIX user: PREFIX obj:", "CLIENT TRACKINGINFO"]),
        (1, ["CLIENT TRACKING on BCAST NOLOOP"]),
        # One write per step: Redis broadcasts once per event-loop iteration, so how pipelined writes are grouped
        # depends on how the bytes arrive.
        (2, ["SET user:1 a"]),
        (2, ["SET obj:9 b"]),
        (2, ["SET other c"]),
        (2, ["MSET user:2 d user:1 e"]),
        (1, ["SET user:3 x", "SET zzz y"]),
        (0, ["SET obj:1 z"]),
        (0, ["GET user:1"]),
        (0, ["CLIENT TRACKING on BCAST PREFIX obj:x"]),
        (0, ["CLIENT TRACKING on BCAST PREFIX new: PREFIX ne"]),
        (0, ["CLIENT TRACKING on BCAST PREFIX z:", "CLIENT TRACKINGINFO"]),
        (2, ["SET z:1 1"]),
    ])


def test_errors(reference_server, candidate_server):
    _both(reference_server, candidate_server, 1, [
        (0, ["CLIENT TRACKING", "CLIENT TRACKING maybe", "CLIENT TRACKING on PREFIX a", "CLIENT TRACKING on foo"]),
        (0, ["CLIENT TRACKING on BCAST OPTIN", "CLIENT TRACKING on OPTIN OPTOUT", "CLIENT TRACKING on REDIRECT 999999"]),
        (0, ["CLIENT TRACKING on REDIRECT x", "CLIENT TRACKING on REDIRECT {id0} REDIRECT {id0}"]),
        (0, ["CLIENT TRACKING on BCAST PREFIX ab PREFIX abc", "CLIENT CACHING yes", "CLIENT TRACKING off"]),
        (0, ["CLIENT TRACKING on OPTIN", "CLIENT TRACKING on OPTOUT", "CLIENT CACHING no", "CLIENT CACHING maybe"]),
        (0, ["CLIENT TRACKING on BCAST", "CLIENT TRACKING off", "CLIENT TRACKING on OPTOUT", "CLIENT CACHING yes"]),
        (0, ["CLIENT TRACKING off", "CLIENT CACHING yes", "CLIENT GETREDIR", "CLIENT GETREDIR x"]),
    ])
