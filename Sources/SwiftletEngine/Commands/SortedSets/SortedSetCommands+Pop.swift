import NIOCore
import SwiftletKeyspace
import SwiftletRESP

extension SortedSetCommands {
    // MARK: - Popping (shared with the blocking variants)

    /// How a pop reply is shaped (Redis's `genericZpopCommand` flags).
    struct PopReply {
        /// Prefix the reply with the key name (BZPOPMIN/BZPOPMAX, ZMPOP/BZMPOP).
        var emitKey = false
        /// [member, score] pairs instead of a flat list (RESP3 ZPOPMIN with a count; ZMPOP/BZMPOP always).
        var nested = false
    }

    /// Pops up to `count` members (`nil`: a plain single pop) from the lowest or highest end of `zset`, which is
    /// stored at `key` and not empty, writes the reply, deletes the key when emptied and counts the changes.
    ///
    /// This is the non-blocking core of ZPOPMIN, ZPOPMAX and ZMPOP. BZPOPMIN/BZPOPMAX serve a ready key with
    /// `count: nil, shape: PopReply(emitKey: true)`, and BZMPOP with `shape: PopReply(emitKey: true, nested: true)`,
    /// both on the first non-empty key, from the blocking machinery's wake-up as well.
    static func pop(
        _ context: inout CommandContext,
        key: ByteBuffer,
        zset: SortedSetValue,
        max: Bool,
        count: Int?,
        shape: PopReply
    ) {
        let n = Swift.min(count ?? 1, zset.count)
        if !shape.nested && !shape.emitKey {
            context.out.writeArrayHeader(n * 2)
        } else if shape.nested && !shape.emitKey {
            context.out.writeArrayHeader(n)
        } else if !shape.nested && shape.emitKey {
            context.out.writeArrayHeader(n * 2 + 1)
            context.out.writeBulkString(key)
        } else {
            context.out.writeArrayHeader(2)
            context.out.writeBulkString(key)
            context.out.writeArrayHeader(n)
        }
        if n > 0 { context.notify(.zset, max ? "zpopmax" : "zpopmin", key: key) }
        if shape.emitKey { context.modifiedOnly(key) }
        for _ in 0..<n {
            let node = zset.remove(at: max ? zset.count - 1 : 0)
            if shape.nested { context.out.writeArrayHeader(2) }
            Self.writeMember(&context.out, node)
            Self.writeScore(&context.out, node.score)
        }
        Self.deleteIfEmpty(context, key, zset)
        context.dirty(n)
        if shape.emitKey && context.propagating {
            // BZPOPMIN/BZPOPMAX, ZMPOP and BZMPOP are written as ZPOPMIN/ZPOPMAX, as Redis does.
            let name: PropagatedArgument = max ? "ZPOPMAX" : "ZPOPMIN"
            context.propagate(count == nil ? [name, .bytes(key)] : [name, .bytes(key), .integer(Int64(n))])
        }
    }

    /// ZPOPMIN key [count] / ZPOPMAX key [count] — O(M log N)
    static func zpop(_ context: inout CommandContext, max: Bool) throws(RedisError) {
        if context.count > 3 { throw RedisError.syntax }
        var count: Int?
        if context.count == 3 {
            guard let v = context.arguments[2].int64, v >= 0 else { throw RedisError.zsetMustBePositive }
            count = Int(v)
        }
        let key = context.arguments[1]
        guard let zset = try Self.write(context, key) else {
            context.out.writeArrayHeader(0)
            return
        }
        if count == 0 {
            context.out.writeArrayHeader(0)
            return
        }
        // RESP3 nests [member, score] pairs once a count is given, even a count of 1.
        let nested = context.out.version == .resp3 && count != nil
        Self.pop(&context, key: key, zset: zset, max: max, count: count, shape: PopReply(nested: nested))
    }

    /// Parses `numkeys key [key ...] MIN | MAX [COUNT count]` from `numkeysIndex` (ZMPOP, and BZMPOP after its
    /// timeout). Returns the key argument range, the end and the count.
    static func parseMultiPop(
        _ context: CommandContext,
        numkeysIndex: Int
    ) throws(RedisError) -> (keys: Range<Int>, max: Bool, count: Int) {
        guard let numkeys = context.arguments[numkeysIndex].int64, numkeys >= 1 else {
            throw RedisError.zsetNumkeysNotPositive
        }
        // Compared before any arithmetic: numkeys may be as large as Int64.max.
        guard numkeys < Int64(context.count - numkeysIndex - 1) else { throw RedisError.syntax }
        let whereIndex = numkeysIndex + 1 + Int(numkeys)
        let max: Bool
        if context.argument(whereIndex, is: "min") {
            max = false
        } else if context.argument(whereIndex, is: "max") {
            max = true
        } else {
            throw RedisError.syntax
        }
        var count: Int?
        var j = whereIndex + 1
        while j < context.count {
            if count == nil && context.argument(j, is: "count") && j + 1 < context.count {
                guard let v = context.arguments[j + 1].int64, v >= 1 else { throw RedisError.zsetCountNotPositive }
                count = Int(v)
                j += 2
            } else {
                throw RedisError.syntax
            }
        }
        return (numkeysIndex + 1..<whereIndex, max, count ?? 1)
    }

    /// ZMPOP numkeys key [key ...] MIN | MAX [COUNT count] — O(K + M log N)
    static func zmpop(_ context: inout CommandContext) throws(RedisError) {
        let (keys, max, count) = try Self.parseMultiPop(context, numkeysIndex: 1)
        // The first key that exists decides: a wrong type there is an error, later keys are not looked at.
        for i in keys {
            let key = context.arguments[i]
            guard let zset = try Self.write(context, key) else { continue }
            Self.pop(
                &context,
                key: key,
                zset: zset,
                max: max,
                count: count,
                shape: PopReply(emitKey: true, nested: true)
            )
            return
        }
        context.out.writeNullArray()
    }

    // MARK: - ZRANDMEMBER

    /// ZRANDMEMBER key [count [WITHSCORES]] — O(N) in the count
    static func zrandmember(_ context: inout CommandContext) throws(RedisError) {
        guard context.count >= 3 else {
            guard let zset = try Self.read(context, context.arguments[1]) else {
                context.out.writeNull()
                return
            }
            var rng = SystemRandomNumberGenerator()
            Self.writeMember(&context.out, zset.randomNode(using: &rng))
            return
        }
        guard let l = context.arguments[2].int64 else { throw RedisError.notInteger }
        if l == Int64.min { throw RedisError.zsetValueNotBetween(-Int64.max, Int64.max) }
        var withScores = false
        if context.count > 4 || (context.count == 4 && !context.argument(3, is: "withscores")) {
            throw RedisError.syntax
        } else if context.count == 4 {
            withScores = true
            if l < -Int64.max / 2 || l > Int64.max / 2 { throw RedisError.zsetValueOutOfRange }
        }
        guard let zset = try Self.read(context, context.arguments[1]) else {
            context.out.writeArrayHeader(0)
            return
        }
        let resp3 = context.out.version == .resp3
        func emit(_ out: inout RESPReplyWriter, _ node: SortedSetNode) {
            if withScores && resp3 { out.writeArrayHeader(2) }
            Self.writeMember(&out, node)
            if withScores { Self.writeScore(&out, node.score) }
        }
        let size = zset.count
        var rng = SystemRandomNumberGenerator()
        if l == 0 {
            context.out.writeArrayHeader(0)
            return
        }
        // A negative count (or 1) samples with repetition, in random order.
        if l < 0 || l == 1 {
            let count = Int(l.magnitude)
            context.out.writeArrayHeader(withScores && !resp3 ? count * 2 : count)
            for _ in 0..<count { emit(&context.out, zset.randomNode(using: &rng)) }
            return
        }
        let count = Int(l)
        let replySize = Swift.min(count, size)
        context.out.writeArrayHeader(withScores && !resp3 ? replySize * 2 : replySize)
        if count >= size {
            // The whole set, walked from the highest rank down as Redis's set-operation iterator does.
            zset.walk(from: size - 1, reverse: true) { node in
                emit(&context.out, node)
                return true
            }
            return
        }
        // Distinct ranks: a partial shuffle when most of the set is wanted, rejection sampling otherwise.
        if count * 3 > size {
            var ranks = Array(0..<size)
            for i in 0..<count {
                ranks.swapAt(i, Int.random(in: i..<size, using: &rng))
                emit(&context.out, zset.node(at: ranks[i]))
            }
        } else {
            var seen = Set<Int>(minimumCapacity: count)
            while seen.count < count {
                let rank = Int.random(in: 0..<size, using: &rng)
                if seen.insert(rank).inserted { emit(&context.out, zset.node(at: rank)) }
            }
        }
    }

    // MARK: - ZSCAN

    /// The score text ZSCAN shows: a `skiplist` set prints `%.17g`; a `listpack` one prints what the listpack
    /// stores, an integer for integral scores within ±2^62 (so 1e18 shows as 1000000000000000000).
    static func scanScoreText(_ score: Double, listpack: Bool) -> [UInt8] {
        if listpack && score == score.rounded(.towardZero) && score >= -4.611686018427388e18
            && score <= 4.611686018427388e18
        {
            return NumberFormat.formatInt64(Int64(score))
        }
        return NumberFormat.formatDouble(score)
    }

    /// ZSCAN key cursor [MATCH pattern] [COUNT count] — O(1) per call
    static func zscan(_ context: inout CommandContext) throws(RedisError) {
        let start = try KeyCommands.cursor(context.arguments[2])
        guard let zset = try Self.read(context, context.arguments[1]) else {
            context.out.writeArrayHeader(2)
            context.out.writeBulkString("0")
            context.out.writeArrayHeader(0)
            return
        }
        var count = 10
        var pattern: [UInt8]?
        var i = 3
        while i < context.count {
            let remaining = context.count - i
            if context.argument(i, is: "count") && remaining >= 2 {
                let v = try context.integer(i + 1)
                if v < 1 { throw RedisError.syntax }
                count = Int(clamping: v)
                i += 2
            } else if context.argument(i, is: "match") && remaining >= 2 {
                pattern = context.arguments[i + 1].bytes
                i += 2
            } else {
                throw RedisError.syntax
            }
        }
        if pattern == [UInt8(ascii: "*")] { pattern = nil }
        var found: [SortedSetNode] = []
        var cursor: UInt64 = 0
        if zset.isListpack {
            zset.walk { node in
                found.append(node)
                return true
            }
        } else {
            cursor = start
            var iterations = count * 10
            repeat {
                cursor = zset.scan(cursor) { found.append($0) }
                iterations -= 1
            } while cursor != 0 && iterations >= 0 && found.count < count
        }
        if let pattern {
            found = found.filter { node in
                node.withMember { m in pattern.withUnsafeBytes { Glob.match(pattern: $0, string: m) } }
            }
        }
        context.out.writeArrayHeader(2)
        context.out.writeBulkString(String(cursor))
        context.out.writeArrayHeader(found.count * 2)
        for node in found {
            Self.writeMember(&context.out, node)
            context.out.writeBulkString(Self.scanScoreText(node.score, listpack: zset.isListpack))
        }
    }
}
