import DequeModule
public import NIOCore
import SwiftletKeyspace
import SwiftletRESP

/// Tries to serve a blocked client from `key`, which was just signalled as ready: writes the client's reply to
/// `context.out` (the client's own reply buffer) and returns `true`, or returns `false` to keep waiting (the key
/// holds no data of the right type). A thrown error is the client's reply and unblocks it, as a WRONGTYPE
/// destination does for BLMOVE.
public typealias BlockedServe = (inout CommandContext, _ key: ByteBuffer) throws(RedisError) -> Bool

/// A client suspended in a blocking command (BLPOP, BLMOVE, BZPOPMIN, ...): the keys it waits on, its deadline,
/// and the closure that completes the command when one of the keys gets data.
public final class BlockedClient {
    public let session: ClientSession
    public let database: Int
    /// The distinct keys waited on, copied out of the request (never slices of the read buffer).
    public let keys: [ByteBuffer]
    /// Unix milliseconds after which the client gets its timeout reply; 0 waits forever.
    public let deadline: Int64
    let serve: BlockedServe
    /// Whether the client still waits (it is left in other keys' queues until they are next looked at).
    public internal(set) var isWaiting = true
    /// The command's slow log entry, made when it blocked and logged when the wait ends with a reply.
    var slowlogEntry: SlowlogEntry?
    /// The reply when the wait times out (or CLIENT UNBLOCK ... TIMEOUT), for a wait that is not a list or sorted-set
    /// one (WAIT answers how many replicas acknowledged); nil gives the null array.
    var timeoutReply: ((inout CommandContext) -> Void)?

    init(session: ClientSession, database: Int, keys: [ByteBuffer], deadline: Int64, serve: @escaping BlockedServe) {
        self.session = session
        self.database = database
        self.keys = keys
        self.deadline = deadline
        self.serve = serve
    }
}

/// One waited-on key in one database.
struct BlockingKey: Hashable {
    var database: Int
    var key: ByteBuffer
}

/// Why a blocked client stops waiting without being served.
public enum UnblockReason: Sendable {
    /// Its deadline passed, or `CLIENT UNBLOCK id [TIMEOUT]`: it gets the null reply.
    case timeout
    /// `CLIENT UNBLOCK id ERROR`: it gets `-UNBLOCKED ...`.
    case error
    /// The server became a replica: it gets `-UNBLOCKED force unblock ... (master -> replica?)`.
    case roleChange
    /// Its connection closed: no reply.
    case disconnect
}

/// The blocked clients of a server, by key, first come first served (Redis's `blocking_keys` and `ready_keys`).
///
/// A blocking command that finds no data calls ``CommandContext/block(keys:deadline:serve:)``. After every
/// command, the dispatcher signals the keys a write command named (``afterCommand(_:_:)``) and serves the
/// waiters of the keys that became ready (``serveReadyKeys(_:)``), before the writing client's own reply leaves:
/// the waiter's reply goes out through ``ClientSession/deliverUnblocked`` on its own connection.
public final class BlockingRegistry {
    @exclusivity(unchecked)
    private var waiters: [BlockingKey: Deque<BlockedClient>] = [:]
    private var readyKeys: [BlockingKey] = []
    private var readySet: Set<BlockingKey> = []
    /// Clients blocked now (`INFO clients` `blocked_clients`).
    public private(set) var blockedCount = 0
    /// Clients blocked now, by session id.
    public private(set) var blocked: [Int: BlockedClient] = [:]

    public init() {}

    /// Whether any client waits on any key (the fast path of every write).
    @inline(__always)
    public var isEmpty: Bool { self.waiters.isEmpty }

    /// Keys that got data and whose waiters were not served yet.
    public var hasReadyKeys: Bool { !self.readyKeys.isEmpty }

    /// Number of clients waiting on `key` (tests, DEBUG).
    public func waiterCount(database: Int, key: ByteBuffer) -> Int {
        self.waiters[BlockingKey(database: database, key: key)]?.count { $0.isWaiting } ?? 0
    }

    func add(_ client: BlockedClient) {
        for key in client.keys {
            self.waiters[BlockingKey(database: client.database, key: key), default: []].append(client)
        }
        self.blocked[client.session.id] = client
        self.blockedCount += 1
        client.session.blocked = client
    }

    // MARK: - Signalling

    /// Marks `key` of `database` as ready if a client waits on it (Redis's `signalKeyAsReady`).
    public func signal(database: Int, key: ByteBuffer) {
        guard !self.waiters.isEmpty else { return }
        let probe = BlockingKey(database: database, key: key)
        // Queue the registry's own copy of the key, never the caller's slice of a read buffer.
        guard let index = self.waiters.index(forKey: probe), !self.readySet.contains(probe) else { return }
        let stored = self.waiters.keys[index]
        self.readyKeys.append(stored)
        self.readySet.insert(stored)
    }

    /// Marks every waited key as ready (SWAPDB, which changes whole databases under the waiters).
    public func signalAll() {
        for key in self.waiters.keys where !self.readySet.contains(key) {
            self.readyKeys.append(key)
            self.readySet.insert(key)
        }
    }

    /// Called by the dispatcher after each command: a write may have created any key it names (push, LMOVE,
    /// RENAME, COPY, RESTORE, ZADD, ...), so each of them is signalled. A write that creates a key elsewhere
    /// calls ``signal(database:key:)`` itself. EXEC runs each queued command through the dispatcher, so
    /// they are signalled too.
    public func afterCommand(_ spec: CommandSpec, _ context: CommandContext) {
        guard !self.waiters.isEmpty, spec.flags.contains(.write), context.session.blocked == nil else { return }
        if spec.name == "swapdb" {
            self.signalAll()
            return
        }
        // MOVE and COPY ... DB write a key of another database.
        let everyDatabase = spec.name == "move" || spec.name == "copy"
        // Commands with keys anywhere (SORT ... STORE, *STORE with numkeys) have every argument signalled:
        // signalling a name that is no key is harmless, the waiter's serve closure checks the key.
        let indexes: StrideThrough<Int>
        if spec.flags.contains(.movableKeys) || spec.keys.first == 0 {
            guard context.count > 1 else { return }
            indexes = stride(from: 1, through: context.count - 1, by: 1)
        } else {
            guard let positions = spec.keys.indexes(count: context.count) else { return }
            indexes = positions
        }
        for i in indexes {
            if everyDatabase {
                for db in 0..<context.keyspace.databases.count {
                    self.signal(database: db, key: context.arguments[i])
                }
            } else {
                self.signal(database: context.session.database, key: context.arguments[i])
            }
        }
    }

    // MARK: - Serving

    /// Serves the waiters of every ready key, first come first served, re-checking the key before each one;
    /// keys made ready while serving (BLMOVE pushing onto a waited key) are served in the same call.
    public func serveReadyKeys(_ server: ServerState) {
        while !self.readyKeys.isEmpty {
            let batch = self.readyKeys
            self.readyKeys.removeAll(keepingCapacity: true)
            for ready in batch {
                // Forget the signal first, so that serving may signal the same key again.
                self.readySet.remove(ready)
                guard let queue = self.waiters[ready] else { continue }
                let db = server.keyspace[ready.database]
                for client in queue where client.isWaiting {
                    var context = CommandContext(session: client.session, server: server, out: ByteBuffer())
                    context.now = server.clock()
                    let served: Bool
                    do {
                        served = try client.serve(&context, ready.key)
                    } catch {
                        server.reply(error, &context)
                        served = true
                    }
                    if served {
                        server.signalModifiedKey(ready.key, &context)
                        // Logged now, as Redis's `updateStatsOnUnblock`, which only a served wait reaches.
                        server.slowlogUnblocked(client)
                        self.finish(client, reply: context.out.buffer)
                    }
                    if server.propagating { server.propagateServed(database: ready.database) }
                    let exists = ready.key.withUnsafeReadableBytes { db.lookup($0, now: context.now, touch: false) }
                    if exists == nil { break }
                }
            }
        }
    }

    /// Ends a client's wait: removes it from every queue and hands its reply to its connection.
    private func finish(_ client: BlockedClient, reply: ByteBuffer?) {
        guard client.isWaiting else { return }
        client.isWaiting = false
        for key in client.keys {
            let bk = BlockingKey(database: client.database, key: key)
            guard var queue = self.waiters.removeValue(forKey: bk) else { continue }
            if queue.first === client {
                queue.removeFirst()
            } else if let i = queue.firstIndex(where: { $0 === client }) {
                queue.remove(at: i)
            }
            if !queue.isEmpty { self.waiters[bk] = queue }
        }
        self.blocked[client.session.id] = nil
        self.blockedCount -= 1
        client.session.blocked = nil
        if let reply { client.session.connection?.deliverUnblocked(reply) }
    }

    /// Ends the wait of `session` without serving it. Returns `false` when it was not blocked.
    @discardableResult
    public func unblock(_ session: ClientSession, reason: UnblockReason, server: ServerState) -> Bool {
        guard let client = session.blocked, client.isWaiting else { return false }
        var context = CommandContext(session: session, server: server, out: ByteBuffer())
        switch reason {
        case .timeout:
            if let timeoutReply = client.timeoutReply {
                timeoutReply(&context)
            } else {
                // Redis answers every timed-out list or sorted-set wait with a null array, BLMOVE included.
                context.out.writeNullArray()
            }
        case .error:
            server.reply(RedisError.unblocked, &context)
        case .roleChange:
            server.reply(RedisError.unblockedByRoleChange, &context)
            // Redis's disconnectAllBlockedClients closes them after the reply (CLIENT_CLOSE_AFTER_REPLY).
            session.closeAfterReply = true
        case .disconnect:
            self.finish(client, reply: nil)
            return true
        }
        self.finish(client, reply: context.out.buffer)
        return true
    }
}

// MARK: - Blocking from a command

extension CommandContext {
    /// Suspends the client on `keys` (argument indexes) until one gets data, the deadline passes, or it is
    /// unblocked. The handler writes nothing; `serve` writes the reply later. Duplicate keys are waited on once.
    /// - Parameter timeoutReply: the reply on timeout, when it is not the null array.
    public func block(
        keys: some Sequence<Int>,
        deadline: Int64,
        timeoutReply: ((inout CommandContext) -> Void)? = nil,
        serve: @escaping BlockedServe
    ) {
        var copies: [ByteBuffer] = []
        for i in keys {
            let key = self.arguments[i]
            if copies.contains(key) { continue }
            copies.append(ByteBuffer(bytes: key.readableBytesView))
        }
        let client = BlockedClient(
            session: self.session,
            database: self.session.database,
            keys: copies,
            deadline: deadline,
            serve: serve
        )
        client.timeoutReply = timeoutReply
        self.server.blocking.add(client)
    }

    /// Whether the command may block: not when it runs inside EXEC (or, later, a script), where Redis sets
    /// CLIENT_DENY_BLOCKING and a blocking command acts as its non-blocking form, replying as if it had timed out.
    public var mayBlock: Bool { self.server.commandDepth <= 1 }

    /// A blocking command's timeout argument in seconds (fractions allowed) as an absolute deadline in unix
    /// milliseconds, 0 for "forever", with Redis's texts and rounding (`ceil(seconds * 1000)`).
    public func blockingDeadline(_ index: Int) throws(RedisError) -> Int64 {
        guard let seconds = self.arguments[index].withUnsafeReadableBytes({ NumberFormat.parseLongDouble($0) })
        else { throw RedisError.timeoutNotFloat }
        let milliseconds = (seconds * 1000).rounded(.up)
        // Redis converts with a C cast: out of range (or infinite) becomes LLONG_MIN on x86-64, a negative timeout.
        guard milliseconds >= 0, milliseconds < 9.2e18 else { throw RedisError.timeoutNegative }
        let relative = Int64(milliseconds)
        if relative == 0 { return 0 }
        let (deadline, overflow) = relative.addingReportingOverflow(self.now)
        return overflow ? Int64.max : deadline
    }
}

// MARK: - CLIENT UNBLOCK

enum BlockingCommands {
    /// CLIENT UNBLOCK client-id [TIMEOUT | ERROR] — O(log N)
    static func clientUnblock(_ context: inout CommandContext) throws(RedisError) {
        guard context.count == 3 || context.count == 4 else {
            throw RedisError.subcommandSyntax(String(buffer: context.arguments[1]), container: "client")
        }
        var reason = UnblockReason.timeout
        if context.count == 4 {
            if context.argument(3, is: "timeout") {
                reason = .timeout
            } else if context.argument(3, is: "error") {
                reason = .error
            } else {
                throw RedisError.unblockReason
            }
        }
        let id = try context.integer(2)
        guard let target = context.server.clients[Int(id)] else {
            context.out.writeInteger(0)
            return
        }
        let done = context.server.blocking.unblock(target, reason: reason, server: context.server)
        context.out.writeInteger(done ? 1 : 0)
    }
}
