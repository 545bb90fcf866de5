import NIOCore
import SwiftletRESP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `--lru-test KEYS`: a cache workload for testing eviction. Cycles of one second, each of pipelined batches of
/// 250 SETs then 250 GETs over `lru:N` keys with an 80-20 power-law distribution; one stats line per cycle.
enum LRUTest {
    /// redis-cli's `LRU_CYCLE_PIPELINE_SIZE`.
    static let pipelineSize = 250
    /// redis-cli's `LRU_CYCLE_PERIOD`, in milliseconds.
    static let cycleMilliseconds: Int64 = 1000

    /// redis-cli's `powerLawRand`: with `alpha` 6.2, 20% of the numbers get 80% of the draws.
    /// - Parameter uniform: a draw in `0...1`.
    static func powerLaw(min: Int64, max: Int64, alpha: Double, uniform: Double) -> Int64 {
        // In Double, so that a `max` of Int64.max does not overflow (redis-cli's `max += 1` would).
        let top = Double(max) + 1
        let low = Double(min)
        let value = pow((pow(top, alpha + 1) - pow(low, alpha + 1)) * uniform + pow(low, alpha + 1), 1 / (alpha + 1))
        // `value` lies in `min...max + 1`; the conversion is clamped where that bound is beyond Int64.
        let drawn = value.isNaN ? 0 : value >= 0x1p63 ? Int64.max : Int64(value)
        return max &- drawn &+ min
    }

    /// The smallest key count `--lru-test` takes. redis-cli's `powerLawRand` raises `keys + 1` to a fractional
    /// power: below -1 that is NaN (then undefined behaviour), and 0 or -1 make a one-key workload; all of those
    /// are refused here.
    static let minimumKeys: Int64 = 1

    /// One key name among `keys`.
    static func key(keys: Int64, uniform: Double) -> [UInt8] {
        Array("lru:\(powerLaw(min: 1, max: keys, alpha: 6.2, uniform: uniform))".utf8)
    }

    /// The line printed after each cycle.
    static func statsLine(hits: Int64, misses: Int64) -> String {
        let total = hits + misses
        let hitShare = CFormat.fixed2(Double(hits) / Double(total) * 100)
        let missShare = CFormat.fixed2(Double(misses) / Double(total) * 100)
        return "\(total) Gets/sec | Hits: \(hits) (\(hitShare)%) | Misses: \(misses) (\(missShare)%)\n"
    }
}

extension Session {
    /// Runs `--lru-test` until killed.
    /// - Returns: the exit status (1 when the connection fails).
    mutating func runLRUTest(keys: Int64) -> Int32 {
        guard self.connect(quiet: false), let connection = self.connection else { return 1 }
        var random = SystemRandomNumberGenerator()
        let letters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxy".utf8)
        while true {
            let start = microsecondsNow() / 1000
            var hits: Int64 = 0
            var misses: Int64 = 0
            while microsecondsNow() / 1000 - start < LRUTest.cycleMilliseconds {
                do {
                    // Each batch goes out in one write, as hiredis's pipelined `redisAppendCommand` calls do.
                    var batch: [UInt8] = []
                    for _ in 0..<LRUTest.pipelineSize {
                        // redis-cli's values: five characters from 'A' to 'y'.
                        let value = (0..<5).map { _ in letters.randomElement(using: &random) ?? 65 }
                        let uniform = Double.random(in: 0...1, using: &random)
                        CLIConnection.encode(
                            [Array("SET".utf8), LRUTest.key(keys: keys, uniform: uniform), value],
                            to: &batch
                        )
                    }
                    try connection.sendRaw(batch)
                    for _ in 0..<LRUTest.pipelineSize { _ = try connection.readReply() }
                    batch.removeAll(keepingCapacity: true)
                    for _ in 0..<LRUTest.pipelineSize {
                        let uniform = Double.random(in: 0...1, using: &random)
                        CLIConnection.encode(
                            [Array("GET".utf8), LRUTest.key(keys: keys, uniform: uniform)],
                            to: &batch
                        )
                    }
                    try connection.sendRaw(batch)
                    for _ in 0..<LRUTest.pipelineSize {
                        switch try connection.readReply() {
                        case .error(let text):
                            FileOutput.standardError.write(Self.cString(text) + [10])
                        case .null, .bulkString(nil), .array(nil): misses += 1
                        default: hits += 1
                        }
                    }
                } catch {
                    FileOutput.standardError.write("I/O error during LRU test\n")
                    return 1
                }
            }
            FileOutput.standardOutput.write(LRUTest.statsLine(hits: hits, misses: misses))
        }
    }
}
