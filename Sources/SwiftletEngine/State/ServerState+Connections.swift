import NIOCore
import SwiftletConfig

/// What a transport tells the engine about its connections, and asks of it, besides running commands: admission,
/// the byte counters of INFO stats, a blocked client's timeout, and the moment replies may leave.
extension ServerState {
    /// The error a new connection gets instead of service (`maxclients` reached, or protected mode with no
    /// password for a peer that is not loopback), counted in `rejected_connections`; `nil` admits it. Called after
    /// ``connect(address:localAddress:fileDescriptor:)``, so the new client counts against `maxclients` as in Redis.
    public func admissionRefusal(peerIsLoopback: Bool) -> RedisError? {
        var refusal: RedisError?
        if self.clients.count > self.config.maxClients {
            refusal = .maxClientsReached
        } else if self.config.protectedMode && self.config.requirePass.isEmpty && !peerIsLoopback {
            refusal = .protectedMode
        }
        if refusal != nil { self.stats.rejectedConnections += 1 }
        return refusal
    }

    /// One read from a client's socket (`total_net_input_bytes`, `total_reads_processed`).
    @inline(__always)
    public func noteRead(bytes: Int) {
        self.stats.totalNetInputBytes += bytes
        self.stats.totalReadsProcessed += 1
    }

    /// One write to a client's socket (`total_net_output_bytes`, `total_writes_processed`).
    @inline(__always)
    public func noteWrite(bytes: Int) {
        self.stats.totalNetOutputBytes += bytes
        self.stats.totalWritesProcessed += 1
    }

    /// A client closed for passing its client-output-buffer-limit (`client_output_buffer_limit_disconnections`).
    public func noteOutputLimitDisconnection() {
        self.stats.outputBufferLimitDisconnections += 1
    }

    /// The deadline of a blocked client's wait passed: it gets its timeout reply through its connection.
    public func blockTimedOut(_ session: ClientSession) {
        self.blocking.unblock(session, reason: .timeout, server: self)
    }

    /// Called by the transport before it writes replies or frames to a socket. With appendfsync always, the commands
    /// those replies acknowledge are written to the AOF and fsynced first: no client ever hears of a write that a
    /// crash could still lose. The engine owns that order; the transport only asks.
    @inline(__always)
    public func beforeRepliesLeave() {
        if self.repliesWaitForFsync { self.flushAppendOnlyFile() }
    }

    /// Redis's processEventsWhileBlocked, for a script past busy-reply-threshold: every other client's connection
    /// reads what it has and runs it (the dispatcher answers -BUSY to all but allow-busy commands), then the replies
    /// are written at once, as the loop cannot reach its own end-of-turn flush. New connections are accepted first.
    func processEventsWhileBusy() {
        guard let caller = self.scripting.running?.caller else { return }
        let runningClientID = self.runningClientID
        let batchClock = self.batchClock
        self.host?.acceptWhileBusy()
        for session in self.clients.values where session !== caller {
            session.connection?.readWhileBusy()
        }
        self.runningClientID = runningClientID
        self.batchClock = batchClock
        // With appendfsync always a held reply leaves only after its fsync, at the end of the loop turn: the busy
        // clients' replies wait with them (a SCRIPT KILL still takes effect at once).
        if !self.pendingOutboxes.isEmpty && !self.repliesWaitForFsync {
            // The caller's own outbox waits: its replies so far are still in its batch's buffer, and its frames
            // must not overtake them.
            self.pendingOutboxes.removeAll { $0 === caller }
            self.flushOutboxes()
            if caller.outbox.readableBytes > 0 { self.pendingOutboxes.append(caller) }
        }
    }
}
