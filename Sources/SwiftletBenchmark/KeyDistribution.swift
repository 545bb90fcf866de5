import Foundation

/// How `__rand_int__` picks its numbers (memtier_benchmark's `--key-pattern` letters, plus `Z`).
public enum KeyPattern: String, Equatable, Sendable {
    /// `R`: uniform over the key range (redis-benchmark's `-r`).
    case uniform = "R"
    /// `S`: minimum, minimum + 1, ... maximum, then again from the minimum.
    case sequential = "S"
    /// `G`: a normal distribution around `--key-median` with `--key-stddev`, redrawn when outside the range.
    case gaussian = "G"
    /// `Z`: Zipf's law over the range with `--key-zipf-exp`: the minimum is the most frequent key, the next one
    /// `2^-exp` as frequent, and so on.
    case zipf = "Z"
}

/// The keys a run draws: a pattern over the inclusive range `minimum ... maximum` and its parameters.
public struct KeySpace: Equatable, Sendable {
    public var pattern: KeyPattern
    public var minimum: Int
    public var maximum: Int
    /// Zipf's exponent (`--key-zipf-exp`, greater than 0).
    public var zipfExponent: Double
    /// The Gaussian's centre and spread (`--key-median`, `--key-stddev`); nil: the middle of the range and a sixth
    /// of its width (memtier_benchmark's defaults).
    public var median: Double?
    public var standardDeviation: Double?

    public init(
        pattern: KeyPattern,
        minimum: Int,
        maximum: Int,
        zipfExponent: Double = 1,
        median: Double? = nil,
        standardDeviation: Double? = nil
    ) {
        self.pattern = pattern
        self.minimum = minimum
        self.maximum = maximum
        self.zipfExponent = zipfExponent
        self.median = median
        self.standardDeviation = standardDeviation
    }
}

/// Draws keys from a ``KeySpace``; one per runner (and so per thread), with its own sequential cursor.
public struct KeyGenerator: Sendable {
    public let space: KeySpace
    private var cursor: Int
    private let zipf: ZipfSampler?

    /// - Parameters:
    ///   - space: what to draw.
    ///   - part: this generator's index among `parts` (threads): a sequential pattern starts `part / parts` of the
    ///     way into the range, so that threads do not walk the same keys in step.
    public init(_ space: KeySpace, part: Int = 0, of parts: Int = 1) {
        self.space = space
        let width = space.maximum - space.minimum + 1
        cursor = parts > 1 ? Int(Double(width) * Double(part) / Double(parts)) : 0
        zipf = space.pattern == .zipf ? ZipfSampler(count: width, exponent: space.zipfExponent) : nil
    }

    /// The next key number, within `minimum ... maximum`.
    public mutating func next(using generator: inout some RandomNumberGenerator) -> Int {
        let width = space.maximum - space.minimum + 1
        switch space.pattern {
        case .uniform:
            return space.minimum + Int(generator.next() % UInt64(width))
        case .sequential:
            let key = space.minimum + cursor
            cursor = cursor + 1 == width ? 0 : cursor + 1
            return key
        case .gaussian:
            let median = space.median ?? (Double(space.minimum) + Double(space.maximum)) / 2
            let deviation = space.standardDeviation ?? Double(width) / 6
            // At most a few redraws: far outside the range, give the nearest end.
            for _ in 0..<16 {
                let value = (median + deviation * Self.standardNormal(using: &generator)).rounded()
                if value >= Double(space.minimum) && value <= Double(space.maximum) { return Int(value) }
            }
            return Self.nearestKey(to: median, in: space)
        case .zipf:
            // `!`: the sampler exists exactly when the pattern is Zipf (see init).
            return space.minimum + zipf!.sample(using: &generator) - 1
        }
    }

    /// The key of `minimum ... maximum` nearest to `value`, clamped as a Double first: `--key-median 1e19` is a
    /// finite median that no `Int` holds.
    static func nearestKey(to value: Double, in space: KeySpace) -> Int {
        // Key numbers are below 10^12 (``BenchmarkOptions/keyLimit``), so both ends are exact as Doubles.
        if !(value > Double(space.minimum)) { return space.minimum }
        if !(value < Double(space.maximum)) { return space.maximum }
        return Int(value.rounded())
    }

    /// A uniform double in (0, 1], from the top 53 bits.
    static func unit(using generator: inout some RandomNumberGenerator) -> Double {
        Double((generator.next() >> 11) + 1) * 0x1p-53
    }

    /// One standard normal deviate (Box–Muller).
    static func standardNormal(using generator: inout some RandomNumberGenerator) -> Double {
        let u1 = unit(using: &generator)
        let u2 = unit(using: &generator)
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}

/// Zipf's law over ranks 1 ... count in constant time per draw and memory, by rejection-inversion
/// (Hörmann and Derflinger, "Rejection-inversion to generate variates from monotone discrete distributions", 1996),
/// so a range of millions of keys needs no table.
struct ZipfSampler: Sendable {
    let count: Int
    let exponent: Double
    private let hIntegralX1: Double
    private let hIntegralCount: Double
    private let s: Double

    init(count: Int, exponent: Double) {
        self.count = count
        self.exponent = exponent
        hIntegralX1 = Self.hIntegral(1.5, exponent) - 1
        hIntegralCount = Self.hIntegral(Double(count) + 0.5, exponent)
        s = 2 - Self.hIntegralInverse(Self.hIntegral(2.5, exponent) - Self.h(2, exponent), exponent)
    }

    /// A rank in 1 ... count; rank k has probability proportional to k^-exponent.
    func sample(using generator: inout some RandomNumberGenerator) -> Int {
        while true {
            let u = hIntegralCount + KeyGenerator.unit(using: &generator) * (hIntegralX1 - hIntegralCount)
            let x = Self.hIntegralInverse(u, exponent)
            let k = min(max(Int(x + 0.5), 1), count)
            if Double(k) - x <= s || u >= Self.hIntegral(Double(k) + 0.5, exponent) - Self.h(Double(k), exponent) {
                return k
            }
        }
    }

    /// H(x) = (x^(1-e) - 1) / (1 - e), log(x) when e = 1: an integral of h.
    static func hIntegral(_ x: Double, _ exponent: Double) -> Double {
        let logX = log(x)
        return helper2((1 - exponent) * logX) * logX
    }

    /// h(x) = x^-e.
    static func h(_ x: Double, _ exponent: Double) -> Double { exp(-exponent * log(x)) }

    /// The inverse of H.
    static func hIntegralInverse(_ x: Double, _ exponent: Double) -> Double {
        var t = x * (1 - exponent)
        if t < -1 { t = -1 }  // Rounding could take it below the domain of log1p.
        return exp(helper1(t) * x)
    }

    /// log(1 + x) / x, accurate near 0.
    static func helper1(_ x: Double) -> Double {
        abs(x) > 1e-8 ? log1p(x) / x : 1 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x))
    }

    /// (e^x - 1) / x, accurate near 0.
    static func helper2(_ x: Double) -> Double {
        abs(x) > 1e-8 ? expm1(x) / x : 1 + x * 0.5 * (1 + x * (1.0 / 3.0) * (1 + 0.25 * x))
    }
}
