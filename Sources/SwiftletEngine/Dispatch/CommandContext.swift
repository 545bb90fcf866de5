public import NIOCore
public import SwiftletKeyspace
public import SwiftletRESP

/// Everything a command handler works with: its arguments, the reply writer, the client and the server.
///
/// One context lives for a whole read batch of a connection; the dispatcher refills `arguments` and `now`
/// per command, and all replies of the batch accumulate in `out`, which is flushed once.
public struct CommandContext {
    /// The request, name first. Slices of the read buffer: copy before storing anything in the keyspace.
    public var arguments: [ByteBuffer] = []
    public var out: RESPReplyWriter
    public let session: ClientSession
    public let server: ServerState
    /// One clock snapshot per command, in unix milliseconds.
    public var now: Int64 = 0

    public init(session: ClientSession, server: ServerState, out: ByteBuffer) {
        self.session = session
        self.server = server
        self.out = RESPReplyWriter(buffer: out, version: session.protocolVersion)
    }

    /// Full name of the running command (`set`, `config|get`), for error texts that name it.
    public var commandName: String {
        let id = self.session.lastCommandID
        return id < 0 ? "" : self.server.table.commands[id].fullName
    }

    /// Whether a script runs this command (redis.call): Redis's CLIENT_SCRIPT flag on its lua client.
    public var isFromScript: Bool { self.session.id == 0 && self.server.scripting.session === self.session }

    /// The selected database.
    public var db: Database { self.server.keyspace[self.session.database] }

    public var keyspace: Keyspace { self.server.keyspace }

    /// Number of arguments including the command name.
    @inline(__always)
    public var count: Int { self.arguments.count }

    /// Looks up a key for reading: expires it if due, counts a hit or a miss, touches the access clock.
    public func lookupRead(_ key: ByteBuffer) -> Entry? {
        let entry = key.withUnsafeReadableBytes {
            self.db.lookup($0, now: self.now, touch: !self.session.noTouch)
        }
        if entry == nil {
            self.server.keyspace.stats.keyspaceMisses += 1
            self.notify(.keyMiss, "keymiss", key: key)
        } else {
            self.server.keyspace.stats.keyspaceHits += 1
        }
        return entry
    }

    /// A STORE command is about to replace `key`'s value: as Redis's `setKey` looks the key up for writing first,
    /// under an LFU policy that counts an access, which the new value keeps (a no-op otherwise).
    public func countOverwriteAccess(_ key: ByteBuffer) {
        if case .lfu = self.server.keyspace.accessPolicy { _ = self.lookupWrite(key) }
    }

    /// Looks up a key for writing (expires it if due, no hit/miss statistics).
    public func lookupWrite(_ key: ByteBuffer, in db: Database? = nil) -> Entry? {
        key.withUnsafeReadableBytes { (db ?? self.db).lookupForWrite($0, now: self.now) }
    }

    /// Records `count` changes for persistence (`rdb_changes_since_last_save`) and for the AOF: a command that
    /// changed something is written to the AOF when it is done.
    public func dirty(_ count: Int = 1) {
        self.server.dirty += count
    }

    /// Of the several keys the running command names, `key` is the only one it changed: for WATCH and client
    /// tracking, as Redis signals only that key (the pops that take the first non-empty key). Other commands need
    /// not call this: ``ServerState/touchKeys(_:_:)`` works out which keys they changed.
    public func modifiedOnly(_ key: ByteBuffer) {
        if self.server.signalsModifiedKeys { self.server.onlyModifiedKey = key }
    }

    // MARK: - Propagation (AOF)

    /// Whether changes are written to the AOF: commands that propagate a rewritten form build it only then.
    @inline(__always)
    public var propagating: Bool { self.server.propagating }

    /// Writes `ops` to the AOF instead of the command's own arguments, when the command changed something: the
    /// deterministic form of a command whose effect depends on the clock or on chance (EXPIRE as PEXPIREAT, SPOP
    /// as SREM), as Redis's `rewriteClientCommandVector` and `alsoPropagate`. No ops: nothing is written.
    public func propagate(_ ops: [[ByteBuffer]]) {
        guard self.server.propagating else { return }
        self.server.writeStream.replacement = ops
    }

    /// Writes one command instead of this one; the arguments may mix buffers and strings.
    public func propagate(_ op: [PropagatedArgument]) {
        guard self.server.propagating else { return }
        self.server.writeStream.replacement = [op.map(\.buffer)]
    }

    /// Writes the command to the AOF even when it changed nothing (FLUSHALL and FLUSHDB on empty databases).
    public func forcePropagation() {
        guard self.server.propagating else { return }
        self.server.writeStream.force = true
    }

    /// Sends the command to the replicas, not the AOF, although it changed nothing (PUBLISH and SPUBLISH, which
    /// Redis 7.0 propagates with PROPAGATE_REPL so that a replica's subscribers get the messages too).
    public func forceReplicationOnly() {
        guard self.server.propagating else { return }
        self.server.writeStream.force = true
        self.server.writeStream.replicasOnly = true
    }
}

/// An argument of a command written to the AOF: a request argument, a literal, or a number.
public enum PropagatedArgument: ExpressibleByStringLiteral {
    case bytes(ByteBuffer)
    case text(String)
    case integer(Int64)

    public init(stringLiteral value: String) { self = .text(value) }

    var buffer: ByteBuffer {
        switch self {
        case .bytes(let b): return b
        case .text(let s): return ByteBuffer(string: s)
        case .integer(let n): return ByteBuffer(string: String(n))
        }
    }
}

extension ByteBuffer {
    /// The readable bytes as an array (allocates: for values that are stored or outlive the request).
    public var bytes: [UInt8] { Array(self.readableBytesView) }

    /// ASCII case-insensitive comparison with a lower-case literal, without allocating.
    public func equalsCaseInsensitive(_ lower: StaticString) -> Bool {
        guard self.readableBytes == lower.utf8CodeUnitCount else { return false }
        return self.withUnsafeReadableBytes { raw in
            let l = lower.utf8Start
            for i in 0..<raw.count {
                let b = raw[i]
                let folded = (b >= 65 && b <= 90) ? b | 0x20 : b
                if folded != l[i] { return false }
            }
            return true
        }
    }

    /// The value as a signed 64-bit integer, with Redis's strict rules.
    public var int64: Int64? {
        self.withUnsafeReadableBytes { NumberFormat.parseInt64($0) }
    }
}
