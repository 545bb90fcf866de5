import NIOCore
import SwiftletKeyspace
import SwiftletRESP
import Testing

@testable import SwiftletEngine

struct SortedSetCommandsTests {
    /// numkeys up to Int64.max is an error, never an overflow (ZMPOP with 9223372036854775807 crashed the server
    /// before; replies are redis-server 7.0's).
    @Test func hugeNumkeysIsASyntaxError() {
        let h = CommandHarness()
        #expect(h.run("ZADD", "z", "1", "a") == .int(1))
        #expect(h.run("RPUSH", "l", "a") == .int(1))
        let max = "9223372036854775807"
        for request in [
            ["ZMPOP", max, "MAX", "z"], ["ZMPOP", max, "COUNT", "z"], ["ZMPOP", "9223372036854775806", "MIN", "z"],
            ["BZMPOP", "0", max, "MAX", "z"], ["LMPOP", max, "LEFT", "l"], ["BLMPOP", "0", max, "LEFT", "l"],
            ["ZUNION", max, "z"], ["ZINTER", max, "z"], ["ZDIFF", max, "z"], ["ZINTERCARD", max, "z"],
            ["ZUNIONSTORE", "d", max, "z"], ["ZINTERSTORE", "d", max, "z"], ["ZDIFFSTORE", "d", max, "z"],
        ] {
            #expect(h.run(request.map { Array($0.utf8) }) == .err("ERR syntax error"), "\(request)")
        }
        #expect(h.run("SINTERCARD", max, "z") == .err("ERR Number of keys can't be greater than number of args"))
        #expect(h.run("ZMPOP", "-9223372036854775808", "MIN", "z") == .err("ERR numkeys should be greater than 0"))
        #expect(h.run("ZUNION", "18446744073709551616", "z") == .err("ERR value is not an integer or out of range"))
    }

    @Test func addScoreRankRange() {
        let h = CommandHarness()
        #expect(h.run("ZADD", "z", "1", "a", "2", "b", "3", "c") == .int(3))
        #expect(h.run("ZADD", "z", "CH", "5", "a", "2", "b", "4", "d") == .int(2))
        #expect(h.run("ZSCORE", "z", "a") == .bulk("5"))
        #expect(h.run("ZRANK", "z", "a") == .int(3))
        #expect(h.run("ZREVRANK", "z", "a") == .int(0))
        #expect(h.run("ZRANGE", "z", "0", "-1") == .bulks(["b", "c", "d", "a"]))
        #expect(h.run("ZRANGE", "z", "(2", "+inf", "BYSCORE", "LIMIT", "1", "5") == .bulks(["d", "a"]))
        #expect(h.run("ZCARD", "z") == .int(4))
        #expect(h.run("OBJECT", "ENCODING", "z") == .bulk("listpack"))
    }

    @Test func errorTexts() {
        let h = CommandHarness()
        #expect(
            h.run("ZADD", "z", "NX", "XX", "1", "a")
                == .err("ERR XX and NX options at the same time are not compatible")
        )
        #expect(
            h.run("ZADD", "z", "GT", "LT", "1", "a")
                == .err("ERR GT, LT, and/or NX options at the same time are not compatible")
        )
        #expect(
            h.run("ZADD", "z", "INCR", "1", "a", "2", "b")
                == .err("ERR INCR option supports a single increment-element pair")
        )
        #expect(h.run("ZADD", "z", "x", "a") == .err("ERR value is not a valid float"))
        #expect(h.run("ZADD", "z", "inf", "a") == .int(1))
        #expect(h.run("ZINCRBY", "z", "-inf", "a") == .err("ERR resulting score is not a number (NaN)"))
        #expect(h.run("ZRANGE", "z", "x", "1", "BYSCORE") == .err("ERR min or max is not a float"))
        #expect(h.run("ZRANGE", "z", "a", "b", "BYLEX") == .err("ERR min or max not valid string range item"))
        #expect(
            h.run("ZRANGE", "z", "0", "1", "LIMIT", "0", "1")
                == .err("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
        )
        #expect(
            h.run("ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES")
                == .err("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
        )
        #expect(h.run("ZUNION", "0", "z") == .err("ERR at least 1 input key is needed for 'zunion' command"))
        #expect(
            h.run("ZUNIONSTORE", "d", "0", "z") == .err("ERR at least 1 input key is needed for 'zunionstore' command")
        )
        #expect(h.run("ZUNION", "1", "z", "WEIGHTS", "x") == .err("ERR weight value is not a float"))
        #expect(h.run("ZINTERCARD", "1", "z", "LIMIT", "-1") == .err("ERR LIMIT can't be negative"))
        #expect(h.run("ZPOPMIN", "z", "-1") == .err("ERR value is out of range, must be positive"))
        #expect(h.run("ZMPOP", "0", "z", "MIN") == .err("ERR numkeys should be greater than 0"))
        #expect(h.run("ZMPOP", "1", "z", "MIN", "COUNT", "0") == .err("ERR count should be greater than 0"))
        #expect(
            h.run("ZRANDMEMBER", "z", "-9223372036854775808")
                == .err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
        )
        #expect(h.run("ZRANDMEMBER", "z", "9223372036854775807", "WITHSCORES") == .err("ERR value is out of range"))
        #expect(h.run("ZSCAN", "z", "x") == .err("ERR invalid cursor"))
    }

    @Test func wrongTypeOnEveryCommand() {
        let h = CommandHarness()
        #expect(h.run("SET", "s", "x") == .ok)
        let commands: [[String]] = [
            ["ZADD", "s", "1", "a"], ["ZINCRBY", "s", "1", "a"], ["ZREM", "s", "a"], ["ZCARD", "s"],
            ["ZSCORE", "s", "a"], ["ZMSCORE", "s", "a"], ["ZRANK", "s", "a"], ["ZREVRANK", "s", "a"],
            ["ZCOUNT", "s", "0", "1"], ["ZLEXCOUNT", "s", "-", "+"], ["ZRANGE", "s", "0", "1"],
            ["ZRANGESTORE", "d", "s", "0", "1"], ["ZREVRANGE", "s", "0", "1"], ["ZRANGEBYSCORE", "s", "0", "1"],
            ["ZREVRANGEBYSCORE", "s", "1", "0"], ["ZRANGEBYLEX", "s", "-", "+"], ["ZREVRANGEBYLEX", "s", "+", "-"],
            ["ZREMRANGEBYRANK", "s", "0", "1"], ["ZREMRANGEBYSCORE", "s", "0", "1"], ["ZREMRANGEBYLEX", "s", "-", "+"],
            ["ZPOPMIN", "s"], ["ZPOPMAX", "s"], ["ZMPOP", "1", "s", "MIN"], ["ZRANDMEMBER", "s"], ["ZSCAN", "s", "0"],
            ["ZUNION", "1", "s"], ["ZINTER", "1", "s"], ["ZDIFF", "1", "s"], ["ZUNIONSTORE", "d", "1", "s"],
            ["ZINTERSTORE", "d", "1", "s"], ["ZDIFFSTORE", "d", "1", "s"], ["ZINTERCARD", "1", "s"],
        ]
        for c in commands {
            #expect(
                h.run(c.map { Array($0.utf8) })
                    == .err("WRONGTYPE Operation against a key holding the wrong kind of value"),
                "\(c)"
            )
        }
    }

    @Test func resp3Replies() {
        let h = CommandHarness(protocolVersion: .resp3)
        #expect(h.raw("ZADD", "z", "1.5", "a", "inf", "b") == ":2\r\n")
        #expect(h.raw("ZSCORE", "z", "a") == ",1.5\r\n")
        #expect(h.raw("ZSCORE", "z", "b") == ",inf\r\n")
        #expect(h.raw("ZSCORE", "z", "x") == "_\r\n")
        #expect(
            h.raw("ZRANGE", "z", "0", "-1", "WITHSCORES") == "*2\r\n*2\r\n$1\r\na\r\n,1.5\r\n*2\r\n$1\r\nb\r\n,inf\r\n"
        )
        #expect(h.raw("ZPOPMIN", "z") == "*2\r\n$1\r\na\r\n,1.5\r\n")
        #expect(h.raw("ZPOPMIN", "z", "1") == "*1\r\n*2\r\n$1\r\nb\r\n,inf\r\n")
        #expect(h.raw("ZMPOP", "1", "z", "MIN") == "_\r\n")
    }

    @Test func negativeZeroDependsOnEncoding() {
        let h = CommandHarness()
        #expect(h.run("ZADD", "small", "-0", "a") == .int(1))
        #expect(h.run("ZSCORE", "small", "a") == .bulk("0"))
        #expect(h.run("ZADD", "small", "INCR", "-0", "b") == .bulk("-0"))
        #expect(h.run("ZSCORE", "small", "b") == .bulk("0"))
        let long = String(repeating: "x", count: 65)
        #expect(h.run("ZADD", "big", "1", long, "-0", "a") == .int(2))
        #expect(h.run("OBJECT", "ENCODING", "big") == .bulk("skiplist"))
        #expect(h.run("ZSCORE", "big", "a") == .bulk("-0"))
    }

    @Test func plainSetsAreInputsWithScoreOne() {
        let h = CommandHarness()
        #expect(h.run("SADD", "s", "y", "z", "q") == .int(3))
        #expect(h.run("ZADD", "a", "1", "x", "2", "y", "3", "z") == .int(3))
        #expect(h.run("ZUNION", "2", "a", "s", "WITHSCORES") == .bulks(["q", "1", "x", "1", "y", "3", "z", "4"]))
        #expect(h.run("ZINTER", "2", "s", "a", "WEIGHTS", "3", "1", "WITHSCORES") == .bulks(["y", "5", "z", "6"]))
        #expect(h.run("ZDIFF", "2", "s", "a", "WITHSCORES") == .bulks(["q", "1"]))
        #expect(h.run("ZINTERCARD", "2", "a", "s") == .int(2))
        #expect(h.run("ZUNIONSTORE", "d", "1", "s") == .int(3))
        #expect(h.run("ZRANGE", "d", "0", "-1", "WITHSCORES") == .bulks(["q", "1", "y", "1", "z", "1"]))
    }

    @Test func encodingThresholdsFollowConfig() {
        let h = CommandHarness()
        #expect(h.run("CONFIG", "SET", "zset-max-listpack-entries", "2") == .ok)
        #expect(h.run("ZADD", "z", "1", "a", "2", "b") == .int(2))
        #expect(h.run("OBJECT", "ENCODING", "z") == .bulk("listpack"))
        #expect(h.run("ZADD", "z", "3", "c") == .int(1))
        #expect(h.run("OBJECT", "ENCODING", "z") == .bulk("skiplist"))
        #expect(h.run("ZREM", "z", "c", "b") == .int(2))
        // Conversion is one way.
        #expect(h.run("OBJECT", "ENCODING", "z") == .bulk("skiplist"))
        #expect(h.run("ZUNIONSTORE", "d", "1", "z") == .int(1))
        #expect(h.run("OBJECT", "ENCODING", "d") == .bulk("listpack"))
    }

    @Test func emptiedSetsAreDeleted() {
        let h = CommandHarness()
        #expect(h.run("ZADD", "z", "1", "a", "2", "b") == .int(2))
        #expect(h.run("ZPOPMIN", "z", "5") == .bulks(["a", "1", "b", "2"]))
        #expect(h.run("EXISTS", "z") == .int(0))
        #expect(h.run("ZADD", "z", "1", "a") == .int(1))
        #expect(h.run("ZREMRANGEBYSCORE", "z", "-inf", "+inf") == .int(1))
        #expect(h.run("EXISTS", "z") == .int(0))
    }

    @Test func largeSetScanAndRanks() {
        let h = CommandHarness()
        var args = ["ZADD", "z"]
        for i in 0..<5000 { args += [String(i), "m\(i)"] }
        #expect(h.run(args.map { Array($0.utf8) }) == .int(5000))
        #expect(h.run("OBJECT", "ENCODING", "z") == .bulk("skiplist"))
        #expect(h.run("ZRANK", "z", "m4321") == .int(4321))
        #expect(h.run("ZRANGE", "z", "2500", "2501") == .bulks(["m2500", "m2501"]))
        #expect(h.run("ZCOUNT", "z", "(100", "200") == .int(100))
        var seen = Set<String>()
        var cursor = "0"
        repeat {
            guard case .array(let reply?) = h.run("ZSCAN", "z", cursor, "COUNT", "100"),
                case .bulkString(let c?) = reply[0], case .array(let items?) = reply[1]
            else {
                Issue.record("bad ZSCAN reply")
                return
            }
            cursor = String(buffer: c)
            for case .bulkString(let m?) in stride(from: 0, to: items.count, by: 2).map({ items[$0] }) {
                seen.insert(String(buffer: m))
            }
        } while cursor != "0"
        #expect(seen.count == 5000)
        #expect(h.run("ZREMRANGEBYRANK", "z", "0", "-2") == .int(4999))
        #expect(h.run("ZRANGE", "z", "0", "-1", "WITHSCORES") == .bulks(["m4999", "4999"]))
    }

    /// 20k ZPOPMIN commands on one key: each stays O(log n), none copies the set.
    @Test func manyPopsThroughCommands() {
        let h = CommandHarness()
        for batch in 0..<20 {
            var args = ["ZADD", "z"]
            for i in 0..<1000 { args += [String(batch * 1000 + i), "member:\(batch * 1000 + i)"] }
            h.run(args.map { Array($0.utf8) })
        }
        let clock = ContinuousClock()
        var wrong = 0
        let elapsed = clock.measure {
            for i in 0..<20_000 where h.run("ZPOPMIN", "z") != .bulks(["member:\(i)", String(i)]) { wrong += 1 }
        }
        #expect(wrong == 0)
        #expect(h.run("EXISTS", "z") == .int(0))
        #expect(elapsed < .seconds(30))
    }
}
