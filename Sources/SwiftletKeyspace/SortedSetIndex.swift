/// The member index of a `skiplist`-encoded sorted set: a ``ChainedDict`` of member → node (Redis's `dict`), so
/// that a growing set never stalls the loop and ZSCAN keeps SCAN's guarantee across resizes.
///
/// Nodes are chained through their own `next` field and keep the member's hash: the index costs one bucket slot per
/// member and nothing else. Its first bucket array is allocated at once, and it shrinks after each removal, as
/// Redis's sorted sets do.
final class SortedSetIndex {
    @exclusivity(unchecked)
    private var dict: ChainedDict<SortedSetNodeLinks>

    init(capacity: Int = 0) {
        self.dict = ChainedDict(capacity: max(capacity, 1))
    }

    var count: Int { self.dict.count }

    var bucketCount: Int { self.dict.bucketCount }

    static func hash(_ member: UnsafeRawBufferPointer) -> UInt32 {
        UInt32(truncatingIfNeeded: KeyHash.hash(member))
    }

    // MARK: - Lookup, insertion, removal

    func find(_ member: UnsafeRawBufferPointer, hash: UInt32) -> SortedSetNode? {
        self.dict.find(member, hash: Int(hash))
    }

    /// Adds a node whose member is not present (its `hash` must be set).
    func insert(_ node: SortedSetNode) {
        self.dict.insert(node, hash: Int(node.header.hash))
    }

    @discardableResult
    func remove(_ member: UnsafeRawBufferPointer, hash: UInt32) -> SortedSetNode? {
        guard let removed = self.dict.remove(member, hash: Int(hash)) else { return nil }
        self.dict.shrinkIfNeeded()
        return removed
    }

    // MARK: - Scanning

    /// One step of a ZSCAN: calls `body` for the nodes of the bucket(s) under `cursor` and returns the next cursor
    /// (0 when the scan is complete). `body` must not use the index.
    func scan(_ cursor: UInt64, _ body: (SortedSetNode) -> Void) -> UInt64 {
        self.dict.scan(cursor, body)
    }
}

/// How ``SortedSetIndex`` chains nodes: through `header.next`, with the member's hash in `header.hash`.
enum SortedSetNodeLinks: DictLinks {
    static func next(_ node: SortedSetNode) -> SortedSetNode? {
        node.header.next
    }

    static func setNext(_ node: SortedSetNode, _ next: SortedSetNode?) {
        node.header.next = next
    }

    static func hash(_ node: SortedSetNode) -> Int {
        Int(node.header.hash)
    }

    static func matches(_ node: SortedSetNode, _ member: UnsafeRawBufferPointer, hash: Int) -> Bool {
        node.header.hash == UInt32(truncatingIfNeeded: hash) && node.memberEquals(member)
    }

    static func isSame(_ a: SortedSetNode, _ b: SortedSetNode) -> Bool {
        a === b
    }

    static var growsBeforeRehashStep: Bool { true }
}
