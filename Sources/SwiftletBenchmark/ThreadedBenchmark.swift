import Dispatch
import Foundation
import Synchronization

/// `--threads N`: one test's connections spread over N threads, each running its own ``BenchmarkRunner`` (its own
/// epoll loop and histogram) on its share of the connections, of `-n` and of `--qps`; the results are merged.
///
/// The threads share nothing while they run: each owns its runner, and hands back its report through a lock once
/// it is done. So there is no atomic counter on the hot path; the request quotas add up to `-n`, but each thread issues
/// whole `-P` batches, so with `-P` the total finished can exceed `-n` by up to threads × (P − 1).
enum ThreadedBenchmark {
    /// The share of `total` that part `index` of `parts` gets (the first `total % parts` get one more).
    static func share(of total: Int, part index: Int, of parts: Int) -> Int {
        total / parts + (index < total % parts ? 1 : 0)
    }

    /// How many threads `--threads` really runs: at least one, and no more than there are connections.
    static func threadCount(_ options: BenchmarkOptions) -> Int {
        min(max(options.threads, 1), max(options.clients, 1))
    }

    /// The options each thread runs with: its connections, its requests and its seed.
    /// - Parameters:
    ///   - options: the command line.
    ///   - seed: the run's seed; each thread draws a different one from it.
    /// - Returns: one entry per thread that has at least one connection.
    static func threadOptions(_ options: BenchmarkOptions, seed: UInt64) -> [BenchmarkOptions] {
        let clients = max(options.clients, 1)
        let threads = threadCount(options)
        var seeds = SplitMix64(seed: seed)
        return (0..<threads).map { index in
            var copy = options
            copy.clients = share(of: clients, part: index, of: threads)
            copy.requests = share(of: options.requests, part: index, of: threads)
            copy.seed = seeds.next()
            copy.threads = 0
            copy.keyPart = index
            copy.keyParts = threads
            return copy
        }
    }

    /// Runs `test` on `--threads` threads and merges their reports.
    /// - Parameters:
    ///   - test: the test every connection runs.
    ///   - options: the command line (`threads > 0`).
    /// - Returns: the merged report: all requests, all latencies, the wall time of the slowest thread.
    /// - Throws: the first thread's error, when one failed.
    /// - Parameters:
    ///   - showProgress: print the live progress line every 250 ms (on a terminal).
    ///   - progressWidth: set to the width of the last progress line printed (0 when none).
    static func run(
        _ test: BenchmarkTest,
        options: BenchmarkOptions,
        showProgress: Bool = false,
        progressWidth: inout Int
    ) throws(BenchmarkError) -> LatencyReport {
        progressWidth = 0
        let seed = options.seed ?? (monotonicMicroseconds() ^ UInt64(getpid()) << 32)
        let perThread = threadOptions(options, seed: seed)
        let results = ThreadResults(count: perThread.count)
        let group = DispatchGroup()
        let start = monotonicMicroseconds()
        let counters = ProgressCounters()
        for (index, threadOptions) in perThread.enumerated() {
            group.enter()
            let rate = options.qps.map { Double($0) / Double(perThread.count) }
            let thread = Thread {
                let runner = BenchmarkRunner(options: threadOptions, showProgress: false)
                runner.targetRate = rate
                if showProgress { runner.progressCounters = counters }
                let result: Result<LatencyReport, BenchmarkError>
                do throws(BenchmarkError) {
                    result = .success(try runner.run(test))
                } catch {
                    result = .failure(error)
                }
                results.slots.withLock { $0[index] = result }
                group.leave()
            }
            thread.start()
        }
        if showProgress {
            var line = ProgressLine(title: test.title, start: start)
            while group.wait(timeout: .now() + .milliseconds(250)) == .timedOut {
                line.print(counters.snapshot(), now: monotonicMicroseconds())
            }
            progressWidth = line.printedWidth
        } else {
            group.wait()
        }
        let elapsed = Int(monotonicMicroseconds() / 1000) - Int(start / 1000)
        var histogram = LatencyHistogram(precision: options.precision)
        var partHistograms: [LatencyHistogram] = []
        var finished = 0
        for result in results.slots.withLock({ $0 }) {
            // `!`: every thread stores its result before it leaves the group, and the group was waited for.
            let report = try result!.get()
            finished += report.requestsFinished
            histogram.add(report.histogram)
            if partHistograms.isEmpty {
                partHistograms = report.parts.map { _ in LatencyHistogram(precision: options.precision) }
            }
            for (index, part) in report.parts.enumerated() { partHistograms[index].add(part.histogram) }
        }
        var report = LatencyReport(
            title: test.title,
            requestsFinished: finished,
            elapsedMilliseconds: elapsed,
            histogram: histogram,
            // The values used: at least one client, and no more threads than clients.
            clients: max(options.clients, 1),
            dataSize: options.dataSize,
            keepAlive: options.keepAlive,
            threads: perThread.count
        )
        report.addParts(partHistograms)
        return report
    }
}

/// Where each thread leaves its report: one slot per thread, behind a mutex.
private final class ThreadResults: Sendable {
    let slots: Mutex<[Result<LatencyReport, BenchmarkError>?]>

    init(count: Int) { slots = Mutex([Result<LatencyReport, BenchmarkError>?](repeating: nil, count: count)) }
}

/// What the `--threads` runners have finished so far, for the live progress line: requests and the sum of their
/// latencies, added once per read (not per request).
final class ProgressCounters: Sendable {
    private let requests = Atomic<Int>(0)
    private let microseconds = Atomic<Int>(0)

    func add(requests count: Int, microseconds total: Int) {
        requests.wrappingAdd(count, ordering: .relaxed)
        microseconds.wrappingAdd(total, ordering: .relaxed)
    }

    /// The totals now.
    func snapshot() -> (requests: Int, microseconds: Int) {
        (requests.load(ordering: .relaxed), microseconds.load(ordering: .relaxed))
    }
}

/// redis-benchmark's live line, `SET: rps=... (overall: ...) avg_msec=... (overall: ...)`, from running totals.
struct ProgressLine {
    let title: String
    let start: UInt64
    private var previous: (requests: Int, microseconds: Int, time: UInt64)
    /// The width of the last line printed.
    private(set) var printedWidth = 0

    init(title: String, start: UInt64) {
        self.title = title
        self.start = start
        previous = (0, 0, start)
    }

    /// The line for `totals` at `now` (monotonic microseconds), and the state moved on to it.
    mutating func text(_ totals: (requests: Int, microseconds: Int), now: UInt64) -> String {
        let elapsed = Float(now / 1000 - start / 1000) / 1000
        let instantElapsed = Float(now / 1000 - previous.time / 1000) / 1000
        let instantRequests = totals.requests - previous.requests
        let instantMicroseconds = totals.microseconds - previous.microseconds
        // An empty interval's mean is 0/0, which C's printf writes as "-nan".
        func average(_ microseconds: Int, _ requests: Int) -> String {
            requests == 0 ? "-nan" : formatC("%.3f", Double(microseconds) / Double(requests) / 1000)
        }
        let line =
            title
            + formatC(
                ": rps=%.1f (overall: %.1f)",
                Double(Float(instantRequests) / instantElapsed),
                Double(Float(totals.requests) / elapsed)
            )
            + " avg_msec=\(average(instantMicroseconds, instantRequests))"
            + " (overall: \(average(totals.microseconds, totals.requests)))\r"
        previous = (totals.requests, totals.microseconds, now)
        return line
    }

    /// Prints the line over the last one.
    mutating func print(_ totals: (requests: Int, microseconds: Int), now: UInt64) {
        let line = text(totals, now: now)
        writeAll(String(repeating: " ", count: max(printedWidth, 1)) + "\r" + line)
        printedWidth = line.utf8.count
    }
}
