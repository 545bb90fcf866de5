import NIOCore
public import SwiftletRESP

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
}

/// A blocking connection to one server over TCP or a Unix socket: send a command, read one reply.
public final class CLIConnection {
    private let descriptor: Int32
    private var buffer: ByteBuffer
    private let decoder = RESPValueDecoder()

    /// Connects over TCP, trying each address the name resolves to, as hiredis's `redisConnect` does.
    public init(host: String, port: Int32) throws(ConnectionError) {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        // hiredis asks for IPv4 first and only then for IPv6.
        var status: Int32 = EAI_FAMILY
        for family in [AF_INET, AF_INET6] {
            hints.ai_family = family
            status = getaddrinfo(host, String(port), &hints, &list)
            if status == 0 { break }
        }
        guard status == 0, let first = list else {
            throw ConnectionError(message: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(first) }
        var lastError: Int32 = ECONNREFUSED
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let address = entry {
            entry = address.pointee.ai_next
            let fd = socket(address.pointee.ai_family, address.pointee.ai_socktype, address.pointee.ai_protocol)
            guard fd >= 0 else {
                lastError = errno
                continue
            }
            if connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 {
                var one: Int32 = 1
                _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                self.descriptor = fd
                self.buffer = ByteBufferAllocator().buffer(capacity: 16 * 1024)
                return
            }
            lastError = errno
            close(fd)
        }
        throw .system(lastError)
    }

    /// Connects to a Unix socket.
    public init(socketPath: String) throws(ConnectionError) {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw .system(errno) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = Array(socketPath.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.count < capacity else {
            close(fd)
            throw .system(ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path)
        }
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            let code = errno
            close(fd)
            throw .system(code)
        }
        self.descriptor = fd
        self.buffer = ByteBufferAllocator().buffer(capacity: 16 * 1024)
    }

    deinit {
        close(self.descriptor)
    }

    /// Sends one command as a RESP array of bulk strings.
    public func send(_ arguments: [[UInt8]]) throws(ConnectionError) {
        var frame: [UInt8] = Array("*\(arguments.count)\r\n".utf8)
        for argument in arguments {
            frame += Array("$\(argument.count)\r\n".utf8)
            frame += argument
            frame += [13, 10]
        }
        var offset = 0
        while offset < frame.count {
            let written = frame[offset...].withUnsafeBytes { write(self.descriptor, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw .system(errno)
            }
            offset += written
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
}
