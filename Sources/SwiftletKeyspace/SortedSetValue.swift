/// A sorted set: members ordered by (score, member bytes), with O(1) score lookup and O(log n) rank queries.
///
/// Storage: every member is one ``SortedSetNode`` (score + bytes). An order-statistic B+tree
/// (``SortedSetTree``) orders the nodes; a member index (``SortedSetIndex``) finds them by member.
///
/// Encodings, as `OBJECT ENCODING` reports them: a small set (at most `zset-max-listpack-entries` members of at
/// most `zset-max-listpack-value` bytes) is `listpack`: it has no member index (lookups scan, as Redis scans a
/// listpack) and, like a listpack, stores an integral score as an integer, so -0 becomes 0. Outgrowing either
/// limit converts it, one way, to `skiplist`, which keeps scores exactly (-0 stays -0).
public final class SortedSetValue: CollectionValue {
    @exclusivity(unchecked)
    var tree = SortedSetTree()
    /// The member index; `nil` while the set is `listpack`-encoded.
    @exclusivity(unchecked)
    var index: SortedSetIndex?

    /// The limits of the `listpack` encoding (`zset-max-listpack-entries`, `zset-max-listpack-value`).
    public struct Limits: Sendable {
        public var entries: Int
        public var value: Int

        public init(entries: Int, value: Int) {
            self.entries = entries
            self.value = value
        }

        public static let `default` = Limits(entries: 128, value: 64)

        /// Whether a set of `count` members, the longest `longest` bytes, is `listpack`-encoded.
        public func allowsListpack(count: Int, longest: Int) -> Bool {
            count <= self.entries && longest <= self.value
        }
    }

    /// A new empty set, `listpack`-encoded unless `listpack` is false.
    public init(listpack: Bool = true) {
        self.index = listpack ? nil : SortedSetIndex()
    }

    public var count: Int { self.tree.count }
    public var isListpack: Bool { self.index == nil }
    public var encodingName: String { self.isListpack ? "listpack" : "skiplist" }

    public var memoryUsage: Int {
        let (nodes, slots) = self.tree.footprint()
        var bytes = 64 + nodes * 112 + slots * 16
        self.tree.forEach(from: 0) { item in
            bytes += (48 + item.node.memberCount + 15) & ~15
            return true
        }
        if let index { bytes += index.bucketCount * 8 + 48 }
        return bytes
    }

    /// An independent copy with the same encoding (COPY).
    public func copy() -> SortedSetValue {
        let other = SortedSetValue(listpack: self.isListpack)
        self.tree.forEach(from: 0) { item in
            let node = item.node.withMember { SortedSetNode.make($0, score: item.score) }
            other.insertNew(node)
            return true
        }
        return other
    }

    /// A listpack stores integral scores as integers: -0 reads back as 0 (Redis's `double2ll` in `zzlInsertAt`).
    @inline(__always)
    static func listpackScore(_ score: Double) -> Double {
        score == 0 ? 0 : score
    }

    // MARK: - Lookup

    /// The node of `member`, or `nil`.
    public func find(_ member: UnsafeRawBufferPointer) -> SortedSetNode? {
        if let index {
            return index.find(member, hash: SortedSetIndex.hash(member))
        }
        var found: SortedSetNode?
        self.tree.forEach(from: 0) { item in
            if item.node.memberEquals(member) {
                found = item.node
                return false
            }
            return true
        }
        return found
    }

    /// The score of `member`, or `nil`.
    public func score(of member: UnsafeRawBufferPointer) -> Double? {
        self.find(member)?.score
    }

    /// The 0-based rank of `member` (from the highest score with `reverse`), or `nil`.
    public func rank(of member: UnsafeRawBufferPointer, reverse: Bool = false) -> Int? {
        guard let node = self.find(member),
            let rank = self.tree.rank(score: node.score, member: member)
        else { return nil }
        return reverse ? self.count - 1 - rank : rank
    }

    /// The node at 0-based `rank` (0 ≤ rank < count), in ascending order.
    public func node(at rank: Int) -> SortedSetNode {
        self.tree.item(at: rank).node
    }

    public var first: SortedSetNode? { self.count == 0 ? nil : self.node(at: 0) }
    public var last: SortedSetNode? { self.count == 0 ? nil : self.node(at: self.count - 1) }

    /// Calls `body` with each node from `rank` on (towards lower ranks with `reverse`) until it returns `false`.
    /// The set must not change meanwhile.
    public func walk(from rank: Int = 0, reverse: Bool = false, _ body: (SortedSetNode) throws -> Bool) rethrows {
        try self.tree.forEach(from: rank, reverse: reverse) { try body($0.node) }
    }

    /// The number of leading members (in ascending order) for which `isBefore(score, member)` holds, for a
    /// predicate that holds for a prefix of the order: the rank of the first member where it does not.
    public func countPrefix(where isBefore: (Double, SortedSetNode) -> Bool) -> Int {
        self.tree.countPrefix { isBefore($0.score, $0.node) }
    }

    // MARK: - Adding and updating

    /// ZADD's options.
    public struct AddFlags: OptionSet, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        public static let nx = AddFlags(rawValue: 1 << 0)
        public static let xx = AddFlags(rawValue: 1 << 1)
        public static let gt = AddFlags(rawValue: 1 << 2)
        public static let lt = AddFlags(rawValue: 1 << 3)
        public static let incr = AddFlags(rawValue: 1 << 4)
    }

    /// What ``add(_:score:flags:limits:)`` did.
    public enum AddOutcome: Sendable, Equatable {
        /// A new member, with this score.
        case added(Double)
        /// An existing member's score changed to this.
        case updated(Double)
        /// An existing member kept its score, which equals this (`ZADD` of the same score, `ZINCRBY` by 0).
        case unchanged(Double)
        /// Nothing was done because of NX, XX, GT or LT.
        case skipped
        /// The increment produced NaN; nothing was done.
        case notANumber
    }

    /// Adds `member` or updates its score, with Redis's `zsetAdd` semantics (NX, XX, GT, LT, INCR). A new member
    /// that does not fit the `listpack` limits converts the set to `skiplist` first.
    public func add(
        _ member: UnsafeRawBufferPointer,
        score: Double,
        flags: AddFlags = [],
        limits: Limits = .default
    ) -> AddOutcome {
        if score.isNaN { return .notANumber }
        if let node = self.find(member) {
            if flags.contains(.nx) { return .skipped }
            let current = node.score
            var new = score
            if flags.contains(.incr) {
                new += current
                if new.isNaN { return .notANumber }
            }
            if (flags.contains(.lt) && new >= current) || (flags.contains(.gt) && new <= current) {
                return .skipped
            }
            if new == current { return .unchanged(new) }
            self.tree.remove(score: current, member: member)
            node.score = self.isListpack ? SortedSetValue.listpackScore(new) : new
            self.tree.insert(SortedSetItem(node))
            return .updated(new)
        }
        if flags.contains(.xx) { return .skipped }
        if self.isListpack && (self.count + 1 > limits.entries || member.count > limits.value) {
            self.convertToSkiplist()
        }
        self.insertNew(SortedSetNode.make(member, score: score))
        return .added(score)
    }

    /// Inserts a node whose member is known to be absent (the score is adjusted for a `listpack` set).
    func insertNew(_ node: SortedSetNode) {
        if let index {
            node.header.hash = node.withMember { SortedSetIndex.hash($0) }
            index.insert(node)
        } else {
            node.score = SortedSetValue.listpackScore(node.score)
        }
        self.tree.insert(SortedSetItem(node))
    }

    /// Appends a member known to be absent and to sort after every present one (building a set from sorted
    /// input, as ZUNIONSTORE and RDB loading do).
    public func append(_ member: UnsafeRawBufferPointer, score: Double) {
        self.insertNew(SortedSetNode.make(member, score: score))
    }

    /// Builds the member index: the one-way `listpack` → `skiplist` conversion.
    public func convertToSkiplist() {
        guard self.index == nil else { return }
        let index = SortedSetIndex(capacity: self.count)
        self.tree.forEach(from: 0) { item in
            item.node.header.hash = item.node.withMember { SortedSetIndex.hash($0) }
            index.insert(item.node)
            return true
        }
        self.index = index
    }

    // MARK: - Removal

    /// Removes `member`; returns whether it was present.
    @discardableResult
    public func remove(_ member: UnsafeRawBufferPointer) -> Bool {
        guard let node = self.find(member) else { return false }
        self.tree.remove(score: node.score, member: member)
        if let index { index.remove(member, hash: node.header.hash) }
        return true
    }

    /// Removes and returns the node at 0-based `rank` (0 ≤ rank < count).
    @discardableResult
    public func remove(at rank: Int) -> SortedSetNode {
        let node = self.tree.remove(at: rank).node
        if let index { node.withMember { _ = index.remove($0, hash: node.header.hash) } }
        return node
    }

    /// Removes `count` members starting at 0-based `rank`.
    public func removeRange(from rank: Int, count: Int) {
        for _ in 0..<count { self.remove(at: rank) }
    }

    // MARK: - Scanning and sampling

    /// One ZSCAN step over a `skiplist` set (see ``SortedSetIndex/scan(_:_:)``). A `listpack` set is returned
    /// whole by the caller instead, with cursor 0, as Redis does.
    public func scan(_ cursor: UInt64, _ body: (SortedSetNode) -> Void) -> UInt64 {
        guard let index else {
            self.walk { node in
                body(node)
                return true
            }
            return 0
        }
        return index.scan(cursor, body)
    }

    /// A uniformly chosen member (O(log n): a random rank).
    public func randomNode<G: RandomNumberGenerator>(using rng: inout G) -> SortedSetNode {
        self.node(at: Int.random(in: 0..<self.count, using: &rng))
    }
}
