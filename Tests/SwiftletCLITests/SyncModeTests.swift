import Testing

@testable import SwiftletCLI

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The pure parts of `--rdb`, `--functions-rdb` and `--replica`; texts are redis-cli 7.0.15's.
struct SyncModeTests {
    @Test func options() throws {
        let rdb = try CLIOptions.parse(["--rdb", "dump.rdb"], stdoutIsTerminal: false)
        #expect(rdb.rdbFile == "dump.rdb" && rdb.getRDB && !rdb.functionsRDB)
        let functions = try CLIOptions.parse(["--functions-rdb", "-"], stdoutIsTerminal: false)
        #expect(functions.rdbFile == "-" && functions.functionsRDB && !functions.getRDB)
        #expect(try CLIOptions.parse(["--replica"], stdoutIsTerminal: false).replica)
        #expect(try CLIOptions.parse(["--slave"], stdoutIsTerminal: false).replica)
        let both = #expect(throws: CLIExit.self) {
            try CLIOptions.parse(["--rdb", "a", "--functions-rdb", "b"], stdoutIsTerminal: false)
        }
        #expect(both?.stderr == "Option --functions-rdb and --rdb are mutually exclusive.\n")
        // Without its value, --rdb is an unknown option, as in redis-cli.
        let bare = #expect(throws: CLIExit.self) { try CLIOptions.parse(["--rdb"], stdoutIsTerminal: false) }
        #expect(bare?.stderr == "Unrecognized option or bad number of args for: '--rdb'\n")
    }

    @Test func syncAnswers() {
        #expect(SyncAnswer.parse(Array("$1234\r".utf8)) == .length(1234))
        let mark = Array(String(repeating: "a", count: 40).utf8)
        #expect(SyncAnswer.parse(Array("$EOF:".utf8) + mark + [13]) == .eofMark(mark))
        // A mark shorter than 40 bytes is read as a length (0), which waits for an all-zero mark.
        #expect(SyncAnswer.parse(Array("$EOF:abc\r".utf8)) == .eofMark([UInt8](repeating: 0, count: 40)))
        #expect(SyncAnswer.parse(Array("-ERR unknown command 'SYNC'\r".utf8)) == nil)
    }

    @Test func eofMarkAcrossChunks() {
        let mark = (0..<40).map { UInt8(65 + $0 % 26) }
        let payload = Array("REDIS0010 some payload".utf8) + mark
        for split in [1, 7, 39, 40, 41, payload.count - 1] {
            var tracker = EOFMarkTracker(mark: mark)
            var found = false
            var offset = 0
            while offset < payload.count && !found {
                let end = min(offset + split, payload.count)
                found = tracker.add(Array(payload[offset..<end]))
                offset = end
            }
            #expect(found && offset == payload.count, "chunks of \(split)")
        }
        var early = EOFMarkTracker(mark: mark)
        let partial = early.add(Array(mark.prefix(39)))
        #expect(!partial)
    }

    /// An EOF-mark transfer that ends before 40 bytes: the count wraps as redis-cli's unsigned arithmetic does
    /// (`$0` announces an all-zero mark, which one zero byte completes).
    @Test func shortEOFTransferWraps() throws {
        let listener = try UnixListener()
        let connection = try CLIConnection(socketPath: listener.path)
        let server = listener.acceptConnection()
        defer { close(server) }
        writeAll(server, [0])
        var chunks: [[UInt8]] = []
        let received = try Session.readPayload(
            connection,
            answer: .eofMark([UInt8](repeating: 0, count: 40)),
            chunkSize: 4096,
            failure: "failed"
        ) { chunk throws(CLIExit) in chunks.append(chunk) }
        #expect(received == 1 && chunks == [[0]])
        #expect(received.map { $0 &- UInt64(EOFMarkTracker.size) } == 18_446_744_073_709_551_577)
    }

    /// redis-cli reads the SYNC answer into a 4096-byte buffer: a longer line is refused, not buffered.
    @Test func syncAnswerLineIsCapped() throws {
        let listener = try UnixListener()
        let connection = try CLIConnection(socketPath: listener.path)
        let server = listener.acceptConnection()
        defer { close(server) }
        writeAll(server, [UInt8](repeating: UInt8(ascii: "9"), count: 5000) + [10])
        let error = #expect(throws: CLIExit.self) { _ = try Session.sendSync(connection) }
        #expect(error?.stderr == "Error reading bulk length while SYNCing\n")
    }
}
