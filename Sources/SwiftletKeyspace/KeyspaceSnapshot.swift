/// Receives the keys of a ``KeyspaceSnapshot``.
public protocol SnapshotConsumer: AnyObject {
    /// `entry` as it was when the snapshot began, with the database index and absolute expiry time (unix ms) it
    /// had then. Called once per key present at the start, in no particular order across databases. The entry
    /// is valid only during the call and must not be changed.
    func save(_ entry: Entry, database: Int, expireAt: Int64?)
}

/// A point-in-time view of the whole keyspace that is written out while clients keep changing it: Swiftlet's
/// BGSAVE without `fork`.
///
/// The snapshot walks every database in small steps (``step(budget:)``, run by the server between read batches)
/// and hands each key to its consumer. A write that reaches a key the walk has not visited yet first hands that
/// key over as it still is (save before write, from ``Database``'s write paths). So the consumer sees exactly the
/// keys present when the snapshot began, each once, with the values they had then:
/// - visited or not is a per-entry epoch, stored in the entry's header padding (no memory cost). Beginning a
///   snapshot increments the keyspace's epoch, which makes every entry "not visited" at once in O(1); saving an
///   entry stamps it with the snapshot's epoch; entries created while the snapshot runs are born with it, so they
///   are skipped. Unlike a comparison of bucket index and SCAN cursor, this stays right across incremental
///   rehashing, resizes in either direction, SWAPDB and FLUSHDB, and the SCAN cursor's occasional duplicates
///   are skipped for free.
/// - the walk uses each table's reverse-binary SCAN cursor, which visits every entry present for the whole walk
///   at least once even while the table grows or shrinks; an entry removed before the walk reached it was saved
///   on its way out.
/// - the snapshot keeps each database's tables as they were at the start: SWAPDB exchanges tables between
///   databases and FLUSHDB gives a database new ones (``Database/removeAll()``), and the walk goes on over the
///   originals under their original database numbers.
///
/// Single-threaded like the keyspace: steps and writes run on the keyspace's event loop.
public final class KeyspaceSnapshot {
    /// The entries this snapshot has saved (or that were created while it runs) carry this epoch.
    public let epoch: UInt16
    unowned(unsafe) let keyspace: Keyspace
    let consumer: any SnapshotConsumer
    /// Each database's key table and expiry table as they were when the snapshot began.
    private var mains: [KeyTable]
    private var expires: [KeyTable]
    /// Keys and keys with a TTL per database at the start (RESIZEDB, `current_save_keys_total`).
    public let keysAtStart: [Int]
    public let expiresAtStart: [Int]
    /// Keys handed to the consumer so far (`current_save_keys_processed`).
    public private(set) var keysSaved = 0
    private var dbIndex = 0
    private var cursor: UInt64 = 0
    private var scanning = false
    public private(set) var isComplete = false

    /// Begins a snapshot of `keyspace`; it is attached to the keyspace until it completes or is cancelled.
    /// - Precondition: no other snapshot is running.
    public init(of keyspace: Keyspace, consumer: any SnapshotConsumer) {
        precondition(keyspace.snapshot == nil, "a snapshot is already running")
        keyspace.snapshotEpoch &+= 1
        self.epoch = keyspace.snapshotEpoch
        self.keyspace = keyspace
        self.consumer = consumer
        self.mains = keyspace.databases.map(\.main)
        self.expires = keyspace.databases.map(\.expires)
        self.keysAtStart = self.mains.map(\.count)
        self.expiresAtStart = self.expires.map(\.count)
        keyspace.snapshot = self
    }

    /// Total keys at the start.
    public var keysTotal: Int { self.keysAtStart.reduce(0, +) }

    /// Walks on until about `budget` entries were examined or every database was walked.
    /// - Returns: `true` when the snapshot is complete (every key was saved); it is then detached from the keyspace.
    @discardableResult
    public func step(budget: Int) -> Bool {
        if self.isComplete { return true }
        var examined = 0
        while self.dbIndex < self.mains.count {
            let table = self.mains[self.dbIndex]
            if !self.scanning {
                if table.count == 0 {
                    self.dbIndex += 1
                    continue
                }
                self.scanning = true
                self.cursor = 0
            }
            let db = self.dbIndex
            repeat {
                self.touchAhead(table)
                var steps = 0
                repeat {
                    self.cursor = table.scan(self.cursor) { entry in
                        examined += 1
                        if entry.snapshotEpoch != self.epoch { self.save(entry, database: db) }
                    }
                    steps += 1
                } while self.cursor != 0 && steps < Self.touchSteps
            } while self.cursor != 0 && examined < budget
            if self.cursor == 0 {
                self.scanning = false
                self.dbIndex += 1
            }
            if examined >= budget { return false }
        }
        self.finish()
        return true
    }

    /// How many buckets ``touchAhead(_:)`` reaches ahead of the walk.
    static let touchSteps = 16
    /// Where the touches' loads go, so that they are not optimised away.
    private var touchSink: UInt8 = 0

    /// Loads the slots of the next ``touchSteps`` buckets, then their first entries and those entries' string
    /// storage, with plain loads that overlap, before the walk visits them. Without it a large keyspace costs one
    /// cache miss after another per key (slot, entry, string), each behind an atomic retain; with it the walk finds
    /// them in the cache. A full sync of 1M keys spent a third of its time in those misses.
    private func touchAhead(_ table: KeyTable) {
        withUnsafeTemporaryAllocation(of: UnsafeRawPointer.self, capacity: Self.touchSteps) { heads in
            var count = 0
            table.forEachScanHead(self.cursor, steps: Self.touchSteps) { head in
                heads[count] = head
                count += 1
            }
            var sink: UInt8 = 0
            for i in 0..<count { sink ^= Entry.touch(heads[i]) }
            self.touchSink ^= sink
        }
    }

    /// Walks to the end at once (SAVE-like use, tests).
    public func run() {
        while !self.step(budget: 1 << 16) {}
    }

    /// Stops the snapshot and detaches it; entries it did not visit keep their older epoch, which the next
    /// snapshot's new epoch treats as not visited as well.
    public func cancel() {
        self.finish()
    }

    private func finish() {
        self.isComplete = true
        self.mains = []
        self.expires = []
        if self.keyspace.snapshot === self { self.keyspace.snapshot = nil }
    }

    // MARK: - Save before write

    /// Saves `entry`, which lives in `table`, before a write changes or removes it (from ``Database``).
    func saveBeforeWrite(_ entry: Entry, table: KeyTable) {
        guard let db = self.mains.firstIndex(where: { $0 === table }) else {
            // A table created after the snapshot began (FLUSHDB) holds only new entries, which carry the epoch
            // already; nothing to save.
            entry.snapshotEpoch = self.epoch
            return
        }
        self.save(entry, database: db)
    }

    private func save(_ entry: Entry, database: Int) {
        entry.snapshotEpoch = self.epoch
        var expireAt: Int64?
        if entry.hasExpire {
            expireAt = entry.withKey { key in
                guard let e = self.expires[database].find(key, hash: entry.hash), case .int(let at) = e.value else {
                    return nil
                }
                return at
            }
        }
        self.keysSaved += 1
        self.consumer.save(entry, database: database, expireAt: expireAt)
    }
}
