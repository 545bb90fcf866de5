#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where RDB bytes come from (Redis's `rio` for reading): a byte array (DUMP payloads) or a file read through a
/// buffer that grows only to the largest single string. Tracks the file offset for error messages and the
/// CRC-64 of everything consumed.
public final class RDBByteSource {
    var buffer: [UInt8]
    /// Read position in `buffer`.
    var position = 0
    /// Number of valid bytes in `buffer`.
    var end: Int
    /// File offset of `buffer[0]`.
    var base = 0
    /// CRC-64 of the bytes before `buffer[crcPosition]`.
    var crc: UInt64 = 0
    var crcPosition = 0
    let fd: Int32

    /// A source over bytes in memory.
    public init(bytes: [UInt8]) {
        self.buffer = bytes
        self.end = bytes.count
        self.fd = -1
    }

    /// A source over an open file descriptor (the caller closes it).
    public init(fd: Int32, bufferSize: Int = 1 << 16) {
        self.buffer = [UInt8](repeating: 0, count: bufferSize)
        self.end = 0
        self.fd = fd
    }

    /// Offset of the next byte to be read.
    public var offset: Int { self.base + self.position }

    /// The CRC-64 of every byte consumed so far.
    public var checksum: UInt64 {
        self.foldChecksum()
        return self.crc
    }

    func foldChecksum() {
        if self.crcPosition < self.position {
            self.crc = self.buffer.withUnsafeBytes {
                CRC64.update(self.crc, UnsafeRawBufferPointer(rebasing: $0[self.crcPosition..<self.position]))
            }
            self.crcPosition = self.position
        }
    }

    /// Makes `n` bytes available at `position`, or throws `truncated`.
    @inline(__always)
    func ensure(_ n: Int, _ what: @autoclosure () -> String) throws {
        if self.end - self.position >= n { return }
        try self.refill(n, what())
    }

    func refill(_ n: Int, _ what: String) throws {
        guard self.fd >= 0 else { throw RDBError(offset: self.offset, .truncated(what)) }
        self.foldChecksum()
        let kept = self.end - self.position
        if self.position > 0 {
            self.buffer.withUnsafeMutableBytes { raw in
                // Why `!`: the buffer is non-empty when a file source is refilled.
                let p = raw.baseAddress!
                if kept > 0 { memmove(p, p + self.position, kept) }
            }
            self.base += self.position
            self.position = 0
            self.crcPosition = 0
            self.end = kept
        }
        if self.buffer.count < n {
            self.buffer.append(contentsOf: repeatElement(0, count: n - self.buffer.count))
        }
        while self.end < n {
            let got = self.buffer.withUnsafeMutableBytes { raw in
                // Why `!`: the buffer holds at least `n` > `end` bytes.
                read(self.fd, raw.baseAddress! + self.end, raw.count - self.end)
            }
            if got < 0 {
                if errno == EINTR { continue }
                throw RDBError(offset: self.offset, .io("read failed: \(String(cString: strerror(errno)))"))
            }
            if got == 0 { throw RDBError(offset: self.base + self.end, .truncated(what)) }
            self.end += got
        }
    }

    public func readByte(_ what: @autoclosure () -> String) throws -> UInt8 {
        try self.ensure(1, what())
        let b = self.buffer[self.position]
        self.position += 1
        return b
    }

    /// Reads `n` bytes into a new array.
    public func readBytes(_ n: Int, _ what: @autoclosure () -> String) throws -> [UInt8] {
        try self.ensure(n, what())
        let bytes = Array(self.buffer[self.position..<(self.position + n)])
        self.position += n
        return bytes
    }

    /// Calls `body` with the next `n` bytes (valid only inside the call) and consumes them.
    public func withBytes<R>(
        _ n: Int,
        _ what: @autoclosure () -> String,
        _ body: (UnsafeRawBufferPointer) throws -> R
    ) throws -> R {
        try self.ensure(n, what())
        let start = self.position
        self.position += n
        return try self.buffer.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[start..<(start + n)])) }
    }

    /// Reads a little-endian unsigned integer of `count` bytes.
    public func readLittleEndian(_ count: Int, _ what: @autoclosure () -> String) throws -> UInt64 {
        try self.ensure(count, what())
        var v: UInt64 = 0
        for i in 0..<count { v |= UInt64(self.buffer[self.position + i]) << (8 * UInt64(i)) }
        self.position += count
        return v
    }

    /// Whether every byte has been consumed (memory sources only; a file source answers after a read failed).
    public var isAtEnd: Bool { self.fd < 0 && self.position == self.end }
}
