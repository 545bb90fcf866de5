/// Redis's CRC-64 (`crc64.c`): the Jones polynomial `0xad93d23594c935a9`, reflected input and output, initial
/// value 0, no final xor. It checks RDB files and DUMP payloads; `"123456789"` gives `0xe9c6d914c4b8d9ca`.
///
/// Slicing-by-8: eight 256-entry tables fold eight input bytes per step (several GB/s, like Redis's `crcspeed`).
public enum CRC64 {
    /// The polynomial with its bits reversed, for the reflected (LSB-first) algorithm.
    static let reflectedPolynomial: UInt64 = 0x95ac_9329_ac4b_c9b5

    /// Table `k` (0 ... 7) lives at `k * 256 ..< (k + 1) * 256`.
    static let tables: [UInt64] = {
        var t = [UInt64](repeating: 0, count: 8 * 256)
        for i in 0..<256 {
            var crc = UInt64(i)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ reflectedPolynomial : crc >> 1 }
            t[i] = crc
        }
        for k in 1..<8 {
            for i in 0..<256 {
                let previous = t[(k - 1) * 256 + i]
                t[k * 256 + i] = (previous >> 8) ^ t[Int(previous & 0xFF)]
            }
        }
        return t
    }()

    /// Continues a checksum over `bytes` (start with 0).
    public static func update(_ crc: UInt64, _ bytes: UnsafeRawBufferPointer) -> UInt64 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
        var crc = crc
        var p = base
        var n = bytes.count
        Self.tables.withUnsafeBufferPointer { t in
            while n >= 8 {
                // Little-endian load: the first byte lands in the low bits, as the reflected algorithm needs.
                crc ^= UInt64(littleEndian: p.loadUnaligned(as: UInt64.self))
                crc =
                    t[7 * 256 + Int(crc & 0xFF)] ^ t[6 * 256 + Int((crc >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((crc >> 16) & 0xFF)] ^ t[4 * 256 + Int((crc >> 24) & 0xFF)]
                    ^ t[3 * 256 + Int((crc >> 32) & 0xFF)] ^ t[2 * 256 + Int((crc >> 40) & 0xFF)]
                    ^ t[1 * 256 + Int((crc >> 48) & 0xFF)] ^ t[Int(crc >> 56)]
                p += 8
                n -= 8
            }
            while n > 0 {
                crc = t[Int((crc ^ UInt64(p.load(as: UInt8.self))) & 0xFF)] ^ (crc >> 8)
                p += 1
                n -= 1
            }
        }
        return crc
    }

    /// The checksum of `bytes`.
    public static func checksum(_ bytes: some Collection<UInt8>) -> UInt64 {
        if let crc = bytes.withContiguousStorageIfAvailable({ Self.update(0, UnsafeRawBufferPointer($0)) }) {
            return crc
        }
        return Array(bytes).withUnsafeBytes { Self.update(0, $0) }
    }
}
