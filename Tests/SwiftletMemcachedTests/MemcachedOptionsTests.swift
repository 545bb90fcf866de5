import SwiftletMemcachedStore
import Testing

@testable import SwiftletMemcached

/// `swiftlet-memcached`'s command line against memcached 1.6.18's. Every expected message, status and `-h` text here
/// was recorded from the real memcached 1.6.18 (Debian 12's 1.6.18-1+deb12u1, run as `memcached -u root …`) unless
/// its comment says otherwise; the exceptions are what a memcached built without extstore, TLS and SASL does (read
/// from memcached.c, since Debian's build has all three) and the places where memcached crashes.
struct MemcachedOptionsTests {
    /// What `.exit` carries.
    struct Exit: Equatable, CustomStringConvertible {
        var status: Int32
        var output: String
        var toStandardError = true

        var description: String {
            "status \(self.status), \(self.toStandardError ? "stderr" : "stdout"): \(self.output)"
        }
    }

    struct Failure: Error {}

    static func parse(
        _ arguments: [String],
        largePages: MemcachedOptions.LargePages = .available
    ) -> MemcachedOptions.Outcome {
        MemcachedOptions.parse(arguments, programName: "memcached", largePages: { largePages })
    }

    /// Parses a command line that must start the server.
    static func run(
        _ arguments: [String],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> MemcachedOptions.ParsedOptions {
        switch Self.parse(arguments) {
        case .run(let parsed):
            return parsed
        case .exit(let status, let output, _):
            Issue.record("\(arguments) exited with \(status): \(output)", sourceLocation: sourceLocation)
            throw Failure()
        }
    }

    /// `run` on a command line split at spaces.
    static func run(
        _ line: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> MemcachedOptions.ParsedOptions {
        try Self.run(line.split(separator: " ").map(String.init), sourceLocation: sourceLocation)
    }

    static func settings(
        _ line: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> MemcachedSettings {
        try Self.run(line, sourceLocation: sourceLocation).settings
    }

    /// What a command line that must stop prints.
    static func exit(_ arguments: [String]) -> Exit? {
        guard case .exit(let status, let output, let toStandardError) = Self.parse(arguments) else { return nil }
        return Exit(status: status, output: output, toStandardError: toStandardError)
    }

    static func exit(_ line: String) -> Exit? { Self.exit(line.split(separator: " ").map(String.init)) }

    // MARK: - Defaults

    @Test func noArgumentsGiveMemcachedsDefaults() throws {
        let parsed = try Self.run([])
        #expect(parsed.warnings.isEmpty)
        #expect(parsed.extras == MemcachedOptions.Extras())
        let s = parsed.settings
        let d = MemcachedSettings()
        #expect(s.port == d.port && s.port == 11211)
        #expect(s.udpPort == 0 && s.listen.isEmpty && s.socketPath == nil && s.socketMode == 0o700)
        #expect(s.maxConnections == 1024 && s.threads == 4 && s.verbosity == 0 && s.backlog == 1024)
        #expect(s.requestsPerEvent == 20 && s.prefixDelimiter == UInt8(ascii: ":") && s.bindingProtocol == .auto)
        #expect(!s.shutdownCommand && s.flushEnabled && s.dumpEnabled && !s.daemonize && !s.largePages)
        #expect(s.idleTimeout == 0 && s.tailRepairTime == 0 && s.crawlerSleep == 100 && s.crawlerToCrawl == 0)
        #expect(s.watcherLogBufferSize == 262_144 && s.workerLogBufferSize == 65_536 && s.readBufferMemoryLimit == 0)
        let store = s.store
        #expect(store.memoryLimit == 64 << 20 && store.itemSizeMax == 1 << 20 && store.pageSize == 1 << 20)
        #expect(store.chunkMax == 512 << 10 && store.growthFactor == 1.25 && store.minimumChunk == 48)
        #expect(store.classSizes == nil && store.evictToFree && store.useCAS && store.segmentedLRU)
        #expect(store.hotLRUPercent == 20 && store.warmLRUPercent == 40)
        #expect(store.hotMaxFactor == 0.2 && store.warmMaxFactor == 2.0)
        #expect(!store.temporaryLRU && store.temporaryTTL == 61)
        #expect(store.slabReassign && store.slabAutomove == 1 && store.slabAutomoveRatio == 0.8)
        #expect(store.slabAutomoveWindow == 30 && store.lruCrawler && store.lruMaintainer && store.hashPower == 16)
    }

    // MARK: - Each option's field

    @Test func serverOptionsLandInTheirFields() throws {
        #expect(try Self.settings("-p 12345").port == 12345)
        #expect(try Self.settings("-U 0 -p 7").udpPort == 0)
        #expect(try Self.settings("-s /tmp/mc.sock").socketPath == "/tmp/mc.sock")
        #expect(try Self.settings("-a 755").socketMode == 0o755)
        #expect(try Self.settings("-a 0777").socketMode == 0o777)
        #expect(try Self.settings("-A").shutdownCommand)
        #expect(try Self.settings("-c 5000").maxConnections == 5000)
        #expect(try Self.settings("-t 8").threads == 8)
        #expect(try Self.settings("-v").verbosity == 1)
        #expect(try Self.settings("-F").flushEnabled == false)
        #expect(try Self.settings("-X").dumpEnabled == false)
        #expect(try Self.settings("-b 64").backlog == 64)
        #expect(try Self.settings("-B ascii").bindingProtocol == .ascii)
        #expect(try Self.settings("-B binary").bindingProtocol == .binary)
        #expect(try Self.settings("-B auto").bindingProtocol == .auto)
        #expect(try Self.settings("-R 5").requestsPerEvent == 5)
        #expect(try Self.settings("-R -3").requestsPerEvent == -3)  // only 0 is refused
        #expect(try Self.settings("-d").daemonize)
        #expect(try Self.settings("-u nobody").user == "nobody")
        #expect(try Self.settings("-P /run/mc.pid").pidFile == "/run/mc.pid")
        #expect(try Self.settings("-r").maximizeCoreFile)
        #expect(try Self.settings("-k").lockMemory)
        let auth = try Self.settings("-Y /etc/mc.auth")
        #expect(auth.authFile == "/etc/mc.auth")
        #expect(auth.bindingProtocol == .ascii)  // -Y without -B turns the binary protocol off
        #expect(try Self.settings("-Y /etc/mc.auth -B ascii").bindingProtocol == .ascii)
        let detail = try Self.run("-D #")
        #expect(detail.settings.prefixDelimiter == UInt8(ascii: "#"))
        #expect(detail.extras.detailEnabled)
        #expect(try Self.settings("-D abc").prefixDelimiter == UInt8(ascii: "a"))
    }

    @Test func storeOptionsLandInTheirFields() throws {
        #expect(try Self.settings("-m 128").store.memoryLimit == 128 << 20)
        #expect(try Self.settings("-m 8192").store.memoryLimit == 8192 << 20)  // above 4G: size_t
        #expect(try Self.settings("-M").store.evictToFree == false)
        #expect(try Self.settings("-C").store.useCAS == false)
        #expect(try Self.settings("-f 1.08").store.growthFactor == 1.08)
        #expect(try Self.settings("-n 72").store.minimumChunk == 72)
        #expect(try Self.settings("-I 2m").store.itemSizeMax == 2 << 20)
        #expect(try Self.settings("-o slab_chunk_max=16384").store.chunkMax == 16384)
        #expect(try Self.settings("-o slab_sizes=100-200-400").store.classSizes == [100, 200, 400])
        #expect(try Self.settings("-o hashpower=20").store.hashPower == 20)
        #expect(try Self.run("-o hashpower=20").extras.hashPowerInitial == 20)
        #expect(try Self.settings("-o hot_lru_pct=10").store.hotLRUPercent == 10)
        #expect(try Self.settings("-o warm_lru_pct=50").store.warmLRUPercent == 50)
        #expect(try Self.settings("-o hot_max_factor=0.5").store.hotMaxFactor == 0.5)
        #expect(try Self.settings("-o warm_max_factor=3").store.warmMaxFactor == 3)
        let temporary = try Self.settings("-o temporary_ttl=30").store
        #expect(temporary.temporaryLRU && temporary.temporaryTTL == 30)
        #expect(try Self.settings("-o no_slab_reassign").store.slabReassign == false)
        #expect(try Self.settings("-o no_slab_reassign,slab_reassign").store.slabReassign)
        #expect(try Self.settings("-o slab_automove=2").store.slabAutomove == 2)
        #expect(try Self.settings("-o no_slab_automove").store.slabAutomove == 0)
        #expect(try Self.settings("-o no_slab_automove,slab_automove").store.slabAutomove == 1)
        #expect(try Self.settings("-o slab_automove=").store.slabAutomove == 0)  // atoi("")
        #expect(try Self.settings("-o slab_automove_ratio=0.5").store.slabAutomoveRatio == 0.5)
        #expect(try Self.settings("-o slab_automove_window=10").store.slabAutomoveWindow == 10)
        // An unsigned int in memcached: -1 wraps and passes its "> 2" check.
        #expect(try Self.settings("-o slab_automove_window=-1").store.slabAutomoveWindow == 4_294_967_295)
        #expect(try Self.settings("-o no_lru_crawler").store.lruCrawler == false)
        #expect(try Self.settings("-o no_lru_crawler,lru_crawler").store.lruCrawler)
        let noMaintainer = try Self.settings("-o no_lru_maintainer").store
        #expect(!noMaintainer.lruMaintainer && !noMaintainer.segmentedLRU)
        let maintainer = try Self.settings("-o no_lru_maintainer,lru_maintainer").store
        #expect(maintainer.lruMaintainer && maintainer.segmentedLRU)
        #expect(try Self.settings("-o no_chunked_items").store.chunkMax == 1 << 20)
    }

    @Test func suboptionsForTheServerLandInTheirFields() throws {
        #expect(try Self.settings("-o idle_timeout=600").idleTimeout == 600)
        #expect(try Self.settings("-o tail_repair_time=30").tailRepairTime == 30)
        #expect(try Self.settings("-o lru_crawler_sleep=250").crawlerSleep == 250)
        #expect(try Self.settings("-o lru_crawler_tocrawl=5000").crawlerToCrawl == 5000)
        #expect(try Self.settings("-o track_sizes").trackSizes)
        #expect(try Self.settings("-o watcher_logbuf_size=512").watcherLogBufferSize == 512 * 1024)
        #expect(try Self.settings("-o read_buf_mem_limit=64").readBufferMemoryLimit == 64 << 20)
        // An unsigned int of bytes: 4096 MB wraps to 0.
        #expect(try Self.settings("-o read_buf_mem_limit=4096").readBufferMemoryLimit == 0)
    }

    /// memcached 1.6.18's `worker_logbuf_size` case has no `break`: the value also becomes `slab_sizes` (the real
    /// memcached prints "slab class 1: chunk size 64" then "slab class 2: chunk size 524288" for
    /// `-o worker_logbuf_size=64 -vv`, and refuses `worker_logbuf_size=32` as a slab size).
    @Test func workerLogbufSizeFallsThroughToSlabSizes() throws {
        let settings = try Self.settings("-o worker_logbuf_size=64")
        #expect(settings.workerLogBufferSize == 64 * 1024)
        #expect(settings.store.classSizes == [64])
        #expect(
            Self.exit("-o worker_logbuf_size=32") == Exit(status: 64, output: "slab size 32 is out of valid range\n")
        )
    }

    @Test func optionsWithoutAFieldLandInExtras() throws {
        let extras = try Self.run(
            "-W -e /dev/shm/mc -N 2 -l 127.0.0.1 -o no_maxconns_fast,hash_algorithm=xxh3,no_hashexpand,"
                + "drop_privileges,sock_cookie_id=42"
        ).extras
        #expect(!extras.watchEnabled)
        #expect(extras.memoryFile == "/dev/shm/mc" && extras.preallocate)
        #expect(extras.napiIDs == 2)
        #expect(extras.interface == "127.0.0.1")
        #expect(!extras.maxconnsFast && extras.hashAlgorithm == "xxh3" && !extras.hashExpansion)
        #expect(extras.dropPrivileges && extras.socketCookieID == 42)
        #expect(try Self.run("-o drop_privileges,no_drop_privileges").extras.dropPrivileges == false)
        #expect(try Self.run("-o maxconns_fast").extras.maxconnsFast)
        // Accepted and without effect in memcached 1.6.18 too.
        #expect(try Self.run("-o modern,inline_ascii_resp,no_inline_ascii_resp").warnings.isEmpty)
    }

    @Test func listenAddressesAccumulateAsMemcachedKeepsThem() throws {
        let one = try Self.run("-l 127.0.0.1,::1")
        #expect(one.settings.listen == ["127.0.0.1", "::1"])
        let several = try Self.run("-l 10.0.0.1 -l 10.0.0.2;10.0.0.3")
        #expect(several.extras.interface == "10.0.0.1,10.0.0.2;10.0.0.3")
        #expect(several.settings.listen == ["10.0.0.1", "10.0.0.2", "10.0.0.3"])
        // memcached skips an -l whose text is already contained in the list (strstr), even as part of another.
        #expect(try Self.run("-l 127.0.0.10 -l 127.0.0.1").settings.listen == ["127.0.0.10"])
        #expect(try Self.run("-l 127.0.0.1 -l 127.0.0.10").settings.listen == ["127.0.0.1", "127.0.0.10"])
    }

    // MARK: - getopt

    @Test func combinedShortFlags() throws {
        #expect(try Self.settings("-vv").verbosity == 2)
        #expect(try Self.settings("-vvv").verbosity == 3)
        #expect(try Self.settings("-v -v -vv").verbosity == 4)
        let dm = try Self.settings("-dM")
        #expect(dm.daemonize && !dm.store.evictToFree)
        let cluster = try Self.settings("-dMvp 11311")
        #expect(cluster.daemonize && !cluster.store.evictToFree && cluster.verbosity == 1 && cluster.port == 11311)
        let attached = try Self.settings("-vp11411")
        #expect(attached.verbosity == 1 && attached.port == 11411)
        #expect(try Self.settings("-AkrCFX").store.useCAS == false)
    }

    @Test func attachedAndSeparateArguments() throws {
        #expect(try Self.settings("-p11211").port == 11211)
        #expect(try Self.settings("-p 11212").port == 11212)
        #expect(try Self.settings("-m64").store.memoryLimit == 64 << 20)
        #expect(try Self.run(["-ono_modern"]).settings.store.lruCrawler == false)
        // A separate argument is taken even when it starts with a dash.
        #expect(try Self.run(["-u", "-v"]).settings.user == "-v")
        #expect(try Self.run(["-p", "-5"]).settings.port == -5)
    }

    @Test func longOptions() throws {
        #expect(try Self.settings("--port=11213").port == 11213)
        #expect(try Self.settings("--port 11214").port == 11214)
        #expect(try Self.settings("--memory-limit=256").store.memoryLimit == 256 << 20)
        #expect(try Self.settings("--udp-port=0 --conn-limit=10").maxConnections == 10)
        #expect(try Self.settings("--max-item-size=4m").store.itemSizeMax == 4 << 20)
        #expect(try Self.settings("--extended=no_lru_crawler").store.lruCrawler == false)
        #expect(try Self.settings("--listen=127.0.0.1 --listen-backlog=16").backlog == 16)
        #expect(try Self.settings("--protocol=ascii").bindingProtocol == .ascii)
        #expect(try Self.settings("--disable-evictions --disable-cas").store.useCAS == false)
        #expect(try Self.settings("--enable-shutdown --disable-flush-all --disable-dumping").dumpEnabled == false)
        #expect(try Self.settings("--threads=2 --slab-growth-factor=2 --slab-min-size=64").store.minimumChunk == 64)
        #expect(try Self.settings("--max-reqs-per-event=9").requestsPerEvent == 9)
        #expect(try Self.settings("--unix-socket=/tmp/s --unix-mask=600").socketMode == 0o600)
        #expect(try Self.settings("--user=mc --pidfile=/tmp/p --daemon --lock-memory --enable-coredumps").user == "mc")
        #expect(try Self.settings("--auth-file=/tmp/a").authFile == "/tmp/a")
        #expect(try Self.run("--memory-file=/tmp/m --disable-watch --napi-ids=1").extras.memoryFile == "/tmp/m")
        #expect(try Self.settings("--enable-largepages").largePages)
        // getopt_long's unique abbreviations, and --verbose's optional argument (ignored: one level per use).
        #expect(try Self.settings("--po=11215").port == 11215)
        #expect(try Self.settings("--memory-l 32").store.memoryLimit == 32 << 20)
        #expect(try Self.settings("--verbose=3").verbosity == 1)
        #expect(try Self.settings("--verb --verbose").verbosity == 2)
    }

    @Test func argumentsThatAreNotOptionsAreSkipped() throws {
        #expect(try Self.settings("foo -p 11216 bar").port == 11216)
        #expect(try Self.settings("- -v").verbosity == 1)
        // "--" ends the options: what follows is not looked at (memcached 1.6.18 starts with `-- -Q`).
        #expect(try Self.settings("-v -- -Q -p 1").port == 11211)
        #expect(Self.exit("foo -V") == Exit(status: 0, output: "memcached 1.6.18\n", toStandardError: false))
    }

    // MARK: - Sizes

    @Test func itemSizeUnits() throws {
        #expect(try Self.settings("-I 2m").store.itemSizeMax == 2_097_152)
        #expect(try Self.settings("-I 2M").store.itemSizeMax == 2_097_152)
        #expect(try Self.settings("-I 512k").store.itemSizeMax == 524_288)
        #expect(try Self.settings("-I 512K").store.itemSizeMax == 524_288)
        #expect(try Self.settings("-I 524288").store.itemSizeMax == 524_288)
        #expect(try Self.settings("-I 1.5m").store.itemSizeMax == 1 << 20)  // atoi("1.5")
        #expect(try Self.settings("-m 4096 -I 1024m").store.itemSizeMax == 1 << 30)
        // Past 1m, slab_chunk_max goes back to half a page unless it was set.
        #expect(try Self.settings("-I 2m").store.chunkMax == 512 << 10)
        #expect(try Self.settings("-o no_modern -I 2m").store.chunkMax == 512 << 10)
        #expect(try Self.settings("-o no_modern,slab_chunk_max=1048576 -I 2m").store.chunkMax == 1 << 20)
        #expect(try Self.settings("-o no_modern").store.chunkMax == 1 << 20)
        #expect(try Self.settings("-o slab_chunk_max=16384,no_modern -I 512k").store.chunkMax == 16384)
    }

    @Test func memoryLimitUnits() throws {
        // -m is atoi() megabytes: a unit is not read ("64m" is 64, "1g" is 1).
        #expect(try Self.settings("-m 64m").store.memoryLimit == 64 << 20)
        #expect(try Self.settings("-m 100000").store.memoryLimit == 100_000 << 20)
        // A negative -m wraps to nearly 2^64 in memcached's size_t: no limit in practice.
        #expect(try Self.settings("-m -1").store.memoryLimit == Int.max)
        #expect(
            Self.exit("-m 1g")
                == Exit(status: 64, output: "Cannot set item size limit higher than 1/2 of memory max.\n")
        )
    }

    // MARK: - Order-dependent adjustments

    @Test func noModernTurnsOffWhatMemcachedTurnsOff() throws {
        let parsed = try Self.run("-o no_modern")
        let store = parsed.settings.store
        #expect(!store.segmentedLRU && !store.lruCrawler && !store.lruMaintainer)
        #expect(!store.slabReassign && store.slabAutomove == 0 && store.chunkMax == 1 << 20)
        #expect(!parsed.extras.maxconnsFast && parsed.extras.hashAlgorithm == "jenkins")
        // Later suboptions turn things back on, in order.
        let again = try Self.settings("-o no_modern,lru_crawler,lru_maintainer,slab_reassign,slab_automove").store
        #expect(again.lruCrawler && again.lruMaintainer && again.segmentedLRU && again.slabReassign)
        #expect(again.slabAutomove == 1)
        #expect(try Self.settings("-o no_modern -o modern").store.lruCrawler == false)
        let before = try Self.settings("-o no_lru_crawler,modern").store
        #expect(!before.lruCrawler && before.lruMaintainer)
    }

    @Test func portsAndProtocols() throws {
        // -U without -p: the TCP port follows the UDP one.
        let udp = try Self.settings("-U 11300")
        #expect(udp.port == 11300 && udp.udpPort == 11300)
        let both = try Self.settings("-U 11300 -p 11400")
        #expect(both.port == 11400 && both.udpPort == 11300)
        #expect(try Self.settings("-p 0").port == 0)
    }

    @Test func largePages() throws {
        guard case .run(let parsed) = Self.parse(["-L"], largePages: .available) else {
            Issue.record("-L refused")
            return
        }
        #expect(parsed.settings.largePages && parsed.extras.preallocate)
        let tail = "Cannot enable large pages on this system\n(There is no support as of this version)\n"
        let cases: [(MemcachedOptions.LargePages, String)] = [
            (.disabled, "Transparent huge pages support disabled.\nWill use default page size.\n" + tail),
            (.notDetected, "Transparent huge pages support not detected.\nWill use default page size.\n" + tail),
            (
                .unreadable,
                "Transparent huge pages could not read the configuration.\nWill use default page size.\n" + tail
            ),
            (.unsupported, tail),
        ]
        for (support, output) in cases {
            guard case .exit(let status, let text, let toStandardError) = Self.parse(["-L"], largePages: support)
            else {
                Issue.record("-L accepted with \(support)")
                continue
            }
            #expect(status == 1 && text == output && toStandardError)
        }
    }

    // MARK: - Warnings

    @Test func warningsAreCollected() throws {
        let threads = try Self.run("-t 65")
        #expect(threads.settings.threads == 65)
        #expect(
            threads.warnings == [
                "WARNING: Setting a high number of workerthreads is not recommended.\n"
                    + " Set this value to the number of cores in your machine or less."
            ]
        )
        #expect(
            try Self.run("-o resp_obj_mem_limit").warnings == [
                "DEPRECATED: resp_obj_mem_limit no longer used. See read_buf_mem_limit,"
            ]
        )
        // Printed before a later error, as memcached prints them (recorded: `-t 65 -c 0`).
        #expect(
            Self.exit("-t 65 -c 0")
                == Exit(
                    status: 1,
                    output: "WARNING: Setting a high number of workerthreads is not recommended.\n"
                        + " Set this value to the number of cores in your machine or less.\n"
                        + "Maximum connections must be greater than 0\n"
                )
        )
    }

    // MARK: - Errors

    /// Every refusal, with what memcached 1.6.18 printed and its status.
    static let refusals: [(String, Exit)] = [
        // getopt_long's messages, then memcached's "Illegal argument".
        ("-Q", Exit(status: 1, output: "memcached: invalid option -- 'Q'\nIllegal argument \"?\"\n")),
        ("-Q -V", Exit(status: 1, output: "memcached: invalid option -- 'Q'\nIllegal argument \"?\"\n")),
        ("-vQ", Exit(status: 1, output: "memcached: invalid option -- 'Q'\nIllegal argument \"?\"\n")),
        ("--foo", Exit(status: 1, output: "memcached: unrecognized option '--foo'\nIllegal argument \"?\"\n")),
        ("--foo=bar", Exit(status: 1, output: "memcached: unrecognized option '--foo=bar'\nIllegal argument \"?\"\n")),
        (
            "--memory",
            Exit(
                status: 1,
                output: "memcached: option '--memory' is ambiguous; possibilities: '--memory-limit' '--memory-file'\n"
                    + "Illegal argument \"?\"\n"
            )
        ),
        (
            "--mem=64",
            Exit(
                status: 1,
                output: "memcached: option '--mem=64' is ambiguous; possibilities: '--memory-limit' '--memory-file'\n"
                    + "Illegal argument \"?\"\n"
            )
        ),
        (
            "--disable",
            Exit(
                status: 1,
                output: "memcached: option '--disable' is ambiguous; possibilities: '--disable-evictions' "
                    + "'--disable-cas' '--disable-flush-all' '--disable-dumping' '--disable-watch'\n"
                    + "Illegal argument \"?\"\n"
            )
        ),
        (
            "--l",
            Exit(
                status: 1,
                output: "memcached: option '--l' is ambiguous; possibilities: '--lock-memory' '--license' '--listen' "
                    + "'--listen-backlog'\nIllegal argument \"?\"\n"
            )
        ),
        (
            "--enable-s",
            Exit(
                status: 1,
                output: "memcached: option '--enable-s' is ambiguous; possibilities: '--enable-shutdown' "
                    + "'--enable-ssl' '--enable-sasl'\nIllegal argument \"?\"\n"
            )
        ),
        (
            "--ver",
            Exit(
                status: 1,
                output: "memcached: option '--ver' is ambiguous; possibilities: '--version' '--verbose'\n"
                    + "Illegal argument \"?\"\n"
            )
        ),
        (
            "--help=1",
            Exit(status: 1, output: "memcached: option '--help' doesn't allow an argument\nIllegal argument \"?\"\n")
        ),
        (
            "--hel=1",
            Exit(status: 1, output: "memcached: option '--help' doesn't allow an argument\nIllegal argument \"?\"\n")
        ),
        (
            "--version=2",
            Exit(
                status: 1,
                output: "memcached: option '--version' doesn't allow an argument\nIllegal argument \"?\"\n"
            )
        ),
        ("-p", Exit(status: 1, output: "memcached: option requires an argument -- 'p'\nIllegal argument \"?\"\n")),
        (
            "--port",
            Exit(status: 1, output: "memcached: option '--port' requires an argument\nIllegal argument \"?\"\n")
        ),
        // The options' own checks, in the loop (status 1) and after it (64).
        ("-c 0", Exit(status: 1, output: "Maximum connections must be greater than 0\n")),
        ("-c -5", Exit(status: 1, output: "Maximum connections must be greater than 0\n")),
        ("-R 0", Exit(status: 1, output: "Number of requests per event must be greater than 0\n")),
        ("-f 1", Exit(status: 1, output: "Factor must be greater than 1\n")),
        ("-f abc", Exit(status: 1, output: "Factor must be greater than 1\n")),
        ("-n 0", Exit(status: 1, output: "Chunk size must be greater than 0\n")),
        ("-t 0", Exit(status: 1, output: "Number of threads must be greater than 0\n")),
        (
            "-B foo",
            Exit(
                status: 64,
                output: "Invalid value for binding protocol: foo\n -- should be one of auto, binary, or ascii\n"
            )
        ),
        ("-N 0", Exit(status: 1, output: "Maximum number of NAPI IDs must be greater than 0\n")),
        ("-N 5", Exit(status: 64, output: "Number of napi_ids(5) cannot be greater than number of threads(4)\n")),
        ("-o hashpower=11", Exit(status: 1, output: "Initial hashtable multiplier of 11 is too low\n")),
        (
            "-o hashpower=33",
            Exit(
                status: 1,
                output: "Initial hashtable multiplier of 33 is too high\n"
                    + "Choose a value based on \"STAT hash_power_level\" from a running instance\n"
            )
        ),
        ("-o hashpower", Exit(status: 1, output: "Missing numeric argument for hashpower\n")),
        ("-o hashpower=", Exit(status: 1, output: "Initial hashtable multiplier of 0 is too low\n")),
        ("-o slab_automove=3", Exit(status: 1, output: "slab_automove must be between 0 and 2\n")),
        ("-o slab_automove_ratio=0", Exit(status: 1, output: "slab_automove_ratio must be > 0 and < 1\n")),
        ("-o slab_automove_ratio=1.5", Exit(status: 1, output: "slab_automove_ratio must be > 0 and < 1\n")),
        ("-o slab_automove_ratio", Exit(status: 1, output: "Missing slab_automove_ratio argument\n")),
        ("-o slab_automove_window=2", Exit(status: 1, output: "slab_automove_window must be > 2\n")),
        ("-o slab_automove_window", Exit(status: 1, output: "Missing slab_automove_window argument\n")),
        ("-o tail_repair_time=5", Exit(status: 1, output: "Cannot set tail_repair_time to less than 10 seconds\n")),
        ("-o tail_repair_time", Exit(status: 1, output: "Missing numeric argument for tail_repair_time\n")),
        ("-o hash_algorithm=foo", Exit(status: 1, output: "Unknown hash_algorithm option (jenkins, murmur3, xxh3)\n")),
        ("-o hash_algorithm", Exit(status: 1, output: "Missing hash_algorithm argument\n")),
        ("-o lru_crawler_sleep=1000001", Exit(status: 1, output: "LRU crawler sleep must be between 0 and 1 second\n")),
        ("-o lru_crawler_sleep=-1", Exit(status: 1, output: "LRU crawler sleep must be between 0 and 1 second\n")),
        ("-o lru_crawler_sleep", Exit(status: 1, output: "Missing lru_crawler_sleep value\n")),
        ("-o lru_crawler_tocrawl=-1", Exit(status: 1, output: "lru_crawler_tocrawl takes a numeric 32bit value\n")),
        ("-o lru_crawler_tocrawl=5x", Exit(status: 1, output: "lru_crawler_tocrawl takes a numeric 32bit value\n")),
        ("-o lru_crawler_tocrawl=", Exit(status: 1, output: "lru_crawler_tocrawl takes a numeric 32bit value\n")),
        ("-o lru_crawler_tocrawl", Exit(status: 1, output: "Missing lru_crawler_tocrawl value\n")),
        ("-o hot_lru_pct=80", Exit(status: 1, output: "hot_lru_pct must be > 1 and < 80\n")),
        ("-o hot_lru_pct", Exit(status: 1, output: "Missing hot_lru_pct argument\n")),
        ("-o warm_lru_pct=0", Exit(status: 1, output: "warm_lru_pct must be > 1 and < 80\n")),
        ("-o warm_lru_pct", Exit(status: 1, output: "Missing warm_lru_pct argument\n")),
        (
            "-o hot_lru_pct=50,warm_lru_pct=40",
            Exit(status: 64, output: "hot_lru_pct + warm_lru_pct cannot be more than 80% combined\n")
        ),
        ("-o hot_max_factor=0", Exit(status: 1, output: "hot_max_factor must be > 0\n")),
        ("-o hot_max_factor", Exit(status: 1, output: "Missing hot_max_factor argument\n")),
        ("-o warm_max_factor=-1", Exit(status: 1, output: "warm_max_factor must be > 0\n")),
        ("-o warm_max_factor", Exit(status: 1, output: "Missing warm_max_factor argument\n")),
        ("-o temporary_ttl", Exit(status: 1, output: "Missing temporary_ttl argument\n")),
        (
            "-o temporary_ttl=10,no_lru_maintainer",
            Exit(status: 64, output: "temporary_ttl requires lru_maintainer to be enabled\n")
        ),
        (
            "-o temporary_ttl=10 -o no_modern",
            Exit(status: 64, output: "temporary_ttl requires lru_maintainer to be enabled\n")
        ),
        ("-o idle_timeout", Exit(status: 1, output: "Missing numeric argument for idle_timeout\n")),
        ("-o watcher_logbuf_size=x", Exit(status: 1, output: "could not parse argument to watcher_logbuf_size\n")),
        ("-o watcher_logbuf_size", Exit(status: 1, output: "Missing watcher_logbuf_size argument\n")),
        ("-o worker_logbuf_size=x", Exit(status: 1, output: "could not parse argument to worker_logbuf_size\n")),
        ("-o worker_logbuf_size", Exit(status: 1, output: "Missing worker_logbuf_size argument\n")),
        ("-o read_buf_mem_limit=-1", Exit(status: 1, output: "could not parse argument to read_buf_mem_limit\n")),
        ("-o read_buf_mem_limit", Exit(status: 1, output: "Missing read_buf_mem_limit argument\n")),
        // Item size, memory and slab_chunk_max.
        ("-I 0", Exit(status: 64, output: "Item max size cannot be less than 1024 bytes.\n")),
        ("-I 512", Exit(status: 64, output: "Item max size cannot be less than 1024 bytes.\n")),
        ("-I 1g", Exit(status: 64, output: "Item max size cannot be less than 1024 bytes.\n")),
        ("-I 2048m", Exit(status: 64, output: "Item max size cannot be less than 1024 bytes.\n")),
        ("-I 4096m", Exit(status: 64, output: "Item max size cannot be less than 1024 bytes.\n")),
        (
            "-I 256k",
            Exit(status: 64, output: "slab_chunk_max (bytes: 524288) cannot be larger than -I (item_size_max 262144)\n")
        ),
        (
            "-I 1000000",
            Exit(
                status: 64,
                output: "-I (item_size_max: 1000000) must be evenly divisible by slab_chunk_max (bytes: 524288)\n"
            )
        ),
        ("-I 1025m", Exit(status: 64, output: "Cannot set item size limit higher than 1/2 of memory max.\n")),
        ("-m 4096 -I 1025m", Exit(status: 64, output: "Cannot set item size limit higher than a gigabyte.\n")),
        ("-m 0", Exit(status: 64, output: "Cannot set item size limit higher than 1/2 of memory max.\n")),
        ("-m 1", Exit(status: 64, output: "Cannot set item size limit higher than 1/2 of memory max.\n")),
        (
            "-o no_modern -I 512k",
            Exit(
                status: 64,
                output: "slab_chunk_max (bytes: 1048576) cannot be larger than -I (item_size_max 524288)\n"
            )
        ),
        (
            "-o slab_chunk_max=1000",
            Exit(
                status: 64,
                output: "-I (item_size_max: 1048576) must be evenly divisible by slab_chunk_max (bytes: 1000)\n"
            )
        ),
        (
            "-o slab_chunk_max=-5",
            Exit(
                status: 64,
                output: "-I (item_size_max: 1048576) must be evenly divisible by slab_chunk_max (bytes: -5)\n"
            )
        ),
        (
            "-o slab_chunk_max=2097152 -I 4m",
            Exit(
                status: 64,
                output: "slab_chunk_max (bytes: 2097152) must divide evenly into 1048576 (slab_page_size)\n"
            )
        ),
        // slab_sizes (an empty list fails without a word).
        ("-o slab_sizes=", Exit(status: 64, output: "")),
        (
            "-o slab_sizes=100-200-150",
            Exit(status: 64, output: "slab size 150 cannot be lower than or equal to a previous class size\n")
        ),
        (
            "-o slab_sizes=100-104",
            Exit(status: 64, output: "slab size 104 must be at least 8 bytes larger than previous class\n")
        ),
        ("-o slab_sizes=40-100", Exit(status: 64, output: "slab size 40 is out of valid range\n")),
        ("-o slab_sizes=100-600000", Exit(status: 64, output: "slab size 600000 is out of valid range\n")),
        ("-o slab_sizes=100-abc", Exit(status: 64, output: "slab size 0 is out of valid range\n")),
        // Authentication, ports.
        (
            "-Y /tmp/auth -B binary",
            Exit(
                status: 64,
                output: "ERROR: You cannot allow the BINARY protocol while using ascii authentication tokens.\n"
            )
        ),
        (
            "-Y /tmp/auth -B auto",
            Exit(
                status: 64,
                output: "ERROR: You cannot allow the BINARY protocol while using ascii authentication tokens.\n"
            )
        ),
        (
            "-U 11311 -Y /tmp/auth",
            Exit(status: 64, output: "Cannot use UDP with ascii authentication enabled (-U 0 to disable)\n")
        ),
        ("-p 70000", Exit(status: 64, output: "ERROR: Invalid port number 70000.\n")),
        ("-U 70000", Exit(status: 64, output: "ERROR: Invalid port number 70000.\n")),
        ("-D", Exit(status: 1, output: "memcached: option requires an argument -- 'D'\nIllegal argument \"?\"\n")),
    ]

    @Test func refusalsMatchMemcached() {
        for (line, expected) in Self.refusals {
            #expect(Self.exit(line) == expected, "\(line)")
        }
        // An empty -D (recorded: `memcached -D ''`).
        #expect(Self.exit(["-D", ""]) == Exit(status: 1, output: "No delimiter specified\n"))
        // getopt names the program as argv[0] (recorded: `/usr/bin/memcached -Q`).
        guard case .exit(_, let output, _) = MemcachedOptions.parse(["-Q"], programName: "/usr/bin/memcached") else {
            Issue.record("-Q accepted")
            return
        }
        #expect(output == "/usr/bin/memcached: invalid option -- 'Q'\nIllegal argument \"?\"\n")
    }

    /// What a memcached 1.6.18 built without extstore, TLS or SASL does (from memcached.c: Debian's build has all
    /// three, accepts `ext_*` and `ssl_*`, and prints an unknown suboption alone on standard error), and where
    /// memcached crashes (SIGSEGV, SIGFPE) and this stops cleanly instead.
    @Test func refusalsOfWhatSwiftletLacks() {
        let illegal = { (rest: String) in
            Exit(status: 1, output: "Illegal suboption \"\(rest)\"\n", toStandardError: false)
        }
        #expect(Self.exit("-o ext_path=/tmp/x:64m") == illegal("ext_path=/tmp/x:64m"))
        #expect(Self.exit("-o ext_item_size=512,ext_threads=2") == illegal("ext_item_size=512,ext_threads=2"))
        #expect(Self.exit("-o ssl_chain_cert=/tmp/c") == illegal("ssl_chain_cert=/tmp/c"))
        #expect(Self.exit("-o slab_automove_freeratio=0.1") == illegal("slab_automove_freeratio=0.1"))
        #expect(Self.exit("-o proxy_config=/tmp/p") == illegal("proxy_config=/tmp/p"))
        #expect(Self.exit("-o temp_lru") == illegal("temp_lru"))
        // The rest of the list from the unknown one, as `printf("Illegal suboption \"%s\"\n", subopts_temp)`.
        #expect(Self.exit("-o modern,foo=bar,baz") == illegal("foo=bar,baz"))
        #expect(Self.exit("-o ,modern") == illegal(",modern"))
        #expect(Self.exit("-Z") == Exit(status: 64, output: "This server is not built with TLS support.\n"))
        #expect(Self.exit("--enable-ssl") == Exit(status: 64, output: "This server is not built with TLS support.\n"))
        #expect(Self.exit("-S") == Exit(status: 64, output: "SASL is not supported by swiftlet-memcached\n"))
        #expect(Self.exit("--enable-sasl") == Exit(status: 64, output: "SASL is not supported by swiftlet-memcached\n"))
        // -h before -S prints the help, as memcached handles options in order.
        #expect(Self.exit("-h -S")?.status == 0)
        // memcached prints these, then crashes.
        #expect(Self.exit("-o slab_chunk_max") == Exit(status: 1, output: "Missing slab_chunk_max argument\n"))
        #expect(
            Self.exit("-o slab_chunk_max=abc")
                == Exit(
                    status: 64,
                    output: "could not parse argument to slab_chunk_max\n"
                        + "-I (item_size_max: 1048576) must be evenly divisible by slab_chunk_max (bytes: 0)\n"
                )
        )
        #expect(Self.exit("-o slab_sizes") == Exit(status: 1, output: "Missing slab_sizes argument\n"))
        // Trailing and empty lists are fine.
        #expect(Self.exit("-o modern,") == nil)
        #expect(Self.exit(["-o", ""]) == nil)
    }

    // MARK: - -h, -V, -i

    @Test func versionAndLicense() {
        let version = Exit(status: 0, output: "memcached 1.6.18\n", toStandardError: false)
        #expect(Self.exit("-V") == version)
        #expect(Self.exit("--version") == version)
        #expect(Self.exit("-V -Q") == version)
        #expect(Self.exit("-t 0 -V") == Exit(status: 1, output: "Number of threads must be greater than 0\n"))
        #expect(MemcachedOptions.version == "1.6.18")
        let license = Self.exit("-i")
        #expect(license?.status == 0 && license?.toStandardError == false)
        #expect(license?.output == MemcachedOptions.license)
        #expect(MemcachedOptions.license.hasPrefix("memcached 1.6.18\n\n"))
        #expect(Self.exit("--license")?.output == MemcachedOptions.license)
    }

    /// `memcached -h` from memcached 1.6.18 less what Debian's build adds for TLS, SASL and extstore (the `notls`
    /// note under -l, -S, -Z, the ext_* and ssl_* suboptions).
    @Test func helpIsMemcachedsWithoutTLSSASLAndExtstore() {
        let expected = Self.usageLines.joined(separator: "\n") + "\n"
        #expect(MemcachedOptions.usage == expected)
        #expect(Self.exit("-h") == Exit(status: 0, output: expected, toStandardError: false))
        #expect(Self.exit("--help") == Exit(status: 0, output: expected, toStandardError: false))
        #expect(Self.exit("-h -Q")?.output == expected)
    }

    /// memcached's help shows the values set before -h (recorded with `memcached -p 1234 -m 128 … -h`).
    @Test func helpShowsTheSettingsSoFar() {
        let text =
            Self.exit(
                "-p 1234 -m 128 -c 99 -f 1.5 -n 20 -t 8 -R 7 -b 5 -B ascii -D x -a 755 -I 512k "
                    + "-o hot_lru_pct=10,no_maxconns_fast,hashpower=20,lru_crawler_sleep=5,slab_chunk_max=16384,"
                    + "watcher_logbuf_size=8,worker_logbuf_size=8,temporary_ttl=33,hot_max_factor=0.5 -h"
            )?.output ?? ""
        let lines = [
            "-p, --port=<num>          TCP port to listen on (default: 1234)",
            "-a, --unix-mask=<mask>    access mask for UNIX socket, in octal (default: 755)",
            "-m, --memory-limit=<num>  item memory in megabytes (default: 128)",
            "-c, --conn-limit=<num>    max simultaneous connections (default: 99)",
            "-f, --slab-growth-factor=<num> chunk size growth factor (default: 1.50)",
            "-n, --slab-min-size=<bytes> min space used for key+value+flags (default: 20)",
            "              \"x\" (colon). If this option is specified, stats collection",
            "-t, --threads=<num>       number of threads to use (default: 8)",
            "                          starvation (default: 7)",
            "-b, --listen-backlog=<num> set the backlog queue limit (default: 5)",
            "-B, --protocol=<name>     protocol - one of ascii, binary, or auto (default: ascii)",
            "                          (default: 0m, min: 1k, max: 1024m)",
            "   - maxconns_fast:       immediately close new connections after limit (default: disabled)",
            "                          table should be. normally grows at runtime. (default starts at: 20)",
            "                          default is 5.",
            "                          (requires lru_maintainer, default pct: 10)",
            "   - hot_max_factor:      items idle > cold lru age * drop from hot lru. (default: 0.50)",
            "                          (requires lru_maintainer, default: 33)",
            "   - slab_chunk_max:      (EXPERIMENTAL) maximum slab size in kilobytes. use extreme care. (default: 16)",
            "   - watcher_logbuf_size: size in kilobytes of per-watcher write buffer. (default: 8)",
            "                          read by background thread, then written to watchers. (default: 8)",
        ]
        for line in lines {
            #expect(text.contains(line + "\n"), "\(line)")
        }
        #expect(text.hasSuffix("-N, --napi_ids            number of napi ids. see doc/napi_ids.txt for more details\n"))
    }

    /// memcached's `verify_default` stops the help with status 1 where one of five settings is not its default.
    @Test func helpStopsWhereMemcachedChecksADefault() {
        let message = { (name: String) in
            "Default value of [\(name)] has changed. Modify the help text and default value check.\n"
        }
        let udp = Self.exit("-U 5 -h")
        #expect(udp?.status == 1 && udp?.toStandardError == false)
        let udpLines = Self.usageLines.prefix(23).map {
            $0.hasPrefix("-U, --udp-port") ? "-U, --udp-port=<num>      UDP port to listen on (default: 5, off)" : $0
        }
        #expect(udp?.output == udpLines.joined(separator: "\n") + "\n" + message("udp-port"))
        let read = Self.exit("-o read_buf_mem_limit=3 -h")?.output ?? ""
        #expect(read.hasSuffix("0 means unlimited (default: 3145728)\n" + message("read_buf_mem_limit")))
        for (option, name) in [
            ("tail_repair_time=30", "tail_repair_time"), ("lru_crawler_tocrawl=3", "lru_crawler_tocrawl"),
            ("idle_timeout=3", "idle_timeout"),
        ] {
            let stopped = Self.exit("-o \(option) -h")
            #expect(stopped?.status == 1)
            #expect(stopped?.output.hasSuffix("(1.4.x)\n" + message(name)) == true, "\(option)")
        }
    }

    /// memcached 1.6.18's `memcached -h` (Debian), less the `notls` note, -S, -Z and the ext_* and ssl_* suboptions.
    static let usageLines = [
        "memcached 1.6.18",
        "-p, --port=<num>          TCP port to listen on (default: 11211)",
        "-U, --udp-port=<num>      UDP port to listen on (default: 0, off)",
        "-s, --unix-socket=<file>  UNIX socket to listen on (disables network support)",
        "-a, --unix-mask=<mask>    access mask for UNIX socket, in octal (default: 700)",
        "-A, --enable-shutdown     enable ascii \"shutdown\" command",
        "-l, --listen=<addr>       interface to listen on (default: INADDR_ANY)",
        "-d, --daemon              run as a daemon",
        "-r, --enable-coredumps    maximize core file limit",
        "-u, --user=<user>         assume identity of <username> (only when run as root)",
        "-m, --memory-limit=<num>  item memory in megabytes (default: 64)",
        "-M, --disable-evictions   return error on memory exhausted instead of evicting",
        "-c, --conn-limit=<num>    max simultaneous connections (default: 1024)",
        "-k, --lock-memory         lock down all paged memory",
        "-v, --verbose             verbose (print errors/warnings while in event loop)",
        "-vv                       very verbose (also print client commands/responses)",
        "-vvv                      extremely verbose (internal state transitions)",
        "-h, --help                print this help and exit",
        "-i, --license             print memcached and libevent license",
        "-V, --version             print version and exit",
        "-P, --pidfile=<file>      save PID in <file>, only used with -d option",
        "-f, --slab-growth-factor=<num> chunk size growth factor (default: 1.25)",
        "-n, --slab-min-size=<bytes> min space used for key+value+flags (default: 48)",
        "-L, --enable-largepages  try to use large memory pages (if available)",
        "-D <char>     Use <char> as the delimiter between key prefixes and IDs.",
        "              This is used for per-prefix stats reporting. The default is",
        "              \":\" (colon). If this option is specified, stats collection",
        "              is turned on automatically; if not, then it may be turned on",
        "              by sending the \"stats detail on\" command to the server.",
        "-t, --threads=<num>       number of threads to use (default: 4)",
        "-R, --max-reqs-per-event  maximum number of requests per event, limits the",
        "                          requests processed per connection to prevent ",
        "                          starvation (default: 20)",
        "-C, --disable-cas         disable use of CAS",
        "-b, --listen-backlog=<num> set the backlog queue limit (default: 1024)",
        "-B, --protocol=<name>     protocol - one of ascii, binary, or auto (default: auto-negotiate)",
        "-I, --max-item-size=<num> adjusts max item size",
        "                          (default: 1m, min: 1k, max: 1024m)",
        "-F, --disable-flush-all   disable flush_all command",
        "-X, --disable-dumping     disable stats cachedump and lru_crawler metadump",
        "-W  --disable-watch       disable watch commands (live logging)",
        "-Y, --auth-file=<file>    (EXPERIMENTAL) enable ASCII protocol authentication. format:",
        "                          user:pass\\nuser2:pass2\\n",
        "-e, --memory-file=<file>  (EXPERIMENTAL) mmap a file for item memory.",
        "                          use only in ram disks or persistent memory mounts!",
        "                          enables restartable cache (stop with SIGUSR1)",
        "-o, --extended            comma separated list of extended options",
        "                          most options have a 'no_' prefix to disable",
        "   - maxconns_fast:       immediately close new connections after limit (default: enabled)",
        "   - hashpower:           an integer multiplier for how large the hash",
        "                          table should be. normally grows at runtime. (default starts at: 0)",
        "                          set based on \"STAT hash_power_level\"",
        "   - tail_repair_time:    time in seconds for how long to wait before",
        "                          forcefully killing LRU tail item.",
        "                          disabled by default; very dangerous option.",
        "   - hash_algorithm:      the hash table algorithm",
        "                          default is murmur3 hash. options: jenkins, murmur3, xxh3",
        "   - no_lru_crawler:      disable LRU Crawler background thread.",
        "   - lru_crawler_sleep:   microseconds to sleep between items",
        "                          default is 100.",
        "   - lru_crawler_tocrawl: max items to crawl per slab per run",
        "                          default is 0 (unlimited)",
        "   - read_buf_mem_limit:  limit in megabytes for connection read/response buffers.",
        "                          do not adjust unless you have high (20k+) conn. limits.",
        "                          0 means unlimited (default: 0)",
        "   - no_lru_maintainer:   disable new LRU system + background thread.",
        "   - hot_lru_pct:         pct of slab memory to reserve for hot lru.",
        "                          (requires lru_maintainer, default pct: 20)",
        "   - warm_lru_pct:        pct of slab memory to reserve for warm lru.",
        "                          (requires lru_maintainer, default pct: 40)",
        "   - hot_max_factor:      items idle > cold lru age * drop from hot lru. (default: 0.20)",
        "   - warm_max_factor:     items idle > cold lru age * this drop from warm. (default: 2.00)",
        "   - temporary_ttl:       TTL's below get separate LRU, can't be evicted.",
        "                          (requires lru_maintainer, default: 61)",
        "   - idle_timeout:        timeout for idle connections. (default: 0, no timeout)",
        "   - slab_chunk_max:      (EXPERIMENTAL) maximum slab size in kilobytes. use extreme care. (default: 512)",
        "   - watcher_logbuf_size: size in kilobytes of per-watcher write buffer. (default: 256)",
        "   - worker_logbuf_size:  size in kilobytes of per-worker-thread buffer",
        "                          read by background thread, then written to watchers. (default: 64)",
        "   - track_sizes:         enable dynamic reports for 'stats sizes' command.",
        "   - no_hashexpand:       disables hash table expansion (dangerous)",
        "   - modern:              enables options which will be default in future.",
        "                          currently: nothing",
        "   - no_modern:           uses defaults of previous major version (1.4.x)",
        "   - sock_cookie_id:      attributes an ID to a socket for ip filtering/firewalls ",
        "-N, --napi_ids            number of napi ids. see doc/napi_ids.txt for more details",
    ]
}
