import NIOCore
import Testing

@testable import SwiftletRESP

struct RESPValueDecoderTests {
    private func decode(_ text: String) throws(RESPProtocolError) -> RESPValue? {
        var buffer = ByteBuffer(string: text)
        return try RESPValueDecoder().decode(&buffer)
    }

    @Test func decodesBulkStringAndMap() throws {
        #expect(try self.decode("$3\r\nabc\r\n") == .bulkString(ByteBuffer(string: "abc")))
        #expect(
            try self.decode("%1\r\n+k\r\n:1\r\n")
                == .map([.simpleString(ByteBuffer(string: "k")), .integer(1)])
        )
    }

    @Test func incompleteInputLeavesBufferUntouched() throws {
        var buffer = ByteBuffer(string: "$5\r\nab")
        #expect(try RESPValueDecoder().decode(&buffer) == nil)
        #expect(buffer.readableBytes == 6)
    }

    /// Lengths whose frame size overflows `Int` are protocol errors, not traps.
    @Test(arguments: [
        ("$9223372036854775807\r\n", "invalid bulk length"),
        ("=9223372036854775807\r\n", "invalid bulk length"),
        ("%4611686018427387904\r\n", "invalid multibulk length"),
        ("|9223372036854775807\r\n", "invalid multibulk length"),
    ])
    func overflowingLengthsThrow(input: String, reason: String) {
        #expect(throws: RESPProtocolError(reason)) { try self.decode(input) }
    }

    /// Large but representable counts only wait for more input.
    @Test(arguments: ["$9223372036854775805\r\n", "%4611686018427387903\r\n", "*9223372036854775807\r\n"])
    func largeLengthsWaitForMoreInput(input: String) throws {
        #expect(try self.decode(input) == nil)
    }
}
