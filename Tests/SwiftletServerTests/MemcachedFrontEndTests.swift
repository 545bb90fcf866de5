import Foundation
import Logging
import NIOCore
import NIOPosix
import SwiftletMemcached
import SwiftletServer
import Testing

/// The memcached front ends over a real socket, each test on both transports (NIO for swiftlet-server's memcached
/// port, epoll for swiftlet-memcached on Linux): the framing (values split across reads, pipelines, a swallowed
/// value), a full socket, the connection limit and shutdown.
@Suite struct MemcachedFrontEndTests {
    enum Transport: Sendable, CustomStringConvertible {
        case nio, epoll
        var description: String { self == .nio ? "NIO" : "epoll" }
    }

    #if os(Linux)
    static let transports: [Transport] = [.nio, .epoll]
    #else
    static let transports: [Transport] = [.nio]
    #endif

    func withFrontEnd(
        _ transport: Transport,
        _ configure: (inout MemcachedSettings) -> Void = { _ in },
        _ body: (Int) async throws -> Void
    ) async throws {
        var settings = MemcachedSettings()
        // memcached's -p -1: a free port (-p 0 means no TCP listener).
        settings.port = -1
        settings.listen = ["127.0.0.1"]
        configure(&settings)
        #if os(Linux)
        if transport == .epoll {
            let frontEnd = MemcachedEpollFrontEnd(settings: settings, logger: Logger(label: "test"))
            let port = try frontEnd.start()
            let stopped = DispatchSemaphore(value: 0)
            let thread = Thread {
                frontEnd.run()
                stopped.signal()
            }
            thread.start()
            defer {
                frontEnd.requestShutdown()
                stopped.wait()
            }
            try await body(port)
            return
        }
        #endif
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let frozen = settings
        let frontEnd = try await loop.submit {
            MemcachedFrontEnd(settings: frozen, loop: loop, logger: Logger(label: "test"))
        }.get()
        let port = try await frontEnd.start()
        // As Server.startMemcached wires it: the `shutdown` command closes the listeners and the clients.
        try await frontEnd.withEngine { engine in
            engine.onShutdown = { _ in Task { await frontEnd.shutdown() } }
        }
        do {
            try await body(port)
        } catch {
            await frontEnd.shutdown()
            try await group.shutdownGracefully()
            throw error
        }
        await frontEnd.shutdown()
        try await group.shutdownGracefully()
    }

    /// The peer closed the connection (end of file; a read that timed out is not that).
    func peerClosed(_ socket: RawSocket) -> Bool {
        var byte: UInt8 = 0
        return recv(socket.fd, &byte, 1, 0) == 0
    }

    /// Reads until the reply ends with `terminator` or the peer closes.
    func read(_ socket: RawSocket, until terminator: String) -> String {
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        let end = Array(terminator.utf8)
        while !(data.count >= end.count && Array(data.suffix(end.count)) == end) {
            let n = chunk.withUnsafeMutableBytes { recv(socket.fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            data += chunk[0..<n]
        }
        return String(decoding: data, as: UTF8.self)
    }

    @Test(arguments: Self.transports)
    func storesAndFetchesAValueSentOneByteAtATime(_ transport: Transport) async throws {
        try await self.withFrontEnd(transport) { port in
            let socket = try RawSocket(port: port)
            for byte in Array("set k 3 0 5\r\nhello\r\nget k\r\nmn\r\n".utf8) { socket.send([byte]) }
            #expect(self.read(socket, until: "MN\r\n") == "STORED\r\nVALUE k 3 5\r\nhello\r\nEND\r\nMN\r\n")
            socket.close()
        }
    }

    @Test(arguments: Self.transports)
    func pipelineAndLargeValue(_ transport: Transport) async throws {
        try await self.withFrontEnd(transport) { port in
            let socket = try RawSocket(port: port)
            let value = String(repeating: "x", count: 700_000)
            var request = "set big 0 0 \(value.utf8.count)\r\n\(value)\r\n"
            for i in 0..<500 { request += "set k\(i) 0 0 1\r\n\(i % 10)\r\n" }
            request += "get big k499\r\nmn\r\n"
            socket.send(request)
            let reply = self.read(socket, until: "MN\r\n")
            #expect(reply.hasPrefix(String(repeating: "STORED\r\n", count: 501)))
            #expect(reply.hasSuffix("VALUE k499 0 1\r\n9\r\nEND\r\nMN\r\n"))
            #expect(reply.contains("VALUE big 0 700000\r\n\(value)\r\n"))
            socket.close()
        }
    }

    @Test(arguments: Self.transports)
    func tooLargeValueIsSwallowedAndTheStreamStaysInStep(_ transport: Transport) async throws {
        try await self.withFrontEnd(transport) { port in
            let socket = try RawSocket(port: port)
            let value = String(repeating: "y", count: 2_000_000)
            socket.send("set huge 0 0 \(value.utf8.count)\r\n\(value)\r\nversion\r\n")
            #expect(
                self.read(socket, until: "VERSION 1.6.18\r\n")
                    == "SERVER_ERROR object too large for cache\r\nVERSION 1.6.18\r\n"
            )
            socket.close()
        }
    }

    @Test(arguments: Self.transports)
    func refusesClientsPastTheConnectionLimit(_ transport: Transport) async throws {
        // -c 30 with 4 threads' reserved descriptors (20), the standard streams and one listener leaves 5 clients,
        // as memcached 1.6.18 gives them (docs/MEMCACHED.md).
        try await self.withFrontEnd(
            transport,
            { $0.maxConnections = 30 },
            { port in
                var sockets: [RawSocket] = []
                for _ in 0..<5 {
                    let socket = try RawSocket(port: port)
                    socket.send("version\r\n")
                    #expect(self.read(socket, until: "\r\n") == "VERSION 1.6.18\r\n")
                    sockets.append(socket)
                }
                let extra = try RawSocket(port: port)
                #expect(self.read(extra, until: "\r\n") == "ERROR Too many open connections\r\n")
                #expect(self.peerClosed(extra))
                extra.close()
                for socket in sockets { socket.close() }
            }
        )
    }

    /// 30 MB of replies asked for before any is read: the server fills the socket, waits for it to drain (reading
    /// nothing meanwhile), and then answers what came after, in order.
    @Test(arguments: Self.transports)
    func repliesLargerThanTheSocketBufferArriveWhole(_ transport: Transport) async throws {
        try await self.withFrontEnd(transport) { port in
            let socket = try RawSocket(port: port)
            let value = String(repeating: "z", count: 1_000_000)
            socket.send("set big 0 0 \(value.utf8.count)\r\n\(value)\r\n")
            #expect(self.read(socket, until: "\r\n") == "STORED\r\n")
            socket.send(String(repeating: "get big\r\n", count: 30) + "mn\r\n")
            let reply = self.read(socket, until: "MN\r\n")
            let block = "VALUE big 0 1000000\r\n\(value)\r\nEND\r\n"
            #expect(reply.utf8.count == block.utf8.count * 30 + 4)
            #expect(reply == String(repeating: block, count: 30) + "MN\r\n")
            socket.send("version\r\n")
            #expect(self.read(socket, until: "\r\n") == "VERSION 1.6.18\r\n")
            socket.close()
        }
    }

    /// `shutdown` (allowed by -A) answers nothing and closes every client, as memcached exits.
    @Test(arguments: Self.transports)
    func shutdownCommandClosesEveryClient(_ transport: Transport) async throws {
        try await self.withFrontEnd(
            transport,
            { $0.shutdownCommand = true },
            { port in
                let other = try RawSocket(port: port)
                other.send("version\r\n")
                #expect(self.read(other, until: "\r\n") == "VERSION 1.6.18\r\n")
                let socket = try RawSocket(port: port)
                socket.send("shutdown\r\n")
                #expect(self.peerClosed(socket))
                #expect(self.peerClosed(other))
                socket.close()
                other.close()
            }
        )
    }
}
