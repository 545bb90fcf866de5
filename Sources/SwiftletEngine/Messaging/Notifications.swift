public import NIOCore
import SwiftletKeyspace
import SwiftletRESP

/// The classes of keyspace events and the K/E channel flags, with Redis's bits (server.h `NOTIFY_*`), as
/// `notify-keyspace-events` selects them.
public struct KeyspaceEvents: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// K: publish on `__keyspace@<db>__:<key>`.
    public static let keyspace = KeyspaceEvents(rawValue: 1 << 0)
    /// E: publish on `__keyevent@<db>__:<event>`.
    public static let keyevent = KeyspaceEvents(rawValue: 1 << 1)
    /// g: DEL, EXPIRE, RENAME, ... (commands not specific to a type).
    public static let generic = KeyspaceEvents(rawValue: 1 << 2)
    /// $: string commands.
    public static let string = KeyspaceEvents(rawValue: 1 << 3)
    /// l: list commands.
    public static let list = KeyspaceEvents(rawValue: 1 << 4)
    /// s: set commands.
    public static let set = KeyspaceEvents(rawValue: 1 << 5)
    /// h: hash commands.
    public static let hash = KeyspaceEvents(rawValue: 1 << 6)
    /// z: sorted set commands.
    public static let zset = KeyspaceEvents(rawValue: 1 << 7)
    /// x: a key removed because its time to live passed.
    public static let expired = KeyspaceEvents(rawValue: 1 << 8)
    /// e: a key evicted for maxmemory.
    public static let evicted = KeyspaceEvents(rawValue: 1 << 9)
    /// t: stream commands.
    public static let stream = KeyspaceEvents(rawValue: 1 << 10)
    /// m: a read lookup missed (not part of A).
    public static let keyMiss = KeyspaceEvents(rawValue: 1 << 11)
    /// d: module events.
    public static let module = KeyspaceEvents(rawValue: 1 << 13)
    /// n: a key was added to a database (not part of A).
    public static let new = KeyspaceEvents(rawValue: 1 << 14)
}

/// The running command's keyspace events addressed to the running client itself (a RESP3 client subscribed to
/// `__key*__` channels). Redis appends such a push to the client's reply buffer where the command stands when the
/// event fires, so it may come before, inside or after the command's reply; handlers often take the context by
/// value, so the frames are kept with their reply offset here and spliced into the reply when the command ends.
final class SelfNotifications {
    /// The client whose command is running (nil between commands: frames then go to outboxes).
    var session: ClientSession?
    /// Where in the running client's reply buffer an event without a context of its own (a lazy expiry, a new
    /// key, an event of a blocked client served after the command) is placed: after the previous event.
    var offset = 0
    var frames: [(offset: Int, frame: ByteBuffer)] = []
    /// Under CLIENT REPLY OFF/SKIP: where in `silencedPushes` the command's handler ended, so that its events go
    /// before the pushes that follow the handler (its own invalidations), as in Redis's reply buffer.
    var silencedOffset = 0

    /// What `enter` replaced, restored by `leave` (EXEC runs commands inside a command).
    struct Saved {
        var session: ClientSession?
        var offset: Int
        var frames: [(offset: Int, frame: ByteBuffer)]
        var silencedOffset: Int
    }

    func enter(_ context: CommandContext) -> Saved {
        let saved = Saved(
            session: self.session,
            offset: self.offset,
            frames: self.frames,
            silencedOffset: self.silencedOffset
        )
        self.session = context.session
        self.offset = context.out.buffer.writerIndex
        self.frames = []
        self.silencedOffset = context.session.silencedPushes?.writerIndex ?? 0
        return saved
    }

    /// Splices the frames into the reply at their offsets, in the order the events fired.
    func leave(_ context: inout CommandContext, _ saved: Saved) {
        if let silenced = context.session.silencedPushes, !self.frames.isEmpty {
            // CLIENT REPLY OFF/SKIP drops the reply around them; the pushes themselves go out, where the handler
            // ended among the other pushes.
            let at = min(self.silencedOffset, silenced.writerIndex)
            var spliced = silenced.getSlice(at: silenced.readerIndex, length: at - silenced.readerIndex) ?? ByteBuffer()
            for (_, frame) in self.frames { spliced.writeImmutableBuffer(frame) }
            if let rest = silenced.getSlice(at: at, length: silenced.writerIndex - at) {
                spliced.writeImmutableBuffer(rest)
            }
            context.session.silencedPushes = spliced
        } else if context.session.silencedPushes == nil && !self.frames.isEmpty {
            let buffer = context.out.buffer
            let start = buffer.readerIndex
            var spliced = ByteBuffer()
            spliced.reserveCapacity(buffer.readableBytes + self.frames.reduce(0) { $0 + $1.frame.readableBytes })
            var copied = start
            for (offset, frame) in self.frames {
                let at = min(max(offset, copied), buffer.writerIndex)
                if at > copied {
                    // Why `!`: `copied..<at` lies inside the buffer's written bytes.
                    spliced.writeImmutableBuffer(buffer.getSlice(at: copied, length: at - copied)!)
                    copied = at
                }
                spliced.writeImmutableBuffer(frame)
            }
            if buffer.writerIndex > copied {
                // Why `!`: as above.
                spliced.writeImmutableBuffer(buffer.getSlice(at: copied, length: buffer.writerIndex - copied)!)
            }
            context.out.buffer.moveWriterIndex(to: start)
            context.out.buffer.writeImmutableBuffer(spliced)
        }
        self.session = saved.session
        self.offset = saved.offset
        self.frames = saved.frames
        self.silencedOffset = saved.silencedOffset
    }
}

extension CommandContext {
    /// Fires keyspace event `event` of class `type` on `key` (notify.c `notifyKeyspaceEvent`): one integer test
    /// when the class is off, which it is by default.
    /// - Parameter database: the key's database when it is not the client's (MOVE, COPY ... DB).
    @inline(__always)
    public func notify(_ type: KeyspaceEvents, _ event: StaticString, key: ByteBuffer, database: Int? = nil) {
        guard self.server.hot.keyspaceEvents.rawValue & type.rawValue != 0 else { return }
        self.server.publishKeyspaceEvent(event, key: key, database: database ?? self.session.database, from: self)
    }
}

extension ServerState {
    /// Publishes one event as notify.c does: on `__keyspace@<db>__:<key>` with the event as the message (K), then
    /// on `__keyevent@<db>__:<event>` with the key as the message (E). The caller checked the event's class.
    func publishKeyspaceEvent(_ event: StaticString, key: ByteBuffer, database: Int, from context: CommandContext?) {
        let flags = self.hot.keyspaceEvents
        if let context, context.session === self.selfNotifications.session {
            self.selfNotifications.offset = max(self.selfNotifications.offset, context.out.buffer.writerIndex)
        }
        var eventBuffer = ByteBuffer()
        eventBuffer.writeStaticString(event)
        if flags.contains(.keyspace) {
            var channel = ByteBuffer()
            channel.reserveCapacity(16 + key.readableBytes)
            channel.writeStaticString("__keyspace@")
            channel.writeString(String(database))
            channel.writeStaticString("__:")
            channel.writeImmutableBuffer(key)
            _ = self.pubsub.publish(channel, eventBuffer) { self.deliverNotification($1, to: $0) }
        }
        if flags.contains(.keyevent) {
            var channel = ByteBuffer()
            channel.writeStaticString("__keyevent@")
            channel.writeString(String(database))
            channel.writeStaticString("__:")
            channel.writeImmutableBuffer(eventBuffer)
            _ = self.pubsub.publish(channel, key) { self.deliverNotification($1, to: $0) }
        }
    }

    /// The running client's frames wait to be spliced into its reply; others go to the client's outbox.
    private func deliverNotification(_ frame: ByteBuffer, to session: ClientSession) {
        if session === self.selfNotifications.session {
            self.selfNotifications.frames.append((self.selfNotifications.offset, frame))
        } else {
            self.push(frame, to: session)
        }
    }

    /// Events that fire outside a command handler: keys removed by lazy or active expiry ("expired") and keys
    /// added to a database ("new", from the keyspace's hook, so every command that creates a key fires it).
    func keyspaceEventFromKeyspace(
        _ type: KeyspaceEvents,
        _ event: StaticString,
        _ db: Database,
        _ key: UnsafeRawBufferPointer
    ) {
        guard self.hot.keyspaceEvents.rawValue & type.rawValue != 0 else { return }
        self.publishKeyspaceEvent(event, key: ByteBuffer(bytes: key), database: db.index, from: nil)
    }

    /// Called when `notify-keyspace-events` changes: the keyspace reports new keys only while "n" is on.
    func configureNotifications() {
        if self.hot.keyspaceEvents.contains(.new) {
            self.keyspace.onAdded = { [unowned(unsafe) self] db, key in
                self.keyspaceEventFromKeyspace(.new, "new", db, key)
            }
        } else {
            self.keyspace.onAdded = nil
        }
    }
}
