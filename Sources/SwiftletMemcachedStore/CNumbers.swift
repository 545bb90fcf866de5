/// memcached's number parsing (`safe_strtoul`, `safe_strtol`, `safe_strtoull`, `safe_strtod` over C's `strto*`),
/// reproduced on a token's bytes so that the same inputs are accepted and refused: leading white space and a sign
/// are allowed, the digits must be followed by white space or the end, and the 64-bit results are truncated to 32
/// bits where memcached stores them in 32-bit variables (a flags value of 4294967296 is stored as 0, as memcached
/// does).
public enum CNumbers {
    @inlinable @inline(__always)
    public static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || (c >= 0x09 && c <= 0x0D) }

    /// What C's `strto*` read, base 10: leading white space, an optional sign, then digits. `end` is 0 when there are
    /// no digits; `overflow` when the magnitude does not fit 64 bits.
    @inlinable
    public static func scanDecimal(
        _ bytes: UnsafeRawBufferPointer
    ) -> (negative: Bool, magnitude: UInt64, end: Int, overflow: Bool) {
        var i = 0
        let n = bytes.count
        while i < n && isSpace(bytes[i]) { i += 1 }
        var negative = false
        if i < n && (bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-")) {
            negative = bytes[i] == UInt8(ascii: "-")
            i += 1
        }
        let start = i
        var magnitude: UInt64 = 0
        var overflow = false
        while i < n, bytes[i] >= 0x30, bytes[i] <= 0x39 {
            let (m, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(bytes[i] - 0x30))
            if o1 || o2 { overflow = true }
            magnitude = a
            i += 1
        }
        if i == start { return (false, 0, 0, false) }
        return (negative, magnitude, i, overflow)
    }

    /// C's `strtoull`/`strtoul` (64-bit), base 10: the value (negated modulo 2^64 after a '-'), where parsing stopped,
    /// and whether it overflowed (ERANGE).
    @inlinable
    public static func strtoull(_ bytes: UnsafeRawBufferPointer) -> (value: UInt64, end: Int, overflow: Bool) {
        let (negative, magnitude, end, overflow) = Self.scanDecimal(bytes)
        if end == 0 { return (0, 0, false) }
        if overflow { return (.max, end, true) }
        return (negative ? 0 &- magnitude : magnitude, end, false)
    }

    /// C's `strtol` (64-bit `long`), base 10.
    @inlinable
    public static func strtol(_ bytes: UnsafeRawBufferPointer) -> (value: Int64, end: Int, overflow: Bool) {
        let (negative, magnitude, end, overflow) = Self.scanDecimal(bytes)
        if end == 0 { return (0, 0, false) }
        let limit: UInt64 = negative ? UInt64(Int64.max) + 1 : UInt64(Int64.max)
        if overflow || magnitude > limit { return (negative ? .min : .max, end, true) }
        return (negative ? Int64(bitPattern: 0 &- magnitude) : Int64(magnitude), end, false)
    }

    /// Whether parsing may stop at `end`: white space or the end of a non-empty number.
    @inlinable @inline(__always)
    public static func endsWell(_ bytes: UnsafeRawBufferPointer, _ end: Int) -> Bool {
        end > 0 && (end == bytes.count || isSpace(bytes[end]) || bytes[end] == 0)
    }

    @inlinable
    public static func hasMinus(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.contains(UInt8(ascii: "-"))
    }

    /// The common case, read without the C rules: 1 to 18 plain digits (no sign, no white space, no overflow
    /// possible), which every parse below reads as this same value.
    @inlinable @inline(__always)
    public static func plainDigits(_ bytes: UnsafeRawBufferPointer) -> UInt64? {
        let n = bytes.count
        guard n > 0 && n <= 18, let p = bytes.baseAddress else { return nil }
        var value: UInt64 = 0
        var i = 0
        while i < n {
            let digit = p.load(fromByteOffset: i, as: UInt8.self) &- 0x30
            if digit > 9 { return nil }
            value = value &* 10 &+ UInt64(digit)
            i += 1
        }
        return value
    }

    /// `safe_strtoull`
    @inlinable
    public static func unsigned64(_ bytes: UnsafeRawBufferPointer) -> UInt64? {
        if let value = Self.plainDigits(bytes) { return value }
        let (value, end, overflow) = Self.strtoull(bytes)
        guard !overflow, end > 0, Self.endsWell(bytes, end) else { return nil }
        if Int64(bitPattern: value) < 0 && Self.hasMinus(bytes) { return nil }
        return value
    }

    /// `safe_strtoul` into a `uint32_t`: parsed as 64 bits, then truncated.
    @inlinable
    public static func unsigned32(_ bytes: UnsafeRawBufferPointer) -> UInt32? {
        guard let value = Self.unsigned64(bytes) else { return nil }
        return UInt32(truncatingIfNeeded: value)
    }

    /// `safe_strtol` into an `int32_t`: parsed as a 64-bit `long`, then truncated.
    @inlinable
    public static func signed32(_ bytes: UnsafeRawBufferPointer) -> Int32? {
        if let value = Self.plainDigits(bytes) { return Int32(truncatingIfNeeded: value) }
        let (value, end, overflow) = Self.strtol(bytes)
        guard !overflow, end > 0, Self.endsWell(bytes, end) else { return nil }
        return Int32(truncatingIfNeeded: value)
    }

    /// `safe_strtod`: a decimal number, then white space or the end.
    @inlinable
    public static func double(_ bytes: UnsafeRawBufferPointer) -> Double? {
        var i = 0
        while i < bytes.count && isSpace(bytes[i]) { i += 1 }
        var end = i
        while end < bytes.count && !isSpace(bytes[end]) { end += 1 }
        guard end > i, Self.endsWell(bytes, end) else { return nil }
        return Double(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[i..<end]), as: UTF8.self))
    }

    @inlinable
    public static func equals(_ bytes: UnsafeRawBufferPointer, _ text: StaticString) -> Bool {
        guard bytes.count == text.utf8CodeUnitCount else { return false }
        let p = text.utf8Start
        for i in 0..<bytes.count where bytes[i] != p[i] { return false }
        return true
    }
}
