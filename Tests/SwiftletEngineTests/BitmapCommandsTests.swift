import NIOCore
import SwiftletKeyspace
import SwiftletRESP
import Testing

@testable import SwiftletEngine

struct BitmapCommandsTests {
    static let offsetError = RESPValue.err("ERR bit offset is not an integer or out of range")
    static let typeError = RESPValue.err(
        "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."
    )
    static let wrongType = RESPValue.err("WRONGTYPE Operation against a key holding the wrong kind of value")

    /// The heap address of a raw string's bytes: unchanged when the string is mutated in place.
    static func storage(_ h: CommandHarness, _ key: String) -> UnsafeRawPointer? {
        guard let entry = Array(key.utf8).withUnsafeBytes({ h.db.peek($0) }), case .raw(let bytes) = entry.value
        else { return nil }
        return bytes.withUnsafeBytes { $0.baseAddress }
    }

    // MARK: - SETBIT / GETBIT

    @Test func setbitAndGetbit() {
        let h = CommandHarness()
        #expect(h.run("SETBIT", "k", "7", "1") == .int(0))
        #expect(h.run("SETBIT", "k", "7", "1") == .int(1))
        #expect(h.run("GET", "k") == .bulk("\u{01}"))
        #expect(h.run("SETBIT", "k", "1", "1") == .int(0))
        #expect(h.run("GET", "k") == .bulk("A"))
        #expect(h.run("GETBIT", "k", "1") == .int(1))
        #expect(h.run("GETBIT", "k", "0") == .int(0))
        #expect(h.run("GETBIT", "k", "100") == .int(0))
        #expect(h.run("GETBIT", "missing", "100") == .int(0))
        #expect(h.run("SETBIT", "k", "23", "0") == .int(0))
        #expect(h.run("STRLEN", "k") == .int(3))
        #expect(h.run("OBJECT", "ENCODING", "k") == .bulk("raw"))
        #expect(h.run("SETBIT", "z", "100", "0") == .int(0))
        #expect(h.run("STRLEN", "z") == .int(13))
    }

    @Test func setbitTurnsEveryStringEncodingRawAndKeepsTheTTL() {
        let h = CommandHarness()
        h.run("SET", "n", "123", "EX", "100")
        #expect(h.run("GETBIT", "n", "2") == .int(1))  // "1" is 0x31
        #expect(h.run("SETBIT", "n", "0", "0") == .int(0))
        #expect(h.run("OBJECT", "ENCODING", "n") == .bulk("raw"))
        #expect(h.run("GET", "n") == .bulk("123"))
        #expect(h.run("TTL", "n") == .int(100))
        h.run("SET", "e", "ab")
        #expect(h.run("SETBIT", "e", "6", "1") == .int(0))
        #expect(h.run("GET", "e") == .bulk("cb"))
        #expect(h.run("OBJECT", "ENCODING", "e") == .bulk("raw"))
    }

    @Test func setbitErrors() {
        let h = CommandHarness()
        h.run("LPUSH", "l", "a")
        #expect(h.run("SETBIT", "k", "-1", "1") == Self.offsetError)
        #expect(h.run("SETBIT", "k", "x", "1") == Self.offsetError)
        #expect(h.run("SETBIT", "k", "4294967296", "1") == Self.offsetError)
        #expect(h.run("GETBIT", "k", "4294967296") == Self.offsetError)
        #expect(h.run("GETBIT", "k", "4294967295") == .int(0))
        #expect(h.run("SETBIT", "k", "0", "2") == .err("ERR bit is not an integer or out of range"))
        #expect(h.run("SETBIT", "k", "0", "-1") == .err("ERR bit is not an integer or out of range"))
        #expect(h.run("SETBIT", "k", "0", "x") == .err("ERR bit is not an integer or out of range"))
        #expect(h.run("SETBIT", "l", "x", "1") == Self.offsetError)
        #expect(h.run("SETBIT", "l", "0", "1") == Self.wrongType)
        #expect(h.run("GETBIT", "l", "0") == Self.wrongType)
        #expect(h.run("SETBIT", "#1", "#1", "1") == Self.offsetError)
        #expect(h.run("EXISTS", "k") == .int(0))
    }

    @Test func offsetLimitFollowsProtoMaxBulkLen() {
        let h = CommandHarness()
        #expect(h.run("CONFIG", "SET", "proto-max-bulk-len", "1mb") == .ok)
        #expect(h.run("SETBIT", "k", "8388608", "1") == Self.offsetError)
        #expect(h.run("SETBIT", "k", "8388607", "1") == .int(0))
        #expect(h.run("STRLEN", "k") == .int(1 << 20))
        #expect(h.run("BITFIELD", "k", "SET", "u8", "8388608", "1") == Self.offsetError)
        // The limit applies to the offset, not to the last bit written: the string may end 8 bytes further.
        #expect(h.run("BITFIELD", "k", "SET", "i64", "8388607", "-1") == .list([.int(Int64.min)]))
        #expect(h.run("STRLEN", "k") == .int((1 << 20) + 8))
    }

    /// SETBIT mutates the bytes in place: no copy of a large bitmap per command.
    @Test func setbitMutatesInPlace() {
        let h = CommandHarness()
        h.run("SETBIT", "big", "\(8 * 4_000_000 - 1)", "1")
        let before = Self.storage(h, "big")
        for i in 0..<20_000 { _ = h.raw("SETBIT", "big", "\(i * 1500)", "1") }
        #expect(Self.storage(h, "big") == before)
        #expect(h.run("BITCOUNT", "big") == .int(20_001))
        let clock = ContinuousClock()
        let large = clock.measure { for i in 0..<20_000 { _ = h.raw("SETBIT", "big", "\(i * 1500)", "0") } }
        h.run("SETBIT", "small", "7", "1")
        let small = clock.measure { for _ in 0..<20_000 { _ = h.raw("SETBIT", "small", "3", "1") } }
        #expect(large < small * 4, "large \(large), small \(small)")
    }

    @Test func growingBitmapKeepsAmortizedCapacity() {
        var bytes: [UInt8] = []
        for n in 1...100_000 { BitmapCommands.grow(&bytes, to: n) }
        #expect(bytes.count == 100_000)
        #expect(bytes.capacity < 2 * 100_000 + 64)
        var large = [UInt8](repeating: 1, count: 3 << 20)
        BitmapCommands.grow(&large, to: (3 << 20) + 1)
        // Past 1 MB the slack is 1 MB, not a doubling.
        #expect(large.capacity < (4 << 20) + 64)
        #expect(large.last == 0 && large.first == 1)
    }

    // MARK: - BITCOUNT

    @Test func bitcountRanges() {
        let h = CommandHarness()
        h.run("SET", "k", "foobar")
        #expect(h.run("BITCOUNT", "k") == .int(26))
        #expect(h.run("BITCOUNT", "k", "0", "0") == .int(4))
        #expect(h.run("BITCOUNT", "k", "1", "1") == .int(6))
        #expect(h.run("BITCOUNT", "k", "1", "1", "BYTE") == .int(6))
        #expect(h.run("BITCOUNT", "k", "5", "30", "BIT") == .int(17))
        #expect(h.run("BITCOUNT", "k", "-2", "-1") == .int(7))
        #expect(h.run("BITCOUNT", "k", "-100", "100") == .int(26))
        #expect(h.run("BITCOUNT", "k", "3", "1") == .int(0))
        #expect(h.run("BITCOUNT", "k", "1", "3", "bit") == .int(2))
        #expect(h.run("BITCOUNT", "k", "0", "-1", "BIT") == .int(26))
        // Checked before the unit word: no syntax error.
        #expect(h.run("BITCOUNT", "k", "-1", "-5", "FOO") == .int(0))
        #expect(h.run("BITCOUNT", "k", "0", "1", "FOO") == .err("ERR syntax error"))
        #expect(h.run("BITCOUNT", "k", "0") == .err("ERR syntax error"))
        #expect(h.run("BITCOUNT", "k", "0", "1", "BIT", "x") == .err("ERR syntax error"))
        #expect(h.run("BITCOUNT", "k", "x", "1") == .err("ERR value is not an integer or out of range"))
        // A missing key answers 0 before the arguments are parsed.
        #expect(h.run("BITCOUNT", "missing", "x") == .int(0))
        h.run("SET", "n", "-1")
        #expect(h.run("BITCOUNT", "n") == .int(7))
        h.run("LPUSH", "l", "a")
        #expect(h.run("BITCOUNT", "l", "x") == Self.wrongType)
        h.run("SET", "empty", "")
        #expect(h.run("BITCOUNT", "empty", "0", "-1") == .int(0))
    }

    // MARK: - BITPOS

    @Test func bitposFindsBits() {
        let h = CommandHarness()
        h.run([Array("SET".utf8), Array("k".utf8), [0x00, 0xFF, 0xF0]])
        #expect(h.run("BITPOS", "k", "1") == .int(8))
        #expect(h.run("BITPOS", "k", "0") == .int(0))
        #expect(h.run("BITPOS", "k", "1", "2") == .int(16))
        #expect(h.run("BITPOS", "k", "0", "1") == .int(20))
        #expect(h.run("BITPOS", "k", "1", "7", "15", "BIT") == .int(8))
        #expect(h.run("BITPOS", "k", "0", "8", "15", "BIT") == .int(-1))
        #expect(h.run("BITPOS", "k", "1", "-1") == .int(16))
        #expect(h.run("BITPOS", "k", "1", "2", "1") == .int(-1))
        #expect(h.run("BITPOS", "missing", "0") == .int(0))
        #expect(h.run("BITPOS", "missing", "1", "x", "y", "z", "w") == .int(-1))
        #expect(h.run("BITPOS", "k", "2") == .err("ERR The bit argument must be 1 or 0."))
        #expect(h.run("BITPOS", "k", "x") == .err("ERR value is not an integer or out of range"))
        #expect(h.run("BITPOS", "k", "1", "0", "x", "FOO") == .err("ERR syntax error"))
        #expect(h.run("BITPOS", "k", "1", "0", "1", "BIT", "x") == .err("ERR syntax error"))
    }

    @Test func bitposZeroOnAllOnes() {
        let h = CommandHarness()
        h.run([Array("SET".utf8), Array("k".utf8), [0xFF, 0xFF, 0xFF]])
        // Without an end the string is padded with zeros on the right; with one, there is no zero.
        #expect(h.run("BITPOS", "k", "0") == .int(24))
        #expect(h.run("BITPOS", "k", "0", "1") == .int(24))
        #expect(h.run("BITPOS", "k", "0", "0", "-1") == .int(-1))
        #expect(h.run("BITPOS", "k", "0", "0", "-1", "BIT") == .int(-1))
        #expect(h.run("BITPOS", "k", "1", "5", "-1", "BIT") == .int(5))
        h.run("SET", "empty", "")
        #expect(h.run("BITPOS", "empty", "0") == .int(-1))
        #expect(h.run("BITPOS", "empty", "1") == .int(-1))
    }

    /// BITPOS and BITCOUNT against a bit-by-bit model, over random strings and ranges.
    @Test func bitposAndBitcountMatchAModel() {
        let h = CommandHarness()
        var rng = SplitMix64(seed: 42)
        for _ in 0..<300 {
            let length = Int(rng.next() % 40)
            var bytes = [UInt8](repeating: 0, count: length)
            let fill = rng.next() % 3
            for i in 0..<length {
                bytes[i] = fill == 0 ? 0xFF : fill == 1 ? 0 : UInt8(truncatingIfNeeded: rng.next())
            }
            if length > 0 && fill < 2 { bytes[Int(rng.next() % UInt64(length))] ^= 1 << (rng.next() % 8) }
            h.run([Array("SET".utf8), Array("k".utf8), bytes])
            let bits = bytes.flatMap { b in (0..<8).map { (b >> (7 - $0)) & 1 } }
            for _ in 0..<10 {
                let start = Int(rng.next() % 700) - 350
                let end = Int(rng.next() % 700) - 350
                let unitIsBit = rng.next() % 2 == 0
                let total = unitIsBit ? bits.count : length
                var s = start < 0 ? total + start : start
                var e = end < 0 ? total + end : end
                s = max(s, 0)
                e = min(max(e, 0), total - 1)
                let (first, last) = unitIsBit ? (s, e) : (s * 8, e * 8 + 7)
                let range = first <= last ? Array(bits[first...last]) : []
                let unit = unitIsBit ? "BIT" : "BYTE"
                let expectedCount = start < 0 && end < 0 && start > end ? 0 : range.reduce(0) { $0 + Int($1) }
                #expect(h.run("BITCOUNT", "k", "\(start)", "\(end)", unit) == .int(Int64(expectedCount)))
                for bit in [0, 1] {
                    let index = range.firstIndex(of: UInt8(bit)).map { first + $0 } ?? -1
                    #expect(h.run("BITPOS", "k", "\(bit)", "\(start)", "\(end)", unit) == .int(Int64(index)))
                }
            }
        }
    }

    // MARK: - BITOP

    @Test func bitopOperations() {
        let h = CommandHarness()
        h.run("SET", "a", "foobar")
        h.run("SET", "b", "abcdef")
        h.run("SET", "c", "x")
        #expect(h.run("BITOP", "AND", "d", "a", "b") == .int(6))
        #expect(h.run("GET", "d") == .bulk("`bc`ab"))
        #expect(h.run("OBJECT", "ENCODING", "d") == .bulk("raw"))
        #expect(h.run("BITOP", "or", "d", "a", "c") == .int(6))
        #expect(h.run("GET", "d") == .bulk("\u{7e}oobar"))
        #expect(h.run("BITOP", "XOR", "d", "a", "a", "c") == .int(6))
        #expect(h.run("GET", "d") == .bulk("x\u{0}\u{0}\u{0}\u{0}\u{0}"))
        #expect(h.run("BITOP", "AND", "d", "a", "c") == .int(6))
        #expect(h.run("GET", "d") == .bulk("`\u{0}\u{0}\u{0}\u{0}\u{0}"))
        #expect(h.run("BITOP", "AND", "d", "a", "missing") == .int(6))
        #expect(h.run("GET", "d") == .bulk("\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}"))
        #expect(h.run("BITOP", "NOT", "d", "c") == .int(1))
        #expect(h.run("GET", "d") == .bulkString(ByteBuffer(bytes: [0x87])))
        h.run("SET", "d", "v", "EX", "100")
        #expect(h.run("BITOP", "NOT", "d", "d") == .int(1))
        #expect(h.run("TTL", "d") == .int(-1))
        #expect(h.run("BITOP", "OR", "d", "missing", "missing2") == .int(0))
        #expect(h.run("EXISTS", "d") == .int(0))
        h.run("SET", "n", "12")
        #expect(h.run("BITOP", "OR", "d", "n") == .int(2))
        #expect(h.run("GET", "d") == .bulk("12"))
    }

    @Test func bitopErrors() {
        let h = CommandHarness()
        h.run("LPUSH", "l", "a")
        h.run("SET", "a", "x")
        #expect(h.run("BITOP", "NAND", "d", "a") == .err("ERR syntax error"))
        #expect(h.run("BITOP", "NOT", "d", "a", "a") == .err("ERR BITOP NOT must be called with a single source key."))
        #expect(h.run("BITOP", "AND", "d", "a", "l") == Self.wrongType)
        #expect(h.run("BITOP", "AND", "l", "a") == .int(1))
        #expect(h.run("TYPE", "l") == .simpleString(ByteBuffer(string: "string")))
    }

    @Test func bitopOnLongStringsUsesEveryWordPath() {
        let h = CommandHarness()
        var rng = SplitMix64(seed: 9)
        let a = (0..<77).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let b = (0..<50).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        h.run([Array("SET".utf8), Array("a".utf8), a])
        h.run([Array("SET".utf8), Array("b".utf8), b])
        let pad = b + [UInt8](repeating: 0, count: 27)
        for (op, f) in [("AND", { (x: UInt8, y: UInt8) in x & y }), ("OR", { $0 | $1 }), ("XOR", { $0 ^ $1 })] {
            h.run("BITOP", op, "d", "a", "b")
            let expected = zip(a, pad).map(f)
            #expect(h.run("GET", "d") == .bulkString(ByteBuffer(bytes: expected)), "\(op)")
        }
        h.run("BITOP", "NOT", "d", "a")
        #expect(h.run("GET", "d") == .bulkString(ByteBuffer(bytes: a.map { ~$0 })))
    }

    // MARK: - BITFIELD

    @Test func bitfieldGetSetIncrby() {
        let h = CommandHarness()
        #expect(h.run("BITFIELD", "k", "SET", "i8", "0", "100", "GET", "i8", "0") == .list([.int(0), .int(100)]))
        #expect(h.run("BITFIELD", "k", "INCRBY", "i8", "0", "27") == .list([.int(127)]))
        #expect(h.run("BITFIELD", "k", "INCRBY", "i8", "0", "1") == .list([.int(-128)]))
        #expect(h.run("BITFIELD", "k", "OVERFLOW", "SAT", "INCRBY", "i8", "0", "-1000") == .list([.int(-128)]))
        #expect(h.run("BITFIELD", "k", "OVERFLOW", "FAIL", "INCRBY", "i8", "0", "-1") == .list([.nullBulk]))
        #expect(h.run("BITFIELD", "k", "SET", "u4", "#1", "15", "GET", "u4", "4") == .list([.int(0), .int(15)]))
        #expect(h.run("BITFIELD", "k", "GET", "u8", "0", "GET", "i4", "4") == .list([.int(0x8F), .int(-1)]))
        #expect(h.run("BITFIELD", "k", "SET", "u5", "3", "23", "GET", "u16", "0") == .list([.int(15), .int(0x9700)]))
        #expect(h.run("BITFIELD", "k") == .list([]))
        #expect(h.run("BITFIELD_RO", "k", "GET", "u5", "3") == .list([.int(23)]))
        #expect(h.run("BITFIELD_RO", "missing", "GET", "i64", "1000") == .list([.int(0)]))
    }

    @Test func bitfieldOverflowEdges() {
        let h = CommandHarness()
        #expect(h.run("BITFIELD", "k", "SET", "i64", "0", "9223372036854775807") == .list([.int(0)]))
        #expect(h.run("BITFIELD", "k", "INCRBY", "i64", "0", "1") == .list([.int(Int64.min)]))
        #expect(h.run("BITFIELD", "k", "OVERFLOW", "SAT", "INCRBY", "i64", "0", "-1") == .list([.int(Int64.min)]))
        #expect(
            h.run(
                "BITFIELD",
                "k",
                "OVERFLOW",
                "SAT",
                "INCRBY",
                "i64",
                "0",
                "-1",
                "INCRBY",
                "i64",
                "0",
                "9223372036854775807",
                "INCRBY",
                "i64",
                "0",
                "9223372036854775807"
            ) == .list([.int(Int64.min), .int(-1), .int(Int64.max - 1)])
        )
        #expect(h.run("BITFIELD", "u", "SET", "u63", "1", "9223372036854775807") == .list([.int(0)]))
        #expect(h.run("BITFIELD", "u", "INCRBY", "u63", "1", "1") == .list([.int(0)]))
        #expect(h.run("BITFIELD", "u", "OVERFLOW", "SAT", "INCRBY", "u63", "1", "-5") == .list([.int(0)]))
        #expect(
            h.run("BITFIELD", "u", "OVERFLOW", "SAT", "SET", "u8", "0", "-1", "GET", "u8", "0")
                == .list([.int(0), .int(255)])
        )
        #expect(
            h.run("BITFIELD", "u", "OVERFLOW", "WRAP", "SET", "u8", "0", "256", "GET", "u8", "0")
                == .list([.int(255), .int(0)])
        )
        // Redis's wrapped intermediate arithmetic: INT64_MIN saturates to the maximum of an i8.
        #expect(
            h.run("BITFIELD", "s", "OVERFLOW", "SAT", "SET", "i8", "0", "-9223372036854775808", "GET", "i8", "0")
                == .list([.int(0), .int(127)])
        )
        #expect(
            h.run("BITFIELD", "s", "OVERFLOW", "WRAP", "SET", "i8", "0", "-9223372036854775808", "GET", "i8", "0")
                == .list([.int(127), .int(0)])
        )
        #expect(
            h.run("BITFIELD", "s", "OVERFLOW", "FAIL", "SET", "i1", "0", "1", "SET", "i1", "0", "-1")
                == .list([.nullBulk, .int(0)])
        )
        #expect(h.run("BITFIELD", "s", "GET", "i1", "0", "GET", "u1", "0") == .list([.int(-1), .int(1)]))
    }

    @Test func bitfieldFailStillCreatesTheKey() {
        let h = CommandHarness()
        #expect(h.run("BITFIELD", "k", "OVERFLOW", "FAIL", "SET", "u2", "20", "9") == .list([.nullBulk]))
        #expect(h.run("STRLEN", "k") == .int(3))
        #expect(h.run("GET", "k") == .bulk("\u{0}\u{0}\u{0}"))
    }

    @Test func bitfieldErrors() {
        let h = CommandHarness()
        h.run("LPUSH", "l", "a")
        #expect(h.run("BITFIELD", "k", "GET", "u64", "0") == Self.typeError)
        #expect(h.run("BITFIELD", "k", "GET", "i65", "0") == Self.typeError)
        #expect(h.run("BITFIELD", "k", "GET", "i0", "0") == Self.typeError)
        #expect(h.run("BITFIELD", "k", "GET", "I8", "0") == Self.typeError)
        #expect(h.run("BITFIELD", "k", "GET", "", "0") == Self.typeError)
        #expect(h.run("BITFIELD", "k", "GET", "i08", "0") == Self.typeError)
        #expect(h.run("BITFIELD", "k", "GET", "i8", "-1") == Self.offsetError)
        #expect(h.run("BITFIELD", "k", "GET", "i8", "#") == Self.offsetError)
        #expect(h.run("BITFIELD", "k", "GET", "i64", "#9223372036854775807") == Self.offsetError)
        #expect(h.run("BITFIELD", "k", "GET", "i8", "#536870911") == .list([.int(0)]))
        #expect(h.run("BITFIELD", "k", "GET", "i8", "#536870912") == Self.offsetError)
        #expect(h.run("BITFIELD", "k", "SET", "i8", "0", "x") == .err("ERR value is not an integer or out of range"))
        #expect(h.run("BITFIELD", "k", "GET", "i8") == .err("ERR syntax error"))
        #expect(h.run("BITFIELD", "k", "FOO", "i8", "0") == .err("ERR syntax error"))
        #expect(h.run("BITFIELD", "k", "OVERFLOW") == .err("ERR syntax error"))
        #expect(h.run("BITFIELD", "k", "OVERFLOW", "UP") == .err("ERR Invalid OVERFLOW type specified"))
        #expect(h.run("BITFIELD", "l", "GET", "i8", "0") == Self.wrongType)
        #expect(h.run("BITFIELD", "l", "SET", "i8", "0", "1") == Self.wrongType)
        #expect(h.run("BITFIELD", "l", "GET", "i8", "x") == Self.offsetError)
        #expect(
            h.run("BITFIELD_RO", "l", "SET", "i8", "0", "1") == .err("ERR BITFIELD_RO only supports the GET subcommand")
        )
        #expect(h.run("BITFIELD_RO", "l", "GET", "i8", "0") == Self.wrongType)
        #expect(h.run("BITFIELD_RO", "k", "OVERFLOW", "SAT", "GET", "i8", "0") == .list([.int(0)]))
        #expect(h.run("EXISTS", "k") == .int(0))
    }

    /// BITFIELD SET/GET against a bit-by-bit model at every width and alignment.
    @Test func bitfieldMatchesAModel() {
        let h = CommandHarness()
        var rng = SplitMix64(seed: 5)
        var model = [UInt8](repeating: 0, count: 0)
        for _ in 0..<2000 {
            let signed = rng.next() % 2 == 0
            let bits = Int(rng.next() % (signed ? 64 : 63)) + 1
            let offset = Int(rng.next() % 200)
            let value = Int64(bitPattern: rng.next())
            let reply = h.run("BITFIELD", "k", "SET", "\(signed ? "i" : "u")\(bits)", "\(offset)", "\(value)")
            // Model: write the low `bits` bits of `value` (WRAP), big-endian, bit by bit.
            let needed = (offset + bits - 1) / 8 + 1
            if model.count < needed { model += [UInt8](repeating: 0, count: needed - model.count) }
            var old: UInt64 = 0
            for j in 0..<bits {
                let p = offset + j
                old = old << 1 | UInt64((model[p / 8] >> (7 - p % 8)) & 1)
                let bit = UInt8((UInt64(bitPattern: value) >> (bits - 1 - j)) & 1)
                model[p / 8] = (model[p / 8] & ~(1 << (7 - p % 8))) | bit << (7 - p % 8)
            }
            let expectedOld =
                signed && bits < 64 && old & (1 << (bits - 1)) != 0
                ? Int64(bitPattern: old | (~0 << bits)) : Int64(bitPattern: old)
            #expect(reply == .list([.int(expectedOld)]))
        }
        #expect(h.run("GET", "k") == .bulkString(ByteBuffer(bytes: model)))
    }

    @Test func bitfieldResp3Null() {
        let h = CommandHarness(protocolVersion: .resp3)
        #expect(h.raw("BITFIELD", "k", "OVERFLOW", "FAIL", "INCRBY", "u1", "0", "2") == "*1\r\n_\r\n")
    }
}
