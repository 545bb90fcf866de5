import NIOCore
import SwiftletKeyspace
import SwiftletRESP

/// The blocking list commands: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP. Each first acts as its non-blocking
/// form; when no list has data it suspends the client (``CommandContext/block(keys:deadline:serve:)``) with a
/// closure that completes the command once a key is filled.
extension ListCommands {
    // MARK: - BLPOP / BRPOP

    /// BLPOP key [key ...] timeout / BRPOP key [key ...] timeout — O(N) in the number of keys
    static func blockingPop(_ context: inout CommandContext, atHead: Bool) throws(RedisError) {
        let deadline = try context.blockingDeadline(context.count - 1)
        for i in 1..<(context.count - 1) {
            let key = context.arguments[i]
            guard let list = try Self.lookupList(context, key), list.count > 0 else { continue }
            Self.popOne(&context, key, list, atHead: atHead)
            return
        }
        guard context.mayBlock else {
            context.out.writeNullArray()
            return
        }
        context.block(keys: 1..<(context.count - 1), deadline: deadline) { c, key throws(RedisError) in
            guard let list = try Self.readyList(c, key) else { return false }
            Self.popOne(&c, key, list, atHead: atHead)
            return true
        }
    }

    /// Replies `[key, element]` with the element popped from one end of `list`.
    static func popOne(_ context: inout CommandContext, _ key: ByteBuffer, _ list: ListValue, atHead: Bool) {
        context.out.writeArrayHeader(2)
        context.out.writeBulkString(key)
        list.withEnd(atHead: atHead) { context.out.writeBulkString($0) }
        list.removeEnd(atHead: atHead)
        context.notify(.list, atHead ? "lpop" : "rpop", key: key)
        context.modifiedOnly(key)
        Self.deleteIfEmpty(context, key, list)
        context.dirty()
        context.propagate([atHead ? "LPOP" : "RPOP", .bytes(key)])
    }

    /// The non-empty list at a key signalled as ready, or `nil` when it holds no list data (another type: the
    /// waiter keeps waiting, as Redis serves list waiters only from list keys).
    static func readyList(_ context: CommandContext, _ key: ByteBuffer) throws(RedisError) -> ListValue? {
        guard let entry = context.lookupWrite(key), case .list(let list) = entry.value, list.count > 0 else {
            return nil
        }
        return list
    }

    // MARK: - BLMOVE / BRPOPLPUSH

    /// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout — O(1)
    static func blmove(_ context: inout CommandContext) throws(RedisError) {
        let from = try Self.end(context, 3)
        let to = try Self.end(context, 4)
        let deadline = try context.blockingDeadline(5)
        try Self.blockingMove(&context, from: from, to: to, deadline: deadline)
    }

    /// BRPOPLPUSH source destination timeout — O(1)
    static func brpoplpush(_ context: inout CommandContext) throws(RedisError) {
        let deadline = try context.blockingDeadline(3)
        try Self.blockingMove(&context, from: false, to: true, deadline: deadline)
    }

    static func blockingMove(_ context: inout CommandContext, from: Bool, to: Bool, deadline: Int64) throws(RedisError)
    {
        if try Self.lookupList(context, context.arguments[1]) != nil {
            try Self.move(&context, from: from, to: to)
            if context.propagating && context.commandName == "blmove" {
                // Served at once: the directions as the client wrote them, as Redis.
                context.propagate([[ByteBuffer(string: "LMOVE")] + context.arguments[1...4]])
            } else {
                Self.propagateBlockingMove(context, context.arguments[1], context.arguments[2], from: from, to: to)
            }
            return
        }
        guard context.mayBlock else {
            context.out.writeNull()
            return
        }
        // The destination's type is checked only when the client is served, as in Redis.
        let destinationKey = ByteBuffer(bytes: context.arguments[2].readableBytesView)
        context.block(keys: 1..<2, deadline: deadline) { c, key throws(RedisError) in
            guard let source = try Self.readyList(c, key) else { return false }
            // A destination of another type ends the wait with WRONGTYPE; the element stays in the source.
            let destination = try Self.lookupList(c, destinationKey)
            let created = destination == nil
            Self.move(&c, source, key, destination, destinationKey, from: from, to: to)
            Self.propagateBlockingMove(c, key, destinationKey, from: from, to: to)
            c.server.signalModifiedKey(destinationKey, &c)
            if created { c.server.blocking.signal(database: c.session.database, key: destinationKey) }
            return true
        }
    }

    /// BLMOVE is written as LMOVE, BRPOPLPUSH as RPOPLPUSH (the running command tells which).
    static func propagateBlockingMove(
        _ context: CommandContext,
        _ source: ByteBuffer,
        _ destination: ByteBuffer,
        from: Bool,
        to: Bool
    ) {
        guard context.propagating else { return }
        if context.commandName == "brpoplpush" {
            context.propagate(["RPOPLPUSH", .bytes(source), .bytes(destination)])
        } else {
            // Served later: Redis writes the directions in lower case.
            context.propagate([
                "LMOVE", .bytes(source), .bytes(destination), from ? "left" : "right", to ? "left" : "right",
            ])
        }
    }

    // MARK: - BLMPOP

    /// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count] — O(N+M)
    static func blmpop(_ context: inout CommandContext) throws(RedisError) {
        let request = try Self.parseMultiPop(context, numkeysIndex: 2)
        let deadline = try context.blockingDeadline(1)
        if try Self.multiPop(&context, request) { return }
        guard context.mayBlock else {
            context.out.writeNullArray()
            return
        }
        let count = request.count
        let atHead = request.atHead
        context.block(keys: request.keys, deadline: deadline) { c, key throws(RedisError) in
            guard let list = try Self.readyList(c, key) else { return false }
            Self.popWithKey(&c, key, list, count: count, atHead: atHead)
            return true
        }
    }

    // MARK: - Table

    static let blockingSpecs: [CommandSpec] = [
        .init("blpop", arity: -3, flags: [.write, .noscript, .blocking], keys: .init(1, -2, 1), group: "list") {
            c throws(RedisError) in try blockingPop(&c, atHead: true)
        },
        .init("brpop", arity: -3, flags: [.write, .noscript, .blocking], keys: .init(1, -2, 1), group: "list") {
            c throws(RedisError) in try blockingPop(&c, atHead: false)
        },
        .init(
            "blmove",
            arity: 6,
            flags: [.write, .denyOOM, .noscript, .blocking],
            keys: .init(1, 2, 1),
            group: "list",
            run: blmove
        ),
        .init(
            "brpoplpush",
            arity: 4,
            flags: [.write, .denyOOM, .noscript, .blocking],
            keys: .init(1, 2, 1),
            group: "list",
            run: brpoplpush
        ),
        .init("blmpop", arity: -5, flags: [.write, .blocking, .movableKeys], group: "list", run: blmpop),
    ]
}
