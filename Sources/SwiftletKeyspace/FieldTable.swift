#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The `hashtable` encoding of sets and hashes: a ``ChainedDict`` of binary-safe keys, each with an optional value.
///
/// Every element is one `malloc` block (a *node*), laid out as
/// `[next: 8 bytes][key length: varint][key bytes][value length: varint][value bytes]`
/// (the value part only when the table has values). One block per element, no object header, no stored hash and
/// lengths of one byte for short strings keep an element of a 1M-member set at about the bytes Redis spends on its
/// `dictEntry` and `sds` (see the memory figures in the family's report); a rehash hashes each key again instead.
/// The table shrinks after each removal, as Redis's sets and hashes do.
///
/// A node pointer stays valid until the table is mutated. Not thread-safe: one event loop owns it.
public final class FieldTable {
    public typealias Node = UnsafeMutableRawPointer

    @exclusivity(unchecked)
    private var dict: ChainedDict<FieldNodeLinks>
    /// Bytes requested from `malloc` for the nodes (MEMORY USAGE).
    @exclusivity(unchecked)
    public private(set) var nodeBytes = 0
    /// Whether nodes carry a value (hashes) or only a key (sets).
    public let hasValues: Bool

    public init(hasValues: Bool, capacity: Int = 0) {
        self.hasValues = hasValues
        self.dict = ChainedDict(capacity: capacity)
    }

    deinit {
        self.removeAll()
    }

    public var count: Int { self.dict.count }
    public var isRehashing: Bool { self.dict.isRehashing }
    public var bucketCount: Int { self.dict.bucketCount }

    /// Approximate heap bytes: nodes as malloc rounds them, plus the bucket arrays.
    public var memoryUsage: Int {
        // glibc adds 8 bytes per chunk and rounds to 16; averaged, that is about 16 bytes per node.
        64 + self.nodeBytes + self.count * 16 + self.bucketCount * 8
    }

    // MARK: - Node layout

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
        FieldNodeLinks.setNext(node, nil)
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
        if self.dict.count == 0 { return nil }
        return self.dict.find(key, hash: FieldTable.hash(key))
    }

    public func contains(_ key: UnsafeRawBufferPointer) -> Bool {
        self.find(key) != nil
    }

    // MARK: - Insertion, update, removal

    /// Adds `key` if absent (a set's SADD). Returns `true` when it was added.
    @discardableResult
    public func insert(_ key: UnsafeRawBufferPointer) -> Bool {
        let hash = FieldTable.hash(key)
        if self.dict.find(key, hash: hash) != nil { return false }
        self.dict.insert(self.makeNode(key, nil), hash: hash)
        return true
    }

    /// Sets the value of `key`, adding it when absent. Returns `true` when the key was added.
    @discardableResult
    public func set(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Bool {
        let hash = FieldTable.hash(key)
        if let node = self.dict.find(key, hash: hash) {
            self.replaceValue(node, value, hash: hash)
            return false
        }
        self.dict.insert(self.makeNode(key, value), hash: hash)
        return true
    }

    /// Adds a key known to be absent (conversions and copies), without the lookup.
    public func insertNew(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer?) {
        self.dict.insert(self.makeNode(key, value), hash: FieldTable.hash(key))
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
            // `realloc` copied the `next` link; only the link to the block has to follow it.
            if target != node { self.dict.replace(node, with: target, hash: hash) }
        }
        let size = VarLength.write(value.count, to: target + offset)
        if value.count > 0 { (target + offset + size).copyMemory(from: value.baseAddress!, byteCount: value.count) }
    }

    /// Removes `key`; returns `true` if it was present.
    @discardableResult
    public func remove(_ key: UnsafeRawBufferPointer) -> Bool {
        if self.dict.count == 0 { return false }
        guard let node = self.dict.remove(key, hash: FieldTable.hash(key)) else { return false }
        self.freeNode(node)
        self.dict.shrinkIfNeeded()
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
        self.dict.removeAll { free($0) }
        self.nodeBytes = 0
    }

    // MARK: - Iteration

    /// Calls `body` for every node. The table must not be mutated meanwhile.
    public func forEachNode(_ body: (Node) throws -> Void) rethrows {
        try self.dict.forEachNode(body)
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

    /// Moves up to `steps` buckets (visiting at most ten empty ones per step) to the new table.
    @discardableResult
    public func rehash(steps: Int) -> Bool {
        self.dict.rehash(steps: steps)
    }

    // MARK: - Scanning and sampling

    /// One step of HSCAN/SSCAN: calls `body` for the nodes of the bucket(s) under `cursor` and returns the next
    /// cursor (0 when complete). A key present for the whole scan is returned at least once, across resizes.
    /// `body` must not use the table.
    public func scan(_ cursor: UInt64, _ body: (Node) -> Void) -> UInt64 {
        self.dict.scan(cursor, body)
    }

    /// A random node, as fair as Redis's `dictGetFairRandomKey` (SRANDMEMBER, SPOP, HRANDFIELD); see
    /// ``ChainedDict/fairRandomNode(using:)``.
    public func randomNode<G: RandomNumberGenerator>(using rng: inout G) -> Node? {
        self.dict.fairRandomNode(using: &rng)
    }
}

/// How ``FieldTable`` chains its nodes: the `next` link is the first 8 bytes of each block, and no hash is stored.
enum FieldNodeLinks: DictLinks {
    @inline(__always)
    static func next(_ node: FieldTable.Node) -> FieldTable.Node? {
        node.load(as: FieldTable.Node?.self)
    }

    @inline(__always)
    static func setNext(_ node: FieldTable.Node, _ next: FieldTable.Node?) {
        node.storeBytes(of: next, as: FieldTable.Node?.self)
    }

    static func hash(_ node: FieldTable.Node) -> Int {
        FieldTable.hash(FieldTable.key(node))
    }

    static func matches(_ node: FieldTable.Node, _ key: UnsafeRawBufferPointer, hash: Int) -> Bool {
        let k = FieldTable.key(node)
        // Why `!`: both buffers are non-empty when the lengths match and are not zero.
        return k.count == key.count && (k.count == 0 || memcmpBytes(k.baseAddress!, key.baseAddress!, k.count))
    }

    static func isSame(_ a: FieldTable.Node, _ b: FieldTable.Node) -> Bool {
        a == b
    }

    /// Redis's order: a rehash step, then the growth check, then the insertion.
    static var growsBeforeRehashStep: Bool { false }
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
