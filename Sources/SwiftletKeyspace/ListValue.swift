import DequeModule

/// A list: a deque of nodes, each a run of listpack-encoded elements (Redis's quicklist).
///
/// Pushes and pops at both ends are O(1); an index costs a walk over the node counts from the nearer end plus a
/// walk inside one node. Small elements take 2–10 bytes, as in Redis. Redis 7.0 reports every list as
/// `quicklist`.
public final class ListValue: CollectionValue {
    @exclusivity(unchecked)
    var nodes: Deque<ListNode> = []
    @exclusivity(unchecked)
    public internal(set) var count = 0
    /// Most bytes of entries in one node (`list-max-listpack-size`: -1 … -5 are 4 KiB … 64 KiB).
    let maxNodeBytes: Int
    /// Most entries in one node (a positive `list-max-listpack-size`).
    let maxNodeCount: Int

    /// - Parameter fill: `list-max-listpack-size` when the list is created (Redis keeps it per list too).
    public init(fill: Int = -2) {
        if fill >= 0 {
            // Redis's SIZE_SAFETY_LIMIT caps count-limited nodes at 8 KiB.
            self.maxNodeCount = max(fill, 1)
            self.maxNodeBytes = 8192
        } else {
            self.maxNodeCount = Int.max
            self.maxNodeBytes = 4096 << (min(-fill, 5) - 1)
        }
    }

    /// A list holding `elements` in order (tests, loaders).
    public convenience init<S: Sequence>(_ elements: S, fill: Int = -2) where S.Element == [UInt8] {
        self.init(fill: fill)
        for e in elements { e.withUnsafeBytes { self.append($0) } }
    }

    public var encodingName: String { "quicklist" }

    public var memoryUsage: Int {
        // quicklist + one quicklistNode-like slot per node, plus each node's block.
        var total = 48 + self.nodes.count * 8
        for node in self.nodes { total += 32 + node.storage }
        return total
    }

    public func copy() -> ListValue {
        let list = ListValue(sameLimitsAs: self)
        list.nodes = Deque(self.nodes.map { $0.copy() })
        list.count = self.count
        return list
    }

    private init(sameLimitsAs other: ListValue) {
        self.maxNodeBytes = other.maxNodeBytes
        self.maxNodeCount = other.maxNodeCount
    }

    /// Number of nodes (for tests and DEBUG).
    public var nodeCount: Int { self.nodes.count }

    // MARK: - Pushing

    @inline(__always)
    func fits(_ node: ListNode, _ size: Int) -> Bool {
        node.count < self.maxNodeCount && node.used + size <= self.maxNodeBytes
    }

    /// Capacity for a node that must take `needed` bytes now: doubling up to the node limit, or the limit
    /// straight away for a new end node of a list that already has a full one.
    @inline(__always)
    func grownCapacity(_ node: ListNode?, needed: Int) -> Int {
        guard let node else {
            return self.nodes.isEmpty ? max(needed, 16) : max(needed, self.maxNodeBytes)
        }
        return max(needed, min(node.storage * 2, self.maxNodeBytes))
    }

    /// RPUSH one element.
    public func append(_ bytes: UnsafeRawBufferPointer) {
        let element = ListPack.Element(bytes)
        let size = ListPack.entrySize(element)
        var node: ListNode
        if let last = self.nodes.last, self.fits(last, size) {
            node = last
            if node.storage - node.tail < size {
                node = node.relayout(
                    capacity: self.grownCapacity(node, needed: node.used + size),
                    gapAt: node.tail,
                    gap: 0,
                    room: .back
                )
                self.nodes[self.nodes.count - 1] = node
            }
        } else {
            node = ListNode.make(capacity: self.grownCapacity(nil, needed: size), head: 0)
            self.nodes.append(node)
        }
        ListPack.write(element, to: node.base + node.tail)
        node.tail += size
        node.count += 1
        self.count += 1
    }

    /// LPUSH one element.
    public func prepend(_ bytes: UnsafeRawBufferPointer) {
        let element = ListPack.Element(bytes)
        let size = ListPack.entrySize(element)
        var node: ListNode
        if let first = self.nodes.first, self.fits(first, size) {
            node = first
            if node.head < size {
                node = node.relayout(
                    capacity: self.grownCapacity(node, needed: node.used + size),
                    gapAt: node.head,
                    gap: 0,
                    room: .front
                )
                self.nodes[0] = node
            }
        } else {
            let capacity = self.grownCapacity(nil, needed: size)
            node = ListNode.make(capacity: capacity, head: capacity)
            self.nodes.prepend(node)
        }
        node.head -= size
        ListPack.write(element, to: node.base + node.head)
        node.count += 1
        self.count += 1
    }

    /// Pushes at the head (`left`) or the tail.
    @inline(__always)
    public func push(_ bytes: UnsafeRawBufferPointer, atHead: Bool) {
        if atHead { self.prepend(bytes) } else { self.append(bytes) }
    }

    // MARK: - Popping

    /// Calls `body` with the first (or last) element's bytes; `nil` when the list is empty.
    public func withEnd<R>(atHead: Bool, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R? {
        guard let node = atHead ? self.nodes.first : self.nodes.last else { return nil }
        let p = node.base
        let offset = atHead ? node.head : node.tail - ListPack.size(endingAt: p + node.tail)
        let (value, _) = ListPack.decode(p + offset)
        return try ListPack.withBytes(value, entry: p + offset, body)
    }

    /// Removes the first (or last) element; the list must not be empty.
    public func removeEnd(atHead: Bool) {
        if atHead {
            let node = self.nodes[0]
            node.head += ListPack.size(at: node.base + node.head)
            node.count -= 1
            if node.count == 0 { self.nodes.removeFirst() }
        } else {
            let node = self.nodes[self.nodes.count - 1]
            node.tail -= ListPack.size(endingAt: node.base + node.tail)
            node.count -= 1
            if node.count == 0 { self.nodes.removeLast() }
        }
        self.count -= 1
    }

    /// Removes and returns the first (or last) element (allocates; for tests and moves between lists).
    public func popEnd(atHead: Bool) -> [UInt8]? {
        guard let bytes = self.withEnd(atHead: atHead, { Array($0) }) else { return nil }
        self.removeEnd(atHead: atHead)
        return bytes
    }

    /// Removes the first `n` elements, dropping whole nodes where it can.
    public func removeFirst(_ n: Int) {
        var n = min(n, self.count)
        self.count -= n
        while n > 0 {
            let node = self.nodes[0]
            if n >= node.count {
                n -= node.count
                self.nodes.removeFirst()
            } else {
                node.head = node.offset(advancing: node.head, by: n)
                node.count -= n
                n = 0
            }
        }
    }

    /// Removes the last `n` elements, dropping whole nodes where it can.
    public func removeLast(_ n: Int) {
        var n = min(n, self.count)
        self.count -= n
        while n > 0 {
            let node = self.nodes[self.nodes.count - 1]
            if n >= node.count {
                n -= node.count
                self.nodes.removeLast()
            } else {
                node.tail = node.offset(retreating: node.tail, by: n)
                node.count -= n
                n = 0
            }
        }
    }

    // MARK: - Positions

    /// Where element `index` (0 ..< count) lives: node index and byte offset, walking from the nearer end.
    func locate(_ index: Int) -> (node: Int, offset: Int) {
        if index < self.count / 2 {
            var rest = index
            var ni = 0
            while rest >= self.nodes[ni].count {
                rest -= self.nodes[ni].count
                ni += 1
            }
            return (ni, self.nodes[ni].offset(ofEntry: rest))
        }
        var rest = self.count - 1 - index
        var ni = self.nodes.count - 1
        while rest >= self.nodes[ni].count {
            rest -= self.nodes[ni].count
            ni -= 1
        }
        let node = self.nodes[ni]
        return (ni, node.offset(ofEntry: node.count - 1 - rest))
    }

    /// Calls `body` with element `index`; `nil` when out of range.
    public func withElement<R>(at index: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R? {
        guard index >= 0 && index < self.count else { return nil }
        let (ni, offset) = self.locate(index)
        let p = self.nodes[ni].base + offset
        let (value, _) = ListPack.decode(p)
        return try ListPack.withBytes(value, entry: p, body)
    }

    /// Calls `body` with `count` elements from `start` forward (or, `reversed`, from `start` backward).
    /// The range must be inside the list.
    public func forEach(
        from start: Int,
        count: Int,
        reversed: Bool = false,
        _ body: (UnsafeRawBufferPointer) throws -> Void
    ) rethrows {
        guard count > 0 else { return }
        var (ni, offset) = self.locate(start)
        var left = count
        if !reversed {
            while true {
                let node = self.nodes[ni]
                let p = node.base
                while offset < node.tail {
                    let (value, size) = ListPack.decode(p + offset)
                    try ListPack.withBytes(value, entry: p + offset, body)
                    left -= 1
                    if left == 0 { return }
                    offset += size
                }
                ni += 1
                offset = self.nodes[ni].head
            }
        } else {
            var node = self.nodes[ni]
            // `offset` is the start of the current entry; walk back through the backlens.
            while true {
                let p = node.base
                while true {
                    let (value, _) = ListPack.decode(p + offset)
                    try ListPack.withBytes(value, entry: p + offset, body)
                    left -= 1
                    if left == 0 { return }
                    if offset == node.head { break }
                    offset -= ListPack.size(endingAt: p + offset)
                }
                ni -= 1
                node = self.nodes[ni]
                offset = node.tail - ListPack.size(endingAt: node.base + node.tail)
            }
        }
    }

    /// Every element in order, as arrays (allocates; tests, persistence, DEBUG).
    public var elements: [[UInt8]] {
        var out: [[UInt8]] = []
        out.reserveCapacity(self.count)
        self.forEach(from: 0, count: self.count) { out.append(Array($0)) }
        return out
    }

    /// Calls `body` with each node's entries (listpack entry format) and their number, head to tail. An RDB
    /// writer frames them as a listpack (6-byte header, the entries, `0xFF`) for `RDB_TYPE_LIST_QUICKLIST_2`
    /// without re-encoding a single element.
    public func forEachNode(_ body: (UnsafeRawBufferPointer, Int) throws -> Void) rethrows {
        for node in self.nodes {
            try body(UnsafeRawBufferPointer(start: node.base + node.head, count: node.used), node.count)
        }
    }

    /// Scans from the head (or, `reversed`, from the tail) and calls `match` with the scan position (0 = the
    /// first element scanned) of every element equal to `needle`, until `match` returns `false` or `limit`
    /// elements were scanned (0: no limit).
    public func scan(
        for needle: ListNeedle,
        reversed: Bool,
        limit: Int,
        _ match: (Int) throws -> Bool
    ) rethrows {
        let limit = limit == 0 ? self.count : min(limit, self.count)
        var position = 0
        if !reversed {
            for node in self.nodes {
                let p = node.base
                var offset = node.head
                while offset < node.tail {
                    if position >= limit { return }
                    if needle.matches(p + offset), try !match(position) { return }
                    position += 1
                    offset += ListPack.size(at: p + offset)
                }
            }
        } else {
            for node in self.nodes.reversed() {
                let p = node.base
                var end = node.tail
                while end > node.head {
                    if position >= limit { return }
                    let start = end - ListPack.size(endingAt: p + end)
                    if needle.matches(p + start), try !match(position) { return }
                    position += 1
                    end = start
                }
            }
        }
    }
}
