public import NIOCore
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
