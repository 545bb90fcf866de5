import Testing

@testable import SwiftletCLI

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
}
