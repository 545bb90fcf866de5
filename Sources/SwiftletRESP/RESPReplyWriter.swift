public import NIOCore

/// The protocol a connection speaks, switched by `HELLO`.
public enum RESPVersion: Int, Sendable, Hashable {
    case resp2 = 2
    case resp3 = 3
}

/// Encodes replies straight into an outbound buffer, in the connection's protocol version.
///
/// Aggregate helpers map RESP3 types onto RESP2 the way Redis does: a map becomes a flat array of
/// twice the length, a set or push becomes an array, null becomes `$-1` (or `*-1` for null arrays),
/// a double becomes a bulk string and a boolean an integer.
public struct RESPReplyWriter: Sendable {
    public var buffer: ByteBuffer
    public var version: RESPVersion

    public init(buffer: ByteBuffer, version: RESPVersion = .resp2) {
        self.buffer = buffer
        self.version = version
    }

    // MARK: - Simple values

    @inlinable
    public mutating func writeOK() {
        self.buffer.writeStaticString("+OK\r\n")
    }

    @inlinable
    public mutating func writeSimpleString(_ text: StaticString) {
        self.buffer.writeInteger(UInt8(ascii: "+"))
        self.buffer.writeStaticString(text)
        self.buffer.writeStaticString("\r\n")
    }

    public mutating func writeSimpleString(_ text: String) {
        self.buffer.writeInteger(UInt8(ascii: "+"))
        self.buffer.writeString(text)
        self.buffer.writeStaticString("\r\n")
    }

    /// Writes `-<message>\r\n`; `message` starts with the error code (`ERR`, `WRONGTYPE`, ...).
    public mutating func writeError(_ message: String) {
        self.buffer.writeInteger(UInt8(ascii: "-"))
        self.buffer.writeString(message)
        self.buffer.writeStaticString("\r\n")
    }

    /// Writes `-<bytes>\r\n`, for an error line that echoes request bytes as they came (not necessarily UTF-8).
    public mutating func writeError(bytes: [UInt8]) {
        self.buffer.writeInteger(UInt8(ascii: "-"))
        self.buffer.writeBytes(bytes)
        self.buffer.writeStaticString("\r\n")
    }

    @inlinable
    public mutating func writeInteger(_ value: Int) {
        self.buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 24) { out in
            let base = out.baseAddress!  // at least 24 bytes
            base.storeBytes(of: UInt8(ascii: ":"), as: UInt8.self)
            let i = 1 + Self.formatDecimal(value, into: base + 1)
            base.storeBytes(of: 0x0A0D, toByteOffset: i, as: UInt16.self)
            return i + 2
        }
    }

    /// A boolean: `#t`/`#f` in RESP3, `:1`/`:0` in RESP2.
    public mutating func writeBoolean(_ value: Bool) {
        if self.version == .resp3 {
            self.buffer.writeStaticString(value ? "#t\r\n" : "#f\r\n")
        } else {
            self.buffer.writeStaticString(value ? ":1\r\n" : ":0\r\n")
        }
    }

    /// Writes `+<line>\r\n` from a line built elsewhere (MONITOR's, which quotes binary arguments itself).
    public mutating func writeSimpleString(bytes line: ByteBuffer) {
        self.buffer.writeInteger(UInt8(ascii: "+"))
        self.buffer.writeImmutableBuffer(line)
        self.buffer.writeStaticString("\r\n")
    }

    /// ``writeDouble(formatted:)`` for digits that live in another buffer (no array made).
    public mutating func writeDouble(formatted: UnsafeRawBufferPointer) {
        if self.version == .resp3 {
            self.buffer.writeInteger(UInt8(ascii: ","))
            self.buffer.writeBytes(formatted)
            self.buffer.writeStaticString("\r\n")
        } else {
            self.writeBulkString(formatted)
        }
    }

    /// A double already formatted as Redis formats it (`%.17g`, `inf`, `-inf`): `,` in RESP3, a bulk string in RESP2.
    public mutating func writeDouble(formatted: [UInt8]) {
        if self.version == .resp3 {
            self.buffer.writeInteger(UInt8(ascii: ","))
            self.buffer.writeBytes(formatted)
            self.buffer.writeStaticString("\r\n")
        } else {
            self.writeBulkString(formatted)
        }
    }

    /// A big number given as its decimal digits (`addReplyBigNum`): `(` in RESP3, a bulk string in RESP2.
    public mutating func writeBigNumber(_ digits: String) {
        if self.version == .resp3 {
            self.buffer.writeInteger(UInt8(ascii: "("))
            self.buffer.writeString(digits)
            self.buffer.writeStaticString("\r\n")
        } else {
            self.writeBulkString(digits)
        }
    }

    /// The null bulk string: `$-1` in RESP2, `_` in RESP3.
    @inlinable
    public mutating func writeNull() {
        self.buffer.writeStaticString(self.version == .resp3 ? "_\r\n" : "$-1\r\n")
    }

    /// The null array: `*-1` in RESP2, `_` in RESP3.
    @inlinable
    public mutating func writeNullArray() {
        self.buffer.writeStaticString(self.version == .resp3 ? "_\r\n" : "*-1\r\n")
    }

    // MARK: - Bulk strings

    /// `$<n>\r\n<bytes>\r\n` in one reservation of the buffer.
    @inlinable
    public mutating func writeBulkString(_ bytes: UnsafeRawBufferPointer) {
        let n = bytes.count
        self.buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: n + 25) { out in
            let base = out.baseAddress!  // at least n + 25 bytes
            base.storeBytes(of: UInt8(ascii: "$"), as: UInt8.self)
            var i = 1 + Self.formatDecimal(n, into: base + 1)
            base.storeBytes(of: 0x0A0D, toByteOffset: i, as: UInt16.self)
            i += 2
            if n > 0 { (base + i).copyMemory(from: bytes.baseAddress!, byteCount: n) }
            i += n
            base.storeBytes(of: 0x0A0D, toByteOffset: i, as: UInt16.self)
            return i + 2
        }
    }

    /// Writes the decimal digits of `value` at `out` (room for 20 bytes) and returns their count.
    @inlinable
    static func formatDecimal(_ value: Int, into out: UnsafeMutableRawPointer) -> Int {
        if value >= 0 && value < 10 {
            out.storeBytes(of: UInt8(truncatingIfNeeded: value) &+ 48, as: UInt8.self)
            return 1
        }
        var scratch: (UInt64, UInt64, UInt64) = (0, 0, 0)
        return withUnsafeMutableBytes(of: &scratch) { digits in
            var magnitude = value.magnitude
            var i = 24
            repeat {
                i -= 1
                digits[i] = UInt8(truncatingIfNeeded: magnitude % 10) &+ 48
                magnitude /= 10
            } while magnitude > 0
            if value < 0 {
                i -= 1
                digits[i] = UInt8(ascii: "-")
            }
            out.copyMemory(from: digits.baseAddress! + i, byteCount: 24 - i)  // scratch is 24 bytes
            return 24 - i
        }
    }

    @inlinable
    public mutating func writeBulkString(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { self.writeBulkString($0) }
    }

    /// One reservation and one copy: `ByteBuffer`'s own small writes each pay a capacity check and an exclusivity
    /// check, which showed at several percent of a PUBLISH.
    @inlinable
    public mutating func writeBulkString(_ bytes: ByteBuffer) {
        bytes.withUnsafeReadableBytes { self.writeBulkString($0) }
    }

    public mutating func writeBulkString(_ text: String) {
        self.writeLengthHeader(UInt8(ascii: "$"), text.utf8.count)
        self.buffer.writeString(text)
        self.buffer.writeStaticString("\r\n")
    }

    /// An integer as a bulk string (what Redis sends for e.g. `CONFIG GET` numbers or `SCAN` cursors).
    public mutating func writeBulkDecimal(_ value: Int) {
        var digits = ByteBuffer()
        digits.writeString(String(value))
        self.writeBulkString(digits)
    }

    /// A verbatim string (`=len\r\ntxt:...` in RESP3, a bulk string in RESP2).
    public mutating func writeVerbatimString(_ text: String, format: StaticString = "txt") {
        if self.version == .resp3 {
            self.writeLengthHeader(UInt8(ascii: "="), text.utf8.count + 4)
            self.buffer.writeStaticString(format)
            self.buffer.writeInteger(UInt8(ascii: ":"))
            self.buffer.writeString(text)
            self.buffer.writeStaticString("\r\n")
        } else {
            self.writeBulkString(text)
        }
    }

    // MARK: - Aggregates

    @inlinable
    public mutating func writeArrayHeader(_ count: Int) {
        self.writeLengthHeader(UInt8(ascii: "*"), count)
    }

    /// A map of `count` pairs: `%count` in RESP3, `*2count` in RESP2.
    @inlinable
    public mutating func writeMapHeader(_ count: Int) {
        if self.version == .resp3 {
            self.writeLengthHeader(UInt8(ascii: "%"), count)
        } else {
            self.writeLengthHeader(UInt8(ascii: "*"), count * 2)
        }
    }

    /// A set: `~count` in RESP3, `*count` in RESP2.
    public mutating func writeSetHeader(_ count: Int) {
        self.writeLengthHeader(self.version == .resp3 ? UInt8(ascii: "~") : UInt8(ascii: "*"), count)
    }

    /// A push message: `>count` in RESP3, `*count` in RESP2.
    public mutating func writePushHeader(_ count: Int) {
        self.writeLengthHeader(self.version == .resp3 ? UInt8(ascii: ">") : UInt8(ascii: "*"), count)
    }

    /// An attribute of `count` pairs, `|count`, for the reply that follows it. RESP3 only, as Redis's
    /// `addReplyAttributeLen`: RESP2 has no attributes, so a caller writes none (neither header nor pairs).
    public mutating func writeAttributeHeader(_ count: Int) {
        assert(self.version == .resp3, "attributes exist only in RESP3")
        self.writeLengthHeader(UInt8(ascii: "|"), count)
    }

    // MARK: - Encoding helpers

    @inlinable
    mutating func writeLengthHeader(_ marker: UInt8, _ count: Int) {
        self.buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 24) { out in
            let base = out.baseAddress!  // at least 24 bytes
            base.storeBytes(of: marker, as: UInt8.self)
            let i = 1 + Self.formatDecimal(count, into: base + 1)
            base.storeBytes(of: 0x0A0D, toByteOffset: i, as: UInt16.self)
            return i + 2
        }
    }

    /// Writes the decimal digits of `value` without allocating.
    @inlinable
    public mutating func writeDecimal(_ value: Int) {
        if value >= 0 && value < 10 {
            self.buffer.writeInteger(UInt8(truncatingIfNeeded: value) &+ 48)
            return
        }
        self.buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 20) { out in
            var magnitude = value.magnitude
            var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
            return withUnsafeMutableBytes(of: &digits) { scratch in
                var i = 24
                repeat {
                    i -= 1
                    scratch[i] = UInt8(truncatingIfNeeded: magnitude % 10) &+ 48
                    magnitude /= 10
                } while magnitude > 0
                if value < 0 {
                    i -= 1
                    scratch[i] = UInt8(ascii: "-")
                }
                let n = 24 - i
                out.baseAddress!.copyMemory(from: scratch.baseAddress! + i, byteCount: n)  // out has >= 20 bytes
                return n
            }
        }
    }
}
