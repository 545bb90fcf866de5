import NIOCore
import SwiftletRESP
import Testing

@testable import SwiftletCLI

/// The help table from a recorded COMMAND DOCS reply; expected texts are redis-cli 7.0.15's against the same
/// redis-server.
struct CommandHelpTests {
    let help = CommandHelp(docs: CommandDocsFixture.reply)!

    static let setParameters =
        "key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds"
        + "|KEEPTTL]"

    @Test func entriesAreSortedWithSubcommandsAndGroups() {
        let names = self.help.entries.map(\.fullName)
        #expect(names.first == "@server")
        #expect(names.contains("@string"))
        #expect(names.contains("CONFIG GET"))
        #expect(names.contains("CONFIG RESETSTAT"))
        #expect(names == names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        #expect(names.filter { $0.hasPrefix("@") }.count == 2)
    }

    @Test func parametersFollowRedisCLI() {
        let set = self.help.entries.first { $0.fullName == "SET" }
        #expect(set?.parameters == Self.setParameters)
        #expect(self.help.entries.first { $0.fullName == "CONFIG GET" }?.parameters == "parameter [parameter ...]")
        #expect(
            self.help.entries.first { $0.fullName == "CONFIG SET" }?.parameters
                == "parameter value [parameter value ...]"
        )
        #expect(self.help.entries.first { $0.fullName == "CONFIG" }?.parameters == "")
    }

    @Test func helpLayoutIsRedisCLIs() {
        let expected =
            "\r\n  \u{1b}[1mSET\u{1b}[0m \u{1b}[90m\(Self.setParameters)\u{1b}[0m\r\n"
            + "  \u{1b}[33msummary:\u{1b}[0m Set the string value of a key\r\n"
            + "  \u{1b}[33msince:\u{1b}[0m 1.0.0\r\n"
            + "  \u{1b}[33mgroup:\u{1b}[0m string\r\n\r\n"
        #expect(self.help.help(["set"]) == expected)
        #expect(self.help.help(["SeT"]) == expected)
        let configGet =
            "\r\n  \u{1b}[1mCONFIG GET\u{1b}[0m \u{1b}[90mparameter [parameter ...]\u{1b}[0m\r\n"
            + "  \u{1b}[33msummary:\u{1b}[0m Get the values of configuration parameters\r\n"
            + "  \u{1b}[33msince:\u{1b}[0m 2.0.0\r\n"
            + "  \u{1b}[33mgroup:\u{1b}[0m server\r\n\r\n"
        #expect(self.help.help(["config", "get"]) == configGet)
        // `help config` lists the container and every subcommand.
        #expect(self.help.help(["config"]).ranges(of: "summary:").count == 6)
        #expect(self.help.help(["nosuch"]) == "\r\n")
    }

    @Test func groupHelpOmitsTheGroupLine() {
        let text = self.help.help(["@string"])
        #expect(text.hasPrefix("\r\n  \u{1b}[1mGET\u{1b}[0m \u{1b}[90mkey\u{1b}[0m\r\n"))
        #expect(text.contains("\u{1b}[1mSET\u{1b}[0m"))
        #expect(!text.contains("group:"))
        #expect(!text.contains("CONFIG"))
    }

    @Test func completionCyclesThroughMatchingNames() {
        #expect(self.help.completions(for: "s") == ["SET"])
        #expect(self.help.completions(for: "config g") == ["CONFIG GET"])
        #expect(self.help.completions(for: "CONFIG RE") == ["CONFIG RESETSTAT", "CONFIG REWRITE"])
        #expect(self.help.completions(for: "x").isEmpty)
        #expect(self.help.completions(for: "help @s") == ["help @server", "help @string"])
        #expect(self.help.completions(for: "help  ge") == ["help  GET"])
        // Groups only after `help `.
        #expect(self.help.completions(for: "@").isEmpty)
    }

    @Test(arguments: [
        ("set", " " + setParameters),
        ("set ", setParameters),
        (
            "set k",
            " value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]"
        ),
        (
            "set k v",
            " [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]"
        ),
        (
            "set k v nx ",
            "[NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]"
        ),
        ("config get", " parameter [parameter ...]"),
        ("config", " "),
        ("get k", " "),
    ])
    func hintsShrinkAsArgumentsAreTyped(line: String, hint: String) {
        #expect(self.help.hint(for: line) == hint)
    }

    @Test func noHintForUnknownOrEmptyOrUnbalanced() {
        #expect(self.help.hint(for: "") == nil)
        #expect(self.help.hint(for: "  ") == nil)
        #expect(self.help.hint(for: "se") == nil)
        #expect(self.help.hint(for: "set \"k") == nil)
    }

    @Test func aReplyThatIsNotATableGivesNoHelp() {
        #expect(CommandHelp(docs: .error(ByteBuffer(string: "ERR unknown subcommand 'DOCS'"))) == nil)
        #expect(CommandHelp(docs: .map([]))?.entries.isEmpty == true)
    }

    @Test func genericHelpNamesTheTool() {
        let text = CommandHelp.genericHelp(version: "7.0.15")
        #expect(text.hasPrefix("swiftlet-cli 7.0.15\nTo get help about Redis commands type:\n"))
        #expect(text.hasSuffix("      \":set nohints\" disable online hints\n"))
    }
}

/// A reply of redis-server 7.0.15 to `COMMAND DOCS get set config` (RESP2), recorded byte for byte.
enum CommandDocsFixture {
    static let text = [
        "*6\r\n$3\r\nget\r\n*10\r\n$7\r\nsummary\r\n$22\r\nGet the value of a key\r\n$5\r\nsince\r\n$5\r\n",
        "1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n",
        "*6\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n$3\r\n",
        "set\r\n*12\r\n$7\r\nsummary\r\n$29\r\nSet the string value of a key\r\n$5\r\nsince\r\n$5\r\n",
        "1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$7\r\nhistory\r\n*4\r\n",
        "*2\r\n$6\r\n2.6.12\r\n$44\r\nAdded the `EX`, `PX`, `NX` and `XX` options.\r\n*2\r\n$5\r\n6.0.0\r\n",
        "$27\r\nAdded the `KEEPTTL` option.\r\n*2\r\n$5\r\n6.2.0\r\n$42\r\n",
        "Added the `GET`, `EXAT` and `PXAT` option.\r\n*2\r\n$5\r\n7.0.0\r\n$55\r\n",
        "Allowed the `NX` and `GET` options to be used together.\r\n$9\r\narguments\r\n*5\r\n*6\r\n$4\r\n",
        "name\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n*4\r\n$4\r\nname\r\n",
        "$5\r\nvalue\r\n$4\r\ntype\r\n$6\r\nstring\r\n*10\r\n$4\r\nname\r\n$9\r\ncondition\r\n$4\r\ntype\r\n",
        "$5\r\noneof\r\n$5\r\nsince\r\n$6\r\n2.6.12\r\n$5\r\nflags\r\n*1\r\n+optional\r\n$9\r\narguments\r\n",
        "*2\r\n*6\r\n$4\r\nname\r\n$2\r\nnx\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nNX\r\n",
        "*6\r\n$4\r\nname\r\n$2\r\nxx\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nXX\r\n",
        "*10\r\n$4\r\nname\r\n$3\r\nget\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nGET\r\n",
        "$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\nflags\r\n*1\r\n+optional\r\n*8\r\n$4\r\nname\r\n$10\r\n",
        "expiration\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nflags\r\n*1\r\n+optional\r\n$9\r\narguments\r\n",
        "*5\r\n*8\r\n$4\r\nname\r\n$7\r\nseconds\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$2\r\n",
        "EX\r\n$5\r\nsince\r\n$6\r\n2.6.12\r\n*8\r\n$4\r\nname\r\n$12\r\nmilliseconds\r\n$4\r\ntype\r\n$7\r\n",
        "integer\r\n$5\r\ntoken\r\n$2\r\nPX\r\n$5\r\nsince\r\n$6\r\n2.6.12\r\n*8\r\n$4\r\nname\r\n$17\r\n",
        "unix-time-seconds\r\n$4\r\ntype\r\n$9\r\nunix-time\r\n$5\r\ntoken\r\n$4\r\nEXAT\r\n$5\r\nsince\r\n",
        "$5\r\n6.2.0\r\n*8\r\n$4\r\nname\r\n$22\r\nunix-time-milliseconds\r\n$4\r\ntype\r\n$9\r\n",
        "unix-time\r\n$5\r\ntoken\r\n$4\r\nPXAT\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n*8\r\n$4\r\nname\r\n$7\r\n",
        "keepttl\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$7\r\nKEEPTTL\r\n$5\r\nsince\r\n$5\r\n",
        "6.0.0\r\n$6\r\nconfig\r\n*10\r\n$7\r\nsummary\r\n$45\r\n",
        "A container for server configuration commands\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$6\r\n",
        "server\r\n$10\r\ncomplexity\r\n$22\r\nDepends on subcommand.\r\n$11\r\nsubcommands\r\n*10\r\n$16\r\n",
        "config|resetstat\r\n*8\r\n$7\r\nsummary\r\n$32\r\nReset the stats returned by INFO\r\n$5\r\n",
        "since\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$11\r\n",
        "config|help\r\n*8\r\n$7\r\nsummary\r\n$49\r\nShow helpful text about the different subcommands\r\n",
        "$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n",
        "$10\r\nconfig|get\r\n*12\r\n$7\r\nsummary\r\n$42\r\nGet the values of configuration parameters\r\n",
        "$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$62\r\n",
        "O(N) when N is the number of configuration parameters provided\r\n$7\r\nhistory\r\n*1\r\n*2\r\n",
        "$5\r\n7.0.0\r\n$65\r\nAdded the ability to pass multiple pattern parameters in one call\r\n$9\r\n",
        "arguments\r\n*1\r\n*8\r\n$4\r\nname\r\n$9\r\nparameter\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\n",
        "flags\r\n*1\r\n+multiple\r\n$9\r\narguments\r\n*1\r\n*4\r\n$4\r\nname\r\n$9\r\nparameter\r\n$4\r\n",
        "type\r\n$6\r\nstring\r\n$14\r\nconfig|rewrite\r\n*8\r\n$7\r\nsummary\r\n$63\r\n",
        "Rewrite the configuration file with the in memory configuration\r\n$5\r\nsince\r\n$5\r\n2.8.0\r\n",
        "$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$10\r\nconfig|set\r\n*12\r\n$7\r\n",
        "summary\r\n$48\r\nSet configuration parameters to the given values\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n",
        "$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$62\r\n",
        "O(N) when N is the number of configuration parameters provided\r\n$7\r\nhistory\r\n*1\r\n*2\r\n",
        "$5\r\n7.0.0\r\n$57\r\nAdded the ability to set multiple parameters in one call.\r\n$9\r\n",
        "arguments\r\n*1\r\n*8\r\n$4\r\nname\r\n$15\r\nparameter_value\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\n",
        "flags\r\n*1\r\n+multiple\r\n$9\r\narguments\r\n*2\r\n*4\r\n$4\r\nname\r\n$9\r\nparameter\r\n$4\r\n",
        "type\r\n$6\r\nstring\r\n*4\r\n$4\r\nname\r\n$5\r\nvalue\r\n$4\r\ntype\r\n$6\r\nstring\r\n",
    ].joined()

    /// The reply decoded.
    static var reply: RESPValue {
        var buffer = ByteBuffer(string: text)
        // The recorded bytes are one complete reply.
        return try! RESPValueDecoder().decode(&buffer)!
    }
}
