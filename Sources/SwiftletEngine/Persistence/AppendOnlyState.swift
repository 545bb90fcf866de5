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
    /// Commands committed and not yet written to the file.
    @exclusivity(unchecked)
    var buffer: [UInt8] = []
    /// The database the log's last SELECT named (-1: the next command writes one).
    @exclusivity(unchecked)
    var selectedDatabase = -1
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

    /// Ops of the running client command already in `buffer`, and where the first one starts (after its SELECT).
    @exclusivity(unchecked)
    var pendingOpCount = 0
    @exclusivity(unchecked)
    var commandStart = 0
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
/// `buffer`, preceded by `#TS:` when a new second began (aof-timestamp-enabled) and by SELECT when the database is
/// not the one the log last selected; a unit of several ops is wrapped in MULTI/EXEC (a transaction with one write is
/// written bare, as Redis's `propagatePendingCommands`).
extension AppendOnlyState: WriteStreamConsumer {
    package func append(_ arguments: [ByteBuffer], database: Int, unixSeconds: @autoclosure () -> Int64) {
        if self.pendingOpCount == 0 {
            if self.buffer.isEmpty { self.scheduleFlush = true }
            if self.timestamps {
                let seconds = unixSeconds()
                if seconds != self.lastTimestamp {
                    AOFCommandWriter.appendTimestamp(seconds, to: &self.buffer)
                    self.lastTimestamp = seconds
                }
            }
            self.select(database)
            self.commandStart = self.buffer.count
        } else {
            self.select(database)
        }
        self.pendingOpCount += 1
        AOFCommandWriter.appendHeader(arguments.count, to: &self.buffer)
        for argument in arguments {
            argument.withUnsafeReadableBytes { AOFCommandWriter.appendArgument($0, to: &self.buffer) }
        }
    }

    package func commitUnit() -> Bool {
        guard self.pendingOpCount > 0 else { return false }
        if self.pendingOpCount > 1 {
            self.buffer.insert(contentsOf: AOFCommandWriter.multi, at: self.commandStart)
            self.buffer.append(contentsOf: AOFCommandWriter.exec)
        }
        self.pendingOpCount = 0
        defer { self.scheduleFlush = false }
        return self.scheduleFlush
    }

    private func select(_ database: Int) {
        guard database != self.selectedDatabase else { return }
        AOFCommandWriter.append([Array("SELECT".utf8), Array(String(database).utf8)], to: &self.buffer)
        self.selectedDatabase = database
    }
}
