import NIOCore
import Testing

@testable import SwiftletEngine

/// The master side's pure parts: the backlog ring and the stream's encoding of write-stream units.
struct ReplicationBacklogTests {
    private func append(_ backlog: inout ReplicationBacklog, _ text: String) {
        Array(text.utf8).withUnsafeBytes { backlog.append($0) }
    }

    private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test func holdsTheNewestBytesAcrossTheWrap() {
        var backlog = ReplicationBacklog(size: 8, nextOffset: 1)
        append(&backlog, "abcde")
        #expect(backlog.firstByteOffset == 1 && backlog.historyLength == 5)
        #expect(text(backlog.bytes(from: 1)) == "abcde" && text(backlog.bytes(from: 4)) == "de")
        append(&backlog, "fghij")
        // Ten bytes written into eight: offsets 3...10 remain.
        #expect(backlog.firstByteOffset == 3 && backlog.historyLength == 8)
        #expect(text(backlog.bytes(from: 3)) == "cdefghij" && text(backlog.bytes(from: 9)) == "ij")
        #expect(
            backlog.holds(from: 3) && backlog.holds(from: 11) && !backlog.holds(from: 2) && !backlog.holds(from: 12)
        )
        #expect(backlog.bytes(from: 11).isEmpty)
    }

    @Test func aWriteLargerThanTheRingKeepsItsTail() {
        var backlog = ReplicationBacklog(size: 4, nextOffset: 101)
        append(&backlog, "xy")
        append(&backlog, "0123456789")
        #expect(backlog.firstByteOffset == 109 && backlog.historyLength == 4)
        #expect(text(backlog.bytes(from: 109)) == "6789")
    }

    @Test func resizingKeepsTheNewestBytes() {
        var backlog = ReplicationBacklog(size: 8, nextOffset: 1)
        append(&backlog, "abcdefghij")
        backlog.resize(4)
        #expect(backlog.firstByteOffset == 7 && text(backlog.bytes(from: 7)) == "ghij")
        append(&backlog, "kl")
        #expect(text(backlog.bytes(from: 9)) == "ijkl")
        backlog.resize(16)
        append(&backlog, "mnop")
        #expect(backlog.firstByteOffset == 9 && text(backlog.bytes(from: 9)) == "ijklmnop")
    }
}

struct ReplicationStreamTests {
    private func op(_ words: String...) -> [ByteBuffer] { words.map { ByteBuffer(string: $0) } }

    @Test func unitsAreEncodedAsTheAOFEncodesThem() {
        let state = ReplicationState(id: ReplicationState.randomID())
        state.backlog = ReplicationBacklog(size: 1024, nextOffset: 1)
        // One op: SELECT first (no database selected yet), then the command bare.
        state.append(op("SET", "k", "v"), database: 0, unixSeconds: 0)
        #expect(state.commitUnit() == false)
        // Two ops in another database: SELECT, then MULTI ... EXEC around them.
        state.append(op("INCR", "a"), database: 3, unixSeconds: 0)
        state.append(op("DEL", "b"), database: 3, unixSeconds: 0)
        _ = state.commitUnit()
        let expected =
            "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
            + "*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n*1\r\n$5\r\nMULTI\r\n*2\r\n$4\r\nINCR\r\n$1\r\na\r\n"
            + "*2\r\n$3\r\nDEL\r\n$1\r\nb\r\n*1\r\n$4\r\nEXEC\r\n"
        #expect(state.offset == Int64(expected.utf8.count))
        #expect(String(decoding: state.backlog!.bytes(from: 1), as: UTF8.self) == expected)
    }

    @Test func anEmptyUnitFeedsNothing() {
        let state = ReplicationState(id: ReplicationState.randomID())
        #expect(state.commitUnit() == false)
        #expect(state.offset == 0)
    }
}
