public import SwiftletKeyspace

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One record of an RDB file, in file order: aux fields, then per non-empty database SELECTDB, RESIZEDB and its
/// keys. ``RDBRecords`` produces them lazily from a keyspace; ``RDBWriter`` encodes them one at a time.
public enum RDBRecord {
    case aux(key: String, value: AuxValue)
    /// A function library's code (`FUNCTION2`), after the aux fields as Redis's rdbSaveFunctions writes them.
    case function([UInt8])
    case selectDB(Int)
    case resizeDB(keys: Int, expires: Int)
    case entry(Entry, expireAt: Int64?)

    /// An aux field value: Redis writes numbers as integer-encoded strings.
    public enum AuxValue: Sendable, Equatable {
        case text(String)
        case integer(Int64)
    }
}

/// The records of a keyspace snapshot, produced lazily (nothing is collected up front: the keys of a database
/// are visited bucket by bucket with the table's SCAN cursor). The keyspace must not change during iteration.
public struct RDBRecords: Sequence, IteratorProtocol {
    let keyspace: Keyspace
    var aux: [(String, RDBRecord.AuxValue)]
    var auxIndex = 0
    var functions: [[UInt8]] = []
    var functionIndex = 0
    var dbIndex = -1
    var cursor: UInt64 = 0
    /// Keys of the current bucket not yet returned (a bucket holds a few at most).
    var pending: [Entry] = []
    var pendingIndex = 0
    var scanStarted = false
    var state = State.aux

    enum State {
        case aux
        case nextDB
        case resize
        case keys
        case done
    }

    public init(keyspace: Keyspace, aux: [(String, RDBRecord.AuxValue)], functions: [[UInt8]] = []) {
        self.keyspace = keyspace
        self.aux = aux
        self.functions = functions
    }

    public mutating func next() -> RDBRecord? {
        while true {
            switch self.state {
            case .aux:
                if self.auxIndex < self.aux.count {
                    let (k, v) = self.aux[self.auxIndex]
                    self.auxIndex += 1
                    return .aux(key: k, value: v)
                }
                if self.functionIndex < self.functions.count {
                    self.functionIndex += 1
                    return .function(self.functions[self.functionIndex - 1])
                }
                self.state = .nextDB
            case .nextDB:
                self.dbIndex += 1
                guard self.dbIndex < self.keyspace.databases.count else {
                    self.state = .done
                    return nil
                }
                if self.keyspace[self.dbIndex].count == 0 { continue }
                self.cursor = 0
                self.pending.removeAll(keepingCapacity: true)
                self.pendingIndex = 0
                self.scanStarted = false
                self.state = .resize
                return .selectDB(self.dbIndex)
            case .resize:
                self.state = .keys
                let db = self.keyspace[self.dbIndex]
                return .resizeDB(keys: db.count, expires: db.expiresCount)
            case .keys:
                let db = self.keyspace[self.dbIndex]
                if self.pendingIndex < self.pending.count {
                    let entry = self.pending[self.pendingIndex]
                    self.pendingIndex += 1
                    return .entry(entry, expireAt: db.expireTime(of: entry))
                }
                if self.scanStarted && self.cursor == 0 {
                    self.state = .nextDB
                    continue
                }
                self.scanStarted = true
                self.pendingIndex = 0
                // Take the array out so that appending does not copy it.
                var pending: [Entry] = []
                swap(&pending, &self.pending)
                pending.removeAll(keepingCapacity: true)
                self.cursor = db.table.scan(self.cursor) { pending.append($0) }
                swap(&pending, &self.pending)
            case .done:
                return nil
            }
        }
    }
}

/// Writes RDB version 10 snapshots.
public enum RDBWriter {
    /// What goes into a snapshot besides the keys.
    public struct Options: Sendable {
        /// `rdbcompression`.
        public var compression = true
        /// `rdbchecksum`: without it the trailing checksum is 0, which loaders accept as "not computed".
        public var checksum = true
        public var redisVersion = "7.0.15"
        /// Unix time (seconds) for the `ctime` aux field.
        public var creationTime: Int64 = 0
        /// Bytes for the `used-mem` aux field.
        public var usedMemory: Int64 = 0
        /// Whether this is the base of an AOF (`aof-base`).
        public var aofBase = false
        /// The function libraries' codes (FUNCTION LOAD), saved after the aux fields.
        public var functions: [[UInt8]] = []
        /// The keys' access statistic to save, as Redis's `rdbSaveKeyValuePair` does under an LRU or LFU
        /// `maxmemory-policy`.
        public var access = AccessInfo.none
        /// The replication history the data stands at (Redis's rdbSaveInfo): `repl-stream-db`, `repl-id` and
        /// `repl-offset`, so that a server restarted from the file continues it; nil for a server in no replication
        /// chain and for an AOF base.
        public var replication: ReplicationInfo?

        public init() {}
    }

    /// Where a replication stream stood when the data was saved.
    public struct ReplicationInfo: Sendable, Equatable {
        /// The database the stream had selected.
        public var streamDatabase: Int
        public var id: String
        public var offset: Int64

        public init(streamDatabase: Int, id: String, offset: Int64) {
            self.streamDatabase = streamDatabase
            self.id = id
            self.offset = offset
        }
    }

    /// What a snapshot says of each key's accesses: nothing (other policies), its idle time in seconds (the IDLE
    /// opcode, under an LRU `maxmemory-policy`) or its decayed LFU counter (the FREQ opcode, under an LFU one), as of
    /// `now` (unix milliseconds).
    public enum AccessInfo: Sendable {
        case none
        case idle(now: Int64)
        case frequency(now: Int64, decayMinutes: Int)
    }

    static func auxFields(_ options: Options) -> [(String, RDBRecord.AuxValue)] {
        var fields: [(String, RDBRecord.AuxValue)] = [
            ("redis-ver", .text(options.redisVersion)),
            ("redis-bits", .integer(Int64(MemoryLayout<Int>.size * 8))),
            ("ctime", .integer(options.creationTime)),
            ("used-mem", .integer(options.usedMemory)),
        ]
        if let replication = options.replication {
            fields.append(("repl-stream-db", .integer(Int64(replication.streamDatabase))))
            fields.append(("repl-id", .text(replication.id)))
            fields.append(("repl-offset", .integer(replication.offset)))
        }
        fields.append(("aof-base", .integer(options.aofBase ? 1 : 0)))
        return fields
    }

    /// Encodes one record (Redis's `rdbSaveAuxField`, `rdbSaveDb`, `rdbSaveKeyValuePair`).
    public static func write<S: ByteSink>(_ record: RDBRecord, to encoder: inout RDBEncoder<S>) throws {
        switch record {
        case .aux(let key, let value):
            try encoder.sink.write(byte: RDBFormat.Opcode.aux.rawValue)
            try encoder.writeString(Array(key.utf8))
            switch value {
            case .text(let text): try encoder.writeString(Array(text.utf8))
            case .integer(let v): try encoder.writeInteger(v)
            }
        case .function(let code):
            try encoder.sink.write(byte: RDBFormat.Opcode.function2.rawValue)
            try encoder.writeString(code)
        case .selectDB(let index):
            try encoder.sink.write(byte: RDBFormat.Opcode.selectDB.rawValue)
            try encoder.writeLength(UInt64(index))
        case .resizeDB(let keys, let expires):
            try encoder.sink.write(byte: RDBFormat.Opcode.resizeDB.rawValue)
            try encoder.writeLength(UInt64(keys))
            try encoder.writeLength(UInt64(expires))
        case .entry(let entry, let expireAt):
            if let expireAt {
                try encoder.sink.write(byte: RDBFormat.Opcode.expireTimeMS.rawValue)
                try encoder.sink.write(littleEndian: UInt64(bitPattern: expireAt), count: 8)
            }
            switch encoder.access {
            case .none:
                break
            case .idle(let now):
                try encoder.sink.write(byte: RDBFormat.Opcode.idle.rawValue)
                try encoder.writeLength(UInt64(max(0, AccessClock.idleMilliseconds(entry.access, now: now) / 1000)))
            case .frequency(let now, let decay):
                try encoder.sink.write(byte: RDBFormat.Opcode.freq.rawValue)
                let counter = AccessClock.decayedCounter(entry.access, now: now, decayMinutes: decay)
                try encoder.sink.write(byte: UInt8(truncatingIfNeeded: counter))
            }
            try encoder.sink.write(byte: RDBEncoder<S>.valueType(entry.value).rawValue)
            try entry.withKey { try encoder.writeString($0) }
            try encoder.writeObjectBody(entry)
        }
    }

    /// Writes a whole snapshot (magic, records, EOF, checksum) into `sink`.
    public static func write<S: ByteSink>(keyspace: Keyspace, to sink: S, options: Options) throws -> S {
        var encoder = RDBEncoder(sink: sink, compression: options.compression, access: options.access)
        try encoder.sink.write(RDBFormat.magic)
        for record in RDBRecords(keyspace: keyspace, aux: Self.auxFields(options), functions: options.functions) {
            try Self.write(record, to: &encoder)
        }
        try encoder.sink.write(byte: RDBFormat.Opcode.eof.rawValue)
        let crc = options.checksum ? encoder.sink.checksum : 0
        try encoder.sink.write(littleEndian: crc, count: 8)
        return encoder.sink
    }

    /// Writes a snapshot to `path` safely: into `temp-<pid>.rdb` beside it, then fsync, then an atomic rename,
    /// so that `path` always holds a complete file.
    public static func write(keyspace: Keyspace, to path: String, options: Options = Options()) throws {
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let temp = "\(directory.isEmpty ? "/" : directory)/temp-\(getpid()).rdb"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 { throw Self.ioError("open \(temp)") }
        var sink = FileSink(fd: fd)
        do {
            sink = try Self.write(keyspace: keyspace, to: sink, options: options)
            try sink.flush()
            sink.release()
            if fsync(fd) != 0 { throw Self.ioError("fsync \(temp)") }
            close(fd)
        } catch {
            sink.release()
            close(fd)
            unlink(temp)
            throw error
        }
        if rename(temp, path) != 0 {
            let error = Self.ioError("rename \(temp) to \(path)")
            unlink(temp)
            throw error
        }
        Self.syncDirectory(of: path)
    }

    /// Makes a rename into `path`'s directory durable.
    static func syncDirectory(of path: String) {
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let dirfd = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_CLOEXEC)
        if dirfd >= 0 {
            fsync(dirfd)
            close(dirfd)
        }
    }

    static func ioError(_ what: String) -> RDBError {
        RDBError(offset: 0, .io("\(what): \(String(cString: strerror(errno)))"))
    }
}
