import NIOCore
import SwiftletConfig
import SwiftletKeyspace
import SwiftletPersistence

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The append-only file: the per-iteration write and fsync, and turning it on and off (it receives changes as a
/// consumer of the write stream, State/WriteStream.swift).
/// Rewrites are in `ServerState+AOFRewrite.swift`, loading in `ServerState+AOFLoad.swift`.
extension ServerState {
    /// `dir`/`appenddirname`.
    public var appendOnlyDirectory: String {
        AOFFile.join(self.config.dir, self.config.string("appenddirname"))
    }

    var appendFilename: String { self.config.string("appendfilename") }

    func appendOnlyPath(_ name: String) -> String { AOFFile.join(self.appendOnlyDirectory, name) }

    /// Creates `appenddirname` if it is missing. - Returns: the error text (Redis's wording), nil on success.
    func createAppendOnlyDirectory() -> String? {
        let directory = self.appendOnlyDirectory
        guard let reason = AOFFile.createDirectory(directory) else { return nil }
        return "Can't open or create append-only dir \(directory): \(reason)"
    }

    /// Reads `appendfsync` and `aof-timestamp-enabled` (config observers call it again on CONFIG SET).
    func readFsyncPolicy() {
        self.aof.timestamps = self.config.get("aof-timestamp-enabled") == "yes"
        switch self.config.get("appendfsync") {
        case "always": self.aof.fsyncPolicy = .always
        case "no": self.aof.fsyncPolicy = .no
        default: self.aof.fsyncPolicy = .everysec
        }
    }

    // MARK: - Writing

    /// Whether replies must wait for an fsync: appendfsync always, and commands of this iteration are not on disk
    /// yet. The server layer then hands the replies to ``holdReply(_:_:)`` even when it is not deferring them anyway.
    public var repliesWaitForFsync: Bool {
        self.propagating && self.aof.fsyncPolicy == .always && !self.aof.buffer.isEmpty
    }

    /// Appends the buffered commands to the incremental file and, as `appendfsync` says, fsyncs it (always), has
    /// it fsynced in the background at most once a second (everysec), or leaves that to the kernel (no). A failed
    /// write keeps the commands buffered for a retry and refuses writes with MISCONF meanwhile; with appendfsync
    /// always it stops the server, as Redis does, since replies were promised only after the fsync.
    public func flushAppendOnlyFile() {
        let a = self.aof
        // Never in the middle of a client command: its ops may still become a MULTI/EXEC block.
        guard !a.buffer.isEmpty, !a.stream.inUnit, let file = a.file else { return }
        let failure = a.buffer.withUnsafeBytes { raw -> AOFError? in
            do {
                try file.write(raw)
                return nil
            } catch {
                return error as? AOFError ?? AOFError(.io("\(error)"), offset: 0)
            }
        }
        if let failure {
            self.appendOnlyWriteFailed("\(failure)")
            return
        }
        if !a.lastWriteOK {
            self.persistence.notice("AOF write error looks solved, Redis can write again.")
            a.lastWriteOK = true
        }
        a.currentSize = a.closedFilesSize + file.size
        if a.buffer.capacity > 4 << 20 {
            a.buffer = []
        } else {
            a.buffer.removeAll(keepingCapacity: true)
        }
        switch a.fsyncPolicy {
        case .always:
            do {
                try file.sync()
            } catch {
                self.persistence.warning(
                    "Can't persist AOF for fsync error when the AOF fsync policy is 'always': \(error). Exiting..."
                )
                exit(1)
            }
            a.lastFsync = self.monotonicMicroseconds() / 1000
        case .everysec:
            a.unsynced = true
            self.fsyncIfDue()
        case .no:
            break
        }
    }

    private func appendOnlyWriteFailed(_ message: String) {
        let a = self.aof
        if a.fsyncPolicy == .always {
            self.persistence.warning(
                "Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting..."
            )
            exit(1)
        }
        if a.lastWriteOK { self.persistence.warning("Error writing to the AOF file: \(message)") }
        a.lastWriteOK = false
        a.lastWriteError = message
    }

    /// everysec: starts a background fsync when the last one began a second ago or more.
    func fsyncIfDue() {
        let a = self.aof
        guard a.unsynced, let file = a.file else { return }
        let now = self.monotonicMicroseconds() / 1000
        guard now - a.lastFsync >= 1000 else { return }
        if file.syncInBackground() {
            a.lastFsync = now
            a.unsynced = false
        }
    }

    // MARK: - Tick

    /// From the server tick (Redis's `serverCron` part for the AOF): retries a failed write, fsyncs every
    /// second, starts a scheduled or automatic rewrite.
    public func appendOnlyCron() {
        let a = self.aof
        if a.isOn {
            if !a.buffer.isEmpty && (!a.lastWriteOK || self.host == nil) { self.flushAppendOnlyFile() }
            if a.fsyncPolicy == .everysec { self.fsyncIfDue() }
        }
        guard self.persistence.running == nil else { return }
        if a.rewriteScheduled {
            self.startAppendOnlyRewrite()
            return
        }
        let percentage = self.config.number("auto-aof-rewrite-percentage")
        let minimum = self.config.number("auto-aof-rewrite-min-size")
        if a.status == .on && percentage > 0 && Int64(a.currentSize) > minimum {
            let base = max(1, a.baseSize)
            let growth = (a.currentSize * 100 / base) - 100
            if growth >= percentage {
                self.persistence.notice("Starting automatic rewriting of AOF on \(growth)% growth")
                self.startAppendOnlyRewrite()
            }
        }
    }

    // MARK: - On and off

    /// Opens the incremental file to append to after loading at startup (Redis's `aofOpenIfNeededOnServerStart`):
    /// with no AOF on disk yet, first writes a base holding the dataset just loaded, so that the manifest always
    /// names a base.
    func openAppendOnlyAfterLoad() throws(RedisError) {
        let a = self.aof
        self.readFsyncPolicy()
        if let failure = self.createAppendOnlyDirectory() { throw RedisError(failure) }
        do {
            if a.manifest.base == nil && a.manifest.incrs.isEmpty {
                let preamble = self.config.get("aof-use-rdb-preamble") != "no"
                let name = a.manifest.newBase(rdbPreamble: preamble)
                let path = self.appendOnlyPath(name)
                if preamble {
                    try RDBWriter.write(keyspace: self.keyspace, to: path, options: self.aofBaseOptions())
                } else {
                    let memory = RDBMemoryFile()
                    memory.writesRDBTrailer = false
                    let encoder = AOFSnapshotEncoder(
                        writer: memory,
                        timestamp: a.timestamps ? self.clock() / 1000 : nil
                    )
                    KeyspaceSnapshot(of: self.keyspace, consumer: encoder).run()
                    encoder.finish { _ in }
                    try AOFFile.writeAtomically(memory.bytes, to: path, tempPath: path + ".tmp")
                }
                self.persistence.notice("Creating AOF base file \(name) on server start")
            }
            if a.manifest.incrs.isEmpty {
                let name = a.manifest.newIncr()
                self.persistence.notice("Creating AOF incr file \(name) on server start")
            }
            try self.persistManifest(a.manifest)
            let file = try AOFFile(path: self.appendOnlyPath(a.manifest.incrs.last!.name))
            a.file = file
            a.closedFilesSize = self.sizeOfFiles(a.manifest.filesToLoad.dropLast().map(\.name))
            a.currentSize = a.closedFilesSize + file.size
            if a.baseSize == 0 { a.baseSize = a.currentSize }
        } catch {
            throw RedisError.aofOpenFailed(error)
        }
        self.deleteHistoryFiles()
        a.status = .on
        a.selectedDatabase = -1
        self.setWriteStreamConsumer(a, attached: true)
    }

    /// CONFIG SET appendonly yes (Redis's `startAppendOnly`): the first rewrite writes a base of the current
    /// dataset while changes go to a new incremental file; the manifest names them once the base is done.
    /// - Returns: an error text when the rewrite could not start.
    func startAppendOnly() -> String? {
        let a = self.aof
        guard a.status == .off else { return nil }
        self.readFsyncPolicy()
        if let failure = self.createAppendOnlyDirectory() {
            self.persistence.warning(failure)
            return "Can't open or create append-only dir"
        }
        // Files of an earlier run that are not in use are replaced: start from the manifest on disk, if any.
        if let text = try? AOFFile.read(self.appendOnlyPath(a.manifest.fileName)),
            let manifest = try? AOFManifest.parse(String(decoding: text, as: UTF8.self), prefix: self.appendFilename)
        {
            a.manifest = manifest
        } else {
            a.manifest = AOFManifest(prefix: self.appendFilename)
        }
        a.status = .waitRewrite
        a.selectedDatabase = -1
        a.buffer.removeAll()
        self.setWriteStreamConsumer(a, attached: true)
        if self.persistence.running != nil {
            a.rewriteScheduled = true
            return nil
        }
        guard self.startAppendOnlyRewrite() else {
            self.stopAppendOnly()
            return "Could not start AOF"
        }
        return nil
    }

    /// CONFIG SET appendonly no (Redis's `stopAppendOnly`): the buffered commands are written and fsynced, the file
    /// closed, a running rewrite stopped.
    func stopAppendOnly() {
        let a = self.aof
        guard a.status != .off else { return }
        if a.status == .on {
            self.flushAppendOnlyFile()
            try? a.file?.sync()
        }
        a.file?.close()
        a.file = nil
        self.cancelAppendOnlyRewrite()
        a.status = .off
        a.rewriteScheduled = false
        a.buffer.removeAll()
        a.stream.dropPendingUnit()
        self.setWriteStreamConsumer(a, attached: false)
    }

    /// SHUTDOWN: the last commands reach the disk before the process ends.
    public func flushAppendOnlyForShutdown() {
        guard self.aof.status == .on else { return }
        self.cancelAppendOnlyRewrite()
        self.flushAppendOnlyFile()
        try? self.aof.file?.sync()
    }

    // MARK: - Manifest and files

    /// Writes the manifest through a temp file and a rename.
    func persistManifest(_ manifest: AOFManifest) throws(AOFError) {
        try AOFFile.writeAtomically(
            Array(manifest.render().utf8),
            to: self.appendOnlyPath(manifest.fileName),
            tempPath: self.appendOnlyPath(AOFManifest.tempName(of: manifest.fileName))
        )
    }

    /// Deletes the files a rewrite replaced and drops them from the manifest.
    func deleteHistoryFiles() {
        let a = self.aof
        guard !a.manifest.history.isEmpty else { return }
        for info in a.manifest.history {
            if AOFFile.delete(self.appendOnlyPath(info.name)) {
                self.persistence.notice("Removing the history file \(info.name) in the background")
            }
        }
        a.manifest.history.removeAll()
        try? self.persistManifest(a.manifest)
    }

    func sizeOfFiles(_ names: [String]) -> Int {
        var total = 0
        for name in names {
            var info = stat()
            if stat(self.appendOnlyPath(name), &info) == 0 { total += Int(info.st_size) }
        }
        return total
    }
}
