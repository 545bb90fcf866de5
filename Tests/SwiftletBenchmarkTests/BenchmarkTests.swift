import Testing

@testable import SwiftletBenchmark

struct BenchmarkOptionsTests {
    private func options(_ arguments: String...) -> BenchmarkOptions? {
        guard case .run(let options) = BenchmarkCommandLine.parse(arguments) else { return nil }
        return options
    }

    @Test func defaultsAreRedisBenchmarks() throws {
        let parsed = try #require(options())
        #expect(parsed.host == "127.0.0.1" && parsed.port == 6379)
        #expect(parsed.clients == 50 && parsed.requests == 100_000 && parsed.dataSize == 3)
        #expect(parsed.pipeline == 1 && parsed.keepAlive == 1 && parsed.precision == 3)
        #expect(parsed.randomKeyspaceLength == nil && parsed.tests == nil && parsed.command.isEmpty)
    }

    @Test func everyOption() throws {
        let parsed = try #require(
            options(
                "-h",
                "::1",
                "-p",
                "7000",
                "-s",
                "/tmp/s.sock",
                "-a",
                "pw",
                "--user",
                "bob",
                "-c",
                "8",
                "-n",
                "500",
                "-d",
                "100",
                "--dbnum",
                "3",
                "-3",
                "-k",
                "0",
                "-r",
                "1000",
                "-P",
                "16",
                "-q",
                "--csv",
                "-l",
                "-I",
                "-t",
                "SET,Get",
                "--precision",
                "2",
                "--threads",
                "4",
                "--seed",
                "42"
            )
        )
        #expect(parsed.host == "::1" && parsed.port == 7000 && parsed.socketPath == "/tmp/s.sock")
        #expect(parsed.password == "pw" && parsed.user == "bob")
        #expect(parsed.clients == 8 && parsed.requests == 500 && parsed.dataSize == 100)
        #expect(parsed.databaseNumber == 3 && parsed.resp3 && parsed.keepAlive == 0)
        #expect(parsed.randomKeyspaceLength == 1000 && parsed.pipeline == 16)
        #expect(parsed.quiet && parsed.csv && parsed.loop && parsed.idle)
        #expect(parsed.tests == ",set,get," && parsed.precision == 2 && parsed.threads == 4 && parsed.seed == 42)
    }

    @Test func clampsAsRedisBenchmarkDoes() throws {
        let parsed = try #require(options("-d", "0", "-P", "-3", "--precision", "9", "-r", "-5", "-n", "12abc"))
        #expect(parsed.dataSize == 1 && parsed.pipeline == 1 && parsed.precision == 4)
        #expect(parsed.randomKeyspaceLength == 0 && parsed.requests == 12)
        #expect(try #require(options("--precision", "-1")).precision == 3)
    }

    @Test func commandAfterOptions() throws {
        let parsed = try #require(options("-r", "10000", "-n", "100000", "lpush", "mylist", "__rand_int__"))
        #expect(parsed.command == ["lpush", "mylist", "__rand_int__"])
        #expect(parsed.requests == 100_000)
    }

    @Test(arguments: [["-x9"], ["-c"], ["-r", "-x"], ["--bogus", "1"]])
    func invalidOptions(_ arguments: [String]) {
        guard case .exit(let text, let status) = BenchmarkCommandLine.parse(arguments) else {
            Issue.record("expected a usage exit")
            return
        }
        #expect(status == 1)
        #expect(text.hasPrefix("Invalid option \"\(arguments[0])\" or option argument missing\n\nUsage:"))
    }

    @Test func help() {
        guard case .exit(let text, let status) = BenchmarkCommandLine.parse(["--help"]) else {
            Issue.record("expected a usage exit")
            return
        }
        #expect(status == 0 && text.hasPrefix("Usage: swiftlet-benchmark [OPTIONS] [COMMAND ARGS...]"))
    }
}

struct BenchmarkTestSelectionTests {
    private static let defaultTitles = [
        "PING_INLINE", "PING_MBULK", "SET", "GET", "INCR", "LPUSH", "RPUSH", "LPOP", "RPOP", "SADD", "HSET", "SPOP",
        "ZADD", "ZPOPMIN", "LPUSH (needed to benchmark LRANGE)", "LRANGE_100 (first 100 elements)",
        "LRANGE_300 (first 300 elements)", "LRANGE_500 (first 500 elements)", "LRANGE_600 (first 600 elements)",
        "MSET (10 keys)",
    ]

    private func titles(_ tests: String?) -> [String] {
        var options = BenchmarkOptions()
        options.tests = tests.map { "," + $0.lowercased() + "," }
        return BenchmarkTest.defaultSuite(options: options, data: Array("xxx".utf8)).map(\.title)
    }

    @Test func defaultSuiteInOrder() {
        #expect(titles(nil) == Self.defaultTitles)
    }

    @Test func selection() {
        #expect(titles("SET,get") == ["SET", "GET"])
        #expect(titles("ping") == ["PING_INLINE", "PING_MBULK"])
        #expect(titles("lrange_300") == ["LPUSH (needed to benchmark LRANGE)", "LRANGE_300 (first 300 elements)"])
        #expect(titles("lrange").count == 5)
        #expect(titles("nothing").isEmpty)
    }

    @Test func requestsAndKeyNames() {
        var options = BenchmarkOptions()
        let data = Array("abc".utf8)
        let suite = Dictionary(
            uniqueKeysWithValues: BenchmarkTest.defaultSuite(options: options, data: data).map {
                ($0.title, $0.request)
            }
        )
        #expect(suite["PING_INLINE"] == Array("PING\r\n".utf8))
        #expect(suite["SET"] == Array("*3\r\n$3\r\nSET\r\n$16\r\nkey:__rand_int__\r\n$3\r\nabc\r\n".utf8))
        #expect(suite["INCR"] == Array("*2\r\n$4\r\nINCR\r\n$20\r\ncounter:__rand_int__\r\n".utf8))
        #expect(
            suite["ZADD"]
                == BenchmarkTest.multibulk(["ZADD", "myzset", "0", "element:__rand_int__"].map { Array($0.utf8) })
        )
        #expect(
            suite["LRANGE_600 (first 600 elements)"]
                == BenchmarkTest.multibulk(["LRANGE", "mylist", "0", "599"].map { Array($0.utf8) })
        )
        let mset = suite["MSET (10 keys)"] ?? []
        #expect(mset.starts(with: Array("*21\r\n$4\r\nMSET\r\n".utf8)))
        #expect(RandomPlaceholders(in: mset).offsets.count == 10)
        options.randomKeyspaceLength = 100
        let zadd = BenchmarkTest.defaultSuite(options: options, data: data).first { $0.title == "ZADD" }
        #expect(RandomPlaceholders(in: zadd?.request ?? []).offsets.count == 2)
    }

    @Test func dataMatchesRedisBenchmarksGenerator() {
        var data = BenchmarkData()
        // The first bytes of redis-benchmark's genBenchmarkRandomData (state 1234).
        let first = data.next(count: 3)
        var state: UInt32 = 1234
        let expected = (0..<3).map { _ -> UInt8 in
            state = state &* 1_103_515_245 &+ 12345
            return 48 + UInt8((state >> 16) & 63)
        }
        #expect(first == expected)
        #expect(data.next(count: 3) != first)
    }
}

struct RandomPlaceholderTests {
    @Test func substitutesTwelveDigitsBelowTheKeyspace() {
        var buffer = Array("SET key:__rand_int__ v __rand_int__".utf8)
        let placeholders = RandomPlaceholders(in: buffer)
        #expect(placeholders.offsets == [8, 23])
        var generator = SplitMix64(seed: 7)
        for _ in 0..<100 {
            placeholders.substitute(in: &buffer, keyspaceLength: 1000, using: &generator)
            let text = String(decoding: buffer, as: UTF8.self)
            let parts = text.split(separator: " ")
            let key = parts[1].dropFirst(4)
            #expect(key.count == 12 && key.hasPrefix("000000000"))
            #expect(Int(key).map { $0 < 1000 } == true)
            #expect(parts[3].count == 12 && Int(parts[3]).map { $0 < 1000 } == true)
        }
    }

    @Test func zeroKeyspaceWritesZeros() {
        var buffer = Array("__rand_int__".utf8)
        var generator = SplitMix64(seed: 1)
        RandomPlaceholders(in: buffer).substitute(in: &buffer, keyspaceLength: 0, using: &generator)
        #expect(buffer == Array("000000000000".utf8))
    }

    @Test func placeholdersAreNeverInThePrefix() {
        // `-a __rand_int__ -r 10`: the password is sent as it is, and the offsets point into the requests only.
        let auth = BenchmarkTest.multibulk([Array("AUTH".utf8), Array("__rand_int__".utf8)])
        let request = BenchmarkTest.multibulk([Array("GET".utf8), Array("__rand_int__".utf8)])
        let connection = BenchmarkConnection(fd: -1, prefix: [auth], request: request, pipeline: 2)
        #expect(connection.prefix == auth)
        #expect(connection.output == request + request)
        #expect(connection.placeholders.offsets == [18, request.count + 18])
        #expect(connection.pending == 3 && connection.prefixPending == 1)
    }

    @Test func seededGeneratorIsDeterministic() {
        var first = SplitMix64(seed: 99)
        var second = SplitMix64(seed: 99)
        #expect((0..<5).map { _ in first.next() } == (0..<5).map { _ in second.next() })
    }
}

struct LatencyReportTests {
    /// 100 latencies of 100 µs ... 10 ms in 100 µs steps, over 2 seconds' wall time.
    private func report() -> LatencyReport {
        var histogram = LatencyHistogram()
        for value in stride(from: 100, through: 10_000, by: 100) { histogram.record(microseconds: UInt64(value)) }
        return LatencyReport(
            title: "SET",
            requestsFinished: 100,
            elapsedMilliseconds: 2000,
            histogram: histogram,
            clients: 50,
            dataSize: 3,
            keepAlive: 1,
            serverConfiguration: (save: "", appendonly: "no")
        )
    }

    @Test func quietLine() {
        #expect(report().quietLine == "SET: 50.00 requests per second, p50=5.007 msec\n")
    }

    @Test func csv() {
        #expect(
            LatencyReport.csvHeader
                == "\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\",\"p50_latency_ms\",\"p95_latency_ms\","
                + "\"p99_latency_ms\",\"max_latency_ms\"\n"
        )
        #expect(report().csvRow == "\"SET\",\"50.00\",\"5.052\",\"0.096\",\"5.007\",\"9.503\",\"9.903\",\"10.007\"\n")
    }

    @Test func fullReport() {
        let lines = report().fullReport.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(
            Array(lines[0..<10]) == [
                "====== SET ======", "  100 requests completed in 2.00 seconds", "  50 parallel clients",
                "  3 bytes payload", "  keep alive: 1", "  host configuration \"save\": ",
                "  host configuration \"appendonly\": no", "  multi-thread: no", "",
                "Latency by percentile distribution:",
            ]
        )
        #expect(lines[10] == "0.000% <= 0.103 milliseconds (cumulative count 1)")
        #expect(lines[11] == "50.000% <= 5.007 milliseconds (cumulative count 50)")
        #expect(lines.contains("100.000% <= 10.007 milliseconds (cumulative count 100)"))
        let cumulative = lines.firstIndex(of: "Cumulative distribution of latencies:") ?? 0
        #expect(cumulative > 0)
        #expect(lines[cumulative + 1] == "1.000% <= 0.103 milliseconds (cumulative count 1)")
        // Tenths of a millisecond to 2 ms, then 2.1 ms, then whole milliseconds.
        #expect(lines.contains("20.000% <= 2.007 milliseconds (cumulative count 20)"))
        #expect(lines.contains("21.000% <= 2.103 milliseconds (cumulative count 21)"))
        #expect(lines.contains("31.000% <= 3.103 milliseconds (cumulative count 31)"))
        #expect(!lines.contains { $0.contains("<= 2.207") })
        #expect(
            Array(lines.suffix(6)) == [
                "Summary:", "  throughput summary: 50.00 requests per second", "  latency summary (msec):",
                "          avg       min       p50       p95       p99       max",
                "        5.052     0.096     5.007     9.503     9.903    10.007", "",
            ]
        )
    }
}
