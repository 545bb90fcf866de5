#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The `hashtable` encoding of sets and hashes: a chained hash table of binary-safe keys, each with an optional
/// value, growing and shrinking by incremental rehashing, with Redis's reverse-binary SCAN cursor.
///
/// Every element is one `malloc` block (a *node*), laid out as
/// `[next: 8 bytes][key length: varint][key bytes][value length: varint][value bytes]`
/// (the value part only when the table has values). One block per element, no object header and lengths of one
/// byte for short strings keep an element of a 1M-member set at about the bytes Redis spends on its `dictEntry`
/// and `sds` (see the memory figures in the family's report).
///
/// A node pointer stays valid until the table is mutated. Not thread-safe: one event loop owns it.
public final class FieldTable {
    public typealias Node = UnsafeMutableRawPointer

    @exclusivity(unchecked)
    private var tables: (FieldBuckets, FieldBuckets)
    /// Bucket index of table 0 that the rehash moves next; -1 when no rehash is in progress.
    @exclusivity(unchecked)
    private var rehashIndex = -1
    @exclusivity(unchecked)
    public private(set) var count = 0
    /// Set while a scan callback runs: no rehash step may move nodes under it.
    @exclusivity(unchecked)
    private var rehashPaused = 0
    /// Bytes requested from `malloc` for the nodes (MEMORY USAGE).
    @exclusivity(unchecked)
    public private(set) var nodeBytes = 0
    /// Whether nodes carry a value (hashes) or only a key (sets).
    public let hasValues: Bool

    static let initialSize = 4

    public init(hasValues: Bool, capacity: Int = 0) {
        self.hasValues = hasValues
        self.tables = (FieldBuckets(size: 0), FieldBuckets(size: 0))
        if capacity > 0 { self.startResize(to: capacity) }
    }

    deinit {
        self.removeAll()
    }

    public var isRehashing: Bool { self.rehashIndex >= 0 }
    public var bucketCount: Int { self.tables.0.size + self.tables.1.size }

    /// Approximate heap bytes: nodes as malloc rounds them, plus the bucket arrays.
    public var memoryUsage: Int {
        // glibc adds 8 bytes per chunk and rounds to 16; averaged, that is about 16 bytes per node.
        64 + self.nodeBytes + self.count * 16 + self.bucketCount * 8
    }

    // MARK: - Node layout

    @inline(__always)
    static func next(_ node: Node) -> Node? {
        node.load(as: Node?.self)
    }

    @inline(__always)
    static func setNext(_ node: Node, _ next: Node?) {
        node.storeBytes(of: next, as: Node?.self)
    }

    /// The key bytes of a node, valid until the table is mutated.
    @inline(__always)
    public static func key(_ node: Node) -> UnsafeRawBufferPointer {
        let (length, size) = VarLength.read(UnsafeRawPointer(node + 8))
        return UnsafeRawBufferPointer(start: node + 8 + size, count: length)
    }

    /// The value bytes of a node of a table with values, valid until the table is mutated.
    @inline(__always)
    public static func value(_ node: Node) -> UnsafeRawBufferPointer {
        let key = FieldTable.key(node)
        let start = key.baseAddress! + key.count  // a key buffer always has a base address (inside the node)
        let (length, size) = VarLength.read(start)
        return UnsafeRawBufferPointer(start: start + size, count: length)
    }

    /// Byte offset of the value's length field.
    @inline(__always)
    static func valueOffset(_ node: Node) -> Int {
        let (length, size) = VarLength.read(UnsafeRawPointer(node + 8))
        return 8 + size + length
    }

    static func nodeSize(key: Int, value: Int?) -> Int {
        var size = 8 + VarLength.size(key) + key
        if let value { size += VarLength.size(value) + value }
        return size
    }

    private func makeNode(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer?) -> Node {
        let size = FieldTable.nodeSize(key: key.count, value: value?.count)
        // Why `!`: allocation failure is fatal everywhere in Swift.
        let node = malloc(size)!
        FieldTable.setNext(node, nil)
        var offset = 8 + VarLength.write(key.count, to: node + 8)
        if key.count > 0 { (node + offset).copyMemory(from: key.baseAddress!, byteCount: key.count) }
        offset += key.count
        if let value {
            offset += VarLength.write(value.count, to: node + offset)
            if value.count > 0 { (node + offset).copyMemory(from: value.baseAddress!, byteCount: value.count) }
        }
        self.nodeBytes += size
        return node
    }

    private func freeNode(_ node: Node) {
        let key = FieldTable.key(node)
        self.nodeBytes -=
            self.hasValues
            ? FieldTable.nodeSize(key: key.count, value: FieldTable.value(node).count)
            : FieldTable.nodeSize(key: key.count, value: nil)
        free(node)
    }

    @inline(__always)
    static func hash(_ key: UnsafeRawBufferPointer) -> Int {
        Int(truncatingIfNeeded: KeyHash.hash(key))
    }

    // MARK: - Lookup

    /// The node holding `key`, valid until the table is mutated.
    public func find(_ key: UnsafeRawBufferPointer) -> Node? {
        if self.count == 0 { return nil }
        return self.find(key, hash: FieldTable.hash(key))
    }

    private func find(_ key: UnsafeRawBufferPointer, hash: Int) -> Node? {
        if self.rehashIndex >= 0 { self.rehashStep() }
        if let node = self.tables.0.find(key, hash: hash) { return node }
        if self.rehashIndex >= 0 { return self.tables.1.find(key, hash: hash) }
        return nil
    }

    public func contains(_ key: UnsafeRawBufferPointer) -> Bool {
        self.find(key) != nil
    }

    // MARK: - Insertion, update, removal

    /// Adds `key` if absent (a set's SADD). Returns `true` when it was added.
    @discardableResult
    public func insert(_ key: UnsafeRawBufferPointer) -> Bool {
        let hash = FieldTable.hash(key)
        if self.count > 0 && self.find(key, hash: hash) != nil { return false }
        self.link(self.makeNode(key, nil), hash: hash)
        return true
    }

    /// Sets the value of `key`, adding it when absent. Returns `true` when the key was added.
    @discardableResult
    public func set(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Bool {
        let hash = FieldTable.hash(key)
        if self.count > 0, let node = self.find(key, hash: hash) {
            self.replaceValue(node, value, hash: hash)
            return false
        }
        self.link(self.makeNode(key, value), hash: hash)
        return true
    }

    /// Adds a key known to be absent (conversions and copies), without the lookup.
    public func insertNew(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer?) {
        self.link(self.makeNode(key, value), hash: FieldTable.hash(key))
    }

    private func link(_ node: Node, hash: Int) {
        // Redis's order: a rehash step, then the growth check, then the insertion.
        if self.rehashIndex >= 0 { self.rehashStep() }
        self.expandIfNeeded()
        // During a rehash new nodes go to the new table, so table 0 only empties.
        if self.rehashIndex >= 0 {
            self.tables.1.push(node, hash: hash)
        } else {
            self.tables.0.push(node, hash: hash)
        }
        self.count += 1
    }

    /// Replaces a node's value in place (the block is resized with `realloc`, and relinked if it moved).
    private func replaceValue(_ node: Node, _ value: UnsafeRawBufferPointer, hash: Int) {
        let offset = FieldTable.valueOffset(node)
        let (oldLength, oldSize) = VarLength.read(UnsafeRawPointer(node + offset))
        let oldTotal = offset + oldSize + oldLength
        let newTotal = offset + VarLength.size(value.count) + value.count
        var target = node
        if newTotal != oldTotal {
            // Why `!`: allocation failure is fatal everywhere in Swift.
            target = realloc(node, newTotal)!
            self.nodeBytes += newTotal - oldTotal
            if target != node {
                if !self.tables.0.relink(node, to: target, hash: hash) {
                    let moved = self.tables.1.relink(node, to: target, hash: hash)
                    precondition(moved, "a node that is in neither table")
                }
            }
        }
        let size = VarLength.write(value.count, to: target + offset)
        if value.count > 0 { (target + offset + size).copyMemory(from: value.baseAddress!, byteCount: value.count) }
    }

    /// Removes `key`; returns `true` if it was present.
    @discardableResult
    public func remove(_ key: UnsafeRawBufferPointer) -> Bool {
        if self.count == 0 { return false }
        let hash = FieldTable.hash(key)
        if self.rehashIndex >= 0 { self.rehashStep() }
        var node = self.tables.0.unlink(key, hash: hash)
        if node == nil && self.rehashIndex >= 0 { node = self.tables.1.unlink(key, hash: hash) }
        guard let node else { return false }
        self.freeNode(node)
        self.count -= 1
        self.shrinkIfNeeded()
        return true
    }

    /// Removes a node found by ``find(_:)``, ``randomNode(using:)`` or a scan.
    public func remove(node: Node) {
        // The key lives in the node itself; it is read before the node is freed.
        let removed = self.remove(FieldTable.key(node))
        precondition(removed, "removal of a node that is not in the table")
    }

    /// Drops every node.
    public func removeAll() {
        self.tables.0.release(freeingNodes: true)
        self.tables.1.release(freeingNodes: true)
        self.tables = (FieldBuckets(size: 0), FieldBuckets(size: 0))
        self.rehashIndex = -1
        self.count = 0
        self.nodeBytes = 0
    }

    /// An independent copy (COPY, SUNIONSTORE of one set).
    public func copy() -> FieldTable {
        let copy = FieldTable(hasValues: self.hasValues, capacity: self.count)
        self.forEachNode { node in
            copy.insertNew(FieldTable.key(node), self.hasValues ? FieldTable.value(node) : nil)
        }
        return copy
    }

    // MARK: - Resizing

    private func expandIfNeeded() {
        if self.rehashIndex >= 0 { return }
        if self.tables.0.size == 0 {
            self.startResize(to: FieldTable.initialSize)
        } else if self.count >= self.tables.0.size {
            self.startResize(to: self.count + 1)
        }
    }

    /// Shrinks when less than 10% full, as Redis does after each removal from a set or hash
    /// (`htNeedsResize` + `dictResize`).
    private func shrinkIfNeeded() {
        let size = self.tables.0.size
        if self.rehashIndex >= 0 || size <= FieldTable.initialSize { return }
        if self.count * 100 / size < 10 { self.startResize(to: max(self.count, FieldTable.initialSize)) }
    }

    private func startResize(to minimum: Int) {
        var size = FieldTable.initialSize
        while size < minimum { size <<= 1 }
        if size == self.tables.0.size { return }
        if self.tables.0.size == 0 {
            self.tables.0.release(freeingNodes: false)
            self.tables.0 = FieldBuckets(size: size)
            return
        }
        self.tables.1 = FieldBuckets(size: size)
        self.rehashIndex = 0
    }

    private func rehashStep() {
        if self.rehashPaused == 0 { self.rehash(steps: 1) }
    }

    /// Moves up to `steps` buckets (visiting at most ten empty ones per step) to the new table.
    @discardableResult
    public func rehash(steps: Int) -> Bool {
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
                node = FieldTable.next(n)
                self.tables.0.used -= 1
                self.tables.1.push(n, hash: FieldTable.hash(FieldTable.key(n)))
            }
            self.rehashIndex += 1
            remaining -= 1
        }
        if self.tables.0.used == 0 {
            self.tables.0.release(freeingNodes: false)
            self.tables.0 = self.tables.1
            self.tables.1 = FieldBuckets(size: 0)
            self.rehashIndex = -1
            return false
        }
        return true
    }

    // MARK: - Iteration, scanning, sampling

    /// Calls `body` for every node. The table must not be mutated meanwhile.
    public func forEachNode(_ body: (Node) throws -> Void) rethrows {
        for t in 0..<2 {
            let table = t == 0 ? self.tables.0 : self.tables.1
            for i in 0..<table.size {
                var node = table.slots[i]
                while let n = node {
                    node = FieldTable.next(n)
                    try body(n)
                }
            }
        }
    }

    /// One step of HSCAN/SSCAN: calls `body` for the nodes of the bucket(s) under `cursor` and returns the next
    /// cursor (0 when complete). Redis's reverse-binary increment keeps the guarantee across resizes: a key present
    /// for the whole scan is returned at least once.
    public func scan(_ cursor: UInt64, _ body: (Node) -> Void) -> UInt64 {
        if self.count == 0 { return 0 }
        self.rehashPaused += 1
        defer { self.rehashPaused -= 1 }
        var v = cursor
        func emit(_ table: FieldBuckets, _ index: Int) {
            var node = table.slots[index]
            while let n = node {
                node = FieldTable.next(n)
                body(n)
            }
        }
        if self.rehashIndex < 0 {
            let mask = UInt64(self.tables.0.size - 1)
            emit(self.tables.0, Int(v & mask))
            v |= ~mask
            v = FieldTable.reverseIncrement(v)
        } else {
            var small = self.tables.0
            var large = self.tables.1
            if small.size > large.size { swap(&small, &large) }
            let m0 = UInt64(small.size - 1)
            let m1 = UInt64(large.size - 1)
            emit(small, Int(v & m0))
            // Every bucket of the larger table that expands the small table's bucket.
            repeat {
                emit(large, Int(v & m1))
                v |= ~m1
                v = FieldTable.reverseIncrement(v)
            } while v & (m0 ^ m1) != 0
        }
        return v
    }

    private static func reverseIncrement(_ v: UInt64) -> UInt64 {
        var r = v.bitSwapped
        r &+= 1
        return r.bitSwapped
    }

    /// A random node, as fair as Redis's `dictGetFairRandomKey` (SRANDMEMBER, SPOP, HRANDFIELD): up to 20 nodes
    /// gathered from consecutive buckets at a random place (`dictGetSomeKeys`), then one of them uniformly. A pick
    /// of a bucket and then of its chain alone favours the members of short chains: with a 10-member set,
    /// SRANDMEMBER -1000 failed the chi-square test of Redis's suite.
    public func randomNode<G: RandomNumberGenerator>(using rng: inout G) -> Node? {
        if self.count == 0 { return nil }
        let wanted = min(Self.fairSampleSize, self.count)
        let picked: Node? = withUnsafeTemporaryAllocation(of: Node.self, capacity: Self.fairSampleSize) { sample in
            let found = self.someNodes(wanted, into: sample, using: &rng)
            return found == 0 ? nil : sample[Int(rng.next(upperBound: UInt64(found)))]
        }
        return picked ?? self.bucketRandomNode(using: &rng)
    }

    static let fairSampleSize = 20

    /// Up to `wanted` nodes from consecutive buckets starting at a random one (Redis's `dictGetSomeKeys`, with its
    /// jump to a new random place after a run of empty buckets); returns how many were stored in `into`.
    private func someNodes<G: RandomNumberGenerator>(
        _ wanted: Int,
        into sample: UnsafeMutableBufferPointer<Node>,
        using rng: inout G
    ) -> Int {
        if self.rehashIndex >= 0 { self.rehashStep() }
        let rehashing = self.rehashIndex >= 0
        let mask = max(self.tables.0.size, rehashing ? self.tables.1.size : 0) - 1
        var i = Int(rng.next() & UInt64(mask))
        var stored = 0
        var emptyRun = 0
        var steps = wanted * 10
        while stored < wanted && steps > 0 {
            steps -= 1
            for t in 0..<(rehashing ? 2 : 1) {
                let buckets = t == 0 ? self.tables.0 : self.tables.1
                // Buckets of table 0 below rehashIndex are empty (moved to table 1).
                if rehashing && t == 0 && i < self.rehashIndex {
                    if i >= self.tables.1.size { i = self.rehashIndex } else { continue }
                }
                if i >= buckets.size { continue }
                guard var node = buckets.slots[i] else {
                    emptyRun += 1
                    if emptyRun >= 5 && emptyRun > wanted {
                        i = Int(rng.next() & UInt64(mask))
                        emptyRun = 0
                    }
                    continue
                }
                emptyRun = 0
                while true {
                    sample[stored] = node
                    stored += 1
                    if stored == wanted { return stored }
                    guard let next = FieldTable.next(node) else { break }
                    node = next
                }
            }
            i = (i + 1) & mask
        }
        return stored
    }

    /// A uniformly chosen non-empty bucket, then a uniform pick in its chain (`dictGetRandomKey`).
    private func bucketRandomNode<G: RandomNumberGenerator>(using rng: inout G) -> Node? {
        if self.count == 0 { return nil }
        if self.rehashIndex >= 0 { self.rehashStep() }
        var head: Node?
        if self.rehashIndex >= 0 {
            // Buckets of table 0 below rehashIndex are empty.
            let s0 = self.tables.0.size
            let total = s0 + self.tables.1.size
            repeat {
                let i = self.rehashIndex + Int(rng.next(upperBound: UInt64(total - self.rehashIndex)))
                head = i >= s0 ? self.tables.1.slots[i - s0] : self.tables.0.slots[i]
            } while head == nil
        } else {
            let mask = UInt64(self.tables.0.size - 1)
            repeat {
                head = self.tables.0.slots[Int(rng.next() & mask)]
            } while head == nil
        }
        var length = 0
        var node = head
        while let n = node {
            length += 1
            node = FieldTable.next(n)
        }
        var pick = length == 1 ? 0 : Int(rng.next(upperBound: UInt64(length)))
        node = head
        while pick > 0, let n = node {
            node = FieldTable.next(n)
            pick -= 1
        }
        return node
    }
}

/// A bucket array of node chains, manually managed so indexing costs no checks on the hot path.
struct FieldBuckets {
    let slots: UnsafeMutablePointer<FieldTable.Node?>
    let size: Int
    var used = 0

    init(size: Int) {
        self.size = size
        self.slots = UnsafeMutablePointer<FieldTable.Node?>.allocate(capacity: max(size, 1))
        self.slots.initialize(repeating: nil, count: max(size, 1))
    }

    /// Frees the bucket array, and the nodes when `freeingNodes` (a table being dropped, not one rehashed away).
    func release(freeingNodes: Bool) {
        if freeingNodes {
            for i in 0..<self.size {
                var node = self.slots[i]
                while let n = node {
                    node = FieldTable.next(n)
                    free(n)
                }
            }
        }
        self.slots.deinitialize(count: max(self.size, 1))
        self.slots.deallocate()
    }

    @inline(__always)
    func find(_ key: UnsafeRawBufferPointer, hash: Int) -> FieldTable.Node? {
        if self.size == 0 { return nil }
        var node = self.slots[hash & (self.size - 1)]
        while let n = node {
            let k = FieldTable.key(n)
            if k.count == key.count && (k.count == 0 || memcmpBytes(k.baseAddress!, key.baseAddress!, k.count)) {
                return n
            }
            node = FieldTable.next(n)
        }
        return nil
    }

    mutating func push(_ node: FieldTable.Node, hash: Int) {
        let i = hash & (self.size - 1)
        FieldTable.setNext(node, self.slots[i])
        self.slots[i] = node
        self.used += 1
    }

    mutating func unlink(_ key: UnsafeRawBufferPointer, hash: Int) -> FieldTable.Node? {
        if self.size == 0 { return nil }
        let i = hash & (self.size - 1)
        var previous: FieldTable.Node?
        var node = self.slots[i]
        while let n = node {
            let k = FieldTable.key(n)
            if k.count == key.count && (k.count == 0 || memcmpBytes(k.baseAddress!, key.baseAddress!, k.count)) {
                if let previous {
                    FieldTable.setNext(previous, FieldTable.next(n))
                } else {
                    self.slots[i] = FieldTable.next(n)
                }
                self.used -= 1
                return n
            }
            previous = n
            node = FieldTable.next(n)
        }
        return nil
    }

    /// Points the link that referenced `old` (a block `realloc` moved) at `new`. The chain is walked by pointer
    /// identity only: `old` must not be dereferenced.
    func relink(_ old: FieldTable.Node, to new: FieldTable.Node, hash: Int) -> Bool {
        if self.size == 0 { return false }
        let i = hash & (self.size - 1)
        if self.slots[i] == old {
            self.slots[i] = new
            return true
        }
        var node = self.slots[i]
        while let n = node {
            let next = FieldTable.next(n)
            if next == old {
                FieldTable.setNext(n, new)
                return true
            }
            node = next
        }
        return false
    }
}

/// Lengths as 7-bit groups, low group first, high bit set on all but the last byte: one byte up to 127.
enum VarLength {
    @inline(__always)
    static func size(_ n: Int) -> Int {
        n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x20_0000 ? 3 : n < 0x1000_0000 ? 4 : 5
    }

    @inline(__always)
    static func read(_ p: UnsafeRawPointer) -> (value: Int, size: Int) {
        var byte = p.load(as: UInt8.self)
        if byte < 0x80 { return (Int(byte), 1) }
        var value = Int(byte & 0x7F)
        var shift = 7
        var i = 1
        repeat {
            byte = p.load(fromByteOffset: i, as: UInt8.self)
            value |= Int(byte & 0x7F) << shift
            shift += 7
            i += 1
        } while byte >= 0x80
        return (value, i)
    }

    /// Writes `n` at `p`; returns the bytes written.
    @inline(__always)
    @discardableResult
    static func write(_ n: Int, to p: UnsafeMutableRawPointer) -> Int {
        var v = n
        var i = 0
        while v >= 0x80 {
            p.storeBytes(of: UInt8(truncatingIfNeeded: v) | 0x80, toByteOffset: i, as: UInt8.self)
            v >>= 7
            i += 1
        }
        p.storeBytes(of: UInt8(truncatingIfNeeded: v), toByteOffset: i, as: UInt8.self)
        return i + 1
    }
}
