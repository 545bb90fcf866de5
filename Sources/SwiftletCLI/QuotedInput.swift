import SwiftletRESP

/// `--quoted-input`: redis-cli reads each command word with `unquoteCString`, so `"a\x00b"` is a word with a NUL.
enum QuotedInput {
    /// Unquotes every word.
    /// - Returns: the words, or `nil` when one of them is not exactly one well-formed (possibly quoted) string.
    static func unquote(_ words: [[UInt8]]) -> [[UInt8]]? {
        var out: [[UInt8]] = []
        out.reserveCapacity(words.count)
        for word in words {
            // A C argument ends at its first NUL; a word that splits into zero or several strings is refused.
            guard let parts = InlineSplitter.split(word.prefix { $0 != 0 }), parts.count == 1 else { return nil }
            out.append(parts[0])
        }
        return out
    }
}
