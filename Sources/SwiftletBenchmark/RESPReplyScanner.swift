import Glibc

/// Finds where complete RESP2/RESP3 replies end in a read buffer, without building values.
///
/// The benchmark only needs to know how many replies arrived and whether one of them is an error, so the scanner
/// walks the framing and nothing else: one pass, no allocation, no recursion. A nested aggregate is handled by
/// counting how many values are still owed (`*3` owes three more, `%2` four, an attribute `|1` two plus the value it
/// annotates), which is all the state a complete reply needs.
public enum RESPReplyScanner {
    /// What the scanner found at a position.
    public enum Outcome: Equatable, Sendable {
        /// A complete reply ends just before `end`; `isError` when it is a `-` simple error or a `!` blob error.
        case complete(end: Int, isError: Bool)
        /// The buffer holds only part of a reply: read more and scan again from the same position.
        case incomplete
        /// The bytes at `offset` cannot start a RESP value (or a length is malformed).
        case protocolError(offset: Int)
    }

    /// Scans one reply starting at `start`.
    /// - Parameters:
    ///   - bytes: the read buffer.
    ///   - start: where the reply begins (the first unconsumed byte).
    /// - Returns: where the reply ends, that more bytes are needed, or where the framing broke.
    public static func scan(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Outcome {
        var index = start
        var owed = 1
        var isError = false
        var first = true
        while owed > 0 {
            guard index < bytes.count else { return .incomplete }
            let type = bytes[index]
            guard let lineEnd = lineEnd(bytes, from: index + 1) else { return .incomplete }
            let headerEnd = lineEnd + 2
            owed -= 1
            switch type {
            case UInt8(ascii: "+"), UInt8(ascii: ":"), UInt8(ascii: ","), UInt8(ascii: "#"), UInt8(ascii: "("),
                UInt8(ascii: "_"):
                index = headerEnd
            case UInt8(ascii: "-"):
                if first { isError = true }
                index = headerEnd
            case UInt8(ascii: "$"), UInt8(ascii: "!"), UInt8(ascii: "="):
                guard let length = integer(bytes, from: index + 1, to: lineEnd) else {
                    return .protocolError(offset: index)
                }
                if first && type == UInt8(ascii: "!") { isError = true }
                if length < 0 {
                    index = headerEnd
                } else {
                    // The payload and its CRLF.
                    index = headerEnd + length + 2
                    guard index <= bytes.count else { return .incomplete }
                }
            case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"):
                guard let count = integer(bytes, from: index + 1, to: lineEnd) else {
                    return .protocolError(offset: index)
                }
                owed += max(count, 0)
                index = headerEnd
            case UInt8(ascii: "%"):
                guard let count = integer(bytes, from: index + 1, to: lineEnd), count >= 0 else {
                    return .protocolError(offset: index)
                }
                owed += 2 * count
                index = headerEnd
            case UInt8(ascii: "|"):
                guard let count = integer(bytes, from: index + 1, to: lineEnd), count >= 0 else {
                    return .protocolError(offset: index)
                }
                // The attribute's pairs, then the value it annotates (which is the reply proper).
                owed += 2 * count + 1
                index = headerEnd
                first = false
                continue
            default:
                return .protocolError(offset: index)
            }
            first = false
        }
        return .complete(end: index, isError: isError)
    }

    /// Counts the complete replies in `bytes` from `start`.
    /// - Returns: how many replies are complete, and where the first unconsumed byte is.
    public static func countComplete(_ bytes: UnsafeRawBufferPointer, from start: Int) -> (count: Int, end: Int) {
        var index = start
        var count = 0
        while case .complete(let end, _) = scan(bytes, from: index) {
            count += 1
            index = end
        }
        return (count, index)
    }

    /// The index of the `\r` of the first CRLF at or after `from`, or nil when the line is not complete yet.
    @inline(__always)
    static func lineEnd(_ bytes: UnsafeRawBufferPointer, from: Int) -> Int? {
        guard from + 1 < bytes.count, let base = bytes.baseAddress else { return nil }
        // memchr: the scan runs over every reply byte that is not inside a bulk payload (LRANGE's headers).
        guard let found = memchr(base + from, Int32(UInt8(ascii: "\r")), bytes.count - from) else { return nil }
        let index = base.distance(to: UnsafeRawPointer(found))
        guard index + 1 < bytes.count else { return nil }
        return bytes[index + 1] == UInt8(ascii: "\n") ? index : nil
    }

    /// A signed decimal in `bytes[from..<to]`, or nil when it is not one.
    @inline(__always)
    static func integer(_ bytes: UnsafeRawBufferPointer, from: Int, to: Int) -> Int? {
        var index = from
        var negative = false
        if index < to && bytes[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        guard index < to, to - index <= 18 else { return nil }
        var value = 0
        while index < to {
            let digit = Int(bytes[index]) - 48
            guard digit >= 0 && digit <= 9 else { return nil }
            value = value * 10 + digit
            index += 1
        }
        return negative ? -value : value
    }
}
