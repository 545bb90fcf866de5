/// The member index of a `skiplist`-encoded sorted set: member → node, in chained buckets of power-of-two size with
/// incremental rehashing, like ``KeyTable`` (and Redis's `dict`), so that a growing set never stalls the loop and
/// ZSCAN keeps SCAN's guarantee across resizes (reverse-binary cursor).
///
/// Nodes are chained through their own `next` field: the index costs one bucket slot per member and nothing else.
final class SortedSetIndex {
    @exclusivity(unchecked)
    private var tables: (NodeBuckets, NodeBuckets)
    /// Bucket index of table 0 that the rehash moves next; -1 when no rehash is in progress.
    @exclusivity(unchecked)
    private var rehashIndex = -1
    @exclusivity(unchecked)
    private(set) var count = 0
    @exclusivity(unchecked)
    private var scanning = 0

    static let initialSize = 4

    init(capacity: Int = 0) {
        var size = SortedSetIndex.initialSize
        while size < capacity { size <<= 1 }
        self.tables = (NodeBuckets(size: size), NodeBuckets(size: 0))
    }

    deinit {
        self.tables.0.release()
        self.tables.1.release()
    }

    var bucketCount: Int { self.tables.0.size + self.tables.1.size }

    static func hash(_ member: UnsafeRawBufferPointer) -> UInt32 {
        UInt32(truncatingIfNeeded: KeyHash.hash(member))
    }

    // MARK: - Lookup, insertion, removal

    func find(_ member: UnsafeRawBufferPointer, hash: UInt32) -> SortedSetNode? {
        if self.count == 0 { return nil }
        self.rehashStep()
        if let n = self.tables.0.find(member, hash: hash) { return n }
        return self.rehashIndex >= 0 ? self.tables.1.find(member, hash: hash) : nil
    }

    /// Adds a node whose member is not present (its `hash` must be set).
    func insert(_ node: SortedSetNode) {
        if self.rehashIndex < 0 && self.count >= self.tables.0.size {
            self.startResize(to: self.count + 1)
        }
        self.rehashStep()
        // During a rehash new nodes go to the new table, so table 0 only shrinks.
        if self.rehashIndex >= 0 {
            self.tables.1.push(node)
        } else {
            self.tables.0.push(node)
        }
        self.count += 1
    }

    @discardableResult
    func remove(_ member: UnsafeRawBufferPointer, hash: UInt32) -> SortedSetNode? {
        if self.count == 0 { return nil }
        self.rehashStep()
        var removed = self.tables.0.unlink(member, hash: hash)
        if removed == nil && self.rehashIndex >= 0 { removed = self.tables.1.unlink(member, hash: hash) }
        guard let removed else { return nil }
        self.count -= 1
        // Shrink when less than 10% full, as Redis's `htNeedsResize` after a deletion.
        let size = self.tables.0.size
        if self.rehashIndex < 0 && size > SortedSetIndex.initialSize && self.count * 10 < size {
            self.startResize(to: max(self.count, SortedSetIndex.initialSize))
        }
        return removed
    }

    // MARK: - Resizing

    private func startResize(to minimum: Int) {
        var size = SortedSetIndex.initialSize
        while size < minimum { size <<= 1 }
        if size == self.tables.0.size { return }
        self.tables.1 = NodeBuckets(size: size)
        self.rehashIndex = 0
    }

    /// Moves one non-empty bucket (visiting at most 10 empty ones) from the old table to the new.
    @inline(__always)
    private func rehashStep() {
        if self.rehashIndex >= 0 && self.scanning == 0 { self.rehash(steps: 1) }
    }

    private func rehash(steps: Int) {
        var emptyVisits = steps * 10
        var remaining = steps
        while remaining > 0 && self.tables.0.used > 0 {
            while self.tables.0.slots[self.rehashIndex] == nil {
                self.rehashIndex += 1
                emptyVisits -= 1
                if emptyVisits == 0 { return }
            }
            var node = self.tables.0.slots[self.rehashIndex]
            self.tables.0.slots[self.rehashIndex] = nil
            while let n = node {
                node = n.header.next
                self.tables.0.used -= 1
                self.tables.1.push(n)
            }
            self.rehashIndex += 1
            remaining -= 1
        }
        if self.tables.0.used == 0 {
            self.tables.0.release()
            self.tables.0 = self.tables.1
            self.tables.1 = NodeBuckets(size: 0)
            self.rehashIndex = -1
        }
    }

    // MARK: - Scanning

    /// One step of a ZSCAN: calls `body` for the nodes of the bucket(s) under `cursor` and returns the next cursor
    /// (0 when the scan is complete). `body` must not modify the index.
    func scan(_ cursor: UInt64, _ body: (SortedSetNode) -> Void) -> UInt64 {
        if self.count == 0 { return 0 }
        self.scanning += 1
        defer { self.scanning -= 1 }
        var v = cursor
        func emit(_ table: NodeBuckets, _ index: Int) {
            var node = table.slots[index]
            while let n = node {
                node = n.header.next
                body(n)
            }
        }
        if self.rehashIndex < 0 {
            let mask = UInt64(self.tables.0.size - 1)
            emit(self.tables.0, Int(v & mask))
            v |= ~mask
            v = SortedSetIndex.reverseIncrement(v)
        } else {
            var small = self.tables.0
            var large = self.tables.1
            if small.size > large.size { swap(&small, &large) }
            let m0 = UInt64(small.size - 1)
            let m1 = UInt64(large.size - 1)
            emit(small, Int(v & m0))
            // Every bucket of the larger table that expands from the small table's bucket.
            repeat {
                emit(large, Int(v & m1))
                v |= ~m1
                v = SortedSetIndex.reverseIncrement(v)
            } while v & (m0 ^ m1) != 0
        }
        return v
    }

    private static func reverseIncrement(_ v: UInt64) -> UInt64 {
        var r = v.bitSwapped
        r &+= 1
        return r.bitSwapped
    }
}

/// A bucket array of node chains, manually managed so that indexing costs no bounds or uniqueness checks.
struct NodeBuckets {
    let slots: UnsafeMutablePointer<SortedSetNode?>
    let size: Int
    var used = 0

    init(size: Int) {
        self.size = size
        self.slots = UnsafeMutablePointer<SortedSetNode?>.allocate(capacity: max(size, 1))
        self.slots.initialize(repeating: nil, count: max(size, 1))
    }

    /// Frees the slots. Chains are unlinked first so that releasing a long chain never recurses deeply.
    func release() {
        for i in 0..<self.size {
            var node = self.slots[i]
            self.slots[i] = nil
            while let n = node {
                node = n.header.next
                n.header.next = nil
            }
        }
        self.slots.deinitialize(count: max(self.size, 1))
        self.slots.deallocate()
    }

    @inline(__always)
    func find(_ member: UnsafeRawBufferPointer, hash: UInt32) -> SortedSetNode? {
        if self.size == 0 { return nil }
        var node = self.slots[Int(hash) & (self.size - 1)]
        while let n = node {
            if n.header.hash == hash && n.memberEquals(member) { return n }
            node = n.header.next
        }
        return nil
    }

    mutating func push(_ node: SortedSetNode) {
        let i = Int(node.header.hash) & (self.size - 1)
        node.header.next = self.slots[i]
        self.slots[i] = node
        self.used += 1
    }

    mutating func unlink(_ member: UnsafeRawBufferPointer, hash: UInt32) -> SortedSetNode? {
        if self.size == 0 { return nil }
        let i = Int(hash) & (self.size - 1)
        var previous: SortedSetNode?
        var node = self.slots[i]
        while let n = node {
            if n.header.hash == hash && n.memberEquals(member) {
                if let previous {
                    previous.header.next = n.header.next
                } else {
                    self.slots[i] = n.header.next
                }
                n.header.next = nil
                self.used -= 1
                return n
            }
            previous = n
            node = n.header.next
        }
        return nil
    }
}
