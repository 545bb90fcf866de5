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
        case .run(let parsed):
            options = parsed
        }
        // The command is the tail of the command line: take its bytes as they were given.
        if let raw { options.commandBytes = Array(raw.suffix(options.command.count)) }
        do {
            try run(options)
            return 0
        } catch {
            writeAll("\(error.description)\n", to: 2)
            return 1
        }
    }

    private static func run(_ options: BenchmarkOptions) throws(BenchmarkError) {
        let runner = BenchmarkRunner(options: options, showProgress: isatty(1) == 1 && !options.json)
        let configuration = serverConfiguration(options)
        if configuration == nil { writeAll("WARNING: Could not fetch server CONFIG\n", to: 2) }
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
        func report(_ test: BenchmarkTest, dataSize: Int) throws(BenchmarkError) {
            var report = try measure(test, options: options, runner: runner)
            report.dataSize = dataSize
            report.serverConfiguration = configuration
            if options.json {
                json.tests.append(BenchmarkJSON.Test(report))
            } else if options.csv {
                writeAll(report.csvRow)
            } else {
                // Blank out the progress line, as redis-benchmark's `printf("%*s\r", ...)` does.
                let clear = String(repeating: " ", count: max(runner.progressWidth, 1)) + "\r"
                writeAll(clear + (options.quiet ? report.quietLine : report.fullReport))
            }
        }
        if !options.command.isEmpty {
            let test = BenchmarkTest.custom(bytes: options.commandBytes)
            repeat {
                // The payload reported for a custom command is the whole request's length.
                try report(test, dataSize: test.request.count)
                if options.json {
                    writeAll(json.line)
                    json.tests.removeAll()
                }
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
            // redis-benchmark writes blank lines forever when `-l` selects no test; there is nothing to repeat.
        } while options.loop && !selectsNothing
    }

    /// Runs one test on the runner, or on `--threads` threads of their own.
    private static func measure(
        _ test: BenchmarkTest,
        options: BenchmarkOptions,
        runner: BenchmarkRunner
    ) throws(BenchmarkError) -> LatencyReport {
        try test.checkOutputSize(clients: options.clients, pipeline: options.pipeline)
        return options.threads > 0 ? try ThreadedBenchmark.run(test, options: options) : try runner.run(test)
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
            : [BenchmarkTest.custom(bytes: options.commandBytes)]
        let runners = (
            main: BenchmarkRunner(options: options, showProgress: false),
            other: BenchmarkRunner(options: other, showProgress: false)
        )
        var comparison = BenchmarkComparison()
        for round in 0..<options.rounds {
            for test in tests {
                // Which server goes first alternates, so that neither always finds the data the other left behind.
                for isMain in round % 2 == 0 ? [true, false] : [false, true] {
                    let report = try measure(
                        test,
                        options: isMain ? options : other,
                        runner: isMain ? runners.main : runners.other
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
