/// Bookkeeping of one ``ListNode``: the used byte range `head..<tail` of its storage and the entries in it.
struct ListNodeHeader {
    var head: Int32
    var tail: Int32
    var count: Int32
    var capacity: Int32
}

/// One node of a ``ListValue``: a run of listpack entries in a single allocation, with free room at both ends so
/// that pushes and pops at either end of the node are O(1) (Redis's quicklist node + listpack, in one block).
final class ListNode: ManagedBuffer<ListNodeHeader, UInt8> {
    /// A node with room for `capacity` bytes; `head` is where the (empty) used range starts.
    static func make(capacity: Int, head: Int) -> ListNode {
        let object = ListNode.create(minimumCapacity: capacity) { _ in
            ListNodeHeader(head: Int32(head), tail: Int32(head), count: 0, capacity: Int32(capacity))
        }
        // `create` called on `ListNode` allocates a `ListNode`.
        return unsafeDowncast(object, to: ListNode.self)
    }

    @inline(__always) var head: Int {
        get { Int(self.header.head) }
        set { self.header.head = Int32(newValue) }
    }

    @inline(__always) var tail: Int {
        get { Int(self.header.tail) }
        set { self.header.tail = Int32(newValue) }
    }

    @inline(__always) var count: Int {
        get { Int(self.header.count) }
        set { self.header.count = Int32(newValue) }
    }

    @inline(__always) var storage: Int { Int(self.header.capacity) }
    @inline(__always) var used: Int { Int(self.header.tail &- self.header.head) }

    /// The start of the storage. Valid while `self` is alive; every use is inside a method of the node or of the
    /// list that holds it.
    @inline(__always) var base: UnsafeMutablePointer<UInt8> {
        self.withUnsafeMutablePointerToElements { $0 }
    }

    /// A copy of this node's entries in a new allocation of `capacity` bytes, with a gap of `gap` bytes at `at`
    /// (a byte offset inside `head...tail`) and the free room placed according to `room`.
    func relayout(capacity: Int, gapAt at: Int, gap: Int, room: Room) -> ListNode {
        let used = self.used
        let free = capacity - used - gap
        let newHead: Int
        switch room {
        case .front: newHead = free
        case .back: newHead = 0
        case .both: newHead = free / 2
        }
        let node = ListNode.make(capacity: capacity, head: newHead)
        let src = self.base
        let dst = node.base
        let before = at - self.head
        if before > 0 { (dst + newHead).update(from: src + self.head, count: before) }
        let after = self.tail - at
        if after > 0 { (dst + newHead + before + gap).update(from: src + at, count: after) }
        node.tail = newHead + used + gap
        node.count = self.count
        return node
    }

    enum Room {
        case front
        case back
        case both
    }

    /// Opens a gap of `size` bytes at byte offset `at` by moving the smaller side that has room; returns the
    /// offset of the gap, or `nil` when neither side has room.
    func openGap(at: Int, size: Int) -> Int? {
        let before = at - self.head
        let after = self.tail - at
        let canLeft = self.head >= size
        let canRight = self.storage - self.tail >= size
        let p = self.base
        if canLeft && (!canRight || before <= after) {
            if before > 0 { (p + self.head - size).update(from: p + self.head, count: before) }
            self.head -= size
            return at - size
        }
        if canRight {
            if after > 0 { (p + at + size).update(from: p + at, count: after) }
            self.tail += size
            return at
        }
        return nil
    }

    /// Removes `size` bytes at `at`, moving the smaller side.
    func closeGap(at: Int, size: Int) {
        let before = at - self.head
        let after = self.tail - at - size
        let p = self.base
        if before <= after {
            if before > 0 { (p + self.head + size).update(from: p + self.head, count: before) }
            self.head += size
        } else {
            if after > 0 { (p + at).update(from: p + at + size, count: after) }
            self.tail -= size
        }
    }

    /// Byte offset of the entry `index` entries after `from` (walking forward).
    @inline(__always)
    func offset(advancing from: Int, by index: Int) -> Int {
        let p = self.base
        var offset = from
        for _ in 0..<index { offset += ListPack.size(at: p + offset) }
        return offset
    }

    /// Byte offset of the entry `index` entries before the end `from` (walking backward); `index` >= 1.
    @inline(__always)
    func offset(retreating from: Int, by index: Int) -> Int {
        let p = self.base
        var offset = from
        for _ in 0..<index { offset -= ListPack.size(endingAt: p + offset) }
        return offset
    }

    /// Byte offset of the entry at position `index` in this node.
    func offset(ofEntry index: Int) -> Int {
        if index <= self.count / 2 { return self.offset(advancing: self.head, by: index) }
        return self.offset(retreating: self.tail, by: self.count - index)
    }

    func copy() -> ListNode {
        self.relayout(capacity: max(self.used, 1), gapAt: self.head, gap: 0, room: .back)
    }
}
