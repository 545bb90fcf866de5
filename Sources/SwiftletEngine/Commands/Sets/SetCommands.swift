import NIOCore
import SwiftletKeyspace
import SwiftletRESP

/// The set family: membership, random members, SMOVE, the algebra (SINTER/SUNION/SDIFF and their STORE forms,
/// SINTERCARD; in `SetCommands+Algebra.swift`) and SSCAN.
public enum SetCommands {
    // MARK: - Lookup helpers

    /// The set under argument `index` for reading; `nil` when the key is missing.
    /// - Throws: `WRONGTYPE` when the key holds another type.
    static func readSet(_ context: CommandContext, _ index: Int = 1) throws(RedisError) -> SetValue? {
        guard let entry = context.lookupRead(context.arguments[index]) else { return nil }
        guard case .set(let set) = entry.value else { throw RedisError.wrongType }
        return set
    }

    /// The set under argument `index` for writing; `nil` when the key is missing.
    static func writeSet(_ context: CommandContext, _ index: Int = 1) throws(RedisError) -> SetValue? {
        guard let entry = context.lookupWrite(context.arguments[index]) else { return nil }
        guard case .set(let set) = entry.value else { throw RedisError.wrongType }
        return set
    }

    /// Stores a new, empty set under argument `index`; the caller adds members before it replies.
    static func createSet(_ context: CommandContext, _ index: Int = 1) -> SetValue {
        let set = SetValue()
        context.arguments[index].withUnsafeReadableBytes { _ = context.db.set($0, .set(set), now: context.now) }
        return set
    }

    static func deleteKey(_ context: CommandContext, _ index: Int = 1) {
        _ = context.arguments[index].withUnsafeReadableBytes { context.db.delete($0) }
    }

    /// `set-max-intset-entries` from CONFIG; read only when a set is still an intset.
    static func maxIntsetEntries(_ context: CommandContext) -> Int {
        context.server.hot.setMaxIntsetEntries
    }

    @inline(__always)
    static func maxIntsetEntries(_ context: CommandContext, for set: SetValue) -> Int {
        set.isIntset ? Self.maxIntsetEntries(context) : .max
    }

    /// Writes every member (ascending for an intset), under a RESP3 set header.
    static func writeMembers(_ context: inout CommandContext, _ set: SetValue?) {
        context.out.writeSetHeader(set?.count ?? 0)
        set?.forEachMember { context.out.writeBulkString($0) }
    }

    // MARK: - SADD / SREM / SMOVE

    /// SADD key member [member ...] — O(N)
    static func sadd(_ context: inout CommandContext) throws(RedisError) {
        let set: SetValue
        if let existing = try Self.writeSet(context) { set = existing } else { set = Self.createSet(context) }
        let limit = Self.maxIntsetEntries(context, for: set)
        var added = 0
        for i in 2..<context.count {
            if context.arguments[i].withUnsafeReadableBytes({ set.add($0, maxIntsetEntries: limit) }) { added += 1 }
        }
        if added > 0 { context.notify(.set, "sadd", key: context.arguments[1]) }
        context.dirty(added)
        context.out.writeInteger(added)
    }

    /// SREM key member [member ...] — O(N)
    static func srem(_ context: inout CommandContext) throws(RedisError) {
        guard let set = try Self.writeSet(context) else {
            context.out.writeInteger(0)
            return
        }
        context.removeEachArgument(from: set, event: (.set, "srem")) { set.remove($0) }
    }

    /// SMOVE source destination member — O(1)
    static func smove(_ context: inout CommandContext) throws(RedisError) {
        let sourceEntry = context.lookupWrite(context.arguments[1])
        let destinationEntry = context.lookupWrite(context.arguments[2])
        guard let sourceEntry else {
            context.out.writeInteger(0)
            return
        }
        guard case .set(let source) = sourceEntry.value else { throw RedisError.wrongType }
        var destination: SetValue?
        if let destinationEntry {
            guard case .set(let d) = destinationEntry.value else { throw RedisError.wrongType }
            destination = d
        }
        let member = context.arguments[3]
        if destination === source {
            let found = member.withUnsafeReadableBytes { source.contains($0) }
            context.out.writeInteger(found ? 1 : 0)
            return
        }
        guard member.withUnsafeReadableBytes({ source.remove($0) }) else {
            context.out.writeInteger(0)
            return
        }
        context.notify(.set, "srem", key: context.arguments[1])
        if source.count == 0 {
            Self.deleteKey(context, 1)
            context.notify(.generic, "del", key: context.arguments[1])
        }
        let target = destination ?? Self.createSet(context, 2)
        let limit = Self.maxIntsetEntries(context, for: target)
        let added = member.withUnsafeReadableBytes { target.add($0, maxIntsetEntries: limit) }
        if added {
            context.notify(.set, "sadd", key: context.arguments[2])
        } else {
            // The destination already had the member: as Redis, only the source counts as modified (WATCH).
            context.modifiedOnly(context.arguments[1])
        }
        context.dirty(added ? 2 : 1)
        context.out.writeInteger(1)
    }

    // MARK: - Membership and size

    /// SISMEMBER key member — O(1)
    static func sismember(_ context: inout CommandContext) throws(RedisError) {
        let set = try Self.readSet(context)
        let found = context.arguments[2].withUnsafeReadableBytes { set?.contains($0) } ?? false
        context.out.writeInteger(found ? 1 : 0)
    }

    /// SMISMEMBER key member [member ...] — O(N)
    static func smismember(_ context: inout CommandContext) throws(RedisError) {
        let set = try Self.readSet(context)
        context.out.writeArrayHeader(context.count - 2)
        for i in 2..<context.count {
            let found = context.arguments[i].withUnsafeReadableBytes { set?.contains($0) } ?? false
            context.out.writeInteger(found ? 1 : 0)
        }
    }

    /// SCARD key — O(1)
    static func scard(_ context: inout CommandContext) throws(RedisError) {
        context.out.writeInteger(try Self.readSet(context)?.count ?? 0)
    }

    /// SMEMBERS key — O(N)
    static func smembers(_ context: inout CommandContext) throws(RedisError) {
        Self.writeMembers(&context, try Self.readSet(context))
    }

    // MARK: - SPOP

    /// SPOP key [count] — O(1), O(N) with a count
    static func spop(_ context: inout CommandContext) throws(RedisError) {
        if context.count > 3 { throw RedisError.syntax }
        if context.count == 3 {
            try Self.spopCount(&context)
            return
        }
        guard let set = try Self.writeSet(context) else {
            context.out.writeNull()
            return
        }
        var rng = SplitMix64(seededFrom: &context.server.keyspace.rng)
        context.notify(.set, "spop", key: context.arguments[1])
        let propagating = context.propagating
        set.popRandom(using: &rng) {
            context.out.writeBulkString($0)
            // The member chance picked is written as SREM, as Redis does.
            if propagating { context.propagate(["SREM", .bytes(context.arguments[1]), .bytes(ByteBuffer(bytes: $0))]) }
        }
        if set.count == 0 {
            Self.deleteKey(context)
            context.notify(.generic, "del", key: context.arguments[1])
        }
        context.dirty()
    }

    /// SPOP key count: distinct random members, as a set reply.
    static func spopCount(_ context: inout CommandContext) throws(RedisError) {
        let l = try context.integer(2, orThrow: RedisError.valueMustBePositive)
        if l < 0 { throw RedisError.valueMustBePositive }
        guard let set = try Self.writeSet(context) else {
            context.out.writeSetHeader(0)
            return
        }
        let count = Int(l)
        if count == 0 {
            context.out.writeSetHeader(0)
            return
        }
        let size = set.count
        context.notify(.set, "spop", key: context.arguments[1])
        context.dirty(min(count, size))
        // The whole set: Redis replies with the union of the one set (an intset when it can be one, so sorted).
        if count >= size {
            let limit = Self.maxIntsetEntries(context)
            if set.isIntset || size > limit {
                Self.writeMembers(&context, set)
            } else {
                let union = SetValue()
                set.forEachMember { union.add($0, maxIntsetEntries: limit) }
                Self.writeMembers(&context, union)
            }
            Self.deleteKey(context)
            context.notify(.generic, "del", key: context.arguments[1])
            context.propagate(["DEL", .bytes(context.arguments[1])])
            return
        }
        var rng = SplitMix64(seededFrom: &context.server.keyspace.rng)
        context.out.writeSetHeader(count)
        let remaining = size - count
        // Redis writes one SREM per member popped (wrapped in MULTI/EXEC).
        let key = context.arguments[1]
        var removals: [[ByteBuffer]] = []
        let propagating = context.propagating
        defer { context.propagate(removals) }
        if remaining * 5 > count {
            for _ in 0..<count {
                set.popRandom(using: &rng) {
                    context.out.writeBulkString($0)
                    if propagating { removals.append([Self.sremName, key, ByteBuffer(bytes: $0)]) }
                }
            }
            return
        }
        // Most of the set goes: as Redis, move the few that stay into a new set (whose encoding follows its
        // content) and reply with what is left of the old one.
        let kept = SetValue()
        let limit = Self.maxIntsetEntries(context)
        for _ in 0..<remaining {
            set.popRandom(using: &rng) { kept.add($0, maxIntsetEntries: limit) }
        }
        set.forEachMember {
            context.out.writeBulkString($0)
            if propagating { removals.append([Self.sremName, key, ByteBuffer(bytes: $0)]) }
        }
        // Why `!`: the key was found above and still holds `set`.
        context.lookupWrite(context.arguments[1])!.value = .set(kept)
    }

    static let sremName = ByteBuffer(string: "SREM")

    // MARK: - SRANDMEMBER

    /// SRANDMEMBER key [count] — O(1), O(N) with a count
    static func srandmember(_ context: inout CommandContext) throws(RedisError) {
        if context.count > 3 { throw RedisError.syntax }
        guard context.count == 3 else {
            guard let set = try Self.readSet(context) else {
                context.out.writeNull()
                return
            }
            var rng = SplitMix64(seededFrom: &context.server.keyspace.rng)
            set.withRandomMember(using: &rng) { context.out.writeBulkString($0) }
            return
        }
        let l = try context.integer(2)
        if l == Int64.min { throw RedisError.countOutOfRange }
        guard let set = try Self.readSet(context) else {
            context.out.writeArrayHeader(0)
            return
        }
        let count = Int(l.magnitude)
        if count == 0 {
            context.out.writeArrayHeader(0)
            return
        }
        var rng = SplitMix64(seededFrom: &context.server.keyspace.rng)
        // Negative count (or 1): independent picks, repetitions allowed.
        if l < 0 || count == 1 {
            context.out.writeArrayHeader(count)
            for _ in 0..<count { set.withRandomMember(using: &rng) { context.out.writeBulkString($0) } }
            return
        }
        if count >= set.count {
            context.out.writeArrayHeader(set.count)
            set.forEachMember { context.out.writeBulkString($0) }
            return
        }
        context.out.writeArrayHeader(count)
        // Distinct picks: a partial shuffle of all members when many are wanted, else picks with a seen-set.
        // Integers are picked by value, members of a table by node (stable: nothing mutates the set meanwhile).
        if let table = set.table {
            if count * 3 > set.count {
                var nodes: [FieldTable.Node] = []
                nodes.reserveCapacity(set.count)
                table.forEachNode { nodes.append($0) }
                for i in 0..<count {
                    nodes.swapAt(i, i + Int(rng.next(upperBound: UInt64(nodes.count - i))))
                    context.out.writeBulkString(FieldTable.key(nodes[i]))
                }
            } else {
                var seen = Set<FieldTable.Node>()
                seen.reserveCapacity(count)
                while seen.count < count {
                    // Why `!`: a stored set is never empty.
                    let node = table.randomNode(using: &rng)!
                    if seen.insert(node).inserted { context.out.writeBulkString(FieldTable.key(node)) }
                }
            }
        } else {
            var ints = set.ints
            for i in 0..<count {
                ints.swapAt(i, i + Int(rng.next(upperBound: UInt64(ints.count - i))))
                DecimalText.withDigits(of: ints[i]) { context.out.writeBulkString($0) }
            }
        }
    }

    // MARK: - SSCAN

    /// SSCAN key cursor [MATCH pattern] [COUNT count] — O(1) per call, O(N) for a whole iteration
    static func sscan(_ context: inout CommandContext) throws(RedisError) {
        var scan = try CollectionScan(context)
        guard let set = try Self.readSet(context) else {
            CollectionScan.writeEmpty(&context)
            return
        }
        try scan.parseOptions(context)
        guard let table = set.table else {
            // An intset is returned whole, with cursor 0.
            var matched: [Int64] = []
            for v in set.ints where DecimalText.withDigits(of: v, { scan.matches(context, $0) }) { matched.append(v) }
            CollectionScan.writeCursor(&context, 0)
            context.out.writeArrayHeader(matched.count)
            for v in matched { DecimalText.withDigits(of: v) { context.out.writeBulkString($0) } }
            return
        }
        // Node buffers stay valid while the command runs: nothing mutates the set meanwhile.
        var members: [UnsafeRawBufferPointer] = []
        let cursor = scan.run(
            { c in table.scan(c) { members.append(FieldTable.key($0)) } },
            collected: { members.count }
        )
        if scan.pattern != nil { members.removeAll { !scan.matches(context, $0) } }
        CollectionScan.writeCursor(&context, cursor)
        context.out.writeArrayHeader(members.count)
        for member in members { context.out.writeBulkString(member) }
    }

    // MARK: - Table

    static let specs: [CommandSpec] = [
        .init("sadd", arity: -3, flags: [.write, .denyOOM, .fast], keys: .init(1, 1, 1), group: "set", run: sadd),
        .init("srem", arity: -3, flags: [.write, .fast], keys: .init(1, 1, 1), group: "set", run: srem),
        .init("smove", arity: 4, flags: [.write, .fast], keys: .init(1, 2, 1), group: "set", run: smove),
        .init("sismember", arity: 3, flags: [.readonly, .fast], keys: .init(1, 1, 1), group: "set", run: sismember),
        .init("smismember", arity: -3, flags: [.readonly, .fast], keys: .init(1, 1, 1), group: "set", run: smismember),
        .init("scard", arity: 2, flags: [.readonly, .fast], keys: .init(1, 1, 1), group: "set", run: scard),
        .init("smembers", arity: 2, flags: [.readonly], keys: .init(1, 1, 1), group: "set", run: smembers),
        .init("spop", arity: -2, flags: [.write, .fast], keys: .init(1, 1, 1), group: "set", run: spop),
        .init("srandmember", arity: -2, flags: [.readonly], keys: .init(1, 1, 1), group: "set", run: srandmember),
        .init("sinter", arity: -2, flags: [.readonly], keys: .init(1, -1, 1), group: "set", run: sinter),
        .init("sintercard", arity: -3, flags: [.readonly, .movableKeys], group: "set", run: sintercard),
        .init(
            "sinterstore",
            arity: -3,
            flags: [.write, .denyOOM],
            keys: .init(1, -1, 1),
            group: "set",
            run: sinterstore
        ),
        .init("sunion", arity: -2, flags: [.readonly], keys: .init(1, -1, 1), group: "set") { c throws(RedisError) in
            try unionDiff(&c, first: 1, store: false, diff: false)
        },
        .init("sunionstore", arity: -3, flags: [.write, .denyOOM], keys: .init(1, -1, 1), group: "set") {
            c throws(RedisError) in try unionDiff(&c, first: 2, store: true, diff: false)
        },
        .init("sdiff", arity: -2, flags: [.readonly], keys: .init(1, -1, 1), group: "set") { c throws(RedisError) in
            try unionDiff(&c, first: 1, store: false, diff: true)
        },
        .init("sdiffstore", arity: -3, flags: [.write, .denyOOM], keys: .init(1, -1, 1), group: "set") {
            c throws(RedisError) in try unionDiff(&c, first: 2, store: true, diff: true)
        },
        .init("sscan", arity: -3, flags: [.readonly], keys: .init(1, 1, 1), group: "set", run: sscan),
    ]
}

extension CommandContext {
    /// Argument `index` as a signed 64-bit integer, or `error` when it is not one (Redis's
    /// `getLongFromObjectOrReply` with a message).
    func integer(_ index: Int, orThrow error: RedisError) throws(RedisError) -> Int64 {
        guard let v = self.arguments[index].int64 else { throw error }
        return v
    }
}
