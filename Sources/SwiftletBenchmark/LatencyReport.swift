import Foundation
import Histogram

/// Latencies in microseconds, recorded as redis-benchmark records them: an HDR histogram from 10 µs to 3 s
/// (longer latencies are clamped to 3 s) at `--precision` significant digits.
public struct LatencyHistogram: Sendable {
    /// redis-benchmark's `CONFIG_LATENCY_HISTOGRAM_MIN_VALUE` (µs); it sets the histogram's unit (8 µs).
    static let lowest: UInt64 = 10
    /// redis-benchmark's `CONFIG_LATENCY_HISTOGRAM_MAX_VALUE` (µs).
    static let highest: UInt64 = 3_000_000

    var histogram: Histogram<UInt64>

    /// An empty histogram.
    /// - Parameter precision: significant digits, 0 ... 4 (`--precision`).
    public init(precision: Int = 3) {
        let digits = SignificantDigits(rawValue: Int8(Swift.min(Swift.max(precision, 0), 4))) ?? .three
        histogram = Histogram(
            lowestDiscernibleValue: Self.lowest,
            highestTrackableValue: Self.highest,
            numberOfSignificantValueDigits: digits
        )
    }

    /// Records a latency in microseconds, `count` times (the replies of one pipeline share one latency).
    @inline(__always)
    public mutating func record(microseconds: UInt64, count: UInt64 = 1) {
        _ = histogram.record(Swift.min(microseconds, Self.highest), count: count)
    }

    /// Adds every value recorded in `other` (the per-thread histograms merged for the report).
    public mutating func add(_ other: LatencyHistogram) { histogram.add(other.histogram) }

    /// Forgets every recorded value.
    public mutating func reset() { histogram.reset() }

    /// How many latencies were recorded.
    public var count: UInt64 { histogram.totalCount }
    /// The mean in microseconds (NaN when empty, which C's printf writes as `-nan`).
    public var mean: Double { histogram.totalCount == 0 ? .nan : histogram.mean }
    /// The smallest recorded value's lowest equivalent, in microseconds.
    public var min: UInt64 { histogram.lowestEquivalentForValue(histogram.min) }
    /// The largest recorded value's highest equivalent, in microseconds.
    public var max: UInt64 { histogram.max }
    /// The value at a percentile (0 ... 100), in microseconds.
    public func value(atPercentile percentile: Double) -> UInt64 { histogram.valueAtPercentile(percentile) }
}

/// What a finished test reports, and redis-benchmark's three ways of printing it.
public struct LatencyReport: Sendable {
    /// The test's title.
    public var title: String
    /// Replies counted (may exceed `-n` by up to P − 1 per runner, as in redis-benchmark: with `--threads` by up to
    /// threads × (P − 1)).
    public var requestsFinished: Int
    /// Wall time of the test in whole milliseconds (redis-benchmark's `mstime()` difference).
    public var elapsedMilliseconds: Int
    /// The latencies.
    public var histogram: LatencyHistogram
    /// `-c`, `-d` (or the custom command's length), `-k` and `--threads` as printed in the header.
    public var clients: Int
    public var dataSize: Int
    public var keepAlive: Int
    public var threads: Int
    /// CONFIG GET save / appendonly from the server, when it answered.
    public var serverConfiguration: (save: String, appendonly: String)?
    /// The mixed test's reports per operation (`MIXED SET`, `MIXED GET`: the same wall time, their own requests and
    /// latencies), printed after the test's own report.
    public var parts: [LatencyReport] = []

    public init(
        title: String,
        requestsFinished: Int,
        elapsedMilliseconds: Int,
        histogram: LatencyHistogram,
        clients: Int,
        dataSize: Int,
        keepAlive: Int,
        threads: Int = 0,
        serverConfiguration: (save: String, appendonly: String)? = nil
    ) {
        self.title = title
        self.requestsFinished = requestsFinished
        self.elapsedMilliseconds = elapsedMilliseconds
        self.histogram = histogram
        self.clients = clients
        self.dataSize = dataSize
        self.keepAlive = keepAlive
        self.threads = threads
        self.serverConfiguration = serverConfiguration
    }

    /// Sets ``parts`` from the mixed test's write (0) and read (1) histograms; nothing when there are none.
    mutating func addParts(_ histograms: [LatencyHistogram]) {
        guard histograms.count == 2 else { return }
        parts = zip(["SET", "GET"], histograms).map { name, histogram in
            var part = self
            part.parts = []
            part.title = "MIXED \(name)"
            part.histogram = histogram
            part.requestsFinished = Int(histogram.count)
            return part
        }
    }

    /// The ``parts`` that are reported: those with requests (`--ratio 0:N` has no SET part; its line would read
    /// `nan`). ``parts`` keeps both, so that the threads' parts merge by position.
    public var reportedParts: [LatencyReport] { parts.filter { $0.requestsFinished > 0 } }

    /// Requests per second, computed in single precision as redis-benchmark does (so the digits agree).
    public var requestsPerSecond: Float {
        Float(requestsFinished) / (Float(elapsedMilliseconds) / 1000.0)
    }

    private func milliseconds(_ microseconds: UInt64) -> Double { Double(Float(microseconds) / 1000.0) }

    /// The CSV header row (printed once, before the first test).
    public static let csvHeader =
        "\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\",\"p50_latency_ms\",\"p95_latency_ms\","
        + "\"p99_latency_ms\",\"max_latency_ms\"\n"

    /// avg, min, p50, p95, p99, max in milliseconds.
    var summary: [Double] {
        [
            Double(Float(histogram.mean / 1000.0)), milliseconds(histogram.min),
            milliseconds(histogram.value(atPercentile: 50)), milliseconds(histogram.value(atPercentile: 95)),
            milliseconds(histogram.value(atPercentile: 99)), milliseconds(histogram.max),
        ]
    }

    /// The `-q` line: `SET: 123456.79 requests per second, p50=0.183 msec`.
    public var quietLine: String {
        title + String(format: ": %.2f requests per second, p50=%.3f msec\n", Double(requestsPerSecond), summary[2])
    }

    /// The `--csv` row.
    public var csvRow: String {
        let values = summary
        return "\"" + title
            + String(
                format: "\",\"%.2f\",\"%.3f\",\"%.3f\",\"%.3f\",\"%.3f\",\"%.3f\",\"%.3f\"\n",
                Double(requestsPerSecond),
                values[0],
                values[1],
                values[2],
                values[3],
                values[4],
                values[5]
            )
    }

    /// The full report: header, both latency distributions and the summary.
    public var fullReport: String {
        var text = "====== \(title) ======\n"
        text += "  \(requestsFinished) requests completed in "
        text += String(format: "%.2f", Double(Float(elapsedMilliseconds) / 1000)) + " seconds\n"
        text += "  \(clients) parallel clients\n"
        text += "  \(dataSize) bytes payload\n"
        text += "  keep alive: \(keepAlive)\n"
        if let serverConfiguration {
            text += "  host configuration \"save\": \(serverConfiguration.save)\n"
            text += "  host configuration \"appendonly\": \(serverConfiguration.appendonly)\n"
        }
        text += "  multi-thread: \(threads > 0 ? "yes" : "no")\n"
        if threads > 0 { text += "  threads: \(threads)\n" }
        text += "\nLatency by percentile distribution:\n"
        text += percentileDistribution
        text += "\nCumulative distribution of latencies:\n"
        text += cumulativeDistribution
        text += "\nSummary:\n"
        text += String(format: "  throughput summary: %.2f requests per second\n", Double(requestsPerSecond))
        text += "  latency summary (msec):\n"
        text += "          avg       min       p50       p95       p99       max\n"
        let values = summary
        text += String(
            format: "    %9.3f %9.3f %9.3f %9.3f %9.3f %9.3f\n",
            values[0],
            values[1],
            values[2],
            values[3],
            values[4],
            values[5]
        )
        return text
    }

    private static func line(percentile: Double, microseconds: UInt64, count: UInt64) -> String {
        String(
            format: "%3.3f%% <= %.3f milliseconds (cumulative count %llu)\n",
            percentile,
            Double(microseconds) / 1000.0,
            count
        )
    }

    /// One line of the percentile distribution: the percentile reached, its latency, the count up to it.
    public struct PercentileStep: Equatable, Sendable {
        public var percentile: Double
        public var microseconds: UInt64
        public var count: UInt64
    }

    /// Percentile steps halving the distance to 100% (one tick per half), a step only where the count moved.
    public var percentileSteps: [PercentileStep] {
        var steps: [PercentileStep] = []
        var previous: UInt64?
        let total = histogram.count
        for step in histogram.histogram.percentiles(ticksPerHalfDistance: 1) {
            let cumulative = step.totalCountToThisValue
            if previous != cumulative || cumulative == total {
                steps.append(
                    PercentileStep(
                        percentile: step.percentileLevelIteratedTo,
                        microseconds: histogram.histogram.highestEquivalentForValue(step.value),
                        count: cumulative
                    )
                )
            }
            previous = cumulative
        }
        return steps
    }

    /// The percentile distribution as the full report prints it.
    var percentileDistribution: String {
        percentileSteps.map { Self.line(percentile: $0.percentile, microseconds: $0.microseconds, count: $0.count) }
            .joined()
    }

    /// Linear steps of 0.1 ms, then of 1 ms once past 2 ms, a line only where the count moved.
    var cumulativeDistribution: String {
        let total = histogram.count
        guard total > 0 else { return "" }
        let buckets = Array(histogram.histogram.recordedValues())
        var text = ""
        var previous: UInt64?
        var level: UInt64 = 100
        var step: UInt64 = 100
        var bucket = 0
        var cumulative: UInt64 = 0
        while true {
            let highest = histogram.histogram.highestEquivalentForValue(level)
            while bucket < buckets.count && buckets[bucket].value <= highest {
                cumulative += UInt64(buckets[bucket].count)
                bucket += 1
            }
            if previous != cumulative || cumulative == total {
                let percentile = Double(cumulative) / Double(total) * 100.0
                text += Self.line(percentile: percentile, microseconds: highest, count: cumulative)
            }
            if cumulative == total { break }
            // Past 2 ms, tenths of a millisecond only add noise. The level after this one is already fixed
            // (redis-benchmark changes the step of an iterator that has moved on), so 2.1 ms comes before 3.1 ms.
            let next = level + step
            if highest > 2000 { step = 1000 }
            previous = cumulative
            level = next
        }
        return text
    }
}

/// C's `printf` formatting (the reports must agree with redis-benchmark digit for digit).
func formatC(_ format: String, _ arguments: any CVarArg...) -> String {
    String(format: format, arguments: arguments)
}
