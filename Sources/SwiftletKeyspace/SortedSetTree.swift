/// One element of the order tree: the score (copied next to its neighbours for cache-friendly searches) and the
/// member's node.
public struct SortedSetItem {
    public var score: Double
    public var node: SortedSetNode

    @inline(__always)
    init(_ node: SortedSetNode) {
        self.score = node.score
        self.node = node
    }

    /// Order of a sorted set: by score, then by member bytes (Redis's `zslInsert` / `zzlInsert` order).
    @inline(__always)
    func compare(score: Double, member: UnsafeRawBufferPointer) -> Int {
        if self.score < score { return -1 }
        if self.score > score { return 1 }
        return self.node.compareMember(member)
    }
}

/// A node of the order tree: a leaf holds items, a branch holds children with their sizes.
final class SortedSetTreeNode {
    /// Leaf: the items, in order.
    @exclusivity(unchecked)
    var items: [SortedSetItem] = []
    /// Branch: the children, in order.
    @exclusivity(unchecked)
    var children: [SortedSetTreeNode] = []
    /// Branch: `keys[i]` (i ≥ 1) is ≤ every item under `children[i]` and > every item under `children[i - 1]`.
    /// A separator may name a member that has since been removed; it still separates. `keys[0]` is unused.
    @exclusivity(unchecked)
    var keys: [SortedSetItem] = []
    /// Branch: number of items under each child.
    @exclusivity(unchecked)
    var counts: [Int] = []
    /// Number of items under this node.
    @exclusivity(unchecked)
    var total = 0
    let isLeaf: Bool

    init(leaf: Bool) {
        self.isLeaf = leaf
    }

    var width: Int { self.isLeaf ? self.items.count : self.children.count }
}

/// An order-statistic B+tree over (score, member): O(log n) insert, remove, rank and select, which gives ZRANK,
/// ZRANGE by index and ZREMRANGEBYRANK the complexity of Redis's skiplist with spans, with far fewer pointers.
///
/// Leaves hold up to 128 items, branches up to 64 children, so a million members are three levels deep.
struct SortedSetTree {
    static let leafCapacity = 128
    static let branchCapacity = 64
    static let leafMinimum = 32
    static let branchMinimum = 16

    var root = SortedSetTreeNode(leaf: true)

    var count: Int { self.root.total }

    // MARK: - Search

    /// Index of the child of `branch` whose range holds (score, member).
    @inline(__always)
    static func childIndex(_ branch: SortedSetTreeNode, score: Double, member: UnsafeRawBufferPointer) -> Int {
        // The last child whose separator is ≤ the key (binary search over keys[1...]).
        var lo = 1
        var hi = branch.children.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if branch.keys[mid].compare(score: score, member: member) <= 0 { lo = mid + 1 } else { hi = mid }
        }
        return lo - 1
    }

    /// Position of the first item of `leaf` that is not below (score, member).
    @inline(__always)
    static func leafIndex(_ leaf: SortedSetTreeNode, score: Double, member: UnsafeRawBufferPointer) -> Int {
        var lo = 0
        var hi = leaf.items.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if leaf.items[mid].compare(score: score, member: member) < 0 { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// The 0-based rank of (score, member), or `nil` when it is not in the tree.
    func rank(score: Double, member: UnsafeRawBufferPointer) -> Int? {
        var node = self.root
        var rank = 0
        while !node.isLeaf {
            let i = SortedSetTree.childIndex(node, score: score, member: member)
            for j in 0..<i { rank += node.counts[j] }
            node = node.children[i]
        }
        let i = SortedSetTree.leafIndex(node, score: score, member: member)
        guard i < node.items.count, node.items[i].compare(score: score, member: member) == 0 else { return nil }
        return rank + i
    }

    /// The leaf holding rank `rank` (0 ≤ rank < count) and the position in it.
    func locate(_ rank: Int) -> (leaf: SortedSetTreeNode, index: Int) {
        var node = self.root
        var r = rank
        while !node.isLeaf {
            var i = 0
            while r >= node.counts[i] {
                r -= node.counts[i]
                i += 1
            }
            node = node.children[i]
        }
        return (node, r)
    }

    func item(at rank: Int) -> SortedSetItem {
        let (leaf, i) = self.locate(rank)
        return leaf.items[i]
    }

    /// The number of leading items for which `isBefore` holds, for a predicate that holds for a prefix of the
    /// order (a range bound): the rank of the first item where it does not.
    func countPrefix(where isBefore: (SortedSetItem) -> Bool) -> Int {
        var node = self.root
        var rank = 0
        while !node.isLeaf {
            var lo = 1
            var hi = node.children.count
            while lo < hi {
                let mid = (lo + hi) >> 1
                if isBefore(node.keys[mid]) { lo = mid + 1 } else { hi = mid }
            }
            let i = lo - 1
            for j in 0..<i { rank += node.counts[j] }
            node = node.children[i]
        }
        var lo = 0
        var hi = node.items.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if isBefore(node.items[mid]) { lo = mid + 1 } else { hi = mid }
        }
        return rank + lo
    }

    /// Calls `body` for the items from rank `start` onwards (backwards with `reverse`) until it returns `false`.
    /// The tree must not change meanwhile.
    func forEach(from start: Int, reverse: Bool = false, _ body: (SortedSetItem) throws -> Bool) rethrows {
        var rank = start
        let count = self.count
        while rank >= 0 && rank < count {
            let (leaf, index) = self.locate(rank)
            if reverse {
                var i = index
                while i >= 0 {
                    if try !body(leaf.items[i]) { return }
                    i -= 1
                }
                rank -= index + 1
            } else {
                let n = leaf.items.count
                var i = index
                while i < n {
                    if try !body(leaf.items[i]) { return }
                    i += 1
                }
                rank += n - index
            }
        }
    }

    // MARK: - Insertion

    /// Adds an item whose member is not in the tree.
    mutating func insert(_ item: SortedSetItem) {
        let split = item.node.withMember { member in
            SortedSetTree.insert(item, member: member, into: self.root, leftmost: true, rightmost: true)
        }
        if let (key, right) = split {
            let top = SortedSetTreeNode(leaf: false)
            top.children = [self.root, right]
            top.keys = [key, key]
            top.counts = [self.root.total, right.total]
            top.total = self.root.total + right.total
            self.root = top
        }
    }

    /// Inserts below `node`; returns the separator and new right sibling when `node` split.
    private static func insert(
        _ item: SortedSetItem,
        member: UnsafeRawBufferPointer,
        into node: SortedSetTreeNode,
        leftmost: Bool,
        rightmost: Bool
    ) -> (SortedSetItem, SortedSetTreeNode)? {
        node.total += 1
        if node.isLeaf {
            let position = SortedSetTree.leafIndex(node, score: item.score, member: member)
            guard node.items.count == SortedSetTree.leafCapacity else {
                node.items.insert(item, at: position)
                return nil
            }
            // A full leaf splits before the insertion, so that no leaf array ever grows past its capacity (an
            // array that doubles to 256 slots and then splits would waste half of its memory for good).
            // Appending at the very end (or front) of the set keeps the old leaf full, so that members added in
            // order fill leaves completely instead of half.
            let n = SortedSetTree.leafCapacity + 1
            var cut = n / 2
            if rightmost && position == n - 1 {
                cut = n - 1
            } else if leftmost && position == 0 {
                cut = 1
            }
            let right = SortedSetTreeNode(leaf: true)
            right.items.reserveCapacity(SortedSetTree.leafCapacity)
            if position < cut {
                right.items.append(contentsOf: node.items[(cut - 1)...])
                node.items.removeSubrange((cut - 1)...)
                node.items.insert(item, at: position)
            } else {
                right.items.append(contentsOf: node.items[cut...])
                node.items.removeSubrange(cut...)
                right.items.insert(item, at: position - cut)
            }
            right.total = right.items.count
            node.total = node.items.count
            return (right.items[0], right)
        }
        let i = SortedSetTree.childIndex(node, score: item.score, member: member)
        let last = node.children.count - 1
        guard
            let (key, newChild) = SortedSetTree.insert(
                item,
                member: member,
                into: node.children[i],
                leftmost: leftmost && i == 0,
                rightmost: rightmost && i == last
            )
        else {
            node.counts[i] += 1
            return nil
        }
        node.counts[i] = node.children[i].total
        node.children.insert(newChild, at: i + 1)
        node.keys.insert(key, at: i + 1)
        node.counts.insert(newChild.total, at: i + 1)
        let n = node.children.count
        guard n > SortedSetTree.branchCapacity else { return nil }
        var cut = n / 2
        if rightmost && i + 1 == n - 1 {
            cut = n - 1
        } else if leftmost && i == 0 {
            cut = 1
        }
        let right = SortedSetTreeNode(leaf: false)
        right.children.append(contentsOf: node.children[cut...])
        right.keys.append(contentsOf: node.keys[cut...])
        right.counts.append(contentsOf: node.counts[cut...])
        node.children.removeSubrange(cut...)
        node.keys.removeSubrange(cut...)
        node.counts.removeSubrange(cut...)
        right.total = right.counts.reduce(0, +)
        node.total -= right.total
        return (right.keys[0], right)
    }

    // MARK: - Removal

    /// Removes the item for (score, member); returns it, or `nil` when absent.
    @discardableResult
    mutating func remove(score: Double, member: UnsafeRawBufferPointer) -> SortedSetItem? {
        let removed = SortedSetTree.remove(from: self.root) { node in
            if node.isLeaf {
                let i = SortedSetTree.leafIndex(node, score: score, member: member)
                guard i < node.items.count, node.items[i].compare(score: score, member: member) == 0 else {
                    return nil
                }
                return i
            }
            return SortedSetTree.childIndex(node, score: score, member: member)
        }
        self.collapseRoot()
        return removed
    }

    /// Removes and returns the item at `rank` (0 ≤ rank < count).
    @discardableResult
    mutating func remove(at rank: Int) -> SortedSetItem {
        var r = rank
        let removed = SortedSetTree.remove(from: self.root) { node in
            if node.isLeaf { return r }
            var i = 0
            while r >= node.counts[i] {
                r -= node.counts[i]
                i += 1
            }
            return i
        }
        self.collapseRoot()
        // Why `!`: a rank below count always names an item.
        return removed!
    }

    private mutating func collapseRoot() {
        while !self.root.isLeaf && self.root.children.count == 1 {
            self.root = self.root.children[0]
        }
    }

    /// Removes the item that `choose` leads to (`choose` returns the child index in a branch, the item index or
    /// `nil` in a leaf), rebalancing on the way back up.
    private static func remove(
        from node: SortedSetTreeNode,
        _ choose: (SortedSetTreeNode) -> Int?
    ) -> SortedSetItem? {
        guard let i = choose(node) else { return nil }
        if node.isLeaf {
            node.total -= 1
            return node.items.remove(at: i)
        }
        let child = node.children[i]
        guard let removed = SortedSetTree.remove(from: child, choose) else { return nil }
        node.counts[i] -= 1
        node.total -= 1
        let minimum = child.isLeaf ? SortedSetTree.leafMinimum : SortedSetTree.branchMinimum
        if child.width < minimum && node.children.count > 1 {
            SortedSetTree.rebalance(node, at: i)
        }
        return removed
    }

    /// Merges the underfull child `i` of `parent` with a sibling, or moves items over from it.
    private static func rebalance(_ parent: SortedSetTreeNode, at i: Int) {
        let l = i > 0 ? i - 1 : 0
        let r = l + 1
        let left = parent.children[l]
        let right = parent.children[r]
        let capacity = left.isLeaf ? SortedSetTree.leafCapacity : SortedSetTree.branchCapacity
        let combined = left.width + right.width
        if combined <= capacity {
            if left.isLeaf {
                left.items.append(contentsOf: right.items)
            } else {
                right.keys[0] = parent.keys[r]
                left.children.append(contentsOf: right.children)
                left.keys.append(contentsOf: right.keys)
                left.counts.append(contentsOf: right.counts)
            }
            left.total += right.total
            parent.counts[l] = left.total
            parent.children.remove(at: r)
            parent.keys.remove(at: r)
            parent.counts.remove(at: r)
            return
        }
        let target = combined / 2
        if left.isLeaf {
            if left.items.count > target {
                right.items.insert(contentsOf: left.items[target...], at: 0)
                left.items.removeSubrange(target...)
            } else {
                let m = target - left.items.count
                left.items.append(contentsOf: right.items[..<m])
                right.items.removeSubrange(..<m)
            }
            left.total = left.items.count
            right.total = right.items.count
            parent.keys[r] = right.items[0]
        } else {
            right.keys[0] = parent.keys[r]
            if left.children.count > target {
                right.children.insert(contentsOf: left.children[target...], at: 0)
                right.keys.insert(contentsOf: left.keys[target...], at: 0)
                right.counts.insert(contentsOf: left.counts[target...], at: 0)
                left.children.removeSubrange(target...)
                left.keys.removeSubrange(target...)
                left.counts.removeSubrange(target...)
            } else {
                let m = target - left.children.count
                left.children.append(contentsOf: right.children[..<m])
                left.keys.append(contentsOf: right.keys[..<m])
                left.counts.append(contentsOf: right.counts[..<m])
                right.children.removeSubrange(..<m)
                right.keys.removeSubrange(..<m)
                right.counts.removeSubrange(..<m)
            }
            left.total = left.counts.reduce(0, +)
            right.total = right.counts.reduce(0, +)
            parent.keys[r] = right.keys[0]
        }
        parent.counts[l] = left.total
        parent.counts[r] = right.total
    }

    // MARK: - Whole tree

    mutating func removeAll() {
        self.root = SortedSetTreeNode(leaf: true)
    }

    /// Number of tree nodes and item slots reserved, for `MEMORY USAGE`.
    func footprint() -> (nodes: Int, slots: Int) {
        var nodes = 0
        var slots = 0
        func visit(_ node: SortedSetTreeNode) {
            nodes += 1
            if node.isLeaf {
                slots += node.items.capacity
            } else {
                slots += node.children.capacity * 4
                for c in node.children { visit(c) }
            }
        }
        visit(self.root)
        return (nodes, slots)
    }
}
