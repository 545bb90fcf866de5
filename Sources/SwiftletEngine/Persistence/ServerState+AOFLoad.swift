import NIOCore
import SwiftletConfig
import SwiftletKeyspace
import SwiftletPersistence
import SwiftletRESP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Loading the append-only file at startup (Redis's `loadAppendOnlyFiles`): the manifest's base (an RDB, or
/// commands), then each incremental file, replayed through the dispatcher by a client of its own.
extension ServerState {
    /// What happened to a file that ends inside a command.
    public struct AOFLoadSummary: Sendable {
        public var commands = 0
        public var truncatedAt: Int?
    }

    /// Loads the AOF named by the manifest in `appenddirname` (or an old single `appendfilename` in `dir`, which
    /// is moved into a new directory with a manifest, as Redis 7.0 upgrades it), then opens the incremental file to
    /// append to. With no AOF on disk the dataset starts empty, as Redis's does (the RDB is not read when
    /// appendonly is on), and a base of it is written.
    /// - Throws: a message naming the file, the offset and the problem; the server must not start.
    public func loadAppendOnlyFilesAtStartup() throws(RedisError) {
        let a = self.aof
        let prefix = self.appendFilename
        let manifestPath = self.appendOnlyPath(prefix + ".manifest")
        let started = self.monotonicMicroseconds()
        var upgradeFrom: String?
        if access(manifestPath, F_OK) == 0 {
            do {
                let text = try AOFFile.read(manifestPath)
                a.manifest = try AOFManifest.parse(String(decoding: text, as: UTF8.self), prefix: prefix)
            } catch {
                throw RedisError.loadingManifestFailed(path: manifestPath, error)
            }
        } else {
            a.manifest = AOFManifest(prefix: prefix)
            let old = AOFFile.join(self.config.dir, prefix)
            if access(old, F_OK) == 0 {
                upgradeFrom = old
                a.manifest.base = .init(name: prefix, sequence: 1, type: .base)
                a.manifest.baseSequence = 1
            }
        }
        let files = a.manifest.filesToLoad
        var total = 0
        if !files.isEmpty {
            self.keyspace.loading = true
            defer { self.keyspace.loading = false }
            let savedStats = (self.stats, self.table.stats)
            for (index, info) in files.enumerated() {
                let path = upgradeFrom ?? self.appendOnlyPath(info.name)
                total += try self.loadAppendOnlyFile(path, isBase: info.type == .base, isLast: index == files.count - 1)
            }
            (self.stats, self.table.stats) = savedStats
            self.dirty = 0
            let seconds = Double(self.monotonicMicroseconds() - started) / 1_000_000
            self.persistence.notice("DB loaded from append only file: \(Self.fixed3(seconds)) seconds")
        }
        if let upgradeFrom {
            let directory = self.appendOnlyDirectory
            if let failure = self.createAppendOnlyDirectory() { throw RedisError(failure) }
            if AOFFile.move(upgradeFrom, to: self.appendOnlyPath(prefix)) != nil {
                throw RedisError.upgradingAOFFailed(from: upgradeFrom, into: directory)
            }
            self.persistence.notice("Successfully migrated an old-style AOF into the AOF directory")
        }
        a.baseSize = total
        try self.openAppendOnlyAfterLoad()
    }

    /// DEBUG LOADAOF (debug.c): writes out and syncs what the AOF buffer holds, empties the dataset and loads it
    /// again from the manifest's files, as a restart would; nothing loaded is written to the AOF again. Redis exits
    /// when there is no AOF to load (appendonly off and no files); Swiftlet refuses with an error instead.
    func debugLoadAppendOnly() throws(RedisError) {
        guard self.aof.status == .on else { throw RedisError.loadAOFWithoutAOF }
        self.flushAppendOnlyFile()
        try? self.aof.file?.sync()
        self.keyspace.removeAll()
        let files = self.aof.manifest.filesToLoad
        let wasPropagating = self.propagating
        self.propagating = false
        self.keyspace.loading = true
        defer {
            self.keyspace.loading = false
            self.propagating = wasPropagating
        }
        let savedStats = (self.stats, self.table.stats)
        for (index, info) in files.enumerated() {
            let path = self.appendOnlyPath(info.name)
            _ = try self.loadAppendOnlyFile(path, isBase: info.type == .base, isLast: index == files.count - 1)
        }
        (self.stats, self.table.stats) = savedStats
        self.dirty = 0
        self.persistence.notice("Append Only File loaded by DEBUG LOADAOF")
    }

    /// Replays one file. - Returns: its size after loading (a torn tail may have been cut).
    private func loadAppendOnlyFile(_ path: String, isBase: Bool, isLast: Bool) throws(RedisError) -> Int {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard access(path, F_OK) == 0 else {
            throw RedisError.aofFileMissing(path: path)
        }
        let bytes: [UInt8]
        do {
            bytes = try AOFFile.read(path)
        } catch {
            throw RedisError.aofFileUnreadable(path: path, error)
        }
        if bytes.isEmpty { return 0 }
        var start = 0
        if AOFCommandReader.hasRDBPreamble(bytes) {
            self.persistence.notice("Reading RDB base file on AOF loading...")
            var reader = RDBReader(source: RDBByteSource(bytes: bytes))
            do {
                let summary = try reader.load(into: self.keyspace, now: self.clock())
                try self.loadFunctions(summary.functions)
                self.persistence.notice(
                    "Done loading RDB, keys loaded: \(summary.keysLoaded), keys expired: "
                        + "\(summary.expiredKeysSkipped)."
                )
            } catch {
                throw RedisError.aofBaseUnreadable(name: name, error)
            }
            start = reader.decoder.source.offset
            if start >= bytes.count { return bytes.count }
            self.persistence.notice("Reading the remaining AOF tail...")
        }
        let summary = try self.replay(bytes, from: start, file: name)
        guard let validLength = summary.truncatedAt else { return bytes.count }
        guard isLast else {
            throw RedisError.aofTruncatedNotLast(name: name, offset: validLength)
        }
        guard self.config.get("aof-load-truncated") != "no" else {
            throw RedisError.aofTruncated(name: name, offset: validLength)
        }
        self.persistence.warning("!!! Warning: short read while loading the AOF file \(name)!!!")
        self.persistence.warning("!!! Truncating the AOF \(name) at offset \(validLength) !!!")
        if truncate(path, off_t(validLength)) != 0 {
            throw RedisError.aofTruncateFailed(name: name, String(cString: strerror(errno)))
        }
        self.persistence.warning("AOF \(name) loaded anyway because aof-load-truncated is enabled")
        return validLength
    }

    /// Runs the commands in `bytes` from `offset` with a client of its own. A torn last command, or a MULTI whose
    /// EXEC is missing, ends the replay: `truncatedAt` says where the complete commands end.
    func replay(_ bytes: [UInt8], from offset: Int, file: String) throws(RedisError) -> AOFLoadSummary {
        var summary = AOFLoadSummary()
        let session = ClientSession(id: 0, address: "", localAddress: "", now: self.clock())
        session.authenticated = true
        var context = CommandContext(session: session, server: self, out: ByteBuffer())
        let data = ByteBuffer(bytes: bytes)
        var reader = AOFCommandReader(bytes: bytes, offset: offset)
        var multiStart: Int?
        while true {
            let item: AOFCommandReader.Item?
            do {
                item = try reader.next()
            } catch {
                if case .truncated(let valid) = error.kind {
                    summary.truncatedAt = multiStart ?? valid
                    break
                }
                throw RedisError.aofBadFormat(file: file, offset: error.position)
            }
            guard case .command(let ranges, let span)? = item else {
                if item == nil { break }
                continue
            }
            context.arguments = ranges.map { data.getSlice(at: $0.lowerBound, length: $0.count)! }
            let name = context.arguments[0]
            guard self.table.lookup(name) != nil else {
                throw RedisError.aofUnknownCommand(String(decoding: name.readableBytesView, as: UTF8.self), file: file)
            }
            if name.equalsCaseInsensitive("multi") {
                multiStart = span.lowerBound
            } else if name.equalsCaseInsensitive("exec") {
                multiStart = nil
            }
            self.execute(&context)
            context.out.buffer.clear()
            summary.commands += 1
        }
        if let start = multiStart, summary.truncatedAt == nil {
            // A transaction without its EXEC: the file was cut inside it.
            summary.truncatedAt = start
        }
        if session.transaction.active { self.endTransaction(session) }
        return summary
    }
}
