import Dispatch
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
final class UnixListener {
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

func writeAll(_ descriptor: Int32, _ bytes: [UInt8]) {
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

    /// A memcached line without a newline is refused past 1 MiB instead of growing the buffer forever.
    @Test func endlessLineIsAProtocolError() throws {
        let listener = try UnixListener()
        let connection = try CLIConnection(socketPath: listener.path)
        let server = listener.acceptConnection()
        defer { close(server) }
        let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 64 * 1024)
        // 17 chunks: just over the limit, all of it buffered by the socket before the read.
        let written = DispatchSemaphore(value: 0)
        // What the reader leaves unread (under one chunk) fits in the socket's buffer: the writer always finishes.
        DispatchQueue.global().async {
            for _ in 0..<17 { writeAll(server, chunk) }
            written.signal()
        }
        let error = #expect(throws: ConnectionError.self) { _ = try connection.readLine() }
        #expect(error?.message == "Protocol error: no newline within 1048576 bytes")
        written.wait()
    }

    /// A line that arrives a few bytes at a time is still found whole (the scan resumes where it stopped).
    @Test func lineAcrossManyReads() throws {
        let listener = try UnixListener()
        let connection = try CLIConnection(socketPath: listener.path)
        let server = listener.acceptConnection()
        defer { close(server) }
        let line = Array("VALUE key 0 5\r\nhello\r\nEND\r\n".utf8)
        let written = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            for byte in line {
                writeAll(server, [byte])
                usleep(200)
            }
            written.signal()
        }
        #expect(try connection.readLine() == Array("VALUE key 0 5".utf8))
        #expect(try connection.readExactly(7) == Array("hello\r\n".utf8))
        #expect(try connection.readLine() == Array("END".utf8))
        written.wait()
    }

    /// An announced block beyond 1 GiB (Int.max included) is refused before anything is reserved.
    @Test func hugeBlockIsAProtocolError() throws {
        let listener = try UnixListener()
        let connection = try CLIConnection(socketPath: listener.path)
        let server = listener.acceptConnection()
        defer { close(server) }
        for count in [Int.max, Int.max - 1, CLIConnection.maximumBlockLength + 1] {
            let error = #expect(throws: ConnectionError.self) { _ = try connection.readExactly(count) }
            #expect(error?.message.hasPrefix("Protocol error: data block of ") == true)
        }
        // A large block the server never sends is not reserved up front: the read just ends.
        close(server)
        #expect(try connection.readExactly(CLIConnection.maximumBlockLength) == nil)
    }
}
