import Testing

@testable import SwiftletKeyspace

struct NumberFormatTests {
    /// `SET i 0` then `INCRBY i <text>` on redis-server 7.0.15 (the increment goes through `string2ll`).
    static let int64Cases: [(text: String, value: Int64?)] = [
        ("0", 0),
        ("-0", nil),
        ("+1", nil),
        ("01", nil),
        ("1 ", nil),
        (" 1", nil),
        ("9223372036854775807", 9_223_372_036_854_775_807),
        ("9223372036854775808", nil),
        ("-9223372036854775808", -9_223_372_036_854_775_808),
        ("-9223372036854775809", nil),
        ("", nil),
        ("-", nil),
        ("1e3", nil),
        ("0x10", nil),
        ("00", nil),
        ("-01", nil),
        ("00000000000000000001", nil),
        ("12345678901234567890", nil),
        ("-1", -1),
        ("123", 123),
        ("1.0", nil),
        ("18446744073709551615", nil),
        ("18446744073709551616", nil),
        ("99999999999999999999", nil),
        ("1\0", nil),
        ("\t1", nil),
        ("-9", -9),
        ("+0", nil),
    ]

    /// `ZADD z <text> m` then `ZSCORE z m` on redis-server 7.0.15: `nil` where ZADD replied
    /// "ERR value is not a valid float". `-0` is what the skiplist encoding replies; a listpack-encoded zset stores
    /// -0.0 as the integer 0 and replies `0`.
    static let doubleCases: [(text: String, reply: String?)] = [
        ("1.5", "1.5"),
        (" 1.5", nil),
        ("1.5 ", nil),
        ("inf", "inf"),
        ("+inf", "inf"),
        ("-inf", "-inf"),
        ("Infinity", "inf"),
        ("-infinity", "-inf"),
        ("INF", "inf"),
        ("nan", nil),
        ("NaN", nil),
        ("-nan", nil),
        ("1e5", "100000"),
        ("0x10", "16"),
        ("0x1p3", "8"),
        ("1e400", nil),
        ("-1e400", nil),
        ("1e-400", nil),
        ("1e-310", "9.9999999999999694e-311"),
        ("-0", "-0"),
        ("+1.5", "1.5"),
        (".5", "0.5"),
        ("5.", "5"),
        ("1e", nil),
        ("", nil),
        ("1_0", nil),
        ("1,5", nil),
        ("0", "0"),
        ("0.0", "0"),
        ("1.7976931348623157e308", "1.7976931348623157e+308"),
        ("2.2250738585072014e-308", "2.2250738585072014e-308"),
        ("4.9e-324", "4.9406564584124654e-324"),
        ("3.0", "3"),
        ("0.1", "0.10000000000000001"),
        ("1e20", "1e+20"),
        ("1e17", "1e+17"),
        ("1e16", "10000000000000000"),
        ("123456789012345678", "1.2345678901234568e+17"),
        ("-123.456", "-123.456"),
        ("1e-5", "1.0000000000000001e-05"),
        ("2.5e-300", "2.5e-300"),
        ("12345678901234567", "12345678901234568"),
        ("\t1", nil),
        ("1\n", nil),
        ("0e-400", "0"),
        ("inf ", nil),
        ("infinit", nil),
        ("nanx", nil),
        ("0X1P-2", "0.25"),
        ("1.5\0", nil),
        ("-0.0", "-0"),
        ("0.30000000000000004", "0.30000000000000004"),
        ("100", "100"),
        ("1e15", "1000000000000000"),
        ("99999999999999999", "1e+17"),
        ("1e-4", "0.0001"),
        ("0.0001", "0.0001"),
        ("123.456e10", "1234560000000"),
    ]

    /// `SET f <initial>` then `INCRBYFLOAT f <increment>` on redis-server 7.0.15.
    static let incrByFloatCases: [(initial: String, increment: String, reply: String)] = [
        ("0", "1.5", "1.5"),
        ("0", " 1.5", "-ERR value is not a valid float"),
        ("0", "1.5 ", "-ERR value is not a valid float"),
        ("0", "inf", "-ERR increment would produce NaN or Infinity"),
        ("0", "+inf", "-ERR increment would produce NaN or Infinity"),
        ("0", "-inf", "-ERR increment would produce NaN or Infinity"),
        ("0", "Infinity", "-ERR increment would produce NaN or Infinity"),
        ("0", "-infinity", "-ERR increment would produce NaN or Infinity"),
        ("0", "INF", "-ERR increment would produce NaN or Infinity"),
        ("0", "nan", "-ERR value is not a valid float"),
        ("0", "NaN", "-ERR value is not a valid float"),
        ("0", "-nan", "-ERR value is not a valid float"),
        ("0", "1e5", "100000"),
        ("0", "0x10", "16"),
        ("0", "0x1p3", "8"),
        (
            "0", "1e400",
            "10000000000000000000281880683947586514586453433629052038625910693539685534008629862039363994848324160522094053927317616200295822777259255734023828976593340661017797447434546173917862448116674971723778943824391593338047470675026246684401359237513603830343735485505244955964979021825038280091068414947402456898653040951017512658092615827588920183472511643316591362664138176309734806343732497430221946880"
        ),
        (
            "0", "-1e400",
            "-10000000000000000000281880683947586514586453433629052038625910693539685534008629862039363994848324160522094053927317616200295822777259255734023828976593340661017797447434546173917862448116674971723778943824391593338047470675026246684401359237513603830343735485505244955964979021825038280091068414947402456898653040951017512658092615827588920183472511643316591362664138176309734806343732497430221946880"
        ),
        ("0", "1e-400", "0"),
        ("0", "1e-310", "0"),
        ("0", "-0", "0"),
        ("0", "+1.5", "1.5"),
        ("0", ".5", "0.5"),
        ("0", "5.", "5"),
        ("0", "1e", "-ERR value is not a valid float"),
        ("0", "", "-ERR value is not a valid float"),
        ("0", "1_0", "-ERR value is not a valid float"),
        ("0", "1,5", "-ERR value is not a valid float"),
        ("0", "0", "0"),
        ("0", "0.0", "0"),
        (
            "0", "1.7976931348623157e308",
            "179769313486231569995921046774104434048386446944329178485314420765176628523124396354701868608387085564428793419425520689308708363451136055357897278026477617073498977686288394835618163294045594434929537447290627480669417384648879122776218333598953852832103282504751611691208117720159985926376802466863339536384"
        ),
        ("0", "2.2250738585072014e-308", "0"),
        ("0", "4.9e-324", "0"),
        ("0", "3.0", "3"),
        ("0", "0.1", "0.1"),
        ("0", "1e20", "100000000000000000000"),
        ("0", "1e17", "100000000000000000"),
        ("0", "1e16", "10000000000000000"),
        ("0", "123456789012345678", "123456789012345678"),
        ("0", "-123.456", "-123.456"),
        ("0", "1e-5", "0.00001"),
        ("0", "2.5e-300", "0"),
        ("0", "12345678901234567", "12345678901234567"),
        ("0", "\t1", "-ERR value is not a valid float"),
        ("0", "1\n", "-ERR value is not a valid float"),
        ("0", "0e-400", "0"),
        ("0", "inf ", "-ERR value is not a valid float"),
        ("0", "infinit", "-ERR value is not a valid float"),
        ("0", "nanx", "-ERR value is not a valid float"),
        ("0", "0X1P-2", "0.25"),
        ("0", "1.5\0", "-ERR value is not a valid float"),
        ("0", "-0.0", "0"),
        ("0", "0.30000000000000004", "0.30000000000000004"),
        ("0", "100", "100"),
        ("0", "1e15", "1000000000000000"),
        ("0", "99999999999999999", "99999999999999999"),
        ("0", "1e-4", "0.0001"),
        ("0", "0.0001", "0.0001"),
        ("0", "123.456e10", "1234560000000"),
        ("10.50", "0.1", "10.6"),
        ("0.1", "0.2", "0.3"),
        ("0", "3.0e3", "3000"),
        ("0", "5.0e3", "5000"),
        ("0", "1.5e-5", "0.000015"),
        ("5", "-10.25", "-5.25"),
        ("0", "1e20", "100000000000000000000"),
        (
            "1e308", "1e308",
            "199999999999999999993371759311691291321120199694831134415594095989843469737676123744200253843777078640893494450108026446304269499187921167194841628860392837535918200039206381557326219209014213335878306791577877829121087126122536729803237260434173178506889763247582601711514636284849020905456510092687857156096"
        ),
        ("1.18e4932", "1e4932", "-ERR increment would produce NaN or Infinity"),
        ("-1.18e4932", "-1e4932", "-ERR increment would produce NaN or Infinity"),
        ("3", "-3", "0"),
        ("-1", "0.999999999999999999", "0"),
        ("0", "0.00000000000000001", "0.00000000000000001"),
        ("0", "0.000000000000000001", "0"),
        ("0", "0.000000000000000005", "0"),
        ("0", "0.000000000000000015", "0.00000000000000002"),
        ("1", "1e-17", "1.00000000000000001"),
        ("5.0e3", "2.0e2", "5200"),
        ("10", "-0.0", "10"),
        ("0", "-1e-20", "0"),
        ("17179869184", "1.5", "17179869185.5"),
        ("0", "123456789.123456789", "123456789.12345678899873747"),
        ("0", "9007199254740993", "9007199254740993"),
        ("0", "0.1", "0.1"),
        ("0.1", "0.1", "0.2"),
        ("1.1", "2.2", "3.3"),
        ("100", "-99.99", "0.01"),
        ("0", "3.14159265358979323846", "3.14159265358979324"),
        ("abc", "1", "-ERR value is not a valid float"),
        ("1", "abc", "-ERR value is not a valid float"),
        (" 1", "1", "-ERR value is not a valid float"),
        ("0", "1e4933", "-ERR value is not a valid float"),
        ("1e4932", "1e4932", "-ERR increment would produce NaN or Infinity"),
        ("0", "4.9e-4951", "0"),
        ("0", "1e-5000", "-ERR value is not a valid float"),
        ("1", "inf", "-ERR increment would produce NaN or Infinity"),
    ]

    // MARK: - Integers

    @Test func parseInt64MatchesRedis() {
        for c in Self.int64Cases {
            #expect(NumberFormat.parseInt64(Array(c.text.utf8)) == c.value, "\(c.text.debugDescription)")
        }
    }

    @Test func parseInt64Limits() {
        #expect(NumberFormat.parseInt64(Array("9223372036854775807".utf8)) == .max)
        #expect(NumberFormat.parseInt64(Array("-9223372036854775808".utf8)) == .min)
        #expect(NumberFormat.parseInt64(Array("-9223372036854775809".utf8)) == nil)
        // 21 bytes is too long even before looking at the digits.
        #expect(NumberFormat.parseInt64(Array("-00000000000000000001".utf8)) == nil)
        #expect(NumberFormat.parseInt64([]) == nil)
    }

    @Test(arguments: [
        Int64.min, Int64.max, 0, -1, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 9999, 10000, 12345, -12345,
        1_000_000_000_000, 999_999_999_999_999_999, -1_000_000_000_000_000_000, 4_294_967_296,
    ])
    func appendDecimalMatchesDescription(_ value: Int64) {
        let text = withUnsafeTemporaryAllocation(byteCount: NumberFormat.maxInt64Digits, alignment: 1) { buffer in
            let count = NumberFormat.appendDecimal(value, to: buffer)
            return String(decoding: UnsafeRawBufferPointer(rebasing: buffer[..<count]), as: UTF8.self)
        }
        #expect(text == String(value))
        var array: [UInt8] = Array("x".utf8)
        NumberFormat.formatInt64(value, into: &array)
        #expect(array == Array(("x" + String(value)).utf8))
        #expect(NumberFormat.parseInt64(NumberFormat.formatInt64(value)) == value)
    }

    @Test func appendDecimalEveryPowerOfTen() {
        var value: Int64 = 1
        for _ in 0..<19 {
            for candidate in [value - 1, value, value + 1, -value, -(value - 1)] {
                #expect(NumberFormat.formatInt64(candidate) == Array(String(candidate).utf8))
            }
            if value > Int64.max / 10 { break }
            value *= 10
        }
    }

    // MARK: - Doubles

    @Test func parseDoubleAndFormatMatchZaddZscore() {
        for c in Self.doubleCases {
            let parsed = NumberFormat.parseDouble(Array(c.text.utf8))
            if let reply = c.reply {
                guard let parsed else {
                    Issue.record("\(c.text.debugDescription) should parse")
                    continue
                }
                #expect(
                    String(decoding: NumberFormat.formatDouble(parsed), as: UTF8.self) == reply,
                    "\(c.text.debugDescription)"
                )
            } else {
                #expect(parsed == nil, "\(c.text.debugDescription)")
            }
        }
    }

    @Test func parseDoubleEdges() {
        // strtod's hexadecimal and infinity spellings are accepted, NaN never.
        #expect(NumberFormat.parseDouble(Array("0x1p3".utf8)) == 8)
        #expect(NumberFormat.parseDouble(Array("-Infinity".utf8)) == -.infinity)
        #expect(NumberFormat.parseDouble(Array("nan".utf8)) == nil)
        // Underflow to a subnormal is accepted; underflow to zero is not; a literal zero is.
        #expect(NumberFormat.parseDouble(Array("1e-310".utf8)) != nil)
        #expect(NumberFormat.parseDouble(Array("1e-400".utf8)) == nil)
        #expect(NumberFormat.parseDouble(Array("0e-400".utf8)) == 0)
        // The integer fast path keeps the sign of zero and accepts leading zeros, like strtod.
        #expect(NumberFormat.parseDouble(Array("-0".utf8))?.sign == .minus)
        #expect(NumberFormat.parseDouble(Array("007".utf8)) == 7)
        #expect(NumberFormat.parseDouble(Array("123456789012345".utf8)) == 123_456_789_012_345)
        #expect(
            NumberFormat.parseDouble(Array("1234567890123456789".utf8)) == Double(1_234_567_890_123_456_789 as Int64)
        )
        // No length limit for doubles (ZADD accepted this 5120-byte score).
        let long = "0.5" + String(repeating: "0", count: 5117)
        #expect(NumberFormat.parseDouble(Array(long.utf8)) == 0.5)
    }

    @Test(
        arguments: [
            (1.5, "1.5"), (0.1, "0.10000000000000001"), (1e20, "1e+20"), (1e17, "1e+17"), (1e16, "10000000000000000"),
            (Double(99_999_999_999_999_990 as Int64), "99999999999999984"), (-0.0, "-0"), (0.0, "0"), (3.0, "3"),
            (-2.5, "-2.5"),
            (Double.infinity, "inf"), (-Double.infinity, "-inf"),
            (Double.leastNonzeroMagnitude, "4.9406564584124654e-324"),
            (0.30000000000000004, "0.30000000000000004"), (1e-5, "1.0000000000000001e-05"), (1234.5678, "1234.5678"),
            (Double.greatestFiniteMagnitude, "1.7976931348623157e+308"), (Double.nan, "nan"),
        ] as [(Double, String)]
    )
    func formatDouble(_ value: Double, _ expected: String) {
        #expect(String(decoding: NumberFormat.formatDouble(value), as: UTF8.self) == expected)
    }

    // MARK: - Long doubles

    /// Replays INCRBYFLOAT: parse both sides with string2ld, add, refuse NaN/infinity, format with ld2string.
    static func incrByFloat(_ initial: String, _ increment: String) -> String {
        guard let current = NumberFormat.parseLongDouble(Array(initial.utf8)),
            let delta = NumberFormat.parseLongDouble(Array(increment.utf8))
        else { return "-ERR value is not a valid float" }
        let sum = current + delta
        if sum.isNaN || sum.isInfinite { return "-ERR increment would produce NaN or Infinity" }
        return String(decoding: NumberFormat.formatLongDouble(sum), as: UTF8.self)
    }

    #if arch(x86_64) || arch(i386)
    @Test func incrByFloatMatchesRedis() {
        for c in Self.incrByFloatCases {
            #expect(Self.incrByFloat(c.initial, c.increment) == c.reply, "\(c.initial) + \(c.increment)")
        }
    }

    @Test func parseLongDoubleLengthLimit() {
        // 5119 bytes is the longest text string2ld takes (verified with INCRBYFLOAT); doubles have no limit.
        let accepted = "0.5" + String(repeating: "0", count: 5116)
        let refused = accepted + "0"
        #expect(NumberFormat.parseLongDouble(Array(accepted.utf8)) == 0.5)
        #expect(NumberFormat.parseLongDouble(Array(refused.utf8)) == nil)
        #expect(NumberFormat.parseDouble(Array(refused.utf8)) == 0.5)
    }
    #endif

    @Test func formatLongDoubleShapes() {
        #expect(NumberFormat.formatLongDouble(10.5) == Array("10.5".utf8))
        #expect(NumberFormat.formatLongDouble(3000) == Array("3000".utf8))
        #expect(NumberFormat.formatLongDouble(-0.0) == Array("0".utf8))
        #expect(NumberFormat.formatLongDouble(.infinity) == Array("inf".utf8))
        #expect(NumberFormat.formatLongDouble(-.infinity) == Array("-inf".utf8))
        #expect(NumberFormat.formatLongDouble(1e20) == Array("100000000000000000000".utf8))
        #expect(NumberFormat.formatLongDouble(-5.25) == Array("-5.25".utf8))
    }
}
