import Testing

@testable import SwiftletKeyspace

/// The HyperLogLog algorithm on byte arrays, against values taken from Redis 7.0 (`PFDEBUG DECODE`, `GET`,
/// `PFCOUNT`) and against itself (sparse and dense must always agree).
struct HyperLogLogTests {
    static let limit = 3000

    static func add(
        _ hll: inout [UInt8],
        _ element: [UInt8],
        limit: Int = HyperLogLogTests.limit
    )
        -> HyperLogLog.Update
    {
        element.withUnsafeBytes { HyperLogLog.add(&hll, $0, sparseMaxBytes: limit) }
    }

    static func add(
        _ hll: inout [UInt8],
        _ element: String,
        limit: Int = HyperLogLogTests.limit
    )
        -> HyperLogLog.Update
    {
        Self.add(&hll, Array(element.utf8), limit: limit)
    }

    static func decode(_ hll: [UInt8]) -> String {
        String(decoding: hll.withUnsafeBytes { HyperLogLog.decodeSparse($0) }, as: UTF8.self)
    }

    static func count(_ hll: [UInt8]) -> UInt64? {
        hll.withUnsafeBytes { HyperLogLog.cardinality($0) }
    }

    static func registers(_ hll: [UInt8]) -> [UInt8] {
        var dense = hll
        #expect(HyperLogLog.sparseToDense(&dense))
        return dense.withUnsafeBufferPointer { b in
            (0..<HyperLogLog.registerCount).map { HyperLogLog.denseRegister(b.baseAddress! + 16, $0) }
        }
    }

    static func fnv1a(_ bytes: [UInt8]) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }

    static func hll(_ header: [UInt8], _ opcodes: [UInt8]) -> [UInt8] { header + opcodes }

    /// "HYLL", sparse, cache invalid.
    static let sparseHeader: [UInt8] = Array("HYLL".utf8) + [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80]

    // MARK: - Layout and hashing

    @Test func emptyIsOneXZero() {
        let empty = HyperLogLog.makeEmpty()
        #expect(empty == Array("HYLL".utf8) + [1, 0, 0, 0] + [UInt8](repeating: 0, count: 8) + [0x7f, 0xff])
        #expect(Self.decode(empty) == "Z:16384")
        #expect(Self.count(empty) == 0)
        #expect(empty.withUnsafeBytes { HyperLogLog.cachedCardinality($0) } == 0)
        #expect(empty.withUnsafeBytes { HyperLogLog.isValid($0) })
    }

    /// Register index and zero-run length of single elements, as Redis's PFDEBUG DECODE shows them.
    @Test(arguments: [
        ("", "Z:5938 v:2,1 Z:10445"),
        ("a", "Z:12711 v:2,1 Z:3672"),
        ("hello", "Z:9216 v:1,1 Z:7167"),
        ("abcdefgh", "Z:1383 v:1,1 Z:15000"),
        ("abcdefghi", "Z:6903 v:1,1 Z:9480"),
    ])
    func singleElementMatchesRedis(element: String, decoded: String) {
        var h = HyperLogLog.makeEmpty()
        #expect(Self.add(&h, element) == .changed)
        #expect(Self.decode(h) == decoded)
        #expect(Self.add(&h, element) == .unchanged)
    }

    @Test func binaryElementMatchesRedis() {
        var h = HyperLogLog.makeEmpty()
        _ = Self.add(&h, [0x00, 0xff])
        #expect(Self.decode(h) == "Z:3937 v:1,1 Z:12446")
    }

    @Test func bytesAfterThreeAddsMatchRedis() {
        var h = HyperLogLog.makeEmpty()
        for e in ["a", "b", "c"] { _ = Self.add(&h, e) }
        let expected: [UInt8] =
            Array("HYLL".utf8) + [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80]
            + [0x60, 0xf3, 0x80, 0x50, 0xb1, 0x84, 0x4b, 0xfb, 0x80, 0x42, 0x5a]
        #expect(h == expected)
        #expect(Self.count(h) == 3)
    }

    /// Sequential elements `e0`, `e1`, ... added one by one: GET bytes (FNV-1a of them) and PFCOUNT from Redis.
    @Test(arguments: [
        (10, 48, 0x4afc_b65d_27f7_d346 as UInt64, 10 as UInt64),
        (1000, 1906, 0x5935_de02_3280_6824, 1008),
        (100_000, 12304, 0xafbf_1713_dc5b_a3c8, 100_853),
    ])
    func sequentialElementsMatchRedis(n: Int, length: Int, fnv: UInt64, card: UInt64) {
        var h = HyperLogLog.makeEmpty()
        for i in 0..<n { _ = Self.add(&h, "e\(i)") }
        #expect(h.count == length)
        #expect(Self.fnv1a(h) == fnv)
        #expect(Self.count(h) == card)
    }

    @Test func murmurBlocksAndTails() {
        // Every tail length gives a distinct hash, and the 8-byte block path agrees with itself.
        var seen = Set<UInt64>()
        let bytes = [UInt8](0..<40)
        for n in 0...40 {
            seen.insert(bytes.prefix(n).withUnsafeBytes { HyperLogLog.murmurHash64A($0, seed: 0xadc8_3b19) })
        }
        #expect(seen.count == 41)
    }

    // MARK: - Registers

    @Test func denseRegistersKeepTheirNeighbours() {
        var rng = SplitMix(state: 7)
        var dense = [UInt8](repeating: 0, count: HyperLogLog.denseSize)
        for _ in 0..<5 {
            let values = (0..<HyperLogLog.registerCount).map { _ in UInt8.random(in: 0...63, using: &rng) }
            dense.withUnsafeMutableBufferPointer { b in
                let r = b.baseAddress! + 16
                for i in 0..<HyperLogLog.registerCount { HyperLogLog.setDenseRegister(r, i, values[i]) }
                for i in 0..<HyperLogLog.registerCount { #expect(HyperLogLog.denseRegister(r, i) == values[i]) }
            }
        }
    }

    @Test func sparseAndDenseAgree() {
        var rng = SplitMix(state: 42)
        var sparse = HyperLogLog.makeEmpty()
        var dense = HyperLogLog.makeEmpty()
        #expect(HyperLogLog.sparseToDense(&dense))
        #expect(dense.count == HyperLogLog.denseSize)
        var checkpoint = 1
        var distinct = Set<[UInt8]>()
        for j in 1...20_000 {
            let element = (0..<Int.random(in: 0...12, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            distinct.insert(element)
            let a = Self.add(&sparse, element, limit: 1 << 20)
            let b = Self.add(&dense, element)
            #expect(a == b)
            if j == checkpoint || j == 20_000 {
                #expect(sparse[4] == 1)
                #expect(Self.count(sparse) == Self.count(dense))
                #expect(Self.registers(sparse) == Self.registers(dense))
                checkpoint *= 3
            }
        }
        let estimate = Double(Self.count(dense)!)
        #expect(abs(estimate - Double(distinct.count)) < Double(distinct.count) * 0.05)
    }

    @Test func promotionBySizeAndByValue() {
        var h = HyperLogLog.makeEmpty()
        var i = 0
        while h[4] == 1 {
            _ = Self.add(&h, "x\(i)", limit: 100)
            i += 1
            #expect(h.count <= 100 || h.count == HyperLogLog.denseSize)
        }
        #expect(h.count == HyperLogLog.denseSize)
        // A value above 32 cannot be a VAL opcode.
        var v = HyperLogLog.makeEmpty()
        #expect(HyperLogLog.set(&v, index: 5, count: 32, sparseMaxBytes: 3000) == .changed)
        #expect(v[4] == 1)
        #expect(HyperLogLog.set(&v, index: 6, count: 33, sparseMaxBytes: 3000) == .changed)
        #expect(v[4] == 0)
        #expect(Self.registers(v)[5] == 32)
        #expect(Self.registers(v)[6] == 33)
        #expect(HyperLogLog.set(&v, index: 6, count: 33, sparseMaxBytes: 3000) == .unchanged)
    }

    @Test func adjacentValuesMerge() {
        var h = HyperLogLog.makeEmpty()
        for i in 0..<4 { _ = HyperLogLog.set(&h, index: 100 + i, count: 3, sparseMaxBytes: 3000) }
        #expect(Self.decode(h) == "Z:100 v:3,4 Z:16280")
        _ = HyperLogLog.set(&h, index: 104, count: 3, sparseMaxBytes: 3000)
        #expect(Self.decode(h) == "Z:100 v:3,4 v:3,1 Z:16279")
        _ = HyperLogLog.set(&h, index: 101, count: 5, sparseMaxBytes: 3000)
        #expect(Self.decode(h) == "Z:100 v:3,1 v:5,1 v:3,3 Z:16279")
    }

    @Test func cacheBytes() {
        var h = HyperLogLog.makeEmpty()
        HyperLogLog.storeCardinality(&h, 0x0102_0304_0506)
        #expect(h.withUnsafeBytes { HyperLogLog.cachedCardinality($0) } == 0x0102_0304_0506)
        HyperLogLog.invalidateCache(&h)
        #expect(h[15] == 0x80)
        #expect(h[8] == 6)
        #expect(h.withUnsafeBytes { HyperLogLog.cachedCardinality($0) } == nil)
    }

    // MARK: - Merging and counting several

    @Test func mergeIsTheUnion() {
        var a = HyperLogLog.makeEmpty()
        var b = HyperLogLog.makeEmpty()
        var both = HyperLogLog.makeEmpty()
        for i in 0..<3000 {
            _ = Self.add(&a, "a\(i)")
            _ = Self.add(&both, "a\(i)")
        }
        for i in 0..<50 {
            _ = Self.add(&b, "b\(i)")
            _ = Self.add(&both, "b\(i)")
        }
        #expect(a[4] == 0 && b[4] == 1)
        var max = [UInt8](repeating: 0, count: HyperLogLog.registerCount)
        max.withUnsafeMutableBufferPointer { m in
            #expect(a.withUnsafeBytes { HyperLogLog.merge($0, into: m) })
            #expect(b.withUnsafeBytes { HyperLogLog.merge($0, into: m) })
        }
        #expect(max == Self.registers(both))
        #expect(max.withUnsafeBufferPointer { HyperLogLog.cardinality(registers: $0) } == Self.count(both))
    }

    // MARK: - Validation and corruption

    @Test func validity() {
        let valid = HyperLogLog.makeEmpty()
        #expect(valid.withUnsafeBytes { HyperLogLog.isValid($0) })
        #expect(!Array("HYLL".utf8).withUnsafeBytes { HyperLogLog.isValid($0) })
        var wrongMagic = valid
        wrongMagic[3] = UInt8(ascii: "X")
        #expect(!wrongMagic.withUnsafeBytes { HyperLogLog.isValid($0) })
        var encoding2 = valid
        encoding2[4] = 2
        #expect(!encoding2.withUnsafeBytes { HyperLogLog.isValid($0) })
        var shortDense = valid
        shortDense[4] = 0
        #expect(!shortDense.withUnsafeBytes { HyperLogLog.isValid($0) })
    }

    @Test(arguments: [
        [UInt8](),  // no opcodes
        [0x7f, 0xfe],  // 16383 registers
        [0x7f, 0xff, 0x00],  // 16385
        [0x7f, 0xff, 0x80],  // a VAL past the end
        [0x7f],  // an XZERO cut off
    ])
    func corruptSparse(opcodes: [UInt8]) {
        var h = Self.hll(Self.sparseHeader, opcodes)
        #expect(Self.count(h) == nil)
        var max = [UInt8](repeating: 0, count: HyperLogLog.registerCount)
        max.withUnsafeMutableBufferPointer { m in #expect(!h.withUnsafeBytes { HyperLogLog.merge($0, into: m) }) }
        let before = h
        #expect(!HyperLogLog.sparseToDense(&h))
        #expect(h == before)
    }

    @Test func addToCorruptSparse() {
        var empty = Self.hll(Self.sparseHeader, [])
        #expect(Self.add(&empty, "a") == .corrupt)
        // Registers before the missing part can still be set, as in Redis.
        var short = Self.hll(Self.sparseHeader, [0x3f, 0x3f])
        var results: [HyperLogLog.Update] = []
        for e in ["a", "b", "c", "d", "e", "f", "g"] { results.append(Self.add(&short, e)) }
        #expect(results.contains(.corrupt))
    }
}
