import SwiftletRESP
import Testing

@testable import SwiftletBenchmark

/// The memcached reply scanner: whole replies, every split point of them, and errors.
struct MemcacheReplyScannerTests {
    private func scan(_ text: String) -> (RESPReplyScanner.Outcome, String?) {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { buffer in
            let (outcome, error) = MemcacheReplyScanner.scanReply(buffer, from: 0)
            return (outcome, error.map { String(decoding: buffer[$0], as: UTF8.self) })
        }
    }

    @Test(arguments: [
        "STORED\r\n", "NOT_STORED\r\n", "END\r\n", "HD\r\n", "EN\r\n", "NS\r\n", "NF\r\n", "MN\r\n",
        "VALUE key:1 0 3\r\nabc\r\nEND\r\n", "VALUE k 5 2 77\r\n\r\n\r\nVALUE j 0 1\r\nx\r\nEND\r\n",
        "VA 3\r\nabc\r\n", "VA 2 f5 t-1\r\n\r\n\r\n", "VA 0\r\n\r\n",
    ])
    func completeRepliesAndEveryPrefixIsIncomplete(reply: String) {
        #expect(scan(reply).0 == .complete(end: reply.utf8.count, isError: false))
        #expect(scan(reply + "STORED\r\n").0 == .complete(end: reply.utf8.count, isError: false))
        let bytes = Array(reply.utf8)
        for cut in 0..<bytes.count {
            let prefix = String(decoding: bytes[0..<cut], as: UTF8.self)
            #expect(scan(prefix).0 == .incomplete, "cut at \(cut)")
        }
    }

    @Test func dataThatLooksLikeARepliesIsSkipped() {
        let reply = "VALUE k 0 8\r\nEND\r\nX\r\n\r\nEND\r\n"
        #expect(scan(reply).0 == .complete(end: reply.utf8.count, isError: false))
    }

    @Test(arguments: ["ERROR", "CLIENT_ERROR bad data chunk", "SERVER_ERROR out of memory storing object"])
    func errors(line: String) {
        let (outcome, error) = scan(line + "\r\n")
        #expect(outcome == .complete(end: line.utf8.count + 2, isError: true))
        #expect(error == line)
    }

    @Test func aMalformedLengthIsAProtocolError() {
        #expect(scan("VALUE k 0 x\r\n").0 == .protocolError(offset: 0))
        #expect(scan("VA x\r\n").0 == .protocolError(offset: 0))
    }
}
