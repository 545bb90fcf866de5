import NIOCore
import SwiftletConfig
import SwiftletKeyspace

/// A SHUTDOWN (or SIGTERM/SIGINT) that waits for the replicas to acknowledge the whole stream before the server stops,
/// at most `shutdown-timeout` seconds (Redis 7.0's shutdown_mstime): writes are paused meanwhile, so the stream stops
/// growing, and the replicas are asked for an ACK at once.
final class PendingShutdown {
    let request: ShutdownRequest
    let force: Bool
    /// Monotonic milliseconds at which the server stops whether or not the replicas caught up.
    let deadline: Int64
    /// The SHUTDOWN clients, blocked until the server stops (their connections close) or the shutdown fails.
    var clients: [ClientSession]

    init(request: ShutdownRequest, force: Bool, deadline: Int64, clients: [ClientSession]) {
        self.request = request
        self.force = force
        self.deadline = deadline
        self.clients = clients
    }
}

extension ServerState {
    /// Whether every replica acknowledged the whole stream (Redis's isReadyToShutdown).
    var replicasInSync: Bool {
        let offset = self.replication.offset
        return self.replication.replicas.allSatisfy { $0.replica?.ackOffset == offset }
    }

    /// Whether a shutdown must wait for its replicas first: not with NOW, not with `shutdown-timeout 0`, not when they
    /// are all in sync.
    public func shutdownWaitsForReplicas(now: Bool) -> Bool {
        !now && self.config.number("shutdown-timeout") != 0 && !self.replicasInSync
    }

    /// Whether a shutdown is waiting for its replicas (INFO's `shutdown_in_milliseconds`).
    public var shutdownInProgress: Bool { self.replication.pendingShutdown != nil }

    /// Milliseconds left before a waiting shutdown stops the server anyway.
    var shutdownMillisecondsLeft: Int64 {
        guard let pending = self.replication.pendingShutdown else { return 0 }
        return pending.deadline - self.monotonicMicroseconds() / 1000
    }

    /// Starts waiting (Redis's prepareForShutdown when the replicas lag): the replicas are asked for an ACK, writes are
    /// paused, and the cron or an ACK finishes the shutdown. `client` (the SHUTDOWN caller) is blocked by the caller.
    public func waitForReplicasBeforeShutdown(_ request: ShutdownRequest, force: Bool, client: ClientSession?) {
        if let pending = self.replication.pendingShutdown {
            if let client { pending.clients.append(client) }
            return
        }
        let timeout = self.config.number("shutdown-timeout")
        let pending = PendingShutdown(
            request: request,
            force: force,
            deadline: self.monotonicMicroseconds() / 1000 + timeout * 1000,
            clients: client.map { [$0] } ?? []
        )
        if !self.isPaused { self.requestAcknowledgements() }
        self.replication.pendingShutdown = pending
        self.pauseWritesIndefinitely()
        self.log("Waiting for replicas before shutting down.")
    }

    /// From the cron and after each ACK: once the replicas are in sync or the time is up, the shutdown goes on
    /// (Redis's finishShutdown); if its save fails, the server keeps running and the SHUTDOWN clients get the error.
    func finishShutdownIfDue() {
        guard let pending = self.replication.pendingShutdown else { return }
        let inSync = self.replicasInSync
        guard inSync || self.monotonicMicroseconds() / 1000 >= pending.deadline else { return }
        let r = self.replication
        let now = self.clock() / 1000
        var lagging = 0
        for session in r.replicas {
            guard let link = session.replica, link.ackOffset != r.offset else { continue }
            lagging += 1
            let lag = link.state == .online ? now - link.ackTime : 0
            self.log(
                "Lagging replica \(self.replicaName(session)) reported offset \(r.offset - link.ackOffset) behind "
                    + "master, lag=\(lag), state=\(link.stateName).",
                warning: true
            )
        }
        if !r.replicas.isEmpty {
            self.log("\(r.replicas.count - lagging) of \(r.replicas.count) replicas are in sync when shutting down.")
        }
        r.pendingShutdown = nil
        if self.prepareForShutdown(pending.request, force: pending.force),
            self.host?.requestShutdown(pending.request) == nil
        {
            // The pause stays: nothing may be written after the final save. The blocked clients' connections close
            // with the server.
            self.shutdownRequested = true
            return
        }
        self.cancelShutdown(pending)
    }

    /// SHUTDOWN ABORT. Returns whether a shutdown was waiting.
    public func abortShutdown() -> Bool {
        guard let pending = self.replication.pendingShutdown else { return false }
        self.replication.pendingShutdown = nil
        self.cancelShutdown(pending)
        self.log("Shutdown manually aborted.")
        return true
    }

    /// The pause before the shutdown is back, and the SHUTDOWN clients get the error.
    private func cancelShutdown(_ pending: PendingShutdown) {
        self.releaseWritePause()
        for client in pending.clients where client.blocked != nil {
            self.blocking.unblock(client, reason: .timeout, server: self)
        }
    }
}
