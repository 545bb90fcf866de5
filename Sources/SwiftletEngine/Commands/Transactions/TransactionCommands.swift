import NIOCore
import SwiftletKeyspace
import SwiftletRESP

/// A key as WATCH sees it: database index and key bytes.
struct WatchedKey: Hashable {
    var database: Int
    var key: [UInt8]
}

/// Per-client transaction state: the MULTI queue and the watched keys.
public struct TransactionState {
    /// Between MULTI and EXEC/DISCARD.
    public var active = false
    /// A command was rejected while queuing (unknown, wrong arity, not allowed): EXEC aborts.
    var rejected = false
    /// A watched key was modified: EXEC fails with a null reply.
    var watchedKeyTouched = false
    /// Queued requests, their arguments copied out of the read buffer (which is reused).
    var queue = QueuedCommands()
    var watched: [WatchedKey] = []
}

/// The commands queued between MULTI and EXEC. Every argument's bytes are copied into one buffer, and the arrays
/// keep their storage from one transaction to the next, so queuing a command allocates nothing in the steady state
/// (a copy per argument was two allocations each, plus two arrays per transaction).
struct QueuedCommands {
    /// The argument bytes of every queued command, back to back.
    private var bytes = ByteBuffer()
    /// Where each argument lies in `bytes`.
    private var spans: [(offset: Int, length: Int)] = []
    /// Per command: its id, and its first argument's index in `spans` (the next command's is where it ends).
    private(set) var entries: [(id: Int, firstSpan: Int)] = []
    /// The union of the queued commands' flags as the dispatcher's checks see them (``ServerState/effectiveFlags``):
    /// an EXEC is a write, deny-oom or may-replicate command when one of its commands is (Redis's mstate.cmd_flags).
    private(set) var flags: CommandFlags = []
    /// The arguments array lent to the running command in `run` (the EXEC's own waits here meanwhile).
    private var scratch: [ByteBuffer] = []
    /// Beyond this many bytes a finished transaction's buffer is given back instead of kept for the next one.
    private static let keptCapacity = 1 << 16

    var count: Int { self.entries.count }
    var isEmpty: Bool { self.entries.isEmpty }
    /// Bytes the queue holds (the client's `multi-mem`): the arguments' bytes and their bookkeeping, as Redis counts
    /// its queued arguments (their lengths, not the buffer's doubling headroom).
    var memoryUsage: Int { self.bytes.writerIndex + self.spans.count * 16 + self.entries.count * 16 }

    mutating func append(_ id: Int, _ arguments: [ByteBuffer], flags: CommandFlags) {
        self.flags.formUnion(flags)
        self.entries.append((id, self.spans.count))
        for argument in arguments {
            self.spans.append((self.bytes.writerIndex, argument.readableBytes))
            self.bytes.writeImmutableBuffer(argument)
        }
    }

    /// Runs every queued command in order with `context.arguments` set to its arguments (slices of the queue's
    /// buffer, in an array kept with the queue), and gives the context its own arguments back afterwards.
    mutating func run(_ context: inout CommandContext, _ body: (Int, inout CommandContext) -> Void) {
        swap(&self.scratch, &context.arguments)
        defer { swap(&self.scratch, &context.arguments) }
        for (index, entry) in self.entries.enumerated() {
            let end = index + 1 < self.entries.count ? self.entries[index + 1].firstSpan : self.spans.count
            context.arguments.removeAllArguments()
            for span in self.spans[entry.firstSpan..<end] {
                context.arguments.append(self.bytes.getSlice(at: span.offset, length: span.length)!)
            }
            body(entry.id, &context)
        }
    }

    /// Empties the queue, keeping its storage unless a large transaction grew it.
    mutating func removeAll() {
        if self.bytes.capacity > Self.keptCapacity {
            self = QueuedCommands()
            return
        }
        // The slices go first, so that the buffer is uniquely owned again and `clear` keeps its storage.
        self.scratch.removeAll(keepingCapacity: true)
        self.bytes.clear()
        self.spans.removeAll(keepingCapacity: true)
        self.entries.removeAll(keepingCapacity: true)
        self.flags = []
    }
}

/// MULTI, EXEC, DISCARD, WATCH, UNWATCH.
///
/// Queuing happens in the dispatcher (`ServerState.execute`): while a transaction is open every command except the
/// transaction commands, QUIT and RESET is checked (unknown command, arity) and queued with `+QUEUED`. Any write
/// that changes the keyspace touches the watched copies of its keys, found through the command's key
/// specifications, so WATCH needs nothing from the individual commands.
public enum TransactionCommands {
    /// MULTI — O(1)
    static func multi(_ context: inout CommandContext) throws(RedisError) {
        if context.session.transaction.active { throw RedisError.multiNested }
        context.session.transaction.active = true
        context.out.writeOK()
    }

    /// DISCARD — O(N) in the queued commands
    static func discard(_ context: inout CommandContext) throws(RedisError) {
        guard context.session.transaction.active else { throw RedisError.discardWithoutMulti }
        context.server.endTransaction(context.session)
        context.out.writeOK()
    }

    /// EXEC — O(N) in the queued commands
    static func exec(_ context: inout CommandContext) throws(RedisError) {
        let session = context.session
        guard session.transaction.active else { throw RedisError.execWithoutMulti }
        if session.transaction.rejected {
            context.server.endTransaction(session)
            throw RedisError.execAbortPreviousErrors
        }
        if session.transaction.watchedKeyTouched || context.server.watchedKeyExpired(session, now: context.now) {
            context.server.endTransaction(session)
            context.out.writeNullArray()
            return
        }
        // Taken out of the session (and put back empty afterwards, keeping its storage for the next transaction).
        var queue = QueuedCommands()
        swap(&queue, &session.transaction.queue)
        // Unwatch before running: the transaction's own writes must not flag itself.
        context.server.endTransaction(session)
        context.out.writeArrayHeader(queue.count)
        queue.run(&context) { id, context in context.server.run(id, &context) }
        queue.removeAll()
        if session.transaction.queue.isEmpty { swap(&queue, &session.transaction.queue) }
    }

    /// WATCH key [key ...] — O(1) per key
    static func watch(_ context: inout CommandContext) throws(RedisError) {
        if context.session.transaction.active { throw RedisError.watchInsideMulti }
        for i in 1..<context.count {
            context.server.watch(
                WatchedKey(database: context.session.database, key: context.arguments[i].bytes),
                context.session
            )
        }
        context.out.writeOK()
    }

    /// UNWATCH — O(N)
    static func unwatch(_ context: inout CommandContext) throws(RedisError) {
        context.server.unwatchAll(context.session)
        context.out.writeOK()
    }

    /// The commands a client may send inside MULTI without them being queued.
    static let controlNames: Set<String> = ["exec", "discard", "multi", "watch", "quit", "reset"]

    static let specs: [CommandSpec] = [
        .init(
            "multi",
            arity: 1,
            flags: [.noscript, .loading, .stale, .fast, .allowBusy],
            group: "transactions",
            run: multi
        ),
        .init("exec", arity: 1, flags: [.noscript, .loading, .stale, .skipSlowlog], group: "transactions", run: exec),
        .init(
            "discard",
            arity: 1,
            flags: [.noscript, .loading, .stale, .fast, .allowBusy],
            group: "transactions",
            run: discard
        ),
        .init(
            "watch",
            arity: -2,
            flags: [.noscript, .loading, .stale, .fast, .allowBusy],
            keys: .init(1, -1, 1),
            group: "transactions",
            run: watch
        ),
        .init(
            "unwatch",
            arity: 1,
            flags: [.noscript, .loading, .stale, .fast, .allowBusy],
            group: "transactions",
            run: unwatch
        ),
    ]
}

extension ServerState {
    func watch(_ key: WatchedKey, _ session: ClientSession) {
        if session.transaction.watched.contains(key) { return }
        session.transaction.watched.append(key)
        self.watchers[key, default: []].append(session)
    }

    func unwatchAll(_ session: ClientSession) {
        for key in session.transaction.watched {
            self.watchers[key]?.removeAll { $0 === session }
            if self.watchers[key]?.isEmpty == true { self.watchers[key] = nil }
        }
        session.transaction.watched.removeAll()
        session.transaction.watchedKeyTouched = false
    }

    /// Ends MULTI (EXEC, DISCARD, RESET, disconnect): drops the queue and the watches.
    public func endTransaction(_ session: ClientSession) {
        self.unwatchAll(session)
        // Field by field rather than a fresh `TransactionState()`, so that the queue keeps its storage.
        session.transaction.active = false
        session.transaction.rejected = false
        session.transaction.queue.removeAll()
    }

    /// A write changed `key` in `database`: every client watching it will fail its EXEC.
    public func touchWatched(database: Int, key: [UInt8]) {
        guard let sessions = self.watchers[WatchedKey(database: database, key: key)] else { return }
        for s in sessions { s.transaction.watchedKeyTouched = true }
    }

    /// FLUSHDB/FLUSHALL/SWAPDB: touches the watched keys of `database` that `exists` says were there.
    public func touchAllWatched(database: Int, exists: (UnsafeRawBufferPointer) -> Bool) {
        for (key, sessions) in self.watchers where key.database == database {
            if key.key.withUnsafeBytes(exists) {
                for s in sessions { s.transaction.watchedKeyTouched = true }
            }
        }
    }

    /// Whether a key watched by `session` has passed its expiry time (Redis fails EXEC then too).
    func watchedKeyExpired(_ session: ClientSession, now: Int64) -> Bool {
        for w in session.transaction.watched {
            let db = self.keyspace[w.database]
            let expired = w.key.withUnsafeBytes { k -> Bool in
                guard let entry = db.peek(k), let at = db.expireTime(of: entry) else { return false }
                return at <= now
            }
            if expired { return true }
        }
        return false
    }

    /// The keys a write command may change (its key specs without the read-only ones: the sources of SINTERSTORE,
    /// ZUNIONSTORE, BITOP, SORT ... STORE), each with whether it exists before the command runs.
    func keysBeforeWrite(of id: Int, _ context: CommandContext) -> [(index: Int, existed: Bool)] {
        let spec = self.table.commands[id]
        let specs = CommandCommands.keySpecs(of: spec)
        let db = context.db
        return KeyFinder.keys(context.arguments, specs: specs, command: spec.fullName, arity: spec.arity, lenient: true)
            .filter { !$0.flags.contains(.ro) }
            .map { k in (k.index, context.arguments[k.index].withUnsafeReadableBytes { db.peek($0) != nil }) }
    }

    /// Redis's `signalModifiedKey` for a key changed outside the dispatcher's view of the running command (a blocked
    /// client served by another's write: the key it popped from, the destination it pushed to): touches its
    /// watchers and invalidates it for tracking clients.
    func signalModifiedKey(_ key: ByteBuffer, _ context: inout CommandContext) {
        guard self.signalsModifiedKeys else { return }
        if !self.watchers.isEmpty { self.touchWatched(database: context.session.database, key: key.bytes) }
        if self.tracking.isActive { self.trackingInvalidate(key, context: &context) }
    }

    /// Whether writes must say which keys they changed: a client watches keys or tracks them.
    var signalsModifiedKeys: Bool { !self.watchers.isEmpty || self.tracking.isActive }

    /// After a write command changed the keyspace: touches watchers of the keys it changed, and invalidates them for
    /// tracking clients. Redis signals exactly the keys a command modified; from outside the command, a key counts
    /// as modified when it existed before or exists after, so DEL of a missing key or the empty first key of an LMPOP
    /// touches nothing. The pops that take the first non-empty of several keys (LMPOP, BLPOP, ZMPOP, BZPOPMIN, ...)
    /// name the one they popped from (``CommandContext/modifiedOnly(_:)``), so that another existing key they name
    /// is not touched.
    func touchKeys(_ keys: [(index: Int, existed: Bool)], _ context: inout CommandContext) {
        let db = context.db
        let only = self.onlyModifiedKey
        for k in keys {
            let key = context.arguments[k.index]
            if let only, key != only { continue }
            guard k.existed || key.withUnsafeReadableBytes({ db.peek($0) != nil }) else { continue }
            if !self.watchers.isEmpty { self.touchWatched(database: context.session.database, key: key.bytes) }
            if self.tracking.isActive { self.trackingInvalidate(key, context: &context) }
        }
    }
}
