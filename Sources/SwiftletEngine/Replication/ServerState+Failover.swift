import NIOCore
import SwiftletConfig
import SwiftletRESP

/// FAILOVER in progress (Redis 7.0's coordinated failover): the master pauses writes, waits for a replica (the one
/// named, or any) to acknowledge the whole stream, then becomes a replica of it with `PSYNC <replid> <offset>
/// FAILOVER`, which makes that replica a master continuing the same history.
final class Failover {
    enum Stage {
        /// Writes are paused; waiting for the target's ACK to reach the offset.
        case waitingForSync
        /// This server replicates from the target; its PSYNC FAILOVER is on its way.
        case inProgress
    }

    var stage = Stage.waitingForSync
    var targetHost: String?
    var targetPort = 0
    /// Monotonic milliseconds after which the wait gives up (or, with FORCE, fails over anyway); 0 waits forever.
    let endTime: Int64
    let force: Bool

    init(targetHost: String?, targetPort: Int, endTime: Int64, force: Bool) {
        self.targetHost = targetHost
        self.targetPort = targetPort
        self.endTime = endTime
        self.force = force
    }

    /// INFO's `master_failover_state`.
    var stateName: String {
        switch self.stage {
        case .waitingForSync: "waiting-for-sync"
        case .inProgress: "failover-in-progress"
        }
    }
}

extension ServerState {
    /// The replica at `host`:`port` (its announced or peer address, and its listening port), as Redis's findReplica.
    func findReplica(host: String, port: Int) -> ClientSession? {
        self.replication.replicas.first { session in
            guard let link = session.replica else { return false }
            let ip = link.announcedAddress ?? Self.host(of: session.address)
            return ip.lowercased() == host.lowercased() && link.listeningPort == port
        }
    }

    /// Starts a failover (the checks are FAILOVER's).
    func startFailover(to target: (host: String, port: Int)?, timeoutMilliseconds: Int64, force: Bool) {
        let now = self.monotonicMicroseconds() / 1000
        let failover = Failover(
            targetHost: target?.host,
            targetPort: target?.port ?? 0,
            endTime: timeoutMilliseconds > 0 ? now &+ timeoutMilliseconds : 0,
            force: force
        )
        self.pauseWritesIndefinitely()
        self.replication.failover = failover
        if let target {
            self.log("FAILOVER requested to \(target.host):\(target.port).")
        } else {
            self.log("FAILOVER requested to any replica.")
        }
    }

    /// From the cron and after each ACK (Redis's updateFailoverStatus): the wait times out, or a replica caught up
    /// and this server becomes its replica.
    func updateFailoverStatus() {
        guard let failover = self.replication.failover, failover.stage == .waitingForSync else { return }
        let r = self.replication
        if failover.endTime > 0 && failover.endTime <= self.monotonicMicroseconds() / 1000 {
            if failover.force, let host = failover.targetHost {
                self.log("FAILOVER to \(host):\(failover.targetPort) time out exceeded, failing over.")
                failover.stage = .inProgress
                self.replicate(from: host, port: failover.targetPort)
            } else {
                self.abortFailover("Replica never caught up before timeout")
            }
            return
        }
        let replica: ClientSession?
        if let host = failover.targetHost {
            replica = self.findReplica(host: host, port: failover.targetPort)
        } else {
            replica = r.replicas.first { $0.replica?.ackOffset == r.offset }
            if let replica, let link = replica.replica {
                failover.targetHost = link.announcedAddress ?? Self.host(of: replica.address)
                failover.targetPort = link.listeningPort
            }
        }
        guard let replica, replica.replica?.ackOffset == r.offset, let host = failover.targetHost else { return }
        failover.stage = .inProgress
        self.log("Failover target \(host):\(failover.targetPort) is synced, failing over.")
        self.replicate(from: host, port: failover.targetPort)
    }

    /// The failover ended (the target took over, or it was aborted): writes go on.
    func clearFailover() {
        guard self.replication.failover != nil else { return }
        self.replication.failover = nil
        self.releaseWritePause()
    }

    /// Ends a failover that cannot go on (Redis's abortFailover): a server already replicating from the target
    /// becomes a master again.
    func abortFailover(_ reason: String) {
        guard let failover = self.replication.failover else { return }
        if let host = failover.targetHost {
            self.log("FAILOVER to \(host):\(failover.targetPort) aborted: \(reason)")
        } else {
            self.log("FAILOVER to any replica aborted: \(reason)")
        }
        if failover.stage == .inProgress { self.stopReplicating() }
        self.clearFailover()
    }

    /// Whether the PSYNC this server sends asks its master to take over (FAILOVER in progress).
    var failoverInProgress: Bool { self.replication.failover?.stage == .inProgress }
}

extension ReplicationCommands {
    /// FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT milliseconds] — O(1)
    static func failover(_ context: inout CommandContext) throws(RedisError) {
        let server = context.server
        if server.config.get("cluster-enabled") == "yes" {
            throw RedisError("ERR FAILOVER not allowed in cluster mode. Use CLUSTER FAILOVER command instead.")
        }
        if context.count == 2 && context.argument(1, is: "abort") {
            guard server.replication.failover != nil else { throw RedisError("ERR No failover in progress.") }
            server.abortFailover("Failover manually aborted")
            context.out.writeOK()
            return
        }
        var timeout: Int64 = 0
        var force = false
        var target: (host: String, port: Int)?
        var index = 1
        while index < context.count {
            if context.argument(index, is: "timeout") && index + 1 < context.count && timeout == 0 {
                timeout = try context.integer(index + 1)
                guard timeout > 0 else { throw RedisError("ERR FAILOVER timeout must be greater than 0") }
                index += 2
            } else if context.argument(index, is: "to") && index + 2 < context.count && target == nil {
                let port = try context.integer(index + 2)
                target = (String(buffer: context.arguments[index + 1]), Int(truncatingIfNeeded: port))
                index += 3
            } else if context.argument(index, is: "force") && !force {
                force = true
                index += 1
            } else {
                throw RedisError.syntax
            }
        }
        if server.replication.failover != nil { throw RedisError("ERR FAILOVER already in progress.") }
        if server.isReplica { throw RedisError("ERR FAILOVER is not valid when server is a replica.") }
        if server.replication.replicas.isEmpty { throw RedisError("ERR FAILOVER requires connected replicas.") }
        if force && (timeout == 0 || target == nil) {
            throw RedisError("ERR FAILOVER with force option requires both a timeout and target HOST and IP.")
        }
        if let target {
            guard let replica = server.findReplica(host: target.host, port: target.port) else {
                throw RedisError("ERR FAILOVER target HOST and PORT is not a replica.")
            }
            guard replica.replica?.state == .online else {
                throw RedisError("ERR FAILOVER target replica is not online.")
            }
        }
        server.startFailover(to: target, timeoutMilliseconds: timeout, force: force)
        context.out.writeOK()
    }
}
