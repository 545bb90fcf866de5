import Testing

@testable import SwiftletEngine

/// The SHA-1 behind DEBUG DIGEST, against the FIPS 180 examples and Python's `hashlib` at every block boundary.
struct SHA1Tests {
    static func hex(_ text: String) -> String {
        SHA1.hash(Array(text.utf8)).hex
    }

    @Test func knownVectors() {
        #expect(Self.hex("") == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(Self.hex("abc") == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(
            Self.hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                == "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        )
    }

    /// EVALSHA's argument: 40 hex digits in either case read back to the digest; anything else is no digest.
    @Test func digestFromHex() {
        let digest = SHA1.hash(Array("abc".utf8))
        func parse(_ text: String) -> SHA1.Digest? {
            Array(text.utf8).withUnsafeBytes { SHA1.Digest(hex: $0) }
        }
        #expect(parse(digest.hex) == digest)
        #expect(parse(digest.hex.uppercased()) == digest)
        #expect(parse("A9993E364706816aba3e25717850c26c9cd0d89d") == digest)
        #expect(parse("a9993e364706816aba3e25717850c26c9cd0d89") == nil)
        #expect(parse("a9993e364706816aba3e25717850c26c9cd0d89d0") == nil)
        for bad in ["g", "G", ":", "/", "@", "`", " ", "\u{7f}"] {
            #expect(parse("a9993e364706816aba3e25717850c26c9cd0d89" + bad) == nil)
            #expect(parse(bad + "9993e364706816aba3e25717850c26c9cd0d89d") == nil)
        }
    }

    @Test func millionAs() {
        let message = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        #expect(SHA1.hash(message).hex == "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
        // The same message fed in uneven pieces goes through the partial-block buffer.
        var sha = SHA1()
        var offset = 0
        var piece = 1
        while offset < message.count {
            let end = min(message.count, offset + piece)
            message[offset..<end].withUnsafeBytes { sha.update($0) }
            offset = end
            piece = piece % 150 + 7
        }
        #expect(sha.finish().hex == "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
    }

    /// Bytes 0, 1, 2, ... of these lengths: the padding fits the last block (55), just does not (56, 63), and
    /// the message fills whole blocks (64, 120) or spills over (65, 119). Expected values from Python's `hashlib`.
    @Test(arguments: [
        (55, "8ae2d46729cfe68ff927af5eec9c7d1b66d65ac2"),
        (56, "636e2ec698dac903498e648bd2f3af641d3c88cb"),
        (63, "6d942da0c4392b123528f2905c713a3ce28364bd"),
        (64, "c6138d514ffa2135bfce0ed0b8fac65669917ec7"),
        (65, "69bd728ad6e13cd76ff19751fde427b00e395746"),
        (119, "41c89d06001bab4ab78736b44efe7ce18ce6ae08"),
        (120, "d3dbd653bd8597b7475321b60a36891278e6a04a"),
    ])
    func blockBoundaries(length: Int, expected: String) {
        let message = (0..<length).map { UInt8($0) }
        #expect(SHA1.hash(message).hex == expected)
    }

    @Test func digestBytesAreBigEndian() {
        let digest = SHA1.hash(Array("abc".utf8))
        let bytes = digest.withBytes { Array($0) }
        #expect(bytes.count == 20)
        #expect(bytes.prefix(4) == [0xA9, 0x99, 0x3E, 0x36])
        #expect(bytes.suffix(4) == [0x9C, 0xD0, 0xD8, 0x9D])
    }
}
