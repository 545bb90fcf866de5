/// The hash of keys, hash fields, set members and sorted-set members.
///
/// A keyed multiply-and-fold hash in the construction of wyhash (the one Go's runtime uses for its maps): the bytes
/// are read as 64-bit words, each pair of words is multiplied into 128 bits and the two halves folded together,
/// and every step mixes in a seed drawn from the system's random source when the process starts.
///
/// Why not the standard library's `Hasher`: it is SipHash-1-3 behind a streaming interface (a tail buffer, a
/// seeding step and four finalisation rounds), and at pipeline depth 16 it took 5–6% of the server's time on a
/// SADD (two hashes per command: the key, then the member). This hash is a handful of multiplications for the
/// short keys Redis workloads use. Like Redis's SipHash (and Swift's), it is seeded per process, so an attacker who
/// cannot read the seed cannot choose keys that collide in one bucket; it makes no cryptographic claim beyond that.
/// Hash values are never stored on disk or sent to clients (SCAN cursors are bucket positions of this process),
/// so the choice can change freely. The memcached store (SwiftletMemcachedStore) hashes its keys with it too.
public enum KeyHash {
    @usableFromInline
    static let seed: UInt64 = {
        var g = SystemRandomNumberGenerator()
        return g.next() ^ KeyHash.fold(g.next() ^ KeyHash.k0, KeyHash.k1)
    }()

    // Odd constants with well-spread bits (from the wyhash paper's default secret).
    @usableFromInline static let k0: UInt64 = 0xa076_1d64_78bd_642f
    @usableFromInline static let k1: UInt64 = 0xe703_7ed1_a0b4_28db

    /// The 128-bit product of `a` and `b`, its halves folded by xor.
    @inline(__always) @usableFromInline
    static func fold(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let r = a.multipliedFullWidth(by: b)
        return r.high ^ r.low
    }

    @inline(__always) @usableFromInline
    static func word(_ p: UnsafeRawPointer, _ offset: Int) -> UInt64 {
        UInt64(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    @inline(__always) @usableFromInline
    static func half(_ p: UnsafeRawPointer, _ offset: Int) -> UInt64 {
        UInt64(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
    }

    @inlinable
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        let n = bytes.count
        var state = Self.seed
        var a: UInt64 = 0
        var b: UInt64 = 0
        if n > 0, let p = bytes.baseAddress {
            if n <= 16 {
                if n >= 4 {
                    // Two overlapping reads from each end cover every length from 4 to 16 bytes.
                    let step = (n >> 3) << 2
                    a = (Self.half(p, 0) << 32) | Self.half(p, step)
                    b = (Self.half(p, n - 4) << 32) | Self.half(p, n - 4 - step)
                } else {
                    a =
                        (UInt64(p.load(fromByteOffset: 0, as: UInt8.self)) << 16)
                        | (UInt64(p.load(fromByteOffset: n >> 1, as: UInt8.self)) << 8)
                        | UInt64(p.load(fromByteOffset: n - 1, as: UInt8.self))
                }
            } else {
                var offset = 0
                var left = n
                while left > 16 {
                    state = Self.fold(Self.word(p, offset) ^ Self.k1, Self.word(p, offset + 8) ^ state)
                    offset += 16
                    left -= 16
                }
                // The last 16 bytes, overlapping the previous block when the length is not a multiple of 16.
                a = Self.word(p, n - 16)
                b = Self.word(p, n - 8)
            }
        }
        a ^= Self.k1
        b ^= state
        let r = a.multipliedFullWidth(by: b)
        return Self.fold(r.low ^ Self.k0 ^ UInt64(truncatingIfNeeded: n), r.high ^ Self.k1)
    }
}
