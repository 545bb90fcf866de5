/// A set of byte strings.
///
/// Two encodings, named as Redis 7.0 names them in `OBJECT ENCODING`:
/// - `intset`: ascending `Int64`s, while every member is an integer in `string2ll`'s canonical form and there
///   are at most `set-max-intset-entries` of them (SMEMBERS then lists them sorted, as Redis does);
/// - `hashtable`: a ``FieldTable`` of members. The conversion is one-way.
///
/// Buffers handed out are valid until the set is next mutated.
public final class SetValue: CollectionValue {
    /// The intset encoding, while `table` is nil: sorted ascending, no duplicates.
    @exclusivity(unchecked)
    public private(set) var ints: [Int64] = []
    /// The hashtable encoding, once converted.
    @exclusivity(unchecked)
    public private(set) var table: FieldTable?

    /// Redis caps intsets at 2^30 entries whatever `set-max-intset-entries` says.
    static let intsetHardLimit = 1 << 30

    public init() {}

    public var count: Int { self.table?.count ?? self.ints.count }
    public var isIntset: Bool { self.table == nil }
    public var encodingName: String { self.table == nil ? "intset" : "hashtable" }
    public var memoryUsage: Int { self.table?.memoryUsage ?? (48 + self.ints.capacity * 8) }

    public func copy() -> SetValue {
        let copy = SetValue()
        if let table = self.table {
            copy.table = table.copy()
        } else {
            copy.ints = self.ints
        }
        return copy
    }

    // MARK: - Integers

    /// Index of `v` in `ints`, or where it would be inserted.
    private func position(of v: Int64) -> (index: Int, found: Bool) {
        var low = 0
        var high = self.ints.count
        // Appending ascending integers is the common case: check the end first.
        if let last = self.ints.last, v > last { return (self.ints.count, false) }
        while low < high {
            let mid = (low + high) >> 1
            let m = self.ints[mid]
            if m == v { return (mid, true) }
            if m < v { low = mid + 1 } else { high = mid }
        }
        return (low, false)
    }

    // MARK: - Membership

    public func contains(_ member: UnsafeRawBufferPointer) -> Bool {
        if let table = self.table { return table.find(member) != nil }
        guard let v = NumberFormat.parseInt64(member) else { return false }
        return self.position(of: v).found
    }

    /// Whether the integer `v` is a member (SINTER walking an intset).
    public func contains(integer v: Int64) -> Bool {
        if let table = self.table { return DecimalText.withDigits(of: v) { table.find($0) != nil } }
        return self.position(of: v).found
    }

    /// Adds `member`; converts to `hashtable` for a non-integer or when the intset outgrows `maxIntsetEntries`
    /// (Redis's `setTypeAdd`). Returns `true` when the member is new.
    @discardableResult
    public func add(_ member: UnsafeRawBufferPointer, maxIntsetEntries: Int) -> Bool {
        if let table = self.table { return table.insert(member) }
        guard let v = NumberFormat.parseInt64(member) else {
            self.convertToTable()
            // Why `!`: convertToTable just created the table.
            return self.table!.insert(member)
        }
        let (index, found) = self.position(of: v)
        if found { return false }
        self.ints.insert(v, at: index)
        if self.ints.count > min(maxIntsetEntries, SetValue.intsetHardLimit) { self.convertToTable() }
        return true
    }

    /// Removes `member`; returns `true` if it was present.
    @discardableResult
    public func remove(_ member: UnsafeRawBufferPointer) -> Bool {
        if let table = self.table { return table.remove(member) }
        guard let v = NumberFormat.parseInt64(member) else { return false }
        let (index, found) = self.position(of: v)
        if found { self.ints.remove(at: index) }
        return found
    }

    /// Switches to the `hashtable` encoding (one-way).
    public func convertToTable() {
        guard self.table == nil else { return }
        let table = FieldTable(hasValues: false, capacity: self.ints.count)
        for v in self.ints {
            DecimalText.withDigits(of: v) { table.insertNew($0, nil) }
        }
        self.ints = []
        self.table = table
    }

    // MARK: - Iteration

    /// Calls `body` with every member (ascending for an intset; integers are rendered on the stack).
    /// No mutation meanwhile.
    public func forEachMember(_ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        if let table = self.table {
            try table.forEachNode { try body(FieldTable.key($0)) }
            return
        }
        for v in self.ints {
            try DecimalText.withDigits(of: v, body)
        }
    }

    /// One SSCAN step: an intset returns everything with cursor 0, as Redis does; a hashtable follows
    /// ``FieldTable/scan(_:_:)``.
    public func scan(_ cursor: UInt64, _ body: (UnsafeRawBufferPointer) -> Void) -> UInt64 {
        if let table = self.table {
            return table.scan(cursor) { body(FieldTable.key($0)) }
        }
        self.forEachMember(body)
        return 0
    }

    /// Calls `body` with a random member; `nil` when the set is empty.
    public func withRandomMember<G: RandomNumberGenerator, R>(
        using rng: inout G,
        _ body: (UnsafeRawBufferPointer) throws -> R
    ) rethrows -> R? {
        if let table = self.table {
            guard let node = table.randomNode(using: &rng) else { return nil }
            return try body(FieldTable.key(node))
        }
        if self.ints.isEmpty { return nil }
        let v = self.ints[Int(rng.next(upperBound: UInt64(self.ints.count)))]
        return try DecimalText.withDigits(of: v, body)
    }

    /// Removes a random member, after calling `body` with it (SPOP); `false` when the set is empty.
    @discardableResult
    public func popRandom<G: RandomNumberGenerator>(
        using rng: inout G,
        _ body: (UnsafeRawBufferPointer) throws -> Void
    ) rethrows -> Bool {
        if let table = self.table {
            guard let node = table.randomNode(using: &rng) else { return false }
            try body(FieldTable.key(node))
            table.remove(node: node)
            return true
        }
        if self.ints.isEmpty { return false }
        let index = Int(rng.next(upperBound: UInt64(self.ints.count)))
        try DecimalText.withDigits(of: self.ints[index], body)
        self.ints.remove(at: index)
        return true
    }
}
