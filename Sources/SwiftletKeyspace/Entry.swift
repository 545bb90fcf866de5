/// A value stored under a key.
///
/// Strings use the encodings Redis reports in `OBJECT ENCODING`: `int` for integers that fit a signed 64-bit
/// number, `embstr` for short strings (stored inside the ``Entry`` itself, after the key, in one allocation, as
/// Redis embeds them in the object header) and `raw` for long or modified strings.
public enum Value {
    /// A string of at most ``Entry/embeddedStringLimit`` bytes, stored in the entry after the key.
    case embedded
    /// A string that is the decimal text of this integer.
    case int(Int64)
    /// A string in its own growable storage.
    case raw([UInt8])
    /// Collections are reference types, mutated in place through the entry (never copied by accident).
    case list(ListValue)
    case hash(HashValue)
    case set(SetValue)
    case sortedSet(SortedSetValue)

    /// The name `TYPE` reports.
    public var typeName: String {
        switch self {
        case .embedded, .int, .raw: return "string"
        case .list: return "list"
        case .hash: return "hash"
        case .set: return "set"
        case .sortedSet: return "zset"
        }
    }

    /// The collection behind the value, if it is one.
    public var collection: (any CollectionValue)? {
        switch self {
        case .embedded, .int, .raw: return nil
        case .list(let v): return v
        case .hash(let v): return v
        case .set(let v): return v
        case .sortedSet(let v): return v
        }
    }

    /// An independent copy (COPY): collections are duplicated, strings are values already.
    public func deepCopy() -> Value {
        switch self {
        case .embedded, .int, .raw: return self
        case .list(let v): return .list(v.copy())
        case .hash(let v): return .hash(v.copy())
        case .set(let v): return .set(v.copy())
        case .sortedSet(let v): return .sortedSet(v.copy())
        }
    }
}

/// What every collection type tells the generic commands (TYPE, OBJECT ENCODING, MEMORY USAGE, COPY).
public protocol CollectionValue: AnyObject {
    /// Number of elements; an empty collection is deleted from the keyspace by the command that emptied it.
    var count: Int { get }
    /// The encoding `OBJECT ENCODING` reports (Redis 7.0's names: `quicklist`, `listpack`, `hashtable`,
    /// `intset`, `skiplist`).
    var encodingName: String { get }
    /// Approximate heap bytes (MEMORY USAGE).
    var memoryUsage: Int { get }
}

/// The fixed part of an ``Entry``; the key bytes (and an embedded string) follow it in the same allocation.
public struct EntryHeader {
    /// The next entry in the same hash bucket.
    var next: Entry?
    public var value: Value
    /// Bit 0: the key has a time to live in the database's `expires` table.
    var flags: UInt8
    /// The epoch of the last snapshot (BGSAVE) that saved this entry, or that was running when it was created; see
    /// ``KeyspaceSnapshot``. Fits in the padding after `flags`, so it costs no memory.
    var snapshotEpoch: UInt16
    /// The low 32 bits of the key's hash, kept so that rehashing never hashes a key twice.
    let hash: UInt32
    let keyCount: UInt32
    /// Length of the embedded string (valid while `value` is `.embedded`).
    var stringCount: UInt32
    /// Bytes available after the key (the allocation rounds up).
    let tailCapacity: UInt32
    /// LRU clock (seconds) or, with an LFU policy, minutes << 8 | log counter; see ``AccessClock``.
    public var access: UInt32
}

/// One key with its value: a single heap allocation holding the header, the key bytes and, for short strings,
/// the value bytes (what Redis achieves with `dictEntry` + `robj` + embedded `sds`, in one block).
public final class Entry: ManagedBuffer<EntryHeader, UInt8> {
    /// Strings up to this length are embedded (Redis's `OBJ_ENCODING_EMBSTR_SIZE_LIMIT`).
    public static let embeddedStringLimit = 44

    static func make(
        key: UnsafeRawBufferPointer,
        hash: UInt32,
        value: Value,
        embedding string: UnsafeRawBufferPointer? = nil,
        access: UInt32
    ) -> Entry {
        let stringCount = string?.count ?? 0
        let object = Entry.create(minimumCapacity: key.count + stringCount) { buffer in
            EntryHeader(
                next: nil,
                value: value,
                flags: 0,
                snapshotEpoch: 0,
                hash: hash,
                keyCount: UInt32(key.count),
                stringCount: UInt32(stringCount),
                tailCapacity: UInt32(buffer.capacity - key.count),
                access: access
            )
        }
        // `create` called on `Entry` allocates an `Entry`.
        let entry = unsafeDowncast(object, to: Entry.self)
        entry.withUnsafeMutablePointerToElements { base in
            if key.count > 0 { UnsafeMutableRawPointer(base).copyMemory(from: key.baseAddress!, byteCount: key.count) }
            if let string, string.count > 0 {
                UnsafeMutableRawPointer(base + key.count).copyMemory(from: string.baseAddress!, byteCount: string.count)
            }
        }
        return entry
    }

    /// The header through a pointer: `ManagedBuffer.header` is a class stored property, and every mutation of it
    /// would otherwise pay a dynamic exclusivity check. The object outlives every use of the pointer.
    @inline(__always)
    var fields: UnsafeMutablePointer<EntryHeader> {
        self.withUnsafeMutablePointerToHeader { $0 }
    }

    public var value: Value {
        get { self.fields.pointee.value }
        _modify { yield &self.fields.pointee.value }
        set { self.fields.pointee.value = newValue }
    }

    public var hasExpire: Bool {
        get { self.fields.pointee.flags & 1 != 0 }
        set {
            self.fields.pointee.flags = newValue ? (self.fields.pointee.flags | 1) : (self.fields.pointee.flags & ~1)
        }
    }

    public var access: UInt32 {
        get { self.fields.pointee.access }
        set { self.fields.pointee.access = newValue }
    }

    var hash: UInt32 { self.fields.pointee.hash }

    var snapshotEpoch: UInt16 {
        get { self.fields.pointee.snapshotEpoch }
        set { self.fields.pointee.snapshotEpoch = newValue }
    }

    public var keyCount: Int { Int(self.fields.pointee.keyCount) }

    /// Calls `body` with the key bytes, valid only inside the call.
    public func withKey<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try self.withUnsafeMutablePointerToElements { base in
            try body(UnsafeRawBufferPointer(start: base, count: Int(self.fields.pointee.keyCount)))
        }
    }

    /// The key as an array (allocates; for replies that outlive the entry and for tests).
    public var keyBytes: [UInt8] { self.withKey { Array($0) } }

    func keyEquals(_ key: UnsafeRawBufferPointer) -> Bool {
        guard Int(self.fields.pointee.keyCount) == key.count else { return false }
        if key.count == 0 { return true }
        return self.withUnsafeMutablePointerToElements { base in
            memcmpBytes(UnsafeRawPointer(base), key.baseAddress!, key.count)
        }
    }

    // MARK: - Strings

    /// Whether this entry holds a string (any encoding).
    public var isString: Bool {
        switch self.fields.pointee.value {
        case .embedded, .int, .raw: return true
        default: return false
        }
    }

    /// Calls `body` with the bytes of the string value; integers are rendered in decimal on the stack.
    /// - Returns: `nil` when the value is not a string.
    public func withStringBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R? {
        switch self.fields.pointee.value {
        case .embedded:
            return try self.withUnsafeMutablePointerToElements { base in
                try body(
                    UnsafeRawBufferPointer(
                        start: base + Int(self.fields.pointee.keyCount),
                        count: Int(self.fields.pointee.stringCount)
                    )
                )
            }
        case .int(let v):
            return try DecimalText.withDigits(of: v, body)
        case .raw(let bytes):
            return try bytes.withUnsafeBytes(body)
        default:
            return nil
        }
    }

    /// Reads one byte of the entry at `address` and of its raw string's storage, without retaining either: a
    /// prefetch for walks that will visit the entry soon (``KeyspaceSnapshot``). Returns what it read so the loads
    /// are kept; the value means nothing.
    ///
    /// Retaining is what a walk must avoid here: a retain is an atomic write, and on a line that is not in the
    /// cache it stalls every load behind it, so misses come one by one. Plain loads of many entries overlap.
    /// - Precondition: `address` is an entry that stays alive during the call.
    @inline(__always)
    static func touch(_ address: UnsafeRawPointer) -> UInt8 {
        // The reference count (which the visit's retain writes) and the value may lie on different cache lines.
        let counted = address.load(fromByteOffset: Self.refCountOffset, as: UInt8.self)
        return Unmanaged<Entry>.fromOpaque(address)._withUnsafeGuaranteedRef { entry in
            guard case .raw = entry.fields.pointee.value else { return counted ^ entry.fields.pointee.flags }
            // A `.raw` payload is the array, whose only stored property is its storage object's address, first in the
            // enum's payload (``rawStorageAddress`` is checked against the array's own base address by a test).
            let storage = entry.rawStorageAddress
            let stored = counted ^ storage.load(fromByteOffset: Self.refCountOffset, as: UInt8.self)
            // The first element only when there is one (an empty array shares a storage without elements).
            guard storage.load(fromByteOffset: Self.arrayCountOffset, as: Int.self) > 0 else { return stored }
            return stored ^ storage.load(fromByteOffset: Self.arrayHeaderBytes, as: UInt8.self)
        }
    }

    /// Where a Swift object keeps its reference count (after its type pointer).
    static let refCountOffset = 8
    /// Where an array's storage keeps its element count.
    static let arrayCountOffset = 16
    /// Bytes before an array's first element in its storage object (object header, count, capacity and flags).
    static let arrayHeaderBytes = 32

    /// The address of the storage object of a `.raw` string, read from the header without a retain.
    /// - Precondition: the value is `.raw`.
    var rawStorageAddress: UnsafeRawPointer {
        UnsafeRawPointer(self.fields).load(
            fromByteOffset: MemoryLayout<EntryHeader>.offset(of: \EntryHeader.value)!,
            as: UnsafeRawPointer.self
        )
    }

    /// The string value as an array (allocates).
    public var stringBytes: [UInt8]? { self.withStringBytes { Array($0) } }

    /// Length of the string value in bytes.
    public var stringLength: Int? {
        switch self.fields.pointee.value {
        case .embedded: return Int(self.fields.pointee.stringCount)
        case .int(let v): return DecimalText.count(of: v)
        case .raw(let bytes): return bytes.count
        default: return nil
        }
    }

    /// Stores an embedded string in place if it fits this allocation; returns `false` when it does not.
    func embedInPlace(_ string: UnsafeRawBufferPointer) -> Bool {
        guard string.count <= Int(self.fields.pointee.tailCapacity) else { return false }
        self.fields.pointee.value = .embedded
        self.fields.pointee.stringCount = UInt32(string.count)
        if string.count > 0 {
            self.withUnsafeMutablePointerToElements { base in
                UnsafeMutableRawPointer(base + Int(self.fields.pointee.keyCount))
                    .copyMemory(from: string.baseAddress!, byteCount: string.count)
            }
        }
        return true
    }

    /// Approximate bytes this entry takes on the heap, for `MEMORY USAGE`.
    public var heapSize: Int {
        // Header (16 bytes of object header + EntryHeader) + tail, rounded like malloc's 16-byte chunks.
        let own =
            (16 + MemoryLayout<EntryHeader>.stride + Int(self.fields.pointee.keyCount)
                + Int(self.fields.pointee.tailCapacity)
                + 8 + 15) & ~15
        switch self.fields.pointee.value {
        case .raw(let bytes): return own + ((32 + bytes.capacity + 8 + 15) & ~15)
        case .embedded, .int: return own
        default: return own + (self.fields.pointee.value.collection?.memoryUsage ?? 0)
        }
    }
}

@usableFromInline
func memcmpBytes(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ n: Int) -> Bool {
    var i = 0
    while i + 8 <= n {
        if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) {
            return false
        }
        i += 8
    }
    while i < n {
        if a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) { return false }
        i += 1
    }
    return true
}

/// Decimal rendering of integers without allocating.
public enum DecimalText {
    /// Number of characters in the decimal text of `v`.
    public static func count(of v: Int64) -> Int {
        var n = v < 0 ? 2 : 1
        var m = v.magnitude
        while m >= 10 {
            m /= 10
            n += 1
        }
        return n
    }

    /// Calls `body` with the decimal text of `v`, built on the stack.
    public static func withDigits<R>(of v: Int64, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var scratch: (UInt64, UInt64, UInt64) = (0, 0, 0)
        return try withUnsafeMutableBytes(of: &scratch) { raw in
            var i = 24
            var m = v.magnitude
            repeat {
                i -= 1
                raw[i] = UInt8(truncatingIfNeeded: m % 10) &+ 48
                m /= 10
            } while m > 0
            if v < 0 {
                i -= 1
                raw[i] = UInt8(ascii: "-")
            }
            return try body(UnsafeRawBufferPointer(rebasing: raw[i..<24]))
        }
    }
}
