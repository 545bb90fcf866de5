internal import NIOCore
internal import SwiftletConfig

/// What one client holds, as CLIENT LIST's memory fields report it and `maxmemory-clients` counts it.
public struct ClientMemory: Sendable {
    /// The session, the connection's handler and its buffers: counted as Redis counts a client, with a 16 KiB reply
    /// buffer of its own, so that replies waiting count only beyond it (a CLIENT LIST reply does not change the
    /// figure of the client that asked for it).
    static let fixedBytes = 2048 + replyBufferBytes
    static let replyBufferBytes = 16 * 1024
    /// Clients holding less are never evicted (Redis's `CLIENT_MEM_USAGE_BUCKET_MIN_LOG`, 2^15).
    static let evictableBytes = 32 * 1024
    /// Per watched key, subscription or tracking prefix besides its bytes: the entries of the lists and tables
    /// that hold it, on the client's side and on the server's.
    static let perItemBytes = 64

    /// The query buffer: read and not yet parsed, or the declared size of a request still arriving.
    public var queryBuffer: Int
    /// The MULTI queue (`multi-mem`).
    public var multi: Int
    /// Replies and frames not yet taken by the socket (`omem`).
    public var output: Int
    /// Watched keys, subscriptions, tracking prefixes.
    public var lists: Int

    public var total: Int {
        Self.fixedBytes + self.queryBuffer + self.multi + max(0, self.output - Self.replyBufferBytes) + self.lists
    }
}

extension ServerState {
    /// The memory a client holds now (Redis's `getClientMemoryUsage`).
    public func clientMemory(_ session: ClientSession) -> ClientMemory {
        var lists = session.transaction.watched.reduce(0) { $0 + $1.key.count + ClientMemory.perItemBytes }
        if session.isSubscribed {
            for list in session.subscriptions.lists {
                lists += list.reduce(0) { $0 + $1.readableBytes + ClientMemory.perItemBytes }
            }
        }
        if let prefixes = session.tracking?.prefixes {
            lists += prefixes.reduce(0) { $0 + $1.readableBytes + ClientMemory.perItemBytes }
        }
        return ClientMemory(
            queryBuffer: max(session.unparsedQueryBytes, session.pendingRequestBytes),
            multi: session.transaction.active ? session.transaction.queue.memoryUsage : 0,
            output: session.outputBufferMemory + session.outbox.readableBytes + session.replyBufferLength,
            lists: lists
        )
    }

    /// Whether `maxmemory-clients` is set: only then is every client's memory followed (one comparison per command
    /// otherwise).
    public var evictsClients: Bool { self.memoryLimit.maxClientsMemory > 0 }

    /// A client's memory may have changed (after its command, a read that left part of a request, a write to its
    /// socket): updates the total and evicts clients when it passes `maxmemory-clients`.
    /// - Returns: whether `session` itself was evicted.
    @discardableResult
    public func noteClientMemory(_ session: ClientSession) -> Bool {
        guard self.evictsClients, !session.evicted, self.clients[session.id] === session else { return false }
        self.updateClientMemory(session)
        guard self.clientsMemory > self.memoryLimit.maxClientsMemory else { return false }
        return self.evictClients(current: session)
    }

    private func updateClientMemory(_ session: ClientSession) {
        // Replicas do not count toward maxmemory-clients (Redis counts only the clients it may evict).
        guard !session.evicted, session.replica?.attached != true, !session.isMaster else { return }
        let figures = self.clientMemory(session)
        // A client whose output passed client-output-buffer-limit's hard limit is closed for that before its output
        // is written; counting it would evict others for memory about to be freed (Redis drops such clients from
        // its eviction buckets).
        let limit = self.outputLimit(of: session)
        let memory = limit.hard > 0 && UInt64(figures.output) >= limit.hard ? 0 : figures.total
        self.clientsMemory += memory - session.trackedMemory
        session.trackedMemory = memory
    }

    /// `maxmemory-clients` (or `maxmemory`, for a percentage) changed: every client's figure is taken afresh, and
    /// clients are evicted at once if the new limit is below what they hold.
    func recountClientsMemory() {
        let tracked = self.clientsMemory
        self.clientsMemory = 0
        for session in self.clients.values {
            // The client running this CONFIG SET keeps the figure it had after its last command, as Redis's does
            // (its query buffer still holds the running request).
            if session.id == self.runningClientID && tracked > 0 {
                self.clientsMemory += session.trackedMemory
                continue
            }
            session.trackedMemory = 0
            if self.evictsClients { self.updateClientMemory(session) }
        }
        if self.evictsClients && self.clientsMemory > self.memoryLimit.maxClientsMemory {
            self.evictClients(current: nil)
        }
    }

    /// A client leaves: its memory leaves the total.
    func forgetClientMemory(_ session: ClientSession) {
        self.clientsMemory -= session.trackedMemory
        session.trackedMemory = 0
    }

    /// Redis's `evictClients`: closes the clients holding the most memory, largest first, until the total is under
    /// `maxmemory-clients`. Clients with CLIENT NO-EVICT on, and clients under 32 KiB, are never evicted. The
    /// running client (`current`) is not closed here: the caller closes it after the replies it already has, as
    /// Redis frees the current client asynchronously.
    /// - Returns: whether `current` was evicted.
    @discardableResult
    func evictClients(current: ClientSession?) -> Bool {
        let limit = self.memoryLimit.maxClientsMemory
        // The figures as last noted (after each command, read and write), as Redis's buckets hold them.
        guard self.clientsMemory > limit else { return false }
        // As Redis: clients under 32 KiB (its smallest eviction bucket) count in the total but are never evicted.
        // Replicas and the master's client are never evicted (Redis's clientEvictionAllowed: normal and pub/sub clients
        // only).
        var candidates = self.clients.values.filter {
            !$0.noEvict && $0.replica?.attached != true && !$0.isMaster
                && $0.trackedMemory >= ClientMemory.evictableBytes
        }
        candidates.sort { $0.trackedMemory > $1.trackedMemory }
        var evictedCurrent = false
        for session in candidates {
            guard self.clientsMemory > limit else { break }
            self.host?.log(
                warning: false,
                "Evicting client: id=\(session.id) addr=\(session.address) name="
                    + "\(session.name.map { String(decoding: $0, as: UTF8.self) } ?? "") "
                    + "tot-mem=\(session.trackedMemory)"
            )
            self.memoryLimit.evictedClients += 1
            self.forgetClientMemory(session)
            session.evicted = true
            if session === current {
                evictedCurrent = true
            } else {
                session.connection?.close()
            }
        }
        return evictedCurrent
    }
}
