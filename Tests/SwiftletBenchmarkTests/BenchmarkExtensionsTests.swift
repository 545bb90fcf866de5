import Foundation
import Testing

@testable import SwiftletBenchmark

/// The options beyond redis-benchmark 7.0 (issue 20): --threads, --duration, --qps, --json, --compare, --rounds.
struct ExtendedOptionsTests {
    private func options(_ arguments: String...) -> BenchmarkOptions? {
        guard case .run(let options) = BenchmarkCommandLine.parse(arguments) else { return nil }
        return options
    }

    @Test func defaults() throws {
        let parsed = try #require(options())
        #expect(parsed.threads == 0 && parsed.duration == nil && parsed.qps == nil && !parsed.json)
        #expect(parsed.compareHost == nil && parsed.rounds == 3)
    }

    @Test func parsesEveryNewOption() throws {
        let parsed = try #require(
            options("--duration", "1.5", "--qps", "500", "--json", "--compare", "::1:6380", "--rounds", "5", "ping")
        )
        #expect(parsed.duration == 1.5 && parsed.qps == 500 && parsed.json && parsed.rounds == 5)
        #expect(parsed.compareHost == "::1" && parsed.comparePort == 6380 && parsed.command == ["ping"])
    }

    @Test(arguments: [
        ["--duration", "0"], ["--duration", "x"], ["--duration", "-2"], ["--duration", "inf"], ["--qps", "0"],
        ["--qps"], ["--compare", "localhost"], ["--compare", ":6379"], ["--compare", "h:70000"], ["--rounds", "0"],
    ])
    func rejectsBadValues(_ arguments: [String]) {
        guard case .exit(let text, let status) = BenchmarkCommandLine.parse(arguments) else {
            Issue.record("expected a usage exit")
            return
        }
        #expect(status == 1 && text.hasPrefix("Invalid option \"\(arguments[0])\" or option argument missing\n"))
    }

    @Test func helpDocumentsThem() {
        for option in ["--threads", "--duration", "--qps", "--json", "--compare", "--rounds", "\"percentiles\""] {
            #expect(BenchmarkCommandLine.usage.contains(option), "\(option)")
        }
    }
}

struct ThreadedBenchmarkTests {
    @Test(arguments: [(10, 3), (7, 7), (2, 5), (0, 4), (100_001, 4)])
    func sharesAddUp(total: Int, parts: Int) {
        let shares = (0..<parts).map { ThreadedBenchmark.share(of: total, part: $0, of: parts) }
        #expect(shares.reduce(0, +) == total)
        #expect((shares.max() ?? 0) - (shares.min() ?? 0) <= 1)
    }

    @Test func threadOptionsSplitClientsAndRequests() {
        var options = BenchmarkOptions()
        options.threads = 4
        options.clients = 10
        options.requests = 1001
        let perThread = ThreadedBenchmark.threadOptions(options, seed: 42)
        #expect(perThread.map(\.clients) == [3, 3, 2, 2])
        #expect(perThread.map(\.requests) == [251, 250, 250, 250])
        #expect(Set(perThread.compactMap(\.seed)).count == 4)
        #expect(perThread.allSatisfy { $0.threads == 0 })
        #expect(ThreadedBenchmark.threadOptions(options, seed: 42) == perThread)
    }

    @Test func noMoreThreadsThanConnections() {
        var options = BenchmarkOptions()
        options.threads = 8
        options.clients = 3
        #expect(ThreadedBenchmark.threadOptions(options, seed: 1).map(\.clients) == [1, 1, 1])
        #expect(ThreadedBenchmark.threadCount(options) == 3)
        // The JSON reports the threads and clients used.
        #expect(BenchmarkJSON(options: options).options.threads == 3)
        options.clients = 0
        #expect(BenchmarkJSON(options: options).options.clients == 1)
    }

    @Test func absurdOutputBuffersAreRefused() {
        let test = BenchmarkTest(title: "SET", request: [UInt8](repeating: 0, count: 1000))
        #expect(throws: BenchmarkError.self) { try test.checkOutputSize(clients: 50, pipeline: 100_000_000) }
        #expect(throws: BenchmarkError.self) { try test.checkOutputSize(clients: 50, pipeline: Int.max) }
        #expect(throws: Never.self) { try test.checkOutputSize(clients: 50, pipeline: 1000) }
    }

    @Test func histogramsMerge() {
        var first = LatencyHistogram()
        var second = LatencyHistogram()
        first.record(microseconds: 100, count: 3)
        second.record(microseconds: 2000, count: 1)
        first.add(second)
        #expect(first.count == 4)
        #expect(first.value(atPercentile: 50) < 200 && first.max >= 2000)
    }
}

struct BenchmarkJSONTests {
    private func report(title: String = "SET", milliseconds: Int = 2000) -> LatencyReport {
        var histogram = LatencyHistogram()
        for value in stride(from: 100, through: 10_000, by: 100) { histogram.record(microseconds: UInt64(value)) }
        return LatencyReport(
            title: title,
            requestsFinished: 100,
            elapsedMilliseconds: milliseconds,
            histogram: histogram,
            clients: 50,
            dataSize: 3,
            keepAlive: 1
        )
    }

    @Test func testSummaryMatchesTheCSV() {
        let test = BenchmarkJSON.Test(report())
        #expect(test.test == "SET" && test.requests == 100 && test.seconds == 2 && test.rps == 50)
        #expect(
            test.latencyMilliseconds
                == .init(avg: 5.052, min: 0.096, p50: 5.007, p95: 9.503, p99: 9.903, max: 10.007)
        )
        #expect(test.percentiles.first == .init(percentile: 0, latencyMilliseconds: 0.103, count: 1))
        #expect(test.percentiles.last?.percentile == 100 && test.percentiles.last?.count == 100)
        #expect(test.percentiles.count == report().percentileSteps.count)
    }

    @Test func lineIsOneObjectThatRoundTrips() throws {
        var options = BenchmarkOptions()
        options.duration = 2
        var json = BenchmarkJSON(options: options)
        json.tests = [.init(report(title: "set \"k\" v")), .init(report(milliseconds: 0))]
        let line = json.line
        #expect(line.hasSuffix("}\n") && !line.dropLast().contains("\n"))
        let decoded = try JSONDecoder().decode(BenchmarkJSON.self, from: Data(line.utf8))
        #expect(decoded == json)
        #expect(decoded.tests[0].test == "set \"k\" v" && decoded.options.duration == 2)
        // 100 requests in 0 ms is an infinite rate: left out rather than written as an invalid number.
        #expect(decoded.tests[1].rps == nil && !line.contains("inf"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["tool", "version", "options", "tests"])
    }
}

struct BenchmarkComparisonTests {
    @Test func median() {
        #expect(BenchmarkComparison.median([3, 1, 2]) == 2)
        #expect(BenchmarkComparison.median([4, 1, 3, 2]) == 2.5)
        #expect(BenchmarkComparison.median([]).isNaN)
    }

    @Test func tableHasARowPerTestWithMediansAndRatios() {
        var comparison = BenchmarkComparison()
        for (title, rps, p50) in [("SET", 200.0, 0.5), ("GET", 300.0, 0.25), ("SET", 100.0, 1.0), ("SET", 400.0, 2.0)] {
            var row = comparison.rows.first { $0.title == title } ?? BenchmarkComparison.Row(title: title)
            row.mainRPS.append(rps)
            row.otherRPS.append(rps / 2)
            row.mainP50.append(p50)
            row.otherP50.append(p50 * 4)
            if let index = comparison.rows.firstIndex(where: { $0.title == title }) {
                comparison.rows[index] = row
            } else {
                comparison.rows.append(row)
            }
        }
        comparison.rows.append(BenchmarkComparison.Row(title: "echo a|b"))
        let lines = comparison.table(main: "127.0.0.1:7000", other: "127.0.0.1:6379", rounds: 3)
            .split(separator: "\n", omittingEmptySubsequences: false)
        #expect(
            lines == [
                "Medians of 3 rounds: main = 127.0.0.1:7000, other = 127.0.0.1:6379", "",
                "| test | main rps | other rps | rps main/other | main p50 ms | other p50 ms | p50 main/other |",
                "|---|---:|---:|---:|---:|---:|---:|",
                "| SET | 200.00 | 100.00 | 2.00 | 1.000 | 4.000 | 0.25 |",
                "| GET | 300.00 | 150.00 | 2.00 | 0.250 | 1.000 | 0.25 |",
                "| echo a\\|b | nan | nan | nan | nan | nan | nan |", "",
            ]
        )
    }

    @Test func recordGroupsByTitle() {
        var histogram = LatencyHistogram()
        histogram.record(microseconds: 1000)
        let report = LatencyReport(
            title: "PING_MBULK",
            requestsFinished: 10,
            elapsedMilliseconds: 1,
            histogram: histogram,
            clients: 1,
            dataSize: 3,
            keepAlive: 1
        )
        var comparison = BenchmarkComparison()
        comparison.record(report, main: true)
        comparison.record(report, main: false)
        comparison.record(report, main: true)
        #expect(comparison.rows.count == 1)
        #expect(comparison.rows[0].mainRPS == [10_000, 10_000] && comparison.rows[0].otherRPS == [10_000])
        #expect(comparison.rows[0].mainP50.count == 2 && comparison.rows[0].otherP50.count == 1)
    }
}
