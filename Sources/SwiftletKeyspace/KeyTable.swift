/// The hash table behind every database: chained buckets, power-of-two sizes, incremental rehashing.
///
/// It gives what Swift's `Dictionary` does not and Redis's clients rely on:
/// - growth without a pause: a resize allocates the new bucket array and then moves one bucket per operation
///   (and a bounded batch per server tick), as Redis's `dict` does, so even 10M keys never stall the loop;
/// - SCAN's guarantee: the reverse-binary cursor of Redis's `dictScan` returns every key present for the whole
///   scan at least once, across any number of resizes in between;
/// - random sampling for `RANDOMKEY`, active expiry and eviction.
///
/// Not thread-safe: one event loop owns it.
public final class KeyTable {
    @exclusivity(unchecked)
    private var tables: (Buckets, Buckets)
    /// Bucket index of table 0 that the rehash will move next; -1 when no rehash is in progress.
    @exclusivity(unchecked)
    private var rehashIndex = -1
    @exclusivity(unchecked)
    public private(set) var count = 0
    /// Set while a scan callback runs, so that the callback may not trigger a rehash step.
    @exclusivity(unchecked)
    private var rehashPaused = 0

    /// Redis's `dict_force_resize_ratio`: grow even when resizing is discouraged once the load passes this.
    static let forceResizeRatio = 5
    static let initialSize = 4

    public init() {
        self.tables = (Buckets(size: 0), Buckets(size: 0))
    }

    deinit {
        self.tables.0.release()
        self.tables.1.release()
    }

    public var isRehashing: Bool { self.rehashIndex >= 0 }

    /// Number of buckets of both tables (for `MEMORY STATS` and tests).
    public var bucketCount: Int { self.tables.0.size + self.tables.1.size }

    static func hash(_ key: UnsafeRawBufferPointer) -> UInt32 {
        UInt32(truncatingIfNeeded: KeyHash.hash(key))
    }

    // MARK: - Lookup

    public func find(_ key: UnsafeRawBufferPointer) -> Entry? {
        self.find(key, hash: KeyTable.hash(key))
    }

    func find(_ key: UnsafeRawBufferPointer, hash: UInt32) -> Entry? {
        if self.count == 0 { return nil }
        if self.rehashIndex >= 0 { self.rehashStep() }
        var entry = self.tables.0.head(hash)
        while let e = entry {
            if e.hash == hash && e.keyEquals(key) { return e }
            entry = e.fields.pointee.next
        }
        guard self.rehashIndex >= 0 else { return nil }
        entry = self.tables.1.head(hash)
        while let e = entry {
            if e.hash == hash && e.keyEquals(key) { return e }
            entry = e.fields.pointee.next
        }
        return nil
    }

    // MARK: - Insertion and removal

    /// Adds an entry whose key is known not to be present.
    func insert(_ entry: Entry) {
        self.expandIfNeeded()
        if self.rehashIndex >= 0 { self.rehashStep() }
        // During a rehash new entries go to the new table, so table 0 only shrinks.
        if self.rehashIndex >= 0 {
            self.tables.1.push(entry)
        } else {
            self.tables.0.push(entry)
        }
        self.count += 1
    }

    /// Unlinks and returns the entry for `key`.
    @discardableResult
    func remove(_ key: UnsafeRawBufferPointer, hash: UInt32) -> Entry? {
        if self.count == 0 { return nil }
        if self.rehashIndex >= 0 { self.rehashStep() }
        if let e = self.tables.0.unlink(key, hash: hash) {
            self.count -= 1
            return e
        }
        if self.rehashIndex >= 0, let e = self.tables.1.unlink(key, hash: hash) {
            self.count -= 1
            return e
        }
        return nil
    }

    /// Puts `new` where `old` is (same key), keeping the bucket chain intact.
    func replace(_ old: Entry, with new: Entry) {
        if !self.tables.0.swap(old, new) {
            let swapped = self.tables.1.swap(old, new)
            precondition(swapped, "replace of an entry that is not in the table")
        }
    }

    /// Drops every entry; the old buckets are returned so that a caller may free them elsewhere (FLUSHALL ASYNC).
    public func removeAll() {
        self.tables.0.release()
        self.tables.1.release()
        self.tables = (Buckets(size: 0), Buckets(size: 0))
        self.rehashIndex = -1
        self.count = 0
    }

    // MARK: - Resizing

    private func expandIfNeeded() {
        if self.rehashIndex >= 0 { return }
        if self.tables.0.size == 0 {
            self.startResize(to: KeyTable.initialSize)
            return
        }
        if self.count >= self.tables.0.size {
            self.startResize(to: self.count + 1)
        }
    }

    /// Shrinks the table when it is less than 10% full (Redis's `htNeedsResize`); called from the server tick.
    public func shrinkIfNeeded() {
        let size = self.tables.0.size
        if self.rehashIndex >= 0 || size <= KeyTable.initialSize { return }
        if self.count * 100 / size < 10 {
            self.startResize(to: max(self.count, KeyTable.initialSize))
        }
    }

    private func startResize(to minimum: Int) {
        var size = KeyTable.initialSize
        while size < minimum { size <<= 1 }
        if size == self.tables.0.size { return }
        if self.tables.0.size == 0 {
            self.tables.0.release()
            self.tables.0 = Buckets(size: size)
            return
        }
        self.tables.1 = Buckets(size: size)
        self.rehashIndex = 0
    }

    /// Moves one non-empty bucket (visiting at most 10 empty ones) from the old table to the new.
    func rehashStep() {
        if self.rehashPaused == 0 { _ = self.rehash(steps: 1) }
    }

    /// Performs up to `steps` bucket moves. Returns `true` while the rehash still has work to do.
    @discardableResult
    public func rehash(steps: Int) -> Bool {
        guard self.rehashIndex >= 0 else { return false }
        var emptyVisits = steps * 10
        var remaining = steps
        while remaining > 0 && self.tables.0.used > 0 {
            while self.tables.0.slots[self.rehashIndex] == nil {
                self.rehashIndex += 1
                emptyVisits -= 1
                if emptyVisits == 0 { return true }
            }
            var entry = self.tables.0.slots[self.rehashIndex]
            self.tables.0.slots[self.rehashIndex] = nil
            while let e = entry {
                entry = e.fields.pointee.next
                self.tables.0.used -= 1
                self.tables.1.push(e)
            }
            self.rehashIndex += 1
            remaining -= 1
        }
        if self.tables.0.used == 0 {
            self.tables.0.release()
            self.tables.0 = self.tables.1
            self.tables.1 = Buckets(size: 0)
            self.rehashIndex = -1
            return false
        }
        return true
    }

    /// Rehashes for about `milliseconds` (Redis's `dictRehashMilliseconds`, run from the server tick).
    public func rehash(milliseconds: Int, clock: () -> Int64) {
        guard self.rehashIndex >= 0, self.rehashPaused == 0 else { return }
        let start = clock()
        while self.rehash(steps: 100) {
            if clock() - start > Int64(milliseconds) { break }
        }
    }

    // MARK: - Iteration, scanning and sampling

    /// Calls `body` for every entry. The table must not be modified meanwhile (collect, then modify).
    public func visitAll(_ body: (Entry) throws -> Void) rethrows {
        for t in 0..<2 {
            let table = t == 0 ? self.tables.0 : self.tables.1
            for i in 0..<table.size {
                var entry = table.slots[i]
                while let e = entry {
                    entry = e.fields.pointee.next
                    try body(e)
                }
            }
        }
    }

    /// One step of a SCAN: calls `body` for the entries of the bucket(s) under `cursor` and returns the next
    /// cursor (0 when the scan is complete). The reverse-binary increment makes the cursor valid across resizes.
    public func scan(_ cursor: UInt64, _ body: (Entry) -> Void) -> UInt64 {
        if self.count == 0 { return 0 }
        self.rehashPaused += 1
        defer { self.rehashPaused -= 1 }
        var v = cursor
        func emit(_ table: Buckets, _ index: Int) {
            var entry = table.slots[index]
            while let e = entry {
                entry = e.fields.pointee.next
                body(e)
            }
        }
        if self.rehashIndex < 0 {
            let mask = UInt64(self.tables.0.size - 1)
            emit(self.tables.0, Int(v & mask))
            v |= ~mask
            v = KeyTable.reverseIncrement(v)
        } else {
            var small = self.tables.0
            var large = self.tables.1
            if small.size > large.size { swap(&small, &large) }
            let m0 = UInt64(small.size - 1)
            let m1 = UInt64(large.size - 1)
            emit(small, Int(v & m0))
            // Every bucket of the larger table that expands from the small table's bucket.
            repeat {
                emit(large, Int(v & m1))
                v |= ~m1
                v = KeyTable.reverseIncrement(v)
            } while v & (m0 ^ m1) != 0
        }
        return v
    }

    private static func reverseIncrement(_ v: UInt64) -> UInt64 {
        var r = v.bitSwapped
        r &+= 1
        return r.bitSwapped
    }

    /// A uniformly chosen bucket's random entry (Redis's `dictGetRandomKey`), or `nil` when empty.
    public func randomEntry<G: RandomNumberGenerator>(using rng: inout G) -> Entry? {
        if self.count == 0 { return nil }
        if self.rehashIndex >= 0 { self.rehashStep() }
        var head: Entry?
        if self.rehashIndex >= 0 {
            // Buckets of table 0 below rehashIndex are empty.
            let s0 = self.tables.0.size
            let total = s0 + self.tables.1.size
            repeat {
                let i = self.rehashIndex + Int.random(in: 0..<(total - self.rehashIndex), using: &rng)
                head = i >= s0 ? self.tables.1.slots[i - s0] : self.tables.0.slots[i]
            } while head == nil
        } else {
            let mask = self.tables.0.size - 1
            repeat {
                head = self.tables.0.slots[Int.random(in: 0...mask, using: &rng)]
            } while head == nil
        }
        var length = 0
        var e = head
        while let x = e {
            length += 1
            e = x.fields.pointee.next
        }
        var pick = Int.random(in: 0..<length, using: &rng)
        e = head
        while pick > 0 {
            e = e!.fields.pointee.next  // pick < chain length
            pick -= 1
        }
        return e
    }

    /// Up to `count` entries from a random region of the table (Redis's `dictGetSomeKeys`); may hold duplicates
    /// only when the table is smaller than `count`. Cheap: walks consecutive buckets.
    public func sample<G: RandomNumberGenerator>(_ count: Int, using rng: inout G) -> [Entry] {
        var result: [Entry] = []
        if self.count == 0 { return result }
        let wanted = min(count, self.count)
        result.reserveCapacity(wanted)
        let tablesInUse = self.rehashIndex >= 0 ? 2 : 1
        var maxMask = self.tables.0.size - 1
        if tablesInUse == 2 { maxMask = max(maxMask, self.tables.1.size - 1) }
        var i = Int.random(in: 0...maxMask, using: &rng)
        var emptyRun = 0
        var steps = wanted * 10
        while result.count < wanted && steps > 0 {
            steps -= 1
            for t in 0..<tablesInUse {
                let table = t == 0 ? self.tables.0 : self.tables.1
                if t == 0 && self.rehashIndex >= 0 && i < self.rehashIndex {
                    continue
                }
                if i >= table.size { continue }
                var e = table.slots[i]
                if e == nil {
                    emptyRun += 1
                    if emptyRun >= 5 && emptyRun > wanted {
                        i = Int.random(in: 0...maxMask, using: &rng)
                        emptyRun = 0
                    }
                } else {
                    emptyRun = 0
                    while let x = e, result.count < wanted {
                        result.append(x)
                        e = x.fields.pointee.next
                    }
                }
            }
            i = (i + 1) & maxMask
        }
        return result
    }
}

/// A bucket array: a manually managed block of `Entry?` slots, so that indexing costs no bounds or
/// uniqueness checks on the hot path.
struct Buckets {
    let slots: UnsafeMutablePointer<Entry?>
    let size: Int
    var used = 0

    init(size: Int) {
        self.size = size
        self.slots = UnsafeMutablePointer<Entry?>.allocate(capacity: max(size, 1))
        self.slots.initialize(repeating: nil, count: max(size, 1))
    }

    /// Frees the slots and releases the chains they hold.
    func release() {
        self.slots.deinitialize(count: max(self.size, 1))
        self.slots.deallocate()
    }

    @inline(__always)
    func head(_ hash: UInt32) -> Entry? {
        self.size == 0 ? nil : self.slots[Int(hash) & (self.size - 1)]
    }

    mutating func push(_ entry: Entry) {
        let i = Int(entry.hash) & (self.size - 1)
        entry.fields.pointee.next = self.slots[i]
        self.slots[i] = entry
        self.used += 1
    }

    mutating func unlink(_ key: UnsafeRawBufferPointer, hash: UInt32) -> Entry? {
        if self.size == 0 { return nil }
        let i = Int(hash) & (self.size - 1)
        var previous: Entry?
        var entry = self.slots[i]
        while let e = entry {
            if e.hash == hash && e.keyEquals(key) {
                if let previous {
                    previous.fields.pointee.next = e.fields.pointee.next
                } else {
                    self.slots[i] = e.fields.pointee.next
                }
                e.fields.pointee.next = nil
                self.used -= 1
                return e
            }
            previous = e
            entry = e.fields.pointee.next
        }
        return nil
    }

    func swap(_ old: Entry, _ new: Entry) -> Bool {
        if self.size == 0 { return false }
        let i = Int(old.hash) & (self.size - 1)
        var previous: Entry?
        var entry = self.slots[i]
        while let e = entry {
            if e === old {
                new.fields.pointee.next = old.fields.pointee.next
                old.fields.pointee.next = nil
                if let previous {
                    previous.fields.pointee.next = new
                } else {
                    self.slots[i] = new
                }
                return true
            }
            previous = e
            entry = e.fields.pointee.next
        }
        return false
    }
}

extension UInt64 {
    var bitSwapped: UInt64 {
        var v = self
        v = ((v >> 1) & 0x5555_5555_5555_5555) | ((v & 0x5555_5555_5555_5555) << 1)
        v = ((v >> 2) & 0x3333_3333_3333_3333) | ((v & 0x3333_3333_3333_3333) << 2)
        v = ((v >> 4) & 0x0F0F_0F0F_0F0F_0F0F) | ((v & 0x0F0F_0F0F_0F0F_0F0F) << 4)
        return v.byteSwapped
    }
}
