import NIOCore
import SwiftletRESP
import Testing

@testable import SwiftletCLI

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A listening Unix socket in a temporary directory, standing in for the server.
private final class UnixListener {
    let path: String
    private let descriptor: Int32

    init() throws {
        // Parallel tests each get their own socket.
        self.path = "/tmp/swiftlet-cli-test-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).sock"
        self.descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(self.path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(self.descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0, listen(self.descriptor, 1) == 0 else { throw ConnectionError.system(errno) }
    }

    /// Accepts the connection the client made (it is already queued in the backlog).
    func acceptConnection() -> Int32 {
        accept(self.descriptor, nil, nil)
    }

    deinit {
        close(self.descriptor)
        unlink(self.path)
    }
}

private func writeAll(_ descriptor: Int32, _ bytes: [UInt8]) {
    var offset = 0
    while offset < bytes.count {
        let written = bytes[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        precondition(written > 0, "write to the test socket failed")
        offset += written
    }
}

struct CLIConnectionTests {
    /// A stream of replies (MONITOR, SUBSCRIBE, `-r -1`) must not grow the buffer: decoded bytes are dropped.
    @Test func endlessRepliesKeepTheBufferBounded() throws {
        let listener = try UnixListener()
        let connection = try CLIConnection(socketPath: listener.path)
        let server = listener.acceptConnection()
        defer { close(server) }
        var mismatches = 0
        let chunk = Array(repeating: Array("+OK\r\n".utf8), count: 800).flatMap { $0 }
        // 400 KB in all, each chunk read in full before the next is written.
        for _ in 0..<100 {
            writeAll(server, chunk)
            for _ in 0..<800 where try connection.readReply() != .simpleString(ByteBuffer(string: "OK")) {
                mismatches += 1
            }
        }
        #expect(mismatches == 0)
        #expect(connection.bufferCapacity <= 4 * CLIConnection.discardThreshold)
    }

    /// Replies split across reads, so that a partial reply always follows the decoded ones, still stay bounded.
    @Test func partialRepliesKeepTheBufferBounded() throws {
        let listener = try UnixListener()
        let connection = try CLIConnection(socketPath: listener.path)
        let server = listener.acceptConnection()
        defer { close(server) }
        let reply = Array("$10\r\n0123456789\r\n".utf8)
        var mismatches = 0
        let expected = RESPValue.bulkString(ByteBuffer(string: "0123456789"))
        // Each write ends in the middle of a reply, which the next write completes.
        writeAll(server, Array(reply[..<7]))
        // 360 KB in all.
        for _ in 0..<20000 {
            writeAll(server, Array(reply[7...]) + reply[..<7])
            if try connection.readReply() != expected { mismatches += 1 }
        }
        #expect(mismatches == 0)
        #expect(connection.bufferCapacity <= 4 * CLIConnection.discardThreshold)
    }
}
