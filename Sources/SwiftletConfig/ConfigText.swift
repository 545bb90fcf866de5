import SwiftletKeyspace

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The small C string routines Redis's config code leans on, with their exact quirks.
enum ConfigText {
    /// ASCII-only case-insensitive equality (`strcasecmp` in the C locale).
    static func equalsIgnoringCase(_ a: String, _ b: String) -> Bool {
        let left = a.utf8
        let right = b.utf8
        guard left.count == right.count else { return false }
        return zip(left, right).allSatisfy { lower($0) == lower($1) }
    }

    @inline(__always)
    static func lower(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }

    /// ASCII-only lowercase (`sdstolower`).
    static func lowercased(_ text: String) -> String {
        String(decoding: text.utf8.map(lower), as: UTF8.self)
    }

    /// Redis's `memtoull`: digits, then an optional unit b, k (1000), kb (1024), m, mb, g or gb in any case. No sign,
    /// no spaces. Quirks kept: the empty string and a bare unit are 0; digits beyond `UInt64.max` saturate; the
    /// multiplication wraps (`20000000000gb` is 3028092406290448384).
    /// - Returns: the byte count, or `nil` if the text is not a memory value.
    static func memoryToUInt64(_ bytes: [UInt8]) -> UInt64? {
        if bytes.first == UInt8(ascii: "-") { return nil }
        var digitsEnd = 0
        while digitsEnd < bytes.count && bytes[digitsEnd] >= UInt8(ascii: "0") && bytes[digitsEnd] <= UInt8(ascii: "9")
        {
            digitsEnd += 1
        }
        let unit = String(decoding: bytes[digitsEnd...].map(lower), as: UTF8.self)
        let multiplier: UInt64
        switch unit {
        case "", "b": multiplier = 1
        case "k": multiplier = 1000
        case "kb": multiplier = 1024
        case "m": multiplier = 1000 * 1000
        case "mb": multiplier = 1024 * 1024
        case "g": multiplier = 1000 * 1000 * 1000
        case "gb": multiplier = 1024 * 1024 * 1024
        default: return nil
        }
        // Redis copies the digits into a 128-byte buffer first.
        if digitsEnd >= 128 { return nil }
        // strtoull saturates at ULLONG_MAX (its ERANGE is not checked).
        var value: UInt64 = 0
        for byte in bytes[..<digitsEnd] {
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            if overflow1 || overflow2 {
                value = .max
                break
            }
            value = sum
        }
        return value &* multiplier
    }

    /// The result of C `strtoll`.
    struct StrtollResult {
        var value: Int64
        /// `*endptr == '\0'`: the whole text was consumed (true for the empty string, as in C).
        var consumedAll: Bool
        var errno: Int32
    }

    /// C `strtoll` (leading spaces and a sign allowed, saturating with ERANGE).
    static func strtoll(_ text: String, base: Int32) -> StrtollResult {
        text.withCString { pointer in
            var end: UnsafeMutablePointer<CChar>? = nil
            errno = 0
            // Module-qualified: the C function, not this wrapper.
            #if canImport(Glibc)
            let value = Glibc.strtoll(pointer, &end, base)
            #elseif canImport(Musl)
            let value = Musl.strtoll(pointer, &end, base)
            #else
            let value = Darwin.strtoll(pointer, &end, base)
            #endif
            let error = errno
            return StrtollResult(value: Int64(value), consumedAll: end?.pointee == 0, errno: error)
        }
    }

    /// Redis's `pathIsBaseName`: no `/` and no `\`.
    static func isBaseName(_ text: String) -> Bool {
        !text.utf8.contains(UInt8(ascii: "/")) && !text.utf8.contains(UInt8(ascii: "\\"))
    }

    /// Redis's `validateProcTitleTemplate`: `sdstemplate` must expand (known `{variables}`, `{{` for a brace, no
    /// unterminated `{`), and the expansion with an empty title, trimmed of spaces, must not be empty.
    static func isValidProcTitleTemplate(_ template: String) -> Bool {
        // Stand-ins with the emptiness of the real values: only title, server-mode and unixsocket can be empty.
        let variables: [String: String] = [
            "title": "", "listen-addr": "*:6379", "server-mode": "", "config-file": "-",
            "port": "6379", "tls-port": "0", "unixsocket": "",
        ]
        let bytes = Array(template.utf8)
        var result: [UInt8] = []
        var index = 0
        while index < bytes.count {
            guard let open = bytes[index...].firstIndex(of: UInt8(ascii: "{")) else {
                result.append(contentsOf: bytes[index...])
                break
            }
            result.append(contentsOf: bytes[index..<open])
            let nameStart = open + 1
            if nameStart == bytes.count { return false }
            if bytes[nameStart] == UInt8(ascii: "{") {
                result.append(UInt8(ascii: "{"))
                index = nameStart + 1
                continue
            }
            guard let close = bytes[nameStart...].firstIndex(of: UInt8(ascii: "}")) else { return false }
            guard let value = variables[String(decoding: bytes[nameStart..<close], as: UTF8.self)] else {
                return false
            }
            result.append(contentsOf: value.utf8)
            index = close + 1
        }
        return result.contains { $0 != UInt8(ascii: " ") }
    }

    /// Redis's `sdscatrepr`: a double-quoted string with `\\`, `\"`, `\n`, `\r`, `\t`, `\a`, `\b` escapes and
    /// `\xNN` for other bytes outside 0x20...0x7E.
    static func quoted(_ text: String) -> String {
        var out: [UInt8] = [UInt8(ascii: "\"")]
        let hex = Array("0123456789abcdef".utf8)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\\"), UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), byte]
            case 0x0A: out += Array("\\n".utf8)
            case 0x0D: out += Array("\\r".utf8)
            case 0x09: out += Array("\\t".utf8)
            case 0x07: out += Array("\\a".utf8)
            case 0x08: out += Array("\\b".utf8)
            case 0x20...0x7E: out.append(byte)
            default: out += [UInt8(ascii: "\\"), UInt8(ascii: "x"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            }
        }
        out.append(UInt8(ascii: "\""))
        return String(decoding: out, as: UTF8.self)
    }

    /// Redis's `rewriteConfigFormatMemory`: `Ngb`, `Nmb` or `Nkb` when exact, else plain bytes (as a signed
    /// `long long`).
    static func formatMemory(_ bytes: Int64) -> String {
        let gb: Int64 = 1024 * 1024 * 1024
        let mb: Int64 = 1024 * 1024
        let kb: Int64 = 1024
        if bytes != 0 && bytes % gb == 0 { return "\(bytes / gb)gb" }
        if bytes != 0 && bytes % mb == 0 { return "\(bytes / mb)mb" }
        if bytes != 0 && bytes % kb == 0 { return "\(bytes / kb)kb" }
        return "\(bytes)"
    }

    /// `%f` with trailing zeros and a bare point removed (Redis's `trimDoubleString`).
    static func trimmedFixed(_ value: Double) -> String {
        var text = NumberFormat.formatFixed(value, fractionDigits: 6)
        if text.contains(UInt8(ascii: ".")) {
            while text.last == UInt8(ascii: "0") { text.removeLast() }
            if text.last == UInt8(ascii: ".") { text.removeLast() }
        }
        return String(decoding: text, as: UTF8.self)
    }
}
