import SwiftletMemcachedStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// memcached 1.6.18's command line, so that `swiftlet-memcached` is a drop-in for `memcached` in service files and
/// scripts: `parse` is memcached's `main()` up to the point where it starts doing things (binding sockets, dropping
/// root, daemonizing), with glibc's `getopt_long` over memcached's short and long options, `getsubopt` over `-o`'s
/// list, memcached's number parsing (`atoi`, `atof`, `safe_strtoul`, `safe_strtol`: the C library's own, so the same
/// inputs give the same values, 32-bit truncation and wrap-around included), its checks after the loop in its order,
/// and its messages and exit statuses byte for byte.
///
/// The build reproduced is memcached 1.6.18 without extstore, TLS, SASL and the proxy (Swiftlet has none of them):
/// `ext_*`, `ssl_*` and `proxy_*` suboptions are refused as such a build refuses them (`Illegal suboption "…"` on
/// standard output, status 1; Debian's build, which has extstore, accepts `ext_*` and prints unknown suboptions to
/// standard error instead), `-Z` with "This server is not built with TLS support." (64), and `-S` with
/// "SASL is not supported by swiftlet-memcached" (64).
///
/// Where memcached crashes on a command line, this stops cleanly instead: `-o slab_chunk_max` without a value (status
/// 1 after memcached's own "Missing slab_chunk_max argument"), `-o slab_sizes` without a value (status 1, "Missing
/// slab_sizes argument"), and a `slab_chunk_max` of 0 (for instance after "could not parse argument to
/// slab_chunk_max"), which memcached divides by: reported as not dividing `-I` (status 64).
///
/// Left to the executable, because they touch the process: "can't run as root without the -u switch" (64) and "can't
/// find the user %s to switch to" (67, EX_NOUSER), the core and open-files limits (`-r`, `-c`: EX_OSERR, 71), `-k`'s
/// `mlockall` warning, `-d`, `-P`, loading `-Y`'s file, and binding.
public enum MemcachedOptions {
    /// What `-V` prints after "memcached ".
    public static let version = "1.6.18"

    /// A command line that starts the server.
    public struct ParsedOptions: Sendable {
        /// Every option that has a field.
        public var settings: MemcachedSettings
        /// What memcached prints on standard error and carries on after, one entry per message, as memcached words
        /// it and without the final newline (an entry may hold several lines): `-t` above 64, `-o
        /// resp_obj_mem_limit`, "could not parse argument to slab_chunk_max". Print each with a newline on standard
        /// error before starting.
        public var warnings: [String]
        /// What the command line set that `MemcachedSettings` has no field for yet.
        public var extras: Extras
    }

    /// Settings memcached keeps (and `stats settings` reports) that `MemcachedSettings` has no field for.
    public struct Extras: Sendable, Equatable {
        /// `-l` as memcached keeps it (`settings.inter`, `stats settings`' `inter`): each `-l` appended after a comma
        /// unless the text so far already contains it. nil without `-l`.
        public var interface: String? = nil
        /// `-D` turns on per-prefix stats (`detail_enabled`).
        public var detailEnabled = false
        /// `-o maxconns_fast` (default), `no_maxconns_fast`, `no_modern`.
        public var maxconnsFast = true
        /// `-o hash_algorithm`: "murmur3" (default), "jenkins" (also `no_modern`) or "xxh3".
        public var hashAlgorithm = "murmur3"
        /// `-o hashpower` as given (0: not given; `settings.store.hashPower` is then 16): `stats settings`'
        /// `hashpower_init`.
        public var hashPowerInitial = 0
        /// Not `-o no_hashexpand`: the hash table grows.
        public var hashExpansion = true
        /// `-o drop_privileges`, `no_drop_privileges`.
        public var dropPrivileges = false
        /// Not `-W`: `watch` allowed.
        public var watchEnabled = true
        /// `-N`
        public var napiIDs = 0
        /// `-e`: memcached's restartable cache file.
        public var memoryFile: String? = nil
        /// `-o sock_cookie_id` (SO_MARK on the listening sockets).
        public var socketCookieID: UInt32 = 0
        /// `-L` or `-e`: memcached preallocates all of `-m` at start.
        public var preallocate = false

        public init() {}
    }

    public enum Outcome: Sendable {
        /// Start the server.
        case run(ParsedOptions)
        /// Print `output` as is (it ends with a newline) on standard error or standard output, and exit with
        /// `status`. On standard error it begins with the warnings printed before the error; warnings printed before
        /// an exit on standard output (`-t 100 -h`) are not included.
        case exit(status: Int32, output: String, toStandardError: Bool)
    }

    /// memcached's exit statuses.
    public static let exitUsage: Int32 = 64  // EX_USAGE
    public static let exitFailure: Int32 = 1  // EXIT_FAILURE, and main()'s `return 1`

    /// Parses `arguments` (without `argv[0]`) as memcached 1.6.18's `main()` does. `programName` is `argv[0]` in
    /// getopt's messages ("memcached: invalid option -- 'Q'"); `-L` looks at the transparent huge pages setting, as
    /// memcached does on Linux.
    public static func parse(_ arguments: [String], programName: String = "memcached") -> Outcome {
        Self.parse(arguments, programName: programName, largePages: LargePages.probe)
    }

    /// `parse`, with `-L`'s look at the system given.
    static func parse(
        _ arguments: [String],
        programName: String,
        largePages: () -> LargePages
    ) -> Outcome {
        var parser = Parser(programName: programName)
        do {
            return .run(try parser.parse(arguments, largePages: largePages))
        } catch {
            return .exit(status: error.status, output: error.output, toStandardError: error.toStandardError)
        }
    }

    /// `-h`'s text with the default settings. memcached prints the current values, so `-p 1234 -h` says "(default:
    /// 1234)", and it stops with status 1 in the middle when one of five settings it checks differs from its default
    /// (`-U 5 -h`): `parse` does the same.
    public static var usage: String { Self.usage(State()).text }

    /// `-i`'s text: memcached's form (its name and version, a blank line, the license), Swiftlet's words.
    public static var license: String {
        "memcached \(Self.version)\n\n"
            + "swiftlet-memcached is Swiftlet's memcached server. It takes memcached 1.6.18's command line and\n"
            + "protocols and contains no memcached or libevent code; memcached's own license (BSD, Copyright (c)\n"
            + "2003, Danga Interactive, Inc.) covers memcached, not this program.\n"
    }

    /// What `-L` finds (memcached's `enable_large_pages` on Linux reads the transparent huge pages setting).
    enum LargePages: Equatable {
        case available
        /// Neither `/sys/kernel/mm/transparent_hugepage/enabled` nor Red Hat's path opens.
        case notDetected
        /// The file opened but reading it failed.
        case unreadable
        /// "[never]"
        case disabled
        /// Not Linux: memcached has no support there (and says nothing more).
        case unsupported

        static func probe() -> LargePages {
            #if os(Linux)
            for path in [
                "/sys/kernel/mm/transparent_hugepage/enabled", "/sys/kernel/mm/redhat_transparent_hugepage/enabled",
            ] {
                let fd = open(path, O_RDONLY)
                guard fd != -1 else { continue }
                var buffer = [UInt8](repeating: 0, count: 128)
                let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, 127) }
                close(fd)
                guard count > 0 else { return .unreadable }
                let text = String(decoding: buffer[0..<count], as: UTF8.self)
                return MemcachedOptions.contains(text, "[never]") ? .disabled : .available
            }
            return .notDetected
            #else
            return .unsupported
            #endif
        }
    }

    // MARK: - The parse

    /// Why parsing stopped: what to print and the status.
    struct Stop: Error {
        var status: Int32
        var output: String
        var toStandardError: Bool
    }

    /// memcached's `settings` and `main()`'s locals, with their C types, so that overflow and sign behave as there.
    struct State {
        var maxbytes: UInt64 = 64 * 1024 * 1024  // size_t
        var maxconns: Int32 = 1024
        var port: Int32 = 11211
        var udpport: Int32 = 0
        var inter: String? = nil
        var verbose: Int32 = 0
        var evictToFree = true
        var socketPath: String? = nil
        var authFile: String? = nil
        var access: Int32 = 0o700
        var factor = 1.25
        var chunkSize: Int32 = 48
        var numThreads: Int32 = 4
        var prefixDelimiter = UInt8(ascii: ":")
        var detailEnabled = false
        var reqsPerEvent: Int32 = 20
        var useCAS = true
        var bindingProtocol = MemcachedSettings.BindingProtocol.auto
        var backlog: Int32 = 1024
        var itemSizeMax: Int32 = 1024 * 1024
        let slabPageSize: Int32 = 1024 * 1024
        var slabChunkSizeMax: Int32 = 512 * 1024
        var maxconnsFast = true
        var lruSegmented = true
        var slabReassign = true
        var slabAutomove: Int32 = 1
        var slabAutomoveRatio = 0.8
        var slabAutomoveWindow: UInt32 = 30
        var hashpowerInit: Int32 = 0
        var shutdownCommand = false
        var tailRepairTime: Int32 = 0
        var flushEnabled = true
        var dumpEnabled = true
        var lruCrawlerSleep: Int32 = 100
        var lruCrawlerTocrawl: UInt32 = 0
        var hotLRUPct: Int32 = 20
        var warmLRUPct: Int32 = 40
        var hotMaxFactor = 0.2
        var warmMaxFactor = 2.0
        var tempLRU = false
        var temporaryTTL: UInt32 = 61
        var idleTimeout: Int32 = 0
        var loggerWatcherBufSize: UInt32 = 256 * 1024
        var loggerBufSize: UInt32 = 64 * 1024
        var readBufMemLimit: UInt32 = 0
        var dropPrivileges = false
        var watchEnabled = true
        var numNapiIDs: Int32 = 0
        var memoryFile: String? = nil
        var sockCookieID: UInt32 = 0
        var trackSizes = false
        // main()'s locals
        var lockMemory = false
        var daemonize = false
        var preallocate = false
        var maxcore = false
        var username: String? = nil
        var pidFile: String? = nil
        var largePages = false
        var protocolSpecified = false
        var tcpSpecified = false
        var udpSpecified = false
        var startLRUMaintainer = true
        var startLRUCrawler = true
        var startAssocMaint = true
        var hashType = "murmur3"
        var slabSizesUnparsed: String? = nil
        var slabChunkSizeChanged = false
    }

    /// `-o`'s names in memcached 1.6.18 without extstore, TLS, the proxy and MEMCACHED_DEBUG, on Linux (so with
    /// `sock_cookie_id`).
    enum Suboption: String, CaseIterable {
        case maxconnsFast = "maxconns_fast"
        case hashpower
        case noHashexpand = "no_hashexpand"
        case slabReassign = "slab_reassign"
        case slabAutomove = "slab_automove"
        case slabAutomoveRatio = "slab_automove_ratio"
        case slabAutomoveWindow = "slab_automove_window"
        case tailRepairTime = "tail_repair_time"
        case hashAlgorithm = "hash_algorithm"
        case lruCrawler = "lru_crawler"
        case lruCrawlerSleep = "lru_crawler_sleep"
        case lruCrawlerTocrawl = "lru_crawler_tocrawl"
        case lruMaintainer = "lru_maintainer"
        case hotLRUPct = "hot_lru_pct"
        case warmLRUPct = "warm_lru_pct"
        case hotMaxFactor = "hot_max_factor"
        case warmMaxFactor = "warm_max_factor"
        case temporaryTTL = "temporary_ttl"
        case idleTimeout = "idle_timeout"
        case watcherLogbufSize = "watcher_logbuf_size"
        case workerLogbufSize = "worker_logbuf_size"
        case slabSizes = "slab_sizes"
        case slabChunkMax = "slab_chunk_max"
        case trackSizes = "track_sizes"
        case noInlineASCIIResp = "no_inline_ascii_resp"
        case modern
        case noModern = "no_modern"
        case noChunkedItems = "no_chunked_items"
        case noSlabReassign = "no_slab_reassign"
        case noSlabAutomove = "no_slab_automove"
        case noMaxconnsFast = "no_maxconns_fast"
        case inlineASCIIResp = "inline_ascii_resp"
        case noLRUCrawler = "no_lru_crawler"
        case noLRUMaintainer = "no_lru_maintainer"
        case noDropPrivileges = "no_drop_privileges"
        case dropPrivileges = "drop_privileges"
        case respObjMemLimit = "resp_obj_mem_limit"
        case readBufMemLimit = "read_buf_mem_limit"
        case sockCookieID = "sock_cookie_id"
        /// memcached-debug's (the build memcached's own tests run): seccomp rules relaxed for the tests. Swiftlet
        /// installs no seccomp filter (`drop_privileges` is recorded only), so there is nothing to relax.
        case relaxedPrivileges = "relaxed_privileges"
    }

    enum ArgumentKind {
        case none
        case required
        case optional
    }

    /// memcached's `shortopts`.
    static let shortOptions = "a:AZp:s:U:m:Mc:khiVrvdl:u:P:f:n:t:D:LR:Cb:B:I:SFXWY:e:o:N:"

    /// memcached's `longopts`, in its order (which getopt's ambiguity message follows).
    static let longOptions: [(name: String, kind: ArgumentKind, short: Character)] = [
        ("unix-mask", .required, "a"),
        ("enable-shutdown", .none, "A"),
        ("enable-ssl", .none, "Z"),
        ("port", .required, "p"),
        ("unix-socket", .required, "s"),
        ("udp-port", .required, "U"),
        ("memory-limit", .required, "m"),
        ("disable-evictions", .none, "M"),
        ("conn-limit", .required, "c"),
        ("lock-memory", .none, "k"),
        ("help", .none, "h"),
        ("license", .none, "i"),
        ("version", .none, "V"),
        ("enable-coredumps", .none, "r"),
        ("verbose", .optional, "v"),
        ("daemon", .none, "d"),
        ("listen", .required, "l"),
        ("user", .required, "u"),
        ("pidfile", .required, "P"),
        ("slab-growth-factor", .required, "f"),
        ("slab-min-size", .required, "n"),
        ("threads", .required, "t"),
        ("enable-largepages", .none, "L"),
        ("max-reqs-per-event", .required, "R"),
        ("disable-cas", .none, "C"),
        ("listen-backlog", .required, "b"),
        ("protocol", .required, "B"),
        ("max-item-size", .required, "I"),
        ("enable-sasl", .none, "S"),
        ("disable-flush-all", .none, "F"),
        ("disable-dumping", .none, "X"),
        ("disable-watch", .none, "W"),
        ("auth-file", .required, "Y"),
        ("memory-file", .required, "e"),
        ("extended", .required, "o"),
        ("napi-ids", .required, "N"),
    ]

    /// glibc's `getopt_long` over memcached's options, with its default permutation: arguments that are not options
    /// are stepped over (memcached ignores them), `--` ends the options.
    struct GetOpt {
        enum Event {
            case option(Character, String?)
            /// getopt's message (without the newline); memcached then says `Illegal argument "?"`.
            case error(String)
        }

        let arguments: [[UInt8]]
        let programName: String
        var index = 0
        var cluster: [UInt8] = []
        var position = 0

        init(_ arguments: [String], programName: String) {
            self.arguments = arguments.map { Array($0.utf8) }
            self.programName = programName
        }

        static let shortKinds: [UInt8: ArgumentKind] = {
            var kinds: [UInt8: ArgumentKind] = [:]
            let bytes = Array(MemcachedOptions.shortOptions.utf8)
            var i = 0
            while i < bytes.count {
                if i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: ":") {
                    kinds[bytes[i]] = .required
                    i += 2
                } else {
                    kinds[bytes[i]] = ArgumentKind.none
                    i += 1
                }
            }
            return kinds
        }()

        mutating func next() -> Event? {
            if self.position < self.cluster.count { return self.nextShort() }
            while self.index < self.arguments.count {
                let argument = self.arguments[self.index]
                let dash = UInt8(ascii: "-")
                if argument == [dash, dash] {
                    self.index += 1
                    return nil
                }
                if argument.count >= 2 && argument[0] == dash {
                    self.index += 1
                    if argument[1] == dash { return self.long(Array(argument[2...])) }
                    self.cluster = argument
                    self.position = 1
                    return self.nextShort()
                }
                self.index += 1
            }
            return nil
        }

        private mutating func nextShort() -> Event {
            let byte = self.cluster[self.position]
            self.position += 1
            let atEnd = self.position == self.cluster.count
            let character = Character(Unicode.Scalar(byte))
            guard let kind = Self.shortKinds[byte], byte != UInt8(ascii: ":") else {
                let shown = byte < 0x80 ? String(character) : String(decoding: [byte], as: UTF8.self)
                return .error("\(self.programName): invalid option -- '\(shown)'")
            }
            guard kind == .required else { return .option(character, nil) }
            if !atEnd {
                let argument = String(decoding: self.cluster[self.position...], as: UTF8.self)
                self.position = self.cluster.count
                return .option(character, argument)
            }
            guard self.index < self.arguments.count else {
                return .error("\(self.programName): option requires an argument -- '\(character)'")
            }
            self.index += 1
            return .option(character, String(decoding: self.arguments[self.index - 1], as: UTF8.self))
        }

        private mutating func long(_ body: [UInt8]) -> Event {
            let nameEnd = body.firstIndex(of: UInt8(ascii: "=")) ?? body.count
            let name = Array(body[..<nameEnd])
            let shown = String(decoding: body, as: UTF8.self)
            let option: (name: String, kind: ArgumentKind, short: Character)
            if let exact = MemcachedOptions.longOptions.first(where: { Array($0.name.utf8) == name }) {
                option = exact
            } else {
                let candidates = MemcachedOptions.longOptions.filter { $0.name.utf8.starts(with: name) }
                guard let first = candidates.first else {
                    return .error("\(self.programName): unrecognized option '--\(shown)'")
                }
                guard candidates.count == 1 else {
                    let possibilities = candidates.map { " '--\($0.name)'" }.joined()
                    return .error(
                        "\(self.programName): option '--\(shown)' is ambiguous; possibilities:\(possibilities)"
                    )
                }
                option = first
            }
            if nameEnd < body.count {
                guard option.kind != .none else {
                    return .error("\(self.programName): option '--\(option.name)' doesn't allow an argument")
                }
                return .option(option.short, String(decoding: body[(nameEnd + 1)...], as: UTF8.self))
            }
            guard option.kind == .required else { return .option(option.short, nil) }
            guard self.index < self.arguments.count else {
                return .error("\(self.programName): option '--\(option.name)' requires an argument")
            }
            self.index += 1
            return .option(option.short, String(decoding: self.arguments[self.index - 1], as: UTF8.self))
        }
    }

    struct Parser {
        let programName: String
        var state = State()
        var warnings: [String] = []

        init(programName: String) {
            self.programName = programName
        }

        /// An error on standard error, after the warnings printed so far.
        func fail(_ message: String, _ status: Int32 = MemcachedOptions.exitFailure) -> Stop {
            let earlier = self.warnings.map { $0 + "\n" }.joined()
            return Stop(status: status, output: earlier + message + "\n", toStandardError: true)
        }

        mutating func parse(_ arguments: [String], largePages: () -> LargePages) throws(Stop) -> ParsedOptions {
            var getopt = GetOpt(arguments, programName: self.programName)
            while let event = getopt.next() {
                switch event {
                case .error(let message):
                    throw self.fail(message + "\nIllegal argument \"?\"")
                case .option(let option, let argument):
                    try self.apply(option, argument ?? "", largePages: largePages)
                }
            }
            try self.check()
            var settings = self.settings()
            settings.extras = self.extras()
            return ParsedOptions(settings: settings, warnings: self.warnings, extras: settings.extras)
        }

        /// One option, as `main()`'s `switch (c)`.
        mutating func apply(_ option: Character, _ argument: String, largePages: () -> LargePages) throws(Stop) {
            switch option {
            case "A":
                self.state.shutdownCommand = true
            case "Z":
                throw self.fail("This server is not built with TLS support.", MemcachedOptions.exitUsage)
            case "a":
                self.state.access = Int32(truncatingIfNeeded: strtol(argument, nil, 8))
            case "U":
                self.state.udpport = atoi(argument)
                self.state.udpSpecified = true
            case "p":
                self.state.port = atoi(argument)
                self.state.tcpSpecified = true
            case "s":
                self.state.socketPath = argument
            case "m":
                self.state.maxbytes = UInt64(bitPattern: Int64(atoi(argument))) &* 1024 &* 1024
            case "M":
                self.state.evictToFree = false
            case "c":
                self.state.maxconns = atoi(argument)
                if self.state.maxconns <= 0 { throw self.fail("Maximum connections must be greater than 0") }
            case "h":
                let (text, status) = MemcachedOptions.usage(self.state)
                throw Stop(status: status, output: text, toStandardError: false)
            case "i":
                throw Stop(status: 0, output: MemcachedOptions.license, toStandardError: false)
            case "V":
                throw Stop(status: 0, output: "memcached \(MemcachedOptions.version)\n", toStandardError: false)
            case "k":
                self.state.lockMemory = true
            case "v":
                self.state.verbose &+= 1
            case "l":
                if let inter = self.state.inter {
                    if !MemcachedOptions.contains(inter, argument) { self.state.inter = inter + "," + argument }
                } else {
                    self.state.inter = argument
                }
            case "d":
                self.state.daemonize = true
            case "r":
                self.state.maxcore = true
            case "R":
                self.state.reqsPerEvent = atoi(argument)
                if self.state.reqsPerEvent == 0 {
                    throw self.fail("Number of requests per event must be greater than 0")
                }
            case "u":
                self.state.username = argument
            case "P":
                self.state.pidFile = argument
            case "e":
                self.state.memoryFile = argument
            case "f":
                self.state.factor = atof(argument)
                if self.state.factor <= 1.0 { throw self.fail("Factor must be greater than 1") }
            case "n":
                self.state.chunkSize = atoi(argument)
                if self.state.chunkSize == 0 { throw self.fail("Chunk size must be greater than 0") }
            case "t":
                self.state.numThreads = atoi(argument)
                if self.state.numThreads <= 0 { throw self.fail("Number of threads must be greater than 0") }
                if self.state.numThreads > 64 {
                    self.warnings.append(
                        "WARNING: Setting a high number of workerthreads is not recommended.\n"
                            + " Set this value to the number of cores in your machine or less."
                    )
                }
            case "D":
                guard let first = argument.utf8.first else { throw self.fail("No delimiter specified") }
                self.state.prefixDelimiter = first
                self.state.detailEnabled = true
            case "L":
                switch largePages() {
                case .available:
                    self.state.preallocate = true
                    self.state.largePages = true
                case let failure:
                    let why: String
                    switch failure {
                    case .notDetected:
                        why = "Transparent huge pages support not detected.\nWill use default page size.\n"
                    case .unreadable:
                        why = "Transparent huge pages could not read the configuration.\nWill use default page size.\n"
                    case .disabled: why = "Transparent huge pages support disabled.\nWill use default page size.\n"
                    case .available, .unsupported: why = ""
                    }
                    throw self.fail(
                        why + "Cannot enable large pages on this system\n(There is no support as of this version)"
                    )
                }
            case "C":
                self.state.useCAS = false
            case "b":
                self.state.backlog = atoi(argument)
            case "B":
                self.state.protocolSpecified = true
                switch argument {
                case "auto": self.state.bindingProtocol = .auto
                case "binary": self.state.bindingProtocol = .binary
                case "ascii": self.state.bindingProtocol = .ascii
                default:
                    throw self.fail(
                        "Invalid value for binding protocol: \(argument)\n -- should be one of auto, binary, or ascii",
                        MemcachedOptions.exitUsage
                    )
                }
            case "I":
                self.state.itemSizeMax = MemcachedOptions.itemSize(argument)
            case "S":
                throw self.fail("SASL is not supported by swiftlet-memcached", MemcachedOptions.exitUsage)
            case "F":
                self.state.flushEnabled = false
            case "X":
                self.state.dumpEnabled = false
            case "W":
                self.state.watchEnabled = false
            case "Y":
                self.state.authFile = argument
            case "N":
                self.state.numNapiIDs = atoi(argument)
                if self.state.numNapiIDs <= 0 {
                    throw self.fail("Maximum number of NAPI IDs must be greater than 0")
                }
            case "o":
                try self.applySuboptions(argument)
            default:
                throw self.fail("Illegal argument \"\(option)\"")
            }
        }

        /// `-o`: glibc's `getsubopt` over the comma-separated list, then `main()`'s `switch`.
        mutating func applySuboptions(_ argument: String) throws(Stop) {
            var rest = ArraySlice(argument.utf8)
            while !rest.isEmpty {
                let remaining = String(decoding: rest, as: UTF8.self)
                let end = rest.firstIndex(of: UInt8(ascii: ",")) ?? rest.endIndex
                let token = rest[..<end]
                rest = end == rest.endIndex ? rest[end...] : rest[(end + 1)...]
                let equals = token.firstIndex(of: UInt8(ascii: "="))
                let name = String(decoding: token[..<(equals ?? token.endIndex)], as: UTF8.self)
                let value = equals.map { String(decoding: token[($0 + 1)...], as: UTF8.self) }
                guard let suboption = Suboption(rawValue: name) else {
                    // memcached without extstore prints the rest of the list, from this token on, on standard output.
                    throw Stop(
                        status: MemcachedOptions.exitFailure,
                        output: "Illegal suboption \"\(remaining)\"\n",
                        toStandardError: false
                    )
                }
                try self.apply(suboption, value)
            }
        }

        mutating func apply(_ suboption: Suboption, _ value: String?) throws(Stop) {
            switch suboption {
            case .maxconnsFast:
                self.state.maxconnsFast = true
            case .hashpower:
                guard let value else { throw self.fail("Missing numeric argument for hashpower") }
                self.state.hashpowerInit = atoi(value)
                if self.state.hashpowerInit < 12 {
                    throw self.fail("Initial hashtable multiplier of \(self.state.hashpowerInit) is too low")
                } else if self.state.hashpowerInit > 32 {
                    throw self.fail(
                        "Initial hashtable multiplier of \(self.state.hashpowerInit) is too high\n"
                            + "Choose a value based on \"STAT hash_power_level\" from a running instance"
                    )
                }
            case .noHashexpand:
                self.state.startAssocMaint = false
            case .slabReassign:
                self.state.slabReassign = true
            case .slabAutomove:
                guard let value else {
                    self.state.slabAutomove = 1
                    return
                }
                self.state.slabAutomove = atoi(value)
                if self.state.slabAutomove < 0 || self.state.slabAutomove > 2 {
                    throw self.fail("slab_automove must be between 0 and 2")
                }
            case .slabAutomoveRatio:
                guard let value else { throw self.fail("Missing slab_automove_ratio argument") }
                self.state.slabAutomoveRatio = atof(value)
                if self.state.slabAutomoveRatio <= 0 || self.state.slabAutomoveRatio > 1 {
                    throw self.fail("slab_automove_ratio must be > 0 and < 1")
                }
            case .slabAutomoveWindow:
                guard let value else { throw self.fail("Missing slab_automove_window argument") }
                // An unsigned int in memcached: a negative value wraps and passes the check.
                self.state.slabAutomoveWindow = UInt32(bitPattern: atoi(value))
                if self.state.slabAutomoveWindow < 3 { throw self.fail("slab_automove_window must be > 2") }
            case .tailRepairTime:
                guard let value else { throw self.fail("Missing numeric argument for tail_repair_time") }
                self.state.tailRepairTime = atoi(value)
                if self.state.tailRepairTime < 10 {
                    throw self.fail("Cannot set tail_repair_time to less than 10 seconds")
                }
            case .hashAlgorithm:
                guard let value else { throw self.fail("Missing hash_algorithm argument") }
                guard ["jenkins", "murmur3", "xxh3"].contains(value) else {
                    throw self.fail("Unknown hash_algorithm option (jenkins, murmur3, xxh3)")
                }
                self.state.hashType = value
            case .lruCrawler:
                self.state.startLRUCrawler = true
            case .lruCrawlerSleep:
                guard let value else { throw self.fail("Missing lru_crawler_sleep value") }
                self.state.lruCrawlerSleep = atoi(value)
                if self.state.lruCrawlerSleep > 1_000_000 || self.state.lruCrawlerSleep < 0 {
                    throw self.fail("LRU crawler sleep must be between 0 and 1 second")
                }
            case .lruCrawlerTocrawl:
                guard let value else { throw self.fail("Missing lru_crawler_tocrawl value") }
                guard let tocrawl = MemcachedOptions.safeStrtoul(value) else {
                    throw self.fail("lru_crawler_tocrawl takes a numeric 32bit value")
                }
                self.state.lruCrawlerTocrawl = tocrawl
            case .lruMaintainer:
                self.state.startLRUMaintainer = true
                self.state.lruSegmented = true
            case .hotLRUPct:
                guard let value else { throw self.fail("Missing hot_lru_pct argument") }
                self.state.hotLRUPct = atoi(value)
                if self.state.hotLRUPct < 1 || self.state.hotLRUPct >= 80 {
                    throw self.fail("hot_lru_pct must be > 1 and < 80")
                }
            case .warmLRUPct:
                guard let value else { throw self.fail("Missing warm_lru_pct argument") }
                self.state.warmLRUPct = atoi(value)
                if self.state.warmLRUPct < 1 || self.state.warmLRUPct >= 80 {
                    throw self.fail("warm_lru_pct must be > 1 and < 80")
                }
            case .hotMaxFactor:
                guard let value else { throw self.fail("Missing hot_max_factor argument") }
                self.state.hotMaxFactor = atof(value)
                if self.state.hotMaxFactor <= 0 { throw self.fail("hot_max_factor must be > 0") }
            case .warmMaxFactor:
                guard let value else { throw self.fail("Missing warm_max_factor argument") }
                self.state.warmMaxFactor = atof(value)
                if self.state.warmMaxFactor <= 0 { throw self.fail("warm_max_factor must be > 0") }
            case .temporaryTTL:
                guard let value else { throw self.fail("Missing temporary_ttl argument") }
                self.state.tempLRU = true
                self.state.temporaryTTL = UInt32(bitPattern: atoi(value))
            case .idleTimeout:
                guard let value else { throw self.fail("Missing numeric argument for idle_timeout") }
                self.state.idleTimeout = atoi(value)
            case .watcherLogbufSize:
                guard let value else { throw self.fail("Missing watcher_logbuf_size argument") }
                guard let size = MemcachedOptions.safeStrtoul(value) else {
                    throw self.fail("could not parse argument to watcher_logbuf_size")
                }
                self.state.loggerWatcherBufSize = size &* 1024
            case .workerLogbufSize:
                guard let value else { throw self.fail("Missing worker_logbuf_size argument") }
                guard let size = MemcachedOptions.safeStrtoul(value) else {
                    throw self.fail("could not parse argument to worker_logbuf_size")
                }
                self.state.loggerBufSize = size &* 1024
                // memcached 1.6.18 has no `break` here and falls through to slab_sizes: the value becomes the list of
                // slab class sizes too (`-o worker_logbuf_size=64` runs with one 64-byte class below slab_chunk_max).
                self.state.slabSizesUnparsed = value
            case .slabSizes:
                // memcached crashes (strdup(NULL)) without a value.
                guard let value else { throw self.fail("Missing slab_sizes argument") }
                self.state.slabSizesUnparsed = value
            case .slabChunkMax:
                // memcached crashes (strtol(NULL)) after this message.
                guard let value else { throw self.fail("Missing slab_chunk_max argument") }
                if let size = MemcachedOptions.safeStrtol(value) {
                    self.state.slabChunkSizeMax = size
                } else {
                    // memcached carries on with 0 (and divides by it later: see check()).
                    self.warnings.append("could not parse argument to slab_chunk_max")
                    self.state.slabChunkSizeMax = 0
                }
                self.state.slabChunkSizeChanged = true
            case .trackSizes:
                self.state.trackSizes = true
            case .noInlineASCIIResp, .inlineASCIIResp, .modern:
                break
            case .noChunkedItems:
                self.state.slabChunkSizeMax = self.state.slabPageSize
            case .noSlabReassign:
                self.state.slabReassign = false
            case .noSlabAutomove:
                self.state.slabAutomove = 0
            case .noMaxconnsFast:
                self.state.maxconnsFast = false
            case .noLRUCrawler:
                self.state.startLRUCrawler = false
            case .noLRUMaintainer:
                self.state.startLRUMaintainer = false
                self.state.lruSegmented = false
            case .noModern:
                if !self.state.slabChunkSizeChanged { self.state.slabChunkSizeMax = self.state.slabPageSize }
                self.state.slabReassign = false
                self.state.slabAutomove = 0
                self.state.maxconnsFast = false
                self.state.lruSegmented = false
                self.state.hashType = "jenkins"
                self.state.startLRUCrawler = false
                self.state.startLRUMaintainer = false
            case .noDropPrivileges:
                self.state.dropPrivileges = false
            case .dropPrivileges:
                self.state.dropPrivileges = true
            case .relaxedPrivileges:
                break
            case .respObjMemLimit:
                self.warnings.append("DEPRECATED: resp_obj_mem_limit no longer used. See read_buf_mem_limit,")
            case .readBufMemLimit:
                guard let value else { throw self.fail("Missing read_buf_mem_limit argument") }
                guard let size = MemcachedOptions.safeStrtoul(value) else {
                    throw self.fail("could not parse argument to read_buf_mem_limit")
                }
                self.state.readBufMemLimit = size &* 1024 &* 1024
            case .sockCookieID:
                self.state.sockCookieID = value.flatMap { MemcachedOptions.safeStrtoul($0) } ?? 0
            }
        }

        /// `main()`'s checks and adjustments after the options, in its order.
        mutating func check() throws(Stop) {
            let usage = MemcachedOptions.exitUsage
            if self.state.numNapiIDs > self.state.numThreads {
                throw self.fail(
                    "Number of napi_ids(\(self.state.numNapiIDs)) cannot be greater than number of threads("
                        + "\(self.state.numThreads))",
                    usage
                )
            }
            if self.state.itemSizeMax < 1024 { throw self.fail("Item max size cannot be less than 1024 bytes.", usage) }
            if UInt64(self.state.itemSizeMax) > self.state.maxbytes / 2 {
                throw self.fail("Cannot set item size limit higher than 1/2 of memory max.", usage)
            }
            if self.state.itemSizeMax > 1024 * 1024 * 1024 {
                throw self.fail("Cannot set item size limit higher than a gigabyte.", usage)
            }
            if self.state.itemSizeMax > 1024 * 1024 && !self.state.slabChunkSizeChanged {
                self.state.slabChunkSizeMax = self.state.slabPageSize / 2
            }
            let chunkMax = self.state.slabChunkSizeMax
            let itemMax = self.state.itemSizeMax
            if chunkMax > itemMax {
                throw self.fail(
                    "slab_chunk_max (bytes: \(chunkMax)) cannot be larger than -I (item_size_max \(itemMax))",
                    usage
                )
            }
            // memcached divides by 0 here (SIGFPE) when slab_chunk_max is 0.
            if chunkMax == 0 || itemMax % chunkMax != 0 {
                throw self.fail(
                    "-I (item_size_max: \(itemMax)) must be evenly divisible by slab_chunk_max (bytes: \(chunkMax))",
                    usage
                )
            }
            if self.state.slabPageSize % chunkMax != 0 {
                throw self.fail(
                    "slab_chunk_max (bytes: \(chunkMax)) must divide evenly into \(self.state.slabPageSize) "
                        + "(slab_page_size)",
                    usage
                )
            }
            if let unparsed = self.state.slabSizesUnparsed {
                self.slabSizes = try self.parseSlabSizes(unparsed)
            }
            if self.state.hotLRUPct + self.state.warmLRUPct > 80 {
                throw self.fail("hot_lru_pct + warm_lru_pct cannot be more than 80% combined", usage)
            }
            if self.state.tempLRU && !self.state.startLRUMaintainer {
                throw self.fail("temporary_ttl requires lru_maintainer to be enabled", usage)
            }
            if self.state.authFile != nil {
                if !self.state.protocolSpecified {
                    self.state.bindingProtocol = .ascii
                } else if self.state.bindingProtocol != .ascii {
                    throw self.fail(
                        "ERROR: You cannot allow the BINARY protocol while using ascii authentication tokens.",
                        usage
                    )
                }
            }
            if self.state.udpSpecified && self.state.udpport != 0 && !self.state.tcpSpecified {
                self.state.port = self.state.udpport
            }
            if self.state.port > 65535 { throw self.fail("ERROR: Invalid port number \(self.state.port).", usage) }
            // memcached checks this after dropping root and daemonizing, when it loads the file.
            if self.state.authFile != nil && self.state.udpport != 0 {
                throw self.fail("Cannot use UDP with ascii authentication enabled (-U 0 to disable)", usage)
            }
        }

        var slabSizes: [Int]? = nil

        /// memcached's `_parse_slab_sizes`.
        func parseSlabSizes(_ text: String) throws(Stop) -> [Int] {
            let usage = MemcachedOptions.exitUsage
            // An empty list fails without a message.
            guard !text.isEmpty else {
                throw Stop(status: usage, output: self.warnings.map { $0 + "\n" }.joined(), toStandardError: true)
            }
            var sizes: [Int] = []
            var last: UInt32 = 0
            for piece in text.utf8.split(separator: UInt8(ascii: "-")) {
                // safe_strtoul leaves 0 where it fails, and 0 is then out of range.
                let size = MemcachedOptions.safeStrtoul(String(decoding: piece, as: UTF8.self)) ?? 0
                if size == 0 || size < UInt32(bitPattern: self.state.chunkSize)
                    || size > UInt32(bitPattern: self.state.slabChunkSizeMax)
                {
                    throw self.fail("slab size \(size) is out of valid range", usage)
                }
                if last >= size {
                    throw self.fail("slab size \(size) cannot be lower than or equal to a previous class size", usage)
                }
                if size <= last &+ 8 {
                    throw self.fail("slab size \(size) must be at least 8 bytes larger than previous class", usage)
                }
                sizes.append(Int(size))
                last = size
                if sizes.count >= MemcachedStoreSettings.maxClasses - 1 {
                    throw self.fail("too many slab classes specified", usage)
                }
            }
            return sizes
        }

        func settings() -> MemcachedSettings {
            let s = self.state
            var settings = MemcachedSettings()
            settings.port = Int(s.port)
            settings.udpPort = Int(s.udpport)
            settings.listen = (s.inter ?? "").utf8
                .split(whereSeparator: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: ";") })
                .map { String(decoding: $0, as: UTF8.self) }
            settings.socketPath = s.socketPath
            settings.socketMode = Int(s.access)
            settings.maxConnections = Int(s.maxconns)
            settings.threads = Int(s.numThreads)
            settings.verbosity = Int(s.verbose)
            settings.shutdownCommand = s.shutdownCommand
            settings.flushEnabled = s.flushEnabled
            settings.dumpEnabled = s.dumpEnabled
            settings.backlog = Int(s.backlog)
            settings.bindingProtocol = s.bindingProtocol
            settings.requestsPerEvent = Int(s.reqsPerEvent)
            settings.prefixDelimiter = s.prefixDelimiter
            settings.idleTimeout = Int(s.idleTimeout)
            settings.tailRepairTime = Int(s.tailRepairTime)
            settings.crawlerSleep = Int(s.lruCrawlerSleep)
            settings.crawlerToCrawl = Int(s.lruCrawlerTocrawl)
            settings.trackSizes = s.trackSizes
            settings.watcherLogBufferSize = Int(s.loggerWatcherBufSize)
            settings.workerLogBufferSize = Int(s.loggerBufSize)
            settings.readBufferMemoryLimit = Int(s.readBufMemLimit)
            settings.daemonize = s.daemonize
            settings.user = s.username
            settings.pidFile = s.pidFile
            settings.maximizeCoreFile = s.maxcore
            settings.lockMemory = s.lockMemory
            settings.largePages = s.largePages
            settings.sasl = false
            settings.authFile = s.authFile

            // A negative -m wraps to nearly 2^64 in memcached's size_t: no limit in practice.
            settings.store.memoryLimit = s.maxbytes > UInt64(Int.max) ? Int.max : Int(s.maxbytes)
            settings.store.growthFactor = s.factor
            settings.store.minimumChunk = Int(s.chunkSize)
            settings.store.pageSize = Int(s.slabPageSize)
            settings.store.chunkMax = Int(s.slabChunkSizeMax)
            settings.store.itemSizeMax = Int(s.itemSizeMax)
            settings.store.classSizes = self.slabSizes
            settings.store.evictToFree = s.evictToFree
            settings.store.useCAS = s.useCAS
            settings.store.segmentedLRU = s.lruSegmented
            settings.store.hotLRUPercent = Int(s.hotLRUPct)
            settings.store.warmLRUPercent = Int(s.warmLRUPct)
            settings.store.hotMaxFactor = s.hotMaxFactor
            settings.store.warmMaxFactor = s.warmMaxFactor
            settings.store.temporaryLRU = s.tempLRU
            settings.store.temporaryTTL = s.temporaryTTL
            settings.store.slabReassign = s.slabReassign
            settings.store.slabAutomove = Int(s.slabAutomove)
            settings.store.slabAutomoveRatio = s.slabAutomoveRatio
            settings.store.slabAutomoveWindow = Int(s.slabAutomoveWindow)
            settings.store.lruCrawler = s.startLRUCrawler
            settings.store.lruMaintainer = s.startLRUMaintainer
            settings.store.hashPower = s.hashpowerInit == 0 ? 16 : Int(s.hashpowerInit)
            return settings
        }

        func extras() -> Extras {
            let s = self.state
            var extras = Extras()
            extras.interface = s.inter
            extras.detailEnabled = s.detailEnabled
            extras.maxconnsFast = s.maxconnsFast
            extras.hashAlgorithm = s.hashType
            extras.hashPowerInitial = Int(s.hashpowerInit)
            extras.hashExpansion = s.startAssocMaint
            extras.dropPrivileges = s.dropPrivileges
            extras.watchEnabled = s.watchEnabled
            extras.napiIDs = Int(s.numNapiIDs)
            extras.memoryFile = s.memoryFile
            extras.socketCookieID = s.sockCookieID
            extras.preallocate = s.preallocate || s.memoryFile != nil
            return extras
        }
    }

    // MARK: - C's number parsing

    /// `-I`: a trailing k/K or m/M multiplies `atoi` of the rest (in a 32-bit int: `-I 2048m` wraps to a negative
    /// size and `-I 4096m` to 0); anything else is `atoi` of the whole (`-I 1g` is 1 byte).
    static func itemSize(_ argument: String) -> Int32 {
        guard let unit = argument.utf8.last else { return atoi(argument) }
        let rest = String(decoding: argument.utf8.dropLast(), as: UTF8.self)
        switch unit {
        case UInt8(ascii: "k"), UInt8(ascii: "K"): return atoi(rest) &* 1024
        case UInt8(ascii: "m"), UInt8(ascii: "M"): return atoi(rest) &* 1024 &* 1024
        default: return atoi(argument)
        }
    }

    /// memcached's `safe_strtoul` into a `uint32_t` (nil where it returns false).
    static func safeStrtoul(_ text: String) -> UInt32? {
        text.withCString { start -> UInt32? in
            var end: UnsafeMutablePointer<CChar>? = nil
            errno = 0
            let value = strtoul(start, &end, 10)
            guard errno != ERANGE, let end, end != UnsafeMutablePointer(mutating: start) else { return nil }
            guard Self.isSpace(end.pointee) || end.pointee == 0 else { return nil }
            if Int(bitPattern: UInt(value)) < 0 && strchr(start, Int32(UInt8(ascii: "-"))) != nil { return nil }
            return UInt32(truncatingIfNeeded: value)
        }
    }

    /// memcached's `safe_strtol` into an `int32_t` (nil where it returns false).
    static func safeStrtol(_ text: String) -> Int32? {
        text.withCString { start -> Int32? in
            var end: UnsafeMutablePointer<CChar>? = nil
            errno = 0
            let value = strtol(start, &end, 10)
            guard errno != ERANGE, let end, end != UnsafeMutablePointer(mutating: start) else { return nil }
            guard Self.isSpace(end.pointee) || end.pointee == 0 else { return nil }
            return Int32(truncatingIfNeeded: value)
        }
    }

    private static func isSpace(_ c: CChar) -> Bool {
        let byte = UInt8(bitPattern: c)
        return byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
    }

    /// C's `strstr(haystack, needle) != NULL`, on bytes.
    static func contains(_ haystack: String, _ needle: String) -> Bool {
        let h = Array(haystack.utf8)
        let n = Array(needle.utf8)
        if n.isEmpty { return true }
        if n.count > h.count { return false }
        for i in 0...(h.count - n.count) where h[i..<(i + n.count)].elementsEqual(n) { return true }
        return false
    }

    /// `printf`'s rendering of a double (`%.2f`, `%2.2f`, …).
    static func format(_ format: String, _ value: Double) -> String {
        var buffer = [CChar](repeating: 0, count: 512)
        let count = withVaList([value]) { vsnprintf(&buffer, buffer.count, format, $0) }
        let length = max(0, min(Int(count), buffer.count - 1))
        return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: - -h

    /// memcached's `usage()` for the state so far: its text and exit status (1 where `verify_default` finds one of
    /// the five settings it checks changed, after printing the text up to that check).
    static func usage(_ s: State) -> (text: String, status: Int32) {
        var out = "memcached \(Self.version)\n"
        func changed(_ name: String) -> (text: String, status: Int32) {
            out += "Default value of [\(name)] has changed. Modify the help text and default value check.\n"
            return (out, Self.exitFailure)
        }
        let protocolText: String
        switch s.bindingProtocol {
        case .auto: protocolText = "auto-negotiate"
        case .ascii: protocolText = "ascii"
        case .binary: protocolText = "binary"
        }
        out += """
            -p, --port=<num>          TCP port to listen on (default: \(s.port))
            -U, --udp-port=<num>      UDP port to listen on (default: \(s.udpport), off)
            -s, --unix-socket=<file>  UNIX socket to listen on (disables network support)
            -a, --unix-mask=<mask>    access mask for UNIX socket, in octal (default: \(String(UInt32(bitPattern: s.access), radix: 8)))
            -A, --enable-shutdown     enable ascii "shutdown" command
            -l, --listen=<addr>       interface to listen on (default: INADDR_ANY)
            -d, --daemon              run as a daemon
            -r, --enable-coredumps    maximize core file limit
            -u, --user=<user>         assume identity of <username> (only when run as root)
            -m, --memory-limit=<num>  item memory in megabytes (default: \(s.maxbytes / (1 << 20)))
            -M, --disable-evictions   return error on memory exhausted instead of evicting
            -c, --conn-limit=<num>    max simultaneous connections (default: \(s.maxconns))
            -k, --lock-memory         lock down all paged memory
            -v, --verbose             verbose (print errors/warnings while in event loop)
            -vv                       very verbose (also print client commands/responses)
            -vvv                      extremely verbose (internal state transitions)
            -h, --help                print this help and exit
            -i, --license             print memcached and libevent license
            -V, --version             print version and exit
            -P, --pidfile=<file>      save PID in <file>, only used with -d option
            -f, --slab-growth-factor=<num> chunk size growth factor (default: \(Self.format("%2.2f", s.factor)))
            -n, --slab-min-size=<bytes> min space used for key+value+flags (default: \(s.chunkSize))

            """
        if s.udpport != 0 { return changed("udp-port") }
        let delimiter = String(decoding: [s.prefixDelimiter], as: UTF8.self)
        out += """
            -L, --enable-largepages  try to use large memory pages (if available)
            -D <char>     Use <char> as the delimiter between key prefixes and IDs.
                          This is used for per-prefix stats reporting. The default is
                          "\(delimiter)" (colon). If this option is specified, stats collection
                          is turned on automatically; if not, then it may be turned on
                          by sending the "stats detail on" command to the server.
            -t, --threads=<num>       number of threads to use (default: \(s.numThreads))
            -R, --max-reqs-per-event  maximum number of requests per event, limits the
                                      requests processed per connection to prevent\u{20}
                                      starvation (default: \(s.reqsPerEvent))
            -C, --disable-cas         disable use of CAS
            -b, --listen-backlog=<num> set the backlog queue limit (default: \(s.backlog))
            -B, --protocol=<name>     protocol - one of ascii, binary, or auto (default: \(protocolText))
            -I, --max-item-size=<num> adjusts max item size
                                      (default: \(s.itemSizeMax / (1 << 20))m, min: 1k, max: 1024m)
            -F, --disable-flush-all   disable flush_all command
            -X, --disable-dumping     disable stats cachedump and lru_crawler metadump
            -W  --disable-watch       disable watch commands (live logging)
            -Y, --auth-file=<file>    (EXPERIMENTAL) enable ASCII protocol authentication. format:
                                      user:pass\\nuser2:pass2\\n
            -e, --memory-file=<file>  (EXPERIMENTAL) mmap a file for item memory.
                                      use only in ram disks or persistent memory mounts!
                                      enables restartable cache (stop with SIGUSR1)
            -o, --extended            comma separated list of extended options
                                      most options have a 'no_' prefix to disable
               - maxconns_fast:       immediately close new connections after limit (default: \(s.maxconnsFast ? "enabled" : "disabled"))
               - hashpower:           an integer multiplier for how large the hash
                                      table should be. normally grows at runtime. (default starts at: \(s.hashpowerInit))
                                      set based on "STAT hash_power_level"
               - tail_repair_time:    time in seconds for how long to wait before
                                      forcefully killing LRU tail item.
                                      disabled by default; very dangerous option.
               - hash_algorithm:      the hash table algorithm
                                      default is murmur3 hash. options: jenkins, murmur3, xxh3
               - no_lru_crawler:      disable LRU Crawler background thread.
               - lru_crawler_sleep:   microseconds to sleep between items
                                      default is \(s.lruCrawlerSleep).
               - lru_crawler_tocrawl: max items to crawl per slab per run
                                      default is \(s.lruCrawlerTocrawl) (unlimited)
               - read_buf_mem_limit:  limit in megabytes for connection read/response buffers.
                                      do not adjust unless you have high (20k+) conn. limits.
                                      0 means unlimited (default: \(s.readBufMemLimit))

            """
        if s.readBufMemLimit != 0 { return changed("read_buf_mem_limit") }
        out += """
               - no_lru_maintainer:   disable new LRU system + background thread.
               - hot_lru_pct:         pct of slab memory to reserve for hot lru.
                                      (requires lru_maintainer, default pct: \(s.hotLRUPct))
               - warm_lru_pct:        pct of slab memory to reserve for warm lru.
                                      (requires lru_maintainer, default pct: \(s.warmLRUPct))
               - hot_max_factor:      items idle > cold lru age * drop from hot lru. (default: \(Self.format("%.2f", s.hotMaxFactor)))
               - warm_max_factor:     items idle > cold lru age * this drop from warm. (default: \(Self.format("%.2f", s.warmMaxFactor)))
               - temporary_ttl:       TTL's below get separate LRU, can't be evicted.
                                      (requires lru_maintainer, default: \(Int32(bitPattern: s.temporaryTTL)))
               - idle_timeout:        timeout for idle connections. (default: \(s.idleTimeout), no timeout)
               - slab_chunk_max:      (EXPERIMENTAL) maximum slab size in kilobytes. use extreme care. (default: \(s.slabChunkSizeMax / (1 << 10)))
               - watcher_logbuf_size: size in kilobytes of per-watcher write buffer. (default: \(s.loggerWatcherBufSize / (1 << 10)))
               - worker_logbuf_size:  size in kilobytes of per-worker-thread buffer
                                      read by background thread, then written to watchers. (default: \(s.loggerBufSize / (1 << 10)))
               - track_sizes:         enable dynamic reports for 'stats sizes' command.
               - no_hashexpand:       disables hash table expansion (dangerous)
               - modern:              enables options which will be default in future.
                                      currently: nothing
               - no_modern:           uses defaults of previous major version (1.4.x)

            """
        if s.tailRepairTime != 0 { return changed("tail_repair_time") }
        if s.lruCrawlerTocrawl != 0 { return changed("lru_crawler_tocrawl") }
        if s.idleTimeout != 0 { return changed("idle_timeout") }
        out += """
               - sock_cookie_id:      attributes an ID to a socket for ip filtering/firewalls\u{20}
            -N, --napi_ids            number of napi ids. see doc/napi_ids.txt for more details

            """
        return (out, 0)
    }
}
