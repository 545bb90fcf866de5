#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One item of the memcached store: a header, the key and the value, in a chunk of a slab page.
///
/// Items are bytes in preallocated pages, never Swift objects: an `Item` is only the address of its chunk. The
/// header holds what memcached's `item` holds, laid out so that the fields the slab mover reads (`next`, `flags`,
/// `classID`) sit at the same offsets in an item, a free chunk and a chunk of a large item:
///
/// ```
///  0 next        LRU (or free list) successor        8 flags (UInt16)  10 class  11 key length
/// 12 value length (UInt32)                          16 prev        24 hash chain
/// 32 last access (UInt32)  36 expiry (UInt32)       40 CAS unique (UInt64)
/// 48 client flags (UInt32) 52 key hash (UInt32)     56 key, then the value (or, chunked, the first chunk's address)
/// ```
///
/// memcached's header is 48 bytes plus 8 for the CAS value, and it stores the key with a NUL, the client flags after
/// it (when not 0) and the value with its "\r\n": this one keeps the flags and the hash in the header and stores
/// neither the NUL nor the CRLF, so an item never needs a larger chunk than memcached's.
public struct Item: Equatable, Hashable {
    @usableFromInline let base: UnsafeMutableRawPointer

    @inlinable init(_ base: UnsafeMutableRawPointer) { self.base = base }

    @inlinable init?(bits: UInt) {
        guard let base = UnsafeMutableRawPointer(bitPattern: bits) else { return nil }
        self.base = base
    }

    @inlinable var bits: UInt { UInt(bitPattern: self.base) }

    public static let headerSize = 56

    /// What `it_flags` holds in memcached (same bit values), plus the LRU segment in bits 14-15.
    public struct Flags: OptionSet, Sendable {
        public let rawValue: UInt16
        @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }
        public static let linked = Flags(rawValue: 1)
        public static let slabbed = Flags(rawValue: 4)
        public static let fetched = Flags(rawValue: 8)
        public static let active = Flags(rawValue: 16)
        public static let chunked = Flags(rawValue: 32)
        public static let chunk = Flags(rawValue: 64)
        /// A meta client holds the right to recache this item (`W` was sent).
        public static let tokenSent = Flags(rawValue: 512)
        /// Invalidated by a meta `I`: served as stale (`X`) until it is replaced.
        public static let stale = Flags(rawValue: 2048)
        /// The key came base64-encoded (meta `b`): echoed and dumped encoded.
        public static let binaryKey = Flags(rawValue: 4096)
    }

    @usableFromInline static let segmentShift: UInt16 = 14

    // MARK: - Header fields

    @inlinable var nextBits: UInt {
        get { self.base.load(fromByteOffset: 0, as: UInt.self) }
        nonmutating set { self.base.storeBytes(of: newValue, toByteOffset: 0, as: UInt.self) }
    }

    @inlinable var prevBits: UInt {
        get { self.base.load(fromByteOffset: 16, as: UInt.self) }
        nonmutating set { self.base.storeBytes(of: newValue, toByteOffset: 16, as: UInt.self) }
    }

    @inlinable var hashNextBits: UInt {
        get { self.base.load(fromByteOffset: 24, as: UInt.self) }
        nonmutating set { self.base.storeBytes(of: newValue, toByteOffset: 24, as: UInt.self) }
    }

    @inlinable var rawFlags: UInt16 {
        get { self.base.load(fromByteOffset: 8, as: UInt16.self) }
        nonmutating set { self.base.storeBytes(of: newValue, toByteOffset: 8, as: UInt16.self) }
    }

    @inlinable public var flags: Flags {
        get { Flags(rawValue: self.rawFlags & 0x3FFF) }
        nonmutating set { self.rawFlags = (self.rawFlags & 0xC000) | (newValue.rawValue & 0x3FFF) }
    }

    /// The LRU segment the item is linked in: 0 HOT, 1 WARM, 2 COLD, 3 TEMP (memcached's `ITEM_lruid`).
    @inlinable var segment: Int {
        get { Int(self.rawFlags >> Item.segmentShift) }
        nonmutating set { self.rawFlags = (self.rawFlags & 0x3FFF) | (UInt16(newValue) << Item.segmentShift) }
    }

    /// The LRU segment, as `MemcachedStore.hot` ... `temporary`.
    @inlinable public var lruSegment: Int { self.segment }

    /// The slab class of the chunk holding the header.
    @inlinable public var classID: Int {
        get { Int(self.base.load(fromByteOffset: 10, as: UInt8.self)) }
        nonmutating set { self.base.storeBytes(of: UInt8(newValue), toByteOffset: 10, as: UInt8.self) }
    }

    @inlinable public var keyLength: Int {
        get { Int(self.base.load(fromByteOffset: 11, as: UInt8.self)) }
        nonmutating set { self.base.storeBytes(of: UInt8(newValue), toByteOffset: 11, as: UInt8.self) }
    }

    /// The value's length in bytes (memcached's `nbytes` less its CRLF).
    @inlinable public var valueLength: Int {
        get { Int(self.base.load(fromByteOffset: 12, as: UInt32.self)) }
        nonmutating set { self.base.storeBytes(of: UInt32(newValue), toByteOffset: 12, as: UInt32.self) }
    }

    /// The last access, in seconds since the store started (memcached's `time`, a `rel_time_t`).
    @inlinable public var lastAccess: UInt32 {
        get { self.base.load(fromByteOffset: 32, as: UInt32.self) }
        nonmutating set { self.base.storeBytes(of: newValue, toByteOffset: 32, as: UInt32.self) }
    }

    /// When the item expires, in store seconds; 0 never.
    @inlinable public var expiry: UInt32 {
        get { self.base.load(fromByteOffset: 36, as: UInt32.self) }
        nonmutating set { self.base.storeBytes(of: newValue, toByteOffset: 36, as: UInt32.self) }
    }

    @inlinable public var cas: UInt64 {
        get { self.base.load(fromByteOffset: 40, as: UInt64.self) }
        nonmutating set { self.base.storeBytes(of: newValue, toByteOffset: 40, as: UInt64.self) }
    }

    @inlinable public var clientFlags: UInt32 {
        get { self.base.load(fromByteOffset: 48, as: UInt32.self) }
        nonmutating set { self.base.storeBytes(of: newValue, toByteOffset: 48, as: UInt32.self) }
    }

    @inlinable var hash: UInt32 {
        get { self.base.load(fromByteOffset: 52, as: UInt32.self) }
        nonmutating set { self.base.storeBytes(of: newValue, toByteOffset: 52, as: UInt32.self) }
    }

    @inlinable public var key: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: self.base + Item.headerSize, count: self.keyLength)
    }

    @inlinable var valueStart: UnsafeMutableRawPointer { self.base + Item.headerSize + self.keyLength }

    @inlinable public var isChunked: Bool { self.rawFlags & Flags.chunked.rawValue != 0 }

    /// The value's bytes of a small item (in one chunk).
    @inlinable public var contiguousValue: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: self.valueStart, count: self.valueLength)
    }

    /// The first chunk of a chunked item's value.
    @inlinable var firstChunk: Chunk? {
        get { Chunk(bits: self.valueStart.loadUnaligned(as: UInt.self)) }
        nonmutating set { self.valueStart.storeBytes(of: newValue?.bits ?? 0, as: UInt.self) }
    }

    /// Calls `body` with each piece of the value, in order (one piece unless the item is chunked).
    @inlinable public func forEachValuePiece(_ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        if !self.isChunked {
            try body(self.contiguousValue)
            return
        }
        var chunk = self.firstChunk
        while let current = chunk {
            try body(UnsafeRawBufferPointer(start: current.data, count: current.used))
            chunk = current.next
        }
    }

    /// Copies `bytes` into the value at `offset` (the value's space was sized by the store).
    @inlinable public func writeValue(_ bytes: UnsafeRawBufferPointer, at offset: Int) {
        guard bytes.count > 0 else { return }
        if !self.isChunked {
            (self.valueStart + offset).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
            return
        }
        var skip = offset
        var source = bytes
        var chunk = self.firstChunk
        while let current = chunk, !source.isEmpty {
            if skip >= current.capacity {
                skip -= current.capacity
            } else {
                let n = min(current.capacity - skip, source.count)
                (current.data + skip).copyMemory(from: source.baseAddress!, byteCount: n)
                current.used = max(current.used, skip + n)
                source = UnsafeRawBufferPointer(rebasing: source[n...])
                skip = 0
            }
            chunk = current.next
        }
    }

    /// The value as an array (tests, small values).
    public var valueBytes: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(self.valueLength)
        self.forEachValuePiece { bytes.append(contentsOf: $0) }
        return bytes
    }

    func keyEquals(_ key: UnsafeRawBufferPointer) -> Bool {
        self.keyLength == key.count
            && (key.count == 0 || memcmp(self.base + Item.headerSize, key.baseAddress!, key.count) == 0)
    }
}

/// A piece of a large item's value, in a chunk of its own (memcached's `item_chunk`).
///
/// ```
///  0 next chunk   8 flags (UInt16: chunk)   10 class   12 bytes used (UInt32)   16 the item it belongs to
/// 24 capacity (UInt32)   32 data
/// ```
public struct Chunk: Equatable {
    @usableFromInline let base: UnsafeMutableRawPointer

    @inlinable init(_ base: UnsafeMutableRawPointer) { self.base = base }

    @inlinable init?(bits: UInt) {
        guard let base = UnsafeMutableRawPointer(bitPattern: bits) else { return nil }
        self.base = base
    }

    @inlinable var bits: UInt { UInt(bitPattern: self.base) }

    public static let headerSize = 32

    @inlinable var next: Chunk? {
        get { Chunk(bits: self.base.load(fromByteOffset: 0, as: UInt.self)) }
        nonmutating set { self.base.storeBytes(of: newValue?.bits ?? 0, toByteOffset: 0, as: UInt.self) }
    }

    @inlinable var classID: Int {
        get { Int(self.base.load(fromByteOffset: 10, as: UInt8.self)) }
        nonmutating set { self.base.storeBytes(of: UInt8(newValue), toByteOffset: 10, as: UInt8.self) }
    }

    @inlinable var used: Int {
        get { Int(self.base.load(fromByteOffset: 12, as: UInt32.self)) }
        nonmutating set { self.base.storeBytes(of: UInt32(newValue), toByteOffset: 12, as: UInt32.self) }
    }

    @inlinable var head: Item {
        get { Item(UnsafeMutableRawPointer(bitPattern: self.base.load(fromByteOffset: 16, as: UInt.self))!) }
        nonmutating set { self.base.storeBytes(of: newValue.bits, toByteOffset: 16, as: UInt.self) }
    }

    /// Filled in by the store from the chunk's class.
    @inlinable var capacity: Int {
        get { Int(self.base.load(fromByteOffset: 24, as: UInt32.self)) }
        nonmutating set { self.base.storeBytes(of: UInt32(newValue), toByteOffset: 24, as: UInt32.self) }
    }

    @inlinable var data: UnsafeMutableRawPointer { self.base + Chunk.headerSize }
}
