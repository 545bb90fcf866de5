import NIOCore
import SwiftletKeyspace
import SwiftletRESP

/// The sorted set family: ZADD and friends. Ranges are in `SortedSetCommands+Range.swift`, the set algebra
/// (ZUNION, ZINTER, ZDIFF) in `+Algebra.swift`, pops, random members and ZSCAN in `+Pop.swift`.
public enum SortedSetCommands {
    // MARK: - Helpers

    /// The `listpack` limits from CONFIG (`zset-max-listpack-entries`, `zset-max-listpack-value`).
    static func limits(_ context: CommandContext) -> SortedSetValue.Limits {
        let hot = context.server.hot
        return SortedSetValue.Limits(entries: hot.zsetMaxListpackEntries, value: hot.zsetMaxListpackValue)
    }

    /// The sorted set at `key` for reading: `nil` when absent, WRONGTYPE for another type.
    @inline(__always)
    static func read(_ context: CommandContext, _ key: ByteBuffer) throws(RedisError) -> SortedSetValue? {
        guard let entry = context.lookupRead(key) else { return nil }
        guard case .sortedSet(let zset) = entry.value else { throw RedisError.wrongType }
        return zset
    }

    /// The sorted set at `key` for writing: `nil` when absent, WRONGTYPE for another type.
    @inline(__always)
    static func write(_ context: CommandContext, _ key: ByteBuffer) throws(RedisError) -> SortedSetValue? {
        guard let entry = context.lookupWrite(key) else { return nil }
        guard case .sortedSet(let zset) = entry.value else { throw RedisError.wrongType }
        return zset
    }

    /// Deletes `key` when the command emptied its set (Redis never keeps an empty collection).
    static func deleteIfEmpty(_ context: CommandContext, _ key: ByteBuffer, _ zset: SortedSetValue) {
        if zset.count == 0 {
            _ = key.withUnsafeReadableBytes { context.db.delete($0) }
            context.notify(.generic, "del", key: key)
        }
    }

    /// Deletes `key` (a STORE command's empty result); returns whether a live key was there. An expired key
    /// that was still in the table counts as absent, as Redis's `dbDelete` after `lookupKeyWrite` sees it.
    static func deleteKey(_ context: CommandContext, _ key: ByteBuffer) -> Bool {
        guard context.lookupWrite(key) != nil else { return false }
        return key.withUnsafeReadableBytes { context.db.delete($0) }
    }

    /// Stores `zset` under `key`, replacing any value and its time to live.
    static func store(_ context: CommandContext, _ key: ByteBuffer, _ zset: SortedSetValue) {
        context.countOverwriteAccess(key)
        key.withUnsafeReadableBytes { _ = context.db.set($0, .sortedSet(zset), now: context.now) }
    }

    /// A score as Redis's `addReplyDouble` writes it: `%.17g`, `inf`, `-inf`; a bulk string in RESP2, `,` in RESP3.
    static func writeScore(_ out: inout RESPReplyWriter, _ score: Double) {
        // Integral scores below 1e17 print as plain integers under %.17g: format them without allocating.
        if score != 0 && score == score.rounded(.towardZero) && score.magnitude < 1e17 {
            DecimalText.withDigits(of: Int64(score)) { digits in
                out.writeDouble(formatted: digits)
            }
            return
        }
        out.writeDouble(formatted: NumberFormat.formatDouble(score))
    }

    @inline(__always)
    static func writeMember(_ out: inout RESPReplyWriter, _ node: SortedSetNode) {
        node.withMember { out.writeBulkString($0) }
    }

    /// Writes `nodes` as ZRANGE does: members, or with scores a flat array in RESP2 and [member, score] pairs
    /// in RESP3 (order matters, so never a map).
    static func writeNodes(_ out: inout RESPReplyWriter, _ nodes: [SortedSetNode], withScores: Bool) {
        let resp3 = out.version == .resp3
        out.writeArrayHeader(withScores && !resp3 ? nodes.count * 2 : nodes.count)
        for node in nodes {
            if withScores && resp3 { out.writeArrayHeader(2) }
            Self.writeMember(&out, node)
            if withScores { Self.writeScore(&out, node.score) }
        }
    }

    /// Argument `index` as a C `long` with Redis's `getLongFromObjectOrReply` texts.
    static func long(_ context: CommandContext, _ index: Int) throws(RedisError) -> Int {
        guard let v = context.arguments[index].int64 else { throw RedisError.notInteger }
        return Int(v)
    }

    // MARK: - ZADD / ZINCRBY

    /// ZADD key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...] — O(log N) per member
    /// ZINCRBY key increment member — O(log N)
    static func zadd(_ context: inout CommandContext, incr forced: Bool) throws(RedisError) {
        var flags: SortedSetValue.AddFlags = forced ? [.incr] : []
        var ch = false
        var first = 2
        while first < context.count {
            if context.argument(first, is: "nx") {
                flags.insert(.nx)
            } else if context.argument(first, is: "xx") {
                flags.insert(.xx)
            } else if context.argument(first, is: "ch") {
                ch = true
            } else if context.argument(first, is: "incr") {
                flags.insert(.incr)
            } else if context.argument(first, is: "gt") {
                flags.insert(.gt)
            } else if context.argument(first, is: "lt") {
                flags.insert(.lt)
            } else {
                break
            }
            first += 1
        }
        let elements = context.count - first
        if elements % 2 != 0 || elements == 0 { throw RedisError.syntax }
        let nx = flags.contains(.nx)
        if nx && flags.contains(.xx) { throw RedisError.zaddXXAndNX }
        if (nx && (flags.contains(.gt) || flags.contains(.lt))) || (flags.contains(.gt) && flags.contains(.lt)) {
            throw RedisError.zaddGTLTAndNX
        }
        let incr = flags.contains(.incr)
        if incr && elements > 2 { throw RedisError.zaddIncrSinglePair }
        // Every score is parsed before anything changes: the command runs fully or not at all.
        var scores: [Double] = []
        scores.reserveCapacity(elements / 2)
        for i in stride(from: first, to: context.count, by: 2) {
            scores.append(try context.double(i))
        }

        let key = context.arguments[1]
        let limits = Self.limits(context)
        var added = 0
        var updated = 0
        var processed = 0
        var lastScore = 0.0
        var zset = try Self.write(context, key)
        if zset == nil && !flags.contains(.xx) {
            // A first member longer than the listpack limit starts the set as a skiplist, as Redis does.
            let listpack = limits.entries > 0 && context.arguments[first + 1].readableBytes <= limits.value
            let created = SortedSetValue(listpack: listpack)
            Self.store(context, key, created)
            zset = created
        }
        if let zset {
            for (n, score) in scores.enumerated() {
                let outcome = context.arguments[first + 1 + 2 * n].withUnsafeReadableBytes { member in
                    zset.add(member, score: score, flags: flags, limits: limits)
                }
                switch outcome {
                case .added(let s):
                    added += 1
                    processed += 1
                    lastScore = s
                case .updated(let s):
                    updated += 1
                    processed += 1
                    lastScore = s
                case .unchanged(let s):
                    processed += 1
                    lastScore = s
                case .skipped:
                    break
                case .notANumber:
                    if added + updated > 0 {
                        context.dirty(added + updated)
                        // Redis replies with the error, then notifies what changed before it.
                        context.server.reply(RedisError.zsetScoreNaN, &context)
                        context.server.table.stats[context.session.lastCommandID].failedCalls += 1
                        context.notify(.zset, incr ? "zincr" : "zadd", key: key)
                        return
                    }
                    throw RedisError.zsetScoreNaN
                }
            }
        }
        if incr {
            if processed > 0 { Self.writeScore(&context.out, lastScore) } else { context.out.writeNull() }
        } else {
            context.out.writeInteger(ch ? added + updated : added)
        }
        if added + updated > 0 {
            context.notify(.zset, incr ? "zincr" : "zadd", key: key)
            context.dirty(added + updated)
        }
    }

    // MARK: - ZREM

    /// ZREM key member [member ...] — O(M log N)
    static func zrem(_ context: inout CommandContext) throws(RedisError) {
        let key = context.arguments[1]
        guard let zset = try Self.write(context, key) else {
            context.out.writeInteger(0)
            return
        }
        var deleted = 0
        for i in 2..<context.count {
            if context.arguments[i].withUnsafeReadableBytes({ zset.remove($0) }) { deleted += 1 }
            if zset.count == 0 { break }
        }
        if deleted > 0 { context.notify(.zset, "zrem", key: key) }
        Self.deleteIfEmpty(context, key, zset)
        context.out.writeInteger(deleted)
        if deleted > 0 { context.dirty(deleted) }
    }

    // MARK: - Reading members

    /// ZCARD key — O(1)
    static func zcard(_ context: inout CommandContext) throws(RedisError) {
        context.out.writeInteger(try Self.read(context, context.arguments[1])?.count ?? 0)
    }

    /// ZSCORE key member — O(1)
    static func zscore(_ context: inout CommandContext) throws(RedisError) {
        guard let zset = try Self.read(context, context.arguments[1]),
            let score = context.arguments[2].withUnsafeReadableBytes({ zset.score(of: $0) })
        else {
            context.out.writeNull()
            return
        }
        Self.writeScore(&context.out, score)
    }

    /// ZMSCORE key member [member ...] — O(N)
    static func zmscore(_ context: inout CommandContext) throws(RedisError) {
        let zset = try Self.read(context, context.arguments[1])
        context.out.writeArrayHeader(context.count - 2)
        for i in 2..<context.count {
            if let zset, let score = context.arguments[i].withUnsafeReadableBytes({ zset.score(of: $0) }) {
                Self.writeScore(&context.out, score)
            } else {
                context.out.writeNull()
            }
        }
    }

    /// ZRANK key member / ZREVRANK key member — O(log N)
    static func zrank(_ context: inout CommandContext, reverse: Bool) throws(RedisError) {
        guard let zset = try Self.read(context, context.arguments[1]),
            let rank = context.arguments[2].withUnsafeReadableBytes({ zset.rank(of: $0, reverse: reverse) })
        else {
            context.out.writeNull()
            return
        }
        context.out.writeInteger(rank)
    }

    // MARK: - Table

    static let specs: [CommandSpec] = [
        .init("zadd", arity: -4, flags: [.write, .denyOOM, .fast], keys: .init(1, 1, 1), group: "sorted-set") {
            c throws(RedisError) in try zadd(&c, incr: false)
        },
        .init("zincrby", arity: 4, flags: [.write, .denyOOM, .fast], keys: .init(1, 1, 1), group: "sorted-set") {
            c throws(RedisError) in try zadd(&c, incr: true)
        },
        .init("zrem", arity: -3, flags: [.write, .fast], keys: .init(1, 1, 1), group: "sorted-set", run: zrem),
        .init("zcard", arity: 2, flags: [.readonly, .fast], keys: .init(1, 1, 1), group: "sorted-set", run: zcard),
        .init("zscore", arity: 3, flags: [.readonly, .fast], keys: .init(1, 1, 1), group: "sorted-set", run: zscore),
        .init(
            "zmscore",
            arity: -3,
            flags: [.readonly, .fast],
            keys: .init(1, 1, 1),
            group: "sorted-set",
            run: zmscore
        ),
        .init("zrank", arity: 3, flags: [.readonly, .fast], keys: .init(1, 1, 1), group: "sorted-set") {
            c throws(RedisError) in try zrank(&c, reverse: false)
        },
        .init("zrevrank", arity: 3, flags: [.readonly, .fast], keys: .init(1, 1, 1), group: "sorted-set") {
            c throws(RedisError) in try zrank(&c, reverse: true)
        },
        .init("zcount", arity: 4, flags: [.readonly, .fast], keys: .init(1, 1, 1), group: "sorted-set", run: zcount),
        .init(
            "zlexcount",
            arity: 4,
            flags: [.readonly, .fast],
            keys: .init(1, 1, 1),
            group: "sorted-set",
            run: zlexcount
        ),
        .init("zrange", arity: -4, flags: [.readonly], keys: .init(1, 1, 1), group: "sorted-set") {
            c throws(RedisError) in try zrange(&c, kind: nil, reverse: nil)
        },
        .init(
            "zrangestore",
            arity: -5,
            flags: [.write, .denyOOM],
            keys: .init(1, 2, 1),
            group: "sorted-set",
            run: zrangestore
        ),
        .init("zrevrange", arity: -4, flags: [.readonly], keys: .init(1, 1, 1), group: "sorted-set") {
            c throws(RedisError) in try zrange(&c, kind: .rank, reverse: true)
        },
        .init("zrangebyscore", arity: -4, flags: [.readonly], keys: .init(1, 1, 1), group: "sorted-set") {
            c throws(RedisError) in try zrange(&c, kind: .score, reverse: false)
        },
        .init("zrevrangebyscore", arity: -4, flags: [.readonly], keys: .init(1, 1, 1), group: "sorted-set") {
            c throws(RedisError) in try zrange(&c, kind: .score, reverse: true)
        },
        .init("zrangebylex", arity: -4, flags: [.readonly], keys: .init(1, 1, 1), group: "sorted-set") {
            c throws(RedisError) in try zrange(&c, kind: .lex, reverse: false)
        },
        .init("zrevrangebylex", arity: -4, flags: [.readonly], keys: .init(1, 1, 1), group: "sorted-set") {
            c throws(RedisError) in try zrange(&c, kind: .lex, reverse: true)
        },
        .init("zremrangebyrank", arity: 4, flags: [.write], keys: .init(1, 1, 1), group: "sorted-set") {
            c throws(RedisError) in try zremrange(&c, kind: .rank)
        },
        .init("zremrangebyscore", arity: 4, flags: [.write], keys: .init(1, 1, 1), group: "sorted-set") {
            c throws(RedisError) in try zremrange(&c, kind: .score)
        },
        .init("zremrangebylex", arity: 4, flags: [.write], keys: .init(1, 1, 1), group: "sorted-set") {
            c throws(RedisError) in try zremrange(&c, kind: .lex)
        },
        .init("zpopmin", arity: -2, flags: [.write, .fast], keys: .init(1, 1, 1), group: "sorted-set") {
            c throws(RedisError) in try zpop(&c, max: false)
        },
        .init("zpopmax", arity: -2, flags: [.write, .fast], keys: .init(1, 1, 1), group: "sorted-set") {
            c throws(RedisError) in try zpop(&c, max: true)
        },
        .init("zmpop", arity: -4, flags: [.write, .movableKeys], group: "sorted-set", run: zmpop),
        .init(
            "zrandmember",
            arity: -2,
            flags: [.readonly],
            keys: .init(1, 1, 1),
            group: "sorted-set",
            run: zrandmember
        ),
        .init("zscan", arity: -3, flags: [.readonly], keys: .init(1, 1, 1), group: "sorted-set", run: zscan),
        .init("zunion", arity: -3, flags: [.readonly, .movableKeys], group: "sorted-set") { c throws(RedisError) in
            try algebra(&c, .union, store: false)
        },
        .init("zinter", arity: -3, flags: [.readonly, .movableKeys], group: "sorted-set") { c throws(RedisError) in
            try algebra(&c, .inter, store: false)
        },
        .init("zdiff", arity: -3, flags: [.readonly, .movableKeys], group: "sorted-set") { c throws(RedisError) in
            try algebra(&c, .diff, store: false)
        },
        .init(
            "zunionstore",
            arity: -4,
            flags: [.write, .denyOOM, .movableKeys],
            keys: .init(1, 1, 1),
            group: "sorted-set"
        ) { c throws(RedisError) in try algebra(&c, .union, store: true) },
        .init(
            "zinterstore",
            arity: -4,
            flags: [.write, .denyOOM, .movableKeys],
            keys: .init(1, 1, 1),
            group: "sorted-set"
        ) { c throws(RedisError) in try algebra(&c, .inter, store: true) },
        .init(
            "zdiffstore",
            arity: -4,
            flags: [.write, .denyOOM, .movableKeys],
            keys: .init(1, 1, 1),
            group: "sorted-set"
        ) { c throws(RedisError) in try algebra(&c, .diff, store: true) },
        .init("zintercard", arity: -3, flags: [.readonly, .movableKeys], group: "sorted-set") { c throws(RedisError) in
            try algebra(&c, .inter, store: false, cardinalityOnly: true)
        },
    ]
}
