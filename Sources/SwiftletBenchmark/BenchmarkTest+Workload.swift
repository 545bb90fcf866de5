/// A test whose requests are made afresh for every batch: SETs of random sizes (`--data-size-range`) and the mixed
/// test (`--ratio`), in any `--protocol`.
public struct RequestPlan: Equatable, Sendable {
    public var wireProtocol: BenchmarkProtocol
    /// The cycle: `writes` SETs, then `reads` GETs (one cycle per runner, over its connections).
    public var writes: Int
    public var reads: Int
    /// The value sizes, drawn uniformly per SET.
    public var sizes: ClosedRange<Int>
    /// `sizes.upperBound` bytes of value; a SET sends a prefix of it.
    public var value: [UInt8]
    /// Whether the report is also split per operation (the mixed test).
    public var splitsReport: Bool

    /// SET with `--data-size-range`, nil without it.
    static func sets(options: BenchmarkOptions, data: [UInt8]) -> RequestPlan? {
        guard let range = options.dataSizeRange else { return nil }
        return RequestPlan(
            wireProtocol: options.wireProtocol,
            writes: 1,
            reads: 0,
            sizes: range,
            value: Self.values(count: range.upperBound),
            splitsReport: false
        )
    }

    /// The mixed test of `--ratio`, nil without it.
    static func mixed(options: BenchmarkOptions, data: [UInt8]) -> RequestPlan? {
        guard let ratio = options.ratio else { return nil }
        let sizes = options.dataSizeRange ?? data.count...data.count
        return RequestPlan(
            wireProtocol: options.wireProtocol,
            writes: ratio.writes,
            reads: ratio.reads,
            sizes: sizes,
            value: options.dataSizeRange == nil ? data : Self.values(count: sizes.upperBound),
            splitsReport: true
        )
    }

    /// The value bytes of a size range: `-d`'s sequence, long enough for the largest size.
    static func values(count: Int) -> [UInt8] {
        var data = BenchmarkData()
        return data.next(count: count)
    }

    /// Whether request number `index` of a connection's cycle is a write.
    @inline(__always)
    func isWrite(_ index: Int) -> Bool { index % (writes + reads) < writes }
}

extension BenchmarkTest {
    /// A test made by `plan`; its `request` is one write (or read) with the placeholder key, for the size checks.
    init(planned plan: RequestPlan, title: String) {
        var example: [UInt8] = []
        Self.appendRequest(
            write: plan.writes > 0,
            protocol: plan.wireProtocol,
            key: nil,
            value: plan.value[...],
            into: &example
        )
        self.init(title: title, request: example, plan: plan)
    }

    /// The mixed test, when `--ratio` is given and `-t` selects it.
    static func mixedBuilder(options: BenchmarkOptions, data: [UInt8]) -> (@Sendable () -> BenchmarkTest)? {
        guard let ratio = options.ratio, options.isSelected("mixed"),
            let plan = RequestPlan.mixed(options: options, data: data)
        else { return nil }
        return { BenchmarkTest(planned: plan, title: "MIXED (SET:GET \(ratio.writes):\(ratio.reads))") }
    }

    /// `--protocol memcache_text|memcache_meta`: SET, GET and MIXED (the other default tests have no memcached form).
    static func memcacheSuiteBuilders(options: BenchmarkOptions, data: [UInt8]) -> [@Sendable () -> BenchmarkTest] {
        var suite: [@Sendable () -> BenchmarkTest] = []
        let kind = options.wireProtocol
        if options.isSelected("set") {
            suite.append {
                if let plan = RequestPlan.sets(options: options, data: data) {
                    return BenchmarkTest(planned: plan, title: "SET")
                }
                var request: [UInt8] = []
                appendRequest(write: true, protocol: kind, key: nil, value: data[...], into: &request)
                return BenchmarkTest(title: "SET", request: request)
            }
        }
        if options.isSelected("get") {
            suite.append {
                var request: [UInt8] = []
                appendRequest(write: false, protocol: kind, key: nil, value: [], into: &request)
                return BenchmarkTest(title: "GET", request: request, readsKeys: true)
            }
        }
        if let mixed = mixedBuilder(options: options, data: data) { suite.append(mixed) }
        return suite
    }

    /// Appends one SET (`write`) or GET of `key:<key>` in `kind`'s wire form; a nil key writes the `__rand_int__`
    /// placeholder (no key range: every request uses the same key, as redis-benchmark without `-r`).
    static func appendRequest(
        write: Bool,
        protocol kind: BenchmarkProtocol,
        key: Int?,
        value: ArraySlice<UInt8>,
        into bytes: inout [UInt8]
    ) {
        func appendKey() {
            bytes += "key:".utf8
            guard var number = key else {
                bytes += RandomPlaceholders.placeholder
                return
            }
            let end = bytes.count + 12
            bytes += repeatElement(UInt8(ascii: "0"), count: 12)
            for position in stride(from: end - 1, through: end - 12, by: -1) {
                bytes[position] = UInt8(ascii: "0") + UInt8(number % 10)
                number /= 10
            }
        }
        switch (kind, write) {
        case (.redis, true):
            bytes += "*3\r\n$3\r\nSET\r\n$16\r\n".utf8
            appendKey()
            bytes += "\r\n$\(value.count)\r\n".utf8
            bytes += value
            bytes += "\r\n".utf8
        case (.redis, false):
            bytes += "*2\r\n$3\r\nGET\r\n$16\r\n".utf8
            appendKey()
            bytes += "\r\n".utf8
        case (.memcacheText, true):
            bytes += "set ".utf8
            appendKey()
            bytes += " 0 0 \(value.count)\r\n".utf8
            bytes += value
            bytes += "\r\n".utf8
        case (.memcacheText, false):
            bytes += "get ".utf8
            appendKey()
            bytes += "\r\n".utf8
        case (.memcacheMeta, true):
            bytes += "ms ".utf8
            appendKey()
            bytes += " \(value.count)\r\n".utf8
            bytes += value
            bytes += "\r\n".utf8
        case (.memcacheMeta, false):
            bytes += "mg ".utf8
            appendKey()
            bytes += " v\r\n".utf8
        }
    }
}
