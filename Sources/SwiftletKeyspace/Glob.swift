/// Redis-compatible glob matching over raw bytes, as used by KEYS, SCAN MATCH, PSUBSCRIBE and CONFIG GET.
///
/// The semantics are those of Redis's `stringmatchlen` (util.c), byte for byte:
/// - `*` matches any run of bytes (including none); `?` matches exactly one byte.
/// - `[abc]`, `[^abc]`, `[a-z]` match one byte from (or, with `^`, not from) a set. A range may be written
///   backwards (`[z-a]` is `[a-z]`), and its bounds compare as *signed* bytes, as `char` does on x86-64 Linux,
///   so `[a-\xff]` covers `\x00`…`a` plus `\xff`, not `a`…`\xff`.
/// - `\x` matches `x` literally, outside and inside brackets. A trailing lone `\` matches a backslash.
/// - An unterminated `[` runs to the end of the pattern: `[abc` behaves as `[abc]`, and a bare `[` at the
///   end matches no byte (`[^` at the end matches any byte).
/// - In a bracket, `x-` followed by one more byte is a range even if that byte is `]` (`[a-]` is the range
///   `]`…`a`).
/// - `noCase` folds ASCII `A`–`Z` only (the C locale's `tolower`). Escaped bytes inside brackets are still
///   compared exactly, as in Redis.
/// - Protection against abusive patterns: each `*` that has to search recurses one level, and beyond 1000
///   nested levels the match fails (Redis 7.0.15's guard). A failed tail match after a `*` also stops the
///   search early, which keeps `a*a*a*…b` patterns linear instead of exponential.
///
/// Patterns and strings are bytes, not characters; nothing here decodes UTF-8.
public enum Glob {
    /// Nesting depth beyond which a match is refused, as Redis's `stringmatchlen_impl`.
    static let maxNesting = 1000

    /// Returns whether `string` matches the glob `pattern`.
    /// - Parameters:
    ///   - pattern: the glob, in Redis syntax.
    ///   - string: the bytes to test.
    ///   - noCase: fold ASCII letters before comparing (CONFIG GET matches names this way).
    /// - Returns: `true` on a match.
    public static func match(
        pattern: UnsafeRawBufferPointer,
        string: UnsafeRawBufferPointer,
        noCase: Bool = false
    )
        -> Bool
    {
        var matcher = Matcher(pattern: pattern, string: string, noCase: noCase)
        return matcher.match(patternStart: 0, stringStart: 0, nesting: 0)
    }

    /// Returns whether `string` matches the glob `pattern`; a convenience over ``match(pattern:string:noCase:)``.
    public static func match(pattern: [UInt8], string: [UInt8], noCase: Bool = false) -> Bool {
        pattern.withUnsafeBytes { p in
            string.withUnsafeBytes { s in
                match(pattern: p, string: s, noCase: noCase)
            }
        }
    }

    /// Returns whether `pattern` contains a glob metacharacter (`*`, `?` or `[`), i.e. whether it can match
    /// anything other than itself. Redis's CONFIG GET uses this test (`strpbrk(name, "[*?")`) to choose between
    /// an exact lookup and a scan; a `\` escape alone does not count.
    public static func hasWildcards(_ pattern: [UInt8]) -> Bool {
        for byte in pattern {
            // strpbrk stops at the C string's terminator.
            if byte == 0 { return false }
            if byte == UInt8(ascii: "*") || byte == UInt8(ascii: "?") || byte == UInt8(ascii: "[") { return true }
        }
        return false
    }
}

// MARK: - Matcher

/// The recursive matcher. Positions are indices into the two buffers; reading past the end of the pattern yields 0,
/// exactly as Redis reads the NUL terminator of its sds pattern.
struct Matcher {
    let pattern: UnsafeRawBufferPointer
    let string: UnsafeRawBufferPointer
    let noCase: Bool
    /// Set once a `*` has failed to match the rest of the pattern at every later offset: no earlier `*` can
    /// succeed either, so every enclosing search stops (Redis's `skipLongerMatches`).
    var skipLongerMatches = false

    init(pattern: UnsafeRawBufferPointer, string: UnsafeRawBufferPointer, noCase: Bool) {
        self.pattern = pattern
        self.string = string
        self.noCase = noCase
    }

    /// The pattern byte at `index`, or 0 past the end.
    @inline(__always)
    func patternByte(_ index: Int) -> UInt8 {
        index < pattern.count ? pattern[index] : 0
    }

    /// ASCII-only lowercase, as `tolower` in the C locale.
    @inline(__always)
    static func lower(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }

    /// ASCII-only lowercase of a signed `char` value, for range bounds.
    @inline(__always)
    static func lower(_ value: Int) -> Int {
        value >= 0x41 && value <= 0x5A ? value | 0x20 : value
    }

    /// The byte as x86-64's signed `char` sees it.
    @inline(__always)
    static func signed(_ byte: UInt8) -> Int {
        Int(Int8(bitPattern: byte))
    }

    mutating func match(patternStart: Int, stringStart: Int, nesting: Int) -> Bool {
        if nesting > Glob.maxNesting { return false }

        var p = patternStart
        var s = stringStart
        let patternEnd = pattern.count
        let stringEnd = string.count

        while p < patternEnd && s < stringEnd {
            switch pattern[p] {
            case UInt8(ascii: "*"):
                // Collapse a run of stars into the last one.
                while p < patternEnd && patternByte(p + 1) == UInt8(ascii: "*") {
                    p += 1
                }
                // A trailing star matches whatever is left.
                if p + 1 == patternEnd { return true }
                while s < stringEnd {
                    if match(patternStart: p + 1, stringStart: s, nesting: nesting + 1) { return true }
                    if skipLongerMatches { return false }
                    s += 1
                }
                // The rest of the pattern matches nowhere in the rest of the string, so giving an earlier star a
                // longer match cannot help either.
                skipLongerMatches = true
                return false

            case UInt8(ascii: "?"):
                s += 1

            case UInt8(ascii: "["):
                p += 1
                let negate = patternByte(p) == UInt8(ascii: "^")
                if negate { p += 1 }
                let c = string[s]
                var matched = false
                while true {
                    let remaining = patternEnd - p
                    let byte = patternByte(p)
                    if byte == UInt8(ascii: "\\") && remaining >= 2 {
                        // An escaped byte in a set compares exactly, even with noCase (as Redis does).
                        p += 1
                        if pattern[p] == c { matched = true }
                    } else if byte == UInt8(ascii: "]") {
                        break
                    } else if remaining == 0 {
                        // Unterminated set: step back so that the outer advance lands on the end of the pattern.
                        p -= 1
                        break
                    } else if remaining >= 3 && pattern[p + 1] == UInt8(ascii: "-") {
                        var start = Matcher.signed(pattern[p])
                        var end = Matcher.signed(pattern[p + 2])
                        var value = Matcher.signed(c)
                        if start > end { swap(&start, &end) }
                        if noCase {
                            start = Matcher.lower(start)
                            end = Matcher.lower(end)
                            value = Matcher.lower(value)
                        }
                        p += 2
                        if value >= start && value <= end { matched = true }
                    } else if noCase {
                        if Matcher.lower(byte) == Matcher.lower(c) { matched = true }
                    } else {
                        if byte == c { matched = true }
                    }
                    p += 1
                }
                if negate { matched.toggle() }
                if !matched { return false }
                s += 1

            default:
                // A backslash escapes the next byte; a lone trailing backslash is literal.
                if pattern[p] == UInt8(ascii: "\\") && patternEnd - p >= 2 {
                    p += 1
                }
                let byte = pattern[p]
                let c = string[s]
                if noCase ? Matcher.lower(byte) != Matcher.lower(c) : byte != c { return false }
                s += 1
            }
            p += 1
            if s == stringEnd {
                // Trailing stars match the empty rest.
                while p < patternEnd && pattern[p] == UInt8(ascii: "*") {
                    p += 1
                }
                break
            }
        }
        return p == patternEnd && s == stringEnd
    }
}
