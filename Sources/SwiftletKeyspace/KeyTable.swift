/// The hash table behind every database: a ``ChainedDict`` of ``Entry`` objects.
///
/// It gives what Swift's `Dictionary` does not and Redis's clients rely on: growth without a pause (incremental
/// rehashing, a bucket per operation and a bounded batch per server tick), SCAN's guarantee across resizes, and
/// random sampling for `RANDOMKEY`, active expiry and eviction. What is its own: entries keep the key's hash, so a
/// rehash never hashes a key twice, and the table shrinks only from the server tick, as Redis's databases do.
///
/// Not thread-safe: one event loop owns it.
public final class KeyTable {
    @exclusivity(unchecked)
    private var dict = ChainedDict<EntryLinks>()

    public init() {}

    public var count: Int { self.dict.count }

    public var isRehashing: Bool { self.dict.isRehashing }

    /// Number of buckets of both tables (for `MEMORY STATS` and tests).
    public var bucketCount: Int { self.dict.bucketCount }

    static func hash(_ key: UnsafeRawBufferPointer) -> UInt32 {
        UInt32(truncatingIfNeeded: KeyHash.hash(key))
    }

    // MARK: - Lookup

    public func find(_ key: UnsafeRawBufferPointer) -> Entry? {
        self.find(key, hash: KeyTable.hash(key))
    }

    func find(_ key: UnsafeRawBufferPointer, hash: UInt32) -> Entry? {
        self.dict.find(key, hash: Int(hash))
    }

    // MARK: - Insertion and removal

    /// Adds an entry whose key is known not to be present.
    func insert(_ entry: Entry) {
        self.dict.insert(entry, hash: Int(entry.hash))
    }

    /// Adds an entry, growing the table only if `mayGrow(bytes)` allows the bucket array the growth would allocate
    /// (or the table is more than 1.618 times full).
    func insert(_ entry: Entry, mayGrow: (Int) -> Bool) {
        let allowed = self.dict.bytesToGrowOnInsert.map(mayGrow) ?? true
        self.dict.insert(entry, hash: Int(entry.hash), mayGrow: allowed)
    }

    /// Unlinks and returns the entry for `key`.
    @discardableResult
    func remove(_ key: UnsafeRawBufferPointer, hash: UInt32) -> Entry? {
        self.dict.remove(key, hash: Int(hash))
    }

    /// Puts `new` where `old` is (same key), keeping the bucket chain intact.
    func replace(_ old: Entry, with new: Entry) {
        new.fields.pointee.next = old.fields.pointee.next
        // The caller still holds the old entry; it must not keep the rest of the chain alive.
        old.fields.pointee.next = nil
        self.dict.replace(old, with: new, hash: Int(old.hash))
    }

    /// Drops every entry.
    public func removeAll() {
        self.dict.removeAll()
    }

    // MARK: - Resizing

    /// Shrinks the table when it is less than 10% full (Redis's `htNeedsResize`); called from the server tick.
    public func shrinkIfNeeded() {
        self.dict.shrinkIfNeeded()
    }

    /// Performs up to `steps` bucket moves. Returns `true` while the rehash still has work to do.
    @discardableResult
    public func rehash(steps: Int) -> Bool {
        self.dict.rehash(steps: steps)
    }

    /// Rehashes for about `milliseconds` (Redis's `dictRehashMilliseconds`, run from the server tick).
    public func rehash(milliseconds: Int, clock: () -> Int64) {
        self.dict.rehash(milliseconds: milliseconds, clock: clock)
    }

    // MARK: - Iteration, scanning and sampling

    /// Calls `body` for every entry. The table must not be modified meanwhile (collect, then modify).
    public func visitAll(_ body: (Entry) throws -> Void) rethrows {
        try self.dict.forEachNode(body)
    }

    /// One step of a SCAN: calls `body` for the entries of the bucket(s) under `cursor` and returns the next
    /// cursor (0 when the scan is complete). `body` must not use the table.
    public func scan(_ cursor: UInt64, _ body: (Entry) -> Void) -> UInt64 {
        self.dict.scan(cursor, body)
    }

    /// Calls `body` with the address of the first entry in each bucket the next `steps` scan steps from `cursor` will
    /// visit, for prefetching: see ``ChainedDict/forEachScanHead(_:steps:_:)``.
    func forEachScanHead(_ cursor: UInt64, steps: Int, _ body: (UnsafeRawPointer) -> Void) {
        self.dict.forEachScanHead(cursor, steps: steps, body)
    }

    /// A uniformly chosen bucket's random entry (Redis's `dictGetRandomKey`), or `nil` when empty.
    public func randomEntry<G: RandomNumberGenerator>(using rng: inout G) -> Entry? {
        self.dict.randomNode(using: &rng)
    }

    /// Lends `body` up to `count` entries from a random region of the table, as ``sample(_:using:)`` picks them,
    /// without allocating an array (eviction samples on every write at the memory limit).
    public func withSample<G: RandomNumberGenerator, R>(
        _ count: Int,
        using rng: inout G,
        _ body: (UnsafeBufferPointer<Entry>) -> R
    ) -> R {
        let wanted = min(count, self.dict.count)
        if wanted <= 0 { return body(UnsafeBufferPointer(start: nil, count: 0)) }
        return withUnsafeTemporaryAllocation(of: Entry.self, capacity: wanted) { buffer in
            let stored = self.dict.sample(wanted, into: buffer, using: &rng)
            defer { _ = buffer.baseAddress!.deinitialize(count: stored) }
            return body(UnsafeBufferPointer(start: buffer.baseAddress, count: stored))
        }
    }

    /// Up to `count` entries from a random region of the table (Redis's `dictGetSomeKeys`); may hold duplicates
    /// only when the table is smaller than `count`. Cheap: walks consecutive buckets.
    public func sample<G: RandomNumberGenerator>(_ count: Int, using rng: inout G) -> [Entry] {
        let wanted = min(count, self.dict.count)
        if wanted <= 0 { return [] }
        return [Entry](unsafeUninitializedCapacity: wanted) { buffer, initialized in
            initialized = self.dict.sample(wanted, into: buffer, using: &rng)
        }
    }
}

/// How ``KeyTable`` chains entries: through the `next` field of their header, which keeps the key's hash too.
enum EntryLinks: DictLinks {
    static func next(_ entry: Entry) -> Entry? {
        entry.fields.pointee.next
    }

    static func setNext(_ entry: Entry, _ next: Entry?) {
        entry.fields.pointee.next = next
    }

    static func hash(_ entry: Entry) -> Int {
        Int(entry.hash)
    }

    static func matches(_ entry: Entry, _ key: UnsafeRawBufferPointer, hash: Int) -> Bool {
        entry.hash == UInt32(truncatingIfNeeded: hash) && entry.keyEquals(key)
    }

    static func isSame(_ a: Entry, _ b: Entry) -> Bool {
        a === b
    }

    static var growsBeforeRehashStep: Bool { true }
}
