import Testing

@testable import SwiftletCLI

/// `--hotkeys`, `--intrinsic-latency`, `--lru-test` and `--quoted-input`; texts are redis-cli 7.0.15's.
struct ExtraModeTests {
    @Test func options() throws {
        let options = try CLIOptions.parse(
            ["--hotkeys", "--intrinsic-latency", "5", "--lru-test", "100", "--quoted-input"],
            stdoutIsTerminal: false
        )
        #expect(options.hotKeys && options.quotedInput)
        #expect(options.intrinsicLatencySeconds == 5 && options.lruTestKeys == 100)
        let cluster = #expect(throws: CLIExit.self) { try CLIOptions.parse(["-c"], stdoutIsTerminal: false) }
        #expect(cluster?.stderr == "swiftlet-cli: cluster mode (-c) is not supported\n")
    }

    @Test func hotKeysPoolKeepsTheHottest() {
        var pool = HotKeysPool()
        let cold = pool.offer(key: Array("cold".utf8), frequency: 0)
        #expect(!cold)
        for counter in 1...20 {
            let entered = pool.offer(key: Array("k\(counter)".utf8), frequency: UInt64(counter))
            #expect(entered)
        }
        // The 16 hottest (5...20) stay, hottest first in the summary.
        let lines = pool.summaryLines().split(separator: "\n")
        #expect(lines.count == 16)
        #expect(lines.first == "hot key found with counter: 20\tkeyname: \"k20\"")
        #expect(lines.last == "hot key found with counter: 5\tkeyname: \"k5\"")
        let tooCold = pool.offer(key: Array("k".utf8), frequency: 5)
        #expect(!tooCold)
        let line = pool.progressLine(slotOf: [0x22, 0xff], frequency: 9, percent: 12.5)
        #expect(line == "[12.50%] Hot key '\"\\\"\\xff\"' found so far with counter 9\n")
    }

    @Test func intrinsicLatencyTexts() {
        #expect(IntrinsicLatency.maxLine(17) == "Max latency so far: 17 microseconds.\n")
        #expect(
            IntrinsicLatency.summary(runs: 4, runTime: 1_000_000, maxLatency: 500_000)
                == "\n4 total runs (avg latency: 250000.0000 microseconds / 250000000.00 nanoseconds per run).\n"
                + "Worst run took 2x longer than the average latency.\n"
        )
        #expect(IntrinsicLatency.computeSomethingFast() == IntrinsicLatency.computeSomethingFast())
    }

    @Test func lruTestKeysAndLine() {
        #expect(LRUTest.powerLaw(min: 1, max: 1000, alpha: 6.2, uniform: 0) == 1000)
        // As in redis-cli, a draw of exactly 1 (`rand() == RAND_MAX`) rounds past the range to 0 or 1.
        #expect((0...1).contains(LRUTest.powerLaw(min: 1, max: 1000, alpha: 6.2, uniform: 1)))
        // 80-20: most draws land on the first fifth of the numbers.
        let draws = (0..<1000).map { LRUTest.powerLaw(min: 1, max: 1000, alpha: 6.2, uniform: Double($0) / 1000) }
        #expect(draws.allSatisfy { (1...1000).contains($0) })
        #expect(draws.filter { $0 <= 200 }.count > 700)
        #expect(LRUTest.key(keys: 10, uniform: 0.999) == Array("lru:1".utf8))
        #expect(LRUTest.statsLine(hits: 3, misses: 1) == "4 Gets/sec | Hits: 3 (75.00%) | Misses: 1 (25.00%)\n")
    }

    /// Key counts redis-cli leaves undefined are refused; the largest count draws without trapping.
    @Test func lruTestKeyCountLimits() throws {
        for value in ["0", "-1", "-2", "-9223372036854775808", "abc"] {
            let error = #expect(throws: CLIExit.self) {
                try CLIOptions.parse(["--lru-test", value], stdoutIsTerminal: false)
            }
            #expect(error?.stderr == "Invalid --lru-test key count '\(value)': it must be 1 or more.\n")
        }
        #expect(try CLIOptions.parse(["--lru-test", "1"], stdoutIsTerminal: false).lruTestKeys == 1)
        let huge = try CLIOptions.parse(["--lru-test", "9223372036854775807"], stdoutIsTerminal: false)
        #expect(huge.lruTestKeys == .max)
        for uniform in [0, 0.5, 1] {
            _ = LRUTest.key(keys: .max, uniform: uniform)
        }
        #expect(LRUTest.powerLaw(min: 1, max: .max, alpha: 6.2, uniform: 0) > 0)
    }

    @Test func helpNamesWhatIsNotSupported() {
        #expect(CLIOptions.usage.contains("Not supported yet: cluster mode (-c), TLS and --ldb.\n"))
        #expect(!CLIOptions.usage.contains("interactive mode"))
    }

    @Test func quotedInput() {
        let words = QuotedInput.unquote([Array("set".utf8), Array(#""a\x00b""#.utf8), Array("'v'".utf8)])
        #expect(words == [Array("set".utf8), [97, 0, 98], [118]])
        #expect(QuotedInput.unquote([Array(#""open"#.utf8)]) == nil)
        #expect(QuotedInput.unquote([Array("two words".utf8)]) == nil)
        #expect(QuotedInput.unquote([[]]) == nil)
    }
}
