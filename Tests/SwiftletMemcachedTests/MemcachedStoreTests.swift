import SwiftletMemcachedStore
import Testing

/// The slab store without a socket: classes, allocation, the LRU, eviction, expiry, CAS, the mover.
@Suite struct MemcachedStoreTests {
    func set(
        _ store: MemcachedStore,
        _ key: String,
        _ value: [UInt8],
        flags: UInt32 = 0,
        expiry: UInt32 = 0
    )
        -> MemcachedStore.StoreOutcome?
    {
        let keyBytes = Array(key.utf8)
        let allocation = keyBytes.withUnsafeBytes {
            store.allocate(key: $0, clientFlags: flags, expiry: expiry, valueLength: value.count)
        }
        guard case .success(let item) = allocation else { return nil }
        value.withUnsafeBytes { item.writeValue($0, at: 0) }
        let (outcome, _) = store.store(item, mode: .set)
        if !item.flags.contains(.linked) { store.discard(item) }
        return outcome
    }

    func get(_ store: MemcachedStore, _ key: String) -> [UInt8]? {
        Array(key.utf8).withUnsafeBytes { store.find($0, bump: true) }?.valueBytes
    }

    @Test func classSizesAreMemcachedsDefaults() {
        // `memcached -vv -m 64` (1.6.18): 39 classes, 96 ... 394840, then 524288.
        let store = MemcachedStore()
        let slabs = store.slabs
        #expect(slabs.largestClass == 39)
        #expect(slabs.chunkSize(ofClass: 1) == 96 && slabs.chunksPerPage(ofClass: 1) == 10922)
        #expect(slabs.chunkSize(ofClass: 2) == 120 && slabs.chunkSize(ofClass: 3) == 152)
        #expect(slabs.chunkSize(ofClass: 12) == 1184 && slabs.chunksPerPage(ofClass: 12) == 885)
        #expect(slabs.chunkSize(ofClass: 38) == 394840 && slabs.chunksPerPage(ofClass: 38) == 2)
        #expect(slabs.chunkSize(ofClass: 39) == 524288 && slabs.chunksPerPage(ofClass: 39) == 2)
    }

    @Test func classSizesFollowFactorAndMinimum() {
        // `memcached -vv -f 2 -n 100 -I 4m`: 152, 304, ... 155648, then 524288.
        var settings = MemcachedStoreSettings()
        settings.growthFactor = 2
        settings.minimumChunk = 100
        settings.itemSizeMax = 4 * 1024 * 1024
        let slabs = MemcachedStore(settings: settings).slabs
        #expect(slabs.largestClass == 12)
        #expect(slabs.chunkSize(ofClass: 1) == 152 && slabs.chunkSize(ofClass: 11) == 155648)
        #expect(slabs.chunkSize(ofClass: 12) == 524288)
    }

    @Test func storesAndFindsSmallAndChunkedValues() {
        var settings = MemcachedStoreSettings()
        settings.itemSizeMax = 2 * 1024 * 1024
        let store = MemcachedStore(settings: settings)
        #expect(self.set(store, "a", Array("hello".utf8), flags: 7) == .stored)
        #expect(self.get(store, "a") == Array("hello".utf8))
        let big = (0..<1_500_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        #expect(self.set(store, "big", big) == .stored)
        #expect(self.get(store, "big") == big)
        // The bytes counted are memcached's: 48 + key + 1 + flags(4 if set) + value + 2 + cas 8.
        #expect(store.itemBytes == (48 + 1 + 1 + 4 + 5 + 2 + 8) + (48 + 3 + 1 + 1_500_000 + 2 + 8))
        #expect(store.itemCount == 2)
    }

    @Test func refusesItemsLargerThanTheLimit() {
        let store = MemcachedStore()
        let key = Array("k".utf8)
        // 1 MB: 48 + 1 + 1 + value + 2 + 8 must not pass 1048576.
        let fits = 1_048_576 - (48 + 1 + 1 + 2 + 8)
        let ok = key.withUnsafeBytes { store.allocate(key: $0, clientFlags: 0, expiry: 0, valueLength: fits) }
        guard case .success(let item) = ok else {
            Issue.record("the largest item was refused")
            return
        }
        store.discard(item)
        let tooLarge = key.withUnsafeBytes { store.allocate(key: $0, clientFlags: 0, expiry: 0, valueLength: fits + 1) }
        guard case .failure(.tooLarge) = tooLarge else {
            Issue.record("an item over -I was accepted")
            return
        }
    }

    @Test func evictsFromTheTailWhenMemoryIsFull() {
        var settings = MemcachedStoreSettings()
        settings.memoryLimit = 2 * 1024 * 1024
        let store = MemcachedStore(settings: settings)
        let value = [UInt8](repeating: 0x61, count: 1000)
        for i in 0..<5000 { _ = self.set(store, "key\(i)", value) }
        #expect(store.classStats.reduce(0) { $0 + $1.evicted } > 0)
        #expect(self.get(store, "key4999") == value)
        #expect(self.get(store, "key0") == nil)
        #expect(store.slabs.mallocated <= 3 * 1024 * 1024)
    }

    @Test func refusesInsteadOfEvictingWithDashM() {
        var settings = MemcachedStoreSettings()
        settings.memoryLimit = 2 * 1024 * 1024
        settings.evictToFree = false
        let store = MemcachedStore(settings: settings)
        let value = [UInt8](repeating: 0x61, count: 1000)
        var refused = 0
        for i in 0..<5000 where self.set(store, "key\(i)", value) == nil { refused += 1 }
        #expect(refused > 0)
        #expect(self.get(store, "key0") == value)
        #expect(store.classStats.reduce(0) { $0 + $1.evicted } == 0)
        #expect(store.classStats.reduce(0) { $0 + $1.outOfMemory } == refused)
    }

    @Test func expiresLazilyAndByTheCrawler() {
        let store = MemcachedStore()
        store.now = 100
        #expect(self.set(store, "soon", [1], expiry: 105) == .stored)
        #expect(self.set(store, "later", [2], expiry: 105) == .stored)
        #expect(self.set(store, "never", [3]) == .stored)
        store.now = 105
        #expect(self.get(store, "soon") == nil)
        #expect(store.stats.getExpired == 1)
        store.now = 106
        store.crawl(classes: Array(store.slabs.classIDs))
        #expect(store.itemCount == 1)
        #expect(store.classStats[1].crawlerReclaimed == 1)
    }

    @Test func casAppendAndDelta() {
        let store = MemcachedStore()
        #expect(self.set(store, "n", Array("10".utf8)) == .stored)
        let key = Array("n".utf8)
        guard case .value(let nine, let item) = key.withUnsafeBytes({ store.delta($0, increment: false, by: 1) })
        else {
            Issue.record("decr failed")
            return
        }
        #expect(nine == 9)
        // In place, padded with a space, as memcached stores it.
        #expect(item.valueBytes == Array("9 ".utf8))
        guard case .value(let big, _) = key.withUnsafeBytes({ store.delta($0, increment: true, by: 991) }) else {
            Issue.record("incr failed")
            return
        }
        #expect(big == 1000 && self.get(store, "n") == Array("1000".utf8))
        let max = UInt64.max
        #expect(self.set(store, "w", Array(String(max).utf8)) == .stored)
        guard case .value(let wrapped, _) = Array("w".utf8).withUnsafeBytes({ store.delta($0, increment: true, by: 1) })
        else {
            Issue.record("incr failed")
            return
        }
        #expect(wrapped == 0)
        let current = key.withUnsafeBytes { store.find($0, bump: false) }!.cas
        let allocation = key.withUnsafeBytes { store.allocate(key: $0, clientFlags: 0, expiry: 0, valueLength: 1) }
        guard case .success(let fresh) = allocation else { return }
        #expect(store.store(fresh, mode: .cas, compare: current + 100).0 == .exists)
        #expect(store.store(fresh, mode: .cas, compare: current).0 == .stored)
    }

    @Test func reassignMovesAPageAndKeepsTheItems() {
        let store = MemcachedStore()
        let value = [UInt8](repeating: 0x62, count: 30)
        // Class 1 holds 10922 items a page: three pages' worth, then delete most of them.
        for i in 0..<25_000 { _ = self.set(store, "k\(i)", value) }
        #expect(store.slabs.pageCount(ofClass: 1) == 3)
        for i in 0..<24_000 {
            _ = Array("k\(i)".utf8).withUnsafeBytes { store.find($0, bump: false).map(store.unlink) }
        }
        #expect(store.reassign(from: 1, to: 5) == .ok)
        #expect(store.slabs.pageCount(ofClass: 1) == 2)
        #expect(store.slabs.pageCount(ofClass: 5) == 1)
        for i in 24_000..<25_000 { #expect(self.get(store, "k\(i)") == value) }
        #expect(store.itemCount == 1000)
        #expect(store.reassign(from: 3, to: 3) == .same)
        #expect(store.reassign(from: 2, to: 5) == .noSpare)
        #expect(store.reassign(from: 1, to: 99) == .badClass)
    }

    @Test func flushHidesEverythingStoredBefore() {
        let store = MemcachedStore()
        store.now = 100
        _ = self.set(store, "a", [1])
        store.flush(oldestLive: store.now)
        #expect(self.get(store, "a") == nil)
        _ = self.set(store, "b", [2])
        #expect(self.get(store, "b") == [2])
    }
}
