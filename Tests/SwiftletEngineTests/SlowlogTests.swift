import NIOCore
import SwiftletRESP
import Testing

@testable import SwiftletEngine

struct SlowlogTests {
    /// A harness whose every command is slow enough to be logged.
    static func logging() -> CommandHarness {
        let h = CommandHarness()
        h.run("CONFIG", "SET", "slowlog-log-slower-than", "0")
        h.run("SLOWLOG", "RESET")
        return h
    }

    /// The arguments, peer and client name of SLOWLOG GET's entries, newest first (ids, time and duration are
    /// checked for their kind).
    static func entries(_ h: CommandHarness, _ count: String = "-1") -> [([String], String, String)] {
        guard case .array(let entries?) = h.run("SLOWLOG", "GET", count) else { return [] }
        var ids: [Int64] = []
        var out: [([String], String, String)] = []
        for case .array(let fields?) in entries {
            guard fields.count == 6, case .integer(let id) = fields[0], case .integer(let time) = fields[1],
                case .integer(let duration) = fields[2], case .array(let arguments?) = fields[3],
                case .bulkString(let peer?) = fields[4], case .bulkString(let name?) = fields[5]
            else { return [] }
            #expect(time == 1_700_000_000)
            #expect(duration >= 0)
            ids.append(id)
            let words = arguments.map { value -> String in
                if case .bulkString(let bytes?) = value { return String(buffer: bytes) }
                return "?"
            }
            out.append((words, String(buffer: peer), String(buffer: name)))
        }
        #expect(ids == ids.sorted(by: >))
        return out
    }

    @Test func logsEachCommandAfterItRanNewestFirst() {
        let h = Self.logging()
        h.run("SET", "k", "v")
        h.run("CLIENT", "SETNAME", "app")
        h.run("GET", "k")
        let logged = Self.entries(h)
        #expect(
            logged.map(\.0) == [
                ["GET", "k"], ["CLIENT", "SETNAME", "app"], ["SET", "k", "v"], ["SLOWLOG", "RESET"],
            ]
        )
        #expect(logged.map(\.1) == Array(repeating: "127.0.0.1:5000", count: 4))
        // The name as it is after the command: CLIENT SETNAME's own entry has it.
        #expect(logged.map(\.2) == ["app", "app", "", ""])
        #expect(h.run("SLOWLOG", "LEN") == .int(5))
        #expect(Self.entries(h, "2").count == 2)
        #expect(h.run("SLOWLOG", "GET", "-2") == .err("ERR count should be greater than or equal to -1"))
    }

    @Test func trimsArgumentsAndRedactsPasswordsAsRedis() {
        let h = Self.logging()
        h.run(["RPUSH", "l"].map { Array($0.utf8) } + (1...40).map { Array("\($0)".utf8) })
        h.run("SET", String(repeating: "x", count: 200), "v")
        h.run("AUTH", "user", "password")
        h.run("CONFIG", "SET", "requirepass", "", "maxmemory", "0")
        let logged = Self.entries(h, "4").map(\.0)
        #expect(logged[0] == ["CONFIG", "SET", "requirepass", "(redacted)", "maxmemory", "0"])
        #expect(logged[1] == ["AUTH", "(redacted)", "(redacted)"])
        #expect(logged[2] == ["SET", String(repeating: "x", count: 128) + "... (72 more bytes)", "v"])
        #expect(logged[3].count == 32)
        #expect(logged[3].suffix(2) == ["29", "... (11 more arguments)"])
    }

    @Test func keepsOnlySlowCommandsAndTheNewestMaxLen() {
        let h = CommandHarness()
        h.run("SET", "k", "v")
        #expect(h.run("SLOWLOG", "LEN") == .int(0))
        h.run("CONFIG", "SET", "slowlog-log-slower-than", "0")
        for _ in 0..<5 { h.run("INCR", "n") }
        h.run("CONFIG", "SET", "slowlog-max-len", "2")
        #expect(h.run("SLOWLOG", "LEN") == .int(2))
        // Off: nothing is logged, and nothing trimmed.
        h.run("CONFIG", "SET", "slowlog-log-slower-than", "-1")
        h.run("CONFIG", "SET", "slowlog-max-len", "1")
        #expect(h.run("SLOWLOG", "LEN") == .int(2))
        // EXEC is never logged; the commands it runs are.
        h.run("CONFIG", "SET", "slowlog-log-slower-than", "0")
        h.run("CONFIG", "SET", "slowlog-max-len", "10")
        h.run("SLOWLOG", "RESET")
        h.run("MULTI")
        h.run("INCR", "n")
        h.run("EXEC")
        #expect(Self.entries(h).map(\.0) == [["INCR", "n"], ["MULTI"], ["SLOWLOG", "RESET"]])
    }
}
