import SwiftletKeyspace

/// A malformed listpack, ziplist, zipmap or intset blob.
struct BlobFailure: Error {
    let reason: String
}

/// Reads Redis's listpack format (`listpack.c`): `<total bytes:u32><count:u16><entries><0xFF>`, each entry
/// `<encoding+data><backlen>`.
enum Listpack {
    /// Calls `body` with each element (integers rendered as decimal text), checking every bound.
    static func elements(_ blob: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let n = blob.count
        guard n >= 7 else { throw BlobFailure(reason: "shorter than a listpack header") }
        let total = Int(blob[0]) | Int(blob[1]) << 8 | Int(blob[2]) << 16 | Int(blob[3]) << 24
        guard total == n else { throw BlobFailure(reason: "header says \(total) bytes, blob has \(n)") }
        guard blob[n - 1] == 0xFF else { throw BlobFailure(reason: "missing terminator") }
        let declared = Int(blob[4]) | Int(blob[5]) << 8
        var p = 6
        var count = 0
        while p < n - 1 {
            let b = blob[p]
            var header = 1
            var length = 0
            var integer: Int64?
            func need(_ k: Int) throws {
                if p + k > n - 1 { throw BlobFailure(reason: "entry at \(p) runs past the end") }
            }
            if b & 0x80 == 0 {
                integer = Int64(b)
            } else if b & 0xC0 == 0x80 {
                length = Int(b & 0x3F)
            } else if b & 0xE0 == 0xC0 {
                try need(2)
                let u = (Int64(b & 0x1F) << 8) | Int64(blob[p + 1])
                integer = u >= 4096 ? u - 8192 : u
                header = 2
            } else if b & 0xF0 == 0xE0 {
                try need(2)
                length = (Int(b & 0x0F) << 8) | Int(blob[p + 1])
                header = 2
            } else if b == 0xF0 {
                try need(5)
                length = Int(blob[p + 1]) | Int(blob[p + 2]) << 8 | Int(blob[p + 3]) << 16 | Int(blob[p + 4]) << 24
                header = 5
            } else if b >= 0xF1 && b <= 0xF4 {
                let width = b == 0xF1 ? 2 : b == 0xF2 ? 3 : b == 0xF3 ? 4 : 8
                try need(1 + width)
                var u: UInt64 = 0
                for i in 0..<width { u |= UInt64(blob[p + 1 + i]) << (8 * UInt64(i)) }
                let shift = UInt64(64 - 8 * width)
                integer = Int64(bitPattern: u << shift) >> shift
                header = 1 + width
            } else {
                throw BlobFailure(reason: "invalid entry encoding 0x\(String(b, radix: 16)) at \(p)")
            }
            let l = header + length
            let backlen = l <= 127 ? 1 : l < 16383 ? 2 : l < 2_097_151 ? 3 : l < 268_435_455 ? 4 : 5
            try need(l + backlen)
            // The backlen must encode `l` (read right to left, 7 bits per byte).
            var value = 0
            var shift = 0
            var q = p + l + backlen - 1
            while true {
                value |= Int(blob[q] & 127) << shift
                if blob[q] & 128 == 0 || q == p + l { break }
                shift += 7
                q -= 1
            }
            guard value == l else { throw BlobFailure(reason: "bad backlen of entry at \(p)") }
            if let integer {
                try DecimalText.withDigits(of: integer, body)
            } else {
                try body(UnsafeRawBufferPointer(rebasing: blob[(p + header)..<(p + l)]))
            }
            p += l + backlen
            count += 1
        }
        if declared != 65535 && declared != count {
            throw BlobFailure(reason: "header says \(declared) entries, found \(count)")
        }
    }
}

/// Reads Redis's ziplist format (RDB versions before 10): `<zlbytes:u32><zltail:u32><zllen:u16><entries><0xFF>`,
/// each entry `<prevlen><encoding><data>`.
enum Ziplist {
    static func elements(_ blob: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let n = blob.count
        guard n >= 11 else { throw BlobFailure(reason: "shorter than a ziplist header") }
        let total = Int(blob[0]) | Int(blob[1]) << 8 | Int(blob[2]) << 16 | Int(blob[3]) << 24
        guard total == n else { throw BlobFailure(reason: "header says \(total) bytes, blob has \(n)") }
        guard blob[n - 1] == 0xFF else { throw BlobFailure(reason: "missing terminator") }
        var p = 10
        var previous = 0
        while p < n - 1 {
            let start = p
            func need(_ k: Int) throws {
                if p + k > n - 1 { throw BlobFailure(reason: "entry at \(start) runs past the end") }
            }
            // prevlen: one byte, or 0xFE and four bytes.
            var prevlen: Int
            try need(1)
            if blob[p] < 254 {
                prevlen = Int(blob[p])
                p += 1
            } else if blob[p] == 254 {
                try need(5)
                prevlen = Int(blob[p + 1]) | Int(blob[p + 2]) << 8 | Int(blob[p + 3]) << 16 | Int(blob[p + 4]) << 24
                p += 5
            } else {
                throw BlobFailure(reason: "invalid prevlen at \(start)")
            }
            if prevlen != previous { throw BlobFailure(reason: "prevlen mismatch at \(start)") }
            try need(1)
            let b = blob[p]
            var integer: Int64?
            var length = 0
            var header = 1
            switch b >> 6 {
            case 0:
                length = Int(b & 0x3F)
            case 1:
                try need(2)
                length = (Int(b & 0x3F) << 8) | Int(blob[p + 1])
                header = 2
            case 2:
                try need(5)
                length = Int(blob[p + 1]) << 24 | Int(blob[p + 2]) << 16 | Int(blob[p + 3]) << 8 | Int(blob[p + 4])
                header = 5
            default:
                let width: Int
                switch b {
                case 0xC0: width = 2
                case 0xD0: width = 4
                case 0xE0: width = 8
                case 0xF0: width = 3
                case 0xFE: width = 1
                case 0xF1...0xFD:
                    width = 0
                    integer = Int64(b & 0x0F) - 1
                default: throw BlobFailure(reason: "invalid entry encoding 0x\(String(b, radix: 16)) at \(start)")
                }
                if width > 0 {
                    try need(1 + width)
                    var u: UInt64 = 0
                    for i in 0..<width { u |= UInt64(blob[p + 1 + i]) << (8 * UInt64(i)) }
                    let shift = UInt64(64 - 8 * width)
                    integer = Int64(bitPattern: u << shift) >> shift
                }
                header = 1 + width
            }
            try need(header + length)
            if let integer {
                try DecimalText.withDigits(of: integer, body)
            } else {
                try body(UnsafeRawBufferPointer(rebasing: blob[(p + header)..<(p + header + length)]))
            }
            p += header + length
            previous = p - start
        }
    }
}

/// Reads Redis 2.x's zipmap format: `<count:u8>` then `<len><key><len><free:u8><value><free bytes>` pairs, and
/// `0xFF`. Lengths are one byte below 254, or 254 and a 4-byte little-endian number.
enum Zipmap {
    static func pairs(_ blob: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let n = blob.count
        guard n >= 2 else { throw BlobFailure(reason: "shorter than a zipmap") }
        var p = 1
        func length() throws -> Int? {
            guard p < n else { throw BlobFailure(reason: "runs past the end") }
            let b = blob[p]
            if b == 255 { return nil }
            if b < 254 {
                p += 1
                return Int(b)
            }
            guard p + 5 <= n else { throw BlobFailure(reason: "runs past the end") }
            let v = Int(blob[p + 1]) | Int(blob[p + 2]) << 8 | Int(blob[p + 3]) << 16 | Int(blob[p + 4]) << 24
            p += 5
            return v
        }
        while let keyLength = try length() {
            guard p + keyLength <= n else { throw BlobFailure(reason: "key runs past the end") }
            try body(UnsafeRawBufferPointer(rebasing: blob[p..<(p + keyLength)]))
            p += keyLength
            guard let valueLength = try length() else { throw BlobFailure(reason: "key without a value") }
            guard p < n else { throw BlobFailure(reason: "runs past the end") }
            let free = Int(blob[p])
            p += 1
            guard p + valueLength + free <= n else { throw BlobFailure(reason: "value runs past the end") }
            try body(UnsafeRawBufferPointer(rebasing: blob[p..<(p + valueLength)]))
            p += valueLength + free
        }
        guard p == n - 1 else { throw BlobFailure(reason: "bytes after the terminator") }
    }
}

/// Reads Redis's intset format: `<encoding:u32><length:u32>` then sorted little-endian integers of that width.
enum Intset {
    static func values(_ blob: UnsafeRawBufferPointer, _ body: (Int64) throws -> Void) throws {
        guard blob.count >= 8 else { throw BlobFailure(reason: "shorter than an intset header") }
        let width = Int(blob[0]) | Int(blob[1]) << 8 | Int(blob[2]) << 16 | Int(blob[3]) << 24
        let count = Int(blob[4]) | Int(blob[5]) << 8 | Int(blob[6]) << 16 | Int(blob[7]) << 24
        guard width == 2 || width == 4 || width == 8 else { throw BlobFailure(reason: "invalid encoding \(width)") }
        guard 8 + count * width == blob.count else { throw BlobFailure(reason: "length does not match the size") }
        var previous: Int64?
        for i in 0..<count {
            var u: UInt64 = 0
            let p = 8 + i * width
            for k in 0..<width { u |= UInt64(blob[p + k]) << (8 * UInt64(k)) }
            let shift = UInt64(64 - 8 * width)
            let v = Int64(bitPattern: u << shift) >> shift
            if let previous, v <= previous { throw BlobFailure(reason: "values not strictly ascending") }
            previous = v
            try body(v)
        }
    }
}
