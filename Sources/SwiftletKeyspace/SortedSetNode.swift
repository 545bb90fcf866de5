#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The fixed part of a ``SortedSetNode``; the member bytes follow it in the same allocation.
public struct SortedSetNodeHeader {
    /// The member's score (never NaN).
    public var score: Double
    /// The next node in the same bucket of the member index.
    var next: SortedSetNode?
    /// The low 32 bits of the member's hash (computed when the member index is built).
    var hash: UInt32
    let count: UInt32
}

/// One member of a sorted set: its score and its bytes, in a single heap allocation (what Redis spreads over a
/// skiplist node, an sds string and a dict entry).
///
/// The order tree and the member index both refer to the same node, so a member is stored once.
public final class SortedSetNode: ManagedBuffer<SortedSetNodeHeader, UInt8> {
    static func make(_ member: UnsafeRawBufferPointer, score: Double, hash: UInt32 = 0) -> SortedSetNode {
        let object = SortedSetNode.create(minimumCapacity: member.count) { _ in
            SortedSetNodeHeader(score: score, next: nil, hash: hash, count: UInt32(member.count))
        }
        // `create` called on `SortedSetNode` allocates a `SortedSetNode`.
        let node = unsafeDowncast(object, to: SortedSetNode.self)
        if member.count > 0 {
            node.withUnsafeMutablePointerToElements { base in
                // Why `!`: a non-empty buffer has a base address.
                UnsafeMutableRawPointer(base).copyMemory(from: member.baseAddress!, byteCount: member.count)
            }
        }
        return node
    }

    public var score: Double {
        get { self.header.score }
        set { self.header.score = newValue }
    }

    /// Length of the member in bytes.
    public var memberCount: Int { Int(self.header.count) }

    /// Calls `body` with the member bytes, valid only inside the call.
    @inline(__always)
    public func withMember<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try self.withUnsafeMutablePointerToElements { base in
            try body(UnsafeRawBufferPointer(start: base, count: Int(self.header.count)))
        }
    }

    /// The member as an array (allocates; for results that outlive the set and for tests).
    public var member: [UInt8] { self.withMember { Array($0) } }

    /// Whether the member equals `other`.
    @inline(__always)
    func memberEquals(_ other: UnsafeRawBufferPointer) -> Bool {
        guard Int(self.header.count) == other.count else { return false }
        if other.count == 0 { return true }
        return self.withUnsafeMutablePointerToElements { base in
            // Why `!`: `other` is non-empty.
            memcmpBytes(UnsafeRawPointer(base), other.baseAddress!, other.count)
        }
    }

    /// Compares the member with `other` as Redis's `sdscmp` does: bytes first, then length.
    @inline(__always)
    func compareMember(_ other: UnsafeRawBufferPointer) -> Int {
        self.withMember { SortedSetNode.compare($0, other) }
    }

    /// `memcmp` over the common prefix, then the shorter string first.
    @inline(__always)
    static func compare(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        let n = min(a.count, b.count)
        if n > 0 {
            // Why `!`: both buffers are non-empty when n > 0.
            let c = memcmp(a.baseAddress!, b.baseAddress!, n)
            if c != 0 { return Int(c) }
        }
        return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
    }
}
