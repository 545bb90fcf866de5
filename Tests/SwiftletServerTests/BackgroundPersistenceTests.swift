import Foundation
import Swiftlet
import SwiftletClient
import SwiftletRESP
import Testing

/// BGSAVE and BGREWRITEAOF through a running server: the snapshot walk runs in slices on the event loop while
/// clients write, a background thread writes the file, and its completion hops back onto the loop. These are the
/// tests CI also runs under ThreadSanitizer (scripts/test), with the embedded API's tests, since the writer thread
/// shares `@unchecked Sendable` types with the loop.
struct BackgroundPersistenceTests {
    /// Polls INFO persistence until `field` reads `value` (at most 30 s).
    private func waitFor(_ client: RESPClient, _ field: String, _ value: String) async throws -> Bool {
        for _ in 0..<3000 {
            let info = try await client.send("INFO", "persistence").string ?? ""
            if info.contains("\r\n\(field):\(value)\r\n") { return true }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        return false
    }

    @Test func bgsaveAndRewriteWhileClientsWrite() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "swiftlet-bg-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        )
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = try await EmbeddedServer.start(options: ["dir": dir.path, "appendonly": "yes"])
        let client = try await RESPClient.connect(port: server.port)
        var batch: [[[UInt8]]] = []
        for i in 0..<20_000 {
            batch.append([Array("SET".utf8), Array("key:\(i)".utf8), Array("value:\(i)".utf8)])
            batch.append([Array("SADD".utf8), Array("set:\(i % 100)".utf8), Array("\(i)".utf8)])
        }
        _ = try await client.pipeline(batch)
        #expect(try await client.send("BGSAVE").string == "Background saving started")
        // Writes while the walk runs: they wait for nothing, and the snapshot keeps the values it started with.
        for i in 0..<200 { _ = try await client.send("SET", "key:\(i)", "changed") }
        #expect(try await waitFor(client, "rdb_bgsave_in_progress", "0"))
        #expect(try await waitFor(client, "rdb_last_bgsave_status", "ok"))
        #expect(try await client.send("BGREWRITEAOF").string == "Background append only file rewriting started")
        for i in 200..<400 { _ = try await client.send("SET", "key:\(i)", "changed") }
        #expect(try await waitFor(client, "aof_rewrite_in_progress", "0"))
        #expect(try await waitFor(client, "aof_last_bgrewrite_status", "ok"))
        #expect(try await client.send("DBSIZE") == .integer(20_100))
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("dump.rdb").path))
        try await client.close()
        await server.stop()
    }
}
