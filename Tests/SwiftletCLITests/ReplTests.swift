import NIOCore
import SwiftletRESP
import Testing

@testable import SwiftletCLI

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The REPL's pure parts: line splitting, the repeat count, the prompt, the history rules.
struct ReplTests {
    private func split(_ line: String) -> [String]? {
        InlineSplitter.split(Array(line.utf8)).map { $0.map { String(decoding: $0, as: UTF8.self) } }
    }

    @Test func linesSplitAsSdssplitargs() {
        #expect(self.split("set a 1") == ["set", "a", "1"])
        #expect(self.split("  set   \"a b\"  'c d' ") == ["set", "a b", "c d"])
        #expect(self.split("set k \"x\\ny\\x41\"") == ["set", "k", "x\nyA"])
        #expect(self.split("set k 'it\\'s'") == ["set", "k", "it's"])
        #expect(self.split("set k \"\"") == ["set", "k", ""])
        #expect(self.split("") == [])
        // Unbalanced quotes and a closing quote followed by a letter: "Invalid argument(s)".
        #expect(self.split("set \"a") == nil)
        #expect(self.split("set 'a") == nil)
        #expect(self.split("set \"a\"b") == nil)
    }

    @Test(arguments: [
        ("3", 3), ("+2", 2), ("10", 10), ("0", 0), ("-1", 0), ("", 0), ("99999999999999999999", 0),
    ])
    func repeatCounts(word: String, count: Int) {
        #expect(Repl.repeatCount(word) == count)
    }

    @Test(arguments: ["ping", "3x", "+", " ", "x3"])
    func wordsThatAreNotRepeatCounts(word: String) {
        #expect(Repl.repeatCount(word) == nil)
    }

    @Test func promptForms() {
        var options = CLIOptions(stdoutIsTerminal: true)
        options.port = 6390
        var repl = Repl(options: options)
        #expect(repl.prompt == "not connected> ")
        // A listening socket of our own, so that the prompt has a connection to describe.
        let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(server) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(server, $0, length) }
        }
        listen(server, 4)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(server, $0, &length) }
        }
        let port = Int32(UInt16(bigEndian: address.sin_port))
        repl.options.port = port
        repl.connection = try? CLIConnection(host: "127.0.0.1", port: port)
        #expect(repl.prompt == "127.0.0.1:\(port)> ")
        repl.database = 2
        #expect(repl.prompt == "127.0.0.1:\(port)[2]> ")
        repl.inTransaction = true
        #expect(repl.prompt == "127.0.0.1:\(port)[2](TX)> ")
        repl.options.host = "::1"
        #expect(repl.prompt == "[::1]:\(port)[2](TX)> ")
        repl.options.socketPath = "/tmp/s.sock"
        repl.database = 0
        repl.inTransaction = false
        #expect(repl.prompt == "redis /tmp/s.sock> ")
    }

    // MARK: - History

    @Test func historyFilePathFollowsRedisCLIsRules() {
        #expect(ReplHistory.filePath(environment: ["HOME": "/home/u"]) == "/home/u/.swiftletcli_history")
        #expect(
            ReplHistory.filePath(environment: ["HOME": "/home/u", "SWIFTLETCLI_HISTFILE": "/tmp/h"]) == "/tmp/h"
        )
        // An empty value is as if unset; /dev/null means no file.
        #expect(
            ReplHistory.filePath(environment: ["HOME": "/home/u", "SWIFTLETCLI_HISTFILE": ""])
                == "/home/u/.swiftletcli_history"
        )
        #expect(ReplHistory.filePath(environment: ["HOME": "/home/u", "SWIFTLETCLI_HISTFILE": "/dev/null"]) == nil)
        #expect(ReplHistory.filePath(environment: [:]) == nil)
        #expect(ReplHistory.filePath(environment: ["HOME": ""]) == nil)
    }

    @Test func historyDropsRepeatsAndKeepsTheLast100() {
        var history = ReplHistory()
        history.add(Array("ping".utf8))
        history.add(Array("ping".utf8))
        history.add(Array("get a".utf8))
        history.add(Array("ping".utf8))
        #expect(history.entries.map { String(decoding: $0, as: UTF8.self) } == ["ping", "get a", "ping"])
        for index in 0..<150 { history.add(Array("set k \(index)".utf8)) }
        #expect(history.entries.count == 100)
        #expect(history.entries.first == Array("set k 50".utf8))
        #expect(history.entries.last == Array("set k 149".utf8))
    }

    /// The file is read as linenoise's `fgets(buf, 4096)` reads it: a long line is several entries of 4095 bytes,
    /// so memory stays bounded whatever the file holds; only the last 100 entries stay.
    @Test func historyLoadIsBounded() throws {
        let path = "/tmp/swiftletcli-history-bounded-\(getpid())"
        defer { unlink(path) }
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let output = FileOutput(descriptor: descriptor)
        for index in 0..<250 { output.write("get k\(index)\n") }
        // One line of 1 MB without a newline, its pieces all different (4095 is not a multiple of 26).
        let letters = Array("abcdefghijklmnopqrstuvwxyz".utf8)
        output.write((0..<1_000_000).map { letters[$0 % 26] })
        close(descriptor)
        var history = ReplHistory()
        history.load(from: path)
        #expect(history.entries.count == 100)
        #expect(history.entries.allSatisfy { $0.count <= ReplHistory.maximumLineLength - 1 })
        #expect(history.entries.last?.count == 1_000_000 % 4095)
        // A NUL ends the line (linenoise sees a C string), as CR and LF do.
        let nul = open(path, O_WRONLY | O_TRUNC)
        FileOutput(descriptor: nul).write(Array("ab".utf8) + [0] + Array("cd\nef\n".utf8))
        close(nul)
        var cut = ReplHistory()
        cut.load(from: path)
        #expect(cut.entries.map { String(decoding: $0, as: UTF8.self) } == ["ab", "ef"])
    }

    @Test func historyFileRoundTripIsPrivate() throws {
        let path = "/tmp/swiftletcli-history-test-\(getpid())"
        defer { unlink(path) }
        var history = ReplHistory()
        history.add(Array("set a 1".utf8))
        history.add(Array("get a".utf8))
        #expect(history.save(to: path))
        var status = stat()
        #expect(stat(path, &status) == 0)
        #expect(status.st_mode & 0o777 == 0o600)
        var loaded = ReplHistory()
        loaded.load(from: path)
        #expect(loaded.entries == history.entries)
        // Lines end at CR or LF, and a last line without a newline counts.
        let descriptor = open(path, O_WRONLY | O_TRUNC)
        FileOutput(descriptor: descriptor).write("a\r\nb\nc")
        close(descriptor)
        var crlf = ReplHistory()
        crlf.load(from: path)
        #expect(crlf.entries.map { String(decoding: $0, as: UTF8.self) } == ["a", "b", "c"])
        var missing = ReplHistory()
        missing.load(from: path + "-missing")
        #expect(missing.entries.isEmpty)
    }

    @Test(arguments: [
        (["auth", "pw"], true),
        (["AUTH", "user", "pw"], true),
        (["acl", "setuser", "u", "on"], true),
        (["config", "set", "requirepass", "x"], true),
        (["config", "set", "masterauth", "x"], true),
        (["config", "set", "maxmemory", "1"], false),
        (["config", "get", "requirepass"], false),
        (["hello", "3", "auth", "u", "p"], true),
        (["hello", "3", "setname", "n", "auth", "u", "p"], true),
        (["hello", "3", "setname", "n"], false),
        (["hello", "3"], false),
        (["migrate", "h", "1", "k", "0", "10", "auth", "p"], true),
        (["migrate", "h", "1", "", "0", "10", "auth2", "u", "p"], true),
        (["migrate", "h", "1", "", "0", "10", "keys", "auth"], false),
        (["set", "auth", "1"], false),
    ])
    func sensitiveLinesStayOutOfHistory(words: [String], sensitive: Bool) {
        #expect(ReplHistory.isSensitive(words) == sensitive)
    }
}
