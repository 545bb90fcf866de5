#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The index of linked items by key (memcached's `assoc`): power-of-two buckets of item addresses, chained through
/// each item's hash-chain field.
///
/// It grows as memcached's does, when items pass 1.5 per bucket, to twice the buckets; the move is incremental
/// (memcached moves buckets in a thread of its own): every insert moves a few buckets and the maintenance tick moves
/// more, and a lookup reads the old array for the buckets not moved yet.
struct ItemTable {
    private(set) var power: Int
    private var buckets: UnsafeMutablePointer<UInt>
    private var old: UnsafeMutablePointer<UInt>?
    private var oldPower = 0
    /// The next bucket of `old` to move.
    private var moved = 0
    private(set) var count = 0

    init(power: Int) {
        self.power = power
        self.buckets = Self.makeBuckets(1 << power)
    }

    private static func makeBuckets(_ n: Int) -> UnsafeMutablePointer<UInt> {
        let b = UnsafeMutablePointer<UInt>.allocate(capacity: n)
        b.initialize(repeating: 0, count: n)
        return b
    }

    func release() {
        self.buckets.deallocate()
        self.old?.deallocate()
    }

    var isExpanding: Bool { self.old != nil }

    /// Bytes of the bucket arrays (`hash_bytes` in `stats`).
    var bytes: Int { ((1 << self.power) + (self.old == nil ? 0 : 1 << self.oldPower)) * MemoryLayout<UInt>.size }

    @inline(__always)
    private func slot(_ hash: UInt32) -> UnsafeMutablePointer<UInt> {
        if let old = self.old {
            let index = Int(hash) & ((1 << self.oldPower) - 1)
            if index >= self.moved { return old + index }
        }
        return self.buckets + (Int(hash) & ((1 << self.power) - 1))
    }

    func find(_ key: UnsafeRawBufferPointer, hash: UInt32) -> Item? {
        var bits = self.slot(hash).pointee
        while let item = Item(bits: bits) {
            if item.hash == hash && item.keyEquals(key) { return item }
            bits = item.hashNextBits
        }
        return nil
    }

    /// `-o no_hashexpand`: the bucket array keeps its size.
    var mayExpand = true

    mutating func insert(_ item: Item) {
        let slot = self.slot(item.hash)
        item.hashNextBits = slot.pointee
        slot.pointee = item.bits
        self.count += 1
        if self.mayExpand && self.old == nil && self.count > (1 << self.power) * 3 / 2 && self.power < 32 {
            self.startExpanding()
        }
        if self.old != nil { self.expand(buckets: 4) }
    }

    mutating func remove(_ item: Item) {
        let slot = self.slot(item.hash)
        var link = slot
        while let current = Item(bits: link.pointee) {
            if current == item {
                link.pointee = item.hashNextBits
                item.hashNextBits = 0
                self.count -= 1
                return
            }
            link = UnsafeMutablePointer<UInt>(OpaquePointer(current.base + 24))
        }
    }

    private mutating func startExpanding() {
        self.old = self.buckets
        self.oldPower = self.power
        self.power += 1
        self.buckets = Self.makeBuckets(1 << self.power)
        self.moved = 0
    }

    /// Moves up to `buckets` buckets of the old array; returns whether a move is still under way.
    @discardableResult
    mutating func expand(buckets: Int) -> Bool {
        guard let old = self.old else { return false }
        let total = 1 << self.oldPower
        let mask = (1 << self.power) - 1
        var n = buckets
        while n > 0 && self.moved < total {
            var bits = old[self.moved]
            while let item = Item(bits: bits) {
                bits = item.hashNextBits
                let target = self.buckets + (Int(item.hash) & mask)
                item.hashNextBits = target.pointee
                target.pointee = item.bits
            }
            old[self.moved] = 0
            self.moved += 1
            n -= 1
        }
        if self.moved == total {
            old.deallocate()
            self.old = nil
        }
        return self.old != nil
    }
}
