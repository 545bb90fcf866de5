#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

#if arch(x86_64) || arch(i386)
/// The C `long double` Redis computes INCRBYFLOAT and HINCRBYFLOAT in: 80-bit extended precision on x86.
public typealias LongDouble = Float80
#else
/// The C `long double` Redis computes INCRBYFLOAT and HINCRBYFLOAT in. Swift has no binary128 type, so on non-x86
/// targets this falls back to `Double` (exact where `long double` is `double`, as on Apple silicon; an approximation
/// on Linux/arm64, whose `long double` is binary128).
public typealias LongDouble = Double
#endif

/// Number parsing and formatting with Redis's exact rules (util.c: `string2ll`, `string2d`, `string2ld`,
/// `ll2string`, `ld2string`, and networking.c's `addReplyDouble`).
///
/// Parsing never trims or normalizes: the byte string must be exactly what Redis accepts, or the result is `nil` and
/// the caller replies with its catalog error (`notInteger`, `notFloat`).
public enum NumberFormat {
    /// The longest accepted integer text plus one: Redis's `LONG_STR_SIZE` (21). Strings this long or longer are
    /// rejected by ``parseInt64(_:)-(UnsafeRawBufferPointer)``; "-9223372036854775808" is 20 bytes.
    public static let longStringSize = 21

    /// Redis's `MAX_LONG_DOUBLE_CHARS` (5 KiB): the limit on a `long double` text, parsed or formatted.
    public static let maxLongDoubleChars = 5 * 1024

    /// Bytes needed to format any `Int64` with ``appendDecimal(_:to:)``.
    public static let maxInt64Digits = 20

    // MARK: - Integers

    /// Parses a signed 64-bit integer exactly as Redis's `string2ll`.
    ///
    /// Accepted: an optional `-`, then `0` alone or a digit 1–9 followed by digits, fitting in `Int64`.
    /// Rejected: empty, 21+ bytes, a leading `+`, leading zeros (`01`, `-0`, `00`), any space, any other byte.
    /// - Returns: the value, or `nil`.
    public static func parseInt64(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        let count = bytes.count
        if count == 0 || count >= longStringSize { return nil }
        if count == 1 && bytes[0] == UInt8(ascii: "0") { return 0 }

        var index = 0
        let negative = bytes[0] == UInt8(ascii: "-")
        if negative {
            index = 1
            if index == count { return nil }
        }
        // The first digit must be 1-9: only "0" itself may start with a zero.
        let first = bytes[index]
        guard first >= UInt8(ascii: "1") && first <= UInt8(ascii: "9") else { return nil }
        var magnitude = UInt64(first &- UInt8(ascii: "0"))
        index += 1
        while index < count {
            let byte = bytes[index]
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte &- UInt8(ascii: "0")))
            if overflow1 || overflow2 { return nil }
            magnitude = sum
            index += 1
        }
        if negative {
            // |Int64.min| is one more than Int64.max.
            if magnitude > UInt64(Int64.max) + 1 { return nil }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        if magnitude > UInt64(Int64.max) { return nil }
        return Int64(magnitude)
    }

    /// Parses a signed 64-bit integer exactly as Redis's `string2ll`; see ``parseInt64(_:)-(UnsafeRawBufferPointer)``.
    @inlinable
    public static func parseInt64(_ bytes: [UInt8]) -> Int64? {
        bytes.withUnsafeBytes { parseInt64($0) }
    }

    /// The number of decimal digits of `value` (Redis's `digits10`).
    @inline(__always)
    static func digitCount(_ value: UInt64) -> Int {
        var count = 1
        var rest = value
        while rest >= 10_000 {
            rest /= 10_000
            count += 4
        }
        if rest >= 1000 { return count + 3 }
        if rest >= 100 { return count + 2 }
        if rest >= 10 { return count + 1 }
        return count
    }

    /// Writes `value` in decimal (as Redis's `ll2string`) at the start of `buffer`, without allocating.
    /// - Parameters:
    ///   - value: the integer.
    ///   - buffer: at least ``maxInt64Digits`` (20) bytes.
    /// - Returns: the number of bytes written.
    @discardableResult
    public static func appendDecimal(_ value: Int64, to buffer: UnsafeMutableRawBufferPointer) -> Int {
        precondition(buffer.count >= maxInt64Digits, "appendDecimal needs a 20-byte buffer")
        let negative = value < 0
        // magnitude handles Int64.min without overflow.
        var rest = value.magnitude
        let length = digitCount(rest) + (negative ? 1 : 0)
        var position = length
        while rest >= 100 {
            let pair = Int(rest % 100)
            rest /= 100
            position -= 2
            buffer[position] = UInt8(truncatingIfNeeded: pair / 10) &+ UInt8(ascii: "0")
            buffer[position + 1] = UInt8(truncatingIfNeeded: pair % 10) &+ UInt8(ascii: "0")
        }
        if rest >= 10 {
            position -= 2
            buffer[position] = UInt8(truncatingIfNeeded: rest / 10) &+ UInt8(ascii: "0")
            buffer[position + 1] = UInt8(truncatingIfNeeded: rest % 10) &+ UInt8(ascii: "0")
        } else {
            position -= 1
            buffer[position] = UInt8(truncatingIfNeeded: rest) &+ UInt8(ascii: "0")
        }
        if negative { buffer[0] = UInt8(ascii: "-") }
        return length
    }

    /// Appends `value` in decimal to `output` (as Redis's `ll2string`).
    public static func formatInt64(_ value: Int64, into output: inout [UInt8]) {
        withUnsafeTemporaryAllocation(byteCount: maxInt64Digits, alignment: 1) { scratch in
            let count = appendDecimal(value, to: scratch)
            output.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[..<count]))
        }
    }

    /// `value` in decimal, as a new array.
    public static func formatInt64(_ value: Int64) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(maxInt64Digits)
        formatInt64(value, into: &output)
        return output
    }

    // MARK: - Doubles

    /// C `isspace` in the C locale.
    @inline(__always)
    static func isCSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
    }

    /// Parses a double exactly as Redis's `string2d` (ZADD scores, ZINCRBY, GEO, …).
    ///
    /// This is C `strtod` in the C locale, so it accepts `1e5`, `.5`, `5.`, `+1.5`, hexadecimal (`0x1p3`), and
    /// `inf`/`infinity` in any case with an optional sign. It rejects: the empty string, a leading space, trailing
    /// bytes (including a NUL), NaN in any spelling, values that overflow to ±infinity, and values that underflow to
    /// zero (`1e-400`); a value that underflows to a subnormal (`1e-310`) is accepted.
    /// - Returns: the value, or `nil`.
    public static func parseDouble(_ bytes: UnsafeRawBufferPointer) -> Double? {
        let count = bytes.count
        if count == 0 || isCSpace(bytes[0]) { return nil }
        // Fast path: up to 15 digits with an optional '-' convert exactly, so strtod would give the same value.
        if count <= 16, let integer = smallInteger(bytes) { return integer }

        return withNulTerminatedCopy(bytes) { text in
            var end: UnsafeMutablePointer<CChar>? = nil
            errno = 0
            let value = strtod(text, &end)
            let consumed = end.map { $0 - text } ?? 0
            if consumed != count { return nil }
            if errno == ERANGE && (value.isInfinite || value == 0) { return nil }
            if value.isNaN { return nil }
            return value
        }
    }

    /// Parses a double exactly as Redis's `string2d`; see ``parseDouble(_:)-(UnsafeRawBufferPointer)``.
    @inlinable
    public static func parseDouble(_ bytes: [UInt8]) -> Double? {
        bytes.withUnsafeBytes { parseDouble($0) }
    }

    /// `-?[0-9]{1,15}` as a Double, or `nil` if the text has any other shape. Leading zeros are fine here: strtod
    /// accepts them too.
    @inline(__always)
    static func smallInteger(_ bytes: UnsafeRawBufferPointer) -> Double? {
        var index = 0
        let negative = bytes[0] == UInt8(ascii: "-")
        if negative { index = 1 }
        let digits = bytes.count - index
        if digits == 0 || digits > 15 { return nil }
        var value: Int64 = 0
        while index < bytes.count {
            let byte = bytes[index]
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int64(byte &- UInt8(ascii: "0"))
            index += 1
        }
        // "-0" must stay negative zero, as strtod returns it.
        if negative { return value == 0 ? -0.0 : Double(-value) }
        return Double(value)
    }

    /// Parses a `long double` exactly as Redis's `string2ld` (INCRBYFLOAT, HINCRBYFLOAT): `strtold` with the same
    /// rejections as ``parseDouble(_:)-(UnsafeRawBufferPointer)``, plus a length limit of
    /// ``maxLongDoubleChars`` − 1 bytes. `1e400` is accepted here (it fits in 80 bits) though not as a double.
    /// - Returns: the value, or `nil`.
    public static func parseLongDouble(_ bytes: UnsafeRawBufferPointer) -> LongDouble? {
        let count = bytes.count
        if count == 0 || count >= maxLongDoubleChars || isCSpace(bytes[0]) { return nil }
        return withNulTerminatedCopy(bytes) { text in
            var end: UnsafeMutablePointer<CChar>? = nil
            errno = 0
            #if arch(x86_64) || arch(i386)
            let value = strtold(text, &end)
            #else
            let value = strtod(text, &end)
            #endif
            let consumed = end.map { $0 - text } ?? 0
            if consumed != count { return nil }
            if errno == ERANGE && (value.isInfinite || value == 0) { return nil }
            if errno == EINVAL || value.isNaN { return nil }
            return value
        }
    }

    /// Parses a `long double` exactly as Redis's `string2ld`; see
    /// ``parseLongDouble(_:)-(UnsafeRawBufferPointer)``.
    @inlinable
    public static func parseLongDouble(_ bytes: [UInt8]) -> LongDouble? {
        bytes.withUnsafeBytes { parseLongDouble($0) }
    }

    /// Runs `body` on a NUL-terminated copy of `bytes` (on the stack when small), as strtod needs.
    static func withNulTerminatedCopy<R>(
        _ bytes: UnsafeRawBufferPointer,
        _ body: (UnsafeMutablePointer<CChar>) -> R
    ) -> R {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: bytes.count + 1) { buffer in
            // Why `!`: the allocation has capacity ≥ 1, so its base address is never nil.
            let base = buffer.baseAddress!
            if let source = bytes.baseAddress {
                UnsafeMutableRawPointer(base).copyMemory(from: source, byteCount: bytes.count)
            }
            base[bytes.count] = 0
            return body(base)
        }
    }

    // MARK: - Formatting doubles

    /// Formats a double as Redis replies with it (`addReplyDouble`): C's `%.17g`, with infinities as `inf` and
    /// `-inf`. For example 1.5 → `1.5`, 0.1 → `0.10000000000000001`, 1e20 → `1e+20`,
    /// 1e16 → `10000000000000000`, −0.0 → `-0`. NaN (never stored by Redis) formats as `nan`.
    ///
    /// RESP2 sends this text as a bulk string; Redis 7.0 sends the same text after `,` in RESP3.
    public static func formatDouble(_ value: Double) -> [UInt8] {
        var output: [UInt8] = []
        appendDouble(value, to: &output)
        return output
    }

    /// Appends the ``formatDouble(_:)`` text of `value` to `output`.
    public static func appendDouble(_ value: Double, to output: inout [UInt8]) {
        if value.isInfinite {
            output.append(contentsOf: value > 0 ? Array("inf".utf8) : Array("-inf".utf8))
            return
        }
        if value.isNaN {
            output.append(contentsOf: Array("nan".utf8))
            return
        }
        // Fast path: an integral value below 1e17 has at most 17 digits, which %.17g prints in full, without an
        // exponent. Zero is excluded so that -0.0 keeps its sign.
        if value != 0 && value == value.rounded(.towardZero) && value.magnitude < 1e17 {
            formatInt64(Int64(value), into: &output)
            return
        }
        printf(into: &output, capacity: 32) { buffer, size in
            withVaList([value]) { vsnprintf(buffer, size, "%.17g", $0) }
        }
    }

    /// Formats `value` as C's `%.<fractionDigits>f` (GEODIST uses `%.4f`; CONFIG's percentile lists use `%f`).
    /// Infinities and NaN come out as C prints them (`inf`, `-inf`, `nan`, `-nan`).
    public static func formatFixed(_ value: Double, fractionDigits: Int) -> [UInt8] {
        var output: [UInt8] = []
        // The longest %f of a double is 309 integer digits, a sign, a point and the fraction.
        printf(into: &output, capacity: 330 + fractionDigits) { buffer, size in
            withVaList([Int32(fractionDigits), value]) { vsnprintf(buffer, size, "%.*f", $0) }
        }
        return output
    }

    /// Formats a `long double` as Redis's `ld2string(…, LD_STR_HUMAN)`, used by INCRBYFLOAT and HINCRBYFLOAT:
    /// `%.17Lf`, then trailing zeros after the point and a bare trailing point are removed, and `-0` becomes `0`.
    /// Infinities format as `inf` and `-inf`. No exponent is ever used: 1e20 → `100000000000000000000`.
    ///
    /// Returns an empty array where Redis's 5 KiB buffer would be too small (not reachable with 80-bit values,
    /// whose longest text is under 5,000 bytes).
    public static func formatLongDouble(_ value: LongDouble) -> [UInt8] {
        if value.isInfinite {
            return value > 0 ? Array("inf".utf8) : Array("-inf".utf8)
        }
        var output: [UInt8] = []
        let fits = printf(into: &output, capacity: maxLongDoubleChars) { buffer, size in
            #if arch(x86_64) || arch(i386)
            withVaList([value]) { vsnprintf(buffer, size, "%.17Lf", $0) }
            #else
            withVaList([value]) { vsnprintf(buffer, size, "%.17f", $0) }
            #endif
        }
        if !fits { return [] }
        if output.contains(UInt8(ascii: ".")) {
            while output.last == UInt8(ascii: "0") { output.removeLast() }
            if output.last == UInt8(ascii: ".") { output.removeLast() }
        }
        if output == [UInt8(ascii: "-"), UInt8(ascii: "0")] { output = [UInt8(ascii: "0")] }
        return output
    }

    /// Runs a `vsnprintf` call into a scratch buffer of `capacity` bytes and appends what it wrote to `output`.
    /// - Returns: `false` (appending nothing) if the text needed `capacity` bytes or more, as Redis's `l+1 > len`
    ///   check.
    @discardableResult
    static func printf(
        into output: inout [UInt8],
        capacity: Int,
        _ call: (UnsafeMutablePointer<CChar>, Int) -> Int32
    ) -> Bool {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: capacity) { buffer in
            // Why `!`: capacity is a positive constant, so the allocation has a base address.
            let written = Int(call(buffer.baseAddress!, capacity))
            if written < 0 || written + 1 > capacity { return false }
            output.append(contentsOf: UnsafeRawBufferPointer(start: buffer.baseAddress, count: written))
            return true
        }
    }
}
