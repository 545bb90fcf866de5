public import NIOCore
public import SwiftletConfig
public import SwiftletKeyspace
public import SwiftletRESP

/// Per-connection state that commands read and change: selected database, protocol, name, flags.
public final class ClientSession {
    public let id: Int
    @exclusivity(unchecked)
    public var database = 0
    @exclusivity(unchecked)
    public var protocolVersion: RESPVersion = .resp2
    @exclusivity(unchecked)
    public var name: [UInt8]?
    /// `ip:port` of the peer and of the local end, as `CLIENT LIST` prints them.
    @exclusivity(unchecked)
    public var address: String
    @exclusivity(unchecked)
    public var localAddress: String
    @exclusivity(unchecked)
    public var fileDescriptor: Int
    public let createdAt: Int64
    @exclusivity(unchecked)
    public var lastInteraction: Int64
    /// The last command's index in the command table, -1 before the first (CLIENT LIST `cmd=`).
    @exclusivity(unchecked)
    public var lastCommandID = -1
    /// Close the connection once the pending replies are written (QUIT, protocol errors, CLIENT KILL).
    @exclusivity(unchecked)
    public var closeAfterReply = false
    /// MULTI queue and WATCHed keys.
    @exclusivity(unchecked)
    public var transaction = TransactionState()
    /// Whether AUTH/HELLO AUTH succeeded; only checked while `requirepass` is set.
    @exclusivity(unchecked)
    public var authenticated = false
    /// CLIENT NO-TOUCH: reads do not change the access clock.
    @exclusivity(unchecked)
    public var noTouch = false
    @exclusivity(unchecked)
    public var noEvict = false
    /// Bytes waiting in the query buffer and replies waiting to be written, for `CLIENT LIST`.
    @exclusivity(unchecked)
    public var queryBufferLength = 0
    /// Replies of the running read batch not yet handed to the outbox (followed while `maxmemory-clients` is set).
    @exclusivity(unchecked)
    var replyBufferLength = 0
    /// During a read batch, the query bytes after the running request (the rest of a pipeline).
    @exclusivity(unchecked)
    public var unparsedQueryBytes = 0
    /// The bytes the request still arriving is known to take (its declared bulk lengths), which Redis allocates at
    /// once; kept by the transport while `maxmemory-clients` is set.
    @exclusivity(unchecked)
    public var pendingRequestBytes = 0
    /// The memory last counted for this client in the server's total (`maxmemory-clients`), and whether it was
    /// evicted (it then counts no more, while its connection closes).
    @exclusivity(unchecked)
    var trackedMemory = 0
    @exclusivity(unchecked)
    public internal(set) var evicted = false
    @exclusivity(unchecked)
    public var outputBufferLength = 0
    /// The memory the transport holds for this client's unsent output (whole buffers, until their last byte goes).
    @exclusivity(unchecked)
    public var outputBufferMemory = 0
    /// The transport's connection this client arrived on; `nil` for the embedded store's and tests' sessions, and
    /// once the connection has closed.
    @exclusivity(unchecked)
    public var connection: (any ClientConnection)?
    /// The wait this client is suspended in (BLPOP & co.); its connection reads no further requests meanwhile.
    @exclusivity(unchecked)
    public var blocked: BlockedClient?
    /// Channel, pattern and shard-channel subscriptions; `isSubscribed` while there is any (RESP2 subscribed mode,
    /// and the `pubsub` class of client-output-buffer-limit).
    @exclusivity(unchecked)
    public internal(set) var subscriptions = Subscriptions()
    @exclusivity(unchecked)
    public internal(set) var isSubscribed = false
    /// Frames from other clients' commands (pub/sub messages), written when that command's read batch ends.
    @exclusivity(unchecked)
    public var outbox = ByteBuffer()
    /// The request a CLIENT PAUSE holds back (``ClientConnection/resumePostponed()`` runs it when the pause ends).
    @exclusivity(unchecked)
    public var postponed: [ByteBuffer]?
    /// CLIENT TRACKING settings, nil while tracking is off.
    @exclusivity(unchecked)
    public internal(set) var tracking: TrackingState?
    /// CLIENT CACHING YES (OPTIN) or NO (OPTOUT): applies to the next command or transaction. A plain flag, apart
    /// from `tracking`, because the dispatcher tests it after every command.
    @exclusivity(unchecked)
    public internal(set) var trackingCaching = false
    /// MONITOR: this client receives a line for every command the server runs.
    @exclusivity(unchecked)
    public internal(set) var isMonitor = false
    /// CLIENT REPLY OFF/SKIP.
    @exclusivity(unchecked)
    public internal(set) var replyControl: ReplyControl = []
    /// Set by REPLCONF, SYNC or PSYNC: the client is (or is becoming) a replica of this server.
    @exclusivity(unchecked)
    public internal(set) var replica: ReplicaLink?
    /// This server is a replica and this client is its master's link (Redis's CLIENT_MASTER): its commands are obeyed
    /// (no read-only, OOM or pause refusals) and get no replies.
    @exclusivity(unchecked)
    public internal(set) var isMaster = false
    /// The replication offset after this client's last command (Redis's `woff`): WAIT waits for replicas to
    /// acknowledge it.
    @exclusivity(unchecked)
    public internal(set) var replicationOffset: Int64 = 0
    /// While CLIENT REPLY OFF/SKIP drops the running command's reply: the pushes to this client that the command
    /// produces (subscription confirmations, messages, invalidations, keyspace events), which get through as
    /// Redis lets them through with its CLIENT_PUSHING flag. Nil otherwise.
    @exclusivity(unchecked)
    var silencedPushes: ByteBuffer?
    /// When the output buffer first passed the soft limit of its class (unix milliseconds), 0 while below it.
    @exclusivity(unchecked)
    public var softLimitReachedAt: Int64 = 0

    public init(id: Int, address: String, localAddress: String, fileDescriptor: Int = -1, now: Int64) {
        self.id = id
        self.address = address
        self.localAddress = localAddress
        self.fileDescriptor = fileDescriptor
        self.createdAt = now
        self.lastInteraction = now
    }
}

/// Server-wide counters for `INFO`.
public struct ServerStats: Sendable {
    public var totalConnectionsReceived = 0
    public var totalCommandsProcessed = 0
    public var rejectedConnections = 0
    public var totalNetInputBytes = 0
    public var totalNetOutputBytes = 0
    public var errorReplies = 0
    /// Errors by code (`ERR`, `WRONGTYPE`...), for `INFO errorstats`.
    public var errorsByCode: [String: Int] = [:]
    public var unexpectedErrorReplies = 0
    public var totalReadsProcessed = 0
    public var totalWritesProcessed = 0
    /// Clients closed for passing client-output-buffer-limit.
    public var outputBufferLimitDisconnections = 0

    public init() {}
}

/// How a shutdown was asked for.
public enum ShutdownRequest: Sendable {
    case save
    case noSave
    case `default`
}

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

    // MARK: - Dispatch

    /// Runs the request in `context.arguments` and writes its reply (or error) to `context.out`.
    public func execute(_ context: inout CommandContext) {
        self.runningClientID = context.session.id
        let mark = context.out.buffer.writerIndex
        if context.session.replyControl.isEmpty {
            self.executeCommand(&context)
        } else {
            self.executeWithReplyControl(&context)
        }
        if (context.session.replica != nil || context.session.isMaster) && context.out.buffer.writerIndex > mark {
            self.replicationPeerReplied(&context, from: mark)
        }
        if self.evictsClients {
            // The replies of this read batch so far count too, as Redis counts its reply buffer after each command.
            context.session.replyBufferLength = context.out.buffer.readableBytes
        }
        if self.evictsClients && self.noteClientMemory(context.session) {
            // Evicted for maxmemory-clients: the transport closes its connection at once (`evicted`).
            context.session.closeAfterReply = true
        }
        if context.session.trackingCaching && !context.session.transaction.active
            && self.table.lookupID(context.arguments[0]) != self.table.clientID
        {
            // CLIENT CACHING applies to the one command (or transaction) after it.
            context.session.trackingCaching = false
        }
    }

    /// CLIENT REPLY OFF or SKIP is in force: the command runs, and its reply is dropped when it must be.
    private func executeWithReplyControl(_ context: inout CommandContext) {
        let session = context.session
        if session.replyControl.contains(.skipNext) {
            session.replyControl.remove(.skipNext)
            session.replyControl.insert(.skipThis)
        }
        let mark = context.out.buffer.writerIndex
        session.silencedPushes = ByteBuffer()
        self.executeCommand(&context)
        // Decided after the command: CLIENT REPLY ON clears both, and its OK goes out.
        if !session.replyControl.isDisjoint(with: [.skipThis, .off]) { context.out.buffer.moveWriterIndex(to: mark) }
        session.replyControl.remove(.skipThis)
        // Why `!`: set above, and only this function clears it.
        context.out.buffer.writeImmutableBuffer(session.silencedPushes!)
        session.silencedPushes = nil
    }

    func stopMonitoring(_ session: ClientSession) {
        guard session.isMonitor else { return }
        session.isMonitor = false
        self.monitors.removeAll { $0 === session }
    }

    private func executeCommand(_ context: inout CommandContext) {
        // Inside a read batch the previous command's end time is this one's start: one clock read per command.
        let started = self.batchClock >= 0 ? self.batchClock : self.monotonicMicroseconds()
        context.now = self.injectedClock?() ?? (started + self.wallOffset) / 1000
        context.session.lastInteraction = context.now
        let id: Int
        do {
            id = try self.table.resolve(context.arguments)
        } catch {
            // Redis's c->lastcmd: the command when it is known (an arity error), NULL when it is not.
            context.session.lastCommandID = self.table.lookup(context.arguments[0])?.id ?? -1
            if let known = self.table.lookup(context.arguments[0]) {
                self.table.stats[known.id].rejectedCalls += 1
                if known.id == self.table.execID {
                    // A rejected EXEC discards the transaction, whether or not one is open, as Redis does.
                    self.endTransaction(context.session)
                    self.reply(.execAbortRejected(error), &context)
                    return
                }
            }
            if context.session.transaction.active { context.session.transaction.rejected = true }
            self.reply(error, &context)
            return
        }
        // As Redis's c->lastcmd, set at lookup: a refused command is the client's last command too.
        context.session.lastCommandID = id
        if self.hot.requiresPassword && !context.session.authenticated
            && !self.table.commands[id].flags.contains(.noAuth)
        {
            self.table.stats[id].rejectedCalls += 1
            if context.session.transaction.active { context.session.transaction.rejected = true }
            self.reply(RedisError.authenticationRequired, &context)
            return
        }
        if let running = self.scripting.running, !self.table.commands[id].flags.contains(.allowBusy) {
            // Only reached from inside a script that passed busy-reply-threshold (processEventsWhileBusy).
            self.table.stats[id].rejectedCalls += 1
            let busy = running.isEval ? ScriptingState.busyEval : ScriptingState.busyFunction
            if id == self.table.execID {
                // Redis's rejectCommand: a refused EXEC discards the transaction (execCommandAbort).
                self.endTransaction(context.session)
                self.reply(.execAbort(because: busy), &context)
                return
            }
            if context.session.transaction.active { context.session.transaction.rejected = true }
            self.reply(busy, &context)
            return
        }
        if self.memoryLimit.maxMemory > 0 && !context.session.isMaster && self.refusedForMemory(id, &context) {
            return
        }
        if (!self.persistence.lastBgsaveOK || !self.aof.lastWriteOK) && !context.session.isMaster
            && self.refusedByDiskError(id, &context)
        {
            return
        }
        if self.hot.requiresGoodReplicas && self.replication.goodReplicas < self.hot.minReplicasToWrite
            && self.masterLink == nil && self.refusedForReplicas(id, &context)
        {
            return
        }
        if self.masterLink != nil && !context.session.isMaster && self.refusedAsReplica(id, &context) {
            return
        }
        if context.session.isSubscribed && context.session.protocolVersion == .resp2 && !self.subscribedModeAllowed[id]
        {
            self.table.stats[id].rejectedCalls += 1
            self.reply(RedisError.notAllowedInSubscribeMode(self.table.commands[id].fullName), &context)
            return
        }
        // A MONITOR client or a replica may only run what Redis lets them (no keyspace access).
        if (context.session.isMonitor || context.session.replica?.attached == true) && !self.monitorAllowed[id] {
            self.table.stats[id].rejectedCalls += 1
            self.reply(RedisError.replicaKeyspace, &context)
            return
        }
        // Replicas are never paused (their ACKs keep coming), as in Redis.
        if self.pauseMode != .off && context.session.replica?.attached != true && !context.session.isMaster
            && self.pausePostpones(id, context)
        {
            self.postpone(&context)
            return
        }
        if context.session.transaction.active && !self.transactionControl[id] {
            if self.table.commands[id].flags.contains(.noMulti) {
                context.session.transaction.rejected = true
                self.table.stats[id].rejectedCalls += 1
                self.reply(RedisError.notAllowedInTransaction, &context)
                return
            }
            context.session.transaction.queue.append(id, context.arguments, flags: self.effectiveFlags(id, context))
            context.out.writeSimpleString("QUEUED")
            return
        }
        self.run(id, &context, started: started)
        // Where the stream stood after this client's command: what its WAIT waits for (Redis's `c->woff`).
        context.session.replicationOffset = self.replication.offset
    }

    /// MISCONF: after a failed background save, write commands (an EXEC with writes queued) and PING are refused,
    /// as Redis's `processCommand` does with `stop-writes-on-bgsave-error`.
    private func refusedByDiskError(_ id: Int, _ context: inout CommandContext) -> Bool {
        let aofFailed = self.aof.isOn && !self.aof.lastWriteOK
        guard aofFailed || self.writesDeniedByDiskError else { return false }
        // Redis's `writeCommandsGetDiskErrorMessage`: the RDB error first, then the AOF one.
        let misconf =
            self.writesDeniedByDiskError
            ? RedisError.misconf : RedisError.aofWriteFailed(self.aof.lastWriteError)
        let flags = id == self.table.execID ? context.session.transaction.queue.flags : self.effectiveFlags(id, context)
        guard flags.contains(.write) || id == self.table.pingID else { return false }
        self.table.stats[id].rejectedCalls += 1
        if id == self.table.execID {
            self.endTransaction(context.session)
            self.reply(
                RedisError.execAbort(because: misconf),
                &context
            )
            return true
        }
        if context.session.transaction.active { context.session.transaction.rejected = true }
        self.reply(misconf, &context)
        return true
    }

    /// NOREPLICAS: write commands (an EXEC with writes queued, a script declaring writes) while min-replicas-to-write
    /// cannot be met, as Redis's processCommand.
    private func refusedForReplicas(_ id: Int, _ context: inout CommandContext) -> Bool {
        let flags = id == self.table.execID ? context.session.transaction.queue.flags : self.effectiveFlags(id, context)
        guard flags.contains(.write) else { return false }
        self.table.stats[id].rejectedCalls += 1
        if id == self.table.execID {
            self.endTransaction(context.session)
            self.reply(RedisError.execAbort(because: .noReplicas), &context)
            return true
        }
        if context.session.transaction.active { context.session.transaction.rejected = true }
        self.reply(.noReplicas, &context)
        return true
    }

    /// The flags the dispatcher's checks go by (Redis's getCommandFlags): the command's own, except for EVAL and
    /// FCALL of a script that declares flags (a shebang, a registered function), whose declared flags take the place
    /// of write, deny-oom, stale and may-replicate (Redis's scriptFlagsToCmdFlags).
    func effectiveFlags(_ id: Int, _ context: CommandContext) -> CommandFlags {
        var flags = self.table.commands[id].flags
        guard self.runsScripts[id], let declared = self.scripting.declaredFlags(id, context) else { return flags }
        flags.subtract([.stale, .denyOOM, .write, .mayReplicate])
        if declared.isDisjoint(with: [.allowOOM, .noWrites]) { flags.insert(.denyOOM) }
        if !declared.contains(.noWrites) { flags.insert(.write) }
        if declared.contains(.allowStale) { flags.insert(.stale) }
        return flags
    }

    /// Whether a connection's read batch is running.
    var isInBatch: Bool { self.batchClock >= 0 }

    /// Marks the start of a connection's read batch (see `execute`).
    public func beginBatch() {
        self.batchClock = self.monotonicMicroseconds()
    }

    public func endBatch() {
        self.batchClock = -1
        if self.tracking.hasPendingBroadcasts { self.trackingBroadcast() }
        if self.host == nil {
            if !self.aof.buffer.isEmpty { self.flushAppendOnlyFile() }
            if !self.pendingOutboxes.isEmpty { self.flushOutboxes() }
        }
    }

    /// Asks the server layer to run ``flushOutboxes()`` once the event loop has handled its current round of reads
    /// (Redis's `beforeSleep`), once however often it is asked.
    func requestBeforeSleep() {
        guard !self.beforeSleepScheduled, let host = self.host else { return }
        self.beforeSleepScheduled = true
        host.scheduleBeforeSleep()
    }

    // MARK: - Frames for other clients

    /// Queues a frame (a pub/sub message) for a client. The running client's own frames go into its reply buffer,
    /// ahead of the command's reply, as Redis does; other clients' frames wait in their outbox until the running
    /// read batch ends, so a pipeline of PUBLISHes costs each subscriber one write.
    func push(_ frame: ByteBuffer, to session: ClientSession, context: inout CommandContext) {
        if session === context.session {
            if session.silencedPushes != nil {
                session.silencedPushes!.writeImmutableBuffer(frame)
            } else {
                context.out.buffer.writeImmutableBuffer(frame)
            }
        } else {
            self.push(frame, to: session)
        }
    }

    /// Queues a frame for a client from outside any client's command (expiry, the server tick), or for another
    /// client than the running one.
    func push(_ frame: ByteBuffer, to session: ClientSession) {
        self.willQueueFrames(for: session)
        session.outbox.writeImmutableBuffer(frame)
        self.didQueueFrames()
    }

    /// Queues bytes for a client, as ``push(_:to:)`` (the replication stream: no buffer made per unit).
    func push(bytes: [UInt8], to session: ClientSession) {
        self.willQueueFrames(for: session)
        session.outbox.writeBytes(bytes)
        self.didQueueFrames()
    }

    @inline(__always)
    private func willQueueFrames(for session: ClientSession) {
        guard session.outbox.readableBytes == 0 else { return }
        // Once per event-loop iteration, after every connection's reads (Redis's beforeSleep writes):
        // 50 publishers' PUBLISHes in one iteration cost each subscriber one write, not 50.
        if self.pendingOutboxes.isEmpty { self.requestBeforeSleep() }
        self.pendingOutboxes.append(session)
    }

    @inline(__always)
    private func didQueueFrames() {
        if self.batchClock < 0 && self.host == nil { self.flushOutboxes() }
    }

    /// Whether replies wait for the end of the event-loop iteration (Redis's `beforeSleep`), as in a server; the
    /// embedded keyspace without a loop has nothing to defer to.
    public var defersReplies: Bool { self.host != nil }

    /// Keeps a client's replies until ``flushOutboxes()`` runs after the loop has handled every connection's reads
    /// (and, with appendfsync always, after the AOF write and fsync of this iteration). They join the client's
    /// outbox, after the frames already there; `reply` is left empty. When the outbox is empty the two buffers are
    /// swapped, so holding copies nothing.
    ///
    /// Why hold replies at all: as in Redis, writing every reply at the end of the iteration rather than right
    /// after each connection's batch lets a client on another core find all its replies in one wake-up, and its
    /// next requests arrive while this loop is still busy, so the next `epoll_wait` returns many connections at
    /// once. Measured at pipeline depth 16 on two cores this lowered the server's system time per request.
    public func holdReply(_ session: ClientSession, _ reply: inout ByteBuffer) {
        session.replyBufferLength = 0
        if let link = session.replica, link.attached {
            // A replica's commands (REPLCONF ACK, PING) get no replies, as in Redis; it gets the stream instead.
            reply.clear()
            return
        }
        if session.outbox.readableBytes == 0 {
            if self.pendingOutboxes.isEmpty { self.requestBeforeSleep() }
            self.pendingOutboxes.append(session)
            swap(&session.outbox, &reply)
            reply.clear()
        } else {
            session.outbox.writeBuffer(&reply)
            reply.clear()
        }
    }

    /// The once-per-iteration flush: appends the commands of the iteration to the AOF (and fsyncs them with
    /// appendfsync always), then writes every queued outbox, held replies included, to its connection.
    public func flushOutboxes() {
        self.beforeSleepScheduled = false
        // WAIT asked for ACKs in this iteration: one REPLCONF GETACK for all of them (Redis's beforeSleep).
        if self.replication.acknowledgementRequested { self.requestAcknowledgements() }
        if !self.aof.buffer.isEmpty { self.flushAppendOnlyFile() }
        // Taken out of `self` (a flush may queue more frames for the next round), and its storage given back
        // afterwards: no allocation per iteration.
        var pending: [ClientSession] = []
        swap(&pending, &self.pendingOutboxes)
        // Newest first, as Redis's clients_pending_write list: a PUBLISH's publisher hears back before its
        // subscribers get the message, and its next request then meets the server still busy writing, so the next
        // iteration reads more of them at once. In order, the publishers wait for every subscriber's write, and the
        // server goes on with smaller rounds and smaller writes (1.5 more writes per PUBLISH to 100 subscribers).
        for session in pending.reversed() { session.connection?.flushOutbox() }
        if self.pendingOutboxes.isEmpty {
            pending.removeAll(keepingCapacity: true)
            swap(&pending, &self.pendingOutboxes)
        }
    }

    /// Runs a resolved command: handler, error reply, statistics, WATCH invalidation.
    func run(_ id: Int, _ context: inout CommandContext, started: Int64? = nil) {
        self.commandDepth += 1
        defer { self.commandDepth -= 1 }
        // Inside a read batch (and so inside EXEC) the previous command's end is this one's start.
        let started = started ?? (self.batchClock >= 0 ? self.batchClock : self.monotonicMicroseconds())
        context.session.lastCommandID = id
        let dirtyBefore = self.dirty
        // A write's keys that exist before it runs, when a client watches keys or tracks them (see touchKeys).
        let written =
            self.signalsModifiedKeys && self.table.commands[id].flags.contains(.write)
            ? self.keysBeforeWrite(of: id, context) : nil
        let propagating = self.propagating
        let notifying = self.hot.keyspaceEvents.isEmpty ? nil : self.selfNotifications.enter(context)
        do {
            try self.table.commands[id].run(&context)
        } catch {
            self.table.stats[id].failedCalls += 1
            self.reply(error, &context)
        }
        if propagating {
            if (self.dirty != dirtyBefore || self.writeStream.force) && self.propagatable[id] {
                self.propagateCommand(&context)
            } else {
                self.writeStream.replacement = nil
                self.writeStream.force = false
            }
        }
        // Events of blocked clients served below reach the running client after its reply, as in Redis.
        if notifying != nil {
            self.selfNotifications.offset = context.out.buffer.writerIndex
            if let silenced = context.session.silencedPushes {
                self.selfNotifications.silencedOffset = silenced.writerIndex
            }
        }
        if let written, self.dirty != dirtyBefore {
            self.touchKeys(written, &context)
        }
        if self.table.commands[id].flags.contains(.readonly) {
            if context.session.tracking != nil && !self.scriptRunsOthersReadOnly[id] {
                self.trackingRememberKeys(id, context)
            } else if let running = self.scripting.running, running.caller.tracking != nil,
                context.session === self.scripting.session
            {
                // A script read something: its caller tracks the keys the script declared (Redis's call() with
                // script_caller); EVAL_RO and FCALL_RO themselves track nothing.
                var caller = CommandContext(session: running.caller, server: self, out: ByteBuffer())
                caller.arguments = running.callerArguments
                self.trackingRememberKeys(running.caller.lastCommandID, caller)
            }
        }
        // The command's own time, as Redis's `call()` measures it, before it serves the clients it unblocked; the
        // slow log records it here so that, as in Redis, it comes before the entries of the commands it served.
        let finished = self.monotonicMicroseconds()
        let slowerThan = self.hot.slowlogLogSlowerThan
        if slowerThan >= 0 && (finished - started >= slowerThan || self.slowlog.mayExceedMaxLength) {
            self.slowlogCommandDone(id, context, microseconds: finished - started)
        }
        if !self.blocking.isEmpty {
            // A write may have filled keys that clients wait on. Inside EXEC the keys are only signalled; they are
            // served once the outermost command is done, before this client's reply is flushed.
            self.blocking.afterCommand(self.table.commands[id], context)
            if self.commandDepth == 1 && self.blocking.hasReadyKeys { self.blocking.serveReadyKeys(self) }
        }
        // Also set by the pops of blocked clients served just above, after this command's keys were touched.
        if self.onlyModifiedKey != nil { self.onlyModifiedKey = nil }
        if propagating && self.commandDepth == 1 { self.commitWrites() }
        if self.commandDepth == 1 && self.pendingSelfInvalidations.readableBytes > 0 {
            self.flushPendingSelfInvalidations(&context)
        }
        if let notifying { self.selfNotifications.leave(&context, notifying) }
        if !self.monitors.isEmpty && self.monitored[id] { self.feedMonitors(&context) }
        self.stats.totalCommandsProcessed += 1
        self.table.stats[id].calls += 1
        self.table.stats[id].microseconds += finished - started
        if self.batchClock >= 0 { self.batchClock = finished }
    }

    /// Sends the command's MONITOR line to every monitor (the running client's own line goes after its reply).
    func feedMonitors(_ context: inout CommandContext) {
        let microseconds = self.injectedClock.map { $0() * 1000 } ?? (self.monotonicMicroseconds() + self.wallOffset)
        let line = MonitorCommands.line(context, microseconds: microseconds)
        for monitor in self.monitors { self.push(line, to: monitor, context: &context) }
    }

    func reply(_ error: RedisError, _ context: inout CommandContext) {
        self.stats.errorReplies += 1
        self.stats.errorsByCode[String(error.code), default: 0] += 1
        context.out.writeError(bytes: error.bytes)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
