import Testing

@testable import SwiftletKeyspace

struct SortedSetValueTests {
    /// A reference model: (score, member) pairs kept sorted the slow way.
    struct Model {
        var items: [(Double, [UInt8])] = []

        mutating func set(_ m: [UInt8], _ s: Double) {
            items.removeAll { $0.1 == m }
            var lo = 0
            var hi = items.count
            while lo < hi {
                let mid = (lo + hi) / 2
                let x = items[mid]
                if x.0 < s || (x.0 == s && x.1.lexicographicallyPrecedes(m)) { lo = mid + 1 } else { hi = mid }
            }
            items.insert((s, m), at: lo)
        }

        mutating func remove(_ m: [UInt8]) { items.removeAll { $0.1 == m } }
    }

    static func contents(_ z: SortedSetValue) -> [(Double, [UInt8])] {
        var out: [(Double, [UInt8])] = []
        z.walk { node in
            out.append((node.score, node.member))
            return true
        }
        return out
    }

    @Test(arguments: [true, false])
    func randomOperationsMatchModel(listpack: Bool) {
        var rng = SeededGenerator(seed: listpack ? 7 : 11)
        let z = SortedSetValue(listpack: listpack)
        var model = Model()
        let limits = SortedSetValue.Limits(entries: 100_000, value: 1000)
        // A listpack-encoded set scans for members, so it gets a smaller pool.
        let pool = listpack ? 300 : 3000
        for step in 0..<(listpack ? 6000 : 20_000) {
            let member = Array("m\(Int.random(in: 0..<pool, using: &rng))".utf8)
            let score = Double(Int.random(in: -50...50, using: &rng))
            if Int.random(in: 0..<3, using: &rng) == 0 {
                let removed = member.withUnsafeBytes { z.remove($0) }
                #expect(removed == model.items.contains { $0.1 == member })
                model.remove(member)
            } else {
                _ = member.withUnsafeBytes { z.add($0, score: score, limits: limits) }
                model.set(member, score)
            }
            if step % 1000 == 999 {
                let got = Self.contents(z)
                #expect(got.count == model.items.count)
                #expect(got.map(\.1) == model.items.map(\.1))
                #expect(got.map(\.0) == model.items.map(\.0))
                for (rank, item) in model.items.enumerated() where rank % 97 == 0 {
                    #expect(item.1.withUnsafeBytes { z.rank(of: $0) } == rank)
                    #expect(z.node(at: rank).member == item.1)
                    #expect(item.1.withUnsafeBytes { z.rank(of: $0, reverse: true) } == model.items.count - 1 - rank)
                }
                let below = model.items.filter { $0.0 < 10 }.count
                #expect(z.countPrefix { s, _ in s < 10 } == below)
            }
        }
    }

    @Test func removeByRankAndRangesKeepOrder() {
        let z = SortedSetValue(listpack: false)
        for i in 0..<10_000 { _ = Array("k\(i)".utf8).withUnsafeBytes { z.add($0, score: Double(i)) } }
        z.removeRange(from: 100, count: 5000)
        #expect(z.count == 5000)
        #expect(z.node(at: 99).score == 99)
        #expect(z.node(at: 100).score == 5100)
        var previous = -Double.infinity
        z.walk(from: z.count - 1, reverse: true) { node in
            if previous != -Double.infinity { #expect(node.score < previous) }
            previous = node.score
            return true
        }
        while z.count > 0 { z.remove(at: z.count / 2) }
        #expect(z.first == nil)
    }

    @Test func listpackConversionAndNegativeZero() {
        let limits = SortedSetValue.Limits(entries: 3, value: 4)
        let z = SortedSetValue()
        _ = Array("a".utf8).withUnsafeBytes { z.add($0, score: -0.0, limits: limits) }
        // A listpack stores -0 as the integer 0.
        #expect(Array("a".utf8).withUnsafeBytes { z.score(of: $0) }?.sign == .plus)
        #expect(z.encodingName == "listpack")
        for m in ["b", "c"] { _ = Array(m.utf8).withUnsafeBytes { z.add($0, score: 1, limits: limits) } }
        #expect(z.encodingName == "listpack")
        _ = Array("d".utf8).withUnsafeBytes { z.add($0, score: -0.0, limits: limits) }
        #expect(z.encodingName == "skiplist")
        #expect(Array("d".utf8).withUnsafeBytes { z.score(of: $0) }?.sign == .minus)
        let long = SortedSetValue()
        _ = Array("abcde".utf8).withUnsafeBytes { long.add($0, score: 1, limits: limits) }
        #expect(long.encodingName == "skiplist")
    }

    @Test func addFlagsFollowRedis() {
        let z = SortedSetValue()
        let a = Array("a".utf8)
        #expect(a.withUnsafeBytes { z.add($0, score: 5) } == .added(5))
        #expect(a.withUnsafeBytes { z.add($0, score: 5) } == .unchanged(5))
        #expect(a.withUnsafeBytes { z.add($0, score: 6, flags: .nx) } == .skipped)
        #expect(a.withUnsafeBytes { z.add($0, score: 4, flags: .gt) } == .skipped)
        #expect(a.withUnsafeBytes { z.add($0, score: 7, flags: .gt) } == .updated(7))
        #expect(a.withUnsafeBytes { z.add($0, score: 1, flags: [.incr, .lt]) } == .skipped)
        #expect(a.withUnsafeBytes { z.add($0, score: .infinity, flags: .incr) } == .updated(.infinity))
        #expect(a.withUnsafeBytes { z.add($0, score: -.infinity, flags: .incr) } == .notANumber)
        #expect(Array("b".utf8).withUnsafeBytes { z.add($0, score: 1, flags: .xx) } == .skipped)
        #expect(z.count == 1)
    }

    @Test func scanReturnsEveryMemberAcrossResizes() {
        let z = SortedSetValue(listpack: false)
        for i in 0..<500 { _ = Array("orig\(i)".utf8).withUnsafeBytes { z.add($0, score: Double(i)) } }
        var seen = Set<[UInt8]>()
        var cursor: UInt64 = 0
        var calls = 0
        repeat {
            cursor = z.scan(cursor) { seen.insert($0.member) }
            calls += 1
            // Grow the set a lot (several resizes, some mid-rehash) and shrink it again during the scan.
            if calls == 20 {
                for i in 0..<20_000 { _ = Array("new\(i)".utf8).withUnsafeBytes { z.add($0, score: 1) } }
            }
            if calls == 200 {
                for i in 0..<20_000 { _ = Array("new\(i)".utf8).withUnsafeBytes { z.remove($0) } }
            }
        } while cursor != 0
        for i in 0..<500 { #expect(seen.contains(Array("orig\(i)".utf8))) }
    }

    @Test func copyIsIndependent() {
        let z = SortedSetValue(listpack: false)
        for i in 0..<300 { _ = Array("k\(i)".utf8).withUnsafeBytes { z.add($0, score: Double(i % 7)) } }
        let c = z.copy()
        _ = Array("k1".utf8).withUnsafeBytes { z.remove($0) }
        #expect(c.count == 300)
        #expect(c.encodingName == "skiplist")
        #expect(Self.contents(c).count == 300)
        #expect(Array("k1".utf8).withUnsafeBytes { c.score(of: $0) } == 1)
    }

    /// A million pops from the front stay O(log n) each: the last 100k cost about what the first 100k cost.
    @Test func millionPopsStayCheap() {
        let z = SortedSetValue(listpack: false)
        let n = 1_000_000
        for i in 0..<n { _ = Array("member:\(i)".utf8).withUnsafeBytes { z.add($0, score: Double(i)) } }
        let clock = ContinuousClock()
        var first = Duration.zero
        var last = Duration.zero
        var popped = 0
        var wrong = 0
        while z.count > 0 {
            let chunk = min(100_000, z.count)
            let t = clock.measure {
                for _ in 0..<chunk {
                    if z.remove(at: 0).score != Double(popped) { wrong += 1 }
                    popped += 1
                }
            }
            if popped == 100_000 { first = t }
            last = t
        }
        #expect(popped == n)
        #expect(wrong == 0)
        #expect(last < first * 3 + .milliseconds(50))
    }
}

/// SplitMix64, so that the randomized tests are reproducible.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { self.state = seed }

    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
