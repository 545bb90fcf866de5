/// What the connections speak (memtier_benchmark's `--protocol` names; `memcache_meta` is ours).
public enum BenchmarkProtocol: String, Equatable, Sendable {
    case redis
    /// memcached's text protocol: `set key 0 0 N` + data / `get key`.
    case memcacheText = "memcache_text"
    /// memcached's meta protocol: `ms key N` + data / `mg key v`.
    case memcacheMeta = "memcache_meta"

    /// Whether this is one of memcached's protocols.
    public var isMemcache: Bool { self != .redis }
}

/// `--ratio W:R`: a mixed test's cycle of W writes then R reads.
public struct Ratio: Equatable, Sendable {
    public var writes: Int
    public var reads: Int

    public init(writes: Int, reads: Int) {
        self.writes = writes
        self.reads = reads
    }
}

extension BenchmarkCommandLine {
    /// The options of issue 20's memtier_benchmark-like workloads, each with a value.
    static let workloadOptions: Set<String> = [
        "--key-pattern", "--key-minimum", "--key-maximum", "--key-zipf-exp", "--key-median", "--key-stddev",
        "--data-size-range", "--ratio", "--protocol", "--plot",
    ]
}

extension BenchmarkOptions {
    /// Parses one of ``BenchmarkCommandLine/workloadOptions``.
    /// - Returns: false when the value is invalid.
    mutating func parseWorkloadOption(_ argument: String, value: String) -> Bool {
        switch argument {
        case "--key-pattern":
            // memtier's "SET:GET" form; one letter sets both.
            let parts = value.split(separator: ":", omittingEmptySubsequences: false).map {
                KeyPattern(rawValue: $0.uppercased())
            }
            guard parts.count == 1 || parts.count == 2, let write = parts[0], let read = parts[parts.count - 1] else {
                return false
            }
            writeKeyPattern = write
            readKeyPattern = read
        case "--key-minimum":
            guard let number = Int(value), number >= 0, number < Self.keyLimit else { return false }
            keyMinimum = number
        case "--key-maximum":
            guard let number = Int(value), number >= 0, number < Self.keyLimit else { return false }
            keyMaximum = number
        case "--key-zipf-exp":
            guard let exponent = Double(value), exponent > 0, exponent <= 10 else { return false }
            keyZipfExponent = exponent
        case "--key-median":
            guard let median = Double(value), median.isFinite else { return false }
            keyMedian = median
        case "--key-stddev":
            guard let deviation = Double(value), deviation > 0, deviation.isFinite else { return false }
            keyStandardDeviation = deviation
        case "--data-size-range":
            let parts = value.split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 2, let low = Int(parts[0]), let high = Int(parts[1]), low >= 1, low <= high,
                high <= 1 << 30
            else { return false }
            dataSizeRange = low...high
        case "--ratio":
            let parts = value.split(separator: ":", omittingEmptySubsequences: false)
            // Each side is bounded before they are added, so that a huge one cannot overflow the sum.
            guard parts.count == 2, let writes = Int(parts[0]), let reads = Int(parts[1]),
                (0...1_000_000).contains(writes), (0...1_000_000).contains(reads),
                writes + reads > 0, writes + reads <= 1_000_000
            else { return false }
            ratio = Ratio(writes: writes, reads: reads)
        case "--protocol":
            guard let kind = BenchmarkProtocol(rawValue: value.lowercased()) else { return false }
            wireProtocol = kind
        case "--plot":
            let lowered = value.lowercased()
            guard lowered.hasSuffix(".svg") || lowered.hasSuffix(".html") else { return false }
            plotPath = value
        default:
            return false
        }
        return true
    }

    /// Keys are written as 12 digits, so they stay below 10^12.
    static let keyLimit = 1_000_000_000_000

    /// Whether the key range is not empty.
    func checkWorkload() -> Bool {
        guard let range = keyRange else { return true }
        return range.minimum <= range.maximum
    }

    /// The options after the command line was read: `--ratio` without `-t` runs the mixed test only.
    var withWorkloadDefaults: BenchmarkOptions {
        var copy = self
        if ratio != nil && tests == nil && command.isEmpty { copy.tests = ",mixed," }
        return copy
    }

    /// The inclusive key range, nil when `__rand_int__` is not substituted (no `-r` and no key option).
    var keyRange: (minimum: Int, maximum: Int)? {
        if writeKeyPattern == nil && keyMinimum == nil && keyMaximum == nil {
            // `-r 0` writes zeros, as redis-benchmark's `random() % 0` guard does.
            return randomKeyspaceLength.map { (0, max($0 - 1, 0)) }
        }
        let maximum = keyMaximum ?? randomKeyspaceLength.map { max($0 - 1, 0) } ?? 10_000_000
        return (keyMinimum ?? 0, maximum)
    }

    /// The keys a write (SET, and every default test but GET) or a read (GET) draws; nil: no substitution.
    public func keySpace(forReads: Bool) -> KeySpace? {
        guard let range = keyRange else { return nil }
        return KeySpace(
            pattern: (forReads ? readKeyPattern : writeKeyPattern) ?? .uniform,
            minimum: range.minimum,
            maximum: range.maximum,
            zipfExponent: keyZipfExponent,
            median: keyMedian,
            standardDeviation: keyStandardDeviation
        )
    }

    /// `-u redis://[[user:]password@]host[:port][/db]`: sets what the URI names, as redis-benchmark's
    /// `parseRedisUri` does.
    /// - Returns: the error text for stderr, nil when the URI was taken.
    mutating func applyURI(_ uri: String) -> String? {
        var rest = Substring(uri)
        if rest.lowercased().hasPrefix("rediss://") {
            return "rediss:// is only supported when swiftlet-benchmark is compiled with OpenSSL\n"
        }
        guard rest.lowercased().hasPrefix("redis://") else { return "Invalid URI scheme\n" }
        rest = rest.dropFirst("redis://".count)
        if rest.isEmpty { return nil }
        if let at = rest.firstIndex(of: "@") {
            var secret = rest[..<at]
            if let colon = rest.firstIndex(of: ":"), colon < at {
                switch Self.percentDecode(rest[..<colon]) {
                case .success(let name): user = name
                case .failure(let error): return error.message
                }
                secret = rest[rest.index(after: colon)..<at]
            }
            switch Self.percentDecode(secret) {
            case .success(let text): password = text
            case .failure(let error): return error.message
            }
            rest = rest[rest.index(after: at)...]
        }
        if rest.isEmpty { return nil }
        let slash = rest.firstIndex(of: "/")
        if rest.first != "/" {
            var hostPart = rest[..<(slash ?? rest.endIndex)]
            if let colon = rest.firstIndex(of: ":") {
                // As the C code: the port is read with atoi from after the first colon, wherever it is.
                port = BenchmarkCommandLine.atoi(String(rest[rest.index(after: colon)...]))
                hostPart = rest[..<colon]
            }
            host = String(hostPart)
        }
        guard let slash else { return nil }
        let database = rest[rest.index(after: slash)...]
        if database.isEmpty { return nil }
        databaseNumber = BenchmarkCommandLine.atoi(String(database))
        return nil
    }

    /// A URI error with redis-benchmark's text.
    struct URIError: Error {
        var message: String
    }

    /// Decodes `%XX` escapes.
    static func percentDecode(_ text: Substring) -> Result<String, URIError> {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8)[...]
        while let byte = iterator.popFirst() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            // As the C code, which counts the '%' among the two bytes it needs: with one byte after it, the second
            // digit it reads is the delimiter that follows (':' or '@'), never a hex digit.
            guard !iterator.isEmpty else { return .failure(URIError(message: "Incomplete URI encoding\n")) }
            let high = hexValue(iterator.removeFirst())
            let low = iterator.popFirst().flatMap(hexValue)
            guard let high, let low else { return .failure(URIError(message: "Illegal character in URI encoding\n")) }
            bytes.append(high << 4 | low)
        }
        return .success(String(decoding: bytes, as: UTF8.self))
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
