import NIOCore
import SwiftletConfig
import SwiftletKeyspace
import SwiftletRESP
import Testing

@testable import SwiftletEngine

/// DEBUG DIGEST, DIGEST-VALUE, OBJECT, PROTOCOL and HELP. Every digest, `serializedlength` and reply below was read
/// from a real redis-server 7.0.15 given the same commands (`--enable-debug-command yes`).
struct DebugCommandsTests {
    static func harness(_ version: RESPVersion = .resp2) -> CommandHarness {
        let config = ConfigStore()
        // Why `try!`: a literal, valid configuration line.
        try! config.load(configText: "enable-debug-command yes\n")
        return CommandHarness(protocolVersion: version, config: config)
    }

    static let longMember = String(repeating: "y", count: 78)

    /// One key of every type and encoding, and one with a time to live.
    static func loadDataset(_ h: CommandHarness) {
        h.run("SET", "s", "hello")
        h.run("SET", "n", "12345")
        h.run("SET", "neg", "-42")
        h.run("SET", "big", String(repeating: "x", count: 86))
        h.run("RPUSH", "l", "a", "b", "c", "1", "2")
        h.run("SADD", "si", "1", "2", "3", "-5")
        h.run("SADD", "sh", "a", "b", "c", "7")
        h.run("ZADD", "zl", "1", "a", "2.5", "b", "-inf", "c", "0.1", "d")
        h.run("ZADD", "zs", "1", "a", "2.5", "b", "+inf", "c", "0.1", "d", "3", Self.longMember)
        h.run("HSET", "h", "f1", "v1", "f2", "v2", "f3", "3")
        h.run("HSET", "hh", "f1", "v1", "f2", String(repeating: "z", count: 84))
        h.run("SET", "t", "temp")
        h.run("EXPIRE", "t", "1000")
    }

    static func status(_ text: String) -> RESPValue {
        .simpleString(ByteBuffer(string: text))
    }

    static let zeros = String(repeating: "0", count: 40)

    // MARK: - DIGEST / DIGEST-VALUE

    /// DEBUG POPULATE as redis-server answers it: `key:<n>` = `value:<n>`, a prefix, a size that cuts or pads with
    /// zero bytes, existing keys kept; nothing dirty (no AOF); PAUSE-CRON sets the flag the server tick reads.
    @Test func populateAndPauseCron() {
        let h = Self.harness()
        h.run("SET", "key:1", "mine")
        let dirty = h.state.dirty
        #expect(h.run("DEBUG", "POPULATE", "3") == .simpleString(ByteBuffer(string: "OK")))
        #expect(h.run("DEBUG", "POPULATE", "2", "p", "10") == .simpleString(ByteBuffer(string: "OK")))
        #expect(h.run("DEBUG", "POPULATE", "1", "q", "3") == .simpleString(ByteBuffer(string: "OK")))
        #expect(h.run("GET", "key:0") == .bulkString(ByteBuffer(string: "value:0")))
        #expect(h.run("GET", "key:1") == .bulkString(ByteBuffer(string: "mine")))
        #expect(h.run("GET", "p:1") == .bulkString(ByteBuffer(bytes: Array("value:1".utf8) + [0, 0, 0])))
        #expect(h.run("GET", "q:0") == .bulkString(ByteBuffer(string: "val")))
        #expect(h.run("DBSIZE") == .integer(6))
        #expect(h.state.dirty == dirty)
        #expect(
            h.run("DEBUG", "POPULATE", "-1")
                == .error(ByteBuffer(string: "ERR value is out of range, must be positive"))
        )
        #expect(h.run("DEBUG", "PAUSE-CRON", "1") == .simpleString(ByteBuffer(string: "OK")))
        #expect(h.state.cronPaused)
        #expect(h.run("DEBUG", "PAUSE-CRON", "0") == .simpleString(ByteBuffer(string: "OK")))
        #expect(!h.state.cronPaused)
    }

    @Test func digestsEqualRedis() {
        let h = Self.harness()
        #expect(h.run("DEBUG", "DIGEST") == Self.status(Self.zeros))
        Self.loadDataset(h)
        #expect(h.run("OBJECT", "ENCODING", "zs") == .bulk("skiplist"))
        #expect(h.run("OBJECT", "ENCODING", "sh") == .bulk("hashtable"))
        #expect(h.run("OBJECT", "ENCODING", "hh") == .bulk("hashtable"))
        let expected: [(String, String)] = [
            ("s", "36b23a1456b2dce2c3ed252c456761301dba8060"),
            ("n", "e1cf90774e995ae03de66e8109dc5cb9d9c2dc83"),
            ("neg", "ce70a5674f228eaf3e2c2d01f6152e36f7e792a7"),
            ("big", "d642d6cb1fa3d7ad32424a95d997e846e4950b4b"),
            ("l", "f48a1249517530ff1906fc79ddbf9b687f71f06f"),
            ("si", "5e497276f46b9037a75afe0286ef7a77cbed85e4"),
            ("sh", "c91787d9d9e54d4537dc9af1186ce3d3608755a8"),
            ("zl", "e2b86b0e11c99954160d20bd7b671cf3281f9b24"),
            ("zs", "c2027dd4056e80ebaf522f6a7a8ccc54395af475"),
            ("h", "36db8c131ce099312198ab31223feb407b0d5df9"),
            ("hh", "2ac3e731b16211c54b3a599dac6a7f534229363d"),
            ("t", "67d6702f154bf82a604e673906d2836f47c7b7cd"),
            ("missing", Self.zeros),
        ]
        #expect(
            h.run((["DEBUG", "DIGEST-VALUE"] + expected.map(\.0)).map { Array($0.utf8) })
                == .list(expected.map { Self.status($0.1) })
        )
        #expect(h.run("DEBUG", "DIGEST") == Self.status("f1a43cd55664bda764ab19102fb816fcd6669b06"))
        // The database index is part of the digest.
        h.run("SELECT", "1")
        h.run("SET", "s", "hello")
        #expect(h.run("DEBUG", "DIGEST") == Self.status("49e72f2ab3d49e20036d963cefed3237f5129101"))
        #expect(h.run("DEBUG", "DIGEST-VALUE") == .list([]))
    }

    @Test func digestIgnoresOrderOfUnorderedTypesOnly() {
        let h = Self.harness()
        h.run("SADD", "a", "x", "y", "z")
        h.run("SADD", "b", "z", "y", "x")
        h.run("RPUSH", "la", "x", "y")
        h.run("RPUSH", "lb", "y", "x")
        guard case .array(let a?) = h.run("DEBUG", "DIGEST-VALUE", "a", "b", "la", "lb") else {
            Issue.record("not an array")
            return
        }
        #expect(a[0] == a[1])
        #expect(a[2] != a[3])
    }

    /// DIGEST-VALUE and DIGEST read a logically expired key as it is, without expiring it.
    @Test func digestReadsLogicallyExpiredKeys() {
        let h = Self.harness()
        h.run("DEBUG", "SET-ACTIVE-EXPIRE", "0")
        h.run("SET", "gone", "x", "PX", "100")
        h.advance(by: 200)
        #expect(
            h.run("DEBUG", "DIGEST-VALUE", "gone") == .list([Self.status("0745672cb1bf060476eedeb8a28f5ffe1ff5a2be")])
        )
        #expect(h.run("DEBUG", "DIGEST") != Self.status(Self.zeros))
        #expect(h.state.keyspace.stats.expiredKeys == 0)
        #expect(h.run("GET", "gone") == .nullBulk)
        #expect(h.run("DEBUG", "DIGEST") == Self.status(Self.zeros))
    }

    // MARK: - OBJECT

    static func objectFields(_ h: CommandHarness, _ key: String) -> [String: String] {
        guard case .simpleString(let line) = h.run("DEBUG", "OBJECT", key) else { return [:] }
        var fields: [String: String] = [:]
        for part in String(buffer: line).split(separator: " ") {
            let pair = part.split(separator: ":", maxSplits: 1)
            if pair.count == 2 { fields[String(pair[0])] = String(pair[1]) }
        }
        return fields
    }

    @Test func objectMatchesRedis() {
        let h = Self.harness()
        Self.loadDataset(h)
        h.run("SET", "small", "5")
        // Without LZF: Swiftlet's compressor emits other (valid) bytes than Redis's, so compressed lengths differ.
        #expect(h.run("CONFIG", "SET", "rdbcompression", "no") == .ok)
        let expected: [(key: String, encoding: String, length: Int)] = [
            ("s", "embstr", 6), ("n", "int", 3), ("neg", "int", 2), ("big", "raw", 88), ("l", "quicklist", 23),
            ("si", "intset", 17), ("sh", "hashtable", 9), ("zl", "listpack", 54), ("zs", "skiplist", 129),
            ("h", "listpack", 30), ("hh", "hashtable", 96), ("t", "embstr", 5), ("small", "int", 2),
        ]
        for (key, encoding, length) in expected {
            let fields = Self.objectFields(h, key)
            #expect(fields["encoding"] == encoding, "\(key)")
            #expect(fields["serializedlength"] == String(length), "\(key)")
            #expect(fields["refcount"] == (key == "small" ? "2147483647" : "1"), "\(key)")
            #expect(fields["lru_seconds_idle"] == "0", "\(key)")
        }
        guard case .simpleString(let line) = h.run("DEBUG", "OBJECT", "l") else {
            Issue.record("no status reply")
            return
        }
        let text = String(buffer: line)
        #expect(text.hasPrefix("Value at:0x"))
        #expect(text.contains(" refcount:1 encoding:quicklist serializedlength:23 lru:"))
        #expect(
            text.hasSuffix(
                " lru_seconds_idle:0 ql_nodes:1 ql_avg_node:5.00 ql_listpack_max:-2 ql_compressed:0 "
                    + "ql_uncompressed_size:20"
            )
        )
        let words = text.split(separator: " ").map { $0.split(separator: ":")[0] }
        #expect(
            words == [
                "Value", "at", "refcount", "encoding", "serializedlength", "lru", "lru_seconds_idle", "ql_nodes",
                "ql_avg_node", "ql_listpack_max", "ql_compressed", "ql_uncompressed_size",
            ]
        )
        // The address is stable while the key lives.
        #expect(h.run("DEBUG", "OBJECT", "l") == .simpleString(line))
    }

    @Test func objectIdleTimeAndMissingKey() {
        let h = Self.harness()
        h.run("SET", "k", "v")
        h.advance(by: 5000)
        #expect(Self.objectFields(h, "k")["lru_seconds_idle"] == "5")
        // DEBUG OBJECT does not touch the key.
        #expect(Self.objectFields(h, "k")["lru_seconds_idle"] == "5")
        #expect(h.run("DEBUG", "OBJECT", "nokey") == .err("ERR no such key"))
    }

    // MARK: - PROTOCOL

    static let protocolReplies: [(name: String, resp2: String, resp3: String)] = [
        ("string", "$11\r\nHello World\r\n", "$11\r\nHello World\r\n"),
        ("integer", ":12345\r\n", ":12345\r\n"),
        ("double", "$5\r\n3.141\r\n", ",3.141\r\n"),
        (
            "bignum", "$37\r\n1234567999999999999999999999999999999\r\n",
            "(1234567999999999999999999999999999999\r\n"
        ),
        ("null", "$-1\r\n", "_\r\n"),
        ("array", "*3\r\n:0\r\n:1\r\n:2\r\n", "*3\r\n:0\r\n:1\r\n:2\r\n"),
        ("set", "*3\r\n:0\r\n:1\r\n:2\r\n", "~3\r\n:0\r\n:1\r\n:2\r\n"),
        ("map", "*6\r\n:0\r\n:0\r\n:1\r\n:1\r\n:2\r\n:0\r\n", "%3\r\n:0\r\n#f\r\n:1\r\n#t\r\n:2\r\n#f\r\n"),
        (
            "attrib", "$39\r\nSome real reply following the attribute\r\n",
            "|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n"
                + "$39\r\nSome real reply following the attribute\r\n"
        ),
        (
            "push", "-ERR RESP2 is not supported by this command\r\n",
            ">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n$40\r\nSome real reply following the push reply\r\n"
        ),
        ("verbatim", "$25\r\nThis is a verbatim\nstring\r\n", "=29\r\ntxt:This is a verbatim\nstring\r\n"),
        ("true", ":1\r\n", "#t\r\n"),
        ("false", ":0\r\n", "#f\r\n"),
        (
            "bogus",
            "-ERR Wrong protocol type name. Please use one of the following: "
                + "string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false\r\n",
            "-ERR Wrong protocol type name. Please use one of the following: "
                + "string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false\r\n"
        ),
    ]

    @Test func protocolRepliesAreRedisBytes() {
        let h2 = Self.harness(.resp2)
        let h3 = Self.harness(.resp3)
        for (name, resp2, resp3) in Self.protocolReplies {
            #expect(h2.raw("DEBUG", "PROTOCOL", name) == resp2, "\(name)")
            #expect(h3.raw("DEBUG", "PROTOCOL", name.uppercased()) == resp3, "\(name)")
        }
    }

    // MARK: - HELP and errors

    @Test func helpAndErrors() {
        let h = Self.harness()
        guard case .array(let lines?) = h.run("DEBUG", "HELP") else {
            Issue.record("no help array")
            return
        }
        #expect(lines.count == DebugCommands.helpLines.count)
        #expect(lines.first == Self.status("DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"))
        #expect(lines.last == Self.status("    Prints this help."))
        let unknown = { (sub: String) in
            RESPValue.err("ERR unknown subcommand or wrong number of arguments for '\(sub)'. Try DEBUG HELP.")
        }
        #expect(h.run("DEBUG", "FOO") == unknown("FOO"))
        #expect(h.run("DEBUG", "HELP", "x") == unknown("HELP"))
        #expect(h.run("DEBUG", "DIGEST", "x") == unknown("DIGEST"))
        #expect(h.run("DEBUG", "OBJECT") == unknown("OBJECT"))
        #expect(h.run("DEBUG", "PROTOCOL") == unknown("PROTOCOL"))
        #expect(h.run("DEBUG", String(repeating: "q", count: 200)) == unknown(String(repeating: "q", count: 128)))
        #expect(h.run("DEBUG") == .err("ERR wrong number of arguments for 'debug' command"))
        #expect(h.run("DEBUG", "SLEEP", "0") == .ok)
    }

    @Test func refusedWithoutTheConfiguration() {
        let h = CommandHarness()
        #expect(
            h.run("DEBUG", "DIGEST")
                == .err(
                    "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can "
                        + "run it from a local connection, otherwise you need to set this option in the configuration "
                        + "file, and then restart the server."
                )
        )
    }
}
