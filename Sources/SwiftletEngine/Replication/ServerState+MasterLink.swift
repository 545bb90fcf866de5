public import NIOCore
import SwiftletConfig
import SwiftletKeyspace
import SwiftletPersistence
import SwiftletRESP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The replica side of replication (Redis's replication.c, replica half): REPLICAOF connects to a master, the
/// handshake (PING, AUTH, REPLCONF, PSYNC) asks to continue this server's history or gets an RDB, and the master's
/// stream is then run by a client of its own, its bytes fed unchanged to this server's backlog and sub-replicas.
extension ServerState {
    /// Whether this server is a replica (Redis's `server.masterhost != NULL`).
    public var isReplica: Bool { self.masterLink != nil }

    // MARK: - REPLICAOF

    /// REPLICAOF host port (Redis's replicationSetMaster): a new link, connected at once. A master keeps its
    /// replication id and offset as the history to continue (PSYNC with them); a replica that had a master keeps the
    /// history it had. Sub-replicas stay: they are dropped once the history changes.
    public func replicate(from host: String, port: Int) {
        let wasMaster = self.masterLink == nil
        var history = wasMaster
        var database = 0
        if let old = self.masterLink {
            history = old.hasHistory || old.state == .connected
            database = old.session?.database ?? old.streamDatabase
            self.closeMasterConnection(old)
        }
        let link = MasterLink(host: host, port: port)
        link.hasHistory = history
        link.streamDatabase = database
        self.becomeReplica(link)
        self.log("Connecting to MASTER \(host):\(port)")
        self.connectToMaster(link)
    }

    /// The `replicaof` directive at startup: the cron connects within a second, and without a replication history
    /// the first PSYNC asks for a full sync (`PSYNC ? -1`), as Redis.
    public func replicateFromConfig() {
        let words = (self.config.get("replicaof") ?? "").split(separator: " ")
        guard words.count == 2, let port = Int(words[1]), self.masterLink == nil else { return }
        let link = MasterLink(host: String(words[0]), port: port)
        if let database = self.replication.restoredStreamDatabase {
            // Restarted from an RDB that says where this replica's stream stood: PSYNC continues it.
            link.hasHistory = true
            link.streamDatabase = database
            self.replication.restoredStreamDatabase = nil
        }
        self.becomeReplica(link)
    }

    /// The replication fields of an RDB loaded at startup (Redis's loadDataFromDisk): a replica continues that history
    /// with its master; a master keeps it as its second id, so that its replicas continue after its restart.
    func restoreReplicationInfo(_ aux: [String: String], expiredAtLoad: [(Int, [UInt8])] = []) {
        guard let id = aux["repl-id"], id.utf8.count == 40,
            let offset = aux["repl-offset"].flatMap({ Int64($0) }), offset >= 0, offset <= Int64.max / 2,
            let database = aux["repl-stream-db"].flatMap({ Int($0) }), database != -1
        else { return }
        let r = self.replication
        if (self.config.get("replicaof") ?? "").isEmpty {
            r.secondID = id
            r.secondOffset = offset + 1
            r.offset = offset
            self.createReplicationBacklog(newHistory: false)
            r.noReplicasSince = self.clock() / 1000
            // The keys that expired while the server was down are deleted in the stream, so that its replicas, which
            // keep expired keys until told, delete them too (Redis loads with RDBFLAGS_FEED_REPL).
            for (database, key) in expiredAtLoad {
                key.withUnsafeBytes { self.propagateDeletion(database: database, key: $0) }
                self.commitWrites()
            }
        } else {
            r.id = id
            r.offset = offset
            r.restoredStreamDatabase = database
        }
    }

    /// What an RDB saves of the replication history (Redis's rdbPopulateSaveInfo): a master's once it has a backlog,
    /// a replica's while it has (or remembers) a master; nil otherwise.
    var replicationSaveInfo: RDBWriter.ReplicationInfo? {
        let r = self.replication
        guard let link = self.masterLink else {
            guard r.backlog != nil else { return nil }
            return .init(streamDatabase: max(0, r.selectedDatabase), id: r.id, offset: r.offset)
        }
        if let session = link.session { return .init(streamDatabase: session.database, id: r.id, offset: r.offset) }
        guard link.hasHistory else { return nil }
        return .init(streamDatabase: link.streamDatabase, id: r.id, offset: r.offset)
    }

    private func becomeReplica(_ link: MasterLink) {
        // Clients blocked on keys would be served by the master's stream, changing the replica's data: they are let
        // go with an error and closed after it, as Redis's disconnectAllBlockedClients.
        for session in self.blocking.blocked.values.map(\.session) {
            self.blocking.unblock(session, reason: .roleChange, server: self)
        }
        self.masterLink = link
        // The stream is the master's from now on: this server's own writes go to its AOF only.
        self.setWriteStreamConsumer(self.replication, attached: false)
        self.keyspace.keepsExpiredKeys = true
        try? self.config.setFromConfigFile("replicaof", [link.host, String(link.port)])
        self.host?.roleChanged(replica: true)
    }

    /// REPLICAOF NO ONE (Redis's replicationUnsetMaster): the link goes, the master's history becomes the second id
    /// (valid up to the current offset) and a new id starts, so that the other replicas of the old master can
    /// continue from this one; sub-replicas are dropped to learn the new id.
    public func stopReplicating() {
        guard let link = self.masterLink else { return }
        if link.hasHistory && link.state != .connected { self.log("Discarding previously cached master state.") }
        self.closeMasterConnection(link)
        self.masterLink = nil
        self.host?.roleChanged(replica: false)
        self.keyspace.keepsExpiredKeys = false
        self.keyspace.replicaKeysWithExpire = []
        try? self.config.setFromConfigFile("replicaof", ["no", "one"])
        let r = self.replication
        r.secondID = r.id
        r.secondOffset = r.offset + 1
        r.id = ReplicationState.randomID()
        self.log(
            "Setting secondary replication ID to \(r.secondID), valid up to offset: \(r.secondOffset). "
                + "New replication ID is \(r.id)"
        )
        self.disconnectReplicas()
        r.selectedDatabase = -1
        r.noReplicasSince = self.clock() / 1000
        if r.backlog != nil { self.setWriteStreamConsumer(r, attached: true) }
    }

    /// Drops every replica of this server (they come back and learn the new history).
    func disconnectReplicas() {
        for session in self.replication.replicas { session.connection?.close() }
    }

    // MARK: - The connection

    private func connectToMaster(_ link: MasterLink) {
        let timeout = max(1, self.config.number("repl-timeout"))
        link.lastIO = self.clock() / 1000
        guard
            let transport = self.host?.connectToMaster(
                host: link.host,
                port: link.port,
                timeoutSeconds: timeout,
                events: self
            )
        else {
            self.log("Unable to connect to MASTER: this server has no network transport", warning: true)
            return
        }
        link.transport = transport
        link.state = .connecting
        self.log("MASTER <-> REPLICA sync started")
    }

    /// Closes the link's connection and drops what it was doing (the handshake, the RDB's temporary file, the
    /// master's client). The link's state is left to the caller.
    private func closeMasterConnection(_ link: MasterLink) {
        link.transport?.close()
        link.transport = nil
        link.awaiting = []
        self.abortTransfer(link)
        if let session = link.session {
            link.session = nil
            link.context = nil
            session.connection = nil
            self.disconnect(session)
        }
        link.unapplied = 0
        link.held = []
        link.parser = RESPRequestParser()
    }

    /// INFO's `loading` and `async_loading` while a diskless load's transfer runs.
    public var replicaLoading: (loading: Bool, async: Bool) {
        guard let link = self.masterLink, link.state == .transfer, link.disklessLoad, link.transferStarted else {
            return (false, false)
        }
        return (!link.asyncLoading, link.asyncLoading)
    }

    private func abortTransfer(_ link: MasterLink) {
        if link.transferFile >= 0 {
            close(link.transferFile)
            unlink(link.transferPath)
        }
        link.transferFile = -1
        link.transferSize = -1
        link.endMark = nil
        link.transferRead = 0
        link.transferTail = []
        link.disklessLoad = false
        link.asyncLoading = false
    }

    /// The handshake or the transfer failed (Redis's cancelReplicationHandshake): the cron connects again.
    private func retryMasterLater(_ link: MasterLink) {
        self.closeMasterConnection(link)
        link.state = .connect
    }

    /// The link to the master dropped (the connection closed, a timeout, CLIENT KILL TYPE master). A link that was
    /// up keeps its replication id and offset, so that the next PSYNC continues (Redis's cached master).
    func masterLinkLost(reason: String) {
        guard let link = self.masterLink else { return }
        let wasConnected = link.state == .connected
        if wasConnected {
            self.log("Connection with master lost.")
            self.log("Caching the disconnected master state.")
            link.hasHistory = true
            link.streamDatabase = link.session?.database ?? 0
            link.downSince = self.clock() / 1000
        } else if link.state == .transfer {
            self.log("I/O error trying to sync with MASTER: \(reason)", warning: true)
        } else if link.state == .connecting {
            self.log("Error condition on socket for SYNC: \(reason)", warning: true)
        } else if link.state == .handshake {
            self.log("Master closed the connection during the handshake: \(reason)", warning: true)
        }
        self.retryMasterLater(link)
        if wasConnected {
            // At once rather than at the next cron, as Redis's replicationHandleMasterDisconnection.
            self.log("Reconnecting to MASTER \(link.host):\(link.port)")
            self.connectToMaster(link)
        }
    }

    // MARK: - The handshake

    private func send(_ link: MasterLink, _ commands: [[String]]) {
        var out = RESPReplyWriter(buffer: ByteBuffer())
        for command in commands {
            out.writeArrayHeader(command.count)
            for argument in command { out.writeBulkString(argument) }
        }
        link.transport?.send(out.buffer)
    }

    /// The master answered PING: AUTH (with `masterauth`), where this replica listens, and what it can take, in one
    /// write; the replies are read in order.
    private func sendHandshake(_ link: MasterLink) {
        var commands: [[String]] = []
        if let password = self.config.get("masterauth"), !password.isEmpty {
            if let user = self.config.get("masteruser"), !user.isEmpty {
                commands.append(["AUTH", user, password])
            } else {
                commands.append(["AUTH", password])
            }
            link.awaiting.append(.auth)
        }
        let announcedPort = self.config.number("replica-announce-port")
        let port = announcedPort != 0 ? Int(announcedPort) : self.boundPort
        commands.append(["REPLCONF", "listening-port", String(port)])
        link.awaiting.append(.port)
        if let ip = self.config.get("replica-announce-ip"), !ip.isEmpty {
            commands.append(["REPLCONF", "ip-address", ip])
            link.awaiting.append(.ip)
        }
        commands.append(["REPLCONF", "capa", "eof", "capa", "psync2"])
        link.awaiting.append(.capa)
        self.send(link, commands)
    }

    /// PSYNC with this server's replication id and next offset when it has a history to continue, else `? -1`.
    private func sendPSync(_ link: MasterLink) {
        let r = self.replication
        if link.hasHistory {
            self.log("Trying a partial resynchronization (request \(r.id):\(r.offset + 1)).")
            // During a FAILOVER the request also tells the target to take over as master.
            let failover = self.failoverInProgress ? ["FAILOVER"] : []
            self.send(link, [["PSYNC", r.id, String(r.offset + 1)] + failover])
        } else {
            self.log("Partial resynchronization not possible (no cached master)")
            self.send(link, [["PSYNC", "?", "-1"]])
        }
        link.awaiting = [.psync]
    }

    /// One line of the master's replies during the handshake.
    private func handshakeReply(_ link: MasterLink, _ line: String) {
        guard let expected = link.awaiting.first else { return }
        if expected == .psync {
            self.psyncReply(link, line)
            return
        }
        link.awaiting.removeFirst()
        let error = line.hasPrefix("-")
        switch expected {
        case .ping:
            // An error about authentication is fine: AUTH comes next.
            if error && !line.hasPrefix("-NOAUTH") && !line.hasPrefix("-NOPERM")
                && !line.hasPrefix("-ERR operation not permitted")
            {
                self.log("Error reply to PING from master: '\(line)'", warning: true)
                self.retryMasterLater(link)
                return
            }
            self.log("Master replied to PING, replication can continue...")
            self.sendHandshake(link)
            return
        case .auth:
            if error {
                self.log("Unable to AUTH to MASTER: \(line)", warning: true)
                self.retryMasterLater(link)
                return
            }
        case .port:
            if error { self.log("(Non critical) Master does not understand REPLCONF listening-port: \(line)") }
        case .ip:
            if error { self.log("(Non critical) Master does not understand REPLCONF ip-address: \(line)") }
        case .capa:
            if error { self.log("(Non critical) Master does not understand REPLCONF capa: \(line)") }
        case .psync:
            break
        }
        if link.awaiting.isEmpty { self.sendPSync(link) }
    }

    private func psyncReply(_ link: MasterLink, _ line: String) {
        // The master may send newlines while it prepares its answer.
        if line.isEmpty { return }
        let r = self.replication
        if line.hasPrefix("+FULLRESYNC") {
            let words = line.split(separator: " ")
            guard words.count >= 3, words[1].utf8.count == 40, let offset = Int64(words[2]), offset >= 0,
                offset <= Int64.max / 2
            else {
                self.log("Master replied with wrong +FULLRESYNC syntax.", warning: true)
                self.retryMasterLater(link)
                return
            }
            link.masterID = String(words[1])
            link.initialOffset = offset
            self.log("Full resync from master: \(link.masterID):\(offset)")
            // The history stays until the RDB is loaded: a transfer that fails can still be followed by a PSYNC.
            if self.failoverInProgress { self.clearFailover() }
            link.awaiting = []
            link.state = .transfer
            link.transferLastIO = self.clock() / 1000
            return
        }
        if line.hasPrefix("+CONTINUE") {
            self.log("Successful partial resynchronization with master.")
            let newID = line.dropFirst("+CONTINUE".count).split(separator: " ").first.map(String.init) ?? ""
            if newID.utf8.count == 40 && newID != r.id {
                // The master's history continues ours under a new id: ours becomes the second one.
                r.secondID = r.id
                r.secondOffset = r.offset + 1
                r.id = newID
                self.log("Master replication ID changed to \(newID)")
                self.disconnectReplicas()
            }
            self.log("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.")
            link.awaiting = []
            if self.failoverInProgress { self.clearFailover() }
            self.attachMasterClient(link)
            return
        }
        if self.failoverInProgress {
            self.abortFailover("Failover target rejected psync request")
            return
        }
        if line.hasPrefix("-NOMASTERLINK") || line.hasPrefix("-LOADING") {
            self.log("Master is currently unable to PSYNC but should be in the future: \(line)")
        } else {
            self.log("Unexpected reply to PSYNC from master: \(line)", warning: true)
        }
        self.retryMasterLater(link)
    }

    // MARK: - The RDB

    /// Takes payload bytes (after the `$<length>` or `$EOF:<mark>` line) into the temporary file; once the payload is
    /// complete it is loaded. Returns whether to go on with the rest of `buffer`.
    private func receiveTransfer(_ link: MasterLink, _ buffer: inout ByteBuffer) -> Bool {
        let now = self.clock() / 1000
        if !link.transferStarted {
            guard let line = Self.readLine(&buffer) else { return false }
            // Newlines keep the link alive while the master prepares the RDB.
            if line.isEmpty {
                link.transferLastIO = now
                return true
            }
            if line.hasPrefix("-") {
                self.log("MASTER aborted replication with an error: \(line.dropFirst())", warning: true)
                self.retryMasterLater(link)
                return false
            }
            guard line.hasPrefix("$") else {
                self.log(
                    "Bad protocol from MASTER, the first byte is not '$' (we received '\(line)'), are you sure the "
                        + "host and port are right?",
                    warning: true
                )
                self.retryMasterLater(link)
                return false
            }
            let mode = self.config.get("repl-diskless-load") ?? "disabled"
            let empty = self.keyspace.databases.allSatisfy { $0.count == 0 }
            link.disklessLoad = mode == "swapdb" || (mode == "on-empty-db" && empty)
            // Redis keeps serving the old data only when it is an earlier point of the same history.
            link.asyncLoading = link.disklessLoad && mode == "swapdb" && link.masterID == self.replication.id
            let target = link.disklessLoad ? "to parser" : "to disk"
            if line.hasPrefix("$EOF:") && line.utf8.count >= 45 {
                link.endMark = Array(line.utf8.dropFirst(5).prefix(40))
                self.log("MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF \(target)")
            } else if let size = Int64(line.dropFirst()), size >= 0 {
                link.transferSize = size
                self.log("MASTER <-> REPLICA sync: receiving \(size) bytes from master \(target)")
            } else {
                self.log("Bad protocol from MASTER: '\(line)'", warning: true)
                self.retryMasterLater(link)
                return false
            }
            link.transferPath = AOFFile.join(
                self.config.workingDirectory.current(),
                "temp-\(now).\(getpid()).rdb"
            )
            link.transferFile = open(link.transferPath, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0o644)
            guard link.transferFile >= 0 else {
                self.log(
                    "Opening the temp file needed for MASTER <-> REPLICA synchronization: "
                        + String(cString: strerror(errno)),
                    warning: true
                )
                self.retryMasterLater(link)
                return false
            }
            link.transferLastIO = now
            if link.disklessLoad { self.log("MASTER <-> REPLICA sync: Loading DB in memory") }
            return true
        }
        var count = buffer.readableBytes
        if link.endMark == nil { count = min(count, Int(link.transferSize - link.transferRead)) }
        let written = buffer.withUnsafeReadableBytes { raw -> Bool in
            var done = 0
            while done < count {
                let n = write(link.transferFile, raw.baseAddress! + done, count - done)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return false }
                done += n
            }
            if link.endMark != nil {
                link.transferTail = Array((link.transferTail + raw[(max(0, count - 40))..<count]).suffix(40))
            }
            return true
        }
        guard written else {
            self.log(
                "Write error or short write writing to the DB dump file needed for MASTER <-> REPLICA "
                    + "synchronization: \(String(cString: strerror(errno)))",
                warning: true
            )
            self.retryMasterLater(link)
            return false
        }
        buffer.moveReaderIndex(forwardBy: count)
        link.transferRead += Int64(count)
        link.transferLastIO = now
        let complete: Bool
        if let mark = link.endMark {
            complete = link.transferTail == mark
            if complete { _ = ftruncate(link.transferFile, off_t(link.transferRead - 40)) }
        } else {
            complete = link.transferRead == link.transferSize
        }
        guard complete else { return false }
        self.loadTransferredRDB(link)
        return self.masterLink === link && link.state == .connected
    }

    /// The whole RDB is here (Redis's readSyncBulkPayload, disk load): it becomes `dbfilename`, replaces the dataset,
    /// and this server continues the master's history from the `+FULLRESYNC` offset.
    private func loadTransferredRDB(_ link: MasterLink) {
        _ = fsync(link.transferFile)
        close(link.transferFile)
        link.transferFile = -1
        let temp = link.transferPath
        let diskless = link.disklessLoad
        let swapdb = diskless && self.config.get("repl-diskless-load") == "swapdb"
        // A diskless load leaves the dump file alone (Redis parses from the socket); a disk load keeps the master's
        // RDB as `dbfilename`.
        defer { if diskless { unlink(temp) } }
        if swapdb {
            // The old data and history survive a payload that does not load (Redis loads into a temporary database
            // and swaps only on success): the file is read once apart first.
            do {
                let scratch = Keyspace(databases: self.keyspace.databases.count)
                _ = try RDBReader.load(path: temp, into: scratch, now: self.clock(), keepExpired: true)
            } catch {
                self.log("Failed trying to load the MASTER synchronization DB from socket, check server logs.")
                self.log("\(error)", warning: true)
                self.retryMasterLater(link)
                return
            }
        }
        // The data is replaced now: the history kept for a PSYNC goes, and replicas of this server follow a
        // history that is being replaced (Redis's replicationAttachToNewMaster). A running AOF rewrite is of the old
        // data: it stops, and a new one starts after the load.
        if link.hasHistory { self.log("Discarding previously cached master state.") }
        link.hasHistory = false
        self.disconnectReplicas()
        self.cancelBackgroundSave()
        if self.aof.isOn { self.cancelAppendOnlyRewrite() }
        let path = diskless ? temp : self.rdbPath
        if !diskless && rename(temp, path) != 0 {
            self.log(
                "Failed trying to rename the temp DB into \(path) in MASTER <-> REPLICA synchronization: "
                    + String(cString: strerror(errno)),
                warning: true
            )
            unlink(temp)
            self.retryMasterLater(link)
            return
        }
        let step = swapdb ? "Swapping active DB with loaded DB" : "Flushing old data"
        self.log("MASTER <-> REPLICA sync: \(step)")
        self.emptyDataForSync()
        if !diskless { self.log("MASTER <-> REPLICA sync: Loading DB in memory") }
        let started = self.monotonicMicroseconds()
        do {
            let summary = try RDBReader.load(path: path, into: self.keyspace, now: self.clock(), keepExpired: true)
            try self.loadFunctions(summary.functions)
            link.streamDatabase = summary.aux["repl-stream-db"].flatMap { Int($0) }.map { max(0, $0) } ?? 0
            self.persistence.loadKeysLoaded = summary.keysLoaded
            self.persistence.loadKeysExpired = summary.expiredKeysSkipped
            self.log("Done loading RDB, keys loaded: \(summary.keysLoaded), keys expired: 0.")
        } catch {
            self.log("Failed trying to load the MASTER synchronization DB from disk, check server logs.", warning: true)
            self.log("\(error)", warning: true)
            self.keyspace.removeAll()
            self.retryMasterLater(link)
            return
        }
        let seconds = Double(self.monotonicMicroseconds() - started) / 1_000_000
        self.persistence.notice("RDB loaded from the master in \(Self.fixed3(seconds)) seconds")
        let r = self.replication
        r.id = link.masterID
        r.offset = link.initialOffset
        r.secondID = String(repeating: "0", count: 40)
        r.secondOffset = -1
        // A new history: the backlog starts at the RDB's offset.
        self.createReplicationBacklog(newHistory: false)
        self.attachMasterClient(link)
        self.log("MASTER <-> REPLICA sync: Finished with success")
        if self.aof.isOn {
            // The AOF must hold the new dataset: it is rewritten from it, as Redis restarts its AOF after a sync.
            _ = self.requestAppendOnlyRewrite()
        }
    }

    /// The dataset goes before a full sync's load, as FLUSHALL (Redis's emptyData → signalFlushedDb): WATCHed keys are
    /// touched and tracking clients told to drop everything.
    private func emptyDataForSync() {
        for db in self.keyspace.databases where db.count > 0 {
            self.touchAllWatched(database: db.index) { db.peek($0) != nil }
        }
        let nobody = ClientSession(id: -1, address: "", localAddress: "", fileDescriptor: -1, now: self.clock())
        var context = CommandContext(session: nobody, server: self, out: ByteBuffer())
        self.trackingInvalidateAll(context: &context)
        self.keyspace.removeAll()
    }

    /// The master's client is made and the stream flows (after a full sync's load, or a PSYNC that continued); the
    /// first ACK goes at once, which starts the stream on a master that held it.
    private func attachMasterClient(_ link: MasterLink) {
        let session = self.connect(address: "\(link.host):\(link.port)", localAddress: "", fileDescriptor: -1)
        session.isMaster = true
        session.authenticated = true
        session.database = link.streamDatabase
        let connection = MasterClientConnection(server: self)
        connection.session = session
        session.connection = connection
        link.session = session
        link.context = CommandContext(session: session, server: self, out: ByteBuffer())
        var limits = RESPRequestLimits()
        // The master's arguments are not held to proto-max-bulk-len, as in Redis.
        limits.maxBulkLength = Int(Int32.max) * 2
        link.parser = RESPRequestParser(limits: limits)
        link.unapplied = 0
        link.state = .connected
        link.downSince = 0
        if self.replication.backlog == nil { self.createReplicationBacklog(newHistory: false) }
        self.sendAck(link)
    }

    /// REPLCONF ACK <offset>: where this replica stands in the stream (once a second, and when the master asks).
    func sendAck(_ link: MasterLink) {
        guard link.state == .connected else { return }
        self.send(link, [["REPLCONF", "ACK", String(self.replication.offset + Int64(link.pendingFeed))]])
    }

    // MARK: - The stream

    /// Runs the master's commands as they arrive, each as the master's client, and feeds the applied bytes unchanged
    /// to this server's backlog and sub-replicas (Redis 7.0's replicationFeedStreamFromMasterStream), so that the
    /// offsets stay the master's. Inside a MULTI the offset does not move until its EXEC (Redis moves `reploff` only
    /// outside a transaction): a link that drops mid-transaction loses the queue with the master's client, and the
    /// PSYNC from the last whole unit gets the transaction again.
    private func applyMasterStream(_ link: MasterLink, _ buffer: inout ByteBuffer) {
        guard let session = link.session, var context = link.context else { return }
        link.context = nil
        // The bytes as they arrived (a copy of the buffer's view, not of its storage): what was applied is fed from
        // here once the reader index has moved past it.
        let arrived = buffer
        var consumed = 0
        var committed = 0
        link.pendingFeed = 0
        var protocolError = false
        self.beginBatch()
        self.keyspace.expiredKeysVisible = true
        while buffer.readableBytes > 0 && self.masterLink === link && link.session === session {
            let start = buffer.readerIndex
            let complete: Bool
            do {
                complete = try link.parser.next(from: &buffer, into: &context.arguments)
            } catch {
                self.log("Protocol error from MASTER: \(error.reason)", warning: true)
                protocolError = true
                break
            }
            // Blank lines and `*0` skipped before a command (or a partial one) count too.
            consumed += buffer.readerIndex - start
            guard complete else { break }
            self.execute(&context)
            context.arguments.removeAllArguments()
            context.out.buffer.clear()
            if !session.transaction.active {
                committed = consumed
                // What an ACK sent now reports (GETACK, answered while this read runs).
                link.pendingFeed = link.held.count + committed
            }
        }
        self.keyspace.expiredKeysVisible = false
        self.feedApplied(arrived, link: link, consumed: consumed, committed: committed)
        self.endBatch()
        if protocolError {
            self.masterLinkLost(reason: "protocol error")
            return
        }
        if self.masterLink === link && link.session === session {
            link.context = context
            link.unapplied = buffer.readableBytes
        }
    }

    /// The bytes applied up to the last whole unit join the backlog and go to the sub-replicas, and the offset moves;
    /// the rest (an open MULTI) waits in `held` for its EXEC.
    private func feedApplied(_ arrived: ByteBuffer, link: MasterLink, consumed: Int, committed: Int) {
        link.pendingFeed = 0
        // Applied is applied: even when the link dropped meanwhile, the offset must count it before the next PSYNC.
        if committed > 0, let bytes = arrived.getBytes(at: arrived.readerIndex, length: committed) {
            self.replication.feed(link.held.isEmpty ? bytes : link.held + bytes)
            link.held = []
        }
        guard self.masterLink === link, link.session != nil else {
            // The open transaction went with the master's client.
            link.held = []
            return
        }
        if consumed > committed,
            let rest = arrived.getBytes(at: arrived.readerIndex + committed, length: consumed - committed)
        {
            link.held += rest
        }
    }

    static func readLine(_ buffer: inout ByteBuffer) -> String? {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        let length = newline - buffer.readerIndex
        var line = buffer.readBytes(length: length)!  // found within the readable bytes
        buffer.moveReaderIndex(forwardBy: 1)
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        return String(decoding: line, as: UTF8.self)
    }

    // MARK: - Cron

    /// Once a second (Redis's replicationCron, replica half): connects when the link is down, times out a
    /// connection, handshake, transfer or stream that went quiet for `repl-timeout`, and sends the ACK.
    func masterLinkCron() {
        guard let link = self.masterLink else { return }
        self.expireReplicaKeys()
        let now = self.clock() / 1000
        let timeout = max(1, self.config.number("repl-timeout"))
        switch link.state {
        case .connecting, .handshake:
            if now - link.lastIO > timeout {
                self.log("Timeout connecting to the MASTER...", warning: true)
                self.retryMasterLater(link)
            }
        case .transfer:
            if now - link.transferLastIO > timeout {
                self.log(
                    "Timeout receiving bulk data from MASTER... If the problem persists try to set the "
                        + "'repl-timeout' parameter in redis.conf to a larger value.",
                    warning: true
                )
                self.retryMasterLater(link)
            }
        case .connected:
            if now - link.lastIO > timeout {
                self.log("MASTER timeout: no data nor PING received...", warning: true)
                self.masterLinkLost(reason: "timeout")
            }
        case .connect:
            break
        }
        if link.state == .connect {
            self.log("Connecting to MASTER \(link.host):\(link.port)")
            self.connectToMaster(link)
        }
        if link.state == .connected { self.sendAck(link) }
    }

    /// A writable replica deletes the keys its own clients gave a TTL once expired (Redis's expireSlaveKeys); keys
    /// gone or without a TTL any more are forgotten.
    private func expireReplicaKeys() {
        guard !self.keyspace.replicaKeysWithExpire.isEmpty, !self.isPaused else { return }
        let now = self.clock()
        var kept = Set<ReplicaExpiringKey>()
        for tracked in self.keyspace.replicaKeysWithExpire where tracked.database < self.keyspace.databases.count {
            let db = self.keyspace[tracked.database]
            let expired = tracked.key.withUnsafeBytes { key -> Bool? in
                guard let entry = db.peek(key), entry.hasExpire else { return nil }
                return db.expireIfDue(key, now: now)
            }
            if expired == false { kept.insert(tracked) }
        }
        self.keyspace.replicaKeysWithExpire = kept
    }

    // MARK: - Refusals

    /// READONLY (a write on a read-only replica) and MASTERDOWN (a command without the stale flag while the link is
    /// down and `replica-serve-stale-data` is no), as Redis's processCommand.
    func refusedAsReplica(_ id: Int, _ context: inout CommandContext) -> Bool {
        let error: RedisError
        let flags = id == self.table.execID ? context.session.transaction.queue.flags : self.effectiveFlags(id, context)
        if flags.contains(.write) && self.config.bool("replica-read-only") {
            error = .readOnlyReplica
        } else if self.masterLink?.state != .connected && !self.table.commands[id].flags.contains(.stale)
            && !self.config.bool("replica-serve-stale-data")
        {
            error = .masterDown
        } else if case let loading = self.replicaLoading, loading.loading || loading.async,
            loading.async
                ? self.table.commands[id].flags.contains(.noAsyncLoading)
                : !self.table.commands[id].flags.contains(.loading)
        {
            error = .loading
        } else {
            return false
        }
        self.table.stats[id].rejectedCalls += 1
        if id == self.table.execID {
            self.endTransaction(context.session)
            self.reply(RedisError.execAbort(because: error), &context)
            return true
        }
        if context.session.transaction.active { context.session.transaction.rejected = true }
        self.reply(error, &context)
        return true
    }
}

extension ServerState: MasterLinkEvents {
    private func current(_ transport: any MasterTransport) -> MasterLink? {
        guard let link = self.masterLink, link.transport === transport else { return nil }
        return link
    }

    public func masterConnected(_ transport: any MasterTransport) {
        guard let link = self.current(transport), link.state == .connecting else { return }
        self.log("Non blocking connect for SYNC fired the event.")
        link.state = .handshake
        link.lastIO = self.clock() / 1000
        link.awaiting = [.ping]
        self.send(link, [["PING"]])
    }

    public func masterReceived(_ transport: any MasterTransport, _ buffer: inout ByteBuffer) {
        guard let link = self.current(transport) else {
            buffer.clear()
            return
        }
        link.lastIO = self.clock() / 1000
        while buffer.readableBytes > 0 && self.masterLink === link && link.transport === transport {
            switch link.state {
            case .handshake:
                guard let line = Self.readLine(&buffer) else { return }
                self.handshakeReply(link, line)
            case .transfer:
                guard self.receiveTransfer(link, &buffer) else { return }
            case .connected:
                self.applyMasterStream(link, &buffer)
                return
            case .connect, .connecting:
                buffer.clear()
                return
            }
        }
    }

    public func masterClosed(_ transport: any MasterTransport, reason: String) {
        guard self.current(transport) != nil else { return }
        self.masterLinkLost(reason: reason)
    }
}
