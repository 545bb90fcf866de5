import Foundation
import Testing

@testable import SwiftletBenchmark

/// The key patterns, checked statistically on seeded draws (so every run draws the same numbers).
struct KeyDistributionTests {
    private func draw(_ space: KeySpace, count: Int, seed: UInt64 = 42) -> [Int] {
        var keys = KeyGenerator(space)
        var generator = SplitMix64(seed: seed)
        return (0..<count).map { _ in keys.next(using: &generator) }
    }

    @Test func uniformCoversTheRangeEvenly() {
        let keys = draw(KeySpace(pattern: .uniform, minimum: 10, maximum: 19), count: 100_000)
        #expect(keys.allSatisfy { (10...19).contains($0) })
        var counts = [Int](repeating: 0, count: 10)
        for key in keys { counts[key - 10] += 1 }
        // Chi-square with 9 degrees of freedom: 27.9 is its 0.999 quantile.
        let expected = 10_000.0
        let chiSquare = counts.reduce(0.0) { $0 + pow(Double($1) - expected, 2) / expected }
        #expect(chiSquare < 27.9)
    }

    @Test func sequentialWalksTheRangeAndWraps() {
        let keys = draw(KeySpace(pattern: .sequential, minimum: 5, maximum: 8), count: 10)
        #expect(keys == [5, 6, 7, 8, 5, 6, 7, 8, 5, 6])
    }

    @Test func sequentialThreadsStartAtTheirShare() {
        var generator = SplitMix64(seed: 1)
        var second = KeyGenerator(KeySpace(pattern: .sequential, minimum: 0, maximum: 99), part: 1, of: 4)
        #expect(second.next(using: &generator) == 25)
    }

    @Test func gaussianHasTheMedianAndDeviationAsked() {
        let space = KeySpace(pattern: .gaussian, minimum: 0, maximum: 100_000, median: 50_000, standardDeviation: 5000)
        let keys = draw(space, count: 50_000).map(Double.init)
        let mean = keys.reduce(0, +) / Double(keys.count)
        let deviation = (keys.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(keys.count)).squareRoot()
        #expect(abs(mean - 50_000) < 100)
        #expect(abs(deviation - 5000) < 100)
        // About 68% within one deviation.
        let inside = keys.filter { abs($0 - 50_000) <= 5000 }.count
        #expect(abs(Double(inside) / Double(keys.count) - 0.6827) < 0.01)
    }

    /// A finite median that no `Int` holds once trapped in the fallback after 16 redraws out of the range.
    @Test(arguments: [1e19, -1e19, 1e300, -1e300, 150.7])
    func aMedianFarOutsideTheRangeGivesTheNearestEnd(_ median: Double) {
        let space = KeySpace(pattern: .gaussian, minimum: 10, maximum: 100, median: median, standardDeviation: 1)
        let keys = draw(space, count: 100)
        #expect(keys.allSatisfy { $0 == (median > 0 ? 100 : 10) })
    }

    @Test func nearestKeyClampsInDouble() {
        let space = KeySpace(pattern: .gaussian, minimum: 3, maximum: 999_999_999_999)
        #expect(KeyGenerator.nearestKey(to: 1e19, in: space) == 999_999_999_999)
        #expect(KeyGenerator.nearestKey(to: -.infinity, in: space) == 3)
        #expect(KeyGenerator.nearestKey(to: .nan, in: space) == 3)
        #expect(KeyGenerator.nearestKey(to: 41.6, in: space) == 42)
    }

    @Test func gaussianStaysInTheRange() {
        let space = KeySpace(pattern: .gaussian, minimum: 0, maximum: 9, median: 0, standardDeviation: 50)
        #expect(draw(space, count: 10_000).allSatisfy { (0...9).contains($0) })
    }

    @Test(arguments: [0.5, 1.0, 1.5])
    func zipfFrequenciesFollowThePowerLaw(exponent: Double) {
        let count = 1000
        let keys = draw(
            KeySpace(pattern: .zipf, minimum: 0, maximum: count - 1, zipfExponent: exponent),
            count: 200_000
        )
        #expect(keys.allSatisfy { (0..<count).contains($0) })
        var counts = [Int](repeating: 0, count: count)
        for key in keys { counts[key] += 1 }
        let harmonic = (1...count).reduce(0.0) { $0 + pow(Double($1), -exponent) }
        // Ranks 1, 2, 10 and 100 (keys 0, 1, 9, 99) within 5% (plus a little for the rare ones) of their share.
        for rank in [1, 2, 10, 100] {
            let expected = 200_000 * pow(Double(rank), -exponent) / harmonic
            #expect(abs(Double(counts[rank - 1]) - expected) < expected * 0.05 + 20, "rank \(rank)")
        }
    }

    @Test func zipfOverMillionsOfKeysNeedsNoTable() {
        let keys = draw(KeySpace(pattern: .zipf, minimum: 0, maximum: 999_999_999, zipfExponent: 1.1), count: 10_000)
        #expect(keys.allSatisfy { (0..<1_000_000_000).contains($0) })
        #expect(keys.filter { $0 == 0 }.count > 1000)
    }

    @Test func theSameSeedDrawsTheSameKeys() {
        let space = KeySpace(pattern: .zipf, minimum: 0, maximum: 99_999, zipfExponent: 0.9)
        #expect(draw(space, count: 1000, seed: 7) == draw(space, count: 1000, seed: 7))
        #expect(draw(space, count: 1000, seed: 7) != draw(space, count: 1000, seed: 8))
    }

    @Test func placeholdersTakeTheGeneratorsKeys() {
        var buffer = Array("SET key:__rand_int__ x\r\nGET key:__rand_int__\r\n".utf8)
        var keys = KeyGenerator(KeySpace(pattern: .sequential, minimum: 41, maximum: 1000))
        var generator = SplitMix64(seed: 1)
        RandomPlaceholders(in: buffer).substitute(in: &buffer, keys: &keys, using: &generator)
        #expect(String(decoding: buffer, as: UTF8.self) == "SET key:000000000041 x\r\nGET key:000000000042\r\n")
    }
}
