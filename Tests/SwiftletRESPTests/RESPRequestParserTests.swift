import NIOCore
import Testing

@testable import SwiftletRESP

struct RESPRequestParserTests {
    func parseAll(_ chunks: [String], limits: RESPRequestLimits = .init()) throws -> [[String]] {
        var parser = RESPRequestParser(limits: limits)
        var buffer = ByteBuffer()
        var args: [ByteBuffer] = []
        var out: [[String]] = []
        for chunk in chunks {
            buffer.writeString(chunk)
            while try parser.next(from: &buffer, into: &args) {
                out.append(args.map { String(buffer: $0) })
            }
        }
        return out
    }

    @Test func multibulkAndInline() throws {
        #expect(try self.parseAll(["*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"]) == [["GET", "k"]])
        #expect(try self.parseAll(["PING\r\n"]) == [["PING"]])
        #expect(try self.parseAll(["SET \"a b\" 'c'\n"]) == [["SET", "a b", "c"]])
        #expect(try self.parseAll(["\r\n", "*0\r\n", "*-1\r\n", "PING\r\n"]) == [["PING"]])
    }

    @Test func everySplitPointGivesTheSameRequests() throws {
        let input = "*3\r\n$3\r\nSET\r\n$5\r\nhello\r\n$5\r\nworld\r\nPING\r\n*1\r\n$4\r\nQUIT\r\n"
        let whole = try self.parseAll([input])
        #expect(whole == [["SET", "hello", "world"], ["PING"], ["QUIT"]])
        let bytes = Array(input.utf8)
        for split in 1..<bytes.count {
            let a = String(decoding: bytes[..<split], as: UTF8.self)
            let b = String(decoding: bytes[split...], as: UTF8.self)
            #expect(try self.parseAll([a, b]) == whole)
        }
        #expect(try self.parseAll(bytes.map { String(UnicodeScalar($0)) }) == whole)
    }

    @Test func randomChunkingMatches() throws {
        var input = ""
        var expected: [[String]] = []
        var rng = SystemRandomNumberGenerator()
        for i in 0..<200 {
            let value = String(repeating: "v", count: Int.random(in: 0..<300, using: &rng))
            input += "*3\r\n$3\r\nSET\r\n$\(String(i).count)\r\n\(i)\r\n$\(value.count)\r\n\(value)\r\n"
            expected.append(["SET", String(i), value])
        }
        let bytes = Array(input.utf8)
        var chunks: [String] = []
        var i = 0
        while i < bytes.count {
            let n = Int.random(in: 1...64, using: &rng)
            chunks.append(String(decoding: bytes[i..<min(bytes.count, i + n)], as: UTF8.self))
            i += n
        }
        #expect(try self.parseAll(chunks) == expected)
    }

    @Test(arguments: [
        ("*abc\r\n", "invalid multibulk length"),
        ("*1\r\n%4\r\n", "expected '$', got '%'"),
        ("*1\r\n$-1\r\n", "invalid bulk length"),
        ("*1\r\n$x\r\n", "invalid bulk length"),
        ("*1\r\n$\r\n", "invalid bulk length"),
        ("*1\r\n\r\n", "expected '$', got ' '"),
        ("*2\r\n$1\r\na\r\n\r\n", "expected '$', got ' '"),
        ("\"unbalanced\r\n", "unbalanced quotes in request"),
        ("\"a\"b\r\n", "unbalanced quotes in request"),
    ])
    func errors(input: String, reason: String) {
        #expect(throws: RESPProtocolError(reason)) { try self.parseAll([input]) }
    }

    /// The byte in a bulk's place is echoed as it came (Redis's `%c`), not UTF-8-encoded; a NUL there hides the
    /// line's end, so the parser waits for more, as Redis does.
    @Test func expectedBulkEchoesTheByte() {
        func reason(_ bytes: [UInt8]) -> [UInt8]? {
            var parser = RESPRequestParser()
            var buffer = ByteBuffer(bytes: bytes)
            var args: [ByteBuffer] = []
            do {
                _ = try parser.next(from: &buffer, into: &args)
                return nil
            } catch {
                return error.reasonBytes
            }
        }
        let prefix = Array("*1\r\n".utf8)
        #expect(reason(prefix + [0xFF] + Array("4\r\n".utf8)) == Array("expected '$', got '".utf8) + [0xFF, 0x27])
        #expect(reason(prefix + [0x00] + Array("4\r\n".utf8)) == nil)
        #expect(reason(prefix + Array("\r\n".utf8)) == Array("expected '$', got ' '".utf8))
    }

    /// Redis finds line ends with `strchr`, which stops at a NUL byte: a NUL before the end hides it, and the
    /// request waits for more input, up to the 64 KiB limit.
    @Test func aNulByteHidesTheLineEnd() throws {
        #expect(try self.parseAll(["\u{0}PING\r\n", "PING\r\n"]) == [])
        #expect(try self.parseAll(["PING\r\n\u{0}\r\n"]) == [["PING"]])
        #expect(try self.parseAll(["*1\u{0}\r\n$4\r\nPING\r\n"]) == [])
        #expect(try self.parseAll(["*1\r\n$4\u{0}\r\nPING\r\n"]) == [])
        #expect(throws: RESPProtocolError("too big inline request")) {
            try self.parseAll(["\u{0}\r\n" + String(repeating: "a", count: 65 * 1024)])
        }
    }

    @Test func limits() {
        var limits = RESPRequestLimits()
        limits.maxBulkLength = 10
        #expect(throws: RESPProtocolError("invalid bulk length")) {
            try self.parseAll(["*1\r\n$11\r\n"], limits: limits)
        }
        #expect(throws: RESPProtocolError("too big inline request")) {
            try self.parseAll([String(repeating: "a", count: 65 * 1024)])
        }
        #expect(throws: RESPProtocolError("too big mbulk count string")) {
            try self.parseAll(["*" + String(repeating: "1", count: 65 * 1024)])
        }
        #expect(throws: RESPProtocolError("too big bulk count string")) {
            try self.parseAll(["*1\r\n$" + String(repeating: "1", count: 65 * 1024)])
        }
    }

    @Test func replyWriterMapsResp3ToResp2() {
        var w2 = RESPReplyWriter(buffer: ByteBuffer(), version: .resp2)
        var w3 = RESPReplyWriter(buffer: ByteBuffer(), version: .resp3)
        for w in [0, 1] {
            func run(_ w: inout RESPReplyWriter) {
                w.writeMapHeader(1)
                w.writeNull()
                w.writeBoolean(true)
                w.writeDouble(formatted: Array("1.5".utf8))
                w.writeInteger(-42)
            }
            if w == 0 { run(&w2) } else { run(&w3) }
        }
        #expect(String(buffer: w2.buffer) == "*2\r\n$-1\r\n:1\r\n$3\r\n1.5\r\n:-42\r\n")
        #expect(String(buffer: w3.buffer) == "%1\r\n_\r\n#t\r\n,1.5\r\n:-42\r\n")
    }
}
