import Testing

@testable import SwiftletBenchmark

/// The options beyond redis-benchmark's (`--key-*`, `--data-size-range`, `--ratio`, `--protocol`, `--plot`) and
/// redis-benchmark 7.0's `-u`, `-x` and `--enable-tracking`.
struct WorkloadOptionsTests {
    private func parse(_ arguments: [String]) -> BenchmarkOptions? {
        guard case .run(let options) = BenchmarkCommandLine.parse(arguments) else { return nil }
        return options
    }

    private func isInvalid(_ arguments: [String], _ option: String) -> Bool {
        guard case .exit(let text, let status) = BenchmarkCommandLine.parse(arguments) else { return false }
        return status == 1 && text.hasPrefix("Invalid option \"\(option)\" or option argument missing\n")
    }

    @Test func keyPatterns() throws {
        let options = try #require(parse(["--key-pattern", "s:z", "--key-minimum", "5", "--key-maximum", "9"]))
        #expect(options.keySpace(forReads: false) == KeySpace(pattern: .sequential, minimum: 5, maximum: 9))
        #expect(options.keySpace(forReads: true)?.pattern == .zipf)
        let single = try #require(parse(["--key-pattern", "G", "--key-stddev", "3", "--key-median", "10"]))
        #expect(single.keySpace(forReads: true) == single.keySpace(forReads: false))
        #expect(single.keySpace(forReads: true)?.maximum == 10_000_000)
        #expect(single.keySpace(forReads: true)?.standardDeviation == 3)
    }

    @Test func keyRangeDefaultsFollowR() throws {
        #expect(try #require(parse([])).keySpace(forReads: false) == nil)
        let r = try #require(parse(["-r", "100"]))
        #expect(r.keySpace(forReads: false) == KeySpace(pattern: .uniform, minimum: 0, maximum: 99))
        let zipf = try #require(parse(["-r", "100", "--key-pattern", "Z", "--key-zipf-exp", "1.5"]))
        #expect(zipf.keySpace(forReads: false)?.maximum == 99)
        #expect(zipf.keySpace(forReads: false)?.zipfExponent == 1.5)
    }

    @Test(arguments: [
        ["--key-pattern", "P"], ["--key-pattern", "R:S:G"], ["--key-minimum", "-1"],
        ["--key-maximum", "1000000000000"],
        ["--key-zipf-exp", "0"], ["--key-stddev", "0"], ["--data-size-range", "0-10"], ["--data-size-range", "9-3"],
        ["--data-size-range", "5"], ["--ratio", "0:0"], ["--ratio", "1"], ["--protocol", "memcache_binary"],
        ["--plot", "out.png"], ["--ratio"],
        // Each side bounded before the sum, which overflowed `Int` (a trap) with two huge sides.
        ["--ratio", "9223372036854775807:9223372036854775807"], ["--ratio", "9223372036854775807:1"],
        ["--ratio", "1000001:0"], ["--ratio", "-1:3"],
    ])
    func invalidValues(arguments: [String]) {
        #expect(isInvalid(arguments, arguments[0]))
    }

    @Test func anEmptyKeyRangeIsRefused() {
        #expect(isInvalid(["--key-minimum", "10", "--key-maximum", "9"], "--key-minimum"))
    }

    @Test func ratioAloneRunsTheMixedTestOnly() throws {
        let options = try #require(
            parse(["--ratio", "1:10", "--data-size-range", "10-20", "--protocol", "MEMCACHE_TEXT"])
        )
        #expect(options.ratio == Ratio(writes: 1, reads: 10))
        #expect(options.dataSizeRange == 10...20)
        #expect(options.wireProtocol == .memcacheText)
        #expect(options.isSelected("mixed") && !options.isSelected("set"))
        let suite = BenchmarkTest.defaultSuite(options: options, data: Array("xyz".utf8))
        #expect(suite.map(\.title) == ["MIXED (SET:GET 1:10)"])
        #expect(suite[0].plan?.sizes == 10...20)
        let selected = try #require(parse(["--ratio", "2:1", "-t", "set,get,mixed"]))
        #expect(
            BenchmarkTest.defaultSuite(options: selected, data: [65]).map(\.title) == [
                "SET", "GET", "MIXED (SET:GET 2:1)",
            ]
        )
    }

    @Test func memcacheRequests() {
        func request(_ write: Bool, _ kind: BenchmarkProtocol, _ key: Int?) -> String {
            var bytes: [UInt8] = []
            BenchmarkTest.appendRequest(
                write: write,
                protocol: kind,
                key: key,
                value: Array("abc".utf8)[...],
                into: &bytes
            )
            return String(decoding: bytes, as: UTF8.self)
        }
        #expect(request(true, .memcacheText, 7) == "set key:000000000007 0 0 3\r\nabc\r\n")
        #expect(request(false, .memcacheText, nil) == "get key:__rand_int__\r\n")
        #expect(request(true, .memcacheMeta, 123) == "ms key:000000000123 3\r\nabc\r\n")
        #expect(request(false, .memcacheMeta, 5) == "mg key:000000000005 v\r\n")
        #expect(request(true, .redis, 1) == "*3\r\n$3\r\nSET\r\n$16\r\nkey:000000000001\r\n$3\r\nabc\r\n")
        #expect(request(false, .redis, nil) == "*2\r\n$3\r\nGET\r\n$16\r\nkey:__rand_int__\r\n")
    }

    @Test func memcacheSuiteIsSetAndGet() throws {
        let options = try #require(parse(["--protocol", "memcache_meta", "-d", "2"]))
        let suite = BenchmarkTest.defaultSuite(options: options, data: Array("xy".utf8))
        #expect(suite.map(\.title) == ["SET", "GET"])
        #expect(suite[0].request == Array("ms key:__rand_int__ 2\r\nxy\r\n".utf8))
        #expect(suite[1].readsKeys)
    }

    @Test func mixedCycle() {
        let plan = RequestPlan(wireProtocol: .redis, writes: 1, reads: 3, sizes: 3...3, value: [], splitsReport: true)
        #expect((0..<8).map(plan.isWrite) == [true, false, false, false, true, false, false, false])
    }

    @Test func uri() throws {
        let options = try #require(parse(["-u", "redis://us%65r:p%40ss@example.com:6390/3"]))
        #expect(options.host == "example.com")
        #expect(options.port == 6390)
        #expect(options.user == "user")
        #expect(options.password == "p@ss")
        #expect(options.databaseNumber == 3)
        let bare = try #require(parse(["-u", "REDIS://h"]))
        #expect(bare.host == "h" && bare.port == 6379 && bare.password == nil)
        #expect(try #require(parse(["-u", "redis://"])).host == "127.0.0.1")
    }

    @Test(arguments: [
        ("http://x", "Invalid URI scheme\n"), ("redis://a%@h", "Incomplete URI encoding\n"),
        ("redis://a%4@h", "Illegal character in URI encoding\n"),
        ("redis://a%zz@h", "Illegal character in URI encoding\n"),
        ("rediss://h", "rediss:// is only supported when swiftlet-benchmark is compiled with OpenSSL\n"),
    ])
    func badURIs(uri: String, message: String) {
        #expect(BenchmarkCommandLine.parse(["-u", uri]) == .failure(text: message))
    }

    @Test func stdinAndTracking() throws {
        let options = try #require(parse(["-x", "--enable-tracking", "set", "k"]))
        #expect(options.lastArgumentFromStdin && options.enableTracking)
        #expect(options.command == ["set", "k"])
        #expect(isInvalid(["-u"], "-u"))
        let runner = BenchmarkRunner(
            options: try #require(parse(["--enable-tracking", "-a", "pw"])),
            showProgress: false
        )
        #expect(runner.prefixCommands.count == 2)
        #expect(
            runner.prefixCommands[1] == BenchmarkTest.multibulk(["CLIENT", "TRACKING", "on"].map { Array($0.utf8) })
        )
        let memcache = BenchmarkRunner(
            options: try #require(parse(["--protocol", "memcache_text", "-a", "x"])),
            showProgress: false
        )
        #expect(memcache.prefixCommands.isEmpty)
    }

    @Test func mixedReportsSplitPerOperation() {
        var writes = LatencyHistogram()
        writes.record(microseconds: 100, count: 3)
        var reads = LatencyHistogram()
        reads.record(microseconds: 200, count: 9)
        var all = writes
        all.add(reads)
        var report = LatencyReport(
            title: "MIXED (SET:GET 1:3)",
            requestsFinished: 12,
            elapsedMilliseconds: 1000,
            histogram: all,
            clients: 1,
            dataSize: 3,
            keepAlive: 1
        )
        report.addParts([writes, reads])
        #expect(report.parts.map(\.title) == ["MIXED SET", "MIXED GET"])
        #expect(report.parts.map(\.requestsFinished) == [3, 9])
        #expect(report.parts[1].quietLine == "MIXED GET: 9.00 requests per second, p50=0.200 msec\n")
        #expect(report.reportedParts.map(\.title) == ["MIXED SET", "MIXED GET"])
    }

    /// `--ratio 0:N` (or too few requests for one side) once printed a `"MIXED SET","0.00","nan",...` row.
    @Test func anEmptyPartIsLeftOut() {
        var reads = LatencyHistogram()
        reads.record(microseconds: 200, count: 9)
        var report = LatencyReport(
            title: "MIXED (SET:GET 0:3)",
            requestsFinished: 9,
            elapsedMilliseconds: 1000,
            histogram: reads,
            clients: 1,
            dataSize: 3,
            keepAlive: 1
        )
        report.addParts([LatencyHistogram(), reads])
        // Kept for the threads' merge by position, but not reported.
        #expect(report.parts.count == 2)
        #expect(report.reportedParts.map(\.title) == ["MIXED GET"])
        #expect(!report.reportedParts.contains { $0.csvRow.contains("nan") })
    }

    @Test func theConnectErrorNamesTheServer() throws {
        // Port 1 on the loopback: nothing listens there.
        let redis = ServerAddress(options: try #require(parse(["-p", "1"])))
        let memcached = ServerAddress(options: try #require(parse(["-p", "1", "--protocol", "memcache_text"])))
        #expect(throws: BenchmarkError("Could not connect to Redis at 127.0.0.1:1: Connection refused")) {
            try redis.connect()
        }
        #expect(throws: BenchmarkError("Could not connect to memcached at 127.0.0.1:1: Connection refused")) {
            try memcached.connect()
        }
    }

    @Test func progressLine() {
        var line = ProgressLine(title: "SET", start: 1_000_000)
        let text = line.text((requests: 500, microseconds: 100_000), now: 1_500_000)
        #expect(text == "SET: rps=1000.0 (overall: 1000.0) avg_msec=0.200 (overall: 0.200)\r")
        let idle = line.text((requests: 500, microseconds: 100_000), now: 2_000_000)
        #expect(idle == "SET: rps=0.0 (overall: 500.0) avg_msec=-nan (overall: 0.200)\r")
    }
}
