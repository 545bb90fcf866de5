import Testing

@testable import SwiftletKeyspace

struct KeyTableTests {
    func key(_ i: Int) -> [UInt8] { Array("key:\(i)".utf8) }

    @Test func insertFindRemoveAcrossResizes() {
        let ks = Keyspace(databases: 1)
        let db = ks[0]
        for i in 0..<10000 {
            key(i).withUnsafeBytes { k in _ = db.setString(k, UnsafeRawBufferPointer(start: nil, count: 0), now: 0) }
        }
        #expect(db.count == 10000)
        for i in stride(from: 0, to: 10000, by: 2) { _ = key(i).withUnsafeBytes { db.delete($0) } }
        #expect(db.count == 5000)
        for i in 0..<10000 {
            let found = key(i).withUnsafeBytes { db.lookup($0, now: 0) } != nil
            #expect(found == (i % 2 == 1))
        }
    }

    /// SCAN's guarantee: every key present for the whole scan is returned, while the table grows and shrinks
    /// between calls (which also exercises scanning in the middle of an incremental rehash).
    @Test func scanReturnsEveryStableKeyWhileResizing() {
        let table = KeyTable()
        func add(_ k: [UInt8]) {
            k.withUnsafeBytes { kb in
                if table.find(kb) == nil {
                    table.insert(Entry.make(key: kb, hash: KeyTable.hash(kb), value: .int(0), access: 0))
                }
            }
        }
        for i in 0..<500 { add(key(i)) }
        var seen = Set<[UInt8]>()
        var cursor: UInt64 = 0
        var step = 0
        repeat {
            cursor = table.scan(cursor) { seen.insert($0.keyBytes) }
            step += 1
            if step < 40 {
                for j in 0..<200 { add(key(10000 + step * 200 + j)) }
            } else if step < 80 {
                for j in 0..<200 {
                    _ = key(10000 + (step - 40) * 200 + j).withUnsafeBytes { table.remove($0, hash: KeyTable.hash($0)) }
                }
            }
        } while cursor != 0
        for i in 0..<500 { #expect(seen.contains(key(i))) }
    }

    @Test func incrementalRehashCompletes() {
        let table = KeyTable()
        for i in 0..<100_000 {
            key(i).withUnsafeBytes { kb in
                table.insert(Entry.make(key: kb, hash: KeyTable.hash(kb), value: .int(Int64(i)), access: 0))
            }
        }
        while table.rehash(steps: 1000) {}
        #expect(!table.isRehashing)
        #expect(table.count == 100_000)
        #expect(table.bucketCount >= 100_000)
    }

    @Test func randomAndSampleReturnMembers() {
        let table = KeyTable()
        for i in 0..<100 {
            key(i).withUnsafeBytes { kb in
                table.insert(Entry.make(key: kb, hash: KeyTable.hash(kb), value: .int(0), access: 0))
            }
        }
        var rng = SystemRandomNumberGenerator()
        var seen = Set<[UInt8]>()
        for _ in 0..<2000 { seen.insert(table.randomEntry(using: &rng)!.keyBytes) }
        #expect(seen.count > 90)
        #expect(table.sample(20, using: &rng).count == 20)
    }

    @Test func activeExpireRemovesExpiredKeys() {
        let ks = Keyspace(databases: 1)
        let db = ks[0]
        for i in 0..<1000 {
            key(i).withUnsafeBytes { k in
                let e = db.setString(k, UnsafeRawBufferPointer(start: nil, count: 0), now: 0)
                db.setExpireTime(of: e, to: i < 900 ? 100 : 10_000)
            }
        }
        var removed = 0
        for _ in 0..<200 { removed += ks.activeExpireCycle(now: 1000, budgetMicroseconds: 25_000) { 0 } }
        #expect(removed == 900)
        #expect(db.count == 100)
        #expect(db.expiresCount == 100)
        #expect(ks.stats.expiredKeys == 900)
    }
}

/// The snapshot's prefetch (``KeyspaceSnapshot``) reads memory without retaining it; these pin down what it assumes.
struct SnapshotTouchTests {
    @Test func rawStorageAddressIsTheArraysStorage() {
        let value = [UInt8](repeating: 7, count: 100)
        let entry = Array("k".utf8).withUnsafeBytes { k in
            Entry.make(key: k, hash: KeyTable.hash(k), value: .raw(value), access: 0)
        }
        guard case .raw(let bytes) = entry.value else {
            Issue.record("not raw")
            return
        }
        let base = bytes.withUnsafeBytes { UnsafeRawPointer($0.baseAddress!) }
        #expect(entry.rawStorageAddress + Entry.arrayHeaderBytes == base)
        #expect(entry.rawStorageAddress.load(fromByteOffset: Entry.arrayCountOffset, as: Int.self) == 100)
        // `touch` reads the entry's and the storage's first bytes; it must not change anything.
        let address = UnsafeRawPointer(Unmanaged.passUnretained(entry).toOpaque())
        _ = Entry.touch(address)
        #expect(entry.stringBytes == value)
        let empty = Array("e".utf8).withUnsafeBytes { k in
            Entry.make(key: k, hash: KeyTable.hash(k), value: .raw([]), access: 0)
        }
        _ = Entry.touch(UnsafeRawPointer(Unmanaged.passUnretained(empty).toOpaque()))
    }

    @Test func scanHeadsAreTheBucketsTheScanVisits() {
        let table = KeyTable()
        for i in 0..<1000 {
            Array("key:\(i)".utf8).withUnsafeBytes { k in
                table.insert(Entry.make(key: k, hash: KeyTable.hash(k), value: .int(Int64(i)), access: 0))
            }
        }
        while table.rehash(steps: 1000) {}
        var cursor: UInt64 = 0
        repeat {
            var heads: [UnsafeRawPointer] = []
            table.forEachScanHead(cursor, steps: 4) { heads.append($0) }
            var firsts: [UnsafeRawPointer] = []
            var steps = 0
            repeat {
                var first: UnsafeRawPointer?
                cursor = table.scan(cursor) { entry in
                    if first == nil { first = UnsafeRawPointer(Unmanaged.passUnretained(entry).toOpaque()) }
                }
                if let first { firsts.append(first) }
                steps += 1
            } while cursor != 0 && steps < 4
            #expect(heads == firsts)
        } while cursor != 0
    }
}
