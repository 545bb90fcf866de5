import Testing

@testable import SwiftletKeyspace

/// The keyspace hash: every byte of every length counts, and similar keys spread over the buckets.
struct KeyHashTests {
    private func hash(_ bytes: [UInt8]) -> UInt64 {
        bytes.withUnsafeBytes { KeyHash.hash($0) }
    }

    @Test func sameBytesSameHashAtAnyAddress() {
        let key = Array("user:1000:profile".utf8)
        let padded = [0, 1, 2] + key
        let inner = padded.withUnsafeBytes { KeyHash.hash(UnsafeRawBufferPointer(rebasing: $0[3...])) }
        #expect(self.hash(key) == inner)
    }

    @Test func everyByteOfEveryLengthChangesTheHash() {
        // Lengths around each read-width boundary (0–3 bytes, 4–16 bytes with overlapping reads, 16-byte blocks).
        for length in 0...70 {
            let base = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            let h = self.hash(base)
            for i in 0..<length {
                var changed = base
                changed[i] ^= 0x01
                #expect(self.hash(changed) != h, "length \(length), byte \(i)")
            }
            // A longer key that starts with the same bytes differs too (the length is mixed in).
            #expect(self.hash(base + [0]) != h, "length \(length) + NUL")
        }
    }

    @Test func sequentialKeysSpreadOverBuckets() {
        // 65536 keys "key:N" into 4096 buckets: 16 per bucket on average; a poor mix of the low bits would pile
        // them up in a few buckets.
        var buckets = [Int](repeating: 0, count: 4096)
        for n in 0..<65536 {
            let h = self.hash(Array("key:\(n)".utf8))
            buckets[Int(truncatingIfNeeded: h) & 4095] += 1
        }
        #expect(buckets.max()! < 48)
        #expect(buckets.filter { $0 == 0 }.count < 8)
    }
}
