import NIOCore
import SwiftletRESP
import Testing

@testable import SwiftletCLI

private func bulk(_ bytes: [UInt8]) -> RESPValue { .bulkString(ByteBuffer(bytes: bytes)) }

/// The special modes' pure parts; expected texts are redis-cli 7.0.15's.
struct ModeOptionsTests {
    @Test func modeFlags() throws {
        let options = try CLIOptions.parse(
            ["--pipe", "--pipe-timeout", "5", "--scan", "--pattern", "k*", "--bigkeys", "--memkeys-samples", "3"],
            stdoutIsTerminal: false
        )
        #expect(options.pipe && options.scan && options.bigKeys && options.memKeys)
        #expect(options.pipeTimeout == 5)
        #expect(options.pattern == Array("k*".utf8))
        #expect(options.memkeysSamples == 3)
        let latency = try CLIOptions.parse(
            ["--latency-history", "--latency-dist", "--mono", "--stat"],
            stdoutIsTerminal: false
        )
        #expect(latency.latency && latency.latencyHistory && latency.latencyDistribution && latency.monochrome)
        #expect(latency.stat)
        let eval = try CLIOptions.parse(["--eval", "f.lua", "k1", ",", "a"], stdoutIsTerminal: false)
        #expect(eval.evalFile == "f.lua")
        #expect(eval.command == ["k1", ",", "a"])
    }

    @Test func quotedPattern() throws {
        let options = try CLIOptions.parse(["--quoted-pattern", "\"a\\x00b*\""], stdoutIsTerminal: false)
        #expect(options.pattern == [97, 0, 98, 42])
        let bad = #expect(throws: CLIExit.self) {
            try CLIOptions.parse(["--quoted-pattern", "\"a"], stdoutIsTerminal: false)
        }
        #expect(bad?.stderr == "Invalid quoted string specified for --quoted-pattern.\n")
        // redis-cli 7.0 has no --count.
        #expect(throws: CLIExit.self) { try CLIOptions.parse(["--scan", "--count", "5"], stdoutIsTerminal: false) }
    }

    @Test func evalWords() {
        let words = ["k1", "k2", ",", "a", ","].map { Array($0.utf8) }
        let split = Session.splitEvalWords(words)
        #expect(split.keys == [Array("k1".utf8), Array("k2".utf8)])
        #expect(split.arguments == [Array("a".utf8), Array(",".utf8)])
        #expect(Session.splitEvalWords([Array("k".utf8)]).arguments.isEmpty)
    }
}

struct PipeReplyCounterTests {
    @Test func countsRepliesAndErrors() {
        let marker = [UInt8](repeating: 7, count: 20)
        var counter = PipeReplyCounter(marker: marker)
        #expect(counter.count(.simpleString(ByteBuffer(string: "OK"))) == nil)
        #expect(counter.count(.error(ByteBuffer(string: "ERR bad"))) == Array("ERR bad\n".utf8))
        // The marker's bytes before the ECHO was sent are an ordinary reply.
        #expect(counter.count(bulk(marker)) == nil)
        #expect(!counter.done)
        counter.markerSent = true
        #expect(counter.count(bulk([UInt8](repeating: 8, count: 20))) == nil)
        #expect(!counter.done)
        #expect(counter.count(bulk(marker)) == nil)
        #expect(counter.done)
        #expect(counter.summary == "errors: 1, replies: 4\n")
    }

    @Test func markerCommand() {
        let counter = PipeReplyCounter(marker: Array("01234567890123456789".utf8))
        #expect(counter.markerCommand == Array("\r\n*2\r\n$4\r\nECHO\r\n$20\r\n01234567890123456789\r\n".utf8))
        #expect(PipeReplyCounter.randomMarker().count == 20)
    }
}

struct BigKeysReportTests {
    @Test func report() {
        var report = BigKeysReport(memory: false)
        let list = report.typeIndex(named: "list")!
        let string = report.typeIndex(named: "string")!
        #expect(report.typeIndex(named: "none") == nil)
        #expect(report.sizeCommand(type: list, key: Array("l".utf8), samples: 0) == [Array("LLEN".utf8), [108]])
        #expect(
            report.add(key: Array("l".utf8), type: list, size: 3, percent: 0)
                == "[00.00%] Biggest list   found so far '\"l\"' with 3 items\n"
        )
        #expect(
            report.add(key: Array("s\n".utf8), type: string, size: 5, percent: 50)
                == "[50.00%] Biggest string found so far '\"s\\n\"' with 5 bytes\n"
        )
        #expect(report.add(key: Array("t".utf8), type: string, size: 1, percent: 66.666) == "")
        let module = report.typeIndex(named: "mytype")!
        #expect(report.sizeCommand(type: module, key: [1], samples: 0) == nil)
        #expect(
            report.summary() == """

                -------- summary -------

                Sampled 3 keys in the keyspace!
                Total key length in bytes is 4 (avg len 1.33)

                Biggest   list found '"l"' has 3 items
                Biggest string found '"s\\n"' has 5 bytes

                1 lists with 3 items (33.33% of keys, avg size 3.00)
                0 hashs with 0 fields (00.00% of keys, avg size 0.00)
                2 strings with 6 bytes (66.67% of keys, avg size 3.00)
                0 streams with 0 entries (00.00% of keys, avg size 0.00)
                0 sets with 0 members (00.00% of keys, avg size 0.00)
                0 zsets with 0 members (00.00% of keys, avg size 0.00)
                0 mytypes with 0 ? (00.00% of keys, avg size 0.00)

                """
        )
    }

    @Test(arguments: [
        (0, ["hash", "list", "string", "stream", "set", "zset"]),
        (1, ["string", "list", "hash", "stream", "set", "zset"]),
        (2, ["list", "hash", "string", "stream", "set", "zset"]),
        (5, ["list", "hash", "string", "stream", "set", "zset"]),
    ])
    func summaryOrderFollowsTheLookups(lookups: Int, order: [String]) {
        // As redis-cli 7.0.15 prints an empty database, one key, two keys, ...
        var report = BigKeysReport(memory: false)
        for _ in 0..<lookups { _ = report.typeIndex(named: "none") }
        let names = report.summary().split(separator: "\n").compactMap { line in
            line.contains("avg size") ? line.split(separator: " ")[1].dropLast() : nil
        }
        #expect(names.map(String.init) == order)
    }

    @Test func memoryUnitsAndSamples() {
        var report = BigKeysReport(memory: true)
        let hash = report.typeIndex(named: "hash")!
        #expect(
            report.sizeCommand(type: hash, key: [104], samples: 5)
                == ["MEMORY", "USAGE", "h", "SAMPLES", "5"].map { Array($0.utf8) }
        )
        #expect(
            report.add(key: [104], type: hash, size: 72, percent: 100)
                == "[100.00%] Biggest hash   found so far '\"h\"' with 72 bytes\n"
        )
        #expect(CFormat.percent(.nan) == "  nan")
    }
}

struct LatencyAndStatTests {
    @Test func latencyLines() {
        var stats = LatencyStats()
        for sample in [2, 0, 1] { stats.add(Int64(sample)) }
        #expect(stats.line(.raw) == "0 2 1.00 3\n")
        #expect(stats.line(.csv) == "0,2,1.00,3\n")
        #expect(stats.line(.json) == "{\"min\": 0, \"max\": 2, \"avg\": 1.00, \"count\": 3}\n")
        #expect(stats.line(.standard) == "min: 0, max: 2, avg: 1.00 (3 samples)")
        #expect(stats.line(.quotedJSON) == "")
    }

    @Test func distribution() {
        var distribution = LatencyDistribution(palette: LatencyDistribution.monoPalette)
        distribution.add(5)
        distribution.add(1500)
        distribution.add(90_000_000)
        // Each bucket holds a third: ceil(1/3 * 12) = 4, the fifth grey (237).
        let line = distribution.spectrum(total: 3)
        #expect(line.hasPrefix("\u{1b}[38;5;0m\u{1b}[48;5;237m.\u{1b}[48;5;0m-"))
        #expect(line.hasSuffix("\u{1b}[48;5;237m?\u{1b}[0m\n"))
        #expect(distribution.counts.allSatisfy { $0 == 0 })
        #expect(distribution.legend().contains("From 0 to 100%: \u{1b}[48;5;0m "))
    }

    @Test func statLine() {
        let info = Array(
            ("# Server\r\nconnected_clients:3\r\nblocked_clients:1\r\nused_memory:2097152\r\n"
                + "total_connections_received:12\r\ntotal_commands_processed:100\r\nloading:0\r\n"
                + "bgsave_in_progress:1\r\naof_rewrite_in_progress:0\r\ndb0:keys=5,expires=0\r\ndb3:keys=2,expires=1\r\n")
                .utf8
        )
        var report = StatReport()
        let first = report.line(info: info)
        #expect(first.hasPrefix(StatReport.header))
        #expect(
            first.dropFirst(StatReport.header.count)
                == "7          2.00M    3       1       100 (+0)            12          SAVE\n"
        )
        #expect(StatReport.bytesToHuman(1023) == "1023B")
        #expect(StatReport.bytesToHuman(1536) == "1.50K")
        #expect(StatReport.longField(info, "missing") == nil)
    }
}
