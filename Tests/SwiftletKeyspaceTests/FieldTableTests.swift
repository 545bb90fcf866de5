import Testing

@testable import SwiftletKeyspace

struct FieldTableTests {
    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    @Test func setFindUpdateRemove() {
        let t = FieldTable(hasValues: true)
        for i in 0..<10_000 {
            let added = Self.bytes("k\(i)").withUnsafeBytes { k in Self.bytes("v\(i)").withUnsafeBytes { t.set(k, $0) }
            }
            #expect(added)
        }
        #expect(t.count == 10_000)
        // Values grow and shrink in place (realloc may move a node; the chain must follow).
        for i in 0..<10_000 {
            let value = String(repeating: "x", count: i % 300)
            let added = Self.bytes("k\(i)").withUnsafeBytes { k in Self.bytes(value).withUnsafeBytes { t.set(k, $0) } }
            #expect(!added)
        }
        for i in stride(from: 0, to: 10_000, by: 37) {
            let found = Self.bytes("k\(i)").withUnsafeBytes { t.find($0).map { Array(FieldTable.value($0)) } }
            #expect(found == Self.bytes(String(repeating: "x", count: i % 300)))
        }
        for i in 0..<9_990 {
            #expect(Self.bytes("k\(i)").withUnsafeBytes { t.remove($0) })
        }
        #expect(t.count == 10)
        // Shrinking is incremental, one bucket per operation, as Redis's dict: finish it, then one more removal
        // starts the last shrink.
        t.rehash(steps: 1_000_000)
        #expect(Self.bytes("k9990").withUnsafeBytes { t.remove($0) })
        t.rehash(steps: 1_000_000)
        // How far it has shrunk depends on where the incremental steps stopped (hash seed), so allow a margin.
        #expect(t.bucketCount <= 64, "the table shrinks as it empties")
        #expect(Self.bytes("k9995").withUnsafeBytes { t.contains($0) })
        #expect(t.count == 9)
        #expect(!Self.bytes("k5").withUnsafeBytes { t.contains($0) })
    }

    /// Redis's SCAN guarantee: every key present for the whole scan is returned, while the table grows and
    /// shrinks between the calls.
    @Test(arguments: [true, false]) func scanGuaranteeAcrossResizes(growing: Bool) {
        let t = FieldTable(hasValues: false)
        let stable = (0..<500).map { Self.bytes("stable\($0)") }
        for k in stable { k.withUnsafeBytes { _ = t.insert($0) } }
        if !growing {
            for i in 0..<20_000 { Self.bytes("extra\(i)").withUnsafeBytes { _ = t.insert($0) } }
        }
        var seen = Set<[UInt8]>()
        var cursor: UInt64 = 0
        var round = 0
        repeat {
            cursor = t.scan(cursor) { seen.insert(Array(FieldTable.key($0))) }
            round += 1
            // Mutate between scan steps: grow by 100 keys (for the first 100 steps, or the scan would chase a
            // table growing faster than it walks), or delete 200 of the extra keys.
            for j in 0..<(growing ? (round <= 100 ? 100 : 0) : 200) {
                let i = round * 200 + j
                if growing {
                    Self.bytes("new\(round)-\(j)").withUnsafeBytes { _ = t.insert($0) }
                } else if i < 20_000 {
                    Self.bytes("extra\(i)").withUnsafeBytes { _ = t.remove($0) }
                }
            }
        } while cursor != 0
        for k in stable { #expect(seen.contains(k)) }
    }

    @Test func randomNodesCoverTheTable() {
        let t = FieldTable(hasValues: false)
        for i in 0..<50 { Self.bytes("m\(i)").withUnsafeBytes { _ = t.insert($0) } }
        var rng = SplitMix64(seed: 42)
        var seen = Set<[UInt8]>()
        for _ in 0..<5000 {
            // Why `!`: the table is not empty.
            seen.insert(Array(FieldTable.key(t.randomNode(using: &rng)!)))
        }
        #expect(seen.count == 50)
    }

    /// Redis's suite ("SRANDMEMBER histogram distribution - hashtable"): 1000 picks from a 10-member table pass a
    /// chi-square test at 40 (df 9, p = 0.00001). A pick of a bucket and then of its chain failed it (about 100).
    @Test(arguments: [1, 7, 42, 1234])
    func randomNodesAreFair(seed: UInt64) {
        let t = FieldTable(hasValues: false)
        for member in ["1", "5", "10", "50", "125", "MARY", "PATRICIA", "LINDA", "BARBARA", "ELIZABETH"] {
            Self.bytes(member).withUnsafeBytes { _ = t.insert($0) }
        }
        var rng = SplitMix64(seed: seed)
        var counts: [[UInt8]: Int] = [:]
        let picks = 10_000
        // Why `!`: the table is not empty.
        for _ in 0..<picks { counts[Array(FieldTable.key(t.randomNode(using: &rng)!)), default: 0] += 1 }
        let expected = Double(picks) / 10
        let chiSquare = counts.values.reduce(0.0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }
        #expect(counts.count == 10)
        #expect(chiSquare < 40, "chi-square \(chiSquare)")
    }

    @Test func hashValueEncodings() {
        let h = HashValue()
        let limits = HashLimits(maxEntries: 3, maxValue: 8)
        for (f, v) in [("a", "1"), ("b", "2"), ("a", "3")] {
            Self.bytes(f).withUnsafeBytes { f in Self.bytes(v).withUnsafeBytes { _ = h.set(f, $0, limits: limits) } }
        }
        var listed: [String] = []
        h.forEachPair { f, v in
            listed.append(String(decoding: f, as: UTF8.self) + "=" + String(decoding: v, as: UTF8.self))
        }
        #expect(listed == ["a=3", "b=2"])
        #expect(h.encodingName == "listpack")
        Self.bytes("long").withUnsafeBytes { f in
            Self.bytes("123456789").withUnsafeBytes { _ = h.set(f, $0, limits: limits) }
        }
        #expect(h.encodingName == "hashtable")
        #expect(h.count == 3)
        let copy = h.copy()
        _ = Self.bytes("a").withUnsafeBytes { h.remove($0) }
        #expect(copy.count == 3 && h.count == 2)
    }

    @Test func setValueIntset() {
        let s = SetValue()
        for m in ["5", "-2", "9", "5"] { Self.bytes(m).withUnsafeBytes { _ = s.add($0, maxIntsetEntries: 3) } }
        var listed: [String] = []
        s.forEachMember { listed.append(String(decoding: $0, as: UTF8.self)) }
        #expect(listed == ["-2", "5", "9"])
        #expect(s.encodingName == "intset")
        Self.bytes("10").withUnsafeBytes { _ = s.add($0, maxIntsetEntries: 3) }
        #expect(s.encodingName == "hashtable")
        #expect(s.contains(integer: 10) && !s.contains(integer: 11))
    }
}
