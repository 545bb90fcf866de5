#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a connection could not be opened or used, worded as hiredis words it (`context->errstr`): `strerror`'s text
/// for a system error, `getaddrinfo`'s for a name that does not resolve.
public struct SocketFailure: Error, Hashable, Sendable {
    public var message: String

    public init(message: String) { self.message = message }

    /// The failure for a system error number.
    public static func system(_ code: Int32) -> SocketFailure {
        SocketFailure(message: String(cString: strerror(code)))
    }
}

/// The blocking sockets of the client tools (swiftlet-cli, swiftlet-benchmark): connect as hiredis's
/// `redisConnect` / `redisConnectUnix` do, and write a whole buffer.
public enum ToolSocket {
    /// Connects over TCP, trying each address the name resolves to; sets TCP_NODELAY.
    ///
    /// As hiredis, asks `getaddrinfo` for IPv4 addresses first and only then for IPv6 ones.
    /// - Returns: the connected (blocking) socket.
    public static func connect(host: String, port: Int) throws(SocketFailure) -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        var status: Int32 = EAI_FAMILY
        for family in [AF_INET, AF_INET6] {
            hints.ai_family = family
            status = getaddrinfo(host, String(port), &hints, &list)
            if status == 0 { break }
        }
        guard status == 0, let first = list else {
            throw SocketFailure(message: String(cString: gai_strerror(status)))
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
            if systemConnect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 {
                var one: Int32 = 1
                _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                return fd
            }
            lastError = errno
            close(fd)
        }
        throw .system(lastError)
    }

    /// Connects to a Unix socket.
    /// - Returns: the connected (blocking) socket.
    public static func connect(unixPath path: String) throws(SocketFailure) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw .system(errno) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw .system(ENAMETOOLONG)
        }
        // `sockaddr_un()` is zeroed, so the path is NUL-terminated.
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                systemConnect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            let code = errno
            close(fd)
            throw .system(code)
        }
        return fd
    }

    /// Writes all of `bytes` to a blocking descriptor, retrying short writes and EINTR.
    /// - Throws: ``SocketFailure`` with the error of the write that failed.
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(SocketFailure) {
        let code = bytes.withUnsafeBytes { buffer -> Int32 in
            guard let base = buffer.baseAddress else { return 0 }
            var offset = 0
            while offset < buffer.count {
                let written = write(fd, base + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                offset += written
            }
            return 0
        }
        if code != 0 { throw .system(code) }
    }
}

/// The C library's `connect` (inside ``ToolSocket`` its own `connect` methods hide that name).
private func systemConnect(_ fd: Int32, _ address: UnsafePointer<sockaddr>!, _ length: socklen_t) -> Int32 {
    connect(fd, address, length)
}
