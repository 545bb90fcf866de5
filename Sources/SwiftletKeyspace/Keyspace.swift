/// Which access statistic entries keep: the LRU clock or the LFU counter (chosen by `maxmemory-policy`).
public enum AccessPolicy: Sendable {
    case lru
    case lfu(logFactor: Int, decayMinutes: Int)
}

/// Counters the keyspace keeps for `INFO stats`.
public struct KeyspaceStats: Sendable {
    public var expiredKeys = 0
    public var expiredStalePercent = 0.0
    public var expiredTimeCapReached = 0
    public var keyspaceHits = 0
    public var keyspaceMisses = 0

    public init() {}
}

/// All databases of a server. Single-threaded by contract: one event loop owns it; it does no I/O and reads
/// no clock of its own (every operation is given `now`, in unix milliseconds).
public final class Keyspace {
    @exclusivity(unchecked)
    public private(set) var databases: [Database] = []
    @exclusivity(unchecked)
    public var stats = KeyspaceStats()
    @exclusivity(unchecked)
    public var accessPolicy: AccessPolicy = .lru
    /// While an AOF is replayed keys do not expire on access, as in Redis: the log was written while they were
    /// alive, and their deletion is in the log if it happened.
    @exclusivity(unchecked)
    public var loading = false
    /// Expired keys are not deleted while this is set (a CLIENT PAUSE is in force, as Redis's `expireIfNeeded` and
    /// active expiry skip them then); lookups still treat them as absent.
    @exclusivity(unchecked)
    public var expiryPaused = false
    /// A replica: expired keys are never deleted here (the master's DEL removes them), and lookups treat them as
    /// absent, as Redis's `expireIfNeeded` on a replica.
    @exclusivity(unchecked)
    public var keepsExpiredKeys = false
    /// Set while the replica runs a command from its master: expired keys are still there for it, so that the
    /// master's stream applies exactly as the master ran it.
    @exclusivity(unchecked)
    public var expiredKeysVisible = false
    /// On a writable replica, the keys its own clients gave a time to live: the replica's cron deletes them once
    /// expired (Redis's slaveKeysWithExpire; INFO's `slave_expires_tracked_keys`).
    @exclusivity(unchecked)
    public var replicaKeysWithExpire = Set<ReplicaExpiringKey>()
    /// Called after a key was removed because its time to live passed (notifications, AOF, WATCH).
    @exclusivity(unchecked)
    public var onExpired: ((Database, UnsafeRawBufferPointer) -> Void)?
    /// Called after a key was added to a database (the "new" keyspace event); nil unless someone listens.
    @exclusivity(unchecked)
    public var onAdded: ((Database, UnsafeRawBufferPointer) -> Void)?
    /// The random source for RANDOMKEY and the seeds of per-command generators.
    @exclusivity(unchecked)
    public var rng = SystemRandomNumberGenerator()
    /// The random source of what runs on every request at the memory limit or under an LFU policy: eviction's
    /// sampling and the LFU counter's coin. The system generator is a `getrandom` system call per number.
    @exclusivity(unchecked)
    var fastRNG: SplitMix64
    /// The snapshot (BGSAVE) in progress, if any; see ``KeyspaceSnapshot``.
    @exclusivity(unchecked)
    public internal(set) var snapshot: KeyspaceSnapshot?
    /// The epoch of the latest snapshot; new entries carry it, so that a running snapshot skips them.
    @exclusivity(unchecked)
    var snapshotEpoch: UInt16 = 0
    /// Asked before a database's table grows, with the bytes its new bucket array takes: a memory limit refuses a
    /// growth that would put used memory over it (Redis's `dictExpandAllowed`), unless the table is more than 1.618
    /// times full. Nil (no question asked) without a limit.
    @exclusivity(unchecked)
    public var mayGrowTable: ((Int) -> Bool)?
    /// The best eviction candidates sampled so far (Eviction.swift).
    @exclusivity(unchecked)
    public let evictionPool = EvictionPool()
    /// The database the random eviction policies try next.
    @exclusivity(unchecked)
    var nextEvictionDatabase = 0

    public init(databases: Int = 16) {
        var seed = SystemRandomNumberGenerator()
        self.fastRNG = SplitMix64(seededFrom: &seed)
        self.databases = (0..<databases).map { Database(index: $0, keyspace: self) }
    }

    public subscript(index: Int) -> Database { self.databases[index] }

    public var totalKeys: Int { self.databases.reduce(0) { $0 + $1.count } }

    /// SWAPDB: exchanges the contents of two databases (clients keep their selected index).
    public func swap(_ a: Int, _ b: Int) {
        if a == b { return }
        self.databases[a].swapContents(with: self.databases[b])
    }

    /// FLUSHALL.
    public func removeAll() {
        for db in self.databases { db.removeAll() }
    }

    func keyExpired(_ db: Database, key: UnsafeRawBufferPointer) {
        self.stats.expiredKeys += 1
        self.onExpired?(db, key)
    }

    // MARK: - Access clock (OBJECT IDLETIME / OBJECT FREQ)

    /// Redis's LFU counter start value for new keys.
    static let lfuInitialValue: UInt32 = 5

    func initialAccess(now: Int64) -> UInt32 {
        switch self.accessPolicy {
        case .lru: return AccessClock.lruClock(now: now)
        case .lfu: return (AccessClock.minutes(now: now) << 8) | Keyspace.lfuInitialValue
        }
    }

    /// A value was overwritten. Redis creates a new object, so the LRU clock restarts; under an LFU policy the new
    /// object takes the old one's counter (`dbOverwrite`), which the write's own lookup has counted.
    func touchNew(_ entry: Entry, now: Int64) {
        entry.access = self.overwriteAccess(entry, now: now)
    }

    /// The access statistic of a value that replaces `entry`'s (see ``touchNew(_:now:)``).
    func overwriteAccess(_ entry: Entry, now: Int64) -> UInt32 {
        guard case .lfu = self.accessPolicy else { return self.initialAccess(now: now) }
        return entry.access
    }

    /// Records an access by a client command.
    func touch(_ entry: Entry, now: Int64) {
        switch self.accessPolicy {
        case .lru:
            entry.access = AccessClock.lruClock(now: now)
        case .lfu(let logFactor, let decay):
            var counter = AccessClock.decayedCounter(entry.access, now: now, decayMinutes: decay)
            if counter < 255 {
                let base = Double(max(0, Int(counter) - Int(Keyspace.lfuInitialValue)))
                let p = 1.0 / (base * Double(logFactor) + 1)
                if Double.random(in: 0..<1, using: &self.fastRNG) < p { counter += 1 }
            }
            entry.access = (AccessClock.minutes(now: now) << 8) | counter
        }
    }

    /// Seconds since the entry was last accessed (LRU policy).
    public func idleSeconds(_ entry: Entry, now: Int64) -> Int64 {
        AccessClock.idleMilliseconds(entry.access, now: now) / 1000
    }

    /// The decayed LFU counter (LFU policy).
    public func frequency(_ entry: Entry, now: Int64) -> Int {
        guard case .lfu(_, let decay) = self.accessPolicy else { return 0 }
        return Int(AccessClock.decayedCounter(entry.access, now: now, decayMinutes: decay))
    }

    // MARK: - Active expiry and maintenance

    /// Redis's slow active expire cycle: visits every database, bounded by `budgetMicroseconds`.
    /// - Returns: keys removed.
    @discardableResult
    public func activeExpireCycle(now: Int64, budgetMicroseconds: Int64, clock: () -> Int64) -> Int {
        let deadline = clock() + budgetMicroseconds / 1000
        var removed = 0
        for db in self.databases where db.expiresCount > 0 {
            removed += db.activeExpire(now: now, deadline: deadline, clock: clock)
            if clock() >= deadline {
                self.stats.expiredTimeCapReached += 1
                break
            }
        }
        return removed
    }

    /// Incremental rehashing and shrinking, run from the server tick (Redis's `databasesCron`).
    public func maintain(rehashMilliseconds: Int, clock: () -> Int64) {
        for db in self.databases {
            db.main.shrinkIfNeeded()
            db.expires.shrinkIfNeeded()
            db.main.rehash(milliseconds: rehashMilliseconds, clock: clock)
            db.expires.rehash(milliseconds: rehashMilliseconds, clock: clock)
        }
    }
}

/// Redis's 24-bit LRU clock (seconds) and 16-bit LFU minute clock.
public enum AccessClock {
    static let lruMax: UInt32 = (1 << 24) - 1

    static func lruClock(now: Int64) -> UInt32 {
        UInt32(truncatingIfNeeded: now / 1000) & lruMax
    }

    public static func idleMilliseconds(_ lru: UInt32, now: Int64) -> Int64 {
        let clock = lruClock(now: now)
        let lru = lru & lruMax
        if clock >= lru { return Int64(clock - lru) * 1000 }
        return Int64(lruMax - lru + clock) * 1000
    }

    static func minutes(now: Int64) -> UInt32 {
        UInt32(truncatingIfNeeded: now / 60000) & 0xFFFF
    }

    public static func decayedCounter(_ access: UInt32, now: Int64, decayMinutes: Int) -> UInt32 {
        let last = access >> 8
        var counter = access & 0xFF
        let nowMinutes = minutes(now: now)
        let elapsed = nowMinutes >= last ? nowMinutes - last : 65535 - last + nowMinutes
        if decayMinutes > 0 {
            let periods = elapsed / UInt32(decayMinutes)
            counter = periods > counter ? 0 : counter - periods
        }
        return counter
    }
}

/// A key a writable replica's client gave a time to live (``Keyspace/replicaKeysWithExpire``).
public struct ReplicaExpiringKey: Hashable, Sendable {
    public let database: Int
    public let key: [UInt8]
}
