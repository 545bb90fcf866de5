import NIOCore
import SwiftletKeyspace
import SwiftletRESP

/// CLIENT PAUSE / CLIENT UNPAUSE (networking.c pauseClients): while a pause is in force, the commands it covers
/// are postponed, not refused. A postponed client reads nothing further until the pause ends; then its command
/// runs and its connection goes on, in the order the clients were postponed.
public enum PauseMode: Int, Sendable, Comparable {
    case off = 0
    /// Write commands (and commands that may replicate, such as PUBLISH) wait; reads go on.
    case write = 1
    /// Every command waits.
    case all = 2

    public static func < (a: PauseMode, b: PauseMode) -> Bool { a.rawValue < b.rawValue }
}

extension ServerState {
    /// Whether the command must wait for the pause to end (processCommand's pause check, Redis 7.0).
    func pausePostpones(_ id: Int, _ context: CommandContext) -> Bool {
        if context.now >= self.pauseEnd {
            self.unpause()
            return false
        }
        if self.pauseMode == .all { return true }
        // A script with a shebang or a function: its declared flags decide (effectiveFlags). EXEC waits when it would
        // run a write.
        let flags = id == self.table.execID ? context.session.transaction.queue.flags : self.effectiveFlags(id, context)
        return !flags.isDisjoint(with: [.write, .mayReplicate])
    }

    /// Keeps the request (copied out of the read buffer) until the pause ends.
    func postpone(_ context: inout CommandContext) {
        context.session.postponed = context.arguments.map { ByteBuffer(bytes: $0.readableBytesView) }
        self.postponedClients.append(context.session)
    }

    /// Ends the pause: every postponed client runs its command, on a later turn of the loop (never inside the
    /// command that ended the pause).
    public func unpause() {
        self.pauseMode = .off
        self.pauseEnd = 0
        self.keyspace.expiryPaused = false
        let clients = self.postponedClients
        self.postponedClients.removeAll()
        for session in clients { session.connection?.resumePostponed() }
    }

    /// Ends the pause at its end time, on a timer of the host.
    func schedulePauseEnd(after milliseconds: Int64) {
        self.host?.schedule(afterMicroseconds: milliseconds * 1000) { [unowned(unsafe) self] in self.endPauseIfDue() }
    }

    /// Called by the pause's timer at its end time.
    public func endPauseIfDue() {
        if self.pauseMode != .off && self.clock() >= self.pauseEnd { self.unpause() }
    }

    /// Pauses writes until ``restorePause(_:)`` (a shutdown or a failover waiting for the replicas, Redis's
    /// PAUSE_DURING_SHUTDOWN / PAUSE_DURING_FAILOVER). Returns the pause in force before.
    func pauseWritesIndefinitely() -> (mode: PauseMode, end: Int64) {
        let before = (self.pauseMode, self.pauseEnd)
        self.pauseMode = max(self.pauseMode, .write)
        self.pauseEnd = Int64.max
        self.keyspace.expiryPaused = true
        return before
    }

    /// Puts back the pause that was in force before ``pauseWritesIndefinitely()``.
    func restorePause(_ before: (mode: PauseMode, end: Int64)) {
        if before.mode == .off {
            self.unpause()
        } else {
            self.pauseMode = before.mode
            self.pauseEnd = before.end
        }
    }

    /// Whether a pause is in force now (active expiry waits too).
    public var isPaused: Bool { self.pauseMode != .off && self.clock() < self.pauseEnd }
}

extension ConnectionCommands {
    /// CLIENT PAUSE timeout [WRITE|ALL] — O(N) in the postponed clients when it ends
    static func clientPause(_ context: inout CommandContext) throws(RedisError) {
        guard context.count == 3 || context.count == 4 else {
            throw RedisError.subcommandSyntax(String(buffer: context.arguments[1]), container: "client")
        }
        var mode = PauseMode.all
        if context.count == 4 {
            if context.argument(3, is: "write") {
                mode = .write
            } else if !context.argument(3, is: "all") {
                throw RedisError.pauseMode
            }
        }
        guard let timeout = context.arguments[2].int64 else {
            throw RedisError.timeoutNotInteger
        }
        if timeout < 0 { throw RedisError.timeoutNegative }
        // As Redis: the end is now + timeout (wrapping as C's signed addition does in practice), 0 ends at once.
        let end = timeout > 0 ? timeout &+ context.now : 0
        let server = context.server
        // A pause already in force keeps its later end and its stricter mode.
        if server.pauseMode == .off {
            server.pauseMode = mode
            server.pauseEnd = end
        } else {
            server.pauseMode = max(server.pauseMode, mode)
            server.pauseEnd = max(server.pauseEnd, end)
        }
        server.keyspace.expiryPaused = true
        server.schedulePauseEnd(after: max(0, server.pauseEnd - context.now))
        context.out.writeOK()
    }

    /// CLIENT UNPAUSE — O(N) in the postponed clients
    static func clientUnpause(_ context: inout CommandContext) throws(RedisError) {
        context.server.unpause()
        context.out.writeOK()
    }
}
