/// The base64 of meta commands' `b` flag, with memcached's tolerance: bytes outside the alphabet are skipped, the
/// rest must come in groups of four, and decoding stops after the first group with padding.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0x80, count: 256)
        for (i, c) in Self.alphabet.enumerated() { table[Int(c)] = UInt8(i) }
        table[Int(UInt8(ascii: "="))] = 0
        return table
    }()

    /// The decoded bytes, or nil where memcached's `base64_decode` returns 0 (nothing decoded is a failure too).
    static func decode(_ bytes: UnsafeRawBufferPointer) -> [UInt8]? {
        var count = 0
        for b in bytes where Self.values[Int(b)] != 0x80 { count += 1 }
        guard count > 0, count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(count / 4 * 3)
        var block = (UInt8(0), UInt8(0), UInt8(0), UInt8(0))
        var filled = 0
        var pad = 0
        for b in bytes {
            let v = Self.values[Int(b)]
            if v == 0x80 { continue }
            if b == UInt8(ascii: "=") { pad += 1 }
            switch filled {
            case 0: block.0 = v
            case 1: block.1 = v
            case 2: block.2 = v
            default: block.3 = v
            }
            filled += 1
            if filled == 4 {
                out.append((block.0 << 2) | (block.1 >> 4))
                out.append((block.1 << 4) | (block.2 >> 2))
                out.append((block.2 << 6) | block.3)
                filled = 0
                if pad > 0 {
                    if pad > 2 { return nil }
                    out.removeLast(pad)
                    break
                }
            }
        }
        return out.isEmpty ? nil : out
    }

    static func encode(_ bytes: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        var i = 0
        let n = bytes.count
        while n - i >= 3 {
            out.append(Self.alphabet[Int(bytes[i] >> 2)])
            out.append(Self.alphabet[Int(((bytes[i] & 0x03) << 4) | (bytes[i + 1] >> 4))])
            out.append(Self.alphabet[Int(((bytes[i + 1] & 0x0f) << 2) | (bytes[i + 2] >> 6))])
            out.append(Self.alphabet[Int(bytes[i + 2] & 0x3f)])
            i += 3
        }
        if n - i > 0 {
            out.append(Self.alphabet[Int(bytes[i] >> 2)])
            if n - i == 1 {
                out.append(Self.alphabet[Int((bytes[i] & 0x03) << 4)])
                out.append(UInt8(ascii: "="))
            } else {
                out.append(Self.alphabet[Int(((bytes[i] & 0x03) << 4) | (bytes[i + 1] >> 4))])
                out.append(Self.alphabet[Int((bytes[i + 1] & 0x0f) << 2)])
            }
            out.append(UInt8(ascii: "="))
        }
    }
}
