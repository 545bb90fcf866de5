import SwiftletRESP

/// The command line of `swiftlet-cli`, parsed as redis-cli 7.0's `parseOptions` parses it.
public struct CLIOptions: Sendable, Hashable {
    public var host = "127.0.0.1"
    public var port: Int32 = 6379
    /// `-s`: a Unix socket path; overrides host and port.
    public var socketPath: String?
    /// `-a`, `--pass`, the URI's password, or `REDISCLI_AUTH`.
    public var password: [UInt8]?
    /// `--user` or the URI's user name: with a password, `AUTH user pass`.
    public var user: [UInt8]?
    /// `-n` or the URI's path: selected after connecting when not 0.
    public var database: Int32 = 0
    /// `-r`: how many times the command runs; negative runs it forever.
    public var repeatCount: Int64 = 1
    /// `-i`: the pause after each run, in microseconds.
    public var intervalMicroseconds: UInt64 = 0
    /// `-x`: the last argument is read from stdin.
    public var lastArgumentFromStdin = false
    /// `-X tag`: the argument equal to `tag` is replaced by stdin.
    public var stdinTag: String?
    /// `-2`.
    public var resp2 = false
    /// `-3` (explicit) or `--json` (implicit, where a failed HELLO 3 is not fatal).
    public var resp3: ProtocolRequest = .none
    public var output: OutputMode
    /// `--show-pushes`: print RESP3 push messages (by default only when stdout is a terminal).
    public var showPushes: Bool
    public var bulkDelimiter: [UInt8] = [10]
    public var replyDelimiter: [UInt8] = [10]
    /// `-e`: an error reply is printed on stderr and the exit status is 1.
    public var exitOnErrorReply = false
    public var noAuthWarning = false
    /// What redis-cli prints on stderr while it reads its options (the password warning, a bad `--show-pushes`).
    public var warnings = ""
    /// `--askpass`: the password is read from stdin (overriding `-a` and `REDISCLI_AUTH`).
    public var askPassword = false
    public var verbose = false
    /// `--pipe`: mass insertion of the raw RESP read from stdin.
    public var pipe = false
    /// `--pipe-timeout`: seconds without a reply, after stdin ended, before `--pipe` gives up (0: never).
    public var pipeTimeout = 30
    /// `--scan`: lists the keys (matching ``pattern``) with SCAN.
    public var scan = false
    /// `--pattern` or `--quoted-pattern`: SCAN's MATCH.
    public var pattern: [UInt8]?
    /// `--latency` (or `--latency-history`): PING round trips.
    public var latency = false
    /// `--latency-history`: a new range every `-i` seconds.
    public var latencyHistory = false
    /// `--latency-dist`: a spectrum of PING round trips.
    public var latencyDistribution = false
    /// `--mono`: grey levels for `--latency-dist`.
    public var monochrome = false
    /// `--stat`: a line of server statistics every `-i` seconds.
    public var stat = false
    /// `--bigkeys`: the biggest key of each type, by STRLEN, LLEN, ...
    public var bigKeys = false
    /// `--memkeys` or `--memkeys-samples`: the biggest key of each type, by MEMORY USAGE.
    public var memKeys = false
    /// `--memkeys-samples`: MEMORY USAGE's SAMPLES (0: the server's default).
    public var memkeysSamples: UInt32 = 0
    /// `--eval file`: runs the file's Lua script with EVAL; the command words are its keys, `,`, then its arguments.
    public var evalFile: String?
    /// `--rdb FILE` or `--functions-rdb FILE`: where the fetched RDB goes (`-` for stdout).
    public var rdbFile: String?
    /// `--rdb FILE`.
    public var getRDB = false
    /// `--functions-rdb FILE`: only the functions are asked for (`REPLCONF rdb-filter-only functions`).
    public var functionsRDB = false
    /// `--replica` (or `--slave`): prints the master's replication stream.
    public var replica = false
    /// `--hotkeys`: the keys with the highest `OBJECT FREQ`.
    public var hotKeys = false
    /// `--intrinsic-latency SECONDS`: measures this machine's scheduling latency, without a server.
    public var intrinsicLatencySeconds: Int32?
    /// `--lru-test KEYS`: an endless SET/GET load over that many keys with an 80-20 distribution.
    public var lruTestKeys: Int64?
    /// `--quoted-input`: each command word is read as a quoted string (`"a\x00b"`).
    public var quotedInput = false
    /// `--memcached`: speaks memcached's text and meta protocols instead of RESP (port 11211 unless given).
    public var memcached = false
    /// Whether `-p` was given (`--memcached` changes the default port only).
    public var portGiven = false
    /// The command and its arguments: everything from the first word that is not an option.
    public var command: [String] = []

    /// Whether RESP3 was asked for.
    public enum ProtocolRequest: Sendable, Hashable {
        case none
        /// `-3`: a failed HELLO 3 fails the connection.
        case explicit
        /// `--json` / `--quoted-json`: a failed HELLO 3 only prints a message.
        case implicit
    }

    /// The defaults before any option: redis-cli prints raw replies and hides pushes when stdout is not a terminal.
    public init(stdoutIsTerminal: Bool) {
        self.output = stdoutIsTerminal ? .standard : .raw
        self.showPushes = stdoutIsTerminal
    }
}

/// How the program ends before (or instead of) running a command: what it prints, where, and its exit status.
public struct CLIExit: Error, Hashable, Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String

    public init(status: Int32, stdout: String = "", stderr: String = "") {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }

    static func failure(_ line: String) -> CLIExit { CLIExit(status: 1, stderr: line + "\n") }
}

extension CLIOptions {
    /// Options redis-cli 7.0 has that this slice does not implement; each one exits with a clear message.
    static let unsupported: Set<String> = [
        "--tls", "--sni", "--cacert", "--cacertdir", "--insecure", "--cert", "--key",
        "--tls-ciphers", "--tls-ciphersuites", "--ldb", "--ldb-sync-mode", "--cluster",
    ]

    /// Parses the arguments after the program name.
    /// - Parameters:
    ///   - arguments: the command line without `argv[0]`.
    ///   - environment: for `REDISCLI_AUTH`.
    ///   - stdoutIsTerminal: picks the default output mode.
    /// - Returns: the options; ``CLIOptions/command`` holds the command words.
    /// - Throws: ``CLIExit`` for `--help`, `--version`, a bad option or a bad URI, with redis-cli's texts.
    public static func parse(
        _ arguments: [String],
        environment: [String: String] = [:],
        stdoutIsTerminal: Bool
    ) throws(CLIExit) -> CLIOptions {
        var options = CLIOptions(stdoutIsTerminal: stdoutIsTerminal)
        do {
            try options.read(arguments)
            try options.finish(environment: environment)
        } catch {
            // Warnings come first, as redis-cli prints them before it stops.
            throw CLIExit(status: error.status, stdout: error.stdout, stderr: options.warnings + error.stderr)
        }
        return options
    }

    private mutating func read(_ arguments: [String]) throws(CLIExit) {
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            let hasValue = index + 1 < arguments.count
            let value = hasValue ? arguments[index + 1] : ""
            var consumed = hasValue
            switch argument {
            case "-h" where hasValue: self.host = value
            case "-h", "--help": throw CLIExit(status: 0, stdout: Self.usage)
            case "-v", "--version": throw CLIExit(status: 0, stdout: "swiftlet-cli \(Self.version)\n")
            case "-x":
                self.lastArgumentFromStdin = true
                consumed = false
            case "-X" where hasValue: self.stdinTag = value
            case "-p" where hasValue:
                self.port = Int32(truncatingIfNeeded: Self.atoi(value))
                self.portGiven = true
            case "-s" where hasValue: self.socketPath = value
            case "-r" where hasValue: self.repeatCount = Self.strtoll(value)
            case "-i" where hasValue: self.intervalMicroseconds = Self.intervalMicroseconds(seconds: Self.atof(value))
            case "-n" where hasValue: self.database = Int32(truncatingIfNeeded: Self.atoi(value))
            case "--no-auth-warning":
                self.noAuthWarning = true
                consumed = false
            case "--askpass":
                self.askPassword = true
                consumed = false
            case "-a" where hasValue, "--pass" where hasValue: self.password = Array(value.utf8)
            case "--user" where hasValue: self.user = Array(value.utf8)
            case "-u" where hasValue: try self.applyURI(value)
            case "--raw":
                self.output = .raw
                consumed = false
            case "--no-raw":
                self.output = .standard
                consumed = false
            case "--csv":
                self.output = .csv
                consumed = false
            case "--json", "--quoted-json":
                // `-3` given earlier stays explicit.
                if self.resp3 == .none { self.resp3 = .implicit }
                self.output = argument == "--json" ? .json : .quotedJSON
                consumed = false
            case "-d" where hasValue: self.bulkDelimiter = Array(value.utf8)
            case "-D" where hasValue: self.replyDelimiter = Array(value.utf8)
            case "-e":
                self.exitOnErrorReply = true
                consumed = false
            case "--verbose":
                self.verbose = true
                consumed = false
            case "-2":
                self.resp2 = true
                consumed = false
            case "-3":
                self.resp3 = .explicit
                consumed = false
            case "--show-pushes" where hasValue:
                switch value.lowercased().first {
                case "n": self.showPushes = false
                case "y": self.showPushes = true
                default:
                    // redis-cli only warns and goes on.
                    self.warnings += "Unknown --show-pushes value '\(value)' (valid: '[y]es', '[n]o')\n"
                }
            case "--pipe":
                self.pipe = true
                consumed = false
            case "--pipe-timeout" where hasValue: self.pipeTimeout = Int(truncatingIfNeeded: Self.atoi(value))
            case "--scan":
                self.scan = true
                consumed = false
            case "--pattern" where hasValue: self.pattern = Array(value.utf8)
            case "--quoted-pattern" where hasValue:
                guard let words = InlineSplitter.split(Array(value.utf8)), words.count == 1 else {
                    throw CLIExit.failure("Invalid quoted string specified for --quoted-pattern.")
                }
                self.pattern = words[0]
            case "--eval" where hasValue: self.evalFile = value
            case "--latency":
                self.latency = true
                consumed = false
            case "--latency-history":
                self.latency = true
                self.latencyHistory = true
                consumed = false
            case "--latency-dist":
                self.latencyDistribution = true
                consumed = false
            case "--mono":
                self.monochrome = true
                consumed = false
            case "--stat":
                self.stat = true
                consumed = false
            case "--bigkeys":
                self.bigKeys = true
                consumed = false
            case "--memkeys":
                self.memKeys = true
                self.memkeysSamples = 0
                consumed = false
            case "--memkeys-samples" where hasValue:
                self.memKeys = true
                self.memkeysSamples = UInt32(truncatingIfNeeded: Self.atoi(value))
            case "--rdb" where hasValue, "--functions-rdb" where hasValue:
                self.rdbFile = value
                if argument == "--rdb" { self.getRDB = true } else { self.functionsRDB = true }
            case "--replica", "--slave":
                self.replica = true
                consumed = false
            case "--hotkeys":
                self.hotKeys = true
                consumed = false
            case "--intrinsic-latency" where hasValue:
                self.intrinsicLatencySeconds = Int32(truncatingIfNeeded: Self.atoi(value))
            case "--lru-test" where hasValue:
                let keys = Self.strtoll(value)
                // redis-cli goes on with a degenerate or NaN key space there; refused here.
                guard keys >= LRUTest.minimumKeys else {
                    throw CLIExit.failure("Invalid --lru-test key count '\(value)': it must be 1 or more.")
                }
                self.lruTestKeys = keys
            case "--quoted-input":
                self.quotedInput = true
                consumed = false
            case "--memcached":
                self.memcached = true
                consumed = false
            case "-c":
                throw CLIExit.failure("swiftlet-cli: cluster mode (-c) is not supported")
            default:
                if Self.unsupported.contains(argument) {
                    throw CLIExit.failure("swiftlet-cli: option '\(argument)' is not supported")
                }
                if argument.hasPrefix("-") {
                    throw CLIExit.failure("Unrecognized option or bad number of args for: '\(argument)'")
                }
                self.command = Array(arguments[index...])
                return
            }
            index += consumed ? 2 : 1
        }
    }

    private mutating func finish(environment: [String: String]) throws(CLIExit) {
        if self.resp2 && self.resp3 == .explicit {
            throw CLIExit.failure("Options -2 and -3 are mutually exclusive.")
        }
        if !self.noAuthWarning && self.password != nil {
            self.warnings +=
                ("Warning: Using a password with '-a' or '-u' option on the command line interface may not be safe.\n")
        }
        if self.getRDB && self.functionsRDB {
            throw CLIExit.failure("Option --functions-rdb and --rdb are mutually exclusive.")
        }
        if self.lastArgumentFromStdin && self.stdinTag != nil {
            throw CLIExit.failure("Options -x and -X are mutually exclusive.")
        }
        if self.memcached && !self.portGiven { self.port = 11211 }
        // The environment's password never overrides one given on the command line, and gets no warning.
        if self.password == nil, let auth = environment["REDISCLI_AUTH"] {
            self.password = Array(auth.utf8)
        }
    }

    /// `-u redis://[[user]:password@]host[:port][/db]`, as redis-cli's `parseRedisUri` reads it: each part present
    /// replaces what earlier options set.
    mutating func applyURI(_ uri: String) throws(CLIExit) {
        var rest = Substring(uri)
        if rest.lowercased().hasPrefix("rediss://") {
            throw CLIExit.failure("swiftlet-cli: rediss:// (TLS) is not supported")
        }
        guard rest.lowercased().hasPrefix("redis://") else { throw CLIExit.failure("Invalid URI scheme") }
        rest = rest.dropFirst("redis://".count)
        if rest.isEmpty { return }
        if let at = rest.firstIndex(of: "@") {
            var secret = rest[..<at]
            if let colon = secret.firstIndex(of: ":") {
                self.user = try Self.percentDecode(secret[..<colon])
                secret = secret[secret.index(after: colon)...]
            }
            self.password = try Self.percentDecode(secret)
            rest = rest[rest.index(after: at)...]
        }
        if rest.isEmpty { return }
        let slash = rest.firstIndex(of: "/")
        if rest.first != "/" {
            var hostPart = rest[..<(slash ?? rest.endIndex)]
            // Like redis-cli, the port is looked for anywhere after the user info, even past the path.
            if let colon = rest.firstIndex(of: ":") {
                self.port = Int32(truncatingIfNeeded: Self.atoi(String(rest[rest.index(after: colon)...])))
                self.portGiven = true
                hostPart = rest[..<colon]
            }
            self.host = String(hostPart)
        }
        guard let slash else { return }
        let path = rest[rest.index(after: slash)...]
        if path.isEmpty { return }
        self.database = Int32(truncatingIfNeeded: Self.atoi(String(path)))
    }

    static func percentDecode(_ text: Substring) throws(CLIExit) -> [UInt8] {
        var out: [UInt8] = []
        let bytes = Array(text.utf8)
        var index = 0
        while index < bytes.count {
            guard bytes[index] == UInt8(ascii: "%") else {
                out.append(bytes[index])
                index += 1
                continue
            }
            // Only a `%` that ends the part is incomplete: redis-cli reads one byte on past a `%4` at the end, and
            // that byte (`:` or `@`) is never a hex digit.
            guard bytes.count - index >= 2 else { throw CLIExit.failure("Incomplete URI encoding") }
            guard index + 2 < bytes.count, let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2])
            else {
                throw CLIExit.failure("Illegal character in URI encoding")
            }
            out.append(high << 4 | low)
            index += 3
        }
        return out
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    // MARK: - C-style number parsing (redis-cli uses atoi, atof and strtoll: leading digits, 0 when none)

    static func strtoll(_ text: String) -> Int64 {
        var bytes = Substring(text).drop { $0 == " " || $0 == "\t" }.utf8[...]
        var negative = false
        if let sign = bytes.first, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") {
            negative = sign == UInt8(ascii: "-")
            bytes = bytes.dropFirst()
        }
        var value: Int64 = 0
        for byte in bytes {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { break }
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
            if overflow1 || overflow2 { return negative ? .min : .max }
            value = sum
        }
        return negative ? -value : value
    }

    static func atoi(_ text: String) -> Int64 { strtoll(text) }

    /// The longest `-i` kept, in microseconds: about 31 years, far below `Int64.max`, so the modes may convert
    /// and scale it freely.
    static let maximumIntervalMicroseconds: UInt64 = 1_000_000_000_000_000

    /// `-i` in microseconds. redis-cli converts `atof(arg) * 1e6` to `long long`, which is undefined for
    /// huge or infinite values; here NaN and negatives mean no pause and huge values the longest pause.
    static func intervalMicroseconds(seconds: Double) -> UInt64 {
        let microseconds = seconds * 1_000_000
        guard microseconds > 0 else { return 0 }  // negative, zero or NaN
        guard microseconds < Double(Self.maximumIntervalMicroseconds) else { return Self.maximumIntervalMicroseconds }
        return UInt64(microseconds)
    }

    static func atof(_ text: String) -> Double {
        let trimmed = text.drop { $0 == " " || $0 == "\t" }
        var end = trimmed.startIndex
        var best: Double = 0
        // The longest prefix that parses as a number, as C's atof reads one.
        while end < trimmed.endIndex {
            end = trimmed.index(after: end)
            if let parsed = Double(trimmed[trimmed.startIndex..<end]) { best = parsed }
        }
        return best
    }

    static let version = "7.0.15"

    static let usage = """
        swiftlet-cli \(version) (redis-cli compatible)

        Usage: swiftlet-cli [OPTIONS] [cmd [arg [arg ...]]]
          -h <hostname>      Server hostname (default: 127.0.0.1).
          -p <port>          Server port (default: 6379).
          -s <socket>        Server socket (overrides hostname and port).
          -a <password>      Password to use when connecting to the server.
                             You can also use the REDISCLI_AUTH environment
                             variable to pass this password more safely
                             (if both are used, this argument takes precedence).
          --user <username>  Used to send ACL style 'AUTH username pass'. Needs -a.
          --pass <password>  Alias of -a for consistency with the new --user option.
          --askpass          Force user to input password with mask from STDIN.
                             If this argument is used, '-a' and REDISCLI_AUTH
                             environment variable will be ignored.
          -u <uri>           Server URI (redis://[[user]:password@]host[:port][/db]).
          -r <repeat>        Execute specified command N times.
          -i <interval>      When -r is used, waits <interval> seconds per command.
          -n <db>            Database number.
          -2                 Start session in RESP2 protocol mode.
          -3                 Start session in RESP3 protocol mode.
          -x                 Read last argument from STDIN.
          -X <tag>           Read <tag> argument from STDIN.
          -d <delimiter>     Delimiter between response bulks for raw formatting (default: \\n).
          -D <delimiter>     Delimiter between responses for raw formatting (default: \\n).
          -e                 Return exit error code when command execution fails.
          --raw              Use raw formatting for replies (default when STDOUT is
                             not a tty).
          --no-raw           Force formatted output even when STDOUT is not a tty.
          --quoted-input     Force input to be handled as quoted strings.
          --csv              Output in CSV format.
          --json             Output in JSON format (default RESP3, use -2 if you want to use with RESP2).
          --quoted-json      Same as --json, but produce ASCII-safe quoted strings, not Unicode.
          --show-pushes <yn> Whether to print RESP3 PUSH messages.
          --no-auth-warning  Don't show warning message when using password on command
                             line interface.
          --verbose          Verbose mode.
          --stat             Print rolling stats about server: mem, clients, ...
          --latency          Enter a special mode continuously sampling latency.
                             If you use this mode in an interactive session it runs
                             forever displaying real-time stats. Otherwise if --raw or
                             --csv is specified, or if you redirect the output to a non
                             TTY, it samples the latency for 1 second (you can use
                             -i to change the interval), then produces a single output
                             and exits.
          --latency-history  Like --latency but tracking latency changes over time.
                             Default time interval is 15 sec. Change it using -i.
          --latency-dist     Shows latency as a spectrum, requires xterm 256 colors.
                             Default time interval is 1 sec. Change it using -i.
          --mono             Use --latency-dist with grey levels instead of colors.
          --lru-test <keys>  Simulate a cache workload with an 80-20 distribution.
          --replica          Simulate a replica showing commands received from the master.
          --rdb <filename>   Transfer an RDB dump from remote server to local file.
                             Use filename of "-" to write to stdout.
         --functions-rdb <filename> Like --rdb but only get the functions (not the keys)
                             when getting the RDB dump file.
          --pipe             Transfer raw Redis protocol from stdin to server.
          --pipe-timeout <n> In --pipe mode, abort with error if after sending all data.
                             no reply is received within <n> seconds.
                             Default timeout: 30. Use 0 to wait forever.
          --bigkeys          Sample Redis keys looking for keys with many elements (complexity).
          --memkeys          Sample Redis keys looking for keys consuming a lot of memory.
          --memkeys-samples <n> Sample Redis keys looking for keys consuming a lot of memory.
                             And define number of key elements to sample
          --hotkeys          Sample Redis keys looking for hot keys.
                             only works when maxmemory-policy is *lfu.
          --scan             List all keys using the SCAN command.
          --pattern <pat>    Keys pattern when using the --scan, --bigkeys or --hotkeys
                             options (default: *).
          --quoted-pattern <pat> Same as --pattern, but the specified string can be
                                 quoted, in order to pass an otherwise non binary-safe string.
          --intrinsic-latency <sec> Run a test to measure intrinsic system latency.
                             The test will run for the specified amount of seconds.
          --eval <file>      Send an EVAL command using the Lua script at <file>.
          --memcached        Speak memcached's text and meta protocols (default port 11211):
                             the words make one request line; for storage commands the
                             last word is the data block (see docs/TOOLS.md).
          --help             Output this help and exit.
          --version          Output version and exit.

        Not supported yet: cluster mode (-c), TLS and --ldb.

        """
}
