/// The entry format of Redis's listpack, used inside each node of a ``ListValue``.
///
/// An entry is `<encoding+data><backlen>`: small integers take one byte, strings a 1, 2 or 5 byte header, and
/// `backlen` (the length of encoding+data, 7 bits per byte, read right to left) lets a node be walked from its
/// end. Using Redis's own format keeps small elements at 2–10 bytes (a `[UInt8]` per element costs 40+) and
/// lets the RDB writer emit a node's entries as a listpack without re-encoding them.
public enum ListPack {
    /// An element about to be stored: canonical integer text is stored as a number, as listpack does.
    @usableFromInline
    enum Element {
        case integer(Int64)
        case bytes(UnsafeRawBufferPointer)

        @inline(__always)
        init(_ bytes: UnsafeRawBufferPointer) {
            // `parseInt64` accepts exactly the canonical decimal forms, so the text round-trips.
            if bytes.count <= 20, let v = NumberFormat.parseInt64(bytes) {
                self = .integer(v)
            } else {
                self = .bytes(bytes)
            }
        }
    }

    /// Bytes of the encoding and data of `element` (without the backlen).
    @inline(__always)
    static func payloadSize(_ element: Element) -> Int {
        switch element {
        case .integer(let v):
            if v >= 0 && v <= 127 { return 1 }
            if v >= -4096 && v <= 4095 { return 2 }
            if v >= Int64(Int16.min) && v <= Int64(Int16.max) { return 3 }
            if v >= -8_388_608 && v <= 8_388_607 { return 4 }
            if v >= Int64(Int32.min) && v <= Int64(Int32.max) { return 5 }
            return 9
        case .bytes(let b):
            if b.count < 64 { return 1 + b.count }
            if b.count < 4096 { return 2 + b.count }
            return 5 + b.count
        }
    }

    @inline(__always)
    static func backlenSize(_ l: Int) -> Int {
        if l <= 127 { return 1 }
        if l < 16383 { return 2 }
        if l < 2_097_151 { return 3 }
        if l < 268_435_455 { return 4 }
        return 5
    }

    /// Total bytes `element` takes in a node.
    @inline(__always)
    static func entrySize(_ element: Element) -> Int {
        let l = Self.payloadSize(element)
        return l + Self.backlenSize(l)
    }

    /// Writes `element` at `p`; returns the bytes written (``entrySize(_:)``).
    @discardableResult
    static func write(_ element: Element, to p: UnsafeMutablePointer<UInt8>) -> Int {
        let l = Self.payloadSize(element)
        switch element {
        case .integer(let v):
            switch l {
            case 1: p[0] = UInt8(truncatingIfNeeded: v)
            case 2:
                let u = v < 0 ? (1 << 13) + v : v
                p[0] = UInt8(truncatingIfNeeded: u >> 8) | 0xC0
                p[1] = UInt8(truncatingIfNeeded: u)
            default:
                p[0] = l == 3 ? 0xF1 : l == 4 ? 0xF2 : l == 5 ? 0xF3 : 0xF4
                let u = UInt64(bitPattern: v)
                for i in 0..<(l - 1) { p[1 + i] = UInt8(truncatingIfNeeded: u >> (8 * UInt64(i))) }
            }
        case .bytes(let b):
            var h = 0
            if b.count < 64 {
                p[0] = 0x80 | UInt8(b.count)
                h = 1
            } else if b.count < 4096 {
                p[0] = UInt8(b.count >> 8) | 0xE0
                p[1] = UInt8(truncatingIfNeeded: b.count)
                h = 2
            } else {
                p[0] = 0xF0
                for i in 0..<4 { p[1 + i] = UInt8(truncatingIfNeeded: b.count >> (8 * i)) }
                h = 5
            }
            if b.count > 0 { UnsafeMutableRawPointer(p + h).copyMemory(from: b.baseAddress!, byteCount: b.count) }
        }
        // backlen, most significant group first; every byte but the first has the continuation bit.
        let n = Self.backlenSize(l)
        let q = p + l
        for i in 0..<n {
            let shift = 7 * (n - 1 - i)
            var byte = UInt8(truncatingIfNeeded: (l >> shift) & 127)
            if i > 0 { byte |= 128 }
            q[i] = byte
        }
        return l + n
    }

    /// What an entry holds.
    @usableFromInline
    enum Stored {
        case integer(Int64)
        /// Offset of the string's first byte from the entry start, and its length.
        case bytes(offset: Int, count: Int)
    }

    /// Decodes the entry at `p`: its value and its total size (with the backlen).
    @inline(__always)
    static func decode(_ p: UnsafePointer<UInt8>) -> (value: Stored, size: Int) {
        let b = p[0]
        let value: Stored
        let l: Int
        if b & 0x80 == 0 {
            value = .integer(Int64(b))
            l = 1
        } else if b & 0xC0 == 0x80 {
            let n = Int(b & 0x3F)
            value = .bytes(offset: 1, count: n)
            l = 1 + n
        } else if b & 0xE0 == 0xC0 {
            let u = (Int64(b & 0x1F) << 8) | Int64(p[1])
            value = .integer(u >= 4096 ? u - 8192 : u)
            l = 2
        } else if b & 0xF0 == 0xE0 {
            let n = (Int(b & 0x0F) << 8) | Int(p[1])
            value = .bytes(offset: 2, count: n)
            l = 2 + n
        } else if b == 0xF0 {
            var n = 0
            for i in 0..<4 { n |= Int(p[1 + i]) << (8 * i) }
            value = .bytes(offset: 5, count: n)
            l = 5 + n
        } else {
            let width = b == 0xF1 ? 2 : b == 0xF2 ? 3 : b == 0xF3 ? 4 : 8
            var u: UInt64 = 0
            for i in 0..<width { u |= UInt64(p[1 + i]) << (8 * UInt64(i)) }
            // Sign-extend from `width` bytes.
            let shift = UInt64(64 - 8 * width)
            value = .integer(Int64(bitPattern: u << shift) >> shift)
            l = 1 + width
        }
        return (value, l + Self.backlenSize(l))
    }

    /// Total size of the entry at `p`, without decoding its value.
    @inline(__always)
    static func size(at p: UnsafePointer<UInt8>) -> Int {
        let b = p[0]
        let l: Int
        if b & 0x80 == 0 {
            l = 1
        } else if b & 0xC0 == 0x80 {
            l = 1 + Int(b & 0x3F)
        } else if b & 0xE0 == 0xC0 {
            l = 2
        } else if b & 0xF0 == 0xE0 {
            l = 2 + ((Int(b & 0x0F) << 8) | Int(p[1]))
        } else if b == 0xF0 {
            var n = 0
            for i in 0..<4 { n |= Int(p[1 + i]) << (8 * i) }
            l = 5 + n
        } else {
            l = b == 0xF1 ? 3 : b == 0xF2 ? 4 : b == 0xF3 ? 5 : 9
        }
        return l + Self.backlenSize(l)
    }

    /// Total size of the entry that ends just before `end` (read through its backlen).
    @inline(__always)
    static func size(endingAt end: UnsafePointer<UInt8>) -> Int {
        var p = end - 1
        var value = 0
        var shift = 0
        var n = 1
        while true {
            value |= Int(p.pointee & 127) << shift
            if p.pointee & 128 == 0 { break }
            shift += 7
            p -= 1
            n += 1
        }
        return value + n
    }

    /// Calls `body` with the bytes of a decoded value; integers are rendered in decimal on the stack.
    @inline(__always)
    static func withBytes<R>(
        _ value: Stored,
        entry: UnsafePointer<UInt8>,
        _ body: (UnsafeRawBufferPointer) throws -> R
    ) rethrows -> R {
        switch value {
        case .integer(let v):
            return try DecimalText.withDigits(of: v, body)
        case .bytes(let offset, let count):
            return try body(UnsafeRawBufferPointer(start: entry + offset, count: count))
        }
    }
}

/// An element to search for (LREM, LPOS, LINSERT): its bytes and, when they are canonical integer text, the
/// number, so that integer entries compare without being rendered.
public struct ListNeedle {
    let bytes: UnsafeRawBufferPointer
    let integer: Int64?

    public init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        self.integer = bytes.count <= 20 ? NumberFormat.parseInt64(bytes) : nil
    }

    /// Whether the entry at `p` holds this element.
    @inline(__always)
    func matches(_ p: UnsafePointer<UInt8>) -> Bool {
        let (value, _) = ListPack.decode(p)
        switch value {
        case .integer(let v):
            // Integer text is canonical, so only a canonical needle can equal it.
            return self.integer == v
        case .bytes(let offset, let count):
            guard count == self.bytes.count else { return false }
            if count == 0 { return true }
            return memcmpBytes(UnsafeRawPointer(p + offset), self.bytes.baseAddress!, count)
        }
    }
}
