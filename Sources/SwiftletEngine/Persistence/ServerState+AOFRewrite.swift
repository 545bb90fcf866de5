import SwiftletConfig
import SwiftletKeyspace
import SwiftletPersistence

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// BGREWRITEAOF without fork (Redis 7.0's multi-part rewrite): when the rewrite starts, a new incremental file
/// takes the changes from then on, and a copy-on-write ``KeyspaceSnapshot`` of that moment is written as the new
/// base, in slices on the event loop exactly as BGSAVE does. When the base is on disk the manifest names it and
/// the new incremental file, and the files they replace are deleted. At every moment the manifest on disk names a
/// complete set of files: a crash in the middle loads the old base and every incremental file.
extension ServerState {
    /// Starts a rewrite (Redis's `rewriteAppendOnlyFileBackground`). The caller checked that no snapshot runs.
    /// - Returns: whether it started.
    @discardableResult
    func startAppendOnlyRewrite() -> Bool {
        let a = self.aof
        let p = self.persistence
        precondition(p.running == nil, "a snapshot is already running")
        a.rewriteScheduled = false
        a.rewrites += 1
        if let failure = self.createAppendOnlyDirectory() {
            p.warning(failure)
            self.appendOnlyRewriteFailed()
            return false
        }
        if a.manifest.prefix != self.appendFilename { a.manifest = AOFManifest(prefix: self.appendFilename) }
        var next = a.manifest
        // The changes from now on go to a new incremental file (a temp one until the first base exists).
        var incrName: String?
        if a.status != .off {
            if a.status == .on {
                self.flushAppendOnlyFile()
                try? a.file?.sync()
            }
            let name = next.newIncr()
            let path = a.status == .on ? self.appendOnlyPath(name) : self.appendOnlyPath(Self.tempIncrName(next))
            do {
                if a.status == .on { try self.persistManifest(next) }
                let file = try AOFFile(path: path)
                a.file?.close()
                a.file = file
                if a.status == .on {
                    a.manifest = next
                    a.closedFilesSize = self.sizeOfFiles(next.filesToLoad.dropLast().map(\.name))
                }
            } catch {
                p.warning("Can't open new incr AOF file: \(error)")
                self.appendOnlyRewriteFailed()
                return false
            }
            a.selectedDatabase = -1
            incrName = name
        }
        let preamble = self.config.get("aof-use-rdb-preamble") != "no"
        let baseName = next.newBase(rdbPreamble: preamble)
        if let incrName {
            next.retireIncrs(before: incrName)
        } else {
            // AOF off: the rewrite leaves a base alone, every incremental file it covers becomes history.
            for info in next.incrs {
                next.history.append(.init(name: info.name, sequence: info.sequence, type: .history))
            }
            next.incrs.removeAll()
        }
        let file: RDBBackgroundFile
        do {
            file = try RDBBackgroundFile(
                path: self.appendOnlyPath(baseName),
                tempName: "temp-rewriteaof-bg-\(getpid()).aof"
            )
        } catch {
            p.warning("Can't open the temp AOF rewrite file: \(error)")
            self.appendOnlyRewriteFailed()
            return false
        }
        let rewrite = AppendOnlyState.Rewrite(baseName: baseName, incrName: incrName ?? "", manifest: next)
        let encoder: any SnapshotFileEncoder
        let snapshot: KeyspaceSnapshot
        if preamble {
            let rdb = RDBSnapshotEncoder(writer: file, options: self.aofBaseOptions())
            snapshot = KeyspaceSnapshot(of: self.keyspace, consumer: rdb)
            rdb.databaseSizes = zip(snapshot.keysAtStart, snapshot.expiresAtStart).map { ($0, $1) }
            encoder = rdb
        } else {
            // aof-use-rdb-preamble no: the base is commands (SET, RPUSH, SADD, ZADD, HMSET, PEXPIREAT).
            file.writesRDBTrailer = false
            let commands = AOFSnapshotEncoder(writer: file, timestamp: a.timestamps ? self.clock() / 1000 : nil)
            snapshot = KeyspaceSnapshot(of: self.keyspace, consumer: commands)
            encoder = commands
        }
        p.notice("Background append only file rewriting started")
        self.startSnapshotRun(snapshot, encoder: encoder, file: file, startedAt: self.clock() / 1000, rewrite: rewrite)
        return true
    }

    /// An RDB written as an AOF base carries `aof-base:1`, as Redis's.
    func aofBaseOptions() -> RDBWriter.Options {
        var options = self.rdbOptions()
        options.aofBase = true
        // As Redis: an AOF base carries no replication history.
        options.replication = nil
        return options
    }

    static func tempIncrName(_ manifest: AOFManifest) -> String { "temp-\(manifest.prefix).incr" }

    /// The base is on disk (Redis's `backgroundRewriteDoneHandler`).
    func appendOnlyRewriteDone(
        _ run: PersistenceState.Run,
        _ rewrite: AppendOnlyState.Rewrite,
        _ result: Result<Int, RDBError>
    ) {
        let a = self.aof
        let p = self.persistence
        a.lastRewriteSeconds = self.clock() / 1000 - run.startedAt
        guard case .success(let baseSize) = result else {
            if case .failure(let error) = result { p.warning("Background AOF rewrite terminated with error: \(error)") }
            self.appendOnlyRewriteFailed()
            return
        }
        do {
            if a.status == .waitRewrite {
                // The temp incremental file becomes part of the log under its final name.
                let temp = self.appendOnlyPath(Self.tempIncrName(rewrite.manifest))
                if let reason = AOFFile.move(temp, to: self.appendOnlyPath(rewrite.incrName)) {
                    throw AOFError(.io("rename \(temp): \(reason)"), offset: 0)
                }
            }
            try self.persistManifest(rewrite.manifest)
        } catch {
            p.warning("Error trying to persist the AOF manifest after the rewrite: \(error)")
            AOFFile.delete(self.appendOnlyPath(rewrite.baseName))
            self.appendOnlyRewriteFailed()
            return
        }
        a.manifest = rewrite.manifest
        if a.status == .waitRewrite {
            a.status = .on
            p.notice("Background AOF rewrite finished successfully")
        }
        a.closedFilesSize = baseSize
        a.currentSize = baseSize + (a.file?.size ?? 0)
        a.baseSize = a.currentSize
        a.lastRewriteOK = true
        a.consecutiveRewriteFailures = 0
        self.deleteHistoryFiles()
        p.notice("Background AOF rewrite terminated with success")
        p.notice("Background AOF rewrite finished successfully")
    }

    private func appendOnlyRewriteFailed() {
        let a = self.aof
        a.lastRewriteOK = false
        a.consecutiveRewriteFailures += 1
        // Turned on at runtime and still without a base: try again from the tick, as Redis does.
        if a.status == .waitRewrite { a.rewriteScheduled = true }
    }

    /// Stops a running rewrite and drops its temp base (CONFIG SET appendonly no, SHUTDOWN). The incremental file it
    /// opened stays in the manifest, which still names the old base: nothing is lost.
    func cancelAppendOnlyRewrite() {
        let p = self.persistence
        guard let run = p.running, run.rewrite != nil else { return }
        p.running = nil
        run.snapshot.cancel()
        run.file.abort()
        p.notice("Killing running AOF rewrite child")
    }

    /// BGREWRITEAOF.
    enum RewriteRequest {
        case started
        case scheduled
        case alreadyRunning
        case failed
    }

    func requestAppendOnlyRewrite() -> RewriteRequest {
        let p = self.persistence
        if p.rewriteInProgress { return .alreadyRunning }
        if p.running != nil || self.commandDepth > 1 {
            self.aof.rewriteScheduled = true
            return .scheduled
        }
        return self.startAppendOnlyRewrite() ? .started : .failed
    }
}
