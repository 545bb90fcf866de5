import NIOCore
import SwiftletConfig
import SwiftletKeyspace
import SwiftletRESP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// INFO [section [section ...]] — the report, with Redis 7.0's section and field names.
enum InfoCommand {
    static let defaultSections = [
        "server", "clients", "memory", "persistence", "stats", "replication", "cpu", "modules", "errorstats",
        "cluster", "keyspace",
    ]
    static let allSections = defaultSections + ["commandstats", "latencystats"]

    /// INFO [section [section ...]] — O(1)
    static func info(_ context: inout CommandContext) throws(RedisError) {
        var wanted: [String] = []
        if context.count == 1 {
            wanted = defaultSections
        } else {
            for i in 1..<context.count {
                let name = String(buffer: context.arguments[i]).lowercased()
                switch name {
                case "default": wanted += defaultSections
                case "all": wanted += allSections
                case "everything": wanted += allSections
                default: wanted.append(name)
                }
            }
        }
        var seen = Set<String>()
        var text = ""
        // Sections come out in Redis's order whatever order they were asked in.
        for section in allSections where wanted.contains(section) && !seen.contains(section) {
            seen.insert(section)
            if !text.isEmpty { text += "\r\n" }
            text += Self.render(section, context)
        }
        context.out.writeVerbatimString(text)
    }

    static func human(_ bytes: Int) -> String {
        // An unsigned figure past Int64.max (maxmemory set to 2^64-1) is printed in bytes, as Redis does beyond 1024P.
        if bytes < 0 { return "\(UInt64(bitPattern: Int64(bytes)))B" }
        let d = Double(bytes)
        func fmt(_ v: Double, _ unit: String) -> String {
            let hundredths = Int((v * 100).rounded())
            let frac = hundredths % 100
            return "\(hundredths / 100).\(frac < 10 ? "0" : "")\(frac)\(unit)"
        }
        if d < 1024 { return "\(bytes)B" }
        if d < 1024 * 1024 { return fmt(d / 1024, "K") }
        if d < 1024 * 1024 * 1024 { return fmt(d / 1024 / 1024, "M") }
        if d < 1024.0 * 1024 * 1024 * 1024 { return fmt(d / 1024 / 1024 / 1024, "G") }
        if d < 1024.0 * 1024 * 1024 * 1024 * 1024 { return fmt(d / 1024 / 1024 / 1024 / 1024, "T") }
        if d < 1024.0 * 1024 * 1024 * 1024 * 1024 * 1024 { return fmt(d / 1024 / 1024 / 1024 / 1024 / 1024, "P") }
        // Redis prints the bytes beyond that (an unsigned value: maxmemory set to 2^64-1).
        return "\(UInt64(bitPattern: Int64(bytes)))B"
    }

    static func fixed2(_ v: Double) -> String {
        let hundredths = Int((v * 100).rounded())
        let frac = abs(hundredths % 100)
        return "\(hundredths / 100).\(frac < 10 ? "0" : "")\(frac)"
    }

    static func render(_ section: String, _ context: CommandContext) -> String {
        let server = context.server
        let now = context.now
        var lines: [String] = []
        func field(_ name: String, _ value: Any) { lines.append("\(name):\(value)") }
        switch section {
        case "server":
            lines.append("# Server")
            var uts = utsname()
            uname(&uts)
            let sysname = withUnsafeBytes(of: &uts.sysname) {
                String(cString: $0.bindMemory(to: CChar.self).baseAddress!)
            }
            let release = withUnsafeBytes(of: &uts.release) {
                String(cString: $0.bindMemory(to: CChar.self).baseAddress!)
            }
            let machine = withUnsafeBytes(of: &uts.machine) {
                String(cString: $0.bindMemory(to: CChar.self).baseAddress!)
            }
            let uptime = (now - server.startTime) / 1000
            field("redis_version", ConnectionCommands.redisVersion)
            field("redis_git_sha1", "00000000")
            field("redis_git_dirty", 0)
            field("redis_build_id", "0")
            field("redis_mode", "standalone")
            field("swiftlet_version", SwiftletBuild.version)
            field("os", "\(sysname) \(release) \(machine)")
            field("arch_bits", 64)
            field("monotonic_clock", "POSIX clock_gettime")
            field("multiplexing_api", "epoll")
            field("atomicvar_api", "c11-builtin")
            field("gcc_version", "0.0.0")
            field("process_id", getpid())
            field("process_supervised", "no")
            field("run_id", server.runID)
            field("tcp_port", server.boundPort)
            field("server_time_usec", now * 1000)
            field("uptime_in_seconds", uptime)
            field("uptime_in_days", uptime / 86400)
            field("hz", server.config.hz)
            field("configured_hz", server.config.hz)
            field("lru_clock", (now / 1000) & 0xFF_FFFF)
            field("executable", server.executable)
            field("config_file", server.configFile)
            field("io_threads_active", 0)
            if server.shutdownInProgress { field("shutdown_in_milliseconds", server.shutdownMillisecondsLeft) }
        case "clients":
            lines.append("# Clients")
            field("connected_clients", server.clients.count)
            field("cluster_connections", 0)
            field("maxclients", server.config.maxClients)
            field("client_recent_max_input_buffer", server.clients.values.map(\.queryBufferLength).max() ?? 0)
            field("client_recent_max_output_buffer", server.clients.values.map(\.outputBufferLength).max() ?? 0)
            // As Redis, clients a CLIENT PAUSE holds back count as blocked.
            field("blocked_clients", server.blocking.blockedCount + server.postponedClients.count)
            field("tracking_clients", server.clients.values.count { $0.tracking != nil })
            field("clients_in_timeout_table", server.blocking.blocked.values.count { $0.deadline != 0 })
        case "memory":
            lines.append("# Memory")
            let m = MemoryInfo.current()
            let peak = max(server.peakAllocated, m.allocated)
            let total = Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE)))
            let clientsMemory = server.clients.values.reduce(0) { $0 + $1.queryBufferLength + $1.outputBufferLength }
            let overhead =
                server.startupAllocated + clientsMemory + server.aof.buffer.capacity
                + server.keyspace.databases.reduce(0) { $0 + ($1.table.bucketCount + $1.expiresTable.bucketCount) * 8 }
            let dataset = max(0, m.allocated - overhead)
            let maxmemory = server.memoryLimit.maxMemory
            field("used_memory", m.allocated)
            field("used_memory_human", human(m.allocated))
            field("used_memory_rss", m.resident)
            field("used_memory_rss_human", human(m.resident))
            field("used_memory_peak", peak)
            field("used_memory_peak_human", human(peak))
            field("used_memory_peak_perc", fixed2(peak == 0 ? 0 : Double(m.allocated) * 100 / Double(peak)) + "%")
            field("used_memory_overhead", overhead)
            field("used_memory_startup", server.startupAllocated)
            field("used_memory_dataset", dataset)
            field(
                "used_memory_dataset_perc",
                fixed2(m.allocated == 0 ? 0 : Double(dataset) * 100 / Double(m.allocated)) + "%"
            )
            field("allocator_allocated", m.allocated)
            field("allocator_active", m.active)
            field("allocator_resident", m.resident)
            field("total_system_memory", total)
            field("total_system_memory_human", human(total))
            let scripting = server.scripting
            let evalVM = scripting.evalVM?.memory ?? 0
            let functionsVM = scripting.functionsVM?.memory ?? 0
            let functionsOverhead = scripting.functionsMemoryOverhead
            field("used_memory_lua", evalVM)
            field("used_memory_vm_eval", evalVM)
            field("used_memory_lua_human", human(evalVM))
            field("used_memory_scripts_eval", scripting.scriptsMemory)
            field("number_of_cached_scripts", scripting.scripts.count)
            field("number_of_functions", scripting.functions.count)
            field("number_of_libraries", scripting.libraries.count)
            field("used_memory_vm_functions", functionsVM)
            field("used_memory_vm_total", evalVM + functionsVM)
            field("used_memory_vm_total_human", human(evalVM + functionsVM))
            field("used_memory_functions", functionsOverhead)
            field("used_memory_scripts", scripting.scriptsMemory + functionsOverhead)
            field("used_memory_scripts_human", human(scripting.scriptsMemory + functionsOverhead))
            field("maxmemory", maxmemory)
            field("maxmemory_human", human(maxmemory))
            field("maxmemory_policy", server.config.string("maxmemory-policy"))
            field("allocator_frag_ratio", fixed2(m.allocated == 0 ? 0 : Double(m.active) / Double(m.allocated)))
            field("allocator_frag_bytes", m.active - m.allocated)
            field("allocator_rss_ratio", fixed2(m.active == 0 ? 0 : Double(m.resident) / Double(m.active)))
            field("allocator_rss_bytes", m.resident - m.active)
            field("rss_overhead_ratio", "1.00")
            field("rss_overhead_bytes", 0)
            field("mem_fragmentation_ratio", fixed2(m.allocated == 0 ? 0 : Double(m.resident) / Double(m.allocated)))
            field("mem_fragmentation_bytes", m.resident - m.allocated)
            field("mem_not_counted_for_evict", server.memoryNotCountedForEviction())
            field("mem_replication_backlog", server.replication.backlog?.storageSize ?? 0)
            field(
                "mem_total_replication_buffers",
                (server.replication.backlog?.storageSize ?? 0) + server.replicasOutputMemory
            )
            field("mem_clients_slaves", server.replicasOutputMemory)
            field("mem_clients_normal", clientsMemory)
            field("mem_cluster_links", 0)
            field("mem_aof_buffer", server.aof.buffer.capacity)
            // The counting allocator wraps glibc's malloc (docs/MEMORY.md).
            field("mem_allocator", "libc")
            field("active_defrag_running", 0)
            field("lazyfree_pending_objects", 0)
            field("lazyfreed_objects", 0)
        case "persistence":
            lines.append("# Persistence")
            let p = server.persistence
            let saveKeys = p.currentSaveKeys
            let current = p.currentStart.map { server.clock() / 1000 - $0 } ?? -1
            let fork = saveKeys.total == 0 ? 0 : Double(saveKeys.processed) * 100 / Double(saveKeys.total)
            let loading = server.replicaLoading
            for (name, value) in [
                ("loading", loading.loading ? "1" : "0"), ("async_loading", loading.async ? "1" : "0"),
                ("current_cow_peak", "0"), ("current_cow_size", "0"),
                ("current_cow_size_age", "0"), ("current_fork_perc", fixed2(fork)),
                ("current_save_keys_processed", "\(saveKeys.processed)"),
                ("current_save_keys_total", "\(saveKeys.total)"), ("rdb_changes_since_last_save", "\(server.dirty)"),
                ("rdb_bgsave_in_progress", p.bgsaveInProgress ? "1" : "0"),
                ("rdb_last_save_time", "\(server.lastSaveTime)"),
                ("rdb_last_bgsave_status", p.lastBgsaveOK ? "ok" : "err"),
                ("rdb_last_bgsave_time_sec", "\(p.lastBgsaveSeconds)"), ("rdb_current_bgsave_time_sec", "\(current)"),
                ("rdb_saves", "\(p.saves)"), ("rdb_last_cow_size", "0"),
                ("rdb_last_load_keys_expired", "\(p.loadKeysExpired)"),
                ("rdb_last_load_keys_loaded", "\(p.loadKeysLoaded)"),
            ] { field(name, value) }
            let a = server.aof
            let rewriteStart = p.rewriteInProgress ? p.running?.startedAt : nil
            for (name, value) in [
                ("aof_enabled", a.isOn ? "1" : "0"), ("aof_rewrite_in_progress", p.rewriteInProgress ? "1" : "0"),
                ("aof_rewrite_scheduled", a.rewriteScheduled ? "1" : "0"),
                ("aof_last_rewrite_time_sec", "\(a.lastRewriteSeconds)"),
                ("aof_current_rewrite_time_sec", "\(rewriteStart.map { server.clock() / 1000 - $0 } ?? -1)"),
                ("aof_last_bgrewrite_status", a.lastRewriteOK ? "ok" : "err"), ("aof_rewrites", "\(a.rewrites)"),
                ("aof_rewrites_consecutive_failures", "\(a.consecutiveRewriteFailures)"),
                ("aof_last_write_status", a.lastWriteOK ? "ok" : "err"), ("aof_last_cow_size", "0"),
                ("module_fork_in_progress", "0"), ("module_fork_last_cow_size", "0"),
            ] { field(name, value) }
            if a.isOn {
                field("aof_current_size", a.currentSize)
                field("aof_base_size", a.baseSize)
                field("aof_pending_rewrite", a.rewriteScheduled ? 1 : 0)
                field("aof_buffer_length", a.buffer.count)
                field("aof_pending_bio_fsync", a.backgroundSyncPending ? 1 : 0)
                field("aof_delayed_fsync", 0)
            }
        case "stats":
            lines.append("# Stats")
            let s = server.stats
            let k = server.keyspace.stats
            field("total_connections_received", s.totalConnectionsReceived)
            field("total_commands_processed", s.totalCommandsProcessed)
            field("instantaneous_ops_per_sec", server.instantaneousOpsPerSecond)
            field("total_net_input_bytes", s.totalNetInputBytes)
            field("total_net_output_bytes", s.totalNetOutputBytes)
            field("total_net_repl_input_bytes", 0)
            field("total_net_repl_output_bytes", 0)
            field("instantaneous_input_kbps", "0.00")
            field("instantaneous_output_kbps", "0.00")
            field("instantaneous_input_repl_kbps", "0.00")
            field("instantaneous_output_repl_kbps", "0.00")
            field("rejected_connections", s.rejectedConnections)
            field("sync_full", server.replication.fullSyncs)
            field("sync_partial_ok", server.replication.partialSyncsAccepted)
            field("sync_partial_err", server.replication.partialSyncsRefused)
            field("expired_keys", k.expiredKeys)
            field("expired_stale_perc", fixed2(k.expiredStalePercent))
            field("expired_time_cap_reached_count", k.expiredTimeCapReached)
            field("expire_cycle_cpu_milliseconds", server.expireCycleMicroseconds / 1000)
            let exceeded = server.evictionExceededMilliseconds
            field("evicted_keys", server.memoryLimit.evictedKeys)
            field("evicted_clients", server.memoryLimit.evictedClients)
            field("total_eviction_exceeded_time", exceeded.total)
            field("current_eviction_exceeded_time", exceeded.current)
            field("keyspace_hits", k.keyspaceHits)
            field("keyspace_misses", k.keyspaceMisses)
            field("pubsub_channels", server.pubsub.count(.channel))
            field("pubsub_patterns", server.pubsub.count(.pattern))
            field("pubsubshard_channels", server.pubsub.count(.shardChannel))
            field("latest_fork_usec", 0)
            field("total_forks", 0)
            field("migrate_cached_sockets", 0)
            field("slave_expires_tracked_keys", server.keyspace.replicaKeysWithExpire.count)
            field("active_defrag_hits", 0)
            field("active_defrag_misses", 0)
            field("active_defrag_key_hits", 0)
            field("active_defrag_key_misses", 0)
            field("total_active_defrag_time", 0)
            field("current_active_defrag_time", 0)
            field("tracking_total_keys", server.tracking.table.count)
            field("tracking_total_items", server.tracking.table.values.reduce(0) { $0 + $1.count })
            field("tracking_total_prefixes", server.tracking.prefixes.count)
            field("unexpected_error_replies", s.unexpectedErrorReplies)
            field("total_error_replies", s.errorReplies)
            field("dump_payload_sanitizations", 0)
            field("total_reads_processed", s.totalReadsProcessed)
            field("total_writes_processed", s.totalWritesProcessed)
            field("io_threaded_reads_processed", 0)
            field("io_threaded_writes_processed", 0)
            field("reply_buffer_shrinks", 0)
            field("reply_buffer_expands", 0)
        case "replication":
            lines.append("# Replication")
            let r = server.replication
            field("role", server.isReplica ? "slave" : "master")
            if let link = server.masterLink {
                let now = server.clock() / 1000
                // Redis shows 1 when there is neither a master client nor a cached one.
                let known = link.state == .connected || link.hasHistory
                field("master_host", link.host)
                field("master_port", link.port)
                field("master_link_status", link.state == .connected ? "up" : "down")
                field("master_last_io_seconds_ago", link.state == .connected ? now - link.lastIO : -1)
                field("master_sync_in_progress", link.state == .transfer ? 1 : 0)
                field("slave_read_repl_offset", known ? r.offset + Int64(link.held.count + link.unapplied) : 1)
                field("slave_repl_offset", known ? r.offset : 1)
                if link.state == .transfer {
                    let total = max(0, link.transferSize)
                    let percent = total > 0 ? Double(link.transferRead) / Double(total) * 100 : 0
                    field("master_sync_total_bytes", total)
                    field("master_sync_read_bytes", link.transferRead)
                    field("master_sync_left_bytes", total - link.transferRead)
                    field("master_sync_perc", fixed2(percent))
                    field("master_sync_last_io_seconds_ago", now - link.transferLastIO)
                }
                if link.state != .connected {
                    field("master_link_down_since_seconds", link.downSince > 0 ? now - link.downSince : -1)
                }
                field("slave_priority", server.config.number("replica-priority"))
                field("slave_read_only", server.config.bool("replica-read-only") ? 1 : 0)
                field("replica_announced", server.config.bool("replica-announced") ? 1 : 0)
            }
            field("connected_slaves", r.replicas.count)
            if server.hot.requiresGoodReplicas { field("min_slaves_good_slaves", r.goodReplicas) }
            let now = server.clock() / 1000
            for (number, session) in r.replicas.enumerated() {
                guard let link = session.replica else { continue }
                let ip = link.announcedAddress ?? ServerState.host(of: session.address)
                let lag = link.state == .online ? now - link.ackTime : 0
                field(
                    "slave\(number)",
                    "ip=\(ip),port=\(link.listeningPort),state=\(link.stateName),offset=\(link.ackOffset),lag=\(lag)"
                )
            }
            field("master_failover_state", r.failover?.stateName ?? "no-failover")
            field("master_replid", r.id)
            field("master_replid2", r.secondID)
            field("master_repl_offset", r.offset)
            field("second_repl_offset", r.secondOffset)
            field("repl_backlog_active", r.backlog == nil ? 0 : 1)
            field("repl_backlog_size", server.replicationBacklogSize)
            field("repl_backlog_first_byte_offset", r.backlog?.firstByteOffset ?? 0)
            field("repl_backlog_histlen", r.backlog?.historyLength ?? 0)
        case "cpu":
            lines.append("# CPU")
            var usage = rusage()
            getrusage(RUSAGE_SELF.rawValue, &usage)
            func seconds(_ t: timeval) -> String {
                let micros = Int(t.tv_usec)
                let pad = String(repeating: "0", count: 6 - String(micros).count)
                return "\(t.tv_sec).\(pad)\(micros)"
            }
            field("used_cpu_sys", seconds(usage.ru_stime))
            field("used_cpu_user", seconds(usage.ru_utime))
            field("used_cpu_sys_children", "0.000000")
            field("used_cpu_user_children", "0.000000")
            field("used_cpu_sys_main_thread", seconds(usage.ru_stime))
            field("used_cpu_user_main_thread", seconds(usage.ru_utime))
        case "modules":
            lines.append("# Modules")
        case "errorstats":
            lines.append("# Errorstats")
            for (code, count) in server.stats.errorsByCode.sorted(by: { $0.key < $1.key }) {
                field("errorstat_\(code)", "count=\(count)")
            }
        case "cluster":
            lines.append("# Cluster")
            field("cluster_enabled", 0)
        case "keyspace":
            lines.append("# Keyspace")
            for db in server.keyspace.databases where db.count > 0 {
                field("db\(db.index)", "keys=\(db.count),expires=\(db.expiresCount),avg_ttl=\(db.averageTTL)")
            }
        case "commandstats":
            lines.append("# Commandstats")
            for spec in server.table.commands {
                let s = server.table.stats[spec.id]
                guard s.calls > 0 || s.rejectedCalls > 0 || s.failedCalls > 0 else { continue }
                let perCall = s.calls == 0 ? 0 : Double(s.microseconds) / Double(s.calls)
                field(
                    "cmdstat_\(spec.fullName)",
                    "calls=\(s.calls),usec=\(s.microseconds),usec_per_call=\(fixed2(perCall)),"
                        + "rejected_calls=\(s.rejectedCalls),failed_calls=\(s.failedCalls)"
                )
            }
        case "latencystats":
            lines.append("# Latencystats")
        default:
            return ""
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }
}

/// Build facts about Swiftlet itself.
public enum SwiftletBuild {
    public static let version = "0.1.0"
}
