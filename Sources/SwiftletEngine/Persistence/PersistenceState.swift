import Dispatch
import SwiftletKeyspace
import SwiftletPersistence

/// The RDB side of a server: what SAVE, BGSAVE, save points, SHUTDOWN and INFO persistence share.
///
/// BGSAVE does not fork: it starts a ``KeyspaceSnapshot`` whose walk runs in slices of about a millisecond on the
/// event loop, between read batches, encoding keys into chunks that a background thread writes to
/// `temp-bgsave-<pid>.rdb` (see docs/ARCHITECTURE.md). Owned by the server's event loop.
public final class PersistenceState {
    /// `rdb_last_bgsave_status`: whether the last background save (or SAVE) succeeded.
    public internal(set) var lastBgsaveOK = true
    /// `rdb_saves`: SAVE and BGSAVE runs started.
    public internal(set) var saves = 0
    /// `rdb_last_bgsave_time_sec`.
    public internal(set) var lastBgsaveSeconds: Int64 = -1
    /// Unix seconds of the last background save attempt (save points retry a failed one after 5 s).
    public internal(set) var lastBgsaveTry: Int64 = 0
    /// BGSAVE SCHEDULE (or BGSAVE inside EXEC): start a background save at the next tick.
    public internal(set) var bgsaveScheduled = false
    /// `rdb_last_load_keys_loaded` / `rdb_last_load_keys_expired`.
    public internal(set) var loadKeysLoaded = 0
    public internal(set) var loadKeysExpired = 0
    /// `dirty` when the running background save began; subtracted when it succeeds.
    var dirtyBeforeBgsave = 0
    var nextRunID = 0

    /// A background save in progress.
    /// Where a snapshot for replicas goes (Redis's RDB_CHILD_TYPE_DISK / _SOCKET).
    enum ReplicationTarget: Sendable {
        case disk
        case sockets
    }

    final class Run {
        let id: Int
        let snapshot: KeyspaceSnapshot
        let encoder: any SnapshotFileEncoder
        let file: any RDBChunkWriter
        /// Unix seconds at the start.
        let startedAt: Int64
        let startedMicros: Int64
        /// The walk is done and the writer is completing the file.
        var finishing = false
        /// Set when the snapshot is an AOF rewrite's new base rather than a BGSAVE.
        let rewrite: AppendOnlyState.Rewrite?
        /// Set when the snapshot is made for replicas: a BGSAVE whose file is then sent, or an RDB written straight
        /// to their connections.
        let replication: ReplicationTarget?

        init(
            id: Int,
            snapshot: KeyspaceSnapshot,
            encoder: any SnapshotFileEncoder,
            file: any RDBChunkWriter,
            startedAt: Int64,
            startedMicros: Int64,
            rewrite: AppendOnlyState.Rewrite? = nil,
            replication: ReplicationTarget? = nil
        ) {
            self.rewrite = rewrite
            self.replication = replication
            self.id = id
            self.snapshot = snapshot
            self.encoder = encoder
            self.file = file
            self.startedAt = startedAt
            self.startedMicros = startedMicros
        }
    }

    var running: Run?

    /// Whether the server saves by itself: save points, the save of FLUSHALL and SHUTDOWN's default save. On for a
    /// standalone ``ServerState`` (Redis's behaviour); an embedded `Server` turns it on only when it loads its dump
    /// at startup (`Server.loadDataFromDisk()`, as swiftlet-server does), so that a library user or a test never
    /// finds a `dump.rdb` written into its current directory.
    public var automaticSaves = true
    /// The host's log (``ServerState/host`` sets it): the save's notices and warnings, as Redis logs them.
    @exclusivity(unchecked)
    var host: (any EngineHost)?

    public init() {}

    /// `rdb_bgsave_in_progress`.
    public var bgsaveInProgress: Bool { self.running != nil && self.running!.rewrite == nil }

    /// `aof_rewrite_in_progress`.
    public var rewriteInProgress: Bool { self.running?.rewrite != nil }

    /// Keys saved so far and keys at the start of the running background save (INFO persistence).
    public var currentSaveKeys: (processed: Int, total: Int) {
        guard let run = self.running, run.rewrite == nil else { return (0, 0) }
        return (run.snapshot.keysSaved, run.snapshot.keysTotal)
    }

    /// Unix seconds when the running background save began.
    public var currentStart: Int64? { self.running?.rewrite == nil ? self.running?.startedAt : nil }

    func notice(_ message: String) { self.host?.log(warning: false, message) }
    func warning(_ message: String) { self.host?.log(warning: true, message) }

    /// Longest a walk slice may run, and the pause between slices that lets the loop serve clients.
    static let sliceMicroseconds: Int64 = 500
    static let sliceGapMicroseconds: Int64 = 20
    /// The walk waits while the writer thread is this far behind.
    static let maxPendingBytes = 64 << 20
}

/// A value handed to another thread that is only used again on its owner's thread (the event loop).
struct LoopOwned<T>: @unchecked Sendable {
    let value: T
}

/// The result of a background write, filled on the writer thread and read after a semaphore wait.
final class WriteResult: @unchecked Sendable {
    var result: Result<Int, RDBError> = .success(0)
}
