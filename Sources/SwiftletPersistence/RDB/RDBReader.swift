public import SwiftletKeyspace

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One record read from an RDB file.
public enum RDBFileRecord {
    case aux(key: [UInt8], value: [UInt8])
    case selectDB(Int)
    case resizeDB(keys: Int, expires: Int)
    /// A function library (`FUNCTION2`): its code, which the engine loads (FUNCTION LOAD's path).
    case function([UInt8])
    case key(RDBKeyRecord)
}

/// A key with its value and the metadata opcodes that preceded it.
public struct RDBKeyRecord {
    public var key: [UInt8]
    public var type: RDBFormat.ValueType
    public var value: RDBDecodedValue
    /// Absolute expiry in unix milliseconds.
    public var expireAt: Int64?
    /// Seconds idle (`IDLE` opcode).
    public var idle: Int64?
    /// LFU counter (`FREQ` opcode).
    public var frequency: Int?
}

/// Reads RDB files record by record (a lazily consumed stream), and loads them into a keyspace.
public struct RDBReader {
    public let decoder: RDBDecoder
    public private(set) var version = 0
    public private(set) var finished = false
    /// Whether the trailing checksum was present and verified (false for `rdbchecksum no` files, whose checksum
    /// is 0, and for versions before 5, which have none).
    public private(set) var checksumVerified = false

    public init(source: RDBByteSource, limits: RDBLoadLimits = RDBLoadLimits()) {
        self.decoder = RDBDecoder(source: source, limits: limits)
    }

    var source: RDBByteSource { self.decoder.source }

    /// Reads and checks the magic and version (`REDIS0001` ... `REDIS0010`).
    public mutating func readHeader() throws {
        let magic = try self.source.readBytes(9, "RDB header")
        guard magic.starts(with: Array("REDIS".utf8)) else {
            throw RDBError(offset: 0, .corrupt("wrong signature trying to load an RDB file"))
        }
        guard let version = Int(String(decoding: magic[5...], as: UTF8.self)), version >= 1,
            version <= RDBFormat.version
        else {
            throw RDBError(
                offset: 5,
                .unsupported("can't handle RDB format version \(String(decoding: magic[5...], as: UTF8.self))")
            )
        }
        self.version = version
    }

    /// The next record, or `nil` after the EOF opcode (and the checksum, which is verified).
    public mutating func next() throws -> RDBFileRecord? {
        if self.finished { return nil }
        var expireAt: Int64?
        var idle: Int64?
        var frequency: Int?
        while true {
            let start = self.source.offset
            let b = try self.source.readByte("opcode")
            guard let opcode = RDBFormat.Opcode(rawValue: b) else {
                guard let type = RDBFormat.ValueType(rawValue: b) else {
                    throw RDBError(offset: start, .corrupt("unknown value type or opcode \(b)"))
                }
                let key = try self.decoder.readString("key")
                let value = try self.decoder.readValue(type)
                return .key(
                    RDBKeyRecord(
                        key: key,
                        type: type,
                        value: value,
                        expireAt: expireAt,
                        idle: idle,
                        frequency: frequency
                    )
                )
            }
            switch opcode {
            case .expireTime:
                expireAt = Int64(Int32(truncatingIfNeeded: try self.source.readLittleEndian(4, "expire time"))) * 1000
            case .expireTimeMS:
                expireAt = Int64(bitPattern: try self.source.readLittleEndian(8, "expire time"))
            case .idle:
                idle = Int64(clamping: try self.decoder.readLength("idle time").value)
            case .freq:
                frequency = Int(try self.source.readByte("LFU frequency"))
            case .aux:
                let key = try self.decoder.readString("aux key")
                let value = try self.decoder.readString("aux value")
                return .aux(key: key, value: value)
            case .selectDB:
                return .selectDB(try self.decoder.readCount("database number"))
            case .resizeDB:
                let keys = try self.decoder.readCount("database size")
                let expires = try self.decoder.readCount("expires size")
                return .resizeDB(keys: keys, expires: expires)
            case .function2:
                return .function(try self.decoder.readString("function library"))
            case .functionPreGA:
                throw RDBError(offset: start, .unsupported("pre-GA function format (Redis 7.0 release candidates)"))
            case .moduleAux:
                throw RDBError(offset: start, .unsupported("module aux data: modules are not supported"))
            case .eof:
                self.finished = true
                if self.version >= 5 {
                    let expected = self.source.checksum
                    let at = self.source.offset
                    let stored = try self.source.readLittleEndian(8, "checksum")
                    if stored != 0 {
                        guard stored == expected else {
                            throw RDBError(
                                offset: at,
                                .corrupt(
                                    "wrong RDB checksum expected: \(String(stored, radix: 16)) got: "
                                        + String(expected, radix: 16)
                                )
                            )
                        }
                        self.checksumVerified = true
                    }
                }
                return nil
            }
        }
    }

    /// What ``load(path:into:limits:now:)`` found.
    public struct Summary: Sendable {
        public var version = 0
        public var keysLoaded = 0
        public var expiredKeysSkipped = 0
        public var emptyKeysSkipped = 0
        /// The function libraries' codes, in file order, for the engine to load (``load(into:now:)`` does not).
        public var functions: [[UInt8]] = []
        public var aux: [String: String] = [:]
        public var checksumVerified = false
    }

    /// Loads the RDB file at `path` into `keyspace` (which should be empty). Keys whose expiry is before `now`
    /// are skipped, as a Redis master does; a replica loading its master's RDB keeps them (`keepExpired`), as the
    /// master's DELs will come. Errors name the offset and what is wrong.
    @discardableResult
    public static func load(
        path: String,
        into keyspace: Keyspace,
        limits: RDBLoadLimits = RDBLoadLimits(),
        now: Int64,
        keepExpired: Bool = false,
        skipped: ((Int, [UInt8]) -> Void)? = nil
    ) throws -> Summary {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw RDBError(offset: 0, .io("open \(path): \(String(cString: strerror(errno)))")) }
        defer { close(fd) }
        var reader = RDBReader(source: RDBByteSource(fd: fd), limits: limits)
        return try reader.load(into: keyspace, now: now, keepExpired: keepExpired, skipped: skipped)
    }

    /// Loads every record into `keyspace`. `skipped` hears of each key left out because it had expired (its database
    /// and name): a master with a replication history propagates their deletion, as Redis's RDBFLAGS_FEED_REPL.
    public mutating func load(
        into keyspace: Keyspace,
        now: Int64,
        keepExpired: Bool = false,
        skipped: ((Int, [UInt8]) -> Void)? = nil
    ) throws -> Summary {
        var summary = Summary()
        try self.readHeader()
        summary.version = self.version
        var db = keyspace[0]
        while true {
            let start = self.source.offset
            let record: RDBFileRecord?
            do {
                record = try self.next()
            } catch let error as RDBError where error.kind == .emptyKey {
                summary.emptyKeysSkipped += 1
                continue
            }
            guard let record else { break }
            switch record {
            case .aux(let key, let value):
                summary.aux[String(decoding: key, as: UTF8.self)] = String(decoding: value, as: UTF8.self)
            case .selectDB(let index):
                guard index < keyspace.databases.count else {
                    throw RDBError(
                        offset: start,
                        .corrupt("database \(index) is out of range (this server has \(keyspace.databases.count))")
                    )
                }
                db = keyspace[index]
            case .resizeDB:
                break
            case .function(let code):
                summary.functions.append(code)
            case .key(let record):
                if let at = record.expireAt, at < now, !keepExpired {
                    summary.expiredKeysSkipped += 1
                    skipped?(db.index, record.key)
                    continue
                }
                let exists = record.key.withUnsafeBytes { db.peek($0) != nil }
                if exists {
                    throw RDBError(
                        offset: start,
                        .corrupt("duplicate key '\(String(decoding: record.key, as: UTF8.self))' in DB \(db.index)")
                    )
                }
                let entry = Self.install(record.value, key: record.key, in: db, now: now)
                if let at = record.expireAt { db.setExpireTime(of: entry, to: at) }
                RDBAccess.apply(
                    to: entry,
                    idle: record.idle,
                    frequency: record.frequency,
                    policy: keyspace.accessPolicy,
                    now: now
                )
                summary.keysLoaded += 1
            }
        }
        summary.checksumVerified = self.checksumVerified
        return summary
    }

    /// Stores a decoded value under `key`, replacing any value (strings take the keyspace's string encodings).
    @discardableResult
    public static func install(_ value: RDBDecodedValue, key: [UInt8], in db: Database, now: Int64) -> Entry {
        key.withUnsafeBytes { k in
            switch value {
            case .string(let bytes): return bytes.withUnsafeBytes { db.setString(k, $0, now: now) }
            case .collection(let v): return db.set(k, v, now: now)
            }
        }
    }
}

/// Applies `IDLE` / `FREQ` (RDB opcodes, RESTORE options) to an entry's access clock, as Redis's
/// `objectSetLRUOrLFU`: a frequency only under an LFU policy, an idle time only under an LRU one.
public enum RDBAccess {
    static let lruMax: Int64 = (1 << 24) - 1

    public static func apply(to entry: Entry, idle: Int64?, frequency: Int?, policy: AccessPolicy, now: Int64) {
        if let frequency {
            if case .lfu = policy {
                let minutes = UInt32(truncatingIfNeeded: now / 60000) & 0xFFFF
                entry.access = (minutes << 8) | UInt32(min(max(frequency, 0), 255))
            }
            return
        }
        if let idle, case .lru = policy {
            let clock = (now / 1000) & Self.lruMax
            var at = clock - idle
            if at < 0 { at = (clock + Self.lruMax / 2) % Self.lruMax }
            entry.access = UInt32(truncatingIfNeeded: at)
        }
    }
}
