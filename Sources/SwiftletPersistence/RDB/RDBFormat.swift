/// The codes of Redis's RDB format (`rdb.h`), version 10 as Redis 7.0 writes it.
///
/// These bytes are persisted: the table is append-only, and ``RDBFormatTests`` guards every value.
public enum RDBFormat {
    /// The version this writer produces and the newest one the reader accepts (Redis 7.0).
    public static let version = 10
    /// `REDIS0010`.
    public static let magic: [UInt8] = Array("REDIS0010".utf8)

    /// Value type bytes.
    public enum ValueType: UInt8, CaseIterable, Sendable {
        case string = 0
        case list = 1
        case set = 2
        case zset = 3
        case hash = 4
        case zset2 = 5
        case modulePreGA = 6
        case module2 = 7
        case hashZipmap = 9
        case listZiplist = 10
        case setIntset = 11
        case zsetZiplist = 12
        case hashZiplist = 13
        case listQuicklist = 14
        case streamListpacks = 15
        case hashListpack = 16
        case zsetListpack = 17
        case listQuicklist2 = 18
        case streamListpacks2 = 19
    }

    /// Opcodes between records.
    public enum Opcode: UInt8, CaseIterable, Sendable {
        case function2 = 245
        case functionPreGA = 246
        case moduleAux = 247
        case idle = 248
        case freq = 249
        case aux = 250
        case resizeDB = 251
        case expireTimeMS = 252
        case expireTime = 253
        case selectDB = 254
        case eof = 255
    }

    /// Length prefixes: the top two bits of the first byte.
    static let length6Bit: UInt8 = 0
    static let length14Bit: UInt8 = 1
    static let length32Bit: UInt8 = 0x80
    static let length64Bit: UInt8 = 0x81
    static let encodedValue: UInt8 = 3

    /// Special string encodings (after `11` in the top bits).
    static let encodingInt8: UInt8 = 0
    static let encodingInt16: UInt8 = 1
    static let encodingInt32: UInt8 = 2
    static let encodingLZF: UInt8 = 3

    /// Quicklist 2 node containers.
    static let containerPlain: UInt64 = 1
    static let containerPacked: UInt64 = 2
}

/// A failed read or write of RDB data: where, and what.
public struct RDBError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        /// The data ends early.
        case truncated(String)
        /// The data is malformed.
        case corrupt(String)
        /// A value type Swiftlet does not load (modules, streams).
        case unsupported(String)
        /// A collection with no elements: Redis skips these keys when loading a file and refuses them in RESTORE.
        case emptyKey
        /// The file system failed.
        case io(String)
    }

    /// Byte offset in the file or payload where the problem was found.
    public var offset: Int
    public var kind: Kind

    public init(offset: Int, _ kind: Kind) {
        self.offset = offset
        self.kind = kind
    }

    public var description: String {
        switch self.kind {
        case .truncated(let what): return "unexpected end of data at offset \(self.offset) reading \(what)"
        case .corrupt(let what): return "corrupt data at offset \(self.offset): \(what)"
        case .unsupported(let what): return "unsupported data at offset \(self.offset): \(what)"
        case .emptyKey: return "empty collection at offset \(self.offset)"
        case .io(let what): return "I/O error: \(what)"
        }
    }
}

/// The encoding thresholds a loader applies, from CONFIG (Redis converts loaded values with the same rules as
/// writes).
public struct RDBLoadLimits: Sendable {
    public var listMaxListpackSize: Int
    public var hashMaxListpackEntries: Int
    public var hashMaxListpackValue: Int
    public var setMaxIntsetEntries: Int
    public var zsetMaxListpackEntries: Int
    public var zsetMaxListpackValue: Int

    public init(
        listMaxListpackSize: Int = -2,
        hashMaxListpackEntries: Int = 512,
        hashMaxListpackValue: Int = 64,
        setMaxIntsetEntries: Int = 512,
        zsetMaxListpackEntries: Int = 128,
        zsetMaxListpackValue: Int = 64
    ) {
        self.listMaxListpackSize = listMaxListpackSize
        self.hashMaxListpackEntries = hashMaxListpackEntries
        self.hashMaxListpackValue = hashMaxListpackValue
        self.setMaxIntsetEntries = setMaxIntsetEntries
        self.zsetMaxListpackEntries = zsetMaxListpackEntries
        self.zsetMaxListpackValue = zsetMaxListpackValue
    }
}
