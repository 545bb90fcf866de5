/// One of the numbered databases (`SELECT n`): the keys, and the expiry times of those that have one.
///
/// Expired keys are removed lazily, when a lookup finds them, and actively by ``Keyspace/activeExpireCycle``.
public final class Database {
    public let index: Int
    /// The keys. Swapped wholesale by `SWAPDB`.
    @exclusivity(unchecked)
    var main = KeyTable()
    /// Keys with a time to live: a copy of the key with `.int(unix time in ms)` as the value, as Redis keeps a
    /// second `expires` dict, so that sampling for active expiry only visits keys that can expire.
    @exclusivity(unchecked)
    var expires = KeyTable()
    /// Cursor of the active expire cycle's walk over `expires`.
    @exclusivity(unchecked)
    var expireCursor: UInt64 = 0
    /// Running estimate of the average TTL of keys with one, for `INFO keyspace` (`avg_ttl`).
    @exclusivity(unchecked)
    public internal(set) var averageTTL: Int64 = 0
    /// The keyspace owns its databases and outlives them, so the back reference needs no reference counting.
    unowned(unsafe) let keyspace: Keyspace

    init(index: Int, keyspace: Keyspace) {
        self.index = index
        self.keyspace = keyspace
    }

    public var count: Int { self.main.count }
    public var expiresCount: Int { self.expires.count }
    public var table: KeyTable { self.main }
    public var expiresTable: KeyTable { self.expires }

    // MARK: - Lookup

    /// Finds `key`, removing it first if its time to live has passed.
    /// - Parameter touch: updates the access clock (LRU/LFU) as a read or write by a client does.
    public func lookup(_ key: UnsafeRawBufferPointer, now: Int64, touch: Bool = true) -> Entry? {
        let hash = KeyTable.hash(key)
        guard let entry = self.main.find(key, hash: hash) else { return nil }
        if entry.hasExpire, !self.keyspace.loading, !self.keyspace.expiredKeysVisible,
            let at = self.expireTime(hash: hash, key: key), at <= now
        {
            // While expiry is paused (CLIENT PAUSE) the key is absent to readers but stays until the pause ends; on a
            // replica it stays until the master deletes it.
            if !self.keyspace.expiryPaused && !self.keyspace.keepsExpiredKeys { self.expire(key: key, hash: hash) }
            return nil
        }
        if touch { self.keyspace.touch(entry, now: now) }
        return entry
    }

    /// Finds `key` for a command that may change its value in place: as ``lookup(_:now:touch:)``, and a running
    /// snapshot first saves the entry as it is (save before write).
    public func lookupForWrite(_ key: UnsafeRawBufferPointer, now: Int64) -> Entry? {
        guard let entry = self.lookup(key, now: now) else { return nil }
        self.willModify(entry)
        return entry
    }

    /// Finds `key` without expiring or touching it (for `OBJECT`, `TYPE`-like introspection after a lookup).
    public func peek(_ key: UnsafeRawBufferPointer) -> Entry? {
        self.main.find(key)
    }

    // MARK: - Expiry

    func expireTime(hash: UInt32, key: UnsafeRawBufferPointer) -> Int64? {
        guard let e = self.expires.find(key, hash: hash), case .int(let at) = e.value else { return nil }
        return at
    }

    /// The absolute expiry time in unix milliseconds, or `nil` when the key has none.
    public func expireTime(of entry: Entry) -> Int64? {
        guard entry.hasExpire else { return nil }
        return entry.withKey { self.expireTime(hash: entry.hash, key: $0) }
    }

    /// Sets the absolute expiry time (unix ms) of an existing entry.
    public func setExpireTime(of entry: Entry, to at: Int64) {
        self.willModify(entry)
        entry.withKey { key in
            if entry.hasExpire, let e = self.expires.find(key, hash: entry.hash) {
                e.value = .int(at)
            } else {
                self.expires.insert(Entry.make(key: key, hash: entry.hash, value: .int(at), access: 0))
            }
            // A writable replica's own key with a TTL: nobody else will expire it (Redis's rememberSlaveKeyWithExpire).
            if self.keyspace.keepsExpiredKeys && !self.keyspace.expiredKeysVisible && !self.keyspace.loading {
                self.keyspace.replicaKeysWithExpire.insert(ReplicaExpiringKey(database: self.index, key: Array(key)))
            }
        }
        entry.hasExpire = true
    }

    /// Deletes `key` if its time to live has passed, as an expiry (notifications, propagation); returns whether it
    /// did. A writable replica's cron uses it for the keys its own clients gave a TTL.
    public func expireIfDue(_ key: UnsafeRawBufferPointer, now: Int64) -> Bool {
        let hash = KeyTable.hash(key)
        guard self.main.find(key, hash: hash) != nil, let at = self.expireTime(hash: hash, key: key), at <= now else {
            return false
        }
        self.expire(key: key, hash: hash)
        return true
    }

    /// Removes the time to live; returns `true` if there was one.
    @discardableResult
    public func removeExpireTime(of entry: Entry) -> Bool {
        guard entry.hasExpire else { return false }
        self.willModify(entry)
        entry.hasExpire = false
        entry.withKey { _ = self.expires.remove($0, hash: entry.hash) }
        return true
    }

    /// Deletes an expired key and tells the keyspace (statistics, notifications, propagation).
    func expire(key: UnsafeRawBufferPointer, hash: UInt32) {
        self.delete(key, hash: hash)
        self.keyspace.keyExpired(self, key: key)
    }

    // MARK: - Writing

    /// Deletes `key`; returns `true` if it existed (expired keys count as absent but are removed too).
    @discardableResult
    public func delete(_ key: UnsafeRawBufferPointer) -> Bool {
        self.delete(key, hash: KeyTable.hash(key))
    }

    @discardableResult
    func delete(_ key: UnsafeRawBufferPointer, hash: UInt32) -> Bool {
        guard let entry = self.main.remove(key, hash: hash) else { return false }
        // Before the expiry time is dropped: a snapshot saves the key with it.
        self.willModify(entry)
        if entry.hasExpire { self.expires.remove(key, hash: hash) }
        return true
    }

    /// Deletes an entry found in this database (an eviction's victim), by its stored hash.
    public func evict(_ entry: Entry) {
        _ = entry.withKey { self.delete($0, hash: entry.hash) }
    }

    /// Removes and returns the entry for `key` (with its expiry time), for RENAME and MOVE.
    public func take(_ key: UnsafeRawBufferPointer) -> (entry: Entry, expireAt: Int64?)? {
        let hash = KeyTable.hash(key)
        guard let entry = self.main.remove(key, hash: hash) else { return nil }
        // Before the expiry time is dropped: a snapshot saves the key with it.
        self.willModify(entry)
        var at: Int64?
        if entry.hasExpire, let e = self.expires.remove(key, hash: hash), case .int(let t) = e.value { at = t }
        entry.hasExpire = false
        return (entry, at)
    }

    /// Stores a string value under `key`, replacing any value. Without `keepTTL` a previous TTL is removed.
    /// The encoding follows Redis: `int` when the bytes are an integer, `embstr` up to 44 bytes, else `raw`.
    @discardableResult
    public func setString(
        _ key: UnsafeRawBufferPointer,
        _ bytes: UnsafeRawBufferPointer,
        keepTTL: Bool = false,
        encodeIntegers: Bool = true,
        now: Int64
    ) -> Entry {
        if encodeIntegers, bytes.count <= 20, let v = NumberFormat.parseInt64(bytes) {
            return self.set(key, .int(v), keepTTL: keepTTL, now: now)
        }
        if bytes.count > Entry.embeddedStringLimit {
            return self.set(key, .raw(Array(bytes)), keepTTL: keepTTL, now: now)
        }
        let hash = KeyTable.hash(key)
        if let existing = self.main.find(key, hash: hash) {
            self.willModify(existing)
            if !keepTTL { self.removeExpireTime(of: existing) }
            if existing.embedInPlace(bytes) {
                self.keyspace.touchNew(existing, now: now)
                return existing
            }
            let entry = Entry.make(
                key: key,
                hash: hash,
                value: .embedded,
                embedding: bytes,
                access: self.keyspace.overwriteAccess(existing, now: now)
            )
            entry.hasExpire = existing.hasExpire
            entry.snapshotEpoch = self.keyspace.snapshotEpoch
            self.main.replace(existing, with: entry)
            return entry
        }
        let entry = Entry.make(
            key: key,
            hash: hash,
            value: .embedded,
            embedding: bytes,
            access: self.keyspace.initialAccess(now: now)
        )
        self.insertNew(entry)
        if let onAdded = self.keyspace.onAdded { onAdded(self, key) }
        return entry
    }

    /// Stores `value` under `key`, replacing any value (not embedded strings: use ``setString``).
    @discardableResult
    public func set(_ key: UnsafeRawBufferPointer, _ value: Value, keepTTL: Bool = false, now: Int64) -> Entry {
        let hash = KeyTable.hash(key)
        if let existing = self.main.find(key, hash: hash) {
            self.willModify(existing)
            if !keepTTL { self.removeExpireTime(of: existing) }
            existing.value = value
            self.keyspace.touchNew(existing, now: now)
            return existing
        }
        let entry = Entry.make(key: key, hash: hash, value: value, access: self.keyspace.initialAccess(now: now))
        self.insertNew(entry)
        if let onAdded = self.keyspace.onAdded { onAdded(self, key) }
        return entry
    }

    /// Inserts an entry taken from another key or database under `key` (which must be absent), with its TTL.
    /// The value is shared, not copied: for RENAME and MOVE, where the source is gone afterwards. COPY passes
    /// `deepCopy: true`.
    public func insert(
        _ key: UnsafeRawBufferPointer,
        from entry: Entry,
        expireAt: Int64?,
        deepCopy: Bool = false,
        now: Int64 = 0
    ) {
        let hash = KeyTable.hash(key)
        let copy: Entry
        // RENAME and MOVE keep the access statistic; COPY makes a new object, which starts afresh.
        let access = deepCopy ? self.keyspace.initialAccess(now: now) : entry.access
        if case .embedded = entry.value {
            copy = entry.withStringBytes { bytes in
                Entry.make(key: key, hash: hash, value: .embedded, embedding: bytes, access: access)
            }!  // an embedded value is a string
        } else {
            copy = Entry.make(
                key: key,
                hash: hash,
                value: deepCopy ? entry.value.deepCopy() : entry.value,
                access: access
            )
        }
        self.insertNew(copy)
        if let onAdded = self.keyspace.onAdded { onAdded(self, key) }
        if let expireAt { self.setExpireTime(of: copy, to: expireAt) }
    }

    /// Drops every key.
    public func removeAll() {
        if self.keyspace.snapshot != nil {
            // A running snapshot still walks the old tables (it saves what was there when it began): give this
            // database new ones instead of emptying those.
            self.main = KeyTable()
            self.expires = KeyTable()
        } else {
            self.main.removeAll()
            self.expires.removeAll()
        }
        self.expireCursor = 0
        self.averageTTL = 0
    }

    func swapContents(with other: Database) {
        swap(&self.main, &other.main)
        swap(&self.expires, &other.expires)
        swap(&self.expireCursor, &other.expireCursor)
        swap(&self.averageTTL, &other.averageTTL)
    }

    // MARK: - Snapshots (save before write)

    /// A new entry belongs to the current snapshot epoch, so that a running snapshot never saves it.
    @inline(__always)
    private func insertNew(_ entry: Entry) {
        entry.snapshotEpoch = self.keyspace.snapshotEpoch
        if let mayGrow = self.keyspace.mayGrowTable {
            self.main.insert(entry, mayGrow: mayGrow)
        } else {
            self.main.insert(entry)
        }
    }

    /// Called before `entry` changes in place (value, expiry time) or leaves the table: a running snapshot that has
    /// not saved it yet saves it now. Without a snapshot this is one load and one well-predicted branch.
    /// Public for the rare command that changes a value it looked up for reading (PFCOUNT's cached cardinality).
    @inline(__always)
    public func willModify(_ entry: Entry) {
        if let snapshot = self.keyspace.snapshot, entry.snapshotEpoch != snapshot.epoch {
            snapshot.saveBeforeWrite(entry, table: self.main)
        }
    }

    // MARK: - Active expiry

    /// One pass of Redis's active expire algorithm over this database: sample keys with a TTL (20 per loop),
    /// delete the expired ones, and go on while more than 10% of a sample was expired and time is left.
    /// - Returns: the number of keys removed.
    func activeExpire(now: Int64, deadline: Int64, clock: () -> Int64) -> Int {
        let perLoop = 20
        var removed = 0
        var iterations = 0
        var ttlSum: Int64 = 0
        var ttlSamples: Int64 = 0
        while self.expires.count > 0 {
            var sampled = 0
            var expired = 0
            var checkedBuckets = 0
            var victims: [[UInt8]] = []
            // Walk buckets from the saved cursor, as Redis 7 does, so that every key is visited over time.
            repeat {
                self.expireCursor = self.expires.scan(self.expireCursor) { e in
                    sampled += 1
                    guard case .int(let at) = e.value else { return }
                    if at <= now {
                        victims.append(e.keyBytes)
                    } else {
                        ttlSum += at - now
                        ttlSamples += 1
                    }
                }
                checkedBuckets += 1
            } while self.expireCursor != 0 && sampled < perLoop && checkedBuckets < perLoop * 2
            for key in victims {
                key.withUnsafeBytes { k in
                    if self.main.find(k) != nil {
                        self.expire(key: k, hash: KeyTable.hash(k))
                        expired += 1
                    }
                }
            }
            removed += expired
            iterations += 1
            if iterations & 15 == 0, clock() >= deadline { break }
            if sampled == 0 || expired * 100 / sampled <= 10 { break }
        }
        if ttlSamples > 0 {
            let avg = ttlSum / ttlSamples
            // Same smoothing as Redis: the new estimate weighs 2% of the sample.
            self.averageTTL = self.averageTTL == 0 ? avg : (self.averageTTL / 50) * 49 + (avg / 50)
        }
        return removed
    }
}
