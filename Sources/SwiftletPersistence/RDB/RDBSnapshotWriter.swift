import Dispatch
public import SwiftletKeyspace
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a background snapshot's bytes go, chunk by chunk, in order (Redis's child process writing `temp-N.rdb`).
public protocol RDBChunkWriter: AnyObject {
    /// Appends a chunk of the file (the writer computes the CRC-64 over everything it is given).
    func write(_ chunk: [UInt8])
    /// Bytes handed over and not yet written: the snapshot slows down while this is high.
    var pendingBytes: Int { get }
    /// Appends the EOF opcode and the checksum (0 without `rdbchecksum`), makes the file durable and calls
    /// `completion` (on any thread) with the file size or the error.
    func finish(checksum: Bool, completion: @escaping @Sendable (Result<Int, RDBError>) -> Void)
    /// Drops what was written (a cancelled BGSAVE).
    func abort()
}

/// What a background snapshot encodes into: an RDB (``RDBSnapshotEncoder``) or commands for an AOF base
/// (``AOFSnapshotEncoder``).
public protocol SnapshotFileEncoder: SnapshotConsumer {
    /// Hands over what is buffered and completes the file.
    func finish(completion: @escaping @Sendable (Result<Int, RDBError>) -> Void)
}

/// A growable byte buffer that the encoder writes into and the snapshot empties chunk by chunk.
struct ChunkSink: ByteSink {
    var bytes: [UInt8] = []
    var checksum: UInt64 { 0 }
    var offset: Int { self.bytes.count }

    mutating func write(_ raw: UnsafeRawBufferPointer) throws {
        self.bytes.append(contentsOf: raw)
    }
}

/// Encodes the keys of a ``KeyspaceSnapshot`` as an RDB file: magic and aux fields first, then each key as the
/// snapshot hands it over, preceded by SELECTDB whenever the database changes (keys saved before a write may
/// belong to any database, and Redis's loader accepts any number of SELECTDB opcodes) and, the first time a
/// database appears, RESIZEDB with its size at the start.
public final class RDBSnapshotEncoder: SnapshotFileEncoder {
    private var encoder: RDBEncoder<ChunkSink>
    private let writer: any RDBChunkWriter
    private let options: RDBWriter.Options
    private var currentDB = -1
    private var resized: [Bool] = []
    /// Keys and expires per database at the start, for RESIZEDB; set once the snapshot exists.
    public var databaseSizes: [(keys: Int, expires: Int)] = []
    /// Chunks of about this size are handed to the writer.
    public var chunkSize = 1 << 20
    public private(set) var failure: (any Error)?

    public init(writer: any RDBChunkWriter, options: RDBWriter.Options) {
        self.writer = writer
        self.options = options
        self.encoder = RDBEncoder(sink: ChunkSink(), compression: options.compression, access: options.access)
        self.encoder.sink.bytes.reserveCapacity(self.chunkSize + 4096)
        self.encode {
            try $0.sink.write(RDBFormat.magic)
            for (key, value) in RDBWriter.auxFields(options) {
                try RDBWriter.write(.aux(key: key, value: value), to: &$0)
            }
            for code in options.functions { try RDBWriter.write(.function(code), to: &$0) }
        }
    }

    private func encode(_ body: (inout RDBEncoder<ChunkSink>) throws -> Void) {
        do {
            try body(&self.encoder)
        } catch {
            // The sink is memory and cannot fail; an encoding error is kept and fails the save.
            if self.failure == nil { self.failure = error }
        }
    }

    public func save(_ entry: Entry, database: Int, expireAt: Int64?) {
        self.encode { encoder in
            if database != self.currentDB {
                self.currentDB = database
                try RDBWriter.write(.selectDB(database), to: &encoder)
                if self.resized.count <= database { self.resized += repeatElement(false, count: database + 1) }
                if !self.resized[database], database < self.databaseSizes.count {
                    self.resized[database] = true
                    let size = self.databaseSizes[database]
                    try RDBWriter.write(.resizeDB(keys: size.keys, expires: size.expires), to: &encoder)
                }
            }
            try RDBWriter.write(.entry(entry, expireAt: expireAt), to: &encoder)
        }
        if self.encoder.sink.bytes.count >= self.chunkSize { self.flush() }
    }

    /// Hands the buffered bytes to the writer.
    public func flush() {
        guard !self.encoder.sink.bytes.isEmpty else { return }
        var chunk: [UInt8] = []
        chunk.reserveCapacity(self.chunkSize + 4096)
        swap(&chunk, &self.encoder.sink.bytes)
        self.writer.write(chunk)
    }

    /// Flushes and completes the file.
    public func finish(completion: @escaping @Sendable (Result<Int, RDBError>) -> Void) {
        self.flush()
        if let failure = self.failure {
            self.writer.abort()
            completion(.failure(RDBError(offset: 0, .io("encoding failed: \(failure)"))))
            return
        }
        self.writer.finish(checksum: self.options.checksum, completion: completion)
    }
}

/// Writes a snapshot into `temp-bgsave-<pid>.rdb` on a background thread, then fsyncs and renames it over the
/// target, as Redis's BGSAVE child does; the event loop only encodes and hands over chunks.
public final class RDBBackgroundFile: RDBChunkWriter, @unchecked Sendable {
    // `@unchecked Sendable`: `sink`, `fd` and `error` are only touched on `queue`; `pending` is atomic.
    private let queue = DispatchQueue(label: "swiftlet.bgsave")
    public let path: String
    public let tempPath: String
    private var fd: Int32
    private var sink: FileSink
    private var error: RDBError?
    private let pending = Atomic<Int>(0)
    /// Whether `finish` appends the EOF opcode and the checksum; off for an AOF base written as commands.
    public var writesRDBTrailer = true

    /// Opens the temp file beside `path` (errors are reported at once, like a failed fork): by default
    /// `temp-bgsave-<pid>.rdb`, as Redis's BGSAVE child names it.
    public init(path: String, tempName: String? = nil) throws(RDBError) {
        self.path = path
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? ""
        self.tempPath = (directory.isEmpty ? "" : directory + "/") + (tempName ?? "temp-bgsave-\(getpid()).rdb")
        self.fd = open(self.tempPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if self.fd < 0 { throw RDBWriter.ioError("open \(self.tempPath)") }
        self.sink = FileSink(fd: self.fd, bufferSize: 1 << 16)
    }

    public var pendingBytes: Int { self.pending.load(ordering: .relaxed) }

    public func write(_ chunk: [UInt8]) {
        self.pending.add(chunk.count, ordering: .relaxed)
        self.queue.async {
            defer { self.pending.subtract(chunk.count, ordering: .relaxed) }
            guard self.error == nil else { return }
            do {
                try chunk.withUnsafeBytes { try self.sink.write($0) }
            } catch {
                self.error = error as? RDBError ?? RDBError(offset: 0, .io("\(error)"))
            }
        }
    }

    public func finish(checksum: Bool, completion: @escaping @Sendable (Result<Int, RDBError>) -> Void) {
        self.queue.async {
            do {
                if let error = self.error { throw error }
                if self.writesRDBTrailer {
                    try self.sink.write(byte: RDBFormat.Opcode.eof.rawValue)
                    let crc = checksum ? self.sink.checksum : 0
                    try self.sink.write(littleEndian: crc, count: 8)
                }
                try self.sink.flush()
                let size = self.sink.offset
                if fsync(self.fd) != 0 { throw RDBWriter.ioError("fsync \(self.tempPath)") }
                self.closeFile()
                if rename(self.tempPath, self.path) != 0 { throw RDBWriter.ioError("rename to \(self.path)") }
                RDBWriter.syncDirectory(of: self.path)
                completion(.success(size))
            } catch {
                self.cleanUp()
                completion(.failure(error as? RDBError ?? RDBError(offset: 0, .io("\(error)"))))
            }
        }
    }

    public func abort() {
        self.queue.async { self.cleanUp() }
    }

    /// Waits until every queued write is done (tests).
    public func drain() {
        self.queue.sync {}
    }

    private func closeFile() {
        guard self.fd >= 0 else { return }
        self.sink.release()
        close(self.fd)
        self.fd = -1
    }

    private func cleanUp() {
        self.closeFile()
        unlink(self.tempPath)
    }
}

/// Collects a snapshot in memory (tests, DEBUG-style uses).
public final class RDBMemoryFile: RDBChunkWriter {
    public private(set) var bytes: [UInt8] = []
    /// Whether `finish` appends the EOF opcode and the checksum (not for commands).
    public var writesRDBTrailer = true

    public init() {}

    public var pendingBytes: Int { 0 }

    public func write(_ chunk: [UInt8]) {
        self.bytes += chunk
    }

    public func finish(checksum: Bool, completion: @escaping @Sendable (Result<Int, RDBError>) -> Void) {
        guard self.writesRDBTrailer else {
            completion(.success(self.bytes.count))
            return
        }
        self.bytes.append(RDBFormat.Opcode.eof.rawValue)
        let crc = checksum ? self.bytes.withUnsafeBytes { CRC64.update(0, $0) } : 0
        withUnsafeBytes(of: crc.littleEndian) { self.bytes += $0 }
        completion(.success(self.bytes.count))
    }

    public func abort() {
        self.bytes = []
    }
}
