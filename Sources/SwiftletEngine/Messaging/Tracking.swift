import NIOCore
import SwiftletRESP

/// One client's CLIENT TRACKING settings (tracking.c).
public struct TrackingState {
    /// The client that receives this one's invalidations (0: itself).
    var redirect = 0
    var broadcast = false
    var optIn = false
    var optOut = false
    var noLoop = false
    var brokenRedirect = false
    /// BCAST prefixes, sorted as Redis's radix tree lists them.
    var prefixes: [ByteBuffer] = []
}

/// Server-assisted client-side caching: which clients may hold which keys, and the invalidation messages.
///
/// Default mode remembers the keys each tracking client read (by key name, across databases, as Redis does) and
/// sends each client one invalidation when such a key is modified, then forgets it. BCAST mode remembers nothing
/// per client: the keys modified under a prefix are collected and sent to the prefix's clients once per read
/// batch (Redis does it once per event loop iteration).
public final class TrackingRegistry {
    /// How many clients have tracking on.
    var clientCount = 0
    /// Keys read by tracking clients, and the ids of the clients that read them.
    var table: [ByteBuffer: [Int]] = [:]
    /// BCAST prefixes: their clients and the keys modified since the last broadcast, each with its modifier.
    var prefixes: [ByteBuffer: (clients: [ClientSession], keys: [ByteBuffer: ClientSession?])] = [:]
    var hasPendingBroadcasts = false
    /// Calls of `trackingLimitUsedSlots` in a row that ended still above the limit (each adds effort).
    var limitEffortRounds = 0

    public init() {}

    var isActive: Bool { self.clientCount > 0 }
}

extension ServerState {
    // MARK: - Enabling

    func enableTracking(_ session: ClientSession, _ state: TrackingState, newPrefixes: [ByteBuffer]) {
        if session.tracking == nil { self.tracking.clientCount += 1 }
        var state = state
        state.prefixes = session.tracking?.prefixes ?? []
        session.tracking = state
        session.trackingCaching = false
        if state.broadcast {
            let wanted = newPrefixes.isEmpty ? [ByteBuffer()] : newPrefixes
            for prefix in wanted where !session.tracking!.prefixes.contains(prefix) {
                let stored = ByteBuffer(bytes: prefix.readableBytesView)
                self.tracking.prefixes[stored, default: ([], [:])].clients.append(session)
                session.tracking!.prefixes.append(stored)
            }
            session.tracking!.prefixes.sort { $0.readableBytesView.lexicographicallyPrecedes($1.readableBytesView) }
        }
    }

    func disableTracking(_ session: ClientSession) {
        guard let state = session.tracking else { return }
        session.trackingCaching = false
        for prefix in state.prefixes {
            self.tracking.prefixes[prefix]?.clients.removeAll { $0 === session }
            if self.tracking.prefixes[prefix]?.clients.isEmpty == true { self.tracking.prefixes[prefix] = nil }
        }
        session.tracking = nil
        self.tracking.clientCount -= 1
    }

    // MARK: - Remembering reads

    /// After a read-only command of a tracking client (default mode): remembers the keys it read.
    func trackingRememberKeys(_ id: Int, _ context: CommandContext) {
        guard let state = context.session.tracking, !state.broadcast else { return }
        if self.tracking.table.count > self.hot.trackingTableMaxKeys && self.hot.trackingTableMaxKeys > 0 {
            self.trackingLimitUsedSlots()
        }
        let caching = context.session.trackingCaching
        if (state.optIn && !caching) || (state.optOut && caching) { return }
        let spec = self.table.commands[id]
        if spec.flags.contains(.pubsub) { return }
        let keys = KeyFinder.keys(
            context.arguments,
            specs: CommandCommands.keySpecs(of: spec),
            command: spec.fullName,
            arity: spec.arity
        )
        let clientID = context.session.id
        for k in keys {
            let key = context.arguments[k.index]
            if self.tracking.table[key]?.contains(clientID) == true { continue }
            self.tracking.table[ByteBuffer(bytes: key.readableBytesView), default: []].append(clientID)
        }
    }

    // MARK: - Invalidation

    /// A key was modified by the running command: invalidates it for the clients that read it (the running
    /// client's own invalidation goes after its reply), and queues it for the BCAST prefixes it falls under.
    func trackingInvalidate(_ key: ByteBuffer, context: inout CommandContext) {
        let modifier = context.session
        self.trackingInvalidate(key, modifier: modifier) { frame, target in
            self.deliverInvalidation(frame, to: target, context: &context)
        }
    }

    /// An invalidation for the running client inside EXEC waits for the end of the transaction, so that it follows
    /// EXEC's reply instead of interleaving with it (Redis's `tracking_pending_keys`, sent by `afterCommand` at the
    /// outermost call); any other goes out at once.
    private func deliverInvalidation(_ frame: ByteBuffer, to target: ClientSession, context: inout CommandContext) {
        if target === context.session && self.commandDepth > 1 {
            self.pendingSelfInvalidations.writeImmutableBuffer(frame)
        } else {
            self.push(frame, to: target, context: &context)
        }
    }

    /// Sends the invalidations held back by ``deliverInvalidation(_:to:context:)``, after the outermost command.
    func flushPendingSelfInvalidations(_ context: inout CommandContext) {
        let frames = self.pendingSelfInvalidations
        self.pendingSelfInvalidations.clear()
        self.push(frames, to: context.session, context: &context)
    }

    /// `tracking-table-max-keys`: while the table holds more keys, invalidates keys (their clients are told, as if
    /// the key changed) until it is under the limit again, with an effort that grows each time a call ends still
    /// above it (tracking.c `trackingLimitUsedSlots`; Redis walks its radix tree at random, this takes the
    /// dictionary's first keys, in the order of its per-process random seed). Run before every command of a
    /// tracking client that reads keys and from the server tick.
    public func trackingLimitUsedSlots() {
        let limit = self.hot.trackingTableMaxKeys
        guard limit > 0, self.tracking.table.count > limit else {
            self.tracking.limitEffortRounds = 0
            return
        }
        var effort = 100 * (self.tracking.limitEffortRounds + 1)
        while effort > 0, let key = self.tracking.table.keys.first {
            effort -= 1
            self.trackingInvalidate(key, modifier: nil, broadcast: false) { frame, target in
                self.push(frame, to: target)
            }
            if self.tracking.table.count <= limit {
                self.tracking.limitEffortRounds = 0
                return
            }
        }
        self.tracking.limitEffortRounds += 1
    }

    /// A key was modified outside any command (expiry by the server tick).
    func trackingInvalidate(_ key: ByteBuffer) {
        self.trackingInvalidate(key, modifier: nil) { frame, target in self.push(frame, to: target) }
    }

    typealias Deliver = (ByteBuffer, ClientSession) -> Void

    /// - Parameter broadcast: whether the key also goes to the BCAST prefixes it falls under (not when the table
    ///   only drops it to stay under its limit: the key did not change).
    private func trackingInvalidate(
        _ key: ByteBuffer,
        modifier: ClientSession?,
        broadcast: Bool = true,
        deliver: Deliver
    ) {
        // A script's write counts as its caller's (Redis's current_client), for NOLOOP.
        var modifier = modifier
        if let running = self.scripting.running, modifier === self.scripting.session { modifier = running.caller }
        if broadcast && !self.tracking.prefixes.isEmpty {
            for (prefix, _) in self.tracking.prefixes where Self.hasPrefix(key, prefix) {
                self.tracking.prefixes[prefix]!.keys.updateValue(
                    modifier,
                    forKey: ByteBuffer(bytes: key.readableBytesView)
                )
                self.tracking.hasPendingBroadcasts = true
            }
        }
        guard let ids = self.tracking.table.removeValue(forKey: key) else { return }
        for id in ids {
            guard let target = self.clients[id], let state = target.tracking, !state.broadcast else { continue }
            if state.noLoop && target === modifier { continue }
            var writer = RESPReplyWriter(buffer: ByteBuffer(), version: .resp2)
            writer.writeArrayHeader(1)
            writer.writeBulkString(key)
            self.sendTrackingMessage(to: target, keys: writer.buffer, deliver: deliver)
        }
    }

    /// FLUSHDB / FLUSHALL: every tracking client gets a null invalidation ("flush everything"); the table empties.
    func trackingInvalidateAll(context: inout CommandContext) {
        if self.tracking.isActive {
            for session in self.clients.values.sorted(by: { $0.id < $1.id }) where session.tracking != nil {
                var null = RESPReplyWriter(buffer: ByteBuffer(), version: session.protocolVersion)
                null.writeNull()
                self.sendTrackingMessage(to: session, keys: null.buffer) { frame, target in
                    self.deliverInvalidation(frame, to: target, context: &context)
                }
            }
        }
        // Also when no client tracks any more: the keys of clients gone since are forgotten (INFO
        // tracking_total_keys), as Redis frees its table on every flush.
        self.tracking.table.removeAll()
    }

    /// Sends `keys` (an encoded array, or a null) as an invalidation: a RESP3 push to the client itself, or, with
    /// REDIRECT, to the other client (a push in RESP3, a `__redis__:invalidate` message when it subscribed in RESP2).
    func sendTrackingMessage(to session: ClientSession, keys: ByteBuffer, deliver: Deliver) {
        var target = session
        var redirected = false
        if let redirect = session.tracking?.redirect, redirect != 0 {
            guard let other = self.clients[redirect] else {
                session.tracking?.brokenRedirect = true
                if session.protocolVersion == .resp3 {
                    var writer = RESPReplyWriter(buffer: ByteBuffer(), version: .resp3)
                    writer.writePushHeader(2)
                    writer.writeBulkString("tracking-redir-broken")
                    writer.writeInteger(redirect)
                    deliver(writer.buffer, session)
                }
                return
            }
            target = other
            redirected = true
        }
        var writer = RESPReplyWriter(buffer: ByteBuffer(), version: target.protocolVersion)
        if target.protocolVersion == .resp3 {
            writer.writePushHeader(2)
            writer.writeBulkString("invalidate")
        } else if redirected && target.subscriptions.count(.channel) + target.subscriptions.count(.pattern) > 0 {
            writer.writePushHeader(3)
            writer.writeBulkString("message")
            writer.writeBulkString("__redis__:invalidate")
        } else {
            return
        }
        writer.buffer.writeImmutableBuffer(keys)
        deliver(writer.buffer, target)
    }

    /// Sends the keys collected for each BCAST prefix to its clients (NOLOOP clients without their own changes).
    public func trackingBroadcast() {
        guard self.tracking.hasPendingBroadcasts else { return }
        self.tracking.hasPendingBroadcasts = false
        let prefixes = self.tracking.prefixes.keys.sorted {
            $0.readableBytesView.lexicographicallyPrecedes($1.readableBytesView)
        }
        for prefix in prefixes {
            guard let state = self.tracking.prefixes[prefix], !state.keys.isEmpty else { continue }
            self.tracking.prefixes[prefix]!.keys.removeAll()
            let keys = state.keys.sorted {
                $0.key.readableBytesView.lexicographicallyPrecedes($1.key.readableBytesView)
            }
            for client in state.clients {
                let noLoop = client.tracking?.noLoop ?? false
                let sent = keys.filter { !(noLoop && $0.value === client) }
                if sent.isEmpty { continue }
                var writer = RESPReplyWriter(buffer: ByteBuffer(), version: .resp2)
                writer.writeArrayHeader(sent.count)
                for (key, _) in sent { writer.writeBulkString(key) }
                self.sendTrackingMessage(to: client, keys: writer.buffer) { frame, target in
                    self.push(frame, to: target)
                }
            }
        }
    }

    static func hasPrefix(_ key: ByteBuffer, _ prefix: ByteBuffer) -> Bool {
        guard prefix.readableBytes <= key.readableBytes else { return false }
        return key.readableBytesView.starts(with: prefix.readableBytesView)
    }
}

extension ConnectionCommands {
    /// CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX prefix ...] [BCAST] [OPTIN] [OPTOUT] [NOLOOP] — O(1), O(N) in the
    /// prefixes
    static func clientTracking(_ context: inout CommandContext) throws(RedisError) {
        var options = TrackingState()
        var prefixes: [ByteBuffer] = []
        var i = 3
        while i < context.count {
            let more = context.count - 1 - i
            if context.argument(i, is: "redirect") && more > 0 {
                i += 1
                if options.redirect != 0 { throw RedisError.trackingRedirectTwice }
                guard let id = context.arguments[i].int64 else { throw RedisError.notInteger }
                guard context.server.clients[Int(id)] != nil else {
                    throw RedisError.trackingRedirectMissing
                }
                options.redirect = Int(id)
            } else if context.argument(i, is: "bcast") {
                options.broadcast = true
            } else if context.argument(i, is: "optin") {
                options.optIn = true
            } else if context.argument(i, is: "optout") {
                options.optOut = true
            } else if context.argument(i, is: "noloop") {
                options.noLoop = true
            } else if context.argument(i, is: "prefix") && more > 0 {
                i += 1
                prefixes.append(context.arguments[i])
            } else {
                throw RedisError.syntax
            }
            i += 1
        }
        let session = context.session
        if context.argument(2, is: "on") {
            if !options.broadcast && !prefixes.isEmpty {
                throw RedisError.trackingPrefixWithoutBcast
            }
            if let current = session.tracking, current.broadcast != options.broadcast {
                throw RedisError.trackingBroadcastSwitch
            }
            if options.broadcast && (options.optIn || options.optOut) {
                throw RedisError.trackingOptWithBcast
            }
            if options.optIn && options.optOut {
                throw RedisError.trackingOptInAndOut
            }
            if let current = session.tracking, (options.optIn && current.optOut) || (options.optOut && current.optIn) {
                throw RedisError.trackingOptSwitch
            }
            if options.broadcast {
                try Self.checkPrefixCollisions(prefixes, existing: session.tracking?.prefixes ?? [])
            }
            context.server.enableTracking(session, options, newPrefixes: prefixes)
        } else if context.argument(2, is: "off") {
            context.server.disableTracking(session)
        } else {
            throw RedisError.syntax
        }
        context.out.writeOK()
    }

    /// Prefixes of one client must not overlap (one a prefix of another), as tracking.c checks.
    static func checkPrefixCollisions(_ prefixes: [ByteBuffer], existing: [ByteBuffer]) throws(RedisError) {
        func overlap(_ a: ByteBuffer, _ b: ByteBuffer) -> Bool {
            let n = min(a.readableBytes, b.readableBytes)
            return a.readableBytesView.prefix(n).elementsEqual(b.readableBytesView.prefix(n))
        }
        for (i, prefix) in prefixes.enumerated() {
            for old in existing where overlap(old, prefix) {
                throw RedisError.trackingPrefixOverlapsExisting(
                    prefix: String(buffer: prefix),
                    existing: String(buffer: old)
                )
            }
            for other in prefixes[(i + 1)...] where overlap(prefix, other) {
                throw RedisError.trackingPrefixesOverlap(String(buffer: prefix), String(buffer: other))
            }
        }
    }

    /// CLIENT CACHING YES|NO — O(1)
    static func clientCaching(_ context: inout CommandContext) throws(RedisError) {
        let session = context.session
        guard let state = session.tracking else {
            throw RedisError.cachingWithoutTracking
        }
        if context.argument(2, is: "yes") {
            guard state.optIn else {
                throw RedisError.cachingYesWithoutOptIn
            }
        } else if context.argument(2, is: "no") {
            guard state.optOut else {
                throw RedisError.cachingNoWithoutOptOut
            }
        } else {
            throw RedisError.syntax
        }
        session.trackingCaching = true
        context.out.writeOK()
    }

    /// CLIENT GETREDIR — O(1)
    static func clientGetredir(_ context: inout CommandContext) throws(RedisError) {
        context.out.writeInteger(context.session.tracking?.redirect ?? -1)
    }

    /// CLIENT TRACKINGINFO — O(N) in the prefixes
    static func clientTrackinginfo(_ context: inout CommandContext) throws(RedisError) {
        let state = context.session.tracking
        var flags = [state == nil ? "off" : "on"]
        if let state {
            if state.broadcast { flags.append("bcast") }
            if state.optIn {
                flags.append("optin")
                if context.session.trackingCaching { flags.append("caching-yes") }
            }
            if state.optOut {
                flags.append("optout")
                if context.session.trackingCaching { flags.append("caching-no") }
            }
            if state.noLoop { flags.append("noloop") }
            if state.brokenRedirect { flags.append("broken_redirect") }
        }
        context.out.writeMapHeader(3)
        context.out.writeBulkString("flags")
        context.out.writeSetHeader(flags.count)
        for flag in flags { context.out.writeBulkString(flag) }
        context.out.writeBulkString("redirect")
        context.out.writeInteger(state?.redirect ?? -1)
        context.out.writeBulkString("prefixes")
        let prefixes = state?.prefixes ?? []
        context.out.writeArrayHeader(prefixes.count)
        for prefix in prefixes { context.out.writeBulkString(prefix) }
    }
}
