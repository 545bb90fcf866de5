import NIOCore
import SwiftletKeyspace
import SwiftletRESP

/// BZPOPMIN, BZPOPMAX and BZMPOP: the pops of `SortedSetCommands+Pop.swift` on the blocking machinery of
/// `Blocking.swift`. Each first acts as its non-blocking form; with no data it suspends the client until a key
/// gets a sorted set, the timeout passes, or CLIENT UNBLOCK.
extension SortedSetCommands {
    /// The non-empty sorted set at a key signalled as ready, `nil` for anything else (the waiter keeps waiting).
    static func readyZset(_ context: CommandContext, _ key: ByteBuffer) -> SortedSetValue? {
        guard let entry = context.lookupWrite(key), case .sortedSet(let zset) = entry.value, zset.count > 0 else {
            return nil
        }
        return zset
    }

    /// BZPOPMIN key [key ...] timeout / BZPOPMAX key [key ...] timeout — O(log N)
    static func bzpop(_ context: inout CommandContext, max: Bool) throws(RedisError) {
        let deadline = try context.blockingDeadline(context.count - 1)
        let shape = PopReply(emitKey: true)
        for i in 1..<(context.count - 1) {
            let key = context.arguments[i]
            guard let zset = try Self.write(context, key), zset.count > 0 else { continue }
            Self.pop(&context, key: key, zset: zset, max: max, count: nil, shape: shape)
            return
        }
        guard context.mayBlock else {
            context.out.writeNullArray()
            return
        }
        context.block(keys: 1..<(context.count - 1), deadline: deadline) { c, key throws(RedisError) in
            guard let zset = Self.readyZset(c, key) else { return false }
            Self.pop(&c, key: key, zset: zset, max: max, count: nil, shape: shape)
            return true
        }
    }

    /// BZMPOP timeout numkeys key [key ...] MIN | MAX [COUNT count] — O(K + M log N)
    static func bzmpop(_ context: inout CommandContext) throws(RedisError) {
        // Redis checks numkeys, MIN|MAX and COUNT before the timeout.
        let (keys, max, count) = try Self.parseMultiPop(context, numkeysIndex: 2)
        let deadline = try context.blockingDeadline(1)
        let shape = PopReply(emitKey: true, nested: true)
        for i in keys {
            let key = context.arguments[i]
            guard let zset = try Self.write(context, key), zset.count > 0 else { continue }
            Self.pop(&context, key: key, zset: zset, max: max, count: count, shape: shape)
            return
        }
        guard context.mayBlock else {
            context.out.writeNullArray()
            return
        }
        context.block(keys: keys, deadline: deadline) { c, key throws(RedisError) in
            guard let zset = Self.readyZset(c, key) else { return false }
            Self.pop(&c, key: key, zset: zset, max: max, count: count, shape: shape)
            return true
        }
    }

    static let blockingSpecs: [CommandSpec] = [
        .init(
            "bzpopmin",
            arity: -3,
            flags: [.write, .noscript, .blocking, .fast],
            keys: .init(1, -2, 1),
            group: "sorted-set"
        ) {
            c throws(RedisError) in try bzpop(&c, max: false)
        },
        .init(
            "bzpopmax",
            arity: -3,
            flags: [.write, .noscript, .blocking, .fast],
            keys: .init(1, -2, 1),
            group: "sorted-set"
        ) {
            c throws(RedisError) in try bzpop(&c, max: true)
        },
        .init("bzmpop", arity: -5, flags: [.write, .blocking, .movableKeys], group: "sorted-set", run: bzmpop),
    ]
}
