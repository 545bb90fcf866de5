import NIOCore
import SwiftletRESP
import Testing

@testable import SwiftletEngine

/// COMMAND, COMMAND COUNT / LIST / INFO / DOCS / GETKEYS / GETKEYSANDFLAGS / HELP. Expected bytes were recorded
/// from redis-server 7.0.15.
struct CommandCommandsTests {
    static let infoGet2 =
        "*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@read\r\n+@string\r\n+@fast\r\n"
        + "*0\r\n*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n"
        + "$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n"
        + "$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n"
    static let infoGet3 =
        "*10\r\n$3\r\nget\r\n:2\r\n~2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n~3\r\n+@read\r\n+@string\r\n+@fast\r\n"
        + "~0\r\n~1\r\n%3\r\n$5\r\nflags\r\n~2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n"
        + "$5\r\nindex\r\n$4\r\nspec\r\n%1\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$5\r\nrange\r\n"
        + "$4\r\nspec\r\n%3\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n~0\r\n"

    @Test func infoIsByteIdenticalInBothProtocols() {
        #expect(CommandHarness().raw("COMMAND", "INFO", "get") == "*1\r\n" + Self.infoGet2)
        #expect(CommandHarness(protocolVersion: .resp3).raw("COMMAND", "INFO", "GET") == "*1\r\n" + Self.infoGet3)
    }

    @Test func infoOfUnknownNamesIsNull() {
        #expect(CommandHarness().raw("COMMAND", "INFO", "nosuch") == "*1\r\n$-1\r\n")
        #expect(CommandHarness(protocolVersion: .resp3).raw("COMMAND", "INFO", "nosuch") == "*1\r\n_\r\n")
        let h = CommandHarness()
        for name in ["", "|", "get|x", "config|", "config|get|x", "|get", String(repeating: "x", count: 100)] {
            #expect(h.raw("COMMAND", "INFO", name) == "*1\r\n$-1\r\n", "\(name)")
        }
    }

    @Test func infoOfSubcommandsByFullName() {
        let h = CommandHarness()
        guard case .array(let items?) = h.run("COMMAND", "INFO", "CONFIG|GET", "object|encoding") else {
            Issue.record("not an array")
            return
        }
        #expect(items.count == 2)
        guard case .array(let first?) = items[0], case .array(let second?) = items[1] else {
            Issue.record("not arrays")
            return
        }
        #expect(first[0] == .bulk("config|get"))
        #expect(first[1] == .int(-3))
        #expect(second[0] == .bulk("object|encoding"))
        #expect(Array(second[3...5]) == [.int(2), .int(2), .int(1)])
    }

    @Test func containerInfoListsImplementedSubcommands() {
        let h = CommandHarness()
        guard case .array(let items?) = h.run("COMMAND", "INFO", "command"),
            case .array(let info?) = items[0], case .array(let subs?) = info[9]
        else {
            Issue.record("unexpected shape")
            return
        }
        #expect(subs.count == 7)
    }

    @Test func docsOfGet() {
        let expected2 =
            "*2\r\n$3\r\nget\r\n*10\r\n$7\r\nsummary\r\n$22\r\nGet the value of a key\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n"
            + "$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n*6\r\n"
            + "$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n"
        #expect(CommandHarness().raw("COMMAND", "DOCS", "nosuch", "get") == expected2)
        let expected3 =
            "%1\r\n$3\r\nget\r\n%5\r\n$7\r\nsummary\r\n$22\r\nGet the value of a key\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n"
            + "$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%3\r\n"
            + "$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n"
        #expect(CommandHarness(protocolVersion: .resp3).raw("COMMAND", "DOCS", "get") == expected3)
        #expect(CommandHarness().raw("COMMAND", "DOCS", "nosuch") == "*0\r\n")
    }

    @Test func countAndListCoverTheTable() {
        let h = CommandHarness()
        let top = h.state.table.commands.filter { !$0.fullName.contains("|") }
        #expect(h.run("COMMAND", "COUNT") == .int(Int64(top.count)))
        guard case .array(let all?) = h.run("COMMAND") else {
            Issue.record("not an array")
            return
        }
        #expect(all.count == top.count)
        #expect(h.run("COMMAND", "LIST") == .bulks(h.state.table.commands.map(\.fullName)))
        guard case .map(let docs) = CommandHarness(protocolVersion: .resp3).run("COMMAND", "DOCS") else {
            Issue.record("not a map")
            return
        }
        // Keys and values, flattened.
        #expect(docs.count == 2 * top.count)
    }

    @Test func listFilters() {
        let h = CommandHarness()
        #expect(
            h.run("COMMAND", "LIST", "FILTERBY", "PATTERN", "config|*")
                == .bulks(["config|get", "config|set", "config|resetstat", "config|rewrite", "config|help"])
        )
        #expect(h.run("COMMAND", "LIST", "filterby", "pattern", "INCRBY*") == .bulks(["incrby", "incrbyfloat"]))
        #expect(h.run("COMMAND", "LIST", "FILTERBY", "ACLCAT", "Keyspace") != .bulks([]))
        // Exactly one FILTERBY: Redis wants it followed by exactly two more arguments.
        #expect(
            h.run("COMMAND", "LIST", "FILTERBY", "ACLCAT", "string", "FILTERBY", "ACLCAT", "fast")
                == .err("ERR syntax error")
        )
        guard case .array(let strings?) = h.run("COMMAND", "LIST", "FILTERBY", "ACLCAT", "string") else {
            Issue.record("not an array")
            return
        }
        #expect(strings.count == 22)
        #expect(h.run("COMMAND", "LIST", "FILTERBY", "ACLCAT", "nosuch") == .bulks([]))
        #expect(h.run("COMMAND", "LIST", "FILTERBY", "MODULE", "x") == .bulks([]))
        #expect(h.run("COMMAND", "LIST", "FILTERBY", "PATTERN") == .err("ERR syntax error"))
        #expect(h.run("COMMAND", "LIST", "FILTERBY", "PATTERN", "a", "b") == .err("ERR syntax error"))
        #expect(h.run("COMMAND", "LIST", "FILTERBY", "NAME", "a") == .err("ERR syntax error"))
        #expect(h.run("COMMAND", "LIST", "foo") == .err("ERR syntax error"))
    }

    @Test func getkeys() {
        let h = CommandHarness()
        #expect(h.run("COMMAND", "GETKEYS", "get", "k") == .bulks(["k"]))
        #expect(h.run("COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2") == .bulks(["a", "b"]))
        #expect(h.run("COMMAND", "GETKEYS", "rename", "a", "b") == .bulks(["a", "b"]))
        #expect(h.run("COMMAND", "GETKEYS", "Object", "Encoding", "k") == .bulks(["k"]))
        #expect(h.run("COMMAND", "GETKEYS", "memory", "usage", "k", "SAMPLES", "5") == .bulks(["k"]))
        #expect(h.run("COMMAND", "GETKEYS", "nosuch", "a") == .err("ERR Invalid command specified"))
        #expect(h.run("COMMAND", "GETKEYS", "object", "foo", "k") == .err("ERR Invalid command specified"))
        #expect(h.run("COMMAND", "GETKEYS", "ping", "x") == .err("ERR The command has no key arguments"))
        #expect(h.run("COMMAND", "GETKEYS", "config", "get", "x") == .err("ERR The command has no key arguments"))
        #expect(
            h.run("COMMAND", "GETKEYS", "get", "a", "b")
                == .err("ERR Invalid number of arguments specified for command")
        )
        #expect(
            h.run("COMMAND", "GETKEYS", "mset", "a") == .err("ERR Invalid number of arguments specified for command")
        )
        #expect(h.run("COMMAND", "GETKEYS") == .err("ERR wrong number of arguments for 'command|getkeys' command"))
    }

    @Test func getkeysAndFlags() {
        #expect(
            CommandHarness().raw("COMMAND", "GETKEYSANDFLAGS", "set", "k", "v")
                == "*1\r\n*2\r\n$1\r\nk\r\n*2\r\n+OW\r\n+update\r\n"
        )
        #expect(
            CommandHarness(protocolVersion: .resp3).raw("COMMAND", "GETKEYSANDFLAGS", "set", "k", "v", "GET")
                == "*1\r\n*2\r\n$1\r\nk\r\n~3\r\n+RW\r\n+access\r\n+update\r\n"
        )
        let h = CommandHarness()
        #expect(
            h.run("COMMAND", "GETKEYSANDFLAGS", "copy", "a", "b")
                == .list([
                    .list([
                        .bulk("a"),
                        .list([.simpleString(ByteBuffer(string: "RO")), .simpleString(ByteBuffer(string: "access"))]),
                    ]),
                    .list([
                        .bulk("b"),
                        .list([.simpleString(ByteBuffer(string: "OW")), .simpleString(ByteBuffer(string: "update"))]),
                    ]),
                ])
        )
    }

    @Test func help() {
        guard case .array(let lines?) = CommandHarness().run("COMMAND", "HELP") else {
            Issue.record("not an array")
            return
        }
        #expect(lines.count == HelpText.command.count)
        #expect(CommandHarness().run("COMMAND", "FOO") == .err("ERR unknown subcommand 'FOO'. Try COMMAND HELP."))
    }

    // MARK: - Key finding for commands of any family (from Redis's key specs and procedures)

    static func keys(_ words: String...) -> [Int] {
        let arguments = words.map { ByteBuffer(string: $0) }
        let name = words[0].lowercased()
        let metadata = CommandMetadata.lookup(name)!
        let arity = CommandSpecSnapshotTests.snapshot[name]!.arity
        return KeyFinder.keys(
            arguments,
            specs: metadata.keySpecs,
            command: name,
            arity: arity
        ).map(\.index)
    }

    @Test func keySpecsOfOtherFamilies() {
        #expect(Self.keys("lmove", "a", "b", "left", "right") == [1, 2])
        #expect(Self.keys("zunionstore", "d", "2", "a", "b", "WEIGHTS", "1", "2") == [1, 3, 4])
        // An unparsable numkeys falls back to Redis's procedure, which finds nothing.
        #expect(Self.keys("zunionstore", "d", "x", "a") == [])
        #expect(Self.keys("xread", "COUNT", "2", "STREAMS", "a", "b", "0", "0") == [4, 5])
        #expect(Self.keys("xreadgroup", "GROUP", "g", "c", "STREAMS", "a", "0") == [5])
        #expect(Self.keys("eval", "s", "2", "a", "b", "x") == [3, 4])
        #expect(Self.keys("eval", "s", "0") == [])
        #expect(Self.keys("blmpop", "0", "2", "a", "b", "LEFT") == [3, 4])
        #expect(Self.keys("sort", "k", "BY", "store", "STORE", "d") == [1, 5])
        #expect(Self.keys("sort_ro", "k", "BY", "x") == [1])
        #expect(Self.keys("migrate", "h", "p", "", "0", "5", "AUTH", "keys", "KEYS", "a", "b") == [9, 10])
        #expect(Self.keys("migrate", "h", "p", "k", "0", "5") == [3])
        #expect(Self.keys("georadius", "k", "0", "0", "1", "km", "STORE", "d") == [1, 7])
        #expect(Self.keys("bitfield", "k", "GET", "u8", "0") == [1])
        #expect(Self.keys("smove", "a", "b", "m") == [1, 2])
    }

    @Test func atoiMatchesC() {
        func atoi(_ s: String) -> Int { KeyFinder.atoi([ByteBuffer(string: s)], 0) }
        #expect(atoi("12") == 12)
        #expect(atoi("  -3x") == -3)
        #expect(atoi("x") == 0)
        #expect(atoi("+7") == 7)
        #expect(atoi("") == 0)
    }
}
