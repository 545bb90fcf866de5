import NIOCore
import SwiftletKeyspace
import SwiftletRESP

/// The list family: pushes and pops at both ends, ranges, positions, moves between lists. The blocking forms
/// (BLPOP, BLMOVE, ...) are in `ListCommands+Blocking.swift`.
public enum ListCommands {
    // MARK: - Helpers

    /// The list behind an entry, or WRONGTYPE.
    @inline(__always)
    static func list(_ entry: Entry) throws(RedisError) -> ListValue {
        guard case .list(let list) = entry.value else { throw RedisError.wrongType }
        return list
    }

    /// The list at `key` for a write, or `nil` when the key is absent; WRONGTYPE for another type.
    @inline(__always)
    static func lookupList(_ context: CommandContext, _ key: ByteBuffer) throws(RedisError) -> ListValue? {
        guard let entry = context.lookupWrite(key) else { return nil }
        return try Self.list(entry)
    }

    /// Creates an empty list under `key` (with the current `list-max-listpack-size`, kept per list as Redis does).
    static func createList(_ context: CommandContext, _ key: ByteBuffer) -> ListValue {
        let list = ListValue(fill: context.server.hot.listMaxListpackSize)
        key.withUnsafeReadableBytes { _ = context.db.set($0, .list(list), now: context.now) }
        return list
    }

    /// Deletes `key` if the command emptied its list (Redis never keeps empty collections).
    @inline(__always)
    static func deleteIfEmpty(_ context: CommandContext, _ key: ByteBuffer, _ list: ListValue) {
        if list.count == 0 {
            _ = key.withUnsafeReadableBytes { context.db.delete($0) }
            context.notify(.generic, "del", key: key)
        }
    }

    /// `LEFT` → head, `RIGHT` → tail, anything else is a syntax error.
    static func end(_ context: CommandContext, _ index: Int) throws(RedisError) -> Bool {
        if context.argument(index, is: "left") { return true }
        if context.argument(index, is: "right") { return false }
        throw RedisError.syntax
    }

    /// An integer argument in `minimum...Int64.max`, else `error` (also for text that is not an integer), as
    /// Redis's `getRangeLongFromObjectOrReply`.
    static func integer(
        _ context: CommandContext,
        _ index: Int,
        atLeast minimum: Int64,
        else error: RedisError
    )
        throws(RedisError) -> Int64
    {
        guard let v = context.arguments[index].int64, v >= minimum else { throw error }
        return v
    }

    /// Writes elements `start...end` (Redis's index rules: negatives count from the tail, clamped) as an array,
    /// or, `reversed`, from `end` down to `start`.
    static func writeRange(
        _ out: inout RESPReplyWriter,
        _ list: ListValue,
        _ start: Int64,
        _ end: Int64,
        reversed: Bool = false
    ) {
        let length = Int64(list.count)
        var start = start < 0 ? length + start : start
        var end = end < 0 ? length + end : end
        if start < 0 { start = 0 }
        if start > end || start >= length {
            out.writeArrayHeader(0)
            return
        }
        if end >= length { end = length - 1 }
        let n = Int(end - start + 1)
        out.writeArrayHeader(n)
        list.forEach(from: Int(reversed ? end : start), count: n, reversed: reversed) { out.writeBulkString($0) }
    }

    // MARK: - LPUSH / RPUSH / LPUSHX / RPUSHX

    /// LPUSH key element [element ...] / RPUSH / LPUSHX / RPUSHX — O(1) per element
    static func push(_ context: inout CommandContext, atHead: Bool, onlyIfExists: Bool) throws(RedisError) {
        let key = context.arguments[1]
        let list: ListValue
        if let existing = try Self.lookupList(context, key) {
            list = existing
        } else {
            if onlyIfExists {
                context.out.writeInteger(0)
                return
            }
            list = Self.createList(context, key)
        }
        for i in 2..<context.count {
            context.arguments[i].withUnsafeReadableBytes { list.push($0, atHead: atHead) }
        }
        context.out.writeInteger(list.count)
        context.notify(.list, atHead ? "lpush" : "rpush", key: key)
        context.dirty(context.count - 2)
    }

    // MARK: - LPOP / RPOP

    /// LPOP key [count] / RPOP key [count] — O(N) in the number of elements returned
    static func pop(_ context: inout CommandContext, atHead: Bool) throws(RedisError) {
        if context.count > 3 { throw RedisError.wrongArity(atHead ? "lpop" : "rpop") }
        var count: Int64?
        if context.count == 3 { count = try Self.integer(context, 2, atLeast: 0, else: .mustBePositive) }
        let key = context.arguments[1]
        guard let list = try Self.lookupList(context, key) else {
            if count == nil { context.out.writeNull() } else { context.out.writeNullArray() }
            return
        }
        guard let count else {
            list.withEnd(atHead: atHead) { context.out.writeBulkString($0) }
            list.removeEnd(atHead: atHead)
            context.notify(.list, atHead ? "lpop" : "rpop", key: key)
            Self.deleteIfEmpty(context, key, list)
            context.dirty()
            return
        }
        if count == 0 {
            context.out.writeArrayHeader(0)
            return
        }
        let n = Int(min(count, Int64(list.count)))
        Self.popRange(&context.out, list, n, atHead: atHead)
        context.notify(.list, atHead ? "lpop" : "rpop", key: key)
        Self.deleteIfEmpty(context, key, list)
        context.dirty(n)
    }

    /// Writes the `n` elements at one end as an array (from the tail backwards for `RIGHT`) and removes them.
    static func popRange(_ out: inout RESPReplyWriter, _ list: ListValue, _ n: Int, atHead: Bool) {
        out.writeArrayHeader(n)
        list.forEach(from: atHead ? 0 : list.count - 1, count: n, reversed: !atHead) { out.writeBulkString($0) }
        if atHead { list.removeFirst(n) } else { list.removeLast(n) }
    }

    // MARK: - LMPOP

    /// The parsed form of `numkeys key [key ...] LEFT|RIGHT [COUNT count]` (LMPOP, BLMPOP).
    struct MultiPop {
        var keys: Range<Int>
        var atHead: Bool
        var count: Int
    }

    /// Parses LMPOP/BLMPOP arguments from `numkeysIndex`, in Redis's order of checks.
    static func parseMultiPop(_ context: CommandContext, numkeysIndex: Int) throws(RedisError) -> MultiPop {
        let numkeys = try Self.integer(context, numkeysIndex, atLeast: 1, else: .numkeysNotPositive)
        guard numkeys < Int64(context.count) - Int64(numkeysIndex) - 1 else { throw RedisError.syntax }
        let whereIndex = numkeysIndex + Int(numkeys) + 1
        let atHead = try Self.end(context, whereIndex)
        var count: Int64 = -1
        var i = whereIndex + 1
        while i < context.count {
            if count == -1 && context.argument(i, is: "count") && i + 1 < context.count {
                count = try Self.integer(context, i + 1, atLeast: 1, else: .countNotPositive)
                i += 2
            } else {
                throw RedisError.syntax
            }
        }
        return MultiPop(
            keys: (numkeysIndex + 1)..<whereIndex,
            atHead: atHead,
            count: count == -1 ? 1 : Int(clamping: count)
        )
    }

    /// Pops up to `count` elements from the first non-empty list among `keys`, replying `[key, [elements]]`.
    /// - Returns: whether a list was found (nothing is written otherwise).
    static func multiPop(_ context: inout CommandContext, _ request: MultiPop) throws(RedisError) -> Bool {
        for i in request.keys {
            let key = context.arguments[i]
            guard let list = try Self.lookupList(context, key), list.count > 0 else { continue }
            Self.popWithKey(&context, key, list, count: request.count, atHead: request.atHead)
            return true
        }
        return false
    }

    /// Replies `[key, [elements]]` with up to `count` elements popped from one end of `list`.
    static func popWithKey(
        _ context: inout CommandContext,
        _ key: ByteBuffer,
        _ list: ListValue,
        count: Int,
        atHead: Bool
    ) {
        let n = min(count, list.count)
        context.out.writeArrayHeader(2)
        context.out.writeBulkString(key)
        Self.popRange(&context.out, list, n, atHead: atHead)
        context.notify(.list, atHead ? "lpop" : "rpop", key: key)
        context.modifiedOnly(key)
        Self.deleteIfEmpty(context, key, list)
        context.dirty(n)
        // LMPOP and BLMPOP are written as LPOP/RPOP with the count popped, as Redis does.
        context.propagate([atHead ? "LPOP" : "RPOP", .bytes(key), .integer(Int64(n))])
    }

    /// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count] — O(N+M)
    static func lmpop(_ context: inout CommandContext) throws(RedisError) {
        let request = try Self.parseMultiPop(context, numkeysIndex: 1)
        if try !Self.multiPop(&context, request) { context.out.writeNullArray() }
    }

    // MARK: - LLEN / LINDEX / LRANGE

    /// LLEN key — O(1)
    static func llen(_ context: inout CommandContext) throws(RedisError) {
        guard let entry = context.lookupRead(context.arguments[1]) else {
            context.out.writeInteger(0)
            return
        }
        context.out.writeInteger(try Self.list(entry).count)
    }

    /// LINDEX key index — O(N)
    static func lindex(_ context: inout CommandContext) throws(RedisError) {
        guard let entry = context.lookupRead(context.arguments[1]) else {
            context.out.writeNull()
            return
        }
        let list = try Self.list(entry)
        let index = try context.integer(2)
        let i = index < 0 ? Int64(list.count) + index : index
        let found: Void? = i < 0 ? nil : list.withElement(at: Int(i)) { context.out.writeBulkString($0) }
        if found == nil { context.out.writeNull() }
    }

    /// LRANGE key start stop — O(S+N)
    static func lrange(_ context: inout CommandContext) throws(RedisError) {
        let start = try context.integer(2)
        let end = try context.integer(3)
        guard let entry = context.lookupRead(context.arguments[1]) else {
            context.out.writeArrayHeader(0)
            return
        }
        Self.writeRange(&context.out, try Self.list(entry), start, end)
    }

    // MARK: - LSET / LINSERT / LREM / LTRIM

    /// LSET key index element — O(N)
    static func lset(_ context: inout CommandContext) throws(RedisError) {
        guard let entry = context.lookupWrite(context.arguments[1]) else { throw RedisError.noSuchKey }
        let list = try Self.list(entry)
        let index = try context.integer(2)
        let replaced = context.arguments[3].withUnsafeReadableBytes { list.replace(at: Int(index), with: $0) }
        guard replaced else { throw RedisError.outOfRange }
        context.out.writeOK()
        context.notify(.list, "lset", key: context.arguments[1])
        context.dirty()
    }

    /// LINSERT key BEFORE|AFTER pivot element — O(N)
    static func linsert(_ context: inout CommandContext) throws(RedisError) {
        let after: Bool
        if context.argument(2, is: "after") {
            after = true
        } else if context.argument(2, is: "before") {
            after = false
        } else {
            throw RedisError.syntax
        }
        guard let list = try Self.lookupList(context, context.arguments[1]) else {
            context.out.writeInteger(0)
            return
        }
        let inserted = context.arguments[4].withUnsafeReadableBytes { element in
            context.arguments[3].withUnsafeReadableBytes { pivot in
                list.insert(element, relativeTo: pivot, after: after)
            }
        }
        guard inserted else {
            context.out.writeInteger(-1)
            return
        }
        context.notify(.list, "linsert", key: context.arguments[1])
        context.out.writeInteger(list.count)
        context.dirty()
    }

    /// LREM key count element — O(N+M)
    static func lrem(_ context: inout CommandContext) throws(RedisError) {
        let count = try context.integer(2)
        let key = context.arguments[1]
        guard let list = try Self.lookupList(context, key) else {
            context.out.writeInteger(0)
            return
        }
        // |Int64.min| does not fit: Redis then never reaches the limit, so it removes them all, as 0 does.
        let limit = count == Int64.min ? 0 : Int(count.magnitude)
        let removed = context.arguments[3].withUnsafeReadableBytes {
            list.remove($0, limit: limit, fromTail: count < 0)
        }
        if removed > 0 { context.notify(.list, "lrem", key: key) }
        Self.deleteIfEmpty(context, key, list)
        context.dirty(removed)
        context.out.writeInteger(removed)
    }

    /// LTRIM key start stop — O(N) in the number of elements removed
    static func ltrim(_ context: inout CommandContext) throws(RedisError) {
        var start = try context.integer(2)
        var end = try context.integer(3)
        let key = context.arguments[1]
        guard let list = try Self.lookupList(context, key) else {
            context.out.writeOK()
            return
        }
        let length = Int64(list.count)
        if start < 0 { start = length + start }
        if end < 0 { end = length + end }
        if start < 0 { start = 0 }
        let dropFirst: Int64
        let dropLast: Int64
        if start > end || start >= length {
            dropFirst = length
            dropLast = 0
        } else {
            if end >= length { end = length - 1 }
            dropFirst = start
            dropLast = length - end - 1
        }
        list.trim(dropFirst: Int(dropFirst), dropLast: Int(dropLast))
        context.notify(.list, "ltrim", key: key)
        Self.deleteIfEmpty(context, key, list)
        context.dirty(Int(dropFirst + dropLast))
        context.out.writeOK()
    }

    // MARK: - LPOS

    /// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len] — O(N)
    static func lpos(_ context: inout CommandContext) throws(RedisError) {
        var rank: Int64 = 1
        var count: Int64 = -1
        var maxlen: Int64 = 0
        var i = 3
        while i < context.count {
            let hasValue = i + 1 < context.count
            if context.argument(i, is: "rank") && hasValue {
                rank = try context.integer(i + 1)
                if rank == 0 { throw RedisError.rankZero }
            } else if context.argument(i, is: "count") && hasValue {
                count = try Self.integer(context, i + 1, atLeast: 0, else: .countNegative)
            } else if context.argument(i, is: "maxlen") && hasValue {
                maxlen = try Self.integer(context, i + 1, atLeast: 0, else: .maxlenNegative)
            } else {
                throw RedisError.syntax
            }
            i += 2
        }
        let reversed = rank < 0
        // Redis negates the rank in C: -Int64.min wraps to itself, so every match qualifies and, with COUNT,
        // the limit test below wraps too and all matches are returned. Wrapping arithmetic mirrors that.
        if reversed { rank = 0 &- rank }
        guard let entry = context.lookupRead(context.arguments[1]) else {
            if count != -1 { context.out.writeArrayHeader(0) } else { context.out.writeNull() }
            return
        }
        let list = try Self.list(entry)
        let length = list.count
        var matches: Int64 = 0
        var found: [Int] = []
        context.arguments[2].withUnsafeReadableBytes { element in
            list.scan(for: ListNeedle(element), reversed: reversed, limit: Int(clamping: maxlen)) { position in
                matches += 1
                guard matches >= rank else { return true }
                found.append(reversed ? length - position - 1 : position)
                if count == -1 { return false }
                return count == 0 || matches &- rank &+ 1 < count
            }
        }
        if count != -1 {
            context.out.writeArrayHeader(found.count)
            for index in found { context.out.writeInteger(index) }
        } else if let index = found.first {
            context.out.writeInteger(index)
        } else {
            context.out.writeNull()
        }
    }

    // MARK: - LMOVE / RPOPLPUSH

    /// LMOVE source destination LEFT|RIGHT LEFT|RIGHT — O(1)
    static func lmove(_ context: inout CommandContext) throws(RedisError) {
        let from = try Self.end(context, 3)
        let to = try Self.end(context, 4)
        try Self.move(&context, from: from, to: to)
    }

    /// RPOPLPUSH source destination — O(1)
    static func rpoplpush(_ context: inout CommandContext) throws(RedisError) {
        try Self.move(&context, from: false, to: true)
    }

    /// Pops from `arguments[1]` and pushes onto `arguments[2]` (created if absent), replying with the element.
    static func move(_ context: inout CommandContext, from: Bool, to: Bool) throws(RedisError) {
        let sourceKey = context.arguments[1]
        guard let source = try Self.lookupList(context, sourceKey) else {
            context.out.writeNull()
            return
        }
        let destinationKey = context.arguments[2]
        let destination = try Self.lookupList(context, destinationKey)
        Self.move(&context, source, sourceKey, destination, destinationKey, from: from, to: to)
    }

    /// The move itself, once both types are checked (also serves BLMOVE).
    static func move(
        _ context: inout CommandContext,
        _ source: ListValue,
        _ sourceKey: ByteBuffer,
        _ destination: ListValue?,
        _ destinationKey: ByteBuffer,
        from: Bool,
        to: Bool
    ) {
        let target = destination ?? Self.createList(context, destinationKey)
        if target === source {
            // Same list: the element must leave before it comes back (the node may be moved by the push).
            if let element = source.popEnd(atHead: from) {
                element.withUnsafeBytes { target.push($0, atHead: to) }
                context.notify(.list, to ? "lpush" : "rpush", key: destinationKey)
                context.out.writeBulkString(element)
            }
            context.notify(.list, from ? "lpop" : "rpop", key: sourceKey)
        } else {
            source.withEnd(atHead: from) { element in
                target.push(element, atHead: to)
                context.notify(.list, to ? "lpush" : "rpush", key: destinationKey)
                context.out.writeBulkString(element)
            }
            source.removeEnd(atHead: from)
            context.notify(.list, from ? "lpop" : "rpop", key: sourceKey)
            Self.deleteIfEmpty(context, sourceKey, source)
        }
        context.dirty()
    }

    // MARK: - Table

    static let specs: [CommandSpec] =
        [
            .init("lpush", arity: -3, flags: [.write, .denyOOM, .fast], keys: .init(1, 1, 1), group: "list") {
                c throws(RedisError) in try push(&c, atHead: true, onlyIfExists: false)
            },
            .init("rpush", arity: -3, flags: [.write, .denyOOM, .fast], keys: .init(1, 1, 1), group: "list") {
                c throws(RedisError) in try push(&c, atHead: false, onlyIfExists: false)
            },
            .init("lpushx", arity: -3, flags: [.write, .denyOOM, .fast], keys: .init(1, 1, 1), group: "list") {
                c throws(RedisError) in try push(&c, atHead: true, onlyIfExists: true)
            },
            .init("rpushx", arity: -3, flags: [.write, .denyOOM, .fast], keys: .init(1, 1, 1), group: "list") {
                c throws(RedisError) in try push(&c, atHead: false, onlyIfExists: true)
            },
            .init("lpop", arity: -2, flags: [.write, .fast], keys: .init(1, 1, 1), group: "list") {
                c throws(RedisError) in try pop(&c, atHead: true)
            },
            .init("rpop", arity: -2, flags: [.write, .fast], keys: .init(1, 1, 1), group: "list") {
                c throws(RedisError) in try pop(&c, atHead: false)
            },
            .init("llen", arity: 2, flags: [.readonly, .fast], keys: .init(1, 1, 1), group: "list", run: llen),
            .init("lrange", arity: 4, flags: [.readonly], keys: .init(1, 1, 1), group: "list", run: lrange),
            .init("lindex", arity: 3, flags: [.readonly], keys: .init(1, 1, 1), group: "list", run: lindex),
            .init("lset", arity: 4, flags: [.write, .denyOOM], keys: .init(1, 1, 1), group: "list", run: lset),
            .init("linsert", arity: 5, flags: [.write, .denyOOM], keys: .init(1, 1, 1), group: "list", run: linsert),
            .init("lrem", arity: 4, flags: [.write], keys: .init(1, 1, 1), group: "list", run: lrem),
            .init("ltrim", arity: 4, flags: [.write], keys: .init(1, 1, 1), group: "list", run: ltrim),
            .init("lpos", arity: -3, flags: [.readonly], keys: .init(1, 1, 1), group: "list", run: lpos),
            .init("lmove", arity: 5, flags: [.write, .denyOOM], keys: .init(1, 2, 1), group: "list", run: lmove),
            .init(
                "rpoplpush",
                arity: 3,
                flags: [.write, .denyOOM],
                keys: .init(1, 2, 1),
                group: "list",
                run: rpoplpush
            ),
            .init("lmpop", arity: -4, flags: [.write, .movableKeys], group: "list", run: lmpop),
        ] + blockingSpecs
}
