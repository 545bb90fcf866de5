import Testing

@testable import SwiftletKeyspace

struct ChainedDictTests {
    /// A node for the tests: an object with its key, its hash and the chain link.
    final class Node {
        let key: [UInt8]
        let hash: Int
        var next: Node?

        init(_ key: [UInt8]) {
            self.key = key
            self.hash = key.withUnsafeBytes { Int(truncatingIfNeeded: KeyHash.hash($0)) }
        }
    }

    enum Links: DictLinks {
        static func next(_ node: Node) -> Node? { node.next }
        static func setNext(_ node: Node, _ next: Node?) { node.next = next }
        static func hash(_ node: Node) -> Int { node.hash }
        static func matches(_ node: Node, _ key: UnsafeRawBufferPointer, hash: Int) -> Bool {
            node.hash == hash && node.key.elementsEqual(key)
        }
        static func isSame(_ a: Node, _ b: Node) -> Bool { a === b }
        static var growsBeforeRehashStep: Bool { false }
    }

    typealias Dict = ChainedDict<Links>

    static func key(_ s: String) -> [UInt8] { Array(s.utf8) }

    static func insert(_ key: [UInt8], into dict: inout Dict) {
        let node = Node(key)
        dict.insert(node, hash: node.hash)
    }

    static func find(_ key: [UInt8], in dict: inout Dict) -> Node? {
        key.withUnsafeBytes { dict.find($0, hash: Int(truncatingIfNeeded: KeyHash.hash($0))) }
    }

    @discardableResult
    static func remove(_ key: [UInt8], from dict: inout Dict) -> Node? {
        key.withUnsafeBytes { dict.remove($0, hash: Int(truncatingIfNeeded: KeyHash.hash($0))) }
    }

    /// SCAN's guarantee: every node present for the whole scan is returned, while the table grows from 256 to 8192
    /// buckets and then shrinks back between the calls, with calls made in the middle of both rehashes.
    @Test func scanCoversStableNodesAcrossGrowAndShrink() {
        var dict = Dict()
        let stable = (0..<200).map { Self.key("stable\($0)") }
        for k in stable { Self.insert(k, into: &dict) }
        var seen = Set<[UInt8]>()
        var cursor: UInt64 = 0
        var step = 0
        var scannedWhileGrowing = false
        var scannedWhileShrinking = false
        repeat {
            if dict.isRehashing {
                if step <= 20 { scannedWhileGrowing = true } else { scannedWhileShrinking = true }
            }
            cursor = dict.scan(cursor) { seen.insert($0.key) }
            step += 1
            if step <= 20 {
                for j in 0..<300 { Self.insert(Self.key("extra\(step)-\(j)"), into: &dict) }
            } else if step <= 40 {
                for j in 0..<300 {
                    Self.remove(Self.key("extra\(step - 20)-\(j)"), from: &dict)
                    dict.shrinkIfNeeded()
                }
            }
        } while cursor != 0
        #expect(step > 40, "the scan outlasts the resizes")
        #expect(scannedWhileGrowing && scannedWhileShrinking)
        for k in stable { #expect(seen.contains(k)) }
        let count = dict.count
        #expect(count == 200)
    }

    /// The same seed gives the same picks on two tables built the same way, in the middle of a rehash too.
    @Test(arguments: [1, 42, 1234])
    func seededPicksReplay(seed: UInt64) {
        func picks(seed: UInt64) -> [[UInt8]] {
            var dict = Dict()
            for i in 0..<1025 { Self.insert(Self.key("m\(i)"), into: &dict) }
            let rehashing = dict.isRehashing
            #expect(rehashing)
            var rng = SplitMix64(seed: seed)
            var out: [[UInt8]] = []
            for _ in 0..<50 {
                // Why `!`: the table is not empty.
                out.append(dict.randomNode(using: &rng)!.key)
                out.append(dict.fairRandomNode(using: &rng)!.key)
                let sample = [Node](unsafeUninitializedCapacity: 5) { buffer, initialized in
                    initialized = dict.sample(5, into: buffer, using: &rng)
                }
                out.append(contentsOf: sample.map(\.key))
            }
            return out
        }
        let first = picks(seed: seed)
        // A sample may come back short (its walk is bounded), so only the two single picks are certain.
        #expect(first.count >= 50 * 2)
        #expect(first == picks(seed: seed))
        #expect(first != picks(seed: seed &+ 1))
    }

    @Test func rehashCompletes() {
        var dict = Dict()
        for i in 0..<100_000 { Self.insert(Self.key("k\(i)"), into: &dict) }
        // (The #expect macro cannot take a property of a noncopyable value: read them into locals first.)
        var rehashing = dict.isRehashing
        #expect(rehashing)
        // A clock that advances 1 ms a reading stops a batch after two readings.
        var now: Int64 = 0
        dict.rehash(milliseconds: 1) {
            now += 1
            return now
        }
        rehashing = dict.isRehashing
        #expect(rehashing)
        while dict.rehash(steps: 1000) {}
        var (count, buckets) = (dict.count, dict.bucketCount)
        rehashing = dict.isRehashing
        #expect(!rehashing && count == 100_000 && buckets == 131_072)
        for i in stride(from: 0, to: 100_000, by: 7) { #expect(Self.find(Self.key("k\(i)"), in: &dict) != nil) }

        // And back down: a shrink is a rehash as well, run to the end with a clock that stands still.
        for i in 10..<100_000 { Self.remove(Self.key("k\(i)"), from: &dict) }
        dict.shrinkIfNeeded()
        rehashing = dict.isRehashing
        #expect(rehashing)
        dict.rehash(milliseconds: 1) { 0 }
        (count, buckets) = (dict.count, dict.bucketCount)
        rehashing = dict.isRehashing
        #expect(!rehashing && count == 10 && buckets == 16)
        for i in 0..<10 { #expect(Self.find(Self.key("k\(i)"), in: &dict) != nil) }
    }

    @Test func replaceKeepsTheChain() {
        var dict = Dict()
        for i in 0..<100 { Self.insert(Self.key("k\(i)"), into: &dict) }
        for i in 0..<100 {
            let key = Self.key("k\(i)")
            // Why `!`: every key was inserted.
            let old = Self.find(key, in: &dict)!
            let new = Node(key)
            new.next = old.next
            dict.replace(old, with: new, hash: old.hash)
            #expect(Self.find(key, in: &dict) === new)
        }
        var visited = 0
        dict.forEachNode { _ in visited += 1 }
        let count = dict.count
        #expect(visited == 100 && count == 100)
    }

    @Test func removeAllDisposesEveryNodeOnce() {
        var dict = Dict()
        for i in 0..<1000 { Self.insert(Self.key("k\(i)"), into: &dict) }
        var disposed = Set<[UInt8]>()
        dict.removeAll { node in
            #expect(node.next == nil)
            disposed.insert(node.key)
        }
        #expect(disposed.count == 1000)
        let (count, buckets, rehashing) = (dict.count, dict.bucketCount, dict.isRehashing)
        #expect(count == 0 && buckets == 0 && !rehashing)
        Self.insert(Self.key("again"), into: &dict)
        #expect(Self.find(Self.key("again"), in: &dict) != nil)
    }
}
