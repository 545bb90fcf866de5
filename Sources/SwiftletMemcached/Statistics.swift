import NIOCore
import SwiftletMemcachedStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// memcached's `stats` and its subcommands, with memcached 1.6.18's names in its order (Debian's build, which has
/// extstore and TLS compiled in: their settings are listed with their defaults, as that build lists them).
extension MemcachedConnection {
    func stats(_ line: UnsafeRawBufferPointer, _ out: inout ByteBuffer) {
        let n = self.ntokens
        if n == 2 {
            self.generalStats(&out)
            out.writeStaticString("END\r\n")
            return
        }
        let sub = self.token(line, 1)
        if CNumbers.equals(sub, "reset") {
            self.engine.resetStatistics()
            self.outString("RESET", &out)
        } else if CNumbers.equals(sub, "detail") {
            let argument = n < 4 ? UnsafeRawBufferPointer(start: nil, count: 0) : self.token(line, 2)
            if CNumbers.equals(argument, "on") {
                self.engine.detailEnabled = true
                self.outString("OK", &out)
            } else if CNumbers.equals(argument, "off") {
                self.engine.detailEnabled = false
                self.outString("OK", &out)
            } else if CNumbers.equals(argument, "dump") {
                self.engine.writePrefixStatistics(&out)
            } else {
                self.outString("CLIENT_ERROR usage: stats detail on|off|dump", &out)
            }
        } else if CNumbers.equals(sub, "settings") {
            self.settingsStats(&out)
            out.writeStaticString("END\r\n")
        } else if CNumbers.equals(sub, "cachedump") {
            guard self.engine.settings.dumpEnabled else {
                self.outString("CLIENT_ERROR stats cachedump not allowed", &out)
                return
            }
            guard n >= 5 else {
                self.outString("CLIENT_ERROR bad command line", &out)
                return
            }
            guard let id = CNumbers.unsigned32(self.token(line, 2)),
                let limit = CNumbers.unsigned32(self.token(line, 3))
            else {
                self.outString("CLIENT_ERROR bad command line format", &out)
                return
            }
            guard id < MemcachedStoreSettings.maxClasses else {
                self.outString("CLIENT_ERROR Illegal slab id", &out)
                return
            }
            self.cachedump(classID: Int(id), limit: Int(limit), &out)
        } else if CNumbers.equals(sub, "conns") {
            self.connectionStats(&out)
            out.writeStaticString("END\r\n")
        } else if CNumbers.equals(sub, "items") {
            self.itemStats(&out)
            out.writeStaticString("END\r\n")
        } else if CNumbers.equals(sub, "slabs") {
            self.slabStats(&out)
            out.writeStaticString("END\r\n")
        } else if CNumbers.equals(sub, "sizes") {
            self.sizeStats(&out)
            out.writeStaticString("END\r\n")
        } else if CNumbers.equals(sub, "sizes_enable") {
            // As memcached: no terminating END for these two.
            if !self.store.settings.useCAS {
                out.writeStaticString("STAT sizes_status error\r\nSTAT sizes_error cas_support_disabled\r\n")
            } else {
                if self.engine.sizesSince == nil { self.engine.sizesSince = self.store.nextCAS() }
                out.writeStaticString("STAT sizes_status enabled\r\n")
            }
        } else if CNumbers.equals(sub, "sizes_disable") {
            self.engine.sizesSince = nil
            out.writeStaticString("STAT sizes_status disabled\r\n")
        } else if CNumbers.equals(sub, "extstore") {
            // Debian's memcached has extstore compiled in; without `-o ext_path` its stats are empty.
            out.writeStaticString("END\r\n")
        } else {
            self.outString("ERROR", &out)
        }
    }

    @inline(__always)
    private func stat(_ name: StaticString, _ value: some BinaryInteger, _ out: inout ByteBuffer) {
        out.writeStaticString("STAT ")
        out.writeStaticString(name)
        out.writeStaticString(" ")
        Self.writeDecimal(value, &out)
        out.writeStaticString("\r\n")
    }

    private func stat(_ name: StaticString, _ value: String, _ out: inout ByteBuffer) {
        out.writeStaticString("STAT ")
        out.writeStaticString(name)
        out.writeStaticString(" ")
        out.writeString(value)
        out.writeStaticString("\r\n")
    }

    private func stat(_ name: String, _ value: some BinaryInteger, _ out: inout ByteBuffer) {
        out.writeStaticString("STAT ")
        out.writeString(name)
        out.writeStaticString(" ")
        Self.writeDecimal(value, &out)
        out.writeStaticString("\r\n")
    }

    static func fixed(_ value: Double, _ digits: Int) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = (value * scale).rounded()
        let whole = Int64(scaled / scale)
        var fraction = String(Int64(abs(scaled)) % Int64(scale))
        while fraction.count < digits { fraction = "0" + fraction }
        return digits == 0 ? "\(whole)" : "\(whole).\(fraction)"
    }

    private func generalStats(_ out: inout ByteBuffer) {
        let engine = self.engine
        let store = self.store
        let s = engine.stats
        let now = engine.now
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        self.stat("pid", engine.processID, &out)
        self.stat("uptime", now &- 60, &out)
        self.stat("time", Int64(now) + engine.processStarted, &out)
        self.stat("version", MemcachedEngine.version, &out)
        self.stat("libevent", engine.transportName, &out)
        self.stat("pointer_size", 64, &out)
        self.stat("rusage_user", "\(usage.ru_utime.tv_sec).\(Self.sixDigits(Int(usage.ru_utime.tv_usec)))", &out)
        self.stat("rusage_system", "\(usage.ru_stime.tv_sec).\(Self.sixDigits(Int(usage.ru_stime.tv_usec)))", &out)
        self.stat("max_connections", engine.settings.maxConnections, &out)
        self.stat("curr_connections", s.currentConnections, &out)
        self.stat("total_connections", s.totalConnections + engine.listeners.count, &out)
        self.stat("rejected_connections", s.rejectedConnections, &out)
        self.stat("connection_structures", s.connectionStructures, &out)
        self.stat("response_obj_oom", 0, &out)
        self.stat("response_obj_count", 0, &out)
        self.stat("response_obj_bytes", 0, &out)
        self.stat("read_buf_count", s.currentConnections, &out)
        self.stat("read_buf_bytes", s.currentConnections * 16384, &out)
        self.stat("read_buf_bytes_free", 0, &out)
        self.stat("read_buf_oom", 0, &out)
        self.stat("reserved_fds", engine.reservedDescriptors, &out)
        var totals = SlabClassCommandStatistics()
        for c in store.commandStats {
            totals.setCommands += c.setCommands
            totals.touchHits += c.touchHits
            totals.deleteHits += c.deleteHits
            totals.casHits += c.casHits
            totals.casBadValue += c.casBadValue
            totals.incrHits += c.incrHits
            totals.decrHits += c.decrHits
        }
        self.stat("cmd_get", s.getCommands, &out)
        self.stat("cmd_set", totals.setCommands, &out)
        self.stat("cmd_flush", s.flushCommands, &out)
        self.stat("cmd_touch", s.touchCommands, &out)
        self.stat("cmd_meta", s.metaCommands, &out)
        self.stat("get_hits", s.lruHits.reduce(0, +), &out)
        self.stat("get_misses", s.getMisses, &out)
        self.stat("get_expired", store.stats.getExpired, &out)
        self.stat("get_flushed", store.stats.getFlushed, &out)
        self.stat("delete_misses", s.deleteMisses, &out)
        self.stat("delete_hits", totals.deleteHits, &out)
        self.stat("incr_misses", s.incrMisses, &out)
        self.stat("incr_hits", totals.incrHits, &out)
        self.stat("decr_misses", s.decrMisses, &out)
        self.stat("decr_hits", totals.decrHits, &out)
        self.stat("cas_misses", store.stats.casMisses, &out)
        self.stat("cas_hits", totals.casHits, &out)
        self.stat("cas_badval", totals.casBadValue, &out)
        self.stat("touch_hits", totals.touchHits, &out)
        self.stat("touch_misses", s.touchMisses, &out)
        self.stat("store_too_large", s.storeTooLarge, &out)
        self.stat("store_no_memory", s.storeNoMemory, &out)
        self.stat("auth_cmds", s.authCommands, &out)
        self.stat("auth_errors", s.authErrors, &out)
        if engine.settings.idleTimeout > 0 { self.stat("idle_kicks", s.idleKicks, &out) }
        self.stat("bytes_read", s.bytesRead, &out)
        self.stat("bytes_written", s.bytesWritten, &out)
        self.stat("limit_maxbytes", engine.settings.maxBytes, &out)
        self.stat("accepting_conns", 1, &out)
        self.stat("listen_disabled_num", 0, &out)
        self.stat("time_in_listen_disabled_us", 0, &out)
        self.stat("threads", engine.settings.threads, &out)
        self.stat("conn_yields", s.connectionYields, &out)
        self.stat("hash_power_level", store.hashPower, &out)
        self.stat("hash_bytes", store.hashBytes, &out)
        self.stat("hash_is_expanding", store.hashIsExpanding ? 1 : 0, &out)
        if store.settings.slabReassign {
            self.stat("slab_reassign_rescues", store.stats.slabReassignRescues, &out)
            self.stat("slab_reassign_chunk_rescues", store.stats.slabReassignChunkRescues, &out)
            self.stat("slab_reassign_evictions_nomem", store.stats.slabReassignEvictionsNoMemory, &out)
            self.stat("slab_reassign_inline_reclaim", store.stats.slabReassignInlineReclaim, &out)
            self.stat("slab_reassign_busy_items", store.stats.slabReassignBusyItems, &out)
            self.stat("slab_reassign_busy_deletes", store.stats.slabReassignBusyDeletes, &out)
            self.stat("slab_reassign_running", 0, &out)
            self.stat("slabs_moved", store.stats.slabsMoved, &out)
        }
        if store.settings.lruCrawler {
            self.stat("lru_crawler_running", 0, &out)
            self.stat("lru_crawler_starts", store.stats.lruCrawlerStarts, &out)
        }
        if store.settings.lruMaintainer {
            self.stat("lru_maintainer_juggles", store.stats.lruMaintainerJuggles, &out)
        }
        self.stat("malloc_fails", 0, &out)
        self.stat("log_worker_dropped", 0, &out)
        self.stat("log_worker_written", engine.watchStatistics.workerWritten, &out)
        self.stat("log_watcher_skipped", engine.watchStatistics.watcherSkipped, &out)
        self.stat("log_watcher_sent", engine.watchStatistics.watcherSent, &out)
        self.stat("log_watchers", engine.watchers.count, &out)
        self.stat("unexpected_napi_ids", 0, &out)
        self.stat("round_robin_fallback", 0, &out)
        // memcached's `get_stats(NULL)`: the item totals.
        var t = ItemClassStatistics()
        for c in store.classStats {
            t.expiredUnfetched += c.expiredUnfetched
            t.evictedUnfetched += c.evictedUnfetched
            t.evictedActive += c.evictedActive
            t.evicted += c.evicted
            t.reclaimed += c.reclaimed
            t.crawlerReclaimed += c.crawlerReclaimed
            t.crawlerItemsChecked += c.crawlerItemsChecked
            t.lruTailRefLocked += c.lruTailRefLocked
            t.movesToCold += c.movesToCold
            t.movesToWarm += c.movesToWarm
            t.movesWithinLRU += c.movesWithinLRU
            t.directReclaims += c.directReclaims
        }
        self.stat("bytes", store.itemBytes, &out)
        self.stat("curr_items", store.itemCount, &out)
        self.stat("total_items", store.stats.totalItems, &out)
        self.stat("slab_global_page_pool", store.slabs.poolPages, &out)
        self.stat("expired_unfetched", t.expiredUnfetched, &out)
        self.stat("evicted_unfetched", t.evictedUnfetched, &out)
        if store.settings.lruMaintainer { self.stat("evicted_active", t.evictedActive, &out) }
        self.stat("evictions", t.evicted, &out)
        self.stat("reclaimed", t.reclaimed, &out)
        self.stat("crawler_reclaimed", t.crawlerReclaimed, &out)
        self.stat("crawler_items_checked", t.crawlerItemsChecked, &out)
        self.stat("lrutail_reflocked", t.lruTailRefLocked, &out)
        if store.settings.lruMaintainer {
            self.stat("moves_to_cold", t.movesToCold, &out)
            self.stat("moves_to_warm", t.movesToWarm, &out)
            self.stat("moves_within_lru", t.movesWithinLRU, &out)
            self.stat("direct_reclaims", t.directReclaims, &out)
            self.stat("lru_bumps_dropped", 0, &out)
        }
    }

    private static func sixDigits(_ value: Int) -> String {
        var text = String(value)
        while text.count < 6 { text = "0" + text }
        return text
    }

    private func settingsStats(_ out: inout ByteBuffer) {
        let settings = self.engine.settings
        let store = settings.store
        let yes: (Bool) -> String = { $0 ? "yes" : "no" }
        self.stat("maxbytes", settings.maxBytes, &out)
        self.stat("maxconns", settings.maxConnections, &out)
        self.stat("tcpport", settings.port, &out)
        self.stat("udpport", settings.udpPort, &out)
        self.stat("inter", settings.extras.interface ?? "NULL", &out)
        self.stat("verbosity", settings.verbosity, &out)
        self.stat("oldest", self.store.oldestLive, &out)
        self.stat("evictions", store.evictToFree ? "on" : "off", &out)
        self.stat("domain_socket", settings.socketPath ?? "NULL", &out)
        self.stat("umask", String(settings.socketMode, radix: 8), &out)
        self.stat("shutdown_command", yes(settings.shutdownCommand), &out)
        self.stat("growth_factor", Self.fixed(store.growthFactor, 2), &out)
        self.stat("chunk_size", store.minimumChunk, &out)
        self.stat("num_threads", settings.threads, &out)
        self.stat("num_threads_per_udp", settings.threads, &out)
        self.stat("stat_key_prefix", String(UnicodeScalar(settings.prefixDelimiter)), &out)
        self.stat("detail_enabled", yes(self.engine.detailEnabled), &out)
        self.stat("reqs_per_event", settings.requestsPerEvent, &out)
        self.stat("cas_enabled", yes(store.useCAS), &out)
        self.stat("tcp_backlog", settings.backlog, &out)
        self.stat("binding_protocol", settings.bindingProtocol.rawValue, &out)
        self.stat("auth_enabled_sasl", yes(settings.sasl), &out)
        self.stat("auth_enabled_ascii", settings.authFile ?? "no", &out)
        self.stat("item_size_max", store.itemSizeMax, &out)
        self.stat("maxconns_fast", yes(settings.extras.maxconnsFast), &out)
        self.stat("hashpower_init", settings.extras.hashPowerInitial, &out)
        self.stat("slab_reassign", yes(store.slabReassign), &out)
        self.stat("slab_automove", store.slabAutomove, &out)
        self.stat("slab_automove_ratio", Self.fixed(store.slabAutomoveRatio, 2), &out)
        self.stat("slab_automove_window", store.slabAutomoveWindow, &out)
        self.stat("slab_chunk_max", store.chunkMax, &out)
        self.stat("lru_crawler", yes(store.lruCrawler), &out)
        self.stat("lru_crawler_sleep", settings.crawlerSleep, &out)
        self.stat("lru_crawler_tocrawl", settings.crawlerToCrawl, &out)
        self.stat("tail_repair_time", settings.tailRepairTime, &out)
        self.stat("flush_enabled", yes(settings.flushEnabled), &out)
        self.stat("dump_enabled", yes(settings.dumpEnabled), &out)
        self.stat("hash_algorithm", settings.extras.hashAlgorithm, &out)
        self.stat("lru_maintainer_thread", yes(store.lruMaintainer), &out)
        self.stat("lru_segmented", yes(store.segmentedLRU), &out)
        self.stat("hot_lru_pct", store.hotLRUPercent, &out)
        self.stat("warm_lru_pct", store.warmLRUPercent, &out)
        self.stat("hot_max_factor", Self.fixed(store.hotMaxFactor, 2), &out)
        self.stat("warm_max_factor", Self.fixed(store.warmMaxFactor, 2), &out)
        self.stat("temp_lru", yes(store.temporaryLRU), &out)
        self.stat("temporary_ttl", store.temporaryTTL, &out)
        self.stat("idle_timeout", settings.idleTimeout, &out)
        self.stat("watcher_logbuf_size", settings.watcherLogBufferSize, &out)
        self.stat("worker_logbuf_size", settings.workerLogBufferSize, &out)
        self.stat("read_buf_mem_limit", settings.readBufferMemoryLimit, &out)
        self.stat("track_sizes", "no", &out)
        self.stat("inline_ascii_response", "no", &out)
        // Debian's memcached is built with extstore and TLS; neither is available here, so their defaults are listed.
        self.stat("ext_item_size", 512, &out)
        self.stat("ext_item_age", UInt32.max, &out)
        self.stat("ext_low_ttl", 0, &out)
        self.stat("ext_recache_rate", 2000, &out)
        self.stat("ext_wbuf_size", 4_194_304, &out)
        self.stat("ext_compact_under", 0, &out)
        self.stat("ext_drop_under", 0, &out)
        self.stat("ext_max_sleep", 1_000_000, &out)
        self.stat("ext_max_frag", "0.80", &out)
        self.stat("slab_automove_freeratio", "0.010", &out)
        self.stat("ext_drop_unread", "no", &out)
        self.stat("ssl_enabled", "no", &out)
        self.stat("ssl_chain_cert", "(null)", &out)
        self.stat("ssl_key", "(null)", &out)
        self.stat("ssl_verify_mode", 0, &out)
        self.stat("ssl_keyformat", 1, &out)
        self.stat("ssl_ciphers", "NULL", &out)
        self.stat("ssl_ca_cert", "NULL", &out)
        self.stat("ssl_wbuf_size", 16384, &out)
        self.stat("ssl_session_cache", "no", &out)
        self.stat("ssl_kernel_tls", "no", &out)
        self.stat("ssl_min_version", "tlsv1.2", &out)
        self.stat("num_napi_ids", "(null)", &out)
        self.stat("memory_file", "(null)", &out)
    }

    private func itemStats(_ out: inout ByteBuffer) {
        let store = self.store
        let maintainer = store.settings.lruMaintainer
        let now = self.engine.now
        for id in store.slabs.classIDs {
            let count = store.itemCount(ofClass: id)
            guard count > 0 else { continue }
            let c = store.classStats[id]
            let prefix = "items:\(id):"
            func age(_ segment: Int) -> UInt32 {
                guard let tail = store.tail(ofClass: id, segment: segment) else { return 0 }
                return now &- tail.lastAccess
            }
            var requested = 0
            for segment in 0..<4 { requested += store.itemBytes(ofClass: id, segment: segment) }
            self.stat(prefix + "number", count, &out)
            if maintainer {
                self.stat(prefix + "number_hot", store.itemCount(ofClass: id, segment: MemcachedStore.hot), &out)
                self.stat(prefix + "number_warm", store.itemCount(ofClass: id, segment: MemcachedStore.warm), &out)
                self.stat(prefix + "number_cold", store.itemCount(ofClass: id, segment: MemcachedStore.cold), &out)
                if store.settings.temporaryLRU {
                    self.stat(
                        prefix + "number_temp",
                        store.itemCount(ofClass: id, segment: MemcachedStore.temporary),
                        &out
                    )
                }
                self.stat(prefix + "age_hot", age(MemcachedStore.hot), &out)
                self.stat(prefix + "age_warm", age(MemcachedStore.warm), &out)
            }
            self.stat(prefix + "age", age(MemcachedStore.cold), &out)
            self.stat(prefix + "mem_requested", requested, &out)
            self.stat(prefix + "evicted", c.evicted, &out)
            self.stat(prefix + "evicted_nonzero", c.evictedNonzero, &out)
            self.stat(prefix + "evicted_time", c.evictedTime, &out)
            self.stat(prefix + "outofmemory", c.outOfMemory, &out)
            self.stat(prefix + "tailrepairs", c.tailRepairs, &out)
            self.stat(prefix + "reclaimed", c.reclaimed, &out)
            self.stat(prefix + "expired_unfetched", c.expiredUnfetched, &out)
            self.stat(prefix + "evicted_unfetched", c.evictedUnfetched, &out)
            if maintainer { self.stat(prefix + "evicted_active", c.evictedActive, &out) }
            self.stat(prefix + "crawler_reclaimed", c.crawlerReclaimed, &out)
            self.stat(prefix + "crawler_items_checked", c.crawlerItemsChecked, &out)
            self.stat(prefix + "lrutail_reflocked", c.lruTailRefLocked, &out)
            if maintainer {
                self.stat(prefix + "moves_to_cold", c.movesToCold, &out)
                self.stat(prefix + "moves_to_warm", c.movesToWarm, &out)
                self.stat(prefix + "moves_within_lru", c.movesWithinLRU, &out)
                self.stat(prefix + "direct_reclaims", c.directReclaims, &out)
                let hits = self.engine.stats.lruHits
                self.stat(prefix + "hits_to_hot", hits[id * 4], &out)
                self.stat(prefix + "hits_to_warm", hits[id * 4 + 1], &out)
                self.stat(prefix + "hits_to_cold", hits[id * 4 + 2], &out)
                self.stat(prefix + "hits_to_temp", hits[id * 4 + 3], &out)
            }
        }
    }

    private func slabStats(_ out: inout ByteBuffer) {
        let store = self.store
        let slabs = store.slabs
        var active = 0
        for id in slabs.classIDs {
            let pages = slabs.pageCount(ofClass: id)
            guard pages > 0 else { continue }
            active += 1
            let perPage = slabs.chunksPerPage(ofClass: id)
            let c = store.commandStats[id]
            let prefix = "\(id):"
            self.stat(prefix + "chunk_size", slabs.chunkSize(ofClass: id), &out)
            self.stat(prefix + "chunks_per_page", perPage, &out)
            self.stat(prefix + "total_pages", pages, &out)
            self.stat(prefix + "total_chunks", pages * perPage, &out)
            self.stat(prefix + "used_chunks", pages * perPage - slabs.freeChunks(ofClass: id), &out)
            self.stat(prefix + "free_chunks", slabs.freeChunks(ofClass: id), &out)
            self.stat(prefix + "free_chunks_end", 0, &out)
            let hits = self.engine.stats.lruHits
            self.stat(prefix + "get_hits", hits[id * 4] + hits[id * 4 + 1] + hits[id * 4 + 2] + hits[id * 4 + 3], &out)
            self.stat(prefix + "cmd_set", c.setCommands, &out)
            self.stat(prefix + "delete_hits", c.deleteHits, &out)
            self.stat(prefix + "incr_hits", c.incrHits, &out)
            self.stat(prefix + "decr_hits", c.decrHits, &out)
            self.stat(prefix + "cas_hits", c.casHits, &out)
            self.stat(prefix + "cas_badval", c.casBadValue, &out)
            self.stat(prefix + "touch_hits", c.touchHits, &out)
        }
        self.stat("active_slabs", active, &out)
        self.stat("total_malloced", slabs.mallocated, &out)
    }

    /// `stats sizes`: items by memcached size, in 32-byte buckets, counting the items stored since `sizes_enable`
    /// (memcached counts as items come and go; the histogram is the same).
    private func sizeStats(_ out: inout ByteBuffer) {
        guard let since = self.engine.sizesSince else {
            out.writeStaticString("STAT sizes_status disabled\r\n")
            return
        }
        let store = self.store
        let buckets = store.settings.itemSizeMax / 32 + 1
        var histogram: [Int: Int] = [:]
        store.forEachItem(classes: Array(store.slabs.classIDs)) { item in
            guard item.cas >= since else { return }
            let size = store.memcachedSize(of: item)
            let bucket = size / 32 + (size % 32 == 0 ? 0 : 1)
            if bucket < buckets { histogram[bucket, default: 0] += 1 }
        }
        for bucket in histogram.keys.sorted() {
            self.stat("\(bucket * 32)", histogram[bucket] ?? 0, &out)
        }
    }

    private func connectionStats(_ out: inout ByteBuffer) {
        let now = self.engine.now
        for (index, listener) in self.engine.listeners.enumerated() {
            let prefix = "\(index + 20):"
            self.stat(prefix + "addr", 0, &out, text: listener)
            self.stat(prefix + "state", 0, &out, text: "conn_listening")
            self.stat(prefix + "secs_since_last_cmd", now &- 62, &out)
        }
        for id in self.engine.connections.keys.sorted() {
            guard let connection = self.engine.connections[id] else { continue }
            let prefix = "\(id):"
            if connection.isUDP {
                // As memcached: a UDP socket's connection shows its own address while it waits for a datagram, the
                // peer's while it serves one (or is in the middle of a value).
                self.stat(prefix + "UDP", 0, &out, text: "UDP")
                if !connection.udpServing && !connection.isInsideValue {
                    self.stat(prefix + "addr", 0, &out, text: connection.listenAddress)
                    self.stat(prefix + "state", 0, &out, text: "conn_read")
                    self.stat(prefix + "secs_since_last_cmd", now &- connection.lastCommandTime, &out)
                    continue
                }
            }
            self.stat(prefix + "addr", 0, &out, text: connection.peerAddress)
            if !connection.listenAddress.isEmpty {
                self.stat(prefix + "listen_addr", 0, &out, text: connection.listenAddress)
            }
            self.stat(prefix + "state", 0, &out, text: connection.stateName)
            self.stat(prefix + "secs_since_last_cmd", now &- connection.lastCommandTime, &out)
        }
    }

    private func stat(_ name: String, _: Int, _ out: inout ByteBuffer, text: String) {
        out.writeStaticString("STAT ")
        out.writeString(name)
        out.writeStaticString(" ")
        out.writeString(text)
        out.writeStaticString("\r\n")
    }

    /// `stats cachedump <class> <limit>`: "ITEM key [n b; t s]" lines from the class's COLD LRU tail... memcached
    /// walks from the head of COLD; so does this, at most `limit` items (0: all) and 2 MB.
    private func cachedump(classID: Int, limit: Int, _ out: inout ByteBuffer) {
        let store = self.store
        var shown = 0
        var bytes = 0
        let started = self.engine.processStarted
        store.forEachItemInLRU(classID: classID, segment: MemcachedStore.cold) { item in
            if limit != 0 && shown >= limit { return false }
            let line =
                "ITEM \(String(decoding: item.key, as: UTF8.self)) [\(item.valueLength) b; \(item.expiry == 0 ? started : Int64(item.expiry) + started) s]\r\n"
            if bytes + line.utf8.count + 6 > 2 * 1024 * 1024 { return false }
            out.writeString(line)
            bytes += line.utf8.count
            shown += 1
            return true
        }
        out.writeStaticString("END\r\n")
    }
}

extension MemcachedEngine {
    /// `stats reset`: the counters start again (connections and items are not counters).
    public func resetStatistics() {
        let current = self.stats.currentConnections
        let structures = self.stats.connectionStructures
        self.stats = MemcachedStatistics()
        self.stats.currentConnections = current
        self.stats.connectionStructures = structures
        self.store.resetStatistics()
        self.prefixStatistics.removeAll()
    }

    /// `stats detail dump`: one line per key prefix seen while `stats detail on`.
    func writePrefixStatistics(_ out: inout ByteBuffer) {
        for prefix in self.prefixStatistics.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            guard let s = self.prefixStatistics[prefix] else { continue }
            out.writeStaticString("PREFIX ")
            out.writeBytes(prefix)
            out.writeString(" get \(s.gets) hit \(s.hits) set \(s.sets) del \(s.deletes)\r\n")
        }
        out.writeStaticString("END\r\n")
    }
}
