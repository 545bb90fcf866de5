import Testing

@testable import SwiftletCLI

/// `--memcached`: how words become requests and where replies end.
struct MemcachedModeTests {
    private func request(_ words: String...) throws -> MemcachedRequest {
        try MemcachedRequest(words: words.map { Array($0.utf8) })
    }

    private func text(_ request: MemcachedRequest) -> String { String(decoding: request.bytes, as: UTF8.self) }

    @Test func options() throws {
        let options = try CLIOptions.parse(["--memcached", "get", "k"], stdoutIsTerminal: false)
        #expect(options.memcached && options.port == 11211 && options.command == ["get", "k"])
        let given = try CLIOptions.parse(["-p", "7000", "--memcached"], stdoutIsTerminal: false)
        #expect(given.port == 7000)
        let uri = try CLIOptions.parse(["-u", "redis://h:7001", "--memcached"], stdoutIsTerminal: false)
        #expect(uri.port == 7001 && uri.host == "h")
    }

    @Test func storageForms() throws {
        #expect(text(try request("set", "k", "v")) == "set k 0 0 1\r\nv\r\n")
        #expect(text(try request("add", "k", "5", "60", "hello")) == "add k 5 60 5\r\nhello\r\n")
        #expect(text(try request("set", "k", "5", "60", "noreply", "v")) == "set k 5 60 1 noreply\r\nv\r\n")
        #expect(try request("set", "k", "noreply", "v").shape == .none)
        #expect(text(try request("set", "k", "")) == "set k 0 0 0\r\n\r\n")
        #expect(text(try request("cas", "k", "42", "v")) == "cas k 0 0 1 42\r\nv\r\n")
        #expect(text(try request("cas", "k", "1", "2", "42", "vv")) == "cas k 1 2 2 42\r\nvv\r\n")
        #expect(text(try request("ms", "k", "T0", "hello")) == "ms k 5 T0\r\nhello\r\n")
        #expect(text(try request("ms", "k", "q", "v")) == "ms k 1 q\r\nv\r\nmn\r\n")
        #expect(throws: MemcachedRequest.Invalid.self) { try request("set", "k") }
        #expect(throws: MemcachedRequest.Invalid.self) { try request("cas", "k", "v") }
    }

    @Test func otherCommands() throws {
        #expect(text(try request("get", "a", "b")) == "get a b\r\n")
        #expect(try request("gets", "a").shape == .values)
        #expect(try request("stats", "slabs").shape == .linesUntilEnd)
        #expect(try request("mg", "k", "v").shape == .meta)
        #expect(text(try request("mg", "k", "v", "q")) == "mg k v q\r\nmn\r\n")
        #expect(try request("mn").shape == .meta)
        #expect(try request("delete", "k", "noreply").shape == .none)
        #expect(try request("quit").shape == .none)
        #expect(try request("version").shape == .line)
        #expect(try request("watch").shape == .stream)
    }

    @Test func replyEnds() {
        func next(_ shape: MemcachedRequest.ReplyShape, _ line: String) -> MemcachedReplyTracker.Next {
            MemcachedReplyTracker(shape: shape).next(after: Array(line.utf8))
        }
        #expect(next(.values, "VALUE k 0 5") == .data(5))
        #expect(next(.values, "VALUE k 0 5 77") == .data(5))
        #expect(next(.values, "END") == .done)
        #expect(next(.values, "CLIENT_ERROR bad command line format") == .done)
        #expect(next(.linesUntilEnd, "STAT pid 1") == .line)
        #expect(next(.linesUntilEnd, "RESET") == .done)
        #expect(next(.meta, "VA 3 f0") == .data(3))
        #expect(next(.meta, "HD") == .done)
        #expect(next(.metaUntilNoop, "EN") == .line)
        #expect(next(.metaUntilNoop, "CLIENT_ERROR bad data chunk") == .line)
        #expect(next(.metaUntilNoop, "MN") == .done)
        #expect(next(.line, "STORED") == .done)
        #expect(MemcachedReplyTracker(shape: .meta).nextAfterData() == .done)
        #expect(MemcachedReplyTracker(shape: .values).nextAfterData() == .line)
    }

    @Test func completion() {
        #expect(MemcachedMode.complete("ge") == ["get", "gets"])
        #expect(MemcachedMode.complete("get k").isEmpty)
    }
}
