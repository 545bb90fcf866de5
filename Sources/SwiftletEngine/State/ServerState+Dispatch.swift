public import NIOCore
import SwiftletRESP

extension ServerState {
    // MARK: - Dispatch

    /// Runs the request in `context.arguments` and writes its reply (or error) to `context.out`.
    public func execute(_ context: inout CommandContext) {
        self.runningClientID = context.session.id
        let mark = context.out.buffer.writerIndex
        if context.session.replyControl.isEmpty {
            self.executeCommand(&context)
        } else {
            self.executeWithReplyControl(&context)
        }
        if (context.session.replica != nil || context.session.isMaster) && context.out.buffer.writerIndex > mark {
            self.replicationPeerReplied(&context, from: mark)
        }
        if self.evictsClients {
            // The replies of this read batch so far count too, as Redis counts its reply buffer after each command.
            context.session.replyBufferLength = context.out.buffer.readableBytes
        }
        if self.evictsClients && self.noteClientMemory(context.session) {
            // Evicted for maxmemory-clients: the transport closes its connection at once (`evicted`).
            context.session.closeAfterReply = true
        }
        if context.session.trackingCaching && !context.session.transaction.active
            && self.table.lookupID(context.arguments[0]) != self.table.clientID
        {
            // CLIENT CACHING applies to the one command (or transaction) after it.
            context.session.trackingCaching = false
        }
    }

    /// CLIENT REPLY OFF or SKIP is in force: the command runs, and its reply is dropped when it must be.
    private func executeWithReplyControl(_ context: inout CommandContext) {
        let session = context.session
        if session.replyControl.contains(.skipNext) {
            session.replyControl.remove(.skipNext)
            session.replyControl.insert(.skipThis)
        }
        let mark = context.out.buffer.writerIndex
        session.silencedPushes = ByteBuffer()
        self.executeCommand(&context)
        // Decided after the command: CLIENT REPLY ON clears both, and its OK goes out.
        if !session.replyControl.isDisjoint(with: [.skipThis, .off]) { context.out.buffer.moveWriterIndex(to: mark) }
        session.replyControl.remove(.skipThis)
        // Why `!`: set above, and only this function clears it.
        context.out.buffer.writeImmutableBuffer(session.silencedPushes!)
        session.silencedPushes = nil
    }

    func stopMonitoring(_ session: ClientSession) {
        guard session.isMonitor else { return }
        session.isMonitor = false
        self.monitors.removeAll { $0 === session }
    }

    private func executeCommand(_ context: inout CommandContext) {
        // Inside a read batch the previous command's end time is this one's start: one clock read per command.
        let started = self.batchClock >= 0 ? self.batchClock : self.monotonicMicroseconds()
        context.now = self.injectedClock?() ?? (started + self.wallOffset) / 1000
        context.session.lastInteraction = context.now
        let id: Int
        do {
            id = try self.table.resolve(context.arguments)
        } catch {
            // Redis's c->lastcmd: the command when it is known (an arity error), NULL when it is not.
            context.session.lastCommandID = self.table.lookup(context.arguments[0])?.id ?? -1
            if let known = self.table.lookup(context.arguments[0]) {
                self.table.stats[known.id].rejectedCalls += 1
                if known.id == self.table.execID {
                    // A rejected EXEC discards the transaction, whether or not one is open, as Redis does.
                    self.endTransaction(context.session)
                    self.reply(.execAbortRejected(error), &context)
                    return
                }
            }
            if context.session.transaction.active { context.session.transaction.rejected = true }
            self.reply(error, &context)
            return
        }
        // As Redis's c->lastcmd, set at lookup: a refused command is the client's last command too.
        context.session.lastCommandID = id
        if self.hot.requiresPassword && !context.session.authenticated
            && !self.table.commands[id].flags.contains(.noAuth)
        {
            self.table.stats[id].rejectedCalls += 1
            if context.session.transaction.active { context.session.transaction.rejected = true }
            self.reply(RedisError.authenticationRequired, &context)
            return
        }
        if let running = self.scripting.running, !self.table.commands[id].flags.contains(.allowBusy) {
            // Only reached from inside a script that passed busy-reply-threshold (processEventsWhileBusy).
            self.table.stats[id].rejectedCalls += 1
            let busy = running.isEval ? ScriptingState.busyEval : ScriptingState.busyFunction
            if id == self.table.execID {
                // Redis's rejectCommand: a refused EXEC discards the transaction (execCommandAbort).
                self.endTransaction(context.session)
                self.reply(.execAbort(because: busy), &context)
                return
            }
            if context.session.transaction.active { context.session.transaction.rejected = true }
            self.reply(busy, &context)
            return
        }
        if self.memoryLimit.maxMemory > 0 && !context.session.isMaster && self.refusedForMemory(id, &context) {
            return
        }
        if (!self.persistence.lastBgsaveOK || !self.aof.lastWriteOK) && !context.session.isMaster
            && self.refusedByDiskError(id, &context)
        {
            return
        }
        if self.hot.requiresGoodReplicas && self.replication.goodReplicas < self.hot.minReplicasToWrite
            && self.masterLink == nil && self.refusedForReplicas(id, &context)
        {
            return
        }
        if self.masterLink != nil && !context.session.isMaster && self.refusedAsReplica(id, &context) {
            return
        }
        if context.session.isSubscribed && context.session.protocolVersion == .resp2 && !self.subscribedModeAllowed[id]
        {
            self.table.stats[id].rejectedCalls += 1
            self.reply(RedisError.notAllowedInSubscribeMode(self.table.commands[id].fullName), &context)
            return
        }
        // A MONITOR client or a replica may only run what Redis lets them (no keyspace access).
        if (context.session.isMonitor || context.session.replica?.attached == true) && !self.monitorAllowed[id] {
            self.table.stats[id].rejectedCalls += 1
            self.reply(RedisError.replicaKeyspace, &context)
            return
        }
        // Replicas are never paused (their ACKs keep coming), as in Redis.
        if self.pauseMode != .off && context.session.replica?.attached != true && !context.session.isMaster
            && self.pausePostpones(id, context)
        {
            self.postpone(&context)
            return
        }
        if context.session.transaction.active && !self.transactionControl[id] {
            if self.table.commands[id].flags.contains(.noMulti) {
                context.session.transaction.rejected = true
                self.table.stats[id].rejectedCalls += 1
                self.reply(RedisError.notAllowedInTransaction, &context)
                return
            }
            context.session.transaction.queue.append(id, context.arguments, flags: self.effectiveFlags(id, context))
            context.out.writeSimpleString("QUEUED")
            return
        }
        self.run(id, &context, started: started)
        // Where the stream stood after this client's command: what its WAIT waits for (Redis's `c->woff`).
        context.session.replicationOffset = self.replication.offset
    }

    /// MISCONF: after a failed background save, write commands (an EXEC with writes queued) and PING are refused,
    /// as Redis's `processCommand` does with `stop-writes-on-bgsave-error`.
    private func refusedByDiskError(_ id: Int, _ context: inout CommandContext) -> Bool {
        let aofFailed = self.aof.isOn && !self.aof.lastWriteOK
        guard aofFailed || self.writesDeniedByDiskError else { return false }
        // Redis's `writeCommandsGetDiskErrorMessage`: the RDB error first, then the AOF one.
        let misconf =
            self.writesDeniedByDiskError
            ? RedisError.misconf : RedisError.aofWriteFailed(self.aof.lastWriteError)
        let flags = id == self.table.execID ? context.session.transaction.queue.flags : self.effectiveFlags(id, context)
        guard flags.contains(.write) || id == self.table.pingID else { return false }
        self.table.stats[id].rejectedCalls += 1
        if id == self.table.execID {
            self.endTransaction(context.session)
            self.reply(
                RedisError.execAbort(because: misconf),
                &context
            )
            return true
        }
        if context.session.transaction.active { context.session.transaction.rejected = true }
        self.reply(misconf, &context)
        return true
    }

    /// NOREPLICAS: write commands (an EXEC with writes queued, a script declaring writes) while min-replicas-to-write
    /// cannot be met, as Redis's processCommand.
    private func refusedForReplicas(_ id: Int, _ context: inout CommandContext) -> Bool {
        let flags = id == self.table.execID ? context.session.transaction.queue.flags : self.effectiveFlags(id, context)
        guard flags.contains(.write) else { return false }
        self.table.stats[id].rejectedCalls += 1
        if id == self.table.execID {
            self.endTransaction(context.session)
            self.reply(RedisError.execAbort(because: .noReplicas), &context)
            return true
        }
        if context.session.transaction.active { context.session.transaction.rejected = true }
        self.reply(.noReplicas, &context)
        return true
    }

    /// The flags the dispatcher's checks go by (Redis's getCommandFlags): the command's own, except for EVAL and
    /// FCALL of a script that declares flags (a shebang, a registered function), whose declared flags take the place
    /// of write, deny-oom, stale and may-replicate (Redis's scriptFlagsToCmdFlags).
    func effectiveFlags(_ id: Int, _ context: CommandContext) -> CommandFlags {
        var flags = self.table.commands[id].flags
        guard self.runsScripts[id], let declared = self.scripting.declaredFlags(id, context) else { return flags }
        flags.subtract([.stale, .denyOOM, .write, .mayReplicate])
        if declared.isDisjoint(with: [.allowOOM, .noWrites]) { flags.insert(.denyOOM) }
        if !declared.contains(.noWrites) { flags.insert(.write) }
        if declared.contains(.allowStale) { flags.insert(.stale) }
        return flags
    }

    /// Whether a connection's read batch is running.
    var isInBatch: Bool { self.batchClock >= 0 }

    /// Marks the start of a connection's read batch (see `execute`).
    public func beginBatch() {
        self.batchClock = self.monotonicMicroseconds()
    }

    public func endBatch() {
        self.batchClock = -1
        if self.tracking.hasPendingBroadcasts { self.trackingBroadcast() }
        if self.host == nil {
            if !self.aof.buffer.isEmpty { self.flushAppendOnlyFile() }
            if !self.pendingOutboxes.isEmpty { self.flushOutboxes() }
        }
    }

    /// Asks the server layer to run ``flushOutboxes()`` once the event loop has handled its current round of reads
    /// (Redis's `beforeSleep`), once however often it is asked.
    func requestBeforeSleep() {
        guard !self.beforeSleepScheduled, let host = self.host else { return }
        self.beforeSleepScheduled = true
        host.scheduleBeforeSleep()
    }

    // MARK: - Frames for other clients

    /// Queues a frame (a pub/sub message) for a client. The running client's own frames go into its reply buffer,
    /// ahead of the command's reply, as Redis does; other clients' frames wait in their outbox until the running
    /// read batch ends, so a pipeline of PUBLISHes costs each subscriber one write.
    func push(_ frame: ByteBuffer, to session: ClientSession, context: inout CommandContext) {
        if session === context.session {
            if session.silencedPushes != nil {
                session.silencedPushes!.writeImmutableBuffer(frame)
            } else {
                context.out.buffer.writeImmutableBuffer(frame)
            }
        } else {
            self.push(frame, to: session)
        }
    }

    /// Queues a frame for a client from outside any client's command (expiry, the server tick), or for another
    /// client than the running one.
    func push(_ frame: ByteBuffer, to session: ClientSession) {
        self.willQueueFrames(for: session)
        session.outbox.writeImmutableBuffer(frame)
        self.didQueueFrames()
    }

    /// Queues bytes for a client, as ``push(_:to:)`` (the replication stream: no buffer made per unit).
    func push(bytes: [UInt8], to session: ClientSession) {
        self.willQueueFrames(for: session)
        session.outbox.writeBytes(bytes)
        self.didQueueFrames()
    }

    @inline(__always)
    private func willQueueFrames(for session: ClientSession) {
        guard session.outbox.readableBytes == 0 else { return }
        // Once per event-loop iteration, after every connection's reads (Redis's beforeSleep writes):
        // 50 publishers' PUBLISHes in one iteration cost each subscriber one write, not 50.
        if self.pendingOutboxes.isEmpty { self.requestBeforeSleep() }
        self.pendingOutboxes.append(session)
    }

    @inline(__always)
    private func didQueueFrames() {
        if self.batchClock < 0 && self.host == nil { self.flushOutboxes() }
    }

    /// Whether replies wait for the end of the event-loop iteration (Redis's `beforeSleep`), as in a server; the
    /// embedded keyspace without a loop has nothing to defer to.
    public var defersReplies: Bool { self.host != nil }

    /// Keeps a client's replies until ``flushOutboxes()`` runs after the loop has handled every connection's reads
    /// (and, with appendfsync always, after the AOF write and fsync of this iteration). They join the client's
    /// outbox, after the frames already there; `reply` is left empty. When the outbox is empty the two buffers are
    /// swapped, so holding copies nothing.
    ///
    /// Why hold replies at all: as in Redis, writing every reply at the end of the iteration rather than right
    /// after each connection's batch lets a client on another core find all its replies in one wake-up, and its
    /// next requests arrive while this loop is still busy, so the next `epoll_wait` returns many connections at
    /// once. Measured at pipeline depth 16 on two cores this lowered the server's system time per request.
    public func holdReply(_ session: ClientSession, _ reply: inout ByteBuffer) {
        session.replyBufferLength = 0
        if let link = session.replica, link.attached {
            // A replica's commands (REPLCONF ACK, PING) get no replies, as in Redis; it gets the stream instead.
            reply.clear()
            return
        }
        if session.outbox.readableBytes == 0 {
            if self.pendingOutboxes.isEmpty { self.requestBeforeSleep() }
            self.pendingOutboxes.append(session)
            swap(&session.outbox, &reply)
            reply.clear()
        } else {
            session.outbox.writeBuffer(&reply)
            reply.clear()
        }
    }

    /// The once-per-iteration flush: appends the commands of the iteration to the AOF (and fsyncs them with
    /// appendfsync always), then writes every queued outbox, held replies included, to its connection.
    public func flushOutboxes() {
        self.beforeSleepScheduled = false
        // WAIT asked for ACKs in this iteration: one REPLCONF GETACK for all of them (Redis's beforeSleep).
        if self.replication.acknowledgementRequested { self.requestAcknowledgements() }
        if !self.aof.buffer.isEmpty { self.flushAppendOnlyFile() }
        // Taken out of `self` (a flush may queue more frames for the next round), and its storage given back
        // afterwards: no allocation per iteration.
        var pending: [ClientSession] = []
        swap(&pending, &self.pendingOutboxes)
        // Newest first, as Redis's clients_pending_write list: a PUBLISH's publisher hears back before its
        // subscribers get the message, and its next request then meets the server still busy writing, so the next
        // iteration reads more of them at once. In order, the publishers wait for every subscriber's write, and the
        // server goes on with smaller rounds and smaller writes (1.5 more writes per PUBLISH to 100 subscribers).
        for session in pending.reversed() { session.connection?.flushOutbox() }
        if self.pendingOutboxes.isEmpty {
            pending.removeAll(keepingCapacity: true)
            swap(&pending, &self.pendingOutboxes)
        }
    }

    /// Runs a resolved command: handler, error reply, statistics, WATCH invalidation.
    func run(_ id: Int, _ context: inout CommandContext, started: Int64? = nil) {
        self.commandDepth += 1
        defer { self.commandDepth -= 1 }
        // Inside a read batch (and so inside EXEC) the previous command's end is this one's start.
        let started = started ?? (self.batchClock >= 0 ? self.batchClock : self.monotonicMicroseconds())
        // No `lastCommandID` here: it is set at lookup (executeCommand), and the commands EXEC runs leave it at
        // `exec`, as Redis's execCommand leaves c->lastcmd (CLIENT LIST inside a transaction shows `cmd=exec`).
        let dirtyBefore = self.dirty
        // A write's keys that exist before it runs, when a client watches keys or tracks them (see touchKeys).
        let written =
            self.signalsModifiedKeys && self.table.commands[id].flags.contains(.write)
            ? self.keysBeforeWrite(of: id, context) : nil
        let propagating = self.propagating
        let notifying = self.hot.keyspaceEvents.isEmpty ? nil : self.selfNotifications.enter(context)
        do {
            try self.table.commands[id].run(&context)
        } catch {
            self.table.stats[id].failedCalls += 1
            self.reply(error, &context)
        }
        if propagating {
            if (self.dirty != dirtyBefore || self.writeStream.force) && self.propagatable[id] {
                self.propagateCommand(&context)
            } else {
                self.writeStream.replacement = nil
                self.writeStream.force = false
            }
        }
        // Events of blocked clients served below reach the running client after its reply, as in Redis.
        if notifying != nil {
            self.selfNotifications.offset = context.out.buffer.writerIndex
            if let silenced = context.session.silencedPushes {
                self.selfNotifications.silencedOffset = silenced.writerIndex
            }
        }
        if let written, self.dirty != dirtyBefore {
            self.touchKeys(written, &context)
        }
        if self.table.commands[id].flags.contains(.readonly) {
            if context.session.tracking != nil && !self.scriptRunsOthersReadOnly[id] {
                self.trackingRememberKeys(id, context)
            } else if let running = self.scripting.running, running.caller.tracking != nil,
                context.session === self.scripting.session
            {
                // A script read something: its caller tracks the keys the script declared (Redis's call() with
                // script_caller); EVAL_RO and FCALL_RO themselves track nothing.
                var caller = CommandContext(session: running.caller, server: self, out: ByteBuffer())
                caller.arguments = running.callerArguments
                self.trackingRememberKeys(running.caller.lastCommandID, caller)
            }
        }
        // The command's own time, as Redis's `call()` measures it, before it serves the clients it unblocked; the
        // slow log records it here so that, as in Redis, it comes before the entries of the commands it served.
        let finished = self.monotonicMicroseconds()
        let slowerThan = self.hot.slowlogLogSlowerThan
        if slowerThan >= 0 && (finished - started >= slowerThan || self.slowlog.mayExceedMaxLength) {
            self.slowlogCommandDone(id, context, microseconds: finished - started)
        }
        if !self.blocking.isEmpty {
            // A write may have filled keys that clients wait on. Inside EXEC the keys are only signalled; they are
            // served once the outermost command is done, before this client's reply is flushed.
            self.blocking.afterCommand(self.table.commands[id], context)
            if self.commandDepth == 1 && self.blocking.hasReadyKeys { self.blocking.serveReadyKeys(self) }
        }
        // Also set by the pops of blocked clients served just above, after this command's keys were touched.
        if self.onlyModifiedKey != nil { self.onlyModifiedKey = nil }
        if propagating && self.commandDepth == 1 { self.commitWrites() }
        if self.commandDepth == 1 && self.pendingSelfInvalidations.readableBytes > 0 {
            self.flushPendingSelfInvalidations(&context)
        }
        if let notifying { self.selfNotifications.leave(&context, notifying) }
        if !self.monitors.isEmpty && self.monitored[id] { self.feedMonitors(&context) }
        self.stats.totalCommandsProcessed += 1
        self.table.stats[id].calls += 1
        self.table.stats[id].microseconds += finished - started
        if self.batchClock >= 0 { self.batchClock = finished }
    }

    /// Sends the command's MONITOR line to every monitor (the running client's own line goes after its reply).
    func feedMonitors(_ context: inout CommandContext) {
        let microseconds = self.injectedClock.map { $0() * 1000 } ?? (self.monotonicMicroseconds() + self.wallOffset)
        let line = MonitorCommands.line(context, microseconds: microseconds)
        for monitor in self.monitors { self.push(line, to: monitor, context: &context) }
    }

    func reply(_ error: RedisError, _ context: inout CommandContext) {
        self.stats.errorReplies += 1
        self.stats.errorsByCode[String(error.code), default: 0] += 1
        context.out.writeError(bytes: error.bytes)
    }
}
