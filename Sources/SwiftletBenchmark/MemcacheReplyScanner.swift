import SwiftletRESP

/// Counts complete memcached replies in a read buffer without decoding them, for `--protocol memcache_text` and
/// `memcache_meta`: the text protocol's `VALUE <key> <flags> <bytes> [<cas>]` blocks ended by `END`, and one-line
/// replies (`STORED`, `NOT_STORED`, `EXISTS`, `NOT_FOUND`, `DELETED`, numbers); the meta protocol's `VA <size>
/// <flags>*` plus data, and its one-line replies (`HD`, `EN`, `NS`, `EX`, `NF`, `MN`). `ERROR`, `CLIENT_ERROR ...`
/// and `SERVER_ERROR ...` are error replies.
enum MemcacheReplyScanner {
    /// Scans the reply that starts at `start`.
    /// - Parameters:
    ///   - bytes: the read buffer.
    ///   - start: where the reply starts.
    /// - Returns: the outcome in ``RESPReplyScanner``'s terms, and for an error reply the range of its line (without
    ///   the CRLF).
    static func scanReply(
        _ bytes: UnsafeRawBufferPointer,
        from start: Int
    ) -> (outcome: RESPReplyScanner.Outcome, error: Range<Int>?) {
        var index = start
        while true {
            guard let end = RESPReplyScanner.lineEnd(bytes, from: index) else { return (.incomplete, nil) }
            let line = UnsafeRawBufferPointer(rebasing: bytes[index..<end])
            if hasPrefix(line, "VALUE ") {
                // VALUE <key> <flags> <bytes> [<cas>]: the length is the fourth word.
                guard let length = word(line, 3).flatMap({ number(line, $0) }) else {
                    return (.protocolError(offset: index), nil)
                }
                let next = end + 2 + length + 2
                guard next <= bytes.count else { return (.incomplete, nil) }
                index = next
                continue  // More VALUE blocks, then END.
            }
            if hasPrefix(line, "VA ") {
                guard let length = word(line, 1).flatMap({ number(line, $0) }) else {
                    return (.protocolError(offset: index), nil)
                }
                let next = end + 2 + length + 2
                guard next <= bytes.count else { return (.incomplete, nil) }
                return (.complete(end: next, isError: false), nil)
            }
            let isError =
                line.elementsEqual("ERROR".utf8) || hasPrefix(line, "CLIENT_ERROR") || hasPrefix(line, "SERVER_ERROR")
            return (.complete(end: end + 2, isError: isError), isError ? index..<end : nil)
        }
    }

    private static func hasPrefix(_ line: UnsafeRawBufferPointer, _ prefix: StaticString) -> Bool {
        let count = prefix.utf8CodeUnitCount
        guard line.count >= count else { return false }
        return prefix.withUTF8Buffer { line.prefix(count).elementsEqual($0) }
    }

    /// The range of the `index`th space-separated word of `line`.
    private static func word(_ line: UnsafeRawBufferPointer, _ index: Int) -> Range<Int>? {
        var words = 0
        var position = 0
        while position < line.count {
            while position < line.count && line[position] == UInt8(ascii: " ") { position += 1 }
            let begin = position
            while position < line.count && line[position] != UInt8(ascii: " ") { position += 1 }
            if begin == position { return nil }
            if words == index { return begin..<position }
            words += 1
        }
        return nil
    }

    /// A decimal length (at most 18 digits, so it cannot overflow).
    private static func number(_ line: UnsafeRawBufferPointer, _ range: Range<Int>) -> Int? {
        guard !range.isEmpty && range.count <= 18 else { return nil }
        var value = 0
        for position in range {
            let digit = line[position] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            value = value * 10 + Int(digit)
        }
        return value
    }
}
