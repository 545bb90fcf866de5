#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `--intrinsic-latency SECONDS`: how long the kernel leaves this process without running it. A short computation
/// runs in a loop; each run slower than all before it is reported. No server is involved.
enum IntrinsicLatency {
    /// redis-cli's `compute_something_fast`: an RC4-like mix the optimiser cannot remove (a few microseconds).
    static func computeSomethingFast() -> UInt {
        var table = [UInt8](repeating: 0, count: 256)
        // Unchecked access: the indexes are bytes, always inside the 256-byte table.
        return table.withUnsafeMutableBufferPointer { state in
            for index in 0..<256 { state[index] = UInt8(index) }
            var i: UInt8 = 0
            var j: UInt8 = 0
            var output: UInt = 0
            for _ in 0..<1000 {
                i &+= 1
                j &+= state[Int(i)]
                state.swapAt(Int(i), Int(j))
                output &+= UInt(state[Int(state[Int(i)] &+ state[Int(j)])])
            }
            return output
        }
    }

    /// The closing lines, as redis-cli prints them.
    /// - Parameters:
    ///   - runs: how many times the computation ran.
    ///   - runTime: the planned duration in microseconds (redis-cli divides it, not the time spent, by `runs`).
    ///   - maxLatency: the slowest run in microseconds.
    static func summary(runs: Int64, runTime: Int64, maxLatency: Int64) -> String {
        let averageMicroseconds = Double(runTime) / Double(runs)
        let averageNanoseconds = averageMicroseconds * 1e3
        let worst = CFormat.format("%.0f", Double(maxLatency) / averageMicroseconds)
        return "\n\(runs) total runs (avg latency: \(CFormat.format("%.4f", averageMicroseconds)) microseconds / "
            + "\(CFormat.format("%.2f", averageNanoseconds)) nanoseconds per run).\n"
            + "Worst run took \(worst)x longer than the average latency.\n"
    }

    /// The line printed for each new worst run.
    static func maxLine(_ latency: Int64) -> String { "Max latency so far: \(latency) microseconds.\n" }

    /// Runs the test for `seconds` (Ctrl-C ends it early, with the summary).
    /// - Returns: the exit status (always 0).
    static func run(seconds: Int32) -> Int32 {
        let runTime = Int64(seconds) * 1_000_000
        let testEnd = microsecondsNow() + runTime
        Session.stopLoopOnInterrupt()
        var maxLatency: Int64 = 0
        var runs: Int64 = 0
        var sink: UInt = 0
        while true {
            let start = microsecondsNow()
            sink &+= computeSomethingFast()
            let end = microsecondsNow()
            let latency = end - start
            runs += 1
            if latency <= 0 { continue }
            if latency > maxLatency {
                maxLatency = latency
                FileOutput.standardOutput.write(maxLine(maxLatency))
            }
            if Session.interrupted || end > testEnd {
                // `sink` keeps the computation alive; it is never 1 in practice, which only adds nothing.
                if sink == 1 { FileOutput.standardOutput.write("") }
                FileOutput.standardOutput.write(summary(runs: runs, runTime: runTime, maxLatency: maxLatency))
                return 0
            }
        }
    }
}
