#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Numbers printed with C's `printf` formats, so every mode rounds and spells NaN and infinities as redis-cli does.
enum CFormat {
    /// `%05.2f`, as C prints it (NaN and infinities included).
    static func percent(_ value: Double) -> String { format("%05.2f", value) }

    /// `%.2f`, as C prints it.
    static func fixed2(_ value: Double) -> String { format("%.2f", value) }

    /// One double printed with a C format of one conversion (`%.2f`, `%05.2f`, ...).
    static func format(_ format: String, _ value: Double) -> String {
        // `%.2f` of a huge double has over 300 digits: ask for the length first.
        let length = withVaList([value]) { vsnprintf(nil, 0, format, $0) }
        var buffer = [CChar](repeating: 0, count: Int(max(length, 0)) + 1)
        _ = withVaList([value]) { arguments in
            vsnprintf(&buffer, buffer.count, format, arguments)
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
