import NIOCore
import SwiftletCLI
import SwiftletRESP
import Testing

private func bulk(_ text: String) -> RESPValue { .bulkString(ByteBuffer(string: text)) }
private func status(_ text: String) -> RESPValue { .simpleString(ByteBuffer(string: text)) }
private func error(_ text: String) -> RESPValue { .error(ByteBuffer(string: text)) }

private func render(_ value: RESPValue, _ mode: OutputMode, verbatim: Bool = false) throws -> String {
    String(decoding: try ReplyFormatter(mode: mode).format(value, verbatim: verbatim), as: UTF8.self)
}

/// Expected texts were taken from redis-cli 7.0.15 against redis-server 7.0.15.
struct ReplyFormatterTests {
    // A reply with one of each type in it, nested: (value, human, raw, csv, json, quoted json).
    static let scalars: [(RESPValue, String, String, String, String, String)] = [
        (status("OK"), "OK\n", "OK\n", "\"OK\"\n", "\"OK\"\n", "\"OK\"\n"),
        (
            error("ERR bad"), "(error) ERR bad\n", "ERR bad\n\n", "ERROR,\"ERR bad\"\n", "error:\"ERR bad\"\n",
            "error:\"ERR bad\"\n"
        ),
        (.integer(-42), "(integer) -42\n", "-42\n", "-42\n", "-42\n", "-42\n"),
        (.double(3.141), "(double) 3.141\n", "3.141\n", "3.141\n", "3.141\n", "3.141\n"),
        (
            .double(0.1), "(double) 0.10000000000000001\n", "0.10000000000000001\n", "0.10000000000000001\n",
            "0.10000000000000001\n", "0.10000000000000001\n"
        ),
        (.double(-.infinity), "(double) -inf\n", "-inf\n", "-inf\n", "-inf\n", "-inf\n"),
        (bulk("a"), "\"a\"\n", "a\n", "\"a\"\n", "\"a\"\n", "\"a\"\n"),
        (.bulkString(nil), "(nil)\n", "\n", "NULL\n", "null\n", "null\n"),
        (.array(nil), "(nil)\n", "\n", "NULL\n", "null\n", "null\n"),
        (.null, "(nil)\n", "\n", "NULL\n", "null\n", "null\n"),
        (.boolean(true), "(true)\n", "(true)\n", "true\n", "true\n", "true\n"),
        (.boolean(false), "(false)\n", "(false)\n", "false\n", "false\n", "false\n"),
        (
            .verbatimString(format: ByteBuffer(string: "txt"), text: ByteBuffer(string: "a\nb")), "a\nb\n", "a\nb\n",
            "\"a\\nb\"\n", "\"a\\nb\"\n", "\"a\\\\nb\"\n"
        ),
        (.array([]), "(empty array)\n", "\n", "\n", "[]\n", "[]\n"),
        (.map([]), "(empty hash)\n", "\n", "\n", "{}\n", "{}\n"),
        (.set([]), "(empty set)\n", "\n", "\n", "[]\n", "[]\n"),
        (.push([]), "(empty push)\n", "\n", "\n", "[]\n", "[]\n"),
    ]

    @Test func scalarsInEveryMode() throws {
        for (value, human, raw, csv, json, quoted) in Self.scalars {
            #expect(try render(value, .standard) == human)
            #expect(try render(value, .raw) == raw)
            #expect(try render(value, .csv) == csv)
            #expect(try render(value, .json) == json)
            #expect(try render(value, .quotedJSON) == quoted)
        }
    }

    @Test func nestedArrayIsIndented() throws {
        let value = RESPValue.array([
            .integer(1), .array([.integer(2), .array([.integer(3), bulk("x")])]), .array([]), error("E1 bad"),
            status("OK"),
        ])
        #expect(
            try render(value, .standard)
                == "1) (integer) 1\n2) 1) (integer) 2\n   2) 1) (integer) 3\n      2) \"x\"\n3) (empty array)\n"
                + "4) (error) E1 bad\n5) OK\n"
        )
        #expect(try render(value, .raw) == "1\n2\n3\nx\n\nE1 bad\n\nOK\n")
        #expect(try render(value, .csv) == "1,2,3,\"x\",,ERROR,\"E1 bad\",\"OK\"\n")
        #expect(try render(value, .json) == "[1,[2,[3,\"x\"]],[],error:\"E1 bad\",\"OK\"]\n")
    }

    @Test func indexWidthGrowsWithTheCount() throws {
        let value = RESPValue.array((1...10).map { .integer($0) } + [.array([bulk("a"), bulk("b")])])
        let text = try render(value, .standard)
        #expect(text.hasPrefix(" 1) (integer) 1\n 2) (integer) 2\n"))
        #expect(text.hasSuffix("10) (integer) 10\n11) 1) \"a\"\n    2) \"b\"\n"))
    }

    @Test func mapsAndSets() throws {
        let map = RESPValue.map([.integer(0), .boolean(false), bulk("k"), .array([bulk("a"), bulk("b")])])
        #expect(try render(map, .standard) == "1# (integer) 0 => (false)\n2# \"k\" => \n   1) \"a\"\n   2) \"b\"\n")
        #expect(try render(map, .raw) == "0 (false)\nk a\nb\n")
        #expect(try render(map, .csv) == "0,false,\"k\",\"a\",\"b\"\n")
        #expect(try render(map, .json) == "{\"0\":false,\"k\":[\"a\",\"b\"]}\n")
        let set = RESPValue.set([.integer(0), .integer(1)])
        #expect(try render(set, .standard) == "1~ (integer) 0\n2~ (integer) 1\n")
        let push = RESPValue.push([bulk("server-cpu-usage"), .integer(42)])
        #expect(try render(push, .standard) == "1) \"server-cpu-usage\"\n2) (integer) 42\n")
    }

    @Test func escaping() throws {
        let value = RESPValue.array([bulk("b\"\\\u{01}"), bulk("c d"), bulk("é"), bulk("\u{07}\u{08}\t\r\n\u{0c}")])
        #expect(
            try render(value, .standard)
                == "1) \"b\\\"\\\\\\x01\"\n2) \"c d\"\n3) \"\\xc3\\xa9\"\n4) \"\\a\\b\\t\\r\\n\\x0c\"\n"
        )
        #expect(try render(value, .csv) == "\"b\\\"\\\\\\x01\",\"c d\",\"\\xc3\\xa9\",\"\\a\\b\\t\\r\\n\\x0c\"\n")
        #expect(try render(value, .json) == "[\"b\\\"\\\\\\u0001\",\"c d\",\"é\",\"\\u0007\\b\\t\\r\\n\\f\"]\n")
        #expect(
            try render(value, .quotedJSON)
                == "[\"b\\\\\"\\\\\\\\\\\\x01\",\"c d\",\"\\\\xc3\\\\xa9\",\"\\\\a\\\\b\\\\t\\\\r\\\\n\\\\x0c\"]\n"
        )
    }

    @Test func delimitersAndVerbatim() throws {
        let list = RESPValue.array([bulk("a"), bulk("b")])
        let formatter = ReplyFormatter(mode: .raw, bulkDelimiter: Array(",".utf8), replyDelimiter: Array("|".utf8))
        #expect(String(decoding: try formatter.format(list), as: UTF8.self) == "a,b|")
        #expect(try render(bulk("# Server\r\n"), .standard, verbatim: true) == "# Server\r\n")
        #expect(try render(bulk("x"), .csv, verbatim: true) == "x")
    }

    @Test func unprintableTypes() {
        #expect(throws: UnprintableReplyError.self) { try render(.bigNumber(ByteBuffer(string: "1")), .standard) }
        #expect(throws: UnprintableReplyError.self) { try render(.array([.bigNumber(ByteBuffer(string: "1"))]), .raw) }
        #expect(throws: UnprintableReplyError.self) { try render(.attribute([], .integer(1)), .json) }
    }
}
