package import NIOCore
import SwiftletPersistence

/// The AOF side of a server (Redis 7.0's multi-part append-only file): what propagation, the per-iteration write,
/// fsync, BGREWRITEAOF, loading and INFO persistence share. The work is in `ServerState+AOF.swift`.
///
/// It is a consumer of the engine's write stream (State/WriteStream.swift): every change arrives as the command that
/// made it, in deterministic form (relative expiry as PXAT or PEXPIREAT, SPOP as SREM...). The ops of one unit are
/// encoded straight into `buffer` and committed when the unit is done, wrapped in MULTI/EXEC when there are several,
/// as Redis 7.0's `propagatePendingCommands`. Committed commands wait in `buffer` until
/// the event loop has handled its round of reads, then one `write(2)` appends them to the incremental file
/// (Redis's `beforeSleep`); with appendfsync always the replies of that round are held until the fsync is done.
public final class AppendOnlyState {
    public enum Status: Sendable {
        case off
        case on
        /// Turned on at runtime: the first rewrite is writing the base; commands go to a temp incremental file
        /// that becomes part of the manifest when the base is done (Redis's AOF_WAIT_REWRITE).
        case waitRewrite
    }

    public enum FsyncPolicy: Sendable {
        case always
        case everysec
        case no
    }

    @exclusivity(unchecked)
    public internal(set) var status = Status.off
    @exclusivity(unchecked)
    var fsyncPolicy = FsyncPolicy.everysec
    /// The commands committed and not yet written to the file (`buffer`), the database the log's last SELECT named
    /// (`selectedDatabase`, -1: the next command writes one), and the running unit.
    @exclusivity(unchecked)
    var stream = StreamUnitEncoder()
    var buffer: [UInt8] {
        get { self.stream.bytes }
        _modify { yield &self.stream.bytes }
    }
    var selectedDatabase: Int {
        get { self.stream.selectedDatabase }
        set { self.stream.selectedDatabase = newValue }
    }
    /// The incremental file being appended to.
    var file: AOFFile?
    var manifest = AOFManifest(prefix: "appendonly.aof")
    /// Monotonic milliseconds of the last fsync started.
    var lastFsync: Int64 = 0
    /// Written bytes that no fsync has covered yet (everysec).
    var unsynced = false
    /// Unix seconds of the last `#TS:` annotation (aof-timestamp-enabled).
    var lastTimestamp: Int64 = 0

    // MARK: Ops of the running command

    /// The running command's first op went into an empty buffer: the once-per-iteration write must be scheduled.
    @exclusivity(unchecked)
    var scheduleFlush = false
    /// `aof-timestamp-enabled`.
    @exclusivity(unchecked)
    var timestamps = false

    // MARK: Rewrite

    /// What a running rewrite produces: the new base, and the incremental file opened when it began.
    final class Rewrite {
        let baseName: String
        let incrName: String
        /// The manifest as it will be once the base is done.
        var manifest: AOFManifest
        init(baseName: String, incrName: String, manifest: AOFManifest) {
            self.baseName = baseName
            self.incrName = incrName
            self.manifest = manifest
        }
    }

    /// BGREWRITEAOF while a BGSAVE runs: starts when it is done.
    public internal(set) var rewriteScheduled = false
    public internal(set) var lastRewriteSeconds: Int64 = -1
    public internal(set) var lastRewriteOK = true
    public internal(set) var rewrites = 0
    public internal(set) var consecutiveRewriteFailures = 0
    /// `aof_last_write_status` and the error text MISCONF shows while it is `err`.
    public internal(set) var lastWriteOK = true
    var lastWriteError = ""
    /// Bytes in the base and incremental files (`aof_current_size`), and that size after the last rewrite or
    /// load (`aof_base_size`, the reference of auto-aof-rewrite-percentage).
    public internal(set) var currentSize = 0
    public internal(set) var baseSize = 0
    /// Size of the files before the running incremental one (current = closed + file.size).
    var closedFilesSize = 0

    public init() {}

    var isOn: Bool { self.status != .off }

    /// `aof_pending_bio_fsync`.
    var backgroundSyncPending: Bool { self.file?.backgroundSyncPending ?? false }
}

/// The AOF as a consumer of the write stream (State/WriteStream.swift): the ops of one unit are encoded straight into
/// `buffer` by the stream's unit encoder (SELECT when the database changes, MULTI/EXEC around several ops, as Redis's
/// `propagatePendingCommands`), preceded by `#TS:` when a new second began (aof-timestamp-enabled).
extension AppendOnlyState: WriteStreamConsumer {
    package func append(_ arguments: [ByteBuffer], database: Int, unixSeconds: @autoclosure () -> Int64) {
        if !self.stream.inUnit {
            if self.stream.bytes.isEmpty { self.scheduleFlush = true }
            if self.timestamps {
                let seconds = unixSeconds()
                if seconds != self.lastTimestamp {
                    AOFCommandWriter.appendTimestamp(seconds, to: &self.stream.bytes)
                    self.lastTimestamp = seconds
                }
            }
        }
        self.stream.append(arguments, database: database)
    }

    package func commitUnit() -> Bool {
        guard self.stream.commit() else { return false }
        defer { self.scheduleFlush = false }
        return self.scheduleFlush
    }
}
