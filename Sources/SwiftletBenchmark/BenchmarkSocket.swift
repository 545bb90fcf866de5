import Glibc
import SwiftletRESP
import SwiftletToolSupport

/// A fatal benchmark error: the message redis-benchmark prints (to stderr) before it exits with status 1.
public struct BenchmarkError: Error, Equatable, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) { self.description = description }
}

/// Where the server listens, and how to open a connection to it.
struct ServerAddress: Sendable {
    var host: String
    var port: Int
    var socketPath: String?
    /// Who is named in a connection error: "Redis" (redis-benchmark's text), or "memcached" with `--protocol`.
    var serverName: String

    init(options: BenchmarkOptions) {
        host = options.host
        port = options.port
        socketPath = options.socketPath
        serverName = options.wireProtocol.isMemcache ? "memcached" : "Redis"
    }

    /// Connects (blocking), then makes the socket non-blocking with TCP_NODELAY set.
    /// - Throws: ``BenchmarkError`` with redis-benchmark's text when the connection fails.
    func connect() throws(BenchmarkError) -> Int32 {
        let fd: Int32
        do {
            if let socketPath {
                fd = try ToolSocket.connect(unixPath: socketPath)
            } else {
                fd = try ToolSocket.connect(host: host, port: port)
            }
        } catch {
            let place = socketPath ?? "\(host):\(port)"
            throw BenchmarkError("Could not connect to \(serverName) at \(place): \(error.message)")
        }
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        return fd
    }
}

/// Writes all of `text` to a descriptor (stdout unless told), retrying short writes.
func writeAll(_ text: String, to fd: Int32 = 1) {
    var text = text
    text.withUTF8 { bytes in
        var offset = 0
        while offset < bytes.count {
            // `!`: the loop runs only for a non-empty text, which has a base address.
            let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if written <= 0 {
                if written < 0 && errno == EINTR { continue }
                return
            }
            offset += written
        }
    }
}

/// Microseconds on the monotonic clock.
@inline(__always)
func monotonicMicroseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
}

/// Sends a few commands on a fresh blocking connection and returns their replies' bytes, one slice per command.
/// - Returns: nil when the connection or the exchange fails.
func exchange(_ address: ServerAddress, commands: [[UInt8]]) -> [[UInt8]]? {
    guard let fd = try? address.connect() else { return nil }
    defer { close(fd) }
    // The helper reads with a 5-second poll, so a silent server cannot hang the benchmark.
    let request = commands.flatMap { $0 }
    guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count
    else { return nil }
    var input: [UInt8] = []
    var replies: [[UInt8]] = []
    var buffer = [UInt8](repeating: 0, count: 16384)
    while replies.count < commands.count {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, 5000) == 1 else { return nil }
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        input += buffer[0..<count]
        var start = 0
        while replies.count < commands.count {
            let outcome = input.withUnsafeBytes { RESPReplyScanner.scan($0, from: start) }
            guard case .complete(let end, _, _) = outcome else { break }
            replies.append(Array(input[start..<end]))
            start = end
        }
        input.removeFirst(start)
    }
    return replies
}

/// The bulk strings of a RESP2 array reply (`*2\r\n$4\r\nsave\r\n$0\r\n\r\n` gives `["save", ""]`).
func bulkStrings(_ reply: [UInt8]) -> [String]? {
    reply.withUnsafeBytes { bytes -> [String]? in
        guard bytes.first == UInt8(ascii: "*"), let end = RESPReplyScanner.lineEnd(bytes, from: 1),
            let count = RESPReplyScanner.integer(bytes, from: 1, to: end)
        else { return nil }
        var index = end + 2
        var strings: [String] = []
        for _ in 0..<max(count, 0) {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "$"),
                let lineEnd = RESPReplyScanner.lineEnd(bytes, from: index + 1),
                let length = RESPReplyScanner.integer(bytes, from: index + 1, to: lineEnd), length >= 0,
                lineEnd + 2 + length <= bytes.count
            else { return nil }
            strings.append(String(decoding: bytes[(lineEnd + 2)..<(lineEnd + 2 + length)], as: UTF8.self))
            index = lineEnd + 4 + length
        }
        return strings
    }
}
