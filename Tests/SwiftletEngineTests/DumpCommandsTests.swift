import NIOCore
import SwiftletRESP
import Testing

struct DumpCommandsTests {
    func payload(_ h: CommandHarness, _ key: String) -> [UInt8]? {
        guard case .bulkString(let b?) = h.run("DUMP", key) else { return nil }
        return Array(b.readableBytesView)
    }

    @Test func dumpMissingKeyIsNull() {
        let h = CommandHarness()
        #expect(h.raw("DUMP", "nope") == "$-1\r\n")
    }

    @Test func integerPayloadMatchesRedis() {
        let h = CommandHarness()
        h.run("SET", "k", "12345")
        // What Redis 7.0 replies (redis-cli DUMP): type 0, INT16 12345, version 10, CRC-64.
        #expect(
            payload(h, "k") == [0x00, 0xC1, 0x39, 0x30, 0x0A, 0x00, 0x9D, 0x94, 0xEA, 0x27, 0x93, 0xFC, 0x08, 0xB9]
        )
    }

    @Test(arguments: [
        ["SET", "k", String(repeating: "abc", count: 300)],
        ["RPUSH", "k", "a", "1", "-70000"],
        ["HSET", "k", "f", "v"],
        ["SADD", "k", "1", "5000000000"],
        ["SADD", "k", "x", "y"],
        ["ZADD", "k", "1.5", "a", "-1", "b"],
    ])
    func roundTrip(_ setup: [String]) {
        let h = CommandHarness()
        h.run(setup.map { Array($0.utf8) })
        let type = h.run("TYPE", "k")
        let encoding = h.run("OBJECT", "ENCODING", "k")
        guard let p = payload(h, "k") else {
            Issue.record("no payload")
            return
        }
        #expect(h.run([Array("RESTORE".utf8), Array("k2".utf8), Array("0".utf8), p]) == .ok)
        #expect(h.run("TYPE", "k2") == type)
        #expect(h.run("OBJECT", "ENCODING", "k2") == encoding)
        #expect(
            h.run([Array("RESTORE".utf8), Array("k".utf8), Array("0".utf8), p])
                == .err("BUSYKEY Target key name already exists.")
        )
    }

    @Test func errors() {
        let h = CommandHarness()
        h.run("SET", "k", "v")
        let p = payload(h, "k")!
        func restore(_ extra: [String], payload: [UInt8]? = nil, ttl: String = "0") -> RESPValue {
            h.run(
                [Array("RESTORE".utf8), Array("n".utf8), Array(ttl.utf8), payload ?? p] + extra.map { Array($0.utf8) }
            )
        }
        #expect(restore([], ttl: "-1") == .err("ERR Invalid TTL value, must be >= 0"))
        #expect(restore([], ttl: "x") == .err("ERR value is not an integer or out of range"))
        #expect(restore([], payload: Array(p.dropLast())) == .err("ERR DUMP payload version or checksum are wrong"))
        #expect(restore([], payload: [1, 2, 3]) == .err("ERR DUMP payload version or checksum are wrong"))
        #expect(restore(["IDLETIME", "-1"]) == .err("ERR Invalid IDLETIME value, must be >= 0"))
        #expect(restore(["FREQ", "256"]) == .err("ERR Invalid FREQ value, must be >= 0 and <= 255"))
        #expect(restore(["IDLETIME", "1", "FREQ", "1"]) == .err("ERR syntax error"))
        #expect(restore(["BOGUS"]) == .err("ERR syntax error"))
        #expect(h.run("EXISTS", "n") == .int(0))
    }

    @Test func ttlAndReplace() {
        let h = CommandHarness()
        h.run("SET", "k", "v")
        let p = payload(h, "k")!
        #expect(h.run([Array("RESTORE".utf8), Array("k".utf8), Array("5000".utf8), p, Array("REPLACE".utf8)]) == .ok)
        #expect(h.run("PTTL", "k") == .int(5000))
        let at = Array(String(h.clock.now + 9000).utf8)
        #expect(
            h.run([Array("RESTORE".utf8), Array("k".utf8), at, p, Array("REPLACE".utf8), Array("ABSTTL".utf8)]) == .ok
        )
        #expect(h.run("PTTL", "k") == .int(9000))
        // An absolute time in the past: OK, and the replaced key is gone.
        #expect(
            h.run([
                Array("RESTORE".utf8), Array("k".utf8), Array("1".utf8), p, Array("REPLACE".utf8), Array("ABSTTL".utf8),
            ]) == .ok
        )
        #expect(h.run("EXISTS", "k") == .int(0))
    }
}
