public import NIOCore
import SwiftletKeyspace
import SwiftletRESP

/// The kinds of subscription, with the names their (un)subscribe replies and messages carry.
public enum SubscriptionKind: Int, Sendable, CaseIterable {
    case channel
    case pattern
    case shardChannel

    var subscribeName: StaticString {
        switch self {
        case .channel: return "subscribe"
        case .pattern: return "psubscribe"
        case .shardChannel: return "ssubscribe"
        }
    }

    var unsubscribeName: StaticString {
        switch self {
        case .channel: return "unsubscribe"
        case .pattern: return "punsubscribe"
        case .shardChannel: return "sunsubscribe"
        }
    }
}

/// One client's subscriptions, in subscription order (UNSUBSCRIBE without arguments replies in this order).
public struct Subscriptions {
    var lists: [[ByteBuffer]] = [[], [], []]

    public func names(_ kind: SubscriptionKind) -> [ByteBuffer] { self.lists[kind.rawValue] }
    public func count(_ kind: SubscriptionKind) -> Int { self.lists[kind.rawValue].count }

    /// Channels plus patterns: the count SUBSCRIBE, PSUBSCRIBE and their opposites reply with (Redis 7.0 counts
    /// shard channels apart).
    var channelsAndPatterns: Int { self.lists[0].count + self.lists[1].count }

    public var total: Int { self.lists[0].count + self.lists[1].count + self.lists[2].count }

    /// The count an (un)subscribe reply of this kind carries.
    func replyCount(_ kind: SubscriptionKind) -> Int {
        kind == .shardChannel ? self.lists[2].count : self.channelsAndPatterns
    }
}

/// Every channel and pattern subscription of a server (pubsub.c): subscribers in the order they subscribed, so
/// that each publisher's messages reach them in order and Redis's PUBLISH counts come out the same.
public final class PubSubRegistry {
    @exclusivity(unchecked)
    private var subscribers: [[ByteBuffer: [ClientSession]]] = [[:], [:], [:]]
    /// Patterns in first-subscription order (Redis walks its pattern dict; any stable order is as good).
    private var patternOrder: [ByteBuffer] = []

    public init() {}

    /// Number of channels, patterns or shard channels with at least one subscriber (PUBSUB NUMPAT and INFO count
    /// distinct patterns, as Redis 7.0 does).
    public func count(_ kind: SubscriptionKind) -> Int {
        self.subscribers[kind.rawValue].count
    }

    /// Subscriptions to exactly `name` (NUMSUB).
    public func subscriberCount(_ kind: SubscriptionKind, _ name: ByteBuffer) -> Int {
        self.subscribers[kind.rawValue][name]?.count ?? 0
    }

    /// The active channels (or shard channels) matching `pattern` (all of them when it is nil).
    public func activeNames(_ kind: SubscriptionKind, matching pattern: ByteBuffer?) -> [ByteBuffer] {
        let names = Array(self.subscribers[kind.rawValue].keys)
        guard let pattern else { return names }
        return names.filter { name in
            pattern.withUnsafeReadableBytes { p in name.withUnsafeReadableBytes { Glob.match(pattern: p, string: $0) } }
        }
    }

    /// Adds a subscription; returns `false` when the client already had it.
    func subscribe(_ session: ClientSession, _ kind: SubscriptionKind, _ name: ByteBuffer) -> Bool {
        let k = kind.rawValue
        if session.subscriptions.lists[k].contains(name) { return false }
        let stored = ByteBuffer(bytes: name.readableBytesView)
        session.subscriptions.lists[k].append(stored)
        if kind == .pattern && self.subscribers[k][stored] == nil { self.patternOrder.append(stored) }
        self.subscribers[k][stored, default: []].append(session)
        session.isSubscribed = true
        return true
    }

    /// Removes a subscription; returns `false` when the client did not have it.
    func unsubscribe(_ session: ClientSession, _ kind: SubscriptionKind, _ name: ByteBuffer) -> Bool {
        let k = kind.rawValue
        guard let index = session.subscriptions.lists[k].firstIndex(of: name) else { return false }
        session.subscriptions.lists[k].remove(at: index)
        if var list = self.subscribers[k].removeValue(forKey: name) {
            list.removeAll { $0 === session }
            if list.isEmpty {
                if kind == .pattern { self.patternOrder.removeAll { $0 == name } }
            } else {
                self.subscribers[k][name] = list
            }
        }
        session.isSubscribed = session.subscriptions.total > 0
        return true
    }

    /// Drops every subscription of a client (RESET, disconnect), without replies.
    func removeAll(_ session: ClientSession) {
        guard session.isSubscribed else { return }
        for kind in SubscriptionKind.allCases {
            for name in session.subscriptions.names(kind) { _ = self.unsubscribe(session, kind, name) }
        }
    }

    /// Delivers a message to the subscribers of `channel` and of the patterns matching it; returns how many
    /// deliveries there were (PUBLISH's reply). Channel subscribers come first, then pattern subscribers.
    func publish(
        _ channel: ByteBuffer,
        _ message: ByteBuffer,
        shard: Bool,
        server: ServerState,
        context: inout CommandContext
    ) -> Int {
        self.publish(channel, message, shard: shard) { server.push($1, to: $0, context: &context) }
    }

    /// Delivers a message as above, handing each subscriber's frame to `deliver` (keyspace notifications route
    /// the running client's frames into its reply).
    func publish(
        _ channel: ByteBuffer,
        _ message: ByteBuffer,
        shard: Bool = false,
        deliver: (ClientSession, ByteBuffer) -> Void
    ) -> Int {
        var frames = MessageFrames()
        var receivers = 0
        let kind: SubscriptionKind = shard ? .shardChannel : .channel
        if let list = self.subscribers[kind.rawValue][channel] {
            for session in list {
                let frame = frames.message(shard ? "smessage" : "message", channel, message, session.protocolVersion)
                deliver(session, frame)
                receivers += 1
            }
        }
        guard !shard, !self.patternOrder.isEmpty else { return receivers }
        for pattern in self.patternOrder {
            let matches = pattern.withUnsafeReadableBytes { p in
                channel.withUnsafeReadableBytes { Glob.match(pattern: p, string: $0) }
            }
            guard matches, let list = self.subscribers[1][pattern] else { continue }
            for session in list {
                let frame = frames.patternMessage(pattern, channel, message, session.protocolVersion)
                deliver(session, frame)
                receivers += 1
            }
        }
        return receivers
    }
}

/// The frames of one published message, encoded once per protocol version and shared by every subscriber.
struct MessageFrames {
    // Two fields, not an array: no allocation per PUBLISH beyond the frames themselves.
    private var resp2: ByteBuffer?
    private var resp3: ByteBuffer?
    private var patterned: [ByteBuffer: [ByteBuffer?]] = [:]

    mutating func message(
        _ kind: StaticString,
        _ channel: ByteBuffer,
        _ message: ByteBuffer,
        _ version: RESPVersion
    ) -> ByteBuffer {
        if version == .resp3 {
            if let frame = self.resp3 { return frame }
        } else if let frame = self.resp2 {
            return frame
        }
        // Sized once: header, three bulk strings and their length lines.
        let capacity = 48 + kind.utf8CodeUnitCount + channel.readableBytes + message.readableBytes
        var writer = RESPReplyWriter(buffer: ByteBufferAllocator().buffer(capacity: capacity), version: version)
        writer.writePushHeader(3)
        writer.writeBulkString(kind.withUTF8Buffer { UnsafeRawBufferPointer($0) })
        writer.writeBulkString(channel)
        writer.writeBulkString(message)
        if version == .resp3 { self.resp3 = writer.buffer } else { self.resp2 = writer.buffer }
        return writer.buffer
    }

    mutating func patternMessage(
        _ pattern: ByteBuffer,
        _ channel: ByteBuffer,
        _ message: ByteBuffer,
        _ version: RESPVersion
    ) -> ByteBuffer {
        let slot = version == .resp3 ? 1 : 0
        if let frame = self.patterned[pattern]?[slot] { return frame }
        var writer = RESPReplyWriter(buffer: ByteBuffer(), version: version)
        writer.writePushHeader(4)
        writer.writeBulkString("pmessage")
        writer.writeBulkString(pattern)
        writer.writeBulkString(channel)
        writer.writeBulkString(message)
        self.patterned[pattern, default: [nil, nil]][slot] = writer.buffer
        return writer.buffer
    }
}
