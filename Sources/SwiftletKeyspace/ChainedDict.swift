/// What ``ChainedDict`` needs to know about the nodes it chains. The node types keep their own memory and layout
/// (an ``Entry`` object, a `malloc` block, a ``SortedSetNode``); the dict only threads them into buckets through a
/// link stored in the node, so that a bucket costs one slot and a node no separate entry.
protocol DictLinks {
    /// A handle to one node: a class reference or a raw pointer, kept in the bucket slots as `Node?`.
    associatedtype Node

    static func next(_ node: Node) -> Node?
    static func setNext(_ node: Node, _ next: Node?)

    /// The node's hash, the same value that was given to ``ChainedDict/insert(_:hash:)``. Nodes that keep it read
    /// it back; nodes that save those bytes recompute it from the key (a rehash then hashes each key once more).
    static func hash(_ node: Node) -> Int

    /// Whether `node` holds `key`, whose hash is `hash` (a stored hash lets most mismatches skip the bytes).
    static func matches(_ node: Node, _ key: UnsafeRawBufferPointer, hash: Int) -> Bool

    /// Identity, not key equality: ``ChainedDict/replace(_:with:hash:)`` looks for the link that points at a node.
    static func isSame(_ a: Node, _ b: Node) -> Bool

    /// Whether an insertion checks for growth before its rehash step, rather than after it as Redis's `dictAddRaw`
    /// does. Each table keeps the order it has always had, so that its rehash advances exactly as before.
    static var growsBeforeRehashStep: Bool { get }
}

/// Redis's `dict`, written once for the key table, the hash and set tables and the sorted-set index: chained
/// buckets of power-of-two size and incremental rehashing.
///
/// - Growth never pauses the loop: a resize allocates the new bucket array and then moves one bucket per operation
///   (and a bounded batch per server tick), so even 10M keys never stall it.
/// - SCAN's guarantee: the reverse-binary cursor of `dictScan` returns every node present for the whole scan at
///   least once, across any number of resizes in between.
/// - Random picks and samples (`dictGetRandomKey`, `dictGetFairRandomKey`, `dictGetSomeKeys`) draw from a caller's
///   generator, bucket indices the same way everywhere, so that a seeded generator replays the same picks.
///
/// Internal and generic, so that whole-module optimisation specialises it for each wrapper (``KeyTable``,
/// ``FieldTable``, ``SortedSetIndex``); those are what other modules call. Noncopyable because it owns its bucket
/// arrays. Not thread-safe: one event loop owns it.
struct ChainedDict<Links: DictLinks>: ~Copyable {
    typealias Node = Links.Node
    typealias Buckets = DictBuckets<Links>

    private var tables: (Buckets, Buckets)
    /// Bucket index of table 0 that the rehash will move next; -1 when no rehash is in progress.
    private var rehashIndex = -1
    private(set) var count = 0
    /// Set while a scan callback runs, so that no rehash step can move the nodes of the bucket being walked
    /// (Redis's `pauserehash`).
    private var rehashPaused = 0

    static var initialSize: Int { 4 }
    /// How many nodes ``fairRandomNode(using:)`` draws its pick from, as Redis's `GETFAIR_NUM_ENTRIES`.
    static var fairSampleSize: Int { 20 }

    /// An empty dict; with a `capacity`, its first bucket array is allocated at once, large enough for that many
    /// nodes without a rehash.
    init(capacity: Int = 0) {
        self.tables = (Buckets(size: 0), Buckets(size: 0))
        if capacity > 0 { self.startResize(to: capacity) }
    }

    deinit {
        // Unlinked node by node, so that dropping a long chain of objects never recurses.
        self.tables.0.unlinkAll { _ in }
        self.tables.1.unlinkAll { _ in }
        self.tables.0.release()
        self.tables.1.release()
    }

    var isRehashing: Bool { self.rehashIndex >= 0 }

    /// Number of buckets of both tables (for `MEMORY STATS`, MEMORY USAGE and tests).
    var bucketCount: Int { self.tables.0.size + self.tables.1.size }

    // MARK: - Lookup

    mutating func find(_ key: UnsafeRawBufferPointer, hash: Int) -> Node? {
        if self.count == 0 { return nil }
        self.rehashStepIfNeeded()
        if let node = self.tables.0.find(key, hash: hash) { return node }
        return self.rehashIndex >= 0 ? self.tables.1.find(key, hash: hash) : nil
    }

    // MARK: - Insertion and removal

    /// Links a node whose key is known not to be present.
    /// - Parameter mayGrow: `false` holds back a resize the insertion would start, unless the table is more than
    ///   1.618 times full (Redis's `dictTypeExpandAllowed`, which a memory limit uses).
    mutating func insert(_ node: Node, hash: Int, mayGrow: Bool = true) {
        if Links.growsBeforeRehashStep {
            if mayGrow || self.count * 1000 > self.tables.0.size * 1618 { self.expandIfNeeded() }
            self.rehashStepIfNeeded()
        } else {
            self.rehashStepIfNeeded()
            self.expandIfNeeded()
        }
        // During a rehash new nodes go to the new table, so table 0 only empties.
        if self.rehashIndex >= 0 {
            self.tables.1.push(node, hash: hash)
        } else {
            self.tables.0.push(node, hash: hash)
        }
        self.count += 1
    }

    /// Unlinks and returns the node holding `key`; the caller owns it from then on.
    mutating func remove(_ key: UnsafeRawBufferPointer, hash: Int) -> Node? {
        if self.count == 0 { return nil }
        self.rehashStepIfNeeded()
        if let node = self.tables.0.unlink(key, hash: hash) {
            self.count -= 1
            return node
        }
        if self.rehashIndex >= 0, let node = self.tables.1.unlink(key, hash: hash) {
            self.count -= 1
            return node
        }
        return nil
    }

    /// Points the link that referenced `old` at `new`, which must already carry `old`'s `next`. The chains are
    /// compared by identity and `old` is never read, so it may be a block that `realloc` has just moved.
    mutating func replace(_ old: Node, with new: Node, hash: Int) {
        if !self.tables.0.relink(old, to: new, hash: hash) {
            let moved = self.tables.1.relink(old, to: new, hash: hash)
            precondition(moved, "replace of a node that is not in the table")
        }
    }

    /// Drops every node, handing each to `dispose` once the table has let go of it (``FieldTable`` frees its
    /// blocks), and goes back to the unallocated state.
    mutating func removeAll(disposing dispose: (Node) -> Void = { _ in }) {
        self.tables.0.unlinkAll(dispose)
        self.tables.1.unlinkAll(dispose)
        self.tables.0.release()
        self.tables.1.release()
        self.tables = (Buckets(size: 0), Buckets(size: 0))
        self.rehashIndex = -1
        self.count = 0
    }

    // MARK: - Resizing

    /// The bytes of the bucket array the next insertion would allocate to grow, or `nil` when it would not grow.
    var bytesToGrowOnInsert: Int? {
        if self.rehashIndex >= 0 || self.tables.0.size == 0 || self.count < self.tables.0.size { return nil }
        var size = Self.initialSize
        while size < self.count + 1 { size <<= 1 }
        return size * MemoryLayout<Int>.size
    }

    private mutating func expandIfNeeded() {
        if self.rehashIndex >= 0 { return }
        if self.tables.0.size == 0 {
            self.startResize(to: Self.initialSize)
        } else if self.count >= self.tables.0.size {
            self.startResize(to: self.count + 1)
        }
    }

    /// Shrinks when less than 10% full (Redis's `htNeedsResize`). The key table calls it from the server tick, the
    /// other tables after each removal, as Redis does for sets, hashes and sorted sets.
    mutating func shrinkIfNeeded() {
        let size = self.tables.0.size
        if self.rehashIndex >= 0 || size <= Self.initialSize { return }
        if self.count * 10 < size { self.startResize(to: max(self.count, Self.initialSize)) }
    }

    private mutating func startResize(to minimum: Int) {
        var size = Self.initialSize
        while size < minimum { size <<= 1 }
        if size == self.tables.0.size { return }
        if self.tables.0.size == 0 {
            // Nothing to move: the first bucket array is table 0 from the start.
            self.tables.0.release()
            self.tables.0 = Buckets(size: size)
            return
        }
        self.tables.1 = Buckets(size: size)
        self.rehashIndex = 0
    }

    /// Moves one non-empty bucket (visiting at most 10 empty ones) unless a scan has paused rehashing.
    private mutating func rehashStepIfNeeded() {
        if self.rehashIndex >= 0 && self.rehashPaused == 0 { self.rehash(steps: 1) }
    }

    /// Performs up to `steps` bucket moves, visiting at most ten empty buckets per step so that a sparse table
    /// bounds the work too. Returns `true` while the rehash still has work to do.
    @discardableResult
    mutating func rehash(steps: Int) -> Bool {
        guard self.rehashIndex >= 0 else { return false }
        var emptyVisits = steps * 10
        var remaining = steps
        while remaining > 0 && self.tables.0.used > 0 {
            while self.tables.0.slots[self.rehashIndex] == nil {
                self.rehashIndex += 1
                emptyVisits -= 1
                if emptyVisits == 0 { return true }
            }
            var node = self.tables.0.slots[self.rehashIndex]
            self.tables.0.slots[self.rehashIndex] = nil
            while let n = node {
                node = Links.next(n)
                self.tables.0.used -= 1
                self.tables.1.push(n, hash: Links.hash(n))
            }
            self.rehashIndex += 1
            remaining -= 1
        }
        if self.tables.0.used == 0 {
            self.tables.0.release()
            self.tables.0 = self.tables.1
            self.tables.1 = Buckets(size: 0)
            self.rehashIndex = -1
            return false
        }
        return true
    }

    /// Rehashes for about `milliseconds` (Redis's `dictRehashMilliseconds`, run from the server tick).
    mutating func rehash(milliseconds: Int, clock: () -> Int64) {
        guard self.rehashIndex >= 0, self.rehashPaused == 0 else { return }
        let start = clock()
        while self.rehash(steps: 100) {
            if clock() - start > Int64(milliseconds) { break }
        }
    }

    // MARK: - Iteration and scanning

    /// Calls `body` for every node. The table must not be modified meanwhile (collect, then modify).
    func forEachNode(_ body: (Node) throws -> Void) rethrows {
        for i in 0..<self.tables.0.size { try self.tables.0.forEachNode(inBucket: i, body) }
        for i in 0..<self.tables.1.size { try self.tables.1.forEachNode(inBucket: i, body) }
    }

    /// One step of a SCAN: calls `body` for the nodes of the bucket(s) under `cursor` and returns the next cursor
    /// (0 when the scan is complete). The reverse-binary increment makes the cursor valid across resizes: it walks
    /// the high bits of the bucket index first, so the buckets a resize splits or merges are visited together.
    /// `body` must not use the table: the scan holds it exclusively while `body` runs.
    mutating func scan(_ cursor: UInt64, _ body: (Node) -> Void) -> UInt64 {
        if self.count == 0 { return 0 }
        self.rehashPaused += 1
        defer { self.rehashPaused -= 1 }
        var v = cursor
        if self.rehashIndex < 0 {
            let mask = UInt64(self.tables.0.size - 1)
            self.tables.0.forEachNode(inBucket: Int(v & mask), body)
            v = Self.nextCursor(v, mask: mask)
        } else {
            var small = self.tables.0
            var large = self.tables.1
            if small.size > large.size { swap(&small, &large) }
            let m0 = UInt64(small.size - 1)
            let m1 = UInt64(large.size - 1)
            small.forEachNode(inBucket: Int(v & m0), body)
            // Every bucket of the larger table that expands from the small table's bucket.
            repeat {
                large.forEachNode(inBucket: Int(v & m1), body)
                v = Self.nextCursor(v, mask: m1)
            } while v & (m0 ^ m1) != 0
        }
        return v
    }

    /// Calls `body` with the address of the first node of each bucket that the next `steps` scan steps from `cursor`
    /// will visit, read straight from the slots: nothing is retained and no node is dereferenced. A walk over a
    /// large table misses the cache at every bucket and node (the reverse-binary cursor jumps across the array);
    /// touching what comes next in a batch lets those misses overlap (see ``KeyspaceSnapshot``). Does nothing while
    /// a rehash is in progress (two arrays); the scan itself is unaffected either way.
    func forEachScanHead(_ cursor: UInt64, steps: Int, _ body: (UnsafeRawPointer) -> Void) {
        if self.count == 0 || self.rehashIndex >= 0 { return }
        let mask = UInt64(self.tables.0.size - 1)
        let slots = UnsafeRawPointer(self.tables.0.slots)
        var v = cursor
        for _ in 0..<steps {
            // A `Node?` is one pointer-sized word, zero for nil, whether the node is an object or a raw pointer.
            if let head = slots.load(
                fromByteOffset: Int(v & mask) &* MemoryLayout<Node?>.stride,
                as: UnsafeRawPointer?.self
            ) {
                body(head)
            }
            v = Self.nextCursor(v, mask: mask)
            if v == 0 { return }
        }
    }

    /// Sets the bits above `mask` and increments the reversed cursor.
    private static func nextCursor(_ cursor: UInt64, mask: UInt64) -> UInt64 {
        var r = (cursor | ~mask).bitSwapped
        r &+= 1
        return r.bitSwapped
    }

    // MARK: - Random picks and samples

    /// A bucket index in `0...mask` for a power-of-two table. Every pick of a bucket goes through here, so that a
    /// seeded generator gives the same sequence in every table.
    @inline(__always)
    private static func randomBucket(mask: Int, using rng: inout some RandomNumberGenerator) -> Int {
        Int(truncatingIfNeeded: rng.next() & UInt64(truncatingIfNeeded: mask))
    }

    /// A uniformly chosen non-empty bucket, then a uniform pick in its chain (Redis's `dictGetRandomKey`), or `nil`
    /// when empty. Members of short chains come up more often than those of long ones; see
    /// ``fairRandomNode(using:)``.
    mutating func randomNode(using rng: inout some RandomNumberGenerator) -> Node? {
        if self.count == 0 { return nil }
        self.rehashStepIfNeeded()
        var head: Node?
        if self.rehashIndex >= 0 {
            // Buckets of table 0 below rehashIndex are empty: draw from the rest of table 0 and all of table 1.
            let s0 = self.tables.0.size
            let span = UInt64(s0 + self.tables.1.size - self.rehashIndex)
            repeat {
                let i = self.rehashIndex + Int(rng.next(upperBound: span))
                head = i >= s0 ? self.tables.1.slots[i - s0] : self.tables.0.slots[i]
            } while head == nil
        } else {
            let mask = self.tables.0.size - 1
            repeat {
                head = self.tables.0.slots[Self.randomBucket(mask: mask, using: &rng)]
            } while head == nil
        }
        var length = 0
        var node = head
        while let n = node {
            length += 1
            node = Links.next(n)
        }
        var pick = length == 1 ? 0 : Int(rng.next(upperBound: UInt64(length)))
        node = head
        while pick > 0, let n = node {
            node = Links.next(n)
            pick -= 1
        }
        return node
    }

    /// A random node, as fair as Redis's `dictGetFairRandomKey` (SRANDMEMBER, SPOP, HRANDFIELD): up to 20 nodes
    /// gathered from consecutive buckets at a random place (``sample(_:into:using:)``), then one of them uniformly.
    /// A pick of a bucket and then of its chain alone favours the members of short chains: with a 10-member set,
    /// SRANDMEMBER -1000 failed the chi-square test of Redis's suite.
    mutating func fairRandomNode(using rng: inout some RandomNumberGenerator) -> Node? {
        if self.count == 0 { return nil }
        let wanted = min(Self.fairSampleSize, self.count)
        let picked: Node? = withUnsafeTemporaryAllocation(of: Node.self, capacity: Self.fairSampleSize) { sample in
            let found = self.sample(wanted, into: sample, using: &rng)
            if found == 0 { return nil }
            let pick = sample[Int(rng.next(upperBound: UInt64(found)))]
            // Why `!`: the buffer holds `fairSampleSize` (non-zero) elements.
            sample.baseAddress!.deinitialize(count: found)
            return pick
        }
        // A sparse table can leave the sample empty after its bounded walk.
        return picked ?? self.randomNode(using: &rng)
    }

    /// Up to `wanted` nodes from consecutive buckets starting at a random one (Redis's `dictGetSomeKeys`, with its
    /// jump to a new random place after a run of empty buckets), initialized into the start of `buffer`; returns
    /// how many. Cheap, but not uniform, and with duplicates only when `wanted` exceeds the count.
    mutating func sample(
        _ wanted: Int,
        into buffer: UnsafeMutableBufferPointer<Node>,
        using rng: inout some RandomNumberGenerator
    ) -> Int {
        precondition(wanted <= buffer.count, "a sample larger than its buffer")
        if self.count == 0 || wanted <= 0 { return 0 }
        self.rehashStepIfNeeded()
        let rehashing = self.rehashIndex >= 0
        let mask = max(self.tables.0.size, rehashing ? self.tables.1.size : 0) - 1
        var i = Self.randomBucket(mask: mask, using: &rng)
        var stored = 0
        var emptyRun = 0
        var steps = wanted * 10
        while stored < wanted && steps > 0 {
            steps -= 1
            for t in 0..<(rehashing ? 2 : 1) {
                let buckets = t == 0 ? self.tables.0 : self.tables.1
                // Buckets of table 0 below rehashIndex are empty (moved to table 1); past the end of table 1 as
                // well, nothing is left before rehashIndex, so jump there.
                if rehashing && t == 0 && i < self.rehashIndex {
                    if i >= self.tables.1.size { i = self.rehashIndex } else { continue }
                }
                if i >= buckets.size { continue }
                guard var node = buckets.slots[i] else {
                    emptyRun += 1
                    if emptyRun >= 5 && emptyRun > wanted {
                        i = Self.randomBucket(mask: mask, using: &rng)
                        emptyRun = 0
                    }
                    continue
                }
                emptyRun = 0
                while true {
                    // Why `!`: `wanted` > 0 elements fit, so the buffer has a base address.
                    (buffer.baseAddress! + stored).initialize(to: node)
                    stored += 1
                    if stored == wanted { return stored }
                    guard let next = Links.next(node) else { break }
                    node = next
                }
            }
            i = (i + 1) & mask
        }
        return stored
    }
}

/// A bucket array: a manually managed block of `Node?` slots, so that indexing costs no bounds or uniqueness
/// checks on the hot path. Its owner (``ChainedDict``) releases it.
struct DictBuckets<Links: DictLinks> {
    typealias Node = Links.Node

    let slots: UnsafeMutablePointer<Node?>
    let size: Int
    /// Nodes linked from this array.
    var used = 0

    init(size: Int) {
        self.size = size
        self.slots = UnsafeMutablePointer<Node?>.allocate(capacity: max(size, 1))
        self.slots.initialize(repeating: nil, count: max(size, 1))
    }

    /// Frees the slots (releasing what they still reference).
    func release() {
        self.slots.deinitialize(count: max(self.size, 1))
        self.slots.deallocate()
    }

    /// Empties every bucket, unlinking each node before it is handed to `dispose`.
    func unlinkAll(_ dispose: (Node) -> Void) {
        for i in 0..<self.size {
            var node = self.slots[i]
            self.slots[i] = nil
            while let n = node {
                node = Links.next(n)
                Links.setNext(n, nil)
                dispose(n)
            }
        }
    }

    @inline(__always)
    func find(_ key: UnsafeRawBufferPointer, hash: Int) -> Node? {
        if self.size == 0 { return nil }
        var node = self.slots[hash & (self.size - 1)]
        while let n = node {
            if Links.matches(n, key, hash: hash) { return n }
            node = Links.next(n)
        }
        return nil
    }

    mutating func push(_ node: Node, hash: Int) {
        let i = hash & (self.size - 1)
        Links.setNext(node, self.slots[i])
        self.slots[i] = node
        self.used += 1
    }

    mutating func unlink(_ key: UnsafeRawBufferPointer, hash: Int) -> Node? {
        if self.size == 0 { return nil }
        let i = hash & (self.size - 1)
        var previous: Node?
        var node = self.slots[i]
        while let n = node {
            if Links.matches(n, key, hash: hash) {
                if let previous {
                    Links.setNext(previous, Links.next(n))
                } else {
                    self.slots[i] = Links.next(n)
                }
                Links.setNext(n, nil)
                self.used -= 1
                return n
            }
            previous = n
            node = Links.next(n)
        }
        return nil
    }

    /// Points the link that referenced `old` at `new`, comparing by identity only: `old` is never dereferenced.
    func relink(_ old: Node, to new: Node, hash: Int) -> Bool {
        if self.size == 0 { return false }
        let i = hash & (self.size - 1)
        guard var node = self.slots[i] else { return false }
        if Links.isSame(node, old) {
            self.slots[i] = new
            return true
        }
        while let next = Links.next(node) {
            if Links.isSame(next, old) {
                Links.setNext(node, new)
                return true
            }
            node = next
        }
        return false
    }

    /// Calls `body` for the nodes of one bucket; the next node is read first, so `body` may unlink the current one.
    func forEachNode(inBucket index: Int, _ body: (Node) throws -> Void) rethrows {
        var node = self.slots[index]
        while let n = node {
            node = Links.next(n)
            try body(n)
        }
    }
}

extension UInt64 {
    /// The bits in reverse order (bit 0 becomes bit 63), for the SCAN cursor.
    var bitSwapped: UInt64 {
        var v = self
        v = ((v >> 1) & 0x5555_5555_5555_5555) | ((v & 0x5555_5555_5555_5555) << 1)
        v = ((v >> 2) & 0x3333_3333_3333_3333) | ((v & 0x3333_3333_3333_3333) << 2)
        v = ((v >> 4) & 0x0F0F_0F0F_0F0F_0F0F) | ((v & 0x0F0F_0F0F_0F0F_0F0F) << 4)
        return v.byteSwapped
    }
}
