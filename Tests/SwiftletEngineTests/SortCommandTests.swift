import NIOCore
import SwiftletKeyspace
import SwiftletRESP
import Testing

@testable import SwiftletEngine

/// SORT and SORT_RO; the expected replies are what Redis 7.0.15 answers.
struct SortCommandTests {
    static let wrongType = RESPValue.err("WRONGTYPE Operation against a key holding the wrong kind of value")
    static let notDouble = RESPValue.err("ERR One or more scores can't be converted into double")
    static let syntax = RESPValue.err("ERR syntax error")

    static func numbers(_ h: CommandHarness, _ key: String, _ values: [Int]) {
        h.run(["RPUSH", key].map { Array($0.utf8) } + values.map { Array(String($0).utf8) })
    }

    @Test func numericOrderAndLimit() {
        let h = CommandHarness()
        h.run("RPUSH", "l", "3", "1", "2", "10", "-5", "1.5", "1e3", "0x10", "-inf", "inf", " 4", "")
        let ascending = ["-inf", "-5", "", "1", "1.5", "2", "3", " 4", "10", "0x10", "1e3", "inf"]
        #expect(h.run("SORT", "l") == .bulks(ascending))
        #expect(h.run("SORT_RO", "l", "DESC") == .bulks(ascending.reversed()))
        #expect(h.run("SORT", "l", "desc", "asc") == .bulks(ascending))
        #expect(h.run("SORT", "l", "LIMIT", "2", "3") == .bulks(["", "1", "1.5"]))
        #expect(h.run("SORT", "l", "LIMIT", "-10", "2", "DESC") == .bulks(["inf", "1e3"]))
        #expect(h.run("SORT", "l", "LIMIT", "11", "100") == .bulks(["inf"]))
        #expect(h.raw("SORT", "l", "LIMIT", "12", "1") == "*0\r\n")
        #expect(h.raw("SORT", "l", "LIMIT", "0", "0") == "*0\r\n")
        #expect(h.run("SORT", "l", "LIMIT", "10", "-1") == .bulks(["1e3", "inf"]))
        #expect(h.run("SORT", "l", "LIMIT", "9223372036854775807", "9223372036854775807") == .bulks([]))
        // Equal weights fall back to the bytes of the elements.
        h.run("RPUSH", "dup", "2", "02", "2.0", "1")
        #expect(h.run("SORT", "dup") == .bulks(["1", "02", "2", "2.0"]))
        #expect(h.run("SORT", "dup", "DESC") == .bulks(["2.0", "2", "02", "1"]))
    }

    @Test func numericErrors() {
        let h = CommandHarness()
        for bad in ["abc", "1 ", " ", "nan", "-nan", "1e400", "1e-310", "1e-400"] {
            h.run("DEL", "b")
            h.run("RPUSH", "b", "1", bad)
            #expect(h.run("SORT", "b") == Self.notDouble, "\(bad)")
        }
        // A NUL ends the number, as for C's strtod.
        h.run([Array("RPUSH".utf8), Array("nul".utf8), Array("5\u{0}x".utf8), Array("4".utf8)])
        #expect(h.run("SORT", "nul") == .list([.bulk("4"), .bulkString(ByteBuffer(bytes: Array("5\u{0}x".utf8)))]))
        // Not sorted, no error; ALPHA does not parse numbers.
        #expect(h.run("SORT", "b", "BY", "nosort") == .bulks(["1", "1e-400"]))
        #expect(h.run("SORT", "b", "ALPHA") == .bulks(["1", "1e-400"]))
        // STORE stores nothing on error.
        #expect(h.run("SORT", "b", "STORE", "d") == Self.notDouble)
        #expect(h.run("EXISTS", "d") == .int(0))
    }

    @Test func alphaComparesCStringsButStoreComparesBytes() {
        let h = CommandHarness()
        let elements: [[UInt8]] = [[97, 0, 99], [97, 0, 98], [98], [97, 0, 97], [97], [0xFF], [66]]
        h.run([Array("RPUSH".utf8), Array("l".utf8)] + elements)
        // Up to the first NUL all the `a…` are equal: they keep their input order.
        let reply = h.run("SORT", "l", "ALPHA")
        let expected: [[UInt8]] = [[66], [97, 0, 99], [97, 0, 98], [97, 0, 97], [97], [98], [0xFF]]
        #expect(reply == .list(expected.map { .bulkString(ByteBuffer(bytes: $0)) }))
        let reversed: [[UInt8]] = [[0xFF], [98], [97, 0, 99], [97, 0, 98], [97, 0, 97], [97], [66]]
        #expect(h.run("SORT", "l", "ALPHA", "DESC") == .list(reversed.map { .bulkString(ByteBuffer(bytes: $0)) }))
        #expect(h.run("SORT", "l", "ALPHA", "STORE", "d") == .int(7))
        let stored: [[UInt8]] = [[66], [97], [97, 0, 97], [97, 0, 98], [97, 0, 99], [98], [0xFF]]
        #expect(h.run("LRANGE", "d", "0", "-1") == .list(stored.map { .bulkString(ByteBuffer(bytes: $0)) }))
    }

    @Test func byAndGetPatterns() {
        let h = CommandHarness()
        h.run("RPUSH", "l", "3", "1", "2", "4")
        h.run("MSET", "w_1", "10", "w_2", "5", "w_3", "7", "w_4", "5")
        h.run("HSET", "h_1", "f", "x", "n", "3")
        h.run("HSET", "h_3", "f", "y", "n", "1")
        #expect(h.run("SORT", "l", "BY", "w_*") == .bulks(["2", "4", "3", "1"]))
        #expect(h.run("SORT", "l", "BY", "w_*", "DESC") == .bulks(["1", "3", "4", "2"]))
        #expect(h.run("SORT", "l", "BY", "h_*->n") == .bulks(["2", "4", "3", "1"]))
        #expect(h.run("SORT", "l", "BY", "h_*->f", "ALPHA") == .bulks(["2", "4", "1", "3"]))
        #expect(
            h.run(
                "SORT",
                "l",
                "BY",
                "w_*",
                "GET",
                "#",
                "GET",
                "w_*",
                "GET",
                "h_*->f",
                "GET",
                "nokey",
                "LIMIT",
                "0",
                "2"
            )
                == .list([
                    .bulk("2"), .bulk("5"), .nullBulk, .nullBulk,
                    .bulk("4"), .bulk("5"), .nullBulk, .nullBulk,
                ])
        )
        // `->` at the end is part of the key name; a field name may contain `->`.
        h.run("SET", "1->", "A")
        #expect(h.run("SORT", "l", "GET", "*->") == .list([.bulk("A"), .nullBulk, .nullBulk, .nullBulk]))
        h.run("HSET", "hh_1", "a->b", "deep")
        #expect(h.run("SORT", "l", "GET", "hh_*->a->b") == .list([.bulk("deep"), .nullBulk, .nullBulk, .nullBulk]))
        // A pattern without `*` finds nothing; `#` is the element; BY without `*` does not sort.
        #expect(h.run("SORT", "l", "GET", "w_1") == .list([.nullBulk, .nullBulk, .nullBulk, .nullBulk]))
        #expect(h.run("SORT", "l", "BY", "nosort", "GET", "#") == .bulks(["3", "1", "2", "4"]))
        #expect(h.run("SORT", "l", "BY", "nosort", "DESC", "LIMIT", "1", "2") == .bulks(["2", "1"]))
        #expect(h.run("SORT", "l", "BY", "nosort", "BY", "w_*") == .bulks(["3", "1", "2", "4"]))
        // Wrong types behind a pattern are not found.
        #expect(h.run("SORT", "l", "GET", "h_*", "LIMIT", "0", "1") == .list([.nullBulk]))
        #expect(h.run("SORT", "l", "GET", "w_*->f", "LIMIT", "0", "1") == .list([.nullBulk]))
        let resp3 = CommandHarness(protocolVersion: .resp3)
        resp3.run("RPUSH", "l", "1")
        #expect(resp3.raw("SORT", "l", "GET", "#", "GET", "nokey_*") == "*2\r\n$1\r\n1\r\n_\r\n")
    }

    @Test func equalWeightsFollowRedisSorts() {
        let h = CommandHarness()
        Self.numbers(h, "t", Array(1...12))
        // Without LIMIT: glibc's stable merge sort keeps the input order.
        #expect(h.run("SORT", "t", "BY", "nokey_*", "ALPHA") == .bulks((1...12).map(String.init)))
        // With LIMIT: Redis's partial quicksort moves equal elements around.
        #expect(h.run("SORT", "t", "BY", "nokey_*", "ALPHA", "LIMIT", "2", "3") == .bulks(["3", "4", "5"]))
        #expect(
            h.run("SORT", "t", "BY", "nokey_*", "ALPHA", "LIMIT", "0", "5", "DESC")
                == .bulks(["12", "2", "3", "4", "5"])
        )
        for i in 1...8 { h.run("SET", "w_\(i)", i % 2 == 0 ? "a" : "b") }
        #expect(
            h.run("SORT", "t", "BY", "w_*", "ALPHA")
                == .bulks(["9", "10", "11", "12", "2", "4", "6", "8", "1", "3", "5", "7"])
        )
        #expect(h.run("SORT", "t", "BY", "w_*", "ALPHA", "LIMIT", "3", "4") == .bulks(["9", "8", "2", "6"]))
    }

    @Test func setsAndSortedSets() {
        let h = CommandHarness()
        h.run("SADD", "si", "5", "3", "-1", "100")
        #expect(h.run("SORT", "si") == .bulks(["-1", "3", "5", "100"]))
        #expect(h.run("SORT", "si", "ALPHA") == .bulks(["-1", "100", "3", "5"]))
        // An intset iterates in ascending order; DESC does not apply without sorting.
        #expect(h.run("SORT", "si", "BY", "nosort", "DESC") == .bulks(["-1", "3", "5", "100"]))
        h.run("SADD", "sh", "banana", "apple", "cherry")
        // A stored set without sorting is sorted ALPHA, so that replicas agree.
        #expect(h.run("SORT", "sh", "BY", "nosort", "DESC", "STORE", "d") == .int(3))
        #expect(h.run("LRANGE", "d", "0", "-1") == .bulks(["cherry", "banana", "apple"]))

        h.run("ZADD", "z", "3", "c", "1", "a", "2", "b", "2", "bb", "5", "e")
        #expect(h.run("OBJECT", "ENCODING", "z") == .bulk("listpack"))
        #expect(h.run("SORT_RO", "z", "BY", "nosort") == .bulks(["a", "b", "bb", "c", "e"]))
        // SORT converts a listpack sorted set for good, even SORT_RO.
        #expect(h.run("OBJECT", "ENCODING", "z") == .bulk("skiplist"))
        #expect(h.run("SORT", "z", "BY", "nosort", "DESC") == .bulks(["e", "c", "bb", "b", "a"]))
        #expect(h.run("SORT", "z", "BY", "nosort", "LIMIT", "1", "2", "DESC") == .bulks(["c", "bb"]))
        #expect(h.run("SORT", "z", "BY", "nosort", "LIMIT", "-5", "2", "DESC") == .bulks(["e", "c"]))
        #expect(h.raw("SORT", "z", "BY", "nosort", "LIMIT", "10", "2") == "*0\r\n")
        #expect(h.run("SORT", "z", "ALPHA", "DESC", "LIMIT", "0", "2") == .bulks(["e", "c"]))
        #expect(h.run("SORT", "z") == Self.notDouble)
    }

    @Test func store() {
        let h = CommandHarness()
        Self.numbers(h, "l", [3, 1, 2])
        h.run("HSET", "h_1", "f", "x")
        h.run("SET", "d", "string")
        h.run("EXPIRE", "d", "100")
        let dirty = h.state.dirty
        #expect(h.run("SORT", "l", "STORE", "d") == .int(3))
        #expect(h.state.dirty == dirty + 3)
        #expect(h.run("TYPE", "d") == .simpleString(ByteBuffer(string: "list")))
        #expect(h.run("TTL", "d") == .int(-1))
        #expect(h.run("LRANGE", "d", "0", "-1") == .bulks(["1", "2", "3"]))
        // Missing GET values are stored as empty strings.
        #expect(h.run("SORT", "l", "GET", "#", "GET", "h_*->f", "STORE", "d") == .int(6))
        #expect(h.run("LRANGE", "d", "0", "-1") == .bulks(["1", "x", "2", "", "3", ""]))
        // An empty result deletes the destination.
        #expect(h.run("SORT", "l", "LIMIT", "5", "1", "STORE", "d") == .int(0))
        #expect(h.run("EXISTS", "d") == .int(0))
        #expect(h.run("SORT", "missing", "STORE", "d") == .int(0))
        // The source may be its own destination; the last STORE wins.
        #expect(h.run("SORT", "l", "DESC", "STORE", "x", "STORE", "l") == .int(3))
        #expect(h.run("LRANGE", "l", "0", "-1") == .bulks(["3", "2", "1"]))
        #expect(h.run("EXISTS", "x") == .int(0))
    }

    @Test func errorsInRedisOrder() {
        let h = CommandHarness()
        h.run("SET", "str", "x")
        h.run("HSET", "hash", "f", "v")
        h.run("RPUSH", "l", "1")
        #expect(h.run("SORT", "str") == Self.wrongType)
        #expect(h.run("SORT_RO", "hash", "ALPHA") == Self.wrongType)
        #expect(h.run("SORT", "str", "STORE", "d") == Self.wrongType)
        // Options are parsed before the key is looked up.
        #expect(h.run("SORT", "str", "LIMIT", "x", "1") == .err("ERR value is not an integer or out of range"))
        #expect(h.run("SORT", "str", "foo") == Self.syntax)
        #expect(h.run("SORT", "l", "LIMIT", "1", "x") == .err("ERR value is not an integer or out of range"))
        #expect(h.run("SORT", "l", "LIMIT", "0") == Self.syntax)
        #expect(h.run("SORT", "l", "BY") == Self.syntax)
        #expect(h.run("SORT", "l", "GET") == Self.syntax)
        #expect(h.run("SORT", "l", "STORE") == Self.syntax)
        #expect(h.run("SORT_RO", "l", "STORE", "d") == Self.syntax)
        #expect(h.run("SORT") == .err("ERR wrong number of arguments for 'sort' command"))
        #expect(h.run("SORT_RO") == .err("ERR wrong number of arguments for 'sort_ro' command"))
        #expect(h.raw("SORT", "missing", "GET", "#") == "*0\r\n")
    }

    @Test func getkeys() {
        let h = CommandHarness()
        #expect(h.run("COMMAND", "GETKEYS", "sort", "k", "BY", "w_*", "STORE", "d") == .bulks(["k", "d"]))
        #expect(h.run("COMMAND", "GETKEYS", "sort", "k", "STORE", "d", "STORE", "e") == .bulks(["k", "e"]))
        #expect(h.run("COMMAND", "GETKEYS", "sort_ro", "k", "STORE", "d") == .bulks(["k"]))
    }

    @Test func patternParsing() {
        func parse(_ s: [UInt8]) -> SortPattern { SortPattern(ByteBuffer(bytes: s)) }
        let plain = parse(Array("w_*_x".utf8))
        #expect(plain.star == 2 && plain.field == nil && plain.postfix == 3..<5)
        let hash = parse(Array("h_*->a->b".utf8))
        #expect(hash.star == 2 && hash.field == 5..<9 && hash.postfix == 3..<3)
        #expect(parse(Array("*->".utf8)).field == nil)
        #expect(
            parse(Array("#".utf8)).isElement && parse([35, 0, 120]).isElement && !parse(Array("##".utf8)).isElement
        )
        #expect(parse([119, 0, 42]).star == nil)
        // `->` after a NUL is not seen; the field runs past a NUL.
        #expect(parse([42, 0, 45, 62, 102]).field == nil)
        #expect(parse([42, 45, 62, 102, 0, 103]).field == 3..<6)
    }

    @Test func sortsFiftyThousandElements() {
        let h = CommandHarness()
        let n = 50_000
        var args: [[UInt8]] = [Array("RPUSH".utf8), Array("big".utf8)]
        var rng = SplitMix64(seed: 7)
        for _ in 0..<n { args.append(Array(String(Int(rng.next() % 1_000_000)).utf8)) }
        h.run(args)
        #expect(h.run("SORT", "big", "STORE", "sorted") == .int(Int64(n)))
        guard case .array(let first?) = h.run("LRANGE", "sorted", "0", "-1") else {
            Issue.record("no reply")
            return
        }
        let values = first.compactMap { v -> Int? in
            guard case .bulkString(let b?) = v else { return nil }
            return Int(String(buffer: b))
        }
        #expect(values.count == n)
        #expect(zip(values, values.dropFirst()).allSatisfy { $0 <= $1 })
    }
}
