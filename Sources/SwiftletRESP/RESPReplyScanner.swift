#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Finds where complete RESP2/RESP3 replies end in a read buffer, without building values.
///
/// swiftlet-benchmark only needs to know how many replies arrived and whether one of them is an error;
/// swiftlet-cli needs to know that a whole reply is there before it decodes it (so a large reply arriving in many
/// reads is walked once, not decoded from its start on every read). The scanner walks the framing and nothing else:
/// one pass, no allocation, no recursion. A nested aggregate is handled by counting how many values are still owed
/// (`*3` owes three more, `%2` four, an attribute `|1` two plus the value it annotates), which is all the state a
/// complete reply needs.
public enum RESPReplyScanner {
    /// The most elements one aggregate header may announce: hiredis's `REDIS_READER_MAX_ARRAY_ELEMENTS`, 2^32 - 1
    /// (a map or an attribute announces pairs, so it owes up to twice that).
    public static let maximumAggregateCount = (1 << 32) - 1

    /// What the scanner found at a position.
    public enum Outcome: Equatable, Sendable {
        /// A complete reply ends just before `end`; `isError` when it is a `-` simple error or a `!` blob error;
        /// `isPush` when it is a RESP3 `>` push (an out-of-band message such as a tracking invalidation, which is
        /// not the answer to a request: hiredis's default push handler drops those).
        case complete(end: Int, isError: Bool, isPush: Bool = false)
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
        scanReply(bytes, from: start).outcome
    }

    /// Scans one reply starting at `start`, like ``scan(_:from:)``, and also says where an error reply's text is.
    /// - Returns: the outcome, and for an error reply the range of its message (without `-`, a blob error's length
    ///   line, or the CRLF).
    ///
    /// The reply proper is the first value that is not an attribute: `|1\r\n+k\r\n+v\r\n-ERR x\r\n` is an error reply.
    /// RESP3's streamed types (`$?`, `*?`, `;` chunks, `.` end) are not supported and are protocol errors: Redis
    /// never sends them.
    ///
    /// Lengths are bounded as hiredis's reader bounds them (`read.c`): an aggregate announces at most
    /// ``maximumAggregateCount`` elements (`REDIS_READER_MAX_ARRAY_ELEMENTS`) and no length is below -1; anything
    /// else is a `.protocolError`, so a hostile server cannot make the count of owed values overflow.
    public static func scanReply(
        _ bytes: UnsafeRawBufferPointer,
        from start: Int
    ) -> (outcome: Outcome, error: Range<Int>?) {
        var state = State(start: start)
        return scanReply(bytes, resuming: &state)
    }

    /// Where a scan of one reply stands between reads: the values before `index` were read, so a reply that arrives
    /// in many reads is scanned once, not from its start on every read.
    public struct State: Equatable, Sendable {
        /// The first byte not yet scanned (the start of the next value's header).
        public var index: Int
        /// Values still to be read.
        var owed = 1
        /// Whether the reply proper (the first value that is not an attribute) is still to come.
        var lookingForProper = true
        /// Whether the reply proper is a `>` push (known once its header was read).
        var isPush = false
        /// A scan starting at `start`.
        public init(start: Int) { index = start }

        /// Moves the positions back by `count` (the caller dropped that many bytes from the front of its buffer).
        public mutating func shift(by count: Int) { index -= count }
    }

    /// Scans one reply from where `state` stands, like ``scanReply(_:from:)``; on `.incomplete` the state keeps
    /// what was read, so the next call on the same reply (with more bytes) goes on from there.
    public static func scanReply(
        _ bytes: UnsafeRawBufferPointer,
        resuming state: inout State
    ) -> (outcome: Outcome, error: Range<Int>?) {
        var index = state.index
        var owed = state.owed
        var error: Range<Int>?
        // Until the reply proper is read: it is the value read when exactly one value is owed (every value before it
        // at that level was an attribute, whose contents are read while more than one is owed).
        var lookingForProper = state.lookingForProper
        var isPush = state.isPush
        // Each value is read whole or not at all: the state moves on only after a value was read.
        defer {
            state.index = index
            state.owed = owed
            state.lookingForProper = lookingForProper
            state.isPush = isPush
        }
        while owed > 0 {
            guard index < bytes.count else { return (.incomplete, nil) }
            let type = bytes[index]
            guard let lineEnd = lineEnd(bytes, from: index + 1) else { return (.incomplete, nil) }
            let headerEnd = lineEnd + 2
            let isProper = lookingForProper && owed == 1 && type != UInt8(ascii: "|")
            var next = headerEnd
            var more = 0
            switch type {
            case UInt8(ascii: "+"), UInt8(ascii: ":"), UInt8(ascii: ","), UInt8(ascii: "#"), UInt8(ascii: "("),
                UInt8(ascii: "_"):
                break
            case UInt8(ascii: "-"):
                if isProper { error = (index + 1)..<lineEnd }
            case UInt8(ascii: "$"), UInt8(ascii: "!"), UInt8(ascii: "="):
                // As hiredis: -1 is a null, below that is "Bulk string length out of range".
                guard let length = integer(bytes, from: index + 1, to: lineEnd), length >= -1 else {
                    return (.protocolError(offset: index), nil)
                }
                if length >= 0 {
                    // The payload and its CRLF; a length too big to add is one no buffer can hold.
                    let (payloadEnd, overflow) = headerEnd.addingReportingOverflow(length)
                    guard !overflow, payloadEnd < Int.max - 2 else { return (.protocolError(offset: index), nil) }
                    next = payloadEnd + 2
                    guard next <= bytes.count else { return (.incomplete, nil) }
                }
                if isProper && type == UInt8(ascii: "!") { error = headerEnd..<max(headerEnd, next - 2) }
            case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"):
                // -1 is a null aggregate (RESP2's `*-1`); hiredis's "Multi-bulk length out of range" otherwise.
                guard let count = integer(bytes, from: index + 1, to: lineEnd),
                    count >= -1, count <= maximumAggregateCount
                else {
                    return (.protocolError(offset: index), nil)
                }
                more = max(count, 0)
                if isProper && type == UInt8(ascii: ">") { isPush = true }
            case UInt8(ascii: "%"):
                guard let count = integer(bytes, from: index + 1, to: lineEnd),
                    count >= 0, count <= maximumAggregateCount
                else {
                    return (.protocolError(offset: index), nil)
                }
                // At most 2^33 - 2: bounded above, so this cannot overflow.
                more = 2 * count
            case UInt8(ascii: "|"):
                guard let count = integer(bytes, from: index + 1, to: lineEnd),
                    count >= 0, count <= maximumAggregateCount
                else {
                    return (.protocolError(offset: index), nil)
                }
                // The attribute's pairs, then the value it annotates (which is the reply proper).
                more = 2 * count + 1
            default:
                return (.protocolError(offset: index), nil)
            }
            if isProper { lookingForProper = false }
            // Each header adds at most 2^33 owed values, so this takes some 2^30 headers (gigabytes of them) to
            // overflow; a reply that does is not one any server sends.
            let (newOwed, overflow) = owed.addingReportingOverflow(more - 1)
            guard !overflow else { return (.protocolError(offset: index), nil) }
            owed = newOwed
            index = next
        }
        return (.complete(end: index, isError: error != nil, isPush: isPush), error)
    }

    /// Counts the complete replies in `bytes` from `start`.
    /// - Returns: how many replies are complete, and where the first unconsumed byte is.
    public static func countComplete(_ bytes: UnsafeRawBufferPointer, from start: Int) -> (count: Int, end: Int) {
        var index = start
        var count = 0
        while case .complete(let end, _, _) = scan(bytes, from: index) {
            count += 1
            index = end
        }
        return (count, index)
    }

    /// The index of the `\r` of the first CRLF at or after `from`, or nil when the line is not complete yet.
    ///
    /// As hiredis's `seekNewline`: a `\r` that is not followed by `\n` is data (`+a\rb\r\n` is the simple string
    /// `a\rb`), so the search goes on after it.
    @inline(__always)
    public static func lineEnd(_ bytes: UnsafeRawBufferPointer, from: Int) -> Int? {
        guard let base = bytes.baseAddress else { return nil }
        var from = from
        while from + 1 < bytes.count {
            // memchr: the scan runs over every reply byte that is not inside a bulk payload (LRANGE's headers).
            guard let found = memchr(base + from, Int32(UInt8(ascii: "\r")), bytes.count - from) else { return nil }
            let index = base.distance(to: UnsafeRawPointer(found))
            guard index + 1 < bytes.count else { return nil }
            if bytes[index + 1] == UInt8(ascii: "\n") { return index }
            from = index + 1
        }
        return nil
    }

    /// A signed decimal in `bytes[from..<to]`, or nil when it is not one.
    @inline(__always)
    public static func integer(_ bytes: UnsafeRawBufferPointer, from: Int, to: Int) -> Int? {
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
