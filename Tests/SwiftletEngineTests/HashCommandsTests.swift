import NIOCore
import SwiftletKeyspace
import SwiftletRESP
import Testing

@testable import SwiftletEngine

struct HashCommandsTests {
    /// The strings of an array reply, in order.
    static func strings(_ value: RESPValue) -> [String] {
        switch value {
        case .array(let items?), .set(let items), .map(let items):
            return items.map { item in
                if case .bulkString(let b?) = item { return String(buffer: b) }
                return "?"
            }
        default:
            return []
        }
    }

    @Test func setGetAndListingInInsertionOrder() {
        let h = CommandHarness()
        #expect(h.run("HSET", "h", "a", "1", "b", "2") == .int(2))
        #expect(h.run("HSET", "h", "a", "10", "c", "3") == .int(1))
        #expect(h.run("HGET", "h", "a") == .bulk("10"))
        #expect(h.run("HGET", "h", "zz") == .nullBulk)
        #expect(h.run("HGET", "nokey", "a") == .nullBulk)
        #expect(h.run("HGETALL", "h") == .bulks(["a", "10", "b", "2", "c", "3"]))
        #expect(h.run("HKEYS", "h") == .bulks(["a", "b", "c"]))
        #expect(h.run("HVALS", "h") == .bulks(["10", "2", "3"]))
        #expect(h.run("HMGET", "h", "a", "x", "c") == .list([.bulk("10"), .nullBulk, .bulk("3")]))
        #expect(h.run("HLEN", "h") == .int(3))
        #expect(h.run("HSTRLEN", "h", "a") == .int(2))
        #expect(h.run("HEXISTS", "h", "b") == .int(1))
        #expect(h.run("HEXISTS", "h", "x") == .int(0))
        #expect(h.run("HMSET", "h", "d", "4") == .ok)
        #expect(h.run("HSETNX", "h", "d", "5") == .int(0))
        #expect(h.run("HSETNX", "h", "e", "5") == .int(1))
        #expect(h.run("OBJECT", "ENCODING", "h") == .bulk("listpack"))
    }

    @Test func arityAndWrongType() {
        let h = CommandHarness()
        #expect(h.run("HSET", "h", "f") == .err("ERR wrong number of arguments for 'hset' command"))
        #expect(h.run("HSET", "h", "f", "v", "x") == .err("ERR wrong number of arguments for 'hset' command"))
        #expect(h.run("HMSET", "h", "f", "v", "x") == .err("ERR wrong number of arguments for 'hmset' command"))
        #expect(h.run("EXISTS", "h") == .int(0))
        h.run("SET", "s", "x")
        let wrongType = RESPValue.err("WRONGTYPE Operation against a key holding the wrong kind of value")
        for command in [
            ["HSET", "s", "f", "v"], ["HGET", "s", "f"], ["HMGET", "s", "f"], ["HDEL", "s", "f"], ["HLEN", "s"],
            ["HGETALL", "s"], ["HINCRBY", "s", "f", "1"], ["HINCRBYFLOAT", "s", "f", "1"], ["HRANDFIELD", "s"],
            ["HSCAN", "s", "0"], ["HSETNX", "s", "f", "v"], ["HEXISTS", "s", "f"], ["HSTRLEN", "s", "f"],
        ] {
            #expect(h.run(command.map { Array($0.utf8) }) == wrongType, "\(command)")
        }
    }

    @Test func deleteRemovesEmptiedKey() {
        let h = CommandHarness()
        h.run("HSET", "h", "a", "1", "b", "2")
        #expect(h.run("HDEL", "h", "a", "zz", "a") == .int(1))
        #expect(h.run("HDEL", "h", "b") == .int(1))
        #expect(h.run("EXISTS", "h") == .int(0))
        #expect(h.run("HDEL", "h", "b") == .int(0))
    }

    @Test func counters() {
        let h = CommandHarness()
        #expect(h.run("HINCRBY", "h", "n", "5") == .int(5))
        #expect(h.run("HINCRBY", "h", "n", "-7") == .int(-2))
        #expect(h.run("HINCRBY", "h", "n", "x") == .err("ERR value is not an integer or out of range"))
        h.run("HSET", "h", "s", "abc", "m", "9223372036854775807")
        #expect(h.run("HINCRBY", "h", "s", "1") == .err("ERR hash value is not an integer"))
        #expect(h.run("HINCRBY", "h", "m", "1") == .err("ERR increment or decrement would overflow"))
        #expect(h.run("HINCRBYFLOAT", "h", "f", "10.5") == .bulk("10.5"))
        #expect(h.run("HINCRBYFLOAT", "h", "f", "0.1") == .bulk("10.6"))
        #expect(h.run("HINCRBYFLOAT", "h", "s", "1") == .err("ERR hash value is not a float"))
        #expect(h.run("HINCRBYFLOAT", "h", "f", "inf") == .err("ERR value is NaN or Infinity"))
        #expect(h.run("HINCRBYFLOAT", "h", "f", "x") == .err("ERR value is not a valid float"))
        #expect(h.run("HGET", "h", "f") == .bulk("10.6"))
    }

    @Test func encodingConvertsOneWay() {
        let h = CommandHarness()
        // Upstream 7.0's compiled-in default is 512; the redis.conf it ships (and Debian's build) use 128.
        #expect(h.run("CONFIG", "SET", "hash-max-listpack-entries", "128") == .ok)
        h.run("HSET", "h", "f", String(repeating: "x", count: 64))
        #expect(h.run("OBJECT", "ENCODING", "h") == .bulk("listpack"))
        h.run("HSET", "h", "g", String(repeating: "x", count: 65))
        #expect(h.run("OBJECT", "ENCODING", "h") == .bulk("hashtable"))
        h.run("HDEL", "h", "g")
        #expect(h.run("OBJECT", "ENCODING", "h") == .bulk("hashtable"))
        for i in 0..<128 { h.run("HSET", "c", "f\(i)", "v") }
        #expect(h.run("OBJECT", "ENCODING", "c") == .bulk("listpack"))
        h.run("HSET", "c", "one-more", "v")
        #expect(h.run("OBJECT", "ENCODING", "c") == .bulk("hashtable"))
        #expect(h.run("HLEN", "c") == .int(129))
        #expect(h.run("HGET", "c", "f77") == .bulk("v"))
        #expect(h.run("CONFIG", "SET", "hash-max-listpack-entries", "2") == .ok)
        h.run("HSET", "d", "a", "1", "b", "2")
        #expect(h.run("OBJECT", "ENCODING", "d") == .bulk("listpack"))
        h.run("HINCRBY", "d", "c", "1")
        #expect(h.run("OBJECT", "ENCODING", "d") == .bulk("hashtable"))
    }

    @Test func resp3Replies() {
        let h = CommandHarness(protocolVersion: .resp3)
        h.run("HSET", "h", "a", "1")
        #expect(h.raw("HGETALL", "h") == "%1\r\n$1\r\na\r\n$1\r\n1\r\n")
        #expect(h.raw("HGETALL", "nokey") == "%0\r\n")
        #expect(h.raw("HGET", "h", "x") == "_\r\n")
        #expect(h.raw("HRANDFIELD", "h", "1", "WITHVALUES") == "*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n")
        #expect(h.raw("HRANDFIELD", "h", "-2") == "*2\r\n$1\r\na\r\n$1\r\na\r\n")
    }

    @Test func randomFieldCounts() {
        let h = CommandHarness()
        for i in 0..<300 { h.run("HSET", "h", "f\(i)", "\(i)") }
        #expect(h.run("HRANDFIELD", "h", "0") == .list([]))
        #expect(h.run("HRANDFIELD", "nokey", "5") == .list([]))
        #expect(h.run("HRANDFIELD", "nokey") == .nullBulk)
        for count in [1, 5, 150, 299, 300, 1000] {
            let fields = Self.strings(h.run("HRANDFIELD", "h", "\(count)"))
            #expect(fields.count == min(count, 300))
            #expect(Set(fields).count == fields.count, "distinct for positive counts")
        }
        let repeated = Self.strings(h.run("HRANDFIELD", "h", "-1000"))
        #expect(repeated.count == 1000)
        let pairs = Self.strings(h.run("HRANDFIELD", "h", "-20", "WITHVALUES"))
        #expect(pairs.count == 40)
        for i in stride(from: 0, to: pairs.count, by: 2) { #expect(pairs[i] == "f" + pairs[i + 1]) }
        #expect(h.run("HRANDFIELD", "h", "1", "x") == .err("ERR syntax error"))
        #expect(h.run("HRANDFIELD", "h", "4611686018427387904", "WITHVALUES") == .err("ERR value is out of range"))
        #expect(
            h.run("HRANDFIELD", "h", "-9223372036854775808")
                == .err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
        )
    }

    @Test func scanReturnsEverything() {
        let h = CommandHarness()
        h.run("HSET", "small", "a", "1", "b", "2")
        #expect(h.run("HSCAN", "small", "0") == .list([.bulk("0"), .bulks(["a", "1", "b", "2"])]))
        #expect(h.run("HSCAN", "small", "0", "MATCH", "b") == .list([.bulk("0"), .bulks(["b", "2"])]))
        #expect(h.run("HSCAN", "nokey", "0", "COUNT", "0") == .list([.bulk("0"), .list([])]))
        #expect(h.run("HSCAN", "small", "0", "COUNT", "0") == .err("ERR syntax error"))
        #expect(h.run("HSCAN", "small", "x") == .err("ERR invalid cursor"))
        for i in 0..<1000 { h.run("HSET", "big", "f\(i)", "v\(i)") }
        var seen = Set<String>()
        var cursor = "0"
        repeat {
            let reply = h.run("HSCAN", "big", cursor, "COUNT", "7")
            guard case .array(let parts?) = reply, parts.count == 2, case .bulkString(let c?) = parts[0] else {
                Issue.record("bad reply \(reply)")
                return
            }
            cursor = String(buffer: c)
            let items = Self.strings(parts[1])
            for i in stride(from: 0, to: items.count, by: 2) {
                #expect("v" + items[i].dropFirst() == items[i + 1])
                seen.insert(items[i])
            }
        } while cursor != "0"
        #expect(seen.count == 1000)
    }
}
