import Foundation
import Testing

@testable import SwiftletConfig

struct ConfigTableTests {
    /// A store whose `dir` is simulated, so tests never chdir.
    static func makeStore() -> ConfigStore {
        ConfigStore(workingDirectory: .simulated("/data"))
    }

    // MARK: - Table

    @Test func tableHasEveryRedisParameter() {
        let parameters = ConfigTable.parameters
        #expect(parameters.count == 178)
        #expect(parameters.filter { $0.flags.contains(.hidden) }.count == 5)
        var names = Set<String>()
        for parameter in parameters {
            for name in [parameter.name, parameter.alias].compactMap({ $0 }) {
                #expect(name == name.lowercased())
                #expect(names.insert(name).inserted, "\(name) twice")
            }
        }
        #expect(names.count == 178 + 19)
    }

    @Test func getStarMatchesRedisSnapshot() {
        let store = Self.makeStore()
        let ours = store.getMatching(Array("*".utf8))
        #expect(ours.count == Self.defaultSnapshot.count)
        let byName = Dictionary(ours.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
        for (name, value) in Self.defaultSnapshot {
            #expect(byName[name] == value, "\(name)")
        }
    }

    /// docs/CONFIG.md's long table says, for every parameter, whether Swiftlet honours it; that column is written by
    /// hand, so this keeps it equal to `ConfigParameter.support` (it had drifted: parameters the server used were
    /// still listed as "stored only").
    @Test func configDocumentListsEveryParameterWithItsSupport() throws {
        let docs = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/CONFIG.md")
        let text = try String(contentsOf: docs, encoding: .utf8)
        let table = try #require(text.components(separatedBy: "## All parameters").last)
        var documented: [String: String] = [:]
        for line in table.split(separator: "\n") where line.hasPrefix("| `") {
            let columns = line.split(separator: "|", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard columns.count > 5, let name = columns[1].split(separator: "`").first else { continue }
            documented[String(name)] = columns[5].replacingOccurrences(of: "*", with: "")
        }
        for parameter in ConfigTable.parameters {
            let expected: String
            switch parameter.support {
            case .honoured: expected = "honoured"
            case .planned: expected = "planned"
            case .storedOnly: expected = "stored only"
            }
            #expect(documented[parameter.name] == expected, "\(parameter.name) in docs/CONFIG.md")
        }
        #expect(documented.count == ConfigTable.parameters.count)
    }

    // MARK: - CONFIG GET

    @Test func getIsCaseInsensitiveAndKnowsAliases() {
        let store = Self.makeStore()
        #expect(store.get("MAXMEMORY") == "0")
        #expect(store.get("hash-max-ziplist-entries") == "512")
        #expect(store.get("slaveof") == "")
        #expect(store.get("nosuch") == nil)
        #expect(store.get("rdb-key-save-delay") == "0")
    }

    @Test func getMatchingExactNameKeepsTheCallersSpelling() {
        let store = Self.makeStore()
        #expect(store.getMatching(Array("MaxMemory".utf8)).map(\.name) == ["MaxMemory"])
        #expect(store.getMatching(Array("nosuch".utf8)).isEmpty)
        // Hidden parameters need the exact name.
        #expect(store.getMatching(Array("rdb-key-save-delay".utf8)).map(\.value) == ["0"])
        #expect(store.getMatching(Array("rdb-key-*".utf8)).isEmpty)
    }

    /// `CONFIG GET *max-*-entries*` on redis-server 7.0.15 lists both the listpack names and their ziplist aliases.
    @Test func getMatchingGlobsOverNamesAndAliases() {
        let store = Self.makeStore()
        let names = Set(store.getMatching(Array("*max-*-entries*".utf8)).map(\.name))
        #expect(
            names == [
                "zset-max-listpack-entries", "set-max-intset-entries", "hash-max-ziplist-entries",
                "hash-max-listpack-entries", "zset-max-ziplist-entries",
            ]
        )
        let slave = Set(store.getMatching(Array("*SLAVE*".utf8)).map(\.name))
        #expect(slave.count == 13)
        #expect(slave.contains("slaveof"))
    }

    /// `CONFIG GET MaxMemory maxmemory` replies once; `CONFIG GET slaveof replicaof` replies twice.
    @Test func getMatchingSeveralPatternsDeduplicatesLikeRedis() {
        let store = Self.makeStore()
        let once = store.getMatching(patterns: [Array("MaxMemory".utf8), Array("maxmemory".utf8)])
        #expect(once.map(\.name) == ["MaxMemory"])
        let both = store.getMatching(patterns: [Array("slaveof".utf8), Array("replicaof".utf8)])
        #expect(both.map(\.name) == ["slaveof", "replicaof"])
        let mixed = store.getMatching(patterns: [Array("maxmemory".utf8), Array("maxmemory*".utf8)])
        #expect(mixed.count == 5)
    }

    // MARK: - CONFIG SET

    @Test func setMatchesRedisReplies() throws {
        for c in Self.setCases {
            let store = Self.makeStore()
            try store.load(configText: "port 7780\nsave \"\"")
            var pairs: [(String, String)] = []
            for i in stride(from: 0, to: c.args.count, by: 2) { pairs.append((c.args[i], c.args[i + 1])) }
            var reply = "OK"
            do {
                try store.set(pairs)
            } catch {
                reply = "-" + error.message
            }
            #expect(reply == c.reply, "\(c.args)")
            for (i, name) in stride(from: 0, to: c.args.count, by: 2).map({ c.args[$0] }).enumerated() {
                #expect(store.get(name) == c.after[i], "\(c.args) then GET \(name)")
            }
        }
    }

    @Test func setIsAllOrNothing() {
        let store = Self.makeStore()
        #expect(throws: ConfigError.self) { try store.set([("maxmemory", "1mb"), ("hz", "abc")]) }
        #expect(store.get("maxmemory") == "0")
        try? store.set([("maxmemory", "1mb"), ("maxmemory-policy", "allkeys-lru")])
        #expect(store.maxMemory == 1_048_576)
        #expect(store.maxMemoryPolicy == "allkeys-lru")
        #expect(!store.sharesIntegers)
    }

    @Test func protectedConfigsFollowEnableProtectedConfigs() throws {
        let store = Self.makeStore()
        try store.setFromConfigFile("enable-protected-configs", ["local"])
        #expect(throws: ConfigError.self) { try store.set([("dir", "/elsewhere")]) }
        try store.set([("dir", "/elsewhere")], clientIsLocal: true)
        #expect(store.get("dir") == "/elsewhere")
        #expect(store.dir == "/elsewhere")
    }

    @Test func observersSeeChangesOnly() throws {
        let store = Self.makeStore()
        var seen: [String] = []
        store.observers["maxmemory"] = { seen.append($0) }
        store.observers["hz"] = { seen.append("hz=" + $0) }
        try store.set([("maxmemory", "1kb")])
        try store.set([("maxmemory", "1024")])
        try store.set([("hz", "1000")])
        #expect(seen == ["1024", "hz=500"])
    }

    @Test func applierRefusalRestoresEverything() throws {
        let store = Self.makeStore()
        var applied: [String] = []
        store.appliers["maxmemory"] = {
            applied.append($0)
            return nil
        }
        store.appliers["port"] = { $0 == "80" ? "Unable to listen on this port. Check server logs." : nil }
        #expect(
            throws: ConfigError(
                "ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port. Check server logs."
            )
        ) {
            try store.set([("maxmemory", "5"), ("port", "80")])
        }
        #expect(store.get("maxmemory") == "0")
        #expect(store.port == 6379)
        #expect(applied == ["5", "0"])
    }

    // MARK: - Config file

    @Test func fatalConfigErrorsMatchRedis() {
        let options = ConfigFileParser.commandLineOptions(["redis.conf", "--port", "7790", "--save", ""]).options
        for c in Self.fatalConfigCases {
            let store = Self.makeStore()
            var stderr = "(loaded)"
            do {
                try store.load(configText: c.file + "\n\n" + options)
            } catch {
                stderr = error.message
            }
            #expect(stderr == c.stderr, "\(c.file.debugDescription)")
        }
    }

    @Test func configFileDirectives() throws {
        let store = Self.makeStore()
        try store.load(
            configText: """
                # comment
                  PORT   "7000"
                save 10 1 20 2
                save 30 3
                maxmemory 1gb
                hz 1000
                list-max-ziplist-entries 5
                client-output-buffer-limit "normal 1mb 2mb 3 pubsub 1 2 3"
                requirepass 'a b'
                daemonize yes
                bind 127.0.0.1 ::1
                """
        )
        #expect(store.port == 7000)
        #expect(store.get("save") == "10 1 20 2 30 3")
        #expect(store.maxMemory == 1 << 30)
        #expect(store.hz == 500)
        #expect(
            store.get("client-output-buffer-limit")
                == "normal 1048576 2097152 3 slave 268435456 67108864 60 pubsub 1 2 3"
        )
        #expect(store.requirePass == "a b")
        #expect(store.get("daemonize") == "yes")
        #expect(store.bindAddresses == ["127.0.0.1", "::1"])
        #expect(store.saveRules.map(\.seconds) == [10, 20, 30])
    }

    @Test func saveEmptyClearsDefaults() throws {
        let store = Self.makeStore()
        try store.load(configText: "save 10 1\nsave \"\"\nsave 5 5\n")
        #expect(store.get("save") == "5 5")
    }

    @Test func parseSplitsLikeSdssplitargs() throws {
        let text = "# c\n\n  Port 1 2\n" + #"x "a\x41\n" 'it\'s' a"b c""#
        let directives = try ConfigFileParser.parse(text)
        #expect(directives.count == 2)
        #expect(directives[0].line == 3 && directives[0].name == "port" && directives[0].args == ["1", "2"])
        #expect(directives[1].args == ["aA\n", "it's", "ab c"])
        #expect(ConfigFileParser.splitArguments("port \"abc") == nil)
        #expect(ConfigFileParser.splitArguments("port \"a\"x") == nil)
        #expect(ConfigFileParser.splitArguments("   ") == [])
        #expect(throws: ConfigError.self) { try ConfigFileParser.parse("ok 1\nport 'x") }
    }

    @Test func commandLineOptionsLikeRedisServer() {
        let parsed = ConfigFileParser.commandLineOptions([
            "/etc/redis.conf", "--port", "6380", "--save", "--appendonly", "yes",
        ])
        #expect(parsed.configFile == "/etc/redis.conf")
        #expect(parsed.options == "port \"6380\" \nsave \"\"\nappendonly \"yes\" ")
        let inline = ConfigFileParser.commandLineOptions(["--port 6380", "--bind", "a b", "-"])
        #expect(inline.configFile == nil)
        #expect(inline.readStandardInput)
        #expect(inline.options == "port 6380 \nbind \"a b\" ")
    }

    // MARK: - CONFIG REWRITE

    /// CONFIG REWRITE of an empty file on redis-server 7.0.15 after these CONFIG SETs (and `--port 7791`), without
    /// its `# Generated by CONFIG REWRITE` and `user` lines, sorted.
    @Test func rewriteLinesMatchRedis() throws {
        let store = Self.makeStore()
        try store.setFromConfigFile("port", ["7791"])
        let sets = [
            ("maxmemory", "18446744073709551615"), ("save", "10 1 20 2"),
            ("client-output-buffer-limit", "pubsub 1gb 3kb 0"),
            ("latency-tracking-info-percentiles", "1.5 99.99"), ("masteruser", ""), ("cluster-announce-ip", "1.2.3.4"),
            ("ignore-warnings", "ARM64-COW-BUG"), ("proc-title-template", "{title}  {port}"),
            ("slowlog-log-slower-than", "-1"), ("oom-score-adj", "relative"), ("replica-ignore-maxmemory", "no"),
            ("maxmemory-clients", "1025"),
        ]
        for pair in sets { try store.set([pair]) }
        #expect(
            store.rewriteLines().sorted() == [
                "client-output-buffer-limit pubsub 1gb 3kb 0", "cluster-announce-ip \"1.2.3.4\"", "dir \"/data\"",
                "ignore-warnings \"ARM64-COW-BUG\"", "latency-tracking-info-percentiles 1.5 99.99", "maxmemory -1",
                "maxmemory-clients 1025", "oom-score-adj yes", "port 7791", "proc-title-template \"{title}  {port}\"",
                "replica-ignore-maxmemory no", "save 10 1", "save 20 2", "slowlog-log-slower-than -1",
            ]
        )
    }

    @Test func rewriteOfDefaults() {
        let store = Self.makeStore()
        #expect(
            store.rewriteLines() == [
                "dir \"/data\"", "save 3600 1", "save 300 100", "save 60 10000",
                "latency-tracking-info-percentiles 50 99 99.9",
            ]
        )
    }

    // MARK: - Typed getters

    @Test func typedGettersReadDefaults() {
        let store = Self.makeStore()
        #expect(store.port == 6379)
        #expect(store.bindAddresses == ["*", "-::*"])
        #expect(store.protectedMode)
        #expect(store.maxMemory == 0)
        #expect(store.maxClients == 10_000)
        #expect(store.protoMaxBulkLen == 512 << 20)
        #expect(store.clientQueryBufferLimit == 1 << 30)
        #expect(store.hz == 10)
        #expect(store.databases == 16)
        #expect(store.timeout == 0)
        #expect(store.dir == "/data")
        #expect(store.logLevel == "notice")
        #expect(store.logFile == "")
        #expect(store.requirePass == "")
        #expect(store.dbFilename == "dump.rdb")
        #expect(!store.appendOnly)
        #expect(store.notifyKeyspaceEvents == 0)
        #expect(store.sharesIntegers)
        #expect(store.isSensitive("requirepass"))
        #expect(!store.isSensitive("port"))
        #expect(store.integer("hash-max-ziplist-entries") == 512)
        #expect(store.integer("loglevel") == nil)
    }
}
