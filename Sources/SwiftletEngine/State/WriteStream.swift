package import NIOCore
import SwiftletPersistence

/// The engine's write stream: every change the engine commits leaves it here, once, in deterministic form (a
/// relative expiry as PEXPIREAT, SPOP as SREM, an expired key as DEL), grouped in units that must apply together
/// (a client command with the expiries it caused, a transaction, a blocked client's served pop). The consumers
/// (the AOF while `appendonly` is on; replicas next) each receive every op and every unit's end, and encode them
/// as their file or link needs (SELECT, `#TS:` annotations, MULTI/EXEC around a unit of several ops). Nothing else
/// in the engine writes to a consumer.
///
/// MONITOR is deliberately not a consumer: Redis shows monitors each command as the client sent it, reads included
/// and before any rewriting, so the dispatcher feeds them (Messaging/Monitor.swift).
package protocol WriteStreamConsumer: AnyObject {
    /// One op of the running unit, for `database`. `unixSeconds` is read only by a consumer that annotates time.
    func append(_ arguments: [ByteBuffer], database: Int, unixSeconds: @autoclosure () -> Int64)
    /// The running unit is complete. Returns `true` when the consumer now holds bytes to write at the end of the loop
    /// iteration that it did not hold before (the engine then schedules that write).
    func commitUnit() -> Bool
    /// Whether it takes the ops meant for replicas only (PUBLISH): the replication stream does, the AOF does not.
    var takesReplicationOnlyOps: Bool { get }
}

extension WriteStreamConsumer {
    package var takesReplicationOnlyOps: Bool { false }
}

/// The stream's state: its consumers, and what the running command asked to propagate instead of itself.
package final class WriteStream {
    @exclusivity(unchecked)
    private(set) var consumers: [any WriteStreamConsumer] = []
    /// Set by a command that propagates something else than its own arguments (see `CommandContext.propagate`).
    @exclusivity(unchecked)
    var replacement: [[ByteBuffer]]?
    /// Set by a command that must be propagated even when it changed nothing (FLUSHALL, FLUSHDB).
    @exclusivity(unchecked)
    var force = false
    /// Set with `force` by a command that goes to the replicas only (PUBLISH): consumers that are not replication
    /// skip it.
    @exclusivity(unchecked)
    var replicasOnly = false
    /// A script's command runs after `redis.set_repl` left the AOF out: the command itself is not offered, but what
    /// it causes besides (a key expiring as it reads it) still is, as in Redis.
    @exclusivity(unchecked)
    var commandsSuppressed = false

    func attach(_ consumer: any WriteStreamConsumer) {
        if !self.consumers.contains(where: { $0 === consumer }) { self.consumers.append(consumer) }
    }

    func detach(_ consumer: any WriteStreamConsumer) {
        self.consumers.removeAll { $0 === consumer }
    }
}

extension ServerState {
    /// Offers the command that just ran: its replacement if it set one, its own arguments otherwise.
    func propagateCommand(_ context: inout CommandContext) {
        let stream = self.writeStream
        stream.force = false
        let replicasOnly = stream.replicasOnly
        stream.replicasOnly = false
        if stream.commandsSuppressed {
            stream.replacement = nil
            return
        }
        let database = context.session.database
        if let replacement = stream.replacement {
            stream.replacement = nil
            for op in replacement { self.offer(op, database: database, replicasOnly: replicasOnly) }
        } else {
            self.offer(context.arguments, database: database, replicasOnly: replicasOnly)
        }
    }

    /// Offers a change that is not the running command itself: a key that expired, a blocked client served.
    package func alsoPropagate(database: Int, _ arguments: [ByteBuffer]) {
        guard self.propagating else { return }
        self.offer(arguments, database: database)
        if self.commandDepth == 0 { self.commitWrites() }
    }

    /// A blocked client was served: its pop (the form its serve closure set) is a unit of its own, after the
    /// command that woke it, as Redis's `handleClientsBlockedOnKeys` does.
    func propagateServed(database: Int) {
        let stream = self.writeStream
        guard let ops = stream.replacement else { return }
        stream.replacement = nil
        self.commitWrites()
        for op in ops { self.offer(op, database: database) }
        self.commitWrites()
    }

    /// A key removed because its time to live passed is propagated as DEL (lazyfree-lazy-expire no).
    func propagateDeletion(database: Int, key: UnsafeRawBufferPointer) {
        self.alsoPropagate(database: database, [Self.delName, ByteBuffer(bytes: key)])
    }

    static let delName = ByteBuffer(string: "DEL")

    private func offer(_ op: [ByteBuffer], database: Int, replicasOnly: Bool = false) {
        for consumer in self.writeStream.consumers where !replicasOnly || consumer.takesReplicationOnlyOps {
            consumer.append(op, database: database, unixSeconds: self.clock() / 1000)
        }
    }

    /// The unit is complete: each consumer closes it, and the once-per-iteration write is scheduled when one of them
    /// has new bytes (written at once when there is no loop and no command or batch running).
    func commitWrites() {
        var newBytes = false
        for consumer in self.writeStream.consumers where consumer.commitUnit() { newBytes = true }
        guard newBytes else { return }
        if self.host != nil {
            self.requestBeforeSleep()
        } else if self.commandDepth == 0 && !self.isInBatch {
            self.flushAppendOnlyFile()
        }
    }

    /// Attaches or detaches a consumer; `propagating`, the one flag the dispatcher tests after every command, says
    /// whether there is any.
    func setWriteStreamConsumer(_ consumer: any WriteStreamConsumer, attached: Bool) {
        if attached {
            self.writeStream.attach(consumer)
        } else {
            self.writeStream.detach(consumer)
        }
        self.propagating = !self.writeStream.consumers.isEmpty
    }
}

/// Encodes the units of the write stream as RESP commands, as both consumers write them (Redis 7.0's
/// `propagatePendingCommands` does the same for the AOF and the replicas): SELECT when the op's database is not the
/// one last selected, and MULTI/EXEC around a unit of several ops (inserted after the unit's first SELECT, so a
/// transaction starts in its database). What comes before a unit (the AOF's `#TS:` line) is the consumer's.
struct StreamUnitEncoder {
    /// Encoded commands, committed and not yet taken by the consumer (plus the running unit's ops).
    var bytes: [UInt8] = []
    /// The database the output last selected (-1: the next op writes SELECT).
    var selectedDatabase = -1
    /// Ops of the running unit already in `bytes`, and where its first op starts (after its SELECT).
    private(set) var pendingOps = 0
    private var unitStart = 0

    /// Whether a unit is running (an op was appended since the last commit).
    var inUnit: Bool { self.pendingOps > 0 }

    /// Appends one op of the running unit.
    mutating func append(_ arguments: [ByteBuffer], database: Int) {
        if database != self.selectedDatabase {
            AOFCommandWriter.append([Array("SELECT".utf8), Array(String(database).utf8)], to: &self.bytes)
            self.selectedDatabase = database
        }
        if self.pendingOps == 0 { self.unitStart = self.bytes.count }
        self.pendingOps += 1
        AOFCommandWriter.appendHeader(arguments.count, to: &self.bytes)
        for argument in arguments {
            argument.withUnsafeReadableBytes { AOFCommandWriter.appendArgument($0, to: &self.bytes) }
        }
    }

    /// Closes the running unit (MULTI/EXEC around several ops).
    /// - Returns: whether there was one.
    mutating func commit() -> Bool {
        guard self.pendingOps > 0 else { return false }
        if self.pendingOps > 1 {
            self.bytes.insert(contentsOf: AOFCommandWriter.multi, at: self.unitStart)
            self.bytes.append(contentsOf: AOFCommandWriter.exec)
        }
        self.pendingOps = 0
        return true
    }

    /// Forgets a running unit's count (its bytes stay): used when the output is cut off mid-unit.
    mutating func dropPendingUnit() { self.pendingOps = 0 }
}
