import NIOCore
import SwiftletKeyspace
import SwiftletRESP

extension SetCommands {
    /// Looks up the sets named by arguments `keys` for reading: a missing key is `nil` (an empty set).
    /// - Throws: `WRONGTYPE` for any key holding another type (all keys are checked, as Redis does).
    static func readSets(_ context: CommandContext, _ keys: Range<Int>) throws(RedisError) -> [SetValue?] {
        var sets: [SetValue?] = []
        sets.reserveCapacity(keys.count)
        for i in keys { sets.append(try Self.readSet(context, i)) }
        return sets
    }

    /// Stores `result` under argument `index` (replacing any value and its TTL, as SETKEY does), or deletes the
    /// key when the result is empty; replies with the result's size.
    static func store(_ context: inout CommandContext, _ result: SetValue, at index: Int, event: StaticString) {
        if result.count > 0 {
            context.countOverwriteAccess(context.arguments[index])
            context.arguments[index].withUnsafeReadableBytes { _ = context.db.set($0, .set(result), now: context.now) }
            context.dirty()
            context.out.writeInteger(result.count)
            context.notify(.set, event, key: context.arguments[index])
        } else if context.arguments[index].withUnsafeReadableBytes({ context.db.delete($0) }) {
            context.dirty()
            context.out.writeInteger(0)
            context.notify(.generic, "del", key: context.arguments[index])
        } else {
            context.out.writeInteger(0)
        }
    }

    // MARK: - SINTER / SINTERCARD / SINTERSTORE

    /// What an intersection produces.
    enum IntersectionOutput {
        case reply
        case cardinality(limit: Int)
        case store(destination: Int)
    }

    /// SINTER key [key ...] — O(N*M) worst case
    static func sinter(_ context: inout CommandContext) throws(RedisError) {
        try Self.intersect(&context, 1..<context.count, .reply)
    }

    /// SINTERSTORE destination key [key ...] — O(N*M) worst case
    static func sinterstore(_ context: inout CommandContext) throws(RedisError) {
        try Self.intersect(&context, 2..<context.count, .store(destination: 1))
    }

    /// SINTERCARD numkeys key [key ...] [LIMIT limit] — O(N*M) worst case
    static func sintercard(_ context: inout CommandContext) throws(RedisError) {
        let numkeys = try context.integer(1, orThrow: RedisError.numkeysNotPositive)
        if numkeys < 1 { throw RedisError.numkeysNotPositive }
        if numkeys > Int64(context.count - 2) { throw RedisError.numkeysTooMany }
        var limit: Int64 = 0
        var i = 2 + Int(numkeys)
        while i < context.count {
            if context.argument(i, is: "limit") && i + 1 < context.count {
                limit = try context.integer(i + 1, orThrow: RedisError.limitNegative)
                if limit < 0 { throw RedisError.limitNegative }
                i += 2
            } else {
                throw RedisError.syntax
            }
        }
        try Self.intersect(&context, 2..<(2 + Int(numkeys)), .cardinality(limit: Int(limit)))
    }

    /// Redis's `sinterGenericCommand`: walk the smallest set, keep the members every other set holds.
    static func intersect(
        _ context: inout CommandContext,
        _ keys: Range<Int>,
        _ output: IntersectionOutput
    ) throws(RedisError) {
        let found = try Self.readSets(context, keys)
        var sets: [SetValue] = found.compactMap { $0 }
        if sets.count < found.count {
            // An empty (missing) set makes the intersection empty.
            switch output {
            case .reply: context.out.writeSetHeader(0)
            case .cardinality: context.out.writeInteger(0)
            case .store(let destination): Self.store(&context, SetValue(), at: destination, event: "sinterstore")
            }
            return
        }
        sets.sort { $0.count < $1.count }
        let first = sets[0]
        let others = sets.dropFirst().filter { $0 !== first }
        switch output {
        case .cardinality(let limit):
            var cardinality = 0
            if first.isIntset {
                for v in first.ints where others.allSatisfy({ $0.contains(integer: v) }) {
                    cardinality += 1
                    if limit > 0 && cardinality >= limit { break }
                }
            } else {
                // Why `!`: a set that is not an intset has a table.
                var done = false
                first.table!.forEachNode { node in
                    if done { return }
                    let member = FieldTable.key(node)
                    if others.allSatisfy({ $0.contains(member) }) {
                        cardinality += 1
                        if limit > 0 && cardinality >= limit { done = true }
                    }
                }
            }
            context.out.writeInteger(cardinality)
        case .reply:
            // Collected first: the reply's length comes before the members. Node buffers stay valid (no mutation).
            if first.isIntset {
                let members = first.ints.filter { v in others.allSatisfy { $0.contains(integer: v) } }
                context.out.writeSetHeader(members.count)
                for v in members { DecimalText.withDigits(of: v) { context.out.writeBulkString($0) } }
            } else {
                var members: [UnsafeRawBufferPointer] = []
                first.forEachMember { m in if others.allSatisfy({ $0.contains(m) }) { members.append(m) } }
                context.out.writeSetHeader(members.count)
                for m in members { context.out.writeBulkString(m) }
            }
        case .store(let destination):
            let result = SetValue()
            let limit = Self.maxIntsetEntries(context)
            first.forEachMember { m in
                if others.allSatisfy({ $0.contains(m) }) { result.add(m, maxIntsetEntries: limit) }
            }
            Self.store(&context, result, at: destination, event: "sinterstore")
        }
    }

    // MARK: - SUNION / SDIFF and their STORE forms

    /// SUNION key [key ...], SUNIONSTORE destination key [key ...], SDIFF key [key ...],
    /// SDIFFSTORE destination key [key ...] — O(N) where N is the number of members of all the sets
    static func unionDiff(_ context: inout CommandContext, first: Int, store: Bool, diff: Bool) throws(RedisError) {
        var sets = try Self.readSets(context, first..<context.count)
        let result = SetValue()
        let limit = Self.maxIntsetEntries(context)
        if !diff {
            for case let set? in sets {
                set.forEachMember { result.add($0, maxIntsetEntries: limit) }
            }
        } else if let head = sets[0], !sets.dropFirst().contains(where: { $0 === head }) {
            // Redis picks one of two algorithms by estimated work; the choice shows in the result's encoding
            // (the second adds then removes, and a conversion to hashtable is one-way), so it is mirrored.
            var workOne = 0
            var workTwo = 0
            for case let set? in sets {
                workOne += head.count
                workTwo += set.count
            }
            if workOne / 2 <= workTwo {
                let others = sets.dropFirst().compactMap { $0 }.sorted { $0.count > $1.count }
                head.forEachMember { m in
                    if !others.contains(where: { $0.contains(m) }) { result.add(m, maxIntsetEntries: limit) }
                }
            } else {
                head.forEachMember { result.add($0, maxIntsetEntries: limit) }
                sets.removeFirst()
                for case let set? in sets {
                    if result.count == 0 { break }
                    set.forEachMember { result.remove($0) }
                }
            }
        }
        if store {
            Self.store(&context, result, at: 1, event: diff ? "sdiffstore" : "sunionstore")
        } else {
            Self.writeMembers(&context, result)
        }
    }
}
