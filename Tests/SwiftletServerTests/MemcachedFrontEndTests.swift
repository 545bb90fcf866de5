import Foundation
import Logging
import NIOCore
import NIOPosix
import SwiftletMemcached
import SwiftletServer
import Testing

/// The memcached front end over a real socket: the transport's framing (values split across reads, pipelines, a
/// swallowed value) and the connection limit.
@Suite struct MemcachedFrontEndTests {
    func withFrontEnd(
        _ configure: (inout MemcachedSettings) -> Void = { _ in },
        _ body: (Int) async throws -> Void
    ) async throws {
        var settings = MemcachedSettings()
        // memcached's -p -1: a free port (-p 0 means no TCP listener).
        settings.port = -1
        settings.listen = ["127.0.0.1"]
        configure(&settings)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let frozen = settings
        let frontEnd = try await loop.submit {
            MemcachedFrontEnd(settings: frozen, loop: loop, logger: Logger(label: "test"))
        }.get()
        let port = try await frontEnd.start()
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

    @Test func storesAndFetchesAValueSentOneByteAtATime() async throws {
        try await self.withFrontEnd { port in
            let socket = try RawSocket(port: port)
            for byte in Array("set k 3 0 5\r\nhello\r\nget k\r\nmn\r\n".utf8) { socket.send([byte]) }
            #expect(self.read(socket, until: "MN\r\n") == "STORED\r\nVALUE k 3 5\r\nhello\r\nEND\r\nMN\r\n")
            socket.close()
        }
    }

    @Test func pipelineAndLargeValue() async throws {
        try await self.withFrontEnd { port in
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

    @Test func tooLargeValueIsSwallowedAndTheStreamStaysInStep() async throws {
        try await self.withFrontEnd { port in
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

    @Test func refusesClientsPastTheConnectionLimit() async throws {
        // -c 30 with 4 threads' reserved descriptors (20), the standard streams and one listener leaves 5 clients,
        // as memcached 1.6.18 gives them (docs/MEMCACHED.md).
        try await self.withFrontEnd(
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
                #expect(extra.isClosed())
                extra.close()
                for socket in sockets { socket.close() }
            }
        )
    }
}
