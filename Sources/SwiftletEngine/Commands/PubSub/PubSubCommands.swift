import NIOCore
import SwiftletRESP

/// SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE, their opposites, PUBLISH, SPUBLISH and PUBSUB (pubsub.c).
///
/// Subscription replies are push messages (`>` in RESP3, arrays in RESP2), one per channel named. Messages to
/// other clients are queued on their connections by ``ServerState/push(_:to:context:)`` and written when the
/// publisher's read batch ends.
enum PubSubCommands {
    /// The commands a RESP2 client may send while it has subscriptions.
    static let allowedWhileSubscribed: Set<String> = [
        "subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe", "ping", "quit",
        "reset",
    ]

    static func writeSubscriptionReply(
        _ context: inout CommandContext,
        _ name: StaticString,
        _ channel: ByteBuffer?,
        count: Int
    ) {
        let start = context.out.buffer.writerIndex
        context.out.writePushHeader(3)
        context.out.writeBulkString(name.withUTF8Buffer { UnsafeRawBufferPointer($0) })
        if let channel {
            context.out.writeBulkString(channel)
        } else {
            context.out.writeNull()
        }
        context.out.writeInteger(count)
        if context.session.silencedPushes != nil {
            // CLIENT REPLY OFF/SKIP: the confirmation is a push, so it goes out while the reply is dropped.
            // Why `!`: the confirmation was written just above.
            let frame = context.out.buffer.getSlice(at: start, length: context.out.buffer.writerIndex - start)!
            context.out.buffer.moveWriterIndex(to: start)
            context.session.silencedPushes!.writeImmutableBuffer(frame)
        }
    }

    /// SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE name [name ...] — O(N)
    static func subscribe(_ context: inout CommandContext, _ kind: SubscriptionKind) throws(RedisError) {
        let registry = context.server.pubsub
        let session = context.session
        for i in 1..<context.count {
            _ = registry.subscribe(session, kind, context.arguments[i])
            Self.writeSubscriptionReply(
                &context,
                kind.subscribeName,
                context.arguments[i],
                count: session.subscriptions.replyCount(kind)
            )
        }
    }

    /// UNSUBSCRIBE / PUNSUBSCRIBE / SUNSUBSCRIBE [name ...] — O(N); without names, every subscription of the kind.
    static func unsubscribe(_ context: inout CommandContext, _ kind: SubscriptionKind) throws(RedisError) {
        let registry = context.server.pubsub
        let session = context.session
        if context.count > 1 {
            for i in 1..<context.count {
                _ = registry.unsubscribe(session, kind, context.arguments[i])
                Self.writeSubscriptionReply(
                    &context,
                    kind.unsubscribeName,
                    context.arguments[i],
                    count: session.subscriptions.replyCount(kind)
                )
            }
            return
        }
        let names = session.subscriptions.names(kind)
        if names.isEmpty {
            Self.writeSubscriptionReply(
                &context,
                kind.unsubscribeName,
                nil,
                count: session.subscriptions.replyCount(kind)
            )
            return
        }
        for name in names {
            _ = registry.unsubscribe(session, kind, name)
            Self.writeSubscriptionReply(
                &context,
                kind.unsubscribeName,
                name,
                count: session.subscriptions.replyCount(kind)
            )
        }
    }

    /// PUBLISH / SPUBLISH channel message — O(N+M) for N subscribers and M patterns
    static func publish(_ context: inout CommandContext, shard: Bool) throws(RedisError) {
        let receivers = context.server.pubsub.publish(
            context.arguments[1],
            context.arguments[2],
            shard: shard,
            server: context.server,
            context: &context
        )
        // To the replicas (not the AOF), as Redis 7.0 propagates PUBLISH and SPUBLISH outside cluster mode: a replica's
        // subscribers get the message too.
        context.forceReplicationOnly()
        context.out.writeInteger(receivers)
    }

    /// PUBSUB CHANNELS / SHARDCHANNELS [pattern] — O(N)
    static func channels(_ context: inout CommandContext, _ kind: SubscriptionKind) throws(RedisError) {
        if context.count > 3 {
            throw RedisError.subcommandSyntax(
                String(decoding: context.arguments[1].readableBytesView, as: UTF8.self),
                container: "pubsub"
            )
        }
        let pattern = context.count == 3 ? context.arguments[2] : nil
        let names = context.server.pubsub.activeNames(kind, matching: pattern)
        context.out.writeArrayHeader(names.count)
        for name in names { context.out.writeBulkString(name) }
    }

    /// PUBSUB NUMSUB / SHARDNUMSUB [channel ...] — O(N)
    static func numsub(_ context: inout CommandContext, _ kind: SubscriptionKind) throws(RedisError) {
        let registry = context.server.pubsub
        // A flat array in RESP3 too, as Redis 7.0 replies.
        context.out.writeArrayHeader((context.count - 2) * 2)
        for i in 2..<context.count {
            context.out.writeBulkString(context.arguments[i])
            context.out.writeInteger(registry.subscriberCount(kind, context.arguments[i]))
        }
    }

    static let specs: [CommandSpec] = [
        .init("subscribe", arity: -2, flags: [.pubsub, .noscript, .loading, .stale], group: "pubsub") {
            c throws(RedisError) in try subscribe(&c, .channel)
        },
        .init("psubscribe", arity: -2, flags: [.pubsub, .noscript, .loading, .stale], group: "pubsub") {
            c throws(RedisError) in try subscribe(&c, .pattern)
        },
        .init(
            "ssubscribe",
            arity: -2,
            flags: [.pubsub, .noscript, .loading, .stale],
            keys: .init(1, -1, 1),
            group: "pubsub"
        ) { c throws(RedisError) in try subscribe(&c, .shardChannel) },
        .init("unsubscribe", arity: -1, flags: [.pubsub, .noscript, .loading, .stale], group: "pubsub") {
            c throws(RedisError) in try unsubscribe(&c, .channel)
        },
        .init("punsubscribe", arity: -1, flags: [.pubsub, .noscript, .loading, .stale], group: "pubsub") {
            c throws(RedisError) in try unsubscribe(&c, .pattern)
        },
        .init(
            "sunsubscribe",
            arity: -1,
            flags: [.pubsub, .noscript, .loading, .stale],
            keys: .init(1, -1, 1),
            group: "pubsub"
        ) { c throws(RedisError) in try unsubscribe(&c, .shardChannel) },
        .init("publish", arity: 3, flags: [.pubsub, .loading, .stale, .fast, .mayReplicate], group: "pubsub") {
            c throws(RedisError) in try publish(&c, shard: false)
        },
        .init(
            "spublish",
            arity: 3,
            flags: [.pubsub, .loading, .stale, .fast, .mayReplicate],
            keys: .init(1, 1, 1),
            group: "pubsub"
        ) { c throws(RedisError) in try publish(&c, shard: true) },
        .init(
            "pubsub",
            arity: -2,
            flags: [],
            group: "pubsub",
            // In the order Redis's COMMAND lists them (its subcommand dict's order).
            subcommands: [
                .init("shardnumsub", arity: -2, flags: [.pubsub, .loading, .stale], group: "pubsub") {
                    c throws(RedisError) in try numsub(&c, .shardChannel)
                },
                .init("numsub", arity: -2, flags: [.pubsub, .loading, .stale], group: "pubsub") {
                    c throws(RedisError) in try numsub(&c, .channel)
                },
                .init("numpat", arity: 2, flags: [.pubsub, .loading, .stale], group: "pubsub") { c throws(RedisError) in
                    c.out.writeInteger(c.server.pubsub.count(.pattern))
                },
                .init("help", arity: 2, flags: [.loading, .stale], group: "pubsub") { c throws(RedisError) in
                    KeyCommands.help(HelpText.pubsub, &c)
                },
                .init("channels", arity: -2, flags: [.pubsub, .loading, .stale], group: "pubsub") {
                    c throws(RedisError) in try channels(&c, .channel)
                },
                .init("shardchannels", arity: -2, flags: [.pubsub, .loading, .stale], group: "pubsub") {
                    c throws(RedisError) in try channels(&c, .shardChannel)
                },
            ]
        ),
    ]
}
