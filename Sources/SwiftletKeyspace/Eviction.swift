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
/// Every write at the memory limit offers about five keys to the pool, so it is fixed memory allocated once: three
/// rank-ordered arrays of 16 (score, database, key buffer) that shift with `memmove`, and 16 key buffers that are
/// reused (Redis keeps a cached 255-byte string per slot for the same reason). Keys are copies: one deleted or renamed
/// since it was sampled is a "ghost" that ``Keyspace/evictionVictim`` skips when it finds it gone.
public final class EvictionPool {
    public struct Candidate: Sendable, Equatable {
        public var score: UInt64
        public var database: Int
        public var key: [UInt8]
    }

    /// Redis's `EVPOOL_SIZE`.
    public static let capacity = 16

    /// By rank, worst first: the score, the database and the key buffer's slot.
    private let scores = UnsafeMutablePointer<UInt64>.allocate(capacity: EvictionPool.capacity)
    private let databases = UnsafeMutablePointer<Int>.allocate(capacity: EvictionPool.capacity)
    private let slots = UnsafeMutablePointer<Int>.allocate(capacity: EvictionPool.capacity)
    /// Per slot: the key buffer, its capacity and the key's length.
    private let buffers = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: EvictionPool.capacity)
    private let capacities = UnsafeMutablePointer<Int>.allocate(capacity: EvictionPool.capacity)
    private let lengths = UnsafeMutablePointer<Int>.allocate(capacity: EvictionPool.capacity)
    /// Slots not in use, as a stack.
    private let freeSlots = UnsafeMutablePointer<Int>.allocate(capacity: EvictionPool.capacity)
    private var freeCount = EvictionPool.capacity
    public private(set) var count = 0

    public init() {
        self.buffers.initialize(repeating: nil, count: Self.capacity)
        self.capacities.initialize(repeating: 0, count: Self.capacity)
        self.lengths.initialize(repeating: 0, count: Self.capacity)
        for i in 0..<Self.capacity { self.freeSlots[i] = Self.capacity - 1 - i }
    }

    deinit {
        for i in 0..<Self.capacity { self.buffers[i]?.deallocate() }
        for pointer in [
            UnsafeMutableRawPointer(self.scores), UnsafeMutableRawPointer(self.databases),
            UnsafeMutableRawPointer(self.slots), UnsafeMutableRawPointer(self.buffers),
            UnsafeMutableRawPointer(self.capacities), UnsafeMutableRawPointer(self.lengths),
            UnsafeMutableRawPointer(self.freeSlots),
        ] { pointer.deallocate() }
    }

    public var isEmpty: Bool { self.count == 0 }

    /// The candidates, worst first (for tests).
    public var candidates: [Candidate] {
        (0..<self.count).map {
            Candidate(score: self.scores[$0], database: self.databases[$0], key: self.key(rank: $0))
        }
    }

    private func key(rank: Int) -> [UInt8] {
        let slot = self.slots[rank]
        return Array(UnsafeRawBufferPointer(start: self.buffers[slot], count: self.lengths[slot]))
    }

    /// Moves `count` ranks starting at `from` to start at `to` (overlapping moves are fine).
    private func moveRanks(from: Int, to: Int, count: Int) {
        guard count > 0 else { return }
        UnsafeMutableRawPointer(self.scores + to).copyMemory(from: self.scores + from, byteCount: count * 8)
        UnsafeMutableRawPointer(self.databases + to).copyMemory(from: self.databases + from, byteCount: count * 8)
        UnsafeMutableRawPointer(self.slots + to).copyMemory(from: self.slots + from, byteCount: count * 8)
    }

    /// Offers a sampled key. As Redis's `evictionPoolPopulate`: a full pool takes it only when it scores above the
    /// worst candidate, which then leaves; among equal scores the newcomer goes first (is evicted last).
    public func offer(score: UInt64, database: Int, key: UnsafeRawBufferPointer) {
        var position = 0
        while position < self.count && self.scores[position] < score { position += 1 }
        let slot: Int
        if self.count == Self.capacity {
            if position == 0 { return }
            // The worst leaves; its buffer takes the newcomer, which goes just below `position`.
            slot = self.slots[0]
            position -= 1
            self.moveRanks(from: 1, to: 0, count: position)
        } else {
            self.freeCount -= 1
            slot = self.freeSlots[self.freeCount]
            self.moveRanks(from: position, to: position + 1, count: self.count - position)
            self.count += 1
        }
        self.scores[position] = score
        self.databases[position] = database
        self.slots[position] = slot
        if self.capacities[slot] < key.count {
            self.buffers[slot]?.deallocate()
            let capacity = max(64, key.count)
            self.buffers[slot] = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 1)
            self.capacities[slot] = capacity
        }
        if key.count > 0, let base = key.baseAddress {
            // Why `!`: a slot whose capacity holds a non-empty key has a buffer (allocated just above if needed).
            self.buffers[slot]!.copyMemory(from: base, byteCount: key.count)
        }
        self.lengths[slot] = key.count
    }

    /// Removes the best candidate, lending its key to `body` (which must not keep the pointer); `nil` when empty.
    public func popBest<R>(_ body: (_ database: Int, _ key: UnsafeRawBufferPointer) -> R) -> R? {
        guard self.count > 0 else { return nil }
        self.count -= 1
        let slot = self.slots[self.count]
        self.freeSlots[self.freeCount] = slot
        self.freeCount += 1
        return body(
            self.databases[self.count],
            UnsafeRawBufferPointer(start: self.buffers[slot], count: self.lengths[slot])
        )
    }

    /// Removes and returns the best candidate (a copy of its key).
    public func popBest() -> Candidate? {
        guard self.count > 0 else { return nil }
        let score = self.scores[self.count - 1]
        return self.popBest { database, key in Candidate(score: score, database: database, key: Array(key)) }
    }

    public func removeAll() {
        while self.popBest({ _, _ in () }) != nil {}
    }
}

extension Keyspace {
    /// The next key `policy` evicts, or `nil` when it has no candidate (no keys, or no keys with a time to live for a
    /// `volatile-*` policy, or `noeviction`). As Redis's `performEvictions`: the pool policies sample `samples` keys
    /// of every database into ``evictionPool`` and take its best live candidate; the random ones take a random key
    /// of the next database that has one, visiting the databases in turn. Delete it with ``Database/evict(_:)``.
    public func evictionVictim(policy: EvictionPolicy, samples: Int, now: Int64) -> (database: Database, entry: Entry)?
    {
        switch policy {
        case .noEviction:
            return nil
        case .allKeysRandom, .volatileRandom:
            for _ in 0..<self.databases.count {
                self.nextEvictionDatabase = (self.nextEvictionDatabase + 1) % self.databases.count
                let db = self.databases[self.nextEvictionDatabase]
                if policy == .allKeysRandom {
                    if let entry = db.main.randomEntry(using: &self.fastRNG) { return (db, entry) }
                } else if let expiry = db.expires.randomEntry(using: &self.fastRNG),
                    let entry = expiry.withKey({ db.main.find($0, hash: expiry.hash) })
                {
                    return (db, entry)
                }
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
                while let found = self.evictionPool.popBest({ database, key -> (Database, Entry)? in
                    let db = self.databases[database]
                    // A ghost (deleted since it was sampled) is skipped for the next best.
                    return db.main.find(key).map { (db, $0) }
                }) {
                    if let found { return found }
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
        table.withSample(samples, using: &self.fastRNG) { sampled in
            for sampled in sampled {
                let score: UInt64
                switch policy {
                case .volatileTTL:
                    guard case .int(let at) = sampled.value else { continue }
                    // The sooner it expires, the better a candidate.
                    score = UInt64.max - UInt64(bitPattern: at)
                default:
                    // A sample of `expires` holds the expiry time: the access statistic is on the main entry.
                    let entry: Entry? =
                        table === db.main ? sampled : sampled.withKey { db.main.find($0, hash: sampled.hash) }
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
}
