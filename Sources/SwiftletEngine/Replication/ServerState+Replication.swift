import NIOCore
import SwiftletConfig
import SwiftletKeyspace
import SwiftletPersistence
import SwiftletRESP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The master side of replication: replicas attach with SYNC/PSYNC, get an RDB made by the fork-less snapshot (sent
/// as it is made, `$EOF:<mark>`, or from the file a BGSAVE wrote, `$<length>`), then the stream; a replica whose link
/// dropped continues from the backlog. Redis's replication.c, master half.
extension ServerState {
    // MARK: - Replicas

    /// The replica state of a client, made on its first REPLCONF, SYNC or PSYNC.
    func replicaLink(_ session: ClientSession) -> ReplicaLink {
        if let link = session.replica { return link }
        let link = ReplicaLink()
        session.replica = link
        return link
    }

    /// Makes `session` a replica: its replies are dropped from now on, and the stream reaches it.
    func attachReplica(_ session: ClientSession, _ link: ReplicaLink) {
        link.attached = true
        link.ackTime = self.clock() / 1000
        self.replication.replicas.append(session)
        if self.replication.backlog == nil { self.createReplicationBacklog(newHistory: true) }
    }

    /// The backlog, made with the first replica (with a new replication history: Redis's createReplicationBacklog
    /// after changeReplicationId and clearReplicationId2), or on a replica once it follows its master's history. On a
    /// master the replication state becomes a consumer of the write stream; a replica feeds it its master's stream.
    func createReplicationBacklog(newHistory: Bool) {
        let r = self.replication
        if newHistory {
            r.id = ReplicationState.randomID()
            r.secondID = String(repeating: "0", count: 40)
            r.secondOffset = -1
        }
        r.backlog = ReplicationBacklog(size: self.replicationBacklogSize, nextOffset: r.offset + 1)
        r.selectedDatabase = -1
        r.deliver = { [unowned(unsafe) self] session, bytes in
            // Straight into the outbox (no ByteBuffer per unit): at pipeline depth 16 every SET is a unit.
            self.push(bytes: bytes, to: session)
        }
        r.heldGrew = { [unowned(unsafe) self] session, link in
            let pending = link.held.count + session.outbox.readableBytes + session.outputBufferMemory
            guard
                self.outputBufferOverLimit(
                    session,
                    pending: pending,
                    now: self.clock(),
                    limit: self.hot.replicaOutputLimit
                )
            else { return }
            self.log(
                "Client id=\(session.id) addr=\(session.address) closed for overcoming of output buffer limits.",
                warning: true
            )
            self.noteOutputLimitDisconnection()
            link.held = []
            session.connection?.close()
        }
        self.setWriteStreamConsumer(r, attached: !self.isReplica)
        self.log("Replication backlog created, my new replication IDs are '\(r.id)' and '\(r.secondID)'")
    }

    var replicationBacklogSize: Int { Int(clamping: max(self.config.number("repl-backlog-size"), 16 * 1024)) }

    /// A client that was a replica went away.
    func detachReplica(_ session: ClientSession) {
        guard let link = session.replica, link.attached else { return }
        let r = self.replication
        r.replicas.removeAll { $0 === session }
        if r.replicas.isEmpty { r.noReplicasSince = self.clock() / 1000 }
        if link.state == .online {
            self.log("Connection with replica \(self.replicaName(session)) lost.")
        }
        self.closeBulkFile(link)
        link.held = []
        if !r.replicas.contains(where: { $0.replica?.state == .waitBgsaveStart }) { r.disklessWaitSince = 0 }
        self.refreshGoodReplicas()
        self.cancelOrphanedSocketSnapshot()
        // A BGSAVE made only for replicas, none of which waits for it any more, and no save points to serve: it stops
        // (Redis kills its child in freeClient).
        if link.state == .waitBgsaveEnd, let run = self.persistence.running, run.replication == .disk,
            self.config.saveRules.isEmpty, !r.replicas.contains(where: { $0.replica?.state == .waitBgsaveEnd })
        {
            self.cancelBackgroundSave()
        }
    }

    /// A snapshot streamed to replicas none of which is still there is stopped (Redis kills its child when the last
    /// connection goes), so that the next waiting replicas can have the slot.
    func cancelOrphanedSocketSnapshot() {
        guard let run = self.persistence.running, run.replication == .sockets,
            let writer = run.file as? ReplicaSyncWriter, !writer.hasLiveTargets
        else { return }
        self.persistence.running = nil
        run.snapshot.cancel()
        self.persistence.warning("Diskless rdb transfer, last replica dropped, killing fork child.")
        self.startReplicationSnapshot()
    }

    /// What the replicas hold in output (their RDB, the stream held for them): not counted toward maxmemory, and
    /// INFO's `mem_clients_slaves`.
    var replicasOutputMemory: Int {
        self.replication.replicas.reduce(0) {
            $0 + $1.outbox.capacity + $1.outputBufferMemory + ($1.replica?.held.capacity ?? 0)
        }
    }

    /// `ip:port` as Redis names a replica in its log (the announced address, or the peer's).
    func replicaName(_ session: ClientSession) -> String {
        let link = session.replica
        let ip = link?.announcedAddress ?? Self.host(of: session.address)
        if let port = link?.listeningPort, port != 0 { return "\(ip):\(port)" }
        return "\(ip):<unknown-replica-port>"
    }

    static func host(of address: String) -> String {
        guard let colon = address.lastIndex(of: ":") else { return address }
        return String(address[..<colon])
    }

    func log(_ message: String, warning: Bool = false) {
        self.host?.log(warning: warning, message)
    }

    // MARK: - PSYNC

    /// Tries to continue a replica's stream from `offset` (Redis's masterTryPartialResynchronization).
    /// - Returns: whether the replica now continues; `false` means a full sync.
    func tryPartialResync(_ session: ClientSession, _ link: ReplicaLink, id: String, offset: Int64) -> Bool {
        let r = self.replication
        if id.lowercased() != r.id && (id.lowercased() != r.secondID || offset > r.secondOffset) {
            if id.hasPrefix("?") {
                self.log("Full resync requested by replica \(self.replicaName(session))")
            } else if id.lowercased() != r.id && id.lowercased() != r.secondID {
                self.log(
                    "Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '\(id)', "
                        + "my replication IDs are '\(r.id)' and '\(r.secondID)')"
                )
            } else {
                self.log(
                    "Partial resynchronization not accepted: Requested offset for second ID was \(offset), "
                        + "but I can reply up to \(r.secondOffset)"
                )
            }
            return false
        }
        guard let backlog = r.backlog, backlog.holds(from: offset) else {
            self.log(
                "Unable to partial resync with replica \(self.replicaName(session)) for lack of backlog "
                    + "(Replica request was: \(offset))."
            )
            if offset > r.offset {
                self.log(
                    "Warning: replica \(self.replicaName(session)) tried to PSYNC with an offset that is greater "
                        + "than the master replication offset.",
                    warning: true
                )
            }
            return false
        }
        link.state = .online
        self.attachReplica(session, link)
        let line = link.acceptsPSync2 ? "+CONTINUE \(r.id)\r\n" : "+CONTINUE\r\n"
        self.push(ByteBuffer(string: line), to: session)
        let history = backlog.bytes(from: offset)
        if !history.isEmpty { self.push(ByteBuffer(bytes: history), to: session) }
        self.log(
            "Partial resynchronization request from \(self.replicaName(session)) accepted. Sending "
                + "\(history.count) bytes of backlog starting from offset \(offset)."
        )
        self.refreshGoodReplicas()
        return true
    }

    /// SYNC, or a PSYNC that cannot continue: the replica waits for an RDB (Redis's syncCommand, full resync part).
    func beginFullSync(_ session: ClientSession, _ link: ReplicaLink) {
        self.replication.fullSyncs += 1
        link.state = .waitBgsaveStart
        self.attachReplica(session, link)
        if self.persistence.running != nil {
            self.log("BGSAVE for replication delayed: another background operation is active")
            return
        }
        if self.disklessSync && link.acceptsEOFMarkedRDB && self.config.number("repl-diskless-sync-delay") > 0 {
            // The sync starts in the replication cron, so that replicas arriving meanwhile share it.
            self.log("Delay next BGSAVE for diskless SYNC")
            if self.replication.disklessWaitSince == 0 {
                self.replication.disklessWaitSince = self.monotonicMicroseconds() / 1000
            }
            return
        }
        self.startReplicationSnapshot()
    }

    var disklessSync: Bool { self.config.get("repl-diskless-sync") != "no" }

    // MARK: - The RDB for replicas

    /// Starts one snapshot for every replica waiting for one (Redis's startBgsaveForReplication): streamed to their
    /// sockets when all of them take an EOF-marked RDB and diskless sync is on (or the RDB is filtered), otherwise a
    /// BGSAVE to `dbfilename` whose file is then sent.
    func startReplicationSnapshot() {
        let r = self.replication
        let waiting = r.replicas.filter { $0.replica?.state == .waitBgsaveStart }
        guard !waiting.isEmpty, self.persistence.running == nil else { return }
        r.disklessWaitSince = 0
        // One snapshot serves the replicas that want the same RDB: a filtered one (redis-cli --functions-rdb) is
        // made for the replicas with that filter; the others wait for the next snapshot.
        guard let first = waiting[0].replica else { return }
        let group = waiting.filter {
            $0.replica?.excludesData == first.excludesData && $0.replica?.excludesFunctions == first.excludesFunctions
        }
        let filtered = first.excludesData || first.excludesFunctions
        // A filtered RDB always goes to the sockets (SYNC refused a filtered replica that cannot take it), so that
        // the dump file never holds filtered data.
        let toSockets = filtered || (self.disklessSync && group.allSatisfy { $0.replica?.acceptsEOFMarkedRDB == true })
        self.log("Starting BGSAVE for SYNC with target: \(toSockets ? "replicas sockets" : "disk")")
        // Every replica of this snapshot starts its stream at the same offset; the next op selects its database.
        let offset = r.offset
        r.selectedDatabase = -1
        if toSockets {
            self.startSocketSnapshot(
                for: group,
                offset: offset,
                keys: !first.excludesData,
                functions: !first.excludesFunctions
            )
        } else {
            for session in group { self.announceFullResync(session, offset: offset) }
            if !self.startBackgroundSave(forReplication: true) { self.failWaitingReplicas(group) }
        }
    }

    /// `+FULLRESYNC <replid> <offset>` (not for SYNC), and the replica now waits for its RDB.
    private func announceFullResync(_ session: ClientSession, offset: Int64) {
        guard let link = session.replica else { return }
        link.state = .waitBgsaveEnd
        link.initialOffset = offset
        link.held = []
        link.lastUnsent = 0
        link.progressSince = self.clock() / 1000
        if !link.prePSync {
            self.push(ByteBuffer(string: "+FULLRESYNC \(self.replication.id) \(offset)\r\n"), to: session)
        }
    }

    private func failWaitingReplicas(_ sessions: [ClientSession]) {
        self.log("BGSAVE for replication failed", warning: true)
        for session in sessions {
            self.replication.replicas.removeAll { $0 === session }
            if let link = session.replica { self.closeBulkFile(link) }
            session.replica = nil
            session.connection?.close()
        }
        if self.replication.replicas.isEmpty { self.replication.noReplicasSince = self.clock() / 1000 }
        self.refreshGoodReplicas()
    }

    /// A snapshot written straight to the replicas' connections: `$EOF:<40 hex>\r\n`, the RDB as the walk produces
    /// it, the end mark.
    private func startSocketSnapshot(for sessions: [ClientSession], offset: Int64, keys: Bool, functions: Bool) {
        let mark = Array(ReplicationState.randomID().utf8)
        for session in sessions {
            self.announceFullResync(session, offset: offset)
            self.push(ByteBuffer(bytes: Array("$EOF:".utf8) + mark + [13, 10]), to: session)
        }
        let writer = ReplicaSyncWriter(server: self, targets: sessions, mark: mark)
        var options = self.rdbOptions()
        if !functions { options.functions = [] }
        let encoder = RDBSnapshotEncoder(writer: writer, options: options)
        // A filtered RDB without keys walks an empty keyspace, which the writer keeps alive (the snapshot does not).
        let source = keys ? self.keyspace : Keyspace(databases: self.keyspace.databases.count)
        writer.source = source
        let snapshot = KeyspaceSnapshot(of: source, consumer: encoder)
        encoder.databaseSizes = zip(snapshot.keysAtStart, snapshot.expiresAtStart).map { ($0, $1) }
        self.persistence.notice("Background RDB transfer started")
        self.startSnapshotRun(
            snapshot,
            encoder: encoder,
            file: writer,
            startedAt: self.clock() / 1000,
            replication: .sockets
        )
    }

    /// The replicas' RDB is complete (Redis's updateSlavesWaitingBgsave).
    func replicationSnapshotDone(_ target: PersistenceState.ReplicationTarget, success: Bool) {
        let r = self.replication
        let waiting = r.replicas.filter { $0.replica?.state == .waitBgsaveEnd }
        guard success else {
            self.log("SYNC failed. BGSAVE child returned an error", warning: true)
            self.failWaitingReplicas(waiting)
            self.startReplicationSnapshot()
            return
        }
        if target == .sockets {
            // Redis's line when the parent has handed the child's last bytes to the replicas.
            self.log("Diskless rdb transfer, done reading from pipe, \(waiting.count) replicas still up.")
        }
        for session in waiting {
            guard let link = session.replica else { continue }
            if target == .disk {
                self.startSendingBulk(session, link)
            } else {
                // After an EOF-marked RDB the stream waits for the replica's first ACK, unless it came already.
                self.putReplicaOnline(session, link)
                if link.ackedBeforeOnline {
                    self.startStream(session, link)
                } else {
                    link.streamStartsOnAck = true
                }
            }
        }
        // Replicas that arrived during this snapshot get the next one.
        self.startReplicationSnapshot()
    }

    /// Opens the file a BGSAVE made for the replica and starts sending it: `$<length>`, then chunks as the replica
    /// takes them (Redis's SEND_BULK state, outside the output-buffer limit).
    private func startSendingBulk(_ session: ClientSession, _ link: ReplicaLink) {
        let fd = open(self.rdbPath, O_RDONLY | O_CLOEXEC)
        var info = stat()
        guard fd >= 0, fstat(fd, &info) == 0 else {
            if fd >= 0 { close(fd) }
            self.log("SYNC failed. Can't open/stat DB after BGSAVE: \(String(cString: strerror(errno)))", warning: true)
            self.failWaitingReplicas([session])
            return
        }
        link.state = .sendBulk
        link.bulkFile = fd
        link.bulkOffset = 0
        link.bulkSize = Int(info.st_size)
        self.push(ByteBuffer(string: "$\(link.bulkSize)\r\n"), to: session)
        self.sendBulkChunks(session, link)
    }

    /// How much of a disk-made RDB may wait unsent in a replica's output before the next chunk is read.
    static let bulkWindow = 4 << 20
    static let bulkChunk = 1 << 20

    /// Sends the next chunks of the file while the replica's unsent output is small, then comes back on a later
    /// loop turn; after the last chunk the replica is online and gets the stream held since its offset.
    private func sendBulkChunks(_ session: ClientSession, _ link: ReplicaLink) {
        guard link.state == .sendBulk, link.bulkFile >= 0, session.connection != nil else { return }
        var chunk = [UInt8](repeating: 0, count: Self.bulkChunk)
        while link.bulkOffset < link.bulkSize
            && session.outbox.readableBytes + session.outputBufferMemory < Self.bulkWindow
        {
            let wanted = min(Self.bulkChunk, link.bulkSize - link.bulkOffset)
            let count = chunk.withUnsafeMutableBytes {
                pread(link.bulkFile, $0.baseAddress, wanted, off_t(link.bulkOffset))
            }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                self.log("Read error sending DB to replica: \(String(cString: strerror(errno)))", warning: true)
                self.failWaitingReplicas([session])
                return
            }
            self.push(ByteBuffer(bytes: chunk[0..<count]), to: session)
            link.bulkOffset += count
        }
        // Online only once the whole file has left (Redis's sendBulkToSlave): until then it is not held to the
        // replica output limit.
        let unsent = session.outbox.readableBytes + session.outputBufferMemory
        guard link.bulkOffset >= link.bulkSize && (unsent == 0 || self.host == nil) else {
            if let host = self.host {
                host.schedule(afterMicroseconds: 1000) { [weak session, unowned(unsafe) self] in
                    guard let session, let link = session.replica else { return }
                    self.sendBulkChunks(session, link)
                }
            }
            return
        }
        self.closeBulkFile(link)
        self.putReplicaOnline(session, link)
        if !link.held.isEmpty && !link.rdbOnly { self.push(ByteBuffer(bytes: link.held), to: session) }
        link.held = []
    }

    func closeBulkFile(_ link: ReplicaLink) {
        guard link.bulkFile >= 0 else { return }
        close(link.bulkFile)
        link.bulkFile = -1
    }

    private func putReplicaOnline(_ session: ClientSession, _ link: ReplicaLink) {
        if link.rdbOnly {
            self.log(
                "RDB transfer completed, rdb only replica (\(self.replicaName(session))) should be disconnected asap"
            )
            session.closeAfterReply = true
            return
        }
        link.state = .online
        link.ackTime = self.clock() / 1000
        self.refreshGoodReplicas()
        self.log("Synchronization with replica \(self.replicaName(session)) succeeded")
    }

    // MARK: - Replies between master and replica

    /// A command of a replica (or, on a replica, of its master) produced a reply. Errors are logged as Redis's
    /// afterErrorReply logs them; a replica's reply is dropped and the replica disconnected (Redis's
    /// logInvalidUseAndFreeClientAsync: replicas send only REPLCONF ACK, which has no reply), while a master's replies
    /// are simply dropped by its client.
    func replicationPeerReplied(_ context: inout CommandContext, from mark: Int) {
        let session = context.session
        let replica = session.replica?.attached == true
        let isError = context.out.buffer.getInteger(at: mark, as: UInt8.self) == UInt8(ascii: "-")
        guard replica || (session.isMaster && isError) else { return }
        let id = session.lastCommandID
        let name = id >= 0 && id < self.table.commands.count ? self.table.commands[id].fullName : "<unknown>"
        if isError {
            let reply = context.out.buffer.getBytes(at: mark, length: context.out.buffer.writerIndex - mark) ?? []
            let line = reply.dropFirst().prefix { $0 != 13 && $0 != 10 }
            // Redis quotes a generic error's message without its ERR code.
            var text = String(decoding: line, as: UTF8.self)
            if text.hasPrefix("ERR ") { text.removeFirst(4) }
            self.stats.unexpectedErrorReplies += 1
            let (from, to) = session.isMaster ? ("replica", "master") : ("master", "replica")
            self.log(
                "== CRITICAL == This \(from) is sending an error to its \(to): '\(text)' after processing the "
                    + "command '\(name)'",
                warning: true
            )
        }
        guard replica else { return }
        context.out.buffer.moveWriterIndex(to: mark)
        let client = ConnectionCommands.describe(session, self, now: context.now)
        self.log("Replica generated a reply to command '\(name)', disconnecting it: \(client)", warning: true)
        session.closeAfterReply = true
    }

    // MARK: - REPLCONF ACK

    /// REPLCONF ACK <offset>: where the replica stands (INFO's offset and lag, WAIT); after an EOF-marked RDB, the
    /// first ACK starts its stream.
    func replicaAcknowledged(_ session: ClientSession, offset: Int64) {
        guard let link = session.replica, link.attached else { return }
        if offset > link.ackOffset { link.ackOffset = offset }
        link.ackTime = self.clock() / 1000
        if link.streamStartsOnAck && link.state == .online {
            link.streamStartsOnAck = false
            self.startStream(session, link)
        } else if link.state == .waitBgsaveEnd && link.acceptsEOFMarkedRDB {
            // Only a replica that has read its whole EOF-marked RDB acknowledges during the transfer.
            link.ackedBeforeOnline = true
        }
        self.serveWaitingClients()
        if self.replication.pendingShutdown != nil { self.finishShutdownIfDue() }
        if self.replication.failover != nil { self.updateFailoverStatus() }
    }

    /// Sends the stream held during an EOF-marked RDB's transfer; from now on it flows.
    private func startStream(_ session: ClientSession, _ link: ReplicaLink) {
        if !link.held.isEmpty { self.push(ByteBuffer(bytes: link.held), to: session) }
        link.held = []
    }

    // MARK: - WAIT

    /// Online replicas that acknowledged `offset` (Redis's replicationCountAcksByOffset).
    func replicasAcknowledged(_ offset: Int64) -> Int {
        self.replication.replicas.reduce(0) { count, session in
            guard let link = session.replica, link.state == .online, link.ackOffset >= offset else { return count }
            return count + 1
        }
    }

    /// Ends the WAITs that now have enough acknowledgements (Redis's processClientsWaitingReplicas), answering each
    /// with the count.
    func serveWaitingClients() {
        let r = self.replication
        guard !r.waiting.isEmpty else { return }
        var still: [(session: ClientSession, offset: Int64, replicas: Int64)] = []
        for wait in r.waiting where wait.session.blocked != nil {
            if Int64(self.replicasAcknowledged(wait.offset)) >= wait.replicas {
                self.blocking.unblock(wait.session, reason: .timeout, server: self)
            } else {
                still.append(wait)
            }
        }
        r.waiting = still
    }

    /// REPLCONF GETACK * into the stream, once per loop iteration in which a WAIT blocked (not while clients are
    /// paused: the stream must not move then, as in Redis).
    func requestAcknowledgements() {
        let r = self.replication
        guard !self.isPaused else { return }
        r.acknowledgementRequested = false
        guard !r.replicas.isEmpty else { return }
        r.append(Self.getAckCommand, database: r.selectedDatabase, unixSeconds: 0)
        _ = r.commitUnit()
    }

    /// DEBUG REPLICATE: a command into the replication stream only (Redis's replicationFeedSlaves with the stream's
    /// selected database).
    func replicateOnly(_ arguments: [ByteBuffer]) {
        let r = self.replication
        guard r.backlog != nil, !self.isReplica else { return }
        let copies = arguments.map { ByteBuffer(bytes: $0.readableBytesView) }
        r.append(copies, database: max(0, r.selectedDatabase), unixSeconds: 0)
        _ = r.commitUnit()
    }

    static let getAckCommand = [ByteBuffer(string: "REPLCONF"), ByteBuffer(string: "GETACK"), ByteBuffer(string: "*")]

    // MARK: - min-replicas-to-write

    /// Whether writes may go on as far as min-replicas-to-write is concerned (Redis's checkGoodReplicasStatus): a
    /// replica, the option off, or enough good replicas.
    var goodReplicasSuffice: Bool {
        !self.hot.requiresGoodReplicas || self.isReplica || self.replication.goodReplicas >= self.hot.minReplicasToWrite
    }

    /// Counts the online replicas whose last ACK is at most `min-replicas-max-lag` seconds old (Redis's
    /// refreshGoodSlavesCount).
    func refreshGoodReplicas() {
        let maxLag = self.config.number("min-replicas-max-lag")
        let now = self.clock() / 1000
        self.replication.goodReplicas = self.replication.replicas.reduce(0) { count, session in
            guard let link = session.replica, link.state == .online, now - link.ackTime <= maxLag else { return count }
            return count + 1
        }
    }

    // MARK: - Cron

    /// Called on every server tick: runs ``replicationCron()`` once a second, as Redis runs it from serverCron.
    public func replicationTick() {
        if self.replication.pendingShutdown != nil { self.finishShutdownIfDue() }
        if self.replication.failover != nil { self.updateFailoverStatus() }
        let now = self.monotonicMicroseconds() / 1000
        guard now - self.replication.lastCron >= 1000 else { return }
        self.replication.lastCron = now
        self.replicationCron()
    }

    /// Once a second (Redis's replicationCron, master half): PINGs the replicas every `repl-ping-replica-period`,
    /// a newline to the ones waiting for their RDB, drops replicas that timed out, starts a delayed diskless sync,
    /// frees the backlog after `repl-backlog-ttl` without replicas, and counts the good replicas.
    public func replicationCron() {
        self.masterLinkCron()
        let r = self.replication
        let now = self.clock() / 1000
        let period = max(1, self.config.number("repl-ping-replica-period"))
        // A replica's sub-replicas get its master's PINGs.
        // Nor while a failover waits for a replica to catch up: the offset must stay still.
        if !r.replicas.isEmpty && Int64(r.cronTicks) % period == 0 && !self.isReplica && r.failover == nil {
            // Into the stream (and the backlog), as Redis propagates PING: the replicas' offsets move with it.
            r.append([Self.pingName], database: r.selectedDatabase, unixSeconds: now)
            _ = r.commitUnit()
        }
        r.cronTicks += 1
        let timeout = max(1, self.config.number("repl-timeout"))
        for session in r.replicas {
            guard let link = session.replica else { continue }
            if link.state == .waitBgsaveStart
                || (link.state == .waitBgsaveEnd && self.persistence.running?.replication == .disk)
            {
                // Keeps the replica's read timeout from firing while it waits; not part of the stream.
                self.push(ByteBuffer(string: "\n"), to: session)
            }
            if link.state == .online && !link.prePSync && now - link.ackTime > timeout {
                self.log(
                    "Disconnecting timedout replica (streaming sync): \(self.replicaName(session))",
                    warning: true
                )
                session.connection?.close()
            }
            if link.state == .sendBulk
                || (link.state == .waitBgsaveEnd && self.persistence.running?.replication == .sockets)
            {
                // Its RDB must keep moving: unsent bytes that have not gone down for repl-timeout seconds mean a
                // replica that stopped reading.
                let unsent = session.outbox.readableBytes + session.outputBufferMemory
                if unsent == 0 || unsent < link.lastUnsent { link.progressSince = now }
                link.lastUnsent = unsent
                if now - link.progressSince > timeout {
                    self.log(
                        "Disconnecting timedout replica (full sync): \(self.replicaName(session))",
                        warning: true
                    )
                    session.connection?.close()
                }
            }
        }
        if !r.replicas.contains(where: { $0.replica?.state == .waitBgsaveStart }) { r.disklessWaitSince = 0 }
        if r.disklessWaitSince > 0 {
            let waited = self.monotonicMicroseconds() / 1000 - r.disklessWaitSince
            let delay = self.config.number("repl-diskless-sync-delay") * 1000
            let maxReplicas = self.config.number("repl-diskless-sync-max-replicas")
            let waiting = r.replicas.filter { $0.replica?.state == .waitBgsaveStart }.count
            if waited >= delay || (maxReplicas > 0 && waiting >= maxReplicas) { self.startReplicationSnapshot() }
        } else if self.persistence.running == nil
            && r.replicas.contains(where: { $0.replica?.state == .waitBgsaveStart })
        {
            self.startReplicationSnapshot()
        }
        let ttl = self.config.number("repl-backlog-ttl")
        if r.replicas.isEmpty && ttl > 0 && r.backlog != nil && now - r.noReplicasSince > ttl && !self.isReplica {
            // A new id: a replica that followed this history cannot continue it after the backlog is gone.
            r.id = ReplicationState.randomID()
            r.secondID = String(repeating: "0", count: 40)
            r.secondOffset = -1
            r.backlog = nil
            self.setWriteStreamConsumer(r, attached: false)
            self.log("Replication backlog freed after \(ttl) seconds without connected replicas.")
        }
        self.refreshGoodReplicas()
    }

    static let pingName = ByteBuffer(string: "PING")
}

extension Result {
    var isSuccess: Bool {
        if case .success = self { return true }
        return false
    }
}

/// Writes a snapshot straight to the connections of the replicas it is made for (a diskless sync): each chunk joins
/// their outboxes as it is made, the walk slows down while a replica is behind, and the end is the EOF opcode, the
/// CRC-64 and the end mark the replica looks for.
final class ReplicaSyncWriter: RDBChunkWriter {
    unowned(unsafe) let server: ServerState
    var targets: [ClientSession]
    let mark: [UInt8]
    /// The keyspace the snapshot walks, when it is not the server's.
    var source: Keyspace?
    private var crc: UInt64 = 0
    private var size = 0

    init(server: ServerState, targets: [ClientSession], mark: [UInt8]) {
        self.server = server
        self.targets = targets
        self.mark = mark
    }

    /// The replicas still connected and waiting for this RDB.
    private var live: [ClientSession] {
        self.targets.filter { $0.replica?.state == .waitBgsaveEnd && $0.connection != nil }
    }

    var hasLiveTargets: Bool {
        self.targets.contains {
            $0.replica?.state == .waitBgsaveEnd && $0.connection != nil && $0.replica?.attached == true
        }
    }

    func write(_ chunk: [UInt8]) {
        chunk.withUnsafeBytes { self.crc = CRC64.update(self.crc, $0) }
        self.size += chunk.count
        for session in self.live { self.server.push(ByteBuffer(bytes: chunk), to: session) }
    }

    var pendingBytes: Int {
        self.live.reduce(0) { max($0, $1.outbox.readableBytes + $1.outputBufferMemory) }
    }

    func finish(checksum: Bool, completion: @escaping @Sendable (Result<Int, RDBError>) -> Void) {
        var trailer: [UInt8] = [RDBFormat.Opcode.eof.rawValue]
        trailer.withUnsafeBytes { self.crc = CRC64.update(self.crc, $0) }
        let crc = checksum ? self.crc : 0
        for shift in stride(from: 0, to: 64, by: 8) { trailer.append(UInt8(truncatingIfNeeded: crc >> UInt64(shift))) }
        self.size += trailer.count
        trailer += self.mark
        for session in self.live { self.server.push(ByteBuffer(bytes: trailer), to: session) }
        completion(.success(self.size))
    }

    func abort() {}
}
