import NIOCore
public import SwiftletRESP
import SwiftletToolSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why the connection failed, worded as hiredis words it (`context->errstr`).
public struct ConnectionError: Error, Hashable, Sendable {
    public var message: String

    static let closed = ConnectionError(message: "Server closed the connection")

    static func system(_ code: Int32) -> ConnectionError {
        ConnectionError(message: String(cString: strerror(code)))
    }

    init(message: String) { self.message = message }

    init(_ failure: SocketFailure) { self.message = failure.message }
}

/// A blocking connection to one server over TCP or a Unix socket: send a command, read one reply.
public final class CLIConnection {
    private let descriptor: Int32
    private var buffer: ByteBuffer
    private let decoder = RESPValueDecoder()
    /// How far the reply at the front of the buffer has been scanned: a reply that arrives in many reads is walked
    /// once, and decoded only when it is whole.
    private var scan = RESPReplyScanner.State(start: 0)

    /// Connects over TCP, trying each address the name resolves to, as hiredis's `redisConnect` does.
    public init(host: String, port: Int32) throws(ConnectionError) {
        do {
            self.descriptor = try ToolSocket.connect(host: host, port: Int(port))
        } catch {
            throw ConnectionError(error)
        }
        self.buffer = ByteBufferAllocator().buffer(capacity: 16 * 1024)
    }

    /// Connects to a Unix socket.
    public init(socketPath: String) throws(ConnectionError) {
        do {
            self.descriptor = try ToolSocket.connect(unixPath: socketPath)
        } catch {
            throw ConnectionError(error)
        }
        self.buffer = ByteBufferAllocator().buffer(capacity: 16 * 1024)
    }

    deinit {
        close(self.descriptor)
    }

    /// Sends one command as a RESP array of bulk strings.
    public func send(_ arguments: [[UInt8]]) throws(ConnectionError) {
        var frame: [UInt8] = []
        Self.encode(arguments, to: &frame)
        try self.sendRaw(frame)
    }

    /// Appends one command as a RESP array of bulk strings (the framing of ``send(_:)``, for modes that pipeline
    /// many commands in one write).
    static func encode(_ arguments: [[UInt8]], to frame: inout [UInt8]) {
        frame += Array("*\(arguments.count)\r\n".utf8)
        for argument in arguments {
            frame += Array("$\(argument.count)\r\n".utf8)
            frame += argument
            frame += [13, 10]
        }
    }

    // MARK: - Non-blocking use (`--pipe`)

    /// The socket, for `poll` in the modes that wait on the server and stdin together.
    var fileDescriptor: Int32 { self.descriptor }

    /// Makes reads and writes return `EAGAIN` instead of blocking.
    func setNonBlocking() {
        let flags = fcntl(self.descriptor, F_GETFL)
        _ = fcntl(self.descriptor, F_SETFL, flags | O_NONBLOCK)
    }

    /// Writes what the socket takes now.
    /// - Returns: the count of bytes written, 0 when the socket would block.
    /// - Throws: ``ConnectionError`` on any other write error.
    func writeSome(_ bytes: ArraySlice<UInt8>) throws(ConnectionError) -> Int {
        while true {
            let written = bytes.withUnsafeBytes { write(self.descriptor, $0.baseAddress, $0.count) }
            if written >= 0 { return written }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { return 0 }
            throw .system(errno)
        }
    }

    /// Reads what the socket has into the reply buffer, without blocking (after ``setNonBlocking()``).
    /// - Throws: ``ConnectionError`` when the server closed the connection or on a read error.
    func readAvailable() throws(ConnectionError) {
        var count = 0
        var code: Int32 = 0
        repeat {
            self.buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 64 * 1024) { raw in
                count = read(self.descriptor, raw.baseAddress, raw.count)
                code = errno
                // A failed read moves the writer index by nothing; the error is handled below.
                return max(count, 0)
            }
        } while count < 0 && code == EINTR
        if count == 0 { throw .closed }
        if count < 0 && code != EAGAIN && code != EWOULDBLOCK { throw .system(code) }
    }

    /// Decodes the next reply already in the buffer, reading nothing.
    /// - Throws: ``ConnectionError`` on bad protocol.
    func bufferedReply() throws(ConnectionError) -> RESPValue? {
        let (outcome, _) = self.buffer.withUnsafeReadableBytes { RESPReplyScanner.scanReply($0, resuming: &self.scan) }
        if case .incomplete = outcome { return nil }
        // A complete reply is decoded; so is bad framing, for the decoder's own wording of the error.
        do {
            guard let value = try self.decoder.decode(&self.buffer) else { return nil }
            self.releaseConsumedBytes()
            return value
        } catch {
            throw ConnectionError(message: "Protocol error: " + String(decoding: error.reasonBytes, as: UTF8.self))
        }
    }

    /// Drops the replies already decoded, so that endless streams (MONITOR, SUBSCRIBE, `-r -1`, `--stat`) keep
    /// the buffer at the size of the largest reply plus one read instead of growing forever.
    private func releaseConsumedBytes() {
        // Bytes were consumed at the front (a reply, or raw reads): a scan in progress no longer stands.
        self.scan = RESPReplyScanner.State(start: 0)
        if self.buffer.readableBytes == 0 {
            // Everything was read: rewinding costs nothing and keeps the storage.
            self.buffer.clear()
        } else if self.buffer.readerIndex >= Self.discardThreshold {
            // A partial reply follows: move it to the front only once enough space is wasted, so the copy is
            // amortised over many replies.
            self.buffer.discardReadBytes()
        }
    }

    /// How many consumed bytes may stay in front of a partly read reply before they are discarded.
    static let discardThreshold = 64 * 1024

    /// The reply buffer's storage size, for tests that check it stays bounded.
    var bufferCapacity: Int { self.buffer.capacity }

    /// Reads the next complete reply.
    /// - Throws: ``ConnectionError`` when the server closes the connection, on an I/O error, or on bad protocol.
    public func readReply() throws(ConnectionError) -> RESPValue {
        while true {
            if let value = try self.bufferedReply() { return value }
            var count = 0
            self.buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 16 * 1024) { raw in
                count = read(self.descriptor, raw.baseAddress, raw.count)
                // A failed read moves the writer index by nothing; the error is handled below.
                return max(count, 0)
            }
            if count == 0 { throw .closed }
            if count < 0 {
                if errno == EINTR { continue }
                throw .system(errno)
            }
        }
    }

    // MARK: - Raw reads

    /// Writes bytes as they are (SYNC, memcached's text protocol), not as a RESP command.
    /// - Throws: ``ConnectionError`` on a write error.
    func sendRaw(_ bytes: [UInt8]) throws(ConnectionError) {
        do {
            try ToolSocket.writeAll(self.descriptor, bytes)
        } catch {
            throw ConnectionError(error)
        }
    }

    /// Reads up to `limit` bytes: first what the reply buffer already holds, else one `read` from the socket.
    /// - Returns: the bytes read, empty when the server closed the connection.
    /// - Throws: ``ConnectionError`` on a read error.
    func readRaw(upTo limit: Int) throws(ConnectionError) -> [UInt8] {
        if self.buffer.readableBytes > 0 {
            let count = min(limit, self.buffer.readableBytes)
            // `count` bytes are readable: the read cannot fail.
            let bytes = self.buffer.readBytes(length: count)!
            self.releaseConsumedBytes()
            return bytes
        }
        var chunk = [UInt8](repeating: 0, count: max(limit, 1))
        while true {
            let count = chunk.withUnsafeMutableBytes { read(self.descriptor, $0.baseAddress, $0.count) }
            if count >= 0 { return Array(chunk.prefix(count)) }
            if errno == EINTR { continue }
            throw .system(errno)
        }
    }

    /// The longest line ``readLine()`` takes (memcached's lines are short; only a broken server sends more).
    static let maximumLineLength = 1024 * 1024

    /// The longest data block ``readExactly(_:)`` takes: memcached's largest item and its `\r\n`.
    static let maximumBlockLength = MemcachedReplyTracker.maximumDataSize + 2

    /// Reads one line ending in `\n` (returned without `\r\n` or `\n`), buffering what follows it.
    /// - Returns: the line, or `nil` when the server closed the connection before a whole line came.
    /// - Throws: ``ConnectionError`` on a read error, or when no newline came within ``maximumLineLength`` bytes.
    func readLine() throws(ConnectionError) -> [UInt8]? {
        // The bytes already searched for a newline are not searched again after the next read.
        var scanned = 0
        while true {
            let view = self.buffer.readableBytesView
            if let newline = view[(view.startIndex + scanned)...].firstIndex(of: 10) {
                var line = Array(view[view.startIndex..<newline])
                self.buffer.moveReaderIndex(forwardBy: newline - view.startIndex + 1)
                self.releaseConsumedBytes()
                if line.last == 13 { line.removeLast() }
                return line
            }
            scanned = view.count
            if scanned > Self.maximumLineLength {
                throw ConnectionError(message: "Protocol error: no newline within \(Self.maximumLineLength) bytes")
            }
            var count = 0
            self.buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 16 * 1024) { raw in
                count = read(self.descriptor, raw.baseAddress, raw.count)
                // A failed read moves the writer index by nothing; the error is handled below.
                return max(count, 0)
            }
            if count == 0 { return nil }
            if count < 0 {
                if errno == EINTR { continue }
                throw .system(errno)
            }
        }
    }

    /// Reads exactly `count` bytes (a memcached data block and its `\r\n`).
    /// - Returns: the bytes, or `nil` when the server closed the connection first.
    /// - Throws: ``ConnectionError`` on a read error, or for a count beyond ``maximumBlockLength``.
    func readExactly(_ count: Int) throws(ConnectionError) -> [UInt8]? {
        guard count >= 0, count <= Self.maximumBlockLength else {
            throw ConnectionError(message: "Protocol error: data block of \(count) bytes is larger than 1 GiB")
        }
        var out: [UInt8] = []
        // The announced size is the server's word: memory grows with what really arrives.
        out.reserveCapacity(min(count, 64 * 1024))
        while out.count < count {
            let part = try self.readRaw(upTo: min(count - out.count, 64 * 1024))
            if part.isEmpty { return nil }
            out += part
        }
        return out
    }
}
