import Glibc

/// The swiftlet-benchmark program: parse the command line, run the selected tests, print the reports.
public enum BenchmarkMain {
    /// Runs the program.
    /// - Parameter arguments: the command line without the program name.
    /// - Returns: the exit status.
    public static func run(arguments: [String]) -> Int32 {
        run(arguments: arguments, raw: nil)
    }

    /// Runs the program on argv's raw bytes, so that a custom command's arguments are sent exactly as given.
    /// - Parameter rawArguments: the command line without the program name.
    /// - Returns: the exit status.
    public static func run(rawArguments: [[UInt8]]) -> Int32 {
        run(arguments: rawArguments.map { String(decoding: $0, as: UTF8.self) }, raw: rawArguments)
    }

    private static func run(arguments: [String], raw: [[UInt8]]?) -> Int32 {
        signal(SIGPIPE, SIG_IGN)
        var options: BenchmarkOptions
        switch BenchmarkCommandLine.parse(arguments) {
        case .exit(let text, let status):
            writeAll(text)
            return status
        case .failure(let text):
            writeAll(text, to: 2)
            return 1
        case .run(let parsed):
            options = parsed
        }
        // The command is the tail of the command line: take its bytes as they were given.
        if let raw { options.commandBytes = Array(raw.suffix(options.command.count)) }
        // `-x`: the last argument is stdin's bytes (not shown in the title), read before anything is sent.
        if options.lastArgumentFromStdin && !options.command.isEmpty {
            // redis-benchmark formats the argument as a C string: it ends at the first NUL byte.
            options.stdinArgument = Array(readStandardInput().prefix { $0 != 0 })
        }
        do {
            try run(options)
            return 0
        } catch {
            writeAll("\(error.description)\n", to: 2)
            return 1
        }
    }

    private static func run(_ options: BenchmarkOptions) throws(BenchmarkError) {
        if options.wireProtocol.isMemcache && !options.command.isEmpty {
            throw BenchmarkError("Error: a custom command needs --protocol redis")
        }
        let showProgress = isatty(1) == 1 && !options.json && !options.csv
        let runner = BenchmarkRunner(options: options, showProgress: showProgress)
        // memcached has no CONFIG: the report's header leaves the server's settings out.
        let configuration = options.wireProtocol.isMemcache ? nil : serverConfiguration(options)
        if configuration == nil && !options.wireProtocol.isMemcache {
            writeAll("WARNING: Could not fetch server CONFIG\n", to: 2)
        }
        if options.keepAlive == 0 {
            writeAll(
                "WARNING: Keepalive disabled. You probably need 'echo 1 > /proc/sys/net/ipv4/tcp_tw_reuse' for Linux "
                    + "and 'sudo sysctl -w net.inet.tcp.msl=1000' for Mac OS X in order to use a lot of clients/requests\n",
                to: 2
            )
        }
        if !options.command.isEmpty && options.tests != nil { writeAll("WARNING: Option -t is ignored.\n", to: 2) }
        if options.idle {
            writeAll("Creating \(options.clients) idle connections and waiting forever (Ctrl+C when done)\n")
            try runner.idle()
        }
        if options.compareHost != nil {
            try compare(options)
            return
        }
        if options.csv && !options.json { writeAll(LatencyReport.csvHeader) }
        var json = BenchmarkJSON(options: options)
        var plot = LatencyPlot()
        func report(_ test: BenchmarkTest, dataSize: Int) throws(BenchmarkError) {
            var progressWidth = 0
            var measured = try measure(
                test,
                options: options,
                runner: runner,
                showProgress: showProgress,
                progressWidth: &progressWidth
            )
            measured.dataSize = dataSize
            measured.serverConfiguration = configuration
            for (index, report) in ([measured] + measured.reportedParts).enumerated() {
                plot.add(report)
                if options.json {
                    json.tests.append(BenchmarkJSON.Test(report))
                } else if options.csv {
                    writeAll(report.csvRow)
                } else {
                    // Blank out the progress line, as redis-benchmark's `printf("%*s\r", ...)` does.
                    let clear = index > 0 ? "" : String(repeating: " ", count: max(progressWidth, 1)) + "\r"
                    writeAll(clear + (options.quiet ? report.quietLine : report.fullReport))
                }
            }
        }
        func finishPass() throws(BenchmarkError) {
            if let path = options.plotPath { try plot.write(to: path) }
            plot = LatencyPlot()
        }
        if !options.command.isEmpty {
            let test = customTest(options)
            repeat {
                // The payload reported for a custom command is the whole request's length.
                try report(test, dataSize: test.request.count)
                if options.json {
                    writeAll(json.line)
                    json.tests.removeAll()
                }
                try finishPass()
            } while options.loop
            return
        }
        var data = BenchmarkData()
        var selectsNothing = false
        repeat {
            let value = data.next(count: options.dataSize)
            let suite = BenchmarkTest.defaultSuiteBuilders(options: options, data: value)
            selectsNothing = suite.isEmpty
            for build in suite {
                try report(build(), dataSize: options.dataSize)
            }
            if options.json {
                writeAll(json.line)
                json.tests.removeAll()
            } else if !options.csv {
                writeAll("\n")
            }
            try finishPass()
            // redis-benchmark writes blank lines forever when `-l` selects no test; there is nothing to repeat.
        } while options.loop && !selectsNothing
    }

    /// Runs one test on the runner, or on `--threads` threads of their own.
    /// - Parameters:
    ///   - showProgress: print the live line (the runner was made with it; threads print theirs from here).
    ///   - progressWidth: set to the width of the last progress line printed.
    private static func measure(
        _ test: BenchmarkTest,
        options: BenchmarkOptions,
        runner: BenchmarkRunner,
        showProgress: Bool = false,
        progressWidth: inout Int
    ) throws(BenchmarkError) -> LatencyReport {
        try test.checkOutputSize(clients: options.clients, pipeline: options.pipeline)
        guard options.threads > 0 else {
            let report = try runner.run(test)
            progressWidth = runner.progressWidth
            return report
        }
        return try ThreadedBenchmark.run(
            test,
            options: options,
            showProgress: showProgress,
            progressWidth: &progressWidth
        )
    }

    /// The custom-command test, with `-x`'s argument last (it is not in the title, as in redis-benchmark's).
    private static func customTest(_ options: BenchmarkOptions) -> BenchmarkTest {
        var test = BenchmarkTest.custom(bytes: options.commandBytes)
        if let stdinArgument = options.stdinArgument {
            test.request = BenchmarkTest.multibulk(options.commandBytes + [stdinArgument])
        }
        return test
    }

    /// All of stdin's bytes (`-x`).
    private static func readStandardInput() -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(0, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count < 0 {
                perror("Reading from standard input")
                exit(1)
            }
            if count == 0 { return bytes }
            bytes += chunk[0..<count]
        }
    }

    /// `--compare`: each test against both servers, round after round, then the table of medians.
    private static func compare(_ options: BenchmarkOptions) throws(BenchmarkError) {
        guard let host = options.compareHost else { return }
        var other = options
        other.host = host
        other.port = options.comparePort
        other.socketPath = nil
        var data = BenchmarkData()
        let tests =
            options.command.isEmpty
            ? BenchmarkTest.defaultSuite(options: options, data: data.next(count: options.dataSize))
            : [customTest(options)]
        let runners = (
            main: BenchmarkRunner(options: options, showProgress: false),
            other: BenchmarkRunner(options: other, showProgress: false)
        )
        var comparison = BenchmarkComparison()
        for round in 0..<options.rounds {
            for test in tests {
                // Which server goes first alternates, so that neither always finds the data the other left behind.
                for isMain in round % 2 == 0 ? [true, false] : [false, true] {
                    var width = 0
                    let report = try measure(
                        test,
                        options: isMain ? options : other,
                        runner: isMain ? runners.main : runners.other,
                        progressWidth: &width
                    )
                    comparison.record(report, main: isMain)
                }
            }
        }
        let main = options.socketPath ?? "\(options.host):\(options.port)"
        writeAll(comparison.table(main: main, other: "\(host):\(options.comparePort)", rounds: options.rounds))
    }

    /// CONFIG GET save and appendonly, for the report's header (nil when the server does not answer them).
    static func serverConfiguration(_ options: BenchmarkOptions) -> (save: String, appendonly: String)? {
        var commands: [[UInt8]] = []
        if let password = options.password {
            let arguments = ["AUTH"] + (options.user.map { [$0] } ?? []) + [password]
            commands.append(BenchmarkTest.multibulk(arguments.map { Array($0.utf8) }))
        }
        for name in ["save", "appendonly"] {
            commands.append(BenchmarkTest.multibulk([Array("CONFIG".utf8), Array("GET".utf8), Array(name.utf8)]))
        }
        guard let replies = exchange(ServerAddress(options: options), commands: commands),
            let save = bulkStrings(replies[replies.count - 2]), save.count == 2,
            let appendonly = bulkStrings(replies[replies.count - 1]), appendonly.count == 2
        else { return nil }
        return (save[1], appendonly[1])
    }
}
