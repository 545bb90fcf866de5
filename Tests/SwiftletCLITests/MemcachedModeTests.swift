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

    /// Every word count from 2 to 7 for set and cas: the valid forms build a request, the others print the
    /// usage line (they used to trap on an out-of-range insert).
    @Test(arguments: [
        ("set k", false), ("set k v", true), ("set k 5 v", false), ("set k noreply v", true),
        ("set k 5 60 v", true), ("set k 5 noreply v", false), ("set k 5 60 noreply v", true),
        ("set k 5 60 1 v", false), ("set k 5 60 1 noreply v", false), ("set k 5 60 1 2 v", false),
        ("cas k", false), ("cas k v", false), ("cas k 42 v", true), ("cas k noreply v", false),
        ("cas k 42 noreply v", true), ("cas k 5 60 v", false), ("cas k 5 60 42 v", true),
        ("cas k 5 60 noreply v", false), ("cas k 5 60 42 noreply v", true), ("cas k 5 60 42 1 v", false),
    ])
    func storageWordCounts(line: String, valid: Bool) throws {
        let words = line.split(separator: " ").map { Array($0.utf8) }
        let usage =
            words[0] == Array("cas".utf8)
            ? "(error) usage: cas key [flags exptime] cas-unique [noreply] data"
            : "(error) usage: set key [flags exptime] [noreply] data"
        do {
            let request = try MemcachedRequest(words: words)
            #expect(valid)
            let text = String(decoding: request.bytes, as: UTF8.self)
            // name key flags exptime bytes [cas-unique] [noreply], then the data block.
            let head = text.split(separator: "\r\n", omittingEmptySubsequences: false)
            #expect(head.count == 3 && head[1] == "v" && head[0].split(separator: " ")[4] == "1")
        } catch {
            #expect(!valid)
            #expect(error.message == usage)
        }
    }

    @Test func storageRequestsWithFlags() throws {
        #expect(text(try request("set", "k", "noreply", "v")) == "set k 0 0 1 noreply\r\nv\r\n")
        #expect(text(try request("cas", "k", "42", "noreply", "v")) == "cas k 0 0 1 42 noreply\r\nv\r\n")
        #expect(text(try request("cas", "k", "5", "60", "42", "noreply", "v")) == "cas k 5 60 1 42 noreply\r\nv\r\n")
    }

    /// A block size beyond memcached's 1 GiB item limit (or beyond Int) is a protocol error, not an allocation.
    @Test func hugeBlockSizesAreRefused() {
        func next(_ shape: MemcachedRequest.ReplyShape, _ line: String) -> MemcachedReplyTracker.Next {
            MemcachedReplyTracker(shape: shape).next(after: Array(line.utf8))
        }
        #expect(next(.values, "VALUE k 0 1073741824") == .data(1_073_741_824))
        #expect(next(.meta, "VA 1073741824 f") == .data(1_073_741_824))
        for line in ["VALUE k 0 1073741825", "VALUE k 0 9223372036854775807", "VALUE k 0 99999999999999999999"] {
            guard case .tooLarge(let message) = next(.values, line) else {
                Issue.record("\(line) was not refused")
                continue
            }
            #expect(message.hasPrefix("Protocol error: data block of "))
        }
        guard case .tooLarge = next(.metaUntilNoop, "VA 9223372036854775807") else {
            Issue.record("VA of Int.max was not refused")
            return
        }
    }

    @Test func historyFileNeedsAHome() {
        #expect(MemcachedMode.historyFile(environment: ["HOME": ""]) == nil)
        #expect(MemcachedMode.historyFile(environment: [:]) == nil)
        #expect(MemcachedMode.historyFile(environment: ["HOME": "/home/u"]) == "/home/u/.swiftlet_memcached_history")
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
