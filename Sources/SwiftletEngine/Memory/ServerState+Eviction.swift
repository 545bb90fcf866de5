internal import NIOCore
internal import SwiftletConfig
internal import SwiftletKeyspace

/// What an eviction pass achieved (Redis's `EVICT_OK`, `EVICT_RUNNING`, `EVICT_FAIL`).
enum EvictionOutcome {
    /// Under the limit (or evicting is not allowed now, which counts as fine).
    case ok
    /// Still above the limit, and the eviction job goes on between I/O.
    case running
    /// Above the limit with nothing left to evict, or under `noeviction`: denyoom commands are refused.
    case fail
}

extension ServerState {
    /// `used_memory`: the counting allocator's figure, or the injected gauge of unit tests.
    @inline(__always)
    func usedMemory() -> Int {
        if let gauge = self.injectedMemoryGauge { return gauge() }
        return MemoryInfo.usedMemory()
    }

    /// Memory that frees itself and so does not count toward maxmemory (Redis's `freeMemoryGetNotCountedMemory`):
    /// the AOF buffer waiting for its write and the replicas' output (their RDB and the stream held for them), so
    /// that a full sync never makes the master evict keys.
    func memoryNotCountedForEviction() -> Int {
        self.aof.buffer.capacity + self.replicasOutputMemory
    }

    /// Redis's `getMaxmemoryState`: the bytes to free to get back under `maxmemory`, or `nil` when under it.
    func memoryToFree() -> Int? {
        let limit = self.memoryLimit.maxMemory
        let reported = self.usedMemory()
        if limit == 0 || reported <= limit { return nil }
        let used = max(0, reported - self.memoryNotCountedForEviction())
        return used <= limit ? nil : used - limit
    }

    /// Re-reads the memory settings after a CONFIG SET (and at start).
    func applyMemoryConfig() {
        let clientsLimit = self.memoryLimit.maxClientsMemory
        self.memoryLimit = MemoryLimit(self.config, keeping: self.memoryLimit)
        if self.memoryLimit.maxClientsMemory != clientsLimit { self.recountClientsMemory() }
        if self.memoryLimit.maxMemory > 0 {
            self.keyspace.mayGrowTable = { [unowned(unsafe) self] bytes in !self.overLimitAfterAllocating(bytes) }
        } else {
            self.keyspace.mayGrowTable = nil
        }
    }

    /// Redis's `overMaxmemoryAfterAlloc`.
    func overLimitAfterAllocating(_ bytes: Int) -> Bool {
        let limit = self.memoryLimit.maxMemory
        if limit == 0 { return false }
        let used = self.usedMemory()
        if used + bytes <= limit { return false }
        return max(0, used - self.memoryNotCountedForEviction()) + bytes > limit
    }

    /// `CONFIG SET maxmemory`: as Redis 7.0's `updateMaxmemory`, warns when the new limit is below what is used, and
    /// starts the eviction job, which evicts from the loop once CONFIG SET has replied. Not within the command: a
    /// CONFIG SET inside MULTI leaves the transaction's keys alone, and the DELs reach the replicas after the EXEC,
    /// each on its own (unit/maxmemory's "propagation with eviction" tests). The embedded keyspace, without a loop,
    /// evicts at once.
    func maxMemoryChanged() {
        self.applyMemoryConfig()
        let limit = self.memoryLimit.maxMemory
        guard limit > 0 else { return }
        let used = self.usedMemory() - self.memoryNotCountedForEviction()
        if limit < used {
            self.host?.log(
                warning: true,
                "WARNING: the new maxmemory value set via CONFIG SET (\(limit)) is smaller than the current memory "
                    + "usage (\(used)). This will result in key eviction and/or the inability to accept new write "
                    + "commands depending on the maxmemory-policy."
            )
        }
        if self.host == nil {
            self.performEvictions()
        } else {
            self.startEvictionJob()
        }
    }

    /// The check before every command while `maxmemory` is set (Redis's `processCommand`): evicts what the policy
    /// allows, and refuses the command with -OOM when memory is still above the limit and the command may grow it
    /// (the `denyoom` flag), when it is queued in MULTI (queueing takes memory too), or when it is an EXEC whose
    /// queue holds a denyoom command. Returns `true` when it replied.
    func refusedForMemory(_ id: Int, _ context: inout CommandContext) -> Bool {
        self.preCommandOutOfMemory = self.performEvictions() == .fail
        guard self.preCommandOutOfMemory else { return false }
        let session = context.session
        let table = self.table
        var refuse = self.effectiveFlags(id, context).contains(.denyOOM)
        if session.transaction.active {
            if id == table.execID {
                refuse = session.transaction.queue.flags.contains(.denyOOM)
            } else if !Self.allowedInMultiWhenOutOfMemory.contains(table.commands[id].fullName) {
                refuse = true
            }
        }
        guard refuse else { return false }
        table.stats[id].rejectedCalls += 1
        if id == table.execID {
            self.endTransaction(session)
            self.reply(RedisError.execAbort(because: .outOfMemory), &context)
            return true
        }
        if session.transaction.active { session.transaction.rejected = true }
        self.reply(.outOfMemory, &context)
        return true
    }

    /// Inside MULTI, out of memory, only these are not refused (EXEC when its queue has no denyoom command).
    static let allowedInMultiWhenOutOfMemory: Set<String> = ["exec", "discard", "quit", "reset"]

    /// Redis's `performEvictions`: evicts keys as `maxmemory-policy` says until used memory is under the limit,
    /// for at most `maxmemory-eviction-tenacity`'s time; the rest is left to the eviction job.
    @discardableResult
    func performEvictions() -> EvictionOutcome {
        // Redis's `isSafeToPerformEvictions`: not while loading, nor while clients are paused (the dataset must
        // not change then).
        if self.keyspace.loading || self.isPaused { return .ok }
        // A replica leaves its keys to the master's DELs (`replica-ignore-maxmemory`, on by default).
        if self.masterLink != nil && self.config.bool("replica-ignore-maxmemory") { return .ok }
        guard let toFree = self.memoryToFree() else { return self.noteEvictionOutcome(.ok) }
        let limit = self.memoryLimit
        if limit.policy == .noEviction { return self.noteEvictionOutcome(.fail) }
        // Inside a read batch the batch's clock is fresh enough (one clock read per command, as everywhere).
        let started = self.batchClock >= 0 ? self.batchClock : self.monotonicMicroseconds()
        let now = self.injectedClock?() ?? (started + self.wallOffset) / 1000
        var freed = 0
        var evicted = 0
        var outcome = EvictionOutcome.ok
        while freed < toFree {
            let before: Int
            let db: Database
            do {
                guard let victim = self.keyspace.evictionVictim(policy: limit.policy, samples: limit.samples, now: now)
                else {
                    outcome = .fail
                    break
                }
                db = victim.database
                // The key outlives the entry in a buffer kept for evictions: the entry must be gone before the memory
                // it held is measured.
                self.evictionKey.removeAll(keepingCapacity: true)
                victim.entry.withKey { self.evictionKey.append(contentsOf: $0) }
                before = self.usedMemory()
                db.evict(victim.entry)
            }
            // Only what the deletion itself frees counts, as in Redis: the DEL it propagates and the events it
            // sends take memory that is given back by itself.
            freed += before - self.usedMemory()
            evicted += 1
            self.keyEvicted(db)
            if evicted % 16 == 0 && self.monotonicMicroseconds() - started > limit.timeLimitMicroseconds {
                // Out of time for this command: the job goes on between I/O.
                self.startEvictionJob()
                break
            }
        }
        if outcome == .ok && self.memoryLimit.jobScheduled { outcome = .running }
        return self.noteEvictionOutcome(outcome)
    }

    /// What follows an eviction: the counters, WATCH and tracking, the `evicted` event, and the DEL (UNLINK with
    /// lazyfree-lazy-eviction) in the write stream, each its own unit, as Redis propagates evictions outside any
    /// MULTI.
    private func keyEvicted(_ db: Database) {
        self.memoryLimit.evictedKeys += 1
        if !self.watchers.isEmpty { self.touchWatched(database: db.index, key: self.evictionKey) }
        self.evictionKey.withUnsafeBytes { key in
            if self.tracking.isActive { self.trackingInvalidate(ByteBuffer(bytes: key)) }
            self.keyspaceEventFromKeyspace(.evicted, "evicted", db, key)
            guard self.propagating else { return }
            if self.memoryLimit.lazyEviction {
                self.alsoPropagate(database: db.index, [Self.unlinkName, ByteBuffer(bytes: key)])
            } else {
                self.propagateDeletion(database: db.index, key: key)
            }
        }
    }

    static let unlinkName = ByteBuffer(string: "UNLINK")

    /// Keeps `total_eviction_exceeded_time`: the time spent above the limit, from the first pass that could not get
    /// under it to the first that did.
    private func noteEvictionOutcome(_ outcome: EvictionOutcome) -> EvictionOutcome {
        if outcome == .ok {
            if self.memoryLimit.exceededSince != 0 {
                self.memoryLimit.totalExceededMicroseconds +=
                    self.monotonicMicroseconds()
                    - self.memoryLimit.exceededSince
                self.memoryLimit.exceededSince = 0
            }
        } else if self.memoryLimit.exceededSince == 0 {
            self.memoryLimit.exceededSince = self.monotonicMicroseconds()
        }
        return outcome
    }

    /// Milliseconds spent above the limit so far (INFO's `total_eviction_exceeded_time`) and in the current stretch
    /// (`current_eviction_exceeded_time`).
    var evictionExceededMilliseconds: (total: Int64, current: Int64) {
        let since = self.memoryLimit.exceededSince
        let current = since == 0 ? 0 : self.monotonicMicroseconds() - since
        return ((self.memoryLimit.totalExceededMicroseconds + current) / 1000, current / 1000)
    }

    /// Redis's `startEvictionTimeProc`: evicts from the loop, a pass per iteration, until under the limit.
    func startEvictionJob() {
        guard !self.memoryLimit.jobScheduled, let host = self.host else { return }
        self.memoryLimit.jobScheduled = true
        host.schedule(afterMicroseconds: 0) { [unowned(unsafe) self] in
            // A pass that runs out of time schedules the next one (startEvictionJob above).
            self.memoryLimit.jobScheduled = false
            self.performEvictions()
        }
    }
}
