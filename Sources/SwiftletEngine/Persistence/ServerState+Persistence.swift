import Dispatch
import SwiftletConfig
import SwiftletKeyspace
import SwiftletPersistence

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// RDB persistence: SAVE, fork-less BGSAVE, save points, loading at startup, the shutdown save, MISCONF.
extension ServerState {
    /// `dir`/`dbfilename`.
    public var rdbPath: String {
        let dir = self.config.dir
        let name = self.config.dbFilename
        if name.hasPrefix("/") || dir.isEmpty { return name }
        return dir.hasSuffix("/") ? dir + name : dir + "/" + name
    }

    func rdbOptions() -> RDBWriter.Options {
        var options = RDBWriter.Options()
        options.compression = self.config.get("rdbcompression") != "no"
        options.checksum = self.config.get("rdbchecksum") != "no"
        options.creationTime = self.clock() / 1000
        options.usedMemory = Int64(MemoryInfo.current().allocated)
        options.functions = self.scripting.sortedLibraries.map(\.code)
        options.replication = self.replicationSaveInfo
        // As Redis: the idle time under an LRU policy (not under noeviction and the others, whose clock is kept for
        // OBJECT IDLETIME only), the counter under an LFU one.
        switch self.memoryLimit.policy {
        case .allKeysLRU, .volatileLRU:
            options.access = .idle(now: self.clock())
        case .allKeysLFU, .volatileLFU:
            options.access = .frequency(now: self.clock(), decayMinutes: Int(self.config.number("lfu-decay-time")))
        default:
            options.access = .none
        }
        return options
    }

    /// Whether write commands (and PING) are refused with MISCONF: the last background save failed, save points
    /// are configured and `stop-writes-on-bgsave-error` is on (Redis's `writeCommandsDeniedByDiskError`).
    public var writesDeniedByDiskError: Bool {
        !self.persistence.lastBgsaveOK && !self.config.saveRules.isEmpty
            && self.config.get("stop-writes-on-bgsave-error") != "no"
    }

    // MARK: - SAVE

    /// Writes the whole keyspace to `dir`/`dbfilename` now, blocking the loop (SAVE, SHUTDOWN, FLUSHALL, DEBUG
    /// RELOAD). On success the change counter is reset and `lastSaveTime` set, as Redis's `rdbSave`.
    /// - Returns: whether the file was written.
    @discardableResult
    public func saveNow() -> Bool {
        do {
            try RDBWriter.write(keyspace: self.keyspace, to: self.rdbPath, options: self.rdbOptions())
        } catch {
            self.persistence.warning("Write error saving DB on disk: \(error)")
            return false
        }
        self.persistence.notice("DB saved on disk")
        self.dirty = 0
        self.lastSaveTime = self.clock() / 1000
        self.persistence.lastBgsaveOK = true
        return true
    }

    // MARK: - BGSAVE

    /// Starts a background save (Redis's `rdbSaveBackground`). A temp file that cannot be created fails the save
    /// at once, as Redis's child fails after the fork: the command still says it started, and
    /// `rdb_last_bgsave_status` becomes `err`.
    /// - Returns: whether the save started.
    /// - Parameter forReplication: the file is then sent to the replicas waiting for it.
    @discardableResult
    public func startBackgroundSave(forReplication: Bool = false) -> Bool {
        let p = self.persistence
        precondition(p.running == nil, "a background save is already running")
        p.saves += 1
        p.dirtyBeforeBgsave = self.dirty
        let now = self.clock() / 1000
        p.lastBgsaveTry = now
        let file: RDBBackgroundFile
        do {
            file = try RDBBackgroundFile(path: self.rdbPath)
        } catch {
            p.notice("Background saving started")
            p.warning("Failed opening the temp RDB file for saving: \(error)")
            p.warning("Background saving error")
            p.lastBgsaveOK = false
            p.lastBgsaveSeconds = 0
            return !forReplication
        }
        let encoder = RDBSnapshotEncoder(writer: file, options: self.rdbOptions())
        let snapshot = KeyspaceSnapshot(of: self.keyspace, consumer: encoder)
        encoder.databaseSizes = zip(snapshot.keysAtStart, snapshot.expiresAtStart).map { ($0, $1) }
        p.notice("Background saving started")
        self.startSnapshotRun(
            snapshot,
            encoder: encoder,
            file: file,
            startedAt: now,
            replication: forReplication ? .disk : nil
        )
        return true
    }

    /// Registers a snapshot walk (BGSAVE, or an AOF rewrite's base) and starts it: in slices on the event loop, or
    /// all at once in-process when there is no loop.
    func startSnapshotRun(
        _ snapshot: KeyspaceSnapshot,
        encoder: any SnapshotFileEncoder,
        file: any RDBChunkWriter,
        startedAt: Int64,
        rewrite: AppendOnlyState.Rewrite? = nil,
        replication: PersistenceState.ReplicationTarget? = nil
    ) {
        let p = self.persistence
        p.nextRunID += 1
        let run = PersistenceState.Run(
            id: p.nextRunID,
            snapshot: snapshot,
            encoder: encoder,
            file: file,
            startedAt: startedAt,
            startedMicros: self.monotonicMicroseconds(),
            rewrite: rewrite,
            replication: replication
        )
        p.running = run
        if self.host == nil {
            snapshot.run()
            self.finishBackgroundSave(run)
        } else {
            self.scheduleSnapshotSlice(run, after: 0)
        }
    }

    func scheduleSnapshotSlice(_ run: PersistenceState.Run, after microseconds: Int64) {
        let id = run.id
        self.host?.schedule(afterMicroseconds: max(microseconds, PersistenceState.sliceGapMicroseconds)) {
            [unowned(unsafe) self] in self.snapshotSlice(id)
        }
    }

    /// One slice of the walk: about a millisecond of encoding, then the loop serves clients again.
    func snapshotSlice(_ id: Int) {
        guard let run = self.persistence.running, run.id == id, !run.finishing else { return }
        if run.file.pendingBytes > PersistenceState.maxPendingBytes {
            // The disk is behind: let the writer catch up before encoding more.
            self.scheduleSnapshotSlice(run, after: 1000)
            return
        }
        let delay = self.config.number("rdb-key-save-delay")
        var done: Bool
        if delay > 0 {
            // As Redis's per-key delay (used by tests to keep a BGSAVE running), without blocking the loop.
            done = run.snapshot.step(budget: 1)
        } else {
            let start = self.monotonicMicroseconds()
            repeat {
                done = run.snapshot.step(budget: 128)
            } while !done && self.monotonicMicroseconds() - start < PersistenceState.sliceMicroseconds
        }
        if done {
            self.finishBackgroundSave(run)
        } else {
            self.scheduleSnapshotSlice(run, after: max(0, delay))
        }
    }

    func finishBackgroundSave(_ run: PersistenceState.Run) {
        run.finishing = true
        let id = run.id
        if let hop = self.host?.loopHop {
            let state = LoopOwned(value: self)
            run.encoder.finish { result in
                hop { state.value.backgroundSaveDone(id, result) }
            }
        } else {
            let box = WriteResult()
            let semaphore = DispatchSemaphore(value: 0)
            run.encoder.finish { result in
                box.result = result
                semaphore.signal()
            }
            semaphore.wait()
            self.backgroundSaveDone(id, box.result)
        }
    }

    /// The writer finished (Redis's `backgroundSaveDoneHandlerDisk`).
    func backgroundSaveDone(_ id: Int, _ result: Result<Int, RDBError>) {
        let p = self.persistence
        guard let run = p.running, run.id == id else { return }
        p.running = nil
        if let rewrite = run.rewrite {
            self.appendOnlyRewriteDone(run, rewrite, result)
            return
        }
        if run.replication == .sockets {
            // Not a save: the dump file and the save statistics are untouched (Redis's
            // backgroundSaveDoneHandlerSocket).
            switch result {
            case .success: p.notice("Background RDB transfer terminated with success")
            case .failure(let error): p.warning("Background transfer error: \(error)")
            }
            self.replicationSnapshotDone(.sockets, success: result.isSuccess)
            return
        }
        let now = self.clock() / 1000
        switch result {
        case .success:
            p.notice("Background saving terminated with success")
            self.dirty = max(0, self.dirty - p.dirtyBeforeBgsave)
            self.lastSaveTime = now
            p.lastBgsaveOK = true
        case .failure(let error):
            p.warning("Background saving error: \(error)")
            p.lastBgsaveOK = false
        }
        p.lastBgsaveSeconds = now - run.startedAt
        if run.replication == .disk {
            self.replicationSnapshotDone(.disk, success: result.isSuccess)
        }
    }

    /// Stops a running background save and drops its temp file (FLUSHALL, SHUTDOWN), as Redis kills its child
    /// with SIGUSR1: the last save status is left as it was.
    public func cancelBackgroundSave() {
        let p = self.persistence
        guard let run = p.running, run.rewrite == nil else { return }
        p.running = nil
        run.snapshot.cancel()
        run.file.abort()
        p.lastBgsaveSeconds = self.clock() / 1000 - run.startedAt
        p.warning("Background saving terminated by signal 10")
        // The replicas it was made for fail their sync at once (Redis's updateSlavesWaitingBgsave with an error),
        // instead of waiting for an RDB that will not come.
        if let target = run.replication { self.replicationSnapshotDone(target, success: false) }
    }

    // MARK: - Tick

    /// Save points and scheduled BGSAVEs, from the server tick (Redis's `serverCron`).
    public func persistenceCron() {
        let p = self.persistence
        self.appendOnlyCron()
        guard p.running == nil else { return }
        let now = self.clock() / 1000
        // After a failed attempt, retry only once 5 seconds have passed (CONFIG_BGSAVE_RETRY_DELAY).
        let mayRetry = p.lastBgsaveOK || now - p.lastBgsaveTry > 5
        for rule in self.config.saveRules
        where p.automaticSaves && self.dirty >= rule.changes && now - self.lastSaveTime > Int64(rule.seconds)
            && mayRetry
        {
            p.notice("\(rule.changes) changes in \(rule.seconds) seconds. Saving...")
            self.startBackgroundSave()
            return
        }
        if p.bgsaveScheduled && mayRetry {
            if self.startBackgroundSave() { p.bgsaveScheduled = false }
        }
    }

    // MARK: - Shutdown

    /// The save of SHUTDOWN and SIGTERM (Redis's `finishShutdown`): cancels a background save, then saves when
    /// save points are configured (unless NOSAVE) or when SAVE is asked for.
    /// - Returns: `false` when the save failed and `force` was not given: the server keeps running.
    public func prepareForShutdown(_ request: ShutdownRequest, force: Bool) -> Bool {
        if self.persistence.bgsaveInProgress {
            self.persistence.warning("There is a child saving an .rdb. Killing it!")
            self.cancelBackgroundSave()
        }
        if self.persistence.rewriteInProgress {
            self.persistence.warning("There is a child rewriting the AOF. Killing it!")
        }
        if self.aof.status == .on {
            self.persistence.notice("Calling fsync() on the AOF file.")
            self.flushAppendOnlyForShutdown()
        }
        let save: Bool
        switch request {
        case .save: save = true
        case .noSave: save = false
        case .default: save = self.persistence.automaticSaves && !self.config.saveRules.isEmpty
        }
        guard save else { return true }
        self.persistence.notice("Saving the final RDB snapshot before exiting.")
        if self.saveNow() { return true }
        if force {
            self.persistence.warning("Error trying to save the DB. Exit anyway.")
            return true
        }
        self.persistence.warning("Error trying to save the DB, can't exit.")
        self.persistence.warning("Errors trying to shut down the server. Check the logs for more information.")
        return false
    }

    // MARK: - Loading

    /// Loads `dir`/`dbfilename` into the (empty) keyspace at startup, as Redis's `loadDataFromDisk`. A missing
    /// file is not an error.
    /// - Throws: a message naming the file, the offset and the problem; the server must not start.
    public func loadDataFromDisk() throws(RedisError) {
        let path = self.rdbPath
        guard access(path, F_OK) == 0 else { return }
        let started = self.monotonicMicroseconds()
        let summary: RDBReader.Summary
        var expired: [(Int, [UInt8])] = []
        do {
            summary = try RDBReader.load(path: path, into: self.keyspace, now: self.clock()) {
                expired.append(($0, $1))
            }
        } catch {
            self.keyspace.removeAll()
            throw RedisError.loadingRDBFailed(path: path, error)
        }
        try self.loadFunctions(summary.functions)
        let p = self.persistence
        if let version = summary.aux["redis-ver"] { p.notice("Loading RDB produced by version \(version)") }
        if let ctime = summary.aux["ctime"].flatMap({ Int64($0) }) {
            p.notice("RDB age \(self.clock() / 1000 - ctime) seconds")
        }
        if let used = summary.aux["used-mem"].flatMap({ Double($0) }) {
            p.notice("RDB memory usage when created \(Self.megabytes(used)) Mb")
        }
        p.notice(
            "Done loading RDB, keys loaded: \(summary.keysLoaded), keys expired: \(summary.expiredKeysSkipped)."
        )
        p.loadKeysLoaded = summary.keysLoaded
        p.loadKeysExpired = summary.expiredKeysSkipped
        let seconds = Double(self.monotonicMicroseconds() - started) / 1_000_000
        p.notice("DB loaded from disk: \(Self.fixed3(seconds)) seconds")
        self.restoreReplicationInfo(summary.aux, expiredAtLoad: expired)
    }

    /// Loads the dump into the keyspace again (DEBUG RELOAD).
    /// - Returns: `false` when the file could not be loaded.
    func reloadDataFromDisk(flush: Bool) -> Bool {
        if flush { self.keyspace.removeAll() }
        do {
            let summary = try RDBReader.load(path: self.rdbPath, into: self.keyspace, now: self.clock())
            try self.loadFunctions(summary.functions)
            self.persistence.loadKeysLoaded = summary.keysLoaded
            self.persistence.loadKeysExpired = summary.expiredKeysSkipped
        } catch {
            self.persistence.warning("Error loading the RDB dump: \(error)")
            return false
        }
        self.persistence.warning("DB reloaded by DEBUG RELOAD")
        return true
    }

    /// The function libraries of a loaded RDB (or AOF base) replace the current ones, as Redis's rdbLoad does.
    func loadFunctions(_ codes: [[UInt8]]) throws(RedisError) {
        guard !codes.isEmpty || !self.scripting.libraries.isEmpty else { return }
        do {
            try self.scripting.restoreLibraries(codes, replace: true, flush: true)
        } catch {
            self.persistence.warning("Failed loading library: \(error.message)")
            throw error
        }
    }

    static func megabytes(_ bytes: Double) -> String {
        let hundredths = Int((bytes / (1024 * 1024) * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    static func fixed3(_ value: Double) -> String {
        let thousandths = Int((value * 1000).rounded())
        let fraction = String(thousandths % 1000)
        return "\(thousandths / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}

extension ServerState {
    /// After FLUSHALL (Redis's `flushAllDataAndResetRDB`): a running background save is stopped and, when save
    /// points are configured, the now empty dataset is saved at once.
    public func resetRDBAfterFlushAll() {
        self.cancelBackgroundSave()
        if self.persistence.automaticSaves && !self.config.saveRules.isEmpty { self.saveNow() }
    }
}
