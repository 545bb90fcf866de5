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
            return copy
        }
    }

    /// Runs `test` on `--threads` threads and merges their reports.
    /// - Parameters:
    ///   - test: the test every connection runs.
    ///   - options: the command line (`threads > 0`).
    /// - Returns: the merged report: all requests, all latencies, the wall time of the slowest thread.
    /// - Throws: the first thread's error, when one failed.
    static func run(_ test: BenchmarkTest, options: BenchmarkOptions) throws(BenchmarkError) -> LatencyReport {
        let seed = options.seed ?? (monotonicMicroseconds() ^ UInt64(getpid()) << 32)
        let perThread = threadOptions(options, seed: seed)
        let results = ThreadResults(count: perThread.count)
        let group = DispatchGroup()
        let start = monotonicMicroseconds()
        for (index, threadOptions) in perThread.enumerated() {
            group.enter()
            let rate = options.qps.map { Double($0) / Double(perThread.count) }
            let thread = Thread {
                let runner = BenchmarkRunner(options: threadOptions, showProgress: false)
                runner.targetRate = rate
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
        group.wait()
        let elapsed = Int(monotonicMicroseconds() / 1000) - Int(start / 1000)
        var histogram = LatencyHistogram(precision: options.precision)
        var finished = 0
        for result in results.slots.withLock({ $0 }) {
            // `!`: every thread stores its result before it leaves the group, and the group was waited for.
            let report = try result!.get()
            finished += report.requestsFinished
            histogram.add(report.histogram)
        }
        return LatencyReport(
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
    }
}

/// Where each thread leaves its report: one slot per thread, behind a mutex.
private final class ThreadResults: Sendable {
    let slots: Mutex<[Result<LatencyReport, BenchmarkError>?]>

    init(count: Int) { slots = Mutex([Result<LatencyReport, BenchmarkError>?](repeating: nil, count: count)) }
}
