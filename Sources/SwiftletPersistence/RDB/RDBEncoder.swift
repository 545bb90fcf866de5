public import SwiftletKeyspace

/// Writes RDB primitives and values into a ``ByteSink`` (Redis's `rdbSave*` functions).
///
/// Each value is written in the encoding that matches its current Swiftlet encoding (what `OBJECT ENCODING`
/// reports), so that Redis loads it with the same encoding: a `listpack` hash as `RDB_TYPE_HASH_LISTPACK`, an
/// `intset` set as `RDB_TYPE_SET_INTSET`, a list as `RDB_TYPE_LIST_QUICKLIST_2` with one listpack per node.
public struct RDBEncoder<Sink: ByteSink> {
    public var sink: Sink
    /// `rdbcompression`: LZF-compress strings longer than 20 bytes when that saves at least 4 bytes.
    public let compression: Bool
    /// Scratch space for one listpack or intset blob, reused between values.
    var scratch: [UInt8] = []
    /// Whether each key's idle time (IDLE) or LFU counter (FREQ) goes before it (snapshots; never DUMP).
    public let access: RDBWriter.AccessInfo

    public init(sink: Sink, compression: Bool, access: RDBWriter.AccessInfo = .none) {
        self.sink = sink
        self.compression = compression
        self.access = access
    }

    // MARK: - Primitives

    /// `rdbSaveLen`: 6, 14, 32 or 64-bit length.
    public mutating func writeLength(_ length: UInt64) throws {
        if length < (1 << 6) {
            try self.sink.write(byte: UInt8(length))
        } else if length < (1 << 14) {
            try self.sink.write(byte: UInt8(length >> 8) | (RDBFormat.length14Bit << 6))
            try self.sink.write(byte: UInt8(truncatingIfNeeded: length))
        } else if length <= UInt64(UInt32.max) {
            try self.sink.write(byte: RDBFormat.length32Bit)
            try self.sink.write(littleEndian: UInt64(UInt32(length).byteSwapped), count: 4)
        } else {
            try self.sink.write(byte: RDBFormat.length64Bit)
            try self.sink.write(littleEndian: length.byteSwapped, count: 8)
        }
    }

    /// `rdbEncodeInteger`: the INT8/16/32 string encodings, or `false` when `value` needs more bits.
    mutating func writeEncodedInteger(_ value: Int64) throws -> Bool {
        let special = RDBFormat.encodedValue << 6
        if value >= Int64(Int8.min) && value <= Int64(Int8.max) {
            try self.sink.write(byte: special | RDBFormat.encodingInt8)
            try self.sink.write(littleEndian: UInt64(bitPattern: value), count: 1)
        } else if value >= Int64(Int16.min) && value <= Int64(Int16.max) {
            try self.sink.write(byte: special | RDBFormat.encodingInt16)
            try self.sink.write(littleEndian: UInt64(bitPattern: value), count: 2)
        } else if value >= Int64(Int32.min) && value <= Int64(Int32.max) {
            try self.sink.write(byte: special | RDBFormat.encodingInt32)
            try self.sink.write(littleEndian: UInt64(bitPattern: value), count: 4)
        } else {
            return false
        }
        return true
    }

    /// `rdbSaveLongLongAsStringObject`: an integer string, encoded when it fits 32 bits, else as decimal text.
    public mutating func writeInteger(_ value: Int64) throws {
        if try self.writeEncodedInteger(value) { return }
        try DecimalText.withDigits(of: value) { (digits: UnsafeRawBufferPointer) throws in
            try self.writeLength(UInt64(digits.count))
            try self.sink.write(digits)
        }
    }

    /// `rdbSaveRawString`: short canonical integers as INT encodings, long strings LZF-compressed when enabled
    /// and worth it, everything else as length + bytes.
    public mutating func writeString(_ bytes: UnsafeRawBufferPointer) throws {
        if bytes.count <= 11, bytes.count > 0, let v = NumberFormat.parseInt64(bytes),
            try self.writeEncodedInteger(v)
        {
            return
        }
        if self.compression && bytes.count > 20 {
            // Compressed into a temporary buffer (on the stack when small): a snapshot compresses every long string.
            let limit = bytes.count - 4
            let compressed = try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: limit + LZF.outputSlack) {
                (out: UnsafeMutableBufferPointer<UInt8>) throws -> Bool in
                guard let count = LZF.compress(bytes, limit: limit, into: out.baseAddress!) else { return false }
                try self.sink.write(byte: (RDBFormat.encodedValue << 6) | RDBFormat.encodingLZF)
                try self.writeLength(UInt64(count))
                try self.writeLength(UInt64(bytes.count))
                try self.sink.write(UnsafeRawBufferPointer(start: out.baseAddress, count: count))
                return true
            }
            if compressed { return }
        }
        try self.writeLength(UInt64(bytes.count))
        try self.sink.write(bytes)
    }

    public mutating func writeString(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) throws in try self.writeString(raw) }
    }

    /// `rdbSaveBinaryDoubleValue`: 8 bytes, little endian.
    public mutating func writeBinaryDouble(_ value: Double) throws {
        try self.sink.write(littleEndian: value.bitPattern, count: 8)
    }

    // MARK: - Values

    /// The type byte a value is written with.
    public static func valueType(_ value: Value) -> RDBFormat.ValueType {
        switch value {
        case .embedded, .int, .raw: return .string
        case .list: return .listQuicklist2
        case .set(let s): return s.isIntset ? .setIntset : .set
        case .sortedSet(let z): return z.isListpack ? .zsetListpack : .zset2
        case .hash(let h): return h.isPacked ? .hashListpack : .hash
        }
    }

    /// `rdbSaveObjectType` + `rdbSaveObject` for the value of `entry`.
    public mutating func writeObject(_ entry: Entry) throws {
        try self.sink.write(byte: Self.valueType(entry.value).rawValue)
        try self.writeObjectBody(entry)
    }

    /// `rdbSaveObject`: the value of `entry` without its type byte.
    public mutating func writeObjectBody(_ entry: Entry) throws {
        switch entry.value {
        case .int(let v):
            try self.writeInteger(v)
        case .embedded, .raw:
            // Why `!`: these cases are strings.
            try entry.withStringBytes { (b: UnsafeRawBufferPointer) throws in try self.writeString(b) }!
        case .list(let list):
            try self.writeList(list)
        case .set(let set):
            try self.writeSet(set)
        case .sortedSet(let zset):
            try self.writeSortedSet(zset)
        case .hash(let hash):
            try self.writeHash(hash)
        }
    }

    /// Quicklist 2: the node count, then per node its container (packed) and its listpack as a string.
    mutating func writeList(_ list: ListValue) throws {
        try self.writeLength(UInt64(list.nodeCount))
        var scratch = self.scratch
        defer { self.scratch = scratch }
        try list.forEachNode { (entries: UnsafeRawBufferPointer, count: Int) throws in
            try self.writeLength(RDBFormat.containerPacked)
            ListpackBuilder.frame(entries: entries, count: count, into: &scratch)
            try self.writeString(scratch)
        }
    }

    mutating func writeSet(_ set: SetValue) throws {
        if set.isIntset {
            var blob = self.scratch
            IntsetBlob.build(set.ints, into: &blob)
            try self.writeString(blob)
            self.scratch = blob
            return
        }
        try self.writeLength(UInt64(set.count))
        try set.forEachMember { (m: UnsafeRawBufferPointer) throws in try self.writeString(m) }
    }

    mutating func writeHash(_ hash: HashValue) throws {
        if hash.isPacked {
            var builder = ListpackBuilder(reusing: self.scratch)
            hash.forEachPair { field, value in
                builder.append(field)
                builder.append(value)
            }
            let blob = builder.finish()
            try self.writeString(blob)
            self.scratch = blob
            return
        }
        try self.writeLength(UInt64(hash.count))
        try hash.forEachPair { (field: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) throws in
            try self.writeString(field)
            try self.writeString(value)
        }
    }

    mutating func writeSortedSet(_ zset: SortedSetValue) throws {
        if zset.isListpack {
            var builder = ListpackBuilder(reusing: self.scratch)
            zset.walk { node in
                node.withMember { builder.append($0) }
                NumberFormat.formatDouble(node.score).withUnsafeBytes { builder.append($0) }
                return true
            }
            let blob = builder.finish()
            try self.writeString(blob)
            self.scratch = blob
            return
        }
        try self.writeLength(UInt64(zset.count))
        if zset.count == 0 { return }
        // Greatest to smallest, as Redis writes them, so that a loader inserts each at the head.
        try zset.walk(from: zset.count - 1, reverse: true) { node in
            try node.withMember { try self.writeString($0) }
            try self.writeBinaryDouble(node.score)
            return true
        }
    }
}

/// Builds a listpack blob (`lpNew` + `lpAppend`): a 6-byte header (total bytes, element count), the entries,
/// and the `0xFF` terminator. Canonical integer text is stored as an integer entry, as `lpAppend` does.
struct ListpackBuilder {
    var bytes: [UInt8]
    var count = 0

    init(reusing storage: [UInt8]) {
        self.bytes = storage
        self.bytes.removeAll(keepingCapacity: true)
        self.bytes.append(contentsOf: [0, 0, 0, 0, 0, 0])
    }

    /// Frames raw listpack entries (a list node's) as a complete listpack.
    static func frame(entries: UnsafeRawBufferPointer, count: Int, into bytes: inout [UInt8]) {
        bytes.removeAll(keepingCapacity: true)
        bytes.append(contentsOf: [0, 0, 0, 0, 0, 0])
        bytes.append(contentsOf: entries)
        Self.close(&bytes, count: count)
    }

    static func close(_ bytes: inout [UInt8], count: Int) {
        bytes.append(0xFF)
        let total = UInt32(truncatingIfNeeded: bytes.count)
        for i in 0..<4 { bytes[i] = UInt8(truncatingIfNeeded: total >> (8 * UInt32(i))) }
        // 65535 means "count them" (LP_HDR_NUMELE_UNKNOWN).
        let n = UInt16(min(count, 65535))
        bytes[4] = UInt8(truncatingIfNeeded: n)
        bytes[5] = UInt8(truncatingIfNeeded: n >> 8)
    }

    mutating func append(_ element: UnsafeRawBufferPointer) {
        if element.count <= 20, let v = NumberFormat.parseInt64(element) {
            self.append(integer: v)
            return
        }
        let n = element.count
        let start = self.bytes.count
        if n < 64 {
            self.bytes.append(0x80 | UInt8(n))
        } else if n < 4096 {
            self.bytes.append(0xE0 | UInt8(n >> 8))
            self.bytes.append(UInt8(truncatingIfNeeded: n))
        } else {
            self.bytes.append(0xF0)
            for i in 0..<4 { self.bytes.append(UInt8(truncatingIfNeeded: n >> (8 * i))) }
        }
        self.bytes.append(contentsOf: element)
        self.appendBacklen(self.bytes.count - start)
        self.count += 1
    }

    mutating func append(integer v: Int64) {
        let start = self.bytes.count
        if v >= 0 && v <= 127 {
            self.bytes.append(UInt8(v))
        } else if v >= -4096 && v <= 4095 {
            let u = v < 0 ? (1 << 13) + v : v
            self.bytes.append(0xC0 | UInt8(truncatingIfNeeded: u >> 8))
            self.bytes.append(UInt8(truncatingIfNeeded: u))
        } else {
            let width: Int
            let tag: UInt8
            if v >= Int64(Int16.min) && v <= Int64(Int16.max) {
                (width, tag) = (2, 0xF1)
            } else if v >= -8_388_608 && v <= 8_388_607 {
                (width, tag) = (3, 0xF2)
            } else if v >= Int64(Int32.min) && v <= Int64(Int32.max) {
                (width, tag) = (4, 0xF3)
            } else {
                (width, tag) = (8, 0xF4)
            }
            self.bytes.append(tag)
            let u = UInt64(bitPattern: v)
            for i in 0..<width { self.bytes.append(UInt8(truncatingIfNeeded: u >> (8 * UInt64(i)))) }
        }
        self.appendBacklen(self.bytes.count - start)
        self.count += 1
    }

    /// The entry's encoding+data length, 7 bits per byte, most significant group first; every byte but the
    /// first carries the continuation bit (read right to left).
    mutating func appendBacklen(_ l: Int) {
        let n = l <= 127 ? 1 : l < 16383 ? 2 : l < 2_097_151 ? 3 : l < 268_435_455 ? 4 : 5
        for i in 0..<n {
            var byte = UInt8(truncatingIfNeeded: (l >> (7 * (n - 1 - i))) & 127)
            if i > 0 { byte |= 128 }
            self.bytes.append(byte)
        }
    }

    mutating func finish() -> [UInt8] {
        Self.close(&self.bytes, count: self.count)
        return self.bytes
    }
}

/// Builds an intset blob: encoding width (2, 4 or 8) and length as 32-bit little-endian words, then the sorted
/// values, little endian, all of that width.
enum IntsetBlob {
    static func build(_ values: [Int64], into bytes: inout [UInt8]) {
        var width = 2
        for v in values {
            if v < Int64(Int32.min) || v > Int64(Int32.max) {
                width = 8
                break
            }
            if v < Int64(Int16.min) || v > Int64(Int16.max) { width = 4 }
        }
        bytes.removeAll(keepingCapacity: true)
        bytes.reserveCapacity(8 + values.count * width)
        for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: width >> (8 * i))) }
        for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: values.count >> (8 * i))) }
        for v in values {
            let u = UInt64(bitPattern: v)
            for i in 0..<width { bytes.append(UInt8(truncatingIfNeeded: u >> (8 * UInt64(i)))) }
        }
    }
}
