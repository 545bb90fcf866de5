package import NIOCore

/// A replica as the master sees it: the client that sent REPLCONF/SYNC/PSYNC, and where its synchronisation
/// stands (Redis's `client->replstate` and the `slave_*` fields of its client).
public final class ReplicaLink {
    /// Where the replica's synchronisation stands (Redis's SLAVE_STATE_*).
    public enum State: Sendable {
        /// Waits for an RDB to be started for it (a diskless sync waiting `repl-diskless-sync-delay`, or another
        /// snapshot running).
        case waitBgsaveStart
        /// Its RDB is being produced and sent; the stream after its offset is held meanwhile.
        case waitBgsaveEnd
        /// A BGSAVE made its RDB: the file is being sent in chunks (outside the output-buffer limit, as Redis's
        /// sendBulkToSlave); the stream is still held.
        case sendBulk
        /// It has its RDB and gets the stream.
        case online
    }

    var state = State.waitBgsaveStart
    /// Whether the client issued SYNC or PSYNC and is now a replica (its replies are dropped, it gets the stream).
    public internal(set) var attached = false
    /// REPLCONF listening-port / ip-address: where the replica says it listens (INFO's `slaveN:ip=,port=`).
    var listeningPort = 0
    var announcedAddress: String?
    /// REPLCONF capa eof (takes an RDB of unknown length, `$EOF:<mark>`), capa psync2 (`+CONTINUE <replid>`).
    var acceptsEOFMarkedRDB = false
    var acceptsPSync2 = false
    /// SYNC rather than PSYNC: no `+FULLRESYNC` line, no REPLCONF ACKs expected.
    var prePSync = false
    /// REPLCONF rdb-only 1: the RDB only, then the connection closes (redis-cli --rdb).
    var rdbOnly = false
    /// REPLCONF rdb-filter-only: "functions" leaves the keys out of the RDB, "" leaves the functions out too.
    var excludesData = false
    var excludesFunctions = false
    /// The offset the replica's RDB stands at (its `+FULLRESYNC` offset).
    var initialOffset: Int64 = 0
    /// The offset of the last REPLCONF ACK and when it came (unix seconds): INFO's `offset=` and `lag=`, WAIT.
    var ackOffset: Int64 = 0
    var ackTime: Int64 = 0
    /// The stream held while the replica cannot take it yet (its RDB is on its way, or an EOF-marked RDB was sent
    /// and the replica has not acknowledged loading it).
    var held: [UInt8] = []
    /// After an EOF-marked RDB the stream starts with the replica's first ACK (Redis's repl_start_cmd_stream_on_ack):
    /// the replica finds the end mark only at the end of what it reads, so nothing may follow it before it asks.
    var streamStartsOnAck = false
    /// An ACK came before the snapshot's end was handled (the replica read the whole EOF-marked RDB and loaded it in
    /// the same loop turn): the stream starts as soon as the replica is online, not at the next ACK a second later.
    var ackedBeforeOnline = false
    /// While its RDB is on its way: the unsent bytes last seen by the cron, and since when (unix seconds) they have
    /// not gone down. A replica that stops reading its RDB is dropped after `repl-timeout` (Redis's "timedout
    /// replica (full sync)"), so that it cannot hold the one snapshot slot forever.
    var lastUnsent = 0
    var progressSince: Int64 = 0
    /// The disk-made RDB being sent (`sendBulk`): the file and where the next chunk starts.
    var bulkFile: Int32 = -1
    var bulkOffset = 0
    var bulkSize = 0

    init() {}

    /// `state=` in INFO replication.
    var stateName: String {
        switch self.state {
        // Redis 7.0 says wait_bgsave until the RDB is sent (a diskless one is streamed while it is made), and
        // send_bulk only while a disk-made file is read out; here the file is handed over at once.
        case .waitBgsaveStart, .waitBgsaveEnd: "wait_bgsave"
        case .sendBulk: "send_bulk"
        case .online: "online"
        }
    }
}

/// The master side of replication (Redis's replication.c, master half): the replication ids and offset, the backlog,
/// the replicas, and the replication stream they are fed.
///
/// It is a consumer of the engine's write stream (State/WriteStream.swift), attached from the first replica on (as
/// Redis creates its backlog then): each unit is encoded as RESP commands, with SELECT when the database changes and
/// MULTI/EXEC around a unit of several ops, exactly as the AOF encodes it; the committed unit joins the backlog, and
/// each replica gets it at once (online) or later (held during its sync).
public final class ReplicationState {
    /// The current replication id (40 hex characters) and the previous one, valid up to `secondOffset` (after a
    /// replica is promoted, its old master's replicas can continue from it).
    public internal(set) var id: String
    public internal(set) var secondID = String(repeating: "0", count: 40)
    public internal(set) var secondOffset: Int64 = -1
    /// `master_repl_offset`: bytes of stream produced so far.
    public internal(set) var offset: Int64 = 0
    var backlog: ReplicationBacklog?
    /// The clients that issued SYNC/PSYNC, in the order they did.
    public internal(set) var replicas: [ClientSession] = []
    /// The running unit, encoded as the AOF encodes it; its `selectedDatabase` is the stream's (-1: the next op writes
    /// SELECT, as after a full sync starts).
    var encoder = StreamUnitEncoder()
    var selectedDatabase: Int {
        get { self.encoder.selectedDatabase }
        set { self.encoder.selectedDatabase = newValue }
    }
    /// Unix seconds since when no replica has been connected (the backlog goes after repl-backlog-ttl).
    var noReplicasSince: Int64 = 0
    /// INFO stats: `sync_full`, `sync_partial_ok`, `sync_partial_err`.
    public internal(set) var fullSyncs = 0
    public internal(set) var partialSyncsAccepted = 0
    public internal(set) var partialSyncsRefused = 0
    /// Online replicas whose last ACK is recent enough for `min-replicas-max-lag` (Redis's repl_good_slaves_count).
    public internal(set) var goodReplicas = 0
    /// Clients blocked in WAIT: the offset each waits for and how many replicas it wants.
    var waiting: [(session: ClientSession, offset: Int64, replicas: Int64)] = []
    /// A WAIT blocked in this loop iteration: the replicas are asked for an ACK before the loop sleeps.
    var acknowledgementRequested = false
    /// Monotonic milliseconds of the last replication cron.
    var lastCron: Int64 = 0
    /// Ticks of the replication cron (Redis's replication_cron_loops): the PING period counts them.
    var cronTicks = 0
    /// When the first replica started waiting for a diskless sync (monotonic milliseconds), 0 when none waits.
    var disklessWaitSince: Int64 = 0
    /// A replica restarted from an RDB with replication fields: the stream's database, for the link made from the
    /// `replicaof` directive (its history continues).
    var restoredStreamDatabase: Int?
    /// A SHUTDOWN waiting for the replicas to catch up (ServerState+ShutdownWait.swift).
    var pendingShutdown: PendingShutdown?
    /// A FAILOVER in progress (ServerState+Failover.swift).
    var failover: Failover?

    /// The stream feeds the backlog and the replicas through this (set by the server state).
    var deliver: ((ClientSession, [UInt8]) -> Void)?
    /// Called when the stream held for a syncing replica grew: it counts against `client-output-buffer-limit
    /// replica`, as Redis counts what piles up during a sync.
    var heldGrew: ((ClientSession, ReplicaLink) -> Void)?

    init(id: String) {
        self.id = id
    }

    /// A new replication id (the history starts anew: a new backlog, or a promotion).
    static func randomID() -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<40).map { _ in "0123456789abcdef".randomElement(using: &generator)! })
    }

    /// Feeds bytes of stream: they join the backlog and move the offset, and each replica gets them now or holds
    /// them.
    func feed(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        bytes.withUnsafeBytes { self.backlog?.append($0) }
        self.offset += Int64(bytes.count)
        for session in self.replicas {
            guard let link = session.replica, !link.rdbOnly else { continue }
            if link.state == .online && !link.streamStartsOnAck {
                self.deliver?(session, bytes)
            } else if link.state != .waitBgsaveStart {
                link.held += bytes
                self.heldGrew?(session, link)
            }
        }
    }
}

extension ReplicationState: WriteStreamConsumer {
    package var takesReplicationOnlyOps: Bool { true }

    package func append(_ arguments: [ByteBuffer], database: Int, unixSeconds: @autoclosure () -> Int64) {
        self.encoder.append(arguments, database: database)
    }

    package func commitUnit() -> Bool {
        guard self.encoder.commit() else { return false }
        self.feed(self.encoder.bytes)
        self.encoder.bytes.removeAll(keepingCapacity: self.encoder.bytes.capacity <= 64 * 1024)
        // The replicas' outboxes schedule their own writes.
        return false
    }
}
