public import SwiftletKeyspace

/// A value read from RDB data: strings stay bytes (the keyspace picks `int`/`embstr`/`raw` when storing them);
/// collections are built in the encoding Redis 7.0 would give them with the same thresholds.
public enum RDBDecodedValue {
    case string([UInt8])
    case collection(Value)
}

/// Reads RDB primitives and values from an ``RDBByteSource`` (Redis's `rdbLoad*` functions). Accepts every
/// value encoding Redis 7.0 loads; module and stream values are refused with ``RDBError/Kind/unsupported(_:)``.
public struct RDBDecoder {
    public let source: RDBByteSource
    public var limits: RDBLoadLimits

    public init(source: RDBByteSource, limits: RDBLoadLimits = RDBLoadLimits()) {
        self.source = source
        self.limits = limits
    }

    func corrupt(_ what: String, at offset: Int? = nil) -> RDBError {
        RDBError(offset: offset ?? self.source.offset, .corrupt(what))
    }

    // MARK: - Primitives

    /// `rdbLoadLenByRef`: a length, or (`encoded`) the special string encoding in the low 6 bits.
    public func readLength(_ what: String) throws -> (value: UInt64, encoded: Bool) {
        let first = try self.source.readByte(what)
        switch first >> 6 {
        case RDBFormat.length6Bit:
            return (UInt64(first & 0x3F), false)
        case RDBFormat.length14Bit:
            let second = try self.source.readByte(what)
            return (UInt64(first & 0x3F) << 8 | UInt64(second), false)
        case RDBFormat.encodedValue:
            return (UInt64(first & 0x3F), true)
        default:
            if first == RDBFormat.length32Bit {
                return (
                    UInt64(UInt32(truncatingIfNeeded: try self.source.readLittleEndian(4, what)).byteSwapped), false
                )
            }
            if first == RDBFormat.length64Bit {
                return (try self.source.readLittleEndian(8, what).byteSwapped, false)
            }
            throw self.corrupt(
                "unknown length encoding 0x\(String(first, radix: 16)) in \(what)",
                at: self.source.offset - 1
            )
        }
    }

    /// A plain length (not a string encoding), bounded so that it fits an `Int`.
    public func readCount(_ what: String) throws -> Int {
        let start = self.source.offset
        let (value, encoded) = try self.readLength(what)
        if encoded || value > UInt64(Int.max) { throw self.corrupt("invalid length in \(what)", at: start) }
        return Int(value)
    }

    /// `rdbGenericLoadStringObject`: plain, integer-encoded (rendered as decimal text) or LZF-compressed.
    public func readString(_ what: String) throws -> [UInt8] {
        let start = self.source.offset
        let (value, encoded) = try self.readLength(what)
        if !encoded {
            guard value <= UInt64(Int.max) else { throw self.corrupt("string too long in \(what)", at: start) }
            return try self.source.readBytes(Int(value), what)
        }
        switch UInt8(value) {
        case RDBFormat.encodingInt8:
            let v = Int64(Int8(truncatingIfNeeded: try self.source.readLittleEndian(1, what)))
            return NumberFormat.formatInt64(v)
        case RDBFormat.encodingInt16:
            let v = Int64(Int16(truncatingIfNeeded: try self.source.readLittleEndian(2, what)))
            return NumberFormat.formatInt64(v)
        case RDBFormat.encodingInt32:
            let v = Int64(Int32(truncatingIfNeeded: try self.source.readLittleEndian(4, what)))
            return NumberFormat.formatInt64(v)
        case RDBFormat.encodingLZF:
            let compressed = try self.readCount(what)
            let length = try self.readCount(what)
            if length == 0 { throw self.corrupt("LZF string of length 0 in \(what)", at: start) }
            let dataOffset = self.source.offset
            return try self.source.withBytes(compressed, what) { packed in
                do {
                    return try LZF.decompress(packed, count: length)
                } catch {
                    throw self.corrupt("invalid LZF data (\(error)) in \(what)", at: dataOffset)
                }
            }
        default:
            throw self.corrupt("unknown string encoding \(value) in \(what)", at: start)
        }
    }

    /// `rdbLoadBinaryDoubleValue`.
    public func readBinaryDouble(_ what: String) throws -> Double {
        Double(bitPattern: try self.source.readLittleEndian(8, what))
    }

    /// `rdbLoadDoubleValue` (RDB_TYPE_ZSET): a length byte, 253/254/255 for NaN/+inf/-inf, else ASCII text.
    public func readASCIIDouble(_ what: String) throws -> Double {
        let start = self.source.offset
        let n = try self.source.readByte(what)
        switch n {
        case 253: return .nan
        case 254: return .infinity
        case 255: return -.infinity
        default:
            let text = try self.source.readBytes(Int(n), what)
            guard let v = Self.parseScore(text) else { throw self.corrupt("invalid double in \(what)", at: start) }
            return v
        }
    }

    /// A score as `strtod` reads it (RDB text scores may be `inf`, `-inf`, or carry an exponent).
    static func parseScore(_ text: [UInt8]) -> Double? {
        text.withUnsafeBytes { NumberFormat.parseDouble($0) }
    }

    // MARK: - Values

    /// Reads and checks a value type byte (`rdbLoadObjectType`).
    public func readValueType() throws -> RDBFormat.ValueType {
        let start = self.source.offset
        let b = try self.source.readByte("value type")
        guard let type = RDBFormat.ValueType(rawValue: b) else {
            throw self.corrupt("unknown value type \(b)", at: start)
        }
        return type
    }

    /// `rdbLoadObject`: the value of type `type`.
    public func readValue(_ type: RDBFormat.ValueType) throws -> RDBDecodedValue {
        let start = self.source.offset
        switch type {
        case .string:
            return .string(try self.readString("string value"))
        case .list:
            let n = try self.readCount("list length")
            if n == 0 { throw RDBError(offset: start, .emptyKey) }
            let list = ListValue(fill: self.limits.listMaxListpackSize)
            for _ in 0..<n {
                try self.readString("list element").withUnsafeBytes { list.append($0) }
            }
            return .collection(.list(list))
        case .set:
            return .collection(.set(try self.readSet(start)))
        case .zset, .zset2:
            return .collection(.sortedSet(try self.readSortedSet(binary: type == .zset2, start)))
        case .hash:
            return .collection(.hash(try self.readHash(start)))
        case .listQuicklist, .listQuicklist2:
            return .collection(.list(try self.readQuicklist(version2: type == .listQuicklist2, start)))
        case .hashZipmap, .listZiplist, .setIntset, .zsetZiplist, .hashZiplist, .hashListpack, .zsetListpack:
            let blob = try self.readString("\(type) blob")
            return .collection(try self.decodeBlob(type, blob, at: start))
        case .modulePreGA, .module2:
            throw RDBError(
                offset: start,
                .unsupported("module value (type \(type.rawValue)): modules are not supported")
            )
        case .streamListpacks, .streamListpacks2:
            throw RDBError(
                offset: start,
                .unsupported("stream value (type \(type.rawValue)): streams are not supported")
            )
        }
    }

    func readSet(_ start: Int) throws -> SetValue {
        let n = try self.readCount("set length")
        if n == 0 { throw RDBError(offset: start, .emptyKey) }
        let set = SetValue()
        if n > min(self.limits.setMaxIntsetEntries, 1 << 30) { set.convertToTable() }
        for _ in 0..<n {
            let at = self.source.offset
            let member = try self.readString("set member")
            let added = member.withUnsafeBytes { set.add($0, maxIntsetEntries: self.limits.setMaxIntsetEntries) }
            if !added { throw self.corrupt("duplicate set member", at: at) }
        }
        return set
    }

    func readSortedSet(binary: Bool, _ start: Int) throws -> SortedSetValue {
        let n = try self.readCount("zset length")
        if n == 0 { throw RDBError(offset: start, .emptyKey) }
        let unlimited = SortedSetValue.Limits(entries: .max, value: .max)
        if n > self.limits.zsetMaxListpackEntries {
            // Too many members for a listpack whatever their length: build the skiplist directly.
            let zset = SortedSetValue(listpack: false)
            for _ in 0..<n {
                let (member, score, at) = try self.readScoredMember(binary: binary)
                guard case .added = member.withUnsafeBytes({ zset.add($0, score: score, limits: unlimited) }) else {
                    throw self.corrupt("duplicate zset member", at: at)
                }
            }
            return zset
        }
        // Few members: Redis converts to a listpack after loading when every member is short enough.
        var pairs: [([UInt8], Double, Int)] = []
        pairs.reserveCapacity(n)
        var longest = 0
        for _ in 0..<n {
            let pair = try self.readScoredMember(binary: binary)
            longest = max(longest, pair.0.count)
            pairs.append(pair)
        }
        let zset = SortedSetValue(listpack: longest <= self.limits.zsetMaxListpackValue)
        for (member, score, at) in pairs {
            guard case .added = member.withUnsafeBytes({ zset.add($0, score: score, limits: unlimited) }) else {
                throw self.corrupt("duplicate zset member", at: at)
            }
        }
        return zset
    }

    func readScoredMember(binary: Bool) throws -> ([UInt8], Double, Int) {
        let at = self.source.offset
        let member = try self.readString("zset member")
        let score = binary ? try self.readBinaryDouble("zset score") : try self.readASCIIDouble("zset score")
        if score.isNaN { throw self.corrupt("zset score is NaN", at: at) }
        return (member, score, at)
    }

    func readHash(_ start: Int) throws -> HashValue {
        let n = try self.readCount("hash length")
        if n == 0 { throw RDBError(offset: start, .emptyKey) }
        let hash = HashValue()
        if n > self.limits.hashMaxListpackEntries { hash.convertToTable() }
        let limits = HashLimits(
            maxEntries: self.limits.hashMaxListpackEntries,
            maxValue: self.limits.hashMaxListpackValue
        )
        for _ in 0..<n {
            let at = self.source.offset
            let field = try self.readString("hash field")
            let value = try self.readString("hash value")
            let added = field.withUnsafeBytes { f in value.withUnsafeBytes { hash.set(f, $0, limits: limits) } }
            if !added { throw self.corrupt("duplicate hash field", at: at) }
        }
        return hash
    }

    func readQuicklist(version2: Bool, _ start: Int) throws -> ListValue {
        let nodes = try self.readCount("quicklist node count")
        if nodes == 0 { throw RDBError(offset: start, .emptyKey) }
        let list = ListValue(fill: self.limits.listMaxListpackSize)
        for _ in 0..<nodes {
            var container = RDBFormat.containerPacked
            if version2 {
                let at = self.source.offset
                container = UInt64(try self.readCount("quicklist node container"))
                if container != RDBFormat.containerPacked && container != RDBFormat.containerPlain {
                    throw self.corrupt("quicklist node container \(container) is neither PLAIN nor PACKED", at: at)
                }
            }
            let at = self.source.offset
            let data = try self.readString("quicklist node")
            if data.isEmpty { throw self.corrupt("empty quicklist node", at: at) }
            if container == RDBFormat.containerPlain {
                data.withUnsafeBytes { list.append($0) }
                continue
            }
            do {
                try data.withUnsafeBytes { blob in
                    if version2 {
                        try Listpack.elements(blob) { list.append($0) }
                    } else {
                        try Ziplist.elements(blob) { list.append($0) }
                    }
                }
            } catch let failure as BlobFailure {
                throw self.corrupt("\(version2 ? "listpack" : "ziplist") node: \(failure.reason)", at: at)
            }
        }
        if list.count == 0 { throw RDBError(offset: start, .emptyKey) }
        return list
    }

    /// The single-blob encodings: zipmap, ziplists, intset and listpacks.
    func decodeBlob(_ type: RDBFormat.ValueType, _ blob: [UInt8], at start: Int) throws -> Value {
        var pairs: [[UInt8]] = []
        do {
            try blob.withUnsafeBytes { raw in
                switch type {
                case .hashZipmap:
                    try Zipmap.pairs(raw) { pairs.append(Array($0)) }
                case .listZiplist, .zsetZiplist, .hashZiplist:
                    try Ziplist.elements(raw) { pairs.append(Array($0)) }
                case .hashListpack, .zsetListpack:
                    try Listpack.elements(raw) { pairs.append(Array($0)) }
                case .setIntset:
                    try Intset.values(raw) { pairs.append(NumberFormat.formatInt64($0)) }
                default:
                    break
                }
            }
        } catch let failure as BlobFailure {
            throw self.corrupt("\(type) integrity check failed: \(failure.reason)", at: start)
        }
        if pairs.isEmpty {
            if type == .setIntset { throw self.corrupt("empty intset", at: start) }
            throw RDBError(offset: start, .emptyKey)
        }
        switch type {
        case .listZiplist:
            let list = ListValue(fill: self.limits.listMaxListpackSize)
            for e in pairs { e.withUnsafeBytes { list.append($0) } }
            return .list(list)
        case .setIntset:
            let set = SetValue()
            for m in pairs { _ = m.withUnsafeBytes { set.add($0, maxIntsetEntries: .max) } }
            if set.count > self.limits.setMaxIntsetEntries { set.convertToTable() }
            return .set(set)
        case .zsetZiplist, .zsetListpack:
            guard pairs.count % 2 == 0 else { throw self.corrupt("\(type) has an odd number of elements", at: start) }
            let zset = SortedSetValue(listpack: true)
            let unlimited = SortedSetValue.Limits(entries: .max, value: .max)
            for i in stride(from: 0, to: pairs.count, by: 2) {
                guard let score = Self.parseScore(pairs[i + 1]) else {
                    throw self.corrupt("\(type) has an invalid score", at: start)
                }
                guard case .added = pairs[i].withUnsafeBytes({ zset.add($0, score: score, limits: unlimited) }) else {
                    throw self.corrupt("\(type) has duplicate members", at: start)
                }
            }
            if zset.count > self.limits.zsetMaxListpackEntries { zset.convertToSkiplist() }
            return .sortedSet(zset)
        default:
            guard pairs.count % 2 == 0 else { throw self.corrupt("\(type) has an odd number of elements", at: start) }
            let hash = HashValue()
            let unlimited = HashLimits(maxEntries: .max, maxValue: .max)
            var longest = 0
            for i in stride(from: 0, to: pairs.count, by: 2) {
                longest = max(longest, pairs[i].count, pairs[i + 1].count)
                let added = pairs[i].withUnsafeBytes { f in
                    pairs[i + 1].withUnsafeBytes { hash.set(f, $0, limits: unlimited) }
                }
                if !added { throw self.corrupt("\(type) has duplicate fields", at: start) }
            }
            // Redis checks only the count for listpacks and ziplists; a zipmap also converts for long values.
            if hash.count > self.limits.hashMaxListpackEntries
                || (type == .hashZipmap && longest > self.limits.hashMaxListpackValue)
            {
                hash.convertToTable()
            }
            return .hash(hash)
        }
    }
}
