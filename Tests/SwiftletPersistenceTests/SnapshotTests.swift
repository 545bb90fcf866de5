import Foundation
import SwiftletKeyspace
import Synchronization
import Testing

@testable import SwiftletPersistence

/// Fork-less BGSAVE: a ``KeyspaceSnapshot`` written while the keyspace changes must load back as the keyspace was
/// when the snapshot began.
struct SnapshotTests {
    static let now = RDBRoundTripTests.now

    /// Runs a snapshot to the end, calling `between` after every step, and returns the file's bytes.
    static func snapshot(
        _ ks: Keyspace,
        budget: Int = 16,
        checksum: Bool = true,
        between: (Int) -> Void = { _ in }
    ) throws -> [UInt8] {
        let file = RDBMemoryFile()
        var options = RDBWriter.Options()
        options.checksum = checksum
        let encoder = RDBSnapshotEncoder(writer: file, options: options)
        encoder.chunkSize = 512
        let snapshot = KeyspaceSnapshot(of: ks, consumer: encoder)
        encoder.databaseSizes = zip(snapshot.keysAtStart, snapshot.expiresAtStart).map { ($0, $1) }
        var steps = 0
        while !snapshot.step(budget: budget) {
            between(steps)
            steps += 1
        }
        #expect(ks.snapshot == nil)
        let result = Mutex<Result<Int, RDBError>?>(nil)
        encoder.finish { r in result.withLock { $0 = r } }
        let size = try #require(result.withLock { $0 }).get()
        #expect(size == file.bytes.count)
        return file.bytes
    }

    static func key(_ s: String, _ body: (UnsafeRawBufferPointer) -> Void) {
        Array(s.utf8).withUnsafeBytes(body)
    }

    @Test func quietSnapshotEqualsTheKeyspace() throws {
        let ks = RDBRoundTripTests.sample()
        let expected = RDBRoundTripTests.describe(ks)
        let (loaded, summary) = try RDBRoundTripTests.decode(try Self.snapshot(ks))
        #expect(summary.checksumVerified)
        #expect(RDBRoundTripTests.describe(loaded) == expected)
    }

    @Test func snapshotBytesEqualSaveBytesWhenNothingChanges() throws {
        // One database, one key per bucket walk: the snapshot writes the same records as SAVE (SAVE's RDBRecords
        // walks the same SCAN order).
        let ks = RDBRoundTripTests.sample()
        var options = RDBWriter.Options()
        options.checksum = true
        let save = try RDBWriter.write(keyspace: ks, to: ArraySink(computesChecksum: true), options: options).bytes
        let snap = try Self.snapshot(ks, budget: 1 << 20)
        #expect(save == snap)
    }

    @Test func entryHeaderDidNotGrow() {
        #expect(MemoryLayout<EntryHeader>.size <= 40)
    }

    /// Random writes of every kind between steps: overwrite, in-place list pushes, deletes, expiry changes,
    /// RENAME-like moves, new keys, SWAPDB, FLUSHDB, active-expiry deletes, rehashing growth and shrinking.
    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8])
    func writesDuringTheWalkAreInvisible(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let ks = Keyspace(databases: 4)
        for i in 0..<3000 {
            let db = ks[Int(rng.next() % 3)]
            Self.key("k\(i)") { k in
                switch rng.next() % 3 {
                case 0: Array("v\(i)".utf8).withUnsafeBytes { _ = db.setString(k, $0, now: Self.now) }
                case 1: _ = db.set(k, .list(ListValue([Array("a\(i)".utf8), Array("b".utf8)])), now: Self.now)
                default: Array("\(i)".utf8).withUnsafeBytes { _ = db.setString(k, $0, now: Self.now) }
                }
                if rng.next() % 4 == 0, let e = db.peek(k) {
                    db.setExpireTime(of: e, to: Self.now + 1_000_000 + Int64(i))
                }
            }
        }
        let expected = RDBRoundTripTests.describe(ks)
        var created = 3000
        let bytes = try Self.snapshot(ks, budget: 7) { _ in
            for _ in 0..<Int(rng.next() % 20) {
                let db = ks[Int(rng.next() % 4)]
                let name = "k\(rng.next() % UInt64(created + 500))"
                Self.key(name) { k in
                    switch rng.next() % 12 {
                    case 0, 1:
                        Array("new-\(rng.next())".utf8).withUnsafeBytes { _ = db.setString(k, $0, now: Self.now) }
                    case 2:
                        if let e = db.lookupForWrite(k, now: Self.now), case .list(let l) = e.value {
                            Array("pushed".utf8).withUnsafeBytes { l.append($0) }
                        }
                    case 3: db.delete(k)
                    case 4:
                        if let e = db.lookupForWrite(k, now: Self.now) { db.setExpireTime(of: e, to: Self.now + 5) }
                    case 5:
                        if let e = db.lookupForWrite(k, now: Self.now) { db.removeExpireTime(of: e) }
                    case 6:
                        if let (entry, at) = db.take(k) {
                            let target = ks[Int(rng.next() % 4)]
                            created += 1
                            Self.key("moved\(created)") { target.insert($0, from: entry, expireAt: at) }
                        }
                    case 7:
                        // Many new keys: the table grows and rehashes incrementally during the walk.
                        for _ in 0..<200 {
                            created += 1
                            Self.key("k\(created)") { n in
                                Array("x".utf8).withUnsafeBytes { _ = db.setString(n, $0, now: Self.now) }
                            }
                        }
                    case 8: if rng.next() % 8 == 0 { ks.swap(Int(rng.next() % 4), Int(rng.next() % 4)) }
                    case 9: if rng.next() % 30 == 0 { db.removeAll() }
                    case 10:
                        // Expiry, lazily (lookup of a key whose time passed) and by the active cycle.
                        _ = db.lookup(k, now: Self.now + 10)
                        ks.activeExpireCycle(now: Self.now + 10, budgetMicroseconds: 1000) { 0 }
                    default:
                        ks.maintain(rehashMilliseconds: 1) { 0 }
                        _ = db.set(k, .list(ListValue([Array("replaced".utf8)])), now: Self.now)
                    }
                }
            }
        }
        let (loaded, _) = try RDBRoundTripTests.decode(bytes)
        let actual = RDBRoundTripTests.describe(loaded)
        #expect(actual.count == expected.count)
        #expect(actual == expected)
    }

    @Test func keysCreatedDuringTheWalkAreSkippedAndCountsHold() throws {
        let ks = Keyspace(databases: 2)
        for i in 0..<100 {
            Self.key("a\(i)") { k in Array("1".utf8).withUnsafeBytes { _ = ks[0].setString(k, $0, now: Self.now) } }
        }
        let file = RDBMemoryFile()
        let encoder = RDBSnapshotEncoder(writer: file, options: RDBWriter.Options())
        let snapshot = KeyspaceSnapshot(of: ks, consumer: encoder)
        #expect(snapshot.keysTotal == 100)
        #expect(ks.snapshot === snapshot)
        for i in 0..<100 {
            Self.key("b\(i)") { k in Array("2".utf8).withUnsafeBytes { _ = ks[1].setString(k, $0, now: Self.now) } }
        }
        snapshot.run()
        #expect(snapshot.keysSaved == 100)
        #expect(ks.snapshot == nil)
        // A second snapshot sees all 200.
        let second = KeyspaceSnapshot(of: ks, consumer: encoder)
        second.run()
        #expect(second.keysSaved == 200)
    }

    @Test func cancelledSnapshotLeavesTheNextOneComplete() throws {
        let ks = RDBRoundTripTests.sample()
        let expected = RDBRoundTripTests.describe(ks)
        for _ in 0..<3 {
            let encoder = RDBSnapshotEncoder(writer: RDBMemoryFile(), options: RDBWriter.Options())
            let snapshot = KeyspaceSnapshot(of: ks, consumer: encoder)
            _ = snapshot.step(budget: 2)
            snapshot.cancel()
            #expect(ks.snapshot == nil)
        }
        let (loaded, _) = try RDBRoundTripTests.decode(try Self.snapshot(ks))
        #expect(RDBRoundTripTests.describe(loaded) == expected)
    }

    @Test func manySnapshotsInARow() throws {
        let ks = RDBRoundTripTests.sample()
        let expected = RDBRoundTripTests.describe(ks)
        for _ in 0..<300 {
            let snapshot = KeyspaceSnapshot(
                of: ks,
                consumer: RDBSnapshotEncoder(writer: RDBMemoryFile(), options: .init())
            )
            snapshot.run()
            #expect(snapshot.keysSaved == expected.count)
        }
    }

    @Test func backgroundFileIsWrittenAndRenamed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-snap-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("dump.rdb").path
        let ks = RDBRoundTripTests.sample()
        let file = try RDBBackgroundFile(path: path)
        let encoder = RDBSnapshotEncoder(writer: file, options: RDBWriter.Options())
        encoder.chunkSize = 100
        let snapshot = KeyspaceSnapshot(of: ks, consumer: encoder)
        encoder.databaseSizes = zip(snapshot.keysAtStart, snapshot.expiresAtStart).map { ($0, $1) }
        snapshot.run()
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<Result<Int, RDBError>?>(nil)
        encoder.finish { r in
            result.withLock { $0 = r }
            done.signal()
        }
        done.wait()
        _ = try #require(result.withLock { $0 }).get()
        #expect(!FileManager.default.fileExists(atPath: file.tempPath))
        let loaded = Keyspace()
        let summary = try RDBReader.load(path: path, into: loaded, now: Self.now)
        #expect(summary.checksumVerified)
        #expect(RDBRoundTripTests.describe(loaded) == RDBRoundTripTests.describe(ks))
    }

    @Test func abortedBackgroundFileLeavesNothing() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-abort-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("dump.rdb").path
        let file = try RDBBackgroundFile(path: path)
        file.write([1, 2, 3])
        file.abort()
        file.drain()
        #expect(!FileManager.default.fileExists(atPath: file.tempPath))
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}
