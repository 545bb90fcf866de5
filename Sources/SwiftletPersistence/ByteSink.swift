#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where encoded bytes go (Redis's `rio` for writing): a growable array for DUMP payloads, a buffered file for
/// RDB snapshots. Every sink keeps the running CRC-64 of what it was given.
public protocol ByteSink {
    /// Appends `bytes`.
    mutating func write(_ bytes: UnsafeRawBufferPointer) throws
    /// The CRC-64 of everything written so far.
    var checksum: UInt64 { get }
    /// Bytes written so far.
    var offset: Int { get }
}

extension ByteSink {
    @inline(__always)
    mutating func write(byte: UInt8) throws {
        var b = byte
        try withUnsafeBytes(of: &b) { (raw: UnsafeRawBufferPointer) throws in try self.write(raw) }
    }

    @inline(__always)
    mutating func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) throws in try self.write(raw) }
    }

    /// Writes the low `count` bytes of `value`, least significant first.
    @inline(__always)
    mutating func write(littleEndian value: UInt64, count: Int) throws {
        var v = value.littleEndian
        try withUnsafeBytes(of: &v) { (raw: UnsafeRawBufferPointer) throws in
            try self.write(UnsafeRawBufferPointer(rebasing: raw[0..<count]))
        }
    }
}

/// A sink into memory (DUMP payloads, tests).
public struct ArraySink: ByteSink {
    public private(set) var bytes: [UInt8] = []
    /// Whether to keep a checksum (DUMP computes it over the finished payload instead).
    let computesChecksum: Bool
    public private(set) var checksum: UInt64 = 0

    public init(computesChecksum: Bool = false) {
        self.computesChecksum = computesChecksum
    }

    public var offset: Int { self.bytes.count }

    public mutating func write(_ raw: UnsafeRawBufferPointer) throws {
        if self.computesChecksum { self.checksum = CRC64.update(self.checksum, raw) }
        self.bytes.append(contentsOf: raw)
    }
}

/// A sink into a file descriptor, through a fixed buffer, so that writing a snapshot never holds more than the
/// buffer in memory. The caller closes the descriptor.
public struct FileSink: ByteSink {
    let fd: Int32
    var buffer: UnsafeMutableRawBufferPointer
    var used = 0
    public private(set) var offset = 0
    let computesChecksum: Bool
    public private(set) var checksum: UInt64 = 0

    public init(fd: Int32, bufferSize: Int = 1 << 16, computesChecksum: Bool = true) {
        self.fd = fd
        self.buffer = .allocate(byteCount: bufferSize, alignment: 16)
        self.computesChecksum = computesChecksum
    }

    /// Frees the buffer (after ``flush()``).
    public func release() {
        self.buffer.deallocate()
    }

    public mutating func write(_ raw: UnsafeRawBufferPointer) throws {
        if self.computesChecksum { self.checksum = CRC64.update(self.checksum, raw) }
        self.offset += raw.count
        if raw.count > self.buffer.count - self.used {
            try self.flush()
            if raw.count > self.buffer.count {
                try Self.writeAll(self.fd, raw)
                return
            }
        }
        // Why `!`: `raw.count > 0` here (else the copy is empty and skipped) and the buffer is allocated.
        if raw.count > 0 {
            (self.buffer.baseAddress! + self.used).copyMemory(from: raw.baseAddress!, byteCount: raw.count)
            self.used += raw.count
        }
    }

    /// Writes the buffered bytes to the file.
    public mutating func flush() throws {
        if self.used == 0 { return }
        try Self.writeAll(self.fd, UnsafeRawBufferPointer(rebasing: self.buffer[0..<self.used]))
        self.used = 0
    }

    static func writeAll(_ fd: Int32, _ raw: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < raw.count {
            // Why `!`: `done < raw.count` so the buffer is non-empty.
            let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw RDBError(offset: done, .io("write failed: \(String(cString: strerror(errno)))"))
            }
            done += n
        }
    }
}
