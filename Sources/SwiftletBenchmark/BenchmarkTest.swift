/// One benchmark: the title redis-benchmark prints and the request every connection sends.
public struct BenchmarkTest: Equatable, Sendable {
    /// The title in reports (`SET`, `LRANGE_100 (first 100 elements)`, or the custom command line).
    public var title: String
    /// The request's wire bytes: a RESP multibulk, or an inline command for PING_INLINE.
    public var request: [UInt8]
    /// Whether `__rand_int__` draws from the read key pattern (GET) instead of the write one.
    public var readsKeys = false
    /// For a test whose requests are made afresh for every batch (the mixed test, SET with `--data-size-range`):
    /// what to make; `request` is then one example.
    public var plan: RequestPlan?

    public init(title: String, request: [UInt8], readsKeys: Bool = false, plan: RequestPlan? = nil) {
        self.title = title
        self.request = request
        self.readsKeys = readsKeys
        self.plan = plan
    }

    /// A test whose request is the RESP multibulk of `arguments`.
    public init(title: String, arguments: [[UInt8]]) {
        self.init(title: title, request: Self.multibulk(arguments))
    }

    /// The RESP multibulk encoding of a command (what hiredis's `redisFormatCommandArgv` produces).
    public static func multibulk(_ arguments: [[UInt8]]) -> [UInt8] {
        var bytes = Array("*\(arguments.count)\r\n".utf8)
        for argument in arguments {
            bytes += "$\(argument.count)\r\n".utf8
            bytes += argument
            bytes += "\r\n".utf8
        }
        return bytes
    }

    /// The default suite in redis-benchmark 7.0's order, filtered by `-t`.
    /// - Parameters:
    ///   - options: `-t` selects, `-r` decides whether ZADD's score is random.
    ///   - data: the `-d` value (see ``BenchmarkData``).
    public static func defaultSuite(options: BenchmarkOptions, data: [UInt8]) -> [BenchmarkTest] {
        defaultSuiteBuilders(options: options, data: data).map { $0() }
    }

    /// The default suite as functions that build each test, so that a run holds only the request of the test it is
    /// running (with `-d 1073741824` every request that carries the value is a gigabyte).
    /// - Parameters:
    ///   - options: `-t` selects, `-r` decides whether ZADD's score is random.
    ///   - data: the `-d` value (see ``BenchmarkData``).
    public static func defaultSuiteBuilders(
        options: BenchmarkOptions,
        data: [UInt8]
    ) -> [@Sendable () -> BenchmarkTest] {
        if options.wireProtocol.isMemcache { return memcacheSuiteBuilders(options: options, data: data) }
        @Sendable func words(_ text: String) -> [[UInt8]] { text.split(separator: " ").map { Array($0.utf8) } }
        @Sendable func command(_ text: String, _ tail: [[UInt8]] = []) -> [[UInt8]] { words(text) + tail }
        var suite: [@Sendable () -> BenchmarkTest] = []
        if options.isSelected("ping_inline") || options.isSelected("ping") {
            suite.append { .init(title: "PING_INLINE", request: Array("PING\r\n".utf8)) }
        }
        if options.isSelected("ping_mbulk") || options.isSelected("ping") {
            suite.append { .init(title: "PING_MBULK", arguments: command("PING")) }
        }
        let simple: [(String, String, [[UInt8]])] = [
            ("set", "SET key:__rand_int__", [data]),
            ("get", "GET key:__rand_int__", []),
            ("incr", "INCR counter:__rand_int__", []),
            ("lpush", "LPUSH mylist", [data]),
            ("rpush", "RPUSH mylist", [data]),
            ("lpop", "LPOP mylist", []),
            ("rpop", "RPOP mylist", []),
            ("sadd", "SADD myset element:__rand_int__", []),
            ("hset", "HSET myhash element:__rand_int__", [data]),
            ("spop", "SPOP myset", []),
            (
                "zadd",
                "ZADD myzset \(options.keyRange == nil ? "0" : "__rand_int__") element:__rand_int__", []
            ),
            ("zpopmin", "ZPOPMIN myzset", []),
        ]
        for (name, text, tail) in simple where options.isSelected(name) {
            suite.append {
                if name == "set", let plan = RequestPlan.sets(options: options, data: data) {
                    return BenchmarkTest(planned: plan, title: "SET")
                }
                var test = BenchmarkTest(title: name.uppercased(), arguments: command(text, tail))
                test.readsKeys = name == "get"
                return test
            }
        }
        let ranges = [100, 300, 500, 600]
        if options.isSelected("lrange") || ranges.contains(where: { options.isSelected("lrange_\($0)") }) {
            suite.append {
                .init(title: "LPUSH (needed to benchmark LRANGE)", arguments: command("LPUSH mylist", [data]))
            }
        }
        for count in ranges where options.isSelected("lrange") || options.isSelected("lrange_\(count)") {
            suite.append {
                .init(
                    title: "LRANGE_\(count) (first \(count) elements)",
                    arguments: command("LRANGE mylist 0 \(count - 1)")
                )
            }
        }
        if options.isSelected("mset") {
            suite.append {
                let pairs = (0..<10).flatMap { _ in [Array("key:__rand_int__".utf8), data] }
                return .init(title: "MSET (10 keys)", arguments: [Array("MSET".utf8)] + pairs)
            }
        }
        if let mixed = mixedBuilder(options: options, data: data) { suite.append(mixed) }
        return suite
    }

    /// The custom-command form: the title is the arguments joined by spaces.
    public static func custom(_ command: [String]) -> BenchmarkTest {
        custom(bytes: command.map { Array($0.utf8) })
    }

    /// The custom-command form from the arguments' bytes, sent as they are (the title shows invalid UTF-8 as U+FFFD).
    public static func custom(bytes command: [[UInt8]]) -> BenchmarkTest {
        let title = command.map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
        return .init(title: title, arguments: command)
    }
}

/// The `-d` value redis-benchmark sends: bytes from a fixed linear congruential sequence (so runs are comparable),
/// continued from one suite to the next under `-l`.
public struct BenchmarkData: Sendable {
    private var state: UInt32 = 1234

    public init() {}

    /// The next `count` bytes of the sequence, each `'0' + ((state >> 16) & 63)`.
    public mutating func next(count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        for index in 0..<count {
            state = state &* 1_103_515_245 &+ 12345
            bytes[index] = UInt8(ascii: "0") + UInt8((state >> 16) & 63)
        }
        return bytes
    }
}

/// Where `__rand_int__` occurs in a connection's output buffer (the requests only: the AUTH / SELECT / HELLO prefix
/// is a buffer of its own, so a password such as `__rand_int__` is sent as it is), and the substitution redis-benchmark makes there:
/// a zero-padded 12-digit number below the `-r` keyspace length, new for every occurrence of every batch.
public struct RandomPlaceholders: Sendable {
    /// The placeholder text.
    public static let placeholder = Array("__rand_int__".utf8)
    /// The offset of each occurrence.
    public private(set) var offsets: [Int]

    /// Finds every occurrence of `__rand_int__` in `bytes`.
    public init(in bytes: [UInt8]) {
        var offsets: [Int] = []
        let needle = Self.placeholder
        var index = 0
        while index + needle.count <= bytes.count {
            if bytes[index] == needle[0] && bytes[index..<index + needle.count].elementsEqual(needle) {
                offsets.append(index)
                index += needle.count
            } else {
                index += 1
            }
        }
        self.offsets = offsets
    }

    /// Writes a fresh number over every occurrence.
    /// - Parameters:
    ///   - buffer: the output buffer the offsets point into.
    ///   - keyspaceLength: `-r`'s value; 0 writes zeros.
    ///   - generator: the random source.
    public func substitute(
        in buffer: inout [UInt8],
        keyspaceLength: Int,
        using generator: inout some RandomNumberGenerator
    ) {
        var keys = KeyGenerator(KeySpace(pattern: .uniform, minimum: 0, maximum: max(keyspaceLength - 1, 0)))
        substitute(in: &buffer, keys: &keys, using: &generator)
    }

    /// Writes a number drawn from `keys` over every occurrence.
    public func substitute(
        in buffer: inout [UInt8],
        keys: inout KeyGenerator,
        using generator: inout some RandomNumberGenerator
    ) {
        buffer.withUnsafeMutableBufferPointer { bytes in
            for offset in offsets {
                var value = keys.next(using: &generator)
                var position = offset + 11
                for _ in 0..<12 {
                    bytes[position] = UInt8(ascii: "0") + UInt8(value % 10)
                    value /= 10
                    position -= 1
                }
            }
        }
    }
}

/// The most bytes of output buffers a test may need (`-c` connections × `-P` requests × the request's size): a
/// limit of our own (redis-benchmark allocates whatever is asked and fails on the way), so that an absurd `-P` or
/// `-d` is refused with a message instead of exhausting memory.
public let maximumOutputBytes = 4 << 30

extension BenchmarkTest {
    /// Refuses a test whose output buffers would exceed ``maximumOutputBytes``.
    /// - Throws: ``BenchmarkError`` saying how much was asked.
    public func checkOutputSize(clients: Int, pipeline: Int) throws(BenchmarkError) {
        let perConnection = request.count.multipliedReportingOverflow(by: max(pipeline, 1))
        let total = perConnection.partialValue.multipliedReportingOverflow(by: max(clients, 1))
        guard perConnection.overflow || total.overflow || total.partialValue > maximumOutputBytes else { return }
        throw BenchmarkError(
            "Error: \(title): \(max(clients, 1)) clients × -P \(max(pipeline, 1)) × a request of \(request.count) bytes "
                + "exceeds the \(maximumOutputBytes >> 30) GiB limit on output buffers; lower -c, -P or -d"
        )
    }
}

/// A small, fast, seedable generator (SplitMix64) for `__rand_int__`.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { self.state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
