import NIOCore
import SwiftletRESP
import Testing

@testable import SwiftletEngine

/// The MULTI queue copies every argument into one buffer and keeps its storage between transactions; these check
/// that what runs at EXEC is exactly what was queued, transaction after transaction.
struct TransactionCommandsTests {
    @Test func queuedCommandsRunWithTheirOwnArguments() {
        let h = CommandHarness()
        #expect(h.run("MULTI") == .ok)
        #expect(h.raw("SET", "k1", "v1") == "+QUEUED\r\n")
        #expect(h.raw("RPUSH", "l", "a", "", "c") == "+QUEUED\r\n")
        #expect(h.raw("GET", "k1") == "+QUEUED\r\n")
        #expect(h.raw("PING") == "+QUEUED\r\n")
        #expect(h.raw("EXEC") == "*4\r\n+OK\r\n:3\r\n$2\r\nv1\r\n+PONG\r\n")
        #expect(h.run("LRANGE", "l", "0", "-1") == .bulks(["a", "", "c"]))
    }

    @Test func theQueueIsEmptyForTheNextTransaction() {
        let h = CommandHarness()
        for round in 0..<50 {
            #expect(h.run("MULTI") == .ok)
            for i in 0..<(round % 7) { h.run("SET", "k\(i)", "round\(round)") }
            #expect(h.raw("INCR", "n") == "+QUEUED\r\n")
            let reply = h.run("EXEC")
            guard case .array(let items?) = reply else {
                Issue.record("EXEC replied \(reply)")
                return
            }
            #expect(items.count == round % 7 + 1)
            #expect(items.last == .int(Int64(round + 1)))
        }
        #expect(h.run("GET", "k0") == .bulk("round48"))
    }

    @Test func discardEmptiesTheQueue() {
        let h = CommandHarness()
        h.run("MULTI")
        h.run("SET", "k", "discarded")
        #expect(h.run("DISCARD") == .ok)
        h.run("MULTI")
        h.run("GET", "k")
        #expect(h.raw("EXEC") == "*1\r\n$-1\r\n")
    }

    @Test func largeTransactionThenSmallOne() {
        let h = CommandHarness()
        let big = String(repeating: "x", count: 100_000)
        h.run("MULTI")
        h.run("SET", "a", big)
        h.run("APPEND", "a", "y")
        #expect(h.raw("EXEC") == "*2\r\n+OK\r\n:100001\r\n")
        h.run("MULTI")
        h.run("STRLEN", "a")
        #expect(h.raw("EXEC") == "*1\r\n:100001\r\n")
    }

    @Test func binaryArgumentsSurviveTheQueue() {
        let h = CommandHarness()
        let value: [UInt8] = [0, 13, 10, 255, 36, 42]
        h.run([Array("MULTI".utf8)])
        h.run([Array("SET".utf8), Array("bin".utf8), value])
        h.run([Array("EXEC".utf8)])
        #expect(h.run("GET", "bin") == .bulkString(ByteBuffer(bytes: value)))
    }
}
