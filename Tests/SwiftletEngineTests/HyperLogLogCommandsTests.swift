import NIOCore
import SwiftletKeyspace
import SwiftletRESP
import Testing

@testable import SwiftletEngine

struct HyperLogLogCommandsTests {
    static func bytes(_ h: CommandHarness, _ key: String) -> [UInt8]? {
        guard case .bulkString(let b?) = h.run("GET", key) else { return nil }
        return Array(b.readableBytesView)
    }

    /// The address of the stored string's bytes (to prove commands change it in place).
    static func storage(_ h: CommandHarness, _ key: String) -> UnsafeRawPointer? {
        guard let entry = Array(key.utf8).withUnsafeBytes({ h.db.peek($0) }), case .raw(let bytes) = entry.value
        else { return nil }
        return bytes.withUnsafeBytes { $0.baseAddress }
    }

    @Test func pfaddRepliesAndCreatesTheKey() {
        let h = CommandHarness()
        #expect(h.run("PFADD", "h", "a", "b", "c") == .int(1))
        #expect(h.run("PFADD", "h", "a") == .int(0))
        #expect(h.run("PFADD", "h") == .int(0))
        #expect(h.run("PFADD", "e") == .int(1))
        #expect(h.run("TYPE", "e") == .simpleString(ByteBuffer(string: "string")))
        #expect(h.run("OBJECT", "ENCODING", "e") == .bulk("raw"))
        #expect(Self.bytes(h, "e") == Array("HYLL".utf8) + [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x7f, 0xff])
        #expect(h.run("PFCOUNT", "e") == .int(0))
        #expect(h.run("PFCOUNT", "nokey") == .int(0))
        #expect(h.run("EXISTS", "nokey") == .int(0))
    }

    @Test func pfcountCachesTheCardinalityInTheString() {
        let h = CommandHarness()
        h.run("PFADD", "h", "a", "b", "c")
        #expect(Self.bytes(h, "h")?[15] == 0x80)
        #expect(h.run("PFCOUNT", "h") == .int(3))
        let cached = Self.bytes(h, "h")
        #expect(cached?[8] == 3 && cached?[15] == 0)
        #expect(h.run("PFADD", "h", "a") == .int(0))
        #expect(Self.bytes(h, "h") == cached)
        #expect(h.run("PFADD", "h", "d") == .int(1))
        #expect(Self.bytes(h, "h")?[15] == 0x80)
        #expect(Self.bytes(h, "h")?[8] == 3)
    }

    @Test func unionAndMerge() {
        let h = CommandHarness()
        h.run("PFADD", "a", "1", "2", "3", "4")
        h.run("PFADD", "b", "3", "4", "5", "6")
        #expect(h.run("PFCOUNT", "a", "b") == .int(6))
        #expect(h.run("PFCOUNT", "a", "b", "nokey") == .int(6))
        #expect(h.run("PFMERGE", "m", "a", "b") == .ok)
        #expect(h.run("PFCOUNT", "m") == .int(6))
        #expect(h.run("PFMERGE", "empty") == .ok)
        #expect(h.run("PFCOUNT", "empty") == .int(0))
        #expect(h.run("PFMERGE", "a", "b") == .ok)
        #expect(h.run("PFCOUNT", "a") == .int(6))
        #expect(Self.bytes(h, "a") == Self.bytes(h, "m"))
    }

    @Test func errors() {
        let h = CommandHarness()
        h.run("LPUSH", "l", "x")
        h.run("SET", "s", "hello")
        h.run("SET", "i", "123")
        let wrongType = RESPValue.err("WRONGTYPE Operation against a key holding the wrong kind of value")
        let notHLL = RESPValue.err("WRONGTYPE Key is not a valid HyperLogLog string value.")
        #expect(h.run("PFADD", "l", "a") == wrongType)
        #expect(h.run("PFCOUNT", "l") == wrongType)
        #expect(h.run("PFMERGE", "d", "l") == wrongType)
        #expect(h.run("PFADD", "s", "a") == notHLL)
        #expect(h.run("PFADD", "i") == notHLL)
        #expect(h.run("PFCOUNT", "x", "s") == notHLL)
        #expect(h.run("PFMERGE", "d", "s") == notHLL)
        #expect(h.run("EXISTS", "d") == .int(0))
        #expect(h.run("PFDEBUG", "ENCODING", "s") == notHLL)
        #expect(h.run("PFDEBUG", "ENCODING", "nokey") == .err("ERR The specified key does not exist"))
        h.run("PFADD", "h", "a")
        #expect(h.run("PFDEBUG", "what", "h") == .err("ERR Unknown PFDEBUG subcommand 'what'"))
        #expect(h.run("PFADD") == .err("ERR wrong number of arguments for 'pfadd' command"))
        let corrupt = RESPValue.err("INVALIDOBJ Corrupted HLL object detected")
        let short = Array("HYLL".utf8) + [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x7f, 0xfe]
        h.run([Array("SET".utf8), Array("c".utf8), short])
        #expect(h.run("PFCOUNT", "c") == corrupt)
        #expect(h.run("PFCOUNT", "c", "h") == corrupt)
        #expect(h.run("PFMERGE", "c") == corrupt)
        #expect(h.run("PFDEBUG", "TODENSE", "c") == corrupt)
    }

    @Test func aStringFromRedisIsReadable() {
        let h = CommandHarness()
        let fromRedis: [UInt8] =
            Array("HYLL".utf8) + [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80]
            + [0x60, 0xf3, 0x80, 0x50, 0xb1, 0x84, 0x4b, 0xfb, 0x80, 0x42, 0x5a]
        h.run([Array("SET".utf8), Array("k".utf8), fromRedis])
        #expect(h.run("OBJECT", "ENCODING", "k") == .bulk("embstr"))
        #expect(h.run("PFCOUNT", "k") == .int(3))
        #expect(h.run("OBJECT", "ENCODING", "k") == .bulk("raw"))
        #expect(h.run("PFADD", "k", "a", "b", "c") == .int(0))
        h.run("PFADD", "fresh", "a", "b", "c")
        h.run("PFCOUNT", "fresh")
        #expect(Self.bytes(h, "fresh") == Self.bytes(h, "k"))
    }

    @Test func debugSubcommands() {
        let h = CommandHarness()
        h.run("PFADD", "h", "a")
        #expect(h.run("PFDEBUG", "ENCODING", "h") == .simpleString(ByteBuffer(string: "sparse")))
        #expect(h.run("PFDEBUG", "DECODE", "h") == .bulk("Z:12711 v:2,1 Z:3672"))
        #expect(h.run("PFDEBUG", "TODENSE", "h") == .int(1))
        #expect(h.run("PFDEBUG", "TODENSE", "h") == .int(0))
        #expect(h.run("PFDEBUG", "DECODE", "h") == .err("ERR HLL encoding is not sparse"))
        #expect(h.run("STRLEN", "h") == .int(12304))
        guard case .array(let registers?) = h.run("PFDEBUG", "GETREG", "h") else {
            Issue.record("GETREG is not an array")
            return
        }
        #expect(registers.count == 16384)
        #expect(registers[12711] == .int(2))
        #expect(registers.filter { $0 != .int(0) }.count == 1)
    }

    @Test func promotionFollowsTheConfig() {
        let h = CommandHarness()
        h.run("CONFIG", "SET", "hll-sparse-max-bytes", "30")
        h.run("PFADD", "h", "a", "b", "c")
        #expect(h.run("PFDEBUG", "ENCODING", "h") == .simpleString(ByteBuffer(string: "sparse")))
        h.run("PFADD", "h", "d", "e", "f", "g")
        #expect(h.run("PFDEBUG", "ENCODING", "h") == .simpleString(ByteBuffer(string: "dense")))
        #expect(h.run("PFCOUNT", "h") == .int(7))
    }

    /// PFADD and PFCOUNT change the stored bytes in place: the array is never copied per command.
    @Test func denseUpdatesInPlace() {
        let h = CommandHarness()
        for i in 0..<40 { h.run("PFADD", "h", "x\(i)", "y\(i)", "z\(i)", "w\(i)") }
        h.run("PFDEBUG", "TODENSE", "h")
        let before = Self.storage(h, "h")
        #expect(before != nil)
        for i in 0..<2000 { h.run("PFADD", "h", "e\(i)") }
        h.run("PFCOUNT", "h")
        #expect(Self.storage(h, "h") == before)
        let estimate = { () -> Int64 in
            if case .integer(let v) = h.run("PFCOUNT", "h") { return v }
            return -1
        }()
        #expect(abs(estimate - 2160) < 100)
    }

    @Test func selfTestArity() {
        let h = CommandHarness()
        #expect(h.run("PFSELFTEST", "x") == .err("ERR wrong number of arguments for 'pfselftest' command"))
    }
}
