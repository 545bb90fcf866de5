import Foundation
import NIOCore
import SwiftletConfig
import SwiftletKeyspace
import SwiftletPersistence
import SwiftletRESP
import Testing

@testable import SwiftletEngine

/// The replica side without a network: a fake host hands the engine a fake connection, the test plays the master's
/// part byte by byte (Redis 7.0's replies), and checks what the replica sends and does.
@Suite(.serialized)
struct MasterLinkTests {
    /// A connection whose writes the test reads.
    final class FakeTransport: MasterTransport {
        var sent = ""
        var closed = false
        var unread = ByteBuffer()
        func send(_ bytes: ByteBuffer) { self.sent += String(buffer: bytes) }
        func close() { self.closed = true }

        /// What was sent since the last call.
        func take() -> String {
            defer { self.sent = "" }
            return self.sent
        }
    }

    final class FakeHost: EngineHost {
        var transports: [FakeTransport] = []
        var logs: [String] = []
        func schedule(afterMicroseconds microseconds: Int64, _ body: @escaping () -> Void) {}
        var loopHop: @Sendable (@escaping @Sendable () -> Void) -> Void { { $0() } }
        func scheduleBeforeSleep() {}
        func log(warning: Bool, _ message: String) { self.logs.append(message) }
        func requestShutdown(_ request: ShutdownRequest) -> String? { nil }
        func relisten() -> Bool { true }
        func sleep(seconds: Double) {}
        func connectToMaster(
            host: String,
            port: Int,
            timeoutSeconds: Int64,
            events: any MasterLinkEvents
        ) -> (any MasterTransport)? {
            let transport = FakeTransport()
            self.transports.append(transport)
            return transport
        }
    }

    let directory: String
    let h: CommandHarness
    let host = FakeHost()

    init() {
        self.directory = NSTemporaryDirectory() + "swiftlet-masterlink-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: self.directory, withIntermediateDirectories: true)
        self.h = CommandHarness(config: ConfigStore(workingDirectory: .simulated(self.directory)))
        self.h.state.host = self.host
    }

    private func command(_ words: String...) -> String {
        "*\(words.count)\r\n" + words.map { "$\($0.utf8.count)\r\n\($0)\r\n" }.joined()
    }

    private func receive(_ text: String, _ transport: FakeTransport) {
        self.receive(Array(text.utf8), transport)
    }

    /// Hands bytes to the engine as the transport does: what it leaves (a partial line or command) is kept and comes
    /// first on the next read.
    private func receive(_ bytes: [UInt8], _ transport: FakeTransport) {
        var buffer = transport.unread
        buffer.writeBytes(bytes)
        self.h.state.masterReceived(transport, &buffer)
        transport.unread = ByteBuffer(buffer.readableBytesView)
    }

    /// REPLICAOF, the handshake up to PSYNC; returns the connection.
    private func handshake() -> FakeTransport {
        #expect(self.h.run("REPLICAOF", "127.0.0.1", "7000") == .ok)
        let transport = self.host.transports.last!
        self.h.state.masterConnected(transport)
        #expect(transport.take() == command("PING"))
        self.receive("+PONG\r\n", transport)
        #expect(
            transport.take() == command("REPLCONF", "listening-port", "0")
                + command("REPLCONF", "capa", "eof", "capa", "psync2")
        )
        self.receive("+OK\r\n+OK\r\n", transport)
        return transport
    }

    private func rdb(_ keys: [String: String]) throws -> [UInt8] {
        // The master's data, made by a server of its own.
        let master = CommandHarness()
        for (key, value) in keys { master.run("SET", key, value) }
        return try RDBWriter.write(
            keyspace: master.state.keyspace,
            to: ArraySink(computesChecksum: true),
            options: .init()
        )
        .bytes
    }

    @Test func aFullSyncLoadsTheRDBAndAppliesTheStream() throws {
        #expect(self.h.run("SET", "mine", "gone after the sync") == .ok)
        let transport = self.handshake()
        // A master asks to continue its own history.
        let ownID = self.h.state.replication.id
        #expect(transport.take() == command("PSYNC", ownID, "1"))
        let masterID = String(repeating: "ab", count: 20)
        let mark = String(repeating: "m", count: 40)
        self.receive("+FULLRESYNC \(masterID) 100\r\n\n$EOF:\(mark)\r\n", transport)
        let payload = try self.rdb(["k": "v"])
        // The payload in two reads, the mark split across them.
        self.receive(Array(payload + Array(mark.utf8).prefix(10)), transport)
        #expect(self.h.run("ROLE") == .list([.bulk("slave"), .bulk("127.0.0.1"), .int(7000), .bulk("sync"), .int(-1)]))
        self.receive(Array(Array(mark.utf8).dropFirst(10)), transport)
        #expect(self.h.run("GET", "k") == .bulk("v"))
        #expect(self.h.run("GET", "mine") == .nullBulk)
        #expect(self.h.state.replication.id == masterID && self.h.state.replication.offset == 100)
        // The first ACK goes at once.
        #expect(transport.take() == command("REPLCONF", "ACK", "100"))
        // The stream: applied, and the offset moves by its bytes; GETACK is answered with the offset before it.
        let set = command("SET", "a", "b")
        let getack = command("REPLCONF", "GETACK", "*")
        self.receive(set + getack, transport)
        #expect(self.h.run("GET", "a") == .bulk("b"))
        #expect(transport.take() == command("REPLCONF", "ACK", String(100 + set.utf8.count)))
        #expect(self.h.state.replication.offset == Int64(100 + set.utf8.count + getack.utf8.count))
        // A command cut in two reads waits for its end.
        let incr = command("INCR", "n")
        self.receive(String(incr.prefix(7)), transport)
        #expect(self.h.run("GET", "n") == .nullBulk)
        self.receive(String(incr.dropFirst(7)), transport)
        #expect(self.h.run("GET", "n") == .bulk("1"))
        // Clients may not write; the master's client may.
        #expect(self.h.run("SET", "x", "y") == .err("READONLY You can't write against a read only replica."))
        // The RDB was kept as the dump file.
        #expect(FileManager.default.fileExists(atPath: self.h.state.rdbPath))
    }

    @Test func aDroppedLinkContinuesWithPSync() throws {
        let transport = self.handshake()
        _ = transport.take()
        let masterID = String(repeating: "cd", count: 20)
        let payload = try self.rdb([:])
        self.receive("+FULLRESYNC \(masterID) 0\r\n$\(payload.count)\r\n", transport)
        // A sized payload, followed at once by the stream in the same read.
        self.receive(payload + Array((command("SELECT", "3") + command("SET", "in3", "x")).utf8), transport)
        #expect(
            self.h.state.replication.offset == Int64((command("SELECT", "3") + command("SET", "in3", "x")).utf8.count)
        )
        self.h.state.masterClosed(transport, reason: "test")
        #expect(
            self.h.run("ROLE")
                == .list([.bulk("slave"), .bulk("127.0.0.1"), .int(7000), .bulk("connecting"), .int(-1)])
        )
        // A link that was up connects again at once and asks to continue from the next offset.
        let again = self.host.transports.last!
        #expect(again !== transport)
        self.h.state.masterConnected(again)
        self.receive("+PONG\r\n", again)
        self.receive("+OK\r\n+OK\r\n", again)
        let offset = self.h.state.replication.offset
        #expect(again.take().hasSuffix(command("PSYNC", masterID, String(offset + 1))))
        // The master continues in database 3 without a SELECT.
        self.receive("+CONTINUE \(masterID)\r\n" + command("SET", "more", "y"), again)
        self.h.context.session.database = 3
        #expect(self.h.run("GET", "more") == .bulk("y"))
    }

    @Test func aTransactionMovesTheOffsetOnlyAtItsExec() throws {
        let transport = self.handshake()
        _ = transport.take()
        let masterID = String(repeating: "12", count: 20)
        let payload = try self.rdb([:])
        self.receive("+FULLRESYNC \(masterID) 0\r\n$\(payload.count)\r\n", transport)
        self.receive(payload, transport)
        let open = command("MULTI") + command("SET", "t", "1")
        self.receive(open, transport)
        // Queued, not counted: an ACK now reports the offset before the MULTI.
        #expect(self.h.state.replication.offset == 0)
        self.receive(command("REPLCONF", "GETACK", "*"), transport)
        #expect(transport.take() == command("REPLCONF", "ACK", "0"))
        self.receive(command("EXEC"), transport)
        #expect(self.h.run("GET", "t") == .bulk("1"))
        let whole = open + command("REPLCONF", "GETACK", "*") + command("EXEC")
        #expect(self.h.state.replication.offset == Int64(whole.utf8.count))
        // A transaction cut by a dropped link is lost with the master's client and asked for again.
        self.receive(command("MULTI") + command("SET", "u", "2"), transport)
        self.h.state.masterClosed(transport, reason: "test")
        #expect(self.h.state.replication.offset == Int64(whole.utf8.count))
        #expect(self.h.run("GET", "u") == .nullBulk)
    }

    @Test func promotionKeepsTheMastersHistoryAsTheSecondID() throws {
        let transport = self.handshake()
        _ = transport.take()
        let masterID = String(repeating: "ef", count: 20)
        let payload = try self.rdb(["k": "v"])
        self.receive("+FULLRESYNC \(masterID) 41\r\n$\(payload.count)\r\n", transport)
        self.receive(payload, transport)
        #expect(self.h.run("REPLICAOF", "NO", "ONE") == .ok)
        #expect(transport.closed)
        let r = self.h.state.replication
        #expect(r.secondID == masterID && r.secondOffset == 42 && r.id != masterID)
        #expect(self.h.run("SET", "x", "y") == .ok)
        // Its own writes move the offset again (it is the stream's source now).
        #expect(r.offset > 41)
    }

    @Test func handshakeErrorsRetryLater() {
        #expect(self.h.run("REPLICAOF", "127.0.0.1", "7000") == .ok)
        let transport = self.host.transports.last!
        self.h.state.masterConnected(transport)
        self.receive("-ERR unknown command\r\n", transport)
        #expect(transport.closed)
        #expect(self.host.logs.contains("Error reply to PING from master: '-ERR unknown command'"))
        // With serve-stale-data off, commands without the stale flag are refused while the link is down.
        _ = try? self.h.state.config.set([("replica-serve-stale-data", "no")])
        #expect(
            self.h.run("GET", "k")
                == .err("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.")
        )
        // Commands flagged stale still run (PING is not one of them, as in Redis).
        #expect(
            self.h.run("ROLE") == .list([.bulk("slave"), .bulk("127.0.0.1"), .int(7000), .bulk("connect"), .int(-1)])
        )
    }
}
