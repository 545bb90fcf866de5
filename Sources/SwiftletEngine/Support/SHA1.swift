/// SHA-1 (FIPS 180-4), for DEBUG DIGEST and DEBUG DIGEST-VALUE, which Redis builds from SHA-1 (debug.c). Not for
/// anything that needs a secure hash.
///
/// Allocation-free: the 64-byte block buffer lives in the struct and a digest is five words, so the two hashes per
/// element of a dataset digest cost no heap traffic.
///
///     var sha = SHA1()
///     sha.update(bytes)
///     let digest = sha.finish()   // digest.hex == "a9993e36..." for "abc"
struct SHA1 {
    /// A 160-bit digest as five big-endian words (the byte order of its hex text).
    struct Digest: Hashable, Sendable {
        var h0: UInt32
        var h1: UInt32
        var h2: UInt32
        var h3: UInt32
        var h4: UInt32

        /// All zero bits: where Redis's digests start (`memset(digest, 0, 20)`).
        static let zero = Digest(h0: 0, h1: 0, h2: 0, h3: 0, h4: 0)

        /// The initial hash value of FIPS 180-4, 5.3.1.
        static let initial = Digest(h0: 0x6745_2301, h1: 0xEFCD_AB89, h2: 0x98BA_DCFE, h3: 0x1032_5476, h4: 0xC3D2_E1F0)

        /// `self ^= other`, byte by byte (the words are in big-endian byte order, so words xor alike).
        mutating func formXor(_ other: Digest) {
            self.h0 ^= other.h0
            self.h1 ^= other.h1
            self.h2 ^= other.h2
            self.h3 ^= other.h3
            self.h4 ^= other.h4
        }

        /// Calls `body` with the 20 digest bytes, built on the stack.
        func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
            var words = (
                self.h0.bigEndian, self.h1.bigEndian, self.h2.bigEndian, self.h3.bigEndian, self.h4.bigEndian
            )
            return try withUnsafeBytes(of: &words) { try body(UnsafeRawBufferPointer(rebasing: $0[0..<20])) }
        }

        /// 40 lowercase hex digits, as Redis prints a digest (`%02x` per byte).
        var hex: String {
            let digits = Array("0123456789abcdef".utf8)
            var text: [UInt8] = []
            text.reserveCapacity(40)
            for word in [self.h0, self.h1, self.h2, self.h3, self.h4] {
                for shift in stride(from: 28, through: 0, by: -4) {
                    text.append(digits[Int((word >> UInt32(shift)) & 0xF)])
                }
            }
            return String(decoding: text, as: UTF8.self)
        }
    }

    private var state = Digest.initial
    /// The bytes of an unfinished block.
    private var block: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    private var blockCount = 0
    /// Message length so far, in bytes.
    private var length: UInt64 = 0

    init() {}

    /// The digest of `bytes` in one call.
    static func hash(_ bytes: UnsafeRawBufferPointer) -> Digest {
        var sha = SHA1()
        sha.update(bytes)
        return sha.finish()
    }

    static func hash(_ bytes: [UInt8]) -> Digest {
        bytes.withUnsafeBytes { Self.hash($0) }
    }

    /// Appends `bytes` to the message.
    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard var source = bytes.baseAddress, bytes.count > 0 else { return }
        var left = bytes.count
        self.length &+= UInt64(left)
        if self.blockCount > 0 {
            let n = min(64 - self.blockCount, left)
            let offset = self.blockCount
            // Why `!`: the buffer is a 64-byte tuple, never empty.
            withUnsafeMutableBytes(of: &self.block) {
                ($0.baseAddress! + offset).copyMemory(from: source, byteCount: n)
            }
            self.blockCount += n
            source += n
            left -= n
            if self.blockCount < 64 { return }
            self.compressBufferedBlock()
        }
        while left >= 64 {
            Self.compress(&self.state, source)
            source += 64
            left -= 64
        }
        if left > 0 {
            withUnsafeMutableBytes(of: &self.block) { $0.baseAddress!.copyMemory(from: source, byteCount: left) }
            self.blockCount = left
        }
    }

    /// Pads the message (0x80, zeros, the bit length as a big-endian 64-bit number) and returns the digest.
    /// Works on copies: the hasher itself is left as it was.
    func finish() -> Digest {
        let bitLength = self.length &* 8
        let used = self.blockCount
        var block = self.block
        var state = self.state
        withUnsafeMutableBytes(of: &block) { raw in
            raw[used] = 0x80
            for i in (used + 1)..<64 { raw[i] = 0 }
            // The length field must end a block: without 8 bytes left after the 0x80, it goes in one more block.
            if used >= 56 {
                Self.compress(&state, UnsafeRawPointer(raw.baseAddress!))  // 64 bytes, from a tuple of 8 words
                for i in 0..<56 { raw[i] = 0 }
            }
            raw.storeBytes(of: bitLength.bigEndian, toByteOffset: 56, as: UInt64.self)
            Self.compress(&state, UnsafeRawPointer(raw.baseAddress!))
        }
        return state
    }

    private mutating func compressBufferedBlock() {
        var block = self.block
        withUnsafeBytes(of: &block) { Self.compress(&self.state, $0.baseAddress!) }
        self.blockCount = 0
    }

    /// One application of the compression function (FIPS 180-4, 6.1.2) to the 64 bytes at `block`, with the message
    /// schedule kept as a 16-word ring on the stack.
    private static func compress(_ state: inout Digest, _ block: UnsafeRawPointer) {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 16) { w in
            for i in 0..<16 {
                w[i] = UInt32(bigEndian: block.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))
            }
            var a = state.h0
            var b = state.h1
            var c = state.h2
            var d = state.h3
            var e = state.h4
            for t in 0..<80 {
                let word: UInt32
                if t < 16 {
                    word = w[t]
                } else {
                    let mixed = w[(t - 3) & 15] ^ w[(t - 8) & 15] ^ w[(t - 14) & 15] ^ w[t & 15]
                    word = mixed.rotatedLeft(1)
                    w[t & 15] = word
                }
                let f: UInt32
                let k: UInt32
                switch t {
                case 0..<20:
                    f = (b & c) | (~b & d)
                    k = 0x5A82_7999
                case 20..<40:
                    f = b ^ c ^ d
                    k = 0x6ED9_EBA1
                case 40..<60:
                    f = (b & c) | (b & d) | (c & d)
                    k = 0x8F1B_BCDC
                default:
                    f = b ^ c ^ d
                    k = 0xCA62_C1D6
                }
                let temp = a.rotatedLeft(5) &+ f &+ e &+ k &+ word
                e = d
                d = c
                c = b.rotatedLeft(30)
                b = a
                a = temp
            }
            state.h0 &+= a
            state.h1 &+= b
            state.h2 &+= c
            state.h3 &+= d
            state.h4 &+= e
        }
    }
}

extension UInt32 {
    @inline(__always)
    fileprivate func rotatedLeft(_ n: UInt32) -> UInt32 {
        (self << n) | (self >> (32 - n))
    }
}

extension SHA1.Digest {
    /// A digest's bits are already uniformly spread: two of its words are as good a hash as all five (EVAL's cache
    /// looks scripts up by digest on every call).
    func hash(into hasher: inout Hasher) {
        hasher.combine(UInt64(self.h0) << 32 | UInt64(self.h1))
    }

    /// The digest written as 40 hex digits, in either case (EVALSHA's argument); nil for any other text.
    init?(hex: UnsafeRawBufferPointer) {
        guard hex.count == 40 else { return nil }
        /// The big-endian word of the 8 digits at `start`.
        func word(_ start: Int) -> UInt32? {
            var value: UInt32 = 0
            for c in hex[start..<start + 8] {
                var nibble = c &- UInt8(ascii: "0")
                if nibble > 9 {
                    // Letters, either case: 'a' and 'A' both become 10.
                    nibble = (c | 0x20) &- UInt8(ascii: "a")
                    guard nibble < 6 else { return nil }
                    nibble += 10
                }
                value = value << 4 | UInt32(nibble)
            }
            return value
        }
        guard let h0 = word(0), let h1 = word(8), let h2 = word(16), let h3 = word(24), let h4 = word(32) else {
            return nil
        }
        self.init(h0: h0, h1: h1, h2: h2, h3: h3, h4: h4)
    }
}
