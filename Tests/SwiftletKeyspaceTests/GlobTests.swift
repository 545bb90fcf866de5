import Testing

@testable import SwiftletKeyspace

/// One pattern/string pair and whether Redis matches it.
struct GlobCase: Sendable, CustomTestStringConvertible {
    var pattern: [UInt8]
    var string: [UInt8]
    var matches: Bool

    init(_ pattern: String, _ string: String, _ matches: Bool) {
        self.pattern = Array(pattern.utf8)
        self.string = Array(string.utf8)
        self.matches = matches
    }

    init(_ pattern: [UInt8], _ string: [UInt8], _ matches: Bool) {
        self.pattern = pattern
        self.string = string
        self.matches = matches
    }

    var testDescription: String {
        "\(String(decoding: pattern, as: UTF8.self)) ~ \(String(decoding: string, as: UTF8.self))"
    }
}

struct GlobTests {
    /// Each expectation was produced by real redis-server 7.0.15: `SET <string> 1` in an empty database, then
    /// `KEYS <pattern>`. (`KEYS *` alone short-circuits to "all keys", so the lone-star case is tested separately.)
    static let redisVerified: [GlobCase] = [
        GlobCase(#"*"#, #"anything"#, true),
        GlobCase(#"h?llo"#, #"hello"#, true),
        GlobCase(#"h?llo"#, #"hllo"#, false),
        GlobCase(#"h*llo"#, #"hllo"#, true),
        GlobCase(#"h*llo"#, #"heeeello"#, true),
        GlobCase(#"h[ae]llo"#, #"hello"#, true),
        GlobCase(#"h[ae]llo"#, #"hillo"#, false),
        GlobCase(#"h[^e]llo"#, #"hallo"#, true),
        GlobCase(#"h[^e]llo"#, #"hello"#, false),
        GlobCase(#"h[a-b]llo"#, #"hbllo"#, true),
        GlobCase(#"h[a-b]llo"#, #"hcllo"#, false),
        GlobCase(#"[z-a]"#, #"m"#, true),
        GlobCase(#"[z-a]"#, #"A"#, false),
        GlobCase(#"h\*llo"#, #"h*llo"#, true),
        GlobCase(#"h\*llo"#, #"hello"#, false),
        GlobCase(#"[abc"#, #"b"#, true),
        GlobCase(#"[abc"#, #"d"#, false),
        GlobCase(#"[abc"#, #"bc"#, false),
        GlobCase(#"["#, #"["#, false),
        GlobCase(#"["#, #""#, false),
        GlobCase(#"[^"#, #"x"#, true),
        GlobCase(#"[^"#, #"^"#, true),
        GlobCase(#"x["#, #"x"#, false),
        GlobCase(#"[a-]"#, #"]"#, true),
        GlobCase(#"[a-]"#, #"-"#, false),
        GlobCase(#"[a-]"#, #"^"#, true),
        GlobCase(#"\"#, #"\"#, true),
        GlobCase(#"a\"#, #"a\"#, true),
        GlobCase(#"[\]]"#, #"]"#, true),
        GlobCase(#"[\-]"#, #"-"#, true),
        GlobCase(#"[\-]"#, #"\"#, false),
        GlobCase(#"[]]"#, #"]"#, false),
        GlobCase(#"[]a]"#, #"a"#, false),
        GlobCase(#"[]"#, #"]"#, false),
        GlobCase(#"[]"#, #"x"#, false),
        GlobCase(#"a*b*c"#, #"aXXbYYc"#, true),
        GlobCase(#"a*b*c"#, #"aXXbYYcd"#, false),
        GlobCase(#"*a"#, #""#, false),
        GlobCase(#"**"#, #""#, false),
        GlobCase(#""#, #""#, true),
        GlobCase(#""#, #"a"#, false),
        GlobCase(#"?"#, #""#, false),
        GlobCase(#"a*"#, #"a"#, true),
        GlobCase(#"a**"#, #"a"#, true),
        GlobCase(#"a?*"#, #"a"#, false),
        GlobCase([0x5B, 0x61, 0x2D, 0xFF, 0x5D], [0x62], false),
        GlobCase([0x5B, 0x61, 0x2D, 0xFF, 0x5D], [0x80], false),
        GlobCase([0x5B, 0x61, 0x2D, 0xFF, 0x5D], [0xFF], true),
        GlobCase([0x5B, 0x61, 0x2D, 0xFF, 0x5D], [0x30], true),
        GlobCase([0x5B, 0x80, 0x2D, 0xFF, 0x5D], [0x90], true),
        GlobCase([0x5B, 0x80, 0x2D, 0xFF, 0x5D], [0x61], false),
        GlobCase(#"[^a-c]"#, #"d"#, true),
        GlobCase(#"[^a-c]"#, #"b"#, false),
        GlobCase(#"[a-c-e]"#, #"-"#, true),
        GlobCase(#"[a-c-e]"#, #"d"#, false),
        GlobCase(#"[a-c-e]"#, #"e"#, true),
        GlobCase(#"H*"#, #"hello"#, false),
        GlobCase(#"h[A-Z]llo"#, #"hello"#, false),
        GlobCase(#"*[0-9]"#, #"key9"#, true),
        GlobCase(#"user:*:name"#, #"user:42:name"#, true),
        GlobCase(#"user:*:name"#, #"user:42:email"#, false),
        GlobCase([0xE2, 0x82, 0xAC, 0x3F], [0xE2, 0x82, 0xAC, 0x78], true),
        GlobCase([0x3F], [0xE2, 0x82, 0xAC], false),
        GlobCase([0x3F, 0x3F, 0x3F], [0xE2, 0x82, 0xAC], true),
        GlobCase(#"*\"#, #"ab\"#, true),
        GlobCase(#"a\b"#, #"ab"#, true),
        GlobCase(#"[\a-c]"#, #"b"#, false),
        GlobCase(#"[\"#, #"\"#, true),
        GlobCase(#"[^]"#, #"x"#, true),
    ]

    @Test(arguments: redisVerified)
    func matchesLikeRedisKeys(_ c: GlobCase) {
        #expect(Glob.match(pattern: c.pattern, string: c.string) == c.matches)
    }

    @Test(arguments: redisVerified)
    func rawBufferOverloadAgrees(_ c: GlobCase) {
        let result = c.pattern.withUnsafeBytes { p in
            c.string.withUnsafeBytes { s in Glob.match(pattern: p, string: s) }
        }
        #expect(result == c.matches)
    }

    /// `stringmatchlen("*", "")` is false: the loop never runs and one pattern byte is left. Redis's KEYS and SCAN
    /// special-case a lone "*" as "everything", which is how `KEYS *` still lists an empty key; callers must do the
    /// same.
    @Test func loneStarDoesNotMatchEmptyString() {
        #expect(Glob.match(pattern: Array("*".utf8), string: []) == false)
        #expect(Glob.match(pattern: Array("*".utf8), string: Array("x".utf8)))
        #expect(Glob.match(pattern: [], string: []))
    }

    @Test func noCaseFoldsASCIIOnly() {
        #expect(Glob.match(pattern: Array("MAXMEMORY*".utf8), string: Array("maxmemory-policy".utf8), noCase: true))
        #expect(Glob.match(pattern: Array("h[A-Z]llo".utf8), string: Array("hello".utf8), noCase: true))
        #expect(Glob.match(pattern: Array("h[E]llo".utf8), string: Array("hello".utf8), noCase: true))
        #expect(Glob.match(pattern: Array("H?LLO".utf8), string: Array("hello".utf8), noCase: true))
        #expect(!Glob.match(pattern: Array("H?LLO".utf8), string: Array("hello".utf8)))
        // Escaped bytes inside a set compare exactly even with noCase, as in Redis.
        #expect(!Glob.match(pattern: Array(#"[\E]"#.utf8), string: Array("e".utf8), noCase: true))
        // Only A-Z fold: 0xC3 0x89 (É) is not 0xC3 0xA9 (é).
        #expect(!Glob.match(pattern: [0xC3, 0x89], string: [0xC3, 0xA9], noCase: true))
        // '[' (0x5B) and '{' (0x7B) differ by 0x20 but are not letters.
        #expect(!Glob.match(pattern: Array(#"\["#.utf8), string: Array("{".utf8), noCase: true))
    }

    /// Verified against redis-server 7.0.15: with a key of 1200 "a", `KEYS` with "a*" repeated 1001 times finds it,
    /// repeated 1002 times does not (each searching star nests one level; past 1000 the match fails).
    @Test func nestingLimit() {
        let key = [UInt8](repeating: UInt8(ascii: "a"), count: 1200)
        let within = Array(String(repeating: "a*", count: 1001).utf8)
        let beyond = Array(String(repeating: "a*", count: 1002).utf8)
        #expect(Glob.match(pattern: within, string: key))
        #expect(!Glob.match(pattern: beyond, string: key))
    }

    /// Without Redis's early exit this pattern would take exponential time.
    @Test func pathologicalPatternIsFast() {
        let key = [UInt8](repeating: UInt8(ascii: "a"), count: 5000)
        let pattern = Array((String(repeating: "a*", count: 40) + "b").utf8)
        #expect(!Glob.match(pattern: pattern, string: key))
    }

    @Test func embeddedZeroBytesAreOrdinary() {
        #expect(Glob.match(pattern: [0x61, 0x00, 0x3F], string: [0x61, 0x00, 0x62]))
        #expect(!Glob.match(pattern: [0x61, 0x00], string: [0x61]))
    }

    @Test func hasWildcards() {
        #expect(Glob.hasWildcards(Array("max*".utf8)))
        #expect(Glob.hasWildcards(Array("a?".utf8)))
        #expect(Glob.hasWildcards(Array("[ab]".utf8)))
        #expect(!Glob.hasWildcards(Array(#"max\-memory"#.utf8)))
        #expect(!Glob.hasWildcards(Array("maxmemory".utf8)))
    }
}
