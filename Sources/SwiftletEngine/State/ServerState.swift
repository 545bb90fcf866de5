import NIOCore
public import SwiftletConfig
public import SwiftletKeyspace

/// State shared by all connections of one server: keyspace, configuration, command table, clients, stats.
/// Owned by the server's event loop.
public final class ServerState {
    public let keyspace: Keyspace
    public let config: ConfigStore
    public let table: CommandTable
    /// By command id: whether the command runs at once inside MULTI instead of being queued.
    let transactionControl: [Bool]
    /// By command id: whether a MONITOR client may run the command (not one that reads or writes keys).
    let monitorAllowed: [Bool]
    /// By command id: whether the command is shown to MONITOR clients (not admin or skip_monitor commands).
    let monitored: [Bool]
    /// By command id: whether a RESP2 client with subscriptions may run the command.
    let subscribedModeAllowed: [Bool]
    /// By command id: whether the command is written to the AOF when it changed the dataset (write and
    /// may-replicate commands, not EXEC, whose commands are written one by one).
    let propagatable: [Bool]
    /// EVAL_RO, EVALSHA_RO and FCALL_RO: read-only, but what they track is what their script reads.
    let scriptRunsOthersReadOnly: [Bool]
    /// EVAL, EVALSHA, FCALL and their _RO forms: their flags may come from the script (``effectiveFlags``).
    let runsScripts: [Bool]
    @exclusivity(unchecked)
    public var stats = ServerStats()
    /// Connected clients by id.
    @exclusivity(unchecked)
    public var clients: [Int: ClientSession] = [:]
    /// Channel and pattern subscriptions.
    public let pubsub = PubSubRegistry()
    /// CLIENT PAUSE: the mode in force, its end (unix milliseconds), and the clients waiting for it to end.
    @exclusivity(unchecked)
    public internal(set) var pauseMode = PauseMode.off
    @exclusivity(unchecked)
    public internal(set) var pauseEnd: Int64 = 0
    @exclusivity(unchecked)
    var postponedClients: [ClientSession] = []
    /// Write pauses held by a FAILOVER or a SHUTDOWN waiting for replicas (Redis's PAUSE_DURING_FAILOVER /
    /// PAUSE_DURING_SHUTDOWN), and the CLIENT PAUSE they cover, which comes back when the last is released.
    var writePauseHolds = 0
    var heldClientPause: (mode: PauseMode, end: Int64) = (.off, 0)
    /// The process running the engine (EngineHost.swift); `nil` for the embedded store and unit tests, where
    /// outboxes are flushed at the end of each read batch and a BGSAVE runs within its command.
    @exclusivity(unchecked)
    public var host: (any EngineHost)? {
        didSet { self.persistence.host = self.host }
    }
    /// CLIENT TRACKING: the keys tracking clients read, and the BCAST prefixes.
    public let tracking = TrackingRegistry()
    /// Clients in MONITOR mode.
    @exclusivity(unchecked)
    public internal(set) var monitors: [ClientSession] = []
    /// Clients whose `outbox` has frames to write at the end of the current batch.
    @exclusivity(unchecked)
    var pendingOutboxes: [ClientSession] = []
    /// The running client's own keyspace events, spliced into its reply (Notifications.swift).
    let selfNotifications = SelfNotifications()
    /// Clients blocked on keys, and the keys that got data for them.
    public let blocking = BlockingRegistry()
    /// EVAL's scripts and the function libraries, their interpreters, and the script running.
    public private(set) lazy var scripting = ScriptingState(server: self)
    /// Used memory was over maxmemory, with nothing left to evict, when the running command started (Redis's
    /// `pre_command_oom_state`): a script's first write is refused then.
    var preCommandOutOfMemory = false
    /// SHUTDOWN succeeded: the process stops after this loop turn.
    public internal(set) var shutdownRequested = false
    /// Commands running now: 1 for a client's command, 2 inside EXEC (and, later, scripts). Only a command at
    /// depth 1 may block, and ready keys are served when it is done.
    @exclusivity(unchecked)
    public internal(set) var commandDepth = 0
    @exclusivity(unchecked)
    private var nextClientID = 1
    /// The client-output-buffer-limit of the client's class: `replica` once it is an online replica (the RDB of its
    /// sync passes through its output unlimited, as Redis sends it outside the output buffer), `pubsub` while
    /// subscribed, `normal` otherwise.
    @inline(__always)
    public func outputLimit(of session: ClientSession) -> ClientBufferLimit {
        if let link = session.replica, link.attached {
            // Its RDB (until the replica acknowledges an EOF-marked one) is not held to the limit.
            return link.state == .online && !link.streamStartsOnAck ? self.hot.replicaOutputLimit : .unlimited
        }
        return session.isSubscribed ? self.hot.pubsubOutputLimit : self.hot.normalOutputLimit
    }

    /// The name of the client's class in client-output-buffer-limit, for the log.
    public func outputLimitClass(of session: ClientSession) -> String {
        if session.replica?.attached == true { return "replica" }
        return session.isSubscribed ? "pubsub" : "normal"
    }

    /// Whether a client's output buffer (bytes its connection has not written yet) is past its class's
    /// client-output-buffer-limit: over the hard limit, or over the soft limit for longer than its seconds.
    /// - Parameter limit: the limit to apply, when not the client's class's (a syncing replica's held stream).
    public func outputBufferOverLimit(
        _ session: ClientSession,
        pending: Int,
        now: Int64,
        limit: ClientBufferLimit? = nil
    ) -> Bool {
        let limit = limit ?? self.outputLimit(of: session)
        let used = UInt64(max(0, pending))
        if limit.hard > 0 && used >= limit.hard { return true }
        if limit.soft > 0 && used >= limit.soft {
            if session.softLimitReachedAt == 0 {
                session.softLimitReachedAt = now
            } else if now - session.softLimitReachedAt > limit.seconds * 1000 {
                return true
            }
        } else {
            session.softLimitReachedAt = 0
        }
        return false
    }

    /// Unix milliseconds when the server started.
    public let startTime: Int64
    /// 40 hex characters, new on each start (`run_id`).
    public let runID: String
    /// Changes since the last save.
    @exclusivity(unchecked)
    public var dirty = 0
    @exclusivity(unchecked)
    public var lastSaveTime: Int64
    /// SAVE, BGSAVE, save points and their status (`ServerState+Persistence.swift`).
    public let persistence = PersistenceState()
    /// The append-only file (`ServerState+AOF.swift`).
    public let aof = AppendOnlyState()
    /// The master side of replication: ids, offset, backlog, replicas (Replication/).
    public let replication = ReplicationState(id: ReplicationState.randomID())
    /// Set while this server is a replica (REPLICAOF, the `replicaof` directive): its link to the master
    /// (Replication/MasterLink.swift).
    public internal(set) var masterLink: MasterLink?
    /// Where committed changes leave the engine (State/WriteStream.swift).
    package let writeStream = WriteStream()
    /// Whether the write stream has a consumer: one flag the dispatcher tests after every command.
    @exclusivity(unchecked)
    public internal(set) var propagating = false
    /// Whether the once-per-loop-iteration flush (outboxes, AOF) is already scheduled.
    @exclusivity(unchecked)
    var beforeSleepScheduled = false
    /// The wall clock in unix milliseconds; tests inject their own.
    /// An injected wall clock (tests); `nil` uses the system clock.
    let injectedClock: (() -> Int64)?
    /// Realtime minus monotonic, in microseconds: lets one monotonic read give both a duration and the wall time.
    @exclusivity(unchecked)
    var wallOffset: Int64 = 0
    /// Monotonic time of the end of the last command of the current read batch, -1 outside a batch.
    @exclusivity(unchecked)
    var batchClock: Int64 = -1
    /// A monotonic clock in microseconds, for durations.
    /// Port actually bound, path of the config file, executable: for INFO server.
    @exclusivity(unchecked)
    public var boundPort = 0
    @exclusivity(unchecked)
    public var configFile = ""
    @exclusivity(unchecked)
    public var executable = ""
    /// `DEBUG SET-ACTIVE-EXPIRE`: whether the server tick expires keys in the background.
    @exclusivity(unchecked)
    public var activeExpireEnabled = true
    /// DEBUG PAUSE-CRON 1: the server tick does nothing until it is set back to 0.
    @exclusivity(unchecked)
    public var cronPaused = false
    /// Heap in use when the server started, and the highest seen since (INFO memory).
    @exclusivity(unchecked)
    public var startupAllocated = 0
    @exclusivity(unchecked)
    public var peakAllocated = 0
    /// Time spent in the active expire cycle, in microseconds.
    @exclusivity(unchecked)
    public var expireCycleMicroseconds: Int64 = 0
    /// Commands per second over the last sampling window, updated by the server tick.
    @exclusivity(unchecked)
    public var instantaneousOpsPerSecond = 0
    @exclusivity(unchecked)
    private var opsSamples: [Int] = []
    @exclusivity(unchecked)
    private var lastOpsSample: (time: Int64, commands: Int) = (0, 0)

    /// CONFIG RESETSTAT.
    public func resetStatistics() {
        self.stats = ServerStats()
        self.keyspace.stats = KeyspaceStats()
        self.replication.fullSyncs = 0
        self.replication.partialSyncsAccepted = 0
        self.replication.partialSyncsRefused = 0
        for i in self.table.stats.indices { self.table.stats[i] = CommandStats() }
        self.peakAllocated = 0
        self.expireCycleMicroseconds = 0
        self.memoryLimit.resetStatistics()
    }

    /// Called from the server tick: samples the command rate, as Redis's `trackInstantaneousMetric`.
    public func sampleOperations(now: Int64) {
        let elapsed = now - self.lastOpsSample.time
        guard elapsed >= 100 else { return }
        let ops = (self.stats.totalCommandsProcessed - self.lastOpsSample.commands) * 1000 / Int(max(1, elapsed))
        self.opsSamples.append(ops)
        if self.opsSamples.count > 16 { self.opsSamples.removeFirst() }
        self.instantaneousOpsPerSecond = self.opsSamples.reduce(0, +) / self.opsSamples.count
        self.lastOpsSample = (now, self.stats.totalCommandsProcessed)
    }

    /// - Parameters:
    ///   - clock: the wall clock in unix milliseconds, for tests (the system clock otherwise).
    ///   - memoryGauge: `used_memory` in bytes, for tests of the memory limit (the allocator's count otherwise).
    public init(
        config: ConfigStore = ConfigStore(),
        clock: (() -> Int64)? = nil,
        memoryGauge: (() -> Int)? = nil
    ) {
        self.config = config
        self.injectedMemoryGauge = memoryGauge
        self.hot = HotConfig(config)
        self.keyspace = Keyspace(databases: max(1, config.databases))
        self.wallOffset = ServerState.systemClockMicroseconds() - ServerState.systemMonotonicMicroseconds()
        self.table = CommandTable(Commands.all)
        self.transactionControl = self.table.commands.map {
            TransactionCommands.controlNames.contains($0.fullName)
        }
        self.subscribedModeAllowed = self.table.commands.map {
            PubSubCommands.allowedWhileSubscribed.contains($0.fullName)
        }
        self.monitorAllowed = self.table.commands.map {
            $0.flags.isDisjoint(with: [.readonly, .write, .mayReplicate])
        }
        self.monitored = self.table.commands.map { $0.flags.isDisjoint(with: [.admin, .skipMonitor]) }
        let execID = self.table.execID
        // EXEC and the scripts propagate the commands they ran, never themselves (Redis 7.0 replicates effects).
        let runsOthers: Set<String> = ["eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"]
        self.scriptRunsOthersReadOnly = self.table.commands.map {
            ["eval_ro", "evalsha_ro", "fcall_ro"].contains($0.fullName)
        }
        self.runsScripts = self.table.commands.map { runsOthers.contains($0.fullName) }
        self.propagatable = self.table.commands.map {
            !$0.flags.isDisjoint(with: [.write, .mayReplicate]) && $0.id != execID && !runsOthers.contains($0.fullName)
        }
        self.injectedClock = clock
        self.startTime = clock?() ?? ServerState.systemClock()
        self.lastSaveTime = self.startTime / 1000
        var rng = SystemRandomNumberGenerator()
        self.runID = String((0..<40).map { _ in "0123456789abcdef".randomElement(using: &rng)! })
        self.applyAccessPolicy()
        self.applyMemoryConfig()
        for name in ["maxmemory-policy", "lfu-log-factor", "lfu-decay-time"] {
            config.observers[name] = { [unowned(unsafe) self] _ in
                self.applyAccessPolicy()
                self.applyMemoryConfig()
            }
        }
        for name in ServerState.memoryParameters {
            config.observers[name] = { [unowned(unsafe) self] _ in self.applyMemoryConfig() }
        }
        config.observers["maxmemory"] = { [unowned(unsafe) self] _ in self.maxMemoryChanged() }
        self.refreshHotConfig()
        self.keyspace.onExpired = { [unowned(unsafe) self] db, key in
            if !self.watchers.isEmpty { self.touchWatched(database: db.index, key: Array(key)) }
            if self.tracking.isActive { self.trackingInvalidate(ByteBuffer(bytes: key)) }
            self.keyspaceEventFromKeyspace(.expired, "expired", db, key)
            if self.propagating { self.propagateDeletion(database: db.index, key: key) }
        }
        for name in ServerState.hotParameters {
            config.observers[name] = { [unowned(unsafe) self] _ in self.refreshHotConfig() }
        }
        for name in ["min-replicas-to-write", "min-replicas-max-lag"] {
            // The good replicas are counted again at once, as Redis's updateGoodSlaves.
            config.observers[name] = { [unowned(unsafe) self] _ in
                self.refreshHotConfig()
                self.refreshGoodReplicas()
            }
        }
        config.observers["appendfsync"] = { [unowned(unsafe) self] _ in self.readFsyncPolicy() }
        config.observers["repl-backlog-size"] = { [unowned(unsafe) self] _ in
            self.replication.backlog?.resize(self.replicationBacklogSize)
        }
        config.observers["aof-timestamp-enabled"] = { [unowned(unsafe) self] _ in self.readFsyncPolicy() }
        // CONFIG SET port / bind move the listeners at once, as Redis's apply functions do (no host: nothing listens).
        config.appliers["port"] = { [unowned(unsafe) self] _ in
            self.host?.relisten() == false ? "Unable to listen on this port. Check server logs." : nil
        }
        config.appliers["bind"] = { [unowned(unsafe) self] _ in
            self.host?.relisten() == false ? "Failed to bind to specified addresses." : nil
        }
        config.appliers["appendonly"] = { [unowned(unsafe) self] text in
            if text == "yes" { return self.startAppendOnly().map { _ in "Unable to turn on AOF. Check server logs." } }
            self.stopAppendOnly()
            return nil
        }
        self.readFsyncPolicy()
    }

    /// Configuration read on every request, cached so that the hot path never looks up a parameter by name. It is
    /// read from the ``ConfigStore`` (where every default is stated, in ``ConfigTable``) at start and after each
    /// CONFIG SET of one of ``hotParameters``.
    public struct HotConfig: Sendable {
        public let requiresPassword: Bool
        public let protoMaxBulkLen: Int
        public let clientQueryBufferLimit: Int
        /// Encoding thresholds of the collection types (read on every write to a small collection).
        public let hashMaxListpackEntries: Int
        public let hashMaxListpackValue: Int
        public let listMaxListpackSize: Int
        public let setMaxIntsetEntries: Int
        public let zsetMaxListpackEntries: Int
        public let zsetMaxListpackValue: Int
        /// `client-output-buffer-limit` for normal, pub/sub and replica clients.
        public let normalOutputLimit: ClientBufferLimit
        public let pubsubOutputLimit: ClientBufferLimit
        public let replicaOutputLimit: ClientBufferLimit
        /// `notify-keyspace-events`: empty (the default) costs every write one integer test.
        public let keyspaceEvents: KeyspaceEvents
        /// `slowlog-log-slower-than` (negative: the slow log is off) and `slowlog-max-len`.
        public let slowlogLogSlowerThan: Int64
        public let slowlogMaxLength: Int
        /// `tracking-table-max-keys` (0: no limit).
        public let trackingTableMaxKeys: Int
        /// `min-replicas-to-write` and `min-replicas-max-lag` are both set: with fewer good replicas than the first
        /// (online, acknowledged within the lag), write commands are refused (Redis's checkGoodReplicasStatus).
        public let requiresGoodReplicas: Bool
        public let minReplicasToWrite: Int
        /// `busy-reply-threshold` (alias `lua-time-limit`), milliseconds: 0 runs scripts without the count hook.
        public let busyReplyThreshold: Int64

        init(_ config: ConfigStore) {
            self.requiresPassword = !config.requirePass.isEmpty
            self.protoMaxBulkLen = config.protoMaxBulkLen
            self.clientQueryBufferLimit = config.clientQueryBufferLimit
            self.hashMaxListpackEntries = Int(clamping: config.number("hash-max-listpack-entries"))
            self.hashMaxListpackValue = Int(clamping: config.number("hash-max-listpack-value"))
            self.listMaxListpackSize = Int(clamping: config.number("list-max-listpack-size"))
            self.setMaxIntsetEntries = Int(clamping: config.number("set-max-intset-entries"))
            self.zsetMaxListpackEntries = Int(clamping: config.number("zset-max-listpack-entries"))
            self.zsetMaxListpackValue = Int(clamping: config.number("zset-max-listpack-value"))
            self.normalOutputLimit = config.clientOutputBufferLimits[0]
            self.pubsubOutputLimit = config.clientOutputBufferLimits[2]
            self.replicaOutputLimit = config.clientOutputBufferLimits[1]
            self.keyspaceEvents = KeyspaceEvents(rawValue: config.notifyKeyspaceEvents)
            self.slowlogLogSlowerThan = config.number("slowlog-log-slower-than")
            self.slowlogMaxLength = Int(clamping: config.number("slowlog-max-len"))
            self.trackingTableMaxKeys = Int(clamping: config.number("tracking-table-max-keys"))
            self.requiresGoodReplicas =
                config.number("min-replicas-to-write") > 0 && config.number("min-replicas-max-lag") > 0
            self.minReplicasToWrite = Int(clamping: config.number("min-replicas-to-write"))
            self.busyReplyThreshold = config.number("busy-reply-threshold")
        }
    }

    @exclusivity(unchecked)
    public private(set) var hot: HotConfig

    /// SLOWLOG's entries (Slowlog.swift).
    var slowlog = Slowlog()

    /// `maxmemory` and its companions, and the eviction counters (Memory/).
    @exclusivity(unchecked)
    public internal(set) var memoryLimit = MemoryLimit()
    let injectedMemoryGauge: (() -> Int)?
    /// The key of the eviction at hand, in a buffer kept from one eviction to the next.
    @exclusivity(unchecked)
    var evictionKey: [UInt8] = []
    /// The client whose command runs (or ran last).
    @exclusivity(unchecked)
    var runningClientID = -1
    /// The memory of every client, while `maxmemory-clients` is set (ClientEviction.swift).
    @exclusivity(unchecked)
    var clientsMemory = 0

    func refreshHotConfig() {
        // `slowlog-max-len` may have been lowered: the next command trims the log, as in Redis.
        self.slowlog.mayExceedMaxLength = true
        self.hot = HotConfig(self.config)
        self.configureNotifications()
    }

    /// Keeps the keyspace's access statistic (LRU clock or LFU counter) in line with `maxmemory-policy`.
    func applyAccessPolicy() {
        let policy = self.config.maxMemoryPolicy
        if policy.contains("lfu") {
            self.keyspace.accessPolicy = .lfu(
                logFactor: Int(self.config.number("lfu-log-factor")),
                decayMinutes: Int(self.config.number("lfu-decay-time"))
            )
        } else {
            self.keyspace.accessPolicy = .lru
        }
    }

    /// The config's observers point back here without a reference count (a `weak` reference would give this
    /// object a side table and slow down every retain and release of it on the hot path), so they go first.
    deinit {
        for name in ServerState.observedParameters { self.config.observers[name] = nil }
        self.config.observers["appendfsync"] = nil
        self.config.observers["aof-timestamp-enabled"] = nil
        self.config.observers["repl-backlog-size"] = nil
        self.config.appliers["appendonly"] = nil
    }

    static let hotParameters = [
        "requirepass", "proto-max-bulk-len", "client-query-buffer-limit", "hash-max-listpack-entries",
        "hash-max-listpack-value", "list-max-listpack-size", "set-max-intset-entries", "zset-max-listpack-entries",
        "zset-max-listpack-value", "client-output-buffer-limit", "notify-keyspace-events", "slowlog-log-slower-than",
        "slowlog-max-len", "tracking-table-max-keys", "min-replicas-to-write", "min-replicas-max-lag",
        "busy-reply-threshold",
    ]

    /// Read into ``memoryLimit`` (besides `maxmemory` and `maxmemory-policy`, observed apart).
    static let memoryParameters = [
        "maxmemory-samples", "maxmemory-eviction-tenacity", "lazyfree-lazy-eviction", "maxmemory-clients",
    ]

    static let observedParameters =
        ["maxmemory", "maxmemory-policy", "lfu-log-factor", "lfu-decay-time"] + memoryParameters + hotParameters

    /// Registers a new client and returns its session.
    public func connect(address: String, localAddress: String, fileDescriptor: Int = -1) -> ClientSession {
        let session = ClientSession(
            id: self.nextClientID,
            address: address,
            localAddress: localAddress,
            fileDescriptor: fileDescriptor,
            now: self.clock()
        )
        self.nextClientID += 1
        self.clients[session.id] = session
        self.stats.totalConnectionsReceived += 1
        return session
    }

    public func disconnect(_ session: ClientSession) {
        self.endTransaction(session)
        self.blocking.unblock(session, reason: .disconnect, server: self)
        self.pubsub.removeAll(session)
        self.stopMonitoring(session)
        self.disableTracking(session)
        if session.postponed != nil {
            session.postponed = nil
            self.postponedClients.removeAll { $0 === session }
        }
        session.outbox.clear()
        self.forgetClientMemory(session)
        self.detachReplica(session)
        self.clients[session.id] = nil
    }

    /// Watched keys and the clients watching them.
    @exclusivity(unchecked)
    var watchers: [WatchedKey: [ClientSession]] = [:]

    /// The one key the running write changed, when it names several and says which (``CommandContext/modifiedOnly(_:)``);
    /// set only while keys are watched or tracked, and cleared at the end of every command, so it never outlives
    /// the command (it is a slice of the request).
    @exclusivity(unchecked)
    var onlyModifiedKey: ByteBuffer?

    /// Invalidations for the client running EXEC, sent after EXEC's reply (see `deliverInvalidation`).
    @exclusivity(unchecked)
    var pendingSelfInvalidations = ByteBuffer()

    /// The wall clock in unix milliseconds (the injected one in tests).
    public func clock() -> Int64 {
        if let injectedClock { return injectedClock() }
        return (ServerState.systemMonotonicMicroseconds() + self.wallOffset) / 1000
    }

    /// A monotonic clock in microseconds, for durations.
    @inline(__always)
    public func monotonicMicroseconds() -> Int64 {
        ServerState.systemMonotonicMicroseconds()
    }

    /// Re-reads the realtime clock (from the server tick), so that wall time follows clock adjustments.
    public func resyncWallClock() {
        self.wallOffset = ServerState.systemClockMicroseconds() - ServerState.systemMonotonicMicroseconds()
    }

    public static func systemClock() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    /// The realtime clock in microseconds: the wall clock's offset from the monotonic one is kept to the
    /// microsecond, so that the server's milliseconds never lag the real ones (a PXAT ten seconds ahead read back
    /// as a PTTL of 10001).
    public static func systemClockMicroseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
    }

    public static func systemMonotonicMicroseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
