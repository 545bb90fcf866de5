import CSwiftletSupport
import NIOCore
import SwiftletConfig
import SwiftletKeyspace
import SwiftletRESP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The server family: INFO, CONFIG, TIME, SHUTDOWN, MEMORY (DEBUG is in ``DebugCommands``).
public enum ServerCommands {
    // MARK: - TIME

    /// TIME — O(1)
    static func time(_ context: inout CommandContext) throws(RedisError) {
        var tv = timeval()
        gettimeofday(&tv, nil)
        context.out.writeArrayHeader(2)
        context.out.writeBulkString(String(tv.tv_sec))
        context.out.writeBulkString(String(tv.tv_usec))
    }

    /// LASTSAVE — O(1): unix time of the last successful save (the start time until persistence saves).
    static func lastsave(_ context: inout CommandContext) throws(RedisError) {
        context.out.writeInteger(Int(context.server.lastSaveTime))
    }

    // MARK: - SHUTDOWN

    /// SHUTDOWN [NOSAVE | SAVE] [NOW] [FORCE] [ABORT] — O(N) when saving
    static func shutdown(_ context: inout CommandContext) throws(RedisError) {
        var request = ShutdownRequest.default
        var abort = false
        var force = false
        var now = false
        var both = false
        for i in 1..<max(1, context.count) {
            if context.argument(i, is: "nosave") {
                both = both || request == .save
                request = .noSave
            } else if context.argument(i, is: "save") {
                both = both || request == .noSave
                request = .save
            } else if context.argument(i, is: "now") {
                now = true
            } else if context.argument(i, is: "force") {
                force = true
            } else if context.argument(i, is: "abort") {
                abort = true
            } else {
                throw RedisError.syntax
            }
        }
        if abort {
            if context.count != 2 { throw RedisError.syntax }
            guard context.server.abortShutdown() else { throw RedisError.noShutdownInProgress }
            context.out.writeOK()
            return
        }
        if both { throw RedisError.syntax }
        if !now && !context.mayBlock {
            throw RedisError("ERR SHUTDOWN without NOW or ABORT isn't allowed for DENY BLOCKING client")
        }
        if let running = context.server.scripting.running, request != .noSave {
            // A script passed busy-reply-threshold: only SHUTDOWN NOSAVE may stop the server under it.
            throw running.isEval ? ScriptingState.busyEval : ScriptingState.busyFunction
        }
        let server = context.server
        if server.shutdownInProgress || server.shutdownWaitsForReplicas(now: now) {
            // The replicas catch up first (at most shutdown-timeout): this client waits, and its connection closes
            // with the server, or it gets the error if the shutdown fails or is aborted.
            server.waitForReplicasBeforeShutdown(request, force: force, client: context.session)
            context.block(
                keys: [],
                deadline: 0,
                timeoutReply: { server.reply(RedisError.shutdownFailed, &$0) },
                serve: { _, _ throws(RedisError) in false }
            )
            return
        }
        guard context.server.prepareForShutdown(request, force: force) else { throw RedisError.shutdownFailed }
        if let refusal = context.server.host?.requestShutdown(request) {
            throw RedisError(refusal)
        }
        // Like Redis, a successful SHUTDOWN sends no reply: the connection just closes.
        context.session.closeAfterReply = true
        // A script still running under this SHUTDOWN (sent while it was busy) stops at its next hook.
        context.server.shutdownRequested = true
    }

    // MARK: - CONFIG

    /// CONFIG GET parameter [parameter ...] — O(N)
    static func configGet(_ context: inout CommandContext) throws(RedisError) {
        let pairs = context.server.config.getMatching(patterns: context.arguments[2...].map(\.bytes))
        context.out.writeMapHeader(pairs.count)
        for (name, value) in pairs {
            context.out.writeBulkString(name)
            context.out.writeBulkString(value)
        }
    }

    /// CONFIG SET parameter value [parameter value ...] — O(N)
    static func configSet(_ context: inout CommandContext) throws(RedisError) {
        guard context.count % 2 == 0 else { throw RedisError.syntax }
        var pairs: [(String, String)] = []
        for i in stride(from: 2, to: context.count, by: 2) {
            pairs.append((String(buffer: context.arguments[i]), String(buffer: context.arguments[i + 1])))
        }
        // Redis's DENY_LOADING_CONFIG parameters cannot change during a load (a replica's diskless load).
        let loading = context.server.replicaLoading
        if loading.loading || loading.async,
            pairs.contains(where: { ["appendonly", "repl-diskless-load", "dir"].contains($0.0.lowercased()) })
        {
            throw RedisError.loading
        }
        do {
            try context.server.config.set(pairs, clientIsLocal: context.session.address.hasPrefix("127."))
        } catch {
            throw RedisError(error.message)
        }
        context.out.writeOK()
    }

    /// CONFIG RESETSTAT — O(1)
    static func configResetstat(_ context: inout CommandContext) throws(RedisError) {
        context.server.resetStatistics()
        context.out.writeOK()
    }

    /// CONFIG REWRITE — O(1)
    static func configRewrite(_ context: inout CommandContext) throws(RedisError) {
        let path = context.server.configFile
        guard !path.isEmpty else { throw RedisError.noConfigFile }
        let existing = (try? ConfigFileIO.read(path)) ?? ""
        let text = ConfigFileIO.rewrite(existing, with: context.server.config)
        guard ConfigFileIO.write(text, to: path) else {
            throw RedisError.configRewriteFailed(String(cString: strerror(errno)))
        }
        context.server.log("CONFIG REWRITE executed with success.", warning: true)
        context.out.writeOK()
    }

    // MARK: - MEMORY

    /// MEMORY USAGE key [SAMPLES count] — O(N) for collections
    static func memoryUsage(_ context: inout CommandContext) throws(RedisError) {
        // As Redis: any number of SAMPLES options, each checked before the key is looked up.
        var i = 3
        while i < context.count {
            guard context.argument(i, is: "samples"), i + 1 < context.count else { throw RedisError.syntax }
            if try context.integer(i + 1) < 0 { throw RedisError.syntax }
            i += 2
        }
        let entry = context.arguments[2].withUnsafeReadableBytes {
            context.db.lookup($0, now: context.now, touch: false)
        }
        guard let entry else {
            context.out.writeNull()
            return
        }
        // The entry itself plus its share of the bucket array (one slot).
        context.out.writeInteger(entry.heapSize + 8)
    }

    /// MEMORY STATS — O(1)
    static func memoryStats(_ context: inout CommandContext) throws(RedisError) {
        let memory = MemoryInfo.current()
        let ks = context.keyspace
        let dbs = ks.databases.filter { $0.count > 0 }
        let keys = ks.totalKeys
        let overhead = dbs.reduce(0) { $0 + ($1.table.bucketCount * 8) }
        let dataset = max(0, memory.allocated - context.server.startupAllocated - overhead)
        context.out.writeMapHeader(27 + dbs.count)
        func pair(_ name: String, _ value: Int) {
            context.out.writeBulkString(name)
            context.out.writeInteger(value)
        }
        func ratio(_ name: String, _ value: Double) {
            context.out.writeBulkString(name)
            context.out.writeDouble(formatted: NumberFormat.formatDouble(value))
        }
        pair("peak.allocated", max(memory.allocated, context.server.peakAllocated))
        pair("total.allocated", memory.allocated)
        pair("startup.allocated", context.server.startupAllocated)
        pair("replication.backlog", context.server.replication.backlog?.storageSize ?? 0)
        pair("clients.slaves", context.server.replicasOutputMemory)
        pair(
            "clients.normal",
            context.server.clients.values.reduce(0) { $0 + $1.outputBufferLength + $1.queryBufferLength }
        )
        pair("cluster.links", 0)
        pair("aof.buffer", context.server.aof.buffer.capacity)
        pair("lua.caches", 0)
        pair("functions.caches", 0)
        for db in dbs {
            context.out.writeBulkString("db.\(db.index)")
            context.out.writeMapHeader(3)
            pair("overhead.hashtable.main", db.table.bucketCount * 8)
            pair("overhead.hashtable.expires", db.expiresCount * 64)
            pair("overhead.hashtable.slot-to-keys", 0)
        }
        pair("overhead.total", context.server.startupAllocated + overhead)
        pair("keys.count", keys)
        pair("keys.bytes-per-key", keys == 0 ? 0 : (memory.allocated - context.server.startupAllocated) / keys)
        pair("dataset.bytes", dataset)
        ratio("dataset.percentage", memory.allocated == 0 ? 0 : Double(dataset) * 100 / Double(memory.allocated))
        ratio("peak.percentage", 100)
        pair("allocator.allocated", memory.allocated)
        pair("allocator.active", memory.active)
        pair("allocator.resident", memory.resident)
        ratio(
            "allocator-fragmentation.ratio",
            memory.allocated == 0 ? 0 : Double(memory.active) / Double(memory.allocated)
        )
        pair("allocator-fragmentation.bytes", memory.active - memory.allocated)
        ratio("allocator-rss.ratio", memory.active == 0 ? 0 : Double(memory.resident) / Double(memory.active))
        pair("allocator-rss.bytes", memory.resident - memory.active)
        ratio("rss-overhead.ratio", 1)
        pair("rss-overhead.bytes", 0)
        ratio("fragmentation", memory.allocated == 0 ? 0 : Double(memory.resident) / Double(memory.allocated))
        pair("fragmentation.bytes", memory.resident - memory.allocated)
    }

    /// MEMORY DOCTOR — O(1)
    static func memoryDoctor(_ context: inout CommandContext) throws(RedisError) {
        let memory = MemoryInfo.current()
        let text: String
        if memory.allocated < 5 * 1024 * 1024 {
            text =
                "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in "
                + "these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam "
                + "and I will be back to our programming as soon as I finished rebooting."
        } else if memory.allocated > 0 && Double(memory.resident) / Double(memory.allocated) > 1.4 {
            text =
                "Sam, I detected a few issues in this Redis instance memory implants:\n\n * High total RSS: This "
                + "instance has a memory fragmentation and RSS overhead greater than 1.4 (this means that the Resident "
                + "Set Size of the Redis process is much larger than the sum of the logical allocations Redis performed)."
                + " This problem is usually due either to a large peak memory (check if there is a peak memory entry "
                + "above in the report) or may result from a workload that causes the allocator to fragment memory a "
                + "lot. If the problem is a large peak memory, then there is no issue. Otherwise, make sure you are "
                + "using the Jemalloc allocator and not the default libc malloc.\n\nI'm here to keep you safe, Sam. I "
                + "want to help you.\n"
        } else {
            text =
                "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base."
        }
        context.out.writeVerbatimString(text)
    }

    static func memoryMallocStats(_ context: inout CommandContext) throws(RedisError) {
        context.out.writeVerbatimString("Stats not supported for the current allocator")
    }

    static func memoryPurge(_ context: inout CommandContext) throws(RedisError) {
        swiftlet_malloc_trim()
        context.out.writeOK()
    }

    // MARK: - Table

    static let specs: [CommandSpec] = [
        .init("lastsave", arity: 1, flags: [.loading, .stale, .fast], group: "server", run: lastsave),
        .init("time", arity: 1, flags: [.loading, .stale, .fast], group: "server", run: time),
        .init(
            "shutdown",
            arity: -1,
            flags: [.admin, .noscript, .loading, .stale, .noMulti, .sentinel, .allowBusy],
            group: "server",
            run: shutdown
        ),
        .init("info", arity: -1, flags: [.loading, .stale, .sentinel], group: "server", run: InfoCommand.info),
        .init(
            "config",
            arity: -2,
            flags: [],
            group: "server",
            subcommands: [
                .init("get", arity: -3, flags: [.admin, .noscript, .loading, .stale], group: "server", run: configGet),
                .init("set", arity: -4, flags: [.admin, .noscript, .loading, .stale], group: "server", run: configSet),
                .init(
                    "resetstat",
                    arity: 2,
                    flags: [.admin, .noscript, .loading, .stale],
                    group: "server",
                    run: configResetstat
                ),
                .init(
                    "rewrite",
                    arity: 2,
                    flags: [.admin, .noscript, .loading, .stale],
                    group: "server",
                    run: configRewrite
                ),
                .init("help", arity: 2, flags: [.loading, .stale], group: "server") { c throws(RedisError) in
                    KeyCommands.help(HelpText.config, &c)
                },
            ]
        ),
        .init(
            "memory",
            arity: -2,
            flags: [],
            group: "server",
            subcommands: [
                .init("usage", arity: -3, flags: [.readonly], keys: .init(2, 2, 1), group: "server", run: memoryUsage),
                .init("stats", arity: 2, flags: [], group: "server", run: memoryStats),
                .init("doctor", arity: 2, flags: [], group: "server", run: memoryDoctor),
                .init("malloc-stats", arity: 2, flags: [], group: "server", run: memoryMallocStats),
                .init("purge", arity: 2, flags: [], group: "server", run: memoryPurge),
                .init("help", arity: 2, flags: [.loading, .stale], group: "server") { c throws(RedisError) in
                    KeyCommands.help(HelpText.memory, &c)
                },
            ]
        ),
    ]
}
