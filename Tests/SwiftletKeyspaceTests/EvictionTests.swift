import Testing

@testable import SwiftletKeyspace

/// The eviction pool and the choice of victims, with the clock given to every call.
struct EvictionTests {
    static let start: Int64 = 1_700_000_000_000

    func key(_ i: Int) -> [UInt8] { Array("key:\(i)".utf8) }

    /// A keyspace whose key `i` was last read `i` seconds after `start`, so key 0 is the idlest.
    func keyspace(keys: Int, ttl: (Int) -> Int64? = { _ in nil }) -> Keyspace {
        let ks = Keyspace(databases: 2)
        for i in 0..<keys {
            key(i).withUnsafeBytes { k in
                let entry = ks[0].set(k, .int(Int64(i)), now: Self.start)
                if let at = ttl(i) { ks[0].setExpireTime(of: entry, to: at) }
                _ = ks[0].lookup(k, now: Self.start + Int64(i) * 1000)
            }
        }
        return ks
    }

    func offer(_ pool: EvictionPool, _ score: UInt64, _ name: String) {
        Array(name.utf8).withUnsafeBytes { pool.offer(score: score, database: 0, key: $0) }
    }

    @Test func poolKeepsTheBestSixteenInOrder() {
        let pool = EvictionPool()
        for score in [5, 1, 9, 3] as [UInt64] { offer(pool, score, "k\(score)") }
        #expect(pool.candidates.map(\.score) == [1, 3, 5, 9])
        for score in 10..<30 as Range<UInt64> { offer(pool, score, "k\(score)") }
        #expect(pool.candidates.count == EvictionPool.capacity)
        // The worst ones left as better ones came; one no better than the worst is not taken.
        #expect(pool.candidates.first?.score == 14)
        offer(pool, 2, "low")
        #expect(pool.candidates.first?.score == 14)
        #expect(pool.popBest()?.key == Array("k29".utf8))
        #expect(pool.candidates.count == EvictionPool.capacity - 1)
    }

    @Test func equalScoresEvictTheEarlierOfferFirst() {
        let pool = EvictionPool()
        offer(pool, 7, "first")
        offer(pool, 7, "second")
        #expect(pool.popBest()?.key == Array("first".utf8))
    }

    @Test func lruEvictsTheIdlestKeysFirst() {
        let ks = keyspace(keys: 20)
        let now = Self.start + 60_000
        var victims: [[UInt8]] = []
        for _ in 0..<5 {
            // Sampling every key: the approximation is exact.
            guard let v = ks.evictionVictim(policy: .allKeysLRU, samples: 64, now: now) else { break }
            victims.append(v.entry.keyBytes)
            v.database.evict(v.entry)
        }
        #expect(victims == (0..<5).map(key))
    }

    @Test func lfuEvictsTheLeastUsedKeys() {
        let ks = Keyspace(databases: 1)
        ks.accessPolicy = .lfu(logFactor: 0, decayMinutes: 1)
        for i in 0..<10 {
            key(i).withUnsafeBytes { k in
                _ = ks[0].set(k, .int(0), now: Self.start)
                // With log factor 0 every access counts: key i is read i times.
                for _ in 0..<i { _ = ks[0].lookup(k, now: Self.start) }
            }
        }
        let victim = ks.evictionVictim(policy: .allKeysLFU, samples: 64, now: Self.start)
        #expect(victim?.entry.keyBytes == key(0))
        let busiest = key(9).withUnsafeBytes { ks[0].peek($0) }
        #expect(busiest.map { ks.frequency($0, now: Self.start) } == 5 + 9)
    }

    @Test func volatileTTLEvictsTheNearestExpiryAndOnlyVolatileKeys() {
        // Odd keys expire, the later the higher their number; even keys have no time to live.
        let ks = keyspace(keys: 10) { $0 % 2 == 1 ? Self.start + 100_000 - Int64($0) * 1000 : nil }
        let now = Self.start + 20_000
        let first = ks.evictionVictim(policy: .volatileTTL, samples: 64, now: now)
        #expect(first?.entry.keyBytes == key(9))
        for policy in [EvictionPolicy.volatileLRU, .volatileRandom, .volatileLFU] {
            for _ in 0..<20 {
                guard let v = ks.evictionVictim(policy: policy, samples: 64, now: now) else { break }
                let i = Int(String(decoding: v.entry.keyBytes.dropFirst(4), as: UTF8.self))!
                #expect(i % 2 == 1)
            }
        }
    }

    @Test func ghostsInThePoolAreSkipped() {
        let ks = keyspace(keys: 20)
        let now = Self.start + 60_000
        // Fill the pool, then delete its best candidate behind its back.
        let first = ks.evictionVictim(policy: .allKeysLRU, samples: 64, now: now)
        #expect(first?.entry.keyBytes == key(0))
        _ = key(0).withUnsafeBytes { ks[0].delete($0) }
        _ = key(1).withUnsafeBytes { ks[0].delete($0) }
        let next = ks.evictionVictim(policy: .allKeysLRU, samples: 64, now: now)
        #expect(next?.entry.keyBytes == key(2))
    }

    @Test func nothingToEvict() {
        let ks = keyspace(keys: 5)
        #expect(ks.evictionVictim(policy: .noEviction, samples: 5, now: Self.start) == nil)
        for policy in [EvictionPolicy.volatileLRU, .volatileLFU, .volatileRandom, .volatileTTL] {
            #expect(ks.evictionVictim(policy: policy, samples: 5, now: Self.start) == nil)
        }
        let empty = Keyspace(databases: 3)
        for policy in [EvictionPolicy.allKeysLRU, .allKeysLFU, .allKeysRandom] {
            #expect(empty.evictionVictim(policy: policy, samples: 5, now: Self.start) == nil)
        }
    }

    @Test func randomPoliciesVisitEveryDatabase() {
        let ks = Keyspace(databases: 3)
        for db in 0..<3 {
            key(db).withUnsafeBytes { _ = ks[db].set($0, .int(0), now: Self.start) }
        }
        var seen = Set<Int>()
        for _ in 0..<3 {
            guard let v = ks.evictionVictim(policy: .allKeysRandom, samples: 5, now: Self.start) else { break }
            seen.insert(v.database.index)
            v.database.evict(v.entry)
        }
        #expect(seen == [0, 1, 2])
    }

    @Test func policyNames() {
        #expect(EvictionPolicy(name: "allkeys-lru") == .allKeysLRU)
        #expect(EvictionPolicy(name: "volatile-ttl") == .volatileTTL)
        #expect(EvictionPolicy(name: "noeviction") == .noEviction)
        #expect(EvictionPolicy(name: "lru") == nil)
    }
}
