import NIOCore
import SwiftletKeyspace
import SwiftletRESP
import Testing

@testable import SwiftletEngine

struct SetCommandsTests {
    static let strings = HashCommandsTests.strings

    @Test func intsetIsSortedAndConvertsOneWay() {
        let h = CommandHarness()
        #expect(h.run("SADD", "s", "5", "-1", "3", "3") == .int(3))
        #expect(h.run("SMEMBERS", "s") == .bulks(["-1", "3", "5"]))
        #expect(h.run("OBJECT", "ENCODING", "s") == .bulk("intset"))
        #expect(h.run("SISMEMBER", "s", "03") == .int(0))
        h.run("SADD", "s", "x")
        #expect(h.run("OBJECT", "ENCODING", "s") == .bulk("hashtable"))
        h.run("SREM", "s", "x")
        #expect(h.run("OBJECT", "ENCODING", "s") == .bulk("hashtable"))
        #expect(Set(Self.strings(h.run("SMEMBERS", "s"))) == ["-1", "3", "5"])
        for i in 0..<512 { h.run("SADD", "i", "\(i)") }
        #expect(h.run("OBJECT", "ENCODING", "i") == .bulk("intset"))
        h.run("SADD", "i", "512")
        #expect(h.run("OBJECT", "ENCODING", "i") == .bulk("hashtable"))
        #expect(h.run("SCARD", "i") == .int(513))
    }

    @Test func membershipAndRemoval() {
        let h = CommandHarness()
        h.run("SADD", "s", "a", "b", "1")
        #expect(h.run("SMISMEMBER", "s", "a", "z", "1") == .list([.int(1), .int(0), .int(1)]))
        #expect(h.run("SMISMEMBER", "nokey", "a") == .list([.int(0)]))
        #expect(h.run("SREM", "s", "a", "z") == .int(1))
        #expect(h.run("SREM", "s", "b", "1") == .int(2))
        #expect(h.run("EXISTS", "s") == .int(0))
        h.run("SET", "str", "v")
        #expect(h.run("SADD", "str", "a") == .err("WRONGTYPE Operation against a key holding the wrong kind of value"))
    }

    @Test func smove() {
        let h = CommandHarness()
        h.run("SADD", "a", "1", "x")
        #expect(h.run("SMOVE", "a", "b", "1") == .int(1))
        #expect(h.run("SMOVE", "a", "b", "1") == .int(0))
        #expect(h.run("SMOVE", "a", "a", "x") == .int(1))
        #expect(h.run("SMOVE", "a", "b", "x") == .int(1))
        #expect(h.run("EXISTS", "a") == .int(0))
        #expect(h.run("OBJECT", "ENCODING", "b") == .bulk("hashtable"))
        h.run("SET", "str", "v")
        #expect(h.run("SMOVE", "nokey", "str", "1") == .int(0))
        #expect(
            h.run("SMOVE", "b", "str", "1") == .err("WRONGTYPE Operation against a key holding the wrong kind of value")
        )
    }

    @Test func algebra() {
        let h = CommandHarness()
        h.run("SADD", "a", "1", "2", "3", "4")
        h.run("SADD", "b", "3", "4", "5")
        #expect(h.run("SINTER", "a", "b") == .bulks(["3", "4"]))
        #expect(h.run("SUNION", "a", "b") == .bulks(["1", "2", "3", "4", "5"]))
        #expect(h.run("SDIFF", "a", "b") == .bulks(["1", "2"]))
        #expect(h.run("SDIFF", "a", "a") == .list([]))
        #expect(h.run("SINTER", "a", "nokey") == .list([]))
        #expect(h.run("SINTERCARD", "2", "a", "b") == .int(2))
        #expect(h.run("SINTERCARD", "2", "a", "b", "LIMIT", "1") == .int(1))
        #expect(h.run("SINTERCARD", "0", "a") == .err("ERR numkeys should be greater than 0"))
        #expect(h.run("SINTERCARD", "3", "a") == .err("ERR Number of keys can't be greater than number of args"))
        #expect(h.run("SINTERCARD", "1", "a", "LIMIT", "-1") == .err("ERR LIMIT can't be negative"))
        #expect(h.run("SINTERSTORE", "d", "a", "b") == .int(2))
        #expect(h.run("SMEMBERS", "d") == .bulks(["3", "4"]))
        #expect(h.run("SINTERSTORE", "d", "a", "nokey") == .int(0))
        #expect(h.run("EXISTS", "d") == .int(0))
        h.run("SET", "str", "v", "EX", "100")
        #expect(h.run("SUNIONSTORE", "str", "a", "b") == .int(5))
        #expect(h.run("TTL", "str") == .int(-1))
        #expect(h.run("SDIFFSTORE", "str", "a", "b") == .int(2))
        #expect(h.run("SMEMBERS", "str") == .bulks(["1", "2"]))
    }

    @Test func resp3Replies() {
        let h = CommandHarness(protocolVersion: .resp3)
        h.run("SADD", "s", "2", "1")
        #expect(h.raw("SMEMBERS", "s") == "~2\r\n$1\r\n1\r\n$1\r\n2\r\n")
        #expect(h.raw("SMEMBERS", "nokey") == "~0\r\n")
        #expect(h.raw("SRANDMEMBER", "s", "5") == "*2\r\n$1\r\n1\r\n$1\r\n2\r\n")
        #expect(h.raw("SPOP", "nokey", "1") == "~0\r\n")
        #expect(h.raw("SPOP", "s", "5") == "~2\r\n$1\r\n1\r\n$1\r\n2\r\n")
        #expect(h.raw("SPOP", "s") == "_\r\n")
    }

    @Test func randomMemberCounts() {
        let h = CommandHarness()
        for i in 0..<100 { h.run("SADD", "s", "m\(i)") }
        for count in [1, 10, 40, 99, 100, 500] {
            let members = Self.strings(h.run("SRANDMEMBER", "s", "\(count)"))
            #expect(members.count == min(count, 100))
            #expect(Set(members).count == members.count)
        }
        #expect(Self.strings(h.run("SRANDMEMBER", "s", "-300")).count == 300)
        #expect(h.run("SRANDMEMBER", "s", "0") == .list([]))
        #expect(h.run("SPOP", "s", "-1") == .err("ERR value is out of range, must be positive"))
        let popped = Self.strings(h.run("SPOP", "s", "30"))
        #expect(Set(popped).count == 30)
        #expect(h.run("SCARD", "s") == .int(70))
        let most = Self.strings(h.run("SPOP", "s", "65"))
        #expect(Set(most).count == 65)
        #expect(Set(most).isDisjoint(with: popped))
        #expect(h.run("SCARD", "s") == .int(5))
        #expect(Self.strings(h.run("SPOP", "s", "10")).count == 5)
        #expect(h.run("EXISTS", "s") == .int(0))
    }

    /// SPOP on a million-member set must be O(1) per command: no copy of the set per command, and the table
    /// shrinks as it empties so that random picks keep finding members quickly. The set is filled and drained
    /// through the keyspace API (fast even in debug builds); SPOP commands are timed at 1M members and at the
    /// last few thousand.
    @Test func millionPopsStayConstantTime() {
        let h = CommandHarness()
        let n = 1_000_000
        let set = SetValue()
        for i in 0..<n { DecimalText.withDigits(of: Int64(i) * 7919) { _ = set.add($0, maxIntsetEntries: 512) } }
        _ = Array("s".utf8).withUnsafeBytes { h.db.set($0, .set(set), now: 0) }
        #expect(h.run("SCARD", "s") == .int(Int64(n)))
        let clock = ContinuousClock()
        let window = 20_000
        let first = clock.measure { for _ in 0..<window { _ = h.raw("SPOP", "s") } }
        var rng = SplitMix64(seed: 7)
        while set.count > window { set.popRandom(using: &rng) { _ in } }
        let last = clock.measure { for _ in 0..<window { _ = h.raw("SPOP", "s") } }
        #expect(h.run("EXISTS", "s") == .int(0))
        // The first SPOPs (on 1M members) cost about what the last ones (on a nearly empty set) do.
        #expect(first < last * 4, "first \(first), last \(last)")
    }

    @Test func sscanCoversAHashtableSet() {
        let h = CommandHarness()
        for i in 0..<2000 { h.run("SADD", "s", "m\(i)") }
        var seen = Set<String>()
        var cursor = "0"
        repeat {
            guard case .array(let parts?) = h.run("SSCAN", "s", cursor), case .bulkString(let c?) = parts[0] else {
                Issue.record("bad SSCAN reply")
                return
            }
            cursor = String(buffer: c)
            seen.formUnion(Self.strings(parts[1]))
        } while cursor != "0"
        #expect(seen.count == 2000)
        #expect(
            h.run("SSCAN", "s", "0", "MATCH", "m1999", "COUNT", "100000") == .list([.bulk("0"), .bulks(["m1999"])])
        )
    }
}
