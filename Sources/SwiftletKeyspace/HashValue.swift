/// The size limits of the compact hash encoding, read from CONFIG by the command (`hash-max-listpack-entries`,
/// `hash-max-listpack-value`).
public struct HashLimits: Sendable {
    public var maxEntries: Int
    public var maxValue: Int

    public init(maxEntries: Int, maxValue: Int) {
        self.maxEntries = maxEntries
        self.maxValue = maxValue
    }
}

/// A hash: field → value, binary safe.
///
/// Two encodings, named as Redis 7.0 names them in `OBJECT ENCODING`:
/// - `listpack`: fields and values alternate in one ``PackedList``, in insertion order (an updated field keeps its
///   place), while the hash has at most `hash-max-listpack-entries` fields and no field or value longer than
///   `hash-max-listpack-value` bytes. Lookups scan the list, as Redis does.
/// - `hashtable`: a ``FieldTable``. The conversion is one-way.
///
/// Buffers handed out (values, fields during iteration) are valid until the hash is next mutated.
public final class HashValue: CollectionValue {
    /// The listpack encoding, while `table` is nil.
    @exclusivity(unchecked)
    private var packed = PackedList()
    @exclusivity(unchecked)
    private var packedCount = 0
    /// The hashtable encoding, once converted.
    @exclusivity(unchecked)
    public private(set) var table: FieldTable?

    public init() {}

    deinit {
        self.packed.release()
    }

    public var count: Int { self.table?.count ?? self.packedCount }
    public var isPacked: Bool { self.table == nil }
    public var encodingName: String { self.table == nil ? "listpack" : "hashtable" }
    public var memoryUsage: Int { self.table?.memoryUsage ?? (48 + self.packed.capacity) }

    public func copy() -> HashValue {
        let copy = HashValue()
        if let table = self.table {
            copy.table = table.copy()
        } else {
            copy.packed = self.packed.copy()
            copy.packedCount = self.packedCount
        }
        return copy
    }

    // MARK: - Lookup

    /// Byte offset of the packed entry whose field is `field`.
    private func packedOffset(of field: UnsafeRawBufferPointer) -> Int? {
        var offset = 0
        while offset < self.packed.used {
            let (f, valueOffset) = self.packed.element(at: offset)
            if f.count == field.count && (f.count == 0 || memcmpBytes(f.baseAddress!, field.baseAddress!, f.count)) {
                return offset
            }
            offset = self.packed.end(of: valueOffset)
        }
        return nil
    }

    /// The value of `field`, valid until the hash is mutated.
    public func value(of field: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        if let table = self.table {
            return table.find(field).map(FieldTable.value)
        }
        guard let offset = self.packedOffset(of: field) else { return nil }
        return self.packed.element(at: self.packed.end(of: offset)).bytes
    }

    public func contains(_ field: UnsafeRawBufferPointer) -> Bool {
        if let table = self.table { return table.find(field) != nil }
        return self.packedOffset(of: field) != nil
    }

    // MARK: - Mutation

    /// Sets `field` to `value`, converting to `hashtable` when the limits are passed (Redis's `hashTypeSet`).
    /// - Returns: `true` when the field is new.
    @discardableResult
    public func set(_ field: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, limits: HashLimits) -> Bool {
        if self.table == nil && (field.count > limits.maxValue || value.count > limits.maxValue) {
            self.convertToTable()
        }
        if let table = self.table { return table.set(field, value) }
        if let offset = self.packedOffset(of: field) {
            self.packed.replace(at: self.packed.end(of: offset), with: value)
            return false
        }
        self.packed.append(field)
        self.packed.append(value)
        self.packedCount += 1
        if self.packedCount > limits.maxEntries { self.convertToTable() }
        return true
    }

    /// Removes `field`; returns `true` if it was present.
    @discardableResult
    public func remove(_ field: UnsafeRawBufferPointer) -> Bool {
        if let table = self.table { return table.remove(field) }
        guard let offset = self.packedOffset(of: field) else { return false }
        self.packed.remove(from: offset, to: self.packed.end(of: self.packed.end(of: offset)))
        self.packedCount -= 1
        return true
    }

    /// Switches to the `hashtable` encoding (one-way).
    public func convertToTable() {
        guard self.table == nil else { return }
        let table = FieldTable(hasValues: true, capacity: self.packedCount)
        self.forEachPair { field, value in table.insertNew(field, value) }
        self.packed.release()
        self.packed = PackedList()
        self.packedCount = 0
        self.table = table
    }

    // MARK: - Iteration

    /// Calls `body` with every field and value (insertion order for `listpack`). No mutation meanwhile.
    public func forEachPair(
        _ body: (_ field: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Void
    ) rethrows {
        if let table = self.table {
            try table.forEachNode { try body(FieldTable.key($0), FieldTable.value($0)) }
            return
        }
        var offset = 0
        while offset < self.packed.used {
            let (field, valueOffset) = self.packed.element(at: offset)
            let (value, next) = self.packed.element(at: valueOffset)
            try body(field, value)
            offset = next
        }
    }

    /// One HSCAN step: a `listpack` hash returns everything with cursor 0, as Redis does; a `hashtable` follows
    /// ``FieldTable/scan(_:_:)``.
    public func scan(
        _ cursor: UInt64,
        _ body: (_ field: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Void
    ) -> UInt64 {
        if let table = self.table {
            return table.scan(cursor) { body(FieldTable.key($0), FieldTable.value($0)) }
        }
        self.forEachPair(body)
        return 0
    }

    /// A random field and its value, valid until the hash is mutated; `nil` when empty.
    public func randomPair<G: RandomNumberGenerator>(
        using rng: inout G
    ) -> (field: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)? {
        if let table = self.table {
            return table.randomNode(using: &rng).map { (FieldTable.key($0), FieldTable.value($0)) }
        }
        if self.packedCount == 0 { return nil }
        var index = Int(rng.next(upperBound: UInt64(self.packedCount)))
        var offset = 0
        while index > 0 {
            offset = self.packed.end(of: self.packed.end(of: offset))
            index -= 1
        }
        let (field, valueOffset) = self.packed.element(at: offset)
        return (field, self.packed.element(at: valueOffset).bytes)
    }
}
