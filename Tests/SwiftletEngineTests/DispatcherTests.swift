import NIOCore
import SwiftletKeyspace
import SwiftletRESP
import Testing

@testable import SwiftletEngine

struct DispatcherTests {
    @Test func unknownCommandQuotesArguments() {
        let h = CommandHarness()
        #expect(
            h.raw("FOO", "a", "b\r\nc") == "-ERR unknown command 'FOO', with args beginning with: 'a' 'b  c' \r\n"
        )
    }

    /// Bytes from the request are echoed as they came, UTF-8 or not; each argument ends at its first NUL (%s).
    @Test func unknownCommandEchoesBytesAsTheyCame() {
        let h = CommandHarness()
        let name: [UInt8] = [0xC2, 0x2A, 0xFF]
        let reply = h.rawBytes([name, [0x01, 0xFF, 0x00, 0x41]])
        let expected =
            Array("-ERR unknown command '".utf8) + name + Array("', with args beginning with: '".utf8) + [0x01, 0xFF]
            + Array("' \r\n".utf8)
        #expect(reply == expected)
        #expect(
            h.rawBytes([Array("object".utf8), [0xFF]]) == Array("-ERR unknown subcommand '".utf8) + [0xFF]
                + Array("'. Try OBJECT HELP.\r\n".utf8)
        )
    }

    @Test func arityUsesLowercaseFullName() {
        let h = CommandHarness()
        #expect(h.run("GET") == .err("ERR wrong number of arguments for 'get' command"))
        #expect(h.run("CONFIG", "GET") == .err("ERR wrong number of arguments for 'config|get' command"))
        #expect(h.run("config") == .err("ERR wrong number of arguments for 'config' command"))
    }

    @Test func unknownSubcommand() {
        let h = CommandHarness()
        #expect(h.run("object", "foo", "k") == .err("ERR unknown subcommand 'foo'. Try OBJECT HELP."))
    }

    @Test func namesAreCaseInsensitive() {
        let h = CommandHarness()
        #expect(h.run("sEt", "k", "v") == .ok)
        #expect(h.run("GeT", "k") == .bulk("v"))
    }

    @Test func commandStatsCountCallsAndFailures() {
        let h = CommandHarness()
        h.run("SET", "k", "v")
        h.run("INCR", "k")
        h.run("GET")
        let incr = h.state.table.lookup("incr")!
        let get = h.state.table.lookup("get")!
        #expect(h.state.table.stats[incr.id].calls == 1)
        #expect(h.state.table.stats[incr.id].failedCalls == 1)
        #expect(h.state.table.stats[get.id].rejectedCalls == 1)
    }

    @Test func resp3RepliesUseResp3Types() {
        let h = CommandHarness(protocolVersion: .resp3)
        #expect(h.raw("GET", "missing") == "_\r\n")
        h.run("SET", "k", "v")
        #expect(h.raw("CONFIG", "GET", "maxmemory") == "%1\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n")
    }
}
