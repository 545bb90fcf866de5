/// What `maxmemory-policy` evicts when used memory passes `maxmemory`.
public enum EvictionPolicy: Sendable, Equatable {
    case noEviction
    case allKeysLRU
    case allKeysLFU
    case allKeysRandom
    case volatileLRU
    case volatileLFU
    case volatileRandom
    case volatileTTL

    /// The policy named as in redis.conf; `nil` for an unknown name.
    public init?(name: String) {
        switch name {
        case "noeviction": self = .noEviction
        case "allkeys-lru": self = .allKeysLRU
        case "allkeys-lfu": self = .allKeysLFU
        case "allkeys-random": self = .allKeysRandom
        case "volatile-lru": self = .volatileLRU
        case "volatile-lfu": self = .volatileLFU
        case "volatile-random": self = .volatileRandom
        case "volatile-ttl": self = .volatileTTL
        default: return nil
        }
    }

    /// Whether every key is a candidate (`allkeys-*`), or only keys with a time to live (`volatile-*`).
    var sampleAllKeys: Bool {
        switch self {
        case .allKeysLRU, .allKeysLFU, .allKeysRandom: return true
        default: return false
        }
    }
}

/// Redis's eviction pool (`EvictionPoolLRU`): the best candidates seen so far, kept across evictions so that each
/// sample of `maxmemory-samples` keys competes with the best of the earlier samples. Ordered by score, best (the
/// highest: the longest idle, the least frequently used, the nearest expiry) last.
///
/// Keys are copies: a key deleted or renamed since it was sampled is a "ghost" that ``Keyspace/evictionVictim``
/// skips when it finds it gone.
public struct EvictionPool: Sendable {
    public struct Candidate: Sendable, Equatable {
        public var score: UInt64
        public var database: Int
        public var key: [UInt8]
    }

    /// Redis's `EVPOOL_SIZE`.
    public static let capacity = 16

    public private(set) var candidates: [Candidate] = []

    public init() {
        self.candidates.reserveCapacity(Self.capacity + 1)
    }

    public var isEmpty: Bool { self.candidates.isEmpty }

    /// Offers a sampled key. As Redis's `evictionPoolPopulate`: a full pool takes it only when it scores above the
    /// worst candidate, which then leaves; among equal scores the newcomer goes first (is evicted last).
    public mutating func offer(score: UInt64, database: Int, key: UnsafeRawBufferPointer) {
        var position = 0
        while position < self.candidates.count && self.candidates[position].score < score { position += 1 }
        if position == 0 && self.candidates.count == Self.capacity { return }
        self.candidates.insert(Candidate(score: score, database: database, key: Array(key)), at: position)
        if self.candidates.count > Self.capacity { self.candidates.removeFirst() }
    }

    /// Removes and returns the best candidate.
    public mutating func popBest() -> Candidate? {
        self.candidates.popLast()
    }

    public mutating func removeAll() {
        self.candidates.removeAll(keepingCapacity: true)
    }
}

extension Keyspace {
    /// The next key `policy` evicts, or `nil` when it has no candidate (no keys, or no keys with a time to live for a
    /// `volatile-*` policy, or `noeviction`). As Redis's `performEvictions`: the pool policies sample `samples` keys
    /// of every database into ``evictionPool`` and take its best live candidate; the random ones take a random key
    /// of the next database that has one, visiting the databases in turn.
    public func evictionVictim(policy: EvictionPolicy, samples: Int, now: Int64) -> (database: Database, key: [UInt8])?
    {
        switch policy {
        case .noEviction:
            return nil
        case .allKeysRandom, .volatileRandom:
            for _ in 0..<self.databases.count {
                self.nextEvictionDatabase = (self.nextEvictionDatabase + 1) % self.databases.count
                let db = self.databases[self.nextEvictionDatabase]
                let table = policy == .allKeysRandom ? db.main : db.expires
                if let entry = table.randomEntry(using: &self.rng) { return (db, entry.keyBytes) }
            }
            return nil
        case .allKeysLRU, .allKeysLFU, .volatileLRU, .volatileLFU, .volatileTTL:
            while true {
                var candidates = 0
                for db in self.databases {
                    let table = policy.sampleAllKeys ? db.main : db.expires
                    guard table.count > 0 else { continue }
                    candidates += table.count
                    self.populateEvictionPool(db, table, policy: policy, samples: samples, now: now)
                }
                if candidates == 0 { return nil }
                while let best = self.evictionPool.popBest() {
                    let db = self.databases[best.database]
                    let table = policy.sampleAllKeys ? db.main : db.expires
                    if best.key.withUnsafeBytes({ table.find($0) }) != nil { return (db, best.key) }
                    // A ghost: deleted since it was sampled; try the next best.
                }
            }
        }
    }

    /// Redis's `evictionPoolPopulate`: samples keys of one database's main or expires table and offers them.
    private func populateEvictionPool(
        _ db: Database,
        _ table: KeyTable,
        policy: EvictionPolicy,
        samples: Int,
        now: Int64
    ) {
        for sampled in table.sample(samples, using: &self.rng) {
            let score: UInt64
            switch policy {
            case .volatileTTL:
                guard case .int(let at) = sampled.value else { continue }
                // The sooner it expires, the better a candidate.
                score = UInt64.max - UInt64(bitPattern: at)
            default:
                // A sample of `expires` holds the expiry time: the access statistic is on the main entry.
                let entry: Entry? = table === db.main ? sampled : sampled.withKey { db.main.find($0, hash: sampled.hash) }
                guard let entry else { continue }
                switch policy {
                case .allKeysLFU, .volatileLFU:
                    score = 255 - UInt64(self.frequency(entry, now: now))
                default:
                    score = UInt64(AccessClock.idleMilliseconds(entry.access, now: now))
                }
            }
            sampled.withKey { self.evictionPool.offer(score: score, database: db.index, key: $0) }
        }
    }
}
