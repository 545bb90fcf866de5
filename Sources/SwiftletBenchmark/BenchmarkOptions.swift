/// redis-benchmark's command line: every setting a run takes, with redis-benchmark 7.0's defaults and clamps.
public struct BenchmarkOptions: Equatable, Sendable {
    /// `-h`: the server's host name or address.
    public var host = "127.0.0.1"
    /// `-p`: the server's TCP port.
    public var port = 6379
    /// `-s`: a Unix socket path; when set it overrides host and port.
    public var socketPath: String?
    /// `-a`: the password sent with AUTH before the first request.
    public var password: String?
    /// `--user`: the ACL user name sent with AUTH (needs `-a`).
    public var user: String?
    /// `-c`: parallel connections.
    public var clients = 50
    /// `-n`: total requests per test.
    public var requests = 100_000
    /// `-d`: value size in bytes for SET/GET and the other default tests (1 ... 1 GiB).
    public var dataSize = 3
    /// `--dbnum`: the database each connection SELECTs (0 sends no SELECT).
    public var databaseNumber = 0
    /// `-3`: start each connection with HELLO 3.
    public var resp3 = false
    /// `-k`: 1 keeps connections open, 0 reconnects after every reply batch.
    public var keepAlive = 1
    /// `-r`: the keyspace length for `__rand_int__`, nil when `-r` was not given (no substitution).
    public var randomKeyspaceLength: Int?
    /// `-P`: requests each connection keeps in flight.
    public var pipeline = 1
    /// `-q`: one line per test.
    public var quiet = false
    /// `--csv`: one CSV row per test.
    public var csv = false
    /// `--json`: one JSON object per run (see ``BenchmarkJSON``).
    public var json = false
    /// `--compare`: the other server's host and port (nil: no comparison).
    public var compareHost: String?
    public var comparePort = 0
    /// `--rounds`: how many times `--compare` runs each test against each server.
    public var rounds = 3
    /// `-l`: run the tests forever.
    public var loop = false
    /// `-I`: open the connections and wait.
    public var idle = false
    /// `-t`: the selected tests, lowercased, as `,name,name,` (nil runs them all).
    public var tests: String?
    /// `--precision`: significant digits of the latency histogram (0 ... 4).
    public var precision = 3
    /// `--threads`: the threads the connections are spread over (0: all on the calling thread).
    public var threads = 0
    /// `--duration`: run each test for this many seconds instead of `-n` requests (nil: use `-n`).
    public var duration: Double?
    /// `--qps`: the target rate of requests per second over all connections (nil: as fast as possible).
    public var qps: Int?
    /// `--seed`: the seed of the `__rand_int__` generator (nil: time and process id).
    public var seed: UInt64?
    /// The command and arguments after the options, if any (the custom-command form).
    public var command: [String] = []
    /// The same arguments as the bytes sent: argv's raw bytes when ``BenchmarkMain/run(rawArguments:)`` parsed the
    /// command line (a `String` would have repaired invalid UTF-8), else `command`'s UTF-8.
    public var commandBytes: [[UInt8]] = []
    /// `--enable-tracking`: send CLIENT TRACKING on before the first request.
    public var enableTracking = false
    /// `-x`: the custom command's last argument is read from stdin.
    public var lastArgumentFromStdin = false
    /// `-x`'s argument: stdin's bytes, read by ``BenchmarkMain`` before the run.
    public var stdinArgument: [UInt8]?
    /// `--key-pattern W:R`: how writes and reads draw `__rand_int__` (nil: uniform, as `-r`).
    public var writeKeyPattern: KeyPattern?
    public var readKeyPattern: KeyPattern?
    /// `--key-minimum` / `--key-maximum`: the inclusive key range (defaults 0 and `-r` − 1, or 10,000,000).
    public var keyMinimum: Int?
    public var keyMaximum: Int?
    /// `--key-zipf-exp`, `--key-median`, `--key-stddev`: the Zipf and Gaussian patterns' parameters.
    public var keyZipfExponent = 1.0
    public var keyMedian: Double?
    public var keyStandardDeviation: Double?
    /// `--data-size-range MIN-MAX`: each SET's value size, uniform in the range (nil: `-d`).
    public var dataSizeRange: ClosedRange<Int>?
    /// `--ratio W:R`: the mixed test's writes and reads per cycle (nil: no mixed test).
    public var ratio: Ratio?
    /// `--protocol`: what the connections speak.
    public var wireProtocol = BenchmarkProtocol.redis
    /// `--plot FILE.svg|FILE.html`: where to draw the tests' latency percentile curves.
    public var plotPath: String?
    /// This runner's index among the `--threads` runners (a sequential key pattern starts at its share).
    var keyPart = 0
    var keyParts = 1

    public init() {}

    /// Whether the named test runs: always without `-t`, else when `-t` lists it (case-insensitively).
    public func isSelected(_ name: String) -> Bool {
        guard let tests else { return true }
        return tests.contains("," + name + ",")
    }
}

/// What the command line asks for.
public enum BenchmarkCommandLine: Equatable, Sendable {
    /// Run the benchmark with these options.
    case run(BenchmarkOptions)
    /// Print `text` to stdout and exit with `status` (`--help`, `--version`, or an invalid option).
    case exit(text: String, status: Int32)
    /// Print `text` to stderr and exit with status 1 (an invalid `-u` URI, as redis-benchmark reports it).
    case failure(text: String)

    /// Parses arguments as redis-benchmark 7.0 does (without the program name).
    /// - Parameter arguments: `CommandLine.arguments.dropFirst()`.
    /// - Returns: the options, or the text to print and the status to exit with.
    public static func parse(_ arguments: [String]) -> BenchmarkCommandLine {
        var options = BenchmarkOptions()
        var index = 0
        func invalid(_ argument: String) -> BenchmarkCommandLine {
            .exit(text: "Invalid option \"\(argument)\" or option argument missing\n\n" + usage, status: 1)
        }
        while index < arguments.count {
            let argument = arguments[index]
            let isLast = index == arguments.count - 1
            if optionsWithValue.contains(argument) && isLast { return invalid(argument) }
            let value = isLast ? "" : arguments[index + 1]
            switch argument {
            case "-c": options.clients = atoi(value)
            case "-n": options.requests = atoi(value)
            case "-k": options.keepAlive = atoi(value)
            case "-h": options.host = value
            case "-p": options.port = atoi(value)
            case "-s": options.socketPath = value
            case "-a": options.password = value
            case "--user": options.user = value
            case "-3": options.resp3 = true
            case "-d": options.dataSize = min(max(atoi(value), 1), 1024 * 1024 * 1024)
            case "-P": options.pipeline = max(atoi(value), 1)
            case "-r":
                // A negative length must still be a number ("-r -5" is 0, "-r -x" is invalid).
                var digits = Substring(value)
                if digits.first == "-" { digits = digits.dropFirst() }
                if value.hasPrefix("-") && !(digits.first?.isASCII == true && digits.first?.isNumber == true) {
                    return invalid(argument)
                }
                options.randomKeyspaceLength = max(atoi(value), 0)
            case "-q": options.quiet = true
            case "--csv": options.csv = true
            case "--json": options.json = true
            case "--compare":
                // HOST:PORT, the port after the last colon (so an IPv6 address keeps its own colons).
                guard let colon = value.lastIndex(of: ":"), let port = Int(value[value.index(after: colon)...]),
                    port > 0, port < 65536, colon > value.startIndex
                else { return invalid(argument) }
                options.compareHost = String(value[..<colon])
                options.comparePort = port
            case "--rounds":
                let rounds = atoi(value)
                guard rounds > 0 else { return invalid(argument) }
                options.rounds = rounds
            case "-l": options.loop = true
            case "-I": options.idle = true
            case "-t": options.tests = "," + value.lowercased() + ","
            case "--dbnum": options.databaseNumber = atoi(value)
            case "--precision":
                let precision = atoi(value)
                options.precision = precision < 0 ? 3 : min(precision, 4)
            case "--threads": options.threads = min(max(atoi(value), 0), 500)
            case "--duration":
                guard let seconds = Double(value), seconds > 0, seconds.isFinite else { return invalid(argument) }
                options.duration = seconds
            case "--qps":
                let rate = atoi(value)
                guard rate > 0 else { return invalid(argument) }
                options.qps = rate
            case "--seed": options.seed = UInt64(value) ?? UInt64(bitPattern: Int64(atoi(value)))
            case "-u":
                if let failure = options.applyURI(value) { return .failure(text: failure) }
            case "-x": options.lastArgumentFromStdin = true
            case "--enable-tracking": options.enableTracking = true
            case "--help": return .exit(text: usage, status: 0)
            case "-v", "--version": return .exit(text: "swiftlet-benchmark \(version)\n", status: 0)
            default:
                if workloadOptions.contains(argument) {
                    guard options.parseWorkloadOption(argument, value: value) else { return invalid(argument) }
                    break
                }
                // The first argument that is not an option starts the command to benchmark.
                if argument.hasPrefix("-") { return invalid(argument) }
                options.command = Array(arguments[index...])
                options.commandBytes = options.command.map { Array($0.utf8) }
                return .run(options)
            }
            index += optionsWithValue.contains(argument) ? 2 : 1
        }
        return options.checkWorkload() ? .run(options.withWorkloadDefaults) : invalid("--key-minimum")
    }

    /// The options that take a value (the next argument).
    static let optionsWithValue: Set<String> = Set([
        "-c", "-n", "-k", "-h", "-p", "-s", "-a", "--user", "-d", "-P", "-r", "-t", "--dbnum", "--precision",
        "--threads", "--seed", "--duration", "--qps",
        "--compare", "--rounds", "-u",
    ]).union(workloadOptions)

    /// The Redis version whose redis-benchmark this tool follows.
    public static let version = "7.0.15 (swiftlet)"

    /// Like C's `atoi` (leading blanks, an optional sign, then digits; anything else stops it; 0 when none), except
    /// that an out-of-range value is clamped to `Int32`'s range where C's is undefined.
    static func atoi(_ text: String) -> Int {
        var result = 0
        var negative = false
        var started = false
        for byte in text.utf8 {
            if !started && (byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")) { continue }
            if !started && (byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+")) {
                negative = byte == UInt8(ascii: "-")
                started = true
                continue
            }
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { break }
            started = true
            result = result &* 10 &+ Int(byte - UInt8(ascii: "0"))
            if result > Int(Int32.max) { return negative ? Int(Int32.min) : Int(Int32.max) }
        }
        return negative ? -result : result
    }

    /// The `--help` text (redis-benchmark 7.0's options that this tool implements).
    public static let usage = """
        Usage: swiftlet-benchmark [OPTIONS] [COMMAND ARGS...]

        Options:
         -h <hostname>      Server hostname (default 127.0.0.1)
         -p <port>          Server port (default 6379)
         -s <socket>        Server socket (overrides host and port)
         -a <password>      Password for Redis Auth
         --user <username>  Used to send ACL style 'AUTH username pass'. Needs -a.
         -c <clients>       Number of parallel connections (default 50)
         -n <requests>      Total number of requests (default 100000)
         -d <size>          Data size of SET/GET value in bytes (default 3)
         --dbnum <db>       SELECT the specified db number (default 0)
         -3                 Start session in RESP3 protocol mode.
         --threads <num>    Enable multi-thread mode: spread the connections over <num>
                            threads, each with its own event loop.
         --duration <secs>  Run each test for <secs> seconds instead of -n requests.
         --qps <rate>       Target <rate> requests per second over all connections
                            (the reports show the rate achieved).
         -k <boolean>       1=keep alive 0=reconnect (default 1)
         -r <keyspacelen>   Use random keys for SET/GET/INCR, random values for SADD,
                            random members and scores for ZADD.
                            Using this option the benchmark will expand the string
                            __rand_int__ inside an argument with a 12 digits number in
                            the specified range from 0 to keyspacelen-1. The
                            substitution changes every time a command is executed.
                            Default tests use this to hit random keys in the specified
                            range.
                            Note: If -r is omitted, all commands in a benchmark will
                            use the same key.
         -P <numreq>        Pipeline <numreq> requests. Default 1 (no pipeline).
         -q                 Quiet. Just show query/sec values
         --precision        Number of significant digits of the latency histogram (default 3)
         --csv              Output in CSV format
         --json             Output one JSON object per run (per pass with -l), on one
                            line, keys sorted; "?" marks a member left out when it
                            has no value (or is not a finite number):
                            {"tool": "swiftlet-benchmark", "version": str,
                             "options": {"host", "port", "clients", "requests",
                               "duration"?, "qps"?,
                               "threads", "pipeline", "data_size", "keep_alive",
                               "protocol", "key_pattern"?, "key_minimum"?,
                               "key_maximum"?, "data_size_range"?, "ratio"?},
                             "tests": [{"test": title, "requests": completed,
                               "seconds": wall time, "rps"?: requests per second,
                               "latency_ms": {"avg"?, "min", "p50", "p95", "p99", "max"},
                               "percentiles": [{"percentile", "latency_ms", "count"}]}]}
                            "percentiles" is the full "Latency by percentile
                            distribution" (count: requests at or below latency_ms).
         --compare <h:p>    Run each selected test alternately against the server of
                            -h/-p (main) and the one at <h:p> (other), for --rounds
                            rounds, then print a markdown table of the medians of
                            both servers' rps and p50, with the ratio main/other.
                            -q, --csv, --json and -l do not apply to it.
         --rounds <num>     Rounds of --compare (default 3).
         -l                 Loop. Run the tests forever
         -t <tests>         Only run the comma separated list of tests. The test
                            names are the same as the ones produced as output.
                            The -t option is ignored if a specific command is supplied
                            on the command line.
         -I                 Idle mode. Just open N idle connections and wait.
         --seed <num>       Seed of the random generator for __rand_int__ (and of the
                            key patterns and value sizes below).
         -u <uri>           Server URI: redis://[[user:]password@]host[:port][/db].
         -x                 Read last argument from STDIN.
         --enable-tracking  Send CLIENT TRACKING on before starting benchmark.

        Workloads (memtier_benchmark's option names where it has one):
         --key-pattern <p>  How __rand_int__ picks keys: R (uniform, as -r), S
                            (sequential), G (Gaussian), Z (Zipf). W:R gives writes
                            and reads (GET) their own pattern. Any key option turns
                            the substitution on.
         --key-minimum <n>  Lowest key number (default 0).
         --key-maximum <n>  Highest key number (default -r minus 1, else 10000000).
         --key-zipf-exp <e> Zipf exponent, 0 < e <= 10 (default 1).
         --key-median <n>   Gaussian centre (default the middle of the range).
         --key-stddev <n>   Gaussian standard deviation (default range / 6).
         --data-size-range <min-max>
                            SET values of a random size in [min, max] bytes.
         --ratio <w:r>      Add the MIXED test: w SETs then r GETs, again and again,
                            on the same keys, reported as "MIXED (SET:GET w:r)"
                            and per operation ("MIXED SET", "MIXED GET"). Without
                            -t only MIXED runs (-t mixed selects it). A side may
                            be 0 (0:1 is GETs only): a part without requests is
                            left out of the report.
         --protocol <p>     redis (default), memcache_text (set/get) or memcache_meta
                            (ms/mg): SET, GET and MIXED against memcached.
         --plot <file>      Draw each test's latency by percentile as an SVG (a file
                            ending .svg) or an HTML page with the SVG inline (.html).
         --help             Output this help and exit.
         --version          Output version and exit.

        Examples:

         Run the benchmark with the default configuration against 127.0.0.1:6379:
           $ swiftlet-benchmark

         Use 20 parallel clients, for a total of 100k requests, against 192.168.1.1:
           $ swiftlet-benchmark -h 192.168.1.1 -p 6379 -n 100000 -c 20

         Fill 127.0.0.1:6379 with about 1 million keys only using the SET test:
           $ swiftlet-benchmark -t set -n 1000000 -r 100000000

         Benchmark 127.0.0.1:6379 for a few commands producing CSV output:
           $ swiftlet-benchmark -t ping,set,get -n 100000 --csv

         Benchmark a specific command line:
           $ swiftlet-benchmark -r 10000 -n 10000 eval 'return redis.call("ping")' 0

         Fill a list with 10000 random elements:
           $ swiftlet-benchmark -r 10000 -n 10000 lpush mylist __rand_int__

         On user specified command lines __rand_int__ is replaced with a random integer
         with a range of values selected by the -r option.

         1 SET per 10 GETs on Zipf-distributed keys of a memcached, values of 32-512 bytes:
           $ swiftlet-benchmark -p 11211 --protocol memcache_text --ratio 1:10 \\
               --key-pattern Z --key-maximum 99999 --data-size-range 32-512 --plot lat.svg

        """
}
