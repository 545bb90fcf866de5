import Testing

@testable import SwiftletRESP

struct RESPReplyScannerTests {
    private func scan(_ text: String, from start: Int = 0) -> RESPReplyScanner.Outcome {
        Array(text.utf8).withUnsafeBytes { RESPReplyScanner.scan($0, from: start) }
    }

    private func count(_ text: String) -> Int {
        Array(text.utf8).withUnsafeBytes { RESPReplyScanner.countComplete($0, from: 0).count }
    }

    @Test(arguments: [
        "+OK\r\n", ":42\r\n", "$3\r\nabc\r\n", "$-1\r\n", "*-1\r\n", "*0\r\n", "_\r\n", ",3.14\r\n", "#t\r\n",
        "(12345678901234567890\r\n", "=7\r\ntxt:abc\r\n", "*2\r\n$1\r\na\r\n*2\r\n:1\r\n:2\r\n",
        "%2\r\n+a\r\n:1\r\n+b\r\n*1\r\n:2\r\n", "~2\r\n+x\r\n+y\r\n", ">3\r\n+message\r\n+ch\r\n$2\r\nhi\r\n",
        "|1\r\n+ttl\r\n:3\r\n+OK\r\n", "$0\r\n\r\n",
    ])
    func completeReplies(_ reply: String) {
        #expect(scan(reply) == .complete(end: reply.utf8.count, isError: false, isPush: reply.hasPrefix(">")))
        // Every proper prefix is incomplete.
        for length in 0..<reply.utf8.count {
            #expect(scan(String(decoding: Array(reply.utf8)[0..<length], as: UTF8.self)) == .incomplete)
        }
    }

    @Test func errors() {
        #expect(scan("-ERR no\r\n") == .complete(end: 9, isError: true))
        #expect(scan("!5\r\nERR x\r\n") == .complete(end: 11, isError: true))
        // An error nested in an array (EXEC's reply) is not the reply's own error.
        #expect(scan("*1\r\n-ERR x\r\n") == .complete(end: 12, isError: false))
        // The value an attribute annotates is the reply proper.
        #expect(scan("|1\r\n+k\r\n+v\r\n-ERR x\r\n") == .complete(end: 20, isError: true))
        #expect(scan("|1\r\n+k\r\n-v\r\n+OK\r\n") == .complete(end: 17, isError: false))
        #expect(scan("|1\r\n+k\r\n*1\r\n-v\r\n+OK\r\n") == .complete(end: 21, isError: false))
        #expect(scan("*2\r\n+a\r\n-ERR x\r\n") == .complete(end: 16, isError: false))
    }

    @Test func errorText() {
        func text(_ reply: String) -> String? {
            let bytes = Array(reply.utf8)
            return bytes.withUnsafeBytes { buffer in
                RESPReplyScanner.scanReply(buffer, from: 0).error.map { String(decoding: bytes[$0], as: UTF8.self) }
            }
        }
        #expect(text("-ERR no\r\n") == "ERR no")
        #expect(text("!5\r\nERR x\r\n") == "ERR x")
        #expect(text("|1\r\n+k\r\n+v\r\n!5\r\nERR y\r\n") == "ERR y")
        #expect(text("+OK\r\n") == nil)
    }

    @Test func resumedScanGoesOnWhereItStopped() {
        let reply = Array("|1\r\n+k\r\n+v\r\n*3\r\n$3\r\nabc\r\n*1\r\n:1\r\n!5\r\nERR x\r\n".utf8)
        for split in 0..<reply.count {
            var state = RESPReplyScanner.State(start: 0)
            let first = Array(reply[0..<split]).withUnsafeBytes { RESPReplyScanner.scanReply($0, resuming: &state) }
            #expect(first.outcome == .incomplete && state.index <= split)
            let second = reply.withUnsafeBytes { RESPReplyScanner.scanReply($0, resuming: &state) }
            // The nested blob error is not the reply's own error.
            #expect(second.outcome == .complete(end: reply.count, isError: false))
        }
        // An error annotated by an attribute, split inside the error line.
        let error = Array("|1\r\n+k\r\n+v\r\n-ERR x\r\n".utf8)
        var state = RESPReplyScanner.State(start: 0)
        _ = Array(error[0..<15]).withUnsafeBytes { RESPReplyScanner.scanReply($0, resuming: &state) }
        #expect(state.index == 12)
        let (outcome, range) = error.withUnsafeBytes { RESPReplyScanner.scanReply($0, resuming: &state) }
        #expect(outcome == .complete(end: error.count, isError: true))
        #expect(range.map { String(decoding: error[$0], as: UTF8.self) } == "ERR x")
    }

    @Test func bareCarriageReturnIsData() {
        // As in hiredis, a line ends at CRLF only: `+a\rb\r\n` is the simple string "a\rb".
        #expect(scan("+a\rb\r\n") == .complete(end: 6, isError: false))
        #expect(scan("+a\r\rb\r\n") == .complete(end: 7, isError: false))
        #expect(scan("+a\rb") == .incomplete)
        #expect(scan("$3\rX\r\n") == .protocolError(offset: 0))
    }

    @Test func protocolErrors() {
        #expect(scan("?x\r\n") == .protocolError(offset: 0))
        #expect(scan("$abc\r\n") == .protocolError(offset: 0))
        #expect(scan("*1\r\n@\r\n") == .protocolError(offset: 4))
    }

    @Test func countsPipelinedRepliesAndStopsAtAPartialOne() {
        #expect(count("+OK\r\n+OK\r\n:1\r\n") == 3)
        #expect(count("+OK\r\n*3\r\n:1\r\n:2\r\n") == 1)
        #expect(count("$5\r\nhel") == 0)
        let range = "*100\r\n" + String(repeating: "$3\r\nxxx\r\n", count: 100)
        #expect(count(range + range + "*100\r\n$3\r\n") == 2)
    }

    @Test func randomChunkingCountsEveryReply() {
        let replies = [
            "+OK\r\n", ":1\r\n", "$5\r\nhello\r\n", "*2\r\n$1\r\na\r\n%1\r\n+k\r\n_\r\n", "$-1\r\n",
            "|1\r\n+a\r\n+b\r\n~1\r\n,1.5\r\n", "*3\r\n:1\r\n*1\r\n$0\r\n\r\n(7\r\n",
        ]
        let stream = Array(replies.joined().utf8)
        // A fixed linear congruential sequence: the same pieces on every run.
        var random: UInt64 = 3
        for _ in 0..<50 {
            // Deliver the stream in random pieces, consuming complete replies as a connection does.
            var buffer: [UInt8] = []
            var offset = 0
            var counted = 0
            while offset < stream.count {
                random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let piece = min(Int((random >> 33) % 7) + 1, stream.count - offset)
                buffer += stream[offset..<offset + piece]
                offset += piece
                let (count, end) = buffer.withUnsafeBytes { RESPReplyScanner.countComplete($0, from: 0) }
                counted += count
                buffer.removeFirst(end)
            }
            #expect(counted == replies.count && buffer.isEmpty)
        }
    }

    // MARK: - Limits (hiredis's read.c)

    /// Six maps of 10^18 - 1 pairs each once made the count of owed values overflow `Int` (a trap).
    @Test(arguments: ["%", "|", "*", "~", ">"])
    func nestedHugeCountsAreProtocolErrors(_ type: String) {
        let header = type + "999999999999999999\r\n"
        #expect(scan(String(repeating: header, count: 6)) == .protocolError(offset: 0))
        #expect(scan("*1\r\n" + header) == .protocolError(offset: 4))
    }

    @Test func aggregateCountsStopAtHiredissLimit() {
        let limit = RESPReplyScanner.maximumAggregateCount
        #expect(limit == 4_294_967_295)
        // The limit itself is a length (the rest of the reply is still to come); one more is refused.
        #expect(scan("*\(limit)\r\n") == .incomplete)
        #expect(scan("%\(limit)\r\n%\(limit)\r\n|\(limit)\r\n") == .incomplete)
        #expect(scan("*\(limit + 1)\r\n") == .protocolError(offset: 0))
        #expect(scan("%\(limit + 1)\r\n") == .protocolError(offset: 0))
        // Below -1 is "Multi-bulk length out of range" too.
        #expect(scan("*-2\r\n") == .protocolError(offset: 0))
        #expect(scan(">-5\r\n") == .protocolError(offset: 0))
    }

    @Test func hugeBulkLengthsNeverOverflow() {
        // A length of 10^18 - 1 is more than any buffer holds: the reply is incomplete, without a trap.
        #expect(scan("$999999999999999999\r\nabc") == .incomplete)
        #expect(scan("*2\r\n!999999999999999999\r\n") == .incomplete)
        #expect(scan("=999999999999999999\r\n") == .incomplete)
        // More digits than a length can have, and lengths below -1 (hiredis's "Bulk string length out of range").
        #expect(scan("$9999999999999999999\r\n") == .protocolError(offset: 0))
        #expect(scan("$-2\r\n") == .protocolError(offset: 0))
        #expect(scan("*1\r\n$-7\r\n") == .protocolError(offset: 4))
    }

    // MARK: - Pushes

    @Test func aTopLevelPushIsMarked() {
        let invalidate = ">2\r\n$10\r\ninvalidate\r\n*1\r\n$5\r\nkey:1\r\n"
        #expect(scan(invalidate) == .complete(end: invalidate.utf8.count, isError: false, isPush: true))
        // Behind an attribute, it is still the reply proper.
        let annotated = "|1\r\n+a\r\n+b\r\n>1\r\n+x\r\n"
        #expect(scan(annotated) == .complete(end: annotated.utf8.count, isError: false, isPush: true))
        // A push nested in a reply, or in an attribute, does not make the reply a push.
        #expect(scan("*1\r\n>1\r\n+x\r\n") == .complete(end: 12, isError: false, isPush: false))
        #expect(scan("|1\r\n+a\r\n>1\r\n+x\r\n+OK\r\n") == .complete(end: 21, isError: false, isPush: false))
        #expect(scan("$5\r\nhello\r\n") == .complete(end: 11, isError: false, isPush: false))
    }

    @Test func aPushSplitAcrossReadsIsStillMarked() {
        let push = Array(">2\r\n+message\r\n$2\r\nhi\r\n".utf8)
        for split in 1..<push.count {
            var state = RESPReplyScanner.State(start: 0)
            let first = Array(push[0..<split]).withUnsafeBytes { RESPReplyScanner.scanReply($0, resuming: &state) }
            #expect(first.outcome == .incomplete)
            let second = push.withUnsafeBytes { RESPReplyScanner.scanReply($0, resuming: &state) }
            #expect(second.outcome == .complete(end: push.count, isError: false, isPush: true))
        }
    }

    @Test func scansFromAnOffset() {
        #expect(scan("+OK\r\n:7\r\n", from: 5) == .complete(end: 9, isError: false))
    }
}
