import Testing

@testable import SwiftletKeyspace

/// A small deterministic generator (SplitMix64), so that failures reproduce.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

struct ListValueTests {
    static let samples: [[UInt8]] =
        [
            "", "a", "b", "hello", "0", "1", "-1", "127", "128", "-4096", "4095", "4096", "-4097", "32767", "32768",
            "-32768", "-32769", "8388607", "8388608", "-8388608", "-8388609", "2147483647", "2147483648",
            "-2147483648", "-2147483649", "9223372036854775807", "-9223372036854775808", "9223372036854775808",
            "01", "-0", "+1", "1.5", " 1",
        ].map { Array($0.utf8) } + [
            [UInt8](repeating: 120, count: 63), [UInt8](repeating: 121, count: 64),
            [UInt8](repeating: 122, count: 4095),
            [UInt8](repeating: 119, count: 4096), [UInt8](repeating: 118, count: 20000), [0, 255, 13, 10],
        ]

    @Test func everyEncodingRoundTrips() {
        let list = ListValue(Self.samples)
        #expect(list.count == Self.samples.count)
        #expect(list.elements == Self.samples)
        for (i, sample) in Self.samples.enumerated() {
            #expect(list.withElement(at: i) { Array($0) } == sample)
        }
        var reversed: [[UInt8]] = []
        list.forEach(from: list.count - 1, count: list.count, reversed: true) { reversed.append(Array($0)) }
        #expect(reversed == Self.samples.reversed())
    }

    @Test func smallElementsArePacked() {
        let list = ListValue()
        for i in 0..<10_000 { Array("value:\(i)".utf8).withUnsafeBytes { list.append($0) } }
        // ~13 bytes of entry per element, in 8 KiB nodes.
        #expect(list.memoryUsage < 10_000 * 16)
        #expect(list.nodeCount < 20)
    }

    /// Random operations against an array model, with node limits small enough that every path (growth,
    /// neighbours, splits, whole-node drops) is taken.
    @Test(arguments: [-2, -1, 1, 2, 3, 7])
    func matchesArrayModel(fill: Int) {
        var rng = SplitMix(state: UInt64(bitPattern: Int64(fill)) &+ 99)
        let list = ListValue(fill: fill)
        var model: [[UInt8]] = []
        func pick() -> [UInt8] { Self.samples[Int.random(in: 0..<Self.samples.count, using: &rng)] }
        for step in 0..<6000 {
            let op = Int.random(in: 0..<14, using: &rng)
            switch op {
            case 0, 1:
                let e = pick()
                e.withUnsafeBytes { list.append($0) }
                model.append(e)
            case 2, 3:
                let e = pick()
                e.withUnsafeBytes { list.prepend($0) }
                model.insert(e, at: 0)
            case 4:
                let head = Bool.random(using: &rng)
                #expect(list.popEnd(atHead: head) == (head ? model.first : model.last))
                if !model.isEmpty { if head { model.removeFirst() } else { model.removeLast() } }
            case 5:
                let n = Int.random(in: 0...5, using: &rng)
                if Bool.random(using: &rng) {
                    list.removeFirst(n)
                    model.removeFirst(min(n, model.count))
                } else {
                    list.removeLast(n)
                    model.removeLast(min(n, model.count))
                }
            case 6:
                let i = Int.random(in: -3...(model.count + 2), using: &rng)
                let e = pick()
                let done = e.withUnsafeBytes { list.replace(at: i, with: $0) }
                let j = i < 0 ? model.count + i : i
                #expect(done == (j >= 0 && j < model.count))
                if j >= 0 && j < model.count { model[j] = e }
            case 7:
                let pivot = pick()
                let e = pick()
                let after = Bool.random(using: &rng)
                let done = e.withUnsafeBytes { b in
                    pivot.withUnsafeBytes { list.insert(b, relativeTo: $0, after: after) }
                }
                if let k = model.firstIndex(of: pivot) {
                    model.insert(e, at: after ? k + 1 : k)
                    #expect(done)
                } else {
                    #expect(!done)
                }
            case 8:
                let e = pick()
                let limit = Int.random(in: 0...3, using: &rng)
                let fromTail = Bool.random(using: &rng)
                let removed = e.withUnsafeBytes { list.remove($0, limit: limit, fromTail: fromTail) }
                var indexes = model.indices.filter { model[$0] == e }
                if fromTail { indexes.reverse() }
                if limit > 0 { indexes = Array(indexes.prefix(limit)) }
                for k in indexes.sorted(by: >) { model.remove(at: k) }
                #expect(removed == indexes.count)
            case 9:
                let a = Int.random(in: 0...3, using: &rng)
                let b = Int.random(in: 0...3, using: &rng)
                list.trim(dropFirst: a, dropLast: b)
                model.removeFirst(min(a, model.count))
                model.removeLast(min(b, model.count))
            case 10:
                if !model.isEmpty {
                    let i = Int.random(in: 0..<model.count, using: &rng)
                    #expect(list.withElement(at: i) { Array($0) } == model[i])
                }
            case 11:
                if !model.isEmpty {
                    let start = Int.random(in: 0..<model.count, using: &rng)
                    let reversed = Bool.random(using: &rng)
                    let n = Int.random(in: 1...(reversed ? start + 1 : model.count - start), using: &rng)
                    var got: [[UInt8]] = []
                    list.forEach(from: start, count: n, reversed: reversed) { got.append(Array($0)) }
                    let want =
                        reversed ? Array(model[(start - n + 1)...start].reversed()) : Array(model[start..<(start + n)])
                    #expect(got == want)
                }
            default:
                let e = pick()
                let reversed = Bool.random(using: &rng)
                var got: [Int] = []
                e.withUnsafeBytes {
                    list.scan(for: ListNeedle($0), reversed: reversed, limit: 0) {
                        got.append($0)
                        return true
                    }
                }
                let order = reversed ? Array(model.reversed()) : model
                #expect(got == order.indices.filter { order[$0] == e })
            }
            #expect(list.count == model.count, "step \(step)")
            if step % 500 == 0 || list.count != model.count {
                #expect(list.elements == model, "step \(step)")
                if list.count != model.count { return }
            }
        }
        #expect(list.elements == model)
        #expect(list.copy().elements == model)
    }

    /// A million pops stay O(1) each: popping every element of a million-element list from either end takes
    /// about as long per pop as from a thousand-element one (a copying pop would take hours).
    @Test func millionPopsAreConstantTime() {
        let list = ListValue()
        for i in 0..<1_000_000 {
            Array("element-\(i)".utf8).withUnsafeBytes { i % 2 == 0 ? list.append($0) : list.prepend($0) }
        }
        #expect(list.count == 1_000_000)
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            var popped = 0
            while list.count > 0 {
                list.removeEnd(atHead: popped % 3 != 0)
                popped += 1
            }
        }
        #expect(list.nodeCount == 0)
        #expect(elapsed < .seconds(20))
    }
}
