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
        if self.writePauseHolds > 0 {
            self.endHeldClientPauseIfDue(now: context.now)
        } else if context.now >= self.pauseEnd {
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

    /// Ends the pause at its end time, on a timer of the host (at most a year ahead: a later end is checked by each
    /// command instead).
    func schedulePauseEnd(after milliseconds: Int64) {
        let delay = min(max(0, milliseconds), 365 * 24 * 3600 * 1000)
        self.host?.schedule(afterMicroseconds: delay * 1000) { [unowned(unsafe) self] in self.endPauseIfDue() }
    }

    /// Called by the pause's timer at its end time.
    public func endPauseIfDue() {
        if self.writePauseHolds > 0 {
            self.endHeldClientPauseIfDue(now: self.clock())
        } else if self.pauseMode != .off && self.clock() >= self.pauseEnd {
            self.unpause()
        }
    }

    /// While a FAILOVER or SHUTDOWN holds writes, a CLIENT PAUSE kept aside still ends at its time: an ALL pause falls
    /// back to the held write pause, and the clients it held run again (writes wait anew).
    func endHeldClientPauseIfDue(now: Int64) {
        guard self.heldClientPause.mode != .off, now >= self.heldClientPause.end else { return }
        self.heldClientPause = (.off, 0)
        guard self.pauseMode == .all else { return }
        self.unpause()
        self.pauseMode = .write
        self.pauseEnd = Int64.max
        self.keyspace.expiryPaused = true
    }

    /// Pauses writes until ``releaseWritePause()`` (a shutdown or a failover waiting for the replicas, Redis's
    /// PAUSE_DURING_SHUTDOWN / PAUSE_DURING_FAILOVER). Each holder releases its own hold; CLIENT PAUSE and UNPAUSE
    /// meanwhile change only the client pause kept aside, which comes back when the last hold goes.
    func pauseWritesIndefinitely() {
        if self.writePauseHolds == 0 { self.heldClientPause = (self.pauseMode, self.pauseEnd) }
        self.writePauseHolds += 1
        self.pauseMode = max(self.pauseMode, .write)
        self.pauseEnd = Int64.max
        self.keyspace.expiryPaused = true
    }

    /// Releases one hold of ``pauseWritesIndefinitely()``; after the last, the client pause kept aside is back (or
    /// none, when it ended meanwhile).
    func releaseWritePause() {
        guard self.writePauseHolds > 0 else { return }
        self.writePauseHolds -= 1
        guard self.writePauseHolds == 0 else { return }
        let kept = self.heldClientPause
        self.heldClientPause = (.off, 0)
        let now = self.clock()
        if kept.mode == .off || kept.end <= now {
            self.unpause()
        } else {
            self.pauseMode = kept.mode
            self.pauseEnd = kept.end
            self.schedulePauseEnd(after: kept.end - now)
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
        if server.writePauseHolds > 0 {
            // A FAILOVER or SHUTDOWN holds writes: this pause waits aside for them to end (ALL applies now).
            let kept = server.heldClientPause
            server.heldClientPause = (max(kept.mode, mode), kept.mode == .off ? end : max(kept.end, end))
            server.pauseMode = max(server.pauseMode, mode)
            server.schedulePauseEnd(after: end - context.now)
            context.out.writeOK()
            return
        }
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
        let server = context.server
        server.unpause()
        if server.writePauseHolds > 0 {
            // Only the client pause goes: a FAILOVER or SHUTDOWN still holds writes (Redis's
            // unpauseClients(PAUSE_BY_CLIENT_COMMAND)); the clients it held run again, and writes wait anew.
            server.heldClientPause = (.off, 0)
            server.pauseMode = .write
            server.pauseEnd = Int64.max
            server.keyspace.expiryPaused = true
        }
        context.out.writeOK()
    }
}
