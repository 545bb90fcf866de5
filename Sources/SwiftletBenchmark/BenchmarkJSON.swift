import Foundation

/// The `--json` output: one object per run of the selected tests (one per suite pass with `-l`), on one line.
///
/// The schema (also in `--help`); an optional member (`?`) is left out when it has no value: `duration` and `qps`
/// when not given, a number that is not finite (the rate of a test that took 0 ms, the mean of no latencies).
/// Latencies are rounded to microseconds and rates to hundredths, as the CSV prints them.
///
///     {"tool": "swiftlet-benchmark", "version": String,
///      "options": {"host": String, "port": Int, "clients": Int, "requests": Int, "duration": Double?,
///                  "qps": Int?, "threads": Int, "pipeline": Int, "data_size": Int, "keep_alive": Int,
///                  "protocol": String, "key_pattern": String?, "key_minimum": Int?, "key_maximum": Int?,
///                  "data_size_range": String?, "ratio": String?},
///      "tests": [{"test": String, "requests": Int, "seconds": Double, "rps": Double?,
///                 "latency_ms": {"avg": Double?, "min": Double, "p50": Double, "p95": Double,
///                                "p99": Double, "max": Double},
///                 "percentiles": [{"percentile": Double, "latency_ms": Double, "count": Int}]}]}
public struct BenchmarkJSON: Codable, Equatable, Sendable {
    public struct Options: Codable, Equatable, Sendable {
        public var host: String
        public var port: Int
        public var clients: Int
        public var requests: Int
        public var duration: Double?
        public var qps: Int?
        public var threads: Int
        public var pipeline: Int
        public var dataSize: Int
        public var keepAlive: Int
        /// `--protocol`, and the workload options when given: `--key-pattern` as `W:R` with the key range,
        /// `--data-size-range` as `MIN-MAX`, `--ratio` as `W:R`.
        public var wireProtocol: String
        public var keyPattern: String?
        public var keyMinimum: Int?
        public var keyMaximum: Int?
        public var dataSizeRange: String?
        public var ratio: String?

        enum CodingKeys: String, CodingKey {
            case host, port, clients, requests, duration, qps, threads, pipeline, ratio
            case dataSize = "data_size"
            case keepAlive = "keep_alive"
            case wireProtocol = "protocol"
            case keyPattern = "key_pattern"
            case keyMinimum = "key_minimum"
            case keyMaximum = "key_maximum"
            case dataSizeRange = "data_size_range"
        }
    }

    public struct Latency: Codable, Equatable, Sendable {
        public var avg: Double?
        public var min: Double
        public var p50: Double
        public var p95: Double
        public var p99: Double
        public var max: Double
    }

    public struct Percentile: Codable, Equatable, Sendable {
        public var percentile: Double
        public var latencyMilliseconds: Double
        public var count: UInt64

        enum CodingKeys: String, CodingKey {
            case percentile, count
            case latencyMilliseconds = "latency_ms"
        }
    }

    public struct Test: Codable, Equatable, Sendable {
        public var test: String
        public var requests: Int
        public var seconds: Double
        public var rps: Double?
        public var latencyMilliseconds: Latency
        public var percentiles: [Percentile]

        enum CodingKeys: String, CodingKey {
            case test, requests, seconds, rps, percentiles
            case latencyMilliseconds = "latency_ms"
        }

        /// The JSON form of a finished test.
        public init(_ report: LatencyReport) {
            let summary = report.summary
            func finite(_ value: Double) -> Double? { value.isFinite ? rounded(value) : nil }
            func rounded(_ value: Double, _ scale: Double = 1000) -> Double { (value * scale).rounded() / scale }
            test = report.title
            requests = report.requestsFinished
            seconds = Double(report.elapsedMilliseconds) / 1000
            let rate = Double(report.requestsPerSecond)
            rps = rate.isFinite ? rounded(rate, 100) : nil
            latencyMilliseconds = Latency(
                avg: finite(summary[0]),
                min: rounded(summary[1]),
                p50: rounded(summary[2]),
                p95: rounded(summary[3]),
                p99: rounded(summary[4]),
                max: rounded(summary[5])
            )
            percentiles = report.percentileSteps.map {
                Percentile(
                    percentile: $0.percentile,
                    latencyMilliseconds: Double($0.microseconds) / 1000,
                    count: $0.count
                )
            }
        }
    }

    public var tool = "swiftlet-benchmark"
    public var version = BenchmarkCommandLine.version
    public var options: Options
    public var tests: [Test] = []

    /// An object with no tests yet for a run with these options.
    public init(options: BenchmarkOptions) {
        self.options = Options(
            host: options.socketPath ?? options.host,
            port: options.port,
            // The values used: at least one client, and no more threads than clients.
            clients: max(options.clients, 1),
            requests: options.requests,
            duration: options.duration,
            qps: options.qps,
            threads: options.threads > 0 ? ThreadedBenchmark.threadCount(options) : 0,
            pipeline: options.pipeline,
            dataSize: options.dataSize,
            keepAlive: options.keepAlive,
            wireProtocol: options.wireProtocol.rawValue,
            keyPattern: options.keySpace(forReads: false).map {
                "\($0.pattern.rawValue):\(options.keySpace(forReads: true)?.pattern.rawValue ?? $0.pattern.rawValue)"
            },
            keyMinimum: options.keyRange?.minimum,
            keyMaximum: options.keyRange?.maximum,
            dataSizeRange: options.dataSizeRange.map { "\($0.lowerBound)-\($0.upperBound)" },
            ratio: options.ratio.map { "\($0.writes):\($0.reads)" }
        )
    }

    /// The object on one line, with its keys sorted, and a newline.
    public var line: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Every value is a finite number, a string or null (non-finite numbers were made nil), so this cannot fail.
        guard let data = try? encoder.encode(self) else { return "{}\n" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
