import NIOCore
import SwiftletConfig
import SwiftletRESP

/// REPLCONF, SYNC, PSYNC and ROLE: the commands a replica (or redis-cli --rdb / --replica) sends to a master, and
/// the role query Sentinel and clients use. The work is in `ServerState+Replication.swift`.
public enum ReplicationCommands {
    // MARK: - REPLCONF

    /// REPLCONF option value [option value ...] — O(1)
    static func replconf(_ context: inout CommandContext) throws(RedisError) {
        // Every option has a value.
        guard context.count % 2 == 1 else { throw RedisError.syntax }
        let server = context.server
        let session = context.session
        var index = 1
        while index < context.count {
            let value = context.arguments[index + 1]
            if context.argument(index, is: "listening-port") {
                let port = try context.integer(index + 1)
                server.replicaLink(session).listeningPort = Int(truncatingIfNeeded: port)
            } else if context.argument(index, is: "ip-address") {
                // NET_HOST_STR_LEN: 256 with the terminating NUL.
                guard value.readableBytes < 256 else {
                    throw RedisError(
                        "ERR REPLCONF ip-address provided by replica instance is too long: \(value.readableBytes) bytes"
                    )
                }
                server.replicaLink(session).announcedAddress = String(buffer: value)
            } else if context.argument(index, is: "capa") {
                // Capabilities this master does not know are ignored.
                let link = server.replicaLink(session)
                if context.argument(index + 1, is: "eof") {
                    link.acceptsEOFMarkedRDB = true
                } else if context.argument(index + 1, is: "psync2") {
                    link.acceptsPSync2 = true
                }
            } else if context.argument(index, is: "ack") {
                // From a replica only, and never answered.
                guard session.replica?.attached == true, let offset = value.int64 else { return }
                server.replicaAcknowledged(session, offset: offset)
                return
            } else if context.argument(index, is: "getack") {
                // Asks a replica for an ACK: from its master, it goes at once. Never answered.
                if session.isMaster, let link = server.masterLink { server.sendAck(link) }
                return
            } else if context.argument(index, is: "rdb-only") {
                let flag = try context.integer(index + 1)
                guard flag == 0 || flag == 1 else {
                    throw RedisError("ERR value is out of range, value must between 0 and 1")
                }
                server.replicaLink(session).rdbOnly = flag == 1
            } else if context.argument(index, is: "rdb-filter-only") {
                guard let filters = ConfigFileParser.splitArguments(String(buffer: value)) else {
                    throw RedisError("ERR Missing rdb-filter-only values")
                }
                let link = server.replicaLink(session)
                // By default everything is filtered out; each filter lets its part in.
                link.excludesData = true
                link.excludesFunctions = true
                for filter in filters {
                    guard filter.lowercased() == "functions" else {
                        throw RedisError("ERR Unsupported rdb-filter-only option: \(filter)")
                    }
                    link.excludesFunctions = false
                }
            } else {
                throw RedisError("ERR Unrecognized REPLCONF option: \(String(buffer: context.arguments[index]))")
            }
            index += 2
        }
        context.out.writeOK()
    }

    // MARK: - SYNC / PSYNC

    /// SYNC — and PSYNC replicationid offset: a full resync (the RDB, then the stream), or with PSYNC the stream
    /// from `offset` when the backlog still holds it.
    static func sync(_ context: inout CommandContext) throws(RedisError) {
        let server = context.server
        let session = context.session
        // A replica's repeated SYNC is ignored.
        if session.replica?.attached == true { return }
        let isPSync = context.argument(0, is: "psync")
        if isPSync && context.count > 3 && context.argument(3, is: "failover") {
            // PSYNC ... FAILOVER: this server's master hands over to it (FAILOVER on the master).
            let id = String(buffer: context.arguments[1])
            server.log("Failover request received for replid \(id).", warning: true)
            guard server.isReplica else { throw RedisError("ERR PSYNC FAILOVER can't be sent to a master.") }
            guard id.lowercased() == server.replication.id else {
                throw RedisError("ERR PSYNC FAILOVER replid must match my replid.")
            }
            server.stopReplicating()
            let client = ConnectionCommands.describe(session, server, now: context.now)
            server.log("MASTER MODE enabled (failover request from '\(client)')")
        }
        if server.replication.failover != nil {
            throw RedisError("NOMASTERLINK Can't SYNC while failing over")
        }
        // A replica serves its history only while it follows its master's.
        if let link = server.masterLink, link.state != .connected {
            throw RedisError("NOMASTERLINK Can't SYNC while not connected with my master")
        }
        // The RDB and the stream must start on an empty output buffer.
        if context.out.buffer.readableBytes > 0 || session.outbox.readableBytes > 0 {
            throw RedisError("ERR SYNC and PSYNC are invalid with pending output")
        }
        let link = server.replicaLink(session)
        if (link.excludesData || link.excludesFunctions) && !link.acceptsEOFMarkedRDB {
            throw RedisError("ERR Filtered replica requires EOF capability")
        }
        server.log("Replica \(server.replicaName(session)) asks for synchronization")
        if isPSync {
            guard let offset = context.arguments[2].int64 else {
                server.log(
                    "Replica \(server.replicaName(session)) asks for synchronization but with a wrong offset",
                    warning: true
                )
                throw RedisError.notInteger
            }
            let id = String(buffer: context.arguments[1])
            if server.tryPartialResync(session, link, id: id, offset: offset) {
                server.replication.partialSyncsAccepted += 1
                return
            }
            if !id.hasPrefix("?") { server.replication.partialSyncsRefused += 1 }
        } else {
            // Old replicas (and redis-cli --replica) send no REPLCONF ACKs and take no +FULLRESYNC line.
            link.prePSync = true
        }
        server.beginFullSync(session, link)
    }

    // MARK: - WAIT

    /// WAIT numreplicas timeout — O(1): blocks until `numreplicas` replicas acknowledged this client's last write, or
    /// `timeout` milliseconds (0: forever) passed; answers how many did.
    static func wait(_ context: inout CommandContext) throws(RedisError) {
        let wanted = try context.integer(1)
        guard let timeout = context.arguments[2].int64 else {
            throw RedisError("ERR timeout is not an integer or out of range")
        }
        guard timeout >= 0 else { throw RedisError("ERR timeout is negative") }
        let server = context.server
        if server.isReplica {
            throw RedisError(
                "ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is "
                    + "configured to be writable (which is not the default) writes to replicas are just local and are "
                    + "not propagated."
            )
        }
        let offset = context.session.replicationOffset
        let acknowledged = server.replicasAcknowledged(offset)
        // Inside MULTI (or a script) a command may not block: it answers at once, as Redis's CLIENT_DENY_BLOCKING.
        if Int64(acknowledged) >= wanted || !context.mayBlock {
            context.out.writeInteger(acknowledged)
            return
        }
        let deadline = timeout > 0 ? context.now &+ timeout : 0
        context.block(
            keys: [],
            deadline: deadline,
            timeoutReply: { $0.out.writeInteger(server.replicasAcknowledged(offset)) },
            serve: { _, _ throws(RedisError) in false }
        )
        server.replication.waiting.append((context.session, offset, wanted))
        server.replication.acknowledgementRequested = true
        server.requestBeforeSleep()
    }

    // MARK: - ROLE

    /// ROLE — O(1): `master`, the replication offset, and each online replica's address, port and acknowledged
    /// offset.
    static func role(_ context: inout CommandContext) throws(RedisError) {
        let server = context.server
        if let link = server.masterLink {
            context.out.writeArrayHeader(5)
            context.out.writeBulkString("slave")
            context.out.writeBulkString(link.host)
            context.out.writeInteger(link.port)
            context.out.writeBulkString(link.roleState)
            context.out.writeInteger(link.state == .connected ? Int(server.replication.offset) : -1)
            return
        }
        let online = server.replication.replicas.compactMap { session -> (String, Int, Int64)? in
            guard let link = session.replica, link.state == .online else { return nil }
            let ip = link.announcedAddress ?? ServerState.host(of: session.address)
            return (ip, link.listeningPort, link.ackOffset)
        }
        context.out.writeArrayHeader(3)
        context.out.writeBulkString("master")
        context.out.writeInteger(Int(server.replication.offset))
        context.out.writeArrayHeader(online.count)
        for (ip, port, offset) in online {
            context.out.writeArrayHeader(3)
            context.out.writeBulkString(ip)
            context.out.writeBulkString(String(port))
            context.out.writeBulkString(String(offset))
        }
    }

    // MARK: - REPLICAOF

    /// REPLICAOF host port | NO ONE (and SLAVEOF) — O(1): replicate from a master, or become a master.
    static func replicaof(_ context: inout CommandContext) throws(RedisError) {
        let server = context.server
        if server.config.get("cluster-enabled") == "yes" {
            throw RedisError("ERR REPLICAOF not allowed in cluster mode.")
        }
        if server.replication.failover != nil {
            throw RedisError("ERR REPLICAOF not allowed while failing over.")
        }
        if context.argument(1, is: "no") && context.argument(2, is: "one") {
            if server.isReplica {
                server.stopReplicating()
                let client = ConnectionCommands.describe(context.session, server, now: context.now)
                server.log("MASTER MODE enabled (user request from '\(client)')")
            }
            context.out.writeOK()
            return
        }
        if context.session.replica?.attached == true {
            throw RedisError("ERR Command is not valid when client is a replica.")
        }
        guard let port = context.arguments[2].int64, port >= 0, port <= 65535 else {
            throw RedisError("ERR Invalid master port")
        }
        let host = String(buffer: context.arguments[1])
        if let link = server.masterLink, link.host.lowercased() == host.lowercased(), link.port == Int(port) {
            server.log(
                "REPLICAOF would result into synchronization with the master we are already connected with. No "
                    + "operation performed."
            )
            context.out.writeSimpleString("OK Already connected to specified master")
            return
        }
        server.replicate(from: host, port: Int(port))
        let client = ConnectionCommands.describe(context.session, server, now: context.now)
        server.log("REPLICAOF \(host):\(port) enabled (user request from '\(client)')")
        context.out.writeOK()
    }

    // MARK: - Table

    static let specs: [CommandSpec] = [
        .init(
            "replconf",
            arity: -1,
            flags: [.admin, .noscript, .loading, .stale, .allowBusy],
            group: "server",
            run: replconf
        ),
        .init("sync", arity: 1, flags: [.admin, .noscript, .noAsyncLoading, .noMulti], group: "server", run: sync),
        .init("psync", arity: -3, flags: [.admin, .noscript, .noAsyncLoading, .noMulti], group: "server", run: sync),
        .init("role", arity: 1, flags: [.noscript, .loading, .stale, .fast], group: "server", run: role),
        .init("wait", arity: 3, flags: [.noscript], group: "generic", run: wait),
        .init(
            "replicaof",
            arity: 3,
            flags: [.admin, .noscript, .stale, .noAsyncLoading],
            group: "server",
            run: replicaof
        ),
        .init("failover", arity: -1, flags: [.admin, .noscript, .stale], group: "server", run: failover),
        .init(
            "slaveof",
            arity: 3,
            flags: [.admin, .noscript, .stale, .noAsyncLoading],
            group: "server",
            run: replicaof
        ),
    ]
}
